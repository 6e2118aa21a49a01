/*
 * test_supervisor_json.c - the supervisor's JSON helpers: jspan (member
 * lookup and string decoding over validated text), out_put_jstr (escaping,
 * invalid UTF-8) and strmap.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_check.h"
#include "jspan.h"
#include "out.h"
#include "strmap.h"

static struct jspan doc(const char *s)
{
	REQUIRE(json_check(s, strlen(s)));
	return jspan_of(s, strlen(s));
}

static void check_span(struct jspan v, const char *want)
{
	CHECK_MEM(v.p, v.n, want, strlen(want));
}

static void test_member(void)
{
	struct jspan o = doc(" {\"a\" : 1, \"b\":{\"c\":[1,{\"d\":\"}\"}]}, \"e\":\"x\\\"y\", \"a\":[ 2 ] } ");
	check_span(jspan_member(o, "b"), "{\"c\":[1,{\"d\":\"}\"}]}");
	check_span(jspan_member(o, "a"), "[ 2 ]"); /* last duplicate wins */
	check_span(jspan_member(o, "e"), "\"x\\\"y\"");
	CHECK_EQ(jspan_member(o, "c").n, 0);      /* not at this level */
	CHECK_EQ(jspan_member(o, "").n, 0);
	CHECK_EQ(jspan_type(jspan_member(o, "b")), J_OBJECT);
	CHECK_EQ(jspan_type(jspan_member(o, "a")), J_ARRAY);
	CHECK_EQ(jspan_type(jspan_member(o, "zz")), J_ABSENT);
	CHECK_EQ(jspan_member(doc("[1,2]"), "a").n, 0); /* not an object */
	CHECK_EQ(jspan_member(doc("{}"), "a").n, 0);

	struct jspan t = doc("{\"t\":true,\"f\":false,\"n\":null,\"x\":-1.5e3}");
	CHECK_EQ(jspan_type(jspan_member(t, "t")), J_TRUE);
	CHECK_EQ(jspan_type(jspan_member(t, "f")), J_FALSE);
	CHECK_EQ(jspan_type(jspan_member(t, "n")), J_NULL);
	CHECK_EQ(jspan_type(jspan_member(t, "x")), J_NUMBER);
	check_span(jspan_member(t, "x"), "-1.5e3");

	/* An escaped member name matches its decoded form. */
	struct jspan esc = doc("{\"k\\u0065y\":\"\\/flow\\/echo\"}");
	struct jspan v = jspan_member(esc, "key");
	CHECK(jspan_streq(v, "/flow/echo"));
	CHECK(!jspan_streq(v, "/flow/echo2"));
	CHECK(!jspan_streq(jspan_member(t, "t"), "true")); /* not a string */
}

static void test_strdup(void)
{
	size_t n;
	char *s = jspan_strdup(doc("\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\""), &n);
	CHECK_MEM(s, n, "a\n\t\"\\/\b\f\r", 9);
	free(s);
	s = jspan_strdup(doc("\"\\u00e9\\u20ac\\ud83d\\ude00\""), &n);
	CHECK_STR(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); /* é € 😀 */
	free(s);
	s = jspan_strdup(doc("\"x\\u0000y\""), &n); /* embedded NUL */
	CHECK_UEQ(n, 3);
	CHECK_MEM(s, n, "x\0y", 3);
	free(s);
	s = jspan_strdup(doc("\"\\ud800\""), &n); /* lone surrogate */
	CHECK_STR(s, "\xef\xbf\xbd");
	free(s);
	CHECK_NULL(jspan_strdup(doc("12"), &n));
}

static void check_jstr(const char *in, size_t n, const char *want)
{
	struct out *o = out_new(1);
	out_put_jstr(o, in, n);
	CHECK_MEM(out_data(o), o->len, want, strlen(want));
	CHECK(json_check((const char *)out_data(o), o->len));
	out_free(o);
}

static void test_jstr(void)
{
	check_jstr("plain", 5, "\"plain\"");
	check_jstr("q\"b\\", 4, "\"q\\\"b\\\\\"");
	check_jstr("\n\r\t\x01\x1f", 5, "\"\\n\\r\\t\\u0001\\u001f\"");
	check_jstr("\xc3\xa9", 2, "\"\xc3\xa9\"");          /* valid UTF-8 kept */
	check_jstr("a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"");  /* invalid byte */
	check_jstr("\xc3", 1, "\"\xef\xbf\xbd\"");            /* truncated */
	check_jstr("\xed\xa0\x80", 3,                         /* UTF-16 surrogate */
		   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_jstr("x\0y", 3, "\"x\\u0000y\"");
	/* Growth across many appends. */
	struct out *o = out_new(1);
	for (int i = 0; i < 10000; i++)
		out_puts(o, "0123456789");
	CHECK_UEQ(o->len, 100000);
	CHECK(out_data(o)[99999] == '9');
	out_printf(o, "%d-%s", 42, "x");
	CHECK_MEM(out_data(o) + 100000, o->len - 100000, "42-x", 4);
	out_free(o);
}

static void test_strmap(void)
{
	struct strmap m;
	strmap_init(&m);
	static char keys[5000][16];
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(keys[i], sizeof(keys[i]), "\"%d\"", i);
		CHECK_EQ(strmap_put(&m, keys[i], (size_t)n, keys[i]), 0);
	}
	CHECK_UEQ(m.n, 5000);
	CHECK_EQ(strmap_put(&m, "\"7\"", 3, NULL), -1); /* duplicate */
	CHECK(strmap_get(&m, "\"4999\"", 6) == keys[4999]);
	CHECK_NULL(strmap_get(&m, "\"5000\"", 6));
	CHECK_NULL(strmap_get(&m, "4999", 4)); /* raw JSON: quotes matter */
	for (int i = 0; i < 5000; i += 2)
		CHECK(strmap_del(&m, keys[i], strlen(keys[i])) == keys[i]);
	CHECK_UEQ(m.n, 2500);
	CHECK_NULL(strmap_del(&m, keys[0], strlen(keys[0])));
	size_t n;
	void **v = strmap_values(&m, &n);
	CHECK_UEQ(n, 2500);
	int odd = 1;
	for (size_t i = 0; i < n; i++)
		odd &= (atoi((char *)v[i] + 1) & 1);
	CHECK(odd);
	free(v);
	strmap_free(&m);
}

int main(void)
{
	check_init("test_supervisor_json");
	test_member();
	test_strdup();
	test_jstr();
	test_strmap();
	return check_done();
}
