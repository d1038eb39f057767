/*
 * diam_peer.h - who may be a Diameter peer: the rules of the configuration and the decision
 * on a peer that connects
 *
 * Trust comes from where a connection comes from, never from what the peer writes about
 * itself: a peer is accepted when its identity (Origin-Host of its CER) is configured AND
 * its connection comes from the address configured with it (diameter.peers), or, as a lab
 * option, when its identity matches a pattern of diameter.accept_peers and its address lies
 * in the pattern's network. Over TLS the certificate (already checked against the CA by the
 * stack) must also name that identity; over plain TCP the peer must be allowed plain TCP
 * when the node requires TLS (diameter.plain_peers).
 *
 * Everything here is pure (no freeDiameter, no I/O): common/diam.c feeds it what the stack
 * saw on the connection.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_PEER_H
#define IMS_DIAM_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlist.h"

#include <sys/socket.h>

/* One rule: an identity (or identity pattern) and the address (or network) it must use. */
struct ims_diam_rule {
    char identity[256];   /* exact Diameter identity, or an fnmatch(3) pattern */
    bool pattern;         /* identity is a pattern (accept_peers, plain_peers) */
    bool any_address;     /* no address given: any */
    struct ims_net net;   /* else the address (or network, for patterns) */
    uint16_t port;        /* peers we connect to: the port given, 0 = the default */
    char text[300];       /* the rule as configured, for logs */
};

/*
 * ims_diam_rule_parse_peer - "identity@address[:port]" (diameter.peers): an exact identity
 * bound to one address. IPv6 takes [address]:port.
 * ims_diam_rule_parse_pattern - "pattern[@address[/prefix]]" (accept_peers, plain_peers):
 * an identity pattern ("*.ims.example.org"), optionally only from an address or network
 * ("@127.0.1.0/24"); without "@" any address.
 * Both return 0, or -EINVAL with the reason in err.
 */
int ims_diam_rule_parse_peer(const char *text, struct ims_diam_rule *r, char *err,
                             size_t errlen);
int ims_diam_rule_parse_pattern(const char *text, struct ims_diam_rule *r, char *err,
                                size_t errlen);

/* Configuration check of one accept_peers / plain_peers item (for struct ims_cfg_key). */
int ims_diam_check_pattern(const char *value, char *err, size_t errlen);

/* The rule names @identity (exactly, ignoring case, or by its pattern). */
bool ims_diam_rule_identity(const struct ims_diam_rule *r, const char *identity);
/* @sa (AF_INET or AF_INET6; IPv4-mapped IPv6 counts as IPv4) lies in the rule's address. */
bool ims_diam_rule_address(const struct ims_diam_rule *r, const struct sockaddr *sa);

/* What a node trusts, from its configuration. The arrays are borrowed. */
struct ims_diam_trust {
    const struct ims_diam_rule *peers;    /* diameter.peers: exact identity + address */
    size_t npeers;
    const struct ims_diam_rule *accept;   /* diameter.accept_peers: lab patterns */
    size_t naccept;
    const struct ims_diam_rule *plain;    /* diameter.plain_peers: plain TCP allowed */
    size_t nplain;
    bool tls;                             /* diameter.tls: TLS unless plain_peers say not */
};

/* What the stack saw of a peer that connected. */
struct ims_diam_incoming {
    const char *identity;                 /* Origin-Host of its CER */
    const struct sockaddr *addr;          /* the connection's remote address */
    bool tls;                             /* the connection is TLS (CA-checked certificate) */
    bool cert_names_identity;             /* TLS: the certificate names @identity */
};

enum ims_diam_verdict {
    IMS_DIAM_PEER_CONFIGURED = 0,   /* accepted: in diameter.peers, from its address */
    IMS_DIAM_PEER_PATTERN,          /* accepted: matches an accept_peers pattern (lab) */
    IMS_DIAM_PEER_UNKNOWN,          /* refused: identity neither configured nor matched */
    IMS_DIAM_PEER_WRONG_ADDRESS,    /* refused: identity known, from another address */
    IMS_DIAM_PEER_PLAIN_REFUSED,    /* refused: plain TCP where TLS is required */
    IMS_DIAM_PEER_CERT_MISMATCH,    /* refused: the TLS certificate names another identity */
};

/* Accepted verdicts are the first two. */
static inline bool ims_diam_verdict_ok(enum ims_diam_verdict v)
{
    return v == IMS_DIAM_PEER_CONFIGURED || v == IMS_DIAM_PEER_PATTERN;
}

/*
 * ims_diam_peer_decide - accept or refuse a peer that connected. *rule (may be NULL)
 * receives the rule that decided (the configured peer or the pattern), or NULL.
 * An identity of diameter.peers is judged by its own entry only: a pattern that would
 * match it does not let it in from another address.
 */
enum ims_diam_verdict ims_diam_peer_decide(const struct ims_diam_trust *t,
                                           const struct ims_diam_incoming *in,
                                           const struct ims_diam_rule **rule);

/* The peer may talk plain TCP with us: the node does not require TLS, or a plain_peers
 * rule names it (and its address, when @sa is not NULL). */
bool ims_diam_plain_allowed(const struct ims_diam_trust *t, const char *identity,
                            const struct sockaddr *sa);

/* "configured", "unknown identity", ... for logs; short label for metrics ("unknown"). */
const char *ims_diam_verdict_text(enum ims_diam_verdict v);
const char *ims_diam_verdict_label(enum ims_diam_verdict v);

/* Numeric text of an address ("127.0.0.1", "::1"), "?" when not AF_INET/AF_INET6. */
const char *ims_diam_addr_text(const struct sockaddr *sa, char *buf, size_t len);

#endif
