/*
 * pstn - the lab's PSTN switch: ISUP over M3UA (an SGP, TCP port 2905) towards the MGCF
 *
 *   pstn [--listen IP:PORT] [--peer IP] [--opc PC] [--dpc PC] [--rc N] [--cics FIRST-LAST]
 *        [--behaviour B] [--number DIGITS=B]... [--answer-ms MS]
 *        [--originate CALLED,CALLING[,HOLD_MS[,CIC]]]... [--originate-delay MS] [--sam-ms MS]
 *        [--control FIFO] [--reset] [--time MS] [--sctp]
 *
 * Listens on IP:PORT (127.0.0.100:2905) for the MGCF, from address --peer only (127.0.0.70),
 * and answers its ASP management as an SGP (routing context --rc, 1). Its own point code is
 * --opc (2002), the MGCF's --dpc (1001); its circuits are --cics (1-31). --sctp: M3UA over
 * SCTP instead of TCP (the MGCF's mgcf.isup_transport = sctp; a kernel with SCTP).
 *
 * A call from the MGCF (IAM) is treated as the behaviour of its called number (--number,
 * else --behaviour, default answer): answer (ACM, then ANM after --answer-ms, 200),
 * answer:HOLD_MS (the same, then REL cause 16 HOLD_MS after the answer: the PSTN side hangs
 * up), early (the same with in-band information in the ACM: early media), ring (ACM and
 * CPG alerting, never an answer), busy (REL cause 17), reject:CAUSE (REL
 * with that cause), suspend (answer, then at once SUS network initiated and never a RES:
 * the MGCF's T6 releases the call), suspend:MS (the same, RES after MS), silent (nothing
 * sent back: the MGCF's T7 releases the call). A REL is answered
 * RLC; GRS with GRA, BLO with BLA, UBL with UBA, RSC
 * with RLC. Once the association is active (and --originate-delay MS later), each
 * --originate places a call to the IMS (IAM on circuit CIC, or on the first idle one without
 * it, called and calling numbers international) and releases it HOLD_MS (1000) after the
 * answer. --control FIFO (made when missing) takes the same orders while it runs, one line
 * each: "originate CALLED,CALLING[,HOLD_MS[,CIC]]" places that call at once (a test's
 * IAM at a moment of its choosing, without restarting the switch and its association). A
 * CALLED with '/' in it is dialled in overlap (Q.764 2.1.2): the digits before the first '/' go in the
 * IAM (there may be none), each further piece in a SAM, one every --sam-ms MS (500); an F
 * ending the last piece is the ST signal (end of pulsing), e.g. 1555/0100/001F; a last piece
 * R is a REL (cause 16) in place of a SAM: the caller gives up while dialling. --reset first
 * sends a GRS for the whole range. Dual seizure (an
 * IAM on a circuit of an outgoing call) is resolved as Q.764 2.10.1.4 says: the exchange
 * with the higher point code controls the even circuits and keeps its call; the other backs
 * off.
 *
 * One line on stdout per ISUP message ("rx IAM cic=5 called=19995550123 ...", "tx ACM
 * cic=5", ...) and per M3UA state ("m3ua ASP-ACTIVE"). Runs until SIGTERM or SIGINT, or for
 * --time MS; exit status 0, or 2 for bad arguments.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "isup.h"
#include "log.h"
#include "loop.h"
#include "m3ua_link.h"

#define CIC_SLOTS 256
#define NUMBERS_MAX 16
#define ORIGINATE_MAX 16
#define SAMS_MAX 8

enum behaviour { B_ANSWER, B_EARLY, B_RING, B_BUSY, B_REJECT, B_SUSPEND, B_SILENT };
enum cstate { C_IDLE, C_IN, C_OUT };        /* IN: the MGCF called us; OUT: we called */

struct circuit {
    uint16_t cic;
    enum cstate state;
    bool answered, releasing, blocked_by_peer;
    unsigned hold_ms;
    bool suspend;                   /* B_SUSPEND: SUS after the answer (RES after hold_ms) */
    su_timer_t *timer;
};

struct number_rule {
    char digits[MGCF_ISUP_DIGITS_MAX + 1];
    enum behaviour b;
    uint8_t cause;
    unsigned hold_ms;               /* answer:HOLD_MS: REL that long after the answer */
};

struct call_order {
    char called[MGCF_ISUP_DIGITS_MAX + 1], calling[MGCF_ISUP_DIGITS_MAX + 1];
    unsigned hold_ms;
    char sams[SAMS_MAX][MGCF_ISUP_DIGITS_MAX + 1];  /* overlap: the SAMs' digits, in order */
    unsigned n_sams, next_sam;
    uint16_t want_cic;              /* the circuit to place it on (0: the first idle one) */
    uint16_t cic;                   /* the circuit of the call, once placed */
    su_timer_t *sam_timer;
};

static struct {
    struct ims_loop *loop;
    su_root_t *root;
    struct mgcf_m3ua_link *link;
    uint32_t opc, dpc;
    unsigned first, last;
    struct circuit cics[CIC_SLOTS];
    enum behaviour behaviour;
    uint8_t cause;
    unsigned hold_ms;
    unsigned answer_ms, originate_delay_ms, sam_ms;
    su_timer_t *originate_timer;
    struct number_rule numbers[NUMBERS_MAX];
    unsigned n_numbers;
    struct call_order orders[ORIGINATE_MAX];
    unsigned n_orders;
    bool reset, started;
    su_timer_t *stop_timer;
    int control_fd;                 /* --control: the FIFO of orders given while running */
    su_wait_t control_wait;
    char control_buf[512];
    size_t control_len;
} g = {.opc = 2002, .dpc = 1001, .first = 1, .last = 31, .answer_ms = 200, .sam_ms = 500,
     .control_fd = -1};

static struct circuit *circuit(uint16_t cic)
{
    if (cic < g.first || cic > g.last)
        return NULL;
    return &g.cics[cic - g.first];
}

/* Encode and send @m; one line on stdout */
static void send_isup(struct mgcf_isup_msg *m, const char *detail)
{
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    int n = mgcf_isup_encode(m, buf, sizeof(buf));
    if (n < 0) {
        printf("error %s cic=%u does not encode: %s\n", mgcf_isup_type_name(m->type), m->cic,
               strerror(-n));
        return;
    }
    int rc = mgcf_m3ua_link_send(g.link, g.opc, g.dpc, M3UA_SI_ISUP, M3UA_NI_NATIONAL, 0,
                                 (uint8_t)(m->cic & 0x0f), buf, (size_t)n);
    printf("tx %s cic=%u%s%s%s\n", mgcf_isup_type_name(m->type), m->cic, detail ? " " : "",
           detail ? detail : "", rc ? " (not sent: M3UA not active)" : "");
}

static void send_simple(uint8_t type, uint16_t cic)
{
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, type, cic);
    send_isup(&m, NULL);
}

static void send_rel(uint16_t cic, uint8_t cause)
{
    struct mgcf_isup_msg m;
    char detail[32];
    mgcf_isup_init(&m, ISUP_REL, cic);
    m.cause.location = ISUP_LOC_LN;
    m.cause.value = cause;
    mgcf_isup_set(&m, ISUP_PAR_CAUSE);
    snprintf(detail, sizeof(detail), "cause=%u", cause);
    send_isup(&m, detail);
    struct circuit *c = circuit(cic);
    if (c)
        c->releasing = true;
}

static void circuit_idle(struct circuit *c)
{
    c->state = C_IDLE;
    c->answered = c->releasing = false;
    su_timer_reset(c->timer);
}

/* ---- calls from the MGCF ---- */

static void on_hold_over(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct circuit *c = (struct circuit *)arg;
    (void)magic;
    (void)t;
    if (c->state != C_IDLE && !c->releasing)
        send_rel(c->cic, 16);
}

/* SUS or RES, network initiated */
static void send_suspend(struct circuit *c, uint8_t type)
{
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, type, c->cic);
    m.sus_res = ISUP_SUS_NETWORK;
    mgcf_isup_set(&m, ISUP_PAR_SUS_RES);
    send_isup(&m, "network");
}

static void on_resume_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct circuit *c = (struct circuit *)arg;
    (void)magic;
    (void)t;
    su_timer_reset(c->timer);
    if (c->state == C_IN && !c->releasing)
        send_suspend(c, ISUP_RES);
}

static void on_answer_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct circuit *c = (struct circuit *)arg;
    (void)magic;
    (void)t;
    if (c->state != C_IN || c->releasing)
        return;
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, ISUP_ANM, c->cic);
    send_isup(&m, NULL);
    c->answered = true;
    if (c->suspend) {
        send_suspend(c, ISUP_SUS);
        if (c->hold_ms)
            su_timer_set_interval(c->timer, on_resume_due, (su_timer_arg_t *)c, c->hold_ms);
        return;
    }
    if (c->hold_ms)
        su_timer_set_interval(c->timer, on_hold_over, (su_timer_arg_t *)c, c->hold_ms);
}

static void rule_of(const char *called, enum behaviour *b, uint8_t *cause, unsigned *hold)
{
    *b = g.behaviour;
    *cause = g.cause;
    *hold = g.hold_ms;
    for (unsigned i = 0; i < g.n_numbers; i++)
        if (strcmp(g.numbers[i].digits, called) == 0) {
            *b = g.numbers[i].b;
            *cause = g.numbers[i].cause;
            *hold = g.numbers[i].hold_ms;
        }
}

/* An ACM, subscriber free; @inband: in-band information available (early media) */
static void send_acm(uint16_t cic, bool inband)
{
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, ISUP_ACM, cic);
    m.bci.charge = ISUP_BCI_CHARGE;
    m.bci.called_status = ISUP_BCI_SUBSCRIBER_FREE;
    m.bci.called_category = ISUP_BCI_ORDINARY;
    mgcf_isup_set(&m, ISUP_PAR_BCI);
    if (inband) {
        m.obci = ISUP_OBCI_INBAND;
        mgcf_isup_set(&m, ISUP_PAR_OBCI);
    }
    send_isup(&m, NULL);
}

/* Does this exchange control circuit @cic in a dual seizure (Q.764 2.10.1.4)? */
static bool controls(uint16_t cic)
{
    return (g.opc > g.dpc) == (cic % 2 == 0);
}

static void on_iam(const struct mgcf_isup_msg *m)
{
    struct circuit *c = circuit(m->cic);
    printf("rx IAM cic=%u called=%s nai=%u calling=%s apri=%u si=%u cpc=%u\n", m->cic,
           m->called.digits, m->called.nai,
           mgcf_isup_has(m, ISUP_PAR_CALLING) ? m->calling.digits : "-", m->calling.apri,
           m->calling.si, m->cpc);
    if (!c) {
        printf("error IAM on cic=%u outside %u-%u: ignored\n", m->cic, g.first, g.last);
        return;
    }
    if (c->state == C_OUT && !c->answered) {
        if (controls(m->cic)) {
            printf("dual seizure cic=%u: this exchange controls it, the IAM is ignored\n",
                   m->cic);
            return;
        }
        printf("dual seizure cic=%u: the MGCF controls it, this exchange's call backs off\n",
               m->cic);
        circuit_idle(c);
    } else if (c->state != C_IDLE) {
        printf("error IAM on busy cic=%u: ignored\n", m->cic);
        return;
    }
    c->state = C_IN;
    enum behaviour b;
    uint8_t cause;
    rule_of(m->called.digits, &b, &cause, &c->hold_ms);
    c->suspend = b == B_SUSPEND;
    switch (b) {
    case B_BUSY:
        send_rel(m->cic, 17);
        return;
    case B_REJECT:
        send_rel(m->cic, cause);
        return;
    case B_RING: {
        send_acm(m->cic, false);
        struct mgcf_isup_msg cpg;
        mgcf_isup_init(&cpg, ISUP_CPG, m->cic);
        cpg.event = ISUP_EVENT_ALERTING;
        mgcf_isup_set(&cpg, ISUP_PAR_EVENT);
        send_isup(&cpg, NULL);
        return;
    }
    case B_SILENT:                      /* no ACM: the MGCF's T7 runs out */
        return;
    case B_ANSWER:
    case B_EARLY:
    case B_SUSPEND:
        send_acm(m->cic, b == B_EARLY);
        su_timer_set_interval(c->timer, on_answer_due, (su_timer_arg_t *)c, g.answer_ms);
        return;
    }
}

/* ---- calls to the IMS ---- */

/* Overlap: the next SAM of order @arg, while its call is still ours and not released; the
 * timer (one shot) is set again while SAMs remain */
static void on_sam_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct call_order *o = (struct call_order *)arg;
    struct circuit *c = circuit(o->cic);
    (void)magic;
    (void)t;
    if (!c || c->state != C_OUT || c->releasing || o->next_sam >= o->n_sams)
        return;
    if (strcmp(o->sams[o->next_sam], "R") == 0) {
        o->next_sam++;
        send_rel(o->cic, 16);
        return;
    }
    struct mgcf_isup_msg m;
    char detail[64];
    mgcf_isup_init(&m, ISUP_SAM, o->cic);
    snprintf(m.subsequent, sizeof(m.subsequent), "%s", o->sams[o->next_sam++]);
    mgcf_isup_set(&m, ISUP_PAR_SUBSEQUENT);
    snprintf(detail, sizeof(detail), "digits=%s", m.subsequent);
    send_isup(&m, detail);
    if (o->next_sam < o->n_sams)
        su_timer_set_interval(o->sam_timer, on_sam_due, (su_timer_arg_t *)o, g.sam_ms);
}

static void originate(struct call_order *o)
{
    struct circuit *c = NULL;
    for (unsigned i = 0; i <= g.last - g.first && !c; i++)
        if (g.cics[i].state == C_IDLE && !g.cics[i].blocked_by_peer &&
            (!o->want_cic || g.cics[i].cic == o->want_cic))
            c = &g.cics[i];
    if (!c && o->want_cic) {
        printf("error cic=%u is not an idle circuit for the call to %s\n", o->want_cic,
               o->called);
        return;
    }
    if (!c) {
        printf("error no idle circuit for the call to %s\n", o->called);
        return;
    }
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, ISUP_IAM, c->cic);
    m.fci.isup_all_the_way = 1;
    m.cpc = ISUP_CPC_ORDINARY;
    m.tmr = ISUP_TMR_SPEECH;
    m.called.nai = ISUP_NAI_INTERNATIONAL;
    m.called.npi = ISUP_NPI_ISDN;
    snprintf(m.called.digits, sizeof(m.called.digits), "%s", o->called);
    m.calling.nai = ISUP_NAI_INTERNATIONAL;
    m.calling.npi = ISUP_NPI_ISDN;
    m.calling.si = ISUP_SI_NETWORK;
    snprintf(m.calling.digits, sizeof(m.calling.digits), "%s", o->calling);
    m.present = ISUP_BIT(ISUP_PAR_NCI) | ISUP_BIT(ISUP_PAR_FCI) | ISUP_BIT(ISUP_PAR_CPC) |
                ISUP_BIT(ISUP_PAR_TMR) | ISUP_BIT(ISUP_PAR_CALLED) | ISUP_BIT(ISUP_PAR_CALLING);
    c->state = C_OUT;
    c->hold_ms = o->hold_ms;
    char detail[96];
    snprintf(detail, sizeof(detail), "called=%s calling=%s%s", o->called, o->calling,
             o->n_sams ? " (overlap)" : "");
    send_isup(&m, detail);
    o->cic = c->cic;
    o->next_sam = 0;
    if (o->n_sams)
        su_timer_set_interval(o->sam_timer, on_sam_due, (su_timer_arg_t *)o, g.sam_ms);
}

static void on_backward(const struct mgcf_isup_msg *m, struct circuit *c)
{
    const char *name = mgcf_isup_type_name(m->type);
    if (m->type == ISUP_CPG)
        printf("rx CPG cic=%u event=%u\n", m->cic, m->event);
    else if (m->type == ISUP_ACM)
        printf("rx ACM cic=%u called_status=%u inband=%u\n", m->cic, m->bci.called_status,
               (m->obci & ISUP_OBCI_INBAND) != 0);
    else
        printf("rx %s cic=%u%s%s\n", name, m->cic,
               mgcf_isup_has(m, ISUP_PAR_CONNECTED) ? " connected=" : "",
               mgcf_isup_has(m, ISUP_PAR_CONNECTED) ? m->connected.digits : "");
    if (!c || c->state != C_OUT) {
        printf("error %s on cic=%u without a call of this exchange\n", name, m->cic);
        return;
    }
    if (m->type == ISUP_ANM || m->type == ISUP_CON) {
        c->answered = true;
        su_timer_set_interval(c->timer, on_hold_over, (su_timer_arg_t *)c,
                              c->hold_ms ? c->hold_ms : 1000);
    }
}

/* ---- circuit supervision ---- */

static void on_grs(const struct mgcf_isup_msg *m)
{
    printf("rx GRS cic=%u range=%u\n", m->cic, m->range.range);
    struct mgcf_isup_msg a;
    mgcf_isup_init(&a, ISUP_GRA, m->cic);
    a.range.range = m->range.range;
    for (unsigned i = 0; i <= m->range.range; i++) {
        struct circuit *c = circuit((uint16_t)(m->cic + i));
        if (c) {
            circuit_idle(c);
            c->blocked_by_peer = false;     /* a group reset removes the remote blocking */
        }
    }
    mgcf_isup_set(&a, ISUP_PAR_RANGE);
    send_isup(&a, NULL);
}

static void on_data(void *arg, const struct mgcf_m3ua_msg *d)
{
    struct mgcf_isup_msg m;
    (void)arg;
    if (d->si != M3UA_SI_ISUP || d->opc != g.dpc || d->dpc != g.opc) {
        printf("error DATA si=%u opc=%u dpc=%u: not ISUP between %u and %u, dropped\n", d->si,
               d->opc, d->dpc, g.dpc, g.opc);
        return;
    }
    int rc = mgcf_isup_decode(d->data, d->data_len, &m);
    if (rc) {
        printf("error ISUP of %zu bytes refused (%s), type %u cic %u\n", d->data_len,
               rc == -ENOTSUP ? "type unknown" : "malformed", m.type, m.cic);
        return;
    }
    struct circuit *c = circuit(m.cic);
    switch (m.type) {
    case ISUP_IAM:
        on_iam(&m);
        break;
    case ISUP_ACM:
    case ISUP_CPG:
    case ISUP_ANM:
    case ISUP_CON:
        on_backward(&m, c);
        break;
    case ISUP_REL:
        printf("rx REL cic=%u cause=%u location=%u\n", m.cic, m.cause.value, m.cause.location);
        send_simple(ISUP_RLC, m.cic);
        if (c)
            circuit_idle(c);
        break;
    case ISUP_RLC:
        printf("rx RLC cic=%u\n", m.cic);
        if (c)
            circuit_idle(c);
        break;
    case ISUP_GRS:
        on_grs(&m);
        break;
    case ISUP_BLO:
    case ISUP_UBL:
        printf("rx %s cic=%u\n", mgcf_isup_type_name(m.type), m.cic);
        if (c)
            c->blocked_by_peer = m.type == ISUP_BLO;
        send_simple(m.type == ISUP_BLO ? ISUP_BLA : ISUP_UBA, m.cic);
        break;
    case ISUP_RSC:
        printf("rx RSC cic=%u\n", m.cic);
        if (c) {
            circuit_idle(c);
            c->blocked_by_peer = false;
        }
        send_simple(ISUP_RLC, m.cic);
        break;
    case ISUP_SUS:
    case ISUP_RES:
        printf("rx %s cic=%u %s\n", mgcf_isup_type_name(m.type), m.cic,
               m.sus_res == ISUP_SUS_NETWORK ? "network" : "subscriber");
        break;
    default:
        printf("rx %s cic=%u\n", mgcf_isup_type_name(m.type), m.cic);
    }
}

static void on_originate_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg);

static void on_state(void *arg, enum mgcf_m3ua_state state)
{
    (void)arg;
    printf("m3ua %s\n", mgcf_m3ua_state_name(state));
    if (state != MGCF_M3UA_ACTIVE || g.started)
        return;
    g.started = true;
    if (g.reset) {
        struct mgcf_isup_msg m;
        mgcf_isup_init(&m, ISUP_GRS, (uint16_t)g.first);
        m.range.range = (uint8_t)(g.last - g.first > 31 ? 31 : g.last - g.first);
        mgcf_isup_set(&m, ISUP_PAR_RANGE);
        send_isup(&m, NULL);
    }
    if (g.n_orders && g.originate_delay_ms)
        su_timer_set_interval(g.originate_timer, on_originate_due, NULL, g.originate_delay_ms);
    else if (g.n_orders)
        on_originate_due(NULL, NULL, NULL);
}

static const struct mgcf_m3ua_link_ops link_ops = {on_data, on_state};

static void on_originate_due(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    for (unsigned i = 0; i < g.n_orders; i++)
        originate(&g.orders[i]);
}

/* ---- arguments ---- */

static int parse_behaviour(const char *s, enum behaviour *b, uint8_t *cause, unsigned *hold)
{
    *cause = 0;
    *hold = 0;
    if (strcmp(s, "answer") == 0) {
        *b = B_ANSWER;
    } else if (strncmp(s, "answer:", 7) == 0) {
        char *end;
        long v = strtol(s + 7, &end, 10);
        if (*end || v < 1 || v > 3600000)
            return -1;
        *b = B_ANSWER;
        *hold = (unsigned)v;
    }
    else if (strcmp(s, "suspend") == 0)
        *b = B_SUSPEND;
    else if (strncmp(s, "suspend:", 8) == 0) {
        char *end;
        long v = strtol(s + 8, &end, 10);
        if (*end || v < 1 || v > 3600000)
            return -1;
        *b = B_SUSPEND;
        *hold = (unsigned)v;
    }
    else if (strcmp(s, "ring") == 0)
        *b = B_RING;
    else if (strcmp(s, "early") == 0)
        *b = B_EARLY;
    else if (strcmp(s, "silent") == 0)
        *b = B_SILENT;
    else if (strcmp(s, "busy") == 0)
        *b = B_BUSY;
    else if (strncmp(s, "reject:", 7) == 0) {
        char *end;
        long v = strtol(s + 7, &end, 10);
        if (*end || v < 1 || v > 127)
            return -1;
        *b = B_REJECT;
        *cause = (uint8_t)v;
    } else {
        return -1;
    }
    return 0;
}

static bool digits_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= MGCF_ISUP_DIGITS_MAX && strspn(s, "0123456789") == n;
}

/*
 * An overlap CALLED ("IAM/SAM/SAM..."): the IAM's digits into o->called, each SAM's into
 * o->sams; digits only, but an F (ST) may end the last piece, or the last piece is R (a
 * REL). -1 when malformed.
 */
static int parse_overlap(char *called, struct call_order *o)
{
    char *slash = strchr(called, '/');
    *slash = '\0';
    if (strlen(called) > MGCF_ISUP_DIGITS_MAX || strspn(called, "0123456789") != strlen(called))
        return -1;
    strcpy(o->called, called);
    for (char *p = slash + 1; p; ) {
        char *next = strchr(p, '/');
        if (next)
            *next++ = '\0';
        size_t n = strlen(p);
        bool st = !next && n > 0 && (p[n - 1] == 'F' || p[n - 1] == 'f');
        bool rel = !next && strcmp(p, "R") == 0;
        if (o->n_sams >= SAMS_MAX || n == 0 || n > MGCF_ISUP_DIGITS_MAX ||
            (!rel && strspn(p, "0123456789") != n - (st ? 1 : 0)))
            return -1;
        strcpy(o->sams[o->n_sams++], p);
        p = next;
    }
    return 0;
}

static int parse_order(char *s, struct call_order *o)
{
    char *called = strtok(s, ","), *calling = strtok(NULL, ","), *hold = strtok(NULL, ",");
    char *cic = strtok(NULL, ","), *end = NULL;
    if (!called || !calling || !digits_ok(calling))
        return -1;
    long want = cic ? strtol(cic, &end, 10) : 0;
    if ((cic && (*end || want < 1 || want > MGCF_ISUP_CIC_MAX)) || strtok(NULL, ","))
        return -1;
    o->want_cic = (uint16_t)want;
    if (strchr(called, '/')) {
        if (parse_overlap(called, o) < 0)
            return -1;
    } else if (digits_ok(called)) {
        strcpy(o->called, called);
    } else {
        return -1;
    }
    strcpy(o->calling, calling);
    o->hold_ms = hold ? (unsigned)atoi(hold) : 1000;
    return 0;
}

/* ---- --control: orders while running ---- */

static void control_line(char *line)
{
    if (strncmp(line, "originate ", 10) != 0 || g.n_orders >= ORIGINATE_MAX) {
        printf("error control: '%s' not understood (or %u orders already)\n", line,
               ORIGINATE_MAX);
        return;
    }
    struct call_order *o = &g.orders[g.n_orders];
    memset(o, 0, sizeof(*o));
    if (parse_order(line + 10, o) < 0) {
        printf("error control: bad order '%s'\n", line + 10);
        return;
    }
    o->sam_timer = su_timer_create(su_root_task(g.root), 1000);
    g.n_orders++;
    printf("control: originate %s,%s\n", o->called, o->calling);
    originate(o);
}

static int on_control(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    ssize_t n = read(g.control_fd, g.control_buf + g.control_len,
                     sizeof(g.control_buf) - 1 - g.control_len);
    if (n <= 0)
        return 0;
    g.control_len += (size_t)n;
    g.control_buf[g.control_len] = '\0';
    char *nl;
    while ((nl = strchr(g.control_buf, '\n'))) {
        *nl = '\0';
        control_line(g.control_buf);
        g.control_len -= (size_t)(nl + 1 - g.control_buf);
        memmove(g.control_buf, nl + 1, g.control_len + 1);
    }
    if (g.control_len == sizeof(g.control_buf) - 1)
        g.control_len = 0;              /* a line too long: dropped */
    return 0;
}

/* The FIFO at @path (made when missing), opened read-write so it never sees an end */
static int control_open(const char *path)
{
    if (mkfifo(path, 0600) < 0 && errno != EEXIST)
        return -errno;
    g.control_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (g.control_fd < 0)
        return -errno;
    su_wait_create(&g.control_wait, g.control_fd, SU_WAIT_IN);
    if (su_root_register(g.root, &g.control_wait, on_control, NULL, 0) < 0)
        return -EIO;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: pstn [--listen IP:PORT] [--peer IP] [--opc PC] [--dpc PC] "
                    "[--rc N] [--cics FIRST-LAST]\n"
                    "            [--behaviour answer[:HOLD_MS]|early|suspend[:MS]|ring|silent|busy|"
                    "reject:CAUSE] [--number DIGITS=BEHAVIOUR]... [--answer-ms MS]\n"
                    "            [--originate CALLED,CALLING[,HOLD_MS[,CIC]]]... "
                    "[--originate-delay MS] [--sam-ms MS]\n"
                    "            [--control FIFO] [--reset] [--time MS] [--sctp]\n"
                    "            (CALLED in overlap: IAM/SAM/...[F][/R], F: ST, R: REL)\n");
}

static void on_stop(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    ims_loop_stop(g.loop);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"peer", required_argument, NULL, 'p'},
        {"opc", required_argument, NULL, 'o'},    {"dpc", required_argument, NULL, 'd'},
        {"rc", required_argument, NULL, 'r'},     {"cics", required_argument, NULL, 'c'},
        {"behaviour", required_argument, NULL, 'b'}, {"number", required_argument, NULL, 'n'},
        {"answer-ms", required_argument, NULL, 'a'}, {"originate", required_argument, NULL, 'g'},
        {"reset", no_argument, NULL, 'R'},        {"time", required_argument, NULL, 't'},
        {"originate-delay", required_argument, NULL, 'D'},
        {"sam-ms", required_argument, NULL, 'S'},
        {"control", required_argument, NULL, 'C'},
        {"sctp", no_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    char listen_ip[64] = "127.0.0.100";
    unsigned port = MGCF_M3UA_PORT, rc_value = 1, time_ms = 0;
    const char *peer = "127.0.0.70", *control = NULL, *transport = "tcp";
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *eq;
        switch (opt) {
        case 'l':
            if (sscanf(optarg, "%63[^:]:%u", listen_ip, &port) != 2)
                goto bad;
            break;
        case 'p': peer = optarg; break;
        case 'o': g.opc = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'd': g.dpc = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': rc_value = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'c':
            if (sscanf(optarg, "%u-%u", &g.first, &g.last) != 2 || g.first > g.last ||
                g.last > MGCF_ISUP_CIC_MAX || g.last - g.first >= CIC_SLOTS)
                goto bad;
            break;
        case 'b':
            if (parse_behaviour(optarg, &g.behaviour, &g.cause, &g.hold_ms) < 0)
                goto bad;
            break;
        case 'n':
            eq = strchr(optarg, '=');
            if (!eq || g.n_numbers >= NUMBERS_MAX)
                goto bad;
            *eq = '\0';
            if (!digits_ok(optarg) ||
                parse_behaviour(eq + 1, &g.numbers[g.n_numbers].b,
                                &g.numbers[g.n_numbers].cause,
                                &g.numbers[g.n_numbers].hold_ms) < 0)
                goto bad;
            strcpy(g.numbers[g.n_numbers++].digits, optarg);
            break;
        case 'a': g.answer_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'g':
            if (g.n_orders >= ORIGINATE_MAX || parse_order(optarg, &g.orders[g.n_orders++]) < 0)
                goto bad;
            break;
        case 'R': g.reset = true; break;
        case 'D': g.originate_delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'S':
            g.sam_ms = (unsigned)strtoul(optarg, NULL, 10);
            if (g.sam_ms == 0)
                goto bad;
            break;
        case 't': time_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'C': control = optarg; break;
        case 'x': transport = "sctp"; break;
        default:
            goto bad;
        }
    }
    if (optind != argc || g.opc > 0xffffff || g.dpc > 0xffffff || g.opc == g.dpc)
        goto bad;

    ims_log_init("pstn", IMS_LOG_WARN, IMS_LOG_KV, NULL);
    g.loop = ims_loop_create(64);
    if (!g.loop)
        return 1;
    g.root = ims_loop_root(g.loop);
    for (unsigned i = 0; i <= g.last - g.first; i++) {
        g.cics[i].cic = (uint16_t)(g.first + i);
        g.cics[i].timer = su_timer_create(su_root_task(g.root), 1000);
    }
    g.originate_timer = su_timer_create(su_root_task(g.root), 1000);
    for (unsigned i = 0; i < g.n_orders; i++)
        g.orders[i].sam_timer = su_timer_create(su_root_task(g.root), 1000);
    struct mgcf_m3ua_link_cfg cfg = {
        .transport = transport, .local_addr = listen_ip, .local_port = port, .remote_addr = peer,
        .asp = {.role = MGCF_M3UA_SGP, .has_rc = rc_value != 0, .rc = rc_value},
    };
    if (mgcf_m3ua_link_create(g.root, &cfg, &link_ops, NULL, &g.link) < 0) {
        fprintf(stderr, "pstn: cannot listen on %s:%u (%s)\n", listen_ip, port, transport);
        return 1;
    }
    int crc = control ? control_open(control) : 0;
    if (crc < 0) {
        fprintf(stderr, "pstn: cannot open the control FIFO %s: %s\n", control, strerror(-crc));
        return 1;
    }
    printf("listening on %s:%u for %s, point code %u, MGCF %u, circuits %u-%u\n", listen_ip,
           port, peer, g.opc, g.dpc, g.first, g.last);
    if (time_ms) {
        g.stop_timer = su_timer_create(su_root_task(g.root), time_ms);
        su_timer_set(g.stop_timer, on_stop, NULL);
    }
    ims_loop_run(g.loop);
    mgcf_m3ua_link_destroy(g.link);
    for (unsigned i = 0; i <= g.last - g.first; i++)
        su_timer_destroy(g.cics[i].timer);
    su_timer_destroy(g.stop_timer);
    su_timer_destroy(g.originate_timer);
    if (g.control_fd >= 0)
        close(g.control_fd);
    for (unsigned i = 0; i < g.n_orders; i++)
        su_timer_destroy(g.orders[i].sam_timer);
    ims_loop_destroy(g.loop);
    return 0;
bad:
    usage();
    return 2;
}
