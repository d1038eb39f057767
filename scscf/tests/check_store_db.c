/*
 * check_store_db.c - the S-CSCF's registrations on disk (scscf/store_db.c): a commit's
 * callback comes only once its bindings are in the database (read back by another
 * connection), with and without the writer thread; a failed transaction reports -EIO and
 * its sets are written again by the next commit; the writer's last batches and what is
 * still pending are written at stop; a restart reads every registration back
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "loop.h"
#include "scscf.h"

static struct scscf s;
static struct ims_daemon d;
static char dir[] = "/tmp/check_store_db.XXXXXX";
static char path[256];

struct done {
    int calls;
    int rc;
};

static void on_done(void *arg, int rc)
{
    struct done *x = arg;
    x->calls++;
    x->rc = rc;
}

static void open_store(bool full)
{
    memset(&s, 0, sizeof(s));
    s.d = &d;
    ck_assert_int_eq(scscf_store_init(&s, path, full), 0);
}

static void setup(void)
{
    memset(&d, 0, sizeof(d));
    strcpy(dir, "/tmp/check_store_db.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/scscf.db", dir);
    open_store(false);
}

static void teardown(void)
{
    scscf_store_fini(&s);
    if (d.loop)
        ims_loop_destroy(d.loop);
    d.loop = NULL;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Register user @n with one binding, as the registrar does after the SAA */
static void register_user(int n)
{
    char impu[64];
    snprintf(impu, sizeof(impu), "sip:user%05d@ims.example", n);
    struct scscf_aor *aor = scscf_store_upsert(&s, impu, NULL);
    ck_assert_ptr_nonnull(aor);
    struct scscf_contact_in c;
    memset(&c, 0, sizeof(c));
    snprintf(c.uri, sizeof(c.uri), "sip:user%05d@127.0.0.110:%d", n, 5000 + n);
    snprintf(c.impi, sizeof(c.impi), "user%05d@ims.example", n);
    c.expires = time(NULL) + 3600;
    ck_assert_int_eq(scscf_store_bind(&s, aor, &c, 0), 0);
}

/* What another connection reads: the bindings of user @n (-1: the database is unreadable) */
static int on_disk(int n)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char uri[64];
    snprintf(uri, sizeof(uri), "sip:user%05d@127.0.0.110:%d", n, 5000 + n);
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    int found = -1;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM contact WHERE uri = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return found;
}

/* Another connection runs @sql on the database */
static void meddle(const char *sql)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* The loop turns until @x has been called (the writer's answer), 5 s at most */
static void run_until(struct done *x)
{
    for (int i = 0; i < 500 && !x->calls; i++)
        su_root_step(ims_loop_root(d.loop), 10);
}

static void start_writer(void)
{
    d.loop = ims_loop_create(64);
    ck_assert_ptr_nonnull(d.loop);
    ck_assert_int_eq(scscf_store_start(&s), 0);
}

START_TEST(commit_then_restart)
{
    struct done x = { 0, 1 };
    for (int n = 1; n <= 3; n++)
        register_user(n);
    ck_assert_int_eq(on_disk(1), 0);                /* nothing written behind our back */
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_int_eq(x.rc, 0);
    for (int n = 1; n <= 3; n++)
        ck_assert_int_eq(on_disk(n), 1);
    /* nothing pending: the answer comes at once */
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    ck_assert_int_eq(x.calls, 2);
    /* a removal is a commit of its own */
    scscf_store_remove(&s, scscf_store_find(&s, "sip:user00002@ims.example"));
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    ck_assert_int_eq(x.rc, 0);
    ck_assert_int_eq(on_disk(2), 0);
    scscf_store_fini(&s);
    open_store(false);
    ck_assert_uint_eq(s.naors, 2);
    ck_assert_uint_eq(s.ncontacts, 2);
    ck_assert_ptr_nonnull(scscf_store_find(&s, "sip:user00003@ims.example"));
    ck_assert_ptr_null(scscf_store_find(&s, "sip:user00002@ims.example"));
}
END_TEST

START_TEST(writer_thread_group_commit)
{
    start_writer();
    struct done x[20];
    memset(x, 0, sizeof(x));
    for (int n = 0; n < 20; n++) {
        register_user(n + 1);
        ck_assert_int_eq(scscf_store_commit(&s, on_done, &x[n]), 0);
        ck_assert_int_eq(x[n].calls, 0);            /* the writer answers, on the loop */
    }
    for (int n = 0; n < 20; n++) {
        run_until(&x[n]);
        ck_assert_int_eq(x[n].calls, 1);
        ck_assert_int_eq(x[n].rc, 0);
        ck_assert_int_eq(on_disk(n + 1), 1);        /* on disk when the answer came */
    }
}
END_TEST

START_TEST(failure_is_reported_and_redone)
{
    struct done x = { 0, 0 };
    register_user(1);
    meddle("ALTER TABLE contact RENAME TO gone");   /* the next transaction fails */
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_int_eq(x.rc, -EIO);
    ck_assert(scscf_store_find(&s, "sip:user00001@ims.example")->dirty);   /* to redo */
    meddle("ALTER TABLE gone RENAME TO contact");
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    ck_assert_int_eq(x.calls, 2);
    ck_assert_int_eq(x.rc, 0);
    ck_assert_int_eq(on_disk(1), 1);
}
END_TEST

START_TEST(stop_writes_what_is_pending)
{
    start_writer();
    struct done x = { 0, 1 };
    register_user(1);
    ck_assert_int_eq(scscf_store_commit(&s, on_done, &x), 0);
    register_user(2);                               /* changed, nobody waits */
    scscf_store_fini(&s);
    ck_assert_int_eq(x.calls, 1);                   /* answered at stop at the latest */
    ck_assert_int_eq(x.rc, 0);
    ck_assert_int_eq(on_disk(1), 1);
    ck_assert_int_eq(on_disk(2), 1);
    ims_loop_destroy(d.loop);                       /* a wake job still queued runs here */
    d.loop = NULL;
    open_store(true);
    ck_assert_uint_eq(s.ncontacts, 2);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("scscf_store_db");
    TCase *tc = tcase_create("durability");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, commit_then_restart);
    tcase_add_test(tc, writer_thread_group_commit);
    tcase_add_test(tc, failure_is_reported_and_redone);
    tcase_add_test(tc, stop_writes_what_is_pending);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
