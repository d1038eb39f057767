/*
 * check_ro.c - the S-CSCF's decisions on credit-control answers (scscf/charging.c): what
 * an answer means for a call being set up and for a call in progress, and when the next
 * CCR-UPDATE is due
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>

#include "scscf.h"

START_TEST(initial_answers)
{
    int st;
    const char *phrase;
    struct ims_ro_result r = { .decision = IMS_RO_GRANTED, .granted_time = 60 };
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_PROCEED);
    ck_assert_int_eq(st, 0);
    /* no credit: 402 */
    r = (struct ims_ro_result){ .decision = IMS_RO_DENIED, .result_code = 4012 };
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_REFUSE);
    ck_assert_int_eq(st, 402);
    ck_assert_str_eq(phrase, "Payment Required");
    /* unknown user, no rate: 403 */
    r.result_code = 5030;
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_REFUSE);
    ck_assert_int_eq(st, 403);
    r.result_code = 5031;
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_REFUSE);
    ck_assert_int_eq(st, 403);
    /* the OCS does not answer: CCFH decided by the client */
    r = (struct ims_ro_result){ .decision = IMS_RO_CONTINUE, .error = -110 };
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_UNCHARGED);
    r.decision = IMS_RO_TERMINATE;
    ck_assert_int_eq(scscf_ro_action_of(&r, true, &st, &phrase), SCSCF_RO_REFUSE);
    ck_assert_int_eq(st, 503);
}
END_TEST

START_TEST(update_answers)
{
    int st;
    const char *phrase;
    struct ims_ro_result r = { .decision = IMS_RO_GRANTED, .granted_time = 30,
                               .final_unit = true };
    ck_assert_int_eq(scscf_ro_action_of(&r, false, &st, &phrase), SCSCF_RO_PROCEED);
    r = (struct ims_ro_result){ .decision = IMS_RO_DENIED, .result_code = 4012 };
    ck_assert_int_eq(scscf_ro_action_of(&r, false, &st, &phrase), SCSCF_RO_RELEASE);
    r.decision = IMS_RO_TERMINATE;
    ck_assert_int_eq(scscf_ro_action_of(&r, false, &st, &phrase), SCSCF_RO_RELEASE);
    r.decision = IMS_RO_CONTINUE;
    ck_assert_int_eq(scscf_ro_action_of(&r, false, &st, &phrase), SCSCF_RO_UNCHARGED);
}
END_TEST

START_TEST(next_ccr)
{
    struct ims_ro_result r = { .granted_time = 60, .validity_time = 300 };
    ck_assert_uint_eq(scscf_ro_timer_of(&r), 60);
    r.validity_time = 20;                         /* Validity-Time first */
    ck_assert_uint_eq(scscf_ro_timer_of(&r), 20);
    r.granted_time = 0;                           /* no time granted: validity alone */
    ck_assert_uint_eq(scscf_ro_timer_of(&r), 20);
    r.validity_time = 0;
    ck_assert_uint_eq(scscf_ro_timer_of(&r), 0);  /* nothing to wait for */
}
END_TEST

/* The lab's 2xx of alice -> bob as the S-CSCF's originating leg sees it: P-CSCF (bob's
 * side), the S-CSCF's terminating leg, its originating leg, P-CSCF (alice's side) */
static const char ok_text[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.30:5060;branch=z9hG4bK1\r\n"
    "Record-Route: <sip:127.0.0.10:5060;lr;icid=abc>\r\n"
    "Record-Route: <sip:127.0.0.30:5060;lr>, <sip:127.0.0.30:5060;lr>\r\n"
    "Record-Route: <sip:127.0.0.10:5060;lr;icid=abc>\r\n"
    "To: <sip:bob@ims.net>;tag=b\r\n"
    "From: <sip:alice@ims.net>;tag=a\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static bool own(void *arg, const url_t *u)
{
    (void)arg;
    return u->url_host && strcmp(u->url_host, "127.0.0.30") == 0;
}

START_TEST(route_sets_of_a_2xx)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, ok_text, (ssize_t)strlen(ok_text));
    ck_assert_ptr_nonnull(msg);
    const sip_t *sip = sip_object(msg);
    char callee[256], caller[256];
    /* the originating leg: the INVITE came with alice's P-CSCF entry */
    ck_assert_int_eq(scscf_ro_route_sets(sip->sip_record_route, 1, own, NULL, callee, caller,
                                         sizeof(callee)), 0);
    ck_assert_str_eq(callee, "<sip:127.0.0.10:5060;lr;icid=abc>");
    ck_assert_str_eq(caller, "<sip:127.0.0.10:5060;lr;icid=abc>");
    /* the terminating leg (three entries above the caller): nothing towards the callee
     * but bob's P-CSCF, and everything back to alice */
    ck_assert_int_eq(scscf_ro_route_sets(sip->sip_record_route, 2, own, NULL, callee, caller,
                                         sizeof(callee)), 0);
    ck_assert_str_eq(callee, "<sip:127.0.0.10:5060;lr;icid=abc>");
    ck_assert_str_eq(caller, "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;icid=abc>");
    /* more entries claimed than there are; too small a buffer */
    ck_assert_int_eq(scscf_ro_route_sets(sip->sip_record_route, 4, own, NULL, callee, caller,
                                         sizeof(callee)), -EINVAL);
    ck_assert_int_eq(scscf_ro_route_sets(sip->sip_record_route, 1, own, NULL, callee, caller,
                                         20), -ENOSPC);
    /* no Record-Route at all but ours is impossible; none at all: no routes */
    ck_assert_int_eq(scscf_ro_route_sets(NULL, 0, own, NULL, callee, caller, sizeof(callee)),
                     -EINVAL);
    msg_destroy(msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_ro");
    TCase *tc = tcase_create("scscf_ro");
    tcase_add_test(tc, initial_answers);
    tcase_add_test(tc, update_answers);
    tcase_add_test(tc, next_ccr);
    tcase_add_test(tc, route_sets_of_a_2xx);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
