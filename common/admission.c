/*
 * admission.c - admission control of a SIP stack and RFC 7339 Via handling (admission.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "admission.h"
#include "heap.h"
#include "log.h"
#include "sip_hdr.h"
#include "loop.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#define SHEDDING_HOLD_US 2000000ULL   /* "overloaded" stays true 2 s after a refusal */
#define HEAP_EVERY_MIN_US 100000ULL    /* the heap in use is read at most every 100 ms, ... */
#define HEAP_EVERY_MAX_US 10000000ULL  /* ... at least every 10 s, and in between as often as a
                                        * heap growing ... */
#define HEAP_GROWTH_MAX 134217728.0    /* ... 128 MB/s would need to reach the bound */

enum refusal { BY_RATE, BY_TRANSACTIONS, BY_MEMORY, BY_DOWNSTREAM, BY_WAIT, REFUSALS };

static const char *const class_names[IMS_LOAD_CLASSES] = { "normal", "priority" };
static const char *const refusal_names[REFUSALS] = { "rate", "transactions", "memory",
                                                      "downstream", "wait" };

struct ims_admission {
    struct ims_admission_conf c;
    struct ims_load load;
    struct ims_oc_client client;
    struct ims_oc_server server;
    long transactions;
    size_t heap;                  /* malloc's bytes in use, read at heap_at_us (0: never) */
    uint64_t heap_at_us;
    uint64_t seq_int;             /* RFC 7339 server: the last oc-seq */
    uint32_t seq_frac;
    /* metrics and health, read from the HTTP thread */
    struct ims_counter *admitted[IMS_LOAD_CLASSES];
    struct ims_counter *refused[IMS_LOAD_CLASSES][REFUSALS];
    atomic_int_fast64_t rate;              /* admissions/s of the bucket, 0 unlimited */
    atomic_int_fast64_t delay_us;          /* smoothed queueing delay */
    atomic_int_fast64_t loss;              /* highest loss asked of a client now */
    atomic_int_fast64_t downstream_loss;   /* highest loss a next hop asks for now */
    atomic_int_fast64_t in_flight;
    atomic_uint_fast64_t last_refusal_us;  /* 0: never */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- metrics ---- */

static double gauge_rate(void *arg)
{
    return (double)atomic_load(&((struct ims_admission *)arg)->rate);
}

static double gauge_delay(void *arg)
{
    return (double)atomic_load(&((struct ims_admission *)arg)->delay_us) / 1e6;
}

static double gauge_in_flight(void *arg)
{
    return (double)atomic_load(&((struct ims_admission *)arg)->in_flight);
}

static double gauge_loss(void *arg)
{
    return (double)atomic_load(&((struct ims_admission *)arg)->loss);
}

static double gauge_downstream(void *arg)
{
    return (double)atomic_load(&((struct ims_admission *)arg)->downstream_loss);
}

static double gauge_overloaded(void *arg)
{
    struct ims_admission *a = arg;
    uint64_t t = atomic_load(&a->last_refusal_us);
    return t && now_us() < t + SHEDDING_HOLD_US ? 1 : 0;
}

static void register_metrics(struct ims_admission *a)
{
    char labels[96];
    for (int k = 0; k < IMS_LOAD_CLASSES; k++) {
        snprintf(labels, sizeof(labels), "class=\"%s\"", class_names[k]);
        a->admitted[k] = ims_counter_new("ims_sip_admitted_total",
                                         "Requests of new work taken, by class (priority: "
                                         "emergency and from trusted peers)", labels);
        for (int r = 0; r < REFUSALS; r++) {
            snprintf(labels, sizeof(labels), "class=\"%s\",reason=\"%s\"", class_names[k],
                     refusal_names[r]);
            a->refused[k][r] = ims_counter_new("ims_sip_overload_refused_total",
                                               "Requests of new work answered 503 for "
                                               "overload, by class and reason", labels);
        }
    }
    ims_gauge_fn_new("ims_sip_admission_rate", "Admissions per second the bucket allows "
                     "now (0: not limited)", NULL, gauge_rate, a);
    ims_gauge_fn_new("ims_sip_queue_delay_seconds", "Smoothed time messages waited in the "
                     "sockets before the loop read them", NULL, gauge_delay, a);
    ims_gauge_fn_new("ims_sip_transactions_in_flight", "Proxy transactions in flight", NULL,
                     gauge_in_flight, a);
    ims_gauge_fn_new("ims_sip_oc_loss_percent", "Highest RFC 7339 loss this node asks of "
                     "one of its clients now", NULL, gauge_loss, a);
    ims_gauge_fn_new("ims_sip_oc_downstream_loss_percent", "Highest RFC 7339 loss a next "
                     "hop asks of this node now", NULL, gauge_downstream, a);
    ims_gauge_fn_new("ims_sip_overloaded", "1 while this node refuses new work (and 2 s "
                     "after)", NULL, gauge_overloaded, a);
}

/* Copy what the HTTP thread reads */
static void publish(struct ims_admission *a)
{
    atomic_store(&a->rate, a->load.limited ? (int_fast64_t)(a->load.rate + 0.5) : 0);
    atomic_store(&a->delay_us, (int_fast64_t)(a->load.delay_ms * 1000.0));
    double loss = 0;
    for (int i = 0; i < IMS_OC_SERVED; i++)
        if (a->server.c[i].key[0] && ims_oc_server_loss(&a->server.c[i]) > loss)
            loss = ims_oc_server_loss(&a->server.c[i]);
    atomic_store(&a->loss, (int_fast64_t)(loss * 100.0 + 0.5));
    atomic_store(&a->in_flight, a->transactions);
    if (a->load.refused_any)
        atomic_store(&a->last_refusal_us, a->load.last_refusal_us);
}

struct ims_admission *ims_admission_create(const struct ims_admission_conf *c)
{
    struct ims_admission *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->c = *c;
    struct ims_load_conf lc;
    ims_load_conf_default(&lc);
    lc.target_delay_ms = c->target_delay_ms > 0 ? c->target_delay_ms : lc.target_delay_ms;
    lc.max_rate = c->max_rate;
    lc.min_rate = c->min_rate > 0 ? c->min_rate : lc.min_rate;
    ims_load_init(&a->load, &lc, now_us());
    ims_oc_server_init(&a->server, lc.period_ms, c->oc_validity_ms, now_us());
    register_metrics(a);
    publish(a);
    char ceiling[48] = "no ceiling";
    if (c->max_rate > 0)
        snprintf(ceiling, sizeof(ceiling), "at most %.0f/s", c->max_rate);
    if (c->enabled)
        ims_info("sip: admission control: target queueing delay %.0f ms, rate %s, at least "
                 "%.0f/s, %u transactions in flight and %u MB of heap at most (0: no bound), "
                 "503 with Retry-After %u s; RFC 7339 overload control %s", lc.target_delay_ms,
                 ceiling, a->load.c.min_rate, c->max_transactions, c->max_heap_mb,
                 c->retry_after, c->oc ? "on" : "off");
    else
        ims_warn("sip: admission control is off (overload.enabled = no): new work is never "
                 "refused for overload");
    return a;
}

void ims_admission_destroy(struct ims_admission *a)
{
    free(a);
}

bool ims_admission_new_work(const sip_t *req)
{
    sip_method_t m = req->sip_request->rq_method;
    if (m == sip_method_ack || m == sip_method_cancel)
        return false;
    return !(req->sip_to && req->sip_to->a_tag);
}

bool ims_admission_continues(const sip_t *req)
{
    if (req->sip_request->rq_method != sip_method_register)
        return false;
    for (const sip_authorization_t *au = req->sip_authorization; au; au = au->au_next) {
        const char *r = msg_params_find(au->au_params, "response=");
        if (r && *r && strcmp(r, "\"\"") != 0)
            return true;
    }
    return false;
}

bool ims_admission_is_emergency(const url_t *ruri)
{
    char buf[64];
    if (!ruri || !ruri->url_scheme || strcasecmp(ruri->url_scheme, "urn") != 0 ||
        url_e(buf, sizeof(buf), ruri) <= 0)
        return false;
    buf[sizeof(buf) - 1] = '\0';
    return strncasecmp(buf, "urn:service:sos", 15) == 0 && (buf[15] == '\0' || buf[15] == '.');
}

/* The bound on transactions for class @k: priority work gets 10 % more room */
static bool over_bound(const struct ims_admission *a, enum ims_load_class k)
{
    if (!a->c.max_transactions)
        return false;
    long bound = (long)a->c.max_transactions;
    if (k == IMS_LOAD_PRIORITY)
        bound += bound / 10;
    return a->transactions >= bound;
}

/* When the heap, read at @heap bytes, is to be read again: the time a heap growing
 * HEAP_GROWTH_MAX would take to reach @bound, within HEAP_EVERY_MIN_US .. _MAX_US */
static uint64_t heap_every_us(size_t heap, size_t bound)
{
    double left = heap < bound ? (double)(bound - heap) : 0;
    double us = left / HEAP_GROWTH_MAX * 1e6;
    if (us < (double)HEAP_EVERY_MIN_US)
        return HEAP_EVERY_MIN_US;
    return us > (double)HEAP_EVERY_MAX_US ? HEAP_EVERY_MAX_US : (uint64_t)us;
}

/* Whether the heap in use is past overload.max_heap_mb for class @k (priority work gets
 * 10 % more room). mallinfo2 walks the allocator's free lists under the arena lock, on the
 * loop thread: with the P-CSCF's heap at 600 MB under a call flood one reading took about
 * 10 ms, at 250 MB and 150 calls/s on a slower day about 30 ms (perf: int_mallinfo 6 % of
 * the loop thread when read every second), a stall of the loop whose queueing delay is what
 * admission follows. So the heap is read as seldom as the distance to the bound allows: the
 * heap grew about 20 MB/s at 600 calls/s; at 250 MB of 1024 it is read every 6 s. */
static bool over_memory(struct ims_admission *a, enum ims_load_class k, uint64_t now)
{
    if (!a->c.max_heap_mb)
        return false;
    size_t bound = (size_t)a->c.max_heap_mb << 20;
    if (!a->heap_at_us || now >= a->heap_at_us + heap_every_us(a->heap, bound)) {
        a->heap = a->c.heap_bytes ? a->c.heap_bytes() : ims_heap_read();
        a->heap_at_us = now;
    }
    if (k == IMS_LOAD_PRIORITY)
        bound += bound / 10;
    return a->heap >= bound;
}

/*
 * Whether a request of new work (not priority work) waited in its socket longer than
 * overload.max_wait_ms. The bucket's rate follows the smoothed delay, period by period, so
 * a sudden step of load (4 x what the node can take) builds a queue faster than the rate
 * comes down: the P-CSCF's reached a second in the first seconds of such a step, and the
 * requests it then took completed late (p99 past 500 ms) although they were few. Refusing
 * at once what already waited too long empties that queue at the cost of a 503 each (no
 * transaction, no next hop; a retransmission gets the same 503, common/sip.c).
 * Priority work (from the core, emergency) was admitted elsewhere or must not be lost.
 */
static bool waited_too_long(const struct ims_admission *a, enum ims_load_class k)
{
    if (!a->c.max_wait_ms || k != IMS_LOAD_NORMAL)
        return false;
    uint64_t waited = a->c.waited_us ? a->c.waited_us() : ims_loop_last_delay_us();
    return waited > (uint64_t)a->c.max_wait_ms * 1000;
}

/* The RFC 7339 server's period, closed when over; what the clients held back for us in it
 * goes to the load monitor (demand it would not see otherwise) */
static void tick_server(struct ims_admission *a, uint64_t now)
{
    uint64_t window = a->server.window_us;
    ims_oc_server_tick(&a->server, a->load.limited ? a->load.rate : 0, a->load.calm, now);
    if (a->server.window_us != window && a->server.held_back)
        ims_load_held_back(&a->load, a->server.held_back, now);
}

/* The RFC 7339 entry of the client of @req (source @client), when its Via offers it */
static struct ims_oc_served *served(struct ims_admission *a, const sip_t *req,
                                    const char *client, uint64_t now)
{
    if (!client || !client[0] || !ims_admission_oc_offered(a, req))
        return NULL;
    return ims_oc_server_find(&a->server, client, true, now);
}

const char *ims_admission_check(struct ims_admission *a, enum ims_load_class k,
                                const sip_t *req, const char *client)
{
    uint64_t now = now_us(), sum;
    uint32_t n;
    ims_loop_read_delays(&n, &sum);
    if (n)
        ims_load_delays(&a->load, sum, n, now);
    const char *why = NULL;
    if (!a->c.enabled) {
        ims_counter_inc(a->admitted[k]);
        return NULL;
    }
    if (waited_too_long(a, k)) {
        ims_load_refuse(&a->load, k, now);
        ims_counter_inc(a->refused[k][BY_WAIT]);
        why = "overloaded: the request waited too long in this node's queue";
    } else if (over_bound(a, k)) {
        ims_load_refuse(&a->load, k, now);
        ims_counter_inc(a->refused[k][BY_TRANSACTIONS]);
        why = "overloaded: too many transactions in flight";
    } else if (over_memory(a, k, now)) {
        ims_load_refuse(&a->load, k, now);
        ims_counter_inc(a->refused[k][BY_MEMORY]);
        why = "overloaded: the memory for work in flight is used up";
    } else if (!ims_load_admit(&a->load, k, now)) {
        ims_counter_inc(a->refused[k][BY_RATE]);
        why = "overloaded: more new requests than this node can take now";
    } else {
        ims_counter_inc(a->admitted[k]);
    }
    struct ims_oc_served *e = req ? served(a, req, client, now) : NULL;
    ims_oc_server_offered(&a->server, e, k, why != NULL);
    tick_server(a, now);
    publish(a);
    return why;
}

unsigned ims_admission_retry_after(const struct ims_admission *a)
{
    return a->c.retry_after;
}

void ims_admission_tx(struct ims_admission *a, int delta)
{
    a->transactions += delta;
    atomic_store(&a->in_flight, a->transactions);
}

void ims_admission_penalty(struct ims_admission *a)
{
    ims_load_penalty(&a->load, now_us());
    publish(a);
}

/* ---- RFC 7339 server ---- */

bool ims_admission_oc_offered(const struct ims_admission *a, const sip_t *sip)
{
    if (!a->c.enabled || !a->c.oc || !sip->sip_via)
        return false;
    for (const char *const *p = sip->sip_via->v_params; p && *p; p++)
        if (strncasecmp(*p, "oc", 2) == 0 && ((*p)[2] == '\0' || (*p)[2] == '='))
            return true;
    return false;
}

/* A new oc-seq, later than every one before: the wall clock in 10 us steps */
static void next_seq(struct ims_admission *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t i = (uint64_t)ts.tv_sec;
    uint32_t f = (uint32_t)(ts.tv_nsec / 10000);
    if (i < a->seq_int || (i == a->seq_int && f <= a->seq_frac)) {
        i = a->seq_int;
        f = a->seq_frac + 1;
        if (f >= 100000) {
            i++;
            f = 0;
        }
    }
    a->seq_int = i;
    a->seq_frac = f;
}

static void set_param(msg_t *msg, sip_via_t *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_param(msg_t *msg, sip_via_t *v, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *p = su_strdup(msg_home(msg), buf);
    if (p)
        msg_header_replace_param(msg_home(msg), v->v_common, p);
}

void ims_admission_stamp(struct ims_admission *a, msg_t *msg, sip_t *sip, const char *client)
{
    struct ims_oc_via o;
    uint64_t now = now_us();
    if (!client || !ims_admission_oc_offered(a, sip) ||
        !ims_oc_via_parse(sip->sip_via->v_params, &o) || !o.loss)
        return;
    tick_server(a, now);
    struct ims_oc_served *e = ims_oc_server_find(&a->server, client, false, now);
    unsigned pct;
    bool changed;
    if (!e || !ims_oc_server_advertise(&a->server, e, now, &pct, &changed))
        return;
    if (changed)
        next_seq(a);
    char seq[32];
    sip_via_t *v = sip->sip_via;
    set_param(msg, v, "oc=%u", pct);
    set_param(msg, v, "oc-algo=\"loss\"");
    set_param(msg, v, "oc-validity=%u", a->c.oc_validity_ms);
    set_param(msg, v, "oc-seq=%s", ims_oc_seq_format(a->seq_int, a->seq_frac, seq,
                                                     sizeof(seq)));
    msg_fragment_clear(v->v_common);
}

/* ---- RFC 7339 client ---- */

bool ims_admission_hop_key(const url_t *hop, char *buf, size_t len)
{
    if (!hop || !hop->url_host)
        return false;
    const char *h = hop->url_host;
    char bare[64];
    size_t hl = strlen(h);
    bool v6 = hl > 2 && h[0] == '[' && h[hl - 1] == ']';
    snprintf(bare, sizeof(bare), "%.*s", v6 ? (int)(hl - 2) : (int)hl, v6 ? h + 1 : h);
    unsigned char addr[16];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, bare, addr) != 1)
        return false;
    const char *port = hop->url_port && *hop->url_port ? hop->url_port
                       : hop->url_type == url_sips ? "5061" : "5060";
    snprintf(buf, len, "%s:%s", h, port);
    return true;
}

bool ims_admission_offer(struct ims_admission *a, msg_t *msg, sip_t *sip, const url_t *hop,
                         const char *address, int port)
{
    if (!a->c.enabled || !a->c.oc || !hop)
        return false;
    char tp[8] = "UDP";
    if (hop->url_type == url_sips)
        snprintf(tp, sizeof(tp), "TLS");
    else if (hop->url_params && ims_url_param(hop->url_params, "transport", tp, sizeof(tp)) > 0)
        for (char *c = tp; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    if (strcmp(tp, "UDP") != 0 && strcmp(tp, "TCP") != 0 && strcmp(tp, "TLS") != 0)
        return false;
    bool v6 = strchr(address, ':') != NULL;
    char text[160];
    snprintf(text, sizeof(text), "SIP/2.0/%s %s%s%s:%d;oc;oc-algo=\"loss\"", tp, v6 ? "[" : "",
             address, v6 ? "]" : "", port);
    sip_via_t *v = sip_via_make(msg_home(msg), text);
    return v && msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)v) == 0;
}

bool ims_admission_throttle(struct ims_admission *a, const char *key, const char *client)
{
    if (!a->c.enabled || !a->c.oc || !key)
        return false;
    uint64_t now = now_us();
    struct ims_oc_served *e = client ? ims_oc_server_find(&a->server, client, false, now)
                                     : NULL;
    double upstream = e ? (double)e->advertised / 100.0 : 0;
    if (e)
        ims_oc_server_forwarded(e, ims_oc_client_loss(&a->client, key, now) / 100.0);
    return ims_oc_client_drop(&a->client, key, upstream, now);
}

void ims_admission_throttled(struct ims_admission *a, enum ims_load_class k)
{
    ims_load_throttled(&a->load, now_us());
    ims_counter_inc(a->refused[k][BY_DOWNSTREAM]);
    publish(a);
}

void ims_admission_learn(struct ims_admission *a, const char *key, const sip_t *sip)
{
    struct ims_oc_via o;
    if (!a->c.enabled || !a->c.oc || !key || !sip->sip_via ||
        !ims_oc_via_parse(sip->sip_via->v_params, &o) || !o.has_value)
        return;
    uint64_t now = now_us();
    unsigned before = ims_oc_client_loss(&a->client, key, now);
    ims_oc_client_update(&a->client, key, &o, now);
    unsigned after = ims_oc_client_loss(&a->client, key, now);
    if ((before == 0) != (after == 0))
        ims_info("sip: next hop %s %s (RFC 7339)", key, after ? "asks for fewer requests"
                                                              : "takes every request again");
    unsigned highest = 0;
    for (int i = 0; i < IMS_OC_PEERS; i++) {
        unsigned l = ims_oc_client_loss(&a->client, a->client.peers[i].key, now);
        if (a->client.peers[i].key[0] && l > highest)
            highest = l;
    }
    atomic_store(&a->downstream_loss, (int_fast64_t)highest);
}

/* ---- health ---- */

static bool overloaded(struct ims_admission *a)
{
    return gauge_overloaded(a) > 0;
}

enum ims_health ims_admission_health(void *arg, json_t *peers)
{
    struct ims_admission *a = arg;
    bool shed = overloaded(a);
    json_t *p = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I}", "name", "sip-admission", "kind",
                          "overload", "state", shed ? "refusing" : "admitting",
                          "queue_delay_ms", (double)atomic_load(&a->delay_us) / 1000.0,
                          "transactions", (json_int_t)atomic_load(&a->in_flight),
                          "oc_loss_percent", (json_int_t)atomic_load(&a->loss));
    int_fast64_t rate = atomic_load(&a->rate);
    if (p && rate)
        json_object_set_new(p, "rate_limit", json_integer((json_int_t)rate));
    if (p)
        json_array_append_new(peers, p);
    return shed ? IMS_HEALTH_DEGRADED : IMS_HEALTH_OK;
}

void ims_admission_health_fields(void *arg, json_t *doc)
{
    json_object_set_new(doc, "overloaded", json_boolean(overloaded(arg)));
}
