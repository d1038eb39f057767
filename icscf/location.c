/*
 * location.c - the I-CSCF's routing of requests other than REGISTER (TS 24.229 5.3.2,
 * TS 29.228 6.1.4): LIR for the public identity of the Request-URI, then to the S-CSCF
 * the HSS names (or the AS hosting a PSI), or, for a user with unregistered services and
 * no S-CSCF yet, to one chosen by capabilities. The I-CSCF does not Record-Route.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "icscf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

struct loc_ctx {
    struct icscf *c;
    struct ims_ptx *tx;         /* NULL once the proxy transaction has ended */
    bool lir_pending;
    char impu[256];
};

static struct {
    struct ims_counter *forwarded, *unregistered, *refused;
} m;

void icscf_route_metrics(void)
{
    const char *name = "icscf_requests_total", *help = "requests routed by LIR, by outcome";
    m.forwarded = ims_counter_new(name, help, "outcome=\"forwarded\"");
    m.unregistered = ims_counter_new(name, help, "outcome=\"unregistered_service\"");
    m.refused = ims_counter_new(name, help, "outcome=\"refused\"");
}

static void release(struct loc_ctx *ctx)
{
    if (!ctx->tx && !ctx->lir_pending)
        free(ctx);
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    struct loc_ctx *ctx = arg;
    (void)tx;
    ctx->tx = NULL;
    release(ctx);
}

static void refuse(struct loc_ctx *ctx, int status, const char *phrase, const char *why)
{
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(ctx->tx) };
    const sip_t *req = ims_ptx_sip(ctx->tx);
    ims_log(IMS_LOG_INFO, &ids, "icscf: %s to %s refused %d: %s",
            req->sip_request->rq_method_name, ctx->impu[0] ? ctx->impu : "?", status, why);
    ims_counter_inc(m.refused);
    ims_ptx_refuse(ctx->tx, status, phrase, why, ctx->c->retry_after);
}

static void forward(struct loc_ctx *ctx, const char *next_uri)
{
    url_t *next = url_make(msg_home(ims_ptx_msg(ctx->tx)), next_uri);
    if (!next) {
        refuse(ctx, 500, "Server Internal Error", "the HSS named a server that is not a URI");
        return;
    }
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(ctx->tx) };
    ims_log(IMS_LOG_DEBUG, &ids, "icscf: request to %s goes to %s", ctx->impu, next_uri);
    int st = ims_ptx_forward(ctx->tx, NULL, next, false);
    if (st)
        refuse(ctx, st, NULL, "cannot forward");
    else
        ims_counter_inc(m.forwarded);
}

static void on_lia(void *arg, const struct icscf_answer *a)
{
    struct loc_ctx *ctx = arg;
    ctx->lir_pending = false;
    if (!ctx->tx) {
        release(ctx);
        return;
    }
    if (ims_ptx_cancelled(ctx->tx)) {
        ims_ptx_reply(ctx->tx, 487, NULL, NULL);
        return;
    }
    bool success = !a->error && !a->experimental && a->code == IMS_DIAM_SUCCESS;
    bool unreg = !a->error && a->experimental && a->code == IMS_DIAM_UNREGISTERED_SERVICE;
    if (!success && !unreg) {
        const char *phrase, *why;
        int st = icscf_sip_status_lir(a, &phrase, &why);
        refuse(ctx, st, phrase, why);
        return;
    }
    if (a->server_name[0]) {
        forward(ctx, a->server_name);
        return;
    }
    if (!unreg) {
        refuse(ctx, 500, "Server Internal Error", "HSS answered without a Server-Name");
        return;
    }
    char scscf[256];
    if (!icscf_select(ctx->c->scscfs, ctx->c->nscscfs, a->has_caps ? &a->caps : NULL, NULL, 0,
                      scscf, sizeof(scscf))) {
        refuse(ctx, 480, "Temporarily Unavailable", "no S-CSCF has the capabilities");
        return;
    }
    ims_counter_inc(m.unregistered);
    forward(ctx, scscf);
}

/* Is the Request-URI one of the home network's identities (or a telephone number)? */
static bool home_target(const struct icscf *c, const url_t *u)
{
    if (u->url_type == url_tel)
        return true;
    return (u->url_type == url_sip || u->url_type == url_sips) && u->url_host &&
           strcasecmp(u->url_host, c->home) == 0;
}

/* Headers only the trust domain may set (RFC 3325, RFC 5502, TS 24.229 5.3.2.1): they go
 * from a request of an untrusted source */
static void strip_asserted(struct ims_ptx *tx)
{
    static const char *const names[] = { "P-Served-User", "P-Profile-Key",
                                         "P-Asserted-Service" };
    msg_t *msg = ims_ptx_msg(tx);
    sip_t *sip = ims_ptx_sip(tx);
    ims_sip_paid_remove(msg, sip);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ims_sip_header_remove(msg, sip, names[i]);
}

void icscf_route_refused(void)
{
    ims_counter_inc(m.refused);
}

bool icscf_route_needs_lir(struct icscf *c, const sip_t *req)
{
    const url_t *ruri = req->sip_request->rq_url;
    char impu[256];
    return !req->sip_route && req->sip_request->rq_method != sip_method_ack &&
           !ims_sip_is_own(c->d->sip, ruri) && home_target(c, ruri) &&
           ims_sip_target_of(ruri, impu, sizeof(impu)) == 0;
}

int icscf_route(struct icscf *c, nta_incoming_t *irq, const sip_t *sip,
                const struct ims_sip_source *src)
{
    const url_t *ruri = sip->sip_request->rq_url;
    if (ims_sip_is_own(c->d->sip, ruri) && !sip->sip_route)
        return ims_sip_reply_unhandled(c->d->sip, irq, sip, c->d->desc->sip_allow);
    struct ims_ptx *tx = ims_ptx_create(c->d->sip, irq);
    if (!tx)
        return 500;
    struct loc_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return 0;
    }
    ctx->c = c;
    ctx->tx = tx;
    ims_ptx_set_hooks(tx, NULL, on_done, ctx);
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(tx);
    if (!src->trusted) {
        strip_asserted(tx);
        if (req->sip_route) {
            char why[200];
            snprintf(why, sizeof(why), "a Route beyond this node from %s: only trusted peers "
                     "choose their route through the network", src->key[0] ? src->key : "?");
            refuse(ctx, 403, "Forbidden", why);
            return 0;
        }
    }
    if (req->sip_route) {             /* a route set beyond us, from the trust domain */
        st = ims_ptx_forward(tx, NULL, NULL, false);
        if (st)
            refuse(ctx, st, NULL, "cannot forward along the Route");
        return 0;
    }
    if (req->sip_request->rq_method == sip_method_ack) {
        ims_ptx_reply(tx, 200, NULL, NULL);   /* a stray ACK: absorbed */
        return 0;
    }
    if (!home_target(c, req->sip_request->rq_url) ||
        ims_sip_target_of(req->sip_request->rq_url, ctx->impu, sizeof(ctx->impu)) != 0) {
        refuse(ctx, 404, "Not Found", "not an identity of this network");
        return 0;
    }
    int rc = icscf_cx_lir(c, ctx->impu, on_lia, ctx);
    if (rc == 0) {
        ctx->lir_pending = true;
        return 0;
    }
    refuse(ctx, rc == -EAGAIN ? 503 : 480,
           rc == -EAGAIN ? "Service Unavailable" : "Temporarily Unavailable",
           rc == -EAGAIN ? "too many requests pending towards the HSS" : "HSS unreachable");
    return 0;
}
