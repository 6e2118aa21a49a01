/*
 * hostile_plugin.c - actions that break the IPC protocol on purpose, by
 * writing forged frames straight into the worker's channel (fd 3), to prove
 * that a hostile worker costs only its own run: the supervisor answers
 * INTERNAL, kills the worker and keeps serving.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "genkit_action.h"

#define IPC_FD 3

static void spin_forever(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
}

static void write_all(const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = write(IPC_FD, b, n);
		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

static void send_frame(struct ipc_wbuf *w)
{
	write_all(w->data + w->off, w->len - w->off);
	ipc_wbuf_free(w);
}

/* A header that announces 100 bytes, then bytes that are no protobuf. */
static int garbage(gk_ctx *ctx)
{
	(void)ctx;
	uint8_t f[4 + 100] = { 0, 0, 0, 100 };
	memset(f + 4, 0xff, 100);
	write_all(f, sizeof(f));
	spin_forever();
	return 0;
}

/* A header that announces 4 GiB - 1. */
static int oversize(gk_ctx *ctx)
{
	(void)ctx;
	static const uint8_t f[8] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
	write_all(f, sizeof(f));
	spin_forever();
	return 0;
}

/* A well-formed result for a run this worker does not own. */
static int other_run(gk_ctx *ctx)
{
	(void)ctx;
	struct ipc_wbuf w;
	ipc_wbuf_init(&w, 0);
	ipc_send_result(&w, UINT64_MAX - 7, "1", 1);
	send_frame(&w);
	spin_forever();
	return 0;
}

/* A second hello in the middle of a run. */
static int hello_again(gk_ctx *ctx)
{
	(void)ctx;
	Gkipc__Hello h = GKIPC__HELLO__INIT;
	h.protocol_version = GKIPC_PROTOCOL_VERSION;
	h.pid = (int32_t)getpid();
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;
	m.msg_case = GKIPC__FROM_WORKER__MSG_HELLO;
	m.hello = &h;
	struct ipc_wbuf w;
	ipc_wbuf_init(&w, 0);
	ipc_send(&w, &m.base);
	send_frame(&w);
	spin_forever();
	return 0;
}

/* Hang up the channel and keep running. */
static int hang_up(gk_ctx *ctx)
{
	(void)ctx;
	close(IPC_FD);
	spin_forever();
	return 0;
}

/* An out-of-range status code: answered, mapped to INTERNAL, no kill. */
static int bad_status(gk_ctx *ctx)
{
	return gk_fail(ctx, 99, "status ninety-nine");
}

#define ACTION(n, h) { .type = "test", .name = n, .handler = h }

int genkit_plugin_init(gk_registry *reg)
{
	static const gk_action_def defs[] = {
		ACTION("garbage", garbage),
		ACTION("oversize", oversize),
		ACTION("otherRun", other_run),
		ACTION("helloAgain", hello_again),
		ACTION("hangUp", hang_up),
		ACTION("badStatus", bad_status),
	};
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (gk_register(reg, &defs[i]) < 0)
			return -1;
	return 0;
}
