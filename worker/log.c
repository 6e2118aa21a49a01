/* log.c - one-line messages on stderr, prefixed "genkit-worker[pid]: ". */
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static int debug_on;
static pid_t log_pid; /* 0: getpid() */

void wlog_set_pid(pid_t pid)
{
	log_pid = pid;
}

void wlog_init(void)
{
	const char *d = getenv("GK_WORKER_DEBUG");

	debug_on = d && *d && strcmp(d, "0") != 0;
}

/* Format the whole line first: one write(2) keeps lines from interleaving
 * with other processes sharing stderr. */
static void vlog(const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	int n = snprintf(buf, sizeof(buf), "genkit-worker[%d]: ",
			 (int)(log_pid && getpid() == 1 ? log_pid : getpid()));
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);

	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	(void)!write(STDERR_FILENO, buf, len);
}

void wlog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void wdebug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void wdie(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	exit(code);
}
