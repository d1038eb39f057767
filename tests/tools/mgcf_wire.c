/*
 * mgcf_wire - write what the MGCF's codecs put on the wire into capture files, for tshark
 *
 *   mgcf_wire <directory>
 *
 * Writes <directory>/m3ua.pcap: a TCP connection 127.0.0.70 -> 127.0.0.100:2905 in which an
 * ASP and an SGP state machine (mgcf/m3ua.c) come up and carry ISUP (mgcf/isup.c) for a
 * circuit group reset, an outgoing call, an incoming call, blocking and a circuit reset,
 * with heartbeats, an ERR and ASP Down; and <directory>/megaco.pcap: H.248.1 text
 * (mgcf/megaco.c) over UDP 127.0.0.70:2944 <-> 127.0.0.101:2944 for a gateway's
 * registration, an audit, a call's Add, Modify, Notify and Subtract with statistics,
 * Pending, an error and response acks; and <directory>/sipi.pcap: SIP-I (mgcf/sipi.c) over
 * UDP 127.0.0.70:5060 <-> 127.0.0.20:5060, a call's INVITE with SDP and IAM, 180 with ACM,
 * 200 with SDP and ANM, BYE with REL. tests/e2e/test_mgcf_wire.sh dissects them.
 *
 * The files are classic pcap with raw IPv4 frames (LINKTYPE_RAW), checksums computed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isup.h"
#include "m3ua.h"
#include "megaco.h"
#include "sipi.h"

#include <sofia-sip/sip_header.h>

#define MGCF_ADDR "127.0.0.70"
#define PSTN_ADDR "127.0.0.100"
#define MGW_ADDR  "127.0.0.101"
#define MGCF_TCP_PORT 40001
#define OPC_MGCF 1001           /* point codes of the lab's signalling relation */
#define DPC_PSTN 2002

/* ---------------------------------------------------------------- pcap */

static FILE *g_out;
static uint32_t g_usec;

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int pcap_open(const char *path)
{
    uint8_t h[24] = {0};
    g_out = fopen(path, "wb");
    if (!g_out)
        return -errno;
    put_u32le(h, 0xa1b2c3d4);
    h[4] = 2;                   /* version 2.4 */
    h[6] = 4;
    put_u32le(h + 16, 65535);   /* snaplen */
    put_u32le(h + 20, 101);     /* LINKTYPE_RAW */
    g_usec = 0;
    return fwrite(h, sizeof(h), 1, g_out) == 1 ? 0 : -EIO;
}

static int pcap_close(void)
{
    return fclose(g_out) == 0 ? 0 : -errno;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n % 2)
        acc += (uint32_t)(p[n - 1] << 8);
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* One IPv4 packet of protocol @proto carrying @l4 (its checksum field at @ck_at filled) */
static void write_ip(const char *src, const char *dst, uint8_t proto, uint8_t *l4, size_t len,
                     size_t ck_at)
{
    static uint16_t ip_id;
    uint8_t ip[20] = {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto};
    uint16_t total = (uint16_t)(20 + len);
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ++ip_id;
    ip[4] = (uint8_t)(ip_id >> 8);
    ip[5] = (uint8_t)ip_id;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    uint16_t ck = fold(sum16(ip, 20, 0));
    ip[10] = (uint8_t)(ck >> 8);
    ip[11] = (uint8_t)ck;
    uint8_t pseudo[12] = {0};
    memcpy(pseudo, ip + 12, 8);
    pseudo[9] = proto;
    pseudo[10] = (uint8_t)(len >> 8);
    pseudo[11] = (uint8_t)len;
    l4[ck_at] = l4[ck_at + 1] = 0;
    ck = fold(sum16(l4, len, sum16(pseudo, 12, 0)));
    l4[ck_at] = (uint8_t)(ck >> 8);
    l4[ck_at + 1] = (uint8_t)ck;

    uint8_t rec[16];
    g_usec += 1000;             /* a millisecond apart */
    put_u32le(rec, 1767225600 + g_usec / 1000000);  /* 2026-01-01 */
    put_u32le(rec + 4, g_usec % 1000000);
    put_u32le(rec + 8, total);
    put_u32le(rec + 12, total);
    fwrite(rec, sizeof(rec), 1, g_out);
    fwrite(ip, sizeof(ip), 1, g_out);
    fwrite(l4, len, 1, g_out);
}

static void write_udp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                      const void *data, size_t len)
{
    uint8_t pkt[65536];
    size_t n = 8 + len;
    pkt[0] = (uint8_t)(sport >> 8);
    pkt[1] = (uint8_t)sport;
    pkt[2] = (uint8_t)(dport >> 8);
    pkt[3] = (uint8_t)dport;
    pkt[4] = (uint8_t)(n >> 8);
    pkt[5] = (uint8_t)n;
    memcpy(pkt + 8, data, len);
    write_ip(src, dst, 17, pkt, n, 6);
}

/* one side of a TCP connection */
struct tcp_end {
    const char *addr;
    uint16_t port;
    uint32_t seq;
};

static struct tcp_end g_mgcf = {MGCF_ADDR, MGCF_TCP_PORT, 1000};
static struct tcp_end g_pstn = {PSTN_ADDR, MGCF_M3UA_PORT, 5000};

static void write_tcp(struct tcp_end *from, const struct tcp_end *to, uint8_t flags,
                      const void *data, size_t len)
{
    uint8_t pkt[20 + MGCF_M3UA_MSG_MAX];
    memset(pkt, 0, 20);
    pkt[0] = (uint8_t)(from->port >> 8);
    pkt[1] = (uint8_t)from->port;
    pkt[2] = (uint8_t)(to->port >> 8);
    pkt[3] = (uint8_t)to->port;
    uint32_t seq = htonl(from->seq), ack = htonl(to->seq);
    memcpy(pkt + 4, &seq, 4);
    if (flags & 0x10)
        memcpy(pkt + 8, &ack, 4);
    pkt[12] = 5 << 4;
    pkt[13] = flags;
    pkt[14] = 0xff;             /* window 65535 */
    pkt[15] = 0xff;
    if (len)
        memcpy(pkt + 20, data, len);
    write_ip(from->addr, to->addr, 6, pkt, 20 + len, 16);
    from->seq += (uint32_t)len + ((flags & 0x03) ? 1 : 0);     /* SYN and FIN count one */
}

/* ---------------------------------------------------------------- M3UA + ISUP */

struct side {
    struct mgcf_m3ua_asp asp;
    struct tcp_end *me, *peer;
    unsigned delivered;
};

static struct side g_asp_side, g_sgp_side;

/* What is in flight: written to the capture when sent, received by the other side in
 * order once the sender's call returns (as the network would) */
static struct {
    struct side *to;
    uint8_t buf[MGCF_M3UA_MSG_MAX];
    size_t len;
} g_flight[32];
static unsigned g_head, g_tail;

static int side_send(void *arg, const uint8_t *buf, size_t len)
{
    struct side *s = arg;
    if (g_tail - g_head >= 32)
        return -ENOBUFS;
    write_tcp(s->me, s->peer, 0x18, buf, len);              /* PSH, ACK */
    unsigned i = g_tail++ % 32;
    g_flight[i].to = s == &g_asp_side ? &g_sgp_side : &g_asp_side;
    memcpy(g_flight[i].buf, buf, len);
    g_flight[i].len = len;
    return 0;
}

/* Deliver everything in flight, and what that makes the sides send */
static int pump(void)
{
    while (g_head != g_tail) {
        unsigned i = g_head++ % 32;
        int rc = mgcf_m3ua_asp_receive(&g_flight[i].to->asp, g_flight[i].buf, g_flight[i].len);
        if (rc)
            return rc;
    }
    return 0;
}

static void side_deliver(void *arg, const struct mgcf_m3ua_msg *m)
{
    ((struct side *)arg)->delivered++;
    (void)m;
}

static void side_state(void *arg, enum mgcf_m3ua_state st)
{
    (void)arg;
    (void)st;
}

static void side_timer(void *arg, unsigned ms)
{
    (void)arg;
    (void)ms;
}

static const struct mgcf_m3ua_asp_ops side_ops = {side_send, side_deliver, side_state,
                                                  side_timer};

static int send_isup(struct side *from, const struct mgcf_isup_msg *m)
{
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    int n = mgcf_isup_encode(m, buf, sizeof(buf));
    if (n < 0) {
        fprintf(stderr, "mgcf_wire: %s does not encode: %d\n", mgcf_isup_type_name(m->type), n);
        return n;
    }
    bool out = from == &g_asp_side;
    return mgcf_m3ua_asp_send_data(&from->asp, out ? OPC_MGCF : DPC_PSTN,
                                   out ? DPC_PSTN : OPC_MGCF, M3UA_SI_ISUP, M3UA_NI_NATIONAL, 0,
                                   (uint8_t)(m->cic & 0x0f), buf, (size_t)n);
}

static void number(struct mgcf_isup_number *n, uint8_t nai, const char *digits)
{
    memset(n, 0, sizeof(*n));
    n->nai = nai;
    n->npi = ISUP_NPI_ISDN;
    n->si = ISUP_SI_NETWORK;
    snprintf(n->digits, sizeof(n->digits), "%s", digits);
}

static void iam(struct mgcf_isup_msg *m, uint16_t cic, const char *called, const char *calling)
{
    mgcf_isup_init(m, ISUP_IAM, cic);
    m->fci.interworking = 1;
    m->fci.isup_preference = 1;
    m->cpc = ISUP_CPC_ORDINARY;
    m->tmr = ISUP_TMR_3_1KHZ;
    number(&m->called, ISUP_NAI_INTERNATIONAL, called);
    m->called.si = 0;
    m->called.inn_ni = ISUP_INN_NOT_ALLOWED;
    number(&m->calling, ISUP_NAI_INTERNATIONAL, calling);
    m->hop_counter = 20;
    m->present = ISUP_BIT(ISUP_PAR_NCI) | ISUP_BIT(ISUP_PAR_FCI) | ISUP_BIT(ISUP_PAR_CPC) |
                 ISUP_BIT(ISUP_PAR_TMR) | ISUP_BIT(ISUP_PAR_CALLED) |
                 ISUP_BIT(ISUP_PAR_CALLING) | ISUP_BIT(ISUP_PAR_HOP_COUNTER);
}

static void simple(struct mgcf_isup_msg *m, uint8_t type, uint16_t cic)
{
    mgcf_isup_init(m, type, cic);
}

static void backward(struct mgcf_isup_msg *m, uint8_t type, uint16_t cic)
{
    mgcf_isup_init(m, type, cic);
    m->bci.charge = ISUP_BCI_CHARGE;
    m->bci.called_status = ISUP_BCI_SUBSCRIBER_FREE;
    m->bci.called_category = ISUP_BCI_ORDINARY;
    mgcf_isup_set(m, ISUP_PAR_BCI);
}

static void release(struct mgcf_isup_msg *m, uint16_t cic, uint8_t cause, uint8_t location)
{
    mgcf_isup_init(m, ISUP_REL, cic);
    m->cause.value = cause;
    m->cause.location = location;
    mgcf_isup_set(m, ISUP_PAR_CAUSE);
}

/* The ISUP of a whole session, each message from the side that sends it */
static int isup_session(void)
{
    struct side *mg = &g_asp_side, *ps = &g_sgp_side;
    struct mgcf_isup_msg m;
    int rc = 0;
#define SEND(side) do { if ((rc = send_isup((side), &m)) || (rc = pump())) return rc; } while (0)
    simple(&m, ISUP_GRS, 1);                         /* start: reset the trunk's group */
    m.range.range = 31;
    mgcf_isup_set(&m, ISUP_PAR_RANGE);
    SEND(mg);
    simple(&m, ISUP_GRA, 1);
    m.range.range = 31;
    m.range.status = 0x4;                            /* CIC 3 blocked for maintenance */
    mgcf_isup_set(&m, ISUP_PAR_RANGE);
    SEND(ps);

    iam(&m, 5, "19995550123", "15550100001");        /* IMS -> PSTN */
    SEND(mg);
    backward(&m, ISUP_ACM, 5);
    m.obci = ISUP_OBCI_INBAND;
    mgcf_isup_set(&m, ISUP_PAR_OBCI);
    SEND(ps);
    simple(&m, ISUP_CPG, 5);
    m.event = ISUP_EVENT_ALERTING;
    mgcf_isup_set(&m, ISUP_PAR_EVENT);
    SEND(ps);
    simple(&m, ISUP_ANM, 5);
    number(&m.connected, ISUP_NAI_INTERNATIONAL, "19995550123");
    mgcf_isup_set(&m, ISUP_PAR_CONNECTED);
    SEND(ps);
    release(&m, 5, 16, ISUP_LOC_BI);
    SEND(mg);
    simple(&m, ISUP_RLC, 5);
    SEND(ps);

    iam(&m, 6, "15550100002", "19995550199");        /* PSTN -> IMS, answered at once */
    m.calling.apri = ISUP_APRI_RESTRICTED;
    SEND(ps);
    backward(&m, ISUP_CON, 6);
    SEND(mg);
    release(&m, 6, 17, ISUP_LOC_RLN);                /* busy after all */
    SEND(ps);
    simple(&m, ISUP_RLC, 6);
    m.cause.value = 17;
    m.cause.location = ISUP_LOC_BI;
    mgcf_isup_set(&m, ISUP_PAR_CAUSE);
    SEND(mg);

    static const uint8_t types[][2] = {{ISUP_BLO, 0}, {ISUP_BLA, 1}, {ISUP_UBL, 0},
                                       {ISUP_UBA, 1}, {ISUP_RSC, 0}, {ISUP_RLC, 1}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        simple(&m, types[i][0], 7);
        SEND(types[i][1] ? ps : mg);
    }
#undef SEND
    return 0;
}

static int write_m3ua(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/m3ua.pcap", dir);
    int rc = pcap_open(path);
    if (rc)
        return rc;
    struct mgcf_m3ua_asp_cfg cfg = {.role = MGCF_M3UA_ASP, .has_rc = true, .rc = 1,
                                    .has_asp_id = true, .asp_id = 70,
                                    .traffic_mode = M3UA_TM_OVERRIDE, .ack_ms = 2000,
                                    .ack_tries = 3, .beat_ms = 30000};
    g_asp_side = (struct side){.me = &g_mgcf, .peer = &g_pstn};
    g_sgp_side = (struct side){.me = &g_pstn, .peer = &g_mgcf};
    mgcf_m3ua_asp_init(&g_asp_side.asp, &cfg, &side_ops, &g_asp_side);
    cfg.role = MGCF_M3UA_SGP;
    mgcf_m3ua_asp_init(&g_sgp_side.asp, &cfg, &side_ops, &g_sgp_side);

    write_tcp(&g_mgcf, &g_pstn, 0x02, NULL, 0);                 /* SYN */
    write_tcp(&g_pstn, &g_mgcf, 0x12, NULL, 0);                 /* SYN, ACK */
    write_tcp(&g_mgcf, &g_pstn, 0x10, NULL, 0);                 /* ACK */
    mgcf_m3ua_asp_connected(&g_sgp_side.asp);
    if ((rc = mgcf_m3ua_asp_connected(&g_asp_side.asp)) || (rc = pump()))  /* up, active */
        return rc;
    if (g_asp_side.asp.state != MGCF_M3UA_ACTIVE)
        return -EPROTO;
    if ((rc = isup_session()))
        return rc;
    if ((rc = mgcf_m3ua_asp_timeout(&g_asp_side.asp)) || (rc = pump()))    /* BEAT */
        return rc;
    struct mgcf_m3ua_msg m;                                     /* an ASPAC_ACK out of place */
    uint8_t buf[64];
    mgcf_m3ua_init(&m, M3UA_CLASS_ASPTM, M3UA_ASPAC_ACK);
    int n = mgcf_m3ua_encode(&m, buf, sizeof(buf));
    if (n < 0)
        return n;
    if ((rc = side_send(&g_asp_side, buf, (size_t)n)) || (rc = pump()))  /* -> ERR */
        return rc;
    if ((rc = mgcf_m3ua_asp_stop(&g_asp_side.asp)) || (rc = pump()))     /* ASPDN */
        return rc;
    write_tcp(&g_mgcf, &g_pstn, 0x11, NULL, 0);                 /* FIN, ACK */
    write_tcp(&g_pstn, &g_mgcf, 0x11, NULL, 0);
    write_tcp(&g_mgcf, &g_pstn, 0x10, NULL, 0);
    if (g_sgp_side.delivered != 8 || g_asp_side.delivered != 10 ||
        g_asp_side.asp.rx_errors != 1) {
        fprintf(stderr, "mgcf_wire: DATA delivered %u and %u, %llu ERR\n",
                g_sgp_side.delivered, g_asp_side.delivered,
                (unsigned long long)g_asp_side.asp.rx_errors);
        return -EPROTO;
    }
    return pcap_close();
}

/* ---------------------------------------------------------------- H.248 */

#define REMOTE_SDP "v=0\r\no=- 1 1 IN IP4 127.0.0.110\r\ns=-\r\nc=IN IP4 127.0.0.110\r\n" \
                   "t=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=ptime:20\r\n"
#define LOCAL_SDP "v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 0\r\n"
#define MGW_SDP "v=0\r\no=- 2 2 IN IP4 127.0.0.101\r\ns=-\r\nc=IN IP4 127.0.0.101\r\nt=0 0\r\n" \
                "m=audio 30000 RTP/AVP 0\r\na=ptime:20\r\n"

/* Encode @m and write it from the MGCF (@from_mgcf) or from the MGW */
static int send_mg(struct mgcf_mg_msg *m, bool from_mgcf)
{
    static char buf[16384];
    int n = mgcf_mg_encode(m, buf, sizeof(buf));
    if (n < 0) {
        fprintf(stderr, "mgcf_wire: H.248 message does not encode: %d\n", n);
        return n;
    }
    struct mgcf_mg_msg *back;
    char err[160];
    int rc = mgcf_mg_decode(buf, (size_t)n, &back, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "mgcf_wire: H.248 message does not read back: %s\n", err);
        return rc;
    }
    mgcf_mg_free(back);
    if (from_mgcf)
        write_udp(MGCF_ADDR, 2944, MGW_ADDR, 2944, buf, (size_t)n);
    else
        write_udp(MGW_ADDR, 2944, MGCF_ADDR, 2944, buf, (size_t)n);
    return 0;
}

static struct mgcf_mg_cmd *one(struct mgcf_mg_msg *m, const char *mid, enum mgcf_mg_trans_type tt,
                               uint32_t id, uint32_t ctx, enum mgcf_mg_cmd_type ct,
                               const char *tid)
{
    mgcf_mg_init(m, 1, mid);
    mgcf_mg_add_trans(m, tt, id);
    mgcf_mg_add_action(m, ctx);
    return mgcf_mg_add_cmd(m, ct, tid);
}

static int h248_registration(struct mgcf_mg_msg *m)
{
    const char *mgw = "[" MGW_ADDR "]:2944", *mgcf = "[" MGCF_ADDR "]:2944";
    int rc;
    struct mgcf_mg_cmd *c = one(m, mgw, MGCF_MG_REQUEST, 1, MGCF_MG_CTX_NULL,
                                MGCF_MG_SERVICE_CHANGE, "ROOT");
    c->services = true;
    c->method = MGCF_MG_SC_RESTART;
    c->reason = "901 Cold Boot";
    c->profile = "ResGW/1";
    c->version = 1;
    if ((rc = send_mg(m, false)))
        return rc;
    c = one(m, mgcf, MGCF_MG_REPLY, 1, MGCF_MG_CTX_NULL, MGCF_MG_SERVICE_CHANGE, "ROOT");
    c->services = true;
    c->address = "2944";
    c->profile = "ResGW/1";
    if ((rc = send_mg(m, true)))
        return rc;
    c = one(m, mgcf, MGCF_MG_REQUEST, 2, MGCF_MG_CTX_NULL, MGCF_MG_AUDIT_VALUE, "ROOT");
    c->audit = true;
    c->audit_items = MGCF_MG_AUDIT_PACKAGES;
    if ((rc = send_mg(m, true)))
        return rc;
    c = one(m, mgw, MGCF_MG_REPLY, 2, MGCF_MG_CTX_NULL, MGCF_MG_AUDIT_VALUE, "ROOT");
    static const char *const pkgs[] = {"g-1", "root-1", "nt-1", "rtp-1", "tdmc-1"};
    c->n_pkgs = 5;
    memcpy(c->pkgs, pkgs, sizeof(pkgs));
    return send_mg(m, false);
}

static int h248_call(struct mgcf_mg_msg *m)
{
    const char *mgw = "[" MGW_ADDR "]:2944", *mgcf = "[" MGCF_ADDR "]:2944";
    int rc;
    struct mgcf_mg_cmd *c = one(m, mgcf, MGCF_MG_REQUEST, 3, MGCF_MG_CTX_CHOOSE, MGCF_MG_ADD,
                                "tdm/5");
    c->media = true;
    c->mode = MGCF_MG_MODE_SENDRECV;
    c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "$");
    c->media = true;
    c->stream = 1;
    c->mode = MGCF_MG_MODE_RECVONLY;
    c->local = LOCAL_SDP;
    c->remote = REMOTE_SDP;
    if ((rc = send_mg(m, true)))
        return rc;
    mgcf_mg_init(m, 1, mgw);
    mgcf_mg_add_trans(m, MGCF_MG_PENDING, 3);
    if ((rc = send_mg(m, false)))
        return rc;
    one(m, mgw, MGCF_MG_REPLY, 3, 1, MGCF_MG_ADD, "tdm/5");
    c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "rtp/1");
    c->media = true;
    c->stream = 1;
    c->local = MGW_SDP;
    if ((rc = send_mg(m, false)))
        return rc;
    c = one(m, mgcf, MGCF_MG_REQUEST, 4, 1, MGCF_MG_MODIFY, "rtp/1");
    c->media = true;
    c->stream = 1;
    c->mode = MGCF_MG_MODE_SENDRECV;
    c->remote = REMOTE_SDP;
    if ((rc = send_mg(m, true)))
        return rc;
    one(m, mgw, MGCF_MG_REPLY, 4, 1, MGCF_MG_MODIFY, "rtp/1");
    if ((rc = send_mg(m, false)))
        return rc;
    c = one(m, mgw, MGCF_MG_REQUEST, 5, 1, MGCF_MG_NOTIFY, "rtp/1");
    c->request_id = 1;
    c->n_events = 1;
    c->events[0].name = "nt/netfail";
    c->events[0].n_params = 1;
    c->events[0].params[0] = (struct mgcf_mg_param){"cs", "RTP timeout"};
    if ((rc = send_mg(m, false)))
        return rc;
    one(m, mgcf, MGCF_MG_REPLY, 5, 1, MGCF_MG_NOTIFY, "rtp/1");
    if ((rc = send_mg(m, true)))
        return rc;
    one(m, mgcf, MGCF_MG_REQUEST, 6, 1, MGCF_MG_SUBTRACT, "tdm/5");
    mgcf_mg_add_cmd(m, MGCF_MG_SUBTRACT, "rtp/1");
    if ((rc = send_mg(m, true)))
        return rc;
    c = one(m, mgw, MGCF_MG_REPLY, 6, 1, MGCF_MG_SUBTRACT, "tdm/5");
    c->n_stats = 1;
    c->stats[0] = (struct mgcf_mg_param){"nt/dur", "41000"};
    c = mgcf_mg_add_cmd(m, MGCF_MG_SUBTRACT, "rtp/1");
    static const struct mgcf_mg_param stats[] = {
        {"nt/dur", "41000"}, {"nt/os", "328000"}, {"nt/or", "327680"}, {"rtp/ps", "2050"},
        {"rtp/pr", "2048"}, {"rtp/pl", "0"}, {"rtp/jit", "2"}, {"rtp/delay", "1"},
    };
    c->n_stats = 8;
    memcpy(c->stats, stats, sizeof(stats));
    return send_mg(m, false);
}

static int h248_errors(struct mgcf_mg_msg *m)
{
    const char *mgw = "[" MGW_ADDR "]:2944", *mgcf = "[" MGCF_ADDR "]:2944";
    int rc;
    struct mgcf_mg_cmd *c = one(m, mgcf, MGCF_MG_REQUEST, 7, MGCF_MG_CTX_CHOOSE, MGCF_MG_ADD,
                                "tdm/9");
    c->media = true;
    c->mode = MGCF_MG_MODE_SENDRECV;
    if ((rc = send_mg(m, true)))
        return rc;
    c = one(m, mgw, MGCF_MG_REPLY, 7, MGCF_MG_CTX_NULL, MGCF_MG_ADD, "tdm/9");
    c->error = (struct mgcf_mg_error){430, "Unknown TerminationID"};
    m->trans[0].imm_ack = true;
    if ((rc = send_mg(m, false)))
        return rc;
    mgcf_mg_init(m, 1, mgcf);
    struct mgcf_mg_trans *t = mgcf_mg_add_trans(m, MGCF_MG_ACK, 6);
    t->id_last = 7;
    if ((rc = send_mg(m, true)))
        return rc;
    mgcf_mg_init(m, 1, mgcf);
    t = mgcf_mg_add_trans(m, MGCF_MG_REPLY, 8);
    t->error = (struct mgcf_mg_error){504, "Command Unknown"};
    return send_mg(m, true);
}

static int write_megaco(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/megaco.pcap", dir);
    int rc = pcap_open(path);
    if (rc)
        return rc;
    struct mgcf_mg_msg *m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    if (!(rc = h248_registration(m)) && !(rc = h248_call(m)))
        rc = h248_errors(m);
    free(m);
    int rc2 = pcap_close();
    return rc ? rc : rc2;
}

/* ---------------------------------------------------------------- SIP-I */

#define ICSCF_ADDR "127.0.0.20"

static const char *SIPI_SDP = "v=0\r\no=mgcf 1 1 IN IP4 127.0.0.70\r\ns=-\r\n"
                              "c=IN IP4 127.0.0.101\r\nt=0 0\r\nm=audio 30002 RTP/AVP 8 0\r\n"
                              "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n";

/* One SIP message (@start line, @headers) with the SIP-I body of @sdp and @isup */
static int send_sipi(bool from_mgcf, const char *start, const char *headers, const char *sdp,
                     const struct mgcf_isup_msg *isup, bool required)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_content_type_t *ct;
    sip_payload_t *pl;
    int rc = mgcf_sipi_body_make(home, sdp, isup, required, &ct, &pl);
    static char pkt[8192];
    int n = rc ? -1 : snprintf(pkt, sizeof(pkt), "%s\r\n%sCall-ID: sipi-1@127.0.0.70\r\n"
                               "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;%s\r\n"
                               "Content-Length: %zu\r\n\r\n", start, headers,
                               ct->c_params[0], (size_t)pl->pl_len);
    if (n < 0 || (size_t)n + pl->pl_len > sizeof(pkt)) {
        su_home_deinit(home);
        return rc ? rc : -ENOSPC;
    }
    memcpy(pkt + n, pl->pl_data, pl->pl_len);
    if (from_mgcf)
        write_udp(MGCF_ADDR, 5060, ICSCF_ADDR, 5060, pkt, (size_t)n + pl->pl_len);
    else
        write_udp(ICSCF_ADDR, 5060, MGCF_ADDR, 5060, pkt, (size_t)n + pl->pl_len);
    su_home_deinit(home);
    return 0;
}

static int write_sipi(const char *dir)
{
    static const char *inv = "Via: SIP/2.0/UDP 127.0.0.70:5060;branch=z9hG4bK-sipi1\r\n"
                             "Max-Forwards: 70\r\nFrom: <tel:+19995550123>;tag=m1\r\n"
                             "To: <tel:+15550100001>\r\nCSeq: 1 INVITE\r\n"
                             "Contact: <sip:mgcf@127.0.0.70:5060>\r\n";
    static const char *rsp = "Via: SIP/2.0/UDP 127.0.0.70:5060;branch=z9hG4bK-sipi1\r\n"
                             "From: <tel:+19995550123>;tag=m1\r\n"
                             "To: <tel:+15550100001>;tag=u1\r\nCSeq: 1 INVITE\r\n"
                             "Contact: <sip:u1@127.0.0.160:5601>\r\n";
    static const char *bye = "Via: SIP/2.0/UDP 127.0.0.70:5060;branch=z9hG4bK-sipi2\r\n"
                             "Max-Forwards: 70\r\nFrom: <tel:+19995550123>;tag=m1\r\n"
                             "To: <tel:+15550100001>;tag=u1\r\nCSeq: 2 BYE\r\n";
    char path[512];
    snprintf(path, sizeof(path), "%s/sipi.pcap", dir);
    int rc = pcap_open(path);
    if (rc)
        return rc;
    struct mgcf_isup_msg m;
    iam(&m, 0, "15550100001", "19995550123");
    rc = send_sipi(true, "INVITE tel:+15550100001 SIP/2.0", inv, SIPI_SDP, &m, false);
    backward(&m, ISUP_ACM, 0);
    if (rc == 0)
        rc = send_sipi(false, "SIP/2.0 180 Ringing", rsp, NULL, &m, false);
    simple(&m, ISUP_ANM, 0);
    if (rc == 0)
        rc = send_sipi(false, "SIP/2.0 200 OK", rsp, SIPI_SDP, &m, false);
    release(&m, 0, 16, ISUP_LOC_RLN);
    if (rc == 0)
        rc = send_sipi(true, "BYE sip:u1@127.0.0.160:5601 SIP/2.0", bye, NULL, &m, true);
    int rc2 = pcap_close();
    return rc ? rc : rc2;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <directory>\n", argv[0]);
        return 2;
    }
    int rc = write_m3ua(argv[1]);
    if (rc == 0)
        rc = write_megaco(argv[1]);
    if (rc == 0)
        rc = write_sipi(argv[1]);
    if (rc) {
        fprintf(stderr, "mgcf_wire: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
