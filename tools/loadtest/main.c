/* genkit-loadtest: command line, wiring and exit status.
 * Plays the manager side of Reflection API V2 against any runtime. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "child.h"
#include "lt.h"
#include "proctree.h"
#include "report.h"
#include "scenarios.h"
#include "server.h"

static volatile sig_atomic_t g_signalled;
static struct lws_context *g_ctx;

static void on_signal(int sig)
{
    (void)sig;
    g_signalled = 1;
    if (g_ctx)
        lws_cancel_service(g_ctx); /* a write to lws' wake pipe */
}

static const char usage[] =
"usage: genkit-loadtest [options] [-- runtime command...]\n"
"Plays the manager side of Genkit Reflection API V2: listens on 127.0.0.1, spawns\n"
"the runtime command with GENKIT_REFLECTION_V2_SERVER set (or waits for an external\n"
"runtime to connect to --port), answers register, then runs a scenario.\n"
"\n"
"  -s, --scenario NAME     rps | stream | cancel | crash-mix | bidi   (rps)\n"
"  -k, --key KEY           action (rps, crash-mix echo: /flow/echo; stream: /flow/count;\n"
"                          cancel: /flow/spin; bidi: /flow/bidiEcho)\n"
"  -i, --input JSON|@FILE  input (rps, crash-mix: {\"a\":1}; cancel: {})\n"
"  -c, --concurrency N     closed loop: runs in flight (1)\n"
"  -n, --requests N        measured requests (1000; cancel: iterations, 20)\n"
"  -d, --duration S[s]     measure for S seconds instead of N requests\n"
"  -w, --warmup N|Ss       warm-up requests, or seconds with a trailing s (0)\n"
"  -r, --rate R            open loop at R requests/s (latency from intended send time)\n"
"      --max-inflight N    open loop: cap on runs in flight (10000)\n"
"      --chunks N          stream: chunks per run (100); bidi: chunks per run (10)\n"
"      --crash-ratio F     crash-mix: fraction of /flow/crash runs (0.1)\n"
"      --seed N            crash-mix: PRNG seed (1)\n"
"      --input-after-state bidi: send the input stream after runActionState, not right\n"
"                          behind runAction\n"
"  -t, --timeout S         per-request timeout, then lost; 0 = none (30)\n"
"      --connect-timeout S wait for register + the scenario's actions (30)\n"
"      --kill-timeout S    SIGTERM .. SIGKILL of the runtime's process group (5)\n"
"      --sample-ms MS      process tree sampling period (200)\n"
"  -p, --port N            listen port (0 = ephemeral; needed for an external runtime)\n"
"      --max-message BYTES largest message accepted from the runtime (67108864)\n"
"      --runtime-log FILE  runtime stdout+stderr (default: inherited)\n"
"      --allow-errors      unexpected action errors do not fail the run\n"
"      --json              print the report as JSON\n"
"  -q, --quiet             no progress line\n"
"  -v, --verbose           log violations and errors as they happen (twice: lws too)\n"
"  -h, --help, --version\n"
"Exit status: 0 clean; 1 protocol violations, wrong or lost replies, or unexpected\n"
"action errors; 2 usage or setup failure (runtime never ready).\n";

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "genkit-loadtest: bad value for %s: '%s'\n", opt, val);
    return -1;
}

static int num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return bad(opt, s);
    *out = v;
    return 0;
}

static int count_or_secs(const char *opt, const char *s, uint64_t *n, double *secs)
{
    size_t l = strlen(s);
    char buf[64];
    double v;
    if (l && l < sizeof buf && s[l - 1] == 's') {
        memcpy(buf, s, l - 1);
        buf[l - 1] = '\0';
        if (num(opt, buf, 0, 1e7, &v))
            return -1;
        *secs = v;
        return 0;
    }
    if (!secs || !n) {
        if (num(opt, s, 0, 1e7, &v))
            return -1;
        *secs = v;
        return 0;
    }
    if (num(opt, s, 0, 1e15, &v) || v != floor(v))
        return bad(opt, s);
    *n = (uint64_t)v;
    return 0;
}

enum { O_MAXIN = 256, O_CHUNKS, O_CRASH, O_SEED, O_CTO, O_KTO, O_SAMPLE, O_MAXMSG,
       O_RTLOG, O_ALLOW, O_JSON, O_VERSION, O_IAS };

static int parse_args(int argc, char **argv, struct lt_opts *o)
{
    static const struct option lo[] = {
        {"scenario", 1, 0, 's'}, {"key", 1, 0, 'k'}, {"input", 1, 0, 'i'},
        {"concurrency", 1, 0, 'c'}, {"requests", 1, 0, 'n'}, {"duration", 1, 0, 'd'},
        {"warmup", 1, 0, 'w'}, {"rate", 1, 0, 'r'}, {"max-inflight", 1, 0, O_MAXIN},
        {"chunks", 1, 0, O_CHUNKS}, {"crash-ratio", 1, 0, O_CRASH}, {"seed", 1, 0, O_SEED},
        {"timeout", 1, 0, 't'}, {"connect-timeout", 1, 0, O_CTO},
        {"kill-timeout", 1, 0, O_KTO}, {"sample-ms", 1, 0, O_SAMPLE}, {"port", 1, 0, 'p'},
        {"max-message", 1, 0, O_MAXMSG}, {"runtime-log", 1, 0, O_RTLOG},
        {"allow-errors", 0, 0, O_ALLOW}, {"input-after-state", 0, 0, O_IAS}, {"json", 0, 0, O_JSON}, {"quiet", 0, 0, 'q'},
        {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'}, {"version", 0, 0, O_VERSION},
        {0, 0, 0, 0},
    };
    double v;
    int c;
    while ((c = getopt_long(argc, argv, "+s:k:i:c:n:d:w:r:t:p:qvh", lo, NULL)) != -1) {
        const char *name = argv[optind - 1];
        switch (c) {
        case 's': o->scenario = optarg; break;
        case 'k': o->key = optarg; break;
        case 'i': o->input = optarg; break;
        case 'c': if (num(name, optarg, 1, 100000, &v)) return -1; o->concurrency = (unsigned)v; break;
        case 'n': if (num(name, optarg, 1, 1e15, &v)) return -1; o->requests = (uint64_t)v; break;
        case 'd': if (count_or_secs(name, optarg, NULL, &o->duration_s) || o->duration_s <= 0)
                      return bad(name, optarg);
                  break;
        case 'w': if (count_or_secs(name, optarg, &o->warmup_n, &o->warmup_s)) return -1; break;
        case 'r': if (num(name, optarg, 0.001, 1e7, &o->rate)) return -1; break;
        case O_MAXIN: if (num(name, optarg, 1, 1000000, &v)) return -1; o->max_inflight = (unsigned)v; break;
        case O_CHUNKS: if (num(name, optarg, 0, 10000000, &v)) return -1; o->chunks = (unsigned)v; break;
        case O_CRASH: if (num(name, optarg, 0, 1, &o->crash_ratio)) return -1; break;
        case O_SEED: if (num(name, optarg, 0, 1e18, &v)) return -1; o->seed = (uint64_t)v; break;
        case 't': if (num(name, optarg, 0, 1e6, &o->timeout_s)) return -1; break;
        case O_CTO: if (num(name, optarg, 0.1, 1e6, &o->connect_timeout_s)) return -1; break;
        case O_KTO: if (num(name, optarg, 0, 1e4, &o->kill_timeout_s)) return -1; break;
        case O_SAMPLE: if (num(name, optarg, 10, 60000, &v)) return -1; o->sample_s = v / 1e3; break;
        case 'p': if (num(name, optarg, 0, 65535, &v)) return -1; o->port = (int)v; break;
        case O_MAXMSG: if (num(name, optarg, 1024, 1 << 30, &v)) return -1; o->max_message = (size_t)v; break;
        case O_RTLOG: o->runtime_log = optarg; break;
        case O_ALLOW: o->allow_errors = true; break;
        case O_IAS: o->input_after_state = true; break;
        case O_JSON: o->json = true; break;
        case 'q': o->quiet = true; break;
        case 'v': o->verbose++; break;
        case 'h': fputs(usage, stdout); exit(0);
        case O_VERSION: puts("genkit-loadtest " GK_VERSION); exit(0);
        default: fputs(usage, stderr); return -1;
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind - 1], "--") != 0) {
            fprintf(stderr, "genkit-loadtest: unexpected argument '%s' (runtime command goes after --)\n",
                    argv[optind]);
            return -1;
        }
        o->cmd = &argv[optind];
    }
    if (!o->cmd && !o->port) {
        fprintf(stderr, "genkit-loadtest: give a runtime command after --, or --port for an external runtime\n");
        return -1;
    }
    if (o->requests && o->duration_s > 0) {
        fprintf(stderr, "genkit-loadtest: --requests and --duration exclude each other\n");
        return -1;
    }
    return 0;
}

/* --input @FILE: the file's contents, at most `max` bytes. */
static char *read_input_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "genkit-loadtest: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > max) {
                fprintf(stderr, "genkit-loadtest: %s: larger than --max-message\n", path);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        if (!r)
            break;
        n += r;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* ---- wiring ---- */

struct app {
    struct lt_opts o;
    struct lt *lt;
    struct srv srv;
    struct ptree pt;
    pid_t child;
    bool progress, have_s0, have_s1;
    struct ptree_sample s0, s1;
    uint64_t t_s0, t_s1;
};

static void app_root(struct app *a)
{
    if (a->pt.root <= 0 && a->lt->runtime_pid > 0 && a->lt->runtime_pid < 1 << 30)
        a->pt.root = (pid_t)a->lt->runtime_pid;
}

static void on_measure(void *ctx, bool start)
{
    struct app *a = ctx;
    app_root(a);
    struct ptree_sample *s = start ? &a->s0 : &a->s1;
    if (ptree_sample(&a->pt, s) == 0) {
        if (start) {
            a->have_s0 = true;
            a->t_s0 = mono_ns(NULL);
        } else {
            a->have_s1 = true;
            a->t_s1 = mono_ns(NULL);
        }
    }
}

static void on_sample(void *ctx)
{
    struct app *a = ctx;
    struct ptree_sample s;
    app_root(a);
    if (a->child > 0) {
        ptree_reap(&a->pt);
        if (a->pt.root_exited && !a->lt->done) {
            snprintf(a->lt->err, sizeof a->lt->err, "runtime exited early");
            if (!a->lt->st.sent && !a->lt->ready)
                a->lt->fatal = 1;
            lt_disconnected(a->lt);
            a->lt->done = true;
            srv_stop(&a->srv);
        }
    }
    ptree_sample(&a->pt, &s);
}

static void on_progress(void *ctx)
{
    struct app *a = ctx;
    if (a->progress && a->lt->ready)
        report_progress(stderr, a->lt, mono_ns(NULL));
}

static double tv_us(struct timeval tv) { return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec; }

int main(int argc, char **argv)
{
    static struct app app; /* big: histograms */
    struct app *a = &app;
    char err[256] = "";
    lt_opts_defaults(&a->o);
    if (parse_args(argc, argv, &a->o))
        return 2;
    char *input_file = NULL;
    if (a->o.input && a->o.input[0] == '@') {
        input_file = read_input_file(a->o.input + 1, a->o.max_message);
        if (!input_file)
            return 2;
        a->o.input = input_file;
    }
    const struct scenario *sc = scenario_find(a->o.scenario);
    if (!sc) {
        fprintf(stderr, "genkit-loadtest: unknown scenario '%s'\n", a->o.scenario);
        return 2;
    }
    if (!a->o.chunks)
        a->o.chunks = strcmp(sc->name, "bidi") == 0 ? 10 : 100;
    lws_set_log_level(a->o.verbose > 1 ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);

    a->lt = lt_new(&a->o, sc, mono_ns, NULL, err, sizeof err);
    if (!a->lt) {
        fprintf(stderr, "genkit-loadtest: %s\n", err);
        return 2;
    }
    a->lt->on_measure = on_measure;
    a->lt->measure_ctx = a;
    if (srv_init(&a->srv, a->lt, a->o.port, a->o.max_message, err, sizeof err)) {
        fprintf(stderr, "genkit-loadtest: %s\n", err);
        lt_free(a->lt);
        return 2;
    }
    g_ctx = a->srv.ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (a->o.cmd) {
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d", a->srv.port);
        prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the runtime stay countable */
        a->child = child_spawn(a->o.cmd, url, a->o.runtime_log, err, sizeof err);
        if (a->child < 0) {
            fprintf(stderr, "genkit-loadtest: %s\n", err);
            srv_fini(&a->srv);
            lt_free(a->lt);
            return 2;
        }
        ptree_init(&a->pt, a->child, true);
    } else {
        ptree_init(&a->pt, 0, false);
        if (!a->o.quiet)
            fprintf(stderr, "genkit-loadtest: waiting for a runtime at ws://127.0.0.1:%d\n", a->srv.port);
    }
    a->progress = !a->o.quiet && isatty(STDERR_FILENO);
    a->srv.signalled = &g_signalled;
    a->srv.sample_s = a->o.sample_s;
    a->srv.on_sample = on_sample;
    a->srv.on_progress = on_progress;
    a->srv.cb_ctx = a;

    srv_run(&a->srv);

    struct rt_usage u;
    memset(&u, 0, sizeof u);
    u.interrupted = g_signalled && !a->lt->done;
    if (u.interrupted)
        snprintf(a->lt->err, sizeof a->lt->err, "interrupted");
    a->lt->done = true;
    if (!a->have_s1 && a->have_s0)
        on_measure(a, false);
    struct ptree_sample last;
    app_root(a);
    ptree_sample(&a->pt, &last);
    if (a->child > 0)
        u.killed = child_stop(a->child, &a->pt, a->o.kill_timeout_s) == 1;
    srv_fini(&a->srv);
    g_ctx = NULL;
    if (a->progress)
        report_progress_clear(stderr);

    u.pid = a->child > 0 ? a->child : (long)a->pt.root;
    u.spawned = a->child > 0;
    u.connect_s = a->lt->t_ready ? (double)(a->lt->t_ready - a->lt->t_start) / 1e9 : -1;
    if (a->have_s0 && a->have_s1) {
        u.window_valid = true;
        u.win_user_us = a->s1.user_us - a->s0.user_us;
        u.win_sys_us = a->s1.sys_us - a->s0.sys_us;
        u.win_cpu_us = a->s1.cpu_us - a->s0.cpu_us;
        ptree_window(&a->s0, &a->s1, u.win_by_name, &u.win_n_names);
        u.win_s = (double)(a->t_s1 - a->t_s0) / 1e9;
    }
    if (a->pt.root_exited) {
        u.exited = true;
        u.exit_status = a->pt.root_status;
        u.total_valid = true;
        u.total_user_us = a->pt.reaped_user_us;
        u.total_sys_us = a->pt.reaped_sys_us;
        u.maxrss_kb = (uint64_t)a->pt.root_ru.ru_maxrss;
    }
    u.peak_rss_kb = a->pt.peak_rss_kb;
    u.peak_hwm_kb = a->pt.peak_hwm_kb;
    u.peak_nproc = a->pt.peak_nproc;
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    u.self_user_us = tv_us(self.ru_utime);
    u.self_sys_us = tv_us(self.ru_stime);

    if (a->lt->fatal)
        fprintf(stderr, "genkit-loadtest: %s\n", a->lt->err);
    if (a->o.json)
        report_json(stdout, a->lt, &u);
    else
        report_text(stdout, a->lt, &u);
    fflush(stdout);
    int rc = lt_verdict(a->lt);
    lt_free(a->lt);
    free(input_file);
    return rc;
}
