/*
 * main.c - genkit-worker: runs Genkit actions from plugins, one at a time,
 * for genkit-supervisor, which talks to it over a socketpair.
 *
 *   genkit-worker [--zygote] --fd N --parent-pid P [--plugin PATH]...
 *                 [--max-frame-bytes N]
 *
 * With --zygote it runs no actions itself: after its Hello it forks a fresh
 * worker per SpawnWorker frame (zygote.c).
 */
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_FRAME 4096u

struct opts {
	int fd;
	pid_t parent;
	size_t max_frame;
	const char **plugins;
	size_t nplugins;
	int zygote;
	unsigned slice_us;
};

static struct worker W;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: genkit-worker [--zygote] --fd N --parent-pid P\n"
		"                     [--plugin PATH]... [--max-frame-bytes N]\n"
		"                     [--slice-us US]\n"
		"Runs Genkit actions for genkit-supervisor over the socket N;\n"
		"with --zygote, forks a fresh worker per SpawnWorker instead.\n");
}

static int parse_num(const char *s, unsigned long long lo,
		     unsigned long long hi, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out < lo || *out > hi)
		return -1;
	return 0;
}

static void bad_arg(const char *opt, const char *val)
{
	fprintf(stderr, "genkit-worker: invalid %s '%s'\n", opt, val);
	usage(stderr);
	exit(WORKER_EXIT_FAILURE);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "parent-pid", required_argument, NULL, 'p' },
		{ "plugin", required_argument, NULL, 'l' },
		{ "max-frame-bytes", required_argument, NULL, 'm' },
		{ "zygote", no_argument, NULL, 'z' },
		{ "slice-us", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->max_frame = IPC_DEFAULT_MAX_FRAME;
	o->plugins = calloc((size_t)argc, sizeof(*o->plugins));
	if (!o->plugins)
		exit(WORKER_EXIT_FAILURE);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			/* 0..2 are stdio: the IPC socket must be elsewhere. */
			if (parse_num(optarg, 3, 1 << 20, &v) < 0)
				bad_arg("--fd", optarg);
			o->fd = (int)v;
			break;
		case 'p':
			if (parse_num(optarg, 1, 0x7fffffff, &v) < 0)
				bad_arg("--parent-pid", optarg);
			o->parent = (pid_t)v;
			break;
		case 'l':
			o->plugins[o->nplugins++] = optarg;
			break;
		case 'm':
			if (parse_num(optarg, MIN_FRAME, UINT32_MAX, &v) < 0)
				bad_arg("--max-frame-bytes", optarg);
			o->max_frame = (size_t)v;
			break;
		case 'z':
			o->zygote = 1;
			break;
		case 's':
			if (parse_num(optarg, 0, 100000, &v) < 0)
				bad_arg("--slice-us", optarg);
			o->slice_us = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("genkit-worker %s (protocol %u, sdk %d)\n",
			       GK_VERSION, GKIPC_PROTOCOL_VERSION,
			       GK_SDK_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(WORKER_EXIT_FAILURE);
		}
	}
	if (optind != argc || o->fd < 0 || o->parent <= 0) {
		fprintf(stderr, "genkit-worker: --fd and --parent-pid are "
				"required, no other arguments\n");
		usage(stderr);
		exit(WORKER_EXIT_FAILURE);
	}
}

int main(int argc, char **argv)
{
	struct opts o;

	parse_args(argc, argv, &o);
	wlog_init();
	startup_process(o.parent, o.fd);
	startup_slice(o.slice_us);
	conn_init(&W.conn, o.fd, o.max_frame);
	for (size_t i = 0; i < o.nplugins; i++)
		if (plugin_load(&W.reg, o.plugins[i]) < 0)
			wdie(WORKER_EXIT_PLUGIN, "plugin %s failed, exiting",
			     o.plugins[i]);
	free(o.plugins);
	if (o.zygote) {
		/* No cancel pipe: each spawned worker makes its own. */
		hello_send(&W.conn, &W.reg);
		wdebug("zygote ready: %zu action(s)", W.reg.n);
		zygote_loop(&W);
	}
	W.wake_fd = cancel_init();
	hello_send(&W.conn, &W.reg);
	wdebug("ready: %zu action(s)", W.reg.n);
	worker_loop(&W);
}
