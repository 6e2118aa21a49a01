/*
 * run.h - one runAction, from the request to its single reply.
 *
 * A run is registered under its request id and its trace id, announced with
 * runActionState at once, then queued or handed to a worker (pool.c). It
 * ends exactly once: with the worker's result or error, with CANCELLED, or
 * with the error that describes how its worker died.
 */
#ifndef GK_RUN_H
#define GK_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "jspan.h"
#include "sv.h"

/* Register, announce and submit a run built by methods.c. On failure the
 * error reply has been sent and the run freed. */
void run_begin(struct run *r);

/* From the worker that runs r. */
void run_on_chunk(struct run *r, const uint8_t *json, size_t n);
void run_on_result(struct run *r, const uint8_t *json, size_t n);
void run_on_error(struct run *r, int status, const char *message,
		  const char *stack);
/* The worker is gone (reaped); why describes how ("worker crashed: ..."). */
void run_on_worker_lost(struct run *r, const char *why);

/* cancelAction: queued runs end now, running ones once their worker is
 * dead. */
void run_cancel(struct run *r);
/* Input chunk (chunk.n > 0) or end of input (chunk.n == 0) for a bidi run;
 * takes ownership of msg. */
void run_input(struct run *r, struct ws_event *msg, struct jspan chunk);
/* The manager link dropped: cancel everything, reply to nothing. */
void run_cancel_all(int silent);
void run_free_pending_input(struct run *r);
/* Remember why the run's worker is being killed: the status and message
 * to answer with once it is reaped (the first reason wins). */
void run_set_kill(struct run *r, int status, const char *message);

#endif
