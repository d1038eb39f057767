/*
 * check_answers.c - the Credit-Control server (ocs/ro.c) and the CDF (ocs/rf.c) of the OCS
 * driven through freeDiameter's dispatch with requests built as the charging clients build
 * them: what their answers carry
 *
 * Each test runs in its own process (Check's fork mode) with a freeDiameter core configured
 * by ims_diam_init() (not started) and an in-memory database.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

#include "diam.h"
#include "diam_work.h"
#include "tests/diam_answers.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "ocs.h"

#define D "ims.mnc001.mcc001.3gppnetwork.org"

static struct ims_daemon d;
static struct ocs o;
static unsigned max_queue;   /* diameter.max_queue of the test (0: the default) */

static void setup(void)
{
    static char *none[] = { NULL };
    ims_log_init("check_answers", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    struct ims_loop *loop = ims_loop_create(16);
    ck_assert_ptr_nonnull(loop);
    struct ims_diam_conf c = {
        .identity = "scscf." D, .realm = D, .address = "127.0.0.1", .port = 0, .peers = none,
        .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 10, .max_queue = max_queue,
        .apps = IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
        .loop = loop,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
    test_answers_catch();
    o.d = &d;
    o.cfg.quota_time = 60;
    ck_assert_int_eq(ims_db_open(&o.db, ":memory:", ocs_db_migrations, ocs_db_nmigrations), 0);
    ck_assert_int_eq(ocs_ro_init(&o), 0);
    ck_assert_int_eq(ocs_rf_init(&o), 0);
}

static void teardown(void)
{
    ocs_rf_stop();
}

/*
 * Found by tests/fuzz/ocs_diam (corpus file ccr-type-5.bin): the CCA of a CCR whose
 * CC-Request-Type is not 1 to 4 left out CC-Request-Type (mandatory in every CCA, RFC 4006
 * 8.2), and every CCR refused before the credit decision was answered with
 * Check-Balance-Result ENOUGH_CREDIT.
 */
START_TEST(invalid_request_type_echoed)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_CCR, D, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_SERVICE_CONTEXT_ID, "32260@3gpp.org"), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_CC_REQUEST_TYPE, 5), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_CC_REQUEST_NUMBER, 0), 0);
    struct msg *ans = test_dispatch(m);
    bool exp;
    int32_t type = 0, cbr;
    ck_assert_uint_eq(ims_diam_result_code(ans, &exp), IMS_DIAM_INVALID_AVP_VALUE);
    ck_assert_int_eq(ims_avp_get_i32(ans, IMS_AVP_CC_REQUEST_TYPE, &type), 0);
    ck_assert_int_eq(type, 5);
    ck_assert_int_eq(ims_avp_get_i32(ans, IMS_AVP_CHECK_BALANCE_RESULT, &cbr), -ENOENT);
    fd_msg_free(ans);
}
END_TEST

/*
 * Found by tests/fuzz/ocs_diam (corpus file acr-type-9.bin): the ACA refusing an
 * Accounting-Record-Type that is not 1 to 4 left out Accounting-Record-Type and -Number,
 * which every ACA carries (RFC 6733 9.7.2).
 */
START_TEST(invalid_record_type_echoed)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_ACR, D, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_ACCOUNTING_RECORD_TYPE, 9), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_ACCOUNTING_RECORD_NUMBER, 7), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_ACCT_APPLICATION_ID, IMS_APP_ID_RF), 0);
    struct msg *ans = test_dispatch(m);
    bool exp;
    int32_t type = 0;
    uint32_t number = 0;
    ck_assert_uint_eq(ims_diam_result_code(ans, &exp), IMS_DIAM_INVALID_AVP_VALUE);
    ck_assert_int_eq(ims_avp_get_i32(ans, IMS_AVP_ACCOUNTING_RECORD_TYPE, &type), 0);
    ck_assert_int_eq(type, 9);
    ck_assert_int_eq(ims_avp_get_u32(ans, IMS_AVP_ACCOUNTING_RECORD_NUMBER, &number), 0);
    ck_assert_uint_eq(number, 7);
    fd_msg_free(ans);
}
END_TEST

/* ACRs arriving a millisecond apart are stored in one transaction (one fsync) for those of
 * CDF_LINGER_MS, not one each: 20 ACRs, at most 10 commits (the writer woken for every ACR
 * committed 20 times), each answered DIAMETER_SUCCESS */
START_TEST(acrs_of_a_burst_share_a_commit)
{
    struct ims_counter *commits = ims_counter_new("ocs_rf_commits_total", "Transactions (each "
                                                  "one fsync) that stored a batch of ACRs in "
                                                  "their CDRs", NULL);
    for (int i = 0; i < 20; i++) {
        char sid[64];
        snprintf(sid, sizeof(sid), "scscf." D ";1;%d", i);
        struct msg *m = ims_diam_request_in_session(IMS_CMD_ACR, D, NULL, sid);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_ACCOUNTING_RECORD_TYPE, 1), 0);
        ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_ACCOUNTING_RECORD_NUMBER, 0), 0);
        ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_ACCT_APPLICATION_ID, IMS_APP_ID_RF), 0);
        enum disp_action action;
        char *ec = NULL, *reason = NULL;
        struct msg *drop = NULL;
        ck_assert_int_eq(fd_msg_dispatch(&m, NULL, &action, &ec, &reason, &drop), 0);
        ck_assert_ptr_null(drop);
        usleep(1000);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&test_ans_mu);
    while (test_ans_count < 20 &&
           pthread_cond_timedwait(&test_ans_cv, &test_ans_mu, &until) == 0)
        ;
    unsigned answered = test_ans_count;
    struct msg *last = test_ans;
    test_ans = NULL;
    pthread_mutex_unlock(&test_ans_mu);
    ck_assert_uint_eq(answered, 20);
    bool exp;
    ck_assert_uint_eq(ims_diam_result_code(last, &exp), IMS_DIAM_SUCCESS);
    fd_msg_free(last);
    ck_assert_uint_ge(ims_counter_value(commits), 1);
    ck_assert_uint_le(ims_counter_value(commits), 10);
}
END_TEST

/* alice, prepaid with 100, and 10 per message */
static void seed(void)
{
    char field[64], err[200];
    json_error_t e;
    json_t *acc = json_loads("{\"name\": \"alice\", \"type\": \"prepaid\", \"balance\": 100,"
                             " \"identities\": [\"sip:alice@" D "\"]}", 0, &e);
    json_t *rate = json_loads("{\"service\": \"message\", \"prefix\": \"\", \"unit\": \"event\","
                              " \"price\": 10}", 0, &e);
    struct ocs_rate r;
    ck_assert_int_eq(ocs_account_put(o.db, acc, true, "alice", field, sizeof(field), err,
                                     sizeof(err)), 0);
    ck_assert_int_eq(ocs_rate_from_json(rate, &r, field, sizeof(field), err, sizeof(err)), 0);
    ck_assert_int_eq(ocs_rate_put(o.db, &r), 0);
    json_decref(acc);
    json_decref(rate);
}

/*
 * Found by tests/fuzz/ocs_diam (corpus file ccr-event-units.bin): the price of an event was
 * units x price in 64 bits with the units as the CCR asked (UBSan: signed overflow); 10^18
 * messages at 10 wrapped to a negative price, and direct debiting that "price" credited the
 * account with 8.4 x 10^18.
 */
START_TEST(event_units_past_the_limit_refused)
{
    seed();
    struct msg *m = ims_diam_request_new(IMS_CMD_CCR, D, NULL);
    struct avp *sub = NULL, *rsu = NULL, *si = NULL, *ims = NULL, *et = NULL;
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_SERVICE_CONTEXT_ID, "32260@3gpp.org"), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_CC_REQUEST_TYPE, 4), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_CC_REQUEST_NUMBER, 0), 0);
    ck_assert_ptr_nonnull(sub = ims_avp_add_group(m, IMS_AVP_SUBSCRIPTION_ID));
    ck_assert_int_eq(ims_avp_add_i32(sub, IMS_AVP_SUBSCRIPTION_ID_TYPE, 2), 0);
    ck_assert_int_eq(ims_avp_add_str(sub, IMS_AVP_SUBSCRIPTION_ID_DATA, "sip:alice@" D), 0);
    ck_assert_ptr_nonnull(rsu = ims_avp_add_group(m, IMS_AVP_REQUESTED_SERVICE_UNIT));
    ck_assert_int_eq(ims_avp_add_u64(rsu, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS,
                                     1000000000000000000ULL), 0);
    ck_assert_ptr_nonnull(si = ims_avp_add_group(m, IMS_AVP_SERVICE_INFORMATION));
    ck_assert_ptr_nonnull(ims = ims_avp_add_group(si, IMS_AVP_IMS_INFORMATION));
    ck_assert_ptr_nonnull(et = ims_avp_add_group(ims, IMS_AVP_EVENT_TYPE));
    ck_assert_int_eq(ims_avp_add_str(et, IMS_AVP_SIP_METHOD, "MESSAGE"), 0);
    struct msg *ans = test_dispatch(m);
    bool exp;
    ck_assert_uint_eq(ims_diam_result_code(ans, &exp), IMS_DIAM_INVALID_AVP_VALUE);
    fd_msg_free(ans);
    struct ocs_account a;
    ck_assert_int_eq(ocs_account_get(o.db, "alice", &a), 0);
    ck_assert_int_eq(a.balance, 100);
}
END_TEST

/* ---- a busy server (common/diam_work.c) ---- */

static void setup_small_queue(void)
{
    max_queue = 2;
    setup();
}

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t order_cv = PTHREAD_COND_INITIALIZER;
static int32_t order[8];     /* CC-Request-Type of each answer, in the order sent */
static uint32_t order_result[8];
static unsigned norder;

static int take_in_order(struct msg **ans)
{
    int32_t type = 0;
    bool exp;
    ims_avp_get_i32(*ans, IMS_AVP_CC_REQUEST_TYPE, &type);
    pthread_mutex_lock(&order_mu);
    if (norder < 8) {
        order_result[norder] = ims_diam_result_code(*ans, &exp);
        order[norder++] = type;
    }
    pthread_cond_broadcast(&order_cv);
    pthread_mutex_unlock(&order_mu);
    fd_msg_free(*ans);
    *ans = NULL;
    return 0;
}

static struct msg *ccr(int32_t type, const char *sid)
{
    struct msg *m = ims_diam_request_in_session(IMS_CMD_CCR, D, NULL, sid);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_SERVICE_CONTEXT_ID, "32260@3gpp.org"), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_CC_REQUEST_TYPE, type), 0);
    ck_assert_int_eq(ims_avp_add_u32(m, IMS_AVP_CC_REQUEST_NUMBER, type == 3 ? 1 : 0), 0);
    return m;
}

/* @m through freeDiameter's dispatch; whether it was answered there and then (not queued) */
static bool dispatch_answered_at_once(struct msg *m)
{
    enum disp_action action;
    char *ec = NULL, *reason = NULL;
    struct msg *drop = NULL;
    pthread_mutex_lock(&order_mu);
    unsigned before = norder;
    pthread_mutex_unlock(&order_mu);
    ck_assert_int_eq(fd_msg_dispatch(&m, NULL, &action, &ec, &reason, &drop), 0);
    ck_assert_ptr_null(drop);
    pthread_mutex_lock(&order_mu);
    bool answered = norder > before;
    pthread_mutex_unlock(&order_mu);
    return answered;
}

/*
 * A CCR-TERMINATION frees the credit a session holds: a server whose queue is full of
 * CCR-INITIALs still takes it, and runs it before them. Before, it was answered
 * DIAMETER_TOO_BUSY with the rest, and the reservation stayed until reservation_timeout.
 */
START_TEST(ccr_termination_queued_past_a_full_queue_and_run_first)
{
    ims_diam_answer_sink(take_in_order);
    ocs_lock();                  /* the handler thread blocks on its first CCR */
    ck_assert(!dispatch_answered_at_once(ccr(1, "scscf." D ";1;0")));
    for (int i = 0; i < 500 && ims_diam_work_depth() > 0; i++)
        usleep(1000);            /* taken by the handler thread, which waits for the lock */
    ck_assert_uint_eq(ims_diam_work_depth(), 0);
    ck_assert(!dispatch_answered_at_once(ccr(1, "scscf." D ";1;1")));
    ck_assert(!dispatch_answered_at_once(ccr(1, "scscf." D ";1;2")));
    ck_assert(dispatch_answered_at_once(ccr(1, "scscf." D ";1;3")));   /* full: TOO_BUSY */
    ck_assert_uint_eq(order_result[0], IMS_DIAM_TOO_BUSY);
    ck_assert_msg(!dispatch_answered_at_once(ccr(3, "scscf." D ";1;9")),
                  "a CCR-TERMINATION was refused by the full queue");
    ck_assert_uint_eq(ims_diam_work_depth(), 3);
    ocs_unlock();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&order_mu);
    while (norder < 5 && pthread_cond_timedwait(&order_cv, &order_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&order_mu);
    ck_assert_uint_eq(norder, 5);
    /* the TOO_BUSY, the CCR-I the handler held, the CCR-T, then the two queued CCR-Is */
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(order[2], 3);
    ck_assert_uint_ne(order_result[2], IMS_DIAM_TOO_BUSY);
    ck_assert_int_eq(order[3], 1);
    ck_assert_int_eq(order[4], 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ocs_answers");
    TCase *tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, invalid_request_type_echoed);
    tcase_add_test(tc, invalid_record_type_echoed);
    tcase_add_test(tc, event_units_past_the_limit_refused);
    tcase_add_test(tc, acrs_of_a_burst_share_a_commit);
    suite_add_tcase(s, tc);
    tc = tcase_create("busy");
    tcase_add_checked_fixture(tc, setup_small_queue, teardown);
    tcase_add_test(tc, ccr_termination_queued_past_a_full_queue_and_run_first);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
