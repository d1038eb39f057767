/*
 * cdr_export.c - CDR queries (API) and the export files of each rotation period
 *
 * Every ocs... cdf.rotation seconds the closed CDRs not yet exported are written to
 * <cdf.export_dir>/cdr-<UTC time>.csv and .json (written to a temporary name, synced, then
 * renamed, and only then marked exported in the database: a crash leaves them to the next
 * file, never lost). A CDR corrected later (a late STOP after a timeout) is exported again.
 * The query runs under the lock; the file writing does not.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_BATCH 5000

#define CDR_SELECT "SELECT " OCS_CDR_COLS " FROM cdrs "

json_t *ocs_cdr_query(struct ims_db *db, const char *icid, const char *subscriber,
                      int64_t from, int64_t to, long offset, long limit)
{
    sqlite3_stmt *st = ims_db_stmt(db, CDR_SELECT
        "WHERE (?1 IS NULL OR icid = ?1) AND (?2 IS NULL OR calling = ?2 OR called = ?2 OR "
        "calling IN (SELECT i.identity FROM account_ids i JOIN accounts a ON "
        "a.id = i.account_id WHERE a.name = ?2) OR called IN (SELECT i.identity FROM "
        "account_ids i JOIN accounts a ON a.id = i.account_id WHERE a.name = ?2)) AND "
        "start >= ?3 AND start < ?4 ORDER BY start, id LIMIT ?5 OFFSET ?6");
    json_t *items = json_array();
    if (!st || !items) {
        json_decref(items);
        return NULL;
    }
    if (icid)
        sqlite3_bind_text(st, 1, icid, -1, SQLITE_STATIC);
    if (subscriber)
        sqlite3_bind_text(st, 2, subscriber, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, to);
    sqlite3_bind_int64(st, 5, limit);
    sqlite3_bind_int64(st, 6, offset);
    struct ocs_cdr c;
    while (sqlite3_step(st) == SQLITE_ROW) {
        ocs_cdr_from_row(st, &c);
        json_array_append_new(items, ocs_cdr_json(&c));
    }
    sqlite3_reset(st);
    return json_pack("{s:I, s:I, s:o}", "offset", (json_int_t)offset, "limit",
                     (json_int_t)limit, "items", items);
}

/* The closed CDRs awaiting export (at most EXPORT_BATCH), under the lock. */
static struct ocs_cdr *pending(struct ocs *o, size_t *n)
{
    struct ocs_cdr *v = NULL;
    *n = 0;
    ocs_lock();
    sqlite3_stmt *st = ims_db_stmt(o->db, CDR_SELECT "WHERE export_file IS NULL AND "
                                          "status != 0 ORDER BY id LIMIT ?1");
    if (st) {
        sqlite3_bind_int(st, 1, EXPORT_BATCH);
        v = malloc(EXPORT_BATCH * sizeof(*v));
        while (v && *n < EXPORT_BATCH && sqlite3_step(st) == SQLITE_ROW)
            ocs_cdr_from_row(st, &v[(*n)++]);
        sqlite3_reset(st);
    }
    ocs_unlock();
    return v;
}

/* Write @path durably: a temporary file, fsync, rename. */
static int write_file(const char *path, const char *text, size_t len)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return -e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

static int write_csv(const char *path, const struct ocs_cdr *v, size_t n)
{
    size_t cap = (n + 1) * 2048, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    len += (size_t)snprintf(buf, cap, "%s\n", ocs_cdr_csv_header);
    for (size_t i = 0; i < n; i++) {
        size_t row = ocs_cdr_csv(&v[i], buf + len, cap - len);
        if (len + row + 2 > cap) {   /* long rows used the room of later ones: grow */
            cap = 2 * (len + row + 2);
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                return -ENOMEM;
            }
            buf = b;
            ocs_cdr_csv(&v[i], buf + len, cap - len);
        }
        len += row;
        buf[len++] = '\n';
    }
    int rc = write_file(path, buf, len);
    free(buf);
    return rc;
}

static int write_json(const char *path, const struct ocs_cdr *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, ocs_cdr_json(&v[i]));
    char *s = a ? json_dumps(a, JSON_INDENT(1)) : NULL;
    json_decref(a);
    if (!s)
        return -ENOMEM;
    int rc = write_file(path, s, strlen(s));
    free(s);
    return rc;
}

static int mark(struct ocs *o, const struct ocs_cdr *v, size_t n, const char *name)
{
    int rc = 0;
    ocs_lock();
    if (ims_db_begin(o->db) != 0) {
        ocs_unlock();
        return -EIO;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* a CDR changed since it was read stays for the next file */
        sqlite3_stmt *st = ims_db_stmt(o->db, "UPDATE cdrs SET export_file = ?2 WHERE id = ?1 "
                                              "AND last_seen = ?3 AND status = ?4");
        if (!st) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, v[i].id);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)v[i].last_seen);
        sqlite3_bind_int(st, 4, (int)v[i].status);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = ims_db_commit(o->db);
    if (rc)
        ims_db_rollback(o->db);
    ocs_unlock();
    return rc;
}

int ocs_cdr_export(struct ocs *o, time_t now)
{
    size_t n;
    struct ocs_cdr *v = pending(o, &n);
    if (!v || n == 0) {
        free(v);
        return v ? 0 : -ENOMEM;
    }
    char stamp[32], base[520], csv[560], js[560];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(base, sizeof(base), "cdr-%s", stamp);
    snprintf(csv, sizeof(csv), "%s/%s.csv", o->cfg.export_dir, base);
    snprintf(js, sizeof(js), "%s/%s.json", o->cfg.export_dir, base);
    mkdir(o->cfg.export_dir, 0750);
    int rc = write_csv(csv, v, n);
    if (rc == 0)
        rc = write_json(js, v, n);
    if (rc == 0)
        rc = mark(o, v, n, base);
    if (rc)
        ims_err("cdf: export of %zu CDRs to %s failed: %s (kept for the next period)", n,
                csv, strerror(-rc));
    else
        ims_info("cdf: %zu CDRs exported to %s and %s.json", n, csv, base);
    free(v);
    return rc ? rc : (int)n;
}
