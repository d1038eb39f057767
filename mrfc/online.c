/*
 * online.c - online charging (Ro, TS 32.260 5.2.2 / TS 32.299) of the MRF's RFC 4240
 * services, Node-Functionality MRFC:
 *
 *   announcement  immediate event charging (IEC): one CCR-EVENT (DIRECT_DEBITING, 1 unit)
 *                 before the 200; no credit, no announcement
 *   conference    event charging with unit reservation (ECUR): CCR-INITIAL reserves
 *                 charging.requested_time seconds before the party joins; CCR-UPDATE with
 *                 the seconds used when they run out (or at Validity-Time); a refused
 *                 update or the end of a final grant ends the party's session (BYE);
 *                 CCR-TERMINATION with the seconds used when it ends
 *
 * Which sessions: with charging.ocs set, those whose INVITE (from a trusted peer: the
 * S-CSCF or an AS of the trust domain) carries P-Charging-Function-Addresses with an ecf
 * (TS 24.229 5.7.1: the S-CSCF hands the charging functions of the served user to the
 * MRFC), or every one with charging.online = all. The served user is the P-Served-User of
 * the INVITE, else its P-Asserted-Identity; without either such a session is refused 403
 * (a prepaid user never gets a service uncharged). The CCRs go to charging.ocs only, never
 * to an address a header names. The OCS rates them as service voice (the SIP method is
 * INVITE) by the Called-Party-Address, the Request-URI: "annc@..." and "conf=<id>@..." are
 * the prefixes of the MRF's rates (deploy/lab/charging.json).
 *
 * Answers: no credit (4012, 4010) -> 402; other refusals (unknown user, no rate) -> 403;
 * no OCS -> Credit-Control-Failure-Handling (charging.ccfh): 503, or the service
 * uncharged. Each with a Warning. The INVITE waits for the OCS after a 100 Trying; a
 * CANCEL meanwhile gets its 487 and a debited event is given back (REFUND_ACCOUNT).
 * Legs and control channels of an AS (sip:mrfc@) are the AS's to charge.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "session.h"
#include "charging.h"
#include "log.h"
#include "ro_client.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

struct mrfc_ro {
    struct ims_ro_conf conf;
    char ocs[256], realm[256];
    bool all;                     /* charging.online = all */
    unsigned requested_time;
    struct mrfc_online *pending;  /* INVITEs waiting for the OCS */
    struct ims_counter *m_event, *m_initial, *m_update, *m_term, *m_refund, *m_refused,
        *m_uncharged, *m_released;
};

struct mrfc_online {
    struct mrfc_online *next, **prevp;   /* while pending */
    struct mrfc *mrfc;
    struct ims_ro_session *ro;    /* ECUR */
    struct mrfc_session *s;       /* the session, once answered */
    nta_incoming_t *irq;          /* the INVITE waiting */
    msg_t *msg;                   /* its message (a reference) */
    struct mrfc_invite inv;
    bool cancelled;
    struct ims_chg_fields f;
    char subscription[256];
    unsigned grant;               /* seconds of the running grant */
    bool final_unit;
    bool busy;                    /* a CCR-UPDATE is under way */
    bool over;                    /* the session ended meanwhile */
    time_t reported;
    su_timer_t *timer;
};

/* ---- decisions ---- */

/* The SIP status refusing a session for Ro result @r, 0 to go on (phrase in *@why) */
static int status_of(const struct ims_ro_result *r, const char **why)
{
    switch (r->decision) {
    case IMS_RO_GRANTED:
    case IMS_RO_CONTINUE:
        return 0;
    case IMS_RO_DENIED:
        if (r->result_code == 4012 || r->result_code == 4010) {
            *why = "online charging: credit limit reached";
            return 402;
        }
        *why = "online charging: the OCS refused the service";
        return 403;
    default:
        *why = "online charging: the OCS cannot be reached";
        return 503;
    }
}

/* Seconds until the next CCR: the grant, or Validity-Time when sooner */
static unsigned timer_of(const struct ims_ro_result *r)
{
    unsigned t = r->granted_time;
    if (r->validity_time && (!t || r->validity_time < t))
        t = r->validity_time;
    return t;
}

/* The served user of @sip (P-Served-User, RFC 5502, else the first P-Asserted-Identity)
 * into @out; -ENOENT */
static int served_user(const sip_t *sip, char *out, size_t len)
{
    const char *v = ims_sip_header(sip, "P-Served-User");
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_route_t *r = v ? ims_addr_list_parse(home, v) : NULL;
    bool ok = r && url_e(out, (isize_t)len, r->r_url) > 0;
    su_home_deinit(home);
    if (ok)
        return 0;
    const sip_p_asserted_identity_t *pai = sip_p_asserted_identity(sip);
    if (pai && url_e(out, (isize_t)len, pai->paid_url) > 0)
        return 0;
    return -ENOENT;
}

/* Whether the INVITE @sip is charged online */
static bool charged(const struct mrfc_ro *ro, const sip_t *sip, const struct mrfc_invite *inv)
{
    if (inv->svc.kind != MRFC_SVC_ANNC && inv->svc.kind != MRFC_SVC_CONF)
        return false;
    if (ro->all)
        return true;
    struct ims_pcfa pcfa;
    const char *v = ims_sip_header(sip, "P-Charging-Function-Addresses");
    return v && ims_pcfa_parse(v, &pcfa) == 0 && pcfa.necf > 0;
}

static void request_of(const struct mrfc_online *o, struct ims_ro_request *q)
{
    memset(q, 0, sizeof(*q));
    q->subscription = o->subscription;
    q->subscription_type = IMS_RO_SUB_SIP_URI;
    if (strncmp(o->subscription, "tel:", 4) == 0) {
        q->subscription_type = IMS_RO_SUB_E164;
        q->subscription += 4;
    }
    ims_chg_info_of(&o->f, IMS_RF_TERMINATING, &q->info);
}

static struct ims_log_ids ids_of(const struct mrfc_online *o)
{
    return (struct ims_log_ids){ .call_id = o->f.call_id,
                                 .icid = o->f.icid[0] ? o->f.icid : NULL,
                                 .session_id = o->ro ? ims_ro_session_id(o->ro) : NULL };
}

/* ---- life of a charged session ---- */

/* The answer of a CCR nobody waits for (a refund): logged only */
static void on_ignored(void *arg, const struct ims_ro_result *res)
{
    (void)arg;
    if (res->decision != IMS_RO_GRANTED)
        ims_info("mrfc: a refund was not taken by the OCS (%s)",
                 res->reason ? res->reason : "no answer");
}

static void online_free(struct mrfc_online *o)
{
    if (o->prevp) {
        *o->prevp = o->next;
        if (o->next)
            o->next->prevp = o->prevp;
    }
    if (o->timer)
        su_timer_destroy(o->timer);
    if (o->ro)
        ims_ro_session_free(o->ro);   /* a CCR under way still goes; no callback */
    if (o->msg)
        msg_destroy(o->msg);
    free(o);
}

/* CCR-TERMINATION with the seconds used, then @o goes */
static void terminate(struct mrfc_online *o)
{
    struct mrfc_ro *ro = o->mrfc->ro;
    if (o->ro) {
        struct ims_ro_request q;
        request_of(o, &q);
        time_t now = time(NULL);
        q.used_time = o->reported && now > o->reported ? (uint32_t)(now - o->reported) : 0;
        ims_counter_inc(ro->m_term);
        if (ims_ro_terminate(o->ro, &q, on_ignored, NULL) != 0) {
            struct ims_log_ids ids = ids_of(o);
            ims_log(IMS_LOG_WARN, &ids, "mrfc: the CCR-TERMINATION could not be sent");
        }
    }
    online_free(o);
}

static void arm(struct mrfc_online *o);

static void on_update(void *arg, const struct ims_ro_result *res)
{
    struct mrfc_online *o = arg;
    o->busy = false;
    o->reported = time(NULL);
    if (o->over) {
        terminate(o);
        return;
    }
    const char *why = NULL;
    struct ims_log_ids ids = ids_of(o);
    if (status_of(res, &why) != 0) {
        ims_log(IMS_LOG_INFO, &ids, "mrfc: CCR-UPDATE refused (%s): the party leaves",
                res->reason ? res->reason : "?");
        ims_counter_inc(o->mrfc->ro->m_released);
        mrfc_session_end(o->s, "credit limit reached");
        return;
    }
    if (res->decision == IMS_RO_CONTINUE) {
        ims_counter_inc(o->mrfc->ro->m_uncharged);
        ims_log(IMS_LOG_WARN, &ids, "mrfc: OCS unreachable: the conference goes on uncharged");
        return;
    }
    o->grant = timer_of(res);
    o->final_unit = res->final_unit;
    arm(o);
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct mrfc_online *o = (struct mrfc_online *)arg;
    struct ims_log_ids ids = ids_of(o);
    if (o->final_unit) {
        ims_log(IMS_LOG_INFO, &ids, "mrfc: the final units are used: the party leaves");
        ims_counter_inc(o->mrfc->ro->m_released);
        mrfc_session_end(o->s, "credit limit reached");
        return;
    }
    struct ims_ro_request q;
    request_of(o, &q);
    time_t now = time(NULL);
    q.used_time = now > o->reported ? (uint32_t)(now - o->reported) : 0;
    q.requested_time = o->mrfc->ro->requested_time;
    ims_counter_inc(o->mrfc->ro->m_update);
    if (ims_ro_update(o->ro, &q, on_update, o) != 0) {
        ims_log(IMS_LOG_WARN, &ids, "mrfc: the CCR-UPDATE could not be sent: the party leaves");
        mrfc_session_end(o->s, "online charging failed");
        return;
    }
    o->busy = true;
}

static void arm(struct mrfc_online *o)
{
    if (!o->grant || !o->s)
        return;
    su_timer_set(o->timer, on_timer, (su_timer_arg_t *)o);
}

void mrfc_online_answered(struct mrfc_session *s)
{
    struct mrfc_online *o = s->ro;
    if (!o)
        return;
    o->s = s;
    o->reported = time(NULL);
    o->timer = su_timer_create(su_root_task(ims_sip_root(s->mrfc->d->sip)),
                               (su_duration_t)o->grant * 1000);
    arm(o);
}

void mrfc_online_end(struct mrfc_session *s)
{
    struct mrfc_online *o = s->ro;
    if (!o)
        return;
    s->ro = NULL;
    o->s = NULL;
    if (o->timer)
        su_timer_reset(o->timer);
    if (o->busy) {
        o->over = true;               /* the CCR-UPDATE's answer sends the CCR-T */
        return;
    }
    terminate(o);
}

void mrfc_online_drop(struct mrfc_online *o)
{
    if (o)
        terminate(o);
}

/* ---- the INVITE waiting for the OCS ---- */

/* The INVITE is done with: it leaves the pending list (its irq is answered or handed on) */
static void unpend(struct mrfc_online *o)
{
    if (o->prevp) {
        *o->prevp = o->next;
        if (o->next)
            o->next->prevp = o->prevp;
        o->prevp = NULL;
        o->next = NULL;
    }
    o->irq = NULL;
}

/* Give a debited announcement back (its INVITE was cancelled meanwhile) */
static void refund(struct mrfc_online *o)
{
    struct ims_ro_request q;
    request_of(o, &q);
    q.requested_units = 1;
    q.requested_action = 1;           /* REFUND_ACCOUNT */
    ims_counter_inc(o->mrfc->ro->m_refund);
    ims_ro_event(&o->mrfc->ro->conf, &q, on_ignored, NULL);
}

/* The OCS answered (or not) for INVITE @o: go on, or refuse it */
static void decided(struct mrfc_online *o, const struct ims_ro_result *res, bool event)
{
    struct mrfc *mrfc = o->mrfc;
    struct ims_log_ids ids = ids_of(o);
    nta_incoming_t *irq = o->irq;
    const char *why = NULL;
    int status = status_of(res, &why);
    if (o->cancelled) {
        unpend(o);
        if (status == 0 && res->decision == IMS_RO_GRANTED && event)
            refund(o);
        (status == 0 ? terminate : online_free)(o);
        return;
    }
    unpend(o);
    if (status) {
        ims_counter_inc(mrfc->ro->m_refused);
        ims_log(IMS_LOG_INFO, &ids, "mrfc: %s for %s: %s (%s)", event ? "CCR-EVENT" : "CCR-"
                "INITIAL", o->subscription, why, res->reason ? res->reason : "no answer");
        char warning[300];
        ims_sip_warning(mrfc->d->sip, warning, sizeof(warning), "%s", why);
        nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                            SIPTAG_SERVER_STR("mrfc"), TAG_END());
        ims_sip_count_response(mrfc->d->sip, status);
        nta_incoming_destroy(irq);
        online_free(o);
        return;
    }
    if (res->decision == IMS_RO_CONTINUE) {
        ims_counter_inc(mrfc->ro->m_uncharged);
        ims_log(IMS_LOG_WARN, &ids, "mrfc: OCS unreachable: the session goes on uncharged");
    } else {
        ims_log(IMS_LOG_INFO, &ids, "mrfc: %s for %s granted%s", event ? "CCR-EVENT"
                : "CCR-INITIAL", o->subscription, o->final_unit ? " (final units)" : "");
    }
    bool keep = !event && res->decision == IMS_RO_GRANTED;
    msg_t *msg = o->msg;              /* the session copies what it needs of the INVITE */
    o->msg = NULL;
    struct mrfc_invite inv = o->inv;
    if (!keep)
        online_free(o);
    mrfc_session_accept(mrfc, irq, sip_object(msg), &inv, keep ? o : NULL);
    msg_destroy(msg);
}

static void on_event(void *arg, const struct ims_ro_result *res)
{
    decided((struct mrfc_online *)arg, res, true);
}

static void on_initial(void *arg, const struct ims_ro_result *res)
{
    struct mrfc_online *o = arg;
    o->grant = timer_of(res);
    o->final_unit = res->final_unit;
    decided(o, res, false);
}

/* CANCEL of a pending INVITE: 487 at once; the OCS's answer is taken care of later */
static int on_pending_irq(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrfc_online *o = (struct mrfc_online *)magic;
    (void)irq;
    if (!sip || sip->sip_request->rq_method != sip_method_cancel || o->cancelled || !o->irq)
        return 0;
    o->cancelled = true;
    nta_incoming_treply(o->irq, SIP_487_REQUEST_TERMINATED, SIPTAG_SERVER_STR("mrfc"),
                        TAG_END());
    ims_sip_count_response(o->mrfc->d->sip, 487);
    nta_incoming_destroy(o->irq);
    o->irq = NULL;
    return 200;                       /* the CANCEL's own answer */
}

int mrfc_online_invite(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                       const struct mrfc_invite *inv)
{
    struct mrfc_ro *ro = mrfc->ro;
    if (!ro || !charged(ro, sip, inv))
        return 0;
    struct mrfc_online *o = calloc(1, sizeof(*o));
    if (!o || served_user(sip, o->subscription, sizeof(o->subscription)) != 0) {
        ims_sip_refuse(mrfc->d->sip, irq, sip, o ? 403 : 500, o ? "online charging: no served "
                       "user (P-Served-User or P-Asserted-Identity)" : "out of memory");
        free(o);
        return 1;
    }
    o->mrfc = mrfc;
    o->irq = irq;
    o->inv = *inv;
    o->msg = nta_incoming_getrequest(irq);
    ims_chg_fields_of(sip, NULL, &o->f);
    url_e(o->f.called, sizeof(o->f.called), sip->sip_request->rq_url);
    struct ims_ro_request q;
    request_of(o, &q);
    int rc;
    if (inv->svc.kind == MRFC_SVC_ANNC) {
        q.requested_units = 1;        /* IEC: DIRECT_DEBITING of one announcement */
        ims_counter_inc(ro->m_event);
        rc = ims_ro_event(&ro->conf, &q, on_event, o);
    } else {
        q.requested_time = ro->requested_time;
        o->ro = ims_ro_session_new(&ro->conf);
        ims_counter_inc(ro->m_initial);
        rc = o->ro ? ims_ro_initial(o->ro, &q, on_initial, o) : -ENOMEM;
    }
    if (rc) {
        o->irq = NULL;
        online_free(o);
        ims_sip_refuse(mrfc->d->sip, irq, sip, 500, "online charging: the credit-control "
                       "request could not be sent");
        return 1;
    }
    nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
    nta_incoming_bind(irq, on_pending_irq, (nta_incoming_magic_t *)o);
    o->prevp = &ro->pending;
    o->next = ro->pending;
    if (o->next)
        o->next->prevp = &o->next;
    ro->pending = o;
    return 1;
}

/* ---- start and stop ---- */

static void metrics_init(struct mrfc_ro *ro)
{
    const char *name = "mrfc_ro_total", *help = "online charging steps, by kind";
    ro->m_event = ims_counter_new(name, help, "kind=\"ccr_event\"");
    ro->m_initial = ims_counter_new(name, help, "kind=\"ccr_initial\"");
    ro->m_update = ims_counter_new(name, help, "kind=\"ccr_update\"");
    ro->m_term = ims_counter_new(name, help, "kind=\"ccr_termination\"");
    ro->m_refund = ims_counter_new(name, help, "kind=\"refund\"");
    ro->m_refused = ims_counter_new(name, help, "kind=\"refused\"");
    ro->m_uncharged = ims_counter_new(name, help, "kind=\"uncharged\"");
    ro->m_released = ims_counter_new(name, help, "kind=\"released\"");
}

int mrfc_online_init(struct mrfc *mrfc)
{
    const struct ims_cfg *c = mrfc->d->cfg;
    const char *ocs = ims_cfg_str(c, "charging.ocs");
    if (!ocs || !*ocs)
        return 0;
    struct mrfc_ro *ro = calloc(1, sizeof(*ro));
    if (!ro)
        return -ENOMEM;
    snprintf(ro->ocs, sizeof(ro->ocs), "%s", ocs);
    snprintf(ro->realm, sizeof(ro->realm), "%s", ims_cfg_str(c, "charging.ocs_realm"));
    ro->all = strcmp(ims_cfg_str(c, "charging.online"), "all") == 0;
    ro->requested_time = (unsigned)ims_cfg_int(c, "charging.requested_time");
    ro->conf = (struct ims_ro_conf){ .dest_realm = ro->realm, .dest_host = ro->ocs,
                                     .tx_ms = (unsigned)ims_cfg_int(c, "charging.tx_ms"),
                                     .node_functionality = IMS_RF_MRFC };
    static const char *const ccfh[] = { "terminate", "continue", "retry_and_terminate" };
    for (int i = 0; i < 3; i++)
        if (strcasecmp(ims_cfg_str(c, "charging.ccfh"), ccfh[i]) == 0)
            ro->conf.ccfh = (enum ims_ro_ccfh)i;
    metrics_init(ro);
    mrfc->ro = ro;
    ims_info("mrfc: online charging by %s of %s", ro->ocs, ro->all ? "every session"
             : "the sessions whose INVITE names an ECF (P-Charging-Function-Addresses)");
    return 0;
}

void mrfc_online_stop(struct mrfc *mrfc)
{
    struct mrfc_ro *ro = mrfc->ro;
    if (!ro)
        return;
    /* Diameter has stopped: no answer will come for the INVITEs still waiting */
    while (ro->pending) {
        struct mrfc_online *o = ro->pending;
        nta_incoming_t *irq = o->irq;
        unpend(o);
        if (irq) {
            nta_incoming_treply(irq, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_SERVER_STR("mrfc"),
                                TAG_END());
            nta_incoming_destroy(irq);
        }
        online_free(o);
    }
    free(ro);
    mrfc->ro = NULL;
}
