/* startup.c - make the worker process independent of how it was spawned. */
#include "worker.h"
#include "sched_attr.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Die with the supervisor; and close the race where it died before the
 * prctl() took effect. */
static void tie_to_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		wdie(WORKER_EXIT_FAILURE, "prctl(PR_SET_PDEATHSIG): %s",
		     strerror(errno));
	if (getppid() != parent)
		wdie(WORKER_EXIT_FAILURE, "parent %d is gone, exiting",
		     (int)parent);
}

/*
 * After execve() only ignored dispositions survive (handlers are reset to
 * the default), and lws in the supervisor ignores SIGPIPE: reset every
 * ignored signal. Handlers installed before main() (a sanitizer runtime)
 * are left alone on purpose. Then unblock everything.
 */
static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (sigaction(s, NULL, &sa) < 0 || sa.sa_handler != SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(s, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * CLOEXEC and non-blocking. The idle wait stays poll(2) + read(2). Our
 * reading of why one blocking read(2) was slower: a task asleep in read(2)
 * on a unix socket is woken "sync" (as if the sender were about to sleep)
 * and tends to run after the sender on its core, where poll(2)'s wake-up
 * lets it run on the other core at once. Measured with the blocking read:
 * echo at C=1 went from ~11k to ~8.5k req/s (p50 70 -> 110 us) here.
 */
static void ipc_fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fl < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		wdie(WORKER_EXIT_FAILURE, "fcntl(ipc fd %d): %s", fd,
		     strerror(errno));
}

/* Whatever the supervisor leaked into us (another worker's socket would
 * hide that worker's EOF) gets closed; the IPC fd is kept (ipc_fd_flags). */
static void setup_fds(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		wdie(WORKER_EXIT_FAILURE, "--fd %d is not a socket", fd);
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	ipc_fd_flags(fd);
}

static void stdin_devnull(void)
{
	int n = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (n < 0)
		wdie(WORKER_EXIT_FAILURE, "/dev/null: %s", strerror(errno));
	if (n != STDIN_FILENO) {
		if (dup2(n, STDIN_FILENO) < 0)
			wdie(WORKER_EXIT_FAILURE, "dup2: %s", strerror(errno));
		close(n);
	} else {
		fcntl(n, F_SETFD, 0);
	}
}

void startup_process(pid_t parent, int ipc_fd)
{
	tie_to_parent(parent);
	reset_signals();
	/* The supervisor kills our whole group; fails harmlessly if we
	 * already lead a session. */
	if (setpgid(0, 0) < 0 && getpgrp() != getpid())
		wlog("setpgid: %s", strerror(errno));
	setup_fds(ipc_fd);
	stdin_devnull();
}

int startup_spawned_fds(int ipc_fd)
{
	int fd = ipc_fd;

	if (fd != 3) {
		/* dup3 closes whatever held 3 (the zygote's own socket). */
		if (dup3(ipc_fd, 3, O_CLOEXEC) < 0)
			wdie(WORKER_EXIT_FAILURE, "dup3: %s", strerror(errno));
		fd = 3;
	}
	close_range(4, ~0U, 0);
	ipc_fd_flags(fd);
	return fd;
}

/*
 * Actions get a longer slice than the default (3 ms from the supervisor;
 * the default was 1.4 ms on the 2-CPU VM we measured on). EEVDF lets a
 * waking task with a shorter slice preempt one with a longer slice, so the
 * supervisor and the manager, which wake for a message and sleep again, get
 * a CPU promptly even while actions compute flat out. CPU shares (weights,
 * nice) are unchanged. A streaming run's first chunk reached the client in
 * ~0.64 ms instead of ~1.3 ms. Only SCHED_OTHER is touched, with the nice
 * level we have; kernels before 6.12 ignore the slice or refuse it, which
 * changes nothing else.
 */
void startup_slice(unsigned us)
{
	if (!us || sched_getscheduler(0) != SCHED_OTHER)
		return;
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (nice == -1 && errno)
		return;
	struct kernel_sched_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = nice;
	a.sched_runtime = (uint64_t)us * 1000;
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		wdebug("sched_setattr(slice %u us): %s", us, strerror(errno));
}
