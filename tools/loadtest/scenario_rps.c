/* rps: runAction --key with --input, closed or open loop; the result must
 * equal the input (jansson json_equal). */
#include "loop.h"
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>

struct rps {
    struct loop lp;
    const char *input;
    json_t *expect;
    const char *keys[2];
};

static int rps_issue(struct lt *lt, uint64_t seq, bool measured, uint64_t intended)
{
    struct rps *s = lt->scs;
    (void)seq;
    return lt_run(lt, NULL, s->input, false, false, intended, measured, -1,
                  json_incref(s->expect)) ? 0 : -1;
}

static int rps_init(struct lt *lt, char *err, size_t errlen)
{
    struct rps *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), -1;
    lt->scs = s;
    s->input = lt->o->input ? lt->o->input : "{\"a\":1}";
    json_error_t je;
    s->expect = json_loads(s->input, JSON_DECODE_ANY, &je);
    if (!s->expect)
        return snprintf(err, errlen, "--input is not JSON: %s", je.text), -1;
    s->keys[0] = lt->o->key ? lt->o->key : "/flow/echo";
    loop_init(&s->lp, lt, rps_issue);
    return 0;
}

static const char *const *rps_keys(struct lt *lt) { return ((struct rps *)lt->scs)->keys; }
static void rps_ready(struct lt *lt) { loop_fill(&((struct rps *)lt->scs)->lp); }
static void rps_tick(struct lt *lt, uint64_t now) { (void)now; rps_ready(lt); }
static void rps_done(struct lt *lt, struct lt_req *r, enum outcome out)
{
    (void)r;
    (void)out;
    rps_ready(lt);
}

static void rps_fini(struct lt *lt)
{
    struct rps *s = lt->scs;
    json_decref(s->expect);
    free(s);
    lt->scs = NULL;
}

const struct scenario scenario_rps = {
    .name = "rps",
    .default_key = "/flow/echo",
    .init = rps_init,
    .keys = rps_keys,
    .ready = rps_ready,
    .tick = rps_tick,
    .on_done = rps_done,
    .fini = rps_fini,
};
