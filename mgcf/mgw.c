/*
 * mgw.c - the MGCF's control of its media gateway: H.248.1 text over UDP (ITU-T H.248.1,
 * Annex B; the MGC role)
 *
 *   registration  the MGW's ServiceChange on ROOT (Restart, Failover, Disconnected,
 *                 Handoff) is answered and puts it in service; a Restart while calls held
 *                 contexts there means those contexts are gone: the calls are released.
 *                 Forced or Graceful on ROOT take it out of service. An MGW that is up
 *                 before us (it registered with an earlier run) is found by the audit.
 *   audit         AuditValue of ROOT (its packages) every mgcf.mgw_audit_ms; no reply
 *                 makes the MGW lost: its calls are released, the audit goes on, and the
 *                 first reply puts it back in service.
 *   calls         per call one context: Add of the circuit's TDM termination and of an RTP
 *                 termination the MGW chooses ($) with the IMS side's SDP as Remote (its
 *                 Local in the reply becomes our SDP towards the IMS); Modify of the RTP
 *                 termination (mode, Remote) on the answer and on a re-INVITE; Subtract of
 *                 the context, whose reply carries the statistics (logged); on a lost dual
 *                 seizure Subtract of the old TDM termination and Add of the new one.
 *   transactions  sent again after mgcf.h248_retrans_ms, doubling up to 4 s, until a reply
 *                 or mgcf.h248_timeout_ms; a Pending stops the retransmissions and allows
 *                 mgcf.h248_pending_ms; a reply asking ImmAckRequired is acknowledged; a
 *                 request of the MGW repeated gets the same reply again.
 *
 * Trust: H.248 is taken only from the configured MGW address and port.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "deadline.h"
#include "log.h"
#include "megaco.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRANS_MAX 1024
#define TEXT_MAX 8192
#define CACHE_MAX 16
#define TICK_MS 50
#define RETRANS_CAP_MS 4000

enum kind { K_AUDIT, K_ADD, K_READD, K_MODIFY, K_SUBTRACT, K_CLEANUP };
enum mgw_state { MGW_UNKNOWN = 0, MGW_IN_SERVICE, MGW_LOST, MGW_OUT_OF_SERVICE };

static const char *const state_names[] = { "not registered", "in service", "lost",
                                           "out of service" };
static const char *const kind_names[] = { "AuditValue", "Add", "Subtract+Add", "Modify",
                                          "Subtract", "Subtract (clean-up)" };

struct trans {
    uint32_t id;                /* 0: a free slot */
    enum kind kind;
    struct mgcf_call *call;     /* NULL: none, or forgotten */
    char *text;
    size_t len;
    uint64_t next_ms, deadline_ms;
    unsigned interval;
    bool pending;
};

struct cached {                 /* our reply to a request of the MGW */
    uint32_t id;
    uint64_t request;           /* hash of the request's message: a restarted MGW reuses
                                 * transaction IDs, so an ID alone is no repetition */
    size_t len;
    char text[1024];
};

struct mgcf_mgw {
    struct mgcf *m;
    int fd, index;
    su_wait_t wait;
    struct sockaddr_in peer, self;
    char mid[80];
    enum mgw_state state;
    uint32_t next_id;
    struct trans trans[TRANS_MAX];
    unsigned n_trans;
    su_timer_t *tick;
    uint64_t next_audit_ms;
    bool audit_out;
    struct cached cache[CACHE_MAX];
    unsigned cache_next;
    char rx[65536];
};

static struct ims_counter *m_tx, *m_rx, *m_retrans, *m_timeouts, *m_errors, *m_foreign;

static void metrics(void)
{
    m_tx = ims_counter_new("mgcf_h248_transactions_total", "H.248 transactions sent", NULL);
    m_rx = ims_counter_new("mgcf_h248_messages_received_total", "H.248 messages received",
                           NULL);
    m_retrans = ims_counter_new("mgcf_h248_retransmissions_total",
                                "H.248 requests sent again", NULL);
    m_timeouts = ims_counter_new("mgcf_h248_timeouts_total", "H.248 requests without reply",
                                 NULL);
    m_errors = ims_counter_new("mgcf_h248_errors_total", "H.248 replies with an error", NULL);
    m_foreign = ims_counter_new("mgcf_h248_foreign_total", "H.248 messages from another "
                                "address than the MGW's, or unreadable (dropped)", NULL);
}

static void set_state(struct mgcf_mgw *g, enum mgw_state s)
{
    if (g->state != s)
        ims_info("mgcf: MGW %s:%u %s", g->m->conf.mgw_addr, g->m->conf.mgw_port,
                 state_names[s]);
    g->state = s;
    __atomic_store_n(&g->m->mgw_state, (int)s, __ATOMIC_RELAXED);
}

static void send_text(struct mgcf_mgw *g, const char *text, size_t len)
{
    if (sendto(g->fd, text, len, 0, (const struct sockaddr *)&g->peer, sizeof(g->peer)) < 0)
        ims_warn("mgcf: H.248 to %s:%u not sent: %s", g->m->conf.mgw_addr, g->m->conf.mgw_port,
                 strerror(errno));
}

/* ---- our requests ---- */

static struct trans *trans_new(struct mgcf_mgw *g)
{
    for (int i = 0; i < TRANS_MAX; i++) {
        if (g->trans[i].id)
            continue;
        struct trans *t = &g->trans[i];
        memset(t, 0, sizeof(*t));
        if (++g->next_id == 0)
            g->next_id = 1;
        t->id = g->next_id;
        g->n_trans++;
        return t;
    }
    return NULL;
}

static void trans_free(struct mgcf_mgw *g, struct trans *t)
{
    free(t->text);
    memset(t, 0, sizeof(*t));
    g->n_trans--;
}

static struct trans *trans_find(struct mgcf_mgw *g, uint32_t id)
{
    for (int i = 0; i < TRANS_MAX; i++)
        if (g->trans[i].id == id)
            return &g->trans[i];
    return NULL;
}

/* Encode @msg (its transaction's ID is @t's) and send it; 0 or -errno (then @t is freed) */
static int trans_send(struct mgcf_mgw *g, struct trans *t, const struct mgcf_mg_msg *msg)
{
    char *text = malloc(TEXT_MAX);
    int n = text ? mgcf_mg_encode(msg, text, TEXT_MAX) : -ENOMEM;
    if (n < 0) {
        ims_err("mgcf: H.248 %s does not encode: %s", kind_names[t->kind], strerror(-n));
        free(text);
        trans_free(g, t);
        return n;
    }
    t->text = text;
    t->len = (size_t)n;
    t->interval = g->m->conf.h248_retrans_ms;
    uint64_t now = ims_now_ms();
    t->next_ms = now + t->interval;
    t->deadline_ms = now + g->m->conf.h248_timeout_ms;
    send_text(g, text, t->len);
    ims_counter_inc(m_tx);
    return 0;
}

/* A request of one action of @kind for @call in @context; commands are added by @fill */
static int request(struct mgcf_mgw *g, enum kind kind, struct mgcf_call *call, uint32_t context,
                   void (*fill)(struct mgcf_mg_msg *, struct mgcf_call *, void *), void *arg)
{
    static struct mgcf_mg_msg msg;
    struct trans *t = trans_new(g);
    if (!t)
        return -ENOBUFS;
    t->kind = kind;
    t->call = call;
    mgcf_mg_init(&msg, 1, g->mid);
    mgcf_mg_add_trans(&msg, MGCF_MG_REQUEST, t->id);
    mgcf_mg_add_action(&msg, context);
    fill(&msg, call, arg);
    int rc = trans_send(g, t, &msg);
    if (rc == 0 && call) {
        call->mg_pending++;
        mgcf_call_log(call, IMS_LOG_DEBUG, "H.248 %s sent (transaction %u)", kind_names[kind],
                      t->id);
    }
    return rc;
}

static void fill_audit(struct mgcf_mg_msg *msg, struct mgcf_call *c, void *arg)
{
    (void)c;
    (void)arg;
    struct mgcf_mg_cmd *cmd = mgcf_mg_add_cmd(msg, MGCF_MG_AUDIT_VALUE, "ROOT");
    cmd->audit = true;
    cmd->audit_items = MGCF_MG_AUDIT_PACKAGES;
}

struct rtp_args {
    int mode;
    char local[256], remote[256];
    bool has_remote;
};

static void fill_add(struct mgcf_mg_msg *msg, struct mgcf_call *c, void *arg)
{
    struct rtp_args *a = arg;
    mgcf_mg_add_cmd(msg, MGCF_MG_ADD, c->tdm);
    struct mgcf_mg_cmd *rtp = mgcf_mg_add_cmd(msg, MGCF_MG_ADD, "$");
    rtp->media = true;
    rtp->stream = 1;
    rtp->mode = (enum mgcf_mg_mode)a->mode;
    rtp->local = a->local;
    rtp->remote = a->has_remote ? a->remote : NULL;
}

static void fill_readd(struct mgcf_mg_msg *msg, struct mgcf_call *c, void *arg)
{
    (void)arg;
    mgcf_mg_add_cmd(msg, MGCF_MG_SUBTRACT, c->old_tdm);
    mgcf_mg_add_cmd(msg, MGCF_MG_ADD, c->tdm);
}

static void fill_modify(struct mgcf_mg_msg *msg, struct mgcf_call *c, void *arg)
{
    struct rtp_args *a = arg;
    struct mgcf_mg_cmd *rtp = mgcf_mg_add_cmd(msg, MGCF_MG_MODIFY, c->rtp);
    rtp->media = true;
    rtp->stream = 1;
    rtp->mode = (enum mgcf_mg_mode)a->mode;
    rtp->remote = a->has_remote ? a->remote : NULL;
}

static void fill_subtract(struct mgcf_mg_msg *msg, struct mgcf_call *c, void *arg)
{
    (void)c;
    (void)arg;
    mgcf_mg_add_cmd(msg, MGCF_MG_SUBTRACT, "*");
}

/* The outcome of a request that could not even be sent, as its event */
static void failed_at_once(struct mgcf_call *c, enum kind kind, const char *why)
{
    struct mgcf_ev ev = { .reason = -1 };
    mgcf_call_log(c, IMS_LOG_WARN, "H.248 %s not sent: %s", kind_names[kind], why);
    switch (kind) {
    case K_ADD:
    case K_READD:
        ev.type = MGCF_EV_MG_FAILED;
        break;
    case K_MODIFY:
        ev.type = MGCF_EV_MG_MODIFIED;
        break;
    case K_SUBTRACT:
        ev.type = MGCF_EV_MG_SUBTRACTED;
        break;
    default:
        return;
    }
    mgcf_call_event(c, &ev);            /* queued: the call is in its step */
}

static void call_request(struct mgcf_call *c, enum kind kind, uint32_t context,
                         void (*fill)(struct mgcf_mg_msg *, struct mgcf_call *, void *),
                         void *arg)
{
    struct mgcf_mgw *g = c->m->mgw;
    if (!g || g->state != MGW_IN_SERVICE) {
        failed_at_once(c, kind, g ? state_names[g->state] : "no MGW");
        return;
    }
    int rc = request(g, kind, c, context, fill, arg);
    if (rc < 0)
        failed_at_once(c, kind, rc == -ENOBUFS ? "too many transactions outstanding"
                                               : strerror(-rc));
}

void mgcf_mgw_add(struct mgcf_call *c, int mode)
{
    struct rtp_args a = { .mode = mode };
    mgcf_iw_mg_local(c->sip_fmts[0] ? c->sip_fmts : "8 0", a.local, sizeof(a.local));
    if (c->sm.dir == MGCF_DIR_OUT && c->ims_known)
        a.has_remote = mgcf_iw_mg_remote(&c->ims, a.remote, sizeof(a.remote)) > 0;
    call_request(c, K_ADD, MGCF_MG_CTX_CHOOSE, fill_add, &a);
}

void mgcf_mgw_readd(struct mgcf_call *c)
{
    call_request(c, K_READD, c->context, fill_readd, NULL);
}

void mgcf_mgw_modify(struct mgcf_call *c, int mode, bool remote)
{
    struct rtp_args a = { .mode = mode };
    if (remote && c->ims_known)
        a.has_remote = mgcf_iw_mg_remote(&c->ims, a.remote, sizeof(a.remote)) > 0;
    call_request(c, K_MODIFY, c->context, fill_modify, &a);
}

void mgcf_mgw_subtract(struct mgcf_call *c)
{
    call_request(c, K_SUBTRACT, c->context, fill_subtract, NULL);
}

void mgcf_mgw_forget(struct mgcf_call *c)
{
    struct mgcf_mgw *g = c->m->mgw;
    for (int i = 0; g && i < TRANS_MAX; i++)
        if (g->trans[i].id && g->trans[i].call == c)
            g->trans[i].call = NULL;
}

static void send_audit(struct mgcf_mgw *g)
{
    if (g->audit_out)
        return;
    if (request(g, K_AUDIT, NULL, MGCF_MG_CTX_NULL, fill_audit, NULL) == 0)
        g->audit_out = true;
}

/* ---- replies ---- */

/* The error of a reply, its transaction's, action's or first failed command's */
static const struct mgcf_mg_error *reply_error(struct mgcf_mg_msg *msg,
                                               const struct mgcf_mg_trans *t)
{
    if (t->error.code)
        return &t->error;
    for (unsigned i = 0; i < t->n_actions; i++) {
        const struct mgcf_mg_action *a = &msg->actions[t->first_action + i];
        if (a->error.code)
            return &a->error;
        for (unsigned k = 0; k < a->n_cmds; k++)
            if (mgcf_mg_cmds(msg, a)[k].error.code)
                return &mgcf_mg_cmds(msg, a)[k].error;
    }
    return NULL;
}

/* Context, RTP termination and its Local SDP from an Add reply; 0 or -EINVAL */
static int added(struct mgcf_call *c, struct mgcf_mg_msg *msg, const struct mgcf_mg_trans *t)
{
    if (t->n_actions == 0)
        return -EINVAL;
    const struct mgcf_mg_action *a = &msg->actions[t->first_action];
    if (a->context == MGCF_MG_CTX_NULL || a->context >= MGCF_MG_CTX_CHOOSE)
        return -EINVAL;
    c->context = a->context;
    for (unsigned k = 0; k < a->n_cmds; k++) {
        const struct mgcf_mg_cmd *cmd = &mgcf_mg_cmds(msg, a)[k];
        if (cmd->type != MGCF_MG_ADD || !cmd->local || strcmp(cmd->tid, c->tdm) == 0 ||
            strcmp(cmd->tid, c->old_tdm) == 0)      /* the circuit moved meanwhile */
            continue;
        snprintf(c->rtp, sizeof(c->rtp), "%s", cmd->tid);
        if (mgcf_iw_sdp_read(cmd->local, strlen(cmd->local), &c->mgw) != 0)
            return -EINVAL;
        c->mgw_known = true;
        snprintf(c->mgw_fmts, sizeof(c->mgw_fmts), "%s", c->mgw.fmts);
    }
    return c->mgw_known ? 0 : -EINVAL;
}

static void log_statistics(struct mgcf_call *c, struct mgcf_mg_msg *msg,
                           const struct mgcf_mg_trans *t)
{
    char line[400] = "";
    size_t k = 0;
    for (unsigned i = 0; i < t->n_actions; i++) {
        const struct mgcf_mg_action *a = &msg->actions[t->first_action + i];
        for (unsigned j = 0; j < a->n_cmds; j++) {
            const struct mgcf_mg_cmd *cmd = &mgcf_mg_cmds(msg, a)[j];
            for (unsigned s = 0; s < cmd->n_stats && k < sizeof(line); s++)
                k += (size_t)snprintf(line + k, sizeof(line) - k, " %s:%s=%s", cmd->tid,
                                      cmd->stats[s].name,
                                      cmd->stats[s].value ? cmd->stats[s].value : "");
        }
    }
    mgcf_call_log(c, IMS_LOG_INFO, "context %u subtracted, statistics:%s", c->context,
                  line[0] ? line : " none");
}

static void cleanup(struct mgcf_mgw *g, uint32_t context)
{
    static struct mgcf_mg_msg msg;
    struct trans *t = trans_new(g);
    if (!t)
        return;
    t->kind = K_CLEANUP;
    mgcf_mg_init(&msg, 1, g->mid);
    mgcf_mg_add_trans(&msg, MGCF_MG_REQUEST, t->id);
    mgcf_mg_add_action(&msg, context);
    mgcf_mg_add_cmd(&msg, MGCF_MG_SUBTRACT, "*");
    trans_send(g, t, &msg);
}

/* The reply to an Add (or Subtract+Add) of @c */
static void on_added(struct mgcf_mgw *g, struct mgcf_call *c, struct mgcf_mg_msg *msg,
                     const struct mgcf_mg_trans *t, const struct mgcf_mg_error *err,
                     enum kind kind)
{
    struct mgcf_ev ev = { .type = MGCF_EV_MG_ADDED, .reason = -1 };
    if (err) {
        mgcf_call_log(c, IMS_LOG_WARN, "H.248 %s failed: %u %s", kind_names[kind], err->code,
                      err->text ? err->text : "");
        if (kind == K_READD && c->context)  /* its RTP termination is still there */
            cleanup(g, c->context);
        if (kind == K_READD)
            c->context = 0;
        ev.type = MGCF_EV_MG_FAILED;
    } else if (kind == K_ADD && added(c, msg, t) != 0) {
        mgcf_call_log(c, IMS_LOG_WARN, "H.248 Add reply without a usable RTP termination "
                      "(context, Local SDP): the context is subtracted");
        if (c->context)
            cleanup(g, c->context);
        c->context = 0;
        ev.type = MGCF_EV_MG_FAILED;
    } else if (kind == K_ADD) {
        mgcf_call_log(c, IMS_LOG_INFO, "MGW context %u: %s and %s (RTP %s:%u)", c->context,
                      c->tdm, c->rtp, c->mgw.addr, c->mgw.port);
    }
    mgcf_call_event(c, &ev);
}

static void on_call_reply(struct mgcf_mgw *g, struct mgcf_call *c, enum kind kind,
                          struct mgcf_mg_msg *msg, const struct mgcf_mg_trans *t)
{
    const struct mgcf_mg_error *err = reply_error(msg, t);
    struct mgcf_ev ev = { .reason = -1 };
    if (err)
        ims_counter_inc(m_errors);
    c->mg_pending--;
    switch (kind) {
    case K_ADD:
    case K_READD:
        on_added(g, c, msg, t, err, kind);
        return;
    case K_MODIFY:
        if (err)
            mgcf_call_log(c, IMS_LOG_WARN, "H.248 Modify failed: %u %s", err->code,
                          err->text ? err->text : "");
        ev.type = MGCF_EV_MG_MODIFIED;
        ev.ok = !err;
        break;
    case K_SUBTRACT:
        if (err)
            mgcf_call_log(c, IMS_LOG_WARN, "H.248 Subtract failed: %u %s (the context is "
                          "taken as gone)", err->code, err->text ? err->text : "");
        else
            log_statistics(c, msg, t);
        ev.type = MGCF_EV_MG_SUBTRACTED;
        break;
    default:
        return;
    }
    mgcf_call_event(c, &ev);
}

static void on_audit_reply(struct mgcf_mgw *g, struct mgcf_mg_msg *msg,
                           const struct mgcf_mg_trans *t)
{
    const struct mgcf_mg_error *err = reply_error(msg, t);
    g->audit_out = false;
    if (err) {
        ims_warn("mgcf: the MGW's audit of ROOT failed: %u %s", err->code,
                 err->text ? err->text : "");
        return;
    }
    if (g->state == MGW_UNKNOWN || g->state == MGW_LOST) {
        char pkgs[256] = "";
        size_t k = 0;
        const struct mgcf_mg_action *a = t->n_actions ? &msg->actions[t->first_action] : NULL;
        const struct mgcf_mg_cmd *cmd = a && a->n_cmds ? &mgcf_mg_cmds(msg, a)[0] : NULL;
        for (unsigned i = 0; cmd && i < cmd->n_pkgs && k < sizeof(pkgs); i++)
            k += (size_t)snprintf(pkgs + k, sizeof(pkgs) - k, "%s%s", i ? " " : "",
                                  cmd->pkgs[i]);
        ims_info("mgcf: the MGW answered its audit (packages: %s)", pkgs[0] ? pkgs : "none");
        set_state(g, MGW_IN_SERVICE);
    }
}

static void on_reply(struct mgcf_mgw *g, struct mgcf_mg_msg *msg, const struct mgcf_mg_trans *t)
{
    if (t->imm_ack) {
        static struct mgcf_mg_msg ack;
        char text[256];
        mgcf_mg_init(&ack, 1, g->mid);
        mgcf_mg_add_trans(&ack, MGCF_MG_ACK, t->id);
        int n = mgcf_mg_encode(&ack, text, sizeof(text));
        if (n > 0)
            send_text(g, text, (size_t)n);
    }
    struct trans *tr = trans_find(g, t->id);
    if (!tr) {
        ims_info("mgcf: H.248 reply to transaction %u, which is over: ignored", t->id);
        return;
    }
    enum kind kind = tr->kind;
    struct mgcf_call *c = tr->call;
    trans_free(g, tr);
    if (kind == K_AUDIT) {
        on_audit_reply(g, msg, t);
    } else if (c) {
        on_call_reply(g, c, kind, msg, t);
    } else if ((kind == K_ADD || kind == K_READD) && !reply_error(msg, t) && t->n_actions) {
        uint32_t ctx = msg->actions[t->first_action].context;
        if (ctx != MGCF_MG_CTX_NULL && ctx < MGCF_MG_CTX_CHOOSE)
            cleanup(g, ctx);            /* its call is gone meanwhile */
    }
}

static void on_pending(struct mgcf_mgw *g, uint32_t id)
{
    struct trans *t = trans_find(g, id);
    if (!t)
        return;
    t->pending = true;
    t->deadline_ms = ims_now_ms() + g->m->conf.h248_pending_ms;
}

/* ---- the MGW's requests ---- */

static void service_change(struct mgcf_mgw *g, const struct mgcf_mg_cmd *cmd)
{
    if (strcmp(cmd->tid, "ROOT") != 0) {
        ims_info("mgcf: MGW ServiceChange of %s (%s): noted", cmd->tid,
                 mgcf_mg_method_name(cmd->method) ? mgcf_mg_method_name(cmd->method) : "?");
        return;
    }
    ims_info("mgcf: MGW ServiceChange of ROOT: %s%s%s",
             mgcf_mg_method_name(cmd->method) ? mgcf_mg_method_name(cmd->method) : "?",
             cmd->reason ? ", " : "", cmd->reason ? cmd->reason : "");
    switch (cmd->method) {
    case MGCF_MG_SC_RESTART:
        mgcf_calls_mg_lost(g->m);       /* a restarted MGW has no contexts */
        set_state(g, MGW_IN_SERVICE);
        break;
    case MGCF_MG_SC_FORCED:
        mgcf_calls_mg_lost(g->m);
        set_state(g, MGW_OUT_OF_SERVICE);
        return;
    case MGCF_MG_SC_GRACEFUL:
        set_state(g, MGW_OUT_OF_SERVICE);   /* no new calls; those up go on */
        return;
    default:                            /* Failover, Disconnected, Handoff: contexts kept */
        set_state(g, MGW_IN_SERVICE);
        break;
    }
    g->next_audit_ms = 0;               /* learn its packages now */
}

static struct mgcf_mg_cmd *reply_cmd(struct mgcf_mg_msg *r, const struct mgcf_mg_cmd *cmd,
                                     unsigned code, const char *text)
{
    struct mgcf_mg_cmd *rc = mgcf_mg_add_cmd(r, cmd->type, cmd->tid);
    if (rc && code)
        rc->error = (struct mgcf_mg_error){ code, text };
    return rc;
}

/* FNV-1a of @len bytes */
static uint64_t hash_of(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void on_request(struct mgcf_mgw *g, struct mgcf_mg_msg *msg, const struct mgcf_mg_trans *t,
                       uint64_t request)
{
    static struct mgcf_mg_msg r;
    for (int i = 0; i < CACHE_MAX; i++) {
        if (g->cache[i].id == t->id && g->cache[i].request == request && g->cache[i].len) {
            send_text(g, g->cache[i].text, g->cache[i].len);   /* a repetition */
            return;
        }
    }
    mgcf_mg_init(&r, 1, g->mid);
    mgcf_mg_add_trans(&r, MGCF_MG_REPLY, t->id);
    for (unsigned i = 0; i < t->n_actions; i++) {
        const struct mgcf_mg_action *a = &msg->actions[t->first_action + i];
        mgcf_mg_add_action(&r, a->context);
        for (unsigned k = 0; k < a->n_cmds; k++) {
            const struct mgcf_mg_cmd *cmd = &mgcf_mg_cmds(msg, a)[k];
            if (cmd->type == MGCF_MG_SERVICE_CHANGE) {
                service_change(g, cmd);
                reply_cmd(&r, cmd, 0, NULL);
            } else if (cmd->type == MGCF_MG_NOTIFY) {
                ims_info("mgcf: MGW Notify of %s (%u events): noted", cmd->tid, cmd->n_events);
                reply_cmd(&r, cmd, 0, NULL);
            } else {
                reply_cmd(&r, cmd, 501, "Not Implemented");
            }
        }
    }
    struct cached *c = &g->cache[g->cache_next++ % CACHE_MAX];
    int n = mgcf_mg_encode(&r, c->text, sizeof(c->text));
    if (n < 0) {
        c->id = 0;
        c->len = 0;
        ims_err("mgcf: the reply to the MGW's transaction %u does not encode: %s", t->id,
                strerror(-n));
        return;
    }
    c->id = t->id;
    c->request = request;
    c->len = (size_t)n;
    send_text(g, c->text, c->len);
}

static int on_readable(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct mgcf_mgw *g = (struct mgcf_mgw *)arg;
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    (void)magic;
    (void)w;
    ssize_t n = recvfrom(g->fd, g->rx, sizeof(g->rx), 0, (struct sockaddr *)&from, &flen);
    if (n <= 0)
        return 0;
    ims_counter_inc(m_rx);
    if (from.sin_addr.s_addr != g->peer.sin_addr.s_addr || from.sin_port != g->peer.sin_port) {
        char ip[INET_ADDRSTRLEN];
        ims_counter_inc(m_foreign);
        ims_warn("mgcf: H.248 from %s:%u dropped: not the MGW (mgcf.mgw)",
                 inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip)), ntohs(from.sin_port));
        return 0;
    }
    struct mgcf_mg_msg *msg;
    char err[160];
    uint64_t request = hash_of(g->rx, (size_t)n);
    if (mgcf_mg_decode(g->rx, (size_t)n, &msg, err, sizeof(err)) != 0) {
        ims_counter_inc(m_foreign);
        ims_warn("mgcf: H.248 from the MGW dropped: %s", err);
        return 0;
    }
    if (msg->error.code)
        ims_warn("mgcf: the MGW sent error %u %s", msg->error.code,
                 msg->error.text ? msg->error.text : "");
    for (unsigned i = 0; i < msg->n_trans; i++) {
        const struct mgcf_mg_trans *t = &msg->trans[i];
        if (t->type == MGCF_MG_REQUEST)
            on_request(g, msg, t, request);
        else if (t->type == MGCF_MG_REPLY)
            on_reply(g, msg, t);
        else if (t->type == MGCF_MG_PENDING)
            on_pending(g, t->id);
    }
    mgcf_mg_free(msg);
    return 0;
}

/* ---- time ---- */

static void timed_out(struct mgcf_mgw *g, struct trans *t)
{
    enum kind kind = t->kind;
    struct mgcf_call *c = t->call;
    ims_counter_inc(m_timeouts);
    ims_warn("mgcf: H.248 %s (transaction %u) got no reply%s", kind_names[kind], t->id,
             t->pending ? " after its Pending" : "");
    trans_free(g, t);
    if (kind == K_AUDIT) {
        g->audit_out = false;
        if (g->state == MGW_IN_SERVICE) {
            set_state(g, MGW_LOST);
            mgcf_calls_mg_lost(g->m);
        }
        return;
    }
    if (!c)
        return;
    c->mg_pending--;
    struct mgcf_ev ev = { .reason = -1 };
    ev.type = kind == K_MODIFY ? MGCF_EV_MG_MODIFIED
            : kind == K_SUBTRACT ? MGCF_EV_MG_SUBTRACTED : MGCF_EV_MG_FAILED;
    if (kind == K_ADD || kind == K_READD || kind == K_SUBTRACT || kind == K_MODIFY)
        mgcf_call_event(c, &ev);
}

static void on_tick(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
    struct mgcf_mgw *g = (struct mgcf_mgw *)arg;
    (void)magic;
    (void)timer;
    uint64_t now = ims_now_ms();
    for (int i = 0; i < TRANS_MAX && g->n_trans; i++) {
        struct trans *t = &g->trans[i];
        if (!t->id)
            continue;
        if (now >= t->deadline_ms) {
            timed_out(g, t);
        } else if (!t->pending && now >= t->next_ms) {
            send_text(g, t->text, t->len);
            ims_counter_inc(m_retrans);
            t->interval = t->interval * 2 > RETRANS_CAP_MS ? RETRANS_CAP_MS : t->interval * 2;
            t->next_ms = now + t->interval;
        }
    }
    /* the audit: the keep-alive when in service; the search for the MGW otherwise */
    unsigned period = g->m->conf.mgw_audit_ms;
    if ((g->state == MGW_UNKNOWN || g->state == MGW_LOST) && (!period || period > 2000))
        period = 2000;
    if (period && now >= g->next_audit_ms) {
        g->next_audit_ms = now + period;
        send_audit(g);
    }
}

/* ---- life cycle ---- */

static int open_socket(struct mgcf_mgw *g, const char *addr, unsigned port)
{
    g->self.sin_family = AF_INET;
    g->self.sin_port = htons((uint16_t)port);
    g->peer.sin_family = AF_INET;
    g->peer.sin_port = htons((uint16_t)g->m->conf.mgw_port);
    if (inet_pton(AF_INET, addr, &g->self.sin_addr) != 1 ||
        inet_pton(AF_INET, g->m->conf.mgw_addr, &g->peer.sin_addr) != 1) {
        ims_err("mgcf: H.248 needs IPv4 addresses (node.address %s, mgcf.mgw %s)", addr,
                g->m->conf.mgw_addr);
        return -EINVAL;
    }
    g->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->fd < 0 || bind(g->fd, (struct sockaddr *)&g->self, sizeof(g->self)) < 0) {
        int e = errno;
        ims_err("mgcf: cannot listen for H.248 on %s:%u: %s", addr, port, strerror(e));
        return -e;
    }
    su_wait_create(&g->wait, g->fd, SU_WAIT_IN);
    g->index = su_root_register(mgcf_root(g->m), &g->wait, on_readable, (su_wakeup_arg_t *)g, 0);
    return g->index < 0 ? -ENOMEM : 0;
}

int mgcf_mgw_start(struct mgcf *m)
{
    metrics();
    struct mgcf_mgw *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->m = m;
    g->fd = -1;
    g->index = -1;
    m->mgw = g;
    const char *addr = ims_cfg_str(m->d->cfg, "node.address");
    snprintf(g->mid, sizeof(g->mid), "[%s]:%u", addr, m->conf.h248_port);
    int rc = open_socket(g, addr, m->conf.h248_port);
    if (rc < 0)
        return rc;
    g->tick = su_timer_create(su_root_task(mgcf_root(m)), TICK_MS);
    /* every TICK_MS for ever (su_timer_set_interval would fire once: no retransmission,
     * no timeout, no audit after the first tick) */
    if (!g->tick || su_timer_set_for_ever(g->tick, on_tick, (su_timer_arg_t *)g) < 0)
        return -ENOMEM;
    set_state(g, MGW_UNKNOWN);
    ims_info("mgcf: H.248 on %s:%u, MGW %s:%u (waiting for its ServiceChange)", addr,
             m->conf.h248_port, m->conf.mgw_addr, m->conf.mgw_port);
    return 0;
}

void mgcf_mgw_stop(struct mgcf *m)
{
    struct mgcf_mgw *g = m->mgw;
    if (!g)
        return;
    if (g->tick)
        su_timer_destroy(g->tick);
    if (g->index >= 0)
        su_root_deregister(mgcf_root(m), g->index);
    if (g->fd >= 0)
        close(g->fd);
    for (int i = 0; i < TRANS_MAX; i++)
        free(g->trans[i].text);
    free(g);
    m->mgw = NULL;
    __atomic_store_n(&m->mgw_state, (int)MGW_UNKNOWN, __ATOMIC_RELAXED);
}

bool mgcf_mgw_ready(const struct mgcf *m)
{
    return __atomic_load_n(&m->mgw_state, __ATOMIC_RELAXED) == MGW_IN_SERVICE;
}

const char *mgcf_mgw_state(const struct mgcf *m)
{
    unsigned s = (unsigned)__atomic_load_n(&m->mgw_state, __ATOMIC_RELAXED);
    return s < 4 ? state_names[s] : "?";
}

enum ims_health mgcf_mgw_health(void *arg, json_t *peers)
{
    struct mgcf *m = arg;
    char name[96];
    snprintf(name, sizeof(name), "%s:%u", m->conf.mgw_addr, m->conf.mgw_port);
    json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", name, "kind", "h248-mgw",
                                           "state", mgcf_mgw_state(m)));
    return mgcf_mgw_ready(m) ? IMS_HEALTH_OK : IMS_HEALTH_DEGRADED;
}
