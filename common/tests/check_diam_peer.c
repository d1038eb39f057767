/*
 * check_diam_peer.c - the Diameter peer rules and the decision on a peer that connects
 *
 * Each refusal is played as an attacker would try it: an unknown identity, a configured
 * identity from another address, a lab pattern from outside its network, plain TCP where
 * TLS is required, a certificate naming someone else.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "diam_peer.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"

static struct sockaddr_storage addr4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(40000);
    ck_assert_int_eq(inet_pton(AF_INET, a, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage addr6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
    return ss;
}

static struct ims_diam_rule peer(const char *text)
{
    struct ims_diam_rule r;
    char err[256];
    ck_assert_msg(ims_diam_rule_parse_peer(text, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

static struct ims_diam_rule pattern(const char *text)
{
    struct ims_diam_rule r;
    char err[256];
    ck_assert_msg(ims_diam_rule_parse_pattern(text, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* The lab HSS: two configured clients, the lab pattern and plain TCP for 127.0.1.0/24. */
static struct ims_diam_rule g_peers[2], g_accept[1], g_plain[1];
static struct ims_diam_trust g_trust;

static void setup(void)
{
    g_peers[0] = peer("scscf." REALM "@127.0.0.30");
    g_peers[1] = peer("as." REALM "@127.0.0.90");
    g_accept[0] = pattern("*." REALM "@127.0.1.0/24");
    g_plain[0] = pattern("*." REALM "@127.0.1.0/24");
    g_trust = (struct ims_diam_trust){ g_peers, 2, g_accept, 1, g_plain, 1, true };
}

static enum ims_diam_verdict decide(const struct ims_diam_trust *t, const char *id,
                                    const char *from, bool tls, bool cert_ok)
{
    struct sockaddr_storage ss = addr4(from);
    struct ims_diam_incoming in = { id, (struct sockaddr *)&ss, tls, cert_ok };
    return ims_diam_peer_decide(t, &in, NULL);
}

START_TEST(peer_syntax)
{
    struct ims_diam_rule r;
    char err[256];
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss." REALM "@127.0.0.40:5868", &r, err,
                                              sizeof(err)), 0);
    ck_assert_str_eq(r.identity, "hss." REALM);
    ck_assert_int_eq(r.port, 5868);
    ck_assert_int_eq(r.net.family, AF_INET);
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss." REALM "@[::1]:3868", &r, err,
                                              sizeof(err)), 0);
    ck_assert_int_eq(r.net.family, AF_INET6);
    ck_assert_int_eq(r.port, 3868);
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss." REALM "@127.0.0.40", &r, err,
                                              sizeof(err)), 0);
    ck_assert_int_eq(r.port, 0);
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss." REALM, &r, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss@host.example.org", &r, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "numeric address"));
    ck_assert_int_eq(ims_diam_rule_parse_peer("*." REALM "@127.0.0.40", &r, err, sizeof(err)),
                     -EINVAL);
    ck_assert_int_eq(ims_diam_rule_parse_peer("hss@127.0.0.40:0", &r, err, sizeof(err)),
                     -EINVAL);
}
END_TEST

START_TEST(pattern_syntax)
{
    struct ims_diam_rule r;
    char err[256];
    ck_assert_int_eq(ims_diam_check_pattern("*." REALM, err, sizeof(err)), 0);
    ck_assert_int_eq(ims_diam_rule_parse_pattern("*." REALM, &r, err, sizeof(err)), 0);
    ck_assert(r.any_address);
    ck_assert_int_eq(ims_diam_rule_parse_pattern("*@10.1.0.0/16", &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.net.prefix, 16);
    ck_assert(!r.any_address);
    ck_assert_int_eq(ims_diam_rule_parse_pattern("*@fd00::/8", &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.net.prefix, 8);
    ck_assert_int_eq(ims_diam_check_pattern("*@10.0.0.0/33", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "prefix"));
    /* host bits set under the prefix: a typo, not a network */
    ck_assert_int_eq(ims_diam_check_pattern("*@10.1.0.5/16", err, sizeof(err)), -1);
    ck_assert_int_eq(ims_diam_check_pattern("*@not-an-address", err, sizeof(err)), -1);
    ck_assert_int_eq(ims_diam_check_pattern("bad host name@10.0.0.1", err, sizeof(err)), -1);
    ck_assert_int_eq(ims_diam_check_pattern("", err, sizeof(err)), -1);
}
END_TEST

START_TEST(address_match)
{
    struct ims_diam_rule net = pattern("*@127.0.1.0/24"), host = peer("a." REALM "@127.0.0.30");
    struct ims_diam_rule odd = pattern("*@10.0.0.128/25"), v6 = pattern("*@fd00:1::/32");
    struct sockaddr_storage in = addr4("127.0.1.200"), out = addr4("127.0.2.1");
    ck_assert(ims_diam_rule_address(&net, (struct sockaddr *)&in));
    ck_assert(!ims_diam_rule_address(&net, (struct sockaddr *)&out));
    struct sockaddr_storage h = addr4("127.0.0.30"), h2 = addr4("127.0.0.31");
    ck_assert(ims_diam_rule_address(&host, (struct sockaddr *)&h));
    ck_assert(!ims_diam_rule_address(&host, (struct sockaddr *)&h2));
    struct sockaddr_storage o1 = addr4("10.0.0.200"), o2 = addr4("10.0.0.100");
    ck_assert(ims_diam_rule_address(&odd, (struct sockaddr *)&o1));
    ck_assert(!ims_diam_rule_address(&odd, (struct sockaddr *)&o2));
    /* IPv4 seen through an IPv6 socket (::ffff:a.b.c.d) is still that IPv4 address */
    struct sockaddr_storage mapped = addr6("::ffff:127.0.0.30");
    ck_assert(ims_diam_rule_address(&host, (struct sockaddr *)&mapped));
    struct sockaddr_storage a6 = addr6("fd00:1:2::5"), b6 = addr6("fd00:2::5");
    ck_assert(ims_diam_rule_address(&v6, (struct sockaddr *)&a6));
    ck_assert(!ims_diam_rule_address(&v6, (struct sockaddr *)&b6));
    ck_assert(!ims_diam_rule_address(&net, (struct sockaddr *)&a6));
}
END_TEST

START_TEST(configured_peer_from_its_address)
{
    const struct ims_diam_rule *rule = NULL;
    struct sockaddr_storage ss = addr4("127.0.0.30");
    struct ims_diam_incoming in = { "SCSCF." REALM, (struct sockaddr *)&ss, true, true };
    ck_assert_int_eq(ims_diam_peer_decide(&g_trust, &in, &rule), IMS_DIAM_PEER_CONFIGURED);
    ck_assert_ptr_eq(rule, &g_peers[0]);
    ck_assert(ims_diam_verdict_ok(IMS_DIAM_PEER_CONFIGURED));
}
END_TEST

START_TEST(unknown_identity_refused)
{
    /* a foreign realm, from the lab's own network or the lab pattern's */
    ck_assert_int_eq(decide(&g_trust, "mme.epc.example.net", "127.0.0.77", true, true),
                     IMS_DIAM_PEER_UNKNOWN);
    ck_assert_int_eq(decide(&g_trust, "mme.epc.example.net", "127.0.1.10", false, false),
                     IMS_DIAM_PEER_UNKNOWN);
    /* a host of our realm, not configured, outside the pattern's network: the pattern
     * names it, but only from 127.0.1.0/24 */
    ck_assert_int_eq(decide(&g_trust, "evil." REALM, "127.0.0.77", true, true),
                     IMS_DIAM_PEER_WRONG_ADDRESS);
    /* the realm itself, a suffix trick */
    ck_assert_int_eq(decide(&g_trust, "x." REALM ".evil.org", "127.0.1.5", false, false),
                     IMS_DIAM_PEER_UNKNOWN);
    ck_assert(!ims_diam_verdict_ok(IMS_DIAM_PEER_UNKNOWN));
}
END_TEST

START_TEST(configured_identity_from_another_address_refused)
{
    /* from an address of the lab pattern's network: the pattern does not let it in */
    ck_assert_int_eq(decide(&g_trust, "scscf." REALM, "127.0.1.10", false, false),
                     IMS_DIAM_PEER_WRONG_ADDRESS);
    ck_assert_int_eq(decide(&g_trust, "scscf." REALM, "127.0.0.31", true, true),
                     IMS_DIAM_PEER_WRONG_ADDRESS);
}
END_TEST

START_TEST(pattern_peer_only_from_its_network)
{
    const struct ims_diam_rule *rule = NULL;
    struct sockaddr_storage ss = addr4("127.0.1.10");
    struct ims_diam_incoming in = { "cx-client." REALM, (struct sockaddr *)&ss, false, false };
    ck_assert_int_eq(ims_diam_peer_decide(&g_trust, &in, &rule), IMS_DIAM_PEER_PATTERN);
    ck_assert_ptr_eq(rule, &g_accept[0]);
    ck_assert_int_eq(decide(&g_trust, "cx-client." REALM, "127.0.0.99", false, false),
                     IMS_DIAM_PEER_WRONG_ADDRESS);
}
END_TEST

START_TEST(plain_tcp_where_tls_is_required)
{
    /* a configured peer must use TLS; the lab's plain network may not lend it plain TCP */
    ck_assert_int_eq(decide(&g_trust, "as." REALM, "127.0.0.90", false, false),
                     IMS_DIAM_PEER_PLAIN_REFUSED);
    ck_assert_int_eq(decide(&g_trust, "as." REALM, "127.0.0.90", true, true),
                     IMS_DIAM_PEER_CONFIGURED);
    /* with TLS off everything is plain */
    struct ims_diam_trust off = g_trust;
    off.tls = false;
    ck_assert_int_eq(decide(&off, "as." REALM, "127.0.0.90", false, false),
                     IMS_DIAM_PEER_CONFIGURED);
    /* a configured peer may be plain when plain_peers names it (and its address) */
    struct ims_diam_rule plain[2] = { g_plain[0], pattern("as." REALM "@127.0.0.90") };
    struct ims_diam_trust some = g_trust;
    some.plain = plain;
    some.nplain = 2;
    ck_assert_int_eq(decide(&some, "as." REALM, "127.0.0.90", false, false),
                     IMS_DIAM_PEER_CONFIGURED);
    ck_assert_int_eq(decide(&some, "scscf." REALM, "127.0.0.30", false, false),
                     IMS_DIAM_PEER_PLAIN_REFUSED);
}
END_TEST

START_TEST(certificate_must_name_the_identity)
{
    ck_assert_int_eq(decide(&g_trust, "as." REALM, "127.0.0.90", true, false),
                     IMS_DIAM_PEER_CERT_MISMATCH);
    ck_assert_int_eq(decide(&g_trust, "tls-client." REALM, "127.0.1.9", true, false),
                     IMS_DIAM_PEER_CERT_MISMATCH);
}
END_TEST

START_TEST(strict_without_lab_options)
{
    /* no accept_peers: only the configured peers, whatever their realm looks like */
    struct ims_diam_trust strict = { g_peers, 2, NULL, 0, NULL, 0, true };
    ck_assert_int_eq(decide(&strict, "scscf." REALM, "127.0.0.30", true, true),
                     IMS_DIAM_PEER_CONFIGURED);
    ck_assert_int_eq(decide(&strict, "cx-client." REALM, "127.0.1.10", true, true),
                     IMS_DIAM_PEER_UNKNOWN);
    ck_assert(!ims_diam_plain_allowed(&strict, "cx-client." REALM, NULL));
    /* a pattern without an address accepts from anywhere (what the old lab did) */
    struct ims_diam_rule any = pattern("*." REALM);
    struct ims_diam_trust loose = { NULL, 0, &any, 1, NULL, 0, false };
    ck_assert_int_eq(decide(&loose, "x." REALM, "192.0.2.1", false, false),
                     IMS_DIAM_PEER_PATTERN);
}
END_TEST

START_TEST(texts)
{
    for (int v = 0; v <= IMS_DIAM_PEER_CERT_MISMATCH; v++) {
        ck_assert_str_ne(ims_diam_verdict_text(v), "?");
        ck_assert_str_ne(ims_diam_verdict_label(v), "?");
    }
    char buf[64];
    struct sockaddr_storage a = addr4("127.0.1.10"), m = addr6("::ffff:10.0.0.1");
    ck_assert_str_eq(ims_diam_addr_text((struct sockaddr *)&a, buf, sizeof(buf)), "127.0.1.10");
    ck_assert_str_eq(ims_diam_addr_text((struct sockaddr *)&m, buf, sizeof(buf)), "10.0.0.1");
    ck_assert_str_eq(ims_diam_addr_text(NULL, buf, sizeof(buf)), "?");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("diam_peer");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, peer_syntax);
    tcase_add_test(tc, pattern_syntax);
    tcase_add_test(tc, address_match);
    tcase_add_test(tc, configured_peer_from_its_address);
    tcase_add_test(tc, unknown_identity_refused);
    tcase_add_test(tc, configured_identity_from_another_address_refused);
    tcase_add_test(tc, pattern_peer_only_from_its_network);
    tcase_add_test(tc, plain_tcp_where_tls_is_required);
    tcase_add_test(tc, certificate_must_name_the_identity);
    tcase_add_test(tc, strict_without_lab_options);
    tcase_add_test(tc, texts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
