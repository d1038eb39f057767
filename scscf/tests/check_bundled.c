/*
 * check_bundled.c - authentication by the access network (scscf/bundled.c): which Via's
 * "received" the S-CSCF believes for early IMS (only the one right below the P-CSCF of the
 * Path, whatever the UE wrote), the lines of P-Access-Network-Info marked network-provided
 * for NASS-bundled, and the comparisons with what the HSS binds the user to
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sofia-sip/sip_parser.h>

#include "scscf.h"

static msg_t *msg;

static void teardown(void)
{
    if (msg)
        msg_destroy(msg);
    msg = NULL;
}

/* A REGISTER with @headers (CRLF-separated lines) before the usual ones */
static const sip_t *register_with(const char *headers)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "REGISTER sip:ims.example.org SIP/2.0\r\n%s"
             "From: <sip:eric@ims.example.org>;tag=1\r\nTo: <sip:eric@ims.example.org>\r\n"
             "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:eric@192.0.2.7:5060>\r\n"
             "Content-Length: 0\r\n\r\n", headers);
    teardown();
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

/* sip.hosts of the test: the P-CSCF's name */
static bool resolve(void *arg, const char *host, char *ip, size_t len)
{
    (void)arg;
    if (strcmp(host, "pcscf.ims.example.org") != 0)
        return false;
    snprintf(ip, len, "10.0.0.10");
    return true;
}

#define ICSCF_VIA "Via: SIP/2.0/UDP 10.0.0.20:5060;branch=z9hG4bKi\r\n"
#define PCSCF_VIA "Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKp;received=10.0.0.10\r\n"
#define PATH "Path: <sip:term@10.0.0.10:5060;lr;ft=abc>\r\n"

START_TEST(address_below_the_pcscf)
{
    char ip[64];
    const sip_t *sip = register_with(ICSCF_VIA PCSCF_VIA
                                     "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKu;"
                                     "received=192.0.2.7\r\n" PATH);
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "192.0.2.7");
    /* the Path names the P-CSCF by name: sip.hosts maps it */
    sip = register_with(ICSCF_VIA PCSCF_VIA
                        "Via: SIP/2.0/TCP [2001:db8:1:2::7]:5070;branch=z9hG4bKu;"
                        "received=[2001:db8:1:2::7]\r\n"
                        "Path: <sip:term@pcscf.ims.example.org:5060;lr>\r\n");
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "2001:db8:1:2::7");
}
END_TEST

START_TEST(forgeries_below_are_never_read)
{
    char ip[64];
    /* the UE wrote a Via of the P-CSCF's address above one "from" the victim: the P-CSCF's
     * received (the attacker's address) is on the forged one, right below the real one */
    const sip_t *sip = register_with(ICSCF_VIA PCSCF_VIA
                                     "Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKf;"
                                     "received=203.0.113.66\r\n"
                                     "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKv;"
                                     "received=192.0.2.7\r\n" PATH);
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "203.0.113.66");
}
END_TEST

START_TEST(nothing_to_believe)
{
    char ip[64];
    /* no Path: no P-CSCF to take the word of */
    const sip_t *sip = register_with(ICSCF_VIA PCSCF_VIA
                                     "Via: SIP/2.0/UDP 192.0.2.7;received=192.0.2.7\r\n");
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), -ENOENT);
    /* no Via of the Path's P-CSCF (another port) */
    sip = register_with(ICSCF_VIA PCSCF_VIA
                        "Via: SIP/2.0/UDP 192.0.2.7;received=192.0.2.7\r\n"
                        "Path: <sip:term@10.0.0.10:5070;lr>\r\n");
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), -ENOENT);
    /* the UE's Via without received (a P-CSCF that did not vouch) */
    sip = register_with(ICSCF_VIA PCSCF_VIA "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKu\r\n"
                        PATH);
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), -ENOENT);
    /* nothing below the P-CSCF's Via */
    sip = register_with(ICSCF_VIA PCSCF_VIA PATH);
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), -ENOENT);
    /* a Path host that sip.hosts does not know */
    sip = register_with(ICSCF_VIA PCSCF_VIA
                        "Via: SIP/2.0/UDP 192.0.2.7;received=192.0.2.7\r\n"
                        "Path: <sip:term@elsewhere.example.org;lr>\r\n");
    ck_assert_int_eq(scscf_bundled_address(sip, resolve, NULL, ip, sizeof(ip)), -ENOENT);
}
END_TEST

static struct scscf_access v4(const char *ip)
{
    struct scscf_access a = { .family = AF_INET, .prefix = 32 };
    ck_assert_int_eq(inet_pton(AF_INET, ip, a.addr), 1);
    return a;
}

static struct scscf_access v6(const char *ip, unsigned prefix)
{
    struct scscf_access a = { .family = AF_INET6, .prefix = prefix };
    ck_assert_int_eq(inet_pton(AF_INET6, ip, a.addr), 1);
    return a;
}

START_TEST(address_match)
{
    struct scscf_access a = v4("192.0.2.7");
    ck_assert(scscf_bundled_address_match(&a, "192.0.2.7"));
    ck_assert(!scscf_bundled_address_match(&a, "192.0.2.8"));
    ck_assert(!scscf_bundled_address_match(&a, "2001:db8::1"));
    ck_assert(!scscf_bundled_address_match(&a, "not an address"));
    a = v6("2001:db8:1:2::", 64);        /* the /64 the GGSN gave: any interface id */
    ck_assert(scscf_bundled_address_match(&a, "2001:db8:1:2:a:b:c:d"));
    ck_assert(!scscf_bundled_address_match(&a, "2001:db8:1:3::1"));
    ck_assert(!scscf_bundled_address_match(&a, "192.0.2.7"));
    a = v6("2001:db8:1:20::", 60);       /* a prefix that ends inside a byte */
    ck_assert(scscf_bundled_address_match(&a, "2001:db8:1:2f::1"));
    ck_assert(!scscf_bundled_address_match(&a, "2001:db8:1:30::1"));
    a = v6("2001:db8::7", 128);
    ck_assert(scscf_bundled_address_match(&a, "2001:db8::7"));
    ck_assert(!scscf_bundled_address_match(&a, "2001:db8::8"));
    struct scscf_access none = { 0 };
    ck_assert(!scscf_bundled_address_match(&none, "192.0.2.7"));
}
END_TEST

START_TEST(lines_network_provided_only)
{
    char lines[4][SCSCF_LINE_ID_MAX];
    const sip_t *sip = register_with(
        "Via: SIP/2.0/UDP 10.0.0.20;branch=z9hG4bKi\r\n"
        "P-Access-Network-Info: ADSL;dsl-location=\"ue-wrote-this\"\r\n"
        "P-Access-Network-Info: ADSL2+;dsl-location=\"dslam-7/port-3\";network-provided, "
        "VDSL; network-provided; dsl-location=\"a;b,c\"\r\n");
    int n = scscf_bundled_lines(sip, lines, 4);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(lines[0], "dslam-7/port-3");
    ck_assert_str_eq(lines[1], "a;b,c");
    struct scscf_access a = { .nlines = 2 };
    snprintf(a.lines[0], sizeof(a.lines[0]), "dslam-9/port-1");
    snprintf(a.lines[1], sizeof(a.lines[1]), "dslam-7/port-3");
    ck_assert(scscf_bundled_line_match(&a, lines, n));
    ck_assert(!scscf_bundled_line_match(&a, lines, 0));
    snprintf(a.lines[1], sizeof(a.lines[1]), "dslam-7/port-4");
    ck_assert(!scscf_bundled_line_match(&a, lines, n));
    /* a UE-written one alone is no line at all */
    sip = register_with("Via: SIP/2.0/UDP 10.0.0.20;branch=z9hG4bKi\r\n"
                        "P-Access-Network-Info: ADSL;dsl-location=\"dslam-7/port-3\"\r\n");
    ck_assert_int_eq(scscf_bundled_lines(sip, lines, 4), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_bundled");
    TCase *tc = tcase_create("bundled");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, address_below_the_pcscf);
    tcase_add_test(tc, forgeries_below_are_never_read);
    tcase_add_test(tc, nothing_to_believe);
    tcase_add_test(tc, address_match);
    tcase_add_test(tc, lines_network_provided_only);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
