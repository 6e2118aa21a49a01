/* util.c - helpers shared by the demo plugins. */
#include <jansson.h>
#include <stdio.h>

#include "util.h"

/* Integer field `name` of a JSON object input, in [0, max]. 0 or -1. */
int demo_uint_field(gk_ctx *ctx, const char *name, long long max,
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

int demo_return_int(gk_ctx *ctx, long long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld", n);

	return gk_return(ctx, buf, (size_t)len);
}
