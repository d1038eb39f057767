/*
 * breakout.c - the BGCF's handling of requests (TS 24.229 5.6): choose the routes of the
 * called number or domain, send to the first, and on 503, 408 or a transport error (or a
 * next hop that sends nothing at all within bgcf.route_timeout_ms) to the next one
 *
 * validate (Max-Forwards, our Route) -> within a dialog: along the Route set -> a Route
 * beyond us: along it -> routes of the Request-URI (404 with a Warning when none) ->
 * forward, failing over route by route. The Request-URI is kept; the next hop receives the
 * request directly (as the S-CSCF sends it to the BGCF). Requests come from the trust domain
 * only (main.c refuses the others).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

struct call {
    struct bgcf *b;
    struct ims_ptx *tx;             /* NULL once the proxy transaction has ended */
    time_t t0;
    bool initial;                   /* out of dialog: charged, routed by the table */
    char target[BGCF_URI_MAX];      /* the Request-URI, for logs and Warnings */
    char icid[128];
    struct bgcf_target routes[BGCF_MAX_TRIES];
    int nroutes;
    int next;                       /* the next route to try */
    char tried[300];                /* "id (status), ..." for the Warning when all fail */
};

static struct {
    struct ims_counter *routed, *no_route, *failover, *exhausted, *in_dialog;
} m;

void bgcf_breakout_metrics(void)
{
    const char *name = "bgcf_requests_total", *help = "requests handled, by outcome";
    m.routed = ims_counter_new(name, help, "outcome=\"routed\"");
    m.no_route = ims_counter_new(name, help, "outcome=\"no_route\"");
    m.exhausted = ims_counter_new(name, help, "outcome=\"all_routes_failed\"");
    m.in_dialog = ims_counter_new(name, help, "outcome=\"in_dialog\"");
    m.failover = ims_counter_new("bgcf_failover_total", "requests sent to a next route after "
                                 "503, 408 or a transport error", NULL);
}

static struct ims_log_ids ids_of(const struct call *c)
{
    return (struct ims_log_ids){ .call_id = c->tx ? ims_ptx_call_id(c->tx) : NULL,
                                 .icid = c->icid[0] ? c->icid : NULL };
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    (void)tx;
    free(arg);
}

/* Every response going upstream (relayed or ours): the final one of an initial request is
 * charged */
static int on_response(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    struct call *c = arg;
    (void)msg;
    int status = sip->sip_status->st_status;
    if (status < 200 || !c->initial)
        return 0;
    const sip_t *req = ims_ptx_sip(tx);
    if (req)
        bgcf_charging_response(c->b, req, sip, c->t0);
    return 0;
}

static void refuse(struct call *c, int status, const char *phrase, const char *why)
{
    struct ims_log_ids ids = ids_of(c);
    const sip_t *req = ims_ptx_sip(c->tx);
    ims_log(IMS_LOG_INFO, &ids, "bgcf: %s to %s refused %d: %s",
            req ? req->sip_request->rq_method_name : "request", c->target, status, why);
    ims_ptx_refuse(c->tx, status, phrase, why, 0);
}

static void note_tried(struct call *c, const char *id, const char *outcome)
{
    size_t o = strlen(c->tried);
    snprintf(c->tried + o, sizeof(c->tried) - o, "%s%s (%s)", o ? ", " : "", id, outcome);
}

/* Forward to the next route that can be tried. false when none is left. */
static bool try_next(struct call *c)
{
    struct bgcf *b = c->b;
    msg_t *msg = ims_ptx_msg(c->tx);
    while (c->next < c->nroutes) {
        const struct bgcf_target *t = &c->routes[c->next++];
        url_t *hop = url_make(msg_home(msg), t->next_hop);
        struct ims_log_ids ids = ids_of(c);
        if (t->kind != BGCF_KIND_MGCF)    /* another network: our CDF stays ours */
            ims_sip_header_remove(msg, ims_ptx_sip(c->tx), "P-Charging-Function-Addresses");
        struct ims_ptx_hop h = { .next_hop = hop, .record_route = b->record_route,
                                 .silent_ms = b->route_timeout_ms };
        int st = hop ? ims_ptx_forward_ex(c->tx, &h) : 500;
        if (st == 0) {
            ims_log(IMS_LOG_INFO, &ids, "bgcf: %s to %s: route %s (%s %s)",
                    ims_ptx_sip(c->tx)->sip_request->rq_method_name, c->target, t->id,
                    bgcf_kind_name(t->kind), t->next_hop);
            return true;
        }
        ims_log(IMS_LOG_WARN, &ids, "bgcf: cannot send to route %s (%s): next route", t->id,
                t->next_hop);
        note_tried(c, t->id, "not sent");
    }
    return false;
}

/*
 * Every branch ended without success. 503, 408 and local outcomes (transport error, no
 * response) go to the next route; any other answer is the callee's (relayed as it is).
 * When no route is left after local outcomes, the Warning lists what was tried.
 */
static bool on_final(void *arg, struct ims_ptx *tx, int best, bool local)
{
    struct call *c = arg;
    if (!c->initial || ims_ptx_cancelled(tx) || c->next == 0)
        return false;
    const struct bgcf_target *t = &c->routes[c->next - 1];
    char outcome[48];
    if (!local)
        snprintf(outcome, sizeof(outcome), "%d", best);
    else
        snprintf(outcome, sizeof(outcome), best == 408 ? "no response" : "transport error");
    note_tried(c, t->id, outcome);
    if (!local && best != 503 && best != 408)
        return false;
    struct ims_log_ids ids = ids_of(c);
    ims_log(IMS_LOG_INFO, &ids, "bgcf: route %s (%s) for %s: %s", t->id, t->next_hop,
            c->target, outcome);
    if (c->next < c->nroutes) {
        ims_counter_inc(m.failover);
        if (try_next(c))
            return true;
    }
    ims_counter_inc(m.exhausted);
    if (!local)
        return false;             /* the last route's own 503/408 goes up (16.7 step 6) */
    char why[400];
    snprintf(why, sizeof(why), "no breakout route could take the request: %s", c->tried);
    refuse(c, best == 408 ? 408 : 500, NULL, why);
    return true;
}

/* The routes of the Request-URI, then the first of them */
static void route_initial(struct call *c)
{
    const sip_t *req = ims_ptx_sip(c->tx);
    struct bgcf_key k;
    int rc = bgcf_key_of(req->sip_request->rq_url, &k);
    if (rc == -EPROTONOSUPPORT) {
        refuse(c, 416, "Unsupported URI Scheme", "only tel: and SIP URIs are routed");
        return;
    }
    if (rc) {
        char why[BGCF_URI_MAX + 80];
        snprintf(why, sizeof(why), "%s: %s", c->target, rc == -ENOENT
                 ? "a local number without a global phone-context (no E.164 number)"
                 : "not a telephone number");
        refuse(c, 404, "Not Found", why);
        return;
    }
    c->nroutes = bgcf_table_select(c->b->table, &k, bgcf_rand, &c->b->rnd, c->routes,
                                   BGCF_MAX_TRIES);
    if (c->nroutes == 0) {
        char why[BGCF_URI_MAX + 40];
        snprintf(why, sizeof(why), "no breakout route for %s", c->target);
        ims_counter_inc(m.no_route);
        refuse(c, 404, "Not Found", why);
        return;
    }
    ims_counter_inc(m.routed);
    if (!try_next(c)) {
        char why[400];
        snprintf(why, sizeof(why), "no breakout route could take the request: %s", c->tried);
        refuse(c, 500, NULL, why);
    }
}

static void icid_of(const sip_t *req, char *buf, size_t len)
{
    struct ims_pcv pcv;
    const char *v = ims_sip_header(req, "P-Charging-Vector");
    buf[0] = '\0';
    if (v && ims_pcv_parse(v, &pcv) == 0)
        snprintf(buf, len, "%s", pcv.icid);
}

/* Within a dialog we record-routed: along its Route set */
static void in_dialog(struct call *c)
{
    struct bgcf *b = c->b;
    const sip_t *req = ims_ptx_sip(c->tx);
    ims_counter_inc(m.in_dialog);
    bgcf_charging_in_dialog(b, req);
    if (!req->sip_route && ims_sip_is_own(b->d->sip, req->sip_request->rq_url)) {
        refuse(c, 404, "Not Found", "no route beyond this node");
        return;
    }
    int st = ims_ptx_forward(c->tx, NULL, NULL, false);
    if (st)
        refuse(c, st, NULL, "cannot forward along the Route set");
}

int bgcf_breakout(struct bgcf *b, nta_incoming_t *irq, const sip_t *sip)
{
    (void)sip;
    struct ims_ptx *tx = ims_ptx_create(b->d->sip, irq);
    if (!tx)
        return 500;
    struct call *c = calloc(1, sizeof(*c));
    if (!c) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return 0;
    }
    c->b = b;
    c->tx = tx;
    c->t0 = time(NULL);
    ims_ptx_set_hooks(tx, on_response, on_done, c);
    ims_ptx_set_final(tx, on_final);
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(tx);
    url_e(c->target, sizeof(c->target), req->sip_request->rq_url);
    icid_of(req, c->icid, sizeof(c->icid));
    sip_method_t method = req->sip_request->rq_method;
    if (req->sip_to && req->sip_to->a_tag) {
        in_dialog(c);
    } else if (method == sip_method_ack) {
        ims_ptx_reply(tx, 200, NULL, NULL);      /* an ACK outside a dialog: absorbed */
    } else if (method == sip_method_cancel) {
        /* a CANCEL that nta matched to no INVITE of ours */
        refuse(c, 481, "Call/Transaction Does Not Exist", "no transaction to cancel");
    } else if (req->sip_route) {
        /* a route chosen before us (RFC 3261 16.4): followed (charged, no failover) */
        struct ims_log_ids ids = ids_of(c);
        ims_log(IMS_LOG_INFO, &ids, "bgcf: %s to %s follows its Route set",
                req->sip_request->rq_method_name, c->target);
        c->initial = true;
        st = ims_ptx_forward(tx, NULL, NULL, b->record_route);
        if (st)
            refuse(c, st, NULL, "cannot forward along the Route set");
    } else {
        c->initial = true;
        route_initial(c);
    }
    return 0;
}
