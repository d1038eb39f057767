/*
 * check_cx.c - the Cx server of the HSS (hss/cx.c) driven through freeDiameter's dispatch
 * with requests built as the CSCFs build them
 *
 * Each test runs in its own process (Check's fork mode) with a freeDiameter core configured
 * by ims_diam_init() (not started) and an in-memory subscriber database.
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
#include "tests/diam_answers.h"
#include "hss.h"
#include "log.h"
#include "loop.h"

#define D "ims.mnc001.mcc001.3gppnetwork.org"
#define SCSCF "sip:scscf." D ":5060"

static struct hss h;

static void setup(void)
{
    static char *none[] = { NULL };
    ims_log_init("check_cx", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    struct ims_loop *loop = ims_loop_create(16);
    ck_assert_ptr_nonnull(loop);
    struct ims_diam_conf c = {
        .identity = "icscf." D, .realm = D, .address = "127.0.0.1", .port = 0, .peers = none,
        .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 10, .apps = IMS_APP_BIT(IMS_APP_CX),
        .loop = loop,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
    test_answers_catch();
    h.vectors_max = 4;
    snprintf(h.realm, sizeof(h.realm), D);
    ck_assert_int_eq(ims_db_open(&h.db, ":memory:", hss_db_migrations, hss_db_nmigrations), 0);
    json_error_t e;
    json_t *doc = json_loads("{\"name\": \"alice\", \"impis\": [{\"identity\": \"alice@" D "\","
                             " \"password\": \"alice-secret\"}], \"impus\": [{\"identity\":"
                             " \"sip:alice@" D "\", \"implicit_set\": 1}]}", 0, &e);
    ck_assert_ptr_nonnull(doc);
    struct hss_put_result res;
    ck_assert_int_eq(hss_subscriber_put(h.db, doc, false, &res), 0);
    json_decref(doc);
    ck_assert_int_eq(hss_cx_init(&h), 0);
}

static struct msg *request(enum ims_cmd cmd, const char *impi)
{
    struct msg *m = ims_diam_request_new(cmd, D, NULL);
    ck_assert_ptr_nonnull(m);
    if (impi)
        ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_USER_NAME, impi), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, "sip:alice@" D), 0);
    return m;
}

/*
 * Found by tests/fuzz/hss_diam (corpus file sar_register_lir.bin): the Server-Name of an
 * LIA was read through a pointer into the temporary answer struct of lir_decide(), gone by
 * then (ASan: stack-use-after-scope in on_lir).
 */
START_TEST(lir_names_the_assigned_scscf)
{
    struct msg *m = request(IMS_CMD_SAR, "alice@" D);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_SERVER_NAME, SCSCF), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_SERVER_ASSIGNMENT_TYPE, 1), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_USER_DATA_ALREADY_AVAILABLE, 0), 0);
    struct msg *ans = test_dispatch(m);
    bool exp;
    ck_assert_uint_eq(ims_diam_result_code(ans, &exp), IMS_DIAM_SUCCESS);
    fd_msg_free(ans);

    ans = test_dispatch(request(IMS_CMD_LIR, NULL));
    ck_assert_uint_eq(ims_diam_result_code(ans, &exp), IMS_DIAM_SUCCESS);
    char name[256];
    ck_assert_int_eq(ims_avp_get_str(ans, IMS_AVP_SERVER_NAME, name, sizeof(name)), 0);
    ck_assert_str_eq(name, SCSCF);
    fd_msg_free(ans);
}
END_TEST

/* @m encoded, with the bytes @from of its Session-Id replaced by @to, parsed back */
static struct msg *received(struct msg *m, char from, char to)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct msg *r = NULL;
    ck_assert_int_eq(fd_msg_bufferize(m, &buf, &len), 0);
    fd_msg_free(m);
    for (size_t i = 20; i < len; i++)   /* the Session-Id is the first AVP */
        if (buf[i] == (uint8_t)from)
            buf[i] = (uint8_t)to;
    ck_assert_int_eq(fd_msg_parse_buffer(&buf, len, &r), 0);
    return r;
}

/*
 * Found by tests/fuzz/hss_diam (corpus file session-id-nul.bin): a request whose Session-Id
 * holds a NUL byte gets no session from freeDiameter (fd_sess_new refuses it), and in its
 * dispatch thread that failure is fatal: one such request stopped the HSS's Diameter. The
 * daemon's receive hook gives it a session first; the answer names it with '?'.
 */
START_TEST(session_id_with_nul_answered)
{
    struct session *sess = NULL;
    struct fd_pei pei = { 0 };
    struct msg *m = received(ims_diam_request_in_session(IMS_CMD_LIR, D, NULL, "icscf;1;#"),
                             '#', '\0');
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, "sip:alice@" D), 0);
    ck_assert_int_eq(fd_msg_parse_dict(m, fd_g_config->cnf_dict, &pei), 0);
    struct msg *bare = received(ims_diam_request_in_session(IMS_CMD_LIR, D, NULL, "x;#"),
                                '#', '\0');
    ck_assert_int_ne(fd_msg_sess_get(fd_g_config->cnf_dict, bare, &sess, NULL), 0);
    fd_msg_free(bare);

    ck_assert_int_eq(ims_diam_session_guard(m), -EINVAL);
    ck_assert_int_eq(fd_msg_sess_get(fd_g_config->cnf_dict, m, &sess, NULL), 0);
    ck_assert_ptr_nonnull(sess);
    struct msg *ans = test_dispatch(m);
    char sid[64];
    ck_assert_int_eq(ims_avp_get_str(ans, IMS_AVP_SESSION_ID, sid, sizeof(sid)), 0);
    ck_assert_str_eq(sid, "icscf;1;?");
    fd_msg_free(ans);
    /* an ordinary Session-Id is left alone */
    m = received(ims_diam_request_in_session(IMS_CMD_LIR, D, NULL, "icscf;2;3"), 0, 0);
    ck_assert_int_eq(ims_diam_session_guard(m), 0);
    fd_msg_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hss_cx");
    TCase *tc = tcase_create("cx");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, lir_names_the_assigned_scscf);
    tcase_add_test(tc, session_id_with_nul_answered);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
