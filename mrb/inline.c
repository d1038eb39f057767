/*
 * inline.c - in-line mode: the MRB as a stateful proxy in front of the MRFs
 *
 * validate (Max-Forwards, our own Route) -> an INVITE outside a dialog: choose the MRFs
 * (a conference: the one that holds it; else the least loaded first) -> send to the first
 * with the Request-URI's host and port made the MRF's (its user part and parameters, the
 * RFC 4240 service, are kept) -> on 503, 408, a transport error or no answer at all within
 * mrb.status_timeout_ms, the next one. The MRB does not Record-Route: the dialog runs between
 * the AS and the MRF. Requests inside a dialog, and others than INVITE, have nothing to do
 * here (481 and 501), but OPTIONS to the MRB (200). Requests come from the trust domain only
 * (main.c refuses the others).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"
#include "log.h"
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

struct call {
    struct mrb *b;
    struct ims_ptx *tx;
    char conf[80];                /* the conference asked for, or "" */
    size_t order[MRB_MRFS_MAX];
    size_t n, next;
    char tried[400];
};

static void on_done(void *arg, struct ims_ptx *tx)
{
    (void)tx;
    free(arg);
}

static void note_tried(struct call *c, const char *name, const char *outcome)
{
    size_t o = strlen(c->tried);
    snprintf(c->tried + o, sizeof(c->tried) - o, "%s%s (%s)", o ? ", " : "", name, outcome);
}

/* The next MRF of the list that takes the request; false when none is left */
static bool try_next(struct call *c)
{
    struct mrb *b = c->b;
    msg_t *msg = ims_ptx_msg(c->tx);
    const sip_t *req = ims_ptx_sip(c->tx);
    while (c->next < c->n) {
        size_t i = c->order[c->next++];
        const struct mrb_mrf *m = &b->mrfs[i];
        url_t *ruri = url_hdup(msg_home(msg), req->sip_request->rq_url);
        char port[8];
        snprintf(port, sizeof(port), "%u", m->sip_port);
        if (ruri) {
            ruri->url_host = su_strdup(msg_home(msg), m->host);
            ruri->url_port = su_strdup(msg_home(msg), port);
        }
        struct ims_ptx_hop h = { .request_uri = ruri, .silent_ms = b->timeout_ms };
        if (ruri && ims_ptx_forward_ex(c->tx, &h) == 0) {
            mrb_note_sent(b, i, c->conf[0] ? c->conf : NULL);
            struct ims_log_ids ids = { .call_id = ims_ptx_call_id(c->tx) };
            const char *user = req->sip_request->rq_url->url_user;
            ims_log(IMS_LOG_INFO, &ids, "mrb: INVITE %s%s%s to MRF %s", user ? user : "",
                    c->conf[0] ? " (conference)" : "", c->next > 1 ? " after a failure" : "",
                    m->name);
            ims_counter_inc(b->m_routed);
            return true;
        }
        note_tried(c, m->name, "not sent");
    }
    return false;
}

/*
 * Every branch ended without success: 503, 408 and local outcomes go to the next MRF; any
 * other answer is the MRF's (relayed as it is).
 */
static bool on_final(void *arg, struct ims_ptx *tx, int best, bool local)
{
    struct call *c = arg;
    if (ims_ptx_cancelled(tx) || c->next == 0)
        return false;
    const struct mrb_mrf *m = &c->b->mrfs[c->order[c->next - 1]];
    char outcome[48];
    snprintf(outcome, sizeof(outcome), local ? (best == 408 ? "no response" : "transport error")
                                             : "%d", best);
    note_tried(c, m->name, outcome);
    if (!local && best != 503 && best != 408)
        return false;
    if (c->next < c->n) {
        ims_counter_inc(c->b->m_failover);
        if (try_next(c))
            return true;
    }
    if (!local)
        return false;                 /* the last MRF's own 503/408 goes up */
    char why[500];
    snprintf(why, sizeof(why), "no MRF could take the request: %s", c->tried);
    ims_ptx_refuse(tx, 503, NULL, why, 5);
    return true;
}

static void route_invite(struct call *c)
{
    struct mrb *b = c->b;
    const sip_t *req = ims_ptx_sip(c->tx);
    const char *conf = mrb_conf_of(req->sip_request->rq_url->url_user, c->conf,
                                   sizeof(c->conf));
    int pinned = mrb_pinned(b, conf);
    pthread_mutex_lock(&b->lock);
    c->n = mrb_select(b->mrfs, b->n, pinned, c->order, MRB_MRFS_MAX);
    pthread_mutex_unlock(&b->lock);
    if (c->n == 0) {
        ims_counter_inc(b->m_none);
        ims_ptx_refuse(c->tx, 503, NULL, pinned >= 0 ? "the MRF that holds the conference is "
                       "down" : "no MRF is up with room for a session", 5);
        return;
    }
    if (!try_next(c)) {
        char why[500];
        snprintf(why, sizeof(why), "no MRF could take the request: %s", c->tried);
        ims_ptx_refuse(c->tx, 500, NULL, why, 0);
    }
}

int mrb_inline(struct mrb *b, nta_incoming_t *irq, const sip_t *sip)
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
    ims_ptx_set_hooks(tx, NULL, on_done, c);
    ims_ptx_set_final(tx, on_final);
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(tx);
    sip_method_t method = req->sip_request->rq_method;
    if (method == sip_method_ack)
        ims_ptx_reply(tx, 200, NULL, NULL);          /* absorbed */
    else if (req->sip_to && req->sip_to->a_tag)
        ims_ptx_refuse(tx, 481, NULL, "the MRB keeps no dialog: send to the MRF's Contact", 0);
    else if (method != sip_method_invite)
        ims_ptx_refuse(tx, 501, NULL, "the MRB relays INVITEs to MRFs", 0);
    else
        route_invite(c);
    return 0;
}

void mrb_inline_metrics(struct mrb *b)
{
    const char *name = "mrb_requests_total", *help = "INVITEs of the in-line mode, by outcome";
    b->m_routed = ims_counter_new(name, help, "outcome=\"routed\"");
    b->m_none = ims_counter_new(name, help, "outcome=\"no_mrf\"");
    b->m_failover = ims_counter_new("mrb_failover_total", "INVITEs sent to a next MRF after "
                                    "503, 408 or no answer", NULL);
}
