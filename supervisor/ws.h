/*
 * ws.h - the WebSocket link to the Genkit manager, on a thread of its own.
 *
 * Debian's libwebsockets 4.1 can neither join a libevent loop nor be polled
 * from outside, so the socket lives on a thread running lws_service(). Two
 * queues bridge it to the libevent thread:
 *   libevent -> lws: ws_send() queues a message and, when the queue was
 *                   empty, wakes lws with lws_cancel_service();
 *   lws -> libevent: events (connected, message, closed, ...) are queued and
 *                   an eventfd, watched by libevent, is written when the
 *                   queue was empty.
 * The lws thread reconnects by itself: backoff 500 ms doubling to 5 s.
 */
#ifndef GK_WS_H
#define GK_WS_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"

struct ws;
struct event_base;

enum ws_event_type {
	WS_CONNECTED,    /* link up: send register */
	WS_DISCONNECTED, /* link lost; a reconnect is scheduled */
	WS_MESSAGE,      /* one complete text message */
	WS_TOO_BIG,      /* a message over the size limit was dropped */
	WS_DRAINED,      /* outgoing queue fell below the low watermark */
};

struct ws_event {
	struct ws_event *next;
	enum ws_event_type type;
	size_t len;   /* WS_MESSAGE: bytes in data; WS_TOO_BIG: bytes seen */
	char data[];  /* NUL-terminated */
};

struct ws_config {
	const char *url;          /* ws://host:port/path or wss:// */
	size_t max_message;       /* largest incoming message */
	size_t out_high_water;    /* pause producers above this many bytes */
	unsigned ping_secs;       /* send a PING after this much silence */
	unsigned hangup_secs;     /* drop the link without a PONG by then */
	void (*on_event)(struct ws_event *ev, void *arg); /* libevent thread;
					  takes ownership: free(ev) */
	void *arg;
};

/* Parse the URL, create the lws context and start the thread. The URL is
 * checked here: NULL with a logged reason when it is unusable. */
struct ws *ws_start(struct event_base *base, const struct ws_config *cfg);
/* Queue a message (ownership passes). Dropped when the link is down. */
void ws_send(struct ws *ws, struct out *o);
/* Bytes queued but not yet handed to the kernel. */
size_t ws_pending(struct ws *ws);
/* Over cfg.out_high_water since the last WS_DRAINED: producers pause. */
int ws_over_high_water(struct ws *ws);
int ws_connected(struct ws *ws);
/* Close the link (normal closure) and stop reconnecting; returns once the
 * queue has been written or timeout_ms passed, then joins the thread. */
void ws_stop(struct ws *ws, unsigned timeout_ms);

#endif
