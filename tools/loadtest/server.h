/* The WebSocket side: a libwebsockets server on 127.0.0.1 that accepts one
 * runtime connection at a time, reassembles incoming messages (bounded),
 * queues outgoing ones (bounded) and drives the core's timers with lws_sul. */
#ifndef LT_SERVER_H
#define LT_SERVER_H

#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>

#include "lt.h"

struct out_msg {
    char *base; /* LWS_PRE headroom, then the payload */
    size_t len, off;
};

struct srv {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws *wsi;          /* the runtime's connection */
    struct lt *lt;
    int port;
    bool stop;
    volatile sig_atomic_t *signalled;
    /* outgoing ring */
    struct out_msg *q;
    size_t q_cap, q_head, q_n, q_bytes, q_limit;
    /* incoming reassembly */
    char *rx;
    size_t rx_len, rx_cap, max_msg;
    bool rx_in_msg, rx_drop, rx_binary;
    /* timers */
    lws_sorted_usec_list_t sul_core, sul_sample, sul_progress;
    uint64_t armed_at;
    double sample_s;
    void (*on_sample)(void *ctx);
    void (*on_progress)(void *ctx);
    void *cb_ctx;
};

int srv_init(struct srv *s, struct lt *lt, int port, size_t max_msg, char *err, size_t errlen);
/* Run until the core is done, a signal arrives or srv_stop() */
void srv_run(struct srv *s);
void srv_stop(struct srv *s);
void srv_fini(struct srv *s);
uint64_t mono_ns(void *unused);

#endif
