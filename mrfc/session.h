/*
 * session.h - a SIP session of the MRF and a conference, as the files of the MRFC share
 * them (session.c owns sessions, conf.c conferences; the Cr packages and online charging
 * read and drive them)
 *
 * Every object here belongs to the loop thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_SESSION_H
#define MRFC_SESSION_H

#include "mrfc.h"
#include "sdp.h"
#include "service.h"

#define MRFC_SDP_BUF 2048
#define MRFC_CONNID_MAX 130       /* "<tag>~<tag>" of RFC 6230 16.1, NUL included */

struct mrfc_chan;
struct mrfc_ivr_dialog;
struct mrfc_online;

/* A mixer the MRFC knows by an identifier: an RFC 4240 conference (conf=<id>), one made by
 * an AS (createconference), or the hidden mix of two connections an AS joined */
struct mrfc_conf {
    char id[65];
    uint32_t mixer;
    unsigned legs;
    bool controlled;              /* made over Cr: lives until destroyconference */
    bool hidden;                  /* a join of two connections: no identifier to the AS */
    struct mrfc_chan *owner;      /* the channel that made it (controlled ones) */
};

enum mrfc_session_state {
    MRFC_S_WAIT_ACK = 1,          /* the 2xx of the first INVITE is out */
    MRFC_S_CONFIRMED,
    MRFC_S_ENDING,                /* our BYE is out, or theirs came: no more requests */
};

struct mrfc_session {
    struct mrfc_session *next, **prevp;
    struct mrfc *mrfc;
    int state;                    /* enum mrfc_session_state */
    uint32_t leg;                 /* media leg id */
    bool leg_open;
    uint16_t port;
    struct mrfc_service svc;
    struct mrfc_play_item item;   /* annc: what play= names */
    struct mrfc_conf *conf;       /* the mix the leg is in */
    struct mrfc_chan *joined_by;  /* the channel whose join put it there (NULL: RFC 4240) */
    struct mrfc_chan *chan;       /* MRFC_SVC_CFW: the control channel of this dialog */
    struct mrfc_ivr_dialog *ivr;  /* the IVR dialog running on the leg */
    struct mrfc_online *ro;       /* online charging (Ro) of the session */
    nta_leg_t *dialog;
    uint32_t rseq;                /* the CSeq of the last request taken in the dialog */
    nta_incoming_t *invite;       /* an INVITE whose 2xx waits for its ACK */
    bool offer_out;               /* that 2xx carried our offer: the ACK has the answer */
    bool bye_pending;             /* end once the ACK has come (or never will) */
    const char *bye_why;
    bool media_on;                /* the announcement was started */
    nta_outgoing_t *bye;
    su_timer_t *limit;            /* mrfc.max_duration */
    su_timer_t *reaper;           /* frees the session outside nta's callbacks */
    struct mrfc_sdp_neg neg;
    bool has_neg;
    uint64_t sdp_id, sdp_version;
    char sdp[MRFC_SDP_BUF];       /* the last SDP we sent */
    char call_id[128];
    char local_tag[64], remote_tag[64];
    char connid[MRFC_CONNID_MAX]; /* "<remote tag>~<local tag>": the AS's view */
    char contact[128];
    time_t started;
};

/* What the first INVITE of a media session asks, once read and checked */
struct mrfc_invite {
    struct mrfc_service svc;
    struct mrfc_play_item item;   /* annc: the prompt */
    bool offer;                   /* it carried an SDP offer, read into @neg */
    struct mrfc_sdp_neg neg;
    bool tcp;                     /* it came over TCP (our Contact says so) */
};

/* ---- session.c ---- */

/*
 * mrfc_session_accept - set up the session @inv asks for and answer @irq 200 (or refuse
 * it); @ro, the online charging granted for it (or NULL), goes with the session. Returns 0.
 */
int mrfc_session_accept(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                        const struct mrfc_invite *inv, struct mrfc_online *ro);

/* The session whose dialog's tags make @connid ("a~b", in either order), or NULL */
struct mrfc_session *mrfc_session_by_connid(struct mrfc *mrfc, const char *connid);
/* End @s with a BYE saying @why (after the ACK of our 2xx); nothing when it is ending */
void mrfc_session_end(struct mrfc_session *s, const char *why);
/* Logs with the session's Call-ID */
void mrfc_session_log(const struct mrfc_session *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- online.c: online charging (Ro) ---- */

/*
 * mrfc_online_invite - online charging of the INVITE of @irq: 0 when it is not charged
 * online (go on at once); 1 when the INVITE was answered (refused) or waits for the OCS
 * (then online.c calls mrfc_session_accept() or refuses it when the answer comes).
 */
int mrfc_online_invite(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                       const struct mrfc_invite *inv);
/* The 2xx of @s went out: the reserved time runs (ECUR) */
void mrfc_online_answered(struct mrfc_session *s);
/* @s ends: the used time is reported (CCR-TERMINATION) */
void mrfc_online_end(struct mrfc_session *s);
/* A grant not used (the session could not be set up): released */
void mrfc_online_drop(struct mrfc_online *ro);
int mrfc_online_init(struct mrfc *mrfc);
void mrfc_online_stop(struct mrfc *mrfc);

/* ---- conf.c ---- */

/* The conference of identifier @id, or NULL */
struct mrfc_conf *mrfc_conf_find(struct mrfc *mrfc, const char *id);
/*
 * mrfc_conf_create - a new mixer known as @id (an empty @id: a fresh unique one, kept by
 * @c); @controlled ones stay until mrfc_conf_destroy, the others go with their last leg.
 * 0 with *@out, -EEXIST when @id is taken, -EAGAIN (media queue full), -ENOMEM.
 */
int mrfc_conf_create(struct mrfc *mrfc, const char *id, bool controlled, bool hidden,
                     struct mrfc_chan *owner, struct mrfc_conf **out);
/* Put the leg of @s in @c (leaving nothing: the caller checks it is in no mix). 0 or -errno */
int mrfc_conf_join(struct mrfc_session *s, struct mrfc_conf *c, struct mrfc_chan *by);
/* Take the leg of @s out of its mix (the mix goes when it was its last leg and not
 * controlled). @notify: tell the channel that made the join (unjoin-notify). */
void mrfc_conf_leave(struct mrfc_session *s, bool notify);
/* End @c: its legs leave it (each channel that joined one is told), then it goes */
void mrfc_conf_destroy(struct mrfc *mrfc, struct mrfc_conf *c);
int mrfc_conf_init(struct mrfc *mrfc);
void mrfc_conf_fini(struct mrfc *mrfc);

#endif
