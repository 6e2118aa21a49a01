/* frame.c - length-prefixed frames: bounded buffers, partial I/O. */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_MIN 16384u
/* A buffer that grew past this is released once it has been drained. */
#define SHRINK_ABOVE ((size_t)1 << 20)

static size_t grow_cap(size_t cap, size_t need)
{
	size_t c = cap ? cap : RBUF_MIN;
	while (c < need)
		c = c * 2 > c ? c * 2 : need;
	return c;
}

void ipc_rbuf_init(struct ipc_rbuf *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame ? max_frame : IPC_DEFAULT_MAX_FRAME;
}

void ipc_rbuf_free(struct ipc_rbuf *r)
{
	free(r->data);
	r->data = NULL;
	r->cap = r->off = r->len = 0;
}

/* Make room for at least `want` more bytes after len, compacting first. */
static int rbuf_room(struct ipc_rbuf *r, size_t want)
{
	if (r->off == r->len) {
		r->off = r->len = 0;
		if (r->cap > SHRINK_ABOVE && want <= RBUF_MIN) {
			free(r->data);
			r->data = NULL;
			r->cap = 0;
		}
	}
	if (r->cap - r->len >= want)
		return 0;
	if (r->off) {
		memmove(r->data, r->data + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
		if (r->cap - r->len >= want)
			return 0;
	}
	size_t need = r->len + want;
	if (need > r->max_frame + IPC_HDR_LEN + RBUF_MIN) {
		errno = ENOBUFS;
		return -1;
	}
	size_t cap = grow_cap(r->cap, need);
	uint8_t *p = realloc(r->data, cap);
	if (!p)
		return -1;
	r->data = p;
	r->cap = cap;
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* How many bytes the frame at the head still needs, at least one read's worth. */
static size_t rbuf_want(const struct ipc_rbuf *r)
{
	size_t have = r->len - r->off;
	if (have >= IPC_HDR_LEN) {
		size_t total = IPC_HDR_LEN + (size_t)get_be32(r->data + r->off);
		if (total > have && total <= r->max_frame + IPC_HDR_LEN)
			return total - have > RBUF_MIN ? total - have : RBUF_MIN;
	}
	return RBUF_MIN;
}

ssize_t ipc_rbuf_read(struct ipc_rbuf *r, int fd)
{
	if (rbuf_room(r, rbuf_want(r)) < 0)
		return -1;
	ssize_t n;
	size_t want = r->cap - r->len;
	do
		n = read(fd, r->data + r->len, want);
	while (n < 0 && errno == EINTR);
	r->drained = n >= 0 && (size_t)n < want;
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

int ipc_rbuf_feed(struct ipc_rbuf *r, const void *p, size_t n)
{
	if (n == 0) /* r->data may still be NULL: no memcpy(NULL, ..) */
		return 0;
	if (rbuf_room(r, n) < 0)
		return -1;
	memcpy(r->data + r->len, p, n);
	r->len += n;
	return 0;
}

/* Drop a big buffer as soon as nothing in it is wanted any more. */
static void rbuf_release(struct ipc_rbuf *r)
{
	r->off = r->len = 0;
	if (r->cap > SHRINK_ABOVE) {
		free(r->data);
		r->data = NULL;
		r->cap = 0;
	}
}

int ipc_rbuf_next(struct ipc_rbuf *r, const uint8_t **payload, size_t *len)
{
	size_t have = r->len - r->off;
	if (have == 0) {
		/* Drained: the last payload handed out is no longer valid
		 * (see frame.h), so a buffer grown for it can go now rather
		 * than at the next read, which may be far away. */
		rbuf_release(r);
		return 0;
	}
	if (have < IPC_HDR_LEN)
		return 0;
	size_t n = get_be32(r->data + r->off);
	if (n > r->max_frame) {
		errno = EMSGSIZE;
		return -1;
	}
	if (have - IPC_HDR_LEN < n)
		return 0;
	*payload = r->data + r->off + IPC_HDR_LEN;
	*len = n;
	r->off += IPC_HDR_LEN + n;
	return 1;
}

void ipc_wbuf_init(struct ipc_wbuf *w, size_t max_pending)
{
	memset(w, 0, sizeof(*w));
	w->max_pending = max_pending ? max_pending
				     : 2 * (IPC_DEFAULT_MAX_FRAME + IPC_HDR_LEN);
}

void ipc_wbuf_free(struct ipc_wbuf *w)
{
	free(w->data);
	w->data = NULL;
	w->cap = w->off = w->len = 0;
}

uint8_t *ipc_wbuf_reserve(struct ipc_wbuf *w, size_t n)
{
	if (n > UINT32_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	size_t total = IPC_HDR_LEN + n;
	if (ipc_wbuf_pending(w) + total > w->max_pending) {
		errno = ENOBUFS;
		return NULL;
	}
	if (w->off == w->len) {
		w->off = w->len = 0;
		if (w->cap > SHRINK_ABOVE && total <= RBUF_MIN) {
			free(w->data);
			w->data = NULL;
			w->cap = 0;
		}
	}
	if (w->cap - w->len < total) {
		if (w->off) {
			memmove(w->data, w->data + w->off, w->len - w->off);
			w->len -= w->off;
			w->off = 0;
		}
		if (w->cap - w->len < total) {
			size_t cap = grow_cap(w->cap, w->len + total);
			uint8_t *p = realloc(w->data, cap);
			if (!p)
				return NULL;
			w->data = p;
			w->cap = cap;
		}
	}
	uint8_t *h = w->data + w->len;
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
	w->len += total;
	return h + IPC_HDR_LEN;
}

int ipc_wbuf_push(struct ipc_wbuf *w, const void *payload, size_t n)
{
	uint8_t *p = ipc_wbuf_reserve(w, n);
	if (!p)
		return -1;
	if (n)
		memcpy(p, payload, n);
	return 0;
}

int ipc_wbuf_flush(struct ipc_wbuf *w, int fd)
{
	while (w->off < w->len) {
		ssize_t n = send(fd, w->data + w->off, w->len - w->off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		w->off += (size_t)n;
	}
	w->off = w->len = 0;
	if (w->cap > SHRINK_ABOVE) { /* drained: give a big buffer back now */
		free(w->data);
		w->data = NULL;
		w->cap = 0;
	}
	return 0;
}
