/*
 * wk.h - drive a genkit-worker over its IPC socket from a test, plus the
 * assertion macros of the worker tests.
 */
#ifndef GK_TEST_WK_H
#define GK_TEST_WK_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "codec.h"

extern int t_passed, t_failed;

#define T_FAIL(fmt, ...)                                                  \
	(t_failed++, fprintf(stderr, "%s:%d: FAIL: " fmt "\n", __FILE__,  \
			     __LINE__, __VA_ARGS__))

#define CHECK(cond)                                                       \
	((cond) ? (void)t_passed++ : (void)T_FAIL("%s", #cond))

#define CHECK_INT(a, b)                                                   \
	do {                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);       \
		if (a_ == b_)                                             \
			t_passed++;                                       \
		else                                                      \
			T_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_); \
	} while (0)

/* Bytes (p, n) equal to the C string s. */
#define CHECK_BYTES(p, n, s)                                              \
	do {                                                              \
		size_t n_ = (n), l_ = strlen(s);                          \
		if (n_ == l_ && memcmp((p), (s), l_) == 0)                \
			t_passed++;                                       \
		else                                                      \
			T_FAIL("%s == \"%s\": got %zu bytes \"%.*s\"", #p, \
			       (s), n_, (int)(n_ > 200 ? 200 : n_),       \
			       (const char *)(p));                        \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                       \
	do {                                                              \
		const char *h_ = (hay);                                   \
		if (h_ && strstr(h_, (needle)))                           \
			t_passed++;                                       \
		else                                                      \
			T_FAIL("\"%s\" contains \"%s\"", h_ ? h_ : "(null)", \
			       (needle));                                 \
	} while (0)

/* Generous: ASan builds on a noisy 2-core VM. */
#define WK_TIMEOUT_MS 20000

struct wk {
	pid_t pid;
	int fd;
	int pidfd;
	int exited;
	int status; /* waitpid status once exited */
	struct ipc_rbuf rb;
	struct ipc_wbuf wb;
};

/* Spawn genkit-worker with the demo plugin plus extra arguments
 * (NULL-terminated; plugin NULL = the demo). 0 or -1. */
int wk_spawn(struct wk *w, const char *plugin, const char *const *extra,
	     pid_t parent);
/* Spawn with the demo and read its Hello (returned; caller frees). */
Gkipc__FromWorker *wk_start(struct wk *w);
/* Write out everything queued in w->wb, reading meanwhile. 0 or -1. */
int wk_flush(struct wk *w);
/* Next message, or NULL on EOF, timeout or garbage (reason printed). */
Gkipc__FromWorker *wk_recv(struct wk *w, int timeout_ms);
/* Wait for the worker to exit. 1: exited (w->status); 0: timeout. */
int wk_wait_exit(struct wk *w, int timeout_ms);
/* Poll (5 ms steps) until the worker catches SIGTERM. 1 or 0 (timeout). */
int wk_wait_catches_sigterm(struct wk *w, int timeout_ms);
/* SIGKILL if still alive, reap, free. */
void wk_stop(struct wk *w);

/* A RunRequest with fixed trace/span ids; queue it and flush. 0 or -1. */
void wk_req_init(Gkipc__RunRequest *r, uint64_t run_id, const char *key,
		 const void *input, size_t len);
int wk_send_run(struct wk *w, const Gkipc__RunRequest *r);
int wk_run(struct wk *w, uint64_t run_id, const char *key, const void *input,
	   size_t len, int stream, int stream_input);

/* ---- zygote (tests must be a child subreaper to get the workers) ----*/

/* Queue SpawnWorker and send it with fd as SCM_RIGHTS (fd < 0: none;
 * extra_fd >= 0: a second, unclaimed fd). 0 or -1. */
int wk_send_spawn(struct wk *z, const Gkipc__SpawnWorker *sp, int fd,
		  int extra_fd);
/* Ask the zygote z for a worker with that profile (run_as: uid/gid when
 * run_as >= 0); on success w is the new worker (pid from Spawned) and its
 * Hello is returned, else NULL (*spawned_error gets the error, if any). */
Gkipc__FromWorker *wk_zspawn(struct wk *z, struct wk *w, uint64_t id,
			     const char *sandbox, const char *scratch_root,
			     int run_as, int run_as_gid);

/* Expectations: each counts one passed or failed check. */
long long wk_now_ms(void);
/* The next message, which must be of this FromWorker case (else NULL). */
Gkipc__FromWorker *wk_expect(struct wk *w, int msg_case);
void wk_expect_result(struct wk *w, uint64_t run_id, const char *json);
/* An Error with that code whose message contains `part`. */
void wk_expect_error(struct wk *w, uint64_t run_id, int code,
		     const char *part);
void wk_expect_exit(struct wk *w, int code);
void wk_expect_signal(struct wk *w, int sig);

#endif
