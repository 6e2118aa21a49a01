/* config.c - flags, defaults, and where the worker and demo plugin live. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#ifndef GK_LIBEXECDIR
#define GK_LIBEXECDIR "/usr/local/libexec"
#endif
#ifndef GK_PKGLIBDIR
#define GK_PKGLIBDIR "/usr/local/lib/genkit-supervisor"
#endif

enum {
	OPT_URL = 256, OPT_DEMO, OPT_DEMO_LIMITS, OPT_PLUGIN, OPT_WORKERS, OPT_MAX_WORKERS,
	OPT_QUEUE_MAX, OPT_GRACE, OPT_SHUTDOWN, OPT_IDLE, OPT_MAX_MSG,
	OPT_PING, OPT_NAME, OPT_WORKER_BIN, OPT_LOG, OPT_TIMEOUT, OPT_CPU,
	OPT_MEM, OPT_OUT, OPT_FILES, OPT_PROCS, OPT_MODE, OPT_MAX_RUNS,
	OPT_MAX_RSS, OPT_SANDBOX, OPT_SCRATCH, OPT_RUN_AS, OPT_PREFETCH,
	OPT_SLICE,
};

const char *const sandbox_names[SANDBOX_COUNT] = { "none", "standard", "strict" };

int sandbox_from_name(const char *name, int dflt)
{
	if (!name || !*name)
		return dflt;
	for (int i = 0; i < SANDBOX_COUNT; i++)
		if (!strcmp(name, sandbox_names[i]))
			return i;
	return -1;
}

static const struct option opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "demo-limits", no_argument, NULL, OPT_DEMO_LIMITS },
	{ "plugin", required_argument, NULL, OPT_PLUGIN },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "max-workers", required_argument, NULL, OPT_MAX_WORKERS },
	{ "queue-max", required_argument, NULL, OPT_QUEUE_MAX },
	{ "cancel-grace-ms", required_argument, NULL, OPT_GRACE },
	{ "shutdown-timeout-ms", required_argument, NULL, OPT_SHUTDOWN },
	{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE },
	{ "max-message-bytes", required_argument, NULL, OPT_MAX_MSG },
	{ "ping-secs", required_argument, NULL, OPT_PING },
	{ "prefetch-us", required_argument, NULL, OPT_PREFETCH },
	{ "action-slice-us", required_argument, NULL, OPT_SLICE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "worker-bin", required_argument, NULL, OPT_WORKER_BIN },
	{ "log-level", required_argument, NULL, OPT_LOG },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "cpu-seconds", required_argument, NULL, OPT_CPU },
	{ "memory-mb", required_argument, NULL, OPT_MEM },
	{ "max-output-bytes", required_argument, NULL, OPT_OUT },
	{ "max-open-files", required_argument, NULL, OPT_FILES },
	{ "max-procs", required_argument, NULL, OPT_PROCS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "max-runs-per-worker", required_argument, NULL, OPT_MAX_RUNS },
	{ "max-worker-rss-mb", required_argument, NULL, OPT_MAX_RSS },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "scratch-dir", required_argument, NULL, OPT_SCRATCH },
	{ "run-as", required_argument, NULL, OPT_RUN_AS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: genkit-supervisor [--demo] [--plugin PATH]... [options]\n"
"\n"
"Genkit Reflection API V2 runtime: connects to the Genkit manager and runs\n"
"every action in a supervised worker process.\n"
"\n"
"  --url URL               manager WebSocket (default: $GENKIT_REFLECTION_V2_SERVER)\n"
"  --demo                  serve the demo actions (/flow/echo, /flow/count, ...)\n"
"  --demo-limits           also serve one demo action per limit / sandbox rule\n"
"                          (/flow/allocate, forkBomb, writeFile, connect, spawnOrphan)\n"
"  --plugin PATH           load actions from this shared library (repeatable)\n"
"  --workers N             workers started up front and kept (default: CPUs)\n"
"  --max-workers N         upper bound on workers (default 64)\n"
"  --queue-max N           runs that may wait for a worker (default 1024)\n"
"  --cancel-grace-ms MS    SIGTERM -> SIGKILL delay on cancel (default 200)\n"
"  --shutdown-timeout-ms MS  on SIGTERM, wait this long for running actions\n"
"                          before cancelling them (default 5000)\n"
"  --idle-timeout-ms MS    workers above --workers exit after this idle time\n"
"                          (default 30000)\n"
"  --max-message-bytes N   largest WebSocket message / IPC frame (default 64 MiB)\n"
"  --ping-secs N           WebSocket keepalive ping interval (default 10)\n"
"  --name NAME             runtime name shown by the manager\n"
"\n"
"Limits (defaults for every action; 0 = none; an action may override each):\n"
"  --timeout-ms MS         wall-clock limit -> DEADLINE_EXCEEDED (4)\n"
"  --cpu-seconds S         CPU time limit -> RESOURCE_EXHAUSTED (8)\n"
"  --memory-mb MB          address-space and RSS limit -> RESOURCE_EXHAUSTED (8)\n"
"  --max-output-bytes N    result + stream chunk bytes -> RESOURCE_EXHAUSTED (8)\n"
"  --max-open-files N      RLIMIT_NOFILE of the action\n"
"  --max-procs N           RLIMIT_NPROC (processes/threads of the run-as user)\n"
"Processes and sandbox:\n"
"  --mode pooled|fresh     reuse workers (default) or one process per action\n"
"  --max-runs-per-worker N recycle a pooled worker after N runs (default 0: never)\n"
"  --prefetch-us US        give a busy worker its next run in advance when its\n"
"                          action usually takes under US microseconds\n"
"                          (default 1000; 0: never)\n"
"  --action-slice-us US    scheduler slice of workers (EEVDF sched_runtime): a\n"
"                          longer one than ours lets the supervisor and the\n"
"                          manager preempt busy actions (default 3000; 0: the\n"
"                          kernel's default)\n"
"  --max-worker-rss-mb MB  recycle a pooled worker whose RSS grew above MB\n"
"  --sandbox none|standard|strict  default profile (default none)\n"
"  --scratch-dir DIR       per-worker scratch directories (default /tmp/genkit-scratch)\n"
"  --run-as USER           run sandboxed workers as USER (default nobody when root)\n"
"  --worker-bin PATH       genkit-worker to run (default: next to this binary)\n"
"  --log-level LEVEL       error, warning, info (default) or debug\n"
"  -v, --verbose           same as --log-level debug\n"
"  -V, --version           print the version\n"
"  -h, --help              this text\n"
"\n"
"Environment: GENKIT_REFLECTION_V2_SERVER, GENKIT_RUNTIME_ID.\n");
}

static unsigned long num(const char *flag, const char *s, unsigned long lo,
			 unsigned long hi)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || *e || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "genkit-supervisor: --%s wants a number from %lu to %lu, not '%s'\n",
			flag, lo, hi, s);
		exit(2);
	}
	return v;
}

static int exists(const char *p, int mode)
{
	return access(p, mode) == 0;
}

/* Directory of this executable, into buf. */
static void exe_dir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	if (len <= 0) {
		snprintf(buf, n, ".");
		return;
	}
	buf[len] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
}

/* Put the build tree's (else the installed) demo plugin `file` first. */
static void add_demo(struct config *c, const char *dir, const char *file,
		     char buf[CONFIG_PATH_MAX])
{
	snprintf(buf, CONFIG_PATH_MAX, "%s/../tools/demo/%s", dir, file);
	if (!exists(buf, R_OK))
		snprintf(buf, CONFIG_PATH_MAX, "%s/%s", GK_PKGLIBDIR, file);
	if (c->n_plugins == CONFIG_MAX_PLUGINS) {
		fprintf(stderr, "genkit-supervisor: too many plugins\n");
		exit(2);
	}
	memmove(c->plugins + 1, c->plugins,
		sizeof(c->plugins[0]) * (size_t)c->n_plugins);
	c->plugins[0] = buf;
	c->n_plugins++;
}

static void locate(struct config *c)
{
	char dir[4000];
	exe_dir(dir, sizeof(dir));
	if (!c->worker_bin) {
		const char *env = getenv("GENKIT_WORKER_BIN");
		if (env && *env) {
			c->worker_bin = env;
		} else {
			snprintf(c->worker_buf, sizeof(c->worker_buf),
				 "%s/../worker/genkit-worker", dir);
			if (!exists(c->worker_buf, X_OK))
				snprintf(c->worker_buf, sizeof(c->worker_buf),
					 "%s/genkit-worker", GK_LIBEXECDIR);
			if (!exists(c->worker_buf, X_OK))
				snprintf(c->worker_buf, sizeof(c->worker_buf),
					 "%s/genkit-worker", dir);
			c->worker_bin = c->worker_buf;
		}
	}
	/* Demo plugins go first, in this order. */
	if (c->demo_limits)
		add_demo(c, dir, "genkit-demo-limits.so", c->limits_buf);
	if (c->demo)
		add_demo(c, dir, "genkit-demo.so", c->demo_buf);
}

/* --run-as USER, or nobody when we are root and sandboxing. */
static void resolve_run_as(struct config *c)
{
	const char *name = c->run_as_name;
	if (!name && geteuid() == 0 && c->sandbox != SANDBOX_NONE)
		name = "nobody";
	if (!name)
		return;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		char *e;
		unsigned long uid = strtoul(name, &e, 10);
		if (*e || e == name) {
			fprintf(stderr, "genkit-supervisor: --run-as: no user '%s'\n", name);
			exit(2);
		}
		c->run_as_uid = c->run_as_gid = (unsigned)uid;
	} else {
		c->run_as_uid = pw->pw_uid;
		c->run_as_gid = pw->pw_gid;
	}
	c->run_as_set = 1;
	c->run_as_name = name;
}

void config_parse(struct config *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	c->workers = cpus > 0 ? (unsigned)cpus : 2;
	c->max_workers = 64;
	c->queue_max = 1024;
	c->cancel_grace_ms = 200;
	c->shutdown_timeout_ms = 5000;
	c->idle_timeout_ms = 30000;
	c->max_message_bytes = (size_t)64 << 20;
	c->ping_secs = 10;
	c->prefetch_us = 1000;
	c->action_slice_us = 3000;
	c->log_level = LOG_INFO;
	int o;
	while ((o = getopt_long(argc, argv, "vVh", opts, NULL)) != -1) {
		switch (o) {
		case OPT_URL: c->url = optarg; break;
		case OPT_DEMO: c->demo = 1; break;
		case OPT_DEMO_LIMITS: c->demo_limits = 1; break;
		case OPT_PLUGIN:
			if (c->n_plugins == CONFIG_MAX_PLUGINS - 2) {
				fprintf(stderr, "genkit-supervisor: at most %d plugins\n",
					CONFIG_MAX_PLUGINS - 2);
				exit(2);
			}
			c->plugins[c->n_plugins++] = optarg;
			break;
		case OPT_WORKERS: c->workers = (unsigned)num("workers", optarg, 1, 4096); break;
		case OPT_MAX_WORKERS: c->max_workers = (unsigned)num("max-workers", optarg, 1, 4096); break;
		case OPT_QUEUE_MAX: c->queue_max = (unsigned)num("queue-max", optarg, 0, 1000000); break;
		case OPT_GRACE: c->cancel_grace_ms = (unsigned)num("cancel-grace-ms", optarg, 0, 600000); break;
		case OPT_SHUTDOWN: c->shutdown_timeout_ms = (unsigned)num("shutdown-timeout-ms", optarg, 0, 3600000); break;
		case OPT_IDLE: c->idle_timeout_ms = (unsigned)num("idle-timeout-ms", optarg, 0, 86400000); break;
		case OPT_MAX_MSG: c->max_message_bytes = num("max-message-bytes", optarg, 4096, (unsigned long)1 << 31); break;
		case OPT_PING: c->ping_secs = (unsigned)num("ping-secs", optarg, 1, 3600); break;
		case OPT_NAME: c->name = optarg; break;
		case OPT_WORKER_BIN: c->worker_bin = optarg; break;
		case OPT_LOG:
			if (!strcmp(optarg, "error")) c->log_level = LOG_ERR;
			else if (!strcmp(optarg, "warning")) c->log_level = LOG_WARN;
			else if (!strcmp(optarg, "info")) c->log_level = LOG_INFO;
			else if (!strcmp(optarg, "debug")) c->log_level = LOG_DEBUG;
			else {
				fprintf(stderr, "genkit-supervisor: --log-level wants error, warning, info or debug\n");
				exit(2);
			}
			break;
		case OPT_TIMEOUT: c->timeout_ms = num("timeout-ms", optarg, 0, 86400000); break;
		case OPT_CPU: c->cpu_seconds = num("cpu-seconds", optarg, 0, 86400); break;
		case OPT_MEM: c->memory_mb = num("memory-mb", optarg, 0, 1 << 22); break;
		case OPT_OUT: c->max_output_bytes = num("max-output-bytes", optarg, 0, (unsigned long)1 << 40); break;
		case OPT_FILES: c->max_open_files = num("max-open-files", optarg, 0, 1 << 20); break;
		case OPT_PROCS: c->max_procs = num("max-procs", optarg, 0, 1 << 22); break;
		case OPT_MODE:
			if (!strcmp(optarg, "fresh")) c->fresh = 1;
			else if (!strcmp(optarg, "pooled")) c->fresh = 0;
			else {
				fprintf(stderr, "genkit-supervisor: --mode wants pooled or fresh\n");
				exit(2);
			}
			break;
		case OPT_MAX_RUNS: c->max_runs_per_worker = (unsigned)num("max-runs-per-worker", optarg, 0, 1u << 31); break;
		case OPT_PREFETCH: c->prefetch_us = (unsigned)num("prefetch-us", optarg, 0, 60000000); break;
		case OPT_SLICE: c->action_slice_us = (unsigned)num("action-slice-us", optarg, 0, 100000); break;
		case OPT_MAX_RSS: c->max_worker_rss_mb = num("max-worker-rss-mb", optarg, 0, 1 << 22); break;
		case OPT_SANDBOX:
			c->sandbox = sandbox_from_name(optarg, -1);
			if (c->sandbox < 0) {
				fprintf(stderr, "genkit-supervisor: --sandbox wants none, standard or strict\n");
				exit(2);
			}
			break;
		case OPT_SCRATCH: c->scratch_dir = optarg; break;
		case OPT_RUN_AS: c->run_as_name = optarg; break;
		case 'v': c->log_level = LOG_DEBUG; break;
		case 'V': printf("genkit-supervisor %s\n", GK_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "genkit-supervisor: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (c->max_workers < c->workers)
		c->max_workers = c->workers;
	if (!c->url)
		c->url = getenv("GENKIT_REFLECTION_V2_SERVER");
	if (!c->url || !*c->url) {
		fprintf(stderr, "genkit-supervisor: no manager URL: set GENKIT_REFLECTION_V2_SERVER or pass --url\n");
		exit(2);
	}
	const char *rid = getenv("GENKIT_RUNTIME_ID");
	if (rid && *rid) {
		c->runtime_id = rid;
	} else {
		snprintf(c->runtime_id_buf, sizeof(c->runtime_id_buf), "%ld", (long)getpid());
		c->runtime_id = c->runtime_id_buf;
	}
	if (!c->name)
		c->name = c->runtime_id;
	locate(c);
	if (!c->scratch_dir)
		c->scratch_dir = "/tmp/genkit-scratch";
	resolve_run_as(c);
	if (c->n_plugins == 0) {
		fprintf(stderr, "genkit-supervisor: no actions to serve: pass --demo, --demo-limits or --plugin PATH\n");
		exit(2);
	}
}
