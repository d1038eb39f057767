/*
 * store.c - the HSS queries (prepared statements, one connection per thread)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One connection for the whole daemon, used under one (recursive) lock: every Cx/Sh request,
 * API request and answer callback holds it from decision to answer. Compared with one
 * connection per thread this spares SQLite's file locking and busy retries between our own
 * threads, which cost more than the queries themselves.
 */
static pthread_mutex_t g_lock;
static pthread_once_t g_lock_once = PTHREAD_ONCE_INIT;

static void make_lock(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_lock, &a);
    pthread_mutexattr_destroy(&a);
}

void hss_lock(void)
{
    pthread_once(&g_lock_once, make_lock);
    pthread_mutex_lock(&g_lock);
}

void hss_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

struct ims_db *hss_db(struct hss *h)
{
    return h->db;
}

struct locked_handler {
    ims_diam_handler fn;
    void *arg;
};

/* Run a handler under the lock; when it wrote, its answer waits for the disk (sync.c) */
static int run_locked(struct msg **msg, void *arg)
{
    struct locked_handler *l = arg;
    struct hss *h = l->arg;
    hss_lock();
    sqlite3 *db = h->db ? ims_db_handle(h->db) : NULL;
    sqlite3_int64 before = db ? sqlite3_total_changes64(db) : 0;
    int rc = l->fn(msg, l->arg);
    if (rc == 0 && db && h->db && sqlite3_total_changes64(db) != before)
        hss_sync_answer(h, msg);
    hss_unlock();
    return rc;
}

int hss_serve(struct hss *h, enum ims_cmd cmd, ims_diam_handler fn)
{
    static struct locked_handler handlers[IMS_CMD_COUNT];
    handlers[cmd] = (struct locked_handler){ fn, h };
    return ims_diam_serve(cmd, run_locked, &handlers[cmd]);
}

static void copy_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

static bool copy_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || (size_t)sqlite3_column_bytes(st, col) != len)
        return false;
    memcpy(out, sqlite3_column_blob(st, col), len);
    return true;
}

/* step a query expected to give at most one row: 0 row, -ENOENT none, -EIO error */
static int step_one(struct ims_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return -ENOENT;
    ims_err("hss db: %s", ims_db_errmsg(db));
    return -EIO;
}

static unsigned parse_schemes(const char *s)
{
    unsigned m = 0;
    if (strstr(s, "digest"))
        m |= HSS_SCHEME_DIGEST;
    if (strstr(s, "akav1"))
        m |= HSS_SCHEME_AKAV1;
    if (strstr(s, "akav2"))
        m |= HSS_SCHEME_AKAV2;
    return m;
}

static enum hss_scheme parse_scheme(const char *s)
{
    if (strcmp(s, "akav1") == 0)
        return HSS_SCHEME_AKAV1;
    if (strcmp(s, "akav2") == 0)
        return HSS_SCHEME_AKAV2;
    return HSS_SCHEME_DIGEST;
}

int hss_impi_find(struct ims_db *db, const char *identity, struct hss_impi *out)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "SELECT id, subscription_id, identity, password, ha1, k, opc, amf, sqn, schemes,"
        " default_scheme, imsi, msisdn, barred FROM impi WHERE identity = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    int rc = step_one(db, st);
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        out->id = sqlite3_column_int64(st, 0);
        out->subscription_id = sqlite3_column_int64(st, 1);
        copy_text(st, 2, out->identity, sizeof(out->identity));
        copy_text(st, 3, out->password, sizeof(out->password));
        copy_text(st, 4, out->ha1, sizeof(out->ha1));
        out->has_aka = copy_blob(st, 5, out->k, 16) && copy_blob(st, 6, out->opc, 16) &&
                       copy_blob(st, 7, out->amf, 2);
        out->sqn = (uint64_t)sqlite3_column_int64(st, 8);
        char buf[64];
        copy_text(st, 9, buf, sizeof(buf));
        out->schemes = parse_schemes(buf);
        copy_text(st, 10, buf, sizeof(buf));
        out->default_scheme = parse_scheme(buf);
        copy_text(st, 11, out->imsi, sizeof(out->imsi));
        copy_text(st, 12, out->msisdn, sizeof(out->msisdn));
        out->barred = sqlite3_column_int(st, 13) != 0;
    }
    sqlite3_reset(st);
    return rc;
}

#define IMPU_COLUMNS \
    "id, identity, type, wildcard, subscription_id, profile_id, implicit_set, barred," \
    " display_name, psi_as, psi_active, reg_state"

static void read_impu(sqlite3_stmt *st, struct hss_impu *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    copy_text(st, 1, out->identity, sizeof(out->identity));
    out->type = (enum hss_identity_type)sqlite3_column_int(st, 2);
    copy_text(st, 3, out->wildcard, sizeof(out->wildcard));
    out->subscription_id = sqlite3_column_int64(st, 4);
    out->profile_id = sqlite3_column_int64(st, 5);
    out->implicit_set = sqlite3_column_int64(st, 6);
    out->barred = sqlite3_column_int(st, 7) != 0;
    copy_text(st, 8, out->display_name, sizeof(out->display_name));
    copy_text(st, 9, out->psi_as, sizeof(out->psi_as));
    out->psi_active = sqlite3_column_int(st, 10) != 0;
    out->reg_state = (enum hss_reg_state)sqlite3_column_int(st, 11);
}

int hss_impu_by_id(struct ims_db *db, int64_t id, struct hss_impu *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " IMPU_COLUMNS " FROM impu WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = step_one(db, st);
    if (rc == 0)
        read_impu(st, out);
    sqlite3_reset(st);
    return rc;
}

/* Wildcarded identities: the stored extended regex must match the whole identity. */
static int find_wildcard(struct ims_db *db, const char *identity, struct hss_impu *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " IMPU_COLUMNS " FROM impu"
                                       " WHERE type IN (2, 3) AND wildcard IS NOT NULL"
                                       " ORDER BY length(wildcard) DESC");
    if (!st)
        return -EIO;
    int rc = -ENOENT, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *re = (const char *)sqlite3_column_text(st, 3);
        char anchored[HSS_ID_MAX + 4];
        regex_t r;
        snprintf(anchored, sizeof(anchored), "^%s$", re ? re : "");
        if (!re || regcomp(&r, anchored, REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        bool match = regexec(&r, identity, 0, NULL, 0) == 0;
        regfree(&r);
        if (match) {
            read_impu(st, out);
            rc = 0;
            break;
        }
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = -EIO;
    sqlite3_reset(st);
    return rc;
}

int hss_impu_find(struct ims_db *db, const char *identity, struct hss_impu *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " IMPU_COLUMNS " FROM impu WHERE identity = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    int rc = step_one(db, st);
    if (rc == 0)
        read_impu(st, out);
    sqlite3_reset(st);
    if (rc == -ENOENT)
        rc = find_wildcard(db, identity, out);
    return rc;
}

int hss_subscription_get(struct ims_db *db, int64_t id, struct hss_subscription *out)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "SELECT id, name, scscf_name, scscf_host, mandatory_caps, optional_caps, ccf_primary,"
        " ccf_secondary, ecf_primary, ecf_secondary FROM subscription WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = step_one(db, st);
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        out->id = sqlite3_column_int64(st, 0);
        copy_text(st, 1, out->name, sizeof(out->name));
        copy_text(st, 2, out->scscf_name, sizeof(out->scscf_name));
        copy_text(st, 3, out->scscf_host, sizeof(out->scscf_host));
        copy_text(st, 4, out->mandatory_caps, sizeof(out->mandatory_caps));
        copy_text(st, 5, out->optional_caps, sizeof(out->optional_caps));
        copy_text(st, 6, out->ccf[0], sizeof(out->ccf[0]));
        copy_text(st, 7, out->ccf[1], sizeof(out->ccf[1]));
        copy_text(st, 8, out->ecf[0], sizeof(out->ecf[0]));
        copy_text(st, 9, out->ecf[1], sizeof(out->ecf[1]));
    }
    sqlite3_reset(st);
    return rc;
}

bool hss_impi_has_impu(struct ims_db *db, int64_t impi_id, int64_t impu_id)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT 1 FROM impi_impu WHERE impi_id = ?1"
                                       " AND impu_id = ?2");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, impi_id);
    sqlite3_bind_int64(st, 2, impu_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

int hss_sqn_reserve(struct ims_db *db, int64_t impi_id, unsigned count, uint64_t *first)
{
    /* one statement: SQLite serialises writers, so concurrent MARs never share a SQN */
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE impi SET sqn = (sqn + 32 * ?2) & 281474976710655"
                                       " WHERE id = ?1 RETURNING sqn");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, impi_id);
    sqlite3_bind_int64(st, 2, count);
    int rc = step_one(db, st);
    if (rc == 0) {
        uint64_t last = (uint64_t)sqlite3_column_int64(st, 0);
        *first = (last - 32ULL * (count - 1)) & 0xffffffffffffULL;
        /* finish the statement: the write commits here, and a failed commit means no
         * vector may be built from these SQNs */
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (s != SQLITE_DONE) {
            ims_err("hss db: the SQN reservation did not commit: %s", ims_db_errmsg(db));
            rc = -EIO;
        }
    }
    sqlite3_reset(st);
    return rc;
}

int hss_sqn_set(struct ims_db *db, int64_t impi_id, uint64_t sqn)
{
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE impi SET sqn = ?2 WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, impi_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(sqn & 0xffffffffffffULL));
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    return rc;
}

int hss_implicit_set(struct ims_db *db, const struct hss_impu *impu, int64_t *ids, int max)
{
    if (!impu->implicit_set || max < 1) {
        ids[0] = impu->id;
        return 1;
    }
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT id FROM impu WHERE implicit_set = ?1"
                                       " AND subscription_id IS ?2 ORDER BY id");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, impu->implicit_set);
    if (impu->subscription_id)
        sqlite3_bind_int64(st, 2, impu->subscription_id);
    else
        sqlite3_bind_null(st, 2);
    int n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (n == 0)
        ids[n++] = impu->id;
    return n;
}

static int exec_bound(struct ims_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    if (rc)
        ims_err("hss db: %s", ims_db_errmsg(db));
    sqlite3_reset(st);
    return rc;
}

int hss_scscf_set(struct ims_db *db, int64_t subscription_id, const char *scscf,
                  const char *scscf_host)
{
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE subscription SET scscf_name = ?2,"
                                       " scscf_host = ?3 WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, subscription_id);
    if (scscf && *scscf)
        sqlite3_bind_text(st, 2, scscf, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    if (scscf && *scscf && scscf_host && *scscf_host)
        sqlite3_bind_text(st, 3, scscf_host, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    return exec_bound(db, st);
}

/* true when the set, the IMPI links and the S-CSCF already say what a write would say */
static bool registration_unchanged(struct ims_db *db, const struct hss_impu *impu,
                                   const int64_t *ids, int n, int64_t impi_id,
                                   enum hss_reg_state state, const char *scscf,
                                   const char *scscf_host)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT u.reg_state, l.registered FROM impu u"
                                       " LEFT JOIN impi_impu l ON l.impu_id = u.id"
                                       " AND l.impi_id = ?2 WHERE u.id = ?1");
    if (!st)
        return false;
    bool same = true;
    for (int i = 0; same && i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int64(st, 2, impi_id);
        same = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == (int)state &&
               (!impi_id || sqlite3_column_type(st, 1) == SQLITE_NULL ||
                sqlite3_column_int(st, 1) == (state == HSS_REGISTERED));
        sqlite3_reset(st);
    }
    if (!same || !impu->subscription_id)
        return same;
    struct hss_subscription s;
    if (hss_subscription_get(db, impu->subscription_id, &s) != 0)
        return false;
    return strcmp(s.scscf_name, scscf ? scscf : "") == 0 &&
           strcmp(s.scscf_host, scscf && *scscf && scscf_host ? scscf_host : "") == 0;
}

int hss_registration_set(struct ims_db *db, const struct hss_impu *impu, int64_t impi_id,
                         enum hss_reg_state state, const char *scscf, const char *scscf_host)
{
    int64_t ids[64];
    int n = hss_implicit_set(db, impu, ids, 64);
    if (n < 0)
        return n;
    /* a re-registration usually changes nothing: spare the write transaction */
    if (registration_unchanged(db, impu, ids, n, impi_id, state, scscf, scscf_host))
        return 0;
    if (ims_db_begin(db) != 0)
        return -EIO;
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE impu SET reg_state = ?2 WHERE id = ?1");
    sqlite3_stmt *link = ims_db_stmt(db, "UPDATE impi_impu SET registered = ?3"
                                         " WHERE impi_id = ?1 AND impu_id = ?2");
    int rc = st && link ? 0 : -EIO;
    for (int i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int(st, 2, state);
        rc = exec_bound(db, st);
        if (rc == 0 && impi_id) {
            sqlite3_bind_int64(link, 1, impi_id);
            sqlite3_bind_int64(link, 2, ids[i]);
            sqlite3_bind_int(link, 3, state == HSS_REGISTERED);
            rc = exec_bound(db, link);
        }
    }
    if (rc == 0 && impu->subscription_id)
        rc = hss_scscf_set(db, impu->subscription_id, scscf, scscf_host);
    if (rc == 0)
        return ims_db_commit(db);
    ims_db_rollback(db);
    return rc;
}

bool hss_impu_registered_elsewhere(struct ims_db *db, int64_t impu_id, int64_t impi_id)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT 1 FROM impi_impu WHERE impu_id = ?1"
                                       " AND impi_id <> ?2 AND registered = 1 LIMIT 1");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, impu_id);
    sqlite3_bind_int64(st, 2, impi_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

bool hss_impu_has_unreg_services(struct ims_db *db, const struct hss_impu *impu)
{
    if (!impu->profile_id)
        return false;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT 1 FROM ifc WHERE profile_id = ?1"
                                       " AND unreg_services = 1 LIMIT 1");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, impu->profile_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

int hss_subscription_deregister(struct ims_db *db, int64_t subscription_id)
{
    sqlite3_stmt *a = ims_db_stmt(db, "UPDATE impu SET reg_state = 0 WHERE subscription_id = ?1");
    sqlite3_stmt *b = ims_db_stmt(db, "UPDATE impi_impu SET registered = 0 WHERE impi_id IN"
                                      " (SELECT id FROM impi WHERE subscription_id = ?1)");
    if (!a || !b || ims_db_begin(db) != 0)
        return -EIO;
    sqlite3_bind_int64(a, 1, subscription_id);
    sqlite3_bind_int64(b, 1, subscription_id);
    int rc = exec_bound(db, a);
    if (rc == 0)
        rc = exec_bound(db, b);
    if (rc == 0)
        rc = hss_scscf_set(db, subscription_id, NULL, NULL);
    if (rc == 0)
        return ims_db_commit(db);
    ims_db_rollback(db);
    return rc;
}
