/*
 * conn.c - the worker's side of the IPC socket: blocking frame I/O built on
 * the non-blocking ipc_rbuf/ipc_wbuf. Incoming frames are decoded into a
 * queue as they arrive, also while we wait to write, so that neither side
 * deadlocks when both push big data.
 */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* Room for the FromWorker envelope around a JSON payload. */
#define ENVELOPE_MAX 64

void msgq_push(struct msgq *q, struct msg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
}

struct msg *msgq_pop(struct msgq *q)
{
	struct msg *m = q->head;

	if (m) {
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		m->next = NULL;
	}
	return m;
}

void conn_init(struct conn *c, int fd, size_t max_frame)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->max_frame = max_frame;
	ipc_rbuf_init(&c->rb, max_frame);
	ipc_wbuf_init(&c->wb, 2 * (max_frame + IPC_HDR_LEN));
}

void msg_free(struct conn *c, struct msg *m)
{
	if (!m)
		return;
	c->held -= m->size;
	ipc_free_to_worker(m->m);
	free(m);
}

int conn_fits(const struct conn *c, size_t n)
{
	return c->max_frame > ENVELOPE_MAX && n <= c->max_frame - ENVELOPE_MAX;
}

Gkipc__ToWorker *conn_decode_next(struct conn *c, size_t *size)
{
	const uint8_t *p;
	size_t n;
	int r = ipc_rbuf_next(&c->rb, &p, &n);

	if (r < 0)
		wdie(WORKER_EXIT_PROTOCOL,
		     "frame from the supervisor exceeds the %zu-byte limit",
		     c->max_frame);
	if (r == 0)
		return NULL;
	const char *why = "?";
	Gkipc__ToWorker *m = ipc_decode_to_worker(p, n, &why);
	if (!m)
		wdie(WORKER_EXIT_PROTOCOL,
		     "malformed frame from the supervisor (%zu bytes): %s",
		     n, why);
	if (size)
		*size = n;
	return m;
}

static void decode_frames(struct conn *c)
{
	Gkipc__ToWorker *m;
	size_t n;

	while ((m = conn_decode_next(c, &n))) {
		struct msg *e = calloc(1, sizeof(*e));
		if (!e)
			wdie(WORKER_EXIT_FAILURE, "out of memory");
		e->m = m;
		e->size = n;
		c->held += n;
		msgq_push(&c->in, e);
	}
}

static void read_frames(struct conn *c)
{
	ssize_t n = ipc_rbuf_read(&c->rb, c->fd);

	if (n == 0)
		wdie(WORKER_EXIT_OK, "supervisor closed the connection, exiting");
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ENOBUFS)
			wdie(WORKER_EXIT_PROTOCOL,
			     "frame from the supervisor exceeds the %zu-byte limit",
			     c->max_frame);
		if (errno == ECONNRESET)
			wdie(WORKER_EXIT_OK, "connection reset, exiting");
		wdie(WORKER_EXIT_FAILURE, "read: %s", strerror(errno));
	}
	decode_frames(c);
}

/* Reading while we wait to write is optional: stop once a frame's worth of
 * decoded messages is waiting, so memory stays bounded. */
static int may_read(const struct conn *c)
{
	return c->held < c->max_frame;
}

void conn_flush(struct conn *c)
{
	for (;;) {
		int r = ipc_wbuf_flush(&c->wb, c->fd);
		if (r == 0)
			return;
		if (r < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				wdie(WORKER_EXIT_OK,
				     "supervisor is gone, exiting");
			wdie(WORKER_EXIT_FAILURE, "send: %s", strerror(errno));
		}
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		if (may_read(c))
			p.events |= POLLIN;
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			wdie(WORKER_EXIT_FAILURE, "poll: %s", strerror(errno));
		}
		if (p.revents & POLLIN)
			read_frames(c);
	}
}

int conn_wait(struct conn *c, int timeout_ms, int wake_fd)
{
	struct pollfd p[2] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};
	int r = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);

	if (r < 0) {
		if (errno == EINTR)
			return 0;
		wdie(WORKER_EXIT_FAILURE, "poll: %s", strerror(errno));
	}
	if (r == 0)
		return 0;
	if (p[0].revents)
		read_frames(c);
	if (wake_fd >= 0 && p[1].revents)
		return 2;
	return 1;
}
