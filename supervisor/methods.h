/* methods.h - the JSON-RPC methods the manager may call on us. */
#ifndef GK_METHODS_H
#define GK_METHODS_H

struct rpc_req;

/* Look the method up in the dispatch table and run it; unknown requests
 * get -32601, unknown notifications are ignored. */
void methods_dispatch(struct rpc_req *req);

#endif
