/*
 * check_ipsec.c - the netlink XFRM messages of pcscf/ipsec.c, byte for byte against what
 * iproute2 sends for the same SA and policy (captured with strace -e sendmsg -xx of
 * `ip xfrm ...` on this machine, where the kernel then refuses ESP but the message is the
 * same), and the keys of TS 33.203 Annex I
 *
 * The captures (the payload after the 16-byte netlink header; every request is
 * NLM_F_REQUEST|NLM_F_ACK), with IK = 0102..0f10, CK = 0001..0e0f:
 *   SA_SHA1_AES  ip xfrm state add src 127.0.0.160 dst 127.0.0.10 proto esp spi 0x2001
 *                reqid 9 mode transport auth-trunc 'hmac(sha1)' IK||00000000 96
 *                enc 'cbc(aes)' CK sel src 127.0.0.160/32 dst 127.0.0.10/32 sport 5160
 *                dport 5063
 *   SA_EXPIRES   the same with limit time-hard 630
 *   SA_MD5_NULL  ip xfrm state add src 127.0.0.10 dst 127.0.0.160 proto esp spi 0x3001
 *                reqid 10 mode transport auth-trunc 'hmac(md5)' IK 96
 *                enc 'ecb(cipher_null)' "" sel src 127.0.0.10/32 dst 127.0.0.160/32
 *                sport 5062 dport 5161
 *   SA_DEL       ip xfrm state delete src 127.0.0.160 dst 127.0.0.10 proto esp spi 0x2001
 *   POL_IN       ip xfrm policy add src 127.0.0.160/32 dst 127.0.0.10/32 sport 5160
 *                dport 5063 dir in tmpl src 127.0.0.160 dst 127.0.0.10 proto esp reqid 9
 *                mode transport
 *   POL_OUT      the same for the SA_MD5_NULL selector, dir out, reqid 10
 *   POL_DEL      ip xfrm policy delete src 127.0.0.10/32 dst 127.0.0.160/32 sport 5062
 *                dport 5161 dir out
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "pcscf.h"

static const char SA_SHA1_AES[] =
    "7f00000a0000000000000000000000007f0000a0000000000000000000000000"
    "13c7ffff1428ffff020020200000000000000000000000007f00000a00000000"
    "000000000000000000002001320000007f0000a0000000000000000000000000"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000009000000020000000000000000000000"
    "60001400686d6163287368613129000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "00000000a0000000600000000102030405060708090a0b0c0d0e0f1000000000"
    "5800020063626328616573290000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000080000000000102030405060708090a0b0c0d0e0f";

static const char SA_MD5_NULL[] =
    "7f0000a00000000000000000000000007f00000a000000000000000000000000"
    "1429ffff13c6ffff020020200000000000000000000000007f0000a000000000"
    "000000000000000000003001320000007f00000a000000000000000000000000"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000a000000020000000000000000000000"
    "5c001400686d6163286d64352900000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000080000000600000000102030405060708090a0b0c0d0e0f1048000200"
    "656362286369706865725f6e756c6c2900000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "00000000";

static const char SA_EXPIRES[] =
    "7f00000a0000000000000000000000007f0000a0000000000000000000000000"
    "13c7ffff1428ffff020020200000000000000000000000007f00000a00000000"
    "000000000000000000002001320000007f0000a0000000000000000000000000"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "0000000000000000760200000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000009000000020000000000000000000000"
    "60001400686d6163287368613129000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "00000000a0000000600000000102030405060708090a0b0c0d0e0f1000000000"
    "5800020063626328616573290000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000080000000000102030405060708090a0b0c0d0e0f";

static const char SA_DEL[] =
    "7f00000a000000000000000000000000000020010200320014000d007f0000a0"
    "000000000000000000000000";

static const char POL_IN[] =
    "7f00000a0000000000000000000000007f0000a0000000000000000000000000"
    "13c7ffff1428ffff02002020000000000000000000000000ffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffff0000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000440005007f00000a00000000000000000000000000000000"
    "32000000020000007f0000a00000000000000000000000000900000000000000"
    "ffffffffffffffffffffffff";

static const char POL_OUT[] =
    "7f0000a00000000000000000000000007f00000a000000000000000000000000"
    "1429ffff13c6ffff02002020000000000000000000000000ffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffff0000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0100000000000000440005007f0000a000000000000000000000000000000000"
    "32000000020000007f00000a0000000000000000000000000a00000000000000"
    "ffffffffffffffffffffffff";

static const char POL_DEL[] =
    "7f0000a00000000000000000000000007f00000a000000000000000000000000"
    "1429ffff13c6ffff020020200000000000000000000000000000000001000000";

static const uint8_t IK[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t CK[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* The SA of SA_SHA1_AES: UE 127.0.0.160:5160 to the P-CSCF's protected server port 5063 */
static struct pcscf_xfrm_sa inbound(void)
{
    struct pcscf_xfrm_sa sa = { .family = AF_INET, .sport = 5160, .dport = 5063,
                                .spi = 0x2001, .reqid = 9, .auth = PCSCF_IPSEC_HMAC_SHA1_96,
                                .enc = PCSCF_IPSEC_AES_CBC };
    inet_pton(AF_INET, "127.0.0.160", sa.src);
    inet_pton(AF_INET, "127.0.0.10", sa.dst);
    pcscf_ipsec_keys(&sa, CK, IK);
    return sa;
}

/* The SA of SA_MD5_NULL: the P-CSCF's protected client port 5062 to the UE's server port */
static struct pcscf_xfrm_sa outbound(void)
{
    struct pcscf_xfrm_sa sa = { .family = AF_INET, .sport = 5062, .dport = 5161,
                                .spi = 0x3001, .reqid = 10, .auth = PCSCF_IPSEC_HMAC_MD5_96,
                                .enc = PCSCF_IPSEC_ENC_NULL };
    inet_pton(AF_INET, "127.0.0.10", sa.src);
    inet_pton(AF_INET, "127.0.0.160", sa.dst);
    pcscf_ipsec_keys(&sa, CK, IK);
    return sa;
}

/* @msg (of @n bytes) is a request of @type with @seq whose payload is @hex */
static void expect(const uint8_t *msg, size_t n, uint16_t type, uint32_t seq, const char *hex)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)msg;
    ck_assert_uint_eq(n, 16 + strlen(hex) / 2);
    ck_assert_uint_eq(nlh->nlmsg_len, n);
    ck_assert_uint_eq(nlh->nlmsg_type, type);
    ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    ck_assert_uint_eq(nlh->nlmsg_seq, seq);
    ck_assert_uint_eq(nlh->nlmsg_pid, 0);
    char got[2048];
    for (size_t i = 16; i < n; i++)
        snprintf(got + 2 * (i - 16), 3, "%02x", msg[i]);
    ck_assert_str_eq(got, hex);
}

START_TEST(keys_of_annex_i)
{
    struct pcscf_xfrm_sa a = inbound(), b = outbound();
    ck_assert_uint_eq(a.ik_len, 20);           /* HMAC-SHA-1-96: IK || 32 zero bits */
    ck_assert_mem_eq(a.ik, IK, 16);
    ck_assert_uint_eq(a.ik[16] | a.ik[17] | a.ik[18] | a.ik[19], 0);
    ck_assert_uint_eq(a.ck_len, 16);           /* AES-CBC: CK */
    ck_assert_mem_eq(a.ck, CK, 16);
    ck_assert_uint_eq(b.ik_len, 16);           /* HMAC-MD5-96: IK */
    ck_assert_uint_eq(b.ck_len, 0);            /* NULL encryption: no key */
}
END_TEST

START_TEST(newsa_as_iproute2)
{
    uint8_t buf[1024];
    struct pcscf_xfrm_sa a = inbound(), b = outbound();
    expect(buf, pcscf_xfrm_newsa(buf, sizeof(buf), &a, 77), XFRM_MSG_NEWSA, 77, SA_SHA1_AES);
    expect(buf, pcscf_xfrm_newsa(buf, sizeof(buf), &b, 78), XFRM_MSG_NEWSA, 78, SA_MD5_NULL);
    a.expires = 630;
    expect(buf, pcscf_xfrm_newsa(buf, sizeof(buf), &a, 79), XFRM_MSG_NEWSA, 79, SA_EXPIRES);
}
END_TEST

START_TEST(delsa_and_policies_as_iproute2)
{
    uint8_t buf[1024];
    struct pcscf_xfrm_sa a = inbound(), b = outbound();
    expect(buf, pcscf_xfrm_delsa(buf, sizeof(buf), &a, 1), XFRM_MSG_DELSA, 1, SA_DEL);
    expect(buf, pcscf_xfrm_newpolicy(buf, sizeof(buf), &a, true, 2), XFRM_MSG_NEWPOLICY, 2,
           POL_IN);
    expect(buf, pcscf_xfrm_newpolicy(buf, sizeof(buf), &b, false, 3), XFRM_MSG_NEWPOLICY, 3,
           POL_OUT);
    expect(buf, pcscf_xfrm_delpolicy(buf, sizeof(buf), &b, false, 4), XFRM_MSG_DELPOLICY, 4,
           POL_DEL);
}
END_TEST

START_TEST(invalid_sa_or_buffer_builds_nothing)
{
    uint8_t buf[1024];
    struct pcscf_xfrm_sa a = inbound();
    ck_assert_uint_eq(pcscf_xfrm_newsa(buf, 100, &a, 1), 0);
    a.spi = 255;                       /* SPIs below 256 are reserved (RFC 4303) */
    ck_assert_uint_eq(pcscf_xfrm_newsa(buf, sizeof(buf), &a, 1), 0);
    a = inbound();
    a.family = AF_UNIX;
    ck_assert_uint_eq(pcscf_xfrm_newpolicy(buf, sizeof(buf), &a, true, 1), 0);
}
END_TEST

/* Whatever this kernel can do, opening says so in words and never crashes */
START_TEST(open_reports_state)
{
    struct pcscf_ipsec *x = NULL;
    int rc = pcscf_ipsec_open(&x);
    ck_assert_ptr_nonnull(x);
    const char *st = pcscf_ipsec_state(x);
    if (rc == 0)
        ck_assert_str_eq(st, "available");
    else
        ck_assert(strncmp(st, "unavailable (", 13) == 0);
    ck_assert(pcscf_ipsec_available(x) == (rc == 0));
    pcscf_ipsec_close(x);
    ck_assert_str_eq(pcscf_ipsec_state(NULL), "off");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ipsec");
    TCase *tc = tcase_create("xfrm");
    tcase_add_test(tc, keys_of_annex_i);
    tcase_add_test(tc, newsa_as_iproute2);
    tcase_add_test(tc, delsa_and_policies_as_iproute2);
    tcase_add_test(tc, invalid_sa_or_buffer_builds_nothing);
    tcase_add_test(tc, open_reports_state);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
