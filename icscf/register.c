/*
 * register.c - the I-CSCF's handling of REGISTER (TS 24.229 5.3.1.2, TS 29.228 6.1.1)
 *
 * validate -> UAR -> choose the S-CSCF (Server-Name, or by capabilities) -> forward; when
 * the chosen S-CSCF does not answer, UAR again asking for capabilities and try another.
 * Every failure is answered with a SIP status from one table and a Warning saying why.
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

#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#define MAX_TRIED 4

struct reg_ctx {
    struct icscf *c;
    struct ims_ptx *tx;         /* NULL once the proxy transaction has ended */
    bool uar_pending;
    int type;
    char impi[256], impu[256], vn[256];
    char tried[MAX_TRIED][256]; /* S-CSCFs that did not answer */
    int ntried;
};

static struct {
    struct ims_counter *forwarded, *refused, *retried;
} m;

void icscf_register_metrics(void)
{
    m.forwarded = ims_counter_new("icscf_register_total", "REGISTER handled, by outcome",
                                  "outcome=\"forwarded\"");
    m.refused = ims_counter_new("icscf_register_total", "REGISTER handled, by outcome",
                                "outcome=\"refused\"");
    m.retried = ims_counter_new("icscf_register_total", "REGISTER handled, by outcome",
                                "outcome=\"retried\"");
}

static void release(struct reg_ctx *ctx)
{
    if (!ctx->tx && !ctx->uar_pending)
        free(ctx);
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    struct reg_ctx *ctx = arg;
    (void)tx;
    ctx->tx = NULL;
    release(ctx);
}

/* Answer the UE ourselves; a 480 (HSS or S-CSCF unavailable) says when to retry. */
static void refuse(struct reg_ctx *ctx, int status, const char *phrase, const char *why)
{
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(ctx->tx) };
    ims_log(IMS_LOG_INFO, &ids, "icscf: REGISTER %s (%s) refused %d: %s", ctx->impu, ctx->impi,
            status, why);
    ims_counter_inc(m.refused);
    ims_ptx_refuse(ctx->tx, status, phrase, why, ctx->c->retry_after);
}

void icscf_register_refused(void)
{
    ims_counter_inc(m.refused);
}

static void on_uaa(void *arg, const struct icscf_answer *a);

static void send_uar(struct reg_ctx *ctx, int type)
{
    int rc = icscf_cx_uar(ctx->c, ctx->impi, ctx->impu, ctx->vn, type, on_uaa, ctx);
    if (rc == 0) {
        ctx->uar_pending = true;
        return;
    }
    refuse(ctx, rc == -EAGAIN ? 503 : 480, rc == -EAGAIN ? "Service Unavailable"
                                                         : "Temporarily Unavailable",
           rc == -EAGAIN ? "too many requests pending towards the HSS" : "HSS unreachable");
}

static void forward(struct reg_ctx *ctx, const char *scscf)
{
    url_t *next = url_make(msg_home(ims_ptx_msg(ctx->tx)), scscf);
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(ctx->tx) };
    if (!next) {
        refuse(ctx, 500, "Server Internal Error", "the S-CSCF name is not a SIP URI");
        return;
    }
    if (ctx->ntried < MAX_TRIED)
        snprintf(ctx->tried[ctx->ntried++], sizeof(ctx->tried[0]), "%s", scscf);
    ims_log(IMS_LOG_DEBUG, &ids, "icscf: REGISTER %s to %s", ctx->impu, scscf);
    int st = ims_ptx_forward(ctx->tx, NULL, next, false);
    if (st)
        refuse(ctx, st, NULL, "cannot forward to the S-CSCF");
    else
        ims_counter_inc(m.forwarded);
}

static void on_uaa(void *arg, const struct icscf_answer *a)
{
    struct reg_ctx *ctx = arg;
    ctx->uar_pending = false;
    if (!ctx->tx) {
        release(ctx);
        return;
    }
    bool ok = !a->error && ((a->experimental && (a->code == IMS_DIAM_FIRST_REGISTRATION ||
                                                   a->code == IMS_DIAM_SUBSEQUENT_REGISTRATION)) ||
                            (!a->experimental && a->code == IMS_DIAM_SUCCESS));
    if (!ok) {
        const char *phrase, *why;
        int st = icscf_sip_status(a, &phrase, &why);
        refuse(ctx, st, phrase, why);
        return;
    }
    char scscf[256];
    const char *excluded[MAX_TRIED];
    for (int i = 0; i < ctx->ntried; i++)
        excluded[i] = ctx->tried[i];
    bool failed_before = false;
    for (int i = 0; i < ctx->ntried; i++)
        failed_before |= strcasecmp(ctx->tried[i], a->server_name) == 0;
    if (a->server_name[0] && !failed_before) {
        forward(ctx, a->server_name);
        return;
    }
    if (!icscf_select(ctx->c->scscfs, ctx->c->nscscfs, a->has_caps ? &a->caps : NULL,
                      excluded, ctx->ntried, scscf, sizeof(scscf))) {
        refuse(ctx, 480, "Temporarily Unavailable",
               ctx->ntried ? "no other S-CSCF to try" : "no S-CSCF has the capabilities");
        return;
    }
    forward(ctx, scscf);
}

/* The chosen S-CSCF did not answer (timeout, unreachable): ask the HSS for capabilities and
 * try another, once. Any SIP answer of the S-CSCF itself goes back to the UE. */
static bool on_final(void *arg, struct ims_ptx *tx, int best, bool local)
{
    struct reg_ctx *ctx = arg;
    (void)tx;
    if (!local || ctx->type == ICSCF_UAT_DE_REGISTRATION || ctx->ntried >= 2)
        return false;
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(ctx->tx) };
    ims_log(IMS_LOG_WARN, &ids, "icscf: S-CSCF %s did not answer the REGISTER of %s (%d): "
            "choosing another", ctx->tried[ctx->ntried - 1], ctx->impu, best);
    ims_counter_inc(m.retried);
    send_uar(ctx, ICSCF_UAT_REGISTRATION_AND_CAPABILITIES);
    return true;
}

/* P-Visited-Network-ID of the request, or the home network */
static void visited_network(struct icscf *c, const sip_t *sip, char *buf, size_t len)
{
    struct ims_pvni pvni;
    const char *v = ims_sip_header(sip, "P-Visited-Network-ID");
    if (v && ims_pvni_parse(v, &pvni) == 0)
        snprintf(buf, len, "%s", pvni.id[0]);
    else
        snprintf(buf, len, "%s", c->home);
}

int icscf_register(struct icscf *c, nta_incoming_t *irq, const sip_t *sip,
                   const struct ims_sip_source *src)
{
    if (!src->trusted) {
        /* a REGISTER that bypasses the P-CSCF would carry a Path and identities the UE
         * chose: registrations come through the P-CSCFs of the trust domain only */
        char why[200];
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        snprintf(why, sizeof(why), "REGISTER from %s: not a trusted peer (a P-CSCF of "
                 "sip.trusted_peers)", src->key[0] ? src->key : "?");
        ims_log(IMS_LOG_INFO, &ids, "icscf: %s: refused 403", why);
        ims_counter_inc(m.refused);
        return ims_sip_refuse(c->d->sip, irq, sip, 403, why);
    }
    struct ims_ptx *tx = ims_ptx_create(c->d->sip, irq);
    if (!tx)
        return 500;
    struct reg_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return 0;
    }
    ctx->c = c;
    ctx->tx = tx;
    ims_ptx_set_hooks(tx, NULL, on_done, ctx);
    ims_ptx_set_final(tx, on_final);
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(tx);
    if (ims_sip_impu_of(req->sip_to ? req->sip_to->a_url : NULL, ctx->impu,
                        sizeof(ctx->impu)) != 0) {
        refuse(ctx, 400, "Bad Request", "To is not a SIP or tel URI");
        return 0;
    }
    if (ims_sip_impi_of(req, ctx->impi, sizeof(ctx->impi)) != 0) {
        refuse(ctx, 403, "Forbidden", "no private identity (Authorization username)");
        return 0;
    }
    visited_network(c, req, ctx->vn, sizeof(ctx->vn));
    ctx->type = ims_sip_register_expires(req, 1) == 0 && req->sip_contact
                    ? ICSCF_UAT_DE_REGISTRATION
                    : ICSCF_UAT_REGISTRATION;
    (void)sip;
    send_uar(ctx, ctx->type);
    return 0;
}
