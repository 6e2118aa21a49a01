/* registry.c - gk_register(): check action definitions, index them by key. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"

/* A name part: non-empty UTF-8 without control characters or spaces. */
static int name_ok(const char *s, int allow_slash)
{
	size_t n;

	if (!s || !*s)
		return 0;
	n = strlen(s);
	if (!utf8_valid(s, n))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || (*p == '/' && !allow_slash))
			return 0;
	return s[0] != '/' && s[n - 1] != '/';
}

static int json_ok(const char *s)
{
	return !s || json_check(s, strlen(s));
}

static int is_object(const char *s)
{
	if (!s)
		return 1;
	s += strspn(s, " \t\r\n");
	return *s == '{';
}

static int one_of(const char *s, const char *const *set)
{
	if (!s)
		return 1;
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* NULL when the definition is fine, else why not. */
static const char *def_problem(const gk_action_def *d)
{
	static const char *const modes[] = { "pooled", "fresh", NULL };
	static const char *const boxes[] = { "none", "standard", "strict",
					     NULL };

	if (!name_ok(d->type, 0))
		return "type must be a non-empty word without '/' or spaces";
	if (!name_ok(d->name, 1))
		return "name must be non-empty, without spaces or edge '/'";
	if (!d->handler)
		return "no handler";
	if (d->cancel_mode != GK_CANCEL_KILL &&
	    d->cancel_mode != GK_CANCEL_COOPERATIVE)
		return "unknown cancel_mode";
	if (d->description && !utf8_valid(d->description,
					  strlen(d->description)))
		return "description is not valid UTF-8";
	if (!json_ok(d->input_schema))
		return "input_schema is not valid JSON";
	if (!json_ok(d->output_schema))
		return "output_schema is not valid JSON";
	if (!json_ok(d->metadata) || !is_object(d->metadata))
		return "metadata is not a valid JSON object";
	if (!one_of(d->mode, modes))
		return "mode must be NULL, \"pooled\" or \"fresh\"";
	if (!one_of(d->sandbox, boxes))
		return "sandbox must be NULL, \"none\", \"standard\" or \"strict\"";
	return NULL;
}

const struct action *registry_find(const struct gk_registry *r,
				   const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].key, key) == 0)
			return &r->v[i];
	return NULL;
}

static int reject(gk_registry *reg, const char *what, const char *why)
{
	wlog("plugin %s: action %s rejected: %s",
	     reg && reg->origin ? reg->origin : "?", what, why);
	if (reg)
		reg->errors++;
	return -1;
}

static int append(gk_registry *reg, const gk_action_def *def, char *key)
{
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 16;
		struct action *v = realloc(reg->v, cap * sizeof(*v));
		if (!v)
			return -1;
		reg->v = v;
		reg->cap = cap;
	}
	reg->v[reg->n].def = def;
	reg->v[reg->n].key = key;
	reg->n++;
	return 0;
}

int gk_register(gk_registry *reg, const gk_action_def *def)
{
	const char *why;
	char *key;

	if (!reg || !def)
		return reject(reg, "(null)", "NULL registry or definition");
	if (def->name && def->type)
		wdebug("registering /%s/%s", def->type, def->name);
	why = def_problem(def);
	if (why)
		return reject(reg, def->name ? def->name : "(unnamed)", why);
	if (asprintf(&key, "/%s/%s", def->type, def->name) < 0)
		return reject(reg, def->name, "out of memory");
	if (registry_find(reg, key)) {
		reject(reg, key, "duplicate key");
		free(key);
		return -1;
	}
	if (append(reg, def, key) < 0) {
		reject(reg, key, "out of memory");
		free(key);
		return -1;
	}
	return 0;
}
