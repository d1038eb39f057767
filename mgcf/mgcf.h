/*
 * mgcf.h - the MGCF daemon's context and cross-file functions
 *
 * Everything runs on the daemon's loop thread: SIP (nta), the M3UA association carrying
 * ISUP (isup_link.c), H.248 towards the MGW (mgw.c), timers. The HTTP API hands its work
 * to that thread (ims_loop_call). No locks.
 *
 * One call (struct mgcf_call) ties a SIP dialog, an ISUP circuit and an MGW context; its
 * state machine is pure (call.h); calls.c feeds it events and carries out its actions
 * through sip.c, isup_link.c, mgw.c and charging.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_H
#define MGCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "call.h"
#include "cic.h"
#include "daemon.h"
#include "interwork.h"
#include "isup.h"
#include "netlist.h"
#include "sipi.h"
#include "overlap.h"
#include "precondition.h"

struct ims_chg;
struct ims_chg_dialog;
struct mgcf_isup_link;
struct mgcf_mgw;

struct mgcf_conf {
    /* ISUP over M3UA */
    char isup_addr[64];             /* the signalling gateway / PSTN switch */
    unsigned isup_port;
    char isup_transport[8];         /* tcp | sctp (M3UA's) */
    uint32_t opc;                   /* our point code */
    uint8_t ni;                     /* network indicator of the routing label */
    uint32_t rc;                    /* routing context, 0: none */
    unsigned m3ua_ack_ms, m3ua_beat_ms, m3ua_reconnect_ms;
    unsigned timer_ms[MGCF_TIMER_COUNT];   /* by enum mgcf_timer */
    struct mgcf_overlap_conf overlap;      /* incoming overlap signalling (IAM + SAMs) */
    unsigned t_maint_ms;            /* RSC, GRS, BLO, UBL sent again after (T16, T22, T12,
                                     * T14) */
    /* H.248 */
    char mgw_addr[64];
    unsigned mgw_port;
    unsigned h248_port;             /* our own, on node.address */
    unsigned h248_retrans_ms;       /* first retransmission; doubled, capped at 4 s */
    unsigned h248_timeout_ms;       /* a request without reply (or Pending) fails after */
    unsigned h248_pending_ms;       /* a request answered Pending fails after */
    unsigned mgw_audit_ms;          /* AuditValue of ROOT every (0: never) */
    /* SIP */
    char icscf[256];                /* incoming PSTN calls go there */
    char country_code[8];
    unsigned max_calls;
    /* SIP-I (Q.1912.5 profile C, sipi.h): the SIP peers at these addresses get the ISUP
     * message in an application/ISUP part, and theirs is used */
    struct ims_netlist sip_i_peers;
    bool sip_i_required;            /* the part's handling=required (else optional) */
    char api_token[256];
};

struct mgcf_call {
    struct mgcf *m;
    struct mgcf_call *prev, *next;
    unsigned id;
    struct mgcf_call_sm sm;
    struct mgcf_trunk *trunk;
    struct mgcf_circuit *circuit;   /* NULL once it is no longer this call's */
    uint16_t cic;
    struct mgcf_isup_msg iam;       /* OUT: the IAM to send; IN: the one received (its
                                     * called number completed by the SAMs) */
    bool collecting;                /* IN: overlap, the called number is not complete */
    bool st;                        /* IN: overlap, the end of pulsing (ST) was received */
    /* SIP */
    nta_leg_t *leg;
    uint32_t rseq;                  /* the CSeq of the last request taken in the dialog */
    nta_incoming_t *irq;            /* OUT: the INVITE, until its ACK (or final failure) */
    nta_incoming_t *reinvite;       /* a re-INVITE or an UPDATE waiting for the MGW */
    bool update;                    /* ... it is an UPDATE (no ACK follows its answer) */
    bool rel100;                    /* OUT: the INVITE supports or requires 100rel: our
                                     * 18x go reliably (RFC 3262) */
    bool precond_used;              /* OUT: preconditions (RFC 3312): our SDP carries the qos
                                     * status of ... */
    struct mgcf_precond precond;    /* ... the call, as our last answer said it */
    struct mgcf_precond precond_next; /* ... as the UPDATE waiting for the MGW offers it */
    nta_outgoing_t *prack_orq;      /* IN: our PRACK of the last reliable 18x */
    nta_outgoing_t *invite_orq;     /* IN: our INVITE */
    nta_outgoing_t *bye_orq;
    nta_outgoing_t *info_orq;       /* SIP-I: our INFO carrying a SUS or RES ... */
    struct mgcf_sipi_infoq info_queue;  /* ... and those waiting for its final answer */
    msg_t *invite;                  /* the initial INVITE (received or sent): charging */
    msg_t *answer;                  /* its 2xx */
    char call_id[128];
    char icid[128];
    char pcv[320];                  /* IN: the P-Charging-Vector we made */
    char sip_fmts[MGCF_IW_FMTS_MAX];/* OUT: the G.711 formats of the offer */
    struct mgcf_iw_media ims;       /* the IMS side's RTP (from its offer or answer) */
    bool ims_known;
    struct mgcf_iw_media mgw;       /* the MGW's RTP termination (its Local) */
    char mgw_fmts[MGCF_IW_FMTS_MAX];/* the formats its Add reply took: what it can do */
    char fmts_next[MGCF_IW_FMTS_MAX];/* those of our answer to the offer waiting for the MGW */
    bool mgw_known;
    unsigned long sdp_session;
    unsigned sdp_version;
    /* MGW */
    uint32_t context;               /* 0: none */
    char tdm[64];                   /* tdm/<trunk>/<cic> */
    char rtp[64];                   /* the RTP termination the MGW chose */
    char old_tdm[64];               /* back-off: the termination to subtract */
    unsigned mg_pending;            /* H.248 transactions of this call not yet answered */
    /* timers, charging */
    su_timer_t *timer[MGCF_TIMER_COUNT];
    struct ims_chg_dialog *chg;
    time_t t0;
    bool stepping;                  /* mgcf_call_event() runs: events wait in its queue */
    bool freeing;
    struct mgcf_iw_origin origin;   /* IN: the INVITE's identities, from the IAM */
    /* SIP-I: the call's SIP peer speaks it (OUT: the INVITE came from a sip_i_peers
     * address; IN: mgcf.icscf is one) */
    bool sip_i;
    struct mgcf_isup_msg isup_rx;   /* the last ISUP message from the PSTN ... */
    bool isup_rx_fresh;             /* ... not yet carried in a SIP message */
    struct mgcf_isup_msg sipi_rx;   /* the last ISUP message from the SIP-I peer ... */
    bool sipi_rx_fresh;             /* ... not yet sent to the PSTN in place of ours */
};

struct mgcf {
    struct ims_daemon *d;
    struct mgcf_conf conf;
    struct mgcf_iw_conf iw;
    struct mgcf_trunk *trunks;
    size_t n_trunks;
    struct mgcf_isup_link *isup;
    struct mgcf_mgw *mgw;
    struct ims_chg *chg;
    struct mgcf_call *calls;        /* list of live calls */
    unsigned n_calls;
    unsigned next_id;
    su_timer_t *tick;
    int isup_state;                 /* enum mgcf_m3ua_state (atomic: /health reads it) */
    int mgw_state;                  /* mgw.c's state (atomic: /health reads it) */
    url_t *icscf_url;               /* conf.icscf resolved through sip.hosts */
    bool icscf_sip_i;               /* the I-CSCF's address is one of conf.sip_i_peers */
    bool stopping;                  /* mgcf_stop() has begun (API jobs check it) */
    su_home_t home[1];
};

su_root_t *mgcf_root(struct mgcf *m);

/* ---- calls.c: the live calls ---- */

void mgcf_calls_metrics(void);
/* A new call in @dir (NULL at max_calls or out of memory); not yet on a circuit */
struct mgcf_call *mgcf_call_new(struct mgcf *m, enum mgcf_dir dir);
/* Put @c on circuit @cic of @t (the TDM termination's name follows) */
void mgcf_call_seize(struct mgcf_call *c, struct mgcf_trunk *t, struct mgcf_circuit *cc);
/*
 * mgcf_call_event - run @ev through the call's state machine and carry out what follows.
 * The call may be freed on return (when it ended): do not touch it after.
 */
void mgcf_call_event(struct mgcf_call *c, const struct mgcf_ev *ev);
/* A simple event of @type (with a cause for RESET and RELEASE) */
void mgcf_call_simple(struct mgcf_call *c, enum mgcf_ev_type type, uint8_t cause);
/* Release every call (the daemon stops): nothing more is sent, resources are freed */
void mgcf_calls_drop(struct mgcf *m);
/* Every call with a context in the MGW: MGCF_EV_MG_LOST */
void mgcf_calls_mg_lost(struct mgcf *m);
/* Start (@run) or stop timer @t of @c (its duration: conf.timer_ms[@t]) */
void mgcf_call_timer(struct mgcf_call *c, enum mgcf_timer t, bool run);
/* Log line with the call's identifiers */
void mgcf_call_log(const struct mgcf_call *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- sip.c: the SIP side ---- */

void mgcf_sip_metrics(void);
/* An initial INVITE from a trusted peer (the request function keeps @irq) */
int mgcf_sip_invite(struct mgcf *m, nta_incoming_t *irq, const sip_t *sip);
/* Carry out the SIP actions of a call */
void mgcf_sip_respond(struct mgcf_call *c, int status, bool sdp, uint8_t cause);
void mgcf_sip_send_invite(struct mgcf_call *c);
void mgcf_sip_ack(struct mgcf_call *c);
void mgcf_sip_cancel(struct mgcf_call *c, uint8_t cause);
void mgcf_sip_bye(struct mgcf_call *c, uint8_t cause);
void mgcf_sip_reinvite_answer(struct mgcf_call *c, int status, bool sdp);
/* SIP-I: @isup (a SUS or RES from the PSTN) to the call's peer in an INFO (Q.1912.5 C),
 * queued while one of ours awaits its final answer; the queue full releases the call */
void mgcf_sip_info(struct mgcf_call *c, const struct mgcf_isup_msg *isup);
/* Is @msg (a request or response received) from one of mgcf.sip_i_peers? */
bool mgcf_sip_from_sipi_peer(const struct mgcf *m, msg_t *msg);
/* Free the call's SIP objects (no message sent) */
void mgcf_sip_close(struct mgcf_call *c);

/* ---- isup_link.c: M3UA and ISUP ---- */

int mgcf_isup_start(struct mgcf *m);
void mgcf_isup_stop(struct mgcf *m);
bool mgcf_isup_active(const struct mgcf *m);
/* Send an ISUP message of a call: IAM (c->iam), ACM, CPG, ANM, CON, REL, RLC; SUS, RES of
 * a SIP-I peer (c->sipi_rx, Q.1912.5 C INFO) */
void mgcf_isup_send_call(struct mgcf_call *c, const struct mgcf_act *a);
/* Overlap: T35 or Tdigits of @c expired (calls.c's timers hand them here) */
void mgcf_isup_overlap_timeout(struct mgcf_call *c, enum mgcf_timer t);
/* Reset one circuit (RSC, repeated until RLC); maintenance: block or unblock it */
int mgcf_isup_reset_circuit(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc);
int mgcf_isup_block(struct mgcf *m, struct mgcf_trunk *t, struct mgcf_circuit *cc, bool block);
/* Reset every circuit of @t (GRS per group of 32) */
int mgcf_isup_reset_trunk(struct mgcf *m, struct mgcf_trunk *t);
enum ims_health mgcf_isup_health(void *arg, json_t *peers);
const char *mgcf_isup_state(const struct mgcf *m);

/* ---- mgw.c: H.248 towards the MGW ---- */

int mgcf_mgw_start(struct mgcf *m);
void mgcf_mgw_stop(struct mgcf *m);
bool mgcf_mgw_ready(const struct mgcf *m);
/* The call's H.248 commands; the outcome comes back as MGCF_EV_MG_* events */
void mgcf_mgw_add(struct mgcf_call *c, int mode);
void mgcf_mgw_readd(struct mgcf_call *c);
void mgcf_mgw_modify(struct mgcf_call *c, int mode, bool remote);
void mgcf_mgw_subtract(struct mgcf_call *c);
/* The call goes: its transactions' replies will find nobody */
void mgcf_mgw_forget(struct mgcf_call *c);
enum ims_health mgcf_mgw_health(void *arg, json_t *peers);
const char *mgcf_mgw_state(const struct mgcf *m);

/* ---- charging.c: Rf, Node-Functionality MGCF ---- */

int mgcf_charging_init(struct mgcf *m);
void mgcf_charging_stop(struct mgcf *m);
void mgcf_charging_tick(struct mgcf *m);
void mgcf_charging_start(struct mgcf_call *c);
void mgcf_charging_event(struct mgcf_call *c, int status);
void mgcf_charging_end(struct mgcf_call *c);

/* ---- api.c: /api/v1/circuits ---- */

int mgcf_api_init(struct mgcf *m);

#endif
