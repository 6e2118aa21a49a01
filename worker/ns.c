/*
 * ns.c - namespace helpers; life as PID 1 of a PID namespace.
 *
 * A zygote-spawned worker is the init of its own PID namespace. The kernel
 * protects an init from signals it has no handler for (only SIGKILL and
 * SIGSTOP from an ancestor namespace, and genuine faults, get through), so
 * SIGTERM from the supervisor, SIGXCPU from RLIMIT_CPU or an action's
 * abort() would all be ignored. As init we therefore install handlers that
 * end the process with _exit(128 + sig), the status a shell reports for
 * that signal. Faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) keep SIG_DFL:
 * the kernel forces them through.
 *
 * When the init dies the kernel kills the whole namespace: that is how a
 * cancel or a limit kill also ends grandchildren that called setsid() or
 * ignore SIGTERM.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Reaping after SIGKILL is normally instant; a process stuck in the kernel
 * (D state) must not hang the worker forever. */
#define REAP_MAX_MS 2000

static const int fatal_sigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
	SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGPIPE,
};

/*
 * Whether we are PID 1, asked of the kernel once per process: -1 unknown,
 * else 0/1. ns_kill_others() runs after every run (and, via atexit, in any
 * process that calls exit()), so a getpid() each time is a syscall per run.
 *
 * A cached answer must not leak into a child: a child of an action inherits
 * our atexit handlers, and a stale "1" there would make it kill(-1) the
 * action's other processes. Every way a child gets our memory is covered:
 * - fork(): pthread_atfork's child handler forgets the answer, so the
 *   child asks getpid() itself (and gets != 1);
 * - vfork(), posix_spawn() (CLONE_VFORK), _Fork(): no atfork handlers run,
 *   but such a child may only exec or _exit(), which run no atexit
 *   handlers; it never calls ns_is_init();
 * - a raw clone()/clone3() syscall without CLONE_VM: no atfork handlers
 *   either; glibc does not support calling into it (exit() included) from
 *   such a child, its own pid/tid caches are just as stale there.
 * The handler is registered before the first answer is cached, so no
 * fork() can copy an answer without also copying the handler.
 */
static int is_init = -1;

static void forget_is_init(void)
{
	is_init = -1;
}

int ns_is_init(void)
{
	static int registered;

	if (is_init < 0) {
		if (!registered) {
			/* Failure (ENOMEM) only costs the cache. */
			if (pthread_atfork(NULL, NULL, forget_is_init) != 0)
				return getpid() == 1;
			registered = 1;
		}
		is_init = getpid() == 1;
	}
	return is_init;
}

static void die_by(int sig)
{
	_exit(128 + sig);
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		wlog("sigaction(%d): %s", sig, strerror(errno));
}

void ns_init_signals(void)
{
	if (!ns_is_init())
		return;
	for (size_t i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++)
		set_handler(fatal_sigs[i], die_by);
}

void ns_term_default(void)
{
	set_handler(SIGTERM, ns_is_init() ? die_by : SIG_DFL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ns_kill_others(void)
{
	/* A child of an action inherits our atexit handlers and must not
	 * kill(-1) anything: ns_is_init() answers for the calling process,
	 * also in a fork()ed child (see above). */
	if (!ns_is_init())
		return;
	/* Every process of the namespace descends from us, and orphans are
	 * re-parented to us: no child at all means nobody is left. This saves
	 * kill(-1), which walks every task of the system, on most runs. */
	if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
		return;
	long long deadline = now_ms() + REAP_MAX_MS;
	unsigned reaped = 0;

	for (;;) {
		/* Again each round: a fork may have raced the last one. */
		kill(-1, SIGKILL);
		pid_t r;
		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			reaped++;
		if (r < 0 && errno == ECHILD)
			break;
		if (now_ms() >= deadline) {
			wlog("processes of the namespace survive SIGKILL");
			break;
		}
		poll(NULL, 0, 1);
	}
	if (reaped)
		wdebug("reaped %u process(es) of the namespace", reaped);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int saved = errno;
	close(fd);
	errno = saved;
	return w == (ssize_t)n ? 0 : -1;
}

int ns_map_root(uid_t uid, gid_t gid)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", buf) < 0)
		return -1;
	/* Unprivileged gid_map needs setgroups denied first. */
	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	snprintf(buf, sizeof(buf), "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", buf);
}

int ns_unshare(int flags)
{
	return unshare(flags) < 0 ? -errno : 0;
}
