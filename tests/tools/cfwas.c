/*
 * cfwas - a test application server of the Cr control channel (RFC 6230): it sets a
 * channel up with the MRF and runs a script of requests, printing everything it receives
 *
 *   cfwas --sip ADDR:PORT --mrf HOST:PORT [--keepalive S] [--packages LIST]
 *         [--tls-cert PEM --tls-key PEM [--offer-cert PEM]] SCRIPT
 *
 * With --tls-cert the channel is offered TCP/TLS (RFC 6230 12) with the a=fingerprint
 * (sha-256) of --offer-cert (default: --tls-cert; "none": no a=fingerprint line at all),
 * and "connect" speaks TLS showing
 * --tls-cert; it prints whether the MRF's certificate has the answer's a=fingerprint.
 *
 * SCRIPT holds one command a line (# starts a comment):
 *
 *   invite [CFW-ID]            INVITE sip:mrfc@MRF with the channel offer (m=application 9
 *                              TCP cfw, a=setup:active, a=connection:new, a=cfw-id, the
 *                              packages); prints "invite STATUS" and "channel HOST:PORT"
 *   connect [ADDR]             TCP to the MRF's channel port, from ADDR (default the SIP
 *                              address); prints "connected" or "connect failed"; with TLS
 *                              also "tls up ..." or "tls handshake failed" (then closed)
 *   connect-plain [PORT]       plain TCP to PORT (default the channel's) even with TLS
 *   sync [DIALOG-ID]           SYNC (the cfw-id unless given), waits for its response
 *   ivr XML | mixer XML        a CONTROL of that package; prints "response STATUS BODY"
 *   raw TEXT                   bytes as they are (\r \n escapes); prints the response
 *   kalive                     a K-ALIVE; prints its response
 *   expect-event TEXT SECONDS  waits for a CONTROL from the MRF whose body holds TEXT (it is
 *                              answered 200); prints "event BODY"; fails on timeout
 *   expect-close SECONDS       waits until the MRF closes the TCP connection
 *   expect-bye SECONDS         waits for the MRF's BYE of the channel's dialog
 *   quiet                      stops sending K-ALIVE and reading (the MRF should then drop
 *                              the channel)
 *   sleep SECONDS
 *   bye                        BYE of the channel's dialog; prints "bye STATUS"
 *
 * Every message received is printed as "recv <start line>" (bodies as "body ..."); the
 * MRF's K-ALIVEs and CONTROLs are answered 200 and, unless quiet, a K-ALIVE is sent when
 * nothing was sent for 80 % of the Keep-Alive. Exit status 0 when every command did what
 * it waits for, 1 otherwise (the script stops at the first failure).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include "cfw_msg.h"
#include "sdp.h"

#define EVENTS_MAX 64

struct as {
    su_root_t *root;
    nta_agent_t *agent;
    nta_leg_t *leg;
    char sip_addr[64], mrf[128], cfw_id[64], packages[128];
    int sip_port;
    unsigned keep_alive;
    bool quiet;
    /* TLS */
    const char *tls_cert, *tls_key, *offer_cert;
    SSL_CTX *ctx;
    SSL *ssl;
    char mrf_fp[MRFC_SDP_FP_TEXT];   /* the answer's a=fingerprint */
    /* SIP */
    int invite_status, bye_status;
    bool bye_received;
    char chan_host[64];
    int chan_port;
    /* TCP */
    int fd, index;
    char rbuf[MRFC_CFW_HEAD_MAX + MRFC_CFW_BODY_MAX];
    size_t rlen;
    bool closed;
    unsigned tid;
    double last_tx;
    char want_tid[64];
    int got_status;
    char got_body[MRFC_CFW_BODY_MAX + 1];
    char *events[EVENTS_MAX];
    int nevents;
};

static struct as g;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: cfwas --sip ADDR:PORT --mrf HOST:PORT [--keepalive S] "
                    "[--packages LIST] [--tls-cert PEM --tls-key PEM [--offer-cert PEM]] "
                    "SCRIPT\n");
    exit(2);
}

static int split_hostport(const char *s, char *host, size_t len, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= len)
        return -1;
    snprintf(host, len, "%.*s", (int)(colon - s), s);
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* ---- the TCP side ---- */

/*
 * After an OpenSSL call on g.ssl returned @ret: wait (10 s at most) until the socket, which
 * su_wait_create() made non-blocking, is ready the way TLS needs. False for any other error.
 */
static bool tls_wait(int ret)
{
    int e = SSL_get_error(g.ssl, ret);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return false;
    struct pollfd p = { .fd = g.fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT };
    return poll(&p, 1, 10000) > 0;
}

static void tcp_send(const char *data, size_t len)
{
    if (g.fd < 0)
        return;
    while (len) {
        ssize_t n;
        if (g.ssl) {
            size_t k = 0;
            int r;
            while ((r = SSL_write_ex(g.ssl, data, len, &k)) != 1 && tls_wait(r))
                ;
            n = r == 1 ? (ssize_t)k : -1;
        } else {
            n = send(g.fd, data, len, MSG_NOSIGNAL);
        }
        if (n <= 0) {
            printf("send failed: %s\n", strerror(errno));
            return;
        }
        data += n;
        len -= (size_t)n;
    }
    g.last_tx = now_s();
}

static void send_out(const struct mrfc_cfw_out *o)
{
    static char buf[MRFC_CFW_HEAD_MAX + MRFC_CFW_BODY_MAX];
    long n = mrfc_cfw_build(buf, sizeof(buf), o);
    if (n > 0)
        tcp_send(buf, (size_t)n);
}

static void answer(const char *tid)
{
    struct mrfc_cfw_out o = { .tid = tid, .status = 200, .keep_alive = -1, .timeout = -1 };
    send_out(&o);
}

static void take(const struct mrfc_cfw_msg *m)
{
    if (m->method == MRFC_CFW_RESPONSE)
        printf("recv CFW %s %d%s%s\n", m->tid, m->status, m->keep_alive >= 0 ? " keep-alive" : "",
               m->packages[0] ? " packages" : "");
    else
        printf("recv CFW %s %s%s%s\n", m->tid, m->method_name, m->package[0] ? " " : "",
               m->package);
    if (m->body)
        printf("body %.*s\n", (int)m->body_len, m->body);
    if (m->error[0])
        printf("bad message: %s\n", m->error);
    if (m->method == MRFC_CFW_RESPONSE) {
        if (strcmp(m->tid, g.want_tid) == 0) {
            g.got_status = m->status;
            snprintf(g.got_body, sizeof(g.got_body), "%.*s", (int)m->body_len,
                     m->body ? m->body : "");
        }
        return;
    }
    answer(m->tid);
    if (m->method == MRFC_CFW_CONTROL && g.nevents < EVENTS_MAX)
        g.events[g.nevents++] = strndup(m->body ? m->body : "", m->body_len);
}

/* Stop watching and close the connection */
static void tcp_close(void)
{
    if (g.fd < 0)
        return;
    su_root_deregister(g.root, g.index);
    if (g.ssl) {
        SSL_shutdown(g.ssl);
        SSL_free(g.ssl);
        g.ssl = NULL;
    }
    close(g.fd);
    g.fd = -1;
}

static int on_tcp(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    ssize_t n;
    if (g.ssl) {
        size_t k = 0;
        int r = SSL_read_ex(g.ssl, g.rbuf + g.rlen, sizeof(g.rbuf) - g.rlen, &k);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(g.ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;                 /* a record not complete yet */
        n = r == 1 ? (ssize_t)k : -1;
    } else {
        n = recv(g.fd, g.rbuf + g.rlen, sizeof(g.rbuf) - g.rlen, 0);
    }
    if (n <= 0) {
        if (!g.closed)
            printf("connection closed by the MRF\n");
        g.closed = true;
        tcp_close();
        su_root_break(g.root);
        return 0;
    }
    g.rlen += (size_t)n;
    size_t off = 0;
    for (;;) {
        struct mrfc_cfw_msg m;
        long k = mrfc_cfw_parse(g.rbuf + off, g.rlen - off, &m);
        if (k < 0) {
            printf("unframeable bytes from the MRF: %s\n", m.error);
            g.closed = true;
            break;
        }
        if (k == 0)
            break;
        take(&m);
        off += (size_t)k;
    }
    memmove(g.rbuf, g.rbuf + off, g.rlen - off);
    g.rlen -= off;
    su_root_break(g.root);
    return 0;
}

static void on_ka_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    if (g.fd < 0 || g.quiet || g.closed || now_s() - g.last_tx < g.keep_alive * 0.8)
        return;
    char tid[32];
    snprintf(tid, sizeof(tid), "ask%u", g.tid++);
    struct mrfc_cfw_out o = { .tid = tid, .method = "K-ALIVE", .keep_alive = -1,
                              .timeout = -1 };
    send_out(&o);
}

/* Run the loop until @done() or @secs pass; true when done */
static bool wait_for(bool (*done)(void), double secs)
{
    double end = now_s() + secs;
    while (!done()) {
        double left = end - now_s();
        if (left <= 0)
            return false;
        su_root_step(g.root, (su_duration_t)(left * 1000) + 1);
    }
    return true;
}

static bool got_response(void)
{
    return g.got_status != 0 || g.closed;
}

/* Send @o as a request and wait for its response */
static int request(struct mrfc_cfw_out *o)
{
    char tid[32];
    snprintf(tid, sizeof(tid), "as%u", g.tid++);
    o->tid = tid;
    snprintf(g.want_tid, sizeof(g.want_tid), "%s", tid);
    g.got_status = 0;
    send_out(o);
    if (!wait_for(got_response, 15) || !g.got_status) {
        printf("no response to %s\n", tid);
        return -1;
    }
    printf("response %d %s\n", g.got_status, g.got_body);
    return 0;
}

/* ---- TLS ---- */

/* The sha-256 a=fingerprint value of certificate @x into @out */
static void x509_fp(X509 *x, char *out, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0, off;
    X509_digest(x, EVP_sha256(), md, &n);
    off = (unsigned)snprintf(out, len, "sha-256 ");
    for (unsigned i = 0; i < n && off + 4 < len; i++)
        off += (unsigned)snprintf(out + off, len - off, "%s%02X", i ? ":" : "", md[i]);
}

/* The a=fingerprint value of the PEM certificate in @path; 0 or -1 */
static int cert_fp(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!x)
        return -1;
    x509_fp(x, out, len);
    X509_free(x);
    return 0;
}

/* TLS over the connected g.fd, showing --tls-cert: 0, or -1 (printed, connection closed) */
static int tls_start(void)
{
    if (!g.ctx) {
        g.ctx = SSL_CTX_new(TLS_client_method());
        if (!g.ctx || SSL_CTX_use_certificate_chain_file(g.ctx, g.tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(g.ctx, g.tls_key, SSL_FILETYPE_PEM) != 1) {
            printf("tls: cannot load %s / %s\n", g.tls_cert, g.tls_key);
            return -1;
        }
    }
    g.ssl = SSL_new(g.ctx);
    SSL_set_fd(g.ssl, g.fd);
    int r;
    while ((r = SSL_connect(g.ssl)) != 1 && tls_wait(r))
        ;
    if (r != 1) {
        char e[200] = "";
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        printf("tls handshake failed: %s (SSL error %d)\n", e, SSL_get_error(g.ssl, r));
        return -1;
    }
    char fp[MRFC_SDP_FP_TEXT + 32] = "";
    X509 *peer = SSL_get1_peer_certificate(g.ssl);
    if (peer) {
        x509_fp(peer, fp, sizeof(fp));
        X509_free(peer);
    }
    printf("tls up %s, the MRF's certificate %s the answer's a=fingerprint\n",
           SSL_get_version(g.ssl), fp[0] && strcasecmp(fp, g.mrf_fp) == 0 ? "has" : "has NOT");
    return 0;
}

/* ---- SIP ---- */

static bool sip_done;

static bool sip_finished(void)
{
    return sip_done;
}

static int on_dialog(nta_leg_magic_t *m, nta_leg_t *leg, nta_incoming_t *irq, const sip_t *sip)
{
    (void)m;
    (void)leg;
    (void)irq;
    if (sip->sip_request->rq_method == sip_method_bye) {
        printf("got BYE%s%s\n", sip->sip_reason && sip->sip_reason->re_params ? " " : "",
               sip->sip_reason && sip->sip_reason->re_params ? sip->sip_reason->re_params[1]
                                                                ? sip->sip_reason->re_params[1]
                                                                : ""
                                                              : "");
        g.bye_received = true;
        su_root_break(g.root);
        return 200;
    }
    return sip->sip_request->rq_method == sip_method_ack ? 0 : 200;
}

static int on_invite_answer(nta_outgoing_magic_t *mg, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)mg;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    g.invite_status = status;
    printf("invite %d\n", status);
    if (sip && sip->sip_warning && sip->sip_warning->w_text)
        printf("warning: %s\n", sip->sip_warning->w_text);
    if (status < 300 && sip) {
        nta_leg_rtag(g.leg, sip->sip_to->a_tag);
        nta_leg_client_route(g.leg, sip->sip_record_route, sip->sip_contact);
        char cs[32];
        snprintf(cs, sizeof(cs), "%u ACK", sip->sip_cseq->cs_seq);
        nta_outgoing_t *ack = nta_outgoing_tcreate(g.leg, NULL, NULL, NULL, SIP_METHOD_ACK,
                                                   NULL, SIPTAG_CSEQ_STR(cs), TAG_END());
        if (ack)
            nta_outgoing_destroy(ack);
        struct mrfc_sdp_cfw c;
        char why[160];
        if (sip->sip_payload && mrfc_sdp_cfw_read(sip->sip_payload->pl_data,
                                                  sip->sip_payload->pl_len, &c, why,
                                                  sizeof(why)) == 0) {
            snprintf(g.chan_host, sizeof(g.chan_host), "%s", c.addr);
            g.chan_port = c.port;
            snprintf(g.mrf_fp, sizeof(g.mrf_fp), "%s", c.nfp ? c.fingerprint[0] : "");
            printf("channel %s:%d setup=%s cfw-id=%s packages=%s\n", c.addr, c.port, c.setup,
                   c.cfw_id, c.packages);
        } else {
            printf("no channel in the answer\n");
        }
    }
    nta_outgoing_destroy(orq);
    sip_done = true;
    return 0;
}

static int cmd_invite(const char *id)
{
    if (id && *id)
        snprintf(g.cfw_id, sizeof(g.cfw_id), "%s", id);
    char callid[64], from[160], to[160], contact[160], sdp[1024], pk[256] = "";
    snprintf(callid, sizeof(callid), "cfwas-%ld-%d", (long)time(NULL), getpid());
    snprintf(from, sizeof(from), "<sip:as@%s:%d>;tag=as%d", g.sip_addr, g.sip_port, getpid());
    snprintf(to, sizeof(to), "<sip:mrfc@%s>", g.mrf);
    snprintf(contact, sizeof(contact), "<sip:as@%s:%d>", g.sip_addr, g.sip_port);
    for (const char *p = g.packages; *p;) {
        size_t k = strcspn(p, ",");
        snprintf(pk + strlen(pk), sizeof(pk) - strlen(pk), "a=ctrl-package:%.*s\r\n", (int)k,
                 p);
        p += k + (p[k] == ',');
    }
    char fp[MRFC_SDP_FP_TEXT + 32] = "";
    bool no_fp = g.offer_cert && strcmp(g.offer_cert, "none") == 0;
    if (g.tls_cert && !no_fp &&
        cert_fp(g.offer_cert ? g.offer_cert : g.tls_cert, fp, sizeof(fp)) != 0) {
        printf("invite: cannot read the certificate to offer\n");
        return -1;
    }
    snprintf(sdp, sizeof(sdp), "v=0\r\no=cfwas 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
             "m=application 9 %s cfw\r\na=setup:active\r\na=connection:new\r\n"
             "a=cfw-id:%s\r\n%s%s%s%s", g.sip_addr, g.sip_addr, g.tls_cert ? "TCP/TLS" : "TCP",
             g.cfw_id, pk, fp[0] ? "a=fingerprint:" : "", fp, fp[0] ? "\r\n" : "");
    g.leg = nta_leg_tcreate(g.agent, on_dialog, NULL, SIPTAG_CALL_ID_STR(callid),
                            SIPTAG_FROM_STR(from), SIPTAG_TO_STR(to), TAG_END());
    char ruri[160];
    snprintf(ruri, sizeof(ruri), "sip:mrfc@%s", g.mrf);
    sip_done = false;
    nta_outgoing_t *orq = g.leg ? nta_outgoing_tcreate(
        g.leg, on_invite_answer, NULL, NULL, SIP_METHOD_INVITE, (url_string_t *)ruri,
        SIPTAG_CONTACT_STR(contact), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
        SIPTAG_PAYLOAD_STR(sdp), TAG_END()) : NULL;
    if (!orq || !wait_for(sip_finished, 40)) {
        printf("invite: no answer\n");
        return -1;
    }
    return g.invite_status < 300 ? 0 : -1;
}

static int on_bye_answer(nta_outgoing_magic_t *mg, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)mg;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    g.bye_status = status;
    printf("bye %d\n", status);
    nta_outgoing_destroy(orq);
    sip_done = true;
    return 0;
}

static int cmd_bye(void)
{
    sip_done = false;
    nta_outgoing_t *orq = g.leg ? nta_outgoing_tcreate(g.leg, on_bye_answer, NULL, NULL,
                                                       SIP_METHOD_BYE, NULL, TAG_END())
                                : NULL;
    return orq && wait_for(sip_finished, 40) && g.bye_status == 200 ? 0 : -1;
}

/* ---- the other commands ---- */

/* Connect from @from to @port of the channel's host, with TLS when @tls */
static int cmd_connect(const char *from, int port, bool tls)
{
    struct sockaddr_in a = { .sin_family = AF_INET }, b = { .sin_family = AF_INET };
    tcp_close();
    g.rlen = 0;
    g.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    inet_pton(AF_INET, from && *from ? from : g.sip_addr, &a.sin_addr);
    inet_pton(AF_INET, g.chan_host, &b.sin_addr);
    b.sin_port = htons((uint16_t)(port ? port : g.chan_port));
    if (g.fd < 0 || bind(g.fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        connect(g.fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
        printf("connect failed: %s\n", strerror(errno));
        return -1;
    }
    static su_wait_t w;
    su_wait_create(&w, g.fd, SU_WAIT_IN);
    g.index = su_root_register(g.root, &w, on_tcp, NULL, 0);
    g.closed = false;
    printf("connected from %s\n", from && *from ? from : g.sip_addr);
    if (tls && tls_start() != 0) {
        g.closed = true;              /* refused: "expect-close" sees it */
        tcp_close();
    }
    return 0;
}

static int cmd_sync(const char *id)
{
    struct mrfc_cfw_out o = { .method = "SYNC", .dialog_id = id && *id ? id : g.cfw_id,
                              .keep_alive = (int)g.keep_alive, .timeout = -1,
                              .packages = g.packages };
    return request(&o);
}

static int cmd_control(const char *pkg, const char *xml)
{
    bool ivr = strcmp(pkg, "ivr") == 0;
    struct mrfc_cfw_out o = { .method = "CONTROL", .package = ivr ? "msc-ivr/1.0"
                                                                  : "msc-mixer/1.0",
                              .ctype = ivr ? "application/msc-ivr+xml"
                                           : "application/msc-mixer+xml",
                              .keep_alive = -1, .timeout = -1, .body = xml,
                              .body_len = strlen(xml) };
    return request(&o);
}

static int cmd_raw(const char *text)
{
    char buf[8192];
    size_t n = 0;
    for (const char *p = text; *p && n < sizeof(buf) - 1; p++) {
        if (p[0] == '\\' && (p[1] == 'r' || p[1] == 'n')) {
            buf[n++] = p[1] == 'r' ? '\r' : '\n';
            p++;
        } else {
            buf[n++] = *p;
        }
    }
    /* the transaction id is the second word */
    char tid[64] = "";
    sscanf(text, "CFW %63s", tid);
    snprintf(g.want_tid, sizeof(g.want_tid), "%s", tid);
    g.got_status = 0;
    tcp_send(buf, n);
    if (!wait_for(got_response, 10) || !g.got_status) {
        printf("no response to the raw message%s\n", g.closed ? " (closed)" : "");
        return g.closed ? 0 : -1;
    }
    printf("response %d %s\n", g.got_status, g.got_body);
    return 0;
}

static const char *event_text;

static bool got_event(void)
{
    for (int i = 0; i < g.nevents; i++)
        if (strstr(g.events[i], event_text))
            return true;
    return false;
}

static int cmd_expect_event(const char *args)
{
    char text[256];
    double secs = 10;
    if (sscanf(args, "%255s %lf", text, &secs) < 1)
        return -1;
    event_text = text;
    if (!wait_for(got_event, secs)) {
        printf("no event with %s\n", text);
        return -1;
    }
    for (int i = 0; i < g.nevents; i++) {
        if (!strstr(g.events[i], text))
            continue;
        printf("event %s\n", g.events[i]);
        free(g.events[i]);
        g.events[i] = g.events[--g.nevents];
        break;
    }
    return 0;
}

static bool is_closed(void)
{
    return g.closed;
}

static bool bye_in(void)
{
    return g.bye_received;
}

static int run_line(char *line)
{
    char *arg = line + strcspn(line, " \t");
    if (*arg)
        *arg++ = '\0';
    while (*arg == ' ' || *arg == '\t')
        arg++;
    printf("> %s %s\n", line, arg);
    if (strcmp(line, "invite") == 0)
        return cmd_invite(arg);
    if (strcmp(line, "connect") == 0)
        return cmd_connect(arg, 0, g.tls_cert != NULL);
    if (strcmp(line, "connect-plain") == 0)
        return cmd_connect(NULL, atoi(arg), false);
    if (strcmp(line, "sync") == 0)
        return cmd_sync(arg);
    if (strcmp(line, "ivr") == 0 || strcmp(line, "mixer") == 0)
        return cmd_control(line, arg);
    if (strcmp(line, "raw") == 0)
        return cmd_raw(arg);
    if (strcmp(line, "kalive") == 0) {
        struct mrfc_cfw_out o = { .method = "K-ALIVE", .keep_alive = -1, .timeout = -1 };
        return request(&o);
    }
    if (strcmp(line, "expect-event") == 0)
        return cmd_expect_event(arg);
    if (strcmp(line, "expect-close") == 0) {
        bool ok = wait_for(is_closed, atof(arg));
        printf("%s\n", ok ? "closed" : "still open");
        return ok ? 0 : -1;
    }
    if (strcmp(line, "expect-bye") == 0) {
        bool ok = wait_for(bye_in, atof(arg));
        printf("%s\n", ok ? "bye received" : "no bye");
        return ok ? 0 : -1;
    }
    if (strcmp(line, "quiet") == 0) {
        g.quiet = true;               /* no K-ALIVE, nothing read, nothing answered */
        if (g.fd >= 0)
            su_root_deregister(g.root, g.index);
        g.index = -1;
        return 0;
    }
    if (strcmp(line, "sleep") == 0) {
        double end = now_s() + atof(arg);
        while (now_s() < end)
            su_root_step(g.root, (su_duration_t)((end - now_s()) * 1000) + 1);
        return 0;
    }
    if (strcmp(line, "bye") == 0)
        return cmd_bye();
    printf("unknown command %s\n", line);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "sip", required_argument, NULL, 's' }, { "mrf", required_argument, NULL, 'm' },
        { "keepalive", required_argument, NULL, 'k' },
        { "packages", required_argument, NULL, 'p' },
        { "tls-cert", required_argument, NULL, 'c' }, { "tls-key", required_argument, NULL, 'K' },
        { "offer-cert", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 },
    };
    const char *sip = NULL;
    g.keep_alive = 10;
    g.fd = -1;
    snprintf(g.packages, sizeof(g.packages), "msc-ivr/1.0,msc-mixer/1.0");
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': sip = optarg; break;
        case 'm': snprintf(g.mrf, sizeof(g.mrf), "%s", optarg); break;
        case 'k': g.keep_alive = (unsigned)atoi(optarg); break;
        case 'p': snprintf(g.packages, sizeof(g.packages), "%s", optarg); break;
        case 'c': g.tls_cert = optarg; break;
        case 'K': g.tls_key = optarg; break;
        case 'o': g.offer_cert = optarg; break;
        default: usage();
        }
    }
    if (!sip || !g.mrf[0] || optind != argc - 1 || !g.tls_cert != !g.tls_key ||
        split_hostport(sip, g.sip_addr, sizeof(g.sip_addr), &g.sip_port))
        usage();
    FILE *f = fopen(argv[optind], "r");
    if (!f) {
        fprintf(stderr, "cfwas: cannot read %s\n", argv[optind]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    srandom((unsigned)(time(NULL) ^ getpid()));
    snprintf(g.cfw_id, sizeof(g.cfw_id), "as%ld%d", random() % 100000, getpid());
    su_init();
    g.root = su_root_create(NULL);
    char url[160];
    snprintf(url, sizeof(url), "sip:%s:%d;transport=udp", g.sip_addr, g.sip_port);
    const char *u = url;
    g.agent = g.root ? nta_agent_create(g.root, URL_STRING_MAKE(u), NULL, NULL, NTATAG_UA(1),
                                        TAG_END())
                     : NULL;
    if (!g.agent) {
        fprintf(stderr, "cfwas: cannot listen on %s\n", url);
        return 1;
    }
    su_timer_t *ka = su_timer_create(su_root_task(g.root), 500);
    su_timer_run(ka, on_ka_timer, NULL);
    char line[16384];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (!*p || *p == '#')
            continue;
        rc = run_line(p);
    }
    fclose(f);
    printf("result %s\n", rc == 0 ? "ok" : "failed");
    su_timer_destroy(ka);
    if (g.quiet && g.fd >= 0) {
        close(g.fd);
        g.fd = -1;
    }
    tcp_close();
    SSL_CTX_free(g.ctx);
    nta_agent_destroy(g.agent);
    su_root_destroy(g.root);
    su_deinit();
    return rc == 0 ? 0 : 1;
}
