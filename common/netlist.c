/*
 * netlist.c - IP network lists and address matching (pure: no I/O)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Are the bits of @a under @prefix equal to those of @b? */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int ims_net_parse(const char *text, struct ims_net *out)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    if (len == 0 || len >= sizeof(addr))
        return -EINVAL;
    memcpy(addr, text, len);
    addr[len] = '\0';
    memset(out, 0, sizeof(*out));
    unsigned max;
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    out->prefix = max;
    if (slash) {
        char *end;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || p > max)
            return -EINVAL;
        out->prefix = (unsigned)p;
    }
    uint8_t host[16];
    memcpy(host, out->addr, sizeof(host));
    /* the bits after the prefix must be clear: compare with the address masked */
    for (unsigned bit = out->prefix; bit < max; bit++)
        host[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
    if (memcmp(host, out->addr, max / 8) != 0)
        return -EINVAL;
    return 0;
}

/* The suffix of a list item that restricts it to verified TLS connections */
#define TLS_SUFFIX ";tls"

/* @text as a list item: a network, then ";tls" or nothing. 0 or -EINVAL. */
static int parse_item(const char *text, struct ims_net *out)
{
    char net[80];
    size_t len = strlen(text), sl = strlen(TLS_SUFFIX);
    bool tls = len > sl && strcmp(text + len - sl, TLS_SUFFIX) == 0;
    if (tls)
        len -= sl;
    if (len >= sizeof(net))
        return -EINVAL;
    memcpy(net, text, len);
    net[len] = '\0';
    int rc = ims_net_parse(net, out);
    out->tls = tls;
    return rc;
}

int ims_cfg_check_net(const char *value, char *err, size_t errlen)
{
    struct ims_net n;
    if (parse_item(value, &n) == 0)
        return 0;
    snprintf(err, errlen, "'%s' is not an IP address or network (address/prefix, host bits "
             "clear), optionally followed by ;tls", value);
    return -1;
}

int ims_netlist_parse(char **items, struct ims_netlist *out, char *err, size_t errlen)
{
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    while (items && items[n])
        n++;
    if (n == 0)
        return 0;
    struct ims_net *nets = calloc(n, sizeof(*nets));
    if (!nets)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (parse_item(items[i], &nets[i]) != 0) {
            ims_cfg_check_net(items[i], err, errlen);
            free(nets);
            return -EINVAL;
        }
    }
    out->nets = nets;
    out->n = n;
    return 0;
}

void ims_netlist_clear(struct ims_netlist *l)
{
    free(l->nets);
    l->nets = NULL;
    l->n = 0;
}

/* The address bytes of @sa into @addr; its family (IPv4-mapped IPv6 is IPv4), or AF_UNSPEC */
static int address_of(const struct sockaddr *sa, uint8_t addr[16])
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (!sa)
        return AF_UNSPEC;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        memcpy(addr, &s4->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *a = s6->sin6_addr.s6_addr;
        bool mapped = memcmp(a, v4mapped, 12) == 0;
        memcpy(addr, mapped ? a + 12 : a, mapped ? 4 : 16);
        return mapped ? AF_INET : AF_INET6;
    }
    return AF_UNSPEC;
}

bool ims_net_match(const struct ims_net *n, const struct sockaddr *sa)
{
    uint8_t addr[16];
    int family = address_of(sa, addr);
    return family != AF_UNSPEC && n->family == family && same_prefix(n->addr, addr, n->prefix);
}

bool ims_netlist_match(const struct ims_netlist *l, const struct sockaddr *sa)
{
    return ims_netlist_match_tls(l, sa, false);
}

bool ims_netlist_match_tls(const struct ims_netlist *l, const struct sockaddr *sa,
                           bool verified_tls)
{
    for (size_t i = 0; i < l->n; i++)
        if ((!l->nets[i].tls || verified_tls) && ims_net_match(&l->nets[i], sa))
            return true;
    return false;
}
