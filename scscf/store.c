/*
 * store.c - registrations of the S-CSCF: in memory (every public identity of a set points
 * at its aor), written behind to SQLite by the tick and at stop, read back at start so a
 * restarted S-CSCF keeps every registration
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "milenage.h"                     /* ims_hex_encode */

static const char schema_v1[] =
    "CREATE TABLE aor ("
    " id TEXT PRIMARY KEY,"               /* the first public identity of the set */
    " impus TEXT NOT NULL,"               /* the identities, one per line */
    " barred TEXT NOT NULL,"              /* '0'/'1' per identity */
    " profile TEXT,"
    " ccf TEXT);"
    "CREATE TABLE contact ("
    " aor TEXT NOT NULL REFERENCES aor(id) ON DELETE CASCADE,"
    " uri TEXT NOT NULL,"
    " expires INTEGER NOT NULL,"
    " instance TEXT, reg_id INTEGER, call_id TEXT, cseq INTEGER, path TEXT, impi TEXT,"
    " user_agent TEXT,"
    " PRIMARY KEY (aor, uri));";

/* v2: the temporary GRUU of a binding (RFC 5627) */
static const char schema_v2[] = "ALTER TABLE contact ADD COLUMN tgruu TEXT;";

/* v3: the event charging function (online charging) of a set */
static const char schema_v3[] = "ALTER TABLE aor ADD COLUMN ecf TEXT;";

static const char *const migrations[] = { schema_v1, schema_v2, schema_v3 };

/* ids of aors removed since the last flush */
static char **g_removed;
static size_t g_nremoved, g_capremoved;

static void note_removed(const char *id)
{
    if (g_nremoved == g_capremoved) {
        size_t cap = g_capremoved ? g_capremoved * 2 : 64;
        char **r = realloc(g_removed, cap * sizeof(*r));
        if (!r)
            return;   /* the row stays until the next start drops it as expired */
        g_removed = r;
        g_capremoved = cap;
    }
    g_removed[g_nremoved] = strdup(id);
    if (g_removed[g_nremoved])
        g_nremoved++;
}

void scscf_store_touch(struct scscf_aor *aor)
{
    aor->dirty = true;
}

struct scscf_aor *scscf_store_find(struct scscf *s, const char *impu)
{
    return ims_map_get(s->aors, impu);
}

static void link_aor(struct scscf *s, struct scscf_aor *aor)
{
    aor->next = s->all;
    if (s->all)
        s->all->prev = aor;
    s->all = aor;
    s->naors++;
}

/* Free a binding, forgetting its temporary GRUU */
static void contact_free(struct scscf *s, struct scscf_contact *c)
{
    if (c->tgruu[0] && s->tgruus)
        ims_map_remove(s->tgruus, c->tgruu);
    free(c->text);
    free(c);
}

static void free_contacts(struct scscf *s, struct scscf_contact *c)
{
    while (c) {
        struct scscf_contact *n = c->next;
        contact_free(s, c);
        c = n;
    }
}

void scscf_store_contact_free(struct scscf *s, struct scscf_contact *c)
{
    contact_free(s, c);
}

/* A new temporary GRUU user part for @c, known to the map (none when it cannot be kept) */
static void new_tgruu(struct scscf *s, struct scscf_aor *aor, struct scscf_contact *c)
{
    uint8_t r[10];
    if (!s->tgruus || RAND_bytes(r, sizeof(r)) != 1)
        return;
    char hex[21];
    ims_hex_encode(r, sizeof(r), hex);
    snprintf(c->tgruu, sizeof(c->tgruu), "tgruu.%s", hex);
    int err = 0;
    if (!ims_map_put(s->tgruus, c->tgruu, aor, &err) && err)
        c->tgruu[0] = '\0';
}

/* Free an aor that is no longer indexed (its identities, profile, the aor itself) */
static void aor_free(struct scscf_aor *aor)
{
    for (int i = 0; i < aor->nimpus; i++)
        free(aor->impus[i]);
    free(aor->profile);
    free(aor);
}

/* A new aor for @impu with the identities of @profile (or @impu alone); indexed. NULL when
 * out of memory. */
static struct scscf_aor *create(struct scscf *s, const char *impu, const char *profile)
{
    struct scscf_aor *aor = calloc(1, sizeof(*aor));
    if (!aor)
        return NULL;
    aor->impus[0] = strndup(impu, SCSCF_ID_MAX - 1);
    if (!aor->impus[0]) {
        free(aor);
        return NULL;
    }
    aor->nimpus = 1;
    char ids[SCSCF_MAX_IMPUS][SCSCF_ID_MAX];
    bool barred[SCSCF_MAX_IMPUS];
    int n = profile ? scscf_profile_identities(profile, ids, barred, SCSCF_MAX_IMPUS) : 0;
    for (int i = 0; i < n; i++) {
        if (strcasecmp(ids[i], impu) == 0) {
            aor->barred[0] = barred[i];
            continue;
        }
        if (aor->nimpus < SCSCF_MAX_IMPUS) {
            aor->impus[aor->nimpus] = strdup(ids[i]);
            if (!aor->impus[aor->nimpus]) {
                aor_free(aor);
                return NULL;
            }
            aor->barred[aor->nimpus++] = barred[i];
        }
    }
    if (profile && !(aor->profile = strdup(profile))) {
        aor_free(aor);
        return NULL;
    }
    for (int i = 0; i < aor->nimpus; i++) {
        int err;
        struct scscf_aor *other = ims_map_put(s->aors, aor->impus[i], aor, &err);
        if (other && other != aor)
            ims_warn("scscf: %s moves to a new registration set", aor->impus[i]);
    }
    link_aor(s, aor);
    aor->dirty = true;
    return aor;
}

struct scscf_aor *scscf_store_upsert(struct scscf *s, const char *impu, const char *profile)
{
    struct scscf_aor *aor = scscf_store_find(s, impu);
    if (!aor)
        return create(s, impu, profile);
    if (profile && (!aor->profile || strcmp(aor->profile, profile) != 0)) {
        free(aor->profile);
        aor->profile = strdup(profile);
        scscf_store_ifcs_reset(aor);
        aor->dirty = true;
    }
    return aor;
}

int scscf_store_count_contacts(const struct scscf_aor *aor)
{
    int n = 0;
    for (const struct scscf_contact *c = aor->contacts; c; c = c->next)
        n++;
    return n;
}

/* Copy @str to *@at, advancing it; returns the copy */
static const char *put(char **at, const char *str)
{
    size_t n = strlen(str) + 1;
    memcpy(*at, str, n);
    const char *copy = *at;
    *at += n;
    return copy;
}

/* @x is the binding @c refreshes: the same URI, or the same instance and reg-id (RFC 5626) */
static bool same_binding(const char *uri, const char *instance, int reg_id,
                         const struct scscf_contact_in *c)
{
    return strcasecmp(uri, c->uri) == 0 ||
           (c->instance[0] && strcmp(instance, c->instance) == 0 && reg_id == c->reg_id);
}

/* The oldest binding (earliest expiry) of @aor with the +sip.instance of @c, or NULL */
static struct scscf_contact *oldest_of_instance(struct scscf_aor *aor,
                                                const struct scscf_contact_in *c)
{
    struct scscf_contact *best = NULL;
    for (struct scscf_contact *x = aor->contacts; x && c->instance[0]; x = x->next)
        if (strcmp(x->instance, c->instance) == 0 && (!best || x->expires < best->expires))
            best = x;
    return best;
}

/* Where @c goes in @aor: the binding it refreshes or replaces, a new one (linked), or
 * NULL with -EDQUOT / -ENOMEM in *@err */
static struct scscf_contact *slot_for(struct scscf *s, struct scscf_aor *aor,
                                      const struct scscf_contact_in *c, unsigned max, int *err)
{
    struct scscf_contact *x = aor->contacts;
    while (x && !same_binding(x->uri, x->instance, x->reg_id, c))
        x = x->next;
    if (x)
        return x;
    if (max && (unsigned)scscf_store_count_contacts(aor) >= max) {
        x = oldest_of_instance(aor, c);   /* the same device with a new contact */
        *err = x ? 0 : -EDQUOT;
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        *err = -ENOMEM;
        return NULL;
    }
    x->next = aor->contacts;
    aor->contacts = x;
    s->ncontacts++;
    return x;
}

int scscf_store_bind(struct scscf *s, struct scscf_aor *aor, const struct scscf_contact_in *c,
                     unsigned max)
{
    size_t len = strlen(c->uri) + strlen(c->instance) + strlen(c->call_id) + strlen(c->path) +
                 strlen(c->impi) + strlen(c->user_agent) + 6;
    char *text = malloc(len), *at = text;
    if (!text)
        return -ENOMEM;
    int err = 0;
    struct scscf_contact *x = slot_for(s, aor, c, max, &err);
    if (!x) {
        free(text);
        return err;
    }
    char tgruu[sizeof(x->tgruu)];
    snprintf(tgruu, sizeof(tgruu), "%s", c->tgruu[0] ? c->tgruu : x->tgruu);
    if (x->tgruu[0] && strcmp(x->tgruu, tgruu) != 0)
        ims_map_remove(s->tgruus, x->tgruu);
    free(x->text);
    x->text = text;
    x->uri = put(&at, c->uri);
    x->instance = put(&at, c->instance);
    x->call_id = put(&at, c->call_id);
    x->path = put(&at, c->path);
    x->impi = put(&at, c->impi);
    x->user_agent = put(&at, c->user_agent);
    x->expires = c->expires;
    x->reg_id = c->reg_id;
    x->cseq = c->cseq;
    snprintf(x->tgruu, sizeof(x->tgruu), "%s", tgruu);
    if (x->tgruu[0])
        ims_map_put(s->tgruus, x->tgruu, aor, &err);
    else if (x->instance[0])
        new_tgruu(s, aor, x);
    aor->dirty = true;
    return 0;
}

int scscf_store_fits(const struct scscf_aor *aor, const struct scscf_contact_in *in, int n,
                     unsigned max)
{
    int have = 0, total;
    for (const struct scscf_contact *x = aor ? aor->contacts : NULL; x; x = x->next)
        have++;
    /* the bindings as they would be: the existing ones (@gone: removed or replaced), then
     * the new ones of this REGISTER */
    const struct scscf_contact **cur = calloc((size_t)(have + 1), sizeof(*cur));
    const struct scscf_contact_in **added = calloc((size_t)(n + 1), sizeof(*added));
    bool *gone = calloc((size_t)(have + 1), sizeof(*gone));
    int rc = cur && added && gone ? 0 : -ENOMEM, nadded = 0;
    int i = 0;
    for (const struct scscf_contact *x = aor ? aor->contacts : NULL; x; x = x->next)
        cur[i++] = x;
    total = have;
    for (int k = 0; k < n && rc == 0; k++) {
        const struct scscf_contact_in *c = &in[k];
        int hit = -1;
        for (i = 0; i < have && hit < 0; i++)
            if (!gone[i] && same_binding(cur[i]->uri, cur[i]->instance, cur[i]->reg_id, c))
                hit = i;
        bool again = false;
        for (i = 0; i < nadded && hit < 0 && !again; i++)
            again = same_binding(added[i]->uri, added[i]->instance, added[i]->reg_id, c);
        if (c->expires == 0) {          /* a removal */
            if (hit >= 0) {
                gone[hit] = true;
                total--;
            }
            continue;
        }
        if (hit >= 0 || again)
            continue;                   /* a refresh */
        if (!max || (unsigned)total < max) {
            added[nadded++] = c;
            total++;
            continue;
        }
        int oldest = -1;                /* at the limit: the same instance's oldest goes */
        for (i = 0; i < have && c->instance[0]; i++)
            if (!gone[i] && strcmp(cur[i]->instance, c->instance) == 0 &&
                (oldest < 0 || cur[i]->expires < cur[oldest]->expires))
                oldest = i;
        if (oldest < 0) {
            rc = -EDQUOT;
        } else {
            gone[oldest] = true;
            added[nadded++] = c;
        }
    }
    free(cur);
    free(added);
    free(gone);
    return rc;
}

int scscf_store_unbind(struct scscf *s, struct scscf_aor *aor, const char *uri)
{
    int n = 0;
    struct scscf_contact **p = &aor->contacts;
    while (*p) {
        if (!uri || strcasecmp((*p)->uri, uri) == 0) {
            struct scscf_contact *gone = *p;
            *p = gone->next;
            contact_free(s, gone);
            s->ncontacts--;
            n++;
        } else {
            p = &(*p)->next;
        }
    }
    if (n)
        aor->dirty = true;
    return n;
}

void scscf_store_ifcs_reset(struct scscf_aor *aor)
{
    for (int i = 0; i < SCSCF_MAX_IMPUS; i++) {
        scscf_ifc_free(aor->ifcs[i]);
        aor->ifcs[i] = NULL;
    }
}

struct scscf_ifc_set *scscf_store_ifcs(struct scscf *s, struct scscf_aor *aor,
                                       const char *impu)
{
    int i = 0;
    while (i < aor->nimpus && strcasecmp(aor->impus[i], impu) != 0)
        i++;
    if (i == aor->nimpus || !aor->profile)
        return NULL;
    if (!aor->ifcs[i]) {
        char err[256] = "";
        aor->ifcs[i] = scscf_ifc_parse(aor->profile, strlen(aor->profile), impu,
                                       s->shared_ifcs, err, sizeof(err));
        if (!aor->ifcs[i] || err[0])
            ims_warn("scscf: iFCs of %s: %s%s", impu, err,
                     aor->ifcs[i] ? "" : " (no services applied)");
    }
    return aor->ifcs[i];
}

void scscf_store_remove(struct scscf *s, struct scscf_aor *aor)
{
    scscf_notify_drop(s, aor);
    for (int i = 0; i < aor->nimpus; i++)
        if (ims_map_get(s->aors, aor->impus[i]) == aor)
            ims_map_remove(s->aors, aor->impus[i]);
    if (aor->prev)
        aor->prev->next = aor->next;
    else
        s->all = aor->next;
    if (aor->next)
        aor->next->prev = aor->prev;
    s->naors--;
    s->ncontacts -= (size_t)scscf_store_count_contacts(aor);
    note_removed(aor->impus[0]);
    free_contacts(s, aor->contacts);
    scscf_store_ifcs_reset(aor);
    aor_free(aor);
}

/* ---- persistence ---- */

static int write_aor(struct ims_db *db, const struct scscf_aor *aor)
{
    char impus[SCSCF_MAX_IMPUS * SCSCF_ID_MAX] = "", barred[SCSCF_MAX_IMPUS + 1] = "";
    size_t off = 0;
    for (int i = 0; i < aor->nimpus; i++) {
        off += (size_t)snprintf(impus + off, sizeof(impus) - off, "%s%s", i ? "\n" : "",
                                aor->impus[i]);
        barred[i] = aor->barred[i] ? '1' : '0';
    }
    barred[aor->nimpus] = '\0';
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT OR REPLACE INTO aor (id, impus, barred, profile,"
                                       " ccf, ecf) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    sqlite3_stmt *del = ims_db_stmt(db, "DELETE FROM contact WHERE aor = ?1");
    sqlite3_stmt *ins = ims_db_stmt(db, "INSERT INTO contact (aor, uri, expires, instance, reg_id,"
                                        " call_id, cseq, path, impi, user_agent, tgruu) VALUES"
                                        " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!st || !del || !ins)
        return -EIO;
    sqlite3_bind_text(st, 1, aor->impus[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, impus, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, barred, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, aor->profile, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, aor->ccf, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, aor->ecf, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    sqlite3_bind_text(del, 1, aor->impus[0], -1, SQLITE_STATIC);
    if (rc == 0)
        rc = sqlite3_step(del) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(del);
    for (const struct scscf_contact *c = aor->contacts; rc == 0 && c; c = c->next) {
        sqlite3_bind_text(ins, 1, aor->impus[0], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, c->uri, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)c->expires);
        sqlite3_bind_text(ins, 4, c->instance, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 5, c->reg_id);
        sqlite3_bind_text(ins, 6, c->call_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, c->cseq);
        sqlite3_bind_text(ins, 8, c->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 9, c->impi, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 10, c->user_agent, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 11, c->tgruu, -1, SQLITE_STATIC);
        rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(ins);
    }
    return rc;
}

int scscf_store_flush(struct scscf *s)
{
    bool any = g_nremoved > 0;
    for (struct scscf_aor *a = s->all; a && !any; a = a->next)
        any = a->dirty;
    if (!any || !s->db)
        return 0;
    if (ims_db_begin(s->db) != 0)
        return -EIO;
    int rc = 0;
    sqlite3_stmt *del = ims_db_stmt(s->db, "DELETE FROM aor WHERE id = ?1");
    for (size_t i = 0; rc == 0 && i < g_nremoved; i++) {
        sqlite3_bind_text(del, 1, g_removed[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(del) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(del);
    }
    for (struct scscf_aor *a = s->all; rc == 0 && a; a = a->next)
        if (a->dirty)
            rc = write_aor(s->db, a);
    if (rc || ims_db_commit(s->db) != 0) {
        ims_db_rollback(s->db);
        ims_err("scscf: registrations not written to %s: %s (kept in memory, retried)",
                "the database", ims_db_errmsg(s->db));
        return -EIO;
    }
    for (struct scscf_aor *a = s->all; a; a = a->next)
        a->dirty = false;
    for (size_t i = 0; i < g_nremoved; i++)
        free(g_removed[i]);
    g_nremoved = 0;
    return 0;
}

static void column(sqlite3_stmt *st, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static void load_contacts(struct scscf *s, struct scscf_aor *aor, time_t now)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT uri, expires, instance, reg_id, call_id, cseq,"
                                          " path, impi, user_agent, tgruu FROM contact WHERE aor = ?1"
                                          " AND expires > ?2");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, aor->impus[0], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct scscf_contact_in c = { .expires = 0 };
        column(st, 0, c.uri, sizeof(c.uri));
        c.expires = (time_t)sqlite3_column_int64(st, 1);
        column(st, 2, c.instance, sizeof(c.instance));
        c.reg_id = sqlite3_column_int(st, 3);
        column(st, 4, c.call_id, sizeof(c.call_id));
        c.cseq = (uint32_t)sqlite3_column_int64(st, 5);
        column(st, 6, c.path, sizeof(c.path));
        column(st, 7, c.impi, sizeof(c.impi));
        column(st, 8, c.user_agent, sizeof(c.user_agent));
        column(st, 9, c.tgruu, sizeof(c.tgruu));
        scscf_store_bind(s, aor, &c, 0);   /* kept before: no bound now */
    }
    sqlite3_reset(st);
}

/* Registrations left by the previous run (expired ones are dropped at the next flush). */
static int load(struct scscf *s)
{
    time_t now = time(NULL);
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT id, impus, barred, profile, ccf, ecf FROM aor");
    if (!st)
        return -EIO;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *profile = (const char *)sqlite3_column_text(st, 3);
        struct scscf_aor *aor = create(s, id, profile);
        if (!aor)
            break;
        const char *ccf = (const char *)sqlite3_column_text(st, 4);
        snprintf(aor->ccf, sizeof(aor->ccf), "%s", ccf ? ccf : "");
        const char *ecf = (const char *)sqlite3_column_text(st, 5);
        snprintf(aor->ecf, sizeof(aor->ecf), "%s", ecf ? ecf : "");
        load_contacts(s, aor, now);
        aor->dirty = false;
        if (!aor->contacts)
            scscf_store_remove(s, aor);
        else
            n++;
    }
    sqlite3_reset(st);
    ims_info("scscf: %d registration set(s), %zu binding(s) restored from the database", n,
             s->ncontacts);
    return 0;
}

int scscf_store_init(struct scscf *s, const char *db_path)
{
    s->aors = ims_map_create(true);
    s->tgruus = ims_map_create(false);
    if (!s->aors || !s->tgruus)
        return -ENOMEM;
    int rc = ims_db_open(&s->db, db_path, migrations, sizeof(migrations) / sizeof(migrations[0]));
    if (rc)
        return rc;
    return load(s);
}

void scscf_store_fini(struct scscf *s)
{
    if (s->db && scscf_store_flush(s) == 0)
        ims_info("scscf: %zu binding(s) written to the database", s->ncontacts);
    while (s->all) {
        struct scscf_aor *a = s->all;
        s->all = a->next;
        scscf_notify_drop(s, a);
        free_contacts(s, a->contacts);
        scscf_store_ifcs_reset(a);
        aor_free(a);
    }
    s->naors = 0;
    ims_map_destroy(s->aors);
    s->aors = NULL;
    ims_map_destroy(s->tgruus);
    s->tgruus = NULL;
    for (size_t i = 0; i < g_nremoved; i++)
        free(g_removed[i]);
    free(g_removed);
    g_removed = NULL;
    g_nremoved = g_capremoved = 0;
    ims_db_close(s->db);
    s->db = NULL;
}
