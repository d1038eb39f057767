/*
 * store.c - the routes provisioned through the REST API, kept in SQLite (bgcf.database) so
 * that a restart keeps them; the routes of the configuration are never stored
 *
 * The connection is opened at init (main thread) and used afterwards by the HTTP thread
 * only (the API), under the API lock.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    "CREATE TABLE routes ("
    " id TEXT PRIMARY KEY,"
    " domain INTEGER NOT NULL,"          /* 0: match is an E.164 prefix, 1: a domain */
    " match TEXT NOT NULL,"
    " next_hop TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " weight INTEGER NOT NULL,"
    " updated INTEGER NOT NULL)",        /* Unix time of the last PUT */
};

int bgcf_store_open(struct bgcf *b, const char *path)
{
    int rc = ims_db_open(&b->db, path, migrations, sizeof(migrations) / sizeof(migrations[0]));
    if (rc)
        ims_err("bgcf: cannot open the route database %s", path);
    return rc;
}

void bgcf_store_close(struct bgcf *b)
{
    ims_db_close(b->db);
    b->db = NULL;
}

static void text_col(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", v ? (const char *)v : "");
}

/* One row into @r; a row that is no longer a valid route is reported and skipped (-EINVAL) */
static int row_route(sqlite3_stmt *st, struct bgcf_route *r)
{
    char kind[16], field[32], why[300];
    memset(r, 0, sizeof(*r));
    text_col(st, 0, r->id, sizeof(r->id));
    r->domain = sqlite3_column_int(st, 1) != 0;
    text_col(st, 2, r->match, sizeof(r->match));
    text_col(st, 3, r->next_hop, sizeof(r->next_hop));
    text_col(st, 4, kind, sizeof(kind));
    r->kind = bgcf_kind_parse(kind);
    r->priority = (unsigned)sqlite3_column_int(st, 5);
    r->weight = (unsigned)sqlite3_column_int(st, 6);
    if (bgcf_route_check(r, field, sizeof(field), why, sizeof(why)) != 0) {
        ims_warn("bgcf: stored route '%s' is not valid (%s: %s): ignored", r->id, field, why);
        return -EINVAL;
    }
    return 0;
}

int bgcf_store_load(struct bgcf *b, struct bgcf_route **out, size_t *n)
{
    sqlite3_stmt *st = ims_db_stmt(b->db, "SELECT id, domain, match, next_hop, kind, "
                                          "priority, weight FROM routes ORDER BY id");
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!st)
        return -EIO;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct bgcf_route *p = realloc(*out, ncap * sizeof(*p));
            if (!p) {
                sqlite3_reset(st);
                return -ENOMEM;
            }
            *out = p;
            cap = ncap;
        }
        if (row_route(st, &(*out)[*n]) == 0)
            (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int bgcf_store_put(struct bgcf *b, const struct bgcf_route *r)
{
    sqlite3_stmt *st = ims_db_stmt(b->db, "INSERT OR REPLACE INTO routes (id, domain, match, "
                                          "next_hop, kind, priority, weight, updated) VALUES "
                                          "(?, ?, ?, ?, ?, ?, ?, strftime('%s', 'now'))");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, r->domain);
    sqlite3_bind_text(st, 3, r->match, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->next_hop, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, bgcf_kind_name(r->kind), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, (int)r->priority);
    sqlite3_bind_int(st, 7, (int)r->weight);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ims_err("bgcf: cannot store route %s: %s", r->id, ims_db_errmsg(b->db));
        return -EIO;
    }
    return 0;
}

int bgcf_store_delete(struct bgcf *b, const char *id)
{
    sqlite3_stmt *st = ims_db_stmt(b->db, "DELETE FROM routes WHERE id = ?");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ims_err("bgcf: cannot delete route %s: %s", id, ims_db_errmsg(b->db));
        return -EIO;
    }
    return sqlite3_changes(ims_db_handle(b->db)) ? 0 : -ENOENT;
}

struct bgcf_table *bgcf_tables_build(const struct bgcf *b, const struct bgcf_route *api,
                                     size_t napi, char *err, size_t errlen)
{
    struct bgcf_route *all = calloc(b->nconfig + napi + 1, sizeof(*all));
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < b->nconfig; i++)
        all[n++] = b->config[i];
    for (size_t i = 0; i < napi; i++) {
        bool shadowed = false;
        for (size_t j = 0; j < b->nconfig && !shadowed; j++)
            shadowed = strcmp(b->config[j].id, api[i].id) == 0;
        if (shadowed) {
            ims_warn("bgcf: route '%s' of the API is left out: bgcf.routes has a route of "
                     "that name", api[i].id);
            continue;
        }
        all[n] = api[i];
        all[n++].from_config = false;
    }
    struct bgcf_table *t = bgcf_table_new(all, n, err, errlen);
    free(all);
    return t;
}
