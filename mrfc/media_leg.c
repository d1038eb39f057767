/*
 * media_leg.c - a leg of the media thread: its sockets, what it receives (RTP from its peer
 * only, RTCP), and the frame it sends each tick (see media_int.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "media_int.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>

#define READ_BURST 32             /* datagrams read from one socket per wake */

/* A UDP socket bound to our address and @port; -errno */
static int bind_udp(struct mrfc_media *m, uint16_t port)
{
    int fd = socket(m->bind.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_storage a = m->bind;
    if (a.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&a)->sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, m->bind_len) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* Bind the RTP and RTCP sockets of slot @slot into @l. 0 or -errno. */
int mrfc_leg_bind(struct mrfc_media *m, struct leg *l, unsigned slot)
{
    l->port = (uint16_t)(m->port_base + 2 * slot);
    l->fd_rtp = bind_udp(m, l->port);
    if (l->fd_rtp < 0)
        return l->fd_rtp;
    l->fd_rtcp = bind_udp(m, (uint16_t)(l->port + 1));
    if (l->fd_rtcp < 0) {
        int e = l->fd_rtcp;
        close(l->fd_rtp);
        return e;
    }
    return 0;
}

static uint32_t random32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
        v = (uint32_t)random() ^ (uint32_t)mrfc_mono_ns();
    return v;
}

/* A new leg on slot @slot with generation @gen; NULL when out of memory */
struct leg *mrfc_leg_new(struct mrfc_media *m, unsigned slot, uint16_t gen,
                         const struct mrfc_leg_params *p)
{
    struct leg *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->m = m;
    l->slot = slot;
    l->id = (uint32_t)gen << 16 | slot;
    l->tx.ssrc = random32();
    l->tx.seq = (uint16_t)random32();
    l->tx.ts = random32();
    l->marker = true;
    l->p.codec = -1;
    mrfc_jbuf_init(&l->jb, m->c.jitter_ms * MRFC_RATE / 1000);
    mrfc_leg_apply(l, p, mrfc_mono_ns() / 1000);
    l->next_rtcp_us = mrfc_mono_ns() / 1000 + (uint64_t)m->c.rtcp_interval_ms * 500;
    return l;
}

struct leg *mrfc_leg_find(struct mrfc_media *m, uint32_t id)
{
    unsigned slot = id & 0xffff;
    if (slot >= m->nslots || !m->slots[slot].leg || m->slots[slot].leg->id != id)
        return NULL;
    return m->slots[slot].leg;
}

/* Apply parameters @p to @l (on add and update) */
void mrfc_leg_apply(struct leg *l, const struct mrfc_leg_params *p, uint64_t now_us)
{
    bool codec_changed = l->p.codec != p->codec;
    l->p = *p;
    l->peer_len = 0;
    if (p->rtp.ss_family == AF_INET)
        l->peer_len = sizeof(struct sockaddr_in);
    else if (p->rtp.ss_family == AF_INET6)
        l->peer_len = sizeof(struct sockaddr_in6);
    l->rtcp_addr = p->rtp;
    if (p->rtp.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->rtcp_addr)->sin6_port = htons(p->rtcp_port);
    else if (p->rtp.ss_family == AF_INET)
        ((struct sockaddr_in *)&l->rtcp_addr)->sin_port = htons(p->rtcp_port);
    if (p->inband_dtmf && !l->dtmf)
        l->dtmf = dtmf_rx_init(NULL, mrfc_dtmf_inband, l);
    if (codec_changed)
        l->marker = true;
    l->last_rx_us = now_us;           /* the timeout counts from the latest negotiation */
    l->timeout_reported = false;
}

void mrfc_leg_add(struct mrfc_media *m, struct leg *l)
{
    struct epoll_event e = { .events = EPOLLIN };
    m->slots[l->slot].leg = l;
    e.data.u64 = (uint64_t)l->slot << 1;
    epoll_ctl(m->epfd, EPOLL_CTL_ADD, l->fd_rtp, &e);
    e.data.u64 = (uint64_t)l->slot << 1 | 1;
    epoll_ctl(m->epfd, EPOLL_CTL_ADD, l->fd_rtcp, &e);
    l->active_idx = m->nactive;
    m->active[m->nactive++] = l;
    ims_gauge_set(mrfc_mx.legs, m->nactive);
}

static void leg_stats(struct leg *l, struct mrfc_leg_stats *st)
{
    *st = l->st;
    st->lost = mrfc_rtp_rx_lost(&l->rx);
    st->late = l->jb.late;
    st->jitter_ms = l->rx.jitter * 1000.0 / MRFC_RATE;
}

/* Send one RTCP compound packet of @len bytes */
static void rtcp_send(struct leg *l, const uint8_t *buf, size_t len)
{
    if (!l->peer_len || !len)
        return;
    if (sendto(l->fd_rtcp, buf, len, 0, (struct sockaddr *)&l->rtcp_addr, l->peer_len) < 0)
        ims_counter_inc(mrfc_mx.send_errors);
    else
        ims_counter_inc(mrfc_mx.rtcp_sent);
}

/* Account loss and lateness not yet in the daemon's counters */
static void leg_account(struct leg *l)
{
    int64_t lost = mrfc_rtp_rx_lost(&l->rx);
    if (lost > l->lost_reported) {
        ims_counter_add(mrfc_mx.lost, (uint64_t)(lost - l->lost_reported));
        l->lost_reported = lost;
    }
    if (l->jb.late > l->late_reported) {
        ims_counter_add(mrfc_mx.late, l->jb.late - l->late_reported);
        l->late_reported = l->jb.late;
    }
}

/* Take @l out of the media thread, close its sockets, give its ports back, free it */
void mrfc_leg_remove(struct mrfc_media *m, struct leg *l, bool report)
{
    mrfc_play_end(m, l, MRFC_END_STOPPED, false);
    mrfc_collect_end(m, l, MRFC_END_STOPPED, false);
    mrfc_record_end(m, l, MRFC_END_STOPPED, false);
    if (l->mixer)
        mrfc_mixer_remove_leg(l->mixer, l);
    uint8_t buf[256];
    size_t len = mrfc_rtcp_report(buf, sizeof(buf), &l->tx, &l->rx, m->cname, mrfc_wall_us(),
                                  l->tx.ts, mrfc_mono_ns() / 1000);
    rtcp_send(l, buf, mrfc_rtcp_bye(buf, len, sizeof(buf), l->tx.ssrc));
    leg_account(l);
    struct mrfc_media_event ev = { .kind = MRFC_EV_CLOSED, .leg = l->id };
    leg_stats(l, &ev.stats);
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, l->fd_rtp, NULL);
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, l->fd_rtcp, NULL);
    close(l->fd_rtp);
    close(l->fd_rtcp);
    struct leg *last = m->active[--m->nactive];
    m->active[l->active_idx] = last;
    last->active_idx = l->active_idx;
    ims_gauge_set(mrfc_mx.legs, m->nactive);
    m->slots[l->slot].leg = NULL;
    if (l->dtmf)
        dtmf_rx_free(l->dtmf);
    mrfc_media_slot_give(m, l->slot);
    free(l);
    if (report)
        mrfc_media_post(m, &ev);              /* once the ports are free again */
}

static bool from_peer(const struct leg *l, const struct sockaddr_storage *from)
{
    if (!l->peer_len || from->ss_family != l->p.rtp.ss_family)
        return false;
    if (from->ss_family == AF_INET)
        return ((const struct sockaddr_in *)from)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)&l->p.rtp)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr,
                  &((const struct sockaddr_in6 *)&l->p.rtp)->sin6_addr, 16) == 0;
}

/* Decode G.711 audio of @h into the jitter buffer */
static void on_audio(struct leg *l, const struct mrfc_rtp_hdr *h)
{
    int16_t pcm[MRFC_RTP_MAX];
    size_t n = h->len < MRFC_RTP_MAX ? h->len : MRFC_RTP_MAX;
    for (size_t i = 0; i < n; i++)
        pcm[i] = l->p.codec == MRFC_CODEC_PCMA ? alaw_to_linear(h->payload[i])
                                               : ulaw_to_linear(h->payload[i]);
    mrfc_jbuf_put(&l->jb, h->ts, pcm, n);
}

static void on_rtp(struct mrfc_media *m, struct leg *l, const uint8_t *buf, size_t len,
                   uint64_t now_us)
{
    struct mrfc_rtp_hdr h;
    if (mrfc_rtp_parse(buf, len, &h) != 0) {
        ims_counter_inc(mrfc_mx.malformed);
        l->st.dropped++;
        return;
    }
    bool audio = h.pt == l->p.pt, te = l->p.te_pt >= 0 && h.pt == l->p.te_pt;
    if (!audio && !te) {
        ims_counter_inc(mrfc_mx.payload);
        l->st.dropped++;
        return;
    }
    uint32_t arrival = (uint32_t)(now_us * MRFC_RATE / 1000000);
    int seq = mrfc_rtp_rx_update(&l->rx, h.ssrc, h.seq, h.ts, arrival);
    if (seq == MRFC_SEQ_BAD) {
        l->st.dropped++;
        return;
    }
    if (seq == MRFC_SEQ_RESTART) {
        mrfc_jbuf_reset(&l->jb);
        l->te_seen = false;
    }
    l->st.received++;
    ims_counter_inc(mrfc_mx.received);
    l->last_rx_us = now_us;
    l->timeout_reported = false;
    if (te)
        mrfc_dtmf_event(m, l, &h);
    else if (l->p.dir & MRFC_DIR_RECV)
        on_audio(l, &h);
}

static void on_rtcp(struct leg *l, const uint8_t *buf, size_t len, uint64_t now_us)
{
    struct mrfc_rtcp_info info;
    if (mrfc_rtcp_parse(buf, len, l->tx.ssrc, &info) != 0) {
        ims_counter_inc(mrfc_mx.malformed);
        return;
    }
    ims_counter_inc(mrfc_mx.rtcp_received);
    l->last_rx_us = now_us;
    if (info.sr && info.ssrc == l->rx.ssrc) {
        l->rx.lsr = info.ntp_mid;
        l->rx.lsr_at_us = now_us;
    }
}

/* Read what socket @rtcp of @l has (a bounded number of datagrams) */
void mrfc_leg_read(struct mrfc_media *m, struct leg *l, bool rtcp)
{
    uint8_t buf[MRFC_RTP_MAX];
    for (int i = 0; i < READ_BURST; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(rtcp ? l->fd_rtcp : l->fd_rtp, buf, sizeof(buf), 0,
                             (struct sockaddr *)&from, &flen);
        if (n < 0)
            return;
        if (!from_peer(l, &from)) {
            ims_counter_inc(mrfc_mx.foreign);  /* another host's packets never enter a leg */
            l->st.dropped++;
            continue;
        }
        uint64_t now_us = mrfc_mono_ns() / 1000;
        if (rtcp)
            on_rtcp(l, buf, (size_t)n, now_us);
        else
            on_rtp(m, l, buf, (size_t)n, now_us);
    }
}

bool mrfc_leg_can_send(const struct leg *l)
{
    return l->peer_len && (l->p.dir & MRFC_DIR_SEND);
}

/* The input of this tick, digits in it, and the timers of the leg */
void mrfc_leg_input(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    l->has_in = (l->p.dir & MRFC_DIR_RECV) && mrfc_jbuf_get(&l->jb, l->in, FRAME);
    if (!l->has_in)
        memset(l->in, 0, sizeof(l->in));
    if (l->has_in && l->dtmf)
        dtmf_rx(l->dtmf, l->in, FRAME);
    if (l->col.active && l->col.deadline_us && now_us >= l->col.deadline_us)
        mrfc_collect_end(m, l, MRFC_END_TIMEOUT, true);
    if (l->rec.active)
        mrfc_record_frame(m, l);
    if (m->c.rtp_timeout_ms && !l->timeout_reported && l->peer_len &&
        (l->p.dir & MRFC_DIR_RECV) &&
        now_us - l->last_rx_us > (uint64_t)m->c.rtp_timeout_ms * 1000) {
        l->timeout_reported = true;
        mrfc_media_post_simple(m, l, MRFC_EV_RTP_TIMEOUT, 0, 0);
    }
}

static void send_frame(struct leg *l, const int16_t *pcm)
{
    uint8_t payload[FRAME], pkt[MRFC_RTP_HDR + FRAME];
    for (int i = 0; i < FRAME; i++)
        payload[i] = l->p.codec == MRFC_CODEC_PCMA ? linear_to_alaw(pcm[i])
                                                   : linear_to_ulaw(pcm[i]);
    struct mrfc_rtp_hdr h = { .pt = l->p.pt, .marker = l->marker, .seq = l->tx.seq,
                              .ts = l->tx.ts, .ssrc = l->tx.ssrc, .payload = payload,
                              .len = FRAME };
    size_t len = mrfc_rtp_build(pkt, sizeof(pkt), &h);
    if (sendto(l->fd_rtp, pkt, len, 0, (struct sockaddr *)&l->p.rtp, l->peer_len) < 0) {
        ims_counter_inc(mrfc_mx.send_errors);
        return;
    }
    l->marker = false;
    l->tx.seq++;
    l->tx.packets++;
    l->tx.octets += FRAME;
    l->st.sent++;
    ims_counter_inc(mrfc_mx.sent);
}

static void leg_rtcp(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    if (!l->peer_len || now_us < l->next_rtcp_us)
        return;
    /* RFC 3550 6.3.1: a random interval between 0.5 and 1.5 times the nominal one */
    uint64_t base = (uint64_t)m->c.rtcp_interval_ms * 1000;
    l->next_rtcp_us = now_us + base / 2 + (uint64_t)(random() % (long)(base + 1));
    uint8_t buf[256];
    rtcp_send(l, buf, mrfc_rtcp_report(buf, sizeof(buf), &l->tx, &l->rx, m->cname, mrfc_wall_us(),
                                       l->tx.ts, now_us));
    if (l->rx.started)
        ims_histogram_observe(mrfc_mx.jitter, l->rx.jitter / MRFC_RATE);
    leg_account(l);
}

/* Build and send the frame of this tick; the RTP clock runs whether or not it is sent */
void mrfc_leg_output(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    int16_t frame[FRAME];
    bool send = mrfc_leg_can_send(l);
    if (l->play.active && send)
        mrfc_play_fill(m, l, frame);       /* a play waits while the peer holds the call */
    else if (l->mixer)
        memcpy(frame, l->mixout, sizeof(frame));
    else
        memset(frame, 0, sizeof(frame));
    if (send)
        send_frame(l, frame);
    else
        l->marker = true;
    l->tx.ts += FRAME;
    leg_rtcp(m, l, now_us);
}
