/*
 * check_clf.c - NASS-bundled at the P-CSCF (pcscf/clf.c): the table that stands in for the
 * CLF (most specific network wins, bad lines refused), and what a REGISTER leaves with: the
 * P-Access-Network-Info the UE marked network-provided removed, ours added
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/sip_parser.h>

#include "pcscf.h"
#include "sip_hdr.h"

static struct pcscf p;
static char path[64];
static msg_t *msg;

static void write_table(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/check_clf_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void teardown(void)
{
    pcscf_clf_free(&p);
    if (path[0])
        unlink(path);
    path[0] = '\0';
    if (msg)
        msg_destroy(msg);
    msg = NULL;
}

static sip_t *register_with(const char *headers)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "REGISTER sip:ims.example.org SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKu\r\n%s"
             "From: <sip:nadia@ims.example.org>;tag=1\r\nTo: <sip:nadia@ims.example.org>\r\n"
             "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n", headers);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

static struct ims_sip_source from(const char *ip)
{
    struct ims_sip_source s = { .port = 5060 };
    snprintf(s.ip, sizeof(s.ip), "%s", ip);
    snprintf(s.key, sizeof(s.key), "%s:5060/udp", ip);
    return s;
}

/* The P-Access-Network-Info values of @sip, joined by " | " */
static void panis(const sip_t *sip, char *out, size_t len)
{
    out[0] = '\0';
    for (const sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
        if (strcasecmp(u->un_name, "P-Access-Network-Info") == 0) {
            strncat(out, out[0] ? " | " : "", len - strlen(out) - 1);
            strncat(out, u->un_value, len - strlen(out) - 1);
        }
}

START_TEST(network_provided_parameter)
{
    ck_assert(pcscf_pani_network_provided("ADSL;dsl-location=\"x\";network-provided"));
    ck_assert(pcscf_pani_network_provided("ADSL; network-provided ; dsl-location=\"x\""));
    ck_assert(pcscf_pani_network_provided("3GPP-E-UTRAN-FDD, ADSL;NETWORK-PROVIDED"));
    /* a quoted-pair read apart by two parsers: the S-CSCF (RFC 3261 quoted-pair) sees the
     * flag outside the quotes where a naive quote toggle sees it inside */
    ck_assert(pcscf_pani_network_provided("ADSL; x=\"\\\"\"; network-provided; "
                                          "dsl-location=\"l\""));
    /* anywhere: quoted or part of a longer word goes too, nothing is left to a parser */
    ck_assert(pcscf_pani_network_provided("ADSL;dsl-location=\"network-provided\""));
    ck_assert(pcscf_pani_network_provided("network-provided-not;x"));
    ck_assert(!pcscf_pani_network_provided("ADSL;dsl-location=\"dslam-7/port-3\""));
    ck_assert(!pcscf_pani_network_provided("3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=001010001"));
    ck_assert(!pcscf_pani_network_provided("network provided"));
    ck_assert(!pcscf_pani_network_provided(""));
}
END_TEST

START_TEST(table_and_mark)
{
    write_table("# network access-type line\n"
                "192.0.2.0/24   ADSL2+  dslam-1/any\n"
                "\n"
                "192.0.2.7      VDSL    dslam-7/port-3   # the most specific wins\n"
                "2001:db8::/32  GPON    olt-4/ont-9\n");
    ck_assert_int_eq(pcscf_clf_load(&p, path), 0);
    char got[512];
    struct ims_sip_source src = from("192.0.2.7");
    sip_t *sip = register_with("P-Access-Network-Info: ADSL;dsl-location=\"victim\";"
                               "network-provided\r\n"
                               "P-Access-Network-Info: IEEE-802.11;"
                               "i-wlan-node-id=ffeeddccbbaa\r\n");
    ck_assert_int_eq(pcscf_clf_mark(&p, msg, sip, &src), 0);
    panis(sip, got, sizeof(got));
    ck_assert_str_eq(got, "IEEE-802.11;i-wlan-node-id=ffeeddccbbaa | "
                          "VDSL;dsl-location=\"dslam-7/port-3\";network-provided");
    msg_destroy(msg);
    msg = NULL;
    src = from("192.0.2.8");
    sip = register_with("");
    ck_assert_int_eq(pcscf_clf_mark(&p, msg, sip, &src), 0);
    panis(sip, got, sizeof(got));
    ck_assert_str_eq(got, "ADSL2+;dsl-location=\"dslam-1/any\";network-provided");
    msg_destroy(msg);
    msg = NULL;
    /* an address the table does not know: the UE's claim goes, nothing comes instead */
    src = from("198.51.100.1");
    sip = register_with("P-Access-Network-Info: ADSL;dsl-location=\"victim\";"
                        "network-provided\r\n");
    ck_assert_int_eq(pcscf_clf_mark(&p, msg, sip, &src), 0);
    panis(sip, got, sizeof(got));
    ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(bad_tables_refused)
{
    static const char *const bad[] = {
        "192.0.2.0/24 ADSL\n",                      /* no line */
        "192.0.2.1/24 ADSL line-1\n",               /* host bits */
        "not-a-net ADSL line-1\n",
        "192.0.2.0/24 ADSL line\"1\n",              /* a quote in the line */
        "192.0.2.0/24 AD;SL line-1\n",              /* not a token */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_table(bad[i]);
        ck_assert_msg(pcscf_clf_load(&p, path) == -EINVAL, "%s", bad[i]);
        ck_assert_ptr_null(p.clf);
        unlink(path);
        path[0] = '\0';
    }
    ck_assert_int_lt(pcscf_clf_load(&p, "/nonexistent/clf.txt"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pcscf_clf");
    TCase *tc = tcase_create("clf");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, network_provided_parameter);
    tcase_add_test(tc, table_and_mark);
    tcase_add_test(tc, bad_tables_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
