/*
 * check_select.c - choosing an S-CSCF by capabilities (icscf/select.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "icscf.h"

static struct icscf_scscf list[3];

static void setup(void)
{
    ck_assert_int_eq(icscf_scscf_parse("sip:a.example:5060", &list[0]), 0);
    ck_assert_int_eq(icscf_scscf_parse("sip:b.example:5060 1 2", &list[1]), 0);
    ck_assert_int_eq(icscf_scscf_parse("sip:c.example:5060 1 2 3", &list[2]), 0);
}

START_TEST(mandatory_then_most_optional)
{
    char name[256];
    struct icscf_caps caps = { .mandatory = { 1 }, .nmandatory = 1 };
    ck_assert(icscf_select(list, 3, &caps, NULL, 0, name, sizeof(name)));
    ck_assert_str_eq(name, "sip:b.example:5060");        /* first with capability 1 */
    caps.optional[0] = 3;
    caps.noptional = 1;
    ck_assert(icscf_select(list, 3, &caps, NULL, 0, name, sizeof(name)));
    ck_assert_str_eq(name, "sip:c.example:5060");        /* more optional ones */
    caps.mandatory[0] = 9;
    ck_assert(!icscf_select(list, 3, &caps, NULL, 0, name, sizeof(name)));
    ck_assert(icscf_select(list, 3, NULL, NULL, 0, name, sizeof(name)));
    ck_assert_str_eq(name, "sip:a.example:5060");        /* no capabilities asked */
}
END_TEST

START_TEST(exclusions_and_preferred_names)
{
    char name[256];
    const char *tried[] = { "sip:a.example:5060", "sip:b.example:5060" };
    ck_assert(icscf_select(list, 3, NULL, tried, 2, name, sizeof(name)));
    ck_assert_str_eq(name, "sip:c.example:5060");
    const char *all[] = { "sip:a.example:5060", "sip:b.example:5060", "sip:c.example:5060" };
    ck_assert(!icscf_select(list, 3, NULL, all, 3, name, sizeof(name)));
    struct icscf_caps caps = { .nnames = 2 };
    snprintf(caps.names[0], sizeof(caps.names[0]), "sip:a.example:5060");
    snprintf(caps.names[1], sizeof(caps.names[1]), "sip:hss-choice.example");
    ck_assert(icscf_select(list, 3, &caps, tried, 1, name, sizeof(name)));
    ck_assert_str_eq(name, "sip:hss-choice.example");    /* the HSS's, minus the tried */
}
END_TEST

START_TEST(parse_items)
{
    struct icscf_scscf s;
    ck_assert_int_eq(icscf_scscf_parse("sip:x.example 4 5", &s), 0);
    ck_assert_int_eq(s.ncaps, 2);
    ck_assert_uint_eq(s.caps[1], 5);
    ck_assert_int_ne(icscf_scscf_parse("http://x 1", &s), 0);
    ck_assert_int_ne(icscf_scscf_parse("sip:x.example one", &s), 0);
    ck_assert_int_ne(icscf_scscf_parse("", &s), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("select");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, mandatory_then_most_optional);
    tcase_add_test(tc, exclusions_and_preferred_names);
    tcase_add_test(tc, parse_items);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
