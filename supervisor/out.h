/*
 * out.h - an outgoing WebSocket text message under construction.
 *
 * The buffer keeps LWS_PRE bytes of headroom in front of the payload so the
 * WebSocket thread can frame it in place, without a copy. Building never
 * fails: allocation failure aborts (the process cannot do anything useful
 * without memory, and a half-written JSON-RPC message would be worse).
 */
#ifndef GK_OUT_H
#define GK_OUT_H

#include <stddef.h>

struct out {
	struct out *next; /* queue link, owned by the WebSocket bridge */
	size_t len;       /* payload bytes */
	size_t cap;       /* payload capacity */
	unsigned char *buf; /* headroom + payload */
};

struct out *out_new(size_t hint);
void out_free(struct out *o);
static inline unsigned char *out_data(const struct out *o);
void out_put(struct out *o, const void *p, size_t n);
void out_puts(struct out *o, const char *s);
void out_printf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a quoted JSON string; invalid UTF-8 becomes U+FFFD. */
void out_put_jstr(struct out *o, const char *s, size_t n);

#include <libwebsockets.h>
static inline unsigned char *out_data(const struct out *o)
{
	return o->buf + LWS_PRE;
}

#endif
