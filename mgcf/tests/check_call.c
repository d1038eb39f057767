/*
 * check_call.c - the MGCF's call state machine (mgcf/call.c): both directions from set-up to
 * the end, each release path (BYE, CANCEL, REL, errors, timers), dual seizure, resets, the
 * MGW's failures and re-INVITEs, events out of place
 *
 * Each step's actions are written as one line of words (see text()), so a test reads like
 * the message flow it checks.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "interwork_tables.h"
#include "isup.h"
#include "megaco.h"

static char line[512];

/* The actions as words: "add", "IAM", "T7+", "180+sdp", "REL/16", "chg-start", "free"... */
static const char *text(const struct mgcf_acts *acts)
{
    size_t k = 0;
    line[0] = '\0';
    for (unsigned i = 0; i < acts->n; i++) {
        const struct mgcf_act *a = &acts->a[i];
        char w[48];
        switch (a->type) {
        case MGCF_ACT_MG_ADD:
            snprintf(w, sizeof(w), "add/%s%s", mgcf_mg_mode_name((enum mgcf_mg_mode)a->mode),
                     a->sdp ? "+sdp" : "");
            break;
        case MGCF_ACT_MG_READD: snprintf(w, sizeof(w), "readd"); break;
        case MGCF_ACT_MG_MODIFY:
            snprintf(w, sizeof(w), "modify/%s%s",
                     mgcf_mg_mode_name((enum mgcf_mg_mode)a->mode), a->sdp ? "+sdp" : "");
            break;
        case MGCF_ACT_MG_SUBTRACT: snprintf(w, sizeof(w), "subtract"); break;
        case MGCF_ACT_ISUP:
            if (a->isup_type == ISUP_REL)
                snprintf(w, sizeof(w), "REL/%u", a->cause);
            else if (a->isup_type == ISUP_ACM)
                snprintf(w, sizeof(w), "ACM%s%s", a->called_status == 1 ? "/free" : "",
                         a->inband ? "/inband" : "");
            else if (a->isup_type == ISUP_CPG)
                snprintf(w, sizeof(w), "CPG/%u", a->event);
            else
                snprintf(w, sizeof(w), "%s", mgcf_isup_type_name(a->isup_type));
            break;
        case MGCF_ACT_CIRCUIT_RESET: snprintf(w, sizeof(w), "reset"); break;
        case MGCF_ACT_SIP_RESPONSE:
            snprintf(w, sizeof(w), "%d%s", a->status, a->sdp ? "+sdp" : "");
            if (a->cause)
                snprintf(w + strlen(w), sizeof(w) - strlen(w), "/%u", a->cause);
            break;
        case MGCF_ACT_SIP_INVITE: snprintf(w, sizeof(w), "INVITE"); break;
        case MGCF_ACT_SIP_ACK: snprintf(w, sizeof(w), "ACK"); break;
        case MGCF_ACT_SIP_CANCEL: snprintf(w, sizeof(w), "CANCEL/%u", a->cause); break;
        case MGCF_ACT_SIP_BYE: snprintf(w, sizeof(w), "BYE/%u", a->cause); break;
        case MGCF_ACT_SIP_REINVITE_ANSWER:
            snprintf(w, sizeof(w), "re%d%s", a->status, a->sdp ? "+sdp" : "");
            break;
        case MGCF_ACT_TIMER_START:
            snprintf(w, sizeof(w), "%s+", mgcf_call_timer_name(a->timer));
            break;
        case MGCF_ACT_TIMER_STOP:
            snprintf(w, sizeof(w), "%s-", mgcf_call_timer_name(a->timer));
            break;
        case MGCF_ACT_CHG_START: snprintf(w, sizeof(w), "chg-start"); break;
        case MGCF_ACT_CHG_EVENT: snprintf(w, sizeof(w), "chg-event/%d", a->status); break;
        case MGCF_ACT_CHG_STOP: snprintf(w, sizeof(w), "chg-stop"); break;
        case MGCF_ACT_FREE: snprintf(w, sizeof(w), "free"); break;
        }
        k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", k ? " " : "", w);
    }
    return line;
}

static struct mgcf_call_sm c;
static int rc;

/* One event; returns its actions as text (rc: the step's return) */
static const char *ev(struct mgcf_ev e)
{
    struct mgcf_acts acts = { 0 };
    rc = mgcf_call_step(&c, &e, &acts);
    ck_assert(!acts.overflow);
    return text(&acts);
}

static const char *simple(enum mgcf_ev_type t)
{
    return ev((struct mgcf_ev){ .type = t, .reason = -1 });
}

static const char *isup(uint8_t type)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = type, .reason = -1 });
}

static const char *acm(uint8_t called_status, bool inband)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = ISUP_ACM,
                                .called_status = called_status, .inband = inband,
                                .reason = -1 });
}

static const char *rel(uint8_t cause)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = ISUP_REL, .cause = cause,
                                .location = ISUP_LOC_LN, .reason = -1 });
}

static const char *timer(enum mgcf_timer t)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_TIMER, .timer = t, .reason = -1 });
}

static const char *sip(enum mgcf_ev_type t, int status, bool sdp)
{
    return ev((struct mgcf_ev){ .type = t, .status = status, .sdp = sdp, .reason = -1 });
}

#define STEP(expected, actions) ck_assert_str_eq((actions), (expected))

/* IMS -> PSTN up to the IAM */
static void out_to_iam(bool offer)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = offer;
    STEP(offer ? "add/SendOnly+sdp" : "add/SendOnly", simple(MGCF_EV_START));
    STEP("IAM T7+", simple(MGCF_EV_MG_ADDED));
}

/* IMS -> PSTN up to the confirmed dialog */
static void out_answered(void)
{
    out_to_iam(true);
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_ANM));
    STEP("", sip(MGCF_EV_SIP_ACK, 0, false));
}

/* ---- IMS -> PSTN ---- */

START_TEST(out_answered_ims_hangs_up)
{
    out_answered();
    STEP("chg-stop T7- T9- REL/16 T1+ T5+ subtract", simple(MGCF_EV_SIP_BYE));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
    ck_assert(c.freed);
    STEP("", simple(MGCF_EV_SIP_BYE));
    ck_assert_int_eq(rc, -EPROTO);      /* nothing reaches a freed call */
}
END_TEST

START_TEST(out_answered_pstn_hangs_up)
{
    out_answered();
    /* the RLC waits for the MGW to let the circuit go (Q.764 2.3.1) */
    STEP("T7- T9- BYE/16 chg-stop subtract", rel(16));
    STEP("RLC", simple(MGCF_EV_MG_SUBTRACTED));
    STEP("free", sip(MGCF_EV_SIP_BYE_DONE, 200, false));
}
END_TEST

static void in_invited(void);

static const char *sus_res(uint8_t type, bool network)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = type, .network = network,
                                .reason = -1 });
}

/* SUS/RES from the SIP-I peer (in an INFO): passed on to the PSTN and supervised */
static const char *peer_sus_res(uint8_t type, bool network)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = type, .network = network,
                                .sipi = true, .reason = -1 });
}

START_TEST(peer_suspend_resume)
{
    out_answered();
    STEP("SUS T6-SIP-I+", peer_sus_res(ISUP_SUS, true));
    STEP("SUS", peer_sus_res(ISUP_SUS, true));  /* again: passed on, the timer runs on */
    STEP("RES T6-SIP-I-", peer_sus_res(ISUP_RES, true));
    STEP("RES", peer_sus_res(ISUP_RES, true));  /* a RES without SUS: passed on */
    ck_assert_int_eq(rc, 0);
    STEP("", timer(MGCF_T6_SIPI));              /* resumed: out of place */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("SUS T2+", peer_sus_res(ISUP_SUS, false));   /* subscriber initiated: T2 */
    STEP("", timer(MGCF_T6_SIPI));              /* not the timer that runs */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("", timer(MGCF_T6));                   /* nor the PSTN's suspension */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("RES T2-", peer_sus_res(ISUP_RES, false));
    /* the PSTN's suspension and the peer's are apart */
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("SUS T2+", peer_sus_res(ISUP_SUS, false));
    STEP("T6-", sus_res(ISUP_RES, true));
    STEP("RES T2-", peer_sus_res(ISUP_RES, false));
}
END_TEST

START_TEST(peer_suspended_timers)
{
    /* network initiated, no RES: T6 over, released on both sides with cause 102 */
    out_answered();
    STEP("SUS T6-SIP-I+", peer_sus_res(ISUP_SUS, true));
    STEP("T7- T9- REL/102 T1+ T5+ BYE/102 chg-stop subtract", timer(MGCF_T6_SIPI));
    STEP("T1- T5-", isup(ISUP_RLC));
    /* subscriber initiated, no RES: T2 over, the same; incoming call */
    in_invited();
    STEP("ACK chg-start modify/SendReceive+sdp CON", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    STEP("SUS T2+", peer_sus_res(ISUP_SUS, false));
    STEP("REL/102 T1+ T5+ BYE/102 chg-stop subtract", timer(MGCF_T2));
    /* before the answer: out of place, nothing passed on */
    in_invited();
    STEP("", peer_sus_res(ISUP_SUS, true));
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

START_TEST(peer_suspended_then_released)
{
    out_answered();
    STEP("SUS T2+", peer_sus_res(ISUP_SUS, false));
    STEP("T2- T7- T9- BYE/16 chg-stop subtract", rel(16));
    STEP("", timer(MGCF_T2));                   /* stopped: a late expiry changes nothing */
    ck_assert_int_eq(rc, -EPROTO);
    out_answered();
    STEP("SUS T6-SIP-I+", peer_sus_res(ISUP_SUS, true));
    STEP("chg-stop T6-SIP-I- T7- T9- REL/31 T1+ T5+ subtract",
         ev((struct mgcf_ev){ .type = MGCF_EV_SIP_BYE, .reason = 31 }));
}
END_TEST

/* SUS/RES by the network: T6 (Q.764 2.5.2); by a subscriber: nothing here */
START_TEST(out_suspend_resume)
{
    out_answered();
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("", sus_res(ISUP_SUS, true));          /* again: T6 keeps running */
    ck_assert_int_eq(rc, 0);
    STEP("T6-", sus_res(ISUP_RES, true));
    STEP("", sus_res(ISUP_RES, true));          /* a RES without SUS */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("", sus_res(ISUP_SUS, false));
    ck_assert_int_eq(rc, 0);
    STEP("", timer(MGCF_T6));                   /* not suspended: out of place */
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

START_TEST(out_suspended_t6)
{
    out_answered();
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("T7- T9- REL/102 T1+ T5+ BYE/102 chg-stop subtract", timer(MGCF_T6));
    STEP("T1- T5-", isup(ISUP_RLC));
}
END_TEST

START_TEST(suspended_then_released)
{
    out_answered();
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("T6- T7- T9- BYE/16 chg-stop subtract", rel(16));
    out_answered();
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("chg-stop T6- T7- T9- REL/16 T1+ T5+ subtract", simple(MGCF_EV_SIP_BYE));
    in_invited();
    STEP("", sus_res(ISUP_SUS, true));          /* not answered: out of place */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("ACK chg-start modify/SendReceive+sdp CON", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    STEP("T6+", sus_res(ISUP_SUS, true));
    STEP("REL/102 T1+ T5+ BYE/102 chg-stop subtract", timer(MGCF_T6));
}
END_TEST

START_TEST(out_reason_cause_of_bye)
{
    out_answered();
    STEP("chg-stop T7- T9- REL/41 T1+ T5+ subtract",
         ev((struct mgcf_ev){ .type = MGCF_EV_SIP_BYE, .reason = 41 }));
}
END_TEST

START_TEST(out_busy)
{
    out_to_iam(true);
    STEP("T7- T9- 486/17 chg-event/486 subtract", rel(Q850_USER_BUSY));
    STEP("RLC free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_unallocated)
{
    out_to_iam(true);
    STEP("T7- T9- 404/1 chg-event/404 subtract", rel(Q850_UNALLOCATED));
}
END_TEST

START_TEST(out_no_answer_t9)
{
    out_to_iam(true);
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    STEP("T7- T9- REL/19 T1+ T5+ 480/19 chg-event/480 subtract", timer(MGCF_T9));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_no_acm_t7)
{
    out_to_iam(true);
    STEP("T7- T9- REL/102 T1+ T5+ 504/102 chg-event/504 subtract", timer(MGCF_T7));
    STEP("", timer(MGCF_T9));
    ck_assert_int_eq(rc, -EPROTO);      /* T9 does not run in that state */
}
END_TEST

START_TEST(out_cancel_while_ringing)
{
    out_to_iam(true);
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    STEP("487 chg-event/487 T7- T9- REL/31 T1+ T5+ subtract", simple(MGCF_EV_SIP_CANCEL));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_cancel_before_the_mgw_answered)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = true;
    STEP("add/SendOnly+sdp", simple(MGCF_EV_START));
    STEP("487 chg-event/487", simple(MGCF_EV_SIP_CANCEL));   /* no IAM was sent: no REL */
    STEP("subtract", simple(MGCF_EV_MG_ADDED));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_cancel_then_add_fails)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    STEP("add/SendOnly", simple(MGCF_EV_START));
    STEP("487 chg-event/487", simple(MGCF_EV_SIP_CANCEL));
    STEP("free", simple(MGCF_EV_MG_FAILED));
}
END_TEST

START_TEST(out_mgw_refuses)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    STEP("add/SendOnly", simple(MGCF_EV_START));
    STEP("503/47 chg-event/503 free", simple(MGCF_EV_MG_FAILED));
}
END_TEST

START_TEST(out_early_media)
{
    out_to_iam(true);
    STEP("T7- T9+ 180+sdp", acm(ISUP_BCI_SUBSCRIBER_FREE, true));   /* in-band: ringback */
    out_to_iam(true);
    STEP("T7- T9+ 183+sdp", acm(0, false));          /* no indication: 183 with the answer */
    STEP("180", ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = ISUP_CPG,
                                     .event = ISUP_EVENT_ALERTING, .reason = -1 }));
    STEP("181", ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = ISUP_CPG,
                                     .event = ISUP_EVENT_CFNR, .reason = -1 }));
    STEP("183+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_ISUP, .isup_type = ISUP_CPG,
                                         .event = ISUP_EVENT_INBAND, .reason = -1 }));
}
END_TEST

START_TEST(out_connect_without_acm)
{
    out_to_iam(true);
    STEP("", isup(ISUP_ANM));                         /* ANM before ACM: out of place */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_CON));
}
END_TEST

START_TEST(out_offer_in_the_2xx)
{
    out_to_iam(false);
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, true));   /* no answer to send early */
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_ANM));  /* our offer */
    STEP("modify/SendReceive+sdp", sip(MGCF_EV_SIP_ACK, 0, true));        /* its answer */
}
END_TEST

START_TEST(out_no_ack)
{
    out_to_iam(true);
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_CON));
    STEP("T7- T9- REL/102 T1+ T5+ BYE/102 chg-stop subtract",
         simple(MGCF_EV_SIP_ACK_TIMEOUT));
}
END_TEST

START_TEST(out_reinvite)
{
    out_answered();
    STEP("modify/SendReceive+sdp", simple(MGCF_EV_SIP_REINVITE));
    STEP("re491", simple(MGCF_EV_SIP_REINVITE));      /* one at a time */
    STEP("re200+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    STEP("modify/SendReceive+sdp", simple(MGCF_EV_SIP_REINVITE));
    STEP("re488", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = false }));
}
END_TEST

/* RFC 3311: an UPDATE's offer in the early dialog keeps the one-way mode, in the confirmed
 * one both ways; one offer at a time; none before the dialog or without the media */
START_TEST(out_update)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = true;
    STEP("add/SendOnly+sdp", simple(MGCF_EV_START));
    STEP("re500", simple(MGCF_EV_SIP_UPDATE));        /* no early dialog yet */
    STEP("IAM T7+", simple(MGCF_EV_MG_ADDED));
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    STEP("modify/SendOnly+sdp", simple(MGCF_EV_SIP_UPDATE));
    STEP("re491", simple(MGCF_EV_SIP_UPDATE));
    STEP("re200+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_ANM));
    STEP("", sip(MGCF_EV_SIP_ACK, 0, false));
    STEP("modify/SendReceive+sdp", simple(MGCF_EV_SIP_UPDATE));
    STEP("re488", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = false }));
}
END_TEST

/* Preconditions (RFC 3312): the IAM waits for an UPDATE saying the UE's segment is met */
static const char *update(bool met)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_SIP_UPDATE, .sdp = true, .met = met,
                                .reason = -1 });
}

static void out_precond_183(void)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = true;
    c.precond = true;
    STEP("add/SendOnly+sdp", simple(MGCF_EV_START));
    STEP("183+sdp Tprecond+", simple(MGCF_EV_MG_ADDED));
}

START_TEST(out_precondition_met_by_update)
{
    out_precond_183();
    STEP("modify/SendOnly+sdp", update(false));        /* progress, not there yet */
    STEP("re200+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    STEP("modify/SendOnly+sdp", update(true));
    STEP("re200+sdp Tprecond- IAM T7+",
         ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    ck_assert(!c.precond);
    STEP("", timer(MGCF_TPRECOND));                    /* a late expiry: nothing */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_ANM));
}
END_TEST

START_TEST(out_precondition_update_refused_by_the_mgw)
{
    out_precond_183();
    STEP("modify/SendOnly+sdp", update(true));
    STEP("re488", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = false }));
    ck_assert(c.precond);                               /* still waiting: no IAM */
    STEP("580 chg-event/580 subtract", timer(MGCF_TPRECOND));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_precondition_timeout)
{
    out_precond_183();
    STEP("580 chg-event/580 subtract", timer(MGCF_TPRECOND));
    ck_assert_int_eq(c.final_status, 580);
    STEP("", simple(MGCF_EV_SIP_CANCEL));               /* too late */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(out_precondition_timeout_while_updating)
{
    out_precond_183();
    STEP("modify/SendOnly+sdp", update(true));
    STEP("580 chg-event/580 subtract", timer(MGCF_TPRECOND));
    STEP("re200+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));        /* and no IAM */
}
END_TEST

START_TEST(out_precondition_cancelled)
{
    out_precond_183();
    STEP("487 chg-event/487 Tprecond- subtract", simple(MGCF_EV_SIP_CANCEL));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

/* A reliable 18x with the answer to our INVITE's offer (RFC 3262) */
static const char *reliable_18x(int status)
{
    return ev((struct mgcf_ev){ .type = MGCF_EV_SIP_PROGRESS, .status = status, .sdp = true,
                                .reliable = true, .reason = -1 });
}

START_TEST(in_update)
{
    in_invited();
    STEP("re500", simple(MGCF_EV_SIP_UPDATE));        /* no 18x: no early dialog */
    STEP("ACM/free", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("re491", simple(MGCF_EV_SIP_UPDATE));        /* our offer unanswered */
    STEP("modify/ReceiveOnly+sdp CPG/3", reliable_18x(183));
    ck_assert(!mgcf_call_offer_waits(&c));
    STEP("modify/ReceiveOnly+sdp", simple(MGCF_EV_SIP_UPDATE));
    STEP("re200+sdp", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
}
END_TEST

/* RFC 3311 5.2: an UPDATE offering while our INVITE's offer waits for the IMS side's answer
 * (no 18x with SDP yet, or one sent unreliably: a preview, not the answer) crosses it: 491,
 * no Modify; the 2xx answers it */
START_TEST(in_update_crossing_our_offer)
{
    in_invited();
    ck_assert(mgcf_call_offer_waits(&c));
    STEP("modify/ReceiveOnly+sdp ACM/inband", sip(MGCF_EV_SIP_PROGRESS, 183, true));
    ck_assert(mgcf_call_offer_waits(&c));             /* unreliable: no answer yet */
    STEP("re491", simple(MGCF_EV_SIP_UPDATE));
    ck_assert(!c.reinvite);
    STEP("ACK chg-start modify/SendReceive+sdp ANM", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    ck_assert(!mgcf_call_offer_waits(&c));
    STEP("modify/SendReceive+sdp", simple(MGCF_EV_SIP_UPDATE));
}
END_TEST

START_TEST(out_dual_seizure_lost)
{
    out_to_iam(true);
    ck_assert(mgcf_call_seizing(&c));
    STEP("T7- readd", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    STEP("IAM T7+", simple(MGCF_EV_MG_ADDED));      /* again, on the other circuit */
    STEP("T7- T9+ 180", acm(ISUP_BCI_SUBSCRIBER_FREE, false));
    ck_assert(!mgcf_call_seizing(&c));              /* past the seizure */
    STEP("", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

START_TEST(out_dual_seizure_no_other_circuit)
{
    out_to_iam(true);
    STEP("T7- 503/34 chg-event/503 subtract", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF }));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));   /* no REL: the circuit is the other's */
}
END_TEST

/* The PSTN's IAM takes the circuit a call waiting for its preconditions chose (no IAM
 * sent: the PSTN saw it idle): the call's TDM termination moves, it waits on, the IAM goes
 * on the new circuit once they are met */
START_TEST(out_precondition_circuit_taken)
{
    out_precond_183();
    ck_assert(mgcf_call_unsignalled(&c));
    ck_assert(!mgcf_call_seizing(&c));
    STEP("readd", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    STEP("", simple(MGCF_EV_MG_ADDED));             /* moved; still no IAM */
    ck_assert(c.precond);
    STEP("modify/SendOnly+sdp", update(true));
    STEP("re200+sdp Tprecond- IAM T7+",
         ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    ck_assert(!mgcf_call_unsignalled(&c));          /* signalled now: a dual seizure next */
    ck_assert(mgcf_call_seizing(&c));
    in_invited();                                   /* an incoming call never gives way so */
    ck_assert(!mgcf_call_unsignalled(&c));
}
END_TEST

/* ... the same, the UPDATE meeting them while the termination moves: the IAM waits for it */
START_TEST(out_precondition_met_while_moving)
{
    out_precond_183();
    STEP("modify/SendOnly+sdp", update(true));
    STEP("readd", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    STEP("re200+sdp Tprecond-", ev((struct mgcf_ev){ .type = MGCF_EV_MG_MODIFIED, .ok = true }));
    STEP("IAM T7+", simple(MGCF_EV_MG_ADDED));
}
END_TEST

/* ... and no other circuit free: 503 with cause 34, the context goes, no REL (no IAM went) */
START_TEST(out_precondition_circuit_taken_none_free)
{
    out_precond_183();
    STEP("Tprecond- 503/34 chg-event/503 subtract",
         ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF }));
    ck_assert(!mgcf_call_unsignalled(&c));          /* released: it holds no circuit */
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

/* The circuit taken while the MGW's Add is outstanding: the move follows the Add, then the
 * IAM (or the 183 of preconditions) as usual */
START_TEST(out_circuit_taken_while_adding)
{
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = true;
    STEP("add/SendOnly+sdp", simple(MGCF_EV_START));
    ck_assert(mgcf_call_unsignalled(&c));
    STEP("", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    STEP("readd", simple(MGCF_EV_MG_ADDED));
    STEP("", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));  /* again */
    STEP("readd", simple(MGCF_EV_MG_ADDED));
    STEP("IAM T7+", simple(MGCF_EV_MG_ADDED));
    mgcf_call_init(&c, MGCF_DIR_OUT);
    c.offer = true;
    c.precond = true;
    STEP("add/SendOnly+sdp", simple(MGCF_EV_START));
    STEP("", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF, .ok = true }));
    STEP("readd", simple(MGCF_EV_MG_ADDED));
    STEP("183+sdp Tprecond+", simple(MGCF_EV_MG_ADDED));
    mgcf_call_init(&c, MGCF_DIR_OUT);               /* none free: released once added */
    STEP("add/SendOnly", simple(MGCF_EV_START));
    STEP("503/34 chg-event/503", ev((struct mgcf_ev){ .type = MGCF_EV_BACKOFF }));
    STEP("subtract", simple(MGCF_EV_MG_ADDED));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

/* RFC 3262 3: no PRACK for the reliable 180 within 64*T1 after the PSTN answered: the 200
 * held back for the PRACK never left, the dialog is early: 504 (cause 102) and no BYE (RFC
 * 3261 15); the charging session that 200 opened closes; the PSTN gets REL 102 */
START_TEST(out_no_prack_answered)
{
    out_to_iam(true);
    STEP("T7- T9+ 180+sdp", acm(ISUP_BCI_SUBSCRIBER_FREE, true));
    STEP("T7- T9- modify/SendReceive 200+sdp chg-start", isup(ISUP_ANM));
    STEP("504/102 chg-stop T7- T9- REL/102 T1+ T5+ subtract",
         simple(MGCF_EV_SIP_PRACK_TIMEOUT));
    ck_assert_int_eq(c.final_status, 504);
    STEP("", simple(MGCF_EV_SIP_PRACK_TIMEOUT));     /* once only */
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

/* ---- the circuit ---- */

START_TEST(rel_collision)
{
    out_answered();
    STEP("chg-stop T7- T9- REL/16 T1+ T5+ subtract", simple(MGCF_EV_SIP_BYE));
    STEP("T1- T5- RLC", rel(16));                   /* both released: RLC, done (2.3.1 e) */
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(rel_repeated_then_reset)
{
    out_answered();
    STEP("chg-stop T7- T9- REL/16 T1+ T5+ subtract", simple(MGCF_EV_SIP_BYE));
    STEP("REL/16 T1+", timer(MGCF_T1));
    STEP("REL/16 T1+", timer(MGCF_T1));
    STEP("T1- reset", timer(MGCF_T5));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(circuit_reset_during_call)
{
    out_answered();
    STEP("T7- T9- T1- T5- T6- T2- T6-SIP-I- T35- Tdigits- Tprecond- BYE/41 chg-stop subtract",
         ev((struct mgcf_ev){ .type = MGCF_EV_RESET, .cause = Q850_TEMPORARY_FAILURE }));
    STEP("", sip(MGCF_EV_SIP_BYE_DONE, 200, false));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(mgw_lost_during_call)
{
    out_answered();
    STEP("T7- T9- REL/41 T1+ T5+ BYE/41 chg-stop", simple(MGCF_EV_MG_LOST));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", sip(MGCF_EV_SIP_BYE_DONE, 200, false));
}
END_TEST

/* ---- PSTN -> IMS ---- */

static void in_invited(void)
{
    mgcf_call_init(&c, MGCF_DIR_IN);
    STEP("add/ReceiveOnly", simple(MGCF_EV_START));
    STEP("INVITE", simple(MGCF_EV_MG_ADDED));
}

START_TEST(in_answered_pstn_hangs_up)
{
    in_invited();
    STEP("ACM/free", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("ACK chg-start modify/SendReceive+sdp ANM", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    STEP("ACK", sip(MGCF_EV_SIP_SUCCESS, 200, true));  /* a 2xx again: ACK again */
    STEP("BYE/16 chg-stop subtract", rel(16));
    STEP("RLC", simple(MGCF_EV_MG_SUBTRACTED));
    STEP("free", sip(MGCF_EV_SIP_BYE_DONE, 200, false));
}
END_TEST

START_TEST(in_answered_ims_hangs_up)
{
    in_invited();
    STEP("ACM/free", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("ACK chg-start modify/SendReceive+sdp ANM", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    STEP("chg-stop REL/16 T1+ T5+ subtract", simple(MGCF_EV_SIP_BYE));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
}
END_TEST

START_TEST(in_progress_messages)
{
    in_invited();
    /* 183 with SDP: ACM "no indication", in-band; then 180: CPG alerting */
    STEP("modify/ReceiveOnly+sdp ACM/inband", sip(MGCF_EV_SIP_PROGRESS, 183, true));
    STEP("CPG/1", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("", sip(MGCF_EV_SIP_PROGRESS, 180, false));     /* told already */
    STEP("ACK chg-start modify/SendReceive ANM", sip(MGCF_EV_SIP_SUCCESS, 200, false));
}
END_TEST

START_TEST(in_answer_without_progress)
{
    in_invited();
    STEP("ACK chg-start modify/SendReceive+sdp CON", sip(MGCF_EV_SIP_SUCCESS, 200, true));
}
END_TEST

START_TEST(in_failure)
{
    in_invited();
    STEP("chg-event/486 REL/17 T1+ T5+ subtract", sip(MGCF_EV_SIP_FAILURE, 486, false));
    STEP("T1- T5-", isup(ISUP_RLC));
    STEP("free", simple(MGCF_EV_MG_SUBTRACTED));
    in_invited();
    STEP("chg-event/404 REL/1 T1+ T5+ subtract", sip(MGCF_EV_SIP_FAILURE, 404, false));
    in_invited();                                 /* a Q.850 Reason wins */
    STEP("chg-event/480 REL/18 T1+ T5+ subtract",
         ev((struct mgcf_ev){ .type = MGCF_EV_SIP_FAILURE, .status = 480, .reason = 18 }));
}
END_TEST

START_TEST(in_pstn_gives_up_while_ringing)
{
    in_invited();
    STEP("ACM/free", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("CANCEL/16 subtract", rel(16));
    STEP("RLC", simple(MGCF_EV_MG_SUBTRACTED));     /* the RLC once the MGW let go */
    STEP("chg-event/487 free", sip(MGCF_EV_SIP_FAILURE, 487, false));
}
END_TEST

START_TEST(in_answer_crosses_cancel)
{
    in_invited();
    STEP("ACM/free", sip(MGCF_EV_SIP_PROGRESS, 180, false));
    STEP("CANCEL/31 subtract", rel(31));
    STEP("ACK BYE/31", sip(MGCF_EV_SIP_SUCCESS, 200, true));
    STEP("RLC", simple(MGCF_EV_MG_SUBTRACTED));
    STEP("free", sip(MGCF_EV_SIP_BYE_DONE, 200, false));
}
END_TEST

START_TEST(in_refused_before_media)
{
    mgcf_call_init(&c, MGCF_DIR_IN);
    STEP("REL/28 T1+ T5+",
         ev((struct mgcf_ev){ .type = MGCF_EV_RELEASE, .cause = 28 }));
    STEP("T1- T5- free", isup(ISUP_RLC));
}
END_TEST

START_TEST(in_out_of_place)
{
    in_invited();
    STEP("", isup(ISUP_ACM));                     /* the PSTN does not send ACM here */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("", simple(MGCF_EV_SIP_CANCEL));         /* nor does the IMS CANCEL our INVITE */
    ck_assert_int_eq(rc, -EPROTO);
    STEP("", isup(ISUP_RLC));                     /* no REL was sent */
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(mgcf_call_ev_name(MGCF_EV_RELEASE), "release");
    ck_assert_str_eq(mgcf_call_act_name(MGCF_ACT_FREE), "free");
    ck_assert_str_eq(mgcf_call_timer_name(MGCF_T5), "T5");
    ck_assert_str_eq(mgcf_call_timer_name(MGCF_TPRECOND), "Tprecond");
    char buf[96];
    mgcf_call_init(&c, MGCF_DIR_OUT);
    ck_assert_str_eq(mgcf_call_state_text(&c, buf, sizeof(buf)),
                     "isup=IDLE sip=INVITED media=NONE");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("call");
    TCase *tc = tcase_create("call");
    tcase_add_test(tc, out_answered_ims_hangs_up);
    tcase_add_test(tc, out_answered_pstn_hangs_up);
    tcase_add_test(tc, out_reason_cause_of_bye);
    tcase_add_test(tc, out_busy);
    tcase_add_test(tc, out_unallocated);
    tcase_add_test(tc, out_no_answer_t9);
    tcase_add_test(tc, out_no_acm_t7);
    tcase_add_test(tc, out_cancel_while_ringing);
    tcase_add_test(tc, out_cancel_before_the_mgw_answered);
    tcase_add_test(tc, out_cancel_then_add_fails);
    tcase_add_test(tc, out_mgw_refuses);
    tcase_add_test(tc, out_early_media);
    tcase_add_test(tc, out_connect_without_acm);
    tcase_add_test(tc, out_offer_in_the_2xx);
    tcase_add_test(tc, out_no_ack);
    tcase_add_test(tc, out_reinvite);
    tcase_add_test(tc, out_update);
    tcase_add_test(tc, out_precondition_met_by_update);
    tcase_add_test(tc, out_precondition_update_refused_by_the_mgw);
    tcase_add_test(tc, out_precondition_timeout);
    tcase_add_test(tc, out_precondition_timeout_while_updating);
    tcase_add_test(tc, out_precondition_cancelled);
    tcase_add_test(tc, in_update);
    tcase_add_test(tc, in_update_crossing_our_offer);
    tcase_add_test(tc, out_dual_seizure_lost);
    tcase_add_test(tc, out_dual_seizure_no_other_circuit);
    tcase_add_test(tc, out_no_prack_answered);
    tcase_add_test(tc, out_precondition_circuit_taken);
    tcase_add_test(tc, out_precondition_met_while_moving);
    tcase_add_test(tc, out_precondition_circuit_taken_none_free);
    tcase_add_test(tc, out_circuit_taken_while_adding);
    tcase_add_test(tc, rel_collision);
    tcase_add_test(tc, rel_repeated_then_reset);
    tcase_add_test(tc, circuit_reset_during_call);
    tcase_add_test(tc, mgw_lost_during_call);
    tcase_add_test(tc, in_answered_pstn_hangs_up);
    tcase_add_test(tc, in_answered_ims_hangs_up);
    tcase_add_test(tc, in_progress_messages);
    tcase_add_test(tc, in_answer_without_progress);
    tcase_add_test(tc, in_failure);
    tcase_add_test(tc, in_pstn_gives_up_while_ringing);
    tcase_add_test(tc, in_answer_crosses_cancel);
    tcase_add_test(tc, in_refused_before_media);
    tcase_add_test(tc, in_out_of_place);
    tcase_add_test(tc, names);
    tcase_add_test(tc, out_suspend_resume);
    tcase_add_test(tc, out_suspended_t6);
    tcase_add_test(tc, suspended_then_released);
    tcase_add_test(tc, peer_suspend_resume);
    tcase_add_test(tc, peer_suspended_timers);
    tcase_add_test(tc, peer_suspended_then_released);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
