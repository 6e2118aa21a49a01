/*
 * main.c - genkit-supervisor: wires the worker pool, the manager link and
 * the JSON-RPC methods to one libevent loop, and shuts them down in order.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "catalog.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "rpc.h"
#include "run.h"
#include "sv.h"
#include "ws.h"

struct sv *sv;
static struct event *finish_ev;

static void on_ws_event(struct ws_event *ev, void *arg)
{
	(void)arg;
	switch (ev->type) {
	case WS_CONNECTED:
		rpc_send_register();
		break;
	case WS_DISCONNECTED:
		if (sv->n_runs)
			log_warn("link lost: cancelling %zu action(s) whose replies cannot be delivered",
				 sv->n_runs);
		run_cancel_all(1);
		break;
	case WS_MESSAGE:
		rpc_on_message(ev);
		return; /* rpc_on_message owns ev */
	case WS_TOO_BIG: {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "Invalid Request: message of %zu bytes exceeds the %zu-byte limit (--max-message-bytes)",
			 ev->len, sv->cfg->max_message_bytes);
		rpc_send_error((struct jspan){ NULL, 0 }, RPC_INVALID_REQUEST,
			       8, msg, NULL, NULL);
		break;
	}
	case WS_DRAINED:
		pool_pause(sv->pool, false);
		break;
	}
	free(ev);
}

void sv_on_ready(void)
{
	const struct config *c = sv->cfg;
	struct ws_config wc = {
		.url = c->url,
		.max_message = c->max_message_bytes,
		.out_high_water = c->max_message_bytes,
		.ping_secs = c->ping_secs,
		.hangup_secs = c->ping_secs * 3,
		.on_event = on_ws_event,
	};
	sv->ws = ws_start(sv->base, &wc);
	if (!sv->ws) {
		sv->exit_code = 2;
		sv_finish_now();
	}
}

void sv_maybe_finish(void)
{
	if (sv->shutting_down && sv->n_runs == 0)
		event_active(finish_ev, 0, 0);
}

void sv_finish_now(void)
{
	event_active(finish_ev, 0, 0);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(sv->base);
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warn("shutdown: %zu action(s) still running after %u ms: cancelling them",
		 sv->n_runs, sv->cfg->shutdown_timeout_ms);
	run_cancel_all(0);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sv->shutting_down) {
		log_warn("second %s: cancelling everything", strsignal((int)sig));
		run_cancel_all(0);
		sv_finish_now();
		return;
	}
	sv->shutting_down = true;
	log_info("%s: shutting down (%zu action(s) in flight)",
		 strsignal((int)sig), sv->n_runs);
	if (sv->n_runs) {
		unsigned ms = sv->cfg->shutdown_timeout_ms;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		sv->shutdown_timer = evtimer_new(sv->base, on_shutdown_timeout, NULL);
		evtimer_add(sv->shutdown_timer, &tv);
	}
	sv_maybe_finish();
}

int main(int argc, char **argv)
{
	static struct config cfg;
	config_parse(&cfg, argc, argv);
	log_set_level((enum log_level)cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* Make "dies with its parent" hold for us too when a CLI starts us. */
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		abort();
	sv->cfg = &cfg;
	/* Not EVENT_BASE_FLAG_PRECISE_TIMER: it costs a timerfd_settime()
	 * every loop turn. The one timer that must not fire early,
	 * --timeout-ms, checks the real clock itself (run.c). */
	sv->base = event_base_new();
	if (!sv->base) {
		log_err("cannot create the event loop");
		return 1;
	}
	strmap_init(&sv->by_request);
	strmap_init(&sv->by_trace);
	finish_ev = event_new(sv->base, -1, 0, on_finish, NULL);
	sv->sig_term = evsignal_new(sv->base, SIGTERM, on_signal, NULL);
	sv->sig_int = evsignal_new(sv->base, SIGINT, on_signal, NULL);
	event_add(sv->sig_term, NULL);
	event_add(sv->sig_int, NULL);

	sv->pool = pool_new();
	if (pool_start(sv->pool) < 0) {
		log_err("no worker could be started");
		return 1;
	}
	event_base_dispatch(sv->base);

	/* Orderly teardown: flush and close the link, then the workers. */
	if (sv->n_runs)
		run_cancel_all(1);
	ws_stop(sv->ws, 1000);
	sv->ws = NULL;
	pool_stop(sv->pool);
	pool_free(sv->pool);
	catalog_free(sv->catalog);
	strmap_free(&sv->by_request);
	strmap_free(&sv->by_trace);
	free(sv->telemetry_url);
	if (sv->shutdown_timer)
		event_free(sv->shutdown_timer);
	event_free(sv->sig_term);
	event_free(sv->sig_int);
	event_free(finish_ev);
	event_base_free(sv->base);
	int code = sv->exit_code;
	free(sv);
	log_info("stopped");
	return code;
}
