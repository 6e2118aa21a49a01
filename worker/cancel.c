/*
 * cancel.c - SIGTERM for actions in GK_CANCEL_COOPERATIVE mode.
 *
 * While such an action runs, SIGTERM sets a flag and writes a byte to a
 * self-pipe. Every blocking wait of the SDK polls the pipe's read end too,
 * so a signal that lands between "check the flag" and "block" still wakes
 * it. In GK_CANCEL_KILL mode SIGTERM keeps its default action while the
 * action runs (as the init of a PID namespace, where the kernel would
 * ignore a default SIGTERM: a handler that _exit(143)s, see ns.c).
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t term_seen;
static int pipe_fd[2] = { -1, -1 };

static void on_term(int sig)
{
	int saved = errno;

	(void)sig;
	term_seen = 1;
	(void)!write(pipe_fd[1], "", 1);
	errno = saved;
}

int cancel_init(void)
{
	if (pipe2(pipe_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		wdie(WORKER_EXIT_FAILURE, "pipe2: %s", strerror(errno));
	return pipe_fd[0];
}

static void drain(void)
{
	char buf[64];

	while (read(pipe_fd[0], buf, sizeof(buf)) > 0)
		;
}

static void set_term(void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: interrupt blocking calls */
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		wlog("sigaction(SIGTERM): %s", strerror(errno));
}

/*
 * The pipe only ever gets a byte from on_term(), which sets term_seen
 * first, and only cancel_begin() clears term_seen: an empty flag means an
 * empty pipe, so the read that would only return EAGAIN is skipped (one
 * syscall per run). A SIGTERM seen during a run cancels it and the worker
 * exits, so in practice the flag is always clear here.
 */
void cancel_begin(enum gk_cancel_mode mode)
{
	if (term_seen) {
		drain();
		term_seen = 0;
	}
	if (mode == GK_CANCEL_COOPERATIVE)
		set_term(on_term);
}

/*
 * A cancelled worker exits 0 right after its reply: from here on SIGTERM
 * (which follows every Cancel frame) is ignored, so it cannot race the
 * exit; the supervisor's SIGKILL stays the backstop. Switching straight
 * from on_term to SIG_IGN leaves no window with the default action.
 */
void cancel_end(enum gk_cancel_mode mode, int cancelled)
{
	if (cancelled)
		set_term(SIG_IGN);
	else if (mode == GK_CANCEL_COOPERATIVE)
		ns_term_default();
}

int cancel_signalled(void)
{
	return term_seen;
}
