/*
 * media.h - the MRFP: RTP media of the MRF in a thread of its own
 *
 * One media thread drives every leg on a 20 ms tick (a timerfd with absolute periods): it
 * reads RTP and RTCP as they arrive into a jitter buffer per leg, and on each tick builds
 * the next 20 ms of each leg (a prompt or tone being played, else the mix of its
 * conference, else silence), encodes it as G.711 and sends it. Telephone events (RFC 4733)
 * and, where asked, in-band DTMF are detected on the inputs.
 *
 * Control comes from the loop thread (the SIP side; later the Cr control channel) through a
 * bounded command queue: every call below returns at once, -EAGAIN when the queue is full
 * (the caller fails what it was doing: 503). What the media thread has to say (a prompt
 * ended, digits were collected, a leg receives nothing, a leg was closed) comes back as
 * events run on the loop thread (ims_loop_post), each naming its leg by id: a leg closed in
 * the meantime is simply unknown to the controller by then.
 *
 * Legs and mixers are named by ids. A leg id stays valid until mrfc_media_leg_close(); a
 * stale id is ignored by the media thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_MEDIA_H
#define MRFC_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"
#include "prompt.h"

#define MRFC_PLAY_MAX 8           /* prompts in one play request */
#define MRFC_DIGITS_MAX 32        /* digits one collect request gathers at most */

struct mrfc_media;

struct mrfc_media_conf {
    const char *address;          /* numeric address the RTP sockets bind to */
    unsigned port_min, port_max;  /* RTP on even ports, RTCP on the odd one above */
    unsigned jitter_ms;           /* playout delay of the inputs */
    unsigned rtp_timeout_ms;      /* a leg receiving nothing this long is reported; 0: never */
    unsigned rtcp_interval_ms;    /* between two RTCP reports of a leg */
    unsigned queue_max;           /* commands waiting for the media thread */
    const char *cname;            /* RTCP CNAME */
    int rt_priority;              /* SCHED_FIFO priority of the media thread, 0: normal */
};

/* How a leg sends and receives: from the SDP negotiation */
struct mrfc_leg_params {
    struct sockaddr_storage rtp;  /* the peer's RTP address (family AF_UNSPEC: none yet) */
    uint16_t rtcp_port;           /* the peer's RTCP port */
    int codec;                    /* enum mrfc_codec */
    uint8_t pt;                   /* its payload type */
    int te_pt;                    /* telephone-event payload type, -1: none */
    unsigned dir;                 /* MRFC_DIR_* */
    bool inband_dtmf;             /* detect DTMF in the audio too */
};

/* A play request: items played in order, the whole list @repeat times */
struct mrfc_play {
    struct mrfc_play_item items[MRFC_PLAY_MAX];
    int nitems;
    unsigned repeat;              /* 0: until stopped */
    unsigned delay_ms;            /* silence between two rounds */
    unsigned duration_ms;         /* stop after this much played, 0: no limit */
    bool barge_in;                /* a DTMF digit stops it */
    uint64_t cookie;              /* the controller's, given back in MRFC_EV_PLAY_DONE */
};

/* A collect request (prompt and collect: send mrfc_media_play with barge_in first) */
struct mrfc_collect {
    unsigned max_digits;          /* 1..MRFC_DIGITS_MAX */
    char terminators[8];          /* digits that end the collection ("#"), may be empty */
    unsigned first_ms;            /* time for the first digit, 0: no limit */
    unsigned inter_ms;            /* time between digits, 0: no limit */
    bool clear;                   /* forget digits typed before the request */
    bool after_play;              /* first_ms runs from the end of the leg's play (if any) */
    uint64_t cookie;
};

/* A record request: what the leg receives (decoded, 8 kHz), handed back in RECORD_DONE */
struct mrfc_record {
    unsigned max_ms;              /* the longest recording, 1..MRFC_RECORD_MAX_MS */
    unsigned initial_ms;          /* no speech within this: ends TIMEOUT (0: no limit) */
    unsigned final_silence_ms;    /* silence after speech that ends it (0: never) */
    bool vad_initial;             /* keep audio from the first speech on (else at once) */
    bool dtmf_term;               /* a digit ends it (TERMINATOR) */
    uint64_t cookie;
};

#define MRFC_RECORD_MAX_MS (10 * 60 * 1000)
#define MRFC_VAD_LEVEL 400        /* RMS of a 20 ms frame above which it is speech */

enum mrfc_media_event_kind {
    MRFC_EV_PLAY_DONE = 1,
    MRFC_EV_COLLECT_DONE,
    MRFC_EV_DTMF,                 /* every digit received */
    MRFC_EV_RTP_TIMEOUT,          /* nothing received for rtp_timeout_ms (once) */
    MRFC_EV_CLOSED,               /* the leg is gone; its final statistics */
    MRFC_EV_RECORD_DONE,          /* a recording ended: its samples */
};

enum mrfc_media_reason {
    MRFC_END_COMPLETE = 1,        /* played every round / got max_digits */
    MRFC_END_DURATION,            /* play: duration_ms reached; record: max_ms */
    MRFC_END_STOPPED,             /* mrfc_media_stop, a new request, or the leg closed */
    MRFC_END_BARGE_IN,            /* play: a digit */
    MRFC_END_TERMINATOR,          /* collect: a terminator digit; record: a digit */
    MRFC_END_TIMEOUT,             /* collect: first_ms or inter_ms ran out; record: no
                                   * speech within initial_ms */
    MRFC_END_SILENCE,             /* record: final_silence_ms of silence after speech */
};

enum mrfc_dtmf_source { MRFC_DTMF_RFC4733 = 1, MRFC_DTMF_INBAND };

struct mrfc_leg_stats {
    uint64_t sent, received;      /* RTP packets */
    int64_t lost;                 /* RFC 3550 cumulative loss */
    uint64_t late;                /* arrived after their playout time */
    double jitter_ms;             /* interarrival jitter */
    uint64_t dropped;             /* not taken: from another address, bad, unknown type */
};

struct mrfc_media_event {
    int kind;                     /* enum mrfc_media_event_kind */
    uint32_t leg;
    uint64_t cookie;              /* of the request the event ends */
    int reason;                   /* enum mrfc_media_reason */
    unsigned played_ms;           /* PLAY_DONE; RECORD_DONE: the length recorded */
    char digits[MRFC_DIGITS_MAX + 1];   /* COLLECT_DONE; DTMF: the digit */
    int source;                   /* DTMF: enum mrfc_dtmf_source */
    struct mrfc_leg_stats stats;  /* CLOSED */
    int16_t *samples;             /* RECORD_DONE: the recording (malloc'd), or NULL */
    size_t nsamples;
};

/*
 * Runs on the loop thread; @ev is freed after it returns, and with it ev->samples unless
 * the handler took them (set ev->samples to NULL: then they are the handler's to free).
 */
typedef void (*mrfc_media_event_fn)(void *arg, struct mrfc_media_event *ev);

/*
 * mrfc_media_create - the engine with its port pool, queue and metrics, not running yet;
 * events go to fn(arg) on @loop. NULL (logged) on failure.
 */
struct mrfc_media *mrfc_media_create(const struct mrfc_media_conf *c, struct ims_loop *loop,
                                     mrfc_media_event_fn fn, void *arg);
/* Start the media thread. 0 or -errno. */
int mrfc_media_start(struct mrfc_media *m);
/* Stop the thread (if running), close every leg (no events), free everything */
void mrfc_media_destroy(struct mrfc_media *m);

/* Port pairs of the range: the most legs there can be */
unsigned mrfc_media_capacity(const struct mrfc_media *m);
/* Legs open (from the controller's side: opened and not closed) */
unsigned mrfc_media_legs(const struct mrfc_media *m);

/*
 * mrfc_media_leg_open - take a port pair, bind its sockets and hand the leg to the media
 * thread with @p (its peer may be unknown yet: family AF_UNSPEC, and then it only listens).
 * *@id and *@port (the RTP port) receive the leg's. 0; -EBUSY when every port is taken (or
 * in use by others); -EAGAIN when the queue is full; -errno of socket/bind otherwise.
 */
int mrfc_media_leg_open(struct mrfc_media *m, const struct mrfc_leg_params *p, uint32_t *id,
                        uint16_t *port);
/* New parameters (a re-INVITE: codec, address, direction) */
int mrfc_media_leg_update(struct mrfc_media *m, uint32_t id, const struct mrfc_leg_params *p);
/*
 * mrfc_media_leg_close - the leg is to go: a play or collect under way ends (no event), the
 * leg leaves its mixer, an RTCP BYE is sent, its ports are freed and MRFC_EV_CLOSED reports
 * its statistics. The id is invalid for the caller from now on. Never refused for a full
 * queue: 0, or -EALREADY when the close was already asked, -ENOENT when it was done
 * already, -EINVAL for an id of no slot.
 */
int mrfc_media_leg_close(struct mrfc_media *m, uint32_t id);

/* Play @p on leg @id (a play under way ends STOPPED). */
int mrfc_media_play(struct mrfc_media *m, uint32_t id, const struct mrfc_play *p);
/* Collect digits on leg @id (a collection under way ends STOPPED). */
int mrfc_media_collect(struct mrfc_media *m, uint32_t id, const struct mrfc_collect *c);
/* Record what leg @id receives (a recording under way ends STOPPED) */
int mrfc_media_record(struct mrfc_media *m, uint32_t id, const struct mrfc_record *r);
/* End the play, the collection and the recording of leg @id (events: MRFC_END_STOPPED) */
int mrfc_media_stop(struct mrfc_media *m, uint32_t id);

/*
 * Mixers (conferences): every leg joined hears the sum of the others (saturated), not
 * itself. Destroying a mixer unjoins its legs.
 */
int mrfc_media_mixer_create(struct mrfc_media *m, uint32_t *mixer);
int mrfc_media_mixer_destroy(struct mrfc_media *m, uint32_t mixer);
int mrfc_media_join(struct mrfc_media *m, uint32_t id, uint32_t mixer);
int mrfc_media_unjoin(struct mrfc_media *m, uint32_t id);

/* ---- pure parts, for tests ---- */

/*
 * mrfc_mix - one tick of a mixer of @n inputs of @len samples: out[i] = sum of the others'
 * inputs, saturated to 16 bits. An input may be NULL (the leg sends nothing).
 */
void mrfc_mix(const int16_t *const *in, int16_t *const *out, size_t n, size_t len);

#endif
