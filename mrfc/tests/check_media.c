/*
 * check_media.c - the media thread (mrfc/media.c) with real UDP sockets on 127.0.0.1: a
 * prompt played as paced G.711 RTP (sequence, timestamps, marker, content), repeat, delay
 * and duration; a three-party mixer where each hears the others and not itself; RFC 4733
 * digits collected with a terminator and a timeout, in-band digits detected; packets from
 * another address dropped; the port pool full, then free again; the pure mixer's
 * saturation; recordings (maximum time, no speech, final silence, a digit) and the
 * first-digit timer of a collection that waits for the prompt.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sofia-sip/su.h>

#include "dsp.h"
#include "log.h"
#include "loop.h"
#include "media.h"
#include "rtp.h"
#include "sdp.h"

#define NPAIRS 5
#define MAX_EVENTS 64

static struct ims_loop *loop;
static pthread_t loop_thread;
static struct mrfc_media *media;
static unsigned port_base;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static struct mrfc_media_event events[MAX_EVENTS];
static int nevents;

static void on_event(void *arg, struct mrfc_media_event *ev)
{
    (void)arg;
    pthread_mutex_lock(&ev_lock);
    if (nevents < MAX_EVENTS) {
        events[nevents++] = *ev;
        ev->samples = NULL;           /* a recording is the test's to free */
    }
    pthread_cond_broadcast(&ev_cond);
    pthread_mutex_unlock(&ev_lock);
}

/*
 * The test plays the RTP peers, other machines in real life, and paces their frames 20 ms
 * apart against the media thread's own 20 ms ticks. With a jitter buffer of 40 ms, on a
 * loaded machine (make test with other work on 2 cores; half the runs) a sender kept from
 * running for longer delivered its frames late: a recording 60 ms too long, a mixer that
 * heard nothing at the end, a play that caught up on missed ticks. The peers, the loop
 * thread that delivers the events and the media thread (mrfc.rt_priority, as advised in
 * production for shared cores) therefore run at SCHED_FIFO when allowed (root or
 * CAP_SYS_NICE), and the jitter buffer holds 100 ms (the lab's is 60 ms): what is left,
 * the loopback's own delivery under load, stays within it. Without the right to SCHED_FIFO
 * the tests run at normal scheduling and count on a quieter machine.
 */
#define RT_PRIORITY 10

static void go_realtime(void)
{
    struct sched_param sp = { .sched_priority = RT_PRIORITY };
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);   /* best effort, see above */
}

static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_cond = PTHREAD_COND_INITIALIZER;

/* The loop thread: su_root runs in the thread that created it */
static void *run_loop(void *arg)
{
    (void)arg;
    go_realtime();
    struct ims_loop *l = ims_loop_create(1024);
    pthread_mutex_lock(&up_lock);
    loop = l;
    pthread_cond_broadcast(&up_cond);
    pthread_mutex_unlock(&up_lock);
    if (l) {
        ims_loop_run(l);
        ims_loop_destroy(l);
    }
    return NULL;
}

/* Wait up to @ms for an event of @kind on @leg; a copy into @out. true when it came. */
static bool wait_event(int kind, uint32_t leg, int ms, struct mrfc_media_event *out)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ev_lock);
    for (;;) {
        for (int i = 0; i < nevents; i++) {
            if (events[i].kind == kind && events[i].leg == leg) {
                if (out)
                    *out = events[i];
                events[i] = events[--nevents];
                pthread_mutex_unlock(&ev_lock);
                return true;
            }
        }
        if (pthread_cond_timedwait(&ev_cond, &ev_lock, &dl) != 0)
            break;
    }
    pthread_mutex_unlock(&ev_lock);
    return false;
}

static void setup(void)
{
    ims_log_init("check_media", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    go_realtime();
    nevents = 0;
    loop = NULL;
    ck_assert_int_eq(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
    pthread_mutex_lock(&up_lock);
    while (!loop)
        pthread_cond_wait(&up_cond, &up_lock);
    pthread_mutex_unlock(&up_lock);
    port_base = 42000 + (unsigned)(getpid() % 800) * 20;
    struct mrfc_media_conf c = { .address = "127.0.0.1", .port_min = port_base,
                                 .port_max = port_base + 2 * NPAIRS - 1, .jitter_ms = 100,
                                 .rtp_timeout_ms = 0, .rtcp_interval_ms = 5000,
                                 .queue_max = 256, .cname = "check",
                                 .rt_priority = RT_PRIORITY };
    media = mrfc_media_create(&c, loop, on_event, NULL);
    ck_assert_ptr_nonnull(media);
    ck_assert_uint_eq(mrfc_media_capacity(media), NPAIRS);
    ck_assert_int_eq(mrfc_media_start(media), 0);
}

static void teardown(void)
{
    mrfc_media_destroy(media);
    ims_loop_stop(loop);
    pthread_join(loop_thread, NULL);
}

/* A UDP socket of the peer on @addr, any port; its address into @sa */
static int peer_socket(const char *addr, struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    inet_pton(AF_INET, addr, &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(*sa);
    getsockname(fd, (struct sockaddr *)sa, &len);
    return fd;
}

static struct mrfc_leg_params params_to(const struct sockaddr_in *peer, int te_pt, unsigned dir)
{
    struct mrfc_leg_params p;
    memset(&p, 0, sizeof(p));
    memcpy(&p.rtp, peer, sizeof(*peer));
    p.rtcp_port = (uint16_t)(ntohs(peer->sin_port) + 1);
    p.codec = MRFC_CODEC_PCMU;
    p.pt = 0;
    p.te_pt = te_pt;
    p.dir = dir;
    return p;
}

/* Receive one RTP packet within @ms into @h (payload copied to @buf); false on timeout */
static bool recv_rtp(int fd, int ms, uint8_t *buf, struct mrfc_rtp_hdr *h)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, ms) != 1)
        return false;
    ssize_t n = recv(fd, buf, MRFC_RTP_MAX, 0);
    return n > 0 && mrfc_rtp_parse(buf, (size_t)n, h) == 0;
}

static struct mrfc_prompt ramp;

static void make_ramp(void)
{
    ramp.n = 800;                              /* 100 ms */
    ramp.samples = malloc(ramp.n * sizeof(int16_t));
    for (size_t i = 0; i < ramp.n; i++)
        ramp.samples[i] = (int16_t)(10000.0 * sin(2 * M_PI * 400.0 * (double)i / 8000.0));
    snprintf(ramp.name, sizeof(ramp.name), "ramp");
}

START_TEST(play_paced_rtp)
{
    make_ramp();
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, -1, MRFC_DIR_SEND);
    uint32_t id;
    uint16_t port;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    ck_assert_uint_ge(port, port_base);
    ck_assert_uint_eq(port % 2, 0);
    struct mrfc_play play = { .nitems = 1, .repeat = 1, .cookie = 77 };
    play.items[0].prompt = &ramp;
    ck_assert_int_eq(mrfc_media_play(media, id, &play), 0);
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_COMPLETE);
    ck_assert_uint_eq(ev.cookie, 77);
    ck_assert_uint_eq(ev.played_ms, 100);
    /* the packets: silence may precede (the leg ticks before the play starts) */
    uint8_t buf[MRFC_RTP_MAX];
    struct mrfc_rtp_hdr h, prev = { 0 };
    int16_t got[800];
    size_t ngot = 0;
    bool have_prev = false;
    while (ngot < 800 && recv_rtp(fd, 500, buf, &h)) {
        ck_assert_uint_eq(h.pt, 0);
        ck_assert_uint_eq(h.len, 160);
        if (have_prev) {
            ck_assert_uint_eq(h.seq, (uint16_t)(prev.seq + 1));
            ck_assert_uint_eq(h.ts, prev.ts + 160);
            ck_assert_uint_eq(h.ssrc, prev.ssrc);
        } else {
            ck_assert(h.marker);               /* the first packet of the stream */
        }
        prev = h;
        have_prev = true;
        if (ngot == 0 && ulaw_to_linear(h.payload[1]) == 0 && ulaw_to_linear(h.payload[2]) == 0)
            continue;                          /* silence before the prompt */
        for (size_t i = 0; i < 160; i++)
            got[ngot++] = ulaw_to_linear(h.payload[i]);
    }
    ck_assert_uint_eq(ngot, 800);
    for (size_t i = 0; i < 800; i++)
        ck_assert_msg(abs(got[i] - ramp.samples[i]) <= 400 + abs(ramp.samples[i]) / 16,
                      "sample %zu: %d sent %d", i, got[i], ramp.samples[i]);
    ck_assert_int_eq(mrfc_media_leg_close(media, id), 0);
    int again = mrfc_media_leg_close(media, id);   /* pending, or done already */
    ck_assert_msg(again == -EALREADY || again == -ENOENT, "second close: %d", again);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, &ev));
    ck_assert_uint_ge(ev.stats.sent, 5);
    ck_assert_int_eq(mrfc_media_leg_close(media, id), -ENOENT);
    ck_assert_uint_eq(mrfc_media_legs(media), 0);
    close(fd);
    free(ramp.samples);
}
END_TEST

START_TEST(play_repeat_delay_duration)
{
    make_ramp();
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, -1, MRFC_DIR_SEND);
    uint32_t id;
    uint16_t port;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    struct mrfc_play play = { .nitems = 2, .repeat = 2, .delay_ms = 100, .cookie = 1 };
    play.items[0].prompt = &ramp;
    play.items[1].prompt = &ramp;
    struct mrfc_media_event ev;
    ck_assert_int_eq(mrfc_media_play(media, id, &play), 0);
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 3000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_COMPLETE);
    ck_assert_uint_eq(ev.played_ms, 2 * 200 + 100);     /* two rounds and one delay */
    /* a tone until the duration */
    struct mrfc_play tone = { .nitems = 1, .repeat = 0, .duration_ms = 150, .cookie = 2 };
    tone.items[0].tone = MRFC_TONE_DIAL;
    ck_assert_int_eq(mrfc_media_play(media, id, &tone), 0);
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 3000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_DURATION);
    ck_assert_uint_eq(ev.played_ms, 150);
    /* a play replaced by another ends STOPPED; stop ends the second */
    tone.duration_ms = 0;
    tone.cookie = 3;
    ck_assert_int_eq(mrfc_media_play(media, id, &tone), 0);
    tone.cookie = 4;
    ck_assert_int_eq(mrfc_media_play(media, id, &tone), 0);
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 2000, &ev));
    ck_assert_uint_eq(ev.cookie, 3);
    ck_assert_int_eq(ev.reason, MRFC_END_STOPPED);
    ck_assert_int_eq(mrfc_media_stop(media, id), 0);
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 2000, &ev));
    ck_assert_uint_eq(ev.cookie, 4);
    mrfc_media_leg_close(media, id);
    close(fd);
    free(ramp.samples);
}
END_TEST

/* Send one 20 ms frame of constant value @v from @fd to the leg on @port */
static void send_dc(int fd, uint16_t port, uint16_t seq, int16_t v)
{
    uint8_t payload[160], pkt[200];
    for (int i = 0; i < 160; i++)
        payload[i] = linear_to_ulaw(v);
    struct mrfc_rtp_hdr h = { .pt = 0, .seq = seq, .ts = 160u * seq, .ssrc = (uint32_t)fd,
                              .payload = payload, .len = 160 };
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    size_t n = mrfc_rtp_build(pkt, sizeof(pkt), &h);
    sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to));
}

/*
 * Of the last 10 packets waiting on @fd (the older ones are dropped): how many carry a value
 * within 5 % of @want (*@ok) and how many something else than @want or silence (*@bad: a
 * mixing error; silence is an input the jitter buffer did not have in time, on a busy
 * machine)
 */
static void recent_values(int fd, int want, int *ok, int *bad)
{
    uint8_t buf[MRFC_RTP_MAX];
    struct mrfc_rtp_hdr h;
    int v[10], n = 0;
    while (recv_rtp(fd, 0, buf, &h))
        v[n++ % 10] = ulaw_to_linear(h.payload[80]);
    *ok = *bad = 0;
    for (int i = 0; i < 10 && i < n; i++) {
        if (abs(v[i] - want) <= want / 20 + 2)
            (*ok)++;
        else if (v[i] != 0)
            (*bad)++;
    }
}

/* Send frames 20 ms apart on absolute deadlines (no drift against the MRF's clock) */
static void pace(struct timespec *next)
{
    next->tv_nsec += 20000000L;
    if (next->tv_nsec >= 1000000000L) {
        next->tv_sec++;
        next->tv_nsec -= 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

START_TEST(three_party_mixer)
{
    static const int16_t dc[3] = { 1000, 2000, 4000 };
    int fd[3];
    uint32_t id[3];
    uint16_t port[3];
    uint32_t mixer;
    ck_assert_int_eq(mrfc_media_mixer_create(media, &mixer), 0);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in peer;
        fd[i] = peer_socket("127.0.0.1", &peer);
        struct mrfc_leg_params p = params_to(&peer, -1, MRFC_DIR_SENDRECV);
        ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id[i], &port[i]), 0);
        ck_assert_int_eq(mrfc_media_join(media, id[i], mixer), 0);
    }
    /* 30 frames, 20 ms apart; what each peer hears at the end is the others' sum */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    for (uint16_t k = 0; k < 30; k++) {
        for (int i = 0; i < 3; i++)
            send_dc(fd[i], port[i], k, dc[i]);
        pace(&t);
    }
    for (int i = 0; i < 3; i++) {
        int want = dc[(i + 1) % 3] + dc[(i + 2) % 3], ok, bad;
        recent_values(fd[i], want, &ok, &bad);
        ck_assert_msg(ok >= 3 && bad == 0, "party %d: %d of its last 10 packets at %d (the "
                      "others' sum; with itself it would be %d), %d at another value", i, ok,
                      want, want + dc[i], bad);
    }
    /* unjoined, a party hears silence again */
    ck_assert_int_eq(mrfc_media_unjoin(media, id[0]), 0);
    for (uint16_t k = 30; k < 45; k++) {
        for (int i = 0; i < 3; i++)
            send_dc(fd[i], port[i], k, dc[i]);
        pace(&t);
    }
    int ok, bad;
    recent_values(fd[0], 0, &ok, &bad);
    ck_assert_msg(bad == 0, "party 0 unjoined hears %d packets that are not silence", bad);
    recent_values(fd[1], 4000, &ok, &bad);                    /* hears C only */
    ck_assert_msg(ok >= 3 && bad == 0, "party 1: %d packets of C's 4000, %d others", ok, bad);
    ck_assert_int_eq(mrfc_media_mixer_destroy(media, mixer), 0);
    for (int i = 0; i < 3; i++) {
        mrfc_media_leg_close(media, id[i]);
        struct mrfc_media_event ev;
        ck_assert(wait_event(MRFC_EV_CLOSED, id[i], 1000, &ev));
        ck_assert_uint_eq(ev.stats.received, 45);
        ck_assert_int_eq(ev.stats.lost, 0);
        close(fd[i]);
    }
}
END_TEST

/* A digit as RFC 4733 would send it: 2 updates, then 3 end packets, one timestamp */
static void send_digit(int fd, uint16_t port, uint16_t *seq, uint32_t ts, char d)
{
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    for (int k = 0; k < 5; k++) {
        struct mrfc_te e = { .event = (uint8_t)mrfc_te_event(d), .end = k >= 2, .volume = 10,
                             .duration = (uint16_t)(160 * (k < 2 ? k + 1 : 3)) };
        uint8_t pl[4], pkt[40];
        mrfc_te_build(pl, &e);
        struct mrfc_rtp_hdr h = { .pt = 101, .marker = k == 0, .seq = (*seq)++, .ts = ts,
                                  .ssrc = 99, .payload = pl, .len = 4 };
        size_t n = mrfc_rtp_build(pkt, sizeof(pkt), &h);
        sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to));
    }
}

START_TEST(collect_digits)
{
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, 101, MRFC_DIR_SENDRECV);
    uint32_t id;
    uint16_t port, seq = 1;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    /* a digit typed before the collection is kept for it */
    send_digit(fd, port, &seq, 1000, '1');
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_DTMF, id, 1000, &ev));
    ck_assert_str_eq(ev.digits, "1");
    ck_assert_int_eq(ev.source, MRFC_DTMF_RFC4733);
    struct mrfc_collect c = { .max_digits = 4, .terminators = "#", .first_ms = 2000,
                              .inter_ms = 2000, .cookie = 9 };
    ck_assert_int_eq(mrfc_media_collect(media, id, &c), 0);
    send_digit(fd, port, &seq, 2000, '2');
    send_digit(fd, port, &seq, 3000, '#');
    ck_assert(wait_event(MRFC_EV_COLLECT_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_TERMINATOR);
    ck_assert_str_eq(ev.digits, "12");
    ck_assert_uint_eq(ev.cookie, 9);
    /* max digits; a digit typed before is forgotten with clear */
    send_digit(fd, port, &seq, 3500, '7');
    do                                         /* (the DTMF events of 2 and # come first) */
        ck_assert(wait_event(MRFC_EV_DTMF, id, 1000, &ev));
    while (ev.digits[0] != '7');
    c.clear = true;
    c.max_digits = 2;
    ck_assert_int_eq(mrfc_media_collect(media, id, &c), 0);
    usleep(200000);                            /* the command runs before the next digits */
    send_digit(fd, port, &seq, 4000, '*');
    send_digit(fd, port, &seq, 5000, '9');
    ck_assert(wait_event(MRFC_EV_COLLECT_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_COMPLETE);
    ck_assert_str_eq(ev.digits, "*9");
    /* nobody types: the first-digit timer */
    c.first_ms = 100;
    ck_assert_int_eq(mrfc_media_collect(media, id, &c), 0);
    ck_assert(wait_event(MRFC_EV_COLLECT_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_TIMEOUT);
    ck_assert_str_eq(ev.digits, "");
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, &ev));
    ck_assert_uint_eq(ev.stats.received, 30);
    close(fd);
}
END_TEST

/* @frames frames of value @v to the leg on @port, paced at 20 ms; *@seq counts on */
static void send_dc_run(int fd, uint16_t port, uint16_t *seq, int frames, int16_t v)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    for (int k = 0; k < frames; k++) {
        send_dc(fd, port, (*seq)++, v);
        pace(&t);
    }
}

/* How many of @n samples are within 5 % of @want */
static size_t near(const int16_t *s, size_t n, int want)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += abs(s[i] - want) <= want / 20 + 2;
    return k;
}

START_TEST(record_max_time)
{
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, 101, MRFC_DIR_SENDRECV);
    uint32_t id;
    uint16_t port, seq = 1;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    struct mrfc_record r = { .max_ms = 600, .cookie = 21 };
    ck_assert_int_eq(mrfc_media_record(media, id, &r), 0);
    send_dc_run(fd, port, &seq, 45, 3000);
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_RECORD_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_DURATION);
    ck_assert_uint_eq(ev.cookie, 21);
    ck_assert_uint_eq(ev.nsamples, 4800);
    ck_assert_uint_eq(ev.played_ms, 600);
    ck_assert_ptr_nonnull(ev.samples);
    /* recorded from the request on: the jitter buffer's first frames may be silence */
    size_t k = near(ev.samples, ev.nsamples, 3000);
    ck_assert_msg(k >= 2400, "%zu of 4800 samples hold what was sent", k);
    free(ev.samples);
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, NULL));
    close(fd);
}
END_TEST

START_TEST(record_speech_and_silence)
{
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, 101, MRFC_DIR_SENDRECV);
    uint32_t id;
    uint16_t port, seq = 1;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    /* nobody speaks: no input within initial_ms */
    struct mrfc_record r = { .max_ms = 5000, .initial_ms = 300, .vad_initial = true,
                             .final_silence_ms = 200, .dtmf_term = true, .cookie = 1 };
    ck_assert_int_eq(mrfc_media_record(media, id, &r), 0);
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_RECORD_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_TIMEOUT);
    ck_assert_uint_eq(ev.nsamples, 0);
    free(ev.samples);
    /* silence, speech for 400 ms, then silence: kept from the speech, the end trimmed */
    r.cookie = 2;
    ck_assert_int_eq(mrfc_media_record(media, id, &r), 0);
    send_dc_run(fd, port, &seq, 5, 0);
    send_dc_run(fd, port, &seq, 20, 3000);
    send_dc_run(fd, port, &seq, 25, 0);
    ck_assert(wait_event(MRFC_EV_RECORD_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_SILENCE);
    ck_assert_msg(ev.nsamples >= 2880 && ev.nsamples <= 3520, "%zu samples for 400 ms of "
                  "speech", ev.nsamples);
    ck_assert_msg(near(ev.samples, ev.nsamples, 3000) >= ev.nsamples - 320,
                  "the recording is the speech");
    free(ev.samples);
    /* a digit ends a recording (and is not a digit of a collection) */
    r.cookie = 3;
    r.initial_ms = 0;
    ck_assert_int_eq(mrfc_media_record(media, id, &r), 0);
    send_dc_run(fd, port, &seq, 10, 3000);
    send_digit(fd, port, &seq, 90000, '5');
    ck_assert(wait_event(MRFC_EV_RECORD_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_TERMINATOR);
    ck_assert_uint_eq(ev.cookie, 3);
    free(ev.samples);
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, NULL));
    close(fd);
}
END_TEST

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

START_TEST(collect_after_play)
{
    make_ramp();                               /* 100 ms, played 5 times: 500 ms */
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, 101, MRFC_DIR_SENDRECV);
    uint32_t id;
    uint16_t port;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    struct mrfc_play pl = { .nitems = 1, .repeat = 5, .barge_in = true, .cookie = 1 };
    pl.items[0].prompt = &ramp;
    struct mrfc_collect c = { .max_digits = 4, .first_ms = 200, .after_play = true,
                              .cookie = 2 };
    double t0 = now_s();
    ck_assert_int_eq(mrfc_media_play(media, id, &pl), 0);
    ck_assert_int_eq(mrfc_media_collect(media, id, &c), 0);
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_PLAY_DONE, id, 2000, &ev));
    ck_assert_int_eq(ev.reason, MRFC_END_COMPLETE);
    ck_assert(wait_event(MRFC_EV_COLLECT_DONE, id, 2000, &ev));
    double took = now_s() - t0;
    ck_assert_int_eq(ev.reason, MRFC_END_TIMEOUT);
    ck_assert_msg(took >= 0.65, "the first-digit timer ran during the prompt (%.2f s)", took);
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, NULL));
    close(fd);
    free(ramp.samples);
}
END_TEST

START_TEST(inband_dtmf)
{
    struct sockaddr_in peer;
    int fd = peer_socket("127.0.0.1", &peer);
    struct mrfc_leg_params p = params_to(&peer, -1, MRFC_DIR_SENDRECV);
    p.inband_dtmf = true;
    uint32_t id;
    uint16_t port;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    /* the digits as tones in the audio (spandsp's generator, 120 ms tones and pauses) */
    dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
    dtmf_tx_set_timing(tx, 120, 120);
    ck_assert_int_eq(dtmf_tx_put(tx, "42", -1), 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    for (uint16_t k = 0; k < 60; k++) {
        int16_t pcm[160];
        int n = dtmf_tx(tx, pcm, 160);
        for (int i = n < 0 ? 0 : n; i < 160; i++)
            pcm[i] = 0;
        uint8_t payload[160], pkt[200];
        for (int i = 0; i < 160; i++)
            payload[i] = linear_to_ulaw(pcm[i]);
        struct mrfc_rtp_hdr h = { .pt = 0, .seq = k, .ts = 160u * k, .ssrc = 5,
                                  .payload = payload, .len = 160 };
        size_t len = mrfc_rtp_build(pkt, sizeof(pkt), &h);
        sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
        pace(&t);
    }
    dtmf_tx_free(tx);
    struct mrfc_media_event ev;
    ck_assert(wait_event(MRFC_EV_DTMF, id, 1000, &ev));
    ck_assert_str_eq(ev.digits, "4");
    ck_assert_int_eq(ev.source, MRFC_DTMF_INBAND);
    ck_assert(wait_event(MRFC_EV_DTMF, id, 1000, &ev));
    ck_assert_str_eq(ev.digits, "2");
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, NULL));
    close(fd);
}
END_TEST

START_TEST(foreign_packets_dropped)
{
    struct sockaddr_in peer, other;
    int fd = peer_socket("127.0.0.1", &peer);
    int evil = peer_socket("127.0.0.2", &other);
    struct mrfc_leg_params p = params_to(&peer, 101, MRFC_DIR_SENDRECV);
    uint32_t id;
    uint16_t port, seq = 1;
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id, &port), 0);
    for (uint16_t k = 0; k < 10; k++)
        send_dc(evil, port, k, 3000);
    send_digit(evil, port, &seq, 100, '5');
    struct mrfc_media_event ev;
    ck_assert(!wait_event(MRFC_EV_DTMF, id, 300, NULL));
    mrfc_media_leg_close(media, id);
    ck_assert(wait_event(MRFC_EV_CLOSED, id, 1000, &ev));
    ck_assert_uint_eq(ev.stats.received, 0);
    ck_assert_uint_eq(ev.stats.dropped, 15);
    close(fd);
    close(evil);
}
END_TEST

START_TEST(port_pool)
{
    uint32_t id[NPAIRS], extra;
    uint16_t port;
    struct mrfc_leg_params p;
    memset(&p, 0, sizeof(p));              /* no peer yet: the leg only listens */
    p.te_pt = -1;
    for (int i = 0; i < NPAIRS; i++)
        ck_assert_int_eq(mrfc_media_leg_open(media, &p, &id[i], &port), 0);
    ck_assert_uint_eq(mrfc_media_legs(media), NPAIRS);
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &extra, &port), -EBUSY);
    /* a close gives its pair back once the media thread has done it */
    ck_assert_int_eq(mrfc_media_leg_close(media, id[2]), 0);
    ck_assert(wait_event(MRFC_EV_CLOSED, id[2], 1000, NULL));
    ck_assert_int_eq(mrfc_media_leg_open(media, &p, &extra, &port), 0);
    ck_assert_uint_ne(extra, id[2]);           /* same slot, another generation */
    ck_assert_uint_eq(extra & 0xffff, id[2] & 0xffff);
    /* commands for the old id are ignored */
    ck_assert_int_eq(mrfc_media_stop(media, id[2]), 0);
    /* a leg closed right after its opening (its CMD_ADD may still be queued) */
    mrfc_media_leg_close(media, extra);
    ck_assert(wait_event(MRFC_EV_CLOSED, extra, 1000, NULL));
    for (int i = 0; i < NPAIRS; i++)
        if (i != 2)
            mrfc_media_leg_close(media, id[i]);
}
END_TEST

START_TEST(mix_saturates)
{
    int16_t a[4] = { 30000, -30000, 100, 0 }, b[4] = { 30000, -30000, -50, 0 },
            c[4] = { 0, 0, 7, 0 };
    int16_t oa[4], ob[4], oc[4];
    const int16_t *in[3] = { a, b, c };
    int16_t *out[3] = { oa, ob, oc };
    mrfc_mix(in, out, 3, 4);
    ck_assert_int_eq(oc[0], 32767);            /* 60000 saturated */
    ck_assert_int_eq(oc[1], -32768);
    ck_assert_int_eq(oa[2], -43);
    ck_assert_int_eq(ob[2], 107);
    ck_assert_int_eq(oc[2], 50);
    /* a party that sends nothing hears the others */
    in[1] = NULL;
    mrfc_mix(in, out, 3, 4);
    ck_assert_int_eq(ob[2], 107);
    ck_assert_int_eq(oa[2], 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mrfc_media");
    TCase *tc = tcase_create("media");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, play_paced_rtp);
    tcase_add_test(tc, play_repeat_delay_duration);
    tcase_add_test(tc, three_party_mixer);
    tcase_add_test(tc, collect_digits);
    tcase_add_test(tc, record_max_time);
    tcase_add_test(tc, record_speech_and_silence);
    tcase_add_test(tc, collect_after_play);
    tcase_add_test(tc, inband_dtmf);
    tcase_add_test(tc, foreign_packets_dropped);
    tcase_add_test(tc, port_pool);
    suite_add_tcase(s, tc);
    TCase *pure = tcase_create("mix");
    tcase_add_test(pure, mix_saturates);
    suite_add_tcase(s, pure);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
