/*
 * demo.c - the demo actions of genkit-supervisor (shared/README.md sec. 5),
 * served by `genkit-supervisor --demo`: echo, count, sleep, spin, crash,
 * bidiEcho, fail. The actions that show off limits and sandbox rules live
 * in limits.c (`--demo-limits`).
 */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int echo(gk_ctx *ctx)
{
	size_t len;
	const char *in = gk_input(ctx, &len);

	return gk_return(ctx, in, len);
}

static int count(gk_ctx *ctx)
{
	char buf[48];
	long long n;

	if (demo_uint_field(ctx, "n", COUNT_MAX, &n) < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "count expects {\"n\": <integer 0..%lld>}",
			       COUNT_MAX);
	for (long long i = 0; i < n && gk_streaming(ctx); i++) {
		int len = snprintf(buf, sizeof(buf), "{\"i\":%lld}", i);
		if (gk_emit(ctx, buf, (size_t)len) < 0)
			return -1;
	}
	return demo_return_int(ctx, n);
}

static int sleep_ms(gk_ctx *ctx)
{
	long long ms;

	if (demo_uint_field(ctx, "ms", INT64_MAX, &ms) < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "sleep expects {\"ms\": <non-negative integer>}");
	if (gk_sleep_ms(ctx, (uint64_t)ms) < 0)
		return gk_fail(ctx, GK_CANCELLED, "Action was cancelled");
	return demo_return_int(ctx, ms);
}

static int spin(gk_ctx *ctx)
{
	volatile unsigned long x = 0;

	(void)ctx;
	for (;;)
		x++;
	return 0;
}

/* A genuine fault, not raise(): the init of a PID namespace (which a
 * zygote-spawned worker is) ignores signals it sends itself, but the
 * kernel forces a fault's SIGSEGV through. The store is deliberate: keep
 * UBSan builds from reporting it. */
__attribute__((no_sanitize("undefined")))
static int crash(gk_ctx *ctx)
{
	volatile int *volatile p = NULL;

	signal(SIGSEGV, SIG_DFL);
	*p = 1;
	return gk_fail(ctx, GK_INTERNAL, "still alive after SIGSEGV");
}

static int bidi_echo(gk_ctx *ctx)
{
	const char *chunk;
	size_t len;
	long long n = 0;
	int r;

	while ((r = gk_input_next(ctx, &chunk, &len)) == 1) {
		if (gk_emit(ctx, chunk, len) < 0)
			return -1;
		n++;
	}
	if (r < 0)
		return gk_fail(ctx, GK_CANCELLED, "Action was cancelled");
	return demo_return_int(ctx, n);
}

static int fail_with(gk_ctx *ctx, const char *status, const char *message)
{
	int code = gk_status_from_name(status);

	if (code < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "unknown status name: %s", status);
	if (code == GK_OK)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "status OK is not an error");
	return gk_fail(ctx, code, "%s", message);
}

static int fail(gk_ctx *ctx)
{
	size_t len;
	const char *in = gk_input(ctx, &len);
	json_t *v = json_loadb(in, len, JSON_DECODE_ANY, NULL);
	json_t *st = json_is_object(v) ? json_object_get(v, "status") : NULL;
	json_t *msg = json_is_object(v) ? json_object_get(v, "message") : NULL;
	int rc;

	if (!json_is_string(st) || (msg && !json_is_string(msg)))
		rc = gk_fail(ctx, GK_INVALID_ARGUMENT,
			     "fail expects {\"status\": NAME, \"message\": M}");
	else
		rc = fail_with(ctx, json_string_value(st),
			       msg ? json_string_value(msg) : "");
	json_decref(v);
	return rc;
}

static const gk_action_def actions[] = {
	{
		.type = "flow", .name = "echo", .handler = echo,
		.description = "Returns its input unchanged.",
		.input_schema = ANY_SCHEMA, .output_schema = ANY_SCHEMA,
	},
	{
		.type = "flow", .name = "count", .handler = count,
		.description = "Streams {\"i\":0} .. {\"i\":n-1}, returns n.",
		.input_schema = UINT_FIELD_SCHEMA("n"),
		.output_schema = INT_SCHEMA,
	},
	{
		.type = "flow", .name = "sleep", .handler = sleep_ms,
		.description = "Waits ms milliseconds, returns ms; cancellable.",
		.input_schema = UINT_FIELD_SCHEMA("ms"),
		.output_schema = INT_SCHEMA,
		.cancel_mode = GK_CANCEL_COOPERATIVE,
	},
	{
		.type = "flow", .name = "spin", .handler = spin,
		.description = "Burns CPU forever, ignoring polite requests to stop.",
		.input_schema = ANY_SCHEMA, .output_schema = ANY_SCHEMA,
	},
	{
		.type = "flow", .name = "crash", .handler = crash,
		.description = "Kills its own process with SIGSEGV.",
		.input_schema = ANY_SCHEMA, .output_schema = ANY_SCHEMA,
	},
	{
		.type = "flow", .name = "bidiEcho", .handler = bidi_echo,
		.description = "Streams back each input chunk; returns how many "
			       "when the input ends.",
		.input_schema = ANY_SCHEMA, .output_schema = INT_SCHEMA,
	},
	{
		.type = "flow", .name = "fail", .handler = fail,
		.description = "Fails with the given Genkit status name and message.",
		.input_schema = "{" SCHEMA ",\"type\":\"object\",\"properties\":"
				"{\"status\":{\"type\":\"string\"},"
				"\"message\":{\"type\":\"string\"}},"
				"\"required\":[\"status\"]}",
		.output_schema = ANY_SCHEMA,
	},
};

int genkit_plugin_init(gk_registry *reg);

int genkit_plugin_init(gk_registry *reg)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (gk_register(reg, &actions[i]) < 0)
			return -1;
	return 0;
}
