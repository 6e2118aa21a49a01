/*
 * codec.h - protobuf-c messages <-> frames, with the checks both sides need
 * before they trust a decoded message.
 */
#ifndef GK_IPC_CODEC_H
#define GK_IPC_CODEC_H

#include "frame.h"
#include "ipc.pb-c.h"

#define GKIPC_PROTOCOL_VERSION 1u

/* Pack any message as one frame into w. 0 or -1 (errno from reserve). */
int ipc_send(struct ipc_wbuf *w, const ProtobufCMessage *m);

/* Unpack and validate. NULL when the bytes are not a valid message of that
 * type, when no oneof member is set, or when a required field is missing;
 * *why (if given) then says what was wrong. Free with the matching
 * ipc_free_*(). */
Gkipc__ToWorker *ipc_decode_to_worker(const uint8_t *p, size_t n,
				      const char **why);
Gkipc__FromWorker *ipc_decode_from_worker(const uint8_t *p, size_t n,
					  const char **why);
void ipc_free_to_worker(Gkipc__ToWorker *m);
void ipc_free_from_worker(Gkipc__FromWorker *m);

/* Convenience constructors for the hot messages (no allocation). */
int ipc_send_chunk(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		   size_t n);
int ipc_send_result(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		    size_t n);
int ipc_send_error(struct ipc_wbuf *w, uint64_t run_id, int code,
		   const char *message, const char *stack);
/* The same with the run's duration as the worker timed it (run_us). */
int ipc_send_result_us(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		       size_t n, uint32_t run_us);
int ipc_send_error_us(struct ipc_wbuf *w, uint64_t run_id, int code,
		      const char *message, const char *stack, uint32_t run_us);
int ipc_send_input_chunk(struct ipc_wbuf *w, uint64_t run_id,
			 const void *json, size_t n);
int ipc_send_end_input(struct ipc_wbuf *w, uint64_t run_id);
int ipc_send_cancel(struct ipc_wbuf *w, uint64_t run_id);
int ipc_send_shutdown(struct ipc_wbuf *w);

#endif
