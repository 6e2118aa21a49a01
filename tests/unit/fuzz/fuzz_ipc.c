/*
 * fuzz_ipc.c - one fuzz target for everything in ipc/ that reads bytes a
 * peer controls: ipc_rbuf_feed + ipc_rbuf_next, both decoders, json_check.
 *
 * Input: one control byte, then the stream.
 *   ctl bit 0   : max_frame 64 (else the default)
 *   ctl bits 1-7: feed chunk size (0 = the whole stream at once)
 * Invariants (a violation traps):
 *   - chunked feeding yields the same frames, and the same EMSGSIZE point,
 *     as feeding the stream in one piece;
 *   - a decoded message packs again, and that packing decodes again to the
 *     same bytes;
 *   - json_check's verdict does not change with surrounding whitespace.
 *
 * Built two ways (see meson.build): with clang -fsanitize=fuzzer as a
 * libFuzzer binary, and with any compiler plus replay_main.c as a unit
 * test that runs the seed corpus and a fixed pseudo-random batch.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(c) do { if (!(c)) __builtin_trap(); } while (0)

/* Does m or any message inside it carry fields this schema does not know?
 * protobuf-c keeps them and packs them again, but it accepts a field
 * number 0 spelled as a long varint (80 00) and then packs it as 00, which
 * it rejects: such messages legitimately fail to re-decode. */
static int has_unknown(const ProtobufCMessage *m)
{
	if (m->n_unknown_fields)
		return 1;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t c;
			memcpy(&c, base + f->quantifier_offset, sizeof(c));
			if (c != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n;
			ProtobufCMessage **v;
			memcpy(&n, base + f->quantifier_offset, sizeof(n));
			memcpy(&v, base + f->offset, sizeof(v));
			for (size_t k = 0; k < n; k++)
				if (has_unknown(v[k]))
					return 1;
		} else {
			ProtobufCMessage *sub;
			memcpy(&sub, base + f->offset, sizeof(sub));
			if (sub && has_unknown(sub))
				return 1;
		}
	}
	return 0;
}

static void repack_to(const Gkipc__ToWorker *m)
{
	size_t n = gkipc__to_worker__get_packed_size(m);
	uint8_t *a = malloc(n ? n : 1);
	MUST(a);
	MUST(gkipc__to_worker__pack(m, a) == n);
	Gkipc__ToWorker *m2 = ipc_decode_to_worker(a, n, NULL);
	if (!m2) {
		MUST(has_unknown(&m->base));
		free(a);
		return;
	}
	size_t n2 = gkipc__to_worker__get_packed_size(m2);
	uint8_t *b = malloc(n2 ? n2 : 1);
	MUST(b);
	MUST(gkipc__to_worker__pack(m2, b) == n2);
	MUST(n2 == n && memcmp(a, b, n) == 0);
	ipc_free_to_worker(m2);
	free(a);
	free(b);
}

static void repack_from(const Gkipc__FromWorker *m)
{
	size_t n = gkipc__from_worker__get_packed_size(m);
	uint8_t *a = malloc(n ? n : 1);
	MUST(a);
	MUST(gkipc__from_worker__pack(m, a) == n);
	Gkipc__FromWorker *m2 = ipc_decode_from_worker(a, n, NULL);
	if (!m2) {
		MUST(has_unknown(&m->base));
		free(a);
		return;
	}
	size_t n2 = gkipc__from_worker__get_packed_size(m2);
	uint8_t *b = malloc(n2 ? n2 : 1);
	MUST(b);
	MUST(gkipc__from_worker__pack(m2, b) == n2);
	MUST(n2 == n && memcmp(a, b, n) == 0);
	ipc_free_from_worker(m2);
	free(a);
	free(b);
}

static void one_frame(const uint8_t *p, size_t n)
{
	const char *why = NULL;
	Gkipc__ToWorker *t = ipc_decode_to_worker(p, n, &why);
	if (t) {
		repack_to(t);
		ipc_free_to_worker(t);
	} else {
		MUST(why && *why);
	}
	why = NULL;
	Gkipc__FromWorker *f = ipc_decode_from_worker(p, n, &why);
	if (f) {
		repack_from(f);
		ipc_free_from_worker(f);
	} else {
		MUST(why && *why);
	}
	(void)json_check((const char *)p, n);
}

/* FNV-1a over every frame seen, so two feeding strategies can be compared. */
struct trace {
	uint64_t h;
	size_t frames;
	int refused; /* next() said EMSGSIZE */
	int full;    /* feed() said ENOBUFS */
};

static void mix(struct trace *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->h = (t->h ^ p[i]) * 1099511628211u;
}

/* 0: keep going, -1: the stream is dead */
static int drain(struct ipc_rbuf *r, struct trace *t, int decode)
{
	const uint8_t *p;
	size_t n;
	int k;
	while ((k = ipc_rbuf_next(r, &p, &n)) == 1) {
		MUST(n <= r->max_frame);
		uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
				   (uint8_t)(n >> 8), (uint8_t)n };
		mix(t, len, 4);
		mix(t, p, n);
		t->frames++;
		if (decode)
			one_frame(p, n);
	}
	if (k < 0) {
		t->refused = 1;
		return -1;
	}
	MUST(k == 0);
	return 0;
}

static void run(const uint8_t *s, size_t n, size_t max_frame, size_t chunk,
		struct trace *t, int decode)
{
	struct ipc_rbuf r;
	memset(t, 0, sizeof(*t));
	t->h = 1469598103934665603u;
	ipc_rbuf_init(&r, max_frame);
	for (size_t off = 0; off < n;) {
		size_t c = chunk && chunk < n - off ? chunk : n - off;
		if (ipc_rbuf_feed(&r, s + off, c) < 0) {
			t->full = 1;
			break;
		}
		off += c;
		if (drain(&r, t, decode) < 0)
			break;
	}
	if (!n)
		(void)drain(&r, t, decode);
	/* the reader never holds much more than one frame and one chunk */
	MUST(r.cap <= 2 * (r.max_frame + IPC_HDR_LEN + 16384));
	ipc_rbuf_free(&r);
}

static int ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t ctl = data[0];
	const uint8_t *s = data + 1;
	size_t n = size - 1;
	size_t max_frame = ctl & 1 ? 64 : 0;
	size_t chunk = ctl >> 1;

	struct trace a, b;
	run(s, n, max_frame, chunk, &a, 1);
	run(s, n, max_frame, 0, &b, 0);
	if (!a.full && !b.full) {
		MUST(a.frames == b.frames);
		MUST(a.h == b.h);
		MUST(a.refused == b.refused);
	}

	/* json_check on the raw stream, and with whitespace around it */
	int v = json_check((const char *)s, n);
	char *w = malloc(n + 4);
	MUST(w);
	w[0] = ' ';
	w[1] = '\n';
	memcpy(w + 2, s, n);
	w[n + 2] = '\t';
	w[n + 3] = '\r';
	MUST(json_check(w, n + 4) == v);
	/* without leading/trailing whitespace the verdict stays too */
	size_t lo = 0, hi = n;
	while (lo < hi && ws(s[lo]))
		lo++;
	while (hi > lo && ws(s[hi - 1]))
		hi--;
	MUST(json_check((const char *)s + lo, hi - lo) == v);
	free(w);
	return 0;
}
