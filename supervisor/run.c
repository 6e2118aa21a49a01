/* run.c - lifecycle of a runAction and the messages it produces. */
#include "run.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "log.h"
#include "out.h"
#include "pool.h"
#include "rpc.h"
#include "ws.h"

static void notify_state(struct run *r)
{
	struct out *o = rpc_notify_begin("runActionState", r->req_id, 64);
	out_puts(o, ",\"state\":{\"traceId\":\"");
	out_put(o, r->trace_id, 32);
	out_puts(o, "\"}}}");
	ws_send(sv->ws, o);
}

void run_free_pending_input(struct run *r)
{
	struct pending_input *p = r->in_head;
	while (p) {
		struct pending_input *next = p->next;
		free(p->msg);
		free(p);
		p = next;
	}
	r->in_head = r->in_tail = NULL;
	r->queued_bytes = 0;
}

/* The run has answered (or must stay silent): forget it. */
static void run_done(struct run *r)
{
	r->state = RUN_DONE;
	strmap_del(&sv->by_request, r->req_id.p, r->req_id.n);
	strmap_del(&sv->by_trace, r->trace_id, 32);
	run_free_pending_input(r);
	if (r->timeout_ev)
		event_free(r->timeout_ev);
	free(r->kill_message);
	free((char *)r->req_id.p);
	free(r->key);
	free(r->msg);
	free(r);
	sv->n_runs--;
	sv_maybe_finish();
}

static void finish_error(struct run *r, int status, const char *message,
			 const char *stack)
{
	if (!r->silent)
		rpc_send_error(r->req_id, RPC_ACTION_ERROR, status, message,
			       r->trace_id, stack);
	run_done(r);
}

static void arm_timeout(struct run *r, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(r->timeout_ev, &tv);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct run *r = arg;
	/* libevent's clock is the coarse one (4 ms steps here): never
	 * answer before the limit, look again for what is left. */
	int64_t left_us = (int64_t)r->limits.timeout_ms * 1000 -
			  sv_us_since(&r->begun_at);
	if (left_us > 0) {
		arm_timeout(r, (uint64_t)(left_us + 999) / 1000);
		return;
	}
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "Action exceeded its time limit of %llu ms (timeout-ms)",
		 (unsigned long long)r->limits.timeout_ms);
	if (r->cancelled)
		return;
	if (r->state == RUN_QUEUED) {
		pool_dequeue(sv->pool, r);
		finish_error(r, 4, msg, NULL);
		return;
	}
	log_info("%s (trace %s) timed out after %llu ms: killing its worker",
		 r->key, r->trace_id, (unsigned long long)r->limits.timeout_ms);
	run_set_kill(r, 4, msg);
	pool_kill_run(sv->pool, r);
}

void run_begin(struct run *r)
{
	/* The request text is freed once the input is on its way to a
	 * worker; the id must outlive it. */
	char *id = malloc(r->req_id.n);
	if (!id)
		abort();
	memcpy(id, r->req_id.p, r->req_id.n);
	r->req_id.p = id;
	if (strmap_put(&sv->by_request, r->req_id.p, r->req_id.n, r) < 0) {
		rpc_send_error(r->req_id, RPC_INVALID_REQUEST, 3,
			       "Invalid Request: a runAction with this id is still running",
			       NULL, NULL);
		free((char *)r->req_id.p);
		free(r->key);
		free(r->msg);
		free(r);
		return;
	}
	strmap_put(&sv->by_trace, r->trace_id, 32, r);
	sv->n_runs++;
	notify_state(r);
	if (r->limits.timeout_ms) {
		clock_gettime(CLOCK_MONOTONIC, &r->begun_at);
		r->timeout_ev = evtimer_new(sv->base, on_timeout, r);
		arm_timeout(r, r->limits.timeout_ms);
	}
	int rc = pool_submit(sv->pool, r);
	if (rc == -1)
		finish_error(r, 8,
			     "Too many actions waiting for a worker (--queue-max reached)",
			     NULL);
	else if (rc < 0)
		finish_error(r, r->kill_code, r->kill_message, NULL);
}

void run_set_kill(struct run *r, int status, const char *message)
{
	if (r->kill_code)
		return;
	r->kill_code = status;
	r->kill_message = strdup(message);
	if (!r->kill_message)
		abort();
}

void run_on_chunk(struct run *r, const uint8_t *json, size_t n)
{
	if (!r->stream || r->silent)
		return;
	struct out *o = rpc_notify_begin("streamChunk", r->req_id, 16 + n);
	out_puts(o, ",\"chunk\":");
	out_put(o, json, n);
	out_puts(o, "}}");
	ws_send(sv->ws, o);
}

void run_on_result(struct run *r, const uint8_t *json, size_t n)
{
	if (!r->silent) {
		struct out *o = rpc_reply_begin(r->req_id, 80 + n);
		out_puts(o, ",\"result\":{\"result\":");
		if (n)
			out_put(o, json, n);
		else
			out_puts(o, "null");
		out_puts(o, ",\"telemetry\":{\"traceId\":\"");
		out_put(o, r->trace_id, 32);
		out_puts(o, "\"}}}");
		ws_send(sv->ws, o);
	}
	run_done(r);
}

void run_on_error(struct run *r, int status, const char *message,
		  const char *stack)
{
	if (status <= 0 || status > 16) {
		log_warn("run %s: worker reported status %d; answering INTERNAL",
			 r->trace_id, status);
		status = 13;
	}
	finish_error(r, status, message && *message ? message : "action failed",
		     stack && *stack ? stack : NULL);
}

void run_on_worker_lost(struct run *r, const char *why)
{
	if (r->cancelled)
		finish_error(r, 1, "Action was cancelled", NULL);
	else if (r->kill_code)
		finish_error(r, r->kill_code, r->kill_message, NULL);
	else
		finish_error(r, 13, why, NULL);
}

void run_cancel(struct run *r)
{
	if (r->cancelled || r->state == RUN_DONE)
		return;
	r->cancelled = true;
	log_info("cancelling %s (trace %s)", r->key, r->trace_id);
	if (r->state == RUN_QUEUED) {
		pool_dequeue(sv->pool, r);
		finish_error(r, 1, "Action was cancelled", NULL);
		return;
	}
	pool_cancel(sv->pool, r);
}

void run_input(struct run *r, struct ws_event *msg, struct jspan chunk)
{
	if (r->state == RUN_RUNNING && !r->in_head) {
		pool_input(sv->pool, r, chunk);
		free(msg);
		return;
	}
	if (r->state != RUN_QUEUED) {
		free(msg);
		return;
	}
	struct pending_input *p = malloc(sizeof(*p));
	if (!p)
		abort();
	p->next = NULL;
	p->msg = msg;
	p->chunk = chunk;
	if (r->in_tail)
		r->in_tail->next = p;
	else
		r->in_head = p;
	r->in_tail = p;
	r->queued_bytes += chunk.n;
	if (r->queued_bytes > sv->cfg->max_message_bytes) {
		run_free_pending_input(r);
		pool_dequeue(sv->pool, r);
		finish_error(r, 8,
			     "Input stream backlog exceeded --max-message-bytes while waiting for a worker",
			     NULL);
	}
}

void run_cancel_all(int silent)
{
	size_t n;
	void **all = strmap_values(&sv->by_request, &n);
	for (size_t i = 0; i < n; i++) {
		struct run *r = all[i];
		if (silent)
			r->silent = true;
		run_cancel(r);
	}
	free(all);
}
