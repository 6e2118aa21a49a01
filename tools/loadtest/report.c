/* Human and machine-readable reports: see report.h. */
#include "report.h"

#include <jansson.h>
#include <string.h>
#include <sys/wait.h>

static const char *const status_names[LT_NSTATUS + 1] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED", "OTHER",
};

static double us(uint64_t ns) { return (double)ns / 1e3; }

static double elapsed_s(const struct lt *lt)
{
    const struct lt_stats *s = &lt->st;
    if (!s->measured_done || s->t_measure_end <= s->t_measure_start)
        return 0;
    return (double)(s->t_measure_end - s->t_measure_start) / 1e9;
}

static const char *mode(const struct lt *lt)
{
    if (strcmp(lt->sc->name, "cancel") == 0)
        return "sequential";
    return lt->o->rate > 0 ? "open" : "closed";
}

void report_progress(FILE *f, const struct lt *lt, uint64_t now)
{
    const struct lt_stats *s = &lt->st;
    double t = (double)(now - lt->t_start) / 1e9;
    double el = lt->measuring && now > s->t_measure_start
                    ? (double)(now - s->t_measure_start) / 1e9 : elapsed_s(lt);
    fprintf(f, "\r[%6.1fs] done %llu  rate %.0f/s  errors %llu  violations %llu  lost %llu  p99 %.1f us\033[K",
            t, (unsigned long long)(s->ok + s->wrong + s->expected_errors + s->unexpected_errors),
            el > 0 ? (double)s->measured_done / el : 0.0,
            (unsigned long long)s->unexpected_errors, (unsigned long long)lt_violations(lt),
            (unsigned long long)s->lost, us(hist_pct(&s->lat, 99)));
    fflush(f);
}

void report_progress_clear(FILE *f)
{
    fputs("\r\033[K", f);
    fflush(f);
}

static void text_hist(FILE *f, const char *name, const struct hist *h)
{
    if (!h->count) {
        fprintf(f, "%-22s no samples\n", name);
        return;
    }
    fprintf(f, "%-22s n %llu  min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f (us)\n",
            name, (unsigned long long)h->count, us(h->min), us(hist_pct(h, 50)),
            us(hist_pct(h, 90)), us(hist_pct(h, 99)), us(hist_pct(h, 99.9)), us(h->max),
            hist_mean(h) / 1e3);
}

static double cpu_per_req(const struct lt *lt, const struct rt_usage *u)
{
    if (u->window_valid && lt->st.measured_done)
        return u->win_cpu_us / (double)lt->st.measured_done;
    return -1;
}

void report_text(FILE *f, const struct lt *lt, const struct rt_usage *u)
{
    const struct lt_opts *o = lt->o;
    const struct lt_stats *s = &lt->st;
    fprintf(f, "genkit-loadtest: scenario %s, key %s, %s loop", lt->sc->name,
            o->key ? o->key : lt->sc->default_key, mode(lt));
    if (o->rate > 0)
        fprintf(f, ", rate %.1f/s (max in flight %u)", o->rate, o->max_inflight);
    else if (strcmp(mode(lt), "closed") == 0)
        fprintf(f, ", concurrency %u", o->concurrency);
    fputc('\n', f);
    if (lt->err[0])
        fprintf(f, "note: %s\n", lt->err);
    if (u->pid)
        fprintf(f, "runtime: pid %ld%s%s%s, ready after %.2f s\n", u->pid,
                lt->runtime_name[0] ? " (" : "", lt->runtime_name,
                lt->runtime_name[0] ? ")" : "", u->connect_s);
    fprintf(f, "requests: %llu sent, %llu measured, %llu ok, %llu wrong, %llu expected errors, "
               "%llu unexpected errors, %llu lost (%llu timed out), %llu late",
            (unsigned long long)s->sent, (unsigned long long)s->measured_done,
            (unsigned long long)s->ok, (unsigned long long)s->wrong,
            (unsigned long long)s->expected_errors, (unsigned long long)s->unexpected_errors,
            (unsigned long long)s->lost, (unsigned long long)s->timeouts,
            (unsigned long long)s->late);
    if (s->abandoned)
        fprintf(f, ", %llu abandoned", (unsigned long long)s->abandoned);
    if (s->disconnects)
        fprintf(f, ", %llu disconnects", (unsigned long long)s->disconnects);
    fputc('\n', f);
    double el = elapsed_s(lt);
    fprintf(f, "throughput: %.1f req/s (%llu in %.3f s)\n", el > 0 ? (double)s->measured_done / el : 0.0,
            (unsigned long long)s->measured_done, el);
    text_hist(f, "latency:", &s->lat);
    for (unsigned i = 0; i < s->n_xh; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s:", s->xh_name[i]);
        text_hist(f, name, &s->xh[i]);
    }
    if (s->n_xc) {
        fputs("counters:", f);
        for (unsigned i = 0; i < s->n_xc; i++)
            fprintf(f, " %s %llu", s->xc_name[i], (unsigned long long)s->xc[i]);
        fputc('\n', f);
    }
    if (s->chunks && el > 0)
        fprintf(f, "chunks: %llu received, %.0f chunks/s\n", (unsigned long long)s->chunks,
                (double)s->chunks / el);
    fputs("errors by status:", f);
    bool any = false;
    for (int i = 0; i <= LT_NSTATUS; i++)
        if (s->status[i]) {
            fprintf(f, " %d %s: %llu;", i, status_names[i], (unsigned long long)s->status[i]);
            any = true;
        }
    for (unsigned i = 0; i < s->n_rpc_codes; i++) {
        fprintf(f, " rpc %lld: %llu;", s->rpc_code[i], (unsigned long long)s->rpc_code_n[i]);
        any = true;
    }
    if (s->rpc_code_other) {
        fprintf(f, " rpc other: %llu;", (unsigned long long)s->rpc_code_other);
        any = true;
    }
    fputs(any ? "\n" : " none\n", f);
    fprintf(f, "protocol violations: %llu", (unsigned long long)lt_violations(lt));
    for (int i = 0; i < V__COUNT; i++)
        if (s->viol[i])
            fprintf(f, " %s: %llu;", viol_name[i], (unsigned long long)s->viol[i]);
    fputc('\n', f);
    double per = cpu_per_req(lt, u);
    if (u->window_valid)
        fprintf(f, "runtime cpu (measured window %.3f s): %.0f us = %.1f%% of a core; %.1f us/request"
                   " (user %.0f us + sys %.0f us in clock ticks)\n",
                u->win_s, u->win_cpu_us, u->win_s > 0 ? u->win_cpu_us / u->win_s / 1e4 : 0.0,
                per, u->win_user_us, u->win_sys_us);
    if (u->window_valid && s->measured_done && u->win_n_names) {
        /* live names first, then what reaped processes used */
        fprintf(f, "runtime cpu by process, per request:");
        const char *sep = " ";
        for (int reaped = 0; reaped < 2; reaped++)
            for (unsigned i = 0; i < u->win_n_names; i++) {
                const struct ptree_name *b = &u->win_by_name[i];
                if ((b->nproc == 0) != (reaped == 1) || (reaped && b->cpu_us <= 0))
                    continue;
                fprintf(f, "%s%s %.1f us", sep, b->name, b->cpu_us / (double)s->measured_done);
                if (b->runs)
                    fprintf(f, ", scheduled %.2fx", (double)b->runs / (double)s->measured_done);
                if (b->nproc)
                    fprintf(f, " (%u process%s)", b->nproc, b->nproc == 1 ? "" : "es");
                sep = ", ";
            }
        fputc('\n', f);
    }
    if (u->total_valid)
        fprintf(f, "runtime cpu (whole life, wait4): user %.0f us + sys %.0f us\n",
                u->total_user_us, u->total_sys_us);
    if (u->pid)
        fprintf(f, "runtime memory: peak tree RSS %llu KiB (%u processes at most), largest VmHWM %llu KiB, rusage maxrss %llu KiB\n",
                (unsigned long long)u->peak_rss_kb, u->peak_nproc,
                (unsigned long long)u->peak_hwm_kb, (unsigned long long)u->maxrss_kb);
    if (u->spawned && u->exited)
        fprintf(f, "runtime exit: %s %d%s\n",
                WIFEXITED(u->exit_status) ? "status" : "signal",
                WIFEXITED(u->exit_status) ? WEXITSTATUS(u->exit_status) : WTERMSIG(u->exit_status),
                u->killed ? " (needed SIGKILL)" : "");
    fprintf(f, "loadtest cpu: user %.0f us + sys %.0f us\n", u->self_user_us, u->self_sys_us);
    int v = lt_verdict(lt);
    fprintf(f, "verdict: %s\n", v == 0 ? "PASS" : v == 1 ? "FAIL" : "ERROR");
}

static json_t *json_hist(const struct hist *h)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->count,
                     "min", h->count ? us(h->min) : 0.0, "mean", hist_mean(h) / 1e3,
                     "p50", us(hist_pct(h, 50)), "p90", us(hist_pct(h, 90)),
                     "p99", us(hist_pct(h, 99)), "p99_9", us(hist_pct(h, 99.9)),
                     "max", us(h->max), "p100", us(hist_pct(h, 100)));
}

void report_json(FILE *f, const struct lt *lt, const struct rt_usage *u)
{
    const struct lt_opts *o = lt->o;
    const struct lt_stats *s = &lt->st;
    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string(lt->sc->name));
    json_object_set_new(r, "key", json_string(o->key ? o->key : lt->sc->default_key));
    json_object_set_new(r, "mode", json_string(mode(lt)));
    json_object_set_new(r, "concurrency", json_integer(o->concurrency));
    json_object_set_new(r, "rate", o->rate > 0 ? json_real(o->rate) : json_null());
    if (lt->err[0])
        json_object_set_new(r, "note", json_string(lt->err));
    json_object_set_new(r, "requests", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "sent", (json_int_t)s->sent, "measured", (json_int_t)s->measured_done,
        "ok", (json_int_t)s->ok, "wrong", (json_int_t)s->wrong,
        "expected_errors", (json_int_t)s->expected_errors,
        "unexpected_errors", (json_int_t)s->unexpected_errors,
        "lost", (json_int_t)s->lost, "timeouts", (json_int_t)s->timeouts,
        "late", (json_int_t)s->late, "abandoned", (json_int_t)s->abandoned,
        "disconnects", (json_int_t)s->disconnects));
    double el = elapsed_s(lt);
    json_object_set_new(r, "elapsed_s", json_real(el));
    json_object_set_new(r, "throughput_rps", json_real(el > 0 ? (double)s->measured_done / el : 0));
    json_object_set_new(r, "latency_us", json_hist(&s->lat));
    json_t *x = json_object();
    for (unsigned i = 0; i < s->n_xh; i++)
        json_object_set_new(x, s->xh_name[i], json_hist(&s->xh[i]));
    for (unsigned i = 0; i < s->n_xc; i++)
        json_object_set_new(x, s->xc_name[i], json_integer((json_int_t)s->xc[i]));
    json_object_set_new(x, "chunks", json_integer((json_int_t)s->chunks));
    json_object_set_new(x, "chunks_per_s", json_real(el > 0 ? (double)s->chunks / el : 0));
    json_object_set_new(r, "scenario_stats", x);
    json_t *bys = json_object(), *byr = json_object();
    for (int i = 0; i <= LT_NSTATUS; i++)
        if (s->status[i]) {
            char k[8];
            snprintf(k, sizeof k, "%d", i & 0xff);
            json_object_set_new(bys, i == LT_NSTATUS ? "other" : k, json_integer((json_int_t)s->status[i]));
        }
    for (unsigned i = 0; i < s->n_rpc_codes; i++) {
        char k[24];
        snprintf(k, sizeof k, "%lld", s->rpc_code[i]);
        json_object_set_new(byr, k, json_integer((json_int_t)s->rpc_code_n[i]));
    }
    if (s->rpc_code_other)
        json_object_set_new(byr, "other", json_integer((json_int_t)s->rpc_code_other));
    json_object_set_new(r, "errors", json_pack("{s:I,s:o,s:o}", "total",
        (json_int_t)(s->expected_errors + s->unexpected_errors), "by_status", bys, "by_rpc_code", byr));
    json_t *v = json_object();
    for (int i = 0; i < V__COUNT; i++)
        if (s->viol[i])
            json_object_set_new(v, viol_name[i], json_integer((json_int_t)s->viol[i]));
    json_object_set_new(r, "violations", json_pack("{s:I,s:o}", "total",
        (json_int_t)lt_violations(lt), "by_kind", v));
    json_t *rt = json_object();
    json_object_set_new(rt, "pid", u->pid ? json_integer(u->pid) : json_null());
    json_object_set_new(rt, "spawned", json_boolean(u->spawned));
    json_object_set_new(rt, "ready_s", json_real(u->connect_s));
    double per = cpu_per_req(lt, u);
    if (u->window_valid) {
        json_object_set_new(rt, "window_s", json_real(u->win_s));
        json_object_set_new(rt, "cpu_us", json_real(u->win_cpu_us));
        json_object_set_new(rt, "cpu_user_us", json_real(u->win_user_us));
        json_object_set_new(rt, "cpu_sys_us", json_real(u->win_sys_us));
        json_object_set_new(rt, "cpu_us_per_request", per >= 0 ? json_real(per) : json_null());
        /* by process name: {"genkit-worker": {cpu_us, runs, processes}, ...} */
        json_t *by = json_object();
        for (unsigned i = 0; i < u->win_n_names; i++) {
            const struct ptree_name *b = &u->win_by_name[i];
            json_t *e = json_object();
            json_object_set_new(e, "cpu_us", json_real(b->cpu_us));
            json_object_set_new(e, "runs", json_integer((json_int_t)b->runs));
            json_object_set_new(e, "processes", json_integer(b->nproc));
            json_object_set_new(by, b->name, e);
        }
        json_object_set_new(rt, "by_process", by);
    }
    if (u->total_valid) {
        json_object_set_new(rt, "total_cpu_user_us", json_real(u->total_user_us));
        json_object_set_new(rt, "total_cpu_sys_us", json_real(u->total_sys_us));
    }
    json_object_set_new(rt, "peak_tree_rss_kb", json_integer((json_int_t)u->peak_rss_kb));
    json_object_set_new(rt, "peak_processes", json_integer(u->peak_nproc));
    json_object_set_new(rt, "peak_process_hwm_kb", json_integer((json_int_t)u->peak_hwm_kb));
    json_object_set_new(rt, "rusage_maxrss_kb", json_integer((json_int_t)u->maxrss_kb));
    if (u->spawned && u->exited) {
        json_object_set_new(rt, "exit_code", WIFEXITED(u->exit_status) ?
                            json_integer(WEXITSTATUS(u->exit_status)) : json_null());
        json_object_set_new(rt, "exit_signal", WIFSIGNALED(u->exit_status) ?
                            json_integer(WTERMSIG(u->exit_status)) : json_null());
        json_object_set_new(rt, "killed", json_boolean(u->killed));
    }
    json_object_set_new(r, "runtime", rt);
    json_object_set_new(r, "loadtest_cpu_us", json_pack("{s:f,s:f}", "user", u->self_user_us,
                                                        "sys", u->self_sys_us));
    json_object_set_new(r, "interrupted", json_boolean(u->interrupted));
    json_object_set_new(r, "exit_code", json_integer(lt_verdict(lt)));
    json_dumpf(r, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(r);
}
