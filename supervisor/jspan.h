/*
 * jspan.h - walk an already validated JSON text without building a tree.
 *
 * The supervisor relays inputs, results and chunks as opaque bytes: it only
 * needs to find a few members of the JSON-RPC envelope and the raw extent
 * of the rest. Every function here assumes json_check() accepted the text
 * the span points into.
 */
#ifndef GK_JSPAN_H
#define GK_JSPAN_H

#include <stdbool.h>
#include <stddef.h>

struct jspan {
	const char *p; /* first byte of the value (quote included for strings) */
	size_t n;      /* bytes of the value; 0 = absent */
};

enum jtype { J_ABSENT, J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_TRUE,
	     J_FALSE, J_NULL };

enum jtype jspan_type(struct jspan v);
/* Value span of member `name` of object o; {NULL,0} if o is no object or
 * lacks it. With duplicate names the last one wins (like JSON.parse). */
struct jspan jspan_member(struct jspan o, const char *name);
/* The whole text as a span, leading/trailing white space trimmed. */
struct jspan jspan_of(const char *p, size_t n);
/* Decode a string value into a NUL-terminated malloc'd copy (escapes
 * resolved); NULL if v is no string or on allocation failure. *len gets the
 * decoded length (strings may contain NUL via \u0000). */
char *jspan_strdup(struct jspan v, size_t *len);
/* Does string value v equal s (after decoding)? */
bool jspan_streq(struct jspan v, const char *s);

#endif
