/*
 * zygote.h - the pre-initialised process that forks fresh workers.
 *
 * `genkit-worker --zygote` loads the plugins once and reports the catalogue.
 * For every worker we want, we send it SpawnWorker with the worker's end of
 * a new socketpair (SCM_RIGHTS); it forks the worker into a new PID
 * namespace and answers Spawned{pid}. We are a child subreaper, so the
 * worker becomes our child: we reap it and get its exit status.
 */
#ifndef GK_ZYGOTE_H
#define GK_ZYGOTE_H

#include <stdint.h>
#include <sys/types.h>

#include "ipc.pb-c.h"

struct zygote;

struct zygote_ops {
	void (*on_hello)(const Gkipc__Hello *h);
	void (*on_spawned)(uint64_t spawn_id, pid_t pid, const char *error);
	/* The zygote died; every spawn not yet answered is lost. */
	void (*on_lost)(void);
};

struct zygote *zygote_start(const struct zygote_ops *ops);
/* Ask for a worker with this sandbox profile; fd is the worker's end (we
 * close it). Returns the spawn id, 0 if the request could not be sent. */
uint64_t zygote_spawn(struct zygote *z, int profile, int fd);
/* Is this pid the zygote? (for SIGCHLD) Then it is handled here. */
int zygote_reaped(struct zygote *z, pid_t pid, int status);
int zygote_ready(const struct zygote *z);
void zygote_stop(struct zygote *z);

#endif
