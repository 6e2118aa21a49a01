/* util.h - what the demo plugins share: schema snippets, input parsing. */
#ifndef GK_DEMO_UTIL_H
#define GK_DEMO_UTIL_H

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
int demo_uint_field(gk_ctx *ctx, const char *name, long long max,
		    long long *out);
/* Finish with the integer n as the result. */
int demo_return_int(gk_ctx *ctx, long long n);

#endif
