/*
 * rtp.h - RTP and RTCP on the wire (RFC 3550), telephone events (RFC 4733)
 *
 * Pure functions over byte buffers: header parse and build, the receiver statistics of
 * RFC 3550 appendix A (sequence tracking A.1, loss A.3, interarrival jitter A.8), RTCP
 * sender and receiver reports with a CNAME, and the payload of a telephone event.
 * No sockets here: media.c owns them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_RTP_H
#define MRFC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MRFC_RTP_HDR 12           /* fixed header, no CSRC, no extension */
#define MRFC_RTP_MAX 1500         /* largest datagram read */
#define MRFC_RTCP_SR 200
#define MRFC_RTCP_RR 201
#define MRFC_RTCP_SDES 202
#define MRFC_RTCP_BYE 203

/* One RTP packet as parsed or to build; @payload points into the packet. */
struct mrfc_rtp_hdr {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload;
    size_t len;
};

/*
 * mrfc_rtp_parse - read the RTP packet of @len bytes at @buf into @h (CSRC list, header
 * extension and padding skipped). 0, or -EINVAL when it is not RTP version 2 or its
 * lengths do not add up.
 */
int mrfc_rtp_parse(const uint8_t *buf, size_t len, struct mrfc_rtp_hdr *h);

/*
 * mrfc_rtp_build - write the header of @h and @h->len bytes of @h->payload into @buf of
 * @cap bytes. Returns the packet length, or 0 when it does not fit.
 */
size_t mrfc_rtp_build(uint8_t *buf, size_t cap, const struct mrfc_rtp_hdr *h);

/* What a receiver knows of one source (RFC 3550 A.1, A.3, A.8) */
struct mrfc_rtp_rx {
    bool started;
    uint32_t ssrc;
    uint16_t max_seq;             /* highest sequence number seen */
    uint32_t cycles;              /* wraps of the sequence number, shifted left 16 */
    uint32_t base_seq;
    uint32_t bad_seq;             /* the next sequence number after a large jump */
    uint64_t received;            /* packets accepted */
    uint64_t expected_prior, received_prior;   /* at the last report */
    uint64_t duplicates_or_old;   /* at or behind max_seq (duplicates and reordered) */
    uint32_t transit;             /* of the last packet, in timestamp units */
    double jitter;                /* in timestamp units */
    uint32_t lsr;                 /* middle 32 bits of the NTP time of the last SR */
    uint64_t lsr_at_us;           /* when it arrived (monotonic microseconds) */
};

enum mrfc_rtp_seq {
    MRFC_SEQ_OK = 0,              /* in order, possibly after a gap */
    MRFC_SEQ_OLD,                 /* duplicate or reordered (behind the highest) */
    MRFC_SEQ_RESTART,             /* a new SSRC or a jump that was confirmed: restarted */
    MRFC_SEQ_BAD,                 /* a jump not confirmed yet: drop the packet */
};

/*
 * mrfc_rtp_rx_update - account a packet of @ssrc with @seq and RTP timestamp @ts that
 * arrived at @arrival (the receiver's clock in the same units as the timestamps, 8 kHz for
 * G.711). Returns what the packet is to the sequence (enum mrfc_rtp_seq).
 */
enum mrfc_rtp_seq mrfc_rtp_rx_update(struct mrfc_rtp_rx *rx, uint32_t ssrc, uint16_t seq,
                                     uint32_t ts, uint32_t arrival);
/* The extended highest sequence number, the packets expected and lost so far (A.3) */
uint32_t mrfc_rtp_rx_ext_max(const struct mrfc_rtp_rx *rx);
uint64_t mrfc_rtp_rx_expected(const struct mrfc_rtp_rx *rx);
int64_t mrfc_rtp_rx_lost(const struct mrfc_rtp_rx *rx);

/* The sender side of a stream, for SR */
struct mrfc_rtp_tx {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint64_t packets, octets;
};

/*
 * mrfc_rtcp_report - build a compound RTCP packet into @buf (@cap bytes): an SR when
 * @tx has sent packets (else an RR), one report block on @rx when it has a source, then
 * SDES with @cname. @ntp_us: wall clock in microseconds since 1970 (SR's NTP time);
 * @rtp_now: the RTP timestamp that corresponds to it; @now_us: the monotonic clock (DLSR).
 * Updates @rx's prior counts (interval loss). Returns the length, 0 when it does not fit.
 */
size_t mrfc_rtcp_report(uint8_t *buf, size_t cap, const struct mrfc_rtp_tx *tx,
                        struct mrfc_rtp_rx *rx, const char *cname, uint64_t ntp_us,
                        uint32_t rtp_now, uint64_t now_us);

/* Append an RTCP BYE for @ssrc to @buf at @len (@cap bytes). Returns the new length. */
size_t mrfc_rtcp_bye(uint8_t *buf, size_t len, size_t cap, uint32_t ssrc);

/* What a compound RTCP packet said (the parts used here) */
struct mrfc_rtcp_info {
    bool sr;                      /* has a sender report */
    uint32_t ssrc;                /* of the first packet's sender */
    uint32_t ntp_mid;             /* SR: middle 32 bits of its NTP time (our next LSR) */
    bool bye;
    bool block;                   /* has a report block about @about */
    uint8_t fraction_lost;        /* of that block */
    uint32_t jitter;              /* of that block, timestamp units */
};

/*
 * mrfc_rtcp_parse - validate a compound RTCP packet (RFC 3550 A.2: version 2, first packet
 * SR or RR, lengths adding up) and read what @info holds; report blocks about SSRC @about
 * are read. 0, or -EINVAL.
 */
int mrfc_rtcp_parse(const uint8_t *buf, size_t len, uint32_t about, struct mrfc_rtcp_info *info);

/* A telephone event (RFC 4733 2.3) */
struct mrfc_te {
    uint8_t event;                /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others */
    bool end;
    uint8_t volume;               /* -dBm0, 0..63 */
    uint16_t duration;            /* timestamp units */
};

/* Read the 4 bytes of an event payload. 0, or -EINVAL when shorter. */
int mrfc_te_parse(const uint8_t *p, size_t len, struct mrfc_te *e);
/* Write @e as 4 bytes into @p */
void mrfc_te_build(uint8_t *p, const struct mrfc_te *e);
/* The DTMF digit of event @event ('0'-'9', '*', '#', 'A'-'D'), or 0 for other events */
char mrfc_te_digit(uint8_t event);
/* The event of DTMF digit @digit, or -1 */
int mrfc_te_event(char digit);

#endif
