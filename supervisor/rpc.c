/* rpc.c - envelope checks, dispatch to methods.c, reply construction. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_check.h"
#include "log.h"
#include "methods.h"
#include "out.h"
#include "sv.h"
#include "ws.h"

struct out *rpc_reply_begin(struct jspan id, size_t extra)
{
	struct out *o = out_new(64 + id.n + extra);
	out_puts(o, "{\"jsonrpc\":\"2.0\",\"id\":");
	if (id.n)
		out_put(o, id.p, id.n);
	else
		out_puts(o, "null");
	return o;
}

struct out *rpc_notify_begin(const char *method, struct jspan request_id,
			     size_t extra)
{
	struct out *o = out_new(96 + request_id.n + extra);
	out_puts(o, "{\"jsonrpc\":\"2.0\",\"method\":\"");
	out_puts(o, method);
	out_puts(o, "\",\"params\":{\"requestId\":");
	out_put(o, request_id.p, request_id.n);
	return o;
}

void rpc_send_result(struct jspan id, const char *raw, size_t n)
{
	struct out *o = rpc_reply_begin(id, n + 16);
	out_puts(o, ",\"result\":");
	out_put(o, raw, n);
	out_puts(o, "}");
	ws_send(sv->ws, o);
}

void rpc_send_error(struct jspan id, int rpc_code, int status,
		    const char *message, const char *trace_id,
		    const char *stack)
{
	size_t ml = strlen(message);
	size_t sl = stack ? strlen(stack) : 0;
	struct out *o = rpc_reply_begin(id, 2 * ml + sl + 160);
	out_printf(o, ",\"error\":{\"code\":%d,\"message\":", rpc_code);
	out_put_jstr(o, message, ml);
	out_printf(o, ",\"data\":{\"code\":%d,\"message\":", status);
	out_put_jstr(o, message, ml);
	out_puts(o, ",\"details\":{");
	if (trace_id) {
		out_puts(o, "\"traceId\":\"");
		out_puts(o, trace_id);
		out_puts(o, "\"");
	}
	if (sl) {
		out_puts(o, trace_id ? ",\"stack\":" : "\"stack\":");
		out_put_jstr(o, stack, sl);
	}
	out_puts(o, "}}}}");
	ws_send(sv->ws, o);
}

void rpc_send_errorf(struct jspan id, int rpc_code, int status,
		     const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpc_send_error(id, rpc_code, status, msg, NULL, NULL);
}

void rpc_send_register(void)
{
	const struct config *c = sv->cfg;
	snprintf(sv->register_id, sizeof(sv->register_id), "%llu",
		 (unsigned long long)++sv->next_request);
	struct out *o = out_new(256);
	out_puts(o, "{\"jsonrpc\":\"2.0\",\"id\":");
	out_put_jstr(o, sv->register_id, strlen(sv->register_id));
	out_puts(o, ",\"method\":\"register\",\"params\":{\"id\":");
	out_put_jstr(o, c->runtime_id, strlen(c->runtime_id));
	out_printf(o, ",\"pid\":%ld,\"name\":", (long)getpid());
	out_put_jstr(o, c->name, strlen(c->name));
	out_puts(o, ",\"genkitVersion\":\"c/" GK_VERSION "\","
		    "\"reflectionApiSpecVersion\":1,\"envs\":[\"dev\"]}}");
	ws_send(sv->ws, o);
	log_debug("sent register (id %s)", sv->register_id);
}

/* A reply to one of our own requests. */
static void on_response(struct jspan id, struct jspan root)
{
	if (!jspan_streq(id, sv->register_id)) {
		log_warn("reply to an unknown request id %.*s", (int)id.n, id.p);
		return;
	}
	struct jspan err = jspan_member(root, "error");
	if (err.n) {
		struct jspan m = jspan_member(err, "message");
		log_warn("the manager rejected register: %.*s", (int)m.n, m.p);
		return;
	}
	struct jspan url = jspan_member(jspan_member(root, "result"),
					"telemetryServerUrl");
	char *u = jspan_strdup(url, NULL);
	if (u) {
		free(sv->telemetry_url);
		sv->telemetry_url = u;
		log_info("registered; telemetry server %s", u);
	} else {
		log_info("registered");
	}
}

void rpc_on_message(struct ws_event *msg)
{
	static const struct jspan none = { NULL, 0 };
	int too_deep;
	if (!json_check_ex(msg->data, msg->len, &too_deep)) {
		log_warn("%s from the manager (%zu bytes) answered with a parse error",
			 too_deep ? "over-nested JSON" : "invalid JSON", msg->len);
		if (too_deep)
			rpc_send_errorf(none, RPC_PARSE_ERROR, 3,
					"Parse error: the message nests deeper than %d levels",
					JSON_CHECK_MAX_DEPTH);
		else
			rpc_send_error(none, RPC_PARSE_ERROR, 3,
				       "Parse error: the message is not valid JSON",
				       NULL, NULL);
		free(msg);
		return;
	}
	struct jspan root = jspan_of(msg->data, msg->len);
	if (jspan_type(root) != J_OBJECT) {
		rpc_send_error(none, RPC_INVALID_REQUEST, 3,
			       "Invalid Request: a message must be a JSON object",
			       NULL, NULL);
		free(msg);
		return;
	}
	struct jspan id = jspan_member(root, "id");
	enum jtype it = jspan_type(id);
	if (it == J_OBJECT || it == J_ARRAY || it == J_TRUE || it == J_FALSE) {
		rpc_send_error(none, RPC_INVALID_REQUEST, 3,
			       "Invalid Request: id must be a string or a number",
			       NULL, NULL);
		free(msg);
		return;
	}
	if (it == J_NULL)
		id = none;
	struct jspan method = jspan_member(root, "method");
	if (!method.n) {
		if (id.n && (jspan_member(root, "result").n ||
			     jspan_member(root, "error").n))
			on_response(id, root);
		else
			rpc_send_error(id, RPC_INVALID_REQUEST, 3,
				       "Invalid Request: no method", NULL, NULL);
		free(msg);
		return;
	}
	char name[64];
	size_t nl;
	char *m = jspan_strdup(method, &nl);
	if (!m || nl >= sizeof(name) || memchr(m, 0, nl)) {
		if (m)
			rpc_send_errorf(id, RPC_METHOD_NOT_FOUND, 12,
					"Method not found: %.64s", m);
		else
			rpc_send_error(id, RPC_INVALID_REQUEST, 3,
				       "Invalid Request: method must be a string",
				       NULL, NULL);
		free(m);
		free(msg);
		return;
	}
	memcpy(name, m, nl + 1);
	free(m);
	struct rpc_req req = {
		.msg = msg,
		.id = id,
		.params = jspan_member(root, "params"),
		.method = name,
	};
	methods_dispatch(&req);
	free(req.msg); /* NULL when a handler kept it */
}
