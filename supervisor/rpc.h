/*
 * rpc.h - JSON-RPC 2.0 over the manager link: taking messages apart and
 * putting replies together. The method handlers live in methods.c.
 */
#ifndef GK_RPC_H
#define GK_RPC_H

#include <stddef.h>

#include "jspan.h"

struct ws_event;
struct out;

/* JSON-RPC error codes. */
#define RPC_PARSE_ERROR -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602
#define RPC_ACTION_ERROR -32000

/* One incoming request or notification. */
struct rpc_req {
	struct ws_event *msg; /* owner of the text; a handler may take it */
	struct jspan id;      /* {NULL,0} for a notification */
	struct jspan params;
	const char *method;
};

/* Handle one complete message from the manager (takes ownership). */
void rpc_on_message(struct ws_event *msg);

/* The start of a reply, `{"jsonrpc":"2.0","id":ID` (id {NULL,0}: null),
 * and of a run notification, `{"jsonrpc":"2.0","method":"M","params":
 * {"requestId":ID`; the caller appends the rest and closes the braces.
 * extra: expected further bytes. */
struct out *rpc_reply_begin(struct jspan id, size_t extra);
struct out *rpc_notify_begin(const char *method, struct jspan request_id,
			     size_t extra);
/* {"jsonrpc":"2.0","id":ID,"result":RAW}: raw must be valid JSON. */
void rpc_send_result(struct jspan id, const char *raw, size_t n);
/* An error whose data is a Genkit Status {code, message, details}. trace_id
 * and stack may be NULL. */
void rpc_send_error(struct jspan id, int rpc_code, int status,
		    const char *message, const char *trace_id,
		    const char *stack);
/* printf-style message variant, for parameter errors. */
void rpc_send_errorf(struct jspan id, int rpc_code, int status,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Send our register request (after every (re)connect). */
void rpc_send_register(void);

#endif
