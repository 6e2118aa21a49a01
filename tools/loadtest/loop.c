/* Closed/open-loop pacing: see loop.h. */
#include "loop.h"

void loop_init(struct loop *lp, struct lt *lt,
               int (*issue)(struct lt *, uint64_t, bool, uint64_t))
{
    const struct lt_opts *o = lt->o;
    lp->lt = lt;
    lp->issue = issue;
    lp->open = o->rate > 0;
    lp->started = lp->stopping = false;
    lp->seq = lp->measured = 0;
    lp->measured_target = o->duration_s > 0 ? UINT64_MAX : (o->requests ? o->requests : 1000);
    lp->t0 = lp->t_measure = lp->t_measure_end = 0;
}

/* Decide what request `seq` sent (or intended) at t is: 1 warm-up,
 * 0 measured, -1 none (the run is over). */
static int classify(struct loop *lp, uint64_t t)
{
    const struct lt_opts *o = lp->lt->o;
    if (lp->seq < o->warmup_n)
        return 1;
    if (o->warmup_s > 0 && t < lp->t0 + (uint64_t)(o->warmup_s * 1e9))
        return 1;
    if (lp->measured >= lp->measured_target)
        return -1;
    if (!lp->measured) {
        lp->t_measure = t;
        lp->t_measure_end = o->duration_s > 0 ? t + (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
    }
    if (t >= lp->t_measure_end)
        return -1;
    return 0;
}

static void check_end(struct loop *lp)
{
    if (lp->stopping && lp->lt->inflight_runs == 0)
        lt_scenario_done(lp->lt);
}

void loop_fill(struct loop *lp)
{
    struct lt *lt = lp->lt;
    uint64_t now = lt_now(lt);
    if (!lp->started) {
        lp->started = true;
        lp->t0 = now;
        sched_init(&lp->sch, now, lt->o->rate, UINT64_MAX);
    }
    /* the measured phase is complete: no need to wait for the next slot */
    if (lp->measured && (lp->measured >= lp->measured_target || now >= lp->t_measure_end))
        lp->stopping = true;
    unsigned cap = lp->open ? lt->o->max_inflight : lt->o->concurrency;
    while (!lp->stopping && lt->inflight_runs < cap && lt_can_send(lt)) {
        uint64_t k, intended = now;
        if (lp->open) {
            if (sched_next_at(&lp->sch) > now)
                break;
            intended = sched_next_at(&lp->sch);
        }
        int c = classify(lp, intended);
        if (c < 0) {
            lp->stopping = true;
            break;
        }
        if (lp->open)
            sched_take(&lp->sch, now, &k, &intended);
        /* an open-loop request that cannot be sent stays due (backlog) */
        if (lp->issue(lt, lp->seq, c == 0, lp->open ? intended : 0) < 0) {
            if (lp->open) /* give the slot back: it is re-sent later, late */
                lp->sch.next--;
            break;
        }
        lp->seq++;
        if (c == 0)
            lp->measured++;
    }
    if (lp->open && !lp->stopping && lt->inflight_runs < cap)
        lt_wake_at(lt, sched_next_at(&lp->sch));
    check_end(lp);
}
