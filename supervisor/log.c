/* log.c - stderr logging, safe from any thread (one write(2) per line). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum log_level level = LOG_INFO;
static const char *names[] = { "error", "warning", "info", "debug" };

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	if (l > level)
		return;
	char line[1024];
	int n = snprintf(line, sizeof(line), "genkit-supervisor: %s: ", names[l]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
