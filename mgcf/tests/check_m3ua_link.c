/*
 * check_m3ua_link.c - M3UA over TCP on su_root (mgcf/m3ua_link.c) on the loopback: an ASP
 * and an SGP come up and exchange DATA; the ASP reconnects after the SGP goes; an SGP
 * refuses a peer it was not configured for, and a byte stream that is not M3UA; over SCTP
 * where the kernel has it (else refused at once)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "log.h"
#include "m3ua_link.h"

struct side {
    enum mgcf_m3ua_state state;
    unsigned data;
    uint8_t last[16];
    size_t last_len;
    uint32_t opc;
};

static void on_data(void *arg, const struct mgcf_m3ua_msg *m)
{
    struct side *s = arg;
    s->data++;
    s->opc = m->opc;
    s->last_len = m->data_len < sizeof(s->last) ? m->data_len : sizeof(s->last);
    memcpy(s->last, m->data, s->last_len);
}

static void on_state(void *arg, enum mgcf_m3ua_state state)
{
    ((struct side *)arg)->state = state;
}

static const struct mgcf_m3ua_link_ops ops = {on_data, on_state};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run @root for @ms milliseconds of wall time, or until *@flag is @want (flag NULL: all) */
static bool run(su_root_t *root, long ms, const enum mgcf_m3ua_state *flag,
                enum mgcf_m3ua_state want)
{
    long end = now_ms() + ms;
    while (now_ms() < end && !(flag && *flag == want))
        su_root_step(root, end - now_ms() > 10 ? 10 : end - now_ms());
    return flag && *flag == want;
}

static bool run_until(su_root_t *root, const enum mgcf_m3ua_state *flag,
                      enum mgcf_m3ua_state want)
{
    return run(root, 5000, flag, want);
}

static struct mgcf_m3ua_link_cfg sgp_cfg(const char *peer)
{
    return (struct mgcf_m3ua_link_cfg){
        .transport = "tcp", .local_addr = "127.0.0.1", .local_port = 0, .remote_addr = peer,
        .asp = {.role = MGCF_M3UA_SGP, .has_rc = true, .rc = 1},
    };
}

static struct mgcf_m3ua_link_cfg asp_cfg(unsigned port)
{
    return (struct mgcf_m3ua_link_cfg){
        .transport = "tcp", .local_addr = "127.0.0.1", .remote_addr = "127.0.0.1",
        .remote_port = port, .reconnect_ms = 50,
        .asp = {.role = MGCF_M3UA_ASP, .has_rc = true, .rc = 1, .traffic_mode = 1,
                .ack_ms = 200, .ack_tries = 3, .beat_ms = 100},
    };
}

static su_root_t *setup(void)
{
    ims_log_init("check_m3ua_link", IMS_LOG_ERROR, IMS_LOG_KV, "/dev/null");
    su_init();
    su_root_t *root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    return root;
}

START_TEST(up_data_beats_reconnect)
{
    su_root_t *root = setup();
    struct side s = {0}, a = {0};
    struct mgcf_m3ua_link *sgp, *asp;
    struct mgcf_m3ua_link_cfg sc = sgp_cfg("127.0.0.1");
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s, &sgp), 0);
    unsigned port = mgcf_m3ua_link_port(sgp);
    ck_assert_uint_gt(port, 0);
    struct mgcf_m3ua_link_cfg ac = asp_cfg(port);
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &ac, &ops, &a, &asp), 0);
    ck_assert(run_until(root, &a.state, MGCF_M3UA_ACTIVE));
    ck_assert_int_eq(s.state, MGCF_M3UA_ACTIVE);

    static const uint8_t rlc[] = {0x05, 0x00, 0x10, 0x00};
    ck_assert_int_eq(mgcf_m3ua_link_send(asp, 100, 200, M3UA_SI_ISUP, 2, 0, 5, rlc, 4), 0);
    for (int i = 0; i < 100 && s.data == 0; i++)
        su_root_step(root, 10);
    ck_assert_uint_eq(s.data, 1);
    ck_assert_uint_eq(s.opc, 100);
    ck_assert_mem_eq(s.last, rlc, 4);
    ck_assert_int_eq(mgcf_m3ua_link_send(sgp, 200, 100, M3UA_SI_ISUP, 2, 0, 5, rlc, 4), 0);
    for (int i = 0; i < 100 && a.data == 0; i++)
        su_root_step(root, 10);
    ck_assert_uint_eq(a.data, 1);

    /* heartbeats every 100 ms keep it up: until four BEATs went (each acknowledged within
     * the next, or the link drops), 5 s at most. Not a count in 550 ms of wall time: a
     * loaded machine delays the timers, and fewer BEATs fit */
    struct mgcf_m3ua_link_stats st;
    long end = now_ms() + 5000;
    do {
        run(root, 50, NULL, 0);
        mgcf_m3ua_link_stats(asp, &st);
    } while (st.tx_msgs < 7 && a.state == MGCF_M3UA_ACTIVE && now_ms() < end);
    ck_assert_int_eq(a.state, MGCF_M3UA_ACTIVE);
    ck_assert_uint_ge(st.tx_msgs, 7);       /* ASPUP, ASPAC, DATA, 4 BEATs */
    ck_assert_uint_eq(st.drops, 0);
    ck_assert_uint_eq(st.errors, 0);

    /* the SGP goes away (ASPDN is not sent by an SGP): the ASP drops, then comes back up
     * to a new SGP on the same port */
    mgcf_m3ua_link_destroy(sgp);
    ck_assert(run_until(root, &a.state, MGCF_M3UA_DOWN));
    struct side s2 = {0};
    sc.local_port = port;
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s2, &sgp), 0);
    ck_assert(run_until(root, &a.state, MGCF_M3UA_ACTIVE));
    mgcf_m3ua_link_stats(asp, &st);
    ck_assert_uint_eq(st.connects, 2);
    ck_assert_uint_eq(st.drops, 1);

    mgcf_m3ua_link_destroy(asp);            /* sends ASPDN: the SGP goes down */
    ck_assert(run_until(root, &s2.state, MGCF_M3UA_DOWN));
    mgcf_m3ua_link_destroy(sgp);
    su_root_destroy(root);
}
END_TEST

START_TEST(sgp_refuses_strangers_and_garbage)
{
    su_root_t *root = setup();
    struct side s = {0}, a = {0};
    struct mgcf_m3ua_link *sgp, *asp;
    struct mgcf_m3ua_link_cfg sc = sgp_cfg("127.0.0.2");   /* only 127.0.0.2 may connect */
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s, &sgp), 0);
    unsigned port = mgcf_m3ua_link_port(sgp);
    struct mgcf_m3ua_link_cfg ac = asp_cfg(port);          /* comes from 127.0.0.1 */
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &ac, &ops, &a, &asp), 0);
    run(root, 300, NULL, 0);
    ck_assert_int_eq(s.state, MGCF_M3UA_DOWN);
    ck_assert_int_eq(a.state, MGCF_M3UA_DOWN);
    mgcf_m3ua_link_destroy(asp);
    mgcf_m3ua_link_destroy(sgp);

    /* an HTTP request instead of M3UA: the SGP drops the connection */
    sc = sgp_cfg(NULL);
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s, &sgp), 0);
    port = mgcf_m3ua_link_port(sgp);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    char c;
    ssize_t n = -1;
    for (int i = 0; i < 100; i++) {
        su_root_step(root, 10);
        n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0)
            break;
    }
    ck_assert_int_eq(n, 0);                 /* closed by the SGP */
    close(fd);
    struct mgcf_m3ua_link_stats st;
    mgcf_m3ua_link_stats(sgp, &st);
    ck_assert_uint_eq(st.drops, 1);
    mgcf_m3ua_link_destroy(sgp);
    su_root_destroy(root);
}
END_TEST

START_TEST(config_refusals)
{
    su_root_t *root = setup();
    struct mgcf_m3ua_link *l;
    struct side x = {0};
    struct mgcf_m3ua_link_cfg c = asp_cfg(2905);
    c.transport = "udp";
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &c, &ops, &x, &l), -EINVAL);
    c = asp_cfg(2905);
    c.remote_addr = "not-an-address";
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &c, &ops, &x, &l), -EINVAL);
    c = asp_cfg(0);
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &c, &ops, &x, &l), -EINVAL);
    c = sgp_cfg(NULL);
    c.local_addr = NULL;
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &c, &ops, &x, &l), -EINVAL);
    ck_assert_ptr_null(l);
    su_root_destroy(root);
}
END_TEST

static bool kernel_has_sctp(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/*
 * transport sctp: where the kernel has SCTP, an ASP and an SGP come up over it and carry
 * DATA both ways (PPID 3, DATA on stream 1); where it has none (this project's CI), the
 * link is refused at once with -EPROTONOSUPPORT, nothing left open.
 */
START_TEST(over_sctp_or_refused)
{
    su_root_t *root = setup();
    struct side s = {0}, a = {0};
    struct mgcf_m3ua_link *sgp = NULL, *asp = NULL;
    struct mgcf_m3ua_link_cfg sc = sgp_cfg("127.0.0.1");
    sc.transport = "sctp";
    if (!kernel_has_sctp()) {
        struct mgcf_m3ua_link_cfg ac = asp_cfg(2905);
        ac.transport = "sctp";
        ck_assert_int_eq(mgcf_m3ua_link_create(root, &ac, &ops, &a, &asp), -EPROTONOSUPPORT);
        ck_assert_ptr_null(asp);
        ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s, &sgp), -EPROTONOSUPPORT);
        ck_assert_ptr_null(sgp);
        su_root_destroy(root);
        return;
    }
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &sc, &ops, &s, &sgp), 0);
    struct mgcf_m3ua_link_cfg ac = asp_cfg(mgcf_m3ua_link_port(sgp));
    ac.transport = "sctp";
    ck_assert_int_eq(mgcf_m3ua_link_create(root, &ac, &ops, &a, &asp), 0);
    ck_assert(run_until(root, &a.state, MGCF_M3UA_ACTIVE));
    static const uint8_t rlc[] = {0x05, 0x00, 0x10, 0x00};
    ck_assert_int_eq(mgcf_m3ua_link_send(asp, 100, 200, M3UA_SI_ISUP, 2, 0, 5, rlc, 4), 0);
    ck_assert_int_eq(mgcf_m3ua_link_send(sgp, 200, 100, M3UA_SI_ISUP, 2, 0, 5, rlc, 4), 0);
    for (int i = 0; i < 100 && (s.data == 0 || a.data == 0); i++)
        su_root_step(root, 10);
    ck_assert_uint_eq(s.data, 1);
    ck_assert_uint_eq(a.data, 1);
    ck_assert_mem_eq(s.last, rlc, 4);
    mgcf_m3ua_link_destroy(asp);
    ck_assert(run_until(root, &s.state, MGCF_M3UA_DOWN));
    mgcf_m3ua_link_destroy(sgp);
    su_root_destroy(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("m3ua_link");
    TCase *tc = tcase_create("m3ua_link");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, up_data_beats_reconnect);
    tcase_add_test(tc, sgp_refuses_strangers_and_garbage);
    tcase_add_test(tc, config_refusals);
    tcase_add_test(tc, over_sctp_or_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
