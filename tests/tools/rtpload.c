/*
 * rtpload - many RTP calls at once towards the MRF, for bench/mrfc.sh: how well it paces
 *
 *   rtpload --sip ADDR:PORT --rtp ADDR:BASEPORT --to URI --legs N [--conf-size K]
 *           [--send none|tone:HZ] [--seconds S] [--rate CALLS_PER_S]
 *
 * Places N calls from one SIP agent (URI's "%d", if any, becomes the leg's index divided by
 * K: with K = 3, legs 0-2 join conference 0, 3-5 conference 1, ...), each with an SDP offer
 * of its own RTP port (BASEPORT + 2 i), at --rate calls a second. Once every call is
 * answered it lets one second pass, then measures for S seconds what arrives on every leg:
 * the interval between consecutive packets (kernel receive timestamps, SO_TIMESTAMPNS), its
 * error against 20 ms, and the packets lost (RFC 3550 A.3 over the window); legs with
 * --send send 20 ms packets of a sine themselves. Then it hangs every call up and prints:
 *
 *   load legs=N answered=A refused=R packets=P lost=L loss_pct=X
 *        err_ms_p50=.. err_ms_p99=.. err_ms_p999=.. err_ms_max=.. late5_pct=..
 *
 * late5_pct: the share of intervals more than 5 ms off. Exit status 0 when every call was
 * answered.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

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

#define FRAME 160
#define BUCKETS 10000             /* interval error histogram: 10 us buckets up to 100 ms */
#define BUCKET_NS 10000

struct lleg {
    int index;
    nta_leg_t *leg;
    int fd;
    su_wait_t w;
    int reg;
    bool answered, refused, ended;
    struct sockaddr_in peer;
    bool has_peer;
    int codec, pt;
    struct mrfc_rtp_tx tx;
    struct mrfc_rtp_rx rx;
    uint64_t last_ns;
    uint16_t last_seq;
    bool have_last;
    uint64_t win_expected, win_received;   /* at the window's start */
};

static struct {
    su_root_t *root;
    nta_agent_t *agent;
    const char *to;
    char sip_addr[64], rtp_addr[64], contact[160];
    int sip_port, rtp_base, legs, conf_size, placed, answered, refused, ended;
    double seconds, rate, hz;
    struct lleg *l;
    bool measuring;
    uint64_t hist[BUCKETS + 1], intervals, packets;
    int tfd;
    su_wait_t tw;
    double phase;
} g;

static void usage(void)
{
    fprintf(stderr, "usage: rtpload --sip ADDR:PORT --rtp ADDR:BASEPORT --to URI --legs N\n"
                    "               [--conf-size K] [--send none|tone:HZ] [--seconds S]\n"
                    "               [--rate CALLS_PER_S]\n");
    exit(2);
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

/* ---- reception: kernel timestamps, interval errors ---- */

static void account(struct lleg *l, const struct mrfc_rtp_hdr *h, uint64_t ns)
{
    mrfc_rtp_rx_update(&l->rx, h->ssrc, h->seq, h->ts, (uint32_t)(ns / 125000));
    if (g.measuring && l->have_last && h->seq == (uint16_t)(l->last_seq + 1)) {
        int64_t err = (int64_t)(ns - l->last_ns) - 20000000;
        uint64_t b = (uint64_t)(err < 0 ? -err : err) / BUCKET_NS;
        g.hist[b < BUCKETS ? b : BUCKETS]++;
        g.intervals++;
    }
    if (g.measuring)
        g.packets++;
    l->have_last = true;
    l->last_seq = h->seq;
    l->last_ns = ns;
}

static int on_rtp(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    struct lleg *l = (struct lleg *)arg;
    for (int k = 0; k < 64; k++) {
        uint8_t buf[MRFC_RTP_MAX];
        char ctl[128];
        struct iovec iov = { buf, sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = sizeof(ctl) };
        ssize_t n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
        if (n <= 0)
            break;
        uint64_t ns = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            }
        }
        struct mrfc_rtp_hdr h;
        if (ns && mrfc_rtp_parse(buf, (size_t)n, &h) == 0)
            account(l, &h, ns);
    }
    return 0;
}

/* ---- sending (legs with --send) ---- */

static int on_tick(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    uint64_t n;
    if (read(g.tfd, &n, sizeof(n)) != sizeof(n))
        return 0;
    uint8_t payload[FRAME], pkt[MRFC_RTP_HDR + FRAME];
    int16_t pcm[FRAME];
    for (int i = 0; i < FRAME; i++, g.phase += 2 * M_PI * g.hz / 8000)
        pcm[i] = (int16_t)(6000 * sin(g.phase));
    g.phase = fmod(g.phase, 2 * M_PI);
    for (int i = 0; i < g.legs; i++) {
        struct lleg *l = &g.l[i];
        l->tx.ts += FRAME;
        if (!l->has_peer || l->ended)
            continue;
        for (int k = 0; k < FRAME; k++)
            payload[k] = l->codec == MRFC_CODEC_PCMA ? linear_to_alaw(pcm[k])
                                                     : linear_to_ulaw(pcm[k]);
        struct mrfc_rtp_hdr h = { .pt = (uint8_t)l->pt, .seq = l->tx.seq++, .ts = l->tx.ts,
                                  .ssrc = l->tx.ssrc, .payload = payload, .len = FRAME };
        size_t len = mrfc_rtp_build(pkt, sizeof(pkt), &h);
        sendto(l->fd, pkt, len, 0, (struct sockaddr *)&l->peer, sizeof(l->peer));
    }
    return 0;
}

/* ---- SIP ---- */

static int on_dialog(nta_leg_magic_t *m, nta_leg_t *leg, nta_incoming_t *irq, const sip_t *sip)
{
    (void)leg;
    (void)irq;
    struct lleg *l = (struct lleg *)m;
    if (sip->sip_request->rq_method == sip_method_bye) {
        if (!l->ended)
            g.ended++;
        l->ended = true;
        return 200;
    }
    return sip->sip_request->rq_method == sip_method_ack ? 0 : 200;
}

static int on_answer(nta_outgoing_magic_t *m, nta_outgoing_t *orq, const sip_t *sip)
{
    struct lleg *l = (struct lleg *)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    struct mrfc_sdp_neg n;
    char why[160], cs[32];
    if (status >= 300 || !sip || !sip->sip_payload ||
        mrfc_sdp_negotiate(sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                           MRFC_DIR_SENDRECV, 1u << MRFC_CODEC_PCMU | 1u << MRFC_CODEC_PCMA,
                           &n, why, sizeof(why)) != 0) {
        l->refused = true;
        g.refused++;
        nta_outgoing_destroy(orq);
        return 0;
    }
    nta_leg_rtag(l->leg, sip->sip_to->a_tag);
    nta_leg_client_route(l->leg, sip->sip_record_route, sip->sip_contact);
    snprintf(cs, sizeof(cs), "%u ACK", sip->sip_cseq->cs_seq);
    nta_outgoing_t *ack = nta_outgoing_tcreate(l->leg, NULL, NULL, NULL, SIP_METHOD_ACK, NULL,
                                               SIPTAG_CSEQ_STR(cs), TAG_END());
    if (ack)
        nta_outgoing_destroy(ack);
    l->codec = n.codec;
    l->pt = n.pt;
    l->peer.sin_family = AF_INET;
    l->peer.sin_port = htons(n.port);
    inet_pton(AF_INET, n.addr, &l->peer.sin_addr);
    l->has_peer = g.hz > 0;       /* only legs that send need the peer */
    l->answered = true;
    g.answered++;
    nta_outgoing_destroy(orq);
    return 0;
}

static void place_call(struct lleg *l)
{
    char uri[300], callid[64], from[160], sdp[1024];
    snprintf(uri, sizeof(uri), g.to, g.conf_size > 0 ? l->index / g.conf_size : l->index);
    snprintf(callid, sizeof(callid), "rtpload-%d-%d-%ld", getpid(), l->index, (long)time(NULL));
    snprintf(from, sizeof(from), "<sip:load@%s>;tag=l%d", g.sip_addr, l->index);
    l->leg = nta_leg_tcreate(g.agent, on_dialog, (nta_leg_magic_t *)l,
                             SIPTAG_CALL_ID_STR(callid), SIPTAG_FROM_STR(from),
                             SIPTAG_TO_STR(uri), TAG_END());
    struct mrfc_sdp_local loc = { .addr = g.rtp_addr, .port = (uint16_t)(g.rtp_base + 2 * l->index),
                                  .id = (uint64_t)l->index, .version = 1, .user = "load" };
    mrfc_sdp_offer(sdp, sizeof(sdp), &loc, 1u << MRFC_CODEC_PCMU, MRFC_DIR_SENDRECV);
    nta_outgoing_t *orq = l->leg ? nta_outgoing_tcreate(
        l->leg, on_answer, (nta_outgoing_magic_t *)l, NULL, SIP_METHOD_INVITE,
        (url_string_t *)uri, SIPTAG_CONTACT_STR(g.contact),
        SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END())
                                 : NULL;
    if (!orq) {
        l->refused = true;
        g.refused++;
    }
}

static void open_sockets(void)
{
    int one = 1;
    for (int i = 0; i < g.legs; i++) {
        struct lleg *l = &g.l[i];
        l->index = i;
        l->tx.ssrc = (uint32_t)random();
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(g.rtp_base + 2 * i)) };
        inet_pton(AF_INET, g.rtp_addr, &a.sin_addr);
        l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            setsockopt(l->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
            fprintf(stderr, "rtpload: cannot bind %s:%d: %s\n", g.rtp_addr, g.rtp_base + 2 * i,
                    strerror(errno));
            exit(1);
        }
        su_wait_create(&l->w, l->fd, SU_WAIT_IN);
        l->reg = su_root_register(g.root, &l->w, on_rtp, (su_wakeup_arg_t *)l, 0);
    }
}

/* Run the loop for @ms milliseconds */
static void run_for(long ms)
{
    su_root_sleep(g.root, ms);
}

static void window_start(void)
{
    for (int i = 0; i < g.legs; i++) {
        g.l[i].win_expected = mrfc_rtp_rx_expected(&g.l[i].rx);
        g.l[i].win_received = g.l[i].rx.received;
    }
    g.measuring = true;
}

static double percentile(double p)
{
    uint64_t want = (uint64_t)ceil(p * (double)g.intervals), seen = 0;
    for (int b = 0; b <= BUCKETS; b++) {
        seen += g.hist[b];
        if (seen >= want && want > 0)
            return (double)b * BUCKET_NS / 1e6;
    }
    return 0;
}

static void report(void)
{
    int64_t lost = 0;
    uint64_t expected = 0;
    for (int i = 0; i < g.legs; i++) {
        struct lleg *l = &g.l[i];
        uint64_t e = mrfc_rtp_rx_expected(&l->rx) - l->win_expected;
        expected += e;
        lost += (int64_t)e - (int64_t)(l->rx.received - l->win_received);
    }
    uint64_t late = 0;
    for (int b = 5000000 / BUCKET_NS + 1; b <= BUCKETS; b++)
        late += g.hist[b];
    double max = 0;
    for (int b = BUCKETS; b >= 0; b--)
        if (g.hist[b]) {
            max = (double)b * BUCKET_NS / 1e6;
            break;
        }
    printf("load legs=%d answered=%d refused=%d packets=%llu lost=%lld loss_pct=%.3f "
           "err_ms_p50=%.2f err_ms_p99=%.2f err_ms_p999=%.2f err_ms_max=%.2f late5_pct=%.3f\n",
           g.legs, g.answered, g.refused, (unsigned long long)g.packets, (long long)lost,
           expected ? 100.0 * (double)lost / (double)expected : 0.0, percentile(0.5),
           percentile(0.99), percentile(0.999), max,
           g.intervals ? 100.0 * (double)late / (double)g.intervals : 0.0);
}

static void hang_up(void)
{
    for (int i = 0; i < g.legs; i++) {
        struct lleg *l = &g.l[i];
        if (l->answered && !l->ended)
            nta_outgoing_tcreate(l->leg, NULL, NULL, NULL, SIP_METHOD_BYE, NULL, TAG_END());
        l->ended = true;
    }
    run_for(1000);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "sip", required_argument, NULL, 's' }, { "rtp", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' }, { "legs", required_argument, NULL, 'n' },
        { "conf-size", required_argument, NULL, 'k' }, { "send", required_argument, NULL, 'S' },
        { "seconds", required_argument, NULL, 'd' }, { "rate", required_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 },
    };
    const char *sip = NULL, *rtp = NULL;
    g.seconds = 10;
    g.rate = 100;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': sip = optarg; break;
        case 'r': rtp = optarg; break;
        case 't': g.to = optarg; break;
        case 'n': g.legs = atoi(optarg); break;
        case 'k': g.conf_size = atoi(optarg); break;
        case 'S': g.hz = strncmp(optarg, "tone:", 5) == 0 ? atof(optarg + 5) : 0; break;
        case 'd': g.seconds = atof(optarg); break;
        case 'R': g.rate = atof(optarg); break;
        default: usage();
        }
    }
    if (!sip || !rtp || !g.to || g.legs < 1 || g.rate <= 0 ||
        split_hostport(sip, g.sip_addr, sizeof(g.sip_addr), &g.sip_port) ||
        split_hostport(rtp, g.rtp_addr, sizeof(g.rtp_addr), &g.rtp_base))
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(g.contact, sizeof(g.contact), "<sip:load@%s:%d>", g.sip_addr, g.sip_port);
    su_init();
    g.root = su_root_create(NULL);
    char url[128];
    snprintf(url, sizeof(url), "sip:%s:%d;transport=udp", g.sip_addr, g.sip_port);
    const char *u = url;
    g.agent = nta_agent_create(g.root, URL_STRING_MAKE(u), NULL, NULL, NTATAG_UA(1), TAG_END());
    g.l = calloc((size_t)g.legs, sizeof(*g.l));
    if (!g.agent || !g.l) {
        fprintf(stderr, "rtpload: cannot listen on %s\n", url);
        return 1;
    }
    open_sockets();
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } };
    timerfd_settime(g.tfd, 0, &its, NULL);
    su_wait_create(&g.tw, g.tfd, SU_WAIT_IN);
    su_root_register(g.root, &g.tw, on_tick, NULL, 0);
    for (int i = 0; i < g.legs; i++) {
        place_call(&g.l[i]);
        run_for((long)(1000.0 / g.rate));
    }
    for (int k = 0; k < 100 && g.answered + g.refused < g.legs; k++)
        run_for(100);
    run_for(1000);                /* the jitter buffers fill, the mixers start */
    window_start();
    run_for((long)(g.seconds * 1000));
    g.measuring = false;
    report();
    hang_up();
    return g.answered == g.legs ? 0 : 1;
}
