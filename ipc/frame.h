/*
 * frame.h - length-prefixed frames over a byte stream (shared by the
 * supervisor and the worker).
 *
 * Wire format: 4-byte big-endian payload length, then the payload.
 * Both buffers are bounded: a reader refuses a frame larger than its
 * max_frame, a writer refuses to queue more than its max_pending bytes.
 * Neither ever blocks: callers own the poll/event loop.
 */
#ifndef GK_IPC_FRAME_H
#define GK_IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPC_HDR_LEN 4u
/* Default payload limit: 64 MiB of JSON plus room for the envelope. */
#define IPC_DEFAULT_MAX_FRAME ((size_t)65 << 20)

struct ipc_rbuf {
	uint8_t *data;
	size_t cap;       /* allocated bytes */
	size_t off;       /* start of unconsumed bytes */
	size_t len;       /* end of valid bytes */
	size_t max_frame; /* largest payload accepted */
	int drained;      /* the last read got less than it asked for: the
			     socket is most likely empty, skip the EAGAIN read */
};

struct ipc_wbuf {
	uint8_t *data;
	size_t cap;
	size_t off;         /* first byte not yet written */
	size_t len;         /* end of queued bytes */
	size_t max_pending; /* largest amount of queued bytes */
};

void ipc_rbuf_init(struct ipc_rbuf *r, size_t max_frame);
void ipc_rbuf_free(struct ipc_rbuf *r);
/* One read(2) into the buffer. >0: bytes read; 0: EOF; -1: errno set
 * (EAGAIN/EINTR: try later). */
ssize_t ipc_rbuf_read(struct ipc_rbuf *r, int fd);
/* Feed bytes that arrived by other means (tests, fuzzing). 0 or -1/ENOBUFS. */
int ipc_rbuf_feed(struct ipc_rbuf *r, const void *p, size_t n);
/* Take the next whole frame. 1: *payload and *len point into the buffer and stay
 * valid until the next read/feed/next call; 0: need more bytes;
 * -1: the announced length exceeds max_frame (errno = EMSGSIZE); the stream
 * is unusable after that. */
int ipc_rbuf_next(struct ipc_rbuf *r, const uint8_t **payload, size_t *len);

void ipc_wbuf_init(struct ipc_wbuf *w, size_t max_pending);
void ipc_wbuf_free(struct ipc_wbuf *w);
/* Reserve room for a frame of payload length n and return where the payload
 * goes (the header is written here). NULL: would exceed max_pending or
 * UINT32_MAX (errno = ENOBUFS / EMSGSIZE) or out of memory. The caller
 * must fill exactly n bytes, then call nothing else in between. */
uint8_t *ipc_wbuf_reserve(struct ipc_wbuf *w, size_t n);
/* Queue a whole frame with the given payload. 0 or -1 (see reserve). */
int ipc_wbuf_push(struct ipc_wbuf *w, const void *payload, size_t n);
/* Write as much as the fd takes. 0: all written; 1: bytes remain (EAGAIN);
 * -1: error, errno set. */
int ipc_wbuf_flush(struct ipc_wbuf *w, int fd);
static inline size_t ipc_wbuf_pending(const struct ipc_wbuf *w)
{
	return w->len - w->off;
}

#endif
