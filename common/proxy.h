/*
 * proxy.h - the stateful proxy transaction of the CSCFs (RFC 3261 section 16)
 *
 * One struct ims_ptx owns one server transaction and its client transactions (branches).
 * The daemon's pipeline calls small verbs on it: validate (Max-Forwards, own Route),
 * optionally suspend while Diameter runs, then forward to one or more targets, or reply.
 * Responses come back through the proxy: provisional ones are relayed at once, 2xx are
 * relayed at once (the others branches are cancelled), and when every branch has a final
 * response the best one is relayed (6xx first, then the lowest class; 503 becomes 500,
 * keeping its Warning and Retry-After). Each transaction counts in the bound of
 * overload.max_transactions while it lives.
 * The transaction frees itself when it is finished; the daemon never frees it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_PROXY_H
#define IMS_PROXY_H

#include <stdbool.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "sip.h"

struct ims_ptx;

/* Called with each response before it is relayed (may modify it); return 0 to relay it. */
typedef int (*ims_ptx_response_fn)(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip);
/* Called once when the transaction ends (for the daemon to drop its references). */
typedef void (*ims_ptx_done_fn)(void *arg, struct ims_ptx *tx);
/*
 * Called when every branch has a final non-2xx status, before the proxy answers upstream
 * with the best one. @local is true when no branch produced a SIP response (timeouts,
 * unreachable targets). Return true when the daemon takes over: it forwards again (a new
 * branch) or replies; false lets the proxy answer as usual.
 */
typedef bool (*ims_ptx_final_fn)(void *arg, struct ims_ptx *tx, int best_status, bool local);

/*
 * ims_ptx_create - take over the incoming transaction (the request function then returns
 * 0). Sends 100 Trying for INVITE. Returns NULL on allocation failure (reply 500 then).
 */
struct ims_ptx *ims_ptx_create(struct ims_sip *sip, nta_incoming_t *irq);

/* The request as the proxy will forward it (modifiable until forwarded). */
msg_t *ims_ptx_msg(struct ims_ptx *tx);
sip_t *ims_ptx_sip(struct ims_ptx *tx);
const char *ims_ptx_call_id(struct ims_ptx *tx);
struct ims_sip *ims_ptx_sip_stack(struct ims_ptx *tx);   /* the SIP stack it belongs to */
bool ims_ptx_cancelled(struct ims_ptx *tx);   /* a CANCEL arrived while suspended */

void ims_ptx_set_hooks(struct ims_ptx *tx, ims_ptx_response_fn on_response,
                       ims_ptx_done_fn on_done, void *arg);
void ims_ptx_set_final(struct ims_ptx *tx, ims_ptx_final_fn on_final);
/* The daemon's own pointer given to ims_ptx_set_hooks */
void *ims_ptx_arg(struct ims_ptx *tx);

/*
 * ims_ptx_validate - Max-Forwards (483 when exhausted, decremented otherwise, added when
 * missing) and removal of the Route entries naming this node.
 * Returns 0, or the status to reply with.
 */
int ims_ptx_validate(struct ims_ptx *tx);

/*
 * ims_ptx_forward - add a branch.
 * @request_uri: new Request-URI, or NULL to keep it.
 * @next_hop:    where to send, or NULL to follow the Route set / Request-URI.
 * @record_route: insert this node's Record-Route.
 * ACK is forwarded statelessly and the transaction ends.
 * A request of new work (admission.h) to a numeric next hop carries our Via offering RFC
 * 7339 overload control; when that next hop asked for a reduction and this request falls
 * in it, it is not sent: the proxy answers 503 itself (when no branch went out yet) and
 * returns 503 (a later ims_ptx_reply() then only ends the transaction).
 * Returns 0, or a SIP status (500) when the branch could not be created.
 */
int ims_ptx_forward(struct ims_ptx *tx, const url_t *request_uri, const url_t *next_hop,
                    bool record_route);

/* One branch, in full: what ims_ptx_forward() takes, and more */
struct ims_ptx_hop {
    const url_t *request_uri;      /* new Request-URI or NULL */
    const url_t *next_hop;         /* where to send, or NULL (Route set / Request-URI) */
    const char *routes;            /* put in front of the Route set ("<a;lr>, <b;lr>") */
    bool record_route;             /* Record-Route this node */
    const url_t *record_route_uri; /* ... with this URI instead of the node's own */
    const url_t *record_route_inner; /* and this one below it: double record-routing
                                    * (RFC 5658) where the two sides use two transports */
    tport_t *tport;                /* send through this transport of ours (NTATAG_TPORT),
                                    * NULL: nta chooses */
    bool any_size;                 /* over UDP whatever its size: no switch to TCP for a
                                    * request past 1300 bytes (RFC 3261 18.1.1), for a next
                                    * hop reachable only on the flow it came from (a UE) */
    unsigned silent_ms;            /* a next hop that sends no response at all (not even
                                    * 100) in this time is given up as a local 408 (no
                                    * CANCEL: nothing was received); 0 = no limit */
};
int ims_ptx_forward_ex(struct ims_ptx *tx, const struct ims_ptx_hop *hop);

/*
 * ims_ptx_set_timer_c - INVITE only: when no final response came within @ms, pending
 * branches are cancelled and the request is answered 408 (RFC 3261 16.8 timer C).
 */
void ims_ptx_set_timer_c(struct ims_ptx *tx, unsigned ms);

/* Answer the request ourselves (final status ends the transaction). @warning may be NULL. */
void ims_ptx_reply(struct ims_ptx *tx, int status, const char *phrase, const char *warning);
/* The same with a Retry-After of @retry_after seconds (none when 0). */
void ims_ptx_reply_ex(struct ims_ptx *tx, int status, const char *phrase, const char *warning,
                      unsigned retry_after);
/*
 * ims_ptx_refuse - answer the request ourselves with a Warning of this node naming @why
 * (ims_sip_warning()); a 480 or 503 carries a Retry-After of @retry_after s when not 0.
 */
void ims_ptx_refuse(struct ims_ptx *tx, int status, const char *phrase, const char *why,
                    unsigned retry_after);

#endif
