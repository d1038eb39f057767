/*
 * check_admission.c - the SIP side of admission control (common/admission.c) on parsed
 * messages: which requests are new work or priority, our Via offering RFC 7339, the oc
 * parameters a server adds to a client's Via, and what a client keeps from them
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>

#include "admission.h"
#include "log.h"
#include "metrics.h"

static msg_t *parse(const char *text)
{
    msg_t *m = msg_make(sip_default_mclass(), 0, text, (isize_t)strlen(text));
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(sip_object(m));
    return m;
}

static msg_t *request(const char *method, const char *ruri, const char *to_tag,
                      const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "%s %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.120:5060;branch=z9hG4bK1\r\n"
             "From: <sip:alice@ims.test>;tag=a\r\n"
             "To: <sip:bob@ims.test>%s%s\r\n"
             "Call-ID: c1\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n",
             method, ruri, to_tag ? ";tag=" : "", to_tag ? to_tag : "", method,
             extra ? extra : "");
    return parse(text);
}

static bool new_work(const char *method, const char *to_tag)
{
    msg_t *m = request(method, "sip:bob@ims.test", to_tag, NULL);
    bool r = ims_admission_new_work(sip_object(m));
    msg_destroy(m);
    return r;
}

START_TEST(new_work_is_outside_dialogs)
{
    ck_assert(new_work("INVITE", NULL));
    ck_assert(new_work("REGISTER", NULL));
    ck_assert(new_work("MESSAGE", NULL));
    ck_assert(new_work("SUBSCRIBE", NULL));
    ck_assert(new_work("OPTIONS", NULL));
    /* never refused: within a dialog (re-INVITE, BYE, NOTIFY ...), ACK, CANCEL */
    ck_assert(!new_work("INVITE", "b1"));
    ck_assert(!new_work("BYE", "b1"));
    ck_assert(!new_work("NOTIFY", "b1"));
    ck_assert(!new_work("ACK", NULL));
    ck_assert(!new_work("CANCEL", NULL));
}
END_TEST

START_TEST(emergency_and_challenge_answers_are_priority)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    ck_assert(ims_admission_is_emergency(url_make(home, "urn:service:sos")));
    su_home_deinit(home);
    msg_t *m = request("INVITE", "urn:service:sos.police", NULL, NULL);
    ck_assert(ims_admission_is_emergency(sip_object(m)->sip_request->rq_url));
    msg_destroy(m);
    m = request("INVITE", "urn:service:sosx", NULL, NULL);
    ck_assert(!ims_admission_is_emergency(sip_object(m)->sip_request->rq_url));
    msg_destroy(m);
    m = request("INVITE", "sip:sos@ims.test", NULL, NULL);
    ck_assert(!ims_admission_is_emergency(sip_object(m)->sip_request->rq_url));
    msg_destroy(m);
    /* the REGISTER that answers a challenge continues work already taken */
    m = request("REGISTER", "sip:ims.test", NULL,
                "Authorization: Digest username=\"a@ims.test\", realm=\"ims.test\", "
                "uri=\"sip:ims.test\", nonce=\"abc\", response=\"0123456789abcdef\"\r\n");
    ck_assert(ims_admission_continues(sip_object(m)));
    msg_destroy(m);
    /* ... not the first one, whose response is empty (TS 24.229 5.1.1.2) */
    m = request("REGISTER", "sip:ims.test", NULL,
                "Authorization: Digest username=\"a@ims.test\", realm=\"ims.test\", "
                "uri=\"sip:ims.test\", nonce=\"\", response=\"\"\r\n");
    ck_assert(!ims_admission_continues(sip_object(m)));
    msg_destroy(m);
    m = request("MESSAGE", "sip:bob@ims.test", NULL,
                "Authorization: Digest username=\"a\", response=\"01\"\r\n");
    ck_assert(!ims_admission_continues(sip_object(m)));
    msg_destroy(m);
}
END_TEST

START_TEST(hop_keys_only_for_addresses)
{
    char k[64];
    su_home_t home[1] = { SU_HOME_INIT(home) };
    ck_assert(ims_admission_hop_key(url_make(home, "sip:127.0.0.30:5060;lr"), k, sizeof(k)));
    ck_assert_str_eq(k, "127.0.0.30:5060");
    ck_assert(ims_admission_hop_key(url_make(home, "sip:bob@127.0.0.20"), k, sizeof(k)));
    ck_assert_str_eq(k, "127.0.0.20:5060");
    ck_assert(ims_admission_hop_key(url_make(home, "sips:[::1]"), k, sizeof(k)));
    ck_assert_str_eq(k, "[::1]:5061");
    /* a name is resolved by DNS, whose answers may vary: no overload control */
    ck_assert(!ims_admission_hop_key(url_make(home, "sip:scscf.ims.test;lr"), k, sizeof(k)));
    su_home_deinit(home);
}
END_TEST

static const struct ims_admission_conf conf_on = {
    .enabled = true, .target_delay_ms = 20, .max_rate = 2, .min_rate = 1, .retry_after = 5,
    .max_transactions = 100, .oc = true, .oc_validity_ms = 1500,
};

START_TEST(the_offer_in_our_via)
{
    struct ims_admission *a = ims_admission_create(&conf_on);
    su_home_t home[1] = { SU_HOME_INIT(home) };
    msg_t *m = request("INVITE", "sip:bob@ims.test", NULL, NULL);
    sip_t *sip = sip_object(m);
    ck_assert(ims_admission_offer(a, m, sip, url_make(home, "sip:127.0.0.30;transport=tcp"),
                                  "127.0.0.10", 5060));
    char v[256];
    sip_header_field_e(v, sizeof(v), (sip_header_t *)sip->sip_via, 0);
    ck_assert_str_eq(v, "SIP/2.0/TCP 127.0.0.10:5060;oc;oc-algo=\"loss\"");
    ck_assert_ptr_nonnull(sip->sip_via->v_next);   /* on top of the UE's */
    msg_destroy(m);
    su_home_deinit(home);
    ims_admission_destroy(a);
}
END_TEST

static msg_t *response_to_client(const char *via_params)
{
    char text[512];
    snprintf(text, sizeof(text),
             "SIP/2.0 200 OK\r\n"
             "Via: SIP/2.0/UDP 127.0.0.20:5060;branch=z9hG4bK2%s\r\n"
             "From: <sip:alice@ims.test>;tag=a\r\nTo: <sip:bob@ims.test>;tag=b\r\n"
             "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n", via_params);
    return parse(text);
}

START_TEST(server_asks_clients_that_offer_while_refusing)
{
    /* a bucket that refills one token in 10 s: at 2/s, eleven checks slower than 500 ms
     * (a loaded machine) found a new token and the eleventh was admitted */
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0.1;
    c.min_rate = 0.1;
    struct ims_admission *a = ims_admission_create(&c);
    msg_t *m = response_to_client(";oc;oc-algo=\"loss,A\"");
    sip_t *sip = sip_object(m);
    ck_assert(ims_admission_oc_offered(a, sip));
    /* the requests of client I (which offers oc in its Via) */
    const char *icscf = "127.0.0.20:5060/udp";
    msg_t *req = request("REGISTER", "sip:ims.test", NULL, NULL);
    sip_t *rq = sip_object(req);
    sip_via_t *via = sip_via_make(msg_home(req), "SIP/2.0/UDP 127.0.0.20;oc");
    msg_header_insert(req, (msg_pub_t *)rq, (msg_header_t *)via);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_PRIORITY, rq, icscf));
    /* nothing refused yet: nothing to ask */
    ims_admission_stamp(a, m, sip, icscf);
    struct ims_oc_via o;
    ims_oc_via_parse(sip->sip_via->v_params, &o);
    ck_assert(!o.has_value);
    /* the bucket (5 deep, priority overdraws 5 more) refuses the 11th at once */
    for (int i = 0; i < 9; i++)
        ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_PRIORITY, rq, icscf));
    const char *why = ims_admission_check(a, IMS_LOAD_PRIORITY, rq, icscf);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "overloaded"));
    /* another client, whose requests were all taken, is asked nothing */
    ims_admission_stamp(a, m, sip, "127.0.0.10:5060/udp");
    ims_oc_via_parse(sip->sip_via->v_params, &o);
    ck_assert(!o.has_value);
    ims_admission_stamp(a, m, sip, icscf);
    char v[256];
    sip_header_field_e(v, sizeof(v), (sip_header_t *)sip->sip_via, 0);
    ck_assert(ims_oc_via_parse(sip->sip_via->v_params, &o));
    ck_assert(o.has_value && o.value > 0 && o.loss && o.has_seq);
    ck_assert_uint_eq(o.validity_ms, 1500);
    ck_assert_ptr_nonnull(strstr(v, ";oc-validity=1500;oc-seq="));
    ck_assert_ptr_nonnull(strstr(v, ";oc-algo=\"loss\""));
    msg_destroy(m);
    /* a client that did not offer gets nothing */
    m = response_to_client("");
    ck_assert(!ims_admission_oc_offered(a, sip_object(m)));
    msg_destroy(m);
    msg_destroy(req);
    ims_admission_destroy(a);
}
END_TEST

START_TEST(client_keeps_what_its_next_hop_asks)
{
    struct ims_admission *a = ims_admission_create(&conf_on);
    msg_t *m = response_to_client(";oc=50;oc-algo=\"loss\";oc-validity=60000;oc-seq=12.5");
    ims_admission_learn(a, "127.0.0.30:5060", sip_object(m));
    msg_destroy(m);
    int dropped = 0;
    for (int i = 0; i < 10; i++)
        dropped += ims_admission_throttle(a, "127.0.0.30:5060", NULL);
    ck_assert_int_eq(dropped, 5);
    ck_assert(!ims_admission_throttle(a, "127.0.0.20:5060", NULL));
    /* turned off: nothing is kept or dropped */
    struct ims_admission_conf off = conf_on;
    off.oc = false;
    struct ims_admission *b = ims_admission_create(&off);
    m = response_to_client(";oc=100;oc-validity=60000;oc-seq=12.5");
    ims_admission_learn(b, "127.0.0.30:5060", sip_object(m));
    msg_destroy(m);
    ck_assert(!ims_admission_throttle(b, "127.0.0.30:5060", NULL));
    ims_admission_destroy(b);
    ims_admission_destroy(a);
}
END_TEST

START_TEST(transactions_in_flight_are_bounded)
{
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0;
    c.max_transactions = 10;
    struct ims_admission *a = ims_admission_create(&c);
    ims_admission_tx(a, 10);
    ck_assert_ptr_nonnull(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    /* priority work has 10 % more room */
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_PRIORITY, NULL, NULL));
    ims_admission_tx(a, -1);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ims_admission_destroy(a);
}
END_TEST

static uint64_t fake_waited_us;
static uint64_t read_fake_waited(void)
{
    return fake_waited_us;
}

/* A request that waited past overload.max_wait_ms in its socket is refused whatever the
 * bucket allows (an unlimited one here); priority work is not; 0 turns the bound off */
START_TEST(a_request_that_waited_too_long_is_refused)
{
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0;
    c.max_wait_ms = 100;
    c.waited_us = read_fake_waited;
    struct ims_admission *a = ims_admission_create(&c);
    fake_waited_us = 99000;
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    fake_waited_us = 150000;
    const char *why = ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "waited too long"));
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_PRIORITY, NULL, NULL));
    ims_admission_destroy(a);
    c.max_wait_ms = 0;
    a = ims_admission_create(&c);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ims_admission_destroy(a);
}
END_TEST

static size_t fake_heap;
static unsigned fake_reads;
static size_t read_fake_heap(void)
{
    fake_reads++;
    return fake_heap;
}

START_TEST(heap_in_use_is_bounded)
{
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0;
    c.max_heap_mb = 10;
    c.heap_bytes = read_fake_heap;
    fake_heap = 10 * 1048576 + 524288;
    struct ims_admission *a = ims_admission_create(&c);
    const char *why = ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "memory"));
    /* priority work has 10 % more room */
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_PRIORITY, NULL, NULL));
    fake_heap = 12 * 1048576;
    usleep(120000);   /* the heap is read again after 100 ms near the bound */
    ck_assert_ptr_nonnull(ims_admission_check(a, IMS_LOAD_PRIORITY, NULL, NULL));
    fake_heap = 9 * 1048576;
    usleep(120000);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ims_admission_destroy(a);
}
END_TEST

/* 1 MB of a 2 GB bound: not read again within a second (a reading every second cost the
 * P-CSCF's loop 30 ms a second at a 250 MB heap); 1000 MB of 1024: read again within 250 ms */
START_TEST(heap_far_below_the_bound_is_read_seldom)
{
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0;
    c.max_heap_mb = 2048;
    c.heap_bytes = read_fake_heap;
    fake_heap = 1048576;
    fake_reads = 0;
    struct ims_admission *a = ims_admission_create(&c);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    usleep(1100000);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ck_assert_uint_eq(fake_reads, 1);
    ims_admission_destroy(a);

    c.max_heap_mb = 1024;
    fake_heap = (size_t)1000 << 20;
    fake_reads = 0;
    a = ims_admission_create(&c);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    usleep(250000);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ck_assert_uint_eq(fake_reads, 2);
    ims_admission_destroy(a);
}
END_TEST

/* glibc's own counts: not under ASan, whose allocator glibc does not see */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
START_TEST(heap_bound_reads_malloc)
{
    struct mallinfo2 mi = mallinfo2();
    struct ims_admission_conf c = conf_on;
    c.max_rate = 0;
    c.max_heap_mb = (unsigned)((mi.uordblks + mi.hblkhd) >> 20) + 8;
    struct ims_admission *a = ims_admission_create(&c);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    char *big = malloc(32u << 20);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 32u << 20);
    usleep(1100000);   /* 8 MB from the bound: read again after 100 ms */
    ck_assert_ptr_nonnull(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    free(big);
    usleep(120000);
    ck_assert_ptr_null(ims_admission_check(a, IMS_LOAD_NORMAL, NULL, NULL));
    ims_admission_destroy(a);
}
END_TEST
#endif

int main(void)
{
    ims_log_init("check_admission", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    Suite *s = suite_create("admission");
    TCase *tc = tcase_create("admission");
    tcase_add_test(tc, new_work_is_outside_dialogs);
    tcase_add_test(tc, emergency_and_challenge_answers_are_priority);
    tcase_add_test(tc, hop_keys_only_for_addresses);
    tcase_add_test(tc, the_offer_in_our_via);
    tcase_add_test(tc, server_asks_clients_that_offer_while_refusing);
    tcase_add_test(tc, client_keeps_what_its_next_hop_asks);
    tcase_add_test(tc, transactions_in_flight_are_bounded);
    tcase_add_test(tc, a_request_that_waited_too_long_is_refused);
    tcase_add_test(tc, heap_in_use_is_bounded);
    tcase_add_test(tc, heap_far_below_the_bound_is_read_seldom);
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    tcase_add_test(tc, heap_bound_reads_malloc);
#endif
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ims_metrics_fini();
    su_deinit();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
