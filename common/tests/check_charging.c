/*
 * check_charging.c - the Rf and Ro clients: retry rules, the ACR spool, record numbering,
 * CCA reading and Credit-Control-Failure-Handling, against a freeDiameter core without
 * peers (every request is answered DIAMETER_UNABLE_TO_DELIVER locally)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

#include "db.h"
#include "diam.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "prio.h"
#include "rf_client.h"
#include "rf_spool.h"
#include "ro_client.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"

static struct ims_loop *loop;
static char dir[64];

static void setup_dir(void)
{
    ims_log_init("check_charging", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    snprintf(dir, sizeof(dir), "/tmp/check-charging-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int diam_nice;             /* diameter.nice of setup_diam() */

/* Threads of this process whose nice value is @nice */
static int threads_at(int nice)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && ims_prio_of(atoi(e->d_name)) == nice)
            n++;
    closedir(d);
    return n;
}

static void setup_diam(void)
{
    setup_dir();
    su_init();
    loop = ims_loop_create(64);
    ck_assert_ptr_nonnull(loop);
    char *none[] = { NULL };
    struct ims_diam_conf c = {
        .identity = "check." REALM, .realm = REALM, .address = "127.0.0.1", .port = 0,
        .peers = none, .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 100,
        .apps = IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF), .loop = loop,
        .nice = diam_nice,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
    ck_assert_int_eq(ims_diam_start(), 0);
}

static void teardown_diam(void)
{
    ims_diam_stop();
    ims_loop_destroy(loop);
    teardown_dir();
}

static char spool_path[128];      /* the spool of test_client() */

/* An Rf client of node @node spooling in the test's folder (spool_path): answers within
 * 500 ms, a record to retry waits a minute */
static struct ims_rf_client *test_client(int node)
{
    snprintf(spool_path, sizeof(spool_path), "%s/rf.db", dir);
    struct ims_rf_conf conf = {
        .spool_path = spool_path, .retry_min_ms = 60000, .timeout_ms = 500,
        .node_functionality = node, .loop = loop,
    };
    struct ims_rf_client *rf = ims_rf_client_create(&conf);
    ck_assert_ptr_nonnull(rf);
    return rf;
}

/* The client's own counter of answers that leave a record to retry (the same series) */
static struct ims_counter *retry_counter(void)
{
    return ims_counter_new("ims_rf_acr_answered_total", "ACR outcomes: delivered, to retry, "
                           "rejected", "outcome=\"retry\"");
}

/* What run_loop_until_tried() waits for: @n records of @rf in its spool, and @n answers
 * that leave a record to retry */
struct tried_wait {
    struct ims_rf_client *rf;
    struct ims_counter *retry;
    long n;
    unsigned ticks_left;
};

static void check_tried(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *a)
{
    (void)m;
    (void)t;
    struct tried_wait *w = (struct tried_wait *)a;
    bool done = ims_rf_spooled(w->rf) >= w->n && ims_counter_value(w->retry) >= (uint64_t)w->n;
    if (done || w->ticks_left-- == 0)
        ims_loop_stop(loop);
}

/* Run the loop until @rf has @n records in its spool, each sent once and answered, 20 s at
 * most. A fixed 1.5 s was too short for a loaded machine under ASan: the records go through
 * the client's thread, SQLite and freeDiameter's threads. */
static void run_loop_until_tried(struct ims_rf_client *rf, long n)
{
    struct tried_wait w = { rf, retry_counter(), n, 2000 };
    su_timer_t *t = su_timer_create(su_root_task(ims_loop_root(loop)), 10);
    su_timer_run(t, check_tried, (su_timer_arg_t *)&w);   /* every 10 ms */
    ims_loop_run(loop);
    su_timer_destroy(t);
}

/* ---- Rf ---- */

START_TEST(rf_outcomes_and_backoff)
{
    ck_assert_int_eq(ims_rf_classify(0, 2001), IMS_RF_DELIVERED);
    ck_assert_int_eq(ims_rf_classify(-ETIMEDOUT, 0), IMS_RF_RETRY);
    ck_assert_int_eq(ims_rf_classify(0, 3002), IMS_RF_RETRY);
    ck_assert_int_eq(ims_rf_classify(0, 3004), IMS_RF_RETRY);
    ck_assert_int_eq(ims_rf_classify(0, 5005), IMS_RF_REJECTED);
    ck_assert_uint_eq(ims_rf_backoff_ms(1, 1000, 60000), 1000);
    ck_assert_uint_eq(ims_rf_backoff_ms(2, 1000, 60000), 2000);
    ck_assert_uint_eq(ims_rf_backoff_ms(4, 1000, 60000), 8000);
    ck_assert_uint_eq(ims_rf_backoff_ms(30, 1000, 60000), 60000);
}
END_TEST

START_TEST(rf_spool_keeps_bounds_and_survives)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/spool.db", dir);
    struct ims_rf_spool *s;
    int64_t id[3];
    const uint8_t msg[] = { 1, 2, 3 };
    ck_assert_int_eq(ims_rf_spool_open(&s, path), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ims_rf_spool_add(s, "sid", 2, (uint32_t)i, msg, 3, 3, &id[i]), 0);
    int64_t extra;
    ck_assert_int_eq(ims_rf_spool_add(s, "sid", 2, 9, msg, 3, 3, &extra), -ENOSPC);
    struct ims_rf_spool_row rows[8];
    int64_t now = ims_rf_spool_now_ms();
    ck_assert_int_eq(ims_rf_spool_due(s, now, rows, 8), 0);      /* all in flight */
    ims_rf_spool_done(s, id[0]);
    ims_rf_spool_retry(s, id[1], 3002, now - 1);
    ims_rf_spool_reject(s, id[2], 5005);
    ck_assert_int_eq(ims_rf_spool_count(s), 1);
    ck_assert_int_eq(ims_rf_spool_rejected(s), 1);
    ck_assert_uint_eq(ims_rf_spool_attempts(s, id[1]), 1);
    ck_assert_int_eq(ims_rf_spool_due(s, now, rows, 8), 1);
    ck_assert_int_eq(rows[0].id, id[1]);
    ck_assert_uint_eq(rows[0].len, 3);
    ck_assert_int_eq(rows[0].bytes[2], 3);
    free(rows[0].bytes);
    ims_rf_spool_sending(s, id[1]);
    ims_rf_spool_close(s);
    /* a new run: what was in flight is due again */
    ck_assert_int_eq(ims_rf_spool_open(&s, path), 0);
    ck_assert_int_eq(ims_rf_spool_due(s, now, rows, 8), 1);
    free(rows[0].bytes);
    ims_rf_spool_close(s);
}
END_TEST

START_TEST(rf_records_numbered_and_spooled_when_undelivered)
{
    struct ims_rf_client *rf = test_client(IMS_RF_PCSCF);
    struct ims_rf_info info = { .sip_method = "INVITE", .role = IMS_RF_ORIGINATING,
                                .calling = "sip:alice@" REALM, .called = "sip:bob@" REALM,
                                .icid = "icid-check", .response_ts = 1700000000,
                                .media = { "audio 4000 RTP/AVP 0" } };
    struct ims_rf_session *s = ims_rf_start(rf, &info);
    ck_assert_ptr_nonnull(s);
    char sid[256];
    snprintf(sid, sizeof(sid), "%s", ims_rf_session_id(s));
    ck_assert_int_eq(ims_rf_interim(s, NULL), 0);
    ck_assert_uint_eq(ims_rf_next_number(s), 2);
    info.has_cause = true;
    info.cause = -1;
    ck_assert_int_eq(ims_rf_stop(s, &info), 0);
    info.sip_method = "MESSAGE";
    ck_assert_int_eq(ims_rf_event(rf, &info), 0);
    run_loop_until_tried(rf, 4);
    ck_assert_int_eq(ims_rf_spooled(rf), 4);
    ims_diam_stop();
    ims_rf_client_destroy(rf);
    /* every record is in the spool, numbered 0, 1, 2 in its session, attempted once */
    struct ims_db *db;
    ck_assert_int_eq(ims_db_open(&db, spool_path, NULL, 0), 0);
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT session_id, type, number, attempts, result "
                                       "FROM acr_spool ORDER BY id");
    const int types[] = { 2, 3, 4, 1 }, numbers[] = { 0, 1, 2, 0 };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        if (i < 3)
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), sid);
        else
            ck_assert_str_ne((const char *)sqlite3_column_text(st, 0), sid);
        ck_assert_int_eq(sqlite3_column_int(st, 1), types[i]);
        ck_assert_int_eq(sqlite3_column_int(st, 2), numbers[i]);
        ck_assert_int_eq(sqlite3_column_int(st, 3), 1);
        ck_assert_int_eq(sqlite3_column_int(st, 4), 3002);
    }
    sqlite3_reset(st);
    ims_db_close(db);
}
END_TEST

/* Records built a millisecond apart go to the spool together (one transaction for the
 * records of BATCH_LINGER_MS), not one transaction each: 20 records, at most 8 commits
 * (the thread woken for every record wrote 20) */
START_TEST(rf_records_of_a_burst_share_a_commit)
{
    struct ims_rf_client *rf = test_client(IMS_RF_SCSCF);
    struct ims_counter *commits = ims_counter_new("ims_rf_spool_commits_total", "Transactions "
                                                  "written to the ACR spool, each a batch of "
                                                  "new records and outcomes", NULL);
    struct ims_rf_info info = { .sip_method = "MESSAGE", .role = IMS_RF_ORIGINATING,
                                .calling = "sip:alice@" REALM, .called = "sip:bob@" REALM,
                                .icid = "icid-burst" };
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(ims_rf_event(rf, &info), 0);
        usleep(1000);
    }
    run_loop_until_tried(rf, 20);
    ck_assert_int_eq(ims_rf_spooled(rf), 20);
    ck_assert_uint_ge(ims_counter_value(commits), 1);
    ck_assert_uint_le(ims_counter_value(commits), 8);
    ims_diam_stop();
    ims_rf_client_destroy(rf);
}
END_TEST

/* diameter.nice and charging.nice: freeDiameter's threads, and the spool's thread, run below
 * the thread that made them (the loop's), which stays where it was */
static void setup_diam_lowered(void)
{
    diam_nice = 4;
    setup_diam();
}

START_TEST(diameter_and_spool_threads_run_below_the_loop)
{
    int base = ims_prio_of(0);
    ck_assert_int_le(base, 14);
    int fd_threads = threads_at(base + 4);
    ck_assert_int_ge(fd_threads, 4);  /* routing in and out, dispatch, core, expiry ... */
    ck_assert_int_eq(threads_at(base + 5), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/rf.db", dir);
    struct ims_rf_conf conf = { .spool_path = path, .nice = 5, .loop = loop,
                                .node_functionality = IMS_RF_PCSCF };
    struct ims_rf_client *rf = ims_rf_client_create(&conf);
    ck_assert_ptr_nonnull(rf);
    for (int i = 0; i < 200 && threads_at(base + 5) == 0; i++)
        usleep(10000);                /* the thread lowers itself as it starts */
    ck_assert_int_eq(threads_at(base + 5), 1);
    ck_assert_int_eq(ims_prio_of(0), base);
    ims_diam_stop();
    ims_rf_client_destroy(rf);
}
END_TEST

/* The ACAs' outcomes go from freeDiameter's thread to the client's, not through the loop:
 * they arrive with the loop not running (before, they waited in its queue) */
START_TEST(rf_outcomes_come_without_the_loop)
{
    struct ims_rf_client *rf = test_client(IMS_RF_PCSCF);
    struct ims_counter *retry = retry_counter();
    struct ims_rf_info info = { .sip_method = "MESSAGE", .role = IMS_RF_ORIGINATING,
                                .calling = "sip:alice@" REALM, .called = "sip:bob@" REALM };
    ck_assert_int_eq(ims_rf_event(rf, &info), 0);
    ck_assert_int_eq(ims_rf_event(rf, &info), 0);
    for (int i = 0; i < 2000 && ims_counter_value(retry) < 2; i++)
        usleep(10000);                /* 20 s at most (ASan, a loaded machine) */
    ck_assert_uint_eq(ims_counter_value(retry), 2);
    ims_diam_stop();
    ims_rf_client_destroy(rf);
}
END_TEST

/* ---- Ro ---- */

START_TEST(ro_failure_handling)
{
    bool retry;
    ck_assert_int_eq(ims_ro_decide(0, 2001, IMS_RO_CCFH_TERMINATE, false, &retry),
                     IMS_RO_GRANTED);
    ck_assert(!retry);
    ck_assert_int_eq(ims_ro_decide(0, 4012, IMS_RO_CCFH_CONTINUE, false, &retry),
                     IMS_RO_DENIED);
    ck_assert(!retry);
    ck_assert_int_eq(ims_ro_decide(-ETIMEDOUT, 0, IMS_RO_CCFH_TERMINATE, false, &retry),
                     IMS_RO_TERMINATE);
    ck_assert(!retry);
    ims_ro_decide(-ETIMEDOUT, 0, IMS_RO_CCFH_CONTINUE, false, &retry);
    ck_assert(retry);
    ck_assert_int_eq(ims_ro_decide(-ETIMEDOUT, 0, IMS_RO_CCFH_CONTINUE, true, &retry),
                     IMS_RO_CONTINUE);
    ck_assert(!retry);
    ims_ro_decide(0, 3002, IMS_RO_CCFH_RETRY_AND_TERMINATE, false, &retry);
    ck_assert(retry);
    ck_assert_int_eq(ims_ro_decide(0, 3004, IMS_RO_CCFH_RETRY_AND_TERMINATE, true, &retry),
                     IMS_RO_TERMINATE);
}
END_TEST

/* A CCA as the OCS sends it: an MSCC with 30 s, Validity-Time and FUI TERMINATE */
static struct msg *make_cca(uint32_t top, uint32_t unit, bool fui)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_CCR, NULL, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_diam_answer_new(&m, IMS_APP_RO), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_RESULT_CODE, top), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_CC_FAILURE_HANDLING, 1), 0);
    struct avp *mscc = ims_avp_add_group(m, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL);
    struct avp *gsu = ims_avp_add_group(mscc, IMS_AVP_GRANTED_SERVICE_UNIT);
    ck_assert_int_eq(ims_avp_add_u32(gsu, IMS_AVP_CC_TIME, 30), 0);
    ck_assert_int_eq(ims_avp_add_u32(mscc, IMS_AVP_VALIDITY_TIME, 300), 0);
    ck_assert_int_eq(ims_avp_add_u32(mscc, IMS_AVP_RESULT_CODE, unit), 0);
    if (fui) {
        struct avp *f = ims_avp_add_group(mscc, IMS_AVP_FINAL_UNIT_INDICATION);
        ck_assert_int_eq(ims_avp_add_i32(f, IMS_AVP_FINAL_UNIT_ACTION, 0), 0);
    }
    return m;
}

START_TEST(ro_reads_a_cca)
{
    struct ims_ro_result r;
    memset(&r, 0, sizeof(r));
    struct msg *m = make_cca(2001, 2001, true);
    ims_ro_parse_cca(m, &r);
    fd_msg_free(m);
    ck_assert_int_eq(r.decision, IMS_RO_GRANTED);
    ck_assert_uint_eq(r.granted_time, 30);
    ck_assert_uint_eq(r.validity_time, 300);
    ck_assert(r.final_unit);
    ck_assert_int_eq(r.final_unit_action, 0);
    ck_assert(r.has_ccfh);
    ck_assert_int_eq(r.ccfh, IMS_RO_CCFH_CONTINUE);
    memset(&r, 0, sizeof(r));
    m = make_cca(2001, 4012, false);
    ims_ro_parse_cca(m, &r);
    fd_msg_free(m);
    ck_assert_int_eq(r.decision, IMS_RO_DENIED);
    ck_assert_uint_eq(r.result_code, 4012);
    ck_assert_str_eq(r.reason, "credit limit reached");
}
END_TEST

static int calls;
static struct ims_ro_result last;

static void on_answer(void *arg, const struct ims_ro_result *r)
{
    (void)arg;
    calls++;
    last = *r;
    ims_loop_stop(loop);
}

static struct ims_ro_request call_request(void)
{
    struct ims_ro_request q = {
        .subscription = "sip:alice@" REALM, .subscription_type = IMS_RO_SUB_SIP_URI,
        .info = { .sip_method = "INVITE", .calling = "sip:alice@" REALM,
                  .called = "sip:bob@" REALM, .icid = "icid-ro" },
        .rating_group = 1, .requested_time = 60,
    };
    return q;
}

START_TEST(ro_unreachable_ocs_terminate)
{
    struct ims_ro_conf conf = { .tx_ms = 500, .ccfh = IMS_RO_CCFH_TERMINATE,
                                .node_functionality = IMS_RF_SCSCF };
    struct ims_ro_session *s = ims_ro_session_new(&conf);
    struct ims_ro_request q = call_request();
    calls = 0;
    ck_assert_int_eq(ims_ro_initial(s, &q, on_answer, NULL), 0);
    ck_assert_int_eq(ims_ro_update(s, &q, on_answer, NULL), -EBUSY);   /* one at a time */
    ims_loop_run(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last.decision, IMS_RO_TERMINATE);
    ck_assert_uint_eq(last.result_code, 3002);
    ck_assert_ptr_nonnull(strstr(ims_ro_session_id(s), "check." REALM));
    ims_ro_session_free(s);
}
END_TEST

START_TEST(ro_unreachable_ocs_continue_after_one_retry)
{
    struct ims_ro_conf conf = { .tx_ms = 500, .ccfh = IMS_RO_CCFH_CONTINUE,
                                .node_functionality = IMS_RF_SCSCF };
    struct ims_ro_request q = call_request();
    q.info.sip_method = "MESSAGE";
    q.requested_units = 1;
    calls = 0;
    ck_assert_int_eq(ims_ro_event(&conf, &q, on_answer, NULL), 0);
    ims_loop_run(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last.decision, IMS_RO_CONTINUE);
}
END_TEST

static Suite *charging_suite(void)
{
    Suite *s = suite_create("charging");
    TCase *pure = tcase_create("pure");
    tcase_add_checked_fixture(pure, setup_dir, teardown_dir);
    tcase_add_test(pure, rf_outcomes_and_backoff);
    tcase_add_test(pure, rf_spool_keeps_bounds_and_survives);
    tcase_add_test(pure, ro_failure_handling);
    suite_add_tcase(s, pure);
    TCase *wire = tcase_create("wire");
    tcase_add_checked_fixture(wire, setup_diam, teardown_diam);
    tcase_set_timeout(wire, 20);
    tcase_add_test(wire, rf_records_numbered_and_spooled_when_undelivered);
    tcase_add_test(wire, rf_records_of_a_burst_share_a_commit);
    tcase_add_test(wire, rf_outcomes_come_without_the_loop);
    tcase_add_test(wire, ro_reads_a_cca);
    tcase_add_test(wire, ro_unreachable_ocs_terminate);
    tcase_add_test(wire, ro_unreachable_ocs_continue_after_one_retry);
    suite_add_tcase(s, wire);
    TCase *lowered = tcase_create("lowered");
    tcase_add_checked_fixture(lowered, setup_diam_lowered, teardown_diam);
    tcase_add_test(lowered, diameter_and_spool_threads_run_below_the_loop);
    suite_add_tcase(s, lowered);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(charging_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
