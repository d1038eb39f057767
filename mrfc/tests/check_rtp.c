/*
 * check_rtp.c - RTP and RTCP packets, the receiver statistics of RFC 3550 appendix A and the
 * telephone events of RFC 4733 (mrfc/rtp.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"

START_TEST(rtp_round_trip)
{
    uint8_t payload[160], pkt[MRFC_RTP_MAX];
    for (int i = 0; i < 160; i++)
        payload[i] = (uint8_t)i;
    struct mrfc_rtp_hdr h = { .pt = 8, .marker = true, .seq = 65535, .ts = 0xfffffff0u,
                              .ssrc = 0xdeadbeef, .payload = payload, .len = 160 };
    size_t n = mrfc_rtp_build(pkt, sizeof(pkt), &h);
    ck_assert_uint_eq(n, 172);
    ck_assert_uint_eq(pkt[0], 0x80);
    ck_assert_uint_eq(pkt[1], 0x88);
    struct mrfc_rtp_hdr r;
    ck_assert_int_eq(mrfc_rtp_parse(pkt, n, &r), 0);
    ck_assert_uint_eq(r.pt, 8);
    ck_assert(r.marker);
    ck_assert_uint_eq(r.seq, 65535);
    ck_assert_uint_eq(r.ts, 0xfffffff0u);
    ck_assert_uint_eq(r.ssrc, 0xdeadbeef);
    ck_assert_uint_eq(r.len, 160);
    ck_assert_mem_eq(r.payload, payload, 160);
    /* too small a buffer */
    ck_assert_uint_eq(mrfc_rtp_build(pkt, 100, &h), 0);
}
END_TEST

START_TEST(rtp_csrc_extension_padding)
{
    uint8_t pkt[64] = { 0 };
    /* V=2, P=1, X=1, CC=2 */
    pkt[0] = 0x80 | 0x20 | 0x10 | 2;
    pkt[1] = 0;
    /* 2 CSRC (8 bytes) at 12, extension header at 20: 1 word of extension */
    pkt[22] = 0;
    pkt[23] = 1;
    /* payload at 28: 4 bytes, then 4 bytes of padding (last byte = 4) */
    memcpy(pkt + 28, "\x01\x02\x03\x04", 4);
    pkt[35] = 4;
    struct mrfc_rtp_hdr r;
    ck_assert_int_eq(mrfc_rtp_parse(pkt, 36, &r), 0);
    ck_assert_uint_eq(r.len, 4);
    ck_assert_mem_eq(r.payload, "\x01\x02\x03\x04", 4);
    /* padding count larger than the payload, extension beyond the end */
    pkt[35] = 40;
    ck_assert_int_eq(mrfc_rtp_parse(pkt, 36, &r), -EINVAL);
    pkt[35] = 4;
    ck_assert_int_eq(mrfc_rtp_parse(pkt, 25, &r), -EINVAL);
    /* version 1, and a runt */
    pkt[0] = 0x40;
    ck_assert_int_eq(mrfc_rtp_parse(pkt, 36, &r), -EINVAL);
    ck_assert_int_eq(mrfc_rtp_parse(pkt, 11, &r), -EINVAL);
}
END_TEST

START_TEST(rx_sequence_and_loss)
{
    struct mrfc_rtp_rx rx = { 0 };
    uint32_t ts = 1000, arrival = 50000;
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, 65530, ts, arrival), MRFC_SEQ_RESTART);
    /* across the wrap of the sequence number, with one packet lost (65534) */
    uint16_t seqs[] = { 65531, 65532, 65533, 65535, 0, 1 };
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        uint16_t d = (uint16_t)(seqs[i] - 65530);
        ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, seqs[i], ts + 160u * d, arrival + 160u * d),
                         MRFC_SEQ_OK);
    }
    ck_assert_uint_eq(mrfc_rtp_rx_ext_max(&rx), 65536 + 1);
    ck_assert_uint_eq(mrfc_rtp_rx_expected(&rx), 8);
    ck_assert_int_eq(mrfc_rtp_rx_lost(&rx), 1);
    /* the lost one arrives late: old, and it is no longer lost */
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, 65534, ts + 640, arrival + 2000), MRFC_SEQ_OLD);
    ck_assert_int_eq(mrfc_rtp_rx_lost(&rx), 0);
    /* a duplicate */
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, 1, ts, arrival), MRFC_SEQ_OLD);
    ck_assert_int_eq(mrfc_rtp_rx_lost(&rx), -1);
    /* a jump of 10000: dropped, until the next packet confirms it */
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, 10001, ts, arrival), MRFC_SEQ_BAD);
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 7, 10002, ts, arrival), MRFC_SEQ_RESTART);
    ck_assert_uint_eq(mrfc_rtp_rx_expected(&rx), 1);
    /* a new SSRC restarts */
    ck_assert_int_eq(mrfc_rtp_rx_update(&rx, 8, 5, ts, arrival), MRFC_SEQ_RESTART);
    ck_assert_uint_eq(rx.ssrc, 8);
}
END_TEST

START_TEST(rx_jitter)
{
    struct mrfc_rtp_rx rx = { 0 };
    /* constant transit time: no jitter */
    for (uint16_t i = 0; i < 50; i++)
        mrfc_rtp_rx_update(&rx, 1, i, 160u * i, 9000 + 160u * i);
    ck_assert(rx.jitter < 0.001);
    /* arrivals alternating 80 samples (10 ms) early and late: D = 160 each time, and the
     * estimate converges towards 160 */
    for (uint16_t i = 50; i < 400; i++)
        mrfc_rtp_rx_update(&rx, 1, i, 160u * i, 9000 + 160u * i + (i % 2 ? 80 : (uint32_t)-80));
    ck_assert(rx.jitter > 150 && rx.jitter < 161);
}
END_TEST

START_TEST(rtcp_report_round_trip)
{
    struct mrfc_rtp_tx tx = { .ssrc = 0x11111111, .packets = 50, .octets = 8000 };
    struct mrfc_rtp_rx rx = { 0 };
    for (uint16_t i = 0; i < 100; i++)
        if (i != 10 && i != 11)
            mrfc_rtp_rx_update(&rx, 0x22222222, i, 160u * i, 160u * i);
    rx.lsr = 0x12345678;
    rx.lsr_at_us = 1000000;
    uint8_t buf[256];
    size_t n = mrfc_rtcp_report(buf, sizeof(buf), &tx, &rx, "mrfc.example.org",
                                1700000000ull * 1000000, 1234, 1500000);
    ck_assert_uint_gt(n, 28 + 24);
    ck_assert_uint_eq(n % 4, 0);
    ck_assert_uint_eq(buf[1], MRFC_RTCP_SR);
    /* the peer reads its own report block in it */
    struct mrfc_rtcp_info info;
    ck_assert_int_eq(mrfc_rtcp_parse(buf, n, 0x22222222, &info), 0);
    ck_assert(info.sr);
    ck_assert_uint_eq(info.ssrc, 0x11111111);
    ck_assert(info.block);
    ck_assert_uint_eq(info.fraction_lost, (2 * 256) / 100);
    /* the next report's interval has no loss */
    n = mrfc_rtcp_report(buf, sizeof(buf), &tx, &rx, "x", 0, 0, 0);
    ck_assert_int_eq(mrfc_rtcp_parse(buf, n, 0x22222222, &info), 0);
    ck_assert_uint_eq(info.fraction_lost, 0);
    /* with nothing sent: an RR; a BYE appended */
    tx.packets = 0;
    n = mrfc_rtcp_report(buf, sizeof(buf), &tx, NULL, "x", 0, 0, 0);
    ck_assert_uint_eq(buf[1], MRFC_RTCP_RR);
    n = mrfc_rtcp_bye(buf, n, sizeof(buf), tx.ssrc);
    ck_assert_int_eq(mrfc_rtcp_parse(buf, n, 0, &info), 0);
    ck_assert(info.bye);
    ck_assert(!info.sr);
    /* broken: a length beyond the end, a first packet that is not a report */
    buf[3] = 200;
    ck_assert_int_eq(mrfc_rtcp_parse(buf, n, 0, &info), -EINVAL);
    buf[3] = 1;
    buf[1] = MRFC_RTCP_SDES;
    ck_assert_int_eq(mrfc_rtcp_parse(buf, n, 0, &info), -EINVAL);
    /* too small a buffer */
    ck_assert_uint_eq(mrfc_rtcp_report(buf, 20, &tx, NULL, "x", 0, 0, 0), 20);   /* RR + SDES */
    ck_assert_uint_eq(mrfc_rtcp_report(buf, 19, &tx, NULL, "x", 0, 0, 0), 0);
}
END_TEST

START_TEST(telephone_events)
{
    struct mrfc_te e = { .event = 11, .end = true, .volume = 10, .duration = 800 }, r;
    uint8_t p[4];
    mrfc_te_build(p, &e);
    ck_assert_uint_eq(p[0], 11);
    ck_assert_uint_eq(p[1], 0x8a);
    ck_assert_int_eq(mrfc_te_parse(p, 4, &r), 0);
    ck_assert_uint_eq(r.event, 11);
    ck_assert(r.end);
    ck_assert_uint_eq(r.volume, 10);
    ck_assert_uint_eq(r.duration, 800);
    ck_assert_int_eq(mrfc_te_parse(p, 3, &r), -EINVAL);
    ck_assert_int_eq(mrfc_te_digit(0), '0');
    ck_assert_int_eq(mrfc_te_digit(10), '*');
    ck_assert_int_eq(mrfc_te_digit(11), '#');
    ck_assert_int_eq(mrfc_te_digit(15), 'D');
    ck_assert_int_eq(mrfc_te_digit(16), 0);           /* flash: not a digit */
    ck_assert_int_eq(mrfc_te_event('#'), 11);
    ck_assert_int_eq(mrfc_te_event('b'), 13);
    ck_assert_int_eq(mrfc_te_event('x'), -1);
    ck_assert_int_eq(mrfc_te_event(0), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mrfc_rtp");
    TCase *tc = tcase_create("rtp");
    tcase_add_test(tc, rtp_round_trip);
    tcase_add_test(tc, rtp_csrc_extension_padding);
    tcase_add_test(tc, rx_sequence_and_loss);
    tcase_add_test(tc, rx_jitter);
    tcase_add_test(tc, rtcp_report_round_trip);
    tcase_add_test(tc, telephone_events);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
