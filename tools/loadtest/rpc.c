/* JSON-RPC message building and classification: see rpc.h. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *b, size_t pre)
{
    b->base = NULL;
    b->pre = pre;
    b->len = b->cap = 0;
    b->oom = false;
}

static bool sbuf_reserve(struct sbuf *b, size_t n)
{
    if (b->oom)
        return false;
    size_t need = b->pre + b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->base, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->base = p;
    b->cap = cap;
    return true;
}

void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
    if (!sbuf_reserve(b, n))
        return;
    memcpy(b->base + b->pre + b->len, s, n);
    b->len += n;
    b->base[b->pre + b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s) { sbuf_put(b, s, strlen(s)); }

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->base + b->pre + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sbuf_free(struct sbuf *b)
{
    free(b->base);
    sbuf_init(b, b->pre);
}

void rpc_run_action(struct sbuf *b, uint64_t id, const char *key_json,
                    const char *input_json, bool stream, bool stream_input)
{
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"method\":\"runAction\","
                   "\"params\":{\"key\":", (unsigned long long)id);
    sbuf_puts(b, key_json);
    if (input_json) {
        sbuf_puts(b, ",\"input\":");
        sbuf_puts(b, input_json);
    }
    if (stream)
        sbuf_puts(b, ",\"stream\":true");
    if (stream_input)
        sbuf_puts(b, ",\"streamInput\":true");
    sbuf_puts(b, "}}");
}

void rpc_cancel_action(struct sbuf *b, uint64_t id, const char *trace_id)
{
    /* trace_id was validated as hex: no escaping needed */
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"method\":\"cancelAction\","
                   "\"params\":{\"traceId\":\"%s\"}}", (unsigned long long)id, trace_id);
}

void rpc_list_actions(struct sbuf *b, uint64_t id)
{
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":\"%llu\",\"method\":\"listActions\"}",
                (unsigned long long)id);
}

void rpc_input_chunk(struct sbuf *b, uint64_t request_id, const char *chunk_json)
{
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"method\":\"sendInputStreamChunk\","
                   "\"params\":{\"requestId\":\"%llu\",\"chunk\":", (unsigned long long)request_id);
    sbuf_puts(b, chunk_json);
    sbuf_puts(b, "}}");
}

void rpc_end_input(struct sbuf *b, uint64_t request_id)
{
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"method\":\"endInputStream\","
                   "\"params\":{\"requestId\":\"%llu\"}}", (unsigned long long)request_id);
}

void rpc_reply_result(struct sbuf *b, const char *id_json, const char *result_json)
{
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}", id_json, result_json);
}

void rpc_reply_error(struct sbuf *b, const char *id_json, int code, const char *msg)
{
    json_t *m = json_string(msg ? msg : "");
    char *ms = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
    sbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":%s}}",
                id_json, code, ms ? ms : "\"\"");
    free(ms);
    json_decref(m);
}

void rpc_parse(const char *buf, size_t len, struct rpc_msg *m)
{
    memset(m, 0, sizeof *m);
    m->kind = RPC_BAD;
    m->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (!m->root || !json_is_object(m->root)) {
        m->why = 0;
        return;
    }
    m->why = 1;
    json_t *v = json_object_get(m->root, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
        return;
    m->id = json_object_get(m->root, "id");
    json_t *meth = json_object_get(m->root, "method");
    if (meth) {
        if (!json_is_string(meth))
            return;
        m->method = json_string_value(meth);
        m->params = json_object_get(m->root, "params");
        if (json_object_get(m->root, "result") || json_object_get(m->root, "error"))
            return;
        m->kind = m->id ? RPC_REQUEST : RPC_NOTIFY;
        return;
    }
    if (!m->id)
        return;
    json_t *res = json_object_get(m->root, "result");
    json_t *err = json_object_get(m->root, "error");
    if ((res != NULL) == (err != NULL))
        return;
    if (res) {
        m->result = res;
        m->kind = RPC_RESULT;
        return;
    }
    /* still an answer to `id`: a malformed error object is flagged, not dropped */
    m->kind = RPC_ERROR;
    json_t *code = json_object_get(err, "code");
    json_t *msg = json_object_get(err, "message");
    m->err_malformed = !json_is_object(err) || !json_is_integer(code) || !json_is_string(msg);
    m->err_code = json_is_integer(code) ? json_integer_value(code) : 0;
    m->err_msg = json_is_string(msg) ? json_string_value(msg) : "";
    m->err_data = json_object_get(err, "data");
}

void rpc_msg_free(struct rpc_msg *m)
{
    json_decref(m->root);
    m->root = NULL;
}

bool rpc_trace_id_ok(const char *s)
{
    if (!s)
        return false;
    bool nonzero = false;
    for (int i = 0; i < 32; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            nonzero = true;
    }
    return s[32] == '\0' && nonzero;
}

bool rpc_parse_id(const json_t *id, uint64_t *out)
{
    if (!json_is_string(id))
        return false;
    const char *s = json_string_value(id);
    size_t n = json_string_length(id);
    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}
