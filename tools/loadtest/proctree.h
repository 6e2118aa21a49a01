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

struct ptree_sample {
    double user_us, sys_us; /* cumulative, whole tree, tick resolution */
    double cpu_us;          /* cumulative user + sys, whole tree, precise */
    uint64_t rss_kb;        /* sum of members' RSS now */
    unsigned nproc;
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
/* Reap exited children (non-blocking); returns how many. */
int ptree_reap(struct ptree *t);

#endif
