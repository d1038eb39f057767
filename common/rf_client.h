/*
 * rf_client.h - offline charging client (Rf, TS 32.299 / RFC 6733 accounting) for the
 * CSCFs, BGCF, MGCF and MRFC: ACR START / INTERIM / STOP per session and EVENT for
 * session-less requests, with a durable bounded spool so that no record is lost
 *
 * A CSCF calls, on its loop (SIP) thread:
 *
 *     struct ims_rf_session *s = ims_rf_start(rf, &info);  // 200 OK to INVITE: START, #0
 *     ...                                                   // INTERIMs by the timer
 *     ims_rf_stop(s, &info);                                // BYE: STOP, s is freed
 *     ims_rf_event(rf, &info);                              // REGISTER, MESSAGE: EVENT
 *
 * None of these blocks: the record is built and handed to the client's own thread, which
 * writes it to the spool (SQLite) and sends it; the ACA's outcome goes from the
 * freeDiameter thread that got it straight back to the client's thread (not through the
 * loop). A record that gets no answer, no route, or a
 * transient error (3002 UNABLE_TO_DELIVER, 3004 TOO_BUSY, ...) stays in the spool and is
 * sent again (T flag, same Session-Id and Accounting-Record-Number, so the CDF counts it
 * once) with exponential backoff, also after a restart. A record the CDF refuses for good
 * (5xxx) is kept in the spool as rejected, never re-sent, and counted. When the spool holds
 * spool_max records, a new record is dropped with an error log and a counter.
 *
 * Several CDFs (dest_host "a, b"): each record, new or sent again, goes to the first one
 * whose connection is open; when a CDF becomes open (it came back, or the next one took
 * over), the records waiting in the spool go at once rather than after their backoff. The
 * records of one session can so end at two CDFs (one CDR each, the same ICID and
 * Session-Id): the CDFs share nothing, the billing domain joins them.
 *
 * Destroy the client after ims_diam_stop() (no ACA can arrive for it then).
 *
 * Metrics: ims_rf_acr_sent_total{type}, ims_rf_acr_answered_total{outcome}, ims_rf_spool
 * (records waiting), ims_rf_spool_dropped_total, ims_rf_acr_seconds (ACA latency).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_RF_CLIENT_H
#define IMS_RF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ims_loop;
struct ims_rf_client;
struct ims_rf_session;

/* TS 32.299 Node-Functionality and Role-Of-Node */
enum ims_rf_node {
    IMS_RF_SCSCF = 0, IMS_RF_PCSCF = 1, IMS_RF_ICSCF = 2, IMS_RF_MRFC = 3, IMS_RF_MGCF = 4,
    IMS_RF_BGCF = 5, IMS_RF_AS = 6, IMS_RF_IBCF = 7,
};
enum ims_rf_role { IMS_RF_ORIGINATING = 0, IMS_RF_TERMINATING = 1 };

#define IMS_RF_MAX_MEDIA 4

struct ims_rf_conf {
    const char *dest_realm;       /* Destination-Realm; NULL: our own realm */
    const char *dest_host;        /* the CDF's Diameter identity, or several ("a, b": in
                                   * order of preference, see diam_dest.h), or NULL */
    const char *spool_path;       /* SQLite file of records not yet answered (required) */
    unsigned spool_max;           /* records kept at most (0: 10000) */
    unsigned retry_min_ms;        /* first retry delay (0: 1000), doubled per attempt */
    unsigned retry_max_ms;        /* longest delay (0: 60000) */
    unsigned timeout_ms;          /* ACA wait (0: the Diameter default) */
    unsigned interim_interval;    /* seconds between INTERIMs (0: none) */
    int node_functionality;       /* enum ims_rf_node of this node */
    int nice;                     /* the client's thread runs this many nice levels below
                                   * its creator (0: the same; see prio.h) */
    struct ims_loop *loop;        /* the caller's loop: interim timers */
};

/* What a record says; strings are copied, NULL or "" are left out. */
struct ims_rf_info {
    const char *sip_method;       /* Event-Type SIP-Method */
    const char *event;            /* Event-Type Event (SUBSCRIBE/NOTIFY) */
    int role;                     /* enum ims_rf_role */
    const char *user_session_id;  /* the SIP Call-ID */
    const char *calling;          /* Calling-Party-Address */
    const char *called;           /* Called-Party-Address */
    const char *icid;             /* IMS-Charging-Identifier (P-Charging-Vector) */
    const char *orig_ioi, *term_ioi;
    time_t request_ts, response_ts;   /* SIP-Request/Response-Timestamp, 0: absent */
    bool has_cause;
    int cause;                    /* Cause-Code */
    const char *media[IMS_RF_MAX_MEDIA];   /* SDP-Media-Name of each m= line */
    const char *trunk_in;         /* MGCF: Trunk-Group-Id { Incoming-Trunk-Group-Id } */
    const char *trunk_out;        /* ... { Outgoing-Trunk-Group-Id } */
};

struct ims_rf_client *ims_rf_client_create(const struct ims_rf_conf *conf);
/* Stops the thread; records not yet answered stay in the spool for the next start. */
void ims_rf_client_destroy(struct ims_rf_client *c);

/* START (Accounting-Record-Number 0) in a new session; NULL on allocation failure. */
struct ims_rf_session *ims_rf_start(struct ims_rf_client *c, const struct ims_rf_info *info);
/* An INTERIM now (@info NULL: the fields of the START again). 0 or -errno. */
int ims_rf_interim(struct ims_rf_session *s, const struct ims_rf_info *info);
/* STOP, then @s is freed. 0 or -errno (@s is freed in every case). */
int ims_rf_stop(struct ims_rf_session *s, const struct ims_rf_info *info);
/* An EVENT record in a session of its own. 0 or -errno. */
int ims_rf_event(struct ims_rf_client *c, const struct ims_rf_info *info);

const char *ims_rf_session_id(const struct ims_rf_session *s);
uint32_t ims_rf_next_number(const struct ims_rf_session *s);

/* Records waiting in the spool (not yet answered, not rejected); -1 on error. */
long ims_rf_spooled(struct ims_rf_client *c);
/* Records built and not yet delivered, rejected or dropped (0: everything is through). */
long ims_rf_pending(struct ims_rf_client *c);

/* Service-Information { IMS-Information } of @i as node @node (enum ims_rf_node) into
 * @parent (a request); shared with the Ro client. 0 or -ENOMEM. */
int ims_rf_add_ims_information(void *parent, const struct ims_rf_info *i, int node);

/* ---- the pure parts, for tests ---- */

enum ims_rf_outcome {
    IMS_RF_DELIVERED,            /* 2xxx: forget it */
    IMS_RF_RETRY,                /* no answer, no route, 3xxx or 4xxx: send again later */
    IMS_RF_REJECTED,             /* 5xxx: the CDF will never take it */
};
enum ims_rf_outcome ims_rf_classify(int error, uint32_t result_code);
/* Delay before attempt @attempt (1 = the first retry): min * 2^(attempt-1), capped. */
unsigned ims_rf_backoff_ms(unsigned attempt, unsigned min_ms, unsigned max_ms);

#endif
