/*
 * sv.h - the supervisor's state, shared by its modules. Everything here is
 * touched only by the libevent thread.
 */
#ifndef GK_SV_H
#define GK_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "ipc.pb-c.h"
#include "jspan.h"
#include "strmap.h"

struct event_base;
struct event;
struct ws;
struct ws_event;
struct pool;
struct catalog;
struct worker;

/* An input chunk (or the end of input) that arrived while its run waited
 * for a worker. */
struct pending_input {
	struct pending_input *next;
	struct ws_event *msg; /* owns the bytes chunk points into */
	struct jspan chunk;   /* {NULL,0} = end of input */
};

enum run_state { RUN_QUEUED, RUN_RUNNING, RUN_DONE };

struct run {
	uint64_t id;
	enum run_state state;
	struct ws_event *msg;  /* the runAction message; spans point into it */
	struct jspan req_id;   /* raw JSON of the request id (own copy) */
	struct jspan input;    /* raw JSON, {NULL,0} = none */
	struct jspan context;  /* raw JSON object, {NULL,0} = none */
	char *key;
	struct action *action;  /* its avg_us is updated */
	char trace_id[33];
	char span_id[17];
	bool stream, stream_input;
	bool cancelled;        /* cancelAction accepted: the answer is CANCELLED */
	bool silent;           /* the link that asked is gone: send nothing */
	int kill_code;         /* non-zero: status to answer when the worker dies */
	char *kill_message;
	struct worker *worker;
	struct run *qprev, *qnext;     /* wait queue */
	struct pending_input *in_head, *in_tail;
	size_t queued_bytes;
	Gkipc__Limits limits;  /* effective: action override, else default */
	uint64_t out_bytes;    /* result + chunk bytes so far */
	int profile;           /* SANDBOX_* the worker must have */
	bool fresh;            /* needs a process that never ran anything */
	struct event *timeout_ev;
	struct timespec begun_at;      /* run_begin(): --timeout-ms counts from here */
	struct timespec queued_at;
	struct timespec started_at;    /* handed to a worker */
};

struct sv {
	struct event_base *base;
	struct config *cfg;
	struct ws *ws;
	struct pool *pool;
	struct catalog *catalog;
	struct strmap by_request;  /* raw request id -> run */
	struct strmap by_trace;    /* trace id -> run */
	size_t n_runs;
	uint64_t next_run_id;
	uint64_t next_request;     /* ids of our own requests (register) */
	char register_id[24];
	char *telemetry_url;
	bool shutting_down;
	struct event *shutdown_timer;
	struct event *sig_term, *sig_int;
	int exit_code;
};

extern struct sv *sv;

/* Microseconds from t (CLOCK_MONOTONIC) to now. */
static inline int64_t sv_us_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000000 +
	       (now.tv_nsec - t->tv_nsec) / 1000;
}

/* main.c: the first worker reported the catalogue: connect to the manager. */
void sv_on_ready(void);
/* main.c: a run ended; during shutdown the last one lets us exit. */
void sv_maybe_finish(void);
/* main.c: stop at the next loop turn (fatal errors). */
void sv_finish_now(void);

#endif
