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

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

#include "diam.h"
#include "log.h"
#include "loop.h"
#include "ocs.h"

#define D "ims.mnc001.mcc001.3gppnetwork.org"

static struct ims_daemon d;
static struct ocs o;

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
        .request_timeout_ms = 1000, .max_pending = 10, .apps = IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
        .loop = loop,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
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

/* @m as received from a peer, through freeDiameter's dispatch; the answer */
static struct msg *dispatch(struct msg *m)
{
    enum disp_action action;
    char *ec = NULL, *reason = NULL;
    struct msg *drop = NULL;
    ck_assert_int_eq(fd_msg_dispatch(&m, NULL, &action, &ec, &reason, &drop), 0);
    ck_assert_int_eq(action, DISP_ACT_SEND);
    ck_assert_ptr_nonnull(m);
    return m;
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
    struct msg *ans = dispatch(m);
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
    struct msg *ans = dispatch(m);
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

int main(void)
{
    Suite *s = suite_create("ocs_answers");
    TCase *tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, invalid_request_type_echoed);
    tcase_add_test(tc, invalid_record_type_echoed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
