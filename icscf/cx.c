/*
 * cx.c - the I-CSCF's Cx client: UAR (TS 29.228 6.1.1, TS 29.229 6.1.1), LIR (6.1.4) and the
 * one table from Diameter outcomes to SIP answers
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "icscf.h"
#include "cx_status.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

struct uar_ctx {
    icscf_answer_fn fn;
    void *arg;
};

static void read_caps(struct avp *g, struct icscf_caps *caps)
{
    memset(caps, 0, sizeof(*caps));
    for (struct avp *a = ims_avp_find(g, IMS_AVP_MANDATORY_CAPABILITY);
         a && caps->nmandatory < ICSCF_MAX_CAPS;
         a = ims_avp_next(a, IMS_AVP_MANDATORY_CAPABILITY)) {
        struct avp_hdr *h;
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_value)
            caps->mandatory[caps->nmandatory++] = h->avp_value->u32;
    }
    for (struct avp *a = ims_avp_find(g, IMS_AVP_OPTIONAL_CAPABILITY);
         a && caps->noptional < ICSCF_MAX_CAPS; a = ims_avp_next(a, IMS_AVP_OPTIONAL_CAPABILITY)) {
        struct avp_hdr *h;
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_value)
            caps->optional[caps->noptional++] = h->avp_value->u32;
    }
    for (struct avp *a = ims_avp_find(g, IMS_AVP_SERVER_NAME); a && caps->nnames < 4;
         a = ims_avp_next(a, IMS_AVP_SERVER_NAME)) {
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(a, &p, &n) && n < sizeof(caps->names[0]))
            snprintf(caps->names[caps->nnames++], sizeof(caps->names[0]), "%.*s", (int)n,
                     (const char *)p);
    }
}

/* UAA and LIA carry the same answer AVPs for the I-CSCF */
static void on_answer(void *arg, const struct ims_diam_result *res)
{
    struct uar_ctx *ctx = arg;
    struct icscf_answer a = { .error = res->error, .code = res->code,
                              .experimental = res->experimental };
    if (res->answer) {
        ims_avp_get_str(res->answer, IMS_AVP_SERVER_NAME, a.server_name,
                        sizeof(a.server_name));
        struct avp *caps = ims_avp_find(res->answer, IMS_AVP_SERVER_CAPABILITIES);
        if (caps) {
            a.has_caps = true;
            read_caps(caps, &a.caps);
        }
    }
    ctx->fn(ctx->arg, &a);
    free(ctx);
}

int icscf_cx_uar(struct icscf *c, const char *impi, const char *impu, const char *vn,
                 int type, icscf_answer_fn fn, void *arg)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_UAR, c->realm, NULL);
    struct uar_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!m || !ctx || ims_avp_add_str(m, IMS_AVP_USER_NAME, impi) ||
        ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impu) ||
        ims_avp_add_str(m, IMS_AVP_VISITED_NETWORK_IDENTIFIER, vn) ||
        ims_avp_add_i32(m, IMS_AVP_USER_AUTHORIZATION_TYPE, type)) {
        if (m)
            fd_msg_free(m);
        free(ctx);
        return -ENOMEM;
    }
    ctx->fn = fn;
    ctx->arg = arg;
    int rc = ims_diam_send(&m, 0, on_answer, ctx);
    if (rc)
        free(ctx);
    return rc;
}

int icscf_cx_lir(struct icscf *c, const char *impu, icscf_answer_fn fn, void *arg)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_LIR, c->realm, NULL);
    struct uar_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!m || !ctx || ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impu)) {
        if (m)
            fd_msg_free(m);
        free(ctx);
        return -ENOMEM;
    }
    ctx->fn = fn;
    ctx->arg = arg;
    int rc = ims_diam_send(&m, 0, on_answer, ctx);
    if (rc)
        free(ctx);
    return rc;
}

int icscf_sip_status_lir(const struct icscf_answer *a, const char **phrase, const char **why)
{
    if (!a->error && a->experimental && a->code == IMS_DIAM_ERROR_USER_UNKNOWN) {
        *phrase = "Not Found";
        *why = "HSS: no such user";
        return 404;
    }
    if (!a->error && a->experimental && a->code == IMS_DIAM_ERROR_IDENTITY_NOT_REGISTERED) {
        *phrase = "Temporarily Unavailable";
        *why = "HSS: not registered, no unregistered services";
        return 480;
    }
    return icscf_sip_status(a, phrase, why);
}

int icscf_sip_status(const struct icscf_answer *a, const char **phrase, const char **why)
{
    return ims_cx_sip_status(a->error, a->code, a->experimental, phrase, why);
}
