/*
 * sdp.c - offer/answer for one audio stream (RFC 3264) with sofia-sip's SDP parser
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "sdp.h"
#include "sdp_guard.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

static void say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && len)
        vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

const char *mrfc_sdp_dir_name(unsigned dir)
{
    static const char *const names[4] = { "inactive", "sendonly", "recvonly", "sendrecv" };
    return names[dir & MRFC_DIR_SENDRECV];
}

const char *mrfc_codec_name(int codec)
{
    return codec == MRFC_CODEC_PCMA ? "PCMA" : "PCMU";
}

/* Our directions from the peer's SDP mode: what it sends we receive, and the reverse */
static unsigned our_dir(unsigned peer_mode)
{
    unsigned d = 0;
    if (peer_mode & sdp_sendonly)
        d |= MRFC_DIR_RECV;
    if (peer_mode & sdp_recvonly)
        d |= MRFC_DIR_SEND;
    return d;
}

/* The codec of @rm when we take it, or -1 */
static int codec_of(const sdp_rtpmap_t *rm, uint32_t codecs)
{
    if (!rm->rm_encoding || rm->rm_rate != 8000)
        return -1;
    if (strcasecmp(rm->rm_encoding, "PCMU") == 0 && (codecs & (1u << MRFC_CODEC_PCMU)))
        return MRFC_CODEC_PCMU;
    if (strcasecmp(rm->rm_encoding, "PCMA") == 0 && (codecs & (1u << MRFC_CODEC_PCMA)))
        return MRFC_CODEC_PCMA;
    return -1;
}

/* Pick the codec and telephone-event of audio line @m into @out. 0 or -ENOTSUP. */
static int pick_formats(const sdp_media_t *m, uint32_t codecs, struct mrfc_sdp_neg *out)
{
    out->codec = -1;
    out->te_pt = -1;
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm; rm = rm->rm_next) {
        int c = codec_of(rm, codecs);
        if (c >= 0 && out->codec < 0) {
            /* a static type renumbered (a=rtpmap:96 PCMU/8000) is used as numbered */
            out->codec = c;
            out->pt = rm->rm_pt;
        }
        if (rm->rm_encoding && strcasecmp(rm->rm_encoding, "telephone-event") == 0 &&
            rm->rm_rate == 8000 && out->te_pt < 0)
            out->te_pt = rm->rm_pt;
    }
    return out->codec >= 0 ? 0 : -ENOTSUP;
}

/* The peer's address and ports of audio line @m into @out. 0 or -ENOTSUP with @why. */
static int pick_address(const sdp_session_t *s, const sdp_media_t *m, struct mrfc_sdp_neg *out,
                        char *why, size_t whylen)
{
    const sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
    if (!c || !c->c_address) {
        say(why, whylen, "audio stream without a connection address (c=)");
        return -ENOTSUP;
    }
    if (c->c_nettype != sdp_net_in ||
        (c->c_addrtype != sdp_addr_ip4 && c->c_addrtype != sdp_addr_ip6)) {
        say(why, whylen, "connection address is not IN IP4 or IN IP6");
        return -ENOTSUP;
    }
    unsigned char bin[16];
    bool ip6 = c->c_addrtype == sdp_addr_ip6;
    if (inet_pton(ip6 ? AF_INET6 : AF_INET, c->c_address, bin) != 1) {
        say(why, whylen, "connection address %.40s is not numeric", c->c_address);
        return -ENOTSUP;
    }
    if (c->c_mcast || (!ip6 && bin[0] >= 224 && bin[0] <= 239) || (ip6 && bin[0] == 0xff)) {
        say(why, whylen, "multicast media is not served");
        return -ENOTSUP;
    }
    out->ip6 = ip6;
    snprintf(out->addr, sizeof(out->addr), "%s", c->c_address);
    out->port = (uint16_t)m->m_port;
    out->rtcp_port = (uint16_t)(m->m_port + 1);
    const sdp_attribute_t *a = sdp_attribute_find(m->m_attributes, "rtcp");
    if (a && a->a_value) {
        long p = strtol(a->a_value, NULL, 10);
        if (p > 0 && p < 65536)
            out->rtcp_port = (uint16_t)p;
    }
    a = sdp_attribute_find(m->m_attributes, "ptime");
    if (a && a->a_value)
        out->ptime = (unsigned)strtoul(a->a_value, NULL, 10);
    return 0;
}

/* What the answer repeats of line @m when it refuses it (port 0): media, proto, format */
static void rejected_line(const sdp_media_t *m, char *media, size_t mlen, char *rest,
                          size_t rlen)
{
    char fmt[16] = "0";
    if (m->m_rtpmaps)
        snprintf(fmt, sizeof(fmt), "%u", (unsigned)m->m_rtpmaps->rm_pt);
    else if (m->m_format && m->m_format->l_text)
        snprintf(fmt, sizeof(fmt), "%s", m->m_format->l_text);
    snprintf(media, mlen, "%s", m->m_type_name ? m->m_type_name : "audio");
    snprintf(rest, rlen, "%s %s", m->m_proto_name ? m->m_proto_name : "RTP/AVP", fmt);
}

/* Note line @m as one to answer with port 0 */
static void note_rejected(const sdp_media_t *m, int i, struct mrfc_sdp_neg *out)
{
    rejected_line(m, out->rejected[i].media, sizeof(out->rejected[i].media),
                  out->rejected[i].rest, sizeof(out->rejected[i].rest));
}

/* Try audio line @m as the stream; 0, or -ENOTSUP with @why */
static int take_audio(const sdp_session_t *s, const sdp_media_t *m, unsigned want,
                      uint32_t codecs, struct mrfc_sdp_neg *out, char *why, size_t whylen)
{
    if (m->m_port == 0) {
        say(why, whylen, "the audio stream is disabled (port 0)");
        return -ENOTSUP;
    }
    if (m->m_proto != sdp_proto_rtp) {
        say(why, whylen, "audio over %s: only RTP/AVP is served",
            m->m_proto_name ? m->m_proto_name : "?");
        return -ENOTSUP;
    }
    if (pick_formats(m, codecs, out) != 0) {
        say(why, whylen, "no common codec: PCMU/8000 or PCMA/8000 is needed");
        return -ENOTSUP;
    }
    if (pick_address(s, m, out, why, whylen) != 0)
        return -ENOTSUP;
    out->dir = want & our_dir(m->m_mode);
    return 0;
}

/*
 * The session of @body, parsed in @home through ims_sdp_parse() (sofia-sip's parser never
 * ends on some m= lines: found by tests/fuzz/mrfc_wire). Returns it with *@pp the parser to
 * free with sdp_parser_free(), or NULL with why said and nothing to free.
 */
static sdp_session_t *parse_sdp(su_home_t *home, const char *body, size_t len,
                                sdp_parser_t **pp, char *why, size_t whylen)
{
    sdp_parser_t *p = ims_sdp_parse(home, body, len, sdp_f_mode_0000, why, whylen);
    if (!p)
        return NULL;
    sdp_session_t *s = sdp_session(p);
    if (!s) {
        say(why, whylen, "bad SDP: %s", sdp_parsing_error(p) ? sdp_parsing_error(p) : "?");
        sdp_parser_free(p);
        return NULL;
    }
    *pp = p;
    return s;
}

int mrfc_sdp_negotiate(const char *body, size_t len, unsigned want, uint32_t codecs,
                       struct mrfc_sdp_neg *out, char *why, size_t whylen)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    int rc = 0;
    memset(out, 0, sizeof(*out));
    out->audio = -1;
    out->te_pt = -1;
    say(why, whylen, "no audio stream");
    sdp_parser_t *p;
    sdp_session_t *s = parse_sdp(home, body, len, &p, why, whylen);
    if (!s) {
        su_home_deinit(home);
        return -EINVAL;
    }
    int i = 0;
    for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next, i++) {
        if (i == MRFC_SDP_MAX_MEDIA) {
            say(why, whylen, "more than %d media streams", MRFC_SDP_MAX_MEDIA);
            rc = -ENOTSUP;
            goto out_parser;
        }
        if (out->audio < 0 && m->m_type == sdp_media_audio) {
            struct mrfc_sdp_neg try = *out;
            if (take_audio(s, m, want, codecs, &try, why, whylen) == 0) {
                *out = try;
                out->audio = i;
                continue;
            }
        }
        note_rejected(m, i, out);
    }
    out->nmedia = i;
    rc = out->audio >= 0 ? 0 : -ENOTSUP;
out_parser:
    sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

/* The session part, common to answers and offers */
static int session_head(char *buf, size_t cap, const struct mrfc_sdp_local *l)
{
    const char *ipv = l->ip6 ? "IP6" : "IP4";
    int n = snprintf(buf, cap,
                     "v=0\r\n"
                     "o=%s %llu %llu IN %s %s\r\n"
                     "s=mrfc\r\n"
                     "c=IN %s %s\r\n"
                     "t=0 0\r\n",
                     l->user ? l->user : "-", (unsigned long long)l->id,
                     (unsigned long long)l->version, ipv, l->addr, ipv, l->addr);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Append printf output at @*off; -ENOSPC when it does not fit */
static int add(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *off)
        return -ENOSPC;
    *off += (size_t)n;
    return 0;
}

/* The audio m= line and its attributes */
static int audio_lines(char *buf, size_t cap, size_t *off, uint16_t port, const int *pts,
                       const int *codecs, int npts, int te_pt, unsigned dir)
{
    int rc = add(buf, cap, off, "m=audio %u RTP/AVP", (unsigned)port);
    for (int i = 0; !rc && i < npts; i++)
        rc = add(buf, cap, off, " %d", pts[i]);
    if (!rc && te_pt >= 0)
        rc = add(buf, cap, off, " %d", te_pt);
    if (!rc)
        rc = add(buf, cap, off, "\r\n");
    for (int i = 0; !rc && i < npts; i++)
        rc = add(buf, cap, off, "a=rtpmap:%d %s/8000\r\n", pts[i], mrfc_codec_name(codecs[i]));
    if (!rc && te_pt >= 0)
        rc = add(buf, cap, off, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n",
                 te_pt, te_pt);
    if (!rc)
        rc = add(buf, cap, off, "a=ptime:%d\r\na=%s\r\n", MRFC_PTIME, mrfc_sdp_dir_name(dir));
    return rc;
}

int mrfc_sdp_answer(char *buf, size_t cap, const struct mrfc_sdp_local *l,
                    const struct mrfc_sdp_neg *neg)
{
    int n = session_head(buf, cap, l);
    if (n < 0)
        return n;
    size_t off = (size_t)n;
    int rc = 0;
    for (int i = 0; !rc && i < neg->nmedia; i++) {
        if (i != neg->audio) {
            rc = add(buf, cap, &off, "m=%s 0 %s\r\n", neg->rejected[i].media,
                     neg->rejected[i].rest);
            continue;
        }
        int pt = neg->pt, codec = neg->codec;
        rc = audio_lines(buf, cap, &off, l->port, &pt, &codec, 1, neg->te_pt, neg->dir);
    }
    return rc ? rc : (int)off;
}

int mrfc_sdp_offer(char *buf, size_t cap, const struct mrfc_sdp_local *l, uint32_t codecs,
                   unsigned dir)
{
    int n = session_head(buf, cap, l);
    if (n < 0)
        return n;
    size_t off = (size_t)n;
    int pts[2], npts = 0;
    if (codecs & (1u << MRFC_CODEC_PCMU))
        pts[npts++] = MRFC_CODEC_PCMU;
    if (codecs & (1u << MRFC_CODEC_PCMA))
        pts[npts++] = MRFC_CODEC_PCMA;
    int rc = audio_lines(buf, cap, &off, l->port, pts, pts, npts, MRFC_TE_PT_OFFER, dir);
    return rc ? rc : (int)off;
}

/* ---- the control channel ---- */

static bool is_cfw_line(const sdp_media_t *m)
{
    const char *proto = m->m_proto_name ? m->m_proto_name : "";
    return m->m_type == sdp_media_application && m->m_format && m->m_format->l_text &&
           strcasecmp(m->m_format->l_text, "cfw") == 0 &&
           (strcasecmp(proto, "TCP") == 0 || strcasecmp(proto, "TCP/TLS") == 0);
}

static void attr_copy(const sdp_media_t *m, const char *name, char *out, size_t len)
{
    const sdp_attribute_t *a = sdp_attribute_find(m->m_attributes, name);
    snprintf(out, len, "%s", a && a->a_value ? a->a_value : "");
}

/* The attributes and address of control channel line @m */
static int read_cfw_line(const sdp_session_t *s, const sdp_media_t *m, struct mrfc_sdp_cfw *out,
                         char *why, size_t whylen)
{
    out->tls = strcasecmp(m->m_proto_name, "TCP/TLS") == 0;
    out->port = (uint16_t)m->m_port;
    attr_copy(m, "setup", out->setup, sizeof(out->setup));
    attr_copy(m, "connection", out->connection, sizeof(out->connection));
    attr_copy(m, "cfw-id", out->cfw_id, sizeof(out->cfw_id));
    size_t off = 0;
    for (const sdp_attribute_t *a = m->m_attributes; a; a = a->a_next) {
        if (!a->a_name || strcasecmp(a->a_name, "ctrl-package") != 0 || !a->a_value)
            continue;
        int n = snprintf(out->packages + off, sizeof(out->packages) - off, "%s%s",
                         off ? "," : "", a->a_value);
        if (n < 0 || (size_t)n >= sizeof(out->packages) - off)
            break;
        off += (size_t)n;
    }
    const sdp_attribute_t *fa = m->m_attributes;
    if (!sdp_attribute_find(fa, "fingerprint"))
        fa = s->sdp_attributes;       /* RFC 8122 5: the session's, unless the line has its own */
    for (const sdp_attribute_t *a = fa; a && out->nfp < MRFC_SDP_FP_LINES; a = a->a_next)
        if (a->a_name && strcasecmp(a->a_name, "fingerprint") == 0 && a->a_value)
            snprintf(out->fingerprint[out->nfp++], sizeof(out->fingerprint[0]), "%s",
                     a->a_value);
    struct mrfc_sdp_neg addr;
    memset(&addr, 0, sizeof(addr));
    if (pick_address(s, m, &addr, why, whylen) != 0)
        return -ENOTSUP;
    out->ip6 = addr.ip6;
    snprintf(out->addr, sizeof(out->addr), "%s", addr.addr);
    return 0;
}

int mrfc_sdp_cfw_read(const char *body, size_t len, struct mrfc_sdp_cfw *out, char *why,
                      size_t whylen)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    memset(out, 0, sizeof(*out));
    out->index = -1;
    int rc = -1;
    sdp_parser_t *p;
    sdp_session_t *s = parse_sdp(home, body, len, &p, why, whylen);
    if (!s) {
        su_home_deinit(home);
        return -EINVAL;
    }
    int i = 0;
    for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next, i++) {
        if (i == MRFC_SDP_MAX_MEDIA) {
            say(why, whylen, "more than %d media streams", MRFC_SDP_MAX_MEDIA);
            rc = out->index >= 0 ? -ENOTSUP : -1;
            goto out_parser;
        }
        if (out->index < 0 && is_cfw_line(m)) {
            out->index = i;
            rc = read_cfw_line(s, m, out, why, whylen);
            if (rc)
                goto out_parser;
            continue;
        }
        rejected_line(m, out->rejected[i].media, sizeof(out->rejected[i].media),
                      out->rejected[i].rest, sizeof(out->rejected[i].rest));
    }
    out->nmedia = i;
out_parser:
    sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

int mrfc_sdp_cfw_answer(char *buf, size_t cap, const struct mrfc_sdp_local *l,
                        const struct mrfc_sdp_cfw *o, uint16_t port, const char *packages)
{
    int n = session_head(buf, cap, l);
    if (n < 0)
        return n;
    size_t off = (size_t)n;
    int rc = 0;
    for (int i = 0; !rc && i < o->nmedia; i++) {
        if (i != o->index) {
            rc = add(buf, cap, &off, "m=%s 0 %s\r\n", o->rejected[i].media,
                     o->rejected[i].rest);
            continue;
        }
        rc = add(buf, cap, &off, "m=application %u %s cfw\r\na=setup:passive\r\n"
                 "a=connection:new\r\na=cfw-id:%s\r\n", (unsigned)port,
                 o->tls ? "TCP/TLS" : "TCP", o->cfw_id);
        if (!rc && o->tls && l->fingerprint)
            rc = add(buf, cap, &off, "a=fingerprint:%s\r\n", l->fingerprint);
        const char *p = packages;
        while (!rc && p && *p) {
            size_t k = strcspn(p, ",");
            rc = add(buf, cap, &off, "a=ctrl-package:%.*s\r\n", (int)k, p);
            p += k + (p[k] == ',');
        }
    }
    return rc ? rc : (int)off;
}
