/*
 * jbuf.h - a fixed-delay jitter buffer for one incoming audio stream
 *
 * Samples are stored by their RTP timestamp in a ring (so packets arriving out of order
 * land in their place, whatever their packetisation) and read back at a playout point that
 * trails the first packet by a fixed delay. A packet behind the playout point is late and
 * dropped; a stream that jumps far ahead, or whose packets keep arriving late (the sender
 * paused without advancing its clock), is followed by moving the playout point.
 * Used by one thread (the media thread); pure otherwise.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_JBUF_H
#define MRFC_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MRFC_JB_SIZE 8192         /* samples of the ring (1.024 s at 8 kHz), a power of two */
#define MRFC_JB_LATE_RESYNC 3     /* late packets in a row that move the playout point */

enum mrfc_jb_put {
    MRFC_JB_STORED = 0,
    MRFC_JB_LATE,                 /* behind the playout point: dropped */
    MRFC_JB_RESYNC,               /* the playout point moved to this packet */
};

struct mrfc_jbuf {
    int16_t ring[MRFC_JB_SIZE];
    uint8_t valid[MRFC_JB_SIZE];
    bool started;
    uint32_t play_ts;             /* timestamp of the next sample read */
    uint32_t delay;               /* playout delay in samples */
    unsigned late_run;            /* late packets in a row */
    uint64_t late, resyncs;       /* counts */
    uint64_t read, missing;       /* samples read, of them missing (silence put instead) */
};

/* An empty buffer with a playout delay of @delay samples (below MRFC_JB_SIZE / 2) */
void mrfc_jbuf_init(struct mrfc_jbuf *jb, uint32_t delay);
/* Forget the stream (a new source): the next packet starts it again */
void mrfc_jbuf_reset(struct mrfc_jbuf *jb);

/* Store @n samples of RTP timestamp @ts. Returns enum mrfc_jb_put. */
int mrfc_jbuf_put(struct mrfc_jbuf *jb, uint32_t ts, const int16_t *s, size_t n);

/*
 * mrfc_jbuf_get - read the next @n samples into @out (missing ones as silence) and move the
 * playout point on. Returns true when at least one sample was there.
 */
bool mrfc_jbuf_get(struct mrfc_jbuf *jb, int16_t *out, size_t n);

/* Samples stored ahead of the playout point (the newest valid one's distance), for tests */
uint32_t mrfc_jbuf_depth(const struct mrfc_jbuf *jb);

#endif
