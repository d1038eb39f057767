/*
 * check_peer.c - the peer networks of ibcf.peers (ibcf/peer.c): items and their errors, the
 * list's checks, finding a peer by source and by target
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "ibcf.h"

static const char *const B = "mnc002 sip:127.0.2.55:5060 net=127.0.2.55 "
                             "domain=ims.mnc002.mcc001.3gppnetwork.org";

START_TEST(test_parse)
{
    struct ibcf_peer p;
    char err[300] = "";
    ck_assert_int_eq(ibcf_peer_parse(B, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p.name, "mnc002");
    ck_assert_str_eq(p.next_hop, "sip:127.0.2.55:5060");
    ck_assert_int_eq(p.nnets, 1);
    ck_assert_int_eq(p.ndomains, 1);
    ck_assert(!p.trusted);            /* the defaults: untrusted, hidden, no roaming */
    ck_assert(p.hiding);
    ck_assert(!p.roaming);
    ck_assert_str_eq(p.ioi, "ims.mnc002.mcc001.3gppnetwork.org");   /* its domain */

    ck_assert_int_eq(ibcf_peer_parse("c sip:ibcf.c.net net=192.0.2.0/24 net=2001:db8::/32 "
                                     "domain=c.net domain=*.c.net prefix=+44 prefix=+4420 "
                                     "trusted=yes hiding=no roaming=yes", &p, err,
                                     sizeof(err)), 0);
    ck_assert_int_eq(p.nnets, 2);
    ck_assert_int_eq(p.ndomains, 2);
    ck_assert_int_eq(p.nprefixes, 2);
    ck_assert(p.trusted && !p.hiding && p.roaming);
    ck_assert_str_eq(p.ioi, "c.net");
    ck_assert_int_eq(ibcf_peer_parse("e sip:10.0.0.2 net=10.0.0.2 domain=*.e.net ioi=e-ioi", &p,
                                     err, sizeof(err)), 0);
    ck_assert_str_eq(p.ioi, "e-ioi");
    ck_assert_int_eq(ibcf_peer_parse("f sip:10.0.0.3 net=10.0.0.3 domain=*.f.net", &p, err,
                                     sizeof(err)), 0);
    ck_assert_str_eq(p.ioi, "f");     /* a wildcard names no network: the peer's name */
    /* numbers only is enough */
    ck_assert_int_eq(ibcf_peer_parse("d sip:10.0.0.1 net=10.0.0.1 prefix=+49", &p, err,
                                     sizeof(err)), 0);
}
END_TEST

static void bad(const char *item, const char *needle)
{
    struct ibcf_peer p;
    char err[300] = "";
    ck_assert_int_eq(ibcf_peer_parse(item, &p, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s': error '%s' lacks '%s'", item, err, needle);
    ck_assert_int_eq(ibcf_check_peer_item(item, err, sizeof(err)), -EINVAL);
}

START_TEST(test_parse_errors)
{
    bad("mnc002", "expected");
    bad("x sip:10.0.0.9 net=10.0.0.9 domain=x.net ioi=", "ioi=");
    bad("x sip:10.0.0.9 net=10.0.0.9 domain=x.net ioi=a;b", "ioi=");
    bad("mnc002 net=127.0.2.55", "expected");
    bad("mnc002 sip:127.0.2.55", "needs net=");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55", "needs net=");
    bad("mnc002 sip:127.0.2.55 domain=b.net", "needs net=");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.555 domain=b.net", "net=127.0.2.555");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.1/24 domain=b.net", "net=127.0.2.1/24");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 domain=b..net", "domain=b..net");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 domain=b_x.net", "domain=b_x.net");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 prefix=44", "prefix=44");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 prefix=+4a", "prefix=+4a");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 domain=b.net trusted=maybe", "trusted=maybe");
    bad("mnc002 sip:127.0.2.55 net=127.0.2.55 domain=b.net colour=blue", "unknown option");
    bad("mnc002 tel:+15550100 net=127.0.2.55 domain=b.net", "not a SIP URI");
    bad("mnc002 sip:user@127.0.2.55 net=127.0.2.55 domain=b.net", "not a SIP URI");
    bad("mnc 002 sip:127.0.2.55 net=127.0.2.55 domain=b.net", "not a SIP URI");
    bad("m/2 sip:127.0.2.55 net=127.0.2.55 domain=b.net", "name 'm/2'");
}
END_TEST

static struct ibcf_peer peer(const char *item)
{
    struct ibcf_peer p;
    char err[300] = "";
    ck_assert_msg(ibcf_peer_parse(item, &p, err, sizeof(err)) == 0, "%s", err);
    return p;
}

START_TEST(test_list_checks)
{
    struct ibcf_peer l[3];
    char err[300] = "";
    char *home_items[] = { "127.0.0.30", "127.0.0.50", NULL };
    struct ims_netlist home = { 0 };
    ck_assert_int_eq(ims_netlist_parse(home_items, &home, err, sizeof(err)), 0);
    l[0] = peer(B);
    l[1] = peer("c sip:127.0.3.55 net=127.0.3.0/24 domain=c.net prefix=+44");
    ck_assert_int_eq(ibcf_peers_check(l, 2, &home, err, sizeof(err)), 0);

    l[2] = peer("mnc002 sip:127.0.4.55 net=127.0.4.55 domain=d.net");
    ck_assert_int_eq(ibcf_peers_check(l, 3, &home, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "two peers are named 'mnc002'"));
    l[2] = peer("d sip:127.0.3.9 net=127.0.3.9 domain=d.net");      /* inside c's /24 */
    ck_assert_int_eq(ibcf_peers_check(l, 3, &home, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "share addresses"));
    l[2] = peer("d sip:127.0.4.55 net=127.0.4.55 domain=C.NET");
    ck_assert_int_eq(ibcf_peers_check(l, 3, &home, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "domain=c.net"));
    l[2] = peer("d sip:127.0.4.55 net=127.0.4.55 prefix=+44");
    ck_assert_int_eq(ibcf_peers_check(l, 3, &home, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "prefix=+44"));
    /* a peer's network holding a node of the home network */
    l[2] = peer("d sip:127.0.0.99 net=127.0.0.0/24 domain=d.net");
    ck_assert_int_eq(ibcf_peers_check(l, 3, &home, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "sip.trusted_peers"));
    ims_netlist_clear(&home);
}
END_TEST

static const struct ibcf_peer *by_addr(const struct ibcf_peer *l, size_t n, const char *ip)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return ibcf_peer_by_source(l, n, (const struct sockaddr *)&sa);
}

static const char *target(const struct ibcf_peer *l, size_t n, const char *uri)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = url_make(home, uri);
    ck_assert_ptr_nonnull(u);
    const struct ibcf_peer *p = ibcf_peer_by_target(l, n, u);
    su_home_deinit(home);
    return p ? p->name : "";
}

START_TEST(test_lookup)
{
    struct ibcf_peer l[3];
    l[0] = peer(B);
    l[1] = peer("c sip:127.0.3.55 net=127.0.3.0/24 domain=*.c.net prefix=+44");
    l[2] = peer("d sip:127.0.4.55 net=127.0.4.55 domain=*.x.c.net domain=d.net prefix=+4420");

    ck_assert_str_eq(by_addr(l, 3, "127.0.2.55")->name, "mnc002");
    ck_assert_ptr_null(by_addr(l, 3, "127.0.2.56"));
    ck_assert_str_eq(by_addr(l, 3, "127.0.3.200")->name, "c");

    ck_assert_str_eq(target(l, 3, "sip:bob@ims.mnc002.mcc001.3gppnetwork.org"), "mnc002");
    ck_assert_str_eq(target(l, 3, "sip:bob@IMS.MNC002.mcc001.3gppnetwork.org"), "mnc002");
    ck_assert_str_eq(target(l, 3, "sip:bob@ims.c.net"), "c");
    ck_assert_str_eq(target(l, 3, "sip:bob@a.x.c.net"), "d");          /* longer suffix */
    ck_assert_str_eq(target(l, 3, "sip:bob@c.net"), "");               /* *.c.net: below */
    ck_assert_str_eq(target(l, 3, "sip:bob@d.net"), "d");
    ck_assert_str_eq(target(l, 3, "sip:bob@e.net"), "");
    /* the next hop of a Route: a token entry of the peer's IBCF */
    ck_assert_str_eq(target(l, 3, "sip:DAbc@127.0.2.55:5060;lr;tokenized-by=b.net"), "mnc002");
    ck_assert_str_eq(target(l, 3, "sip:127.0.3.7;lr"), "c");
    ck_assert_str_eq(target(l, 3, "sip:127.0.0.30;lr"), "");
    /* numbers: the longest prefix */
    ck_assert_str_eq(target(l, 3, "tel:+442071234567"), "d");
    ck_assert_str_eq(target(l, 3, "tel:+443001234567"), "c");
    ck_assert_str_eq(target(l, 3, "sip:+44-300-1234567@ims.c.net;user=phone"), "c");
    ck_assert_str_eq(target(l, 3, "tel:+15550100"), "");
    ck_assert_str_eq(target(l, 3, "mailto:bob@c.net"), "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ibcf_peer");
    TCase *tc = tcase_create("peer");
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_list_checks);
    tcase_add_test(tc, test_lookup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
