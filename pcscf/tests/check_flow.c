/*
 * check_flow.c - the tokens the P-CSCF issues and verifies itself (pcscf/flow.c): the flow
 * token of its Path and the dialog token of its Record-Route; tokens under another key,
 * altered or of another flow are refused
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pcscf.h"

static struct ims_sip_source source(const char *ip, unsigned port, bool tcp)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &s6->sin6_addr);
        s6->sin6_port = htons((uint16_t)port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &s4->sin_addr);
        s4->sin_port = htons((uint16_t)port);
    }
    struct ims_sip_source src;
    ims_sip_source_set(&src, (const struct sockaddr *)&ss, tcp);
    return src;
}

static struct pcscf key(const char *hex)
{
    struct pcscf p;
    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(pcscf_token_key_init(&p, hex), 0);
    return p;
}

#define KEY1 "00112233445566778899aabbccddeeff"
#define KEY2 "ffeeddccbbaa99887766554433221100"

START_TEST(source_keys)
{
    struct ims_sip_source a = source("127.0.0.140", 5140, false);
    ck_assert_str_eq(a.key, "127.0.0.140:5140/udp");
    ck_assert_str_eq(a.proto, "udp");
    struct ims_sip_source b = source("2001:db8::1", 5061, true);
    ck_assert_str_eq(b.key, "[2001:db8::1]:5061/tcp");
}
END_TEST

START_TEST(flow_token_round_trip)
{
    struct pcscf p = key(KEY1);
    const char *ips[] = { "127.0.0.140", "2001:db8::7" };
    for (int i = 0; i < 2; i++) {
        for (int tcp = 0; tcp < 2; tcp++) {
            struct ims_sip_source src = source(ips[i], 40000 + (unsigned)i, tcp), out;
            char tok[96];
            ck_assert_int_eq(pcscf_flow_token(&p, &src, tok, sizeof(tok)), 0);
            ck_assert_uint_eq(strspn(tok, "0123456789abcdef"), strlen(tok));
            ck_assert_int_eq(pcscf_flow_parse(&p, tok, &out), 0);
            ck_assert_str_eq(out.key, src.key);
            ck_assert_str_eq(out.ip, src.ip);
            ck_assert_uint_eq(out.port, src.port);
            ck_assert(!out.trusted);
        }
    }
}
END_TEST

/* A TLS flow is its connection: the token names tls, and the same address and port over
 * TCP or UDP is another flow */
START_TEST(flow_token_tls)
{
    struct pcscf p = key(KEY1);
    struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(40123) };
    inet_pton(AF_INET, "127.0.0.150", &s4.sin_addr);
    struct ims_sip_source tls, tcp, out;
    ims_sip_source_set_proto(&tls, (const struct sockaddr *)&s4, "tls");
    ims_sip_source_set_proto(&tcp, (const struct sockaddr *)&s4, "tcp");
    ck_assert_str_eq(tls.key, "127.0.0.150:40123/tls");
    char tok[96], tok_tcp[96];
    ck_assert_int_eq(pcscf_flow_token(&p, &tls, tok, sizeof(tok)), 0);
    ck_assert_int_eq(pcscf_flow_token(&p, &tcp, tok_tcp, sizeof(tok_tcp)), 0);
    ck_assert_str_ne(tok, tok_tcp);
    ck_assert(strncmp(tok, "73", 2) == 0);            /* 's' */
    ck_assert_int_eq(pcscf_flow_parse(&p, tok, &out), 0);
    ck_assert_str_eq(out.key, "127.0.0.150:40123/tls");
    ck_assert_str_eq(out.proto, "tls");
    /* the transport byte changed to tcp, the tag kept: refused */
    tok[1] = '4';
    ck_assert_int_eq(pcscf_flow_parse(&p, tok, &out), -EINVAL);
    /* an unknown transport cannot have a token */
    struct ims_sip_source sctp = tls;
    snprintf(sctp.proto, sizeof(sctp.proto), "sct");
    ck_assert_int_eq(pcscf_flow_token(&p, &sctp, tok, sizeof(tok)), -EINVAL);
}
END_TEST

START_TEST(flow_token_refused_when_forged)
{
    struct pcscf p = key(KEY1), other = key(KEY2);
    struct ims_sip_source src = source("127.0.0.140", 5140, false), out;
    char tok[96], bad[96];
    ck_assert_int_eq(pcscf_flow_token(&p, &src, tok, sizeof(tok)), 0);
    /* made under another key (another P-CSCF, or a restart without pcscf.token_key) */
    ck_assert_int_eq(pcscf_flow_parse(&other, tok, &out), -EINVAL);
    /* the flow changed to another UE's port, the tag kept */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[12] = bad[12] == '0' ? '1' : '0';
    ck_assert_int_eq(pcscf_flow_parse(&p, bad, &out), -EINVAL);
    /* the tag changed */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(pcscf_flow_parse(&p, bad, &out), -EINVAL);
    /* malformed */
    ck_assert_int_eq(pcscf_flow_parse(&p, "", &out), -EINVAL);
    ck_assert_int_eq(pcscf_flow_parse(&p, "deadbeef", &out), -EINVAL);
    ck_assert_int_eq(pcscf_flow_parse(&p, "zz7f0000a11429d98f11d6989a9f41", &out), -EINVAL);
    snprintf(bad, sizeof(bad), "%sff", tok);
    ck_assert_int_eq(pcscf_flow_parse(&p, bad, &out), -EINVAL);
}
END_TEST

START_TEST(dialog_token_binds_flow_call_id_and_route_set)
{
    struct pcscf p = key(KEY1), other = key(KEY2);
    struct ims_sip_source alice = source("127.0.0.120", 5301, false);
    struct ims_sip_source neighbour = source("127.0.0.120", 5302, false);
    struct ims_sip_source alice_tcp = source("127.0.0.120", 5301, true);
    const char *routes = "sip:127.0.0.30:5060;lr,sip:127.0.0.10:5060;lr;ue=0011223344556677";
    char tok[40];
    ck_assert_int_eq(pcscf_dialog_token(&p, &alice, "call-1", routes, tok, sizeof(tok)), 0);
    ck_assert_uint_eq(strlen(tok), 16);
    ck_assert(pcscf_dialog_token_ok(&p, &alice, "call-1", routes, tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-2", routes, tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &neighbour, "call-1", routes, tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice_tcp, "call-1", routes, tok));
    ck_assert(!pcscf_dialog_token_ok(&other, &alice, "call-1", routes, tok));
    /* another route set after our entry: a hop skipped, or one of the UE's own */
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1", "sip:127.0.0.30:5060;lr", tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1", "", tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1",
                                     "sip:127.0.0.152:5099;lr,sip:127.0.0.10:5060;lr", tok));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1", routes, ""));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1", routes, NULL));
    ck_assert(!pcscf_dialog_token_ok(&p, &alice, "call-1", routes, "0123456789abcdef"));
    struct ims_sip_source none = { 0 };
    ck_assert_int_eq(pcscf_dialog_token(&p, &none, "call-1", routes, tok, sizeof(tok)),
                     -EINVAL);
}
END_TEST

START_TEST(key_from_config)
{
    struct pcscf p;
    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(pcscf_token_key_init(&p, "0011"), -EINVAL);          /* too short */
    ck_assert_int_eq(pcscf_token_key_init(&p, KEY1 "zz"), -EINVAL);
    ck_assert_int_eq(pcscf_token_key_init(&p, KEY1), 0);
    ck_assert_uint_eq(p.token_key_len, 16);
    struct pcscf r1, r2;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    ck_assert_int_eq(pcscf_token_key_init(&r1, ""), 0);                   /* random */
    ck_assert_int_eq(pcscf_token_key_init(&r2, NULL), 0);
    ck_assert_int_ne(memcmp(r1.token_key, r2.token_key, sizeof(r1.token_key)), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("flow");
    tcase_add_test(tc, source_keys);
    tcase_add_test(tc, flow_token_round_trip);
    tcase_add_test(tc, flow_token_tls);
    tcase_add_test(tc, flow_token_refused_when_forged);
    tcase_add_test(tc, dialog_token_binds_flow_call_id_and_route_set);
    tcase_add_test(tc, key_from_config);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
