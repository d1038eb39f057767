/*
 * media.c - the media engine (see media.h): creation, the command queue from the
 * controllers, the port pool, the media thread and its 20 ms tick; the legs, plays and
 * mixers it runs are in media_leg.c, media_play.c and media_mix.c (media_int.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "media_int.h"
#include "log.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#define TICK_NS (MRFC_PTIME * 1000000L)
#define CATCH_UP_MAX 10           /* ticks run at once after a stall; more are skipped */
#define EV_TIMER UINT64_MAX
#define EV_QUEUE (UINT64_MAX - 1)

/* ---- metrics (one registry per process; handles are lock-free) ---- */

struct mrfc_mx mrfc_mx;

static void metrics_init(void)
{
    static const double jitter_bounds[] = { 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08,
                                            0.16 };
    static const double tick_bounds[] = { 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                          0.04 };
    const char *h = "RTP packets dropped on reception, by reason";
    struct mrfc_mx *x = &mrfc_mx;
    x->sent = ims_counter_new("mrfc_rtp_packets_sent_total", "RTP packets sent", NULL);
    x->received = ims_counter_new("mrfc_rtp_packets_received_total",
                                  "RTP packets received from the legs' peers", NULL);
    x->lost = ims_counter_new("mrfc_rtp_packets_lost_total",
                              "RTP packets lost on the way in (RFC 3550 cumulative loss)", NULL);
    x->late = ims_counter_new("mrfc_rtp_packets_late_total",
                              "RTP packets that arrived after their playout time", NULL);
    x->foreign = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"foreign\"");
    x->malformed = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"malformed\"");
    x->payload = ims_counter_new("mrfc_rtp_packets_dropped_total", h, "reason=\"payload\"");
    x->rtcp_sent = ims_counter_new("mrfc_rtcp_packets_sent_total", "RTCP packets sent", NULL);
    x->rtcp_received = ims_counter_new("mrfc_rtcp_packets_received_total",
                                       "RTCP packets received", NULL);
    x->ticks = ims_counter_new("mrfc_media_ticks_total", "20 ms media ticks run", NULL);
    x->ticks_late = ims_counter_new("mrfc_media_ticks_late_total",
                                    "ticks run late (after a stall of the media thread)", NULL);
    x->ticks_skipped = ims_counter_new("mrfc_media_ticks_skipped_total",
                                       "ticks skipped after a long stall", NULL);
    x->dtmf_4733 = ims_counter_new("mrfc_dtmf_digits_total", "DTMF digits received",
                                   "source=\"rfc4733\"");
    x->dtmf_inband = ims_counter_new("mrfc_dtmf_digits_total", "DTMF digits received",
                                     "source=\"inband\"");
    x->send_errors = ims_counter_new("mrfc_rtp_send_errors_total",
                                     "RTP or RTCP packets the kernel did not take", NULL);
    x->events_lost = ims_counter_new("mrfc_media_events_lost_total",
                                     "media events the loop queue could not take", NULL);
    x->legs = ims_gauge_new("mrfc_media_legs", "legs the media thread serves", NULL);
    x->mixers = ims_gauge_new("mrfc_media_mixers", "mixers (conferences)", NULL);
    x->jitter = ims_histogram_new("mrfc_rtp_jitter_seconds",
                                  "interarrival jitter of the legs (RFC 3550), at each report",
                                  NULL, jitter_bounds, 8);
    x->tick_lateness = ims_histogram_new("mrfc_media_tick_lateness_seconds",
                                         "how late the media thread woke for its tick", NULL,
                                         tick_bounds, 8);
    x->tick_work = ims_histogram_new("mrfc_media_tick_work_seconds",
                                     "time one tick of every leg took", NULL, tick_bounds, 8);
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
    free(j->ev.samples);              /* unless the handler took them */
    free(j);
}

/* Post @ev to the loop thread; a full queue loses it (counted, logged); ev->samples go
 * with the event either way */
void mrfc_media_post(struct mrfc_media *m, const struct mrfc_media_event *ev)
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
    free(ev->samples);
    ims_counter_inc(mrfc_mx.events_lost);
    ims_warn("mrfc: media event %d of leg %08x lost: the loop queue is full", ev->kind, ev->leg);
}

void mrfc_media_post_simple(struct mrfc_media *m, struct leg *l, int kind, uint64_t cookie,
                            int reason)
{
    struct mrfc_media_event ev = { .kind = kind, .leg = l->id, .cookie = cookie,
                                   .reason = reason };
    if (kind == MRFC_EV_PLAY_DONE)
        ev.played_ms = (unsigned)(l->play.played * 1000 / MRFC_RATE);
    if (kind == MRFC_EV_COLLECT_DONE)
        memcpy(ev.digits, l->col.digits, sizeof(ev.digits));
    mrfc_media_post(m, &ev);
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
void mrfc_media_slot_give(struct mrfc_media *m, unsigned slot)
{
    pthread_mutex_lock(&m->pool_lock);
    pthread_mutex_lock(&m->q_lock);
    m->slots[slot].close_id = 0;
    m->slots[slot].taken = false;
    pthread_mutex_unlock(&m->q_lock);
    pthread_mutex_unlock(&m->pool_lock);
}

/* A close asked by the controller: the leg, or one whose CMD_ADD is still to come */
static void close_leg(struct mrfc_media *m, uint32_t id)
{
    struct leg *l = mrfc_leg_find(m, id);
    if (l)
        mrfc_leg_remove(m, l, true);
    else if ((id & 0xffff) < m->nslots)
        m->slots[id & 0xffff].doomed = id;
}

static void tick(struct mrfc_media *m)
{
    uint64_t t0 = mrfc_mono_ns(), now_us = t0 / 1000;
    for (unsigned i = 0; i < m->nactive; i++)
        mrfc_leg_input(m, m->active[i], now_us);
    for (struct mixer *x = m->mixers; x; x = x->next)
        mrfc_mixer_run(x);
    /* a leg may be closed by nothing here: removal only happens on commands */
    for (unsigned i = 0; i < m->nactive; i++)
        mrfc_leg_output(m, m->active[i], now_us);
    ims_counter_inc(mrfc_mx.ticks);
    ims_histogram_observe(mrfc_mx.tick_work, (double)(mrfc_mono_ns() - t0) / 1e9);
}

/* The timer fired @n times since we last looked: run the ticks (a few at most) */
static void on_timer(struct mrfc_media *m)
{
    uint64_t n = 0;
    if (read(m->tfd, &n, sizeof(n)) != sizeof(n) || n == 0)
        return;
    m->tick_deadline_ns += n * (uint64_t)TICK_NS;
    uint64_t now = mrfc_mono_ns();
    ims_histogram_observe(mrfc_mx.tick_lateness,
                          now > m->tick_deadline_ns ? (double)(now - m->tick_deadline_ns) / 1e9
                                                    : 0.0);
    if (n > 1)
        ims_counter_add(mrfc_mx.ticks_late, n - 1);
    uint64_t run = n < CATCH_UP_MAX ? n : CATCH_UP_MAX;
    for (uint64_t k = 0; k < run; k++)
        tick(m);
    if (n > run) {
        /* too far behind: drop the audio of the missed ticks (a play moves on as if it had
         * been heard), keep the RTP clock right and mark the jump */
        ims_counter_add(mrfc_mx.ticks_skipped, n - run);
        for (unsigned i = 0; i < m->nactive; i++) {
            struct leg *l = m->active[i];
            int16_t scratch[FRAME];
            for (uint64_t k = run; k < n && l->play.active && mrfc_leg_can_send(l); k++)
                mrfc_play_fill(m, l, scratch);
            l->tx.ts += (uint32_t)((n - run) * FRAME);
            l->marker = true;
        }
    }
}

/* ---- commands (media thread) ---- */

static void run_leg_cmd(struct mrfc_media *m, struct leg *l, const struct cmd *c)
{
    switch (c->type) {
    case CMD_UPDATE:
        mrfc_leg_apply(l, &c->u.p, mrfc_mono_ns() / 1000);
        break;
    case CMD_PLAY:
        mrfc_play_start(m, l, &c->u.play);
        break;
    case CMD_COLLECT:
        mrfc_collect_start(m, l, &c->u.col);
        break;
    case CMD_STOP:
        mrfc_play_end(m, l, MRFC_END_STOPPED, true);
        mrfc_collect_end(m, l, MRFC_END_STOPPED, true);
        mrfc_record_end(m, l, MRFC_END_STOPPED, true);
        break;
    case CMD_RECORD:
        mrfc_record_start(m, l, &c->u.rec);
        break;
    case CMD_JOIN:
        mrfc_mixer_join(m, l, c->mixer);
        break;
    case CMD_UNJOIN:
        if (l->mixer)
            mrfc_mixer_remove_leg(l->mixer, l);
        break;
    default:
        break;
    }
}

static void run_cmd(struct mrfc_media *m, const struct cmd *c)
{
    if (c->type == CMD_ADD) {
        struct slot *sl = &m->slots[c->leg->slot];
        mrfc_leg_add(m, c->leg);
        if (sl->doomed == c->leg->id) {
            sl->doomed = 0;
            mrfc_leg_remove(m, c->leg, true);
        }
        return;
    }
    if (c->type == CMD_MIX_NEW) {
        mrfc_mixer_new(m, c->mixer);
        return;
    }
    if (c->type == CMD_MIX_DEL) {
        struct mixer *x = mrfc_mixer_find(m, c->mixer);
        if (x)
            mrfc_mixer_free(m, x);
        return;
    }
    struct leg *l = mrfc_leg_find(m, c->id);
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
                    mrfc_leg_read(m, m->slots[slot].leg, d & 1);
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
    m->tick_deadline_ns = mrfc_mono_ns() + TICK_NS;
    its.it_value.tv_sec = (time_t)(m->tick_deadline_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(m->tick_deadline_ns % 1000000000ull);
    if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -errno;
    int rc = pthread_create(&m->thread, NULL, media_main, m);
    if (rc)
        return -rc;
    pthread_setname_np(m->thread, "mrfc-media");
    m->started = true;
    if (m->c.rt_priority > 0) {
        /* real-time scheduling keeps the 20 ms pace when other work shares the cores */
        struct sched_param sp = { .sched_priority = m->c.rt_priority };
        rc = pthread_setschedparam(m->thread, SCHED_FIFO, &sp);
        if (rc)
            ims_warn("mrfc: the media thread keeps normal scheduling: SCHED_FIFO %d: %s",
                     m->c.rt_priority, strerror(rc));
        else
            ims_info("mrfc: media thread at SCHED_FIFO priority %d", m->c.rt_priority);
    }
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
            mrfc_leg_add(m, c.leg);          /* taken in, so that it is closed below */
    }
    while (m->nactive)
        mrfc_leg_remove(m, m->active[0], false);
    while (m->mixers)
        mrfc_mixer_free(m, m->mixers);
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

int mrfc_media_leg_open(struct mrfc_media *m, const struct mrfc_leg_params *p, uint32_t *id,
                        uint16_t *port)
{
    for (unsigned attempt = 0; attempt < m->nslots; attempt++) {
        unsigned slot;
        uint16_t gen;
        if (slot_take(m, &slot, &gen) != 0)
            return -EBUSY;
        struct leg *l = mrfc_leg_new(m, slot, gen, p);
        if (!l) {
            mrfc_media_slot_give(m, slot);
            return -ENOMEM;
        }
        int rc = mrfc_leg_bind(m, l, slot);
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
            mrfc_media_slot_give(m, slot);
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

int mrfc_media_record(struct mrfc_media *m, uint32_t id, const struct mrfc_record *r)
{
    struct cmd c = { .type = CMD_RECORD, .id = id };
    c.u.rec = *r;
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
