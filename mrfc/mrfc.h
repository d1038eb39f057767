/*
 * mrfc.h - the Media Resource Function: its context and what its files share
 *
 * The MRFC (SIP control, session.c) and the MRFP (RTP media, media.c) run in one daemon:
 * the SIP side on the loop thread, the media in a thread of its own, between them the
 * command queue and the events of media.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_MRFC_H
#define MRFC_MRFC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "map.h"
#include "media.h"
#include "metrics.h"
#include "prompt.h"

struct mrfc_session;
struct ims_chg;
struct mrfc_cfw;
struct mrfc_ivr;
struct mrfc_ro;
struct mrfc_status;

struct mrfc {
    struct ims_daemon *d;
    struct mrfc_media *media;
    struct mrfc_prompts *prompts;
    /* configuration */
    char rtp_address[64];
    bool rtp_ip6;
    unsigned max_sessions;
    unsigned retry_after;         /* seconds, in 503 answers */
    unsigned max_duration;        /* seconds a session may last */
    uint32_t codecs;              /* (1 << enum mrfc_codec) accepted */
    bool inband_dtmf;
    /* state (loop thread) */
    bool running;                 /* between start and stop: events are taken */
    struct mrfc_session **by_slot;   /* the session of each leg slot (leg id & 0xffff) */
    unsigned nslots;
    struct mrfc_session *sessions;   /* every session, a list */
    unsigned nsessions;
    atomic_uint health_sessions;  /* nsessions for /health (the HTTP thread) */
    struct ims_map *confs;        /* conference id -> struct mrfc_conf */
    struct ims_map *conns;        /* connection id (both orders of the tags) -> session */
    struct mrfc_cfw *cfw;         /* the Cr control channels */
    struct mrfc_ivr *ivr;         /* the IVR package's dialogs */
    struct ims_chg *chg;          /* offline charging (Rf) */
    su_timer_t *chg_tick;
    struct mrfc_ro *ro;           /* online charging (Ro) */
    struct mrfc_status *status;   /* the status API */
    /* metrics */
    struct ims_gauge *m_active[5];       /* by enum mrfc_service_kind */
    struct ims_counter *m_total[5];
    struct ims_counter *m_refused_busy, *m_refused_untrusted, *m_refused_bad,
        *m_refused_media, *m_ended_timeout;
    struct ims_gauge *m_confs;
};

/* session.c: the UAS side of the MRF (RFC 4240 announcements and conferences) */
int mrfc_session_init(struct mrfc *mrfc);
/* End every session (a BYE is sent to each) and free them; the loop no longer runs */
void mrfc_session_fini(struct mrfc *mrfc);
/* An INVITE outside any dialog from trusted source @src: answered here; returns 0 */
int mrfc_session_invite(struct mrfc *mrfc, nta_incoming_t *irq, const sip_t *sip,
                        const struct ims_sip_source *src);
/*
 * mrfc_session_early - mrfc.max_sessions for a new INVITE @req before its transaction (an
 * ims_sip_early_refusal_fn's decision, for trusted sources): true with @out (503,
 * Retry-After mrfc.retry_after, the Warning mrfc_session_invite gives) when it would be
 * refused for the bound, false when another answer comes first or there is room. Counts and
 * logs (rate-limited) a refusal.
 */
bool mrfc_session_early(struct mrfc *mrfc, const sip_t *req, struct ims_sip_refusal *out);
/* What the media thread reports, on the loop thread */
void mrfc_session_media_event(void *arg, struct mrfc_media_event *ev);

/* status.c: GET /api/v1/mrf/status (JSON) for a media resource broker, from trusted
 * peers only */
int mrfc_status_init(struct mrfc *mrfc);
void mrfc_status_fini(struct mrfc *mrfc);

/* charging.c: offline charging (Rf) of the MRF's sessions */
int mrfc_charging_init(struct mrfc *mrfc);
/* Every dialog ends (STOP), then the Rf client goes (after ims_diam_stop) */
void mrfc_charging_stop(struct mrfc *mrfc);
/* The 2xx @ok to INVITE @invite (arrived at @t0) was sent: START */
void mrfc_charging_open(struct mrfc *mrfc, const sip_t *invite, const sip_t *ok, time_t t0);
/* The peer's BYE: STOP */
void mrfc_charging_bye(struct mrfc *mrfc, const sip_t *bye);
/* The MRF ended the session of Call-ID @call_id and tags @tag1, @tag2: STOP (if open) */
void mrfc_charging_end(struct mrfc *mrfc, const char *call_id, const char *tag1,
                       const char *tag2);

#endif
