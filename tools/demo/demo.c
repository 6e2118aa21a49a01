/*
 * demo.c - the demo actions of genkit-supervisor (shared/README.md sec. 5):
 * echo, count, sleep, spin, crash, bidiEcho, fail.
 */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "genkit_action.h"

#define SCHEMA "\"$schema\":\"http://json-schema.org/draft-07/schema#\""
#define ANY_SCHEMA "{" SCHEMA "}"
#define INT_SCHEMA "{" SCHEMA ",\"type\":\"integer\"}"
#define UINT_FIELD_SCHEMA(f)                                             \
	"{" SCHEMA ",\"type\":\"object\",\"properties\":{\"" f "\":"      \
	"{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"" f "\"],"   \
	"\"additionalProperties\":true}"

/* Largest count accepted (a loop of emits must end some day). */
#define COUNT_MAX 1000000000LL

/* Integer field `name` of a JSON object input, in [0, max]. 0 or -1. */
static int uint_field(gk_ctx *ctx, const char *name, long long max,
		      long long *out)
{
	size_t len;
	const char *in = gk_input(ctx, &len);
	json_t *v = json_loadb(in, len, JSON_DECODE_ANY, NULL);
	json_t *f = json_is_object(v) ? json_object_get(v, name) : NULL;
	int ok = json_is_integer(f) && json_integer_value(f) >= 0 &&
		 json_integer_value(f) <= max;

	if (ok)
		*out = json_integer_value(f);
	json_decref(v);
	return ok ? 0 : -1;
}

static int return_int(gk_ctx *ctx, long long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld", n);

	return gk_return(ctx, buf, (size_t)len);
}

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

	if (uint_field(ctx, "n", COUNT_MAX, &n) < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "count expects {\"n\": <integer 0..%lld>}",
			       COUNT_MAX);
	for (long long i = 0; i < n && gk_streaming(ctx); i++) {
		int len = snprintf(buf, sizeof(buf), "{\"i\":%lld}", i);
		if (gk_emit(ctx, buf, (size_t)len) < 0)
			return -1;
	}
	return return_int(ctx, n);
}

static int sleep_ms(gk_ctx *ctx)
{
	long long ms;

	if (uint_field(ctx, "ms", INT64_MAX, &ms) < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "sleep expects {\"ms\": <non-negative integer>}");
	if (gk_sleep_ms(ctx, (uint64_t)ms) < 0)
		return gk_fail(ctx, GK_CANCELLED, "Action was cancelled");
	return return_int(ctx, ms);
}

static int spin(gk_ctx *ctx)
{
	volatile unsigned long x = 0;

	(void)ctx;
	for (;;)
		x++;
	return 0;
}

static int crash(gk_ctx *ctx)
{
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
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
	return return_int(ctx, n);
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
