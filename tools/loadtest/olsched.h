/* Open-loop schedule: request k is due at t0 + k / rate, whether or not the
 * runtime kept up.  Latency is measured from that intended time, so a
 * stalled runtime cannot hide its stall by slowing the generator down
 * (no coordinated omission).  Pure arithmetic on caller-supplied clocks. */
#ifndef LT_SCHED_H
#define LT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct sched {
    uint64_t t0;       /* ns, intended time of request 0 */
    double rate;       /* requests per second, > 0 */
    uint64_t next;     /* index of the next request not yet taken */
    uint64_t limit;    /* requests to schedule in all; UINT64_MAX = unbounded */
};

void sched_init(struct sched *s, uint64_t t0, double rate, uint64_t limit);
/* Intended send time of request k. */
uint64_t sched_at(const struct sched *s, uint64_t k);
/* Intended time of the next request not taken yet; UINT64_MAX when done. */
uint64_t sched_next_at(const struct sched *s);
/* How many untaken requests are due at `now` (the backlog). */
uint64_t sched_due(const struct sched *s, uint64_t now);
/* Take the next request if it is due at `now`: stores its index and intended
 * time and returns true; false if none is due or the schedule is exhausted. */
bool sched_take(struct sched *s, uint64_t now, uint64_t *k, uint64_t *intended);
/* Latency from the intended send time (0 if the reply predates it). */
static inline uint64_t sched_latency(uint64_t intended, uint64_t done)
{
    return done > intended ? done - intended : 0;
}

#endif
