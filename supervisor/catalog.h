/* catalog.h - the actions the workers offer, as reported in their hello. */
#ifndef GK_CATALOG_H
#define GK_CATALOG_H

#include <stddef.h>

#include "ipc.pb-c.h"

struct action {
	char *key;
	char *name;
	Gkipc__Limits limits;  /* per-action overrides, 0 = default */
	char *mode;            /* "" = default */
	char *sandbox;         /* "" = default */
	uint32_t avg_us;       /* recent run time (EWMA), 0 = never ran */
};

struct catalog;

/* Build from a worker's hello; NULL (and a logged reason) on failure. */
struct catalog *catalog_new(const Gkipc__Hello *hello);
void catalog_free(struct catalog *c);
struct action *catalog_find(const struct catalog *c, const char *key,
				  size_t len);
/* The listActions result, `{"actions":{...}}`, built once. */
const char *catalog_json(const struct catalog *c, size_t *len);
size_t catalog_count(const struct catalog *c);

#endif
