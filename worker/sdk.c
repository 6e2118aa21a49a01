/* sdk.c - the gk_* functions a handler calls (see genkit_action.h). */
#include "worker.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_check.h"

#define FAIL_MSG_MAX 4096

const char *gk_input(gk_ctx *ctx, size_t *len)
{
	if (len)
		*len = ctx->input_len;
	return ctx->input;
}

const char *gk_context(gk_ctx *ctx, size_t *len)
{
	if (len)
		*len = ctx->context_len;
	return ctx->context;
}

const char *gk_key(gk_ctx *ctx)
{
	return ctx->act->key;
}

const char *gk_trace_id(gk_ctx *ctx)
{
	return ctx->req->trace_id ? ctx->req->trace_id : "";
}

const char *gk_span_id(gk_ctx *ctx)
{
	return ctx->req->span_id ? ctx->req->span_id : "";
}

const char *gk_scratch_dir(gk_ctx *ctx)
{
	/* The worker's own (zygote-spawned workers); else what the request
	 * names, for workers started directly. */
	const char *d = sandbox_scratch();

	if (!d)
		d = ctx->req->scratch_dir;
	return d && *d ? d : NULL;
}

const gk_limits *gk_run_limits(gk_ctx *ctx)
{
	return &ctx->limits;
}

int gk_streaming(gk_ctx *ctx)
{
	return ctx->stream;
}

int gk_streaming_input(gk_ctx *ctx)
{
	return ctx->stream_input;
}

int gk_cancelled(gk_ctx *ctx)
{
	return run_cancelled(ctx);
}

/* Checks shared by gk_emit() and gk_return(). 0 or -1 (the run failed). */
static int check_output(gk_ctx *ctx, const char *json, size_t len,
			const char *invalid, const char *what)
{
	char msg[200];

	if (!json || !json_check(json, len))
		return run_fail(ctx, GK_INTERNAL, invalid);
	if (run_charge_output(ctx, len) < 0)
		return -1;
	if (!conn_fits(&ctx->w->conn, len)) {
		snprintf(msg, sizeof(msg),
			 "%s of %zu bytes exceeds the IPC frame limit (%zu bytes)",
			 what, len, ctx->w->conn.max_frame);
		return run_fail(ctx, GK_RESOURCE_EXHAUSTED, msg);
	}
	return 0;
}

int gk_emit(gk_ctx *ctx, const char *json, size_t len)
{
	if (ctx->replied || run_cancelled(ctx))
		return -1;
	if (!ctx->stream)
		return 0;
	if (check_output(ctx, json, len, "invalid JSON in stream chunk",
			 "stream chunk") < 0)
		return -1;
	if (ipc_send_chunk(&ctx->w->conn.wb, ctx->run_id, json, len) < 0)
		return run_fail(ctx, GK_RESOURCE_EXHAUSTED,
				"cannot queue stream chunk");
	conn_flush(&ctx->w->conn);
	worker_pump(ctx->w);
	return run_cancelled(ctx) ? -1 : 0;
}

int gk_return(gk_ctx *ctx, const char *json, size_t len)
{
	if (ctx->replied) {
		wdebug("run %" PRIu64 ": gk_return after the reply: ignored",
		       ctx->run_id);
		return -1;
	}
	if (check_output(ctx, json, len, "action returned invalid JSON",
			 "result") < 0)
		return -1;
	if (ipc_send_result_us(&ctx->w->conn.wb, ctx->run_id, json, len,
			       run_elapsed_us(ctx)) < 0)
		return run_fail(ctx, GK_RESOURCE_EXHAUSTED,
				"cannot queue result");
	ctx->replied = 1;
	conn_flush(&ctx->w->conn);
	return 0;
}

int gk_fail(gk_ctx *ctx, int status, const char *fmt, ...)
{
	char msg[FAIL_MSG_MAX];
	char full[FAIL_MSG_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	if (!fmt || vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	text_sanitize(msg);
	if (status > GK_OK && status <= GK_UNAUTHENTICATED)
		return run_fail(ctx, status, msg);
	snprintf(full, sizeof(full), "action failed with invalid status %d: %s",
		 status, msg);
	text_sanitize(full);
	return run_fail(ctx, GK_INTERNAL, full);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int gk_sleep_ms(gk_ctx *ctx, uint64_t ms)
{
	uint64_t start = now_ms();

	for (;;) {
		worker_pump(ctx->w);
		if (run_cancelled(ctx))
			return -1;
		uint64_t done = now_ms() - start;
		if (done >= ms)
			return 0;
		uint64_t left = ms - done;
		conn_wait(&ctx->w->conn, left > INT_MAX ? INT_MAX : (int)left,
			  ctx->w->wake_fd);
	}
}

/* Hand out a NUL-terminated copy of the chunk, reusing one buffer. */
static int take_chunk(gk_ctx *ctx, struct msg *m, const char **json,
		      size_t *len)
{
	const ProtobufCBinaryData *b = &m->m->input_chunk->chunk;

	if (b->len + 1 > ctx->chunk_cap) {
		char *p = realloc(ctx->chunk, b->len + 1);
		if (!p) {
			msg_free(&ctx->w->conn, m);
			run_fail(ctx, GK_RESOURCE_EXHAUSTED,
				 "out of memory for an input chunk");
			return -1;
		}
		ctx->chunk = p;
		ctx->chunk_cap = b->len + 1;
	}
	if (b->len)
		memcpy(ctx->chunk, b->data, b->len);
	ctx->chunk[b->len] = '\0';
	*json = ctx->chunk;
	if (len)
		*len = b->len;
	msg_free(&ctx->w->conn, m);
	return 1;
}

int gk_input_next(gk_ctx *ctx, const char **json, size_t *len)
{
	if (!json)
		return run_fail(ctx, GK_INTERNAL, "gk_input_next(json = NULL)");
	if (!ctx->stream_input)
		return 0;
	for (;;) {
		worker_pump(ctx->w);
		if (run_cancelled(ctx))
			return -1;
		struct msg *m = msgq_pop(&ctx->inq);
		if (m)
			return take_chunk(ctx, m, json, len);
		if (ctx->input_ended)
			return 0;
		conn_wait(&ctx->w->conn, -1, ctx->w->wake_fd);
	}
}
