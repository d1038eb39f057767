/*
 * check_auth.c - the expected answers to the S-CSCF's challenges (scscf/auth.c) and the
 * identities of a profile (scscf/profile.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "milenage.h"
#include "scscf.h"

START_TEST(digest_answer_uses_the_hss_ha1)
{
    struct scscf_vector v = { .scheme = SCSCF_DIGEST };
    const char *pw = "Circle Of Life";
    ims_digest_ha1("Mufasa", "testrealm@host.com", (const uint8_t *)pw, strlen(pw), v.ha1);
    char out[33];
    scscf_auth_expected(&v, "Mufasa", "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                        "00000001", "0a4f113b", "auth", "GET", "/dir/index.html", out);
    ck_assert_str_eq(out, "6629fae49393a05397450978507c4ef1");   /* RFC 2617 3.5 */
}
END_TEST

START_TEST(aka_answers)
{
    /* TS 35.208 set 1: RES a54211d5e3ba50bf, CK/IK of the set */
    struct scscf_vector v = { .scheme = SCSCF_AKAV1, .xres_len = 8 };
    ck_assert_int_eq(ims_hex_decode("a54211d5e3ba50bf", v.xres, 8), 0);
    ck_assert_int_eq(ims_hex_decode("b40ba9a3c58b2a05bbf0d987b21bf8cb", v.ck, 16), 0);
    ck_assert_int_eq(ims_hex_decode("f769bcd751044604127672711c6d3441", v.ik, 16), 0);
    char expected[33], ha1[33], direct[33];
    const char *user = "alice@ims.mnc001.mcc001.3gppnetwork.org";
    const char *realm = "ims.mnc001.mcc001.3gppnetwork.org";
    scscf_auth_expected(&v, user, realm, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", expected);
    /* RFC 3310: the password is RES itself */
    ims_digest_ha1(user, realm, v.xres, 8, ha1);
    ims_digest_response(ha1, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", NULL, 0, direct);
    ck_assert_str_eq(expected, direct);
    /* RFC 4169: AKAv2 uses the base64 HMAC-MD5 password, so the answer differs */
    v.scheme = SCSCF_AKAV2;
    char v2[33], pw[64];
    scscf_auth_expected(&v, user, realm, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", v2);
    ck_assert_str_ne(v2, expected);
    ck_assert_int_eq(ims_aka_v2_password(v.xres, 8, v.ik, v.ck, pw, sizeof(pw)), 0);
    ims_digest_ha1(user, realm, (const uint8_t *)pw, strlen(pw), ha1);
    ims_digest_response(ha1, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", NULL, 0, direct);
    ck_assert_str_eq(v2, direct);
}
END_TEST

START_TEST(profile_identities_and_barring)
{
    const char *xml =
        "<?xml version=\"1.0\"?><IMSSubscription><PrivateID>a@x</PrivateID>"
        "<ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity></PublicIdentity>"
        "<PublicIdentity><BarringIndication>1</BarringIndication><Identity>tel:+1</Identity>"
        "</PublicIdentity></ServiceProfile><ServiceProfile><PublicIdentity>"
        "<Identity>sip:a-work@x</Identity></PublicIdentity></ServiceProfile></IMSSubscription>";
    char ids[4][SCSCF_ID_MAX];
    bool barred[4];
    ck_assert_int_eq(scscf_profile_identities(xml, ids, barred, 4), 3);
    ck_assert_str_eq(ids[0], "sip:a@x");
    ck_assert(!barred[0]);
    ck_assert_str_eq(ids[1], "tel:+1");
    ck_assert(barred[1]);
    ck_assert_str_eq(ids[2], "sip:a-work@x");
    ck_assert_int_eq(scscf_profile_identities(xml, ids, barred, 2), 2);   /* bounded */
    ck_assert_int_lt(scscf_profile_identities("<broken", ids, barred, 4), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, digest_answer_uses_the_hss_ha1);
    tcase_add_test(tc, aka_answers);
    tcase_add_test(tc, profile_identities_and_barring);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
