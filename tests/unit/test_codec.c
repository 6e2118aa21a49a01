/*
 * test_codec.c - ipc/codec.c: every ToWorker/FromWorker member packed with
 * ipc_send*, framed, unframed and decoded again; malformed input rejected
 * with a reason and without crashing (run it under ASan/UBSan too).
 */
#include "check.h"
#include "codec.h"

/* ---- helpers ---------------------------------------------------------------- */

static struct ipc_wbuf W;
static uint8_t *last;   /* payload of the last frame, malloc'd */
static size_t last_len;

/* The single frame queued in W since the last call: unframe it with an
 * rbuf and keep a private copy (decoders must not need the buffer). */
static void take(void)
{
	struct ipc_rbuf r;
	const uint8_t *p;
	size_t n;

	free(last);
	last = NULL;
	last_len = 0;
	ipc_rbuf_init(&r, 0);
	REQUIRE(ipc_rbuf_feed(&r, W.data + W.off, ipc_wbuf_pending(&W)) == 0);
	REQUIRE(ipc_rbuf_next(&r, &p, &n) == 1);
	last = malloc(n ? n : 1);
	REQUIRE(last != NULL);
	memcpy(last, p, n);
	last_len = n;
	CHECK_EQ(ipc_rbuf_next(&r, &p, &n), 0); /* exactly one frame */
	ipc_rbuf_free(&r);
	ipc_wbuf_free(&W);
	ipc_wbuf_init(&W, 0);
}

#define BIN(s) ((ProtobufCBinaryData){ .len = sizeof(s) - 1, .data = (uint8_t *)(s) })
#define CHECK_BIN(b, s) CHECK_MEM((b).data, (b).len, s, sizeof(s) - 1)

/* why must be set, non-empty and mention `word`. */
#define CHECK_WHY(why, word)                                               \
	do {                                                               \
		const char *w_ = (why);                                    \
		if (!check_report_(w_ && *w_ && strstr(w_, word),          \
				   __FILE__, __LINE__,                     \
				   "why mentions \"" word "\""))           \
			fprintf(stderr, "    why = \"%s\"\n",                \
				w_ ? w_ : "(null)");                       \
	} while (0)

static Gkipc__ToWorker *to_w(const char **why)
{
	*why = NULL;
	return ipc_decode_to_worker(last, last_len, why);
}

static Gkipc__FromWorker *from_w(const char **why)
{
	*why = NULL;
	return ipc_decode_from_worker(last, last_len, why);
}

/* ---- ToWorker ---------------------------------------------------------------- */

static void test_run_full(void)
{
	Gkipc__Limits lim = GKIPC__LIMITS__INIT;
	lim.timeout_ms = 30000;
	lim.cpu_seconds = 7;
	lim.memory_mb = 512;
	lim.max_output_bytes = (uint64_t)1 << 40;
	lim.max_open_files = 64;
	lim.max_procs = 1;
	Gkipc__RunRequest rr = GKIPC__RUN_REQUEST__INIT;
	rr.run_id = UINT64_MAX - 1;
	rr.request_id = "17";
	rr.key = "/flow/echo";
	rr.input = BIN("{\"a\":1,\"s\":\"caf\xc3\xa9\"}");
	rr.context = BIN("{\"auth\":{\"uid\":\"u\"}}");
	rr.trace_id = "0123456789abcdef0123456789abcdef";
	rr.span_id = "0123456789abcdef";
	rr.stream = 1;
	rr.stream_input = 1;
	rr.limits = &lim;
	rr.scratch_dir = "/tmp/gk-run-1";
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rr;
	CHECK_EQ(ipc_send(&W, &m.base), 0);
	take();

	const char *why;
	Gkipc__ToWorker *d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_NULL(why);
	CHECK_EQ(d->msg_case, GKIPC__TO_WORKER__MSG_RUN);
	REQUIRE(d->run != NULL);
	Gkipc__RunRequest *r = d->run;
	CHECK_UEQ(r->run_id, UINT64_MAX - 1);
	CHECK_STR(r->request_id, "17");
	CHECK_STR(r->key, "/flow/echo");
	CHECK_BIN(r->input, "{\"a\":1,\"s\":\"caf\xc3\xa9\"}");
	CHECK_BIN(r->context, "{\"auth\":{\"uid\":\"u\"}}");
	CHECK_STR(r->trace_id, "0123456789abcdef0123456789abcdef");
	CHECK_STR(r->span_id, "0123456789abcdef");
	CHECK_EQ(r->stream, 1);
	CHECK_EQ(r->stream_input, 1);
	CHECK_STR(r->scratch_dir, "/tmp/gk-run-1");
	REQUIRE(r->limits != NULL);
	CHECK_UEQ(r->limits->timeout_ms, 30000);
	CHECK_UEQ(r->limits->cpu_seconds, 7);
	CHECK_UEQ(r->limits->memory_mb, 512);
	CHECK_UEQ(r->limits->max_output_bytes, (uint64_t)1 << 40);
	CHECK_UEQ(r->limits->max_open_files, 64);
	CHECK_UEQ(r->limits->max_procs, 1);
	ipc_free_to_worker(d);

	/* The same without the why pointer. */
	d = ipc_decode_to_worker(last, last_len, NULL);
	CHECK_NOT_NULL(d);
	ipc_free_to_worker(d);
}

static void test_run_minimal(void)
{
	Gkipc__RunRequest rr = GKIPC__RUN_REQUEST__INIT;
	rr.key = "/flow/x";
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rr;
	CHECK_EQ(ipc_send(&W, &m.base), 0);
	take();
	/* 0a 09 | 1a 07 "/flow/x" */
	static const uint8_t want[] = { 0x0a, 0x09, 0x1a, 0x07, '/', 'f', 'l',
					'o', 'w', '/', 'x' };
	CHECK_MEM(last, last_len, want, sizeof(want));

	const char *why;
	Gkipc__ToWorker *d = to_w(&why);
	REQUIRE(d != NULL);
	Gkipc__RunRequest *r = d->run;
	CHECK_STR(r->key, "/flow/x");
	CHECK_UEQ(r->run_id, 0);
	CHECK_STR(r->request_id, "");
	CHECK_UEQ(r->input.len, 0);
	CHECK_UEQ(r->context.len, 0);
	CHECK_EQ(r->stream, 0);
	CHECK_EQ(r->stream_input, 0);
	CHECK_NULL(r->limits);
	ipc_free_to_worker(d);
}

static void test_run_without_key(void)
{
	const char *why;
	Gkipc__RunRequest rr = GKIPC__RUN_REQUEST__INIT;
	rr.run_id = 3;
	rr.input = BIN("1");
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rr;

	/* key "" (not sent at all in proto3) */
	CHECK_EQ(ipc_send(&W, &m.base), 0);
	take();
	CHECK_NULL(to_w(&why));
	CHECK_WHY(why, "key");

	/* an empty RunRequest: 0a 00 */
	static const uint8_t empty_run[] = { 0x0a, 0x00 };
	why = NULL;
	CHECK_NULL(ipc_decode_to_worker(empty_run, 2, &why));
	CHECK_WHY(why, "key");
	CHECK_NULL(ipc_decode_to_worker(empty_run, 2, NULL));
}

static void test_small_to_worker(void)
{
	const char *why;
	Gkipc__ToWorker *d;

	CHECK_EQ(ipc_send_input_chunk(&W, 5, "[1,\"a\\u0000b\"]", 14), 0);
	take();
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__TO_WORKER__MSG_INPUT_CHUNK);
	CHECK_UEQ(d->input_chunk->run_id, 5);
	CHECK_BIN(d->input_chunk->chunk, "[1,\"a\\u0000b\"]");
	ipc_free_to_worker(d);

	/* bytes are bytes: a NUL inside survives */
	CHECK_EQ(ipc_send_input_chunk(&W, 0, "a\0b", 3), 0);
	take();
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_UEQ(d->input_chunk->run_id, 0);
	CHECK_BIN(d->input_chunk->chunk, "a\0b");
	ipc_free_to_worker(d);

	CHECK_EQ(ipc_send_end_input(&W, 6), 0);
	take();
	static const uint8_t end6[] = { 0x1a, 0x02, 0x08, 0x06 };
	CHECK_MEM(last, last_len, end6, sizeof(end6));
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__TO_WORKER__MSG_END_INPUT);
	CHECK_UEQ(d->end_input->run_id, 6);
	ipc_free_to_worker(d);

	/* exact frame bytes: header 00 00 00 04, field 4 (cancel) {run_id 7} */
	CHECK_EQ(ipc_send_cancel(&W, 7), 0);
	static const uint8_t cancel7[] = { 0, 0, 0, 4, 0x22, 0x02, 0x08, 0x07 };
	CHECK_MEM(W.data + W.off, ipc_wbuf_pending(&W), cancel7, sizeof(cancel7));
	take();
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__TO_WORKER__MSG_CANCEL);
	CHECK_UEQ(d->cancel->run_id, 7);
	ipc_free_to_worker(d);

	/* run_id 2^64-1: a 10-byte varint */
	CHECK_EQ(ipc_send_cancel(&W, UINT64_MAX), 0);
	take();
	CHECK_UEQ(last_len, 2 + 1 + 10);
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_UEQ(d->cancel->run_id, UINT64_MAX);
	ipc_free_to_worker(d);

	CHECK_EQ(ipc_send_shutdown(&W), 0);
	static const uint8_t shut[] = { 0, 0, 0, 2, 0x2a, 0x00 };
	CHECK_MEM(W.data + W.off, ipc_wbuf_pending(&W), shut, sizeof(shut));
	take();
	d = to_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__TO_WORKER__MSG_SHUTDOWN);
	CHECK_NOT_NULL(d->shutdown);
	ipc_free_to_worker(d);
}

/* ---- FromWorker -------------------------------------------------------------- */

static void send_hello(uint32_t version, Gkipc__ActionInfo **acts, size_t n)
{
	Gkipc__Hello h = GKIPC__HELLO__INIT;
	h.protocol_version = version;
	h.pid = 4242;
	h.n_actions = n;
	h.actions = acts;
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;
	m.msg_case = GKIPC__FROM_WORKER__MSG_HELLO;
	m.hello = &h;
	CHECK_EQ(ipc_send(&W, &m.base), 0);
	take();
}

static void test_hello(void)
{
	Gkipc__Limits lim = GKIPC__LIMITS__INIT;
	lim.timeout_ms = 1500;
	lim.memory_mb = 64;
	Gkipc__ActionInfo a = GKIPC__ACTION_INFO__INIT;
	a.key = "/flow/echo";
	a.name = "echo";
	a.description = "Echoes its input";
	a.input_schema = BIN("{\"type\":\"object\"}");
	a.output_schema = BIN("{\"type\":\"string\"}");
	a.metadata = BIN("{\"flow\":{\"stream\":true}}");
	a.limits = &lim;
	a.mode = "fresh";
	a.sandbox = "strict";
	Gkipc__ActionInfo b = GKIPC__ACTION_INFO__INIT;
	b.key = "/model/m";
	b.name = "m";
	Gkipc__ActionInfo *acts[] = { &a, &b };

	send_hello(GKIPC_PROTOCOL_VERSION, acts, 2);
	const char *why;
	Gkipc__FromWorker *d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_NULL(why);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_HELLO);
	Gkipc__Hello *h = d->hello;
	CHECK_UEQ(h->protocol_version, 1);
	CHECK_EQ(h->pid, 4242);
	REQUIRE(h->n_actions == 2);
	Gkipc__ActionInfo *x = h->actions[0], *y = h->actions[1];
	CHECK_STR(x->key, "/flow/echo");
	CHECK_STR(x->name, "echo");
	CHECK_STR(x->description, "Echoes its input");
	CHECK_BIN(x->input_schema, "{\"type\":\"object\"}");
	CHECK_BIN(x->output_schema, "{\"type\":\"string\"}");
	CHECK_BIN(x->metadata, "{\"flow\":{\"stream\":true}}");
	REQUIRE(x->limits != NULL);
	CHECK_UEQ(x->limits->timeout_ms, 1500);
	CHECK_UEQ(x->limits->cpu_seconds, 0);
	CHECK_UEQ(x->limits->memory_mb, 64);
	CHECK_STR(x->mode, "fresh");
	CHECK_STR(x->sandbox, "strict");
	CHECK_STR(y->key, "/model/m");
	CHECK_STR(y->name, "m");
	CHECK_STR(y->description, "");
	CHECK_UEQ(y->input_schema.len, 0);
	CHECK_UEQ(y->metadata.len, 0);
	CHECK_NULL(y->limits);
	CHECK_STR(y->mode, "");
	ipc_free_from_worker(d);

	/* no actions at all is a valid (if useless) worker */
	send_hello(GKIPC_PROTOCOL_VERSION, NULL, 0);
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_UEQ(d->hello->n_actions, 0);
	CHECK_EQ(d->hello->pid, 4242);
	ipc_free_from_worker(d);
}

static void test_hello_rejected(void)
{
	const char *why;
	Gkipc__ActionInfo good = GKIPC__ACTION_INFO__INIT;
	good.key = "/flow/ok";
	good.name = "ok";
	Gkipc__ActionInfo *one[] = { &good };

	static const uint32_t versions[] = { 0, 2, 1000, UINT32_MAX };
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		send_hello(versions[i], one, 1);
		CHECK_NULL(from_w(&why));
		CHECK_WHY(why, "version");
	}

	static const struct { const char *key, *name; } bad[] = {
		{ "", "x" },          /* no key */
		{ "/flow/x", "" },    /* no name */
		{ "", "" },
		{ "flow/x", "x" },    /* key must start with '/' */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Gkipc__ActionInfo a = GKIPC__ACTION_INFO__INIT;
		a.key = (char *)bad[i].key;
		a.name = (char *)bad[i].name;
		/* alone, and behind a good action */
		Gkipc__ActionInfo *alone[] = { &a }, *two[] = { &good, &a };
		send_hello(GKIPC_PROTOCOL_VERSION, alone, 1);
		CHECK_NULL(from_w(&why));
		CHECK_WHY(why, "key or name");
		send_hello(GKIPC_PROTOCOL_VERSION, two, 2);
		CHECK_NULL(from_w(&why));
		CHECK_WHY(why, "key or name");
	}

	/* hello whose action is an empty message: 0a 04 | 08 01 | 1a 00 */
	static const uint8_t empty_action[] = { 0x0a, 0x04, 0x08, 0x01,
						0x1a, 0x00 };
	why = NULL;
	CHECK_NULL(ipc_decode_from_worker(empty_action, sizeof(empty_action),
					  &why));
	CHECK_WHY(why, "key or name");
	/* the same with version 1 and no action is fine */
	static const uint8_t no_action[] = { 0x0a, 0x02, 0x08, 0x01 };
	Gkipc__FromWorker *d = ipc_decode_from_worker(no_action, 4, &why);
	CHECK_NOT_NULL(d);
	ipc_free_from_worker(d);
}

static void test_small_from_worker(void)
{
	const char *why;
	Gkipc__FromWorker *d;

	CHECK_EQ(ipc_send_chunk(&W, 8, "\"x\"", 3), 0);
	take();
	/* field 2 {run_id 8, chunk "\"x\""} */
	static const uint8_t chunk8[] = { 0x12, 0x07, 0x08, 0x08, 0x12, 0x03,
					  '"', 'x', '"' };
	CHECK_MEM(last, last_len, chunk8, sizeof(chunk8));
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_CHUNK);
	CHECK_UEQ(d->chunk->run_id, 8);
	CHECK_BIN(d->chunk->chunk, "\"x\"");
	ipc_free_from_worker(d);

	CHECK_EQ(ipc_send_result(&W, 9, "{}", 2), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_RESULT);
	CHECK_UEQ(d->result->run_id, 9);
	CHECK_BIN(d->result->result, "{}");
	CHECK_UEQ(d->result->run_us, 0);
	ipc_free_from_worker(d);

	/* the worker's own timing of the run travels with the reply */
	CHECK_EQ(ipc_send_result_us(&W, 10, "1", 1, 4242), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_UEQ(d->result->run_us, 4242);
	ipc_free_from_worker(d);
	CHECK_EQ(ipc_send_error_us(&W, 10, 2, "m", NULL, 77), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_ERROR);
	CHECK_UEQ(d->error->run_us, 77);
	ipc_free_from_worker(d);

	/* an empty result is still a result (the worker's "null") */
	CHECK_EQ(ipc_send_result(&W, 1, NULL, 0), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_RESULT);
	CHECK_UEQ(d->result->result.len, 0);
	ipc_free_from_worker(d);

	/* a 3 MiB result */
	size_t big = (size_t)3 << 20;
	char *json = malloc(big);
	REQUIRE(json != NULL);
	memset(json, ' ', big);
	json[0] = '[';
	json[big - 1] = ']';
	CHECK_EQ(ipc_send_result(&W, 11, json, big), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_UEQ(d->result->run_id, 11);
	CHECK_MEM(d->result->result.data, d->result->result.len, json, big);
	ipc_free_from_worker(d);
	free(json);

	CHECK_EQ(ipc_send_error(&W, 10, 13, "boom: caf\xc3\xa9", "at f (x.c:1)\nat g"), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->msg_case, GKIPC__FROM_WORKER__MSG_ERROR);
	CHECK_UEQ(d->error->run_id, 10);
	CHECK_EQ(d->error->code, 13);
	CHECK_STR(d->error->message, "boom: caf\xc3\xa9");
	CHECK_STR(d->error->stack, "at f (x.c:1)\nat g");
	ipc_free_from_worker(d);

	/* NULL message/stack become "", negative codes survive */
	CHECK_EQ(ipc_send_error(&W, 12, -5, NULL, NULL), 0);
	take();
	d = from_w(&why);
	REQUIRE(d != NULL);
	CHECK_EQ(d->error->code, -5);
	CHECK_STR(d->error->message, "");
	CHECK_STR(d->error->stack, "");
	ipc_free_from_worker(d);
}

/* ---- malformed input --------------------------------------------------------- */

static void test_no_member(void)
{
	const char *why;
	static const uint8_t dummy = 0;

	/* empty payload: a message with nothing set */
	why = NULL;
	CHECK_NULL(ipc_decode_to_worker(&dummy, 0, &why));
	CHECK_WHY(why, "no known member");
	why = NULL;
	CHECK_NULL(ipc_decode_from_worker(&dummy, 0, &why));
	CHECK_WHY(why, "no known member");

	/* only a field this version does not know (15, varint 1) */
	static const uint8_t unknown[] = { 0x78, 0x01 };
	why = NULL;
	CHECK_NULL(ipc_decode_to_worker(unknown, 2, &why));
	CHECK_WHY(why, "no known member");
	why = NULL;
	CHECK_NULL(ipc_decode_from_worker(unknown, 2, &why));
	CHECK_WHY(why, "no known member");

	/* a message-typed field far beyond the oneof (1000, LEN: c2 3e),
	 * i.e. a member added by a newer peer */
	static const uint8_t f1000[] = { 0xc2, 0x3e, 0x02, 0x08, 0x01 };
	why = NULL;
	CHECK_NULL(ipc_decode_to_worker(f1000, sizeof(f1000), &why));
	CHECK_WHY(why, "no known member");
	why = NULL;
	CHECK_NULL(ipc_decode_from_worker(f1000, sizeof(f1000), &why));
	CHECK_WHY(why, "no known member");

	/* a member with the wrong wire type (varint where a message goes) */
	static const uint8_t wt[] = { 0x08, 0x01 };
	why = NULL;
	CHECK_NULL(ipc_decode_to_worker(wt, 2, &why));
	CHECK_WHY(why, "ToWorker");
	why = NULL;
	CHECK_NULL(ipc_decode_from_worker(wt, 2, &why));
	CHECK_WHY(why, "FromWorker");
}

/* Every strict prefix of a valid message is rejected (each message has one
 * top-level length-delimited field, so every cut lands inside it). */
static void test_truncated(void)
{
	Gkipc__Limits lim = GKIPC__LIMITS__INIT;
	lim.timeout_ms = 99;
	Gkipc__RunRequest rr = GKIPC__RUN_REQUEST__INIT;
	rr.run_id = 300;
	rr.key = "/flow/echo";
	rr.input = BIN("{\"k\":[1,2,3]}");
	rr.trace_id = "00112233445566778899aabbccddeeff";
	rr.limits = &lim;
	rr.stream = 1;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	m.run = &rr;
	CHECK_EQ(ipc_send(&W, &m.base), 0);
	take();

	unsigned accepted = 0, no_why = 0;
	for (size_t k = 0; k < last_len; k++) {
		uint8_t *cut = malloc(k ? k : 1); /* exact size: ASan sees overreads */
		REQUIRE(cut != NULL);
		memcpy(cut, last, k);
		const char *why = NULL;
		Gkipc__ToWorker *d = ipc_decode_to_worker(cut, k, &why);
		if (d) {
			accepted++;
			ipc_free_to_worker(d);
		} else if (!why || !*why) {
			no_why++;
		}
		free(cut);
	}
	CHECK_EQ(accepted, 0);
	CHECK_EQ(no_why, 0);
	Gkipc__ToWorker *d = ipc_decode_to_worker(last, last_len, NULL);
	CHECK_NOT_NULL(d); /* and the whole one is fine */
	ipc_free_to_worker(d);

	Gkipc__ActionInfo a = GKIPC__ACTION_INFO__INIT;
	a.key = "/flow/a";
	a.name = "a";
	a.metadata = BIN("{}");
	Gkipc__ActionInfo *acts[] = { &a, &a, &a };
	send_hello(GKIPC_PROTOCOL_VERSION, acts, 3);
	accepted = no_why = 0;
	for (size_t k = 0; k < last_len; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		REQUIRE(cut != NULL);
		memcpy(cut, last, k);
		const char *why = NULL;
		Gkipc__FromWorker *f = ipc_decode_from_worker(cut, k, &why);
		if (f) {
			accepted++;
			ipc_free_from_worker(f);
		} else if (!why || !*why) {
			no_why++;
		}
		free(cut);
	}
	CHECK_EQ(accepted, 0);
	CHECK_EQ(no_why, 0);
}

/* Random bytes (fixed seed): never a crash, a leak or an ASan report;
 * NULL always comes with a reason; whatever is accepted obeys the rules. */
static void test_garbage(void)
{
	uint64_t seed = 0x243f6a8885a308d3u;
	unsigned rejected = 0, accepted = 0, bad = 0;
	uint8_t pre[2][4] = { { 0x0a }, { 0x12 } };

	for (unsigned it = 0; it < 40000; it++) {
		size_t n = check_rand_(&seed) % 300;
		uint8_t *buf = malloc(n ? n : 1);
		REQUIRE(buf != NULL);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)check_rand_(&seed);
		/* a quarter start like a real member, to get past the first
		 * tag more often */
		if (n >= 2 && it % 4 == 0) {
			memcpy(buf, pre[it / 4 % 2], 1);
			buf[1] = (uint8_t)(n - 2 < 127 ? n - 2 : 127);
		}
		const char *why = NULL;
		const char **whyp = it % 7 ? &why : NULL;
		Gkipc__ToWorker *t = ipc_decode_to_worker(buf, n, whyp);
		if (!t) {
			rejected++;
			if (whyp && (!why || !*why))
				bad++;
		} else {
			accepted++;
			if (t->msg_case == GKIPC__TO_WORKER__MSG_RUN &&
			    (!t->run->key || !*t->run->key))
				bad++;
			if (t->msg_case == GKIPC__TO_WORKER__MSG__NOT_SET)
				bad++;
			ipc_free_to_worker(t);
		}
		why = NULL;
		Gkipc__FromWorker *f = ipc_decode_from_worker(buf, n, whyp);
		if (!f) {
			rejected++;
			if (whyp && (!why || !*why))
				bad++;
		} else {
			accepted++;
			if (f->msg_case == GKIPC__FROM_WORKER__MSG_HELLO &&
			    f->hello->protocol_version != GKIPC_PROTOCOL_VERSION)
				bad++;
			if (f->msg_case == GKIPC__FROM_WORKER__MSG__NOT_SET)
				bad++;
			ipc_free_from_worker(f);
		}
		free(buf);
	}
	CHECK_EQ(bad, 0);
	CHECK_UINT(rejected, >, 70000); /* nearly all of the 80000 */
	printf("garbage: %u rejected, %u accepted\n", rejected, accepted);
}

int main(void)
{
	check_init("test_codec");
	ipc_wbuf_init(&W, 0);
	test_run_full();
	test_run_minimal();
	test_run_without_key();
	test_small_to_worker();
	test_hello();
	test_hello_rejected();
	test_small_from_worker();
	test_no_member();
	test_truncated();
	test_garbage();
	free(last);
	ipc_wbuf_free(&W);
	return check_done();
}
