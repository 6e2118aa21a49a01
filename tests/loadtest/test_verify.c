/* Reply verification: canned replies from a runtime must land in the
 * right counters (good, wrong id, bad trace id, mismatched result, chunks
 * out of order, errors by status, lost and late). */
#include "check.h"
#include "fake.h"
#include "rpc.h"
#include "scenarios.h"

#define T1 "0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210"

static const char *const test_keys[] = {"/flow/echo", "/flow/count", NULL};
static int n_ready, n_done, last_out = -1;

static const char *const *t_keys(struct lt *lt) { (void)lt; return test_keys; }
static void t_ready(struct lt *lt) { (void)lt; n_ready++; }
static bool t_chunk(struct lt *lt, struct lt_req *r, json_t *c) { (void)lt; return chunk_is_index(c, r->chunks); }
static void t_done(struct lt *lt, struct lt_req *r, enum outcome o) { (void)lt; (void)r; n_done++; last_out = (int)o; }

static const struct scenario test_sc = {
    .name = "test", .default_key = "/flow/echo", .keys = t_keys, .ready = t_ready,
    .on_chunk = t_chunk, .on_done = t_done,
};

static const char actions[] =
    "{\"/flow/echo\":{\"key\":\"/flow/echo\",\"name\":\"echo\"},"
    "\"/flow/count\":{\"key\":\"/flow/count\",\"name\":\"count\"}}";

static struct lt *setup(struct lt_opts *o)
{
    lt_opts_defaults(o);
    o->concurrency = 8;
    fake_clear();
    n_ready = n_done = 0;
    last_out = -1;
    return fake_ready(o, &test_sc, actions);
}

static uint64_t run_echo(struct lt *lt, const char *input)
{
    struct lt_req *r = lt_run(lt, NULL, input, false, false, 0, true, -1,
                              json_loads(input, JSON_DECODE_ANY, NULL));
    CHECK(r != NULL);
    return r ? r->id : 0;
}

static void state(struct lt *lt, uint64_t id, const char *trace)
{
    feed(lt, "{\"jsonrpc\":\"2.0\",\"method\":\"runActionState\",\"params\":"
             "{\"requestId\":\"%llu\",\"state\":{\"traceId\":\"%s\"}}}",
         (unsigned long long)id, trace);
}

static void result(struct lt *lt, uint64_t id, const char *value, const char *trace)
{
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"result\":{\"result\":%s,"
             "\"telemetry\":{\"traceId\":\"%s\"}}}", (unsigned long long)id, value, trace);
}

static void test_handshake(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    /* register answered with {} and the same id; listActions sent first */
    CHECK(fake_nout == 2);
    CHECK(strstr(fake_out[0], "\"id\":\"1\"") && strstr(fake_out[0], "\"result\":{}"));
    CHECK(strstr(fake_out[1], "\"method\":\"listActions\""));
    CHECK(lt->ready && n_ready == 1);
    CHECK_EQ_U(lt->runtime_pid, 4242);
    CHECK_EQ_U(lt_violations(lt), 0);
    /* the runAction message as sent */
    uint64_t id = run_echo(lt, "{\"a\":1}");
    json_t *m = json_loads(fake_last(), 0, NULL);
    CHECK(m != NULL);
    char want_id[24];
    snprintf(want_id, sizeof want_id, "%llu", (unsigned long long)id);
    CHECK(!strcmp(json_string_value(json_object_get(m, "id")), want_id));
    CHECK(!strcmp(json_string_value(json_object_get(m, "method")), "runAction"));
    json_t *p = json_object_get(m, "params");
    CHECK(!strcmp(json_string_value(json_object_get(p, "key")), "/flow/echo"));
    CHECK(json_integer_value(json_object_get(json_object_get(p, "input"), "a")) == 1);
    json_decref(m);
    lt_free(lt);
}

static void test_good(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    uint64_t id = run_echo(lt, "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}");
    fake_now += 1500000;
    state(lt, id, T1);
    /* key order differs: compared canonically */
    result(lt, id, "{\"c\":\"x\",\"a\":[1,2,{\"b\":null}]}", T1);
    CHECK_EQ_U(lt->st.ok, 1);
    CHECK_EQ_U(lt_violations(lt), 0);
    CHECK_EQ_U(lt->st.lat.count, 1);
    CHECK_EQ_U(lt->st.lat.max, 1500000);
    CHECK(last_out == OUT_OK);
    CHECK(lt_verdict(lt) == 0);
    lt_free(lt);
}

static void test_bad_ids(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    uint64_t id = run_echo(lt, "1");
    state(lt, id, T1);
    result(lt, 999, "1", T1); /* never sent */
    CHECK_EQ_U(lt->st.viol[V_UNKNOWN_ID], 1);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":{\"result\":1,\"telemetry\":{\"traceId\":\"" T1 "\"}}}",
         (unsigned long long)id); /* number, not string */
    CHECK_EQ_U(lt->st.viol[V_ID_TYPE], 1);
    CHECK_EQ_U(lt->st.ok, 0);
    result(lt, id, "1", T1);
    CHECK_EQ_U(lt->st.ok, 1);
    result(lt, id, "1", T1); /* twice */
    CHECK_EQ_U(lt->st.viol[V_DUP_REPLY], 1);
    state(lt, 12345, T1); /* notification for no run */
    CHECK_EQ_U(lt->st.viol[V_UNKNOWN_REQUEST_ID], 1);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"method\":\"runActionState\",\"params\":{\"requestId\":7}}");
    CHECK_EQ_U(lt->st.viol[V_BAD_PARAMS], 1);
    CHECK(lt_verdict(lt) == 1);
    lt_free(lt);
}

static void test_trace_ids(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    uint64_t id = run_echo(lt, "1");
    state(lt, id, "0123456789ABCDEF0123456789ABCDEF"); /* upper case */
    CHECK_EQ_U(lt->st.viol[V_BAD_TRACE_ID], 1);
    state(lt, id, "0123456789abcdef"); /* too short */
    CHECK_EQ_U(lt->st.viol[V_BAD_TRACE_ID], 2);
    state(lt, id, T1);
    result(lt, id, "1", T2); /* telemetry differs from runActionState */
    CHECK_EQ_U(lt->st.viol[V_TRACE_MISMATCH], 1);
    /* result without any runActionState */
    id = run_echo(lt, "2");
    result(lt, id, "2", T1);
    CHECK_EQ_U(lt->st.viol[V_MISSING_STATE], 1);
    /* result without telemetry */
    id = run_echo(lt, "3");
    state(lt, id, T1);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"result\":{\"result\":3}}", (unsigned long long)id);
    CHECK_EQ_U(lt->st.viol[V_BAD_RESULT], 1);
    CHECK(!rpc_trace_id_ok("00000000000000000000000000000000"));
    CHECK(rpc_trace_id_ok(T1));
    CHECK(!rpc_trace_id_ok(T1 "0"));
    lt_free(lt);
}

static void test_wrong_result(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    uint64_t id = run_echo(lt, "{\"a\":1}");
    state(lt, id, T1);
    result(lt, id, "{\"a\":2}", T1);
    CHECK_EQ_U(lt->st.viol[V_WRONG_RESULT], 1);
    CHECK_EQ_U(lt->st.wrong, 1);
    CHECK(last_out == OUT_WRONG);
    /* 1 vs 1.0 are different JSON values for json_equal */
    id = run_echo(lt, "{\"a\":1}");
    state(lt, id, T1);
    result(lt, id, "{\"a\":1,\"b\":0}", T1);
    CHECK_EQ_U(lt->st.viol[V_WRONG_RESULT], 2);
    CHECK(lt_verdict(lt) == 1);
    lt_free(lt);
}

static void chunk(struct lt *lt, uint64_t id, int i)
{
    feed(lt, "{\"jsonrpc\":\"2.0\",\"method\":\"streamChunk\",\"params\":"
             "{\"requestId\":\"%llu\",\"chunk\":{\"i\":%d}}}", (unsigned long long)id, i);
}

static void test_chunks(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    /* in order: fine */
    struct lt_req *r = lt_run(lt, "\"/flow/count\"", "{\"n\":3}", true, false, 0, true, -1, json_integer(3));
    r->expect_chunks = 3;
    uint64_t id = r->id;
    state(lt, id, T1);
    for (int i = 0; i < 3; i++)
        chunk(lt, id, i);
    result(lt, id, "3", T1);
    CHECK_EQ_U(lt->st.ok, 1);
    CHECK_EQ_U(lt_violations(lt), 0);
    CHECK_EQ_U(lt->st.chunks, 3);
    /* out of order */
    r = lt_run(lt, "\"/flow/count\"", "{\"n\":3}", true, false, 0, true, -1, json_integer(3));
    r->expect_chunks = 3;
    id = r->id;
    state(lt, id, T1);
    chunk(lt, id, 0);
    chunk(lt, id, 2);
    chunk(lt, id, 1);
    CHECK_EQ_U(lt->st.viol[V_CHUNK_ORDER], 2);
    result(lt, id, "3", T1);
    CHECK_EQ_U(lt->st.viol[V_CHUNK_ORDER], 2);
    /* too few chunks */
    r = lt_run(lt, "\"/flow/count\"", "{\"n\":3}", true, false, 0, true, -1, json_integer(3));
    r->expect_chunks = 3;
    id = r->id;
    state(lt, id, T1);
    chunk(lt, id, 0);
    result(lt, id, "3", T1);
    CHECK_EQ_U(lt->st.viol[V_CHUNK_ORDER], 3);
    CHECK_EQ_U(lt->st.wrong, 1);
    /* chunk before runActionState, chunk on a non-streaming run */
    r = lt_run(lt, "\"/flow/count\"", "{\"n\":1}", true, false, 0, true, -1, NULL);
    chunk(lt, r->id, 0);
    CHECK_EQ_U(lt->st.viol[V_MISSING_STATE], 1);
    id = run_echo(lt, "1");
    state(lt, id, T1);
    chunk(lt, id, 0);
    CHECK_EQ_U(lt->st.viol[V_CHUNK_ORDER], 4);
    lt_free(lt);
}

static void error_reply(struct lt *lt, uint64_t id, int status, const char *trace)
{
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"error\":{\"code\":-32000,\"message\":\"m\","
             "\"data\":{\"code\":%d,\"message\":\"m\",\"details\":{\"traceId\":\"%s\"}}}}",
         (unsigned long long)id, status, trace);
}

static void test_errors(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    /* expected crash: Status 13 */
    struct lt_req *r = lt_run(lt, "\"/flow/crash\"", "{}", false, false, 0, true, 13, NULL);
    uint64_t id = r->id;
    state(lt, id, T1);
    error_reply(lt, id, 13, T1);
    CHECK_EQ_U(lt->st.expected_errors, 1);
    CHECK_EQ_U(lt->st.status[13], 1);
    CHECK(last_out == OUT_EXPECTED_ERROR);
    CHECK(lt_verdict(lt) == 0);
    /* unexpected status on an echo */
    id = run_echo(lt, "1");
    state(lt, id, T1);
    error_reply(lt, id, 14, T1);
    CHECK_EQ_U(lt->st.unexpected_errors, 1);
    CHECK_EQ_U(lt->st.status[14], 1);
    CHECK(last_out == OUT_ERROR);
    CHECK_EQ_U(lt_violations(lt), 0);
    CHECK(lt_verdict(lt) == 1);
    /* error details trace id differs */
    id = run_echo(lt, "1");
    state(lt, id, T1);
    error_reply(lt, id, 2, T2);
    CHECK_EQ_U(lt->st.viol[V_TRACE_MISMATCH], 1);
    /* plain JSON-RPC error: by code; -32000 without a Status: violation */
    id = run_echo(lt, "1");
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"error\":{\"code\":-32602,\"message\":\"nope\"}}",
         (unsigned long long)id);
    CHECK(lt->st.n_rpc_codes == 1 && lt->st.rpc_code[0] == -32602);
    id = run_echo(lt, "1");
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"error\":{\"code\":-32000,\"message\":\"x\"}}",
         (unsigned long long)id);
    CHECK_EQ_U(lt->st.viol[V_BAD_ERROR], 1);
    id = run_echo(lt, "1");
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"error\":\"boom\"}", (unsigned long long)id);
    CHECK_EQ_U(lt->st.viol[V_BAD_ERROR], 2);
    CHECK_EQ_U(lt->pending.n, 0); /* all answered */
    /* success where a crash was expected */
    r = lt_run(lt, "\"/flow/crash\"", "{}", false, false, 0, true, 13, NULL);
    id = r->id;
    state(lt, id, T1);
    result(lt, id, "{}", T1);
    CHECK(last_out == OUT_WRONG);
    CHECK_EQ_U(lt->st.viol[V_WRONG_RESULT], 1);
    lt_free(lt);
}

static void test_garbage(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    feed(lt, "{not json");
    feed(lt, "[1,2]");
    CHECK_EQ_U(lt->st.viol[V_BAD_JSON], 2);
    feed(lt, "{\"id\":\"1\",\"result\":1}"); /* no jsonrpc */
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1,\"error\":{}}");
    feed(lt, "{\"jsonrpc\":\"2.0\"}");
    CHECK_EQ_U(lt->st.viol[V_BAD_ENVELOPE], 3);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"77\",\"method\":\"listActions\"}");
    CHECK_EQ_U(lt->st.viol[V_UNEXPECTED_METHOD], 1);
    CHECK(strstr(fake_last(), "-32601") && strstr(fake_last(), "\"id\":\"77\""));
    lt_message(lt, "", 0);
    lt_message(lt, "\0\0\0", 3);
    CHECK_EQ_U(lt->st.viol[V_BAD_JSON], 4);
    lt_free(lt);
}

static void test_lost_and_late(void)
{
    struct lt_opts o;
    struct lt *lt = setup(&o);
    uint64_t id = run_echo(lt, "1");
    state(lt, id, T1);
    fake_now += 31 * NS_PER_S; /* past the 30 s default timeout */
    lt_tick(lt);
    CHECK_EQ_U(lt->st.lost, 1);
    CHECK_EQ_U(lt->st.timeouts, 1);
    CHECK(last_out == OUT_LOST);
    chunk(lt, id, 0); /* notifications for a timed-out run are ignored */
    result(lt, id, "1", T1);
    CHECK_EQ_U(lt->st.late, 1);
    CHECK_EQ_U(lt_violations(lt), 0);
    CHECK(lt_verdict(lt) == 1);
    /* a disconnect loses what is in flight */
    id = run_echo(lt, "1");
    lt_disconnected(lt);
    CHECK_EQ_U(lt->st.lost, 2);
    CHECK(!lt_can_send(lt));
    lt_free(lt);
}

int main(void)
{
    test_handshake();
    test_good();
    test_bad_ids();
    test_trace_ids();
    test_wrong_result();
    test_chunks();
    test_errors();
    test_garbage();
    test_lost_and_late();
    fake_clear();
    CHECK_DONE();
}
