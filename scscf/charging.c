/*
 * charging.c - the S-CSCF's charging (TS 32.260): offline (Rf) for every dialog and event
 * it serves, online (Ro, as IMS-GWF) for originating requests of prepaid users
 *
 * Offline: ACR START when the 2xx of an INVITE passes (one Rf session per role: a call
 * between two users of this S-CSCF gives an originating and a terminating one), STOP at
 * BYE, EVENT for REGISTER (200) and MESSAGE (final answer); common/charging.c keeps the
 * dialogs and builds the records.
 *
 * Online: a user whose Charging-Information (SAA) names an event charging function is
 * prepaid. His originating INVITE waits for a CCR-INITIAL before it leaves: granted ->
 * forwarded; no credit -> 402; no OCS -> Credit-Control-Failure-Handling (charging.ccfh).
 * Once answered, a timer runs for the grant (or Validity-Time if sooner): CCR-UPDATE with
 * the seconds used; after a Final-Unit-Indication, or when an update is refused, the
 * S-CSCF releases the call: BYE to both sides with a Reason header, built from what the
 * INVITE and its 2xx said (route sets, tags, Contact), and CCR-TERMINATION. A BYE from
 * either side sends the CCR-TERMINATION with the seconds used. A MESSAGE is charged with
 * one CCR-EVENT (IEC) before it leaves.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "deadline.h"
#include "diam_dest.h"
#include "charging.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#define RO_ROUTE_MAX 1024
#define TERM_TRIES 5                  /* a CCR-TERMINATION not answered goes again after 1, 2,
                                       * 4 and 8 s: the usage it reports, and the end of the
                                       * reservation the OCS holds, depend on it */

/* One online-charged call */
struct scscf_ro {
    struct scscf *s;
    struct ims_ro_session *ro;
    struct scscf_call *call;          /* while the INVITE is pending */
    struct ims_chg_dialog *dlg;       /* once answered */
    struct ims_chg_fields f;          /* of the INVITE: IMS-Information of every CCR */
    char subscription[SCSCF_ID_MAX];
    unsigned grant;                   /* seconds until the next CCR (or release) */
    bool final_unit;                  /* the grant running is the last one */
    bool busy;                        /* a CCR is under way */
    bool over;                        /* the call ended: CCR-T sent or to send */
    bool reserved;                    /* holds a place of the dialog table (ims_chg_reserve) */
    uint64_t reported_ms;             /* usage before this is reported (monotonic ms; a
                                       * report rounded up can put it a little ahead) */
    uint64_t ended_ms;                /* when the call ended while a CCR was under way (its
                                       * answer sends the CCR-T), 0: it did not */
    uint32_t sent_used;               /* seconds the CCR under way reports */
    uint32_t unreported;              /* seconds a CCR reported that got no answer: the
                                       * next one carries them */
    unsigned term_tries;              /* CCR-TERMINATIONs sent */
    su_timer_t *timer;
    /* what releasing the call needs (from the INVITE and its 2xx) */
    char caller_target[SCSCF_ID_MAX], callee_target[SCSCF_ID_MAX];
    char caller_routes[RO_ROUTE_MAX], callee_routes[RO_ROUTE_MAX];
    char from[SCSCF_ID_MAX + 80], to[SCSCF_ID_MAX + 80];
};

static struct {
    struct ims_counter *ccr_initial, *ccr_update, *ccr_term, *ccr_event, *refused, *released,
        *uncharged, *limit, *term_retry, *term_lost;
} m;

static unsigned terms_waiting;        /* CCR-TERMINATIONs waiting to go again (shutdown log) */

static void metrics_init(void)
{
    const char *name = "scscf_ro_total", *help = "online charging steps, by kind";
    m.ccr_initial = ims_counter_new(name, help, "kind=\"ccr_initial\"");
    m.ccr_update = ims_counter_new(name, help, "kind=\"ccr_update\"");
    m.ccr_term = ims_counter_new(name, help, "kind=\"ccr_termination\"");
    m.ccr_event = ims_counter_new(name, help, "kind=\"ccr_event\"");
    m.refused = ims_counter_new(name, help, "kind=\"refused\"");
    m.released = ims_counter_new(name, help, "kind=\"released\"");
    m.uncharged = ims_counter_new(name, help, "kind=\"uncharged\"");
    m.term_retry = ims_counter_new(name, help, "kind=\"ccr_termination_retry\"");
    m.term_lost = ims_counter_new(name, help, "kind=\"ccr_termination_lost\"");
    m.limit = ims_counter_new("scscf_limit_total", "requests refused at a configured bound",
                              "limit=\"charged_dialogs\"");
}

/* ---- pure decisions ---- */

enum scscf_ro_action scscf_ro_action_of(const struct ims_ro_result *r, bool initial,
                                        int *status, const char **phrase)
{
    *status = 0;
    *phrase = NULL;
    switch (r->decision) {
    case IMS_RO_GRANTED:
        return SCSCF_RO_PROCEED;
    case IMS_RO_CONTINUE:
        return SCSCF_RO_UNCHARGED;
    case IMS_RO_DENIED:
        if (r->result_code == 4012 || r->result_code == 4010) {   /* no credit */
            *status = 402;
            *phrase = "Payment Required";
        } else {                      /* unknown user, no rate, malformed */
            *status = 403;
            *phrase = "Forbidden";
        }
        break;
    case IMS_RO_TERMINATE:
    default:
        *status = 503;
        *phrase = "Service Unavailable";
        break;
    }
    return initial ? SCSCF_RO_REFUSE : SCSCF_RO_RELEASE;
}

unsigned scscf_ro_timer_of(const struct ims_ro_result *r)
{
    unsigned t = r->granted_time;
    if (r->validity_time && (!t || r->validity_time < t))
        t = r->validity_time;
    return t;
}

/* ---- life cycle ---- */

static struct ims_log_ids ids_of(const struct scscf_ro *r)
{
    return (struct ims_log_ids){ .call_id = r->f.call_id,
                                 .icid = r->f.icid[0] ? r->f.icid : NULL,
                                 .session_id = r->ro ? ims_ro_session_id(r->ro) : NULL };
}

/* Give back the place @r holds in the dialog table (none after the daemon stopped it) */
static void unreserve(struct scscf_ro *r)
{
    if (r->reserved && r->s->chg)
        ims_chg_unreserve(r->s->chg);
    r->reserved = false;
}

static void ro_free(struct scscf_ro *r)
{
    unreserve(r);
    if (r->timer)
        su_timer_destroy(r->timer);
    if (r->ro)
        ims_ro_session_free(r->ro);
    free(r);
}

static void on_dialog_end(void *arg, struct ims_chg_dialog *d, enum ims_chg_end why);

int scscf_charging_init(struct scscf *s)
{
    const struct ims_cfg *c = s->d->cfg;
    metrics_init();
    s->chg = ims_chg_create(s->d, IMS_RF_SCSCF);
    if (!s->chg)
        return -EINVAL;
    ims_chg_set_end_hook(s->chg, on_dialog_end, s);
    snprintf(s->ocs, sizeof(s->ocs), "%s", ims_cfg_str(c, "charging.ocs"));
    snprintf(s->ocs_realm, sizeof(s->ocs_realm), "%s", ims_cfg_str(c, "charging.ocs_realm"));
    s->online = s->ocs[0] != '\0';
    struct ims_dest_list ocs;
    if (s->online && ims_dest_parse(&ocs, s->ocs) != 0) {
        ims_err("scscf: charging.ocs '%s' is not a list of at most %d Diameter identities",
                s->ocs, IMS_DEST_MAX);
        return -EINVAL;
    }
    static const char *const ccfh[] = { "terminate", "continue", "retry_and_terminate" };
    const char *v = ims_cfg_str(c, "charging.ccfh");
    s->ro_conf = (struct ims_ro_conf){ .dest_realm = s->ocs_realm, .dest_host = s->ocs,
                                       .tx_ms = (unsigned)ims_cfg_int(c, "charging.tx_ms"),
                                       .node_functionality = IMS_RF_SCSCF };
    for (int i = 0; i < 3; i++)
        if (strcasecmp(v, ccfh[i]) == 0)
            s->ro_conf.ccfh = (enum ims_ro_ccfh)i;
    s->ro_requested_time = (unsigned)ims_cfg_int(c, "charging.requested_time");
    if (s->online)
        ims_info("scscf: online charging of prepaid users by %s (CCFH %s)", s->ocs, v);
    return 0;
}

void scscf_charging_stop(struct scscf *s)
{
    if (terms_waiting)
        ims_warn("scscf: %u CCR-TERMINATIONs were waiting to go again: their usage is not "
                 "reported, the OCS keeps their reservations until its own timeout",
                 terms_waiting);
    ims_chg_shutdown(&s->chg);
    ims_diam_stop();              /* also without charging: the callers count on it */
}

void scscf_charging_tick(struct scscf *s, time_t now)
{
    ims_chg_tick(s->chg, now);
}

/* ---- CCRs ---- */

static void request_of(const struct scscf_ro *r, struct ims_ro_request *q)
{
    memset(q, 0, sizeof(*q));
    q->subscription = r->subscription;
    q->subscription_type = strncmp(r->subscription, "tel:", 4) == 0 ? IMS_RO_SUB_E164
                                                                     : IMS_RO_SUB_SIP_URI;
    if (q->subscription_type == IMS_RO_SUB_E164) {
        q->subscription += 4;               /* END_USER_E164: the digits alone (RFC 4006 */
        if (*q->subscription == '+')        /* 8.47, E.164 international form; tshark */
            q->subscription++;              /* calls a '+' a malformed country code) */
    }
    ims_chg_info_of(&r->f, IMS_RF_ORIGINATING, &q->info);
    q->rating_group = 1;
    q->requested_time = r->s->ro_requested_time;
}

/* Seconds used since the last report (and what unanswered CCRs reported), for the CCR
 * about to go; now the last report. Rounded to the nearest second, the rest carried to the
 * next report, so a call's reports add up to its time within half a second: counted in
 * whole seconds of the clock (time()), a call of 10 s was charged 9 to 11 (e2e
 * charging_faults saw 9 on a loaded machine). */
static uint32_t take_used(struct scscf_ro *r)
{
    uint64_t now = r->ended_ms ? r->ended_ms : ims_now_ms();
    uint32_t used = 0;
    if (!r->reported_ms) {
        r->reported_ms = now;
    } else if (now > r->reported_ms) {
        used = (uint32_t)((now - r->reported_ms + 500) / 1000);
        r->reported_ms += (uint64_t)used * 1000;
    }
    used += r->unreported;
    r->unreported = 0;
    r->sent_used = used;
    return used;
}

/* An answer came (granted or refused): the OCS took what the CCR reported. Else (no OCS
 * answered: CCFH decided) what it reported goes with the next CCR: a CCR-UPDATE lost in an
 * outage under CCFH CONTINUE no longer drops its seconds from the call's charge. */
static bool answered(struct scscf_ro *r, const struct ims_ro_result *res)
{
    bool yes = res->decision == IMS_RO_GRANTED || res->decision == IMS_RO_DENIED;
    if (!yes)
        r->unreported += r->sent_used;
    r->sent_used = 0;
    return yes;
}

static void on_terminated(void *arg, const struct ims_ro_result *res);

static void on_term_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct scscf_ro *r = (struct scscf_ro *)arg;
    su_timer_destroy(r->timer);
    r->timer = NULL;
    terms_waiting--;
    struct ims_ro_request q;
    request_of(r, &q);
    q.used_time = r->unreported;      /* what the unanswered one reported: the call is over,
                                       * the wait for the OCS is no usage (take_used would
                                       * count it) */
    q.requested_time = 0;
    r->sent_used = r->unreported;
    r->unreported = 0;
    r->term_tries++;
    ims_counter_inc(m.term_retry);
    if (ims_ro_terminate(r->ro, &q, on_terminated, r) != 0) {
        struct ims_log_ids ids = ids_of(r);
        ims_log(IMS_LOG_ERROR, &ids, "scscf: cannot send the CCR-TERMINATION again: %u s used "
                "not reported", q.used_time);
        ims_counter_inc(m.term_lost);
        ro_free(r);
    }
}

/* The CCR-TERMINATION of @r goes again later (1 s, doubling); false when it cannot */
static bool term_later(struct scscf_ro *r)
{
    if (r->term_tries >= TERM_TRIES || !r->s->chg)   /* tried enough, or stopping */
        return false;
    unsigned ms = 1000u << (r->term_tries - 1);
    r->timer = su_timer_create(su_root_task(ims_sip_root(r->s->d->sip)), ms);
    if (!r->timer || su_timer_set(r->timer, on_term_timer, (su_timer_arg_t *)r) < 0) {
        if (r->timer)
            su_timer_destroy(r->timer);
        r->timer = NULL;
        return false;
    }
    terms_waiting++;
    struct ims_log_ids ids = ids_of(r);
    ims_log(IMS_LOG_WARN, &ids, "scscf: CCR-TERMINATION not answered: sent again in %u s "
            "(%u of %u tries done)", ms / 1000, r->term_tries, TERM_TRIES);
    return true;
}

static void on_terminated(void *arg, const struct ims_ro_result *res)
{
    struct scscf_ro *r = arg;
    struct ims_log_ids ids = ids_of(r);
    if (answered(r, res)) {
        ims_log(IMS_LOG_DEBUG, &ids, "scscf: CCR-TERMINATION answered (%s)",
                res->reason ? res->reason : "ok");
    } else if (term_later(r)) {
        return;
    } else {
        ims_log(IMS_LOG_ERROR, &ids, "scscf: CCR-TERMINATION not answered after %u tries: %u s "
                "used not reported, the OCS keeps the reservation until its own timeout",
                r->term_tries, r->unreported);
        ims_counter_inc(m.term_lost);
    }
    ro_free(r);
}

/* The call is over: CCR-TERMINATION with what was used, then @r goes */
static void ro_terminate(struct scscf_ro *r)
{
    if (r->timer) {
        su_timer_destroy(r->timer);
        r->timer = NULL;
    }
    r->over = true;
    r->dlg = NULL;
    r->call = NULL;
    if (r->busy) {                    /* the answer under way ends it (see on_update); the
                                       * usage ends now, not when the OCS answers */
        if (!r->ended_ms)
            r->ended_ms = ims_now_ms();
        return;
    }
    struct ims_ro_request q;
    request_of(r, &q);
    q.used_time = take_used(r);
    q.requested_time = 0;
    r->term_tries = 1;
    ims_counter_inc(m.ccr_term);
    if (ims_ro_terminate(r->ro, &q, on_terminated, r) != 0)
        ro_free(r);
}

/* ---- releasing a call (Final-Unit-Indication TERMINATE, refused update) ---- */

#define CSEQ_MAX 2147483647u     /* RFC 3261 8.1.1.5: below 2^31 */

/* What a release BYE needs to be sent again: text, one allocation */
struct bye {
    struct scscf *s;
    const char *target, *routes, *from, *to, *reason, *call_id, *icid;
    bool again;                   /* this is the second one */
    char text[];
};

static void bye_send(struct bye *b, uint32_t cseq);

static struct ims_log_ids bye_ids(const struct bye *b)
{
    return (struct ims_log_ids){ .call_id = b->call_id, .icid = b->icid[0] ? b->icid : NULL };
}

/*
 * The answer to a release BYE. 500 is what a UA answers a request of a lower CSeq than its
 * dialog's (RFC 3261 12.2.2): a party that knows the dialog sent it one of a higher CSeq
 * past this S-CSCF (refused there, 403, but sofia-sip's dialog had taken its CSeq first:
 * mrfc/README.md, mgcf/README.md). That must not keep a call up past its credit: the BYE
 * goes once more with the highest CSeq there is, which no dialog refuses as out of order.
 */
static int on_bye_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                           sip_t const *sip)
{
    struct bye *b = (struct bye *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    nta_outgoing_destroy(orq);
    if (status == 500 && !b->again) {
        struct ims_log_ids ids = bye_ids(b);
        ims_log(IMS_LOG_WARN, &ids, "scscf: the BYE to %s got 500 (out of order?): sent again "
                "with CSeq %u", b->target, CSEQ_MAX);
        b->again = true;
        bye_send(b, CSEQ_MAX);    /* takes b */
        return 0;
    }
    free(b);
    return 0;
}

/* Send @b with @cseq; takes @b (freed when it cannot be sent, else with its answer) */
static void bye_send(struct bye *b, uint32_t cseq)
{
    struct scscf *s = b->s;
    struct ims_log_ids ids = bye_ids(b);
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *ruri = url_make(home, b->target);
    sip_route_t *route = b->routes[0] ? ims_addr_list_parse(home, b->routes) : NULL;
    const url_t *first = route ? route->r_url : ruri;
    url_t *hop = first ? ims_sip_resolve(s->d->sip, home, first) : NULL;
    char cs[32], pcv[200];
    snprintf(cs, sizeof(cs), "%u BYE", cseq);
    snprintf(pcv, sizeof(pcv), "P-Charging-Vector: icid-value=%s", b->icid);
    nta_outgoing_t *orq = !ruri ? NULL : nta_outgoing_tcreate(
        ims_sip_leg(s->d->sip), on_bye_response, (nta_outgoing_magic_t *)b,
        (url_string_t const *)(hop ? hop : first), SIP_METHOD_BYE,
        (url_string_t const *)ruri, SIPTAG_CALL_ID_STR(b->call_id),
        SIPTAG_FROM_STR(b->from), SIPTAG_TO_STR(b->to), SIPTAG_CSEQ_STR(cs),
        TAG_IF(route, SIPTAG_ROUTE(route)), SIPTAG_MAX_FORWARDS_STR("70"),
        SIPTAG_REASON_STR(b->reason), TAG_IF(b->icid[0], SIPTAG_HEADER_STR(pcv)), TAG_END());
    if (!orq) {
        ims_log(IMS_LOG_WARN, &ids, "scscf: cannot send the BYE to %s", b->target);
        free(b);
    } else {
        ims_log(IMS_LOG_INFO, &ids, "scscf: BYE to %s (%s)", b->target, b->reason);
    }
    su_home_deinit(home);
}

/* A BYE of ours to one side: @target the Request-URI, @routes its Route set ("" none) */
static void send_bye(struct scscf_ro *r, const char *target, const char *routes,
                     const char *from, const char *to, uint32_t cseq, const char *reason)
{
    const char *parts[] = { target, routes, from, to, reason, r->f.call_id, r->f.icid };
    size_t n = sizeof(parts) / sizeof(parts[0]), len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    struct bye *b = calloc(1, sizeof(*b) + len);
    if (!b) {
        struct ims_log_ids ids = ids_of(r);
        ims_log(IMS_LOG_WARN, &ids, "scscf: cannot send the BYE to %s: out of memory", target);
        return;
    }
    b->s = r->s;
    const char **fields[] = { &b->target, &b->routes, &b->from, &b->to, &b->reason,
                              &b->call_id, &b->icid };
    char *at = b->text;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]) + 1;
        memcpy(at, parts[i], l);
        *fields[i] = at;
        at += l;
    }
    bye_send(b, cseq);
}

/* A BYE to each side of the call of @r, the CSeqs after the highest seen each way */
static void bye_both(struct scscf_ro *r, uint32_t cseq_caller, uint32_t cseq_callee,
                     int cause, const char *text)
{
    char reason[160];
    snprintf(reason, sizeof(reason), "SIP ;cause=%d;text=\"%s\"", cause, text);
    send_bye(r, r->callee_target, r->callee_routes, r->from, r->to, cseq_caller + 1, reason);
    send_bye(r, r->caller_target, r->caller_routes, r->to, r->from, cseq_callee + 1, reason);
}

/* End the call of @r: BYE both ways, the dialog's STOP, CCR-TERMINATION */
static void release(struct scscf_ro *r, int cause, const char *text)
{
    struct scscf *s = r->s;
    struct ims_chg_dialog *d = r->dlg;
    ims_counter_inc(m.released);
    if (d) {
        bye_both(r, d->cseq_caller, d->cseq_callee, cause, text);
        /* every charged dialog of the call ends here, our terminating one too */
        struct ims_chg_dialog *other = ims_chg_dialog_find(s->chg, d->f.call_id, d->f.from_tag,
                                                           d->f.to_tag, IMS_RF_TERMINATING);
        ims_chg_dialog_end(s->chg, d, IMS_CHG_END_RELEASED);   /* -> ro_terminate */
        if (other)
            ims_chg_dialog_end(s->chg, other, IMS_CHG_END_RELEASED);
        return;
    }
    ro_terminate(r);
}

/* ---- the grant timer and CCR-UPDATE ---- */

static void arm(struct scscf_ro *r);

static void on_update(void *arg, const struct ims_ro_result *res)
{
    struct scscf_ro *r = arg;
    r->busy = false;
    answered(r, res);
    if (r->over) {                    /* the call ended meanwhile: now the CCR-T */
        r->over = false;
        ro_terminate(r);
        return;
    }
    int st;
    const char *phrase;
    struct ims_log_ids ids = ids_of(r);
    switch (scscf_ro_action_of(res, false, &st, &phrase)) {
    case SCSCF_RO_PROCEED:
        r->grant = scscf_ro_timer_of(res);
        r->final_unit = res->final_unit;
        ims_log(IMS_LOG_DEBUG, &ids, "scscf: CCR-UPDATE granted %u s%s", r->grant,
                r->final_unit ? " (final units)" : "");
        arm(r);
        return;
    case SCSCF_RO_UNCHARGED:
        ims_counter_inc(m.uncharged);
        ims_log(IMS_LOG_WARN, &ids, "scscf: no usable answer from the OCS (CCFH CONTINUE): the call goes on uncharged");
        if (r->timer) {
            su_timer_destroy(r->timer);
            r->timer = NULL;
        }
        return;
    default:
        ims_log(IMS_LOG_INFO, &ids, "scscf: CCR-UPDATE refused (%s): releasing the call",
                res->reason ? res->reason : "?");
        release(r, 402, res->result_code == 4012 ? "Credit limit reached"
                                                 : "Online charging failed");
        return;
    }
}

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct scscf_ro *r = (struct scscf_ro *)arg;
    su_timer_destroy(r->timer);
    r->timer = NULL;
    struct ims_log_ids ids = ids_of(r);
    if (r->final_unit) {
        ims_log(IMS_LOG_INFO, &ids, "scscf: final units used: releasing the call");
        release(r, 402, "Credit limit reached");
        return;
    }
    struct ims_ro_request q;
    request_of(r, &q);
    q.used_time = take_used(r);
    ims_counter_inc(m.ccr_update);
    if (ims_ro_update(r->ro, &q, on_update, r) != 0) {
        ims_log(IMS_LOG_WARN, &ids, "scscf: cannot send the CCR-UPDATE: releasing the call");
        release(r, 500, "Online charging failed");
        return;
    }
    r->busy = true;
}

static void arm(struct scscf_ro *r)
{
    if (r->timer)
        su_timer_destroy(r->timer);
    r->timer = NULL;
    if (!r->grant)
        return;
    r->timer = su_timer_create(su_root_task(ims_sip_root(r->s->d->sip)), r->grant * 1000u);
    if (r->timer && su_timer_set(r->timer, on_timer, (su_timer_arg_t *)r) < 0) {
        su_timer_destroy(r->timer);
        r->timer = NULL;
    }
}

/* A dialog ends (BYE, age, release, shutdown): the Ro session of its call with it */
static void on_dialog_end(void *arg, struct ims_chg_dialog *d, enum ims_chg_end why)
{
    (void)arg;
    struct scscf_ro *r = d->ext;
    d->ext = NULL;
    if (!r)
        return;
    if (why == IMS_CHG_END_SHUTDOWN) {
        ro_free(r);
        return;
    }
    ro_terminate(r);
}

/* ---- the INVITE and its answer ---- */

static void on_initial(void *arg, const struct ims_ro_result *res)
{
    struct scscf_ro *r = arg;
    struct scscf_call *call = r->call;
    r->busy = false;
    call->pending--;
    if (!call->tx) {                  /* the INVITE went away (CANCEL) */
        call->ro = NULL;
        scscf_call_release(call);
        if (res->decision == IMS_RO_GRANTED)
            ro_terminate(r);
        else
            ro_free(r);
        return;
    }
    int st;
    const char *phrase;
    struct ims_log_ids ids = ids_of(r);
    enum scscf_ro_action a = scscf_ro_action_of(res, true, &st, &phrase);
    if (a == SCSCF_RO_UNCHARGED) {
        ims_counter_inc(m.uncharged);
        ims_log(IMS_LOG_WARN, &ids, "scscf: no usable answer from the OCS (CCFH CONTINUE): the call goes on uncharged");
    }
    if (a != SCSCF_RO_PROCEED) {      /* @ids points into @r: not used below */
        call->ro = NULL;
        ro_free(r);
    }
    if (a == SCSCF_RO_REFUSE) {
        ims_counter_inc(m.refused);
        char why[160];
        snprintf(why, sizeof(why), "online charging: %s", res->reason ? res->reason : "refused");
        scscf_call_refuse(call, st, phrase, why);
        return;
    }
    if (a == SCSCF_RO_PROCEED) {
        r->grant = scscf_ro_timer_of(res);
        r->final_unit = res->final_unit;
        ims_log(IMS_LOG_INFO, &ids, "scscf: CCR-INITIAL for %s granted %u s%s",
                r->subscription, r->grant, r->final_unit ? " (final units)" : "");
    }
    if (ims_ptx_cancelled(call->tx)) {
        ims_ptx_reply(call->tx, 487, NULL, NULL);
        return;
    }
    scscf_route_originating(call);
}

static void on_event(void *arg, const struct ims_ro_result *res)
{
    struct scscf_call *call = arg;
    call->pending--;
    if (scscf_call_release(call) || !call->tx)
        return;
    int st;
    const char *phrase;
    enum scscf_ro_action a = scscf_ro_action_of(res, true, &st, &phrase);
    if (a == SCSCF_RO_REFUSE) {
        ims_counter_inc(m.refused);
        char why[160];
        snprintf(why, sizeof(why), "online charging: %s", res->reason ? res->reason : "refused");
        scscf_call_refuse(call, st, phrase, why);
        return;
    }
    if (a == SCSCF_RO_UNCHARGED)
        ims_counter_inc(m.uncharged);
    scscf_route_originating(call);
}

static bool is_prepaid(struct scscf_call *call)
{
    struct scscf_aor *aor = scscf_store_find(call->s, call->served);
    return aor && aor->ecf;
}

bool scscf_charging_originating(struct scscf_call *call)
{
    struct scscf *s = call->s;
    const sip_t *req = ims_ptx_sip(call->tx);
    if (call->ro_checked || !s->online || call->sc != SCSCF_ORIG || !req)
        return false;
    call->ro_checked = true;
    sip_method_t method = req->sip_request->rq_method;
    if ((method != sip_method_invite && method != sip_method_message) || !is_prepaid(call))
        return false;
    /* a prepaid call is never let through uncharged: its dialog's place is kept now */
    if (method == sip_method_invite && ims_chg_reserve(s->chg) != 0) {
        ims_counter_inc(m.limit);
        scscf_call_refuse(call, 503, NULL, "online charging: no room for another charged "
                          "call (charging.max_dialogs)");
        return true;
    }
    struct scscf_ro *r = calloc(1, sizeof(*r));
    if (!r) {
        if (method == sip_method_invite)
            ims_chg_unreserve(s->chg);
        scscf_call_refuse(call, 500, NULL, "out of memory");
        return true;
    }
    r->reserved = method == sip_method_invite;
    r->s = s;
    snprintf(r->subscription, sizeof(r->subscription), "%s", call->served);
    ims_chg_fields_of(req, NULL, &r->f);
    snprintf(r->f.calling, sizeof(r->f.calling), "%s", call->served);
    struct ims_ro_request q;
    request_of(r, &q);
    int rc;
    if (method == sip_method_message) {
        q.requested_time = 0;
        q.requested_units = 1;
        q.rating_group = 0;
        ims_counter_inc(m.ccr_event);
        rc = ims_ro_event(&s->ro_conf, &q, on_event, call);
        ro_free(r);
    } else {
        r->ro = ims_ro_session_new(&s->ro_conf);
        r->call = call;
        ims_counter_inc(m.ccr_initial);
        rc = r->ro ? ims_ro_initial(r->ro, &q, on_initial, r) : -ENOMEM;
        if (rc) {
            ro_free(r);
        } else {
            call->ro = r;
            r->busy = true;
        }
    }
    if (rc) {
        scscf_call_refuse(call, 500, NULL, "cannot send the credit-control request");
        return true;
    }
    call->pending++;
    return true;
}

/* Append "<uri>" to the list in @buf; false when it does not fit */
static bool route_append(char *buf, size_t len, size_t *off, const url_t *u)
{
    int n = snprintf(buf + *off, len - *off, "%s<" URL_PRINT_FORMAT ">", *off ? ", " : "",
                     URL_PRINT_ARGS(u));
    if (n < 0 || (size_t)n >= len - *off)
        return false;
    *off += (size_t)n;
    return true;
}

int scscf_ro_route_sets(const sip_record_route_t *rrs, int rr_before,
                        bool (*is_own)(void *arg, const url_t *u), void *arg,
                        char *callee, char *caller, size_t len)
{
    const sip_record_route_t *list[64];
    int n = 0;
    for (const sip_record_route_t *rr = rrs; rr && n < 64; rr = rr->r_next)
        list[n++] = rr;
    int own = n - rr_before - 1;      /* callee's side first, us, then the caller's side */
    callee[0] = caller[0] = '\0';
    if (rr_before < 0 || own < 0 || (rrs && n == 64 && list[63]->r_next))
        return -EINVAL;
    size_t off = 0;
    for (int i = own - 1; i >= 0; i--) {
        if (is_own(arg, list[i]->r_url))
            continue;                 /* our own entries (our terminating leg) */
        if (!route_append(callee, len, &off, list[i]->r_url))
            return -ENOSPC;
    }
    off = 0;
    for (int i = own + 1; i < n; i++)
        if (!route_append(caller, len, &off, list[i]->r_url))
            return -ENOSPC;
    return 0;
}

static bool is_own(void *arg, const url_t *u)
{
    return ims_sip_is_own((struct ims_sip *)arg, u);
}

static int count_rr(const sip_t *req)
{
    int n = 0;
    for (const sip_record_route_t *rr = req->sip_record_route; rr; rr = rr->r_next)
        n++;
    return n;
}

/* What releasing the call will need, from the INVITE (as received) and its 2xx */
static int remember_dialog(struct scscf_ro *r, const sip_t *req, const sip_t *resp)
{
    int rc = scscf_ro_route_sets(resp->sip_record_route, count_rr(req), is_own,
                                 r->s->d->sip, r->callee_routes, r->caller_routes,
                                 RO_ROUTE_MAX);
    if (resp->sip_contact)
        url_e(r->callee_target, sizeof(r->callee_target), resp->sip_contact->m_url);
    if (req->sip_contact)
        url_e(r->caller_target, sizeof(r->caller_target), req->sip_contact->m_url);
    sip_header_field_e(r->from, sizeof(r->from), (sip_header_t const *)req->sip_from, 0);
    sip_header_field_e(r->to, sizeof(r->to), (sip_header_t const *)resp->sip_to, 0);
    return rc;
}

/* The 2xx of a charged INVITE: the Ro session goes with the dialog, the timer runs */
static void ro_answered(struct scscf_call *call, struct ims_chg_dialog *d, const sip_t *req,
                        const sip_t *resp)
{
    struct scscf_ro *r = call->ro;
    call->ro = NULL;
    r->call = NULL;
    if (!d) {
        /* not kept (a 2xx without tags, no memory): a prepaid call never goes on
         * uncharged, it is released at once */
        struct ims_log_ids ids = ids_of(r);
        ims_log(IMS_LOG_WARN, &ids, "scscf: the charged dialog cannot be kept: releasing the "
                "call");
        remember_dialog(r, req, resp);
        ims_counter_inc(m.released);
        bye_both(r, req->sip_cseq ? req->sip_cseq->cs_seq : 1, 0, 500,
                 "Online charging failed");
        r->reported_ms = ims_now_ms();
        ro_terminate(r);
        return;
    }
    r->dlg = d;
    d->ext = r;
    r->reported_ms = ims_now_ms();
    if (remember_dialog(r, req, resp) != 0) {
        struct ims_log_ids ids = ids_of(r);
        ims_log(IMS_LOG_WARN, &ids, "scscf: cannot keep the route sets of the call: it "
                "cannot be released when its credit runs out");
    }
    arm(r);
}

/*
 * A target refresh (re-INVITE, UPDATE) of an online-charged call: the new Contact of the
 * side that sent @msg (the request itself, or its 2xx) is where a release BYE goes.
 */
static void refresh_target(struct scscf *s, const sip_t *req, const sip_t *msg, bool request)
{
    sip_method_t m0 = req->sip_request->rq_method;
    if ((m0 != sip_method_invite && m0 != sip_method_update) || !msg->sip_contact ||
        !req->sip_from || !req->sip_from->a_tag)
        return;
    struct ims_chg_dialog *d = ims_chg_dialog_of(s->chg, req, IMS_RF_ORIGINATING);
    struct scscf_ro *r = d ? d->ext : NULL;
    if (!r)
        return;
    bool caller_sent = strcmp(req->sip_from->a_tag, d->f.from_tag) == 0;
    if (!request)
        caller_sent = !caller_sent;   /* a response comes from the other side */
    char *target = caller_sent ? r->caller_target : r->callee_target;
    url_e(target, sizeof(r->caller_target), msg->sip_contact->m_url);
}

void scscf_charging_response(struct scscf_call *call, const sip_t *resp)
{
    struct scscf *s = call->s;
    const sip_t *req = call->tx ? ims_ptx_sip(call->tx) : NULL;
    int status = resp->sip_status->st_status;
    if (!req || !s->chg || status < 200)
        return;
    bool term = call->sc == SCSCF_TERM_REG || call->sc == SCSCF_TERM_UNREG;
    int role = term ? IMS_RF_TERMINATING : IMS_RF_ORIGINATING;
    switch (req->sip_request->rq_method) {
    case sip_method_invite:
        if (req->sip_to && req->sip_to->a_tag) {   /* re-INVITE */
            if (status < 300)
                refresh_target(s, req, resp, false);
            break;
        }
        if (status < 300 && (call->ro || ims_chg_offline(s->chg))) {
            if (call->ro)
                unreserve(call->ro);  /* its place: the dialog opened next takes it */
            struct ims_chg_dialog *d = ims_chg_dialog_open(s->chg, req, resp, role, call->t0,
                                                            NULL);
            if (call->ro)
                ro_answered(call, d, req, resp);
        } else if (status >= 300 && call->ro && !call->ro->busy) {
            struct scscf_ro *r = call->ro;
            call->ro = NULL;
            r->reported_ms = ims_now_ms();
            ro_terminate(r);          /* nothing used */
        }
        break;
    case sip_method_message:
        ims_chg_event(s->chg, req, status, role, call->t0, NULL);
        break;
    case sip_method_update:
        if (status < 300)
            refresh_target(s, req, resp, false);
        break;
    default:
        break;
    }
}

void scscf_charging_call_done(struct scscf_call *call)
{
    struct scscf_ro *r = call->ro;
    if (!r || r->busy)                /* a CCR-INITIAL under way ends it (on_initial) */
        return;
    call->ro = NULL;
    r->call = NULL;
    r->reported_ms = ims_now_ms();
    ro_terminate(r);
}

void scscf_charging_in_dialog(struct scscf *s, const sip_t *req)
{
    if (!s->chg)
        return;
    if (req->sip_request->rq_method == sip_method_bye) {
        ims_chg_dialog_end_all(s->chg, req);
        return;
    }
    ims_chg_dialog_note(s->chg, req);
    refresh_target(s, req, req, true);
}

void scscf_charging_register(struct scscf *s, const sip_t *req, int status, time_t t0)
{
    ims_chg_event(s->chg, req, status, IMS_RF_ORIGINATING, t0, NULL);
}
