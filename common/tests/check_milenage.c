/*
 * check_milenage.c - MILENAGE against the TS 35.208 conformance sets, AKA vectors, AUTS,
 * Digest MD5 (RFC 2617 example), the AKAv2 password and base64
 *
 * The vectors are read from tests/data/milenage-ts35208.json (IMS_TESTDATA overrides the
 * folder).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "digest.h"
#include "milenage.h"

static json_t *sets;

static void load_vectors(void)
{
    const char *dir = getenv("IMS_TESTDATA") ? getenv("IMS_TESTDATA") : "tests/data";
    char path[512];
    snprintf(path, sizeof(path), "%s/milenage-ts35208.json", dir);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    ck_assert_msg(doc != NULL, "cannot read %s: %s", path, err.text);
    sets = json_incref(json_object_get(doc, "sets"));
    json_decref(doc);
    ck_assert(json_array_size(sets) >= 3);
}

static void hex(json_t *set, const char *key, uint8_t *out, size_t len)
{
    const char *s = json_string_value(json_object_get(set, key));
    ck_assert_msg(s != NULL, "vector field %s missing", key);
    ck_assert_int_eq(ims_hex_decode(s, out, len), 0);
}

START_TEST(opc_from_op)
{
    load_vectors();
    json_t *set = json_array_get(sets, (size_t)_i);
    uint8_t k[16], op[16], opc_expect[16], opc[16];
    hex(set, "K", k, 16);
    hex(set, "OP", op, 16);
    hex(set, "OPc", opc_expect, 16);
    ck_assert_int_eq(ims_milenage_opc(k, op, opc), 0);
    ck_assert_mem_eq(opc, opc_expect, 16);
}
END_TEST

START_TEST(functions_f1_to_f5star)
{
    load_vectors();
    json_t *set = json_array_get(sets, (size_t)_i);
    uint8_t k[16], opc[16], rand[16], sqn[6], amf[2];
    uint8_t mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6], ak_s[6];
    uint8_t e_mac_a[8], e_mac_s[8], e_res[8], e_ck[16], e_ik[16], e_ak[6], e_ak_s[6];
    hex(set, "K", k, 16);
    hex(set, "OPc", opc, 16);
    hex(set, "RAND", rand, 16);
    hex(set, "SQN", sqn, 6);
    hex(set, "AMF", amf, 2);
    hex(set, "f1_MAC_A", e_mac_a, 8);
    hex(set, "f1star_MAC_S", e_mac_s, 8);
    hex(set, "f2_RES", e_res, 8);
    hex(set, "f3_CK", e_ck, 16);
    hex(set, "f4_IK", e_ik, 16);
    hex(set, "f5_AK", e_ak, 6);
    hex(set, "f5star_AK_S", e_ak_s, 6);
    ck_assert_int_eq(ims_milenage_f1(k, opc, rand, sqn, amf, mac_a, mac_s), 0);
    ck_assert_mem_eq(mac_a, e_mac_a, 8);
    ck_assert_mem_eq(mac_s, e_mac_s, 8);
    ck_assert_int_eq(ims_milenage_f2345(k, opc, rand, res, ck, ik, ak, ak_s), 0);
    ck_assert_mem_eq(res, e_res, 8);
    ck_assert_mem_eq(ck, e_ck, 16);
    ck_assert_mem_eq(ik, e_ik, 16);
    ck_assert_mem_eq(ak, e_ak, 6);
    ck_assert_mem_eq(ak_s, e_ak_s, 6);
}
END_TEST

START_TEST(vector_autn_layout_and_ue_check)
{
    load_vectors();
    json_t *set = json_array_get(sets, (size_t)_i);
    uint8_t k[16], opc[16], rand[16], sqn[6], amf[2], e_ak[6], e_mac_a[8], e_res[8];
    hex(set, "K", k, 16);
    hex(set, "OPc", opc, 16);
    hex(set, "RAND", rand, 16);
    hex(set, "SQN", sqn, 6);
    hex(set, "AMF", amf, 2);
    hex(set, "f5_AK", e_ak, 6);
    hex(set, "f1_MAC_A", e_mac_a, 8);
    hex(set, "f2_RES", e_res, 8);
    struct ims_aka_vector v;
    ck_assert_int_eq(ims_aka_vector(k, opc, amf, ims_sqn_from_bytes(sqn), rand, &v), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(v.autn[i], sqn[i] ^ e_ak[i]);
    ck_assert_mem_eq(v.autn + 6, amf, 2);
    ck_assert_mem_eq(v.autn + 8, e_mac_a, 8);
    ck_assert_mem_eq(v.xres, e_res, 8);

    uint64_t got_sqn = 0;
    uint8_t res[8], ck[16], ik[16];
    ck_assert_int_eq(ims_aka_ue_check(k, opc, rand, v.autn, &got_sqn, res, ck, ik), 0);
    ck_assert_uint_eq(got_sqn, ims_sqn_from_bytes(sqn));
    ck_assert_mem_eq(res, v.xres, 8);
    v.autn[15] ^= 1;    /* a network the UE must not trust */
    ck_assert_int_eq(ims_aka_ue_check(k, opc, rand, v.autn, &got_sqn, res, ck, ik), -EBADMSG);
}
END_TEST

START_TEST(auts_round_trip_and_tamper)
{
    load_vectors();
    json_t *set = json_array_get(sets, (size_t)_i);
    uint8_t k[16], opc[16], rand[16], auts[14];
    hex(set, "K", k, 16);
    hex(set, "OPc", opc, 16);
    hex(set, "RAND", rand, 16);
    uint64_t sqn_ms = 0x0000000012e0ULL + (uint64_t)_i, back = 0;
    ck_assert_int_eq(ims_aka_auts_make(k, opc, rand, sqn_ms, auts), 0);
    ck_assert_int_eq(ims_aka_auts_verify(k, opc, rand, auts, &back), 0);
    ck_assert_uint_eq(back, sqn_ms);
    /* a flipped bit in the concealed SQN changes the SQN MAC-S is computed over */
    auts[2] ^= 0x10;
    ck_assert_int_eq(ims_aka_auts_verify(k, opc, rand, auts, &back), -EBADMSG);
    auts[2] ^= 0x10;
    auts[13] ^= 0x01;
    ck_assert_int_eq(ims_aka_auts_verify(k, opc, rand, auts, &back), -EBADMSG);
    /* another RAND than the one challenged */
    auts[13] ^= 0x01;
    rand[0] ^= 0xff;
    ck_assert_int_eq(ims_aka_auts_verify(k, opc, rand, auts, &back), -EBADMSG);
}
END_TEST

START_TEST(auts_hides_sqn_with_ak_star)
{
    load_vectors();
    json_t *set = json_array_get(sets, 0);
    uint8_t k[16], opc[16], rand[16], sqn[6], ak_s[6], auts[14];
    hex(set, "K", k, 16);
    hex(set, "OPc", opc, 16);
    hex(set, "RAND", rand, 16);
    hex(set, "SQN", sqn, 6);
    hex(set, "f5star_AK_S", ak_s, 6);
    ck_assert_int_eq(ims_aka_auts_make(k, opc, rand, ims_sqn_from_bytes(sqn), auts), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(auts[i], sqn[i] ^ ak_s[i]);
}
END_TEST

START_TEST(digest_rfc2617_example)
{
    char ha1[IMS_MD5_HEX], resp[IMS_MD5_HEX];
    const char *pw = "Circle Of Life";
    ims_digest_ha1("Mufasa", "testrealm@host.com", (const uint8_t *)pw, strlen(pw), ha1);
    ims_digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b",
                        "auth", "GET", "/dir/index.html", NULL, 0, resp);
    ck_assert_str_eq(resp, "6629fae49393a05397450978507c4ef1");
    ck_assert(ims_digest_equal(resp, "6629FAE49393A05397450978507C4EF1"));
    ck_assert(!ims_digest_equal(resp, "6629fae49393a05397450978507c4ef0"));
    ck_assert(!ims_digest_equal(resp, ""));
    ims_digest_response(ha1, "n", "00000001", "c", "auth-int", "REGISTER", "sip:ims.example",
                        (const uint8_t *)"body", 4, resp);
    ck_assert_str_eq(resp, "f399a11697cdb87a3548f23a44238047");
}
END_TEST

START_TEST(aka_passwords)
{
    uint8_t res[8], ik[16], ck[16];
    ck_assert_int_eq(ims_hex_decode("a54211d5e3ba50bf", res, 8), 0);
    ck_assert_int_eq(ims_hex_decode("f769bcd751044604127672711c6d3441", ik, 16), 0);
    ck_assert_int_eq(ims_hex_decode("b40ba9a3c58b2a05bbf0d987b21bf8cb", ck, 16), 0);
    /* AKAv1: RES itself is the password (binary) */
    char ha1[IMS_MD5_HEX];
    ims_digest_ha1("alice@ims.mnc001.mcc001.3gppnetwork.org", "ims.mnc001.mcc001.3gppnetwork.org",
                   res, 8, ha1);
    ck_assert_str_eq(ha1, "ac373349d1bc8533c8fd95cda07d251b");
    /* AKAv2: base64 of HMAC-MD5 over RES|IK|CK (value computed independently) */
    char pw[64];
    ck_assert_int_eq(ims_aka_v2_password(res, 8, ik, ck, pw, sizeof(pw)), 0);
    ck_assert_str_eq(pw, "shzt3q8CWaZnCAWqs3WmEQ==");
}
END_TEST

START_TEST(base64_round_trip)
{
    static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==" };
    static const char *const dec[] = { "", "f", "fo", "foo", "foob" };
    for (int i = 0; i < 5; i++) {
        char out[16];
        uint8_t back[16];
        ck_assert_int_eq(ims_base64_encode((const uint8_t *)dec[i], strlen(dec[i]), out,
                                           sizeof(out)),
                         (int)strlen(enc[i]));
        ck_assert_str_eq(out, enc[i]);
        int n = ims_base64_decode(enc[i], back, sizeof(back));
        ck_assert_int_eq(n, (int)strlen(dec[i]));
        ck_assert_mem_eq(back, dec[i], (size_t)n);
    }
    uint8_t b[16];
    ck_assert_int_lt(ims_base64_decode("abc", b, sizeof(b)), 0);      /* not a multiple of 4 */
    ck_assert_int_lt(ims_base64_decode("ab!=", b, sizeof(b)), 0);     /* bad character */
    char small[4];
    ck_assert_int_eq(ims_base64_encode((const uint8_t *)"foo", 3, small, sizeof(small)),
                     -ENOSPC);
    ck_assert_int_eq(ims_hex_decode("zz", b, 1), -EINVAL);
    ck_assert_int_eq(ims_hex_decode("abc", b, 1), -EINVAL);
}
END_TEST

static Suite *milenage_suite(void)
{
    Suite *s = suite_create("milenage");
    TCase *tc = tcase_create("ts35208");
    tcase_add_loop_test(tc, opc_from_op, 0, 3);
    tcase_add_loop_test(tc, functions_f1_to_f5star, 0, 3);
    tcase_add_loop_test(tc, vector_autn_layout_and_ue_check, 0, 3);
    tcase_add_loop_test(tc, auts_round_trip_and_tamper, 0, 3);
    tcase_add_test(tc, auts_hides_sqn_with_ak_star);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("digest");
    tcase_add_test(td, digest_rfc2617_example);
    tcase_add_test(td, aka_passwords);
    tcase_add_test(td, base64_round_trip);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(milenage_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
