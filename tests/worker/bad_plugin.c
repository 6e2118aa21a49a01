/* bad_plugin.c - a plugin that misbehaves as $GK_BAD_PLUGIN says, to check
 * that genkit-worker refuses to start (exit 2). */
#include <stdlib.h>
#include <string.h>

#include "genkit_action.h"

static int nop(gk_ctx *ctx)
{
	return gk_return(ctx, "1", 1);
}

int genkit_plugin_init(gk_registry *reg);

int genkit_plugin_init(gk_registry *reg)
{
	static gk_action_def def = { .type = "flow", .name = "bad",
				     .handler = nop };
	const char *mode = getenv("GK_BAD_PLUGIN");

	if (!mode || !strcmp(mode, "init"))
		return 1;
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
