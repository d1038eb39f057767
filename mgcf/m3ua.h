/*
 * m3ua.h - MTP3 User Adaptation (RFC 4666) for the MGCF's ISUP: the message codec and the
 * ASP state machine, without I/O
 *
 * The codec reads and writes the common header and the 4-byte aligned parameters of the
 * messages an ASP and its peer exchange: MGMT (ERR, NTFY), Transfer (DATA with its Protocol
 * Data), SSNM (DUNA, DAVA, DAUD, SCON, DUPU, DRST: read, for logging), ASPSM (ASPUP, ASPDN,
 * BEAT and their acks), ASPTM (ASPAC, ASPIA and their acks). RKM is not supported (answered
 * with ERR "unsupported message class").
 *
 * The state machine (struct mgcf_m3ua_asp) is driven by its owner: connected,
 * disconnected, a message received, the timer expired. It answers through callbacks: bytes
 * to send, DATA to deliver, a new state, the timer to arm. Two roles: the ASP (the MGCF:
 * brings the ASP up and active, sends heartbeats) and the SGP (the test PSTN switch:
 * acknowledges, notifies, answers heartbeats). See mgcf/README.md for why this is written
 * here rather than taken from libosmo-sigtran.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_M3UA_H
#define MGCF_M3UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MGCF_M3UA_PORT      2905
#define MGCF_M3UA_HDR_LEN   8
#define MGCF_M3UA_MSG_MAX   4096    /* accepted message length (DATA of ISUP: < 300) */
#define MGCF_M3UA_PC_MAX    8       /* affected point codes kept */
#define MGCF_M3UA_RC_MAX    4       /* routing contexts kept */

enum {
    M3UA_CLASS_MGMT = 0,
    M3UA_CLASS_TRANSFER = 1,
    M3UA_CLASS_SSNM = 2,
    M3UA_CLASS_ASPSM = 3,
    M3UA_CLASS_ASPTM = 4,
    M3UA_CLASS_RKM = 9,
};
enum { M3UA_ERR = 0, M3UA_NTFY = 1 };                                       /* MGMT */
enum { M3UA_DATA = 1 };                                                      /* Transfer */
enum { M3UA_DUNA = 1, M3UA_DAVA, M3UA_DAUD, M3UA_SCON, M3UA_DUPU, M3UA_DRST }; /* SSNM */
enum { M3UA_ASPUP = 1, M3UA_ASPDN, M3UA_BEAT, M3UA_ASPUP_ACK, M3UA_ASPDN_ACK,
       M3UA_BEAT_ACK };                                                      /* ASPSM */
enum { M3UA_ASPAC = 1, M3UA_ASPIA, M3UA_ASPAC_ACK, M3UA_ASPIA_ACK };          /* ASPTM */

/* Error codes (RFC 4666 3.8.1) */
enum {
    M3UA_E_INVALID_VERSION = 0x01,
    M3UA_E_UNSUPPORTED_CLASS = 0x03,
    M3UA_E_UNSUPPORTED_TYPE = 0x04,
    M3UA_E_UNSUPPORTED_TRAFFIC_MODE = 0x05,
    M3UA_E_UNEXPECTED_MESSAGE = 0x06,
    M3UA_E_PROTOCOL_ERROR = 0x07,
    M3UA_E_INVALID_PARAMETER_VALUE = 0x11,
    M3UA_E_PARAMETER_FIELD_ERROR = 0x12,
    M3UA_E_UNEXPECTED_PARAMETER = 0x13,
    M3UA_E_MISSING_PARAMETER = 0x16,
    M3UA_E_INVALID_ROUTING_CONTEXT = 0x19,
};

/* Traffic mode types; NTFY status types and information (RFC 4666 3.8.2) */
enum { M3UA_TM_OVERRIDE = 1, M3UA_TM_LOADSHARE = 2, M3UA_TM_BROADCAST = 3 };
enum { M3UA_ST_AS_STATE_CHANGE = 1, M3UA_ST_OTHER = 2 };
enum { M3UA_AS_INACTIVE = 2, M3UA_AS_ACTIVE = 3, M3UA_AS_PENDING = 4 };

/* Service indicator of ISUP in the Protocol Data; network indicators */
#define M3UA_SI_ISUP     5
enum { M3UA_NI_INTERNATIONAL = 0, M3UA_NI_NATIONAL = 2 };

/* Parameters present in a message, as bits of mgcf_m3ua_msg.present */
enum mgcf_m3ua_par {
    M3UA_P_INFO, M3UA_P_ROUTING_CONTEXT, M3UA_P_DIAGNOSTIC, M3UA_P_HEARTBEAT,
    M3UA_P_TRAFFIC_MODE, M3UA_P_ERROR_CODE, M3UA_P_STATUS, M3UA_P_ASP_ID,
    M3UA_P_AFFECTED_PC, M3UA_P_CORRELATION_ID, M3UA_P_NETWORK_APPEARANCE,
    M3UA_P_USER_CAUSE, M3UA_P_CONGESTION, M3UA_P_CONCERNED_DEST, M3UA_P_PROTOCOL_DATA,
    M3UA_P_COUNT
};
#define M3UA_BIT(p) (1u << (p))

struct mgcf_m3ua_msg {
    uint8_t cls, type;
    uint32_t present;               /* M3UA_BIT(M3UA_P_*) */
    unsigned n_rc;
    uint32_t routing_context[MGCF_M3UA_RC_MAX];
    uint32_t network_appearance;
    uint32_t traffic_mode;
    uint32_t error_code;
    uint16_t status_type, status_info;
    uint32_t asp_id;
    uint32_t correlation_id;
    uint32_t user_cause;            /* DUPU: cause << 16 | user */
    uint32_t congestion;            /* SCON: congestion level */
    uint32_t concerned_dest;        /* SCON */
    unsigned n_apc;                 /* affected point codes: mask << 24 | point code */
    uint32_t apc[MGCF_M3UA_PC_MAX];
    const uint8_t *info;            /* INFO String (not NUL-terminated) */
    size_t info_len;
    const uint8_t *heartbeat;       /* Heartbeat Data */
    size_t heartbeat_len;
    const uint8_t *diagnostic;      /* Diagnostic Information */
    size_t diagnostic_len;
    /* Protocol Data (DATA) */
    uint32_t opc, dpc;
    uint8_t si, ni, mp, sls;
    const uint8_t *data;            /* the user part message (ISUP from the CIC on) */
    size_t data_len;
    unsigned unknown;               /* decode: parameters skipped */
};

static inline bool mgcf_m3ua_has(const struct mgcf_m3ua_msg *m, enum mgcf_m3ua_par p)
{
    return (m->present & M3UA_BIT(p)) != 0;
}

/* Zero @m and set its class and type */
void mgcf_m3ua_init(struct mgcf_m3ua_msg *m, uint8_t cls, uint8_t type);

/*
 * mgcf_m3ua_encode - write @m (the parameters marked present, in the order of RFC 4666
 * section 3) into @buf of @cap bytes. Returns the length, -EINVAL for a message type this
 * codec does not write or a missing mandatory parameter, -ENOSPC.
 */
int mgcf_m3ua_encode(const struct mgcf_m3ua_msg *m, uint8_t *buf, size_t cap);

/*
 * mgcf_m3ua_decode - read one message of exactly @len bytes. Pointers in @m point into
 * @buf. Returns 0; -EINVAL when malformed or -ENOTSUP when of an unsupported version,
 * class or type, *@error_code then holding the RFC 4666 error code to answer with ERR.
 */
int mgcf_m3ua_decode(const uint8_t *buf, size_t len, struct mgcf_m3ua_msg *m,
                     uint32_t *error_code);

/*
 * mgcf_m3ua_frame - the length of the message starting at @buf, from its common header,
 * when @avail bytes are there: 0 when fewer than 8 bytes, -EINVAL for a length that cannot
 * be (below 8, not a multiple of 4, above MGCF_M3UA_MSG_MAX) or another version than 1.
 */
long mgcf_m3ua_frame(const uint8_t *buf, size_t avail);

/* "DATA", "ASPUP_ACK"... or NULL */
const char *mgcf_m3ua_type_name(uint8_t cls, uint8_t type);

/* ------------------------------------------------------------ ASP state machine */

enum mgcf_m3ua_role { MGCF_M3UA_ASP, MGCF_M3UA_SGP };
enum mgcf_m3ua_state { MGCF_M3UA_DOWN, MGCF_M3UA_INACTIVE, MGCF_M3UA_ACTIVE };

struct mgcf_m3ua_asp_ops {
    /* write @len bytes of one message to the peer; 0 or -errno */
    int (*send)(void *arg, const uint8_t *buf, size_t len);
    /* a DATA message received while active (the owner checks OPC, DPC and SI) */
    void (*deliver)(void *arg, const struct mgcf_m3ua_msg *m);
    /* the ASP state changed */
    void (*state)(void *arg, enum mgcf_m3ua_state state);
    /* (re)arm the one timer of the ASP for @ms milliseconds; 0 stops it */
    void (*timer)(void *arg, unsigned ms);
};

struct mgcf_m3ua_asp_cfg {
    enum mgcf_m3ua_role role;
    bool has_rc;                    /* a routing context is sent and checked */
    uint32_t rc;
    bool has_asp_id;                /* ASP role: ASP Identifier in ASPUP */
    uint32_t asp_id;
    uint32_t traffic_mode;          /* ASP role: in ASPAC; 0: none */
    unsigned ack_ms;                /* ASP role: ASPUP / ASPAC retransmitted after this */
    unsigned ack_tries;             /* ... this many times, then the link is failed */
    unsigned beat_ms;               /* ASP role, active: BEAT every this; 0: none */
};

struct mgcf_m3ua_asp {
    struct mgcf_m3ua_asp_cfg cfg;
    const struct mgcf_m3ua_asp_ops *ops;
    void *arg;
    enum mgcf_m3ua_state state;
    bool connected;
    bool waiting;                   /* ASP role: ASPUP or ASPAC sent, no ack yet */
    unsigned tries;
    uint32_t beat_seq;              /* the heartbeat data last sent */
    bool beat_outstanding;
    uint64_t rx_errors;             /* ERR received, or sent for bad input */
};

void mgcf_m3ua_asp_init(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_asp_cfg *cfg,
                        const struct mgcf_m3ua_asp_ops *ops, void *arg);

/* The transport is up: the ASP role sends ASPUP. Returns 0 or the send error. */
int mgcf_m3ua_asp_connected(struct mgcf_m3ua_asp *asp);

/* The transport is gone: the state drops to DOWN, the timer stops. */
void mgcf_m3ua_asp_disconnected(struct mgcf_m3ua_asp *asp);

/*
 * mgcf_m3ua_asp_receive - one whole message from the peer. Errors in it are answered with
 * ERR and counted. Returns 0, or -errno when the link must be dropped (a send failed).
 */
int mgcf_m3ua_asp_receive(struct mgcf_m3ua_asp *asp, const uint8_t *buf, size_t len);

/*
 * mgcf_m3ua_asp_timeout - the timer expired: ASPUP / ASPAC sent again, or a BEAT sent.
 * Returns 0, or -ETIMEDOUT when acks or a BEAT_ACK did not come (drop and reconnect).
 */
int mgcf_m3ua_asp_timeout(struct mgcf_m3ua_asp *asp);

/*
 * mgcf_m3ua_asp_send_data - send a DATA message with Protocol Data @opc, @dpc, @si, @ni,
 * @mp, @sls and @data. Returns 0, -ENOTCONN unless active, -EINVAL, or the send error.
 */
int mgcf_m3ua_asp_send_data(struct mgcf_m3ua_asp *asp, uint32_t opc, uint32_t dpc, uint8_t si,
                            uint8_t ni, uint8_t mp, uint8_t sls, const uint8_t *data,
                            size_t len);

/* ASP role: ASP Down sent (a graceful end); the state drops to DOWN. */
int mgcf_m3ua_asp_stop(struct mgcf_m3ua_asp *asp);

const char *mgcf_m3ua_state_name(enum mgcf_m3ua_state state);

#endif
