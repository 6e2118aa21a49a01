/*
 * dispatch.c - what each ToWorker message does, idle or during a run, and
 * the worker's main loop.
 */
#include "worker.h"

#include <inttypes.h>

typedef void (*handler_fn)(struct worker *w, struct msg *m);

static gk_ctx *current(struct worker *w, uint64_t run_id, const char *what)
{
	if (w->cur && w->cur->run_id == run_id)
		return w->cur;
	wdebug("%s for run %" PRIu64 ", which is not current: ignored", what,
	       run_id);
	return NULL;
}

static void on_run(struct worker *w, struct msg *m)
{
	if (w->cur) {
		/* One run at a time: the supervisor sent this one ahead
		 * (prefetch); it starts when the current one ends. */
		wdebug("run %" PRIu64 " received while run %" PRIu64
		       " is in progress: queued", m->m->run->run_id,
		       w->cur->run_id);
		msgq_push(&w->later, m);
		return;
	}
	int cancelled = run_execute(w, m->m->run);
	msg_free(&w->conn, m);
	if (cancelled)
		wdie(WORKER_EXIT_OK, "run was cancelled, exiting");
	if (w->shutdown)
		wdie(WORKER_EXIT_OK, "shutdown requested, exiting");
}

static void on_input_chunk(struct worker *w, struct msg *m)
{
	gk_ctx *ctx = current(w, m->m->input_chunk->run_id, "input chunk");

	if (ctx && ctx->stream_input && !ctx->input_ended) {
		msgq_push(&ctx->inq, m);
		return;
	}
	if (ctx)
		wdebug("unexpected input chunk for run %" PRIu64 ": ignored",
		       ctx->run_id);
	msg_free(&w->conn, m);
}

static void on_end_input(struct worker *w, struct msg *m)
{
	gk_ctx *ctx = current(w, m->m->end_input->run_id, "end of input");

	if (ctx)
		ctx->input_ended = 1;
	msg_free(&w->conn, m);
}

/* A run still waiting in w->later: take it out. */
static struct msg *take_later(struct worker *w, uint64_t run_id)
{
	struct msg **pp = &w->later.head, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		struct msg *m = *pp;

		if (m->m->msg_case != GKIPC__TO_WORKER__MSG_RUN ||
		    m->m->run->run_id != run_id)
			continue;
		*pp = m->next;
		if (w->later.tail == m)
			w->later.tail = prev;
		m->next = NULL;
		return m;
	}
	return NULL;
}

static void on_cancel(struct worker *w, struct msg *m)
{
	uint64_t id = m->m->cancel->run_id;
	struct msg *queued;

	if (w->cur && w->cur->run_id == id) {
		w->cur->cancel_frame = 1;
	} else if ((queued = take_later(w, id))) {
		/* Never started: drop it, and say so (the supervisor answers
		 * the request; the current run goes on undisturbed). */
		wdebug("run %" PRIu64 " cancelled before it started", id);
		msg_free(&w->conn, queued);
		run_send_error(w, id, GK_CANCELLED, "Action was cancelled", 0);
	} else {
		wdebug("cancel for run %" PRIu64 ", which is not current: ignored",
		       id);
	}
	msg_free(&w->conn, m);
}

static void on_shutdown(struct worker *w, struct msg *m)
{
	msg_free(&w->conn, m);
	if (!w->cur)
		wdie(WORKER_EXIT_OK, "shutdown requested, exiting");
	w->shutdown = 1; /* after the current run */
}

static const handler_fn handlers[] = {
	[GKIPC__TO_WORKER__MSG_RUN] = on_run,
	[GKIPC__TO_WORKER__MSG_INPUT_CHUNK] = on_input_chunk,
	[GKIPC__TO_WORKER__MSG_END_INPUT] = on_end_input,
	[GKIPC__TO_WORKER__MSG_CANCEL] = on_cancel,
	[GKIPC__TO_WORKER__MSG_SHUTDOWN] = on_shutdown,
};

static void dispatch(struct worker *w, struct msg *m)
{
	unsigned c = (unsigned)m->m->msg_case;

	/* ipc_decode_to_worker() only lets known members through. */
	if (c >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[c])
		wdie(WORKER_EXIT_PROTOCOL, "unexpected message %u", c);
	handlers[c](w, m);
}

void worker_pump(struct worker *w)
{
	struct msg *m;

	while ((m = msgq_pop(&w->conn.in)))
		dispatch(w, m);
}

void worker_loop(struct worker *w)
{
	for (;;) {
		struct msg *m = msgq_pop(&w->later);
		if (!m)
			m = msgq_pop(&w->conn.in);
		if (m)
			dispatch(w, m);
		else
			conn_wait(&w->conn, -1, -1);
	}
}
