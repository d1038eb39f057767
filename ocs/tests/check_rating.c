/*
 * check_rating.c - destinations, services, the choice of a rate, and rate documents
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ocs.h"

START_TEST(destination_of_addresses)
{
    char d[64];
    ocs_rating_destination("tel:+15550100002", d, sizeof(d));
    ck_assert_str_eq(d, "+15550100002");
    ocs_rating_destination("sip:+19995551234@ims.example.org;user=phone", d, sizeof(d));
    ck_assert_str_eq(d, "+19995551234");
    ocs_rating_destination("sip:bob@ims.example.org;transport=tcp", d, sizeof(d));
    ck_assert_str_eq(d, "bob@ims.example.org");
    ocs_rating_destination("<sips:carol@example.org>", d, sizeof(d));
    ck_assert_str_eq(d, "<sips:carol@example.org");   /* no scheme first: kept as is */
    ocs_rating_destination(NULL, d, sizeof(d));
    ck_assert_str_eq(d, "");
}
END_TEST

START_TEST(service_of_requests)
{
    char s[32];
    ocs_rating_service("INVITE", true, s, sizeof(s));
    ck_assert_str_eq(s, "voice");
    ocs_rating_service("MESSAGE", false, s, sizeof(s));
    ck_assert_str_eq(s, "message");
    ocs_rating_service("", true, s, sizeof(s));
    ck_assert_str_eq(s, "voice");
    ocs_rating_service(NULL, false, s, sizeof(s));
    ck_assert_str_eq(s, "event");
}
END_TEST

START_TEST(most_specific_rate_wins)
{
    struct ocs_rate r[] = {
        { 1, "voice", "", OCS_UNIT_SECOND, 1, "" },
        { 2, "voice", "+1999", OCS_UNIT_SECOND, 5, "" },
        { 3, "voice", "+19995", OCS_UNIT_SECOND, 7, "" },
        { 4, "*", "+44", OCS_UNIT_SECOND, 9, "" },
        { 5, "message", "", OCS_UNIT_EVENT, 10, "" },
    };
    size_t n = sizeof(r) / sizeof(r[0]);
    ck_assert_int_eq(ocs_rating_pick(r, n, "voice", "+15550100002")->id, 1);
    ck_assert_int_eq(ocs_rating_pick(r, n, "voice", "+19990000")->id, 2);
    ck_assert_int_eq(ocs_rating_pick(r, n, "voice", "+19995000")->id, 3);
    /* an exact service beats "*", even with a shorter prefix */
    ck_assert_int_eq(ocs_rating_pick(r, n, "voice", "+4420")->id, 1);
    ck_assert_int_eq(ocs_rating_pick(r, n, "video", "+4420")->id, 4);
    ck_assert_ptr_null(ocs_rating_pick(r, n, "video", "+15550100002"));
    ck_assert_int_eq(ocs_rating_pick(r, n, "message", "bob@x")->id, 5);
}
END_TEST

START_TEST(database_lookup_matches_pure_choice)
{
    char path[] = "/tmp/check-rating-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    struct ims_db *db;
    ck_assert_int_eq(ims_db_open(&db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    struct ocs_rate r[] = {
        { 0, "voice", "", OCS_UNIT_SECOND, 1, "" },
        { 0, "voice", "+1999", OCS_UNIT_SECOND, 5, "" },
        { 0, "*", "+44", OCS_UNIT_SECOND, 9, "" },
    };
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(ocs_rate_put(db, &r[i]), 0);
    struct ocs_rate dup = r[1];
    dup.id = 0;
    ck_assert_int_eq(ocs_rate_put(db, &dup), -EEXIST);
    const char *dests[] = { "+1999123", "+1555", "+44207", "x" };
    const char *services[] = { "voice", "video" };
    for (size_t s = 0; s < 2; s++) {
        for (size_t d = 0; d < 4; d++) {
            struct ocs_rate got;
            const struct ocs_rate *want = ocs_rating_pick(r, 3, services[s], dests[d]);
            int rc = ocs_rating_find(db, services[s], dests[d], &got);
            if (!want) {
                ck_assert_int_eq(rc, -ENOENT);
                continue;
            }
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(got.id, want->id);
        }
    }
    ims_db_close(db);
    unlink(path);
}
END_TEST

START_TEST(rate_documents)
{
    char field[32], err[200];
    struct ocs_rate r;
    json_t *ok = json_pack("{s:s, s:s, s:s, s:i}", "service", "voice", "prefix", "+1999",
                           "unit", "second", "price", 5);
    ck_assert_int_eq(ocs_rate_from_json(ok, &r, field, sizeof(field), err, sizeof(err)), 0);
    ck_assert_str_eq(r.prefix, "+1999");
    ck_assert_int_eq(r.price, 5);
    json_decref(ok);
    const struct {
        const char *doc;
        const char *field;
    } bad[] = {
        { "{\"prefix\":\"\",\"unit\":\"second\",\"price\":1}", "service" },
        { "{\"service\":\"Voice\",\"unit\":\"second\",\"price\":1}", "service" },
        { "{\"service\":\"voice\",\"unit\":\"minute\",\"price\":1}", "unit" },
        { "{\"service\":\"voice\",\"unit\":\"second\",\"price\":-1}", "price" },
        { "{\"service\":\"voice\",\"unit\":\"second\",\"price\":1.5}", "price" },
        { "{\"service\":\"voice\",\"unit\":\"second\",\"price\":1,\"prefix\":\"a b\"}",
          "prefix" },
        { "{\"service\":\"voice\",\"unit\":\"second\",\"price\":1,\"colour\":\"red\"}",
          "colour" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = json_loads(bad[i].doc, 0, NULL);
        ck_assert_ptr_nonnull(doc);
        ck_assert_int_eq(ocs_rate_from_json(doc, &r, field, sizeof(field), err, sizeof(err)),
                         -EINVAL);
        ck_assert_str_eq(field, bad[i].field);
        json_decref(doc);
    }
}
END_TEST

START_TEST(account_documents)
{
    char field[64], err[200];
    const struct {
        const char *doc;
        bool create;
        const char *field;    /* NULL: valid */
    } cases[] = {
        { "{\"name\":\"alice\",\"type\":\"prepaid\",\"balance\":10,"
          "\"identities\":[\"sip:alice@x.org\",\"tel:+1555\"]}", true, NULL },
        { "{\"identities\":[\"sip:alice@x.org\"]}", false, NULL },
        { "{\"identities\":[\"sip:alice@x.org\"]}", true, "name" },
        { "{\"name\":\"a b\",\"identities\":[\"sip:a@x.org\"]}", true, "name" },
        { "{\"name\":\"a\",\"type\":\"gold\",\"identities\":[\"sip:a@x.org\"]}", true, "type" },
        { "{\"name\":\"a\",\"balance\":-1,\"identities\":[\"sip:a@x.org\"]}", true, "balance" },
        { "{\"balance\":5,\"identities\":[\"sip:a@x.org\"]}", false, "balance" },
        { "{\"name\":\"a\",\"identities\":[]}", true, "identities" },
        { "{\"name\":\"a\",\"identities\":[\"sip:a@x.org\",\"mailto:a@x\"]}", true,
          "identities[1]" },
        { "{\"name\":\"a\",\"identities\":[\"sip:a@x.org\"],\"pin\":1}", true, "pin" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = json_loads(cases[i].doc, 0, NULL);
        ck_assert_ptr_nonnull(doc);
        int rc = ocs_account_validate(doc, cases[i].create, field, sizeof(field), err,
                                      sizeof(err));
        if (!cases[i].field) {
            ck_assert_msg(rc == 0, "case %zu: %s: %s", i, field, err);
        } else {
            ck_assert_int_eq(rc, -EINVAL);
            ck_assert_str_eq(field, cases[i].field);
        }
        json_decref(doc);
    }
}
END_TEST

static Suite *rating_suite(void)
{
    Suite *s = suite_create("rating");
    TCase *tc = tcase_create("rating");
    tcase_add_test(tc, destination_of_addresses);
    tcase_add_test(tc, service_of_requests);
    tcase_add_test(tc, most_specific_rate_wins);
    tcase_add_test(tc, database_lookup_matches_pure_choice);
    tcase_add_test(tc, rate_documents);
    tcase_add_test(tc, account_documents);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rating_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
