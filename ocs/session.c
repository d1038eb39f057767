/*
 * session.c - Ro sessions against the accounts: reserve (INITIAL), charge and reserve again
 * (UPDATE), charge and release (TERMINATION), immediate event charging (EVENT)
 *
 * Every request runs in one transaction under the daemon's lock: the availability check and
 * the reservation are one atomic step, so concurrent sessions on one account never reserve
 * more than its balance (the accounts table's CHECK guards the same invariant).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ro.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A reservation row: one credit unit of one session */
struct row {
    bool found;
    int64_t account_id;
    char service[OCS_SERVICE_MAX];
    char destination[OCS_ID_MAX];
    struct ocs_rate rate;        /* id, unit and price as rated at INITIAL */
    uint64_t granted;
    int64_t amount;
    uint32_t cc_number;
    bool final;
    bool open;
};

static int close_rows(struct ims_db *db, const char *session_id, time_t now, bool debit);

static void fail(struct ro_request *q, uint32_t code, const char *fmt, const char *arg)
{
    q->result = code;
    snprintf(q->error, sizeof(q->error), fmt, arg);
}

static int row_load(struct ims_db *db, const char *sid, int64_t key, struct row *r)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT account_id, service, destination, rate_id, "
                                       "unit, price, granted, amount, cc_number, final, open "
                                       "FROM reservations WHERE session_id = ?1 AND "
                                       "(unit_key = ?2 OR ?2 IS NULL) ORDER BY open DESC "
                                       "LIMIT 1");
    memset(r, 0, sizeof(*r));
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    if (key != INT64_MIN)
        sqlite3_bind_int64(st, 2, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->found = true;
        r->account_id = sqlite3_column_int64(st, 0);
        ocs_db_text(st, 1, r->service, sizeof(r->service));
        ocs_db_text(st, 2, r->destination, sizeof(r->destination));
        r->rate.id = sqlite3_column_int64(st, 3);
        r->rate.unit = sqlite3_column_int(st, 4) ? OCS_UNIT_EVENT : OCS_UNIT_SECOND;
        r->rate.price = sqlite3_column_int64(st, 5);
        r->granted = (uint64_t)sqlite3_column_int64(st, 6);
        r->amount = sqlite3_column_int64(st, 7);
        r->cc_number = (uint32_t)sqlite3_column_int64(st, 8);
        r->final = sqlite3_column_int(st, 9) != 0;
        r->open = sqlite3_column_int(st, 10) != 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int row_store(struct ims_db *db, const struct ro_request *q, const struct ro_unit *u,
                     const struct row *r, uint64_t used, int64_t charged, time_t now)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "INSERT INTO reservations (session_id, unit_key, account_id, service, destination, "
        "rate_id, unit, price, granted, amount, used_total, charged_total, cc_number, "
        "origin_host, open, final, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17) "
        "ON CONFLICT (session_id, unit_key) DO UPDATE SET granted = ?9, amount = ?10, "
        "used_total = used_total + ?11, charged_total = charged_total + ?12, "
        "cc_number = ?13, open = ?15, final = ?16, updated = ?17");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, q->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, u->key);
    sqlite3_bind_int64(st, 3, r->account_id);
    sqlite3_bind_text(st, 4, r->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->destination, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, r->rate.id);
    sqlite3_bind_int(st, 7, (int)r->rate.unit);
    sqlite3_bind_int64(st, 8, r->rate.price);
    sqlite3_bind_int64(st, 9, (int64_t)r->granted);
    sqlite3_bind_int64(st, 10, r->amount);
    sqlite3_bind_int64(st, 11, (int64_t)used);
    sqlite3_bind_int64(st, 12, charged);
    sqlite3_bind_int64(st, 13, q->number);
    sqlite3_bind_text(st, 14, q->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 15, r->open);
    sqlite3_bind_int(st, 16, r->final);
    sqlite3_bind_int64(st, 17, (int64_t)now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static uint64_t wanted(const struct ocs *o, const struct ro_unit *u, enum ocs_unit unit)
{
    if (unit == OCS_UNIT_SECOND)
        return u->rsu_time_set && u->rsu_time ? u->rsu_time : o->cfg.quota_time;
    return u->rsu_units_set && u->rsu_units ? u->rsu_units : o->cfg.quota_units;
}

/* The usage a unit reports, clamped to OCS_UNITS_MAX (what is charged is clamped again). */
static uint64_t used_units(const struct ro_unit *u, enum ocs_unit unit)
{
    uint64_t n;
    if (unit == OCS_UNIT_SECOND)
        n = u->usu_time_set ? u->usu_time : u->usu_units;
    else
        n = u->usu_units_set ? u->usu_units : u->usu_time;
    return n < OCS_UNITS_MAX ? n : OCS_UNITS_MAX;
}

/* Charge the usage a unit reports against its row and release the row's reservation. */
static int charge(struct ims_db *db, struct row *r, const struct ro_unit *u, uint64_t *used,
                  int64_t *charged)
{
    struct ocs_account a;
    int rc = ocs_account_by_id(db, r->account_id, &a);
    if (rc)
        return rc == -ENOENT ? -EIO : rc;
    *used = u ? used_units(u, r->rate.unit) : 0;
    *charged = ocs_credit_charge(&a, r->rate.price, *used, r->granted);
    rc = ocs_account_charge(db, a.id, *charged, r->amount);
    r->amount = 0;
    r->granted = 0;
    return rc;
}

/* Reserve the next grant of a unit: u->result says whether there was credit. */
static int grant(struct ocs *o, struct ims_db *db, struct row *r, struct ro_unit *u)
{
    struct ocs_account a;
    int rc = ocs_account_by_id(db, r->account_id, &a);
    if (rc)
        return rc == -ENOENT ? -EIO : rc;
    uint64_t want = wanted(o, u, r->rate.unit);
    if (want > OCS_UNITS_MAX)
        want = OCS_UNITS_MAX;   /* no more is ever granted at once */
    uint64_t n = r->final ? 0 : ocs_credit_grantable(&a, r->rate.price, want);
    int64_t amount = 0;
    u->unit = r->rate.unit;
    if (n == 0 || ocs_credit_price(n, r->rate.price, &amount) != 0) {
        u->result = IMS_DIAM_CREDIT_LIMIT_REACHED;
        return 0;
    }
    rc = ocs_account_move(db, a.id, 0, amount);
    if (rc == -ENOSPC || rc == -ERANGE) {
        /* cannot happen under the lock; the database says no all the same */
        u->result = IMS_DIAM_CREDIT_LIMIT_REACHED;
        return 0;
    }
    if (rc)
        return rc;
    a.reserved += amount;
    r->granted = n;
    r->amount = amount;
    r->final = ocs_credit_final(&a, r->rate.price, n, want);
    u->granted = n;
    u->final = r->final;
    u->result = IMS_DIAM_SUCCESS;
    return 0;
}

/* The account and rate of a new session (5030, 5031 on failure). */
static int rate_request(struct ims_db *db, struct ro_request *q, struct row *r,
                        struct ocs_account *a)
{
    int rc = -ENOENT;
    for (int i = 0; i < q->nsubscriptions && rc == -ENOENT; i++)
        rc = ocs_account_find(db, q->subscription[i], a);
    if (rc == -ENOENT) {
        fail(q, IMS_DIAM_USER_UNKNOWN, "no account for the subscription %s",
             q->nsubscriptions ? q->subscription[0] : "(none)");
        return 0;
    }
    if (rc)
        return rc;
    ocs_rating_service(q->method, q->type != CC_EVENT, r->service, sizeof(r->service));
    ocs_rating_destination(q->called, r->destination, sizeof(r->destination));
    rc = ocs_rating_find(db, r->service, r->destination, &r->rate);
    if (rc == 0 && (r->rate.price < 0 || r->rate.price > OCS_PRICE_MAX)) {
        ims_err("ocs: rate %lld has a price out of range (%lld): not used",
                (long long)r->rate.id, (long long)r->rate.price);
        fail(q, IMS_DIAM_RATING_FAILED, "%s", "the rate's price is out of range");
        return 0;
    }
    if (rc == -ENOENT) {
        char what[OCS_ID_MAX + OCS_SERVICE_MAX + 8];
        snprintf(what, sizeof(what), "%s to '%s'", r->service, r->destination);
        fail(q, IMS_DIAM_RATING_FAILED, "no rate for %s", what);
        return 0;
    }
    if (rc)
        return rc;
    r->account_id = a->id;
    r->open = true;
    return 0;
}

/* Top-level result from the units: success when any unit got credit. */
static void sum_up(struct ro_request *q)
{
    q->result = q->nunits ? q->units[0].result : IMS_DIAM_SUCCESS;
    for (int i = 0; i < q->nunits; i++)
        if (q->units[i].result == IMS_DIAM_SUCCESS)
            q->result = IMS_DIAM_SUCCESS;
    if (q->result == IMS_DIAM_CREDIT_LIMIT_REACHED)
        snprintf(q->error, sizeof(q->error), "the credit of the account is used up");
}

/* Whether ocs.max_sessions credit-control sessions are open (then 3004 in @q). */
static int too_busy(struct ocs *o, struct ims_db *db, struct ro_request *q)
{
    int64_t open = ocs_ro_sessions_open(db);
    if (open < 0)
        return -EIO;
    if (open < (int64_t)o->cfg.max_sessions)
        return 0;
    q->result = IMS_DIAM_TOO_BUSY;
    snprintf(q->error, sizeof(q->error), "%lld credit-control sessions are open "
             "(ocs.max_sessions)", (long long)open);
    return 0;
}

static int initial(struct ocs *o, struct ims_db *db, struct ro_request *q, time_t now)
{
    struct row base, r;
    struct ocs_account a;
    bool opened = false;
    if (row_load(db, q->session_id, INT64_MIN, &base) != 0)
        return -EIO;
    if (base.found) {
        fail(q, IMS_DIAM_INVALID_AVP_VALUE, "%s", "CC-Request-Type: INITIAL_REQUEST for a "
             "session that exists");
        return 0;
    }
    int rc = too_busy(o, db, q);
    if (rc == 0 && !q->result)
        rc = rate_request(db, q, &base, &a);
    if (rc || q->result)
        return rc;
    for (int i = 0; i < q->nunits; i++) {
        r = base;
        if ((rc = grant(o, db, &r, &q->units[i])) != 0)
            return rc;
        if (q->units[i].result != IMS_DIAM_SUCCESS)
            continue;
        if ((rc = row_store(db, q, &q->units[i], &r, 0, 0, now)) != 0)
            return rc;
        opened = true;
    }
    if (opened && ocs_db_counter_add(db, "ro_sessions", 1) != 0)
        return -EIO;
    sum_up(q);
    q->validity = true;
    return 0;
}

/* The credit units a session has (open or not): OCS_MAX_SESSION_UNITS at most. */
static int session_units(struct ims_db *db, const char *sid, int64_t *n)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT COUNT(*) FROM reservations "
                                       "WHERE session_id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

/* A rating group new to a session: rated as the session, unless it has units enough. */
static int new_unit(struct ims_db *db, const struct ro_request *q, const struct row *base,
                    struct row *r, struct ro_unit *u)
{
    int64_t n;
    if (session_units(db, q->session_id, &n) != 0)
        return -EIO;
    if (n >= OCS_MAX_SESSION_UNITS) {
        u->result = IMS_DIAM_INVALID_AVP_VALUE;
        return 1;
    }
    *r = *base;
    r->granted = 0;
    r->amount = 0;
    r->final = false;
    return 0;
}

/* UPDATE and TERMINATION: charge what each unit used; UPDATE reserves again. */
static int follow_up(struct ocs *o, struct ims_db *db, struct ro_request *q, time_t now)
{
    struct row base, r;
    if (row_load(db, q->session_id, INT64_MIN, &base) != 0)
        return -EIO;
    if (!base.found || !base.open) {
        fail(q, IMS_DIAM_UNKNOWN_SESSION_ID, "no open credit-control session %s",
             q->session_id);
        return 0;
    }
    bool terminate = q->type == CC_TERMINATION;
    for (int i = 0; i < q->nunits; i++) {
        struct ro_unit *u = &q->units[i];
        uint64_t used = 0;
        int64_t charged = 0;
        if (row_load(db, q->session_id, u->key, &r) != 0)
            return -EIO;
        if (r.found && r.open && q->number <= r.cc_number) {
            /* a retransmission (or a request overtaken by a later one): the grant as it
             * stands, nothing charged twice */
            u->result = IMS_DIAM_SUCCESS;
            u->unit = r.rate.unit;
            u->granted = r.granted;
            u->final = r.final;
            continue;
        }
        if (!r.found) {
            int rc = new_unit(db, q, &base, &r, u);
            if (rc < 0)
                return rc;
            if (rc > 0)
                continue;
        } else if (r.open && charge(db, &r, u, &used, &charged) != 0) {
            return -EIO;
        }
        u->result = IMS_DIAM_SUCCESS;
        if (!terminate && r.open && grant(o, db, &r, u) != 0)
            return -EIO;
        r.open = !terminate;
        if (row_store(db, q, u, &r, used, charged, now) != 0)
            return -EIO;
    }
    sum_up(q);
    if (terminate) {
        q->result = IMS_DIAM_SUCCESS;
        q->error[0] = '\0';
    }
    q->validity = !terminate;
    if (!terminate)
        return 0;
    /* the units the TERMINATION did not name close too; the session was open: one less */
    if (close_rows(db, q->session_id, now, false) < 0)
        return -EIO;
    return ocs_db_counter_add(db, "ro_sessions", -1);
}

/* IEC DIRECT_DEBITING: the price of the event leaves the account (4012 when short). */
static int debit(struct ims_db *db, struct ro_request *q, const struct ocs_account *a,
                 uint64_t units)
{
    struct ro_unit *u = &q->units[0];
    if (ocs_credit_available(a) < q->cost) {
        fail(q, IMS_DIAM_CREDIT_LIMIT_REACHED, "%s", "the balance is short of the price "
             "of the event");
        u->result = q->result;
        return 0;
    }
    int rc = ocs_account_charge(db, a->id, q->cost, 0);
    if (rc == -ENOSPC || rc == -ERANGE) {   /* the database's own refusal */
        fail(q, IMS_DIAM_CREDIT_LIMIT_REACHED, "%s", "the balance is short of the price "
             "of the event");
        u->result = q->result;
        return 0;
    }
    u->granted = units;
    u->result = IMS_DIAM_SUCCESS;
    return rc;
}

/* IEC REFUND_ACCOUNT: at most what Ro charged the account comes back (a CCR never makes
 * money appear). 1 when refused (the answer is in @q). */
static int refund(struct ims_db *db, struct ro_request *q, const struct ocs_account *a)
{
    if (q->cost == 0)
        return 0;
    int rc = ocs_account_refund(db, a->id, q->cost);
    if (rc != -ENOSPC && rc != -ERANGE)
        return rc;
    char why[96];
    snprintf(why, sizeof(why), "%lld, more than the %lld Ro charged the account",
             (long long)q->cost, (long long)a->refundable);
    fail(q, IMS_DIAM_INVALID_AVP_VALUE, "Requested-Action REFUND_ACCOUNT: a refund of %s",
         why);
    q->cost_set = false;
    return 1;
}

/* IEC: the price of the units of the event, and the account movement of its action. */
static int event(struct ocs *o, struct ims_db *db, struct ro_request *q, time_t now)
{
    struct row r;
    struct ocs_account a;
    int rc = rate_request(db, q, &r, &a);
    if (rc || q->result)
        return rc;
    struct ro_unit *u = &q->units[0];
    uint64_t units = wanted(o, u, r.rate.unit);
    if (ocs_credit_price(units, r.rate.price, &q->cost) != 0) {
        fail(q, IMS_DIAM_INVALID_AVP_VALUE, "Requested-Service-Unit: %s",
             r.rate.unit == OCS_UNIT_SECOND ? "CC-Time above 2147483647"
                                            : "CC-Service-Specific-Units above 2147483647");
        u->result = q->result;
        return 0;
    }
    q->cost_set = true;
    u->unit = r.rate.unit;
    q->result = IMS_DIAM_SUCCESS;
    switch (q->action) {
    case ACTION_CHECK_BALANCE:
        q->check_balance = ocs_credit_available(&a) >= q->cost ? 0 : 1;
        return 0;
    case ACTION_PRICE_ENQUIRY:
        return 0;
    case ACTION_REFUND_ACCOUNT:
        rc = refund(db, q, &a);
        if (rc > 0)
            return 0;
        break;
    default:
        rc = debit(db, q, &a, units);
        break;
    }
    return rc ? rc : ocs_ro_event_store(db, q, a.id, units, now);
}

int ocs_ro_event_store(struct ims_db *db, const struct ro_request *q, int64_t account_id,
                       uint64_t units, time_t now)
{
    if (q->action != ACTION_DIRECT_DEBITING && q->action != ACTION_REFUND_ACCOUNT)
        return 0;
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO ro_events (session_id, account_id, action, "
                                       "units, unit, amount, result, created) VALUES (?1, ?2, "
                                       "?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, q->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, account_id);
    sqlite3_bind_int(st, 3, q->action);
    sqlite3_bind_int64(st, 4, (int64_t)units);
    sqlite3_bind_int(st, 5, (int)q->units[0].unit);
    sqlite3_bind_int64(st, 6, q->cost);
    sqlite3_bind_int64(st, 7, q->result);
    sqlite3_bind_int64(st, 8, (int64_t)now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int ocs_ro_event_replay(struct ims_db *db, struct ro_request *q)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT action, units, unit, amount, result FROM "
                                       "ro_events WHERE session_id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, q->session_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct ro_unit *u = &q->units[0];
        q->action = sqlite3_column_int(st, 0);
        u->unit = sqlite3_column_int(st, 2) ? OCS_UNIT_EVENT : OCS_UNIT_SECOND;
        q->cost = sqlite3_column_int64(st, 3);
        q->cost_set = true;
        q->result = (uint32_t)sqlite3_column_int64(st, 4);
        u->result = q->result;
        if (q->result == IMS_DIAM_SUCCESS && q->action == ACTION_DIRECT_DEBITING)
            u->granted = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Close the open rows of a session, releasing (or debiting) their money: the count of rows
 * closed, or -EIO. */
static int close_rows(struct ims_db *db, const char *session_id, time_t now, bool debit)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT account_id, SUM(amount) FROM reservations "
                                       "WHERE session_id = ?1 AND open GROUP BY account_id");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    int64_t account = 0, amount = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        account = sqlite3_column_int64(st, 0);
        amount = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -EIO;
    if (amount) {
        rc = debit ? ocs_account_charge(db, account, amount, amount)
                   : ocs_account_move(db, account, 0, -amount);
        if (rc != 0)
            return -EIO;
    }
    st = ims_db_stmt(db, "UPDATE reservations SET open = 0, granted = 0, amount = 0, "
                         "charged_total = charged_total + CASE WHEN ?3 THEN amount ELSE 0 END, "
                         "updated = ?2 WHERE session_id = ?1 AND open");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    sqlite3_bind_int(st, 3, debit);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_changes(ims_db_handle(db)) : -EIO;
}

int ocs_ro_close_session(struct ims_db *db, const char *session_id, time_t now, bool debit)
{
    int n = close_rows(db, session_id, now, debit);
    if (n <= 0)
        return n;
    return ocs_db_counter_add(db, "ro_sessions", -1);   /* it was open: one less */
}

int64_t ocs_ro_sessions_open(struct ims_db *db)
{
    return ocs_db_counter(db, "ro_sessions");
}

/* Delete at most @max rows of @sql (bound: ?1 the cutoff, ?2 the limit). */
static int forget(struct ims_db *db, const char *sql, int64_t cutoff, int max)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, max);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_changes(ims_db_handle(db)) : -EIO;
}

int ocs_ro_forget(struct ocs *o, time_t now, int max)
{
    if (!o->cfg.history_days)
        return 0;
    int64_t cutoff = (int64_t)now - (int64_t)o->cfg.history_days * 86400;
    if (ims_db_begin(o->db) != 0)
        return -EIO;
    int a = forget(o->db, "DELETE FROM reservations WHERE rowid IN (SELECT rowid FROM "
                          "reservations WHERE open = 0 AND updated < ?1 LIMIT ?2)",
                   cutoff, max);
    int b = a < 0 ? a : forget(o->db, "DELETE FROM ro_events WHERE rowid IN (SELECT rowid "
                                      "FROM ro_events WHERE created < ?1 LIMIT ?2)",
                               cutoff, max);
    if (b < 0 || ims_db_commit(o->db) != 0) {
        ims_db_rollback(o->db);
        return -EIO;
    }
    return a + b;
}

int ocs_session_process(struct ocs *o, struct ro_request *q, time_t now)
{
    struct ims_db *db = o->db;
    q->check_balance = -1;
    if (ims_db_begin(db) != 0)
        return -EIO;
    int rc;
    if (q->type == CC_EVENT && ocs_ro_event_replay(db, q) == 0)
        rc = 0;
    else if (q->type == CC_EVENT)
        rc = event(o, db, q, now);
    else if (q->type == CC_INITIAL)
        rc = initial(o, db, q, now);
    else
        rc = follow_up(o, db, q, now);
    if (rc == 0 && ims_db_commit(db) == 0)
        return 0;
    ims_db_rollback(db);
    return -EIO;
}
