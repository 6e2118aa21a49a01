/* Request-id hash map: see idmap.h. */
#include "idmap.h"

#include <stdlib.h>

static uint32_t slot_of(const struct idmap *m, uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k & m->mask;
}

int idmap_init(struct idmap *m, uint32_t max)
{
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)max && cap < (1u << 30))
        cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->mask = cap - 1;
    m->n = 0;
    m->max = max < cap / 2 ? max : cap / 2;
    if (!m->keys || !m->vals) {
        idmap_free(m);
        return -1;
    }
    return 0;
}

void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->n = 0;
}

bool idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
    if (!key || !m->keys)
        return false;
    uint32_t i = slot_of(m, key);
    while (m->keys[i]) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return true;
        }
        i = (i + 1) & m->mask;
    }
    if (m->n >= m->max)
        return false;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

bool idmap_get(const struct idmap *m, uint64_t key, uint32_t *val)
{
    if (!key || !m->keys)
        return false;
    for (uint32_t i = slot_of(m, key); m->keys[i]; i = (i + 1) & m->mask)
        if (m->keys[i] == key) {
            if (val)
                *val = m->vals[i];
            return true;
        }
    return false;
}

bool idmap_del(struct idmap *m, uint64_t key, uint32_t *val)
{
    if (!key || !m->keys)
        return false;
    uint32_t i = slot_of(m, key);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (!m->keys[i])
        return false;
    if (val)
        *val = m->vals[i];
    /* backward-shift: pull later members of the probe run into the hole */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & m->mask; m->keys[j]; j = (j + 1) & m->mask) {
        uint32_t home = slot_of(m, m->keys[j]);
        /* move j into hole if home is not cyclically within (hole, j] */
        bool stay = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stay) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->n--;
    return true;
}
