/*
 * check_sip_hdr.c - IMS SIP headers: P-Charging-Vector, P-Charging-Function-Addresses,
 * P-Visited-Network-ID, name-addr lists, and the helpers that edit a parsed message
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "sip_hdr.h"

/* ---- P-Charging-Vector ---- */

START_TEST(test_pcv_parse)
{
    struct ims_pcv pcv;
    ck_assert_int_eq(ims_pcv_parse("icid-value=1234bc9876e; icid-generated-at=192.0.6.8; "
                                   "orig-ioi=home1.net; term-ioi=\"home 2.net\"", &pcv), 0);
    ck_assert_str_eq(pcv.icid, "1234bc9876e");
    ck_assert_str_eq(pcv.generated_at, "192.0.6.8");
    ck_assert_str_eq(pcv.orig_ioi, "home1.net");
    ck_assert_str_eq(pcv.term_ioi, "home 2.net");
}
END_TEST

START_TEST(test_pcv_parse_variants)
{
    struct ims_pcv pcv;
    /* '=' inside the value, upper-case names, blanks around '=', unknown params ignored */
    ck_assert_int_eq(ims_pcv_parse("  ICID-VALUE = AyretyU0dm+6O2IrT5tAFrbHLso=023551024 ;"
                                   "foo=bar;flag; Term-IOI=t.net", &pcv), 0);
    ck_assert_str_eq(pcv.icid, "AyretyU0dm+6O2IrT5tAFrbHLso=023551024");
    ck_assert_str_eq(pcv.term_ioi, "t.net");
    ck_assert_str_eq(pcv.orig_ioi, "");
    ck_assert_str_eq(pcv.generated_at, "");

    /* a ';' inside a quoted value does not split */
    ck_assert_int_eq(ims_pcv_parse("icid-value=\"a;b c\";orig-ioi=o", &pcv), 0);
    ck_assert_str_eq(pcv.icid, "a;b c");
    ck_assert_str_eq(pcv.orig_ioi, "o");

    /* an IPv6 reference as icid-generated-at */
    ck_assert_int_eq(ims_pcv_parse("icid-value=x;icid-generated-at=[2001:db8::1]", &pcv), 0);
    ck_assert_str_eq(pcv.generated_at, "[2001:db8::1]");
}
END_TEST

START_TEST(test_pcv_parse_errors)
{
    struct ims_pcv pcv;
    ck_assert_int_eq(ims_pcv_parse("orig-ioi=home1.net", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid-value=", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid-value", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid-value=\"open;orig-ioi=x", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid=abc", &pcv), -EINVAL);
}
END_TEST

START_TEST(test_pcv_format)
{
    struct ims_pcv pcv = { "abc123", "10.0.0.1", "home1.net", "visited net" };
    char buf[256];
    int n = ims_pcv_format(&pcv, buf, sizeof(buf));
    ck_assert_str_eq(buf, "icid-value=abc123;icid-generated-at=10.0.0.1;orig-ioi=home1.net;"
                          "term-ioi=\"visited net\"");
    ck_assert_int_eq(n, (int)strlen(buf));

    struct ims_pcv only = { "x", "", "", "" };
    ck_assert_int_eq(ims_pcv_format(&only, buf, sizeof(buf)), 12);
    ck_assert_str_eq(buf, "icid-value=x");

    struct ims_pcv none = { "", "", "", "o" };
    ck_assert_int_lt(ims_pcv_format(&none, buf, sizeof(buf)), 0);
    ck_assert_int_eq(ims_pcv_format(&pcv, buf, 20), -ENOSPC);
}
END_TEST

START_TEST(test_pcv_round_trip)
{
    static const struct ims_pcv cases[] = {
        { "1234bc9876e", "192.0.6.8", "home1.net", "" },
        { "AyretyU0dm+6O2IrT5tAFrbHLso=023551024", "", "", "ims.mnc001.mcc001.3gppnetwork.org" },
        { "a;b c", "[2001:db8::1]", "o ioi", "t,ioi" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512];
        struct ims_pcv back;
        ck_assert_int_gt(ims_pcv_format(&cases[i], buf, sizeof(buf)), 0);
        ck_assert_msg(ims_pcv_parse(buf, &back) == 0, "cannot parse back: %s", buf);
        ck_assert_str_eq(back.icid, cases[i].icid);
        ck_assert_str_eq(back.generated_at, cases[i].generated_at);
        ck_assert_str_eq(back.orig_ioi, cases[i].orig_ioi);
        ck_assert_str_eq(back.term_ioi, cases[i].term_ioi);
    }
}
END_TEST

/*
 * Found by tests/fuzz/sip_hdr (corpus file pcfa-stray-quote.txt): a value with a quote
 * inside it was kept and formatted again between quotes without escaping, which wrote a
 * malformed header ("ecf=""aaa://x"junk""). Such values are refused now; quoted-pairs are
 * undone on reading and written back escaped.
 */
START_TEST(test_quoted_strings)
{
    struct ims_pcfa pcfa;
    struct ims_pcv pcv, back;
    struct ims_pvni pvni, pback;
    char buf[512];
    ck_assert_int_eq(ims_pcfa_parse("ccf=1.2.3.4; ecf=\"aaa://ecf.example;transport=tcp\"\r\n"
                                    "X: y", &pcfa), -EINVAL);
    ck_assert_int_eq(ims_pcfa_parse("ccf=a\"b", &pcfa), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid-value=\"a\"b\"", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pcv_parse("icid-value=\"a\rb\"", &pcv), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("\"a\"b\"", &pvni), -EINVAL);
    /* escaped quote and backslash, a separator after an escaped backslash */
    ck_assert_int_eq(ims_pcv_parse("icid-value=\"a\\\"b\\\\\";orig-ioi=\"o;\\\\\"", &pcv), 0);
    ck_assert_str_eq(pcv.icid, "a\"b\\");
    ck_assert_str_eq(pcv.orig_ioi, "o;\\");
    ck_assert_int_gt(ims_pcv_format(&pcv, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "icid-value=\"a\\\"b\\\\\";orig-ioi=\"o;\\\\\"");
    ck_assert_int_eq(ims_pcv_parse(buf, &back), 0);
    ck_assert_mem_eq(&pcv, &back, sizeof(pcv));
    ck_assert_int_eq(ims_pvni_parse("\"Visited \\\"Net\\\"\";x=1, other", &pvni), 0);
    ck_assert_str_eq(pvni.id[0], "Visited \"Net\"");
    ck_assert_int_gt(ims_pvni_format(&pvni, buf, sizeof(buf)), 0);
    ck_assert_int_eq(ims_pvni_parse(buf, &pback), 0);
    ck_assert_mem_eq(&pvni, &pback, sizeof(pvni));
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

START_TEST(test_icid_generate)
{
    enum { N = 10000, W = 48 };
    char (*ids)[W] = calloc(N, W);
    ck_assert_ptr_nonnull(ids);
    for (int i = 0; i < N; i++)
        ims_icid_generate(ids[i], W, "10.0.0.1");
    size_t len = strlen(ids[0]);
    ck_assert_uint_ge(len, 16);
    /* the first bad one is named; one ck_assert at the end, not 230 000 (each is a write to
     * Check's log: seconds under ASan on a loaded machine, toward the tcase's timeout) */
    const char *bad = NULL, *why = "";
    for (int i = 0; i < N && !bad; i++) {
        bool hex = true;
        for (const char *p = ids[i]; *p; p++)
            hex = hex && isxdigit((unsigned char)*p);
        if (strlen(ids[i]) != len)
            why = "another length than the first";
        else if (!hex)
            why = "not hex";
        else if (strncmp(ids[i], ids[0], 8) != 0)
            why = "node part changed";
        if (*why)
            bad = ids[i];
    }
    ck_assert_msg(!bad, "%s: %s (first %s)", why, bad ? bad : "", ids[0]);
    qsort(ids, N, W, cmp_str);
    for (int i = 1; i < N && !bad; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            bad = ids[i];
    ck_assert_msg(!bad, "duplicate icid %s", bad ? bad : "");

    char other[W];
    ims_icid_generate(other, sizeof(other), "10.0.0.2");
    ck_assert_msg(strncmp(other, ids[0], 8) != 0, "nodes share a node part: %s", other);
    ims_icid_generate(other, sizeof(other), "10.0.0.1");
    ck_assert(strncmp(other, ids[0], 8) == 0);
    free(ids);
}
END_TEST

/* ---- P-Charging-Function-Addresses ---- */

START_TEST(test_pcfa_parse)
{
    struct ims_pcfa a;
    ck_assert_int_eq(ims_pcfa_parse("ccf=192.1.1.1; ccf=192.1.1.2; ecf=192.1.1.3; "
                                    "ecf=192.1.1.4", &a), 0);
    ck_assert_int_eq(a.nccf, 2);
    ck_assert_int_eq(a.necf, 2);
    ck_assert_str_eq(a.ccf[0], "192.1.1.1");
    ck_assert_str_eq(a.ccf[1], "192.1.1.2");
    ck_assert_str_eq(a.ecf[0], "192.1.1.3");
    ck_assert_str_eq(a.ecf[1], "192.1.1.4");

    ck_assert_int_eq(ims_pcfa_parse("ccf=\"aaa://ocs.ims.net:3868;transport=tcp\";"
                                    "ccf=c2.ims.net;ccf=c3.ims.net;other=1", &a), 0);
    ck_assert_int_eq(a.nccf, 2);   /* at most IMS_PCFA_MAX */
    ck_assert_int_eq(a.necf, 0);
    ck_assert_str_eq(a.ccf[0], "aaa://ocs.ims.net:3868;transport=tcp");
    ck_assert_str_eq(a.ccf[1], "c2.ims.net");

    ck_assert_int_eq(ims_pcfa_parse("ecf=[2001:db8::2]", &a), 0);
    ck_assert_int_eq(a.necf, 1);
    ck_assert_str_eq(a.ecf[0], "[2001:db8::2]");
}
END_TEST

START_TEST(test_pcfa_errors)
{
    struct ims_pcfa a;
    ck_assert_int_eq(ims_pcfa_parse("", &a), -EINVAL);
    ck_assert_int_eq(ims_pcfa_parse("foo=bar", &a), -EINVAL);
    ck_assert_int_eq(ims_pcfa_parse("ccf=\"aaa://x", &a), -EINVAL);

    struct ims_pcfa empty = { .nccf = 0, .necf = 0 };
    char buf[64];
    ck_assert_int_eq(ims_pcfa_format(&empty, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_pcfa_format_round_trip)
{
    struct ims_pcfa a = { .nccf = 2, .necf = 1 };
    snprintf(a.ccf[0], sizeof(a.ccf[0]), "aaa://ocs.ims.net:3868;transport=tcp");
    snprintf(a.ccf[1], sizeof(a.ccf[1]), "192.1.1.2");
    snprintf(a.ecf[0], sizeof(a.ecf[0]), "[2001:db8::2]");
    char buf[256];
    int n = ims_pcfa_format(&a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "ccf=\"aaa://ocs.ims.net:3868;transport=tcp\";ccf=192.1.1.2;"
                          "ecf=[2001:db8::2]");
    ck_assert_int_eq(n, (int)strlen(buf));

    struct ims_pcfa back;
    ck_assert_int_eq(ims_pcfa_parse(buf, &back), 0);
    ck_assert_int_eq(back.nccf, 2);
    ck_assert_int_eq(back.necf, 1);
    ck_assert_str_eq(back.ccf[0], a.ccf[0]);
    ck_assert_str_eq(back.ccf[1], a.ccf[1]);
    ck_assert_str_eq(back.ecf[0], a.ecf[0]);
    ck_assert_int_eq(ims_pcfa_format(&a, buf, 10), -ENOSPC);
}
END_TEST

/* ---- P-Visited-Network-ID ---- */

START_TEST(test_pvni_parse)
{
    struct ims_pvni v;
    ck_assert_int_eq(ims_pvni_parse("other.net", &v), 0);
    ck_assert_int_eq(v.n, 1);
    ck_assert_str_eq(v.id[0], "other.net");

    ck_assert_int_eq(ims_pvni_parse("\"Visited network number 1\"; x=y, other.net;z, "
                                    "\"a, b\"", &v), 0);
    ck_assert_int_eq(v.n, 3);
    ck_assert_str_eq(v.id[0], "Visited network number 1");
    ck_assert_str_eq(v.id[1], "other.net");
    ck_assert_str_eq(v.id[2], "a, b");
}
END_TEST

START_TEST(test_pvni_errors)
{
    struct ims_pvni v;
    ck_assert_int_eq(ims_pvni_parse("", &v), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("bad token", &v), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("a@b", &v), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("\"open", &v), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("\"\"", &v), -EINVAL);
    ck_assert_int_eq(ims_pvni_parse("ok.net, ", &v), -EINVAL);
}
END_TEST

START_TEST(test_pvni_format_round_trip)
{
    struct ims_pvni v = { .n = 2 };
    snprintf(v.id[0], sizeof(v.id[0]), "Visited Network");
    snprintf(v.id[1], sizeof(v.id[1]), "other.net");
    char buf[128];
    int n = ims_pvni_format(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "\"Visited Network\", other.net");
    ck_assert_int_eq(n, (int)strlen(buf));

    struct ims_pvni back;
    ck_assert_int_eq(ims_pvni_parse(buf, &back), 0);
    ck_assert_int_eq(back.n, 2);
    ck_assert_str_eq(back.id[0], "Visited Network");
    ck_assert_str_eq(back.id[1], "other.net");
    ck_assert_int_eq(ims_pvni_format(&v, buf, 12), -ENOSPC);
}
END_TEST

/* ---- name-addr lists (P-Associated-URI) ---- */

static su_home_t home[1];

static void home_setup(void)
{
    ck_assert_int_eq(su_home_init(home), 0);
}

static void home_teardown(void)
{
    su_home_deinit(home);
}

START_TEST(test_addr_list)
{
    const char *value = "<sip:alice@ims.net>, \"Alice\" <tel:+15551234>;x=1, "
                        "<sip:+15551234@ims.net;user=phone>";
    sip_route_t *l = ims_addr_list_parse(home, value);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->r_url->url_user, "alice");
    ck_assert_str_eq(l->r_url->url_host, "ims.net");
    ck_assert_ptr_nonnull(l->r_next);
    ck_assert_int_eq(l->r_next->r_url->url_type, url_tel);
    ck_assert_str_eq(l->r_next->r_display, "\"Alice\"");
    ck_assert_ptr_nonnull(l->r_next->r_next);
    ck_assert_str_eq(l->r_next->r_next->r_url->url_params, "user=phone");
    ck_assert_ptr_null(l->r_next->r_next->r_next);

    char buf[256];
    int n = ims_addr_list_format(l, buf, sizeof(buf));
    ck_assert_str_eq(buf, value);
    ck_assert_int_eq(n, (int)strlen(value));
    ck_assert_int_eq(ims_addr_list_format(l, buf, 30), -ENOSPC);
}
END_TEST

START_TEST(test_addr_list_bad)
{
    ck_assert_ptr_null(ims_addr_list_parse(home, "<sip:alice@ims.net"));
    ck_assert_ptr_null(ims_addr_list_parse(home, "<sip:a@ims.net>, <"));
}
END_TEST

/* ---- helpers on a parsed message ---- */

static const char register_text[] =
    "REGISTER sip:ims.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:alice@ims.net>\r\n"
    "From: <sip:alice@ims.net>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@10.0.0.1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Record-Route: <sip:old.ims.net;lr>\r\n"
    "P-Charging-Vector: icid-value=abc123;orig-ioi=home1.net\r\n"
    "P-Visited-Network-ID: \"Visited Network\"\r\n"
    "p-visited-network-id: other.net\r\n"
    "P-Asserted-Identity: <sip:fake@evil.net>\r\n"
    "P-Asserted-Identity: <tel:+15550000>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static msg_t *msg;
static sip_t *sip;
static char *text;   /* last serialization, from home */

static void msg_setup(void)
{
    home_setup();
    msg = msg_make(sip_default_mclass(), 0, register_text, (ssize_t)strlen(register_text));
    ck_assert_ptr_nonnull(msg);
    sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip);
    ck_assert_ptr_nonnull(sip->sip_call_id);
}

static void msg_teardown(void)
{
    msg_destroy(msg);
    msg = NULL;
    home_teardown();
}

/* A Record-Route list (its own header class) formats like a Route list: the P-CSCF keeps the
 * Record-Route set of a request this way (a Route encoder asserts on other classes) */
START_TEST(test_addr_list_format_record_route)
{
    char buf[256];
    ck_assert_int_eq(ims_addr_list_format((const sip_route_t *)sip->sip_record_route, buf,
                                          sizeof(buf)), (int)strlen("<sip:old.ims.net;lr>"));
    ck_assert_str_eq(buf, "<sip:old.ims.net;lr>");
}
END_TEST

static const char *serialize(void)
{
    ck_assert_int_eq(msg_serialize(msg, (msg_pub_t *)sip), 0);
    size_t len = 0;
    text = msg_as_string(home, msg, NULL, 0, &len);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Offset of @needle in the serialized message; fails when absent. */
static long pos(const char *needle)
{
    const char *p = strstr(text, needle);
    ck_assert_msg(p != NULL, "'%s' not in:\n%s", needle, text);
    return p - text;
}

static int occurrences(const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static url_t *url(const char *s)
{
    url_t *u = url_make(home, s);
    ck_assert_ptr_nonnull(u);
    return u;
}

START_TEST(test_header_lookup)
{
    ck_assert_str_eq(ims_sip_header(sip, "P-Charging-Vector"),
                     "icid-value=abc123;orig-ioi=home1.net");
    ck_assert_str_eq(ims_sip_header(sip, "p-charging-vector"),
                     "icid-value=abc123;orig-ioi=home1.net");
    ck_assert_str_eq(ims_sip_header(sip, "P-Visited-Network-ID"), "\"Visited Network\"");
    ck_assert_ptr_null(ims_sip_header(sip, "P-Charging-Function-Addresses"));
    ck_assert_ptr_null(ims_sip_header(NULL, "P-Charging-Vector"));
}
END_TEST

START_TEST(test_header_remove)
{
    ck_assert_int_eq(ims_sip_header_remove(msg, sip, "P-Visited-Network-ID"), 2);
    ck_assert_ptr_null(ims_sip_header(sip, "P-Visited-Network-ID"));
    ck_assert_int_eq(ims_sip_header_remove(msg, sip, "P-Visited-Network-ID"), 0);
    ck_assert_str_eq(ims_sip_header(sip, "P-Charging-Vector"),
                     "icid-value=abc123;orig-ioi=home1.net");
    serialize();
    ck_assert_int_eq(occurrences("Visited"), 0);
    ck_assert_int_eq(occurrences("visited"), 0);
    pos("P-Charging-Vector: icid-value=abc123");
}
END_TEST

START_TEST(test_header_add)
{
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "P-Charging-Function-Addresses",
                                        "ccf=192.1.1.1"), 0);
    ck_assert_str_eq(ims_sip_header(sip, "P-Charging-Function-Addresses"), "ccf=192.1.1.1");
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "Subject", "hello there"), 0);
    ck_assert_ptr_nonnull(sip->sip_subject);
    ck_assert_str_eq(sip->sip_subject->g_value, "hello there");

    serialize();
    long end = pos("\r\n\r\n");
    ck_assert_int_lt(pos("P-Charging-Function-Addresses: ccf=192.1.1.1\r\n"), end);
    ck_assert_int_lt(pos("Subject: hello there\r\n"), end);
    ck_assert_int_eq(end + 4, (long)strlen(text));   /* no body appeared */

    /* the result parses back to the same headers */
    msg_t *again = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(again);
    ck_assert_str_eq(ims_sip_header(sip_object(again), "P-Charging-Function-Addresses"),
                     "ccf=192.1.1.1");
    msg_destroy(again);
}
END_TEST

START_TEST(test_header_add_refuses_injection)
{
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "X-Bad", "a\r\nVia: injected"), -EINVAL);
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "X-Bad: x", "a"), -EINVAL);
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "X-Bad\n", "a"), -EINVAL);
    ck_assert_ptr_null(ims_sip_header(sip, "X-Bad"));
    serialize();
    ck_assert_int_eq(occurrences("injected"), 0);
}
END_TEST

START_TEST(test_header_set)
{
    ck_assert_int_eq(ims_sip_header_set(msg, sip, "P-Visited-Network-ID", "home.net"), 0);
    ck_assert_str_eq(ims_sip_header(sip, "P-Visited-Network-ID"), "home.net");
    serialize();
    ck_assert_int_eq(occurrences("P-Visited-Network-ID: home.net\r\n"), 1);
    ck_assert_int_eq(occurrences("Visited Network"), 0);
    ck_assert_int_eq(occurrences("other.net"), 0);

    /* setting a header that was absent adds it */
    ck_assert_int_eq(ims_sip_header_set(msg, sip, "P-Charging-Function-Addresses",
                                        "ecf=10.0.0.9"), 0);
    ck_assert_str_eq(ims_sip_header(sip, "P-Charging-Function-Addresses"), "ecf=10.0.0.9");
}
END_TEST

START_TEST(test_path_push_topmost_first)
{
    ck_assert_ptr_null(sip->sip_path);
    ck_assert_int_eq(ims_sip_path_push(msg, sip, url("sip:first.ims.net;lr")), 0);
    ck_assert_int_eq(ims_sip_path_push(msg, sip, url("sip:second.ims.net:5070;lr")), 0);
    ck_assert_ptr_nonnull(sip->sip_path);
    ck_assert_str_eq(sip->sip_path->r_url->url_host, "second.ims.net");
    ck_assert_str_eq(sip->sip_path->r_url->url_port, "5070");
    ck_assert_str_eq(sip->sip_path->r_url->url_params, "lr");
    ck_assert_ptr_nonnull(sip->sip_path->r_next);
    ck_assert_str_eq(sip->sip_path->r_next->r_url->url_host, "first.ims.net");
    serialize();
    ck_assert_int_lt(pos("<sip:second.ims.net:5070;lr>"), pos("<sip:first.ims.net;lr>"));
    ck_assert_int_lt(pos("<sip:first.ims.net;lr>"), pos("\r\n\r\n"));
}
END_TEST

START_TEST(test_record_route_push_topmost_first)
{
    ck_assert_str_eq(sip->sip_record_route->r_url->url_host, "old.ims.net");
    ck_assert_int_eq(ims_sip_record_route_push(msg, sip, url("sip:pcscf.ims.net;lr")), 0);
    ck_assert_int_eq(ims_sip_record_route_push(msg, sip, url("sip:scscf.ims.net;lr")), 0);
    sip_record_route_t *rr = sip->sip_record_route;
    ck_assert_str_eq(rr->r_url->url_host, "scscf.ims.net");
    ck_assert_str_eq(rr->r_next->r_url->url_host, "pcscf.ims.net");
    ck_assert_str_eq(rr->r_next->r_next->r_url->url_host, "old.ims.net");
    ck_assert_ptr_null(rr->r_next->r_next->r_next);
    serialize();
    ck_assert_int_lt(pos("<sip:scscf.ims.net;lr>"), pos("<sip:pcscf.ims.net;lr>"));
    ck_assert_int_lt(pos("<sip:pcscf.ims.net;lr>"), pos("<sip:old.ims.net;lr>"));
}
END_TEST

START_TEST(test_service_route_appends)
{
    ck_assert_int_eq(ims_sip_service_route_add(msg, sip, url("sip:orig@scscf.ims.net;lr")), 0);
    ck_assert_int_eq(ims_sip_service_route_add(msg, sip, url("sip:second.ims.net;lr")), 0);
    ck_assert_str_eq(sip->sip_service_route->r_url->url_host, "scscf.ims.net");
    ck_assert_str_eq(sip->sip_service_route->r_next->r_url->url_host, "second.ims.net");
}
END_TEST

START_TEST(test_paid_remove_and_add)
{
    ck_assert_ptr_nonnull(sip_p_asserted_identity(sip));
    ck_assert_int_eq(ims_sip_paid_remove(msg, sip), 2);
    ck_assert_ptr_null(sip_p_asserted_identity(sip));
    ck_assert_int_eq(ims_sip_paid_remove(msg, sip), 0);
    serialize();
    ck_assert_int_eq(occurrences("P-Asserted-Identity"), 0);

    ck_assert_int_eq(ims_sip_paid_add(msg, sip, "sip:alice@ims.net"), 0);
    ck_assert_int_eq(ims_sip_paid_add(msg, sip, "tel:+15551234"), 0);
    sip_p_asserted_identity_t *paid = sip_p_asserted_identity(sip);
    ck_assert_ptr_nonnull(paid);
    int sips = 0, tels = 0;
    for (; paid; paid = paid->paid_next) {
        if (paid->paid_url->url_type == url_sip && strcmp(paid->paid_url->url_user, "alice") == 0)
            sips++;
        if (paid->paid_url->url_type == url_tel)
            tels++;
    }
    ck_assert_int_eq(sips, 1);
    ck_assert_int_eq(tels, 1);
    serialize();
    ck_assert_int_lt(pos("P-Asserted-Identity: <sip:alice@ims.net>\r\n"), pos("\r\n\r\n"));
    ck_assert_int_lt(pos("P-Asserted-Identity: <tel:+15551234>\r\n"), pos("\r\n\r\n"));
    ck_assert_int_eq(occurrences("fake@evil.net"), 0);
}
END_TEST

/* sofia-sip's url_param() read past the end of the string for a last parameter that starts
 * with the name searched for (";ftx" for "ft"); ASan sees it on the malloc'd copies here */
START_TEST(test_url_param_bounded)
{
    static const char *const lists[] = { "lr;ftx", "ft-x", "lr;ftx;ueX", "ft" };
    char v[8] = "?";
    char *p = strdup(lists[0]);
    ck_assert_int_eq(ims_url_param(p, "ft", v, sizeof(v)), 0);
    free(p);
    p = strdup(lists[1]);
    ck_assert_int_eq(ims_url_param(p, "ft", v, sizeof(v)), 0);
    free(p);
    p = strdup(lists[2]);
    ck_assert_int_eq(ims_url_param(p, "ue", v, sizeof(v)), 0);
    free(p);
    p = strdup(lists[3]);
    ck_assert_int_eq(ims_url_param(p, "ft", v, sizeof(v)), 1);   /* no value */
    ck_assert_str_eq(v, "");
    free(p);
    ck_assert_int_eq(ims_url_param("lr;FT=abc;x", "ft", v, sizeof(v)), 4);
    ck_assert_str_eq(v, "abc");
    ck_assert_int_eq(ims_url_param("ft=abcdefghij", "ft", v, sizeof(v)), 11);   /* too long */
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(ims_url_param(NULL, "ft", v, sizeof(v)), 0);
    ck_assert_int_eq(ims_url_param("", "ft", v, sizeof(v)), 0);
}
END_TEST

START_TEST(test_url_is_local)
{
    static const char *const hosts[] = { "pcscf.ims.net", "10.0.0.1", NULL };
    ck_assert(ims_sip_url_is_local(url("sip:pcscf.ims.net;lr"), hosts, 5060));
    ck_assert(ims_sip_url_is_local(url("sip:PCSCF.IMS.NET:5060"), hosts, 5060));
    ck_assert(ims_sip_url_is_local(url("sip:10.0.0.1:5070;lr"), hosts, 5070));
    ck_assert(ims_sip_url_is_local(url("sips:pcscf.ims.net"), hosts, 5061));
    ck_assert(!ims_sip_url_is_local(url("sips:pcscf.ims.net"), hosts, 5060));
    ck_assert(!ims_sip_url_is_local(url("sip:pcscf.ims.net:5070"), hosts, 5060));
    ck_assert(!ims_sip_url_is_local(url("sip:scscf.ims.net"), hosts, 5060));
    ck_assert(!ims_sip_url_is_local(url("sip:pcscf.ims.net"), NULL, 5060));
    ck_assert(!ims_sip_url_is_local(NULL, hosts, 5060));
}
END_TEST

static Suite *sip_hdr_suite(void)
{
    Suite *s = suite_create("sip_hdr");
    TCase *tc = tcase_create("charging");
    tcase_add_test(tc, test_pcv_parse);
    tcase_add_test(tc, test_pcv_parse_variants);
    tcase_add_test(tc, test_pcv_parse_errors);
    tcase_add_test(tc, test_quoted_strings);
    tcase_add_test(tc, test_pcv_format);
    tcase_add_test(tc, test_pcv_round_trip);
    tcase_add_test(tc, test_icid_generate);
    tcase_add_test(tc, test_pcfa_parse);
    tcase_add_test(tc, test_pcfa_errors);
    tcase_add_test(tc, test_pcfa_format_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("network");
    tcase_add_checked_fixture(tc, home_setup, home_teardown);
    tcase_add_test(tc, test_pvni_parse);
    tcase_add_test(tc, test_pvni_errors);
    tcase_add_test(tc, test_pvni_format_round_trip);
    tcase_add_test(tc, test_addr_list);
    tcase_add_test(tc, test_addr_list_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("message");
    tcase_add_checked_fixture(tc, msg_setup, msg_teardown);
    tcase_add_test(tc, test_header_lookup);
    tcase_add_test(tc, test_addr_list_format_record_route);
    tcase_add_test(tc, test_header_remove);
    tcase_add_test(tc, test_header_add);
    tcase_add_test(tc, test_header_add_refuses_injection);
    tcase_add_test(tc, test_header_set);
    tcase_add_test(tc, test_path_push_topmost_first);
    tcase_add_test(tc, test_record_route_push_topmost_first);
    tcase_add_test(tc, test_service_route_appends);
    tcase_add_test(tc, test_paid_remove_and_add);
    tcase_add_test(tc, test_url_is_local);
    tcase_add_test(tc, test_url_param_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    su_init();
    sip_update_default_mclass(sip_extend_mclass(NULL));
    SRunner *sr = srunner_create(sip_hdr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_deinit();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
