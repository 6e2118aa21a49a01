/* ids.c - random ids from xoshiro256**, seeded once from getrandom(2). A
 * trace id is an identifier, not a secret; it only has to be unique. */
#include "ids.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t s[4];
static int seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	if (!seeded) {
		if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			s[0] = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
			s[1] = (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15ull;
			s[2] = s[0] ^ 0xdeadbeefcafef00dull;
			s[3] = s[1] + 1;
		}
		seeded = 1;
	}
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static void hex(char *out, int words)
{
	static const char d[] = "0123456789abcdef";
	for (int w = 0; w < words; w++) {
		uint64_t v = next();
		for (int i = 0; i < 16; i++, v >>= 4)
			out[w * 16 + i] = d[v & 15];
	}
	out[words * 16] = 0;
}

void ids_trace(char out[33])
{
	do
		hex(out, 2);
	while (out[0] == '0' && out[1] == '0' && out[2] == '0' && out[31] == '0');
}

void ids_span(char out[17])
{
	hex(out, 1);
}
