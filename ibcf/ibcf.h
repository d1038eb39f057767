/*
 * ibcf.h - the IBCF daemon's context and cross-file functions
 *
 * The Interconnection Border Control Function (TS 23.228 4.14, TS 24.229 5.10) stands at
 * the home network's border with the networks it has an agreement with (its peers). Towards
 * a peer it hides the home network's topology (THIG): the Via, Record-Route, Path and
 * Service-Route entries of the home network are replaced by one entry of the IBCF, and the
 * Record-Route, Path and Service-Route ones come back as a token only this IBCF can open
 * (AES-256-GCM under its key), which restores them when the peer's requests return along
 * them. It applies the trust domain (RFC 3325) per peer: the identities an untrusted peer
 * asserts go, and so do ours towards it when the user asked for privacy.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IBCF_H
#define IBCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "daemon.h"
#include "netlist.h"
#include "proxy.h"

#define IBCF_NAME_MAX 32
#define IBCF_URI_MAX 256
#define IBCF_HOST_MAX 128
#define IBCF_MAX_NETS 8
#define IBCF_MAX_DOMAINS 8
#define IBCF_MAX_PREFIXES 8
#define IBCF_MAX_PEERS 32
#define IBCF_KEY_LEN 32                 /* AES-256 */

/* ---- peer.c: the networks of ibcf.peers (pure) ---- */

/* Another network the home network exchanges traffic with */
struct ibcf_peer {
    char name[IBCF_NAME_MAX];           /* in logs, Warnings and (bound into) its tokens */
    char next_hop[IBCF_URI_MAX];        /* its entry point: where requests for it go */
    struct ims_net nets[IBCF_MAX_NETS]; /* where its requests come from (net=) */
    int nnets;
    char domains[IBCF_MAX_DOMAINS][IBCF_HOST_MAX];   /* "ims.b.net" or "*.b.net" */
    int ndomains;
    char prefixes[IBCF_MAX_PREFIXES][17];            /* E.164 prefixes ("+44") */
    int nprefixes;
    bool trusted;                       /* within our trust domain (RFC 3325 Spec(T)) */
    bool hiding;                        /* topology hiding towards it */
    bool roaming;                       /* its P-CSCFs may register our users through it */
    char ioi[IBCF_HOST_MAX];            /* its inter-operator identifier (ioi=; default: its
                                         * first domain, else its name) */
};

/*
 * ibcf_peer_parse - one ibcf.peers item: '<name> <next-hop SIP URI> net=<address[/prefix]>...
 * domain=<domain|*.domain>... [prefix=+<digits>]... [trusted=yes|no] [hiding=yes|no]
 * [roaming=yes|no] [ioi=<identifier>]' (trusted no, hiding yes, roaming no by default; at
 * least one net= and one domain= or prefix=; ioi defaults to the first domain, else the
 * name). Returns 0, or -EINVAL with the reason in @err.
 */
int ibcf_peer_parse(const char *item, struct ibcf_peer *out, char *err, size_t errlen);
int ibcf_check_peer_item(const char *value, char *err, size_t errlen);

/*
 * ibcf_peers_check - the list as a whole: names unique, no network of one peer overlapping
 * another's or @home (sip.trusted_peers, the home network's nodes), no domain or prefix
 * twice. 0, or -EINVAL with the reason in @err.
 */
int ibcf_peers_check(const struct ibcf_peer *peers, size_t n, const struct ims_netlist *home,
                     char *err, size_t errlen);

/* The peer whose networks hold @sa (a request's transport source), or NULL */
const struct ibcf_peer *ibcf_peer_by_source(const struct ibcf_peer *peers, size_t n,
                                            const struct sockaddr *sa);
/*
 * ibcf_peer_by_target - the peer a request for @url goes to: a numeric host by the peers'
 * networks, a host name by their domains (exact, else the longest "*.suffix"), a telephone
 * number (tel:, user=phone) by the longest prefix. NULL when no peer has it.
 */
const struct ibcf_peer *ibcf_peer_by_target(const struct ibcf_peer *peers, size_t n,
                                            const url_t *url);

/* ---- token.c: what the IBCF hides, sealed under its own key (pure) ---- */

/*
 * Kinds of token. A dialog's token (Record-Route) is bound to its Call-ID; a registration's
 * (Path, Service-Route) lives as long as the registration and is bound to the peer only.
 * Every token is bound to the peer network it was given to: another network cannot use it.
 */
enum { IBCF_TOKEN_DIALOG = 'D', IBCF_TOKEN_REGISTRATION = 'R' };

/* Room for a token that seals @plain_len bytes (with its NUL) */
size_t ibcf_token_size(size_t plain_len);

/*
 * ibcf_token_seal - @plain sealed (AES-256-GCM, a random nonce; the kind, @peer and, for a
 * dialog, @call_id as associated data) into @out: the kind letter, then base64url. Returns
 * the length, -ENOSPC, or -EIO when the cipher fails.
 */
int ibcf_token_seal(const uint8_t key[IBCF_KEY_LEN], int kind, const char *peer,
                    const char *call_id, const char *plain, char *out, size_t len);

/*
 * ibcf_token_open - the text @token sealed, into @out, when this key made it for this peer
 * (and this Call-ID for a dialog token). Returns its kind, or -EINVAL (not ours, altered,
 * another peer's or another dialog's), -ENOSPC.
 */
int ibcf_token_open(const uint8_t key[IBCF_KEY_LEN], const char *token, const char *peer,
                    const char *call_id, char *out, size_t len);

/* ---- hide.c: the header edits of topology hiding (pure, on a parsed message) ---- */

/* What an edit needs: who we are, who the peer is, and the key */
struct ibcf_th {
    const uint8_t *key;
    const char *peer;                   /* the peer network's name */
    const char *call_id;
    const char *host;                   /* the IBCF's address, for its own entries */
    unsigned port;
    const char *domain;                 /* tokenized-by= (the home domain) */
};

/* Our own entry with a token: <sip:TOKEN@host:port;lr;tokenized-by=domain>, into @out */
int ibcf_th_entry(const struct ibcf_th *th, int kind, const char *hidden, char *out,
                  size_t len);

/*
 * ibcf_th_token_of - the token of our own entry @url (host and port ours, tokenized-by=
 * present, a user part): a pointer into @url, or NULL when it is not such an entry.
 */
const char *ibcf_th_token_of(const struct ibcf_th *th, const url_t *url);

/* true when @url is our plain entry (host and port ours, no user part) */
bool ibcf_th_is_plain(const struct ibcf_th *th, const url_t *url);

/*
 * ibcf_hide_vias - every Via of a request towards the peer replaced by one of the IBCF
 * (SIP/2.0/UDP host:port;branch=@branch). The replaced entries are copied, as one header
 * value, into @saved (to restore in the responses). 0, -ENOSPC or -ENOMEM.
 */
int ibcf_hide_vias(msg_t *msg, sip_t *sip, const struct ibcf_th *th, const char *branch,
                   char *saved, size_t len);

/*
 * ibcf_restore_vias - in a response coming back, the Via of @branch (the first or second
 * entry: a stateless relay still has the proxy's own on top) replaced by @saved. 0, or
 * -ENOENT when that Via is not there (the response is left as it is), -ENOMEM.
 */
int ibcf_restore_vias(msg_t *msg, sip_t *sip, const char *branch, const char *saved);

/*
 * ibcf_hide_list - the entries of a Record-Route or Path list of a request towards the peer
 * (@list_class: sip_record_route_class or sip_path_class) removed and copied into @saved
 * ("" when there were none). With @hide false they stay and @saved is "". Then our entry,
 * a token of @kind sealing what was removed, goes on top. 0, -ENOSPC, -ENOMEM, -EIO.
 */
int ibcf_hide_list(msg_t *msg, sip_t *sip, msg_hclass_t *list_class, const struct ibcf_th *th,
                   int kind, bool hide, char *saved, size_t len);

/*
 * ibcf_restore_list - in a response coming back, our token entry of a Record-Route or Path
 * list replaced by our plain entry followed by @saved. 0, or -ENOENT when it is not there.
 */
int ibcf_restore_list(msg_t *msg, sip_t *sip, msg_hclass_t *list_class,
                      const struct ibcf_th *th, const char *saved);

/*
 * ibcf_hide_response_rr - in a response going to the peer (to a request it sent us), our
 * plain Record-Route entry and the home entries above it become one entry whose token
 * (a dialog's) seals those entries in the order the peer's requests will take them (the
 * one nearest to us first). With @hide false only our entry becomes a token (of none).
 * 0, -ENOENT when our entry is not in the list (nothing changed), -ENOSPC, -ENOMEM.
 */
int ibcf_hide_response_rr(msg_t *msg, sip_t *sip, const struct ibcf_th *th, bool hide);

/*
 * ibcf_hide_service_route - in a 2xx to a REGISTER going to the peer, every Service-Route
 * entry replaced by our entry with a registration token sealing them (with @hide false,
 * ours with a token of none goes on top). 0 (also with no Service-Route), -ENOSPC, -ENOMEM.
 */
int ibcf_hide_service_route(msg_t *msg, sip_t *sip, const struct ibcf_th *th, bool hide);

/* Put our plain entry on top of a Path or Service-Route list. 0 or -ENOMEM. */
int ibcf_push_plain(msg_t *msg, sip_t *sip, msg_hclass_t *list_class,
                    const struct ibcf_th *th);

/*
 * ibcf_restore_routes - the Route entries at the top of a request from the peer that name
 * this IBCF, opened: the entries their tokens seal, in order, into @out (comma separated,
 * "" when none). *@tokens counts the tokens opened. 0, or -EINVAL naming the entry in @why
 * when a token does not open (not ours, altered, another peer's or dialog's), -ENOSPC.
 */
int ibcf_restore_routes(const sip_t *sip, const struct ibcf_th *th, char *out, size_t len,
                        int *tokens, char *why, size_t whylen);

/* ---- policy.c: the trust domain at the border (RFC 3325, TS 24.229 4.4, 5.10) ---- */

enum ibcf_dir { IBCF_IN, IBCF_OUT };    /* from the peer / towards the peer */

/*
 * ibcf_policy_apply - the headers a message crossing the border in @dir loses: charging
 * addresses always; from an untrusted peer the identities it asserts (P-Asserted-Identity,
 * P-Served-User, P-Profile-Key, P-Asserted-Service) and its access information; towards
 * an untrusted peer the same, except P-Asserted-Identity which goes only when Privacy asks
 * for 'id' (RFC 3323). With @hide, icid-generated-at (an address of ours) leaves the
 * P-Charging-Vector and the warn-agents of Warnings become @host. Returns how many
 * asserted identities (P-Asserted-Identity entries) were removed.
 */
int ibcf_policy_apply(msg_t *msg, sip_t *sip, enum ibcf_dir dir, bool trusted, bool hide,
                      const char *host);

/*
 * ibcf_ioi_apply - the inter-operator identifiers of the P-Charging-Vector of a message
 * crossing the border (TS 24.229 5.10, RFC 7315 4.6): orig-ioi names the network of the
 * request's sender, term-ioi the network that answers. @req: for a response @sip, its
 * request (may be NULL); ignored for a request. A request leaving (@dir OUT) gets orig-ioi
 * @home and no term-ioi; a request arriving gets no term-ioi and, unless a @trusted peer
 * wrote one, orig-ioi @peer_ioi. A response arriving gets orig-ioi @home back and term-ioi
 * @peer_ioi unless a trusted peer wrote one; a response leaving gets term-ioi @home. A
 * response without P-Charging-Vector gets one with its request's ICID; a request without
 * one is left alone. Returns 0, or -EINVAL when there was none to edit.
 */
int ibcf_ioi_apply(msg_t *msg, sip_t *sip, enum ibcf_dir dir, const sip_t *req,
                   const char *home, const char *peer_ioi, bool trusted);

/* ---- charging.c: offline charging (Rf) of what crosses the border ---- */

struct ims_chg;
struct ibcf;
int ibcf_charging_init(struct ibcf *b);
/* Every dialog closed (STOP), then the Diameter stack stopped and the table freed */
void ibcf_charging_stop(struct ibcf *b);
void ibcf_charging_tick(struct ibcf *b);
/* The final response @resp to @req passed (as it leaves the IBCF): START or EVENT, Role-Of-
 * Node originating when @outbound (home -> peer), else terminating; @t0 the request's
 * arrival */
void ibcf_charging_response(struct ibcf *b, const sip_t *req, const sip_t *resp, bool outbound,
                            time_t t0);
/* A request inside a dialog crosses: BYE -> STOP, others noted (CSeq) */
void ibcf_charging_in_dialog(struct ibcf *b, const sip_t *req);

/* ---- border.c: the requests crossing the border ---- */

struct ibcf {
    struct ims_daemon *d;
    char domain[IBCF_HOST_MAX];         /* the home network (tokenized-by=, inbound targets) */
    char icscf[IBCF_URI_MAX];           /* where the peers' initial requests go */
    struct ibcf_peer peers[IBCF_MAX_PEERS];
    size_t npeers;
    uint8_t key[IBCF_KEY_LEN];
    unsigned port;                      /* sip.port, for our own entries */
    char ioi[IBCF_HOST_MAX];            /* ibcf.ioi: the home network's IOI */
    struct ims_chg *chg;                /* offline charging (charging.cdf), or NULL */
    su_timer_t *tick;                   /* charging.max_age, every second */
};

void ibcf_border_metrics(void);

/* A request from a peer network: restored, checked, then to the I-CSCF or along its Route */
int ibcf_inbound(struct ibcf *b, const struct ibcf_peer *peer, nta_incoming_t *irq,
                 const sip_t *sip);

/* A request from the home network to a peer: routed to it, its topology hidden */
int ibcf_outbound(struct ibcf *b, nta_incoming_t *irq, const sip_t *sip);

#endif
