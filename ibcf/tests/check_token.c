/*
 * check_token.c - the IBCF's route tokens (ibcf/token.c): they open only under the key, for
 * the peer and (a dialog's) the Call-ID they were made for, and any change is refused
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ibcf.h"

static const uint8_t key[IBCF_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                           16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                                           28, 29, 30, 31, 32 };
static const char *const plain = "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;ue=ab12>";

static void seal(int kind, const char *peer, const char *cid, const char *text, char *out,
                 size_t len)
{
    int n = ibcf_token_seal(key, kind, peer, cid, text, out, len);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(n, (int)strlen(out));
}

START_TEST(test_round_trip)
{
    char tok[1024], out[1024];
    seal(IBCF_TOKEN_DIALOG, "mnc002", "call-1@x", plain, tok, sizeof(tok));
    ck_assert_int_eq(tok[0], 'D');
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", "call-1@x", out, sizeof(out)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(out, plain);

    seal(IBCF_TOKEN_REGISTRATION, "mnc002", NULL, plain, tok, sizeof(tok));
    ck_assert_int_eq(tok[0], 'R');
    /* a registration's token is not bound to a dialog: any Call-ID opens it */
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", "another-call", out, sizeof(out)),
                     IBCF_TOKEN_REGISTRATION);
    ck_assert_str_eq(out, plain);

    /* nothing hidden: still a token (it vouches for the route) */
    seal(IBCF_TOKEN_DIALOG, "mnc002", "c", "", tok, sizeof(tok));
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", "c", out, sizeof(out)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_characters_and_size)
{
    char tok[1024], again[1024];
    seal(IBCF_TOKEN_DIALOG, "p", "c", plain, tok, sizeof(tok));
    /* base64url only: fits a URI user part and a parameter value */
    ck_assert_uint_eq(strspn(tok + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"), strlen(tok) - 1);
    ck_assert_uint_le(strlen(tok) + 1, ibcf_token_size(strlen(plain)));
    /* a fresh nonce each time: the same entries never give the same token */
    seal(IBCF_TOKEN_DIALOG, "p", "c", plain, again, sizeof(again));
    ck_assert_str_ne(tok, again);
    /* too small an output */
    ck_assert_int_eq(ibcf_token_seal(key, IBCF_TOKEN_DIALOG, "p", "c", plain, tok, 20), -ENOSPC);
    char out[8];
    seal(IBCF_TOKEN_DIALOG, "p", "c", plain, tok, sizeof(tok));
    ck_assert_int_eq(ibcf_token_open(key, tok, "p", "c", out, sizeof(out)), -ENOSPC);
}
END_TEST

START_TEST(test_refused)
{
    char tok[1024], out[1024], bad[1024];
    seal(IBCF_TOKEN_DIALOG, "mnc002", "call-1@x", plain, tok, sizeof(tok));
    /* another peer network, another dialog */
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc003", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", "call-2@x", out, sizeof(out)),
                     -EINVAL);
    /* another key */
    uint8_t other[IBCF_KEY_LEN];
    memcpy(other, key, sizeof(other));
    other[5] ^= 0x40;
    ck_assert_int_eq(ibcf_token_open(other, tok, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    /* each character changed in turn */
    for (size_t i = 1; i < strlen(tok); i++) {
        snprintf(bad, sizeof(bad), "%s", tok);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                         -EINVAL);
    }
    /* the kind letter changed: a dialog token is no registration token */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[0] = IBCF_TOKEN_REGISTRATION;
    ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    bad[0] = 'X';
    ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    /* cut short, extended, not base64url, empty */
    snprintf(bad, sizeof(bad), "%.*s", (int)strlen(tok) - 3, tok);
    ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    snprintf(bad, sizeof(bad), "%sAA", tok);
    ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    snprintf(bad, sizeof(bad), "D%s+/=", tok + 1);
    ck_assert_int_eq(ibcf_token_open(key, bad, "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    ck_assert_int_eq(ibcf_token_open(key, "D", "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    ck_assert_int_eq(ibcf_token_open(key, "", "mnc002", "call-1@x", out, sizeof(out)),
                     -EINVAL);
    ck_assert_int_eq(ibcf_token_open(key, "DAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                     "mnc002", "call-1@x", out, sizeof(out)), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ibcf_token");
    TCase *tc = tcase_create("token");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_characters_and_size);
    tcase_add_test(tc, test_refused);
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
