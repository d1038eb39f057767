/*
 * db.c - SQLite helpers
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "db.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cached {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct ims_db {
    sqlite3 *h;
    int depth;              /* open ims_db_begin levels */
    char *path;
    struct cached *cache;
    size_t ncache, capcache;
    /* ims_db_sync_wal: rounds of one fdatasync each, shared by the threads waiting */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    char *wal_path;
    int wal_fd;             /* -1 until the first round */
    uint64_t started, done; /* rounds begun, rounds finished */
    uint64_t failed;        /* the last round that failed (0: none) */
    bool syncing;
};

int ims_db_exec(struct ims_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        ims_err("db %s: %s", db->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

int ims_db_version(struct ims_db *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(struct ims_db *db, const char *const *migrations, size_t n)
{
    int v = ims_db_version(db);
    if (v < 0)
        return -EIO;
    if ((size_t)v > n) {
        ims_err("db %s: schema version %d is newer than this program knows (%zu)", db->path,
                v, n);
        return -EPROTO;
    }
    for (size_t i = (size_t)v; i < n; i++) {
        char setv[64];
        snprintf(setv, sizeof(setv), "PRAGMA user_version = %zu", i + 1);
        if (ims_db_begin(db) != 0)
            return -EIO;
        if (ims_db_exec(db, migrations[i]) != 0 || ims_db_exec(db, setv) != 0) {
            ims_db_rollback(db);
            ims_err("db %s: migration to version %zu failed; nothing changed", db->path, i + 1);
            return -EIO;
        }
        if (ims_db_commit(db) != 0)
            return -EIO;
        ims_info("db %s: schema migrated to version %zu", db->path, i + 1);
    }
    return 0;
}

/*
 * SQLite's default busy handler sleeps in growing steps (1, 2, 5, 10 ms...), which turns a
 * write lock held for tens of microseconds by another thread into milliseconds of latency.
 * Retry at once a few times, then in short sleeps, for up to 5 s in all.
 */
static int on_busy(void *arg, int count)
{
    (void)arg;
    if (count < 20) {
        sched_yield();
        return 1;
    }
    if (count > 20 + 50000)       /* 50000 x 100 us = 5 s */
        return 0;
    usleep(100);
    return 1;
}

int ims_db_open(struct ims_db **out, const char *path, const char *const *migrations,
                size_t nmigrations)
{
    struct ims_db *db = calloc(1, sizeof(*db));
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return -ENOMEM;
    }
    db->wal_fd = -1;
    pthread_mutex_init(&db->sync_mu, NULL);
    pthread_cond_init(&db->sync_cv, NULL);
    int rc = sqlite3_open_v2(path, &db->h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        ims_err("db %s: cannot open: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
        ims_db_close(db);
        return -EIO;
    }
    sqlite3_busy_handler(db->h, on_busy, NULL);
    sqlite3_extended_result_codes(db->h, 1);
    if (ims_db_exec(db, "PRAGMA journal_mode = WAL") != 0 ||
        ims_db_exec(db, "PRAGMA synchronous = NORMAL") != 0 ||
        ims_db_exec(db, "PRAGMA foreign_keys = ON") != 0 ||
        (migrations && migrate(db, migrations, nmigrations) != 0)) {
        ims_db_close(db);
        return -EIO;
    }
    const char *file = sqlite3_db_filename(db->h, "main");   /* "" or NULL: in memory */
    const char *wal = file && file[0] ? sqlite3_filename_wal(file) : NULL;
    if (!(db->wal_path = strdup(wal ? wal : ""))) {
        ims_db_close(db);
        return -ENOMEM;
    }
    *out = db;
    return 0;
}

void ims_db_close(struct ims_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->ncache; i++)
        sqlite3_finalize(db->cache[i].stmt);
    free(db->cache);
    if (db->h)
        sqlite3_close(db->h);
    if (db->wal_fd >= 0)
        close(db->wal_fd);
    pthread_mutex_destroy(&db->sync_mu);
    pthread_cond_destroy(&db->sync_cv);
    free(db->wal_path);
    free(db->path);
    free(db);
}

sqlite3 *ims_db_handle(struct ims_db *db)
{
    return db->h;
}

sqlite3_stmt *ims_db_stmt(struct ims_db *db, const char *sql)
{
    for (size_t i = 0; i < db->ncache; i++) {
        if (db->cache[i].sql == sql || strcmp(db->cache[i].sql, sql) == 0) {
            sqlite3_stmt *st = db->cache[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (db->ncache == db->capcache) {
        size_t cap = db->capcache ? db->capcache * 2 : 16;
        struct cached *c = realloc(db->cache, cap * sizeof(*c));
        if (!c)
            return NULL;
        db->cache = c;
        db->capcache = cap;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        ims_err("db %s: cannot prepare '%s': %s", db->path, sql, sqlite3_errmsg(db->h));
        return NULL;
    }
    db->cache[db->ncache++] = (struct cached){ sql, st };
    return st;
}

/* Run one cached statement to completion; logs the failure with @what. */
static int run(struct ims_db *db, const char *sql, const char *what)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    if (!st || sqlite3_step(st) != SQLITE_DONE) {
        ims_err("db %s: %s failed: %s", db->path, what, sqlite3_errmsg(db->h));
        if (st)
            sqlite3_reset(st);
        return -EIO;
    }
    sqlite3_reset(st);
    return 0;
}

/* The outermost level is a transaction, inner levels are savepoints. */
static int begin(struct ims_db *db, const char *sql)
{
    int rc = db->depth ? run(db, "SAVEPOINT ims_nested", "SAVEPOINT") : run(db, sql, "BEGIN");
    if (rc == 0)
        db->depth++;
    return rc;
}

int ims_db_begin(struct ims_db *db)
{
    return begin(db, "BEGIN IMMEDIATE");
}

int ims_db_begin_read(struct ims_db *db)
{
    return begin(db, "BEGIN DEFERRED");
}

int ims_db_commit(struct ims_db *db)
{
    if (db->depth == 0)
        return -EINVAL;
    if (db->depth > 1) {
        db->depth--;
        return run(db, "RELEASE ims_nested", "RELEASE");
    }
    int rc = run(db, "COMMIT", "COMMIT");
    if (rc && !sqlite3_get_autocommit(db->h))
        run(db, "ROLLBACK", "ROLLBACK");
    db->depth = 0;
    return rc;
}

void ims_db_rollback(struct ims_db *db)
{
    if (db->depth == 0)
        return;
    if (--db->depth > 0) {
        run(db, "ROLLBACK TO ims_nested", "ROLLBACK TO");
        run(db, "RELEASE ims_nested", "RELEASE");
        return;
    }
    if (!sqlite3_get_autocommit(db->h))
        run(db, "ROLLBACK", "ROLLBACK");
}

const char *ims_db_errmsg(struct ims_db *db)
{
    return sqlite3_errmsg(db->h);
}

/*
 * One round: fdatasync of the WAL file (opened once, again if it was replaced), or of the
 * database file when there is no WAL. Runs without the sync lock; only the round's owner
 * touches wal_fd.
 */
static int sync_round(struct ims_db *db)
{
    struct stat st;
    if (db->wal_fd >= 0 && (fstat(db->wal_fd, &st) != 0 || st.st_nlink == 0)) {
        close(db->wal_fd);
        db->wal_fd = -1;
    }
    if (db->wal_fd < 0 && db->wal_path[0])
        db->wal_fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
    int fd = db->wal_fd, rc;
    if (fd < 0) {
        if (errno != ENOENT) {
            rc = -errno;
            ims_err("db %s: cannot open %s to sync it: %s", db->path, db->wal_path,
                    strerror(errno));
            return rc;
        }
        fd = open(db->path, O_RDONLY | O_CLOEXEC);   /* no WAL: the database itself */
        if (fd < 0)
            return -errno;
        rc = fdatasync(fd) == 0 ? 0 : -errno;
        close(fd);
    } else {
        rc = fdatasync(fd) == 0 ? 0 : -errno;
    }
    if (rc)
        ims_err("db %s: fdatasync failed: %s", db->path, strerror(-rc));
    return rc;
}

int ims_db_sync_wal(struct ims_db *db)
{
    pthread_mutex_lock(&db->sync_mu);
    uint64_t need = db->started + 1;    /* the first round to begin after this call */
    while (db->done < need) {
        if (db->syncing) {
            pthread_cond_wait(&db->sync_cv, &db->sync_mu);
            continue;
        }
        db->syncing = true;
        uint64_t round = ++db->started;
        pthread_mutex_unlock(&db->sync_mu);
        int rc = sync_round(db);
        pthread_mutex_lock(&db->sync_mu);
        if (rc)
            db->failed = round;
        db->done = round;
        db->syncing = false;
        pthread_cond_broadcast(&db->sync_cv);
    }
    /* a failed round at or after ours may have lost what we wrote (fsync errors drop the
     * dirty pages): only a clean run from our round on makes it durable */
    int rc = db->failed >= need ? -EIO : 0;
    pthread_mutex_unlock(&db->sync_mu);
    return rc;
}
