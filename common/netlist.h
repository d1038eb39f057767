/*
 * netlist.h - lists of IP networks ("192.0.2.7", "127.0.1.0/24", "2001:db8::/32") and
 * whether an address lies in one of them: the trusted peers of a SIP node are such a list.
 * An item of a list may end in ";tls": its network counts only for what came over a TLS
 * connection whose peer certificate was verified (mutual TLS), never for its address alone.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_NETLIST_H
#define IMS_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

struct ims_net {
    int family;                  /* AF_INET or AF_INET6 */
    uint8_t addr[16];            /* network byte order, host bits cleared */
    unsigned prefix;             /* 0..32 or 0..128 */
    bool tls;                    /* list item with ";tls": over verified TLS only */
};

struct ims_netlist {
    struct ims_net *nets;
    size_t n;
};

/*
 * ims_net_parse - "address" or "address/prefix" (IPv4 or IPv6, numeric). An address with
 * host bits set under its prefix is refused (a typo, not a network). 0 or -EINVAL.
 */
int ims_net_parse(const char *text, struct ims_net *out);

/* Configuration check of one list item (ims_cfg_key.check): a network, ";tls" allowed */
int ims_cfg_check_net(const char *value, char *err, size_t errlen);

/*
 * ims_netlist_parse - a list from NULL-terminated @items (each as ims_net_parse takes,
 * optionally followed by ";tls").
 * @out is emptied first; on error it stays empty and the bad item is named in @err.
 * Returns 0, -EINVAL or -ENOMEM. Free with ims_netlist_clear().
 */
int ims_netlist_parse(char **items, struct ims_netlist *out, char *err, size_t errlen);
void ims_netlist_clear(struct ims_netlist *l);

/* Does @sa (AF_INET, AF_INET6; IPv4-mapped IPv6 counts as IPv4) lie in network @n? */
bool ims_net_match(const struct ims_net *n, const struct sockaddr *sa);

/* Does @sa lie in one of @l's networks (";tls" items never match: see below)? */
bool ims_netlist_match(const struct ims_netlist *l, const struct sockaddr *sa);

/*
 * ims_netlist_match_tls - does @sa lie in one of @l's networks, counting the ";tls" items
 * only when @verified_tls says that what @sa sent came over a TLS connection whose peer
 * certificate the node verified against its CA?
 */
bool ims_netlist_match_tls(const struct ims_netlist *l, const struct sockaddr *sa,
                           bool verified_tls);

#endif
