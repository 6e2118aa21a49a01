/*
 * ws.c - the libwebsockets client, driven from the libevent loop.
 *
 * Debian 12's libwebsockets 4.1.6 has no libevent plugin and no
 * external-poll callbacks, but lws_service(ctx, -1) polls lws's own fds
 * without waiting and services whatever is ready, timers included. So
 * libevent watches the one socket and calls it:
 *   - EV_READ on the socket: the manager sent something; once the link
 *     is up, lws_service_fd() is handed that fd (no second poll);
 *   - EV_WRITE (armed only while output waits on a full socket);
 *   - a flush event activated by ws_send(): every reply produced in one
 *     loop turn leaves in one write;
 *   - a tick: lws's own timers (keepalive ping, hangup, connect timeout)
 *     and the handshake steps, whose readiness lws does not tell us about;
 *   - a kick, when lws_service_adjust_timeout() says lws holds data that no
 *     fd will announce (TLS records, buffered rx).
 * Events for the supervisor (connected, message, ...) are collected while
 * lws runs and handed over after it returns, so handlers never run inside
 * an lws callback. One thread: no locks, no cross-thread wake-ups, which
 * were two of the five context switches every request used to cost.
 */
#include "ws.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "log.h"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 5000u
#define FRAGMENT (128u * 1024u)   /* bytes per outgoing WebSocket frame */
#define WRITES_PER_TURN 64        /* messages per WRITEABLE callback */
#define BATCH_MAX (256u * 1024u)  /* bytes of small messages per write */
#define RX_START 4096u
#define TICK_LINK_MS 250u         /* lws timers while the link is up */
#define TICK_CONNECT_MIN_MS 1u    /* handshake steps: 1 ms doubling ... */
#define TICK_CONNECT_MAX_MS 100u  /* ... to 100 ms */

struct ws {
	struct ws_config cfg;
	char host[256];
	char path[1024];
	int port;
	bool tls;

	struct event_base *base;
	struct lws_context *ctx;
	struct event *rd_ev, *wr_ev;  /* on fd */
	struct event *flush_ev, *tick_ev, *reconnect_ev, *kick_ev;
	int fd;                       /* socket being watched, or -1 */
	unsigned tick_ms;

	struct out *oq_head, *oq_tail;
	struct ws_event *eq_head, *eq_tail; /* for the supervisor */
	size_t pending;               /* bytes queued + in the current message */
	bool high;                    /* pending went over high water */
	bool flush_due;               /* flush_ev is active */
	bool write_failed;            /* close at the next WRITEABLE */

	struct lws *wsi;              /* the attempt or link, NULL when none */
	bool attempt;                 /* a connection attempt/link is alive */
	bool connected;               /* it reached ESTABLISHED */
	bool stopping;
	unsigned backoff_ms;
	struct ws_event *rx;          /* message being reassembled */
	size_t rx_cap;
	size_t rx_seen;
	bool rx_active, rx_dropping;
	unsigned char *batch;         /* LWS_PRE + framed small messages */
	size_t batch_cap;
	struct out *cur;              /* message being written */
	size_t cur_off;
	lws_retry_bo_t retry;
};

/* ---- events for the supervisor ---------------------------------------- */

static void push_event(struct ws *ws, struct ws_event *ev)
{
	ev->next = NULL;
	if (ws->eq_tail)
		ws->eq_tail->next = ev;
	else
		ws->eq_head = ev;
	ws->eq_tail = ev;
}

static void push_simple(struct ws *ws, enum ws_event_type t, size_t len)
{
	struct ws_event *ev = malloc(sizeof(*ev) + 1);
	if (!ev)
		abort();
	ev->type = t;
	ev->len = len;
	ev->data[0] = 0;
	push_event(ws, ev);
}

static void free_events(struct ws_event *ev)
{
	while (ev) {
		struct ws_event *next = ev->next;
		free(ev);
		ev = next;
	}
}

/* After lws returned: handlers may call ws_send() and anything else. */
static void deliver_events(struct ws *ws)
{
	while (ws->eq_head) {
		struct ws_event *ev = ws->eq_head;
		ws->eq_head = ev->next;
		if (!ws->eq_head)
			ws->eq_tail = NULL;
		if (ws->stopping)
			free(ev); /* nobody will act on them any more */
		else
			ws->cfg.on_event(ev, ws->cfg.arg);
	}
}

/* ---- the socket as libevent sees it ----------------------------------- */

static void on_socket(evutil_socket_t fd, short what, void *arg);

static void unwatch(struct ws *ws)
{
	if (ws->rd_ev) {
		event_free(ws->rd_ev);
		event_free(ws->wr_ev);
	}
	ws->rd_ev = ws->wr_ev = NULL;
	ws->fd = -1;
}

/* Follow lws's socket: it changes when lws tries the next address. */
static void watch(struct ws *ws)
{
	int fd = ws->wsi ? (int)lws_get_socket_fd(ws->wsi) : -1;
	if (fd == ws->fd)
		return;
	unwatch(ws);
	if (fd < 0)
		return;
	ws->rd_ev = event_new(ws->base, fd, EV_READ | EV_PERSIST, on_socket, ws);
	ws->wr_ev = event_new(ws->base, fd, EV_WRITE, on_socket, ws);
	if (!ws->rd_ev || !ws->wr_ev || event_add(ws->rd_ev, NULL) < 0)
		abort();
	ws->fd = fd;
}

static void arm_tick(struct ws *ws, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ws->tick_ms = ms;
	evtimer_add(ws->tick_ev, &tv);
}

/*
 * After lws ran (or we wrote): set up what wakes it next and hand the
 * supervisor its events.
 */
static void settle(struct ws *ws)
{
	watch(ws);
	/* Output left over: wait for room, unless the flush that will
	 * write it is due anyway (else each turn would pay two epoll_ctl). */
	if (ws->fd >= 0 && ws->connected &&
	    (lws_partial_buffered(ws->wsi) ||
	     ((ws->cur || ws->oq_head) && !ws->flush_due)))
		event_add(ws->wr_ev, NULL);
	if (ws->attempt && !ws->connected) {
		/* Handshake: lws wants POLLOUT, then POLLIN, and says
		 * neither; poll it often while that lasts. */
		if (!evtimer_pending(ws->tick_ev, NULL))
			arm_tick(ws, TICK_CONNECT_MIN_MS);
	} else if (ws->attempt && ws->tick_ms != TICK_LINK_MS) {
		arm_tick(ws, TICK_LINK_MS);
	}
	deliver_events(ws);
}

/* After lws ran. Data lws holds already (TLS records, rx it buffered)
 * makes no fd readable: run it again next turn, as its own loop would. */
static void serviced(struct ws *ws)
{
	if (ws->attempt && !lws_service_adjust_timeout(ws->ctx, 1, 0))
		event_active(ws->kick_ev, 0, 0);
	settle(ws);
}

static void service(struct ws *ws)
{
	if (lws_service(ws->ctx, -1) < 0)
		log_warn("lws_service failed");
	serviced(ws);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	service(arg);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;
	/* The link is up and libevent has just said the socket is readable:
	 * hand lws that one fd. lws_service() would poll(2) its fds again to
	 * learn the same, a syscall per message. lws's timers run on the
	 * tick; writability and the handshake still go through lws_service(). */
	if (what == EV_READ && ws->connected && ws->wsi) {
		struct lws_pollfd p = { .fd = fd, .events = LWS_POLLIN,
					.revents = LWS_POLLIN };
		if (lws_service_fd(ws->ctx, &p) < 0)
			log_warn("lws_service_fd failed");
		serviced(ws);
		return;
	}
	service(ws);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ws *ws = arg;
	if (!ws->attempt)
		return;
	unsigned next = ws->connected ? TICK_LINK_MS
			: ws->tick_ms * 2 > TICK_CONNECT_MAX_MS ? TICK_CONNECT_MAX_MS
			: ws->tick_ms * 2;
	arm_tick(ws, next);
	service(ws);
}

static int write_queue(struct ws *ws, struct lws *wsi);

/*
 * Write the queue now, without asking lws whether the socket is writable
 * (a poll(2) per loop turn): it almost always is, and when the kernel
 * takes only part, lws keeps the rest and asks for POLLOUT itself. Going
 * through WRITEABLE is left for what only a callback may do: closing.
 */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ws *ws = arg;
	ws->flush_due = false;
	if (!ws->wsi || !ws->connected)
		return;
	if (!ws->stopping && !ws->write_failed &&
	    !lws_partial_buffered(ws->wsi)) {
		if (write_queue(ws, ws->wsi) == 0) {
			if (ws->cur || ws->oq_head)
				lws_callback_on_writable(ws->wsi);
			settle(ws);
			return;
		}
		ws->write_failed = true; /* WRITEABLE closes the link */
	}
	lws_callback_on_writable(ws->wsi);
	service(ws);
}

/* ---- the supervisor's side -------------------------------------------- */

void ws_send(struct ws *ws, struct out *o)
{
	if (!ws->connected || ws->stopping) {
		out_free(o);
		return;
	}
	o->next = NULL;
	bool was_empty = ws->oq_head == NULL;
	if (ws->oq_tail)
		ws->oq_tail->next = o;
	else
		ws->oq_head = o;
	ws->oq_tail = o;
	ws->pending += o->len;
	if (ws->pending > ws->cfg.out_high_water)
		ws->high = true;
	/* Activated, not run: replies of the same loop turn join it. */
	if (was_empty && !ws->flush_due) {
		ws->flush_due = true;
		event_active(ws->flush_ev, 0, 0);
	}
}

size_t ws_pending(struct ws *ws)
{
	return ws->pending;
}

int ws_over_high_water(struct ws *ws)
{
	return ws->high;
}

int ws_connected(struct ws *ws)
{
	return ws->connected;
}

/* ---- link life -------------------------------------------------------- */

static void drop_queue(struct ws *ws)
{
	struct out *o = ws->oq_head;
	ws->oq_head = ws->oq_tail = NULL;
	while (o) {
		struct out *next = o->next;
		out_free(o);
		o = next;
	}
	out_free(ws->cur);
	ws->cur = NULL;
	ws->pending = 0;
	ws->high = false;
}

static void account_written(struct ws *ws, size_t n)
{
	ws->pending -= n;
	if (ws->high && ws->pending < ws->cfg.out_high_water / 2) {
		ws->high = false;
		push_simple(ws, WS_DRAINED, 0);
	}
}

static void schedule_reconnect(struct ws *ws)
{
	if (ws->stopping)
		return;
	log_info("reconnecting to %s in %u ms", ws->cfg.url, ws->backoff_ms);
	struct timeval tv = { ws->backoff_ms / 1000,
			      (ws->backoff_ms % 1000) * 1000 };
	evtimer_add(ws->reconnect_ev, &tv);
	ws->backoff_ms = ws->backoff_ms * 2 > BACKOFF_MAX_MS
				 ? BACKOFF_MAX_MS
				 : ws->backoff_ms * 2;
}

/* The link (or the attempt at one) is over, whatever lws called it. */
static void attempt_over(struct ws *ws, const char *why)
{
	if (!ws->attempt)
		return;
	ws->attempt = false;
	ws->wsi = NULL;
	unwatch(ws); /* before lws closes the fd, which may be reused */
	evtimer_del(ws->tick_ev);
	drop_queue(ws);
	free(ws->rx);
	ws->rx = NULL;
	ws->rx_cap = 0;
	ws->rx_active = false;
	if (ws->connected) {
		log_warn("disconnected from %s (%s)", ws->cfg.url, why);
		push_simple(ws, WS_DISCONNECTED, 0);
	} else {
		log_warn("could not connect to %s (%s)", ws->cfg.url, why);
	}
	ws->connected = false;
	schedule_reconnect(ws);
}

static void connect_attempt(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ws *ws = arg;
	if (ws->stopping)
		return;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = ws->ctx;
	ci.address = ws->host;
	ci.port = ws->port;
	ci.path = ws->path;
	ci.host = ws->host;
	ci.origin = ws->host;
	ci.ssl_connection = ws->tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = "genkit-reflection-v2";
	ci.retry_and_idle_policy = &ws->retry;
	ci.userdata = ws;
	ws->attempt = true;
	ws->connected = false;
	ws->write_failed = false;
	log_debug("connecting to %s", ws->cfg.url);
	/* Name resolution happens in here, synchronously: the manager is
	 * normally on this machine (localhost). */
	struct lws *wsi = lws_client_connect_via_info(&ci);
	if (!wsi) {
		attempt_over(ws, "connect failed at once");
		deliver_events(ws);
		return;
	}
	if (ws->attempt) /* not already failed inside the call */
		ws->wsi = wsi;
	service(ws);
}

/* ---- receiving -------------------------------------------------------- */

static int rx_append(struct ws *ws, const void *in, size_t len)
{
	ws->rx_seen += len;
	if (ws->rx_dropping)
		return 0;
	size_t have = ws->rx ? ws->rx->len : 0;
	if (have + len > ws->cfg.max_message) {
		ws->rx_dropping = true;
		free(ws->rx);
		ws->rx = NULL;
		ws->rx_cap = 0;
		return 0;
	}
	if (!ws->rx || ws->rx_cap < have + len + 1) {
		size_t cap = ws->rx_cap ? ws->rx_cap : RX_START;
		while (cap < have + len + 1)
			cap *= 2;
		struct ws_event *ev = realloc(ws->rx, sizeof(*ev) + cap);
		if (!ev)
			return -1;
		if (!ws->rx)
			ev->len = 0;
		ws->rx = ev;
		ws->rx_cap = cap;
	}
	memcpy(ws->rx->data + ws->rx->len, in, len);
	ws->rx->len += len;
	return 0;
}

static void rx_complete(struct ws *ws)
{
	ws->rx_active = false;
	if (ws->rx_dropping) {
		log_warn("dropped a %zu-byte message: over the %zu-byte limit",
			 ws->rx_seen, ws->cfg.max_message);
		push_simple(ws, WS_TOO_BIG, ws->rx_seen);
		return;
	}
	struct ws_event *ev = ws->rx;
	if (!ev) {
		ev = malloc(sizeof(*ev) + 1);
		if (!ev)
			abort();
		ev->len = 0;
	}
	ws->rx = NULL;
	ws->rx_cap = 0;
	ev->type = WS_MESSAGE;
	ev->data[ev->len] = 0;
	push_event(ws, ev);
}

static int on_receive(struct ws *ws, struct lws *wsi, void *in, size_t len)
{
	if (!ws->rx_active) {
		ws->rx_active = true;
		ws->rx_dropping = false;
		ws->rx_seen = 0;
	}
	if (rx_append(ws, in, len) < 0)
		return -1;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
		rx_complete(ws);
	return 0;
}

/* ---- sending ---------------------------------------------------------- */

/* RFC 6455 5.2 header of a final, masked text frame; returns its length. */
static size_t frame_header(unsigned char *h, size_t len, const unsigned char mask[4])
{
	size_t n = 0;
	h[n++] = 0x81; /* FIN, text */
	if (len < 126) {
		h[n++] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		h[n++] = 0x80 | 126;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(h + n, mask, 4);
	return n + 4;
}

static uint64_t mask_state = 0x9e3779b97f4a7c15ull;

static void next_mask(unsigned char mask[4])
{
	/* splitmix64: masking keys must vary, not be secret (the peer is a
	 * local manager, no proxy cache to poison). */
	uint64_t z = (mask_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	memcpy(mask, &z, 4);
}

/* The head of the queue, if it is at most max_len bytes long. */
static struct out *pop_out(struct ws *ws, size_t max_len)
{
	struct out *o = ws->oq_head;
	if (!o || o->len > max_len)
		return NULL;
	ws->oq_head = o->next;
	if (!ws->oq_head)
		ws->oq_tail = NULL;
	return o;
}

/*
 * Small messages queued together leave in one write: each is framed and
 * masked here (RFC 6455 5.2/5.3) and the batch goes out as raw bytes, one
 * sendto(2) for many messages instead of one each. lws_write() would
 * frame every message in its own syscall. Returns bytes sent, -1 on error.
 */
static int write_batch(struct ws *ws, struct lws *wsi)
{
	size_t used = 0, bytes = 0;
	int count = 0;
	struct out *o;
	while (count < WRITES_PER_TURN && used < BATCH_MAX &&
	       (o = pop_out(ws, FRAGMENT))) {
		size_t need = used + 14 + o->len;
		if (need > ws->batch_cap) {
			size_t cap = ws->batch_cap ? ws->batch_cap : 65536;
			while (cap < need)
				cap *= 2;
			unsigned char *b = realloc(ws->batch, LWS_PRE + cap);
			if (!b)
				abort();
			ws->batch = b;
			ws->batch_cap = cap;
		}
		unsigned char mask[4], *d = ws->batch + LWS_PRE + used;
		next_mask(mask);
		size_t h = frame_header(d, o->len, mask);
		const unsigned char *src = out_data(o);
		for (size_t i = 0; i < o->len; i++)
			d[h + i] = src[i] ^ mask[i & 3];
		used += h + o->len;
		bytes += o->len;
		count++;
		out_free(o);
	}
	if (!used)
		return 0;
	if (lws_write(wsi, ws->batch + LWS_PRE, used, LWS_WRITE_RAW) < (int)used)
		return -1;
	account_written(ws, bytes);
	return (int)used;
}

/* Up to WRITES_PER_TURN batches or fragments; -1 when lws_write failed. */
static int write_queue(struct ws *ws, struct lws *wsi)
{
	for (int i = 0; i < WRITES_PER_TURN; i++) {
		if (!ws->cur) {
			int n = write_batch(ws, wsi);
			if (n < 0)
				return -1;
			if (n > 0) {
				if (lws_partial_buffered(wsi))
					break;
				continue;
			}
			ws->cur = pop_out(ws, SIZE_MAX);
			ws->cur_off = 0;
			if (!ws->cur)
				break;
		}
		struct out *o = ws->cur;
		size_t rem = o->len - ws->cur_off;
		size_t n = rem > FRAGMENT ? FRAGMENT : rem;
		int flags = lws_write_ws_flags(LWS_WRITE_TEXT, ws->cur_off == 0,
					       n == rem);
		if (lws_write(wsi, out_data(o) + ws->cur_off, n,
			      (enum lws_write_protocol)flags) < (int)n)
			return -1;
		ws->cur_off += n;
		account_written(ws, n);
		if (ws->cur_off == o->len) {
			out_free(o);
			ws->cur = NULL;
		}
		/* lws appends to its own buffer when the kernel took only
		 * part: stop there and wait for WRITEABLE. No poll(2) per
		 * message as lws_send_pipe_choked() would do. */
		if (lws_partial_buffered(wsi))
			break;
	}
	return 0;
}

static int on_writeable(struct ws *ws, struct lws *wsi)
{
	if (ws->write_failed || write_queue(ws, wsi) < 0)
		return -1;
	bool more = ws->cur || ws->oq_head;
	if (ws->stopping && !more) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
				 (unsigned char *)"shutdown", 8);
		return -1;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	(void)user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct ws *ws = ctx ? lws_context_user(ctx) : NULL;
	if (!ws)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		ws->wsi = wsi;
		ws->connected = true;
		ws->backoff_ms = BACKOFF_MIN_MS;
		log_info("connected to %s", ws->cfg.url);
		push_simple(ws, WS_CONNECTED, 0);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		attempt_over(ws, in && len ? (const char *)in : "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		attempt_over(ws, "closed");
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		attempt_over(ws, "no WebSocket upgrade");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (ws->attempt && (ws->wsi == wsi || !ws->wsi))
			attempt_over(ws, "connection destroyed");
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(ws, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(ws, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		log_info("manager closed the connection");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "genkit-reflection-v2", callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	if (level & LLL_ERR)
		log_msg(LOG_WARN, "lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

/* ws://host[:port][/path] or wss://...; [v6] hosts allowed. */
static int parse_url(struct ws *ws, const char *url)
{
	const char *p;
	if (!strncmp(url, "ws://", 5)) {
		p = url + 5;
		ws->tls = false;
		ws->port = 80;
	} else if (!strncmp(url, "wss://", 6)) {
		p = url + 6;
		ws->tls = true;
		ws->port = 443;
	} else {
		return -1;
	}
	const char *hend;
	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend)
			return -1;
		p++;
	} else {
		hend = p + strcspn(p, ":/?");
	}
	size_t hl = (size_t)(hend - p);
	if (!hl || hl >= sizeof(ws->host))
		return -1;
	memcpy(ws->host, p, hl);
	ws->host[hl] = 0;
	p = hend + (*hend == ']');
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || port <= 0 || port > 65535)
			return -1;
		ws->port = (int)port;
		p = e;
	}
	if (*p && *p != '/' && *p != '?')
		return -1;
	int n = snprintf(ws->path, sizeof(ws->path), "%s%s",
			 *p == '/' ? "" : "/", p);
	return n > 0 && (size_t)n < sizeof(ws->path) ? 0 : -1;
}

static void ws_free(struct ws *ws)
{
	if (ws->ctx)
		lws_context_destroy(ws->ctx); /* may still call back */
	unwatch(ws);
	drop_queue(ws);
	free(ws->rx);
	free(ws->batch);
	free_events(ws->eq_head);
	if (ws->flush_ev)
		event_free(ws->flush_ev);
	if (ws->tick_ev)
		event_free(ws->tick_ev);
	if (ws->reconnect_ev)
		event_free(ws->reconnect_ev);
	if (ws->kick_ev)
		event_free(ws->kick_ev);
	free(ws);
}

struct ws *ws_start(struct event_base *base, const struct ws_config *cfg)
{
	struct ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->cfg = *cfg;
	ws->base = base;
	ws->fd = -1;
	if (parse_url(ws, cfg->url) < 0) {
		log_err("bad manager URL '%s': want ws://host:port/path", cfg->url);
		free(ws);
		return NULL;
	}
	ws->backoff_ms = BACKOFF_MIN_MS;
	ws->retry.secs_since_valid_ping = (uint16_t)cfg->ping_secs;
	ws->retry.secs_since_valid_hangup = (uint16_t)cfg->hangup_secs;
	ws->flush_ev = event_new(base, -1, 0, on_flush, ws);
	ws->tick_ev = evtimer_new(base, on_tick, ws);
	ws->reconnect_ev = evtimer_new(base, connect_attempt, ws);
	ws->kick_ev = event_new(base, -1, 0, on_kick, ws);
	if (!ws->flush_ev || !ws->tick_ev || !ws->reconnect_ev || !ws->kick_ev)
		goto fail;

	lws_set_log_level(LLL_ERR | (log_get_level() >= LOG_DEBUG ? LLL_WARN : 0),
			  lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = ws;
	info.fd_limit_per_thread = 16;
	info.options = ws->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
	ws->ctx = lws_create_context(&info);
	if (!ws->ctx) {
		log_err("cannot create the WebSocket context");
		goto fail;
	}
	log_info("manager at %s", cfg->url);
	event_active(ws->reconnect_ev, 0, 0); /* first attempt: now */
	return ws;
fail:
	ws_free(ws);
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Outside the event loop (it has returned): write what is queued, close
 * with 1000, and wait for the close to be done or the deadline. */
void ws_stop(struct ws *ws, unsigned timeout_ms)
{
	if (!ws)
		return;
	ws->stopping = true;
	evtimer_del(ws->reconnect_ev);
	long long deadline = now_ms() + timeout_ms;
	if (ws->wsi && ws->connected)
		lws_callback_on_writable(ws->wsi);
	while (ws->attempt && ws->connected) {
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		service(ws);
		if (!ws->attempt || ws->fd < 0)
			break;
		/* lws polls the socket itself (POLLOUT included) in
		 * service(); this only waits for the peer's side. */
		struct pollfd p = { .fd = ws->fd, .events = POLLIN };
		poll(&p, 1, left < 10 ? (int)left : 10);
	}
	ws_free(ws);
}
