/*
 * cx.c - the S-CSCF's Cx client (MAR, SAR) and server (RTR, PPR), TS 29.228 / 29.229
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "cx_status.h"
#include "log.h"
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

static struct scscf *g_s;

struct cx_ctx {
    scscf_cx_fn fn;
    void *arg;
};

/* ---- answers ---- */

static bool read_vector(struct avp *item, struct scscf_vector *v)
{
    char scheme[64] = "";
    const uint8_t *p;
    size_t n;
    memset(v, 0, sizeof(*v));
    ims_avp_get_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, scheme, sizeof(scheme));
    bool akav1 = strcasecmp(scheme, "Digest-AKAv1-MD5") == 0;
    if (akav1 || strcasecmp(scheme, "Digest-AKAv2-MD5") == 0) {
        v->scheme = akav1 ? SCSCF_AKAV1 : SCSCF_AKAV2;
        if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHENTICATE), &p, &n) || n != 32)
            return false;
        memcpy(v->rand, p, 16);
        memcpy(v->autn, p + 16, 16);
        if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHORIZATION), &p, &n) || n < 4 ||
            n > 16)
            return false;
        memcpy(v->xres, p, n);
        v->xres_len = n;
        if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_CONFIDENTIALITY_KEY), &p, &n) || n != 16)
            return false;
        memcpy(v->ck, p, 16);
        if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_INTEGRITY_KEY), &p, &n) || n != 16)
            return false;
        memcpy(v->ik, p, 16);
        return true;
    }
    /* SIP Digest: the HA1 inside SIP-Digest-Authenticate */
    v->scheme = SCSCF_DIGEST;
    struct avp *d = ims_avp_find(item, IMS_AVP_SIP_DIGEST_AUTHENTICATE);
    return d && ims_avp_get_str(d, IMS_AVP_DIGEST_HA1, v->ha1, sizeof(v->ha1)) == 0 &&
           strlen(v->ha1) == 32;
}

static void on_answer(void *arg, const struct ims_diam_result *res)
{
    struct cx_ctx *ctx = arg;
    struct scscf_cx_answer a = { .error = res->error, .code = res->code,
                                 .experimental = res->experimental };
    if (res->answer) {
        struct avp *item = ims_avp_find(res->answer, IMS_AVP_SIP_AUTH_DATA_ITEM);
        if (item)
            a.has_vector = read_vector(item, &a.vector);
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(ims_avp_find(res->answer, IMS_AVP_USER_DATA), &p, &n))
            a.user_data = strndup((const char *)p, n);
        struct avp *ci = ims_avp_find(res->answer, IMS_AVP_CHARGING_INFORMATION);
        if (ci) {
            a.charging = true;
            ims_avp_get_str(ci, IMS_AVP_PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME, a.ccf,
                            sizeof(a.ccf));
            ims_avp_get_str(ci, IMS_AVP_PRIMARY_EVENT_CHARGING_FUNCTION_NAME, a.ecf,
                            sizeof(a.ecf));
        }
    }
    ctx->fn(ctx->arg, &a);
    free(a.user_data);
    free(ctx);
}

static int send_cx(struct msg *m, scscf_cx_fn fn, void *arg)
{
    struct cx_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        fd_msg_free(m);
        return -ENOMEM;
    }
    ctx->fn = fn;
    ctx->arg = arg;
    int rc = ims_diam_send(&m, 0, on_answer, ctx);
    if (rc)
        free(ctx);
    return rc;
}

int scscf_cx_mar(struct scscf *s, const char *impi, const char *impu, const char *scheme,
                 const uint8_t *resync, scscf_cx_fn fn, void *arg)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_MAR, s->hss_realm, NULL);
    if (!m)
        return -ENOMEM;
    struct avp *item = NULL;
    if (ims_avp_add_str(m, IMS_AVP_USER_NAME, impi) ||
        ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impu) ||
        ims_avp_add_u32(m, IMS_AVP_SIP_NUMBER_AUTH_ITEMS, 1) ||
        !(item = ims_avp_add_group(m, IMS_AVP_SIP_AUTH_DATA_ITEM)) ||
        ims_avp_add_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, scheme) ||
        (resync && ims_avp_add_octets(item, IMS_AVP_SIP_AUTHORIZATION, resync, 30)) ||
        ims_avp_add_str(m, IMS_AVP_SERVER_NAME, s->name)) {
        fd_msg_free(m);
        return -ENOMEM;
    }
    return send_cx(m, fn, arg);
}

int scscf_cx_sar(struct scscf *s, const char *impi, const char *impu, int type,
                 bool data_available, scscf_cx_fn fn, void *arg)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_SAR, s->hss_realm, NULL);
    if (!m)
        return -ENOMEM;
    if ((impi && *impi && ims_avp_add_str(m, IMS_AVP_USER_NAME, impi)) ||
        ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impu) ||
        ims_avp_add_str(m, IMS_AVP_SERVER_NAME, s->name) ||
        ims_avp_add_i32(m, IMS_AVP_SERVER_ASSIGNMENT_TYPE, type) ||
        ims_avp_add_i32(m, IMS_AVP_USER_DATA_ALREADY_AVAILABLE, data_available ? 1 : 0)) {
        fd_msg_free(m);
        return -ENOMEM;
    }
    return send_cx(m, fn, arg);
}

int scscf_cx_sip_status(const struct scscf_cx_answer *a, const char **phrase, const char **why)
{
    return ims_cx_sip_status(a->error, a->code, a->experimental, phrase, why);
}

/* ---- RTR, PPR: run on the loop thread, answer from the freeDiameter thread ---- */

struct rtr_job {
    char impi[SCSCF_ID_MAX];
    char impus[8][SCSCF_ID_MAX];
    int nimpus;
    char reason[128];
    int deregistered;
};

static void rtr_run(void *arg)
{
    struct rtr_job *j = arg;
    if (!g_s->aors)
        return;   /* stopping */
    if (j->nimpus == 0)
        j->deregistered = scscf_registrar_deregister(g_s, j->impi, NULL, j->reason);
    for (int i = 0; i < j->nimpus; i++)
        j->deregistered += scscf_registrar_deregister(g_s, j->impi, j->impus[i], j->reason);
}

static int on_rtr(struct msg **msg, void *arg)
{
    (void)arg;
    struct rtr_job j = { .nimpus = 0 };
    ims_avp_get_str(*msg, IMS_AVP_USER_NAME, j.impi, sizeof(j.impi));
    for (struct avp *a = ims_avp_find(*msg, IMS_AVP_PUBLIC_IDENTITY); a && j.nimpus < 8;
         a = ims_avp_next(a, IMS_AVP_PUBLIC_IDENTITY)) {
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(a, &p, &n) && n < SCSCF_ID_MAX)
            snprintf(j.impus[j.nimpus++], SCSCF_ID_MAX, "%.*s", (int)n, (const char *)p);
    }
    struct avp *dr = ims_avp_find(*msg, IMS_AVP_DEREGISTRATION_REASON);
    int32_t code = -1;
    ims_avp_get_i32(dr, IMS_AVP_REASON_CODE, &code);
    char info[96] = "";
    ims_avp_get_str(dr, IMS_AVP_REASON_INFO, info, sizeof(info));
    snprintf(j.reason, sizeof(j.reason), "RTR reason %d%s%s", code, info[0] ? ": " : "", info);
    int rc = ims_loop_call(g_s->d->loop, rtr_run, &j, 2000);
    if (rc)
        ims_warn("cx: RTR for %s not processed in time", j.impi);
    /* the answer says done only once the de-registration is on disk */
    if (rc == 0 && j.deregistered && (rc = scscf_store_sync(g_s, 2000)) != 0)
        ims_warn("cx: RTR for %s: the de-registration is not on disk (%s)", j.impi,
                 strerror(-rc));
    int ans = ims_diam_answer_new(msg, IMS_APP_CX);
    if (ans)
        return ans;
    if (rc)
        return ims_avp_add_u32(*msg, IMS_AVP_RESULT_CODE, IMS_DIAM_UNABLE_TO_COMPLY);
    ims_info("cx: RTR for %s (%s): %d registration set(s) removed", j.impi, j.reason,
             j.deregistered);
    return ims_avp_add_u32(*msg, IMS_AVP_RESULT_CODE, IMS_DIAM_SUCCESS);
}

struct ppr_job {
    char impi[SCSCF_ID_MAX];
    char *user_data;
    int updated;
};

static void ppr_run(void *arg)
{
    struct ppr_job *j = arg;
    if (!g_s->aors)
        return;   /* stopping */
    char ids[SCSCF_MAX_IMPUS][SCSCF_ID_MAX];
    bool barred[SCSCF_MAX_IMPUS];
    int n = j->user_data ? scscf_profile_identities(j->user_data, ids, barred,
                                                    SCSCF_MAX_IMPUS)
                         : 0;
    for (int i = 0; i < n; i++) {
        struct scscf_aor *aor = scscf_store_find(g_s, ids[i]);
        if (!aor)
            continue;
        free(aor->profile);
        aor->profile = strdup(j->user_data);
        scscf_store_ifcs_reset(aor);
        for (int k = 0; k < aor->nimpus; k++)
            for (int l = 0; l < n; l++)
                if (strcasecmp(aor->impus[k], ids[l]) == 0)
                    aor->barred[k] = barred[l];
        scscf_store_touch(g_s, aor);
        j->updated++;
        break;
    }
}

static int on_ppr(struct msg **msg, void *arg)
{
    (void)arg;
    struct ppr_job j = { .user_data = NULL };
    ims_avp_get_str(*msg, IMS_AVP_USER_NAME, j.impi, sizeof(j.impi));
    const uint8_t *p;
    size_t n;
    if (ims_avp_octets(ims_avp_find(*msg, IMS_AVP_USER_DATA), &p, &n))
        j.user_data = strndup((const char *)p, n);
    int rc = ims_loop_call(g_s->d->loop, ppr_run, &j, 2000);
    free(j.user_data);
    if (rc == 0 && j.updated && (rc = scscf_store_sync(g_s, 2000)) != 0)
        ims_warn("cx: PPR for %s: the new profile is not on disk (%s)", j.impi,
                 strerror(-rc));
    int ans = ims_diam_answer_new(msg, IMS_APP_CX);
    if (ans)
        return ans;
    if (rc)
        return ims_avp_add_u32(*msg, IMS_AVP_RESULT_CODE, IMS_DIAM_UNABLE_TO_COMPLY);
    ims_info("cx: PPR for %s: %s", j.impi, j.updated ? "profile updated" : "not registered here");
    if (!j.updated)
        return ims_avp_add_experimental(*msg, IMS_DIAM_ERROR_USER_UNKNOWN);
    return ims_avp_add_u32(*msg, IMS_AVP_RESULT_CODE, IMS_DIAM_SUCCESS);
}

int scscf_cx_init(struct scscf *s)
{
    g_s = s;
    if (ims_diam_serve(IMS_CMD_RTR, on_rtr, s) || ims_diam_serve(IMS_CMD_PPR, on_ppr, s))
        return -EINVAL;
    return 0;
}
