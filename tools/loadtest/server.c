/* libwebsockets server glue: see server.h. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAG (64 * 1024)           /* outgoing frame size for big messages */
#define WRITES_PER_CALLBACK 512
#define RX_KEEP (1024 * 1024)      /* shrink the rx buffer above this */
#define OUTQ_LIMIT (256u << 20)    /* bytes queued for the runtime */

uint64_t mono_ns(void *unused)
{
    (void)unused;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void q_clear(struct srv *s)
{
    while (s->q_n) {
        free(s->q[s->q_head].base);
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_n--;
    }
    s->q_bytes = 0;
}

/* Core -> transport: queue a message (ownership of base passes to us). */
static int srv_send(void *ctx, char *base, size_t len)
{
    struct srv *s = ctx;
    if (!s->wsi || s->q_bytes + len > s->q_limit) {
        free(base);
        return -1;
    }
    if (s->q_n == s->q_cap) {
        size_t ncap = s->q_cap ? s->q_cap * 2 : 256;
        struct out_msg *nq = malloc(ncap * sizeof *nq);
        if (!nq) {
            free(base);
            return -1;
        }
        for (size_t i = 0; i < s->q_n; i++)
            nq[i] = s->q[(s->q_head + i) % s->q_cap];
        free(s->q);
        s->q = nq;
        s->q_cap = ncap;
        s->q_head = 0;
    }
    s->q[(s->q_head + s->q_n) % s->q_cap] = (struct out_msg){base, len, 0};
    s->q_n++;
    s->q_bytes += len;
    if (s->q_n == 1)
        lws_callback_on_writable(s->wsi);
    return 0;
}

static void core_timer_cb(lws_sorted_usec_list_t *sul);

/* After anything the core did: re-arm its timer, notice the end. */
static void after_core(struct srv *s)
{
    if (s->lt->done) {
        s->stop = true;
        lws_cancel_service(s->ctx);
        return;
    }
    uint64_t w = lt_next_wake(s->lt);
    if (w == UINT64_MAX || w >= s->armed_at)
        return;
    uint64_t now = mono_ns(NULL);
    s->armed_at = w;
    lws_usec_t us = w > now ? (lws_usec_t)((w - now + 999) / 1000) : 0;
    lws_sul_schedule(s->ctx, 0, &s->sul_core, core_timer_cb, us);
}

static void core_timer_cb(lws_sorted_usec_list_t *sul)
{
    struct srv *s = lws_container_of(sul, struct srv, sul_core);
    s->armed_at = UINT64_MAX;
    lt_tick(s->lt);
    after_core(s);
}

static void sample_cb(lws_sorted_usec_list_t *sul)
{
    struct srv *s = lws_container_of(sul, struct srv, sul_sample);
    if (s->on_sample)
        s->on_sample(s->cb_ctx);
    lws_sul_schedule(s->ctx, 0, &s->sul_sample, sample_cb, (lws_usec_t)(s->sample_s * 1e6));
    after_core(s);
}

static void progress_cb(lws_sorted_usec_list_t *sul)
{
    struct srv *s = lws_container_of(sul, struct srv, sul_progress);
    if (s->on_progress)
        s->on_progress(s->cb_ctx);
    lws_sul_schedule(s->ctx, 0, &s->sul_progress, progress_cb, LWS_US_PER_SEC);
}

static int on_rx(struct srv *s, struct lws *wsi, const char *in, size_t len)
{
    if (!s->rx_in_msg) {
        s->rx_in_msg = true;
        s->rx_len = 0;
        s->rx_drop = false;
        s->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!s->rx_drop) {
        if (len > s->max_msg - s->rx_len) {
            lt_violation(s->lt, V_OVERSIZED);
            s->rx_drop = true;
        } else {
            if (s->rx_len + len + 1 > s->rx_cap) {
                size_t ncap = s->rx_cap ? s->rx_cap : 4096;
                while (ncap < s->rx_len + len + 1)
                    ncap *= 2;
                char *p = realloc(s->rx, ncap);
                if (!p) {
                    lt_violation(s->lt, V_OVERSIZED);
                    s->rx_drop = true;
                    goto tail;
                }
                s->rx = p;
                s->rx_cap = ncap;
            }
            memcpy(s->rx + s->rx_len, in, len);
            s->rx_len += len;
        }
    }
tail:
    if (!lws_is_final_fragment(wsi))
        return 0;
    s->rx_in_msg = false;
    if (!s->rx_drop) {
        if (s->rx_binary)
            lt_violation(s->lt, V_BINARY_FRAME);
        else
            lt_message(s->lt, s->rx, s->rx_len);
    }
    if (s->rx_cap > RX_KEEP) {
        free(s->rx);
        s->rx = NULL;
        s->rx_cap = 0;
    }
    after_core(s);
    return 0;
}

static int on_writable(struct srv *s, struct lws *wsi)
{
    for (int i = 0; s->q_n && i < WRITES_PER_CALLBACK && !lws_send_pipe_choked(wsi); i++) {
        struct out_msg *m = &s->q[s->q_head];
        size_t n = m->len - m->off > FRAG ? FRAG : m->len - m->off;
        int flags = lws_write_ws_flags(LWS_WRITE_TEXT, m->off == 0, m->off + n == m->len);
        /* for later fragments the LWS_PRE bytes before off are already-sent
         * payload, free to be overwritten by the frame header */
        if (lws_write(wsi, (unsigned char *)m->base + LWS_PRE + m->off, n,
                      (enum lws_write_protocol)flags) < (int)n)
            return -1;
        m->off += n;
        if (m->off == m->len) {
            s->q_bytes -= m->len;
            free(m->base);
            s->q_head = (s->q_head + 1) % s->q_cap;
            s->q_n--;
        }
    }
    if (s->q_n)
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                    void *in, size_t len)
{
    (void)user;
    struct srv *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (s->wsi || s->lt->done) {
            lwsl_warn("second runtime connection refused\n");
            return -1;
        }
        s->wsi = wsi;
        s->rx_in_msg = false;
        lt_connected(s->lt);
        after_core(s);
        break;
    case LWS_CALLBACK_RECEIVE:
        if (wsi == s->wsi)
            return on_rx(s, wsi, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (wsi == s->wsi)
            return on_writable(s, wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        if (wsi == s->wsi) {
            s->wsi = NULL;
            q_clear(s);
            lt_disconnected(s->lt);
            after_core(s);
        }
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if ((s->signalled && *s->signalled) || s->lt->done)
            s->stop = true;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"genkit-reflection-v2", callback, 0, FRAG, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int srv_init(struct srv *s, struct lt *lt, int port, size_t max_msg, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->lt = lt;
    s->max_msg = max_msg;
    s->q_limit = OUTQ_LIMIT;
    s->armed_at = UINT64_MAX;
    lt->send = srv_send;
    lt->send_ctx = s;
    lt->send_pre = LWS_PRE;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.fd_limit_per_thread = 64;
    info.count_threads = 1;
    info.pt_serv_buf_size = FRAG + LWS_PRE + 256;
    info.user = s;
    info.vhost_name = "genkit-loadtest";
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1:%d", port);
        return -1;
    }
    s->vh = lws_get_vhost_by_name(s->ctx, "genkit-loadtest");
    s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : -1;
    if (s->port <= 0) {
        snprintf(err, errlen, "no listening port");
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        return -1;
    }
    return 0;
}

void srv_run(struct srv *s)
{
    if (s->on_sample)
        lws_sul_schedule(s->ctx, 0, &s->sul_sample, sample_cb, (lws_usec_t)(s->sample_s * 1e6));
    if (s->on_progress)
        lws_sul_schedule(s->ctx, 0, &s->sul_progress, progress_cb, LWS_US_PER_SEC);
    after_core(s);
    while (!s->stop && !s->lt->done && !(s->signalled && *s->signalled))
        if (lws_service(s->ctx, 0) < 0)
            break;
}

void srv_stop(struct srv *s)
{
    s->stop = true;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

void srv_fini(struct srv *s)
{
    if (s->ctx) {
        lws_sul_cancel(&s->sul_core);
        lws_sul_cancel(&s->sul_sample);
        lws_sul_cancel(&s->sul_progress);
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
    }
    s->wsi = NULL;
    q_clear(s);
    free(s->q);
    s->q = NULL;
    free(s->rx);
    s->rx = NULL;
}
