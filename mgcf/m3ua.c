/*
 * m3ua.c - RFC 4666 message codec and ASP state machine (no I/O)
 *
 * Wire format (RFC 4666 3.1, 3.2): a common header (version 1, reserved, class, type,
 * length of the whole message) then parameters, each a tag (2), a length of tag, length
 * and value (2), the value, and padding to a multiple of 4 that the length leaves out.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "m3ua.h"

#include <errno.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define END 0xff

/* tag, and the value length of a fixed-size parameter (0: variable, 255: a list of 4s) */
static const struct {
    uint16_t tag;
    uint8_t len;
} pars[M3UA_P_COUNT] = {
    [M3UA_P_INFO] = {0x0004, 0},
    [M3UA_P_ROUTING_CONTEXT] = {0x0006, 255},
    [M3UA_P_DIAGNOSTIC] = {0x0007, 0},
    [M3UA_P_HEARTBEAT] = {0x0009, 0},
    [M3UA_P_TRAFFIC_MODE] = {0x000b, 4},
    [M3UA_P_ERROR_CODE] = {0x000c, 4},
    [M3UA_P_STATUS] = {0x000d, 4},
    [M3UA_P_ASP_ID] = {0x0011, 4},
    [M3UA_P_AFFECTED_PC] = {0x0012, 255},
    [M3UA_P_CORRELATION_ID] = {0x0013, 4},
    [M3UA_P_NETWORK_APPEARANCE] = {0x0200, 4},
    [M3UA_P_USER_CAUSE] = {0x0204, 4},
    [M3UA_P_CONGESTION] = {0x0205, 4},
    [M3UA_P_CONCERNED_DEST] = {0x0206, 4},
    [M3UA_P_PROTOCOL_DATA] = {0x0210, 0},
};

struct msg_format {
    uint8_t cls, type;
    const char *name;
    uint32_t mandatory;         /* M3UA_BIT()s */
    uint8_t order[7];           /* the parameters written, in RFC order, END-terminated */
};

#define B(p) M3UA_BIT(M3UA_P_##p)
#define P(p) M3UA_P_##p

static const struct msg_format formats[] = {
    {M3UA_CLASS_MGMT, M3UA_ERR, "ERR", B(ERROR_CODE),
     {P(ERROR_CODE), P(ROUTING_CONTEXT), P(NETWORK_APPEARANCE), P(AFFECTED_PC),
      P(DIAGNOSTIC), END}},
    {M3UA_CLASS_MGMT, M3UA_NTFY, "NTFY", B(STATUS),
     {P(STATUS), P(ASP_ID), P(ROUTING_CONTEXT), P(INFO), END}},
    {M3UA_CLASS_TRANSFER, M3UA_DATA, "DATA", B(PROTOCOL_DATA),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(PROTOCOL_DATA), P(CORRELATION_ID), END}},
    {M3UA_CLASS_SSNM, M3UA_DUNA, "DUNA", B(AFFECTED_PC),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(INFO), END}},
    {M3UA_CLASS_SSNM, M3UA_DAVA, "DAVA", B(AFFECTED_PC),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(INFO), END}},
    {M3UA_CLASS_SSNM, M3UA_DAUD, "DAUD", B(AFFECTED_PC),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(INFO), END}},
    {M3UA_CLASS_SSNM, M3UA_SCON, "SCON", B(AFFECTED_PC),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(CONCERNED_DEST),
      P(CONGESTION), P(INFO), END}},
    {M3UA_CLASS_SSNM, M3UA_DUPU, "DUPU", B(AFFECTED_PC) | B(USER_CAUSE),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(USER_CAUSE), P(INFO),
      END}},
    {M3UA_CLASS_SSNM, M3UA_DRST, "DRST", B(AFFECTED_PC),
     {P(NETWORK_APPEARANCE), P(ROUTING_CONTEXT), P(AFFECTED_PC), P(INFO), END}},
    {M3UA_CLASS_ASPSM, M3UA_ASPUP, "ASPUP", 0, {P(ASP_ID), P(INFO), END}},
    {M3UA_CLASS_ASPSM, M3UA_ASPDN, "ASPDN", 0, {P(INFO), END}},
    {M3UA_CLASS_ASPSM, M3UA_BEAT, "BEAT", 0, {P(HEARTBEAT), END}},
    {M3UA_CLASS_ASPSM, M3UA_ASPUP_ACK, "ASPUP_ACK", 0, {P(ASP_ID), P(INFO), END}},
    {M3UA_CLASS_ASPSM, M3UA_ASPDN_ACK, "ASPDN_ACK", 0, {P(INFO), END}},
    {M3UA_CLASS_ASPSM, M3UA_BEAT_ACK, "BEAT_ACK", 0, {P(HEARTBEAT), END}},
    {M3UA_CLASS_ASPTM, M3UA_ASPAC, "ASPAC", 0,
     {P(TRAFFIC_MODE), P(ROUTING_CONTEXT), P(INFO), END}},
    {M3UA_CLASS_ASPTM, M3UA_ASPIA, "ASPIA", 0, {P(ROUTING_CONTEXT), P(INFO), END}},
    {M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK, "ASPAC_ACK", 0,
     {P(TRAFFIC_MODE), P(ROUTING_CONTEXT), P(INFO), END}},
    {M3UA_CLASS_ASPTM, M3UA_ASPIA_ACK, "ASPIA_ACK", 0, {P(ROUTING_CONTEXT), P(INFO), END}},
};

static const struct msg_format *format_of(uint8_t cls, uint8_t type)
{
    for (size_t i = 0; i < COUNT(formats); i++)
        if (formats[i].cls == cls && formats[i].type == type)
            return &formats[i];
    return NULL;
}

const char *mgcf_m3ua_type_name(uint8_t cls, uint8_t type)
{
    const struct msg_format *f = format_of(cls, type);
    return f ? f->name : NULL;
}

void mgcf_m3ua_init(struct mgcf_m3ua_msg *m, uint8_t cls, uint8_t type)
{
    memset(m, 0, sizeof(*m));
    m->cls = cls;
    m->type = type;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- encoder ---- */

/* The value of parameter @p of @m into @v (room for @cap); returns its length or -errno */
static long value_of(const struct mgcf_m3ua_msg *m, int p, uint8_t *v, size_t cap)
{
    uint32_t one;
    const uint8_t *bytes;
    size_t n;
    switch (p) {
    case M3UA_P_INFO:
    case M3UA_P_DIAGNOSTIC:
    case M3UA_P_HEARTBEAT:
        bytes = p == M3UA_P_INFO ? m->info : p == M3UA_P_HEARTBEAT ? m->heartbeat : m->diagnostic;
        n = p == M3UA_P_INFO ? m->info_len : p == M3UA_P_HEARTBEAT ? m->heartbeat_len
                                                                    : m->diagnostic_len;
        if (!bytes || n == 0)
            return -EINVAL;     /* variable parameters are never empty */
        if (cap < n)
            return -ENOSPC;
        memcpy(v, bytes, n);
        return (long)n;
    case M3UA_P_ROUTING_CONTEXT:
    case M3UA_P_AFFECTED_PC: {
        const uint32_t *list = p == M3UA_P_AFFECTED_PC ? m->apc : m->routing_context;
        unsigned count = p == M3UA_P_AFFECTED_PC ? m->n_apc : m->n_rc;
        if (count == 0 || count > (p == M3UA_P_AFFECTED_PC ? MGCF_M3UA_PC_MAX : MGCF_M3UA_RC_MAX))
            return -EINVAL;
        if (cap < 4 * (size_t)count)
            return -ENOSPC;
        for (unsigned i = 0; i < count; i++)
            put32(v + 4 * i, list[i]);
        return 4 * (long)count;
    }
    case M3UA_P_PROTOCOL_DATA:
        if (cap < 12 + m->data_len)
            return -ENOSPC;
        put32(v, m->opc);
        put32(v + 4, m->dpc);
        v[8] = m->si;
        v[9] = m->ni;
        v[10] = m->mp;
        v[11] = m->sls;
        if (m->data_len)
            memcpy(v + 12, m->data, m->data_len);
        return 12 + (long)m->data_len;
    case M3UA_P_STATUS: one = (uint32_t)m->status_type << 16 | m->status_info; break;
    case M3UA_P_TRAFFIC_MODE: one = m->traffic_mode; break;
    case M3UA_P_ERROR_CODE: one = m->error_code; break;
    case M3UA_P_ASP_ID: one = m->asp_id; break;
    case M3UA_P_CORRELATION_ID: one = m->correlation_id; break;
    case M3UA_P_NETWORK_APPEARANCE: one = m->network_appearance; break;
    case M3UA_P_USER_CAUSE: one = m->user_cause; break;
    case M3UA_P_CONGESTION: one = m->congestion; break;
    case M3UA_P_CONCERNED_DEST: one = m->concerned_dest; break;
    default: return -EINVAL;
    }
    if (cap < 4)
        return -ENOSPC;
    put32(v, one);
    return 4;
}

int mgcf_m3ua_encode(const struct mgcf_m3ua_msg *m, uint8_t *buf, size_t cap)
{
    const struct msg_format *f = format_of(m->cls, m->type);
    if (!f || (m->present & f->mandatory) != f->mandatory)
        return -EINVAL;
    if (cap < MGCF_M3UA_HDR_LEN)
        return -ENOSPC;
    size_t off = MGCF_M3UA_HDR_LEN;
    for (const uint8_t *p = f->order; *p != END; p++) {
        if (!mgcf_m3ua_has(m, *p))
            continue;
        if (cap - off < 4)
            return -ENOSPC;
        long n = value_of(m, *p, buf + off + 4, cap - off - 4);
        if (n < 0)
            return (int)n;
        if (n > 0xffff - 4)
            return -EINVAL;
        put16(buf + off, pars[*p].tag);
        put16(buf + off + 2, (uint16_t)(4 + n));
        off += 4 + (size_t)n;
        while (off % 4) {
            if (off >= cap)
                return -ENOSPC;
            buf[off++] = 0;
        }
    }
    if (off > MGCF_M3UA_MSG_MAX)
        return -EINVAL;
    buf[0] = 1;                 /* version */
    buf[1] = 0;                 /* reserved */
    buf[2] = m->cls;
    buf[3] = m->type;
    put32(buf + 4, (uint32_t)off);
    return (int)off;
}

/* ---- decoder ---- */

/* The parameter of @tag that messages of format @f carry, or -1 */
static int par_of_tag(const struct msg_format *f, uint16_t tag)
{
    for (const uint8_t *p = f->order; *p != END; p++)
        if (pars[*p].tag == tag)
            return *p;
    return -1;
}

/* A list of 32-bit values (routing contexts, affected point codes) */
static int read_list(const uint8_t *v, size_t n, uint32_t *list, unsigned *count, unsigned max)
{
    if (n == 0 || n % 4)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        if (*count < max)       /* the ones past the limit are not kept */
            list[(*count)++] = get32(v + i);
    }
    return 0;
}

/* Parameter @p, value @v of @n bytes, into @m */
static int read_par(struct mgcf_m3ua_msg *m, int p, const uint8_t *v, size_t n)
{
    if (pars[p].len == 4 && n != 4)
        return -EINVAL;
    uint32_t one = n >= 4 ? get32(v) : 0;
    switch (p) {
    case M3UA_P_INFO: m->info = v; m->info_len = n; return n ? 0 : -EINVAL;
    case M3UA_P_DIAGNOSTIC: m->diagnostic = v; m->diagnostic_len = n; return n ? 0 : -EINVAL;
    case M3UA_P_HEARTBEAT: m->heartbeat = v; m->heartbeat_len = n; return n ? 0 : -EINVAL;
    case M3UA_P_ROUTING_CONTEXT:
        return read_list(v, n, m->routing_context, &m->n_rc, MGCF_M3UA_RC_MAX);
    case M3UA_P_AFFECTED_PC: return read_list(v, n, m->apc, &m->n_apc, MGCF_M3UA_PC_MAX);
    case M3UA_P_PROTOCOL_DATA:
        if (n < 12)
            return -EINVAL;
        m->opc = one;
        m->dpc = get32(v + 4);
        m->si = v[8];
        m->ni = v[9];
        m->mp = v[10];
        m->sls = v[11];
        m->data = v + 12;
        m->data_len = n - 12;
        return 0;
    case M3UA_P_STATUS:
        m->status_type = (uint16_t)(one >> 16);
        m->status_info = (uint16_t)one;
        return 0;
    case M3UA_P_TRAFFIC_MODE: m->traffic_mode = one; return 0;
    case M3UA_P_ERROR_CODE: m->error_code = one; return 0;
    case M3UA_P_ASP_ID: m->asp_id = one; return 0;
    case M3UA_P_CORRELATION_ID: m->correlation_id = one; return 0;
    case M3UA_P_NETWORK_APPEARANCE: m->network_appearance = one; return 0;
    case M3UA_P_USER_CAUSE: m->user_cause = one; return 0;
    case M3UA_P_CONGESTION: m->congestion = one; return 0;
    case M3UA_P_CONCERNED_DEST: m->concerned_dest = one; return 0;
    }
    return -EINVAL;
}

long mgcf_m3ua_frame(const uint8_t *buf, size_t avail)
{
    if (avail < MGCF_M3UA_HDR_LEN)
        return 0;
    uint32_t len = get32(buf + 4);
    if (buf[0] != 1 || len < MGCF_M3UA_HDR_LEN || len % 4 || len > MGCF_M3UA_MSG_MAX)
        return -EINVAL;
    return (long)len;
}

int mgcf_m3ua_decode(const uint8_t *buf, size_t len, struct mgcf_m3ua_msg *m,
                     uint32_t *error_code)
{
    memset(m, 0, sizeof(*m));
    *error_code = M3UA_E_PARAMETER_FIELD_ERROR;
    if (len < MGCF_M3UA_HDR_LEN)
        return -EINVAL;
    m->cls = buf[2];
    m->type = buf[3];
    if (buf[0] != 1) {
        *error_code = M3UA_E_INVALID_VERSION;
        return -ENOTSUP;
    }
    if (get32(buf + 4) != len || len % 4)
        return -EINVAL;
    const struct msg_format *f = format_of(m->cls, m->type);
    if (!f) {                   /* RKM and unassigned classes, or an unknown type */
        *error_code = m->cls <= M3UA_CLASS_ASPTM ? M3UA_E_UNSUPPORTED_TYPE
                                                 : M3UA_E_UNSUPPORTED_CLASS;
        return -ENOTSUP;
    }
    size_t off = MGCF_M3UA_HDR_LEN;
    while (off < len) {
        if (len - off < 4)
            return -EINVAL;
        uint16_t tag = get16(buf + off), plen = get16(buf + off + 2);
        size_t padded = ((size_t)plen + 3) & ~(size_t)3;
        if (plen < 4 || padded > len - off)
            return -EINVAL;
        int p = par_of_tag(f, tag);
        if (p < 0) {
            m->unknown++;       /* unknown, or not one of this message: skipped */
        } else {
            if (mgcf_m3ua_has(m, p))
                return -EINVAL;         /* twice */
            if (read_par(m, p, buf + off + 4, plen - 4u)) {
                *error_code = M3UA_E_INVALID_PARAMETER_VALUE;
                return -EINVAL;
            }
            m->present |= M3UA_BIT(p);
        }
        off += padded;
    }
    if ((m->present & f->mandatory) != f->mandatory) {
        *error_code = M3UA_E_MISSING_PARAMETER;
        return -EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- ASP state machine */

const char *mgcf_m3ua_state_name(enum mgcf_m3ua_state state)
{
    static const char *const names[] = {"ASP-DOWN", "ASP-INACTIVE", "ASP-ACTIVE"};
    return (size_t)state < COUNT(names) ? names[state] : "?";
}

void mgcf_m3ua_asp_init(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_asp_cfg *cfg,
                        const struct mgcf_m3ua_asp_ops *ops, void *arg)
{
    memset(asp, 0, sizeof(*asp));
    asp->cfg = *cfg;
    asp->ops = ops;
    asp->arg = arg;
}

static int send_msg(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    uint8_t buf[MGCF_M3UA_MSG_MAX];
    int n = mgcf_m3ua_encode(m, buf, sizeof(buf));
    if (n < 0)
        return n;
    return asp->ops->send(asp->arg, buf, (size_t)n);
}

static void set_state(struct mgcf_m3ua_asp *asp, enum mgcf_m3ua_state state)
{
    if (asp->state == state)
        return;
    asp->state = state;
    asp->ops->state(asp->arg, state);
}

/* Our routing context, when configured, into @m */
static void add_rc(const struct mgcf_m3ua_asp *asp, struct mgcf_m3ua_msg *m)
{
    if (!asp->cfg.has_rc)
        return;
    m->n_rc = 1;
    m->routing_context[0] = asp->cfg.rc;
    m->present |= M3UA_BIT(M3UA_P_ROUTING_CONTEXT);
}

static int send_simple(struct mgcf_m3ua_asp *asp, uint8_t cls, uint8_t type, bool rc)
{
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, cls, type);
    if (rc)
        add_rc(asp, &m);
    return send_msg(asp, &m);
}

static int send_err(struct mgcf_m3ua_asp *asp, uint32_t code, const uint8_t *diag, size_t len)
{
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, M3UA_CLASS_MGMT, M3UA_ERR);
    m.error_code = code;
    m.present = M3UA_BIT(M3UA_P_ERROR_CODE);
    if (len) {                  /* the offending message, as far as it fits */
        m.diagnostic = diag;
        m.diagnostic_len = len > 256 ? 256 : len;
        m.present |= M3UA_BIT(M3UA_P_DIAGNOSTIC);
    }
    asp->rx_errors++;
    return send_msg(asp, &m);
}

static int send_ntfy(struct mgcf_m3ua_asp *asp, uint16_t info)
{
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, M3UA_CLASS_MGMT, M3UA_NTFY);
    m.status_type = M3UA_ST_AS_STATE_CHANGE;
    m.status_info = info;
    m.present = M3UA_BIT(M3UA_P_STATUS);
    add_rc(asp, &m);
    return send_msg(asp, &m);
}

/* ASP role: ASPUP, or ASPAC once up; the ack timer armed */
static int send_next_up(struct mgcf_m3ua_asp *asp)
{
    struct mgcf_m3ua_msg m;
    if (asp->state == MGCF_M3UA_DOWN) {
        mgcf_m3ua_init(&m, M3UA_CLASS_ASPSM, M3UA_ASPUP);
        if (asp->cfg.has_asp_id) {
            m.asp_id = asp->cfg.asp_id;
            m.present |= M3UA_BIT(M3UA_P_ASP_ID);
        }
    } else {
        mgcf_m3ua_init(&m, M3UA_CLASS_ASPTM, M3UA_ASPAC);
        if (asp->cfg.traffic_mode) {
            m.traffic_mode = asp->cfg.traffic_mode;
            m.present |= M3UA_BIT(M3UA_P_TRAFFIC_MODE);
        }
        add_rc(asp, &m);
    }
    asp->waiting = true;
    asp->ops->timer(asp->arg, asp->cfg.ack_ms);
    return send_msg(asp, &m);
}

int mgcf_m3ua_asp_connected(struct mgcf_m3ua_asp *asp)
{
    asp->connected = true;
    asp->tries = 0;
    asp->beat_outstanding = false;
    set_state(asp, MGCF_M3UA_DOWN);
    if (asp->cfg.role != MGCF_M3UA_ASP)
        return 0;
    return send_next_up(asp);
}

void mgcf_m3ua_asp_disconnected(struct mgcf_m3ua_asp *asp)
{
    asp->connected = false;
    asp->waiting = false;
    asp->beat_outstanding = false;
    asp->ops->timer(asp->arg, 0);
    set_state(asp, MGCF_M3UA_DOWN);
}

/* Does the routing context of @m (if any) match ours (if any)? */
static bool rc_ok(const struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    if (!asp->cfg.has_rc || m->n_rc == 0)
        return true;
    for (unsigned i = 0; i < m->n_rc; i++)
        if (m->routing_context[i] == asp->cfg.rc)
            return true;
    return false;
}

/*
 * An SGP enters @state, sends its ack (@cls, @type) and an NTFY (@ntfy, 0: none), then tells
 * its owner: the acks go out before the owner hears of the new state (it may send DATA).
 */
static int sgp_enter(struct mgcf_m3ua_asp *asp, enum mgcf_m3ua_state state, uint8_t cls,
                     uint8_t type, bool rc_in_ack, uint16_t ntfy)
{
    enum mgcf_m3ua_state old = asp->state;
    asp->state = state;
    int rc = send_simple(asp, cls, type, rc_in_ack);
    if (rc == 0 && ntfy)
        rc = send_ntfy(asp, ntfy);
    if (old != state)
        asp->ops->state(asp->arg, state);
    return rc;
}

/* The SGP's side of ASPSM and ASPTM */
static int sgp_handle(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    if (m->cls == M3UA_CLASS_ASPSM && m->type == M3UA_ASPUP)
        return sgp_enter(asp, MGCF_M3UA_INACTIVE, M3UA_CLASS_ASPSM, M3UA_ASPUP_ACK, false,
                         M3UA_AS_INACTIVE);
    if (m->cls == M3UA_CLASS_ASPSM && m->type == M3UA_ASPDN)
        return sgp_enter(asp, MGCF_M3UA_DOWN, M3UA_CLASS_ASPSM, M3UA_ASPDN_ACK, false, 0);
    if (m->cls == M3UA_CLASS_ASPTM && m->type == M3UA_ASPAC) {
        if (asp->state == MGCF_M3UA_DOWN)
            return send_err(asp, M3UA_E_UNEXPECTED_MESSAGE, NULL, 0);
        if (mgcf_m3ua_has(m, M3UA_P_TRAFFIC_MODE) &&
            (m->traffic_mode < M3UA_TM_OVERRIDE || m->traffic_mode > M3UA_TM_BROADCAST))
            return send_err(asp, M3UA_E_UNSUPPORTED_TRAFFIC_MODE, NULL, 0);
        struct mgcf_m3ua_msg ack;
        mgcf_m3ua_init(&ack, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK);
        ack.traffic_mode = m->traffic_mode;
        ack.present = m->present & M3UA_BIT(M3UA_P_TRAFFIC_MODE);
        add_rc(asp, &ack);
        enum mgcf_m3ua_state old = asp->state;
        asp->state = MGCF_M3UA_ACTIVE;
        int rc = send_msg(asp, &ack);
        if (rc == 0)
            rc = send_ntfy(asp, M3UA_AS_ACTIVE);
        if (old != MGCF_M3UA_ACTIVE)
            asp->ops->state(asp->arg, MGCF_M3UA_ACTIVE);
        return rc;
    }
    if (m->cls == M3UA_CLASS_ASPTM && m->type == M3UA_ASPIA) {
        if (asp->state == MGCF_M3UA_DOWN)
            return send_err(asp, M3UA_E_UNEXPECTED_MESSAGE, NULL, 0);
        return sgp_enter(asp, MGCF_M3UA_INACTIVE, M3UA_CLASS_ASPTM, M3UA_ASPIA_ACK, true,
                         M3UA_AS_PENDING);
    }
    return send_err(asp, M3UA_E_UNEXPECTED_MESSAGE, NULL, 0);   /* acks sent to an SGP */
}

/* The ASP's side: the acks of what it sent */
static int asp_handle(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    if (m->cls == M3UA_CLASS_ASPSM && m->type == M3UA_ASPUP_ACK) {
        if (asp->state != MGCF_M3UA_DOWN || !asp->waiting)
            return 0;           /* a late duplicate */
        set_state(asp, MGCF_M3UA_INACTIVE);
        asp->tries = 0;
        return send_next_up(asp);
    }
    if (m->cls == M3UA_CLASS_ASPTM && m->type == M3UA_ASPAC_ACK) {
        if (asp->state != MGCF_M3UA_INACTIVE || !asp->waiting)
            return 0;
        asp->waiting = false;
        asp->tries = 0;
        set_state(asp, MGCF_M3UA_ACTIVE);
        asp->ops->timer(asp->arg, asp->cfg.beat_ms);
        return 0;
    }
    if (m->cls == M3UA_CLASS_ASPSM && m->type == M3UA_ASPDN_ACK) {
        asp->waiting = false;
        asp->ops->timer(asp->arg, 0);
        set_state(asp, MGCF_M3UA_DOWN);
        return 0;
    }
    if (m->cls == M3UA_CLASS_ASPTM && m->type == M3UA_ASPIA_ACK) {
        set_state(asp, MGCF_M3UA_INACTIVE);
        return 0;
    }
    /* ASPUP, ASPDN, ASPAC, ASPIA sent to an ASP (we are not an SGP or IPSP) */
    return send_err(asp, M3UA_E_UNEXPECTED_MESSAGE, NULL, 0);
}

/* BEAT and BEAT_ACK, in either role */
static int beat_handle(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    if (m->type == M3UA_BEAT) {
        struct mgcf_m3ua_msg ack;
        mgcf_m3ua_init(&ack, M3UA_CLASS_ASPSM, M3UA_BEAT_ACK);
        ack.heartbeat = m->heartbeat;           /* echoed unchanged (RFC 4666 3.5.6) */
        ack.heartbeat_len = m->heartbeat_len;
        ack.present = m->present & M3UA_BIT(M3UA_P_HEARTBEAT);
        return send_msg(asp, &ack);
    }
    if (asp->beat_outstanding && m->heartbeat_len == 4 && get32(m->heartbeat) == asp->beat_seq)
        asp->beat_outstanding = false;
    return 0;
}

static int handle(struct mgcf_m3ua_asp *asp, const struct mgcf_m3ua_msg *m)
{
    switch (m->cls) {
    case M3UA_CLASS_TRANSFER:
        if (asp->state != MGCF_M3UA_ACTIVE)
            return send_err(asp, M3UA_E_UNEXPECTED_MESSAGE, NULL, 0);
        if (!rc_ok(asp, m))
            return send_err(asp, M3UA_E_INVALID_ROUTING_CONTEXT, NULL, 0);
        asp->ops->deliver(asp->arg, m);
        return 0;
    case M3UA_CLASS_MGMT:
        if (m->type == M3UA_ERR)
            asp->rx_errors++;   /* the owner logs it from the state it sees */
        return 0;               /* NTFY: informative for an ASP */
    case M3UA_CLASS_SSNM:
        return 0;               /* point code availability: not acted on (one peer) */
    case M3UA_CLASS_ASPSM:
        if (m->type == M3UA_BEAT || m->type == M3UA_BEAT_ACK)
            return beat_handle(asp, m);
        break;
    }
    if (!rc_ok(asp, m))
        return send_err(asp, M3UA_E_INVALID_ROUTING_CONTEXT, NULL, 0);
    return asp->cfg.role == MGCF_M3UA_SGP ? sgp_handle(asp, m) : asp_handle(asp, m);
}

int mgcf_m3ua_asp_receive(struct mgcf_m3ua_asp *asp, const uint8_t *buf, size_t len)
{
    struct mgcf_m3ua_msg m;
    uint32_t code;
    if (mgcf_m3ua_decode(buf, len, &m, &code) < 0) {
        if (len >= MGCF_M3UA_HDR_LEN && buf[2] == M3UA_CLASS_MGMT && buf[3] == M3UA_ERR) {
            asp->rx_errors++;   /* never answer an ERR with an ERR */
            return 0;
        }
        return send_err(asp, code, buf, len);
    }
    return handle(asp, &m);
}

int mgcf_m3ua_asp_timeout(struct mgcf_m3ua_asp *asp)
{
    if (!asp->connected)
        return 0;
    if (asp->waiting) {
        if (++asp->tries >= asp->cfg.ack_tries)
            return -ETIMEDOUT;
        return send_next_up(asp);
    }
    if (asp->state != MGCF_M3UA_ACTIVE || asp->cfg.beat_ms == 0)
        return 0;
    if (asp->beat_outstanding)
        return -ETIMEDOUT;      /* no BEAT_ACK within a beat interval */
    uint8_t data[4];
    put32(data, ++asp->beat_seq);
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPSM, M3UA_BEAT);
    m.heartbeat = data;
    m.heartbeat_len = sizeof(data);
    m.present = M3UA_BIT(M3UA_P_HEARTBEAT);
    asp->beat_outstanding = true;
    asp->ops->timer(asp->arg, asp->cfg.beat_ms);
    return send_msg(asp, &m);
}

int mgcf_m3ua_asp_send_data(struct mgcf_m3ua_asp *asp, uint32_t opc, uint32_t dpc, uint8_t si,
                            uint8_t ni, uint8_t mp, uint8_t sls, const uint8_t *data,
                            size_t len)
{
    if (asp->state != MGCF_M3UA_ACTIVE || !asp->connected)
        return -ENOTCONN;
    if (len == 0 || len > MGCF_M3UA_MSG_MAX - 64 || opc > 0xffffff || dpc > 0xffffff)
        return -EINVAL;
    struct mgcf_m3ua_msg m;
    mgcf_m3ua_init(&m, M3UA_CLASS_TRANSFER, M3UA_DATA);
    m.opc = opc;
    m.dpc = dpc;
    m.si = si;
    m.ni = ni;
    m.mp = mp;
    m.sls = sls;
    m.data = data;
    m.data_len = len;
    m.present = M3UA_BIT(M3UA_P_PROTOCOL_DATA);
    add_rc(asp, &m);
    return send_msg(asp, &m);
}

int mgcf_m3ua_asp_stop(struct mgcf_m3ua_asp *asp)
{
    if (!asp->connected || asp->cfg.role != MGCF_M3UA_ASP)
        return 0;
    int rc = send_simple(asp, M3UA_CLASS_ASPSM, M3UA_ASPDN, false);
    asp->waiting = false;
    asp->ops->timer(asp->arg, 0);
    set_state(asp, MGCF_M3UA_DOWN);
    return rc;
}
