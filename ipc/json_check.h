/*
 * json_check.h - is this byte string exactly one well-formed JSON value?
 *
 * A single pass with no allocation, so the supervisor can relay action
 * results as opaque bytes without trusting the worker that produced them.
 * Strict RFC 8259: no trailing commas, no comments, no NaN, valid UTF-8,
 * whitespace allowed around the value.
 */
#ifndef GK_IPC_JSON_CHECK_H
#define GK_IPC_JSON_CHECK_H

#include <stddef.h>

#define JSON_CHECK_MAX_DEPTH 512

/* 1 if p[0..n) is one valid JSON value, 0 otherwise. */
int json_check(const char *p, size_t n);
/* The same; when it fails, *too_deep says whether only the nesting limit
 * (JSON_CHECK_MAX_DEPTH) was in the way. */
int json_check_ex(const char *p, size_t n, int *too_deep);

/* Bytes of the well-formed UTF-8 sequence at s (at most n bytes), 0 if it
 * is not one: overlong forms, surrogates and code points above U+10FFFF
 * are rejected. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
