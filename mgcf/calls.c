/*
 * calls.c - the MGCF's live calls: each call's state machine (call.c) run for real
 *
 * mgcf_call_event() steps the machine and carries out its actions in order through
 * sip.c, isup_link.c, mgw.c and charging.c. An action may fail at once (the MGW is gone, a
 * SIP request cannot be built); the code that finds out reports it as a new event, which
 * is queued while a step runs and taken next, so the machine never runs inside itself. A
 * call whose sides are all done is freed at the end of the step that finished it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "charging.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 8

struct call_queue {                 /* events that arrived during a step */
    unsigned n;
    struct mgcf_ev ev[QUEUE_MAX];
};

static struct ims_gauge *m_calls;
static struct ims_counter *m_total[2], *m_answered[2], *m_misfit;

su_root_t *mgcf_root(struct mgcf *m)
{
    return ims_loop_root(m->d->loop);
}

void mgcf_calls_metrics(void)
{
    m_calls = ims_gauge_new("mgcf_calls", "calls in progress", NULL);
    m_total[MGCF_DIR_OUT] = ims_counter_new("mgcf_calls_total", "calls set up",
                                            "direction=\"ims-to-pstn\"");
    m_total[MGCF_DIR_IN] = ims_counter_new("mgcf_calls_total", "calls set up",
                                           "direction=\"pstn-to-ims\"");
    m_answered[MGCF_DIR_OUT] = ims_counter_new("mgcf_calls_answered_total", "calls answered",
                                               "direction=\"ims-to-pstn\"");
    m_answered[MGCF_DIR_IN] = ims_counter_new("mgcf_calls_answered_total", "calls answered",
                                              "direction=\"pstn-to-ims\"");
    m_misfit = ims_counter_new("mgcf_events_out_of_state_total", "messages or replies that did "
                               "not fit their call's state (ignored)", NULL);
}

void mgcf_call_log(const struct mgcf_call *c, int level, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct ims_log_ids ids = { .call_id = c->call_id[0] ? c->call_id : NULL,
                               .icid = c->icid[0] ? c->icid : NULL };
    char where[96] = "";
    if (c->trunk)
        snprintf(where, sizeof(where), " %s/%u", c->trunk->name, c->cic);
    ims_log((enum ims_log_level)level, &ids, "mgcf: call %u%s (%s): %s", c->id, where,
            c->sm.dir == MGCF_DIR_OUT ? "ims-to-pstn" : "pstn-to-ims", text);
}

/* ---- timers ---- */

static void on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct mgcf_call *c = (struct mgcf_call *)arg;
    (void)magic;
    for (int i = 0; i < MGCF_TIMER_COUNT; i++) {
        if (c->timer[i] != t)
            continue;
        if (i == MGCF_T35 || i == MGCF_TDIGITS) {     /* overlap: isup_link.c's */
            mgcf_isup_overlap_timeout(c, (enum mgcf_timer)i);
            return;
        }
        struct mgcf_ev ev = { .type = MGCF_EV_TIMER, .timer = (enum mgcf_timer)i };
        if (i == MGCF_TPRECOND && c->sm.precond)
            mgcf_call_log(c, IMS_LOG_WARN, "preconditions not met within %u ms "
                          "(mgcf.precondition_timeout_ms): 580, the circuit is freed, no IAM "
                          "was sent", c->m->conf.timer_ms[i]);
        else
            mgcf_call_log(c, IMS_LOG_INFO, "timer %s expired", mgcf_call_timer_name(ev.timer));
        mgcf_call_event(c, &ev);
        return;
    }
}

/* ---- life cycle ---- */

struct mgcf_call *mgcf_call_new(struct mgcf *m, enum mgcf_dir dir)
{
    if (m->n_calls >= m->conf.max_calls)
        return NULL;
    struct mgcf_call *c = calloc(1, sizeof(*c) + sizeof(struct call_queue));
    if (!c)
        return NULL;
    c->m = m;
    c->id = ++m->next_id ? m->next_id : ++m->next_id;
    mgcf_call_init(&c->sm, dir);
    for (int i = 0; i < MGCF_TIMER_COUNT; i++) {
        c->timer[i] = su_timer_create(su_root_task(mgcf_root(m)), 1000);
        if (!c->timer[i]) {
            for (int j = 0; j < i; j++)
                su_timer_destroy(c->timer[j]);
            free(c);
            return NULL;
        }
    }
    c->t0 = time(NULL);
    c->sdp_session = (unsigned long)c->t0 * 1000UL + c->id % 1000;
    c->next = m->calls;
    if (m->calls)
        m->calls->prev = c;
    m->calls = c;
    m->n_calls++;
    ims_gauge_set(m_calls, m->n_calls);
    ims_counter_inc(m_total[dir]);
    return c;
}

void mgcf_call_seize(struct mgcf_call *c, struct mgcf_trunk *t, struct mgcf_circuit *cc)
{
    c->trunk = t;
    c->circuit = cc;
    c->cic = cc->cic;
    c->iam.cic = cc->cic;
    mgcf_circuit_take(cc, c);
    snprintf(c->tdm, sizeof(c->tdm), "tdm/%s/%u", t->name, cc->cic);
}

static void call_free(struct mgcf_call *c)
{
    struct mgcf *m = c->m;
    for (int i = 0; i < MGCF_TIMER_COUNT; i++)
        su_timer_destroy(c->timer[i]);
    mgcf_mgw_forget(c);
    mgcf_sip_close(c);
    if (c->chg)
        mgcf_charging_end(c);
    if (c->circuit)
        mgcf_circuit_release(c->circuit, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        m->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->n_calls--;
    ims_gauge_set(m_calls, m->n_calls);
    mgcf_call_log(c, IMS_LOG_DEBUG, "freed");
    free(c);
}

/* ---- actions ---- */

static void timer_start(struct mgcf_call *c, enum mgcf_timer t)
{
    su_timer_set_interval(c->timer[t], on_timer, (su_timer_arg_t *)c, c->m->conf.timer_ms[t]);
}

void mgcf_call_timer(struct mgcf_call *c, enum mgcf_timer t, bool run)
{
    if (run)
        timer_start(c, t);
    else
        su_timer_reset(c->timer[t]);
}

static void exec_sip(struct mgcf_call *c, const struct mgcf_act *a)
{
    switch (a->type) {
    case MGCF_ACT_SIP_RESPONSE:
        mgcf_sip_respond(c, a->status, a->sdp, a->cause);
        break;
    case MGCF_ACT_SIP_INVITE:
        mgcf_sip_send_invite(c);
        break;
    case MGCF_ACT_SIP_ACK:
        mgcf_sip_ack(c);
        break;
    case MGCF_ACT_SIP_CANCEL:
        mgcf_sip_cancel(c, a->cause);
        break;
    case MGCF_ACT_SIP_BYE:
        mgcf_sip_bye(c, a->cause);
        break;
    case MGCF_ACT_SIP_REINVITE_ANSWER:
        mgcf_sip_reinvite_answer(c, a->status, a->sdp);
        break;
    default:
        break;
    }
}

static void exec(struct mgcf_call *c, const struct mgcf_act *a)
{
    switch (a->type) {
    case MGCF_ACT_MG_ADD:
        mgcf_mgw_add(c, a->mode);
        break;
    case MGCF_ACT_MG_READD:
        mgcf_mgw_readd(c);
        break;
    case MGCF_ACT_MG_MODIFY:
        mgcf_mgw_modify(c, a->mode, a->sdp);
        break;
    case MGCF_ACT_MG_SUBTRACT:
        mgcf_mgw_subtract(c);
        break;
    case MGCF_ACT_ISUP:
        mgcf_isup_send_call(c, a);
        break;
    case MGCF_ACT_CIRCUIT_RESET:
        mgcf_call_log(c, IMS_LOG_WARN, "no RLC to our REL within T5: the circuit is reset");
        if (c->circuit)
            mgcf_isup_reset_circuit(c->m, c->trunk, c->circuit);
        c->circuit = NULL;
        break;
    case MGCF_ACT_TIMER_START:
        timer_start(c, a->timer);
        break;
    case MGCF_ACT_TIMER_STOP:
        su_timer_reset(c->timer[a->timer]);
        break;
    case MGCF_ACT_CHG_START:
        ims_counter_inc(m_answered[c->sm.dir]);
        mgcf_charging_start(c);
        break;
    case MGCF_ACT_CHG_EVENT:
        mgcf_charging_event(c, a->status);
        break;
    case MGCF_ACT_CHG_STOP:
        mgcf_charging_end(c);
        break;
    case MGCF_ACT_FREE:
        c->freeing = true;
        break;
    default:
        exec_sip(c, a);
        break;
    }
}

static struct call_queue *queue_of(struct mgcf_call *c)
{
    return (struct call_queue *)(c + 1);
}

static void step(struct mgcf_call *c, const struct mgcf_ev *ev)
{
    struct mgcf_acts acts = { 0 };
    char before[96];
    mgcf_call_state_text(&c->sm, before, sizeof(before));
    int rc = mgcf_call_step(&c->sm, ev, &acts);
    if (rc == -EPROTO) {
        ims_counter_inc(m_misfit);
        mgcf_call_log(c, IMS_LOG_INFO, "%s%s%s does not fit the call (%s): ignored",
                      mgcf_call_ev_name(ev->type), ev->type == MGCF_EV_ISUP ? " " : "",
                      ev->type == MGCF_EV_ISUP ? mgcf_isup_type_name(ev->isup_type) : "",
                      before);
    }
    if (acts.overflow)
        mgcf_call_log(c, IMS_LOG_ERROR, "too many actions for one event (a bug)");
    for (unsigned i = 0; i < acts.n; i++)
        exec(c, &acts.a[i]);
    if (ims_log_enabled(IMS_LOG_DEBUG)) {
        char after[96];
        mgcf_call_log(c, IMS_LOG_DEBUG, "%s: %s -> %s, %u actions",
                      mgcf_call_ev_name(ev->type), before,
                      mgcf_call_state_text(&c->sm, after, sizeof(after)), acts.n);
    }
}

void mgcf_call_event(struct mgcf_call *c, const struct mgcf_ev *ev)
{
    struct call_queue *q = queue_of(c);
    if (c->stepping) {
        if (q->n < QUEUE_MAX)
            q->ev[q->n++] = *ev;
        else
            mgcf_call_log(c, IMS_LOG_ERROR, "event queue full: %s lost (a bug)",
                          mgcf_call_ev_name(ev->type));
        return;
    }
    c->stepping = true;
    step(c, ev);
    while (q->n > 0 && !c->sm.freed) {
        struct mgcf_ev next = q->ev[0];
        memmove(&q->ev[0], &q->ev[1], (q->n - 1) * sizeof(q->ev[0]));
        q->n--;
        step(c, &next);
    }
    c->stepping = false;
    if (c->freeing)
        call_free(c);
}

void mgcf_call_simple(struct mgcf_call *c, enum mgcf_ev_type type, uint8_t cause)
{
    struct mgcf_ev ev = { .type = type, .cause = cause, .reason = -1 };
    mgcf_call_event(c, &ev);
}

void mgcf_calls_drop(struct mgcf *m)
{
    while (m->calls) {
        mgcf_call_log(m->calls, IMS_LOG_INFO, "dropped: the MGCF stops");
        call_free(m->calls);
    }
}

void mgcf_calls_mg_lost(struct mgcf *m)
{
    struct mgcf_call *c = m->calls, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->sm.media == MGCF_M_ADDING || c->sm.media == MGCF_M_READY ||
            c->sm.media == MGCF_M_SUBTRACTING)
            mgcf_call_simple(c, MGCF_EV_MG_LOST, 0);
    }
}
