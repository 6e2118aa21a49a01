/* zygote.c - start the zygote, ask it for workers, restart it if it dies. */
#include "zygote.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "sv.h"
#include "worker.h"

extern char **environ;

#define RESTART_MIN_MS 100
#define RESTART_MAX_MS 5000
#define FAILURES_FATAL 3  /* deaths before a first Hello, at startup */
#define SEND_TIMEOUT_MS 2000

struct zygote {
	struct zygote_ops ops;
	pid_t pid;
	int fd;
	bool ready;     /* Hello received */
	bool ever_ready;
	unsigned failures;
	uint64_t next_spawn;
	struct ipc_rbuf rb;
	struct event *rd, *restart;
	char *argv[2 * CONFIG_MAX_PLUGINS + 16];
	char pid_arg[24], frame_arg[24], slice_arg[24];
};

static void start(struct zygote *z);

static void build_argv(struct zygote *z)
{
	const struct config *c = sv->cfg;
	int i = 0;
	snprintf(z->pid_arg, sizeof(z->pid_arg), "%ld", (long)getpid());
	snprintf(z->frame_arg, sizeof(z->frame_arg), "%zu",
		 c->max_message_bytes + ((size_t)1 << 20));
	z->argv[i++] = (char *)c->worker_bin;
	z->argv[i++] = "--zygote";
	z->argv[i++] = "--fd";
	z->argv[i++] = "3";
	z->argv[i++] = "--parent-pid";
	z->argv[i++] = z->pid_arg;
	z->argv[i++] = "--max-frame-bytes";
	z->argv[i++] = z->frame_arg;
	snprintf(z->slice_arg, sizeof(z->slice_arg), "%u", c->action_slice_us);
	z->argv[i++] = "--slice-us";
	z->argv[i++] = z->slice_arg;
	for (int k = 0; k < c->n_plugins; k++) {
		z->argv[i++] = "--plugin";
		z->argv[i++] = (char *)c->plugins[k];
	}
	z->argv[i] = NULL;
}

static void close_link(struct zygote *z)
{
	if (z->fd < 0)
		return;
	event_free(z->rd);
	z->rd = NULL;
	close(z->fd);
	z->fd = -1;
	ipc_rbuf_free(&z->rb);
	z->ready = false;
}

/* Something is wrong with the zygote: kill it, SIGCHLD does the rest. */
static void kill_zygote(struct zygote *z, const char *why)
{
	log_warn("zygote %d: %s; restarting it", (int)z->pid, why);
	close_link(z);
	if (z->pid > 0)
		kill(z->pid, SIGKILL);
}

static void on_frame(struct zygote *z, const uint8_t *data, size_t n)
{
	const char *why;
	Gkipc__FromWorker *m = ipc_decode_from_worker(data, n, &why);
	if (!m) {
		kill_zygote(z, why);
		return;
	}
	switch (m->msg_case) {
	case GKIPC__FROM_WORKER__MSG_HELLO:
		if (z->ready) {
			kill_zygote(z, "second hello");
			break;
		}
		z->ready = z->ever_ready = true;
		z->failures = 0;
		log_debug("zygote %d ready", (int)z->pid);
		z->ops.on_hello(m->hello);
		break;
	case GKIPC__FROM_WORKER__MSG_SPAWNED:
		z->ops.on_spawned(m->spawned->spawn_id, m->spawned->pid,
				  m->spawned->error);
		break;
	default:
		kill_zygote(z, "unexpected message");
		break;
	}
	ipc_free_from_worker(m);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct zygote *z = arg;
	ssize_t n = ipc_rbuf_read(&z->rb, fd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		log_debug("zygote %d closed its channel", (int)z->pid);
		close_link(z);
		if (z->pid > 0)
			kill(z->pid, SIGKILL);
		return;
	}
	const uint8_t *data;
	size_t len;
	int rc;
	while (z->fd >= 0 && (rc = ipc_rbuf_next(&z->rb, &data, &len)) == 1)
		on_frame(z, data, len);
	if (z->fd >= 0 && rc < 0)
		kill_zygote(z, "oversize frame");
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start(arg);
}

static void start(struct zygote *z)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_err("socketpair: %s", strerror(errno));
		goto retry;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sp[1], 3);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	int rc = posix_spawn(&z->pid, z->argv[0], &fa, &at, z->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sp[1]);
	if (rc) {
		log_err("cannot start %s: %s", z->argv[0], strerror(rc));
		close(sp[0]);
		z->pid = 0;
		goto retry;
	}
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	z->fd = sp[0];
	ipc_rbuf_init(&z->rb, sv->cfg->max_message_bytes + ((size_t)1 << 20));
	z->rd = event_new(sv->base, z->fd, EV_READ | EV_PERSIST, on_readable, z);
	event_add(z->rd, NULL);
	log_debug("started zygote %d", (int)z->pid);
	return;
retry:;
	struct timeval tv = { 1, 0 };
	evtimer_add(z->restart, &tv);
}

struct zygote *zygote_start(const struct zygote_ops *ops)
{
	struct zygote *z = calloc(1, sizeof(*z));
	if (!z)
		abort();
	z->ops = *ops;
	z->fd = -1;
	build_argv(z);
	z->restart = evtimer_new(sv->base, on_restart, z);
	start(z);
	return z;
}

int zygote_ready(const struct zygote *z)
{
	return z && z->ready && z->fd >= 0;
}

/* Write all of buf with the fd attached to its first byte. Control frames
 * are tiny and the zygote reads promptly, so waiting briefly is fine. */
static int send_with_fd(int sock, const uint8_t *buf, size_t n, int fd)
{
	size_t off = 0;
	bool fd_sent = false;
	while (off < n) {
		struct iovec iov = { (void *)(buf + off), n - off };
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (!fd_sent) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		ssize_t k = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd p = { sock, POLLOUT, 0 };
				if (poll(&p, 1, SEND_TIMEOUT_MS) <= 0)
					return -1;
				continue;
			}
			return -1;
		}
		fd_sent = true;
		off += (size_t)k;
	}
	return 0;
}

uint64_t zygote_spawn(struct zygote *z, int profile, int fd)
{
	const struct config *c = sv->cfg;
	uint64_t id = 0;
	if (!zygote_ready(z))
		goto out;
	Gkipc__SpawnWorker s = GKIPC__SPAWN_WORKER__INIT;
	s.spawn_id = ++z->next_spawn;
	s.sandbox = (char *)sandbox_names[profile];
	s.scratch_root = profile != SANDBOX_NONE ? (char *)c->scratch_dir : "";
	s.run_as_set = c->run_as_set && profile != SANDBOX_NONE;
	s.run_as_uid = c->run_as_uid;
	s.run_as_gid = c->run_as_gid;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_SPAWN;
	m.spawn = &s;
	struct ipc_wbuf wb;
	ipc_wbuf_init(&wb, 0);
	if (ipc_send(&wb, &m.base) == 0 &&
	    send_with_fd(z->fd, wb.data, wb.len, fd) == 0)
		id = s.spawn_id;
	else
		kill_zygote(z, "cannot send it a spawn request");
	ipc_wbuf_free(&wb);
out:
	close(fd);
	return id;
}

int zygote_reaped(struct zygote *z, pid_t pid, int status)
{
	if (!z || pid != z->pid)
		return 0;
	char why[160];
	worker_describe_exit(status, why, sizeof(why));
	z->pid = 0;
	bool was_ready = z->ready;
	close_link(z);
	z->ops.on_lost();
	if (sv->shutting_down)
		return 1;
	if (!was_ready) {
		z->failures++;
		log_warn("zygote died before it was ready: %s", why);
		if (!z->ever_ready && z->failures >= FAILURES_FATAL) {
			log_err("the zygote (%s --zygote) keeps failing; check the plugins",
				z->argv[0]);
			sv->exit_code = 1;
			sv_finish_now();
			return 1;
		}
	} else {
		log_warn("zygote died: %s", why);
	}
	unsigned ms = RESTART_MIN_MS << (z->failures < 6 ? z->failures : 6);
	if (ms > RESTART_MAX_MS)
		ms = RESTART_MAX_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(z->restart, &tv);
	return 1;
}

void zygote_stop(struct zygote *z)
{
	if (!z)
		return;
	close_link(z);
	if (z->pid > 0) {
		kill(z->pid, SIGKILL);
		while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	event_free(z->restart);
	free(z);
}
