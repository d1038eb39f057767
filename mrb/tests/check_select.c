/*
 * check_select.c - the broker's choice of an MRF (mrb/select.c, mrb/pick.c) and its reading
 * of an MRF's status (mrb/poll.c): the configuration entries, load and capacity, the least
 * loaded first, full and down MRFs left out, a conference kept with its MRF, what was sent
 * since the last status counted
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mrb.h"

START_TEST(entries)
{
    struct mrb_mrf m;
    char err[200];
    ck_assert_int_eq(mrb_mrf_parse("127.0.0.60:5060=400", &m, err, sizeof(err)), 0);
    ck_assert_str_eq(m.host, "127.0.0.60");
    ck_assert_uint_eq(m.sip_port, 5060);
    ck_assert_uint_eq(m.capacity, 400);
    ck_assert_str_eq(m.name, "127.0.0.60:5060");
    ck_assert_int_eq(mrb_mrf_parse("10.1.2.3=7", &m, err, sizeof(err)), 0);
    ck_assert_uint_eq(m.sip_port, 5060);
    ck_assert_str_eq(m.name, "10.1.2.3:5060");
    const char *bad[] = { "127.0.0.60", "127.0.0.60=", "127.0.0.60=0", "127.0.0.60=-4",
                          "127.0.0.60:0=4", "127.0.0.60:70000=4", "=4", "mrf.example=4",
                          "127.0.0.60:5060=4x", "127.0.0.60:x=4" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(mrb_mrf_parse(bad[i], &m, err, sizeof(err)) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(mrb_check_mrf_item("127.0.0.1:5070=1", err, sizeof(err)), 0);
}
END_TEST

static void mrf(struct mrb_mrf *m, const char *item, bool up, unsigned sessions, unsigned max)
{
    char err[200];
    ck_assert_int_eq(mrb_mrf_parse(item, m, err, sizeof(err)), 0);
    m->up = up;
    m->sessions = sessions;
    m->max_sessions = max;
}

START_TEST(load_and_capacity)
{
    struct mrb_mrf m;
    mrf(&m, "127.0.0.60=400", true, 100, 0);
    ck_assert_uint_eq(mrb_capacity(&m), 400);
    ck_assert(mrb_load(&m) > 0.249 && mrb_load(&m) < 0.251);
    m.max_sessions = 200;             /* its status says fewer than configured */
    ck_assert_uint_eq(mrb_capacity(&m), 200);
    ck_assert(mrb_load(&m) > 0.499 && mrb_load(&m) < 0.501);
    m.sent = 100;                     /* sent since its status: counted */
    ck_assert(mrb_load(&m) >= 1.0);
}
END_TEST

START_TEST(least_loaded_first)
{
    struct mrb_mrf m[4];
    mrf(&m[0], "10.0.0.1=100", true, 50, 100);
    mrf(&m[1], "10.0.0.2=100", true, 10, 100);
    mrf(&m[2], "10.0.0.3=100", false, 0, 100);          /* down */
    mrf(&m[3], "10.0.0.4=10", true, 1, 10);             /* 10 %: as loaded as the 2nd */
    size_t order[4];
    ck_assert_uint_eq(mrb_select(m, 4, -1, order, 4), 3);
    ck_assert_uint_eq(order[0], 1);   /* 10 %, first in the configuration */
    ck_assert_uint_eq(order[1], 3);   /* 10 % */
    ck_assert_uint_eq(order[2], 0);   /* 50 % */
    ck_assert_uint_eq(mrb_select(m, 4, -1, order, 1), 1);
    ck_assert_uint_eq(order[0], 1);
    m[0].sessions = 100;              /* full: left out */
    ck_assert_uint_eq(mrb_select(m, 4, -1, order, 4), 2);
    for (size_t i = 0; i < 4; i++)
        m[i].up = false;
    ck_assert_uint_eq(mrb_select(m, 4, -1, order, 4), 0);
}
END_TEST

START_TEST(pinned_conference)
{
    struct mrb_mrf m[2];
    mrf(&m[0], "10.0.0.1=100", true, 90, 100);
    mrf(&m[1], "10.0.0.2=100", true, 0, 100);
    char *confs[] = { "room-1", "a+b", NULL };
    m[0].confs = confs;
    ck_assert(mrb_holds(&m[0], "room-1"));
    ck_assert(!mrb_holds(&m[0], "room-2"));
    ck_assert(!mrb_holds(&m[1], "room-1"));
    size_t order[2];
    /* the MRF that holds it, however loaded; nothing when it is down */
    ck_assert_uint_eq(mrb_select(m, 2, 0, order, 2), 1);
    ck_assert_uint_eq(order[0], 0);
    m[0].up = false;
    ck_assert_uint_eq(mrb_select(m, 2, 0, order, 2), 0);
    ck_assert_uint_eq(mrb_select(m, 2, 7, order, 2), 0);
    char id[80];
    ck_assert_str_eq(mrb_conf_of("conf=a%2Bb", id, sizeof(id)), "a+b");
    ck_assert_ptr_null(mrb_conf_of("conf=", id, sizeof(id)));
    ck_assert_ptr_null(mrb_conf_of("annc", id, sizeof(id)));
    ck_assert_ptr_null(mrb_conf_of(NULL, id, sizeof(id)));
}
END_TEST

static struct mrb b;

static void setup(void)
{
    ims_log_init("check_select", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    memset(&b, 0, sizeof(b));
    pthread_mutex_init(&b.lock, NULL);
    b.affinity = ims_map_create(false);
    b.affinity_s = 60;
    b.m_up = ims_gauge_new("check_mrb_up", "test", NULL);
    char err[200];
    ck_assert_int_eq(mrb_mrf_parse("10.0.0.1=100", &b.mrfs[0], err, sizeof(err)), 0);
    ck_assert_int_eq(mrb_mrf_parse("10.0.0.2=100", &b.mrfs[1], err, sizeof(err)), 0);
    b.n = 2;
}

static void free_pin(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

static void teardown(void)
{
    for (size_t i = 0; i < b.n; i++) {
        for (char **c = b.mrfs[i].confs; c && *c; c++)
            free(*c);
        free(b.mrfs[i].confs);
    }
    ims_map_foreach(b.affinity, free_pin, NULL);
    ims_map_destroy(b.affinity);
}

static void take(size_t i, int status, const char *json)
{
    mrb_status_take(&b, i, status, json, strlen(json));
}

START_TEST(status_documents)
{
    take(0, 200, "{\"name\":\"mrfc\",\"sessions\":3,\"max_sessions\":50,\"legs\":3,"
                 "\"channels\":0,\"conferences\":[\"room-1\"],\"state\":\"running\"}");
    ck_assert(b.mrfs[0].up);
    ck_assert_uint_eq(b.mrfs[0].sessions, 3);
    ck_assert_uint_eq(mrb_capacity(&b.mrfs[0]), 50);
    ck_assert(mrb_holds(&b.mrfs[0], "room-1"));
    /* what was sent since counts until the next status */
    mrb_note_sent(&b, 0, NULL);
    mrb_note_sent(&b, 0, NULL);
    ck_assert_uint_eq(b.mrfs[0].sent, 2);
    take(0, 200, "{\"sessions\":5,\"max_sessions\":50,\"conferences\":[],\"state\":\"running\"}");
    ck_assert_uint_eq(b.mrfs[0].sent, 0);
    ck_assert(!mrb_holds(&b.mrfs[0], "room-1"));
    /* not usable: down */
    const char *bad[] = { "not json", "{\"sessions\":5,\"max_sessions\":50,\"state\":\"stopping\"}",
                          "{\"sessions\":-1,\"max_sessions\":50,\"state\":\"running\"}",
                          "{\"max_sessions\":50,\"state\":\"running\"}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        take(0, 200, "{\"sessions\":1,\"max_sessions\":50,\"state\":\"running\"}");
        ck_assert(b.mrfs[0].up);
        take(0, 200, bad[i]);
        ck_assert_msg(!b.mrfs[0].up, "%s", bad[i]);
    }
    take(1, 403, "{\"error\":\"no\"}");
    ck_assert(!b.mrfs[1].up);
    ck_assert(b.mrfs[1].warned);
}
END_TEST

START_TEST(affinity)
{
    take(0, 200, "{\"sessions\":0,\"max_sessions\":50,\"conferences\":[\"old\"],"
                 "\"state\":\"running\"}");
    take(1, 200, "{\"sessions\":0,\"max_sessions\":50,\"conferences\":[],\"state\":\"running\"}");
    ck_assert_int_eq(mrb_pinned(&b, "old"), 0);
    ck_assert_int_eq(mrb_pinned(&b, "new"), -1);
    ck_assert_int_eq(mrb_pinned(&b, NULL), -1);
    /* the first party of "new" went to the second MRF: the next ones follow it */
    mrb_note_sent(&b, 1, "new");
    ck_assert_int_eq(mrb_pinned(&b, "new"), 1);
    b.affinity_s = 0;
    mrb_pins_expire(&b);              /* (the pin is 0 s old: kept) */
    ck_assert_int_eq(mrb_pinned(&b, "new"), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mrb_select");
    TCase *tc = tcase_create("select");
    tcase_add_test(tc, entries);
    tcase_add_test(tc, load_and_capacity);
    tcase_add_test(tc, least_loaded_first);
    tcase_add_test(tc, pinned_conference);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("status");
    tcase_add_checked_fixture(st, setup, teardown);
    tcase_add_test(st, status_documents);
    tcase_add_test(st, affinity);
    suite_add_tcase(s, st);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
