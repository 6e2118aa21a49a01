/* worker.c - a worker's channel: frames in, frames out, process signals. */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "codec.h"
#include "json_check.h"
#include "log.h"
#include "pool.h"
#include "run.h"
#include "sv.h"
#include "ws.h"

#define READS_PER_TURN 8

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

struct worker *worker_new(struct pool *p, int fd, int profile)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	size_t max_frame = sv->cfg->max_message_bytes + ((size_t)1 << 20);
	w->pool = p;
	w->fd = fd;
	w->profile = profile;
	w->state = W_STARTING;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ipc_rbuf_init(&w->rb, max_frame);
	ipc_wbuf_init(&w->wb, 2 * (max_frame + IPC_HDR_LEN));
	w->rd = event_new(sv->base, fd, EV_READ | EV_PERSIST, on_readable, w);
	w->wr = event_new(sv->base, fd, EV_WRITE, on_writable, w);
	return w;
}

void worker_free(struct worker *w)
{
	worker_close_link(w);
	if (w->kill_timer)
		event_free(w->kill_timer);
	free(w);
}

void worker_close_link(struct worker *w)
{
	if (w->fd < 0)
		return;
	event_free(w->rd);
	event_free(w->wr);
	w->rd = w->wr = NULL;
	close(w->fd);
	w->fd = -1;
	ipc_rbuf_free(&w->rb);
	ipc_wbuf_free(&w->wb);
}

void worker_pause(struct worker *w, bool paused)
{
	if (w->fd < 0)
		return;
	if (paused)
		event_del(w->rd);
	else
		event_add(w->rd, NULL);
}

void worker_signal(struct worker *w, int sig)
{
	if (w->pid <= 0 || w->reaped)
		return;
	/* A worker leads its PID namespace (or at least its process group):
	 * its death takes the namespace with it; the group catches the rest
	 * where namespaces are unavailable. */
	kill(-w->pid, sig);
	kill(w->pid, sig);
}

int worker_exit_signal(int st)
{
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	/* A worker that is PID 1 of its namespace cannot die by most signals
	 * at their default action: it catches them and exits 128 + sig. Its
	 * own exit codes are all below 128. */
	if (WIFEXITED(st) && WEXITSTATUS(st) > 128 && WEXITSTATUS(st) < 128 + 65)
		return WEXITSTATUS(st) - 128;
	return 0;
}

void worker_describe_exit(int st, char *buf, size_t n)
{
	int sig = worker_exit_signal(st);
	if (sig) {
		const char *abbr = sigabbrev_np(sig);
		if (abbr)
			snprintf(buf, n, "worker crashed: SIG%s (%s)", abbr,
				 strsignal(sig));
		else
			snprintf(buf, n, "worker crashed: signal %d", sig);
	} else if (WIFEXITED(st)) {
		snprintf(buf, n, "worker exited with status %d",
			 WEXITSTATUS(st));
	} else {
		snprintf(buf, n, "worker ended (wait status %#x)", st);
	}
}

static int read_proc(pid_t pid, const char *file, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, buf, n - 1);
	close(fd);
	if (k <= 0)
		return -1;
	buf[k] = 0;
	return 0;
}

uint64_t worker_cpu_ticks(const struct worker *w)
{
	char buf[1024];
	if (w->pid <= 0 || read_proc(w->pid, "stat", buf, sizeof(buf)) < 0)
		return 0;
	/* Fields after the ")" that ends the command name: utime is the
	 * 12th, stime the 13th of them. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	unsigned long long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return 0;
	return ut + st;
}

uint64_t worker_rss_mb(const struct worker *w)
{
	char buf[256];
	if (w->pid <= 0 || read_proc(w->pid, "statm", buf, sizeof(buf)) < 0)
		return 0;
	unsigned long long size, rss;
	if (sscanf(buf, "%llu %llu", &size, &rss) != 2)
		return 0;
	return rss * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
}

/* ---- output --------------------------------------------------------- */

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_flush(arg);
}

int worker_flush(struct worker *w)
{
	if (w->fd < 0)
		return -1;
	int rc = ipc_wbuf_flush(&w->wb, w->fd);
	if (rc == 1)
		event_add(w->wr, NULL);
	else if (rc < 0 && w->state != W_DYING) {
		log_warn("worker %d: write failed: %s", (int)w->pid, strerror(errno));
		pool_doom(w, SIGKILL);
	}
	return rc < 0 ? -1 : 0;
}

/* ---- input ---------------------------------------------------------- */

/* The worker broke the protocol: its run fails INTERNAL, it dies. */
static void violation(struct worker *w, const char *why)
{
	log_warn("worker %d: %s; killing it", (int)w->pid, why);
	if (w->run && !w->run->kill_code) {
		char buf[256];
		snprintf(buf, sizeof(buf), "worker protocol error: %s", why);
		run_set_kill(w->run, 13, buf);
	}
	pool_drop(w, SIGKILL);
}

/* The run a message claims to be about, or NULL after a violation. */
static struct run *current(struct worker *w, uint64_t run_id)
{
	if (w->run && w->run->id == run_id)
		return w->run;
	/* Its prefetched run, started behind one being stopped: it goes
	 * down with the worker (pool.c forget()). */
	if (w->past_run && w->ahead && w->ahead->id == run_id)
		return NULL;
	violation(w, "message for a run it does not own");
	return NULL;
}

/* Count output against --max-output-bytes; 0 when over (worker killed). */
static int account_output(struct worker *w, struct run *r, size_t n)
{
	r->out_bytes += n;
	uint64_t max = r->limits.max_output_bytes;
	if (!max || r->out_bytes <= max)
		return 1;
	char buf[160];
	snprintf(buf, sizeof(buf),
		 "Action output exceeded its limit of %llu bytes (max-output-bytes)",
		 (unsigned long long)max);
	run_set_kill(r, 8, buf);
	pool_drop(w, SIGKILL);
	return 0;
}

/* The run ended normally: remember how long its action takes (an EWMA
 * over about the last 8 runs; pool.c prefetches behind short ones and
 * grows the pool for long ones). The worker's own timing (run_us) is the
 * one to trust: ours also counts the time results wait for us under load,
 * which made echo look slow exactly when it mattered. */
static void note_duration(const struct run *r, uint32_t run_us)
{
	if (!r->action)
		return;
	int64_t us = run_us ? run_us : sv_us_since(&r->started_at);
	uint32_t v = us < 1 ? 1 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	uint32_t *avg = &r->action->avg_us;
	*avg = *avg ? (uint32_t)((7ull * *avg + v) / 8) : v;
}

static void detach(struct worker *w, uint32_t run_us)
{
	struct run *r = w->run;
	note_duration(r, run_us);
	w->run = NULL;
	r->worker = NULL;
	w->runs++;
}

/* The worker dropped its prefetched run unstarted, as asked (pool.c). */
static void on_skipped(struct worker *w)
{
	if (!w->ahead->cancelled && !w->ahead->kill_code) {
		violation(w, "error for a run it has not started");
		return;
	}
	pool_take_back_ahead(w, "dropped before it started");
}

/* A run being stopped sent its last message. Unless that was an Error
 * CANCELLED, after which a worker exits (worker/run.c), the worker has
 * moved on and may have started its prefetched run. */
static bool stopping(struct worker *w, struct run *r, int error_code)
{
	if (!r->cancelled && !r->kill_code)
		return false;
	if (error_code != 1)
		w->past_run = true;
	return true;
}

static void on_frame(struct worker *w, const uint8_t *data, size_t n)
{
	const char *why;
	Gkipc__FromWorker *m = ipc_decode_from_worker(data, n, &why);
	if (!m) {
		violation(w, why);
		return;
	}
	struct run *r;
	switch (m->msg_case) {
	case GKIPC__FROM_WORKER__MSG_HELLO:
		if (w->said_hello)
			violation(w, "second hello");
		else if (w->state == W_DYING)
			/* Stopped while it was starting (shutdown drains its
			 * socket): its first Hello is simply too late. */
			log_debug("worker %d: ready after it was stopped",
				  (int)w->pid);
		else
			pool_on_hello(w, m->hello);
		break;
	case GKIPC__FROM_WORKER__MSG_CHUNK: {
		const ProtobufCBinaryData *c = &m->chunk->chunk;
		if (!(r = current(w, m->chunk->run_id)) || r->cancelled ||
		    r->kill_code)
			break;
		if (!json_check((const char *)c->data, c->len)) {
			violation(w, "stream chunk is not valid JSON");
			break;
		}
		if (account_output(w, r, c->len))
			run_on_chunk(r, c->data, c->len);
		break;
	}
	case GKIPC__FROM_WORKER__MSG_RESULT: {
		const ProtobufCBinaryData *res = &m->result->result;
		if (!(r = current(w, m->result->run_id)) || stopping(w, r, 0))
			break;
		if (res->len && !json_check((const char *)res->data, res->len)) {
			violation(w, "result is not valid JSON");
			break;
		}
		if (!account_output(w, r, res->len))
			break;
		detach(w, m->result->run_us);
		run_on_result(r, res->data, res->len);
		pool_on_run_end(w, 0);
		break;
	}
	case GKIPC__FROM_WORKER__MSG_ERROR:
		if (w->ahead && !w->past_run &&
		    m->error->run_id == w->ahead->id) {
			on_skipped(w);
			break;
		}
		if (!(r = current(w, m->error->run_id)) ||
		    stopping(w, r, m->error->code))
			break;
		detach(w, m->error->run_us);
		run_on_error(r, m->error->code, m->error->message,
			     m->error->stack);
		pool_on_run_end(w, m->error->code);
		break;
	default:
		violation(w, "unexpected message");
		break;
	}
	ipc_free_from_worker(m);
}

static void drain_frames(struct worker *w)
{
	const uint8_t *data;
	size_t n;
	int rc = 0;
	while (w->fd >= 0 && (rc = ipc_rbuf_next(&w->rb, &data, &n)) == 1)
		on_frame(w, data, n);
	if (w->fd >= 0 && rc < 0)
		violation(w, "frame over the size limit");
}

void worker_drain(struct worker *w)
{
	while (w->fd >= 0 && ipc_rbuf_read(&w->rb, w->fd) > 0)
		drain_frames(w);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct worker *w = arg;
	struct pool *p = w->pool; /* w may be forgotten once its link closes */
	for (int i = 0; i < READS_PER_TURN && w->fd >= 0; i++) {
		ssize_t n = ipc_rbuf_read(&w->rb, fd);
		if (n > 0) {
			drain_frames(w);
			if (w->fd < 0 || w->rb.drained)
				break;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == ENOBUFS) {
			violation(w, "frame over the size limit");
			break;
		}
		/* EOF or error: the worker is gone or going. */
		log_debug("worker %d closed its channel", (int)w->pid);
		/* Usually it just died (and SIGCHLD will tell how); if it is
		 * still alive, our SIGKILL below ends it, and pool.c then
		 * blames the hang-up rather than our own signal. */
		w->hung_up = true;
		pool_drop(w, SIGKILL);
		break;
	}
	pool_check_backpressure(p);
}
