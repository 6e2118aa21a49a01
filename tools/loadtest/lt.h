/* genkit-loadtest core: options, the manager-side protocol engine (pending
 * requests, reply verification, counters) and the scenario interface.
 * The core does no I/O: it gets messages and clock ticks from the transport
 * (server.c, or a test) and hands outgoing messages to a send callback. */
#ifndef LT_LT_H
#define LT_LT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "idmap.h"

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL

struct lt_opts {
    const char *scenario;     /* rps | stream | cancel | crash-mix | bidi */
    const char *key;          /* NULL: the scenario's default action */
    const char *input;        /* JSON text; NULL: {"a":1} */
    unsigned concurrency;     /* closed loop: requests in flight */
    uint64_t requests;        /* measured requests; 0: unset */
    double duration_s;        /* measured duration; 0: unset */
    uint64_t warmup_n;        /* warm-up requests */
    double warmup_s;          /* warm-up seconds */
    double rate;              /* > 0: open loop, requests per second */
    unsigned max_inflight;    /* open loop cap on requests in flight */
    unsigned chunks;          /* stream / bidi chunks per run */
    double crash_ratio;       /* crash-mix */
    uint64_t seed;
    double timeout_s;         /* per request; then lost (reply = late) */
    double connect_timeout_s; /* until register + listActions shows the keys */
    double kill_timeout_s;    /* SIGTERM .. SIGKILL */
    double sample_s;          /* process tree sampling period */
    int port;                 /* 0: ephemeral */
    bool json, quiet, allow_errors;
    bool input_after_state;   /* bidi: send input chunks only after runActionState */
    int verbose;
    size_t max_message;       /* largest incoming message accepted */
    const char *runtime_log;  /* child stdout+stderr; NULL: inherit */
    char **cmd;               /* runtime command (after --); NULL: external */
};

void lt_opts_defaults(struct lt_opts *o);

/* Protocol violations, counted by kind. */
enum viol {
    V_BAD_JSON,           /* frame is not a JSON object */
    V_BAD_ENVELOPE,       /* not JSON-RPC 2.0 (jsonrpc, method/id/result/error) */
    V_BINARY_FRAME,
    V_OVERSIZED,          /* message above --max-message */
    V_ID_TYPE,            /* reply id is not a string */
    V_UNKNOWN_ID,         /* reply to an id never sent */
    V_DUP_REPLY,          /* second reply to an id */
    V_BAD_PARAMS,         /* notification params malformed */
    V_UNKNOWN_REQUEST_ID, /* notification for no pending runAction */
    V_BAD_TRACE_ID,       /* not 32 lowercase hex */
    V_TRACE_MISMATCH,     /* telemetry / error traceId != runActionState's */
    V_MISSING_STATE,      /* chunk or result before runActionState */
    V_BAD_RESULT,         /* result shape: {result, telemetry:{traceId}} */
    V_WRONG_RESULT,       /* value differs from the expected one */
    V_CHUNK_ORDER,        /* chunk unexpected, wrong, out of order, or count */
    V_BAD_ERROR,          /* error object malformed or -32000 without Status */
    V_UNEXPECTED_METHOD,  /* runtime called something a runtime never calls */
    V_BAD_REGISTER,
    V_BAD_LIST_ACTIONS,
    V__COUNT
};
extern const char *const viol_name[V__COUNT];

enum req_kind { REQ_RUN = 1, REQ_CANCEL, REQ_LIST };

/* How a runAction ended. */
enum outcome {
    OUT_OK,             /* success with the expected value */
    OUT_WRONG,          /* success with a wrong value, or success when an error was expected */
    OUT_EXPECTED_ERROR, /* error with the expected status */
    OUT_ERROR,          /* any other error */
    OUT_LOST,           /* timed out or connection lost */
};

struct lt_req {
    uint64_t id;
    uint8_t kind;
    bool in_use, measured, stream, have_state;
    int expect_status;        /* -1: success expected; else Status code */
    uint32_t expect_chunks;   /* UINT32_MAX: unchecked */
    uint32_t chunks;          /* chunks received so far */
    uint32_t tag;             /* scenario's */
    uint64_t aux;             /* scenario's */
    uint64_t t_intended, t_sent, t_state, t_first_chunk;
    json_t *expect;           /* owned; NULL: value unchecked */
    char trace_id[33];
    /* filled for on_done */
    int status;               /* Status code of an error, -1 none */
    long long rpc_code;       /* JSON-RPC error code, 0 none */
};

#define LT_NSTATUS 17
#define LT_MAX_RPC_CODES 8
#define LT_MAX_XH 3
#define LT_MAX_XC 8

struct lt_stats {
    uint64_t sent, replies, ok, wrong, expected_errors, unexpected_errors;
    uint64_t lost, timeouts, late, disconnects;
    uint64_t abandoned;                   /* in flight when we stopped early */
    uint64_t measured_done, chunks;
    uint64_t viol[V__COUNT];
    uint64_t status[LT_NSTATUS + 1];      /* [LT_NSTATUS]: other */
    long long rpc_code[LT_MAX_RPC_CODES]; /* other JSON-RPC error codes */
    uint64_t rpc_code_n[LT_MAX_RPC_CODES];
    unsigned n_rpc_codes;
    uint64_t rpc_code_other;
    uint64_t t_measure_start, t_measure_end; /* first measured intended send, last measured reply */
    struct hist lat;                      /* measured runAction latency, ns */
    unsigned n_xh, n_xc;                  /* scenario extras */
    const char *xh_name[LT_MAX_XH];
    struct hist xh[LT_MAX_XH];
    const char *xc_name[LT_MAX_XC];
    uint64_t xc[LT_MAX_XC];
};

struct lt;

struct scenario {
    const char *name;
    const char *default_key;
    int (*init)(struct lt *lt, char *err, size_t errlen);
    /* Actions that must be listed before starting (NULL-terminated). */
    const char *const *(*keys)(struct lt *lt);
    /* Runtime registered and its actions are present: start or refill. */
    void (*ready)(struct lt *lt);
    void (*tick)(struct lt *lt, uint64_t now);
    void (*on_state)(struct lt *lt, struct lt_req *r);
    /* Return false when the chunk is not the expected next one. */
    bool (*on_chunk)(struct lt *lt, struct lt_req *r, json_t *chunk);
    void (*on_done)(struct lt *lt, struct lt_req *r, enum outcome out);
    void (*on_cancel_reply)(struct lt *lt, struct lt_req *r, bool ok);
    void (*fini)(struct lt *lt);
};

const struct scenario *scenario_find(const char *name);

struct lt {
    const struct lt_opts *o;
    const struct scenario *sc;
    void *scs;                    /* scenario state */
    /* environment */
    uint64_t (*now)(void *ctx);
    void *now_ctx;
    /* takes ownership of base (malloc'd), payload at base+pre, len bytes;
     * returns 0, or -1 when not connected / over the buffer limit */
    int (*send)(void *ctx, char *base, size_t len);
    void *send_ctx;
    size_t send_pre;              /* headroom the transport wants */
    void (*on_measure)(void *ctx, bool start); /* measured window opens/closes */
    void *measure_ctx;
    /* request table */
    struct lt_req *pool;
    uint32_t pool_cap, nfree, *freelist;
    struct idmap pending;         /* id -> pool index */
    struct idmap late;            /* ids that timed out */
    uint64_t last_id;
    uint32_t inflight_runs;
    /* lifecycle */
    bool connected, registered, ready, sc_done, done, measuring, measured_closed;
    int fatal;                    /* nonzero: setup failure, message in err */
    char err[256];
    long long runtime_pid;        /* from register, 0 if unknown */
    char runtime_name[128];
    uint64_t t_start, t_ready, t_connect_deadline, t_list_poll, t_timeout_scan, t_wake;
    uint64_t timeout_ns;
    char key_json[512];           /* scenario key, JSON-encoded */
    struct lt_stats st;
};

struct lt *lt_new(const struct lt_opts *o, const struct scenario *sc,
                  uint64_t (*now)(void *), void *now_ctx, char *err, size_t errlen);
void lt_free(struct lt *lt);

/* Transport -> core */
void lt_connected(struct lt *lt);
void lt_disconnected(struct lt *lt);
void lt_message(struct lt *lt, const char *buf, size_t len);
void lt_violation(struct lt *lt, enum viol v);
void lt_tick(struct lt *lt);
/* Absolute time (ns) at which lt_tick wants to run next. */
uint64_t lt_next_wake(const struct lt *lt);

/* Scenario -> core */
bool lt_can_send(const struct lt *lt);
struct lt_req *lt_run(struct lt *lt, const char *key_json, const char *input_json,
                      bool stream, bool stream_input, uint64_t intended,
                      bool measured, int expect_status, json_t *expect /* stolen */);
struct lt_req *lt_cancel(struct lt *lt, const char *trace_id, uint64_t aux);
int lt_input_chunk(struct lt *lt, uint64_t request_id, const char *chunk_json);
int lt_end_input(struct lt *lt, uint64_t request_id);
void lt_wake_at(struct lt *lt, uint64_t t); /* ask for a tick no later than t */
void lt_scenario_done(struct lt *lt);
unsigned lt_xh(struct lt *lt, const char *name);
unsigned lt_xc(struct lt *lt, const char *name);
static inline uint64_t lt_now(const struct lt *lt) { return lt->now(lt->now_ctx); }
const char *lt_key_json(struct lt *lt);

/* The overall verdict: 0 clean, 1 violations / lost / unexpected errors. */
int lt_verdict(const struct lt *lt);
uint64_t lt_violations(const struct lt *lt);

#endif
