/*
 * route.c - where the S-CSCF's chain ends (TS 24.229 5.4.3.2 and 5.4.3.3)
 *
 * Originating: a telephone number (tel: or user=phone) is looked up in ENUM; a home user
 * goes to the I-CSCF (which asks the HSS where the callee is served), a number that is no
 * home user to the BGCF, any other domain to the exit IBCF (scscf.ibcf; TS 24.229 5.4.3.2)
 * or, without one, by its Request-URI. Terminating: every contact
 * of the served user in parallel (with its Path as Route), or the one instance a GRUU
 * names; 480 when none is registered.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "log.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

static struct ims_log_ids ids_of(const struct scscf_call *call)
{
    return (struct ims_log_ids){ .call_id = ims_ptx_call_id(call->tx),
                                 .icid = call->icid[0] ? call->icid : NULL };
}

static void forward(struct scscf_call *call, const struct ims_ptx_hop *hop, const char *where)
{
    const sip_t *req = ims_ptx_sip(call->tx);
    struct ims_log_ids ids = ids_of(call);
    ims_log(IMS_LOG_DEBUG, &ids, "scscf: %s for %s goes to %s", req->sip_request->rq_method_name,
            call->served, where);
    int st = ims_ptx_forward_ex(call->tx, hop);
    if (st)
        scscf_call_refuse(call, st, NULL, "cannot forward");
}

static bool home_host(const struct scscf *s, const url_t *u)
{
    return (u->url_type == url_sip || u->url_type == url_sips) && u->url_host &&
           strcasecmp(u->url_host, s->realm) == 0;
}

static void to_node(struct scscf_call *call, const char *node, const url_t *ruri)
{
    url_t *next = url_make(msg_home(ims_ptx_msg(call->tx)), node);
    if (!next) {
        scscf_call_refuse(call, 500, NULL, "bad next-hop URI in the configuration");
        return;
    }
    struct ims_ptx_hop hop = { .request_uri = ruri, .next_hop = next, .record_route = true };
    forward(call, &hop, node);
}

static void to_bgcf(struct scscf_call *call)
{
    to_node(call, call->s->bgcf, NULL);
}

/* ENUM gave @uri: the new Request-URI */
static void to_uri(struct scscf_call *call, const char *uri)
{
    url_t *u = url_make(msg_home(ims_ptx_msg(call->tx)), uri);
    if (!u || (u->url_type != url_sip && u->url_type != url_sips)) {
        struct ims_log_ids ids = ids_of(call);
        ims_log(IMS_LOG_WARN, &ids, "scscf: ENUM gave '%s', not a SIP URI: to the BGCF", uri);
        to_bgcf(call);
        return;
    }
    if (home_host(call->s, u)) {
        to_node(call, call->s->icscf, u);
        return;
    }
    if (call->s->ibcf[0]) {
        to_node(call, call->s->ibcf, u);
        return;
    }
    struct ims_ptx_hop hop = { .request_uri = u, .record_route = true };
    forward(call, &hop, uri);
}

static void on_enum(void *arg, const char *uri)
{
    struct scscf_call *call = arg;
    call->pending--;
    if (scscf_call_release(call) || !call->tx)
        return;
    if (ims_ptx_cancelled(call->tx)) {
        ims_ptx_reply(call->tx, 487, NULL, NULL);
        return;
    }
    if (uri)
        to_uri(call, uri);
    else
        to_bgcf(call);
}

void scscf_route_originating(struct scscf_call *call)
{
    struct scscf *s = call->s;
    const url_t *ruri = ims_ptx_sip(call->tx)->sip_request->rq_url;
    char target[SCSCF_ID_MAX], uri[SCSCF_ID_MAX];
    if (ims_sip_target_of(ruri, target, sizeof(target)) == 0 &&
        strncmp(target, "tel:", 4) == 0) {
        const char *number = target + 4;
        int rc = number[0] == '+'
                     ? scscf_enum_lookup(s, number, uri, sizeof(uri), on_enum, call)
                     : -ENOENT;             /* a local number: no E.164 to look up */
        if (rc == 1)
            to_uri(call, uri);
        else if (rc == 0)
            call->pending++;
        else
            to_bgcf(call);
        return;
    }
    if (home_host(s, ruri) && ruri->url_user && url_has_param(ruri, "gr") &&
        ims_map_get(s->tgruus, ruri->url_user)) {
        /* a temporary GRUU issued here: only this S-CSCF knows it (no LIR can find it) */
        char self[SCSCF_ID_MAX];
        url_e(self, sizeof(self), ims_sip_own_uri(s->d->sip));
        to_node(call, self, NULL);
        return;
    }
    if (home_host(s, ruri)) {
        to_node(call, s->icscf, NULL);
        return;
    }
    if (s->ibcf[0]) {                       /* another network: through its exit point */
        to_node(call, s->ibcf, NULL);
        return;
    }
    struct ims_ptx_hop hop = { .record_route = true };
    forward(call, &hop, "the Request-URI's domain");
}

/* "<urn:uuid:...>" and "urn:uuid:..." are the same instance */
static bool same_instance(const char *stored, const char *gr)
{
    size_t n = strlen(stored);
    if (n >= 2 && stored[0] == '<' && stored[n - 1] == '>')
        return strlen(gr) == n - 2 && strncasecmp(stored + 1, gr, n - 2) == 0;
    return strcasecmp(stored, gr) == 0;
}

void scscf_route_terminating(struct scscf_call *call)
{
    struct scscf *s = call->s;
    struct scscf_aor *aor = scscf_store_find(s, call->served);
    msg_t *msg = ims_ptx_msg(call->tx);
    sip_t *req = ims_ptx_sip(call->tx);
    const url_t *ruri = req->sip_request->rq_url;
    bool gruu = url_has_param(ruri, "gr");
    char gr[160] = "";
    if (gruu && ruri->url_params)
        ims_url_param(ruri->url_params, "gr", gr, sizeof(gr));

    /* for every branch: who was called (TS 24.229 5.4.3.3), where charging goes */
    char called[SCSCF_ID_MAX + 2];
    snprintf(called, sizeof(called), "<%s>", call->ruri);
    ims_sip_header_set(msg, req, "P-Called-Party-ID", called);
    if (aor && aor->ccf) {
        struct ims_pcfa pcfa = { .nccf = 1 };
        char v[300];
        snprintf(pcfa.ccf[0], sizeof(pcfa.ccf[0]), "%s", aor->ccf);
        if (ims_pcfa_format(&pcfa, v, sizeof(v)) > 0)
            ims_sip_header_set(msg, req, "P-Charging-Function-Addresses", v);
    }

    time_t now = time(NULL);
    int n = 0;
    for (const struct scscf_contact *c = aor ? aor->contacts : NULL; c; c = c->next) {
        if (c->expires <= now)
            continue;
        if (gruu && (gr[0] ? !same_instance(c->instance, gr)
                           : strcmp(c->tgruu, ruri->url_user ? ruri->url_user : "") != 0))
            continue;
        url_t *u = url_make(msg_home(msg), c->uri);
        if (!u)
            continue;
        struct ims_ptx_hop hop = { .request_uri = u, .routes = c->path[0] ? c->path : NULL,
                                   .record_route = true };
        if (ims_ptx_forward_ex(call->tx, &hop) != 0) {
            struct ims_log_ids ids = ids_of(call);
            ims_log(IMS_LOG_WARN, &ids, "scscf: cannot fork to %s", c->uri);
            continue;
        }
        n++;
    }
    /* the callee's network decides when nobody answers (the originating side keeps the
     * transaction's own limits) */
    if (n && req->sip_request->rq_method == sip_method_invite)
        ims_ptx_set_timer_c(call->tx, s->timer_c_ms);
    if (!n)
        scscf_call_refuse(call, 480, "Temporarily Unavailable",
                          gruu ? "that device is not registered"
                          : call->registered ? "no contact registered" : "not registered");
}
