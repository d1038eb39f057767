/*
 * check_trust.c - which peer may do what at the HSS (hss.sh_peers, hss.password_peers)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>

#include "hss.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"

START_TEST(empty_list_allows_nobody)
{
    char *none[] = { NULL };
    ck_assert(!hss_trust_listed(none, "as." REALM));
    ck_assert(!hss_trust_listed(NULL, "as." REALM));
}
END_TEST

START_TEST(exact_and_pattern)
{
    char *list[] = { "as." REALM, "*.as.example.org", NULL };
    ck_assert(hss_trust_listed(list, "as." REALM));
    ck_assert(hss_trust_listed(list, "AS." REALM));
    ck_assert(hss_trust_listed(list, "tas1.as.example.org"));
    ck_assert(!hss_trust_listed(list, "cx-client." REALM));
    ck_assert(!hss_trust_listed(list, "as." REALM ".evil.org"));
    ck_assert(!hss_trust_listed(list, "as.example.org"));
}
END_TEST

START_TEST(no_peer_is_nobody)
{
    /* a request not received from a peer (no connection identity) matches no pattern,
     * not even "*" */
    char *all[] = { "*", NULL };
    ck_assert(!hss_trust_listed(all, ""));
    ck_assert(!hss_trust_listed(all, NULL));
    ck_assert(hss_trust_listed(all, "x." REALM));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hss_trust");
    TCase *tc = tcase_create("listed");
    tcase_add_test(tc, empty_list_allows_nobody);
    tcase_add_test(tc, exact_and_pattern);
    tcase_add_test(tc, no_peer_is_nobody);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
