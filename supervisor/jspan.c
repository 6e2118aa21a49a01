/* jspan.c - member lookup and string decoding over validated JSON text. */
#include "jspan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* End of the value starting at p (validated text, so no error paths). */
static const char *skip(const char *p, const char *end)
{
	if (*p == '"') {
		for (p++; p < end; p++) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				return p + 1;
		}
		return end;
	}
	if (*p == '{' || *p == '[') {
		int depth = 0;
		for (; p < end; p++) {
			if (*p == '"') {
				p = skip(p, end) - 1;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if (*p == '}' || *p == ']') {
				if (--depth == 0)
					return p + 1;
			}
		}
		return end;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
	       *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	return p;
}

struct jspan jspan_of(const char *p, size_t n)
{
	const char *end = p + n;
	p = ws(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	return (struct jspan){ p, (size_t)(end - p) };
}

enum jtype jspan_type(struct jspan v)
{
	if (!v.p || !v.n)
		return J_ABSENT;
	switch (v.p[0]) {
	case '{': return J_OBJECT;
	case '[': return J_ARRAY;
	case '"': return J_STRING;
	case 't': return J_TRUE;
	case 'f': return J_FALSE;
	case 'n': return J_NULL;
	default: return J_NUMBER;
	}
}

struct jspan jspan_member(struct jspan o, const char *name)
{
	struct jspan found = { NULL, 0 };
	if (jspan_type(o) != J_OBJECT)
		return found;
	const char *p = o.p + 1, *end = o.p + o.n;
	for (;;) {
		p = ws(p, end);
		if (p >= end || *p != '"')
			return found;
		const char *k = p;
		p = skip(p, end);
		struct jspan key = { k, (size_t)(p - k) };
		p = ws(p, end);
		p = ws(p + 1, end); /* ':' */
		const char *v = p;
		p = skip(p, end);
		if (jspan_streq(key, name))
			found = (struct jspan){ v, (size_t)(p - v) };
		p = ws(p, end);
		if (p >= end || *p != ',')
			return found;
		p++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 32) - 'a' + 10;
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
			  hexval(p[2]) << 4 | hexval(p[3]));
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the body of string value v into d (room for v.n bytes suffices:
 * no escape decodes to more bytes than it occupies). */
static size_t decode(struct jspan v, char *d)
{
	const char *p = v.p + 1, *end = v.p + v.n - 1;
	size_t n = 0;
	while (p < end) {
		if (*p != '\\') {
			d[n++] = *p++;
			continue;
		}
		p++;
		char c = *p++;
		switch (c) {
		case 'b': d[n++] = '\b'; break;
		case 'f': d[n++] = '\f'; break;
		case 'n': d[n++] = '\n'; break;
		case 'r': d[n++] = '\r'; break;
		case 't': d[n++] = '\t'; break;
		case 'u': {
			uint32_t cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u') {
				uint32_t lo = hex4(p + 2);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* lone surrogate */
			n += put_utf8(d + n, cp);
			break;
		}
		default: d[n++] = c; break; /* " \ / */
		}
	}
	return n;
}

char *jspan_strdup(struct jspan v, size_t *len)
{
	if (jspan_type(v) != J_STRING)
		return NULL;
	char *d = malloc(v.n + 1);
	if (!d)
		return NULL;
	size_t n = decode(v, d);
	d[n] = 0;
	if (len)
		*len = n;
	return d;
}

bool jspan_streq(struct jspan v, const char *s)
{
	if (jspan_type(v) != J_STRING)
		return false;
	size_t sl = strlen(s);
	if (!memchr(v.p, '\\', v.n))
		return v.n == sl + 2 && memcmp(v.p + 1, s, sl) == 0;
	char buf[256];
	if (v.n > sizeof(buf))
		return false; /* names we look for are short */
	size_t n = decode(v, buf);
	return n == sl && memcmp(buf, s, sl) == 0;
}
