/*
 * overload.c - the load monitor (a delay-driven token bucket) and RFC 7339 loss-based
 * overload control, server and client side (see overload.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "overload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIN_DEPTH 5.0             /* tokens: room for a small burst even at a low rate */
#define DECREASE_MIN 0.7          /* a period lowers the rate to no less than 70 % ... */
#define DECREASE_MAX 0.9          /* ... and by at least 10 % */
#define INCREASE_GAIN 0.1         /* a period with all headroom raises the rate by 10 % */
#define INCREASE_BELOW 0.8        /* the rate grows only while the delay of the period is
                                   * under 80 % of the target (and the smoothed one under
                                   * the target) */
#define GOOD_FLOOR 0.5            /* a decrease keeps half the rate taken calmly ... */
#define GOOD_MEMORY_US 5000000ULL /* ... until the node has spent this long over the target
                                   * with no more refused than admitted */
#define LOSS_MAX 0.95             /* advertised loss: always let a trickle through */
#define LOSS_DECAY 0.8            /* a calm period of a silent client keeps 80 % of its loss */
#define LOSS_STEP 0.005           /* below half a percent, no loss at all */

void ims_load_conf_default(struct ims_load_conf *c)
{
    *c = (struct ims_load_conf){
        .target_delay_ms = 20,
        .max_rate = 0,
        .min_rate = 20,
        .period_ms = 200,
        .burst_s = 0.2,
        .min_samples = 20,
    };
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void set_depth(struct ims_load *l)
{
    l->depth = l->rate * l->c.burst_s;
    if (l->depth < MIN_DEPTH)
        l->depth = MIN_DEPTH;
    if (l->tokens > l->depth)
        l->tokens = l->depth;
}

void ims_load_init(struct ims_load *l, const struct ims_load_conf *c, uint64_t now_us)
{
    memset(l, 0, sizeof(*l));
    l->c = *c;
    if (l->c.period_ms == 0)
        l->c.period_ms = 200;
    if (l->c.min_rate < 1)
        l->c.min_rate = 1;
    if (l->c.max_rate > 0 && l->c.max_rate < l->c.min_rate)
        l->c.min_rate = l->c.max_rate;
    l->limited = l->c.max_rate > 0;
    l->rate = l->limited ? l->c.max_rate : 0;
    set_depth(l);
    l->tokens = l->depth;
    l->refill_us = now_us;
    l->window_us = now_us;
}

static void refill(struct ims_load *l, uint64_t now_us)
{
    if (now_us <= l->refill_us)
        return;
    l->tokens += l->rate * (double)(now_us - l->refill_us) / 1e6;
    if (l->tokens > l->depth)
        l->tokens = l->depth;
    l->refill_us = now_us;
}

/* Lower the rate: to what was admitted, times the share of the target the delay allows
 * (and the share of answers that were not penalties), but not below half of the most the
 * node took with its delay under the target, until it has spent GOOD_MEMORY_US over the
 * target since: a burst (a step of new load whose calls all come back with their in-dialog
 * requests, a core taken by another process for a moment) lengthens the delay for a few
 * periods whatever is admitted, and following it period after period fell far below what
 * the node can take (a 4x offer completed under half the calls it completed at 2x; after
 * an idle pause, a burst cut the S-CSCF to 25 requests/s, from the 65 it had admitted in a
 * period spent draining the burst's queue, where it had taken 400/s calmly before the
 * pause, and the climb back took 8 s). The memory counts overloaded time only: an idle
 * node learns nothing about what it can take. Nor does a period that refused more than it
 * admitted: its delay is the refusals' (each read, parsed and answered) as much as the
 * admitted work's, and cutting the admitted work for it is what collapsed registrations
 * offered at 4 x the zero-failure rate to 9/s, the P-CSCF busy refusing the rest. A delay
 * that stays long lowers the rate further once that memory is used up; penalties (a next
 * hop too busy) are not held by this floor. */
static void decrease(struct ims_load *l, bool over, uint32_t admitted, uint64_t now_us)
{
    double f = DECREASE_MAX;
    if (over)
        f = clamp(l->c.target_delay_ms / l->delay_ms, DECREASE_MIN, DECREASE_MAX);
    if (l->w.penalties) {
        double share = (double)l->w.penalties / (double)(admitted ? admitted : 1);
        f = clamp(1.0 - share, DECREASE_MIN, f);
    }
    double base = l->admitted_rate > l->c.min_rate ? l->admitted_rate : l->c.min_rate;
    if (l->limited && base > l->rate)
        base = l->rate;
    if (!l->limited) {
        l->tokens = 0;        /* overloaded now: admit at the new rate from here */
        l->refill_us = now_us;
    }
    double floor = 0;
    if (over && !l->w.penalties && l->good_over_us < GOOD_MEMORY_US) {
        floor = GOOD_FLOOR * l->good_rate;
        if (l->limited && floor > l->rate)
            floor = l->rate;  /* a decrease never raises the rate */
    }
    l->rate = base * f;
    if (l->rate < floor)
        l->rate = floor;
    if (l->rate < l->c.min_rate)
        l->rate = l->c.min_rate;
    if (l->c.max_rate > 0 && l->rate > l->c.max_rate)
        l->rate = l->c.max_rate;
    l->limited = true;
    set_depth(l);
}

/* Calm and not refusing: a rate lowered long ago stays at least twice what is admitted, so
 * that work that comes back (the clients' own reduction ending) finds room, and the
 * bucket is not what refuses it */
static void follow(struct ims_load *l)
{
    double room = 2.0 * l->admitted_rate;
    if (room > l->rate) {
        l->rate = l->c.max_rate > 0 && room > l->c.max_rate ? l->c.max_rate : room;
        set_depth(l);
    }
}

/* Raise the rate while the bucket refuses work and the delay leaves room */
static void increase(struct ims_load *l, double mean_ms)
{
    double headroom = 1.0 - mean_ms / l->c.target_delay_ms;
    l->rate = l->rate * (1.0 + INCREASE_GAIN * headroom) + 1.0;
    if (l->c.max_rate > 0 && l->rate > l->c.max_rate)
        l->rate = l->c.max_rate;
    set_depth(l);
}

static void close_window(struct ims_load *l, uint64_t now_us)
{
    double secs = (double)(now_us - l->window_us) / 1e6;
    uint32_t admitted = 0, refused = 0;
    for (int k = 0; k < IMS_LOAD_CLASSES; k++) {
        admitted += l->w.admitted[k];
        refused += l->w.refused[k];
    }
    l->admitted_rate = (double)admitted / secs;
    double mean = 0;
    if (l->w.delays) {
        mean = (double)l->w.delay_sum_us / (double)l->w.delays / 1000.0;
        l->delay_ms = l->delay_ms > 0 ? 0.5 * l->delay_ms + 0.5 * mean : mean;
    } else {
        l->delay_ms *= 0.5;   /* nothing read: nothing waited */
    }
    /* over the target on average and in this period itself (not a past period's echo),
     * and not already falling after a decrease (the queue built before it drains: lowering
     * again would overshoot far below what the node can take) */
    bool over = l->delay_ms > l->c.target_delay_ms && mean > l->c.target_delay_ms &&
                l->w.delays >= l->c.min_samples &&
                !(l->decreased && mean < l->last_mean_ms);
    l->last_mean_ms = mean;
    if (!over && !l->w.penalties && mean <= l->c.target_delay_ms &&
        l->delay_ms <= l->c.target_delay_ms &&
        (l->admitted_rate >= l->good_rate || l->good_over_us >= GOOD_MEMORY_US)) {
        l->good_rate = l->admitted_rate;
        l->good_over_us = 0;
    } else if ((over || l->w.penalties) && refused <= admitted) {
        l->good_over_us += now_us - l->window_us;
    }
    l->decreased = over || l->w.penalties;
    l->calm = !over && !l->w.penalties && l->delay_ms < l->c.target_delay_ms / 2;
    if (over || l->w.penalties)
        decrease(l, over, admitted, now_us);
    else if (l->limited && (refused || l->w.held_back) &&
             mean < INCREASE_BELOW * l->c.target_delay_ms && l->delay_ms < l->c.target_delay_ms)
        increase(l, mean);
    else if (l->limited && l->calm)
        follow(l);
    memset(&l->w, 0, sizeof(l->w));
    l->window_us = now_us;
}

void ims_load_tick(struct ims_load *l, uint64_t now_us)
{
    if (now_us >= l->window_us + (uint64_t)l->c.period_ms * 1000)
        close_window(l, now_us);
}

bool ims_load_admit(struct ims_load *l, enum ims_load_class k, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->w.offered[k]++;
    if (l->limited) {
        refill(l, now_us);
        bool ok = l->tokens >= 1.0 ||
                  (k == IMS_LOAD_PRIORITY && l->tokens - 1.0 >= -l->depth);
        if (!ok) {
            l->w.refused[k]++;
            l->last_refusal_us = now_us;
            l->refused_any = true;
            return false;
        }
        l->tokens -= 1.0;
    }
    l->w.admitted[k]++;
    return true;
}

void ims_load_refuse(struct ims_load *l, enum ims_load_class k, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->w.offered[k]++;
    l->w.refused[k]++;
    l->last_refusal_us = now_us;
    l->refused_any = true;
}

void ims_load_throttled(struct ims_load *l, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->last_refusal_us = now_us;
    l->refused_any = true;
}

void ims_load_delays(struct ims_load *l, uint64_t sum_us, uint32_t n, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->w.delay_sum_us += sum_us;
    l->w.delays += n;
}

void ims_load_held_back(struct ims_load *l, uint32_t n, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->w.held_back += n;
}

void ims_load_penalty(struct ims_load *l, uint64_t now_us)
{
    ims_load_tick(l, now_us);
    l->w.penalties++;
}

bool ims_load_shedding(const struct ims_load *l, uint64_t now_us, uint64_t hold_us)
{
    return l->refused_any && now_us < l->last_refusal_us + hold_us;
}

/* ---- RFC 7339 server ---- */

void ims_oc_server_init(struct ims_oc_server *s, unsigned period_ms, unsigned validity_ms,
                        uint64_t now_us)
{
    memset(s, 0, sizeof(*s));
    s->period_ms = period_ms ? period_ms : 200;
    s->validity_ms = validity_ms;
    s->window_us = now_us;
}

struct ims_oc_served *ims_oc_server_find(struct ims_oc_server *s, const char *key, bool create,
                                         uint64_t now_us)
{
    struct ims_oc_served *unused = NULL, *lru = NULL;
    for (int i = 0; i < IMS_OC_SERVED; i++) {
        struct ims_oc_served *e = &s->c[i];
        if (!e->key[0]) {
            if (!unused)
                unused = e;
        } else if (strcmp(e->key, key) == 0) {
            e->used_us = now_us;
            return e;
        } else if (!lru || e->used_us < lru->used_us) {
            lru = e;
        }
    }
    if (!create || !key[0])
        return NULL;
    struct ims_oc_served *e = unused ? unused : lru;
    memset(e, 0, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->used_us = now_us;
    return e;
}

double ims_oc_server_loss(const struct ims_oc_served *e)
{
    double l = 1.0 - (1.0 - e->local) * (1.0 - e->down);
    return l > LOSS_MAX ? LOSS_MAX : l;
}

/* Move @part half-way to @target; below LOSS_STEP it is 0 */
static double towards(double part, double target)
{
    part = 0.5 * part + 0.5 * target;
    return part < LOSS_STEP ? 0 : part > LOSS_MAX ? LOSS_MAX : part;
}

void ims_oc_server_tick(struct ims_oc_server *s, double rate, bool calm, uint64_t now_us)
{
    if (now_us < s->window_us + (uint64_t)s->period_ms * 1000)
        return;
    double secs = (double)(now_us - s->window_us) / 1e6, held = 0;
    double demand[IMS_LOAD_CLASSES] = { s->others[IMS_LOAD_NORMAL],
                                        s->others[IMS_LOAD_PRIORITY] };
    for (int i = 0; i < IMS_OC_SERVED; i++) {
        struct ims_oc_served *e = &s->c[i];
        if (!e->key[0])
            continue;
        double all = (double)e->offered / (1.0 - ims_oc_server_loss(e));
        demand[e->priority] += all;
        held += all * e->local;
    }
    s->held_back = (uint32_t)(held + 0.5);
    double local[IMS_LOAD_CLASSES] = { 0, 0 };
    if (rate > 0) {
        /* priority work passes first; normal work has what it leaves */
        double prio = demand[IMS_LOAD_PRIORITY] / secs, normal = demand[IMS_LOAD_NORMAL] / secs;
        double left = rate > prio ? rate - prio : 0;
        local[IMS_LOAD_PRIORITY] = prio > rate ? 1.0 - rate / prio : 0;
        local[IMS_LOAD_NORMAL] = normal > left ? 1.0 - left / normal : 0;
    }
    for (int i = 0; i < IMS_OC_SERVED; i++) {
        struct ims_oc_served *e = &s->c[i];
        if (!e->key[0])
            continue;
        if (e->offered)
            e->local = towards(e->local, local[e->priority]);
        else if (calm)
            e->local = towards(e->local, 0);
        if (e->down_n)
            e->down = towards(e->down, e->down_sum / e->down_n);
        else if (calm || !e->offered)
            e->down = towards(e->down, 0);
        e->offered = e->refused = e->down_n = 0;
        e->down_sum = 0;
    }
    s->others[IMS_LOAD_NORMAL] = s->others[IMS_LOAD_PRIORITY] = 0;
    s->window_us = now_us;
}

void ims_oc_server_offered(struct ims_oc_server *s, struct ims_oc_served *e,
                           enum ims_load_class k, bool refused)
{
    if (!e) {
        s->others[k]++;
        return;
    }
    e->priority = k == IMS_LOAD_PRIORITY;
    e->offered++;
    if (refused)
        e->refused++;
}

void ims_oc_server_forwarded(struct ims_oc_served *e, double loss)
{
    e->down_sum += loss;
    e->down_n++;
}

bool ims_oc_server_advertise(struct ims_oc_server *s, struct ims_oc_served *e, uint64_t now_us,
                             unsigned *pct, bool *changed)
{
    double loss = ims_oc_server_loss(e);
    double now = e->offered ? (double)e->refused / (double)e->offered : 0;
    if (now > loss)
        loss = now > LOSS_MAX ? LOSS_MAX : now;
    *pct = (unsigned)(loss * 100.0 + 0.5);
    *changed = *pct != e->advertised;
    e->advertised = *pct;
    if (*pct)
        e->until_us = now_us + (uint64_t)s->validity_ms * 1000;
    return *pct || now_us < e->until_us;
}

/* ---- Via parameters ---- */

/* "name" or "name=value" of @param against @name: the value ("" when none), or NULL */
static const char *param_value(const char *param, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(param, name, n) != 0)
        return NULL;
    if (param[n] == '\0')
        return "";
    return param[n] == '=' ? param + n + 1 : NULL;
}

/* Decimal digits only, 1 to @max of them, value into @out */
static bool digits(const char *s, size_t len, size_t max, uint64_t *out)
{
    if (len == 0 || len > max)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* oc-algo="loss,rate": does the (quoted or bare) list name loss? */
static bool lists_loss(const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    const char *end = v + n;
    while (v < end) {
        while (v < end && (*v == ' ' || *v == ','))
            v++;
        const char *t = v;
        while (v < end && *v != ',' && *v != ' ')
            v++;
        if (v - t == 4 && strncasecmp(t, "loss", 4) == 0)
            return true;
    }
    return false;
}

/* oc-seq = 1*12DIGIT "." 1*5DIGIT */
static bool parse_seq(const char *v, uint64_t *seq_int, uint32_t *seq_frac)
{
    const char *dot = strchr(v, '.');
    uint64_t i, f;
    if (!dot || !digits(v, (size_t)(dot - v), 12, &i) ||
        !digits(dot + 1, strlen(dot + 1), 5, &f))
        return false;
    for (size_t d = strlen(dot + 1); d < 5; d++)
        f *= 10;
    *seq_int = i;
    *seq_frac = (uint32_t)f;
    return true;
}

bool ims_oc_via_parse(const char *const *params, struct ims_oc_via *out)
{
    memset(out, 0, sizeof(*out));
    out->loss = true;   /* the default algorithm */
    for (; params && *params; params++) {
        const char *p = *params, *v;
        uint64_t n;
        if ((v = param_value(p, "oc")) != NULL) {
            out->oc = true;
            if (*v && digits(v, strlen(v), 3, &n) && n <= 100) {
                out->has_value = true;
                out->value = (unsigned)n;
            }
        } else if ((v = param_value(p, "oc-algo")) != NULL) {
            out->has_algo = true;
            out->loss = lists_loss(v);
        } else if ((v = param_value(p, "oc-validity")) != NULL) {
            if (digits(v, strlen(v), 9, &n)) {
                out->has_validity = true;
                out->validity_ms = (unsigned)n;
            }
        } else if ((v = param_value(p, "oc-seq")) != NULL) {
            out->has_seq = parse_seq(v, &out->seq_int, &out->seq_frac);
        }
    }
    return out->oc;
}

const char *ims_oc_seq_format(uint64_t seq_int, uint32_t seq_frac, char *buf, size_t len)
{
    snprintf(buf, len, "%llu.%05u", (unsigned long long)(seq_int % 1000000000000ULL),
             (unsigned)(seq_frac % 100000));
    return buf;
}

/* ---- client ---- */

static struct ims_oc_peer *peer_find(const struct ims_oc_client *c, const char *key)
{
    for (int i = 0; i < IMS_OC_PEERS; i++)
        if (c->peers[i].key[0] && strcmp(c->peers[i].key, key) == 0)
            return (struct ims_oc_peer *)&c->peers[i];
    return NULL;
}

/* A free entry, else the one least recently used */
static struct ims_oc_peer *peer_new(struct ims_oc_client *c, const char *key)
{
    struct ims_oc_peer *p = &c->peers[0];
    for (int i = 0; i < IMS_OC_PEERS; i++) {
        if (!c->peers[i].key[0]) {
            p = &c->peers[i];
            break;
        }
        if (c->peers[i].used_us < p->used_us)
            p = &c->peers[i];
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->key, sizeof(p->key), "%s", key);
    return p;
}

static bool seq_older(const struct ims_oc_peer *p, const struct ims_oc_via *v)
{
    return v->seq_int < p->seq_int || (v->seq_int == p->seq_int && v->seq_frac < p->seq_frac);
}

bool ims_oc_client_update(struct ims_oc_client *c, const char *key, const struct ims_oc_via *v,
                          uint64_t now_us)
{
    if (!v->oc || !v->has_value || !v->loss || !key || !*key)
        return false;
    struct ims_oc_peer *p = peer_find(c, key);
    if (p && v->has_seq && now_us < p->expires_us && seq_older(p, v))
        return false;   /* a stale value overtaken by a newer one (RFC 7339 5.x oc-seq) */
    if (!p) {
        if (v->value == 0)
            return true;   /* nothing to remember */
        p = peer_new(c, key);
    }
    unsigned validity = v->has_validity ? v->validity_ms : IMS_OC_DEFAULT_VALIDITY_MS;
    p->loss = v->value;
    p->expires_us = validity && v->value ? now_us + (uint64_t)validity * 1000 : now_us;
    if (v->has_seq) {
        p->seq_int = v->seq_int;
        p->seq_frac = v->seq_frac;
    }
    p->used_us = now_us;
    return true;
}

bool ims_oc_client_drop(struct ims_oc_client *c, const char *key, double upstream,
                        uint64_t now_us)
{
    struct ims_oc_peer *p = key ? peer_find(c, key) : NULL;
    if (!p || p->loss == 0 || now_us >= p->expires_us)
        return false;
    p->used_us = now_us;
    double loss = p->loss / 100.0;
    if (upstream >= loss)
        return false;      /* the request's client dropped enough for this next hop */
    if (upstream > 0)
        loss = 1.0 - (1.0 - loss) / (1.0 - upstream);
    p->acc += (unsigned)(loss * 100.0 + 0.5);
    if (p->acc < 100)
        return false;
    p->acc -= 100;
    return true;
}

unsigned ims_oc_client_loss(const struct ims_oc_client *c, const char *key, uint64_t now_us)
{
    const struct ims_oc_peer *p = key ? peer_find(c, key) : NULL;
    return p && now_us < p->expires_us ? p->loss : 0;
}
