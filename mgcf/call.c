/*
 * call.c - the MGCF's call state machine (see call.h): pure, one function per event
 *
 * Each handler checks that the event fits the call's state, moves the sides it concerns
 * and appends the actions. release() is the one way a call ends from any state: it sends
 * what each side still needs (REL, a final response, CANCEL or BYE, Subtract) and the call
 * is freed once the three sides are done (finish()).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "call.h"
#include "interwork_tables.h"
#include "isup.h"
#include "megaco.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- building the action list ---- */

static struct mgcf_act *act(struct mgcf_acts *out, enum mgcf_act_type type)
{
    static struct mgcf_act spare;   /* written to on overflow, never read */
    if (out->n >= MGCF_ACTS_MAX) {
        out->overflow = true;
        memset(&spare, 0, sizeof(spare));
        return &spare;
    }
    struct mgcf_act *a = &out->a[out->n++];
    memset(a, 0, sizeof(*a));
    a->type = type;
    return a;
}

static void timer_act(struct mgcf_acts *out, enum mgcf_act_type type, enum mgcf_timer t)
{
    act(out, type)->timer = t;
}

static void isup_act(struct mgcf_acts *out, uint8_t type)
{
    act(out, MGCF_ACT_ISUP)->isup_type = type;
}

static void sip_response(struct mgcf_call_sm *c, struct mgcf_acts *out, int status, bool sdp,
                         uint8_t cause)
{
    struct mgcf_act *a = act(out, MGCF_ACT_SIP_RESPONSE);
    a->status = status;
    a->sdp = sdp;
    a->cause = cause;
    if (status >= 200)
        c->final_status = status;
}

static void mg_modify(struct mgcf_acts *out, int mode, bool sdp)
{
    struct mgcf_act *a = act(out, MGCF_ACT_MG_MODIFY);
    a->mode = mode;
    a->sdp = sdp;
}

/* ---- ending ---- */

static void charging_stop(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->answered) {
        act(out, MGCF_ACT_CHG_STOP);
        c->answered = false;
    }
}

static void charging_failed(struct mgcf_call_sm *c, struct mgcf_acts *out, int status)
{
    c->final_status = status;
    act(out, MGCF_ACT_CHG_EVENT)->status = status;
}

/* OUT: the set-up timers (T7, T9) stop; an incoming call never runs them */
static void stop_setup_timers(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->suspended) {                 /* released while suspended: T6 is over too */
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T6);
        c->suspended = false;
    }
    if (c->peer_suspended) {            /* the same for the SIP-I peer's suspension */
        timer_act(out, MGCF_ACT_TIMER_STOP, c->peer_timer);
        c->peer_suspended = false;
    }
    if (c->dir != MGCF_DIR_OUT)
        return;
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T7);
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T9);
}

/* ISUP side of a release: REL unless nothing was sent or the circuit is released already */
static void release_isup(struct mgcf_call_sm *c, uint8_t cause, uint8_t loc,
                         struct mgcf_acts *out)
{
    switch (c->isup) {
    case MGCF_I_IDLE:
        c->isup = MGCF_I_DONE;
        return;
    case MGCF_I_SETUP:
    case MGCF_I_ALERTING:
    case MGCF_I_ANSWERED: {
        stop_setup_timers(c, out);
        struct mgcf_act *a = act(out, MGCF_ACT_ISUP);
        a->isup_type = ISUP_REL;
        a->cause = cause;
        a->location = loc;
        c->rel_cause = cause;
        c->rel_location = loc;
        timer_act(out, MGCF_ACT_TIMER_START, MGCF_T1);
        timer_act(out, MGCF_ACT_TIMER_START, MGCF_T5);
        c->isup = MGCF_I_REL_SENT;
        return;
    }
    default:
        return;
    }
}

/* SIP side of a release, towards the IMS: a final response, CANCEL or BYE */
static void release_sip(struct mgcf_call_sm *c, uint8_t cause, uint8_t loc,
                        struct mgcf_acts *out)
{
    switch (c->sip) {
    case MGCF_S_NONE:
        c->sip = MGCF_S_DONE;
        return;
    case MGCF_S_INVITED:
    case MGCF_S_EARLY:
        if (c->dir == MGCF_DIR_OUT) {
            const char *phrase;
            int status = mgcf_iw_cause_to_status(cause, loc, &phrase);
            sip_response(c, out, status, false, cause);
            charging_failed(c, out, status);
            c->sip = MGCF_S_DONE;
        } else {
            act(out, MGCF_ACT_SIP_CANCEL)->cause = cause;
            c->cancel_cause = cause;
            c->sip = MGCF_S_CANCELLING;
        }
        return;
    case MGCF_S_CONFIRMING:
    case MGCF_S_CONFIRMED:
        act(out, MGCF_ACT_SIP_BYE)->cause = cause;
        charging_stop(c, out);
        c->sip = MGCF_S_BYE_SENT;
        return;
    default:
        return;
    }
}

static void release_media(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    switch (c->media) {
    case MGCF_M_NONE:
        c->media = MGCF_M_DONE;
        return;
    case MGCF_M_ADDING:
        c->subtract_when_added = true;
        return;
    case MGCF_M_READY:
        act(out, MGCF_ACT_MG_SUBTRACT);
        c->media = MGCF_M_SUBTRACTING;
        return;
    default:
        return;
    }
}

/* The RLC owed for a REL received goes once the MGW has let the circuit go */
static void rlc_when_released(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->isup == MGCF_I_REL_RCVD &&
        (c->media == MGCF_M_DONE || c->media == MGCF_M_NONE)) {
        isup_act(out, ISUP_RLC);
        c->isup = MGCF_I_DONE;
    }
}

static void release(struct mgcf_call_sm *c, uint8_t cause, uint8_t loc, struct mgcf_acts *out)
{
    if (c->precond) {                   /* the IAM that waited for them will never go */
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_TPRECOND);
        c->precond = false;
        c->precond_met = false;
    }
    release_isup(c, cause, loc, out);
    release_sip(c, cause, loc, out);
    release_media(c, out);
    rlc_when_released(c, out);
}

static void finish(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    bool media_done = c->media == MGCF_M_DONE || c->media == MGCF_M_NONE;
    if (!c->freed && c->isup == MGCF_I_DONE && c->sip == MGCF_S_DONE && media_done &&
        !c->subtract_when_added) {
        charging_stop(c, out);
        act(out, MGCF_ACT_FREE);
        c->freed = true;
    }
}

/* ---- the MGW ---- */

/* OUT: the IAM goes (T7 guards its ACM) */
static void send_iam(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    isup_act(out, ISUP_IAM);
    timer_act(out, MGCF_ACT_TIMER_START, MGCF_T7);
    c->isup = MGCF_I_SETUP;
}

/*
 * OUT with preconditions (RFC 3312, TS 29.163's alternative to the continuity procedure):
 * the IAM is held back while the IMS side reserves its resources. Our answer goes at once
 * in a 183 (reliable: the caller only sets precond with 100rel) carrying the qos status,
 * and TPRECOND bounds the wait.
 */
static void precond_wait(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    sip_response(c, out, 183, true, 0);
    c->sip = MGCF_S_EARLY;
    timer_act(out, MGCF_ACT_TIMER_START, MGCF_TPRECOND);
}

static int on_start(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->media != MGCF_M_NONE)
        return -EPROTO;
    struct mgcf_act *a = act(out, MGCF_ACT_MG_ADD);
    /* backward through-connection before the answer (OUT: the PSTN's tones reach the
     * IMS), forward for early media of the IMS side (IN); both ways on the answer */
    a->mode = c->dir == MGCF_DIR_OUT ? MGCF_MG_MODE_SENDONLY : MGCF_MG_MODE_RECVONLY;
    a->sdp = c->dir == MGCF_DIR_OUT && c->offer;
    c->media = MGCF_M_ADDING;
    return 0;
}

static int on_mg_added(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->media != MGCF_M_ADDING)
        return -EPROTO;
    c->media = MGCF_M_READY;
    if (c->subtract_when_added) {
        c->subtract_when_added = false;
        release_media(c, out);
        return 0;
    }
    if (c->move_when_added) {           /* the circuit was taken meanwhile: move first */
        c->move_when_added = false;
        act(out, MGCF_ACT_MG_READD);
        c->media = MGCF_M_ADDING;
        return 0;
    }
    if (c->dir == MGCF_DIR_OUT && c->isup == MGCF_I_IDLE && c->precond &&
        c->sip == MGCF_S_INVITED) {
        precond_wait(c, out);
    } else if (c->dir == MGCF_DIR_OUT && c->isup == MGCF_I_IDLE && !c->precond) {
        send_iam(c, out);
    } else if (c->dir == MGCF_DIR_IN && c->sip == MGCF_S_NONE) {
        act(out, MGCF_ACT_SIP_INVITE);
        c->sip = MGCF_S_INVITED;
    }
    return 0;
}

static int on_mg_failed(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->media != MGCF_M_ADDING)
        return -EPROTO;
    c->media = MGCF_M_DONE;
    if (c->subtract_when_added) {
        c->subtract_when_added = false;
        rlc_when_released(c, out);
        return 0;
    }
    release(c, Q850_RESOURCE_UNAVAILABLE, MGCF_IW_LOCATION, out);
    return 0;
}

static int on_mg_modified(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                          struct mgcf_acts *out)
{
    if (!c->reinvite)
        return 0;
    c->reinvite = false;
    struct mgcf_act *a = act(out, MGCF_ACT_SIP_REINVITE_ANSWER);
    a->status = ev->ok ? 200 : 488;
    a->sdp = ev->ok;
    bool met = c->precond_met && ev->ok;
    c->precond_met = false;
    if (met && c->precond && c->isup == MGCF_I_IDLE) {   /* our 200 says so: the IAM goes */
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_TPRECOND);
        c->precond = false;
        if (c->media == MGCF_M_READY)
            send_iam(c, out);           /* else once the TDM termination has moved */
    }
    return 0;
}

static int on_mg_subtracted(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->media != MGCF_M_SUBTRACTING)
        return -EPROTO;
    c->media = MGCF_M_DONE;
    rlc_when_released(c, out);
    return 0;
}

static int on_mg_lost(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    bool had = c->media == MGCF_M_ADDING || c->media == MGCF_M_READY ||
               c->media == MGCF_M_SUBTRACTING;
    if (!had)
        return 0;
    c->media = MGCF_M_DONE;
    c->subtract_when_added = false;
    c->reinvite = false;
    release(c, Q850_TEMPORARY_FAILURE, MGCF_IW_LOCATION, out);
    return 0;
}

/*
 * OUT: the circuit is the other exchange's now: it won the dual seizure (Q.764 2.10.1.4),
 * or its IAM came on the circuit before ours went (it could not know we had chosen it).
 * @ok: the call has another circuit; its TDM termination moves there in the context (once
 * an outstanding Add is in) and the IAM goes on it then, unless preconditions still hold it
 * back. Otherwise the call fails with cause 34 (no circuit).
 */
static int on_backoff(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    bool iam_sent = mgcf_call_seizing(c);
    if (!iam_sent && !mgcf_call_unsignalled(c))
        return -EPROTO;
    if (iam_sent)
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T7);
    if (!ev->ok || (c->media != MGCF_M_READY && c->media != MGCF_M_ADDING)) {
        c->isup = MGCF_I_DONE;          /* the circuit is the other call's now */
        release(c, Q850_NO_CIRCUIT, MGCF_IW_LOCATION, out);
        return 0;
    }
    c->isup = MGCF_I_IDLE;
    if (c->media == MGCF_M_ADDING) {
        c->move_when_added = true;
        return 0;
    }
    act(out, MGCF_ACT_MG_READD);
    c->media = MGCF_M_ADDING;
    return 0;
}

/* ---- ISUP messages ---- */

static bool sip_owes_final(const struct mgcf_call_sm *c)
{
    return c->dir == MGCF_DIR_OUT && (c->sip == MGCF_S_INVITED || c->sip == MGCF_S_EARLY);
}

/* OUT: ACM or CPG -> 180, 181 or 183 (TS 29.163 7.2.3.1.4); the SDP answer goes with it
 * when the PSTN has in-band information (early media) or for 183 */
static void backward_progress(struct mgcf_call_sm *c, int status, bool inband,
                              struct mgcf_acts *out)
{
    if (!sip_owes_final(c))
        return;
    sip_response(c, out, status, c->offer && (inband || status == 183), 0);
    c->sip = MGCF_S_EARLY;
}

static int on_acm(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT || c->isup != MGCF_I_SETUP)
        return -EPROTO;
    c->backward_seen = true;
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T7);
    timer_act(out, MGCF_ACT_TIMER_START, MGCF_T9);
    c->isup = MGCF_I_ALERTING;
    bool free = ev->called_status == ISUP_BCI_SUBSCRIBER_FREE;
    backward_progress(c, free ? 180 : 183, ev->inband, out);
    return 0;
}

static int on_cpg(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT || (c->isup != MGCF_I_ALERTING && c->isup != MGCF_I_ANSWERED))
        return -EPROTO;
    if (c->isup == MGCF_I_ANSWERED)
        return 0;                       /* progress after the answer: nothing to tell */
    int status = 183;
    if (ev->event == ISUP_EVENT_ALERTING)
        status = 180;
    else if (ev->event >= ISUP_EVENT_CFB && ev->event <= ISUP_EVENT_CFU)
        status = 181;
    backward_progress(c, status, ev->inband || ev->event == ISUP_EVENT_INBAND, out);
    return 0;
}

static int on_answer(struct mgcf_call_sm *c, uint8_t type, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT || (c->isup != MGCF_I_SETUP && c->isup != MGCF_I_ALERTING))
        return -EPROTO;
    if (type == ISUP_ANM && c->isup == MGCF_I_SETUP)
        return -EPROTO;                 /* ANM follows an ACM; CON stands alone */
    c->backward_seen = true;
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T7);
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T9);
    c->isup = MGCF_I_ANSWERED;
    mg_modify(out, MGCF_MG_MODE_SENDRECV, false);
    if (sip_owes_final(c)) {
        sip_response(c, out, 200, true, 0);
        c->sip = MGCF_S_CONFIRMING;
        act(out, MGCF_ACT_CHG_START);
        c->answered = true;
    }
    return 0;
}

static int on_rel(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    switch (c->isup) {
    case MGCF_I_SETUP:
    case MGCF_I_ALERTING:
    case MGCF_I_ANSWERED:
        c->backward_seen = true;
        stop_setup_timers(c, out);
        c->isup = MGCF_I_REL_RCVD;
        release(c, ev->cause, ev->location, out);
        return 0;
    case MGCF_I_REL_SENT:               /* both released at once (Q.764 2.3.1 e) */
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T1);
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T5);
        isup_act(out, ISUP_RLC);
        c->isup = MGCF_I_DONE;
        return 0;
    default:
        return -EPROTO;
    }
}

static int on_rlc(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->isup != MGCF_I_REL_SENT)
        return -EPROTO;
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T1);
    timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T5);
    c->isup = MGCF_I_DONE;
    return 0;
}

/*
 * SUS and RES on an answered call (Q.764 2.5, TS 29.163): a suspension by the network (the
 * PSTN's party went on-hook, or the path is interrupted for a while) starts T6, a RES stops
 * it, and T6 over releases the call (cause 102). The SIP side is not told: the IMS session
 * stays as it is, its media silent meanwhile. A suspension by an ISDN subscriber (user
 * initiated) is only logged by the caller: the MGCF is no subscriber's exchange.
 */
static int on_suspend(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    if (c->isup != MGCF_I_ANSWERED)
        return -EPROTO;
    if (!ev->network)
        return 0;
    if (ev->isup_type == ISUP_SUS && !c->suspended) {
        timer_act(out, MGCF_ACT_TIMER_START, MGCF_T6);
        c->suspended = true;
    } else if (ev->isup_type == ISUP_RES && c->suspended) {
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T6);
        c->suspended = false;
    } else if (ev->isup_type == ISUP_RES) {
        return -EPROTO;                 /* a RES without SUS */
    }
    return 0;
}

/*
 * SUS and RES from the SIP-I peer (in an INFO, Q.1912.5 profile C) on an answered call: the
 * peer's message goes on to the PSTN, and the MGCF supervises the suspension as the exchange
 * that receives a SUS does (Q.764 2.5): T6 for one initiated by the network, T2 for one
 * initiated by the subscriber; a RES stops it, its expiry releases the call (cause 102) on
 * both sides. A second SUS leaves the running timer alone; a RES without SUS goes on too.
 */
static int on_peer_suspend(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                           struct mgcf_acts *out)
{
    if (c->isup != MGCF_I_ANSWERED)
        return -EPROTO;
    isup_act(out, ev->isup_type);
    if (ev->isup_type == ISUP_SUS && !c->peer_suspended) {
        c->peer_timer = ev->network ? MGCF_T6_SIPI : MGCF_T2;
        timer_act(out, MGCF_ACT_TIMER_START, c->peer_timer);
        c->peer_suspended = true;
    } else if (ev->isup_type == ISUP_RES && c->peer_suspended) {
        timer_act(out, MGCF_ACT_TIMER_STOP, c->peer_timer);
        c->peer_suspended = false;
    }
    return 0;
}

static int on_isup(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    switch (ev->isup_type) {
    case ISUP_ACM:
        return on_acm(c, ev, out);
    case ISUP_CPG:
        return on_cpg(c, ev, out);
    case ISUP_ANM:
    case ISUP_CON:
        return on_answer(c, ev->isup_type, out);
    case ISUP_REL:
        return on_rel(c, ev, out);
    case ISUP_RLC:
        return on_rlc(c, out);
    case ISUP_SUS:
    case ISUP_RES:
        return ev->sipi ? on_peer_suspend(c, ev, out) : on_suspend(c, ev, out);
    default:
        return -EPROTO;
    }
}

static int on_reset(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    for (int t = 0; t < MGCF_TIMER_COUNT; t++)
        timer_act(out, MGCF_ACT_TIMER_STOP, (enum mgcf_timer)t);
    c->suspended = false;
    c->peer_suspended = false;
    c->isup = MGCF_I_DONE;              /* the reset answered for the circuit */
    release(c, ev->cause, MGCF_IW_LOCATION, out);
    return 0;
}

/* ---- SIP: IN (we sent the INVITE) ---- */

static int on_sip_progress(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                           struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_IN || (c->sip != MGCF_S_INVITED && c->sip != MGCF_S_EARLY))
        return -EPROTO;
    c->sip = MGCF_S_EARLY;
    c->ims_answered |= ev->sdp && ev->reliable;
    if (ev->sdp && c->media == MGCF_M_READY)
        mg_modify(out, MGCF_MG_MODE_RECVONLY, true);
    bool ringing = ev->status == 180;
    if (c->isup == MGCF_I_SETUP) {
        struct mgcf_act *a = act(out, MGCF_ACT_ISUP);
        a->isup_type = ISUP_ACM;
        a->called_status = ringing ? ISUP_BCI_SUBSCRIBER_FREE : 0;
        a->inband = ev->sdp;
        c->isup = MGCF_I_ALERTING;
        c->backward_seen = ringing;      /* IN: "alerted" told to the PSTN */
        c->inband_told = ev->sdp;
    } else if (c->isup == MGCF_I_ALERTING && ((ringing && !c->backward_seen) ||
                                              (ev->sdp && !c->inband_told))) {
        struct mgcf_act *a = act(out, MGCF_ACT_ISUP);
        a->isup_type = ISUP_CPG;
        a->event = ringing ? ISUP_EVENT_ALERTING : ISUP_EVENT_INBAND;
        a->inband = ev->sdp;
        c->backward_seen |= ringing;
        c->inband_told |= ev->sdp;
    }
    return 0;
}

static int on_sip_success(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                          struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_IN)
        return -EPROTO;
    switch (c->sip) {
    case MGCF_S_INVITED:
    case MGCF_S_EARLY:
        break;
    case MGCF_S_CANCELLING:             /* the 2xx crossed our CANCEL: end the dialog */
        act(out, MGCF_ACT_SIP_ACK);
        act(out, MGCF_ACT_SIP_BYE)->cause = c->cancel_cause ? c->cancel_cause
                                                             : Q850_NORMAL_CLEARING;
        c->sip = MGCF_S_BYE_SENT;
        return 0;
    case MGCF_S_CONFIRMED:
    case MGCF_S_BYE_SENT:
    case MGCF_S_DONE:                   /* a retransmitted 2xx: ACK it again */
        act(out, MGCF_ACT_SIP_ACK);
        return 0;
    default:
        return -EPROTO;
    }
    act(out, MGCF_ACT_SIP_ACK);
    c->sip = MGCF_S_CONFIRMED;
    c->ims_answered = true;
    c->final_status = ev->status;
    act(out, MGCF_ACT_CHG_START);
    c->answered = true;
    if (c->media == MGCF_M_READY)
        mg_modify(out, MGCF_MG_MODE_SENDRECV, ev->sdp);
    if (c->isup == MGCF_I_SETUP || c->isup == MGCF_I_ALERTING) {
        isup_act(out, c->isup == MGCF_I_SETUP ? ISUP_CON : ISUP_ANM);
        c->isup = MGCF_I_ANSWERED;
    }
    return 0;
}

static int on_sip_failure(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                          struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_IN)
        return -EPROTO;
    if (c->sip == MGCF_S_CANCELLING) {
        c->sip = MGCF_S_DONE;
        c->final_status = ev->status;
        charging_failed(c, out, ev->status);
        rlc_when_released(c, out);
        return 0;
    }
    if (c->sip != MGCF_S_INVITED && c->sip != MGCF_S_EARLY)
        return -EPROTO;
    c->sip = MGCF_S_DONE;
    charging_failed(c, out, ev->status);
    release(c, (uint8_t)mgcf_iw_status_to_cause(ev->status, ev->reason), MGCF_IW_LOCATION,
            out);
    return 0;
}

/* ---- SIP: OUT (we received the INVITE) ---- */

static int on_sip_ack(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT || c->sip != MGCF_S_CONFIRMING)
        return 0;                       /* a late or repeated ACK: nothing to do */
    c->sip = MGCF_S_CONFIRMED;
    if (!c->offer && ev->sdp && c->media == MGCF_M_READY)
        mg_modify(out, MGCF_MG_MODE_SENDRECV, true);   /* the answer to our offer */
    return 0;
}

static int on_sip_ack_timeout(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT || c->sip != MGCF_S_CONFIRMING)
        return -EPROTO;
    release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
    return 0;
}

/*
 * OUT: no PRACK came for a reliable 18x within 64*T1: the INVITE fails with a 5xx (RFC 3262
 * 3), that of cause 102 (504). A 2xx held back for that PRACK (after an 18x with SDP) never
 * left, so the IMS side's dialog is still early: no BYE on it (RFC 3261 15: the callee
 * never sends one on an early dialog), the 5xx instead, and the charging session that 2xx
 * opened closes. The PSTN side gets REL 102.
 */
static int on_sip_prack_timeout(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->dir != MGCF_DIR_OUT)
        return -EPROTO;
    if (c->sip == MGCF_S_CONFIRMING) {
        const char *phrase;
        int status = mgcf_iw_cause_to_status(Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION,
                                             &phrase);
        sip_response(c, out, status, false, Q850_RECOVERY_ON_TIMER_EXPIRY);
        charging_stop(c, out);
        c->sip = MGCF_S_DONE;
    } else if (!sip_owes_final(c)) {
        return -EPROTO;
    }
    release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
    return 0;
}

static int on_sip_cancel(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                         struct mgcf_acts *out)
{
    if (!sip_owes_final(c))
        return -EPROTO;
    sip_response(c, out, 487, false, 0);
    charging_failed(c, out, 487);
    c->sip = MGCF_S_DONE;
    release(c, (uint8_t)mgcf_iw_release_cause(true, ev->reason), MGCF_IW_LOCATION, out);
    return 0;
}

static int on_sip_bye(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    switch (c->sip) {
    case MGCF_S_CONFIRMING:
    case MGCF_S_CONFIRMED:
        charging_stop(c, out);
        c->sip = MGCF_S_DONE;
        release(c, (uint8_t)mgcf_iw_release_cause(false, ev->reason), MGCF_IW_LOCATION, out);
        return 0;
    case MGCF_S_BYE_SENT:               /* both hung up at once */
        c->sip = MGCF_S_DONE;
        return 0;
    default:
        return -EPROTO;
    }
}

static int on_sip_bye_done(struct mgcf_call_sm *c)
{
    if (c->sip != MGCF_S_BYE_SENT)
        return -EPROTO;
    c->sip = MGCF_S_DONE;
    return 0;
}

static int on_sip_reinvite(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (c->sip != MGCF_S_CONFIRMED || c->media != MGCF_M_READY || c->reinvite) {
        struct mgcf_act *a = act(out, MGCF_ACT_SIP_REINVITE_ANSWER);
        a->status = c->reinvite ? 491 : 500;
        return 0;
    }
    c->reinvite = true;
    mg_modify(out, MGCF_MG_MODE_SENDRECV, true);
    return 0;
}

/* The RTP termination's mode now: both ways once answered, else one way (as on_start) */
static int mode_now(const struct mgcf_call_sm *c)
{
    if (c->sip == MGCF_S_CONFIRMING || c->sip == MGCF_S_CONFIRMED)
        return MGCF_MG_MODE_SENDRECV;
    return c->dir == MGCF_DIR_OUT ? MGCF_MG_MODE_SENDONLY : MGCF_MG_MODE_RECVONLY;
}

/* An UPDATE with an offer (RFC 3311 5.2): in an early or confirmed dialog, one offer of the
 * peer's at a time, none while ours waits for its answer (491), the media there (else 500) */
static int on_sip_update(struct mgcf_call_sm *c, const struct mgcf_ev *ev,
                         struct mgcf_acts *out)
{
    bool dialog = c->sip == MGCF_S_EARLY || c->sip == MGCF_S_CONFIRMING ||
                  c->sip == MGCF_S_CONFIRMED;
    bool crossing = c->reinvite || mgcf_call_offer_waits(c);
    if (!dialog || c->media != MGCF_M_READY || crossing) {
        struct mgcf_act *a = act(out, MGCF_ACT_SIP_REINVITE_ANSWER);
        a->status = dialog && crossing ? 491 : 500;
        return 0;
    }
    c->reinvite = true;
    c->precond_met = c->precond && ev->met;
    mg_modify(out, mode_now(c), true);
    return 0;
}

/* ---- timers ---- */

/*
 * TPRECOND over: the IMS side never said its resources are reserved. The INVITE fails
 * with 580 Precondition Failure (RFC 3312 section 8: the status for preconditions that
 * cannot be met; a 5xx of the timer, as 504 for T7, would say a server failed). No ISUP
 * message went, so there is no Q.850 cause to report; the MGW context goes, no IAM ever.
 */
static int on_precond_timeout(struct mgcf_call_sm *c, struct mgcf_acts *out)
{
    if (!c->precond || c->isup != MGCF_I_IDLE)
        return -EPROTO;
    c->precond = false;
    c->precond_met = false;
    if (sip_owes_final(c)) {
        sip_response(c, out, 580, false, 0);
        charging_failed(c, out, 580);
        c->sip = MGCF_S_DONE;
    }
    release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
    return 0;
}

static int on_timer(struct mgcf_call_sm *c, enum mgcf_timer t, struct mgcf_acts *out)
{
    switch (t) {
    case MGCF_T7:                       /* no ACM: recovery on timer expiry (102) */
        if (c->isup != MGCF_I_SETUP)
            return -EPROTO;
        release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
        return 0;
    case MGCF_T9:                       /* alerted, no answer */
        if (c->isup != MGCF_I_ALERTING)
            return -EPROTO;
        release(c, Q850_NO_ANSWER, MGCF_IW_LOCATION, out);
        return 0;
    case MGCF_T1: {                     /* the REL again (Q.764 2.3.1 c) */
        if (c->isup != MGCF_I_REL_SENT)
            return -EPROTO;
        struct mgcf_act *a = act(out, MGCF_ACT_ISUP);
        a->isup_type = ISUP_REL;
        a->cause = c->rel_cause;
        a->location = c->rel_location;
        timer_act(out, MGCF_ACT_TIMER_START, MGCF_T1);
        return 0;
    }
    case MGCF_T6:                       /* suspended, no RES: recovery on timer expiry */
        if (c->isup != MGCF_I_ANSWERED || !c->suspended)
            return -EPROTO;
        c->suspended = false;
        release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
        return 0;
    case MGCF_T2:                       /* SIP-I: the peer's suspension not resumed */
    case MGCF_T6_SIPI:
        if (c->isup != MGCF_I_ANSWERED || !c->peer_suspended || c->peer_timer != t)
            return -EPROTO;
        c->peer_suspended = false;
        release(c, Q850_RECOVERY_ON_TIMER_EXPIRY, MGCF_IW_LOCATION, out);
        return 0;
    case MGCF_TPRECOND:
        return on_precond_timeout(c, out);
    case MGCF_T5:                       /* still no RLC: reset the circuit (Q.764 2.10.3) */
        if (c->isup != MGCF_I_REL_SENT)
            return -EPROTO;
        timer_act(out, MGCF_ACT_TIMER_STOP, MGCF_T1);
        act(out, MGCF_ACT_CIRCUIT_RESET);
        c->isup = MGCF_I_DONE;
        return 0;
    default:
        return -EPROTO;
    }
}

/* ---- entry points ---- */

void mgcf_call_init(struct mgcf_call_sm *c, enum mgcf_dir dir)
{
    memset(c, 0, sizeof(*c));
    c->dir = dir;
    if (dir == MGCF_DIR_OUT) {
        c->isup = MGCF_I_IDLE;
        c->sip = MGCF_S_INVITED;
    } else {
        c->isup = MGCF_I_SETUP;
        c->sip = MGCF_S_NONE;
    }
}

bool mgcf_call_seizing(const struct mgcf_call_sm *c)
{
    return c->dir == MGCF_DIR_OUT && c->isup == MGCF_I_SETUP && !c->backward_seen;
}

bool mgcf_call_offer_waits(const struct mgcf_call_sm *c)
{
    if (c->dir == MGCF_DIR_OUT)
        return !c->offer && c->sip == MGCF_S_CONFIRMING;
    return !c->ims_answered && (c->sip == MGCF_S_INVITED || c->sip == MGCF_S_EARLY);
}

bool mgcf_call_unsignalled(const struct mgcf_call_sm *c)
{
    return c->dir == MGCF_DIR_OUT && c->isup == MGCF_I_IDLE &&
           (c->media == MGCF_M_ADDING || c->media == MGCF_M_READY) && !c->subtract_when_added &&
           (c->sip == MGCF_S_INVITED || c->sip == MGCF_S_EARLY);
}

static int dispatch(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    switch (ev->type) {
    case MGCF_EV_START:             return on_start(c, out);
    case MGCF_EV_MG_ADDED:          return on_mg_added(c, out);
    case MGCF_EV_MG_FAILED:         return on_mg_failed(c, out);
    case MGCF_EV_MG_MODIFIED:       return on_mg_modified(c, ev, out);
    case MGCF_EV_MG_SUBTRACTED:     return on_mg_subtracted(c, out);
    case MGCF_EV_MG_LOST:           return on_mg_lost(c, out);
    case MGCF_EV_BACKOFF:           return on_backoff(c, ev, out);
    case MGCF_EV_ISUP:              return on_isup(c, ev, out);
    case MGCF_EV_RESET:             return on_reset(c, ev, out);
    case MGCF_EV_SIP_PROGRESS:      return on_sip_progress(c, ev, out);
    case MGCF_EV_SIP_SUCCESS:       return on_sip_success(c, ev, out);
    case MGCF_EV_SIP_FAILURE:       return on_sip_failure(c, ev, out);
    case MGCF_EV_SIP_ACK:           return on_sip_ack(c, ev, out);
    case MGCF_EV_SIP_ACK_TIMEOUT:   return on_sip_ack_timeout(c, out);
    case MGCF_EV_SIP_PRACK_TIMEOUT: return on_sip_prack_timeout(c, out);
    case MGCF_EV_SIP_CANCEL:        return on_sip_cancel(c, ev, out);
    case MGCF_EV_SIP_BYE:           return on_sip_bye(c, ev, out);
    case MGCF_EV_SIP_BYE_DONE:      return on_sip_bye_done(c);
    case MGCF_EV_SIP_REINVITE:      return on_sip_reinvite(c, out);
    case MGCF_EV_SIP_UPDATE:        return on_sip_update(c, ev, out);
    case MGCF_EV_TIMER:             return on_timer(c, ev->timer, out);
    case MGCF_EV_RELEASE:
        release(c, ev->cause, MGCF_IW_LOCATION, out);
        return 0;
    }
    return -EPROTO;
}

int mgcf_call_step(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out)
{
    if (c->freed)
        return -EPROTO;
    int rc = dispatch(c, ev, out);
    finish(c, out);
    return rc;
}

/* ---- names ---- */

const char *mgcf_call_ev_name(enum mgcf_ev_type t)
{
    static const char *const names[] = {
        "start", "mg-added", "mg-failed", "mg-modified", "mg-subtracted", "mg-lost",
        "backoff", "isup", "reset", "sip-progress", "sip-success", "sip-failure", "sip-ack",
        "sip-ack-timeout", "sip-cancel", "sip-bye", "sip-bye-done", "sip-reinvite",
        "sip-update", "timer", "release", "sip-prack-timeout",
    };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const char *mgcf_call_act_name(enum mgcf_act_type t)
{
    static const char *const names[] = {
        "mg-add", "mg-readd", "mg-modify", "mg-subtract", "isup", "circuit-reset",
        "sip-response", "sip-invite", "sip-ack", "sip-cancel", "sip-bye",
        "sip-reinvite-answer", "timer-start", "timer-stop", "chg-start", "chg-event",
        "chg-stop", "free",
    };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const char *mgcf_call_timer_name(enum mgcf_timer t)
{
    static const char *const names[] = { "T7", "T9", "T1", "T5", "T6", "T2", "T6-SIP-I",
                                         "T35", "Tdigits", "Tprecond" };
    return (unsigned)t < MGCF_TIMER_COUNT ? names[t] : "?";
}

const char *mgcf_call_state_text(const struct mgcf_call_sm *c, char *buf, unsigned len)
{
    static const char *const isup[] = { "IDLE", "SETUP", "ALERTING", "ANSWERED", "REL-SENT",
                                         "REL-RCVD", "DONE" };
    static const char *const sip[] = { "NONE", "INVITED", "EARLY", "CANCELLING",
                                       "CONFIRMING", "CONFIRMED", "BYE-SENT", "DONE" };
    static const char *const media[] = { "NONE", "ADDING", "READY", "SUBTRACTING", "DONE" };
    snprintf(buf, len, "isup=%s sip=%s media=%s", isup[c->isup], sip[c->sip], media[c->media]);
    return buf;
}
