/*
 * overload.h - admission control of new SIP work and RFC 7339 overload control (loss)
 *
 * Three pieces, all pure (the time is a parameter, no I/O, no locks: the loop thread owns
 * them):
 *
 * - the load monitor (struct ims_load): a token bucket that admits new work, whose rate
 *   follows a measured delay. Every message's queueing delay (kernel arrival to the moment
 *   the loop reads it) is fed in; once per period the mean delay is compared with a target:
 *   above it the rate drops to what was admitted times target/delay (by 10 % to 30 % a
 *   period, and not again while the delay already falls); below it, while the bucket (or
 *   the clients, for us) refuses requests, the rate grows with the headroom left; calm and
 *   refusing nothing, it keeps room for twice what is admitted. Downstream signs of
 *   overload (Diameter TOO_BUSY, timeouts) are penalties that lower the rate too. Two
 *   classes: priority work (emergency requests, requests from the core's trusted peers:
 *   work already admitted upstream) may overdraw the bucket by one bucket depth, so it is
 *   refused last.
 * - the server side of RFC 7339 (struct ims_oc_server): per client that announced support
 *   ("oc" in its Via), the loss (percentage of requests it should not send) this node
 *   advertises in the Via of its responses to it: the share of the demand the bucket's rate
 *   cannot take, combined with the loss the next hops of that client's requests ask of
 *   this node, passed on so that the work is shed at the edge (ims_oc_server_tick). Never
 *   fed by the node's own drops: a call goes S -> I -> S, and a loss that fed on them came
 *   back round that loop and kept itself at its maximum.
 * - the client side (struct ims_oc_client): the loss each next hop advertised, with its
 *   sequence and validity, and the decision for each new request (an even spread of
 *   drops: a running sum of the loss percentage).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_OVERLOAD_H
#define IMS_OVERLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ims_load_class {
    IMS_LOAD_NORMAL = 0,      /* new work from outside the core (UEs) */
    IMS_LOAD_PRIORITY = 1,    /* emergency, and new work from trusted peers */
    IMS_LOAD_CLASSES
};

struct ims_load_conf {
    double target_delay_ms;   /* the mean queueing delay the rate is adjusted to stay under */
    double max_rate;          /* admissions/s never exceeded; 0: no fixed ceiling (the bucket
                               * then applies from the first sign of overload on) */
    double min_rate;          /* the adapted rate never goes below this */
    unsigned period_ms;       /* the rate is adjusted once per period */
    double burst_s;           /* bucket depth, in seconds of the current rate */
    unsigned min_samples;     /* delays needed in a period to lower the rate for delay */
};

/* What happened in the current period */
struct ims_load_window {
    uint32_t offered[IMS_LOAD_CLASSES];
    uint32_t admitted[IMS_LOAD_CLASSES];
    uint32_t refused[IMS_LOAD_CLASSES];      /* here: bucket or transaction bound */
    uint32_t held_back;       /* requests clients did not send because we asked them (RFC
                               * 7339): demand past the rate, as refusals are */
    uint64_t delay_sum_us;
    uint32_t delays;
    uint32_t penalties;
};

struct ims_load {
    struct ims_load_conf c;
    bool limited;             /* the bucket applies */
    double rate;              /* admissions/s of the bucket (when limited) */
    double tokens, depth;
    uint64_t refill_us;
    uint64_t window_us;       /* start of the current period */
    struct ims_load_window w;
    double delay_ms;          /* smoothed mean queueing delay */
    double admitted_rate;     /* admissions/s in the last period */
    double last_mean_ms;      /* the mean delay of the last period */
    bool decreased;           /* the last period lowered the rate */
    bool calm;                /* the last period: delay under half the target, no penalty */
    double good_rate;         /* the most admitted/s in a period under the target, ... */
    uint64_t good_over_us;    /* ... and the time spent over the target since, in periods
                               * that admitted at least what they refused (an idle node
                               * keeps what it learnt) */
    uint64_t last_refusal_us; /* when a request was last refused here or downstream */
    bool refused_any;         /* ever */
};

/* Defaults of the configuration keys (documented in the daemons' READMEs) */
void ims_load_conf_default(struct ims_load_conf *c);

/* Start with an unlimited bucket (or max_rate when set) at @now_us. */
void ims_load_init(struct ims_load *l, const struct ims_load_conf *c, uint64_t now_us);

/*
 * ims_load_admit - one request of new work of class @k at @now_us: true when it may be
 * handled, false when it is to be refused (503). Counts it either way.
 */
bool ims_load_admit(struct ims_load *l, enum ims_load_class k, uint64_t now_us);

/* A request of class @k that the caller refused itself (transaction bound), counted as
 * refused without taking a token. */
void ims_load_refuse(struct ims_load *l, enum ims_load_class k, uint64_t now_us);

/* An admitted request then refused because its next hop is overloaded (for shedding()). */
void ims_load_throttled(struct ims_load *l, uint64_t now_us);

/* @n queueing delays summing to @sum_us (messages read since the last call). */
void ims_load_delays(struct ims_load *l, uint64_t sum_us, uint32_t n, uint64_t now_us);

/* @n requests the clients held back at our request (RFC 7339): while the delay is low
 * they raise the rate as refusals do, else a rate once lowered would never be tried
 * higher (the clients shed before the bucket sees the demand). */
void ims_load_held_back(struct ims_load *l, uint32_t n, uint64_t now_us);

/* A downstream server said it is overloaded (Diameter TOO_BUSY, no answer in time). */
void ims_load_penalty(struct ims_load *l, uint64_t now_us);

/* Close the period when it is over (the other calls do it too). */
void ims_load_tick(struct ims_load *l, uint64_t now_us);

/* Refusing now, or within @hold_us: for /health. */
bool ims_load_shedding(const struct ims_load *l, uint64_t now_us, uint64_t hold_us);

/* ---- RFC 7339 server: the loss each client that offered overload control is asked for ---- */

#define IMS_OC_SERVED 32

struct ims_oc_served {
    char key[64];             /* the client: its source "address:port/proto" ("" free) */
    bool priority;            /* its requests are priority work (a trusted peer) */
    uint32_t offered;         /* its new requests this period ... */
    uint32_t refused;         /* ... refused here */
    double down_sum;          /* ... the loss of the next hop of each one sent on (or
                               * dropped for it), summed ... */
    uint32_t down_n;          /* ... over this many */
    double local;             /* asked of it for this node's own capacity, 0..1 */
    double down;              /* asked of it on behalf of the next hops, 0..1 */
    unsigned advertised;      /* percent last put in a response */
    uint64_t until_us;        /* oc parameters go out until then (oc=0 after a reduction) */
    uint64_t used_us;         /* the least recently used entry goes first */
};

struct ims_oc_server {
    struct ims_oc_served c[IMS_OC_SERVED];
    uint32_t others[IMS_LOAD_CLASSES];   /* new requests this period from clients without
                               * overload control (UEs), by class: they count in the demand */
    uint32_t held_back;       /* the last period: requests the clients held back for this
                               * node's own capacity (not for the next hops) */
    uint64_t window_us;
    unsigned period_ms;
    unsigned validity_ms;
};

void ims_oc_server_init(struct ims_oc_server *s, unsigned period_ms, unsigned validity_ms,
                        uint64_t now_us);

/* The entry of client @key, made (replacing the least recently used) when @create. NULL
 * when absent and not made. */
struct ims_oc_served *ims_oc_server_find(struct ims_oc_server *s, const char *key, bool create,
                                         uint64_t now_us);

/*
 * ims_oc_server_tick - close the period when it is over. The loss asked of a client is
 * 1 - (1 - local) x (1 - down), each part moving half-way per period to its target:
 *   local: the share of the demand of the client's class the bucket's @rate cannot take,
 *          priority work first (priority: 1 - rate / its demand; normal: 1 - what the
 *          rate leaves / its demand), each client's requests counted as if it did not
 *          reduce them (offered / (1 - its loss)); 0 when @rate is 0, not limited;
 *   down:  the mean loss the next hops of its requests ask of this node: passed on, so
 *          that the client drops them before they cost anything here (the proxy then drops
 *          only what the client does not, ims_oc_client_drop()).
 * Neither part feeds on this node's own drops, so no loss can keep itself up round a loop
 * of CSCFs (S -> I -> S for a call). A client silent for a period keeps its loss, fading
 * when @calm.
 */
void ims_oc_server_tick(struct ims_oc_server *s, double rate, bool calm, uint64_t now_us);

/* A new request of class @k of client @e (NULL: a client without overload control),
 * @refused or not */
void ims_oc_server_offered(struct ims_oc_server *s, struct ims_oc_served *e,
                           enum ims_load_class k, bool refused);
/* A request of client @e taken and sent to (or dropped for) a next hop that asks for
 * @loss (0..1) */
void ims_oc_server_forwarded(struct ims_oc_served *e, double loss);
/* The loss asked of @e now, 0..1 */
double ims_oc_server_loss(const struct ims_oc_served *e);

/*
 * ims_oc_server_advertise - what a response to client @e carries now: false when nothing
 * (no reduction asked, and none in the last validity period); else *pct (0..100: the loss
 * asked, at least the share of its requests refused so far in this period) and *changed
 * when it is not what was last sent (the caller then takes a new oc-seq).
 */
bool ims_oc_server_advertise(struct ims_oc_server *s, struct ims_oc_served *e, uint64_t now_us,
                             unsigned *pct, bool *changed);

/* ---- RFC 7339 Via parameters ---- */

/* The overload control parameters of one Via header */
struct ims_oc_via {
    bool oc;                  /* "oc" present (a client announcing support, or a server's
                               * answer when it has a value) */
    bool has_value;
    unsigned value;           /* oc=<0..100> (loss: percent to reduce) */
    bool loss;                /* oc-algo lists "loss" (absent: loss, the default) */
    bool has_algo;
    bool has_validity;
    unsigned validity_ms;     /* oc-validity */
    bool has_seq;
    uint64_t seq_int;         /* oc-seq: integer part */
    uint32_t seq_frac;        /* ... fraction, scaled to 5 digits */
};

/*
 * ims_oc_via_parse - read the oc parameters from @params (a NULL-terminated array of
 * "name" or "name=value" strings, as sofia-sip keeps Via parameters). Malformed values are
 * treated as absent. Returns true when an "oc" parameter is present.
 */
bool ims_oc_via_parse(const char *const *params, struct ims_oc_via *out);

/*
 * ims_oc_seq_format - an oc-seq value "<int>.<5 digits>" for @seq_int/@seq_frac into @buf.
 * Returns @buf.
 */
const char *ims_oc_seq_format(uint64_t seq_int, uint32_t seq_frac, char *buf, size_t len);

/* ---- RFC 7339 client: the loss each next hop asked for ---- */

#define IMS_OC_PEERS 16
#define IMS_OC_DEFAULT_VALIDITY_MS 500

struct ims_oc_peer {
    char key[64];             /* the next hop, "host:port" ("" free) */
    unsigned loss;            /* percent */
    uint64_t seq_int;
    uint32_t seq_frac;
    uint64_t expires_us;      /* the loss applies until then */
    unsigned acc;             /* running sum of the loss: a drop each time it passes 100 */
    uint64_t used_us;         /* last update or decision (the least recently used goes) */
};

struct ims_oc_client {
    struct ims_oc_peer peers[IMS_OC_PEERS];
};

/*
 * ims_oc_client_update - a response of next hop @key carried @v (v->oc and a value): keep
 * it unless its oc-seq is older than the one kept. A validity of 0 or a value of 0 ends the
 * reduction. Returns true when the values were taken.
 */
bool ims_oc_client_update(struct ims_oc_client *c, const char *key, const struct ims_oc_via *v,
                          uint64_t now_us);

/*
 * ims_oc_client_drop - whether a new request to next hop @key is to be dropped now: its
 * server's loss L, spread evenly (with 30 %, 3 requests of every 10), less what the
 * request's own client already dropped for it (@upstream, 0..1: the loss this node asks of
 * that client; 0 for one without overload control): 1 - (1 - L) / (1 - upstream).
 */
bool ims_oc_client_drop(struct ims_oc_client *c, const char *key, double upstream,
                        uint64_t now_us);

/* The loss in force for @key now (0 when none or expired). */
unsigned ims_oc_client_loss(const struct ims_oc_client *c, const char *key, uint64_t now_us);

#endif
