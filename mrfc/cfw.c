/*
 * cfw.c - the Media Control Channel Framework of the MRF (RFC 6230): the TCP listener,
 * the connections of the application servers, SYNC, K-ALIVE, CONTROL in and out
 *
 * A channel exists from the INVITE that offers it (session.c) to the end of that SIP
 * dialog. Its TCP connection is accepted only from the address of the offer's c= line and
 * belongs to the channel once a SYNC names its cfw-id (RFC 6230 6.2); a connection from
 * any other address is closed at once, one that does not SYNC within SYNC_TIMEOUT_MS is
 * closed. Each side sends K-ALIVE when it has sent nothing for 80 % of the Keep-Alive of
 * the SYNC (RFC 6230 6.3.4); a channel that receives nothing for 1.5 times that is lost,
 * and the MRF ends its SIP dialog.
 *
 * Requests are answered at once: SYNC and K-ALIVE with 200, CONTROL with 200 and the
 * package's response in its body (no 202 and REPORT: every request of the packages is
 * decided on the spot). The MRF's own CONTROL requests carry the packages' events; their
 * 200 is awaited for Timeout (10 s) and logged when it does not come.
 *
 * Over TLS (RFC 6230 12; a channel offered TCP/TLS): the connection comes to the TLS
 * listener (mrfc.cfw_tls_port) from the offer's address, the handshake runs on the loop
 * (cfw_tls.c, non-blocking), and the client's certificate must match an a=fingerprint of a
 * channel offered from that address (RFC 8122), then at SYNC one of the very channel the
 * Dialog-ID names. A TLS channel cannot be taken over the TCP port, nor a TCP one over TLS.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cfw.h"
#include "deadline.h"
#include "cfw_msg.h"
#include "cfw_tls.h"
#include "session.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define SYNC_TIMEOUT_MS 10000     /* a connection must SYNC within this */
#define RBUF_MAX (MRFC_CFW_HEAD_MAX + MRFC_CFW_BODY_MAX)
#define WBUF_MAX (1024 * 1024)    /* unsent bytes of a connection before it is dropped */
#define PENDING_MAX 32            /* our requests awaiting their response */
#define EVENT_TIMEOUT_S 10        /* the Timeout of our requests (RFC 6230 default) */
#define CONNS_MAX 512             /* TCP connections at once */
#define KEEPALIVE_MAX 600

enum { PKG_IVR = 1, PKG_MIXER = 2 };

struct conn;

struct mrfc_chan {
    struct mrfc_chan *next, **prevp;
    struct mrfc_cfw *cfw;
    struct mrfc_session *s;       /* its SIP dialog */
    char id[128];                 /* cfw-id, the SYNC's Dialog-ID */
    char addr[64];                /* where its connection must come from */
    unsigned pkgs;                /* served packages the offer named (PKG_*) */
    unsigned synced;              /* packages the SYNC agreed on */
    bool tls;                     /* offered TCP/TLS: its connection comes to the TLS port */
    struct mrfc_fp fps[MRFC_FP_LINES];   /* and shows a certificate with one of these */
    unsigned nfps;
    struct conn *conn;
};

struct pending {
    char tid[MRFC_CFW_TID_MAX];
    uint64_t sent_ms;
};

struct conn {
    struct conn *next, **prevp;
    struct mrfc_cfw *cfw;
    int fd, index;
    su_wait_t w;
    struct mrfc_tls_conn *tls;    /* NULL: plain TCP */
    bool handshaken;              /* TLS: the handshake is over */
    bool write_waits_read;        /* TLS: the last write needs the socket readable */
    char peer[64];
    unsigned port;
    struct mrfc_chan *chan;       /* after its SYNC */
    char *rbuf;
    size_t rlen;
    char *wbuf;
    size_t wlen;
    unsigned keep_alive;          /* seconds, from the SYNC */
    uint64_t opened_ms, last_rx_ms, last_tx_ms;
    unsigned next_tid;
    struct pending pend[PENDING_MAX];
    unsigned npend;
    bool busy;                    /* inside its callback: freed at its end */
    bool dead;
    bool want_out;
};

/* An event of a package held back while a CONTROL is answered */
struct held {
    struct held *next;
    char chan[128];
    char pkg[32];
    char *body;
};

/* A listening socket: plain TCP (mrfc.cfw_port) or TLS (mrfc.cfw_tls_port) */
struct listener {
    struct mrfc_cfw *cfw;
    bool tls;
    int fd, index;
    su_wait_t w;
    uint16_t port;
};

struct mrfc_cfw {
    struct mrfc *mrfc;
    bool holding;                 /* a CONTROL is being answered: its events wait for it */
    struct held *held, **held_tail;
    struct listener lis[2];       /* [0] TCP, [1] TLS */
    struct mrfc_tls *tls;         /* our certificate, with a TLS listener */
    char addr[64];
    struct mrfc_chan *chans;
    struct ims_map *by_id;
    struct conn *conns;
    unsigned nconns;
    su_timer_t *tick;
    struct ims_gauge *m_channels;
    struct ims_counter *m_in[6], *m_out, *m_refused_addr, *m_refused_sync, *m_lost;
    struct ims_counter *m_refused_tls, *m_refused_fp;
};

static const char *const pkg_names[] = { MRFC_PKG_IVR, MRFC_PKG_MIXER };

/* The PKG_* bits of the packages comma-separated @list names */
static unsigned pkgs_of(const char *list)
{
    unsigned bits = 0;
    for (int i = 0; i < 2; i++)
        if (mrfc_cfw_list_has(list, pkg_names[i]))
            bits |= 1u << i;
    return bits;
}

static void pkgs_text(unsigned bits, char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < 2; i++)
        if (bits & (1u << i))
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "," : "",
                                    pkg_names[i]);
}

const char *mrfc_cfw_chan_id(const struct mrfc_chan *ch)
{
    return ch ? ch->id : "";
}

uint16_t mrfc_cfw_port(const struct mrfc *mrfc)
{
    return mrfc->cfw && mrfc->cfw->lis[0].fd >= 0 ? mrfc->cfw->lis[0].port : 0;
}

uint16_t mrfc_cfw_tls_port(const struct mrfc *mrfc)
{
    return mrfc->cfw && mrfc->cfw->lis[1].fd >= 0 ? mrfc->cfw->lis[1].port : 0;
}

const char *mrfc_cfw_fingerprint(const struct mrfc *mrfc)
{
    return mrfc->cfw ? mrfc_cfw_tls_fingerprint(mrfc->cfw->tls) : "";
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    struct mrfc_cfw *cfw = c->cfw;
    if (c->chan)
        c->chan->conn = NULL;
    su_root_deregister(ims_sip_root(cfw->mrfc->d->sip), c->index);
    mrfc_cfw_tls_free(c->tls);
    close(c->fd);
    *c->prevp = c->next;
    if (c->next)
        c->next->prevp = c->prevp;
    cfw->nconns--;
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

/*
 * The connection failed or is done with: its channel (if any) is lost, which ends the
 * channel's SIP dialog. Freed now, or at the end of the callback it is in.
 */
static void conn_lost(struct conn *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    struct mrfc_chan *ch = c->chan;
    ims_info("mrfc: control connection from %s:%u closed: %s", c->peer, c->port, why);
    if (ch) {
        ims_counter_inc(c->cfw->m_lost);
        ch->conn = NULL;
        c->chan = NULL;
        if (ch->s)
            mrfc_session_end(ch->s, "control channel lost");
    }
    if (!c->busy)
        conn_free(c);
}

/* Watch @c for writing too when something waits to go or TLS needs it */
static void update_watch(struct conn *c)
{
    bool on = (c->wlen > 0 && !c->write_waits_read) ||
              (c->tls && mrfc_cfw_tls_wants_write(c->tls));
    if (c->want_out == on)
        return;
    c->want_out = on;
    su_root_eventmask(ims_sip_root(c->cfw->mrfc->d->sip), c->index, c->fd,
                      SU_WAIT_IN | (on ? SU_WAIT_OUT : 0));
}

/* Bytes of @buf written on @c (TLS or not), -EAGAIN, or -errno */
static ssize_t conn_write(struct conn *c, const char *buf, size_t len)
{
    if (c->tls) {
        ssize_t n = mrfc_cfw_tls_write(c->tls, buf, len);
        c->write_waits_read = n == -EAGAIN && !mrfc_cfw_tls_wants_write(c->tls);
        return n;
    }
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return n;
}

/* Bytes read from @c into @buf (0: closed by the peer), -EAGAIN, or -errno */
static ssize_t conn_read(struct conn *c, char *buf, size_t len)
{
    if (c->tls)
        return mrfc_cfw_tls_read(c->tls, buf, len);
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n < 0)
        return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return n;
}

/* Write what is waiting; false when the connection failed */
static bool flush(struct conn *c)
{
    while (c->wlen && (!c->tls || c->handshaken)) {
        ssize_t n = conn_write(c, c->wbuf, c->wlen);
        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            conn_lost(c, n < 0 ? strerror((int)-n) : "send failed");
            return false;
        }
        memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
        c->wlen -= (size_t)n;
    }
    update_watch(c);
    return true;
}

static void conn_send(struct conn *c, const char *data, size_t len)
{
    if (c->dead)
        return;
    if (c->wlen + len > WBUF_MAX) {
        conn_lost(c, "the application server reads too slowly");
        return;
    }
    char *b = realloc(c->wbuf, c->wlen + len);
    if (!b) {
        conn_lost(c, "out of memory");
        return;
    }
    c->wbuf = b;
    memcpy(c->wbuf + c->wlen, data, len);
    c->wlen += len;
    c->last_tx_ms = ims_now_ms();
    flush(c);
}

/* Send message @o on @c */
static void send_msg(struct conn *c, const struct mrfc_cfw_out *o)
{
    size_t cap = MRFC_CFW_HEAD_MAX + (o->body ? o->body_len : 0);
    char *buf = malloc(cap);
    long n = buf ? mrfc_cfw_build(buf, cap, o) : -ENOMEM;
    if (n > 0) {
        ims_counter_inc(c->cfw->m_out);
        conn_send(c, buf, (size_t)n);
    } else {
        ims_warn("mrfc: a control channel message could not be written (%ld)", n);
    }
    free(buf);
}

/* Send request @o (its tid is made here) and await its response */
static void send_request(struct conn *c, struct mrfc_cfw_out *o, const char *prefix)
{
    char tid[MRFC_CFW_TID_MAX];
    snprintf(tid, sizeof(tid), "%s%u", prefix, c->next_tid++);
    if (c->npend == PENDING_MAX)
        c->pend[0] = c->pend[--c->npend];   /* the oldest is forgotten */
    snprintf(c->pend[c->npend].tid, sizeof(c->pend[0].tid), "%s", tid);
    c->pend[c->npend++].sent_ms = ims_now_ms();
    o->tid = tid;
    send_msg(c, o);
}

static void respond(struct conn *c, const char *tid, int status, const char *comment)
{
    struct mrfc_cfw_out o = { .tid = tid, .status = status, .comment = comment,
                              .keep_alive = -1, .timeout = -1 };
    if (status >= 400)
        ims_info("mrfc: control channel %s: CFW %s answered %d: %s",
                 c->chan ? c->chan->id : c->peer, tid, status, comment ? comment : "");
    send_msg(c, &o);
}

/* ---- requests and responses ---- */

static void release_held(struct mrfc_cfw *cfw);

static void on_sync(struct conn *c, const struct mrfc_cfw_msg *m)
{
    struct mrfc_cfw *cfw = c->cfw;
    if (c->chan) {
        respond(c, m->tid, 421, "the packages are not negotiated again");
        return;
    }
    struct mrfc_chan *ch = m->dialog_id[0] ? ims_map_get(cfw->by_id, m->dialog_id) : NULL;
    const char *why = NULL;
    int status = 0;
    bool tls_refusal = false;
    if (!ch) {
        status = 481;
        why = "no SIP dialog set up this channel (Dialog-ID)";
    } else if (strcmp(ch->addr, c->peer) != 0) {
        status = 403;
        why = "the connection does not come from the address of the channel's offer";
    } else if (ch->conn) {
        status = 403;
        why = "the channel has its connection";
    } else if (ch->tls != (c->tls != NULL)) {
        status = 403;
        why = ch->tls ? "the channel was offered over TCP/TLS: connect to the TLS port"
                      : "the channel was offered over TCP: connect to the TCP port";
        tls_refusal = true;
    } else if (ch->tls && !mrfc_cfw_tls_peer_matches(c->tls, ch->fps, ch->nfps)) {
        status = 403;
        why = "the certificate of the connection is none of the offer's a=fingerprint";
        tls_refusal = true;
    } else if (m->keep_alive < 1 || m->keep_alive > KEEPALIVE_MAX) {
        status = 400;
        why = "Keep-Alive of 1 to 600 seconds is required";
    } else if (!(pkgs_of(m->packages) & ch->pkgs)) {
        status = 422;
        why = "no package of the SYNC is served on this channel";
    }
    if (status) {
        ims_counter_inc(tls_refusal ? cfw->m_refused_fp : cfw->m_refused_sync);
        respond(c, m->tid, status, why);
        if (status == 481 || status == 403)
            conn_lost(c, why);        /* the response is written before the close */
        return;
    }
    ch->conn = c;
    c->chan = ch;
    ch->synced = pkgs_of(m->packages) & ch->pkgs;
    c->keep_alive = (unsigned)m->keep_alive;
    char pk[128], all[128];
    pkgs_text(ch->synced, pk, sizeof(pk));
    pkgs_text(PKG_IVR | PKG_MIXER, all, sizeof(all));
    struct mrfc_cfw_out o = { .tid = m->tid, .status = 200, .keep_alive = m->keep_alive,
                              .timeout = -1, .packages = pk, .supported = all };
    send_msg(c, &o);
    ims_info("mrfc: control channel %s up from %s:%u%s: packages %s, keep-alive %us", ch->id,
             c->peer, c->port, c->tls ? " over TLS" : "", pk, c->keep_alive);
}

static void on_control(struct conn *c, const struct mrfc_cfw_msg *m)
{
    struct mrfc_chan *ch = c->chan;
    int pkg = strcasecmp(m->package, MRFC_PKG_IVR) == 0     ? PKG_IVR
              : strcasecmp(m->package, MRFC_PKG_MIXER) == 0 ? PKG_MIXER
                                                             : 0;
    if (!pkg || !(ch->synced & (unsigned)pkg)) {
        respond(c, m->tid, 420, "Control-Package is not one of this channel's");
        return;
    }
    const char *ctype = pkg == PKG_IVR ? MRFC_CT_IVR : MRFC_CT_MIXER;
    if (!m->body || strcasecmp(m->ctype, ctype) != 0) {
        respond(c, m->tid, 400, pkg == PKG_IVR ? "a body of type " MRFC_CT_IVR " is needed"
                                               : "a body of type " MRFC_CT_MIXER " is needed");
        return;
    }
    char resp[MRFC_PKG_BODY_MAX];
    struct mrfc_cfw *cfw = c->cfw;
    cfw->holding = true;              /* the response goes before the events it causes */
    if (pkg == PKG_IVR)
        mrfc_ivr_control(cfw->mrfc, ch, m->body, m->body_len, resp, sizeof(resp));
    else
        mrfc_mixer_control(cfw->mrfc, ch, m->body, m->body_len, resp, sizeof(resp));
    cfw->holding = false;
    if (!c->dead) {
        struct mrfc_cfw_out o = { .tid = m->tid, .status = 200, .keep_alive = -1,
                                  .timeout = -1, .ctype = ctype, .body = resp,
                                  .body_len = strlen(resp) };
        send_msg(c, &o);
    }
    release_held(cfw);
}

/* Send the events held while a CONTROL was answered (to channels that are still there) */
static void release_held(struct mrfc_cfw *cfw)
{
    while (cfw->held) {
        struct held *h = cfw->held;
        cfw->held = h->next;
        struct mrfc_chan *ch = ims_map_get(cfw->by_id, h->chan);
        if (ch)
            mrfc_cfw_event(ch, h->pkg, h->body);
        free(h->body);
        free(h);
    }
    cfw->held_tail = &cfw->held;
}

static void on_response(struct conn *c, const struct mrfc_cfw_msg *m)
{
    for (unsigned i = 0; i < c->npend; i++) {
        if (strcmp(c->pend[i].tid, m->tid) != 0)
            continue;
        if (m->status != 200)
            ims_warn("mrfc: control channel %s: our CFW %s was answered %d",
                     c->chan ? c->chan->id : c->peer, m->tid, m->status);
        c->pend[i] = c->pend[--c->npend];
        return;
    }
    ims_info("mrfc: control channel %s: a response %d to no request of ours (CFW %s)",
             c->chan ? c->chan->id : c->peer, m->status, m->tid);
}

static void dispatch(struct conn *c, const struct mrfc_cfw_msg *m)
{
    struct mrfc_cfw *cfw = c->cfw;
    ims_counter_inc(cfw->m_in[m->method]);
    if (m->error[0]) {
        if (m->method != MRFC_CFW_RESPONSE)
            respond(c, m->tid, 400, m->error);
        else
            ims_info("mrfc: control channel: a bad response from %s: %s", c->peer, m->error);
        return;
    }
    if (m->method == MRFC_CFW_RESPONSE) {
        on_response(c, m);
        return;
    }
    if (m->method == MRFC_CFW_SYNC) {
        on_sync(c, m);
        return;
    }
    if (!c->chan) {
        respond(c, m->tid, 403, "SYNC first");
        return;
    }
    switch (m->method) {
    case MRFC_CFW_KALIVE:
        respond(c, m->tid, 200, NULL);
        break;
    case MRFC_CFW_CONTROL:
        on_control(c, m);
        break;
    default:                          /* REPORT: the MRF sends no 202; others unknown */
        respond(c, m->tid, 405, "the method is not served by this MRF");
        break;
    }
}

/* Take the complete messages of the read buffer */
static void take_messages(struct conn *c)
{
    size_t off = 0;
    while (!c->dead && off < c->rlen) {
        struct mrfc_cfw_msg m;
        long n = mrfc_cfw_parse(c->rbuf + off, c->rlen - off, &m);
        if (n == 0)
            break;
        if (n < 0) {
            if (m.tid[0] && m.method != MRFC_CFW_RESPONSE)
                respond(c, m.tid, 400, m.error);
            char why[200];
            snprintf(why, sizeof(why), "a message that cannot be framed: %s", m.error);
            conn_lost(c, why);
            break;
        }
        c->last_rx_ms = ims_now_ms();
        dispatch(c, &m);
        off += (size_t)n;
    }
    if (!c->dead && off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

/* Whether a TLS channel from @c's address waits for a certificate like @c's */
static bool fingerprint_expected(struct conn *c)
{
    for (struct mrfc_chan *ch = c->cfw->chans; ch; ch = ch->next)
        if (!ch->conn && ch->tls && strcmp(ch->addr, c->peer) == 0 &&
            mrfc_cfw_tls_peer_matches(c->tls, ch->fps, ch->nfps))
            return true;
    return false;
}

/*
 * Carry the TLS handshake of @c on. Once over, the client's certificate must be that of an
 * a=fingerprint of a channel offered from its address (RFC 8122 6: else the connection is
 * not the one the SIP dialog set up), or the connection is closed before any CFW message.
 */
static void handshake(struct conn *c)
{
    char err[256];
    int rc = mrfc_cfw_tls_handshake(c->tls, err, sizeof(err));
    if (rc == -EAGAIN)
        return;
    if (rc) {
        ims_counter_inc(c->cfw->m_refused_tls);
        ims_warn("mrfc: control connection from %s:%u refused: %s", c->peer, c->port, err);
        conn_lost(c, err);
        return;
    }
    c->handshaken = true;
    if (!fingerprint_expected(c)) {
        ims_counter_inc(c->cfw->m_refused_fp);
        ims_warn("mrfc: control connection from %s:%u refused: its certificate is none of the "
                 "a=fingerprint of the channels offered from that address", c->peer, c->port);
        conn_lost(c, "certificate fingerprint not offered");
    }
}

/* Read what @c has for us (TLS may hold more than the socket says) and take its messages */
static void read_all(struct conn *c)
{
    while (!c->dead) {
        if (c->rlen == RBUF_MAX) {
            conn_lost(c, "a message longer than the framework allows");
            return;
        }
        ssize_t n = conn_read(c, c->rbuf + c->rlen, RBUF_MAX - c->rlen);
        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            conn_lost(c, n == 0 ? "closed by the application server" : strerror((int)-n));
            return;
        }
        c->rlen += (size_t)n;
        take_messages(c);
    }
}

static int on_conn(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    struct conn *c = (struct conn *)arg;
    int events = su_wait_events(w, c->fd);
    c->busy = true;
    if (c->tls && !c->handshaken)
        handshake(c);
    bool ready = !c->dead && (!c->tls || c->handshaken);
    if (ready && (c->wlen || (events & SU_WAIT_OUT)))
        flush(c);
    if (ready && !c->dead)
        read_all(c);
    if (!c->dead)
        update_watch(c);
    c->busy = false;
    if (c->dead)
        conn_free(c);
    return 0;
}

/* ---- the listener ---- */

/* Whether a channel offered over TLS (@tls) or TCP waits for a connection from @addr */
static bool expected_from(struct mrfc_cfw *cfw, const char *addr, bool tls)
{
    for (struct mrfc_chan *ch = cfw->chans; ch; ch = ch->next)
        if (!ch->conn && ch->tls == tls && strcmp(ch->addr, addr) == 0)
            return true;
    return false;
}

static void conn_new(struct mrfc_cfw *cfw, int fd, bool tls, const char *peer, unsigned port)
{
    struct conn *c = calloc(1, sizeof(*c));
    char *rbuf = malloc(RBUF_MAX);
    su_root_t *root = ims_sip_root(cfw->mrfc->d->sip);
    if (!c || !rbuf || (tls && !(c->tls = mrfc_cfw_tls_conn(cfw->tls, fd))) ||
        su_wait_create(&c->w, fd, SU_WAIT_IN) != 0) {
        ims_err("mrfc: no memory for a control connection");
        if (c)
            mrfc_cfw_tls_free(c->tls);
        free(c);
        free(rbuf);
        close(fd);
        return;
    }
    c->cfw = cfw;
    c->fd = fd;
    c->rbuf = rbuf;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->port = port;
    c->opened_ms = c->last_rx_ms = c->last_tx_ms = ims_now_ms();
    c->index = su_root_register(root, &c->w, on_conn, (su_wakeup_arg_t *)c, 0);
    if (c->index < 0) {
        ims_err("mrfc: cannot watch a control connection");
        mrfc_cfw_tls_free(c->tls);
        close(fd);
        free(rbuf);
        free(c);
        return;
    }
    c->prevp = &cfw->conns;
    c->next = cfw->conns;
    if (c->next)
        c->next->prevp = &c->next;
    cfw->conns = c;
    cfw->nconns++;
}

static int on_accept(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    struct listener *l = (struct listener *)arg;
    struct mrfc_cfw *cfw = l->cfw;
    for (int k = 0; k < 16; k++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        char peer[64] = "?";
        unsigned port = 0;
        if (sa.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, peer, sizeof(peer));
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, peer, sizeof(peer));
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        }
        if (!expected_from(cfw, peer, l->tls) || cfw->nconns >= CONNS_MAX) {
            ims_counter_inc(cfw->m_refused_addr);
            ims_warn("mrfc: control connection from %s:%u to the %s port refused: %s", peer,
                     port, l->tls ? "TLS" : "TCP",
                     cfw->nconns >= CONNS_MAX ? "too many connections"
                     : l->tls ? "no TCP/TLS channel was offered from that address"
                              : "no TCP channel was offered from that address");
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_new(cfw, fd, l->tls, peer, port);
    }
    return 0;
}

/* ---- timers: SYNC deadline, K-ALIVE, our requests' responses ---- */

static void conn_timers(struct conn *c, uint64_t now)
{
    if (!c->chan) {
        if (now - c->opened_ms > SYNC_TIMEOUT_MS)
            conn_lost(c, "no SYNC");
        return;
    }
    uint64_t ka = (uint64_t)c->keep_alive * 1000;
    if (now - c->last_rx_ms > ka + ka / 2) {
        conn_lost(c, "nothing received within Keep-Alive");
        return;
    }
    for (unsigned i = 0; i < c->npend;) {
        if (now - c->pend[i].sent_ms > EVENT_TIMEOUT_S * 1000) {
            ims_warn("mrfc: control channel %s: no response to our CFW %s", c->chan->id,
                     c->pend[i].tid);
            c->pend[i] = c->pend[--c->npend];
            continue;
        }
        i++;
    }
    if (now - c->last_tx_ms >= ka * 8 / 10) {
        struct mrfc_cfw_out o = { .method = "K-ALIVE", .keep_alive = -1, .timeout = -1 };
        send_request(c, &o, "mrfk");
    }
}

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct mrfc_cfw *cfw = (struct mrfc_cfw *)arg;
    uint64_t now = ims_now_ms();
    for (struct conn *c = cfw->conns, *next; c; c = next) {
        next = c->next;
        conn_timers(c, now);
    }
}

/* ---- channels ---- */

unsigned mrfc_cfw_offer_fps(const struct mrfc_sdp_cfw *o, struct mrfc_fp *fps)
{
    unsigned n = 0;
    for (int i = 0; i < o->nfp && n < MRFC_FP_LINES; i++)
        if (mrfc_fp_parse(o->fingerprint[i], &fps[n]) == 0)
            n++;
    return n;
}

bool mrfc_cfw_chan_same(const struct mrfc_chan *ch, const struct mrfc_sdp_cfw *o)
{
    struct mrfc_fp fps[MRFC_FP_LINES];
    unsigned n = mrfc_cfw_offer_fps(o, fps);
    return strcmp(o->cfw_id, ch->id) == 0 && o->tls == ch->tls &&
           (!ch->tls || mrfc_fp_same_set(fps, n, ch->fps, ch->nfps));
}

int mrfc_cfw_chan_new(struct mrfc *mrfc, struct mrfc_session *s, const struct mrfc_sdp_cfw *o,
                      char *packages, size_t plen, struct mrfc_chan **out)
{
    struct mrfc_cfw *cfw = mrfc->cfw;
    if (ims_map_get(cfw->by_id, o->cfw_id))
        return -EEXIST;
    unsigned pkgs = pkgs_of(o->packages);
    if (!pkgs)
        return -ENOTSUP;
    struct mrfc_chan *ch = calloc(1, sizeof(*ch));
    int err = 0;
    if (!ch)
        return -ENOMEM;
    ch->tls = o->tls;
    ch->nfps = mrfc_cfw_offer_fps(o, ch->fps);
    if (ch->tls && (!cfw->tls || !ch->nfps)) {
        free(ch);
        return -EPROTO;
    }
    ch->cfw = cfw;
    ch->s = s;
    ch->pkgs = pkgs;
    snprintf(ch->id, sizeof(ch->id), "%s", o->cfw_id);
    /* the canonical text of the address, as accept() will give the connection's */
    unsigned char bin[16];
    int family = o->ip6 ? AF_INET6 : AF_INET;
    if (inet_pton(family, o->addr, bin) != 1 || !inet_ntop(family, bin, ch->addr,
                                                           sizeof(ch->addr)))
        snprintf(ch->addr, sizeof(ch->addr), "%s", o->addr);
    ims_map_put(cfw->by_id, ch->id, ch, &err);
    if (err) {
        free(ch);
        return -ENOMEM;
    }
    ch->prevp = &cfw->chans;
    ch->next = cfw->chans;
    if (ch->next)
        ch->next->prevp = &ch->next;
    cfw->chans = ch;
    ims_gauge_add(cfw->m_channels, 1);
    pkgs_text(pkgs, packages, plen);
    *out = ch;
    return 0;
}

void mrfc_cfw_chan_close(struct mrfc_chan *ch)
{
    struct mrfc_cfw *cfw = ch->cfw;
    struct mrfc *mrfc = cfw->mrfc;
    ch->s = NULL;
    mrfc_ivr_chan_gone(mrfc, ch);
    mrfc_mixer_chan_gone(mrfc, ch);
    struct conn *c = ch->conn;
    if (c) {
        c->chan = NULL;
        ch->conn = NULL;
        flush(c);                     /* what the packages said last, if it can go */
        if (!c->dead) {
            ims_info("mrfc: control channel %s closed with its SIP dialog", ch->id);
            conn_lost(c, "the channel's SIP dialog ended");
        }
    }
    ims_map_remove(cfw->by_id, ch->id);
    *ch->prevp = ch->next;
    if (ch->next)
        ch->next->prevp = ch->prevp;
    ims_gauge_add(cfw->m_channels, -1);
    free(ch);
}

/* Keep an event for after the response being made; false without memory */
static bool hold(struct mrfc_cfw *cfw, struct mrfc_chan *ch, const char *pkg, const char *body)
{
    struct held *h = calloc(1, sizeof(*h));
    if (!h || !(h->body = strdup(body))) {
        free(h);
        return false;
    }
    snprintf(h->chan, sizeof(h->chan), "%s", ch->id);
    snprintf(h->pkg, sizeof(h->pkg), "%s", pkg);
    *cfw->held_tail = h;
    cfw->held_tail = &h->next;
    return true;
}

void mrfc_cfw_event(struct mrfc_chan *ch, const char *pkg, const char *body)
{
    if (ch && ch->cfw->holding && hold(ch->cfw, ch, pkg, body))
        return;
    struct conn *c = ch ? ch->conn : NULL;
    if (!c || c->dead) {
        ims_info("mrfc: control channel %s is not connected: event not sent",
                 mrfc_cfw_chan_id(ch));
        return;
    }
    bool ivr = strcmp(pkg, MRFC_PKG_IVR) == 0;
    struct mrfc_cfw_out o = { .method = "CONTROL", .package = pkg,
                              .ctype = ivr ? MRFC_CT_IVR : MRFC_CT_MIXER, .keep_alive = -1,
                              .timeout = -1, .body = body, .body_len = strlen(body) };
    send_request(c, &o, "mrfe");
}

/* ---- start and stop ---- */

/* Listen on @l->port of our address; 0 or -errno (logged) */
static int listen_on(struct mrfc_cfw *cfw, struct listener *l)
{
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof(sa));
    socklen_t len;
    bool v6 = strchr(cfw->addr, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(l->port);
        inet_pton(AF_INET6, cfw->addr, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&sa;
        a->sin_family = AF_INET;
        a->sin_port = htons(l->port);
        inet_pton(AF_INET, cfw->addr, &a->sin_addr);
        len = sizeof(*a);
    }
    int one = 1;
    l->cfw = cfw;
    l->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(l->fd, (struct sockaddr *)&sa, len) != 0 || listen(l->fd, 64) != 0) {
        int e = errno;
        ims_err("mrfc: cannot listen for control channels (%s) on %s:%u: %s",
                l->tls ? "TLS" : "TCP", cfw->addr, (unsigned)l->port, strerror(e));
        return -e;
    }
    su_root_t *root = ims_sip_root(cfw->mrfc->d->sip);
    su_wait_create(&l->w, l->fd, SU_WAIT_ACCEPT);
    l->index = su_root_register(root, &l->w, on_accept, (su_wakeup_arg_t *)l, 0);
    if (l->index < 0)
        return -ENOMEM;
    ims_info("mrfc: control channels (RFC 6230) on %s:%u %s", cfw->addr, (unsigned)l->port,
             l->tls ? "tls" : "tcp");
    return 0;
}

/*
 * The TLS side: mrfc.cfw_tls_port with the certificate and key of mrfc.cfw_tls_cert and
 * cfw_tls_key (as sip.tls_cert and tls_key, whose values they take by default: as given,
 * relative to the working directory). 0 (also without a TLS port) or -EINVAL with the
 * reason logged.
 */
static int tls_init(struct mrfc_cfw *cfw)
{
    struct ims_daemon *d = cfw->mrfc->d;
    const struct ims_cfg *c = d->cfg;
    long port = ims_cfg_int(c, "mrfc.cfw_tls_port");
    if (port == 0)
        return 0;
    if (port == cfw->lis[0].port) {
        ims_err("%s: mrfc.cfw_tls_port (%ld) must differ from mrfc.cfw_port", ims_cfg_path(c),
                port);
        return -EINVAL;
    }
    if (!ims_cfg_is_set(c, "mrfc.cfw_tls_cert") || !ims_cfg_is_set(c, "mrfc.cfw_tls_key")) {
        ims_err("%s: mrfc.cfw_tls_port is set: mrfc.cfw_tls_cert and mrfc.cfw_tls_key (or "
                "sip.tls_cert and sip.tls_key) are needed", ims_cfg_path(c));
        return -EINVAL;
    }
    char cert[1024], key[1024], err[300];
    snprintf(cert, sizeof(cert), "%s", ims_cfg_str(c, "mrfc.cfw_tls_cert"));
    snprintf(key, sizeof(key), "%s", ims_cfg_str(c, "mrfc.cfw_tls_key"));
    if (mrfc_cfw_tls_create(cert, key, &cfw->tls, err, sizeof(err)) != 0) {
        ims_err("%s: mrfc.cfw_tls_cert %s, cfw_tls_key %s: %s", ims_cfg_path(c), cert, key,
                err);
        return -EINVAL;
    }
    ims_info("mrfc: control channel certificate %s, fingerprint %s", cert,
             mrfc_cfw_tls_fingerprint(cfw->tls));
    cfw->lis[1].port = (uint16_t)port;
    cfw->lis[1].tls = true;
    return listen_on(cfw, &cfw->lis[1]);
}

static void register_metrics(struct mrfc_cfw *cfw)
{
    static const char *const kinds[6] = { "response", "SYNC", "CONTROL", "REPORT", "K-ALIVE",
                                          "other" };
    char label[48];
    for (int i = 0; i < 6; i++) {
        snprintf(label, sizeof(label), "method=\"%s\"", kinds[i]);
        cfw->m_in[i] = ims_counter_new("mrfc_cfw_messages_received_total",
                                       "control channel messages received (RFC 6230)", label);
    }
    cfw->m_out = ims_counter_new("mrfc_cfw_messages_sent_total",
                                 "control channel messages sent", NULL);
    cfw->m_channels = ims_gauge_new("mrfc_cfw_channels", "control channels (SIP dialogs)",
                                    NULL);
    const char *h = "control connections refused or lost, by reason";
    cfw->m_refused_addr = ims_counter_new("mrfc_cfw_refused_total", h, "reason=\"address\"");
    cfw->m_refused_sync = ims_counter_new("mrfc_cfw_refused_total", h, "reason=\"sync\"");
    cfw->m_lost = ims_counter_new("mrfc_cfw_refused_total", h, "reason=\"lost\"");
    cfw->m_refused_tls = ims_counter_new("mrfc_cfw_refused_total", h, "reason=\"tls\"");
    cfw->m_refused_fp = ims_counter_new("mrfc_cfw_refused_total", h,
                                        "reason=\"fingerprint\"");
}

int mrfc_cfw_init(struct mrfc *mrfc)
{
    long port = ims_cfg_int(mrfc->d->cfg, "mrfc.cfw_port");
    if (port == 0 && ims_cfg_int(mrfc->d->cfg, "mrfc.cfw_tls_port") == 0)
        return 0;
    struct mrfc_cfw *cfw = calloc(1, sizeof(*cfw));
    if (!cfw)
        return -ENOMEM;
    cfw->mrfc = mrfc;
    for (int i = 0; i < 2; i++)
        cfw->lis[i].fd = cfw->lis[i].index = -1;
    cfw->held_tail = &cfw->held;
    cfw->lis[0].port = (uint16_t)port;
    snprintf(cfw->addr, sizeof(cfw->addr), "%s", ims_sip_address(mrfc->d->sip));
    mrfc->cfw = cfw;
    cfw->by_id = ims_map_create(false);
    register_metrics(cfw);
    int rc = !cfw->by_id ? -ENOMEM : port ? listen_on(cfw, &cfw->lis[0]) : 0;
    if (rc == 0)
        rc = tls_init(cfw);
    if (rc == 0) {
        cfw->tick = su_timer_create(su_root_task(ims_sip_root(mrfc->d->sip)), 500);
        if (!cfw->tick || su_timer_run(cfw->tick, on_tick, (su_timer_arg_t *)cfw) < 0)
            rc = -ENOMEM;
    }
    return rc;
}

void mrfc_cfw_fini(struct mrfc *mrfc)
{
    struct mrfc_cfw *cfw = mrfc->cfw;
    if (!cfw)
        return;
    while (cfw->chans) {
        struct mrfc_chan *ch = cfw->chans;
        if (ch->s)
            ch->s->chan = NULL;
        mrfc_cfw_chan_close(ch);
    }
    while (cfw->conns)
        conn_free(cfw->conns);
    if (cfw->tick)
        su_timer_destroy(cfw->tick);
    for (int i = 0; i < 2; i++) {
        if (cfw->lis[i].index >= 0)
            su_root_deregister(ims_sip_root(mrfc->d->sip), cfw->lis[i].index);
        if (cfw->lis[i].fd >= 0)
            close(cfw->lis[i].fd);
    }
    mrfc_cfw_tls_destroy(cfw->tls);
    if (cfw->by_id)
        ims_map_destroy(cfw->by_id);
    free(cfw);
    mrfc->cfw = NULL;
}
