/* Progress line and final report (text or JSON). */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lt.h"
#include "proctree.h"

struct rt_usage {
    long pid;                  /* 0: unknown */
    bool spawned, exited, killed, interrupted;
    int exit_status;           /* wait status */
    bool window_valid;         /* measured-window CPU below is meaningful */
    double win_user_us, win_sys_us, win_s; /* user/sys: tick resolution */
    double win_cpu_us;         /* user + sys over the window, precise */
    struct ptree_name win_by_name[PTREE_MAX_NAMES]; /* the same by process
                                  name (cpu_us, runs: over the window) */
    unsigned win_n_names;
    bool total_valid;          /* whole-life CPU from wait4 */
    double total_user_us, total_sys_us;
    uint64_t peak_rss_kb, peak_hwm_kb, maxrss_kb;
    unsigned peak_nproc;
    double self_user_us, self_sys_us; /* genkit-loadtest itself */
    double connect_s;          /* until ready, -1 unknown */
};

void report_progress(FILE *f, const struct lt *lt, uint64_t now);
void report_progress_clear(FILE *f);
void report_text(FILE *f, const struct lt *lt, const struct rt_usage *u);
void report_json(FILE *f, const struct lt *lt, const struct rt_usage *u);

#endif
