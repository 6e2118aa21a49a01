/*
 * replay_main.c - run fuzz_ipc.c's LLVMFuzzerTestOneInput without libFuzzer:
 *
 *   fuzz_replay [FILE|DIR]...    every file (a DIR: every file in it), then
 *                                a fixed pseudo-random batch built from
 *                                valid frames, mutated
 *   fuzz_replay --seeds DIR      write the valid-frame seeds to DIR (how
 *                                corpus/ was made)
 *
 * A broken invariant traps inside the harness, so the test fails loudly.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "../check.h"
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- valid frames to start from ------------------------------------------- */

#define NSEEDS 16
static uint8_t *seed_data[NSEEDS];
static size_t seed_len[NSEEDS];
static const char *seed_name[NSEEDS];
static size_t nseeds;

static void add_seed(const char *name, uint8_t ctl, struct ipc_wbuf *w)
{
	REQUIRE(nseeds < NSEEDS);
	size_t n = ipc_wbuf_pending(w);
	uint8_t *b = malloc(n + 1);
	REQUIRE(b != NULL);
	b[0] = ctl;
	memcpy(b + 1, w->data + w->off, n);
	seed_data[nseeds] = b;
	seed_len[nseeds] = n + 1;
	seed_name[nseeds] = name;
	nseeds++;
	ipc_wbuf_free(w);
	ipc_wbuf_init(w, 0);
}

static void add_raw(const char *name, const char *s)
{
	struct ipc_wbuf w;
	ipc_wbuf_init(&w, 0);
	size_t n = strlen(s);
	uint8_t *b = malloc(n + 1);
	REQUIRE(b != NULL);
	b[0] = 0;
	memcpy(b + 1, s, n);
	REQUIRE(nseeds < NSEEDS);
	seed_data[nseeds] = b;
	seed_len[nseeds] = n + 1;
	seed_name[nseeds] = name;
	nseeds++;
}

static void make_seeds(void)
{
	struct ipc_wbuf w;
	ipc_wbuf_init(&w, 0);

	Gkipc__Limits lim = GKIPC__LIMITS__INIT;
	lim.timeout_ms = 1000;
	lim.memory_mb = 256;
	Gkipc__RunRequest rr = GKIPC__RUN_REQUEST__INIT;
	rr.run_id = 42;
	rr.request_id = "7";
	rr.key = "/flow/echo";
	rr.input = (ProtobufCBinaryData){ 7, (uint8_t *)"{\"a\":1}" };
	rr.trace_id = "0123456789abcdef0123456789abcdef";
	rr.span_id = "0123456789abcdef";
	rr.stream = 1;
	rr.limits = &lim;
	Gkipc__ToWorker tw = GKIPC__TO_WORKER__INIT;
	tw.msg_case = GKIPC__TO_WORKER__MSG_RUN;
	tw.run = &rr;
	REQUIRE(ipc_send(&w, &tw.base) == 0);
	add_seed("run", 0, &w);

	REQUIRE(ipc_send_input_chunk(&w, 42, "[1,2]", 5) == 0);
	REQUIRE(ipc_send_end_input(&w, 42) == 0);
	REQUIRE(ipc_send_cancel(&w, 42) == 0);
	REQUIRE(ipc_send_shutdown(&w) == 0);
	add_seed("to_worker_small_chunked", 2 * 3, &w);

	Gkipc__ActionInfo a = GKIPC__ACTION_INFO__INIT;
	a.key = "/flow/echo";
	a.name = "echo";
	a.description = "echo";
	a.input_schema = (ProtobufCBinaryData){ 2, (uint8_t *)"{}" };
	a.mode = "pooled";
	Gkipc__ActionInfo *acts[] = { &a, &a };
	Gkipc__Hello h = GKIPC__HELLO__INIT;
	h.protocol_version = GKIPC_PROTOCOL_VERSION;
	h.pid = 100;
	h.n_actions = 2;
	h.actions = acts;
	Gkipc__FromWorker fw = GKIPC__FROM_WORKER__INIT;
	fw.msg_case = GKIPC__FROM_WORKER__MSG_HELLO;
	fw.hello = &h;
	REQUIRE(ipc_send(&w, &fw.base) == 0);
	add_seed("hello", 0, &w);

	REQUIRE(ipc_send_chunk(&w, 42, "\"x\"", 3) == 0);
	REQUIRE(ipc_send_result(&w, 42, "{\"r\":[true,null]}", 17) == 0);
	REQUIRE(ipc_send_error(&w, 43, 13, "boom", "at x") == 0);
	add_seed("from_worker_small", 2 * 1, &w);

	/* small max_frame: the second frame is over the limit */
	REQUIRE(ipc_send_chunk(&w, 1, "1", 1) == 0);
	REQUIRE(ipc_send_result(&w, 1, "[\"0123456789012345678901234567890123456789\"]", 44) == 0);
	add_seed("over_max_frame", 1, &w);

	add_raw("json_nested", "{\"a\":[1,-0.5e3,\"\\u00e9\xc3\xa9\",{\"b\":null}],\"c\":true}");
	add_raw("json_bad_utf8", "[\"\xed\xa0\x80\"]");
}

/* ---- replay --------------------------------------------------------------- */

static size_t files;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f != NULL);
	uint8_t *b = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			b = realloc(b, cap);
			REQUIRE(b != NULL);
		}
		size_t k = fread(b + n, 1, cap - n, f);
		if (!k)
			break;
		n += k;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(b, n);
	free(b);
	files++;
}

static void run_path(const char *path)
{
	struct stat st;
	REQUIRE(stat(path, &st) == 0);
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *d = opendir(path);
	REQUIRE(d != NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		run_file(p);
	}
	closedir(d);
}

static void write_seeds(const char *dir)
{
	for (size_t i = 0; i < nseeds; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, seed_name[i]);
		FILE *f = fopen(p, "wb");
		REQUIRE(f != NULL);
		REQUIRE(fwrite(seed_data[i], 1, seed_len[i], f) == seed_len[i]);
		REQUIRE(fclose(f) == 0);
	}
}

/* Seeds with a few bytes flipped, inserted, dropped or truncated. */
static size_t generated(void)
{
	uint64_t s = 0xc0ffee1234567890u;
	uint8_t buf[1024];
	size_t count = 0;
	for (int it = 0; it < 30000; it++) {
		size_t i = check_rand_(&s) % nseeds, n = seed_len[i];
		REQUIRE(n <= sizeof(buf));
		memcpy(buf, seed_data[i], n);
		buf[0] = (uint8_t)check_rand_(&s);
		int muts = 1 + (int)(check_rand_(&s) % 4);
		for (int m = 0; m < muts && n > 1; m++) {
			size_t at = 1 + check_rand_(&s) % (n - 1);
			switch (check_rand_(&s) % 4) {
			case 0:
				buf[at] ^= (uint8_t)(1u << (check_rand_(&s) % 8));
				break;
			case 1:
				buf[at] = (uint8_t)check_rand_(&s);
				break;
			case 2:
				if (n < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = (uint8_t)check_rand_(&s);
					n++;
				}
				break;
			default:
				n = at;
				break;
			}
		}
		/* exact-size copy: an overread is an ASan report */
		uint8_t *x = malloc(n);
		REQUIRE(x != NULL);
		memcpy(x, buf, n);
		LLVMFuzzerTestOneInput(x, n);
		free(x);
		count++;
	}
	return count;
}

int main(int argc, char **argv)
{
	check_init("fuzz_replay");
	make_seeds();
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
		write_seeds(argv[2]);
		printf("wrote %zu seeds to %s\n", nseeds, argv[2]);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	for (size_t i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seed_data[i], seed_len[i]);
	size_t g = generated();
	printf("replayed %zu files, %zu seeds, %zu mutants\n", files, nseeds, g);
	CHECK_UINT(files, >=, argc > 1 ? 1 : 0);
	CHECK_UEQ(g, 30000);
	for (size_t i = 0; i < nseeds; i++)
		free(seed_data[i]);
	return check_done();
}
