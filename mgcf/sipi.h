/*
 * sipi.h - SIP-I (ITU-T Q.1912.5 profile C, RFC 3204): the ISUP message of a call carried
 * in the SIP message that interworks it, as an application/ISUP part beside the SDP in a
 * multipart/mixed body
 *
 * Pure functions (sofia-sip's msg_multipart_* does the MIME): a body is made from an SDP
 * text and a struct mgcf_isup_msg, and read back into both. The ISUP part holds the message
 * from its message type code on: no routing label, no CIC (RFC 3204 3; the circuit is the
 * dialog). Which SIP message carries which ISUP message, and from which peers it is taken,
 * is sip.c's business (mgcf/README.md, "SIP-I").
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_SIPI_H
#define MGCF_SIPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/sip.h>
#include <sofia-sip/su_alloc.h>

#include "isup.h"

#define MGCF_SIPI_TYPE     "application/ISUP"
#define MGCF_SIPI_VERSION  "itu-t92+"

/* What a SIP message's body carried */
struct mgcf_sipi_body {
    const char *sdp;            /* the application/sdp text (in the home), or NULL */
    size_t sdp_len;
    bool multipart;             /* the body was multipart/mixed */
    bool has_isup;              /* an application/ISUP part was decoded into @isup */
    bool isup_required;         /* its Content-Disposition said handling=required */
    int isup_error;             /* an ISUP part was there but not used: -ENOTSUP (another
                                 * version, a message type not known), -EINVAL (malformed) */
    struct mgcf_isup_msg isup;  /* CIC 0 */
};

/*
 * mgcf_sipi_isup_encode - @m from its message type code on (its CIC is not written) into
 * @buf. Returns the length, or mgcf_isup_encode()'s -EINVAL / -ENOSPC.
 */
int mgcf_sipi_isup_encode(const struct mgcf_isup_msg *m, uint8_t *buf, size_t cap);

/*
 * mgcf_sipi_isup_decode - an ISUP message without CIC (@len octets from the message type)
 * into @m (CIC 0). Returns mgcf_isup_decode()'s 0, -ENOTSUP or -EINVAL.
 */
int mgcf_sipi_isup_decode(const uint8_t *buf, size_t len, struct mgcf_isup_msg *m);

/*
 * mgcf_sipi_body_make - a multipart/mixed body: @sdp (NULL: no SDP part) as application/sdp,
 * then @isup as application/ISUP;version=itu-t92+ with Content-Disposition
 * signal;handling=required (or optional). *@ct (with its boundary) and *@pl are allocated
 * from @home. Returns 0, -EINVAL when @isup does not encode, -ENOMEM.
 */
int mgcf_sipi_body_make(su_home_t *home, const char *sdp, const struct mgcf_isup_msg *isup,
                        bool required, sip_content_type_t **ct, sip_payload_t **pl);

/*
 * mgcf_sipi_body_read - the SDP and the ISUP of a body of type @ct (@pl, NULL or empty: no
 * body; @pl is not changed): application/sdp alone, or multipart/mixed with at most one
 * application/sdp and one application/ISUP part. An ISUP part of another version or that
 * does not decode is not used (@out->isup_error says why) unless its handling is required.
 * Returns 0; -EMEDIUMTYPE for a body neither SDP nor multipart/mixed, a part of another type
 * whose handling is not optional (RFC 3261 20.11: required by default), or an ISUP part
 * required but of another version or message type; -EINVAL for a multipart that cannot be
 * read, a part twice, or an ISUP part required and malformed; -ENOMEM.
 */
int mgcf_sipi_body_read(su_home_t *home, const sip_content_type_t *ct, const sip_payload_t *pl,
                        struct mgcf_sipi_body *out);

/*
 * mgcf_sipi_iam_merge - the IAM to send for an INVITE from a SIP-I peer (Q.1912.5 profile
 * C): @iam as mapped from the SIP headers (its called party number from the Request-URI,
 * which proxies may have translated, is kept) takes from the encapsulated @enc its calling
 * party number, generic number, calling party's category, forward call indicators, nature of
 * connection indicators, transmission medium requirement, optional forward call indicators
 * and hop counter (less one). Returns 0, or 483 when the hop counter is spent (Q.764 2.1.13).
 */
int mgcf_sipi_iam_merge(struct mgcf_isup_msg *iam, const struct mgcf_isup_msg *enc);

/*
 * mgcf_sipi_fits - may ISUP message @type be carried in a SIP message of @method (an INVITE,
 * BYE, CANCEL or INFO request; sip_method_invalid for a response) with @status? IAM in an
 * INVITE, ACM and CPG in 18x, ANM and CON in 2xx, REL in 3xx-6xx, BYE and CANCEL, SUS and
 * RES (no SIP counterpart) in INFO (Q.1912.5 profile C).
 */
bool mgcf_sipi_fits(uint8_t type, sip_method_t method, int status);

/*
 * mgcf_sipi_to_carry - the ISUP message a SIP message (@method, else a response @status) of
 * a SIP-I call carries: @pstn, the last message from the PSTN, when @pstn_fresh (not carried
 * yet) and it fits (mgcf_sipi_fits); else, for a release the MGCF makes itself (@cause
 * 1..127 given: a final error response, BYE or CANCEL), a REL of its own written into @own
 * with @cause at @location (Q.1912.5 profile C: the peer gets the REL an ISUP exchange would
 * send). NULL when nothing is carried (a release answering the peer's own, @cause 0).
 */
const struct mgcf_isup_msg *mgcf_sipi_to_carry(const struct mgcf_isup_msg *pstn,
                                               bool pstn_fresh, sip_method_t method,
                                               int status, uint8_t cause, uint8_t location,
                                               struct mgcf_isup_msg *own);

/*
 * The MGCF's INFOs in a SIP-I dialog (a SUS or RES each, Q.1912.5 profile C). One INFO is
 * outstanding in a dialog at a time (RFC 6086, as remembered: the next one waits for the
 * final response to the one before, so the peer takes them in order); those that come
 * meanwhile wait here, a few at most.
 */
#define MGCF_SIPI_INFOQ_MAX 4

struct mgcf_sipi_infoq {
    unsigned head, n;
    struct mgcf_isup_msg m[MGCF_SIPI_INFOQ_MAX];
};

/* mgcf_sipi_infoq_push - @m at the end of @q: 0, or -ENOBUFS when @q is full (unchanged) */
int mgcf_sipi_infoq_push(struct mgcf_sipi_infoq *q, const struct mgcf_isup_msg *m);

/* mgcf_sipi_infoq_pop - the oldest message of @q into @m: true, or false when @q is empty */
bool mgcf_sipi_infoq_pop(struct mgcf_sipi_infoq *q, struct mgcf_isup_msg *m);

/* What the final response to our INFO leads to */
enum mgcf_sipi_info_next {
    MGCF_SIPI_INFO_WAIT = 0,    /* provisional: the INFO is still outstanding */
    MGCF_SIPI_INFO_NEXT,        /* final (2xx, or an error logged): the next INFO may go */
    MGCF_SIPI_INFO_END,         /* 481 or 408 (a timeout too): the dialog is gone, the call
                                 * ends (RFC 3261 12.2.1.2) */
};

/*
 * mgcf_sipi_info_answered - what the response @status to our INFO leads to; for
 * MGCF_SIPI_INFO_END the cause to release the call with in *@cause: 102 (recovery on timer
 * expiry) for 408, 41 (temporary failure) for 481.
 */
enum mgcf_sipi_info_next mgcf_sipi_info_answered(int status, uint8_t *cause);

#endif
