/*
 * check_netlist.c - IP network lists and matching (common/netlist.c): the trusted peers of a
 * SIP node are one
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netlist.h"

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

static bool in(const struct ims_netlist *l, struct sockaddr_storage ss)
{
    return ims_netlist_match(l, (const struct sockaddr *)&ss);
}

START_TEST(parse_forms_and_refusals)
{
    struct ims_net n;
    ck_assert_int_eq(ims_net_parse("127.0.0.20", &n), 0);
    ck_assert_uint_eq(n.prefix, 32);
    ck_assert_int_eq(ims_net_parse("127.0.1.0/24", &n), 0);
    ck_assert_uint_eq(n.prefix, 24);
    ck_assert_int_eq(ims_net_parse("0.0.0.0/0", &n), 0);
    ck_assert_int_eq(ims_net_parse("2001:db8::/32", &n), 0);
    ck_assert_int_eq(n.family, AF_INET6);
    /* host bits set under the prefix: a typo, refused */
    ck_assert_int_eq(ims_net_parse("127.0.1.5/24", &n), -EINVAL);
    ck_assert_int_eq(ims_net_parse("127.0.0.0/33", &n), -EINVAL);
    ck_assert_int_eq(ims_net_parse("127.0.0.0/", &n), -EINVAL);
    ck_assert_int_eq(ims_net_parse("127.0.0.0/2x", &n), -EINVAL);
    ck_assert_int_eq(ims_net_parse("pcscf.example.org", &n), -EINVAL);
    ck_assert_int_eq(ims_net_parse("", &n), -EINVAL);
    char err[160];
    ck_assert_int_ne(ims_cfg_check_net("10.0.0.1/8", err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "10.0.0.1/8"));
}
END_TEST

START_TEST(match_addresses_and_networks)
{
    char *items[] = { "127.0.0.20", "127.0.1.0/24", "2001:db8::/32", NULL };
    struct ims_netlist l;
    char err[160];
    ck_assert_int_eq(ims_netlist_parse(items, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert(in(&l, v4("127.0.0.20")));
    ck_assert(!in(&l, v4("127.0.0.21")));
    ck_assert(!in(&l, v4("127.0.0.150")));        /* a UE */
    ck_assert(in(&l, v4("127.0.1.7")));
    ck_assert(!in(&l, v4("127.0.2.7")));
    ck_assert(in(&l, v6("2001:db8:1::5")));
    ck_assert(!in(&l, v6("2001:db9::5")));
    ck_assert(in(&l, v6("::ffff:127.0.0.20")));   /* IPv4-mapped counts as IPv4 */
    ck_assert(!in(&l, v6("::ffff:127.0.0.21")));
    ck_assert(!ims_netlist_match(&l, NULL));
    ims_netlist_clear(&l);
    ck_assert(!in(&l, v4("127.0.0.20")));        /* an empty list trusts nobody */
}
END_TEST

START_TEST(bad_item_named_and_list_left_empty)
{
    char *items[] = { "127.0.0.20", "127.0.0.300", NULL };
    struct ims_netlist l;
    char err[160];
    ck_assert_int_eq(ims_netlist_parse(items, &l, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "127.0.0.300"));
    ck_assert_uint_eq(l.n, 0);
    ck_assert(!in(&l, v4("127.0.0.20")));
    ck_assert_int_eq(ims_netlist_parse(NULL, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(tls_items_need_verified_tls)
{
    char *items[] = { "127.0.0.10;tls", "127.0.1.0/24;tls", "127.0.0.90", NULL };
    struct ims_netlist l;
    char err[160];
    ck_assert_int_eq(ims_netlist_parse(items, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert(l.nets[0].tls && l.nets[1].tls && !l.nets[2].tls);
    struct sockaddr_storage p = v4("127.0.0.10"), k = v4("127.0.1.9"), as = v4("127.0.0.90");
    /* its address alone is not enough */
    ck_assert(!in(&l, p));
    ck_assert(!ims_netlist_match_tls(&l, (struct sockaddr *)&p, false));
    ck_assert(!ims_netlist_match_tls(&l, (struct sockaddr *)&k, false));
    ck_assert(ims_netlist_match_tls(&l, (struct sockaddr *)&p, true));
    ck_assert(ims_netlist_match_tls(&l, (struct sockaddr *)&k, true));
    /* a verified certificate from elsewhere is not enough either */
    struct sockaddr_storage ue = v4("127.0.0.150");
    ck_assert(!ims_netlist_match_tls(&l, (struct sockaddr *)&ue, true));
    /* plain items match both ways */
    ck_assert(in(&l, as));
    ck_assert(ims_netlist_match_tls(&l, (struct sockaddr *)&as, true));
    ims_netlist_clear(&l);
    ck_assert_int_eq(ims_cfg_check_net("127.0.0.10;tls", err, sizeof(err)), 0);
    ck_assert_int_eq(ims_cfg_check_net("2001:db8::/32;tls", err, sizeof(err)), 0);
    ck_assert_int_ne(ims_cfg_check_net("127.0.0.10;tcp", err, sizeof(err)), 0);
    ck_assert_int_ne(ims_cfg_check_net(";tls", err, sizeof(err)), 0);
    ck_assert_int_ne(ims_cfg_check_net("127.0.0.10;tls;tls", err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, ";tls"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netlist");
    TCase *tc = tcase_create("netlist");
    tcase_add_test(tc, parse_forms_and_refusals);
    tcase_add_test(tc, match_addresses_and_networks);
    tcase_add_test(tc, bad_item_named_and_list_left_empty);
    tcase_add_test(tc, tls_items_need_verified_tls);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
