/*
 * interwork.h - what the MGCF maps between SIP and ISUP when a call is set up (TS 29.163
 * 7.2.3.1.2 and 7.2.3.2.2, ITU-T Q.1912.5): the IAM of an INVITE, the INVITE of an IAM, and
 * the SDP it exchanges with the IMS side and with the MGW
 *
 * Pure functions; the release tables are in interwork_tables.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_INTERWORK_H
#define MGCF_INTERWORK_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>

#include "isup.h"

#define MGCF_E164_MAX 15

/* How the MGCF sees numbers of its PSTN */
struct mgcf_iw_conf {
    const char *country_code;   /* "1": a national number N of the PSTN is +1N */
};

/*
 * mgcf_iw_e164_of - the E.164 digits (no '+', visual separators dropped) of @u: a tel URI
 * with a global number, or a SIP URI whose user part is a global number (user=phone or
 * not). 0; -EINVAL when @u names no global number; -E2BIG past 15 digits.
 */
int mgcf_iw_e164_of(const url_t *u, char *digits, size_t len);

/* Presentation of the calling identity: Privacy id, header or user (RFC 3323, 3325) */
bool mgcf_iw_privacy_restricted(const sip_t *sip);

/*
 * mgcf_iw_iam_from_invite - the call parameters of the IAM for @invite: called party number
 * from the Request-URI (international, ISDN numbering plan, routing to internal network
 * numbers not allowed); calling party number from the first P-Asserted-Identity that is a
 * number (network provided; presentation restricted when Privacy asks; address not
 * available when there is none); calling party's category from its cpc parameter (else
 * ordinary); forward call indicators (national call, interworking encountered, ISUP not
 * used all the way, preferred, non-ISDN access), nature of connection indicators and
 * transmission medium requirement (3.1 kHz audio). The CIC is the caller's.
 * Returns 0, or the SIP status to refuse the INVITE with (404: no E.164 number in the
 * Request-URI; 484: too long) with why in @why.
 */
int mgcf_iw_iam_from_invite(const sip_t *invite, struct mgcf_isup_msg *iam, char *why,
                            size_t len);

/* The INVITE of an incoming PSTN call */
struct mgcf_iw_origin {
    char request_uri[48];       /* tel:+<digits> */
    char to[64];                /* <tel:+...> */
    char from[128];             /* <tel:+...>, or the anonymous From of RFC 3323 */
    char pai[96];               /* <tel:+...;cpc=...>, or "" when not asserted */
    bool privacy;               /* Privacy: id */
};

/*
 * mgcf_iw_invite_from_iam - the Request-URI, To, From, P-Asserted-Identity and Privacy of
 * the INVITE for @iam (TS 29.163 7.2.3.2.2): the called number in international form (a
 * national number gets the country code, a trailing ST is dropped); the calling number in
 * From when presentation is allowed (else From is anonymous) and asserted (with Privacy: id
 * when restricted) when the network provided or verified it; the calling party's category
 * as the cpc parameter. Returns 0, or the Q.850 cause to release the call with (28 invalid
 * number format) with why in @why.
 */
int mgcf_iw_invite_from_iam(const struct mgcf_isup_msg *iam, const struct mgcf_iw_conf *conf,
                            struct mgcf_iw_origin *out, char *why, size_t len);

/* ---- SDP ---- */

#define MGCF_IW_FMTS_MAX 32

/* The audio stream of an SDP body, as far as the MGW needs it */
struct mgcf_iw_media {
    char addr[64];              /* c= address (IPv4) */
    unsigned port;              /* m=audio port */
    char fmts[MGCF_IW_FMTS_MAX];/* payload types, G.711 only, in the body's order: "8 0" */
};

/*
 * mgcf_iw_sdp_read - the first audio stream of @sdp (@len bytes) into @m, its formats kept
 * to those a circuit carries without transcoding (PCMU 0, PCMA 8). 0; -EINVAL when @sdp
 * is not SDP (a line ims_sdp_parse() refuses included), its audio port is above 65535 or
 * it has no usable connection address (a numeric IPv4 address); -ENOTSUP when no audio
 * stream is offered (port 0 or none) or none of its formats is G.711 (the call gets 488).
 */
int mgcf_iw_sdp_read(const char *sdp, size_t len, struct mgcf_iw_media *m);

/*
 * mgcf_iw_fmts_answer - the formats of an answer (RFC 3264 6.1): those of @offer, in its
 * order, that @can (the MGW's, from its Add reply) lists too, into @out ("8 0" form). 0, or
 * -ENOTSUP when they share none (the offer gets 488).
 */
int mgcf_iw_fmts_answer(const char *offer, const char *can, char *out, size_t len);

/* The Local descriptor of an RTP termination the MGW is to choose: "c=IN IP4 $", "m=audio $
 * RTP/AVP <fmts>". Returns the length or -ENOSPC. */
int mgcf_iw_mg_local(const char *fmts, char *buf, size_t size);

/* The Remote descriptor of an RTP termination: where the IMS side's RTP goes. Returns the
 * length or -ENOSPC. */
int mgcf_iw_mg_remote(const struct mgcf_iw_media *m, char *buf, size_t size);

/*
 * mgcf_iw_sdp_write - a complete SDP body for the IMS side describing @m (the MGW's RTP
 * termination): origin "mgcf" @session @version of @origin_addr, rtpmap lines for the G.711
 * formats, a=sendrecv. Returns the length or -ENOSPC.
 */
int mgcf_iw_sdp_write(const struct mgcf_iw_media *m, unsigned long session, unsigned version,
                      const char *origin_addr, char *buf, size_t size);

#endif
