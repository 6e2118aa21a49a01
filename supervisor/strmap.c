/* strmap.c - chained hash map, FNV-1a, doubling at load factor 1. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

struct strmap_ent {
	struct strmap_ent *next;
	uint64_t h;
	const char *k;
	size_t klen;
	void *v;
};

static uint64_t hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
	return h;
}

void strmap_init(struct strmap *m)
{
	m->nb = 64;
	m->n = 0;
	m->b = calloc(m->nb, sizeof(*m->b));
	if (!m->b)
		abort();
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct strmap_ent *e = m->b[i];
		while (e) {
			struct strmap_ent *next = e->next;
			free(e);
			e = next;
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}

static struct strmap_ent **find(const struct strmap *m, uint64_t h,
				const char *k, size_t klen)
{
	struct strmap_ent **pp = &m->b[h & (m->nb - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h && (*pp)->klen == klen &&
		    !memcmp((*pp)->k, k, klen))
			break;
	return pp;
}

static void grow(struct strmap *m)
{
	size_t nb = m->nb * 2;
	struct strmap_ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* stay at the current size: slower, still correct */
	for (size_t i = 0; i < m->nb; i++) {
		struct strmap_ent *e = m->b[i];
		while (e) {
			struct strmap_ent *next = e->next;
			e->next = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
			e = next;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

int strmap_put(struct strmap *m, const char *k, size_t klen, void *v)
{
	uint64_t h = hash(k, klen);
	struct strmap_ent **pp = find(m, h, k, klen);
	if (*pp)
		return -1;
	struct strmap_ent *e = malloc(sizeof(*e));
	if (!e)
		abort();
	*e = (struct strmap_ent){ NULL, h, k, klen, v };
	*pp = e;
	if (++m->n > m->nb)
		grow(m);
	return 0;
}

void *strmap_get(const struct strmap *m, const char *k, size_t klen)
{
	struct strmap_ent *e = *find(m, hash(k, klen), k, klen);
	return e ? e->v : NULL;
}

void *strmap_del(struct strmap *m, const char *k, size_t klen)
{
	struct strmap_ent **pp = find(m, hash(k, klen), k, klen);
	struct strmap_ent *e = *pp;
	if (!e)
		return NULL;
	void *v = e->v;
	*pp = e->next;
	free(e);
	m->n--;
	return v;
}

void **strmap_values(const struct strmap *m, size_t *n)
{
	void **v = malloc(sizeof(*v) * (m->n ? m->n : 1));
	if (!v)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < m->nb; i++)
		for (struct strmap_ent *e = m->b[i]; e; e = e->next)
			v[k++] = e->v;
	*n = k;
	return v;
}
