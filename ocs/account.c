/*
 * account.c - accounts (balance, reservations, kind) and the identities that charge them
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ACCOUNT_COLS "a.id, a.name, a.postpaid, a.balance, a.reserved, a.refundable"

static void read_account(sqlite3_stmt *st, struct ocs_account *out)
{
    out->id = sqlite3_column_int64(st, 0);
    ocs_db_text(st, 1, out->name, sizeof(out->name));
    out->postpaid = sqlite3_column_int(st, 2) != 0;
    out->balance = sqlite3_column_int64(st, 3);
    out->reserved = sqlite3_column_int64(st, 4);
    out->refundable = sqlite3_column_int64(st, 5);
}

static int one_account(sqlite3_stmt *st, struct ocs_account *out)
{
    if (!st)
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_account(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int find_exact(struct ims_db *db, const char *identity, struct ocs_account *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM account_ids i "
                                       "JOIN accounts a ON a.id = i.account_id "
                                       "WHERE i.identity = ?1");
    if (st)
        sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    return one_account(st, out);
}

/* The identity as given, then with the schemes a bare user part may have been stripped of
 * (Subscription-Id-Data of type E164 or NAI carries no scheme). */
int ocs_account_find(struct ims_db *db, const char *identity, struct ocs_account *out)
{
    static const char *const schemes[] = { "sip:", "tel:", "tel:+" };
    int rc = find_exact(db, identity, out);
    if (rc != -ENOENT || strchr(identity, ':'))
        return rc;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        char buf[OCS_ID_MAX + 8];
        snprintf(buf, sizeof(buf), "%s%s", schemes[i], identity);
        if ((rc = find_exact(db, buf, out)) != -ENOENT)
            return rc;
    }
    return -ENOENT;
}

int ocs_account_get(struct ims_db *db, const char *name, struct ocs_account *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts a "
                                       "WHERE a.name = ?1");
    if (st)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return one_account(st, out);
}

int ocs_account_by_id(struct ims_db *db, int64_t id, struct ocs_account *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts a "
                                       "WHERE a.id = ?1");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return one_account(st, out);
}

/* Why a guarded UPDATE changed nothing: the account is missing, or a range was left. */
static int move_refused(struct ims_db *db, int64_t id)
{
    struct ocs_account a;
    int rc = ocs_account_by_id(db, id, &a);
    return rc ? rc : -ERANGE;
}

/*
 * The one writer of money. The deltas are checked first (each within twice the range, so
 * the sums below cannot overflow an int64 in SQLite, which would turn them into REALs);
 * the WHERE clause keeps every column in its range (what is refundable only saturates: a
 * charge is never refused for its sake); the table's CHECK keeps a prepaid balance at or
 * above its reservations (-ENOSPC).
 */
static int move(struct ims_db *db, int64_t id, int64_t balance_delta, int64_t reserved_delta,
                int64_t refundable_delta)
{
    const int64_t lim = 2 * OCS_MONEY_MAX;
    if (balance_delta < -lim || balance_delta > lim || reserved_delta < -lim ||
        reserved_delta > lim || refundable_delta < -lim || refundable_delta > lim)
        return -ERANGE;
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE accounts SET balance = balance + ?2, "
                                       "reserved = reserved + ?3, "
                                       "refundable = MIN(refundable + ?4, ?6), "
                                       "updated = ?5 "
                                       "WHERE id = ?1 AND balance + ?2 BETWEEN -?6 AND ?6 "
                                       "AND reserved + ?3 BETWEEN 0 AND ?6 "
                                       "AND refundable + ?4 >= 0");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, balance_delta);
    sqlite3_bind_int64(st, 3, reserved_delta);
    sqlite3_bind_int64(st, 4, refundable_delta);
    sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
    sqlite3_bind_int64(st, 6, OCS_MONEY_MAX);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(ims_db_handle(db)) == 1 ? 0 : move_refused(db, id);
    if (rc == SQLITE_CONSTRAINT_CHECK)
        return -ENOSPC;
    ims_err("ocs: account %lld: cannot move money: %s", (long long)id, ims_db_errmsg(db));
    return -EIO;
}

int ocs_account_move(struct ims_db *db, int64_t id, int64_t balance_delta,
                     int64_t reserved_delta)
{
    return move(db, id, balance_delta, reserved_delta, 0);
}

int ocs_account_charge(struct ims_db *db, int64_t id, int64_t charged, int64_t released)
{
    if (charged < 0 || released < 0)
        return -ERANGE;
    return move(db, id, -charged, -released, charged);
}

int ocs_account_refund(struct ims_db *db, int64_t id, int64_t amount)
{
    struct ocs_account a;
    if (amount <= 0)
        return -ERANGE;
    int rc = ocs_account_by_id(db, id, &a);
    if (rc)
        return rc;
    if (amount > a.refundable)
        return -ENOSPC;
    return move(db, id, amount, 0, -amount);
}

static json_t *identities_json(struct ims_db *db, int64_t id)
{
    json_t *ids = json_array();
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT identity FROM account_ids WHERE account_id = ?1 "
                                       "ORDER BY identity");
    if (!st || !ids) {
        json_decref(ids);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(ids, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_reset(st);
    return ids;
}

json_t *ocs_account_json(struct ims_db *db, const struct ocs_account *a)
{
    json_t *ids = identities_json(db, a->id);
    if (!ids)
        return NULL;
    int64_t avail = a->postpaid ? a->balance - a->reserved : ocs_credit_available(a);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "name", a->name, "type",
                     a->postpaid ? "postpaid" : "prepaid", "balance", (json_int_t)a->balance,
                     "reserved", (json_int_t)a->reserved, "available", (json_int_t)avail,
                     "refundable", (json_int_t)a->refundable, "identities", ids);
}

json_t *ocs_account_list(struct ims_db *db, long offset, long limit)
{
    json_t *items = json_array();
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " ACCOUNT_COLS " FROM accounts a "
                                       "ORDER BY a.name LIMIT ?1 OFFSET ?2");
    if (!st || !items) {
        json_decref(items);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    struct ocs_account a[64];
    size_t n = 0;
    int rc;
    /* read the page first: ocs_account_json() runs statements of its own */
    while (n < sizeof(a) / sizeof(a[0]) && (rc = sqlite3_step(st)) == SQLITE_ROW)
        read_account(st, &a[n++]);
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, ocs_account_json(db, &a[i]));
    return json_pack("{s:I, s:I, s:o}", "offset", (json_int_t)offset, "limit",
                     (json_int_t)limit, "items", items);
}

/* ---- validation ---- */

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= OCS_NAME_MAX || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-@+", s[i]))
            return false;
    return true;
}

static bool valid_identity(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || n >= OCS_ID_MAX)
        return false;
    if (strncmp(s, "sip:", 4) != 0 && strncmp(s, "sips:", 5) != 0 && strncmp(s, "tel:", 4))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ')
            return false;
    return true;
}

static int invalid(char *field, size_t flen, const char *f, char *err, size_t elen,
                   const char *e)
{
    snprintf(field, flen, "%s", f);
    snprintf(err, elen, "%s", e);
    return -EINVAL;
}

static int validate_identities(json_t *ids, char *field, size_t flen, char *err, size_t elen)
{
    if (!json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > OCS_MAX_IDENTITIES)
        return invalid(field, flen, "identities", err, elen,
                       "required: an array of 1 to 16 sip:, sips: or tel: URIs");
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v) || !valid_identity(json_string_value(v))) {
            snprintf(field, flen, "identities[%zu]", i);
            snprintf(err, elen, "must be a sip:, sips: or tel: URI without spaces");
            return -EINVAL;
        }
    }
    return 0;
}

int ocs_account_validate(json_t *doc, bool create, char *field, size_t flen, char *err,
                         size_t elen)
{
    static const char *const known[] = { "name", "type", "identities", "balance" };
    const char *k;
    json_t *v;
    if (!json_is_object(doc))
        return invalid(field, flen, "", err, elen, "the body must be a JSON object");
    json_object_foreach(doc, k, v) {
        size_t i = 0;
        while (i < 4 && strcmp(k, known[i]) != 0)
            i++;
        if (i == 4)
            return invalid(field, flen, k, err, elen, "unknown field");
    }
    json_t *name = json_object_get(doc, "name");
    if (create && (!json_is_string(name) || !valid_name(json_string_value(name))))
        return invalid(field, flen, "name", err, elen, "required: 1 to 63 letters, digits, "
                       "'.', '_', '-', '@' or '+', starting with a letter or digit");
    json_t *type = json_object_get(doc, "type");
    const char *t = json_string_value(type);
    if (type && (!t || (strcmp(t, "prepaid") != 0 && strcmp(t, "postpaid") != 0)))
        return invalid(field, flen, "type", err, elen, "must be \"prepaid\" or \"postpaid\"");
    json_t *bal = json_object_get(doc, "balance");
    if (bal && !create)
        return invalid(field, flen, "balance", err, elen, "cannot be replaced: use "
                       "POST /api/v1/accounts/{name}/topup");
    if (bal && (!json_is_integer(bal) || json_integer_value(bal) < 0 ||
                json_integer_value(bal) > OCS_AMOUNT_MAX))
        return invalid(field, flen, "balance", err, elen,
                       "must be an integer from 0 to 10^12 (minor currency units)");
    return validate_identities(json_object_get(doc, "identities"), field, flen, err, elen);
}

/* ---- writes ---- */

static int set_identities(struct ims_db *db, int64_t id, json_t *ids, char *field,
                          size_t flen, char *err, size_t elen)
{
    sqlite3_stmt *del = ims_db_stmt(db, "DELETE FROM account_ids WHERE account_id = ?1");
    if (!del)
        return -EIO;
    sqlite3_bind_int64(del, 1, id);
    int rc = sqlite3_step(del);
    sqlite3_reset(del);
    if (rc != SQLITE_DONE)
        return -EIO;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO account_ids (identity, account_id) "
                                           "VALUES (?1, ?2)");
        if (!st)
            return -EIO;
        sqlite3_bind_text(st, 1, json_string_value(v), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            snprintf(field, flen, "identities[%zu]", i);
            snprintf(err, elen, "%s belongs to another account (or is listed twice)",
                     json_string_value(v));
            return -EEXIST;
        }
        if (rc != SQLITE_DONE)
            return -EIO;
    }
    return 0;
}

static int insert_account(struct ims_db *db, json_t *doc, int64_t *id, char *field,
                          size_t flen, char *err, size_t elen)
{
    const char *type = json_string_value(json_object_get(doc, "type"));
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO accounts (name, postpaid, balance, "
                                       "created, updated) VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, json_string_value(json_object_get(doc, "name")), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 2, type && strcmp(type, "postpaid") == 0);
    sqlite3_bind_int64(st, 3, json_integer_value(json_object_get(doc, "balance")));
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        invalid(field, flen, "name", err, elen, "an account of that name exists");
        return -EEXIST;
    }
    if (rc != SQLITE_DONE)
        return -EIO;
    *id = sqlite3_last_insert_rowid(ims_db_handle(db));
    return 0;
}

static int update_account(struct ims_db *db, json_t *doc, const char *name, int64_t *id)
{
    struct ocs_account a;
    int rc = ocs_account_get(db, name, &a);
    if (rc)
        return rc;
    *id = a.id;
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (!type)
        return 0;
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE accounts SET postpaid = ?2, updated = ?3 "
                                       "WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, a.id);
    sqlite3_bind_int(st, 2, strcmp(type, "postpaid") == 0);
    sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    /* prepaid again while overdrawn breaks the CHECK: refuse */
    return rc == SQLITE_DONE ? 0 : rc == SQLITE_CONSTRAINT_CHECK ? -ENOSPC : -EIO;
}

int ocs_account_put(struct ims_db *db, json_t *doc, bool create, const char *name,
                    char *field, size_t flen, char *err, size_t elen)
{
    int64_t id = 0;
    int rc = ocs_account_validate(doc, create, field, flen, err, elen);
    if (rc)
        return rc;
    if (ims_db_begin(db) != 0)
        return -EIO;
    rc = create ? insert_account(db, doc, &id, field, flen, err, elen)
                : update_account(db, doc, name, &id);
    if (rc == -ENOSPC)
        rc = invalid(field, flen, "type", err, elen,
                     "the balance is below the reservations: top up before prepaid");
    if (rc == 0)
        rc = set_identities(db, id, json_object_get(doc, "identities"), field, flen, err, elen);
    if (rc == 0 && ims_db_commit(db) != 0)
        rc = -EIO;
    if (rc)
        ims_db_rollback(db);
    return rc;
}

int ocs_account_delete(struct ims_db *db, const char *name)
{
    struct ocs_account a;
    int rc = ocs_account_get(db, name, &a);
    if (rc)
        return rc;
    if (a.reserved)
        return -EBUSY;
    sqlite3_stmt *st = ims_db_stmt(db, "DELETE FROM accounts WHERE id = ?1 AND NOT EXISTS "
                                       "(SELECT 1 FROM reservations r WHERE r.account_id = ?1 "
                                       "AND r.open)");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, a.id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    return sqlite3_changes(ims_db_handle(db)) == 1 ? 0 : -EBUSY;
}
