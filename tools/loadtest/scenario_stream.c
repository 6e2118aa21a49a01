/* stream: runAction /flow/count {n: --chunks} with stream:true.  Chunks must
 * be {"i":0} .. {"i":n-1} in order, the result n.  Time to first chunk. */
#include "loop.h"
#include "scenarios.h"

#include <stdio.h>
#include <stdlib.h>

struct stream {
    struct loop lp;
    char input[64];
    const char *keys[2];
    unsigned h_ttfc, c_chunks;
};

static int stream_issue(struct lt *lt, uint64_t seq, bool measured, uint64_t intended)
{
    struct stream *s = lt->scs;
    (void)seq;
    struct lt_req *r = lt_run(lt, NULL, s->input, true, false, intended, measured, -1,
                              json_integer(lt->o->chunks));
    if (!r)
        return -1;
    r->expect_chunks = lt->o->chunks;
    return 0;
}

static int stream_init(struct lt *lt, char *err, size_t errlen)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), -1;
    lt->scs = s;
    snprintf(s->input, sizeof s->input, "{\"n\":%u}", lt->o->chunks);
    s->keys[0] = lt->o->key ? lt->o->key : "/flow/count";
    s->h_ttfc = lt_xh(lt, "time_to_first_chunk");
    s->c_chunks = lt_xc(lt, "measured_chunks");
    loop_init(&s->lp, lt, stream_issue);
    return 0;
}

static const char *const *stream_keys(struct lt *lt) { return ((struct stream *)lt->scs)->keys; }
static void stream_ready(struct lt *lt) { loop_fill(&((struct stream *)lt->scs)->lp); }
static void stream_tick(struct lt *lt, uint64_t now) { (void)now; stream_ready(lt); }

static bool stream_chunk(struct lt *lt, struct lt_req *r, json_t *chunk)
{
    struct stream *s = lt->scs;
    if (r->measured) {
        if (!r->chunks)
            hist_add(&lt->st.xh[s->h_ttfc], r->t_first_chunk - r->t_intended);
        lt->st.xc[s->c_chunks]++;
    }
    return chunk_is_index(chunk, r->chunks);
}

static void stream_done(struct lt *lt, struct lt_req *r, enum outcome out)
{
    (void)r;
    (void)out;
    stream_ready(lt);
}

static void stream_fini(struct lt *lt)
{
    free(lt->scs);
    lt->scs = NULL;
}

const struct scenario scenario_stream = {
    .name = "stream",
    .default_key = "/flow/count",
    .init = stream_init,
    .keys = stream_keys,
    .ready = stream_ready,
    .tick = stream_tick,
    .on_chunk = stream_chunk,
    .on_done = stream_done,
    .fini = stream_fini,
};
