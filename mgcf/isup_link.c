/*
 * isup_link.c - the MGCF's ISUP: one M3UA association (ASP, over TCP: m3ua_link.c) to the
 * PSTN's signalling gateway, the ISUP messages of calls and the supervision of circuits
 * (ITU-T Q.764 2.8 blocking, 2.9.3 unexpected messages, 2.10 dual seizure and reset)
 *
 * Trust: M3UA is taken only from the configured peer (the link connects there and nowhere
 * else); within it, only ISUP between our point code and a configured trunk's is used.
 *
 * When the association becomes active every circuit is reset (GRS per group of 32): calls
 * that lived on circuits across a loss of the association are released first, since the
 * peer forgets them too. Reset, blocking and unblocking messages not yet acknowledged are
 * sent again every mgcf.t_maint_ms (Q.764 T16, T22, T12, T14).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "interwork_tables.h"
#include "log.h"
#include "m3ua_link.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mgcf_isup_link {
    struct mgcf *m;
    struct mgcf_m3ua_link *link;
    enum mgcf_m3ua_state state;
    su_timer_t *maint;
};

static struct ims_counter *m_rx, *m_tx, *m_bad, *m_dual, *m_unsignalled, *m_overload;

static void metrics(void)
{
    m_rx = ims_counter_new("mgcf_isup_messages_total", "ISUP messages", "direction=\"rx\"");
    m_tx = ims_counter_new("mgcf_isup_messages_total", "ISUP messages", "direction=\"tx\"");
    m_bad = ims_counter_new("mgcf_isup_refused_total", "ISUP messages refused (malformed, "
                            "unknown type, foreign point codes or CIC)", NULL);
    m_dual = ims_counter_new("mgcf_dual_seizures_total", "dual seizures (Q.764 2.10.1.4)",
                             NULL);
    m_unsignalled = ims_counter_new("mgcf_iam_on_unsignalled_circuit_total", "IAMs on a "
                                    "circuit an outgoing call had chosen but sent no IAM on "
                                    "yet (the IAM wins; the call moves or fails)", NULL);
    m_overload = ims_counter_new("mgcf_iam_overload_refused_total", "IAMs released with cause "
                                 "42 by the admission control (overload)", NULL);
}

/* ---- sending ---- */

static int send_msg(struct mgcf *m, const struct mgcf_trunk *t, struct mgcf_isup_msg *msg,
                    const char *detail)
{
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    int n = mgcf_isup_encode(msg, buf, sizeof(buf));
    if (n < 0) {
        ims_err("mgcf: ISUP %s cic=%u does not encode: %s (a bug)",
                mgcf_isup_type_name(msg->type), msg->cic, strerror(-n));
        return n;
    }
    int rc = m->isup ? mgcf_m3ua_link_send(m->isup->link, m->conf.opc, t->dpc, M3UA_SI_ISUP,
                                           m->conf.ni, 0, (uint8_t)(msg->cic & 0x0f), buf,
                                           (size_t)n)
                     : -ENOTCONN;
    if (rc < 0) {
        ims_warn("mgcf: ISUP %s cic=%u to %u not sent: %s", mgcf_isup_type_name(msg->type),
                 msg->cic, t->dpc, rc == -ENOTCONN ? "the association is not active"
                                                   : strerror(-rc));
        return rc;
    }
    ims_counter_inc(m_tx);
    if (ims_log_enabled(IMS_LOG_DEBUG) || msg->type == ISUP_GRS || msg->type == ISUP_RSC ||
        msg->type == ISUP_BLO || msg->type == ISUP_UBL)
        ims_info("mgcf: tx ISUP %s %s/%u%s%s", mgcf_isup_type_name(msg->type), t->name,
                 msg->cic, detail ? " " : "", detail ? detail : "");
    return 0;
}

static void send_simple(struct mgcf *m, const struct mgcf_trunk *t, uint8_t type, uint16_t cic)
{
    struct mgcf_isup_msg msg;
    mgcf_isup_init(&msg, type, cic);
    send_msg(m, t, &msg, NULL);
}

static void send_rel(struct mgcf *m, const struct mgcf_trunk *t, uint16_t cic, uint8_t cause,
                     uint8_t location)
{
    struct mgcf_isup_msg msg;
    mgcf_isup_init(&msg, ISUP_REL, cic);
    msg.cause.coding = ISUP_CODING_ITU;
    msg.cause.location = location;
    msg.cause.value = cause;
    mgcf_isup_set(&msg, ISUP_PAR_CAUSE);
    send_msg(m, t, &msg, NULL);
}

static void backward_indicators(struct mgcf_isup_msg *msg, uint8_t called_status)
{
    msg->bci.charge = ISUP_BCI_CHARGE;
    msg->bci.called_status = called_status;
    msg->bci.called_category = ISUP_BCI_ORDINARY;
    msg->bci.interworking = 1;              /* interworking encountered */
    msg->bci.isup_all_the_way = 0;
    mgcf_isup_set(msg, ISUP_PAR_BCI);
}

void mgcf_isup_send_call(struct mgcf_call *c, const struct mgcf_act *a)
{
    struct mgcf_isup_msg msg;
    char detail[96] = "";
    if (!c->trunk)
        return;
    if (c->sipi_rx_fresh && c->sipi_rx.type == a->isup_type) {
        msg = c->sipi_rx;               /* SIP-I: the peer's own message (Q.1912.5 C) */
        msg.cic = c->cic;
        c->sipi_rx_fresh = false;
        if (msg.type == ISUP_REL)
            snprintf(detail, sizeof(detail), "cause=%u", msg.cause.value);
        if (send_msg(c->m, c->trunk, &msg, detail[0] ? detail : NULL) == 0)
            mgcf_call_log(c, IMS_LOG_INFO, "tx ISUP %s%s%s (from SIP-I)",
                          mgcf_isup_type_name(msg.type), detail[0] ? " " : "", detail);
        return;
    }
    if (a->isup_type == ISUP_IAM) {
        msg = c->iam;
        msg.cic = c->cic;
        snprintf(detail, sizeof(detail), "called=%s calling=%s", msg.called.digits,
                 msg.calling.digits[0] ? msg.calling.digits : "-");
    } else {
        mgcf_isup_init(&msg, a->isup_type, c->cic);
    }
    switch (a->isup_type) {
    case ISUP_ACM:
    case ISUP_CON:
        backward_indicators(&msg, a->called_status);
        break;
    case ISUP_CPG:
        msg.event = a->event;
        mgcf_isup_set(&msg, ISUP_PAR_EVENT);
        break;
    case ISUP_REL:
        msg.cause.coding = ISUP_CODING_ITU;
        msg.cause.location = a->location;
        msg.cause.value = a->cause;
        mgcf_isup_set(&msg, ISUP_PAR_CAUSE);
        snprintf(detail, sizeof(detail), "cause=%u", a->cause);
        break;
    default:
        break;
    }
    if (a->inband && (a->isup_type == ISUP_ACM || a->isup_type == ISUP_CPG)) {
        msg.obci = ISUP_OBCI_INBAND;
        mgcf_isup_set(&msg, ISUP_PAR_OBCI);
    }
    if (send_msg(c->m, c->trunk, &msg, detail[0] ? detail : NULL) == 0)
        mgcf_call_log(c, IMS_LOG_INFO, "tx ISUP %s%s%s", mgcf_isup_type_name(msg.type),
                      detail[0] ? " " : "", detail);
}

/* ---- supervision ---- */

int mgcf_isup_reset_circuit(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc)
{
    if (cc->call) {
        struct mgcf_call *c = cc->call;
        cc->call = NULL;
        c->circuit = NULL;
        mgcf_call_simple(c, MGCF_EV_RESET, Q850_TEMPORARY_FAILURE);
    }
    cc->state = MGCF_CIC_RESET;
    cc->rsc_pending = true;
    send_simple(m, t, ISUP_RSC, cc->cic);
    return 0;
}

int mgcf_isup_block(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc, bool block)
{
    if (block) {
        cc->local_blocked = true;
        cc->blo_acked = false;
        cc->ubl_pending = false;
        send_simple(m, t, ISUP_BLO, cc->cic);
    } else {
        if (!cc->local_blocked)
            return -EALREADY;
        cc->ubl_pending = true;
        send_simple(m, t, ISUP_UBL, cc->cic);
    }
    return 0;
}

static void send_grs(struct mgcf *m, const struct mgcf_trunk *t, uint16_t first, uint8_t range)
{
    if (range == 0) {
        send_simple(m, t, ISUP_RSC, first);
        return;
    }
    struct mgcf_isup_msg msg;
    char detail[32];
    mgcf_isup_init(&msg, ISUP_GRS, first);
    msg.range.range = range;
    mgcf_isup_set(&msg, ISUP_PAR_RANGE);
    snprintf(detail, sizeof(detail), "circuits %u-%u", first, first + range);
    send_msg(m, t, &msg, detail);
}

/* Calls on circuits of @t are released: the reset makes the peer forget them */
static void drop_calls(struct mgcf_trunk *t, uint16_t first, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct mgcf_circuit *cc = mgcf_trunk_circuit(t, (uint16_t)(first + i));
        if (cc && cc->call) {
            struct mgcf_call *c = cc->call;
            cc->call = NULL;
            c->circuit = NULL;
            mgcf_call_simple(c, MGCF_EV_RESET, Q850_TEMPORARY_FAILURE);
        }
        if (cc) {
            cc->state = MGCF_CIC_RESET;
            cc->rsc_pending = false;
        }
    }
}

int mgcf_isup_reset_trunk(struct mgcf *m, struct mgcf_trunk *t)
{
    struct mgcf_reset_group groups[MGCF_TRUNK_CIRCUITS / MGCF_GROUP_MAX + 1];
    int n = mgcf_trunk_reset_plan(t, groups, (int)(sizeof(groups) / sizeof(groups[0])));
    for (int i = 0; i < n; i++) {
        drop_calls(t, groups[i].first, groups[i].range + 1u);
        send_grs(m, t, groups[i].first, groups[i].range);
    }
    return n < 0 ? n : 0;
}

/* Resets, blocks and unblocks not yet acknowledged go again */
static void on_maint(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
    struct mgcf *m = (struct mgcf *)arg;
    (void)magic;
    (void)timer;
    if (!mgcf_isup_active(m))
        return;
    for (size_t i = 0; i < m->n_trunks; i++) {
        struct mgcf_trunk *t = &m->trunks[i];
        struct mgcf_reset_group g[MGCF_TRUNK_CIRCUITS / MGCF_GROUP_MAX + 1];
        int n = mgcf_trunk_reset_plan(t, g, (int)(sizeof(g) / sizeof(g[0])));
        for (int k = 0; k < n; k++) {
            struct mgcf_circuit *cc = mgcf_trunk_circuit(t, g[k].first);
            if (cc && cc->state == MGCF_CIC_RESET && !cc->rsc_pending)
                send_grs(m, t, g[k].first, g[k].range);   /* no GRA yet */
        }
        for (size_t j = 0; j < mgcf_trunk_size(t); j++) {
            struct mgcf_circuit *cc = &t->circuits[j];
            if (cc->rsc_pending)
                send_simple(m, t, ISUP_RSC, cc->cic);
            if (cc->local_blocked && !cc->blo_acked && !cc->ubl_pending)
                send_simple(m, t, ISUP_BLO, cc->cic);
            if (cc->ubl_pending)
                send_simple(m, t, ISUP_UBL, cc->cic);
        }
    }
}

/* ---- receiving ---- */

/* The called number of incoming call @c is complete: the INVITE follows (or the release) */
static void iam_complete(struct mgcf_call *c)
{
    char why[160];
    struct mgcf_iw_origin origin;
    int cause = mgcf_iw_invite_from_iam(&c->iam, &c->m->iw, &origin, why, sizeof(why));
    c->origin = origin;
    if (cause) {
        mgcf_call_log(c, IMS_LOG_INFO, "released (cause %d): %s", cause, why);
        mgcf_call_simple(c, MGCF_EV_RELEASE, (uint8_t)cause);
    } else if (!mgcf_mgw_ready(c->m)) {
        mgcf_call_log(c, IMS_LOG_WARN, "released: no media gateway (%s)", mgcf_mgw_state(c->m));
        mgcf_call_simple(c, MGCF_EV_RELEASE, Q850_TEMPORARY_FAILURE);
    } else {
        mgcf_call_simple(c, MGCF_EV_START, 0);
    }
}

/* ---- overlap (TS 29.163 7.2.3.2.1, Q.764 2.1.2): the called number of IAM and SAMs ---- */

static void overlap_stop(struct mgcf_call *c)
{
    c->collecting = false;
    mgcf_call_timer(c, MGCF_T35, false);
    mgcf_call_timer(c, MGCF_TDIGITS, false);
}

/* The number collected so far decides: the INVITE now, or a SAM awaited (T35 or Tdigits) */
static void overlap_next(struct mgcf_call *c)
{
    bool was = c->collecting;
    enum mgcf_overlap_verdict v = mgcf_overlap_judge(&c->m->conf.overlap, c->iam.called.digits,
                                                     c->st);
    overlap_stop(c);
    if (v == MGCF_OVL_COMPLETE) {
        if (was)
            mgcf_call_log(c, IMS_LOG_INFO, "called number %s complete (%s)",
                          c->iam.called.digits, c->st ? "ST" : "overlap_max_digits");
        iam_complete(c);
        return;
    }
    c->collecting = true;
    mgcf_call_timer(c, v == MGCF_OVL_SHORT ? MGCF_T35 : MGCF_TDIGITS, true);
    mgcf_call_log(c, IMS_LOG_INFO, "called number '%s' incomplete (%s): a SAM awaited (%s)",
                  c->iam.called.digits, v == MGCF_OVL_SHORT ? "fewer than overlap_min_digits"
                                                            : "no ST",
                  mgcf_call_timer_name(v == MGCF_OVL_SHORT ? MGCF_T35 : MGCF_TDIGITS));
}

/*
 * The IAM's called number, when overlap is on: its digits start the collection (an ST
 * at their end noted in c->st). Digits the collection cannot take (codes 11 to 14, too
 * many) are left as received: the interworking answers them as for an IAM en bloc.
 */
static void overlap_start(struct mgcf_call *c)
{
    char digits[sizeof(c->iam.called.digits)] = "";
    c->st = false;
    if (!c->m->conf.overlap.enabled) {
        iam_complete(c);
        return;
    }
    if (c->iam.called.digits[0] &&
        mgcf_overlap_append(digits, sizeof(digits), c->iam.called.digits, &c->st) < 0) {
        iam_complete(c);
        return;
    }
    memcpy(c->iam.called.digits, digits, sizeof(digits));
    overlap_next(c);
}

/* A SAM: its digits added to the call's called number */
static void on_sam(struct mgcf_call *c, const struct mgcf_isup_msg *msg)
{
    if (c->sm.dir != MGCF_DIR_IN || !c->collecting) {
        mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP SAM %s: the call's number is not being "
                      "collected: ignored", msg->subsequent);
        return;
    }
    int rc = mgcf_overlap_append(c->iam.called.digits, sizeof(c->iam.called.digits),
                                 msg->subsequent, &c->st);
    mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP SAM %s: called number %s%s", msg->subsequent,
                  c->iam.called.digits, c->st ? " (ST)" : "");
    if (rc < 0) {
        overlap_stop(c);
        mgcf_call_log(c, IMS_LOG_INFO, "released (cause 28): %s", rc == -E2BIG ?
                      "the called number grew past its longest" :
                      "the SAM's address signals are not digits (or follow an ST)");
        mgcf_call_simple(c, MGCF_EV_RELEASE, Q850_INVALID_NUMBER_FORMAT);
        return;
    }
    overlap_next(c);
}

void mgcf_isup_overlap_timeout(struct mgcf_call *c, enum mgcf_timer t)
{
    if (!c->collecting || c->sm.isup != MGCF_I_SETUP)
        return;                         /* the call has moved on (released, reset) */
    overlap_stop(c);
    if (t == MGCF_T35) {
        mgcf_call_log(c, IMS_LOG_INFO, "T35 expired, the called number '%s' incomplete: "
                      "released (cause 28, address incomplete)", c->iam.called.digits);
        mgcf_call_simple(c, MGCF_EV_RELEASE, Q850_INVALID_NUMBER_FORMAT);
        return;
    }
    mgcf_call_log(c, IMS_LOG_INFO, "no SAM within the digit timer: the called number %s goes "
                  "as it is", c->iam.called.digits);
    iam_complete(c);
}

static void on_iam_ok(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc,
                      const struct mgcf_isup_msg *msg)
{
    /* new work from outside the core, as a UE's INVITE: the node's admission control */
    const char *busy = ims_admission_check(ims_sip_admission(m->d->sip), IMS_LOAD_NORMAL,
                                           NULL, NULL);
    if (busy) {
        ims_counter_inc(m_overload);
        ims_warn("mgcf: IAM %s/%u refused (cause 42): %s", t->name, msg->cic, busy);
        send_rel(m, t, msg->cic, Q850_SWITCHING_CONGESTION, MGCF_IW_LOCATION);
        return;
    }
    struct mgcf_call *c = mgcf_call_new(m, MGCF_DIR_IN);
    if (!c) {
        ims_warn("mgcf: IAM %s/%u refused: as many calls as mgcf.max_calls already",
                 t->name, msg->cic);
        send_rel(m, t, msg->cic, Q850_SWITCHING_CONGESTION, MGCF_IW_LOCATION);
        return;
    }
    c->iam = *msg;
    c->sip_i = m->icscf_sip_i;          /* the INVITE goes to the I-CSCF */
    mgcf_call_seize(c, t, cc);
    mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP IAM called=%s calling=%s (presentation %u, "
                  "screening %u, category %u)", msg->called.digits,
                  mgcf_isup_has(msg, ISUP_PAR_CALLING) ? msg->calling.digits : "-",
                  msg->calling.apri, msg->calling.si, msg->cpc);
    overlap_start(c);
}

/*
 * The PSTN's IAM took @cc from our outgoing call (a dual seizure it won, or a circuit we
 * chose but sent no IAM on: @unsignalled): the call goes on another circuit of @t, its TDM
 * termination with it, or fails with cause 34. @cc is left idle for the IAM.
 */
static void back_off(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc,
                     bool unsignalled)
{
    struct mgcf_call *c = cc->call;
    cc->call = NULL;
    cc->state = MGCF_CIC_IDLE;
    c->circuit = NULL;
    if (!c->sm.move_when_added)         /* else the context still holds the one before */
        snprintf(c->old_tdm, sizeof(c->old_tdm), "%s", c->tdm);
    struct mgcf_circuit *other = mgcf_trunk_select(t, m->conf.opc);
    if (other == cc)
        other = NULL;
    if (other)
        mgcf_call_seize(c, t, other);
    if (unsignalled)
        mgcf_call_log(c, IMS_LOG_INFO, "%s/%u taken by the PSTN's IAM before our IAM went: %s",
                      t->name, cc->cic, other ? "the call moves to this circuit"
                                              : "no other circuit free, released (cause 34)");
    else
        mgcf_call_log(c, IMS_LOG_INFO, "dual seizure of %s/%u lost: %s", t->name, cc->cic,
                      other ? "the call moves to this circuit" : "no other circuit, released");
    struct mgcf_ev ev = { .type = MGCF_EV_BACKOFF, .ok = other != NULL, .reason = -1 };
    mgcf_call_event(c, &ev);
}

/* What the PSTN knows of the call on @cc */
static enum mgcf_cic_use use_of(const struct mgcf_circuit *cc)
{
    const struct mgcf_call *ours = cc->call;
    if (!ours)
        return MGCF_USE_CALL;
    if (mgcf_call_seizing(&ours->sm))
        return MGCF_USE_SEIZING;
    return mgcf_call_unsignalled(&ours->sm) ? MGCF_USE_UNSIGNALLED : MGCF_USE_CALL;
}

static void on_iam(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc,
                   const struct mgcf_isup_msg *msg)
{
    enum mgcf_seize s = mgcf_circuit_incoming(cc, m->conf.opc, t->dpc, use_of(cc));
    switch (s) {
    case MGCF_SEIZE_OK:
        on_iam_ok(m, t, cc, msg);
        return;
    case MGCF_SEIZE_DUAL_KEEP:
        ims_counter_inc(m_dual);
        ims_info("mgcf: dual seizure of %s/%u: this exchange controls it, the IAM is ignored "
                 "(Q.764 2.10.1.4)", t->name, msg->cic);
        return;
    case MGCF_SEIZE_DUAL_YIELD:
    case MGCF_SEIZE_MOVE:
        ims_counter_inc(s == MGCF_SEIZE_MOVE ? m_unsignalled : m_dual);
        back_off(m, t, cc, s == MGCF_SEIZE_MOVE);
        if (mgcf_circuit_incoming(cc, m->conf.opc, t->dpc, MGCF_USE_CALL) == MGCF_SEIZE_OK)
            on_iam_ok(m, t, cc, msg);
        return;
    case MGCF_SEIZE_BLOCKED:
        ims_info("mgcf: IAM on %s/%u, which is blocked here: ignored, BLO sent again", t->name,
                 msg->cic);
        send_simple(m, t, ISUP_BLO, msg->cic);
        return;
    case MGCF_SEIZE_BUSY:
        ims_counter_inc(m_bad);
        ims_warn("mgcf: IAM on %s/%u, which carries a call: ignored", t->name, msg->cic);
        return;
    case MGCF_SEIZE_UNRESET:
        ims_info("mgcf: IAM on %s/%u while our reset of it is outstanding: ignored", t->name,
                 msg->cic);
        return;
    }
}

static void to_call(struct mgcf_call *c, const struct mgcf_isup_msg *msg)
{
    if (c->collecting && msg->type == ISUP_REL)
        overlap_stop(c);                /* the PSTN gave up before the number was complete */
    struct mgcf_ev ev = { .type = MGCF_EV_ISUP, .isup_type = msg->type, .reason = -1 };
    ev.called_status = msg->bci.called_status;
    ev.event = msg->event;
    ev.inband = mgcf_isup_has(msg, ISUP_PAR_OBCI) && (msg->obci & ISUP_OBCI_INBAND);
    ev.network = msg->sus_res == ISUP_SUS_NETWORK;
    if (msg->type == ISUP_SUS || msg->type == ISUP_RES) {
        mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP %s (%s initiated)%s",
                      mgcf_isup_type_name(msg->type), ev.network ? "network" : "subscriber",
                      ev.network ? "" : ": nothing to do at the MGCF");
    } else if (msg->type == ISUP_REL) {
        ev.cause = mgcf_isup_has(msg, ISUP_PAR_CAUSE) ? msg->cause.value : Q850_NORMAL_UNSPECIFIED;
        ev.location = msg->cause.location;
        mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP REL cause=%u location=%u", ev.cause,
                      ev.location);
    } else {
        mgcf_call_log(c, IMS_LOG_INFO, "rx ISUP %s", mgcf_isup_type_name(msg->type));
    }
    if (c->sip_i && (msg->type == ISUP_SUS || msg->type == ISUP_RES)) {
        if (c->sm.isup == MGCF_I_ANSWERED)
            mgcf_sip_info(c, msg);      /* SIP-I: no SIP counterpart, an INFO carries it */
    } else if (c->sip_i) {              /* SIP-I: the SIP message it leads to carries it */
        c->isup_rx = *msg;
        c->isup_rx_fresh = true;
    }
    mgcf_call_event(c, &ev);
}

/* A message on a circuit without a call of ours */
static void idle_circuit(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc,
                         const struct mgcf_isup_msg *msg)
{
    switch (msg->type) {
    case ISUP_REL:                      /* Q.764 2.9.3.1: answered RLC */
        ims_info("mgcf: REL on %s/%u without a call: RLC", t->name, msg->cic);
        send_simple(m, t, ISUP_RLC, msg->cic);
        return;
    case ISUP_RLC:
        if (cc->rsc_pending) {
            mgcf_trunk_reset_done(t, msg->cic, 0, 0);
            ims_info("mgcf: circuit %s/%u reset (RLC)", t->name, msg->cic);
        }
        return;
    default:
        ims_info("mgcf: ISUP %s on %s/%u without a call: ignored", mgcf_isup_type_name(msg->type),
                 t->name, msg->cic);
        return;
    }
}

static void on_group_reset(struct mgcf *m, struct mgcf_trunk *t, const struct mgcf_isup_msg *msg)
{
    void *calls[MGCF_GROUP_MAX];
    unsigned n = 0;
    uint8_t range = msg->type == ISUP_GRS ? msg->range.range : 0;
    uint32_t status = mgcf_trunk_peer_reset(t, msg->cic, range, calls, &n);
    ims_info("mgcf: rx ISUP %s %s/%u-%u: %u calls released", mgcf_isup_type_name(msg->type),
             t->name, msg->cic, msg->cic + range, n);
    for (unsigned i = 0; i < n; i++) {
        struct mgcf_call *c = calls[i];
        c->circuit = NULL;
        mgcf_call_simple(c, MGCF_EV_RESET, Q850_TEMPORARY_FAILURE);
    }
    if (msg->type == ISUP_RSC) {
        struct mgcf_circuit *cc = mgcf_trunk_circuit(t, msg->cic);
        send_simple(m, t, ISUP_RLC, msg->cic);
        if (cc && cc->local_blocked)
            send_simple(m, t, ISUP_BLO, msg->cic);     /* Q.764 2.10.3.1 */
        return;
    }
    struct mgcf_isup_msg gra;
    mgcf_isup_init(&gra, ISUP_GRA, msg->cic);
    gra.range.range = range;
    gra.range.status = status;
    mgcf_isup_set(&gra, ISUP_PAR_RANGE);
    send_msg(m, t, &gra, NULL);
}

static void on_supervision(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc,
                           const struct mgcf_isup_msg *msg)
{
    switch (msg->type) {
    case ISUP_BLO:
        cc->remote_blocked = true;
        send_simple(m, t, ISUP_BLA, msg->cic);
        break;
    case ISUP_UBL:
        cc->remote_blocked = false;
        send_simple(m, t, ISUP_UBA, msg->cic);
        break;
    case ISUP_BLA:
        cc->blo_acked = cc->local_blocked;
        break;
    case ISUP_UBA:
        if (cc->ubl_pending)
            cc->local_blocked = cc->blo_acked = cc->ubl_pending = false;
        break;
    case ISUP_GRA: {
        unsigned n = mgcf_trunk_reset_done(t, msg->cic, msg->range.range, msg->range.status);
        ims_info("mgcf: rx ISUP GRA %s/%u-%u: %u circuits idle", t->name, msg->cic,
                 msg->cic + msg->range.range, n);
        return;
    }
    default:
        return;
    }
    ims_info("mgcf: rx ISUP %s %s/%u", mgcf_isup_type_name(msg->type), t->name, msg->cic);
}

static struct mgcf_trunk *trunk_of(struct mgcf *m, uint32_t dpc)
{
    for (size_t i = 0; i < m->n_trunks; i++)
        if (m->trunks[i].dpc == dpc)
            return &m->trunks[i];
    return NULL;
}

static void dispatch(struct mgcf *m, struct mgcf_trunk *t, const struct mgcf_isup_msg *msg)
{
    struct mgcf_circuit *cc = mgcf_trunk_circuit(t, msg->cic);
    if (!cc) {
        ims_counter_inc(m_bad);
        ims_warn("mgcf: ISUP %s for CIC %u, which trunk %s does not have: ignored",
                 mgcf_isup_type_name(msg->type), msg->cic, t->name);
        return;
    }
    switch (msg->type) {
    case ISUP_IAM:
        on_iam(m, t, cc, msg);
        return;
    case ISUP_SAM:
        if (cc->call)
            on_sam(cc->call, msg);
        else
            idle_circuit(m, t, cc, msg);
        return;
    case ISUP_ACM:
    case ISUP_CPG:
    case ISUP_ANM:
    case ISUP_CON:
    case ISUP_REL:
    case ISUP_RLC:
    case ISUP_SUS:
    case ISUP_RES:
        if (cc->call)
            to_call(cc->call, msg);
        else
            idle_circuit(m, t, cc, msg);
        return;
    case ISUP_GRS:
    case ISUP_RSC:
        on_group_reset(m, t, msg);
        return;
    default:
        on_supervision(m, t, cc, msg);
        return;
    }
}

static void on_data(void *arg, const struct mgcf_m3ua_msg *d)
{
    struct mgcf *m = arg;
    struct mgcf_isup_msg msg;
    struct mgcf_trunk *t = trunk_of(m, d->opc);
    ims_counter_inc(m_rx);
    if (d->si != M3UA_SI_ISUP || d->dpc != m->conf.opc || !t) {
        ims_counter_inc(m_bad);
        ims_warn("mgcf: M3UA DATA si=%u opc=%u dpc=%u: not ISUP from a trunk's exchange to "
                 "point code %u, dropped", d->si, d->opc, d->dpc, m->conf.opc);
        return;
    }
    int rc = mgcf_isup_decode(d->data, d->data_len, &msg);
    if (rc) {
        ims_counter_inc(m_bad);
        ims_warn("mgcf: ISUP from %u refused: %s (type %u, CIC %u, %zu octets)", d->opc,
                 rc == -ENOTSUP ? "message type not supported" : "malformed", msg.type,
                 msg.cic, d->data_len);
        return;
    }
    if (msg.unknown)
        ims_info("mgcf: ISUP %s %s/%u: %u unknown optional parameters skipped (first 0x%02x)",
                 mgcf_isup_type_name(msg.type), t->name, msg.cic, msg.unknown,
                 msg.unknown_first);
    dispatch(m, t, &msg);
}

static void on_state(void *arg, enum mgcf_m3ua_state state)
{
    struct mgcf *m = arg;
    enum mgcf_m3ua_state old = m->isup->state;
    m->isup->state = state;
    __atomic_store_n(&m->isup_state, (int)state, __ATOMIC_RELAXED);
    ims_info("mgcf: M3UA association with %s:%u %s", m->conf.isup_addr, m->conf.isup_port,
             mgcf_m3ua_state_name(state));
    if (state != MGCF_M3UA_ACTIVE || old == MGCF_M3UA_ACTIVE)
        return;
    for (size_t i = 0; i < m->n_trunks; i++)
        mgcf_isup_reset_trunk(m, &m->trunks[i]);
}

static const struct mgcf_m3ua_link_ops link_ops = { on_data, on_state };

/* ---- life cycle ---- */

int mgcf_isup_start(struct mgcf *m)
{
    metrics();
    struct mgcf_isup_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->m = m;
    m->isup = l;
    struct mgcf_m3ua_link_cfg cfg = {
        .transport = m->conf.isup_transport,
        .local_addr = ims_cfg_str(m->d->cfg, "node.address"),
        .remote_addr = m->conf.isup_addr,
        .remote_port = m->conf.isup_port,
        .reconnect_ms = m->conf.m3ua_reconnect_ms,
        .asp = {
            .role = MGCF_M3UA_ASP,
            .has_rc = m->conf.rc != 0,
            .rc = m->conf.rc,
            .has_asp_id = true,
            .asp_id = m->conf.opc,
            .traffic_mode = M3UA_TM_OVERRIDE,
            .ack_ms = m->conf.m3ua_ack_ms,
            .ack_tries = 5,
            .beat_ms = m->conf.m3ua_beat_ms,
        },
    };
    int rc = mgcf_m3ua_link_create(mgcf_root(m), &cfg, &link_ops, m, &l->link);
    if (rc < 0) {
        ims_err("mgcf: cannot set up the M3UA association to %s:%u: %s", m->conf.isup_addr,
                m->conf.isup_port, strerror(-rc));
        return rc;
    }
    l->maint = su_timer_create(su_root_task(mgcf_root(m)), m->conf.t_maint_ms);
    if (!l->maint ||                    /* for ever: su_timer_set_interval fires once */
        su_timer_set_for_ever(l->maint, on_maint, (su_timer_arg_t *)m) < 0)
        return -ENOMEM;
    ims_info("mgcf: M3UA ASP towards %s:%u over %s (point code %u, routing context %u)",
             m->conf.isup_addr, m->conf.isup_port, m->conf.isup_transport, m->conf.opc,
             m->conf.rc);
    return 0;
}

void mgcf_isup_stop(struct mgcf *m)
{
    struct mgcf_isup_link *l = m->isup;
    if (!l)
        return;
    if (l->maint)
        su_timer_destroy(l->maint);
    mgcf_m3ua_link_destroy(l->link);
    free(l);
    m->isup = NULL;
    __atomic_store_n(&m->isup_state, (int)MGCF_M3UA_DOWN, __ATOMIC_RELAXED);
}

bool mgcf_isup_active(const struct mgcf *m)
{
    return __atomic_load_n(&m->isup_state, __ATOMIC_RELAXED) == MGCF_M3UA_ACTIVE;
}

const char *mgcf_isup_state(const struct mgcf *m)
{
    return mgcf_m3ua_state_name(
        (enum mgcf_m3ua_state)__atomic_load_n(&m->isup_state, __ATOMIC_RELAXED));
}

enum ims_health mgcf_isup_health(void *arg, json_t *peers)
{
    struct mgcf *m = arg;
    char name[96];
    snprintf(name, sizeof(name), "%s:%u", m->conf.isup_addr, m->conf.isup_port);
    json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", name, "kind",
                                           "m3ua-sgp", "state", mgcf_isup_state(m)));
    return mgcf_isup_active(m) ? IMS_HEALTH_OK : IMS_HEALTH_DEGRADED;
}
