/*
 * rf_spool.c - the ACR spool in SQLite
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "rf_spool.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PENDING = 0, REJECTED = 1 };

struct ims_rf_spool {
    struct ims_db *db;
    long pending;                /* pending rows, counted at open and kept since */
};

static const char *const migrations[] = {
    "CREATE TABLE acr_spool ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  msg BLOB NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  inflight INTEGER NOT NULL DEFAULT 1,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  result INTEGER NOT NULL DEFAULT 0,"
    "  next_try INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX acr_spool_due ON acr_spool(state, inflight, next_try);",
};

int64_t ims_rf_spool_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long count_state(struct ims_rf_spool *s, int state);

/* Runs @sql on row @id; the number of rows changed (0 or 1), or -EIO. */
static int exec_id(struct ims_rf_spool *s, const char *sql, int64_t id, int64_t a, int64_t b)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, sql);
    if (!st)
        return -EIO;
    int np = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, id);
    if (np >= 2)
        sqlite3_bind_int64(st, 2, a);
    if (np >= 3)
        sqlite3_bind_int64(st, 3, b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ims_err("rf spool: %s", ims_db_errmsg(s->db));
        return -EIO;
    }
    return sqlite3_changes(ims_db_handle(s->db));
}

int ims_rf_spool_open(struct ims_rf_spool **out, const char *path)
{
    struct ims_rf_spool *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = ims_db_open(&s->db, path, migrations, sizeof(migrations) / sizeof(migrations[0]));
    /* one connection of one process: its locks are taken once, not at every transaction
     * (and a second process on the same spool is refused) */
    if (rc == 0)
        rc = ims_db_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE");
    if (rc == 0)
        rc = ims_db_exec(s->db, "UPDATE acr_spool SET inflight = 0 WHERE inflight");
    if (rc == 0 && (s->pending = count_state(s, PENDING)) < 0)
        rc = -EIO;
    if (rc) {
        ims_db_close(s->db);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ims_rf_spool_close(struct ims_rf_spool *s)
{
    if (!s)
        return;
    ims_db_close(s->db);
    free(s);
}

int ims_rf_spool_add(struct ims_rf_spool *s, const char *session_id, int type, uint32_t number,
                     const uint8_t *bytes, size_t len, unsigned max, int64_t *id)
{
    *id = 0;
    if ((unsigned long)s->pending >= max)
        return -ENOSPC;
    sqlite3_stmt *st = ims_db_stmt(s->db, "INSERT INTO acr_spool (session_id, type, number, "
                                          "msg, next_try, created) VALUES (?1, ?2, ?3, ?4, "
                                          "?5, ?5)");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, type);
    sqlite3_bind_int64(st, 3, number);
    sqlite3_bind_blob(st, 4, bytes, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, ims_rf_spool_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    *id = sqlite3_last_insert_rowid(ims_db_handle(s->db));
    s->pending++;
    return 0;
}

int ims_rf_spool_begin(struct ims_rf_spool *s)
{
    return ims_db_begin(s->db);
}

int ims_rf_spool_commit(struct ims_rf_spool *s)
{
    int rc = ims_db_commit(s->db);
    if (rc == 0)
        return 0;
    /* rolled back: what was counted in it is not there */
    ims_err("rf spool: commit failed (%s)", ims_db_errmsg(s->db));
    long n = count_state(s, PENDING);
    if (n >= 0)
        s->pending = n;
    return rc;
}

void ims_rf_spool_sending(struct ims_rf_spool *s, int64_t id)
{
    if (id)
        exec_id(s, "UPDATE acr_spool SET inflight = 1 WHERE id = ?1", id, 0, 0);
}

void ims_rf_spool_done(struct ims_rf_spool *s, int64_t id)
{
    if (id && exec_id(s, "DELETE FROM acr_spool WHERE id = ?1 AND state = 0", id, 0, 0) > 0)
        s->pending--;
}

void ims_rf_spool_reject(struct ims_rf_spool *s, int64_t id, uint32_t code)
{
    if (id && exec_id(s, "UPDATE acr_spool SET state = 1, inflight = 0, result = ?2, "
                         "attempts = attempts + 1 WHERE id = ?1 AND state = 0", id, code,
                      0) > 0)
        s->pending--;
}

void ims_rf_spool_retry(struct ims_rf_spool *s, int64_t id, uint32_t code, int64_t next_ms)
{
    if (id)
        exec_id(s, "UPDATE acr_spool SET inflight = 0, result = ?2, next_try = ?3, "
                   "attempts = attempts + 1 WHERE id = ?1", id, code, next_ms);
}

void ims_rf_spool_due_all(struct ims_rf_spool *s, int64_t now_ms)
{
    exec_id(s, "UPDATE acr_spool SET next_try = ?1 WHERE state = 0 AND inflight = 0 AND "
               "next_try > ?1", now_ms, 0, 0);
}

unsigned ims_rf_spool_attempts(struct ims_rf_spool *s, int64_t id)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT attempts FROM acr_spool WHERE id = ?1");
    unsigned n = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (unsigned)sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return n;
}

int ims_rf_spool_due(struct ims_rf_spool *s, int64_t now_ms, struct ims_rf_spool_row *out,
                     int max)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT id, msg FROM acr_spool WHERE state = 0 AND "
                                          "inflight = 0 AND next_try <= ?1 ORDER BY id "
                                          "LIMIT ?2");
    int n = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, max);
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        const void *b = sqlite3_column_blob(st, 1);
        uint8_t *copy = len ? malloc(len) : NULL;
        if (!copy)
            break;
        memcpy(copy, b, len);
        out[n++] = (struct ims_rf_spool_row){ sqlite3_column_int64(st, 0), copy, len };
    }
    sqlite3_reset(st);
    return n;
}

static long count_state(struct ims_rf_spool *s, int state)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT COUNT(*) FROM acr_spool WHERE state = ?1");
    long n = -1;
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, state);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

long ims_rf_spool_count(struct ims_rf_spool *s)
{
    return s->pending;
}

long ims_rf_spool_rejected(struct ims_rf_spool *s)
{
    return count_state(s, REJECTED);
}
