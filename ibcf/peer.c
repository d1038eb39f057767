/*
 * peer.c - the peer networks of ibcf.peers: parsed and checked at start, then found by the
 * source of a request (inbound) or by its target (outbound)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"
#include "sip_hdr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

static int parse_bool(const char *v, bool *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

/* A domain of domain=: a host name of letters, digits, '-' and '.', or "*." and one */
static bool good_domain(const char *d)
{
    if (strncmp(d, "*.", 2) == 0)
        d += 2;
    size_t n = strlen(d);
    if (n == 0 || n >= IBCF_HOST_MAX || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
        return false;
    for (const char *p = d; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
    return true;
}

static bool good_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n > 16 || p[0] != '+')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

/* One "name=value" option of a peer item into @p */
static int parse_option(const char *o, struct ibcf_peer *p, char *err, size_t errlen)
{
    const char *eq = strchr(o, '=');
    const char *v = eq ? eq + 1 : "";
    size_t nl = eq ? (size_t)(eq - o) : strlen(o);
    bool *flag = NULL;
    if (nl == 3 && strncmp(o, "net", 3) == 0) {
        if (p->nnets == IBCF_MAX_NETS) {
            snprintf(err, errlen, "more than %d net=", IBCF_MAX_NETS);
            return -EINVAL;
        }
        if (ims_net_parse(v, &p->nets[p->nnets]) != 0) {
            snprintf(err, errlen, "net=%s: not an address or network (address/prefix)", v);
            return -EINVAL;
        }
        p->nnets++;
        return 0;
    }
    if (nl == 6 && strncmp(o, "domain", 6) == 0) {
        if (p->ndomains == IBCF_MAX_DOMAINS || !good_domain(v)) {
            snprintf(err, errlen, "domain=%s: a host name or *.name (at most %d)", v,
                     IBCF_MAX_DOMAINS);
            return -EINVAL;
        }
        snprintf(p->domains[p->ndomains++], IBCF_HOST_MAX, "%s", v);
        return 0;
    }
    if (nl == 6 && strncmp(o, "prefix", 6) == 0) {
        if (p->nprefixes == IBCF_MAX_PREFIXES || !good_prefix(v)) {
            snprintf(err, errlen, "prefix=%s: '+' and 1 to 15 digits (at most %d)", v,
                     IBCF_MAX_PREFIXES);
            return -EINVAL;
        }
        snprintf(p->prefixes[p->nprefixes++], sizeof(p->prefixes[0]), "%s", v);
        return 0;
    }
    if (nl == 3 && strncmp(o, "ioi", 3) == 0) {
        if (!*v || strlen(v) >= sizeof(p->ioi) || strpbrk(v, ";,\"=<> ")) {
            snprintf(err, errlen, "ioi=%s: an identifier (a token, e.g. the network's domain)",
                     v);
            return -EINVAL;
        }
        snprintf(p->ioi, sizeof(p->ioi), "%s", v);
        return 0;
    }
    if (nl == 7 && strncmp(o, "trusted", 7) == 0)
        flag = &p->trusted;
    else if (nl == 6 && strncmp(o, "hiding", 6) == 0)
        flag = &p->hiding;
    else if (nl == 7 && strncmp(o, "roaming", 7) == 0)
        flag = &p->roaming;
    if (!flag) {
        snprintf(err, errlen, "unknown option '%s' (net=, domain=, prefix=, trusted=, hiding=, "
                 "roaming=, ioi=)", o);
        return -EINVAL;
    }
    if (parse_bool(v, flag) != 0) {
        snprintf(err, errlen, "%s: yes or no", o);
        return -EINVAL;
    }
    return 0;
}

/* The name and the next hop of an item */
static int check_head(const char *name, const char *hop, struct ibcf_peer *p, char *err,
                      size_t errlen)
{
    size_t n = strlen(name);
    bool good = n > 0 && n < IBCF_NAME_MAX;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            good = false;
    if (!good) {
        snprintf(err, errlen, "name '%s': 1 to %d letters, digits, '.', '_' or '-'", name,
                 IBCF_NAME_MAX - 1);
        return -EINVAL;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = strlen(hop) < IBCF_URI_MAX ? url_make(home, hop) : NULL;
    good = u && (u->url_type == url_sip || u->url_type == url_sips) && u->url_host &&
           !u->url_user;
    su_home_deinit(home);
    if (!good) {
        snprintf(err, errlen, "peer '%s': next hop '%s' is not a SIP URI of a host "
                 "(sip:host[:port])", name, hop);
        return -EINVAL;
    }
    snprintf(p->next_hop, sizeof(p->next_hop), "%s", hop);
    return 0;
}

int ibcf_peer_parse(const char *item, struct ibcf_peer *p, char *err, size_t errlen)
{
    char buf[2048], *save = NULL;
    memset(p, 0, sizeof(*p));
    p->hiding = true;
    if (snprintf(buf, sizeof(buf), "%s", item) >= (int)sizeof(buf)) {
        snprintf(err, errlen, "peer too long");
        return -EINVAL;
    }
    const char *name = strtok_r(buf, " \t", &save);
    const char *hop = name ? strtok_r(NULL, " \t", &save) : NULL;
    if (!hop || strchr(hop, '=')) {
        snprintf(err, errlen, "'%s': expected '<name> <next-hop SIP URI> net=... domain=... "
                 "[prefix=...] [trusted=yes|no] [hiding=yes|no] [roaming=yes|no] [ioi=...]'",
                 item);
        return -EINVAL;
    }
    if (check_head(name, hop, p, err, errlen) != 0)
        return -EINVAL;
    for (const char *o; (o = strtok_r(NULL, " \t", &save)) != NULL;) {
        char why[300];
        if (parse_option(o, p, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "peer '%s': %s", p->name, why);
            return -EINVAL;
        }
    }
    if (!p->nnets || (!p->ndomains && !p->nprefixes)) {
        snprintf(err, errlen, "peer '%s': needs net= (where its requests come from) and "
                 "domain= or prefix= (what is routed to it)", p->name);
        return -EINVAL;
    }
    if (!p->ioi[0])   /* "*.b.net" names no one network: then the peer's name */
        snprintf(p->ioi, sizeof(p->ioi), "%s", p->ndomains && p->domains[0][0] != '*'
                                                   ? p->domains[0] : p->name);
    return 0;
}

int ibcf_check_peer_item(const char *value, char *err, size_t errlen)
{
    struct ibcf_peer p;
    return ibcf_peer_parse(value, &p, err, errlen);
}

/* The first address of network @n, as a socket address */
static void net_base(const struct ims_net *n, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (n->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, n->addr, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, n->addr, 16);
    }
}

/* Do two networks share an address? (one holds the other's first address) */
static bool overlap(const struct ims_net *a, const struct ims_net *b)
{
    struct sockaddr_storage sa, sb;
    net_base(a, &sa);
    net_base(b, &sb);
    return ims_net_match(a, (struct sockaddr *)&sb) || ims_net_match(b, (struct sockaddr *)&sa);
}

static int check_pair(const struct ibcf_peer *a, const struct ibcf_peer *b, char *err,
                      size_t errlen)
{
    if (strcmp(a->name, b->name) == 0) {
        snprintf(err, errlen, "two peers are named '%s'", a->name);
        return -EINVAL;
    }
    for (int i = 0; i < a->nnets; i++)
        for (int j = 0; j < b->nnets; j++)
            if (overlap(&a->nets[i], &b->nets[j])) {
                snprintf(err, errlen, "peers '%s' and '%s' share addresses (net=): a request "
                         "must tell which network it comes from", a->name, b->name);
                return -EINVAL;
            }
    for (int i = 0; i < a->ndomains; i++)
        for (int j = 0; j < b->ndomains; j++)
            if (strcasecmp(a->domains[i], b->domains[j]) == 0) {
                snprintf(err, errlen, "peers '%s' and '%s' both have domain=%s", a->name,
                         b->name, a->domains[i]);
                return -EINVAL;
            }
    for (int i = 0; i < a->nprefixes; i++)
        for (int j = 0; j < b->nprefixes; j++)
            if (strcmp(a->prefixes[i], b->prefixes[j]) == 0) {
                snprintf(err, errlen, "peers '%s' and '%s' both have prefix=%s", a->name,
                         b->name, a->prefixes[i]);
                return -EINVAL;
            }
    return 0;
}

int ibcf_peers_check(const struct ibcf_peer *peers, size_t n, const struct ims_netlist *home,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            if (check_pair(&peers[i], &peers[j], err, errlen) != 0)
                return -EINVAL;
        for (int k = 0; home && k < peers[i].nnets; k++)
            for (size_t h = 0; h < home->n; h++)
                if (overlap(&peers[i].nets[k], &home->nets[h])) {
                    snprintf(err, errlen, "peer '%s': its net= overlaps sip.trusted_peers (the "
                             "home network's nodes): a request must tell which side it comes "
                             "from", peers[i].name);
                    return -EINVAL;
                }
    }
    return 0;
}

const struct ibcf_peer *ibcf_peer_by_source(const struct ibcf_peer *peers, size_t n,
                                            const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < peers[i].nnets; k++)
            if (ims_net_match(&peers[i].nets[k], sa))
                return &peers[i];
    return NULL;
}

/* @host as a socket address, when it is a numeric IPv4 or IPv6 address ([v6] too) */
static bool numeric_host(const char *host, struct sockaddr_storage *ss)
{
    char buf[64];
    size_t n = strlen(host);
    if (n >= sizeof(buf))
        return false;
    if (n > 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(buf, sizeof(buf), "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(buf, sizeof(buf), "%s", host);
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

/* How well @pattern matches @host: its length for an exact or *.suffix match, else 0
 * (an exact match beats any wildcard) */
static size_t domain_score(const char *pattern, const char *host)
{
    if (strncmp(pattern, "*.", 2) != 0)
        return strcasecmp(pattern, host) == 0 ? 1000 : 0;
    size_t pl = strlen(pattern) - 1, hl = strlen(host);    /* ".suffix" */
    return hl > pl && strcasecmp(host + hl - pl, pattern + 1) == 0 ? pl : 0;
}

static const struct ibcf_peer *by_domain(const struct ibcf_peer *peers, size_t n,
                                         const char *host)
{
    const struct ibcf_peer *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < peers[i].ndomains; k++) {
            size_t s = domain_score(peers[i].domains[k], host);
            if (s > best_score) {
                best_score = s;
                best = &peers[i];
            }
        }
    return best;
}

static const struct ibcf_peer *by_number(const struct ibcf_peer *peers, size_t n,
                                         const char *number)
{
    const struct ibcf_peer *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < peers[i].nprefixes; k++) {
            size_t l = strlen(peers[i].prefixes[k]);
            if (l > best_len && strncmp(number, peers[i].prefixes[k], l) == 0) {
                best_len = l;
                best = &peers[i];
            }
        }
    return best;
}

const struct ibcf_peer *ibcf_peer_by_target(const struct ibcf_peer *peers, size_t n,
                                            const url_t *url)
{
    char target[IBCF_URI_MAX];
    if (url && ims_sip_target_of(url, target, sizeof(target)) == 0 &&
        strncmp(target, "tel:", 4) == 0)
        return by_number(peers, n, target + 4);
    if (!url || (url->url_type != url_sip && url->url_type != url_sips) || !url->url_host)
        return NULL;
    struct sockaddr_storage ss;
    if (numeric_host(url->url_host, &ss))
        return ibcf_peer_by_source(peers, n, (const struct sockaddr *)&ss);
    return by_domain(peers, n, url->url_host);
}
