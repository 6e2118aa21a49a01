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
 *   zygote ──fork──> intermediate: unshare(CLONE_NEWPID) (CLONE_NEWUSER
 *                    first when not root), fork, report the worker's pid
 *                    (our namespace) through a pipe, _exit(0)
 *                    └──fork──> worker, PID 1 of the new namespace: reads its
 *                    pid from the "go" pipe, waits for EOF on it, then
 *                    PDEATHSIG, fds, sandbox, Hello, the normal run loop.
 * The zygote waitpid()s the intermediate, writes the pid into the go pipe,
 * closes it and answers Spawned{spawn_id, pid}.
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
#define REPORT_TIMEOUT_MS 10000

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

static void intermediate(struct worker *w, const Gkipc__SpawnWorker *sp,
			 int fd, int rep_fd, int go_fd) __attribute__((noreturn));
static void intermediate(struct worker *w, const Gkipc__SpawnWorker *sp,
			 int fd, int rep_fd, int go_fd)
{
	struct report rep;
	int rc;
	uid_t uid = getuid();
	gid_t gid = getgid();

	memset(&rep, 0, sizeof(rep));
	if (geteuid() != 0) {
		/* A user namespace first, so that the PID (and later mount and
		 * network) namespaces can be created at all. */
		rc = ns_unshare(CLONE_NEWUSER | CLONE_NEWPID);
		if (rc == 0 && ns_map_root(uid, gid) < 0) {
			rep.err = errno;
			snprintf(rep.what, sizeof(rep.what), "user namespace map");
			goto out;
		}
		if (rc < 0)
			rc = ns_unshare(CLONE_NEWPID);
	} else {
		rc = ns_unshare(CLONE_NEWPID);
	}
	rep.pidns_err = rc < 0 ? -rc : 0;
	pid_t pid = fork();
	if (pid == 0) {
		close(rep_fd);
		worker_child(w, sp, fd, go_fd);
	}
	if (pid < 0) {
		rep.err = errno;
		snprintf(rep.what, sizeof(rep.what), "fork (worker)");
		goto out;
	}
	rep.pid = pid;
out:
	(void)!write(rep_fd, &rep, sizeof(rep));
	_exit(rep.pid ? 0 : 1);
}

/* ---- SpawnWorker ------------------------------------------------------*/

static int pidns_warned;

static void spawn(struct worker *w, const Gkipc__SpawnWorker *sp, int fd)
{
	struct report rep;
	struct stat st;
	char err[160];
	int rp[2], go[2], status;

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
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		close(fd);
		snprintf(err, sizeof(err), "pipe2: %s", strerror(errno));
		send_spawned(&w->conn, sp->spawn_id, 0, err);
		return;
	}
	pid_t ip = fork();
	if (ip == 0) {
		close(rp[0]);
		close(go[1]);
		intermediate(w, sp, fd, rp[1], go[0]);
	}
	int fork_errno = errno;
	close(rp[1]);
	close(go[0]);
	close(fd); /* the worker has it now */
	if (ip < 0) {
		close(rp[0]);
		close(go[1]);
		snprintf(err, sizeof(err), "fork: %s", strerror(fork_errno));
		send_spawned(&w->conn, sp->spawn_id, 0, err);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	struct pollfd p = { .fd = rp[0], .events = POLLIN };
	int ready;
	while ((ready = poll(&p, 1, REPORT_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (ready <= 0) {
		kill(ip, SIGKILL);
		snprintf(rep.what, sizeof(rep.what), "intermediate (timeout)");
		rep.err = ETIMEDOUT;
	} else if (read_full(rp[0], &rep, sizeof(rep)) < 0) {
		memset(&rep, 0, sizeof(rep));
		snprintf(rep.what, sizeof(rep.what), "intermediate");
		rep.err = EPIPE;
	}
	close(rp[0]);
	while (waitpid(ip, &status, 0) < 0 && errno == EINTR)
		;
	/* The worker is re-parented now: let it go (on failure it reads
	 * EOF without a pid and exits). */
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
