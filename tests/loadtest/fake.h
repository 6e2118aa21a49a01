/* A fake transport and clock for driving the genkit-loadtest core in tests. */
#ifndef LT_FAKE_H
#define LT_FAKE_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lt.h"

#define FAKE_PRE 16
#define FAKE_MAX 64

static uint64_t fake_now = 1000000000ULL;
static char *fake_out[FAKE_MAX];
static int fake_nout;

static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static int fake_send(void *ctx, char *base, size_t len)
{
    (void)ctx;
    if (fake_nout == FAKE_MAX) {
        free(fake_out[0]);
        memmove(fake_out, fake_out + 1, (FAKE_MAX - 1) * sizeof *fake_out);
        fake_nout--;
    }
    char *s = malloc(len + 1);
    memcpy(s, base + FAKE_PRE, len);
    s[len] = '\0';
    free(base);
    fake_out[fake_nout++] = s;
    return 0;
}

static void fake_clear(void)
{
    for (int i = 0; i < fake_nout; i++)
        free(fake_out[i]);
    fake_nout = 0;
}

__attribute__((unused)) static const char *fake_last(void) { return fake_nout ? fake_out[fake_nout - 1] : ""; }

/* Feed one message, printf-style. */
static void feed(struct lt *lt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void feed(struct lt *lt, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lt_message(lt, buf, (size_t)n);
}

/* Create a core on the fake transport and bring it to ready: connect,
 * register, answer listActions with `actions_json`. */
static struct lt *fake_ready(const struct lt_opts *o, const struct scenario *sc,
                             const char *actions_json)
{
    char err[256];
    struct lt *lt = lt_new(o, sc, fake_clock, NULL, err, sizeof err);
    if (!lt) {
        fprintf(stderr, "lt_new: %s\n", err);
        exit(1);
    }
    lt->send = fake_send;
    lt->send_pre = FAKE_PRE;
    lt_connected(lt);
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"register\",\"params\":"
             "{\"id\":\"rt\",\"pid\":4242,\"name\":\"t\",\"reflectionApiSpecVersion\":1}}");
    /* our answer to register, then listActions with id "1" */
    feed(lt, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"result\":{\"actions\":%s}}",
         (unsigned long long)lt->last_id, actions_json);
    return lt;
}

#endif
