/* methods.c - the dispatch table and one handler per JSON-RPC method. */
#include "methods.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "ids.h"
#include "log.h"
#include "rpc.h"
#include "run.h"
#include "sv.h"
#include "ws.h"

typedef void (*handler_fn)(struct rpc_req *req);

/* Common parameter complaint: -32602 with an INVALID_ARGUMENT status. */
#define BAD_PARAMS(req, ...) \
	rpc_send_errorf((req)->id, RPC_INVALID_PARAMS, 3, __VA_ARGS__)

static int want_object_params(struct rpc_req *req)
{
	if (jspan_type(req->params) == J_OBJECT)
		return 1;
	if (req->id.n)
		BAD_PARAMS(req, "Invalid params: %s expects an object", req->method);
	else
		log_warn("%s notification without object params dropped",
			 req->method);
	return 0;
}

/* Optional boolean member: 0/1, or -1 after answering a type error. */
static int opt_bool(struct rpc_req *req, const char *name)
{
	struct jspan v = jspan_member(req->params, name);
	switch (jspan_type(v)) {
	case J_ABSENT:
	case J_NULL:
	case J_FALSE:
		return 0;
	case J_TRUE:
		return 1;
	default:
		BAD_PARAMS(req, "Invalid params: '%s' must be a boolean", name);
		return -1;
	}
}

static void list_actions(struct rpc_req *req)
{
	if (!req->id.n)
		return;
	size_t n;
	const char *json = catalog_json(sv->catalog, &n);
	rpc_send_result(req->id, json, n);
}

static void list_values(struct rpc_req *req)
{
	if (!req->id.n || !want_object_params(req))
		return;
	struct jspan t = jspan_member(req->params, "type");
	if (jspan_type(t) != J_STRING) {
		BAD_PARAMS(req, "Invalid params: 'type' must be a string");
		return;
	}
	if (jspan_streq(t, "defaultModel") || jspan_streq(t, "middleware")) {
		rpc_send_result(req->id, "{\"values\":{}}", 13);
		return;
	}
	char *s = jspan_strdup(t, NULL);
	BAD_PARAMS(req, "'type' %.100s is not supported. Only 'defaultModel' and 'middleware' are supported",
		   s ? s : "");
	free(s);
}

/* The action's own limits, mode and sandbox where it set them, else the
 * command-line defaults. */
static void effective_limits(struct run *r, const struct action *a)
{
	const struct config *c = sv->cfg;
	const Gkipc__Limits *o = &a->limits;
	Gkipc__Limits *l = &r->limits;
	gkipc__limits__init(l);
#define PICK(f, d) l->f = o->f ? o->f : (d)
	PICK(timeout_ms, c->timeout_ms);
	PICK(cpu_seconds, c->cpu_seconds);
	PICK(memory_mb, c->memory_mb);
	PICK(max_output_bytes, c->max_output_bytes);
	PICK(max_open_files, c->max_open_files);
	PICK(max_procs, c->max_procs);
#undef PICK
	r->fresh = a->mode[0] ? !strcmp(a->mode, "fresh") : c->fresh;
	r->profile = sandbox_from_name(a->sandbox, c->sandbox);
	if (r->profile < 0)
		r->profile = c->sandbox;
	/* A sandbox contains fork bombs even when nobody set --max-procs. */
	if (!l->max_procs && r->profile != SANDBOX_NONE)
		l->max_procs = SANDBOX_DEFAULT_MAX_PROCS;
}

static void run_action(struct rpc_req *req)
{
	if (!req->id.n) {
		log_warn("runAction sent as a notification: nobody could get its result; dropped");
		return;
	}
	if (!want_object_params(req))
		return;
	struct jspan key = jspan_member(req->params, "key");
	if (jspan_type(key) != J_STRING) {
		BAD_PARAMS(req, "Invalid params: 'key' must be a string");
		return;
	}
	struct jspan ctx = jspan_member(req->params, "context");
	enum jtype ct = jspan_type(ctx);
	if (ct != J_ABSENT && ct != J_NULL && ct != J_OBJECT) {
		BAD_PARAMS(req, "Invalid params: 'context' must be an object");
		return;
	}
	struct jspan labels = jspan_member(req->params, "telemetryLabels");
	enum jtype lt = jspan_type(labels);
	if (lt != J_ABSENT && lt != J_NULL && lt != J_OBJECT) {
		BAD_PARAMS(req, "Invalid params: 'telemetryLabels' must be an object");
		return;
	}
	int stream = opt_bool(req, "stream");
	if (stream < 0)
		return;
	int stream_input = opt_bool(req, "streamInput");
	if (stream_input < 0)
		return;
	size_t kl;
	char *k = jspan_strdup(key, &kl);
	if (!k)
		abort();
	struct action *a = catalog_find(sv->catalog, k, kl);
	if (!a) {
		rpc_send_errorf(req->id, RPC_INVALID_PARAMS, 5,
				"Action not found: %.200s", k);
		free(k);
		return;
	}
	if (sv->shutting_down) {
		rpc_send_error(req->id, RPC_ACTION_ERROR, 14,
			       "Runtime is shutting down", NULL, NULL);
		free(k);
		return;
	}
	struct run *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->id = ++sv->next_run_id;
	r->msg = req->msg;
	req->msg = NULL; /* the run owns the text its spans point into */
	r->req_id = req->id;
	r->key = k;
	r->action = a;
	struct jspan in = jspan_member(req->params, "input");
	r->input = in;
	r->context = ct == J_OBJECT ? ctx : (struct jspan){ NULL, 0 };
	r->stream = stream;
	r->stream_input = stream_input;
	ids_trace(r->trace_id);
	ids_span(r->span_id);
	effective_limits(r, a);
	run_begin(r);
}

static void cancel_action(struct rpc_req *req)
{
	if (!req->id.n || !want_object_params(req))
		return;
	struct jspan t = jspan_member(req->params, "traceId");
	if (jspan_type(t) != J_STRING) {
		BAD_PARAMS(req, "Invalid params: 'traceId' must be a string");
		return;
	}
	size_t n;
	char *tid = jspan_strdup(t, &n);
	struct run *r = tid ? strmap_get(&sv->by_trace, tid, n) : NULL;
	free(tid);
	if (!r || r->cancelled || r->state == RUN_DONE) {
		rpc_send_error(req->id, RPC_INVALID_PARAMS, 5,
			       "Action not found or already completed", NULL,
			       NULL);
		return;
	}
	/* Answer first: the CANCELLED reply of the run follows it. */
	rpc_send_result(req->id, "{\"message\":\"Action cancelled\"}", 30);
	run_cancel(r);
}

static void configure(struct rpc_req *req)
{
	if (jspan_type(req->params) != J_OBJECT)
		return;
	char *u = jspan_strdup(jspan_member(req->params, "telemetryServerUrl"),
			       NULL);
	if (u) {
		free(sv->telemetry_url);
		sv->telemetry_url = u;
		log_info("telemetry server %s", u);
	}
}

static struct run *input_run(struct rpc_req *req)
{
	if (!want_object_params(req))
		return NULL;
	struct jspan rid = jspan_member(req->params, "requestId");
	enum jtype t = jspan_type(rid);
	if (t != J_STRING && t != J_NUMBER) {
		log_warn("%s without a requestId dropped", req->method);
		return NULL;
	}
	struct run *r = strmap_get(&sv->by_request, rid.p, rid.n);
	if (!r) {
		log_warn("%s for unknown request %.*s dropped", req->method,
			 (int)(rid.n > 80 ? 80 : rid.n), rid.p);
		return NULL;
	}
	if (!r->stream_input) {
		log_warn("%s for request %.*s, which has no input stream, dropped",
			 req->method, (int)(rid.n > 80 ? 80 : rid.n), rid.p);
		return NULL;
	}
	return r;
}

static void send_input_chunk(struct rpc_req *req)
{
	struct run *r = input_run(req);
	if (!r)
		return;
	struct jspan chunk = jspan_member(req->params, "chunk");
	if (!chunk.n) {
		log_warn("sendInputStreamChunk without a chunk dropped");
		return;
	}
	run_input(r, req->msg, chunk);
	req->msg = NULL;
}

static void end_input_stream(struct rpc_req *req)
{
	struct run *r = input_run(req);
	if (!r)
		return;
	run_input(r, req->msg, (struct jspan){ NULL, 0 });
	req->msg = NULL;
}

static const struct {
	const char *name;
	handler_fn fn;
} table[] = {
	{ "runAction", run_action },
	{ "streamChunk", NULL }, /* runtime -> manager only */
	{ "sendInputStreamChunk", send_input_chunk },
	{ "endInputStream", end_input_stream },
	{ "cancelAction", cancel_action },
	{ "listActions", list_actions },
	{ "listValues", list_values },
	{ "configure", configure },
};

void methods_dispatch(struct rpc_req *req)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].name, req->method) || !table[i].fn)
			continue;
		table[i].fn(req);
		return;
	}
	if (req->id.n)
		rpc_send_errorf(req->id, RPC_METHOD_NOT_FOUND, 12,
				"Method not found: %s", req->method);
	else
		log_debug("ignoring notification %s", req->method);
}
