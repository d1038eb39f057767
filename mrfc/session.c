/*
 * session.c - the MRFC as a SIP user agent server: RFC 4240 announcements and conferences
 *
 * An INVITE to sip:annc@...;play=<uri> or sip:conf=<id>@... is answered 200 with SDP at
 * once (the prompts are in memory, the ports are bound on this thread, the media thread
 * gets its commands through the queue): there is no ringing and no window for a CANCEL.
 * The dialog (an nta leg) takes the ACK, re-INVITE and UPDATE (new offers: hold, codec
 * change), OPTIONS and BYE. An INVITE without SDP gets our offer in the 2xx and its answer
 * from the ACK (RFC 3261 13.2.1). The MRF ends a session itself with a BYE when an
 * announcement is over, when the session reaches mrfc.max_duration, when a peer that
 * should send RTP sends nothing for mrfc.rtp_timeout, or when no ACK comes (13.3.1.4);
 * never before the ACK of its 2xx (15).
 *
 * The nta agent runs in user-agent mode (NTATAG_UA): nta retransmits our 2xx until the
 * ACK, gives the ACK to the INVITE's transaction and checks the CSeq order of requests
 * inside a dialog (12.2.2).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "session.h"
#include "cfw.h"
#include "cfw_tls.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#define ALLOW "INVITE, ACK, CANCEL, BYE, UPDATE, OPTIONS"

static int on_dialog(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                     const sip_t *sip);

/* ---- small helpers ---- */

#define LOG(s, level, ...) \
    ims_log(level, &(struct ims_log_ids){ .call_id = (s)->call_id }, __VA_ARGS__)

static const char *call_id_of(const sip_t *sip)
{
    return sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
}

/*
 * answer - answer @irq with @status, a Warning saying @why, an Allow and a Server header;
 * @retry_after > 0 adds Retry-After, @extra an Accept (415) or Unsupported (420) value.
 * Not logged. Returns 0 (the transaction is answered and let go).
 */
static int answer(struct mrfc *mrfc, nta_incoming_t *irq, int status, unsigned retry_after,
                  const char *extra, const char *why)
{
    char warning[320], ra[16];
    ims_sip_warning(mrfc->d->sip, warning, sizeof(warning), "%s", why);
    snprintf(ra, sizeof(ra), "%u", retry_after);
    nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                        SIPTAG_ALLOW_STR(ALLOW), SIPTAG_SERVER_STR("mrfc"),
                        TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(ra)),
                        TAG_IF(extra && status == 415, SIPTAG_ACCEPT_STR(extra)),
                        TAG_IF(extra && status == 420, SIPTAG_UNSUPPORTED_STR(extra)),
                        TAG_END());
    ims_sip_count_response(mrfc->d->sip, status);
    nta_incoming_destroy(irq);
    return 0;
}

/* answer() with the Warning formatted from @fmt, and the refusal logged */
static int reply(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip, int status,
                 unsigned retry_after, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int reply(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip, int status,
                 unsigned retry_after, const char *extra, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    struct ims_log_ids ids = { .call_id = call_id_of(sip) };
    ims_log(IMS_LOG_INFO, &ids, "mrfc: %s answered %d: %s", sip->sip_request->rq_method_name,
            status, why);
    return answer(mrfc, irq, status, retry_after, extra, why);
}

/* The SDP body of @sip: 0 with none, 1 with one, -1 (answered) when it is not SDP */
static int sdp_body(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip)
{
    if (!sip->sip_payload || sip->sip_payload->pl_len == 0)
        return 0;
    const char *type = sip->sip_content_type ? sip->sip_content_type->c_type : NULL;
    if (!type || strcasecmp(type, "application/sdp") != 0) {
        reply(mrfc, irq, sip, 415, 0, "application/sdp", "a body of type %s: SDP is needed",
              type ? type : "(none)");
        return -1;
    }
    return 1;
}

/* Require: we support no option tag (RFC 3261 8.2.2.3). 0, or -1 when answered 420. */
static int check_require(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip)
{
    if (!sip->sip_require || !sip->sip_require->k_items || !sip->sip_require->k_items[0])
        return 0;
    char tags[160] = "";
    size_t o = 0;
    for (const char *const *t = sip->sip_require->k_items; *t && o < sizeof(tags) - 1; t++) {
        int n = snprintf(tags + o, sizeof(tags) - o, "%s%s", o ? ", " : "", *t);
        o += n > 0 ? (size_t)n : 0;
    }
    reply(mrfc, irq, sip, 420, 0, tags, "extensions required that this MRF lacks: %s", tags);
    return -1;
}

/* The leg parameters that negotiation @n gives (@n NULL: the peer is not known yet) */
static void params_of(const struct mrfc *mrfc, const struct mrfc_sdp_neg *n,
                      struct mrfc_leg_params *p)
{
    memset(p, 0, sizeof(*p));
    p->te_pt = -1;
    p->inband_dtmf = mrfc->inband_dtmf;
    if (!n)
        return;
    p->codec = n->codec;
    p->pt = n->pt;
    p->te_pt = n->te_pt;
    p->dir = n->dir;
    p->rtcp_port = n->rtcp_port;
    if (n->ip6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&p->rtp;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(n->port);
        inet_pton(AF_INET6, n->addr, &a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&p->rtp;
        a->sin_family = AF_INET;
        a->sin_port = htons(n->port);
        inet_pton(AF_INET, n->addr, &a->sin_addr);
    }
}

static unsigned want_dir_of(int kind)
{
    /* an announcement only sends; a conference and a leg of an AS send and receive */
    return kind == MRFC_SVC_ANNC ? MRFC_DIR_SEND : MRFC_DIR_SENDRECV;
}

static unsigned want_dir(const struct mrfc_session *s)
{
    return want_dir_of(s->svc.kind);
}

/*
 * Write our SDP (the answer to s->neg, or an offer when @offer) into s->sdp: the o= version
 * goes up only when the description changed (RFC 3264 8). 0 or -ENOSPC.
 */
static int make_sdp(struct mrfc_session *s, bool offer)
{
    struct mrfc *mrfc = s->mrfc;
    char buf[MRFC_SDP_BUF];
    struct mrfc_sdp_local l = { .addr = mrfc->rtp_address, .ip6 = mrfc->rtp_ip6,
                                .port = s->port, .id = s->sdp_id, .version = s->sdp_version,
                                .user = "mrfc" };
    for (int pass = 0; pass < 2; pass++) {
        int n = offer ? mrfc_sdp_offer(buf, sizeof(buf), &l, mrfc->codecs, want_dir(s))
                      : mrfc_sdp_answer(buf, sizeof(buf), &l, &s->neg);
        if (n < 0)
            return n;
        if (!s->sdp[0] || strcmp(buf, s->sdp) == 0 || pass == 1)
            break;
        l.version = ++s->sdp_version;
    }
    memcpy(s->sdp, buf, sizeof(buf));
    return 0;
}

/* ---- life of a session ---- */

void mrfc_session_log(const struct mrfc_session *s, int level, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    LOG(s, level, "%s", text);
}

struct mrfc_session *mrfc_session_by_connid(struct mrfc *mrfc, const char *connid)
{
    return connid && *connid ? ims_map_get(mrfc->conns, connid) : NULL;
}

/* Known by its connection id in both orders of the tags (RFC 6230 16.1) */
static void connid_add(struct mrfc_session *s)
{
    char other[MRFC_CONNID_MAX];
    int err = 0;
    snprintf(s->connid, sizeof(s->connid), "%s~%s", s->remote_tag, s->local_tag);
    snprintf(other, sizeof(other), "%s~%s", s->local_tag, s->remote_tag);
    ims_map_put(s->mrfc->conns, s->connid, s, &err);
    ims_map_put(s->mrfc->conns, other, s, &err);
    if (err)
        LOG(s, IMS_LOG_WARN, "mrfc: no memory to index connection %s", s->connid);
}

static void connid_remove(struct mrfc_session *s)
{
    if (!s->connid[0])
        return;
    char other[MRFC_CONNID_MAX];
    snprintf(other, sizeof(other), "%s~%s", s->local_tag, s->remote_tag);
    if (ims_map_get(s->mrfc->conns, s->connid) == s)
        ims_map_remove(s->mrfc->conns, s->connid);
    if (ims_map_get(s->mrfc->conns, other) == s)
        ims_map_remove(s->mrfc->conns, other);
}

/* The media of @s go: its IVR dialog exits, it leaves its mix, its leg closes; a control
 * channel closes. Done once, at the first of BYE, reap and free. */
static void media_release(struct mrfc_session *s)
{
    struct mrfc *mrfc = s->mrfc;
    if (s->ivr)
        mrfc_ivr_leg_gone(s);
    mrfc_conf_leave(s, true);
    if (s->chan) {
        struct mrfc_chan *ch = s->chan;
        s->chan = NULL;
        mrfc_cfw_chan_close(ch);
    }
    if (s->leg_open) {
        mrfc_media_leg_close(mrfc->media, s->leg);
        mrfc->by_slot[s->leg & 0xffff] = NULL;
        s->leg_open = false;
    }
}

static void session_free(struct mrfc_session *s)
{
    struct mrfc *mrfc = s->mrfc;
    media_release(s);
    connid_remove(s);
    mrfc_online_end(s);
    mrfc_charging_end(mrfc, s->call_id, s->local_tag, s->remote_tag);
    if (s->invite)
        nta_incoming_destroy(s->invite);
    if (s->bye)
        nta_outgoing_destroy(s->bye);
    if (s->dialog)
        nta_leg_destroy(s->dialog);
    su_timer_destroy(s->limit);
    su_timer_destroy(s->reaper);
    *s->prevp = s->next;
    if (s->next)
        s->next->prevp = s->prevp;
    mrfc->nsessions--;
    atomic_store(&mrfc->health_sessions, mrfc->nsessions);
    ims_gauge_add(mrfc->m_active[s->svc.kind], -1);
    LOG(s, IMS_LOG_INFO, "mrfc: %s session of leg %08x ended after %lds",
        mrfc_service_name(s->svc.kind), s->leg, (long)(time(NULL) - s->started));
    free(s);
}

static void on_reap(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    session_free((struct mrfc_session *)arg);
}

/* Free @s soon, outside the nta callback we may be in */
static void session_reap(struct mrfc_session *s)
{
    s->state = MRFC_S_ENDING;
    if (!s->reaper || su_timer_set_interval(s->reaper, on_reap, s, 0) != 0) {
        ims_err("mrfc: cannot schedule the end of a session: freed at shutdown");
        return;
    }
    /* the media stop at once, the SIP objects a moment later */
    media_release(s);
}

static int on_bye_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    struct mrfc_session *s = (struct mrfc_session *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    LOG(s, IMS_LOG_INFO, "mrfc: our BYE answered %d", status);
    nta_outgoing_destroy(orq);
    s->bye = NULL;
    session_reap(s);
    return 0;
}

/* End the session with a BYE saying @why (after the ACK of our 2xx, RFC 3261 15) */
static void session_bye(struct mrfc_session *s, const char *why)
{
    if (s->state == MRFC_S_ENDING)
        return;
    if (s->invite && s->state == MRFC_S_WAIT_ACK) {
        s->bye_pending = true;
        s->bye_why = why;
        return;
    }
    s->state = MRFC_S_ENDING;
    char reason[160];
    snprintf(reason, sizeof(reason), "SIP;cause=200;text=\"%s\"", why);
    LOG(s, IMS_LOG_INFO, "mrfc: ending the session: %s", why);
    s->bye = nta_outgoing_tcreate(s->dialog, on_bye_answer, (nta_outgoing_magic_t *)s, NULL,
                                  SIP_METHOD_BYE, NULL, SIPTAG_REASON_STR(reason),
                                  SIPTAG_SERVER_STR("mrfc"), TAG_END());
    if (!s->bye) {
        LOG(s, IMS_LOG_WARN, "mrfc: the BYE could not be sent");
        session_reap(s);
        return;
    }
    media_release(s);
}

void mrfc_session_end(struct mrfc_session *s, const char *why)
{
    session_bye(s, why);
}

static void on_limit(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct mrfc_session *s = (struct mrfc_session *)arg;
    ims_counter_inc(s->mrfc->m_ended_timeout);
    session_bye(s, "maximum session duration reached");
}

/* Start what the service does once media may flow: the announcement */
static void service_start(struct mrfc_session *s)
{
    if (s->media_on || s->svc.kind != MRFC_SVC_ANNC)
        return;
    struct mrfc_play p = { .nitems = 1, .repeat = s->svc.repeat, .delay_ms = s->svc.delay_ms,
                           .duration_ms = s->svc.duration_ms, .cookie = s->leg };
    p.items[0] = s->item;
    if (mrfc_media_play(s->mrfc->media, s->leg, &p) != 0) {
        session_bye(s, "the media engine is overloaded");
        return;
    }
    s->media_on = true;
}

/* ---- the INVITE transaction: ACK, no ACK ---- */

static void on_ack(struct mrfc_session *s, const sip_t *sip)
{
    if (s->offer_out) {
        s->offer_out = false;
        char why[160];
        struct mrfc_sdp_neg n;
        if (!sip->sip_payload || !sip->sip_payload->pl_len ||
            mrfc_sdp_negotiate(sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                               want_dir(s), s->mrfc->codecs, &n, why, sizeof(why)) != 0) {
            if (!sip->sip_payload || !sip->sip_payload->pl_len)
                snprintf(why, sizeof(why), "no SDP answer in the ACK");
            LOG(s, IMS_LOG_INFO, "mrfc: the ACK's answer is not usable: %s", why);
            s->state = MRFC_S_CONFIRMED;
            session_bye(s, "no usable SDP answer in the ACK");
            return;
        }
        struct mrfc_leg_params p;
        params_of(s->mrfc, &n, &p);
        s->neg = n;
        s->has_neg = true;
        mrfc_media_leg_update(s->mrfc->media, s->leg, &p);
    }
    if (s->state == MRFC_S_WAIT_ACK)
        s->state = MRFC_S_CONFIRMED;
    if (s->bye_pending) {
        session_bye(s, s->bye_why);
        return;
    }
    if (s->has_neg)
        service_start(s);
}

static int on_invite_irq(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrfc_session *s = (struct mrfc_session *)magic;
    if (sip && sip->sip_request->rq_method != sip_method_ack)
        return 0;                 /* a CANCEL after our 2xx: nta answered it, no effect */
    if (s->invite == irq)
        s->invite = NULL;
    nta_incoming_destroy(irq);
    if (!sip) {
        /* RFC 3261 13.3.1.4: no ACK within 64*T1 */
        LOG(s, IMS_LOG_INFO, "mrfc: no ACK for our 2xx");
        if (s->state == MRFC_S_WAIT_ACK)
            s->state = MRFC_S_CONFIRMED;
        s->offer_out = false;
        session_bye(s, s->bye_pending ? s->bye_why : "no ACK for the 2xx");
        return 0;
    }
    on_ack(s, sip);
    return 0;
}

/* Answer @irq 200 with s->sdp; an INVITE is kept for its ACK */
static void reply_sdp(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *sip)
{
    nta_incoming_treply(irq, SIP_200_OK, SIPTAG_CONTACT_STR(s->contact),
                        SIPTAG_ALLOW_STR(ALLOW), SIPTAG_SERVER_STR("mrfc"),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(s->sdp),
                        TAG_END());
    ims_sip_count_response(s->mrfc->d->sip, 200);
    if (sip->sip_request->rq_method == sip_method_invite) {
        nta_incoming_bind(irq, on_invite_irq, (nta_incoming_magic_t *)s);
        s->invite = irq;
    } else {
        nta_incoming_destroy(irq);
    }
}

/* ---- the first INVITE ---- */

static int refuse_media(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip, int rc,
                        const char *why)
{
    ims_counter_inc(mrfc->m_refused_bad);
    if (rc == -EINVAL)
        return reply(mrfc, irq, sip, 400, 0, NULL, "%s", why);
    return reply(mrfc, irq, sip, 488, 0, NULL, "%s", why);
}

/* The offer of @sip (when there is one) into @n: 0 none, 1 read, -1 answered (refused) */
static int read_offer(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip, unsigned want,
                      struct mrfc_sdp_neg *n)
{
    int has = sdp_body(mrfc, irq, sip);
    if (has <= 0)
        return has;
    char why[160];
    int rc = mrfc_sdp_negotiate(sip->sip_payload->pl_data, sip->sip_payload->pl_len, want,
                                mrfc->codecs, n, why, sizeof(why));
    if (rc == 0 && n->ip6 != mrfc->rtp_ip6) {
        snprintf(why, sizeof(why), "the audio is on IPv%d, this MRF's RTP on IPv%d",
                 n->ip6 ? 6 : 4, mrfc->rtp_ip6 ? 6 : 4);
        rc = -ENOTSUP;
    }
    if (rc) {
        refuse_media(mrfc, irq, sip, rc, why);
        return -1;
    }
    return 1;
}

static struct mrfc_session *session_new(struct mrfc *mrfc, const sip_t *sip,
                                        const struct mrfc_service *svc, bool tcp)
{
    struct mrfc_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mrfc = mrfc;
    s->svc = *svc;
    s->started = time(NULL);
    snprintf(s->call_id, sizeof(s->call_id), "%s", call_id_of(sip) ? call_id_of(sip) : "");
    bool v6 = strchr(ims_sip_address(mrfc->d->sip), ':') != NULL;
    snprintf(s->contact, sizeof(s->contact), "<sip:mrfc@%s%s%s:%ld%s>", v6 ? "[" : "",
             ims_sip_address(mrfc->d->sip), v6 ? "]" : "",
             ims_cfg_int(mrfc->d->cfg, "sip.port"),
             tcp ? ";transport=tcp" : "");
    uint32_t r[2];
    for (int i = 0; i < 2; i++)
        r[i] = (uint32_t)random();
    s->sdp_id = ((uint64_t)r[0] << 31 | r[1]) & 0x7fffffffffffffffull;
    s->sdp_version = 1;
    su_root_t *root = ims_sip_root(mrfc->d->sip);
    s->limit = su_timer_create(su_root_task(root), 0);
    s->reaper = su_timer_create(su_root_task(root), 0);
    s->prevp = &mrfc->sessions;
    s->next = mrfc->sessions;
    if (s->next)
        s->next->prevp = &s->next;
    mrfc->sessions = s;
    mrfc->nsessions++;
    atomic_store(&mrfc->health_sessions, mrfc->nsessions);
    ims_gauge_add(mrfc->m_active[svc->kind], 1);
    ims_counter_inc(mrfc->m_total[svc->kind]);
    return s;
}

/* The nta leg of the dialog the 2xx of @irq creates; 0 or -ENOMEM */
static int dialog_create(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *sip)
{
    nta_agent_t *agent = ims_sip_agent(s->mrfc->d->sip);
    s->dialog = nta_leg_tcreate(agent, on_dialog, (nta_leg_magic_t *)s,
                                SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to),
                                SIPTAG_TO(sip->sip_from),
                                NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq), TAG_END());
    s->rseq = sip->sip_cseq->cs_seq;
    const char *tag = s->dialog ? nta_leg_tag(s->dialog, nta_incoming_tag(irq, NULL)) : NULL;
    if (!tag)
        return -ENOMEM;
    snprintf(s->local_tag, sizeof(s->local_tag), "%s", tag);
    snprintf(s->remote_tag, sizeof(s->remote_tag), "%s",
             sip->sip_from && sip->sip_from->a_tag ? sip->sip_from->a_tag : "");
    nta_leg_server_route(s->dialog, sip->sip_record_route, sip->sip_contact);
    return 0;
}

/* RFC 4240 conf=<id>: the conference of that id, made by its first party; -EPERM for the
 * hidden mix of two connections of an AS */
static int join_rfc4240(struct mrfc_session *s)
{
    struct mrfc_conf *c = mrfc_conf_find(s->mrfc, s->svc.conf);
    if (c && c->hidden)
        return -EPERM;
    bool fresh = !c;
    if (fresh) {
        int rc = mrfc_conf_create(s->mrfc, s->svc.conf, false, false, NULL, &c);
        if (rc)
            return rc;
    }
    int rc = mrfc_conf_join(s, c, NULL);
    if (rc && fresh)
        mrfc_conf_destroy(s->mrfc, c);
    return rc;
}

/* Media of a new session: the leg, the conference; 0 or -errno (answered by the caller) */
static int session_media(struct mrfc_session *s, const struct mrfc_sdp_neg *n)
{
    struct mrfc_leg_params p;
    params_of(s->mrfc, n, &p);
    int rc = mrfc_media_leg_open(s->mrfc->media, &p, &s->leg, &s->port);
    if (rc)
        return rc;
    s->leg_open = true;
    s->mrfc->by_slot[s->leg & 0xffff] = s;
    if (s->svc.kind == MRFC_SVC_CONF)
        rc = join_rfc4240(s);
    return rc;
}

static int refuse_busy(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                       const char *why)
{
    ims_counter_inc(mrfc->m_refused_busy);
    return reply(mrfc, irq, sip, 503, mrfc->retry_after, NULL, "%s", why);
}

#define FULL_WHY "all sessions of this MRF are in use"

/* A refusal for mrfc.max_sessions: counted, logged at most once per 10 s (a flood is one
 * line, with the count of the refusals it stands for) */
static void full_refused(struct mrfc *mrfc)
{
    static struct ims_log_limit lim = IMS_LOG_LIMIT(10);
    ims_counter_inc(mrfc->m_refused_busy);
    ims_log_limited(&lim, IMS_LOG_WARN, NULL, "mrfc: INVITE answered 503: " FULL_WHY
                    " (%u, mrfc.max_sessions)", mrfc->max_sessions);
}

/*
 * The checks of mrfc_session_invite() up to mrfc.max_sessions, before the transaction
 * (mrfc/main.c: the INVITEs of the trust domain only): only the bound is answered here,
 * every earlier answer (481, 420, 404, 400) is left to the transaction, which checks the
 * bound again (a session may end or start between the two).
 */
bool mrfc_session_early(struct mrfc *mrfc, const sip_t *req, struct ims_sip_refusal *out)
{
    struct mrfc_service svc;
    char why[200];
    if (req->sip_request->rq_method != sip_method_invite || mrfc->nsessions < mrfc->max_sessions ||
        (req->sip_to && req->sip_to->a_tag) ||
        (req->sip_require && req->sip_require->k_items && req->sip_require->k_items[0]) ||
        mrfc_service_parse(req->sip_request->rq_url, &svc, why, sizeof(why)) != 0)
        return false;
    full_refused(mrfc);
    out->status = 503;
    out->retry_after = mrfc->retry_after;
    snprintf(out->why, sizeof(out->why), FULL_WHY);
    return true;
}

/* Look the announcement up: 0, or answered 404 (-1) */
static int find_prompt(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                       const struct mrfc_service *svc, struct mrfc_play_item *item)
{
    if (svc->kind != MRFC_SVC_ANNC)
        return 0;
    int rc = mrfc_prompts_find(mrfc->prompts, svc->play, item);
    if (rc == 0)
        return 0;
    ims_counter_inc(mrfc->m_refused_bad);
    if (rc == -EPROTONOSUPPORT)
        reply(mrfc, irq, sip, 404, 0, NULL, "play=%.200s: only file: URIs of the prompts "
              "folder and tone: are played, nothing is fetched", svc->play);
    else
        reply(mrfc, irq, sip, 404, 0, NULL, "no prompt %.200s here", svc->play);
    return -1;
}

/* Offline charging: the session starts with the 2xx just sent on @irq */
static void charge_start(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *invite)
{
    msg_t *resp = nta_incoming_getresponse(irq);
    if (!resp)
        return;
    mrfc_charging_open(s->mrfc, invite, sip_object(resp), s->started);
    msg_destroy(resp);
}

/* ---- a control channel (RFC 6230 5): an INVITE to sip:mrfc@ offering m=application cfw */

/* Whether @o is an offer the MRF takes; the status to refuse it with (and @why) otherwise */
static int channel_offer_check(struct mrfc *mrfc, const struct mrfc_sdp_cfw *o, char *why,
                               size_t len)
{
    if (!o->tls && !mrfc_cfw_port(mrfc)) {
        snprintf(why, len, "this MRF takes no control channel over TCP (mrfc.cfw_port is 0)");
        return 488;
    }
    struct mrfc_fp fps[MRFC_FP_LINES];
    if (o->tls && !mrfc_cfw_tls_port(mrfc)) {
        snprintf(why, len, "TCP/TLS control channels are not served (no mrfc.cfw_tls_port): "
                 "offer TCP");
        return 488;
    }
    if (o->tls && !mrfc_cfw_offer_fps(o, fps)) {
        snprintf(why, len, "TCP/TLS needs a=fingerprint of the AS's certificate with a SHA "
                 "hash (RFC 8122)");
        return 488;
    }
    if (strcasecmp(o->setup, "active") != 0 && strcasecmp(o->setup, "actpass") != 0) {
        snprintf(why, len, "a=setup:%s: the MRF listens, offer a=setup:active (RFC 4145)",
                 o->setup[0] ? o->setup : "(none)");
        return 488;
    }
    if (o->connection[0] && strcasecmp(o->connection, "new") != 0) {
        snprintf(why, len, "a=connection:%s: there is no connection to reuse", o->connection);
        return 488;
    }
    if (!o->cfw_id[0] || strlen(o->cfw_id) > 64 || strpbrk(o->cfw_id, " \t\"<>")) {
        snprintf(why, len, "a=cfw-id missing or not a token of at most 64 characters");
        return 400;
    }
    return 0;
}

/* Answer the channel's INVITE 200 with SDP @sdp (kept for the ACK) */
static void channel_answer(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *sip,
                           const struct mrfc_sdp_cfw *o, const char *packages)
{
    struct mrfc *mrfc = s->mrfc;
    const char *addr = ims_sip_address(mrfc->d->sip);
    struct mrfc_sdp_local l = { .addr = addr, .ip6 = strchr(addr, ':') != NULL,
                                .id = s->sdp_id, .version = s->sdp_version, .user = "mrfc",
                                .fingerprint = mrfc_cfw_fingerprint(mrfc) };
    uint16_t port = o->tls ? mrfc_cfw_tls_port(mrfc) : mrfc_cfw_port(mrfc);
    if (mrfc_sdp_cfw_answer(s->sdp, sizeof(s->sdp), &l, o, port, packages) < 0)
        s->sdp[0] = '\0';
    reply_sdp(s, irq, sip);
}

/*
 * An INVITE to sip:mrfc@ whose SDP offers a control channel: answered here (1). 0 when
 * the SDP offers none (a media leg, or SDP that read_offer() refuses).
 */
static int invite_channel(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                          const struct mrfc_invite *inv)
{
    const char *type = sip->sip_content_type ? sip->sip_content_type->c_type : "";
    if (!sip->sip_payload || !sip->sip_payload->pl_len || strcasecmp(type, "application/sdp"))
        return 0;
    struct mrfc_sdp_cfw o;
    char why[200], packages[256];
    int rc = mrfc_sdp_cfw_read(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &o, why,
                               sizeof(why));
    if (rc == -1 || rc == -EINVAL)
        return 0;
    int status = rc ? 488 : channel_offer_check(mrfc, &o, why, sizeof(why));
    if (status) {
        ims_counter_inc(mrfc->m_refused_bad);
        return reply(mrfc, irq, sip, status, 0, NULL, "%s", why), 1;
    }
    struct mrfc_service svc = inv->svc;
    svc.kind = MRFC_SVC_CFW;
    struct mrfc_session *s = session_new(mrfc, sip, &svc, inv->tcp);
    if (!s)
        return reply(mrfc, irq, sip, 500, 0, NULL, "out of memory"), 1;
    s->state = MRFC_S_WAIT_ACK;
    rc = dialog_create(s, irq, sip);
    if (rc == 0)
        rc = mrfc_cfw_chan_new(mrfc, s, &o, packages, sizeof(packages), &s->chan);
    if (rc) {
        session_free(s);
        ims_counter_inc(mrfc->m_refused_bad);
        if (rc == -EEXIST)
            return reply(mrfc, irq, sip, 400, 0, NULL, "cfw-id %s is in use", o.cfw_id), 1;
        if (rc == -ENOTSUP)
            return reply(mrfc, irq, sip, 488, 0, NULL, "no control package of the offer is "
                         "served: " MRFC_PKG_IVR " and " MRFC_PKG_MIXER " are"), 1;
        if (rc == -EPROTO)
            return reply(mrfc, irq, sip, 488, 0, NULL, "TCP/TLS without a usable "
                         "a=fingerprint"), 1;
        return reply(mrfc, irq, sip, 500, 0, NULL, "cannot create the channel"), 1;
    }
    connid_add(s);
    LOG(s, IMS_LOG_INFO, "mrfc: control channel %s offered from %s%s, packages %s", o.cfw_id,
        o.addr, o.tls ? " over TLS" : "", packages);
    channel_answer(s, irq, sip, &o, packages);
    su_timer_set_interval(s->limit, on_limit, s, (su_duration_t)mrfc->max_duration * 1000);
    return 1;
}

/* ---- the first INVITE of a media session ---- */

int mrfc_session_accept(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                        const struct mrfc_invite *inv, struct mrfc_online *ro)
{
    struct mrfc_session *s = session_new(mrfc, sip, &inv->svc, inv->tcp);
    if (!s) {
        mrfc_online_drop(ro);
        return reply(mrfc, irq, sip, 500, 0, NULL, "out of memory");
    }
    s->item = inv->item;
    s->state = MRFC_S_WAIT_ACK;
    s->ro = ro;
    int rc = session_media(s, inv->offer ? &inv->neg : NULL);
    if (rc) {
        session_free(s);
        if (rc == -EPERM)
            return reply(mrfc, irq, sip, 403, 0, NULL, "conference %s is not open to calls",
                         inv->svc.conf);
        ims_counter_inc(mrfc->m_refused_media);
        return refuse_busy(mrfc, irq, sip, rc == -EBUSY ? "no RTP port is free"
                                                         : "the media engine is overloaded");
    }
    if (inv->offer) {
        s->neg = inv->neg;
        s->has_neg = true;
    }
    s->offer_out = !inv->offer;
    if (dialog_create(s, irq, sip) != 0 || make_sdp(s, !inv->offer) != 0) {
        session_free(s);
        return reply(mrfc, irq, sip, 500, 0, NULL, "cannot create the dialog");
    }
    connid_add(s);
    LOG(s, IMS_LOG_INFO, "mrfc: %s session on leg %08x, RTP port %u, %s%s%s, connection %s",
        mrfc_service_name(inv->svc.kind), s->leg, s->port,
        inv->offer ? mrfc_codec_name(inv->neg.codec) : "offer sent",
        inv->offer ? " " : "", inv->offer ? mrfc_sdp_dir_name(inv->neg.dir) : "", s->connid);
    reply_sdp(s, irq, sip);
    charge_start(s, irq, sip);
    mrfc_online_answered(s);
    if (inv->offer)
        service_start(s);
    su_timer_set_interval(s->limit, on_limit, s, (su_duration_t)mrfc->max_duration * 1000);
    return 0;
}

int mrfc_session_invite(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                        const struct ims_sip_source *src)
{
    char why[200];
    if (sip->sip_to && sip->sip_to->a_tag)
        return reply(mrfc, irq, sip, 481, 0, NULL, "no such dialog here");
    if (check_require(mrfc, irq, sip) != 0)
        return 0;
    struct mrfc_invite inv;
    memset(&inv, 0, sizeof(inv));
    inv.tcp = strcmp(src->proto, "tcp") == 0;
    int rc = mrfc_service_parse(sip->sip_request->rq_url, &inv.svc, why, sizeof(why));
    if (rc) {
        ims_counter_inc(mrfc->m_refused_bad);
        return reply(mrfc, irq, sip, rc == -ENOENT ? 404 : 400, 0, NULL, "%s", why);
    }
    if (mrfc->nsessions >= mrfc->max_sessions) {
        full_refused(mrfc);
        return answer(mrfc, irq, 503, mrfc->retry_after, NULL, FULL_WHY);
    }
    if (inv.svc.kind == MRFC_SVC_MEDIA && invite_channel(mrfc, irq, sip, &inv))
        return 0;
    int offer = read_offer(mrfc, irq, sip, want_dir_of(inv.svc.kind), &inv.neg);
    if (offer < 0 || find_prompt(mrfc, irq, sip, &inv.svc, &inv.item) != 0)
        return 0;
    inv.offer = offer > 0;
    rc = mrfc_online_invite(mrfc, irq, sip, &inv);
    if (rc)
        return 0;                     /* answered, or waiting for the OCS */
    return mrfc_session_accept(mrfc, irq, sip, &inv, NULL);
}

/* ---- requests inside the dialog ---- */

/* A re-INVITE or UPDATE of a control channel: the same channel again, or 488 */
static int renegotiate_channel(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrfc_sdp_cfw o;
    char why[160];
    if (sip->sip_payload && sip->sip_payload->pl_len) {
        int rc = mrfc_sdp_cfw_read(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &o,
                                   why, sizeof(why));
        if (rc || !mrfc_cfw_chan_same(s->chan, &o))
            return reply(s->mrfc, irq, sip, 488, 0, NULL, "a control channel keeps its "
                         "m=application line, transport, a=fingerprint and cfw-id %s",
                         mrfc_cfw_chan_id(s->chan));
    }
    reply_sdp(s, irq, sip);      /* an offer of ours when it had none: its answer is not read */
    return 0;
}

/* A new offer (re-INVITE or UPDATE) or none (re-INVITE: our offer goes in the 2xx) */
static int renegotiate(struct mrfc_session *s, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrfc *mrfc = s->mrfc;
    bool invite = sip->sip_request->rq_method == sip_method_invite;
    if (s->invite || s->offer_out)
        return reply(mrfc, irq, sip, 500, 1 + (unsigned)(random() % 10), NULL,
                     "an earlier offer/answer exchange is not finished");
    if (s->svc.kind == MRFC_SVC_CFW)
        return s->chan ? renegotiate_channel(s, irq, sip)
                       : reply(mrfc, irq, sip, 481, 0, NULL, "the channel is gone");
    struct mrfc_sdp_neg n;
    int offer = read_offer(mrfc, irq, sip, want_dir(s), &n);
    if (offer < 0)
        return 0;                 /* refused: the session stays as it was (RFC 3261 14.2) */
    if (offer == 0 && !invite) {
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_SERVER_STR("mrfc"), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    if (offer) {
        struct mrfc_leg_params p;
        params_of(mrfc, &n, &p);
        if (mrfc_media_leg_update(mrfc->media, s->leg, &p) != 0)
            return refuse_busy(mrfc, irq, sip, "the media engine is overloaded");
        LOG(s, IMS_LOG_INFO, "mrfc: %s: %s %s, peer %s:%u", sip->sip_request->rq_method_name,
            mrfc_codec_name(n.codec), mrfc_sdp_dir_name(n.dir), n.addr, n.port);
        s->neg = n;
        s->has_neg = true;
    }
    s->offer_out = !offer;
    if (make_sdp(s, !offer) != 0)
        return reply(mrfc, irq, sip, 500, 0, NULL, "SDP too long");
    reply_sdp(s, irq, sip);
    if (offer)
        service_start(s);         /* a session whose first offer was ours may start now */
    return 0;
}

static int on_dialog(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                     const sip_t *sip)
{
    struct mrfc_session *s = (struct mrfc_session *)magic;
    struct mrfc *mrfc = s->mrfc;
    (void)leg;
    int method = sip->sip_request->rq_method;
    if (!ims_sip_dialog_source_ok(mrfc->d->sip, irq, sip, &s->dialog, &s->rseq, on_dialog,
                                  (nta_leg_magic_t *)s))
        return 0;                 /* as the session's INVITE had to: sip.trusted_peers only */
    if (method == sip_method_ack)
        return 0;                 /* an ACK its transaction did not take: a late copy */
    if (method == sip_method_bye) {
        LOG(s, IMS_LOG_INFO, "mrfc: BYE received");
        mrfc_charging_bye(mrfc, sip);
        if (s->state != MRFC_S_ENDING)
            session_reap(s);
        ims_sip_count_response(mrfc->d->sip, 200);
        return 200;
    }
    if (s->state == MRFC_S_ENDING)
        return reply(mrfc, irq, sip, 481, 0, NULL, "the session is ending");
    switch (method) {
    case sip_method_invite:
    case sip_method_update:
        return renegotiate(s, irq, sip);
    case sip_method_options:
        nta_incoming_treply(irq, SIP_200_OK, SIPTAG_ALLOW_STR(ALLOW),
                            SIPTAG_ACCEPT_STR("application/sdp"), SIPTAG_SERVER_STR("mrfc"),
                            TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    default:
        return reply(mrfc, irq, sip, 405, 0, NULL, "%s is not served in a dialog of this MRF",
                     sip->sip_request->rq_method_name);
    }
}

/* ---- media events ---- */

static struct mrfc_session *session_of_leg(struct mrfc *mrfc, uint32_t leg)
{
    unsigned slot = leg & 0xffff;
    struct mrfc_session *s = slot < mrfc->nslots ? mrfc->by_slot[slot] : NULL;
    return s && s->leg == leg ? s : NULL;
}

void mrfc_session_media_event(void *arg, struct mrfc_media_event *ev)
{
    struct mrfc *mrfc = arg;
    if (!mrfc->running)
        return;
    if (ev->kind == MRFC_EV_CLOSED) {
        const struct mrfc_leg_stats *st = &ev->stats;
        ims_info("mrfc: leg %08x closed: rtp sent=%llu received=%llu lost=%lld late=%llu "
                 "dropped=%llu jitter=%.2fms", ev->leg, (unsigned long long)st->sent,
                 (unsigned long long)st->received, (long long)st->lost,
                 (unsigned long long)st->late, (unsigned long long)st->dropped, st->jitter_ms);
        return;
    }
    struct mrfc_session *s = session_of_leg(mrfc, ev->leg);
    if (!s)
        return;                   /* the session ended meanwhile */
    if (s->svc.kind == MRFC_SVC_MEDIA && ev->kind != MRFC_EV_RTP_TIMEOUT) {
        mrfc_ivr_media_event(s, ev);
        return;
    }
    switch (ev->kind) {
    case MRFC_EV_PLAY_DONE:
        LOG(s, IMS_LOG_INFO, "mrfc: announcement done after %u ms (reason %d)", ev->played_ms,
            ev->reason);
        if (ev->reason != MRFC_END_STOPPED && s->svc.kind == MRFC_SVC_ANNC)
            session_bye(s, ev->reason == MRFC_END_DURATION ? "announcement duration reached"
                                                           : "announcement complete");
        break;
    case MRFC_EV_RTP_TIMEOUT:
        ims_counter_inc(mrfc->m_ended_timeout);
        session_bye(s, "no RTP received");
        break;
    case MRFC_EV_DTMF:
        LOG(s, IMS_LOG_DEBUG, "mrfc: DTMF %s (%s)", ev->digits,
            ev->source == MRFC_DTMF_INBAND ? "in-band" : "RFC 4733");
        break;
    default:
        break;
    }
}

/* ---- start and stop ---- */

int mrfc_session_init(struct mrfc *mrfc)
{
    mrfc->conns = ims_map_create(false);
    mrfc->nslots = mrfc_media_capacity(mrfc->media);
    mrfc->by_slot = calloc(mrfc->nslots ? mrfc->nslots : 1, sizeof(*mrfc->by_slot));
    if (!mrfc->conns || !mrfc->by_slot || mrfc_conf_init(mrfc) != 0)
        return -ENOMEM;
    for (int k = MRFC_SVC_ANNC; k < MRFC_SVC_KINDS; k++) {
        char label[32];
        snprintf(label, sizeof(label), "service=\"%s\"", mrfc_service_name(k));
        mrfc->m_active[k] = ims_gauge_new("mrfc_sessions_active", "sessions of the MRF", label);
        mrfc->m_total[k] = ims_counter_new("mrfc_sessions_total", "sessions accepted", label);
    }
    const char *h = "INVITEs refused, by reason";
    mrfc->m_refused_busy = ims_counter_new("mrfc_sessions_refused_total", h, "reason=\"busy\"");
    mrfc->m_refused_untrusted = ims_counter_new("mrfc_sessions_refused_total", h,
                                                "reason=\"untrusted\"");
    mrfc->m_refused_bad = ims_counter_new("mrfc_sessions_refused_total", h,
                                          "reason=\"request\"");
    mrfc->m_refused_media = ims_counter_new("mrfc_sessions_refused_total", h,
                                            "reason=\"media\"");
    mrfc->m_ended_timeout = ims_counter_new("mrfc_sessions_timed_out_total",
                                            "sessions the MRF ended for a timeout (duration, "
                                            "no RTP)", NULL);
    mrfc->m_confs = ims_gauge_new("mrfc_conferences_active", "conferences", NULL);
    return 0;
}

void mrfc_session_fini(struct mrfc *mrfc)
{
    while (mrfc->sessions) {
        struct mrfc_session *s = mrfc->sessions;
        if (s->state != MRFC_S_ENDING && !s->invite && s->dialog)
            nta_outgoing_tcreate(s->dialog, NULL, NULL, NULL, SIP_METHOD_BYE, NULL,
                                 SIPTAG_REASON_STR("SIP;cause=503;text=\"MRF shutting down\""),
                                 TAG_END());
        session_free(s);
    }
    mrfc_conf_fini(mrfc);
    if (mrfc->conns)
        ims_map_destroy(mrfc->conns);
    mrfc->conns = NULL;
    free(mrfc->by_slot);
    mrfc->by_slot = NULL;
}
