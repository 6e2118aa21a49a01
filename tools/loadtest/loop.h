/* Request pacing shared by the rps, stream, crash-mix and bidi scenarios:
 * closed loop (keep `concurrency` runs in flight) or open loop (olsched.h),
 * warm-up by count or seconds, then a measured phase of N requests or S
 * seconds.  The scenario supplies `issue`, which sends one request. */
#ifndef LT_LOOP_H
#define LT_LOOP_H

#include "lt.h"
#include "olsched.h"

struct loop {
    struct lt *lt;
    /* issue request number `seq`: return 0 when sent, -1 when it could not be */
    int (*issue)(struct lt *lt, uint64_t seq, bool measured, uint64_t intended);
    struct sched sch;
    bool open, started, stopping;
    uint64_t seq;             /* requests issued, warm-up included */
    uint64_t measured;        /* measured requests issued */
    uint64_t measured_target; /* UINT64_MAX in duration mode */
    uint64_t t0, t_measure, t_measure_end;
};

void loop_init(struct loop *lp, struct lt *lt,
               int (*issue)(struct lt *, uint64_t, bool, uint64_t));
/* Call on ready, on tick and after every finished run. */
void loop_fill(struct loop *lp);

#endif
