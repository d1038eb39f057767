/*
 * check_isup.c - the ISUP codec (mgcf/isup.c) against octets worked out by hand from
 * ITU-T Q.763, one comment per field; round trips; refusals of malformed input
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "isup.h"

/* IAM on CIC 291 from the IMS: alice (+15550100001) calls +19995550123 */
static const uint8_t iam_bytes[] = {
    0x23, 0x01,             /* CIC 291 = 0x123, least significant octet first */
    0x01,                   /* message type IAM */
    0x10,                   /* NCI: no satellite, no continuity check, echo device (E) */
    0x48, 0x00,             /* FCI: national (A=0), interworking encountered (D=1), ISUP not
                               all the way (F=0), ISUP not required all the way (HG=01);
                               non-ISDN access, no SCCP method */
    0x0a,                   /* calling party's category: ordinary subscriber */
    0x03,                   /* transmission medium requirement: 3.1 kHz audio */
    0x02,                   /* pointer to the called party number: 2 octets on */
    0x0a,                   /* pointer to the optional part: 10 octets on (offset 19) */
    0x08,                   /* called party number, length 8 */
    0x84,                   /*   odd, NAI international */
    0x90,                   /*   INN routing not allowed, NPI ISDN (E.164), spare */
    0x91, 0x99, 0x55, 0x05, 0x21, 0x03, /* 1 9 9 9 5 5 5 0 1 2 3, filler */
    0x0a, 0x08,             /* calling party number, length 8 */
    0x84,                   /*   odd, NAI international */
    0x13,                   /*   NI complete, NPI ISDN, presentation allowed, network provided */
    0x51, 0x55, 0x10, 0x00, 0x00, 0x01, /* 1 5 5 5 0 1 0 0 0 0 1, filler */
    0x3d, 0x01, 0x14,       /* hop counter 20 */
    0x00,                   /* end of optional parameters */
};

static void iam_fill(struct mgcf_isup_msg *m)
{
    mgcf_isup_init(m, ISUP_IAM, 291);
    m->nci.echo_device = 1;
    m->fci.interworking = 1;
    m->fci.isup_preference = 1;
    m->cpc = ISUP_CPC_ORDINARY;
    m->tmr = ISUP_TMR_3_1KHZ;
    m->called.nai = ISUP_NAI_INTERNATIONAL;
    m->called.npi = ISUP_NPI_ISDN;
    m->called.inn_ni = ISUP_INN_NOT_ALLOWED;
    strcpy(m->called.digits, "19995550123");
    m->calling.nai = ISUP_NAI_INTERNATIONAL;
    m->calling.npi = ISUP_NPI_ISDN;
    m->calling.apri = ISUP_APRI_ALLOWED;
    m->calling.si = ISUP_SI_NETWORK;
    strcpy(m->calling.digits, "15550100001");
    m->hop_counter = 20;
    m->present = ISUP_BIT(ISUP_PAR_NCI) | ISUP_BIT(ISUP_PAR_FCI) | ISUP_BIT(ISUP_PAR_CPC) |
                 ISUP_BIT(ISUP_PAR_TMR) | ISUP_BIT(ISUP_PAR_CALLED) |
                 ISUP_BIT(ISUP_PAR_CALLING) | ISUP_BIT(ISUP_PAR_HOP_COUNTER);
}

/* ACM: subscriber free, charge, in-band information available */
static const uint8_t acm_bytes[] = {
    0x05, 0x00,             /* CIC 5 */
    0x06,                   /* ACM */
    0x16,                   /* BCI octet 1: charge (BA=10), subscriber free (DC=01),
                               ordinary subscriber (FE=01), no end-to-end method */
    0x01,                   /* BCI octet 2: interworking encountered (I), the rest 0 */
    0x01,                   /* pointer to the optional part */
    0x29, 0x01, 0x01,       /* optional backward call indicators: in-band information */
    0x00,                   /* end of optional parameters */
};

static void acm_fill(struct mgcf_isup_msg *m)
{
    mgcf_isup_init(m, ISUP_ACM, 5);
    m->bci.charge = ISUP_BCI_CHARGE;
    m->bci.called_status = ISUP_BCI_SUBSCRIBER_FREE;
    m->bci.called_category = ISUP_BCI_ORDINARY;
    m->bci.interworking = 1;
    m->obci = ISUP_OBCI_INBAND;
    mgcf_isup_set(m, ISUP_PAR_BCI);
    mgcf_isup_set(m, ISUP_PAR_OBCI);
}

/* CPG: alerting, with the BCI repeated in the optional part and a cause */
static const uint8_t cpg_bytes[] = {
    0x05, 0x00, 0x2c,       /* CIC 5, CPG */
    0x01,                   /* event information: ALERTING, presentation not restricted */
    0x01,                   /* pointer to the optional part */
    0x11, 0x02, 0x14, 0x00, /* BCI: no charge indication, subscriber free, ordinary */
    0x12, 0x02, 0x84, 0x92, /* cause: ITU-T, location RLN (4); value 18 no user responding */
    0x00,
};

static void cpg_fill(struct mgcf_isup_msg *m)
{
    mgcf_isup_init(m, ISUP_CPG, 5);
    m->event = ISUP_EVENT_ALERTING;
    m->bci.called_status = ISUP_BCI_SUBSCRIBER_FREE;
    m->bci.called_category = ISUP_BCI_ORDINARY;
    m->cause.location = ISUP_LOC_RLN;
    m->cause.value = 18;
    m->present = ISUP_BIT(ISUP_PAR_EVENT) | ISUP_BIT(ISUP_PAR_BCI) | ISUP_BIT(ISUP_PAR_CAUSE);
}

/* ANM with a connected number, restricted */
static const uint8_t anm_bytes[] = {
    0x05, 0x00, 0x09,       /* CIC 5, ANM */
    0x01,                   /* pointer to the optional part */
    0x21, 0x07,             /* connected number, length 7 */
    0x03,                   /*   even, NAI national */
    0x15,                   /*   spare 0, NPI ISDN, presentation restricted, user verified */
    0x99, 0x59, 0x55, 0x10, 0x32, /* 9 9 9 5 5 5 0 1 2 3 */
    0x00,
};

static void anm_fill(struct mgcf_isup_msg *m)
{
    mgcf_isup_init(m, ISUP_ANM, 5);
    m->connected.nai = ISUP_NAI_NATIONAL;
    m->connected.npi = ISUP_NPI_ISDN;
    m->connected.apri = ISUP_APRI_RESTRICTED;
    m->connected.si = ISUP_SI_USER_PASSED;
    strcpy(m->connected.digits, "9995550123");
    mgcf_isup_set(m, ISUP_PAR_CONNECTED);
}

/* REL: normal call clearing from the local public network */
static const uint8_t rel_bytes[] = {
    0x05, 0x00, 0x0c,       /* CIC 5, REL */
    0x02,                   /* pointer to the cause indicators (offset 5) */
    0x00,                   /* no optional part */
    0x02,                   /* cause indicators, length 2 */
    0x82,                   /*   last octet of the group, ITU-T, spare, location LN (2) */
    0x90,                   /*   last octet, cause 16 normal call clearing */
};

static void rel_fill(struct mgcf_isup_msg *m)
{
    mgcf_isup_init(m, ISUP_REL, 5);
    m->cause.location = ISUP_LOC_LN;
    m->cause.value = 16;
    mgcf_isup_set(m, ISUP_PAR_CAUSE);
}

/* REL with recommendation octet 1a and a diagnostic (Q.850 2.2.3) */
static const uint8_t rel_diag_bytes[] = {
    0x05, 0x00, 0x0c, 0x02, 0x00,
    0x04,                   /* cause indicators, length 4 */
    0x03,                   /*   ext 0 (octet 1a follows), ITU-T, location TN (3) */
    0x80,                   /*   octet 1a: recommendation Q.931 (0) */
    0xa2,                   /*   cause 34 no circuit available */
    0x17,                   /*   diagnostic octet */
};

static const uint8_t rlc_bytes[] = {0x05, 0x00, 0x10, 0x00}; /* RLC, no optional part */
static const uint8_t blo_bytes[] = {0x07, 0x00, 0x13};      /* BLO, CIC 7: the type only */

/* GRS of CICs 1..32 */
static const uint8_t grs_bytes[] = {
    0x01, 0x00, 0x17,       /* CIC 1, GRS */
    0x01,                   /* pointer to range and status */
    0x01,                   /* length 1: the status subfield is absent in GRS */
    0x1f,                   /* range 31: 32 circuits */
};

/* GRA of CICs 1..4, CICs 1 and 3 blocked for maintenance */
static const uint8_t gra_bytes[] = {
    0x01, 0x00, 0x29,       /* CIC 1, GRA */
    0x01,                   /* pointer */
    0x02,                   /* length 2 */
    0x03,                   /* range 3: 4 circuits */
    0x05,                   /* status bits 0 and 2 */
};

/* IAM with a generic number (additional calling party number) and no calling number */
static const uint8_t iam_gn_bytes[] = {
    0x01, 0x00, 0x01,       /* CIC 1, IAM */
    0x00,                   /* NCI: nothing */
    0x60, 0x01,             /* FCI: ISUP used all the way (F=1), not required all the way
                               (HG=01); ISDN access (I=1) */
    0x0a, 0x00,             /* CPC ordinary, TMR speech */
    0x02, 0x06,             /* pointers: called (offset 10), optional (offset 15) */
    0x04, 0x03, 0x10, 0x21, 0x43, /* called: length 4, even national, INN 0 NPI 1, 1 2 3 4 */
    0xc0, 0x06,             /* generic number, length 6 */
    0x06,                   /*   qualifier: additional calling party number */
    0x83,                   /*   odd, national */
    0x11,                   /*   NI 0, NPI ISDN, presentation allowed (00), user verified (01) */
    0x21, 0x43, 0x05,       /*   1 2 3 4 5, filler */
    0x00,
};

struct vector {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    void (*fill)(struct mgcf_isup_msg *m);
};

static const struct vector vectors[] = {
    {"IAM", iam_bytes, sizeof(iam_bytes), iam_fill},
    {"ACM", acm_bytes, sizeof(acm_bytes), acm_fill},
    {"CPG", cpg_bytes, sizeof(cpg_bytes), cpg_fill},
    {"ANM", anm_bytes, sizeof(anm_bytes), anm_fill},
    {"REL", rel_bytes, sizeof(rel_bytes), rel_fill},
};

START_TEST(encode_matches_hand_checked_bytes)
{
    const struct vector *v = &vectors[_i];
    struct mgcf_isup_msg m;
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    v->fill(&m);
    int n = mgcf_isup_encode(&m, buf, sizeof(buf));
    ck_assert_msg(n == (int)v->len, "%s: length %d, want %zu", v->name, n, v->len);
    for (size_t i = 0; i < v->len; i++)
        ck_assert_msg(buf[i] == v->bytes[i], "%s: octet %zu is %02x, want %02x", v->name, i,
                      buf[i], v->bytes[i]);
}
END_TEST

START_TEST(decode_gives_the_same_fields)
{
    const struct vector *v = &vectors[_i];
    struct mgcf_isup_msg want, got;
    v->fill(&want);
    ck_assert_int_eq(mgcf_isup_decode(v->bytes, v->len, &got), 0);
    ck_assert_msg(memcmp(&want, &got, sizeof(want)) == 0, "%s decodes differently", v->name);
}
END_TEST

START_TEST(decode_iam_fields)
{
    struct mgcf_isup_msg m;
    ck_assert_int_eq(mgcf_isup_decode(iam_bytes, sizeof(iam_bytes), &m), 0);
    ck_assert_uint_eq(m.cic, 291);
    ck_assert_uint_eq(m.type, ISUP_IAM);
    ck_assert_str_eq(m.called.digits, "19995550123");
    ck_assert_uint_eq(m.called.nai, ISUP_NAI_INTERNATIONAL);
    ck_assert_uint_eq(m.called.inn_ni, 1);
    ck_assert_str_eq(m.calling.digits, "15550100001");
    ck_assert_uint_eq(m.calling.si, ISUP_SI_NETWORK);
    ck_assert_uint_eq(m.calling.apri, ISUP_APRI_ALLOWED);
    ck_assert_uint_eq(m.fci.isup_preference, 1);
    ck_assert_uint_eq(m.fci.interworking, 1);
    ck_assert_uint_eq(m.hop_counter, 20);
    ck_assert(!mgcf_isup_has(&m, ISUP_PAR_GENERIC_NUMBER));
    ck_assert_uint_eq(m.unknown, 0);
}
END_TEST

START_TEST(decode_generic_number)
{
    struct mgcf_isup_msg m;
    ck_assert_int_eq(mgcf_isup_decode(iam_gn_bytes, sizeof(iam_gn_bytes), &m), 0);
    ck_assert_str_eq(m.called.digits, "1234");
    ck_assert_uint_eq(m.called.nai, ISUP_NAI_NATIONAL);
    ck_assert_uint_eq(m.fci.isup_all_the_way, 1);
    ck_assert_uint_eq(m.fci.isup_preference, 1);
    ck_assert_uint_eq(m.fci.isdn_access, 1);
    ck_assert(mgcf_isup_has(&m, ISUP_PAR_GENERIC_NUMBER));
    ck_assert(!mgcf_isup_has(&m, ISUP_PAR_CALLING));
    ck_assert_uint_eq(m.generic.qualifier, ISUP_GN_ADDITIONAL_CALLING);
    ck_assert_uint_eq(m.generic.nai, ISUP_NAI_NATIONAL);
    ck_assert_uint_eq(m.generic.si, ISUP_SI_USER_PASSED);
    ck_assert_str_eq(m.generic.digits, "12345");
    uint8_t buf[64];
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(iam_gn_bytes));
    ck_assert_mem_eq(buf, iam_gn_bytes, sizeof(iam_gn_bytes));
}
END_TEST

START_TEST(cause_with_recommendation_and_diagnostic)
{
    struct mgcf_isup_msg m;
    ck_assert_int_eq(mgcf_isup_decode(rel_diag_bytes, sizeof(rel_diag_bytes), &m), 0);
    ck_assert_uint_eq(m.cause.location, ISUP_LOC_TN);
    ck_assert(m.cause.has_recommendation);
    ck_assert_uint_eq(m.cause.recommendation, 0);
    ck_assert_uint_eq(m.cause.value, 34);
    ck_assert_uint_eq(m.cause.diag_len, 1);
    ck_assert_uint_eq(m.cause.diag[0], 0x17);
    uint8_t buf[32];
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(rel_diag_bytes));
    ck_assert_mem_eq(buf, rel_diag_bytes, sizeof(rel_diag_bytes));
}
END_TEST

START_TEST(circuit_messages)
{
    struct mgcf_isup_msg m;
    uint8_t buf[16];
    /* type-only messages: BLO, BLA, UBL, UBA, RSC */
    static const uint8_t types[] = {ISUP_BLO, ISUP_BLA, ISUP_UBL, ISUP_UBA, ISUP_RSC};
    for (size_t i = 0; i < sizeof(types); i++) {
        mgcf_isup_init(&m, types[i], 7);
        ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), 3);
        ck_assert_uint_eq(buf[0], 0x07);
        ck_assert_uint_eq(buf[1], 0x00);
        ck_assert_uint_eq(buf[2], types[i]);
    }
    ck_assert_int_eq(mgcf_isup_decode(blo_bytes, sizeof(blo_bytes), &m), 0);
    ck_assert_uint_eq(m.type, ISUP_BLO);
    ck_assert_uint_eq(m.cic, 7);
    ck_assert_int_eq(mgcf_isup_decode(rlc_bytes, sizeof(rlc_bytes), &m), 0);
    ck_assert_uint_eq(m.present, 0);

    mgcf_isup_init(&m, ISUP_GRS, 1);
    m.range.range = 31;
    m.range.status = 0xffffffff;        /* not written in a GRS */
    mgcf_isup_set(&m, ISUP_PAR_RANGE);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(grs_bytes));
    ck_assert_mem_eq(buf, grs_bytes, sizeof(grs_bytes));
    ck_assert_int_eq(mgcf_isup_decode(grs_bytes, sizeof(grs_bytes), &m), 0);
    ck_assert_uint_eq(m.range.range, 31);
    ck_assert_uint_eq(m.range.status, 0);

    mgcf_isup_init(&m, ISUP_GRA, 1);
    m.range.range = 3;
    m.range.status = 0x05 | 0x100;      /* bit 8 is past the range: dropped */
    mgcf_isup_set(&m, ISUP_PAR_RANGE);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(gra_bytes));
    ck_assert_mem_eq(buf, gra_bytes, sizeof(gra_bytes));
    ck_assert_int_eq(mgcf_isup_decode(gra_bytes, sizeof(gra_bytes), &m), 0);
    ck_assert_uint_eq(m.range.status, 0x05);
}
END_TEST

START_TEST(gra_of_32_circuits)
{
    struct mgcf_isup_msg m, back;
    uint8_t buf[16];
    mgcf_isup_init(&m, ISUP_GRA, 33);
    m.range.range = 31;
    m.range.status = 0x80000001;
    mgcf_isup_set(&m, ISUP_PAR_RANGE);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), 10);
    static const uint8_t want[] = {0x21, 0x00, 0x29, 0x01, 0x05, 0x1f, 0x01, 0x00, 0x00, 0x80};
    ck_assert_mem_eq(buf, want, sizeof(want));
    ck_assert_int_eq(mgcf_isup_decode(buf, 10, &back), 0);
    ck_assert_uint_eq(back.range.status, 0x80000001);
}
END_TEST

/* Every strict prefix of a message that has an optional part is truncated: -EINVAL */
START_TEST(truncations_refused)
{
    const struct vector *v = &vectors[_i];
    struct mgcf_isup_msg m;
    for (size_t n = 0; n < v->len; n++)
        ck_assert_msg(mgcf_isup_decode(v->bytes, n, &m) == -EINVAL, "%s cut at %zu accepted",
                      v->name, n);
}
END_TEST

START_TEST(bad_pointers_and_lengths)
{
    struct mgcf_isup_msg m;
    uint8_t b[sizeof(iam_bytes)];

    memcpy(b, iam_bytes, sizeof(b));
    b[8] = 0;                           /* pointer to the called number 0 */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);
    memcpy(b, iam_bytes, sizeof(b));
    b[8] = 0xff;                        /* pointer past the end */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);
    memcpy(b, iam_bytes, sizeof(b));
    b[10] = 0xf0;                       /* called number longer than the message */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);
    memcpy(b, iam_bytes, sizeof(b));
    b[9] = 0xf0;                        /* optional part pointer past the end */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);
    memcpy(b, iam_bytes, sizeof(b));
    b[20] = 0x30;                       /* calling number length runs past the end */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);
    memcpy(b, iam_bytes, sizeof(b));
    b[sizeof(b) - 1] = 0x2d;            /* no end of optional parameters */
    ck_assert_int_eq(mgcf_isup_decode(b, sizeof(b), &m), -EINVAL);

    /* an odd number with no address signal */
    static const uint8_t odd_empty[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00,
                                        0x02, 0x00, 0x02, 0x83, 0x10};
    ck_assert_int_eq(mgcf_isup_decode(odd_empty, sizeof(odd_empty), &m), -EINVAL);
    /* the same with the odd bit clear: a called number without digits is well formed */
    uint8_t even_empty[sizeof(odd_empty)];
    memcpy(even_empty, odd_empty, sizeof(even_empty));
    even_empty[11] = 0x03;
    ck_assert_int_eq(mgcf_isup_decode(even_empty, sizeof(even_empty), &m), 0);
    ck_assert_str_eq(m.called.digits, "");

    /* cause of one octet; cause announcing octet 1a without the value */
    static const uint8_t cause_short[] = {0x05, 0x00, 0x0c, 0x02, 0x00, 0x01, 0x82};
    ck_assert_int_eq(mgcf_isup_decode(cause_short, sizeof(cause_short), &m), -EINVAL);
    static const uint8_t cause_1a[] = {0x05, 0x00, 0x0c, 0x02, 0x00, 0x02, 0x02, 0x80};
    ck_assert_int_eq(mgcf_isup_decode(cause_1a, sizeof(cause_1a), &m), -EINVAL);

    /* GRS of range 0 (reserved), 32 (too many), with a status; GRA with a short status */
    static const uint8_t grs0[] = {0x01, 0x00, 0x17, 0x01, 0x01, 0x00};
    static const uint8_t grs32[] = {0x01, 0x00, 0x17, 0x01, 0x01, 0x20};
    static const uint8_t grs_st[] = {0x01, 0x00, 0x17, 0x01, 0x02, 0x03, 0x00};
    static const uint8_t gra_short[] = {0x01, 0x00, 0x29, 0x01, 0x02, 0x1f, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(grs0, sizeof(grs0), &m), -EINVAL);
    ck_assert_int_eq(mgcf_isup_decode(grs32, sizeof(grs32), &m), -EINVAL);
    ck_assert_int_eq(mgcf_isup_decode(grs_st, sizeof(grs_st), &m), -EINVAL);
    ck_assert_int_eq(mgcf_isup_decode(gra_short, sizeof(gra_short), &m), -EINVAL);

    /* a one-octet parameter of length 2 */
    static const uint8_t obci2[] = {0x05, 0x00, 0x09, 0x01, 0x29, 0x02, 0x01, 0x00, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(obci2, sizeof(obci2), &m), -EINVAL);
    /* the same parameter twice */
    static const uint8_t twice[] = {0x05, 0x00, 0x09, 0x01, 0x29, 0x01, 0x01,
                                    0x29, 0x01, 0x01, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(twice, sizeof(twice), &m), -EINVAL);
    /* more address signals than a number holds (34) */
    uint8_t longnum[3 + 1 + 2 + 2 + 17 + 1] = {0x05, 0x00, 0x09, 0x01, 0x21, 2 + 17, 0x03, 0x10};
    ck_assert_int_eq(mgcf_isup_decode(longnum, sizeof(longnum), &m), -EINVAL);
}
END_TEST

START_TEST(unknown_parameters_and_types)
{
    struct mgcf_isup_msg m;
    /* ANM with an access transport (0x03), a second generic number, an unknown 0xfe */
    static const uint8_t anm[] = {
        0x05, 0x00, 0x09, 0x01,
        0x03, 0x02, 0xaa, 0xbb,                     /* access transport: not known here */
        0xc0, 0x03, 0x06, 0x03, 0x10,               /* generic number, no digits */
        0xc0, 0x04, 0x06, 0x83, 0x10, 0x01,         /* another: kept out */
        0x11, 0x02, 0x14, 0x00,                     /* BCI, allowed in ANM */
        0xfe, 0x00,                                 /* unknown, empty */
        0x00,
    };
    ck_assert_int_eq(mgcf_isup_decode(anm, sizeof(anm), &m), 0);
    ck_assert_uint_eq(m.unknown, 3);
    ck_assert_uint_eq(m.unknown_first, 0x03);
    ck_assert(mgcf_isup_has(&m, ISUP_PAR_BCI));
    ck_assert(mgcf_isup_has(&m, ISUP_PAR_GENERIC_NUMBER));
    ck_assert_str_eq(m.generic.digits, "");
    /* a parameter known but not carried by this type (event information in ANM) */
    static const uint8_t anm_event[] = {0x05, 0x00, 0x09, 0x01, 0x24, 0x01, 0x01, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(anm_event, sizeof(anm_event), &m), 0);
    ck_assert_uint_eq(m.unknown, 1);
    ck_assert(!mgcf_isup_has(&m, ISUP_PAR_EVENT));

    /* INR (information request, 0x03): not known */
    static const uint8_t inr[] = {0x15, 0x01, 0x03, 0x01, 0x02, 0x01, 0x10};
    ck_assert_int_eq(mgcf_isup_decode(inr, sizeof(inr), &m), -ENOTSUP);
    ck_assert_uint_eq(m.cic, 0x115);
    ck_assert_uint_eq(m.type, 0x03);
    ck_assert_ptr_null(mgcf_isup_type_name(0x03));
    ck_assert_str_eq(mgcf_isup_type_name(ISUP_GRA), "GRA");
    /* the spare bits of the CIC are ignored */
    static const uint8_t rlc_spare[] = {0x05, 0xf0, 0x10, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(rlc_spare, sizeof(rlc_spare), &m), 0);
    ck_assert_uint_eq(m.cic, 5);
}
END_TEST

/* SUS and RES (Q.763 Table 38): CIC 5, type 0x0d / 0x0e, suspend/resume indicators (3.52)
 * bit A 1 network initiated / 0 ISDN subscriber initiated, optional part pointer 0 */
START_TEST(suspend_resume)
{
    static const uint8_t sus[] = {0x05, 0x00, 0x0d, 0x01, 0x00};
    static const uint8_t res[] = {0x05, 0x00, 0x0e, 0x00, 0x00};
    struct mgcf_isup_msg m;
    uint8_t buf[16];
    mgcf_isup_init(&m, ISUP_SUS, 5);
    m.sus_res = ISUP_SUS_NETWORK;
    mgcf_isup_set(&m, ISUP_PAR_SUS_RES);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(sus));
    ck_assert_mem_eq(buf, sus, sizeof(sus));
    mgcf_isup_init(&m, ISUP_RES, 5);
    mgcf_isup_set(&m, ISUP_PAR_SUS_RES);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(res));
    ck_assert_mem_eq(buf, res, sizeof(res));
    ck_assert_int_eq(mgcf_isup_decode(sus, sizeof(sus), &m), 0);
    ck_assert_uint_eq(m.type, ISUP_SUS);
    ck_assert_uint_eq(m.sus_res, ISUP_SUS_NETWORK);
    ck_assert_str_eq(mgcf_isup_type_name(ISUP_SUS), "SUS");
    static const uint8_t res_spare[] = {0x05, 0x00, 0x0e, 0xfe, 0x00};  /* spare bits set */
    ck_assert_int_eq(mgcf_isup_decode(res_spare, sizeof(res_spare), &m), 0);
    ck_assert_uint_eq(m.sus_res, ISUP_SUS_SUBSCRIBER);
    mgcf_isup_init(&m, ISUP_SUS, 5);                       /* the indicators are mandatory */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    m.sus_res = 2;
    mgcf_isup_set(&m, ISUP_PAR_SUS_RES);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* SAM (Q.763 Table 35): CIC 5, type 0x02, pointer to the subsequent number (3.51), pointer
 * to the optional part (0: none); the number: length, odd/even indicator (bit 8) and 7 spare
 * bits, then the address signals two per octet, the first in bits 4-1 */
START_TEST(subsequent_address)
{
    static const uint8_t even[] = {
        0x05, 0x00,         /* CIC 5 */
        0x02,               /* SAM */
        0x02,               /* pointer to the subsequent number: 2 octets on */
        0x00,               /* no optional part */
        0x03,               /* subsequent number, length 3 */
        0x00,               /*   even, spare */
        0x00, 0x10,         /*   0 0 0 1 */
    };
    static const uint8_t odd_st[] = {
        0x1f, 0x00, 0x02, 0x02, 0x00,   /* CIC 31, SAM, pointers */
        0x03,               /* length 3 */
        0x80,               /*   odd */
        0x10, 0x0f,         /*   0 1, ST (code 15), filler */
    };
    struct mgcf_isup_msg m;
    uint8_t buf[16];
    mgcf_isup_init(&m, ISUP_SAM, 5);
    snprintf(m.subsequent, sizeof(m.subsequent), "0001");
    mgcf_isup_set(&m, ISUP_PAR_SUBSEQUENT);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(even));
    ck_assert_mem_eq(buf, even, sizeof(even));
    mgcf_isup_init(&m, ISUP_SAM, 31);
    snprintf(m.subsequent, sizeof(m.subsequent), "01f");
    mgcf_isup_set(&m, ISUP_PAR_SUBSEQUENT);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(odd_st));
    ck_assert_mem_eq(buf, odd_st, sizeof(odd_st));

    ck_assert_int_eq(mgcf_isup_decode(even, sizeof(even), &m), 0);
    ck_assert_uint_eq(m.type, ISUP_SAM);
    ck_assert_uint_eq(m.cic, 5);
    ck_assert(mgcf_isup_has(&m, ISUP_PAR_SUBSEQUENT));
    ck_assert_str_eq(m.subsequent, "0001");
    ck_assert_int_eq(mgcf_isup_decode(odd_st, sizeof(odd_st), &m), 0);
    ck_assert_str_eq(m.subsequent, "01F");
    ck_assert_str_eq(mgcf_isup_type_name(ISUP_SAM), "SAM");
    for (size_t n = 0; n < sizeof(even); n++)              /* every truncation refused */
        ck_assert_int_eq(mgcf_isup_decode(even, n, &m), -EINVAL);

    /* refused: no address signal (length 1), odd with no octet of signals, no number */
    static const uint8_t empty[] = {0x05, 0x00, 0x02, 0x02, 0x00, 0x01, 0x00};
    ck_assert_int_eq(mgcf_isup_decode(empty, sizeof(empty), &m), -EINVAL);
    static const uint8_t zero_ptr[] = {0x05, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x10};
    ck_assert_int_eq(mgcf_isup_decode(zero_ptr, sizeof(zero_ptr), &m), -EINVAL);
    mgcf_isup_init(&m, ISUP_SAM, 5);                       /* the number is mandatory */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    mgcf_isup_set(&m, ISUP_PAR_SUBSEQUENT);                /* ... and not empty */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    snprintf(m.subsequent, sizeof(m.subsequent), "12x");   /* ... and address signals */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(encode_refusals)
{
    struct mgcf_isup_msg m;
    uint8_t buf[MGCF_ISUP_LEN_MAX];

    iam_fill(&m);
    m.present &= ~ISUP_BIT(ISUP_PAR_CALLED);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);  /* mandatory */
    iam_fill(&m);
    m.present &= ~ISUP_BIT(ISUP_PAR_TMR);
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    mgcf_isup_set(&m, ISUP_PAR_EVENT);                                  /* not in an IAM */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    m.cic = 4096;
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    strcpy(m.called.digits, "123+4");
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    memset(m.called.digits, '1', MGCF_ISUP_DIGITS_MAX + 1);            /* no NUL */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    m.fci.isup_preference = 4;
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    m.hop_counter = 32;
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    iam_fill(&m);
    m.calling.apri = ISUP_APRI_NOT_AVAILABLE;   /* and still digits */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    m.calling.digits[0] = '\0';
    m.calling.nai = 0;
    m.calling.npi = 0;
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), (int)sizeof(iam_bytes) - 6);

    mgcf_isup_init(&m, 0x0d, 1);                                        /* SUS */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);
    mgcf_isup_init(&m, ISUP_GRS, 1);
    mgcf_isup_set(&m, ISUP_PAR_RANGE);                                  /* range 0 */
    ck_assert_int_eq(mgcf_isup_encode(&m, buf, sizeof(buf)), -EINVAL);

    iam_fill(&m);
    for (size_t cap = 0; cap < sizeof(iam_bytes); cap++)
        ck_assert_msg(mgcf_isup_encode(&m, buf, cap) == -ENOSPC, "cap %zu", cap);
    rel_fill(&m);
    for (size_t cap = 0; cap < sizeof(rel_bytes); cap++)
        ck_assert_msg(mgcf_isup_encode(&m, buf, cap) == -ENOSPC, "cap %zu", cap);
}
END_TEST

/* Numbers of every length 0..32, odd and even, all sixteen signal codes */
START_TEST(round_trip_numbers)
{
    static const char sig[] = "0123456789ABCDEF";
    for (size_t n = 0; n <= MGCF_ISUP_DIGITS_MAX; n++) {
        struct mgcf_isup_msg m, back;
        uint8_t buf[MGCF_ISUP_LEN_MAX];
        iam_fill(&m);
        memset(m.called.digits, 0, sizeof(m.called.digits));   /* decode zeroes past the NUL */
        memset(m.calling.digits, 0, sizeof(m.calling.digits));
        for (size_t i = 0; i < n; i++)
            m.called.digits[i] = sig[(i * 7 + n) % 16];
        m.called.digits[n] = '\0';
        memcpy(m.calling.digits, m.called.digits, n / 2);
        m.generic = m.calling;
        m.generic.qualifier = ISUP_GN_ADDITIONAL_CALLING;
        mgcf_isup_set(&m, ISUP_PAR_GENERIC_NUMBER);
        int len = mgcf_isup_encode(&m, buf, sizeof(buf));
        ck_assert_int_gt(len, 0);
        ck_assert_int_eq(mgcf_isup_decode(buf, (size_t)len, &back), 0);
        ck_assert_msg(memcmp(&m, &back, sizeof(m)) == 0, "%zu digits differ", n);
    }
}
END_TEST

/* Every field at its extremes through encode and decode */
START_TEST(round_trip_extremes)
{
    struct mgcf_isup_msg m, back;
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    mgcf_isup_init(&m, ISUP_CPG, MGCF_ISUP_CIC_MAX);
    m.event = 0x7f;
    m.event_restricted = 1;
    m.bci = (struct mgcf_isup_bci){3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3};
    m.obci = 0xff;
    m.cause.coding = 3;
    m.cause.location = 15;
    m.cause.has_recommendation = true;
    m.cause.recommendation = 0x7f;
    m.cause.value = 0x7f;
    m.cause.diag_len = MGCF_ISUP_DIAG_MAX;
    memset(m.cause.diag, 0xa5, sizeof(m.cause.diag));
    m.connected = (struct mgcf_isup_number){.nai = 0x7f, .npi = 7, .apri = 3, .si = 3};
    strcpy(m.connected.digits, "0123456789ABCDEF0123456789ABCDEF");
    m.generic = m.connected;
    m.generic.inn_ni = 1;
    m.generic.qualifier = 0xff;
    m.present = ISUP_BIT(ISUP_PAR_EVENT) | ISUP_BIT(ISUP_PAR_BCI) | ISUP_BIT(ISUP_PAR_OBCI) |
                ISUP_BIT(ISUP_PAR_CAUSE) | ISUP_BIT(ISUP_PAR_CONNECTED) |
                ISUP_BIT(ISUP_PAR_GENERIC_NUMBER);
    int len = mgcf_isup_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(mgcf_isup_decode(buf, (size_t)len, &back), 0);
    ck_assert(memcmp(&m, &back, sizeof(m)) == 0);

    mgcf_isup_init(&m, ISUP_IAM, 0);
    m.nci = (struct mgcf_isup_nci){3, 3, 1};
    m.fci = (struct mgcf_isup_fci){1, 3, 1, 1, 1, 3, 1, 3, 0x1f};
    m.cpc = 0xff;
    m.tmr = 0xff;
    m.ofci = 0xff;
    m.called = (struct mgcf_isup_number){.nai = 0x7f, .npi = 7, .inn_ni = 1};
    m.present = ISUP_BIT(ISUP_PAR_NCI) | ISUP_BIT(ISUP_PAR_FCI) | ISUP_BIT(ISUP_PAR_CPC) |
                ISUP_BIT(ISUP_PAR_TMR) | ISUP_BIT(ISUP_PAR_CALLED) | ISUP_BIT(ISUP_PAR_OFCI);
    len = mgcf_isup_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(mgcf_isup_decode(buf, (size_t)len, &back), 0);
    ck_assert(memcmp(&m, &back, sizeof(m)) == 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("isup");
    TCase *tc = tcase_create("isup");
    size_t nv = sizeof(vectors) / sizeof(vectors[0]);
    tcase_add_loop_test(tc, encode_matches_hand_checked_bytes, 0, (int)nv);
    tcase_add_loop_test(tc, decode_gives_the_same_fields, 0, (int)nv);
    tcase_add_loop_test(tc, truncations_refused, 0, (int)nv);
    tcase_add_test(tc, decode_iam_fields);
    tcase_add_test(tc, decode_generic_number);
    tcase_add_test(tc, cause_with_recommendation_and_diagnostic);
    tcase_add_test(tc, circuit_messages);
    tcase_add_test(tc, gra_of_32_circuits);
    tcase_add_test(tc, bad_pointers_and_lengths);
    tcase_add_test(tc, unknown_parameters_and_types);
    tcase_add_test(tc, encode_refusals);
    tcase_add_test(tc, round_trip_numbers);
    tcase_add_test(tc, round_trip_extremes);
    tcase_add_test(tc, suspend_resume);
    tcase_add_test(tc, subsequent_address);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
