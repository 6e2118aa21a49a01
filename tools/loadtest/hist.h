/* Log-linear latency histogram (HDR style), values in nanoseconds.
 *
 * Values below 128 ns are exact; above, each power of two is split into 128
 * equal buckets, so a bucket is at most 1/128 of its lower bound wide.  A
 * percentile is reported as its bucket's midpoint clamped to [min, max]:
 * relative error <= 0.4 % (documented bound: 1 %) over 1 ns .. 2^37 ns
 * (~137 s); larger values land in the top bucket, max stays exact. */
#ifndef LT_HIST_H
#define LT_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 37
#define HIST_NBUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t min, max;
    double sum;
    uint64_t b[HIST_NBUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* p in [0, 100]; 0 when empty. */
uint64_t hist_pct(const struct hist *h, double p);
double hist_mean(const struct hist *h);
/* Bucket index / bounds, exposed for tests. */
unsigned hist_index(uint64_t v);
uint64_t hist_lower(unsigned idx);
uint64_t hist_width(unsigned idx);

#endif
