/*
 * check_diam.c - the IMS Diameter dictionary, message building and AVP helpers
 *
 * Each test runs in its own process (Check's fork mode) with a freeDiameter core
 * configured by ims_diam_init() on 127.0.0.1 without a listening port.
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
#include "diam_doic.h"
#include "log.h"
#include "loop.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"
#define IMPI "alice@" REALM
#define IMPU "sip:alice@" REALM

static struct ims_loop *loop;

static void setup_with(bool doic)
{
    ims_log_init("check_diam", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    loop = ims_loop_create(64);
    ck_assert_ptr_nonnull(loop);
    char *none[] = { NULL };
    struct ims_diam_conf c = {
        .identity = "check." REALM, .realm = REALM, .address = "127.0.0.1", .port = 0,
        .peers = none, .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 10,
        .apps = IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_SH) | IMS_APP_BIT(IMS_APP_RO) |
                IMS_APP_BIT(IMS_APP_RF),
        .loop = loop, .doic = doic,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
}

static void setup(void)
{
    setup_with(false);
}

static void setup_doic(void)
{
    setup_with(true);
}

static void teardown(void)
{
    ims_diam_stop();
    ims_loop_destroy(loop);
}

/* Serialize and parse back with the dictionary and the command rules. */
static int reparse(struct msg *m, struct msg **out, struct fd_pei *pei)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(fd_msg_bufferize(m, &buf, &len), 0);
    ck_assert_int_eq(fd_msg_parse_buffer(&buf, len, out), 0);
    memset(pei, 0, sizeof(*pei));
    int rc = fd_msg_parse_dict(*out, fd_g_config->cnf_dict, pei);
    if (rc == 0)
        rc = fd_msg_parse_rules(*out, fd_g_config->cnf_dict, pei);
    return rc;
}

static struct msg *new_uar(bool with_public_identity)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_UAR, NULL, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_USER_NAME, IMPI), 0);
    if (with_public_identity)
        ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, IMPU), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_VISITED_NETWORK_IDENTIFIER, REALM), 0);
    ck_assert_int_eq(ims_avp_add_i32(m, IMS_AVP_USER_AUTHORIZATION_TYPE, 0), 0);
    return m;
}

START_TEST(every_object_resolves)
{
    for (int i = 0; i < IMS_AVP_COUNT; i++)
        ck_assert_msg(ims_dict_avp(i) != NULL, "AVP %s unresolved", ims_avp_name(i));
    for (int i = 0; i < IMS_CMD_COUNT; i++)
        ck_assert_msg(ims_dict_cmd(i) != NULL, "command %s unresolved", ims_cmd_abbrev(i));
    for (int i = 0; i < IMS_APP_COUNT; i++)
        ck_assert_ptr_nonnull(ims_dict_app(i));
    struct dict_application_data ad;
    fd_dict_getval(ims_dict_app(IMS_APP_CX), &ad);
    ck_assert_uint_eq(ad.application_id, 16777216);
    fd_dict_getval(ims_dict_app(IMS_APP_SH), &ad);
    ck_assert_uint_eq(ad.application_id, 16777217);
    struct dict_cmd_data cd;
    fd_dict_getval(ims_dict_cmd(IMS_CMD_MAR), &cd);
    ck_assert_uint_eq(cd.cmd_code, 303);
    ck_assert(cd.cmd_flag_val & CMD_FLAG_REQUEST);
    fd_dict_getval(ims_dict_cmd(IMS_CMD_PNA), &cd);
    ck_assert_uint_eq(cd.cmd_code, 309);
    ck_assert(!(cd.cmd_flag_val & CMD_FLAG_REQUEST));
    struct dict_avp_data avd;
    fd_dict_getval(ims_dict_avp(IMS_AVP_SERVER_NAME), &avd);
    ck_assert_uint_eq(avd.avp_code, 602);
    ck_assert_uint_eq(avd.avp_vendor, 10415);
    fd_dict_getval(ims_dict_avp(IMS_AVP_SH_USER_DATA), &avd);
    ck_assert_uint_eq(avd.avp_code, 702);
}
END_TEST

START_TEST(request_has_standard_header_avps)
{
    struct msg *m = new_uar(true);
    struct msg_hdr *h;
    ck_assert_int_eq(fd_msg_hdr(m, &h), 0);
    ck_assert_uint_eq(h->msg_appl, 16777216);
    ck_assert_uint_eq(h->msg_code, 300);
    ck_assert(h->msg_flags & CMD_FLAG_REQUEST);
    ck_assert(h->msg_flags & CMD_FLAG_PROXIABLE);

    /* Session-Id first */
    struct avp *first = NULL;
    struct avp_hdr *ah;
    fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &first, NULL);
    fd_msg_avp_hdr(first, &ah);
    ck_assert_uint_eq(ah->avp_code, 263);

    struct avp *vsai = ims_avp_find(m, IMS_AVP_VENDOR_SPECIFIC_APPLICATION_ID);
    ck_assert_ptr_nonnull(vsai);
    uint32_t v;
    ck_assert_int_eq(ims_avp_get_u32(vsai, IMS_AVP_VENDOR_ID, &v), 0);
    ck_assert_uint_eq(v, 10415);
    ck_assert_int_eq(ims_avp_get_u32(vsai, IMS_AVP_AUTH_APPLICATION_ID, &v), 0);
    ck_assert_uint_eq(v, 16777216);
    int32_t state;
    ck_assert_int_eq(ims_avp_get_i32(m, IMS_AVP_AUTH_SESSION_STATE, &state), 0);
    ck_assert_int_eq(state, 1);
    char buf[128];
    ck_assert_int_eq(ims_avp_get_str(m, IMS_AVP_ORIGIN_HOST, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "check." REALM);
    ck_assert_int_eq(ims_avp_get_str(m, IMS_AVP_DESTINATION_REALM, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, REALM);
    ck_assert_int_eq(ims_avp_get_str(m, IMS_AVP_DESTINATION_HOST, buf, sizeof(buf)), -ENOENT);
    char sid[128];
    ims_diam_session_id(m, sid, sizeof(sid));
    ck_assert(strncmp(sid, "check." REALM ";", strlen("check." REALM ";")) == 0);
    fd_msg_free(m);
}
END_TEST

START_TEST(request_round_trips_through_rules)
{
    struct msg *m = new_uar(true), *back = NULL;
    struct fd_pei pei;
    ck_assert_int_eq(reparse(m, &back, &pei), 0);
    char buf[128];
    ck_assert_int_eq(ims_avp_get_str(back, IMS_AVP_PUBLIC_IDENTITY, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, IMPU);
    int32_t type = -1;
    ck_assert_int_eq(ims_avp_get_i32(back, IMS_AVP_USER_AUTHORIZATION_TYPE, &type), 0);
    ck_assert_int_eq(type, 0);
    fd_msg_free(m);
    fd_msg_free(back);
}
END_TEST

START_TEST(missing_required_avp_breaks_rules)
{
    struct msg *m = new_uar(false), *back = NULL;
    struct fd_pei pei;
    ck_assert_int_eq(reparse(m, &back, &pei), EBADMSG);
    ck_assert_str_eq(pei.pei_errcode, "DIAMETER_MISSING_AVP");
    if (pei.pei_avp_free)
        fd_msg_free(pei.pei_avp);
    fd_msg_free(m);
    fd_msg_free(back);
}
END_TEST

START_TEST(duplicate_single_avp_breaks_rules)
{
    struct msg *m = new_uar(true), *back = NULL;
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, "sip:other@" REALM), 0);
    struct fd_pei pei;
    ck_assert_int_eq(reparse(m, &back, &pei), EBADMSG);
    ck_assert_str_eq(pei.pei_errcode, "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES");
    if (pei.pei_avp_free)
        fd_msg_free(pei.pei_avp);
    fd_msg_free(m);
    fd_msg_free(back);
}
END_TEST

START_TEST(answer_carries_experimental_result)
{
    struct msg *m = new_uar(true);
    ck_assert_int_eq(ims_diam_answer_new(&m, IMS_APP_CX), 0);
    ck_assert_int_eq(ims_avp_add_experimental(m, IMS_DIAM_FIRST_REGISTRATION), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_SERVER_NAME, "sip:scscf." REALM), 0);
    struct msg_hdr *h;
    fd_msg_hdr(m, &h);
    ck_assert(!(h->msg_flags & CMD_FLAG_REQUEST));
    bool exp = false;
    ck_assert_uint_eq(ims_diam_result_code(m, &exp), 2001);
    ck_assert(exp);
    ck_assert_str_eq(ims_diam_result_name(2001, true), "DIAMETER_FIRST_REGISTRATION");
    ck_assert_str_eq(ims_diam_result_name(2001, false), "DIAMETER_SUCCESS");
    ck_assert_str_eq(ims_diam_result_name(5001, true), "DIAMETER_ERROR_USER_UNKNOWN");
    /* the answer passes the UAA rules after a round trip */
    struct msg *back = NULL;
    struct fd_pei pei;
    ck_assert_int_eq(reparse(m, &back, &pei), 0);
    ck_assert_uint_eq(ims_diam_result_code(back, &exp), 2001);
    fd_msg_free(m);
    fd_msg_free(back);
}
END_TEST

START_TEST(grouped_and_repeated_avps)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_MAR, NULL, "hss." REALM);
    ck_assert_ptr_nonnull(m);
    struct avp *item = ims_avp_add_group(m, IMS_AVP_SIP_AUTH_DATA_ITEM);
    ck_assert_ptr_nonnull(item);
    ck_assert_int_eq(ims_avp_add_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, "Digest-AKAv1-MD5"),
                     0);
    static const uint8_t raw[] = { 0x00, 0x01, 0xfe, 0xff };
    ck_assert_int_eq(ims_avp_add_octets(item, IMS_AVP_SIP_AUTHORIZATION, raw, sizeof(raw)), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, IMPU), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, "tel:+15550100001"), 0);
    ck_assert_uint_eq(ims_avp_count(m, IMS_AVP_PUBLIC_IDENTITY), 2);
    struct avp *p = ims_avp_find(m, IMS_AVP_PUBLIC_IDENTITY);
    struct avp *p2 = ims_avp_next(p, IMS_AVP_PUBLIC_IDENTITY);
    ck_assert_ptr_nonnull(p2);
    ck_assert_ptr_null(ims_avp_next(p2, IMS_AVP_PUBLIC_IDENTITY));
    const uint8_t *data;
    size_t len;
    ck_assert(ims_avp_octets(p2, &data, &len));
    ck_assert_uint_eq(len, strlen("tel:+15550100001"));
    ck_assert(ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHORIZATION), &data, &len));
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(data, raw, 4);
    char small[8];
    ck_assert_int_eq(ims_avp_get_str(m, IMS_AVP_DESTINATION_HOST, small, sizeof(small)), -E2BIG);
    ck_assert_str_eq(small, "hss.ims");
    fd_msg_free(m);
}
END_TEST

START_TEST(time_avp_uses_ntp_seconds)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_ACR, NULL, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_avp_add_time(m, IMS_AVP_EVENT_TIMESTAMP, 0), 0);
    const uint8_t *d;
    size_t len;
    ck_assert(ims_avp_octets(ims_avp_find(m, IMS_AVP_EVENT_TIMESTAMP), &d, &len));
    ck_assert_uint_eq(len, 4);
    uint32_t ntp = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    ck_assert_uint_eq(ntp, 2208988800u);   /* 1970-01-01 in the NTP era */
    /* Rf is not vendor specific: no Vendor-Specific-Application-Id is added */
    ck_assert_ptr_null(ims_avp_find(m, IMS_AVP_VENDOR_SPECIFIC_APPLICATION_ID));
    fd_msg_free(m);
}
END_TEST

START_TEST(command_lookup)
{
    ck_assert_int_eq(ims_cmd_lookup(16777216, 303, true), IMS_CMD_MAR);
    ck_assert_int_eq(ims_cmd_lookup(16777216, 303, false), IMS_CMD_MAA);
    ck_assert_int_eq(ims_cmd_lookup(16777217, 306, true), IMS_CMD_UDR);
    ck_assert_int_eq(ims_cmd_lookup(4, 272, true), IMS_CMD_CCR);
    ck_assert_int_eq(ims_cmd_lookup(3, 271, false), IMS_CMD_ACA);
    ck_assert_int_eq(ims_cmd_lookup(0, 257, true), IMS_CMD_COUNT);   /* CER: base protocol */
    ck_assert_int_eq(ims_cmd_lookup(16777217, 300, true), IMS_CMD_COUNT);
    ck_assert_str_eq(ims_app_name(ims_cmd_app(IMS_CMD_PNR)), "Sh");
}
END_TEST

static int calls;
static uint32_t code;

static void count_answer(void *arg, const struct ims_diam_result *res)
{
    (void)arg;
    calls++;
    code = res->code;
    ims_loop_stop(loop);
}

START_TEST(send_without_route_is_answered_once)
{
    /* no peer: freeDiameter answers DIAMETER_UNABLE_TO_DELIVER locally, and the callback
     * runs exactly once on the loop thread */
    ck_assert_int_eq(ims_diam_start(), 0);
    struct msg *m = new_uar(true);
    ck_assert_int_eq(ims_diam_send(&m, 500, count_answer, NULL), 0);
    ck_assert_ptr_null(m);
    ims_loop_run(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(code, 3002);
}
END_TEST

/* ---- DOIC: the decision before a request is built ---- */

#define HSS "hss." REALM

/* A request of @cmd; @type_avp (IMS_AVP_COUNT: none) set to @type */
static struct msg *request_of(enum ims_cmd cmd, enum ims_avp type_avp, int32_t type)
{
    struct msg *m = ims_diam_request_new(cmd, NULL, NULL);
    ck_assert_ptr_nonnull(m);
    if (type_avp != IMS_AVP_COUNT)
        ck_assert_int_eq(ims_avp_add_i32(m, type_avp, type), 0);
    return m;
}

/* HSS answers a request of @cmd asking for a reduction of @pct % (RFC 7683 OC-OLR): the
 * client takes it, and HSS becomes the target of @cmd's application */
static void answered_by_hss(enum ims_cmd cmd, uint32_t pct)
{
    struct msg *m = request_of(cmd, IMS_AVP_COUNT, 0);
    ck_assert_int_eq(fd_msg_new_answer_from_req(fd_g_config->cnf_dict, &m, 0), 0);
    ck_assert_int_eq(fd_msg_source_set(m, (DiamId_t)HSS, strlen(HSS)), 0);
    ck_assert_int_eq(ims_avp_add_str(m, IMS_AVP_ORIGIN_HOST, HSS), 0);
    struct avp *f = ims_avp_add_group(m, IMS_AVP_OC_SUPPORTED_FEATURES);
    struct avp *olr = ims_avp_add_group(m, IMS_AVP_OC_OLR);
    ck_assert(f && olr);
    ck_assert_int_eq(ims_avp_add_u64(f, IMS_AVP_OC_FEATURE_VECTOR, 1), 0);   /* loss */
    ck_assert_int_eq(ims_avp_add_u64(olr, IMS_AVP_OC_SEQUENCE_NUMBER, 1), 0);
    ck_assert_int_eq(ims_avp_add_i32(olr, IMS_AVP_OC_REPORT_TYPE, 0), 0);    /* host */
    ck_assert_int_eq(ims_avp_add_u32(olr, IMS_AVP_OC_REDUCTION_PERCENTAGE, pct), 0);
    ck_assert_int_eq(ims_avp_add_u32(olr, IMS_AVP_OC_VALIDITY_DURATION, 30), 0);
    ims_diam_doic_answered(m, "", cmd);
    fd_msg_free(m);
}

START_TEST(what_ends_a_session)
{
    struct msg *ccr_t = request_of(IMS_CMD_CCR, IMS_AVP_CC_REQUEST_TYPE, 3);
    struct msg *ccr_u = request_of(IMS_CMD_CCR, IMS_AVP_CC_REQUEST_TYPE, 2);
    struct msg *sar = request_of(IMS_CMD_SAR, IMS_AVP_SERVER_ASSIGNMENT_TYPE, 5);
    ck_assert(ims_diam_ends_session(ccr_t, IMS_CMD_CCR));
    ck_assert(!ims_diam_ends_session(ccr_u, IMS_CMD_CCR));
    /* the request and its type alone say the same */
    ck_assert(ims_diam_type_ends_session(IMS_CMD_CCR, 3));
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_CCR, 2));
    /* a UE's de-registration does not (USER_DEREGISTRATION, 5: the UE asks again), nor
     * a registration */
    ck_assert(!ims_diam_ends_session(sar, IMS_CMD_SAR));
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_SAR, 5));
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_SAR, 1));
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_SAR, 2));
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_SAR, 3));
    /* the S-CSCF's own ones do: nobody would send them again */
    struct msg *sar_timeout = request_of(IMS_CMD_SAR, IMS_AVP_SERVER_ASSIGNMENT_TYPE, 4);
    ck_assert(ims_diam_ends_session(sar_timeout, IMS_CMD_SAR));
    const int32_t own[] = { 4, 6, 8, 9, 10, 11 };
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        ck_assert(ims_diam_type_ends_session(IMS_CMD_SAR, own[i]));
    /* the same numbers mean nothing for another command */
    ck_assert(!ims_diam_type_ends_session(IMS_CMD_MAR, 4));
    fd_msg_free(ccr_t);
    fd_msg_free(ccr_u);
    fd_msg_free(sar);
    fd_msg_free(sar_timeout);
}
END_TEST

START_TEST(early_decision_as_the_late_one)
{
    answered_by_hss(IMS_CMD_SAR, 100);
    answered_by_hss(IMS_CMD_CCR, 100);
    /* all are dropped, but what ends a session: early as when the request goes */
    ck_assert(ims_diam_doic_throttle_early(IMS_CMD_SAR, 1));
    ck_assert(ims_diam_doic_throttle_early(IMS_CMD_SAR, 5));
    ck_assert(ims_diam_doic_throttle_early(IMS_CMD_CCR, 1));
    ck_assert(!ims_diam_doic_throttle_early(IMS_CMD_CCR, 3));
    struct msg *ccr_t = request_of(IMS_CMD_CCR, IMS_AVP_CC_REQUEST_TYPE, 3);
    ck_assert(!ims_diam_doic_throttle(ccr_t, HSS, IMS_CMD_CCR));
    fd_msg_free(ccr_t);
    /* Rf is never throttled */
    ck_assert(!ims_diam_doic_throttle_early(IMS_CMD_ACR, 0));
}
END_TEST

START_TEST(decided_once)
{
    answered_by_hss(IMS_CMD_SAR, 50);   /* every second request */
    struct msg *sar = request_of(IMS_CMD_SAR, IMS_AVP_SERVER_ASSIGNMENT_TYPE, 1);
    ck_assert(!ims_diam_doic_throttle_early(IMS_CMD_SAR, 1));   /* let through ... */
    ck_assert(!ims_diam_doic_throttle(sar, HSS, IMS_CMD_SAR));  /* ... not decided again */
    ck_assert(ims_diam_doic_throttle(sar, HSS, IMS_CMD_SAR));   /* the next is */
    /* a MAR let through early does not let a SAR through */
    ck_assert(!ims_diam_doic_throttle_early(IMS_CMD_MAR, 0));
    ck_assert(ims_diam_doic_throttle(sar, HSS, IMS_CMD_SAR));
    /* a request let through early that sent no SAR (its handling over) does not let the
     * next SAR skip its decision */
    ck_assert(!ims_diam_doic_throttle_early(IMS_CMD_SAR, 1));
    ims_diam_doic_early_end();
    ck_assert(ims_diam_doic_throttle(sar, HSS, IMS_CMD_SAR));
    fd_msg_free(sar);
}
END_TEST

static Suite *diam_suite(void)
{
    Suite *s = suite_create("diam");
    TCase *tc = tcase_create("dictionary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, every_object_resolves);
    tcase_add_test(tc, request_has_standard_header_avps);
    tcase_add_test(tc, request_round_trips_through_rules);
    tcase_add_test(tc, missing_required_avp_breaks_rules);
    tcase_add_test(tc, duplicate_single_avp_breaks_rules);
    tcase_add_test(tc, answer_carries_experimental_result);
    tcase_add_test(tc, grouped_and_repeated_avps);
    tcase_add_test(tc, time_avp_uses_ntp_seconds);
    tcase_add_test(tc, command_lookup);
    tcase_add_test(tc, send_without_route_is_answered_once);
    tcase_add_test(tc, what_ends_a_session);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("doic");
    tcase_add_checked_fixture(td, setup_doic, teardown);
    tcase_set_timeout(td, 20);
    tcase_add_test(td, early_decision_as_the_late_one);
    tcase_add_test(td, decided_once);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(diam_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
