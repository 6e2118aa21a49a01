/*
 * genkit_action.h - the action SDK of genkit-supervisor.
 *
 * A plugin is a shared library that exports
 *
 *     int genkit_plugin_init(gk_registry *reg);
 *
 * and calls gk_register() once per action from it. genkit-worker dlopen()s
 * plugins, runs one action at a time in its own process, and talks to the
 * supervisor for you: a crash, a hang or a leak in an action never reaches
 * the supervisor or another action.
 *
 * JSON crosses this API as UTF-8 text (pointer + length), never parsed by the
 * SDK: parse it with any library you like (genkit-worker itself links
 * jansson, so plugins may use it too).
 *
 *     static int echo(gk_ctx *ctx)
 *     {
 *             size_t n;
 *             const char *in = gk_input(ctx, &n);
 *             return gk_return(ctx, in, n);
 *     }
 *
 *     int genkit_plugin_init(gk_registry *reg)
 *     {
 *             static const gk_action_def def = {
 *                     .type = "flow", .name = "echo", .handler = echo,
 *             };
 *             return gk_register(reg, &def);
 *     }
 */
#ifndef GENKIT_ACTION_H
#define GENKIT_ACTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GK_SDK_VERSION 1

/* Genkit status codes (google.rpc.Code). */
enum gk_status {
	GK_OK = 0,
	GK_CANCELLED = 1,
	GK_UNKNOWN = 2,
	GK_INVALID_ARGUMENT = 3,
	GK_DEADLINE_EXCEEDED = 4,
	GK_NOT_FOUND = 5,
	GK_ALREADY_EXISTS = 6,
	GK_PERMISSION_DENIED = 7,
	GK_RESOURCE_EXHAUSTED = 8,
	GK_FAILED_PRECONDITION = 9,
	GK_ABORTED = 10,
	GK_OUT_OF_RANGE = 11,
	GK_UNIMPLEMENTED = 12,
	GK_INTERNAL = 13,
	GK_UNAVAILABLE = 14,
	GK_DATA_LOSS = 15,
	GK_UNAUTHENTICATED = 16,
};

/* "NOT_FOUND" -> 5; -1 when unknown. */
int gk_status_from_name(const char *name);
/* 5 -> "NOT_FOUND"; "UNKNOWN" for codes out of range. */
const char *gk_status_name(int code);

typedef struct gk_ctx gk_ctx;
typedef struct gk_registry gk_registry;

/* A handler ends with `return gk_return(...)` or `return gk_fail(...)`.
 * Returning without either is reported as INTERNAL. */
typedef int (*gk_handler)(gk_ctx *ctx);

/* How SIGTERM (sent by cancelAction) reaches the action. */
enum gk_cancel_mode {
	/* Default: SIGTERM ends the process at once. The run answers
	 * CANCELLED; nothing of the action runs after the signal. */
	GK_CANCEL_KILL = 0,
	/* SIGTERM only sets the flag that gk_cancelled() reports, and wakes
	 * gk_sleep_ms()/gk_input_next(): the action may clean up, but it is
	 * SIGKILLed when the supervisor's grace period ends. */
	GK_CANCEL_COOPERATIVE = 1,
};

/* Per-action resource limits; 0 = the supervisor's default. */
typedef struct gk_limits {
	uint64_t timeout_ms;
	uint64_t cpu_seconds;
	uint64_t memory_mb;
	uint64_t max_output_bytes;
	uint64_t max_open_files;
	uint64_t max_procs;
} gk_limits;

typedef struct gk_action_def {
	const char *type;          /* "flow", "tool", "model", ... (required) */
	const char *name;          /* key becomes "/<type>/<name>" (required) */
	const char *description;   /* NULL = none */
	const char *input_schema;  /* JSON Schema text, NULL = none */
	const char *output_schema; /* JSON Schema text, NULL = none */
	const char *metadata;      /* JSON object text, NULL = none */
	gk_handler handler;        /* required */
	enum gk_cancel_mode cancel_mode;
	gk_limits limits;
	const char *mode;    /* NULL, "pooled" or "fresh" */
	const char *sandbox; /* NULL, "none", "standard" or "strict" */
} gk_action_def;

/* Register an action. The definition and its strings must stay valid for the
 * life of the process (static storage is the usual choice). 0, or -1 when
 * the definition is invalid or the key is taken (a message is logged). */
int gk_register(gk_registry *reg, const gk_action_def *def);

/* The symbol every plugin exports. Non-zero return aborts worker start. */
typedef int (*gk_plugin_init_fn)(gk_registry *reg);
#define GK_PLUGIN_INIT_SYMBOL "genkit_plugin_init"

/* ---- inside a handler ---------------------------------------------------*/

/* The input as JSON text ("null" when the request had none). NUL-terminated;
 * *len (if given) excludes the NUL. Valid until the handler returns. */
const char *gk_input(gk_ctx *ctx, size_t *len);
/* The request context as JSON text ("{}" when none). */
const char *gk_context(gk_ctx *ctx, size_t *len);
/* "/flow/echo" */
const char *gk_key(gk_ctx *ctx);
/* 32 and 16 lowercase hex chars. */
const char *gk_trace_id(gk_ctx *ctx);
const char *gk_span_id(gk_ctx *ctx);
/* Per-run writable directory, or NULL when the sandbox gives none. */
const char *gk_scratch_dir(gk_ctx *ctx);
/* The limits in force for this run (0 = none), read-only: the request's
 * limits, the action's own filling in where the request has 0. Lets an
 * action say which limit it hit. */
const gk_limits *gk_run_limits(gk_ctx *ctx);

/* Did the caller ask for stream chunks? */
int gk_streaming(gk_ctx *ctx);
/* Send one stream chunk (JSON text). Dropped silently when the caller did
 * not ask for a stream. 0; -1 when cancelled, when the output limit is hit
 * or when the JSON is invalid (the run then fails accordingly). */
int gk_emit(gk_ctx *ctx, const char *json, size_t len);

/* Does the run receive an input stream (bidi)? */
int gk_streaming_input(gk_ctx *ctx);
/* Wait for the next input chunk. 1: *json (NUL-terminated, valid until the
 * next call) and *len set; 0: the input stream ended (or there is none);
 * -1: cancelled. */
int gk_input_next(gk_ctx *ctx, const char **json, size_t *len);

/* Non-zero once a cancel reached the action (cooperative mode). */
int gk_cancelled(gk_ctx *ctx);
/* Sleep, waking early on cancel. 0: slept; -1: cancelled. */
int gk_sleep_ms(gk_ctx *ctx, uint64_t ms);

/* Finish with a result (JSON text). Returns the value the handler returns. */
int gk_return(gk_ctx *ctx, const char *json, size_t len);
/* Finish with a Genkit status error; message is printf-style. */
int gk_fail(gk_ctx *ctx, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
