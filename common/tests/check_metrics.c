/*
 * check_metrics.c - the Prometheus registry: counters, gauges, gauge functions, histograms
 * and the rendered text, read back line by line
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *text;

static void render(void)
{
    free(text);
    size_t len = 0;
    text = ims_metrics_render(&len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
}

/* The value of the sample line that starts with exactly @series (name plus labels), or NULL
 * when no such line exists. Points into text. */
static const char *sample(const char *series)
{
    size_t l = strlen(series);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line not terminated: %s", p);
        if (strncmp(p, series, l) == 0 && p[l] == ' ')
            return p + l + 1;
        p = nl + 1;
    }
    return NULL;
}

/* The sample's value as text, up to the end of its line. */
static void expect_sample(const char *series, const char *value)
{
    const char *v = sample(series);
    ck_assert_msg(v != NULL, "no sample %s in:\n%s", series, text);
    size_t vl = strcspn(v, "\n");
    ck_assert_msg(vl == strlen(value) && strncmp(v, value, vl) == 0,
                  "%s is '%.*s', expected '%s'", series, (int)vl, v, value);
}

static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

static bool has_line(const char *want)
{
    size_t l = strlen(want);
    for (const char *p = text; p && *p; p = next_line(p))
        if (strncmp(p, want, l) == 0 && p[l] == '\n')
            return true;
    return false;
}

static int count_lines(const char *prefix)
{
    int n = 0;
    size_t l = strlen(prefix);
    for (const char *p = text; p && *p; p = next_line(p))
        if (strncmp(p, prefix, l) == 0)
            n++;
    return n;
}

static double sample_double(const char *series)
{
    const char *v = sample(series);
    ck_assert_msg(v != NULL, "no sample %s in:\n%s", series, text);
    char *end;
    double d = strtod(v, &end);
    ck_assert_msg(end != v && *end == '\n', "%s: bad number", series);
    return d;
}

static void teardown(void)
{
    free(text);
    text = NULL;
    ims_metrics_fini();
}

START_TEST(test_counter)
{
    struct ims_counter *c = ims_counter_new("sip_requests_total", "SIP requests", NULL);
    ck_assert_uint_eq(ims_counter_value(c), 0);
    ims_counter_inc(c);
    ims_counter_add(c, 41);
    ck_assert_uint_eq(ims_counter_value(c), 42);
    render();
    ck_assert(has_line("# HELP sip_requests_total SIP requests"));
    ck_assert(has_line("# TYPE sip_requests_total counter"));
    expect_sample("sip_requests_total", "42");
}
END_TEST

START_TEST(test_counter_labels)
{
    struct ims_counter *inv = ims_counter_new("req_total", "h", "method=\"INVITE\"");
    struct ims_counter *reg = ims_counter_new("req_total", "h", "method=\"REGISTER\"");
    ck_assert_ptr_ne(inv, reg);
    ims_counter_add(inv, 3);
    ims_counter_add(reg, 5);
    render();
    expect_sample("req_total{method=\"INVITE\"}", "3");
    expect_sample("req_total{method=\"REGISTER\"}", "5");
    ck_assert_ptr_null(sample("req_total"));
    /* one HELP/TYPE block for the family */
    ck_assert_int_eq(count_lines("# TYPE req_total "), 1);
    ck_assert_int_eq(count_lines("# HELP req_total "), 1);
}
END_TEST

START_TEST(test_same_handle)
{
    struct ims_counter *a = ims_counter_new("x_total", "h", "k=\"v\"");
    struct ims_counter *b = ims_counter_new("x_total", "other help", "k=\"v\"");
    ck_assert_ptr_eq(a, b);
    struct ims_counter *none1 = ims_counter_new("y_total", "h", NULL);
    struct ims_counter *none2 = ims_counter_new("y_total", "h", "");
    ck_assert_ptr_eq(none1, none2);
    struct ims_gauge *g1 = ims_gauge_new("g", "h", NULL);
    struct ims_gauge *g2 = ims_gauge_new("g", "h", NULL);
    ck_assert_ptr_eq(g1, g2);
    ims_counter_inc(a);
    ims_counter_inc(b);
    ck_assert_uint_eq(ims_counter_value(a), 2);
}
END_TEST

START_TEST(test_type_clash_refused)
{
    struct ims_counter *c = ims_counter_new("clash", "h", NULL);
    ims_counter_add(c, 7);
    struct ims_gauge *g = ims_gauge_new("clash", "h", NULL);
    ck_assert_ptr_ne((void *)g, (void *)c);
    ims_gauge_set(g, 99);   /* goes nowhere visible */
    ck_assert_int_eq(ims_gauge_fn_new("clash", "h", "a=\"b\"", NULL, NULL), -1);
    static const double bounds[] = { 1 };
    struct ims_histogram *h = ims_histogram_new("clash", "h", NULL, bounds, 1);
    ck_assert_ptr_ne((void *)h, (void *)c);
    ims_histogram_observe(h, 0.5);
    ck_assert_uint_eq(ims_counter_value(c), 7);
    render();
    ck_assert(has_line("# TYPE clash counter"));
    ck_assert_int_eq(count_lines("# TYPE clash "), 1);
    expect_sample("clash", "7");
    ck_assert_ptr_null(sample("clash{a=\"b\"}"));
    ck_assert_int_eq(count_lines("clash_"), 0);
}
END_TEST

START_TEST(test_gauge)
{
    struct ims_gauge *g = ims_gauge_new("registrations", "active", "realm=\"ims.net\"");
    ims_gauge_set(g, 10);
    ims_gauge_add(g, -15);
    ck_assert_int_eq(ims_gauge_value(g), -5);
    render();
    ck_assert(has_line("# TYPE registrations gauge"));
    expect_sample("registrations{realm=\"ims.net\"}", "-5");
    ims_gauge_add(g, 7);
    render();
    expect_sample("registrations{realm=\"ims.net\"}", "2");
}
END_TEST

static double half_of(void *arg)
{
    return *(const double *)arg / 2;
}

START_TEST(test_gauge_function)
{
    static double src = 5;
    ck_assert_int_eq(ims_gauge_fn_new("queue_depth", "items", NULL, half_of, &src), 0);
    render();
    ck_assert(has_line("# TYPE queue_depth gauge"));
    expect_sample("queue_depth", "2.5");
    src = 84;   /* evaluated again at each scrape */
    render();
    expect_sample("queue_depth", "42");
    /* a plain gauge series may join the function's family */
    struct ims_gauge *g = ims_gauge_new("queue_depth", "items", "q=\"b\"");
    ims_gauge_set(g, 3);
    render();
    expect_sample("queue_depth{q=\"b\"}", "3");
    ck_assert_int_eq(count_lines("# TYPE queue_depth "), 1);
}
END_TEST

START_TEST(test_histogram)
{
    static const double bounds[] = { 0.1, 0.5, 1 };
    struct ims_histogram *h = ims_histogram_new("latency_seconds", "answer time",
                                                "cmd=\"UAR\"", bounds, 3);
    ims_histogram_observe(h, 0.05);
    ims_histogram_observe(h, 0.1);   /* on the bound: le is inclusive */
    ims_histogram_observe(h, 0.3);
    ims_histogram_observe(h, 2);
    ims_histogram_observe(h, 7);
    render();
    ck_assert(has_line("# TYPE latency_seconds histogram"));
    expect_sample("latency_seconds_bucket{cmd=\"UAR\",le=\"0.1\"}", "2");
    expect_sample("latency_seconds_bucket{cmd=\"UAR\",le=\"0.5\"}", "3");
    expect_sample("latency_seconds_bucket{cmd=\"UAR\",le=\"1\"}", "3");
    expect_sample("latency_seconds_bucket{cmd=\"UAR\",le=\"+Inf\"}", "5");
    expect_sample("latency_seconds_count{cmd=\"UAR\"}", "5");
    ck_assert_double_eq_tol(sample_double("latency_seconds_sum{cmd=\"UAR\"}"), 9.45, 1e-9);
    ck_assert_int_eq(count_lines("latency_seconds_bucket"), 4);
}
END_TEST

START_TEST(test_histogram_no_labels)
{
    struct ims_histogram *h = ims_histogram_new("t_seconds", "h", NULL, ims_latency_bounds,
                                                ims_latency_nbounds);
    ims_histogram_observe(h, 0.0005);
    ims_histogram_observe(h, 11);
    render();
    expect_sample("t_seconds_bucket{le=\"0.0005\"}", "1");
    expect_sample("t_seconds_bucket{le=\"10\"}", "1");
    expect_sample("t_seconds_bucket{le=\"+Inf\"}", "2");
    ck_assert_double_eq_tol(sample_double("t_seconds_sum"), 11.0005, 1e-9);
    expect_sample("t_seconds_count", "2");
    ck_assert_int_eq(count_lines("t_seconds_bucket"), (int)ims_latency_nbounds + 1);
    /* the same name and labels give the same histogram */
    ck_assert_ptr_eq(ims_histogram_new("t_seconds", "h", NULL, ims_latency_bounds,
                                       ims_latency_nbounds), h);
}
END_TEST

START_TEST(test_order_of_families)
{
    ims_counter_inc(ims_counter_new("b_total", "h", NULL));
    ims_gauge_set(ims_gauge_new("a", "h", NULL), 1);
    render();
    const char *b = strstr(text, "# HELP b_total");
    const char *a = strstr(text, "# HELP a ");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(b < a, "families not in registration order");
    const char *head = "# HELP b_total h\n# TYPE b_total counter\nb_total 1\n";
    ck_assert(strncmp(text, head, strlen(head)) == 0);
}
END_TEST

START_TEST(test_fini_resets)
{
    struct ims_counter *c = ims_counter_new("reset_total", "h", NULL);
    ims_counter_add(c, 9);
    ims_metrics_fini();
    render();
    ck_assert_str_eq(text, "");
    c = ims_counter_new("reset_total", "h", NULL);
    ck_assert_uint_eq(ims_counter_value(c), 0);
    /* and the name may now take another type */
    ims_metrics_fini();
    struct ims_gauge *g = ims_gauge_new("reset_total", "h", NULL);
    ims_gauge_set(g, 4);
    render();
    ck_assert(has_line("# TYPE reset_total gauge"));
    expect_sample("reset_total", "4");
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_counter);
    tcase_add_test(tc, test_counter_labels);
    tcase_add_test(tc, test_same_handle);
    tcase_add_test(tc, test_type_clash_refused);
    tcase_add_test(tc, test_gauge);
    tcase_add_test(tc, test_gauge_function);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_histogram_no_labels);
    tcase_add_test(tc, test_order_of_families);
    tcase_add_test(tc, test_fini_resets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
