/* ws.c - libwebsockets client thread bridged to the libevent loop. */
#include "ws.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "log.h"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 5000u
#define FRAGMENT (128u * 1024u)   /* bytes per outgoing WebSocket frame */
#define WRITES_PER_TURN 64        /* messages per WRITEABLE callback */
#define BATCH_MAX (256u * 1024u)  /* bytes of small messages per write */
#define RX_START 4096u

struct ws {
	struct ws_config cfg;
	char host[256];
	char path[1024];
	int port;
	bool tls;

	struct lws_context *ctx;
	pthread_t thread;
	bool thread_started;

	/* Shared, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t finished_cv;
	struct out *oq_head, *oq_tail;
	struct ws_event *iq_head, *iq_tail;
	bool stopping, force, finished;

	atomic_size_t pending;    /* bytes queued + in the current message */
	atomic_bool high;         /* pending went over high water */
	atomic_bool connected;

	/* libevent side. */
	int efd;
	struct event *ev;

	/* lws thread only. */
	struct lws *wsi;
	bool attempt;             /* a connection attempt/link is alive */
	bool was_up;              /* it reached ESTABLISHED */
	bool exit_loop;
	bool close_sent;
	unsigned backoff_ms;
	lws_sorted_usec_list_t sul;
	struct ws_event *rx;      /* message being reassembled */
	size_t rx_cap;
	size_t rx_seen;
	bool rx_active, rx_dropping;
	unsigned char *batch;     /* LWS_PRE + framed small messages */
	size_t batch_cap;
	struct out *cur;          /* message being written */
	size_t cur_off;
	lws_retry_bo_t retry;
};

/* ---- lws thread -> libevent thread ------------------------------------ */

static void push_event(struct ws *ws, struct ws_event *ev)
{
	ev->next = NULL;
	pthread_mutex_lock(&ws->mu);
	bool was_empty = ws->iq_head == NULL;
	if (ws->iq_tail)
		ws->iq_tail->next = ev;
	else
		ws->iq_head = ev;
	ws->iq_tail = ev;
	pthread_mutex_unlock(&ws->mu);
	if (was_empty) {
		uint64_t one = 1;
		ssize_t n = write(ws->efd, &one, sizeof(one));
		(void)n; /* a full counter still wakes the reader */
	}
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

static void drain_events(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct ws *ws = arg;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
	pthread_mutex_lock(&ws->mu);
	struct ws_event *ev = ws->iq_head;
	ws->iq_head = ws->iq_tail = NULL;
	pthread_mutex_unlock(&ws->mu);
	while (ev) {
		struct ws_event *next = ev->next;
		ws->cfg.on_event(ev, ws->cfg.arg);
		ev = next;
	}
}

/* ---- libevent thread -> lws thread ------------------------------------ */

void ws_send(struct ws *ws, struct out *o)
{
	if (!atomic_load(&ws->connected)) {
		out_free(o);
		return;
	}
	o->next = NULL;
	size_t len = o->len;
	pthread_mutex_lock(&ws->mu);
	bool was_empty = ws->oq_head == NULL;
	if (ws->oq_tail)
		ws->oq_tail->next = o;
	else
		ws->oq_head = o;
	ws->oq_tail = o;
	pthread_mutex_unlock(&ws->mu);
	size_t p = atomic_fetch_add(&ws->pending, len) + len;
	if (p > ws->cfg.out_high_water)
		atomic_store(&ws->high, true);
	if (was_empty)
		lws_cancel_service(ws->ctx);
}

size_t ws_pending(struct ws *ws)
{
	return atomic_load(&ws->pending);
}

int ws_over_high_water(struct ws *ws)
{
	return atomic_load(&ws->high);
}

int ws_connected(struct ws *ws)
{
	return atomic_load(&ws->connected);
}

/* ---- the lws thread --------------------------------------------------- */

static void drop_queue(struct ws *ws)
{
	pthread_mutex_lock(&ws->mu);
	struct out *o = ws->oq_head;
	ws->oq_head = ws->oq_tail = NULL;
	pthread_mutex_unlock(&ws->mu);
	while (o) {
		struct out *next = o->next;
		out_free(o);
		o = next;
	}
	out_free(ws->cur);
	ws->cur = NULL;
	atomic_store(&ws->pending, 0);
}

static void account_written(struct ws *ws, size_t n)
{
	size_t left = atomic_fetch_sub(&ws->pending, n) - n;
	if (atomic_load(&ws->high) && left < ws->cfg.out_high_water / 2) {
		atomic_store(&ws->high, false);
		push_simple(ws, WS_DRAINED, 0);
	}
}

static void connect_attempt(lws_sorted_usec_list_t *sul);

static void schedule_reconnect(struct ws *ws)
{
	if (ws->stopping) {
		ws->exit_loop = true;
		return;
	}
	log_info("reconnecting to %s in %u ms", ws->cfg.url, ws->backoff_ms);
	lws_sul_schedule(ws->ctx, 0, &ws->sul, connect_attempt,
			 (lws_usec_t)ws->backoff_ms * LWS_US_PER_MS);
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
	atomic_store(&ws->connected, false);
	drop_queue(ws);
	free(ws->rx);
	ws->rx = NULL;
	ws->rx_cap = 0;
	ws->rx_active = false;
	if (ws->was_up) {
		log_warn("disconnected from %s (%s)", ws->cfg.url, why);
		push_simple(ws, WS_DISCONNECTED, 0);
	} else {
		log_warn("could not connect to %s (%s)", ws->cfg.url, why);
	}
	ws->was_up = false;
	schedule_reconnect(ws);
}

static void connect_attempt(lws_sorted_usec_list_t *sul)
{
	struct ws *ws = lws_container_of(sul, struct ws, sul);
	if (ws->stopping) {
		ws->exit_loop = true;
		return;
	}
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
	ws->was_up = false;
	ws->close_sent = false;
	log_debug("connecting to %s", ws->cfg.url);
	if (!lws_client_connect_via_info(&ci)) {
		ws->attempt = true; /* make attempt_over() run */
		attempt_over(ws, "connect failed at once");
	}
}

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
	pthread_mutex_lock(&ws->mu);
	struct out *o = ws->oq_head;
	if (o && o->len <= max_len) {
		ws->oq_head = o->next;
		if (!ws->oq_head)
			ws->oq_tail = NULL;
	} else {
		o = NULL;
	}
	pthread_mutex_unlock(&ws->mu);
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

static int on_writeable(struct ws *ws, struct lws *wsi)
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
	pthread_mutex_lock(&ws->mu);
	bool more = ws->cur || ws->oq_head;
	bool closing = ws->stopping && !more;
	pthread_mutex_unlock(&ws->mu);
	if (closing) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
				 (unsigned char *)"shutdown", 8);
		ws->close_sent = true;
		return -1;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static void on_wakeup(struct ws *ws)
{
	pthread_mutex_lock(&ws->mu);
	bool stopping = ws->stopping, force = ws->force;
	bool more = ws->oq_head != NULL;
	pthread_mutex_unlock(&ws->mu);
	if (stopping && (force || !ws->attempt || !ws->wsi)) {
		lws_sul_cancel(&ws->sul);
		ws->exit_loop = true;
		return;
	}
	if (ws->wsi && atomic_load(&ws->connected) && (more || stopping))
		lws_callback_on_writable(ws->wsi);
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
		ws->was_up = true;
		ws->backoff_ms = BACKOFF_MIN_MS;
		atomic_store(&ws->connected, true);
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
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		on_wakeup(ws);
		break;
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

static void *thread_main(void *arg)
{
	struct ws *ws = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	connect_attempt(&ws->sul);
	while (!ws->exit_loop)
		if (lws_service(ws->ctx, 0) < 0)
			break;
	pthread_mutex_lock(&ws->mu);
	ws->finished = true;
	pthread_cond_signal(&ws->finished_cv);
	pthread_mutex_unlock(&ws->mu);
	return NULL;
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

struct ws *ws_start(struct event_base *base, const struct ws_config *cfg)
{
	struct ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->cfg = *cfg;
	if (parse_url(ws, cfg->url) < 0) {
		log_err("bad manager URL '%s': want ws://host:port/path", cfg->url);
		free(ws);
		return NULL;
	}
	ws->backoff_ms = BACKOFF_MIN_MS;
	ws->retry.secs_since_valid_ping = (uint16_t)cfg->ping_secs;
	ws->retry.secs_since_valid_hangup = (uint16_t)cfg->hangup_secs;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->finished_cv, NULL);
	ws->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ws->efd < 0)
		goto fail;
	ws->ev = event_new(base, ws->efd, EV_READ | EV_PERSIST, drain_events, ws);
	if (!ws->ev || event_add(ws->ev, NULL) < 0)
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
	if (pthread_create(&ws->thread, NULL, thread_main, ws)) {
		log_err("cannot start the WebSocket thread");
		goto fail;
	}
	ws->thread_started = true;
	log_info("manager at %s", cfg->url);
	return ws;
fail:
	if (ws->ctx)
		lws_context_destroy(ws->ctx);
	if (ws->ev)
		event_free(ws->ev);
	if (ws->efd >= 0)
		close(ws->efd);
	free(ws);
	return NULL;
}

void ws_stop(struct ws *ws, unsigned timeout_ms)
{
	if (!ws)
		return;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ws->mu);
	ws->stopping = true;
	pthread_mutex_unlock(&ws->mu);
	lws_cancel_service(ws->ctx);
	pthread_mutex_lock(&ws->mu);
	while (!ws->finished) {
		if (pthread_cond_timedwait(&ws->finished_cv, &ws->mu, &dl) ==
		    ETIMEDOUT) {
			ws->force = true;
			pthread_mutex_unlock(&ws->mu);
			lws_cancel_service(ws->ctx);
			pthread_mutex_lock(&ws->mu);
			dl.tv_sec += 1;
		}
	}
	pthread_mutex_unlock(&ws->mu);
	pthread_join(ws->thread, NULL);
	lws_context_destroy(ws->ctx);
	drop_queue(ws);
	free(ws->rx);
	free(ws->batch);
	event_free(ws->ev);
	close(ws->efd);
	/* Events nobody will read any more. */
	struct ws_event *ev = ws->iq_head;
	while (ev) {
		struct ws_event *next = ev->next;
		free(ev);
		ev = next;
	}
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->finished_cv);
	free(ws);
}
