/*
 * check_m3ua.c - the M3UA codec and ASP state machine (mgcf/m3ua.c): messages against
 * octets worked out by hand from RFC 4666, refusals, framing, both roles of the state
 * machine alone and back to back
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "m3ua.h"

static void encode_is(const struct mgcf_m3ua_msg *m, const uint8_t *want, size_t len)
{
    uint8_t buf[256];
    int n = mgcf_m3ua_encode(m, buf, sizeof(buf));
    ck_assert_int_eq(n, (int)len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(buf[i] == want[i], "octet %zu is %02x, want %02x", i, buf[i], want[i]);
    for (size_t cap = 0; cap < len; cap++)
        ck_assert_int_eq(mgcf_m3ua_encode(m, buf, cap), -ENOSPC);
}

static const uint8_t aspup_bytes[] = {
    0x01, 0x00, 0x03, 0x01,     /* version 1, reserved, class ASPSM (3), type ASPUP (1) */
    0x00, 0x00, 0x00, 0x10,     /* message length 16 */
    0x00, 0x11, 0x00, 0x08,     /* ASP Identifier (0x0011), parameter length 8 */
    0x00, 0x00, 0x00, 0x07,     /* 7 */
};

static const uint8_t aspac_bytes[] = {
    0x01, 0x00, 0x04, 0x01,     /* class ASPTM (4), type ASPAC (1) */
    0x00, 0x00, 0x00, 0x18,     /* length 24 */
    0x00, 0x0b, 0x00, 0x08,     /* Traffic Mode Type */
    0x00, 0x00, 0x00, 0x01,     /*   override */
    0x00, 0x06, 0x00, 0x08,     /* Routing Context */
    0x00, 0x00, 0x00, 0x01,     /*   1 */
};

/* DATA carrying a BLO for CIC 1: 3 octets of ISUP, so one octet of padding */
static const uint8_t data_bytes[] = {
    0x01, 0x00, 0x01, 0x01,     /* class Transfer (1), type DATA (1) */
    0x00, 0x00, 0x00, 0x24,     /* length 36 */
    0x00, 0x06, 0x00, 0x08,     /* Routing Context 1 */
    0x00, 0x00, 0x00, 0x01,
    0x02, 0x10, 0x00, 0x13,     /* Protocol Data (0x0210), length 19 = 4 + 12 + 3 */
    0x00, 0x00, 0x00, 0x01,     /*   OPC 1 */
    0x00, 0x00, 0x00, 0x02,     /*   DPC 2 */
    0x05,                       /*   SI 5: ISUP */
    0x02,                       /*   NI 2: national network */
    0x00,                       /*   MP 0 */
    0x03,                       /*   SLS 3 */
    0x01, 0x00, 0x13,           /*   the ISUP message: CIC 1, BLO */
    0x00,                       /* padding to a multiple of 4, outside the length */
};

static const uint8_t beat_bytes[] = {
    0x01, 0x00, 0x03, 0x03,     /* ASPSM, BEAT (3) */
    0x00, 0x00, 0x00, 0x10,
    0x00, 0x09, 0x00, 0x08,     /* Heartbeat Data, length 8 */
    0x00, 0x00, 0x00, 0x01,     /*   the sequence number the sender chose */
};

static const uint8_t err_bytes[] = {
    0x01, 0x00, 0x00, 0x00,     /* MGMT (0), ERR (0) */
    0x00, 0x00, 0x00, 0x10,
    0x00, 0x0c, 0x00, 0x08,     /* Error Code */
    0x00, 0x00, 0x00, 0x06,     /*   unexpected message */
};

static const uint8_t ntfy_bytes[] = {
    0x01, 0x00, 0x00, 0x01,     /* MGMT, NTFY (1) */
    0x00, 0x00, 0x00, 0x18,
    0x00, 0x0d, 0x00, 0x08,     /* Status */
    0x00, 0x01, 0x00, 0x03,     /*   AS state change: AS-ACTIVE */
    0x00, 0x06, 0x00, 0x08,     /* Routing Context 1 */
    0x00, 0x00, 0x00, 0x01,
};

START_TEST(encode_hand_checked)
{
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPSM, M3UA_ASPUP);
    m.asp_id = 7;
    m.present = M3UA_BIT(M3UA_P_ASP_ID);
    encode_is(&m, aspup_bytes, sizeof(aspup_bytes));

    mgcf_m3ua_init(&m, M3UA_CLASS_ASPTM, M3UA_ASPAC);
    m.traffic_mode = M3UA_TM_OVERRIDE;
    m.n_rc = 1;
    m.routing_context[0] = 1;
    m.present = M3UA_BIT(M3UA_P_TRAFFIC_MODE) | M3UA_BIT(M3UA_P_ROUTING_CONTEXT);
    encode_is(&m, aspac_bytes, sizeof(aspac_bytes));

    static const uint8_t blo[] = {0x01, 0x00, 0x13};
    mgcf_m3ua_init(&m, M3UA_CLASS_TRANSFER, M3UA_DATA);
    m.n_rc = 1;
    m.routing_context[0] = 1;
    m.opc = 1;
    m.dpc = 2;
    m.si = M3UA_SI_ISUP;
    m.ni = M3UA_NI_NATIONAL;
    m.sls = 3;
    m.data = blo;
    m.data_len = sizeof(blo);
    m.present = M3UA_BIT(M3UA_P_ROUTING_CONTEXT) | M3UA_BIT(M3UA_P_PROTOCOL_DATA);
    encode_is(&m, data_bytes, sizeof(data_bytes));

    static const uint8_t one[] = {0, 0, 0, 1};
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPSM, M3UA_BEAT);
    m.heartbeat = one;
    m.heartbeat_len = 4;
    m.present = M3UA_BIT(M3UA_P_HEARTBEAT);
    encode_is(&m, beat_bytes, sizeof(beat_bytes));

    mgcf_m3ua_init(&m, M3UA_CLASS_MGMT, M3UA_ERR);
    m.error_code = M3UA_E_UNEXPECTED_MESSAGE;
    m.present = M3UA_BIT(M3UA_P_ERROR_CODE);
    encode_is(&m, err_bytes, sizeof(err_bytes));

    mgcf_m3ua_init(&m, M3UA_CLASS_MGMT, M3UA_NTFY);
    m.status_type = M3UA_ST_AS_STATE_CHANGE;
    m.status_info = M3UA_AS_ACTIVE;
    m.n_rc = 1;
    m.routing_context[0] = 1;
    m.present = M3UA_BIT(M3UA_P_STATUS) | M3UA_BIT(M3UA_P_ROUTING_CONTEXT);
    encode_is(&m, ntfy_bytes, sizeof(ntfy_bytes));
}
END_TEST

START_TEST(decode_hand_checked)
{
    struct mgcf_m3ua_msg m;
    uint32_t code;
    ck_assert_int_eq(mgcf_m3ua_decode(data_bytes, sizeof(data_bytes), &m, &code), 0);
    ck_assert_uint_eq(m.cls, M3UA_CLASS_TRANSFER);
    ck_assert_uint_eq(m.n_rc, 1);
    ck_assert_uint_eq(m.routing_context[0], 1);
    ck_assert_uint_eq(m.opc, 1);
    ck_assert_uint_eq(m.dpc, 2);
    ck_assert_uint_eq(m.si, 5);
    ck_assert_uint_eq(m.ni, 2);
    ck_assert_uint_eq(m.sls, 3);
    ck_assert_uint_eq(m.data_len, 3);
    ck_assert_uint_eq(m.data[2], 0x13);
    ck_assert_ptr_eq(m.data, data_bytes + 32);      /* points into the buffer */
    ck_assert_int_eq(mgcf_m3ua_decode(ntfy_bytes, sizeof(ntfy_bytes), &m, &code), 0);
    ck_assert_uint_eq(m.status_type, 1);
    ck_assert_uint_eq(m.status_info, 3);
    ck_assert_int_eq(mgcf_m3ua_decode(aspup_bytes, sizeof(aspup_bytes), &m, &code), 0);
    ck_assert_uint_eq(m.asp_id, 7);
    ck_assert_str_eq(mgcf_m3ua_type_name(m.cls, m.type), "ASPUP");

    /* an unknown parameter is skipped; a DUNA with two point codes and an INFO string */
    static const uint8_t duna[] = {
        0x01, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x24,
        0x7f, 0x00, 0x00, 0x06, 0xaa, 0xbb, 0x00, 0x00, /* unknown tag, 2 bytes + pad */
        0x00, 0x12, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
        0x00, 0x04, 0x00, 0x05, 'x', 0x00, 0x00, 0x00,
    };
    ck_assert_int_eq(mgcf_m3ua_decode(duna, sizeof(duna), &m, &code), 0);
    ck_assert_uint_eq(m.unknown, 1);
    ck_assert_uint_eq(m.n_apc, 2);
    ck_assert_uint_eq(m.apc[1], 2);
    ck_assert_uint_eq(m.info_len, 1);
}
END_TEST

START_TEST(decode_refusals)
{
    struct mgcf_m3ua_msg m;
    uint32_t code;
    uint8_t b[64];

    for (size_t n = 0; n < sizeof(data_bytes); n++)     /* every truncation */
        ck_assert_int_eq(mgcf_m3ua_decode(data_bytes, n, &m, &code), -EINVAL);

    memcpy(b, aspup_bytes, sizeof(aspup_bytes));
    b[0] = 2;                                           /* version 2 */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -ENOTSUP);
    ck_assert_uint_eq(code, M3UA_E_INVALID_VERSION);
    memcpy(b, aspup_bytes, sizeof(aspup_bytes));
    b[2] = M3UA_CLASS_RKM;                              /* RKM: not supported */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -ENOTSUP);
    ck_assert_uint_eq(code, M3UA_E_UNSUPPORTED_CLASS);
    b[2] = M3UA_CLASS_ASPSM;
    b[3] = 9;                                           /* no ASPSM type 9 */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -ENOTSUP);
    ck_assert_uint_eq(code, M3UA_E_UNSUPPORTED_TYPE);

    memcpy(b, aspup_bytes, sizeof(aspup_bytes));
    b[7] = 0x14;                                        /* length says 20 */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -EINVAL);
    memcpy(b, aspup_bytes, sizeof(aspup_bytes));
    b[11] = 0x03;                                       /* parameter length 3 < 4 */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -EINVAL);
    b[11] = 0x0c;                                       /* parameter past the end */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -EINVAL);
    b[11] = 0x07;                                       /* ASP Id of 3 bytes */
    ck_assert_int_eq(mgcf_m3ua_decode(b, sizeof(aspup_bytes), &m, &code), -EINVAL);
    ck_assert_uint_eq(code, M3UA_E_INVALID_PARAMETER_VALUE);

    /* DATA without Protocol Data; Protocol Data shorter than 12 */
    static const uint8_t nodata[] = {0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x10,
                                     0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01};
    ck_assert_int_eq(mgcf_m3ua_decode(nodata, sizeof(nodata), &m, &code), -EINVAL);
    ck_assert_uint_eq(code, M3UA_E_MISSING_PARAMETER);
    static const uint8_t shortpd[] = {0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x14,
                                      0x02, 0x10, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01,
                                      0x00, 0x00, 0x00, 0x02};
    ck_assert_int_eq(mgcf_m3ua_decode(shortpd, sizeof(shortpd), &m, &code), -EINVAL);
    /* a parameter twice; a routing context list not of 4s; an empty INFO */
    static const uint8_t twice[] = {0x01, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x18,
                                    0x00, 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07,
                                    0x00, 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07};
    ck_assert_int_eq(mgcf_m3ua_decode(twice, sizeof(twice), &m, &code), -EINVAL);
    static const uint8_t rc6[] = {0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x14,
                                  0x00, 0x06, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01,
                                  0x00, 0x02, 0x00, 0x00};
    ck_assert_int_eq(mgcf_m3ua_decode(rc6, sizeof(rc6), &m, &code), -EINVAL);
    static const uint8_t info0[] = {0x01, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x0c,
                                    0x00, 0x04, 0x00, 0x04};
    ck_assert_int_eq(mgcf_m3ua_decode(info0, sizeof(info0), &m, &code), -EINVAL);
}
END_TEST

START_TEST(framing)
{
    ck_assert_int_eq(mgcf_m3ua_frame(data_bytes, 7), 0);
    ck_assert_int_eq(mgcf_m3ua_frame(data_bytes, 8), 36);
    uint8_t b[8] = {0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x06};
    ck_assert_int_eq(mgcf_m3ua_frame(b, 8), -EINVAL);       /* below 8 */
    b[7] = 0x0e;
    ck_assert_int_eq(mgcf_m3ua_frame(b, 8), -EINVAL);       /* not a multiple of 4 */
    b[6] = 0x10;
    b[7] = 0x04;
    ck_assert_int_eq(mgcf_m3ua_frame(b, 8), -EINVAL);       /* 4100: too long */
    b[6] = 0x00;
    b[0] = 2;
    ck_assert_int_eq(mgcf_m3ua_frame(b, 8), -EINVAL);       /* version */
}
END_TEST

START_TEST(encode_refusals)
{
    struct mgcf_m3ua_msg m;
    uint8_t buf[64];
    mgcf_m3ua_init(&m, M3UA_CLASS_TRANSFER, M3UA_DATA);      /* no Protocol Data */
    ck_assert_int_eq(mgcf_m3ua_encode(&m, buf, sizeof(buf)), -EINVAL);
    mgcf_m3ua_init(&m, M3UA_CLASS_RKM, 1);
    ck_assert_int_eq(mgcf_m3ua_encode(&m, buf, sizeof(buf)), -EINVAL);
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPSM, M3UA_BEAT);
    m.present = M3UA_BIT(M3UA_P_HEARTBEAT);                 /* empty heartbeat data */
    ck_assert_int_eq(mgcf_m3ua_encode(&m, buf, sizeof(buf)), -EINVAL);
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPTM, M3UA_ASPAC);
    m.present = M3UA_BIT(M3UA_P_ROUTING_CONTEXT);           /* an empty RC list */
    ck_assert_int_eq(mgcf_m3ua_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ state machine */

struct fake {
    struct mgcf_m3ua_asp asp;
    uint8_t sent[16][MGCF_M3UA_MSG_MAX];
    size_t sent_len[16];
    unsigned n_sent;
    unsigned timer;
    enum mgcf_m3ua_state states[8];
    unsigned sent_at_state[8];  /* messages sent when each state was told */
    unsigned n_states;
    unsigned delivered;
    uint8_t last_data[64];
    size_t last_len;
    struct fake *peer;          /* back to back: what is sent is received by the peer */
};

static int f_send(void *arg, const uint8_t *buf, size_t len)
{
    struct fake *f = arg;
    ck_assert_uint_lt(f->n_sent, 16);
    memcpy(f->sent[f->n_sent], buf, len);
    f->sent_len[f->n_sent++] = len;
    if (f->peer)
        return mgcf_m3ua_asp_receive(&f->peer->asp, buf, len);
    return 0;
}

static void f_deliver(void *arg, const struct mgcf_m3ua_msg *m)
{
    struct fake *f = arg;
    f->delivered++;
    memcpy(f->last_data, m->data, m->data_len);
    f->last_len = m->data_len;
}

static void f_state(void *arg, enum mgcf_m3ua_state s)
{
    struct fake *f = arg;
    f->sent_at_state[f->n_states % 8] = f->n_sent;
    f->states[f->n_states++ % 8] = s;
}

static void f_timer(void *arg, unsigned ms)
{
    ((struct fake *)arg)->timer = ms;
}

static const struct mgcf_m3ua_asp_ops ops = {f_send, f_deliver, f_state, f_timer};

static void fake_init(struct fake *f, enum mgcf_m3ua_role role)
{
    memset(f, 0, sizeof(*f));
    struct mgcf_m3ua_asp_cfg cfg = {
        .role = role, .has_rc = true, .rc = 1, .has_asp_id = role == MGCF_M3UA_ASP,
        .asp_id = 7, .traffic_mode = role == MGCF_M3UA_ASP ? M3UA_TM_OVERRIDE : 0,
        .ack_ms = 2000, .ack_tries = 3, .beat_ms = 30000,
    };
    mgcf_m3ua_asp_init(&f->asp, &cfg, &ops, f);
}

/* class and type of message @i sent */
static void sent_is(const struct fake *f, unsigned i, uint8_t cls, uint8_t type)
{
    ck_assert_uint_gt(f->n_sent, i);
    ck_assert_msg(f->sent[i][2] == cls && f->sent[i][3] == type, "message %u is %u/%u", i,
                  f->sent[i][2], f->sent[i][3]);
}

static void receive(struct fake *f, uint8_t cls, uint8_t type, uint32_t present_rc)
{
    struct mgcf_m3ua_msg m;
    uint8_t buf[64];
    mgcf_m3ua_init(&m, cls, type);
    if (present_rc) {
        m.n_rc = 1;
        m.routing_context[0] = present_rc;
        m.present = M3UA_BIT(M3UA_P_ROUTING_CONTEXT);
    }
    if (cls == M3UA_CLASS_MGMT && type == M3UA_NTFY) {
        m.status_type = 1;
        m.status_info = 3;
        m.present |= M3UA_BIT(M3UA_P_STATUS);
    }
    int n = mgcf_m3ua_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f->asp, buf, (size_t)n), 0);
}

START_TEST(asp_comes_up_and_beats)
{
    static struct fake f;
    fake_init(&f, MGCF_M3UA_ASP);
    ck_assert_int_eq(mgcf_m3ua_asp_connected(&f.asp), 0);
    sent_is(&f, 0, M3UA_CLASS_ASPSM, M3UA_ASPUP);
    ck_assert_mem_eq(f.sent[0], aspup_bytes, sizeof(aspup_bytes));
    ck_assert_uint_eq(f.timer, 2000);
    ck_assert_int_eq(mgcf_m3ua_asp_send_data(&f.asp, 1, 2, 5, 2, 0, 3, (const uint8_t *)"x", 1),
                     -ENOTCONN);
    receive(&f, M3UA_CLASS_ASPSM, M3UA_ASPUP_ACK, 0);
    ck_assert_int_eq(f.asp.state, MGCF_M3UA_INACTIVE);
    sent_is(&f, 1, M3UA_CLASS_ASPTM, M3UA_ASPAC);
    ck_assert_mem_eq(f.sent[1], aspac_bytes, sizeof(aspac_bytes));
    receive(&f, M3UA_CLASS_MGMT, M3UA_NTFY, 1);             /* informative */
    ck_assert_uint_eq(f.n_sent, 2);
    receive(&f, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK, 1);
    ck_assert_int_eq(f.asp.state, MGCF_M3UA_ACTIVE);
    ck_assert_uint_eq(f.timer, 30000);
    ck_assert_uint_eq(f.n_states, 2);
    receive(&f, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK, 1);       /* a duplicate: ignored */
    ck_assert_uint_eq(f.n_sent, 2);

    static const uint8_t blo[] = {0x01, 0x00, 0x13};
    ck_assert_int_eq(mgcf_m3ua_asp_send_data(&f.asp, 1, 2, M3UA_SI_ISUP, M3UA_NI_NATIONAL, 0, 3,
                                             blo, sizeof(blo)), 0);
    ck_assert_mem_eq(f.sent[2], data_bytes, sizeof(data_bytes));
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, data_bytes, sizeof(data_bytes)), 0);
    ck_assert_uint_eq(f.delivered, 1);
    ck_assert_uint_eq(f.last_len, 3);

    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), 0);     /* heartbeat 1 */
    sent_is(&f, 3, M3UA_CLASS_ASPSM, M3UA_BEAT);
    ck_assert_mem_eq(f.sent[3], beat_bytes, sizeof(beat_bytes));
    uint8_t ack[sizeof(beat_bytes)];
    memcpy(ack, beat_bytes, sizeof(ack));
    ack[3] = M3UA_BEAT_ACK;
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, ack, sizeof(ack)), 0);
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), 0);     /* heartbeat 2 */
    sent_is(&f, 4, M3UA_CLASS_ASPSM, M3UA_BEAT);
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, ack, sizeof(ack)), 0); /* stale: 1 */
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), -ETIMEDOUT);
    mgcf_m3ua_asp_disconnected(&f.asp);
    ck_assert_int_eq(f.asp.state, MGCF_M3UA_DOWN);
    ck_assert_uint_eq(f.timer, 0);
}
END_TEST

START_TEST(asp_retransmits_then_fails)
{
    static struct fake f;
    fake_init(&f, MGCF_M3UA_ASP);
    mgcf_m3ua_asp_connected(&f.asp);
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), 0);
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), 0);
    sent_is(&f, 2, M3UA_CLASS_ASPSM, M3UA_ASPUP);
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&f.asp), -ETIMEDOUT);    /* third try */
    ck_assert_uint_eq(f.n_sent, 3);
}
END_TEST

START_TEST(asp_answers_bad_input)
{
    static struct fake f;
    struct mgcf_m3ua_msg m;
    uint32_t code;
    fake_init(&f, MGCF_M3UA_ASP);
    mgcf_m3ua_asp_connected(&f.asp);
    /* DATA before it is active */
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, data_bytes, sizeof(data_bytes)), 0);
    sent_is(&f, 1, M3UA_CLASS_MGMT, M3UA_ERR);
    ck_assert_int_eq(mgcf_m3ua_decode(f.sent[1], f.sent_len[1], &m, &code), 0);
    ck_assert_uint_eq(m.error_code, M3UA_E_UNEXPECTED_MESSAGE);
    ck_assert_uint_eq(f.delivered, 0);
    /* version 2: ERR invalid version, the message as diagnostic */
    uint8_t b[sizeof(aspup_bytes)];
    memcpy(b, aspup_bytes, sizeof(b));
    b[0] = 2;
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, b, sizeof(b)), 0);
    ck_assert_int_eq(mgcf_m3ua_decode(f.sent[2], f.sent_len[2], &m, &code), 0);
    ck_assert_uint_eq(m.error_code, M3UA_E_INVALID_VERSION);
    ck_assert_uint_eq(m.diagnostic_len, sizeof(b));
    /* an ERR from the peer is counted, never answered */
    unsigned before = f.n_sent;
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, err_bytes, sizeof(err_bytes)), 0);
    ck_assert_uint_eq(f.n_sent, before);
    /* ASPUP sent to an ASP */
    receive(&f, M3UA_CLASS_ASPSM, M3UA_ASPUP, 0);
    sent_is(&f, before, M3UA_CLASS_MGMT, M3UA_ERR);
    /* a BEAT from the peer is echoed */
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, beat_bytes, sizeof(beat_bytes)), 0);
    sent_is(&f, before + 1, M3UA_CLASS_ASPSM, M3UA_BEAT_ACK);
    ck_assert_mem_eq(f.sent[before + 1] + 8, beat_bytes + 8, 8);
    ck_assert_uint_eq(f.asp.rx_errors, 4);
    /* once active, DATA of another routing context is refused */
    receive(&f, M3UA_CLASS_ASPSM, M3UA_ASPUP_ACK, 0);
    receive(&f, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK, 1);
    uint8_t d[sizeof(data_bytes)];
    memcpy(d, data_bytes, sizeof(d));
    d[15] = 9;
    before = f.n_sent;
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, d, sizeof(d)), 0);
    ck_assert_int_eq(mgcf_m3ua_decode(f.sent[before], f.sent_len[before], &m, &code), 0);
    ck_assert_uint_eq(m.error_code, M3UA_E_INVALID_ROUTING_CONTEXT);
    ck_assert_uint_eq(f.delivered, 0);
}
END_TEST

START_TEST(sgp_acknowledges)
{
    static struct fake f;
    fake_init(&f, MGCF_M3UA_SGP);
    ck_assert_int_eq(mgcf_m3ua_asp_connected(&f.asp), 0);
    ck_assert_uint_eq(f.n_sent, 0);                         /* the SGP waits */
    receive(&f, M3UA_CLASS_ASPTM, M3UA_ASPAC, 1);           /* active before up */
    sent_is(&f, 0, M3UA_CLASS_MGMT, M3UA_ERR);
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, aspup_bytes, sizeof(aspup_bytes)), 0);
    sent_is(&f, 1, M3UA_CLASS_ASPSM, M3UA_ASPUP_ACK);
    sent_is(&f, 2, M3UA_CLASS_MGMT, M3UA_NTFY);
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, aspac_bytes, sizeof(aspac_bytes)), 0);
    sent_is(&f, 3, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK);
    sent_is(&f, 4, M3UA_CLASS_MGMT, M3UA_NTFY);
    ck_assert_mem_eq(f.sent[4], ntfy_bytes, sizeof(ntfy_bytes));
    ck_assert_int_eq(f.asp.state, MGCF_M3UA_ACTIVE);
    /* the owner hears of INACTIVE and ACTIVE only once the ack and NTFY are out: DATA it
     * sends then cannot overtake the ASPAC_ACK */
    ck_assert_uint_eq(f.n_states, 2);
    ck_assert_uint_eq(f.sent_at_state[0], 3);
    ck_assert_uint_eq(f.sent_at_state[1], 5);
    ck_assert_int_eq(mgcf_m3ua_asp_receive(&f.asp, data_bytes, sizeof(data_bytes)), 0);
    ck_assert_uint_eq(f.delivered, 1);
    receive(&f, M3UA_CLASS_ASPSM, M3UA_ASPDN, 0);
    sent_is(&f, 5, M3UA_CLASS_ASPSM, M3UA_ASPDN_ACK);
    ck_assert_int_eq(f.asp.state, MGCF_M3UA_DOWN);
}
END_TEST

START_TEST(back_to_back)
{
    static struct fake asp, sgp;
    fake_init(&asp, MGCF_M3UA_ASP);
    fake_init(&sgp, MGCF_M3UA_SGP);
    asp.peer = &sgp;
    sgp.peer = &asp;
    mgcf_m3ua_asp_connected(&sgp.asp);
    ck_assert_int_eq(mgcf_m3ua_asp_connected(&asp.asp), 0);
    ck_assert_int_eq(asp.asp.state, MGCF_M3UA_ACTIVE);
    ck_assert_int_eq(sgp.asp.state, MGCF_M3UA_ACTIVE);
    static const uint8_t rlc[] = {0x05, 0x00, 0x10, 0x00};
    ck_assert_int_eq(mgcf_m3ua_asp_send_data(&asp.asp, 1, 2, 5, 2, 0, 0, rlc, 4), 0);
    ck_assert_uint_eq(sgp.delivered, 1);
    ck_assert_mem_eq(sgp.last_data, rlc, 4);
    ck_assert_int_eq(mgcf_m3ua_asp_send_data(&sgp.asp, 2, 1, 5, 2, 0, 0, rlc, 4), 0);
    ck_assert_uint_eq(asp.delivered, 1);
    ck_assert_int_eq(mgcf_m3ua_asp_timeout(&asp.asp), 0);  /* BEAT answered at once */
    ck_assert(!asp.asp.beat_outstanding);
    ck_assert_int_eq(mgcf_m3ua_asp_stop(&asp.asp), 0);
    ck_assert_int_eq(sgp.asp.state, MGCF_M3UA_DOWN);
    ck_assert_int_eq(asp.asp.state, MGCF_M3UA_DOWN);
    ck_assert_uint_eq(asp.asp.rx_errors + sgp.asp.rx_errors, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("m3ua");
    TCase *tc = tcase_create("m3ua");
    tcase_add_test(tc, encode_hand_checked);
    tcase_add_test(tc, decode_hand_checked);
    tcase_add_test(tc, decode_refusals);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, encode_refusals);
    tcase_add_test(tc, asp_comes_up_and_beats);
    tcase_add_test(tc, asp_retransmits_then_fails);
    tcase_add_test(tc, asp_answers_bad_input);
    tcase_add_test(tc, sgp_acknowledges);
    tcase_add_test(tc, back_to_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
