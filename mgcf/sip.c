/*
 * sip.c - the MGCF's SIP side: a user agent (TS 24.229 5.5), one dialog per call
 *
 * The MGCF terminates the IMS session and originates the ISUP call (and the reverse), so
 * it is a UA, not a proxy: nta runs in UA mode (2xx retransmitted until the ACK, the ACK
 * and CANCEL of an INVITE given to the INVITE's server transaction), each call has its own
 * leg (nta_leg_t) created from the INVITE it received (UAS) or sends (UAC). Requests
 * inside the dialog reach on_leg_request(); what happens next is the call's state
 * machine's business (calls.c).
 *
 *   IMS -> PSTN: INVITE (from the BGCF) -> 100 -> [MGW Add, IAM] -> 180/183 (SDP for early
 *                media) -> 200 (SDP) <- ACK ... BYE -> 200; CANCEL -> 200 + 487.
 *   PSTN -> IMS: [IAM, MGW Add] -> INVITE (tel: URI, P-Asserted-Identity, our ICID) to the
 *                I-CSCF -> 18x -> 200 -> ACK ... BYE.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "interwork_tables.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"
#include "sipi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, PRACK, UPDATE"
#define SDP_MAX 1024

static struct ims_counter *m_refused;

void mgcf_sip_metrics(void)
{
    m_refused = ims_counter_new("mgcf_invites_refused_total", "INVITEs answered with an error "
                                "before any ISUP message was sent", NULL);
}

static struct ims_sip *sip_of(const struct mgcf_call *c)
{
    return c->m->d->sip;
}

static nta_agent_t *agent_of(const struct mgcf_call *c)
{
    return ims_sip_agent(sip_of(c));
}

/* Our Contact: a SIP URI of this node */
static const char *contact_of(const struct mgcf *m, char *buf, size_t len)
{
    const url_t *own = ims_sip_own_uri(m->d->sip);
    snprintf(buf, len, "<sip:mgcf@%s%s%s>", own->url_host, own->url_port ? ":" : "",
             own->url_port ? own->url_port : "");
    return buf;
}

static const char *reason_of(uint8_t cause, char *buf, size_t len)
{
    if (!cause || mgcf_iw_reason_format(cause, buf, len) < 0)
        return NULL;
    return buf;
}

/* Our SDP (the MGW's RTP termination) for the IMS side, with the qos status of a call
 * with preconditions (media level: after the audio stream's lines); NULL when unknown */
static const char *our_sdp(struct mgcf_call *c, bool new_version, char *buf, size_t len)
{
    if (!c->mgw_known)
        return NULL;
    if (new_version || c->sdp_version == 0)
        c->sdp_version++;
    int n = mgcf_iw_sdp_write(&c->mgw, c->sdp_session, c->sdp_version,
                              ims_sip_address(sip_of(c)), buf, len);
    if (n < 0)
        return NULL;
    if (c->precond_used && mgcf_precond_write(&c->precond, buf + n, len - (size_t)n) < 0)
        return NULL;
    return buf;
}

bool mgcf_sip_from_sipi_peer(const struct mgcf *m, msg_t *msg)
{
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    return ai && ai->ai_addr && ims_netlist_match(&m->conf.sip_i_peers, ai->ai_addr);
}

/* Is the request of @irq from a SIP-I peer? */
static bool irq_from_sipi_peer(const struct mgcf *m, nta_incoming_t *irq)
{
    msg_t *msg = nta_incoming_getrequest(irq);
    bool yes = mgcf_sip_from_sipi_peer(m, msg);
    if (msg)
        msg_destroy(msg);
    return yes;
}

/*
 * body_of - the SDP of @sip into @m (and its qos status lines into @qos unless NULL: none
 * when there is no SDP) and, when @sipi (a SIP-I peer sent it), its ISUP into @isup (type 0
 * when none). 1 when there is SDP and it is usable, 0 when none, -errno: an ISUP part
 * required from a peer that is not SIP-I or of another version, another body
 * (-EMEDIUMTYPE), a multipart or ISUP part that cannot be read (-EINVAL), SDP errors.
 */
static int body_of(const sip_t *sip, bool sipi, struct mgcf_iw_media *m,
                   struct mgcf_isup_msg *isup, struct mgcf_qos *qos)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    struct mgcf_sipi_body b;
    const char *call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "-";
    isup->type = 0;
    if (qos)
        memset(qos, 0, sizeof(*qos));
    int rc = mgcf_sipi_body_read(home, sip->sip_content_type, sip->sip_payload, &b);
    if (rc == 0 && (b.has_isup || b.isup_error) && !sipi) {
        ims_info("mgcf: call-id=%s: an ISUP body part from a peer not in mgcf.sip_i_peers: "
                 "%s", call_id, b.isup_required ? "refused (handling=required)" : "not used");
        rc = b.isup_required ? -EMEDIUMTYPE : 0;
        b.has_isup = false;
    } else if (rc == 0 && b.isup_error) {
        ims_info("mgcf: call-id=%s: the ISUP body part is not used: %s", call_id,
                 b.isup_error == -ENOTSUP ? "another version or message type" : "malformed");
    }
    if (rc == 0 && b.has_isup)
        *isup = b.isup;
    if (rc == 0 && b.sdp) {
        rc = mgcf_iw_sdp_read(b.sdp, b.sdp_len, m);
        rc = rc < 0 ? rc : 1;
    }
    if (rc == 1 && qos)     /* the same SDP read: the audio stream is there */
        mgcf_qos_read(b.sdp, b.sdp_len, qos);
    su_home_deinit(home);
    return rc;
}

/* The SDP of @sip into @m (its qos lines into @qos unless NULL), an ISUP part not taken:
 * as body_of() */
static int sdp_of(const sip_t *sip, struct mgcf_iw_media *m, struct mgcf_qos *qos)
{
    struct mgcf_isup_msg ignored;
    return body_of(sip, false, m, &ignored, qos);
}

/*
 * sipi_body - the call's SIP-I body for a SIP message (@method, else a response @status):
 * the INVITE's IAM; the last ISUP message from the PSTN when it was not carried yet and fits
 * the message; or, for a release the MGCF makes itself (@cause given), a REL of its own
 * (mgcf_sipi_to_carry), with @sdp (NULL: none) beside it. false when there is none (the SDP
 * alone goes, as without SIP-I); *@ct and *@pl in @home otherwise.
 */
static bool sipi_body(struct mgcf_call *c, sip_method_t method, int status, uint8_t cause,
                      const char *sdp, su_home_t *home, sip_content_type_t **ct,
                      sip_payload_t **pl)
{
    struct mgcf_isup_msg own;
    const struct mgcf_isup_msg *isup;
    if (!c->sip_i)
        return false;
    if (method == sip_method_invite)
        isup = mgcf_sipi_fits(c->iam.type, method, status) ? &c->iam : NULL;
    else
        isup = mgcf_sipi_to_carry(&c->isup_rx, c->isup_rx_fresh, method, status, cause,
                                  MGCF_IW_LOCATION, &own);
    if (!isup)
        return false;
    int rc = mgcf_sipi_body_make(home, sdp, isup, c->m->conf.sip_i_required, ct, pl);
    if (rc < 0) {
        mgcf_call_log(c, IMS_LOG_ERROR, "ISUP %s not encapsulated: %s",
                      mgcf_isup_type_name(isup->type), strerror(-rc));
        return false;
    }
    if (isup == &own)
        mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: our own REL cause=%u encapsulated", cause);
    else if (isup == &c->isup_rx)
        c->isup_rx_fresh = false;
    return true;
}

/* The body of a SIP message of the call: SIP-I's multipart when sipi_body() gives one, else
 * @sdp alone (NULL: no body, *@ct and *@pl NULL). true when multipart. */
static bool body_for(struct mgcf_call *c, sip_method_t method, int status, uint8_t cause,
                     const char *sdp, su_home_t *home, sip_content_type_t **ct,
                     sip_payload_t **pl)
{
    *ct = NULL;
    *pl = NULL;
    if (sipi_body(c, method, status, cause, sdp, home, ct, pl))
        return true;
    if (sdp) {
        *ct = sip_content_type_make(home, "application/sdp");
        *pl = sip_payload_make(home, sdp);
    }
    return false;
}

#define BODY_TAGS(ct, pl, mp) TAG_IF(ct, SIPTAG_CONTENT_TYPE(ct)), TAG_IF(pl, SIPTAG_PAYLOAD(pl)), \
    TAG_IF(mp, SIPTAG_MIME_VERSION_STR("1.0"))

/* An ISUP message from the SIP-I peer: sent to the PSTN in place of the one the call's
 * state machine asks for when of the same type (isup_link.c) */
static void sipi_keep(struct mgcf_call *c, const struct mgcf_isup_msg *isup)
{
    if (!isup->type)
        return;
    c->sipi_rx = *isup;
    c->sipi_rx_fresh = true;
    mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: ISUP %s received in the SIP message",
                  mgcf_isup_type_name(isup->type));
}

/* A REL's cause from the SIP-I peer, else the Q.850 Reason of @sip, else -1 */
static int release_cause(const sip_t *sip, const struct mgcf_isup_msg *isup)
{
    if (isup->type == ISUP_REL && mgcf_isup_has(isup, ISUP_PAR_CAUSE) && isup->cause.value)
        return isup->cause.value;
    return mgcf_iw_reason_cause(sip->sip_reason);
}

/* ---- requests inside a call's dialog ---- */

static int on_reinvite_irq(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_cancel)
        return 0;                       /* the MGW is asked already: the answer will go */
    if (c->reinvite == irq)
        c->reinvite = NULL;
    nta_incoming_destroy(irq);          /* the ACK of our answer, or its timeout */
    return 0;
}

/*
 * offer_crossing - may a new offer of the peer (re-INVITE, UPDATE) be taken now? 0, or the
 * status refusing it (RFC 3311 5.2; RFC 3261 14.2 for a re-INVITE): 500 while an offer of
 * the peer's waits for our answer (the MGW's Modify), 491 while an offer of ours waits for
 * the peer's answer (our 200 to an INVITE without SDP, until the ACK; our INVITE's offer,
 * until a reliable 18x with SDP or the 2xx).
 */
static int offer_crossing(const struct mgcf_call *c)
{
    if (c->reinvite)
        return 500;
    if (mgcf_call_offer_waits(&c->sm))
        return 491;
    return 0;
}

/* @irq (a re-INVITE, or an UPDATE with an offer) refused with offer_crossing()'s @status; a 500
 * says when to try again: Retry-After of 0-10 s at random (RFC 3311 5.2) */
static int refuse_crossing(struct mgcf_call *c, nta_incoming_t *irq, const sip_t *sip,
                           int status)
{
    char after[16];
    snprintf(after, sizeof(after), "%ld", random() % 11);
    mgcf_call_log(c, IMS_LOG_INFO, "%s refused %d: %s",
                  sip->sip_request->rq_method_name, status,
                  status == 500 ? "an offer of the IMS side waits for our answer"
                                : "our offer waits for the IMS side's answer");
    nta_incoming_treply(irq, status, sip_status_phrase(status),
                        TAG_IF(status == 500, SIPTAG_RETRY_AFTER_STR(after)), TAG_END());
    nta_incoming_destroy(irq);
    return 0;
}

/*
 * offer_fmts - the formats of our answer to a new offer of the peer (@media, its G.711
 * formats), into c->fmts_next, and @media's kept to them (the Modify's Remote): those it
 * offers, in its order, that the MGW took in its Add reply (RFC 3264 6.1). 0, or 488 when
 * they share none: the offer is refused, the session stays as it was.
 */
static int offer_fmts(struct mgcf_call *c, const sip_t *sip, struct mgcf_iw_media *media)
{
    const char *can = c->mgw_fmts[0] ? c->mgw_fmts : "8 0";
    if (mgcf_iw_fmts_answer(media->fmts, can, c->fmts_next, sizeof(c->fmts_next)) < 0) {
        mgcf_call_log(c, IMS_LOG_INFO, "%s refused 488: it offers %s, the MGW takes %s",
                      sip->sip_request->rq_method_name, media->fmts, can);
        return 488;
    }
    snprintf(media->fmts, sizeof(media->fmts), "%s", c->fmts_next);
    return 0;
}

static int reinvite(struct mgcf_call *c, nta_incoming_t *irq, const sip_t *sip)
{
    char body[SDP_MAX], contact[128];
    if (c->reinvite)                    /* whatever it offers (RFC 3261 14.2) */
        return refuse_crossing(c, irq, sip, 500);
    struct mgcf_iw_media media;
    int rc = sdp_of(sip, &media, NULL);
    if (rc == -ENOTSUP || rc == -EMEDIUMTYPE)
        return 488;
    if (rc < 0)
        return 400;
    if (rc == 0) {                      /* no offer: ours again, unchanged */
        const char *sdp = our_sdp(c, false, body, sizeof(body));
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_CONTACT_STR(contact_of(c->m, contact,
                                                                           sizeof(contact))),
                            TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                            TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
        nta_incoming_bind(irq, on_reinvite_irq, (nta_incoming_magic_t *)c);
        return 0;
    }
    if (offer_fmts(c, sip, &media))
        return 488;
    c->ims = media;
    c->ims_known = true;
    c->reinvite = irq;
    nta_incoming_bind(irq, on_reinvite_irq, (nta_incoming_magic_t *)c);
    mgcf_call_log(c, IMS_LOG_INFO, "re-INVITE: the IMS side's media is now %s:%u", media.addr,
                  media.port);
    struct mgcf_ev ev = { .type = MGCF_EV_SIP_REINVITE, .sdp = true, .reason = -1 };
    mgcf_call_event(c, &ev);
    return 0;
}

/*
 * update_preconditions - the qos status of an UPDATE's offer @q in a call with
 * preconditions (RFC 3312 section 6: the UE reports its segment reserved in a new offer):
 * kept until our answer goes (mgcf_sip_reinvite_answer takes it then). true when it meets
 * the preconditions the IAM waits for.
 */
static bool update_preconditions(struct mgcf_call *c, const struct mgcf_qos *q)
{
    if (!c->precond_used)
        return false;
    c->precond_next = c->precond;
    mgcf_precond_from_offer(&c->precond_next, q, false);
    bool met = mgcf_precond_met(&c->precond_next);
    if (c->sm.precond)          /* the directions as the UE sees its segment */
        mgcf_call_log(c, IMS_LOG_INFO, "UPDATE: the IMS side's qos segment has %s of %s%s",
                      mgcf_qos_dir_name(mgcf_qos_mirror(c->precond_next.peer_curr)),
                      mgcf_qos_dir_name(mgcf_qos_mirror(c->precond_next.peer_des)),
                      met ? ": preconditions met, the IAM goes once answered" : "");
    return met;
}

/*
 * update - an UPDATE in the early or confirmed dialog (RFC 3311): without SDP a 200 at
 * once; with an offer, the MGW's RTP termination is modified (the re-INVITE's path) and
 * the 200 carries our SDP. A status to refuse it with, or 0.
 */
static int update(struct mgcf_call *c, nta_incoming_t *irq, const sip_t *sip)
{
    char contact[128];
    struct mgcf_iw_media media;
    struct mgcf_qos qos;
    int rc = sdp_of(sip, &media, &qos);
    if (rc == -ENOTSUP || rc == -EMEDIUMTYPE)
        return 488;
    if (rc < 0)
        return 400;
    int crossing = rc == 1 ? offer_crossing(c) : 0;
    if (crossing)
        return refuse_crossing(c, irq, sip, crossing);
    if (rc == 0) {                      /* no offer: nothing changes, nothing crossed */
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_CONTACT_STR(contact_of(c->m, contact,
                                                                           sizeof(contact))),
                            SIPTAG_ALLOW_STR(ALLOW), TAG_END());
        nta_incoming_destroy(irq);
        mgcf_call_log(c, IMS_LOG_INFO, "UPDATE without SDP answered 200");
        return 0;
    }
    if (offer_fmts(c, sip, &media))
        return 488;
    c->ims = media;
    c->ims_known = true;
    c->reinvite = irq;
    c->update = true;
    mgcf_call_log(c, IMS_LOG_INFO, "UPDATE: the IMS side's media is now %s:%u", media.addr,
                  media.port);
    struct mgcf_ev ev = { .type = MGCF_EV_SIP_UPDATE, .sdp = true, .reason = -1 };
    ev.met = update_preconditions(c, &qos);
    mgcf_call_event(c, &ev);
    return 0;
}

/*
 * info_check - may the INFO @sip of call @c (@sipi: from a SIP-I peer of a SIP-I call) be
 * taken? 0 with the ISUP SUS or RES it carries in @isup (type 0: no body, nothing to do), or
 * the status refusing it, why in @why: ISUP is taken from SIP-I peers only (415), other
 * bodies (415), an ISUP part that cannot be read (400), an ISUP message INFO does not carry
 * (415), a SUS or RES outside an answered call (400; Q.764 2.5).
 */
static int info_check(const struct mgcf_call *c, const sip_t *sip, bool sipi,
                      struct mgcf_isup_msg *isup, char *why, size_t len)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    struct mgcf_sipi_body b;
    int st = 0;
    isup->type = 0;
    if (!sip->sip_payload || !sip->sip_payload->pl_len)
        return 0;
    int rc = sipi ? mgcf_sipi_body_read(home, sip->sip_content_type, sip->sip_payload, &b)
                  : -EPERM;
    if (rc == -EPERM) {
        snprintf(why, len, "an INFO body (ISUP) is taken from mgcf.sip_i_peers only");
        st = 415;
    } else if (rc == -EMEDIUMTYPE || (rc == 0 && !b.has_isup && !b.isup_error)) {
        snprintf(why, len, "an INFO carries SIP-I's ISUP (application/ISUP;version="
                 MGCF_SIPI_VERSION ") only");
        st = 415;
    } else if (rc < 0 || b.isup_error == -EINVAL) {
        snprintf(why, len, "the INFO's ISUP part cannot be read");
        st = 400;
    } else if (b.isup_error || !mgcf_sipi_fits(b.isup.type, sip_method_info, 0)) {
        snprintf(why, len, "ISUP %s is not carried in INFO (SUS and RES are)",
                 b.isup_error ? "of another version or type" : mgcf_isup_type_name(b.isup.type));
        st = 415;
    } else if (c->sm.isup != MGCF_I_ANSWERED) {
        snprintf(why, len, "ISUP %s outside an answered call", mgcf_isup_type_name(b.isup.type));
        st = 400;
    } else {
        *isup = b.isup;
    }
    su_home_deinit(home);
    return st;
}

/* An INFO in the dialog: a SIP-I peer's SUS or RES goes to the PSTN (Q.1912.5 profile C) */
static int info(struct mgcf_call *c, nta_incoming_t *irq, const sip_t *sip)
{
    char why[160];
    struct mgcf_isup_msg isup;
    bool sipi = c->sip_i && irq_from_sipi_peer(c->m, irq);
    int st = info_check(c, sip, sipi, &isup, why, sizeof(why));
    if (st) {
        mgcf_call_log(c, IMS_LOG_INFO, "INFO refused %d: %s", st, why);
        if (st == 415)
            return ims_sip_refuse_type(sip_of(c), irq, sip, sipi ? "multipart/mixed, "
                                       "application/ISUP" : "application/sdp", why);
        return ims_sip_refuse(sip_of(c), irq, sip, st, why);
    }
    nta_incoming_treply(irq, SIP_200_OK, TAG_END());
    nta_incoming_destroy(irq);
    if (!isup.type)
        return 0;
    sipi_keep(c, &isup);                /* the state machine sends it on (sipi_rx) */
    struct mgcf_ev ev = { .type = MGCF_EV_ISUP, .isup_type = isup.type, .sipi = true,
                          .network = isup.sus_res == ISUP_SUS_NETWORK, .reason = -1 };
    mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: the peer's %s (%s initiated)",
                  mgcf_isup_type_name(isup.type), ev.network ? "network" : "subscriber");
    mgcf_call_event(c, &ev);
    return 0;
}

static int on_leg_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                          const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    (void)leg;
    if (!ims_sip_dialog_source_ok(sip_of(c), irq, sip, &c->leg, &c->rseq, on_leg_request,
                                  (nta_leg_magic_t *)c))
        return 0;                 /* as the call's INVITE had to: sip.trusted_peers only */
    switch (sip->sip_request->rq_method) {
    case sip_method_bye: {
        struct mgcf_iw_media unused;
        struct mgcf_isup_msg isup;
        /* the call ends whatever the body: one that cannot be read is logged, not used */
        bool sipi = c->sip_i && irq_from_sipi_peer(c->m, irq);
        if (body_of(sip, sipi, &unused, &isup, NULL) < 0)
            mgcf_call_log(c, IMS_LOG_INFO, "the BYE's body is not used (not SDP or SIP-I)");
        struct mgcf_ev ev = { .type = MGCF_EV_SIP_BYE, .reason = release_cause(sip, &isup) };
        if (isup.type == ISUP_REL)
            sipi_keep(c, &isup);
        nta_incoming_treply(irq, SIP_200_OK, TAG_END());
        nta_incoming_destroy(irq);
        mgcf_call_log(c, IMS_LOG_INFO, "BYE from the IMS side");
        mgcf_call_event(c, &ev);        /* may free the call and this leg */
        return 0;
    }
    case sip_method_invite:
        return reinvite(c, irq, sip);
    case sip_method_ack:
        return 0;                       /* an ACK of a re-INVITE already answered */
    case sip_method_info:
        return info(c, irq, sip);
    case sip_method_update:
        return update(c, irq, sip);
    case sip_method_prack:              /* nta gives ours to on_prack(): no such RSeq */
        mgcf_call_log(c, IMS_LOG_INFO, "PRACK RAck %u: no reliable response of ours has it",
                      sip->sip_rack ? (unsigned)sip->sip_rack->ra_response : 0);
        nta_incoming_treply(irq, SIP_481_NO_TRANSACTION, TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    case sip_method_options:
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(ALLOW), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    default:
        nta_incoming_treply(irq, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR(ALLOW), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
}

/* ---- IMS -> PSTN: the INVITE received ---- */

/*
 * on_prack - the PRACK of one of our reliable 18x (nta matched its RAck): answered 200
 * (nta sends it, then a 2xx it held back for that PRACK, RFC 3262 3). An offer in the PRACK
 * is refused 488: the MGW cannot be modified before the PRACK's answer must go (UPDATE
 * does that). @prack NULL: nta gives the response up (final response sent, or no PRACK in
 * time); the call may be going already, so it is not touched then.
 */
static int on_prack(nta_reliable_magic_t *magic, nta_reliable_t *rel, nta_incoming_t *prack,
                    const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    nta_reliable_destroy(rel);          /* done with: the next 18x may go at once */
    if (!prack || !sip)
        return 0;
    unsigned rseq = sip->sip_rack ? (unsigned)sip->sip_rack->ra_response : 0;
    if (sip->sip_payload && sip->sip_payload->pl_len) {
        mgcf_call_log(c, IMS_LOG_INFO, "PRACK RAck %u with a body: its offer is refused 488",
                      rseq);
        nta_incoming_treply(prack, SIP_488_NOT_ACCEPTABLE, TAG_END());
        nta_incoming_destroy(prack);    /* nta frees it once done */
        return 0;
    }
    mgcf_call_log(c, IMS_LOG_INFO, "PRACK RAck %u answered 200", rseq);
    return 200;
}

/* No PRACK came for a reliable 18x within 64*T1 (RFC 3262 3: the INVITE fails with a 5xx);
 * nta has dropped a 2xx it held back for that PRACK: the call is released as unanswered */
static void prack_timeout(struct mgcf_call *c)
{
    mgcf_call_log(c, IMS_LOG_WARN, "no PRACK for our reliable provisional response%s",
                  c->sm.sip == MGCF_S_CONFIRMING ? " (the 200 waiting for it never went)" : "");
    mgcf_call_simple(c, MGCF_EV_SIP_PRACK_TIMEOUT, 0);
}

/* ACK, CANCEL or the end of the wait for the ACK (sip NULL) of the initial INVITE */
static int on_invite_irq(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    struct mgcf_ev ev = { .reason = -1 };
    if (!sip && nta_incoming_status(irq) < 200) {
        prack_timeout(c);               /* may free the call */
        return 0;
    }
    if (!sip) {
        ev.type = MGCF_EV_SIP_ACK_TIMEOUT;
        mgcf_call_log(c, IMS_LOG_WARN, "no ACK for our 2xx");
    } else if (sip->sip_request->rq_method == sip_method_cancel) {
        struct mgcf_iw_media unused;
        struct mgcf_isup_msg isup;
        ev.type = MGCF_EV_SIP_CANCEL;
        bool sipi = c->sip_i && irq_from_sipi_peer(c->m, irq);
        if (body_of(sip, sipi, &unused, &isup, NULL) < 0)
            mgcf_call_log(c, IMS_LOG_INFO, "the CANCEL's body is not used");
        ev.reason = release_cause(sip, &isup);
        if (isup.type == ISUP_REL)
            sipi_keep(c, &isup);
        mgcf_call_log(c, IMS_LOG_INFO, "CANCEL from the IMS side");
    } else if (sip->sip_request->rq_method == sip_method_ack) {
        ev.type = MGCF_EV_SIP_ACK;
        struct mgcf_iw_media media;
        if (sdp_of(sip, &media, NULL) == 1) {
            c->ims = media;
            c->ims_known = true;
            ev.sdp = true;
        }
    } else {
        return 0;
    }
    if (ev.type != MGCF_EV_SIP_CANCEL && c->irq == irq) {
        nta_incoming_destroy(irq);      /* the transaction is over for us */
        c->irq = NULL;
    }
    mgcf_call_event(c, &ev);
    return 0;
}

/* The options of @require the MGCF does not support (it does 100rel, RFC 3262, and
 * precondition, RFC 3312, though not for every INVITE: see preconditions_of()) into @buf as
 * an Unsupported value; false when there is none */
static bool unsupported_of(const sip_require_t *require, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (const sip_require_t *r = require; r; r = r->k_next)
        for (msg_param_t const *o = r->k_items; o && *o; o++)
            if (strcasecmp(*o, "100rel") != 0 && strcasecmp(*o, "precondition") != 0 &&
                k < len)
                k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? ", " : "", *o);
    return k > 0;
}

/* Can the INVITE go on? 0, or the status to refuse it with (why in @why; in *@cause the
 * Q.850 cause of the refusal when an ISUP exchange would release with one, else 0) */
static int invite_check(struct mgcf *m, const sip_t *sip, bool sipi,
                        struct mgcf_isup_msg *iam, struct mgcf_iw_media *media,
                        struct mgcf_qos *qos, int *has_sdp, uint8_t *cause, char *why,
                        size_t len)
{
    struct mgcf_isup_msg enc;
    *cause = 0;
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
        snprintf(why, len, "Max-Forwards reached 0");
        return 483;
    }
    *has_sdp = body_of(sip, sipi, media, &enc, qos);
    if (*has_sdp == -EMEDIUMTYPE) {
        snprintf(why, len, "the body is not application/sdp%s", sipi ? ", nor SIP-I's ISUP "
                 "(application/ISUP;version=" MGCF_SIPI_VERSION ") beside it" : "");
        return 415;
    }
    if (*has_sdp == -ENOTSUP) {
        snprintf(why, len, "no G.711 audio (PCMU, PCMA) offered: a circuit carries nothing "
                 "else");
        return 488;
    }
    if (*has_sdp < 0) {
        snprintf(why, len, "the SDP cannot be read");
        return 400;
    }
    int st = mgcf_iw_iam_from_invite(sip, iam, why, len);
    if (st)
        return st;
    if (enc.type && enc.type != ISUP_IAM) {
        snprintf(why, len, "the INVITE's ISUP part is a %s, not an IAM",
                 mgcf_isup_type_name(enc.type));
        return 400;
    }
    if (enc.type && mgcf_sipi_iam_merge(iam, &enc)) {
        snprintf(why, len, "the encapsulated IAM's hop counter is spent");
        *cause = Q850_EXCHANGE_ROUTING_ERROR;       /* Q.764 2.1.13 */
        return 483;
    }
    if (!mgcf_isup_active(m)) {
        snprintf(why, len, "the ISUP signalling link to the PSTN is down (%s)",
                 mgcf_isup_state(m));
        *cause = Q850_TEMPORARY_FAILURE;
        return 503;
    }
    if (!mgcf_mgw_ready(m)) {
        snprintf(why, len, "no media gateway (%s)", mgcf_mgw_state(m));
        *cause = Q850_RESOURCE_UNAVAILABLE;
        return 503;
    }
    return 0;
}

/* The call's dialog as the UAS of @sip's INVITE */
static int uas_leg(struct mgcf_call *c, nta_incoming_t *irq, const sip_t *sip)
{
    c->leg = nta_leg_tcreate(agent_of(c), on_leg_request, (nta_leg_magic_t *)c,
                             SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to),
                             SIPTAG_TO(sip->sip_from), TAG_END());
    if (!c->leg || !nta_leg_tag(c->leg, NULL) ||
        nta_leg_server_route(c->leg, sip->sip_record_route, sip->sip_contact) < 0)
        return -ENOMEM;
    nta_incoming_tag(irq, nta_leg_get_tag(c->leg));
    c->irq = irq;
    nta_incoming_bind(irq, on_invite_irq, (nta_incoming_magic_t *)c);
    c->invite = nta_incoming_getrequest(irq);
    return 0;
}

static void call_ids(struct mgcf_call *c, const sip_t *sip)
{
    struct ims_pcv pcv;
    const char *v = ims_sip_header(sip, "P-Charging-Vector");
    if (sip->sip_call_id)
        snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id->i_id);
    if (v && ims_pcv_parse(v, &pcv) == 0)
        snprintf(c->icid, sizeof(c->icid), "%s", pcv.icid);
}

/*
 * refuse_sipi - the refusal of an INVITE from a SIP-I peer with @status, a Warning saying
 * @why, a Reason and an encapsulated REL of @cause (what an ISUP exchange refusing the IAM
 * would send, Q.1912.5 profile C). -EINVAL when the REL cannot be made (the caller refuses
 * without it); 0 once answered.
 */
static int refuse_sipi(struct mgcf *m, nta_incoming_t *irq, int status, uint8_t cause,
                       const char *why)
{
    char warning[320], reason[160];
    struct mgcf_isup_msg none = { 0 }, rel;        /* no message of the PSTN: ours */
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct = NULL;
    sip_payload_t *pl = NULL;
    if (!mgcf_sipi_to_carry(&none, false, sip_method_invalid, status, cause, MGCF_IW_LOCATION,
                            &rel) ||
        mgcf_sipi_body_make(home, NULL, &rel, m->conf.sip_i_required, &ct, &pl) < 0) {
        su_home_deinit(home);
        return -EINVAL;
    }
    ims_sip_warning(m->d->sip, warning, sizeof(warning), "%s", why);
    nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                        SIPTAG_SERVER_STR(ims_sip_node(m->d->sip)),
                        TAG_IF(reason_of(cause, reason, sizeof(reason)),
                               SIPTAG_REASON_STR(reason)),
                        BODY_TAGS(ct, pl, true), TAG_END());
    ims_sip_count_response(m->d->sip, status);
    nta_incoming_destroy(irq);
    su_home_deinit(home);
    return 0;
}

static int refuse(struct mgcf *m, nta_incoming_t *irq, const sip_t *sip, int status,
                  uint8_t cause, const char *why)
{
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    bool sipi = irq_from_sipi_peer(m, irq);
    ims_counter_inc(m_refused);
    ims_log(IMS_LOG_INFO, &ids, "mgcf: INVITE " URL_PRINT_FORMAT " refused %d: %s%s",
            URL_PRINT_ARGS(sip->sip_request->rq_url), status, why,
            cause && sipi ? " (SIP-I: with a REL)" : "");
    if (cause && sipi && refuse_sipi(m, irq, status, cause, why) == 0)
        return 0;
    if (status == 415)   /* the Accept of RFC 3261 21.4.13: what this peer may send */
        return ims_sip_refuse_type(m->d->sip, irq, sip, sipi ?
                                   "application/sdp, multipart/mixed, application/ISUP" :
                                   "application/sdp", why);
    return ims_sip_refuse(m->d->sip, irq, sip, status, why);
}

/*
 * refuse_precond - an INVITE that cannot have the preconditions it asks for (@use, from
 * mgcf_precond_decide), why in @why:
 * - 420 with Unsupported: precondition: it Requires the extension but gives the MGCF
 *   nothing to apply it to: no offer (RFC 4032 lets the UAS make the offer with
 *   preconditions in its first reliable 18x; the MGCF does not) or no mandatory qos
 *   segment. For this request the extension is one the MGCF does not support (RFC 3261
 *   8.2.2.3), and the UAC can try again without it.
 * - 421 with Require: 100rel: preconditions are offered but 100rel is not supported. The
 *   answer with the qos status goes in a 18x that must arrive, and the UE's UPDATE needs
 *   that early dialog (RFC 3312 needs reliable provisional responses for this); RFC 3262
 *   section 3 lets a UAS that insists on reliability refuse with 421 naming 100rel, and
 *   RFC 3261 21.4.15 puts the extension in Require.
 * - 580 Precondition Failure: a mandatory e2e status, which the MGCF cannot report (the
 *   far end is the PSTN); RFC 3312's status for preconditions that cannot be met.
 */
static int refuse_precond(struct mgcf *m, nta_incoming_t *irq, const sip_t *sip,
                          enum mgcf_precond_use use, const char *why)
{
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    char warning[320];
    int status = use == MGCF_PRECOND_REFUSE_420 ? 420 :
                 use == MGCF_PRECOND_REFUSE_421 ? 421 : 580;
    ims_counter_inc(m_refused);
    ims_log(IMS_LOG_INFO, &ids, "mgcf: INVITE " URL_PRINT_FORMAT " refused %d: %s",
            URL_PRINT_ARGS(sip->sip_request->rq_url), status, why);
    ims_sip_warning(m->d->sip, warning, sizeof(warning), "%s", why);
    nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                        TAG_IF(status == 420, SIPTAG_UNSUPPORTED_STR("precondition")),
                        TAG_IF(status == 421, SIPTAG_REQUIRE_STR("100rel")), TAG_END());
    ims_sip_count_response(m->d->sip, status);
    nta_incoming_destroy(irq);
    return 0;
}

/* Preconditions for the INVITE @sip (its offer's qos lines @qos): the decision, why in
 * @why for a refusal */
static enum mgcf_precond_use preconditions_of(const sip_t *sip, bool offer,
                                              const struct mgcf_qos *qos, char *why,
                                              size_t len)
{
    struct mgcf_precond_invite in = {
        .required = sip_has_feature(sip->sip_require, "precondition"),
        .supported = sip_has_feature(sip->sip_supported, "precondition"),
        .rel100 = sip_has_feature(sip->sip_supported, "100rel") ||
                  sip_has_feature(sip->sip_require, "100rel"),
        .offer = offer,
        .qos = qos,
    };
    enum mgcf_precond_use use = mgcf_precond_decide(&in);
    if (use == MGCF_PRECOND_REFUSE_420)
        snprintf(why, len, "Require: precondition needs an SDP offer with a mandatory qos "
                 "segment (a=des:qos mandatory local|remote)");
    else if (use == MGCF_PRECOND_REFUSE_421)
        snprintf(why, len, "preconditions need reliable provisional responses (100rel)");
    else if (use == MGCF_PRECOND_REFUSE_580)
        snprintf(why, len, "a mandatory e2e qos status cannot be reported by the MGCF "
                 "(segmented status only)");
    return use;
}

/* A call with preconditions: the qos status of our answers, and the IAM held back */
static void preconditions_start(struct mgcf_call *c, enum mgcf_precond_use use,
                                const struct mgcf_qos *qos)
{
    if (use != MGCF_PRECOND_USE && use != MGCF_PRECOND_MET)
        return;
    c->precond_used = true;
    mgcf_precond_from_offer(&c->precond, qos, true);
    c->sm.precond = use == MGCF_PRECOND_USE;
    mgcf_call_log(c, IMS_LOG_INFO, "preconditions (qos, segmented): %s",
                  c->sm.precond ? "the IAM waits for the IMS side's resources (UPDATE)"
                                : "met in the offer already, the IAM goes now");
}

int mgcf_sip_invite(struct mgcf *m, nta_incoming_t *irq, const sip_t *sip)
{
    char why[200];
    struct mgcf_isup_msg iam = { 0 };
    struct mgcf_iw_media media;
    struct mgcf_qos qos;
    int has_sdp = 0;
    uint8_t cause;
    bool sipi = irq_from_sipi_peer(m, irq);
    if (unsupported_of(sip->sip_require, why, sizeof(why))) {      /* RFC 3261 8.2.2.3 */
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        ims_counter_inc(m_refused);
        ims_log(IMS_LOG_INFO, &ids, "mgcf: INVITE refused 420: Require: %s not supported", why);
        nta_incoming_treply(irq, SIP_420_BAD_EXTENSION, SIPTAG_UNSUPPORTED_STR(why),
                            TAG_END());
        ims_sip_count_response(m->d->sip, 420);
        nta_incoming_destroy(irq);
        return 0;
    }
    int st = invite_check(m, sip, sipi, &iam, &media, &qos, &has_sdp, &cause, why,
                          sizeof(why));
    if (st)
        return refuse(m, irq, sip, st, cause, why);
    enum mgcf_precond_use use = preconditions_of(sip, has_sdp == 1, &qos, why, sizeof(why));
    if (use >= MGCF_PRECOND_REFUSE_420)
        return refuse_precond(m, irq, sip, use, why);
    struct mgcf_trunk *t = mgcf_trunk_for(m->trunks, m->n_trunks, iam.called.digits);
    if (!t) {
        snprintf(why, sizeof(why), "no trunk routes +%s", iam.called.digits);
        return refuse(m, irq, sip, 404, Q850_NO_ROUTE, why);
    }
    struct mgcf_circuit *cc = mgcf_trunk_select(t, m->conf.opc);
    if (!cc) {
        snprintf(why, sizeof(why), "no circuit of trunk %s is free", t->name);
        return refuse(m, irq, sip, 503, Q850_NO_CIRCUIT, why);
    }
    struct mgcf_call *c = mgcf_call_new(m, MGCF_DIR_OUT);
    if (!c)
        return refuse(m, irq, sip, 503, Q850_SWITCHING_CONGESTION,
                      "as many calls as mgcf.max_calls already");
    call_ids(c, sip);
    c->sip_i = sipi;
    c->rel100 = sip_has_feature(sip->sip_supported, "100rel") ||
                sip_has_feature(sip->sip_require, "100rel");
    if (uas_leg(c, irq, sip) < 0) {
        mgcf_call_simple(c, MGCF_EV_RELEASE, Q850_TEMPORARY_FAILURE);
        return 0;
    }
    nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
    c->iam = iam;
    c->sm.offer = has_sdp == 1;
    c->ims = media;
    c->ims_known = has_sdp == 1;
    snprintf(c->sip_fmts, sizeof(c->sip_fmts), "%s", has_sdp == 1 ? media.fmts : "8 0");
    mgcf_call_seize(c, t, cc);
    mgcf_call_log(c, IMS_LOG_INFO, "INVITE " URL_PRINT_FORMAT ": called %s, calling %s%s%s",
                  URL_PRINT_ARGS(sip->sip_request->rq_url), iam.called.digits,
                  iam.calling.digits[0] ? iam.calling.digits : "(none)",
                  iam.calling.apri == ISUP_APRI_RESTRICTED ? " (restricted)" : "",
                  sipi ? " (SIP-I)" : "");
    preconditions_start(c, use, &qos);
    mgcf_call_simple(c, MGCF_EV_START, 0);
    return 0;
}

void mgcf_sip_respond(struct mgcf_call *c, int status, bool sdp, uint8_t cause)
{
    char body[SDP_MAX], reason[160], contact[128];
    if (!c->irq) {
        mgcf_call_log(c, IMS_LOG_WARN, "%d not sent: the INVITE is gone", status);
        return;
    }
    const char *text = sdp ? our_sdp(c, false, body, sizeof(body)) : NULL;
    const char *rsn = status >= 300 ? reason_of(cause, reason, sizeof(reason)) : NULL;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct;
    sip_payload_t *pl;
    bool mp = body_for(c, sip_method_invalid, status, status >= 300 ? cause : 0, text, home,
                       &ct, &pl);
    bool reliable = c->rel100 && status > 100 && status < 200;
    if (reliable)   /* nta adds Require: 100rel and RSeq, sends it again until the PRACK */
        reliable = nta_reliable_treply(c->irq, on_prack, (nta_reliable_magic_t *)c, status,
                                       sip_status_phrase(status),
                                       SIPTAG_CONTACT_STR(contact_of(c->m, contact,
                                                                     sizeof(contact))),
                                       SIPTAG_ALLOW_STR(ALLOW), BODY_TAGS(ct, pl, mp),
                                       TAG_IF(c->precond_used && text,
                                              SIPTAG_REQUIRE_STR("100rel, precondition")),
                                       TAG_END()) != NULL;
    if (reliable)
        ;
    else if (c->rel100 && status > 100 && status < 200)
        mgcf_call_log(c, IMS_LOG_ERROR, "%d not sent: it cannot go reliably", status);
    else
        nta_incoming_treply(c->irq, status, sip_status_phrase(status),
                            TAG_IF(status < 300, SIPTAG_CONTACT_STR(contact_of(c->m, contact,
                                                                               sizeof(contact)))),
                            TAG_IF(status >= 200 && status < 300, SIPTAG_ALLOW_STR(ALLOW)),
                            TAG_IF(rsn, SIPTAG_REASON_STR(rsn)), BODY_TAGS(ct, pl, mp),
                            TAG_END());
    su_home_deinit(home);
    ims_sip_count_response(sip_of(c), status);
    mgcf_call_log(c, status >= 300 ? IMS_LOG_INFO : IMS_LOG_DEBUG, "%d %s sent%s%s%s%s",
                  status, sip_status_phrase(status), text ? " with SDP" : "",
                  rsn ? " (Reason)" : "", mp ? " (SIP-I)" : "", reliable ? " reliably" : "");
    if (status >= 200 && status < 300) {
        if (!c->answer)
            c->answer = nta_incoming_getresponse(c->irq);
    } else if (status >= 300) {
        nta_incoming_destroy(c->irq);   /* nta absorbs the ACK of an error */
        c->irq = NULL;
    }
}

void mgcf_sip_reinvite_answer(struct mgcf_call *c, int status, bool sdp)
{
    char body[SDP_MAX], contact[128];
    if (!c->reinvite)
        return;
    if (c->update && c->precond_used && status < 300)
        c->precond = c->precond_next;   /* our answer reports the status the offer gave */
    if (status < 300 && c->fmts_next[0])    /* the formats it answers the offer with */
        snprintf(c->mgw.fmts, sizeof(c->mgw.fmts), "%s", c->fmts_next);
    c->fmts_next[0] = '\0';
    const char *text = sdp ? our_sdp(c, true, body, sizeof(body)) : NULL;
    nta_incoming_treply(c->reinvite, status, sip_status_phrase(status),
                        TAG_IF(status < 300, SIPTAG_CONTACT_STR(contact_of(c->m, contact,
                                                                           sizeof(contact)))),
                        TAG_IF(text, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                        TAG_IF(text, SIPTAG_PAYLOAD_STR(text)), TAG_END());
    mgcf_call_log(c, IMS_LOG_INFO, "%s answered %d", c->update ? "UPDATE" : "re-INVITE",
                  status);
    if (status >= 300 || c->update) {   /* an UPDATE has no ACK to wait for */
        nta_incoming_destroy(c->reinvite);
        c->reinvite = NULL;
        c->update = false;
    }
}

/* ---- PSTN -> IMS: the INVITE we send ---- */

static int on_prack_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                             const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    mgcf_call_log(c, status < 300 ? IMS_LOG_DEBUG : IMS_LOG_WARN, "our PRACK answered %d",
                  status);
    if (c->prack_orq == orq)
        c->prack_orq = NULL;
    nta_outgoing_destroy(orq);
    return 0;
}

/*
 * prack - a reliable 18x (Require: 100rel, RSeq) to our INVITE gets its PRACK (RFC 3262 4),
 * sent in the early dialog of the 18x (its target and route set); nta passes a response of
 * an RSeq already PRACKed no more. A PRACK of ours still unanswered goes on, unwatched.
 */
static void prack(struct mgcf_call *c, nta_outgoing_t *orq, const sip_t *sip)
{
    if (!sip->sip_rseq || !sip_has_feature(sip->sip_require, "100rel") || !sip->sip_to->a_tag)
        return;
    if (strcasecmp(sip->sip_to->a_tag, nta_leg_get_rtag(c->leg) ? nta_leg_get_rtag(c->leg) :
                   "") != 0) {
        mgcf_call_log(c, IMS_LOG_INFO, "a reliable %d of another early dialog is not PRACKed",
                      sip->sip_status->st_status);
        return;
    }
    unsigned rseq = (unsigned)sip->sip_rseq->rs_response;
    nta_leg_client_reroute(c->leg, sip->sip_record_route, sip->sip_contact, 1);
    if (c->prack_orq)
        nta_outgoing_destroy(c->prack_orq);
    c->prack_orq = nta_outgoing_prack(c->leg, orq, on_prack_response,
                                      (nta_outgoing_magic_t *)c, NULL, NULL,
                                      NTATAG_RSEQ(rseq), TAG_END());
    if (!c->prack_orq)
        mgcf_call_log(c, IMS_LOG_ERROR, "the PRACK of %d RSeq %u cannot be sent",
                      sip->sip_status->st_status, rseq);
    else
        mgcf_call_log(c, IMS_LOG_INFO, "PRACK of %d RSeq %u sent", sip->sip_status->st_status,
                      rseq);
}

static int on_invite_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                              const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    struct mgcf_ev ev = { .status = status, .reason = -1 };
    if (status < 101)
        return 0;
    if (sip && sip->sip_to && sip->sip_to->a_tag && status < 300 && !nta_leg_get_rtag(c->leg))
        nta_leg_rtag(c->leg, sip->sip_to->a_tag);
    struct mgcf_isup_msg isup = { 0 };
    if (sip) {
        struct mgcf_iw_media media;
        msg_t *resp = c->sip_i ? nta_outgoing_getresponse(orq) : NULL;
        bool sipi = c->sip_i && mgcf_sip_from_sipi_peer(c->m, resp);
        if (resp)
            msg_destroy(resp);
        if (body_of(sip, sipi, &media, &isup, NULL) == 1 && status < 300) {
            c->ims = media;
            c->ims_known = true;
            ev.sdp = true;
        }
        if (isup.type && mgcf_sipi_fits(isup.type, sip_method_invalid, status))
            sipi_keep(c, &isup);
    }
    if (status < 200) {
        ev.type = MGCF_EV_SIP_PROGRESS;
        ev.reliable = sip && sip->sip_rseq && sip_has_feature(sip->sip_require, "100rel");
        if (sip)
            prack(c, orq, sip);
    } else if (status < 300) {
        ev.type = MGCF_EV_SIP_SUCCESS;
        if (sip)
            nta_leg_client_reroute(c->leg, sip->sip_record_route, sip->sip_contact, 1);
        if (!c->answer)
            c->answer = nta_outgoing_getresponse(orq);
    } else {
        ev.type = MGCF_EV_SIP_FAILURE;
        ev.reason = sip ? release_cause(sip, &isup) : -1;
        mgcf_call_log(c, IMS_LOG_INFO, "the INVITE failed: %d", status);
    }
    mgcf_call_event(c, &ev);
    return 0;
}

/* Extra headers of the INVITE: P-Asserted-Identity, Privacy, P-Charging-Vector */
static void invite_headers(struct mgcf_call *c, char *buf, size_t len)
{
    struct mgcf *m = c->m;
    struct ims_pcv pcv = { 0 };
    ims_icid_generate(pcv.icid, sizeof(pcv.icid), ims_sip_address(m->d->sip));
    snprintf(pcv.generated_at, sizeof(pcv.generated_at), "%s", ims_sip_address(m->d->sip));
    snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", ims_cfg_str(m->d->cfg, "node.domain"));
    ims_pcv_format(&pcv, c->pcv, sizeof(c->pcv));
    snprintf(c->icid, sizeof(c->icid), "%s", pcv.icid);
    size_t k = 0;
    if (c->origin.pai[0])
        k += (size_t)snprintf(buf + k, len - k, "P-Asserted-Identity: %s\r\n", c->origin.pai);
    if (c->origin.privacy && k < len)
        k += (size_t)snprintf(buf + k, len - k, "Privacy: id\r\n");
    if (k < len)
        snprintf(buf + k, len - k, "P-Charging-Vector: %s", c->pcv);
}

void mgcf_sip_send_invite(struct mgcf_call *c)
{
    struct mgcf *m = c->m;
    char callid[96], body[SDP_MAX], contact[128], headers[600];
    snprintf(callid, sizeof(callid), "%08x%08x-%u@%s", (unsigned)random(), (unsigned)random(),
             c->id, ims_sip_address(m->d->sip));
    snprintf(c->call_id, sizeof(c->call_id), "%s", callid);
    invite_headers(c, headers, sizeof(headers));
    const char *sdp = our_sdp(c, false, body, sizeof(body));
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct;
    sip_payload_t *pl;
    bool mp = body_for(c, sip_method_invite, 0, 0, sdp, home, &ct, &pl);
    c->leg = nta_leg_tcreate(agent_of(c), on_leg_request, (nta_leg_magic_t *)c,
                             SIPTAG_CALL_ID_STR(callid), SIPTAG_FROM_STR(c->origin.from),
                             SIPTAG_TO_STR(c->origin.to), TAG_END());
    if (c->leg && nta_leg_tag(c->leg, NULL) && sdp)
        c->invite_orq = nta_outgoing_tcreate(
            c->leg, on_invite_response, (nta_outgoing_magic_t *)c,
            (url_string_t *)m->icscf_url, SIP_METHOD_INVITE,
            URL_STRING_MAKE(c->origin.request_uri),
            SIPTAG_CONTACT_STR(contact_of(m, contact, sizeof(contact))),
            SIPTAG_ALLOW_STR(ALLOW), SIPTAG_SUPPORTED_STR("100rel"),
            SIPTAG_HEADER_STR(headers), BODY_TAGS(ct, pl, mp),
            TAG_END());
    su_home_deinit(home);
    if (!c->invite_orq) {
        mgcf_call_log(c, IMS_LOG_ERROR, "the INVITE to %s cannot be sent", m->conf.icscf);
        struct mgcf_ev ev = { .type = MGCF_EV_SIP_FAILURE, .status = 500, .reason = -1 };
        mgcf_call_event(c, &ev);        /* queued: taken after this action */
        return;
    }
    c->invite = nta_outgoing_getrequest(c->invite_orq);
    mgcf_call_log(c, IMS_LOG_INFO, "INVITE %s from %s sent to %s%s", c->origin.request_uri,
                  c->origin.pai[0] ? c->origin.pai : c->origin.from, m->conf.icscf,
                  mp ? " (SIP-I)" : "");
}

void mgcf_sip_ack(struct mgcf_call *c)
{
    const sip_t *inv = c->invite ? sip_object(c->invite) : NULL;
    if (!inv || !inv->sip_cseq || !c->leg)
        return;
    char cseq[32];
    snprintf(cseq, sizeof(cseq), "%u ACK", inv->sip_cseq->cs_seq);
    nta_outgoing_t *ack = nta_outgoing_tcreate(c->leg, NULL, NULL, NULL, SIP_METHOD_ACK, NULL,
                                               SIPTAG_CSEQ_STR(cseq), TAG_END());
    if (!ack)
        mgcf_call_log(c, IMS_LOG_ERROR, "the ACK cannot be sent");
    else
        nta_outgoing_destroy(ack);
}

void mgcf_sip_cancel(struct mgcf_call *c, uint8_t cause)
{
    char reason[160];
    const char *rsn = reason_of(cause, reason, sizeof(reason));
    if (!c->invite_orq)
        return;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct;
    sip_payload_t *pl;
    bool mp = body_for(c, sip_method_cancel, 0, cause, NULL, home, &ct, &pl);
    /* nta holds the CANCEL back until a provisional response came (RFC 3261 9.1); its
     * final response ends the CANCEL transaction on its own */
    nta_outgoing_tcancel(c->invite_orq, NULL, NULL, TAG_IF(rsn, SIPTAG_REASON_STR(rsn)),
                         BODY_TAGS(ct, pl, mp), TAG_END());
    su_home_deinit(home);
    mgcf_call_log(c, IMS_LOG_INFO, "CANCEL sent%s%s", rsn ? ", Reason " : "", rsn ? rsn : "");
}

/* ---- both ---- */

static int on_bye_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    if (c->bye_orq == orq) {
        nta_outgoing_destroy(orq);
        c->bye_orq = NULL;
    }
    struct mgcf_ev ev = { .type = MGCF_EV_SIP_BYE_DONE, .status = status, .reason = -1 };
    mgcf_call_event(c, &ev);
    return 0;
}

void mgcf_sip_bye(struct mgcf_call *c, uint8_t cause)
{
    char reason[160];
    const char *rsn = reason_of(cause, reason, sizeof(reason));
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct;
    sip_payload_t *pl;
    bool mp = body_for(c, sip_method_bye, 0, cause, NULL, home, &ct, &pl);
    if (c->leg)
        c->bye_orq = nta_outgoing_tcreate(c->leg, on_bye_response, (nta_outgoing_magic_t *)c,
                                          NULL, SIP_METHOD_BYE, NULL,
                                          TAG_IF(rsn, SIPTAG_REASON_STR(rsn)),
                                          BODY_TAGS(ct, pl, mp), TAG_END());
    su_home_deinit(home);
    if (!c->bye_orq) {
        mgcf_call_log(c, IMS_LOG_ERROR, "the BYE cannot be sent");
        struct mgcf_ev ev = { .type = MGCF_EV_SIP_BYE_DONE, .status = 500, .reason = -1 };
        mgcf_call_event(c, &ev);
        return;
    }
    mgcf_call_log(c, IMS_LOG_INFO, "BYE sent%s%s", rsn ? ", Reason " : "", rsn ? rsn : "");
}

/* May our INFO go in the call's dialog (SIP-I, confirmed)? */
static bool info_may_go(const struct mgcf_call *c)
{
    bool dialog = c->sm.sip == MGCF_S_CONFIRMED || c->sm.sip == MGCF_S_CONFIRMING;
    return c->sip_i && c->leg && dialog;
}

static int on_info_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                            const sip_t *sip);

/* Our INFO with @isup, now (no INFO of ours outstanding); a failure is logged */
static void info_send(struct mgcf_call *c, const struct mgcf_isup_msg *isup)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct = NULL;
    sip_payload_t *pl = NULL;
    const char *type = mgcf_isup_type_name(isup->type);
    if (!info_may_go(c)) {
        mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: ISUP %s not carried (no confirmed SIP-I dialog)",
                      type);
        goto out_home;
    }
    if (mgcf_sipi_body_make(home, NULL, isup, c->m->conf.sip_i_required, &ct, &pl) < 0) {
        mgcf_call_log(c, IMS_LOG_ERROR, "SIP-I: ISUP %s not encapsulated", type);
        goto out_home;
    }
    c->info_orq = nta_outgoing_tcreate(c->leg, on_info_response, (nta_outgoing_magic_t *)c,
                                       NULL, SIP_METHOD_INFO, NULL, BODY_TAGS(ct, pl, true),
                                       TAG_END());
    if (!c->info_orq)
        mgcf_call_log(c, IMS_LOG_ERROR, "SIP-I: the INFO with ISUP %s cannot be sent", type);
    else
        mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: ISUP %s sent in an INFO", type);
out_home:
    su_home_deinit(home);
}

/* The INFOs waiting, oldest first, until one is outstanding again or none is left */
static void info_next(struct mgcf_call *c)
{
    struct mgcf_isup_msg isup;
    while (!c->info_orq && mgcf_sipi_infoq_pop(&c->info_queue, &isup))
        info_send(c, &isup);
}

/*
 * on_info_response - the answer to our INFO: a final one lets the next INFO waiting go; a
 * 481 or 408 (the peer's, or nta's timeout) says the dialog is gone (RFC 3261 12.2.1.2):
 * the call is released as one whose dialog was lost (mgcf_sipi_info_answered's cause).
 */
static int on_info_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                            const sip_t *sip)
{
    struct mgcf_call *c = (struct mgcf_call *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    uint8_t cause = 0;
    enum mgcf_sipi_info_next next = mgcf_sipi_info_answered(status, &cause);
    if (next == MGCF_SIPI_INFO_WAIT)
        return 0;
    if (c->info_orq == orq)
        c->info_orq = NULL;
    nta_outgoing_destroy(orq);
    if (next == MGCF_SIPI_INFO_END) {
        mgcf_call_log(c, IMS_LOG_WARN, "SIP-I: our INFO answered %d: the dialog is gone, the "
                      "call is released (cause %u)%s", status, cause,
                      c->info_queue.n ? "; the INFOs waiting are not sent" : "");
        c->info_queue.n = 0;
        mgcf_call_simple(c, MGCF_EV_RELEASE, cause);    /* may free the call */
        return 0;
    }
    mgcf_call_log(c, status < 300 ? IMS_LOG_DEBUG : IMS_LOG_WARN, "SIP-I: our INFO answered %d%s",
                  status, c->info_queue.n ? ": the next one goes" : "");
    info_next(c);
    return 0;
}

void mgcf_sip_info(struct mgcf_call *c, const struct mgcf_isup_msg *isup)
{
    const char *type = mgcf_isup_type_name(isup->type);
    if (!info_may_go(c) || !mgcf_sipi_fits(isup->type, sip_method_info, 0)) {
        mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: ISUP %s not carried (no confirmed SIP-I dialog)",
                      type);
        return;
    }
    if (!c->info_orq) {
        info_send(c, isup);
        return;
    }
    if (mgcf_sipi_infoq_push(&c->info_queue, isup) == 0) {
        mgcf_call_log(c, IMS_LOG_INFO, "SIP-I: ISUP %s waits for the answer to our INFO before "
                      "(%u waiting)", type, c->info_queue.n);
        return;
    }
    mgcf_call_log(c, IMS_LOG_ERROR, "SIP-I: ISUP %s cannot wait: %u INFOs wait already for "
                  "the peer's answer to ours; the call is released (cause %u)", type,
                  c->info_queue.n, Q850_TEMPORARY_FAILURE);
    c->info_queue.n = 0;
    mgcf_call_simple(c, MGCF_EV_RELEASE, Q850_TEMPORARY_FAILURE);
}

void mgcf_sip_close(struct mgcf_call *c)
{
    if (c->irq) {
        nta_incoming_destroy(c->irq);
        c->irq = NULL;
    }
    if (c->reinvite) {
        nta_incoming_treply(c->reinvite, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nta_incoming_destroy(c->reinvite);
        c->reinvite = NULL;
        c->update = false;
    }
    if (c->prack_orq)
        nta_outgoing_destroy(c->prack_orq);
    c->prack_orq = NULL;
    if (c->invite_orq)
        nta_outgoing_destroy(c->invite_orq);
    if (c->bye_orq)
        nta_outgoing_destroy(c->bye_orq);
    if (c->info_orq)
        nta_outgoing_destroy(c->info_orq);
    c->invite_orq = c->bye_orq = c->info_orq = NULL;
    if (c->leg)
        nta_leg_destroy(c->leg);
    c->leg = NULL;
    if (c->invite)
        msg_destroy(c->invite);
    if (c->answer)
        msg_destroy(c->answer);
    c->invite = c->answer = NULL;
}
