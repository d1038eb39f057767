/*
 * sipi.c - SIP-I bodies (ITU-T Q.1912.5 profile C, RFC 3204): multipart/mixed of SDP and
 * application/ISUP, made and read with sofia-sip's msg_multipart_*
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "sipi.h"
#include "interwork_tables.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mime.h>
#include <sofia-sip/msg_mime_protos.h>
#include <sofia-sip/sip_header.h>

int mgcf_sipi_isup_encode(const struct mgcf_isup_msg *m, uint8_t *buf, size_t cap)
{
    uint8_t tmp[MGCF_ISUP_LEN_MAX];
    int n = mgcf_isup_encode(m, tmp, sizeof(tmp));
    if (n < 0)
        return n;
    if ((size_t)n - 2 > cap)
        return -ENOSPC;
    memcpy(buf, tmp + 2, (size_t)n - 2);
    return n - 2;
}

int mgcf_sipi_isup_decode(const uint8_t *buf, size_t len, struct mgcf_isup_msg *m)
{
    uint8_t tmp[MGCF_ISUP_LEN_MAX + 2] = { 0 };     /* CIC 0, then the message */
    if (len == 0 || len > MGCF_ISUP_LEN_MAX)
        return -EINVAL;
    memcpy(tmp + 2, buf, len);
    return mgcf_isup_decode(tmp, len + 2, m);
}

/* The bytes of a serialized (completed) multipart @first into one payload of @home */
static sip_payload_t *flatten(su_home_t *home, msg_multipart_t *first)
{
    msg_header_t *head = NULL;
    msg_t *scratch = msg_create(sip_default_mclass(), 0);
    sip_payload_t *pl = NULL;
    if (!scratch || !msg_multipart_serialize(&head, first))
        goto out_scratch;
    issize_t len = msg_multipart_prepare(scratch, first, 0);
    if (len <= 0 || !(pl = sip_payload_create(home, NULL, (isize_t)len)))
        goto out_scratch;
    size_t off = 0;
    for (msg_header_t *h = (msg_header_t *)first; h && off < (size_t)len; h = h->sh_succ) {
        size_t n = h->sh_len;
        if (n > (size_t)len - off)
            n = (size_t)len - off;
        memcpy((char *)pl->pl_data + off, h->sh_data, n);
        off += n;
    }
    pl->pl_len = off;
out_scratch:
    if (scratch)
        msg_destroy(scratch);
    return pl;
}

int mgcf_sipi_body_make(su_home_t *home, const char *sdp, const struct mgcf_isup_msg *isup,
                        bool required, sip_content_type_t **ct, sip_payload_t **pl)
{
    uint8_t bin[MGCF_ISUP_LEN_MAX];
    int n = mgcf_sipi_isup_encode(isup, bin, sizeof(bin));
    if (n < 0)
        return -EINVAL;
    msg_multipart_t *mp_isup = msg_multipart_create(home, MGCF_SIPI_TYPE ";version="
                                                    MGCF_SIPI_VERSION, bin, (isize_t)n);
    msg_multipart_t *mp_sdp = sdp ? msg_multipart_create(home, "application/sdp", sdp,
                                                         (isize_t)strlen(sdp))
                                  : NULL;
    if (!mp_isup || (sdp && !mp_sdp))
        return -ENOMEM;
    mp_isup->mp_content_disposition = msg_content_disposition_make(
        home, required ? "signal;handling=required" : "signal;handling=optional");
    *ct = sip_content_type_make(home, "multipart/mixed");
    if (!mp_isup->mp_content_disposition || !*ct)
        return -ENOMEM;
    msg_multipart_t *first = mp_isup;
    if (mp_sdp) {
        mp_sdp->mp_next = mp_isup;
        first = mp_sdp;
    }
    if (msg_multipart_complete(home, (msg_content_type_t *)*ct, first) < 0)
        return -ENOMEM;
    *pl = flatten(home, first);
    return *pl ? 0 : -ENOMEM;
}

static bool type_is(const msg_content_type_t *c, const char *type)
{
    return c && c->c_type && strcasecmp(c->c_type, type) == 0;
}

/* A part's handling: required unless its Content-Disposition says optional (RFC 3261) */
static bool part_required(const msg_multipart_t *mp)
{
    const msg_content_disposition_t *cd = mp->mp_content_disposition;
    return !(cd && cd->cd_optional);
}

/* The application/ISUP part @mp into @out: 0 (used or ignored), or -errno to refuse */
static int read_isup(const msg_multipart_t *mp, struct mgcf_sipi_body *out)
{
    const char *v = msg_header_find_param(mp->mp_content_type->c_common, "version=");
    bool required = part_required(mp);
    int rc;
    if (out->has_isup || out->isup_error)
        return -EINVAL;
    if (!v || strcasecmp(v, MGCF_SIPI_VERSION) != 0)
        rc = -ENOTSUP;
    else if (!mp->mp_payload || !mp->mp_payload->pl_len)
        rc = -EINVAL;
    else
        rc = mgcf_sipi_isup_decode((const uint8_t *)mp->mp_payload->pl_data,
                                   mp->mp_payload->pl_len, &out->isup);
    out->isup_required = required;
    if (rc == 0) {
        out->has_isup = true;
        return 0;
    }
    out->isup_error = rc;
    if (!required)
        return 0;
    return rc == -ENOTSUP ? -EMEDIUMTYPE : -EINVAL;
}

static int read_parts(const msg_multipart_t *mp, struct mgcf_sipi_body *out)
{
    for (; mp; mp = mp->mp_next) {
        const msg_content_type_t *c = mp->mp_content_type;
        if (type_is(c, "application/sdp")) {
            if (out->sdp)
                return -EINVAL;
            out->sdp = mp->mp_payload ? mp->mp_payload->pl_data : "";
            out->sdp_len = mp->mp_payload ? mp->mp_payload->pl_len : 0;
        } else if (type_is(c, MGCF_SIPI_TYPE)) {
            int rc = read_isup(mp, out);
            if (rc)
                return rc;
        } else if (part_required(mp)) {
            return -EMEDIUMTYPE;
        }
    }
    return 0;
}

/* The delimiter of multipart type @ct: "--" and its boundary parameter (quotes removed) */
static int delimiter_of(const sip_content_type_t *ct, char *buf, size_t len)
{
    const char *b = msg_header_find_param(((const msg_content_type_t *)ct)->c_common,
                                          "boundary=");
    size_t n = b ? strlen(b) : 0;
    if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
        b++;
        n -= 2;
    }
    if (!n || n > 70 || memchr(b, '\\', n) || memchr(b, '"', n) || n + 3 > len)
        return -EINVAL;                 /* RFC 2046 5.1.1: 1 to 70 characters */
    memcpy(buf, "--", 2);
    memcpy(buf + 2, b, n);
    buf[n + 2] = '\0';
    return 0;
}

/*
 * headers_clean - are the header lines of every part of @pl free of control characters?
 * sofia-sip's msg_multipart_parse() asserts (aborts) on a part header it cannot extract,
 * e.g. one with a NUL: such a body is refused before it gets there. A part starts after
 * each delimiter (at the start of the body or after a LF, as the parser looks for it); its
 * headers end at the first empty line.
 */
static bool headers_clean(const char *p, size_t len, const char *delim)
{
    size_t dl = strlen(delim);
    bool in_headers = false;
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || p[i - 1] == '\n') && len - i >= dl && memcmp(p + i, delim, dl) == 0) {
            in_headers = true;          /* the rest of the delimiter line is checked too */
            i += dl - 1;
            continue;
        }
        if (!in_headers)
            continue;
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n' && i + 1 < len && (p[i + 1] == '\n' || p[i + 1] == '\r')) {
            in_headers = false;         /* a line starting with CR or LF: the body follows */
            continue;
        }
        if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

int mgcf_sipi_body_read(su_home_t *home, const sip_content_type_t *ct, const sip_payload_t *pl,
                        struct mgcf_sipi_body *out)
{
    memset(out, 0, sizeof(*out));
    if (!pl || !pl->pl_len)
        return 0;
    if (type_is((const msg_content_type_t *)ct, "application/sdp")) {
        out->sdp = pl->pl_data;
        out->sdp_len = pl->pl_len;
        return 0;
    }
    if (!type_is((const msg_content_type_t *)ct, "multipart/mixed"))
        return -EMEDIUMTYPE;
    out->multipart = true;
    char delim[80];
    /* msg_multipart_parse() compares the start of the body with the delimiter before it
     * knows the body is that long (an overread, found by fuzz mgcf_sipi): a body shorter
     * than a delimiter and its close is not a multipart anyway */
    if (delimiter_of(ct, delim, sizeof(delim)) < 0 || pl->pl_len < 2 * strlen(delim) + 2 ||
        !headers_clean(pl->pl_data, pl->pl_len, delim))
        return -EINVAL;
    /* it writes into the payload: it gets a copy, with NULs past its end for the look-ahead
     * of its delimiter search */
    sip_payload_t *copy = sip_payload_create(home, NULL, (isize_t)pl->pl_len + 8);
    if (!copy)
        return -ENOMEM;
    memcpy((char *)copy->pl_data, pl->pl_data, pl->pl_len);
    memset((char *)copy->pl_data + pl->pl_len, 0, 8);
    copy->pl_len = pl->pl_len;
    msg_multipart_t *mp = msg_multipart_parse(home, (const msg_content_type_t *)ct, copy);
    if (!mp)
        return -EINVAL;
    return read_parts(mp, out);
}

int mgcf_sipi_iam_merge(struct mgcf_isup_msg *iam, const struct mgcf_isup_msg *enc)
{
    static const struct { enum mgcf_isup_par par; size_t off, len; } take[] = {
        { ISUP_PAR_CALLING, offsetof(struct mgcf_isup_msg, calling),
          sizeof(struct mgcf_isup_number) },
        { ISUP_PAR_GENERIC_NUMBER, offsetof(struct mgcf_isup_msg, generic),
          sizeof(struct mgcf_isup_number) },
        { ISUP_PAR_CPC, offsetof(struct mgcf_isup_msg, cpc), sizeof(uint8_t) },
        { ISUP_PAR_FCI, offsetof(struct mgcf_isup_msg, fci), sizeof(struct mgcf_isup_fci) },
        { ISUP_PAR_NCI, offsetof(struct mgcf_isup_msg, nci), sizeof(struct mgcf_isup_nci) },
        { ISUP_PAR_TMR, offsetof(struct mgcf_isup_msg, tmr), sizeof(uint8_t) },
        { ISUP_PAR_OFCI, offsetof(struct mgcf_isup_msg, ofci), sizeof(uint8_t) },
    };
    if (enc->type != ISUP_IAM)
        return 0;
    for (size_t i = 0; i < sizeof(take) / sizeof(take[0]); i++) {
        if (!mgcf_isup_has(enc, take[i].par))
            continue;
        memcpy((char *)iam + take[i].off, (const char *)enc + take[i].off, take[i].len);
        mgcf_isup_set(iam, take[i].par);
    }
    if (mgcf_isup_has(enc, ISUP_PAR_HOP_COUNTER)) {
        if (enc->hop_counter <= 1)
            return 483;
        iam->hop_counter = (uint8_t)(enc->hop_counter - 1);
        mgcf_isup_set(iam, ISUP_PAR_HOP_COUNTER);
    }
    return 0;
}

bool mgcf_sipi_fits(uint8_t type, sip_method_t method, int status)
{
    switch (type) {
    case ISUP_IAM:
        return method == sip_method_invite;
    case ISUP_ACM:
    case ISUP_CPG:
        return method == sip_method_invalid && status > 100 && status < 200;
    case ISUP_ANM:
    case ISUP_CON:
        return method == sip_method_invalid && status >= 200 && status < 300;
    case ISUP_REL:
        return method == sip_method_bye || method == sip_method_cancel ||
               (method == sip_method_invalid && status >= 300);
    case ISUP_SUS:
    case ISUP_RES:
        return method == sip_method_info;
    default:
        return false;
    }
}

const struct mgcf_isup_msg *mgcf_sipi_to_carry(const struct mgcf_isup_msg *pstn,
                                               bool pstn_fresh, sip_method_t method,
                                               int status, uint8_t cause, uint8_t location,
                                               struct mgcf_isup_msg *own)
{
    if (pstn_fresh && mgcf_sipi_fits(pstn->type, method, status))
        return pstn;
    if (!cause || cause > 127 || !mgcf_sipi_fits(ISUP_REL, method, status))
        return NULL;
    mgcf_isup_init(own, ISUP_REL, 0);
    own->cause.coding = ISUP_CODING_ITU;
    own->cause.location = location;
    own->cause.value = cause;
    mgcf_isup_set(own, ISUP_PAR_CAUSE);
    return own;
}

int mgcf_sipi_infoq_push(struct mgcf_sipi_infoq *q, const struct mgcf_isup_msg *m)
{
    if (q->n >= MGCF_SIPI_INFOQ_MAX)
        return -ENOBUFS;
    q->m[(q->head + q->n) % MGCF_SIPI_INFOQ_MAX] = *m;
    q->n++;
    return 0;
}

bool mgcf_sipi_infoq_pop(struct mgcf_sipi_infoq *q, struct mgcf_isup_msg *m)
{
    if (q->n == 0)
        return false;
    *m = q->m[q->head];
    q->head = (q->head + 1) % MGCF_SIPI_INFOQ_MAX;
    q->n--;
    return true;
}

enum mgcf_sipi_info_next mgcf_sipi_info_answered(int status, uint8_t *cause)
{
    if (status < 200)
        return MGCF_SIPI_INFO_WAIT;
    if (status == 408) {
        *cause = Q850_RECOVERY_ON_TIMER_EXPIRY;
        return MGCF_SIPI_INFO_END;
    }
    if (status == 481) {
        *cause = Q850_TEMPORARY_FAILURE;
        return MGCF_SIPI_INFO_END;
    }
    return MGCF_SIPI_INFO_NEXT;
}
