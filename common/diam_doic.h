/*
 * diam_doic.h - RFC 7683 (DOIC, loss algorithm) on the project's Diameter messages (used by
 * common/diam.c only; the decisions are the pure functions of doic.h)
 *
 * Reacting node (clients): every request but Rf's carries OC-Supported-Features (loss);
 * the host reports of the answers are kept per peer; a request to a host with a report in
 * force is throttled (that share of them, evenly), but never a CCR-TERMINATION. Rf offers
 * nothing and is never throttled: its records wait in the spool, which retries on its own.
 * Reporting node (servers): answers to requests that offered the loss algorithm carry
 * OC-Supported-Features and, while the request queue is past its threshold (and for a
 * validity after), an OC-OLR host report.
 * Trust: a report is taken only from an answer whose Origin-Host is the peer of the
 * connection that delivered it, and that peer is the host the request was sent to (when
 * the request named one). Reports in requests are never read.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_DOIC_H
#define IMS_DIAM_DOIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diam_dict.h"

struct msg;

struct ims_diam_doic_conf {
    bool enabled;
    unsigned max_queue, busy_wait_ms;  /* server: the limits of the request queue */
    unsigned threshold_pct;            /* server: report past this share of either limit */
    unsigned validity_s;               /* server: OC-Validity-Duration of its reports */
    const char *only_peer;             /* client: the one configured peer, or NULL */
};

/* Set up (metrics included); @server: report as well. 0 or -errno. */
int ims_diam_doic_init(const struct ims_diam_doic_conf *c, bool server);

/*
 * ims_diam_doic_offer - add OC-Supported-Features to the request @req of @cmd (not for
 * Rf), and write in @target the host it goes to: its Destination-Host, else the peer that
 * answered the last request of its application (sent by realm, freeDiameter routes it to
 * that same server while there is one per application, as in the lab), else the one
 * configured peer, else "" (not throttled); *named: it was the Destination-Host. Returns
 * true when offered.
 */
bool ims_diam_doic_offer(struct msg *req, enum ims_cmd cmd, char *target, size_t len,
                         bool *named);

/* ims_diam_doic_throttle - whether the request @req of @cmd to @target is to be throttled
 * now (counted per peer). A request that ends a session (CCR-TERMINATION) never is: RFC
 * 7683 leaves to the reacting node which requests it drops, and one not sent would leave
 * the OCS holding the call's reservation until its timeout, the time used never charged;
 * sent, it costs the server one request and frees what it holds. */
bool ims_diam_doic_throttle(struct msg *req, const char *target, enum ims_cmd cmd);

/*
 * ims_diam_doic_throttle_early - the same decision for a request of @cmd and @type (its
 * CC-Request-Type or Server-Assignment-Type, 0 when it has none: ims_diam_type_ends_session
 * exempts the same requests) not yet built, to go by realm (no Destination-Host: its target
 * is the peer that answered the last request of its application, else the one configured
 * peer): a daemon refuses the SIP request that needs it before any SIP transaction (a 503
 * that holds no memory). A request let through is not decided twice: the next request of
 * @cmd this thread sends skips its own decision, until ims_diam_doic_early_end().
 */
bool ims_diam_doic_throttle_early(enum ims_cmd cmd, int32_t type);

/* The SIP request whose early decision this thread made has been handled (common/sip.c,
 * after the daemon's function): a Diameter request it did not send (a challenge from a
 * vector already held, a cached route) does not let a later one skip its decision. */
void ims_diam_doic_early_end(void);

/* ims_diam_doic_answered - the answer @ans to a request of @cmd that offered DOIC and was
 * sent to @target (its Destination-Host; "" when by realm): take its host report when it
 * is to be trusted. */
void ims_diam_doic_answered(struct msg *ans, const char *target, enum ims_cmd cmd);

/*
 * ims_diam_doic_answer - a server's answer @ans is about to be sent; the queue holds
 * @depth and its request waited @waited_ms: observe the load, and when the request offered
 * the loss algorithm add OC-Supported-Features and the report in force.
 */
void ims_diam_doic_answer(struct msg *ans, size_t depth, unsigned waited_ms);

#endif
