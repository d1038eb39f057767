/*
 * check_db.c - SQLite helpers: WAL, migrations, the statement cache, transactions and the
 * group sync of the WAL
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

static const char *const migrations[] = {
    "CREATE TABLE subscriber (impi TEXT PRIMARY KEY, k BLOB);",
    "CREATE TABLE sqn (impi TEXT PRIMARY KEY REFERENCES subscriber(impi), sqn INTEGER);"
    "INSERT INTO subscriber VALUES ('alice@ims.net', x'00');",
    "ALTER TABLE subscriber ADD COLUMN opc BLOB;",
};
#define NMIG (sizeof(migrations) / sizeof(migrations[0]))

static char path[64];
static struct ims_db *db;

/*
 * fdatasync - interposed (this definition comes first for the whole process, SQLite's own
 * calls included): counts the calls on files whose name ends with @g_watch, and fails them
 * with EIO while g_fail is set.
 */
static char g_watch[80];
static atomic_int g_synced;
static atomic_bool g_fail;

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    char link[64], name[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, name, sizeof(name) - 1);
    name[n > 0 ? n : 0] = '\0';
    size_t w = strlen(g_watch);
    if (w && (size_t)n >= w && strcmp(name + n - w, g_watch) == 0) {
        atomic_fetch_add(&g_synced, 1);
        if (atomic_load(&g_fail)) {
            errno = EIO;
            return -1;
        }
    }
    return real(fd);
}

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/check_db_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    db = NULL;
}

static void teardown(void)
{
    char side[80];
    ims_db_close(db);
    db = NULL;
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

/* One integer from a one-row query, prepared outside the statement cache. */
static int query_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int table_exists(sqlite3 *h, const char *name)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master WHERE "
                                           "type = 'table' AND name = ?1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int count_rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    return query_int(ims_db_handle(db), sql);
}

START_TEST(test_open_wal_and_migrate)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_ptr_nonnull(db);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), "PRAGMA journal_mode", -1, &st,
                                        NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    ck_assert_int_eq(query_int(ims_db_handle(db), "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(ims_db_version(db), 3);
    ck_assert_int_eq(query_int(ims_db_handle(db), "PRAGMA user_version"), 3);
    ck_assert(table_exists(ims_db_handle(db), "subscriber"));
    ck_assert(table_exists(ims_db_handle(db), "sqn"));
    /* the third migration ran after the first: the column exists */
    ck_assert_int_eq(ims_db_exec(db, "UPDATE subscriber SET opc = x'01'"), 0);
    ck_assert_int_eq(count_rows("subscriber"), 1);
}
END_TEST

START_TEST(test_migrations_step_by_step)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, 1), 0);
    ck_assert_int_eq(ims_db_version(db), 1);
    ck_assert(table_exists(ims_db_handle(db), "subscriber"));
    ck_assert(!table_exists(ims_db_handle(db), "sqn"));
    ims_db_close(db);
    db = NULL;
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_int_eq(ims_db_version(db), 3);
    ck_assert(table_exists(ims_db_handle(db), "sqn"));
}
END_TEST

START_TEST(test_reopen_does_not_reapply)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ims_db_close(db);
    db = NULL;
    /* migration 2 inserts a row and CREATE TABLE would fail if run twice */
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_int_eq(ims_db_version(db), 3);
    ck_assert_int_eq(count_rows("subscriber"), 1);
}
END_TEST

START_TEST(test_failed_migration_rolls_back)
{
    static const char *const bad[] = {
        "CREATE TABLE one (x);",
        "CREATE TABLE two (x); INSERT INTO two VALUES (1); INSERT INTO nosuch VALUES (1);",
    };
    ck_assert_int_lt(ims_db_open(&db, path, bad, 2), 0);
    ck_assert_ptr_null(db);

    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    ck_assert_int_eq(query_int(h, "PRAGMA user_version"), 1);
    ck_assert(table_exists(h, "one"));
    ck_assert(!table_exists(h, "two"));
    sqlite3_close(h);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ims_db_close(db);
    db = NULL;
    ck_assert_int_lt(ims_db_open(&db, path, migrations, 2), 0);
    ck_assert_ptr_null(db);

    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    ck_assert_int_eq(query_int(h, "PRAGMA user_version"), 3);
    sqlite3_close(h);
}
END_TEST

START_TEST(test_stmt_cache)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('bob@ims.net')"), 0);
    const char *sql = "SELECT impi FROM subscriber ORDER BY impi";
    sqlite3_stmt *a = ims_db_stmt(db, sql);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(sqlite3_step(a), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(a, 0), "alice@ims.net");
    ck_assert_int_eq(sqlite3_step(a), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(a, 0), "bob@ims.net");

    /* same statement, back at the first row; an equal string in another buffer matches */
    char copy[64];
    snprintf(copy, sizeof(copy), "%s", sql);
    sqlite3_stmt *b = ims_db_stmt(db, copy);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(sqlite3_step(b), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(b, 0), "alice@ims.net");

    ck_assert_ptr_ne(ims_db_stmt(db, "SELECT count(*) FROM subscriber"), a);
}
END_TEST

START_TEST(test_stmt_bindings_cleared)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    const char *sql = "SELECT count(*) FROM subscriber WHERE impi = ?1";
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    ck_assert_ptr_nonnull(st);
    sqlite3_bind_text(st, 1, "alice@ims.net", -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);

    st = ims_db_stmt(db, sql);   /* ?1 is NULL again: matches nothing */
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
}
END_TEST

START_TEST(test_stmt_bad_sql)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_ptr_null(ims_db_stmt(db, "SELECT * FROM nosuch"));
    ck_assert_ptr_null(ims_db_stmt(db, "SELECT * FROM nosuch"));   /* not cached */
    ck_assert_int_ne(ims_db_exec(db, "NOT SQL"), 0);
}
END_TEST

START_TEST(test_transactions)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    sqlite3 *h = ims_db_handle(db);

    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(sqlite3_get_autocommit(h), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('c@ims.net')"), 0);
    ck_assert_int_eq(ims_db_commit(db), 0);
    ck_assert_int_ne(sqlite3_get_autocommit(h), 0);
    ck_assert_int_eq(count_rows("subscriber"), 2);

    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('d@ims.net')"), 0);
    ck_assert_int_eq(count_rows("subscriber"), 3);
    ims_db_rollback(db);
    ck_assert_int_ne(sqlite3_get_autocommit(h), 0);
    ck_assert_int_eq(count_rows("subscriber"), 2);

    ims_db_rollback(db);   /* no transaction open: harmless */
    ck_assert_int_ne(ims_db_commit(db), 0);  /* nothing to commit */

    /* nesting: an inner level is a savepoint; its rollback undoes only its own part */
    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('outer@ims.net')"), 0);
    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('inner@ims.net')"), 0);
    ims_db_rollback(db);
    ck_assert_int_eq(sqlite3_get_autocommit(h), 0);   /* the outer level is still open */
    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('kept@ims.net')"), 0);
    ck_assert_int_eq(ims_db_commit(db), 0);
    ck_assert_int_eq(ims_db_commit(db), 0);
    ck_assert_int_ne(sqlite3_get_autocommit(h), 0);
    ck_assert_int_eq(count_rows("subscriber"), 4);   /* 2 + outer + kept, not inner */

    /* a rollback of the outer level undoes the committed inner levels too */
    ck_assert_int_eq(ims_db_begin_read(db), 0);
    ck_assert_int_eq(ims_db_begin(db), 0);
    ck_assert_int_eq(ims_db_exec(db, "INSERT INTO subscriber (impi) VALUES ('gone@ims.net')"), 0);
    ck_assert_int_eq(ims_db_commit(db), 0);
    ims_db_rollback(db);
    ck_assert_int_eq(count_rows("subscriber"), 4);
}
END_TEST

START_TEST(test_committed_data_persists)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    ck_assert_int_eq(ims_db_begin(db), 0);
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO subscriber (impi) VALUES (?1)");
    ck_assert_ptr_nonnull(st);
    sqlite3_bind_text(st, 1, "e@ims.net", -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    ck_assert_int_eq(ims_db_commit(db), 0);
    ims_db_close(db);
    db = NULL;

    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    ck_assert_int_eq(query_int(h, "SELECT count(*) FROM subscriber WHERE impi = 'e@ims.net'"),
                     1);
    sqlite3_close(h);
}
END_TEST

/* rows committed with synchronous = NORMAL: the WAL is written, not synced */
static void commit_row(const char *impi)
{
    ck_assert_int_eq(ims_db_begin(db), 0);
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT INTO subscriber (impi) VALUES (?1)");
    ck_assert_ptr_nonnull(st);
    sqlite3_bind_text(st, 1, impi, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    ck_assert_int_eq(ims_db_commit(db), 0);
}

START_TEST(test_sync_wal_syncs_the_wal)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    snprintf(g_watch, sizeof(g_watch), "%s-wal", strrchr(path, '/'));
    atomic_store(&g_synced, 0);
    commit_row("w1@ims.net");
    ck_assert_int_eq(atomic_load(&g_synced), 0);      /* NORMAL: no sync at commit */
    ck_assert_int_eq(ims_db_sync_wal(db), 0);
    ck_assert_int_eq(atomic_load(&g_synced), 1);      /* the barrier: one fdatasync */
    /* a failed sync is reported to the call it covers, not to later ones */
    atomic_store(&g_fail, true);
    ck_assert_int_eq(ims_db_sync_wal(db), -EIO);
    atomic_store(&g_fail, false);
    ck_assert_int_eq(ims_db_sync_wal(db), 0);
    /* without a WAL the database file itself is synced */
    ck_assert_int_eq(ims_db_exec(db, "PRAGMA journal_mode = DELETE"), 0);
    snprintf(g_watch, sizeof(g_watch), "%s", strrchr(path, '/'));
    atomic_store(&g_synced, 0);
    ck_assert_int_eq(ims_db_sync_wal(db), 0);
    ck_assert_int_eq(atomic_load(&g_synced), 1);
    g_watch[0] = '\0';
}
END_TEST

#define SYNC_THREADS 8
#define SYNC_CALLS 10

static void *sync_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < SYNC_CALLS; i++)
        if (ims_db_sync_wal(db) != 0)
            return (void *)1;
    return NULL;
}

START_TEST(test_sync_wal_from_many_threads)
{
    ck_assert_int_eq(ims_db_open(&db, path, migrations, NMIG), 0);
    commit_row("w2@ims.net");
    snprintf(g_watch, sizeof(g_watch), "%s-wal", strrchr(path, '/'));
    atomic_store(&g_synced, 0);
    pthread_t t[SYNC_THREADS];
    for (int i = 0; i < SYNC_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, sync_many, NULL), 0);
    for (int i = 0; i < SYNC_THREADS; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        ck_assert_ptr_null(rc);
    }
    /* each call had a sync of its own or shared one: never more syncs than calls */
    int n = atomic_load(&g_synced);
    ck_assert_int_ge(n, SYNC_CALLS);
    ck_assert_int_le(n, SYNC_THREADS * SYNC_CALLS);
    g_watch[0] = '\0';
}
END_TEST

static Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_wal_and_migrate);
    tcase_add_test(tc, test_migrations_step_by_step);
    tcase_add_test(tc, test_reopen_does_not_reapply);
    tcase_add_test(tc, test_failed_migration_rolls_back);
    tcase_add_test(tc, test_newer_schema_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("statements");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stmt_cache);
    tcase_add_test(tc, test_stmt_bindings_cleared);
    tcase_add_test(tc, test_stmt_bad_sql);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_committed_data_persists);
    suite_add_tcase(s, tc);

    tc = tcase_create("durability");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sync_wal_syncs_the_wal);
    tcase_add_test(tc, test_sync_wal_from_many_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ims_log_set_level(IMS_LOG_WARN);   /* no "migrated" lines; errors still show */
    SRunner *sr = srunner_create(db_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
