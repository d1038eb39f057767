/*
 * isup.h - ISDN User Part messages (ITU-T Q.763, binary) as the MGCF needs them
 *
 * Pure functions: a message is a struct mgcf_isup_msg; mgcf_isup_encode() writes its octets
 * from the circuit identification code on (the routing label travels in the M3UA Protocol
 * Data, or not at all in a SIP-I body), mgcf_isup_decode() reads them back. The messages
 * known are those of call control and circuit supervision the MGCF sends or answers (IAM,
 * SAM, ACM, CPG, ANM, CON, REL, RLC, SUS, RES, BLO, BLA, UBL, UBA, RSC, GRS,
 * GRA); the parameters known are
 * listed in enum mgcf_isup_par. Decoding is network input: every length and pointer is
 * checked against the octets received; nothing is read outside them.
 *
 * Field values are the code points of Q.763 (bit fields already shifted down), named by the
 * ISUP_* constants below where the interworking uses them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_ISUP_H
#define MGCF_ISUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MGCF_ISUP_LEN_MAX     268   /* an MTP3 signalling information field less its label */
#define MGCF_ISUP_DIGITS_MAX  32    /* address signals of one number */
#define MGCF_ISUP_DIAG_MAX    32    /* diagnostic octets of cause indicators */
#define MGCF_ISUP_CIC_MAX     4095  /* 12 bits (Q.763 1.2) */
#define MGCF_ISUP_RANGE_MAX   31    /* group reset: 32 circuits at most (Q.763 3.43) */

/* Message type codes (Q.763 Table 4) */
enum {
    ISUP_IAM = 0x01,
    ISUP_SAM = 0x02,        /* subsequent address (overlap signalling, Q.764 2.1.2) */
    ISUP_ACM = 0x06,
    ISUP_CON = 0x07,
    ISUP_ANM = 0x09,
    ISUP_REL = 0x0c,
    ISUP_SUS = 0x0d,
    ISUP_RES = 0x0e,
    ISUP_RLC = 0x10,
    ISUP_RSC = 0x12,
    ISUP_BLO = 0x13,
    ISUP_UBL = 0x14,
    ISUP_BLA = 0x15,
    ISUP_UBA = 0x16,
    ISUP_GRS = 0x17,
    ISUP_GRA = 0x29,
    ISUP_CPG = 0x2c,
};

/* The parameters this codec knows, as bits of mgcf_isup_msg.present */
enum mgcf_isup_par {
    ISUP_PAR_NCI,           /* nature of connection indicators (3.35) */
    ISUP_PAR_FCI,           /* forward call indicators (3.23) */
    ISUP_PAR_CPC,           /* calling party's category (3.11) */
    ISUP_PAR_TMR,           /* transmission medium requirement (3.54) */
    ISUP_PAR_CALLED,        /* called party number (3.9) */
    ISUP_PAR_CALLING,       /* calling party number (3.10) */
    ISUP_PAR_GENERIC_NUMBER,/* generic number (3.26), one */
    ISUP_PAR_OFCI,          /* optional forward call indicators (3.38) */
    ISUP_PAR_HOP_COUNTER,   /* hop counter (3.80) */
    ISUP_PAR_BCI,           /* backward call indicators (3.5) */
    ISUP_PAR_OBCI,          /* optional backward call indicators (3.37) */
    ISUP_PAR_EVENT,         /* event information (3.21) */
    ISUP_PAR_CAUSE,         /* cause indicators (3.12) */
    ISUP_PAR_RANGE,         /* range and status (3.43) */
    ISUP_PAR_CONNECTED,     /* connected number (3.16) */
    ISUP_PAR_SUS_RES,       /* suspend/resume indicators (3.52) */
    ISUP_PAR_SUBSEQUENT,    /* subsequent number (3.51): address signals of a SAM */
    ISUP_PAR_COUNT
};
#define ISUP_BIT(par) (1u << (par))

/* Nature of address indicator (3.9 b, 3.10 b) */
enum {
    ISUP_NAI_SUBSCRIBER = 1,
    ISUP_NAI_UNKNOWN = 2,
    ISUP_NAI_NATIONAL = 3,
    ISUP_NAI_INTERNATIONAL = 4,
    ISUP_NAI_NETWORK_SPECIFIC = 5,
};
#define ISUP_NPI_ISDN            1      /* E.164 */
#define ISUP_INN_NOT_ALLOWED     1      /* called: routing to internal network number */
#define ISUP_APRI_ALLOWED        0      /* address presentation restricted indicator */
#define ISUP_APRI_RESTRICTED     1
#define ISUP_APRI_NOT_AVAILABLE  2
#define ISUP_SI_USER_UNVERIFIED  0      /* screening indicator */
#define ISUP_SI_USER_PASSED      1
#define ISUP_SI_USER_FAILED      2
#define ISUP_SI_NETWORK          3
#define ISUP_GN_ADDITIONAL_CALLING 6    /* generic number qualifier (3.26 a) */

/* Calling party's category (3.11) */
#define ISUP_CPC_UNKNOWN         0x00
#define ISUP_CPC_ORDINARY        0x0a
#define ISUP_CPC_PRIORITY        0x0b
#define ISUP_CPC_DATA            0x0c
#define ISUP_CPC_TEST            0x0d
#define ISUP_CPC_PAYPHONE        0x0f

/* Transmission medium requirement (3.54) */
#define ISUP_TMR_SPEECH          0
#define ISUP_TMR_64K_UNRESTRICTED 2
#define ISUP_TMR_3_1KHZ          3

/* Event information (3.21) */
#define ISUP_EVENT_ALERTING      1
#define ISUP_EVENT_PROGRESS      2
#define ISUP_EVENT_INBAND        3
#define ISUP_EVENT_CFB           4
#define ISUP_EVENT_CFNR          5
#define ISUP_EVENT_CFU           6

/* Suspend/resume indicators (3.52), bit A */
#define ISUP_SUS_SUBSCRIBER      0      /* ISDN subscriber initiated */
#define ISUP_SUS_NETWORK         1      /* network initiated */

/* Optional backward call indicators (3.37), bits of the octet */
#define ISUP_OBCI_INBAND         0x01   /* in-band information or a pattern is available */
#define ISUP_OBCI_DIVERSION      0x02   /* call diversion may occur */

/* Backward call indicators subfield values (3.5) */
#define ISUP_BCI_NO_CHARGE       1
#define ISUP_BCI_CHARGE          2
#define ISUP_BCI_SUBSCRIBER_FREE 1
#define ISUP_BCI_ORDINARY        1

/* Cause indicators (3.12, Q.850) */
enum {
    ISUP_LOC_USER = 0,
    ISUP_LOC_LPN = 1,       /* private network serving the local user */
    ISUP_LOC_LN = 2,        /* public network serving the local user */
    ISUP_LOC_TN = 3,        /* transit network */
    ISUP_LOC_RLN = 4,       /* public network serving the remote user */
    ISUP_LOC_RPN = 5,       /* private network serving the remote user */
    ISUP_LOC_INTL = 7,      /* international network */
    ISUP_LOC_BI = 10,       /* network beyond interworking point */
};
#define ISUP_CODING_ITU          0

/* A number: called, calling, connected or generic (3.9, 3.10, 3.16, 3.26) */
struct mgcf_isup_number {
    uint8_t nai;            /* nature of address indicator, 7 bits */
    uint8_t npi;            /* numbering plan indicator, 3 bits */
    uint8_t inn_ni;         /* called: INN; calling and generic: NI (incomplete); 1 bit */
    uint8_t apri;           /* not in called: address presentation restricted, 2 bits */
    uint8_t si;             /* not in called: screening indicator, 2 bits */
    uint8_t qualifier;      /* generic number only: number qualifier indicator */
    /* address signals as hex digits: '0'-'9', 'B' code 11, 'C' code 12, 'F' ST, 'A', 'D',
     * 'E' spare; decoded upper case, encoded from either case */
    char digits[MGCF_ISUP_DIGITS_MAX + 1];
};

struct mgcf_isup_nci {      /* nature of connection indicators */
    uint8_t satellite;      /* BA */
    uint8_t continuity;     /* DC */
    uint8_t echo_device;    /* E: outgoing half echo control device included */
};

struct mgcf_isup_fci {      /* forward call indicators */
    uint8_t international;  /* A */
    uint8_t e2e_method;     /* CB */
    uint8_t interworking;   /* D: interworking encountered */
    uint8_t e2e_info;       /* E */
    uint8_t isup_all_the_way; /* F */
    uint8_t isup_preference;  /* HG: 0 preferred, 1 not required, 2 required all the way */
    uint8_t isdn_access;    /* I: originating access ISDN */
    uint8_t sccp_method;    /* KJ */
    uint8_t national;       /* bits L-P (national use), shifted down */
};

struct mgcf_isup_bci {      /* backward call indicators */
    uint8_t charge;         /* BA */
    uint8_t called_status;  /* DC */
    uint8_t called_category;/* FE */
    uint8_t e2e_method;     /* HG */
    uint8_t interworking;   /* I */
    uint8_t e2e_info;       /* J */
    uint8_t isup_all_the_way; /* K */
    uint8_t holding;        /* L */
    uint8_t isdn_access;    /* M: terminating access ISDN */
    uint8_t echo_device;    /* N: incoming half echo control device included */
    uint8_t sccp_method;    /* PO */
};

struct mgcf_isup_cause {
    uint8_t coding;         /* coding standard, 2 bits (0: ITU-T) */
    uint8_t location;       /* 4 bits, ISUP_LOC_* */
    bool has_recommendation;
    uint8_t recommendation; /* octet 1a, 7 bits */
    uint8_t value;          /* cause value, 7 bits (Q.850) */
    uint8_t diag_len;
    uint8_t diag[MGCF_ISUP_DIAG_MAX];
};

struct mgcf_isup_range {
    uint8_t range;          /* circuits affected - 1, 1..31 */
    uint32_t status;        /* GRA: bit n for CIC + n (1 = blocked for maintenance) */
};

struct mgcf_isup_msg {
    uint16_t cic;
    uint8_t type;
    uint32_t present;       /* ISUP_BIT(ISUP_PAR_*) of the parameters present */
    uint8_t unknown;        /* decode: optional parameters skipped as unknown */
    uint8_t unknown_first;  /* decode: the code of the first of them */

    struct mgcf_isup_nci nci;
    struct mgcf_isup_fci fci;
    uint8_t cpc;
    uint8_t tmr;
    struct mgcf_isup_number called;
    struct mgcf_isup_number calling;
    struct mgcf_isup_number generic;
    struct mgcf_isup_number connected;
    uint8_t ofci;           /* raw octet */
    uint8_t hop_counter;    /* 5 bits */
    struct mgcf_isup_bci bci;
    uint8_t obci;           /* raw octet, ISUP_OBCI_* bits */
    uint8_t event;          /* 7 bits, ISUP_EVENT_* */
    uint8_t event_restricted; /* presentation restricted indicator, 1 bit */
    struct mgcf_isup_cause cause;
    struct mgcf_isup_range range;
    uint8_t sus_res;        /* ISUP_SUS_* (bit A; the spare bits are not kept) */
    /* subsequent number: address signals as in mgcf_isup_number.digits ('F': ST) */
    char subsequent[MGCF_ISUP_DIGITS_MAX + 1];
};

/* Zero @m and set its type and CIC (parameters are added by setting fields and bits) */
void mgcf_isup_init(struct mgcf_isup_msg *m, uint8_t type, uint16_t cic);

/* Mark @par present in @m (after its fields are set) */
static inline void mgcf_isup_set(struct mgcf_isup_msg *m, enum mgcf_isup_par par)
{
    m->present |= ISUP_BIT(par);
}

static inline bool mgcf_isup_has(const struct mgcf_isup_msg *m, enum mgcf_isup_par par)
{
    return (m->present & ISUP_BIT(par)) != 0;
}

/*
 * mgcf_isup_encode - write @m into @buf (@cap octets) from the CIC on.
 * Every mandatory parameter of the type must be present; optional ones are written when
 * present and allowed in that message type (Q.763 Tables 32 to 51).
 * Returns the length, -EINVAL for an unknown type, a missing mandatory parameter, one not
 * allowed in the type or a field out of its range, -ENOSPC when @cap is too small.
 */
int mgcf_isup_encode(const struct mgcf_isup_msg *m, uint8_t *buf, size_t cap);

/*
 * mgcf_isup_decode - read @len octets (CIC first) into @m.
 * Returns 0; -ENOTSUP for a message type this codec does not know (m->cic and m->type are
 * set, so the caller may answer per Q.764 2.9.5); -EINVAL when the message is truncated, a
 * pointer or length leads outside it, a mandatory parameter is missing or a known
 * parameter is malformed. Unknown optional parameters are skipped and counted.
 */
int mgcf_isup_decode(const uint8_t *buf, size_t len, struct mgcf_isup_msg *m);

/* "IAM", "REL"... or NULL for a type this codec does not know */
const char *mgcf_isup_type_name(uint8_t type);

#endif
