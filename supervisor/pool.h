/*
 * pool.h - which worker runs what: prefork, grow on demand up to a bound,
 * one run per worker at a time, a bounded wait queue beyond that. Workers
 * are forked by the zygote into a sandbox profile (their "class"); fresh
 * runs get a worker that never ran anything and retire it afterwards.
 * Dead workers are reaped, their run answered, and replaced.
 */
#ifndef GK_POOL_H
#define GK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>

#include "ipc.pb-c.h"
#include "jspan.h"

struct pool;
struct run;
struct worker;

struct pool *pool_new(void);
/* Start the zygote; workers follow once it is ready. */
int pool_start(struct pool *p);
/* Hand r to a suitable idle worker or queue it. -1 when the queue is full. */
int pool_submit(struct pool *p, struct run *r);
/* Remove a queued run from the wait queue (no-op if not queued). */
void pool_dequeue(struct pool *p, struct run *r);
/* Cancel a running run: Cancel frame, SIGTERM, SIGKILL after the grace
 * period. The run ends when its worker has been reaped. */
void pool_cancel(struct pool *p, struct run *r);
/* A limit was hit: kill the run's worker now (the run's kill code says
 * what to answer). */
void pool_kill_run(struct pool *p, struct run *r);
/* Relay an input chunk (chunk.n > 0) or the end of input to r's worker. */
void pool_input(struct pool *p, struct run *r, struct jspan chunk);
/* Stop/resume reading from workers (WebSocket backpressure). */
void pool_pause(struct pool *p, bool paused);
void pool_check_backpressure(struct pool *p);
/* Kill and reap every worker and the zygote; blocks until they are gone. */
void pool_stop(struct pool *p);
void pool_free(struct pool *p);

/* From worker.c. */
void pool_on_hello(struct worker *w, const Gkipc__Hello *h);
/* w's run has been answered; status is 0 or the Genkit status it failed
 * with. Decides whether w runs again. */
void pool_on_run_end(struct worker *w, int status);
/* w's prefetched run never started: answer it if it was being stopped
 * (why), else it is first in line for another worker. */
void pool_take_back_ahead(struct worker *w, const char *why);
/* No more runs for w; send sig (0: none) to its process tree. */
void pool_doom(struct worker *w, int sig);
/* pool_doom() and close its channel (a broken or finished link). */
void pool_drop(struct worker *w, int sig);

#endif
