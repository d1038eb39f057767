/*
 * check_log.c - log line formatting (key=value and JSON) and the level/format words
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"

#define TS "2026-01-02T03:04:05.678Z"

static char line[1024];

static int kv_line(const struct ims_log_ids *ids, const char *const *kv, const char *msg)
{
    return ims_log_format_line(line, sizeof(line), IMS_LOG_KV, TS, IMS_LOG_WARN, "pcscf", ids,
                               kv, msg);
}

/* Format as JSON and parse the line back; the caller decrefs. */
static json_t *json_line(const struct ims_log_ids *ids, const char *const *kv, const char *msg)
{
    int n = ims_log_format_line(line, sizeof(line), IMS_LOG_JSON, TS, IMS_LOG_DEBUG, "scscf",
                                ids, kv, msg);
    ck_assert_int_eq(n, (int)strlen(line));
    ck_assert_msg(strchr(line, '\n') == NULL, "raw newline in JSON line: %s", line);
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    ck_assert_msg(o != NULL, "not JSON (%s): %s", jerr.text, line);
    ck_assert(json_is_object(o));
    return o;
}

static const char *field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "field %s missing or not a string", key);
    return json_string_value(v);
}

START_TEST(test_kv_plain)
{
    int n = kv_line(NULL, NULL, "started");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=started");
    ck_assert_int_eq(n, (int)strlen(line));
}
END_TEST

START_TEST(test_kv_quoting)
{
    kv_line(NULL, NULL, "two words");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"two words\"");

    kv_line(NULL, NULL, "a=b");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"a=b\"");

    kv_line(NULL, NULL, "say \"hi\"");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"say \\\"hi\\\"\"");

    kv_line(NULL, NULL, "back\\slash");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"back\\\\slash\"");

    kv_line(NULL, NULL, "");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"\"");
}
END_TEST

START_TEST(test_kv_control_escapes)
{
    kv_line(NULL, NULL, "l1\nl2\r\tx\x01");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=\"l1\\nl2\\r\\tx\\x01\"");
    ck_assert_ptr_null(strchr(line, '\n'));
    ck_assert_ptr_null(strchr(line, '\r'));
}
END_TEST

START_TEST(test_kv_ids_and_extra)
{
    struct ims_log_ids ids = { "abc@10.0.0.1", "icid-1", "hss;123;456" };
    const char *const kv[] = { "status", "200", "reason", "Not Found", "skipped", NULL,
                               "empty", "", NULL };
    kv_line(&ids, kv, "reply");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=reply callid=abc@10.0.0.1 "
                           "icid=icid-1 session=hss;123;456 status=200 reason=\"Not Found\" "
                           "empty=\"\"");
}
END_TEST

START_TEST(test_kv_partial_ids)
{
    struct ims_log_ids ids = { NULL, "icid 2", NULL };
    kv_line(&ids, NULL, "x");
    ck_assert_str_eq(line, "ts=" TS " level=warn daemon=pcscf msg=x icid=\"icid 2\"");
    ck_assert_ptr_null(strstr(line, "callid="));
    ck_assert_ptr_null(strstr(line, "session="));
}
END_TEST

START_TEST(test_kv_truncated)
{
    char small[32];
    memset(small, 'z', sizeof(small));
    int n = ims_log_format_line(small, sizeof(small), IMS_LOG_KV, TS, IMS_LOG_INFO, "pcscf",
                                NULL, NULL, "a long message that cannot fit");
    ck_assert_int_eq(n, (int)strlen(small));
    ck_assert_int_lt(n, (int)sizeof(small));
    ck_assert_str_eq(small, "ts=" TS " ...");
}
END_TEST

START_TEST(test_kv_exact_fit_not_marked)
{
    const char *want = "ts=" TS " level=info daemon=pcscf msg=fits";
    char exact[64];
    size_t size = strlen(want) + 1;
    ck_assert_uint_le(size, sizeof(exact));
    int n = ims_log_format_line(exact, (int)size, IMS_LOG_KV, TS, IMS_LOG_INFO, "pcscf", NULL,
                                NULL, "fits");
    ck_assert_int_eq(n, (int)strlen(want));
    ck_assert_str_eq(exact, want);
}
END_TEST

START_TEST(test_json_fields)
{
    struct ims_log_ids ids = { "abc@10.0.0.1", "icid-1", "hss;123;456" };
    const char *const kv[] = { "status", "200", "skipped", NULL, "peer", "hss.ims.net", NULL };
    json_t *o = json_line(&ids, kv, "reply sent");
    ck_assert_str_eq(field(o, "ts"), TS);
    ck_assert_str_eq(field(o, "level"), "debug");
    ck_assert_str_eq(field(o, "daemon"), "scscf");
    ck_assert_str_eq(field(o, "msg"), "reply sent");
    ck_assert_str_eq(field(o, "callid"), "abc@10.0.0.1");
    ck_assert_str_eq(field(o, "icid"), "icid-1");
    ck_assert_str_eq(field(o, "session"), "hss;123;456");
    ck_assert_str_eq(field(o, "status"), "200");
    ck_assert_str_eq(field(o, "peer"), "hss.ims.net");
    ck_assert_ptr_null(json_object_get(o, "skipped"));
    ck_assert_uint_eq(json_object_size(o), 9);
    /* fields keep their order: ts first */
    ck_assert(strncmp(line, "{\"ts\":", 6) == 0);
    json_decref(o);
}
END_TEST

START_TEST(test_json_escapes)
{
    const char *msg = "quote \" back \\ nl \n tab \t eq = ctl \x02";
    json_t *o = json_line(NULL, NULL, msg);
    ck_assert_str_eq(field(o, "msg"), msg);
    ck_assert_ptr_null(json_object_get(o, "callid"));
    ck_assert_uint_eq(json_object_size(o), 4);
    json_decref(o);
}
END_TEST

START_TEST(test_json_not_utf8)
{
    json_t *o = json_line(NULL, NULL, "bad \xff\xfe byte");
    ck_assert_str_eq(field(o, "msg"), "(message is not UTF-8)");
    json_decref(o);
}
END_TEST

START_TEST(test_json_too_long)
{
    char small[64];
    int n = ims_log_format_line(small, sizeof(small), IMS_LOG_JSON, TS, IMS_LOG_INFO, "pcscf",
                                NULL, NULL, "a message that makes the object longer than 64");
    ck_assert_int_eq(n, (int)strlen(small));
    ck_assert_int_lt(n, (int)sizeof(small));
    json_t *o = json_loads(small, 0, NULL);
    ck_assert_msg(o != NULL, "not JSON: %s", small);
    ck_assert_str_eq(field(o, "ts"), TS);
    ck_assert_str_eq(field(o, "msg"), "(line too long)");
    json_decref(o);
}
END_TEST

START_TEST(test_level_parse)
{
    ck_assert_int_eq(ims_log_level_parse("error"), IMS_LOG_ERROR);
    ck_assert_int_eq(ims_log_level_parse("warn"), IMS_LOG_WARN);
    ck_assert_int_eq(ims_log_level_parse("INFO"), IMS_LOG_INFO);
    ck_assert_int_eq(ims_log_level_parse("Debug"), IMS_LOG_DEBUG);
    ck_assert_int_eq(ims_log_level_parse("warning"), -1);
    ck_assert_int_eq(ims_log_level_parse(""), -1);
    ck_assert_int_eq(ims_log_level_parse(NULL), -1);
    ck_assert_str_eq(ims_log_level_name(IMS_LOG_WARN), "warn");
    ck_assert_str_eq(ims_log_level_name((enum ims_log_level)7), "?");
}
END_TEST

START_TEST(test_format_parse)
{
    ck_assert_int_eq(ims_log_format_parse("kv"), IMS_LOG_KV);
    ck_assert_int_eq(ims_log_format_parse("JSON"), IMS_LOG_JSON);
    ck_assert_int_eq(ims_log_format_parse("text"), -1);
    ck_assert_int_eq(ims_log_format_parse(NULL), -1);
}
END_TEST

START_TEST(test_level_filter)
{
    ims_log_set_level(IMS_LOG_WARN);
    ck_assert(ims_log_enabled(IMS_LOG_ERROR));
    ck_assert(ims_log_enabled(IMS_LOG_WARN));
    ck_assert(!ims_log_enabled(IMS_LOG_INFO));
    ims_log_set_level(IMS_LOG_DEBUG);
    ck_assert(ims_log_enabled(IMS_LOG_DEBUG));
}
END_TEST

START_TEST(test_limit_pass)
{
    struct ims_log_limit lim = IMS_LOG_LIMIT(10);
    unsigned long held = 99;
    ck_assert(ims_log_limit_pass(&lim, 5000, &held));
    ck_assert_uint_eq(held, 0);
    for (int i = 0; i < 1234; i++)
        ck_assert(!ims_log_limit_pass(&lim, 5000 + i, &held));
    ck_assert(!ims_log_limit_pass(&lim, 14999, &held));
    ck_assert(ims_log_limit_pass(&lim, 15000, &held));
    ck_assert_uint_eq(held, 1235);
    ck_assert(!ims_log_limit_pass(&lim, 15001, &held));
    ck_assert(ims_log_limit_pass(&lim, 60000, &held));
    ck_assert_uint_eq(held, 1);
    /* a clock at 0 (a fresh boot) still starts the interval */
    struct ims_log_limit zero = IMS_LOG_LIMIT(1);
    ck_assert(ims_log_limit_pass(&zero, 0, &held));
    ck_assert(!ims_log_limit_pass(&zero, 500, &held));
}
END_TEST

/* What ims_log_limited wrote to @path, read back into line[] */
static void read_back(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    line[n] = '\0';
    fclose(f);
}

static int count_of(const char *text, const char *word)
{
    int n = 0;
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        n++;
    return n;
}

START_TEST(test_limited_lines)
{
    char path[] = "/tmp/check_log.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ims_log_init("pcscf", IMS_LOG_INFO, IMS_LOG_KV, path), 0);
    struct ims_log_limit lim = IMS_LOG_LIMIT(3600);
    for (int i = 0; i < 5; i++)
        ims_log_limited(&lim, IMS_LOG_ERROR, NULL, "binding table full (%d)", i);
    ims_log_limited(&lim, IMS_LOG_DEBUG, NULL, "off: neither written nor counted");
    read_back(path);
    ck_assert_int_eq(count_of(line, "binding table full"), 1);
    ck_assert_ptr_nonnull(strstr(line, "msg=\"binding table full (0)\"\n"));
    ck_assert_ptr_null(strstr(line, "off:"));
    lim.last_ms -= 3600 * 1000;       /* the interval is over */
    ims_log_limited(&lim, IMS_LOG_ERROR, NULL, "binding table full (%d)", 5);
    read_back(path);
    ck_assert_int_eq(count_of(line, "binding table full"), 2);
    ck_assert_ptr_nonnull(strstr(line, "msg=\"binding table full (5) (4 more since)\"\n"));
    ims_log_fini();
    unlink(path);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("kv");
    tcase_add_test(tc, test_kv_plain);
    tcase_add_test(tc, test_kv_quoting);
    tcase_add_test(tc, test_kv_control_escapes);
    tcase_add_test(tc, test_kv_ids_and_extra);
    tcase_add_test(tc, test_kv_partial_ids);
    tcase_add_test(tc, test_kv_truncated);
    tcase_add_test(tc, test_kv_exact_fit_not_marked);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, test_json_fields);
    tcase_add_test(tc, test_json_escapes);
    tcase_add_test(tc, test_json_not_utf8);
    tcase_add_test(tc, test_json_too_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("words");
    tcase_add_test(tc, test_level_parse);
    tcase_add_test(tc, test_format_parse);
    tcase_add_test(tc, test_level_filter);
    suite_add_tcase(s, tc);

    tc = tcase_create("limited");
    tcase_add_test(tc, test_limit_pass);
    tcase_add_test(tc, test_limited_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
