/*
 * subscriber.c - provisioning writes: a validated subscriber document (subscriber_doc.c)
 * stored in one transaction, seeds of many documents all or nothing, deletion, and bulk
 * creation of benchmark subscribers.
 *
 * Every write runs in one transaction with prepared statements only. A replace updates rows
 * in place so that what the network learned survives: impu ids (Sh data and subscriptions
 * hang on them), registration states, the assigned S-CSCF, and SQNs that only move forward.
 * Snapshots of the subscription taken before and after the write tell whether the S-CSCF
 * must be told (PPR), which profiles' iFCs changed (Sh), or whether nothing changed at all.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "subscriber.h"
#include "log.h"
#include "milenage.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK_BATCH 1000      /* benchmark subscribers per transaction */

/* ---- statements ---- */

/* Step a write statement to completion: 0 or -EIO (logged). */
static int run(struct ims_db *db, sqlite3_stmt *st)
{
    int s = sqlite3_step(st);
    int rc = s == SQLITE_DONE || s == SQLITE_ROW ? 0 : -EIO;
    if (rc)
        ims_err("hss provisioning: %s", ims_db_errmsg(db));
    sqlite3_reset(st);
    return rc;
}

/* the row id of the last INSERT on this connection */
static int64_t last_id(struct ims_db *db)
{
    return sqlite3_last_insert_rowid(ims_db_handle(db));
}

/* bind @s, or NULL when it is NULL or empty */
static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* bind @id, or NULL when it is 0 */
static void bind_opt_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

/* One int64 from a query with one text parameter: 0, -ENOENT or -EIO. */
static int query_id(struct ims_db *db, const char *sql, const char *text, int64_t *id)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (s != SQLITE_DONE)
        ims_err("hss provisioning: %s", ims_db_errmsg(db));
    sqlite3_reset(st);
    return s == SQLITE_ROW ? 0 : s == SQLITE_DONE ? -ENOENT : -EIO;
}

int hss_subscriber_find(struct ims_db *db, const char *name, int64_t *id)
{
    return query_id(db, "SELECT id FROM subscription WHERE name = ?1", name, id);
}

/*
 * Who owns @identity (@sql selects subscription id and name)? 0 when nobody or @sub,
 * else -EEXIST with @r naming @field.
 */
static int check_owner(struct ims_db *db, const char *sql, const char *identity, int64_t sub,
                       const char *field, struct hss_put_result *r)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    int s = sqlite3_step(st), rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : -EIO;
    if (s == SQLITE_ROW && sqlite3_column_int64(st, 0) != sub) {
        const unsigned char *owner = sqlite3_column_text(st, 1);
        snprintf(r->field, sizeof(r->field), "%s", field);
        if (owner)
            snprintf(r->err, sizeof(r->err), "%s already belongs to subscriber %s", identity,
                     (const char *)owner);
        else
            snprintf(r->err, sizeof(r->err), "%s is already provisioned without a "
                                             "subscription", identity);
        rc = -EEXIST;
    }
    sqlite3_reset(st);
    return rc;
}

/* Every identity of @d free or already @sub's: 0, else -EEXIST naming it (or -EIO). */
static int check_conflicts(struct ims_db *db, const struct hss_doc *d, int64_t sub,
                           struct hss_put_result *r)
{
    int rc = 0;
    char f[32];
    for (size_t i = 0; rc == 0 && i < d->nimpis; i++) {
        snprintf(f, sizeof(f), "impis[%zu].identity", i);
        rc = check_owner(db, "SELECT s.id, s.name FROM impi i JOIN subscription s"
                             " ON s.id = i.subscription_id WHERE i.identity = ?1",
                         d->impis[i].identity, sub, f, r);
    }
    for (size_t i = 0; rc == 0 && i < d->nimpus; i++) {
        snprintf(f, sizeof(f), "impus[%zu].identity", i);
        rc = check_owner(db, "SELECT ifnull(u.subscription_id, -1), s.name FROM impu u"
                             " LEFT JOIN subscription s ON s.id = u.subscription_id"
                             " WHERE u.identity = ?1",
                         d->impus[i].identity, sub, f, r);
    }
    return rc;
}

/* ---- snapshots: what changed? ---- */

/* Append every column of every row of @sql (parameter 1 = @id) to @b. */
static int dump_rows(struct ims_db *db, const char *sql, int64_t id, struct ims_buf *b)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            ims_buf_add(b, t ? (const char *)t : "\x01");
            ims_buf_add(b, "\x1f");
        }
        ims_buf_add(b, "\x1e");
    }
    sqlite3_reset(st);
    return s == SQLITE_DONE ? 0 : -EIO;
}

/* what the S-CSCF holds: User-Data (identities, profiles in use, iFCs) and charging */
static const char *const service_sql[] = {
    "SELECT ccf_primary, ccf_secondary, ecf_primary, ecf_secondary FROM subscription"
    " WHERE id = ?1",
    "SELECT u.identity, u.type, u.wildcard, u.barred, u.implicit_set, u.display_name,"
    " u.psi_as, u.psi_active, p.name FROM impu u LEFT JOIN service_profile p"
    " ON p.id = u.profile_id WHERE u.subscription_id = ?1 ORDER BY u.identity",
    "SELECT p.name, i.priority, i.xml FROM service_profile p JOIN ifc i ON i.profile_id = p.id"
    " WHERE p.id IN (SELECT profile_id FROM impu WHERE subscription_id = ?1)"
    " ORDER BY p.name, i.priority, i.id",
    "SELECT p.name, s.shared_ifc FROM service_profile p JOIN profile_shared_ifc s"
    " ON s.profile_id = p.id WHERE p.id IN (SELECT profile_id FROM impu"
    " WHERE subscription_id = ?1) ORDER BY p.name, s.shared_ifc",
    "SELECT i.identity, u.identity FROM impi_impu l JOIN impi i ON i.id = l.impi_id"
    " JOIN impu u ON u.id = l.impu_id WHERE u.subscription_id = ?1 ORDER BY 1, 2",
};

/* everything else provisioning sets */
static const char *const other_sql[] = {
    "SELECT identity, password, ha1, hex(k), hex(opc), hex(amf), sqn, schemes,"
    " default_scheme, imsi, msisdn, barred, ip_address, line_ids FROM impi"
    " WHERE subscription_id = ?1 ORDER BY identity",
    "SELECT mandatory_caps, optional_caps FROM subscription WHERE id = ?1",
    "SELECT network FROM visited_network WHERE subscription_id = ?1 ORDER BY network",
    "SELECT p.name, i.priority, i.spec FROM service_profile p LEFT JOIN ifc i"
    " ON i.profile_id = p.id WHERE p.subscription_id = ?1 ORDER BY p.name, i.priority, i.id",
    "SELECT p.name, s.shared_ifc FROM service_profile p JOIN profile_shared_ifc s"
    " ON s.profile_id = p.id WHERE p.subscription_id = ?1 ORDER BY p.name, s.shared_ifc",
};

struct impu_ifcs {
    char identity[HSS_ID_MAX];
    int64_t profile_id;
    char *ifcs;                  /* the profile's iFC XML and shared sets (malloc'd) */
};

struct snapshot {
    char *service;
    char *other;
    struct impu_ifcs impus[HSS_DOC_MAX_IMPUS];
    size_t nimpus;
};

/* The rows of @sqls for @sub as one string (malloc'd), NULL on error. */
static char *fingerprint(struct ims_db *db, int64_t sub, const char *const *sqls, size_t n)
{
    struct ims_buf b = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = dump_rows(db, sqls[i], sub, &b);
    char *s = ims_buf_take(&b);
    if (rc) {
        free(s);
        return NULL;
    }
    return s;
}

/* A profile's iFC XML and shared sets as one string (malloc'd), NULL on error. */
static char *profile_ifcs(struct ims_db *db, int64_t profile_id)
{
    struct ims_buf b = { 0 };
    if (dump_rows(db, "SELECT xml FROM ifc WHERE profile_id = ?1 ORDER BY priority, id",
                  profile_id, &b) ||
        dump_rows(db, "SELECT shared_ifc FROM profile_shared_ifc WHERE profile_id = ?1"
                      " ORDER BY shared_ifc", profile_id, &b))
        b.oom = true;
    return ims_buf_take(&b);
}

/* Free what snapshot_take() allocated; @s may be zeroed or partly filled. */
static void snapshot_free(struct snapshot *s)
{
    free(s->service);
    free(s->other);
    for (size_t i = 0; i < s->nimpus; i++)
        free(s->impus[i].ifcs);
    memset(s, 0, sizeof(*s));
}

/* What provisioning wrote for @sub, to compare before/after a write: 0 or -EIO. */
static int snapshot_take(struct ims_db *db, int64_t sub, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT identity, ifnull(profile_id, 0) FROM impu"
                                       " WHERE subscription_id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, sub);
    while (s->nimpus < HSS_DOC_MAX_IMPUS && sqlite3_step(st) == SQLITE_ROW) {
        struct impu_ifcs *u = &s->impus[s->nimpus++];
        snprintf(u->identity, sizeof(u->identity), "%s", sqlite3_column_text(st, 0));
        u->profile_id = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nimpus; i++)
        if (!(s->impus[i].ifcs = profile_ifcs(db, s->impus[i].profile_id)))
            rc = -EIO;
    s->service = fingerprint(db, sub, service_sql, sizeof(service_sql) / sizeof(*service_sql));
    s->other = fingerprint(db, sub, other_sql, sizeof(other_sql) / sizeof(*other_sql));
    if (rc || !s->service || !s->other) {
        snapshot_free(s);
        return -EIO;
    }
    return 0;
}

/* Profiles (after the write) of the IMPUs that existed before and whose iFCs changed */
static void ifc_changes(const struct snapshot *before, const struct snapshot *after,
                        struct hss_put_result *r)
{
    for (size_t i = 0; i < after->nimpus; i++) {
        const struct impu_ifcs *a = &after->impus[i];
        for (size_t j = 0; j < before->nimpus; j++) {
            const struct impu_ifcs *b = &before->impus[j];
            if (strcmp(a->identity, b->identity) != 0 || strcmp(a->ifcs, b->ifcs) == 0 ||
                !a->profile_id)
                continue;
            size_t k = 0;
            while (k < r->nifc_changed && r->ifc_changed[k] != a->profile_id)
                k++;
            if (k == r->nifc_changed && k < HSS_DOC_MAX_PROFILES)
                r->ifc_changed[r->nifc_changed++] = a->profile_id;
        }
    }
}

/* ---- writing ---- */

static int write_subscription(struct ims_db *db, const struct hss_doc *d, int64_t *sub)
{
    sqlite3_stmt *st = ims_db_stmt(db, *sub
        ? "UPDATE subscription SET mandatory_caps = ?2, optional_caps = ?3, ccf_primary = ?4,"
          " ccf_secondary = ?5, ecf_primary = ?6, ecf_secondary = ?7,"
          " updated = strftime('%s','now') WHERE id = ?1"
        : "INSERT INTO subscription (name, mandatory_caps, optional_caps, ccf_primary,"
          " ccf_secondary, ecf_primary, ecf_secondary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st)
        return -EIO;
    if (*sub)
        sqlite3_bind_int64(st, 1, *sub);
    else
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->caps[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->caps[1], -1, SQLITE_STATIC);
    bind_opt_text(st, 4, d->ccf[0]);
    bind_opt_text(st, 5, d->ccf[1]);
    bind_opt_text(st, 6, d->ecf[0]);
    bind_opt_text(st, 7, d->ecf[1]);
    int rc = run(db, st);
    if (rc == 0 && !*sub)
        *sub = last_id(db);
    return rc;
}

/* the visited networks, replacing the stored ones */
static int write_visited(struct ims_db *db, const struct hss_doc *d, int64_t sub)
{
    sqlite3_stmt *st = ims_db_stmt(db, "DELETE FROM visited_network WHERE subscription_id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, sub);
    int rc = run(db, st);
    for (size_t i = 0; rc == 0 && i < d->nvisited; i++) {
        st = ims_db_stmt(db, "INSERT INTO visited_network (subscription_id, network)"
                             " VALUES (?1, ?2)");
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, sub);
        sqlite3_bind_text(st, 2, d->visited[i], -1, SQLITE_STATIC);
        rc = run(db, st);
    }
    return rc;
}

/* run @sql with parameter 1 = @id */
static int run_id(struct ims_db *db, const char *sql, int64_t id)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return run(db, st);
}

/* the profile's iFCs and shared sets, replacing those stored */
static int write_profile_services(struct ims_db *db, const struct hss_doc_profile *p)
{
    int rc = run_id(db, "DELETE FROM ifc WHERE profile_id = ?1", p->id);
    if (rc == 0)
        rc = run_id(db, "DELETE FROM profile_shared_ifc WHERE profile_id = ?1", p->id);
    for (size_t i = 0; rc == 0 && i < p->nifcs; i++) {
        sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO ifc (profile_id, priority, spec, xml,"
                                           " unreg_services) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, p->id);
        sqlite3_bind_int(st, 2, p->ifcs[i].priority);
        sqlite3_bind_text(st, 3, p->ifcs[i].spec, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->ifcs[i].xml, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, p->ifcs[i].unreg_services);
        rc = run(db, st);
    }
    for (size_t i = 0; rc == 0 && i < p->nshared; i++) {
        sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO profile_shared_ifc (profile_id,"
                                           " shared_ifc) VALUES (?1, ?2)");
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, p->id);
        sqlite3_bind_int64(st, 2, p->shared[i]);
        rc = run(db, st);
    }
    return rc;
}

/* profiles are kept by name (their ids stay) */
static int write_profiles(struct ims_db *db, struct hss_doc *d, int64_t sub)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->nprofiles; i++) {
        struct hss_doc_profile *p = &d->profiles[i];
        sqlite3_stmt *st = ims_db_stmt(db, "SELECT id FROM service_profile"
                                           " WHERE subscription_id = ?1 AND name = ?2");
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, sub);
        sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
        p->id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (!p->id) {
            st = ims_db_stmt(db, "INSERT INTO service_profile (subscription_id, name)"
                                 " VALUES (?1, ?2)");
            if (!st)
                return -EIO;
            sqlite3_bind_int64(st, 1, sub);
            sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
            if ((rc = run(db, st)) != 0)
                return rc;
            p->id = last_id(db);
        }
        rc = write_profile_services(db, p);
    }
    return rc;
}

/* The line identifiers of @p in their database form (one per line) into @out */
static void line_ids_text(const struct hss_doc_impi *p, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < p->nline_ids; i++) {
        strncat(out, i ? "\n" : "", len - strlen(out) - 1);
        strncat(out, p->line_ids[i], len - strlen(out) - 1);
    }
}

/* parameters 2..15 of the impi UPDATE and INSERT (@sch and @lines: buffers that must live
 * until the statement ran) */
static void bind_impi(sqlite3_stmt *st, const struct hss_doc_impi *p, char *sch, size_t len,
                      char *lines, size_t lines_len)
{
    sqlite3_bind_text(st, 2, p->identity, -1, SQLITE_STATIC);
    bind_opt_text(st, 3, p->password);
    bind_opt_text(st, 4, p->ha1);
    if (p->has_aka) {
        sqlite3_bind_blob(st, 5, p->k, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, p->opc, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, p->amf, 2, SQLITE_STATIC);
    }   /* unbound parameters are NULL */
    if (p->has_sqn)
        sqlite3_bind_int64(st, 8, (sqlite3_int64)p->sqn);
    hss_doc_scheme_text(p->schemes, sch, len);
    sqlite3_bind_text(st, 9, sch, -1, SQLITE_STATIC);
    char def[32];
    hss_doc_scheme_text(p->default_scheme, def, sizeof(def));
    sqlite3_bind_text(st, 10, def, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 11, p->imsi);
    bind_opt_text(st, 12, p->msisdn);
    sqlite3_bind_int(st, 13, p->barred);
    bind_opt_text(st, 14, p->ip_address);
    line_ids_text(p, lines, lines_len);
    bind_opt_text(st, 15, lines);
}

/* an existing IMPI keeps max(stored, given) SQN: re-seeding never moves it back */
static int write_impis(struct ims_db *db, struct hss_doc *d, int64_t sub)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->nimpis; i++) {
        struct hss_doc_impi *p = &d->impis[i];
        char sch[128], lines[HSS_LINE_IDS_MAX * HSS_LINE_ID_MAX];
        rc = query_id(db, "SELECT id FROM impi WHERE identity = ?1", p->identity, &p->id);
        if (rc && rc != -ENOENT)
            return rc;
        sqlite3_stmt *st = ims_db_stmt(db, rc == 0
            ? "UPDATE impi SET identity = ?2, password = ?3, ha1 = ?4, k = ?5, opc = ?6,"
              " amf = ?7, sqn = CASE WHEN ?8 IS NULL THEN sqn ELSE max(sqn, ?8) END,"
              " schemes = ?9, default_scheme = ?10, imsi = ?11, msisdn = ?12, barred = ?13,"
              " ip_address = ?14, line_ids = ?15 WHERE id = ?1"
            : "INSERT INTO impi (subscription_id, identity, password, ha1, k, opc, amf, sqn,"
              " schemes, default_scheme, imsi, msisdn, barred, ip_address, line_ids)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ifnull(?8, 0), ?9, ?10, ?11, ?12, ?13,"
              " ?14, ?15)");
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, rc == 0 ? p->id : sub);
        bind_impi(st, p, sch, sizeof(sch), lines, sizeof(lines));
        bool insert = rc != 0;
        if ((rc = run(db, st)) == 0 && insert)
            p->id = last_id(db);
    }
    return rc;
}

/* IMPUs are updated in place by identity: their id, reg_state and Sh data stay */
static int write_impus(struct ims_db *db, struct hss_doc *d, int64_t sub)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->nimpus; i++) {
        struct hss_doc_impu *u = &d->impus[i];
        rc = query_id(db, "SELECT id FROM impu WHERE identity = ?1", u->identity, &u->id);
        if (rc && rc != -ENOENT)
            return rc;
        sqlite3_stmt *st = ims_db_stmt(db, rc == 0
            ? "UPDATE impu SET type = ?2, wildcard = ?3, profile_id = ?4, implicit_set = ?5,"
              " barred = ?6, display_name = ?7, psi_as = ?8, psi_active = ?9,"
              " subscription_id = ?10 WHERE id = ?1"
            : "INSERT INTO impu (identity, type, wildcard, profile_id, implicit_set, barred,"
              " display_name, psi_as, psi_active, subscription_id)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        if (!st)
            return -EIO;
        if (rc == 0)
            sqlite3_bind_int64(st, 1, u->id);
        else
            sqlite3_bind_text(st, 1, u->identity, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)u->type);
        bind_opt_text(st, 3, u->wildcard);
        bind_opt_id(st, 4, u->profile >= 0 ? d->profiles[u->profile].id : 0);
        bind_opt_id(st, 5, u->implicit_set);
        sqlite3_bind_int(st, 6, u->barred);
        bind_opt_text(st, 7, u->display_name);
        bind_opt_text(st, 8, u->psi_as);
        sqlite3_bind_int(st, 9, u->psi_active);
        sqlite3_bind_int64(st, 10, sub);
        bool insert = rc != 0;
        if ((rc = run(db, st)) == 0 && insert)
            u->id = last_id(db);
    }
    return rc;
}

/* does the document link the IMPI and the IMPU of these row ids? */
static bool link_wanted(const struct hss_doc *d, int64_t impi_id, int64_t impu_id)
{
    for (size_t j = 0; j < d->nimpus; j++) {
        if (d->impus[j].id != impu_id)
            continue;
        for (size_t i = 0; i < d->nimpis; i++)
            if (d->impis[i].id == impi_id)
                return (d->impus[j].impis >> i) & 1;
    }
    return false;
}

struct id_pair {
    int64_t impi, impu;
};

/* The links of the subscription's IMPUs that the document no longer has (malloc'd). */
static int stale_links(struct ims_db *db, const struct hss_doc *d, int64_t sub,
                       struct id_pair **out, size_t *n)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT l.impi_id, l.impu_id FROM impi_impu l"
                                       " JOIN impu u ON u.id = l.impu_id"
                                       " WHERE u.subscription_id = ?1");
    size_t cap = 0;
    int rc = st ? 0 : -EIO;
    *out = NULL;
    *n = 0;
    if (st)
        sqlite3_bind_int64(st, 1, sub);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        struct id_pair p = { sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1) };
        if (link_wanted(d, p.impi, p.impu))
            continue;
        if (*n == cap) {
            struct id_pair *more = realloc(*out, (cap = cap ? 2 * cap : 16) * sizeof(**out));
            if (!more) {
                rc = -ENOMEM;
                break;
            }
            *out = more;
        }
        (*out)[(*n)++] = p;
    }
    if (st)
        sqlite3_reset(st);
    return rc;
}

/* IMPI-IMPU links: add the missing ones (existing ones keep their registered flag),
 * remove those the document no longer has */
static int write_links(struct ims_db *db, const struct hss_doc *d, int64_t sub)
{
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < d->nimpus; j++)
        for (size_t i = 0; rc == 0 && i < d->nimpis; i++) {
            if (!((d->impus[j].impis >> i) & 1))
                continue;
            sqlite3_stmt *st = ims_db_stmt(db, "INSERT OR IGNORE INTO impi_impu (impi_id,"
                                               " impu_id) VALUES (?1, ?2)");
            if (!st)
                return -EIO;
            sqlite3_bind_int64(st, 1, d->impis[i].id);
            sqlite3_bind_int64(st, 2, d->impus[j].id);
            rc = run(db, st);
        }
    struct id_pair *gone = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = stale_links(db, d, sub, &gone, &n);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        sqlite3_stmt *st = ims_db_stmt(db, "DELETE FROM impi_impu WHERE impi_id = ?1"
                                           " AND impu_id = ?2");
        if (!st) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, gone[k].impi);
        sqlite3_bind_int64(st, 2, gone[k].impu);
        rc = run(db, st);
    }
    free(gone);
    return rc;
}

/* is the IMPI row @id one of the document's? (prune callbacks below) */
static bool keep_impi(const struct hss_doc *d, int64_t id)
{
    for (size_t i = 0; i < d->nimpis; i++)
        if (d->impis[i].id == id)
            return true;
    return false;
}

static bool keep_impu(const struct hss_doc *d, int64_t id)
{
    for (size_t i = 0; i < d->nimpus; i++)
        if (d->impus[i].id == id)
            return true;
    return false;
}

static bool keep_profile(const struct hss_doc *d, int64_t id)
{
    for (size_t i = 0; i < d->nprofiles; i++)
        if (d->profiles[i].id == id)
            return true;
    return false;
}

/* Delete the rows of the subscription (@select: their ids) that @keep refuses. */
static int prune(struct ims_db *db, const struct hss_doc *d, int64_t sub, const char *select,
                 bool (*keep)(const struct hss_doc *, int64_t), const char *delete)
{
    sqlite3_stmt *st = ims_db_stmt(db, select);
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = st ? 0 : -EIO;
    if (st)
        sqlite3_bind_int64(st, 1, sub);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (keep(d, id))
            continue;
        if (n == cap) {
            int64_t *more = realloc(ids, (cap = cap ? 2 * cap : 16) * sizeof(*ids));
            if (!more) {
                rc = -ENOMEM;
                break;
            }
            ids = more;
        }
        ids[n++] = id;
    }
    if (st)
        sqlite3_reset(st);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = run_id(db, delete, ids[i]);
    free(ids);
    return rc;
}

/* Write every part of @d for *sub (0: create, *sub receives the new id): 0 or -errno. */
static int write_doc(struct ims_db *db, struct hss_doc *d, int64_t *sub)
{
    int rc = write_subscription(db, d, sub);
    if (rc || (rc = write_visited(db, d, *sub)) || (rc = write_profiles(db, d, *sub)) ||
        (rc = write_impis(db, d, *sub)) || (rc = write_impus(db, d, *sub)) ||
        (rc = write_links(db, d, *sub)))
        return rc;
    if ((rc = prune(db, d, *sub, "SELECT id FROM impu WHERE subscription_id = ?1", keep_impu,
                    "DELETE FROM impu WHERE id = ?1")) ||
        (rc = prune(db, d, *sub, "SELECT id FROM impi WHERE subscription_id = ?1", keep_impi,
                    "DELETE FROM impi WHERE id = ?1")))
        return rc;
    return prune(db, d, *sub, "SELECT id FROM service_profile WHERE subscription_id = ?1",
                 keep_profile, "DELETE FROM service_profile WHERE id = ?1");
}

/* SAVEPOINT, ROLLBACK TO or RELEASE: 0 or -EIO */
static int savepoint(struct ims_db *db, const char *sql)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    return st ? run(db, st) : -EIO;
}

/*
 * put_tx - write one validated document inside the caller's transaction, under a savepoint
 * (rolled back when the write fails or changes nothing).
 */
static int put_tx(struct ims_db *db, struct hss_doc *d, bool replace, struct hss_put_result *r)
{
    int64_t sub = 0;
    int rc = hss_subscriber_find(db, d->name, &sub);
    if (rc == 0 && !replace) {
        snprintf(r->field, sizeof(r->field), "name");
        snprintf(r->err, sizeof(r->err), "subscriber %s already exists", d->name);
        return -EEXIST;
    }
    if (rc == -ENOENT && replace)
        snprintf(r->err, sizeof(r->err), "no subscriber %s", d->name);
    if (rc && (rc != -ENOENT || replace))
        return rc;
    if ((rc = check_conflicts(db, d, sub, r)) != 0)
        return rc;
    struct snapshot before = { 0 }, after = { 0 };
    if ((rc = savepoint(db, "SAVEPOINT hss_put")) != 0)
        return rc;
    if (sub && (rc = snapshot_take(db, sub, &before)) != 0)
        goto undo;
    r->outcome = sub ? HSS_PUT_UPDATED : HSS_PUT_CREATED;
    if ((rc = write_doc(db, d, &sub)) != 0)
        goto undo;
    r->subscription_id = sub;
    if (r->outcome == HSS_PUT_UPDATED) {
        if ((rc = snapshot_take(db, sub, &after)) != 0)
            goto undo;
        r->profile_changed = strcmp(before.service, after.service) != 0;
        ifc_changes(&before, &after, r);
        if (!r->profile_changed && strcmp(before.other, after.other) == 0) {
            r->outcome = HSS_PUT_UNCHANGED;   /* leave even the "updated" time alone */
            savepoint(db, "ROLLBACK TO hss_put");
        }
    }
    snapshot_free(&before);
    snapshot_free(&after);
    return savepoint(db, "RELEASE hss_put");
undo:
    snapshot_free(&before);
    snapshot_free(&after);
    savepoint(db, "ROLLBACK TO hss_put");
    savepoint(db, "RELEASE hss_put");
    return rc;
}

int hss_subscriber_put(struct ims_db *db, json_t *doc, bool replace, struct hss_put_result *res)
{
    struct hss_doc *d;
    memset(res, 0, sizeof(*res));
    int rc = hss_doc_parse(doc, &d, res);
    if (rc == 0 && (rc = ims_db_begin(db)) == 0) {
        rc = put_tx(db, d, replace, res);
        if (rc == 0)
            rc = ims_db_commit(db);
        else
            ims_db_rollback(db);
    }
    hss_doc_free(d);
    return rc;
}

int hss_subscriber_seed(struct ims_db *db, json_t *docs, struct hss_put_result *res,
                        size_t *failed)
{
    size_t n = json_array_size(docs);
    struct hss_doc **parsed = calloc(n ? n : 1, sizeof(*parsed));
    int rc = parsed ? 0 : -ENOMEM;
    /* validate every document before writing any */
    for (*failed = 0; rc == 0 && *failed < n; ++*failed) {
        memset(&res[*failed], 0, sizeof(res[*failed]));
        rc = hss_doc_parse(json_array_get(docs, *failed), &parsed[*failed], &res[*failed]);
        if (rc)
            break;
    }
    if (rc == 0 && (rc = ims_db_begin(db)) == 0) {
        for (*failed = 0; rc == 0 && *failed < n; ++*failed) {
            rc = put_tx(db, parsed[*failed], true, &res[*failed]);
            if (rc == -ENOENT) {
                memset(&res[*failed], 0, sizeof(res[*failed]));
                rc = put_tx(db, parsed[*failed], false, &res[*failed]);
            }
            if (rc)
                break;
        }
        if (rc == 0)
            rc = ims_db_commit(db);
        else
            ims_db_rollback(db);
    }
    for (size_t i = 0; parsed && i < n; i++)
        hss_doc_free(parsed[i]);
    free(parsed);
    return rc;
}

int hss_subscriber_delete(struct ims_db *db, const char *name)
{
    sqlite3_stmt *st = ims_db_stmt(db, "DELETE FROM subscription WHERE name = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = run(db, st);
    if (rc == 0 && sqlite3_changes(ims_db_handle(db)) == 0)
        rc = -ENOENT;
    return rc;
}

/* ---- bulk creation for benchmarks ---- */

struct bulk {
    const char *prefix, *domain;
    uint8_t k[16], opc[16], amf[2];
};

/* the LAB.md benchmark credentials: bob's K, OP and AMF */
static const char bulk_k[] = "626f622d6c61622d6b65792d30303031";
static const char bulk_op[] = "696d732d6c61622d6f702d3030303031";
static const char bulk_amf[] = "3830";

/* Run a bound INSERT (NULL @st: it did not prepare); *id receives the new row id. */
static int bulk_insert(struct ims_db *db, sqlite3_stmt *st, int64_t *id)
{
    if (!st)
        return -EIO;
    int rc = run(db, st);
    if (rc == 0 && id)
        *id = last_id(db);
    return rc;
}

/* one benchmark subscriber; *made false when its name or identities exist already */
static int bulk_one(struct ims_db *db, const struct bulk *b, long n, bool *made)
{
    char name[64], impi[HSS_ID_MAX], impu[HSS_ID_MAX], pwd[80];
    snprintf(name, sizeof(name), "%s%05ld", b->prefix, n);
    snprintf(impi, sizeof(impi), "%s@%s", name, b->domain);
    snprintf(impu, sizeof(impu), "sip:%s@%s", name, b->domain);
    snprintf(pwd, sizeof(pwd), "%s-secret", name);
    *made = false;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT 1 FROM subscription WHERE name = ?1 UNION ALL"
                                       " SELECT 1 FROM impi WHERE identity = ?2 UNION ALL"
                                       " SELECT 1 FROM impu WHERE identity = ?3 LIMIT 1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, impi, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, impu, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return s == SQLITE_ROW ? 0 : -EIO;
    int64_t sub, prof, impi_id, impu_id;
    st = ims_db_stmt(db, "INSERT INTO subscription (name) VALUES (?1)");
    if (st)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = bulk_insert(db, st, &sub);
    if (rc == 0 && (st = ims_db_stmt(db, "INSERT INTO service_profile (subscription_id, name)"
                                         " VALUES (?1, 'default')")))
        sqlite3_bind_int64(st, 1, sub);
    if (rc == 0 && (rc = bulk_insert(db, st, &prof)) == 0 &&
        (st = ims_db_stmt(db, "INSERT INTO impi (subscription_id, identity, password, k, opc,"
                              " amf, sqn, schemes, default_scheme) VALUES (?1, ?2, ?3, ?4, ?5,"
                              " ?6, 32, 'digest,akav1,akav2,tispan-digest,packetcable-digest',"
                              " 'digest')"))) {
        sqlite3_bind_int64(st, 1, sub);
        sqlite3_bind_text(st, 2, impi, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, pwd, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, b->k, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, b->opc, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, b->amf, 2, SQLITE_STATIC);
    }
    if (rc == 0 && (rc = bulk_insert(db, st, &impi_id)) == 0 &&
        (st = ims_db_stmt(db, "INSERT INTO impu (subscription_id, identity, type, profile_id)"
                              " VALUES (?1, ?2, 0, ?3)"))) {
        sqlite3_bind_int64(st, 1, sub);
        sqlite3_bind_text(st, 2, impu, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, prof);
    }
    if (rc == 0 && (rc = bulk_insert(db, st, &impu_id)) == 0 &&
        (st = ims_db_stmt(db, "INSERT INTO impi_impu (impi_id, impu_id) VALUES (?1, ?2)"))) {
        sqlite3_bind_int64(st, 1, impi_id);
        sqlite3_bind_int64(st, 2, impu_id);
    }
    if (rc == 0 && (rc = bulk_insert(db, st, NULL)) == 0)
        *made = true;
    return rc;
}

/* @count benchmark subscribers from @from in one transaction; *created += those made */
static int bulk_batch(struct ims_db *db, const struct bulk *b, long from, long count,
                      long *created)
{
    long made = 0;
    int rc = ims_db_begin(db);
    for (long n = from; rc == 0 && n < from + count; n++) {
        bool one;
        rc = bulk_one(db, b, n, &one);
        made += one;
    }
    if (rc == 0 && (rc = ims_db_commit(db)) == 0)
        *created += made;
    else
        ims_db_rollback(db);
    return rc;
}

int hss_subscriber_bulk(struct ims_db *db, const char *prefix, long from, long count,
                        const char *domain, long *created)
{
    struct bulk b = { prefix, domain, { 0 }, { 0 }, { 0 } };
    uint8_t op[16];
    *created = 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen == 0 || plen > 32 || !isalpha((unsigned char)prefix[0]) ||
        strspn(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            plen ||
        !domain || strlen(domain) > 200 || !hss_doc_is_host(domain, strlen(domain)) || from < 0 ||
        count < 1 || count > HSS_BULK_MAX || from > 99999999 - count + 1)
        return -EINVAL;
    if (ims_hex_decode(bulk_k, b.k, 16) || ims_hex_decode(bulk_op, op, 16) ||
        ims_hex_decode(bulk_amf, b.amf, 2) || ims_milenage_opc(b.k, op, b.opc))
        return -EIO;
    int rc = 0;
    for (long n = from; rc == 0 && n < from + count; n += BULK_BATCH)
        rc = bulk_batch(db, &b, n, from + count - n < BULK_BATCH ? from + count - n : BULK_BATCH,
                        created);
    return rc;
}
