/* codec.c - pack/unpack IPC messages and reject malformed ones. */
#include "codec.h"

#include <errno.h>
#include <string.h>

int ipc_send(struct ipc_wbuf *w, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = ipc_wbuf_reserve(w, n);
	if (!p)
		return -1;
	protobuf_c_message_pack(m, p);
	return 0;
}

Gkipc__ToWorker *ipc_decode_to_worker(const uint8_t *p, size_t n,
				      const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	Gkipc__ToWorker *m = gkipc__to_worker__unpack(NULL, n, p);
	if (!m) {
		*why = "undecodable ToWorker message";
		return NULL;
	}
	switch (m->msg_case) {
	case GKIPC__TO_WORKER__MSG_RUN:
		if (!m->run->key || !m->run->key[0]) {
			*why = "run request without an action key";
			break;
		}
		return m;
	case GKIPC__TO_WORKER__MSG_INPUT_CHUNK:
	case GKIPC__TO_WORKER__MSG_END_INPUT:
	case GKIPC__TO_WORKER__MSG_CANCEL:
	case GKIPC__TO_WORKER__MSG_SHUTDOWN:
	case GKIPC__TO_WORKER__MSG_SPAWN:
		return m;
	default:
		*why = "ToWorker message with no known member set";
		break;
	}
	gkipc__to_worker__free_unpacked(m, NULL);
	return NULL;
}

Gkipc__FromWorker *ipc_decode_from_worker(const uint8_t *p, size_t n,
					  const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	Gkipc__FromWorker *m = gkipc__from_worker__unpack(NULL, n, p);
	if (!m) {
		*why = "undecodable FromWorker message";
		return NULL;
	}
	switch (m->msg_case) {
	case GKIPC__FROM_WORKER__MSG_HELLO:
		if (m->hello->protocol_version != GKIPC_PROTOCOL_VERSION) {
			*why = "hello with an unknown protocol version";
			break;
		}
		for (size_t i = 0; i < m->hello->n_actions; i++) {
			const Gkipc__ActionInfo *a = m->hello->actions[i];
			if (!a->key || a->key[0] != '/' || !a->name ||
			    !a->name[0]) {
				*why = "hello with an action lacking key or name";
				goto bad;
			}
		}
		return m;
	case GKIPC__FROM_WORKER__MSG_CHUNK:
	case GKIPC__FROM_WORKER__MSG_RESULT:
	case GKIPC__FROM_WORKER__MSG_ERROR:
	case GKIPC__FROM_WORKER__MSG_SPAWNED:
		return m;
	default:
		*why = "FromWorker message with no known member set";
		break;
	}
bad:
	gkipc__from_worker__free_unpacked(m, NULL);
	return NULL;
}

void ipc_free_to_worker(Gkipc__ToWorker *m)
{
	if (m)
		gkipc__to_worker__free_unpacked(m, NULL);
}

void ipc_free_from_worker(Gkipc__FromWorker *m)
{
	if (m)
		gkipc__from_worker__free_unpacked(m, NULL);
}

#define BYTES(p, n) ((ProtobufCBinaryData){ .len = (n), .data = (uint8_t *)(p) })

int ipc_send_chunk(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		   size_t n)
{
	Gkipc__StreamChunk c = GKIPC__STREAM_CHUNK__INIT;
	c.run_id = run_id;
	c.chunk = BYTES(json, n);
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;
	m.msg_case = GKIPC__FROM_WORKER__MSG_CHUNK;
	m.chunk = &c;
	return ipc_send(w, &m.base);
}

int ipc_send_result(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		    size_t n)
{
	return ipc_send_result_us(w, run_id, json, n, 0);
}

int ipc_send_result_us(struct ipc_wbuf *w, uint64_t run_id, const void *json,
		       size_t n, uint32_t run_us)
{
	Gkipc__Result r = GKIPC__RESULT__INIT;
	r.run_id = run_id;
	r.result = BYTES(json, n);
	r.run_us = run_us;
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;
	m.msg_case = GKIPC__FROM_WORKER__MSG_RESULT;
	m.result = &r;
	return ipc_send(w, &m.base);
}

int ipc_send_error(struct ipc_wbuf *w, uint64_t run_id, int code,
		   const char *message, const char *stack)
{
	return ipc_send_error_us(w, run_id, code, message, stack, 0);
}

int ipc_send_error_us(struct ipc_wbuf *w, uint64_t run_id, int code,
		      const char *message, const char *stack, uint32_t run_us)
{
	Gkipc__Error e = GKIPC__ERROR__INIT;
	e.run_id = run_id;
	e.run_us = run_us;
	e.code = code;
	e.message = (char *)(message ? message : "");
	e.stack = (char *)(stack ? stack : "");
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;
	m.msg_case = GKIPC__FROM_WORKER__MSG_ERROR;
	m.error = &e;
	return ipc_send(w, &m.base);
}

int ipc_send_input_chunk(struct ipc_wbuf *w, uint64_t run_id,
			 const void *json, size_t n)
{
	Gkipc__InputChunk c = GKIPC__INPUT_CHUNK__INIT;
	c.run_id = run_id;
	c.chunk = BYTES(json, n);
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_INPUT_CHUNK;
	m.input_chunk = &c;
	return ipc_send(w, &m.base);
}

int ipc_send_end_input(struct ipc_wbuf *w, uint64_t run_id)
{
	Gkipc__EndInput e = GKIPC__END_INPUT__INIT;
	e.run_id = run_id;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_END_INPUT;
	m.end_input = &e;
	return ipc_send(w, &m.base);
}

int ipc_send_cancel(struct ipc_wbuf *w, uint64_t run_id)
{
	Gkipc__Cancel c = GKIPC__CANCEL__INIT;
	c.run_id = run_id;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_CANCEL;
	m.cancel = &c;
	return ipc_send(w, &m.base);
}

int ipc_send_shutdown(struct ipc_wbuf *w)
{
	Gkipc__Shutdown s = GKIPC__SHUTDOWN__INIT;
	Gkipc__ToWorker m = GKIPC__TO_WORKER__INIT;
	m.msg_case = GKIPC__TO_WORKER__MSG_SHUTDOWN;
	m.shutdown = &s;
	return ipc_send(w, &m.base);
}
