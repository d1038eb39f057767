/*
 * diam.c - freeDiameter embedding (steps follow STYLE.md "freeDiameter embedding pattern")
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam.h"
#include "diam_work.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define MAX_HANDLERS 32

struct configured_peer {
    char *identity;
    char *address;
    uint16_t port;
};

static struct {
    bool initialised, running, stopping;
    char identity[256];
    char realm[256];
    unsigned timeout_ms;
    unsigned max_pending;
    atomic_uint pending;
    struct ims_loop *loop;
    struct configured_peer *peers;
    size_t npeers;
    char **accept;
    bool tls, sctp;
    unsigned apps;
    struct disp_hdl *handlers[MAX_HANDLERS];
    size_t nhandlers;
    struct fd_hook_hdl *hooks[4];
    struct fd_rt_out_hdl *rt_out;
    /* metrics: [cmd][0 = in, 1 = out], plus base-protocol / unknown */
    struct ims_counter *msgs[IMS_CMD_COUNT + 1][2];
    struct ims_counter *dropped, *rejected_in, *unsupported, *timeouts, *rejected;
    struct ims_histogram *latency[IMS_CMD_COUNT];
    /* overload (see "server busy" and ims_diam_set_observer) */
    unsigned threads, max_queue, busy_wait_ms;
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
    if (ims_log_enabled(l))
        ims_log(l, NULL, "freeDiameter: %s", buf);
}

/* ---- configuration (step 3) ---- */

static int write_conf(const struct ims_diam_conf *c, char *path, size_t len)
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
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\nPort = %d;\n", c->identity, c->realm,
            c->port);
    fprintf(f, "SecPort = %d;\n", c->tls ? c->tls_port : 0);
    fprintf(f, "%s\nNoRelay;\nTcTimer = %d;\nTwTimer = %d;\nAppServThreads = %d;\n",
            c->sctp ? "Prefer_TCP;" : "No_SCTP;", c->tc_timer, c->tw_timer, c->threads);
    if (c->tls)
        fprintf(f, "TLS_Cred = \"%s\", \"%s\";\nTLS_CA = \"%s\";\n", c->tls_cert, c->tls_key,
                c->tls_ca);
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

/* "identity@address[:port]" -> configured_peer; the syntax was validated with the config. */
static int parse_peer(const char *s, struct configured_peer *p)
{
    const char *at = strchr(s, '@');
    if (!at)
        return -EINVAL;
    p->identity = strndup(s, (size_t)(at - s));
    const char *a = at + 1;
    p->port = 3868;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", a);
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end) {
            if (end[1] == ':')
                p->port = (uint16_t)atoi(end + 2);
            *end = '\0';
        }
        p->address = strdup(buf + 1);
    } else {
        char *colon = strrchr(buf, ':');
        if (colon && strchr(buf, '.')) {
            p->port = (uint16_t)atoi(colon + 1);
            *colon = '\0';
        }
        p->address = strdup(buf);
    }
    return p->identity && p->address ? 0 : -ENOMEM;
}

/* ---- peers: validation of unknown incoming peers, configured outgoing peers ---- */

static bool accepted(const char *identity)
{
    for (char **pat = g.accept; pat && *pat; pat++)
        if (fnmatch(*pat, identity, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

static int validate_peer(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
    *cb2 = NULL;
    *auth = 0;
    if (!accepted(info->pi_diamid)) {
        ims_warn("diameter: refused connection from unknown peer %s (not in "
                 "diameter.accept_peers)", info->pi_diamid);
        return 0;
    }
    *auth = 1;
    if (!g.tls && !info->runtime.pir_cert_list)
        info->config.pic_flags.sec = PI_SEC_NONE;
    ims_info("diameter: accepted peer %s (matches diameter.accept_peers)", info->pi_diamid);
    return 0;
}

static int add_configured_peer(const struct configured_peer *p)
{
    struct peer_info info;
    memset(&info, 0, sizeof(info));
    fd_list_init(&info.pi_endpoints, NULL);
    info.pi_diamid = p->identity;
    info.config.pic_flags.persist = PI_PRST_ALWAYS;
    info.config.pic_flags.pro4 = g.sctp ? PI_P4_SCTP : PI_P4_TCP;
    info.config.pic_flags.sec = g.tls ? PI_SEC_DEFAULT : PI_SEC_NONE;
    info.config.pic_port = p->port;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (sockaddr_from(p->address, p->port, &ss, &sl) != 0)
        return -EINVAL;
    int rc = fd_ep_add_merge(&info.pi_endpoints, (sSA *)&ss, sl, EP_FL_CONF | EP_ACCEPTALL);
    if (rc == 0)
        rc = fd_peer_add(&info, "ims config", NULL, NULL);
    /* fd_peer_add copies the endpoints; free our list */
    while (!FD_IS_LIST_EMPTY(&info.pi_endpoints)) {
        struct fd_list *li = info.pi_endpoints.next;
        fd_list_unlink(li);
        free(li);
    }
    if (rc && rc != EEXIST) {
        ims_err("diameter: cannot add peer %s at %s:%u: %s", p->identity, p->address, p->port,
                strerror(rc));
        return -rc;
    }
    ims_info("diameter: peer %s at %s:%u configured", p->identity, p->address, p->port);
    return 0;
}

struct request_ctx {
    ims_diam_answer_fn fn;
    void *arg;
    enum ims_cmd cmd;
    struct timespec sent;
    struct ims_diam_result res;
    char session[128];
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

static void on_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                    struct fd_hook_permsgdata *pmd, void *regdata)
{
    (void)pmd;
    (void)regdata;
    char name[256], sid[256];
    switch (type) {
    case HOOK_MESSAGE_RECEIVED:
        count_message(msg, 0);
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

/* Send the answer a handler left in *msg (a worker thread; freeDiameter does it for the
 * dispatch threads) */
static void send_answer(struct msg **msg)
{
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
    if (rc == 0) {
        *act = *msg ? DISP_ACT_SEND : DISP_ACT_CONT;
        return 0;
    }
    struct ims_log_ids ids = { .session_id = session };
    ims_log(IMS_LOG_ERROR, &ids, "diameter: %s handler failed (%s); answering "
            "DIAMETER_UNABLE_TO_COMPLY", ims_cmd_abbrev(h->cmd), strerror(-rc));
    if (*msg) {
        struct msg_hdr *hdr;
        if (fd_msg_hdr(*msg, &hdr) == 0 && (hdr->msg_flags & CMD_FLAG_REQUEST)) {
            if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0)
                return EINVAL;
        }
        fd_msg_rescode_set(*msg, "DIAMETER_UNABLE_TO_COMPLY", NULL, NULL, 1);
    }
    *act = DISP_ACT_SEND;
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
    if (ims_diam_work_push(msg, h) == 0) {
        *act = DISP_ACT_CONT;   /* *msg is NULL: taken */
        return 0;
    }
    if (answer_busy(msg, h->cmd) == 0) {
        *act = DISP_ACT_SEND;
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
    *act = DISP_ACT_SEND;
    return 0;
}

int ims_diam_serve(enum ims_cmd cmd, ims_diam_handler fn, void *arg)
{
    return ims_diam_serve_locked(cmd, fn, arg, NULL);
}

int ims_diam_serve_locked(enum ims_cmd cmd, ims_diam_handler fn, void *arg,
                          pthread_mutex_t *lock)
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
    *h = (struct handler_ctx){ fn, arg, cmd, lock };
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
    int rc = fd_msg_send(ans, NULL, NULL);
    return -rc;
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

static void deliver(void *arg)
{
    struct request_ctx *ctx = arg;
    atomic_fetch_sub(&g.pending, 1);
    if (!g.stopping && g.observer)
        g.observer(g.observer_arg, ctx->cmd, &ctx->res);
    if (!g.stopping)
        ctx->fn(ctx->arg, &ctx->res);
    if (ctx->res.answer)
        fd_msg_free(ctx->res.answer);
    free(ctx);
}

/* Hand the outcome to the loop thread. The loop queue is sized above max_pending, so this
 * only fails once the loop is gone (shutdown): then the outcome is released here. */
static void hand_off(struct request_ctx *ctx)
{
    ctx->res.latency_s = since(&ctx->sent);
    if (ctx->cmd < IMS_CMD_COUNT && g.latency[ctx->cmd])
        ims_histogram_observe(g.latency[ctx->cmd], ctx->res.latency_s);
    int rc = ims_loop_post(g.loop, deliver, ctx);
    if (rc != 0) {
        struct ims_log_ids ids = { .session_id = ctx->session };
        ims_log(IMS_LOG_WARN, &ids, "diameter: %s outcome not delivered (%s)",
                ims_cmd_abbrev(ctx->cmd), rc == -EPIPE ? "shutting down" : "loop queue full");
        atomic_fetch_sub(&g.pending, 1);
        if (ctx->res.answer)
            fd_msg_free(ctx->res.answer);
        free(ctx);
    }
}

static void on_answer(void *data, struct msg **answer)
{
    struct request_ctx *ctx = data;
    ctx->res.answer = *answer;
    *answer = NULL;
    ctx->res.code = ims_diam_result_code(ctx->res.answer, &ctx->res.experimental);
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

int ims_diam_send(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn, void *arg)
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
    ctx->cmd = IMS_CMD_COUNT;
    if (fd_msg_hdr(*req, &h) == 0)
        ctx->cmd = ims_cmd_lookup(h->msg_appl, h->msg_code, true);
    ims_diam_session_id(*req, ctx->session, sizeof(ctx->session));
    clock_gettime(CLOCK_MONOTONIC, &ctx->sent);

    unsigned ms = timeout_ms ? timeout_ms : g.timeout_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
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

const char *ims_diam_session_id(struct msg *m, char *buf, size_t len)
{
    if (ims_avp_get_str(m, IMS_AVP_SESSION_ID, buf, len) == -ENOENT && len)
        buf[0] = '\0';
    return buf;
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
        if (strcasecmp(g.peers[i].identity, identity) == 0)
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

enum ims_health ims_diam_health(void *arg, json_t *peers)
{
    (void)arg;
    if (!g.running)
        return IMS_HEALTH_DOWN;
    enum ims_health h = IMS_HEALTH_OK;
    /* configured peers first, always listed even before freeDiameter knows them */
    for (size_t i = 0; i < g.npeers; i++) {
        const char *st = ims_diam_peer_state(g.peers[i].identity);
        char addr[96];
        snprintf(addr, sizeof(addr), "%s:%u", g.peers[i].address, g.peers[i].port);
        json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s, s:b}", "name",
                                               g.peers[i].identity, "kind", "diameter",
                                               "address", addr, "state", st, "configured", 1));
        if (strcmp(st, "open") != 0)
            h = IMS_HEALTH_DEGRADED;
    }
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

int ims_diam_init(const struct ims_diam_conf *c)
{
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
    g.threads = c->threads > 0 ? (unsigned)c->threads : 4;
    g.max_queue = c->max_queue ? c->max_queue : 5000;
    g.busy_wait_ms = c->busy_wait_ms ? c->busy_wait_ms : 500;
    g.loop = c->loop;
    g.tls = c->tls;
    g.sctp = c->sctp;
    g.apps = c->apps;
    g.accept = c->accept;

    fd_g_debug_lvl = ims_log_enabled(IMS_LOG_DEBUG) ? FD_LOG_DEBUG : FD_LOG_NOTICE;
    if ((rc = fd_log_handler_register(fd_logger)) != 0 || (rc = fd_core_initialize()) != 0) {
        ims_err("diameter: freeDiameter core initialisation failed: %s", strerror(rc));
        return -rc;
    }
    g.initialised = true;
    if ((rc = write_conf(c, conf, sizeof(conf))) != 0)
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

    size_t n = 0;
    for (char **p = c->peers; p && *p; p++)
        n++;
    g.peers = calloc(n ? n : 1, sizeof(*g.peers));
    if (!g.peers)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (parse_peer(c->peers[i], &g.peers[i]) != 0)
            return -EINVAL;
        g.npeers++;
    }
    return 0;
}

int ims_diam_start(void)
{
    int rc = fd_core_start();
    if (rc == 0)
        rc = fd_core_waitstartcomplete();
    if (rc) {
        ims_err("diameter: freeDiameter did not start: %s (address in use? see above)",
                strerror(rc));
        return -rc;
    }
    g.running = true;
    for (size_t i = 0; i < g.npeers; i++)
        if ((rc = add_configured_peer(&g.peers[i])) != 0)
            return rc;
    ims_info("diameter: %s (realm %s) listening", g.identity, g.realm);
    return 0;
}

bool ims_diam_running(void)
{
    return g.running;
}

static void *shutdown_waiter(void *arg)
{
    (void)arg;
    fd_core_wait_shutdown_complete();
    return NULL;
}

/* freeDiameter waits up to DPR_TIMEOUT (15 s) for each peer's DPA; a peer that is itself
 * stopping may never send it. Wait at most @seconds, then go on (the process is exiting). */
static void wait_shutdown(int seconds)
{
    pthread_t t;
    if (pthread_create(&t, NULL, shutdown_waiter, NULL) != 0) {
        fd_core_wait_shutdown_complete();
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
        ims_warn("diameter: peers did not all acknowledge the disconnect within %d s; "
                 "leaving without waiting", seconds);
        pthread_detach(t);
    }
}

void ims_diam_stop(void)
{
    if (!g.initialised)
        return;
    g.stopping = true;
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
    fd_core_shutdown();
    wait_shutdown(3);
    g.running = false;
    for (size_t i = 0; i < g.npeers; i++) {
        free(g.peers[i].identity);
        free(g.peers[i].address);
    }
    free(g.peers);
    g.peers = NULL;
    g.npeers = 0;
    g.initialised = false;
}
