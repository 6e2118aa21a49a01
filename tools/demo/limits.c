/*
 * limits.c - one demo action per limit or sandbox rule, served by
 * `genkit-supervisor --demo-limits`: allocate, forkBomb, writeFile,
 * connect, spawnOrphan. Each tries to overrun or escape; the limits and
 * profiles of the supervisor decide how far it gets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define MB (1024 * 1024)
#define ALLOCATE_MAX_MB (1 << 20)

/* Allocate and touch N MiB in 1 MiB steps (memory_mb). */
static int allocate(gk_ctx *ctx)
{
	long long mb;
	char **blocks;
	int got = 0;

	if (demo_uint_field(ctx, "mb", ALLOCATE_MAX_MB, &mb) < 0)
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "allocate expects {\"mb\": <integer 0..%d>}",
			       ALLOCATE_MAX_MB);
	blocks = calloc((size_t)mb + 1, sizeof(*blocks));
	if (!blocks)
		return gk_fail(ctx, GK_RESOURCE_EXHAUSTED, "allocation failed");
	while (got < mb) {
		char *b = malloc(MB);
		if (!b)
			break;
		for (size_t i = 0; i < MB; i += 4096)
			b[i] = (char)i; /* touch every page */
		blocks[got++] = b;
	}
	for (int i = 0; i < got; i++)
		free(blocks[i]);
	free(blocks);
	if (got == mb)
		return demo_return_int(ctx, mb);
	if (gk_run_limits(ctx)->memory_mb)
		return gk_fail(ctx, GK_RESOURCE_EXHAUSTED,
			       "memory limit of %llu MB exceeded (allocated %d MB)",
			       (unsigned long long)gk_run_limits(ctx)->memory_mb,
			       got);
	return gk_fail(ctx, GK_RESOURCE_EXHAUSTED,
		       "allocation failed (allocated %d MB)", got);
}

/* Every process forks in a loop and spins; never returns (max_procs and
 * the PID namespace contain it). */
static int fork_bomb(gk_ctx *ctx)
{
	volatile unsigned long x = 0;

	(void)ctx;
	for (;;) {
		if (fork() < 0)
			for (unsigned long i = 0; i < 1000000; i++)
				x++;
	}
	return 0;
}

/* A string field of the input object, or NULL. *v keeps the JSON alive. */
static const char *str_field(gk_ctx *ctx, const char *name, json_t **v)
{
	size_t len;
	const char *in = gk_input(ctx, &len);
	json_t *f;

	if (!*v)
		*v = json_loadb(in, len, JSON_DECODE_ANY, NULL);
	f = json_is_object(*v) ? json_object_get(*v, name) : NULL;
	return json_is_string(f) ? json_string_value(f) : NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write data (default "hello") to path (default <scratch>/file.txt). */
static int write_file(gk_ctx *ctx)
{
	json_t *v = NULL;
	const char *path = str_field(ctx, "path", &v);
	const char *data = str_field(ctx, "data", &v);
	char def[4096];
	int rc;

	if (!path) {
		const char *sd = gk_scratch_dir(ctx);
		if (!sd) {
			json_decref(v);
			return gk_fail(ctx, GK_FAILED_PRECONDITION,
				       "no path given and no scratch directory");
		}
		snprintf(def, sizeof(def), "%s/file.txt", sd);
		path = def;
	}
	if (!data)
		data = "hello";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, strlen(data)) < 0 ||
	    close(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		rc = gk_fail(ctx, GK_PERMISSION_DENIED, "cannot write %s: %s",
			     path, strerror(e));
	} else {
		json_t *s = json_string(path);
		char *out = json_dumps(s, JSON_ENCODE_ANY);
		rc = out ? gk_return(ctx, out, strlen(out))
			 : gk_fail(ctx, GK_INTERNAL, "out of memory");
		free(out);
		json_decref(s);
	}
	json_decref(v);
	return rc;
}

/* TCP connect to a numeric IPv4/IPv6 host. */
static int connect_to(gk_ctx *ctx)
{
	json_t *v = NULL;
	const char *host = str_field(ctx, "host", &v);
	long long port;
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (!host || demo_uint_field(ctx, "port", 65535, &port) < 0) {
		json_decref(v);
		return gk_fail(ctx, GK_INVALID_ARGUMENT,
			       "connect expects {\"host\": IP, \"port\": N}");
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		rc = gk_fail(ctx, GK_INVALID_ARGUMENT,
			     "host must be a numeric address: %s", host);
		json_decref(v);
		return rc;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0)
		rc = gk_fail(ctx, GK_UNAVAILABLE, "cannot connect to %s:%d: %s",
			     host, (int)port, strerror(errno));
	else
		rc = gk_return(ctx, "\"connected\"", 11);
	if (fd >= 0)
		close(fd);
	json_decref(v);
	return rc;
}

/* Our pid in the outermost namespace our /proc knows: the first NSpid
 * entry of /proc/self/status (the host's pid unless /proc is private). */
static long outer_pid(void)
{
	char line[256];
	long first = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "NSpid: %ld", &first) == 1)
			break;
	fclose(f);
	return first;
}

/* A child that ignores SIGTERM, leaves our session and spins forever; the
 * action spins too. Only the PID namespace (or a group-wide SIGKILL that
 * setsid() escaped) can end the child. */
static int spawn_orphan(gk_ctx *ctx)
{
	volatile unsigned long x = 0;
	char buf[64];
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_IGN);
		setsid();
		/* Inside a PID namespace getpid() is namespace-local. */
		snprintf(buf, sizeof(buf),
			 "spawnOrphan: child pid %d (global %ld)\n",
			 (int)getpid(), outer_pid());
		(void)!write(STDERR_FILENO, buf, strlen(buf));
		for (;;)
			x++;
	}
	if (pid < 0)
		return gk_fail(ctx, GK_RESOURCE_EXHAUSTED, "fork: %s",
			       strerror(errno));
	int n = snprintf(buf, sizeof(buf), "{\"pid\":%d}", (int)pid);
	gk_emit(ctx, buf, (size_t)n);
	for (;;)
		x++;
	return 0;
}

static const gk_action_def actions[] = {
	{
		.type = "flow", .name = "allocate", .handler = allocate,
		.description = "Allocates and touches mb MiB in 1 MiB steps, "
			       "returns mb; fails RESOURCE_EXHAUSTED naming "
			       "limits.memory_mb when an allocation fails.",
		.input_schema = UINT_FIELD_SCHEMA("mb"),
		.output_schema = INT_SCHEMA,
	},
	{
		.type = "flow", .name = "forkBomb", .handler = fork_bomb,
		.description = "Forks in a loop (the children too) and spins; "
			       "never returns. Contained by limits.max_procs "
			       "and the PID namespace.",
		.input_schema = ANY_SCHEMA, .output_schema = ANY_SCHEMA,
	},
	{
		.type = "flow", .name = "writeFile", .handler = write_file,
		.description = "Writes data (default \"hello\") to path (default "
			       "<scratch>/file.txt), returns the path; "
			       "PERMISSION_DENIED when the sandbox forbids it.",
		.input_schema = "{" SCHEMA ",\"type\":\"object\",\"properties\":"
				"{\"path\":{\"type\":\"string\"},"
				"\"data\":{\"type\":\"string\"}}}",
		.output_schema = "{" SCHEMA ",\"type\":\"string\"}",
	},
	{
		.type = "flow", .name = "connect", .handler = connect_to,
		.description = "Opens a TCP connection to a numeric host and "
			       "port, returns \"connected\"; UNAVAILABLE (with "
			       "the reason) when the network is refused.",
		.input_schema = "{" SCHEMA ",\"type\":\"object\",\"properties\":"
				"{\"host\":{\"type\":\"string\"},"
				"\"port\":{\"type\":\"integer\",\"minimum\":0,"
				"\"maximum\":65535}},\"required\":[\"host\",\"port\"]}",
		.output_schema = "{" SCHEMA ",\"type\":\"string\"}",
	},
	{
		.type = "flow", .name = "spawnOrphan", .handler = spawn_orphan,
		.description = "Forks a child that ignores SIGTERM, calls "
			       "setsid() and spins forever; streams {\"pid\": N} "
			       "(namespace-local) and spins too. Never returns.",
		.input_schema = ANY_SCHEMA, .output_schema = ANY_SCHEMA,
	},
};

int genkit_plugin_init(gk_registry *reg);

int genkit_plugin_init(gk_registry *reg)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (gk_register(reg, &actions[i]) < 0)
			return -1;
	return 0;
}
