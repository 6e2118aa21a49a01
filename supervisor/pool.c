/* pool.c - worker classes, the wait queue, spawning, reaping, retiring. */
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <event2/event.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "codec.h"
#include "log.h"
#include "run.h"
#include "sv.h"
#include "worker.h"
#include "ws.h"
#include "zygote.h"

#define EARLY_DEATHS_FATAL 3 /* before any worker was ever ready */
#define RESPAWN_MIN_MS 100   /* backoff after a worker died before its hello */
#define RESPAWN_MAX_MS 5000
#define WATCH_MS 25          /* CPU/RSS limit polling period */
/* The pool grows past --workers only when a run has waited this long for
 * a busy worker of its class AND one of those workers has been on its run
 * at least as long: workers held by slow runs (sleep, I/O, a long
 * computation) get company, while a queue of short runs, which the
 * workers turn over faster than new processes would help, does not grow
 * the pool (echo at C=64: 64 workers ran ~22k req/s, 2 to 8 ran 27-32k;
 * the extra processes only added context switches). */
#define GROW_AFTER_MS 5
/* ...except for a run of an action known to be short (its average under a
 * tenth of that): on a busy machine a worker is easily descheduled for a
 * few ms mid-run, and that is no reason to fork (echo at C=16 grew to 14
 * workers in one of six 5 s runs and lost a quarter of its throughput).
 * Held this long, even such a run counts as stuck. */
#define GROW_AFTER_SHORT_MS 50
#define STASH 64

struct pool {
	struct worker *all;
	unsigned n_all, n_dying;
	unsigned n_starting[SANDBOX_COUNT];
	struct worker *idle[SANDBOX_COUNT];
	struct run *q_head, *q_tail;
	unsigned q_len;
	unsigned q_class[SANDBOX_COUNT];
	unsigned q_fresh[SANDBOX_COUNT];
	bool grow_ok;                  /* the queue head waited long enough */
	char *broken[SANDBOX_COUNT];   /* why this profile cannot start */
	unsigned early_deaths;
	bool any_ready, paused, stopping;
	struct zygote *zy;
	struct event *sigchld, *idle_tick, *watch, *sweep, *grow, *respawn;
	struct { pid_t pid; int status; } stash[STASH];
	unsigned stash_next;
};

static struct pool *the_pool;

static unsigned live(const struct pool *p)
{
	return p->n_all - p->n_dying;
}

static long ms_since(const struct timespec *t)
{
	return (long)(sv_us_since(t) / 1000);
}

static void idle_remove(struct pool *p, struct worker *w)
{
	for (struct worker **pp = &p->idle[w->profile]; *pp;
	     pp = &(*pp)->idle_next) {
		if (*pp == w) {
			*pp = w->idle_next;
			w->idle_next = NULL;
			return;
		}
	}
}

static void spawn_more(struct pool *p);
static void on_respawn(evutil_socket_t fd, short what, void *arg);
static unsigned live_in(const struct pool *p, int cls);
static void forget(struct pool *p, struct worker *w, int status,
		   bool have_status);

void pool_doom(struct worker *w, int sig)
{
	struct pool *p = w->pool;
	if (w->state == W_IDLE)
		idle_remove(p, w);
	if (w->state == W_STARTING)
		p->n_starting[w->profile]--;
	if (w->state != W_DYING) {
		w->state = W_DYING;
		p->n_dying++;
	}
	if (sig)
		worker_signal(w, sig);
	/* Without a pid no SIGCHLD will come: once the channel is gone too,
	 * nothing more can be learnt about it. Forget it from the top of the
	 * loop, never from inside one of its own callbacks. */
	if (!w->pid && w->fd < 0)
		event_active(p->sweep, 0, 0);
}

void pool_drop(struct worker *w, int sig)
{
	pool_doom(w, sig);
	worker_close_link(w);
	if (!w->pid)
		event_active(w->pool->sweep, 0, 0);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	for (struct worker *w = p->all, *next; w; w = next) {
		next = w->next;
		if (!w->pid && w->fd < 0 && w->state == W_DYING)
			forget(p, w, 0, false);
	}
}

/* ---- runs onto workers ------------------------------------------------ */

static void drop_request_text(struct run *r)
{
	free(r->msg);
	r->msg = NULL;
	r->input = r->context = (struct jspan){ NULL, 0 };
}

/* Hand r to w's process: the request, then any input already buffered. */
static void send_run(struct worker *w, struct run *r)
{
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
	rq.limits = &r->limits;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rq;
	if (ipc_send(&w->wb, &m.base) < 0) {
		run_set_kill(r, 8, "Action input too large for the worker channel");
		pool_doom(w, SIGKILL);
		return;
	}
	/* The input now lives in the frame: drop the request text, unless
	 * the run may yet have to go to another worker (prefetched). */
	if (w->run == r)
		drop_request_text(r);
	for (struct pending_input *pi = r->in_head; pi; pi = pi->next) {
		int rc = pi->chunk.n ? ipc_send_input_chunk(&w->wb, r->id,
							    pi->chunk.p, pi->chunk.n)
				     : ipc_send_end_input(&w->wb, r->id);
		if (rc < 0) {
			run_set_kill(r, 8, "Action input stream backlog too large");
			pool_doom(w, SIGKILL);
			break;
		}
	}
	run_free_pending_input(r);
	worker_flush(w);
}

/* r is w's current run from now on: its clocks start. */
static void begin_current(struct worker *w, struct run *r)
{
	w->run = r;
	w->past_run = false;
	r->worker = w;
	r->state = RUN_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &r->started_at);
	if (r->limits.cpu_seconds)
		w->cpu_at_start = worker_cpu_ticks(w);
	if ((r->limits.cpu_seconds || r->limits.memory_mb) &&
	    !evtimer_pending(w->pool->watch, NULL)) {
		struct timeval tv = { 0, WATCH_MS * 1000 };
		evtimer_add(w->pool->watch, &tv);
	}
}

static void assign(struct worker *w, struct run *r)
{
	w->state = W_BUSY;
	w->single_use = r->fresh;
	begin_current(w, r);
	send_run(w, r);
}

/*
 * Prefetch. A worker busy with a short run may be handed its next run in
 * advance (w->ahead): the worker keeps it and starts it the moment the
 * current one ends, instead of idling until the supervisor has heard of
 * the end and sent more. That round trip, two wake-ups, was most of what
 * a short action cost (echo at C=16: 54 -> 35 us of CPU per request).
 * Only behind a run likely to be short: its action's recent average is
 * under --prefetch-us and it started less than --prefetch-us ago; never
 * in fresh mode, for bidi runs or for big inputs. A prefetched run has
 * not started before the run ahead of it ended, so:
 *  - when the worker dies before that, the run goes back to the head of
 *    the queue (forget());
 *  - cancel or a time limit sends the worker Cancel: it drops the run
 *    unstarted and answers Error (worker.c), or, if the run has become
 *    current meanwhile, the usual signal follows (pool_on_run_end()).
 */
#define PREFETCH_MAX_INPUT (64u * 1024u)

static bool can_prefetch(const struct worker *w, const struct run *r)
{
	const struct config *c = sv->cfg;
	const struct run *cur = w->run;
	if (!c->prefetch_us || w->state != W_BUSY || !cur || w->ahead ||
	    w->single_use || w->retire_why || w->fd < 0)
		return false;
	if (w->profile != r->profile || r->fresh || r->stream_input ||
	    cur->stream_input || cur->cancelled || cur->kill_code)
		return false;
	if (r->input.n + r->context.n > PREFETCH_MAX_INPUT)
		return false;
	if (c->max_runs_per_worker && w->runs + 2 > c->max_runs_per_worker)
		return false;
	if (!cur->action || !cur->action->avg_us ||
	    cur->action->avg_us >= c->prefetch_us)
		return false;
	return sv_us_since(&cur->started_at) < (int64_t)c->prefetch_us;
}

static void assign_ahead(struct worker *w, struct run *r)
{
	w->ahead = r;
	r->worker = w;
	r->state = RUN_RUNNING;
	send_run(w, r);
}

/* The first queued run that w can take in advance, if any. */
static void prefetch_for(struct pool *p, struct worker *w)
{
	for (struct run *r = p->q_head; r; r = r->qnext) {
		if (can_prefetch(w, r)) {
			pool_dequeue(p, r);
			assign_ahead(w, r);
			return;
		}
	}
}

/* Tell the worker: a prefetched run it has not started is dropped, the
 * current one is asked to stop (before any signal). */
static void send_cancel(struct worker *w, struct run *r)
{
	if (w->fd < 0)
		return;
	ipc_send_cancel(&w->wb, r->id);
	worker_flush(w);
}

static bool fits(const struct worker *w, const struct run *r)
{
	return w->profile == r->profile && (!r->fresh || w->runs == 0);
}

static struct worker *take_idle(struct pool *p, const struct run *r)
{
	for (struct worker **pp = &p->idle[r->profile]; *pp;
	     pp = &(*pp)->idle_next) {
		struct worker *w = *pp;
		if (fits(w, r)) {
			*pp = w->idle_next;
			w->idle_next = NULL;
			return w;
		}
	}
	return NULL;
}

/* w finished its run (or just said hello): give it the next one. */
static void worker_ready(struct worker *w)
{
	struct pool *p = w->pool;
	if (w->state == W_DYING || w->fd < 0)
		return;
	for (struct run *r = p->q_head; r; r = r->qnext) {
		if (fits(w, r)) {
			pool_dequeue(p, r);
			assign(w, r);
			prefetch_for(p, w);
			return;
		}
	}
	w->state = W_IDLE;
	clock_gettime(CLOCK_MONOTONIC, &w->idle_since);
	w->idle_next = p->idle[w->profile];
	p->idle[w->profile] = w;
}

/* An idle worker that no queued run can use, to make room at the bound. */
static bool retire_one_idle(struct pool *p)
{
	for (int c = 0; c < SANDBOX_COUNT; c++) {
		if (p->idle[c]) {
			pool_doom(p->idle[c], SIGKILL);
			return true;
		}
	}
	return false;
}

/* Into the wait queue: at the tail, or at the head (first in line). */
static void enqueue(struct pool *p, struct run *r, bool front)
{
	r->state = RUN_QUEUED;
	if (front) {
		r->qprev = NULL;
		r->qnext = p->q_head;
		if (p->q_head)
			p->q_head->qprev = r;
		else
			p->q_tail = r;
		p->q_head = r;
	} else {
		r->qnext = NULL;
		r->qprev = p->q_tail;
		if (p->q_tail)
			p->q_tail->qnext = r;
		else
			p->q_head = r;
		p->q_tail = r;
	}
	p->q_len++;
	p->q_class[r->profile]++;
	p->q_fresh[r->profile] += r->fresh;
	clock_gettime(CLOCK_MONOTONIC, &r->queued_at);
}

int pool_submit(struct pool *p, struct run *r)
{
	if (p->broken[r->profile]) {
		run_set_kill(r, 9, p->broken[r->profile]);
		return -2;
	}
	struct worker *w = take_idle(p, r);
	if (w) {
		assign(w, r);
		return 0;
	}
	if (!p->q_class[r->profile]) /* none waiting before it */
		for (w = p->all; w; w = w->next)
			if (can_prefetch(w, r)) {
				assign_ahead(w, r);
				return 0;
			}
	if (p->q_len >= sv->cfg->queue_max)
		return -1;
	enqueue(p, r, false);
	if (live(p) >= sv->cfg->max_workers && !p->n_starting[r->profile])
		retire_one_idle(p);
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
	p->q_class[r->profile]--;
	p->q_fresh[r->profile] -= r->fresh;
}

/* A prefetched run whose worker died before starting it: first in line. */
static void requeue_front(struct pool *p, struct run *r)
{
	struct worker *w = take_idle(p, r);
	if (w) {
		assign(w, r);
		return;
	}
	enqueue(p, r, true);
}

void pool_take_back_ahead(struct worker *w, const char *why)
{
	struct run *a = w->ahead;
	w->ahead = NULL;
	a->worker = NULL;
	if (a->cancelled || a->kill_code || w->pool->stopping)
		run_on_worker_lost(a, why);
	else
		requeue_front(w->pool, a);
}

void pool_on_hello(struct worker *w, const Gkipc__Hello *h)
{
	struct pool *p = w->pool;
	p->n_starting[w->profile]--;
	p->early_deaths = 0;
	w->said_hello = true;
	if (!w->pid)
		w->pid = h->pid;
	log_debug("worker %d ready (%s)", (int)w->pid, sandbox_names[w->profile]);
	w->state = W_IDLE; /* not STARTING any more, whatever happens next */
	if (!p->any_ready) {
		p->any_ready = true;
		log_info("%zu actions, %u worker(s), sandbox %s, %s mode",
			 catalog_count(sv->catalog), sv->cfg->workers,
			 sandbox_names[sv->cfg->sandbox],
			 sv->cfg->fresh ? "fresh" : "pooled");
		sv_on_ready();
	}
	worker_ready(w);
}

void pool_on_run_end(struct worker *w, int status)
{
	struct pool *p = w->pool;
	const struct config *c = sv->cfg;
	const char *why = NULL;
	if (status == 1 && w->ahead)
		/* After answering CANCELLED a worker exits without starting
		 * what was sent ahead (worker/run.c): it goes elsewhere. */
		pool_take_back_ahead(w, "dropped before it started");
	if (w->ahead) {
		/* The worker has started it already: it becomes current,
		 * also in a dying worker (forget() answers for it then). */
		struct run *r = w->ahead;
		w->ahead = NULL;
		begin_current(w, r);
		drop_request_text(r);
		if (w->state == W_DYING)
			return;
		if (r->cancelled) {
			pool_cancel(p, r);
			return;
		}
		if (r->kill_code) {
			pool_kill_run(p, r);
			return;
		}
	}
	if (w->state == W_DYING)
		return;
	if (w->single_use)
		why = "fresh mode";
	else if (status == 4 || status == 8)
		why = "it hit a limit";
	else if (status == 1)
		why = "it answered CANCELLED, after which workers exit";
	else if (c->max_runs_per_worker && w->runs >= c->max_runs_per_worker)
		why = "max-runs-per-worker reached";
	else if (c->max_worker_rss_mb && worker_rss_mb(w) > c->max_worker_rss_mb)
		why = "max-worker-rss-mb exceeded";
	if (w->run) { /* the prefetched run, now current */
		if (why)
			w->retire_why = why; /* once it is over */
		else
			prefetch_for(p, w);
		return;
	}
	if (!why)
		why = w->retire_why;
	if (why) {
		log_debug("retiring worker %d: %s", (int)w->pid, why);
		pool_doom(w, SIGKILL);
		spawn_more(p);
		return;
	}
	worker_ready(w);
}

/* ---- spawning --------------------------------------------------------- */

static unsigned clean_idle(const struct pool *p, int profile)
{
	unsigned n = 0;
	for (const struct worker *w = p->idle[profile]; w; w = w->idle_next)
		n += w->runs == 0;
	return n;
}

static struct worker *spawn(struct pool *p, int profile)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_err("socketpair: %s", strerror(errno));
		return NULL;
	}
	uint64_t id = zygote_spawn(p->zy, profile, sp[1]);
	if (!id) {
		close(sp[0]);
		return NULL;
	}
	struct worker *w = worker_new(p, sp[0], profile);
	w->spawn_id = id;
	if (!p->paused)
		worker_pause(w, false);
	w->next = p->all;
	if (p->all)
		p->all->prev = w;
	p->all = w;
	p->n_all++;
	p->n_starting[profile]++;
	return w;
}

/* Start workers for queued runs of each class, up to --max-workers, and
 * keep --workers warm in the default class. */
static void spawn_more(struct pool *p)
{
	const struct config *c = sv->cfg;
	if (p->stopping || !zygote_ready(p->zy) ||
	    evtimer_pending(p->respawn, NULL))
		return;
	for (int k = 0; k < SANDBOX_COUNT; k++) {
		int cls = (c->sandbox + k) % SANDBOX_COUNT; /* default first */
		if (p->broken[cls])
			continue;
		for (;;) {
			if (live(p) >= c->max_workers)
				return;
			bool want = p->n_starting[cls] < p->q_class[cls];
			if (want && !p->grow_ok && !p->q_fresh[cls] &&
			    live_in(p, cls)) {
				/* Busy workers of this class exist: grow only
				 * if runs keep waiting (on_grow). */
				want = false;
				if (!evtimer_pending(p->grow, NULL)) {
					struct timeval tv = { 0, GROW_AFTER_MS * 1000 };
					evtimer_add(p->grow, &tv);
				}
			}
			if (cls == c->sandbox) {
				unsigned warm = c->fresh ? clean_idle(p, cls) +
								   p->n_starting[cls]
							 : live(p);
				want = want || warm < c->workers;
			}
			if (!want || !spawn(p, cls))
				break;
		}
	}
}

static unsigned live_in(const struct pool *p, int cls)
{
	unsigned n = 0;
	for (const struct worker *w = p->all; w; w = w->next)
		n += w->profile == cls && w->state != W_DYING;
	return n;
}

/* A worker of this class is held by its current run (see GROW_AFTER_MS). */
static bool has_slow_run(const struct pool *p, int cls)
{
	for (const struct worker *w = p->all; w; w = w->next) {
		if (w->profile != cls || !w->run)
			continue;
		const struct action *a = w->run->action;
		bool short_action = a && a->avg_us &&
				    a->avg_us < GROW_AFTER_MS * 100;
		if (ms_since(&w->run->started_at) <
		    (short_action ? GROW_AFTER_SHORT_MS : GROW_AFTER_MS))
			continue;
		/* Something waits in its socket (a result, a chunk): it is
		 * our own backlog that makes the run look old, not the
		 * worker. A poll(2) only here, every GROW_AFTER_MS at most. */
		struct pollfd pf = { .fd = w->fd, .events = POLLIN };
		if (w->fd >= 0 && poll(&pf, 1, 0) == 0)
			return true;
	}
	return false;
}

static void on_grow(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	if (!p->q_head)
		return;
	long waited = ms_since(&p->q_head->queued_at);
	if (waited >= GROW_AFTER_MS) {
		if (has_slow_run(p, p->q_head->profile)) {
			p->grow_ok = true;
			spawn_more(p);
			p->grow_ok = false;
		}
		waited = 0; /* look again in GROW_AFTER_MS */
	}
	if (p->q_head && !evtimer_pending(p->grow, NULL)) {
		struct timeval tv = { 0, (GROW_AFTER_MS - waited) * 1000 };
		evtimer_add(p->grow, &tv);
	}
}

static void on_zygote_hello(const Gkipc__Hello *h)
{
	if (!sv->catalog)
		sv->catalog = catalog_new(h);
	spawn_more(the_pool);
}

static struct worker *by_spawn(struct pool *p, uint64_t id)
{
	for (struct worker *w = p->all; w; w = w->next)
		if (w->spawn_id == id)
			return w;
	return NULL;
}

static void on_spawned(uint64_t id, pid_t pid, const char *error)
{
	struct pool *p = the_pool;
	struct worker *w = by_spawn(p, id);
	if (!w) {
		if (pid > 0)
			kill(pid, SIGKILL);
		return;
	}
	if (pid <= 0) {
		log_err("the zygote could not start a worker: %s",
			error && *error ? error : "unknown error");
		pool_drop(w, 0); /* no pid, no channel: forgotten */
		return;
	}
	if (!w->pid)
		w->pid = pid;
	for (unsigned i = 0; i < STASH; i++) {
		if (p->stash[i].pid == pid) {
			p->stash[i].pid = 0;
			forget(p, w, p->stash[i].status, true);
			return;
		}
	}
	if (w->state == W_DYING)
		worker_signal(w, SIGKILL);
}

static void on_zygote_lost(void)
{
	struct pool *p = the_pool;
	/* Spawns it had not answered: their channel will close; workers that
	 * did start are still ours (their Hello carries their pid). */
	for (struct worker *w = p->all, *next; w; w = next) {
		next = w->next;
		if (!w->pid && w->state == W_STARTING && w->fd < 0)
			pool_drop(w, 0);
	}
}

/* ---- reaping ---------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_scratch(pid_t pid)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/worker-%d", sv->cfg->scratch_dir,
		 (int)pid);
	if (access(path, F_OK) == 0)
		nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The reply for a run whose worker died, when a limit explains it. */
static void explain_death(struct run *r, int st)
{
	int sig = worker_exit_signal(st);
	if (r->kill_code || r->cancelled || !sig)
		return;
	if (r->worker && r->worker->hung_up && sig == SIGKILL) {
		/* The SIGKILL was ours, sent because the channel closed. */
		run_set_kill(r, 13, "worker closed its IPC channel during the run");
		return;
	}
	char buf[200];
	if (sig == SIGXCPU && r->limits.cpu_seconds) {
		snprintf(buf, sizeof(buf),
			 "Action exceeded its CPU time limit of %llu s (cpu-seconds)",
			 (unsigned long long)r->limits.cpu_seconds);
		run_set_kill(r, 8, buf);
	} else if (r->limits.memory_mb &&
		   (sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT)) {
		snprintf(buf, sizeof(buf),
			 "worker crashed: SIG%s (%s) with a memory limit of %llu MB (memory-mb) in force",
			 sigabbrev_np(sig), strsignal(sig),
			 (unsigned long long)r->limits.memory_mb);
		run_set_kill(r, 13, buf);
	}
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

/* The worker is gone for good: answer its run, drop it, refill. */
static void forget(struct pool *p, struct worker *w, int st, bool have_st)
{
	char why[200];
	if (have_st)
		worker_describe_exit(st, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "worker lost before it started");
	bool early = !w->said_hello;
	pool_doom(w, 0);
	/* Anything it wrote before dying is still in the socket: a result
	 * sent just before a crash still counts. */
	if (have_st)
		worker_drain(w);
	worker_close_link(w);
	struct run *r = w->run;
	if (r) {
		if (r->cancelled)
			log_info("worker %d ran %s until cancelled (%s)",
				 (int)w->pid, r->key, why);
		else if (r->kill_code)
			log_info("worker %d running %s was stopped: %s",
				 (int)w->pid, r->key, r->kill_message);
		else
			log_warn("worker %d running %s: %s", (int)w->pid,
				 r->key, why);
		explain_death(r, st);
		w->run = NULL;
		r->worker = NULL;
		run_on_worker_lost(r, why);
	} else if (early && !p->stopping) {
		log_warn("worker %d died before it was ready: %s", (int)w->pid, why);
	} else {
		log_debug("worker %d: %s", (int)w->pid, why);
	}
	struct run *a = w->ahead;
	/* Started only if the worker got past the run before it. */
	if (a && (!r || w->past_run)) {
		w->ahead = NULL;
		a->worker = NULL;
		if (!a->cancelled && !a->kill_code)
			run_set_kill(a, 14, "the worker was stopped, for the run before this one, just as this run started");
		run_on_worker_lost(a, why);
	} else if (a) {
		pool_take_back_ahead(w, why);
	}
	if (w->pid > 0 && w->profile != SANDBOX_NONE)
		remove_scratch(w->pid);
	int profile = w->profile;
	p->n_dying--;
	unlink_worker(p, w);
	worker_free(w);
	if (p->stopping)
		return;
	if (early) {
		if (have_st && WIFEXITED(st) && WEXITSTATUS(st) == 4 &&
		    !p->broken[profile]) {
			char buf[200];
			snprintf(buf, sizeof(buf),
				 "sandbox %s is unavailable on this machine (the worker refused to start; see its log)",
				 sandbox_names[profile]);
			log_err("%s", buf);
			p->broken[profile] = strdup(buf);
			for (struct run *q = p->q_head, *next; q; q = next) {
				next = q->qnext;
				if (q->profile == profile) {
					pool_dequeue(p, q);
					run_set_kill(q, 9, buf);
					run_on_worker_lost(q, buf);
				}
			}
			if (!p->any_ready && profile == sv->cfg->sandbox) {
				sv->exit_code = 1;
				sv_finish_now();
				return;
			}
		}
		if (!p->any_ready && p->early_deaths + 1 >= EARLY_DEATHS_FATAL) {
			log_err("workers keep dying before they are ready; giving up");
			sv->exit_code = 1;
			sv_finish_now();
			return;
		}
		/* Do not fork in a tight loop while workers cannot start. */
		unsigned shift = p->early_deaths < 6 ? p->early_deaths : 6;
		unsigned ms = RESPAWN_MIN_MS << shift;
		if (ms > RESPAWN_MAX_MS)
			ms = RESPAWN_MAX_MS;
		p->early_deaths++;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		evtimer_add(p->respawn, &tv);
		return;
	}
	spawn_more(p);
}

static void on_respawn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	spawn_more(arg);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (zygote_reaped(p->zy, pid, st))
			continue;
		struct worker *w = p->all;
		while (w && w->pid != pid)
			w = w->next;
		if (w) {
			w->reaped = true;
			forget(p, w, st, true);
			continue;
		}
		/* Reaped before the zygote told us its pid. */
		p->stash[p->stash_next].pid = pid;
		p->stash[p->stash_next].status = st;
		p->stash_next = (p->stash_next + 1) % STASH;
	}
}

/* ---- cancel, limits, input -------------------------------------------- */

static void on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	log_info("worker %d still alive after the grace period: SIGKILL",
		 (int)w->pid);
	worker_signal(w, SIGKILL);
}

void pool_cancel(struct pool *p, struct run *r)
{
	(void)p;
	struct worker *w = r->worker;
	if (!w)
		return;
	send_cancel(w, r);
	if (w->ahead == r)
		return; /* the worker drops it, or it becomes current first */
	unsigned grace = sv->cfg->cancel_grace_ms;
	pool_doom(w, grace ? SIGTERM : SIGKILL);
	if (grace && !w->kill_timer) {
		w->kill_timer = evtimer_new(sv->base, on_kill_timer, w);
		struct timeval tv = { grace / 1000, (grace % 1000) * 1000 };
		evtimer_add(w->kill_timer, &tv);
	}
}

void pool_kill_run(struct pool *p, struct run *r)
{
	(void)p;
	if (r->worker && r->worker->ahead == r)
		send_cancel(r->worker, r);
	else if (r->worker)
		pool_doom(r->worker, SIGKILL);
}

/* CPU and RSS limits, checked from outside so an action cannot lift them. */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	long hz = sysconf(_SC_CLK_TCK);
	bool again = false;
	for (struct worker *w = p->all, *next; w; w = next) {
		next = w->next;
		struct run *r = w->run;
		if (w->state != W_BUSY || !r ||
		    !(r->limits.cpu_seconds || r->limits.memory_mb))
			continue;
		again = true;
		char buf[200];
		if (r->limits.cpu_seconds &&
		    worker_cpu_ticks(w) - w->cpu_at_start >
			    r->limits.cpu_seconds * (uint64_t)hz) {
			snprintf(buf, sizeof(buf),
				 "Action exceeded its CPU time limit of %llu s (cpu-seconds)",
				 (unsigned long long)r->limits.cpu_seconds);
			run_set_kill(r, 8, buf);
			pool_doom(w, SIGKILL);
			continue;
		}
		uint64_t rss;
		if (r->limits.memory_mb &&
		    (rss = worker_rss_mb(w)) > r->limits.memory_mb) {
			snprintf(buf, sizeof(buf),
				 "Action exceeded its memory limit of %llu MB (memory-mb; resident %llu MB)",
				 (unsigned long long)r->limits.memory_mb,
				 (unsigned long long)rss);
			run_set_kill(r, 8, buf);
			pool_doom(w, SIGKILL);
		}
	}
	if (again) {
		struct timeval tv = { 0, WATCH_MS * 1000 };
		evtimer_add(p->watch, &tv);
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
		run_set_kill(r, 8, "Action input stream backlog too large: the action does not read its input");
		pool_doom(w, SIGKILL);
		return;
	}
	worker_flush(w);
}

void pool_pause(struct pool *p, bool paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	log_debug("%s reading from workers (%zu bytes queued for the manager)",
		  paused ? "pausing" : "resuming", ws_pending(sv->ws));
	for (struct worker *w = p->all; w; w = w->next)
		worker_pause(w, paused);
}

void pool_check_backpressure(struct pool *p)
{
	if (!p->paused && sv->ws && ws_over_high_water(sv->ws))
		pool_pause(p, true);
}

/* Workers beyond --workers that idled too long exit. */
static void on_idle_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pool *p = arg;
	for (int c = 0; c < SANDBOX_COUNT; c++) {
		for (struct worker *w = p->idle[c], *next; w && live(p) > sv->cfg->workers; w = next) {
			next = w->idle_next;
			if (ms_since(&w->idle_since) < (long)sv->cfg->idle_timeout_ms)
				continue;
			log_debug("worker %d idle for %u ms: retiring it",
				  (int)w->pid, sv->cfg->idle_timeout_ms);
			pool_doom(w, SIGKILL);
		}
	}
}

/* ---- life cycle ------------------------------------------------------- */

struct pool *pool_new(void)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	the_pool = p;
	/* Workers are forked by the zygote (via an intermediate that exits):
	 * as a subreaper we inherit them, reap them, and see how they died. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("cannot become a child subreaper: %s", strerror(errno));
	p->sigchld = evsignal_new(sv->base, SIGCHLD, on_sigchld, p);
	p->watch = evtimer_new(sv->base, on_watch, p);
	p->sweep = event_new(sv->base, -1, 0, on_sweep, p);
	p->grow = evtimer_new(sv->base, on_grow, p);
	p->respawn = evtimer_new(sv->base, on_respawn, p);
	p->idle_tick = event_new(sv->base, -1, EV_PERSIST, on_idle_tick, p);
	event_add(p->sigchld, NULL);
	struct timeval sec = { 1, 0 };
	event_add(p->idle_tick, &sec);
	return p;
}

int pool_start(struct pool *p)
{
	/* Sandboxed workers make their scratch directories under it. */
	if (mkdir(sv->cfg->scratch_dir, 0711) < 0 && errno != EEXIST)
		log_warn("cannot create the scratch directory %s: %s",
			 sv->cfg->scratch_dir, strerror(errno));
	static const struct zygote_ops ops = {
		.on_hello = on_zygote_hello,
		.on_spawned = on_spawned,
		.on_lost = on_zygote_lost,
	};
	p->zy = zygote_start(&ops);
	return p->zy ? 0 : -1;
}

void pool_stop(struct pool *p)
{
	p->stopping = true;
	zygote_stop(p->zy);
	p->zy = NULL;
	for (struct worker *w = p->all; w; w = w->next)
		worker_signal(w, SIGKILL);
	while (p->all) {
		struct worker *w = p->all;
		int st = 0;
		bool have = false;
		if (w->pid > 0 && !w->reaped) {
			pid_t r;
			do
				r = waitpid(w->pid, &st, 0);
			while (r < 0 && errno == EINTR);
			have = r > 0;
		}
		forget(p, w, st, have);
	}
	/* Anything else re-parented to us (a worker whose Spawned never came). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (int c = 0; c < SANDBOX_COUNT; c++)
		free(p->broken[c]);
	event_free(p->sigchld);
	event_free(p->watch);
	event_free(p->sweep);
	event_free(p->grow);
	event_free(p->respawn);
	event_free(p->idle_tick);
	free(p);
	the_pool = NULL;
}
