/*
 * check_secagree.c - sec-agree of pcscf/secagree.c (RFC 3329, TS 33.203 Annex H): the offers
 * of a Security-Client read and chosen, the Security-Server made, the Security-Verify
 * compared, the sec-agree headers removed before the REGISTER leaves
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

#include "pcscf.h"

static su_home_t home[1] = { SU_HOME_INIT(home) };

static const sip_security_client_t *client(const char *value)
{
    return sip_security_client_make(home, value);
}

/* A UE of TS 33.203 Annex H: two algorithms, each with and without encryption */
START_TEST(choose_best_offer)
{
    struct pcscf_sec_offer o;
    char why[160];
    const sip_security_client_t *sc = client(
        "ipsec-3gpp;alg=hmac-md5-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064,"
        " ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064,"
        " ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=3333;spi-s=4444;port-c=5063;"
        "port-s=5065;prot=esp;mod=trans");
    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(pcscf_secagree_choose(sc, &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.alg, PCSCF_IPSEC_HMAC_SHA1_96);
    ck_assert_int_eq(o.ealg, PCSCF_IPSEC_AES_CBC);
    ck_assert_uint_eq(o.spi_c, 3333);
    ck_assert_uint_eq(o.spi_s, 4444);
    ck_assert_uint_eq(o.port_c, 5063);
    ck_assert_uint_eq(o.port_s, 5065);
    /* no ealg: null encryption (integrity only) */
    sc = client("ipsec-3gpp;alg=hmac-md5-96;spi-c=300;spi-s=301;port-c=1;port-s=2");
    ck_assert_int_eq(pcscf_secagree_choose(sc, &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.alg, PCSCF_IPSEC_HMAC_MD5_96);
    ck_assert_int_eq(o.ealg, PCSCF_IPSEC_ENC_NULL);
}
END_TEST

START_TEST(refuse_what_cannot_be_done)
{
    struct pcscf_sec_offer o;
    char why[160];
    ck_assert_int_eq(pcscf_secagree_choose(client("digest;d-alg=md5"), &o, why, sizeof(why)),
                     -ENOENT);
    ck_assert_int_eq(pcscf_secagree_choose(client("ipsec-3gpp;alg=hmac-sha-256;spi-c=300;"
                                                  "spi-s=301;port-c=1;port-s=2"),
                                           &o, why, sizeof(why)), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(why, "hmac-sha-1-96"));
    ck_assert_int_eq(pcscf_secagree_choose(client("ipsec-3gpp;alg=hmac-sha-1-96;ealg=des-ede3"
                                                  "-cbc;spi-c=300;spi-s=301;port-c=1;port-s=2"),
                                           &o, why, sizeof(why)), -ENOTSUP);
    ck_assert_int_eq(pcscf_secagree_choose(client("ipsec-3gpp;alg=hmac-sha-1-96;mod=tun;"
                                                  "spi-c=300;spi-s=301;port-c=1;port-s=2"),
                                           &o, why, sizeof(why)), -ENOTSUP);
    /* SPIs below 256 are reserved; a port out of range, one missing, SPIs equal */
    const char *bad[] = {
        "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=255;spi-s=301;port-c=1;port-s=2",
        "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=300;spi-s=301;port-c=65536;port-s=2",
        "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=300;spi-s=301;port-c=1",
        "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=300;spi-s=300;port-c=1;port-s=2",
        "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=3x0;spi-s=301;port-c=1;port-s=2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(pcscf_secagree_choose(client(bad[i]), &o, why, sizeof(why)), -EINVAL);
}
END_TEST

START_TEST(server_and_verify)
{
    struct pcscf_sec_offer o = { .alg = PCSCF_IPSEC_HMAC_SHA1_96, .ealg = PCSCF_IPSEC_AES_CBC };
    char server[256];
    ck_assert_int_eq(pcscf_secagree_server(&o, 9000, 9001, 5062, 5063, server, sizeof(server)),
                     0);
    ck_assert_str_eq(server, "ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=9000;"
                             "spi-s=9001;port-c=5062;port-s=5063;prot=esp;mod=trans");
    /* the UE repeats it, parameters in any order */
    sip_security_verify_t *sv = sip_security_verify_make(
        home, "ipsec-3gpp;alg=hmac-sha-1-96;q=0.1;ealg=aes-cbc;spi-s=9001;spi-c=9000;"
              "port-c=5062;port-s=5063;prot=esp;mod=trans");
    ck_assert(pcscf_secagree_verify_ok(sv, server));
    /* another SPI, a parameter dropped, one more mechanism, none */
    sv = sip_security_verify_make(home, "ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;"
                                        "spi-c=9000;spi-s=9002;port-c=5062;port-s=5063;"
                                        "prot=esp;mod=trans");
    ck_assert(!pcscf_secagree_verify_ok(sv, server));
    sv = sip_security_verify_make(home, "ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;spi-c=9000;"
                                        "spi-s=9001;port-c=5062;port-s=5063;prot=esp;"
                                        "mod=trans");
    ck_assert(!pcscf_secagree_verify_ok(sv, server));
    char two[600];
    snprintf(two, sizeof(two), "%s, digest", server);
    sv = sip_security_verify_make(home, two);
    ck_assert(!pcscf_secagree_verify_ok(sv, server));
    ck_assert(!pcscf_secagree_verify_ok(NULL, server));
}
END_TEST

static msg_t *request(const char *text)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, text, strlen(text));
    ck_assert_ptr_nonnull(msg);
    return msg;
}

START_TEST(asked_and_stripped)
{
    msg_t *msg = request("REGISTER sip:ims.example.org SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.160:5160;branch=z9hG4bK1\r\n"
                         "From: <sip:alice@ims.example.org>;tag=1\r\n"
                         "To: <sip:alice@ims.example.org>\r\n"
                         "Call-ID: c1\r\nCSeq: 1 REGISTER\r\n"
                         "Require: sec-agree, path\r\nProxy-Require: sec-agree\r\n"
                         "Supported: sec-agree\r\n"
                         "Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=300;spi-s=301;"
                         "port-c=5161;port-s=5160\r\n"
                         "Content-Length: 0\r\n\r\n");
    sip_t *sip = sip_object(msg);
    ck_assert_int_eq(pcscf_secagree_asked(sip), 2);
    pcscf_secagree_strip(msg, sip);
    ck_assert_ptr_null(sip->sip_security_client);
    ck_assert_ptr_null(sip->sip_proxy_require);
    ck_assert_ptr_nonnull(sip->sip_require);
    ck_assert(!sip_has_feature(sip->sip_require, "sec-agree"));
    ck_assert(sip_has_feature(sip->sip_require, "path"));
    ck_assert_int_eq(pcscf_secagree_asked(sip), 1);   /* Supported stays: RFC 3329 2.3.1 */
    msg_destroy(msg);
    msg = request("REGISTER sip:ims.example.org SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 127.0.0.160:5160;branch=z9hG4bK1\r\n"
                  "From: <sip:alice@ims.example.org>;tag=1\r\nTo: <sip:alice@ims.example.org>\r\n"
                  "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
    ck_assert_int_eq(pcscf_secagree_asked(sip_object(msg)), 0);
    msg_destroy(msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secagree");
    TCase *tc = tcase_create("secagree");
    tcase_add_test(tc, choose_best_offer);
    tcase_add_test(tc, refuse_what_cannot_be_done);
    tcase_add_test(tc, server_and_verify);
    tcase_add_test(tc, asked_and_stripped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_home_deinit(home);
    return failed ? 1 : 0;
}
