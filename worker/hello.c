/* hello.c - the first message: who we are and which actions we run. */
#include "worker.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ProtobufCBinaryData json_bytes(const char *s)
{
	ProtobufCBinaryData b = { .len = s ? strlen(s) : 0,
				  .data = (uint8_t *)s };
	return b;
}

static void fill_limits(Gkipc__Limits *l, const gk_limits *g)
{
	gkipc__limits__init(l);
	l->timeout_ms = g->timeout_ms;
	l->cpu_seconds = g->cpu_seconds;
	l->memory_mb = g->memory_mb;
	l->max_output_bytes = g->max_output_bytes;
	l->max_open_files = g->max_open_files;
	l->max_procs = g->max_procs;
}

static void fill_info(Gkipc__ActionInfo *ai, Gkipc__Limits *l,
		      const struct action *a)
{
	const gk_action_def *d = a->def;

	gkipc__action_info__init(ai);
	ai->key = a->key;
	ai->name = (char *)d->name;
	ai->description = (char *)(d->description ? d->description : "");
	ai->input_schema = json_bytes(d->input_schema);
	ai->output_schema = json_bytes(d->output_schema);
	ai->metadata = json_bytes(d->metadata);
	fill_limits(l, &d->limits);
	ai->limits = l;
	ai->mode = (char *)(d->mode ? d->mode : "");
	ai->sandbox = (char *)(d->sandbox ? d->sandbox : "");
}

void hello_send(struct conn *c, const struct gk_registry *reg)
{
	hello_send_pid(c, reg, getpid());
}

void hello_send_pid(struct conn *c, const struct gk_registry *reg, pid_t pid)
{
	size_t n = reg->n ? reg->n : 1;
	Gkipc__ActionInfo *infos = calloc(n, sizeof(*infos));
	Gkipc__ActionInfo **ptrs = calloc(n, sizeof(*ptrs));
	Gkipc__Limits *limits = calloc(n, sizeof(*limits));
	Gkipc__Hello h = GKIPC__HELLO__INIT;
	Gkipc__FromWorker m = GKIPC__FROM_WORKER__INIT;

	if (!infos || !ptrs || !limits)
		wdie(WORKER_EXIT_FAILURE, "out of memory");
	for (size_t i = 0; i < reg->n; i++) {
		fill_info(&infos[i], &limits[i], &reg->v[i]);
		ptrs[i] = &infos[i];
	}
	h.protocol_version = GKIPC_PROTOCOL_VERSION;
	h.pid = (int32_t)pid;
	h.n_actions = reg->n;
	h.actions = ptrs;
	m.msg_case = GKIPC__FROM_WORKER__MSG_HELLO;
	m.hello = &h;
	if (protobuf_c_message_get_packed_size(&m.base) > c->max_frame)
		wdie(WORKER_EXIT_PLUGIN, "hello exceeds the %zu-byte frame limit",
		     c->max_frame);
	if (ipc_send(&c->wb, &m.base) < 0)
		wdie(WORKER_EXIT_FAILURE, "cannot queue hello");
	free(infos);
	free(ptrs);
	free(limits);
	conn_flush(c);
}
