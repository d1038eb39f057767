/*
 * rtpue - a SIP user agent with real RTP for tests of the MRF, and the analysis of what it
 * recorded
 *
 *   rtpue call --sip ADDR:PORT --rtp ADDR:PORT --to URI [--proxy HOST:PORT] [--tcp]
 *        [--send none|silence|tone:HZ|wav:FILE] [--codec PCMU|PCMA|both] [--no-offer]
 *        [--record FILE.wav] [--hangup S] [--wait S] [--hold S] [--resume S]
 *        [--recodec S:PCMU|PCMA] [--update S:sendrecv|sendonly|inactive] [--dtmf S:DIGITS]
 *        [--expect STATUS] [--header "Name: value"]...
 *   rtpue tones FILE.wav [--skip S] [--expect HZ,...] [--absent HZ,...]
 *   rtpue correlate FILE.wav REFERENCE.wav [--min R]
 *   rtpue gen-wav FILE.wav --tone HZ --seconds S [--rate R] [--channels N]
 *   rtpue inject --from ADDR:PORT --to ADDR:PORT [--count N] [--tone HZ] [--pt N]
 *
 * call: INVITE URI (with an SDP offer from the --rtp address, or none with --no-offer: the
 * offer then comes in the 2xx and the answer goes in the ACK), send RTP every 20 ms (a
 * sine, a WAV file in a loop, silence, or nothing), record what arrives (decoded, placed by
 * RTP timestamp, to a WAV file), and at the given seconds after the answer: put the call on
 * hold (re-INVITE a=sendonly), resume it (a=sendrecv), change codec (re-INVITE offering
 * one codec), send an UPDATE with a new offer (RFC 3311), send DTMF digits as RFC 4733
 * events, or hang up (BYE). Without --hangup it
 * waits for the far end's BYE. Every step is a line on stdout; the last lines give the
 * RTP statistics (packets, loss, sequence and timestamp continuity, arrival intervals).
 * Exit status 0 when the call was answered as expected (2xx, or --expect's status) and
 * ended cleanly.
 *
 * tones: the share of the recording's power at each frequency (Goertzel); exit status 1
 * when one of --expect is below 10 % or one of --absent above 1 %.
 * correlate: how well the recording holds the reference: the reference's windows of 0.5 s
 * each correlated at its best lag (the first within 2 s, the next ones within 0.3 s of
 * the previous: gaps are allowed), the energy-weighted mean; exit status 1 below --min.
 * inject: RTP packets (a sine) from another address, as an attacker would send them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <sndfile.h>
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include "rtp.h"
#include "sdp.h"

#define RATE 8000
#define FRAME 160
#define MAX_ACTIONS 16
#define MAX_REC (RATE * 600)      /* ten minutes of recording at most */
#define MAX_INTERVALS 100000

enum action_kind { A_HOLD = 1, A_RESUME, A_RECODEC, A_DTMF, A_HANGUP, A_UPDATE };

struct action {
    int kind;
    double at;                    /* seconds after the answer */
    char arg[40];
    bool done;
};

struct ue {
    su_root_t *root;
    nta_agent_t *agent;
    nta_leg_t *leg;
    const char *to, *proxy, *send, *record, *header;
    char headers[1024];           /* every --header, joined with CR LF */
    char sip_addr[64], rtp_addr[64], contact[160], from[200];
    int sip_port, rtp_port;
    bool tcp, offer;
    uint32_t codecs;
    double wait_s;
    int expect;
    struct action actions[MAX_ACTIONS];
    int nactions;
    /* SIP state */
    uint32_t cseq;
    int status;                   /* final status of the INVITE */
    bool answered, ended, bye_sent, bye_received, failed;
    struct timespec t_answer;
    nta_outgoing_t *reinvite;
    unsigned my_dir;              /* MRFC_DIR_* we offer */
    uint64_t sdp_version;
    /* media */
    int fd_rtp, fd_rtcp, tfd;
    su_wait_t w_rtp, w_rtcp, w_tick;
    int i_rtp, i_rtcp, i_tick;
    struct sockaddr_in peer, peer_rtcp;
    bool has_peer;
    int codec, pt, te_pt;
    unsigned peer_dir;            /* MRFC_DIR_* from our side */
    struct mrfc_rtp_tx tx;
    double phase, tone_hz;
    int16_t *wav;
    size_t wav_n, wav_pos;
    /* DTMF being sent */
    const char *dtmf_digits;
    int dtmf_tick;
    uint32_t dtmf_ts;
    /* reception */
    struct mrfc_rtp_rx rx;
    uint64_t received, seq_errors, ts_errors, markers, ssrc_changes, rtcp_received,
        held_received, te_received;
    bool held, holding;           /* hold asked; answered (since held_at) */
    double held_at;
    bool have_last;
    uint16_t last_seq;
    uint32_t last_ts, first_ts, last_ssrc;
    bool rec_started;
    int16_t *rec;
    size_t rec_n;
    double last_arrival, *intervals;
    size_t nintervals;
    char codecs_seen[64];
};

static struct ue g;

static void usage(void)
{
    fprintf(stderr,
            "usage: rtpue call --sip ADDR:PORT --rtp ADDR:PORT --to URI [--proxy HOST:PORT]\n"
            "            [--tcp] [--send none|silence|tone:HZ|wav:FILE] [--codec PCMU|PCMA|both]\n"
            "            [--no-offer] [--record FILE] [--hangup S] [--wait S] [--hold S]\n"
            "            [--resume S] [--recodec S:CODEC] [--update S:DIR] [--dtmf S:DIGITS]\n"
            "            [--expect STATUS] [--header \"Name: value\"]\n"
            "       rtpue tones FILE [--skip S] [--expect HZ,..] [--absent HZ,..]\n"
            "       rtpue correlate FILE REFERENCE [--min R]\n"
            "       rtpue gen-wav FILE --tone HZ --seconds S [--rate R] [--channels N]\n"
            "       rtpue inject --from ADDR:PORT --to ADDR:PORT [--count N] [--tone HZ]\n"
            "            [--pt N]\n");
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double since_answer(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - g.t_answer.tv_sec) +
           (double)(ts.tv_nsec - g.t_answer.tv_nsec) / 1e9;
}

static int split_hostport(const char *s, char *host, size_t len, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= len)
        return -1;
    snprintf(host, len, "%.*s", (int)(colon - s), s);
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

static int udp_bind(const char *addr, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "rtpue: cannot bind %s:%d: %s\n", addr, port, strerror(errno));
        exit(1);
    }
    return fd;
}

/* ---- WAV files ---- */

static int16_t *read_wav(const char *path, size_t *n, int *rate)
{
    SF_INFO info;
    memset(&info, 0, sizeof(info));
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        fprintf(stderr, "rtpue: cannot read %s: %s\n", path, sf_strerror(NULL));
        exit(1);
    }
    if (info.channels != 1) {
        fprintf(stderr, "rtpue: %s has %d channels: mono wanted\n", path, info.channels);
        exit(1);
    }
    int16_t *s = malloc(((size_t)info.frames + 1) * sizeof(*s));
    sf_count_t got = s ? sf_readf_short(f, s, info.frames) : -1;
    sf_close(f);
    if (got < 0) {
        fprintf(stderr, "rtpue: cannot read the samples of %s\n", path);
        exit(1);
    }
    *n = (size_t)got;
    *rate = info.samplerate;
    return s;
}

static int write_wav(const char *path, const int16_t *s, size_t n, int rate, int channels)
{
    SF_INFO info = { .samplerate = rate, .channels = channels,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) {
        fprintf(stderr, "rtpue: cannot write %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    sf_writef_short(f, s, (sf_count_t)(n / (size_t)channels));
    sf_close(f);
    return 0;
}

/* ---- SDP and SIP ---- */

static int make_sdp(char *buf, size_t cap, unsigned dir, uint32_t codecs)
{
    struct mrfc_sdp_local l = { .addr = g.rtp_addr, .port = (uint16_t)g.rtp_port,
                                .id = 4242, .version = g.sdp_version++, .user = "rtpue" };
    return mrfc_sdp_offer(buf, cap, &l, codecs, dir);
}

/* Take the SDP answer (or offer) of @sip for the media; prints it. 0 or -1. */
static int take_sdp(const sip_t *sip, const char *what)
{
    if (!sip->sip_payload || !sip->sip_payload->pl_len) {
        printf("%s: no SDP\n", what);
        return -1;
    }
    struct mrfc_sdp_neg n;
    char why[160];
    if (mrfc_sdp_negotiate(sip->sip_payload->pl_data, sip->sip_payload->pl_len, g.my_dir,
                           g.codecs, &n, why, sizeof(why)) != 0) {
        printf("%s: SDP not usable: %s\n", what, why);
        return -1;
    }
    /* their direction is the reverse of ours (within what we offered) */
    unsigned theirs = (n.dir & MRFC_DIR_SEND ? MRFC_DIR_RECV : 0) |
                      (n.dir & MRFC_DIR_RECV ? MRFC_DIR_SEND : 0);
    printf("%s codec=%s pt=%u te=%d dir=%s addr=%s port=%u\n", what, mrfc_codec_name(n.codec),
           n.pt, n.te_pt, mrfc_sdp_dir_name(theirs), n.addr, n.port);
    g.codec = n.codec;
    g.pt = n.pt;
    g.te_pt = n.te_pt;
    g.peer_dir = n.dir;
    memset(&g.peer, 0, sizeof(g.peer));
    g.peer.sin_family = AF_INET;
    g.peer.sin_port = htons(n.port);
    inet_pton(AF_INET, n.addr, &g.peer.sin_addr);
    g.peer_rtcp = g.peer;
    g.peer_rtcp.sin_port = htons(n.rtcp_port);
    g.has_peer = n.port != 0;
    if (!strstr(g.codecs_seen, mrfc_codec_name(n.codec))) {
        size_t l = strlen(g.codecs_seen);
        snprintf(g.codecs_seen + l, sizeof(g.codecs_seen) - l, "%s%s", l ? "," : "",
                 mrfc_codec_name(n.codec));
    }
    return 0;
}

static void send_ack(uint32_t cseq, const char *sdp)
{
    char cs[32];
    snprintf(cs, sizeof(cs), "%u ACK", cseq);
    nta_outgoing_t *ack = nta_outgoing_tcreate(
        g.leg, NULL, NULL, NULL, SIP_METHOD_ACK, NULL, SIPTAG_CSEQ_STR(cs),
        TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
        TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
    printf("sent ACK%s\n", sdp ? " with SDP" : "");
    if (ack)
        nta_outgoing_destroy(ack);
}

static void finish(bool ok)
{
    if (!ok)
        g.failed = true;
    g.ended = true;
    su_root_break(g.root);
}

static int on_bye_answer(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    printf("got %d to BYE\n", status);
    nta_outgoing_destroy(orq);
    finish(status == 200);
    return 0;
}

static void send_bye(void)
{
    if (g.bye_sent || g.bye_received)
        return;
    g.bye_sent = true;
    nta_outgoing_t *orq = nta_outgoing_tcreate(g.leg, on_bye_answer, NULL, NULL,
                                               SIP_METHOD_BYE, NULL, TAG_END());
    printf("sent BYE at %.2f s\n", since_answer());
    if (!orq)
        finish(false);
}

static int on_reinvite_answer(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    printf("got %d to re-INVITE\n", status);
    if (status < 300 && g.held && !g.holding) {
        g.holding = true;             /* from now on nothing may arrive */
        g.held_at = now_s();
    }
    if (status < 300 && sip) {
        take_sdp(sip, "reinvite-answer");
        send_ack(sip->sip_cseq->cs_seq, NULL);
    }
    nta_outgoing_destroy(orq);
    g.reinvite = NULL;
    return 0;
}

static int on_update_answer(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    printf("got %d to UPDATE\n", status);
    if (status < 300 && sip)
        take_sdp(sip, "update-answer");
    nta_outgoing_destroy(orq);
    g.reinvite = NULL;
    return 0;
}

/* An UPDATE (RFC 3311) with an offer of direction @dir */
static void send_update(unsigned dir)
{
    char sdp[1024];
    g.my_dir = dir;
    make_sdp(sdp, sizeof(sdp), dir, g.codecs);
    g.reinvite = nta_outgoing_tcreate(g.leg, on_update_answer, NULL, NULL, SIP_METHOD_UPDATE,
                                      NULL, SIPTAG_CONTACT_STR(g.contact),
                                      SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                                      SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    printf("sent UPDATE (%s) at %.2f s\n", mrfc_sdp_dir_name(dir), since_answer());
}

static void send_reinvite(unsigned dir, uint32_t codecs, const char *why)
{
    char sdp[1024];
    g.my_dir = dir;
    g.codecs = codecs;
    make_sdp(sdp, sizeof(sdp), dir, codecs);
    g.reinvite = nta_outgoing_tcreate(g.leg, on_reinvite_answer, NULL, NULL, SIP_METHOD_INVITE,
                                      NULL, SIPTAG_CONTACT_STR(g.contact),
                                      SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                                      SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    printf("sent re-INVITE (%s) at %.2f s\n", why, since_answer());
}

/* Requests of the far end in the dialog: BYE (and anything else: 200) */
static int on_dialog_request(nta_leg_magic_t *m, nta_leg_t *leg, nta_incoming_t *irq,
                             const sip_t *sip)
{
    (void)m;
    (void)leg;
    (void)irq;
    if (sip->sip_request->rq_method == sip_method_bye) {
        printf("got BYE at %.2f s%s%s\n", since_answer(), sip->sip_reason ? " reason: " : "",
               sip->sip_reason ? sip->sip_reason->re_protocol : "");
        if (sip->sip_reason && sip->sip_reason->re_params)
            for (const char *const *p = sip->sip_reason->re_params; *p; p++)
                printf("  reason %s\n", *p);
        g.bye_received = true;
        finish(true);
        return 200;
    }
    if (sip->sip_request->rq_method == sip_method_ack)
        return 0;
    return 200;
}

static int on_invite_answer(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    g.status = status;
    printf("got %d %s\n", status, sip && sip->sip_status ? sip->sip_status->st_phrase : "");
    if (sip && sip->sip_warning)
        printf("warning: %s\n", sip->sip_warning->w_text ? sip->sip_warning->w_text : "");
    if (sip && sip->sip_retry_after)
        printf("retry-after: %lu\n", (unsigned long)sip->sip_retry_after->af_delta);
    if (status >= 300) {
        nta_outgoing_destroy(orq);
        finish(status == g.expect);
        return 0;
    }
    nta_leg_rtag(g.leg, sip->sip_to->a_tag);
    nta_leg_client_route(g.leg, sip->sip_record_route, sip->sip_contact);
    /* the connection id of RFC 6230 16.1: "<from tag>~<to tag>" */
    printf("connection %s~%s\n", sip->sip_from && sip->sip_from->a_tag ? sip->sip_from->a_tag
                                                                          : "",
           sip->sip_to->a_tag ? sip->sip_to->a_tag : "");
    printf("dialog %s\n", sip->sip_call_id ? sip->sip_call_id->i_id : "");
    clock_gettime(CLOCK_MONOTONIC, &g.t_answer);
    g.answered = true;
    int rc = take_sdp(sip, g.offer ? "answer" : "offer");
    char sdp[1024];
    if (!g.offer && rc == 0)
        make_sdp(sdp, sizeof(sdp), g.my_dir, 1u << g.codec);
    send_ack(sip->sip_cseq->cs_seq, !g.offer && rc == 0 ? sdp : NULL);
    nta_outgoing_destroy(orq);
    if (rc != 0)
        send_bye();
    return 0;
}

static int send_invite(void)
{
    char callid[64], ruri[512];
    snprintf(callid, sizeof(callid), "rtpue-%ld-%d", (long)time(NULL), getpid());
    snprintf(g.from, sizeof(g.from), "<sip:rtpue@%s:%d>;tag=rtpue%d", g.sip_addr, g.sip_port,
             getpid());
    snprintf(ruri, sizeof(ruri), "%s", g.to);
    g.leg = nta_leg_tcreate(g.agent, on_dialog_request, NULL, SIPTAG_CALL_ID_STR(callid),
                            SIPTAG_FROM_STR(g.from), SIPTAG_TO_STR(g.to), TAG_END());
    if (!g.leg)
        return -1;
    char sdp[1024], proxy[200];
    if (g.offer)
        make_sdp(sdp, sizeof(sdp), g.my_dir, g.codecs);
    if (g.proxy) {
        snprintf(proxy, sizeof(proxy), "sip:%s%s", g.proxy, g.tcp ? ";transport=tcp" : "");
    } else if (g.tcp) {
        /* straight to the Request-URI's host, over TCP */
        su_home_t home[1] = { SU_HOME_INIT(home) };
        url_t *u = url_make(home, g.to);
        if (!u || !u->url_host) {
            su_home_deinit(home);
            return -1;
        }
        snprintf(proxy, sizeof(proxy), "sip:%s:%s;transport=tcp", u->url_host,
                 u->url_port ? u->url_port : "5060");
        su_home_deinit(home);
    }
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        g.leg, on_invite_answer, NULL, g.proxy || g.tcp ? (url_string_t *)proxy : NULL,
        SIP_METHOD_INVITE, (url_string_t *)ruri, SIPTAG_CONTACT_STR(g.contact),
        TAG_IF(g.header, SIPTAG_HEADER_STR(g.header)),
        TAG_IF(g.offer, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
        TAG_IF(g.offer, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
    printf("sent INVITE %s%s\n", g.to, g.offer ? "" : " without SDP");
    return orq ? 0 : -1;
}

/* ---- media ---- */

static void next_samples(int16_t *pcm)
{
    if (g.wav) {
        for (int i = 0; i < FRAME; i++) {
            pcm[i] = g.wav[g.wav_pos++];
            if (g.wav_pos >= g.wav_n)
                g.wav_pos = 0;
        }
        return;
    }
    for (int i = 0; i < FRAME; i++) {
        pcm[i] = g.tone_hz > 0 ? (int16_t)(8000.0 * sin(g.phase)) : 0;
        g.phase += 2.0 * M_PI * g.tone_hz / RATE;
    }
    g.phase = fmod(g.phase, 2.0 * M_PI);
}

static void send_rtp(uint8_t pt, bool marker, uint32_t ts, const uint8_t *payload, size_t len)
{
    uint8_t pkt[MRFC_RTP_HDR + FRAME];
    struct mrfc_rtp_hdr h = { .pt = pt, .marker = marker, .seq = g.tx.seq++, .ts = ts,
                              .ssrc = g.tx.ssrc, .payload = payload, .len = len };
    size_t n = mrfc_rtp_build(pkt, sizeof(pkt), &h);
    if (sendto(g.fd_rtp, pkt, n, 0, (struct sockaddr *)&g.peer, sizeof(g.peer)) >= 0)
        g.tx.packets++;
}

/* One tick of RFC 4733 events: each digit 100 ms of updates, 3 end packets, 50 ms gap */
static bool dtmf_tick(void)
{
    if (!g.dtmf_digits || !*g.dtmf_digits || g.te_pt < 0)
        return false;
    int ev = mrfc_te_event(*g.dtmf_digits);
    if (g.dtmf_tick == 0)
        g.dtmf_ts = g.tx.ts;
    g.dtmf_tick++;
    if (g.dtmf_tick > 8) {        /* the gap after the digit: back to audio */
        g.dtmf_tick = 0;
        g.dtmf_digits++;
        return false;
    }
    if (g.dtmf_tick > 5 + 3)
        return true;
    struct mrfc_te e = { .event = (uint8_t)(ev < 0 ? 0 : ev), .volume = 10,
                         .end = g.dtmf_tick > 5,
                         .duration = (uint16_t)(FRAME * (g.dtmf_tick > 5 ? 5 : g.dtmf_tick)) };
    uint8_t p[4];
    mrfc_te_build(p, &e);
    send_rtp((uint8_t)g.te_pt, g.dtmf_tick == 1, g.dtmf_ts, p, 4);
    return true;
}

static void media_tick(void)
{
    bool can = g.has_peer && (g.peer_dir & MRFC_DIR_SEND) && g.send && strcmp(g.send, "none");
    if (can && !dtmf_tick()) {
        int16_t pcm[FRAME];
        uint8_t payload[FRAME];
        next_samples(pcm);
        for (int i = 0; i < FRAME; i++)
            payload[i] = g.codec == MRFC_CODEC_PCMA ? linear_to_alaw(pcm[i])
                                                    : linear_to_ulaw(pcm[i]);
        send_rtp((uint8_t)g.pt, g.tx.packets == 0, g.tx.ts, payload, FRAME);
    }
    g.tx.ts += FRAME;
}

/* Put the decoded samples of a packet at their place in the recording */
static void record(const struct mrfc_rtp_hdr *h)
{
    if (!g.rec_started) {
        g.rec_started = true;
        g.first_ts = h->ts;
    }
    uint32_t off = h->ts - g.first_ts;
    if (off > MAX_REC || off + h->len > MAX_REC)
        return;
    if (off + h->len > g.rec_n) {
        int16_t *r = realloc(g.rec, (off + h->len) * sizeof(*r));
        if (!r)
            return;
        memset(r + g.rec_n, 0, (off + h->len - g.rec_n) * sizeof(*r));
        g.rec = r;
        g.rec_n = off + h->len;
    }
    for (size_t i = 0; i < h->len; i++)     /* by the packet's type: codecs may change */
        g.rec[off + i] = h->pt == MRFC_CODEC_PCMA ? alaw_to_linear(h->payload[i])
                                                  : ulaw_to_linear(h->payload[i]);
}

/* Sequence and timestamp continuity: each packet one on from the last, 160 samples on,
 * unless it carries the marker bit (a new talk spurt after a pause: hold, codec change) */
static void check_continuity(const struct mrfc_rtp_hdr *h)
{
    if (h->marker)
        g.markers++;
    if (g.have_last && h->ssrc != g.last_ssrc)
        g.ssrc_changes++;
    else if (g.have_last) {
        if (h->seq != (uint16_t)(g.last_seq + 1))
            g.seq_errors++;
        if (!h->marker && h->ts != g.last_ts + FRAME)
            g.ts_errors++;
    }
    g.have_last = true;
    g.last_seq = h->seq;
    g.last_ts = h->ts;
    g.last_ssrc = h->ssrc;
}

static int on_rtp(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    uint8_t buf[MRFC_RTP_MAX];
    ssize_t n;
    while ((n = recv(g.fd_rtp, buf, sizeof(buf), 0)) > 0) {
        struct mrfc_rtp_hdr h;
        if (mrfc_rtp_parse(buf, (size_t)n, &h) != 0) {
            printf("rtp: malformed packet of %zd bytes\n", n);
            continue;
        }
        double t = now_s();
        if (g.last_arrival > 0 && g.nintervals < MAX_INTERVALS && g.intervals)
            g.intervals[g.nintervals++] = (t - g.last_arrival) * 1000.0;
        g.last_arrival = t;
        g.received++;
        /* packets the MRF sent before it took the hold are still on their way for a moment */
        if (g.holding && t - g.held_at > 0.1)
            g.held_received++;
        mrfc_rtp_rx_update(&g.rx, h.ssrc, h.seq, h.ts, (uint32_t)(t * RATE));
        check_continuity(&h);
        if (g.te_pt >= 0 && h.pt == g.te_pt) {
            g.te_received++;
            continue;
        }
        if (h.pt == MRFC_CODEC_PCMU || h.pt == MRFC_CODEC_PCMA)
            record(&h);
    }
    return 0;
}

static int on_rtcp(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    uint8_t buf[MRFC_RTP_MAX];
    ssize_t n;
    while ((n = recv(g.fd_rtcp, buf, sizeof(buf), 0)) > 0) {
        struct mrfc_rtcp_info info;
        if (mrfc_rtcp_parse(buf, (size_t)n, g.tx.ssrc, &info) != 0)
            printf("rtcp: malformed packet of %zd bytes\n", n);
        else
            g.rtcp_received++;
    }
    return 0;
}

static void run_actions(void)
{
    double t = since_answer();
    for (int i = 0; i < g.nactions; i++) {
        struct action *a = &g.actions[i];
        if (a->done || t < a->at || (g.reinvite && a->kind != A_HANGUP && a->kind != A_DTMF))
            continue;
        a->done = true;
        switch (a->kind) {
        case A_HOLD:
            g.held = true;
            send_reinvite(MRFC_DIR_SEND, g.codecs, "hold: sendonly");
            break;
        case A_RESUME:
            g.held = false;
            g.holding = false;
            send_reinvite(MRFC_DIR_SENDRECV, g.codecs, "resume: sendrecv");
            break;
        case A_RECODEC:
            send_reinvite(g.my_dir, 1u << (strcasecmp(a->arg, "PCMA") == 0 ? MRFC_CODEC_PCMA
                                                                            : MRFC_CODEC_PCMU),
                          a->arg);
            break;
        case A_DTMF:
            g.dtmf_digits = a->arg;
            g.dtmf_tick = 0;
            printf("sending DTMF %s at %.2f s\n", a->arg, t);
            break;
        case A_HANGUP:
            send_bye();
            break;
        case A_UPDATE:
            send_update(strcmp(a->arg, "sendonly") == 0   ? MRFC_DIR_SEND
                        : strcmp(a->arg, "inactive") == 0 ? 0
                                                          : MRFC_DIR_SENDRECV);
            break;
        }
    }
}

static int on_tick(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    uint64_t n = 0;
    if (read(g.tfd, &n, sizeof(n)) != sizeof(n))
        return 0;
    for (uint64_t i = 0; i < n && i < 5; i++)
        media_tick();
    if (g.answered && !g.ended)
        run_actions();
    return 0;
}

/* ---- the call ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_stats(void)
{
    double mean = 0, max = 0, p99 = 0;
    if (g.nintervals) {
        for (size_t i = 0; i < g.nintervals; i++) {
            mean += g.intervals[i];
            if (g.intervals[i] > max)
                max = g.intervals[i];
        }
        mean /= (double)g.nintervals;
        qsort(g.intervals, g.nintervals, sizeof(double), cmp_double);
        p99 = g.intervals[(size_t)((double)(g.nintervals - 1) * 0.99)];
    }
    printf("rtp received=%llu lost=%lld seq_errors=%llu ts_errors=%llu markers=%llu "
           "ssrc_changes=%llu held_received=%llu events=%llu codecs=%s\n",
           (unsigned long long)g.received, (long long)mrfc_rtp_rx_lost(&g.rx),
           (unsigned long long)g.seq_errors, (unsigned long long)g.ts_errors,
           (unsigned long long)g.markers, (unsigned long long)g.ssrc_changes,
           (unsigned long long)g.held_received, (unsigned long long)g.te_received,
           g.codecs_seen[0] ? g.codecs_seen : "-");
    printf("rtp sent=%llu rtcp_received=%llu interval_ms mean=%.2f p99=%.2f max=%.2f\n",
           (unsigned long long)g.tx.packets, (unsigned long long)g.rtcp_received, mean, p99,
           max);
}

static void parse_action(int kind, const char *arg)
{
    if (g.nactions == MAX_ACTIONS)
        usage();
    struct action *a = &g.actions[g.nactions++];
    a->kind = kind;
    a->at = atof(arg);
    const char *colon = strchr(arg, ':');
    if (colon)
        snprintf(a->arg, sizeof(a->arg), "%s", colon + 1);
}

static void setup_media(void)
{
    g.fd_rtp = udp_bind(g.rtp_addr, g.rtp_port);
    g.fd_rtcp = udp_bind(g.rtp_addr, g.rtp_port + 1);
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } };
    timerfd_settime(g.tfd, 0, &its, NULL);
    su_wait_create(&g.w_rtp, g.fd_rtp, SU_WAIT_IN);
    su_wait_create(&g.w_rtcp, g.fd_rtcp, SU_WAIT_IN);
    su_wait_create(&g.w_tick, g.tfd, SU_WAIT_IN);
    g.i_rtp = su_root_register(g.root, &g.w_rtp, on_rtp, NULL, 0);
    g.i_rtcp = su_root_register(g.root, &g.w_rtcp, on_rtcp, NULL, 0);
    g.i_tick = su_root_register(g.root, &g.w_tick, on_tick, NULL, 0);
    g.tx.ssrc = (uint32_t)random();
    g.tx.seq = (uint16_t)random();
    g.tx.ts = (uint32_t)random();
    g.te_pt = -1;
    g.intervals = calloc(MAX_INTERVALS, sizeof(double));
    if (g.send && strncmp(g.send, "tone:", 5) == 0)
        g.tone_hz = atof(g.send + 5);
    if (g.send && strncmp(g.send, "wav:", 4) == 0) {
        int rate;
        g.wav = read_wav(g.send + 4, &g.wav_n, &rate);
        if (rate != RATE || g.wav_n == 0) {
            fprintf(stderr, "rtpue: %s is not 8 kHz audio\n", g.send + 4);
            exit(1);
        }
    }
}

static void on_timeout(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    printf("timeout: nothing ended the call in %.0f s\n", g.wait_s);
    if (g.answered && !g.bye_sent)
        send_bye();
    else
        finish(false);
}

static int cmd_call(int argc, char **argv)
{
    static const struct option opts[] = {
        { "sip", required_argument, NULL, 's' }, { "rtp", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' }, { "proxy", required_argument, NULL, 'p' },
        { "tcp", no_argument, NULL, 'T' }, { "send", required_argument, NULL, 'S' },
        { "codec", required_argument, NULL, 'c' }, { "no-offer", no_argument, NULL, 'n' },
        { "record", required_argument, NULL, 'R' }, { "hangup", required_argument, NULL, 'h' },
        { "wait", required_argument, NULL, 'w' }, { "hold", required_argument, NULL, 'H' },
        { "resume", required_argument, NULL, 'u' }, { "recodec", required_argument, NULL, 'C' },
        { "dtmf", required_argument, NULL, 'd' }, { "expect", required_argument, NULL, 'e' },
        { "update", required_argument, NULL, 'U' }, { "header", required_argument, NULL, 'X' },
        { NULL, 0, NULL, 0 },
    };
    const char *sip_bind = NULL, *rtp_bind = NULL, *codec = "both";
    g.send = "silence";
    g.offer = true;
    g.wait_s = 30;
    g.expect = 200;
    g.my_dir = MRFC_DIR_SENDRECV;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': sip_bind = optarg; break;
        case 'r': rtp_bind = optarg; break;
        case 't': g.to = optarg; break;
        case 'p': g.proxy = optarg; break;
        case 'T': g.tcp = true; break;
        case 'S': g.send = optarg; break;
        case 'c': codec = optarg; break;
        case 'n': g.offer = false; break;
        case 'R': g.record = optarg; break;
        case 'h': parse_action(A_HANGUP, optarg); break;
        case 'w': g.wait_s = atof(optarg); break;
        case 'H': parse_action(A_HOLD, optarg); break;
        case 'u': parse_action(A_RESUME, optarg); break;
        case 'C': parse_action(A_RECODEC, optarg); break;
        case 'd': parse_action(A_DTMF, optarg); break;
        case 'e': g.expect = atoi(optarg); break;
        case 'U': parse_action(A_UPDATE, optarg); break;
        case 'X':
            if (strlen(g.headers) + strlen(optarg) + 3 < sizeof(g.headers))
                snprintf(g.headers + strlen(g.headers), sizeof(g.headers) - strlen(g.headers),
                         "%s%s", g.headers[0] ? "\r\n" : "", optarg);
            g.header = g.headers;
            break;
        default: usage();
        }
    }
    if (!sip_bind || !rtp_bind || !g.to ||
        split_hostport(sip_bind, g.sip_addr, sizeof(g.sip_addr), &g.sip_port) ||
        split_hostport(rtp_bind, g.rtp_addr, sizeof(g.rtp_addr), &g.rtp_port))
        usage();
    g.codecs = strcasecmp(codec, "PCMU") == 0   ? 1u << MRFC_CODEC_PCMU
               : strcasecmp(codec, "PCMA") == 0 ? 1u << MRFC_CODEC_PCMA
                                                : (1u << MRFC_CODEC_PCMU | 1u << MRFC_CODEC_PCMA);
    snprintf(g.contact, sizeof(g.contact), "<sip:rtpue@%s:%d%s>", g.sip_addr, g.sip_port,
             g.tcp ? ";transport=tcp" : "");
    setvbuf(stdout, NULL, _IOLBF, 0);
    srandom((unsigned)(time(NULL) ^ getpid()));
    su_init();
    g.root = su_root_create(NULL);
    char url[160];
    snprintf(url, sizeof(url), "sip:%s:%d;transport=%s", g.sip_addr, g.sip_port,
             g.tcp ? "tcp" : "udp");
    const char *u = url;
    g.agent = g.root ? nta_agent_create(g.root, URL_STRING_MAKE(u), NULL, NULL,
                                        NTATAG_UA(1), TAG_END())
                     : NULL;
    if (!g.agent) {
        fprintf(stderr, "rtpue: cannot listen on %s\n", url);
        return 1;
    }
    setup_media();
    su_timer_t *limit = su_timer_create(su_root_task(g.root), 0);
    su_timer_set_interval(limit, on_timeout, NULL, (su_duration_t)(g.wait_s * 1000));
    if (send_invite() != 0) {
        fprintf(stderr, "rtpue: cannot send the INVITE\n");
        return 1;
    }
    su_root_run(g.root);
    /* let the last transaction (our 200 to a BYE, the ACK) leave */
    su_root_sleep(g.root, 100);
    print_stats();
    if (g.record && g.rec_n && write_wav(g.record, g.rec, g.rec_n, RATE, 1) == 0)
        printf("recorded %.2f s to %s\n", (double)g.rec_n / RATE, g.record);
    su_timer_destroy(limit);
    nta_leg_destroy(g.leg);
    nta_agent_destroy(g.agent);
    su_root_deregister(g.root, g.i_rtp);
    su_root_deregister(g.root, g.i_rtcp);
    su_root_deregister(g.root, g.i_tick);
    su_root_destroy(g.root);
    su_deinit();
    bool ok = !g.failed && g.status == g.expect;
    printf("result %s status=%d\n", ok ? "ok" : "failed", g.status);
    return ok ? 0 : 1;
}

/* ---- analysis ---- */

/* Power of @hz in @s (Goertzel on blocks of 100 ms, so that a tone a fraction of a hertz
 * off does not cancel itself over seconds), as a share of the signal's power */
static double tone_share(const int16_t *s, size_t n, double hz)
{
    double k = 2.0 * cos(2.0 * M_PI * hz / RATE), tone = 0, total = 0;
    const size_t block = RATE / 10;
    for (size_t b = 0; b + block <= n; b += block) {
        double s1 = 0, s2 = 0;
        for (size_t i = b; i < b + block; i++) {
            double x = s[i] / 32768.0;
            double s0 = x + k * s1 - s2;
            s2 = s1;
            s1 = s0;
            total += x * x;
        }
        /* a sine of amplitude A gives |X|^2 = (A N / 2)^2 and a power of A^2 N / 2 */
        tone += 2.0 * (s1 * s1 + s2 * s2 - k * s1 * s2) / (double)block;
    }
    return total > 0 ? tone / total : 0.0;
}

static int check_tones(const int16_t *s, size_t n, const char *list, bool present)
{
    int bad = 0;
    char *copy = strdup(list ? list : ""), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        double share = tone_share(s, n, atof(t));
        bool ok = present ? share >= 0.10 : share <= 0.01;
        printf("tone %s Hz: %.1f %% of the power (%s, %s)\n", t, share * 100.0,
               present ? "expected" : "absent", ok ? "ok" : "WRONG");
        bad += !ok;
    }
    free(copy);
    return bad;
}

static int cmd_tones(int argc, char **argv)
{
    static const struct option opts[] = {
        { "expect", required_argument, NULL, 'e' }, { "absent", required_argument, NULL, 'a' },
        { "skip", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
    };
    const char *expect = NULL, *absent = NULL;
    double skip = 0.5;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'e': expect = optarg; break;
        case 'a': absent = optarg; break;
        case 's': skip = atof(optarg); break;
        default: usage();
        }
    }
    if (optind >= argc)
        usage();
    size_t n;
    int rate;
    int16_t *s = read_wav(argv[optind], &n, &rate);
    size_t from = (size_t)(skip * rate);
    if (rate != RATE || n <= from + RATE / 2) {
        printf("%s: %zu samples at %d Hz: too short to analyse\n", argv[optind], n, rate);
        return 1;
    }
    int bad = check_tones(s + from, n - from, expect, true) +
              check_tones(s + from, n - from, absent, false);
    free(s);
    return bad ? 1 : 0;
}

/* The normalised correlation of @ref with @rec at @lag (over their overlap) */
static double correlation_at(const int16_t *rec, size_t nrec, const int16_t *ref, size_t nref,
                             long lag)
{
    double xy = 0, ex = 0, ey = 0;
    for (size_t i = 0; i < nref; i++) {
        long j = lag + (long)i;
        if (j < 0 || (size_t)j >= nrec)
            continue;
        xy += (double)rec[j] * ref[i];
        ex += (double)rec[j] * rec[j];
        ey += (double)ref[i] * ref[i];
    }
    return ex > 0 && ey > 0 ? xy / sqrt(ex * ey) : 0;
}

/*
 * How well the recording @rec holds the reference @ref: the reference in windows of 0.5 s
 * (the silent ones skipped), each found at its best lag, the first anywhere in the first
 * @maxlag samples, each next one within 0.3 s of where the previous one ended up (a stall
 * of the sender leaves a gap); the energy-weighted mean of the windows' correlations.
 * *@at receives the first window's lag.
 */
static double best_correlation(const int16_t *rec, size_t nrec, const int16_t *ref,
                               size_t nref, size_t maxlag, size_t *at)
{
    const size_t win = RATE / 2;
    const long slack = (long)(RATE * 3 / 10);
    double sum = 0, weight = 0, energy_all = 0;
    for (size_t i = 0; i < nref; i++)
        energy_all += (double)ref[i] * ref[i];
    long lag = 0;
    bool first = true;
    *at = 0;
    for (size_t w = 0; w + win <= nref; w += win) {
        double e = 0;
        for (size_t i = w; i < w + win; i++)
            e += (double)ref[i] * ref[i];
        if (e < energy_all / (double)nref * (double)win * 0.05)
            continue;                          /* a pause of the prompt tells nothing */
        long lo = first ? 0 : lag - slack, hi = first ? (long)maxlag : lag + slack;
        double best = -1;
        long best_lag = lo;
        for (long l = lo; l <= hi; l++) {
            double r = correlation_at(rec, nrec, ref + w, win, l + (long)w);
            if (r > best) {
                best = r;
                best_lag = l;
            }
        }
        if (first)
            *at = (size_t)best_lag;
        first = false;
        lag = best_lag;
        sum += best * e;
        weight += e;
    }
    return weight > 0 ? sum / weight : 0;
}

static int cmd_correlate(int argc, char **argv)
{
    static const struct option opts[] = { { "min", required_argument, NULL, 'm' },
                                           { NULL, 0, NULL, 0 } };
    double min = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o != 'm')
            usage();
        min = atof(optarg);
    }
    if (optind + 2 > argc)
        usage();
    size_t nrec, nref, at;
    int r1, r2;
    int16_t *rec = read_wav(argv[optind], &nrec, &r1);
    int16_t *ref = read_wav(argv[optind + 1], &nref, &r2);
    if (r1 != r2) {
        printf("the rates differ: %d and %d Hz\n", r1, r2);
        return 1;
    }
    double r = best_correlation(rec, nrec, ref, nref, 2 * (size_t)r1, &at);
    printf("correlation %.3f at lag %.3f s (minimum %.3f): %s\n", r, (double)at / r1, min,
           r >= min ? "ok" : "TOO LOW");
    free(rec);
    free(ref);
    return r >= min ? 0 : 1;
}

static int cmd_gen_wav(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tone", required_argument, NULL, 't' }, { "seconds", required_argument, NULL, 's' },
        { "rate", required_argument, NULL, 'r' }, { "channels", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    double hz = 440, seconds = 1;
    int rate = RATE, channels = 1, o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': hz = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'r': rate = atoi(optarg); break;
        case 'c': channels = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind >= argc || rate < 1000 || channels < 1 || channels > 8 || seconds <= 0)
        usage();
    size_t frames = (size_t)(seconds * rate);
    int16_t *s = calloc(frames * (size_t)channels, sizeof(*s));
    for (size_t i = 0; s && i < frames; i++)
        for (int c = 0; c < channels; c++)
            s[i * (size_t)channels + (size_t)c] =
                (int16_t)(10000.0 * sin(2.0 * M_PI * hz * (double)i / rate));
    int rc = s ? write_wav(argv[optind], s, frames * (size_t)channels, rate, channels) : -1;
    free(s);
    return rc ? 1 : 0;
}

static int cmd_inject(int argc, char **argv)
{
    static const struct option opts[] = {
        { "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 't' },
        { "count", required_argument, NULL, 'n' }, { "tone", required_argument, NULL, 'h' },
        { "pt", required_argument, NULL, 'p' }, { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *to = NULL;
    int count = 100, pt = 0, o;
    double hz = 1500;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'n': count = atoi(optarg); break;
        case 'h': hz = atof(optarg); break;
        case 'p': pt = atoi(optarg); break;
        default: usage();
        }
    }
    char fa[64], ta[64];
    int fp, tp;
    if (!from || !to || split_hostport(from, fa, sizeof(fa), &fp) ||
        split_hostport(to, ta, sizeof(ta), &tp))
        usage();
    int fd = udp_bind(fa, fp);
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tp) };
    inet_pton(AF_INET, ta, &dst.sin_addr);
    uint32_t ts = 1000;
    double phase = 0;
    int sent = 0;
    for (int k = 0; k < count; k++, ts += FRAME) {
        uint8_t payload[FRAME], pkt[MRFC_RTP_HDR + FRAME];
        for (int i = 0; i < FRAME; i++, phase += 2.0 * M_PI * hz / RATE)
            payload[i] = linear_to_ulaw((int)(12000.0 * sin(phase)));
        struct mrfc_rtp_hdr h = { .pt = (uint8_t)pt, .seq = (uint16_t)k, .ts = ts,
                                  .ssrc = 0x0badf00d, .payload = payload, .len = FRAME };
        size_t n = mrfc_rtp_build(pkt, sizeof(pkt), &h);
        sent += sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) > 0;
        usleep(20000);
    }
    printf("inject sent=%d from %s to %s\n", sent, from, to);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    argv[1] = argv[0];
    argc--;
    argv++;
    if (strcmp(cmd, "call") == 0)
        return cmd_call(argc, argv);
    if (strcmp(cmd, "tones") == 0)
        return cmd_tones(argc, argv);
    if (strcmp(cmd, "correlate") == 0)
        return cmd_correlate(argc, argv);
    if (strcmp(cmd, "gen-wav") == 0)
        return cmd_gen_wav(argc, argv);
    if (strcmp(cmd, "inject") == 0)
        return cmd_inject(argc, argv);
    usage();
    return 2;
}
