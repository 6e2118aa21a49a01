/*
 * limits.c - per-run resource limits as SOFT rlimits.
 *
 * Only soft limits change, so a pooled worker can put its previous soft
 * limits back after the run (the hard limits never move). An action that
 * raises its own soft limit again is still killed: the supervisor enforces
 * the same limits from outside.
 *
 *   cpu_seconds    RLIMIT_CPU  = CPU time already used + cpu_seconds
 *                  (SIGXCPU at the default disposition ends the process)
 *   memory_mb      RLIMIT_AS   (the action sees allocation failures)
 *   max_open_files RLIMIT_NOFILE
 *   max_procs      RLIMIT_NPROC (per real uid; root is exempt, which is
 *                  what run-as is for)
 */
#include "worker.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

static const struct lim {
	int res;
	const char *name;
} lims[] = {
	{ RLIMIT_CPU, "RLIMIT_CPU" },
	{ RLIMIT_AS, "RLIMIT_AS" },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE" },
	{ RLIMIT_NPROC, "RLIMIT_NPROC" },
};
#define NLIMS (sizeof(lims) / sizeof(lims[0]))

static struct rlimit saved[NLIMS];
static int changed[NLIMS];

static uint64_t pick(uint64_t run, uint64_t def)
{
	return run ? run : def;
}

void limits_effective(gk_limits *out, const Gkipc__RunRequest *req,
		      const gk_action_def *def)
{
	const Gkipc__Limits *r = req->limits;
	static const Gkipc__Limits none = GKIPC__LIMITS__INIT;
	const gk_limits *d = &def->limits;

	if (!r)
		r = &none;
	out->timeout_ms = pick(r->timeout_ms, d->timeout_ms);
	out->cpu_seconds = pick(r->cpu_seconds, d->cpu_seconds);
	out->memory_mb = pick(r->memory_mb, d->memory_mb);
	out->max_output_bytes = pick(r->max_output_bytes, d->max_output_bytes);
	out->max_open_files = pick(r->max_open_files, d->max_open_files);
	out->max_procs = pick(r->max_procs, d->max_procs);
}

/* CPU seconds used so far, rounded up: the action gets at least its
 * budget. */
static uint64_t cpu_used(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	uint64_t us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
		      (uint64_t)ru.ru_utime.tv_usec +
		      (uint64_t)ru.ru_stime.tv_sec * 1000000 +
		      (uint64_t)ru.ru_stime.tv_usec;
	return (us + 999999) / 1000000;
}

static uint64_t want(size_t i, const gk_limits *l)
{
	const uint64_t mb = 1024 * 1024;

	switch (lims[i].res) {
	case RLIMIT_CPU:
		return l->cpu_seconds ? cpu_used() + l->cpu_seconds : 0;
	case RLIMIT_AS:
		if (l->memory_mb > UINT64_MAX / mb)
			return 0; /* beyond any address space: unlimited */
		return l->memory_mb * mb;
	case RLIMIT_NOFILE:
		return l->max_open_files;
	case RLIMIT_NPROC:
		return l->max_procs;
	}
	return 0;
}

int limits_apply(gk_ctx *ctx, const char **why)
{
	for (size_t i = 0; i < NLIMS; i++) {
		uint64_t v = want(i, &ctx->limits);
		struct rlimit rl;

		changed[i] = 0;
		if (!v)
			continue;
		if (getrlimit(lims[i].res, &rl) < 0)
			goto fail;
		saved[i] = rl;
		/* Never above the hard limit (we could not raise it). */
		rl.rlim_cur = (rlim_t)v;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(lims[i].res, &rl) < 0)
			goto fail;
		changed[i] = 1;
		continue;
fail:
		wlog("setrlimit(%s): %s", lims[i].name, strerror(errno));
		*why = "cannot apply the run's limits";
		limits_restore();
		return GK_INTERNAL;
	}
	return 0;
}

int limits_restore(void)
{
	int rc = 0;

	for (size_t i = 0; i < NLIMS; i++) {
		if (!changed[i])
			continue;
		changed[i] = 0;
		struct rlimit rl;
		/* Keep whatever hard limit the action may have lowered. */
		if (getrlimit(lims[i].res, &rl) < 0)
			rl.rlim_max = saved[i].rlim_max;
		rl.rlim_cur = saved[i].rlim_cur;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max) {
			wlog("cannot restore %s: the action lowered the hard "
			     "limit", lims[i].name);
			rc = -1;
			continue;
		}
		if (setrlimit(lims[i].res, &rl) < 0) {
			wlog("cannot restore %s: %s", lims[i].name,
			     strerror(errno));
			rc = -1;
		}
	}
	return rc;
}
