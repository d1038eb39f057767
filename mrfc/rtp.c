/*
 * rtp.c - RTP and RTCP packets and receiver statistics (RFC 3550), telephone events
 * (RFC 4733)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "rtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000          /* a forward jump larger than this is a restart candidate */
#define MAX_MISORDER 100          /* packets this far behind are late, not a restart */
#define NTP_UNIX_OFFSET 2208988800ull   /* seconds from 1900 to 1970 */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int mrfc_rtp_parse(const uint8_t *buf, size_t len, struct mrfc_rtp_hdr *h)
{
    if (len < MRFC_RTP_HDR || (buf[0] >> 6) != 2)
        return -EINVAL;
    size_t off = MRFC_RTP_HDR + 4u * (buf[0] & 0x0f);
    if (off > len)
        return -EINVAL;
    if (buf[0] & 0x10) {                         /* header extension */
        if (off + 4 > len)
            return -EINVAL;
        off += 4 + 4u * get16(buf + off + 2);
        if (off > len)
            return -EINVAL;
    }
    size_t end = len;
    if (buf[0] & 0x20) {                         /* padding: its count is the last byte */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > end - off)
            return -EINVAL;
        end -= pad;
    }
    h->marker = (buf[1] & 0x80) != 0;
    h->pt = buf[1] & 0x7f;
    h->seq = get16(buf + 2);
    h->ts = get32(buf + 4);
    h->ssrc = get32(buf + 8);
    h->payload = buf + off;
    h->len = end - off;
    return 0;
}

size_t mrfc_rtp_build(uint8_t *buf, size_t cap, const struct mrfc_rtp_hdr *h)
{
    if (cap < MRFC_RTP_HDR || h->len > cap - MRFC_RTP_HDR)
        return 0;
    buf[0] = 0x80;
    buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
    put16(buf + 2, h->seq);
    put32(buf + 4, h->ts);
    put32(buf + 8, h->ssrc);
    if (h->len)
        memcpy(buf + MRFC_RTP_HDR, h->payload, h->len);
    return MRFC_RTP_HDR + h->len;
}

/* Start counting a source afresh at @seq (RFC 3550 A.1 init_seq) */
static void rx_restart(struct mrfc_rtp_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t ts,
                       uint32_t arrival)
{
    rx->started = true;
    rx->ssrc = ssrc;
    rx->base_seq = seq;
    rx->max_seq = seq;
    rx->bad_seq = SEQ_MOD + 1;
    rx->cycles = 0;
    rx->received = 1;
    rx->expected_prior = rx->received_prior = 0;
    rx->transit = arrival - ts;
    rx->jitter = 0;
}

/* Interarrival jitter (RFC 3550 A.8): a running mean of the transit time differences */
static void rx_jitter(struct mrfc_rtp_rx *rx, uint32_t ts, uint32_t arrival)
{
    uint32_t transit = arrival - ts;
    int32_t d = (int32_t)(transit - rx->transit);
    rx->transit = transit;
    rx->jitter += ((double)abs(d) - rx->jitter) / 16.0;
}

enum mrfc_rtp_seq mrfc_rtp_rx_update(struct mrfc_rtp_rx *rx, uint32_t ssrc, uint16_t seq,
                                     uint32_t ts, uint32_t arrival)
{
    if (!rx->started || ssrc != rx->ssrc) {
        rx_restart(rx, ssrc, seq, ts, arrival);
        return MRFC_SEQ_RESTART;
    }
    uint16_t delta = (uint16_t)(seq - rx->max_seq);
    if (delta == 0) {
        rx->received++;
        rx->duplicates_or_old++;
        return MRFC_SEQ_OLD;
    }
    if (delta < MAX_DROPOUT) {
        if (seq < rx->max_seq)
            rx->cycles += SEQ_MOD;               /* the sequence number wrapped */
        rx->max_seq = seq;
        rx->received++;
        rx_jitter(rx, ts, arrival);
        return MRFC_SEQ_OK;
    }
    if (delta <= SEQ_MOD - MAX_MISORDER) {
        /* a large jump: believed when the next packet follows it (the sender restarted) */
        if (seq == rx->bad_seq) {
            rx_restart(rx, ssrc, seq, ts, arrival);
            return MRFC_SEQ_RESTART;
        }
        rx->bad_seq = (uint32_t)(uint16_t)(seq + 1);
        return MRFC_SEQ_BAD;
    }
    rx->received++;
    rx->duplicates_or_old++;
    rx_jitter(rx, ts, arrival);
    return MRFC_SEQ_OLD;
}

uint32_t mrfc_rtp_rx_ext_max(const struct mrfc_rtp_rx *rx)
{
    return rx->cycles + rx->max_seq;
}

uint64_t mrfc_rtp_rx_expected(const struct mrfc_rtp_rx *rx)
{
    if (!rx->started)
        return 0;
    return (uint64_t)mrfc_rtp_rx_ext_max(rx) - rx->base_seq + 1;
}

int64_t mrfc_rtp_rx_lost(const struct mrfc_rtp_rx *rx)
{
    return (int64_t)mrfc_rtp_rx_expected(rx) - (int64_t)rx->received;
}

/* One report block on @rx (24 bytes at @p); updates the prior counts */
static void report_block(uint8_t *p, struct mrfc_rtp_rx *rx, uint64_t now_us)
{
    uint64_t expected = mrfc_rtp_rx_expected(rx);
    int64_t exp_int = (int64_t)(expected - rx->expected_prior);
    int64_t rcv_int = (int64_t)(rx->received - rx->received_prior);
    int64_t lost_int = exp_int - rcv_int;
    rx->expected_prior = expected;
    rx->received_prior = rx->received;
    uint8_t fraction = exp_int > 0 && lost_int > 0 ? (uint8_t)((lost_int << 8) / exp_int) : 0;
    int64_t lost = mrfc_rtp_rx_lost(rx);
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    put32(p, rx->ssrc);
    put32(p + 4, (uint32_t)fraction << 24 | ((uint32_t)lost & 0xffffff));
    put32(p + 8, mrfc_rtp_rx_ext_max(rx));
    put32(p + 12, (uint32_t)rx->jitter);
    put32(p + 16, rx->lsr);
    uint32_t dlsr = 0;
    if (rx->lsr && now_us > rx->lsr_at_us)
        dlsr = (uint32_t)((now_us - rx->lsr_at_us) * 65536 / 1000000);
    put32(p + 20, dlsr);
}

/* SDES with one CNAME item at @p (room checked by the caller); returns its length */
static size_t sdes_cname(uint8_t *p, uint32_t ssrc, const char *cname, size_t cname_len)
{
    size_t items = 2 + cname_len + 1;            /* type, length, text, end of items */
    size_t chunk = 4 + ((items + 3) & ~(size_t)3);
    memset(p, 0, 4 + chunk);
    p[0] = 0x81;
    p[1] = MRFC_RTCP_SDES;
    put16(p + 2, (uint16_t)(chunk / 4));
    put32(p + 4, ssrc);
    p[8] = 1;                                    /* CNAME */
    p[9] = (uint8_t)cname_len;
    memcpy(p + 10, cname, cname_len);
    return 4 + chunk;
}

size_t mrfc_rtcp_report(uint8_t *buf, size_t cap, const struct mrfc_rtp_tx *tx,
                        struct mrfc_rtp_rx *rx, const char *cname, uint64_t ntp_us,
                        uint32_t rtp_now, uint64_t now_us)
{
    size_t cname_len = strlen(cname);
    if (cname_len > 255)
        cname_len = 255;
    bool sr = tx->packets > 0;
    int blocks = rx && rx->started ? 1 : 0;
    size_t head = sr ? 28 : 8;
    size_t need = head + 24u * (size_t)blocks + 4 + 4 + ((2 + cname_len + 1 + 3) & ~(size_t)3);
    if (need > cap)
        return 0;
    buf[0] = (uint8_t)(0x80 | blocks);
    buf[1] = sr ? MRFC_RTCP_SR : MRFC_RTCP_RR;
    put16(buf + 2, (uint16_t)((head + 24u * (size_t)blocks) / 4 - 1));
    put32(buf + 4, tx->ssrc);
    if (sr) {
        uint64_t sec = ntp_us / 1000000 + NTP_UNIX_OFFSET;
        uint64_t frac = ((ntp_us % 1000000) << 32) / 1000000;
        put32(buf + 8, (uint32_t)sec);
        put32(buf + 12, (uint32_t)frac);
        put32(buf + 16, rtp_now);
        put32(buf + 20, (uint32_t)tx->packets);
        put32(buf + 24, (uint32_t)tx->octets);
    }
    if (blocks)
        report_block(buf + head, rx, now_us);
    size_t len = head + 24u * (size_t)blocks;
    return len + sdes_cname(buf + len, tx->ssrc, cname, cname_len);
}

size_t mrfc_rtcp_bye(uint8_t *buf, size_t len, size_t cap, uint32_t ssrc)
{
    if (len + 8 > cap)
        return len;
    buf[len] = 0x81;
    buf[len + 1] = MRFC_RTCP_BYE;
    put16(buf + len + 2, 1);
    put32(buf + len + 4, ssrc);
    return len + 8;
}

/* Read the report blocks of one SR/RR (@n of them at @p) about @about into @info */
static void read_blocks(const uint8_t *p, int n, uint32_t about, struct mrfc_rtcp_info *info)
{
    for (int i = 0; i < n; i++, p += 24) {
        if (get32(p) != about)
            continue;
        info->block = true;
        info->fraction_lost = p[4];
        info->jitter = get32(p + 12);
    }
}

int mrfc_rtcp_parse(const uint8_t *buf, size_t len, uint32_t about, struct mrfc_rtcp_info *info)
{
    memset(info, 0, sizeof(*info));
    if (len < 8 || (buf[1] != MRFC_RTCP_SR && buf[1] != MRFC_RTCP_RR))
        return -EINVAL;
    size_t off = 0;
    while (off < len) {
        const uint8_t *p = buf + off;
        if (len - off < 4 || (p[0] >> 6) != 2)
            return -EINVAL;
        size_t plen = 4u * ((size_t)get16(p + 2) + 1);
        if (plen > len - off)
            return -EINVAL;
        int count = p[0] & 0x1f;
        if (p[1] == MRFC_RTCP_SR || p[1] == MRFC_RTCP_RR) {
            size_t head = p[1] == MRFC_RTCP_SR ? 28 : 8;
            if (plen < head + 24u * (size_t)count)
                return -EINVAL;
            if (off == 0) {
                info->ssrc = get32(p + 4);
                if (p[1] == MRFC_RTCP_SR) {
                    info->sr = true;
                    info->ntp_mid = (get32(p + 8) << 16) | (get32(p + 12) >> 16);
                }
            }
            read_blocks(p + head, count, about, info);
        } else if (p[1] == MRFC_RTCP_BYE) {
            info->bye = true;
        }
        off += plen;
    }
    return 0;
}

int mrfc_te_parse(const uint8_t *p, size_t len, struct mrfc_te *e)
{
    if (len < 4)
        return -EINVAL;
    e->event = p[0];
    e->end = (p[1] & 0x80) != 0;
    e->volume = p[1] & 0x3f;
    e->duration = get16(p + 2);
    return 0;
}

void mrfc_te_build(uint8_t *p, const struct mrfc_te *e)
{
    p[0] = e->event;
    p[1] = (uint8_t)((e->end ? 0x80 : 0) | (e->volume & 0x3f));
    put16(p + 2, e->duration);
}

static const char te_digits[] = "0123456789*#ABCD";

char mrfc_te_digit(uint8_t event)
{
    return event < 16 ? te_digits[event] : 0;
}

int mrfc_te_event(char digit)
{
    const char *p = digit ? strchr(te_digits, digit >= 'a' && digit <= 'd' ? digit - 32 : digit)
                          : NULL;
    return p ? (int)(p - te_digits) : -1;
}
