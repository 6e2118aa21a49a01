/* Open-loop timing: intended send times, the backlog, and latency measured
 * from the intended time (no coordinated omission), on a fake clock. */
#include "check.h"
#include "fake.h"
#include "olsched.h"
#include "scenarios.h"

#define MS NS_PER_MS
#define T1 "0123456789abcdef0123456789abcdef"

static void test_arithmetic(void)
{
    struct sched s;
    uint64_t k, at;
    sched_init(&s, 5 * NS_PER_S, 1000, 10);
    CHECK_EQ_U(sched_at(&s, 0), 5 * NS_PER_S);
    CHECK_EQ_U(sched_at(&s, 7), 5 * NS_PER_S + 7 * MS);
    CHECK_EQ_U(sched_due(&s, 5 * NS_PER_S - 1), 0);
    CHECK_EQ_U(sched_due(&s, 5 * NS_PER_S), 1);
    CHECK_EQ_U(sched_due(&s, 5 * NS_PER_S + 3 * MS), 4);
    CHECK_EQ_U(sched_due(&s, 5 * NS_PER_S + 3 * MS - 1), 3);
    CHECK(!sched_take(&s, 5 * NS_PER_S - 1, &k, &at));
    CHECK(sched_take(&s, 5 * NS_PER_S + 3 * MS, &k, &at));
    CHECK_EQ_U(k, 0);
    CHECK_EQ_U(at, 5 * NS_PER_S);
    CHECK_EQ_U(sched_due(&s, 5 * NS_PER_S + 3 * MS), 3);
    CHECK_EQ_U(sched_next_at(&s), 5 * NS_PER_S + 1 * MS);
    CHECK_EQ_U(sched_due(&s, 100 * NS_PER_S), 9); /* capped by the limit */
    while (sched_take(&s, 100 * NS_PER_S, &k, &at))
        ;
    CHECK_EQ_U(k, 9);
    CHECK_EQ_U(sched_next_at(&s), UINT64_MAX);
    /* non-integer period: no drift after many requests */
    sched_init(&s, 0, 3, UINT64_MAX);
    CHECK_EQ_U(sched_at(&s, 3000000), 1000000ULL * NS_PER_S);
    CHECK_EQ_U(sched_at(&s, 1), 333333333);
    CHECK_EQ_U(sched_due(&s, 333333333), 2);
    CHECK_EQ_U(sched_due(&s, 333333332), 1);
    CHECK_EQ_U(sched_latency(10, 25), 15);
    CHECK_EQ_U(sched_latency(25, 10), 0);
}

/* ids of the runActions sent so far, in order */
static int sent_ids(uint64_t *ids, int max)
{
    int n = 0;
    for (int i = 0; i < fake_nout && n < max; i++) {
        json_t *m = json_loads(fake_out[i], 0, NULL);
        const char *meth = json_string_value(json_object_get(m, "method"));
        if (meth && !strcmp(meth, "runAction"))
            ids[n++] = strtoull(json_string_value(json_object_get(m, "id")), NULL, 10);
        json_decref(m);
    }
    return n;
}

static void reply(struct lt *lt, uint64_t id)
{
    feed(lt, "{\"jsonrpc\":\"2.0\",\"method\":\"runActionState\",\"params\":"
             "{\"requestId\":\"%llu\",\"state\":{\"traceId\":\"" T1 "\"}}}", (unsigned long long)id);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"result\":{\"result\":{\"a\":1},"
             "\"telemetry\":{\"traceId\":\"" T1 "\"}}}", (unsigned long long)id);
}

static void test_open_loop_latency(void)
{
    struct lt_opts o;
    lt_opts_defaults(&o);
    o.rate = 1000;       /* one request per ms */
    o.requests = 6;
    o.max_inflight = 2;
    fake_clear();
    uint64_t t0 = fake_now;
    struct lt *lt = fake_ready(&o, &scenario_rps,
        "{\"/flow/echo\":{\"key\":\"/flow/echo\",\"name\":\"echo\"}}");
    uint64_t ids[16];
    /* ready at t0: request 0 is due immediately; request 1 at t0+1ms */
    CHECK_EQ_U(sent_ids(ids, 16), 1);
    CHECK_EQ_U(lt_next_wake(lt), t0 + 1 * MS);
    /* the runtime stalls; at t0+5ms only 2 may be in flight */
    fake_now = t0 + 5 * MS;
    lt_tick(lt);
    CHECK_EQ_U(sent_ids(ids, 16), 2);
    /* the first reply at t0+5ms: 5 ms from intended t0 */
    reply(lt, ids[0]);
    CHECK_EQ_U(lt->st.lat.max, 5 * MS);
    /* the backlog goes out at once: request 2 (intended t0+2ms) */
    CHECK_EQ_U(sent_ids(ids, 16), 3);
    fake_now = t0 + 6 * MS;
    reply(lt, ids[2]); /* 4 ms from its intended time, 1 ms from its send */
    CHECK_EQ_U(lt->st.lat.count, 2);
    CHECK_EQ_U(lt->st.lat.min, 4 * MS);
    CHECK_EQ_U(sent_ids(ids, 16), 4); /* request 3 (t0+3ms) */
    reply(lt, ids[1]);                /* t0+1ms -> 5 ms */
    reply(lt, ids[3]);                /* t0+3ms -> 3 ms */
    CHECK_EQ_U(lt->st.lat.min, 3 * MS);
    /* requests 4 and 5 were due at t0+4ms and t0+5ms */
    CHECK_EQ_U(sent_ids(ids, 16), 6);
    fake_now = t0 + 7 * MS;
    reply(lt, ids[4]);
    reply(lt, ids[5]);
    CHECK_EQ_U(lt->st.measured_done, 6);
    CHECK_EQ_U(hist_pct(&lt->st.lat, 100), 5 * MS);
    CHECK(lt->done);
    CHECK_EQ_U(lt->st.t_measure_start, t0);
    CHECK_EQ_U(lt->st.t_measure_end, t0 + 7 * MS);
    CHECK_EQ_U(lt_violations(lt), 0);
    CHECK(lt_verdict(lt) == 0);
    lt_free(lt);
}

static void test_open_loop_on_time(void)
{
    /* a runtime that answers at once: requests leave at their intended times */
    struct lt_opts o;
    lt_opts_defaults(&o);
    o.rate = 200; /* every 5 ms */
    o.requests = 4;
    o.warmup_n = 2;
    fake_clear();
    uint64_t t0 = fake_now;
    struct lt *lt = fake_ready(&o, &scenario_rps,
        "{\"/flow/echo\":{\"key\":\"/flow/echo\",\"name\":\"echo\"}}");
    uint64_t ids[16];
    for (int k = 0; k < 6; k++) {
        CHECK_EQ_U(sent_ids(ids, 16), (unsigned)k + 1);
        fake_now += 1 * MS; /* 1 ms service time */
        reply(lt, ids[k]);
        if (k < 5) {
            CHECK_EQ_U(lt_next_wake(lt), t0 + (uint64_t)(k + 1) * 5 * MS);
            fake_now = lt_next_wake(lt);
            lt_tick(lt);
        }
    }
    CHECK(lt->done);
    CHECK_EQ_U(lt->st.sent, 6);
    CHECK_EQ_U(lt->st.measured_done, 4); /* warm-up excluded */
    CHECK_EQ_U(lt->st.lat.min, 1 * MS);
    CHECK_EQ_U(lt->st.lat.max, 1 * MS);
    CHECK_EQ_U(lt->st.t_measure_start, t0 + 10 * MS);
    lt_free(lt);
}

static void test_closed_loop(void)
{
    struct lt_opts o;
    lt_opts_defaults(&o);
    o.concurrency = 3;
    o.requests = 5;
    fake_clear();
    struct lt *lt = fake_ready(&o, &scenario_rps,
        "{\"/flow/echo\":{\"key\":\"/flow/echo\",\"name\":\"echo\"}}");
    uint64_t ids[16];
    CHECK_EQ_U(sent_ids(ids, 16), 3);
    fake_now += 2 * MS;
    reply(lt, ids[1]);
    CHECK_EQ_U(sent_ids(ids, 16), 4);
    CHECK_EQ_U(lt->st.lat.max, 2 * MS); /* closed loop: from the actual send */
    reply(lt, ids[0]);
    reply(lt, ids[2]);
    CHECK_EQ_U(sent_ids(ids, 16), 5); /* never more than 5 */
    reply(lt, ids[3]);
    CHECK(!lt->done);
    reply(lt, ids[4]);
    CHECK(lt->done);
    CHECK_EQ_U(lt->st.ok, 5);
    lt_free(lt);
}

int main(void)
{
    test_arithmetic();
    test_open_loop_latency();
    test_open_loop_on_time();
    test_closed_loop();
    fake_clear();
    CHECK_DONE();
}
