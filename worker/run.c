/* run.c - one run: set up the context, call the handler, send one reply. */
#include "worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NUL-terminated copy of b, or of dflt when b is empty. */
static char *copy_json(const ProtobufCBinaryData *b, const char *dflt,
		       size_t *len)
{
	const void *src = b->len ? (const void *)b->data : dflt;
	size_t n = b->len ? b->len : strlen(dflt);
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, src, n);
		s[n] = '\0';
		*len = n;
	}
	return s;
}

/* Per-run limits win; an action's own value fills in for 0. */
static uint64_t max_output(const Gkipc__RunRequest *req,
			   const struct action *a)
{
	if (req->limits && req->limits->max_output_bytes)
		return req->limits->max_output_bytes;
	return a->def->limits.max_output_bytes;
}

static int ctx_init(gk_ctx *ctx, struct worker *w, const struct action *a,
		    const Gkipc__RunRequest *req)
{
	memset(ctx, 0, sizeof(*ctx));
	clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
	ctx->w = w;
	ctx->act = a;
	ctx->req = req;
	ctx->run_id = req->run_id;
	ctx->stream = req->stream;
	ctx->stream_input = req->stream_input;
	limits_effective(&ctx->limits, req, a->def);
	ctx->max_output = max_output(req, a);
	ctx->input = copy_json(&req->input, "null", &ctx->input_len);
	ctx->context = copy_json(&req->context, "{}", &ctx->context_len);
	return ctx->input && ctx->context ? 0 : -1;
}

static void ctx_free(gk_ctx *ctx)
{
	struct msg *m;

	while ((m = msgq_pop(&ctx->inq)))
		msg_free(&ctx->w->conn, m);
	free(ctx->input);
	free(ctx->context);
	free(ctx->chunk);
}

void run_send_error(struct worker *w, uint64_t run_id, int status,
		    const char *msg, uint32_t run_us)
{
	if (ipc_send_error_us(&w->conn.wb, run_id, status, msg, NULL,
			      run_us) < 0)
		wdie(WORKER_EXIT_FAILURE, "cannot queue error reply");
	conn_flush(&w->conn);
}

int run_cancelled(const gk_ctx *ctx)
{
	return ctx->cancel_frame || cancel_signalled();
}

uint32_t run_elapsed_us(const gk_ctx *ctx)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t us = (int64_t)(now.tv_sec - ctx->t0.tv_sec) * 1000000 +
		     (now.tv_nsec - ctx->t0.tv_nsec) / 1000;
	return us < 1 ? 1 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

int run_fail(gk_ctx *ctx, int status, const char *msg)
{
	if (ctx->replied) {
		wdebug("run %" PRIu64 ": second reply ignored (%s: %s)",
		       ctx->run_id, gk_status_name(status), msg);
		return -1;
	}
	ctx->replied = 1;
	ctx->answered_cancelled = status == GK_CANCELLED;
	run_send_error(ctx->w, ctx->run_id, status, msg, run_elapsed_us(ctx));
	return -1;
}

int run_charge_output(gk_ctx *ctx, size_t n)
{
	char msg[160];

	ctx->output += n;
	if (!ctx->max_output || ctx->output <= ctx->max_output)
		return 0;
	snprintf(msg, sizeof(msg),
		 "Action output exceeded its limit of %" PRIu64
		 " bytes (max-output-bytes)",
		 ctx->max_output);
	return run_fail(ctx, GK_RESOURCE_EXHAUSTED, msg);
}

/*
 * Called right before the handler, in the worker process: the run's soft
 * rlimits (limits.c). The sandbox itself was applied once, before the
 * Hello (sandbox.c). Non-zero: the run fails with that status and the
 * handler is not called.
 */
static int run_prepare(gk_ctx *ctx, const char **why)
{
	return limits_apply(ctx, why);
}

/* After the reply: end what the action left behind (as the init of a PID
 * namespace: every other process), give the worker its own limits back
 * and empty the scratch directory for the next run. */
static void run_cleanup(struct worker *w)
{
	ns_kill_others();
	if (limits_restore() < 0) {
		wlog("cannot restore the worker's limits: exiting after "
		     "this run");
		w->shutdown = 1;
	}
	sandbox_scratch_empty();
}

static void call_handler(gk_ctx *ctx)
{
	enum gk_cancel_mode mode = ctx->act->def->cancel_mode;

	cancel_begin(mode);
	worker_pump(ctx->w); /* a Cancel may sit right behind the request */
	ctx->act->def->handler(ctx);
	cancel_end(mode, run_cancelled(ctx));
	if (ctx->replied)
		return;
	if (run_cancelled(ctx))
		run_fail(ctx, GK_CANCELLED, "Action was cancelled");
	else
		run_fail(ctx, GK_INTERNAL, "action returned no result");
}

int run_execute(struct worker *w, const Gkipc__RunRequest *req)
{
	const struct action *a = registry_find(&w->reg, req->key);
	char msg[256];
	gk_ctx ctx;

	wdebug("run %" PRIu64 " (request %s): %s", req->run_id,
	       req->request_id ? req->request_id : "-", req->key);
	if (!a) {
		snprintf(msg, sizeof(msg), "Action not found: %s", req->key);
		text_sanitize(msg);
		run_send_error(w, req->run_id, GK_NOT_FOUND, msg, 0);
		return 0;
	}
	if (ctx_init(&ctx, w, a, req) < 0) {
		ctx_free(&ctx);
		run_send_error(w, req->run_id, GK_RESOURCE_EXHAUSTED,
			       "out of memory copying the input", 0);
		return 0;
	}
	w->cur = &ctx;
	const char *why = "";
	int status = run_prepare(&ctx, &why);
	if (status)
		run_fail(&ctx, status, why);
	else
		call_handler(&ctx);
	/* After answering CANCELLED, whoever asked for it, the worker exits
	 * without starting a run queued behind: the supervisor counts on
	 * that to give such a run to another worker (pool.c, prefetch). */
	int cancelled = run_cancelled(&ctx) || ctx.answered_cancelled;
	w->cur = NULL;
	ctx_free(&ctx);
	run_cleanup(w);
	return cancelled;
}
