/*
 * session.c - the S-CSCF's routing of requests other than REGISTER (TS 24.229 5.4.3)
 *
 * Which request is it? Back from an application server (our Route entry carries the
 * original dialog identifier, odi), within a dialog (To tag: along the Route set),
 * originating (our Route entry carries "orig", as the Service-Route gave it to the UE), or
 * terminating (everything else: the I-CSCF sends requests for our users without a Route).
 * Then the served user (P-Asserted-Identity, or the Request-URI), his iFCs in priority
 * order, each matching one sending the request to its AS (ISC) with a Route back to us;
 * when no iFC is left, route.c decides where the request goes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "diam_doic.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

static struct {
    struct ims_counter *orig, *term, *in_dialog, *to_as, *as_back, *as_timeout, *refused;
} m;

static void metrics_init(void)
{
    const char *name = "scscf_requests_total", *help = "requests routed, by kind";
    m.orig = ims_counter_new(name, help, "kind=\"originating\"");
    m.term = ims_counter_new(name, help, "kind=\"terminating\"");
    m.in_dialog = ims_counter_new(name, help, "kind=\"in_dialog\"");
    m.as_back = ims_counter_new(name, help, "kind=\"from_as\"");
    m.refused = ims_counter_new(name, help, "kind=\"refused\"");
    m.to_as = ims_counter_new("scscf_isc_total", "requests sent to application servers",
                              "outcome=\"sent\"");
    m.as_timeout = ims_counter_new("scscf_isc_total", "requests sent to application servers",
                                   "outcome=\"no_answer\"");
}

int scscf_session_init(struct scscf *s)
{
    metrics_init();
    s->odis = ims_map_create(false);
    return s->odis ? 0 : -ENOMEM;
}

void scscf_session_fini(struct scscf *s)
{
    ims_map_destroy(s->odis);
    s->odis = NULL;
}

static struct ims_log_ids ids_of(const struct scscf_call *call)
{
    return (struct ims_log_ids){ .call_id = call->tx ? ims_ptx_call_id(call->tx) : NULL,
                                 .icid = call->icid[0] ? call->icid : NULL };
}

bool scscf_call_release(struct scscf_call *call)
{
    if (call->tx || call->pending)
        return false;
    free(call);
    return true;
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    struct scscf_call *call = arg;
    (void)tx;
    scscf_charging_call_done(call);
    if (call->odi[0])
        ims_map_remove(call->s->odis, call->odi);
    call->tx = NULL;
    scscf_call_release(call);
}

/* Every response going upstream: charging */
static int on_response(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    (void)tx;
    (void)msg;
    scscf_charging_response(arg, sip);
    return 0;
}

void scscf_call_refuse(struct scscf_call *call, int status, const char *phrase,
                       const char *why)
{
    struct ims_log_ids ids = ids_of(call);
    const sip_t *req = ims_ptx_sip(call->tx);
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s %s refused %d: %s",
            req ? req->sip_request->rq_method_name : "request",
            call->served[0] ? call->served : "", status, why);
    ims_counter_inc(m.refused);
    ims_ptx_refuse(call->tx, status, phrase, why, call->s->retry_after);
}

/* ---- ISC ---- */

/* The AS of the branch in progress sent nothing at all: its DefaultHandling decides. */
static bool on_final(void *arg, struct ims_ptx *tx, int best, bool local)
{
    struct scscf_call *call = arg;
    bool term = call->sc == SCSCF_TERM_REG || call->sc == SCSCF_TERM_UNREG;
    if (!call->as[0] && local && term && best != 408 && !ims_ptx_cancelled(tx)) {
        /* no device of the callee answered at the transport level (RFC 3261 16.9 would
         * say 500): the user is not reachable now */
        char warning[160];
        ims_sip_warning(call->s->d->sip, warning, sizeof(warning),
                        "no device of the callee could be reached");
        ims_ptx_reply(tx, 480, "Temporarily Unavailable", warning);
        return true;
    }
    if (!call->as[0] || !local)
        return false;
    char as[SCSCF_ID_MAX];
    snprintf(as, sizeof(as), "%s", call->as);
    call->as[0] = '\0';
    ims_counter_inc(m.as_timeout);
    struct ims_log_ids ids = ids_of(call);
    bool go_on = call->as_dh == SCSCF_SESSION_CONTINUED;
    ims_log(IMS_LOG_WARN, &ids, "scscf: application server %s did not answer: %s", as,
            go_on ? "session continued (DefaultHandling)" : "session terminated");
    if (go_on) {
        scscf_session_continue(call);
    } else {
        char why[SCSCF_ID_MAX + 64];
        snprintf(why, sizeof(why), "application server %s did not answer", as);
        scscf_call_refuse(call, 504, "Server Time-out", why);
    }
    return true;
}

static void new_token(char *out, size_t len)
{
    uint8_t r[8];
    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0, sizeof(r));
    snprintf(out, len, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

/* The request goes to the AS of @ifc, with a Route back to us naming this transaction. */
static void to_as(struct scscf_call *call, const struct scscf_ifc *ifc)
{
    struct scscf *s = call->s;
    su_home_t *home = msg_home(ims_ptx_msg(call->tx));
    url_t *as = url_make(home, ifc->as);
    if (!as || (as->url_type != url_sip && as->url_type != url_sips)) {
        struct ims_log_ids ids = ids_of(call);
        ims_log(IMS_LOG_WARN, &ids, "scscf: iFC %d names no SIP AS ('%s'): skipped",
                ifc->priority, ifc->as);
        scscf_session_continue(call);
        return;
    }
    if (!url_has_param(as, "lr"))
        url_param_add(home, as, "lr");
    if (!call->odi[0]) {
        int err = 0;
        new_token(call->odi, sizeof(call->odi));
        if (!ims_map_put(s->odis, call->odi, call, &err) && err) {
            call->odi[0] = '\0';
            scscf_call_refuse(call, 500, NULL, "out of memory");
            return;
        }
    }
    char *routes = su_sprintf(home, "<" URL_PRINT_FORMAT ">, <" URL_PRINT_FORMAT ";odi=%s>",
                              URL_PRINT_ARGS(as), URL_PRINT_ARGS(ims_sip_own_uri(s->d->sip)),
                              call->odi);
    snprintf(call->as, sizeof(call->as), "%s", ifc->as);
    call->as_dh = ifc->default_handling;
    struct ims_log_ids ids = ids_of(call);
    ims_log(IMS_LOG_DEBUG, &ids, "scscf: iFC %d matched: to %s", ifc->priority, ifc->as);
    struct ims_ptx_hop hop = { .routes = routes, .record_route = true,
                               .silent_ms = s->as_timeout_ms };
    int st = routes ? ims_ptx_forward_ex(call->tx, &hop) : 500;
    if (st) {
        call->as[0] = '\0';
        scscf_call_refuse(call, st, NULL, "cannot forward to the application server");
        return;
    }
    ims_counter_inc(m.to_as);
}

void scscf_session_continue(struct scscf_call *call)
{
    struct scscf *s = call->s;
    if (ims_ptx_cancelled(call->tx)) {
        ims_ptx_reply(call->tx, 487, NULL, NULL);
        return;
    }
    struct scscf_aor *aor = scscf_store_find(s, call->served);
    struct scscf_ifc_set *set = aor ? scscf_store_ifcs(s, aor, call->served) : NULL;
    struct scscf_ifc_ctx ctx = { .sip = ims_ptx_sip(call->tx), .session_case = call->sc,
                                 .registered = call->registered, .reg_type = -1 };
    int i = set ? scscf_ifc_next(set, call->next_ifc, &ctx) : -1;
    if (i >= 0) {
        call->next_ifc = i + 1;
        to_as(call, scscf_ifc_get(set, i));
        return;
    }
    call->as[0] = '\0';
    if (scscf_charging_originating(call))
        return;                       /* the credit-control answer goes on */
    if (call->sc == SCSCF_ORIG || call->sc == SCSCF_ORIG_UNREG || call->sc == SCSCF_ORIG_CDIV)
        scscf_route_originating(call);
    else
        scscf_route_terminating(call);
}

/* ---- the served user ---- */

static void served_from(struct scscf_call *call, struct scscf_aor *aor)
{
    call->registered = aor->contacts != NULL;
    if (call->sc == SCSCF_ORIG && !call->registered)
        call->sc = SCSCF_ORIG_UNREG;
    if (call->sc == SCSCF_TERM_REG && !call->registered)
        call->sc = SCSCF_TERM_UNREG;
    scscf_session_continue(call);
}

static bool is_barred(const struct scscf_aor *aor, const char *impu)
{
    for (int i = 0; i < aor->nimpus; i++)
        if (strcasecmp(aor->impus[i], impu) == 0)
            return aor->barred[i];
    return false;
}

/* SAA for a user who is not registered here: his profile for unregistered services */
static void on_saa_unreg(void *arg, struct scscf_cx_answer *a)
{
    struct scscf_call *call = arg;
    call->pending--;
    if (!call->tx) {
        scscf_call_release(call);
        return;
    }
    if (a->error || a->code != IMS_DIAM_SUCCESS || a->experimental) {
        const char *phrase, *why;
        int st = scscf_cx_sip_status(a, &phrase, &why);
        if (!a->error && a->experimental && a->code == IMS_DIAM_ERROR_USER_UNKNOWN) {
            st = 404;
            phrase = "Not Found";
            why = "no such user";
        }
        scscf_call_refuse(call, st, phrase, why);
        return;
    }
    struct scscf_aor *aor = scscf_store_upsert(call->s, call->served, a->user_data);
    if (!aor) {
        scscf_call_refuse(call, 500, NULL, "out of memory");
        return;
    }
    if (!aor->contacts)
        aor->unreg_until = time(NULL) + (time_t)call->s->unreg_ttl;
    struct ims_log_ids ids = ids_of(call);
    if ((a->ccf[0] && scscf_store_set_name(&aor->ccf, a->ccf) != 0) ||
        (a->charging && scscf_store_set_name(&aor->ecf, a->ecf) != 0))
        ims_log(IMS_LOG_WARN, &ids, "scscf: out of memory: the charging functions of %s "
                "not updated", call->served);
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s not registered: unregistered services",
            call->served);
    served_from(call, aor);
}

static void lookup_served(struct scscf_call *call)
{
    struct scscf_aor *aor = scscf_store_find(call->s, call->served);
    if (aor && is_barred(aor, call->served)) {
        bool orig = call->sc == SCSCF_ORIG;
        scscf_call_refuse(call, orig ? 403 : 404, orig ? "Forbidden" : "Not Found",
                          "the identity is barred");
        return;
    }
    if (aor) {
        served_from(call, aor);
        return;
    }
    int rc = scscf_cx_sar(call->s, "", call->served, SCSCF_SAT_UNREGISTERED_USER, false,
                          on_saa_unreg, call);
    if (rc) {
        scscf_call_refuse(call, rc == -EAGAIN ? 503 : 480, NULL, "HSS unreachable");
        return;
    }
    call->pending++;
}

/* ---- entry ---- */

/* What a request is to this S-CSCF, by its first Route */
enum kind {
    KIND_OWN,         /* no Route, our Request-URI: for the node itself, it goes nowhere */
    KIND_FROM_AS,     /* our Route with an original dialog identifier: back from an AS */
    KIND_ORIG,        /* our Route with "orig" (the Service-Route): originating */
    KIND_TERM,        /* else (the I-CSCF sends those without a Route): terminating */
};

/* The kind of request @sip; for KIND_FROM_AS its odi into @odi (@len bytes) */
static enum kind kind_of(struct scscf *s, const sip_t *sip, char *odi, size_t len)
{
    const sip_route_t *r = sip->sip_route;
    odi[0] = '\0';
    if (r && ims_sip_is_own(s->d->sip, r->r_url)) {
        if (r->r_url->url_params)
            ims_url_param(r->r_url->url_params, "odi", odi, len);
        return odi[0] ? KIND_FROM_AS : url_has_param(r->r_url, "orig") ? KIND_ORIG : KIND_TERM;
    }
    return !r && ims_sip_is_own(s->d->sip, sip->sip_request->rq_url) ? KIND_OWN : KIND_TERM;
}

/* The served user of originating request @req: its first P-Asserted-Identity that is a SIP
 * or tel URI, into @served; -ENOENT when it has none */
static int originating_user(const sip_t *req, char *served, size_t len)
{
    for (const sip_p_asserted_identity_t *pai = sip_p_asserted_identity(req); pai;
         pai = pai->paid_next)
        if (ims_sip_impu_of(pai->paid_url, served, len) == 0)
            return 0;
    return -ENOENT;
}

/* The served user of terminating request @req into @served: the one whose temporary GRUU
 * (RFC 5627) is its Request-URI, else the target, the identity of its Request-URI (into
 * @target too); -EINVAL when that is no SIP or tel URI. Both SCSCF_ID_MAX bytes. */
static int terminating_user(struct scscf *s, const sip_t *req, char *target, char *served)
{
    const url_t *ruri = req->sip_request->rq_url;
    if (ims_sip_target_of(ruri, target, SCSCF_ID_MAX) != 0)
        return -EINVAL;
    struct scscf_aor *gruu = ruri->url_user && url_has_param(ruri, "gr")
                                 ? ims_map_get(s->tgruus, ruri->url_user)
                                 : NULL;
    snprintf(served, SCSCF_ID_MAX, "%s", gruu ? gruu->impus[0] : target);
    return 0;
}

static void originating(struct scscf_call *call)
{
    if (originating_user(ims_ptx_sip(call->tx), call->served, sizeof(call->served)) != 0) {
        scscf_call_refuse(call, 403, "Forbidden",
                          "no P-Asserted-Identity: originating requests come from a P-CSCF");
        return;
    }
    ims_counter_inc(m.orig);
    call->sc = SCSCF_ORIG;
    lookup_served(call);
}

static void terminating(struct scscf_call *call)
{
    if (terminating_user(call->s, ims_ptx_sip(call->tx), call->target, call->served) != 0) {
        scscf_call_refuse(call, 416, "Unsupported URI Scheme", "not a SIP or tel URI");
        return;
    }
    ims_counter_inc(m.term);
    call->sc = SCSCF_TERM_REG;
    lookup_served(call);
}

/* Back from an AS: the state of the transaction that sent it there goes on here. */
static void from_as(struct scscf_call *call, const char *odi)
{
    struct scscf_call *first = ims_map_get(call->s->odis, odi);
    if (!first) {
        scscf_call_refuse(call, 481, "Call/Transaction Does Not Exist",
                          "unknown or finished original dialog identifier");
        return;
    }
    ims_counter_inc(m.as_back);
    call->sc = first->sc;
    call->registered = first->registered;
    call->next_ifc = first->next_ifc;
    snprintf(call->served, sizeof(call->served), "%s", first->served);
    snprintf(call->target, sizeof(call->target), "%s", first->target);
    snprintf(call->ruri, sizeof(call->ruri), "%s", first->ruri);
    if (!call->icid[0])
        snprintf(call->icid, sizeof(call->icid), "%s", first->icid);
    bool term = call->sc == SCSCF_TERM_REG || call->sc == SCSCF_TERM_UNREG;
    char now[SCSCF_ID_MAX];
    const sip_t *req = ims_ptx_sip(call->tx);
    if (term && ims_sip_target_of(req->sip_request->rq_url, now, sizeof(now)) == 0 &&
        strcasecmp(now, call->target) != 0) {
        /* the AS retargeted a terminating request: originating for the diverting user
         * (TS 24.229 5.4.3.3), his originating-CDIV iFCs from the first */
        struct ims_log_ids ids = ids_of(call);
        ims_log(IMS_LOG_INFO, &ids, "scscf: %s diverted to %s by an AS", call->target, now);
        call->sc = SCSCF_ORIG_CDIV;
        call->next_ifc = 0;
    }
    scscf_session_continue(call);
}

static void icid_of(const sip_t *req, char *buf, size_t len)
{
    struct ims_pcv pcv;
    const char *v = ims_sip_header(req, "P-Charging-Vector");
    buf[0] = '\0';
    if (v && ims_pcv_parse(v, &pcv) == 0)
        snprintf(buf, len, "%s", pcv.icid);
}

int scscf_session(struct scscf *s, nta_incoming_t *irq, const sip_t *sip)
{
    char odi[24];
    enum kind k = kind_of(s, sip, odi, sizeof(odi));
    if (k == KIND_OWN)
        return ims_sip_reply_unhandled(s->d->sip, irq, sip, s->d->desc->sip_allow);
    struct ims_ptx *tx = ims_ptx_create(s->d->sip, irq);
    if (!tx)
        return 500;
    struct scscf_call *call = calloc(1, sizeof(*call));
    if (!call) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return 0;
    }
    call->s = s;
    call->tx = tx;
    call->t0 = time(NULL);
    ims_ptx_set_hooks(tx, on_response, on_done, call);
    ims_ptx_set_final(tx, on_final);
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    const sip_t *req = ims_ptx_sip(tx);
    icid_of(req, call->icid, sizeof(call->icid));
    url_e(call->ruri, sizeof(call->ruri), req->sip_request->rq_url);
    if (k == KIND_FROM_AS) {
        from_as(call, odi);
    } else if (req->sip_to && req->sip_to->a_tag) {
        /* within a dialog: along the Route set (our own entries are gone) */
        ims_counter_inc(m.in_dialog);
        scscf_charging_in_dialog(s, req);
        if (!req->sip_route && ims_sip_is_own(s->d->sip, req->sip_request->rq_url)) {
            scscf_call_refuse(call, 404, "Not Found", "no route beyond this node");
            return 0;
        }
        st = ims_ptx_forward(tx, NULL, NULL, false);
        if (st)
            scscf_call_refuse(call, st, NULL, "cannot forward along the Route set");
    } else if (req->sip_request->rq_method == sip_method_ack) {
        ims_ptx_reply(tx, 200, NULL, NULL);   /* an ACK outside a dialog: absorbed */
    } else if (k == KIND_ORIG) {
        originating(call);
    } else {
        terminating(call);
    }
    return 0;
}

bool scscf_session_sar(struct scscf *s, const sip_t *req)
{
    char odi[24], target[SCSCF_ID_MAX], served[SCSCF_ID_MAX];
    if ((req->sip_to && req->sip_to->a_tag) || req->sip_request->rq_method == sip_method_ack)
        return false;
    enum kind k = kind_of(s, req, odi, sizeof(odi));
    int rc = k == KIND_ORIG   ? originating_user(req, served, sizeof(served))
             : k == KIND_TERM ? terminating_user(s, req, target, served)
                              : -ENOENT;
    return rc == 0 && !scscf_store_find(s, served);
}

bool scscf_session_early(struct scscf *s, const sip_t *req, struct ims_sip_refusal *out)
{
    if (!scscf_session_sar(s, req) ||
        !ims_diam_doic_throttle_early(IMS_CMD_SAR, SCSCF_SAT_UNREGISTERED_USER))
        return false;
    ims_counter_inc(m.refused);
    out->status = 503;
    out->retry_after = s->retry_after;
    snprintf(out->why, sizeof(out->why), "HSS too busy: its overload report (RFC 7683) asks "
             "for fewer SARs");
    return true;
}
