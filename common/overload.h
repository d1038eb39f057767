/*
 * overload.h - admission control of new SIP work and RFC 7339 overload control (loss)
 *
 * Three pieces, all pure (the time is a parameter, no I/O, no locks: the loop thread owns
 * them):
 *
 * - the load monitor (struct ims_load): a token bucket that admits new work, whose rate
 *   follows a measured delay. Every message's queueing delay (kernel arrival to the moment
 *   the loop reads it) is fed in; once per period the mean delay is compared with a target:
 *   above it the rate drops to what was admitted times target/delay (at least halved, at
 *   most -10 %); below it, while the bucket is what refuses requests, the rate grows with the
 *   headroom left; calm and refusing nothing, it keeps room for twice what is admitted. Downstream signs of overload (Diameter TOO_BUSY, timeouts) are penalties
 *   that lower the rate too. Two classes: priority work (emergency requests, requests from
 *   the core's trusted peers: work already admitted upstream) may overdraw the bucket by one
 *   bucket depth, so it is refused last.
 * - the server side of RFC 7339 (struct ims_oc_server): per client that announced support
 *   ("oc" in its Via), the loss (percentage of requests it should not send) this node
 *   advertises in the Via of its responses to it: raised by the share of that client's
 *   requests refused here (locally, or because the next hop asked for a reduction), decayed
 *   when nothing of it is refused and the node is calm. Per client, not per node: a loss
 *   that counted every refusal would come back round a loop of CSCFs (S -> I -> S for a
 *   call) and keep itself up.
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
    bool calm;                /* the last period: delay under half the target, no penalty */
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
    uint32_t offered, bad;    /* its new requests this period, and those refused */
    double loss;              /* asked of it, 0..1 */
    unsigned advertised;      /* percent last put in a response */
    uint64_t until_us;        /* oc parameters go out until then (oc=0 after a reduction) */
    uint64_t used_us;         /* the least recently used entry goes first */
};

struct ims_oc_server {
    struct ims_oc_served c[IMS_OC_SERVED];
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

/* Close the period when it is over; @calm: the node refuses nothing for itself now. */
void ims_oc_server_tick(struct ims_oc_server *s, bool calm, uint64_t now_us);

/* A new request of client @e (@refused: answered 503 here, for whatever reason) */
void ims_oc_server_offered(struct ims_oc_served *e, bool refused);
/* A request of client @e admitted, then refused for its next hop's overload */
void ims_oc_server_refused(struct ims_oc_served *e);

/*
 * ims_oc_server_advertise - what a response to client @e carries now: false when nothing
 * (no reduction asked, and none in the last validity period); else *pct (0..100: the loss
 * of the last period, raised by the share refused in this one) and *changed when it is
 * not what was last sent (the caller then takes a new oc-seq).
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
 * ims_oc_client_drop - whether a new request to next hop @key is to be dropped now (its
 * server's loss, spread evenly: with 30 %, 3 requests of every 10).
 */
bool ims_oc_client_drop(struct ims_oc_client *c, const char *key, uint64_t now_us);

/* The loss in force for @key now (0 when none or expired). */
unsigned ims_oc_client_loss(const struct ims_oc_client *c, const char *key, uint64_t now_us);

#endif
