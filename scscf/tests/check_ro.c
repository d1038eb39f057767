/*
 * check_ro.c - the S-CSCF's decisions on credit-control answers (scscf/charging.c): what
 * an answer means for a call being set up and for a call in progress, and when the next
 * CCR-UPDATE is due
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>

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

int main(void)
{
    Suite *s = suite_create("scscf_ro");
    TCase *tc = tcase_create("scscf_ro");
    tcase_add_test(tc, initial_answers);
    tcase_add_test(tc, update_answers);
    tcase_add_test(tc, next_ccr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
