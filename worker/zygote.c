/*
 * zygote.c - `genkit-worker --zygote`: fork fresh workers on request.
 *
 * After its Hello the zygote serves SpawnWorker frames. The new worker's end
 * of a socketpair travels with each frame as SCM_RIGHTS (one fd per
 * SpawnWorker, in order): the control socket is read with recvmsg() and the
 * fds are kept in a FIFO, each SpawnWorker taking the oldest. An fd that no
 * frame claims, or a SpawnWorker without one, gets Spawned{pid 0, error}.
 *
 * Per SpawnWorker:
 *   zygote ──clone(CLONE_VM|CLONE_VFORK)──> intermediate, in the zygote's
 *                    memory while the zygote waits: unshare(CLONE_NEWPID)
 *                    (CLONE_NEWUSER first when not root), fork, leave the
 *                    worker's pid (our namespace) in shared memory, _exit(0)
 *                    └──fork──> worker, PID 1 of the new namespace: reads its
 *                    pid from the "go" pipe, waits for EOF on it, then
 *                    PDEATHSIG, fds, sandbox, Hello, the normal run loop.
 * The zygote waitpid()s the intermediate, writes the pid into the go pipe,
 * closes it and answers Spawned{spawn_id, pid}. Why an intermediate at all:
 * a process can only put its children into a new PID namespace, and the
 * zygote can do so once; one clone() straight into the namespace would need
 * a raw syscall, after which glibc's cached TID in the worker is stale.
 *
 * Why the zygote and not the intermediate closes the go pipe: the
 * intermediate's fds close (exit_files) before the kernel re-parents its
 * children (exit_notify). A worker woken by that EOF could set PDEATHSIG
 * while still the intermediate's child, and the re-parenting would then
 * SIGKILL it. Once waitpid() has returned, the re-parenting is done.
 * It never runs actions, has no other children and stays single-threaded.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECV_BUF 65536
#define MAX_FDS_PER_MSG 64

/* What the intermediate tells the zygote. */
struct report {
	pid_t pid;     /* the worker, in our namespace; 0 on failure */
	int err;       /* errno of the failure */
	int pidns_err; /* 0: own PID namespace; else why not */
	char what[48]; /* the failed step */
};

/* ---- fd FIFO ----------------------------------------------------------*/

static int *fifo;
static size_t fifo_head, fifo_n, fifo_cap;

static void fifo_push(int fd)
{
	if (fifo_head + fifo_n == fifo_cap) {
		if (fifo_head) {
			memmove(fifo, fifo + fifo_head, fifo_n * sizeof(*fifo));
			fifo_head = 0;
		} else {
			size_t cap = fifo_cap ? fifo_cap * 2 : 16;
			int *v = realloc(fifo, cap * sizeof(*v));
			if (!v)
				wdie(WORKER_EXIT_FAILURE, "out of memory");
			fifo = v;
			fifo_cap = cap;
		}
	}
	fifo[fifo_head + fifo_n++] = fd;
}

static int fifo_pop(void)
{
	if (!fifo_n)
		return -1;
	fifo_n--;
	return fifo[fifo_head++];
}

/* ---- replies ----------------------------------------------------------*/

static void flush_blocking(struct conn *c)
{
	/* No reading meanwhile: a plain read() would drop SCM_RIGHTS fds.
	 * Our frames are tiny, the supervisor keeps reading. */
	for (;;) {
		int r = ipc_wbuf_flush(&c->wb, c->fd);
		if (r == 0)
			return;
		if (r < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				wdie(WORKER_EXIT_OK, "supervisor is gone, exiting");
			wdie(WORKER_EXIT_FAILURE, "send: %s", strerror(errno));
		}
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			wdie(WORKER_EXIT_FAILURE, "poll: %s", strerror(errno));
	}
}

static void send_spawned(struct conn *c, uint64_t id, pid_t pid,
			 const char *err)
{
	Gkipc__Spawned s = GKIPC__SPAWNED__INIT;
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;

	s.spawn_id = id;
	s.pid = (int32_t)pid;
	s.error = (char *)(err ? err : "");
	m.msg_case = GKIPC__FROM_WORKER__MSG_SPAWNED;
	m.spawned = &s;
	if (err)
		wlog("spawn %llu failed: %s", (unsigned long long)id, err);
	if (ipc_send(&c->wb, &m.base) < 0)
		wdie(WORKER_EXIT_FAILURE, "cannot queue Spawned");
	flush_blocking(c);
}

/* ---- the new worker ---------------------------------------------------*/

static int read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void worker_child(struct worker *w, const Gkipc__SpawnWorker *sp,
			 int fd, int go_fd) __attribute__((noreturn));
static void worker_child(struct worker *w, const Gkipc__SpawnWorker *sp,
			 int fd, int go_fd)
{
	pid_t gpid;
	char c;

	/* Our pid as the supervisor sees it, then EOF once the intermediate
	 * is reaped: only then may PDEATHSIG be set (before, it would fire
	 * when the intermediate exits). */
	if (read_full(go_fd, &gpid, sizeof(gpid)) < 0)
		_exit(WORKER_EXIT_FAILURE);
	for (;;) {
		ssize_t r = read(go_fd, &c, 1);
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	wlog_set_pid(gpid);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		wdie(WORKER_EXIT_FAILURE, "prctl(PR_SET_PDEATHSIG): %s",
		     strerror(errno));
	/* The zygote's buffers and fds are not ours. */
	ipc_rbuf_free(&w->conn.rb);
	ipc_wbuf_free(&w->conn.wb);
	free(fifo);
	fifo = NULL;
	fifo_n = fifo_cap = fifo_head = 0;
	fd = startup_spawned_fds(fd);
	/* Our own session and group (the supervisor kills groups); as init
	 * we lead them already in our namespace. */
	if (setsid() < 0 && getpgrp() != getpid())
		wlog("setsid: %s", strerror(errno));
	conn_init(&w->conn, fd, w->conn.max_frame);
	w->wake_fd = cancel_init();
	int in_pidns = ns_is_init();
	ns_init_signals();
	atexit(ns_kill_others);
	sandbox_apply(sp, gpid, in_pidns);
	hello_send_pid(&w->conn, &w->reg, gpid);
	wdebug("spawned worker ready (global pid %d, sandbox %s)", (int)gpid,
	       sp->sandbox && *sp->sandbox ? sp->sandbox : "none");
	worker_loop(w);
}

/* ---- the intermediate -------------------------------------------------*/

/*
 * The intermediate is a vfork-style child (CLONE_VM | CLONE_VFORK): it runs
 * in our memory, on a stack carved from spawn_worker()'s frame, while we
 * wait. Unlike a fork it copies no page tables and tears none down, which
 * was about a fifth of a fresh action's CPU. Its fork() is an ordinary glibc
 * fork of that same memory, so the worker is what fork() in the zygote would
 * have made (glibc's cached TID and robust list included), only in the new
 * PID namespace. The worker resumes in spawn_worker() through the jump
 * buffer, back on the real stack. The intermediate leaves its report in the
 * shared struct and _exit()s, which releases us.
 */
#define INTERMEDIATE_STACK (64u * 1024u)

struct imed {
	struct worker *w;
	const Gkipc__SpawnWorker *sp;
	int fd, go_rd, go_wr;
	sigjmp_buf worker;  /* where the worker resumes, in spawn_worker() */
	struct report rep;  /* written by the intermediate */
};

static int intermediate(void *arg)
{
	struct imed *m = arg;
	struct report *rep = &m->rep;
	int rc;
	uid_t uid = getuid();
	gid_t gid = getgid();

	close(m->go_wr); /* our own fd table: the zygote keeps its copy */
	if (geteuid() != 0) {
		/* A user namespace first, so that the PID (and later mount and
		 * network) namespaces can be created at all. */
		rc = ns_unshare(CLONE_NEWUSER | CLONE_NEWPID);
		if (rc == 0 && ns_map_root(uid, gid) < 0) {
			rep->err = errno;
			snprintf(rep->what, sizeof(rep->what), "user namespace map");
			_exit(1);
		}
		if (rc < 0)
			rc = ns_unshare(CLONE_NEWPID);
	} else {
		rc = ns_unshare(CLONE_NEWPID);
	}
	rep->pidns_err = rc < 0 ? -rc : 0;
	pid_t pid = fork();
	if (pid == 0)
		siglongjmp(m->worker, 1);
	if (pid < 0) {
		rep->err = errno;
		snprintf(rep->what, sizeof(rep->what), "fork (worker)");
		_exit(1);
	}
	rep->pid = pid;
	_exit(0);
}

/* Start the intermediate and wait for it; rep says what became of the
 * worker. In the worker itself this does not return. */
static void spawn_worker(struct worker *w, const Gkipc__SpawnWorker *sp,
			 int fd, int go[2], struct report *rep)
{
	struct imed m;
	/* On this frame, so that the worker's jump back lands on the stack
	 * the sanitizers know as ours. */
	char stack[INTERMEDIATE_STACK] __attribute__((aligned(16)));

	memset(&m, 0, sizeof(m));
	m.w = w;
	m.sp = sp;
	m.fd = fd;
	m.go_rd = go[0];
	m.go_wr = go[1];
	if (sigsetjmp(m.worker, 0))
		worker_child(m.w, m.sp, m.fd, m.go_rd);
	pid_t ip = clone(intermediate, stack + sizeof(stack),
			 CLONE_VM | CLONE_VFORK | SIGCHLD, &m);
	if (ip < 0) {
		memset(rep, 0, sizeof(*rep));
		rep->err = errno;
		snprintf(rep->what, sizeof(rep->what), "clone (intermediate)");
		return;
	}
	int status = 0;
	while (waitpid(ip, &status, 0) < 0 && errno == EINTR)
		;
	*rep = m.rep;
	if (!rep->pid && !rep->what[0]) { /* killed before it could say */
		snprintf(rep->what, sizeof(rep->what),
			 "intermediate (wait status %d)", status);
		rep->err = ECHILD;
	}
}

/* ---- SpawnWorker ------------------------------------------------------*/

static int pidns_warned;

static void spawn(struct worker *w, const Gkipc__SpawnWorker *sp, int fd)
{
	struct report rep;
	struct stat st;
	char err[160];
	int go[2];

	if (fd < 0) {
		send_spawned(&w->conn, sp->spawn_id, 0,
			     "no file descriptor came with SpawnWorker");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		close(fd);
		send_spawned(&w->conn, sp->spawn_id, 0,
			     "the file descriptor sent is not a socket");
		return;
	}
	if (sandbox_parse(sp->sandbox) < 0) {
		close(fd);
		snprintf(err, sizeof(err), "unknown sandbox profile '%.64s'",
			 sp->sandbox);
		text_sanitize(err);
		send_spawned(&w->conn, sp->spawn_id, 0, err);
		return;
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(fd);
		snprintf(err, sizeof(err), "pipe2: %s", strerror(errno));
		send_spawned(&w->conn, sp->spawn_id, 0, err);
		return;
	}
	spawn_worker(w, sp, fd, go, &rep);
	close(go[0]);
	close(fd); /* the worker has it now */
	/* The intermediate is reaped, so the worker is re-parented: let it
	 * go (on failure it reads EOF without a pid and exits). */
	if (rep.pid)
		(void)!write(go[1], &rep.pid, sizeof(rep.pid));
	close(go[1]);
	rep.what[sizeof(rep.what) - 1] = '\0';
	if (rep.pidns_err && !pidns_warned) {
		pidns_warned = 1;
		wlog("warning: no PID namespace for workers (%s): falling "
		     "back to setsid()", strerror(rep.pidns_err));
	}
	if (!rep.pid) {
		snprintf(err, sizeof(err), "%s: %s", rep.what,
			 strerror(rep.err));
		send_spawned(&w->conn, sp->spawn_id, 0, err);
		return;
	}
	wdebug("spawn %llu: worker %d (sandbox %s)",
	       (unsigned long long)sp->spawn_id, (int)rep.pid,
	       sp->sandbox && *sp->sandbox ? sp->sandbox : "none");
	send_spawned(&w->conn, sp->spawn_id, rep.pid, NULL);
}

/* ---- the loop ---------------------------------------------------------*/

static void handle(struct worker *w, Gkipc__ToWorker *m)
{
	switch (m->msg_case) {
	case GKIPC__TO_WORKER__MSG_SPAWN:
		spawn(w, m->spawn, fifo_pop());
		break;
	case GKIPC__TO_WORKER__MSG_SHUTDOWN:
		wdie(WORKER_EXIT_OK, "zygote: shutdown requested, exiting");
	case GKIPC__TO_WORKER__MSG_RUN:
		if (ipc_send_error(&w->conn.wb, m->run->run_id,
				   GK_FAILED_PRECONDITION,
				   "the zygote runs no actions", NULL) < 0)
			wdie(WORKER_EXIT_FAILURE, "cannot queue error reply");
		flush_blocking(&w->conn);
		break;
	default:
		wdebug("zygote: message %d ignored", (int)m->msg_case);
		break;
	}
}

/* One recvmsg(): bytes into the frame buffer, fds into the FIFO. */
static void receive(struct conn *c)
{
	static uint8_t buf[RECV_BUF];
	union {
		char b[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MSG)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ECONNRESET)
			wdie(WORKER_EXIT_OK, "zygote: connection reset, exiting");
		wdie(WORKER_EXIT_FAILURE, "recvmsg: %s", strerror(errno));
	}
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			fifo_push(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		wlog("zygote: more than %d fds in one message: some were lost",
		     MAX_FDS_PER_MSG);
	if (n == 0)
		wdie(WORKER_EXIT_OK, "zygote: supervisor closed the connection, "
				     "exiting");
	if (ipc_rbuf_feed(&c->rb, buf, (size_t)n) < 0)
		wdie(WORKER_EXIT_PROTOCOL,
		     "frame from the supervisor exceeds the %zu-byte limit",
		     c->max_frame);
}

/* fds nobody claimed: no frame is half-received, yet fds are left. */
static void surplus_fds(struct conn *c)
{
	if (!fifo_n || c->rb.len != c->rb.off)
		return;
	unsigned k = 0;
	int fd;
	while ((fd = fifo_pop()) >= 0) {
		close(fd);
		k++;
	}
	char err[96];
	snprintf(err, sizeof(err),
		 "%u file descriptor(s) arrived without a SpawnWorker", k);
	send_spawned(c, 0, 0, err);
}

void zygote_loop(struct worker *w)
{
	struct conn *c = &w->conn;

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			wdie(WORKER_EXIT_FAILURE, "poll: %s", strerror(errno));
		}
		receive(c);
		Gkipc__ToWorker *m;
		while ((m = conn_decode_next(c, NULL))) {
			handle(w, m);
			ipc_free_to_worker(m);
		}
		surplus_fds(c);
	}
}
