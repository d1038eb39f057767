/*
 * ro_client.h - online charging client (Ro, RFC 4006 / TS 32.299) for the S-CSCF (IMS-GWF)
 * and the MRFC: one credit-control session per charged call, or one-shot events
 *
 * On the loop (SIP) thread:
 *
 *     struct ims_ro_session *s = ims_ro_session_new(&conf);
 *     ims_ro_initial(s, &req, on_cca, call);    // before forwarding the INVITE
 *       on_cca(call, &r): r->decision GRANTED -> forward, arm a timer for r->granted_time
 *                         (or r->validity_time if sooner); DENIED -> 402/403 with r->reason;
 *                         CONTINUE -> forward uncharged; TERMINATE -> refuse (or release)
 *     ims_ro_update(s, &req, on_cca, call);     // units used up / Validity-Time over;
 *                                               // r->final_unit: no more after these, so
 *                                               // release the call (BYE both ways) when
 *                                               // they run out
 *     ims_ro_terminate(s, &req, on_cca, call);  // BYE: req.used_time
 *     ims_ro_session_free(s);                   // after the last callback
 *     ims_ro_event(&conf, &req, on_cca, arg);   // IEC for a MESSAGE (Requested-Action)
 *
 * Each call sends one CCR (CC-Request-Number counted per session) and makes exactly one
 * callback on the loop thread. Tx is the request timeout (conf.tx_ms): when it expires, or
 * the OCS cannot be reached (3002, 3004, no peer), Credit-Control-Failure-Handling decides:
 * TERMINATE -> IMS_RO_TERMINATE; CONTINUE -> one retry (T flag), then IMS_RO_CONTINUE;
 * RETRY_AND_TERMINATE -> one retry, then IMS_RO_TERMINATE. A CCFH received in a CCA
 * replaces the configured one for the rest of the session (RFC 4006 5.7).
 *
 * Several OCSs (dest_host "a, b", servers that share nothing): a session's first CCR goes to
 * the first OCS that is open, and every later one to the OCS that answered it (its
 * Origin-Host). The retry of CONTINUE and RETRY_AND_TERMINATE goes to another OCS that is
 * open (failover) when no OCS holds the session yet (INITIAL, EVENT), or when the one that
 * does said CC-Session-Failover FAILOVER_SUPPORTED (RFC 4006 8.4); otherwise to the same
 * OCS, and then Credit-Control-Failure-Handling decides as above.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_RO_CLIENT_H
#define IMS_RO_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "rf_client.h"

struct msg;
struct ims_ro_session;

enum ims_ro_ccfh {
    IMS_RO_CCFH_TERMINATE = 0,
    IMS_RO_CCFH_CONTINUE = 1,
    IMS_RO_CCFH_RETRY_AND_TERMINATE = 2,
};

enum ims_ro_decision {
    IMS_RO_GRANTED = 0,          /* go on with the granted units */
    IMS_RO_DENIED,               /* the OCS said no (4012, 5030, 5031, ...) */
    IMS_RO_CONTINUE,             /* no answer, CCFH CONTINUE: go on without credit control */
    IMS_RO_TERMINATE,            /* no answer, CCFH (RETRY_AND_)TERMINATE: refuse / release */
};

struct ims_ro_conf {
    const char *dest_realm;      /* NULL: our realm */
    const char *dest_host;       /* the OCS, or several ("a, b", in order of preference), or
                                  * NULL (by realm) */
    const char *service_context; /* NULL: "32260@3gpp.org" (IMS) */
    unsigned tx_ms;              /* Tx timer (0: 2000) */
    enum ims_ro_ccfh ccfh;       /* until a CCA says otherwise */
    int node_functionality;      /* enum ims_rf_node */
};

enum ims_ro_sub_type {           /* Subscription-Id-Type */
    IMS_RO_SUB_E164 = 0,
    IMS_RO_SUB_SIP_URI = 2,
    IMS_RO_SUB_NAI = 3,
};

struct ims_ro_request {
    const char *subscription;    /* the served user (INITIAL, EVENT) */
    enum ims_ro_sub_type subscription_type;
    struct ims_rf_info info;     /* IMS-Information: method, parties, ICID, ... */
    uint32_t rating_group;       /* in the MSCC (0: none) */
    uint32_t requested_time;     /* CC-Time wanted (0: let the OCS choose) */
    uint64_t requested_units;    /* CC-Service-Specific-Units wanted (events) */
    uint32_t used_time;          /* used since the last report (UPDATE, TERMINATION) */
    uint64_t used_units;
    int requested_action;        /* EVENT: 0 DIRECT_DEBITING, 1 REFUND, 2 CHECK_BALANCE,
                                  * 3 PRICE_ENQUIRY */
    int termination_cause;       /* TERMINATION: 1 LOGOUT (0: 1) */
};

struct ims_ro_result {
    enum ims_ro_decision decision;
    int error;                   /* 0, -ETIMEDOUT, -ENOTCONN, ... (no answer) */
    uint32_t result_code;        /* top level, or the MSCC's when it failed */
    uint32_t granted_time;       /* CC-Time granted (0: none) */
    uint64_t granted_units;
    uint32_t validity_time;      /* 0: none */
    bool final_unit;             /* Final-Unit-Indication received */
    int final_unit_action;       /* 0 TERMINATE, 1 REDIRECT, 2 RESTRICT_ACCESS */
    bool has_ccfh;
    enum ims_ro_ccfh ccfh;
    bool failover_supported;     /* CC-Session-Failover FAILOVER_SUPPORTED */
    bool has_cost;
    int64_t cost;                /* Cost-Information Value-Digits ... */
    int cost_exponent;           /* ... x 10^exponent */
    const char *reason;          /* static text for logs and SIP reason phrases */
};

typedef void (*ims_ro_answer_fn)(void *arg, const struct ims_ro_result *r);

struct ims_ro_session *ims_ro_session_new(const struct ims_ro_conf *conf);
/* Free now, or after the callback of a request still pending (it is then not called);
 * may be called from the session's own callback. */
void ims_ro_session_free(struct ims_ro_session *s);
const char *ims_ro_session_id(const struct ims_ro_session *s);

/* Each returns 0 (one callback will follow) or a negative error (no callback). */
int ims_ro_initial(struct ims_ro_session *s, const struct ims_ro_request *q,
                   ims_ro_answer_fn fn, void *arg);
int ims_ro_update(struct ims_ro_session *s, const struct ims_ro_request *q,
                  ims_ro_answer_fn fn, void *arg);
int ims_ro_terminate(struct ims_ro_session *s, const struct ims_ro_request *q,
                     ims_ro_answer_fn fn, void *arg);
int ims_ro_event(const struct ims_ro_conf *conf, const struct ims_ro_request *q,
                 ims_ro_answer_fn fn, void *arg);

/* ---- the pure parts, for tests ---- */

/* Read a CCA into @r (decision GRANTED or DENIED from its codes). */
void ims_ro_parse_cca(struct msg *cca, struct ims_ro_result *r);
/*
 * What to do without a usable answer (@error != 0, or delivery failure code 3002/3004):
 * sets *retry when the request should be sent once more (not yet @retried), else returns
 * the decision. With an answer of any other code, returns GRANTED or DENIED.
 */
enum ims_ro_decision ims_ro_decide(int error, uint32_t code, enum ims_ro_ccfh ccfh,
                                   bool retried, bool *retry);

#endif
