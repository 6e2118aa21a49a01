/* CPU time and memory of a process tree, from /proc.
 *
 * The tree is `root` and all its descendants, plus (when we are a child
 * subreaper) orphans re-parented to us.  CPU of a live member is its
 * utime+stime plus cutime+cstime (its reaped children, e.g. crashed
 * workers); processes we reap ourselves are added from wait4() rusage.
 * Sampling is not atomic across processes, so the CPU sums are kept
 * monotonic.  user_us/sys_us come from /proc/PID/stat, whose resolution is
 * one clock tick (10 ms); cpu_us, their sum, takes a live member's run time
 * from /proc/PID/task/TID/schedstat (nanoseconds) where that is available,
 * so that short windows are measured too. */
#ifndef LT_PROCTREE_H
#define LT_PROCTREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The tree's CPU by process name (comm, at most 15 characters): live
 * members' own run time and how often they were put on a CPU (schedstat's
 * run count, about one per wake-up). Reaped children and processes we
 * reaped ourselves go into PTREE_REAPED, whatever their name was. */
#define PTREE_MAX_NAMES 8
#define PTREE_REAPED "(reaped)"
struct ptree_name {
    char name[16];
    double cpu_us;          /* cumulative */
    uint64_t runs;          /* cumulative times scheduled (0 without schedstat) */
    unsigned nproc;         /* live members of that name now */
};

struct ptree_sample {
    double user_us, sys_us; /* cumulative, whole tree, tick resolution */
    double cpu_us;          /* cumulative user + sys, whole tree, precise */
    uint64_t rss_kb;        /* sum of members' RSS now */
    unsigned nproc;
    struct ptree_name by_name[PTREE_MAX_NAMES]; /* last one: "(other)" */
    unsigned n_names;
};

struct ptree {
    pid_t root;             /* 0: unknown yet */
    bool orphans;           /* count processes re-parented to us */
    long tck;
    long page_kb;
    /* peaks over all samples */
    uint64_t peak_rss_kb, peak_hwm_kb;
    unsigned peak_nproc;
    double last_cpu_us;     /* monotonic guard of user_us + sys_us */
    double last_precise_us; /* and of cpu_us */
    double reaped_user_us, reaped_sys_us; /* wait4 of processes we reaped */
    /* the root, once reaped by us */
    bool root_exited;
    int root_status;
    struct rusage root_ru;
};

void ptree_init(struct ptree *t, pid_t root, bool orphans);
/* Scan /proc; 0 on success. */
int ptree_sample(struct ptree *t, struct ptree_sample *out);
/* Per-name CPU and runs between two samples: out gets s1's names, each
 * less what s0 had under the same name (nproc as in s1). */
void ptree_window(const struct ptree_sample *s0, const struct ptree_sample *s1,
                  struct ptree_name out[PTREE_MAX_NAMES], unsigned *n);
/* Reap exited children (non-blocking); returns how many. */
int ptree_reap(struct ptree *t);

#endif
