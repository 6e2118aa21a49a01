/*
 * ws.h - the WebSocket link to the Genkit manager, on the libevent loop.
 *
 * libwebsockets runs on the loop's own thread: libevent watches the socket
 * and calls lws_service() without waiting (see ws.c for why that works on
 * Debian's lws 4.1, which can neither join a libevent loop nor be polled
 * from outside). ws_send() queues a message; everything queued in one loop
 * turn leaves in one write. Events (connected, message, closed, ...) reach
 * cfg.on_event after lws has returned, never from inside lws.
 * The link reconnects by itself: backoff 500 ms doubling to 5 s.
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
	void (*on_event)(struct ws_event *ev, void *arg); /* takes
					  ownership: free(ev) */
	void *arg;
};

/* Parse the URL, create the lws context and schedule the first connect. The URL is
 * checked here: NULL with a logged reason when it is unusable. */
struct ws *ws_start(struct event_base *base, const struct ws_config *cfg);
/* Queue a message (ownership passes). Dropped when the link is down. */
void ws_send(struct ws *ws, struct out *o);
/* Bytes queued but not yet handed to the kernel. */
size_t ws_pending(struct ws *ws);
/* Over cfg.out_high_water since the last WS_DRAINED: producers pause. */
int ws_over_high_water(struct ws *ws);
int ws_connected(struct ws *ws);
/* After the loop has returned: write what is queued, close the link
 * (normal closure) and free everything; gives up after timeout_ms. */
void ws_stop(struct ws *ws, unsigned timeout_ms);

#endif
