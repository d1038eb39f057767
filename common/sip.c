/*
 * sip.c - sofia-sip nta agent setup, transports, default request handling, SIP metrics
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "sip.h"
#include "diam_doic.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <inttypes.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>
#include <sys/random.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sresolv.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

#define N_METHODS 16
/* Receive buffer asked for the UDP SIP socket: the default (net.core.rmem_default, 208 KiB)
 * holds about a hundred datagrams, which a burst of a thousand requests a second fills
 * within one pause of the loop (a SQLite commit, a slow timer): the kernel then drops
 * requests and the UEs retransmit 500 ms later. The kernel caps it at net.core.rmem_max. */
#define UDP_RCVBUF (4 * 1024 * 1024)
#define MAX_TPORTS 8          /* sip.transports + extra ones (the P-CSCF's IPsec ports) */
/* Refused requests remembered (a direct-mapped table, 16 bytes a slot: 1 MiB), so that a
 * retransmission is refused again instead of being admitted while its client already has
 * its 503; a slot is kept 32 s (64 x T1, the longest a client retransmits) unless a later
 * refusal takes it. */
#define REFUSED_SLOTS 65536
#define REFUSED_KEEP_US 32000000ULL

struct ims_sip_refused {
    uint64_t key;
    uint64_t until_us;
};

struct ims_sip {
    su_home_t home[1];
    su_root_t *root;
    nta_agent_t *agent;
    su_timer_t *stats_timer;  /* samples nta's transaction counts (sample_nta) */
    nta_leg_t *leg;
    ims_sip_request_fn fn;
    void *arg;
    url_t *own;
    char address[64];
    char host[256];
    char node[32];
    int port;
    int tls_port;
    url_t *tls_uri;               /* NULL without a TLS transport */
    const char *tls_cert, *tls_key, *tls_ca;   /* the conf's, during ims_sip_create only */
    bool tls_verify_clients;      /* sip.tls_verify_clients: mutual TLS */
    unsigned t1x64_ms;            /* sip.t1x64_ms */
    char tports[MAX_TPORTS][8];
    int tport_ports[MAX_TPORTS];
    int ntports;
    char **hosts;                 /* "name=address" */
    struct ims_netlist trusted;   /* sip.trusted_peers */
    struct ims_net self;          /* our own address: what we send to ourselves is trusted */
    char resolv_conf[256];        /* the resolver's own configuration, "" when the system's */
    struct ims_counter *requests[N_METHODS];
    struct ims_counter *responses[7];
    struct ims_counter *dialog_untrusted;   /* ims_sip_dialog_source_ok() refusals */
    struct ims_admission *adm;
    uint64_t tag_secret;          /* seeds the To tags of stateless answers */
    struct ims_sip_refused *refused;   /* REFUSED_SLOTS */
    struct ims_log_limit refusal_log;  /* the "overloaded" lines: one every 10 s */
    ims_sip_early_refusal_fn early;  /* the daemon's, or NULL */
    void *early_arg;
    ims_sip_next_hop_fn next_hop;  /* the daemon's, or NULL */
    void *next_hop_arg;
    char checked_hop[64];         /* the request being admitted passed RFC 7339 for it ... */
    nta_incoming_t *checked_irq;  /* ... and its transaction, while the daemon serves it */
};

/* sofia-sip writes log lines in pieces; collect them until the newline */
static void sofia_logger(void *stream, char const *fmt, va_list ap)
{
    static __thread char line[1024];
    static __thread size_t len;
    (void)stream;
    int n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len ? (size_t)n : sizeof(line) - 1 - len;
    if (len && (line[len - 1] == '\n' || len >= sizeof(line) - 1)) {
        line[len] = '\0';
        ims_warn("sofia-sip: %s", line);
        len = 0;
    }
}

/* nta's transactions alive (its hash tables: lingering ones included), sampled each second
 * on the loop thread for /metrics (scraped from the HTTP thread) */
static _Atomic unsigned long g_nta_irqs, g_nta_orqs;

static double nta_irqs(void *arg)
{
    (void)arg;
    return (double)atomic_load(&g_nta_irqs);
}

static double nta_orqs(void *arg)
{
    (void)arg;
    return (double)atomic_load(&g_nta_orqs);
}

static void sample_nta(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct ims_sip *s = (struct ims_sip *)arg;
    usize_t irqs = 0, orqs = 0;
    nta_agent_get_stats(s->agent, NTATAG_S_IRQ_HASH_USED_REF(irqs),
                        NTATAG_S_ORQ_HASH_USED_REF(orqs), TAG_END());
    atomic_store(&g_nta_irqs, (unsigned long)irqs);
    atomic_store(&g_nta_orqs, (unsigned long)orqs);
}

static void register_metrics(struct ims_sip *s)
{
    static const char *const methods[N_METHODS] = {
        "unknown", "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO",
        "PRACK", "UPDATE", "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH", "other"
    };
    char labels[64];
    for (int i = 0; i < N_METHODS; i++) {
        snprintf(labels, sizeof(labels), "method=\"%s\"", methods[i]);
        s->requests[i] = ims_counter_new("ims_sip_requests_total",
                                         "SIP requests received outside dialogs, by method",
                                         labels);
    }
    static const char *const classes[7] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx" };
    for (int i = 0; i < 7; i++) {
        snprintf(labels, sizeof(labels), "class=\"%s\"", classes[i]);
        s->responses[i] = ims_counter_new("ims_sip_responses_total",
                                          "SIP responses sent or relayed, by class", labels);
    }
    s->dialog_untrusted = ims_counter_new("ims_sip_dialog_untrusted_refused_total",
                                          "requests inside a dialog of this node refused "
                                          "because their source is not in sip.trusted_peers",
                                          NULL);
    ims_gauge_fn_new("ims_sip_nta_server_transactions",
                     "Server transactions sofia-sip holds (lingering ones included)", NULL,
                     nta_irqs, NULL);
    ims_gauge_fn_new("ims_sip_nta_client_transactions",
                     "Client transactions sofia-sip holds (lingering ones included)", NULL,
                     nta_orqs, NULL);
}

void ims_sip_count_response(struct ims_sip *s, int status)
{
    int c = status / 100;
    ims_counter_inc(s->responses[c >= 1 && c <= 6 ? c : 0]);
}

/* Is @tp a TLS connection whose peer certificate was verified against sip.tls_ca? */
static bool tport_verified_tls(tport_t *tp)
{
    return tp && tport_has_tls(tp) && tport_is_verified(tp);
}

static bool msg_trusted(struct ims_sip *s, msg_t *msg)
{
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (!ai || !ai->ai_addr)
        return false;
    /* the transport that delivers @msg, known to sofia-sip during its delivery only */
    tport_t *tp = s->agent ? tport_delivered_by(nta_agent_tports(s->agent), msg) : NULL;
    struct ims_netlist self = { &s->self, 1 };
    return ims_netlist_match_tls(&s->trusted, ai->ai_addr, tport_verified_tls(tp)) ||
           ims_netlist_match(&self, ai->ai_addr);
}

bool ims_sip_msg_trusted(struct ims_sip *s, msg_t *msg)
{
    return msg_trusted(s, msg);
}

/* The admission class of request @req from @src: priority for a trusted peer (work the
 * core already took) or an emergency request */
static enum ims_load_class class_of(const struct ims_sip_source *src, const sip_t *req)
{
    if (src->trusted)
        return IMS_LOAD_PRIORITY;
    bool sos = req && req->sip_request && ims_admission_is_emergency(req->sip_request->rq_url);
    return sos ? IMS_LOAD_PRIORITY : IMS_LOAD_NORMAL;
}

enum ims_load_class ims_sip_incoming_client(struct ims_sip *s, nta_incoming_t *irq,
                                            char *key, size_t len)
{
    struct ims_sip_source src;
    ims_sip_source(s, irq, &src);
    if (key && len)
        snprintf(key, len, "%s", src.key);
    msg_t *msg = src.trusted ? NULL : nta_incoming_getrequest(irq);
    enum ims_load_class k = class_of(&src, msg ? sip_object(msg) : NULL);
    if (msg)
        msg_destroy(msg);
    return k;
}

/* One log line per 10 s while new work is refused, with the count of those it stands for */
static void log_refusal(struct ims_sip *s, const char *why)
{
    ims_log_limited(&s->refusal_log, IMS_LOG_WARN, NULL, "sip: %s: new requests answered 503 "
                    "(ims_sip_overload_refused_total)", why);
}

static int source_of(struct ims_sip *s, msg_t *msg, tport_t *tp, struct ims_sip_source *out);

/* FNV-1a of @str (may be NULL) and a separator, continuing @h */
static uint64_t hash_str(uint64_t h, const char *str)
{
    for (const char *c = str ? str : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

/* The key of request @req's transaction: a hash of what a retransmission of it and the ACK
 * of an answer to an INVITE keep (Call-ID, From tag, CSeq number, top Via branch: RFC 3261
 * 17.1.1.3), seeded with this stack's secret */
static uint64_t request_key(const struct ims_sip *s, const sip_t *req)
{
    char cseq[16];
    snprintf(cseq, sizeof(cseq), "%u", req->sip_cseq ? req->sip_cseq->cs_seq : 0);
    uint64_t h = hash_str(s->tag_secret, req->sip_call_id ? req->sip_call_id->i_id : NULL);
    h = hash_str(h, req->sip_from ? req->sip_from->a_tag : NULL);
    h = hash_str(h, cseq);
    return hash_str(h, req->sip_via ? req->sip_via->v_branch : NULL);
}

/*
 * stateless_tag - the To tag of a stateless answer to @req into @buf: from its key, so that
 * a retransmission gets the same tag (RFC 3261 8.2.7) and the ACK of an INVITE's answer
 * can be told from any other (is_refusal_ack()).
 */
static void stateless_tag(const struct ims_sip *s, const sip_t *req, char *buf, size_t len)
{
    snprintf(buf, len, "sl%016" PRIx64, request_key(s, req));
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Remember that request @key was refused, for as long as its client may retransmit it */
static void refused_add(struct ims_sip *s, uint64_t key)
{
    struct ims_sip_refused *r = &s->refused[key & (REFUSED_SLOTS - 1)];
    r->key = key;
    r->until_us = mono_us() + REFUSED_KEEP_US;
}

/* Was request @key refused within the last 32 s (as far as the table still knows)? */
static bool refused_before(const struct ims_sip *s, uint64_t key)
{
    const struct ims_sip_refused *r = &s->refused[key & (REFUSED_SLOTS - 1)];
    return r->key == key && r->until_us > mono_us();
}

/* Is ACK @req the ACK of an INVITE answered statelessly here (its To tag is ours)? */
static bool is_refusal_ack(const struct ims_sip *s, const sip_t *req)
{
    char tag[24];
    if (!req->sip_to || !req->sip_to->a_tag)
        return false;
    stateless_tag(s, req, tag, sizeof(tag));
    return strcmp(req->sip_to->a_tag, tag) == 0;
}

/*
 * reply_stateless - answer request @msg (@req) with @status, a Warning @warning and, when
 * not 0, a Retry-After, without any transaction: nothing of it stays once the answer is
 * sent. A retransmission of the request is answered again the same way (a stateless
 * server, RFC 3261 8.2.7, 16.11). The top Via gets the RFC 7339 parameters when it offered
 * them and @client (its source) is asked for a reduction. Takes @msg.
 */
static void reply_stateless(struct ims_sip *s, msg_t *msg, const sip_t *req, int status,
                            const char *warning, unsigned retry_after, const char *client)
{
    char ra[16], tag[24];
    snprintf(ra, sizeof(ra), "%u", retry_after);
    msg_t *resp = nta_msg_create(s->agent, 0);
    sip_t *rs = resp ? sip_object(resp) : NULL;
    /* what nta would copy from the request, copied first: the To for its tag, the Vias
     * for the oc parameters */
    if (rs && sip_add_dup(resp, rs, (const sip_header_t *)req->sip_via) == 0 &&
        sip_add_dup(resp, rs, (const sip_header_t *)req->sip_to) == 0) {
        if (!rs->sip_to->a_tag) {
            stateless_tag(s, req, tag, sizeof(tag));
            sip_to_tag(msg_home(resp), rs->sip_to, tag);
        }
        if (client && client[0])
            ims_admission_stamp(s->adm, resp, rs, client);
    }
    /* nta_msg_mreply() completes the answer, sends it by the transport that delivered the
     * request, along the Via (received, rport), and frees both messages */
    nta_msg_mreply(s->agent, resp, rs, status, sip_status_phrase(status), msg,
                   SIPTAG_WARNING_STR(warning), SIPTAG_SERVER_STR(s->node),
                   TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(ra)), TAG_END());
    ims_sip_count_response(s, status);
}

/*
 * refuse_503 - answer request @msg (@sip, from @src) 503 with Retry-After statelessly for
 * @why, logged, and remembered under @key so that its retransmissions are refused again
 * (@msg taken)
 */
static void refuse_503(struct ims_sip *s, msg_t *msg, const sip_t *sip, const char *why,
                       uint64_t key, const struct ims_sip_source *src)
{
    char warning[320];
    log_refusal(s, why);
    refused_add(s, key);
    ims_sip_warning(s, warning, sizeof(warning), "%s", why);
    reply_stateless(s, msg, sip, 503, warning, ims_admission_retry_after(s->adm), src->key);
}

/*
 * refuse_early - the daemon's own refusal of request @msg (@sip, from @src) before any
 * transaction (ims_sip_set_early_refusal()): 0 when it was answered statelessly here
 * (@msg taken), -1 when it goes on.
 */
static int refuse_early(struct ims_sip *s, msg_t *msg, const sip_t *sip,
                        const struct ims_sip_source *src)
{
    struct ims_sip_refusal r = { 0 };
    if (!s->early || !s->early(s->early_arg, sip, src, &r))
        return -1;
    int status = r.status >= 400 && r.status <= 699 ? r.status : 500;
    char warning[320];
    ims_sip_warning(s, warning, sizeof(warning), "%s", r.why);
    reply_stateless(s, msg, sip, status, warning, r.retry_after, src->key);
    return 0;
}

/*
 * refuse_downstream - RFC 7339 client side for request @msg (@sip, of class @k, from @src,
 * refusal key @key) before any transaction, when the daemon's next hop function names its
 * next hop: 0 when that next hop asks for a reduction this request falls in (answered 503
 * statelessly, @msg taken), -1 when it goes on (s->checked_hop then names the next hop that
 * already counted it, "" when none).
 */
static int refuse_downstream(struct ims_sip *s, msg_t *msg, const sip_t *sip,
                             const struct ims_sip_source *src, enum ims_load_class k,
                             uint64_t key)
{
    s->checked_hop[0] = '\0';
    const url_t *hop = s->next_hop ? s->next_hop(s->next_hop_arg, sip) : NULL;
    if (!hop)
        return -1;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *resolved = ims_sip_resolve(s, home, hop);
    char hop_key[64];
    bool numeric = ims_admission_hop_key(resolved ? resolved : hop, hop_key, sizeof(hop_key));
    su_home_deinit(home);
    if (!numeric)
        return -1;
    const char *client = ims_admission_oc_offered(s->adm, sip) ? src->key : NULL;
    if (!ims_admission_throttle(s->adm, hop_key, client)) {
        snprintf(s->checked_hop, sizeof(s->checked_hop), "%s", hop_key);
        return -1;
    }
    ims_admission_throttled(s->adm, k);
    char why[160];
    snprintf(why, sizeof(why), "next hop %s is overloaded (RFC 7339): request not sent",
             hop_key);
    refuse_503(s, msg, sip, why, key, src);
    return 0;
}

/*
 * refuse - the admission control of request @msg (admission.h), then the daemon's own
 * early refusal and the RFC 7339 check of a next hop known from the request, before any
 * transaction exists: returns 0 when it was refused and answered statelessly here (@msg
 * taken), -1 when it goes on. A refusal holds no memory after its answer: under a flood, the
 * refusals cannot use up what admission protects (a transaction would hold ~11 KiB for
 * 32 s, timer J or H).
 */
static int refuse(struct ims_sip *s, msg_t *msg, const sip_t *sip)
{
    if (!ims_admission_new_work(sip))
        return -1;
    struct ims_sip_source src;
    source_of(s, msg, tport_delivered_by(nta_agent_tports(s->agent), msg), &src);
    uint64_t key = request_key(s, sip);
    char warning[320];
    if (refused_before(s, key)) {
        /* a retransmission: not new demand, and refused again whatever the rate is now */
        ims_sip_warning(s, warning, sizeof(warning), "overloaded: this request was refused");
        reply_stateless(s, msg, sip, 503, warning, ims_admission_retry_after(s->adm),
                        src.key);
        return 0;
    }
    enum ims_load_class k = class_of(&src, sip);
    if (k == IMS_LOAD_NORMAL && ims_admission_continues(sip))
        k = IMS_LOAD_PRIORITY;
    const char *why = ims_admission_check(s->adm, k, sip, src.key);
    if (!why) {
        if (refuse_early(s, msg, sip, &src) == 0)
            return 0;
        return refuse_downstream(s, msg, sip, &src, k, key);
    }
    refuse_503(s, msg, sip, why, key, &src);
    return 0;
}

/*
 * serve - request @msg goes to the daemon in a server transaction of its own. The daemon's
 * function answers as a leg callback does (0: it keeps or has answered the transaction; a
 * status: nta answers with it). An extra reference on @msg keeps @sip valid whatever the
 * daemon does with the transaction. Takes @msg.
 */
static void serve(struct ims_sip *s, msg_t *msg, sip_t *sip)
{
    int m = sip->sip_request->rq_method;
    msg_ref_create(msg);
    nta_incoming_t *irq = nta_incoming_create(s->agent, NULL, msg, sip, TAG_END());
    if (!irq) {
        ims_warn("sip: cannot create a server transaction for %s: answered 500",
                 sip->sip_request->rq_method_name);
        char warning[160];
        ims_sip_warning(s, warning, sizeof(warning), "out of memory");
        if (m != sip_method_ack)
            reply_stateless(s, msg, sip, 500, warning, 0, NULL);
        else
            msg_destroy(msg);
        return;
    }
    s->checked_irq = irq;
    int status = s->fn(s->arg, irq, sip);
    s->checked_irq = NULL;
    if (status != 0) {
        if (status < 100 || status > 699 || (m == sip_method_invite && status / 100 == 2))
            status = 500;
        if (nta_incoming_status(irq) < 200) {
            nta_incoming_treply(irq, status, NULL, TAG_END());
            ims_sip_count_response(s, status);
        }
        if (status >= 200)
            nta_incoming_destroy(irq);
    }
    msg_destroy(msg);
}

void ims_sip_set_early_refusal(struct ims_sip *s, ims_sip_early_refusal_fn fn, void *arg)
{
    s->early = fn;
    s->early_arg = arg;
}

void ims_sip_set_next_hop(struct ims_sip *s, ims_sip_next_hop_fn fn, void *arg)
{
    s->next_hop = fn;
    s->next_hop_arg = arg;
}

bool ims_sip_hop_checked(struct ims_sip *s, nta_incoming_t *irq, char *key, size_t len)
{
    if (!irq || irq != s->checked_irq || !s->checked_hop[0])
        return false;
    snprintf(key, len, "%s", s->checked_hop);
    return true;
}

/*
 * on_message - every request that matches no transaction and no dialog of ours (nta's
 * message callback: this agent has no default leg). An ACK of an INVITE refused here is
 * absorbed, a CANCEL is answered 481 (nta gives one with a transaction to cancel to that
 * transaction), new work that admission refuses is answered 503, all three without a
 * transaction; the rest gets one (serve()). Responses that match no client transaction
 * are dropped, as nta does without this callback. Returns 0.
 */
static int on_message(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    struct ims_sip *s = (struct ims_sip *)magic;
    (void)agent;
    s->checked_hop[0] = '\0';    /* refuse_downstream() may set it for this request */
    if (!sip || !sip->sip_request) {
        msg_destroy(msg);
        return 0;
    }
    int m = sip->sip_request->rq_method;
    ims_counter_inc(s->requests[m >= 0 && m < N_METHODS - 1 ? m : N_METHODS - 1]);
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    if (ims_log_enabled(IMS_LOG_DEBUG))
        ims_log(IMS_LOG_DEBUG, &ids, "sip: %s " URL_PRINT_FORMAT " received",
                sip->sip_request->rq_method_name, URL_PRINT_ARGS(sip->sip_request->rq_url));
    if (m == sip_method_ack && is_refusal_ack(s, sip)) {
        msg_destroy(msg);
        return 0;
    }
    if (m == sip_method_cancel) {
        /* RFC 3261 9.2: it matches none (never seen, already answered, or refused) */
        ims_log(IMS_LOG_INFO, &ids, "sip: CANCEL answered 481: no transaction to cancel");
        char warning[160];
        ims_sip_warning(s, warning, sizeof(warning), "no transaction to cancel");
        reply_stateless(s, msg, sip, 481, warning, 0, NULL);
        return 0;
    }
    if (refuse(s, msg, sip) != 0)
        serve(s, msg, sip);
    ims_diam_doic_early_end();   /* an early DOIC decision counts for this request only */
    return 0;
}

/* Can a UDP socket be connected to @ip:53 (is there a route at all)? */
static bool nameserver_reachable(const char *ip)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(53);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(53);
        len = sizeof(*s6);
    } else {
        return false;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * sofia-sip's resolver loops without end on the loop thread when it cannot even connect to
 * its name servers (no route: "Network is unreachable"): one request for a name outside
 * sip.hosts then stops the node. When none of the name servers of /etc/resolv.conf can be
 * reached, the resolver is given a configuration of its own naming 127.0.0.1, which can
 * always be connected to: a query then fails at once, asynchronously, and the request gets
 * an error answer. Returns the path of that configuration (in @path), or NULL when the
 * system's will do.
 */
static const char *resolver_conf(char *path, size_t len)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256], ip[64], tried[200] = "";
    bool any = false, reachable = false;
    while (f && !reachable && fgets(line, sizeof(line), f)) {
        if (sscanf(line, " nameserver %63s", ip) != 1)
            continue;
        any = true;
        reachable = nameserver_reachable(ip);
        snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
                 tried[0] ? ", " : "", ip);
    }
    if (f)
        fclose(f);
    if (!any || reachable)   /* none configured: sofia-sip asks 127.0.0.1 itself */
        return NULL;
    snprintf(path, len, "%s/ims-sip-resolv.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                      : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    static const char conf[] = "# written by the SIP stack: no name server of "
                               "/etc/resolv.conf was reachable\nnameserver 127.0.0.1\n";
    bool ok = write(fd, conf, sizeof(conf) - 1) == (ssize_t)(sizeof(conf) - 1);
    close(fd);
    if (!ok) {
        unlink(path);
        return NULL;
    }
    ims_warn("sip: no name server of /etc/resolv.conf can be reached (%s): host names that "
             "sip.hosts does not list cannot be resolved, and requests to them get an error "
             "answer", tried);
    return path;
}

/* Append the file @path to the open file @out; 0 or -errno */
static int append_file(FILE *out, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return -errno;
    char buf[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -EIO;
    if (ferror(in))
        rc = -EIO;
    fclose(in);
    return rc;
}

/* Write @paths (NULL-terminated) one after the other into @dir/@name; 0 or -errno */
static int write_pem(const char *dir, const char *name, const char *const *paths)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int rc = 0;
    for (; *paths && rc == 0; paths++)
        rc = append_file(f, *paths);
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}

/* Remove the folder tls_folder() made (and what it holds) */
static void remove_tls_folder(const char *dir)
{
    static const char *const names[] = { "agent.pem", "cafile.pem" };
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/*
 * tls_folder - sofia-sip's TLS transport reads its credentials from one folder: agent.pem
 * (the private key and the certificate) and cafile.pem (the CAs that sign the peers'). It
 * reads them when the transport is bound: the folder is made here (private, mode 0700) from
 * sip.tls_key, sip.tls_cert and sip.tls_ca, and removed by the caller right after, so that
 * no second copy of the key stays on disk. Returns 0, or -errno with @dir removed.
 */
static int tls_folder(struct ims_sip *s, char *dir, size_t len)
{
    snprintf(dir, len, "%s/ims-sip-tls.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -errno;
    const char *agent[] = { s->tls_key, s->tls_cert, NULL };
    const char *ca[] = { s->tls_ca, NULL };
    int rc = write_pem(dir, "agent.pem", agent);
    if (rc == 0)
        rc = write_pem(dir, "cafile.pem", ca);
    if (rc != 0)
        remove_tls_folder(dir);
    return rc;
}

static int bind_transport_at(struct ims_sip *s, const char *tp, int port)
{
    char url[160], dir[256] = "";
    bool v6 = strchr(s->address, ':') != NULL, tls = strcmp(tp, "tls") == 0;
    /* nta binds tls for a sips: URI only */
    snprintf(url, sizeof(url), "%s:%s%s%s:%d;transport=%s", tls ? "sips" : "sip",
             v6 ? "[" : "", s->address, v6 ? "]" : "", port, tp);
    const char *u = url;
    /* each transport named ("udp5064"): nta takes a transport given for a request
     * (NTATAG_TPORT) by its name only, and with none named it took the first UDP one, the
     * main port (the P-CSCF sent to an IPsec UE from outside its SAs' port). Every one
     * named, as a name given is compared to each transport's */
    char ident[24];
    snprintf(ident, sizeof(ident), "%s%d", tp, port);
    int rc;
    if (tls && (rc = tls_folder(s, dir, sizeof(dir))) != 0) {
        ims_err("sip: cannot prepare the TLS credentials (sip.tls_cert, tls_key, tls_ca): %s",
                strerror(-rc));
        return rc;
    }
    /* Gm: UEs have no certificates (they authenticate with SIP Digest/AKA): the server
     * side does not ask for one; a connection we open must present a certificate that the
     * CA signed. Mw (sip.tls_verify_clients): the peers that connect to us must present one
     * too, or the handshake fails */
    unsigned policy = s->tls_verify_clients ? TPTLS_VERIFY_ALL : TPTLS_VERIFY_OUT;
    if (!s->agent) {
        const char *conf = resolver_conf(s->resolv_conf, sizeof(s->resolv_conf));
        s->agent = nta_agent_create(s->root, URL_STRING_MAKE(u), on_message,
                                    (nta_agent_magic_t *)s,
                                    NTATAG_UA(0), NTATAG_CANCEL_487(0),
                                    NTATAG_SERVER_RPORT(1), NTATAG_CLIENT_RPORT(1),
                                    NTATAG_TCP_RPORT(1), NTATAG_TLS_RPORT(1),
                                    NTATAG_SIP_T1X64(s->t1x64_ms), TPTAG_IDENT(ident),
                                    TAG_IF(conf, SRESTAG_RESOLV_CONF(conf)),
                                    TAG_IF(tls, TPTAG_CERTIFICATE(dir)),
                                    TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(policy)),
                                    TAG_END());
        if (!conf)
            s->resolv_conf[0] = '\0';
        rc = s->agent ? 0 : -1;
    } else {
        rc = nta_agent_add_tport(s->agent, URL_STRING_MAKE(u), TPTAG_IDENT(ident),
                                 TAG_IF(tls, TPTAG_CERTIFICATE(dir)),
                                 TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(policy)),
                                 TAG_END());
    }
    int err = errno;
    if (tls)
        remove_tls_folder(dir);
    if (rc != 0) {
        ims_err("sip: cannot listen on %s:%d/%s: %s (address not local, or port in use%s?)",
                s->address, port, tp, strerror(err),
                tls ? ", or the certificate, key or CA unreadable or not PEM" : "");
        return -EADDRNOTAVAIL;
    }
    s->tport_ports[s->ntports] = port;
    snprintf(s->tports[s->ntports++], sizeof(s->tports[0]), "%s", tp);
    ims_info("sip: listening on %s:%d/%s%s", s->address, port, tp,
             !tls ? "" : s->tls_verify_clients ? " (mutual TLS: peers present a certificate "
                                                 "of sip.tls_ca)"
                                               : " (clients need no certificate)");
    return 0;
}

static int bind_transport(struct ims_sip *s, const char *tp)
{
    return bind_transport_at(s, tp, strcmp(tp, "tls") == 0 ? s->tls_port : s->port);
}

int ims_sip_add_transport(struct ims_sip *s, int port, const char *proto)
{
    if (!s->agent || s->ntports >= MAX_TPORTS || strcmp(proto, "tls") == 0)
        return -EINVAL;
    return bind_transport_at(s, proto, port);
}

tport_t *ims_sip_tport(struct ims_sip *s, int port, const char *proto)
{
    char want[16];
    snprintf(want, sizeof(want), "%d", port);
    for (tport_t *tp = tport_primaries(nta_agent_tports(s->agent)); tp; tp = tport_next(tp)) {
        const tp_name_t *n = tport_name(tp);
        if (n && n->tpn_port && n->tpn_proto && strcmp(n->tpn_port, want) == 0 &&
            strcasecmp(n->tpn_proto, proto) == 0)
            return tp;
    }
    return NULL;
}

/* Does socket @fd have the local address @addr:@port (numeric host)? */
static bool bound_to(int fd, const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[64], serv[16], want[16];
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return false;
    snprintf(want, sizeof(want), "%d", port);
    return strcmp(host, addr) == 0 && strcmp(serv, want) == 0;
}

/*
 * widen_udp_buffer - raise the receive buffer of our UDP SIP socket (UDP_RCVBUF). sofia-sip
 * has no tag for it and does not expose the socket, so the socket is found among the
 * process's descriptors by its local address. Logs the size obtained; failures only log.
 */
static void widen_udp_buffer(struct ims_sip *s)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name), type = 0, size = UDP_RCVBUF;
        socklen_t len = sizeof(type);
        if (fd <= 2 || fd == dirfd(d) ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM ||
            !bound_to(fd, s->address, s->port))
            continue;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0)
            ims_warn("sip: cannot raise the UDP receive buffer: %s", strerror(errno));
        len = sizeof(size);
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0)
            ims_info("sip: UDP receive buffer of %s:%d is %d bytes (asked %d; the kernel "
                     "caps it at net.core.rmem_max)", s->address, s->port, size / 2,
                     UDP_RCVBUF);
    }
    closedir(d);
}

/*
 * own_leg - the leg our own requests outside any dialog are sent with (ims_sip_leg()). It
 * must not be nta's default leg: requests outside dialogs go to on_message() first, to be
 * refused without a transaction. A leg for a destination URI is no default leg; this one's
 * URI (a random .invalid host) and method ("@", not a SIP token) match no request ever
 * received, so it receives nothing.
 */
static nta_leg_t *own_leg(struct ims_sip *s)
{
    char url[80];
    snprintf(url, sizeof(url), "sip:own-%016" PRIx64 ".invalid", s->tag_secret);
    const char *u = url;
    return nta_leg_tcreate(s->agent, NULL, NULL, NTATAG_NO_DIALOG(1),
                           URLTAG_URL(URL_STRING_MAKE(u)), NTATAG_METHOD("@"), TAG_END());
}

struct ims_sip *ims_sip_create(su_root_t *root, const struct ims_sip_conf *c,
                               ims_sip_request_fn fn, void *arg)
{
    static bool mclass_done;
    if (!mclass_done) {
        /* parse P-Asserted-Identity, P-Preferred-Identity & co. as structured headers */
        sip_update_default_mclass(sip_extend_mclass(NULL));
        su_log_redirect(NULL, sofia_logger, NULL);
        mclass_done = true;
    }
    struct ims_sip *s = calloc(1, sizeof(*s));
    struct ims_sip_refused *refused = calloc(REFUSED_SLOTS, sizeof(*refused));
    if (!s || !refused) {
        free(refused);
        free(s);
        return NULL;
    }
    s->refused = refused;
    s->refusal_log = (struct ims_log_limit)IMS_LOG_LIMIT(10);
    su_home_init(s->home);
    if (getrandom(&s->tag_secret, sizeof(s->tag_secret), 0) != sizeof(s->tag_secret))
        s->tag_secret = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    s->root = root;
    s->fn = fn;
    s->arg = arg;
    s->port = c->port;
    s->tls_port = c->tls_port ? c->tls_port : 5061;
    s->tls_cert = c->tls_cert;
    s->tls_key = c->tls_key;
    s->tls_ca = c->tls_ca;
    s->tls_verify_clients = c->tls_verify_clients;
    s->t1x64_ms = c->t1x64_ms ? c->t1x64_ms : 64 * 500;
    snprintf(s->address, sizeof(s->address), "%s", c->address);
    snprintf(s->host, sizeof(s->host), "%s", c->host ? c->host : c->address);
    snprintf(s->node, sizeof(s->node), "%s", c->node ? c->node : "ims");
    size_t nh = 0;
    for (char **h = c->hosts; h && *h; h++)
        nh++;
    s->hosts = calloc(nh + 1, sizeof(*s->hosts));
    for (size_t i = 0; s->hosts && i < nh; i++)
        s->hosts[i] = strdup(c->hosts[i]);
    register_metrics(s);
    struct ims_admission_conf off = { .enabled = false };
    s->adm = ims_admission_create(c->admission ? c->admission : &off);
    if (!s->adm)
        goto fail;
    char err[160];
    if (ims_netlist_parse(c->trusted, &s->trusted, err, sizeof(err)) != 0) {
        ims_err("sip: trusted peers: %s", err);
        goto fail;
    }
    if (ims_net_parse(c->address, &s->self) != 0) {
        ims_err("sip: %s is not a numeric address", c->address);
        goto fail;
    }

    for (char **tp = c->transports; tp && *tp && s->ntports < MAX_TPORTS; tp++)
        if (bind_transport(s, *tp) != 0)
            goto fail;
    if (!s->agent) {
        ims_err("sip: no transport configured");
        goto fail;
    }
    widen_udp_buffer(s);
    s->stats_timer = su_timer_create(su_root_task(root), 1000);
    if (s->stats_timer &&
        su_timer_set_for_ever(s->stats_timer, sample_nta, (su_timer_arg_t *)s) < 0) {
        su_timer_destroy(s->stats_timer);
        s->stats_timer = NULL;
    }
    s->leg = own_leg(s);
    bool v6 = strchr(s->address, ':') != NULL;
    s->own = url_make(s->home, su_sprintf(s->home, "sip:%s%s%s:%d;lr", v6 ? "[" : "",
                                          s->address, v6 ? "]" : "", s->port));
    for (int i = 0; i < s->ntports; i++)
        if (strcmp(s->tports[i], "tls") == 0)
            s->tls_uri = url_make(s->home, su_sprintf(s->home, "sip:%s%s%s:%d;transport=tls;lr",
                                                      v6 ? "[" : "", s->address, v6 ? "]" : "",
                                                      s->tls_port));
    if (c->own_uri_tls && s->tls_uri)
        s->own = s->tls_uri;
    s->tls_cert = s->tls_key = s->tls_ca = NULL;
    if (!s->leg || !s->own) {
        ims_err("sip: cannot create the default leg");
        goto fail;
    }
    return s;
fail:
    ims_sip_destroy(s);
    return NULL;
}

void ims_sip_destroy(struct ims_sip *s)
{
    if (!s)
        return;
    if (s->stats_timer)
        su_timer_destroy(s->stats_timer);
    if (s->leg)
        nta_leg_destroy(s->leg);
    if (s->agent)
        nta_agent_destroy(s->agent);
    su_home_deinit(s->home);
    for (char **h = s->hosts; h && *h; h++)
        free(*h);
    free(s->hosts);
    ims_netlist_clear(&s->trusted);
    if (s->resolv_conf[0])
        unlink(s->resolv_conf);
    ims_admission_destroy(s->adm);
    free(s->refused);
    free(s);
}

void ims_sip_source_set(struct ims_sip_source *out, const struct sockaddr *sa, bool tcp)
{
    ims_sip_source_set_proto(out, sa, tcp ? "tcp" : "udp");
}

void ims_sip_source_set_proto(struct ims_sip_source *out, const struct sockaddr *sa,
                              const char *proto)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, out->ip, sizeof(out->ip));
        out->port = ntohs(s6->sin6_port);
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, out->ip, sizeof(out->ip));
        out->port = ntohs(s4->sin_port);
    } else {
        return;
    }
    snprintf(out->proto, sizeof(out->proto), "%s", proto);
    bool v6 = strchr(out->ip, ':') != NULL;
    snprintf(out->key, sizeof(out->key), "%s%s%s:%u/%s", v6 ? "[" : "", out->ip, v6 ? "]" : "",
             out->port, out->proto);
}

/*
 * source_of - the source of request @msg, delivered by transport @tp (may be NULL: then its
 * protocol is told by the address), into @out. 0, or -ENOENT when there is no address.
 */
static int source_of(struct ims_sip *s, msg_t *msg, tport_t *tp, struct ims_sip_source *out)
{
    memset(out, 0, sizeof(*out));
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (!ai || !ai->ai_addr ||
        (ai->ai_addr->sa_family != AF_INET && ai->ai_addr->sa_family != AF_INET6))
        return -ENOENT;
    /* the transport that delivered it: "tls" is TCP to the socket */
    const tp_name_t *tpn = tp ? tport_name(tp) : NULL;
    ims_sip_source_set_proto(out, ai->ai_addr,
                             tpn && tpn->tpn_proto ? tpn->tpn_proto
                             : ai->ai_protocol == IPPROTO_TCP ? "tcp" : "udp");
    /* the port it arrived on: a connection's is its listening transport's */
    tport_t *pri = tp && tport_is_secondary(tp) ? tport_parent(tp) : tp;
    const tp_name_t *pn = pri ? tport_name(pri) : NULL;
    out->local_port = pn && pn->tpn_port ? (unsigned)strtoul(pn->tpn_port, NULL, 10) : 0;
    out->verified_tls = tport_verified_tls(tp);
    struct ims_netlist self = { &s->self, 1 };
    out->trusted = ims_netlist_match_tls(&s->trusted, ai->ai_addr, out->verified_tls) ||
                   ims_netlist_match(&self, ai->ai_addr);
    return 0;
}

int ims_sip_source(struct ims_sip *s, nta_incoming_t *irq, struct ims_sip_source *out)
{
    msg_t *msg = nta_incoming_getrequest(irq);
    tport_t *tp = msg ? nta_incoming_transport(s->agent, irq, NULL) : NULL;
    int rc = source_of(s, msg, tp, out);
    tport_unref(tp);
    if (msg)
        msg_destroy(msg);
    return rc;
}

/*
 * A copy of dialog @old whose remote CSeq is @rseq: nta has no setter for it. The dialog's
 * local and remote addresses, tags, Call-ID and local CSeq are read back as nta would put
 * them on a request of @old (an ACK: it takes no new CSeq); the copy is tagged after it is
 * made, as the daemons' legs are (a request without a To tag matches it the same way).
 */
static nta_leg_t *leg_copy(struct ims_sip *s, nta_leg_t *old, uint32_t rseq, nta_request_f *cb,
                           nta_leg_magic_t *magic)
{
    msg_t *msg = nta_msg_create(s->agent, 0);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    const char *tag = nta_leg_get_tag(old);
    nta_leg_t *leg = NULL;
    if (!sip || !tag || nta_msg_request_complete(msg, old, SIP_METHOD_ACK, NULL) < 0 ||
        !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq)
        goto out;
    sip_from_t *local = sip_from_dup(msg_home(msg), sip->sip_from);
    if (!local)
        goto out;
    msg_header_remove_param(local->a_common, "tag");
    local->a_tag = NULL;
    leg = nta_leg_tcreate(s->agent, cb, magic, SIPTAG_CALL_ID(sip->sip_call_id),
                          SIPTAG_FROM(local), SIPTAG_TO(sip->sip_to), SIPTAG_CSEQ(sip->sip_cseq),
                          NTATAG_REMOTE_CSEQ(rseq), TAG_END());
    const sip_route_t *route = NULL;
    const sip_contact_t *target = NULL;
    nta_leg_get_route(old, &route, &target);
    if (leg && (!nta_leg_tag(leg, tag) ||
                ((route || target) &&
                 nta_leg_server_route(leg, (const sip_record_route_t *)route, target) < 0))) {
        nta_leg_destroy(leg);
        leg = NULL;
    }
out:
    if (msg)
        msg_destroy(msg);
    return leg;
}

bool ims_sip_dialog_source_ok(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req,
                              nta_leg_t **leg, uint32_t *rseq, nta_request_f *cb,
                              nta_leg_magic_t *magic)
{
    struct ims_sip_source src;
    ims_sip_source(s, irq, &src);
    bool ack = req->sip_request->rq_method == sip_method_ack;
    if (src.trusted) {
        if (!ack && req->sip_cseq)
            *rseq = req->sip_cseq->cs_seq;
        return true;
    }
    ims_counter_inc(s->dialog_untrusted);
    struct ims_log_ids ids = { .call_id = req->sip_call_id ? req->sip_call_id->i_id : NULL };
    const char *from = src.key[0] ? src.key : "an unknown source";
    ims_log(IMS_LOG_INFO, &ids, "sip: %s in a dialog of this node from %s refused 403: not a "
            "trusted peer (sip.trusted_peers)", req->sip_request->rq_method_name, from);
    char why[200];
    snprintf(why, sizeof(why), "%s from %s: not a trusted peer of this node",
             req->sip_request->rq_method_name, from);
    ims_sip_refuse(s, irq, req, 403, why);
    if (!ack && nta_leg_get_rseq(*leg) != *rseq) {
        nta_leg_t *copy = leg_copy(s, *leg, *rseq, cb, magic);
        if (copy) {
            nta_leg_destroy(*leg);
            *leg = copy;
            ims_log(IMS_LOG_INFO, &ids, "sip: the dialog's remote CSeq is %u again (the "
                    "refused %s had %u)", *rseq, req->sip_request->rq_method_name,
                    req->sip_cseq ? req->sip_cseq->cs_seq : 0);
        } else {
            ims_log(IMS_LOG_ERROR, &ids, "sip: cannot renew the dialog after a refused %s: "
                    "requests of the trusted side below CSeq %u get 500 (out of order)",
                    req->sip_request->rq_method_name, nta_leg_get_rseq(*leg));
        }
    }
    return false;
}

int ims_sip_refuse(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req, int status,
                   const char *why)
{
    return ims_sip_refuse_ex(s, irq, req, status, why, 0);
}

/* The answer of ims_sip_refuse_ex(), with the RFC 7339 parameters for a client that asks */
static void reply_refusal(struct ims_sip *s, nta_incoming_t *irq, int status,
                          const char *warning, unsigned retry_after, const char *accept)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%u", retry_after);
    const char *phrase = sip_status_phrase(status);
    msg_t *resp = nta_incoming_create_response(irq, 0, NULL);
    if (!resp || nta_incoming_complete_response(irq, resp, status, phrase,
                                                SIPTAG_WARNING_STR(warning),
                                                SIPTAG_SERVER_STR(s->node),
                                                TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(ra)),
                                                TAG_IF(accept, SIPTAG_ACCEPT_STR(accept)),
                                                TAG_END()) < 0) {
        if (resp)
            msg_destroy(resp);
        nta_incoming_treply(irq, status, phrase, SIPTAG_WARNING_STR(warning),
                            SIPTAG_SERVER_STR(s->node),
                            TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(ra)),
                            TAG_IF(accept, SIPTAG_ACCEPT_STR(accept)), TAG_END());
        return;
    }
    sip_t *rs = sip_object(resp);
    if (ims_admission_oc_offered(s->adm, rs)) {
        char client[64];
        ims_sip_incoming_client(s, irq, client, sizeof(client));
        ims_admission_stamp(s->adm, resp, rs, client);
    }
    nta_incoming_mreply(irq, resp);
}

static int refuse_tx(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req, int status,
                     const char *why, unsigned retry_after, const char *accept)
{
    if (req->sip_request->rq_method != sip_method_ack) {
        char warning[320];
        ims_sip_warning(s, warning, sizeof(warning), "%s", why);
        reply_refusal(s, irq, status, warning, retry_after, accept);
        ims_sip_count_response(s, status);
    }
    nta_incoming_destroy(irq);
    return 0;
}

int ims_sip_refuse_ex(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req, int status,
                      const char *why, unsigned retry_after)
{
    return refuse_tx(s, irq, req, status, why, retry_after, NULL);
}

int ims_sip_refuse_type(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req,
                        const char *accept, const char *why)
{
    return refuse_tx(s, irq, req, 415, why, 0, accept);
}

size_t ims_sip_trusted_count(struct ims_sip *s)
{
    return s->trusted.n;
}

nta_leg_t *ims_sip_leg(struct ims_sip *s)
{
    return s->leg;
}

nta_agent_t *ims_sip_agent(struct ims_sip *s)
{
    return s->agent;
}

su_root_t *ims_sip_root(struct ims_sip *s)
{
    return s->root;
}

unsigned ims_sip_t1x64_ms(struct ims_sip *s)
{
    return s->t1x64_ms;
}

const url_t *ims_sip_own_uri(struct ims_sip *s)
{
    return s->own;
}

const url_t *ims_sip_tls_uri(struct ims_sip *s)
{
    return s->tls_uri;
}

const char *ims_sip_node(struct ims_sip *s)
{
    return s->node;
}

const char *ims_sip_address(struct ims_sip *s)
{
    return s->address;
}

int ims_sip_port(struct ims_sip *s)
{
    return s->port;
}

int ims_sip_port_for(struct ims_sip *s, const url_t *hop)
{
    char tp[8] = "";
    bool tls = hop && (hop->url_type == url_sips ||
                       (hop->url_params &&
                        ims_url_param(hop->url_params, "transport", tp, sizeof(tp)) > 0 &&
                        strcasecmp(tp, "tls") == 0));
    return tls && s->tls_uri ? s->tls_port : s->port;
}

struct ims_admission *ims_sip_admission(struct ims_sip *s)
{
    return s->adm;
}

const char *ims_sip_warning(struct ims_sip *s, char *buf, size_t len, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    int n = snprintf(buf, len, "399 %s \"", s->address);
    size_t o = n < 0 ? 0 : (size_t)n;
    for (const char *c = text; *c && o + 3 < len; c++) {
        if (*c == '"' || *c == '\\')
            buf[o++] = '\\';
        buf[o++] = *c;
    }
    if (o + 2 <= len) {
        buf[o++] = '"';
        buf[o] = '\0';
    } else if (len) {
        buf[len - 1] = '\0';
    }
    return buf;
}

url_t *ims_sip_resolve(struct ims_sip *s, su_home_t *home, const url_t *target)
{
    if (!target || !target->url_host)
        return NULL;
    size_t hl = strlen(target->url_host);
    for (char **h = s->hosts; h && *h; h++) {
        const char *eq = strchr(*h, '=');
        if (!eq || (size_t)(eq - *h) != hl || strncasecmp(*h, target->url_host, hl) != 0)
            continue;
        url_t *u = url_hdup(home, target);
        if (u)
            u->url_host = su_strdup(home, eq + 1);
        return u;
    }
    return NULL;
}

void ims_sip_strict_route(su_home_t *home, sip_route_t *set, url_t *target, url_t **ruri,
                          sip_route_t **route)
{
    if (!set || url_has_param(set->r_url, "lr"))
        return;
    sip_route_t **last = &set->r_next;
    while (*last)
        last = &(*last)->r_next;
    *last = target ? sip_route_create(home, target, NULL) : NULL;
    *ruri = set->r_url;
    *route = set->r_next;
}

bool ims_sip_is_own(struct ims_sip *s, const url_t *url)
{
    if (!url || !url->url_host)
        return false;
    int p = url->url_port && *url->url_port ? atoi(url->url_port)
                                            : (url->url_type == url_sips ? 5061 : 5060);
    if (p != s->port && (!s->tls_uri || p != s->tls_port))
        return false;
    const char *h = url->url_host;
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']')   /* [v6] */
        return strncasecmp(h + 1, s->address, hl - 2) == 0 && s->address[hl - 2] == '\0';
    return strcasecmp(h, s->address) == 0 || strcasecmp(h, s->host) == 0;
}

enum ims_health ims_sip_health(void *arg, json_t *peers)
{
    struct ims_sip *s = arg;
    for (int i = 0; i < s->ntports; i++) {
        char name[96];
        snprintf(name, sizeof(name), "%s:%d/%s", s->address, s->tport_ports[i], s->tports[i]);
        json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", name, "kind",
                                               "sip-listener", "state", "listening"));
    }
    return s->ntports ? IMS_HEALTH_OK : IMS_HEALTH_DOWN;
}

int ims_sip_reply_unhandled(struct ims_sip *s, nta_incoming_t *irq, const sip_t *req,
                            const char *allow)
{
    const char *method = req->sip_request->rq_method_name;
    switch (req->sip_request->rq_method) {
    case sip_method_ack:
        return 200;   /* an ACK is never answered: nta absorbs it */
    case sip_method_options:
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(allow),
                            SIPTAG_ACCEPT_STR("application/sdp"),
                            SIPTAG_SERVER_STR(s->node), TAG_END());
        nta_incoming_destroy(irq);
        ims_sip_count_response(s, 200);
        return 0;
    default: {
        char warning[256];
        ims_sip_warning(s, warning, sizeof(warning), "%s is not handled by this %s yet", method,
                        s->node);
        struct ims_log_ids ids = { .call_id = req->sip_call_id ? req->sip_call_id->i_id : NULL };
        ims_log(IMS_LOG_INFO, &ids, "sip: %s answered 501: not handled by this node yet",
                method);
        nta_incoming_treply(irq, SIP_501_NOT_IMPLEMENTED, SIPTAG_ALLOW_STR(allow),
                            SIPTAG_WARNING_STR(warning), SIPTAG_SERVER_STR(s->node), TAG_END());
        nta_incoming_destroy(irq);
        ims_sip_count_response(s, 501);
        return 0;
    }
    }
}
