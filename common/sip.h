/*
 * sip.h - the daemon's SIP stack: one sofia-sip nta agent on the configured transports
 *
 * All nta objects live on the loop thread. Requests outside any dialog reach the
 * daemon's request function; it returns a status to answer at once (nta replies), or 0
 * when it keeps the transaction (see proxy.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_SIP_H
#define IMS_SIP_H

#include <stdbool.h>

#include <jansson.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "http.h"

struct ims_sip;

struct ims_sip_conf {
    const char *address;      /* numeric listen address */
    int port;
    char **transports;        /* "udp", "tcp" (NULL-terminated) */
    const char *host;         /* this node's host name, for Via-independent own-URI checks */
    const char *node;         /* short name for Warning and Server headers ("pcscf") */
    char **hosts;             /* static name resolution "name=address" (may be NULL) */
};

typedef int (*ims_sip_request_fn)(void *arg, nta_incoming_t *irq, const sip_t *sip);

/*
 * ims_sip_create - bind the transports and create the default leg.
 * Returns NULL when a transport cannot be bound (logged with the address and the reason).
 */
struct ims_sip *ims_sip_create(su_root_t *root, const struct ims_sip_conf *conf,
                               ims_sip_request_fn fn, void *arg);
void ims_sip_destroy(struct ims_sip *sip);

nta_agent_t *ims_sip_agent(struct ims_sip *sip);
/* The agent's default leg (out of dialog), for requests of our own outside any dialog */
nta_leg_t *ims_sip_leg(struct ims_sip *sip);
su_root_t *ims_sip_root(struct ims_sip *sip);
/* This node's own URI, "sip:<address>:<port>;lr" (for Path, Record-Route, Service-Route). */
const url_t *ims_sip_own_uri(struct ims_sip *sip);
/*
 * ims_sip_resolve - where to send a request for @target: a copy of @target (from @home) with
 * the host replaced by its address when sip.hosts names it, or NULL when it does not (then
 * sofia-sip resolves the name itself).
 */
url_t *ims_sip_resolve(struct ims_sip *sip, su_home_t *home, const url_t *target);

/* true when @url designates this node (address or host name, and port). */
bool ims_sip_is_own(struct ims_sip *sip, const url_t *url);
const char *ims_sip_node(struct ims_sip *sip);
const char *ims_sip_address(struct ims_sip *sip);

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

/* Count a response sent or relayed (for /metrics) */
void ims_sip_count_response(struct ims_sip *sip, int status);

#endif
