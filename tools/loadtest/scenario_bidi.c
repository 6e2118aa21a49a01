/* bidi: runAction /flow/bidiEcho with stream + streamInput, then --chunks
 * sendInputStreamChunk {"i":k} and endInputStream right behind it.  Each
 * chunk must come back in order; the result is the count.
 * --input-after-state holds the input until runActionState (the JS runtime
 * 1.42 drops input that arrives before it has set the run up). */
#include "loop.h"
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>

struct bidi {
    struct loop lp;
    const char *keys[2];
    unsigned h_rtt, c_chunks;
};

/* The input stream, right behind the runAction (or after its state). */
static void send_input(struct lt *lt, struct lt_req *r)
{
    char chunk[32];
    r->t_sent = lt_now(lt); /* chunk round trips count from here */
    for (unsigned k = 0; k < lt->o->chunks; k++) {
        snprintf(chunk, sizeof chunk, "{\"i\":%u}", k);
        lt_input_chunk(lt, r->id, chunk);
    }
    lt_end_input(lt, r->id);
}

static int bidi_issue(struct lt *lt, uint64_t seq, bool measured, uint64_t intended)
{
    (void)seq;
    struct lt_req *r = lt_run(lt, NULL, NULL, true, true, intended, measured, -1,
                              json_integer(lt->o->chunks));
    if (!r)
        return -1;
    r->expect_chunks = lt->o->chunks;
    if (!lt->o->input_after_state)
        send_input(lt, r);
    return 0;
}

static void bidi_state(struct lt *lt, struct lt_req *r)
{
    if (lt->o->input_after_state)
        send_input(lt, r);
}

static int bidi_init(struct lt *lt, char *err, size_t errlen)
{
    struct bidi *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), -1;
    lt->scs = s;
    s->keys[0] = lt->o->key ? lt->o->key : "/flow/bidiEcho";
    s->h_rtt = lt_xh(lt, "chunk_round_trip");
    s->c_chunks = lt_xc(lt, "measured_chunks");
    loop_init(&s->lp, lt, bidi_issue);
    return 0;
}

static const char *const *bidi_keys(struct lt *lt) { return ((struct bidi *)lt->scs)->keys; }
static void bidi_ready(struct lt *lt) { loop_fill(&((struct bidi *)lt->scs)->lp); }
static void bidi_tick(struct lt *lt, uint64_t now) { (void)now; bidi_ready(lt); }

static bool bidi_chunk(struct lt *lt, struct lt_req *r, json_t *chunk)
{
    struct bidi *s = lt->scs;
    if (r->measured) {
        uint64_t now = lt_now(lt);
        hist_add(&lt->st.xh[s->h_rtt], now - r->t_sent);
        lt->st.xc[s->c_chunks]++;
    }
    return chunk_is_index(chunk, r->chunks);
}

static void bidi_done(struct lt *lt, struct lt_req *r, enum outcome out)
{
    (void)r;
    (void)out;
    bidi_ready(lt);
}

static void bidi_fini(struct lt *lt)
{
    free(lt->scs);
    lt->scs = NULL;
}

const struct scenario scenario_bidi = {
    .name = "bidi",
    .default_key = "/flow/bidiEcho",
    .init = bidi_init,
    .keys = bidi_keys,
    .ready = bidi_ready,
    .tick = bidi_tick,
    .on_state = bidi_state,
    .on_chunk = bidi_chunk,
    .on_done = bidi_done,
    .fini = bidi_fini,
};
