/* sbx_plugin.c - test actions that probe limits and the sandbox from inside
 * a worker (loaded next to the demo by test_worker_sandbox). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genkit_action.h"

/* Open /dev/null n times ({"n": N} as a bare integer input). */
static int open_files(gk_ctx *ctx)
{
	int n = atoi(gk_input(ctx, NULL));
	int *fds = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
	int got = 0, err = 0;
	char buf[64];

	if (!fds)
		return gk_fail(ctx, GK_RESOURCE_EXHAUSTED, "out of memory");
	while (got < n) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			break;
		}
		fds[got++] = fd;
	}
	for (int i = 0; i < got; i++)
		close(fds[i]);
	free(fds);
	if (got < n)
		return gk_fail(ctx, GK_RESOURCE_EXHAUSTED,
			       "opened %d of %d files: %s (max_open_files %llu)",
			       got, n, strerror(err),
			       (unsigned long long)gk_run_limits(ctx)->max_open_files);
	int len = snprintf(buf, sizeof(buf), "%d", got);
	return gk_return(ctx, buf, (size_t)len);
}

static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

static int count_pids(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] >= '1' && e->d_name[0] <= '9';
	closedir(d);
	return n;
}

/* errno of each forbidden call (0 = it worked), uid, flags, visible pids. */
static int probe(gk_ctx *ctx)
{
	char buf[512];
	int e_ptrace = err_of(ptrace(PTRACE_PEEKUSER, getpid(), 0, 0));
	int e_mount = err_of(mount("none", "/nonexistent-gk-probe", "tmpfs", 0,
				   NULL));
	int e_unshare = err_of(unshare(0));
	long r = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD),
			 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	int e_clone = err_of(r);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	int e_clone3 = err_of(syscall(SYS_clone3, NULL, 0));
	pid_t f = fork(); /* plain fork must still work */
	if (f == 0)
		_exit(0);
	int e_fork = f < 0 ? errno : 0;
	if (f > 0)
		waitpid(f, NULL, 0);
	int n = snprintf(buf, sizeof(buf),
			 "{\"ptrace\":%d,\"mount\":%d,\"unshare\":%d,"
			 "\"clone_newuser\":%d,\"clone3\":%d,\"fork\":%d,"
			 "\"uid\":%d,\"gid\":%d,\"nnp\":%d,\"dumpable\":%d,"
			 "\"pids\":%d}",
			 e_ptrace, e_mount, e_unshare, e_clone, e_clone3,
			 e_fork, (int)getuid(), (int)getgid(),
			 prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
			 prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), count_pids());
	return gk_return(ctx, buf, (size_t)n);
}

/* Number of entries in the scratch directory (-1: none). */
static int scratch_count(gk_ctx *ctx)
{
	const char *sd = gk_scratch_dir(ctx);
	char buf[32];
	int n = -1;

	if (sd) {
		DIR *d = opendir(sd);
		struct dirent *e;
		n = 0;
		while (d && (e = readdir(d)))
			n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		if (d)
			closedir(d);
		else
			n = -2;
	}
	int len = snprintf(buf, sizeof(buf), "%d", n);
	return gk_return(ctx, buf, (size_t)len);
}

/* The run's limits as JSON. */
static int limits(gk_ctx *ctx)
{
	const gk_limits *l = gk_run_limits(ctx);
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "[%llu,%llu,%llu,%llu,%llu,%llu]",
			 (unsigned long long)l->timeout_ms,
			 (unsigned long long)l->cpu_seconds,
			 (unsigned long long)l->memory_mb,
			 (unsigned long long)l->max_output_bytes,
			 (unsigned long long)l->max_open_files,
			 (unsigned long long)l->max_procs);
	return gk_return(ctx, buf, (size_t)n);
}

/*
 * A child of the action that calls exit() runs the worker's atexit
 * handlers, ns_kill_others() among them; it must not take itself for the
 * namespace's init and kill(-1) its siblings. Child B, which has a child of
 * its own (so that ns_kill_others does not stop at "no children"), calls
 * exit(); sibling A must survive it. "alive" or "killed".
 */
static int fork_exit(gk_ctx *ctx)
{
	pid_t a = fork();
	if (a == 0) {
		pause();
		_exit(0);
	}
	if (a < 0)
		return gk_fail(ctx, GK_INTERNAL, "fork: %s", strerror(errno));
	pid_t b = fork();
	if (b == 0) {
		if (fork() == 0) {
			pause();
			_exit(0);
		}
		exit(0);
	}
	if (b < 0)
		return gk_fail(ctx, GK_INTERNAL, "fork: %s", strerror(errno));
	waitpid(b, NULL, 0);
	/* A SIGKILL sent by B lands when A next runs: give it a moment. */
	int dead = 0;
	for (int i = 0; i < 20 && !dead; i++) {
		dead = waitpid(a, NULL, WNOHANG) == a;
		if (!dead)
			usleep(10000);
	}
	return dead ? gk_return(ctx, "\"killed\"", 8)
		    : gk_return(ctx, "\"alive\"", 7);
}

/*
 * Does glibc know which thread it is? It caches the TID in the thread's
 * control block, and pthread calls on pthread_self() use that copy: a worker
 * made by a raw clone() keeps the zygote's TID there and gets ESRCH (or
 * another task) back. "ok", or what failed.
 */
static int tid(gk_ctx *ctx)
{
	cpu_set_t set;
	int e = pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
	if (e)
		return gk_fail(ctx, GK_INTERNAL, "pthread_getaffinity_np: %s",
			       strerror(e));
	clockid_t clk;
	struct timespec ts;
	e = pthread_getcpuclockid(pthread_self(), &clk);
	if (e || clock_gettime(clk, &ts) < 0)
		return gk_fail(ctx, GK_INTERNAL, "thread CPU clock: %s",
			       strerror(e ? e : errno));
	return gk_return(ctx, "\"ok\"", 4);
}

static const gk_action_def defs[] = {
	{ .type = "test", .name = "tid", .handler = tid },
	{ .type = "test", .name = "openFiles", .handler = open_files },
	{ .type = "test", .name = "probe", .handler = probe },
	{ .type = "test", .name = "scratchCount", .handler = scratch_count },
	{ .type = "test", .name = "forkExit", .handler = fork_exit },
	{ .type = "test", .name = "limits", .handler = limits,
	  .limits = { .cpu_seconds = 7, .max_procs = 9 } },
};

int genkit_plugin_init(gk_registry *reg);

int genkit_plugin_init(gk_registry *reg)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (gk_register(reg, &defs[i]) < 0)
			return -1;
	return 0;
}
