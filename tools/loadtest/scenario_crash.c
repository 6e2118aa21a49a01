/* crash-mix: echo traffic with a fraction --crash-ratio of /flow/crash runs.
 * A crash run must fail with Status 13 (INTERNAL); an echo run must return
 * its own input, tagged with its sequence number so crossed replies show. */
#include "loop.h"
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_ECHO = 1, TAG_CRASH = 2 };

struct crash {
    struct loop lp;
    const char *input;
    json_t *input_v;
    char crash_key_json[64];
    const char *keys[3];
    uint64_t rng;
    unsigned h_echo, h_crash;
    unsigned c_crash_sent, c_crash_ok, c_crash_wrong, c_echo_ok, c_echo_wrong,
        c_echo_error, c_lost;
};

static double rnd(uint64_t *s) /* xorshift64*, [0, 1) */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int crash_issue(struct lt *lt, uint64_t seq, bool measured, uint64_t intended)
{
    struct crash *s = lt->scs;
    uint64_t saved = s->rng;
    struct lt_req *r;
    bool crash = rnd(&s->rng) < lt->o->crash_ratio;
    if (crash) {
        r = lt_run(lt, s->crash_key_json, "{}", false, false, intended, measured, 13, NULL);
    } else {
        size_t n = strlen(s->input) + 48;
        char *in = malloc(n);
        if (!in)
            return -1;
        snprintf(in, n, "{\"seq\":%llu,\"data\":%s}", (unsigned long long)seq, s->input);
        json_t *want = json_pack("{s:I,s:O}", "seq", (json_int_t)seq, "data", s->input_v);
        r = lt_run(lt, NULL, in, false, false, intended, measured, -1, want);
        free(in);
    }
    if (!r) {
        s->rng = saved; /* same decision when retried */
        return -1;
    }
    r->tag = crash ? TAG_CRASH : TAG_ECHO;
    if (crash)
        lt->st.xc[s->c_crash_sent]++;
    return 0;
}

static int crash_init(struct lt *lt, char *err, size_t errlen)
{
    struct crash *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), -1;
    lt->scs = s;
    s->input = lt->o->input ? lt->o->input : "{\"a\":1}";
    json_error_t je;
    s->input_v = json_loads(s->input, JSON_DECODE_ANY, &je);
    if (!s->input_v)
        return snprintf(err, errlen, "--input is not JSON: %s", je.text), -1;
    if (lt->o->crash_ratio < 0 || lt->o->crash_ratio > 1)
        return snprintf(err, errlen, "--crash-ratio must be in [0, 1]"), -1;
    strcpy(s->crash_key_json, "\"/flow/crash\"");
    s->keys[0] = lt->o->key ? lt->o->key : "/flow/echo";
    s->keys[1] = "/flow/crash";
    s->rng = lt->o->seed ? lt->o->seed : 1;
    s->h_echo = lt_xh(lt, "echo_latency");
    s->h_crash = lt_xh(lt, "crash_latency");
    s->c_crash_sent = lt_xc(lt, "crash_sent");
    s->c_crash_ok = lt_xc(lt, "crash_ok");
    s->c_crash_wrong = lt_xc(lt, "crash_wrong");
    s->c_echo_ok = lt_xc(lt, "echo_ok");
    s->c_echo_wrong = lt_xc(lt, "echo_wrong");
    s->c_echo_error = lt_xc(lt, "echo_error");
    s->c_lost = lt_xc(lt, "lost");
    loop_init(&s->lp, lt, crash_issue);
    return 0;
}

static const char *const *crash_keys(struct lt *lt) { return ((struct crash *)lt->scs)->keys; }
static void crash_ready(struct lt *lt) { loop_fill(&((struct crash *)lt->scs)->lp); }
static void crash_tick(struct lt *lt, uint64_t now) { (void)now; crash_ready(lt); }

static void crash_done(struct lt *lt, struct lt_req *r, enum outcome out)
{
    struct crash *s = lt->scs;
    uint64_t *x = lt->st.xc;
    if (out == OUT_LOST)
        x[s->c_lost]++;
    else if (r->tag == TAG_CRASH)
        x[out == OUT_EXPECTED_ERROR ? s->c_crash_ok : s->c_crash_wrong]++;
    else
        x[out == OUT_OK ? s->c_echo_ok : out == OUT_ERROR ? s->c_echo_error : s->c_echo_wrong]++;
    if (out != OUT_LOST && r->measured) {
        uint64_t now = lt_now(lt);
        hist_add(&lt->st.xh[r->tag == TAG_CRASH ? s->h_crash : s->h_echo],
                 now > r->t_intended ? now - r->t_intended : 0);
    }
    crash_ready(lt);
}

static void crash_fini(struct lt *lt)
{
    struct crash *s = lt->scs;
    json_decref(s->input_v);
    free(s);
    lt->scs = NULL;
}

const struct scenario scenario_crash_mix = {
    .name = "crash-mix",
    .default_key = "/flow/echo",
    .init = crash_init,
    .keys = crash_keys,
    .ready = crash_ready,
    .tick = crash_tick,
    .on_done = crash_done,
    .fini = crash_fini,
};
