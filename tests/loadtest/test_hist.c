/* Histogram math: bucket layout, percentiles of known distributions within
 * the documented 1 % bound, min/max, merge. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "hist.h"

static int within(double got, double want, double rel)
{
    return fabs(got - want) <= rel * want;
}

static void test_layout(void)
{
    /* every value lies in its bucket; buckets are <= 1/128 of their bound wide */
    uint64_t v = 1;
    for (int i = 0; i < 200000; i++) {
        unsigned idx = hist_index(v);
        CHECK(idx < HIST_NBUCKETS);
        if (v < (1ULL << HIST_MAX_EXP)) {
            CHECK(hist_lower(idx) <= v && v < hist_lower(idx) + hist_width(idx));
            CHECK(hist_width(idx) == 1 || hist_width(idx) * 128 <= hist_lower(idx));
        }
        v = v + 1 + v / 97;
        if (v > (1ULL << 40))
            break;
    }
    for (uint64_t x = 0; x < 128; x++)
        CHECK_EQ_U(hist_lower(hist_index(x)), x); /* exact below 128 ns */
    /* consecutive buckets tile the range */
    for (unsigned i = 0; i + 1 < HIST_NBUCKETS; i++)
        CHECK_EQ_U(hist_lower(i) + hist_width(i), hist_lower(i + 1));
    CHECK_EQ_U(hist_index(UINT64_MAX), HIST_NBUCKETS - 1);
}

static void test_uniform(void)
{
    /* 1 .. 10000 us, each once: exact percentile k% is k*100 us */
    struct hist h;
    hist_init(&h);
    for (uint64_t us = 1; us <= 10000; us++)
        hist_add(&h, us * 1000);
    CHECK_EQ_U(h.count, 10000);
    CHECK_EQ_U(h.min, 1000);
    CHECK_EQ_U(h.max, 10000000);
    const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = ceil(ps[i] / 100.0 * 10000) * 1000;
        double got = (double)hist_pct(&h, ps[i]);
        if (!within(got, want, 0.01))
            fprintf(stderr, "p%g: got %.0f want %.0f\n", ps[i], got, want);
        CHECK(within(got, want, 0.01));
    }
    CHECK_EQ_U(hist_pct(&h, 100), 10000000);
    CHECK_EQ_U(hist_pct(&h, 0), 1000);
    CHECK(within(hist_mean(&h), 5000500, 1e-9));
}

static void test_exponential_and_extremes(void)
{
    /* geometric spread 1 us .. 100 s: every percentile within 1 % */
    struct hist h;
    hist_init(&h);
    uint64_t vals[2000];
    for (int i = 0; i < 2000; i++) {
        vals[i] = (uint64_t)(1000.0 * pow(1e8, i / 1999.0));
        hist_add(&h, vals[i]);
    }
    for (int p = 1; p < 100; p++) {
        size_t rank = (size_t)ceil(p / 100.0 * 2000);
        CHECK(within((double)hist_pct(&h, p), (double)vals[rank - 1], 0.01));
    }
    CHECK_EQ_U(h.max, vals[1999]);
    /* one sample: every percentile is that sample */
    struct hist one;
    hist_init(&one);
    hist_add(&one, 123456789);
    CHECK_EQ_U(hist_pct(&one, 50), 123456789);
    CHECK_EQ_U(hist_pct(&one, 99.9), 123456789);
    /* beyond the range: top bucket, exact max */
    hist_add(&one, 1ULL << 45);
    CHECK_EQ_U(hist_pct(&one, 100), 1ULL << 45);
    struct hist empty;
    hist_init(&empty);
    CHECK_EQ_U(hist_pct(&empty, 50), 0);
    CHECK(hist_mean(&empty) == 0);
}

static void test_merge(void)
{
    static struct hist a, b, all;
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    srand(7);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = 1000 + (uint64_t)rand() % 5000000;
        hist_add(i & 1 ? &a : &b, v);
        hist_add(&all, v);
    }
    hist_merge(&a, &b);
    CHECK_EQ_U(a.count, all.count);
    CHECK_EQ_U(a.min, all.min);
    CHECK_EQ_U(a.max, all.max);
    for (unsigned i = 0; i < HIST_NBUCKETS; i++)
        CHECK_EQ_U(a.b[i], all.b[i]);
    CHECK_EQ_U(hist_pct(&a, 99), hist_pct(&all, 99));
    struct hist e;
    hist_init(&e);
    hist_merge(&a, &e); /* empty merge is a no-op */
    CHECK_EQ_U(a.min, all.min);
}

int main(void)
{
    test_layout();
    test_uniform();
    test_exponential_and_extremes();
    test_merge();
    CHECK_DONE();
}
