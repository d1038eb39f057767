/*
 * mgw - the lab's media gateway: H.248.1 text over UDP towards the MGCF, RTP per termination
 *
 *   mgw [--listen IP:PORT] [--mgc IP:PORT] [--rtp-ports FIRST-LAST] [--pending-ms MS]
 *       [--modify-ms MS] [--no-register] [--time MS]
 *
 * Listens on IP:PORT (127.0.0.101:2944) and takes H.248 only from the MGC (127.0.0.70:2944).
 * It registers first: ServiceChange Restart on ROOT, sent again every second until the MGC
 * replies (--no-register: it waits to be asked). Then it serves the MGC's requests:
 *
 * - Add of tdm/N (a circuit, any N) or of $ (an RTP termination rtp/N of its choice, a UDP
 *   port of --rtp-ports on its address, 30000-30999) in a context ($: a new one); the reply
 *   gives the chosen context and termination and, for RTP, the Local SDP with its address and
 *   port in place of the $ the MGC wrote; a Remote SDP tells where the far end's RTP goes.
 * - Modify: the mode and the Remote SDP of a termination.
 * - Subtract (a termination, or * for the whole context): the reply carries its statistics
 *   (nt/dur in ms, nt/os, nt/or, rtp/ps, rtp/pr, rtp/pl, rtp/jit); an empty context goes.
 * - AuditValue of ROOT: the packages; of a termination: its media.
 * - Errors per H.248.8: 430 unknown termination, 433 already in a context, 411 unknown
 *   context, 510 no RTP port left, 501 for other commands; 400 for text that does not parse.
 * - A request repeated (same transaction ID) gets the same reply again; with --pending-ms an
 *   Add is answered Pending at once and replied to after that time, with --modify-ms a Modify
 *   (an MGC's answer that waits for it stays outstanding that long).
 *
 * Media: RTP received on a termination is relayed to the other RTP termination of its
 * context, or, when the other one is a circuit (the PSTN side has no RTP here), sent back to
 * where it came from, so a caller hears the path work; every packet counts in the statistics.
 *
 * One line on stdout per H.248 message ("rx Transaction=3 Add=tdm/5 Add=$", "tx Reply=3
 * context=1") and per relay start. Runs until SIGTERM or SIGINT, or --time MS.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "log.h"
#include "loop.h"
#include "megaco.h"

#define TERMS_MAX 512               /* 256 calls (bench/breakout.sh: up to 256 circuits) */
#define CACHE_MAX 64
#define TEXT_MAX 8192

struct term {
    bool used, rtp;
    char id[32];
    uint32_t ctx;
    enum mgcf_mg_mode mode;
    int fd, port, index;
    su_wait_t wait;
    struct sockaddr_in remote;      /* from the Remote SDP; port 0: not known */
    uint64_t ps, pr, os, orx;
    long added_ms;
    char sdp[512];                  /* its Local SDP */
};

struct cached {                     /* the reply to a transaction, for its repetitions */
    uint32_t id;
    bool ready;
    char text[TEXT_MAX];
    size_t len;
    su_timer_t *timer;              /* --pending-ms: when the reply goes */
};

static struct {
    struct ims_loop *loop;
    su_root_t *root;
    int fd, index;
    su_wait_t wait;
    char ip[64], mid[96];
    struct sockaddr_in self, mgc;
    unsigned rtp_first, rtp_last, next_port;
    unsigned pending_ms, modify_ms;
    bool registered, stamped;
    char restart_stamp[32];         /* when it started: the ServiceChange's TimeStamp */
    uint32_t next_tid, sc_tid, next_ctx, next_rtp;
    struct term terms[TERMS_MAX];
    struct cached cache[CACHE_MAX];
    unsigned cache_next;
    su_timer_t *register_timer, *stop_timer;
} g = {.rtp_first = 30000, .rtp_last = 30999, .next_tid = 1, .next_ctx = 1, .next_rtp = 1};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void send_text(const char *text, size_t len)
{
    if (sendto(g.fd, text, len, 0, (struct sockaddr *)&g.mgc, sizeof(g.mgc)) < 0)
        printf("error sending to the MGC: %s\n", strerror(errno));
}

/* Encode @m and send it; into @out (of TEXT_MAX) when not NULL. Returns the length or -errno */
static int send_msg(struct mgcf_mg_msg *m, char *out)
{
    static char buf[TEXT_MAX];
    char *b = out ? out : buf;
    int n = mgcf_mg_encode(m, b, TEXT_MAX);
    if (n < 0) {
        printf("error a message does not encode: %s\n", strerror(-n));
        return n;
    }
    send_text(b, (size_t)n);
    return n;
}

/* ---- registration ---- */

static void on_register_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    static struct mgcf_mg_msg m;
    if (g.registered)
        return;
    if (g.sc_tid == 0)
        g.sc_tid = g.next_tid++;
    mgcf_mg_init(&m, 1, g.mid);
    mgcf_mg_add_trans(&m, MGCF_MG_REQUEST, g.sc_tid);
    mgcf_mg_add_action(&m, MGCF_MG_CTX_NULL);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(&m, MGCF_MG_SERVICE_CHANGE, "ROOT");
    c->services = true;
    c->method = MGCF_MG_SC_RESTART;
    c->reason = "901 Cold Boot";
    c->profile = "ResGW/1";
    c->version = 1;
    /* the time of the restart: a later restart's ServiceChange reuses transaction ID 1,
     * and only this tells the MGC it is no repetition */
    if (!g.stamped) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(g.restart_stamp, sizeof(g.restart_stamp), "%04d%02d%02dT%02d%02d%02d00",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        g.stamped = true;
    }
    c->timestamp = g.restart_stamp;
    if (send_msg(&m, NULL) > 0)
        printf("tx Transaction=%u ServiceChange=ROOT Restart\n", g.sc_tid);
    su_timer_set_interval(g.register_timer, on_register_due, NULL, 1000);  /* again, until */
}

static void on_reply(struct mgcf_mg_msg *m, const struct mgcf_mg_trans *t)
{
    printf("rx Reply=%u%s\n", t->id, t->error.code ? " error" : "");
    if (t->id != g.sc_tid || g.registered)
        return;
    const struct mgcf_mg_cmd *c = t->n_actions ? mgcf_mg_cmds(m, &m->actions[t->first_action])
                                               : NULL;
    if (t->error.code || !c || c->error.code) {
        printf("registration refused (%u): trying again\n",
               t->error.code ? t->error.code : c ? c->error.code : 0);
        g.sc_tid = 0;
        return;
    }
    g.registered = true;
    su_timer_reset(g.register_timer);
    printf("registered with the MGC\n");
}

/* ---- terminations ---- */

static struct term *term_find(const char *id)
{
    for (int i = 0; i < TERMS_MAX; i++)
        if (g.terms[i].used && strcmp(g.terms[i].id, id) == 0)
            return &g.terms[i];
    return NULL;
}

static struct term *term_other(const struct term *t)
{
    for (int i = 0; i < TERMS_MAX; i++)
        if (g.terms[i].used && &g.terms[i] != t && g.terms[i].ctx == t->ctx)
            return &g.terms[i];
    return NULL;
}

static void send_rtp(struct term *t, const void *data, size_t len, const struct sockaddr_in *to)
{
    if (sendto(t->fd, data, len, 0, (const struct sockaddr *)to, sizeof(*to)) > 0) {
        t->ps++;
        t->os += len;
    }
}

/* RTP on termination @t: relayed to its context's other RTP termination, or echoed */
static int on_rtp(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct term *t = (struct term *)arg;
    uint8_t buf[2048];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    (void)magic;
    (void)w;
    ssize_t n = recvfrom(t->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
    if (n < 12 || (buf[0] >> 6) != 2)
        return 0;                       /* not RTP version 2 */
    t->pr++;
    t->orx += (uint64_t)n;
    if (t->mode == MGCF_MG_MODE_SENDONLY || t->mode == MGCF_MG_MODE_INACTIVE)
        return 0;
    struct term *o = term_other(t);
    if (o && o->rtp && o->remote.sin_port)
        send_rtp(o, buf, (size_t)n, &o->remote);
    else if (o && !o->rtp && t->mode != MGCF_MG_MODE_RECVONLY)
        send_rtp(t, buf, (size_t)n, t->remote.sin_port ? &t->remote : &from);
    return 0;
}

/* The address and port of an SDP's c= and m=audio lines */
static void remote_of(const char *sdp, struct sockaddr_in *sa)
{
    char ip[64] = "";
    unsigned port = 0;
    const char *c = strstr(sdp, "c=IN IP4 "), *m = strstr(sdp, "m=audio ");
    memset(sa, 0, sizeof(*sa));
    if (!c || !m || sscanf(c + 9, "%63[0-9.]", ip) != 1 || sscanf(m + 8, "%u", &port) != 1 ||
        port == 0 || port > 65535 || inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
        memset(sa, 0, sizeof(*sa));
        return;
    }
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
}

/* The payload types of the m=audio line of @sdp ("0 8"), or "0" */
static void formats_of(const char *sdp, char *out, size_t n)
{
    const char *m = sdp ? strstr(sdp, "RTP/AVP ") : NULL;
    snprintf(out, n, "0");
    if (m) {
        size_t len = strcspn(m + 8, "\r\n");
        if (len && len < n)
            snprintf(out, n, "%.*s", (int)len, m + 8);
    }
}

static int rtp_open(struct term *t)
{
    for (unsigned tries = 0; tries <= (g.rtp_last - g.rtp_first) / 2; tries++) {
        unsigned port = g.next_port;
        g.next_port = g.next_port + 2 > g.rtp_last ? g.rtp_first : g.next_port + 2;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = g.self;
        sa.sin_port = htons((uint16_t)port);
        if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            t->fd = fd;
            t->port = (int)port;
            su_wait_create(&t->wait, fd, SU_WAIT_IN);
            t->index = su_root_register(g.root, &t->wait, on_rtp, (su_wakeup_arg_t *)t, 0);
            return 0;
        }
        if (fd >= 0)
            close(fd);
    }
    return -EADDRINUSE;
}

static void term_free(struct term *t)
{
    if (t->rtp && t->fd >= 0) {
        su_root_deregister(g.root, t->index);
        close(t->fd);
    }
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

/* ---- commands ---- */

static struct mgcf_mg_cmd *reply_cmd(struct mgcf_mg_msg *r, enum mgcf_mg_cmd_type type,
                                     const char *tid, unsigned code, const char *text)
{
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(r, type, tid);
    if (c && code)
        c->error = (struct mgcf_mg_error){code, text};
    return c;
}

static void apply_media(struct term *t, const struct mgcf_mg_cmd *c)
{
    if (c->mode != MGCF_MG_MODE_NONE)
        t->mode = c->mode;
    if (c->remote && t->rtp)
        remote_of(c->remote, &t->remote);
}

static void do_add(struct mgcf_mg_msg *r, uint32_t *ctx, const struct mgcf_mg_cmd *c)
{
    bool rtp = strcmp(c->tid, "$") == 0;
    if (!rtp && strncmp(c->tid, "tdm/", 4) != 0) {
        reply_cmd(r, MGCF_MG_ADD, c->tid, 430, "Unknown TerminationID");
        return;
    }
    if (!rtp && term_find(c->tid)) {
        reply_cmd(r, MGCF_MG_ADD, c->tid, 433, "TerminationID is already in a Context");
        return;
    }
    struct term *t = NULL;
    for (int i = 0; i < TERMS_MAX && !t; i++)
        if (!g.terms[i].used)
            t = &g.terms[i];
    if (!t || (rtp && rtp_open(t) < 0)) {
        reply_cmd(r, MGCF_MG_ADD, c->tid, 510, "Insufficient resources");
        return;
    }
    if (*ctx == MGCF_MG_CTX_CHOOSE)
        *ctx = g.next_ctx++;
    t->used = true;
    t->rtp = rtp;
    t->ctx = *ctx;
    t->mode = MGCF_MG_MODE_SENDRECV;
    t->added_ms = now_ms();
    if (rtp)
        snprintf(t->id, sizeof(t->id), "rtp/%u", g.next_rtp++);
    else
        snprintf(t->id, sizeof(t->id), "%s", c->tid);
    apply_media(t, c);
    struct mgcf_mg_cmd *rc = reply_cmd(r, MGCF_MG_ADD, t->id, 0, NULL);
    if (rtp && rc) {
        char fmts[64];
        formats_of(c->local, fmts, sizeof(fmts));
        snprintf(t->sdp, sizeof(t->sdp),
                 "v=0\r\no=- %u %u IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                 "m=audio %d RTP/AVP %s\r\n", *ctx, *ctx, g.ip, g.ip, t->port, fmts);
        rc->media = true;
        rc->stream = 1;
        rc->local = t->sdp;
    }
}

static void put_stats(struct mgcf_mg_cmd *c, struct term *t, char vals[][24])
{
    static const char *const names[] = {"nt/dur", "nt/os", "nt/or", "rtp/ps", "rtp/pr",
                                        "rtp/pl", "rtp/jit"};
    uint64_t v[] = {(uint64_t)(now_ms() - t->added_ms), t->os, t->orx, t->ps, t->pr, 0, 0};
    unsigned n = t->rtp ? 7 : 1;
    for (unsigned i = 0; i < n; i++) {
        snprintf(vals[i], 24, "%llu", (unsigned long long)v[i]);
        c->stats[i] = (struct mgcf_mg_param){names[i], vals[i]};
    }
    c->n_stats = n;
}

static void do_subtract(struct mgcf_mg_msg *r, uint32_t ctx, const struct mgcf_mg_cmd *c)
{
    static char vals[TERMS_MAX][7][24];
    static char ids[TERMS_MAX][32];
    bool all = strcmp(c->tid, "*") == 0, found = false;
    for (int i = 0; i < TERMS_MAX; i++) {
        struct term *t = &g.terms[i];
        if (!t->used || t->ctx != ctx || (!all && strcmp(t->id, c->tid) != 0))
            continue;
        found = true;
        snprintf(ids[i], sizeof(ids[i]), "%s", t->id);
        struct mgcf_mg_cmd *rc = reply_cmd(r, MGCF_MG_SUBTRACT, ids[i], 0, NULL);
        if (rc && !(c->audit && !(c->audit_items & MGCF_MG_AUDIT_STATS)))
            put_stats(rc, t, vals[i]);
        term_free(t);
    }
    if (!found)
        reply_cmd(r, MGCF_MG_SUBTRACT, c->tid, 430, "Unknown TerminationID");
}

static void do_modify(struct mgcf_mg_msg *r, uint32_t ctx, const struct mgcf_mg_cmd *c)
{
    struct term *t = term_find(c->tid);
    if (!t || t->ctx != ctx) {
        reply_cmd(r, MGCF_MG_MODIFY, c->tid, 430, "Unknown TerminationID");
        return;
    }
    apply_media(t, c);
    reply_cmd(r, MGCF_MG_MODIFY, t->id, 0, NULL);
}

static void do_audit(struct mgcf_mg_msg *r, const struct mgcf_mg_cmd *c)
{
    static const char *const pkgs[] = {"g-1", "root-1", "nt-1", "rtp-1", "tdmc-1"};
    if (strcmp(c->tid, "ROOT") == 0) {
        struct mgcf_mg_cmd *rc = reply_cmd(r, MGCF_MG_AUDIT_VALUE, "ROOT", 0, NULL);
        if (rc) {
            rc->n_pkgs = 5;
            memcpy(rc->pkgs, pkgs, sizeof(pkgs));
        }
        return;
    }
    struct term *t = term_find(c->tid);
    if (!t) {
        reply_cmd(r, MGCF_MG_AUDIT_VALUE, c->tid, 430, "Unknown TerminationID");
        return;
    }
    struct mgcf_mg_cmd *rc = reply_cmd(r, MGCF_MG_AUDIT_VALUE, t->id, 0, NULL);
    if (rc) {
        rc->media = true;
        rc->mode = t->mode;
        rc->stream = t->rtp ? 1 : 0;
        rc->local = t->rtp ? t->sdp : NULL;
    }
}

static bool context_exists(uint32_t ctx)
{
    for (int i = 0; i < TERMS_MAX; i++)
        if (g.terms[i].used && g.terms[i].ctx == ctx)
            return true;
    return false;
}

/* One action of a request into the reply @r; @delay_ms raised to --pending-ms for an Add in
 * it, to --modify-ms for a Modify */
static void do_action(struct mgcf_mg_msg *m, const struct mgcf_mg_action *a,
                      struct mgcf_mg_msg *r, unsigned *delay_ms)
{
    uint32_t ctx = a->context;
    bool choose = ctx == MGCF_MG_CTX_CHOOSE, null = ctx == MGCF_MG_CTX_NULL;
    struct mgcf_mg_action *ra = mgcf_mg_add_action(r, ctx);
    if (!ra)
        return;
    if (!choose && !null && ctx != MGCF_MG_CTX_ALL && !context_exists(ctx)) {
        ra->error = (struct mgcf_mg_error){411, "The transaction refers to an unknown "
                                                "ContextID"};
        return;
    }
    for (unsigned i = 0; i < a->n_cmds; i++) {
        const struct mgcf_mg_cmd *c = &mgcf_mg_cmds(m, a)[i];
        if (c->type == MGCF_MG_ADD && !null) {
            do_add(r, &ctx, c);
            *delay_ms = *delay_ms > g.pending_ms ? *delay_ms : g.pending_ms;
        } else if (c->type == MGCF_MG_SUBTRACT && !choose && !null) {
            do_subtract(r, ctx, c);
        } else if (c->type == MGCF_MG_MODIFY && !choose && !null) {
            do_modify(r, ctx, c);
            *delay_ms = *delay_ms > g.modify_ms ? *delay_ms : g.modify_ms;
        } else if (c->type == MGCF_MG_AUDIT_VALUE) {
            do_audit(r, c);
        } else {
            reply_cmd(r, c->type, c->tid, 501, "Not Implemented");
        }
    }
    ra->context = ctx;
}

static struct cached *cache_find(uint32_t id)
{
    for (int i = 0; i < CACHE_MAX; i++)
        if (g.cache[i].id == id)
            return &g.cache[i];
    return NULL;
}

static void on_pending_over(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct cached *c = (struct cached *)arg;
    (void)magic;
    (void)t;
    c->ready = true;
    send_text(c->text, c->len);
    printf("tx Reply=%u (after Pending)\n", c->id);
}

static void send_pending(uint32_t id)
{
    static struct mgcf_mg_msg p;
    mgcf_mg_init(&p, 1, g.mid);
    mgcf_mg_add_trans(&p, MGCF_MG_PENDING, id);
    if (send_msg(&p, NULL) > 0)
        printf("tx Pending=%u\n", id);
}

static void on_request(struct mgcf_mg_msg *m, const struct mgcf_mg_trans *t)
{
    static struct mgcf_mg_msg r;
    struct cached *c = cache_find(t->id);
    printf("rx Transaction=%u", t->id);
    for (unsigned i = 0; i < t->n_actions; i++) {
        const struct mgcf_mg_action *a = &m->actions[t->first_action + i];
        for (unsigned j = 0; j < a->n_cmds; j++)
            printf(" %s=%s", mgcf_mg_cmd_name(mgcf_mg_cmds(m, a)[j].type),
                   mgcf_mg_cmds(m, a)[j].tid);
    }
    printf("%s\n", c ? " (again)" : "");
    if (c) {                            /* a retransmission: the same answer */
        if (c->ready)
            send_text(c->text, c->len);
        else
            send_pending(t->id);
        return;
    }
    c = &g.cache[g.cache_next++ % CACHE_MAX];
    su_timer_reset(c->timer);
    c->id = t->id;
    mgcf_mg_init(&r, 1, g.mid);
    mgcf_mg_add_trans(&r, MGCF_MG_REPLY, t->id);
    unsigned delay_ms = 0;
    for (unsigned i = 0; i < t->n_actions; i++)
        do_action(m, &m->actions[t->first_action + i], &r, &delay_ms);
    int n = mgcf_mg_encode(&r, c->text, sizeof(c->text));
    if (n < 0) {
        printf("error the reply to %u does not encode: %s\n", t->id, strerror(-n));
        c->id = 0;
        return;
    }
    c->len = (size_t)n;
    if (delay_ms) {
        c->ready = false;
        send_pending(t->id);
        su_timer_set_interval(c->timer, on_pending_over, (su_timer_arg_t *)c, delay_ms);
        return;
    }
    c->ready = true;
    send_text(c->text, c->len);
    printf("tx Reply=%u context=%u\n", t->id, r.n_actions ? r.actions[0].context : 0);
}

static int on_h248(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    static char buf[65536];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    (void)magic;
    (void)w;
    (void)arg;
    ssize_t n = recvfrom(g.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
    if (n <= 0)
        return 0;
    if (from.sin_addr.s_addr != g.mgc.sin_addr.s_addr || from.sin_port != g.mgc.sin_port) {
        printf("error H.248 from %s:%u ignored: not the MGC\n", inet_ntoa(from.sin_addr),
               ntohs(from.sin_port));
        return 0;
    }
    struct mgcf_mg_msg *m;
    char err[160];
    int rc = mgcf_mg_decode(buf, (size_t)n, &m, err, sizeof(err));
    if (rc) {
        static struct mgcf_mg_msg e;
        printf("error H.248 text refused: %s\n", err);
        mgcf_mg_init(&e, 1, g.mid);
        e.error = (struct mgcf_mg_error){400, "Syntax error in message"};
        send_msg(&e, NULL);
        return 0;
    }
    for (unsigned i = 0; i < m->n_trans; i++) {
        const struct mgcf_mg_trans *t = &m->trans[i];
        if (t->type == MGCF_MG_REQUEST)
            on_request(m, t);
        else if (t->type == MGCF_MG_REPLY)
            on_reply(m, t);
        else
            printf("rx %s=%u\n", t->type == MGCF_MG_PENDING ? "Pending" : "Ack", t->id);
    }
    mgcf_mg_free(m);
    return 0;
}

/* ---- main ---- */

static int parse_addr(const char *text, struct sockaddr_in *sa, char *ip, size_t iplen)
{
    char host[64];
    unsigned port;
    if (sscanf(text, "%63[^:]:%u", host, &port) != 2 || port == 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (ip)
        snprintf(ip, iplen, "%s", host);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void on_stop(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    ims_loop_stop(g.loop);
}

static void usage(void)
{
    fprintf(stderr, "usage: mgw [--listen IP:PORT] [--mgc IP:PORT] [--rtp-ports FIRST-LAST] "
                    "[--pending-ms MS] [--modify-ms MS] [--no-register] [--time MS]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"mgc", required_argument, NULL, 'm'},
        {"rtp-ports", required_argument, NULL, 'r'}, {"pending-ms", required_argument, NULL, 'p'},
        {"no-register", no_argument, NULL, 'n'},  {"time", required_argument, NULL, 't'},
        {"modify-ms", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    const char *listen_at = "127.0.0.101:2944", *mgc = "127.0.0.70:2944";
    unsigned time_ms = 0;
    bool do_register = true;
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_at = optarg; break;
        case 'm': mgc = optarg; break;
        case 'r':
            if (sscanf(optarg, "%u-%u", &g.rtp_first, &g.rtp_last) != 2 ||
                g.rtp_first > g.rtp_last || g.rtp_last > 65535 || g.rtp_first < 1024)
                goto bad;
            break;
        case 'p': g.pending_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'M': g.modify_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': do_register = false; break;
        case 't': time_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        default: goto bad;
        }
    }
    if (optind != argc || parse_addr(listen_at, &g.self, g.ip, sizeof(g.ip)) < 0 ||
        parse_addr(mgc, &g.mgc, NULL, 0) < 0)
        goto bad;
    g.rtp_first += g.rtp_first % 2;                 /* RTP on even ports */
    g.next_port = g.rtp_first;
    snprintf(g.mid, sizeof(g.mid), "[%s]:%u", g.ip, ntohs(g.self.sin_port));
    for (int i = 0; i < TERMS_MAX; i++)
        g.terms[i].fd = -1;

    ims_log_init("mgw", IMS_LOG_WARN, IMS_LOG_KV, NULL);
    g.loop = ims_loop_create(64);
    if (!g.loop)
        return 1;
    g.root = ims_loop_root(g.loop);
    g.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g.fd < 0 || bind(g.fd, (struct sockaddr *)&g.self, sizeof(g.self)) < 0) {
        fprintf(stderr, "mgw: cannot listen on %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    su_wait_create(&g.wait, g.fd, SU_WAIT_IN);
    g.index = su_root_register(g.root, &g.wait, on_h248, NULL, 0);
    for (int i = 0; i < CACHE_MAX; i++)
        g.cache[i].timer = su_timer_create(su_root_task(g.root), 1000);
    g.register_timer = su_timer_create(su_root_task(g.root), 1000);
    printf("listening on %s for the MGC %s, RTP ports %u-%u\n", listen_at, mgc, g.rtp_first,
           g.rtp_last);
    if (do_register)
        on_register_due(NULL, NULL, NULL);
    if (time_ms) {
        g.stop_timer = su_timer_create(su_root_task(g.root), time_ms);
        su_timer_set(g.stop_timer, on_stop, NULL);
    }
    ims_loop_run(g.loop);
    for (int i = 0; i < TERMS_MAX; i++)
        if (g.terms[i].used)
            term_free(&g.terms[i]);
    for (int i = 0; i < CACHE_MAX; i++)
        su_timer_destroy(g.cache[i].timer);
    su_timer_destroy(g.register_timer);
    su_timer_destroy(g.stop_timer);
    su_root_deregister(g.root, g.index);
    close(g.fd);
    ims_loop_destroy(g.loop);
    return 0;
bad:
    usage();
    return 2;
}
