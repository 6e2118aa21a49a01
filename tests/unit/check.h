/*
 * check.h - the assertion macros of the unit tests (header only, no
 * framework).
 *
 * Every CHECK counts one passed or failed assertion; a failure prints
 * file:line, the expression and both values, and the test goes on.
 * REQUIRE is the same but stops the program (for preconditions whose
 * failure would only cause a cascade of meaningless failures).
 * check_done() prints "<name>: N passed, M failed" and returns the exit
 * status: 0 only if nothing failed (and something was checked).
 */
#ifndef GK_UNIT_CHECK_H
#define GK_UNIT_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under -Db_sanitize=...,undefined a UBSan report must fail the test, not
 * just print (meson 1.0 sets no UBSAN_OPTIONS). UBSAN_OPTIONS still wins.
 * Harmless without sanitizers: nobody calls it then. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static unsigned long check_passed_, check_failed_;
static const char *check_name_ = "test";

static inline void check_init(const char *name)
{
	check_name_ = name;
	/* Keep the order of our lines and the runner's stderr readable. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int check_done(void)
{
	printf("%s: %lu passed, %lu failed\n", check_name_, check_passed_,
	       check_failed_);
	fflush(stdout);
	return check_failed_ || !check_passed_ ? 1 : 0;
}

static inline void check_fail_exit_(void)
{
	fprintf(stderr, "%s: stopping after a failed REQUIRE\n", check_name_);
	check_failed_++;
	(void)check_done();
	exit(1);
}

static inline int check_report_(int ok, const char *file, int line,
				const char *what)
{
	if (ok) {
		check_passed_++;
		return 1;
	}
	check_failed_++;
	fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
	return 0;
}

#define CHECK(cond)                                                        \
	((void)check_report_(!!(cond), __FILE__, __LINE__, #cond))

#define REQUIRE(cond)                                                      \
	do {                                                               \
		if (!check_report_(!!(cond), __FILE__, __LINE__, #cond))   \
			check_fail_exit_();                                \
	} while (0)

/* Signed comparison: both sides converted to long long. */
#define CHECK_INT(a, op, b)                                                \
	do {                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);        \
		if (!check_report_(a_ op b_, __FILE__, __LINE__,           \
				   #a " " #op " " #b))                     \
			fprintf(stderr, "    left  %s = %lld\n"              \
					"    right %s = %lld\n",             \
				#a, a_, #b, b_);                           \
	} while (0)

/* Unsigned comparison (sizes, lengths, ids): both sides as uint64_t. */
#define CHECK_UINT(a, op, b)                                               \
	do {                                                               \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);           \
		if (!check_report_(a_ op b_, __FILE__, __LINE__,           \
				   #a " " #op " " #b))                     \
			fprintf(stderr, "    left  %s = %" PRIu64 " (0x%" PRIx64 ")\n" \
					"    right %s = %" PRIu64 " (0x%" PRIx64 ")\n", \
				#a, a_, a_, #b, b_, b_);                   \
	} while (0)

#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)
#define CHECK_UEQ(a, b) CHECK_UINT(a, ==, b)

/* errno after a call: prints both numbers and names. */
#define CHECK_ERRNO(saved, expected)                                       \
	do {                                                               \
		int s_ = (saved), e_ = (expected);                         \
		if (!check_report_(s_ == e_, __FILE__, __LINE__,           \
				   "errno " #saved " == " #expected))      \
			fprintf(stderr, "    got      %d (%s)\n"             \
					"    expected %d (%s)\n",            \
				s_, strerror(s_), e_, strerror(e_));       \
	} while (0)

#define CHECK_NULL(p)                                                      \
	do {                                                               \
		const void *p_ = (const void *)(p);                        \
		if (!check_report_(p_ == NULL, __FILE__, __LINE__,         \
				   #p " == NULL"))                          \
			fprintf(stderr, "    got %p\n", p_);                 \
	} while (0)

#define CHECK_NOT_NULL(p)                                                  \
	((void)check_report_((p) != NULL, __FILE__, __LINE__, #p " != NULL"))

/* NUL-terminated strings; NULL is a distinct value. */
#define CHECK_STR(a, b)                                                    \
	do {                                                               \
		const char *a_ = (a), *b_ = (b);                           \
		int ok_ = a_ && b_ ? strcmp(a_, b_) == 0 : a_ == b_;       \
		if (!check_report_(ok_, __FILE__, __LINE__,                \
				   #a " equals " #b))                      \
			fprintf(stderr, "    left  \"%s\"\n    right \"%s\"\n", \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
	} while (0)

/* Byte ranges: lengths first, then the first differing offset. */
#define CHECK_MEM(a, alen, b, blen)                                        \
	do {                                                               \
		const unsigned char *a_ = (const unsigned char *)(a);      \
		const unsigned char *b_ = (const unsigned char *)(b);      \
		size_t al_ = (alen), bl_ = (blen), i_ = 0;                 \
		if (al_ == bl_)                                            \
			while (i_ < al_ && a_[i_] == b_[i_])               \
				i_++;                                      \
		int ok_ = al_ == bl_ && i_ == al_;                         \
		if (!check_report_(ok_, __FILE__, __LINE__,                \
				   #a " bytes equal " #b))                 \
			check_mem_diff_(a_, al_, b_, bl_, i_);             \
	} while (0)

static inline void check_mem_diff_(const unsigned char *a, size_t al,
				   const unsigned char *b, size_t bl, size_t i)
{
	if (al != bl) {
		fprintf(stderr, "    lengths differ: %zu vs %zu\n", al, bl);
		return;
	}
	fprintf(stderr, "    first difference at offset %zu: 0x%02x vs 0x%02x\n",
		i, a[i], b[i]);
}

/* Deterministic pseudo-random numbers (xorshift64*), fixed seeds only. */
static inline uint64_t check_rand_(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(2685821657736338717);
}

#endif
