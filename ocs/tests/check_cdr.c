/*
 * check_cdr.c - CDRs folded from ACRs: durations, partial sessions, timeouts, duplicates,
 * the CSV form
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ocs.h"

static struct ocs_acr acr(enum ocs_acr_type type, uint32_t number, const char *node)
{
    struct ocs_acr a;
    memset(&a, 0, sizeof(a));
    snprintf(a.session_id, sizeof(a.session_id), "call-1");
    snprintf(a.node, sizeof(a.node), "%s", node);
    snprintf(a.icid, sizeof(a.icid), "icid-1");
    snprintf(a.method, sizeof(a.method), "INVITE");
    a.type = type;
    a.number = number;
    a.role = -1;
    a.node_functionality = -1;
    a.cause = INT_MIN;
    return a;
}

START_TEST(session_duration_from_answer_to_bye)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
    a.request_ts = 1000;     /* INVITE */
    a.response_ts = 1004;    /* 200 OK */
    a.event_ts = 1004;
    a.role = 0;
    a.node_functionality = 6;
    snprintf(a.calling, sizeof(a.calling), "sip:alice@x");
    ocs_cdr_apply(&c, &a, 1005);
    ck_assert_int_eq(c.status, OCS_CDR_OPEN);
    ck_assert_int_eq(c.start, 1004);
    ck_assert(!c.partial);
    a = acr(OCS_ACR_INTERIM, 1, "scscf");
    a.event_ts = 1034;
    ocs_cdr_apply(&c, &a, 1034);
    ck_assert_int_eq(c.interims, 1);
    ck_assert_int_eq(c.duration, 30);    /* so far */
    a = acr(OCS_ACR_STOP, 2, "scscf");
    a.request_ts = 1046;     /* BYE */
    a.event_ts = 1047;
    a.cause = -1;
    ocs_cdr_apply(&c, &a, 1047);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert_int_eq(c.duration, 42);
    ck_assert_int_eq(c.role, 0);
    ck_assert_int_eq(c.node_functionality, 6);
    ck_assert_int_eq(c.cause, -1);
    ck_assert_str_eq(c.calling, "sip:alice@x");   /* kept from START */
    ck_assert_uint_eq(c.last_number, 2);
}
END_TEST

START_TEST(event_and_partial_records)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_EVENT, 0, "pcscf");
    a.event_ts = 500;
    ocs_cdr_apply(&c, &a, 501);
    ck_assert(c.event);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert_int_eq(c.duration, 0);
    /* a session whose START was lost: partial, closed incomplete by its STOP */
    memset(&c, 0, sizeof(c));
    a = acr(OCS_ACR_INTERIM, 3, "pcscf");
    a.event_ts = 600;
    ocs_cdr_apply(&c, &a, 600);
    ck_assert(c.partial);
    a = acr(OCS_ACR_STOP, 4, "pcscf");
    a.event_ts = 650;
    ocs_cdr_apply(&c, &a, 650);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    ck_assert_int_eq(c.duration, 50);
}
END_TEST

START_TEST(records_out_of_order)
{
    /* STOP, then INTERIM, then START (a spool re-sent at once): closed, 42 s, not partial */
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_STOP, 2, "scscf");
    a.request_ts = 1045;
    ocs_cdr_apply(&c, &a, 2000);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    a = acr(OCS_ACR_INTERIM, 1, "scscf");
    ocs_cdr_apply(&c, &a, 2000);
    a = acr(OCS_ACR_START, 0, "scscf");
    a.response_ts = 1003;
    ocs_cdr_apply(&c, &a, 2000);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert(!c.partial);
    ck_assert_int_eq(c.duration, 42);
    ck_assert_int_eq(c.interims, 1);
    ck_assert_uint_eq(c.last_number, 2);
}
END_TEST

START_TEST(silent_sessions_expire)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
    a.response_ts = 100;
    a.interim = 10;
    ocs_cdr_apply(&c, &a, 100);
    ck_assert(!ocs_cdr_overdue(&c, 130, 3, 300));   /* 3 x 10 s, not more yet */
    ck_assert(ocs_cdr_overdue(&c, 131, 3, 300));
    ocs_cdr_expire(&c);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    ck_assert_int_eq(c.stop, 100);
    ck_assert(!ocs_cdr_overdue(&c, 10000, 3, 300));  /* closed: never again */
    /* without an interval of its own, the configured one */
    memset(&c, 0, sizeof(c));
    a.interim = 0;
    ocs_cdr_apply(&c, &a, 100);
    ck_assert(!ocs_cdr_overdue(&c, 1000, 3, 300));
    ck_assert(ocs_cdr_overdue(&c, 1001, 3, 300));
}
END_TEST

static int64_t count_cdrs(struct ims_db *db, const char *where)
{
    char sql[256];
    sqlite3_stmt *st;
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM cdrs WHERE %s", where);
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(stored_once_per_node_and_deduplicated)
{
    char path[] = "/tmp/check-cdr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    struct ims_db *db;
    bool dup;
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    const char *nodes[] = { "scscf", "pcscf" };
    for (int n = 0; n < 2; n++) {
        struct ocs_acr a = acr(OCS_ACR_START, 0, nodes[n]);
        a.response_ts = 1000;
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1000, &dup), 0);
        ck_assert(!dup);
        a = acr(OCS_ACR_INTERIM, 1, nodes[n]);
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1030, &dup), 0);
        /* the same INTERIM again (a retransmission) */
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1031, &dup), 0);
        ck_assert(dup);
        a = acr(OCS_ACR_STOP, 2, nodes[n]);
        a.request_ts = 1060;
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1060, &dup), 0);
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1061, &dup), 0);
        ck_assert(dup);
    }
    ck_assert_int_eq(count_cdrs(db, "icid = 'icid-1'"), 2);
    ck_assert_int_eq(count_cdrs(db, "duration = 60 AND interims = 1 AND status = 1"), 2);
    json_t *page = ocs_cdr_query(db, "icid-1", NULL, 0, INT64_MAX, 0, 10);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 2);
    json_decref(page);
    page = ocs_cdr_query(db, NULL, NULL, 1001, INT64_MAX, 0, 10);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
    ims_db_close(db);
    unlink(path);
}
END_TEST

START_TEST(overdue_sessions_closed_in_the_database)
{
    struct ocs o;
    memset(&o, 0, sizeof(o));
    char path[] = "/tmp/check-cdr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    bool dup;
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&o.db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    o.cfg.interim_interval = 300;
    o.cfg.missed_interims = 3;
    /* many sessions on the configured interval, and one that said 1 s */
    for (int i = 0; i < 40; i++) {
        struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
        snprintf(a.session_id, sizeof(a.session_id), "long-%d", i);
        ck_assert_int_eq(ocs_cdr_record(o.db, &a, 900, &dup), 0);
    }
    struct ocs_acr a = acr(OCS_ACR_START, 0, "pcscf");
    a.interim = 1;
    a.response_ts = 1000;
    ck_assert_int_eq(ocs_cdr_record(o.db, &a, 1000, &dup), 0);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 1003), 0);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 1004), 1);
    ck_assert_int_eq(count_cdrs(o.db, "status = 2 AND node = 'pcscf' AND duration = 0"), 1);
    /* at most 32 a sweep */
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 900 + 901), 32);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 900 + 901), 8);
    ims_db_close(o.db);
    unlink(path);
}
END_TEST

START_TEST(csv_line)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    c.id = 7;
    snprintf(c.icid, sizeof(c.icid), "ab\"c");
    snprintf(c.node, sizeof(c.node), "scscf");
    c.status = OCS_CDR_CLOSED;
    c.start = 0;
    c.duration = 42;
    c.role = 1;
    c.node_functionality = 6;
    c.cause = INT_MIN;
    char line[1024];
    ocs_cdr_csv(&c, line, sizeof(line));
    ck_assert_str_eq(line, "7,\"ab\"\"c\",\"\",\"scscf\",\"session\",\"closed\",\"no\",\"\","
                           "\"\",\"\",\"\",\"\",42,0,1,6,\"\",\"\",\"\",");
    /* as many fields as the header */
    size_t commas = 0, hc = 0;
    for (const char *p = ocs_cdr_csv_header; *p; p++)
        hc += *p == ',';
    bool quoted = false;
    for (const char *p = line; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            commas++;
    }
    ck_assert_uint_eq(commas, hc);
}
END_TEST

/*
 * Found by tests/fuzz/ocs_cdr (corpus files csv-short-buffer.bin, json-not-utf8.bin): a row
 * cut by a small buffer was left without its NUL (a 3-byte buffer got "7," and garbage),
 * the last field could write one byte past the buffer, and a CDR whose text is not UTF-8
 * had no JSON (left out of the export file without a word).
 */
START_TEST(csv_row_bounded_and_json_for_any_bytes)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    c.id = 7;
    c.role = -1;
    c.node_functionality = 2;
    c.cause = 16;
    snprintf(c.calling, sizeof(c.calling), "sip:\xff\"a\"@x");
    snprintf(c.media, sizeof(c.media), "audio");
    char full[1024];
    size_t n = ocs_cdr_csv(&c, full, sizeof(full));
    ck_assert_uint_eq(n, strlen(full));
    for (size_t len = 0; len <= n + 2; len++) {
        char *row = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(row);
        ck_assert_uint_eq(ocs_cdr_csv(&c, row, len), n);
        if (len) {
            ck_assert_msg(memchr(row, '\0', len) != NULL, "row of %zu bytes unterminated", len);
            size_t want = len - 1 < n ? len - 1 : n;
            ck_assert_msg(strncmp(row, full, strlen(row)) == 0 && strlen(row) == want,
                          "row of %zu bytes: %s", len, row);
        }
        free(row);
    }
    json_t *j = ocs_cdr_json(&c);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "calling")),
                     "sip:\xef\xbf\xbd\"a\"@x");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "cause")), 16);
    ck_assert(json_is_null(json_object_get(j, "role_of_node")));
    json_decref(j);
}
END_TEST

static Suite *cdr_suite(void)
{
    Suite *s = suite_create("cdr");
    TCase *tc = tcase_create("cdr");
    tcase_add_test(tc, session_duration_from_answer_to_bye);
    tcase_add_test(tc, event_and_partial_records);
    tcase_add_test(tc, records_out_of_order);
    tcase_add_test(tc, silent_sessions_expire);
    tcase_add_test(tc, stored_once_per_node_and_deduplicated);
    tcase_add_test(tc, overdue_sessions_closed_in_the_database);
    tcase_add_test(tc, csv_line);
    tcase_add_test(tc, csv_row_bounded_and_json_for_any_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cdr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
