/*
 * regevent.c - the P-CSCF's subscription to the reg event of a registered UE (RFC 3680,
 * RFC 6665, TS 24.229 5.2.3)
 *
 * After a new registration the P-CSCF subscribes to the reg event of the registered IMPU at
 * the S-CSCF: SUBSCRIBE to the IMPU, routed by the Service-Route, in a dialog of its own. A
 * NOTIFY reporting the registration or the UE's contacts ended removes the binding. The
 * subscription is refreshed at two thirds of the expiry the S-CSCF granted. An S-CSCF that
 * refuses the subscription (501 while it does not implement the package) leaves the binding
 * in place: the registration itself is valid.
 *
 * Memory (issue 17): a subscription is kept for every binding, so it holds only what its
 * dialog needs (RFC 3261 12.1.2): Call-ID, both tags, our CSeq, the route set and the
 * remote target, as text in two allocations sized to them; the IMPU and the Service-Route
 * are read from the binding. There is no nta leg, memory home or timer per subscription
 * (together 3.1 KiB of heap each): requests of a dialog of ours reach pcscf_regevent_request()
 * through a Call-ID map (matched on the tags as nta matches a leg), our requests go out with
 * the agent's own leg (ims_sip_leg) carrying the dialog's headers, and one timer serves a
 * queue of the refreshes in the order they fall due.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "deadline.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

struct pcscf_sub {
    struct pcscf *p;
    struct pcscf_binding *b;
    nta_outgoing_t *orq;         /* the SUBSCRIBE waiting for its answer */
    struct pcscf_sub *prev, *next;   /* the refresh queue, in due order */
    uint64_t due_ms;             /* of the refresh (monotonic ms), 0: not queued */
    char *dialog;                /* NULL until the S-CSCF's tag is known; then its tag, the
                                  * route set ("<uri>, ..." or "") and the remote target
                                  * (a URI or ""), one after the other */
    uint32_t cseq;               /* of our last SUBSCRIBE */
    unsigned asked;              /* expiry asked */
    unsigned every_s;            /* refresh period: two thirds of the expiry granted */
    bool established;
    char ids[];                  /* the Call-ID, then our tag */
};

/* The subscriptions of the P-CSCF: by Call-ID, and the refresh queue with its one timer */
struct pcscf_regevent {
    struct ims_map *by_call_id;
    struct pcscf_sub *head, *tail;
    su_timer_t *timer;
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

static const char *call_id_of(const struct pcscf_sub *s)
{
    return s->ids;
}

static const char *tag_of(const struct pcscf_sub *s)
{
    return s->ids + strlen(s->ids) + 1;
}

/* The S-CSCF's tag, route set and target (NULL, "" and "" before its tag is known) */
static const char *rtag_of(const struct pcscf_sub *s)
{
    return s->dialog && s->dialog[0] ? s->dialog : NULL;
}

static const char *route_of(const struct pcscf_sub *s)
{
    return s->dialog ? s->dialog + strlen(s->dialog) + 1 : "";
}

static const char *target_of(const struct pcscf_sub *s)
{
    const char *r = route_of(s);
    return s->dialog ? r + strlen(r) + 1 : "";
}

/* ---- the refresh queue ---- */

static void on_refresh(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg);

/* The timer set for the head of the queue (stopped when the queue is empty) */
static void arm(struct pcscf *p)
{
    struct pcscf_regevent *re = p->regevent;
    if (!re->head) {
        su_timer_reset(re->timer);
        return;
    }
    uint64_t now = ims_now_ms();
    uint64_t in = re->head->due_ms > now ? re->head->due_ms - now : 0;
    su_timer_set_interval(re->timer, on_refresh, (su_timer_arg_t *)p,
                          in < UINT32_MAX ? (su_duration_t)in : (su_duration_t)INT32_MAX);
}

static void dequeue(struct pcscf_sub *s)
{
    struct pcscf_regevent *re = s->p->regevent;
    if (!s->due_ms)
        return;
    *(s->prev ? &s->prev->next : &re->head) = s->next;
    *(s->next ? &s->next->prev : &re->tail) = s->prev;
    s->prev = s->next = NULL;
    s->due_ms = 0;
}

/* Queue @s to be refreshed in @in_ms. The expiries asked and granted are alike, so a new
 * due time almost always goes last: the walk starts at the tail. */
static void enqueue(struct pcscf_sub *s, uint64_t in_ms)
{
    struct pcscf_regevent *re = s->p->regevent;
    dequeue(s);
    s->due_ms = ims_now_ms() + in_ms;
    struct pcscf_sub *after = re->tail;
    while (after && after->due_ms > s->due_ms)
        after = after->prev;
    s->prev = after;
    s->next = after ? after->next : re->head;
    *(s->next ? &s->next->prev : &re->tail) = s;
    *(after ? &after->next : &re->head) = s;
    if (re->head == s)
        arm(s->p);
}

static void log_sub(const struct pcscf_sub *s, enum ims_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_sub(const struct pcscf_sub *s, enum ims_log_level level, const char *fmt, ...)
{
    struct ims_log_ids ids = { .call_id = call_id_of(s) };
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ims_log(level, &ids, "pcscf: reg-event subscription to %s: %s", s->b ? s->b->impu : "?",
            msg);
}

static int send_subscribe(struct pcscf_sub *s, unsigned expires);

/* The refreshes due now, each queued again a period later (the period is started afresh
 * by the 2xx: established()), then the timer set for the next one */
static void on_refresh(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct pcscf *p = (struct pcscf *)arg;
    struct pcscf_regevent *re = p->regevent;
    uint64_t now = ims_now_ms();
    while (re->head && re->head->due_ms <= now) {
        struct pcscf_sub *s = re->head;
        enqueue(s, (uint64_t)s->every_s * 1000u);
        if (!s->orq && send_subscribe(s, s->asked) != 0)
            log_sub(s, IMS_LOG_WARN, "cannot send the refresh");
    }
    arm(p);
}

/* ---- a subscription ---- */

static void sub_destroy(struct pcscf_sub *s)
{
    if (s->b)
        s->b->sub = NULL;
    dequeue(s);
    if (s->orq)
        nta_outgoing_destroy(s->orq);
    ims_map_remove(s->p->regevent->by_call_id, call_id_of(s));
    free(s->dialog);
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

/* The dialog's S-CSCF tag, route set and target become @rtag, @route and @target (NULL:
 * keep). 0 or -ENOMEM (the old ones kept) */
static int set_dialog(struct pcscf_sub *s, const char *rtag, const char *route,
                      const char *target)
{
    rtag = rtag ? rtag : s->dialog ? s->dialog : "";
    route = route ? route : route_of(s);
    target = target ? target : target_of(s);
    size_t lr = strlen(rtag) + 1, lroute = strlen(route) + 1, lt = strlen(target) + 1;
    char *d = malloc(lr + lroute + lt);
    if (!d)
        return -ENOMEM;
    memcpy(d, rtag, lr);
    memcpy(d + lr, route, lroute);
    memcpy(d + lr + lroute, target, lt);
    free(s->dialog);
    s->dialog = d;
    return 0;
}

/* The route set and the target of the dialog from a 2xx (RFC 3261 12.1.2), as
 * nta_leg_client_route() keeps them: the route set from the first answer that has one (its
 * Record-Route reversed), the target from the Contact of every answer (without headers,
 * method and ttl). 0 or -ENOMEM */
static int dialog_from_2xx(struct pcscf_sub *s, const sip_t *sip)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char route[2048], *target = NULL;
    bool new_route = !route_of(s)[0] && sip->sip_record_route;
    if (new_route) {
        sip_route_t *r = sip_route_reverse(home, (sip_route_t const *)sip->sip_record_route);
        if (!r || ims_addr_list_format(r, route, sizeof(route)) < 0)
            new_route = false;
    }
    if (sip->sip_contact) {
        url_t u = *sip->sip_contact->m_url;
        u.url_headers = NULL;
        if (u.url_params) {
            char *params = su_strdup(home, u.url_params);
            params = url_strip_param_string(params, "method");
            u.url_params = url_strip_param_string(params, "ttl");
        }
        target = url_as_string(home, &u);
    }
    const char *rtag = rtag_of(s) ? NULL : sip->sip_to->a_tag;
    int rc = 0;
    if (rtag || new_route || target)
        rc = set_dialog(s, rtag, new_route ? route : NULL, target);
    su_home_deinit(home);
    return rc;
}

/* After a 2xx: the dialog's tag, route set and target, the refresh queued */
static void established(struct pcscf_sub *s, const sip_t *sip)
{
    if (dialog_from_2xx(s, sip) != 0)
        log_sub(s, IMS_LOG_WARN, "out of memory: the dialog's route set or target not kept");
    unsigned granted = sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : s->asked;
    s->every_s = granted > 3 ? granted - granted / 3 : 1;
    enqueue(s, (uint64_t)s->every_s * 1000u);
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

/*
 * Where a SUBSCRIBE of @s goes, in @home: the Request-URI (*@ruri), the Route set (*@route,
 * NULL for none) and the next hop (*@hop, resolved through sip.hosts), as an nta leg makes
 * them (nta_msg_request_complete): the first SUBSCRIBE to the IMPU along the Service-Route;
 * later ones to the dialog's target along its route set (loose, or strict: the first route
 * as the Request-URI and the target last). 0 or -EINVAL.
 */
static int destination(struct pcscf_sub *s, su_home_t *home, url_t **ruri, sip_route_t **route,
                       url_t **hop)
{
    const struct pcscf_binding *b = s->b;
    char list[PCSCF_MAX_ROUTES * (PCSCF_URI_MAX + 2)] = "";
    sip_route_t *set = NULL;
    *ruri = NULL;
    *route = NULL;
    if (!s->established && b) {
        for (int i = 0; i < b->nroutes; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                     b->routes[i]);
        *ruri = url_make(home, b->impu);
        *route = set = ims_addr_list_parse(home, list);
        if (!set)
            return -EINVAL;   /* an unreadable Service-Route: no subscription */
    } else if (s->established) {
        set = route_of(s)[0] ? ims_addr_list_parse(home, route_of(s)) : NULL;
        *ruri = target_of(s)[0] ? url_make(home, target_of(s)) : NULL;
        *route = set;
        ims_sip_strict_route(home, set, *ruri, ruri, route);
        if (!*ruri && b)
            *ruri = url_make(home, b->impu);
    }
    const url_t *next = set ? set->r_url : *ruri;
    if (s->established && !set && !target_of(s)[0] && b && b->nroutes) {
        /* no route set and no target from the S-CSCF: the Service-Route's first hop */
        sip_route_t *sr = ims_addr_list_parse(home, b->routes[0]);
        next = sr ? sr->r_url : NULL;
    }
    if (!*ruri || !next)
        return -EINVAL;
    url_t *resolved = ims_sip_resolve(s->p->d->sip, home, next);
    *hop = resolved ? resolved : url_hdup(home, next);
    return *hop ? 0 : -EINVAL;
}

static int send_subscribe(struct pcscf_sub *s, unsigned expires)
{
    struct pcscf *p = s->p;
    char ex[16], pcv_hdr[400], paid[PCSCF_URI_MAX + 32], cseq[48];
    char from[PCSCF_URI_MAX + 80], to[PCSCF_URI_MAX + 80];
    struct ims_pcv pcv = { 0 };
    snprintf(ex, sizeof(ex), "%u", expires);
    ims_icid_generate(pcv.icid, sizeof(pcv.icid), ims_sip_address(p->d->sip));
    snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", p->orig_ioi);
    int n = snprintf(pcv_hdr, sizeof(pcv_hdr), "P-Charging-Vector: ");
    if (!s->b || ims_pcv_format(&pcv, pcv_hdr + n, sizeof(pcv_hdr) - (size_t)n) < 0)
        return -EINVAL;
    /* TS 24.229 5.2.3: the SIP URI the P-CSCF put in the Path of the registration, so
     * that the S-CSCF can tell the subscriber is the user's own P-CSCF (5.4.2.1.1) */
    snprintf(paid, sizeof(paid), "P-Asserted-Identity: <%s>", p->path_id);
    snprintf(from, sizeof(from), "<%s>;tag=%s", p->self_uri, tag_of(s));
    snprintf(to, sizeof(to), "<%s>%s%s", s->b->impu, rtag_of(s) ? ";tag=" : "",
             rtag_of(s) ? rtag_of(s) : "");
    snprintf(cseq, sizeof(cseq), "%u SUBSCRIBE", s->cseq + 1);
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *ruri, *hop;
    sip_route_t *route;
    int rc = destination(s, home, &ruri, &route, &hop);
    if (rc == 0) {
        s->orq = nta_outgoing_tcreate(ims_sip_leg(p->d->sip), on_response,
                                      (nta_outgoing_magic_t *)s, (url_string_t const *)hop,
                                      SIP_METHOD_SUBSCRIBE, (url_string_t const *)ruri,
                                      TAG_IF(route, SIPTAG_ROUTE(route)),
                                      SIPTAG_FROM_STR(from), SIPTAG_TO_STR(to),
                                      SIPTAG_CALL_ID_STR(call_id_of(s)),
                                      SIPTAG_CSEQ_STR(cseq),
                                      SIPTAG_EVENT_STR("reg"),
                                      SIPTAG_ACCEPT_STR("application/reginfo+xml"),
                                      SIPTAG_EXPIRES_STR(ex), SIPTAG_CONTACT_STR(p->contact),
                                      SIPTAG_HEADER_STR(paid), SIPTAG_HEADER_STR(pcv_hdr),
                                      TAG_END());
        rc = s->orq ? 0 : -ENOMEM;
    }
    su_home_deinit(home);
    if (rc != 0)
        return rc;
    s->cseq++;
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
    struct ims_log_ids ids = { .call_id = call_id_of(s) };
    ims_log(IMS_LOG_INFO, &ids, "pcscf: the registration of %s from %s has ended (reg event "
            "NOTIFY): binding removed", b->impu, b->src.key);
    ims_counter_inc(m.ended);
    pcscf_bindings_remove(p->bindings, b);   /* ends this subscription too */
    pcscf_bindings_changed(p);
    return true;
}

/* A NOTIFY in the dialog of @s: a status for nta to answer, or 0 (answered) */
static int on_notify(struct pcscf_sub *s, nta_incoming_t *irq, const sip_t *sip)
{
    if (sip->sip_request->rq_method != sip_method_notify)
        return 405;
    if (!sip->sip_event || strcasecmp(sip->sip_event->o_type, "reg") != 0)
        return 489;
    ims_counter_inc(m.notify);
    if (!rtag_of(s) && sip->sip_from->a_tag && set_dialog(s, sip->sip_from->a_tag, NULL,
                                                          NULL) != 0)
        return 500;
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

bool pcscf_regevent_in_dialog(const char *tag, const char *rtag, const sip_t *req)
{
    const char *to_tag = req->sip_to ? req->sip_to->a_tag : NULL;
    const char *from_tag = req->sip_from ? req->sip_from->a_tag : NULL;
    if (to_tag && to_tag[0] && !su_casematch(to_tag, tag))
        return false;
    if (!rtag)
        return true;
    return from_tag && (!from_tag[0] || su_casematch(from_tag, rtag));
}

/* Only a source of the core (sip.trusted_peers) reaches a subscription: the S-CSCF
 * notifies over Mw. The Call-ID and tags are tokens of ours, but a UE that learnt them (a
 * trace, a predictable generator) must not end another UE's registration with a NOTIFY of
 * its own: from another source such a request is one of a dialog the P-CSCF does not have
 * (481), or a UE's (ue_in_dialog: 403 off its route set). */
int pcscf_regevent_request(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                           const struct ims_sip_source *src)
{
    sip_method_t method = sip->sip_request->rq_method;
    if (!p->regevent || !src->trusted || !sip->sip_call_id || method == sip_method_ack ||
        method == sip_method_cancel)
        return -ENOENT;
    struct pcscf_sub *s = ims_map_get(p->regevent->by_call_id, sip->sip_call_id->i_id);
    if (!s || !pcscf_regevent_in_dialog(tag_of(s), rtag_of(s), sip))
        return -ENOENT;
    return on_notify(s, irq, sip);
}

int pcscf_regevent_subscribe(struct pcscf *p, struct pcscf_binding *b)
{
    if (b->sub)
        return 0;
    struct ims_log_ids ids = { .call_id = b->call_id };
    if (b->nroutes == 0) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: no Service-Route for %s: no reg-event "
                "subscription", b->impu);
        return -ENOENT;
    }
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_call_id_t *cid = sip_call_id_create(home, NULL);
    const char *tag = nta_agent_newtag(home, "%s", ims_sip_agent(p->d->sip));
    size_t lc = cid ? strlen(cid->i_id) + 1 : 0, lt = tag ? strlen(tag) + 1 : 0;
    struct pcscf_sub *s = cid && tag ? calloc(1, sizeof(*s) + lc + lt) : NULL;
    int err = s ? 0 : -ENOMEM;
    if (s) {
        memcpy(s->ids, cid->i_id, lc);
        memcpy(s->ids + lc, tag, lt);
        s->p = p;
        s->asked = p->sub_expires;
        /* the first CSeq as an nta leg picks it (nta_msg_request_complete) */
        s->cseq = (uint32_t)((sip_now() >> 1) & 0x7ffffff) - 1;
        ims_map_put(p->regevent->by_call_id, call_id_of(s), s, &err);
    }
    su_home_deinit(home);
    if (err != 0) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: cannot create the reg-event dialog of %s", b->impu);
        free(s);
        return err;
    }
    ims_gauge_add(m.active, 1);
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

int pcscf_regevent_init(struct pcscf *p)
{
    struct pcscf_regevent *re = calloc(1, sizeof(*re));
    if (!re)
        return -ENOMEM;
    re->by_call_id = ims_map_create(false);
    re->timer = su_timer_create(su_root_task(ims_sip_root(p->d->sip)), 1000);
    if (!re->by_call_id || !re->timer) {
        ims_map_destroy(re->by_call_id);
        if (re->timer)
            su_timer_destroy(re->timer);
        free(re);
        return -ENOMEM;
    }
    p->regevent = re;
    return 0;
}

void pcscf_regevent_fini(struct pcscf *p)
{
    struct pcscf_regevent *re = p->regevent;
    if (!re)
        return;
    su_timer_destroy(re->timer);
    ims_map_destroy(re->by_call_id);   /* empty: the bindings went first */
    free(re);
    p->regevent = NULL;
}
