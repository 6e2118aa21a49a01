/* strmap.h - hash map from byte-string keys to pointers. Keys are not
 * copied: they must outlive their entry (they usually live in the value). */
#ifndef GK_STRMAP_H
#define GK_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_ent;

struct strmap {
	struct strmap_ent **b;
	size_t nb;   /* buckets, a power of two */
	size_t n;    /* entries */
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
/* 0, or -1 if the key is already present. */
int strmap_put(struct strmap *m, const char *k, size_t klen, void *v);
void *strmap_get(const struct strmap *m, const char *k, size_t klen);
/* Removes and returns the value, NULL if absent. */
void *strmap_del(struct strmap *m, const char *k, size_t klen);
/* A malloc'd snapshot of all values (free it), so callers may change the
 * map while they walk it. */
void **strmap_values(const struct strmap *m, size_t *n);

#endif
