/*
 * bundled.c - authentication by the access network: early IMS (TR 33.978, TS 24.229
 * 5.4.1.2.1B "GPRS-IMS-Bundled") and NASS-bundled (ETSI ES 283 003, TS 33.203 annex R,
 * TS 24.229 5.4.1.2.1D)
 *
 * Neither has a challenge: the HSS says what the access network bound the user to (an IP
 * address or IPv6 prefix, the Line-Identifiers of fixed lines) and the S-CSCF compares it
 * with what the user's P-CSCF saw of the REGISTER:
 *
 * - early IMS: the "received" parameter the P-CSCF put in the Via of the UE (it always
 *   does, TS 24.229 5.2.2.1; sofia-sip's nta removes a received the UE wrote itself). That
 *   Via is the one right below the P-CSCF's own Via, and the P-CSCF's Via is the topmost
 *   one with the address of the P-CSCF of the Path (the last Path entry: the P-CSCF removes
 *   any Path the UE wrote and adds its own first). Every Via a UE adds lies below the
 *   P-CSCF's, so a Via forged by the UE with the P-CSCF's address, or a received of its
 *   own further down, is never read.
 * - NASS-bundled: the dsl-location of a P-Access-Network-Info marked "network-provided"
 *   (the P-CSCF removes those the UE sends and adds its own from the CLF).
 *
 * All of it is believed only because the REGISTER comes from the trust domain (the S-CSCF
 * serves no other source) through a P-CSCF that behaves so.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "sip_hdr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>

/* @host without IPv6 brackets into @out */
static void unbracket(const char *host, char *out, size_t len)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(out, len, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(out, len, "%s", host);
}

/* @host (a name or an address) as a numeric address into @out: false when it is neither */
static bool numeric(const char *host, scscf_resolve_fn resolve, void *arg, char *out,
                    size_t len)
{
    unsigned char b[16];
    unbracket(host, out, len);
    if (inet_pton(AF_INET, out, b) == 1 || inet_pton(AF_INET6, out, b) == 1)
        return true;
    char name[256];
    snprintf(name, sizeof(name), "%s", out);
    return resolve && resolve(arg, name, out, len) &&
           (inet_pton(AF_INET, out, b) == 1 || inet_pton(AF_INET6, out, b) == 1);
}

static bool same_address(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1)
        return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
    return false;
}

static unsigned port_of(const char *port)
{
    return port && *port ? (unsigned)strtoul(port, NULL, 10) : 5060;
}

/* The topmost Via sent by the P-CSCF at @ip:@port, NULL when none */
static const sip_via_t *pcscf_via(const sip_t *sip, const char *ip, unsigned port,
                                  scscf_resolve_fn resolve, void *arg)
{
    for (const sip_via_t *v = sip->sip_via; v; v = v->v_next) {
        char host[64];
        if (v->v_host && numeric(v->v_host, resolve, arg, host, sizeof(host)) &&
            same_address(host, ip) && port_of(v->v_port) == port)
            return v;
    }
    return NULL;
}

int scscf_bundled_address(const sip_t *sip, scscf_resolve_fn resolve, void *arg, char *out,
                          size_t len)
{
    const sip_path_t *last = sip->sip_path;
    while (last && last->r_next)
        last = last->r_next;
    char pcscf[64];
    if (!last || !last->r_url->url_host ||
        !numeric(last->r_url->url_host, resolve, arg, pcscf, sizeof(pcscf)))
        return -ENOENT;
    const sip_via_t *v = pcscf_via(sip, pcscf, port_of(last->r_url->url_port), resolve, arg);
    if (!v || !v->v_next || !v->v_next->v_received || !*v->v_next->v_received)
        return -ENOENT;
    unsigned char b[16];
    unbracket(v->v_next->v_received, out, len);
    if (inet_pton(AF_INET, out, b) != 1 && inet_pton(AF_INET6, out, b) != 1)
        return -EINVAL;
    return 0;
}

/* The next element of @s up to one of @stops outside quotes, trimmed, into @out; returns
 * where the following one starts (NULL at the end) */
static const char *next_item(const char *s, char stop, char *out, size_t len)
{
    bool quoted = false;
    const char *p = s;
    for (; *p && (quoted || *p != stop); p++) {
        if (*p == '\\' && quoted && p[1])
            p++;
        else if (*p == '"')
            quoted = !quoted;
    }
    const char *b = s, *e = p;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    snprintf(out, len, "%.*s", (int)(e - b), b);
    return *p ? p + 1 : NULL;
}

/*
 * One access-net-spec of P-Access-Network-Info (TS 24.229 7.2A.4): its dsl-location into
 * @line when it is marked network-provided. Returns true then.
 */
static bool network_line(const char *spec, char *line, size_t len)
{
    char item[256], dsl[SCSCF_LINE_ID_MAX] = "";
    bool np = false, first = true;
    for (const char *p = spec; p; first = false) {
        p = next_item(p, ';', item, sizeof(item));
        if (first)
            continue;                            /* the access-type */
        if (strcasecmp(item, "network-provided") == 0) {
            np = true;
        } else if (strncasecmp(item, "dsl-location", 12) == 0) {
            const char *v = item + 12;
            while (*v == ' ')
                v++;
            if (*v++ != '=')
                continue;
            while (*v == ' ')
                v++;
            size_t n = strlen(v);
            if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
                snprintf(dsl, sizeof(dsl), "%.*s", (int)(n - 2), v + 1);
            else
                snprintf(dsl, sizeof(dsl), "%s", v);
        }
    }
    if (!np || !dsl[0])
        return false;
    snprintf(line, len, "%s", dsl);
    return true;
}

int scscf_bundled_lines(const sip_t *sip, char out[][SCSCF_LINE_ID_MAX], int max)
{
    int n = 0;
    for (const sip_unknown_t *u = sip->sip_unknown; u && n < max; u = u->un_next) {
        if (!u->un_name || strcasecmp(u->un_name, "P-Access-Network-Info") != 0 ||
            !u->un_value)
            continue;
        char spec[512];
        for (const char *p = u->un_value; p && n < max;) {
            p = next_item(p, ',', spec, sizeof(spec));
            if (network_line(spec, out[n], SCSCF_LINE_ID_MAX))
                n++;
        }
    }
    return n;
}

bool scscf_bundled_address_match(const struct scscf_access *a, const char *text)
{
    uint8_t b[16];
    if (!a || !a->family || !text)
        return false;
    if (a->family == AF_INET)
        return inet_pton(AF_INET, text, b) == 1 && memcmp(b, a->addr, 4) == 0;
    if (inet_pton(AF_INET6, text, b) != 1 || a->prefix > 128)
        return false;
    unsigned full = a->prefix / 8, rest = a->prefix % 8;
    if (memcmp(b, a->addr, full) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return rest == 0 || (b[full] & mask) == (a->addr[full] & mask);
}

bool scscf_bundled_line_match(const struct scscf_access *a, char lines[][SCSCF_LINE_ID_MAX],
                              int n)
{
    for (int i = 0; a && i < n; i++)
        for (int k = 0; k < a->nlines; k++)
            if (strcmp(lines[i], a->lines[k]) == 0)
                return true;
    return false;
}
