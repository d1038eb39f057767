/*
 * check_doic.c - RFC 7683 report state, throttle decision and reduction (common/doic.c),
 * with the clock as a parameter
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "doic.h"

#define HSS "hss.ims.mnc001.mcc001.3gppnetwork.org"

static struct ims_doic_olr olr(uint64_t seq, uint32_t red, uint32_t validity)
{
    return (struct ims_doic_olr){ .seq = seq, .type = IMS_DOIC_REPORT_HOST, .reduction = red,
                                  .has_reduction = true, .validity_s = validity,
                                  .has_validity = true };
}

START_TEST(report_taken_and_expires)
{
    struct ims_doic_client c = { 0 };
    struct ims_doic_olr o = olr(5, 30, 5);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &o, 1000), 1);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 1000), 30);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 5999), 30);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 6000), 0);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, "other", 1000), 0);
}
END_TEST

START_TEST(newer_sequence_wins)
{
    struct ims_doic_client c = { 0 };
    struct ims_doic_olr a = olr(5, 30, 5), same = olr(5, 30, 5), old = olr(4, 80, 5);
    struct ims_doic_olr newer = olr(6, 50, 5);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &a, 0), 1);
    /* the same report again does not restart its validity */
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &same, 4000), 0);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 5000), 0);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &old, 5000), 0);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 5000), 0);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &newer, 5000), 1);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 5000), 50);
}
END_TEST

START_TEST(zero_ends_report)
{
    struct ims_doic_client c = { 0 };
    struct ims_doic_olr a = olr(1, 40, 30), z = olr(2, 0, 30), b = olr(3, 40, 30);
    struct ims_doic_olr v0 = olr(4, 40, 0);
    ims_doic_client_update(&c, HSS, &a, 0);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &z, 10), 1);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 10), 0);
    ims_doic_client_update(&c, HSS, &b, 20);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 20), 40);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &v0, 30), 1);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 30), 0);
}
END_TEST

START_TEST(defaults_and_bad_values)
{
    struct ims_doic_client c = { 0 };
    struct ims_doic_olr o = { .seq = 1, .type = IMS_DOIC_REPORT_HOST, .reduction = 20,
                              .has_reduction = true };
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &o, 0), 1);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 29999), 20);   /* 30 s default */
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 30000), 0);
    struct ims_doic_olr big = olr(2, 101, 5), realm = olr(3, 50, 5);
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &big, 0), -EINVAL);
    realm.type = IMS_DOIC_REPORT_REALM;
    ck_assert_int_eq(ims_doic_client_update(&c, HSS, &realm, 0), 0);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 0), 20);
    struct ims_doic_olr huge = olr(4, 20, 1000000);
    ims_doic_client_update(&c, HSS, &huge, 0);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 86399999), 20);
    ck_assert_uint_eq(ims_doic_client_reduction(&c, HSS, 86400000), 0);
}
END_TEST

START_TEST(throttle_spreads_evenly)
{
    struct ims_doic_client c = { 0 };
    struct ims_doic_olr o = olr(1, 30, 60);
    ims_doic_client_update(&c, HSS, &o, 0);
    unsigned dropped = 0, run = 0, max_run = 0;
    for (int i = 0; i < 1000; i++) {
        if (ims_doic_client_throttle(&c, HSS, (uint64_t)i)) {
            dropped++;
            run++;
            max_run = run > max_run ? run : max_run;
        } else {
            run = 0;
        }
    }
    ck_assert_uint_eq(dropped, 300);
    ck_assert_uint_eq(max_run, 1);      /* never two in a row at 30 % */
    ck_assert(!ims_doic_client_throttle(&c, "other", 0));
    ck_assert(!ims_doic_client_throttle(&c, HSS, 60000));   /* expired */
}
END_TEST

START_TEST(reduction_from_queue)
{
    ck_assert_uint_eq(ims_doic_reduction(0, 100, 0, 500, 50), 0);
    ck_assert_uint_eq(ims_doic_reduction(50, 100, 0, 500, 50), 0);
    ck_assert_uint_eq(ims_doic_reduction(51, 100, 0, 500, 50), 10);
    ck_assert_uint_eq(ims_doic_reduction(75, 100, 0, 500, 50), 50);
    ck_assert_uint_eq(ims_doic_reduction(100, 100, 0, 500, 50), IMS_DOIC_MAX_REDUCTION);
    ck_assert_uint_eq(ims_doic_reduction(500, 100, 0, 500, 50), IMS_DOIC_MAX_REDUCTION);
    /* the wait of the requests taken counts the same way; the larger wins */
    ck_assert_uint_eq(ims_doic_reduction(0, 100, 375, 500, 50), 50);
    ck_assert_uint_eq(ims_doic_reduction(60, 100, 500, 500, 50), IMS_DOIC_MAX_REDUCTION);
}
END_TEST

START_TEST(server_rises_falls_and_ends)
{
    struct ims_doic_server s;
    struct ims_doic_olr o;
    ims_doic_server_init(&s, 100, 500, 50, 5, 1000, 0);
    ims_doic_server_observe(&s, 10, 0, 100);
    ck_assert(!ims_doic_server_report(&s, 100, &o));
    ims_doic_server_observe(&s, 100, 0, 200);            /* full: at once */
    ck_assert(ims_doic_server_report(&s, 200, &o));
    ck_assert_uint_eq(o.reduction, IMS_DOIC_MAX_REDUCTION);
    ck_assert_uint_eq(o.seq, 1001);
    ck_assert_uint_eq(o.validity_s, 5);
    ck_assert_int_eq(o.type, IMS_DOIC_REPORT_HOST);
    ims_doic_server_observe(&s, 0, 0, 1100);              /* period 1 closed at peak 100 */
    ck_assert(ims_doic_server_report(&s, 1100, &o));
    ck_assert_uint_eq(o.reduction, IMS_DOIC_MAX_REDUCTION);
    ims_doic_server_observe(&s, 0, 0, 2100);              /* a calm period: one step down */
    ims_doic_server_report(&s, 2100, &o);
    ck_assert_uint_eq(o.reduction, IMS_DOIC_MAX_REDUCTION - IMS_DOIC_STEP_DOWN);
    ck_assert_uint_eq(o.seq, 1002);
    ims_doic_server_observe(&s, 0, 0, 9100);              /* silent periods count calm */
    ck_assert(ims_doic_server_report(&s, 9100, &o));
    ck_assert_uint_eq(o.reduction, 0);                    /* the report that ends it */
    ck_assert_uint_eq(o.seq, 1003);
    ck_assert(ims_doic_server_report(&s, 14099, &o));
    ck_assert(!ims_doic_server_report(&s, 14100, &o));    /* a validity later: none */
}
END_TEST

/* A burst, then silence: the first answer after it asks for nothing (the period of the
 * burst closes with its peak, every later one counts as calm) */
START_TEST(server_silence_is_calm)
{
    struct ims_doic_server s;
    struct ims_doic_olr o;
    ims_doic_server_init(&s, 40, 500, 50, 5, 1, 0);
    ims_doic_server_observe(&s, 40, 0, 900);
    ck_assert_uint_eq(s.reduction, IMS_DOIC_MAX_REDUCTION);
    ims_doic_server_tick(&s, 1000);                       /* its period: the peak holds */
    ck_assert_uint_eq(s.reduction, IMS_DOIC_MAX_REDUCTION);
    ims_doic_server_tick(&s, 3000);                       /* two calm periods */
    ck_assert_uint_eq(s.reduction, IMS_DOIC_MAX_REDUCTION - 2 * IMS_DOIC_STEP_DOWN);
    ims_doic_server_observe(&s, 0, 0, 10000);
    ck_assert(ims_doic_server_report(&s, 10000, &o));
    ck_assert_uint_eq(o.reduction, 0);
}
END_TEST

/* The wait counts by its mean over a period: one stalled request starts nothing */
START_TEST(server_wait_by_period_mean)
{
    struct ims_doic_server s;
    ims_doic_server_init(&s, 1000, 500, 50, 5, 1, 0);
    ims_doic_server_observe(&s, 0, 500, 10);
    ck_assert_uint_eq(s.reduction, 0);                    /* not at once */
    for (int i = 0; i < 9; i++)
        ims_doic_server_observe(&s, 0, 1, 20 + (uint64_t)i);
    ims_doic_server_tick(&s, 1000);                       /* mean 50 ms: calm */
    ck_assert_uint_eq(s.reduction, 0);
    for (int i = 0; i < 10; i++)
        ims_doic_server_observe(&s, 0, 375, 1100 + (uint64_t)i);
    ims_doic_server_tick(&s, 2000);                       /* mean 375 ms: half way */
    ck_assert_uint_eq(s.reduction, 50);
}
END_TEST

START_TEST(server_renews_before_validity)
{
    struct ims_doic_server s;
    struct ims_doic_olr o;
    ims_doic_server_init(&s, 100, 500, 50, 4, 7, 0);
    ims_doic_server_observe(&s, 100, 0, 0);
    ims_doic_server_report(&s, 0, &o);
    uint64_t seq = o.seq;
    ims_doic_server_observe(&s, 100, 0, 1999);
    ims_doic_server_report(&s, 1999, &o);
    ck_assert_uint_eq(o.seq, seq);
    ims_doic_server_observe(&s, 100, 0, 2000);            /* half the validity: renewed */
    ims_doic_server_report(&s, 2000, &o);
    ck_assert_uint_eq(o.seq, seq + 1);
    ck_assert_uint_eq(o.reduction, IMS_DOIC_MAX_REDUCTION);
}
END_TEST

/* The attacker: a report from a peer other than the one the request went to, or one
 * naming another host than its connection, is not taken */
START_TEST(trust_by_connection)
{
    ck_assert(ims_doic_trusted(HSS, HSS, HSS));
    ck_assert(ims_doic_trusted("", HSS, HSS));                  /* sent by realm */
    ck_assert(ims_doic_trusted(HSS, HSS, "HSS.ims.mnc001.mcc001.3gppnetwork.org"));
    ck_assert(!ims_doic_trusted(HSS, "evil.example", "evil.example"));
    ck_assert(!ims_doic_trusted(HSS, "evil.example", HSS));     /* claims to be the HSS */
    ck_assert(!ims_doic_trusted("", "evil.example", HSS));
    ck_assert(!ims_doic_trusted(HSS, "", HSS));                 /* not from a peer */
    ck_assert(!ims_doic_trusted(HSS, HSS, ""));
}
END_TEST

static Suite *doic_suite(void)
{
    Suite *s = suite_create("doic");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, report_taken_and_expires);
    tcase_add_test(tc, newer_sequence_wins);
    tcase_add_test(tc, zero_ends_report);
    tcase_add_test(tc, defaults_and_bad_values);
    tcase_add_test(tc, throttle_spreads_evenly);
    tcase_add_test(tc, reduction_from_queue);
    tcase_add_test(tc, server_rises_falls_and_ends);
    tcase_add_test(tc, server_renews_before_validity);
    tcase_add_test(tc, trust_by_connection);
    tcase_add_test(tc, server_silence_is_calm);
    tcase_add_test(tc, server_wait_by_period_mean);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(doic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
