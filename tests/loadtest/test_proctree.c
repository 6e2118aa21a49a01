/* Process tree CPU: a member that has used a few milliseconds of CPU must
 * show them, although /proc/PID/stat counts in 10 ms clock ticks (the
 * smoke run of 1000 echoes takes ~30 ms and read 0 us/request that way). */
#include "check.h"
#include "proctree.h"

#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BURN_NS (3 * 1000 * 1000LL)

static long long cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burn BURN_NS of CPU, say so on the pipe, then wait to be killed. */
static void child(int wfd)
{
    long long start = cpu_ns();
    volatile uint64_t x = 0;
    while (cpu_ns() - start < BURN_NS)
        x++;
    (void)!write(wfd, "x", 1);
    for (;;)
        pause();
}

int main(void)
{
    if (access("/proc/self/schedstat", R_OK) != 0) {
        /* the sampler falls back to clock ticks, which this test is about */
        printf("skip: no /proc/PID/schedstat (CONFIG_SCHED_INFO)\n");
        return 77;
    }
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(p[1]);
    }
    CHECK(pid > 0);
    close(p[1]);
    char c;
    CHECK(read(p[0], &c, 1) == 1); /* the child has burnt its share */

    struct ptree t;
    struct ptree_sample s;
    ptree_init(&t, pid, false);
    CHECK(ptree_sample(&t, &s) == 0);
    CHECK_EQ_U(s.nproc, 1);
    /* at least what it burnt; under 9 ms with its start-up (ticks would
     * give 0 or 10000, never in between) */
    if (s.cpu_us < 3000 || s.cpu_us >= 9000) {
        fprintf(stderr, "cpu_us %.0f, want 3000..9000\n", s.cpu_us);
        check_failures++;
    }
    /* never below what the tick counters say */
    CHECK(s.cpu_us >= s.user_us + s.sys_us);
    /* by name: the child is a fork of this test, so it has our comm */
    const struct ptree_name *b = NULL;
    for (unsigned i = 0; i < s.n_names; i++)
        if (!strcmp(s.by_name[i].name, "test-loadtest-p"))
            b = &s.by_name[i];
    CHECK(b != NULL);
    if (b) {
        CHECK_EQ_U(b->nproc, 1);
        CHECK(b->cpu_us >= 3000 && b->cpu_us <= s.cpu_us);
        CHECK(b->runs >= 1);
    }
    /* monotonic from one sample to the next */
    struct ptree_sample s2;
    CHECK(ptree_sample(&t, &s2) == 0);
    CHECK(s2.cpu_us >= s.cpu_us);

    /* the window by name: s1 less s0 under the same name, new names as
     * they are, nproc from s1 */
    struct ptree_sample a = { .n_names = 2 }, z = { .n_names = 3 };
    snprintf(a.by_name[0].name, 16, "sv");
    a.by_name[0].cpu_us = 100, a.by_name[0].runs = 10;
    snprintf(a.by_name[1].name, 16, "wk");
    a.by_name[1].cpu_us = 50, a.by_name[1].runs = 5;
    snprintf(z.by_name[0].name, 16, "wk");
    z.by_name[0].cpu_us = 80, z.by_name[0].runs = 9, z.by_name[0].nproc = 2;
    snprintf(z.by_name[1].name, 16, "sv");
    z.by_name[1].cpu_us = 130, z.by_name[1].runs = 16, z.by_name[1].nproc = 1;
    snprintf(z.by_name[2].name, 16, "new");
    z.by_name[2].cpu_us = 7, z.by_name[2].runs = 1;
    struct ptree_name w[PTREE_MAX_NAMES];
    unsigned nw;
    ptree_window(&a, &z, w, &nw);
    CHECK_EQ_U(nw, 3);
    CHECK(!strcmp(w[0].name, "wk") && w[0].cpu_us == 30 && w[0].runs == 4 && w[0].nproc == 2);
    CHECK(!strcmp(w[1].name, "sv") && w[1].cpu_us == 30 && w[1].runs == 6 && w[1].nproc == 1);
    CHECK(!strcmp(w[2].name, "new") && w[2].cpu_us == 7 && w[2].runs == 1);

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_DONE();
}
