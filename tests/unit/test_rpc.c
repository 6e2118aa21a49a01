/*
 * test_rpc.c - JSON-RPC handling of genkit-supervisor (rpc.c + methods.c)
 * with the WebSocket, the catalogue and the run layer replaced by stubs:
 * every reply shape, every parameter check, ids kept byte for byte, inputs
 * passed on as the exact bytes the manager sent.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "check.h"
#include "out.h"
#include "rpc.h"
#include "run.h"
#include "sv.h"
#include "ws.h"

/* ---- stubs ------------------------------------------------------------ */

struct sv *sv;
static struct sv the_sv;
static struct config the_cfg;

#define MAX_OUT 16
static char *sent[MAX_OUT];
static int n_sent;

void ws_send(struct ws *ws, struct out *o)
{
	(void)ws;
	if (n_sent < MAX_OUT) {
		sent[n_sent] = strndup((char *)out_data(o), o->len);
		n_sent++;
	}
	out_free(o);
}

static const char catalog_text[] =
	"{\"actions\":{\"/flow/echo\":{\"key\":\"/flow/echo\",\"name\":\"echo\"}}}";
static struct action echo_action = { .key = "/flow/echo", .name = "echo",
				     .mode = "", .sandbox = "" };

struct action *catalog_find(const struct catalog *c, const char *key,
			    size_t len)
{
	(void)c;
	return len == 10 && !memcmp(key, "/flow/echo", 10) ? &echo_action : NULL;
}

const char *catalog_json(const struct catalog *c, size_t *len)
{
	(void)c;
	*len = strlen(catalog_text);
	return catalog_text;
}

static struct run *begun;
static struct run *cancelled;
static int inputs, ends;

void run_begin(struct run *r)
{
	begun = r;
}

void run_cancel(struct run *r)
{
	cancelled = r;
}

void run_input(struct run *r, struct ws_event *msg, struct jspan chunk)
{
	(void)r;
	if (chunk.n)
		inputs++;
	else
		ends++;
	free(msg);
}

/* ---- helpers ---------------------------------------------------------- */

static void reset(void)
{
	for (int i = 0; i < n_sent; i++)
		free(sent[i]);
	n_sent = 0;
	if (begun) {
		free(begun->key);
		free(begun->msg);
		free(begun);
	}
	begun = NULL;
	cancelled = NULL;
	inputs = ends = 0;
}

static void feed(const char *text)
{
	size_t n = strlen(text);
	struct ws_event *ev = malloc(sizeof(*ev) + n + 1);
	REQUIRE(ev);
	ev->type = WS_MESSAGE;
	ev->len = n;
	memcpy(ev->data, text, n + 1);
	rpc_on_message(ev);
}

/* The single reply, parsed; NULL (and a failed check) otherwise. */
static json_t *reply(void)
{
	CHECK_EQ(n_sent, 1);
	if (n_sent != 1)
		return NULL;
	json_error_t e;
	json_t *j = json_loads(sent[0], 0, &e);
	CHECK_NOT_NULL(j);
	return j;
}

/* Check an error reply: JSON-RPC code, Status code, message, id text. */
static void expect_error(const char *in, int code, int status,
			 const char *message, const char *id_json)
{
	reset();
	feed(in);
	json_t *j = reply();
	if (!j)
		return;
	json_t *err = json_object_get(j, "error");
	CHECK_EQ(json_integer_value(json_object_get(err, "code")), code);
	json_t *data = json_object_get(err, "data");
	CHECK_EQ(json_integer_value(json_object_get(data, "code")), status);
	CHECK(json_is_object(json_object_get(data, "details")));
	const char *m = json_string_value(json_object_get(err, "message"));
	CHECK_STR(m ? m : "(null)", message);
	CHECK_STR(json_string_value(json_object_get(data, "message")), message);
	char *id = json_dumps(json_object_get(j, "id"), JSON_ENCODE_ANY);
	CHECK_STR(id, id_json);
	free(id);
	CHECK_STR(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
	json_decref(j);
}

static void expect_result(const char *in, const char *result_json)
{
	reset();
	feed(in);
	CHECK_EQ(n_sent, 1);
	if (n_sent != 1)
		return;
	json_t *j = json_loads(sent[0], 0, NULL);
	json_t *want = json_loads(result_json, 0, NULL);
	CHECK(json_equal(json_object_get(j, "result"), want));
	json_decref(j);
	json_decref(want);
}

static void expect_silence(const char *in)
{
	reset();
	feed(in);
	CHECK_EQ(n_sent, 0);
}

/* ---- tests ------------------------------------------------------------ */

static void test_envelope(void)
{
	expect_error("{bad json", -32700, 3,
		     "Parse error: the message is not valid JSON", "null");
	{
		/* Valid JSON, but deeper than the validator follows. */
		char deep[2 * 600 + 1];
		memset(deep, '[', 600);
		memset(deep + 600, ']', 600);
		deep[1200] = 0;
		expect_error(deep, -32700, 3,
			     "Parse error: the message nests deeper than 512 levels",
			     "null");
	}
	expect_error("42", -32600, 3,
		     "Invalid Request: a message must be a JSON object", "null");
	expect_error("[]", -32600, 3,
		     "Invalid Request: a message must be a JSON object", "null");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"listActions\"}",
		     -32600, 3, "Invalid Request: id must be a string or a number",
		     "null");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"9\"}", -32600, 3,
		     "Invalid Request: no method", "\"9\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"9\",\"method\":7}", -32600, 3,
		     "Invalid Request: method must be a string", "\"9\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"nope\"}",
		     -32601, 12, "Method not found: nope", "\"1\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"nope\"}",
		     -32601, 12, "Method not found: nope", "17");
	/* Unknown notifications are ignored, as are runtime-only methods. */
	expect_silence("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"params\":{}}");
	expect_silence("{\"jsonrpc\":\"2.0\",\"method\":\"streamChunk\",\"params\":{}}");
}

static void test_list(void)
{
	expect_result("{\"jsonrpc\":\"2.0\",\"id\":\"2\",\"method\":\"listActions\"}",
		      catalog_text);
	CHECK(strstr(sent[0], "\"id\":\"2\"") != NULL);
	expect_result("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"listValues\",\"params\":{\"type\":\"defaultModel\"}}",
		      "{\"values\":{}}");
	expect_result("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"listValues\",\"params\":{\"type\":\"middleware\"}}",
		      "{\"values\":{}}");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"listValues\",\"params\":{\"type\":\"model\"}}",
		     -32602, 3,
		     "'type' model is not supported. Only 'defaultModel' and 'middleware' are supported",
		     "\"3\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"listValues\",\"params\":{\"type\":5}}",
		     -32602, 3, "Invalid params: 'type' must be a string", "\"3\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"listValues\"}",
		     -32602, 3, "Invalid params: listValues expects an object", "\"3\"");
}

static void test_run_action(void)
{
	const char *base = "{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"method\":\"runAction\",\"params\":";
	char buf[512];
#define RUN(params) (snprintf(buf, sizeof(buf), "%s%s}", base, params), buf)
	expect_error(RUN("[1]"), -32602, 3,
		     "Invalid params: runAction expects an object", "\"7\"");
	expect_error(RUN("{\"key\":5}"), -32602, 3,
		     "Invalid params: 'key' must be a string", "\"7\"");
	expect_error(RUN("{}"), -32602, 3,
		     "Invalid params: 'key' must be a string", "\"7\"");
	expect_error(RUN("{\"key\":\"/flow/nope\"}"), -32602, 5,
		     "Action not found: /flow/nope", "\"7\"");
	expect_error(RUN("{\"key\":\"/flow/echo\",\"stream\":\"yes\"}"), -32602, 3,
		     "Invalid params: 'stream' must be a boolean", "\"7\"");
	expect_error(RUN("{\"key\":\"/flow/echo\",\"streamInput\":1}"), -32602, 3,
		     "Invalid params: 'streamInput' must be a boolean", "\"7\"");
	expect_error(RUN("{\"key\":\"/flow/echo\",\"context\":3}"), -32602, 3,
		     "Invalid params: 'context' must be an object", "\"7\"");
	expect_error(RUN("{\"key\":\"/flow/echo\",\"telemetryLabels\":[]}"), -32602, 3,
		     "Invalid params: 'telemetryLabels' must be an object", "\"7\"");
	CHECK_NULL(begun);

	/* A good one: the run gets the exact bytes, nothing is sent yet. */
	reset();
	feed(RUN("{\"key\":\"\\/flow\\/echo\",\"input\":{\"a\": [1, 2.50, \"\\u00e9\"]},"
		 "\"stream\":true,\"context\":{\"auth\":null},\"telemetryLabels\":{\"x\":\"y\"}}"));
	CHECK_EQ(n_sent, 0);
	REQUIRE(begun != NULL);
	CHECK_STR(begun->key, "/flow/echo");
	const char *in = "{\"a\": [1, 2.50, \"\\u00e9\"]}";
	CHECK_MEM(begun->input.p, begun->input.n, in, strlen(in));
	CHECK_MEM(begun->context.p, begun->context.n, "{\"auth\":null}", 13);
	CHECK_MEM(begun->req_id.p, begun->req_id.n, "\"7\"", 3);
	CHECK(begun->stream);
	CHECK(!begun->stream_input);
	CHECK_UEQ(strlen(begun->trace_id), 32);
	CHECK_UEQ(strspn(begun->trace_id, "0123456789abcdef"), 32);
	CHECK_UEQ(strlen(begun->span_id), 16);
	CHECK_UEQ(strspn(begun->span_id, "0123456789abcdef"), 16);
	char first[33];
	memcpy(first, begun->trace_id, 33);

	/* Numeric id kept as is; no input; null context; a new trace id. */
	reset();
	feed("{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"runAction\",\"params\":{\"key\":\"/flow/echo\",\"context\":null,\"streamInput\":true}}");
	REQUIRE(begun != NULL);
	CHECK_MEM(begun->req_id.p, begun->req_id.n, "12", 2);
	CHECK_UEQ(begun->input.n, 0);
	CHECK_UEQ(begun->context.n, 0);
	CHECK(begun->stream_input);
	CHECK(strcmp(begun->trace_id, first) != 0);

	/* Limits: the command line's defaults reach the run. */
	CHECK_UEQ(begun->limits.timeout_ms, 300);
	CHECK_UEQ(begun->limits.memory_mb, 64);

	/* As a notification nobody could get the result: dropped. */
	reset();
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"runAction\",\"params\":{\"key\":\"/flow/echo\"}}");
	CHECK_EQ(n_sent, 0);
	CHECK_NULL(begun);

	/* Shutting down: UNAVAILABLE. */
	sv->shutting_down = true;
	expect_error(RUN("{\"key\":\"/flow/echo\"}"), -32000, 14,
		     "Runtime is shutting down", "\"7\"");
	sv->shutting_down = false;
#undef RUN
}

static void test_cancel_and_input(void)
{
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"4\",\"method\":\"cancelAction\",\"params\":{\"traceId\":\"0123456789abcdef0123456789abcdef\"}}",
		     -32602, 5, "Action not found or already completed", "\"4\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"4\",\"method\":\"cancelAction\",\"params\":{\"traceId\":1}}",
		     -32602, 3, "Invalid params: 'traceId' must be a string", "\"4\"");

	static struct run r;
	memset(&r, 0, sizeof(r));
	memcpy(r.trace_id, "0123456789abcdef0123456789abcdef", 33);
	r.req_id = (struct jspan){ "\"5\"", 3 };
	r.state = RUN_RUNNING;
	r.stream_input = true;
	strmap_put(&sv->by_trace, r.trace_id, 32, &r);
	strmap_put(&sv->by_request, r.req_id.p, r.req_id.n, &r);
	expect_result("{\"jsonrpc\":\"2.0\",\"id\":\"4\",\"method\":\"cancelAction\",\"params\":{\"traceId\":\"0123456789abcdef0123456789abcdef\"}}",
		      "{\"message\":\"Action cancelled\"}");
	CHECK(cancelled == &r);

	reset();
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"sendInputStreamChunk\",\"params\":{\"requestId\":\"5\",\"chunk\":{\"c\":1}}}");
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"sendInputStreamChunk\",\"params\":{\"requestId\":\"6\",\"chunk\":{\"c\":1}}}");
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"sendInputStreamChunk\",\"params\":{\"requestId\":\"5\"}}");
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"endInputStream\",\"params\":{\"requestId\":\"5\"}}");
	CHECK_EQ(inputs, 1);
	CHECK_EQ(ends, 1);
	CHECK_EQ(n_sent, 0);
	r.stream_input = false; /* chunks for a run without input stream */
	feed("{\"jsonrpc\":\"2.0\",\"method\":\"sendInputStreamChunk\",\"params\":{\"requestId\":\"5\",\"chunk\":1}}");
	CHECK_EQ(inputs, 1);
	strmap_del(&sv->by_trace, r.trace_id, 32);
	strmap_del(&sv->by_request, r.req_id.p, r.req_id.n);
}

static void test_register_and_configure(void)
{
	reset();
	rpc_send_register();
	json_t *j = reply();
	REQUIRE(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "method")), "register");
	json_t *p = json_object_get(j, "params");
	CHECK_STR(json_string_value(json_object_get(p, "id")), "rt-1");
	CHECK_STR(json_string_value(json_object_get(p, "name")), "my runtime");
	CHECK(strncmp(json_string_value(json_object_get(p, "genkitVersion")), "c/", 2) == 0);
	CHECK_EQ(json_integer_value(json_object_get(p, "reflectionApiSpecVersion")), 1);
	CHECK(json_is_integer(json_object_get(p, "pid")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(p, "envs"), 0)), "dev");
	char *id = strdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);

	char buf[256];
	snprintf(buf, sizeof(buf),
		 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"telemetryServerUrl\":\"http://127.0.0.1:4033\"}}",
		 id);
	expect_silence(buf);
	CHECK_STR(sv->telemetry_url, "http://127.0.0.1:4033");
	free(id);
	expect_silence("{\"jsonrpc\":\"2.0\",\"method\":\"configure\",\"params\":{\"telemetryServerUrl\":\"http://h:1\"}}");
	CHECK_STR(sv->telemetry_url, "http://h:1");
	/* A reply to a request we never made is logged, not answered. */
	expect_silence("{\"jsonrpc\":\"2.0\",\"id\":\"999\",\"result\":{}}");
}

int main(void)
{
	check_init("test_rpc");
	sv = &the_sv;
	sv->cfg = &the_cfg;
	the_cfg.runtime_id = "rt-1";
	the_cfg.name = "my runtime";
	the_cfg.timeout_ms = 300;
	the_cfg.memory_mb = 64;
	strmap_init(&sv->by_request);
	strmap_init(&sv->by_trace);
	test_envelope();
	test_list();
	test_run_action();
	test_cancel_and_input();
	test_register_and_configure();
	reset();
	strmap_free(&sv->by_request);
	strmap_free(&sv->by_trace);
	free(sv->telemetry_url);
	return check_done();
}
