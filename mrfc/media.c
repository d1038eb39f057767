/*
 * media.c - the media thread: legs, the 20 ms tick, play, collect, mixers (see media.h)
 *
 * Ownership: a leg is built on the controller's thread by mrfc_media_leg_open() and handed
 * over with CMD_ADD; from then on only the media thread touches it, and it frees it on
 * CMD_CLOSE. The port pool is shared (a mutex): the controller takes a pair, the media
 * thread gives it back. Everything else of a leg or mixer belongs to the media thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "media.h"
#include "dsp.h"
#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "rtp.h"
#include "sdp.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>

#define FRAME (MRFC_RATE * MRFC_PTIME / 1000)    /* samples a tick: 160 */
#define TICK_NS (MRFC_PTIME * 1000000L)
#define CATCH_UP_MAX 10           /* ticks run at once after a stall; more are skipped */
#define READ_BURST 32             /* datagrams read from one socket per wake */
#define EV_TIMER UINT64_MAX
#define EV_QUEUE (UINT64_MAX - 1)
#define TYPEAHEAD 32              /* digits kept while no collection runs */

enum cmd_type {
    CMD_ADD = 1, CMD_UPDATE, CMD_PLAY, CMD_COLLECT, CMD_STOP,
    CMD_MIX_NEW, CMD_MIX_DEL, CMD_JOIN, CMD_UNJOIN,
};

struct leg;

struct cmd {
    int type;
    uint32_t id;
    uint32_t mixer;
    struct leg *leg;              /* CMD_ADD */
    union {
        struct mrfc_leg_params p;
        struct mrfc_play play;
        struct mrfc_collect col;
    } u;
};

struct play_state {
    bool active;
    struct mrfc_play req;
    int item;
    size_t pos;
    unsigned round;
    uint32_t delay_left;          /* samples of silence before the next round */
    uint64_t played;              /* samples */
    tone_gen_state_t *tone;
};

struct collect_state {
    bool active;
    struct mrfc_collect req;
    char digits[MRFC_DIGITS_MAX + 1];
    unsigned n;
    uint64_t deadline_us;         /* 0: none */
};

struct mixer;

struct leg {
    struct mrfc_media *m;
    uint32_t id;
    unsigned slot;
    int fd_rtp, fd_rtcp;
    uint16_t port;
    struct mrfc_leg_params p;
    socklen_t peer_len;
    struct sockaddr_storage rtcp_addr;
    struct mrfc_rtp_tx tx;
    struct mrfc_rtp_rx rx;
    struct mrfc_jbuf jb;
    int16_t in[FRAME];
    bool has_in;
    int16_t mixout[FRAME];
    struct mixer *mixer;
    unsigned active_idx;
    struct play_state play;
    struct collect_state col;
    char ahead[TYPEAHEAD + 1];    /* digits typed with no collection running */
    dtmf_rx_state_t *dtmf;
    bool te_seen;
    uint32_t te_last_ts;
    uint64_t last_rx_us;
    bool timeout_reported;
    uint64_t next_rtcp_us;
    bool marker;                  /* set the marker bit on the next packet sent */
    uint64_t late_reported;
    int64_t lost_reported;
    struct mrfc_leg_stats st;
};

struct mixer {
    uint32_t id;
    struct mixer *next;
    struct leg **members;
    const int16_t **ins;
    int16_t **outs;
    size_t n, cap;
};

struct slot {
    struct leg *leg;              /* media thread */
    uint32_t doomed;              /* media thread: closed before its CMD_ADD was run */
    bool taken;                   /* pool (pool_lock) */
    uint16_t gen;                 /* pool (pool_lock) */
    uint32_t close_id;            /* close requested, until the slot is free (q_lock) */
    unsigned close_next;          /* the next slot to close + 1, 0 at the end (q_lock) */
};

struct mrfc_media {
    struct mrfc_media_conf c;
    char address[64];
    char cname[128];
    struct sockaddr_storage bind;
    socklen_t bind_len;
    struct ims_loop *loop;
    mrfc_media_event_fn fn;
    void *arg;
    /* port pool */
    pthread_mutex_t pool_lock;
    struct slot *slots;
    unsigned nslots, cursor;
    unsigned port_base;
    atomic_uint open_legs;
    atomic_uint next_mixer;
    /* command queue */
    pthread_mutex_t q_lock;
    struct cmd *ring;
    size_t q_cap, q_head, q_count;
    unsigned close_head;          /* slots to close, a stack through slot.close_next */
    int efd;
    /* the thread */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int epfd, tfd;
    struct leg **active;
    unsigned nactive;
    struct mixer *mixers;
    uint64_t tick_deadline_ns;
};

/* ---- metrics (one registry per process; handles are lock-free) ---- */

static struct {
    struct ims_counter *sent, *received, *lost, *late, *foreign, *malformed, *payload,
        *rtcp_sent, *rtcp_received, *ticks, *ticks_late, *ticks_skipped, *dtmf_4733,
        *dtmf_inband, *send_errors, *events_lost;
    struct ims_gauge *legs, *mixers;
    struct ims_histogram *jitter, *tick_lateness, *tick_work;
} mx;

static void metrics_init(void)
{
    static const double jitter_bounds[] = { 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08,
                                            0.16 };
    static const double tick_bounds[] = { 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                          0.04 };
    const char *h = "RTP packets dropped on reception, by reason";
    mx.sent = ims_counter_new("mrfc_rtp_packets_sent_total", "RTP packets sent", NULL);
    mx.received = ims_counter_new("mrfc_rtp_packets_received_total",
                                  "RTP packets received from the legs' peers", NULL);
    mx.lost = ims_counter_new("mrfc_rtp_packets_lost_total",
                              "RTP packets lost on the way in (RFC 3550 cumulative loss)", NULL);
    mx.late = ims_counter_new("mrfc_rtp_packets_late_total",
                              "RTP packets that arrived after their playout time", NULL);
    mx.foreign = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"foreign\"");
    mx.malformed = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"malformed\"");
    mx.payload = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"payload\"");
    mx.rtcp_sent = ims_counter_new("mrfc_rtcp_packets_sent_total", "RTCP packets sent", NULL);
    mx.rtcp_received = ims_counter_new("mrfc_rtcp_packets_received_total",
                                       "RTCP packets received", NULL);
    mx.ticks = ims_counter_new("mrfc_media_ticks_total", "20 ms media ticks run", NULL);
    mx.ticks_late = ims_counter_new("mrfc_media_ticks_late_total",
                                    "ticks run late (after a stall of the media thread)", NULL);
    mx.ticks_skipped = ims_counter_new("mrfc_media_ticks_skipped_total",
                                       "ticks skipped after a long stall", NULL);
    mx.dtmf_4733 = ims_counter_new("mrfc_dtmf_digits_total", "DTMF digits received",
                                   "source=\"rfc4733\"");
    mx.dtmf_inband = ims_counter_new("mrfc_dtmf_digits_total", "DTMF digits received",
                                     "source=\"inband\"");
    mx.send_errors = ims_counter_new("mrfc_rtp_send_errors_total",
                                     "RTP or RTCP packets the kernel did not take", NULL);
    mx.events_lost = ims_counter_new("mrfc_media_events_lost_total",
                                     "media events the loop queue could not take", NULL);
    mx.legs = ims_gauge_new("mrfc_media_legs", "legs the media thread serves", NULL);
    mx.mixers = ims_gauge_new("mrfc_media_mixers", "mixers (conferences)", NULL);
    mx.jitter = ims_histogram_new("mrfc_rtp_jitter_seconds",
                                  "interarrival jitter of the legs (RFC 3550), at each report",
                                  NULL, jitter_bounds, 8);
    mx.tick_lateness = ims_histogram_new("mrfc_media_tick_lateness_seconds",
                                         "how late the media thread woke for its tick", NULL,
                                         tick_bounds, 8);
    mx.tick_work = ims_histogram_new("mrfc_media_tick_work_seconds",
                                     "time one tick of every leg took", NULL, tick_bounds, 8);
}

/* ---- clocks ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- pure mixing ---- */

void mrfc_mix(const int16_t *const *in, int16_t *const *out, size_t n, size_t len)
{
    for (size_t s = 0; s < len; s++) {
        int32_t sum = 0;
        for (size_t i = 0; i < n; i++)
            if (in[i])
                sum += in[i][s];
        for (size_t i = 0; i < n; i++) {
            int32_t v = sum - (in[i] ? in[i][s] : 0);
            out[i][s] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
}

/* ---- events to the controller ---- */

struct ev_job {
    mrfc_media_event_fn fn;
    void *arg;
    struct mrfc_media_event ev;
};

static void ev_deliver(void *arg)
{
    struct ev_job *j = arg;
    j->fn(j->arg, &j->ev);
    free(j);
}

/* Post @ev to the loop thread; a full queue loses it (counted, logged) */
static void ev_post(struct mrfc_media *m, const struct mrfc_media_event *ev)
{
    struct ev_job *j = malloc(sizeof(*j));
    if (j) {
        j->fn = m->fn;
        j->arg = m->arg;
        j->ev = *ev;
        if (ims_loop_post(m->loop, ev_deliver, j) == 0)
            return;
        free(j);
    }
    ims_counter_inc(mx.events_lost);
    ims_warn("mrfc: media event %d of leg %08x lost: the loop queue is full", ev->kind, ev->leg);
}

static void ev_simple(struct mrfc_media *m, struct leg *l, int kind, uint64_t cookie,
                      int reason)
{
    struct mrfc_media_event ev = { .kind = kind, .leg = l->id, .cookie = cookie,
                                   .reason = reason };
    if (kind == MRFC_EV_PLAY_DONE)
        ev.played_ms = (unsigned)(l->play.played * 1000 / MRFC_RATE);
    if (kind == MRFC_EV_COLLECT_DONE)
        memcpy(ev.digits, l->col.digits, sizeof(ev.digits));
    ev_post(m, &ev);
}

/* ---- the command queue ---- */

static int push(struct mrfc_media *m, const struct cmd *c)
{
    pthread_mutex_lock(&m->q_lock);
    if (m->q_count == m->q_cap) {
        pthread_mutex_unlock(&m->q_lock);
        return -EAGAIN;
    }
    m->ring[(m->q_head + m->q_count) % m->q_cap] = *c;
    bool wake = ++m->q_count == 1;
    pthread_mutex_unlock(&m->q_lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t w = write(m->efd, &one, sizeof(one));
        (void)w;                      /* a saturated counter still leaves the fd readable */
    }
    return 0;
}

static bool pop(struct mrfc_media *m, struct cmd *c)
{
    pthread_mutex_lock(&m->q_lock);
    bool got = m->q_count > 0;
    if (got) {
        *c = m->ring[m->q_head];
        m->q_head = (m->q_head + 1) % m->q_cap;
        m->q_count--;
    }
    pthread_mutex_unlock(&m->q_lock);
    return got;
}

/* ---- the port pool ---- */

/* Take a free slot; -EBUSY when none */
static int slot_take(struct mrfc_media *m, unsigned *slot, uint16_t *gen)
{
    int rc = -EBUSY;
    pthread_mutex_lock(&m->pool_lock);
    for (unsigned k = 0; k < m->nslots; k++) {
        unsigned i = (m->cursor + k) % m->nslots;
        if (m->slots[i].taken)
            continue;
        m->slots[i].taken = true;
        *gen = ++m->slots[i].gen;
        *slot = i;
        m->cursor = (i + 1) % m->nslots;   /* round robin: a port rests before its reuse */
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&m->pool_lock);
    return rc;
}

/* Lock order: pool_lock, then q_lock (a slot's close request ends with its freedom) */
static void slot_give(struct mrfc_media *m, unsigned slot)
{
    pthread_mutex_lock(&m->pool_lock);
    pthread_mutex_lock(&m->q_lock);
    m->slots[slot].close_id = 0;
    m->slots[slot].taken = false;
    pthread_mutex_unlock(&m->q_lock);
    pthread_mutex_unlock(&m->pool_lock);
}

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
static int leg_bind(struct mrfc_media *m, struct leg *l, unsigned slot)
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

/* ---- legs (media thread) ---- */

static struct leg *leg_find(struct mrfc_media *m, uint32_t id)
{
    unsigned slot = id & 0xffff;
    if (slot >= m->nslots || !m->slots[slot].leg || m->slots[slot].leg->id != id)
        return NULL;
    return m->slots[slot].leg;
}

static void on_inband_digits(void *arg, const char *digits, int len);

/* Apply parameters @p to @l (on add and update) */
static void leg_apply(struct leg *l, const struct mrfc_leg_params *p, uint64_t now_us)
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
        l->dtmf = dtmf_rx_init(NULL, on_inband_digits, l);
    if (codec_changed)
        l->marker = true;
    l->last_rx_us = now_us;           /* the timeout counts from the latest negotiation */
    l->timeout_reported = false;
}

static void leg_add(struct mrfc_media *m, struct leg *l)
{
    struct epoll_event e = { .events = EPOLLIN };
    m->slots[l->slot].leg = l;
    e.data.u64 = (uint64_t)l->slot << 1;
    epoll_ctl(m->epfd, EPOLL_CTL_ADD, l->fd_rtp, &e);
    e.data.u64 = (uint64_t)l->slot << 1 | 1;
    epoll_ctl(m->epfd, EPOLL_CTL_ADD, l->fd_rtcp, &e);
    l->active_idx = m->nactive;
    m->active[m->nactive++] = l;
    ims_gauge_set(mx.legs, m->nactive);
}

static void leg_remove(struct mrfc_media *m, struct leg *l, bool report);

/* A close asked by the controller: the leg, or one whose CMD_ADD is still to come */
static void close_leg(struct mrfc_media *m, uint32_t id)
{
    struct leg *l = leg_find(m, id);
    if (l)
        leg_remove(m, l, true);
    else if ((id & 0xffff) < m->nslots)
        m->slots[id & 0xffff].doomed = id;
}

static void mixer_remove_leg(struct mixer *x, struct leg *l);
static void play_end(struct mrfc_media *m, struct leg *l, int reason, bool report);
static void collect_end(struct mrfc_media *m, struct leg *l, int reason, bool report);

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
        ims_counter_inc(mx.send_errors);
    else
        ims_counter_inc(mx.rtcp_sent);
}

/* Account loss and lateness not yet in the daemon's counters */
static void leg_account(struct leg *l)
{
    int64_t lost = mrfc_rtp_rx_lost(&l->rx);
    if (lost > l->lost_reported) {
        ims_counter_add(mx.lost, (uint64_t)(lost - l->lost_reported));
        l->lost_reported = lost;
    }
    if (l->jb.late > l->late_reported) {
        ims_counter_add(mx.late, l->jb.late - l->late_reported);
        l->late_reported = l->jb.late;
    }
}

/* Take @l out of the media thread, close its sockets, give its ports back, free it */
static void leg_remove(struct mrfc_media *m, struct leg *l, bool report)
{
    play_end(m, l, MRFC_END_STOPPED, false);
    collect_end(m, l, MRFC_END_STOPPED, false);
    if (l->mixer)
        mixer_remove_leg(l->mixer, l);
    uint8_t buf[256];
    size_t len = mrfc_rtcp_report(buf, sizeof(buf), &l->tx, &l->rx, m->cname, wall_us(),
                                  l->tx.ts, mono_ns() / 1000);
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
    ims_gauge_set(mx.legs, m->nactive);
    m->slots[l->slot].leg = NULL;
    if (l->dtmf)
        dtmf_rx_free(l->dtmf);
    slot_give(m, l->slot);
    free(l);
    if (report)
        ev_post(m, &ev);              /* once the ports are free again */
}

/* ---- play ---- */

static void play_end(struct mrfc_media *m, struct leg *l, int reason, bool report)
{
    struct play_state *ps = &l->play;
    if (!ps->active)
        return;
    ps->active = false;
    mrfc_tone_stop(ps->tone);
    ps->tone = NULL;
    if (report)
        ev_simple(m, l, MRFC_EV_PLAY_DONE, ps->req.cookie, reason);
}

/* Start item ps->item (a tone gets its generator) */
static void play_item_start(struct play_state *ps)
{
    ps->pos = 0;
    mrfc_tone_stop(ps->tone);
    ps->tone = NULL;
    const struct mrfc_play_item *it = &ps->req.items[ps->item];
    if (!it->prompt)
        ps->tone = mrfc_tone_start(it->tone);
}

/* The current item is over: the next one, the next round, or the end */
static void play_next(struct mrfc_media *m, struct leg *l)
{
    struct play_state *ps = &l->play;
    if (++ps->item < ps->req.nitems) {
        play_item_start(ps);
        return;
    }
    ps->round++;
    if (ps->req.repeat && ps->round >= ps->req.repeat) {
        play_end(m, l, MRFC_END_COMPLETE, true);
        return;
    }
    ps->item = 0;
    ps->delay_left = (uint32_t)((uint64_t)ps->req.delay_ms * MRFC_RATE / 1000);
    play_item_start(ps);
}

/* Up to @want samples of the current item into @out (counted as played); returns how many */
static size_t play_chunk(struct mrfc_media *m, struct leg *l, int16_t *out, size_t want)
{
    struct play_state *ps = &l->play;
    if (ps->delay_left) {
        size_t n = want < ps->delay_left ? want : ps->delay_left;
        memset(out, 0, n * sizeof(*out));
        ps->delay_left -= (uint32_t)n;
        ps->played += n;
        return n;
    }
    const struct mrfc_play_item *it = &ps->req.items[ps->item];
    size_t n = 0;
    if (it->prompt) {
        n = it->prompt->n - ps->pos;
        if (n > want)
            n = want;
        memcpy(out, it->prompt->samples + ps->pos, n * sizeof(*out));
        ps->pos += n;
        ps->played += n;              /* before an end is reported */
        if (ps->pos >= it->prompt->n)
            play_next(m, l);
    } else {
        int got = ps->tone ? tone_gen(ps->tone, out, (int)want) : 0;
        n = got > 0 ? (size_t)got : 0;
        ps->played += n;
        if (n < want)
            play_next(m, l);          /* a tone without repetition ended */
    }
    return n;
}

/* The next FRAME samples of the play of @l into @out (silence after its end) */
static void play_fill(struct mrfc_media *m, struct leg *l, int16_t *out)
{
    struct play_state *ps = &l->play;
    uint64_t limit = (uint64_t)ps->req.duration_ms * MRFC_RATE / 1000;
    size_t done = 0;
    int empty = 0;
    while (done < FRAME && ps->active) {
        size_t want = FRAME - done;
        if (limit) {
            if (ps->played >= limit) {
                play_end(m, l, MRFC_END_DURATION, true);
                break;
            }
            if (want > limit - ps->played)
                want = (size_t)(limit - ps->played);
        }
        size_t n = play_chunk(m, l, out + done, want);
        done += n;
        /* items that give nothing (a failed tone generator) must not spin the thread */
        if (n == 0 && ++empty > 2 * MRFC_PLAY_MAX)
            play_end(m, l, MRFC_END_COMPLETE, true);
    }
    memset(out + done, 0, (FRAME - done) * sizeof(*out));
}

static void play_start(struct mrfc_media *m, struct leg *l, const struct mrfc_play *p)
{
    play_end(m, l, MRFC_END_STOPPED, true);
    if (p->nitems < 1 || p->nitems > MRFC_PLAY_MAX) {
        ev_simple(m, l, MRFC_EV_PLAY_DONE, p->cookie, MRFC_END_COMPLETE);
        return;
    }
    struct play_state *ps = &l->play;
    memset(ps, 0, sizeof(*ps));
    ps->req = *p;
    ps->active = true;
    play_item_start(ps);
}

/* ---- DTMF and collect ---- */

static void collect_end(struct mrfc_media *m, struct leg *l, int reason, bool report)
{
    if (!l->col.active)
        return;
    l->col.active = false;
    if (report)
        ev_simple(m, l, MRFC_EV_COLLECT_DONE, l->col.req.cookie, reason);
}

/* Add @d to the collection; ends it on a terminator or at max_digits */
static void collect_digit(struct mrfc_media *m, struct leg *l, char d, uint64_t now_us)
{
    struct collect_state *c = &l->col;
    if (d && strchr(c->req.terminators, d)) {
        collect_end(m, l, MRFC_END_TERMINATOR, true);
        return;
    }
    c->digits[c->n++] = d;
    c->digits[c->n] = '\0';
    if (c->n >= c->req.max_digits) {
        collect_end(m, l, MRFC_END_COMPLETE, true);
        return;
    }
    c->deadline_us = c->req.inter_ms ? now_us + (uint64_t)c->req.inter_ms * 1000 : 0;
}

static void on_digit(struct mrfc_media *m, struct leg *l, char d, int source)
{
    uint64_t now_us = mono_ns() / 1000;
    ims_counter_inc(source == MRFC_DTMF_INBAND ? mx.dtmf_inband : mx.dtmf_4733);
    struct mrfc_media_event ev = { .kind = MRFC_EV_DTMF, .leg = l->id, .source = source };
    ev.digits[0] = d;
    ev_post(m, &ev);
    if (l->play.active && l->play.req.barge_in)
        play_end(m, l, MRFC_END_BARGE_IN, true);
    if (l->col.active) {
        collect_digit(m, l, d, now_us);
        return;
    }
    size_t n = strlen(l->ahead);
    if (n < TYPEAHEAD) {
        l->ahead[n] = d;
        l->ahead[n + 1] = '\0';
    }
}

static void on_inband_digits(void *arg, const char *digits, int len)
{
    struct leg *l = arg;
    for (int i = 0; i < len; i++)
        on_digit(l->m, l, digits[i], MRFC_DTMF_INBAND);
}

static void collect_start(struct mrfc_media *m, struct leg *l, const struct mrfc_collect *c)
{
    collect_end(m, l, MRFC_END_STOPPED, true);
    uint64_t now_us = mono_ns() / 1000;
    struct collect_state *cs = &l->col;
    memset(cs, 0, sizeof(*cs));
    cs->req = *c;
    if (cs->req.max_digits < 1 || cs->req.max_digits > MRFC_DIGITS_MAX)
        cs->req.max_digits = MRFC_DIGITS_MAX;
    cs->active = true;
    cs->deadline_us = c->first_ms ? now_us + (uint64_t)c->first_ms * 1000 : 0;
    char ahead[TYPEAHEAD + 1];
    memcpy(ahead, l->ahead, sizeof(ahead));
    l->ahead[0] = '\0';
    for (const char *d = c->clear ? "" : ahead; *d && cs->active; d++)
        collect_digit(m, l, *d, now_us);
}

/* A telephone event packet (RFC 4733): a new event (a new timestamp) is a digit */
static void on_te(struct mrfc_media *m, struct leg *l, const struct mrfc_rtp_hdr *h)
{
    struct mrfc_te e;
    if (mrfc_te_parse(h->payload, h->len, &e) != 0) {
        ims_counter_inc(mx.malformed);
        l->st.dropped++;
        return;
    }
    if (l->te_seen && h->ts == l->te_last_ts)
        return;                       /* the same event: an update or a retransmitted end */
    l->te_seen = true;
    l->te_last_ts = h->ts;
    char d = mrfc_te_digit(e.event);
    if (d)
        on_digit(m, l, d, MRFC_DTMF_RFC4733);
}

/* ---- reception ---- */

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
        ims_counter_inc(mx.malformed);
        l->st.dropped++;
        return;
    }
    bool audio = h.pt == l->p.pt, te = l->p.te_pt >= 0 && h.pt == l->p.te_pt;
    if (!audio && !te) {
        ims_counter_inc(mx.payload);
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
    ims_counter_inc(mx.received);
    l->last_rx_us = now_us;
    l->timeout_reported = false;
    if (te)
        on_te(m, l, &h);
    else if (l->p.dir & MRFC_DIR_RECV)
        on_audio(l, &h);
}

static void on_rtcp(struct leg *l, const uint8_t *buf, size_t len, uint64_t now_us)
{
    struct mrfc_rtcp_info info;
    if (mrfc_rtcp_parse(buf, len, l->tx.ssrc, &info) != 0) {
        ims_counter_inc(mx.malformed);
        return;
    }
    ims_counter_inc(mx.rtcp_received);
    l->last_rx_us = now_us;
    if (info.sr && info.ssrc == l->rx.ssrc) {
        l->rx.lsr = info.ntp_mid;
        l->rx.lsr_at_us = now_us;
    }
}

/* Read what socket @rtcp of @l has (a bounded number of datagrams) */
static void leg_read(struct mrfc_media *m, struct leg *l, bool rtcp)
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
            ims_counter_inc(mx.foreign);  /* another host's packets never enter a leg */
            l->st.dropped++;
            continue;
        }
        uint64_t now_us = mono_ns() / 1000;
        if (rtcp)
            on_rtcp(l, buf, (size_t)n, now_us);
        else
            on_rtp(m, l, buf, (size_t)n, now_us);
    }
}

/* ---- the tick ---- */

static bool can_send(const struct leg *l)
{
    return l->peer_len && (l->p.dir & MRFC_DIR_SEND);
}

/* The input of this tick, digits in it, and the timers of the leg */
static void leg_input(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    l->has_in = (l->p.dir & MRFC_DIR_RECV) && mrfc_jbuf_get(&l->jb, l->in, FRAME);
    if (!l->has_in)
        memset(l->in, 0, sizeof(l->in));
    if (l->has_in && l->dtmf)
        dtmf_rx(l->dtmf, l->in, FRAME);
    if (l->col.active && l->col.deadline_us && now_us >= l->col.deadline_us)
        collect_end(m, l, MRFC_END_TIMEOUT, true);
    if (m->c.rtp_timeout_ms && !l->timeout_reported && l->peer_len &&
        (l->p.dir & MRFC_DIR_RECV) &&
        now_us - l->last_rx_us > (uint64_t)m->c.rtp_timeout_ms * 1000) {
        l->timeout_reported = true;
        ev_simple(m, l, MRFC_EV_RTP_TIMEOUT, 0, 0);
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
        ims_counter_inc(mx.send_errors);
        return;
    }
    l->marker = false;
    l->tx.seq++;
    l->tx.packets++;
    l->tx.octets += FRAME;
    l->st.sent++;
    ims_counter_inc(mx.sent);
}

static void leg_rtcp(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    if (!l->peer_len || now_us < l->next_rtcp_us)
        return;
    /* RFC 3550 6.3.1: a random interval between 0.5 and 1.5 times the nominal one */
    uint64_t base = (uint64_t)m->c.rtcp_interval_ms * 1000;
    l->next_rtcp_us = now_us + base / 2 + (uint64_t)(random() % (long)(base + 1));
    uint8_t buf[256];
    rtcp_send(l, buf, mrfc_rtcp_report(buf, sizeof(buf), &l->tx, &l->rx, m->cname, wall_us(),
                                       l->tx.ts, now_us));
    if (l->rx.started)
        ims_histogram_observe(mx.jitter, l->rx.jitter / MRFC_RATE);
    leg_account(l);
}

/* Build and send the frame of this tick; the RTP clock runs whether or not it is sent */
static void leg_output(struct mrfc_media *m, struct leg *l, uint64_t now_us)
{
    int16_t frame[FRAME];
    bool send = can_send(l);
    if (l->play.active && send)
        play_fill(m, l, frame);       /* a play waits while the peer holds the call */
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

static void mixer_run(struct mixer *x)
{
    for (size_t i = 0; i < x->n; i++) {
        x->ins[i] = x->members[i]->has_in ? x->members[i]->in : NULL;
        x->outs[i] = x->members[i]->mixout;
    }
    mrfc_mix(x->ins, x->outs, x->n, FRAME);
}

static void tick(struct mrfc_media *m)
{
    uint64_t t0 = mono_ns(), now_us = t0 / 1000;
    for (unsigned i = 0; i < m->nactive; i++)
        leg_input(m, m->active[i], now_us);
    for (struct mixer *x = m->mixers; x; x = x->next)
        mixer_run(x);
    /* a leg may be closed by nothing here: removal only happens on commands */
    for (unsigned i = 0; i < m->nactive; i++)
        leg_output(m, m->active[i], now_us);
    ims_counter_inc(mx.ticks);
    ims_histogram_observe(mx.tick_work, (double)(mono_ns() - t0) / 1e9);
}

/* The timer fired @n times since we last looked: run the ticks (a few at most) */
static void on_timer(struct mrfc_media *m)
{
    uint64_t n = 0;
    if (read(m->tfd, &n, sizeof(n)) != sizeof(n) || n == 0)
        return;
    m->tick_deadline_ns += n * (uint64_t)TICK_NS;
    uint64_t now = mono_ns();
    ims_histogram_observe(mx.tick_lateness,
                          now > m->tick_deadline_ns ? (double)(now - m->tick_deadline_ns) / 1e9
                                                    : 0.0);
    if (n > 1)
        ims_counter_add(mx.ticks_late, n - 1);
    uint64_t run = n < CATCH_UP_MAX ? n : CATCH_UP_MAX;
    for (uint64_t k = 0; k < run; k++)
        tick(m);
    if (n > run) {
        /* too far behind: drop the audio of the missed ticks (a play moves on as if it had
         * been heard), keep the RTP clock right and mark the jump */
        ims_counter_add(mx.ticks_skipped, n - run);
        for (unsigned i = 0; i < m->nactive; i++) {
            struct leg *l = m->active[i];
            int16_t scratch[FRAME];
            for (uint64_t k = run; k < n && l->play.active && can_send(l); k++)
                play_fill(m, l, scratch);
            l->tx.ts += (uint32_t)((n - run) * FRAME);
            l->marker = true;
        }
    }
}

/* ---- mixers (media thread) ---- */

static struct mixer *mixer_find(struct mrfc_media *m, uint32_t id)
{
    for (struct mixer *x = m->mixers; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

static void mixer_new(struct mrfc_media *m, uint32_t id)
{
    struct mixer *x = calloc(1, sizeof(*x));
    if (!x) {
        ims_err("mrfc: out of memory for mixer %u", id);
        return;
    }
    x->id = id;
    x->next = m->mixers;
    m->mixers = x;
    ims_gauge_add(mx.mixers, 1);
}

static void mixer_remove_leg(struct mixer *x, struct leg *l)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->members[i] != l)
            continue;
        x->members[i] = x->members[--x->n];
        break;
    }
    l->mixer = NULL;
}

static int mixer_add_leg(struct mixer *x, struct leg *l)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        struct leg **mem = realloc(x->members, cap * sizeof(*mem));
        if (mem)
            x->members = mem;
        const int16_t **ins = realloc(x->ins, cap * sizeof(*ins));
        if (ins)
            x->ins = ins;
        int16_t **outs = realloc(x->outs, cap * sizeof(*outs));
        if (outs)
            x->outs = outs;
        if (!mem || !ins || !outs)
            return -ENOMEM;
        x->cap = cap;
    }
    x->members[x->n++] = l;
    l->mixer = x;
    memset(l->mixout, 0, sizeof(l->mixout));
    return 0;
}

static void mixer_free(struct mrfc_media *m, struct mixer *x)
{
    for (struct mixer **p = &m->mixers; *p; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    while (x->n)
        mixer_remove_leg(x, x->members[0]);
    free(x->members);
    free(x->ins);
    free(x->outs);
    free(x);
    ims_gauge_add(mx.mixers, -1);
}

static void do_join(struct mrfc_media *m, struct leg *l, uint32_t mixer)
{
    struct mixer *x = mixer_find(m, mixer);
    if (!x) {
        ims_warn("mrfc: leg %08x cannot join mixer %u: no such mixer", l->id, mixer);
        return;
    }
    if (l->mixer == x)
        return;
    if (l->mixer)
        mixer_remove_leg(l->mixer, l);
    if (mixer_add_leg(x, l) != 0)
        ims_err("mrfc: out of memory joining leg %08x to mixer %u", l->id, mixer);
}

/* ---- commands (media thread) ---- */

static void run_leg_cmd(struct mrfc_media *m, struct leg *l, const struct cmd *c)
{
    switch (c->type) {
    case CMD_UPDATE:
        leg_apply(l, &c->u.p, mono_ns() / 1000);
        break;
    case CMD_PLAY:
        play_start(m, l, &c->u.play);
        break;
    case CMD_COLLECT:
        collect_start(m, l, &c->u.col);
        break;
    case CMD_STOP:
        play_end(m, l, MRFC_END_STOPPED, true);
        collect_end(m, l, MRFC_END_STOPPED, true);
        break;
    case CMD_JOIN:
        do_join(m, l, c->mixer);
        break;
    case CMD_UNJOIN:
        if (l->mixer)
            mixer_remove_leg(l->mixer, l);
        break;
    default:
        break;
    }
}

static void run_cmd(struct mrfc_media *m, const struct cmd *c)
{
    if (c->type == CMD_ADD) {
        struct slot *sl = &m->slots[c->leg->slot];
        leg_add(m, c->leg);
        if (sl->doomed == c->leg->id) {
            sl->doomed = 0;
            leg_remove(m, c->leg, true);
        }
        return;
    }
    if (c->type == CMD_MIX_NEW) {
        mixer_new(m, c->mixer);
        return;
    }
    if (c->type == CMD_MIX_DEL) {
        struct mixer *x = mixer_find(m, c->mixer);
        if (x)
            mixer_free(m, x);
        return;
    }
    struct leg *l = leg_find(m, c->id);
    if (l)
        run_leg_cmd(m, l, c);
}

static void on_queue(struct mrfc_media *m)
{
    uint64_t wakes;
    if (read(m->efd, &wakes, sizeof(wakes)) < 0 && errno != EAGAIN)
        ims_warn("mrfc: media eventfd read: %s", strerror(errno));
    for (;;) {
        struct cmd c;
        while (pop(m, &c))
            run_cmd(m, &c);
        /* then the closes, a batch at a time (taken under the lock, run outside it) */
        uint32_t batch[64];
        unsigned n = 0;
        pthread_mutex_lock(&m->q_lock);
        while (m->close_head && n < 64) {
            struct slot *sl = &m->slots[m->close_head - 1];
            batch[n++] = sl->close_id;   /* close_id stays until the slot is free */
            m->close_head = sl->close_next;
        }
        pthread_mutex_unlock(&m->q_lock);
        if (n == 0)
            return;
        for (unsigned i = 0; i < n; i++)
            close_leg(m, batch[i]);
    }
}

/* ---- the thread ---- */

static void *media_main(void *arg)
{
    struct mrfc_media *m = arg;
    struct epoll_event ev[64];
    while (!atomic_load(&m->stop)) {
        int n = epoll_wait(m->epfd, ev, 64, 1000);
        if (n < 0 && errno != EINTR) {
            ims_err("mrfc: media thread: epoll_wait: %s", strerror(errno));
            break;
        }
        /* packets and commands first, then the tick: what arrived while the thread was
         * kept from running is in the jitter buffers before the ticks read them */
        bool timer = false;
        for (int i = 0; i < n; i++) {
            uint64_t d = ev[i].data.u64;
            if (d == EV_TIMER) {
                timer = true;
            } else if (d == EV_QUEUE) {
                on_queue(m);
            } else {
                unsigned slot = (unsigned)(d >> 1);
                if (slot < m->nslots && m->slots[slot].leg)
                    leg_read(m, m->slots[slot].leg, d & 1);
            }
        }
        if (timer)
            on_timer(m);
    }
    return NULL;
}

int mrfc_media_start(struct mrfc_media *m)
{
    struct itimerspec its = { .it_interval = { 0, TICK_NS } };
    m->tick_deadline_ns = mono_ns() + TICK_NS;
    its.it_value.tv_sec = (time_t)(m->tick_deadline_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(m->tick_deadline_ns % 1000000000ull);
    if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -errno;
    int rc = pthread_create(&m->thread, NULL, media_main, m);
    if (rc)
        return -rc;
    pthread_setname_np(m->thread, "mrfc-media");
    m->started = true;
    return 0;
}

/* ---- creation ---- */

static int parse_bind(struct mrfc_media *m, const char *addr)
{
    memset(&m->bind, 0, sizeof(m->bind));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&m->bind;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&m->bind;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        m->bind_len = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        m->bind_len = sizeof(*s6);
        return 0;
    }
    return -EINVAL;
}

static int create_fds(struct mrfc_media *m)
{
    m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->efd < 0 || m->tfd < 0 || m->epfd < 0)
        return -errno;
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = EV_QUEUE };
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->efd, &e) != 0)
        return -errno;
    e.data.u64 = EV_TIMER;
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->tfd, &e) != 0)
        return -errno;
    return 0;
}

struct mrfc_media *mrfc_media_create(const struct mrfc_media_conf *c, struct ims_loop *loop,
                                     mrfc_media_event_fn fn, void *arg)
{
    struct mrfc_media *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->efd = m->tfd = m->epfd = -1;
    pthread_mutex_init(&m->pool_lock, NULL);
    pthread_mutex_init(&m->q_lock, NULL);
    m->c = *c;
    snprintf(m->address, sizeof(m->address), "%s", c->address);
    snprintf(m->cname, sizeof(m->cname), "%s", c->cname ? c->cname : "mrfc");
    m->c.address = m->address;
    m->c.cname = m->cname;
    m->loop = loop;
    m->fn = fn;
    m->arg = arg;
    m->port_base = (c->port_min + 1) & ~1u;
    m->nslots = c->port_max > m->port_base ? (c->port_max - m->port_base + 1) / 2 : 0;
    if (m->nslots > 0x10000)
        m->nslots = 0x10000;
    m->q_cap = c->queue_max ? c->queue_max : 1024;
    m->slots = calloc(m->nslots ? m->nslots : 1, sizeof(*m->slots));
    m->active = calloc(m->nslots ? m->nslots : 1, sizeof(*m->active));
    m->ring = calloc(m->q_cap, sizeof(*m->ring));
    if (!m->slots || !m->active || !m->ring || m->nslots == 0 || parse_bind(m, c->address) ||
        create_fds(m) != 0) {
        ims_err("mrfc: cannot create the media engine on %s ports %u-%u: %s", c->address,
                c->port_min, c->port_max, m->nslots ? strerror(errno) : "no port pair");
        mrfc_media_destroy(m);
        return NULL;
    }
    metrics_init();
    atomic_store(&m->next_mixer, 1);
    return m;
}

void mrfc_media_destroy(struct mrfc_media *m)
{
    if (!m)
        return;
    if (m->started) {
        atomic_store(&m->stop, true);
        uint64_t one = 1;
        ssize_t w = write(m->efd, &one, sizeof(one));
        (void)w;
        pthread_join(m->thread, NULL);
    }
    struct cmd c;
    while (m->ring && pop(m, &c)) {
        if (c.type == CMD_ADD)
            leg_add(m, c.leg);          /* taken in, so that it is closed below */
    }
    while (m->nactive)
        leg_remove(m, m->active[0], false);
    while (m->mixers)
        mixer_free(m, m->mixers);
    if (m->efd >= 0)
        close(m->efd);
    if (m->tfd >= 0)
        close(m->tfd);
    if (m->epfd >= 0)
        close(m->epfd);
    free(m->slots);
    free(m->active);
    free(m->ring);
    pthread_mutex_destroy(&m->pool_lock);
    pthread_mutex_destroy(&m->q_lock);
    free(m);
}

unsigned mrfc_media_capacity(const struct mrfc_media *m)
{
    return m->nslots;
}

unsigned mrfc_media_legs(const struct mrfc_media *m)
{
    return atomic_load(&m->open_legs);
}

/* ---- the controller's calls ---- */

static uint32_t random32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
        v = (uint32_t)random() ^ (uint32_t)mono_ns();
    return v;
}

/* A new leg on slot @slot with generation @gen; NULL when out of memory */
static struct leg *leg_new(struct mrfc_media *m, unsigned slot, uint16_t gen,
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
    leg_apply(l, p, mono_ns() / 1000);
    l->next_rtcp_us = mono_ns() / 1000 + (uint64_t)m->c.rtcp_interval_ms * 500;
    return l;
}

int mrfc_media_leg_open(struct mrfc_media *m, const struct mrfc_leg_params *p, uint32_t *id,
                        uint16_t *port)
{
    for (unsigned attempt = 0; attempt < m->nslots; attempt++) {
        unsigned slot;
        uint16_t gen;
        if (slot_take(m, &slot, &gen) != 0)
            return -EBUSY;
        struct leg *l = leg_new(m, slot, gen, p);
        if (!l) {
            slot_give(m, slot);
            return -ENOMEM;
        }
        int rc = leg_bind(m, l, slot);
        if (rc == -EADDRINUSE) {
            /* another program holds a port of the range: try the next pair (this one
             * stays taken until the restart, so that it is not tried at every call) */
            ims_warn("mrfc: RTP port %u or %u is in use by another program: skipped",
                     l->port, l->port + 1);
            if (l->dtmf)
                dtmf_rx_free(l->dtmf);
            free(l);
            continue;
        }
        struct cmd c = { .type = CMD_ADD, .leg = l };
        if (rc == 0 && (rc = push(m, &c)) != 0) {
            close(l->fd_rtp);
            close(l->fd_rtcp);
        }
        if (rc) {
            if (l->dtmf)
                dtmf_rx_free(l->dtmf);
            free(l);
            slot_give(m, slot);
            return rc;
        }
        *id = l->id;
        *port = l->port;
        atomic_fetch_add(&m->open_legs, 1);
        return 0;
    }
    return -EBUSY;
}

int mrfc_media_leg_update(struct mrfc_media *m, uint32_t id, const struct mrfc_leg_params *p)
{
    struct cmd c = { .type = CMD_UPDATE, .id = id };
    c.u.p = *p;
    return push(m, &c);
}

int mrfc_media_leg_close(struct mrfc_media *m, uint32_t id)
{
    unsigned slot = id & 0xffff;
    if (slot >= m->nslots)
        return -EINVAL;
    /* not through the bounded queue: a close never fails (each slot is on the stack once) */
    pthread_mutex_lock(&m->pool_lock);
    pthread_mutex_lock(&m->q_lock);
    bool live = m->slots[slot].taken && m->slots[slot].gen == (uint16_t)(id >> 16);
    bool fresh = live && m->slots[slot].close_id == 0;
    if (fresh) {
        m->slots[slot].close_id = id;
        m->slots[slot].close_next = m->close_head;
        m->close_head = slot + 1;
    }
    pthread_mutex_unlock(&m->q_lock);
    pthread_mutex_unlock(&m->pool_lock);
    if (!live)
        return -ENOENT;               /* closed already: its slot is free or reused */
    if (!fresh)
        return -EALREADY;
    atomic_fetch_sub(&m->open_legs, 1);
    uint64_t one = 1;
    ssize_t w = write(m->efd, &one, sizeof(one));
    (void)w;
    return 0;
}

int mrfc_media_play(struct mrfc_media *m, uint32_t id, const struct mrfc_play *p)
{
    struct cmd c = { .type = CMD_PLAY, .id = id };
    c.u.play = *p;
    return push(m, &c);
}

int mrfc_media_collect(struct mrfc_media *m, uint32_t id, const struct mrfc_collect *col)
{
    struct cmd c = { .type = CMD_COLLECT, .id = id };
    c.u.col = *col;
    return push(m, &c);
}

int mrfc_media_stop(struct mrfc_media *m, uint32_t id)
{
    struct cmd c = { .type = CMD_STOP, .id = id };
    return push(m, &c);
}

int mrfc_media_mixer_create(struct mrfc_media *m, uint32_t *mixer)
{
    struct cmd c = { .type = CMD_MIX_NEW, .mixer = atomic_fetch_add(&m->next_mixer, 1) };
    int rc = push(m, &c);
    if (rc == 0)
        *mixer = c.mixer;
    return rc;
}

int mrfc_media_mixer_destroy(struct mrfc_media *m, uint32_t mixer)
{
    struct cmd c = { .type = CMD_MIX_DEL, .mixer = mixer };
    return push(m, &c);
}

int mrfc_media_join(struct mrfc_media *m, uint32_t id, uint32_t mixer)
{
    struct cmd c = { .type = CMD_JOIN, .id = id, .mixer = mixer };
    return push(m, &c);
}

int mrfc_media_unjoin(struct mrfc_media *m, uint32_t id)
{
    struct cmd c = { .type = CMD_UNJOIN, .id = id };
    return push(m, &c);
}
