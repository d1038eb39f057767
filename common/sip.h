/*
 * sip.h - the daemon's SIP stack: one sofia-sip nta agent on the configured transports
 *
 * All nta objects live on the loop thread. Requests outside any dialog reach the
 * daemon's request function in a server transaction; it returns a status to answer at once
 * (nta replies), or 0 when it keeps or has answered the transaction (see proxy.h); after it
 * returned a status it must not have destroyed the transaction. Before that, a request of
 * new work passes the admission control (admission.h): refused, it is answered 503 here
 * statelessly, with no transaction (a refusal holds no memory once answered; its
 * retransmissions are refused again, the ACK of a refused INVITE is absorbed), and the
 * daemon never sees it. A CANCEL that matches no transaction is answered 481 the same way.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_SIP_H
#define IMS_SIP_H

#include <stdbool.h>

#include <jansson.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "admission.h"
#include "http.h"
#include "netlist.h"

struct ims_sip;

struct ims_sip_conf {
    const char *address;      /* numeric listen address */
    int port;
    char **transports;        /* "udp", "tcp", "tls" (NULL-terminated) */
    const char *host;         /* this node's host name, for Via-independent own-URI checks */
    const char *node;         /* short name for Warning and Server headers ("pcscf") */
    char **hosts;             /* static name resolution "name=address" (may be NULL) */
    char **trusted;           /* trusted peers: "address" or "address/prefix" (may be NULL) */
    int tls_port;             /* of "tls" (5061) */
    const char *tls_cert;     /* PEM certificate (chain) of this node, for "tls" */
    const char *tls_key;      /* its PEM private key */
    const char *tls_ca;       /* PEM CA certificate(s) that sign the peers' certificates */
    bool tls_verify_clients;  /* a TLS connection made to us must present a certificate that
                               * tls_ca signed (mutual TLS: Mw, not Gm), else the handshake
                               * fails */
    bool own_uri_tls;         /* this node's own URI is its TLS URI (Mw over TLS) */
    const struct ims_admission_conf *admission;   /* overload control; NULL: off */
    unsigned t1x64_ms;        /* sip.t1x64_ms: RFC 3261 timers B, F, H and J (0: 64 x T1) */
};

/*
 * Where a request came from, as the transport saw it: the source address of the datagram
 * or of the TCP connection, never what a header of the request says. One UE flow.
 */
struct ims_sip_source {
    char ip[48];
    unsigned port;
    char proto[4];            /* "udp", "tcp" or "tls" */
    char key[64];             /* the flow: "ip:port/proto" ("[ip]:port/proto" for IPv6) */
    bool trusted;             /* the address is one of sip.trusted_peers (";tls" items
                               * only with verified_tls), or our own */
    bool verified_tls;        /* came over TLS whose peer certificate we verified */
    unsigned local_port;      /* the port of ours it arrived on (0: not known) */
};

typedef int (*ims_sip_request_fn)(void *arg, nta_incoming_t *irq, const sip_t *sip);

/*
 * ims_sip_create - bind the transports and create the leg of our own requests.
 * Returns NULL when a transport cannot be bound (logged with the address and the reason).
 */
struct ims_sip *ims_sip_create(su_root_t *root, const struct ims_sip_conf *conf,
                               ims_sip_request_fn fn, void *arg);
void ims_sip_destroy(struct ims_sip *sip);

nta_agent_t *ims_sip_agent(struct ims_sip *sip);
/* A leg for requests of our own outside any dialog (nta_outgoing_tcreate); it receives
 * nothing (not nta's default leg: see sip.c own_leg()) */
nta_leg_t *ims_sip_leg(struct ims_sip *sip);
su_root_t *ims_sip_root(struct ims_sip *sip);
/* How long transactions live (sip.t1x64_ms): timers B and F give up on a request, timers
 * H and J keep an answered one for its retransmissions */
unsigned ims_sip_t1x64_ms(struct ims_sip *sip);
/* This node's own URI, "sip:<address>:<port>;lr" (for Path, Record-Route, Service-Route);
 * with sip.own_uri_tls its TLS URI (below), so that the other nodes reach it over TLS */
const url_t *ims_sip_own_uri(struct ims_sip *sip);
/* Its URI on TLS, "sip:<address>:<tls port>;transport=tls;lr", or NULL when it has no TLS
 * transport (sip.transports) */
const url_t *ims_sip_tls_uri(struct ims_sip *sip);
/*
 * ims_sip_resolve - where to send a request for @target: a copy of @target (from @home) with
 * the host replaced by its address when sip.hosts names it, or NULL when it does not (then
 * sofia-sip resolves the name itself).
 */
url_t *ims_sip_resolve(struct ims_sip *sip, su_home_t *home, const url_t *target);
/*
 * ims_sip_strict_route - a request inside a dialog whose route set @set (in @home; NULL:
 * none) begins with a strict router (no lr): that router becomes the Request-URI (*@ruri),
 * the remote @target (NULL: not known) goes last in the set and *@route is the rest (RFC
 * 3261 12.2.1.1). Otherwise *@ruri and *@route are left as the caller set them.
 */
void ims_sip_strict_route(su_home_t *home, sip_route_t *set, url_t *target, url_t **ruri,
                          sip_route_t **route);

/*
 * ims_sip_source - the transport source of the request of @irq into @out, with whether it is
 * a trusted peer (sip.trusted_peers). 0, or -ENOENT when nta knows no source address (then
 * @out is empty and not trusted).
 */
int ims_sip_source(struct ims_sip *sip, nta_incoming_t *irq, struct ims_sip_source *out);
/*
 * ims_sip_add_transport - listen on @port of the node's address with transport @proto
 * ("udp", "tcp") too, besides sip.transports (e.g. the P-CSCF's protected IPsec ports).
 * 0, or -EADDRNOTAVAIL (logged).
 */
int ims_sip_add_transport(struct ims_sip *sip, int port, const char *proto);
/* The primary transport of ours on @port and @proto ("udp", "tcp"), for NTATAG_TPORT, or
 * NULL */
tport_t *ims_sip_tport(struct ims_sip *sip, int port, const char *proto);
/* Fill @out from a socket address (key and text forms); trusted is left false. */
void ims_sip_source_set(struct ims_sip_source *out, const struct sockaddr *sa, bool tcp);
/* The same for any transport name ("udp", "tcp", "tls"; longer names are cut) */
void ims_sip_source_set_proto(struct ims_sip_source *out, const struct sockaddr *sa,
                              const char *proto);
/* How many networks sip.trusted_peers lists (0: no SIP peer is trusted) */
size_t ims_sip_trusted_count(struct ims_sip *sip);

/*
 * ims_sip_admission - the admission control of this stack (never NULL; with no
 * configuration it takes everything). See admission.h.
 */
struct ims_admission *ims_sip_admission(struct ims_sip *sip);

/*
 * ims_sip_next_hop_fn - the next hop of request of new work @req when the daemon knows it
 * from the request alone, before any transaction (its configured next hop for that kind of
 * request; no lookup that could fail or wait), else NULL. The URI stays valid while the
 * daemon runs.
 */
typedef const url_t *(*ims_sip_next_hop_fn)(void *arg, const sip_t *req);

/*
 * ims_sip_set_next_hop - register @fn: a request of new work whose next hop it names and
 * that next hop asks for a reduction (RFC 7339) that this request falls in is answered 503
 * statelessly, before its server transaction, as admission's refusals are (reason
 * "downstream"). A request it lets through is not checked again for that next hop by its
 * proxy transaction (ims_sip_hop_checked()).
 */
void ims_sip_set_next_hop(struct ims_sip *sip, ims_sip_next_hop_fn fn, void *arg);

/* A refusal a daemon decides before the transaction (ims_sip_set_early_refusal()) */
struct ims_sip_refusal {
    int status;               /* 400..699 */
    unsigned retry_after;     /* seconds, 0: no Retry-After */
    char why[160];            /* the text of the Warning */
};

/*
 * ims_sip_early_refusal_fn - whether request of new work @req from @src is refused by a
 * bound the daemon keeps in memory (a table full, too much from one source), decided from
 * the request and that state alone: true with @out filled, false to go on. Its only side
 * effect may be counting the refusal; the daemon's request function checks the same again.
 */
typedef bool (*ims_sip_early_refusal_fn)(void *arg, const sip_t *req,
                                         const struct ims_sip_source *src,
                                         struct ims_sip_refusal *out);

/*
 * ims_sip_set_early_refusal - register @fn: a request of new work admission takes is asked
 * about first, and one it refuses is answered statelessly before any transaction (its ACK
 * absorbed). Not remembered in the refusal table: a retransmission is decided again (the
 * same answer, same To tag, while the daemon's state is the same).
 */
void ims_sip_set_early_refusal(struct ims_sip *sip, ims_sip_early_refusal_fn fn, void *arg);

/*
 * ims_sip_hop_checked - whether the request of @irq, being served now, already passed the
 * RFC 7339 check for a next hop before its transaction; then its key ("host:port") into
 * @key. For ims_ptx_create(), during the request function only.
 */
bool ims_sip_hop_checked(struct ims_sip *sip, nta_incoming_t *irq, char *key, size_t len);

/*
 * ims_sip_incoming_client - the admission class of the request of @irq: priority for an
 * emergency request or one from a trusted peer (work the core already took), else normal;
 * and into @key (may be NULL) its client, the source flow "address:port/proto".
 */
enum ims_load_class ims_sip_incoming_client(struct ims_sip *sip, nta_incoming_t *irq,
                                            char *key, size_t len);

/*
 * true when message @msg (a response, typically) came from a trusted peer or ourselves; a
 * ";tls" item of sip.trusted_peers counts only while nta delivers @msg (from a response
 * callback) and when its transport is TLS with a verified certificate
 */
bool ims_sip_msg_trusted(struct ims_sip *sip, msg_t *msg);

/* true when @url designates this node (address or host name, and its port or TLS port). */
bool ims_sip_is_own(struct ims_sip *sip, const url_t *url);
const char *ims_sip_node(struct ims_sip *sip);
const char *ims_sip_address(struct ims_sip *sip);
int ims_sip_port(struct ims_sip *sip);
/* The port of ours a request to @hop leaves from: sip.tls_port for a TLS hop (sips:, or
 * transport=tls) when we have TLS, else sip.port (for a Via of our own) */
int ims_sip_port_for(struct ims_sip *sip, const url_t *hop);

/*
 * ims_sip_warning - a Warning value of this node (RFC 3261 20.43): 399 <its address>
 * "<text>", the text printf-formatted with quotes and backslashes in it escaped, cut to
 * fit. Returns @buf.
 */
const char *ims_sip_warning(struct ims_sip *sip, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Health source: the bound transports */
enum ims_health ims_sip_health(void *arg, json_t *peers);

/*
 * ims_sip_reply_unhandled - the answer of a daemon to a request it does not handle yet:
 * OPTIONS -> 200 with Allow; ACK -> absorbed; anything else -> 501 Not Implemented with a
 * Warning naming the node and method. Returns the status for the request function to
 * return (0 when the reply was already sent).
 */
int ims_sip_reply_unhandled(struct ims_sip *sip, nta_incoming_t *irq, const sip_t *req,
                            const char *allow);

/*
 * ims_sip_dialog_source_ok - for a user agent that serves the trust domain only (the MRF,
 * the MGCF): whether a request inside one of its dialogs (@irq, @req, on *@leg, whose
 * callback and magic are @cb and @magic) comes from sip.trusted_peers. When not, it is
 * refused here (403 with a Warning; an ACK is dropped), logged, and false is returned: the
 * leg callback returns 0. A dialog's Call-ID and tags are no credential: proxies pass them
 * end to end, so the UE at the far end knows them, and could otherwise re-INVITE the MRF's
 * media towards any address or end a PSTN call past the CSCFs (and their charging).
 *
 * @rseq: the CSeq of the last request taken in the dialog (the INVITE's, or 0, when made).
 * nta checks the order of a dialog's CSeqs (RFC 3261 12.2.2) before the callback runs and
 * keeps the CSeq of every request it lets through to it, refused or not: a refused request
 * with a high CSeq would make each later request of the trusted side "out of order" (500),
 * a UE's BYE among them, and the call would stay up. So a refusal that moved the dialog's
 * CSeq replaces *@leg with a copy of it (same Call-ID, tags, route set, target, local CSeq)
 * that holds *@rseq again; the old leg is destroyed (nothing else may keep it).
 */
bool ims_sip_dialog_source_ok(struct ims_sip *sip, nta_incoming_t *irq, const sip_t *req,
                              nta_leg_t **leg, uint32_t *rseq, nta_request_f *cb,
                              nta_leg_magic_t *magic);

/*
 * ims_sip_refuse - answer the request of @irq with @status (its standard phrase), a Warning
 * of this node saying @why (ims_sip_warning()) and a Server header, then let the
 * transaction go. An ACK is not answered (it has no response). Returns 0, for a request
 * function to return.
 */
int ims_sip_refuse(struct ims_sip *sip, nta_incoming_t *irq, const sip_t *req, int status,
                   const char *why);
/* The same with a Retry-After of @retry_after seconds (none when 0). */
int ims_sip_refuse_ex(struct ims_sip *sip, nta_incoming_t *irq, const sip_t *req, int status,
                      const char *why, unsigned retry_after);
/* 415 Unsupported Media Type with the Accept the refused body missed (RFC 3261 21.4.13). */
int ims_sip_refuse_type(struct ims_sip *sip, nta_incoming_t *irq, const sip_t *req,
                        const char *accept, const char *why);

/* Count a response sent or relayed (for /metrics) */
void ims_sip_count_response(struct ims_sip *sip, int status);

#endif
