/*
 * doic.c - RFC 7683 overload reports, loss algorithm: pure logic (see doic.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "doic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- reacting node ---- */

static struct ims_doic_peer *peer_find(const struct ims_doic_client *c, const char *host)
{
    for (int i = 0; host && i < IMS_DOIC_PEERS; i++)
        if (c->peers[i].host[0] && strcmp(c->peers[i].host, host) == 0)
            return (struct ims_doic_peer *)&c->peers[i];
    return NULL;
}

/* A free entry, else the one least recently used */
static struct ims_doic_peer *peer_new(struct ims_doic_client *c, const char *host)
{
    struct ims_doic_peer *p = &c->peers[0];
    for (int i = 0; i < IMS_DOIC_PEERS; i++) {
        if (!c->peers[i].host[0]) {
            p = &c->peers[i];
            break;
        }
        if (c->peers[i].used_ms < p->used_ms)
            p = &c->peers[i];
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->host, sizeof(p->host), "%s", host);
    return p;
}

int ims_doic_client_update(struct ims_doic_client *c, const char *host,
                           const struct ims_doic_olr *olr, uint64_t now_ms)
{
    if (!host || !*host || olr->type != IMS_DOIC_REPORT_HOST)
        return 0;   /* realm reports are not taken: no realm of several servers here */
    if (olr->has_reduction && olr->reduction > 100)
        return -EINVAL;
    struct ims_doic_peer *p = peer_find(c, host);
    if (p && olr->seq <= p->seq)
        return 0;   /* the same report again, or an older one */
    if (!p)
        p = peer_new(c, host);
    uint32_t validity = olr->has_validity ? olr->validity_s : IMS_DOIC_DEFAULT_VALIDITY_S;
    if (validity > IMS_DOIC_MAX_VALIDITY_S)
        validity = IMS_DOIC_MAX_VALIDITY_S;
    p->seq = olr->seq;
    p->reduction = olr->has_reduction ? olr->reduction : 0;
    p->expires_ms = p->reduction && validity ? now_ms + (uint64_t)validity * 1000 : now_ms;
    p->used_ms = now_ms;
    return 1;
}

uint32_t ims_doic_client_reduction(const struct ims_doic_client *c, const char *host,
                                   uint64_t now_ms)
{
    const struct ims_doic_peer *p = peer_find(c, host);
    return p && now_ms < p->expires_ms ? p->reduction : 0;
}

bool ims_doic_client_throttle(struct ims_doic_client *c, const char *host, uint64_t now_ms)
{
    struct ims_doic_peer *p = peer_find(c, host);
    if (!p || p->reduction == 0 || now_ms >= p->expires_ms)
        return false;
    p->used_ms = now_ms;
    p->acc += p->reduction;
    if (p->acc < 100)
        return false;
    p->acc -= 100;
    return true;
}

bool ims_doic_trusted(const char *target, const char *peer, const char *origin)
{
    if (!peer || !*peer || !origin || strcasecmp(peer, origin) != 0)
        return false;
    return !target || !*target || strcasecmp(target, peer) == 0;
}

/* ---- reporting node ---- */

/* How far @v is from the threshold (@pct of @limit) towards @limit, 0..1 */
static double past(unsigned v, unsigned limit, unsigned pct)
{
    if (limit == 0)
        return 0;
    double thr = (double)limit * pct / 100.0;
    if ((double)v <= thr)
        return 0;
    if (v >= limit || thr >= limit)
        return 1;
    return ((double)v - thr) / ((double)limit - thr);
}

uint32_t ims_doic_reduction(unsigned depth, unsigned max_queue, unsigned wait_ms,
                            unsigned busy_wait_ms, unsigned threshold_pct)
{
    double a = past(depth, max_queue, threshold_pct);
    double b = past(wait_ms, busy_wait_ms, threshold_pct);
    double level = a > b ? a : b;
    if (level <= 0)
        return 0;
    /* up to the next multiple of 10: a little past the threshold already asks 10 % */
    uint32_t r = (uint32_t)(level * IMS_DOIC_MAX_REDUCTION + 9.999) / 10 * 10;
    return r > IMS_DOIC_MAX_REDUCTION ? IMS_DOIC_MAX_REDUCTION : r;
}

void ims_doic_server_init(struct ims_doic_server *s, unsigned max_queue, unsigned busy_wait_ms,
                          unsigned threshold_pct, unsigned validity_s, uint64_t init_seq,
                          uint64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->max_queue = max_queue;
    s->busy_wait_ms = busy_wait_ms;
    s->threshold_pct = threshold_pct;
    s->validity_s = validity_s;
    s->seq = init_seq;
    s->period_ms = now_ms;
    s->issued_ms = now_ms;
}

static void set_reduction(struct ims_doic_server *s, uint32_t r, uint64_t now_ms)
{
    if (r == s->reduction)
        return;
    if (r == 0)
        s->ended_ms = now_ms ? now_ms : 1;
    s->reduction = r;
    s->seq++;
    s->issued_ms = now_ms;
}

/* Close the periods over by @now_ms: the reduction falls towards what the peaks of the
 * period just over call for, and by a full step for each later period (none observed) */
static void close_periods(struct ims_doic_server *s, uint64_t now_ms)
{
    if (now_ms < s->period_ms + IMS_DOIC_PERIOD_MS)
        return;
    uint64_t n = (now_ms - s->period_ms) / IMS_DOIC_PERIOD_MS;
    unsigned mean_wait = s->waits ? (unsigned)(s->wait_sum_ms / s->waits) : 0;
    uint32_t want = ims_doic_reduction(s->peak_depth, s->max_queue, mean_wait,
                                       s->busy_wait_ms, s->threshold_pct);
    uint32_t r = s->reduction;
    if (want > r)
        r = want;
    else if (want < r)
        r = r - want > IMS_DOIC_STEP_DOWN ? r - IMS_DOIC_STEP_DOWN : want;
    uint64_t down = (n - 1) * IMS_DOIC_STEP_DOWN;
    r = down >= r ? 0 : r - (uint32_t)down;
    set_reduction(s, r, now_ms);
    s->period_ms += n * IMS_DOIC_PERIOD_MS;
    s->peak_depth = 0;
    s->wait_sum_ms = 0;
    s->waits = 0;
}

void ims_doic_server_tick(struct ims_doic_server *s, uint64_t now_ms)
{
    close_periods(s, now_ms);
}

void ims_doic_server_observe(struct ims_doic_server *s, unsigned depth, unsigned wait_ms,
                             uint64_t now_ms)
{
    close_periods(s, now_ms);
    if (depth > s->peak_depth)
        s->peak_depth = depth;
    if (wait_ms) {
        s->wait_sum_ms += wait_ms;
        s->waits++;
    }
    uint32_t now_want = ims_doic_reduction(depth, s->max_queue, 0, s->busy_wait_ms,
                                           s->threshold_pct);
    if (now_want > s->reduction)
        set_reduction(s, now_want, now_ms);
    else if (s->reduction && now_ms >= s->issued_ms + (uint64_t)s->validity_s * 500) {
        s->seq++;   /* renewed before the clients' copy runs out */
        s->issued_ms = now_ms;
    }
}

bool ims_doic_server_report(const struct ims_doic_server *s, uint64_t now_ms,
                            struct ims_doic_olr *olr)
{
    if (s->reduction == 0 &&
        (s->ended_ms == 0 || now_ms >= s->ended_ms + (uint64_t)s->validity_s * 1000))
        return false;
    *olr = (struct ims_doic_olr){ .seq = s->seq, .type = IMS_DOIC_REPORT_HOST,
                                  .reduction = s->reduction, .has_reduction = true,
                                  .validity_s = s->validity_s, .has_validity = true };
    return true;
}
