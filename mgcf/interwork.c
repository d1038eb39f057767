/*
 * interwork.c - SIP <-> ISUP call set-up parameters and the SDP of the MGCF (see
 * interwork.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "interwork.h"
#include "sdp_guard.h"
#include "sip_hdr.h"

#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

/* ---- numbers ---- */

/* "+1-999-555-0100" -> "19995550100"; visual separators of RFC 3966 dropped */
static int global_digits(const char *s, size_t n, char *out, size_t len)
{
    size_t k = 0;
    if (n < 2 || s[0] != '+')
        return -EINVAL;
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];
        if (ch == '-' || ch == '.' || ch == '(' || ch == ')')
            continue;
        if (ch < '0' || ch > '9')
            return -EINVAL;
        if (k + 1 >= len || k >= MGCF_E164_MAX)
            return -E2BIG;
        out[k++] = ch;
    }
    if (k == 0)
        return -EINVAL;
    out[k] = '\0';
    return 0;
}

int mgcf_iw_e164_of(const url_t *u, char *digits, size_t len)
{
    const char *s = NULL;
    if (!u)
        return -EINVAL;
    if (u->url_type == url_tel)       /* sofia-sip keeps the number as the user part */
        s = u->url_user ? u->url_user : u->url_host;
    else if (u->url_type == url_sip || u->url_type == url_sips)
        s = u->url_user;
    if (!s)
        return -EINVAL;
    return global_digits(s, strlen(s), digits, len);
}

bool mgcf_iw_privacy_restricted(const sip_t *sip)
{
    const sip_privacy_t *p = sip->sip_privacy;
    for (const msg_param_t *v = p ? p->priv_values : NULL; v && *v; v++)
        if (strcasecmp(*v, "id") == 0 || strcasecmp(*v, "header") == 0 ||
            strcasecmp(*v, "user") == 0)
            return true;
    return false;
}

/* Calling party's category <-> the cpc URI parameter (TS 24.229 7.2A.12, RFC 4904) */
static const struct {
    uint8_t cpc;
    const char *name;
} cpc_names[] = {
    { 0x01, "operator" }, { ISUP_CPC_PRIORITY, "priority" }, { ISUP_CPC_DATA, "datacall" },
    { ISUP_CPC_TEST, "test" }, { ISUP_CPC_PAYPHONE, "payphone" },
};

static uint8_t cpc_of(const url_t *u)
{
    char v[32];
    if (!u || !u->url_params || ims_url_param(u->url_params, "cpc", v, sizeof(v)) == 0)
        return ISUP_CPC_ORDINARY;
    for (size_t i = 0; i < sizeof(cpc_names) / sizeof(cpc_names[0]); i++)
        if (strcasecmp(v, cpc_names[i].name) == 0)
            return cpc_names[i].cpc;
    return ISUP_CPC_ORDINARY;
}

static const char *cpc_name(uint8_t cpc)
{
    if (cpc >= 0x01 && cpc <= 0x05)
        return "operator";
    for (size_t i = 0; i < sizeof(cpc_names) / sizeof(cpc_names[0]); i++)
        if (cpc_names[i].cpc == cpc)
            return cpc_names[i].name;
    return NULL;
}

/* The calling party number from the first asserted identity that is a number */
static void calling_of(const sip_t *invite, struct mgcf_isup_msg *iam)
{
    struct mgcf_isup_number *n = &iam->calling;
    n->npi = ISUP_NPI_ISDN;
    n->si = ISUP_SI_NETWORK;
    iam->cpc = ISUP_CPC_ORDINARY;
    for (const sip_p_asserted_identity_t *p = sip_p_asserted_identity(invite); p;
         p = p->paid_next) {
        if (mgcf_iw_e164_of(p->paid_url, n->digits, sizeof(n->digits)) == 0) {
            n->nai = ISUP_NAI_INTERNATIONAL;
            n->apri = mgcf_iw_privacy_restricted(invite) ? ISUP_APRI_RESTRICTED
                                                         : ISUP_APRI_ALLOWED;
            iam->cpc = cpc_of(p->paid_url);
            return;
        }
    }
    n->digits[0] = '\0';
    n->nai = 0;
    n->apri = ISUP_APRI_NOT_AVAILABLE;
}

int mgcf_iw_iam_from_invite(const sip_t *invite, struct mgcf_isup_msg *iam, char *why,
                            size_t len)
{
    const url_t *ruri = invite->sip_request ? invite->sip_request->rq_url : NULL;
    uint16_t cic = iam->cic;
    mgcf_isup_init(iam, ISUP_IAM, cic);
    int rc = mgcf_iw_e164_of(ruri, iam->called.digits, sizeof(iam->called.digits));
    if (rc == -E2BIG) {
        snprintf(why, len, "the called number has more than %d digits", MGCF_E164_MAX);
        return 484;
    }
    if (rc) {
        snprintf(why, len, "the Request-URI is no E.164 number (tel:+... or sip:+...)");
        return 404;
    }
    iam->called.nai = ISUP_NAI_INTERNATIONAL;
    iam->called.npi = ISUP_NPI_ISDN;
    iam->called.inn_ni = ISUP_INN_NOT_ALLOWED;
    calling_of(invite, iam);
    iam->fci.interworking = 1;
    iam->fci.isup_all_the_way = 0;
    iam->fci.isup_preference = 0;
    iam->fci.isdn_access = 0;
    iam->tmr = ISUP_TMR_3_1KHZ;
    iam->present = ISUP_BIT(ISUP_PAR_NCI) | ISUP_BIT(ISUP_PAR_FCI) | ISUP_BIT(ISUP_PAR_CPC) |
                   ISUP_BIT(ISUP_PAR_TMR) | ISUP_BIT(ISUP_PAR_CALLED) |
                   ISUP_BIT(ISUP_PAR_CALLING);
    return 0;
}

/* The international form of @n (digits, ST dropped) into "+..."; -EINVAL when not digits */
static int international(const struct mgcf_isup_number *n, const struct mgcf_iw_conf *conf,
                         char *out, size_t len)
{
    char d[MGCF_ISUP_DIGITS_MAX + 1];
    size_t k = strlen(n->digits);
    snprintf(d, sizeof(d), "%s", n->digits);
    if (k && (d[k - 1] == 'F' || d[k - 1] == 'f'))
        d[--k] = '\0';                  /* ST: end of pulsing */
    if (k == 0 || strspn(d, "0123456789") != k)
        return -EINVAL;
    const char *cc = n->nai == ISUP_NAI_INTERNATIONAL ? "" : conf->country_code;
    if (strlen(cc) + k > MGCF_E164_MAX)
        return -EINVAL;
    snprintf(out, len, "+%s%s", cc, d);
    return 0;
}

int mgcf_iw_invite_from_iam(const struct mgcf_isup_msg *iam, const struct mgcf_iw_conf *conf,
                            struct mgcf_iw_origin *out, char *why, size_t len)
{
    char called[24], calling[24];
    memset(out, 0, sizeof(*out));
    if (international(&iam->called, conf, called, sizeof(called)) != 0) {
        snprintf(why, len, "the called number '%s' is not a number of at most %d digits",
                 iam->called.digits, MGCF_E164_MAX);
        return 28;
    }
    snprintf(out->request_uri, sizeof(out->request_uri), "tel:%s", called);
    snprintf(out->to, sizeof(out->to), "<tel:%s>", called);
    snprintf(out->from, sizeof(out->from),
             "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
    const struct mgcf_isup_number *n = &iam->calling;
    if (!mgcf_isup_has(iam, ISUP_PAR_CALLING) || n->apri == ISUP_APRI_NOT_AVAILABLE ||
        international(n, conf, calling, sizeof(calling)) != 0)
        return 0;                       /* no number: anonymous, nothing asserted */
    bool allowed = n->apri == ISUP_APRI_ALLOWED;
    if (allowed)
        snprintf(out->from, sizeof(out->from), "<tel:%s>", calling);
    if (n->si == ISUP_SI_NETWORK || n->si == ISUP_SI_USER_PASSED) {
        const char *cpc = mgcf_isup_has(iam, ISUP_PAR_CPC) ? cpc_name(iam->cpc) : NULL;
        snprintf(out->pai, sizeof(out->pai), "<tel:%s%s%s>", calling, cpc ? ";cpc=" : "",
                 cpc ? cpc : "");
        out->privacy = !allowed;
    }
    return 0;
}

/* ---- SDP ---- */

static bool g711(int pt)
{
    return pt == 0 || pt == 8;
}

/* The stream's IPv4 address, numeric (the MGW's Remote descriptor takes it as it is: no
 * host name, no H.248 "$"), or NULL */
static const char *connection_of(const sdp_session_t *s, const sdp_media_t *m)
{
    const sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
    struct in_addr a;
    if (!c || c->c_nettype != sdp_net_in || c->c_addrtype != sdp_addr_ip4 || !c->c_address ||
        inet_pton(AF_INET, c->c_address, &a) != 1)
        return NULL;
    return c->c_address;
}

static int media_of(const sdp_session_t *s, struct mgcf_iw_media *out)
{
    for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next) {
        if (m->m_type != sdp_media_audio || m->m_proto != sdp_proto_rtp)
            continue;
        if (m->m_port == 0 || m->m_rejected)
            return -ENOTSUP;
        if (m->m_port > 65535)              /* sofia-sip reads any unsigned */
            return -EINVAL;
        const char *addr = connection_of(s, m);
        if (!addr || strlen(addr) >= sizeof(out->addr))
            return -EINVAL;
        size_t k = 0;
        for (const sdp_rtpmap_t *r = m->m_rtpmaps; r; r = r->rm_next) {
            if (!g711(r->rm_pt) || k + 4 >= sizeof(out->fmts))
                continue;
            k += (size_t)snprintf(out->fmts + k, sizeof(out->fmts) - k, "%s%u", k ? " " : "",
                                  r->rm_pt);
        }
        if (k == 0)
            return -ENOTSUP;
        snprintf(out->addr, sizeof(out->addr), "%s", addr);
        out->port = m->m_port;
        return 0;
    }
    return -ENOTSUP;
}

int mgcf_iw_sdp_read(const char *sdp, size_t len, struct mgcf_iw_media *m)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    memset(m, 0, sizeof(*m));
    if (!sdp || len == 0 || len > 65536)
        return -EINVAL;
    /* not sdp_parse(): it never ends on some m= lines (found by tests/fuzz/mgcf_iw) */
    sdp_parser_t *p = ims_sdp_parse(home, sdp, len, 0, NULL, 0);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    int rc = s ? media_of(s, m) : -EINVAL;
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

/* Does the format list @fmts ("8 0") name @f? */
static bool fmts_have(const char *fmts, const char *f)
{
    size_t n = strlen(f);
    for (const char *p = fmts; (p = strstr(p, f)) != NULL; p += n)
        if ((p == fmts || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

int mgcf_iw_fmts_answer(const char *offer, const char *can, char *out, size_t len)
{
    char fmts[MGCF_IW_FMTS_MAX], *save = NULL;
    size_t k = 0;
    snprintf(fmts, sizeof(fmts), "%s", offer);
    if (len)
        out[0] = '\0';
    for (char *f = strtok_r(fmts, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
        if (!fmts_have(can, f) || fmts_have(out, f))
            continue;
        int n = snprintf(out + k, len - k, "%s%s", k ? " " : "", f);
        if (n < 0 || (size_t)n >= len - k)
            break;
        k += (size_t)n;
    }
    return k ? 0 : -ENOTSUP;
}

static int fit(int n, size_t size)
{
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int mgcf_iw_mg_local(const char *fmts, char *buf, size_t size)
{
    return fit(snprintf(buf, size, "v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP %s\r\n", fmts),
               size);
}

int mgcf_iw_mg_remote(const struct mgcf_iw_media *m, char *buf, size_t size)
{
    return fit(snprintf(buf, size, "v=0\r\nc=IN IP4 %s\r\nm=audio %u RTP/AVP %s\r\n", m->addr,
                        m->port, m->fmts), size);
}

int mgcf_iw_sdp_write(const struct mgcf_iw_media *m, unsigned long session, unsigned version,
                      const char *origin_addr, char *buf, size_t size)
{
    int n = snprintf(buf, size,
                     "v=0\r\no=mgcf %lu %u IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                     "m=audio %u RTP/AVP %s\r\n", session, version, origin_addr, m->addr,
                     m->port, m->fmts);
    if (fit(n, size) < 0)
        return -ENOSPC;
    size_t k = (size_t)n;
    char fmts[MGCF_IW_FMTS_MAX], *save = NULL;
    snprintf(fmts, sizeof(fmts), "%s", m->fmts);
    for (char *f = strtok_r(fmts, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
        const char *name = strcmp(f, "0") == 0 ? "PCMU" : strcmp(f, "8") == 0 ? "PCMA" : NULL;
        if (!name)
            continue;
        n = snprintf(buf + k, size - k, "a=rtpmap:%s %s/8000\r\n", f, name);
        if (fit(n, size - k) < 0)
            return -ENOSPC;
        k += (size_t)n;
    }
    n = snprintf(buf + k, size - k, "a=sendrecv\r\n");
    if (fit(n, size - k) < 0)
        return -ENOSPC;
    return (int)(k + (size_t)n);
}
