/* Process tree CPU / RSS sampling: see proctree.h. */
#include "proctree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 65536

struct pinfo {
    char comm[16];
    pid_t pid, ppid;
    unsigned long long ut, st, cut, cst;
    long long rss_pages;
    bool member;
};

void ptree_init(struct ptree *t, pid_t root, bool orphans)
{
    memset(t, 0, sizeof *t);
    t->root = root;
    t->orphans = orphans;
    t->tck = sysconf(_SC_CLK_TCK);
    if (t->tck <= 0)
        t->tck = 100;
    long ps = sysconf(_SC_PAGESIZE);
    t->page_kb = ps > 0 ? ps / 1024 : 4;
}

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static bool read_stat(pid_t pid, struct pinfo *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return false;
    char *s = strrchr(buf, ')'); /* comm may contain anything but ')' last */
    char *o = strchr(buf, '(');
    if (!s || !o || o > s)
        return false;
    size_t cl = (size_t)(s - o - 1);
    if (cl >= sizeof p->comm)
        cl = sizeof p->comm - 1;
    memcpy(p->comm, o + 1, cl);
    p->comm[cl] = '\0';
    char state;
    int ppid;
    /* fields 3.. after ')' : state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice
     * num_threads itrealvalue starttime vsize rss */
    if (sscanf(s + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu "
                      "%*d %*d %*d %*d %*u %*u %lld",
               &state, &ppid, &p->ut, &p->st, &p->cut, &p->cst, &p->rss_pages) != 7)
        return false;
    p->pid = pid;
    p->ppid = ppid;
    return true;
}

/* Run time of all pid's threads in microseconds (schedstat: ns on a CPU,
 * ns waiting, times run), and in *runs how often they were put on a CPU;
 * -1 when the kernel has no schedstat.  Threads that have exited are not
 * listed any more: the caller takes the larger of this and the tick
 * counters, which do include them. */
static double read_run_us(pid_t pid, uint64_t *runs)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double us = 0;
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
        unsigned long long ns, wait, n;
        if (read_small(path, buf, sizeof buf) > 0 &&
            sscanf(buf, "%llu %llu %llu", &ns, &wait, &n) == 3) {
            us += (double)ns / 1e3;
            *runs += n;
            any = true;
        }
    }
    closedir(d);
    return any ? us : -1;
}

static uint64_t read_hwm_kb(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return 0;
    char *l = strstr(buf, "\nVmHWM:");
    unsigned long long kb = 0;
    if (l && sscanf(l + 7, " %llu", &kb) == 1)
        return kb;
    return 0;
}

/* The bucket for name, made if there is room; the last one collects the
 * rest. */
static struct ptree_name *bucket(struct ptree_sample *out, const char *name)
{
    for (unsigned i = 0; i < out->n_names; i++)
        if (!strcmp(out->by_name[i].name, name))
            return &out->by_name[i];
    if (out->n_names == PTREE_MAX_NAMES - 1)
        name = "(other)";
    else if (out->n_names == PTREE_MAX_NAMES)
        return &out->by_name[PTREE_MAX_NAMES - 1];
    struct ptree_name *b = &out->by_name[out->n_names++];
    snprintf(b->name, sizeof b->name, "%s", name);
    return b;
}

int ptree_sample(struct ptree *t, struct ptree_sample *out)
{
    memset(out, 0, sizeof *out);
    out->user_us = t->reaped_user_us;
    out->sys_us = t->reaped_sys_us;
    out->cpu_us = t->reaped_user_us + t->reaped_sys_us;
    bucket(out, PTREE_REAPED)->cpu_us = out->cpu_us;
    pid_t self = getpid();
    if (t->root <= 0 && !t->orphans)
        return -1;
    DIR *d = opendir("/proc"); /* glibc opens it O_CLOEXEC */
    if (!d)
        return -1;
    size_t cap = 256, n = 0;
    struct pinfo *ps = malloc(cap * sizeof *ps);
    struct dirent *e;
    while (ps && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (n == cap) {
            if (cap >= MAX_PROCS)
                break;
            struct pinfo *np = realloc(ps, cap * 2 * sizeof *ps);
            if (!np)
                break;
            ps = np;
            cap *= 2;
        }
        pid_t pid = (pid_t)atoi(e->d_name);
        if (read_stat(pid, &ps[n])) {
            ps[n].member = pid == t->root || (t->orphans && ps[n].ppid == self && pid != self);
            n++;
        }
    }
    closedir(d);
    if (!ps)
        return -1;
    /* propagate membership down the tree until nothing changes */
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            if (ps[i].member)
                continue;
            for (size_t j = 0; j < n; j++)
                if (ps[j].member && ps[j].pid == ps[i].ppid) {
                    ps[i].member = changed = true;
                    break;
                }
        }
    }
    double us_per_tick = 1e6 / (double)t->tck;
    for (size_t i = 0; i < n; i++) {
        if (!ps[i].member)
            continue;
        out->nproc++;
        out->user_us += (double)(ps[i].ut + ps[i].cut) * us_per_tick;
        out->sys_us += (double)(ps[i].st + ps[i].cst) * us_per_tick;
        double ticks_us = (double)(ps[i].ut + ps[i].st) * us_per_tick;
        uint64_t runs = 0;
        double run_us = read_run_us(ps[i].pid, &runs);
        double own_us = run_us > ticks_us ? run_us : ticks_us;
        /* Reaped children (cutime, cstime) exist in ticks only. */
        double reaped_us = (double)(ps[i].cut + ps[i].cst) * us_per_tick;
        out->cpu_us += own_us + reaped_us;
        struct ptree_name *b = bucket(out, ps[i].comm);
        b->cpu_us += own_us;
        b->runs += runs;
        b->nproc++;
        bucket(out, PTREE_REAPED)->cpu_us += reaped_us;
        if (ps[i].rss_pages > 0)
            out->rss_kb += (uint64_t)ps[i].rss_pages * (uint64_t)t->page_kb;
        uint64_t hwm = read_hwm_kb(ps[i].pid);
        if (hwm > t->peak_hwm_kb)
            t->peak_hwm_kb = hwm;
    }
    free(ps);
    /* monotonic guard: a member reaped between two reads may vanish */
    double cpu = out->user_us + out->sys_us;
    if (cpu < t->last_cpu_us) {
        double scale = t->last_cpu_us - cpu;
        out->user_us += scale; /* attribute the dip to user time */
        cpu = t->last_cpu_us;
    }
    t->last_cpu_us = cpu;
    if (out->cpu_us < t->last_precise_us)
        out->cpu_us = t->last_precise_us;
    t->last_precise_us = out->cpu_us;
    if (out->rss_kb > t->peak_rss_kb)
        t->peak_rss_kb = out->rss_kb;
    if (out->nproc > t->peak_nproc)
        t->peak_nproc = out->nproc;
    return 0;
}

void ptree_window(const struct ptree_sample *s0, const struct ptree_sample *s1,
                  struct ptree_name out[PTREE_MAX_NAMES], unsigned *n)
{
    *n = s1->n_names;
    for (unsigned i = 0; i < s1->n_names; i++) {
        out[i] = s1->by_name[i];
        for (unsigned j = 0; j < s0->n_names; j++)
            if (!strcmp(s0->by_name[j].name, out[i].name)) {
                out[i].cpu_us -= s0->by_name[j].cpu_us;
                out[i].runs = out[i].runs >= s0->by_name[j].runs
                                  ? out[i].runs - s0->by_name[j].runs : 0;
                break;
            }
    }
}

static double tv_us(struct timeval tv) { return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec; }

int ptree_reap(struct ptree *t)
{
    int n = 0;
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, WNOHANG, &ru);
        if (pid <= 0)
            break;
        n++;
        t->reaped_user_us += tv_us(ru.ru_utime);
        t->reaped_sys_us += tv_us(ru.ru_stime);
        if (pid == t->root) {
            t->root_exited = true;
            t->root_status = status;
            t->root_ru = ru;
        }
    }
    return n;
}
