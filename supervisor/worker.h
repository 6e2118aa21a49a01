/*
 * worker.h - one worker process as the supervisor sees it: its pid, its
 * IPC channel, its state, the run it holds. Policy (which run goes where,
 * when to start or retire workers) is pool.c's.
 */
#ifndef GK_WORKER_H
#define GK_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "frame.h"

struct pool;
struct run;
struct event;

enum wstate {
	W_STARTING, /* spawned, no Hello yet */
	W_IDLE,
	W_BUSY,
	W_DYING,    /* killed or told to go; waits to be reaped */
};

struct worker {
	struct worker *prev, *next;  /* pool's list of all workers */
	struct worker *idle_next;    /* pool's idle stack of its class */
	struct pool *pool;
	pid_t pid;                   /* 0 until the zygote has told us */
	uint64_t spawn_id;
	int profile;                 /* SANDBOX_* */
	int fd;                      /* -1 once closed */
	enum wstate state;
	bool reaped;
	bool said_hello;
	bool hung_up;                /* closed its channel while alive */
	bool single_use;             /* ran a fresh-mode action: retire after */
	int wait_status;
	struct event *rd, *wr, *kill_timer;
	struct ipc_rbuf rb;
	struct ipc_wbuf wb;
	struct run *run;
	struct run *ahead;           /* prefetched: starts when run ends */
	bool past_run;               /* run's last message came, unanswered
					(it was being stopped) */
	const char *retire_why;      /* retire once the prefetched run ends */
	unsigned runs;               /* runs finished */
	struct timespec idle_since;
	uint64_t cpu_at_start;       /* clock ticks when the current run began */
};

/* A worker around our end of its socketpair; pid may come later. */
struct worker *worker_new(struct pool *p, int fd, int profile);
void worker_free(struct worker *w);
/* Queue a packed message and try to write it. -1: the channel is full. */
int worker_flush(struct worker *w);
/* Signal the worker's process tree (its PID namespace or process group). */
void worker_signal(struct worker *w, int sig);
void worker_close_link(struct worker *w);
/* Read what the (dead) worker left in its socket and handle it. */
void worker_drain(struct worker *w);
void worker_pause(struct worker *w, bool paused);
/* The signal that ended the worker (by signal, or caught as PID 1 and
 * turned into exit 128 + sig); 0 if none. */
int worker_exit_signal(int wait_status);
/* "worker crashed: SIGSEGV (Segmentation fault)" etc. */
void worker_describe_exit(int wait_status, char *buf, size_t n);
/* utime+stime of the worker process in clock ticks; 0 if unknown. */
uint64_t worker_cpu_ticks(const struct worker *w);
/* Resident set size in MiB; 0 if unknown. */
uint64_t worker_rss_mb(const struct worker *w);

#endif
