/*
 * ro.h - a Credit-Control-Request as the OCS reads it, and the decisions taken on it
 * (shared by ro.c, the Diameter side, and session.c, the reservations)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef OCS_RO_H
#define OCS_RO_H

#include "ocs.h"

/* RFC 4006 values */
enum {
    CC_INITIAL = 1,
    CC_UPDATE = 2,
    CC_TERMINATION = 3,
    CC_EVENT = 4,
};

enum {
    ACTION_DIRECT_DEBITING = 0,
    ACTION_REFUND_ACCOUNT = 1,
    ACTION_CHECK_BALANCE = 2,
    ACTION_PRICE_ENQUIRY = 3,
};

/* One credit unit of a request: an MSCC, or the request's own RSU/USU outside MSCC. */
struct ro_unit {
    bool mscc;
    int64_t key;                 /* Rating-Group; Service-Identifier + 2^32; -1 top level */
    bool has_rg, has_si;
    uint32_t rg, si;
    bool rsu;                    /* Requested-Service-Unit present */
    bool rsu_time_set, rsu_units_set;
    uint64_t rsu_time, rsu_units;
    bool usu;                    /* Used-Service-Unit present */
    bool usu_time_set, usu_units_set;
    uint64_t usu_time, usu_units;
    /* the answer */
    uint32_t result;
    enum ocs_unit unit;
    uint64_t granted;            /* 0: no Granted-Service-Unit */
    bool final;                  /* Final-Unit-Indication TERMINATE */
};

struct ro_request {
    char session_id[OCS_ID_MAX];
    char origin[OCS_ID_MAX];
    int type;                    /* CC_* */
    bool has_type_sent;          /* CC-Request-Type as received (even if not 1 to 4): the */
    int32_t type_sent;           /* CCA echoes it */
    uint32_t number;
    int action;                  /* ACTION_* (events) */
    char subscription[4][OCS_ID_MAX];
    int nsubscriptions;
    char method[32];
    char called[OCS_ID_MAX];
    char icid[OCS_ID_MAX];
    struct ro_unit units[OCS_MAX_UNITS];
    int nunits;
    /* the answer */
    uint32_t result;
    char error[160];             /* Error-Message of a failure */
    bool cost_set;
    int64_t cost;
    int check_balance;           /* -1, or 0 ENOUGH_CREDIT / 1 NO_CREDIT */
    bool validity;               /* send Validity-Time with grants */
};

/*
 * session.c: run a parsed request against the database, in one transaction, filling the
 * answer fields of @q and its units. Returns 0 (the answer is in @q, including failures
 * such as 4012 or 5030) or -EIO (database trouble: the caller answers UNABLE_TO_COMPLY).
 */
int ocs_session_process(struct ocs *o, struct ro_request *q, time_t now);
/* Close every open unit of a session: release (or @debit) what it still reserves. */
int ocs_ro_close_session(struct ims_db *db, const char *session_id, time_t now, bool debit);
/* The event a CCR-EVENT's Session-Id already charged: its answer into @q (0), -ENOENT. */
int ocs_ro_event_replay(struct ims_db *db, struct ro_request *q);
int ocs_ro_event_store(struct ims_db *db, const struct ro_request *q, int64_t account_id,
                       uint64_t units, time_t now);

#endif
