/*
 * check_overlap.c - the called number of an overlap call (mgcf/overlap.c): digits of IAM and
 * SAMs appended, ST, refusals, and the verdict against the configured bounds
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "isup.h"
#include "overlap.h"

START_TEST(append_iam_then_sams)
{
    char d[MGCF_ISUP_DIGITS_MAX + 1] = "";
    bool st = false;
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "1555", &st), 0);
    ck_assert_str_eq(d, "1555");
    ck_assert(!st);
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "0100", &st), 0);
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "001F", &st), 0);
    ck_assert_str_eq(d, "15550100001");
    ck_assert(st);
    /* nothing after the end of pulsing */
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "2", &st), -EINVAL);
    ck_assert_str_eq(d, "15550100001");
    /* an ST alone (a SAM saying only "that was all") */
    char e[8] = "123";
    bool st2 = false;
    ck_assert_int_eq(mgcf_overlap_append(e, sizeof(e), "f", &st2), 0);
    ck_assert_str_eq(e, "123");
    ck_assert(st2);
}
END_TEST

START_TEST(append_refusals)
{
    char d[8] = "12";
    bool st = false;
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "", &st), -EINVAL);
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "3F4", &st), -EINVAL); /* ST inside */
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "3B", &st), -EINVAL);  /* code 11 */
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "12345", &st), 0);     /* 7 of 7 */
    ck_assert_int_eq(mgcf_overlap_append(d, sizeof(d), "1", &st), -E2BIG);
    ck_assert_str_eq(d, "1212345");
    ck_assert(!st);
    char big[64] = "";
    ck_assert_int_eq(mgcf_overlap_append(big, sizeof(big),
                                         "123456789012345678901234567890123", &st), -E2BIG);
    ck_assert_str_eq(big, "");
}
END_TEST

START_TEST(verdicts)
{
    struct mgcf_overlap_conf c = { .enabled = true, .min_digits = 7, .max_digits = 11 };
    ck_assert_int_eq(mgcf_overlap_judge(&c, "1555", false), MGCF_OVL_SHORT);
    ck_assert_int_eq(mgcf_overlap_judge(&c, "", false), MGCF_OVL_SHORT);
    ck_assert_int_eq(mgcf_overlap_judge(&c, "1555010", false), MGCF_OVL_ENOUGH);
    ck_assert_int_eq(mgcf_overlap_judge(&c, "1555010000", false), MGCF_OVL_ENOUGH);
    ck_assert_int_eq(mgcf_overlap_judge(&c, "15550100001", false), MGCF_OVL_COMPLETE);
    ck_assert_int_eq(mgcf_overlap_judge(&c, "155", true), MGCF_OVL_COMPLETE);   /* ST */
    c.enabled = false;                                  /* en bloc: complete as received */
    ck_assert_int_eq(mgcf_overlap_judge(&c, "1555", false), MGCF_OVL_COMPLETE);
    ck_assert_str_eq(mgcf_overlap_verdict_name(MGCF_OVL_SHORT), "short");
    ck_assert_str_eq(mgcf_overlap_verdict_name(MGCF_OVL_ENOUGH), "enough");
    ck_assert_str_eq(mgcf_overlap_verdict_name(MGCF_OVL_COMPLETE), "complete");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mgcf_overlap");
    TCase *tc = tcase_create("overlap");
    tcase_add_test(tc, append_iam_then_sams);
    tcase_add_test(tc, append_refusals);
    tcase_add_test(tc, verdicts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
