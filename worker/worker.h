/*
 * worker.h - internals of genkit-worker, shared by its source files.
 * Plugins never see this header: their API is genkit_action.h.
 */
#ifndef GK_WORKER_H
#define GK_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "codec.h"
#include "genkit_action.h"

/* Exit codes of genkit-worker. */
#define WORKER_EXIT_OK 0       /* EOF, Shutdown, after a cancelled run */
#define WORKER_EXIT_FAILURE 1  /* usage, system error */
#define WORKER_EXIT_PLUGIN 2   /* a plugin failed to load or initialise */
#define WORKER_EXIT_PROTOCOL 3 /* malformed or oversize frame */
#define WORKER_EXIT_SANDBOX 4  /* strict sandbox refused by the kernel */

/* ---- log.c ---- */
void wlog_init(void);
/* Log under this pid (the supervisor's view) while we are the init of a
 * PID namespace; our children keep their own getpid(). */
void wlog_set_pid(pid_t pid);
void wlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wdebug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wdie(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* ---- text.c ---- */
int utf8_valid(const char *s, size_t n);
/* Replace invalid UTF-8 and control characters (but \t \n) with '?'. */
void text_sanitize(char *s);

/* ---- startup.c ---- */
void startup_process(pid_t parent, int ipc_fd);
/* A worker forked by the zygote: move ipc_fd to 3 (CLOEXEC, non-blocking),
 * close every other fd but 0..2. Returns the new fd. */
int startup_spawned_fds(int ipc_fd);
/* Ask the scheduler for slices of us microseconds (EEVDF's sched_runtime;
 * 0: leave the default); children, workers forked by the zygote included,
 * inherit it. */
void startup_slice(unsigned us);

/* ---- conn.c: blocking frame I/O on the IPC socket ---- */
struct msg {
	struct msg *next;
	Gkipc__ToWorker *m;
	size_t size; /* frame payload bytes, for backlog accounting */
};

struct msgq {
	struct msg *head, *tail;
};

void msgq_push(struct msgq *q, struct msg *m);
struct msg *msgq_pop(struct msgq *q);

struct conn {
	int fd;
	size_t max_frame;
	struct ipc_rbuf rb;
	struct ipc_wbuf wb;
	struct msgq in; /* decoded, not yet dispatched */
	size_t held;    /* payload bytes of decoded messages still alive */
};

void conn_init(struct conn *c, int fd, size_t max_frame);
void msg_free(struct conn *c, struct msg *m);
/* Does a JSON payload of n bytes fit in one frame with its envelope? */
int conn_fits(const struct conn *c, size_t n);
/* The next whole message in the read buffer, or NULL; a malformed or
 * oversize frame ends the worker (exit 3). *size gets the frame's bytes. */
Gkipc__ToWorker *conn_decode_next(struct conn *c, size_t *size);
/* Write everything queued in c->wb, blocking; decodes incoming frames into
 * c->in meanwhile (while the backlog allows). Exits if the peer is gone. */
void conn_flush(struct conn *c);
/* Wait up to timeout_ms (-1 = forever) for incoming frames or for wake_fd
 * (-1 = none) to be readable. 1: frames may have been queued; 2: wake_fd
 * is readable; 0: timeout or signal. Exits on EOF (0) or on a malformed
 * frame (3). */
int conn_wait(struct conn *c, int timeout_ms, int wake_fd);

/* ---- registry.c ---- */
struct action {
	const gk_action_def *def;
	char *key;
};

struct gk_registry {
	struct action *v;
	size_t n, cap;
	const char *origin; /* plugin being initialised, for messages */
	unsigned errors;    /* rejected gk_register() calls */
};

const struct action *registry_find(const struct gk_registry *r,
				   const char *key);

/* ---- plugin.c ---- */
int plugin_load(struct gk_registry *reg, const char *path);

/* ---- hello.c ---- */
void hello_send(struct conn *c, const struct gk_registry *reg);
/* With the pid the supervisor knows us by (zygote-spawned workers). */
void hello_send_pid(struct conn *c, const struct gk_registry *reg, pid_t pid);

/* ---- cancel.c: SIGTERM for cooperative actions ---- */
int cancel_init(void); /* returns the wake fd (read end of a self-pipe) */
void cancel_begin(enum gk_cancel_mode mode);
void cancel_end(enum gk_cancel_mode mode, int cancelled);
int cancel_signalled(void);

/* ---- run.c: one run of one action ---- */
struct worker;

struct gk_ctx {
	struct worker *w;
	const struct action *act;
	const Gkipc__RunRequest *req;
	uint64_t run_id;
	char *input, *context; /* NUL-terminated copies */
	size_t input_len, context_len;
	uint64_t max_output; /* 0 = unlimited */
	uint64_t output;     /* chunk + result bytes sent */
	int stream, stream_input;
	struct msgq inq; /* input chunks not yet taken */
	int input_ended;
	int cancel_frame; /* a Cancel frame for this run arrived */
	struct timespec t0; /* the run began (ctx_init) */
	int replied;      /* Result or Error sent */
	int answered_cancelled; /* its reply was CANCELLED: exit after */
	char *chunk;      /* last chunk handed out by gk_input_next */
	size_t chunk_cap;
	gk_limits limits; /* effective limits of this run (gk_run_limits) */
};

/* Run a request to completion and send its one reply. Returns non-zero
 * when the run was cancelled (the worker must then exit). */
int run_execute(struct worker *w, const Gkipc__RunRequest *req);
int run_cancelled(const gk_ctx *ctx);
/* Send the run's Error (first reply wins). Returns -1. */
int run_fail(gk_ctx *ctx, int status, const char *msg);
/* Send Error for a run and flush; run_us: how long the action ran, 0 when
 * it never started. Dies if the reply cannot be queued. */
void run_send_error(struct worker *w, uint64_t run_id, int status,
		    const char *msg, uint32_t run_us);
/* Microseconds since the run began, for the reply (saturates). */
uint32_t run_elapsed_us(const gk_ctx *ctx);
/* Account n output bytes; on overflow the run fails. 0 or -1. */
int run_charge_output(gk_ctx *ctx, size_t n);

/* ---- dispatch.c: ToWorker messages ---- */
struct worker {
	struct conn conn;
	struct gk_registry reg;
	gk_ctx *cur;        /* the run in progress, if any */
	struct msgq later;  /* RunRequests that arrived during a run */
	int shutdown;       /* Shutdown received */
	int wake_fd;        /* cancel self-pipe, read end */
};

/* ---- limits.c: per-run soft rlimits ---- */
/* Effective limits: the request's, the action's own filling in for 0. */
void limits_effective(gk_limits *out, const Gkipc__RunRequest *req,
		      const gk_action_def *def);
/* Set the soft limits of ctx->limits, saving the previous ones. 0, or a
 * status (the run must fail) with *why set. */
int limits_apply(gk_ctx *ctx, const char **why);
/* Put the saved soft limits back. 0, or -1 (logged): the worker can no
 * longer promise limits and should exit after this run. */
int limits_restore(void);

/* ---- ns.c: namespaces ---- */
/* Is this process the init (PID 1) of its own PID namespace? */
int ns_is_init(void);
/* As init, install handlers that make the default-fatal signals fatal
 * again (_exit(128 + sig)); SIGTERM included. No-op otherwise. */
void ns_init_signals(void);
/* The disposition SIGTERM has outside runs: SIG_DFL, or as init the
 * handler above. */
void ns_term_default(void);
/* As init: SIGKILL every other process of the namespace and reap them
 * (bounded wait). No-op otherwise. */
void ns_kill_others(void);
/* Write uid_map/gid_map of the calling process (after unshare(NEWUSER)):
 * outer uid/gid -> 0. 0 or -1 (errno). */
int ns_map_root(uid_t uid, gid_t gid);
/* unshare(flags); 0 or -errno. */
int ns_unshare(int flags);

/* ---- seccomp.c ---- */
/* Install the deny-list filter. 0, or -errno with *why naming the step. */
int seccomp_install(const char **why);

/* ---- sandbox.c: profiles for zygote-spawned workers ---- */
enum sandbox_profile { SBX_NONE = 0, SBX_STANDARD = 1, SBX_STRICT = 2 };
/* "none"/""/NULL, "standard", "strict"; -1 when unknown. */
int sandbox_parse(const char *name);
/* Apply the profile (before Hello). gpid: our pid in the supervisor's
 * namespace. Exits WORKER_EXIT_SANDBOX when strict cannot be had. */
void sandbox_apply(const Gkipc__SpawnWorker *sp, pid_t gpid, int in_pidns);
/* The worker's scratch directory, or NULL. */
const char *sandbox_scratch(void);
/* Empty the scratch directory (between runs). */
void sandbox_scratch_empty(void);

/* ---- zygote.c ---- */
void zygote_loop(struct worker *w) __attribute__((noreturn));

/* Handle every message already decoded (never blocks). */
void worker_pump(struct worker *w);
void worker_loop(struct worker *w) __attribute__((noreturn));

#endif
