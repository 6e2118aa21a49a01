/* config.h - command-line flags and environment of genkit-supervisor. */
#ifndef GK_CONFIG_H
#define GK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PLUGINS 32
#define CONFIG_PATH_MAX 4200  /* a located binary or plugin path */

enum { SANDBOX_NONE, SANDBOX_STANDARD, SANDBOX_STRICT, SANDBOX_COUNT };
/* RLIMIT_NPROC of sandboxed actions when --max-procs is not given. */
#define SANDBOX_DEFAULT_MAX_PROCS 256
extern const char *const sandbox_names[SANDBOX_COUNT];
/* "standard" -> SANDBOX_STANDARD; -1 if unknown. "" -> dflt. */
int sandbox_from_name(const char *name, int dflt);

struct config {
	const char *url;            /* --url or GENKIT_REFLECTION_V2_SERVER */
	const char *runtime_id;     /* GENKIT_RUNTIME_ID or the pid */
	const char *name;           /* --name; default: the runtime id */
	const char *worker_bin;     /* --worker-bin, resolved */
	const char *plugins[CONFIG_MAX_PLUGINS];
	int n_plugins;
	int demo;                   /* --demo */
	int demo_limits;            /* --demo-limits */
	unsigned workers;           /* --workers: prefork and minimum */
	unsigned max_workers;       /* --max-workers */
	unsigned queue_max;         /* --queue-max: runs waiting for a worker */
	unsigned cancel_grace_ms;   /* --cancel-grace-ms */
	unsigned shutdown_timeout_ms; /* --shutdown-timeout-ms */
	unsigned idle_timeout_ms;   /* --idle-timeout-ms: extra idle workers exit */
	size_t max_message_bytes;   /* --max-message-bytes: WebSocket in and IPC */
	unsigned ping_secs;         /* --ping-secs */
	/* Limits (defaults; a plugin's action definition may override). */
	uint64_t timeout_ms;        /* --timeout-ms: wall clock -> DEADLINE_EXCEEDED */
	uint64_t cpu_seconds;       /* --cpu-seconds: RLIMIT_CPU + watch -> RESOURCE_EXHAUSTED */
	uint64_t memory_mb;         /* --memory-mb: RLIMIT_AS + RSS watch */
	uint64_t max_output_bytes;  /* --max-output-bytes: result + chunks */
	uint64_t max_open_files;    /* --max-open-files: RLIMIT_NOFILE */
	uint64_t max_procs;         /* --max-procs: RLIMIT_NPROC */
	int fresh;                  /* --mode fresh: one process per action */
	unsigned max_runs_per_worker; /* --max-runs-per-worker (0 = no bound) */
	unsigned prefetch_us;       /* --prefetch-us (0 = off) */
	unsigned action_slice_us;   /* --action-slice-us (0 = kernel default) */
	uint64_t max_worker_rss_mb; /* --max-worker-rss-mb: recycle above this */
	int sandbox;                /* --sandbox: SANDBOX_NONE/STANDARD/STRICT */
	const char *scratch_dir;    /* --scratch-dir: per-worker dirs go here */
	int run_as_set;             /* --run-as given, or implied when root */
	unsigned run_as_uid, run_as_gid;
	const char *run_as_name;
	int log_level;
	char runtime_id_buf[32];
	char worker_buf[CONFIG_PATH_MAX];
	char demo_buf[CONFIG_PATH_MAX];
	char limits_buf[CONFIG_PATH_MAX];
};

/* Parse argv/env into cfg; prints usage and exits on --help or bad flags. */
void config_parse(struct config *cfg, int argc, char **argv);

#endif
