/*
 * ue - a minimal IMS UE for tests: one registration through a P-CSCF with Digest,
 * AKAv1-MD5 or AKAv2-MD5, checking AUTN as a USIM does (MAC, then the sequence number)
 * and re-synchronising with AUTS when the network's SQN is not ahead of its own (TS 33.102
 * 6.3.3, RFC 3310 3.4). sipp cannot do the latter: it never checks the SQN.
 *
 *   ue --proxy HOST:PORT --bind ADDR:PORT --impu URI --impi NAME
 *      (--password PW | --k HEX (--op HEX | --opc HEX) [--sqn HEX]) [--expires N]
 *      [--algorithm AKAv1-MD5|AKAv2-MD5|MD5] [--contacts N] [--instance URN [--reg-id N]]
 *      [--rounds N] [--transport udp|tcp|tls [--ca FILE]] [--stay MS [--message URI]]
 *      [--sec-agree [--require]] [--subscribe] [--unregister]
 *   and, to play the attacker (tests/e2e/test_scscf_trust.sh):
 *      [--answer-impu URI]   answer the challenge in a REGISTER for this other identity
 *      [--no-qop]            answer without qop, nc, cnonce (RFC 2069) though qop was offered
 *      [--digest-uri URI]    answer with this digest uri instead of the Request-URI
 *      [--answer-delay MS]   wait before answering a challenge (the test stops a peer meanwhile)
 *   and for the schemes without a challenge (tests/e2e/test_auth_schemes.sh):
 *      [--no-authorization]  the first REGISTER carries no Authorization header (early IMS,
 *                            NASS-bundled: TS 24.229 5.1.1.2.1 without an ISIM)
 *      [--header "Name: value"]  an extra header in every REGISTER (up to 4), e.g. a forged
 *                            P-Access-Network-Info
 *
 * The first REGISTER carries the Authorization header of TS 24.229 5.1.1.2.1 (username,
 * realm, uri, empty nonce and response), with the algorithm asked for when given. With
 * --contacts N it registers N contacts (ports of --bind and the next ones); --instance
 * adds +sip.instance (and reg-id) to each. A 401 is answered up to --rounds times (3).
 *
 * --transport tls connects to the proxy over TLS (verifying its certificate against --ca)
 * from an ephemeral port; the P-CSCF's requests must come back over that connection.
 * --stay MS keeps the UE after its registration for MS ms: it answers every request with
 * 200 ("request METHOD via PROTO ..."), sends a MESSAGE to URI first when --message is
 * given ("message: STATUS") and, with --subscribe, a SUBSCRIBE to its own reg event
 * ("subscribe: STATUS", "record-route: ..." of its 2xx), which it ends at the end of the
 * stay within the dialog along the route set it learnt ("unsubscribe: STATUS"); then with
 * --unregister de-registers (Expires 0).
 * --sec-agree offers IPsec (RFC 3329, TS 33.203): Security-Client, Supported: sec-agree
 * (--require: Require and Proxy-Require: sec-agree too), and prints the Security-Server of
 * the 401 ("security-server: ...").
 * --ipsec XFRM (UDP; implies --sec-agree --require) does IPsec as a UE: its protected
 * server port is the port of --bind, its client port the next one (bound too); at the 401
 * it installs its four SAs with the tool XFRM (tests/tools/xfrm, the P-CSCF's netlink code)
 * keyed by the CK and IK of the challenge ("ipsec: ..." lines), then sends every request
 * from its client port to the P-CSCF's protected server port with Security-Verify; its SAs
 * are removed at the end. Needs a kernel with ESP (tests/e2e/test_gm_esp.sh).
 *
 * Each step is one line on stdout ("sent REGISTER ...", "got 401 ...", "usim: ...",
 * "got 200 ..."); the exit status is 0 for a final 2xx, 1 for anything else.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "milenage.h"

struct ue {
    su_root_t *root;
    nta_agent_t *agent;
    nta_leg_t *leg;
    const char *proxy, *impu, *impi, *password, *bind, *algorithm;
    const char *answer_impu, *digest_uri, *instance;
    const char *headers[4];
    int nheaders;
    bool no_authorization;
    const char *transport, *ca, *message;
    const char *first_auth;       /* the Authorization of a first REGISTER */
    bool no_qop, sec_agree, require, unregister, unregistering, subscribe;
    const char *xfrm;             /* --ipsec: the tool that installs the SAs */
    uint32_t spi_uc, spi_us;      /* the SPIs of the Security-Client sent last */
    char server[512];             /* the Security-Server of the 401 */
    uint32_t spi_pc, spi_ps;      /* ... its SPIs and ports */
    int port_pc, port_ps;
    bool sha1, aes;               /* ... its algorithms */
    bool protected_;              /* the SAs are installed: requests go over them */
    uint8_t ck[16], ik[16];       /* their keys (to remove them) */
    char sub_call_id[64], sub_to[512], sub_target[256], sub_routes[2048], sub_from[300];
    bool subscribed;
    int stay_ms;
    su_timer_t *stay;
    int expires, contacts, reg_id, max_rounds, answer_delay_ms;
    su_timer_t *delay;            /* the answer waiting for --answer-delay */
    char *pending;                /* its Authorization */
    bool aka;
    uint8_t k[16], opc[16];
    uint64_t sqn_ms;              /* highest SQN this USIM accepted */
    char call_id[64];
    uint32_t cseq;
    int rounds;
    int result;                   /* exit status */
    bool done;
};

static void usage(void)
{
    fprintf(stderr, "usage: ue --proxy HOST:PORT --bind ADDR:PORT --impu URI --impi NAME\n"
                    "          (--password PW | --k HEX (--op HEX|--opc HEX) [--sqn HEX])\n"
                    "          [--expires N] [--algorithm AKAv1-MD5|AKAv2-MD5|MD5]\n"
                    "          [--contacts N] [--instance URN [--reg-id N]] [--rounds N]\n"
                    "          [--answer-impu URI] [--no-qop] [--digest-uri URI]\n"
                    "          [--answer-delay MS] [--transport udp|tcp|tls [--ca FILE]]\n"
                    "          [--stay MS [--message URI]] [--sec-agree [--require]]\n"
                    "          [--subscribe] [--unregister] [--no-authorization]\n"
                    "          [--header 'Name: value']... [--ipsec XFRM-TOOL]\n");
    exit(2);
}

/* The port of --bind */
static int bind_port(const struct ue *ue)
{
    const char *colon = strrchr(ue->bind, ':');
    return colon ? atoi(colon + 1) : 5060;
}

/* The Contact header value: --contacts of them, ports from --bind's upwards */
static void contact_value(const struct ue *ue, char *buf, size_t len)
{
    char host[128];
    snprintf(host, sizeof(host), "%s", ue->bind);
    char *colon = strrchr(host, ':');
    int port = colon ? atoi(colon + 1) : 5060;
    if (colon)
        *colon = '\0';
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < ue->contacts && off < len; i++) {
        bool udp = strcmp(ue->transport, "udp") == 0;
        off += (size_t)snprintf(buf + off, len - off, "%s<sip:ue@%s:%d%s%s>;expires=%d",
                                i ? ", " : "", host, port + i, udp ? "" : ";transport=",
                                udp ? "" : ue->transport,
                                ue->unregistering ? 0 : ue->expires);
        if (ue->instance && off < len)
            off += (size_t)snprintf(buf + off, len - off, ";+sip.instance=\"%s\"",
                                    ue->instance);
        if (ue->instance && ue->reg_id && off < len)
            off += (size_t)snprintf(buf + off, len - off, ";reg-id=%d", ue->reg_id);
    }
}

static void hex_arg(const char *name, const char *v, uint8_t *out, size_t len)
{
    if (!v || ims_hex_decode(v, out, len) != 0) {
        fprintf(stderr, "ue: --%s needs %zu hex bytes\n", name, len);
        exit(2);
    }
}

/* The value of parameter @name in a challenge or NULL (quotes removed, in @home). */
static const char *param(su_home_t *home, msg_param_t const *params, const char *name)
{
    const char *v = msg_params_find(params, name);
    if (!v)
        return NULL;
    return *v == '"' ? msg_unquote_dup(home, v) : v;
}

static int on_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip);
static void stay(struct ue *ue);
static void unsubscribe(struct ue *ue);

static void finish(struct ue *ue, int result)
{
    ue->result = result;
    ue->done = true;
    su_root_break(ue->root);
}

/* ---- --ipsec ---- */

/* The host part of --proxy / --bind (no port) into @buf */
static const char *host_of(const char *hostport, char *buf, size_t len)
{
    snprintf(buf, len, "%s", hostport);
    char *colon = strrchr(buf, ':');
    if (colon)
        *colon = '\0';
    return buf;
}

/* The number of parameter @name of the Security-Server @ss, 0 when none */
static unsigned long ss_param(const sip_security_server_t *ss, const char *name)
{
    const char *v = msg_params_find(ss->sa_params, name);
    return v ? strtoul(v, NULL, 10) : 0;
}

/* Keep what the 401's Security-Server says */
static void keep_server(struct ue *ue, const sip_security_server_t *ss)
{
    msg_header_field_e(ue->server, sizeof(ue->server), (msg_header_t const *)ss, 0);
    ue->spi_pc = (uint32_t)ss_param(ss, "spi-c=");
    ue->spi_ps = (uint32_t)ss_param(ss, "spi-s=");
    ue->port_pc = (int)ss_param(ss, "port-c=");
    ue->port_ps = (int)ss_param(ss, "port-s=");
    const char *alg = msg_params_find(ss->sa_params, "alg=");
    const char *ealg = msg_params_find(ss->sa_params, "ealg=");
    ue->sha1 = alg && strcasecmp(alg, "hmac-sha-1-96") == 0;
    ue->aes = ealg && strcasecmp(ealg, "aes-cbc") == 0;
}

/* Run the xfrm tool for our four SAs (@op "add" or "del"): 0 when each succeeded */
static int ue_sas(struct ue *ue, const char *op, const uint8_t ck[16], const uint8_t ik[16])
{
    char me[64], pc[64], ikx[33], ckx[33], cmd[1024];
    host_of(ue->bind, me, sizeof(me));
    host_of(ue->proxy, pc, sizeof(pc));
    for (int i = 0; i < 16; i++) {
        snprintf(ikx + 2 * i, 3, "%02x", ik[i]);
        snprintf(ckx + 2 * i, 3, "%02x", ck[i]);
    }
    int uc = bind_port(ue) + 1, us = bind_port(ue), rc = 0;
    /* TS 33.203 7.1 from the UE's side: out uc->ps (their spi-s), in ps->uc (our spi-c),
     * in pc->us (our spi-s), out us->pc (their spi-c) */
    const struct { const char *s; int sp; const char *d; int dp; uint32_t spi; const char *dir; }
        sa[4] = { { me, uc, pc, ue->port_ps, ue->spi_ps, "out" },
                  { pc, ue->port_ps, me, uc, ue->spi_uc, "in" },
                  { pc, ue->port_pc, me, us, ue->spi_us, "in" },
                  { me, us, pc, ue->port_pc, ue->spi_pc, "out" } };
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof(cmd), "%s %s %s:%d %s:%d %u %s %s %s %s %s", ue->xfrm, op, sa[i].s,
                 sa[i].sp, sa[i].d, sa[i].dp, sa[i].spi, sa[i].dir, ue->sha1 ? "sha1" : "md5",
                 ue->aes ? "aes" : "null", ikx, ckx);
        int r = system(cmd);
        printf("ipsec: %s %s:%d -> %s:%d spi %u %s: %s\n", op, sa[i].s, sa[i].sp, sa[i].d,
               sa[i].dp, sa[i].spi, sa[i].dir, r == 0 ? "ok" : "failed");
        rc |= r;
    }
    return rc ? -1 : 0;
}

/* Where our requests go: the P-CSCF's protected server port from our client port once the
 * SAs are in, else --proxy (@tp: the transport to send through, or NULL) */
static const char *request_target(struct ue *ue, char *buf, size_t len, tport_t **tp)
{
    *tp = NULL;
    if (!ue->protected_) {
        snprintf(buf, len, "sip:%s;transport=%s", ue->proxy, ue->transport);
        return buf;
    }
    char host[64];
    snprintf(buf, len, "sip:%s:%d;transport=udp", host_of(ue->proxy, host, sizeof(host)),
             ue->port_ps);
    char want[16];
    snprintf(want, sizeof(want), "%d", bind_port(ue) + 1);
    for (tport_t *t = tport_primaries(nta_agent_tports(ue->agent)); t; t = tport_next(t))
        if (tport_name(t)->tpn_port && strcmp(tport_name(t)->tpn_port, want) == 0)
            *tp = t;
    return buf;
}

/* Send the REGISTER, with @authorization when given. */
static void send_register(struct ue *ue, const char *authorization)
{
    char ruri[256], contact[4096], cseq[32], proxy[160], from[300], expires[16];
    const char *domain = strchr(ue->impu, '@');
    /* the attacker's answer goes in a REGISTER for another identity */
    const char *to = authorization && ue->rounds && ue->answer_impu ? ue->answer_impu
                                                                    : ue->impu;
    snprintf(ruri, sizeof(ruri), "sip:%s", domain ? domain + 1 : ue->impu);
    contact_value(ue, contact, sizeof(contact));
    snprintf(expires, sizeof(expires), "%d", ue->unregistering ? 0 : ue->expires);
    snprintf(cseq, sizeof(cseq), "%u REGISTER", ++ue->cseq);
    tport_t *tp;
    request_target(ue, proxy, sizeof(proxy), &tp);
    /* sec-agree: our SPIs and protected ports (those of --bind and the next one); the
     * protected REGISTER repeats the offer its SAs were made of */
    char secc[256];
    if (!ue->protected_) {
        ue->spi_uc = 11111u + ue->cseq;
        ue->spi_us = 22222u + ue->cseq;
    }
    snprintf(secc, sizeof(secc), "ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;prot=esp;mod=trans;"
             "spi-c=%u;spi-s=%u;port-c=%d;port-s=%d", ue->spi_uc, ue->spi_us,
             bind_port(ue) + 1, bind_port(ue));
    snprintf(from, sizeof(from), "<%s>;tag=ue%u", to, (unsigned)ue->cseq * 7919u);
    /* over SAs, a first REGISTER (re- or de-registration) makes no new offer: this UE keeps
     * the SAs it has; the answer to a challenge repeats the offer (TS 24.229 5.1.1.5.1) */
    bool offer = ue->sec_agree && (!ue->protected_ || authorization != ue->first_auth);
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        ue->leg, on_answer, (nta_outgoing_magic_t *)ue, (url_string_t *)proxy,
        SIP_METHOD_REGISTER, (url_string_t *)ruri, SIPTAG_FROM_STR(from),
        SIPTAG_TO_STR(to), SIPTAG_CALL_ID_STR(ue->call_id), SIPTAG_CSEQ_STR(cseq),
        SIPTAG_CONTACT_STR(contact), SIPTAG_EXPIRES_STR(expires),
        SIPTAG_SUPPORTED_STR(ue->sec_agree ? "path, sec-agree" : "path"),
        TAG_IF(offer, SIPTAG_SECURITY_CLIENT_STR(secc)),
        TAG_IF(ue->require, SIPTAG_REQUIRE_STR("sec-agree")),
        TAG_IF(ue->require, SIPTAG_PROXY_REQUIRE_STR("sec-agree")),
        TAG_IF(authorization, SIPTAG_AUTHORIZATION_STR(authorization)),
        TAG_IF(ue->protected_, SIPTAG_SECURITY_VERIFY_STR(ue->server)),
        TAG_IF(tp, NTATAG_TPORT(tp)),
        TAG_IF(ue->nheaders > 0, SIPTAG_HEADER_STR(ue->headers[0])),
        TAG_IF(ue->nheaders > 1, SIPTAG_HEADER_STR(ue->headers[1])),
        TAG_IF(ue->nheaders > 2, SIPTAG_HEADER_STR(ue->headers[2])),
        TAG_IF(ue->nheaders > 3, SIPTAG_HEADER_STR(ue->headers[3])), TAG_END());
    if (!orq) {
        printf("error: cannot send the REGISTER\n");
        finish(ue, 1);
        return;
    }
    printf("sent REGISTER cseq=%u to=%s\n", ue->cseq, to);
}

/* Build the Authorization header for a challenge; NULL when the UE must give up. */
static char *answer(struct ue *ue, su_home_t *home, const sip_www_authenticate_t *ch)
{
    const char *realm = param(home, ch->au_params, "realm=");
    const char *nonce = param(home, ch->au_params, "nonce=");
    const char *alg = param(home, ch->au_params, "algorithm=");
    const char *qop = param(home, ch->au_params, "qop=");
    if (!realm || !nonce) {
        printf("error: challenge without realm or nonce\n");
        return NULL;
    }
    if (!alg)
        alg = "MD5";
    printf("got 401 algorithm=%s\n", alg);

    const uint8_t *pwd = (const uint8_t *)ue->password;
    size_t pwd_len = ue->password ? strlen(ue->password) : 0;
    uint8_t res[8], ck[16], ik[16];
    char v2[64], auts_b64[32] = "";
    bool akav1 = strcasecmp(alg, "AKAv1-MD5") == 0, akav2 = strcasecmp(alg, "AKAv2-MD5") == 0;
    if (akav1 || akav2) {
        uint8_t n[64];
        uint64_t sqn;
        if (!ue->aka) {
            printf("error: an AKA challenge but this UE has no K\n");
            return NULL;
        }
        if (ims_base64_decode(nonce, n, sizeof(n)) < 32) {
            printf("error: the AKA nonce is not base64 of RAND|AUTN\n");
            return NULL;
        }
        if (ims_aka_ue_check(ue->k, ue->opc, n, n + 16, &sqn, res, ck, ik) != 0) {
            printf("usim: MAC failure: the network is not authentic\n");
            return NULL;
        }
        if (sqn <= ue->sqn_ms) {
            uint8_t auts[14];
            ims_aka_auts_make(ue->k, ue->opc, n, ue->sqn_ms, auts);
            ims_base64_encode(auts, sizeof(auts), auts_b64, sizeof(auts_b64));
            printf("usim: sqn %llu not above %llu: synchronisation failure, auts=%s\n",
                   (unsigned long long)sqn, (unsigned long long)ue->sqn_ms, auts_b64);
            pwd_len = 0;                       /* RFC 3310 3.4: an empty password */
        } else {
            printf("usim: sqn %llu accepted\n", (unsigned long long)sqn);
            ue->sqn_ms = sqn;
            if (ue->xfrm && ue->server[0] && !ue->protected_) {
                if (ue_sas(ue, "add", ck, ik) != 0) {
                    printf("error: the UE's SAs cannot be installed\n");
                    return NULL;
                }
                memcpy(ue->ck, ck, 16);
                memcpy(ue->ik, ik, 16);
                ue->protected_ = true;
            }
            if (akav1) {
                pwd = res;
                pwd_len = sizeof(res);
            } else {
                ims_aka_v2_password(res, sizeof(res), ik, ck, v2, sizeof(v2));
                pwd = (const uint8_t *)v2;
                pwd_len = strlen(v2);
            }
        }
    } else if (!ue->password) {
        printf("error: a Digest challenge but this UE has no password\n");
        return NULL;
    }

    char ha1[IMS_MD5_HEX], resp[IMS_MD5_HEX], uri[256], cnonce[17];
    const char *domain = strchr(ue->impu, '@');
    snprintf(uri, sizeof(uri), "sip:%s", domain ? domain + 1 : ue->impu);
    if (ue->digest_uri)
        snprintf(uri, sizeof(uri), "%s", ue->digest_uri);
    snprintf(cnonce, sizeof(cnonce), "%08x%08x", (unsigned)random(), (unsigned)random());
    bool auth = qop && strstr(qop, "auth") != NULL && !ue->no_qop;
    ims_digest_ha1(ue->impi, realm, pwd_len ? pwd : (const uint8_t *)"", pwd_len, ha1);
    ims_digest_response(ha1, nonce, auth ? "00000001" : NULL, auth ? cnonce : NULL,
                        auth ? "auth" : NULL, "REGISTER", uri, NULL, 0, resp);
    char q[80] = "", a[48] = "";
    if (auth)
        snprintf(q, sizeof(q), ", qop=auth, nc=00000001, cnonce=\"%s\"", cnonce);
    if (auts_b64[0])
        snprintf(a, sizeof(a), ", auts=\"%s\"", auts_b64);
    return su_sprintf(home,
                      "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                      "response=\"%s\", algorithm=%s%s%s",
                      ue->impi, realm, nonce, uri, resp, alg, q, a);
}

static void on_delay(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct ue *ue = (struct ue *)arg;
    (void)magic;
    (void)t;
    printf("answering now\n");
    send_register(ue, ue->pending);
    free(ue->pending);
    ue->pending = NULL;
}

/* Send the answer @a now, or after --answer-delay */
static void send_answer(struct ue *ue, const char *a)
{
    if (ue->answer_delay_ms <= 0) {
        send_register(ue, a);
        return;
    }
    free(ue->pending);
    ue->pending = strdup(a);
    if (!ue->delay)
        ue->delay = su_timer_create(su_root_task(ue->root), (su_duration_t)ue->answer_delay_ms);
    if (!ue->pending || !ue->delay ||
        su_timer_set(ue->delay, on_delay, (su_timer_arg_t *)ue) < 0) {
        printf("error: cannot wait before answering\n");
        finish(ue, 1);
        return;
    }
    printf("answer in %d ms\n", ue->answer_delay_ms);
}

/* The end of --stay: de-register (--unregister) or finish */
static void on_stay_end(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct ue *ue = (struct ue *)arg;
    (void)magic;
    (void)t;
    if (ue->subscribed) {
        ue->subscribed = false;
        unsubscribe(ue);
        return;
    }
    if (!ue->unregister) {
        finish(ue, 0);
        return;
    }
    ue->unregistering = true;
    ue->rounds = 0;
    send_register(ue, ue->first_auth);
}

static int on_message_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                             const sip_t *sip)
{
    (void)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    printf("message: %d\n", status);
    nta_outgoing_destroy(orq);
    return 0;
}

static void on_stay_end(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg);

static int on_subscribe_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                               const sip_t *sip)
{
    struct ue *ue = (struct ue *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    bool first = !ue->sub_to[0] || !strchr(ue->sub_to, ';');
    printf("%s: %d\n", first ? "subscribe" : "unsubscribe", status);
    if (first && status < 300 && sip && sip->sip_to && sip->sip_contact) {
        /* the dialog: To with its tag, the remote target, the route set (RFC 3261 12.1.2:
         * the Record-Route upside down) */
        char rr[2048] = "", one[512];
        const sip_record_route_t *v[16];
        int n = 0;
        for (const sip_record_route_t *r = sip->sip_record_route; r && n < 16; r = r->r_next)
            v[n++] = r;
        for (int i = n - 1; i >= 0; i--) {
            url_e(one, sizeof(one), v[i]->r_url);
            snprintf(rr + strlen(rr), sizeof(rr) - strlen(rr), "%s<%s>", rr[0] ? ", " : "",
                     one);
        }
        printf("record-route: %s\n", rr);
        snprintf(ue->sub_routes, sizeof(ue->sub_routes), "%s", rr);
        msg_header_field_e(ue->sub_to, sizeof(ue->sub_to), (msg_header_t const *)sip->sip_to,
                           0);
        url_e(ue->sub_target, sizeof(ue->sub_target), sip->sip_contact->m_url);
        ue->subscribed = true;
    } else if (!first) {
        ue->subscribed = false;
        on_stay_end(NULL, NULL, (su_timer_arg_t *)ue);
    }
    nta_outgoing_destroy(orq);
    return 0;
}

/* SUBSCRIBE to our own reg event (a dialog-forming request that the S-CSCF answers) */
static void subscribe(struct ue *ue)
{
    char proxy[200];
    snprintf(proxy, sizeof(proxy), "sip:%s;transport=%s", ue->proxy, ue->transport);
    snprintf(ue->sub_from, sizeof(ue->sub_from), "<%s>;tag=s%u", ue->impu, (unsigned)random());
    snprintf(ue->sub_call_id, sizeof(ue->sub_call_id), "sub-%08lx", random());
    snprintf(ue->sub_to, sizeof(ue->sub_to), "<%s>", ue->impu);
    char contact[256];
    bool udp = strcmp(ue->transport, "udp") == 0;
    snprintf(contact, sizeof(contact), "<sip:ue@%s%s%s>", ue->bind, udp ? "" : ";transport=",
             udp ? "" : ue->transport);
    if (!nta_outgoing_tcreate(ue->leg, on_subscribe_answer, (nta_outgoing_magic_t *)ue,
                              (url_string_t *)proxy, SIP_METHOD_SUBSCRIBE,
                              (url_string_t *)ue->impu, SIPTAG_FROM_STR(ue->sub_from),
                              SIPTAG_TO_STR(ue->sub_to), SIPTAG_CALL_ID_STR(ue->sub_call_id),
                              SIPTAG_CSEQ_STR("1 SUBSCRIBE"), SIPTAG_CONTACT_STR(contact),
                              SIPTAG_EVENT_STR("reg"), SIPTAG_EXPIRES_STR("600"),
                              SIPTAG_ACCEPT_STR("application/reginfo+xml"), TAG_END()))
        printf("error: cannot send the SUBSCRIBE\n");
}

/* The SUBSCRIBE with Expires 0 within the dialog, along its route set */
static void unsubscribe(struct ue *ue)
{
    const char *first = ue->sub_routes;
    char hop[512] = "";
    if (*first == '<') {
        const char *end = strchr(first, '>');
        if (end && (size_t)(end - first - 1) < sizeof(hop))
            memcpy(hop, first + 1, (size_t)(end - first - 1));
    }
    if (!hop[0] || !nta_outgoing_tcreate(
                       ue->leg, on_subscribe_answer, (nta_outgoing_magic_t *)ue,
                       (url_string_t *)hop, SIP_METHOD_SUBSCRIBE,
                       (url_string_t *)ue->sub_target, SIPTAG_FROM_STR(ue->sub_from),
                       SIPTAG_TO_STR(ue->sub_to), SIPTAG_CALL_ID_STR(ue->sub_call_id),
                       SIPTAG_CSEQ_STR("2 SUBSCRIBE"), SIPTAG_ROUTE_STR(ue->sub_routes),
                       SIPTAG_EVENT_STR("reg"), SIPTAG_EXPIRES_STR("0"), TAG_END())) {
        printf("error: cannot send the un-SUBSCRIBE\n");
        on_stay_end(NULL, NULL, (su_timer_arg_t *)ue);
    }
}

/* Registered: stay --stay ms answering requests; send the --message first */
static void stay(struct ue *ue)
{
    printf("staying %d ms\n", ue->stay_ms);
    if (ue->subscribe)
        subscribe(ue);
    if (ue->message) {
        char proxy[200];
        tport_t *tp;
        request_target(ue, proxy, sizeof(proxy), &tp);
        char from[300];
        snprintf(from, sizeof(from), "<%s>;tag=m%u", ue->impu, (unsigned)random());
        nta_outgoing_t *orq = nta_outgoing_tcreate(
            ue->leg, on_message_answer, NULL, (url_string_t *)proxy, SIP_METHOD_MESSAGE,
            (url_string_t *)ue->message, SIPTAG_FROM_STR(from), SIPTAG_TO_STR(ue->message),
            SIPTAG_CONTENT_TYPE_STR("text/plain"), SIPTAG_PAYLOAD_STR("hello over the flow"),
            TAG_IF(tp, NTATAG_TPORT(tp)), TAG_END());
        if (!orq)
            printf("error: cannot send the MESSAGE\n");
    }
    ue->stay = su_timer_create(su_root_task(ue->root), (su_duration_t)ue->stay_ms);
    if (!ue->stay || su_timer_set(ue->stay, on_stay_end, (su_timer_arg_t *)ue) < 0)
        finish(ue, 1);
}

/* A request to this UE (not in a dialog of ours): printed with the transport it came on,
 * answered 200 */
static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                      const sip_t *sip)
{
    struct ue *ue = (struct ue *)magic;
    (void)leg;
    tport_t *tp = nta_incoming_transport(ue->agent, irq, NULL);
    const tp_name_t *n = tp ? tport_name(tp) : NULL;
    printf("request %s via %s from %s:%s\n", sip->sip_request->rq_method_name,
           n && n->tpn_proto ? n->tpn_proto : "?", n && n->tpn_host ? n->tpn_host : "?",
           n && n->tpn_port ? n->tpn_port : "?");
    tport_unref(tp);
    /* the sender's address and port, as the socket saw them ("via" names the transport's
     * own for UDP) */
    msg_t *req = nta_incoming_getrequest(irq);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    char host[64] = "?";
    unsigned port = 0;
    if (ai && ai->ai_addr && ai->ai_addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
    }
    printf("request %s source %s:%u\n", sip->sip_request->rq_method_name, host, port);
    if (req)
        msg_destroy(req);
    return sip->sip_request->rq_method == sip_method_ack ? 0 : 200;
}

/* A final answer to our REGISTER (@sip NULL when none came) */
static void on_final(struct ue *ue, int status, const sip_t *sip)
{
    if (status == 401 && sip && sip->sip_warning)
        printf("warning: %s\n", sip->sip_warning->w_text);
    if (sip && sip->sip_security_server) {
        char buf[512];
        msg_header_field_e(buf, sizeof(buf), (msg_header_t const *)sip->sip_security_server, 0);
        printf("security-server: %s\n", buf);
        if (ue->xfrm && !ue->protected_)
            keep_server(ue, sip->sip_security_server);
    }
    if (status == 401 && sip && sip->sip_www_authenticate && ++ue->rounds <= ue->max_rounds) {
        su_home_t home[1] = { SU_HOME_INIT(home) };
        char *a = answer(ue, home, sip->sip_www_authenticate);
        if (a)
            send_answer(ue, a);
        else
            finish(ue, 1);
        su_home_deinit(home);
        return;
    }
    printf("got %d %s\n", status, sip && sip->sip_status ? sip->sip_status->st_phrase : "");
    if (sip && sip->sip_warning)
        printf("warning: %s\n", sip->sip_warning->w_text);
    if (sip && sip->sip_retry_after)
        printf("retry-after: %lu\n", (unsigned long)sip->sip_retry_after->af_delta);
    if (status < 300 && sip) {
        char buf[512];
        if (sip->sip_service_route) {
            msg_header_field_e(buf, sizeof(buf), (msg_header_t const *)sip->sip_service_route, 0);
            printf("service-route: %s\n", buf);
        }
        for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
            if (strcasecmp(u->un_name, "P-Associated-URI") == 0)
                printf("p-associated-uri: %s\n", u->un_value);
        if (sip->sip_contact && sip->sip_contact->m_expires)
            printf("contact-expires: %s\n", sip->sip_contact->m_expires);
        for (const sip_contact_t *m = sip->sip_contact; m; m = m->m_next)
            printf("contact: " URL_PRINT_FORMAT "\n", URL_PRINT_ARGS(m->m_url));
    }
    if (status < 300 && ue->stay_ms > 0 && !ue->unregistering) {
        stay(ue);
        return;
    }
    finish(ue, status < 300 ? 0 : 1);
}

/* The response (@sip) belongs to the transaction: it is read before the transaction goes */
static int on_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    struct ue *ue = (struct ue *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    on_final(ue, status, sip);
    nta_outgoing_destroy(orq);
    return 0;
}

/* sofia-sip reads the CA of a TLS transport as cafile.pem in a folder: a private one */
static bool ca_folder(const char *ca, char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/ue-tls.XXXXXX");
    if (!mkdtemp(dir))
        return false;
    char path[128], buf[4096];
    snprintf(path, sizeof(path), "%s/cafile.pem", dir);
    FILE *in = fopen(ca, "r"), *out = fopen(path, "w");
    size_t n;
    bool ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = false;
    return ok;
}

static void ca_folder_remove(const char *dir)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/cafile.pem", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "proxy", required_argument, NULL, 'P' }, { "bind", required_argument, NULL, 'b' },
        { "impu", required_argument, NULL, 'u' }, { "impi", required_argument, NULL, 'i' },
        { "password", required_argument, NULL, 'p' }, { "k", required_argument, NULL, 'k' },
        { "op", required_argument, NULL, 'o' }, { "opc", required_argument, NULL, 'c' },
        { "sqn", required_argument, NULL, 's' }, { "expires", required_argument, NULL, 'e' },
        { "algorithm", required_argument, NULL, 'a' },
        { "contacts", required_argument, NULL, 'C' }, { "instance", required_argument, NULL, 'I' },
        { "reg-id", required_argument, NULL, 'R' }, { "rounds", required_argument, NULL, 'r' },
        { "answer-impu", required_argument, NULL, 'A' },
        { "digest-uri", required_argument, NULL, 'U' }, { "no-qop", no_argument, NULL, 'Q' },
        { "answer-delay", required_argument, NULL, 'D' },
        { "no-authorization", no_argument, NULL, 'N' },
        { "header", required_argument, NULL, 'H' },
        { "transport", required_argument, NULL, 'T' }, { "ca", required_argument, NULL, 'K' },
        { "stay", required_argument, NULL, 'S' }, { "message", required_argument, NULL, 'M' },
        { "sec-agree", no_argument, NULL, 'G' }, { "require", no_argument, NULL, 'q' },
        { "unregister", no_argument, NULL, 'X' }, { "subscribe", no_argument, NULL, 'B' },
        { "ipsec", required_argument, NULL, 'Z' },
        { NULL, 0, NULL, 0 },
    };
    struct ue ue = { .expires = 600, .result = 1, .contacts = 1, .max_rounds = 3,
                     .transport = "udp" };
    const char *k_s = NULL, *op_s = NULL, *opc_s = NULL, *sqn_s = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'P': ue.proxy = optarg; break;
        case 'b': ue.bind = optarg; break;
        case 'u': ue.impu = optarg; break;
        case 'i': ue.impi = optarg; break;
        case 'p': ue.password = optarg; break;
        case 'k': k_s = optarg; break;
        case 'o': op_s = optarg; break;
        case 'c': opc_s = optarg; break;
        case 's': sqn_s = optarg; break;
        case 'e': ue.expires = atoi(optarg); break;
        case 'a': ue.algorithm = optarg; break;
        case 'C': ue.contacts = atoi(optarg); break;
        case 'I': ue.instance = optarg; break;
        case 'R': ue.reg_id = atoi(optarg); break;
        case 'r': ue.max_rounds = atoi(optarg); break;
        case 'A': ue.answer_impu = optarg; break;
        case 'U': ue.digest_uri = optarg; break;
        case 'Q': ue.no_qop = true; break;
        case 'D': ue.answer_delay_ms = atoi(optarg); break;
        case 'N': ue.no_authorization = true; break;
        case 'H':
            if (ue.nheaders == 4)
                usage();
            ue.headers[ue.nheaders++] = optarg;
            break;
        case 'T': ue.transport = optarg; break;
        case 'K': ue.ca = optarg; break;
        case 'S': ue.stay_ms = atoi(optarg); break;
        case 'M': ue.message = optarg; break;
        case 'G': ue.sec_agree = true; break;
        case 'q': ue.require = true; break;
        case 'X': ue.unregister = true; break;
        case 'B': ue.subscribe = true; break;
        case 'Z': ue.xfrm = optarg; ue.sec_agree = ue.require = true; break;
        default: usage();
        }
    }
    if (!ue.proxy || !ue.bind || !ue.impu || !ue.impi || (!ue.password && !k_s) ||
        ue.contacts < 1 || ue.contacts > 64 ||
        (strcmp(ue.transport, "udp") && strcmp(ue.transport, "tcp") &&
         strcmp(ue.transport, "tls")) || (strcmp(ue.transport, "tls") == 0 && !ue.ca) ||
        (ue.xfrm && strcmp(ue.transport, "udp") != 0))
        usage();
    if (k_s) {
        ue.aka = true;
        hex_arg("k", k_s, ue.k, 16);
        if (opc_s) {
            hex_arg("opc", opc_s, ue.opc, 16);
        } else {
            uint8_t op[16];
            hex_arg("op", op_s, op, 16);
            ims_milenage_opc(ue.k, op, ue.opc);
        }
        if (sqn_s) {
            uint8_t b[6];
            hex_arg("sqn", sqn_s, b, 6);
            ue.sqn_ms = ims_sqn_from_bytes(b);
        }
    }
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(ue.call_id, sizeof(ue.call_id), "ue-%08lx%08lx", random(), random());
    setvbuf(stdout, NULL, _IOLBF, 0);

    su_init();
    ue.root = su_root_create(NULL);
    char local[160], dir[64] = "";
    bool tls = strcmp(ue.transport, "tls") == 0;
    snprintf(local, sizeof(local), "%s:%s;transport=%s", tls ? "sips" : "sip", ue.bind,
             ue.transport);
    if (tls && !ca_folder(ue.ca, dir, sizeof(dir))) {
        fprintf(stderr, "ue: cannot read the CA %s\n", ue.ca);
        return 1;
    }
    ue.agent = ue.root ? nta_agent_create(ue.root, (url_string_t *)local, NULL, NULL,
                                          NTATAG_UA(1), NTATAG_CLIENT_RPORT(1),
                                          TAG_IF(tls, TPTAG_CERTIFICATE(dir)),
                                          TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_OUT)),
                                          TAG_END())
                       : NULL;
    if (tls)
        ca_folder_remove(dir);
    if (!ue.agent) {
        fprintf(stderr, "ue: cannot bind %s\n", local);
        return 1;
    }
    if (ue.xfrm) {   /* our protected client port, beside the server port of --bind */
        char uc[160], host[64];
        snprintf(uc, sizeof(uc), "sip:%s:%d;transport=udp", host_of(ue.bind, host,
                                                                     sizeof(host)),
                 bind_port(&ue) + 1);
        if (nta_agent_add_tport(ue.agent, (url_string_t *)uc, TAG_END()) != 0) {
            fprintf(stderr, "ue: cannot bind %s\n", uc);
            return 1;
        }
    }
    ue.leg = nta_leg_tcreate(ue.agent, on_request, (nta_leg_magic_t *)&ue, NTATAG_NO_DIALOG(1),
                             TAG_END());
    const char *domain = strchr(ue.impu, '@');
    domain = domain ? domain + 1 : ue.impu;
    char first[512];
    snprintf(first, sizeof(first),
             "Digest username=\"%s\", realm=\"%s\", uri=\"sip:%s\", nonce=\"\", "
             "response=\"\"%s%s",
             ue.impi, domain, domain, ue.algorithm ? ", algorithm=" : "",
             ue.algorithm ? ue.algorithm : "");
    ue.first_auth = ue.no_authorization ? NULL : first;
    send_register(&ue, ue.first_auth);
    if (!ue.done)
        su_root_run(ue.root);
    if (ue.delay)
        su_timer_destroy(ue.delay);
    if (ue.stay)
        su_timer_destroy(ue.stay);
    free(ue.pending);
    if (ue.protected_)
        ue_sas(&ue, "del", ue.ck, ue.ik);
    nta_leg_destroy(ue.leg);
    nta_agent_destroy(ue.agent);
    su_root_destroy(ue.root);
    su_deinit();
    return ue.result;
}
