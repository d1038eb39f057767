/*
 * mgcf_m3ua.c - fuzz harness of the M3UA codec and ASP state machine (mgcf/m3ua.c)
 *
 * Input: bytes from the peer, cut into messages by their common header as the TCP reader
 * does. Each message decoded must encode and decode again to the same fields; every
 * message also goes through an ASP and an SGP state machine, whose answers must decode.
 * Self-contained (libFuzzer entry point only), named after the tests/fuzz convention.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include "fuzz.h"
#include "m3ua.h"

static bool same_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

static void round_trip(const struct mgcf_m3ua_msg *m)
{
    static uint8_t buf[MGCF_M3UA_MSG_MAX];
    struct mgcf_m3ua_msg back;
    uint32_t code;
    int n = mgcf_m3ua_encode(m, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(mgcf_m3ua_decode(buf, (size_t)n, &back, &code) == 0);
    FUZZ_CHECK(back.present == m->present && back.n_rc == m->n_rc && back.n_apc == m->n_apc);
    FUZZ_CHECK(!memcmp(back.routing_context, m->routing_context, sizeof(back.routing_context)));
    FUZZ_CHECK(!memcmp(back.apc, m->apc, sizeof(back.apc)));
    FUZZ_CHECK(back.opc == m->opc && back.dpc == m->dpc && back.si == m->si && back.sls == m->sls);
    FUZZ_CHECK(back.status_type == m->status_type && back.status_info == m->status_info);
    FUZZ_CHECK(back.error_code == m->error_code && back.traffic_mode == m->traffic_mode);
    FUZZ_CHECK(same_bytes(back.data, back.data_len, m->data, m->data_len));
    FUZZ_CHECK(same_bytes(back.info, back.info_len, m->info, m->info_len));
    FUZZ_CHECK(same_bytes(back.heartbeat, back.heartbeat_len, m->heartbeat, m->heartbeat_len));
}

static int f_send(void *arg, const uint8_t *buf, size_t len)
{
    struct mgcf_m3ua_msg m;
    uint32_t code;
    (void)arg;
    FUZZ_CHECK(mgcf_m3ua_decode(buf, len, &m, &code) == 0);
    return 0;
}
static void f_deliver(void *arg, const struct mgcf_m3ua_msg *m)
{
    (void)arg;
    FUZZ_CHECK(m->cls == M3UA_CLASS_TRANSFER);
}
static void f_state(void *arg, enum mgcf_m3ua_state s)
{
    (void)arg;
    FUZZ_CHECK(s <= MGCF_M3UA_ACTIVE);
}
static void f_timer(void *arg, unsigned ms)
{
    (void)arg;
    (void)ms;
}
static const struct mgcf_m3ua_asp_ops ops = {f_send, f_deliver, f_state, f_timer};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mgcf_m3ua_asp asp, sgp;
    struct mgcf_m3ua_asp_cfg cfg = {.role = MGCF_M3UA_ASP, .has_rc = true, .rc = 1,
                                    .traffic_mode = 1, .ack_ms = 1, .ack_tries = 2,
                                    .beat_ms = 1};
    mgcf_m3ua_asp_init(&asp, &cfg, &ops, NULL);
    cfg.role = MGCF_M3UA_SGP;
    mgcf_m3ua_asp_init(&sgp, &cfg, &ops, NULL);
    mgcf_m3ua_asp_connected(&asp);
    mgcf_m3ua_asp_connected(&sgp);
    while (size > 0) {
        long n = mgcf_m3ua_frame(data, size);
        if (n <= 0 || (size_t)n > size)
            break;
        struct mgcf_m3ua_msg m;
        uint32_t code;
        if (mgcf_m3ua_decode(data, (size_t)n, &m, &code) == 0)
            round_trip(&m);
        mgcf_m3ua_asp_receive(&asp, data, (size_t)n);
        mgcf_m3ua_asp_receive(&sgp, data, (size_t)n);
        mgcf_m3ua_asp_timeout(&asp);
        data += n;
        size -= (size_t)n;
    }
    return 0;
}
