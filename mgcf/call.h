/*
 * call.h - the MGCF's call state machine (TS 29.163 clause 7, ITU-T Q.1912.5, Q.764),
 * pure: events in, actions out
 *
 * A call has three sides, each with its own state: the ISUP side (the circuit's call
 * control towards the PSTN), the SIP side (one dialog towards the IMS) and the media (one
 * context in the MGW with a TDM and an RTP termination). mgcf_call_step() takes one event
 * (a message received on either side, a reply of the MGW, a timer) and appends the actions
 * that follow (messages to send, H.248 commands, timers to start or stop, charging) to a
 * list the caller carries out in order. No I/O, no allocation, no clock: the unit tests
 * drive it directly (mgcf/tests/check_call.c), calls.c runs it for real.
 *
 * Two directions:
 *   MGCF_DIR_OUT  IMS -> PSTN (the I-MGCF of TS 29.163 7.2.3.1): an INVITE in, an IAM out.
 *                 The MGW context is set up first (the IMS side's offer becomes the RTP
 *                 termination's Remote), then the IAM goes; ACM/CPG give 180 or 183 (with
 *                 the SDP answer: early media), ANM gives 200; T7 guards the ACM, T9 the
 *                 answer. With preconditions (precond set by the caller) the IAM waits:
 *                 a 183 with the answer goes instead, and an UPDATE whose offer meets them
 *                 (ev.met) sends the IAM once answered; TPRECOND over gives 580.
 *   MGCF_DIR_IN   PSTN -> IMS (the O-MGCF of TS 29.163 7.2.3.2): an IAM in, an INVITE out
 *                 with the MGW's Local SDP as the offer; 180/183 give ACM (then CPG), 2xx
 *                 gives ANM (CON when no ACM was sent).
 * Releases in both directions: BYE, CANCEL and error responses <-> REL/RLC, the causes
 * and statuses through interwork_tables.h; the RLC to a REL received goes once the MGW has
 * released the circuit's connection (Q.764 2.3.1).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_CALL_H
#define MGCF_CALL_H

#include <stdbool.h>
#include <stdint.h>

enum mgcf_dir { MGCF_DIR_OUT = 0, MGCF_DIR_IN = 1 };

/* ISUP side */
enum mgcf_isup_side {
    MGCF_I_IDLE = 0,        /* nothing sent or received yet (OUT: waiting for the MGW) */
    MGCF_I_SETUP,           /* OUT: IAM sent (T7); IN: IAM received, nothing sent back */
    MGCF_I_ALERTING,        /* OUT: ACM received (T9); IN: ACM sent */
    MGCF_I_ANSWERED,        /* ANM or CON, either way */
    MGCF_I_REL_SENT,        /* REL sent, RLC awaited (T1, T5) */
    MGCF_I_REL_RCVD,        /* REL received, RLC owed once the media is released */
    MGCF_I_DONE,
};

/* SIP side */
enum mgcf_sip_side {
    MGCF_S_NONE = 0,        /* IN: no INVITE sent yet */
    MGCF_S_INVITED,         /* OUT: INVITE received, final response owed;
                             * IN: INVITE sent, no provisional response yet */
    MGCF_S_EARLY,           /* a provisional response sent (OUT) or received (IN) */
    MGCF_S_CANCELLING,      /* IN: CANCEL sent, the INVITE's final response awaited */
    MGCF_S_CONFIRMING,      /* OUT: 2xx sent, ACK awaited */
    MGCF_S_CONFIRMED,       /* the dialog is up (OUT: ACK received; IN: 2xx and ACK) */
    MGCF_S_BYE_SENT,        /* our BYE awaits its response */
    MGCF_S_DONE,
};

/* Media (the MGW context) */
enum mgcf_media_side {
    MGCF_M_NONE = 0,
    MGCF_M_ADDING,          /* Add sent, reply awaited */
    MGCF_M_READY,
    MGCF_M_SUBTRACTING,     /* Subtract sent, reply awaited */
    MGCF_M_DONE,
};

/* Timers of a call (Q.764 Annex A; the durations are the caller's) */
enum mgcf_timer {
    MGCF_T7 = 0,            /* awaiting ACM (OUT) */
    MGCF_T9,                /* awaiting answer after ACM (OUT) */
    MGCF_T1,                /* REL sent, RLC awaited: send REL again */
    MGCF_T5,                /* initial T1 period over: reset the circuit */
    MGCF_T6,                /* suspended by the network (SUS): RES awaited (Q.764 2.5.2) */
    MGCF_T2,                /* SIP-I: the peer's SUS, user initiated: its RES awaited */
    MGCF_T6_SIPI,           /* SIP-I: the peer's SUS, network initiated: its RES awaited */
    MGCF_T35,               /* IN, overlap: the called number too short, a SAM awaited
                             * (Q.764 2.1.2.1); run by isup_link.c, not by this machine */
    MGCF_TDIGITS,           /* IN, overlap: long enough, more digits awaited (the same) */
    MGCF_TPRECOND,          /* OUT, preconditions (RFC 3312): the IAM waits for the IMS
                             * side's resources (mgcf.precondition_timeout_ms) */
    MGCF_TIMER_COUNT
};

enum mgcf_ev_type {
    MGCF_EV_START,          /* the call may proceed: OUT after the INVITE was accepted,
                             * IN after the IAM was (circuit free): the MGW context next */
    MGCF_EV_MG_ADDED,       /* the Add reply: context and RTP termination ready */
    MGCF_EV_MG_FAILED,      /* an Add failed or timed out (the context is not there) */
    MGCF_EV_MG_MODIFIED,    /* a Modify reply (ok: success) */
    MGCF_EV_MG_SUBTRACTED,  /* the Subtract reply, failed or timed out: context gone */
    MGCF_EV_MG_LOST,        /* the MGW restarted or was lost: the context is gone */
    MGCF_EV_BACKOFF,        /* OUT: the circuit is the PSTN's (dual seizure lost, Q.764
                             * 2.10.1.4, or its IAM came before ours went): another circuit
                             * (ok) or none */
    MGCF_EV_ISUP,           /* an ISUP message for the call: isup_type and its fields */
    MGCF_EV_RESET,          /* the circuit was reset (RSC, GRS): the call is gone there */
    MGCF_EV_SIP_PROGRESS,   /* IN: a 1xx (101-199) with or without SDP */
    MGCF_EV_SIP_SUCCESS,    /* IN: a 2xx to the INVITE */
    MGCF_EV_SIP_FAILURE,    /* IN: a 3xx-6xx to the INVITE, or its timeout (408) */
    MGCF_EV_SIP_ACK,        /* OUT: the ACK of our 2xx (sdp: an answer in it) */
    MGCF_EV_SIP_ACK_TIMEOUT,/* OUT: no ACK came for our 2xx */
    MGCF_EV_SIP_CANCEL,     /* OUT: CANCEL of the INVITE (reason: a Q.850 cause or -1) */
    MGCF_EV_SIP_BYE,        /* BYE from the IMS side (already answered 200) */
    MGCF_EV_SIP_BYE_DONE,   /* the final response to our BYE (or its timeout) */
    MGCF_EV_SIP_REINVITE,   /* a re-INVITE with an offer (sdp) in the confirmed dialog */
    MGCF_EV_SIP_UPDATE,     /* an UPDATE with an offer (RFC 3311) in the early or confirmed
                             * dialog: answered like a re-INVITE once the MGW is modified */
    MGCF_EV_TIMER,          /* timer @timer expired */
    MGCF_EV_RELEASE,        /* the node releases the call itself (@cause: why) */
    MGCF_EV_SIP_PRACK_TIMEOUT, /* OUT: no PRACK for a reliable 18x within 64*T1; a 2xx held
                                * back for it never left (RFC 3262 3) */
};

struct mgcf_ev {
    enum mgcf_ev_type type;
    uint8_t isup_type;      /* MGCF_EV_ISUP: ISUP_ACM, ISUP_CPG, ISUP_ANM, ISUP_CON,
                             * ISUP_REL, ISUP_RLC, ISUP_SUS, ISUP_RES */
    bool network;           /* SUS, RES: network initiated (else by the ISDN subscriber) */
    bool sipi;              /* SUS, RES: from the SIP-I peer (in an INFO), not the PSTN */
    uint8_t called_status;  /* ACM: backward call indicators' called party status */
    uint8_t event;          /* CPG: event indicator */
    bool inband;            /* ACM/CPG: in-band information available */
    uint8_t cause;          /* REL, MGCF_EV_RELEASE: cause value; RESET: the cause to use */
    uint8_t location;       /* REL: cause location */
    int status;             /* SIP_PROGRESS/SUCCESS/FAILURE: the status */
    int reason;             /* SIP: the Q.850 cause of a Reason header, or -1 */
    bool sdp;               /* SIP: the message carries SDP */
    bool ok;                /* MG_MODIFIED: success */
    bool met;               /* SIP_UPDATE: its offer says the preconditions are met */
    bool reliable;          /* SIP_PROGRESS: sent reliably (RFC 3262: RSeq, 100rel) */
    enum mgcf_timer timer;  /* MGCF_EV_TIMER */
};

enum mgcf_act_type {
    MGCF_ACT_MG_ADD,        /* Add TDM + RTP in a new context (Remote: the IMS offer when
                             * there is one); mode: the RTP termination's */
    MGCF_ACT_MG_READD,      /* back-off: the TDM termination of another circuit */
    MGCF_ACT_MG_MODIFY,     /* Modify the RTP termination: mode, and the Remote SDP when
                             * sdp is set (the IMS side's latest answer or offer) */
    MGCF_ACT_MG_SUBTRACT,   /* Subtract the whole context (statistics in the reply) */
    MGCF_ACT_ISUP,          /* send isup_type: IAM, ACM (called_status), CPG (event), ANM,
                             * CON, REL (cause, location), RLC */
    MGCF_ACT_CIRCUIT_RESET, /* T5 over: reset the circuit (RSC, Q.764 2.10.3) */
    MGCF_ACT_SIP_RESPONSE,  /* OUT: answer the INVITE with status (sdp: our answer; cause:
                             * a Q.850 Reason when set) */
    MGCF_ACT_SIP_INVITE,    /* IN: send the INVITE (our offer) */
    MGCF_ACT_SIP_ACK,       /* IN: ACK the 2xx */
    MGCF_ACT_SIP_CANCEL,    /* IN: CANCEL the INVITE (Reason: cause) */
    MGCF_ACT_SIP_BYE,       /* BYE (Reason: cause) */
    MGCF_ACT_SIP_REINVITE_ANSWER, /* answer the pending re-INVITE or UPDATE: status (200:
                                   * with SDP) */
    MGCF_ACT_TIMER_START,   /* timer */
    MGCF_ACT_TIMER_STOP,    /* timer */
    MGCF_ACT_CHG_START,     /* the call was answered: charging session START */
    MGCF_ACT_CHG_EVENT,     /* the attempt failed with SIP status: charging EVENT */
    MGCF_ACT_CHG_STOP,      /* the answered call ended: charging session STOP */
    MGCF_ACT_FREE,          /* every side is done: free the call and its circuit */
};

struct mgcf_act {
    enum mgcf_act_type type;
    uint8_t isup_type;
    uint8_t called_status;
    uint8_t event;
    bool inband;
    uint8_t cause, location;
    int status;
    bool sdp;
    int mode;               /* MG_ADD, MG_MODIFY: enum mgcf_mg_mode of the RTP termination */
    enum mgcf_timer timer;
};

#define MGCF_ACTS_MAX 16

struct mgcf_acts {
    unsigned n;
    bool overflow;          /* a programming error: more actions than MGCF_ACTS_MAX */
    struct mgcf_act a[MGCF_ACTS_MAX];
};

struct mgcf_call_sm {
    enum mgcf_dir dir;
    enum mgcf_isup_side isup;
    enum mgcf_sip_side sip;
    enum mgcf_media_side media;
    bool offer;             /* OUT: the INVITE had an offer (else ours goes in the 2xx) */
    bool precond;           /* OUT: preconditions (RFC 3312) not met yet: the IAM waits
                             * (a reliable 183 with our answer goes once the MGW is ready,
                             * then TPRECOND runs) */
    bool precond_met;       /* ... an UPDATE meeting them waits for the MGW's Modify */
    bool subtract_when_added; /* released while the Add was pending */
    bool move_when_added;   /* OUT: the circuit was taken while the Add was pending: the TDM
                             * termination moves to the new one once the Add is in */
    bool answered;          /* a 2xx passed (charging session open) */
    bool backward_seen;     /* OUT: a backward message (ACM, CPG, ANM, CON) arrived;
                             * IN: the PSTN was told the callee is alerted */
    bool inband_told;       /* IN: the PSTN was told in-band information is available */
    bool reinvite;          /* a re-INVITE or UPDATE waits for the MGW's Modify */
    bool ims_answered;      /* IN: the IMS side answered our INVITE's offer (a reliable 18x
                             * with SDP, or the 2xx) */
    bool suspended;         /* a SUS (network initiated) came, no RES yet: T6 runs */
    bool peer_suspended;    /* SIP-I: the peer's SUS came, no RES yet: peer_timer runs */
    enum mgcf_timer peer_timer;        /* MGCF_T2 (user initiated) or MGCF_T6_SIPI */
    uint8_t rel_cause, rel_location;   /* the REL we sent (T1 sends it again) */
    uint8_t cancel_cause;   /* IN: the cause of our CANCEL (a 2xx crossing it gets a BYE) */
    int final_status;       /* the INVITE's final status (charging EVENT) */
    bool freed;
};

/* Start a call in @dir (all sides idle) */
void mgcf_call_init(struct mgcf_call_sm *c, enum mgcf_dir dir);

/*
 * mgcf_call_step - apply @ev to @c, appending what to do to @out (not cleared: the caller
 * clears it). An event that does not fit the call's state changes nothing and returns
 * -EPROTO (the caller logs it: a peer's message out of place); 0 otherwise.
 */
int mgcf_call_step(struct mgcf_call_sm *c, const struct mgcf_ev *ev, struct mgcf_acts *out);

/* Is the call ready to give way in a dual seizure (OUT: IAM sent, no backward message)? */
bool mgcf_call_seizing(const struct mgcf_call_sm *c);
/*
 * Has the call a circuit the PSTN cannot know it took (OUT: the MGW's Add outstanding or
 * preconditions awaited, no IAM sent yet)? An IAM on it wins: MGCF_EV_BACKOFF.
 */
bool mgcf_call_unsignalled(const struct mgcf_call_sm *c);

/*
 * Does an offer of ours wait for the IMS side's answer? IN: the INVITE's, until a reliable
 * 18x with SDP or the 2xx; OUT: the one in our 2xx to an INVITE without SDP, until the ACK.
 * An offer of the IMS side crossing it gets 491 (RFC 3311 5.2).
 */
bool mgcf_call_offer_waits(const struct mgcf_call_sm *c);

/* Names for logs */
const char *mgcf_call_ev_name(enum mgcf_ev_type t);
const char *mgcf_call_act_name(enum mgcf_act_type t);
const char *mgcf_call_timer_name(enum mgcf_timer t);
/* "isup=SETUP sip=EARLY media=READY" into @buf */
const char *mgcf_call_state_text(const struct mgcf_call_sm *c, char *buf, unsigned len);

#endif
