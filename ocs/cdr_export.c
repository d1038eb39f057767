/*
 * cdr_export.c - CDR queries (API), the export files of each rotation period, retention
 *
 * Every cdf.rotation seconds every closed CDR not yet exported is written to
 * <cdf.export_dir>/cdr-<UTC time>.csv and .json: the whole backlog, read EXPORT_CHUNK rows
 * at a time under the lock (the Diameter threads wait for one chunk at most) and streamed
 * to temporary files, cdf.file_rows per file pair (cdr-<time>_002... after the first).
 * Each pair is synced, renamed, its folder synced, and only then are its CDRs marked
 * exported: a crash leaves them to the next file, never lost (at worst exported twice). A
 * CDR corrected later (a late STOP after a timeout) is exported again. Rows are built in
 * growing buffers: a field of any length, its quotes doubled, fits.
 *
 * Exported CDRs whose last record is older than cdf.retention_days are then purged or
 * moved to the archive database, RETIRE_BATCH per transaction.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_CHUNK 500         /* CDRs read under the lock at once */
#define MARK_BATCH 1000          /* CDRs marked exported per transaction */
#define RETIRE_BATCH 1000        /* CDRs purged or archived per transaction */

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

/* What the mark after the rename compares: a CDR changed since it was read is kept. */
struct exported {
    int64_t id;
    int64_t last_seen;
    int status;
};

/* One export file pair being written. */
struct export_file {
    char base[64];               /* cdr-<stamp>[_NNN], also the CDRs' export_file */
    char csv[600], json[600], csv_tmp[608], json_tmp[608];
    FILE *csv_f, *json_f;
    struct exported *rows;
    size_t n, cap;
};

/* Up to @want closed CDRs awaiting export with @after < id <= @max, by id, under the lock.
 * Returns how many were read into @v, or -EIO. */
static int read_chunk(struct ocs *o, int64_t after, int64_t max, struct ocs_cdr *v, int want)
{
    int n = 0;
    ocs_lock();
    sqlite3_stmt *st = ims_db_stmt(o->db, CDR_SELECT "WHERE export_file IS NULL AND "
                                          "status != 0 AND id > ?1 AND id <= ?2 "
                                          "ORDER BY id LIMIT ?3");
    if (st) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, max);
        sqlite3_bind_int(st, 3, want);
        while (n < want && sqlite3_step(st) == SQLITE_ROW)
            ocs_cdr_from_row(st, &v[n++]);
        sqlite3_reset(st);
    }
    ocs_unlock();
    return st ? n : -EIO;
}

static int64_t max_id(struct ocs *o)
{
    int64_t max = -1;
    ocs_lock();
    sqlite3_stmt *st = ims_db_stmt(o->db, "SELECT COALESCE(MAX(id), 0) FROM cdrs");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        max = sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    ocs_unlock();
    return max;
}

/* A temporary file of mode 0640 for writing (stdio buffered). */
static FILE *create(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

/* The first name of this period not taken yet: cdr-<stamp>, then cdr-<stamp>_002, ... */
static void pick_name(struct ocs *o, time_t now, unsigned *seq, struct export_file *x)
{
    char stamp[32];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (;; (*seq)++) {
        if (*seq <= 1)
            snprintf(x->base, sizeof(x->base), "cdr-%s", stamp);
        else
            snprintf(x->base, sizeof(x->base), "cdr-%s_%03u", stamp, *seq);
        snprintf(x->csv, sizeof(x->csv), "%s/%s.csv", o->cfg.export_dir, x->base);
        snprintf(x->json, sizeof(x->json), "%s/%s.json", o->cfg.export_dir, x->base);
        if (access(x->csv, F_OK) != 0 && access(x->json, F_OK) != 0)
            break;
    }
    snprintf(x->csv_tmp, sizeof(x->csv_tmp), "%s.tmp", x->csv);
    snprintf(x->json_tmp, sizeof(x->json_tmp), "%s.tmp", x->json);
}

static int open_files(struct export_file *x)
{
    x->csv_f = create(x->csv_tmp);
    x->json_f = x->csv_f ? create(x->json_tmp) : NULL;
    if (!x->json_f)
        return -errno;
    fprintf(x->csv_f, "%s\n", ocs_cdr_csv_header);
    fputs("[", x->json_f);
    return 0;
}

/* Append one CDR to both files and remember it for the mark. */
static int add_row(struct export_file *x, const struct ocs_cdr *c)
{
    struct ims_buf b = { 0 };
    ocs_cdr_csv(c, &b);
    ims_buf_add(&b, "\n");
    char *line = ims_buf_take(&b);
    json_t *doc = ocs_cdr_json(c);
    char *js = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    int rc = line && js ? 0 : -ENOMEM;
    if (rc == 0 && x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 1024;
        struct exported *r = realloc(x->rows, cap * sizeof(*r));
        if (r) {
            x->rows = r;
            x->cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        fputs(line, x->csv_f);
        fprintf(x->json_f, "%s\n%s", x->n ? "," : "", js);
        x->rows[x->n++] = (struct exported){ c->id, (int64_t)c->last_seen, (int)c->status };
    }
    free(line);
    free(js);
    return rc;
}

static size_t file_rows(const struct ocs *o)
{
    return o->cfg.file_rows ? o->cfg.file_rows : OCS_EXPORT_FILE_ROWS;
}

/* Fill the files with up to cdf.file_rows CDRs, EXPORT_CHUNK per lock. */
static int fill(struct ocs *o, struct export_file *x, int64_t max)
{
    struct ocs_cdr *v = malloc(EXPORT_CHUNK * sizeof(*v));
    int64_t after = 0;
    int rc = v ? 0 : -ENOMEM;
    while (rc == 0 && x->n < file_rows(o)) {
        size_t left = file_rows(o) - x->n;
        int want = left < EXPORT_CHUNK ? (int)left : EXPORT_CHUNK;
        int n = read_chunk(o, after, max, v, want);
        if (n < 0)
            rc = n;
        for (int i = 0; i < n && rc == 0; i++)
            rc = add_row(x, &v[i]);
        if (n < want)
            break;
        after = v[n - 1].id;
    }
    free(v);
    return rc;
}

/* fsync a folder, so that a rename in it survives a power loss. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Close a written file durably: flush, fsync, close. */
static int finish(FILE *f)
{
    int rc = 0;
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
        rc = errno ? -errno : -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = errno ? -errno : -EIO;
    return rc;
}

/* Both files synced, renamed (the JSON first: a CSV present means both are) and the folder
 * synced. The temporary files are removed on failure. */
static int publish(struct ocs *o, struct export_file *x)
{
    fputs("\n]\n", x->json_f);
    int rc = finish(x->csv_f);
    int rc2 = finish(x->json_f);
    x->csv_f = x->json_f = NULL;
    if (rc == 0)
        rc = rc2;
    if (rc == 0 && rename(x->json_tmp, x->json) != 0)
        rc = -errno;
    if (rc == 0 && rename(x->csv_tmp, x->csv) != 0) {
        rc = -errno;
        unlink(x->json);
    }
    if (rc == 0)
        rc = sync_dir(o->cfg.export_dir);
    unlink(x->csv_tmp);
    unlink(x->json_tmp);
    return rc;
}

static void discard(struct export_file *x)
{
    if (x->csv_f)
        fclose(x->csv_f);
    if (x->json_f)
        fclose(x->json_f);
    x->csv_f = x->json_f = NULL;
    unlink(x->csv_tmp);
    unlink(x->json_tmp);
}

/* Mark @n rows exported in @name, MARK_BATCH per transaction (the lock is let go between). */
static int mark(struct ocs *o, const struct exported *v, size_t n, const char *name)
{
    int rc = 0;
    for (size_t from = 0; from < n && rc == 0; from += MARK_BATCH) {
        size_t to = n - from < MARK_BATCH ? n : from + MARK_BATCH;
        ocs_lock();
        rc = ims_db_begin(o->db);
        for (size_t i = from; i < to && rc == 0; i++) {
            /* a CDR changed since it was read stays for the next file */
            sqlite3_stmt *st = ims_db_stmt(o->db, "UPDATE cdrs SET export_file = ?2 "
                                                  "WHERE id = ?1 AND last_seen = ?3 AND "
                                                  "status = ?4");
            if (!st) {
                rc = -EIO;
                break;
            }
            sqlite3_bind_int64(st, 1, v[i].id);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, v[i].last_seen);
            sqlite3_bind_int(st, 4, v[i].status);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
            sqlite3_reset(st);
        }
        if (rc == 0)
            rc = ims_db_commit(o->db);
        else
            ims_db_rollback(o->db);
        ocs_unlock();
    }
    return rc ? -EIO : 0;
}

/* One file pair of at most cdf.file_rows CDRs with ids up to @max. Returns the count
 * written (0: nothing pending, no file) or -errno. */
static int export_one(struct ocs *o, time_t now, int64_t max, unsigned *seq)
{
    struct export_file x = { .csv_f = NULL };
    pick_name(o, now, seq, &x);
    int rc = open_files(&x);
    if (rc == 0)
        rc = fill(o, &x, max);
    if (rc == 0 && x.n == 0) {
        discard(&x);
        free(x.rows);
        return 0;
    }
    if (rc == 0)
        rc = publish(o, &x);
    else
        discard(&x);
    if (rc == 0 && mark(o, x.rows, x.n, x.base) != 0)
        ims_err("cdf: %zu CDRs written to %s but not marked exported (database error): "
                "they will be exported again", x.n, x.csv);
    if (rc)
        ims_err("cdf: export to %s failed: %s (the CDRs are kept for the next period)",
                x.csv, strerror(-rc));
    else
        ims_info("cdf: %zu CDRs exported to %s and %s.json", x.n, x.csv, x.base);
    free(x.rows);
    (*seq)++;
    return rc ? rc : (int)x.n;
}

int ocs_cdr_export(struct ocs *o, time_t now)
{
    int64_t max = max_id(o);
    unsigned seq = 1;
    long total = 0;
    if (max < 0)
        return -EIO;
    if (mkdir(o->cfg.export_dir, 0750) != 0 && errno != EEXIST) {
        ims_err("cdf: cannot create the export folder %s: %s", o->cfg.export_dir,
                strerror(errno));
        return -errno;
    }
    /* the backlog as of now, file after file; CDRs closing meanwhile wait for the next */
    for (;;) {
        int n = export_one(o, now, max, &seq);
        if (n < 0)
            return total ? (int)total : n;
        total += n;
        if ((size_t)n < file_rows(o) || total > INT_MAX - (long)file_rows(o))
            break;
    }
    return (int)total;
}

/* ---- retention ---- */

/* Up to RETIRE_BATCH exported CDRs last seen before @cutoff, under the lock. */
static int retirees(struct ocs *o, int64_t cutoff, int64_t *ids)
{
    int n = 0;
    sqlite3_stmt *st = ims_db_stmt(o->db, "SELECT id FROM cdrs WHERE status IN (1, 2) AND "
                                          "last_seen < ?1 AND export_file IS NOT NULL "
                                          "LIMIT ?2");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, RETIRE_BATCH);
    while (n < RETIRE_BATCH && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

/* Run @sql (?1 an id, ?2 @now when it uses it) for each of @ids in one transaction. */
static int each_id(struct ocs *o, const char *sql, const int64_t *ids, int n, time_t now)
{
    int rc = ims_db_begin(o->db);
    for (int i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *st = ims_db_stmt(o->db, sql);
        if (!st) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int64(st, 2, (int64_t)now);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(st);
    }
    if (rc == 0)
        return ims_db_commit(o->db) == 0 ? 0 : -EIO;
    ims_db_rollback(o->db);
    return -EIO;
}

/*
 * One batch: with "archive", the rows are copied to the archive database in a transaction
 * of their own, then deleted from the live one (a crash between leaves them in both; the
 * copy again is ignored), so that no row is ever in neither.
 */
static int retire_batch(struct ocs *o, int64_t cutoff, time_t now)
{
    int64_t ids[RETIRE_BATCH];
    ocs_lock();
    int n = retirees(o, cutoff, ids);
    int rc = n > 0 ? 0 : n;
    if (n > 0 && o->cfg.retention_action == OCS_RETAIN_ARCHIVE)
        rc = each_id(o, "INSERT OR IGNORE INTO archive.cdrs (" OCS_CDR_COLS ", export_file, "
                        "archived) SELECT " OCS_CDR_COLS ", export_file, ?2 FROM main.cdrs "
                        "WHERE id = ?1", ids, n, now);
    if (n > 0 && rc == 0)
        rc = each_id(o, "DELETE FROM main.cdrs WHERE id = ?1", ids, n, now);
    ocs_unlock();
    return rc ? rc : n;
}

int ocs_cdr_retire(struct ocs *o, time_t now)
{
    if (!o->cfg.retention_days)
        return 0;
    int64_t cutoff = (int64_t)now - (int64_t)o->cfg.retention_days * 86400;
    long total = 0;
    int n;
    do {
        n = retire_batch(o, cutoff, now);
        if (n > 0)
            total += n;
    } while (n == RETIRE_BATCH && total < INT_MAX - RETIRE_BATCH);
    if (n < 0)
        ims_err("cdf: retention of exported CDRs failed (database error)");
    if (total)
        ims_info("cdf: %ld exported CDRs older than %u days %s", total,
                 o->cfg.retention_days, o->cfg.retention_action == OCS_RETAIN_ARCHIVE
                     ? "moved to the archive" : "purged");
    return n < 0 && !total ? n : (int)total;
}
