/*
 * diam_peer.c - Diameter peer rules and the decision on a peer that connects (diam_peer.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_peer.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A Diameter identity or pattern: letters, digits, '-', '.', and for patterns '*', '?'. */
static bool identity_ok(const char *s, bool pattern)
{
    if (!*s || strlen(s) >= sizeof(((struct ims_diam_rule *)0)->identity))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == '-' || c == '.' || c == '_')
            continue;
        if (pattern && (c == '*' || c == '?'))
            continue;
        return false;
    }
    return true;
}

/* Split "x@rest" into the rule's identity and *rest; -EINVAL (reason in err) when bad. */
static int split_identity(const char *text, bool pattern, struct ims_diam_rule *r,
                          const char **rest, char *err, size_t errlen)
{
    const char *at = strchr(text, '@');
    size_t n = at ? (size_t)(at - text) : strlen(text);
    memset(r, 0, sizeof(*r));
    snprintf(r->text, sizeof(r->text), "%s", text);
    if (n >= sizeof(r->identity)) {
        snprintf(err, errlen, "'%s': identity too long", text);
        return -EINVAL;
    }
    memcpy(r->identity, text, n);
    r->identity[n] = '\0';
    r->pattern = pattern;
    if (!identity_ok(r->identity, pattern)) {
        snprintf(err, errlen, "'%s': '%s' is not a Diameter identity%s", text, r->identity,
                 pattern ? " pattern" : "");
        return -EINVAL;
    }
    *rest = at ? at + 1 : NULL;
    return 0;
}

int ims_diam_rule_parse_peer(const char *text, struct ims_diam_rule *r, char *err,
                             size_t errlen)
{
    const char *a;
    if (split_identity(text, false, r, &a, err, errlen) != 0)
        return -EINVAL;
    if (!a || !*a) {
        snprintf(err, errlen, "'%s' is not identity@address[:port]", text);
        return -EINVAL;
    }
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", a);
    char *port = NULL;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (!end || (end[1] && end[1] != ':')) {
            snprintf(err, errlen, "'%s': malformed [IPv6 address]", text);
            return -EINVAL;
        }
        port = end[1] ? end + 2 : NULL;
        *end = '\0';
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else if (strchr(buf, '.') && strchr(buf, ':')) {
        port = strrchr(buf, ':');
        *port++ = '\0';
    }
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (!*port || *end || p < 1 || p > 65535) {
            snprintf(err, errlen, "'%s': bad port '%s'", text, port);
            return -EINVAL;
        }
        r->port = (uint16_t)p;
    }
    if (strchr(buf, '/') || ims_net_parse(buf, &r->net) != 0) {
        snprintf(err, errlen, "'%s': '%s' is not a numeric address", text, buf);
        return -EINVAL;
    }
    r->any_address = false;
    return 0;
}

int ims_diam_rule_parse_pattern(const char *text, struct ims_diam_rule *r, char *err,
                                size_t errlen)
{
    const char *a;
    if (split_identity(text, true, r, &a, err, errlen) != 0)
        return -EINVAL;
    r->any_address = !a;
    if (!a)
        return 0;
    /* address or network (address/prefix, host bits clear) */
    if (ims_net_parse(a, &r->net) != 0) {
        snprintf(err, errlen, "'%s': '%s' is not a numeric address or network "
                 "(address/prefix, host bits clear)", text, a);
        return -EINVAL;
    }
    return 0;
}

int ims_diam_check_pattern(const char *value, char *err, size_t errlen)
{
    struct ims_diam_rule r;
    return ims_diam_rule_parse_pattern(value, &r, err, errlen) ? -1 : 0;
}

bool ims_diam_rule_identity(const struct ims_diam_rule *r, const char *identity)
{
    if (!identity)
        return false;
    if (r->pattern)
        return fnmatch(r->identity, identity, FNM_CASEFOLD) == 0;
    return strcasecmp(r->identity, identity) == 0;
}

bool ims_diam_rule_address(const struct ims_diam_rule *r, const struct sockaddr *sa)
{
    return r->any_address || ims_net_match(&r->net, sa);
}

static const struct ims_diam_rule *find_identity(const struct ims_diam_rule *rules, size_t n,
                                                 const char *identity)
{
    for (size_t i = 0; i < n; i++)
        if (ims_diam_rule_identity(&rules[i], identity))
            return &rules[i];
    return NULL;
}

/* The first pattern naming @in's identity from its address; NULL with *named set when a
 * pattern names the identity but none its address. */
static const struct ims_diam_rule *match_pattern(const struct ims_diam_trust *t,
                                                 const struct ims_diam_incoming *in,
                                                 bool *named)
{
    *named = false;
    for (size_t i = 0; i < t->naccept; i++) {
        if (!ims_diam_rule_identity(&t->accept[i], in->identity))
            continue;
        *named = true;
        if (ims_diam_rule_address(&t->accept[i], in->addr))
            return &t->accept[i];
    }
    return NULL;
}

bool ims_diam_plain_allowed(const struct ims_diam_trust *t, const char *identity,
                            const struct sockaddr *sa)
{
    if (!t->tls)
        return true;
    for (size_t i = 0; i < t->nplain; i++)
        if (ims_diam_rule_identity(&t->plain[i], identity) &&
            (!sa || ims_diam_rule_address(&t->plain[i], sa)))
            return true;
    return false;
}

enum ims_diam_verdict ims_diam_peer_decide(const struct ims_diam_trust *t,
                                           const struct ims_diam_incoming *in,
                                           const struct ims_diam_rule **rule)
{
    const struct ims_diam_rule *r = find_identity(t->peers, t->npeers, in->identity);
    enum ims_diam_verdict v = IMS_DIAM_PEER_CONFIGURED;
    bool named = false;
    if (rule)
        *rule = r;
    if (r && !ims_diam_rule_address(r, in->addr))
        return IMS_DIAM_PEER_WRONG_ADDRESS;
    if (!r) {
        r = match_pattern(t, in, &named);
        if (rule)
            *rule = r;
        if (!r)
            return named ? IMS_DIAM_PEER_WRONG_ADDRESS : IMS_DIAM_PEER_UNKNOWN;
        v = IMS_DIAM_PEER_PATTERN;
    }
    if (in->tls && !in->cert_names_identity)
        return IMS_DIAM_PEER_CERT_MISMATCH;
    if (!in->tls && !ims_diam_plain_allowed(t, in->identity, in->addr))
        return IMS_DIAM_PEER_PLAIN_REFUSED;
    return v;
}

const char *ims_diam_verdict_text(enum ims_diam_verdict v)
{
    switch (v) {
    case IMS_DIAM_PEER_CONFIGURED: return "configured in diameter.peers";
    case IMS_DIAM_PEER_PATTERN: return "matches diameter.accept_peers (lab only)";
    case IMS_DIAM_PEER_UNKNOWN:
        return "unknown identity (not in diameter.peers, no diameter.accept_peers pattern)";
    case IMS_DIAM_PEER_WRONG_ADDRESS:
        return "the identity is allowed only from another address";
    case IMS_DIAM_PEER_PLAIN_REFUSED:
        return "plain TCP, but TLS is required (diameter.tls; not in diameter.plain_peers)";
    case IMS_DIAM_PEER_CERT_MISMATCH:
        return "its TLS certificate does not name its Origin-Host";
    }
    return "?";
}

const char *ims_diam_verdict_label(enum ims_diam_verdict v)
{
    static const char *const labels[] = { "configured", "pattern", "unknown", "address",
                                          "plain", "certificate" };
    return (unsigned)v < sizeof(labels) / sizeof(labels[0]) ? labels[v] : "?";
}

/* The address bytes of @sa and their family; IPv4-mapped IPv6 becomes IPv4. */
static int addr_of(const struct sockaddr *sa, const uint8_t **bytes)
{
    if (sa && sa->sa_family == AF_INET) {
        *bytes = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        return AF_INET;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        bool mapped = IN6_IS_ADDR_V4MAPPED(a);
        *bytes = mapped ? a->s6_addr + 12 : a->s6_addr;
        return mapped ? AF_INET : AF_INET6;
    }
    return AF_UNSPEC;
}

const char *ims_diam_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    const uint8_t *b = NULL;
    int fam = addr_of(sa, &b);
    if (fam == AF_UNSPEC || !inet_ntop(fam, b, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}
