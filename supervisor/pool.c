/* pool.c - worker processes, their IPC channels and the wait queue. */
#include "pool.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "codec.h"
#include "json_check.h"
#include "log.h"
#include "run.h"
#include "sv.h"
#include "ws.h"

extern char **environ;

#define READS_PER_TURN 8
#define RESPAWN_MIN_MS 100
#define RESPAWN_MAX_MS 5000
/* Consecutive workers that die before their hello, before we give up while
 * no worker ever started. */
#define STARTUP_FAILURES_FATAL 3

enum wstate { W_STARTING, W_IDLE, W_BUSY, W_DYING };

struct worker {
	struct worker *prev, *next;  /* all workers */
	struct worker *idle_next;    /* idle stack */
	struct pool *pool;
	pid_t pid;
	int fd;                      /* -1 once closed */
	enum wstate state;
	struct event *rd, *wr, *kill_timer;
	struct ipc_rbuf rb;
	struct ipc_wbuf wb;
	struct run *run;
	unsigned runs;
	struct timespec idle_since;
};

struct pool {
	struct worker *all;
	unsigned n_all, n_starting, n_dying;
	struct worker *idle;
	struct run *q_head, *q_tail;
	unsigned q_len;
	unsigned fail_streak;
	bool paused, stopping;
	struct event *sigchld, *respawn, *idle_tick;
	char *argv[2 * CONFIG_MAX_PLUGINS + 16];
	char pid_arg[24], frame_arg[24];
	size_t max_frame;
};

/* ---- helpers ---------------------------------------------------------- */

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static unsigned live(const struct pool *p)
{
	return p->n_all - p->n_dying;
}

static void signal_worker(struct worker *w, int sig)
{
	/* The worker leads its own process group: take its children too. */
	kill(-w->pid, sig);
	kill(w->pid, sig);
}

static void describe_exit(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
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

static void close_link(struct worker *w)
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

static void idle_remove(struct pool *p, struct worker *w)
{
	for (struct worker **pp = &p->idle; *pp; pp = &(*pp)->idle_next) {
		if (*pp == w) {
			*pp = w->idle_next;
			w->idle_next = NULL;
			return;
		}
	}
}

/* No more runs for w: it is killed (or already dead) and will be reaped. */
static void doom(struct worker *w, int sig)
{
	struct pool *p = w->pool;
	if (w->state == W_IDLE)
		idle_remove(p, w);
	if (w->state == W_STARTING)
		p->n_starting--;
	if (w->state != W_DYING) {
		w->state = W_DYING;
		p->n_dying++;
	}
	if (sig)
		signal_worker(w, sig);
}

static void flush(struct worker *w);
static void spawn_more(struct pool *p);

/* ---- runs onto workers ------------------------------------------------ */

static void fill_limits(const struct run *r, Gkipc__Limits *l)
{
	gkipc__limits__init(l);
	if (r->action)
		*l = r->action->limits;
	l->base.unknown_fields = NULL;
	l->base.n_unknown_fields = 0;
}

static void assign(struct worker *w, struct run *r)
{
	Gkipc__Limits limits;
	fill_limits(r, &limits);
	Gkipc__RunRequest rq = GKIPC__RUN_REQUEST__INIT;
	rq.run_id = r->id;
	char rid[128];
	size_t rl = r->req_id.n < sizeof(rid) - 1 ? r->req_id.n : sizeof(rid) - 1;
	memcpy(rid, r->req_id.p, rl);
	rid[rl] = 0;
	rq.request_id = rid;
	rq.key = r->key;
	rq.input.data = (uint8_t *)r->input.p;
	rq.input.len = r->input.n;
	rq.context.data = (uint8_t *)r->context.p;
	rq.context.len = r->context.n;
	rq.trace_id = r->trace_id;
	rq.span_id = r->span_id;
	rq.stream = r->stream;
	rq.stream_input = r->stream_input;
	rq.limits = &limits;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rq;

	w->state = W_BUSY;
	w->run = r;
	r->worker = w;
	r->state = RUN_RUNNING;
	if (ipc_send(&w->wb, &m.base) < 0) {
		r->kill_code = 8;
		r->kill_message = strdup("input too large for the worker channel");
		doom(w, SIGKILL);
		return;
	}
	/* The input now lives in the frame: drop the request text. */
	free(r->msg);
	r->msg = NULL;
	r->input = r->context = (struct jspan){ NULL, 0 };
	for (struct pending_input *pi = r->in_head; pi; pi = pi->next) {
		int rc = pi->chunk.n ? ipc_send_input_chunk(&w->wb, r->id,
							    pi->chunk.p, pi->chunk.n)
				     : ipc_send_end_input(&w->wb, r->id);
		if (rc < 0) {
			r->kill_code = 8;
			r->kill_message = strdup("input stream backlog too large");
			doom(w, SIGKILL);
			break;
		}
	}
	run_free_pending_input(r);
	flush(w);
}

static struct run *dequeue_head(struct pool *p)
{
	struct run *r = p->q_head;
	if (r)
		pool_dequeue(p, r);
	return r;
}

/* w finished its run (or just said hello): give it the next one. */
static void worker_ready(struct worker *w)
{
	struct pool *p = w->pool;
	if (w->state == W_DYING || w->fd < 0)
		return;
	struct run *r = dequeue_head(p);
	if (r) {
		assign(w, r);
		return;
	}
	w->state = W_IDLE;
	clock_gettime(CLOCK_MONOTONIC, &w->idle_since);
	w->idle_next = p->idle;
	p->idle = w;
}

int pool_submit(struct pool *p, struct run *r)
{
	struct worker *w = p->idle;
	if (w) {
		p->idle = w->idle_next;
		w->idle_next = NULL;
		assign(w, r);
		return 0;
	}
	if (p->q_len >= sv->cfg->queue_max)
		return -1;
	r->state = RUN_QUEUED;
	r->qnext = NULL;
	r->qprev = p->q_tail;
	if (p->q_tail)
		p->q_tail->qnext = r;
	else
		p->q_head = r;
	p->q_tail = r;
	p->q_len++;
	spawn_more(p);
	return 0;
}

void pool_dequeue(struct pool *p, struct run *r)
{
	if (r->state != RUN_QUEUED)
		return;
	if (r->qprev)
		r->qprev->qnext = r->qnext;
	else
		p->q_head = r->qnext;
	if (r->qnext)
		r->qnext->qprev = r->qprev;
	else
		p->q_tail = r->qprev;
	r->qprev = r->qnext = NULL;
	p->q_len--;
}

/* ---- I/O with a worker ------------------------------------------------ */

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

static void flush(struct worker *w)
{
	if (w->fd < 0)
		return;
	int rc = ipc_wbuf_flush(&w->wb, w->fd);
	if (rc == 1)
		event_add(w->wr, NULL);
	else if (rc < 0 && w->state != W_DYING) {
		log_warn("worker %d: write failed: %s", (int)w->pid, strerror(errno));
		doom(w, SIGKILL);
	}
}

static void violation(struct worker *w, const char *why)
{
	log_warn("worker %d: %s; killing it", (int)w->pid, why);
	if (w->run && !w->run->kill_code) {
		w->run->kill_code = 13;
		char buf[256];
		snprintf(buf, sizeof(buf), "worker protocol error: %s", why);
		w->run->kill_message = strdup(buf);
	}
	doom(w, SIGKILL);
	close_link(w);
}

static void on_hello(struct worker *w, const Gkipc__Hello *h)
{
	struct pool *p = w->pool;
	if (w->state != W_STARTING) {
		violation(w, "second hello");
		return;
	}
	p->n_starting--;
	p->fail_streak = 0;
	log_debug("worker %d ready (%zu actions)", (int)w->pid, h->n_actions);
	if (!sv->catalog) {
		sv->catalog = catalog_new(h);
		log_info("%zu actions from %d plugin(s), %u worker(s)",
			 catalog_count(sv->catalog), sv->cfg->n_plugins,
			 sv->cfg->workers);
		sv_on_ready();
	}
	worker_ready(w);
}

/* The run a message claims to be about, or NULL after a violation. */
static struct run *current(struct worker *w, uint64_t run_id)
{
	if (!w->run || w->run->id != run_id) {
		violation(w, "message for a run it does not own");
		return NULL;
	}
	return w->run;
}

static void detach(struct worker *w)
{
	struct run *r = w->run;
	w->run = NULL;
	r->worker = NULL;
	w->runs++;
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
		on_hello(w, m->hello);
		break;
	case GKIPC__FROM_WORKER__MSG_CHUNK:
		if (!(r = current(w, m->chunk->run_id)) || r->cancelled)
			break;
		if (!json_check((const char *)m->chunk->chunk.data,
				m->chunk->chunk.len)) {
			violation(w, "stream chunk is not valid JSON");
			break;
		}
		run_on_chunk(r, m->chunk->chunk.data, m->chunk->chunk.len);
		break;
	case GKIPC__FROM_WORKER__MSG_RESULT:
		if (!(r = current(w, m->result->run_id)) || r->cancelled)
			break;
		if (m->result->result.len &&
		    !json_check((const char *)m->result->result.data,
				m->result->result.len)) {
			violation(w, "result is not valid JSON");
			break;
		}
		detach(w);
		run_on_result(r, m->result->result.data, m->result->result.len);
		worker_ready(w);
		break;
	case GKIPC__FROM_WORKER__MSG_ERROR:
		if (!(r = current(w, m->error->run_id)) || r->cancelled)
			break;
		detach(w);
		run_on_error(r, m->error->code, m->error->message,
			     m->error->stack);
		worker_ready(w);
		break;
	default:
		break;
	}
	ipc_free_from_worker(m);
}

/* Decode every whole frame in the buffer. */
static void drain_frames(struct worker *w)
{
	const uint8_t *data;
	size_t n;
	int rc;
	while (w->fd >= 0 && (rc = ipc_rbuf_next(&w->rb, &data, &n)) == 1)
		on_frame(w, data, n);
	if (w->fd >= 0 && rc < 0)
		violation(w, "frame over the size limit");
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct worker *w = arg;
	for (int i = 0; i < READS_PER_TURN && w->fd >= 0; i++) {
		ssize_t n = ipc_rbuf_read(&w->rb, fd);
		if (n > 0) {
			drain_frames(w);
			if (w->rb.drained)
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
		doom(w, SIGKILL);
		close_link(w);
		break;
	}
	if (!w->pool->paused && ws_pending(sv->ws) > sv->cfg->max_message_bytes)
		pool_pause(w->pool, true);
}

void pool_pause(struct pool *p, bool paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	log_debug("%s reading from workers (%zu bytes queued for the manager)",
		  paused ? "pausing" : "resuming", ws_pending(sv->ws));
	for (struct worker *w = p->all; w; w = w->next) {
		if (w->fd < 0)
			continue;
		if (paused)
			event_del(w->rd);
		else
			event_add(w->rd, NULL);
	}
}

/* ---- process management ----------------------------------------------- */

static void build_argv(struct pool *p)
{
	const struct config *c = sv->cfg;
	int i = 0;
	snprintf(p->pid_arg, sizeof(p->pid_arg), "%ld", (long)getpid());
	snprintf(p->frame_arg, sizeof(p->frame_arg), "%zu", p->max_frame);
	p->argv[i++] = (char *)c->worker_bin;
	p->argv[i++] = "--fd";
	p->argv[i++] = "3";
	p->argv[i++] = "--parent-pid";
	p->argv[i++] = p->pid_arg;
	p->argv[i++] = "--max-frame-bytes";
	p->argv[i++] = p->frame_arg;
	for (int k = 0; k < c->n_plugins; k++) {
		p->argv[i++] = "--plugin";
		p->argv[i++] = (char *)c->plugins[k];
	}
	p->argv[i] = NULL;
}

static struct worker *spawn(struct pool *p)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_err("socketpair: %s", strerror(errno));
		return NULL;
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
	pid_t pid;
	int rc = posix_spawn(&pid, p->argv[0], &fa, &at, p->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sp[1]);
	if (rc) {
		log_err("cannot start %s: %s", p->argv[0], strerror(rc));
		close(sp[0]);
		return NULL;
	}
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->pool = p;
	w->pid = pid;
	w->fd = sp[0];
	w->state = W_STARTING;
	ipc_rbuf_init(&w->rb, p->max_frame);
	ipc_wbuf_init(&w->wb, 2 * (p->max_frame + IPC_HDR_LEN));
	w->rd = event_new(sv->base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
	w->wr = event_new(sv->base, w->fd, EV_WRITE, on_writable, w);
	if (!p->paused)
		event_add(w->rd, NULL);
	w->next = p->all;
	if (p->all)
		p->all->prev = w;
	p->all = w;
	p->n_all++;
	p->n_starting++;
	log_debug("started worker %d", (int)pid);
	return w;
}

/* Start workers while runs wait for them, up to --max-workers, and keep
 * at least --workers alive. */
static void spawn_more(struct pool *p)
{
	if (p->stopping || evtimer_pending(p->respawn, NULL))
		return;
	while (live(p) < sv->cfg->max_workers &&
	       (live(p) < sv->cfg->workers || p->n_starting < p->q_len)) {
		if (!spawn(p))
			break;
	}
}

static void on_respawn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	spawn_more(arg);
}

static void unlink_worker(struct pool *p, struct worker *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		p->all = w->next;
	if (w->next)
		w->next->prev = w->prev;
	p->n_all--;
}

static void on_reaped(struct pool *p, struct worker *w, int st)
{
	char why[160];
	describe_exit(st, why, sizeof(why));
	bool early = w->state == W_STARTING;
	doom(w, 0);
	/* Anything it wrote before dying is still in the socket: a result
	 * sent just before a crash still counts. */
	while (w->fd >= 0 && ipc_rbuf_read(&w->rb, w->fd) > 0)
		drain_frames(w);
	close_link(w);
	if (w->kill_timer)
		event_free(w->kill_timer);
	struct run *r = w->run;
	if (r) {
		if (r->cancelled)
			log_info("worker %d ran %s until cancelled (%s)",
				 (int)w->pid, r->key, why);
		else
			log_warn("worker %d running %s: %s", (int)w->pid, r->key, why);
		detach(w);
		run_on_worker_lost(r, why);
	} else if (early && !p->stopping) {
		log_warn("worker %d died before it was ready: %s", (int)w->pid, why);
	} else {
		log_debug("worker %d: %s", (int)w->pid, why);
	}
	p->n_dying--;
	unlink_worker(p, w);
	free(w);
	if (p->stopping)
		return;
	if (early) {
		p->fail_streak++;
		if (!sv->catalog && p->fail_streak >= STARTUP_FAILURES_FATAL) {
			log_err("workers keep dying before they are ready; giving up (check the plugins and %s)",
				sv->cfg->worker_bin);
			sv->exit_code = 1;
			sv_finish_now();
			return;
		}
		unsigned ms = RESPAWN_MIN_MS << (p->fail_streak < 6 ? p->fail_streak : 6);
		if (ms > RESPAWN_MAX_MS)
			ms = RESPAWN_MAX_MS;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		evtimer_add(p->respawn, &tv);
		return;
	}
	spawn_more(p);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct worker *w = p->all;
		while (w && w->pid != pid)
			w = w->next;
		if (w)
			on_reaped(p, w, st);
	}
}

static void on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	log_info("worker %d still alive after the grace period: SIGKILL",
		 (int)w->pid);
	signal_worker(w, SIGKILL);
}

void pool_cancel(struct pool *p, struct run *r)
{
	(void)p;
	struct worker *w = r->worker;
	if (!w)
		return;
	if (w->fd >= 0) {
		ipc_send_cancel(&w->wb, r->id);
		flush(w);
	}
	unsigned grace = sv->cfg->cancel_grace_ms;
	doom(w, grace ? SIGTERM : SIGKILL);
	if (grace && !w->kill_timer) {
		w->kill_timer = evtimer_new(sv->base, on_kill_timer, w);
		struct timeval tv = { grace / 1000, (grace % 1000) * 1000 };
		evtimer_add(w->kill_timer, &tv);
	}
}

void pool_input(struct pool *p, struct run *r, struct jspan chunk)
{
	(void)p;
	struct worker *w = r->worker;
	if (!w || w->fd < 0 || w->state == W_DYING)
		return;
	int rc = chunk.n ? ipc_send_input_chunk(&w->wb, r->id, chunk.p, chunk.n)
			 : ipc_send_end_input(&w->wb, r->id);
	if (rc < 0) {
		r->kill_code = 8;
		r->kill_message = strdup("input stream backlog too large: the action does not read its input");
		doom(w, SIGKILL);
		return;
	}
	flush(w);
}

/* Workers above --workers that idled too long exit. */
static void on_idle_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	unsigned keep = sv->cfg->workers;
	for (struct worker **pp = &p->idle; *pp && live(p) > keep;) {
		struct worker *w = *pp;
		if (ms_since(&w->idle_since) < (long)sv->cfg->idle_timeout_ms) {
			pp = &w->idle_next;
			continue;
		}
		log_debug("worker %d idle for %u ms: retiring it", (int)w->pid,
			  sv->cfg->idle_timeout_ms);
		doom(w, SIGKILL);
	}
}

struct pool *pool_new(void)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->max_frame = sv->cfg->max_message_bytes + ((size_t)1 << 20);
	build_argv(p);
	p->sigchld = evsignal_new(sv->base, SIGCHLD, on_sigchld, p);
	p->respawn = evtimer_new(sv->base, on_respawn, p);
	p->idle_tick = event_new(sv->base, -1, EV_PERSIST, on_idle_tick, p);
	event_add(p->sigchld, NULL);
	struct timeval sec = { 1, 0 };
	event_add(p->idle_tick, &sec);
	return p;
}

int pool_start(struct pool *p)
{
	spawn_more(p);
	return p->n_all ? 0 : -1;
}

void pool_stop(struct pool *p)
{
	p->stopping = true;
	for (struct worker *w = p->all; w; w = w->next)
		signal_worker(w, SIGKILL);
	while (p->all) {
		struct worker *w = p->all;
		int st;
		pid_t r;
		do
			r = waitpid(w->pid, &st, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			st = 0;
		on_reaped(p, w, st);
	}
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	event_free(p->sigchld);
	event_free(p->respawn);
	event_free(p->idle_tick);
	free(p);
}
