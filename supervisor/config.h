/* config.h - command-line flags and environment of genkit-supervisor. */
#ifndef GK_CONFIG_H
#define GK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PLUGINS 32

struct config {
	const char *url;            /* --url or GENKIT_REFLECTION_V2_SERVER */
	const char *runtime_id;     /* GENKIT_RUNTIME_ID or the pid */
	const char *name;           /* --name; default: the runtime id */
	const char *worker_bin;     /* --worker-bin, resolved */
	const char *plugins[CONFIG_MAX_PLUGINS];
	int n_plugins;
	int demo;                   /* --demo */
	unsigned workers;           /* --workers: prefork and minimum */
	unsigned max_workers;       /* --max-workers */
	unsigned queue_max;         /* --queue-max: runs waiting for a worker */
	unsigned cancel_grace_ms;   /* --cancel-grace-ms */
	unsigned shutdown_timeout_ms; /* --shutdown-timeout-ms */
	unsigned idle_timeout_ms;   /* --idle-timeout-ms: extra idle workers exit */
	size_t max_message_bytes;   /* --max-message-bytes: WebSocket in and IPC */
	unsigned ping_secs;         /* --ping-secs */
	int log_level;
	char runtime_id_buf[32];
	char worker_buf[4200];
	char demo_buf[4200];
};

/* Parse argv/env into cfg; prints usage and exits on --help or bad flags. */
void config_parse(struct config *cfg, int argc, char **argv);

#endif
