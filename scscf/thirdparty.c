/*
 * thirdparty.c - third-party registration to application servers (TS 24.229 5.4.1.7)
 *
 * When a registration, re-registration or de-registration of a public identity matches
 * iFCs for REGISTER, the S-CSCF sends each of their ASs a REGISTER of its own: To the
 * identity, From and Contact the S-CSCF, Expires the registration's, and the body the iFC
 * asks for (the UE's REGISTER and/or our 200 OK as message/sip, the ServiceInfo as
 * application/3gpp-ims+xml; several in multipart/mixed). An AS that refuses or does not
 * answer in scscf.as_timeout_ms is logged; with DefaultHandling SESSION_TERMINATED the
 * identity is then de-registered by the network (5.4.1.7A).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_wait.h>

#define BOUNDARY "ims-3rd-party-boundary"

struct tp_req {
    struct scscf *s;
    nta_outgoing_t *orq;
    su_timer_t *timer;
    char impu[SCSCF_ID_MAX];
    char as[SCSCF_ID_MAX];
    bool terminate;               /* DefaultHandling SESSION_TERMINATED */
};

static struct {
    struct ims_counter *sent, *failed;
} m;
static nta_leg_t *g_leg;

int scscf_thirdparty_init(struct scscf *s)
{
    m.sent = ims_counter_new("scscf_third_party_register_total",
                             "third-party REGISTERs to application servers",
                             "outcome=\"sent\"");
    m.failed = ims_counter_new("scscf_third_party_register_total",
                               "third-party REGISTERs to application servers",
                               "outcome=\"failed\"");
    g_leg = ims_sip_leg(s->d->sip);
    return g_leg ? 0 : -ENOMEM;
}

void scscf_thirdparty_fini(void)
{
    g_leg = NULL;                 /* the SIP stack's own leg */
}

static void tp_free(struct tp_req *t)
{
    if (t->orq)
        nta_outgoing_destroy(t->orq);
    if (t->timer)
        su_timer_destroy(t->timer);
    free(t);
}

static void failed(struct tp_req *t, int status)
{
    ims_counter_inc(m.failed);
    ims_warn("scscf: third-party REGISTER of %s to %s failed (%d)%s", t->impu, t->as, status,
             t->terminate ? ": de-registering the identity (DefaultHandling)" : "");
    if (t->terminate && scscf_store_find(t->s, t->impu))
        scscf_registrar_network_deregister(t->s, t->impu, "application server refused");
}

static int on_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    struct tp_req *t = (struct tp_req *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    if (status >= 300)
        failed(t, status);
    tp_free(t);
    return 0;
}

static void on_timeout(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
    (void)magic;
    (void)timer;
    struct tp_req *t = (struct tp_req *)arg;
    failed(t, 408);
    tp_free(t);
}

/* The body the iFC asks for into @b; its Content-Type into @ct ("" for none) */
static void body_of(const struct scscf_ifc *ifc, const char *request, const char *response,
                    struct ims_buf *b, char *ct, size_t ctlen)
{
    const char *parts[3][2];
    int n = 0;
    if (ifc->include_register_request && request)
        parts[n][0] = "message/sip", parts[n++][1] = request;
    if (ifc->include_register_response && response)
        parts[n][0] = "message/sip", parts[n++][1] = response;
    char *info = NULL;
    if (ifc->service_info) {
        size_t len = strlen(ifc->service_info) + 128;
        info = malloc(len);
        if (info) {
            snprintf(info, len, "<?xml version=\"1.0\"?>\r\n<ims-3gpp version=\"1\">"
                     "<service-info>%s</service-info></ims-3gpp>\r\n", ifc->service_info);
            parts[n][0] = "application/3gpp-ims+xml", parts[n++][1] = info;
        }
    }
    ct[0] = '\0';
    if (n == 1) {
        snprintf(ct, ctlen, "%s", parts[0][0]);
        ims_buf_addf(b, "%s", parts[0][1]);
    } else if (n > 1) {
        snprintf(ct, ctlen, "multipart/mixed;boundary=" BOUNDARY);
        for (int i = 0; i < n; i++)
            ims_buf_addf(b, "--" BOUNDARY "\r\nContent-Type: %s\r\n\r\n%s\r\n", parts[i][0],
                         parts[i][1]);
        ims_buf_addf(b, "--" BOUNDARY "--\r\n");
    }
    free(info);
}

static void send_one(struct scscf *s, const struct scscf_ifc *ifc, const char *impu,
                     unsigned expires, const char *request, const char *response)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *as = url_make(home, ifc->as);
    struct tp_req *t = as ? calloc(1, sizeof(*t)) : NULL;
    if (!t) {
        ims_warn("scscf: third-party REGISTER of %s: AS '%s' is not a SIP URI", impu, ifc->as);
        su_home_deinit(home);
        return;
    }
    t->s = s;
    t->terminate = ifc->default_handling == SCSCF_SESSION_TERMINATED;
    snprintf(t->impu, sizeof(t->impu), "%s", impu);
    snprintf(t->as, sizeof(t->as), "%s", ifc->as);
    struct ims_buf b = { 0 };
    char ct[96], ex[16], to[SCSCF_ID_MAX + 2], from[SCSCF_ID_MAX + 2];
    body_of(ifc, request, response, &b, ct, sizeof(ct));
    char *body = ims_buf_take(&b);
    snprintf(ex, sizeof(ex), "%u", expires);
    snprintf(to, sizeof(to), "<%s>", impu);
    snprintf(from, sizeof(from), "<%s>", s->name);
    url_t *hop = ims_sip_resolve(s->d->sip, home, as);
    t->orq = nta_outgoing_tcreate(
        g_leg, on_answer, (nta_outgoing_magic_t *)t, (url_string_t *)(hop ? hop : as),
        SIP_METHOD_REGISTER, (url_string_t *)as, SIPTAG_FROM_STR(from), SIPTAG_TO_STR(to),
        SIPTAG_CONTACT_STR(from), SIPTAG_EXPIRES_STR(ex),
        TAG_IF(ct[0] && body, SIPTAG_CONTENT_TYPE_STR(ct)),
        TAG_IF(ct[0] && body, SIPTAG_PAYLOAD_STR(body)), TAG_END());
    free(body);
    su_home_deinit(home);
    if (!t->orq) {
        failed(t, 500);
        tp_free(t);
        return;
    }
    t->timer = su_timer_create(su_root_task(ims_sip_root(s->d->sip)), s->as_timeout_ms);
    if (t->timer)
        su_timer_set(t->timer, on_timeout, (su_timer_arg_t *)t);
    ims_counter_inc(m.sent);
}

void scscf_thirdparty_register(struct scscf *s, struct scscf_aor *aor, const char *impu,
                               enum scscf_reg_type type, unsigned expires, msg_t *request,
                               msg_t *response)
{
    struct scscf_ifc_set *set = scscf_store_ifcs(s, aor, impu);
    if (!set || !g_leg)
        return;
    msg_t *own = NULL;
    if (!request) {
        /* expiry or the network: no REGISTER of the UE; match one standing for it */
        char text[SCSCF_ID_MAX * 2 + 160];
        int len = snprintf(text, sizeof(text),
                           "REGISTER sip:%s SIP/2.0\r\nFrom: <%s>;tag=x\r\nTo: <%s>\r\n"
                           "Call-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
                           s->realm, impu, impu);
        own = msg_make(sip_default_mclass(), 0, text, (size_t)len);
        if (!own)
            return;
    }
    struct scscf_ifc_ctx ctx = { .sip = sip_object(request ? request : own),
                                 .session_case = SCSCF_ORIG,
                                 .registered = type != SCSCF_REG_DE, .reg_type = type };
    char *req_text = NULL, *resp_text = NULL;
    size_t n;
    for (int i = scscf_ifc_next(set, 0, &ctx); i >= 0; i = scscf_ifc_next(set, i + 1, &ctx)) {
        const struct scscf_ifc *ifc = scscf_ifc_get(set, i);
        if (ifc->include_register_request && request && !req_text)
            req_text = msg_as_string(NULL, request, NULL, 0, &n);
        if (ifc->include_register_response && response && !resp_text)
            resp_text = msg_as_string(NULL, response, NULL, 0, &n);
        send_one(s, ifc, impu, expires, req_text, resp_text);
    }
    su_free(NULL, req_text);
    su_free(NULL, resp_text);
    if (own)
        msg_destroy(own);
}
