/* cancel: N times: start --key (/flow/spin), wait for its runActionState,
 * cancelAction {traceId}; time the cancel reply and the run's final error
 * (expected Status 1 CANCELLED), then the first successful /flow/echo. */
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>

enum { PH_IDLE, PH_RUNNING, PH_CANCELLING, PH_PROBING, PH_DONE };
enum { TAG_SPIN = 1, TAG_ECHO = 2 };
#define MAX_PROBES 200
#define PROBE_RETRY_NS (10 * NS_PER_MS)

struct cancel {
    int phase;
    uint64_t iter, n, spin_id, t_cancel, t_retry;
    bool got_reply, got_final;
    unsigned probes;
    const char *input;
    const char *keys[3];
    unsigned h_reply, h_final, h_echo;
    unsigned c_ok, c_failed, c_cancelled, c_other, c_retries;
};

static void next_iter(struct lt *lt);

static void probe(struct lt *lt)
{
    struct cancel *s = lt->scs;
    char in[64];
    snprintf(in, sizeof in, "{\"probe\":%llu}", (unsigned long long)s->iter);
    struct lt_req *r = lt_run(lt, "\"/flow/echo\"", in, false, false, 0, true, -1,
                              json_pack("{s:I}", "probe", (json_int_t)s->iter));
    if (r) {
        r->tag = TAG_ECHO;
        s->probes++;
        s->phase = PH_PROBING;
        s->t_retry = UINT64_MAX;
    }
}

static void maybe_probe(struct lt *lt)
{
    struct cancel *s = lt->scs;
    if (s->phase == PH_CANCELLING && s->got_reply && s->got_final) {
        s->probes = 0;
        probe(lt);
    }
}

static void next_iter(struct lt *lt)
{
    struct cancel *s = lt->scs;
    if (s->iter >= s->n) {
        s->phase = PH_DONE;
        lt_scenario_done(lt);
        return;
    }
    struct lt_req *r = lt_run(lt, NULL, s->input, false, false, 0, false, 1, NULL);
    if (!r) {
        s->phase = PH_IDLE; /* retried on ready */
        return;
    }
    r->tag = TAG_SPIN;
    s->spin_id = r->id;
    s->got_reply = s->got_final = false;
    s->phase = PH_RUNNING;
}

static void cancel_state(struct lt *lt, struct lt_req *r)
{
    struct cancel *s = lt->scs;
    if (r->id != s->spin_id || s->phase != PH_RUNNING)
        return;
    s->t_cancel = lt_now(lt);
    if (lt_cancel(lt, r->trace_id, r->id))
        s->phase = PH_CANCELLING;
}

static void cancel_reply(struct lt *lt, struct lt_req *r, bool ok)
{
    struct cancel *s = lt->scs;
    (void)r;
    hist_add(&lt->st.xh[s->h_reply], lt_now(lt) - s->t_cancel);
    lt->st.xc[ok ? s->c_ok : s->c_failed]++;
    s->got_reply = true;
    maybe_probe(lt);
}

static void cancel_done(struct lt *lt, struct lt_req *r, enum outcome out)
{
    struct cancel *s = lt->scs;
    uint64_t now = lt_now(lt);
    if (r->tag == TAG_SPIN && r->id == s->spin_id) {
        s->got_final = true;
        if (out == OUT_EXPECTED_ERROR) {
            lt->st.xc[s->c_cancelled]++;
            hist_add(&lt->st.xh[s->h_final], now - s->t_cancel);
        } else {
            lt->st.xc[s->c_other]++;
        }
        if (s->phase == PH_RUNNING) { /* ended before we could cancel it */
            s->got_reply = true;
            s->t_cancel = now;
            s->phase = PH_CANCELLING;
        }
        maybe_probe(lt);
    } else if (r->tag == TAG_ECHO && s->phase == PH_PROBING) {
        if (out == OUT_OK) {
            hist_add(&lt->st.xh[s->h_echo], now - s->t_cancel);
        } else if (out != OUT_LOST && s->probes < MAX_PROBES) {
            lt->st.xc[s->c_retries]++;
            s->t_retry = now + PROBE_RETRY_NS;
            lt_wake_at(lt, s->t_retry);
            return;
        }
        s->iter++;
        next_iter(lt);
    }
}

static void cancel_tick(struct lt *lt, uint64_t now)
{
    struct cancel *s = lt->scs;
    if (s->phase == PH_PROBING && s->t_retry != UINT64_MAX) {
        if (now >= s->t_retry)
            probe(lt);
        else
            lt_wake_at(lt, s->t_retry);
    }
}

static void cancel_ready(struct lt *lt)
{
    struct cancel *s = lt->scs;
    if (s->phase == PH_IDLE)
        next_iter(lt);
    else if (s->phase != PH_DONE && !lt->inflight_runs) { /* lost across a reconnect */
        s->iter++;
        next_iter(lt);
    }
}

static int cancel_init(struct lt *lt, char *err, size_t errlen)
{
    struct cancel *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), -1;
    lt->scs = s;
    s->n = lt->o->requests ? lt->o->requests : 20;
    s->input = lt->o->input ? lt->o->input : "{}";
    json_t *v = json_loads(s->input, JSON_DECODE_ANY, NULL);
    if (!v)
        return snprintf(err, errlen, "--input is not JSON"), -1;
    json_decref(v);
    s->t_retry = UINT64_MAX;
    s->keys[0] = lt->o->key ? lt->o->key : "/flow/spin";
    s->keys[1] = "/flow/echo";
    s->h_reply = lt_xh(lt, "cancel_reply");
    s->h_final = lt_xh(lt, "cancelled_error");
    s->h_echo = lt_xh(lt, "next_echo");
    s->c_ok = lt_xc(lt, "cancel_ok");
    s->c_failed = lt_xc(lt, "cancel_failed");
    s->c_cancelled = lt_xc(lt, "final_cancelled");
    s->c_other = lt_xc(lt, "final_other");
    s->c_retries = lt_xc(lt, "echo_retries");
    return 0;
}

static const char *const *cancel_keys(struct lt *lt) { return ((struct cancel *)lt->scs)->keys; }

static void cancel_fini(struct lt *lt)
{
    free(lt->scs);
    lt->scs = NULL;
}

const struct scenario scenario_cancel = {
    .name = "cancel",
    .default_key = "/flow/spin",
    .init = cancel_init,
    .keys = cancel_keys,
    .ready = cancel_ready,
    .tick = cancel_tick,
    .on_state = cancel_state,
    .on_done = cancel_done,
    .on_cancel_reply = cancel_reply,
    .fini = cancel_fini,
};
