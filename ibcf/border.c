/*
 * border.c - the requests that cross the border (TS 24.229 5.10), and their responses
 *
 * Outbound (from the home network's trust domain to a peer): validate -> the peer the
 * Route or the Request-URI leads to (404 when none) -> the border's policy -> hiding: our
 * Via for the home ones, our token entry for the Record-Route (and a REGISTER's Path) ->
 * to the peer's entry point, or along the Route. Responses coming back get the hidden
 * entries back and lose what the peer may not assert.
 *
 * Inbound (from a peer's addresses): the tokens of our Route entries opened (403 when one
 * does not open) -> validate -> inside a dialog or registration of ours (a token): along
 * the Route the tokens restore; otherwise an initial request for a home identity, to the
 * I-CSCF (a Route beyond us that no token of ours vouches for: 403; another domain: 404;
 * a REGISTER from a network that is no roaming partner: 403) -> the border's policy ->
 * Record-Route (Path for a REGISTER) with our plain entry. Responses going back have the
 * home entries above ours in their Record-Route (and a REGISTER's Service-Route) hidden
 * behind one token entry.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#define SAVED_MAX 8192

struct call {
    struct ibcf *b;
    struct ims_ptx *tx;                 /* NULL once the transaction has ended */
    const struct ibcf_peer *peer;
    bool outbound;                      /* home -> peer */
    bool token_rr;                      /* outbound: our token entry heads the Record-Route */
    bool token_path;                    /* outbound REGISTER: ... and the Path */
    char branch[48];                    /* outbound with hiding: our Via standing for ... */
    char *vias;                         /* ... these (malloc'd) */
    char *rr;                           /* outbound: the Record-Route entries hidden */
    char *path;                         /* outbound REGISTER: the Path entries hidden */
    char call_id[256];
    time_t t0;                          /* the request's arrival (charging) */
};

static struct {
    struct ims_counter *fwd_in, *fwd_out, *ref_in, *ref_out, *paid, *tokens;
} m;

void ibcf_border_metrics(void)
{
    const char *name = "ibcf_requests_total", *help = "requests by direction and outcome";
    m.fwd_in = ims_counter_new(name, help, "direction=\"in\",outcome=\"forwarded\"");
    m.ref_in = ims_counter_new(name, help, "direction=\"in\",outcome=\"refused\"");
    m.fwd_out = ims_counter_new(name, help, "direction=\"out\",outcome=\"forwarded\"");
    m.ref_out = ims_counter_new(name, help, "direction=\"out\",outcome=\"refused\"");
    m.paid = ims_counter_new("ibcf_asserted_identities_removed_total", "P-Asserted-Identity "
                             "entries removed at the border (untrusted peers)", NULL);
    m.tokens = ims_counter_new("ibcf_route_tokens_refused_total", "requests of a peer refused "
                               "because a Route token of ours did not open", NULL);
}

static void call_free(struct call *c)
{
    free(c->vias);
    free(c->rr);
    free(c->path);
    free(c);
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    (void)tx;
    call_free(arg);
}

static struct ibcf_th th_of(const struct call *c)
{
    struct ibcf *b = c->b;
    return (struct ibcf_th){ .key = b->key, .peer = c->peer->name, .call_id = c->call_id,
                             .host = ims_sip_address(b->d->sip), .port = b->port,
                             .domain = b->domain };
}

static void refuse(struct call *c, int status, const char *phrase, const char *why)
{
    struct ims_log_ids ids = { .call_id = c->call_id };
    const sip_t *req = ims_ptx_sip(c->tx);
    ims_log(IMS_LOG_INFO, &ids, "ibcf: %s %s network %s refused %d: %s",
            req ? req->sip_request->rq_method_name : "request", c->outbound ? "to" : "from",
            c->peer ? c->peer->name : "?", status, why);
    ims_counter_inc(c->outbound ? m.ref_out : m.ref_in);
    ims_ptx_refuse(c->tx, status, phrase, why, 0);
}

/*
 * Forward along @hop, or refuse 500. A forwarded ACK ends its transaction at once, and the
 * call with it (on_done): nothing of @c is read after a successful forward.
 */
static void forward(struct call *c, const struct ims_ptx_hop *hop)
{
    const sip_t *req = ims_ptx_sip(c->tx);
    char method[32], peer[IBCF_NAME_MAX], call_id[sizeof(c->call_id)];
    snprintf(method, sizeof(method), "%s", req ? req->sip_request->rq_method_name : "ACK");
    snprintf(peer, sizeof(peer), "%s", c->peer->name);
    snprintf(call_id, sizeof(call_id), "%s", c->call_id);
    bool outbound = c->outbound;
    if (req && req->sip_to && req->sip_to->a_tag)
        ibcf_charging_in_dialog(c->b, req);
    int st = ims_ptx_forward_ex(c->tx, hop);
    if (st) {
        refuse(c, st, NULL, "cannot forward");
        return;
    }
    ims_counter_inc(outbound ? m.fwd_out : m.fwd_in);
    struct ims_log_ids ids = { .call_id = call_id };
    ims_log(IMS_LOG_DEBUG, &ids, "ibcf: %s %s network %s forwarded", method,
            outbound ? "to" : "from", peer);
}

/* A new call context and its proxy transaction; NULL after answering 500 */
static struct call *call_new(struct ibcf *b, nta_incoming_t *irq, const sip_t *sip,
                             const struct ibcf_peer *peer, bool outbound,
                             ims_ptx_response_fn on_response)
{
    struct ims_ptx *tx = ims_ptx_create(b->d->sip, irq);
    if (!tx) {
        nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        return NULL;
    }
    struct call *c = calloc(1, sizeof(*c));
    if (!c) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return NULL;
    }
    c->b = b;
    c->tx = tx;
    c->peer = peer;
    c->outbound = outbound;
    c->t0 = time(NULL);
    if (sip->sip_call_id)
        snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id->i_id);
    ims_ptx_set_hooks(tx, on_response, on_done, c);
    return c;
}

static bool is_method(const sip_t *sip, sip_method_t method)
{
    return sip->sip_request->rq_method == method;
}

/* ---- outbound: home -> peer ---- */

/*
 * A response from the peer: what was hidden comes back; the peer's assertions judged. A
 * response of our own before a peer was chosen (483, 404 "no peer network") has nothing
 * to restore.
 */
static int on_response_out(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    struct call *c = arg;
    (void)tx;
    if (!c->peer)
        return 0;
    struct ibcf_th th = th_of(c);
    struct ims_log_ids ids = { .call_id = c->call_id };
    /* without our Via: a response of our own (a transport error, a timeout), made from
     * the request as it came with its Vias, or a peer that dropped it */
    if (c->vias && ibcf_restore_vias(msg, sip, c->branch, c->vias) != 0)
        ims_log(IMS_LOG_DEBUG, &ids, "ibcf: a response for network %s without our Via: its "
                "Via set is left as it is", c->peer->name);
    int rc = c->token_rr && sip->sip_record_route
                 ? ibcf_restore_list(msg, sip, sip_record_route_class, &th, c->rr ? c->rr : "")
                 : 0;
    if (rc == -ENOENT)
        ims_log(IMS_LOG_INFO, &ids, "ibcf: a response of network %s without our "
                "Record-Route entry", c->peer->name);
    else if (rc != 0)
        ims_log(IMS_LOG_WARN, &ids, "ibcf: the Record-Route of a response of network %s "
                "cannot be restored (%s): it is relayed as it came", c->peer->name,
                rc == -EINVAL ? "an entry that cannot be written back" : strerror(-rc));
    if (c->token_path && sip->sip_path)
        ibcf_restore_list(msg, sip, sip_path_class, &th, c->path ? c->path : "");
    int status = sip->sip_status->st_status;
    if (c->token_path && status >= 200 && status < 300 && sip->sip_service_route)
        ibcf_push_plain(msg, sip, sip_service_route_class, &th);   /* stay on their way */
    int n = ibcf_policy_apply(msg, sip, IBCF_IN, c->peer->trusted, false, th.host);
    if (n > 0)
        ims_counter_add(m.paid, (uint64_t)n);
    ibcf_ioi_apply(msg, sip, IBCF_IN, ims_ptx_sip(c->tx), c->b->ioi, c->peer->ioi,
                   c->peer->trusted);
    ibcf_charging_response(c->b, ims_ptx_sip(c->tx), sip, true, c->t0);
    return 0;
}

/* Our Via for the hidden ones: a fresh branch (RFC 3261 magic cookie) */
static int hide_vias(struct call *c, const struct ibcf_th *th)
{
    uint8_t r[12];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -EIO;
    int n = snprintf(c->branch, sizeof(c->branch), "z9hG4bK-th-");
    for (size_t i = 0; i < sizeof(r); i++)
        n += snprintf(c->branch + n, sizeof(c->branch) - (size_t)n, "%02x", r[i]);
    char *saved = malloc(SAVED_MAX);
    if (!saved)
        return -ENOMEM;
    int rc = ibcf_hide_vias(ims_ptx_msg(c->tx), ims_ptx_sip(c->tx), th, c->branch, saved,
                            SAVED_MAX);
    if (rc == 0)
        c->vias = saved;
    else
        free(saved);
    return rc;
}

/* Record-Route (and Path) behind our token entry; kept in the call for the responses */
static int hide_list(struct call *c, const struct ibcf_th *th, msg_hclass_t *hc, int kind,
                     char **keep)
{
    char *saved = malloc(SAVED_MAX);
    if (!saved)
        return -ENOMEM;
    int rc = ibcf_hide_list(ims_ptx_msg(c->tx), ims_ptx_sip(c->tx), hc, th, kind,
                            c->peer->hiding, saved, SAVED_MAX);
    if (rc == 0 && saved[0])
        *keep = saved;
    else
        free(saved);
    return rc;
}

/* The edits of a request towards the peer; 0 or -errno */
static int prepare_out(struct call *c)
{
    msg_t *msg = ims_ptx_msg(c->tx);
    sip_t *req = ims_ptx_sip(c->tx);
    struct ibcf_th th = th_of(c);
    ibcf_policy_apply(msg, req, IBCF_OUT, c->peer->trusted, c->peer->hiding, th.host);
    ibcf_ioi_apply(msg, req, IBCF_OUT, NULL, c->b->ioi, c->peer->ioi, c->peer->trusted);
    int rc = 0;
    if (c->peer->hiding)
        rc = hide_vias(c, &th);
    if (rc || is_method(req, sip_method_ack) || is_method(req, sip_method_cancel))
        return rc;
    if (is_method(req, sip_method_register)) {
        rc = hide_list(c, &th, sip_path_class, IBCF_TOKEN_REGISTRATION, &c->path);
        c->token_path = rc == 0;
        return rc;
    }
    rc = hide_list(c, &th, sip_record_route_class, IBCF_TOKEN_DIALOG, &c->rr);
    c->token_rr = rc == 0;
    return rc;
}

int ibcf_outbound(struct ibcf *b, nta_incoming_t *irq, const sip_t *sip)
{
    struct call *c = call_new(b, irq, sip, NULL, true, on_response_out);
    if (!c)
        return 0;
    int st = ims_ptx_validate(c->tx);
    if (st) {
        ims_ptx_reply(c->tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(c->tx);
    const url_t *target = req->sip_route ? req->sip_route->r_url : req->sip_request->rq_url;
    c->peer = ibcf_peer_by_target(b->peers, b->npeers, target);
    if (!c->peer) {
        char why[300];
        snprintf(why, sizeof(why), "no peer network for %s%s",
                 target->url_host ? target->url_host : "this target",
                 req->sip_route ? " (the next hop of the Route)" : "");
        refuse(c, 404, "Not Found", why);
        return 0;
    }
    if (prepare_out(c) != 0) {
        refuse(c, 500, "Server Internal Error", "cannot hide the topology of this request");
        return 0;
    }
    url_t *next = NULL;
    if (!req->sip_route)
        next = url_make(msg_home(ims_ptx_msg(c->tx)), c->peer->next_hop);
    struct ims_ptx_hop hop = { .next_hop = next };
    forward(c, &hop);
    return 0;
}

/* ---- inbound: peer -> home ---- */

/* A response going to the peer: the home entries hidden, our policy towards it */
static int on_response_in(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    struct call *c = arg;
    (void)tx;
    struct ibcf_th th = th_of(c);
    struct ims_log_ids ids = { .call_id = c->call_id };
    int status = sip->sip_status->st_status;
    if (sip->sip_record_route && status > 100) {
        int rc = ibcf_hide_response_rr(msg, sip, &th, c->peer->hiding);
        if (rc == -ENOENT && c->peer->hiding) {
            /* a Record-Route without our entry: we cannot tell home entries from the
             * peer's; none of ours leaves */
            ims_log(IMS_LOG_WARN, &ids, "ibcf: a response to network %s lost our "
                    "Record-Route entry: its Record-Route is removed", c->peer->name);
            msg_header_remove_all(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_record_route);
        } else if (rc != 0 && rc != -ENOENT) {
            ims_log(IMS_LOG_WARN, &ids, "ibcf: cannot hide the Record-Route of a response to "
                    "network %s: it is removed", c->peer->name);
            msg_header_remove_all(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_record_route);
        }
    }
    if (status >= 200 && status < 300 && sip->sip_service_route &&
        ibcf_hide_service_route(msg, sip, &th, c->peer->hiding) != 0) {
        ims_log(IMS_LOG_WARN, &ids, "ibcf: cannot hide the Service-Route of a response to "
                "network %s: it is removed", c->peer->name);
        msg_header_remove_all(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_service_route);
    }
    ibcf_policy_apply(msg, sip, IBCF_OUT, c->peer->trusted, c->peer->hiding, th.host);
    ibcf_ioi_apply(msg, sip, IBCF_OUT, ims_ptx_sip(c->tx), c->b->ioi, c->peer->ioi,
                   c->peer->trusted);
    ibcf_charging_response(c->b, ims_ptx_sip(c->tx), sip, false, c->t0);
    return 0;
}

/* Is the Request-URI one of the home network's identities (or a telephone number)? */
static bool home_target(const struct ibcf *b, const url_t *u)
{
    if (u->url_type == url_tel)
        return true;
    return (u->url_type == url_sip || u->url_type == url_sips) && u->url_host &&
           strcasecmp(u->url_host, b->domain) == 0;
}

/* Where an inbound request goes: 0 with @hop filled, or the status it is refused with */
static int route_in(struct call *c, int tokens, const char *restored, struct ims_ptx_hop *hop,
                    const char **phrase, char *why, size_t whylen)
{
    msg_t *msg = ims_ptx_msg(c->tx);
    sip_t *req = ims_ptx_sip(c->tx);
    if (tokens > 0) {                   /* in a dialog or registration of ours */
        if (restored[0] && ims_sip_route_prepend(msg, req, restored) != 0) {
            *phrase = "Server Internal Error";
            snprintf(why, whylen, "cannot restore the Route");
            return 500;
        }
        return 0;
    }
    if (req->sip_route) {
        *phrase = "Forbidden";
        snprintf(why, whylen, "a Route beyond the IBCF from network %s: only along routes "
                 "this IBCF gave it", c->peer->name);
        return 403;
    }
    if (!home_target(c->b, req->sip_request->rq_url)) {
        *phrase = "Not Found";
        snprintf(why, whylen, "not a domain of this network");
        return 404;
    }
    hop->next_hop = url_make(msg_home(msg), c->b->icscf);
    if (!hop->next_hop) {
        *phrase = "Server Internal Error";
        snprintf(why, whylen, "ibcf.icscf is not a URI");
        return 500;
    }
    return 0;
}

/* The edits of a request from the peer, once routed; 0 or -errno */
static int prepare_in(struct call *c, struct ims_ptx_hop *hop)
{
    msg_t *msg = ims_ptx_msg(c->tx);
    sip_t *req = ims_ptx_sip(c->tx);
    struct ibcf_th th = th_of(c);
    int n = ibcf_policy_apply(msg, req, IBCF_IN, c->peer->trusted, false, th.host);
    ibcf_ioi_apply(msg, req, IBCF_IN, NULL, c->b->ioi, c->peer->ioi, c->peer->trusted);
    if (n > 0) {
        struct ims_log_ids ids = { .call_id = c->call_id };
        ims_counter_add(m.paid, (uint64_t)n);
        ims_log(IMS_LOG_DEBUG, &ids, "ibcf: %d asserted identities of untrusted network %s "
                "removed", n, c->peer->name);
    }
    if (is_method(req, sip_method_register))
        return ibcf_push_plain(msg, req, sip_path_class, &th);
    hop->record_route = !is_method(req, sip_method_ack) && !is_method(req, sip_method_cancel);
    return 0;
}

int ibcf_inbound(struct ibcf *b, const struct ibcf_peer *peer, nta_incoming_t *irq,
                 const sip_t *sip)
{
    char *restored = malloc(SAVED_MAX), why[300];
    if (!restored)
        return 500;
    struct call probe = { .b = b, .peer = peer };
    if (sip->sip_call_id)
        snprintf(probe.call_id, sizeof(probe.call_id), "%s", sip->sip_call_id->i_id);
    struct ibcf_th th = th_of(&probe);
    int tokens = 0;
    int rc = ibcf_restore_routes(sip, &th, restored, SAVED_MAX, &tokens, why, sizeof(why));
    if (rc != 0) {
        free(restored);
        struct ims_log_ids ids = { .call_id = probe.call_id };
        ims_log(IMS_LOG_INFO, &ids, "ibcf: %s from network %s refused 403: %s",
                sip->sip_request->rq_method_name, peer->name,
                rc == -EINVAL ? why : "its Route is too long");
        ims_counter_inc(m.ref_in);
        if (rc == -EINVAL)
            ims_counter_inc(m.tokens);
        return ims_sip_refuse(b->d->sip, irq, sip, 403, rc == -EINVAL ? why : "Route too long");
    }
    struct call *c = call_new(b, irq, sip, peer, false, on_response_in);
    if (!c) {
        free(restored);
        return 0;
    }
    int st = ims_ptx_validate(c->tx);
    const sip_t *req = ims_ptx_sip(c->tx);
    struct ims_ptx_hop hop = { 0 };
    const char *phrase = NULL;
    if (st) {
        ims_ptx_reply(c->tx, st, NULL, NULL);
    } else if (is_method(req, sip_method_register) && !peer->roaming) {
        snprintf(why, sizeof(why), "network %s is no roaming partner: its users do not "
                 "register here", peer->name);
        refuse(c, 403, "Forbidden", why);
    } else if (is_method(req, sip_method_ack) && tokens == 0 && !req->sip_route) {
        ims_ptx_reply(c->tx, 200, NULL, NULL);       /* an ACK outside a dialog: absorbed */
    } else if ((st = route_in(c, tokens, restored, &hop, &phrase, why, sizeof(why))) != 0) {
        refuse(c, st, phrase, why);
    } else if (prepare_in(c, &hop) != 0) {
        refuse(c, 500, "Server Internal Error", "cannot prepare the request");
    } else {
        forward(c, &hop);
    }
    free(restored);
    return 0;
}
