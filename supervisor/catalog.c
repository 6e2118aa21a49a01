/* catalog.c - action table and the cached listActions result (jansson). */
#include "catalog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strmap.h"

struct catalog {
	struct action *a;
	size_t n;
	struct strmap by_key;
	char *json;
	size_t json_len;
};

static json_t *load_json(const ProtobufCBinaryData *b, const char *what,
			 const char *key)
{
	if (!b->len)
		return NULL;
	json_error_t err;
	json_t *v = json_loadb((const char *)b->data, b->len,
			       JSON_DECODE_ANY, &err);
	if (!v)
		log_warn("action %s: ignoring invalid %s: %s", key, what, err.text);
	return v;
}

static char *dup0(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

struct catalog *catalog_new(const Gkipc__Hello *h)
{
	struct catalog *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->a = calloc(h->n_actions ? h->n_actions : 1, sizeof(*c->a));
	if (!c->a)
		abort();
	strmap_init(&c->by_key);
	json_t *actions = json_object();
	for (size_t i = 0; i < h->n_actions; i++) {
		const Gkipc__ActionInfo *in = h->actions[i];
		struct action *a = &c->a[c->n];
		a->key = dup0(in->key);
		a->name = dup0(in->name);
		a->mode = dup0(in->mode);
		a->sandbox = dup0(in->sandbox);
		gkipc__limits__init(&a->limits);
		if (in->limits)
			a->limits = *in->limits;
		a->limits.base.unknown_fields = NULL;
		a->limits.base.n_unknown_fields = 0;
		if (strmap_put(&c->by_key, a->key, strlen(a->key), a) < 0) {
			log_warn("duplicate action %s ignored", a->key);
			free(a->key); free(a->name); free(a->mode); free(a->sandbox);
			continue;
		}
		c->n++;
		json_t *o = json_object();
		json_object_set_new(o, "key", json_string(a->key));
		json_object_set_new(o, "name", json_string(a->name));
		if (in->description && in->description[0])
			json_object_set_new(o, "description",
					    json_string(in->description));
		json_t *v;
		if ((v = load_json(&in->input_schema, "input schema", a->key)))
			json_object_set_new(o, "inputSchema", v);
		if ((v = load_json(&in->output_schema, "output schema", a->key)))
			json_object_set_new(o, "outputSchema", v);
		if ((v = load_json(&in->metadata, "metadata", a->key))) {
			if (json_is_object(v))
				json_object_set_new(o, "metadata", v);
			else
				json_decref(v);
		}
		json_object_set_new(actions, a->key, o);
	}
	json_t *res = json_pack("{s:o}", "actions", actions);
	c->json = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (!c->json)
		abort();
	c->json_len = strlen(c->json);
	return c;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->a[i].key);
		free(c->a[i].name);
		free(c->a[i].mode);
		free(c->a[i].sandbox);
	}
	strmap_free(&c->by_key);
	free(c->a);
	free(c->json);
	free(c);
}

struct action *catalog_find(const struct catalog *c, const char *key,
			    size_t len)
{
	return strmap_get(&c->by_key, key, len);
}

const char *catalog_json(const struct catalog *c, size_t *len)
{
	*len = c->json_len;
	return c->json;
}

size_t catalog_count(const struct catalog *c)
{
	return c->n;
}
