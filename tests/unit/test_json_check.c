/*
 * test_json_check.c - ipc/json_check.c against a table of valid and
 * invalid documents, the depth limit and a 16 MiB document.
 *
 * Every input is copied into a buffer of exactly its length, so an
 * overread past n shows up under ASan.
 */
#include "check.h"
#include "json_check.h"

struct jcase {
	const char *s;
	size_t n;
	int valid;
	const char *why; /* what the case is about */
};

/* string literals; the NUL-containing ones keep their length */
#define V(str, w) { str, sizeof(str) - 1, 1, w }
#define I(str, w) { str, sizeof(str) - 1, 0, w }

static const struct jcase cases[] = {
	/* numbers */
	V("0", "zero"),
	V("-0", "negative zero"),
	V("1", "one"),
	V("-1", "minus one"),
	V("123", "integer"),
	V("1e5", "exponent"),
	V("1E5", "capital exponent"),
	V("1e+5", "exponent with plus"),
	V("1e-5", "exponent with minus"),
	V("-0.0", "negative zero fraction"),
	V("0.5", "fraction"),
	V("1.5e10", "fraction and exponent"),
	V("-0e0", "zero exponent"),
	V("1e007", "exponent leading zeros"),
	V("123456789012345678901234567890", "huge integer"),
	V("1e99999", "huge exponent (syntax only)"),
	I("01", "leading zero"),
	I("-01", "negative leading zero"),
	I("00", "double zero"),
	I("1.", "no fraction digits"),
	I(".5", "no integer part"),
	I("-", "lone minus"),
	I("+1", "plus sign"),
	I("1e", "no exponent digits"),
	I("1e+", "no exponent digits after sign"),
	I("1.e5", "dot then exponent"),
	I("0x10", "hex"),
	I("1_000", "digit separator"),
	I("- 1", "space after minus"),
	I("NaN", "NaN"),
	I("Infinity", "Infinity"),
	I("-Infinity", "-Infinity"),
	/* literals */
	V("true", "true"),
	V("false", "false"),
	V("null", "null"),
	I("tru", "truncated true"),
	I("True", "capital True"),
	I("nul", "truncated null"),
	I("nulll", "null plus l"),
	I("falsey", "false plus y"),
	I("undefined", "undefined"),
	/* strings */
	V("\"\"", "empty string"),
	V("\"abc\"", "plain string"),
	V("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "all short escapes"),
	V("\"\\u00e9\"", "\\u escape"),
	V("\"\\u00E9\\uABCD\"", "\\u escape uppercase hex"),
	V("\"\\ud83d\\ude00\"", "escaped surrogate pair"),
	V("\"\\u0000\"", "escaped NUL"),
	V("\"caf\xc3\xa9\"", "raw 2-byte UTF-8"),
	V("\"\xe2\x82\xac\"", "raw 3-byte UTF-8"),
	V("\"\xf0\x9f\x98\x80\"", "raw 4-byte UTF-8"),
	V("\"\xef\xbf\xbf\"", "U+FFFF"),
	V("\"\xf4\x8f\xbf\xbf\"", "U+10FFFF"),
	V("\"\xed\x9f\xbf\xee\x80\x80\"", "U+D7FF and U+E000 around the surrogates"),
	V("\"\x7f\"", "DEL is not a control char for JSON"),
	I("\"abc", "unterminated"),
	I("\"\\\"", "escaped quote, unterminated"),
	I("\"\\", "backslash at end"),
	I("\"\\x41\"", "\\x escape"),
	I("\"\\a\"", "\\a escape"),
	I("\"\\0\"", "\\0 escape"),
	I("\"\\u12\"", "short \\u"),
	I("\"\\u12G4\"", "non-hex \\u"),
	I("\"\\U00e9\"", "\\U"),
	I("'a'", "single quotes"),
	I("\"a\tb\"", "raw tab"),
	I("\"a\nb\"", "raw newline"),
	I("\"\x01\"", "raw 0x01"),
	I("\"\x1f\"", "raw 0x1f"),
	I("\"\xc0\xaf\"", "overlong 2-byte /"),
	I("\"\xc1\xbf\"", "overlong 2-byte"),
	I("\"\xe0\x80\xaf\"", "overlong 3-byte"),
	I("\"\xe0\x9f\xbf\"", "overlong 3-byte, top"),
	I("\"\xf0\x80\x80\xaf\"", "overlong 4-byte"),
	I("\"\xf0\x8f\xbf\xbf\"", "overlong 4-byte, top"),
	I("\"\xed\xa0\x80\"", "UTF-8 encoded high surrogate"),
	I("\"\xed\xbf\xbf\"", "UTF-8 encoded low surrogate"),
	I("\"\xed\xa0\xbd\xed\xb8\x80\"", "CESU-8 surrogate pair"),
	I("\"\xf4\x90\x80\x80\"", "above U+10FFFF"),
	I("\"\xf5\x80\x80\x80\"", "lead byte 0xf5"),
	I("\"\xf8\x88\x80\x80\x80\"", "5-byte sequence"),
	I("\"\x80\"", "lone continuation byte"),
	I("\"\xc3\"", "truncated 2-byte"),
	I("\"\xe2\x82\"", "truncated 3-byte"),
	I("\"\xf0\x9f\x98\"", "truncated 4-byte"),
	I("\"\xc3(\"", "bad continuation"),
	I("\"\xfe\"", "0xfe"),
	I("\"\xff\"", "0xff"),
	I("\xc3\xa9", "UTF-8 outside a string"),
	/* NUL bytes */
	I("\"a\0b\"", "NUL inside a string"),
	I("1\0", "NUL after a value"),
	I("\0", "just NUL"),
	I("[1,\0 2]", "NUL between tokens"),
	I("\0 1", "NUL before a value"),
	/* containers */
	V("[]", "empty array"),
	V("{}", "empty object"),
	V("[1,2,3]", "array"),
	V("{\"a\":1}", "object"),
	V("{\"a\":{\"b\":[true,false,null,\"x\",-1.5]}}", "nested"),
	V("[[],[{}],{\"\":[]}]", "nested empties"),
	V("{\"\":0}", "empty key"),
	V("{\"a\":1,\"a\":2}", "duplicate keys (grammar allows)"),
	V("{\"\\u00e9\xc3\xa9\":\"v\"}", "key with escape and UTF-8"),
	I("[1,]", "trailing comma in array"),
	I("{\"a\":1,}", "trailing comma in object"),
	I("[,1]", "leading comma"),
	I("[1,,2]", "double comma"),
	I("{,}", "lone comma in object"),
	I("[1 2]", "missing comma"),
	I("{\"a\" 1}", "missing colon"),
	I("{\"a\":}", "missing value"),
	I("{\"a\"}", "key only"),
	I("{a:1}", "unquoted key"),
	I("{1:1}", "number key"),
	I("{'a':1}", "single-quoted key"),
	I("[", "open array"),
	I("]", "close array"),
	I("{", "open object"),
	I("}", "close object"),
	I("[1}", "mismatched close"),
	I("{\"a\":1]", "mismatched close in object"),
	I("[1]]", "extra close"),
	I("[\"a\":1]", "colon in array"),
	/* whitespace */
	V(" 1", "leading space"),
	V("1 ", "trailing space"),
	V("\t\n\r [ 1 , 2 ] \r\n\t", "all four whitespace chars"),
	V("{ \"a\" : [ ] , \"b\" : { } }", "spaces everywhere"),
	I("", "empty input"),
	I("   ", "whitespace only"),
	I("\f1", "form feed is not whitespace"),
	I("\v1", "vertical tab is not whitespace"),
	I("\xc2\xa0" "1", "NBSP is not whitespace"),
	I("\xef\xbb\xbf{}", "byte order mark"),
	/* comments and two values */
	I("// c\n1", "line comment"),
	I("/* c */ 1", "block comment"),
	I("1 // c", "trailing comment"),
	I("[1,/*x*/2]", "comment inside"),
	I("1 2", "two numbers"),
	I("{} {}", "two objects"),
	I("\"a\"\"b\"", "two strings"),
	I("[]1", "array then number"),
	I("null null", "two nulls"),
	I("truefalse", "two literals"),
	/* RFC 8259's grammar allows a lone surrogate escape (section 8.2:
	 * "behavior ... unpredictable"); json_check follows the grammar. */
	V("\"\\ud800\"", "lone high surrogate escape"),
	V("\"\\udc00x\"", "lone low surrogate escape"),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int check_exact(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);
	REQUIRE(b != NULL);
	memcpy(b, s, n);
	int r = json_check(b, n);
	free(b);
	return r;
}

static void test_table(void)
{
	unsigned nvalid = 0, ninvalid = 0;
	for (size_t i = 0; i < NCASES; i++) {
		const struct jcase *c = &cases[i];
		int got = check_exact(c->s, c->n);
		if (!check_report_(got == c->valid, __FILE__, __LINE__,
				   "table case"))
			fprintf(stderr, "    case %zu (%s): expected %s, got %d\n",
				i, c->why, c->valid ? "valid" : "invalid", got);
		if (c->valid)
			nvalid++;
		else
			ninvalid++;
		/* every prefix: no crash, no overread (ASan) */
		for (size_t k = 0; k < c->n; k++)
			(void)check_exact(c->s, k);
	}
	CHECK_UINT(nvalid, >=, 30);
	CHECK_UINT(ninvalid, >=, 30);
	CHECK_UINT(NCASES, >=, 60);

	/* string wrapped in containers: the verdict carries over */
	for (size_t i = 0; i < NCASES; i++) {
		const struct jcase *c = &cases[i];
		if (c->n == 0 || c->s[0] != '"' || !c->valid)
			continue;
		char buf[256];
		REQUIRE(2 * c->n + 8 < sizeof(buf));
		int m = snprintf(buf, sizeof(buf), "{%.*s:[%.*s]}", (int)c->n,
				 c->s, (int)c->n, c->s);
		CHECK_EQ(check_exact(buf, (size_t)m), 1);
	}

	/* every byte alone */
	unsigned ok = 0;
	for (unsigned b = 0; b < 256; b++) {
		char c = (char)b;
		if (check_exact(&c, 1))
			ok++;
		char s[3] = { '"', (char)b, '"' };
		int v = check_exact(s, 3);
		CHECK_EQ(v, b >= 0x20 && b < 0x80 && b != '"' && b != '\\');
	}
	CHECK_EQ(ok, 10); /* just the digits */

	/* NULL with n = 0 (clang's UBSan: "applying zero offset to null
	 * pointer" until json_check tested p before computing p + n) */
	CHECK_EQ(json_check(NULL, 0), 0);
}

static char *nest(const char *open, const char *mid, const char *close,
		  size_t depth, size_t *n)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	*n = depth * (lo + lc) + lm;
	char *b = malloc(*n ? *n : 1), *p = b;
	REQUIRE(b != NULL);
	for (size_t i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (size_t i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	return b;
}

static void test_depth(void)
{
	static const struct {
		const char *open, *mid, *close;
	} shapes[] = {
		{ "[", "", "]" },
		{ "[", "1", "]" },
		{ "{\"a\":", "{}", "}" },  /* the innermost {} is one level */
		{ " [ ", "null", " ] " },
		{ "[{\"k\":", "0", "}]" }, /* two levels per step */
	};
	CHECK_EQ(JSON_CHECK_MAX_DEPTH, 512);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		/* levels added by the middle part and per repetition */
		size_t extra = strcmp(shapes[s].mid, "{}") == 0;
		size_t per = s == 4 ? 2 : 1;
		size_t reps_ok = (512 - extra) / per;
		size_t n;
		char *b = nest(shapes[s].open, shapes[s].mid, shapes[s].close,
			       reps_ok, &n);
		if (!check_report_(json_check(b, n) == 1, __FILE__, __LINE__,
				   "depth 512 accepted"))
			fprintf(stderr, "    shape %zu\n", s);
		free(b);
		if (per == 1) {
			b = nest(shapes[s].open, shapes[s].mid, shapes[s].close,
				 reps_ok + 1, &n);
			if (!check_report_(json_check(b, n) == 0, __FILE__,
					   __LINE__, "depth 513 rejected"))
				fprintf(stderr, "    shape %zu\n", s);
			free(b);
		}
	}
	/* [{"k":...}] with 256 steps is exactly 512; one more "[" is 513 */
	size_t n;
	char *b = nest("[{\"k\":", "[]", "}]", 256, &n);
	CHECK_EQ(json_check(b, n), 0);
	free(b);
	b = nest("[{\"k\":", "1", "}]", 256, &n);
	CHECK_EQ(json_check(b, n), 1);
	free(b);

	/* depth goes down again: 512 deep, twice in a row in one array */
	size_t n1;
	char *one = nest("[", "", "]", 511, &n1);
	char *two = malloc(2 * n1 + 3);
	REQUIRE(two != NULL);
	two[0] = '[';
	memcpy(two + 1, one, n1);
	two[1 + n1] = ',';
	memcpy(two + 2 + n1, one, n1);
	two[2 + 2 * n1] = ']';
	CHECK_EQ(json_check(two, 2 * n1 + 3), 1);
	free(one);
	free(two);

	/* a million opening brackets: rejected, no stack overflow */
	size_t big = 1000000;
	b = malloc(big);
	REQUIRE(b != NULL);
	memset(b, '[', big);
	CHECK_EQ(json_check(b, big), 0);
	memset(b, '{', big);
	CHECK_EQ(json_check(b, big), 0);
	free(b);
}

/* A 16 MiB document of mixed content: valid; and small defects in it are
 * found wherever they are. */
static void test_big(void)
{
	static const char item[] =
		"{\"k\":\"caf\\u00e9 \xc3\xa9 \xf0\x9f\x98\x80\",\"n\":-1.5e3,"
		"\"a\":[true,false,null,0,{}],\"s\":\"\\\"q\\\"\"},\n";
	const size_t il = sizeof(item) - 1, target = (size_t)16 << 20;
	size_t count = target / il + 1, n = 1 + count * il + 1;
	char *b = malloc(n);
	REQUIRE(b != NULL);
	b[0] = '[';
	for (size_t i = 0; i < count; i++)
		memcpy(b + 1 + i * il, item, il);
	/* replace the last ",\n" with "\n]" */
	b[n - 3] = ' ';
	b[n - 1] = ']';
	CHECK_UINT(n, >=, target);
	CHECK_EQ(json_check(b, n), 1);

	CHECK_EQ(json_check(b, n - 1), 0); /* cut short */
	size_t mid = 1 + (count / 2) * il + 7; /* inside a "k" value */
	CHECK_EQ(b[mid - 1], 'c');
	char save = b[mid];
	b[mid] = '\x01';
	CHECK_EQ(json_check(b, n), 0);
	b[mid] = '\0';
	CHECK_EQ(json_check(b, n), 0);
	b[mid] = save;
	CHECK_EQ(json_check(b, n), 1);
	b[n - 3] = ',';                  /* trailing comma at the very end */
	CHECK_EQ(json_check(b, n), 0);
	free(b);
}

int main(void)
{
	check_init("test_json_check");
	test_table();
	test_depth();
	test_big();
	return check_done();
}
