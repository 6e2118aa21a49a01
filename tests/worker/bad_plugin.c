/* bad_plugin.c - a plugin that misbehaves as $GK_BAD_PLUGIN says: at init
 * (genkit-worker must refuse to start, exit 2) or, with "runtime", in its
 * handlers (each run must still get exactly one sensible reply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genkit_action.h"

static int nop(gk_ctx *ctx)
{
	return gk_return(ctx, "1", 1);
}

static int no_result(gk_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static int bad_json(gk_ctx *ctx)
{
	return gk_return(ctx, "{\"a\":", 5);
}

static int bad_chunk(gk_ctx *ctx)
{
	if (gk_emit(ctx, "[1,]", 4) == 0)
		return gk_fail(ctx, GK_UNKNOWN, "emit accepted invalid JSON");
	return gk_return(ctx, "1", 1); /* ignored: the run already failed */
}

static int bad_status(gk_ctx *ctx)
{
	return gk_fail(ctx, 99, "odd %s", "status");
}

static int two_replies(gk_ctx *ctx)
{
	gk_return(ctx, "\"first\"", 7);
	return gk_fail(ctx, GK_INTERNAL, "second");
}

/* Everything the handler can see about its run, as one JSON array. */
static int whoami(gk_ctx *ctx)
{
	char buf[512];
	const char *sd = gk_scratch_dir(ctx);
	int n = snprintf(buf, sizeof(buf),
			 "[\"%s\",\"%s\",\"%s\",%s,%s,%d,%d,\"%s\"]",
			 gk_key(ctx), gk_trace_id(ctx), gk_span_id(ctx),
			 gk_context(ctx, NULL), gk_input(ctx, NULL),
			 gk_streaming(ctx), gk_streaming_input(ctx),
			 sd ? sd : "-");
	return gk_return(ctx, buf, (size_t)n);
}

static const gk_action_def runtime[] = {
	{ .type = "test", .name = "noResult", .handler = no_result },
	{ .type = "test", .name = "badJson", .handler = bad_json },
	{ .type = "test", .name = "badChunk", .handler = bad_chunk },
	{ .type = "test", .name = "badStatus", .handler = bad_status },
	{ .type = "test", .name = "twoReplies", .handler = two_replies },
	{ .type = "test", .name = "whoami", .handler = whoami,
	  .metadata = "{\"x\":1}", .mode = "fresh", .sandbox = "strict",
	  .limits = { .timeout_ms = 1234 } },
};

int genkit_plugin_init(gk_registry *reg);

int genkit_plugin_init(gk_registry *reg)
{
	static gk_action_def def = { .type = "flow", .name = "bad",
				     .handler = nop };
	const char *mode = getenv("GK_BAD_PLUGIN");

	if (!mode || !strcmp(mode, "init"))
		return 1;
	if (!strcmp(mode, "runtime")) {
		for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
			gk_register(reg, &runtime[i]);
		return 0;
	}
	if (!strcmp(mode, "schema"))
		def.input_schema = "{\"type\":\"object\",}";
	else if (!strcmp(mode, "metadata"))
		def.metadata = "[1]";
	else if (!strcmp(mode, "name"))
		def.name = "has space";
	else if (!strcmp(mode, "mode"))
		def.mode = "sometimes";
	/* The return value is ignored on purpose: a rejected action is
	 * enough to refuse the plugin. */
	gk_register(reg, &def);
	return 0;
}
