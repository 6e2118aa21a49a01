/* The manager-side protocol engine: request table, reply verification,
 * counters, timeouts.  See lt.h. */
#include "lt.h"
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const viol_name[V__COUNT] = {
    [V_BAD_JSON] = "bad_json",
    [V_BAD_ENVELOPE] = "bad_envelope",
    [V_BINARY_FRAME] = "binary_frame",
    [V_OVERSIZED] = "oversized_message",
    [V_ID_TYPE] = "id_not_string",
    [V_UNKNOWN_ID] = "unknown_id",
    [V_DUP_REPLY] = "duplicate_reply",
    [V_BAD_PARAMS] = "bad_notification_params",
    [V_UNKNOWN_REQUEST_ID] = "unknown_request_id",
    [V_BAD_TRACE_ID] = "bad_trace_id",
    [V_TRACE_MISMATCH] = "trace_id_mismatch",
    [V_MISSING_STATE] = "missing_run_action_state",
    [V_BAD_RESULT] = "bad_result_shape",
    [V_WRONG_RESULT] = "wrong_result",
    [V_CHUNK_ORDER] = "chunk_order",
    [V_BAD_ERROR] = "bad_error_object",
    [V_UNEXPECTED_METHOD] = "unexpected_method",
    [V_BAD_REGISTER] = "bad_register",
    [V_BAD_LIST_ACTIONS] = "bad_list_actions",
};

#define LIST_POLL_NS (200 * NS_PER_MS)
#define TIMEOUT_SCAN_NS (100 * NS_PER_MS)
#define LATE_IDS_MAX 65536

void lt_opts_defaults(struct lt_opts *o)
{
    memset(o, 0, sizeof *o);
    o->scenario = "rps";
    o->concurrency = 1;
    o->max_inflight = 10000;
    o->crash_ratio = 0.1;
    o->seed = 1;
    o->timeout_s = 30;
    o->connect_timeout_s = 30;
    o->kill_timeout_s = 5;
    o->sample_s = 0.2;
    o->max_message = 64u << 20;
}

void lt_violation(struct lt *lt, enum viol v)
{
    lt->st.viol[v]++;
    if (lt->o->verbose)
        fprintf(stderr, "genkit-loadtest: protocol violation: %s\n", viol_name[v]);
}

uint64_t lt_violations(const struct lt *lt)
{
    uint64_t n = 0;
    for (int i = 0; i < V__COUNT; i++)
        n += lt->st.viol[i];
    return n;
}

int lt_verdict(const struct lt *lt)
{
    if (lt->fatal)
        return 2;
    if (lt_violations(lt) || lt->st.lost || lt->st.wrong)
        return 1;
    if (lt->st.unexpected_errors && !lt->o->allow_errors)
        return 1;
    return 0;
}

unsigned lt_xh(struct lt *lt, const char *name)
{
    for (unsigned i = 0; i < lt->st.n_xh; i++)
        if (!strcmp(lt->st.xh_name[i], name))
            return i;
    if (lt->st.n_xh >= LT_MAX_XH)
        abort(); /* programming error */
    unsigned i = lt->st.n_xh++;
    lt->st.xh_name[i] = name;
    hist_init(&lt->st.xh[i]);
    return i;
}

unsigned lt_xc(struct lt *lt, const char *name)
{
    for (unsigned i = 0; i < lt->st.n_xc; i++)
        if (!strcmp(lt->st.xc_name[i], name))
            return i;
    if (lt->st.n_xc >= LT_MAX_XC)
        abort();
    unsigned i = lt->st.n_xc++;
    lt->st.xc_name[i] = name;
    return i;
}

const char *lt_key_json(struct lt *lt) { return lt->key_json; }

struct lt *lt_new(const struct lt_opts *o, const struct scenario *sc,
                  uint64_t (*now)(void *), void *now_ctx, char *err, size_t errlen)
{
    struct lt *lt = calloc(1, sizeof *lt);
    if (!lt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    lt->o = o;
    lt->sc = sc;
    lt->now = now;
    lt->now_ctx = now_ctx;
    hist_init(&lt->st.lat);
    uint32_t cap = (o->rate > 0 ? o->max_inflight : o->concurrency) + 16;
    lt->pool_cap = cap;
    lt->pool = calloc(cap, sizeof *lt->pool);
    lt->freelist = calloc(cap, sizeof *lt->freelist);
    if (!lt->pool || !lt->freelist || idmap_init(&lt->pending, cap) ||
        idmap_init(&lt->late, LATE_IDS_MAX)) {
        snprintf(err, errlen, "out of memory");
        lt_free(lt);
        return NULL;
    }
    for (uint32_t i = 0; i < cap; i++)
        lt->freelist[i] = cap - 1 - i;
    lt->nfree = cap;
    lt->t_start = lt_now(lt);
    lt->t_connect_deadline = lt->t_start + (uint64_t)(o->connect_timeout_s * 1e9);
    lt->t_list_poll = UINT64_MAX;
    lt->t_timeout_scan = lt->t_start + TIMEOUT_SCAN_NS;
    lt->t_wake = UINT64_MAX;
    lt->timeout_ns = o->timeout_s > 0 ? (uint64_t)(o->timeout_s * 1e9) : UINT64_MAX;
    const char *key = o->key ? o->key : sc->default_key;
    json_t *k = json_string(key ? key : "");
    char *kj = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
    json_decref(k);
    if (!kj || strlen(kj) >= sizeof lt->key_json) {
        free(kj);
        snprintf(err, errlen, "bad --key");
        lt_free(lt);
        return NULL;
    }
    strcpy(lt->key_json, kj);
    free(kj);
    if (sc->init && sc->init(lt, err, errlen)) {
        lt_free(lt);
        return NULL;
    }
    return lt;
}

void lt_free(struct lt *lt)
{
    if (!lt)
        return;
    if (lt->sc && lt->sc->fini && lt->scs)
        lt->sc->fini(lt);
    if (lt->pool)
        for (uint32_t i = 0; i < lt->pool_cap; i++)
            json_decref(lt->pool[i].expect);
    free(lt->pool);
    free(lt->freelist);
    idmap_free(&lt->pending);
    idmap_free(&lt->late);
    free(lt);
}

/* ---- request table ---- */

static struct lt_req *req_alloc(struct lt *lt, uint8_t kind)
{
    if (!lt->nfree)
        return NULL;
    struct lt_req *r = &lt->pool[lt->freelist[--lt->nfree]];
    memset(r, 0, sizeof *r);
    r->in_use = true;
    r->kind = kind;
    r->expect_status = -1;
    r->expect_chunks = UINT32_MAX;
    r->status = -1;
    r->id = ++lt->last_id;
    return r;
}

static void req_free(struct lt *lt, struct lt_req *r)
{
    json_decref(r->expect);
    r->expect = NULL;
    r->in_use = false;
    lt->freelist[lt->nfree++] = (uint32_t)(r - lt->pool);
}

static int send_buf(struct lt *lt, struct sbuf *b)
{
    if (b->oom || !lt->send) {
        sbuf_free(b);
        return -1;
    }
    char *base = b->base;
    size_t len = b->len;
    sbuf_init(b, b->pre);
    return lt->send(lt->send_ctx, base, len);
}

/* Send the built request and enter it as pending; frees r on failure. */
static int req_send(struct lt *lt, struct lt_req *r, struct sbuf *b)
{
    if (send_buf(lt, b) < 0 || !idmap_put(&lt->pending, r->id, (uint32_t)(r - lt->pool))) {
        req_free(lt, r);
        return -1;
    }
    r->t_sent = lt_now(lt);
    return 0;
}

bool lt_can_send(const struct lt *lt)
{
    return lt->connected && lt->ready && !lt->done && lt->nfree > 0;
}

struct lt_req *lt_run(struct lt *lt, const char *key_json, const char *input_json,
                      bool stream, bool stream_input, uint64_t intended,
                      bool measured, int expect_status, json_t *expect)
{
    if (!lt_can_send(lt)) {
        json_decref(expect);
        return NULL;
    }
    struct lt_req *r = req_alloc(lt, REQ_RUN);
    r->expect = expect;
    r->expect_status = expect_status;
    r->stream = stream;
    r->measured = measured;
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_run_action(&b, r->id, key_json ? key_json : lt->key_json, input_json, stream, stream_input);
    if (req_send(lt, r, &b) < 0)
        return NULL;
    r->t_intended = intended ? intended : r->t_sent;
    lt->st.sent++;
    lt->inflight_runs++;
    if (measured && !lt->measuring && !lt->measured_closed) {
        lt->measuring = true;
        lt->st.t_measure_start = r->t_intended;
        if (lt->on_measure)
            lt->on_measure(lt->measure_ctx, true);
    }
    return r;
}

struct lt_req *lt_cancel(struct lt *lt, const char *trace_id, uint64_t aux)
{
    if (!lt_can_send(lt) || !rpc_trace_id_ok(trace_id))
        return NULL;
    struct lt_req *r = req_alloc(lt, REQ_CANCEL);
    r->aux = aux;
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_cancel_action(&b, r->id, trace_id);
    if (req_send(lt, r, &b) < 0)
        return NULL;
    r->t_intended = r->t_sent;
    return r;
}

int lt_input_chunk(struct lt *lt, uint64_t request_id, const char *chunk_json)
{
    if (!lt->connected)
        return -1;
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_input_chunk(&b, request_id, chunk_json);
    return send_buf(lt, &b);
}

int lt_end_input(struct lt *lt, uint64_t request_id)
{
    if (!lt->connected)
        return -1;
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_end_input(&b, request_id);
    return send_buf(lt, &b);
}

static void send_list(struct lt *lt)
{
    lt->t_list_poll = UINT64_MAX;
    if (!lt->connected || !lt->registered)
        return;
    struct lt_req *r = req_alloc(lt, REQ_LIST);
    if (!r)
        return;
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_list_actions(&b, r->id);
    if (req_send(lt, r, &b) < 0)
        lt->t_list_poll = lt_now(lt) + LIST_POLL_NS;
}

void lt_wake_at(struct lt *lt, uint64_t t)
{
    if (t < lt->t_wake)
        lt->t_wake = t;
}

static void maybe_finish(struct lt *lt)
{
    if (lt->done || !lt->sc_done || lt->pending.n)
        return;
    lt->done = true;
    if (lt->measuring) {
        lt->measuring = false;
        lt->measured_closed = true;
        if (lt->on_measure)
            lt->on_measure(lt->measure_ctx, false);
    }
}

void lt_scenario_done(struct lt *lt)
{
    lt->sc_done = true;
    maybe_finish(lt);
}

/* ---- ending a request without a reply ---- */

static void req_lost(struct lt *lt, struct lt_req *r, bool timeout)
{
    idmap_del(&lt->pending, r->id, NULL);
    idmap_put(&lt->late, r->id, r->kind);
    if (r->kind == REQ_RUN) {
        lt->st.lost++;
        if (timeout)
            lt->st.timeouts++;
        lt->inflight_runs--;
        if (lt->sc->on_done)
            lt->sc->on_done(lt, r, OUT_LOST);
    } else if (r->kind == REQ_CANCEL) {
        lt->st.lost++;
        if (timeout)
            lt->st.timeouts++;
        if (lt->sc->on_cancel_reply)
            lt->sc->on_cancel_reply(lt, r, false);
    } else if (r->kind == REQ_LIST) {
        lt->t_list_poll = lt_now(lt);
    }
    req_free(lt, r);
}

void lt_connected(struct lt *lt)
{
    lt->connected = true;
}

void lt_disconnected(struct lt *lt)
{
    if (!lt->connected)
        return;
    lt->connected = false;
    lt->registered = false;
    if (!lt->done)
        lt->st.disconnects++;
    lt->ready = false;
    for (uint32_t i = 0; i < lt->pool_cap; i++) {
        struct lt_req *r = &lt->pool[i];
        if (!r->in_use)
            continue;
        if (lt->done) { /* shutting down (interrupted): not the runtime's fault */
            if (r->kind == REQ_RUN)
                lt->st.abandoned++;
            idmap_del(&lt->pending, r->id, NULL);
            req_free(lt, r);
        } else {
            req_lost(lt, r, false);
        }
    }
    if (!lt->done)
        lt->t_connect_deadline = lt_now(lt) + (uint64_t)(lt->o->connect_timeout_s * 1e9);
    maybe_finish(lt);
}

/* ---- incoming ---- */

static const char *str_member(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void handle_register(struct lt *lt, struct rpc_msg *m)
{
    const json_t *p = m->params;
    json_t *pid = json_object_get(p, "pid");
    if (!json_is_object(p) || !str_member(p, "id") || !json_is_integer(pid))
        lt_violation(lt, V_BAD_REGISTER);
    else {
        lt->runtime_pid = json_integer_value(pid);
        const char *name = str_member(p, "name");
        snprintf(lt->runtime_name, sizeof lt->runtime_name, "%s", name ? name : "");
    }
    char *idj = json_dumps(m->id, JSON_ENCODE_ANY);
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_reply_result(&b, idj ? idj : "null", "{}");
    free(idj);
    send_buf(lt, &b);
    lt->registered = true;
    send_list(lt);
}

static void handle_request(struct lt *lt, struct rpc_msg *m)
{
    if (!strcmp(m->method, "register")) {
        handle_register(lt, m);
        return;
    }
    lt_violation(lt, V_UNEXPECTED_METHOD);
    char *idj = json_dumps(m->id, JSON_ENCODE_ANY);
    char msg[160];
    snprintf(msg, sizeof msg, "Method not found: %.100s", m->method);
    struct sbuf b;
    sbuf_init(&b, lt->send_pre);
    rpc_reply_error(&b, idj ? idj : "null", -32601, msg);
    free(idj);
    send_buf(lt, &b);
}

/* The pending runAction a notification is about, or NULL (counted). */
static struct lt_req *notif_target(struct lt *lt, const json_t *params)
{
    json_t *rid = json_object_get(params, "requestId");
    uint64_t id;
    if (!json_is_object(params) || !json_is_string(rid)) {
        lt_violation(lt, V_BAD_PARAMS);
        return NULL;
    }
    uint32_t idx;
    if (!rpc_parse_id(rid, &id) || !idmap_get(&lt->pending, id, &idx)) {
        if (!idmap_get(&lt->late, id, NULL)) /* for a timed-out run: ignore */
            lt_violation(lt, V_UNKNOWN_REQUEST_ID);
        return NULL;
    }
    struct lt_req *r = &lt->pool[idx];
    if (r->kind != REQ_RUN) {
        lt_violation(lt, V_UNKNOWN_REQUEST_ID);
        return NULL;
    }
    return r;
}

static void handle_notify(struct lt *lt, struct rpc_msg *m)
{
    if (!strcmp(m->method, "runActionState")) {
        struct lt_req *r = notif_target(lt, m->params);
        if (!r)
            return;
        json_t *state = json_object_get(m->params, "state");
        const char *tid = json_is_object(state) ? str_member(state, "traceId") : NULL;
        if (!tid) {
            lt_violation(lt, V_BAD_PARAMS);
            return;
        }
        if (!rpc_trace_id_ok(tid)) {
            lt_violation(lt, V_BAD_TRACE_ID);
            return;
        }
        if (r->have_state) {
            if (strcmp(r->trace_id, tid))
                lt_violation(lt, V_TRACE_MISMATCH);
            return;
        }
        memcpy(r->trace_id, tid, 33);
        r->have_state = true;
        r->t_state = lt_now(lt);
        if (lt->sc->on_state)
            lt->sc->on_state(lt, r);
    } else if (!strcmp(m->method, "streamChunk")) {
        struct lt_req *r = notif_target(lt, m->params);
        if (!r)
            return;
        json_t *chunk = json_object_get(m->params, "chunk");
        if (!chunk) {
            lt_violation(lt, V_BAD_PARAMS);
            return;
        }
        if (!r->stream) {
            lt_violation(lt, V_CHUNK_ORDER);
            return;
        }
        if (!r->have_state)
            lt_violation(lt, V_MISSING_STATE);
        if (!r->chunks)
            r->t_first_chunk = lt_now(lt);
        if (lt->sc->on_chunk && !lt->sc->on_chunk(lt, r, chunk))
            lt_violation(lt, V_CHUNK_ORDER);
        r->chunks++;
        lt->st.chunks++;
    } else {
        lt_violation(lt, !strcmp(m->method, "register") ? V_BAD_REGISTER : V_UNEXPECTED_METHOD);
    }
}

static void handle_list(struct lt *lt, struct rpc_msg *m)
{
    json_t *acts = m->kind == RPC_RESULT ? json_object_get(m->result, "actions") : NULL;
    if (!json_is_object(acts)) {
        lt_violation(lt, V_BAD_LIST_ACTIONS);
        lt->t_list_poll = lt_now(lt) + LIST_POLL_NS;
        return;
    }
    const char *k;
    json_t *a;
    bool bad = false;
    json_object_foreach(acts, k, a) {
        const char *key = json_is_object(a) ? str_member(a, "key") : NULL;
        if (!key || strcmp(key, k) || !str_member(a, "name"))
            bad = true;
    }
    if (bad)
        lt_violation(lt, V_BAD_LIST_ACTIONS);
    const char *const *need = lt->sc->keys ? lt->sc->keys(lt) : NULL;
    for (; need && *need; need++)
        if (!json_object_get(acts, *need)) {
            if (lt->o->verbose)
                fprintf(stderr, "genkit-loadtest: waiting for action %s\n", *need);
            lt->t_list_poll = lt_now(lt) + LIST_POLL_NS;
            return;
        }
    lt->ready = true;
    if (!lt->t_ready)
        lt->t_ready = lt_now(lt);
    if (lt->sc->ready)
        lt->sc->ready(lt);
}

/* Checks a trace id found in a reply against the runActionState one. */
static void check_trace(struct lt *lt, struct lt_req *r, const char *tid, bool need_state)
{
    if (!rpc_trace_id_ok(tid)) {
        lt_violation(lt, V_BAD_TRACE_ID);
        return;
    }
    if (!r->have_state) {
        if (need_state)
            lt_violation(lt, V_MISSING_STATE);
    } else if (strcmp(tid, r->trace_id)) {
        lt_violation(lt, V_TRACE_MISMATCH);
    }
}

static void count_rpc_code(struct lt *lt, long long code)
{
    struct lt_stats *s = &lt->st;
    for (unsigned i = 0; i < s->n_rpc_codes; i++)
        if (s->rpc_code[i] == code) {
            s->rpc_code_n[i]++;
            return;
        }
    if (s->n_rpc_codes < LT_MAX_RPC_CODES) {
        s->rpc_code[s->n_rpc_codes] = code;
        s->rpc_code_n[s->n_rpc_codes++] = 1;
    } else {
        s->rpc_code_other++;
    }
}

static enum outcome finish_ok(struct lt *lt, struct lt_req *r, struct rpc_msg *m)
{
    json_t *value = NULL;
    if (!json_is_object(m->result)) {
        lt_violation(lt, V_BAD_RESULT);
    } else {
        value = json_object_get(m->result, "result"); /* absent = undefined */
        json_t *tel = json_object_get(m->result, "telemetry");
        const char *tid = json_is_object(tel) ? str_member(tel, "traceId") : NULL;
        if (!tid)
            lt_violation(lt, V_BAD_RESULT);
        else
            check_trace(lt, r, tid, true);
    }
    enum outcome out = OUT_OK;
    if (r->expect_status >= 0)
        out = OUT_WRONG;
    else if (r->expect && !json_equal(r->expect, value ? value : json_null()))
        out = OUT_WRONG;
    if (out == OUT_WRONG)
        lt_violation(lt, V_WRONG_RESULT);
    else if (r->expect_chunks != UINT32_MAX && r->chunks != r->expect_chunks) {
        lt_violation(lt, V_CHUNK_ORDER);
        out = OUT_WRONG;
    }
    if (out == OUT_OK)
        lt->st.ok++;
    else
        lt->st.wrong++;
    return out;
}

static enum outcome finish_err(struct lt *lt, struct lt_req *r, struct rpc_msg *m)
{
    if (m->err_malformed)
        lt_violation(lt, V_BAD_ERROR);
    r->rpc_code = m->err_code;
    if (m->err_code == -32000) {
        json_t *code = json_object_get(m->err_data, "code");
        if (!json_is_object(m->err_data) || !json_is_integer(code) ||
            !str_member(m->err_data, "message") || json_integer_value(code) < 0) {
            lt_violation(lt, V_BAD_ERROR);
        } else {
            long long c = json_integer_value(code);
            r->status = c < LT_NSTATUS ? (int)c : LT_NSTATUS;
            json_t *det = json_object_get(m->err_data, "details");
            json_t *tid = json_object_get(det, "traceId");
            if (tid && !json_is_string(tid))
                lt_violation(lt, V_BAD_TRACE_ID);
            else if (tid)
                check_trace(lt, r, json_string_value(tid), false);
        }
    }
    if (r->status >= 0)
        lt->st.status[r->status]++;
    else
        count_rpc_code(lt, m->err_code);
    if (r->expect_status >= 0 && r->status == r->expect_status) {
        lt->st.expected_errors++;
        return OUT_EXPECTED_ERROR;
    }
    lt->st.unexpected_errors++;
    if (lt->o->verbose)
        fprintf(stderr, "genkit-loadtest: request %llu failed: %lld %s\n",
                (unsigned long long)r->id, m->err_code, m->err_msg);
    return OUT_ERROR;
}

static void handle_reply(struct lt *lt, struct rpc_msg *m)
{
    if (!json_is_string(m->id)) {
        lt_violation(lt, V_ID_TYPE);
        return;
    }
    uint64_t id;
    uint32_t idx;
    if (!rpc_parse_id(m->id, &id)) {
        lt_violation(lt, V_UNKNOWN_ID);
        return;
    }
    if (!idmap_del(&lt->pending, id, &idx)) {
        if (idmap_del(&lt->late, id, NULL))
            lt->st.late++;
        else
            lt_violation(lt, id && id <= lt->last_id ? V_DUP_REPLY : V_UNKNOWN_ID);
        return;
    }
    struct lt_req *r = &lt->pool[idx];
    uint64_t now = lt_now(lt);
    lt->st.replies++;
    switch (r->kind) {
    case REQ_LIST:
        handle_list(lt, m);
        break;
    case REQ_CANCEL: {
        bool ok = false;
        if (m->kind == RPC_RESULT) {
            ok = json_is_object(m->result) && str_member(m->result, "message");
            if (!ok)
                lt_violation(lt, V_BAD_RESULT);
        } else if (m->err_malformed) {
            lt_violation(lt, V_BAD_ERROR);
        }
        if (lt->sc->on_cancel_reply)
            lt->sc->on_cancel_reply(lt, r, ok);
        break;
    }
    case REQ_RUN: {
        enum outcome out = m->kind == RPC_RESULT ? finish_ok(lt, r, m) : finish_err(lt, r, m);
        lt->inflight_runs--;
        if (r->measured) {
            lt->st.measured_done++;
            hist_add(&lt->st.lat, now > r->t_intended ? now - r->t_intended : 0);
            lt->st.t_measure_end = now;
        }
        if (lt->sc->on_done)
            lt->sc->on_done(lt, r, out);
        break;
    }
    }
    req_free(lt, r);
}

void lt_message(struct lt *lt, const char *buf, size_t len)
{
    struct rpc_msg m;
    rpc_parse(buf, len, &m);
    switch (m.kind) {
    case RPC_BAD:
        lt_violation(lt, m.why == 0 ? V_BAD_JSON : V_BAD_ENVELOPE);
        break;
    case RPC_REQUEST:
        handle_request(lt, &m);
        break;
    case RPC_NOTIFY:
        handle_notify(lt, &m);
        break;
    case RPC_RESULT:
    case RPC_ERROR:
        handle_reply(lt, &m);
        break;
    }
    rpc_msg_free(&m);
    maybe_finish(lt);
}

/* ---- time ---- */

void lt_tick(struct lt *lt)
{
    uint64_t now = lt_now(lt);
    if (lt->done)
        return;
    if (!lt->ready && now >= lt->t_connect_deadline) {
        if (!lt->st.sent) {
            lt->fatal = 1;
            snprintf(lt->err, sizeof lt->err,
                     "runtime did not %s within %.0f s", lt->registered ?
                     "list the scenario's actions" : "connect and register",
                     lt->o->connect_timeout_s);
        } else {
            snprintf(lt->err, sizeof lt->err, "runtime did not come back within %.0f s",
                     lt->o->connect_timeout_s);
        }
        lt->sc_done = true;
        lt->done = true;
        return;
    }
    if (now >= lt->t_list_poll)
        send_list(lt);
    if (now >= lt->t_timeout_scan) {
        lt->t_timeout_scan = now + TIMEOUT_SCAN_NS;
        for (uint32_t i = 0; i < lt->pool_cap; i++) {
            struct lt_req *r = &lt->pool[i];
            if (r->in_use && lt->timeout_ns != UINT64_MAX && now > r->t_sent &&
                now - r->t_sent >= lt->timeout_ns)
                req_lost(lt, r, true);
        }
    }
    lt->t_wake = UINT64_MAX;
    if (lt->ready && lt->sc->tick)
        lt->sc->tick(lt, now);
    maybe_finish(lt);
}

uint64_t lt_next_wake(const struct lt *lt)
{
    uint64_t t = lt->t_wake;
    if (lt->pending.n && lt->t_timeout_scan < t)
        t = lt->t_timeout_scan;
    if (lt->t_list_poll < t)
        t = lt->t_list_poll;
    if (!lt->ready && lt->t_connect_deadline < t)
        t = lt->t_connect_deadline;
    return t;
}
