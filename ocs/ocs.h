/*
 * ocs.h - the OCS daemon: Online Charging Function (Ro) and Charging Data Function (Rf)
 *
 * Money is an integer count of minor currency units (cents of ocs.currency_code); a rate is
 * a price in those units per second or per event. Balances, open reservations, Ro sessions
 * and CDRs live in one SQLite database.
 *
 * Threads: CCRs and ACRs are served on freeDiameter's dispatch threads, the REST API on
 * the HTTP thread, the sweeps (stale reservations, sessions without STOP, CDR export) on
 * the housekeeping thread. They share one connection under one lock (ocs_lock()); each
 * request is one transaction, so concurrent reservations on one account never overdraw it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef OCS_H
#define OCS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "daemon.h"
#include "db.h"

#define OCS_ID_MAX 256
#define OCS_NAME_MAX 64
#define OCS_SERVICE_MAX 32
#define OCS_PREFIX_MAX 64
#define OCS_MAX_UNITS 8          /* Multiple-Services-Credit-Control per CCR */
#define OCS_MAX_IDENTITIES 16    /* identities of one account */
#define OCS_MAX_SESSION_UNITS 32 /* credit units (rating groups) of one Ro session */

/*
 * The ranges every amount stays in (credit.c, account.c): balances within +-OCS_MONEY_MAX,
 * reservations within [0, OCS_MONEY_MAX], prices within [0, OCS_PRICE_MAX], the units of one
 * request or report within [0, OCS_UNITS_MAX]. Units x price is then below 2^58 and no sum
 * of two amounts overflows an int64.
 */
#define OCS_MONEY_MAX 1000000000000000LL     /* 10^15 minor units */
#define OCS_PRICE_MAX 100000000LL            /* 10^8 minor units per unit */
#define OCS_UNITS_MAX 0x7fffffffULL          /* 2^31 - 1 seconds or events */
#define OCS_AMOUNT_MAX 1000000000000LL       /* 10^12: a new balance, a top-up (API) */

enum ocs_unit {
    OCS_UNIT_SECOND = 0,         /* CC-Time */
    OCS_UNIT_EVENT = 1,          /* CC-Service-Specific-Units */
};

enum ocs_retention_action {
    OCS_RETAIN_PURGE = 0,        /* exported CDRs past the retention are deleted */
    OCS_RETAIN_ARCHIVE = 1,      /* moved to the archive database */
};

enum ocs_stale_action {
    OCS_STALE_RELEASE = 0,       /* give the reserved money back */
    OCS_STALE_DEBIT = 1,         /* charge the whole reservation */
};

struct ocs_account {
    int64_t id;
    char name[OCS_NAME_MAX];
    bool postpaid;               /* no credit limit: Ro grants and records usage */
    int64_t balance;             /* minor units */
    int64_t reserved;            /* sum of open reservations */
    int64_t refundable;          /* what Ro charged and may give back (REFUND_ACCOUNT) */
};

struct ocs_rate {
    int64_t id;
    char service[OCS_SERVICE_MAX];   /* "voice", "message", ... or "*" */
    char prefix[OCS_PREFIX_MAX];     /* destination prefix; "" matches every destination */
    enum ocs_unit unit;
    int64_t price;                   /* minor units per unit */
    char description[128];
};

struct ocs_config {
    int currency_code;           /* ISO 4217 numeric, in Cost-Information */
    uint32_t quota_time;         /* seconds granted when the CCR asks for no amount */
    uint32_t quota_units;        /* events granted likewise */
    uint32_t validity_time;      /* Validity-Time of grants (0: none sent) */
    uint32_t reservation_timeout;   /* a reservation without news this long is stale */
    enum ocs_stale_action stale_action;
    uint32_t interim_interval;   /* Acct-Interim-Interval sent in ACAs (0: none) */
    uint32_t missed_interims;    /* an Rf session silent this many intervals is closed */
    uint32_t rotation;           /* seconds between CDR export files */
    uint32_t sweep_interval;     /* housekeeping period, seconds */
    bool relaxed_ccr_rules;      /* accept the CCRs of Kamailio's ims_charging (ro.c) */
    uint32_t max_sessions;       /* open credit-control sessions; more: DIAMETER_TOO_BUSY */
    uint32_t history_days;       /* closed reservations and events kept (0: for ever) */
    uint32_t retention_days;     /* exported CDRs kept (0: for ever) */
    uint32_t file_rows;          /* CDRs per export file (0: OCS_EXPORT_FILE_ROWS) */
    enum ocs_retention_action retention_action;
    char export_dir[512];
    char archive_path[512];      /* cdf.archive_database */
};

struct ocs {
    struct ims_daemon *d;
    char db_path[512];
    struct ims_db *db;
    struct ocs_config cfg;
    char api_token[256];
};

/* db.c: the schema, the one connection and its lock (recursive), handlers run under it */
extern const char *const ocs_db_migrations[];
extern const size_t ocs_db_nmigrations;
void ocs_lock(void);
void ocs_unlock(void);
int ocs_serve(struct ocs *o, enum ims_cmd cmd, ims_diam_handler fn);
/* Copy a text column ("" for NULL). */
void ocs_db_text(sqlite3_stmt *st, int col, char *out, size_t len);
/*
 * The counters kept in the database by triggers and by the Ro code (table counters):
 * "cdrs", "cdrs_open", "accounts", "reserved", "reservations_open", "ro_sessions". Reading
 * one is a primary-key lookup, never a count over a table. -1 on error.
 */
int64_t ocs_db_counter(struct ims_db *db, const char *name);
int ocs_db_counter_add(struct ims_db *db, const char *name, int64_t delta);
/* Attach the archive database of cdf.archive_database (retention "archive"). 0 or -EIO. */
int ocs_db_attach_archive(struct ims_db *db, const char *path);

/* Seconds since @t0 (CLOCK_MONOTONIC), for the handling-time histograms. */
static inline double ocs_elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * credit.c: the pure arithmetic of reservations (unit tested); overflow-safe for any input.
 * ocs_credit_available - what can still be reserved or debited, never negative: a prepaid
 *                     account's balance less its reservations; a postpaid one's room
 *                     before its balance or reservations leave the ranges above.
 * ocs_credit_grantable - units that can be granted of @want at @price (at most
 *                     OCS_UNITS_MAX; 0 for a price out of range).
 * ocs_credit_charge - money for @used units of a grant of @granted at @price, never
 *                     negative: a prepaid account is never charged past its reservation, a
 *                     postpaid one never past -OCS_MONEY_MAX.
 * ocs_credit_final - whether this grant is the last one (Final-Unit-Indication).
 * ocs_credit_price - @units x @price into *cost; -ERANGE when @units exceeds OCS_UNITS_MAX
 *                     or @price lies outside [0, OCS_PRICE_MAX].
 * ocs_units_add - @a + @b, saturating at UINT64_MAX (several Used-Service-Units add up).
 */
int ocs_credit_price(uint64_t units, int64_t price, int64_t *cost);
uint64_t ocs_units_add(uint64_t a, uint64_t b);
int64_t ocs_credit_available(const struct ocs_account *a);
uint64_t ocs_credit_grantable(const struct ocs_account *a, int64_t price, uint64_t want);
int64_t ocs_credit_charge(const struct ocs_account *a, int64_t price, uint64_t used,
                          uint64_t granted);
bool ocs_credit_final(const struct ocs_account *a_after, int64_t price, uint64_t granted,
                      uint64_t want);

/* account.c: accounts and their identities */
int ocs_account_find(struct ims_db *db, const char *identity, struct ocs_account *out);
int ocs_account_get(struct ims_db *db, const char *name, struct ocs_account *out);
int ocs_account_by_id(struct ims_db *db, int64_t id, struct ocs_account *out);
/*
 * Move money: balance += @balance_delta, reserved += @reserved_delta. -ENOSPC when a
 * prepaid account would go below its reservations, -ERANGE when the balance would leave
 * +-OCS_MONEY_MAX or the reservations [0, OCS_MONEY_MAX], -ENOENT; nothing changed then.
 */
int ocs_account_move(struct ims_db *db, int64_t id, int64_t balance_delta,
                     int64_t reserved_delta);
/* Ro charges @charged (>= 0) and releases @released (>= 0) of the reservations; the charge
 * becomes refundable. Errors as ocs_account_move(), -ERANGE for a negative argument. */
int ocs_account_charge(struct ims_db *db, int64_t id, int64_t charged, int64_t released);
/* Ro gives back @amount (> 0) of what it charged: -ENOSPC past the account's refundable. */
int ocs_account_refund(struct ims_db *db, int64_t id, int64_t amount);
/* The account document of the API {"name","type","balance","reserved","available",
 * "refundable","identities"}; NULL on error. */
json_t *ocs_account_json(struct ims_db *db, const struct ocs_account *a);
json_t *ocs_account_list(struct ims_db *db, long offset, long limit);
/*
 * ocs_account_put - create (@create) or update an account from its API document: "name",
 * "type" prepaid|postpaid, "identities" [uri...], "balance" (create only, >= 0).
 * Returns 0; -EINVAL with @field/@err; -EEXIST (name or identity taken, @field says which);
 * -ENOENT (update of a missing account); -EIO.
 */
int ocs_account_put(struct ims_db *db, json_t *doc, bool create, const char *name,
                    char *field, size_t flen, char *err, size_t elen);
int ocs_account_delete(struct ims_db *db, const char *name);
/* Validate an account document without touching the database (unit tested). */
int ocs_account_validate(json_t *doc, bool create, char *field, size_t flen, char *err,
                         size_t elen);

/* rating.c: the rating table */
/* The destination of an address for prefix matching: "tel:+1555" and
 * "sip:+1555@h;user=phone" -> "+1555", "sip:bob@h" -> "bob@h". */
void ocs_rating_destination(const char *address, char *out, size_t len);
/* The service of a request: "voice" for INVITE and sessions, "message" for MESSAGE, the
 * method in lower case for other events, "event" when none is known. */
void ocs_rating_service(const char *sip_method, bool session, char *out, size_t len);
/* Best rate: exact service before "*", then the longest matching prefix. 0 or -ENOENT. */
int ocs_rating_find(struct ims_db *db, const char *service, const char *destination,
                    struct ocs_rate *out);
/* Pure form of the choice over @n candidate rates (unit tested); NULL when none fits. */
const struct ocs_rate *ocs_rating_pick(const struct ocs_rate *rates, size_t n,
                                       const char *service, const char *destination);
int ocs_rate_from_json(json_t *doc, struct ocs_rate *out, char *field, size_t flen, char *err,
                       size_t elen);
json_t *ocs_rate_json(const struct ocs_rate *r);
int ocs_rate_put(struct ims_db *db, struct ocs_rate *r);   /* id 0 inserts; -EEXIST, -ENOENT */
int ocs_rate_get(struct ims_db *db, int64_t id, struct ocs_rate *out);
int ocs_rate_delete(struct ims_db *db, int64_t id);
json_t *ocs_rate_list(struct ims_db *db);

/* ro.c: the Credit-Control server */
int ocs_ro_init(struct ocs *o);
/* Reservations idle past ocs.reservation_timeout: released or debited. Returns the count. */
int ocs_ro_expire(struct ocs *o, time_t now);
/* Open credit-control sessions (a maintained counter, not a count). -1 on error. */
int64_t ocs_ro_sessions_open(struct ims_db *db);
/* Closed reservations and charged events older than ocs.history_days, at most @max rows
 * deleted. Returns the count or -EIO. */
int ocs_ro_forget(struct ocs *o, time_t now, int max);

/* cdr.c: CDRs built from ACRs (the pure part is unit tested) */
enum ocs_acr_type {
    OCS_ACR_EVENT = 1,
    OCS_ACR_START = 2,
    OCS_ACR_INTERIM = 3,
    OCS_ACR_STOP = 4,
};

struct ocs_acr {
    char session_id[OCS_ID_MAX];
    char node[OCS_ID_MAX];           /* Origin-Host */
    enum ocs_acr_type type;
    uint32_t number;                 /* Accounting-Record-Number */
    uint32_t interim;                /* Acct-Interim-Interval (0 when absent) */
    time_t event_ts, request_ts, response_ts;   /* 0 when absent */
    char method[32];
    char event[64];
    int role;                        /* Role-Of-Node, -1 when absent */
    int node_functionality;          /* -1 when absent */
    char icid[OCS_ID_MAX];
    char calling[OCS_ID_MAX];
    char called[OCS_ID_MAX];
    char user_session[OCS_ID_MAX];
    char orig_ioi[128], term_ioi[128];
    int cause;                       /* Cause-Code, INT32_MIN when absent */
    char media[512];                 /* SDP-Media-Name values, ", " separated */
    char trunk_in[64], trunk_out[64];   /* Trunk-Group-Id (an MGCF's circuits) */
};

enum ocs_cdr_status {
    OCS_CDR_OPEN = 0,
    OCS_CDR_CLOSED,
    OCS_CDR_INCOMPLETE,              /* closed by timeout, or records were missing */
};

struct ocs_cdr {
    int64_t id;
    char session_id[OCS_ID_MAX];
    char node[OCS_ID_MAX];
    bool event;                      /* event record (no duration) */
    enum ocs_cdr_status status;
    bool partial;                    /* START was never received */
    char method[32];
    int role, node_functionality;
    char icid[OCS_ID_MAX];
    char calling[OCS_ID_MAX];
    char called[OCS_ID_MAX];
    char orig_ioi[128], term_ioi[128];
    char media[512];
    int cause;
    char trunk_in[64], trunk_out[64];   /* Incoming/Outgoing-Trunk-Group-Id (an MGCF's) */
    time_t start, stop, last_seen;   /* start: answer time; 0 unknown */
    int64_t duration;                /* seconds, stop - start */
    uint32_t interims;               /* INTERIM records received */
    uint32_t last_number;
    uint32_t interval;               /* expected interim interval, seconds */
};

/* Fold one ACR into its CDR (a fresh zeroed CDR for the first record). */
void ocs_cdr_apply(struct ocs_cdr *cdr, const struct ocs_acr *acr, time_t now);
/* Close a CDR whose node went silent: incomplete, stopped at its last record. */
void ocs_cdr_expire(struct ocs_cdr *cdr);
/* Whether an open CDR is overdue at @now (@missed intervals of silence, @dflt interval). */
bool ocs_cdr_overdue(const struct ocs_cdr *cdr, time_t now, uint32_t missed, uint32_t dflt);
const char *ocs_cdr_status_name(enum ocs_cdr_status s);
/*
 * ocs_cdr_record - store one ACR (dedup by Session-Id, node and Accounting-Record-Number) and
 * its CDR, in one committed transaction. *duplicate tells a record seen before.
 * Returns 0 or -EIO.
 */
int ocs_cdr_record(struct ims_db *db, const struct ocs_acr *acr, time_t now, bool *duplicate);
int ocs_cdr_expire_overdue(struct ocs *o, time_t now);
json_t *ocs_cdr_json(const struct ocs_cdr *c);
/* Query: any of @icid, @subscriber (identity or account name), [@from, @to) by start. */
json_t *ocs_cdr_query(struct ims_db *db, const char *icid, const char *subscriber,
                      int64_t from, int64_t to, long offset, long limit);
int ocs_cdr_get(struct ims_db *db, int64_t id, struct ocs_cdr *out);
/* The columns of a CDR row, in the order ocs_cdr_from_row() reads them */
#define OCS_CDR_COLS "id, session_id, node, event, status, partial, method, role, " \
    "node_functionality, icid, calling, called, orig_ioi, term_ioi, media, cause, start, " \
    "stop, last_seen, duration, interims, last_number, interval, trunk_in, trunk_out"
void ocs_cdr_from_row(sqlite3_stmt *st, struct ocs_cdr *c);
/*
 * Write every closed CDR not yet exported to <export_dir>/cdr-<time>.csv and .json (more
 * files, cdr-<time>_002..., past cdf.file_rows). Returns the count written or -errno; what
 * failed stays for the next period.
 */
int ocs_cdr_export(struct ocs *o, time_t now);
#define OCS_EXPORT_FILE_ROWS 100000
/*
 * Exported CDRs whose last record is older than cdf.retention_days: purged or archived
 * (cdf.retention_action), in batches under the lock. Returns the count or -EIO.
 */
int ocs_cdr_retire(struct ocs *o, time_t now);
struct ims_buf;
/* Append one CSV line (no newline) of a CDR; pure, unit tested. */
void ocs_cdr_csv(const struct ocs_cdr *c, struct ims_buf *b);
/* Append one CSV field of any length: quoted, inner quotes doubled (RFC 4180). */
void ocs_csv_field(struct ims_buf *b, const char *s);
extern const char ocs_cdr_csv_header[];

/* rf.c: the CDF (ACR -> ACA) */
int ocs_rf_init(struct ocs *o);
/* Commit and answer what is queued, stop the CDR writer (before the database closes) */
void ocs_rf_stop(void);

/* housekeep.c: the sweeps on their own thread */
int ocs_housekeep_start(struct ocs *o);
void ocs_housekeep_stop(void);
void ocs_housekeep_metrics(struct ocs *o);

/* api.c: REST /api/v1 */
int ocs_api_init(struct ocs *o);

#endif
