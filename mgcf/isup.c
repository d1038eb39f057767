/*
 * isup.c - ISUP message codec (ITU-T Q.763): table-driven message formats, one encoder and
 * one decoder per parameter (pure: no I/O)
 *
 * A message (Q.763 1.3) is: CIC (2 octets, 12 bits, least significant octet first), message
 * type, the mandatory fixed part, one pointer per mandatory variable parameter and one to
 * the optional part when the type has one, the variable parameters (length + value), then
 * the optional parameters (code + length + value) ending in an octet 0. A pointer counts
 * octets from itself to what it points at; an optional part pointer of 0 means no optional
 * parameter (and then no end octet).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "isup.h"

#include <errno.h>
#include <string.h>

/* Q.763 Table 5 parameter codes */
enum {
    CODE_END = 0x00,
    CODE_TMR = 0x02,
    CODE_CALLED = 0x04,
    CODE_SUBSEQUENT = 0x05,
    CODE_NCI = 0x06,
    CODE_FCI = 0x07,
    CODE_OFCI = 0x08,
    CODE_CPC = 0x09,
    CODE_CALLING = 0x0a,
    CODE_BCI = 0x11,
    CODE_CAUSE = 0x12,
    CODE_RANGE = 0x16,
    CODE_CONNECTED = 0x21,
    CODE_SUS_RES = 0x22,
    CODE_EVENT = 0x24,
    CODE_OBCI = 0x29,
    CODE_HOP_COUNTER = 0x3d,
    CODE_GENERIC_NUMBER = 0xc0,
};

typedef int (*par_decode_fn)(struct mgcf_isup_msg *m, const uint8_t *p, size_t len);
/* writes the value (no code, no length) into @out of @cap octets; returns its length */
typedef int (*par_encode_fn)(const struct mgcf_isup_msg *m, uint8_t *out, size_t cap);

struct par_desc {
    uint8_t code;
    par_decode_fn decode;
    par_encode_fn encode;
};

#define NONE 0xff
#define FIXED_MAX 4
#define VAR_MAX 1

struct msg_format {
    uint8_t type;
    const char *name;
    uint8_t fixed[FIXED_MAX];   /* enum mgcf_isup_par in order, NONE-terminated */
    uint8_t fixed_len[FIXED_MAX];
    uint8_t var[VAR_MAX];       /* mandatory variable parameters, NONE-terminated */
    bool optional;              /* has an optional part (and its pointer) */
    uint32_t allowed;           /* optional parameters this codec writes and reads */
};

#define B(p) ISUP_BIT(ISUP_PAR_##p)
#define NO_FIXED {NONE, NONE, NONE, NONE}, {0}

/* Q.763 Tables 21 to 51 (the messages the MGCF uses) */
static const struct msg_format formats[] = {
    {ISUP_IAM, "IAM",
     {ISUP_PAR_NCI, ISUP_PAR_FCI, ISUP_PAR_CPC, ISUP_PAR_TMR}, {1, 2, 1, 1},
     {ISUP_PAR_CALLED}, true,
     B(CALLING) | B(GENERIC_NUMBER) | B(OFCI) | B(HOP_COUNTER)},
    {ISUP_SAM, "SAM", NO_FIXED, {ISUP_PAR_SUBSEQUENT}, true, 0},        /* Table 35 */
    {ISUP_ACM, "ACM", {ISUP_PAR_BCI, NONE}, {2}, {NONE}, true, B(OBCI) | B(CAUSE)},
    {ISUP_CPG, "CPG", {ISUP_PAR_EVENT, NONE}, {1}, {NONE}, true,
     B(CAUSE) | B(BCI) | B(OBCI) | B(CONNECTED) | B(GENERIC_NUMBER)},
    {ISUP_ANM, "ANM", NO_FIXED, {NONE}, true,
     B(BCI) | B(OBCI) | B(CONNECTED) | B(GENERIC_NUMBER)},
    {ISUP_CON, "CON", {ISUP_PAR_BCI, NONE}, {2}, {NONE}, true,
     B(OBCI) | B(CONNECTED) | B(GENERIC_NUMBER)},
    {ISUP_REL, "REL", NO_FIXED, {ISUP_PAR_CAUSE}, true, 0},
    {ISUP_RLC, "RLC", NO_FIXED, {NONE}, true, B(CAUSE)},
    {ISUP_SUS, "SUS", {ISUP_PAR_SUS_RES, NONE}, {1}, {NONE}, true, 0},   /* Table 38 */
    {ISUP_RES, "RES", {ISUP_PAR_SUS_RES, NONE}, {1}, {NONE}, true, 0},
    {ISUP_BLO, "BLO", NO_FIXED, {NONE}, false, 0},
    {ISUP_BLA, "BLA", NO_FIXED, {NONE}, false, 0},
    {ISUP_UBL, "UBL", NO_FIXED, {NONE}, false, 0},
    {ISUP_UBA, "UBA", NO_FIXED, {NONE}, false, 0},
    {ISUP_RSC, "RSC", NO_FIXED, {NONE}, false, 0},
    {ISUP_GRS, "GRS", NO_FIXED, {ISUP_PAR_RANGE}, false, 0},
    {ISUP_GRA, "GRA", NO_FIXED, {ISUP_PAR_RANGE}, false, 0},
};

static const struct msg_format *format_of(uint8_t type)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (formats[i].type == type)
            return &formats[i];
    return NULL;
}

const char *mgcf_isup_type_name(uint8_t type)
{
    const struct msg_format *f = format_of(type);
    return f ? f->name : NULL;
}

void mgcf_isup_init(struct mgcf_isup_msg *m, uint8_t type, uint16_t cic)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->cic = cic;
}

/* ---- address signals (3.9 g, h): two per octet, first in bits 4-1, filler 0000 ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Pack @digits after @head header octets already in @out; sets the odd/even indicator
 * (bit 8) of @out[@oe_at]. Returns the total length or -EINVAL / -ENOSPC.
 */
static int digits_encode(const char *digits, uint8_t *out, size_t cap, size_t head, size_t oe_at)
{
    size_t n = strnlen(digits, MGCF_ISUP_DIGITS_MAX + 1);
    if (n > MGCF_ISUP_DIGITS_MAX)
        return -EINVAL;
    size_t total = head + (n + 1) / 2;
    if (total > cap)
        return -ENOSPC;
    for (size_t i = 0; i < n; i++) {
        int v = hex_value(digits[i]);
        if (v < 0)
            return -EINVAL;
        uint8_t *o = &out[head + i / 2];
        if (i % 2 == 0)
            *o = (uint8_t)v;
        else
            *o |= (uint8_t)(v << 4);
    }
    if (n % 2)
        out[oe_at] |= 0x80;
    return (int)total;
}

/* Unpack @len octets of address signals; @odd: the odd/even indicator. */
static int digits_decode(const uint8_t *p, size_t len, bool odd, char *digits)
{
    static const char hex[] = "0123456789ABCDEF";
    if (odd && len == 0)
        return -EINVAL;
    size_t n = len * 2 - (odd ? 1 : 0);
    if (n > MGCF_ISUP_DIGITS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        digits[i] = hex[i % 2 ? p[i / 2] >> 4 : p[i / 2] & 0x0f];
    digits[n] = '\0';
    return 0;
}

/* ---- numbers ---- */

enum number_kind { NUM_CALLED, NUM_CALLING, NUM_CONNECTED, NUM_GENERIC };

static int number_encode(const struct mgcf_isup_number *num, enum number_kind kind,
                         uint8_t *out, size_t cap)
{
    size_t q = kind == NUM_GENERIC ? 1 : 0;
    if (num->nai > 0x7f || num->npi > 7 || num->inn_ni > 1 || num->apri > 3 || num->si > 3)
        return -EINVAL;
    if (kind != NUM_CALLED && num->apri == ISUP_APRI_NOT_AVAILABLE && num->digits[0])
        return -EINVAL;         /* 3.10 e: no address signals when not available */
    if (cap < q + 2)
        return -ENOSPC;
    if (q)
        out[0] = num->qualifier;
    out[q] = num->nai;
    if (kind == NUM_CALLED)
        out[q + 1] = (uint8_t)(num->inn_ni << 7 | num->npi << 4);
    else
        out[q + 1] = (uint8_t)((kind == NUM_CONNECTED ? 0 : num->inn_ni << 7) | num->npi << 4 |
                               num->apri << 2 | num->si);
    return digits_encode(num->digits, out, cap, q + 2, q);
}

static int number_decode(struct mgcf_isup_number *num, enum number_kind kind,
                         const uint8_t *p, size_t len)
{
    size_t q = kind == NUM_GENERIC ? 1 : 0;
    if (len < q + 2)
        return -EINVAL;
    memset(num, 0, sizeof(*num));
    if (q)
        num->qualifier = p[0];
    num->nai = p[q] & 0x7f;
    num->npi = (p[q + 1] >> 4) & 7;
    num->inn_ni = kind == NUM_CONNECTED ? 0 : p[q + 1] >> 7;
    if (kind != NUM_CALLED) {
        num->apri = (p[q + 1] >> 2) & 3;
        num->si = p[q + 1] & 3;
    }
    return digits_decode(p + q + 2, len - q - 2, (p[q] & 0x80) != 0, num->digits);
}

static int called_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return number_encode(&m->called, NUM_CALLED, o, cap);
}
static int called_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    return number_decode(&m->called, NUM_CALLED, p, len);
}
static int calling_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return number_encode(&m->calling, NUM_CALLING, o, cap);
}
static int calling_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    return number_decode(&m->calling, NUM_CALLING, p, len);
}
static int connected_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return number_encode(&m->connected, NUM_CONNECTED, o, cap);
}
static int connected_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    return number_decode(&m->connected, NUM_CONNECTED, p, len);
}
static int generic_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return number_encode(&m->generic, NUM_GENERIC, o, cap);
}
static int generic_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    return number_decode(&m->generic, NUM_GENERIC, p, len);
}

/* Subsequent number (3.51): octet 1 is the odd/even indicator (bit 8) and 7 spare bits */
static int subsequent_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    if (cap < 1)
        return -ENOSPC;
    o[0] = 0;
    if (!m->subsequent[0])
        return -EINVAL;                 /* a SAM carries one address signal at least */
    return digits_encode(m->subsequent, o, cap, 1, 0);
}
static int subsequent_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len < 2)
        return -EINVAL;
    return digits_decode(p + 1, len - 1, (p[0] & 0x80) != 0, m->subsequent);
}

/* ---- one-octet parameters ---- */

/* Write one octet @v (checked against @max). */
static int octet_enc(unsigned v, unsigned max, uint8_t *o, size_t cap)
{
    if (v > max)
        return -EINVAL;
    if (cap < 1)
        return -ENOSPC;
    o[0] = (uint8_t)v;
    return 1;
}

static int nci_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    const struct mgcf_isup_nci *n = &m->nci;
    if (n->satellite > 3 || n->continuity > 3 || n->echo_device > 1)
        return -EINVAL;
    return octet_enc((unsigned)(n->satellite | n->continuity << 2 | n->echo_device << 4), 0xff,
                     o, cap);
}
static int nci_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->nci.satellite = p[0] & 3;
    m->nci.continuity = (p[0] >> 2) & 3;
    m->nci.echo_device = (p[0] >> 4) & 1;
    return 0;
}

static int cpc_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->cpc, 0xff, o, cap);
}
static int cpc_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->cpc = p[0];
    return 0;
}

static int tmr_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->tmr, 0xff, o, cap);
}
static int tmr_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->tmr = p[0];
    return 0;
}

static int ofci_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->ofci, 0xff, o, cap);
}
static int ofci_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->ofci = p[0];
    return 0;
}

static int hop_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->hop_counter, 0x1f, o, cap);
}
static int hop_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->hop_counter = p[0] & 0x1f;
    return 0;
}

static int obci_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->obci, 0xff, o, cap);
}
static int obci_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->obci = p[0];
    return 0;
}

static int event_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    if (m->event > 0x7f || m->event_restricted > 1)
        return -EINVAL;
    return octet_enc((unsigned)(m->event | m->event_restricted << 7), 0xff, o, cap);
}
static int event_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->event = p[0] & 0x7f;
    m->event_restricted = p[0] >> 7;
    return 0;
}

static int sus_res_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    return octet_enc(m->sus_res, 0x01, o, cap);
}
static int sus_res_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len != 1)
        return -EINVAL;
    m->sus_res = p[0] & 0x01;
    return 0;
}

/* ---- two-octet indicators ---- */

static int fci_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    const struct mgcf_isup_fci *f = &m->fci;
    if (f->international > 1 || f->e2e_method > 3 || f->interworking > 1 || f->e2e_info > 1 ||
        f->isup_all_the_way > 1 || f->isup_preference > 3 || f->isdn_access > 1 ||
        f->sccp_method > 3 || f->national > 0x1f)
        return -EINVAL;
    if (cap < 2)
        return -ENOSPC;
    o[0] = (uint8_t)(f->international | f->e2e_method << 1 | f->interworking << 3 |
                     f->e2e_info << 4 | f->isup_all_the_way << 5 | f->isup_preference << 6);
    o[1] = (uint8_t)(f->isdn_access | f->sccp_method << 1 | f->national << 3);
    return 2;
}
static int fci_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    struct mgcf_isup_fci *f = &m->fci;
    if (len != 2)
        return -EINVAL;
    f->international = p[0] & 1;
    f->e2e_method = (p[0] >> 1) & 3;
    f->interworking = (p[0] >> 3) & 1;
    f->e2e_info = (p[0] >> 4) & 1;
    f->isup_all_the_way = (p[0] >> 5) & 1;
    f->isup_preference = p[0] >> 6;
    f->isdn_access = p[1] & 1;
    f->sccp_method = (p[1] >> 1) & 3;
    f->national = p[1] >> 3;
    return 0;
}

static int bci_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    const struct mgcf_isup_bci *b = &m->bci;
    if (b->charge > 3 || b->called_status > 3 || b->called_category > 3 || b->e2e_method > 3 ||
        b->interworking > 1 || b->e2e_info > 1 || b->isup_all_the_way > 1 || b->holding > 1 ||
        b->isdn_access > 1 || b->echo_device > 1 || b->sccp_method > 3)
        return -EINVAL;
    if (cap < 2)
        return -ENOSPC;
    o[0] = (uint8_t)(b->charge | b->called_status << 2 | b->called_category << 4 |
                     b->e2e_method << 6);
    o[1] = (uint8_t)(b->interworking | b->e2e_info << 1 | b->isup_all_the_way << 2 |
                     b->holding << 3 | b->isdn_access << 4 | b->echo_device << 5 |
                     b->sccp_method << 6);
    return 2;
}
static int bci_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    struct mgcf_isup_bci *b = &m->bci;
    if (len != 2)
        return -EINVAL;
    b->charge = p[0] & 3;
    b->called_status = (p[0] >> 2) & 3;
    b->called_category = (p[0] >> 4) & 3;
    b->e2e_method = p[0] >> 6;
    b->interworking = p[1] & 1;
    b->e2e_info = (p[1] >> 1) & 1;
    b->isup_all_the_way = (p[1] >> 2) & 1;
    b->holding = (p[1] >> 3) & 1;
    b->isdn_access = (p[1] >> 4) & 1;
    b->echo_device = (p[1] >> 5) & 1;
    b->sccp_method = p[1] >> 6;
    return 0;
}

/* ---- cause indicators (3.12 and Q.850 2.2) ---- */

static int cause_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    const struct mgcf_isup_cause *c = &m->cause;
    if (c->coding > 3 || c->location > 0x0f || c->recommendation > 0x7f || c->value > 0x7f ||
        c->diag_len > MGCF_ISUP_DIAG_MAX)
        return -EINVAL;
    size_t n = (c->has_recommendation ? 3 : 2) + c->diag_len;
    if (cap < n)
        return -ENOSPC;
    size_t i = 0;
    /* octet 1: ext (1 = last of the group unless octet 1a follows), coding, spare, location */
    o[i++] = (uint8_t)((c->has_recommendation ? 0 : 0x80) | c->coding << 5 | c->location);
    if (c->has_recommendation)
        o[i++] = (uint8_t)(0x80 | c->recommendation);
    o[i++] = (uint8_t)(0x80 | c->value);
    memcpy(o + i, c->diag, c->diag_len);
    return (int)n;
}
static int cause_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    struct mgcf_isup_cause *c = &m->cause;
    memset(c, 0, sizeof(*c));
    if (len < 2)
        return -EINVAL;
    size_t i = 1;
    c->coding = (p[0] >> 5) & 3;
    c->location = p[0] & 0x0f;
    if (!(p[0] & 0x80)) {       /* extension: octet 1a (recommendation) follows */
        if (len < 3)
            return -EINVAL;
        c->has_recommendation = true;
        c->recommendation = p[i++] & 0x7f;
    }
    c->value = p[i++] & 0x7f;
    if (len - i > MGCF_ISUP_DIAG_MAX)
        return -EINVAL;
    c->diag_len = (uint8_t)(len - i);
    memcpy(c->diag, p + i, c->diag_len);
    return 0;
}

/* ---- range and status (3.43): GRS carries the range only, GRA its status bits too ---- */

static size_t status_octets(uint8_t range)
{
    return ((size_t)range + 1 + 7) / 8;
}

static int range_enc(const struct mgcf_isup_msg *m, uint8_t *o, size_t cap)
{
    uint8_t r = m->range.range;
    if (r < 1 || r > MGCF_ISUP_RANGE_MAX)      /* range code 0 is reserved for GRS */
        return -EINVAL;
    size_t n = m->type == ISUP_GRA ? 1 + status_octets(r) : 1;
    if (cap < n)
        return -ENOSPC;
    o[0] = r;
    uint32_t mask = r == 31 ? 0xffffffffu : (1u << (r + 1)) - 1;
    uint32_t status = m->range.status & mask;
    for (size_t i = 1; i < n; i++)
        o[i] = (uint8_t)(status >> (8 * (i - 1)));
    return (int)n;
}
static int range_dec(struct mgcf_isup_msg *m, const uint8_t *p, size_t len)
{
    if (len < 1 || p[0] < 1 || p[0] > MGCF_ISUP_RANGE_MAX)
        return -EINVAL;
    uint8_t r = p[0];
    size_t n = m->type == ISUP_GRA ? 1 + status_octets(r) : 1;
    if (len != n)
        return -EINVAL;
    m->range.range = r;
    m->range.status = 0;
    for (size_t i = 1; i < n; i++)
        m->range.status |= (uint32_t)p[i] << (8 * (i - 1));
    uint32_t mask = r == 31 ? 0xffffffffu : (1u << (r + 1)) - 1;
    m->range.status &= mask;
    return 0;
}

/* indexed by enum mgcf_isup_par */
static const struct par_desc pars[ISUP_PAR_COUNT] = {
    [ISUP_PAR_NCI] = {CODE_NCI, nci_dec, nci_enc},
    [ISUP_PAR_FCI] = {CODE_FCI, fci_dec, fci_enc},
    [ISUP_PAR_CPC] = {CODE_CPC, cpc_dec, cpc_enc},
    [ISUP_PAR_TMR] = {CODE_TMR, tmr_dec, tmr_enc},
    [ISUP_PAR_CALLED] = {CODE_CALLED, called_dec, called_enc},
    [ISUP_PAR_CALLING] = {CODE_CALLING, calling_dec, calling_enc},
    [ISUP_PAR_GENERIC_NUMBER] = {CODE_GENERIC_NUMBER, generic_dec, generic_enc},
    [ISUP_PAR_OFCI] = {CODE_OFCI, ofci_dec, ofci_enc},
    [ISUP_PAR_HOP_COUNTER] = {CODE_HOP_COUNTER, hop_dec, hop_enc},
    [ISUP_PAR_BCI] = {CODE_BCI, bci_dec, bci_enc},
    [ISUP_PAR_OBCI] = {CODE_OBCI, obci_dec, obci_enc},
    [ISUP_PAR_EVENT] = {CODE_EVENT, event_dec, event_enc},
    [ISUP_PAR_CAUSE] = {CODE_CAUSE, cause_dec, cause_enc},
    [ISUP_PAR_RANGE] = {CODE_RANGE, range_dec, range_enc},
    [ISUP_PAR_CONNECTED] = {CODE_CONNECTED, connected_dec, connected_enc},
    [ISUP_PAR_SUS_RES] = {CODE_SUS_RES, sus_res_dec, sus_res_enc},
    [ISUP_PAR_SUBSEQUENT] = {CODE_SUBSEQUENT, subsequent_dec, subsequent_enc},
};

/* The parameter of @code allowed in the optional part of @f, or -1 */
static int optional_par_of(const struct msg_format *f, uint8_t code)
{
    for (int p = 0; p < ISUP_PAR_COUNT; p++)
        if (pars[p].code == code && (f->allowed & ISUP_BIT(p)))
            return p;
    return -1;
}

/* ---- encoder ---- */

/* The mandatory fixed part: each parameter at exactly its length. Returns octets written. */
static int encode_fixed(const struct msg_format *f, const struct mgcf_isup_msg *m,
                        uint8_t *buf, size_t cap)
{
    size_t off = 0;
    for (int i = 0; i < FIXED_MAX && f->fixed[i] != NONE; i++) {
        uint8_t p = f->fixed[i];
        if (!mgcf_isup_has(m, p))
            return -EINVAL;
        int n = pars[p].encode(m, buf + off, cap - off);
        if (n < 0)
            return n;
        if ((size_t)n != f->fixed_len[i])
            return -EINVAL;
        off += (size_t)n;
    }
    return (int)off;
}

/*
 * The pointers, the mandatory variable parameters and the optional part, from @off of
 * @buf. Returns the message length.
 */
static int encode_rest(const struct msg_format *f, const struct mgcf_isup_msg *m,
                       uint8_t *buf, size_t cap, size_t off)
{
    size_t nvar = 0;
    while (nvar < VAR_MAX && f->var[nvar] != NONE)
        nvar++;
    size_t nptr = nvar + (f->optional ? 1 : 0);
    size_t ptr_at = off;
    if (cap - off < nptr)
        return -ENOSPC;
    off += nptr;
    for (size_t i = 0; i < nvar; i++) {
        uint8_t p = f->var[i];
        if (!mgcf_isup_has(m, p))
            return -EINVAL;
        if (cap - off < 1)
            return -ENOSPC;
        int n = pars[p].encode(m, buf + off + 1, cap - off - 1);
        if (n < 0)
            return n;
        if (n > 255 || off - (ptr_at + i) > 255)
            return -EINVAL;
        buf[ptr_at + i] = (uint8_t)(off - (ptr_at + i));
        buf[off] = (uint8_t)n;
        off += 1 + (size_t)n;
    }
    if (!f->optional)
        return (int)off;
    size_t opt_ptr = ptr_at + nvar;
    buf[opt_ptr] = 0;
    for (int p = 0; p < ISUP_PAR_COUNT; p++) {
        if (!(f->allowed & ISUP_BIT(p)) || !mgcf_isup_has(m, p))
            continue;
        if (cap - off < 2)
            return -ENOSPC;
        int n = pars[p].encode(m, buf + off + 2, cap - off - 2);
        if (n < 0)
            return n;
        if (n > 255)
            return -EINVAL;
        if (buf[opt_ptr] == 0) {
            if (off - opt_ptr > 255)
                return -EINVAL;
            buf[opt_ptr] = (uint8_t)(off - opt_ptr);
        }
        buf[off] = pars[p].code;
        buf[off + 1] = (uint8_t)n;
        off += 2 + (size_t)n;
    }
    if (buf[opt_ptr] != 0) {
        if (cap - off < 1)
            return -ENOSPC;
        buf[off++] = CODE_END;
    }
    return (int)off;
}

int mgcf_isup_encode(const struct mgcf_isup_msg *m, uint8_t *buf, size_t cap)
{
    const struct msg_format *f = format_of(m->type);
    if (!f || m->cic > MGCF_ISUP_CIC_MAX)
        return -EINVAL;
    uint32_t mandatory = 0;
    for (int i = 0; i < FIXED_MAX && f->fixed[i] != NONE; i++)
        mandatory |= ISUP_BIT(f->fixed[i]);
    for (int i = 0; i < VAR_MAX && f->var[i] != NONE; i++)
        mandatory |= ISUP_BIT(f->var[i]);
    if (m->present & ~(mandatory | f->allowed))
        return -EINVAL;         /* a parameter this message type does not carry */
    if (cap < 3)
        return -ENOSPC;
    buf[0] = (uint8_t)(m->cic & 0xff);
    buf[1] = (uint8_t)(m->cic >> 8);
    buf[2] = m->type;
    int n = encode_fixed(f, m, buf + 3, cap - 3);
    if (n < 0)
        return n;
    return encode_rest(f, m, buf, cap, 3 + (size_t)n);
}

/* ---- decoder ---- */

/* One optional parameter of @code and @len octets at @p: known ones decoded, others counted */
static int decode_optional(const struct msg_format *f, struct mgcf_isup_msg *m, uint8_t code,
                           const uint8_t *p, size_t len)
{
    int par = optional_par_of(f, code);
    if (par < 0 || (par == ISUP_PAR_GENERIC_NUMBER && mgcf_isup_has(m, par))) {
        if (m->unknown++ == 0)      /* Q.763 lets generic numbers repeat: keep the first */
            m->unknown_first = code;
        return 0;
    }
    if (mgcf_isup_has(m, par))
        return -EINVAL;             /* the same parameter twice */
    int rc = pars[par].decode(m, p, len);
    if (rc < 0)
        return rc;
    mgcf_isup_set(m, par);
    return 0;
}

/* The optional part starting at @pos (up to @len): parameters until the end octet */
static int decode_optional_part(const struct msg_format *f, struct mgcf_isup_msg *m,
                                const uint8_t *buf, size_t len, size_t pos)
{
    for (;;) {
        if (pos >= len)
            return -EINVAL;         /* no end of optional parameters */
        uint8_t code = buf[pos];
        if (code == CODE_END)
            return 0;
        if (len - pos < 2)
            return -EINVAL;
        size_t plen = buf[pos + 1];
        if (len - pos - 2 < plen)
            return -EINVAL;
        int rc = decode_optional(f, m, code, buf + pos + 2, plen);
        if (rc < 0)
            return rc;
        pos += 2 + plen;
    }
}

/* The pointers from @off: mandatory variable parameters, then the optional part */
static int decode_rest(const struct msg_format *f, struct mgcf_isup_msg *m,
                       const uint8_t *buf, size_t len, size_t off)
{
    size_t i = 0;
    for (; i < VAR_MAX && f->var[i] != NONE; i++) {
        if (off + i >= len || buf[off + i] == 0)
            return -EINVAL;
        size_t pos = off + i + buf[off + i];
        if (pos >= len || len - pos - 1 < buf[pos])
            return -EINVAL;
        int rc = pars[f->var[i]].decode(m, buf + pos + 1, buf[pos]);
        if (rc < 0)
            return rc;
        mgcf_isup_set(m, f->var[i]);
    }
    if (!f->optional)
        return 0;
    if (off + i >= len)
        return -EINVAL;
    if (buf[off + i] == 0)
        return 0;
    return decode_optional_part(f, m, buf, len, off + i + buf[off + i]);
}

int mgcf_isup_decode(const uint8_t *buf, size_t len, struct mgcf_isup_msg *m)
{
    memset(m, 0, sizeof(*m));
    if (len < 3)
        return -EINVAL;
    m->cic = (uint16_t)(buf[0] | (buf[1] & 0x0f) << 8);
    m->type = buf[2];
    const struct msg_format *f = format_of(m->type);
    if (!f)
        return -ENOTSUP;
    size_t off = 3;
    for (int i = 0; i < FIXED_MAX && f->fixed[i] != NONE; i++) {
        size_t n = f->fixed_len[i];
        if (len - off < n)
            return -EINVAL;
        int rc = pars[f->fixed[i]].decode(m, buf + off, n);
        if (rc < 0)
            return rc;
        mgcf_isup_set(m, f->fixed[i]);
        off += n;
    }
    return decode_rest(f, m, buf, len, off);
}
