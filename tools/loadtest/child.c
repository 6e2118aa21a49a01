/* Runtime process spawning and termination: see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void mark_all_cloexec(void)
{
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

pid_t child_spawn(char **argv, const char *url, const char *log_path, char *err, size_t errlen)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe2: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int e = 0;
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                sigaction(s, &sa, NULL); /* lws set SIGPIPE to ignored */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        mark_all_cloexec();
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
                e = errno;
                goto fail;
            }
        }
        if (setenv("GENKIT_REFLECTION_V2_SERVER", url, 1) || setenv("GENKIT_ENV", "dev", 0)) {
            e = errno;
            goto fail;
        }
        execvp(argv[0], argv);
        e = errno;
    fail:
        (void)!write(pfd[1], &e, sizeof e);
        _exit(127);
    }
    setpgid(pid, pid); /* both sides: no race with an early kill(-pid) */
    close(pfd[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(pfd[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == (ssize_t)sizeof e) {
        snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(e));
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static int wait_root(struct ptree *t, double secs)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    for (double waited = 0; waited <= secs; waited += 0.005) {
        ptree_reap(t);
        if (t->root_exited)
            return 1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

int child_stop(pid_t pid, struct ptree *t, double timeout_s)
{
    ptree_reap(t);
    if (t->root_exited) {
        kill(-pid, SIGKILL); /* leftovers of its group */
        ptree_reap(t);
        return 0;
    }
    kill(-pid, SIGTERM);
    if (wait_root(t, timeout_s)) {
        kill(-pid, SIGKILL);
        ptree_reap(t);
        return 0;
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    wait_root(t, 5.0);
    return 1;
}
