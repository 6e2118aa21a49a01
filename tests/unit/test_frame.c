/*
 * test_frame.c - ipc/frame.c: length-prefixed frames, bounded buffers,
 * partial non-blocking I/O over a real AF_UNIX socketpair.
 *
 * Linked with -Wl,--wrap=realloc so the test can see the largest single
 * allocation frame.c asks for (it uses realloc only).
 */
#include "check.h"
#include "frame.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_MIN 16384u              /* frame.c's smallest buffer */
#define SHRINK_ABOVE ((size_t)1 << 20) /* frame.c releases buffers above this */
#define POLL_MS 20000                /* a deadlock fails instead of hanging */

/* ---- allocation spy ------------------------------------------------------ */

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static size_t max_realloc;

void *__wrap_realloc(void *p, size_t n)
{
	if (n > max_realloc)
		max_realloc = n;
	return __real_realloc(p, n);
}

/* ---- helpers ---------------------------------------------------------------- */

static uint8_t pat(unsigned idx, size_t off)
{
	return (uint8_t)(((uint32_t)off * 2654435761u) >> 11) ^
	       (uint8_t)(idx * 37u + 1u);
}

static void fill(unsigned idx, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(idx, i);
}

/* n if p[0..n) is frame idx's pattern, else the first wrong offset. */
static size_t mismatch(unsigned idx, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(idx, i))
			return i;
	return n;
}

static void pair(int sv[2])
{
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0, sv) == 0);
}

static void put_be32(uint8_t *h, uint32_t n)
{
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
}

static void send_all(int fd, const void *p, size_t n)
{
	REQUIRE(send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n);
}

/* Wait until fd has bytes to read (no sleeping: poll with a deadline). */
static void wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	REQUIRE(poll(&p, 1, POLL_MS) == 1);
}

/* ---- tests ------------------------------------------------------------------- */

static const size_t sizes[] = {
	0, 1, 4095, 4096, 65536, ((size_t)1 << 20) + 3, (size_t)16 << 20,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* All sizes through a socketpair, writer and reader interleaved in one
 * poll loop: the writer queues everything first and has to stop short. */
static void test_socketpair_round_trip(void)
{
	int sv[2];
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	size_t total = 0;

	pair(sv);
	ipc_wbuf_init(&w, 0);
	ipc_rbuf_init(&r, 0);
	CHECK_UEQ(w.max_pending, 2 * (IPC_DEFAULT_MAX_FRAME + IPC_HDR_LEN));
	CHECK_UEQ(r.max_frame, IPC_DEFAULT_MAX_FRAME);

	for (unsigned i = 0; i < NSIZES; i++) {
		uint8_t *p = ipc_wbuf_reserve(&w, sizes[i]);
		REQUIRE(p != NULL);
		fill(i, p, sizes[i]);
		/* the header in front of the payload, big-endian */
		uint8_t h[4];
		put_be32(h, (uint32_t)sizes[i]);
		CHECK_MEM(p - IPC_HDR_LEN, 4, h, 4);
		total += IPC_HDR_LEN + sizes[i];
	}
	CHECK_UEQ(ipc_wbuf_pending(&w), total);
	CHECK_UEQ(total, 28 + 0 + 1 + 4095 + 4096 + 65536 + 1048579 + 16777216);

	/* Nobody reads yet: the socket fills up, flush says "more to do". */
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 1);
	size_t left = ipc_wbuf_pending(&w);
	CHECK_UINT(left, >, 0);
	CHECK_UINT(left, <, total);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 1);
	CHECK_UEQ(ipc_wbuf_pending(&w), left);
	struct pollfd pw = { .fd = sv[0], .events = POLLOUT };
	CHECK_EQ(poll(&pw, 1, 0), 0);

	unsigned got = 0, partial_flushes = 2, reads = 0, bad = 0;
	int flushed = 0;
	while (got < NSIZES) {
		struct pollfd pf[2] = {
			{ .fd = sv[0], .events = flushed ? 0 : POLLOUT },
			{ .fd = sv[1], .events = POLLIN },
		};
		REQUIRE(poll(pf, 2, POLL_MS) > 0);
		if (pf[0].revents & POLLOUT) {
			int f = ipc_wbuf_flush(&w, sv[0]);
			REQUIRE(f >= 0);
			if (f == 1)
				partial_flushes++;
			else
				flushed = 1;
		}
		if (!(pf[1].revents & POLLIN))
			continue;
		ssize_t n = ipc_rbuf_read(&r, sv[1]);
		REQUIRE(n > 0);
		reads++;
		const uint8_t *p;
		size_t len;
		int k;
		while ((k = ipc_rbuf_next(&r, &p, &len)) == 1) {
			REQUIRE(got < NSIZES);
			CHECK_UEQ(len, sizes[got]);
			size_t m = mismatch(got, p, len);
			if (m != len) {
				bad++;
				fprintf(stderr, "frame %u: byte %zu wrong\n", got, m);
			}
			got++;
		}
		CHECK_EQ(k, 0);
	}
	CHECK_EQ(bad, 0);
	CHECK_UEQ(got, NSIZES);
	CHECK(flushed);
	CHECK_UEQ(ipc_wbuf_pending(&w), 0);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 0);
	/* The 16 MiB frame alone cannot pass the socket in one go. */
	CHECK_UINT(partial_flushes, >=, 3);
	CHECK_UINT(reads, >, NSIZES);

	/* Nothing more: EAGAIN, then EOF once the writer closes. */
	errno = 0;
	CHECK_EQ(ipc_rbuf_read(&r, sv[1]), -1);
	CHECK_ERRNO(errno, EAGAIN);
	close(sv[0]);
	CHECK_EQ(ipc_rbuf_read(&r, sv[1]), 0);
	close(sv[1]);
	ipc_wbuf_free(&w);
	ipc_rbuf_free(&r);
	CHECK_NULL(w.data);
	CHECK_NULL(r.data);
	CHECK_UEQ(r.cap, 0);
}

/* The same stream fed one byte at a time: a frame appears exactly when
 * its last byte arrives, and never earlier. */
static void test_byte_at_a_time(void)
{
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	size_t ends[NSIZES], e = 0;

	ipc_wbuf_init(&w, 0);
	for (unsigned i = 0; i < NSIZES; i++) {
		REQUIRE(ipc_wbuf_reserve(&w, sizes[i]) != NULL);
		fill(i, w.data + w.len - sizes[i], sizes[i]);
		e += IPC_HDR_LEN + sizes[i];
		ends[i] = e;
	}
	const uint8_t *s = w.data + w.off;
	size_t n = ipc_wbuf_pending(&w);
	CHECK_UEQ(n, e);

	ipc_rbuf_init(&r, 0);
	unsigned got = 0, early = 0, bad = 0, feed_fail = 0;
	for (size_t i = 0; i < n; i++) {
		if (ipc_rbuf_feed(&r, s + i, 1) != 0) {
			feed_fail++;
			break;
		}
		const uint8_t *p;
		size_t len;
		int k = ipc_rbuf_next(&r, &p, &len);
		if (k == 1) {
			if (got >= NSIZES || i + 1 != ends[got]) {
				early++;
				break;
			}
			if (len != sizes[got] || mismatch(got, p, len) != len)
				bad++;
			/* a second call finds nothing: the next frame is
			 * not even started */
			if (ipc_rbuf_next(&r, &p, &len) != 0)
				early++;
			got++;
		} else if (k != 0) {
			early++;
			break;
		}
	}
	CHECK_EQ(feed_fail, 0);
	CHECK_EQ(early, 0);
	CHECK_EQ(bad, 0);
	CHECK_UEQ(got, NSIZES);

	/* And in random-sized chunks (fixed seed), several frames per feed. */
	uint64_t seed = 0x9e3779b97f4a7c15u;
	ipc_rbuf_free(&r);
	ipc_rbuf_init(&r, 0);
	got = 0;
	bad = 0;
	for (size_t i = 0; i < n;) {
		size_t c = 1 + check_rand_(&seed) % 200000;
		if (c > n - i)
			c = n - i;
		REQUIRE(ipc_rbuf_feed(&r, s + i, c) == 0);
		i += c;
		const uint8_t *p;
		size_t len;
		while (ipc_rbuf_next(&r, &p, &len) == 1) {
			if (got >= NSIZES || len != sizes[got] ||
			    mismatch(got, p, len) != len)
				bad++;
			got++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_UEQ(got, NSIZES);
	ipc_rbuf_free(&r);
	ipc_wbuf_free(&w);
}

/* Five frames queued and flushed at once arrive in one read. */
static void test_several_frames_one_read(void)
{
	static const size_t sz[] = { 0, 3, 10, 0, 100 };
	int sv[2];
	struct ipc_wbuf w;
	struct ipc_rbuf r;

	pair(sv);
	ipc_wbuf_init(&w, 0);
	ipc_rbuf_init(&r, 0);
	for (unsigned i = 0; i < 5; i++) {
		uint8_t buf[100];
		fill(100 + i, buf, sz[i]);
		CHECK_EQ(ipc_wbuf_push(&w, sz[i] ? buf : NULL, sz[i]), 0);
	}
	CHECK_UEQ(ipc_wbuf_pending(&w), 5 * 4 + 113);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 0);
	CHECK_UEQ(ipc_wbuf_pending(&w), 0);
	CHECK_UEQ(w.off, 0);
	CHECK_UEQ(w.len, 0);

	wait_in(sv[1]);
	CHECK_EQ(ipc_rbuf_read(&r, sv[1]), 133);
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *p = NULL;
		size_t len = 999;
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 1);
		CHECK_UEQ(len, sz[i]);
		CHECK_UEQ(mismatch(100 + i, p, len), len);
	}
	const uint8_t *p;
	size_t len;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
	close(sv[0]);
	close(sv[1]);
	ipc_wbuf_free(&w);
	ipc_rbuf_free(&r);
}

/* Exact wire bytes of a frame: big-endian length, payload, nothing else. */
static void test_wire_format(void)
{
	struct ipc_wbuf w;
	ipc_wbuf_init(&w, 0);
	CHECK_EQ(ipc_wbuf_push(&w, "abc", 3), 0);
	CHECK_EQ(ipc_wbuf_push(&w, NULL, 0), 0);
	uint8_t *p = ipc_wbuf_reserve(&w, 0x01020304);
	REQUIRE(p != NULL);
	memset(p, 'x', 0x01020304);
	static const uint8_t want[] = {
		0, 0, 0, 3, 'a', 'b', 'c',
		0, 0, 0, 0,
		0x01, 0x02, 0x03, 0x04, 'x', 'x',
	};
	CHECK_UEQ(ipc_wbuf_pending(&w), 7 + 4 + 4 + 0x01020304);
	CHECK_MEM(w.data + w.off, sizeof(want), want, sizeof(want));
	ipc_wbuf_free(&w);
}

/* The header split at every position, over the socket and by feeding. */
static void test_header_split(void)
{
	uint8_t frame[4 + 10];
	put_be32(frame, 10);
	fill(7, frame + 4, 10);

	for (size_t split = 1; split < IPC_HDR_LEN; split++) {
		int sv[2];
		struct ipc_rbuf r;
		const uint8_t *p;
		size_t len;

		pair(sv);
		ipc_rbuf_init(&r, 0);
		send_all(sv[0], frame, split);
		wait_in(sv[1]);
		CHECK_EQ(ipc_rbuf_read(&r, sv[1]), (ssize_t)split);
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
		/* rest of the header and half the payload */
		send_all(sv[0], frame + split, 9 - split);
		wait_in(sv[1]);
		CHECK_EQ(ipc_rbuf_read(&r, sv[1]), (ssize_t)(9 - split));
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
		send_all(sv[0], frame + 9, 5);
		wait_in(sv[1]);
		CHECK_EQ(ipc_rbuf_read(&r, sv[1]), 5);
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 1);
		CHECK_UEQ(len, 10);
		CHECK_MEM(p, len, frame + 4, 10);
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
		close(sv[0]);
		close(sv[1]);
		ipc_rbuf_free(&r);
	}

	for (size_t k = 0; k < sizeof(frame); k++) {
		struct ipc_rbuf r;
		const uint8_t *p;
		size_t len;
		ipc_rbuf_init(&r, 0);
		CHECK_EQ(ipc_rbuf_feed(&r, frame, k), 0);
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
		CHECK_EQ(ipc_rbuf_feed(&r, frame + k, sizeof(frame) - k), 0);
		CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 1);
		CHECK_MEM(p, len, frame + 4, 10);
		ipc_rbuf_free(&r);
	}
}

/* Frames above max_frame: EMSGSIZE as soon as the header is complete,
 * without waiting for (or allocating room for) the payload. */
static void test_max_frame(void)
{
	struct ipc_rbuf r;
	const uint8_t *p;
	size_t len;
	uint8_t h[4];
	static uint8_t payload[1000];

	/* exactly max_frame is fine */
	ipc_rbuf_init(&r, 1000);
	CHECK_UEQ(r.max_frame, 1000);
	put_be32(h, 1000);
	fill(3, payload, sizeof(payload));
	CHECK_EQ(ipc_rbuf_feed(&r, h, 4), 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
	CHECK_EQ(ipc_rbuf_feed(&r, payload, 1000), 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 1);
	CHECK_UEQ(len, 1000);
	CHECK_MEM(p, len, payload, 1000);

	/* one more byte is not; the stream stays refused */
	put_be32(h, 1001);
	CHECK_EQ(ipc_rbuf_feed(&r, h, 4), 0);
	errno = 0;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), -1);
	CHECK_ERRNO(errno, EMSGSIZE);
	errno = 0;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), -1);
	CHECK_ERRNO(errno, EMSGSIZE);
	ipc_rbuf_free(&r);

	/* feed() refuses to buffer far more than one frame's worth */
	ipc_rbuf_init(&r, 1000);
	static uint8_t big[1000 + 4 + RBUF_MIN + 1];
	errno = 0;
	CHECK_EQ(ipc_rbuf_feed(&r, big, sizeof(big)), -1);
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_UEQ(r.len - r.off, 0);
	CHECK_EQ(ipc_rbuf_feed(&r, big, sizeof(big) - 1), 0);
	ipc_rbuf_free(&r);

	/* 4 GiB - 1 announced over a socket with the default limit: refused,
	 * and the reader never asked for more than its minimum buffer. */
	int sv[2];
	pair(sv);
	ipc_rbuf_init(&r, 0);
	uint8_t msg[4 + 100];
	put_be32(msg, UINT32_MAX);
	memset(msg + 4, 'z', 100);
	send_all(sv[0], msg, sizeof(msg));
	wait_in(sv[1]);
	max_realloc = 0;
	CHECK_EQ(ipc_rbuf_read(&r, sv[1]), (ssize_t)sizeof(msg));
	errno = 0;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), -1);
	CHECK_ERRNO(errno, EMSGSIZE);
	CHECK_UINT(r.cap, <=, RBUF_MIN);
	CHECK_UINT(max_realloc, <=, RBUF_MIN);
	/* a careless caller reading on anyway still gets no big buffer */
	send_all(sv[0], msg, sizeof(msg));
	wait_in(sv[1]);
	CHECK_EQ(ipc_rbuf_read(&r, sv[1]), (ssize_t)sizeof(msg));
	CHECK_UINT(max_realloc, <=, 4 * RBUF_MIN);
	ipc_rbuf_free(&r);

	/* just above the default limit, header only */
	ipc_rbuf_init(&r, 0);
	put_be32(h, (uint32_t)IPC_DEFAULT_MAX_FRAME + 1);
	max_realloc = 0;
	CHECK_EQ(ipc_rbuf_feed(&r, h, 4), 0);
	errno = 0;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), -1);
	CHECK_ERRNO(errno, EMSGSIZE);
	CHECK_UINT(max_realloc, <=, RBUF_MIN);
	ipc_rbuf_free(&r);
	close(sv[0]);
	close(sv[1]);
}

struct wsnap {
	uint8_t *data;
	size_t cap, off, len;
	uint8_t bytes[256];
};

static void snap(const struct ipc_wbuf *w, struct wsnap *s)
{
	s->data = w->data;
	s->cap = w->cap;
	s->off = w->off;
	s->len = w->len;
	memcpy(s->bytes, w->data, w->len < 256 ? w->len : 256);
}

#define CHECK_UNCHANGED(w, s)                                              \
	do {                                                               \
		CHECK((w)->data == (s)->data);                             \
		CHECK_UEQ((w)->cap, (s)->cap);                             \
		CHECK_UEQ((w)->off, (s)->off);                             \
		CHECK_UEQ((w)->len, (s)->len);                             \
		CHECK_MEM((w)->data, (w)->len < 256 ? (w)->len : 256,      \
			  (s)->bytes, (s)->len < 256 ? (s)->len : 256);    \
	} while (0)

/* max_pending counts header bytes of queued, unsent frames. */
static void test_wbuf_max_pending(void)
{
	struct ipc_wbuf w;
	struct wsnap s;
	uint8_t buf[64];

	ipc_wbuf_init(&w, 100);
	CHECK_UEQ(w.max_pending, 100);
	fill(9, buf, sizeof(buf));
	CHECK_EQ(ipc_wbuf_push(&w, buf, 50), 0);
	CHECK_UEQ(ipc_wbuf_pending(&w), 54);

	snap(&w, &s);
	errno = 0;
	CHECK_NULL(ipc_wbuf_reserve(&w, 47)); /* 54 + 51 > 100 */
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_UNCHANGED(&w, &s);
	errno = 0;
	CHECK_EQ(ipc_wbuf_push(&w, buf, 64), -1);
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_UNCHANGED(&w, &s);

	/* exactly full is allowed, then not even an empty frame fits */
	uint8_t *p = ipc_wbuf_reserve(&w, 42);
	CHECK_NOT_NULL(p);
	if (p)
		memset(p, 0xaa, 42);
	CHECK_UEQ(ipc_wbuf_pending(&w), 100);
	snap(&w, &s);
	errno = 0;
	CHECK_NULL(ipc_wbuf_reserve(&w, 0));
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_UNCHANGED(&w, &s);
	ipc_wbuf_free(&w);

	/* A frame the 32-bit header cannot describe is EMSGSIZE even with
	 * room to spare; a merely too big one is ENOBUFS. */
	ipc_wbuf_init(&w, SIZE_MAX / 2);
	errno = 0;
	if (sizeof(size_t) > 4) {
		CHECK_NULL(ipc_wbuf_reserve(&w, (size_t)UINT32_MAX + 1));
		CHECK_ERRNO(errno, EMSGSIZE);
	}
	CHECK_UEQ(w.len, 0);
	ipc_wbuf_free(&w);
	ipc_wbuf_init(&w, 1000);
	errno = 0;
	CHECK_NULL(ipc_wbuf_reserve(&w, UINT32_MAX));
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_NULL(w.data);
	ipc_wbuf_free(&w);

	/* Bytes already handed to the socket no longer count. */
	int sv[2];
	struct ipc_rbuf r;
	const size_t big = (size_t)1 << 20, lim = 2 * big;
	pair(sv);
	ipc_wbuf_init(&w, lim);
	ipc_rbuf_init(&r, 0);
	p = ipc_wbuf_reserve(&w, big);
	REQUIRE(p != NULL);
	fill(20, p, big);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 1);
	size_t pend = ipc_wbuf_pending(&w);
	REQUIRE(pend > 0 && pend < big + 4);
	/* more than the free tail: reserve has to compact the buffer */
	size_t room = lim - pend - IPC_HDR_LEN;
	CHECK_UINT(room + IPC_HDR_LEN, >, w.cap - w.len);
	snap(&w, &s);
	errno = 0;
	CHECK_NULL(ipc_wbuf_reserve(&w, room + 1));
	CHECK_ERRNO(errno, ENOBUFS);
	CHECK_UNCHANGED(&w, &s);
	p = ipc_wbuf_reserve(&w, room);
	REQUIRE(p != NULL);
	fill(21, p, room);
	CHECK_UEQ(ipc_wbuf_pending(&w), lim);
	/* both frames arrive intact */
	unsigned got = 0;
	while (got < 2) {
		struct pollfd pf[2] = {
			{ .fd = sv[0], .events = ipc_wbuf_pending(&w) ? POLLOUT : 0 },
			{ .fd = sv[1], .events = POLLIN },
		};
		REQUIRE(poll(pf, 2, POLL_MS) > 0);
		if (pf[0].revents & POLLOUT)
			REQUIRE(ipc_wbuf_flush(&w, sv[0]) >= 0);
		if (pf[1].revents & POLLIN) {
			REQUIRE(ipc_rbuf_read(&r, sv[1]) > 0);
			const uint8_t *q;
			size_t len;
			while (ipc_rbuf_next(&r, &q, &len) == 1) {
				CHECK_UEQ(len, got ? room : big);
				CHECK_UEQ(mismatch(20 + got, q, len), len);
				got++;
			}
		}
	}
	CHECK_UEQ(ipc_wbuf_pending(&w), 0);
	close(sv[0]);
	close(sv[1]);
	ipc_wbuf_free(&w);
	ipc_rbuf_free(&r);
}

/* A closed peer: -1/EPIPE from flush, and no SIGPIPE. SIGPIPE is put back
 * to its default action and unblocked first, so a signal would kill us. */
static void test_epipe(void)
{
	sigset_t set;
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	REQUIRE(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);

	int sv[2];
	struct ipc_wbuf w;
	pair(sv);
	close(sv[1]);
	ipc_wbuf_init(&w, 0);
	CHECK_EQ(ipc_wbuf_push(&w, "hello", 5), 0);
	errno = 0;
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), -1);
	CHECK_ERRNO(errno, EPIPE);
	CHECK_UEQ(ipc_wbuf_pending(&w), 9);
	close(sv[0]);
	ipc_wbuf_free(&w);

	/* peer closes in the middle of a large frame */
	pair(sv);
	ipc_wbuf_init(&w, 0);
	uint8_t *p = ipc_wbuf_reserve(&w, (size_t)4 << 20);
	REQUIRE(p != NULL);
	memset(p, 1, (size_t)4 << 20);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 1);
	close(sv[1]);
	errno = 0;
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), -1);
	CHECK_ERRNO(errno, EPIPE);
	close(sv[0]);
	ipc_wbuf_free(&w);

	sigset_t pend;
	sigemptyset(&pend);
	REQUIRE(sigpending(&pend) == 0);
	CHECK(!sigismember(&pend, SIGPIPE));
}

/* Move one frame of n bytes from w to r through a socketpair. */
static void transfer(struct ipc_wbuf *w, struct ipc_rbuf *r, int sv[2],
		     unsigned idx, size_t n)
{
	uint8_t *p = ipc_wbuf_reserve(w, n);
	REQUIRE(p != NULL);
	fill(idx, p, n);
	int done = 0, flushed = 0;
	while (!done) {
		struct pollfd pf[2] = {
			{ .fd = sv[0], .events = flushed ? 0 : POLLOUT },
			{ .fd = sv[1], .events = POLLIN },
		};
		REQUIRE(poll(pf, 2, POLL_MS) > 0);
		if (pf[0].revents & POLLOUT) {
			int f = ipc_wbuf_flush(w, sv[0]);
			REQUIRE(f >= 0);
			flushed = f == 0;
		}
		if (pf[1].revents & POLLIN) {
			REQUIRE(ipc_rbuf_read(r, sv[1]) > 0);
			const uint8_t *q;
			size_t len;
			int k = ipc_rbuf_next(r, &q, &len);
			if (k == 1) {
				CHECK_UEQ(len, n);
				CHECK_UEQ(mismatch(idx, q, len), len);
				/* drained: the caller's loop ends with 0 */
				CHECK_EQ(ipc_rbuf_next(r, &q, &len), 0);
				done = 1;
			}
			REQUIRE(k >= 0);
		}
	}
	/* the writer may still have had nothing left; make sure */
	while (!flushed) {
		int f = ipc_wbuf_flush(w, sv[0]);
		REQUIRE(f == 0);
		flushed = 1;
	}
}

/* Buffers that grew for a big frame give the memory back once drained;
 * small ones keep theirs (no churn). */
static void test_shrink(void)
{
	int sv[2];
	struct ipc_wbuf w;
	struct ipc_rbuf r;

	pair(sv);
	ipc_wbuf_init(&w, 0);
	ipc_rbuf_init(&r, 0);

	transfer(&w, &r, sv, 30, 100);
	CHECK_UEQ(r.cap, RBUF_MIN);
	CHECK_UEQ(w.cap, RBUF_MIN);

	/* 64 KiB grows both a little; under 1 MiB that is kept */
	transfer(&w, &r, sv, 31, 65536);
	size_t rcap = r.cap, wcap = w.cap;
	CHECK_UINT(rcap, >=, 65536 + 4);
	CHECK_UINT(rcap, <=, SHRINK_ABOVE);
	CHECK_UINT(wcap, >=, 65536 + 4);
	CHECK_UINT(wcap, <=, SHRINK_ABOVE);
	transfer(&w, &r, sv, 32, 10);
	CHECK_UEQ(r.cap, rcap);
	CHECK_UEQ(w.cap, wcap);

	/* 16 MiB: released as soon as the frame is drained (reader: the
	 * next() that finds nothing; writer: the flush that completes), not
	 * kept until more traffic comes, which may be never */
	transfer(&w, &r, sv, 33, (size_t)16 << 20);
	CHECK_UINT(r.cap, <=, RBUF_MIN);
	CHECK_UINT(w.cap, <=, RBUF_MIN);
	CHECK_UEQ(r.off, r.len);
	CHECK_UEQ(ipc_wbuf_pending(&w), 0);

	/* and are back to the minimum for the next small frame */
	transfer(&w, &r, sv, 34, 10);
	CHECK_UEQ(r.cap, RBUF_MIN);
	CHECK_UEQ(w.cap, RBUF_MIN);

	/* a large frame followed by a small one in the same buffer: the small
	 * one survives the release of the large one's room */
	uint8_t *p = ipc_wbuf_reserve(&w, (size_t)2 << 20);
	REQUIRE(p != NULL);
	fill(35, p, (size_t)2 << 20);
	CHECK_EQ(ipc_wbuf_push(&w, "tail", 4), 0);
	const uint8_t *s = w.data + w.off;
	size_t n = ipc_wbuf_pending(&w);
	ipc_rbuf_free(&r);
	ipc_rbuf_init(&r, 0);
	CHECK_EQ(ipc_rbuf_feed(&r, s, n), 0);
	const uint8_t *q;
	size_t len;
	CHECK_EQ(ipc_rbuf_next(&r, &q, &len), 1);
	CHECK_UEQ(len, (size_t)2 << 20);
	CHECK_UEQ(mismatch(35, q, len), len);
	CHECK_EQ(ipc_rbuf_next(&r, &q, &len), 1);
	CHECK_MEM(q, len, "tail", 4);
	CHECK_EQ(ipc_rbuf_next(&r, &q, &len), 0);
	CHECK_UINT(r.cap, <=, RBUF_MIN);
	/* and the writer once both are flushed */
	ipc_wbuf_free(&w);
	ipc_wbuf_init(&w, 0);
	REQUIRE(ipc_wbuf_reserve(&w, (size_t)2 << 20) != NULL);
	CHECK_EQ(ipc_wbuf_push(&w, "tail", 4), 0);
	int done = 0;
	while (!done) {
		struct pollfd pf[2] = {
			{ .fd = sv[0], .events = POLLOUT },
			{ .fd = sv[1], .events = POLLIN },
		};
		REQUIRE(poll(pf, 2, POLL_MS) > 0);
		if (pf[1].revents & POLLIN) {
			REQUIRE(ipc_rbuf_read(&r, sv[1]) > 0);
			while (ipc_rbuf_next(&r, &q, &len) == 1)
				;
		}
		if (pf[0].revents & POLLOUT) {
			int f = ipc_wbuf_flush(&w, sv[0]);
			REQUIRE(f >= 0);
			done = f == 0;
		}
	}
	CHECK_UINT(w.cap, <=, RBUF_MIN);

	close(sv[0]);
	close(sv[1]);
	ipc_wbuf_free(&w);
	ipc_rbuf_free(&r);
}

/* Odd but legal calls. */
static void test_edges(void)
{
	struct ipc_rbuf r;
	struct ipc_wbuf w;
	const uint8_t *p;
	size_t len;

	ipc_rbuf_init(&r, 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0); /* nothing, no buffer */
	/* zero bytes into a buffer that has none yet (UBSan: memcpy(NULL)) */
	CHECK_EQ(ipc_rbuf_feed(&r, "", 0), 0);
	CHECK_EQ(ipc_rbuf_feed(&r, NULL, 0), 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 0);
	CHECK_EQ(ipc_rbuf_feed(&r, "\0\0\0\0", 4), 0);
	CHECK_EQ(ipc_rbuf_next(&r, &p, &len), 1);
	CHECK_UEQ(len, 0);
	ipc_rbuf_free(&r);
	ipc_rbuf_free(&r); /* twice is harmless */

	ipc_wbuf_init(&w, 0);
	int sv[2];
	pair(sv);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 0); /* nothing queued */
	CHECK_NOT_NULL(ipc_wbuf_reserve(&w, 0));
	CHECK_UEQ(ipc_wbuf_pending(&w), 4);
	CHECK_EQ(ipc_wbuf_flush(&w, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	ipc_wbuf_free(&w);
	ipc_wbuf_free(&w);

	/* read() errors other than EAGAIN come back as -1 with errno */
	ipc_rbuf_init(&r, 0);
	errno = 0;
	CHECK_EQ(ipc_rbuf_read(&r, -1), -1);
	CHECK_ERRNO(errno, EBADF);
	ipc_rbuf_free(&r);
}

int main(void)
{
	check_init("test_frame");
	test_wire_format();
	test_edges();
	test_several_frames_one_read();
	test_header_split();
	test_max_frame();
	test_wbuf_max_pending();
	test_epipe();
	test_byte_at_a_time();
	test_socketpair_round_trip();
	test_shrink();
	return check_done();
}
