/* Spawning the runtime under test and stopping it again. */
#ifndef LT_CHILD_H
#define LT_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "proctree.h"

/* fork+exec argv in a new process group with GENKIT_REFLECTION_V2_SERVER=url
 * (and GENKIT_ENV=dev unless set), PR_SET_PDEATHSIG(SIGKILL), default signal
 * dispositions, no inherited fds beyond 0-2.  stdout/stderr go to log_path
 * when given.  Returns the pid, or -1 with err set (exec failure included). */
pid_t child_spawn(char **argv, const char *url, const char *log_path, char *err, size_t errlen);

/* SIGTERM the child's process group, reap for up to timeout_s, then SIGKILL
 * it and reap.  Returns 1 if SIGKILL was needed, 0 otherwise. */
int child_stop(pid_t pid, struct ptree *t, double timeout_s);

#endif
