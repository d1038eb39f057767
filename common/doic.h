/*
 * doic.h - Diameter overload indication conveyance (RFC 7683), loss algorithm: pure logic
 *
 * Reacting node (every Diameter client of the project): the host reports each peer sent
 * (sequence number, reduction, validity) and the decision, for each new request to a host,
 * whether to throttle it (an even spread of the reduction: the running sum that
 * ims_oc_client_drop() of overload.h uses for RFC 7339).
 * Reporting node (the HSS and the OCS): the reduction asked of the clients from how far the
 * request queue is past its threshold (depth, or the wait of the requests taken), raised at
 * once, lowered by a step a period, and the OC-OLR to send.
 * No I/O, no clock: every time is a parameter (ms, monotonic); callers lock.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DOIC_H
#define IMS_DOIC_H

#include <stdbool.h>
#include <stdint.h>

#define IMS_DOIC_ALGO_LOSS 1ULL              /* OC-Feature-Vector: OLR_DEFAULT_ALGO */
#define IMS_DOIC_REPORT_HOST 0               /* OC-Report-Type HOST_REPORT */
#define IMS_DOIC_REPORT_REALM 1              /* OC-Report-Type REALM_REPORT */
#define IMS_DOIC_DEFAULT_VALIDITY_S 30       /* RFC 7683 7.5: OC-Validity-Duration absent */
#define IMS_DOIC_MAX_VALIDITY_S 86400        /* RFC 7683 7.5: larger values mean this */
#define IMS_DOIC_PEERS 16

/* An OC-OLR as read from an answer */
struct ims_doic_olr {
    uint64_t seq;
    int32_t type;                 /* IMS_DOIC_REPORT_* */
    uint32_t reduction;           /* percent, 0..100 */
    uint32_t validity_s;
    bool has_reduction, has_validity;
};

/* ---- reacting node ---- */

struct ims_doic_peer {
    char host[256];               /* the reporting host ("" free) */
    uint64_t seq;                 /* the newest sequence number taken */
    uint32_t reduction;           /* percent */
    uint64_t expires_ms;          /* the report applies until then */
    unsigned acc;                 /* running sum of the reduction: a throttle past 100 */
    uint64_t used_ms;             /* last update or decision (the least recently used goes) */
};

struct ims_doic_client {
    struct ims_doic_peer peers[IMS_DOIC_PEERS];
};

/*
 * ims_doic_client_update - host @host reported @olr (in an answer from that host itself:
 * the caller checks). Only a host report with a sequence number above the last one taken
 * from @host is taken (RFC 7683 5.5: an equal number is the same report and does not
 * restart its validity); a reduction of 0 or a validity of 0 ends the report. Validity
 * absent: 30 s; above 86,400 s: 86,400. Returns 1 taken, 0 ignored, -EINVAL malformed
 * (a reduction above 100).
 */
int ims_doic_client_update(struct ims_doic_client *c, const char *host,
                           const struct ims_doic_olr *olr, uint64_t now_ms);

/* The reduction (percent) in force for @host now: 0 when none or expired. */
uint32_t ims_doic_client_reduction(const struct ims_doic_client *c, const char *host,
                                   uint64_t now_ms);

/* ims_doic_client_throttle - whether the next request to @host is to be throttled: its
 * reduction, spread evenly (30 %: 3 of every 10). */
bool ims_doic_client_throttle(struct ims_doic_client *c, const char *host, uint64_t now_ms);

/*
 * ims_doic_trusted - whether a report in an answer is to be taken: @origin (its
 * Origin-Host) is @peer (the identity of the connection that delivered it, which the
 * sender cannot choose), and @target (the host the request was sent to; "" when sent by
 * realm) is that peer. Identities compare without case.
 */
bool ims_doic_trusted(const char *target, const char *peer, const char *origin);

/* ---- reporting node ---- */

#define IMS_DOIC_PERIOD_MS 1000     /* the reduction is re-decided once a period */
#define IMS_DOIC_STEP_DOWN 20       /* ... and lowered by at most this much a period */
#define IMS_DOIC_MAX_REDUCTION 90   /* a trickle goes on, so the report can be renewed */

struct ims_doic_server {
    unsigned max_queue, busy_wait_ms, threshold_pct, validity_s;
    uint64_t seq;                 /* of the report in force */
    uint32_t reduction;           /* percent, asked now */
    uint64_t period_ms;           /* start of the current period */
    uint64_t issued_ms;           /* when @seq was issued */
    uint64_t ended_ms;            /* when the reduction last went to 0 (0: never asked) */
    unsigned peak_depth;          /* in the current period */
    uint64_t wait_sum_ms;         /* ... the waits of the requests taken, and how many */
    uint32_t waits;
};

/*
 * ims_doic_reduction - the reduction (percent, a multiple of 10, 0..IMS_DOIC_MAX_REDUCTION)
 * for a queue of @depth of at most @max_queue, whose requests waited up to @wait_ms of at
 * most @busy_wait_ms, with the threshold at @threshold_pct percent of either: 0 at or below
 * the threshold, rising linearly to the maximum at the limit (the larger of the two).
 */
uint32_t ims_doic_reduction(unsigned depth, unsigned max_queue, unsigned wait_ms,
                            unsigned busy_wait_ms, unsigned threshold_pct);

/* @init_seq: a number above any this node sent before (wall-clock seconds at start) */
void ims_doic_server_init(struct ims_doic_server *s, unsigned max_queue, unsigned busy_wait_ms,
                          unsigned threshold_pct, unsigned validity_s, uint64_t init_seq,
                          uint64_t now_ms);

/*
 * ims_doic_server_observe - the queue held @depth and a request taken had waited @wait_ms
 * (0: not known, not counted) at @now_ms. The reduction rises at once to what the depth
 * calls for; at the close of a period to what its peak depth and its mean wait call for
 * (one request that stalled does not start a report); it falls by IMS_DOIC_STEP_DOWN a
 * period (each period without observations counts as calm). A change, or half the
 * validity past since the report was issued, issues a new sequence number.
 */
void ims_doic_server_observe(struct ims_doic_server *s, unsigned depth, unsigned wait_ms,
                             uint64_t now_ms);

/* ims_doic_server_tick - close the periods over by @now_ms without an observation (each
 * counts as calm); for reading the reduction when no request came. */
void ims_doic_server_tick(struct ims_doic_server *s, uint64_t now_ms);

/*
 * ims_doic_server_report - the OC-OLR to put in an answer at @now_ms into *olr: true while a
 * reduction is asked, and for a validity after it ended (a report of reduction 0 that ends
 * it at the clients); false: no OC-OLR.
 */
bool ims_doic_server_report(const struct ims_doic_server *s, uint64_t now_ms,
                            struct ims_doic_olr *olr);

#endif
