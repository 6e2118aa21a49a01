/* json_check.c - allocation-free strict JSON validator. */
#include "json_check.h"

#include <stdint.h>

struct jc {
	const unsigned char *p, *end;
	int depth;
	int too_deep;
};

static void skip_ws(struct jc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int lit(struct jc *j, const char *s)
{
	while (*s) {
		if (j->p >= j->end || *j->p != (unsigned char)*s)
			return 0;
		j->p++;
		s++;
	}
	return 1;
}

static int digits(struct jc *j)
{
	const unsigned char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static int number(struct jc *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return 0;
	if (*j->p == '0')
		j->p++;
	else if (!digits(j))
		return 0;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return 0;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return 0;
	}
	return 1;
}

static int hex4(struct jc *j, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		if (j->p >= j->end)
			return 0;
		unsigned c = *j->p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 32) >= 'a' && (c | 32) <= 'f')
			v = v * 16 + ((c | 32) - 'a' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, min;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* One UTF-8 sequence starting at a byte >= 0x80. */
static int utf8(struct jc *j)
{
	size_t k = utf8_seq_len(j->p, (size_t)(j->end - j->p));
	j->p += k;
	return k != 0;
}

static int string(struct jc *j)
{
	j->p++; /* opening quote */
	while (j->p < j->end) {
		unsigned c = *j->p;
		if (c == '"') {
			j->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return 0;
			switch (*j->p) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				j->p++;
				break;
			case 'u': {
				unsigned u;
				j->p++;
				if (!hex4(j, &u))
					return 0;
				break;
			}
			default:
				return 0;
			}
		} else if (c >= 0x80) {
			if (!utf8(j))
				return 0;
		} else {
			j->p++;
		}
	}
	return 0;
}

static int value(struct jc *j);

static int container(struct jc *j, int obj)
{
	unsigned char close = obj ? '}' : ']';
	if (++j->depth > JSON_CHECK_MAX_DEPTH) {
		j->too_deep = 1;
		return 0;
	}
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		if (obj) {
			skip_ws(j);
			if (j->p >= j->end || *j->p != '"' || !string(j))
				return 0;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return 0;
			j->p++;
		}
		if (!value(j))
			return 0;
		skip_ws(j);
		if (j->p >= j->end)
			return 0;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p != close)
			return 0;
		j->p++;
		j->depth--;
		return 1;
	}
}

static int value(struct jc *j)
{
	skip_ws(j);
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{': return container(j, 1);
	case '[': return container(j, 0);
	case '"': return string(j);
	case 't': return lit(j, "true");
	case 'f': return lit(j, "false");
	case 'n': return lit(j, "null");
	default: return number(j);
	}
}

int json_check_ex(const char *p, size_t n, int *too_deep)
{
	if (too_deep)
		*too_deep = 0;
	if (!p) /* before any arithmetic: NULL + 0 is undefined in C */
		return 0;
	struct jc j = { (const unsigned char *)p, (const unsigned char *)p + n, 0, 0 };
	if (!value(&j)) {
		if (too_deep)
			*too_deep = j.too_deep;
		return 0;
	}
	skip_ws(&j);
	return j.p == j.end;
}

int json_check(const char *p, size_t n)
{
	return json_check_ex(p, n, NULL);
}
