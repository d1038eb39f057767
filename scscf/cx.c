/*
 * cx.c - the S-CSCF's Cx client (MAR, SAR) and server (RTR, PPR), TS 29.228 / 29.229
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "cx_status.h"
#include "digest.h"
#include "log.h"
#include "loop.h"
#include "milenage.h"

#include <arpa/inet.h>
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
    char impi[SCSCF_ID_MAX];          /* MAR: the private identity (Digest-MD5's HA1) */
};

/* ---- answers ---- */

/* AKA: RAND|AUTN, XRES, CK, IK */
static const char *read_aka(struct avp *item, struct scscf_vector *v)
{
    const uint8_t *p;
    size_t n;
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHENTICATE), &p, &n) || n != 32)
        return "AKA item without RAND|AUTN (SIP-Authenticate of 32 bytes)";
    memcpy(v->rand, p, 16);
    memcpy(v->autn, p + 16, 16);
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHORIZATION), &p, &n) || n < 4 ||
        n > 16)
        return "AKA item without XRES (SIP-Authorization of 4 to 16 bytes)";
    memcpy(v->xres, p, n);
    v->xres_len = n;
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_CONFIDENTIALITY_KEY), &p, &n) || n != 16)
        return "AKA item without Confidentiality-Key";
    memcpy(v->ck, p, 16);
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_INTEGRITY_KEY), &p, &n) || n != 16)
        return "AKA item without Integrity-Key";
    memcpy(v->ik, p, 16);
    return NULL;
}

/* The AVPs of the grouped Digest challenge of each body (no nonce AVP: IMS_AVP_COUNT) */
struct digest_group {
    enum ims_avp group, realm, nonce, algorithm, qop, ha1;
};

static const struct digest_group g_3gpp = {
    IMS_AVP_SIP_DIGEST_AUTHENTICATE, IMS_AVP_DIGEST_REALM, IMS_AVP_COUNT,
    IMS_AVP_DIGEST_ALGORITHM, IMS_AVP_DIGEST_QOP, IMS_AVP_DIGEST_HA1 };
static const struct digest_group g_tispan = {
    IMS_AVP_ETSI_SIP_AUTHENTICATE, IMS_AVP_ETSI_DIGEST_REALM, IMS_AVP_ETSI_DIGEST_NONCE,
    IMS_AVP_ETSI_DIGEST_ALGORITHM, IMS_AVP_ETSI_DIGEST_QOP, IMS_AVP_ETSI_DIGEST_HA1 };
static const struct digest_group g_packetcable = {
    IMS_AVP_CABLELABS_SIP_DIGEST_AUTHENTICATE, IMS_AVP_CABLELABS_DIGEST_REALM, IMS_AVP_COUNT,
    IMS_AVP_CABLELABS_DIGEST_ALGORITHM, IMS_AVP_CABLELABS_DIGEST_QOP,
    IMS_AVP_CABLELABS_DIGEST_HA1 };

/* A nonce the HSS made, fit for a quoted-string of WWW-Authenticate */
static bool nonce_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 8 || len >= sizeof(((struct scscf_vector *)0)->nonce))
        return false;
    for (; *n; n++)
        if (*n <= 0x20 || *n >= 0x7f || *n == '"' || *n == '\\')
            return false;
    return true;
}

/*
 * The grouped Digest challenge of @g: the HA1 for our realm, MD5, qop auth (what the
 * S-CSCF offers), and the HSS's nonce for TISPAN. NULL, or why the item cannot be used.
 */
static const char *read_digest(struct avp *item, const struct digest_group *g,
                               const char *realm, struct scscf_vector *v)
{
    struct avp *d = ims_avp_find(item, g->group);
    char r[SCSCF_ID_MAX] = "", alg[32] = "", qop[32] = "";
    if (!d || ims_avp_get_str(d, g->ha1, v->ha1, sizeof(v->ha1)) != 0 || strlen(v->ha1) != 32)
        return "Digest item without an HA1 of 32 hex digits";
    ims_avp_get_str(d, g->realm, r, sizeof(r));
    if (r[0] && strcmp(r, realm) != 0)
        return "the HSS computed the HA1 for another realm than scscf.realm";
    ims_avp_get_str(d, g->algorithm, alg, sizeof(alg));
    if (alg[0] && strcasecmp(alg, "MD5") != 0)
        return "Digest item with an algorithm other than MD5";
    ims_avp_get_str(d, g->qop, qop, sizeof(qop));
    if (qop[0] && strcasecmp(qop, "auth") != 0)
        return "Digest item with a qop other than auth";
    if (g->nonce != IMS_AVP_COUNT &&
        (ims_avp_get_str(d, g->nonce, v->nonce, sizeof(v->nonce)) != 0 || !nonce_ok(v->nonce)))
        return "TISPAN Digest item without a usable ETSI-Digest-Nonce";
    return NULL;
}

/* The older Digest-MD5: the nonce in SIP-Authenticate, the password in SIP-Authorization;
 * only the HA1 for the IMPI is kept */
static const char *read_digest_md5(struct avp *item, const char *impi, const char *realm,
                                   struct scscf_vector *v)
{
    const uint8_t *p, *pw;
    size_t n, pwn;
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHENTICATE), &p, &n) || n < 8 ||
        n > 24)
        return "Digest-MD5 item without a nonce (SIP-Authenticate of 8 to 24 bytes)";
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHORIZATION), &pw, &pwn) || !pwn)
        return "Digest-MD5 item without the password (SIP-Authorization)";
    ims_hex_encode(p, n, v->nonce);
    ims_digest_ha1(impi, realm, pw, pwn, v->ha1);
    return NULL;
}

/* Early IMS: Framed-IP-Address (4 bytes) or Framed-IPv6-Prefix (RFC 3162 2.3) */
static const char *read_early_ims(struct avp *item, struct scscf_access *a)
{
    const uint8_t *p;
    size_t n;
    if (ims_avp_octets(ims_avp_find(item, IMS_AVP_FRAMED_IP_ADDRESS), &p, &n)) {
        if (n != 4)
            return "Framed-IP-Address is not 4 bytes";
        a->family = AF_INET;
        memcpy(a->addr, p, 4);
        a->prefix = 32;
        return NULL;
    }
    if (!ims_avp_octets(ims_avp_find(item, IMS_AVP_FRAMED_IPV6_PREFIX), &p, &n))
        return "Early-IMS-Security item without Framed-IP-Address or Framed-IPv6-Prefix";
    if (n < 3 || n > 18 || p[1] == 0 || p[1] > 128 || n - 2 < (size_t)(p[1] + 7) / 8)
        return "Framed-IPv6-Prefix is malformed";
    a->family = AF_INET6;
    a->prefix = p[1];
    memcpy(a->addr, p + 2, n - 2);
    return NULL;
}

/* NASS-bundled: one Line-Identifier or more */
static const char *read_lines(struct avp *item, struct scscf_access *a)
{
    for (struct avp *l = ims_avp_find(item, IMS_AVP_LINE_IDENTIFIER);
         l && a->nlines < SCSCF_LINE_IDS_MAX; l = ims_avp_next(l, IMS_AVP_LINE_IDENTIFIER)) {
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(l, &p, &n) && n > 0 && n < SCSCF_LINE_ID_MAX && !memchr(p, 0, n))
            snprintf(a->lines[a->nlines++], SCSCF_LINE_ID_MAX, "%.*s", (int)n, (const char *)p);
    }
    return a->nlines ? NULL : "NASS-Bundled item without a Line-Identifier";
}

/*
 * The first SIP-Auth-Data-Item of a MAA into @a, by its SIP-Authentication-Scheme. Returns
 * NULL, or why it cannot be used (a->vector_problem).
 */
static const char *read_item(struct avp *item, const char *impi, const char *realm,
                             struct scscf_cx_answer *a)
{
    char scheme[64] = "";
    struct scscf_vector *v = &a->vector;
    memset(v, 0, sizeof(*v));
    ims_avp_get_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, scheme, sizeof(scheme));
    v->scheme = scscf_scheme_of(scheme);
    switch (v->scheme) {
    case SCSCF_AKAV1:
    case SCSCF_AKAV2:
        return read_aka(item, v);
    case SCSCF_DIGEST:
        return read_digest(item, &g_3gpp, realm, v);
    case SCSCF_DIGEST_TISPAN:
        return read_digest(item, &g_tispan, realm, v);
    case SCSCF_DIGEST_PACKETCABLE:
        return read_digest(item, &g_packetcable, realm, v);
    case SCSCF_DIGEST_MD5:
        return read_digest_md5(item, impi, realm, v);
    case SCSCF_EARLY_IMS:
        return read_early_ims(item, &a->access);
    case SCSCF_NASS_BUNDLED:
        return read_lines(item, &a->access);
    default:
        return "the HSS answered with an authentication scheme this S-CSCF does not know";
    }
}

static void on_answer(void *arg, const struct ims_diam_result *res)
{
    struct cx_ctx *ctx = arg;
    struct scscf_cx_answer a = { .error = res->error, .code = res->code,
                                 .experimental = res->experimental };
    if (res->answer) {
        struct avp *item = ims_avp_find(res->answer, IMS_AVP_SIP_AUTH_DATA_ITEM);
        if (item) {
            a.vector_problem = read_item(item, ctx->impi, g_s->realm, &a);
            a.has_vector = a.vector_problem == NULL;
        }
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

static int send_cx(struct msg *m, const char *impi, scscf_cx_fn fn, void *arg)
{
    struct cx_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        fd_msg_free(m);
        return -ENOMEM;
    }
    ctx->fn = fn;
    ctx->arg = arg;
    snprintf(ctx->impi, sizeof(ctx->impi), "%s", impi ? impi : "");
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
    return send_cx(m, impi, fn, arg);
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
    return send_cx(m, impi, fn, arg);
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
