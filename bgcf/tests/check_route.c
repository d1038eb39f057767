/*
 * check_route.c - the BGCF's routing table (bgcf/route.c) and its stored routes
 * (bgcf/store.c): longest prefix match, domains, priorities, weights, validation naming
 * the field, configuration items, JSON
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "bgcf.h"

static struct bgcf_route R(const char *id, const char *match, const char *hop,
                           unsigned priority, unsigned weight)
{
    struct bgcf_route r;
    memset(&r, 0, sizeof(r));             /* padding too: the round trip compares bytes */
    r.priority = priority;
    r.weight = weight;
    r.kind = BGCF_KIND_MGCF;
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.domain = match[0] != '+';
    snprintf(r.match, sizeof(r.match), "%s", match);
    snprintf(r.next_hop, sizeof(r.next_hop), "%s", hop);
    return r;
}

static struct bgcf_table *table_of(const struct bgcf_route *r, size_t n)
{
    char err[300] = "";
    struct bgcf_table *t = bgcf_table_new(r, n, err, sizeof(err));
    ck_assert_msg(t != NULL, "table: %s", err);
    return t;
}

/* The key of a URI given as text */
static int key_of(const char *uri, struct bgcf_key *k)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = url_make(home, uri);
    int rc = u ? bgcf_key_of(u, k) : -EFAULT;
    su_home_deinit(home);
    return rc;
}

/* The id of the first route chosen for @uri, or "" */
static const char *first(const struct bgcf_table *t, const char *uri)
{
    static char id[BGCF_ID_MAX];
    static uint64_t s = 42;
    struct bgcf_key k;
    struct bgcf_target out[BGCF_MAX_TRIES];
    id[0] = '\0';
    if (key_of(uri, &k) == 0 && bgcf_table_select(t, &k, bgcf_rand, &s, out, 8) > 0)
        snprintf(id, sizeof(id), "%s", out[0].id);
    return id;
}

START_TEST(longest_prefix_wins)
{
    struct bgcf_route r[] = {
        R("one", "+1", "sip:a.example", 1, 1),
        R("pstn", "+1999", "sip:b.example", 1, 1),
        R("pstn5", "+19995", "sip:c.example", 1, 1),
        R("uk", "+44", "sip:d.example", 1, 1),
    };
    struct bgcf_table *t = table_of(r, 4);
    ck_assert_str_eq(first(t, "tel:+19995550100"), "pstn5");
    ck_assert_str_eq(first(t, "tel:+1-999-0-000"), "pstn");
    ck_assert_str_eq(first(t, "sip:+19990000@ims.example;user=phone"), "pstn");
    ck_assert_str_eq(first(t, "tel:+15550100"), "one");
    ck_assert_str_eq(first(t, "tel:+442071234567"), "uk");
    ck_assert_str_eq(first(t, "tel:+33123456789"), "");          /* no route */
    ck_assert_str_eq(first(t, "tel:+1999"), "pstn");              /* the prefix itself */
    bgcf_table_free(t);

    struct bgcf_route d[] = { R("any", "+", "sip:a.example", 1, 1),
                              R("uk", "+44", "sip:d.example", 1, 1) };
    t = table_of(d, 2);
    ck_assert_str_eq(first(t, "tel:+33123456789"), "any");       /* "+": every number */
    ck_assert_str_eq(first(t, "tel:+4420"), "uk");
    ck_assert_str_eq(first(t, "sip:bob@example.net"), "");       /* numbers only */
    bgcf_table_free(t);
}
END_TEST

START_TEST(routes_of_the_longest_match_only)
{
    /* failover stays within the longest match: the shorter prefix is no fallback */
    struct bgcf_route r[] = {
        R("short", "+1", "sip:a.example", 1, 1),
        R("long-a", "+1999", "sip:b.example", 1, 1),
        R("long-b", "+1999", "sip:c.example", 2, 1),
    };
    struct bgcf_table *t = table_of(r, 3);
    struct bgcf_key k;
    struct bgcf_target out[BGCF_MAX_TRIES];
    uint64_t s = 7;
    ck_assert_int_eq(key_of("tel:+19995550100", &k), 0);
    ck_assert_int_eq(bgcf_table_select(t, &k, bgcf_rand, &s, out, BGCF_MAX_TRIES), 2);
    ck_assert_str_eq(out[0].id, "long-a");
    ck_assert_str_eq(out[1].id, "long-b");
    ck_assert_str_eq(out[1].next_hop, "sip:c.example");
    bgcf_table_free(t);
}
END_TEST

START_TEST(priority_then_weight)
{
    struct bgcf_route r[] = {
        R("backup", "+1999", "sip:backup.example", 20, 1),
        R("gw-a", "+1999", "sip:a.example", 10, 1),
        R("gw-b", "+1999", "sip:b.example", 10, 1),
        R("last", "+1999", "sip:last.example", 30, 0),
    };
    struct bgcf_table *t = table_of(r, 4);
    struct bgcf_key k;
    ck_assert_int_eq(key_of("tel:+19995550100", &k), 0);
    uint64_t s = 99;
    for (int i = 0; i < 200; i++) {
        struct bgcf_target out[BGCF_MAX_TRIES];
        ck_assert_int_eq(bgcf_table_select(t, &k, bgcf_rand, &s, out, BGCF_MAX_TRIES), 4);
        ck_assert(strncmp(out[0].id, "gw-", 3) == 0);
        ck_assert(strncmp(out[1].id, "gw-", 3) == 0);
        ck_assert_str_ne(out[0].id, out[1].id);
        ck_assert_str_eq(out[2].id, "backup");
        ck_assert_str_eq(out[3].id, "last");                       /* weight 0 still tried */
    }
    struct bgcf_target two[2];
    ck_assert_int_eq(bgcf_table_select(t, &k, bgcf_rand, &s, two, 2), 2);   /* at most max */
    bgcf_table_free(t);
}
END_TEST

START_TEST(weights_share_the_first_place)
{
    struct bgcf_route r[] = {
        R("w1", "+1999", "sip:a.example", 5, 1),
        R("w3", "+1999", "sip:b.example", 5, 3),
        R("w6", "+1999", "sip:c.example", 5, 6),
        R("w0", "+1999", "sip:d.example", 5, 0),
    };
    struct bgcf_table *t = table_of(r, 4);
    struct bgcf_key k;
    ck_assert_int_eq(key_of("tel:+19995550100", &k), 0);
    uint64_t s = 12345;
    int count[3] = { 0 }, n = 30000, second_w3_after_w6 = 0, w6_first = 0;
    for (int i = 0; i < n; i++) {
        struct bgcf_target out[BGCF_MAX_TRIES];
        ck_assert_int_eq(bgcf_table_select(t, &k, bgcf_rand, &s, out, BGCF_MAX_TRIES), 4);
        ck_assert_str_ne(out[0].id, "w0");
        ck_assert_str_eq(out[3].id, "w0");                         /* weight 0: last */
        count[out[0].id[1] == '1' ? 0 : out[0].id[1] == '3' ? 1 : 2]++;
        if (strcmp(out[0].id, "w6") == 0) {
            w6_first++;
            second_w3_after_w6 += strcmp(out[1].id, "w3") == 0;
        }
    }
    /* expected 10 %, 30 %, 60 % (3 sigma is under 1 %) */
    ck_assert_msg(abs(count[0] - n / 10) < n / 50, "w1 first %d times of %d", count[0], n);
    ck_assert_msg(abs(count[1] - 3 * n / 10) < n / 50, "w3 first %d times", count[1]);
    ck_assert_msg(abs(count[2] - 6 * n / 10) < n / 50, "w6 first %d times", count[2]);
    /* after w6, the draw is among the rest: w3 second 3/4 of the time */
    ck_assert_msg(abs(second_w3_after_w6 * 4 - w6_first * 3) < w6_first / 10,
                  "w3 second %d times of %d", second_w3_after_w6, w6_first);
    bgcf_table_free(t);
}
END_TEST

START_TEST(domains)
{
    struct bgcf_route r[] = {
        R("exact", "example.net", "sip:ibcf.example.net", 1, 1),
        R("sub", "*.example.net", "sip:ibcf2.example.net", 1, 1),
        R("subsub", "*.b.example.net", "sip:ibcf3.example.net", 1, 1),
        R("default", "*", "sip:ibcf.transit.example", 1, 1),
    };
    struct bgcf_table *t = table_of(r, 4);
    ck_assert_str_eq(first(t, "sip:bob@example.net"), "exact");
    ck_assert_str_eq(first(t, "sip:bob@EXAMPLE.net;transport=tcp"), "exact");
    ck_assert_str_eq(first(t, "sip:bob@a.example.net"), "sub");
    ck_assert_str_eq(first(t, "sip:bob@x.b.example.net"), "subsub");
    ck_assert_str_eq(first(t, "sip:bob@b.example.net"), "sub");
    ck_assert_str_eq(first(t, "sips:bob@other.org"), "default");
    ck_assert_str_eq(first(t, "tel:+1999"), "");                  /* domains only */
    bgcf_table_free(t);
}
END_TEST

START_TEST(keys_of_uris)
{
    struct bgcf_key k;
    ck_assert_int_eq(key_of("tel:+1-999-555-0100", &k), 0);
    ck_assert(k.number);
    ck_assert_str_eq(k.digits, "19995550100");
    ck_assert_int_eq(key_of("sip:+1.999.(555)0100@ims.example;user=phone", &k), 0);
    ck_assert_str_eq(k.digits, "19995550100");
    ck_assert_int_eq(key_of("tel:5550100;phone-context=+1-999", &k), 0);
    ck_assert_str_eq(k.digits, "19995550100");
    ck_assert_int_eq(key_of("sip:5550100;phone-context=+1999@ims.example;user=phone", &k), 0);
    ck_assert_str_eq(k.digits, "19995550100");
    ck_assert_int_eq(key_of("tel:5550100;phone-context=example.com", &k), -ENOENT);
    ck_assert_int_eq(key_of("tel:5550100", &k), -ENOENT);
    ck_assert_int_eq(key_of("tel:+1999abc", &k), -EINVAL);
    ck_assert_int_eq(key_of("tel:+", &k), -EINVAL);
    ck_assert_int_eq(key_of("tel:+123456789012345678901234567890123", &k), -EINVAL);
    ck_assert_int_eq(key_of("sip:+19995550100@Ims.Example", &k), 0);   /* no user=phone */
    ck_assert(!k.number);
    ck_assert_str_eq(k.domain, "ims.example");
    ck_assert_int_eq(key_of("http://example.net/", &k), -EPROTONOSUPPORT);
}
END_TEST

static const char *field_of(struct bgcf_route r)
{
    static char field[32];
    char why[300];
    field[0] = '\0';
    ck_assert_int_eq(bgcf_route_check(&r, field, sizeof(field), why, sizeof(why)), -EINVAL);
    ck_assert(why[0]);
    return field;
}

START_TEST(validation_names_the_field)
{
    char field[32], why[300];
    struct bgcf_route ok = R("pstn-1", "+1999", "sip:mgcf.example:5060", 1, 1);
    ck_assert_int_eq(bgcf_route_check(&ok, field, sizeof(field), why, sizeof(why)), 0);
    ck_assert_str_eq(field_of(R("a b", "+1999", "sip:x", 1, 1)), "id");
    ck_assert_str_eq(field_of(R("", "+1999", "sip:x", 1, 1)), "id");
    struct bgcf_route r = R("p", "+1999", "sip:x", 1, 1);
    snprintf(r.match, sizeof(r.match), "1999");
    r.domain = false;
    ck_assert_str_eq(field_of(r), "prefix");
    ck_assert_str_eq(field_of(R("p", "+1234567890123456", "sip:x", 1, 1)), "prefix");
    ck_assert_str_eq(field_of(R("p", "+12a", "sip:x", 1, 1)), "prefix");
    ck_assert_str_eq(field_of(R("d", "exa mple.net", "sip:x", 1, 1)), "domain");
    ck_assert_str_eq(field_of(R("d", "example..net", "sip:x", 1, 1)), "domain");
    ck_assert_str_eq(field_of(R("d", "-example.net", "sip:x", 1, 1)), "domain");
    ck_assert_str_eq(field_of(R("d", "*example.net", "sip:x", 1, 1)), "domain");
    ck_assert_str_eq(field_of(R("p", "+1999", "http://x", 1, 1)), "next_hop");
    ck_assert_str_eq(field_of(R("p", "+1999", "mgcf.example", 1, 1)), "next_hop");
    ck_assert_str_eq(field_of(R("p", "+1999", "sip:x", 65536, 1)), "priority");
    ck_assert_str_eq(field_of(R("p", "+1999", "sip:x", 1, 65536)), "weight");
    r = R("p", "+1999", "sip:x", 1, 1);
    r.kind = 9;
    ck_assert_str_eq(field_of(r), "kind");
}
END_TEST

START_TEST(table_refuses_duplicates_and_bad_routes)
{
    char err[300];
    struct bgcf_route r[] = { R("a", "+1", "sip:x", 1, 1), R("a", "+2", "sip:y", 1, 1) };
    ck_assert_ptr_null(bgcf_table_new(r, 2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "'a'") != NULL, "%s", err);
    r[1] = R("b", "+2", "ftp://y", 1, 1);
    ck_assert_ptr_null(bgcf_table_new(r, 2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "next_hop") != NULL, "%s", err);
    struct bgcf_table *t = bgcf_table_new(NULL, 0, err, sizeof(err));   /* empty is fine */
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(first(t, "tel:+1999"), "");
    bgcf_table_free(t);
}
END_TEST

START_TEST(configuration_items)
{
    struct bgcf_route r;
    char err[300];
    ck_assert_int_eq(bgcf_route_parse("pstn +1999 sip:mgcf.example:5060", &r, err,
                                      sizeof(err)), 0);
    ck_assert_str_eq(r.id, "pstn");
    ck_assert(!r.domain);
    ck_assert_str_eq(r.match, "+1999");
    ck_assert_str_eq(r.next_hop, "sip:mgcf.example:5060");
    ck_assert_int_eq(r.kind, BGCF_KIND_MGCF);
    ck_assert_uint_eq(r.priority, 1);
    ck_assert_uint_eq(r.weight, 1);
    ck_assert(r.from_config);
    ck_assert_int_eq(bgcf_route_parse("peer  *.other.net  sip:ibcf.other.net  kind=ibcf "
                                      "priority=20 weight=0", &r, err, sizeof(err)), 0);
    ck_assert(r.domain);
    ck_assert_int_eq(r.kind, BGCF_KIND_IBCF);
    ck_assert_uint_eq(r.priority, 20);
    ck_assert_uint_eq(r.weight, 0);
    ck_assert_int_eq(bgcf_route_parse("pstn +1999", &r, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(bgcf_route_parse("pstn +1999 sip:x colour=red", &r, err, sizeof(err)),
                     -EINVAL);
    ck_assert_msg(strstr(err, "colour=red") != NULL, "%s", err);
    ck_assert_int_eq(bgcf_route_parse("pstn +1999 sip:x priority=high", &r, err, sizeof(err)),
                     -EINVAL);
    ck_assert_int_eq(bgcf_route_parse("pstn +1999 sip:x kind=msc", &r, err, sizeof(err)),
                     -EINVAL);
    ck_assert_int_eq(bgcf_route_parse("pstn 1999 sip:x", &r, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "domain") != NULL, "%s", err);     /* no '+': a domain */
    ck_assert_int_eq(bgcf_check_route_item("pstn +1999 tel:+1", err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "next_hop") != NULL, "%s", err);
}
END_TEST

/* from_json on @text; returns the field at fault ("" when valid) */
static const char *json_field(const char *text, const char *id, struct bgcf_route *r)
{
    static char field[64];
    char why[300];
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    ck_assert_msg(doc != NULL, "bad test JSON %s", text);
    field[0] = '\0';
    int rc = bgcf_route_from_json(doc, id, r, field, sizeof(field), why, sizeof(why));
    json_decref(doc);
    ck_assert(rc == 0 ? field[0] == '\0' : field[0] != '\0');
    return field;
}

START_TEST(json_names_the_field)
{
    struct bgcf_route r;
    ck_assert_str_eq(json_field("{\"prefix\":\"+1999\",\"next_hop\":\"sip:gw.example\"}",
                                "gw", &r), "");
    ck_assert_str_eq(r.id, "gw");
    ck_assert_int_eq(r.kind, BGCF_KIND_MGCF);
    ck_assert_uint_eq(r.priority, 1);
    ck_assert(!r.from_config);
    ck_assert_str_eq(json_field("{\"domain\":\"other.net\",\"next_hop\":\"sip:i.other.net\","
                                "\"kind\":\"ibcf\",\"priority\":3,\"weight\":7}", "o", &r),
                     "");
    ck_assert(r.domain);
    ck_assert_uint_eq(r.weight, 7);
    ck_assert_str_eq(json_field("{\"prefix\":\"+1999\",\"nexthop\":\"sip:x\"}", "a", &r),
                     "nexthop");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1999\"}", "a", &r), "next_hop");
    ck_assert_str_eq(json_field("{\"next_hop\":\"sip:x\"}", "a", &r), "prefix");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"domain\":\"x.net\",\"next_hop\":"
                                "\"sip:x\"}", "a", &r), "prefix");
    ck_assert_str_eq(json_field("{\"prefix\":\"1999\",\"next_hop\":\"sip:x\"}", "a", &r),
                     "prefix");
    ck_assert_str_eq(json_field("{\"prefix\":1999,\"next_hop\":\"sip:x\"}", "a", &r),
                     "prefix");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"next_hop\":\"sip:x\",\"weight\":-1}",
                                "a", &r), "weight");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"next_hop\":\"sip:x\",\"priority\":"
                                "\"1\"}", "a", &r), "priority");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"next_hop\":\"sip:x\",\"kind\":\"msc\"}",
                                "a", &r), "kind");
    ck_assert_str_eq(json_field("{\"id\":\"b\",\"prefix\":\"+1\",\"next_hop\":\"sip:x\"}",
                                "a", &r), "id");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"next_hop\":\"sip:x\"}", "a/b", &r),
                     "id");
    ck_assert_str_eq(json_field("{\"prefix\":\"+1\",\"next_hop\":\"sip:x\",\"source\":"
                                "\"config\"}", "a", &r), "source");
}
END_TEST

START_TEST(json_round_trip)
{
    struct bgcf_route a = R("gw", "+1999", "sip:gw.example:5070;transport=tcp", 4, 9), b;
    a.kind = BGCF_KIND_BGCF;
    json_t *doc = bgcf_route_json(&a);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "source")), "api");
    char field[32], why[300];
    ck_assert_int_eq(bgcf_route_from_json(doc, "gw", &b, field, sizeof(field), why,
                                          sizeof(why)), 0);
    json_decref(doc);
    ck_assert_mem_eq(&a, &b, sizeof(a));
}
END_TEST

START_TEST(store_keeps_routes_config_wins)
{
    char path[] = "/tmp/check_bgcf_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct bgcf b = { 0 };
    ck_assert_int_eq(bgcf_store_open(&b, path), 0);
    struct bgcf_route a = R("gw", "+1999", "sip:gw.example", 2, 3);
    struct bgcf_route c = R("pstn", "+1999", "sip:other.example", 1, 1);
    ck_assert_int_eq(bgcf_store_put(&b, &a), 0);
    ck_assert_int_eq(bgcf_store_put(&b, &c), 0);
    a.weight = 8;
    ck_assert_int_eq(bgcf_store_put(&b, &a), 0);                   /* replaced */
    bgcf_store_close(&b);

    ck_assert_int_eq(bgcf_store_open(&b, path), 0);                /* as after a restart */
    struct bgcf_route *got;
    size_t n;
    ck_assert_int_eq(bgcf_store_load(&b, &got, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(got[0].id, "gw");
    ck_assert_uint_eq(got[0].weight, 8);
    /* a route of the configuration of the same name shadows the stored one */
    struct bgcf_route conf = R("pstn", "+1999", "sip:mgcf.example", 5, 1);
    conf.from_config = true;
    b.config = &conf;
    b.nconfig = 1;
    char err[300];
    struct bgcf_table *t = bgcf_tables_build(&b, got, n, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(bgcf_table_count(t), 2);
    ck_assert_str_eq(bgcf_table_find(t, "pstn")->next_hop, "sip:mgcf.example");
    ck_assert(bgcf_table_find(t, "pstn")->from_config);
    ck_assert(!bgcf_table_find(t, "gw")->from_config);
    ck_assert_str_eq(first(t, "tel:+19995550100"), "gw");         /* priority 2 < 5 */
    bgcf_table_free(t);
    free(got);
    ck_assert_int_eq(bgcf_store_delete(&b, "gw"), 0);
    ck_assert_int_eq(bgcf_store_delete(&b, "gw"), -ENOENT);
    bgcf_store_close(&b);
    unlink(path);
    char side[sizeof(path) + 8];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bgcf_route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, longest_prefix_wins);
    tcase_add_test(tc, routes_of_the_longest_match_only);
    tcase_add_test(tc, priority_then_weight);
    tcase_add_test(tc, weights_share_the_first_place);
    tcase_add_test(tc, domains);
    tcase_add_test(tc, keys_of_uris);
    tcase_add_test(tc, validation_names_the_field);
    tcase_add_test(tc, table_refuses_duplicates_and_bad_routes);
    tcase_add_test(tc, configuration_items);
    tcase_add_test(tc, json_names_the_field);
    tcase_add_test(tc, json_round_trip);
    tcase_add_test(tc, store_keeps_routes_config_wins);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
