/* JSON-RPC 2.0 framing of Reflection API V2 messages: building outgoing
 * messages into byte buffers (with transport headroom) and classifying
 * incoming ones.  No I/O, no state. */
#ifndef LT_RPC_H
#define LT_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Growable byte buffer with `pre` bytes of headroom before the payload. */
struct sbuf {
    char *base;
    size_t pre, len, cap; /* payload is base[pre .. pre+len) */
    bool oom;
};

void sbuf_init(struct sbuf *b, size_t pre);
void sbuf_put(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_free(struct sbuf *b);
static inline char *sbuf_data(struct sbuf *b) { return b->base + b->pre; }

/* Builders.  Text arguments named *_json must already be valid JSON. */
void rpc_run_action(struct sbuf *b, uint64_t id, const char *key_json,
                    const char *input_json, bool stream, bool stream_input);
void rpc_cancel_action(struct sbuf *b, uint64_t id, const char *trace_id);
void rpc_list_actions(struct sbuf *b, uint64_t id);
void rpc_input_chunk(struct sbuf *b, uint64_t request_id, const char *chunk_json);
void rpc_end_input(struct sbuf *b, uint64_t request_id);
/* Replies to a runtime request; id_json is the request's id re-encoded. */
void rpc_reply_result(struct sbuf *b, const char *id_json, const char *result_json);
void rpc_reply_error(struct sbuf *b, const char *id_json, int code, const char *msg);

enum rpc_kind {
    RPC_BAD,      /* not JSON / not a JSON-RPC 2.0 message: see .why */
    RPC_REQUEST,  /* method + id */
    RPC_NOTIFY,   /* method, no id */
    RPC_RESULT,   /* id + result */
    RPC_ERROR,    /* id + error */
};

struct rpc_msg {
    enum rpc_kind kind;
    int why;               /* for RPC_BAD: 0 = not a JSON object, 1 = bad envelope */
    json_t *root;          /* owned */
    const char *method;
    json_t *id, *params, *result;
    /* RPC_ERROR */
    json_t *err_data;
    long long err_code;
    const char *err_msg;
    bool err_malformed;    /* error object without integer code / string message */
};

void rpc_parse(const char *buf, size_t len, struct rpc_msg *m);
void rpc_msg_free(struct rpc_msg *m);

/* 32 lowercase hex digits, not all zero (W3C trace id). */
bool rpc_trace_id_ok(const char *s);
/* Our ids are decimal strings without sign or leading zero: parse one. */
bool rpc_parse_id(const json_t *id, uint64_t *out);

#endif
