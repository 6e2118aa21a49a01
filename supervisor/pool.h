/*
 * pool.h - the worker processes: prefork, grow on demand up to a bound,
 * one run per worker at a time, a bounded wait queue beyond that; dead
 * workers are reaped, their run answered, and replaced.
 */
#ifndef GK_POOL_H
#define GK_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "jspan.h"

struct pool;
struct run;

struct pool *pool_new(void);
/* Spawn the initial workers. -1 if not even one could be started. */
int pool_start(struct pool *p);
/* Hand r to an idle worker or queue it. -1 when the queue is full. */
int pool_submit(struct pool *p, struct run *r);
/* Remove a queued run from the wait queue. */
void pool_dequeue(struct pool *p, struct run *r);
/* Cancel a running run: Cancel frame, SIGTERM, SIGKILL after the grace
 * period. The run ends when its worker has been reaped. */
void pool_cancel(struct pool *p, struct run *r);
/* Relay an input chunk (chunk.n > 0) or the end of input to r's worker. */
void pool_input(struct pool *p, struct run *r, struct jspan chunk);
/* Stop/resume reading from workers (WebSocket backpressure). */
void pool_pause(struct pool *p, bool paused);
/* Kill and reap every worker; blocks until they are gone. */
void pool_stop(struct pool *p);
void pool_free(struct pool *p);

#endif
