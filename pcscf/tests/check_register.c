/*
 * check_register.c - the pure parts of REGISTER handling and request classification:
 * ck/ik removal from WWW-Authenticate (pcscf/register.c), emergency URNs (originating.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "pcscf.h"

static const char challenge[] =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bK1\r\n"
    "From: <sip:alice@ims.example.org>;tag=1\r\n"
    "To: <sip:alice@ims.example.org>;tag=2\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "WWW-Authenticate: Digest realm=\"ims.example.org\", nonce=\"MTIzNDU2Nzg5MDEy\", "
    "algorithm=AKAv1-MD5, qop=\"auth\", ck=\"00112233445566778899aabbccddeeff\", "
    "ik=\"ffeeddccbbaa99887766554433221100\"\r\n"
    "WWW-Authenticate: Digest realm=\"other.org\", nonce=\"abc\", ik=\"0102\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* The message as it would go on the wire */
static char *wire(msg_t *msg)
{
    size_t len = 0;
    msg_serialize(msg, (msg_pub_t *)sip_object(msg));
    char *s = msg_as_string(msg_home(msg), msg, NULL, 0, &len);
    return s;
}

START_TEST(strip_ck_ik)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, challenge, (ssize_t)strlen(challenge));
    ck_assert_ptr_nonnull(msg);
    sip_t *sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip->sip_www_authenticate);
    ck_assert_int_eq(pcscf_auth_strip_keys(msg, sip), 3);
    char *text = wire(msg);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strstr(text, "ck="));
    ck_assert_ptr_null(strstr(text, "ik="));
    ck_assert_ptr_nonnull(strstr(text, "nonce=\"MTIzNDU2Nzg5MDEy\""));
    ck_assert_ptr_nonnull(strstr(text, "algorithm=AKAv1-MD5"));
    ck_assert_ptr_nonnull(strstr(text, "qop=\"auth\""));
    ck_assert_ptr_nonnull(strstr(text, "realm=\"other.org\""));
    /* a second pass finds nothing */
    ck_assert_int_eq(pcscf_auth_strip_keys(msg, sip), 0);
    msg_destroy(msg);
}
END_TEST

START_TEST(nothing_to_strip)
{
    static const char ok[] =
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK2\r\n"
        "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c2\r\nCSeq: 1 REGISTER\r\n"
        "WWW-Authenticate: Digest realm=\"b\", nonce=\"n\", algorithm=MD5\r\n"
        "Content-Length: 0\r\n\r\n";
    msg_t *msg = msg_make(sip_default_mclass(), 0, ok, (ssize_t)strlen(ok));
    ck_assert_int_eq(pcscf_auth_strip_keys(msg, sip_object(msg)), 0);
    msg_destroy(msg);
}
END_TEST

START_TEST(emergency_urn)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    ck_assert(pcscf_is_emergency(url_make(home, "urn:service:sos")));
    ck_assert(pcscf_is_emergency(url_make(home, "urn:service:sos.police")));
    ck_assert(pcscf_is_emergency(url_make(home, "URN:Service:SOS.fire")));
    ck_assert(!pcscf_is_emergency(url_make(home, "urn:service:sosx")));
    ck_assert(!pcscf_is_emergency(url_make(home, "urn:service:counseling")));
    ck_assert(!pcscf_is_emergency(url_make(home, "sip:sos@ims.example.org")));
    ck_assert(!pcscf_is_emergency(NULL));
    su_home_deinit(home);
}
END_TEST

int main(void)
{
    sip_update_default_mclass(sip_extend_mclass(NULL));
    Suite *s = suite_create("pcscf_register");
    TCase *tc = tcase_create("register");
    tcase_add_test(tc, strip_ck_ik);
    tcase_add_test(tc, nothing_to_strip);
    tcase_add_test(tc, emergency_urn);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
