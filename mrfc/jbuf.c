/*
 * jbuf.c - fixed-delay jitter buffer indexed by RTP timestamp
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "jbuf.h"

#include <string.h>

#define MASK (MRFC_JB_SIZE - 1)

void mrfc_jbuf_init(struct mrfc_jbuf *jb, uint32_t delay)
{
    memset(jb, 0, sizeof(*jb));
    jb->delay = delay < MRFC_JB_SIZE / 2 ? delay : MRFC_JB_SIZE / 2 - 1;
}

void mrfc_jbuf_reset(struct mrfc_jbuf *jb)
{
    memset(jb->valid, 0, sizeof(jb->valid));
    jb->started = false;
    jb->late_run = 0;
}

/* Play packet @ts after the delay from now on */
static void restart_at(struct mrfc_jbuf *jb, uint32_t ts)
{
    memset(jb->valid, 0, sizeof(jb->valid));
    jb->play_ts = ts - jb->delay;
    jb->started = true;
    jb->late_run = 0;
}

int mrfc_jbuf_put(struct mrfc_jbuf *jb, uint32_t ts, const int16_t *s, size_t n)
{
    int rc = MRFC_JB_STORED;
    if (n > MRFC_JB_SIZE / 2)
        n = MRFC_JB_SIZE / 2;
    if (!jb->started) {
        restart_at(jb, ts);
    } else {
        int32_t d = (int32_t)(ts - jb->play_ts);
        if (d + (int32_t)n <= 0) {
            jb->late++;
            if (++jb->late_run < MRFC_JB_LATE_RESYNC)
                return MRFC_JB_LATE;
            restart_at(jb, ts);               /* the sender's clock went back: follow it */
            jb->resyncs++;
            rc = MRFC_JB_RESYNC;
        } else if (d + (int32_t)n > MRFC_JB_SIZE - (int32_t)(MRFC_JB_SIZE / 8)) {
            restart_at(jb, ts);               /* far ahead: a jump of the sender's clock */
            jb->resyncs++;
            rc = MRFC_JB_RESYNC;
        } else {
            jb->late_run = 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t t = ts + (uint32_t)i;
        if ((int32_t)(t - jb->play_ts) < 0)
            continue;                         /* the part already played */
        jb->ring[t & MASK] = s[i];
        jb->valid[t & MASK] = 1;
    }
    return rc;
}

bool mrfc_jbuf_get(struct mrfc_jbuf *jb, int16_t *out, size_t n)
{
    bool any = false;
    if (!jb->started) {
        memset(out, 0, n * sizeof(*out));
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t k = (jb->play_ts + (uint32_t)i) & MASK;
        if (jb->valid[k]) {
            out[i] = jb->ring[k];
            jb->valid[k] = 0;
            any = true;
        } else {
            out[i] = 0;
            jb->missing++;
        }
    }
    jb->play_ts += (uint32_t)n;
    jb->read += n;
    return any;
}

uint32_t mrfc_jbuf_depth(const struct mrfc_jbuf *jb)
{
    if (!jb->started)
        return 0;
    for (uint32_t d = MRFC_JB_SIZE; d > 0; d--)
        if (jb->valid[(jb->play_ts + d - 1) & MASK])
            return d;
    return 0;
}
