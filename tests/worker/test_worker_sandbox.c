/*
 * test_worker_sandbox.c - genkit-worker --zygote driven directly: spawning
 * over SCM_RIGHTS, PID namespaces (the worker as init, nothing of it left
 * after a kill), per-run limits and the standard/strict sandboxes.
 *
 * We are a child subreaper, like the supervisor, so the spawned workers
 * become our children once their intermediate exits.
 */
#include "wk.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genkit_action.h"
#include "sched_attr.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

int t_passed, t_failed;
static int t_skipped;

#define S(x) x, sizeof(x) - 1
#define SKIP(why)                                                         \
	(t_skipped++, fprintf(stderr, "%s:%d: SKIP: %s\n", __FILE__,      \
			      __LINE__, why))

static char sbx_plugin[4096], scratch_root[4096];
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;

/* ---- helpers ----------------------------------------------------------*/

/* The result's bytes as a string (caller frees), or NULL. */
static char *result_text(struct wk *w, uint64_t run_id)
{
	Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_RESULT);
	char *s = NULL;

	if (!m)
		return NULL;
	CHECK_INT(m->result->run_id, run_id);
	s = strndup((char *)m->result->result.data, m->result->result.len);
	ipc_free_from_worker(m);
	return s;
}

static int run_limited(struct wk *w, uint64_t id, const char *key,
		       const char *in, size_t n, const Gkipc__Limits *l,
		       int stream)
{
	Gkipc__RunRequest r;

	wk_req_init(&r, id, key, in, n);
	r.limits = (Gkipc__Limits *)l;
	r.stream = stream;
	return wk_send_run(w, &r);
}

static ino_t pidns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

/* Processes (zombies too) whose PID namespace is ns. */
static int count_in_ns(ino_t ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (pidns_of(atoi(e->d_name)) == ns)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Poll until at least `want` processes live in ns. */
static int wait_ns_count(ino_t ns, int want, int timeout_ms)
{
	long long deadline = wk_now_ms() + timeout_ms;
	int n;

	while ((n = count_in_ns(ns)) < want && wk_now_ms() < deadline)
		poll(NULL, 0, 10);
	return n;
}

static void shutdown_worker(struct wk *w)
{
	CHECK_INT(ipc_send_shutdown(&w->wb), 0);
	CHECK_INT(wk_flush(w), 0);
	wk_expect_exit(w, 0);
	wk_stop(w);
}

/* ---- the zygote --------------------------------------------------------*/

/* sched_runtime of pid in ns, or -1. */
static long long slice_ns(pid_t pid)
{
	struct kernel_sched_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, pid, &a, sizeof(a), 0) < 0)
		return -1;
	return (long long)a.sched_runtime;
}

static int start_zygote(struct wk *z)
{
	const char *const extra[] = { "--zygote", "--plugin", sbx_plugin,
				      "--slice-us", "3000", NULL };

	if (wk_spawn(z, NULL, extra, 0) < 0)
		return -1;
	Gkipc__FromWorker *h = wk_expect(z, GKIPC__FROM_WORKER__MSG_HELLO);
	if (!h)
		return -1;
	CHECK_INT(h->hello->pid, z->pid);
	CHECK_INT(h->hello->n_actions, 12 + 6);
	ipc_free_from_worker(h);
	return 0;
}

static struct wk Z;

static Gkipc__FromWorker *zspawn(struct wk *w, const char *sandbox,
				 int run_as)
{
	static uint64_t id = 100;
	Gkipc__FromWorker *h =
		wk_zspawn(&Z, w, ++id, sandbox,
			  sandbox && strcmp(sandbox, "none") ? scratch_root : "",
			  run_as ? (int)nobody_uid : -1, (int)nobody_gid);
	if (!h || h->msg_case != GKIPC__FROM_WORKER__MSG_HELLO) {
		T_FAIL("no worker with sandbox %s (got %d)", sandbox,
		       h ? (int)h->msg_case : -1);
		ipc_free_from_worker(h);
		return NULL;
	}
	t_passed++;
	return h;
}

static void test_spawn_basic(void)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "none", 0);
	char path[64], line[256];

	if (!h)
		return;
	CHECK_INT(h->hello->pid, w.pid);
	CHECK_INT(h->hello->n_actions, 12 + 6);
	ipc_free_from_worker(h);
	/* Re-parented to us, in a PID namespace of its own, as its init. */
	CHECK(pidns_of(w.pid) != 0 && pidns_of(w.pid) != pidns_of(getpid()));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)w.pid);
	FILE *f = fopen(path, "re");
	long ppid = -1, outer = -1, inner = -1;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "PPid: %ld", &ppid);
		sscanf(line, "NSpid: %ld %ld", &outer, &inner);
	}
	if (f)
		fclose(f);
	CHECK_INT(ppid, getpid());
	CHECK_INT(outer, w.pid);
	CHECK_INT(inner, 1);
	CHECK_INT(getpgid(w.pid), w.pid); /* own group and session */
	/* --slice-us reaches the workers the zygote forks */
	if (slice_ns(Z.pid) <= 0)
		SKIP("the kernel keeps no per-task slice (before 6.12)");
	else {
		CHECK_INT(slice_ns(Z.pid), 3000000);
		CHECK_INT(slice_ns(w.pid), 3000000);
	}
	CHECK_INT(getsid(w.pid), w.pid);
	/* stdio, the IPC socket and the cancel self-pipe: nothing of the
	 * zygote's. */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)w.pid);
	DIR *d = opendir(path);
	int nfd = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		nfd += e->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK_INT(nfd, 6);
	wk_run(&w, 1, "/flow/echo", S("{\"a\":[1,2]}"), 0, 0);
	wk_expect_result(&w, 1, "{\"a\":[1,2]}");
	wk_run(&w, 2, "/flow/count", S("{\"n\":2}"), 0, 0);
	wk_expect_result(&w, 2, "2");
	/* glibc's cached TID is the worker's own (it was fork()ed, not
	 * raw-cloned into its namespace) */
	wk_run(&w, 3, "/test/tid", S("null"), 0, 0);
	wk_expect_result(&w, 3, "\"ok\"");
	shutdown_worker(&w);
}

static void test_spawn_errors(void)
{
	Gkipc__SpawnWorker sp = GKIPC__SPAWN_WORKER__INIT;
	Gkipc__FromWorker *m;
	int pfd[2];

	/* No fd at all. */
	sp.spawn_id = 7;
	sp.sandbox = "none";
	CHECK_INT(wk_send_spawn(&Z, &sp, -1, -1), 0);
	if ((m = wk_expect(&Z, GKIPC__FROM_WORKER__MSG_SPAWNED))) {
		CHECK_INT(m->spawned->spawn_id, 7);
		CHECK_INT(m->spawned->pid, 0);
		CHECK_CONTAINS(m->spawned->error, "no file descriptor");
		ipc_free_from_worker(m);
	}
	/* Not a socket. */
	CHECK_INT(pipe2(pfd, O_CLOEXEC), 0);
	sp.spawn_id = 8;
	CHECK_INT(wk_send_spawn(&Z, &sp, pfd[0], -1), 0);
	if ((m = wk_expect(&Z, GKIPC__FROM_WORKER__MSG_SPAWNED))) {
		CHECK_INT(m->spawned->pid, 0);
		CHECK_CONTAINS(m->spawned->error, "not a socket");
		ipc_free_from_worker(m);
	}
	/* The zygote closed its copy: the write end sees no reader. */
	close(pfd[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(pfd[1], "x", 1) < 0 && errno == EPIPE);
	close(pfd[1]);
	/* Unknown profile. */
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	sp.spawn_id = 9;
	sp.sandbox = "paranoid";
	CHECK_INT(wk_send_spawn(&Z, &sp, sv[1], -1), 0);
	if ((m = wk_expect(&Z, GKIPC__FROM_WORKER__MSG_SPAWNED))) {
		CHECK_INT(m->spawned->pid, 0);
		CHECK_CONTAINS(m->spawned->error, "unknown sandbox profile");
		ipc_free_from_worker(m);
	}
	close(sv[1]);
	/* Our end sees EOF: nobody holds the worker's end any more. */
	char c;
	struct pollfd p = { .fd = sv[0], .events = POLLIN };
	CHECK(poll(&p, 1, WK_TIMEOUT_MS) == 1 && read(sv[0], &c, 1) == 0);
	close(sv[0]);
	/* Two fds with one SpawnWorker: the second is refused. */
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_INT(pipe2(pfd, O_CLOEXEC), 0);
	sp.spawn_id = 10;
	sp.sandbox = "none";
	CHECK_INT(wk_send_spawn(&Z, &sp, sv[1], pfd[0]), 0);
	close(sv[1]);
	close(pfd[0]);
	struct wk w;
	memset(&w, 0, sizeof(w));
	w.fd = sv[0];
	w.pidfd = -1;
	ipc_rbuf_init(&w.rb, 0);
	ipc_wbuf_init(&w.wb, 0);
	fcntl(w.fd, F_SETFL, fcntl(w.fd, F_GETFL) | O_NONBLOCK);
	int got_worker = 0, got_surplus = 0;
	for (int i = 0; i < 2; i++) {
		if (!(m = wk_expect(&Z, GKIPC__FROM_WORKER__MSG_SPAWNED)))
			break;
		if (m->spawned->spawn_id == 10 && m->spawned->pid > 0) {
			got_worker = 1;
			w.pid = m->spawned->pid;
		} else if (m->spawned->pid == 0) {
			got_surplus = 1;
			CHECK_CONTAINS(m->spawned->error, "without a SpawnWorker");
		}
		ipc_free_from_worker(m);
	}
	CHECK(got_worker && got_surplus);
	if (got_worker) {
		ipc_free_from_worker(wk_expect(&w, GKIPC__FROM_WORKER__MSG_HELLO));
		shutdown_worker(&w);
	} else {
		close(w.fd);
	}
	CHECK(write(pfd[1], "x", 1) < 0 && errno == EPIPE);
	close(pfd[1]);
	/* The zygote runs no actions. */
	wk_run(&Z, 5, "/flow/echo", S("1"), 0, 0);
	wk_expect_error(&Z, 5, GK_FAILED_PRECONDITION, "runs no actions");
}

/* SIGKILL to the worker ends everything in its namespace, including a
 * setsid() child that ignores SIGTERM. */
static void test_kill_ns(int sig, const char *sandbox)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, sandbox, strcmp(sandbox, "none"));

	if (!h)
		return;
	ipc_free_from_worker(h);
	ino_t ns = pidns_of(w.pid);
	wk_run(&w, 1, "/flow/spawnOrphan", S("null"), 1, 0);
	Gkipc__FromWorker *m = wk_expect(&w, GKIPC__FROM_WORKER__MSG_CHUNK);
	if (m) {
		CHECK_CONTAINS((char *)m->chunk->chunk.data, "{\"pid\":");
		ipc_free_from_worker(m);
	}
	CHECK(wait_ns_count(ns, 2, WK_TIMEOUT_MS) >= 2);
	CHECK_INT(kill(w.pid, sig), 0);
	if (sig == SIGKILL)
		wk_expect_signal(&w, SIGKILL);
	else
		wk_expect_exit(&w, 128 + sig); /* init: _exit(128 + sig) */
	CHECK_INT(count_in_ns(ns), 0);
	wk_stop(&w);
}

static void test_crash(void)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "none", 0);

	if (!h)
		return;
	ipc_free_from_worker(h);
	wk_run(&w, 1, "/flow/crash", S("null"), 0, 0);
	wk_expect_signal(&w, SIGSEGV);
	wk_stop(&w);
}

/* A run's children are gone after the run: PID 1 kills the namespace. */
static void test_cleanup_between_runs(void)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "standard", 1);

	if (!h)
		return;
	ipc_free_from_worker(h);
	ino_t ns = pidns_of(w.pid);
	/* writeFile leaves a file in the scratch directory */
	wk_run(&w, 1, "/flow/writeFile", S("{}"), 0, 0);
	char *path = result_text(&w, 1);
	CHECK_CONTAINS(path, "/worker-");
	free(path);
	wk_run(&w, 2, "/test/scratchCount", S("null"), 0, 0);
	wk_expect_result(&w, 2, "0");
	CHECK_INT(count_in_ns(ns), 1);
	shutdown_worker(&w);
}

/* A forked child of an action that calls exit() runs the worker's atexit
 * handlers; as PID 1's child it must not kill the action's other children
 * (ns_is_init() caches its answer, and forgets it in fork()ed children). */
static void test_child_exit(void)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "none", 0);

	if (!h)
		return;
	ipc_free_from_worker(h);
	ino_t ns = pidns_of(w.pid);
	wk_run(&w, 1, "/test/forkExit", S("null"), 0, 0);
	wk_expect_result(&w, 1, "\"alive\"");
	/* ...and the worker itself still cleans up after the run. */
	wk_run(&w, 2, "/flow/echo", S("1"), 0, 0);
	wk_expect_result(&w, 2, "1");
	CHECK_INT(count_in_ns(ns), 1);
	shutdown_worker(&w);
}

/* ---- limits -------------------------------------------------------------*/

static void test_memory_limit(void)
{
	Gkipc__Limits l = GKIPC__LIMITS__INIT;
	struct wk w;

	if (UNDER_ASAN) {
		/* ASan reserves terabytes of shadow: RLIMIT_AS cannot work. */
		SKIP("memory_mb (RLIMIT_AS) under ASan");
		return;
	}
	Gkipc__FromWorker *h = zspawn(&w, "none", 0);
	if (!h)
		return;
	ipc_free_from_worker(h);
	l.memory_mb = 256;
	run_limited(&w, 1, "/flow/allocate", S("{\"mb\":4096}"), &l, 0);
	wk_expect_error(&w, 1, GK_RESOURCE_EXHAUSTED,
		     "memory limit of 256 MB exceeded");
	/* The soft limit is back: the same worker allocates 300 MB. */
	wk_run(&w, 2, "/flow/allocate", S("{\"mb\":300}"), 0, 0);
	wk_expect_result(&w, 2, "300");
	shutdown_worker(&w);
}

/* spin under cpu_seconds 1: SIGXCPU. A worker started directly dies by
 * it; a zygote-spawned one (a namespace init, which the kernel protects
 * from SIGXCPU at SIG_DFL) exits 128 + SIGXCPU. */
static void test_cpu_limit(int zygote)
{
	Gkipc__Limits l = GKIPC__LIMITS__INIT;
	struct wk w;
	long long t0 = wk_now_ms();

	if (zygote) {
		Gkipc__FromWorker *h = zspawn(&w, "none", 0);
		if (!h)
			return;
		ipc_free_from_worker(h);
	} else {
		ipc_free_from_worker(wk_start(&w));
	}
	l.cpu_seconds = 1;
	run_limited(&w, 1, "/flow/spin", S("null"), &l, 0);
	if (zygote)
		wk_expect_exit(&w, 128 + SIGXCPU);
	else
		wk_expect_signal(&w, SIGXCPU);
	if (wk_now_ms() - t0 > 15000)
		T_FAIL("cpu limit took %lld ms", wk_now_ms() - t0);
	wk_stop(&w);
}

static void test_nofile_limit(void)
{
	Gkipc__Limits l = GKIPC__LIMITS__INIT;
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "standard", 1);

	if (!h)
		return;
	ipc_free_from_worker(h);
	l.max_open_files = 16;
	run_limited(&w, 1, "/test/openFiles", S("64"), &l, 0);
	wk_expect_error(&w, 1, GK_RESOURCE_EXHAUSTED, "Too many open files");
	wk_run(&w, 2, "/test/openFiles", S("64"), 0, 0);
	wk_expect_result(&w, 2, "64");
	/* Effective limits: the request's, the action's for 0. */
	l.max_open_files = 0;
	l.max_procs = 3;
	run_limited(&w, 3, "/test/limits", S("null"), &l, 0);
	wk_expect_result(&w, 3, "[0,7,0,0,0,3]");
	shutdown_worker(&w);
}

static void test_fork_bomb(void)
{
	Gkipc__Limits l = GKIPC__LIMITS__INIT;
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, "standard", 1);

	if (!h)
		return;
	ipc_free_from_worker(h);
	ino_t ns = pidns_of(w.pid);
	l.max_procs = 32;
	run_limited(&w, 1, "/flow/forkBomb", S("null"), &l, 0);
	int most = wait_ns_count(ns, 8, WK_TIMEOUT_MS);
	CHECK(most >= 8);
	/* Watch it for a while: it never gets past the limit. */
	long long until = wk_now_ms() + 1000;
	while (wk_now_ms() < until) {
		int n = count_in_ns(ns);
		if (n > most)
			most = n;
		poll(NULL, 0, 20);
	}
	fprintf(stderr, "  (fork bomb: at most %d processes)\n", most);
	CHECK(most <= 32);
	CHECK_INT(kill(w.pid, SIGKILL), 0);
	wk_expect_signal(&w, SIGKILL);
	CHECK_INT(count_in_ns(ns), 0);
	wk_stop(&w);
}

/* ---- sandboxes ------------------------------------------------------------*/

static int listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &sl) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_network(void)
{
	char in[64];
	int port = 0, lfd = listen_local(&port);
	struct wk w;
	Gkipc__FromWorker *h;

	CHECK(lfd >= 0);
	int n = snprintf(in, sizeof(in), "{\"host\":\"127.0.0.1\",\"port\":%d}",
			 port);
	/* The listener works: "none" and "standard" reach it. */
	if ((h = zspawn(&w, "standard", 1))) {
		ipc_free_from_worker(h);
		wk_run(&w, 1, "/flow/connect", in, (size_t)n, 0, 0);
		wk_expect_result(&w, 1, "\"connected\"");
		shutdown_worker(&w);
	}
	if ((h = zspawn(&w, "strict", 1))) {
		ipc_free_from_worker(h);
		wk_run(&w, 1, "/flow/connect", in, (size_t)n, 0, 0);
		Gkipc__FromWorker *m = wk_expect(&w, GKIPC__FROM_WORKER__MSG_ERROR);
		if (m) {
			CHECK_INT(m->error->code, GK_UNAVAILABLE);
			CHECK_CONTAINS(m->error->message, "cannot connect to 127.0.0.1");
			CHECK(strstr(m->error->message, "unreachable") ||
			      strstr(m->error->message, "refused"));
			fprintf(stderr, "  (%s)\n", m->error->message);
			ipc_free_from_worker(m);
		}
		shutdown_worker(&w);
	}
	close(lfd);
}

static void test_strict_files(void)
{
	struct wk w;
	struct stat st;
	Gkipc__FromWorker *h = zspawn(&w, "strict", 1);

	if (!h)
		return;
	ipc_free_from_worker(h);
	wk_run(&w, 1, "/flow/writeFile", S("{\"path\":\"/etc/gk-x\"}"), 0, 0);
	wk_expect_error(&w, 1, GK_PERMISSION_DENIED,
		     "cannot write /etc/gk-x: Read-only file system");
	wk_run(&w, 2, "/flow/writeFile", S("{\"path\":\"/tmp/gk-x\"}"), 0, 0);
	wk_expect_error(&w, 2, GK_PERMISSION_DENIED, "Read-only file system");
	CHECK(stat("/tmp/gk-x", &st) < 0 && errno == ENOENT);
	/* The scratch directory is writable, and a tmpfs: nothing on disk. */
	wk_run(&w, 3, "/flow/writeFile", S("{\"data\":\"x\"}"), 0, 0);
	char *path = result_text(&w, 3);
	char want[4200];
	snprintf(want, sizeof(want), "\"%s/worker-%d/file.txt\"", scratch_root,
		 (int)w.pid);
	if (path)
		CHECK_BYTES(path, strlen(path), want);
	free(path);
	snprintf(want, sizeof(want), "%s/worker-%d", scratch_root, (int)w.pid);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 0777) == 0700 && st.st_uid == nobody_uid);
	snprintf(want, sizeof(want), "%s/worker-%d/file.txt", scratch_root,
		 (int)w.pid);
	CHECK(stat(want, &st) < 0 && errno == ENOENT);
	/* Between runs the scratch is emptied. */
	wk_run(&w, 4, "/test/scratchCount", S("null"), 0, 0);
	wk_expect_result(&w, 4, "0");
	/* seccomp, ids, flags, and a /proc showing only our namespace. */
	wk_run(&w, 5, "/test/probe", S("null"), 0, 0);
	char *p = result_text(&w, 5);
	char exp[256];
	snprintf(exp, sizeof(exp),
		 "{\"ptrace\":1,\"mount\":1,\"unshare\":1,\"clone_newuser\":1,"
		 "\"clone3\":38,\"fork\":0,\"uid\":%d,\"gid\":%d,\"nnp\":1,"
		 "\"dumpable\":0,\"pids\":1}",
		 (int)nobody_uid, (int)nobody_gid);
	if (p)
		CHECK_BYTES(p, strlen(p), exp);
	free(p);
	shutdown_worker(&w);
}

static void test_probe(const char *sandbox, const char *want)
{
	struct wk w;
	Gkipc__FromWorker *h = zspawn(&w, sandbox, strcmp(sandbox, "none"));

	if (!h)
		return;
	ipc_free_from_worker(h);
	wk_run(&w, 1, "/test/probe", S("null"), 0, 0);
	char *p = result_text(&w, 1);
	if (p)
		CHECK_CONTAINS(p, want);
	fprintf(stderr, "  (%s probe: %s)\n", sandbox, p ? p : "-");
	free(p);
	shutdown_worker(&w);
}

/* Where a profile cannot be had: standard warns and goes on, strict exits
 * 4 before its Hello. (The kernel here grants every feature; a scratch
 * root that does not exist is a refusal we can provoke.) */
static void test_refusal(void)
{
	struct wk w;
	Gkipc__FromWorker *h;

	h = wk_zspawn(&Z, &w, 900, "standard", "/nonexistent/gk", -1, 0);
	CHECK(h && h->msg_case == GKIPC__FROM_WORKER__MSG_HELLO);
	ipc_free_from_worker(h);
	if (w.pid > 0) {
		wk_run(&w, 1, "/test/scratchCount", S("null"), 0, 0);
		wk_expect_result(&w, 1, "-1"); /* no scratch directory */
		shutdown_worker(&w);
	}
	h = wk_zspawn(&Z, &w, 901, "strict", "/nonexistent/gk", -1, 0);
	CHECK(h == NULL); /* EOF instead of a Hello */
	ipc_free_from_worker(h);
	CHECK(w.pid > 0);
	if (w.pid > 0)
		wk_expect_exit(&w, 4);
	wk_stop(&w);
}

static void setup_paths(void)
{
	const char *b = getenv("GK_BUILD_DIR");
	struct passwd *pw = getpwnam("nobody");

	snprintf(sbx_plugin, sizeof(sbx_plugin),
		 "%s/tests/worker/sbx-plugin.so", b ? b : ".");
	if (pw) {
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
	}
	snprintf(scratch_root, sizeof(scratch_root), "/tmp/gk-sbx-XXXXXX");
	if (!mkdtemp(scratch_root)) {
		perror("mkdtemp");
		exit(1);
	}
	chmod(scratch_root, 0755); /* nobody must reach its own dir */
}

static void rm_scratch_root(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch_root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch_root);
}

int main(void)
{
	struct rlimit nocore = { 0, 0 };

	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	if (geteuid() != 0) {
		/* run-as and the strict profile want root here. */
		printf("worker-sandbox: SKIP (needs root)\n");
		return 77;
	}
	setup_paths();

	/* Limits in a directly started worker. */
	test_cpu_limit(0);

	if (UNDER_ASAN) {
		/* LeakSanitizer ptrace()s its own process at exit: seccomp
		 * and PR_SET_DUMPABLE 0 forbid that. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	}
	if (start_zygote(&Z) < 0) {
		T_FAIL("%s", "zygote did not start");
		wk_stop(&Z);
		return 1;
	}
	test_spawn_basic();
	test_spawn_errors();
	test_kill_ns(SIGKILL, "none");
	test_kill_ns(SIGTERM, "none");
	test_kill_ns(SIGKILL, "strict");
	test_crash();
	test_cleanup_between_runs();
	test_child_exit();
	test_memory_limit();
	test_cpu_limit(1);
	test_nofile_limit();
	test_fork_bomb();
	test_network();
	test_strict_files();
	test_refusal();
	test_probe("none", "\"ptrace\":3,\"mount\":2,\"unshare\":0,"
			   "\"clone_newuser\":0");
	test_probe("standard", "{\"ptrace\":1,\"mount\":1,\"unshare\":1,"
			       "\"clone_newuser\":1,\"clone3\":38,\"fork\":0");

	CHECK_INT(ipc_send_shutdown(&Z.wb), 0);
	CHECK_INT(wk_flush(&Z), 0);
	wk_expect_exit(&Z, 0);
	wk_stop(&Z);
	rm_scratch_root();
	printf("worker-sandbox: %d passed, %d failed, %d skipped\n", t_passed,
	       t_failed, t_skipped);
	return t_failed ? 1 : 0;
}
