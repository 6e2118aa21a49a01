/* Open-loop schedule arithmetic: see olsched.h. */
#include "olsched.h"

#include <math.h>

void sched_init(struct sched *s, uint64_t t0, double rate, uint64_t limit)
{
    s->t0 = t0;
    s->rate = rate > 0 ? rate : 1;
    s->next = 0;
    s->limit = limit;
}

uint64_t sched_at(const struct sched *s, uint64_t k)
{
    /* computed from t0 each time: no accumulated rounding drift */
    return s->t0 + (uint64_t)llround((double)k * 1e9 / s->rate);
}

uint64_t sched_next_at(const struct sched *s)
{
    if (s->next >= s->limit)
        return UINT64_MAX;
    return sched_at(s, s->next);
}

uint64_t sched_due(const struct sched *s, uint64_t now)
{
    if (s->next >= s->limit || now < s->t0)
        return 0;
    /* last index k with at(k) <= now; guard the float estimate both ways */
    uint64_t k = (uint64_t)((double)(now - s->t0) * s->rate / 1e9);
    while (k > 0 && sched_at(s, k) > now)
        k--;
    while (sched_at(s, k + 1) <= now)
        k++;
    uint64_t end = k + 1; /* requests 0..k are due */
    if (end > s->limit)
        end = s->limit;
    return end > s->next ? end - s->next : 0;
}

bool sched_take(struct sched *s, uint64_t now, uint64_t *k, uint64_t *intended)
{
    if (s->next >= s->limit)
        return false;
    uint64_t at = sched_at(s, s->next);
    if (at > now)
        return false;
    *k = s->next++;
    *intended = at;
    return true;
}
