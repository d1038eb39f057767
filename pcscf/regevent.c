/*
 * regevent.c - the P-CSCF's subscription to the reg event of a registered UE (RFC 3680,
 * RFC 6665, TS 24.229 5.2.3)
 *
 * After a new registration the P-CSCF subscribes to the reg event of the registered IMPU at
 * the S-CSCF: SUBSCRIBE to the IMPU, routed by the Service-Route, in a dialog of its own (an
 * nta leg whose callback receives the NOTIFYs). A NOTIFY reporting the registration or the
 * UE's contacts ended removes the binding. The subscription is refreshed at two thirds of
 * the expiry the S-CSCF granted. An S-CSCF that refuses the subscription (501 while it does
 * not implement the package) leaves the binding in place: the registration itself is valid.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

struct pcscf_sub {
    struct pcscf *p;
    struct pcscf_binding *b;
    su_home_t home[1];
    nta_leg_t *leg;
    nta_outgoing_t *orq;         /* the SUBSCRIBE waiting for its answer */
    su_timer_t *refresh;
    sip_route_t *routes;         /* the Service-Route, for the first SUBSCRIBE */
    url_t *hop;                  /* where requests of the dialog are sent (resolved) */
    unsigned asked;              /* expiry asked */
    bool established;
    char impu[PCSCF_URI_MAX];
    char call_id[128];
};

static struct {
    struct ims_counter *sent, *accepted, *refused, *notify, *ended;
    struct ims_gauge *active;
} m;

void pcscf_regevent_metrics(void)
{
    m.sent = ims_counter_new("pcscf_reg_subscribe_total", "reg event SUBSCRIBEs sent", NULL);
    m.accepted = ims_counter_new("pcscf_reg_subscribe_answers_total",
                                 "answers to reg event SUBSCRIBEs", "result=\"accepted\"");
    m.refused = ims_counter_new("pcscf_reg_subscribe_answers_total",
                                "answers to reg event SUBSCRIBEs", "result=\"refused\"");
    m.notify = ims_counter_new("pcscf_reg_notify_total", "reg event NOTIFYs received", NULL);
    m.ended = ims_counter_new("pcscf_reg_notify_terminated_total",
                              "bindings removed by a reg event NOTIFY", NULL);
    m.active = ims_gauge_new("pcscf_reg_subscriptions", "reg event subscriptions in place",
                             NULL);
}

static void sub_destroy(struct pcscf_sub *s)
{
    if (s->b)
        s->b->sub = NULL;
    if (s->refresh)
        su_timer_destroy(s->refresh);
    if (s->orq)
        nta_outgoing_destroy(s->orq);
    if (s->leg)
        nta_leg_destroy(s->leg);
    su_home_deinit(s->home);
    free(s);
    ims_gauge_add(m.active, -1);
}

void pcscf_regevent_stop(struct pcscf_binding *b)
{
    if (b && b->sub) {
        b->sub->b = NULL;
        sub_destroy(b->sub);
        b->sub = NULL;
    }
}

static void log_sub(const struct pcscf_sub *s, enum ims_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_sub(const struct pcscf_sub *s, enum ims_log_level level, const char *fmt, ...)
{
    struct ims_log_ids ids = { .call_id = s->call_id };
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ims_log(level, &ids, "pcscf: reg-event subscription to %s: %s", s->impu, msg);
}

static int send_subscribe(struct pcscf_sub *s, unsigned expires);

static void on_refresh(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct pcscf_sub *s = (struct pcscf_sub *)arg;
    if (!s->orq && send_subscribe(s, s->asked) != 0)
        log_sub(s, IMS_LOG_WARN, "cannot send the refresh");
}

/* After a 2xx: the dialog's route set and target, the next hop, the refresh timer */
static void established(struct pcscf_sub *s, const sip_t *sip)
{
    if (!nta_leg_get_rtag(s->leg) && sip->sip_to->a_tag)
        nta_leg_rtag(s->leg, sip->sip_to->a_tag);
    nta_leg_client_route(s->leg, sip->sip_record_route, sip->sip_contact);
    sip_route_t const *route = NULL;
    sip_contact_t const *target = NULL;
    nta_leg_get_route(s->leg, &route, &target);
    const url_t *next = route ? route->r_url : target ? target->m_url : NULL;
    if (next) {
        url_t *r = ims_sip_resolve(s->p->d->sip, s->home, next);
        s->hop = r ? r : url_hdup(s->home, next);
    }
    unsigned granted = sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : s->asked;
    unsigned in = granted > 3 ? granted - granted / 3 : 1;
    if (!s->refresh)
        s->refresh = su_timer_create(su_root_task(ims_sip_root(s->p->d->sip)), 1000);
    if (s->refresh)
        su_timer_set_interval(s->refresh, on_refresh, (su_timer_arg_t *)s, in * 1000);
    if (!s->established)
        log_sub(s, IMS_LOG_INFO, "accepted for %us", granted);
    s->established = true;
}

static int on_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    struct pcscf_sub *s = (struct pcscf_sub *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    if (status < 300) {
        ims_counter_inc(m.accepted);
        established(s, sip);
        nta_outgoing_destroy(orq);
        s->orq = NULL;
        return 0;
    }
    ims_counter_inc(m.refused);
    bool for_good = status == 501 || status == 405 || status == 489;
    if (for_good)
        log_sub(s, IMS_LOG_WARN, "refused with %d: the S-CSCF does not serve the reg event; "
                "the registration is kept, but its end will only be seen at expiry", status);
    else
        log_sub(s, IMS_LOG_WARN, "%s failed with %d: the registration is kept; a new "
                "subscription is tried at the next re-registration",
                s->established ? "refresh" : "SUBSCRIBE", status);
    if (s->b)
        s->b->sub_refused = for_good;
    sub_destroy(s);   /* destroys orq too */
    return 0;
}

static int send_subscribe(struct pcscf_sub *s, unsigned expires)
{
    struct pcscf *p = s->p;
    char ex[16], pcv_hdr[400], paid[PCSCF_URI_MAX + 32];
    struct ims_pcv pcv = { 0 };
    snprintf(ex, sizeof(ex), "%u", expires);
    ims_icid_generate(pcv.icid, sizeof(pcv.icid), ims_sip_address(p->d->sip));
    snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", p->orig_ioi);
    int n = snprintf(pcv_hdr, sizeof(pcv_hdr), "P-Charging-Vector: ");
    if (ims_pcv_format(&pcv, pcv_hdr + n, sizeof(pcv_hdr) - (size_t)n) < 0)
        return -EINVAL;
    /* TS 24.229 5.2.3: the SIP URI the P-CSCF put in the Path of the registration, so
     * that the S-CSCF can tell the subscriber is the user's own P-CSCF (5.4.2.1.1) */
    snprintf(paid, sizeof(paid), "P-Asserted-Identity: <%s>", p->path_id);
    bool first = !s->established;
    url_t *ruri = first ? url_make(s->home, s->impu) : NULL;
    s->orq = nta_outgoing_tcreate(s->leg, on_response, (nta_outgoing_magic_t *)s,
                                  (url_string_t const *)s->hop, SIP_METHOD_SUBSCRIBE,
                                  (url_string_t const *)ruri,
                                  TAG_IF(first, SIPTAG_ROUTE(s->routes)),
                                  SIPTAG_EVENT_STR("reg"),
                                  SIPTAG_ACCEPT_STR("application/reginfo+xml"),
                                  SIPTAG_EXPIRES_STR(ex), SIPTAG_CONTACT_STR(p->contact),
                                  SIPTAG_HEADER_STR(paid), SIPTAG_HEADER_STR(pcv_hdr),
                                  TAG_END());
    if (!s->orq)
        return -ENOMEM;
    ims_counter_inc(m.sent);
    return 0;
}

/* ---- NOTIFY ---- */

/* Apply a reginfo body to the binding; true when the binding was removed */
static bool apply_body(struct pcscf_sub *s, const sip_t *sip, int *status)
{
    struct pcscf_binding *b = s->b;
    const char *ct = sip->sip_content_type ? sip->sip_content_type->c_type : NULL;
    if (!b || !sip->sip_payload || !sip->sip_payload->pl_len)
        return false;
    if (!ct || strcasecmp(ct, "application/reginfo+xml") != 0) {
        *status = 415;
        return false;
    }
    struct pcscf_reginfo *ri = malloc(sizeof(*ri));
    char err[160];
    if (!ri || pcscf_reginfo_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, ri,
                                   err, sizeof(err)) != 0) {
        log_sub(s, IMS_LOG_WARN, "NOTIFY with an unreadable reginfo: %s",
                ri ? err : "out of memory");
        *status = ri ? 400 : 500;
        free(ri);
        return false;
    }
    int removed = pcscf_reginfo_apply(ri, b);
    free(ri);
    if (removed == 0 || b->ncontacts > 0)
        return false;
    struct pcscf *p = s->p;
    struct ims_log_ids ids = { .call_id = s->call_id };
    ims_log(IMS_LOG_INFO, &ids, "pcscf: the registration of %s from %s has ended (reg event "
            "NOTIFY): binding removed", b->impu, b->src.key);
    ims_counter_inc(m.ended);
    pcscf_bindings_remove(p->bindings, b);   /* ends this subscription too */
    pcscf_bindings_changed(p);
    return true;
}

static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                      sip_t const *sip)
{
    struct pcscf_sub *s = (struct pcscf_sub *)magic;
    if (sip->sip_request->rq_method != sip_method_notify)
        return 405;
    if (!sip->sip_event || strcasecmp(sip->sip_event->o_type, "reg") != 0)
        return 489;
    ims_counter_inc(m.notify);
    if (!nta_leg_get_rtag(leg) && sip->sip_from->a_tag)
        nta_leg_rtag(leg, sip->sip_from->a_tag);
    int status = 200;
    if (apply_body(s, sip, &status))
        return 200;   /* s is gone with the binding */
    const sip_subscription_state_t *ss = sip->sip_subscription_state;
    if (status == 200 && ss && strcasecmp(ss->ss_substate, "terminated") == 0) {
        log_sub(s, IMS_LOG_INFO, "terminated by the S-CSCF (%s)",
                ss->ss_reason ? ss->ss_reason : "no reason");
        sub_destroy(s);
    }
    if (status == 415) {   /* with the Accept of RFC 3261 21.4.13 */
        nta_incoming_treply(irq, 415, sip_415_Unsupported_media,
                            SIPTAG_ACCEPT_STR("application/reginfo+xml"), TAG_END());
        return 0;
    }
    return status;
}

int pcscf_regevent_subscribe(struct pcscf *p, struct pcscf_binding *b)
{
    char list[PCSCF_MAX_ROUTES * (PCSCF_URI_MAX + 2)] = "";
    if (b->sub)
        return 0;
    struct ims_log_ids ids = { .call_id = b->call_id };
    if (b->nroutes == 0) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: no Service-Route for %s: no reg-event "
                "subscription", b->impu);
        return -ENOENT;
    }
    struct pcscf_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    su_home_init(s->home);
    s->p = p;
    s->asked = p->sub_expires;
    snprintf(s->impu, sizeof(s->impu), "%s", b->impu);
    for (int i = 0; i < b->nroutes; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 b->routes[i]);
    s->routes = ims_addr_list_parse(s->home, list);
    url_t *hop = s->routes ? ims_sip_resolve(p->d->sip, s->home, s->routes->r_url) : NULL;
    s->hop = hop ? hop : s->routes ? s->routes->r_url : NULL;
    char to[PCSCF_URI_MAX + 2], from[PCSCF_URI_MAX + 2];
    snprintf(to, sizeof(to), "<%s>", b->impu);
    snprintf(from, sizeof(from), "<%s>", p->self_uri);
    sip_call_id_t *cid = sip_call_id_create(s->home, NULL);
    if (cid)
        snprintf(s->call_id, sizeof(s->call_id), "%s", cid->i_id);
    s->leg = cid ? nta_leg_tcreate(ims_sip_agent(p->d->sip), on_request, (nta_leg_magic_t *)s,
                                   SIPTAG_CALL_ID(cid), SIPTAG_FROM_STR(from),
                                   SIPTAG_TO_STR(to), TAG_END())
                 : NULL;
    ims_gauge_add(m.active, 1);
    if (!s->routes || !s->hop || !s->leg || !nta_leg_tag(s->leg, NULL)) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: cannot create the reg-event dialog of %s", b->impu);
        sub_destroy(s);
        return -EINVAL;
    }
    s->b = b;
    b->sub = s;
    if (send_subscribe(s, s->asked) != 0) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: cannot send the reg-event SUBSCRIBE for %s",
                b->impu);
        sub_destroy(s);
        return -EIO;
    }
    log_sub(s, IMS_LOG_DEBUG, "SUBSCRIBE sent (Expires %u)", s->asked);
    return 0;
}
