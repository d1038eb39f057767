/*
 * media_int.h - what the files of the media engine share (not for the controllers: they
 * use media.h)
 *
 *   media.c        the engine: creation, the command queue, the port pool, the thread and
 *                  its tick, the controller's calls
 *   media_leg.c    a leg: its sockets, reception (RTP, RTCP), its frame of each tick
 *   media_play.c   play (prompts, tones), digits (RFC 4733, in-band), collect
 *   media_mix.c    mixers
 *
 * Ownership: a leg is built on the controller's thread by mrfc_media_leg_open() and handed
 * over with CMD_ADD; from then on only the media thread touches it, and it frees it when
 * its close is run. The port pool is shared (pool_lock): the controller takes a pair, the
 * media thread gives it back. Everything else of a leg or a mixer belongs to the media
 * thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_MEDIA_INT_H
#define MRFC_MEDIA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "dsp.h"
#include "jbuf.h"
#include "media.h"
#include "metrics.h"
#include "rtp.h"
#include "sdp.h"

#define FRAME (MRFC_RATE * MRFC_PTIME / 1000)    /* samples a tick: 160 */
#define TYPEAHEAD 32              /* digits kept while no collection runs */

enum cmd_type {
    CMD_ADD = 1, CMD_UPDATE, CMD_PLAY, CMD_COLLECT, CMD_STOP,
    CMD_MIX_NEW, CMD_MIX_DEL, CMD_JOIN, CMD_UNJOIN, CMD_RECORD,
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
        struct mrfc_record rec;
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
    bool wait_play;               /* the first-digit timer starts when the play ends */
};

struct record_state {
    bool active;
    struct mrfc_record req;
    int16_t *buf;                 /* req.max_ms of samples */
    size_t n, cap;
    bool speech;                  /* speech was heard */
    size_t silence;               /* samples of silence since the last speech */
    uint64_t waited;              /* samples before the first speech */
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
    struct record_state rec;
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

/* The engine's metrics (media.c registers them; handles are lock-free) */
struct mrfc_mx {
    struct ims_counter *sent, *received, *lost, *late, *foreign, *malformed, *payload,
        *rtcp_sent, *rtcp_received, *ticks, *ticks_late, *ticks_skipped, *dtmf_4733,
        *dtmf_inband, *send_errors, *events_lost;
    struct ims_gauge *legs, *mixers;
    struct ims_histogram *jitter, *tick_lateness, *tick_work;
};
extern struct mrfc_mx mrfc_mx;

static inline uint64_t mrfc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mrfc_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- media.c ---- */

/* Post @ev to the loop thread (a full queue loses it: counted, logged) */
void mrfc_media_post(struct mrfc_media *m, const struct mrfc_media_event *ev);
/* Post an event of @kind about @l (PLAY_DONE: the time played; COLLECT_DONE: the digits) */
void mrfc_media_post_simple(struct mrfc_media *m, struct leg *l, int kind, uint64_t cookie,
                            int reason);
/* Give the port pair of @slot back (and forget its close request) */
void mrfc_media_slot_give(struct mrfc_media *m, unsigned slot);

/* ---- media_leg.c ---- */

/* A new leg on slot @slot with generation @gen and parameters @p; NULL without memory */
struct leg *mrfc_leg_new(struct mrfc_media *m, unsigned slot, uint16_t gen,
                         const struct mrfc_leg_params *p);
/* Bind the RTP and RTCP sockets of slot @slot into @l. 0 or -errno (-EADDRINUSE). */
int mrfc_leg_bind(struct mrfc_media *m, struct leg *l, unsigned slot);
/* The leg of @id, or NULL (closed, or a stale id) */
struct leg *mrfc_leg_find(struct mrfc_media *m, uint32_t id);
/* Apply parameters @p to @l (on creation and update) */
void mrfc_leg_apply(struct leg *l, const struct mrfc_leg_params *p, uint64_t now_us);
/* Take @l into the media thread (epoll, the active legs) */
void mrfc_leg_add(struct mrfc_media *m, struct leg *l);
/* Take @l out: play and collect end silently, it leaves its mixer, RTCP BYE, its ports go
 * back, it is freed; then MRFC_EV_CLOSED when @report */
void mrfc_leg_remove(struct mrfc_media *m, struct leg *l, bool report);
/* Read what socket @rtcp of @l has (a bounded number of datagrams) */
void mrfc_leg_read(struct mrfc_media *m, struct leg *l, bool rtcp);
bool mrfc_leg_can_send(const struct leg *l);
/* The tick, in two halves: the inputs (and timers) of every leg, then after the mixers
 * ran, every leg's output */
void mrfc_leg_input(struct mrfc_media *m, struct leg *l, uint64_t now_us);
void mrfc_leg_output(struct mrfc_media *m, struct leg *l, uint64_t now_us);

/* ---- media_play.c ---- */

void mrfc_play_start(struct mrfc_media *m, struct leg *l, const struct mrfc_play *p);
void mrfc_play_end(struct mrfc_media *m, struct leg *l, int reason, bool report);
/* The next FRAME samples of the play of @l into @out (silence after its end) */
void mrfc_play_fill(struct mrfc_media *m, struct leg *l, int16_t *out);
void mrfc_collect_start(struct mrfc_media *m, struct leg *l, const struct mrfc_collect *c);
void mrfc_collect_end(struct mrfc_media *m, struct leg *l, int reason, bool report);
void mrfc_record_start(struct mrfc_media *m, struct leg *l, const struct mrfc_record *r);
void mrfc_record_end(struct mrfc_media *m, struct leg *l, int reason, bool report);
/* This tick's input of @l into its recording */
void mrfc_record_frame(struct mrfc_media *m, struct leg *l);
/* A telephone event packet (RFC 4733) of @l */
void mrfc_dtmf_event(struct mrfc_media *m, struct leg *l, const struct mrfc_rtp_hdr *h);
/* spandsp's callback of in-band digits (@arg: the leg) */
void mrfc_dtmf_inband(void *arg, const char *digits, int len);

/* ---- media_mix.c ---- */

struct mixer *mrfc_mixer_find(struct mrfc_media *m, uint32_t id);
void mrfc_mixer_new(struct mrfc_media *m, uint32_t id);
/* Unjoin every leg and free @x */
void mrfc_mixer_free(struct mrfc_media *m, struct mixer *x);
/* Join @l to mixer @mixer (leaving the one it was in) */
void mrfc_mixer_join(struct mrfc_media *m, struct leg *l, uint32_t mixer);
void mrfc_mixer_remove_leg(struct mixer *x, struct leg *l);
/* This tick's mix: each member's mixout from the others' inputs */
void mrfc_mixer_run(struct mixer *x);

#endif
