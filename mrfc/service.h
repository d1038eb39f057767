/*
 * service.h - which media service a Request-URI asks for (RFC 4240, basic network media
 * services with SIP)
 *
 *   sip:annc@mrf;play=<uri>[;repeat=N|forever][;delay=ms][;duration=ms]   announcement
 *   sip:conf=<id>@mrf                                                    conference
 *   sip:mrfc@mrf     a media leg an AS controls over Cr, or (when the SDP offers an
 *                    m=application ... TCP cfw line) a Cr control channel (RFC 6230)
 *
 * A pure parser of the URI: the prompt named by play= is looked up elsewhere (prompt.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_SERVICE_H
#define MRFC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/url.h>

#define MRFC_REPEAT_MAX 1000      /* repeat= above this is refused (forever is allowed) */
#define MRFC_MS_MAX 3600000u      /* delay= and duration= at most one hour */

#define MRFC_SVC_MEDIA_USER "mrfc"   /* the user part of legs and channels of an AS */

enum mrfc_service_kind {
    MRFC_SVC_ANNC = 1,
    MRFC_SVC_CONF,
    MRFC_SVC_MEDIA,               /* a leg the control channel drives */
    MRFC_SVC_CFW,                 /* a control channel (from the SDP of a MEDIA request) */
    MRFC_SVC_KINDS
};

struct mrfc_service {
    int kind;                     /* enum mrfc_service_kind */
    char play[512];               /* annc: the play= URI, %-escapes decoded */
    unsigned repeat;              /* annc: times to play, 0 for forever (default 1) */
    unsigned delay_ms;            /* annc: silence between two plays (default 0) */
    unsigned duration_ms;         /* annc: longest time to play in all, 0 for no limit */
    char conf[65];                /* conf: the conference identifier */
};

/*
 * mrfc_service_parse - the service of Request-URI @uri into @out.
 * Returns 0; -ENOENT when the user part names no service of this MRF (404); -EINVAL when
 * the parameters are wrong (400: no play=, a repeat, delay or duration that is no number in
 * range, a conference identifier with characters other than letters, digits and "-._~+",
 * or longer than 64). @why receives the reason.
 */
int mrfc_service_parse(const url_t *uri, struct mrfc_service *out, char *why, size_t whylen);

/* "annc", "conf", "media" or "cfw" */
const char *mrfc_service_name(int kind);

#endif
