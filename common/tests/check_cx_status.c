/*
 * check_cx_status.c - Cx outcomes -> the SIP answer of a CSCF (common/cx_status.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "cx_status.h"
#include "diam_dict.h"

START_TEST(no_answer_is_480)
{
    const char *phrase, *why;
    ck_assert_int_eq(ims_cx_sip_status(-ETIMEDOUT, 0, false, &phrase, &why), 480);
    ck_assert_str_eq(why, "HSS did not answer in time");
    ck_assert_int_eq(ims_cx_sip_status(-ENOTCONN, 0, false, &phrase, &why), 480);
    ck_assert_str_eq(phrase, "Temporarily Unavailable");
    ck_assert_str_eq(why, "HSS unreachable");
}
END_TEST

START_TEST(experimental_and_base_results)
{
    const char *phrase, *why;
    ck_assert_int_eq(ims_cx_sip_status(0, IMS_DIAM_ERROR_USER_UNKNOWN, true, &phrase, &why),
                     403);
    ck_assert_str_eq(why, "HSS: user unknown");
    ck_assert_int_eq(ims_cx_sip_status(0, IMS_DIAM_ERROR_IN_ASSIGNMENT_TYPE, true, &phrase,
                                       &why), 500);
    /* a server too busy is overload: 503 at once (with Retry-After), not a timeout later */
    ck_assert_int_eq(ims_cx_sip_status(0, IMS_DIAM_TOO_BUSY, false, &phrase, &why), 503);
    ck_assert_str_eq(phrase, "Service Unavailable");
    ck_assert_str_eq(why, "HSS too busy");
    /* 5003 is AUTHORIZATION_REJECTED as a base result, IDENTITY_NOT_REGISTERED as an
     * experimental one: the same code, two meanings */
    ck_assert_int_eq(ims_cx_sip_status(0, 5003, false, &phrase, &why), 403);
    ck_assert_str_eq(why, "HSS: authorization rejected");
    ck_assert_int_eq(ims_cx_sip_status(0, 5003, true, &phrase, &why), 403);
    ck_assert_str_eq(why, "HSS: identity not registered");
}
END_TEST

START_TEST(unknown_result_is_500)
{
    const char *phrase = NULL, *why = NULL;
    ck_assert_int_eq(ims_cx_sip_status(0, 4242, true, &phrase, &why), 500);
    ck_assert_str_eq(phrase, "Server Internal Error");
    ck_assert_str_eq(why, "unexpected answer from the HSS");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cx_status");
    TCase *tc = tcase_create("cx_status");
    tcase_add_test(tc, no_answer_is_480);
    tcase_add_test(tc, experimental_and_base_results);
    tcase_add_test(tc, unknown_result_is_500);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
