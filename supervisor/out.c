/* out.c - growable outgoing message with WebSocket headroom. */
#include "out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

struct out *out_new(size_t hint)
{
	struct out *o = xrealloc(NULL, sizeof(*o));
	o->next = NULL;
	o->len = 0;
	o->cap = hint < 256 ? 256 : hint;
	o->buf = xrealloc(NULL, LWS_PRE + o->cap);
	return o;
}

void out_free(struct out *o)
{
	if (o) {
		free(o->buf);
		free(o);
	}
}

static void reserve(struct out *o, size_t n)
{
	if (o->cap - o->len >= n)
		return;
	size_t cap = o->cap * 2;
	while (cap - o->len < n)
		cap *= 2;
	o->buf = xrealloc(o->buf, LWS_PRE + cap);
	o->cap = cap;
}

void out_put(struct out *o, const void *p, size_t n)
{
	reserve(o, n);
	memcpy(out_data(o) + o->len, p, n);
	o->len += n;
}

void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	reserve(o, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)out_data(o) + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

void out_put_jstr(struct out *o, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	reserve(o, n + 2);
	out_put(o, "\"", 1);
	size_t run = 0; /* bytes copied verbatim, flushed lazily */
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_seq_len(s + i, n - i);
			if (k) {
				i += k;
				run += k;
				continue;
			}
		}
		out_put(o, s + i - run, run);
		run = 0;
		char esc[6];
		switch (c) {
		case '"': out_put(o, "\\\"", 2); break;
		case '\\': out_put(o, "\\\\", 2); break;
		case '\n': out_put(o, "\\n", 2); break;
		case '\r': out_put(o, "\\r", 2); break;
		case '\t': out_put(o, "\\t", 2); break;
		default:
			if (c >= 0x80) {
				out_put(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				out_put(o, esc, 6);
			}
		}
		i++;
	}
	out_put(o, s + n - run, run);
	out_put(o, "\"", 1);
}
