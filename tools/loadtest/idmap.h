/* Fixed-capacity hash map from request id (u64, never 0) to a u32 value.
 * Open addressing, linear probing, backward-shift deletion; no growth:
 * idmap_put fails once `max` entries are held. */
#ifndef LT_IDMAP_H
#define LT_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

struct idmap {
    uint64_t *keys; /* 0 = empty */
    uint32_t *vals;
    uint32_t mask, n, max;
};

int idmap_init(struct idmap *m, uint32_t max);
void idmap_free(struct idmap *m);
bool idmap_put(struct idmap *m, uint64_t key, uint32_t val);
bool idmap_get(const struct idmap *m, uint64_t key, uint32_t *val);
bool idmap_del(struct idmap *m, uint64_t key, uint32_t *val);

#endif
