/*
 * check_diam_dest.c - lists of servers in order of preference (common/diam_dest.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diam_dest.h"

static const char *open_hosts;   /* the fake freeDiameter: these hosts are open */

static bool fake_open(const char *host)
{
    const char *p = strstr(open_hosts, host);
    size_t n = strlen(host);
    return p && (p[n] == '\0' || p[n] == ' ');
}

START_TEST(parse_lists)
{
    struct ims_dest_list l;
    char buf[256];
    ck_assert_int_eq(ims_dest_parse(&l, "ocs.a"), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.host[0], "ocs.a");
    ck_assert_int_eq(ims_dest_parse(&l, " ocs.a,ocs2.a ,  ocs3.a "), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert_str_eq(ims_dest_str(&l, buf, sizeof(buf)), "ocs.a, ocs2.a, ocs3.a");
    ck_assert_int_eq(ims_dest_parse(&l, "a b"), 0);
    ck_assert_uint_eq(l.n, 2);
}
END_TEST

START_TEST(parse_refuses)
{
    struct ims_dest_list l;
    char lng[300];
    memset(lng, 'x', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = '\0';
    ck_assert_int_eq(ims_dest_parse(&l, ""), -22);
    ck_assert_int_eq(ims_dest_parse(&l, " , "), -22);
    ck_assert_int_eq(ims_dest_parse(&l, NULL), -22);
    ck_assert_int_eq(ims_dest_parse(&l, "a, b, c, d, e"), -22);   /* more than 4 */
    ck_assert_int_eq(ims_dest_parse(&l, lng), -22);
}
END_TEST

START_TEST(pick_first_open)
{
    struct ims_dest_list l;
    ck_assert_int_eq(ims_dest_parse(&l, "ocs.a, ocs2.a"), 0);
    open_hosts = "ocs.a ocs2.a";
    ck_assert_str_eq(ims_dest_pick_by(&l, NULL, fake_open), "ocs.a");
    open_hosts = "ocs2.a";                   /* the first is down: the second takes over */
    ck_assert_str_eq(ims_dest_pick_by(&l, NULL, fake_open), "ocs2.a");
    open_hosts = "ocs.a ocs2.a";             /* back: it takes its traffic back */
    ck_assert_str_eq(ims_dest_pick_by(&l, NULL, fake_open), "ocs.a");
    open_hosts = "";
    ck_assert_ptr_null(ims_dest_pick_by(&l, NULL, fake_open));
}
END_TEST

START_TEST(pick_avoids_the_failed)
{
    struct ims_dest_list l;
    ck_assert_int_eq(ims_dest_parse(&l, "ocs.a, ocs2.a"), 0);
    open_hosts = "ocs.a ocs2.a";
    ck_assert_str_eq(ims_dest_pick_by(&l, "OCS.a", fake_open), "ocs2.a");
    open_hosts = "ocs.a";
    ck_assert_ptr_null(ims_dest_pick_by(&l, "ocs.a", fake_open));
}
END_TEST

START_TEST(membership)
{
    struct ims_dest_list l;
    ck_assert_int_eq(ims_dest_parse(&l, "ocs.a, ocs2.a"), 0);
    ck_assert(ims_dest_has(&l, "OCS2.A"));
    ck_assert(!ims_dest_has(&l, "ocs3.a"));
    ck_assert(!ims_dest_has(&l, NULL));
}
END_TEST

static Suite *dest_suite(void)
{
    Suite *s = suite_create("diam_dest");
    TCase *tc = tcase_create("lists");
    tcase_add_test(tc, parse_lists);
    tcase_add_test(tc, parse_refuses);
    tcase_add_test(tc, pick_first_open);
    tcase_add_test(tc, pick_avoids_the_failed);
    tcase_add_test(tc, membership);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dest_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
