/*
 * diam.c - freeDiameter embedding (steps follow STYLE.md "freeDiameter embedding pattern")
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam.h"
#include "deadline.h"
#include "diam_bind.h"
#include "diam_doic.h"
#include "diam_peer.h"
#include "diam_hold.h"
#include "diam_work.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "prio.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <gnutls/x509.h>

#define MAX_HANDLERS 32
#define DIAMETER_PORT_TCP 3868   /* RFC 6733: Diameter over TCP */
#define DIAMETER_PORT_TLS 5868   /* RFC 6733: Diameter over TLS/TCP */
#define MAX_HELD_ANSWERS 10000   /* answers held while their peer re-opens (diam_hold.c) */

static struct {
    bool initialised, running;
    atomic_bool stopping;     /* ims_diam_stop() has begun */
    atomic_uint direct_busy;  /* ims_diam_send_direct callbacks running now */
    char identity[256];
    char realm[256];
    unsigned timeout_ms;
    unsigned max_pending;
    unsigned hold_ms;        /* longest hold of an answer to a re-opening peer: Tw */
    atomic_uint pending;
    struct ims_loop *loop;
    int nice;                 /* diameter.nice: levels below the caller for its threads */
    struct ims_diam_rule *peers, *accept, *plain;   /* diameter.peers, accept_peers, plain_peers */
    size_t npeers, naccept, nplain;
    struct ims_diam_trust trust;
    bool server;                 /* accepts its peers instead of connecting to them */
    bool tls, sctp;
    unsigned apps;
    struct disp_hdl *handlers[MAX_HANDLERS];
    size_t nhandlers;
    struct fd_hook_hdl *hooks[4];
    struct fd_rt_out_hdl *rt_out;
    /* metrics: [cmd][0 = in, 1 = out], plus base-protocol / unknown */
    struct ims_counter *msgs[IMS_CMD_COUNT + 1][2];
    struct ims_counter *dropped, *rejected_in, *unsupported, *timeouts, *rejected;
    struct ims_counter *peer_verdicts[IMS_DIAM_PEER_CERT_MISMATCH + 1];
    struct ims_histogram *latency[IMS_CMD_COUNT];
    /* overload (see "server busy" and ims_diam_set_observer) */
    unsigned threads, max_queue, busy_wait_ms;
    bool doic;
    unsigned doic_threshold_pct, doic_validity_s;
    bool workers;
    struct ims_counter *busy;
    atomic_uint_fast64_t busy_logged_s;
    ims_diam_observer_fn observer;
    void *observer_arg;
} g;

/* ---- logging bridge (step 1) ---- */

static void fd_logger(int level, const char *fmt, va_list ap)
{
    /* NOTICE is freeDiameter's start-up dump and routine chatter: debug for us; the events
     * an operator needs (peer up/down, drops) are logged from the hooks below. Its ERROR
     * level covers recoverable conditions (a refused connection): warn. */
    enum ims_log_level l = IMS_LOG_DEBUG;
    if (level >= FD_LOG_FATAL)
        l = IMS_LOG_ERROR;
    else if (level >= FD_LOG_ERROR)
        l = IMS_LOG_WARN;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    if (strncmp(buf, "Initiating freeDiameter shutdown", 32) == 0)
        l = IMS_LOG_INFO;     /* our own, orderly shutdown */
    /* While we stop, errors are about the connections being closed: freeDiameter 1.2.1
     * ends a TLS session with close_notify from two threads at once, and one side then
     * fails to decrypt the last record (PEERS.md). */
    if (g.stopping && l == IMS_LOG_WARN)
        l = IMS_LOG_INFO;
    if (ims_log_enabled(l))
        ims_log(l, NULL, "freeDiameter: %s", buf);
}

/* ---- configuration (step 3) ---- */

/* The TLS part of the freeDiameter configuration: our credentials, the CA that signs the
 * peers' certificates, and fixed Diffie-Hellman parameters when given (otherwise
 * freeDiameter generates new ones at every start). */
static void write_tls(FILE *f, const struct ims_diam_conf *c)
{
    fprintf(f, "TLS_Cred = \"%s\", \"%s\";\nTLS_CA = \"%s\";\n", c->tls_cert, c->tls_key,
            c->tls_ca);
    if (c->tls_dh && *c->tls_dh)
        fprintf(f, "TLS_DH_File = \"%s\";\n", c->tls_dh);
}

/*
 * Listening: only a server (hss, ocs) listens; a client's peers are reached over the
 * connections it opens itself, so nothing can connect to it. A server with TLS listens for
 * TLS on tls_port and for plain TCP on port only when some peer may use plain TCP.
 */
static void listen_ports(const struct ims_diam_conf *c, int *port, int *sec_port)
{
    bool any_plain = !c->tls || (c->plain && c->plain[0]);
    *port = c->server && any_plain ? c->port : 0;
    *sec_port = c->server && c->tls ? c->tls_port : 0;
}

static int write_conf(const struct ims_diam_conf *c, bool tls, char *path, size_t len)
{
    snprintf(path, len, "/tmp/ims-fd-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        ims_err("diameter: cannot create a temporary freeDiameter configuration: %s",
                strerror(errno));
        return -errno;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        return -ENOMEM;
    }
    const char *dir = c->ext_dir && *c->ext_dir ? c->ext_dir : "/usr/lib/freeDiameter";
    int port, sec_port;
    listen_ports(c, &port, &sec_port);
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\nPort = %d;\n", c->identity, c->realm,
            port);
    fprintf(f, "SecPort = %d;\n", sec_port);
    fprintf(f, "%s\nNoRelay;\nTcTimer = %d;\nTwTimer = %d;\nAppServThreads = %d;\n",
            c->sctp ? "Prefer_TCP;" : "No_SCTP;", c->tc_timer, c->tw_timer, c->threads);
    if (tls)
        write_tls(f, c);
    static const char *const exts[] = { "dict_nasreq.fdx", "dict_dcca.fdx",
                                        "dict_dcca_3gpp.fdx" };
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        fprintf(f, "LoadExtension = \"%s/%s\";\n", dir, exts[i]);
    if (fclose(f) != 0) {
        unlink(path);
        return -EIO;
    }
    return 0;
}

static int sockaddr_from(const char *addr, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        *sl = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        *sl = sizeof(*s6);
        return 0;
    }
    return -EINVAL;
}

/* The socket address of an exact rule (diameter.peers) with @port. */
static void rule_sockaddr(const struct ims_diam_rule *r, uint16_t port,
                          struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    if (r->net.family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, r->net.addr, 16);
        *sl = sizeof(*s6);
        return;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, r->net.addr, 4);
    *sl = sizeof(*s4);
}

/* Parse a NULL-terminated list of rule texts into *out (malloc'd); the syntax was checked
 * with the configuration, so an error here is a caller's bug or a tool's bad argument. */
static int parse_rules(char **texts, bool pattern, struct ims_diam_rule **out, size_t *n)
{
    size_t count = 0;
    char err[256];
    for (char **p = texts; p && *p; p++)
        count++;
    *n = 0;
    *out = calloc(count ? count : 1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int rc = pattern ? ims_diam_rule_parse_pattern(texts[i], &(*out)[i], err, sizeof(err))
                         : ims_diam_rule_parse_peer(texts[i], &(*out)[i], err, sizeof(err));
        if (rc) {
            ims_err("diameter: %s", err);
            return rc;
        }
    }
    *n = count;
    return 0;
}

/* ---- peers: the decision on a peer that connects (servers) ---- */

/*
 * The remote address of the connection a peer is being validated on. freeDiameter's
 * pi_endpoints cannot tell: it keeps the addresses of earlier connections of the same
 * identity and those the peer advertised itself (Host-IP-Address). The socket can: its
 * descriptor is in the connection's description ("TCP,soc#12"), and @info is the info
 * member of the public struct peer_hdr that freeDiameter's validation passes.
 */
static int connection_address(struct peer_info *info, struct sockaddr_storage *ss)
{
    struct peer_hdr *hdr = (struct peer_hdr *)(void *)((char *)info -
                                                       offsetof(struct peer_hdr, info));
    char desc[96];
    if (fd_peer_cnx_proto_info(hdr, desc, sizeof(desc)) != 0)
        return -ENOTCONN;
    const char *soc = strstr(desc, "soc#");
    if (!soc)
        return -ENOTCONN;
    int fd = atoi(soc + 4);
    socklen_t sl = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    if (fd < 0 || getpeername(fd, (struct sockaddr *)ss, &sl) != 0)
        return -ENOTCONN;
    return 0;
}

/* The TLS certificate the peer presented (checked against the CA by freeDiameter during
 * the handshake) names its Diameter identity. */
static bool cert_names_identity(const struct peer_info *info)
{
    const gnutls_datum_t *list = info->runtime.pir_cert_list;
    gnutls_x509_crt_t crt;
    if (!list || !info->runtime.pir_cert_list_size || gnutls_x509_crt_init(&crt) < 0)
        return false;
    bool ok = gnutls_x509_crt_import(crt, &list[0], GNUTLS_X509_FMT_DER) >= 0 &&
              gnutls_x509_crt_check_hostname(crt, info->pi_diamid) != 0;
    gnutls_x509_crt_deinit(crt);
    return ok;
}

static void log_verdict(const struct peer_info *info, const char *addr, bool tls,
                        enum ims_diam_verdict v, const struct ims_diam_rule *rule)
{
    const char *via = tls ? "TLS" : "plain TCP";
    if (v == IMS_DIAM_PEER_CONFIGURED)
        ims_info("diameter: accepted peer %s from %s over %s (configured in diameter.peers)",
                 info->pi_diamid, addr, via);
    else if (v == IMS_DIAM_PEER_PATTERN)
        ims_warn("diameter: accepted peer %s (realm %.*s) from %s over %s: it matches "
                 "diameter.accept_peers '%s' (lab only)", info->pi_diamid,
                 (int)info->runtime.pir_realmlen,
                 info->runtime.pir_realm ? (const char *)info->runtime.pir_realm : "",
                 addr, via, rule ? rule->text : "?");
    else
        ims_warn("diameter: refused peer %s from %s over %s: %s", info->pi_diamid, addr, via,
                 ims_diam_verdict_text(v));
}

/*
 * freeDiameter asks this for every peer that connects to a server (none is configured in
 * freeDiameter itself, so none bypasses it). Accepted: *auth = 1, and plain TCP allowed by
 * config.pic_flags.sec. Plain TCP where TLS is required: *auth = 1 with TLS still required,
 * so that freeDiameter answers the CER with DIAMETER_NO_COMMON_SECURITY. Any other refusal:
 * *auth = -1 (DIAMETER_UNKNOWN_PEER).
 */
static int validate_peer(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
    struct sockaddr_storage ss;
    char addr[INET6_ADDRSTRLEN + 8];
    *cb2 = NULL;
    *auth = -1;
    if (connection_address(info, &ss) != 0) {
        ims_warn("diameter: refused peer %s: the address of its connection is unknown",
                 info->pi_diamid);
        return 0;
    }
    ims_diam_addr_text((struct sockaddr *)&ss, addr, sizeof(addr));
    struct ims_diam_incoming in = {
        .identity = info->pi_diamid,
        .addr = (struct sockaddr *)&ss,
        .tls = info->runtime.pir_cert_list != NULL,
    };
    in.cert_names_identity = in.tls && cert_names_identity(info);
    const struct ims_diam_rule *rule = NULL;
    enum ims_diam_verdict v = ims_diam_peer_decide(&g.trust, &in, &rule);
    ims_counter_inc(g.peer_verdicts[v]);
    log_verdict(info, addr, in.tls, v, rule);
    if (ims_diam_verdict_ok(v)) {
        *auth = 1;
        if (!in.tls)
            info->config.pic_flags.sec = PI_SEC_NONE;
    } else if (v == IMS_DIAM_PEER_PLAIN_REFUSED) {
        *auth = 1;
        info->config.pic_flags.sec = PI_SEC_DEFAULT;
    }
    return 0;
}

/* ---- peers: the configured peers of a client ---- */

/* The configured peer @p is reached over plain TCP (diameter.tls = no, or plain_peers
 * names it and its address); its port, when the entry gives none, follows. */
static bool peer_plain(const struct ims_diam_rule *p, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    rule_sockaddr(p, 0, &ss, &sl);
    bool plain = ims_diam_plain_allowed(&g.trust, p->identity, (struct sockaddr *)&ss);
    *port = p->port ? p->port : plain ? DIAMETER_PORT_TCP : DIAMETER_PORT_TLS;
    return plain;
}

/* A client connects over TLS (to port 5868 unless the entry says otherwise) except to the
 * peers of diameter.plain_peers (3868 by default). */
static int add_configured_peer(const struct ims_diam_rule *p)
{
    struct peer_info info;
    uint16_t port;
    bool plain = peer_plain(p, &port);
    memset(&info, 0, sizeof(info));
    fd_list_init(&info.pi_endpoints, NULL);
    info.pi_diamid = (DiamId_t)p->identity;
    info.config.pic_flags.persist = PI_PRST_ALWAYS;
    info.config.pic_flags.pro4 = g.sctp ? PI_P4_SCTP : PI_P4_TCP;
    info.config.pic_flags.sec = plain ? PI_SEC_NONE : PI_SEC_DEFAULT;
    info.config.pic_port = port;
    struct sockaddr_storage ss;
    socklen_t sl;
    char addr[INET6_ADDRSTRLEN];
    rule_sockaddr(p, port, &ss, &sl);
    ims_diam_addr_text((struct sockaddr *)&ss, addr, sizeof(addr));
    int rc = fd_ep_add_merge(&info.pi_endpoints, (sSA *)&ss, sl, EP_FL_CONF | EP_ACCEPTALL);
    if (rc == 0)
        rc = -ims_diam_bind_dest((struct sockaddr *)&ss, sl);
    if (rc == 0)
        rc = fd_peer_add(&info, "ims config", NULL, NULL);
    /* fd_peer_add copies the endpoints; free our list */
    while (!FD_IS_LIST_EMPTY(&info.pi_endpoints)) {
        struct fd_list *li = info.pi_endpoints.next;
        fd_list_unlink(li);
        free(li);
    }
    if (rc && rc != EEXIST) {
        ims_err("diameter: cannot add peer %s at %s:%u: %s", p->identity, addr, port,
                strerror(rc));
        return -rc;
    }
    ims_info("diameter: peer %s at %s:%u configured (%s)", p->identity, addr, port,
             plain ? "plain TCP" : "TLS");
    return 0;
}

struct request_ctx {
    ims_diam_answer_fn fn;
    void *arg;
    enum ims_cmd cmd;
    struct timespec sent;
    struct ims_diam_result res;
    char session[128];
    bool oc_offered;          /* RFC 7683: OC-Supported-Features sent */
    char oc_target[256];      /* ... to this host (see ims_diam_doic_offer) */
    bool oc_named;            /* ... which was its Destination-Host */
    bool direct;              /* ims_diam_send_direct: fn on the thread of the outcome */
};

/* ---- hooks: metrics and operator-visible events ---- */

static void count_message(struct msg *msg, int dir)
{
    struct msg_hdr *h;
    if (!msg || fd_msg_hdr(msg, &h) != 0)
        return;
    enum ims_cmd c = ims_cmd_lookup(h->msg_appl, h->msg_code,
                                    (h->msg_flags & CMD_FLAG_REQUEST) != 0);
    ims_counter_inc(g.msgs[c][dir]);
}

static void peer_name(struct peer_hdr *peer, struct msg *msg, char *buf, size_t len)
{
    DiamId_t id = NULL;
    size_t idlen = 0;
    if (peer && peer->info.pi_diamid)
        snprintf(buf, len, "%s", peer->info.pi_diamid);
    else if (msg && fd_msg_source_get(msg, &id, &idlen) == 0 && id)
        snprintf(buf, len, "%.*s", (int)idlen, (const char *)id);
    else
        snprintf(buf, len, "(not identified yet)");
}

static void on_answer(void *data, struct msg **answer);
static void hand_off(struct request_ctx *ctx);

/* An answer to one of our requests that freeDiameter drops would leave the request without
 * an outcome (its timer is gone once the answer matched): end it with an error here. */
static void fail_dropped_answer(struct msg *msg)
{
    struct msg_hdr *h;
    struct msg *q = NULL;
    void (*cb)(void *, struct msg **) = NULL;
    void *data = NULL;
    if (!msg || fd_msg_hdr(msg, &h) != 0 || (h->msg_flags & CMD_FLAG_REQUEST))
        return;
    if (fd_msg_answ_getq(msg, &q) != 0 || !q || fd_msg_anscb_get(q, &cb, NULL, &data) != 0)
        return;
    if (cb != on_answer || !data)
        return;
    fd_msg_anscb_reset(q, 1, 1);
    struct request_ctx *ctx = data;
    ctx->res.error = -EPROTO;
    hand_off(ctx);
}

int ims_diam_session_guard(struct msg *msg)
{
    struct avp *avp = NULL;
    struct avp_hdr *h = NULL;
    if (!msg || fd_msg_browse(msg, MSG_BRW_FIRST_CHILD, &avp, NULL) != 0)
        return 0;
    while (avp && (fd_msg_avp_hdr(avp, &h) != 0 || h->avp_code != AC_SESSION_ID ||
                   h->avp_vendor != 0))
        if (fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL) != 0)
            return 0;
    /* parse the AVP as fd_msg_sess_get() would, to see its value */
    if (!avp || fd_msg_parse_dict(avp, fd_g_config->cnf_dict, NULL) != 0 ||
        fd_msg_avp_hdr(avp, &h) != 0 || !h->avp_value || !h->avp_value->os.len ||
        !memchr(h->avp_value->os.data, '\0', h->avp_value->os.len))
        return 0;
    size_t n = h->avp_value->os.len;
    uint8_t *sid = malloc(n);
    struct session *sess = NULL;
    if (!sid)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        sid[i] = h->avp_value->os.data[i] ? h->avp_value->os.data[i] : '?';
    int rc = fd_sess_fromsid_msg(sid, n, &sess, NULL);
    if (rc == 0)
        rc = fd_msg_sess_set(msg, sess);
    ims_log(IMS_LOG_WARN, NULL, "diameter: a message whose Session-Id holds a NUL byte gets the "
            "session \"%.*s\"%s", (int)n, (const char *)sid, rc ? " (failed)" : "");
    free(sid);
    return -EINVAL;
}

static void on_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                    struct fd_hook_permsgdata *pmd, void *regdata)
{
    (void)pmd;
    (void)regdata;
    char name[256], sid[256];
    switch (type) {
    case HOOK_MESSAGE_RECEIVED:
        count_message(msg, 0);
        ims_diam_session_guard(msg);
        break;
    case HOOK_MESSAGE_SENT:
        count_message(msg, 1);
        break;
    case HOOK_MESSAGE_DROPPED:
    case HOOK_MESSAGE_PARSING_ERROR:
    case HOOK_MESSAGE_ROUTING_ERROR: {
        bool rejected = type == HOOK_MESSAGE_PARSING_ERROR;
        ims_counter_inc(rejected ? g.rejected_in : g.dropped);
        struct ims_log_ids ids = { .session_id = msg ? ims_diam_session_id(msg, sid,
                                                                            sizeof(sid))
                                                     : NULL };
        peer_name(peer, msg, name, sizeof(name));
        const char *why = (rejected && !msg) ? "unparsable data" : (const char *)other;
        ims_log(IMS_LOG_WARN, &ids, "diameter: message %s (peer %s): %s",
                rejected ? "rejected" : "dropped", name, why ? why : "no reason given");
        if (type == HOOK_MESSAGE_DROPPED)
            fail_dropped_answer(msg);
        break;
    }
    case HOOK_MESSAGE_FAILOVER:
        peer_name(peer, msg, name, sizeof(name));
        ims_warn("diameter: a request to peer %s is sent again to another peer (failover)",
                 name);
        break;
    case HOOK_PEER_CONNECT_FAILED:
        peer_name(peer, msg, name, sizeof(name));
        ims_warn("diameter: connection with peer %s failed: %s", name,
                 other ? (const char *)other : "no reason given");
        break;
    case HOOK_PEER_CONNECT_SUCCESS:
        peer_name(peer, msg, name, sizeof(name));
        ims_info("diameter: peer %s is open (capabilities exchanged)", name);
        break;
    default:
        break;
    }
}

static double pending_requests(void *arg)
{
    (void)arg;
    return (double)atomic_load(&g.pending);
}

static void register_metrics(void)
{
    char labels[96];
    for (int c = 0; c <= IMS_CMD_COUNT; c++) {
        for (int d = 0; d < 2; d++) {
            snprintf(labels, sizeof(labels), "command=\"%s\",direction=\"%s\"",
                     c < IMS_CMD_COUNT ? ims_cmd_abbrev(c) : "other", d ? "out" : "in");
            g.msgs[c][d] = ims_counter_new("ims_diameter_messages_total",
                                           "Diameter messages received and sent, by command "
                                           "(other: base protocol)", labels);
        }
        if (c < IMS_CMD_COUNT && ims_cmd_is_request(c)) {
            snprintf(labels, sizeof(labels), "command=\"%s\"", ims_cmd_abbrev(c));
            g.latency[c] = ims_histogram_new("ims_diameter_request_duration_seconds",
                                             "Time from sending a request to its answer",
                                             labels, ims_latency_bounds, ims_latency_nbounds);
        }
    }
    g.dropped = ims_counter_new("ims_diameter_dropped_total",
                                "Diameter messages dropped by the stack (no answer sent)", NULL);
    g.rejected_in = ims_counter_new("ims_diameter_rejected_total",
                                    "Received messages refused as malformed (answered with an "
                                    "error when a request)", NULL);
    g.unsupported = ims_counter_new("ims_diameter_unsupported_total",
                                    "Requests answered DIAMETER_COMMAND_UNSUPPORTED", NULL);
    g.timeouts = ims_counter_new("ims_diameter_timeouts_total",
                                 "Requests that got no answer in time", NULL);
    g.rejected = ims_counter_new("ims_diameter_overload_total",
                                 "Requests refused locally: too many pending", NULL);
    for (int v = 0; v <= IMS_DIAM_PEER_CERT_MISMATCH; v++) {
        snprintf(labels, sizeof(labels), "verdict=\"%s\"", ims_diam_verdict_label(v));
        g.peer_verdicts[v] = ims_counter_new("ims_diameter_peer_decisions_total",
                                             "Peers that connected, accepted (configured, "
                                             "pattern) or refused (unknown, address, plain, "
                                             "certificate)", labels);
    }
    ims_gauge_fn_new("ims_diameter_pending_requests", "Requests sent and not yet answered, "
                     "timed out or failed", NULL, pending_requests, NULL);
    g.busy = ims_counter_new("ims_diameter_busy_total",
                             "Requests answered DIAMETER_TOO_BUSY: the queue of requests "
                             "waiting for a handler thread was full, or they waited too "
                             "long (diameter.max_queue, diameter.busy_wait_ms)", NULL);
}

/* ---- routing ---- */

/*
 * A request naming a Destination-Host goes to that peer or nowhere: freeDiameter would
 * otherwise hand it to any peer of the realm (which drops it as not its own, leaving the
 * request unanswered until it times out). With no such peer open, the stack answers
 * DIAMETER_UNABLE_TO_DELIVER at once.
 */
static int route_to_destination_host(void *cbdata, struct msg **pmsg, struct fd_list *cands)
{
    (void)cbdata;
    struct avp *avp = ims_avp_find(*pmsg, IMS_AVP_DESTINATION_HOST);
    const uint8_t *host;
    size_t len;
    if (!avp || !ims_avp_octets(avp, &host, &len))
        return 0;
    for (struct fd_list *li = cands->next; li != cands; li = li->next) {
        struct rtd_candidate *c = (struct rtd_candidate *)li;
        if (c->diamidlen != len || strncasecmp((const char *)c->diamid, (const char *)host, len))
            c->score = FD_SCORE_NO_DELIVERY;
    }
    return 0;
}

/* ---- server side ---- */

struct handler_ctx {
    ims_diam_handler fn;
    void *arg;
    enum ims_cmd cmd;
    pthread_mutex_t *lock;   /* held around fn, or NULL */
    bool direct;             /* fn runs on the dispatch thread: ims_diam_serve_direct() */
};

static struct handler_ctx g_hctx[MAX_HANDLERS];

/* ---- server busy (RFC 6733 7.1.3 DIAMETER_TOO_BUSY): see diam_work.h ---- */

/* *msg (a request) becomes its TOO_BUSY answer: 0, or -1 (then *msg is the request still) */
static int answer_busy(struct msg **msg, enum ims_cmd cmd)
{
    struct msg_hdr *hdr;
    if (fd_msg_hdr(*msg, &hdr) != 0 || !(hdr->msg_flags & CMD_FLAG_REQUEST) ||
        fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0)
        return -1;
    fd_msg_rescode_set(*msg, "DIAMETER_TOO_BUSY", "too many requests waiting", NULL, 1);
    ims_counter_inc(g.busy);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint_fast64_t last = atomic_load(&g.busy_logged_s);
    if ((uint_fast64_t)now.tv_sec >= last + 10 &&
        atomic_compare_exchange_strong(&g.busy_logged_s, &last, (uint_fast64_t)now.tv_sec))
        ims_warn("diameter: more requests than the handlers keep up with: answering "
                 "DIAMETER_TOO_BUSY (%s; ims_diameter_busy_total counts them)",
                 ims_cmd_abbrev(cmd));
    return 0;
}

/*
 * Send the answer a handler left in *msg, from a dispatch or a worker thread: through
 * diam_hold.c (freeDiameter drops an answer to a peer that is re-opening its connection),
 * else freeDiameter's own sending; an answer that cannot be sent is freed (the client's
 * timer ends it). *msg is NULL after.
 */
static ims_diam_sink_fn g_sink;

void ims_diam_answer_sink(ims_diam_sink_fn fn)
{
    g_sink = fn;
}

/* RFC 7683: the load seen, and the report for the answer's client (diam_doic.h) */
static void overload_report(struct msg *ans)
{
    if (g.workers)
        ims_diam_doic_answer(ans, ims_diam_work_depth(), ims_diam_work_waited_ms());
}

static void send_answer(struct msg **msg)
{
    struct msg_hdr *hdr;
    if (!*msg)
        return;
    if (fd_msg_hdr(*msg, &hdr) == 0 && !(hdr->msg_flags & CMD_FLAG_REQUEST)) {
        overload_report(*msg);
        if ((g_sink ? g_sink(msg) : ims_diam_hold_send(msg)) == 0)
            return;
    }
    if (*msg && fd_msg_send(msg, NULL, NULL) != 0 && *msg) {
        fd_msg_free(*msg);
        *msg = NULL;
    }
}

/* The handler of @h on *msg; *act says what becomes of *msg (DISP_ACT_SEND: an answer) */
static int handle(struct handler_ctx *h, struct msg **msg, enum disp_action *act)
{
    char sid[256];
    const char *session = ims_diam_session_id(*msg, sid, sizeof(sid));
    if (h->lock)
        pthread_mutex_lock(h->lock);
    int rc = h->fn(msg, h->arg);
    if (h->lock)
        pthread_mutex_unlock(h->lock);
    *act = DISP_ACT_CONT;   /* the answer is sent here: *msg is NULL after */
    if (rc == 0) {
        send_answer(msg);
        return 0;
    }
    struct ims_log_ids ids = { .session_id = session };
    ims_log(IMS_LOG_ERROR, &ids, "diameter: %s handler failed (%s); answering "
            "DIAMETER_UNABLE_TO_COMPLY", ims_cmd_abbrev(h->cmd), strerror(-rc));
    *act = DISP_ACT_CONT;
    if (*msg) {
        struct msg_hdr *hdr;
        if (fd_msg_hdr(*msg, &hdr) == 0 && (hdr->msg_flags & CMD_FLAG_REQUEST)) {
            if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0)
                return EINVAL;
        }
        fd_msg_rescode_set(*msg, "DIAMETER_UNABLE_TO_COMPLY", NULL, NULL, 1);
        send_answer(msg);
    }
    return 0;
}

/* A worker runs a queued request */
static void work_run(void *ctx, struct msg **msg)
{
    enum disp_action act = DISP_ACT_SEND;
    if (handle(ctx, msg, &act) != 0 && *msg) {
        fd_msg_free(*msg);    /* no answer could be built: the client's timer ends it */
        *msg = NULL;
    }
    send_answer(msg);
}

/* A worker (or the stop) answers a queued request TOO_BUSY */
static void work_busy(void *ctx, struct msg **msg)
{
    struct handler_ctx *h = ctx;
    if (answer_busy(msg, h->cmd) != 0 && *msg) {
        fd_msg_free(*msg);
        *msg = NULL;
    }
    send_answer(msg);
}

static int dispatch_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                       enum disp_action *act)
{
    (void)avp;
    (void)sess;
    struct handler_ctx *h = opaque;
    if (h->direct)
        return handle(h, msg, act);
    if (ims_diam_work_push(msg, h, ims_diam_ends_session(*msg, h->cmd)) == 0) {
        *act = DISP_ACT_CONT;   /* *msg is NULL: taken */
        return 0;
    }
    if (answer_busy(msg, h->cmd) == 0) {
        send_answer(msg);
        *act = DISP_ACT_CONT;
        return 0;
    }
    return handle(h, msg, act);
}

static double work_depth(void *arg)
{
    (void)arg;
    return (double)ims_diam_work_depth();
}

static int unsupported_cb(struct msg **msg, struct avp *avp, struct session *sess,
                          void *opaque, enum disp_action *act)
{
    (void)avp;
    (void)sess;
    (void)opaque;
    struct msg_hdr *h;
    char sid[256], origin[256];
    if (fd_msg_hdr(*msg, &h) != 0 || !(h->msg_flags & CMD_FLAG_REQUEST)) {
        *act = DISP_ACT_CONT;
        return 0;
    }
    struct ims_log_ids ids = { .session_id = ims_diam_session_id(*msg, sid, sizeof(sid)) };
    ims_avp_get_str(*msg, IMS_AVP_ORIGIN_HOST, origin, sizeof(origin));
    enum ims_cmd c = ims_cmd_lookup(h->msg_appl, h->msg_code, true);
    ims_log(IMS_LOG_WARN, &ids, "diameter: %s (command %u, application %u) from %s is not "
            "handled by this daemon yet: answering DIAMETER_COMMAND_UNSUPPORTED",
            c < IMS_CMD_COUNT ? ims_cmd_abbrev(c) : "request", h->msg_code, h->msg_appl,
            origin);
    ims_counter_inc(g.unsupported);
    if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0)
        return EINVAL;
    fd_msg_rescode_set(*msg, "DIAMETER_COMMAND_UNSUPPORTED",
                       "command not supported by this node", NULL, 1);
    send_answer(msg);
    *act = DISP_ACT_CONT;
    return 0;
}

static int serve(enum ims_cmd cmd, ims_diam_handler fn, void *arg, pthread_mutex_t *lock,
                 bool direct)
{
    if (g.nhandlers == MAX_HANDLERS)
        return -ENOSPC;
    if (!g.workers) {
        int rc = ims_diam_work_start(g.threads, g.max_queue, g.busy_wait_ms, work_run,
                                     work_busy);
        if (rc) {
            ims_err("diameter: cannot start the handler threads: %s", strerror(-rc));
            return rc;
        }
        g.workers = true;
        ims_gauge_fn_new("ims_diameter_server_queue", "Received requests waiting for a "
                         "handler thread", NULL, work_depth, NULL);
    }
    struct handler_ctx *h = &g_hctx[g.nhandlers];
    *h = (struct handler_ctx){ fn, arg, cmd, lock, direct };
    struct disp_when when = { .app = ims_dict_app(ims_cmd_app(cmd)),
                              .command = ims_dict_cmd(cmd) };
    int rc = fd_disp_register(dispatch_cb, DISP_HOW_CC, &when, h, &g.handlers[g.nhandlers]);
    if (rc) {
        ims_err("diameter: cannot register handler for %s: %s", ims_cmd_abbrev(cmd),
                strerror(rc));
        return -rc;
    }
    g.nhandlers++;
    return 0;
}

int ims_diam_serve(enum ims_cmd cmd, ims_diam_handler fn, void *arg)
{
    return ims_diam_serve_locked(cmd, fn, arg, NULL);
}

int ims_diam_serve_locked(enum ims_cmd cmd, ims_diam_handler fn, void *arg,
                          pthread_mutex_t *lock)
{
    return serve(cmd, fn, arg, lock, false);
}

int ims_diam_serve_direct(enum ims_cmd cmd, ims_diam_handler fn, void *arg)
{
    return serve(cmd, fn, arg, NULL, true);
}

int ims_diam_answer_new(struct msg **req, enum ims_app app)
{
    int rc = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, req, 0);
    if (rc)
        return -rc;
    if (ims_app_is_vendor_specific(app)) {
        if (ims_avp_add_vsai(*req, app) != 0 ||
            ims_avp_add_i32(*req, IMS_AVP_AUTH_SESSION_STATE, 1 /* NO_STATE_MAINTAINED */))
            return -ENOMEM;
    }
    rc = fd_msg_add_origin(*req, 0);
    return -rc;
}

int ims_diam_answer_send(struct msg **ans)
{
    if (ans && *ans)
        overload_report(*ans);
    if (g_sink && ans && *ans)
        return g_sink(ans);
    return ims_diam_hold_send(ans);
}

/* ---- client side ---- */



static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

void ims_diam_set_observer(ims_diam_observer_fn fn, void *arg)
{
    g.observer = fn;
    g.observer_arg = arg;
}

/* The end of a request's outcome, whoever saw it (or nobody): its answer and context */
static void release(struct request_ctx *ctx)
{
    if (ctx->res.answer)
        fd_msg_free(ctx->res.answer);
    free(ctx);
}

static void deliver(void *arg)
{
    struct request_ctx *ctx = arg;
    atomic_fetch_sub(&g.pending, 1);
    if (!g.stopping && g.observer)
        g.observer(g.observer_arg, ctx->cmd, &ctx->res);
    if (!g.stopping)
        ctx->fn(ctx->arg, &ctx->res);
    release(ctx);
}

/* Hand the outcome to the loop thread (or, for ims_diam_send_direct, to its callback here).
 * The loop queue is sized above max_pending, so this only fails once the loop is gone
 * (shutdown): then the outcome is released here. */
static void hand_off(struct request_ctx *ctx)
{
    ctx->res.latency_s = since(&ctx->sent);
    if (ctx->cmd < IMS_CMD_COUNT && g.latency[ctx->cmd])
        ims_histogram_observe(g.latency[ctx->cmd], ctx->res.latency_s);
    if (ctx->direct) {
        atomic_fetch_sub(&g.pending, 1);
        /* ims_diam_stop() waits for the callbacks running when it begins; later ones (a
         * freeDiameter thread it could not stop, a request expiring in the peer's DPR
         * wait) are not made: their caller's state may be gone */
        atomic_fetch_add(&g.direct_busy, 1);
        if (!atomic_load(&g.stopping))
            ctx->fn(ctx->arg, &ctx->res);
        atomic_fetch_sub(&g.direct_busy, 1);
        release(ctx);
        return;
    }
    int rc = ims_loop_post(g.loop, deliver, ctx);
    if (rc != 0) {
        struct ims_log_ids ids = { .session_id = ctx->session };
        ims_log(IMS_LOG_WARN, &ids, "diameter: %s outcome not delivered (%s)",
                ims_cmd_abbrev(ctx->cmd), rc == -EPIPE ? "shutting down" : "loop queue full");
        atomic_fetch_sub(&g.pending, 1);
        release(ctx);
    }
}

static void on_answer(void *data, struct msg **answer)
{
    struct request_ctx *ctx = data;
    ctx->res.answer = *answer;
    *answer = NULL;
    ctx->res.code = ims_diam_result_code(ctx->res.answer, &ctx->res.experimental);
    if (ctx->oc_offered)
        ims_diam_doic_answered(ctx->res.answer, ctx->oc_named ? ctx->oc_target : "",
                               ctx->cmd);
    hand_off(ctx);
}

static void on_expire(void *data, DiamId_t sentto, size_t len, struct msg **req)
{
    struct request_ctx *ctx = data;
    struct ims_log_ids ids = { .session_id = ctx->session };
    ims_log(IMS_LOG_WARN, &ids, "diameter: %s to %.*s got no answer in time",
            ims_cmd_abbrev(ctx->cmd), (int)len, sentto ? (const char *)sentto : "?");
    ims_counter_inc(g.timeouts);
    fd_msg_free(*req);
    *req = NULL;
    ctx->res.error = -ETIMEDOUT;
    hand_off(ctx);
}

struct msg *ims_diam_request_new(enum ims_cmd cmd, const char *dest_realm,
                                 const char *dest_host)
{
    return ims_diam_request_in_session(cmd, dest_realm, dest_host, NULL);
}

struct msg *ims_diam_request_in_session(enum ims_cmd cmd, const char *dest_realm,
                                        const char *dest_host, const char *session_id)
{
    struct msg *m = NULL;
    enum ims_app app = ims_cmd_app(cmd);
    if (fd_msg_new(ims_dict_cmd(cmd), MSGFL_ALLOC_ETEID, &m) != 0)
        return NULL;
    /* Accounting-Request is a base protocol command: its header would say application 0,
     * which every peer refuses as not routable; Rf is accounting application 3. */
    struct msg_hdr *hdr;
    if (fd_msg_hdr(m, &hdr) != 0)
        goto fail;
    hdr->msg_appl = ims_app_id(app);
    if (session_id && *session_id) {
        if (ims_avp_add_str(m, IMS_AVP_SESSION_ID, session_id) != 0)
            goto fail;
    } else if (fd_msg_new_session(m, NULL, 0) != 0) {
        goto fail;
    }
    if (ims_app_is_vendor_specific(app) &&
        (ims_avp_add_vsai(m, app) != 0 ||
         ims_avp_add_i32(m, IMS_AVP_AUTH_SESSION_STATE, 1 /* NO_STATE_MAINTAINED */) != 0))
        goto fail;
    if (fd_msg_add_origin(m, 0) != 0)
        goto fail;
    if (dest_host && *dest_host && ims_avp_add_str(m, IMS_AVP_DESTINATION_HOST, dest_host))
        goto fail;
    if (ims_avp_add_str(m, IMS_AVP_DESTINATION_REALM, dest_realm ? dest_realm : g.realm))
        goto fail;
    return m;
fail:
    fd_msg_free(m);
    return NULL;
}

static int send_request(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn,
                        void *arg, bool direct)
{
    struct msg_hdr *h;
    if (!g.running) {
        fd_msg_free(*req);
        *req = NULL;
        return -ENOTCONN;
    }
    if (atomic_fetch_add(&g.pending, 1) >= g.max_pending) {
        atomic_fetch_sub(&g.pending, 1);
        ims_counter_inc(g.rejected);
        fd_msg_free(*req);
        *req = NULL;
        return -EAGAIN;
    }
    struct request_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        atomic_fetch_sub(&g.pending, 1);
        fd_msg_free(*req);
        *req = NULL;
        return -ENOMEM;
    }
    ctx->fn = fn;
    ctx->arg = arg;
    ctx->direct = direct;
    ctx->cmd = IMS_CMD_COUNT;
    if (fd_msg_hdr(*req, &h) == 0)
        ctx->cmd = ims_cmd_lookup(h->msg_appl, h->msg_code, true);
    ims_diam_session_id(*req, ctx->session, sizeof(ctx->session));
    clock_gettime(CLOCK_MONOTONIC, &ctx->sent);

    if (ctx->cmd < IMS_CMD_COUNT)
        ctx->oc_offered = ims_diam_doic_offer(*req, ctx->cmd, ctx->oc_target,
                                              sizeof(ctx->oc_target), &ctx->oc_named);
    if (ctx->oc_offered && ims_diam_doic_throttle(*req, ctx->oc_target, ctx->cmd)) {
        fd_msg_free(*req);       /* fails here as if answered DIAMETER_TOO_BUSY */
        *req = NULL;
        ctx->res.code = IMS_DIAM_TOO_BUSY;
        ctx->res.throttled = true;
        hand_off(ctx);
        return 0;
    }
    unsigned ms = timeout_ms ? timeout_ms : g.timeout_ms;
    struct timespec ts = ims_deadline_ms(CLOCK_REALTIME, ms);
    int rc = fd_msg_send_timeout(req, on_answer, ctx, on_expire, &ts);
    if (rc) {
        ims_err("diameter: cannot send %s: %s", ims_cmd_abbrev(ctx->cmd), strerror(rc));
        if (*req) {
            fd_msg_free(*req);
            *req = NULL;
        }
        atomic_fetch_sub(&g.pending, 1);
        free(ctx);
        return -rc;
    }
    return 0;
}

int ims_diam_send(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn, void *arg)
{
    return send_request(req, timeout_ms, fn, arg, false);
}

int ims_diam_send_direct(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn,
                         void *arg)
{
    return send_request(req, timeout_ms, fn, arg, true);
}

int ims_diam_msg_encode(struct msg *m, uint8_t **buf, size_t *len)
{
    int rc = fd_msg_bufferize(m, buf, len);
    return rc ? -rc : 0;
}

struct msg *ims_diam_msg_decode(const uint8_t *buf, size_t len, bool retransmission)
{
    struct msg *m = NULL;
    struct fd_pei pei;
    uint8_t *copy = malloc(len);
    if (!copy)
        return NULL;
    memcpy(copy, buf, len);
    if (fd_msg_parse_buffer(&copy, len, &m) != 0) {
        free(copy);
        return NULL;
    }
    memset(&pei, 0, sizeof(pei));
    struct msg_hdr *h;
    if (fd_msg_parse_dict(m, fd_g_config->cnf_dict, &pei) != 0 || fd_msg_hdr(m, &h) != 0) {
        fd_msg_free(m);
        return NULL;
    }
    if (retransmission)
        h->msg_flags |= CMD_FLAG_RETRANSMIT;
    return m;
}

uint32_t ims_diam_result_code(struct msg *m, bool *experimental)
{
    uint32_t code = 0;
    if (experimental)
        *experimental = false;
    if (!m)
        return 0;
    if (ims_avp_get_u32(m, IMS_AVP_RESULT_CODE, &code) == 0)
        return code;
    struct avp *er = ims_avp_find(m, IMS_AVP_EXPERIMENTAL_RESULT);
    if (er && ims_avp_get_u32(er, IMS_AVP_EXPERIMENTAL_RESULT_CODE, &code) == 0) {
        if (experimental)
            *experimental = true;
        return code;
    }
    return 0;
}

const char *ims_diam_msg_peer(struct msg *m, char *buf, size_t len)
{
    DiamId_t id = NULL;
    size_t n = 0;
    if (!len)
        return buf;
    buf[0] = '\0';
    if (m && fd_msg_source_get(m, &id, &n) == 0 && id)
        snprintf(buf, len, "%.*s", (int)n, (const char *)id);
    return buf;
}

const char *ims_diam_session_id(struct msg *m, char *buf, size_t len)
{
    if (ims_avp_get_str(m, IMS_AVP_SESSION_ID, buf, len) == -ENOENT && len)
        buf[0] = '\0';
    return buf;
}

bool ims_diam_type_ends_session(enum ims_cmd cmd, int32_t type)
{
    if (cmd == IMS_CMD_CCR)
        return type == 3;        /* TERMINATION_REQUEST */
    if (cmd != IMS_CMD_SAR)
        return false;
    switch (type) {              /* TS 29.229 6.3.15: what the S-CSCF ends on its own */
    case 4:                      /* TIMEOUT_DEREGISTRATION */
    case 6:                      /* TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME */
    case 8:                      /* ADMINISTRATIVE_DEREGISTRATION */
    case 9:                      /* AUTHENTICATION_FAILURE */
    case 10:                     /* AUTHENTICATION_TIMEOUT */
    case 11:                     /* DEREGISTRATION_TOO_MUCH_DATA */
        return true;
    default:
        return false;
    }
}

bool ims_diam_ends_session(struct msg *req, enum ims_cmd cmd)
{
    enum ims_avp what = cmd == IMS_CMD_CCR   ? IMS_AVP_CC_REQUEST_TYPE
                        : cmd == IMS_CMD_SAR ? IMS_AVP_SERVER_ASSIGNMENT_TYPE
                                             : IMS_AVP_COUNT;
    int32_t type = 0;
    return what != IMS_AVP_COUNT && ims_avp_get_i32(req, what, &type) == 0 &&
           ims_diam_type_ends_session(cmd, type);
}

const char *ims_diam_result_name(uint32_t code, bool experimental)
{
    static const struct {
        uint32_t code;
        bool exp;
        const char *name;
    } names[] = {
        { 2001, false, "DIAMETER_SUCCESS" },
        { 2002, false, "DIAMETER_LIMITED_SUCCESS" },
        { 3001, false, "DIAMETER_COMMAND_UNSUPPORTED" },
        { 3002, false, "DIAMETER_UNABLE_TO_DELIVER" },
        { 3003, false, "DIAMETER_REALM_NOT_SERVED" },
        { 3004, false, "DIAMETER_TOO_BUSY" },
        { 3006, false, "DIAMETER_REDIRECT_INDICATION" },
        { 3007, false, "DIAMETER_APPLICATION_UNSUPPORTED" },
        { 4001, false, "DIAMETER_AUTHENTICATION_REJECTED" },
        { 4010, false, "DIAMETER_END_USER_SERVICE_DENIED" },
        { 4012, false, "DIAMETER_CREDIT_LIMIT_REACHED" },
        { 5001, false, "DIAMETER_AVP_UNSUPPORTED" },
        { 5002, false, "DIAMETER_UNKNOWN_SESSION_ID" },
        { 5003, false, "DIAMETER_AUTHORIZATION_REJECTED" },
        { 5004, false, "DIAMETER_INVALID_AVP_VALUE" },
        { 5005, false, "DIAMETER_MISSING_AVP" },
        { 5012, false, "DIAMETER_UNABLE_TO_COMPLY" },
        { 5030, false, "DIAMETER_USER_UNKNOWN" },
        { 5031, false, "DIAMETER_RATING_FAILED" },
        { 2001, true, "DIAMETER_FIRST_REGISTRATION" },
        { 2002, true, "DIAMETER_SUBSEQUENT_REGISTRATION" },
        { 2003, true, "DIAMETER_UNREGISTERED_SERVICE" },
        { 2004, true, "DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED" },
        { 5001, true, "DIAMETER_ERROR_USER_UNKNOWN" },
        { 5002, true, "DIAMETER_ERROR_IDENTITIES_DONT_MATCH" },
        { 5003, true, "DIAMETER_ERROR_IDENTITY_NOT_REGISTERED" },
        { 5004, true, "DIAMETER_ERROR_ROAMING_NOT_ALLOWED" },
        { 5005, true, "DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED" },
        { 5006, true, "DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED" },
        { 5007, true, "DIAMETER_ERROR_IN_ASSIGNMENT_TYPE" },
        { 5008, true, "DIAMETER_ERROR_TOO_MUCH_DATA" },
        { 5009, true, "DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA" },
        { 5011, true, "DIAMETER_ERROR_FEATURE_UNSUPPORTED" },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == code && names[i].exp == experimental)
            return names[i].name;
    return experimental ? "DIAMETER_EXPERIMENTAL_RESULT" : "DIAMETER_RESULT";
}

/* ---- health ---- */

static void state_name(int state, char *buf, size_t len)
{
    const char *s = STATE_STR(state);
    if (strncmp(s, "STATE_", 6) == 0)
        s += 6;
    size_t i = 0;
    for (; s[i] && i < len - 1; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
}

static bool is_configured(const char *identity)
{
    for (size_t i = 0; i < g.npeers; i++)
        if (ims_diam_rule_identity(&g.peers[i], identity))
            return true;
    return false;
}

const char *ims_diam_peer_state(const char *identity)
{
    static __thread char buf[32];
    struct peer_hdr *p = NULL;
    if (!g.running || fd_peer_getbyid((DiamId_t)identity, strlen(identity), 1, &p) != 0 || !p)
        return "unknown";
    state_name(fd_peer_get_state(p), buf, sizeof(buf));
    return buf;
}

/* One configured peer in /health. A client's peers are connections it keeps open (not open:
 * degraded); a server's are clients that may connect (not connected: "closed", still ok). */
static bool health_configured(const struct ims_diam_rule *r, json_t *peers)
{
    const char *st = ims_diam_peer_state(r->identity);
    char addr[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];
    struct sockaddr_storage ss;
    socklen_t sl;
    uint16_t port;
    bool plain = peer_plain(r, &port);
    rule_sockaddr(r, port, &ss, &sl);
    ims_diam_addr_text((struct sockaddr *)&ss, ip, sizeof(ip));
    if (g.server && strcmp(st, "unknown") == 0)
        st = "closed";
    if (g.server)
        snprintf(addr, sizeof(addr), "%s", ip);
    else
        snprintf(addr, sizeof(addr), r->net.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
                 port);
    json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "name",
                                           r->identity, "kind", "diameter", "address", addr,
                                           "state", st, "configured", 1, "direction",
                                           g.server ? "in" : "out", "transport",
                                           plain ? "tcp" : "tls"));
    return g.server || strcmp(st, "open") == 0;
}

enum ims_health ims_diam_health(void *arg, json_t *peers)
{
    (void)arg;
    if (!g.running)
        return IMS_HEALTH_DOWN;
    enum ims_health h = IMS_HEALTH_OK;
    /* configured peers first, always listed even before freeDiameter knows them */
    for (size_t i = 0; i < g.npeers; i++)
        if (!health_configured(&g.peers[i], peers))
            h = IMS_HEALTH_DEGRADED;
    /* then peers that connected to us */
    if (pthread_rwlock_rdlock(&fd_g_peers_rw) != 0)
        return h;
    for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next) {
        struct peer_hdr *p = (struct peer_hdr *)li->o;
        if (!p || is_configured(p->info.pi_diamid))
            continue;
        char st[32];
        state_name(fd_peer_get_state(p), st, sizeof(st));
        json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:b}", "name",
                                               p->info.pi_diamid, "kind", "diameter", "state",
                                               st, "configured", 0));
    }
    pthread_rwlock_unlock(&fd_g_peers_rw);
    return h;
}

/* ---- life cycle ---- */

static void free_trust(void)
{
    free(g.peers);
    free(g.accept);
    free(g.plain);
    g.peers = g.accept = g.plain = NULL;
    g.npeers = g.naccept = g.nplain = 0;
    memset(&g.trust, 0, sizeof(g.trust));
}

/* TLS is used by a server (it listens for TLS) and by a client with a peer that is not
 * allowed plain TCP. */
static bool tls_used(const struct ims_diam_conf *c)
{
    if (c->server)
        return true;
    uint16_t port;
    for (size_t i = 0; i < g.npeers; i++)
        if (!peer_plain(&g.peers[i], &port))
            return true;
    return false;
}

/* The certificate, key and CA are set and readable: 0, else -ENOKEY (the caller names the
 * keys; an unreadable file is logged here). */
static int check_tls_files(const struct ims_diam_conf *c)
{
    const char *files[] = { c->tls_cert, c->tls_key, c->tls_ca, c->tls_dh };
    for (int i = 0; i < 4; i++) {
        if (!files[i] || !*files[i]) {
            if (i < 3)
                return -ENOKEY;
            continue;
        }
        if (access(files[i], R_OK) != 0) {
            ims_err("diameter: cannot read %s: %s", files[i], strerror(errno));
            return -ENOKEY;
        }
    }
    return 0;
}

/* The peer rules of @c into g (and g.trust); the lab patterns are announced loudly. */
static int set_trust(const struct ims_diam_conf *c)
{
    int rc = parse_rules(c->peers, false, &g.peers, &g.npeers);
    if (rc == 0)
        rc = parse_rules(c->accept, true, &g.accept, &g.naccept);
    if (rc == 0)
        rc = parse_rules(c->plain, true, &g.plain, &g.nplain);
    if (rc) {
        free_trust();
        return rc;
    }
    g.trust = (struct ims_diam_trust){ g.peers, g.npeers, g.accept, g.naccept,
                                       g.plain, g.nplain, c->tls };
    for (size_t i = 0; i < g.naccept; i++)
        ims_warn("diameter: accepts any peer matching %s (diameter.accept_peers): lab only",
                 g.accept[i].text);
    if (!c->tls && (c->server || g.npeers))
        ims_warn("diameter: TLS is off (diameter.tls = no): Diameter to and from peers is "
                 "clear text");
    return 0;
}

static int init_core(void *arg)
{
    const struct ims_diam_conf *c = arg;
    char conf[64];
    int rc;
    if (g.initialised) {
        ims_err("diameter: already initialised");
        return -EALREADY;
    }
    snprintf(g.identity, sizeof(g.identity), "%s", c->identity);
    snprintf(g.realm, sizeof(g.realm), "%s", c->realm);
    g.timeout_ms = c->request_timeout_ms ? c->request_timeout_ms : 3000;
    g.max_pending = c->max_pending ? c->max_pending : 10000;
    g.hold_ms = (unsigned)(c->tw_timer > 0 ? c->tw_timer : 30) * 1000;
    g.threads = c->threads > 0 ? (unsigned)c->threads : 4;
    g.max_queue = c->max_queue ? c->max_queue : 5000;
    g.busy_wait_ms = c->busy_wait_ms ? c->busy_wait_ms : 500;
    g.doic = c->doic;
    g.doic_threshold_pct = c->doic_threshold_pct ? c->doic_threshold_pct : 50;
    g.doic_validity_s = c->doic_validity_s ? c->doic_validity_s : 5;
    g.loop = c->loop;
    g.nice = c->nice;
    g.tls = c->tls;
    g.sctp = c->sctp;
    g.apps = c->apps;
    g.server = c->server;
    if ((rc = set_trust(c)) != 0)
        return rc;

    fd_g_debug_lvl = ims_log_enabled(IMS_LOG_DEBUG) ? FD_LOG_DEBUG : FD_LOG_NOTICE;
    if ((rc = fd_log_handler_register(fd_logger)) != 0 || (rc = fd_core_initialize()) != 0) {
        ims_err("diameter: freeDiameter core initialisation failed: %s", strerror(rc));
        return -rc;
    }
    g.initialised = true;
    bool tls = c->tls && tls_used(c);
    if (tls && (rc = check_tls_files(c)) != 0)
        return rc;
    if ((rc = write_conf(c, tls, conf, sizeof(conf))) != 0)
        return rc;
    rc = fd_core_parseconf(conf);
    unlink(conf);
    if (rc) {
        ims_err("diameter: freeDiameter rejected the configuration derived from ours: %s "
                "(see the freeDiameter lines above)", strerror(rc));
        return -rc;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (sockaddr_from(c->address, (uint16_t)c->port, &ss, &sl) != 0 ||
        fd_ep_add_merge(&fd_g_config->cnf_endpoints, (sSA *)&ss, sl,
                        EP_FL_CONF | EP_ACCEPTALL) != 0) {
        ims_err("diameter: cannot listen on %s", c->address);
        return -EINVAL;
    }
    ims_diam_bind_source((struct sockaddr *)&ss, sl);
    if ((rc = ims_dict_init()) != 0)
        return rc;
    for (int a = 0; a < IMS_APP_COUNT; a++) {
        if (!(c->apps & IMS_APP_BIT(a)))
            continue;
        bool acct = a == IMS_APP_RF;
        struct dict_object *vendor = ims_app_is_vendor_specific(a) ? ims_dict_vendor_3gpp()
                                                                   : NULL;
        rc = fd_disp_app_support(ims_dict_app(a), vendor, !acct, acct);
        struct disp_when when = { .app = ims_dict_app(a) };
        if (rc == 0 && g.nhandlers < MAX_HANDLERS)
            rc = fd_disp_register(unsupported_cb, DISP_HOW_APPID, &when, NULL,
                                  &g.handlers[g.nhandlers++]);
        if (rc) {
            ims_err("diameter: cannot advertise application %s: %s", ims_app_name(a),
                    strerror(rc));
            return -rc;
        }
    }
    if ((rc = fd_peer_validate_register(validate_peer)) != 0)
        return -rc;
    if ((rc = fd_rt_out_register(route_to_destination_host, NULL, 1, &g.rt_out)) != 0) {
        ims_err("diameter: cannot register the routing rule: %s", strerror(rc));
        return -rc;
    }
    register_metrics();
    struct ims_diam_doic_conf oc = {
        .enabled = g.doic, .max_queue = g.max_queue, .busy_wait_ms = g.busy_wait_ms,
        .threshold_pct = g.doic_threshold_pct, .validity_s = g.doic_validity_s,
        .only_peer = g.npeers == 1 ? g.peers[0].identity : NULL,
    };
    ims_diam_doic_init(&oc, g.server);
    rc = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_SENT), on_hook, NULL,
                          NULL, &g.hooks[0]);
    if (rc == 0)
        rc = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_DROPPED, HOOK_MESSAGE_PARSING_ERROR,
                                        HOOK_MESSAGE_ROUTING_ERROR),
                              on_hook, NULL, NULL, &g.hooks[1]);
    if (rc == 0)
        rc = fd_hook_register(HOOK_MASK(HOOK_PEER_CONNECT_FAILED, HOOK_PEER_CONNECT_SUCCESS),
                              on_hook, NULL, NULL, &g.hooks[2]);
    /* freeDiameter's default for a hook nobody registered formats the message as text (a
     * full dump for every message sent) under one process-wide lock, then logs it at a level
     * that is never printed: a third of a Diameter thread's time. These steps need no log. */
    if (rc == 0)
        rc = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_LOCAL, HOOK_MESSAGE_SENDING,
                                        HOOK_MESSAGE_ROUTING_FORWARD, HOOK_MESSAGE_ROUTING_LOCAL,
                                        HOOK_MESSAGE_FAILOVER),
                              on_hook, NULL, NULL, &g.hooks[3]);
    if (rc)
        return -rc;

    return 0;
}

/* freeDiameter makes its threads in fd_core_initialize, fd_core_parseconf, fd_core_start
 * and fd_peer_add (and they make the connections' threads): all run on a thread diameter.nice
 * levels below the caller, so that they all start there. */
int ims_diam_init(const struct ims_diam_conf *c)
{
    return ims_prio_run_lowered(c->nice, init_core, (void *)c);
}

static int start_core(void *arg)
{
    (void)arg;
    int rc = ims_diam_hold_start(MAX_HELD_ANSWERS, g.hold_ms, NULL);
    if (rc)
        return rc;
    rc = fd_core_start();
    if (rc == 0)
        rc = fd_core_waitstartcomplete();
    if (rc) {
        ims_err("diameter: freeDiameter did not start: %s (address in use? see above)",
                strerror(rc));
        return -rc;
    }
    g.running = true;
    /* a server waits for its peers: they are decided by validate_peer when they connect */
    for (size_t i = 0; !g.server && i < g.npeers; i++)
        if ((rc = add_configured_peer(&g.peers[i])) != 0)
            return rc;
    ims_info("diameter: %s (realm %s) listening", g.identity, g.realm);
    return 0;
}

int ims_diam_start(void)
{
    return ims_prio_run_lowered(g.nice, start_core, NULL);
}

bool ims_diam_running(void)
{
    return g.running;
}

static pthread_t g_stopper;              /* the thread in ims_diam_stop() */
static volatile sig_atomic_t g_shutting_down;
static volatile sig_atomic_t g_parked;   /* freeDiameter's shutdown thread asserted */

/* The shutdown is asked here, not in the thread stopping: a core configured but never
 * started (ims_diam_init() without ims_diam_start(), as check_diam_hold) is shut down by
 * fd_core_shutdown() itself, in the calling thread, and its fd_fifo_del() assertion (below)
 * must not fire in the stopping thread, which would abort the process (a loaded CI machine
 * did, in the teardown of check_diam_hold). */
static void *shutdown_waiter(void *arg)
{
    (void)arg;
    fd_core_shutdown();
    fd_core_wait_shutdown_complete();
    return NULL;
}

/* Shut freeDiameter down. It waits up to DPR_TIMEOUT (15 s) for each peer's DPA; a peer that
 * is itself stopping may never send it. Wait at most @seconds, then go on (the process is
 * exiting). */
static void shutdown_core(int seconds)
{
    pthread_t t;
    if (pthread_create(&t, NULL, shutdown_waiter, NULL) != 0) {
        fd_core_shutdown();
        fd_core_wait_shutdown_complete();
        return;
    }
    /* in steps of 100 ms: a shutdown thread parked on its abort (below) never ends */
    for (int step = 0; step < seconds * 10; step++) {
        struct timespec deadline = ims_deadline_ms(CLOCK_REALTIME, 100);
        if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
            return;
        if (g_parked)
            break;
    }
    if (!g_parked)
        ims_warn("diameter: peers did not all acknowledge the disconnect within %d s; "
                 "leaving without waiting", seconds);
    pthread_detach(t);
}

/*
 * freeDiameter 1.2.1 deletes its local queue while its dispatch threads still wait on it and
 * gives them 20 ms to leave (fd_fifo_del: ASSERT(++loops < 20)); on a loaded machine its
 * shutdown thread then aborts the whole process, after the peers were disconnected but
 * before the daemon has finished its own stop. This definition of the C library's assertion
 * handler (the process's own, as loop.c's epoll_wait) parks an asserting thread other than
 * the one stopping while freeDiameter shuts down: the wait above gives up on it and the
 * daemon goes on with its stop. Any other failed assertion ends the process as always.
 */
void __assert_fail(const char *assertion, const char *file, unsigned int line,
                   const char *function)
{
    if (g_shutting_down && !pthread_equal(pthread_self(), g_stopper)) {
        g_parked = 1;
        for (;;)
            pause();
    }
    fprintf(stderr, "%s: %s:%u: %s%sAssertion `%s' failed.\n", program_invocation_short_name,
            file, line, function ? function : "", function ? ": " : "", assertion);
    abort();
}

void ims_diam_stop(void)
{
    if (!g.initialised)
        return;
    atomic_store(&g.stopping, true);
    for (int i = 0; atomic_load(&g.direct_busy) && i < 5000; i++)
        usleep(1000);             /* an ACA being handed to the Rf client's queue */
    for (size_t i = 0; i < g.nhandlers; i++)
        if (g.handlers[i])
            fd_disp_unregister(&g.handlers[i], NULL);
    g.nhandlers = 0;
    if (g.workers)
        ims_diam_work_stop();   /* queued requests are answered TOO_BUSY */
    g.workers = false;
    for (size_t i = 0; i < sizeof(g.hooks) / sizeof(g.hooks[0]); i++)
        if (g.hooks[i])
            fd_hook_unregister(g.hooks[i]);
    if (g.rt_out) {
        fd_rt_out_unregister(g.rt_out, NULL);
        g.rt_out = NULL;
    }
    ims_diam_hold_stop();
    g_stopper = pthread_self();
    g_shutting_down = 1;
    shutdown_core(g.running ? 3 : 30);   /* never started: no peer to wait for */
    if (g_parked)
        ims_warn("diameter: freeDiameter stopped on an assertion of its own shutdown "
                 "(fd_fifo_del, a loaded machine): its peers were disconnected before, its "
                 "shutdown thread is left behind");
    ims_diam_bind_clear();
    g.running = false;
    free_trust();
    g.initialised = false;
}
