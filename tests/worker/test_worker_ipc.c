/*
 * test_worker_ipc.c - genkit-worker with the demo plugin, driven directly
 * over its IPC socket: hello, each demo action, streams both ways, limits,
 * cancel, crashes and malformed frames.
 */
#include "wk.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genkit_action.h"
#include "json_check.h"

int t_passed, t_failed;

#define S(x) x, sizeof(x) - 1

/* ---- expectations ------------------------------------------------------*/

static void expect_chunk(struct wk *w, uint64_t run_id, const char *json)
{
	Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_CHUNK);

	if (!m)
		return;
	CHECK_INT(m->chunk->run_id, run_id);
	CHECK_BYTES(m->chunk->chunk.data, m->chunk->chunk.len, json);
	ipc_free_from_worker(m);
}

static void send_input(struct wk *w, uint64_t run_id, const char *json,
		       size_t n)
{
	CHECK_INT(ipc_send_input_chunk(&w->wb, run_id, json, n), 0);
}

/* ---- tests on one long-lived worker -----------------------------------*/

static void test_hello(struct wk *w, Gkipc__FromWorker *m)
{
	static const char *const names[] = { "echo", "count", "sleep", "spin",
					     "crash", "bidiEcho", "fail",
					     "allocate", "forkBomb", "writeFile",
					     "connect", "spawnOrphan" };
	const size_t nn = sizeof(names) / sizeof(names[0]);

	CHECK(m && m->msg_case == GKIPC__FROM_WORKER__MSG_HELLO);
	if (!m || m->msg_case != GKIPC__FROM_WORKER__MSG_HELLO)
		return;
	Gkipc__Hello *h = m->hello;
	CHECK_INT(h->protocol_version, GKIPC_PROTOCOL_VERSION);
	CHECK_INT(h->pid, w->pid);
	CHECK_INT(h->n_actions, nn);
	for (size_t i = 0; i < nn; i++) {
		char key[64];
		int found = 0;
		snprintf(key, sizeof(key), "/flow/%s", names[i]);
		for (size_t j = 0; j < h->n_actions; j++) {
			Gkipc__ActionInfo *a = h->actions[j];
			if (strcmp(a->key, key))
				continue;
			found++;
			CHECK_BYTES(a->name, strlen(a->name), names[i]);
			CHECK(a->description[0] != '\0');
			CHECK(json_check((char *)a->input_schema.data,
					 a->input_schema.len));
			CHECK(json_check((char *)a->output_schema.data,
					 a->output_schema.len));
		}
		if (found != 1)
			T_FAIL("%s listed %d times", key, found);
		else
			t_passed++;
	}
}

static void test_echo(struct wk *w)
{
	static const char in[] = "{\"a\":[1,2.5,\"x\\u00e9\"],\"b\":null}";

	wk_run(w, 1, "/flow/echo", S(in), 0, 0);
	wk_expect_result(w, 1, in);
	/* Whitespace and all: bytes, not a re-serialisation. */
	wk_run(w, 2, "/flow/echo", S(" [ 1 ,\"\xc3\xa9\" ] "), 1, 0);
	wk_expect_result(w, 2, " [ 1 ,\"\xc3\xa9\" ] ");
	wk_run(w, 3, "/flow/echo", NULL, 0, 0, 0);
	wk_expect_result(w, 3, "null");
}

static void test_count(struct wk *w)
{
	char buf[32];

	wk_run(w, 10, "/flow/count", S("{\"n\":5}"), 1, 0);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "{\"i\":%d}", i);
		expect_chunk(w, 10, buf);
	}
	wk_expect_result(w, 10, "5");
	/* Without stream: the result comes first, no chunk at all. */
	wk_run(w, 11, "/flow/count", S("{\"n\":3}"), 0, 0);
	wk_expect_result(w, 11, "3");
	wk_run(w, 12, "/flow/count", S("{\"n\":\"x\"}"), 1, 0);
	wk_expect_error(w, 12, GK_INVALID_ARGUMENT, "count expects");
	wk_run(w, 13, "/flow/count", S("not json"), 1, 0);
	wk_expect_error(w, 13, GK_INVALID_ARGUMENT, "count expects");
}

static void test_bidi(struct wk *w)
{
	wk_run(w, 20, "/flow/bidiEcho", NULL, 0, 1, 1);
	send_input(w, 20, S("{\"x\":1}"));
	send_input(w, 20, S("[1,2]"));
	send_input(w, 20, S("\"s\""));
	CHECK_INT(ipc_send_end_input(&w->wb, 20), 0);
	CHECK_INT(wk_flush(w), 0);
	expect_chunk(w, 20, "{\"x\":1}");
	expect_chunk(w, 20, "[1,2]");
	expect_chunk(w, 20, "\"s\"");
	wk_expect_result(w, 20, "3");
}

/* 64 chunks of 256 KiB each way, all written before reading anything: the
 * worker must keep reading while its own writes block. */
static void test_bidi_big(struct wk *w)
{
	const size_t sz = 256 * 1024, nchunks = 64;
	char *chunk = malloc(sz);

	if (!chunk)
		return;
	memset(chunk, 'b', sz);
	chunk[0] = chunk[sz - 1] = '"';
	wk_run(w, 21, "/flow/bidiEcho", NULL, 0, 1, 1);
	for (size_t i = 0; i < nchunks; i++) {
		chunk[1] = (char)('A' + i % 26);
		send_input(w, 21, chunk, sz);
		CHECK_INT(wk_flush(w), 0);
	}
	CHECK_INT(ipc_send_end_input(&w->wb, 21), 0);
	CHECK_INT(wk_flush(w), 0);
	size_t ok = 0;
	for (size_t i = 0; i < nchunks; i++) {
		Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_CHUNK);
		if (!m)
			break;
		chunk[1] = (char)('A' + i % 26);
		ok += m->chunk->chunk.len == sz &&
		      memcmp(m->chunk->chunk.data, chunk, sz) == 0;
		ipc_free_from_worker(m);
	}
	CHECK_INT(ok, nchunks);
	wk_expect_result(w, 21, "64");
	free(chunk);
}

static void test_fail(struct wk *w)
{
	wk_run(w, 30, "/flow/fail",
	       S("{\"status\":\"NOT_FOUND\",\"message\":\"no such thing\"}"), 0,
	       0);
	wk_expect_error(w, 30, 5, "no such thing");
	wk_run(w, 31, "/flow/fail", S("{\"status\":\"BOGUS\"}"), 0, 0);
	wk_expect_error(w, 31, GK_INVALID_ARGUMENT, "BOGUS");
	wk_run(w, 32, "/flow/nope", S("1"), 0, 0);
	wk_expect_error(w, 32, GK_NOT_FOUND, "/flow/nope");
}

/* Frames for runs that are not current are ignored. */
static void test_stale(struct wk *w)
{
	CHECK_INT(ipc_send_cancel(&w->wb, 999), 0);
	send_input(w, 999, S("1"));
	CHECK_INT(ipc_send_end_input(&w->wb, 999), 0);
	wk_run(w, 40, "/flow/echo", S("7"), 0, 0);
	wk_expect_result(w, 40, "7");
}

static void test_output_limit(struct wk *w)
{
	Gkipc__RunRequest r;
	Gkipc__Limits l = GKIPC__LIMITS__INIT;

	wk_req_init(&r, 50, "/flow/count", S("{\"n\":100}"));
	r.stream = 1;
	l.max_output_bytes = 30;
	r.limits = &l;
	wk_send_run(w, &r);
	/* 7 + 7 + 7 + 7 = 28 bytes fit, the fifth chunk does not. */
	expect_chunk(w, 50, "{\"i\":0}");
	expect_chunk(w, 50, "{\"i\":1}");
	expect_chunk(w, 50, "{\"i\":2}");
	expect_chunk(w, 50, "{\"i\":3}");
	wk_expect_error(w, 50, GK_RESOURCE_EXHAUSTED,
		     "Action output exceeded its limit of 30 bytes (max-output-bytes)");
	/* The same limit on a result. */
	wk_req_init(&r, 51, "/flow/echo", S("\"0123456789012345678901234567890\""));
	r.limits = &l;
	wk_send_run(w, &r);
	wk_expect_error(w, 51, GK_RESOURCE_EXHAUSTED, "(max-output-bytes)");
}

static void test_big_echo(struct wk *w)
{
	const size_t sz = 16u << 20;
	char *in = malloc(sz);

	if (!in)
		return;
	in[0] = '"';
	for (size_t i = 1; i < sz - 1; i++)
		in[i] = (char)('a' + (i * 7) % 26);
	in[sz - 1] = '"';
	wk_run(w, 60, "/flow/echo", in, sz, 0, 0);
	Gkipc__FromWorker *m = wk_expect(w, GKIPC__FROM_WORKER__MSG_RESULT);
	if (m) {
		CHECK_INT(m->result->result.len, sz);
		CHECK(m->result->result.len == sz &&
		      memcmp(m->result->result.data, in, sz) == 0);
		ipc_free_from_worker(m);
	}
	free(in);
}

static void test_long_lived(void)
{
	struct wk w;
	Gkipc__FromWorker *h = wk_start(&w);

	test_hello(&w, h);
	ipc_free_from_worker(h);
	test_echo(&w);
	test_count(&w);
	test_bidi(&w);
	test_bidi_big(&w);
	test_fail(&w);
	test_stale(&w);
	test_output_limit(&w);
	test_big_echo(&w);
	wk_run(&w, 70, "/flow/sleep", S("{\"ms\":20}"), 0, 0);
	wk_expect_result(&w, 70, "20");
	CHECK_INT(ipc_send_shutdown(&w.wb), 0);
	CHECK_INT(wk_flush(&w), 0);
	wk_expect_exit(&w, 0);
	wk_stop(&w);
}

/* ---- tests that end their worker ---------------------------------------*/

/* frame: send a Cancel frame; sig: send SIGTERM. */
static void test_cancel_sleep(int frame, int sig)
{
	struct wk w;
	long long t0 = wk_now_ms();

	ipc_free_from_worker(wk_start(&w));
	wk_run(&w, 1, "/flow/sleep", S("{\"ms\":10000}"), 0, 0);
	/* The action is running once its SIGTERM handler is in place. */
	CHECK(wk_wait_catches_sigterm(&w, WK_TIMEOUT_MS));
	if (frame) {
		CHECK_INT(ipc_send_cancel(&w.wb, 1), 0);
		CHECK_INT(wk_flush(&w), 0);
	}
	if (sig)
		CHECK_INT(kill(w.pid, SIGTERM), 0);
	wk_expect_error(&w, 1, GK_CANCELLED, "Action was cancelled");
	wk_expect_exit(&w, 0);
	if (wk_now_ms() - t0 >= 8000)
		T_FAIL("cancel took %lld ms", wk_now_ms() - t0);
	wk_stop(&w);
}

static void test_spin_sigterm(void)
{
	struct wk w;

	ipc_free_from_worker(wk_start(&w));
	wk_run(&w, 1, "/flow/spin", S("null"), 0, 0);
	CHECK_INT(ipc_send_cancel(&w.wb, 1), 0);
	CHECK_INT(wk_flush(&w), 0);
	CHECK_INT(kill(w.pid, SIGTERM), 0);
	wk_expect_signal(&w, SIGTERM);
	wk_stop(&w);
}

static void test_crash(void)
{
	struct wk w;

	ipc_free_from_worker(wk_start(&w));
	wk_run(&w, 1, "/flow/crash", S("null"), 0, 0);
	wk_expect_signal(&w, SIGSEGV);
	wk_stop(&w);
}

/* raw bytes straight on the socket, no framing added. */
static void test_malformed(const void *raw, size_t n)
{
	struct wk w;

	ipc_free_from_worker(wk_start(&w));
	CHECK(write(w.fd, raw, n) == (ssize_t)n);
	wk_expect_exit(&w, 3);
	wk_stop(&w);
}

static void test_eof(void)
{
	struct wk w;

	ipc_free_from_worker(wk_start(&w));
	close(w.fd);
	w.fd = -1;
	wk_expect_exit(&w, 0);
	wk_stop(&w);
}

static void test_bad_start(void)
{
	struct wk w;
	static const char *const mf[] = { "--max-frame-bytes", "12", NULL };

	wk_spawn(&w, "/nonexistent/plugin.so", NULL, 0);
	wk_expect_exit(&w, 2);
	wk_stop(&w);
	/* A parent that is not ours: already gone, as far as we know. */
	wk_spawn(&w, NULL, NULL, 1);
	wk_expect_exit(&w, 1);
	wk_stop(&w);
	wk_spawn(&w, NULL, mf, 0);
	wk_expect_exit(&w, 1);
	wk_stop(&w);
}

/* What startup_process() promises, seen from outside. */
static void test_process_setup(void)
{
	char path[64], link[256], line[256];
	unsigned long long flags = 0, ign = ~0ULL;
	struct wk w;
	FILE *f;

	ipc_free_from_worker(wk_start(&w));
	CHECK_INT(getpgid(w.pid), w.pid);
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)w.pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK_BYTES(link, strlen(link), "/dev/null");
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/3", (int)w.pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "flags: %llo", &flags) == 1)
				break;
		fclose(f);
	}
	CHECK(flags & O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)w.pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigIgn: %llx", &ign) == 1)
				break;
		fclose(f);
	}
	/* We ignore SIGPIPE (like lws); the worker must not inherit that.
	 * (32 and 33 belong to libc and cannot be reset through it.) */
	CHECK_INT((ign >> (SIGPIPE - 1)) & 1, 0);
	CHECK_INT(ign & 0x7fffffffULL, 0);
	wk_stop(&w);
}

static void test_bad_plugins(void)
{
	static const char *const modes[] = { "init", "schema", "metadata",
					     "name", "mode" };
	char path[4096];
	const char *b = getenv("GK_BUILD_DIR");
	struct wk w;

	snprintf(path, sizeof(path), "%s/tests/worker/bad-plugin.so",
		 b ? b : ".");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		setenv("GK_BAD_PLUGIN", modes[i], 1);
		wk_spawn(&w, path, NULL, 0);
		wk_expect_exit(&w, 2);
		wk_stop(&w);
	}
	unsetenv("GK_BAD_PLUGIN");
	/* The demo twice: every key is a duplicate. */
	snprintf(path, sizeof(path), "%s/tools/demo/genkit-demo.so",
		 b ? b : ".");
	const char *const again[] = { "--plugin", path, NULL };
	wk_spawn(&w, NULL, again, 0);
	wk_expect_exit(&w, 2);
	wk_stop(&w);
}

/* Handlers that misuse the SDK still give each run exactly one reply. */
static void test_sdk_misuse(void)
{
	char path[4096];
	const char *b = getenv("GK_BUILD_DIR");
	Gkipc__RunRequest r;
	struct wk w;

	snprintf(path, sizeof(path), "%s/tests/worker/bad-plugin.so",
		 b ? b : ".");
	setenv("GK_BAD_PLUGIN", "runtime", 1);
	wk_spawn(&w, path, NULL, 0);
	unsetenv("GK_BAD_PLUGIN");
	Gkipc__FromWorker *h = wk_expect(&w, GKIPC__FROM_WORKER__MSG_HELLO);
	if (h) {
		CHECK_INT(h->hello->n_actions, 6);
		Gkipc__ActionInfo *a = h->hello->actions[5];
		CHECK_BYTES(a->key, strlen(a->key), "/test/whoami");
		CHECK_BYTES(a->metadata.data, a->metadata.len, "{\"x\":1}");
		CHECK_BYTES(a->mode, strlen(a->mode), "fresh");
		CHECK_BYTES(a->sandbox, strlen(a->sandbox), "strict");
		CHECK_INT(a->limits ? a->limits->timeout_ms : 0, 1234);
		CHECK_INT(a->input_schema.len, 0);
		ipc_free_from_worker(h);
	}
	wk_run(&w, 1, "/test/noResult", NULL, 0, 0, 0);
	wk_expect_error(&w, 1, GK_INTERNAL, "action returned no result");
	wk_run(&w, 2, "/test/badJson", NULL, 0, 0, 0);
	wk_expect_error(&w, 2, GK_INTERNAL, "action returned invalid JSON");
	wk_run(&w, 3, "/test/badChunk", NULL, 0, 1, 0);
	wk_expect_error(&w, 3, GK_INTERNAL, "invalid JSON in stream chunk");
	wk_run(&w, 4, "/test/badStatus", NULL, 0, 0, 0);
	wk_expect_error(&w, 4, GK_INTERNAL, "invalid status 99: odd status");
	wk_run(&w, 5, "/test/twoReplies", NULL, 0, 0, 0);
	wk_expect_result(&w, 5, "\"first\"");
	wk_req_init(&r, 6, "/test/whoami", S("[true]"));
	r.context.data = (uint8_t *)"{\"auth\":1}";
	r.context.len = 10;
	r.stream = 1;
	r.scratch_dir = "/tmp/x";
	wk_send_run(&w, &r);
	wk_expect_result(&w, 6, "[\"/test/whoami\",\"0123456789abcdef0123456789abcdef\","
			     "\"0123456789abcdef\",{\"auth\":1},[true],1,0,\"/tmp/x\"]");
	wk_run(&w, 7, "/test/whoami", NULL, 0, 0, 1);
	wk_expect_result(&w, 7, "[\"/test/whoami\",\"0123456789abcdef0123456789abcdef\","
			     "\"0123456789abcdef\",{},null,0,1,\"-\"]");
	/* Still healthy, and nothing else was sent. */
	wk_run(&w, 8, "/test/badJson", NULL, 0, 0, 0);
	wk_expect_error(&w, 8, GK_INTERNAL, "invalid JSON");
	close(w.fd);
	w.fd = -1;
	wk_expect_exit(&w, 0);
	wk_stop(&w);
}

static void test_status_names(void)
{
	CHECK_INT(gk_status_from_name("NOT_FOUND"), 5);
	CHECK_INT(gk_status_from_name("UNAUTHENTICATED"), 16);
	CHECK_INT(gk_status_from_name("OK"), 0);
	CHECK_INT(gk_status_from_name("not_found"), -1);
	CHECK_INT(gk_status_from_name(NULL), -1);
	for (int i = 0; i <= 16; i++)
		CHECK_INT(gk_status_from_name(gk_status_name(i)), i);
	CHECK_BYTES(gk_status_name(8), strlen(gk_status_name(8)),
		    "RESOURCE_EXHAUSTED");
	CHECK_BYTES(gk_status_name(17), strlen(gk_status_name(17)), "UNKNOWN");
	CHECK_BYTES(gk_status_name(-1), strlen(gk_status_name(-1)), "UNKNOWN");
}

int main(void)
{
	struct rlimit nocore = { 0, 0 };

	/* The crash test must not leave (or pipe) a core dump. */
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGPIPE, SIG_IGN); /* like lws in the supervisor */

	test_long_lived();
	test_cancel_sleep(1, 1);
	test_cancel_sleep(0, 1);
	test_cancel_sleep(1, 0);
	test_spin_sigterm();
	test_crash();
	test_malformed("GARBAGE!", 8);                 /* 1.2 GB header */
	test_malformed("\0\0\0\5\xff\xff\xff\xff\xff", 9); /* undecodable */
	test_malformed("\0\0\0\0", 4);                 /* no member set */
	test_eof();
	test_bad_start();
	test_bad_plugins();
	test_process_setup();
	test_sdk_misuse();
	test_status_names();

	printf("worker-ipc: %d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
