/* wk.c - spawn genkit-worker on a socketpair and talk frames to it. */
#include "wk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_FD 3

extern char **environ;

static char worker_path[4096], demo_path[4096], limits_path[4096];

static void paths(void)
{
	const char *b = getenv("GK_BUILD_DIR");

	if (!b || !*b)
		b = ".";
	snprintf(worker_path, sizeof(worker_path), "%s/worker/genkit-worker", b);
	snprintf(demo_path, sizeof(demo_path), "%s/tools/demo/genkit-demo.so", b);
	snprintf(limits_path, sizeof(limits_path),
		 "%s/tools/demo/genkit-demo-limits.so", b);
}

static int left_ms(long long deadline)
{
	long long l = deadline - wk_now_ms();

	return l < 0 ? 0 : (int)l;
}

/* The child's end must not already be CHILD_FD: dup2(fd, fd) would keep
 * its CLOEXEC flag on some libcs. */
static int child_end(int fd)
{
	if (fd != CHILD_FD)
		return fd;
	int d = fcntl(fd, F_DUPFD_CLOEXEC, CHILD_FD + 1);
	close(fd);
	return d;
}

static int spawn(struct wk *w, char **argv, int cfd)
{
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, cfd, CHILD_FD);
	rc = posix_spawn(&w->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		fprintf(stderr, "posix_spawn %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	return 0;
}

int wk_spawn(struct wk *w, const char *plugin, const char *const *extra,
	     pid_t parent)
{
	char ppid[24], fdarg[8];
	char *argv[32];
	int sv[2], n = 0;

	memset(w, 0, sizeof(*w));
	w->fd = w->pidfd = -1;
	paths();
	ipc_rbuf_init(&w->rb, 0);
	ipc_wbuf_init(&w->wb, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	sv[1] = child_end(sv[1]);
	snprintf(ppid, sizeof(ppid), "%d", (int)(parent ? parent : getpid()));
	snprintf(fdarg, sizeof(fdarg), "%d", CHILD_FD);
	argv[n++] = worker_path;
	argv[n++] = "--fd";
	argv[n++] = fdarg;
	argv[n++] = "--parent-pid";
	argv[n++] = ppid;
	argv[n++] = "--plugin";
	argv[n++] = (char *)(plugin ? plugin : demo_path);
	if (!plugin) { /* both demo plugins: all 12 demo actions */
		argv[n++] = "--plugin";
		argv[n++] = limits_path;
	}
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	int rc = spawn(w, argv, sv[1]);
	close(sv[1]);
	w->fd = sv[0];
	fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
	return rc;
}

Gkipc__FromWorker *wk_start(struct wk *w)
{
	if (wk_spawn(w, NULL, NULL, 0) < 0)
		return NULL;
	return wk_recv(w, WK_TIMEOUT_MS);
}

static int read_some(struct wk *w)
{
	ssize_t n = ipc_rbuf_read(&w->rb, w->fd);

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return 0;
	return -1; /* EOF or error */
}

int wk_flush(struct wk *w)
{
	long long deadline = wk_now_ms() + WK_TIMEOUT_MS;

	for (;;) {
		int r = ipc_wbuf_flush(&w->wb, w->fd);
		if (r <= 0)
			return r;
		struct pollfd p = { .fd = w->fd, .events = POLLOUT | POLLIN };
		if (poll(&p, 1, left_ms(deadline)) <= 0) {
			fprintf(stderr, "wk_flush: timeout\n");
			return -1;
		}
		if ((p.revents & POLLIN) && read_some(w) < 0)
			return -1;
	}
}

Gkipc__FromWorker *wk_recv(struct wk *w, int timeout_ms)
{
	long long deadline = wk_now_ms() + timeout_ms;
	const uint8_t *p;
	size_t n;

	for (;;) {
		int r = ipc_rbuf_next(&w->rb, &p, &n);
		if (r < 0) {
			fprintf(stderr, "wk_recv: oversize frame\n");
			return NULL;
		}
		if (r == 1) {
			const char *why = "?";
			Gkipc__FromWorker *m = ipc_decode_from_worker(p, n, &why);
			if (!m)
				fprintf(stderr, "wk_recv: %s\n", why);
			return m;
		}
		struct pollfd pf = { .fd = w->fd, .events = POLLIN };
		if (poll(&pf, 1, left_ms(deadline)) <= 0) {
			fprintf(stderr, "wk_recv: timeout\n");
			return NULL;
		}
		if (read_some(w) < 0)
			return NULL;
	}
}

int wk_wait_exit(struct wk *w, int timeout_ms)
{
	if (w->exited)
		return 1;
	if (w->pidfd >= 0) {
		struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
	} else {
		/* No pidfd: fall back to polling in small steps. */
		long long deadline = wk_now_ms() + timeout_ms;
		while (waitpid(w->pid, &w->status, WNOHANG) == 0) {
			if (wk_now_ms() >= deadline)
				return 0;
			poll(NULL, 0, 5);
		}
		w->exited = 1;
		return 1;
	}
	if (waitpid(w->pid, &w->status, 0) != w->pid)
		return 0;
	w->exited = 1;
	return 1;
}

static int catches_sigterm(pid_t pid)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	fclose(f);
	return (mask >> (SIGTERM - 1)) & 1;
}

int wk_wait_catches_sigterm(struct wk *w, int timeout_ms)
{
	long long deadline = wk_now_ms() + timeout_ms;

	while (!catches_sigterm(w->pid)) {
		if (wk_now_ms() >= deadline)
			return 0;
		poll(NULL, 0, 5);
	}
	return 1;
}

void wk_stop(struct wk *w)
{
	if (w->pid > 0 && !w->exited) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &w->status, 0);
		w->exited = 1;
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->pidfd >= 0)
		close(w->pidfd);
	w->fd = w->pidfd = -1;
	ipc_rbuf_free(&w->rb);
	ipc_wbuf_free(&w->wb);
}

void wk_req_init(Gkipc__RunRequest *r, uint64_t run_id, const char *key,
		 const void *input, size_t len)
{
	gkipc__run_request__init(r);
	r->run_id = run_id;
	r->request_id = "t";
	r->key = (char *)key;
	r->input.data = (uint8_t *)input;
	r->input.len = len;
	r->trace_id = "0123456789abcdef0123456789abcdef";
	r->span_id = "0123456789abcdef";
}

int wk_send_run(struct wk *w, const Gkipc__RunRequest *r)
{
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;

	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = (Gkipc__RunRequest *)r;
	if (ipc_send(&w->wb, &m.base) < 0)
		return -1;
	return wk_flush(w);
}

int wk_run(struct wk *w, uint64_t run_id, const char *key, const void *input,
	   size_t len, int stream, int stream_input)
{
	Gkipc__RunRequest r;

	wk_req_init(&r, run_id, key, input, len);
	r.stream = stream;
	r.stream_input = stream_input;
	return wk_send_run(w, &r);
}

int wk_send_spawn(struct wk *z, const Gkipc__SpawnWorker *sp, int fd,
		  int extra_fd)
{
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	struct ipc_wbuf tmp;
	int fds[2] = { fd, extra_fd }, nfds = 0;
	union {
		char b[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} cbuf;

	if (fd >= 0)
		nfds++;
	if (extra_fd >= 0)
		fds[nfds++] = extra_fd;
	m.msg_case = GKIPC__TO_WORKER__MSG_SPAWN;
	m.spawn = (Gkipc__SpawnWorker *)sp;
	ipc_wbuf_init(&tmp, 0);
	if (wk_flush(z) < 0 || ipc_send(&tmp, &m.base) < 0) {
		ipc_wbuf_free(&tmp);
		return -1;
	}
	struct iovec iov = { .iov_base = tmp.data + tmp.off,
			     .iov_len = tmp.len - tmp.off };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
	}
	/* The fds go with the first byte; the rest (if the socket took
	 * only part) follows as plain bytes. */
	size_t off = 0, len = iov.iov_len;
	int rc = 0;
	while (off < len) {
		iov.iov_base = tmp.data + tmp.off + off;
		iov.iov_len = len - off;
		ssize_t n = sendmsg(z->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = z->fd, .events = POLLOUT };
			if (poll(&p, 1, WK_TIMEOUT_MS) <= 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	ipc_wbuf_free(&tmp);
	return rc;
}

Gkipc__FromWorker *wk_zspawn(struct wk *z, struct wk *w, uint64_t id,
			     const char *sandbox, const char *scratch_root,
			     int run_as, int run_as_gid)
{
	Gkipc__SpawnWorker sp = GKIPC__SPAWN_WORKER__INIT;
	int sv[2];

	memset(w, 0, sizeof(*w));
	w->fd = w->pidfd = -1;
	ipc_rbuf_init(&w->rb, 0);
	ipc_wbuf_init(&w->wb, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	sp.spawn_id = id;
	sp.sandbox = (char *)(sandbox ? sandbox : "none");
	sp.scratch_root = (char *)(scratch_root ? scratch_root : "");
	if (run_as >= 0) {
		sp.run_as_set = 1;
		sp.run_as_uid = (uint32_t)run_as;
		sp.run_as_gid = (uint32_t)run_as_gid;
	}
	int rc = wk_send_spawn(z, &sp, sv[1], -1);
	close(sv[1]);
	w->fd = sv[0];
	fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
	if (rc < 0)
		return NULL;
	Gkipc__FromWorker *m = wk_recv(z, WK_TIMEOUT_MS);
	if (!m || m->msg_case != GKIPC__FROM_WORKER__MSG_SPAWNED) {
		fprintf(stderr, "wk_zspawn: no Spawned\n");
		ipc_free_from_worker(m);
		return NULL;
	}
	if (m->spawned->spawn_id != id || m->spawned->pid <= 0) {
		fprintf(stderr, "wk_zspawn: spawn %llu: pid %d: %s\n",
			(unsigned long long)m->spawned->spawn_id,
			(int)m->spawned->pid, m->spawned->error);
		ipc_free_from_worker(m);
		return NULL;
	}
	w->pid = m->spawned->pid;
	ipc_free_from_worker(m);
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	return wk_recv(w, WK_TIMEOUT_MS);
}

/* ---- expectations shared by the worker tests ---------------------------*/

long long wk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Gkipc__FromWorker *wk_expect(struct wk *w, int msg_case)
{
	Gkipc__FromWorker *m = wk_recv(w, WK_TIMEOUT_MS);

	if (!m) {
		T_FAIL("expected message %d, got nothing", msg_case);
		return NULL;
	}
	if ((int)m->msg_case != msg_case) {
		T_FAIL("expected message %d, got %d%s%s", msg_case,
		       (int)m->msg_case, m->error ? ": " : "",
		       m->error ? m->error->message : "");
		ipc_free_from_worker(m);
		return NULL;
	}
	t_passed++;
	return m;
}

void wk_expect_result(struct wk *w, uint64_t run_id, const char *json)
{
	Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_RESULT);

	if (!m)
		return;
	CHECK_INT(m->result->run_id, run_id);
	CHECK_BYTES(m->result->result.data, m->result->result.len, json);
	ipc_free_from_worker(m);
}

void wk_expect_error(struct wk *w, uint64_t run_id, int code,
			 const char *part)
{
	Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_ERROR);

	if (!m)
		return;
	CHECK_INT(m->error->run_id, run_id);
	CHECK_INT(m->error->code, code);
	CHECK_CONTAINS(m->error->message, part);
	fprintf(stderr, "  (run %llu: %s)\n", (unsigned long long)run_id,
		m->error->message);
	ipc_free_from_worker(m);
}

void wk_expect_exit(struct wk *w, int code)
{
	if (!wk_wait_exit(w, WK_TIMEOUT_MS)) {
		T_FAIL("worker %d did not exit", (int)w->pid);
		return;
	}
	CHECK(WIFEXITED(w->status));
	CHECK_INT(WIFEXITED(w->status) ? WEXITSTATUS(w->status) : -1, code);
}

void wk_expect_signal(struct wk *w, int sig)
{
	if (!wk_wait_exit(w, WK_TIMEOUT_MS)) {
		T_FAIL("worker %d did not die", (int)w->pid);
		return;
	}
	CHECK(WIFSIGNALED(w->status));
	CHECK_INT(WIFSIGNALED(w->status) ? WTERMSIG(w->status) : 0, sig);
}
