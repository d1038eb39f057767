/*
 * check_session.c - which requests the S-CSCF serves with a SAR UNREGISTERED_USER first
 * (scscf_session_sar, the decision scscf_session_early puts before the transaction when the
 * HSS asks for fewer requests): initial originating and terminating requests for a user
 * with no set here, never one back from an AS, within a dialog, an ACK, or one for the node
 * itself
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_parser.h>
#include <sofia-sip/su.h>

#include "daemon.h"
#include "log.h"
#include "scscf.h"
#include "sip.h"

#define ME "127.0.0.1:25131"
#define ALICE "sip:alice@ims.example.org"
#define BOB "sip:bob@ims.example.org"

static su_root_t *root;
static struct ims_daemon d;
static struct scscf s;
static struct scscf_aor alice;   /* a set stored here */
static msg_t *msg;

static void setup(void)
{
    ims_log_init("check_session", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    char *tps[] = { "udp", NULL };
    struct ims_sip_conf conf = { .address = "127.0.0.1", .port = 25131, .transports = tps,
                                 .host = "scscf.test", .node = "scscf" };
    memset(&d, 0, sizeof(d));
    d.sip = ims_sip_create(root, &conf, NULL, NULL);
    ck_assert_ptr_nonnull(d.sip);
    memset(&s, 0, sizeof(s));
    s.d = &d;
    s.aors = ims_map_create(true);
    s.tgruus = ims_map_create(false);
    ck_assert(s.aors && s.tgruus);
    int err = 0;
    memset(&alice, 0, sizeof(alice));
    ims_map_put(s.aors, ALICE, &alice, &err);
    ck_assert_int_eq(err, 0);
    msg = NULL;
}

static void teardown(void)
{
    if (msg)
        msg_destroy(msg);
    ims_map_destroy(s.aors);
    ims_map_destroy(s.tgruus);
    ims_sip_destroy(d.sip);
    su_root_destroy(root);
    su_deinit();
}

/* Whether @method to @ruri with @route ("" none), @pai ("" none), @to_tag needs a SAR */
static bool needs_sar(const char *method, const char *ruri, const char *route,
                      const char *pai, bool to_tag)
{
    char text[1024], r[160] = "", p[160] = "";
    if (*route)
        snprintf(r, sizeof(r), "Route: <%s>\r\n", route);
    if (*pai)
        snprintf(p, sizeof(p), "P-Asserted-Identity: <%s>\r\n", pai);
    snprintf(text, sizeof(text),
             "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.20:5060;branch=z9hG4bK1\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:x@ims.example.org>;tag=1\r\nTo: <%s>%s\r\n"
             "Call-ID: c1\r\nCSeq: 1 %s\r\n%s%sContent-Length: 0\r\n\r\n",
             method, ruri, ruri, to_tag ? ";tag=2" : "", method, r, p);
    if (msg)
        msg_destroy(msg);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return scscf_session_sar(&s, sip_object(msg));
}

START_TEST(terminating)
{
    ck_assert(needs_sar("INVITE", BOB, "", "", false));          /* from the I-CSCF */
    ck_assert(needs_sar("MESSAGE", "tel:+15550100002", "", "", false));
    ck_assert(!needs_sar("INVITE", ALICE, "", "", false));       /* her set is here */
    ck_assert(!needs_sar("INVITE", BOB, "", "", true));          /* within a dialog */
    ck_assert(!needs_sar("ACK", BOB, "", "", false));
    ck_assert(!needs_sar("INVITE", "mailto:bob@ims.example.org", "", "", false));   /* 416 */
    ck_assert(!needs_sar("OPTIONS", "sip:" ME, "", "", false));  /* for the node itself */
}
END_TEST

START_TEST(originating)
{
    const char *orig = "sip:" ME ";lr;orig";
    ck_assert(needs_sar("INVITE", ALICE, orig, BOB, false));     /* bob not here */
    ck_assert(!needs_sar("INVITE", BOB, orig, ALICE, false));    /* alice is */
    ck_assert(!needs_sar("INVITE", BOB, orig, "", false));       /* no P-Asserted-Id: 403 */
    /* back from an AS: the first transaction looked the user up */
    ck_assert(!needs_sar("INVITE", BOB, "sip:" ME ";lr;odi=0123abcd", BOB, false));
    /* a Route to somebody else: terminating for the Request-URI */
    ck_assert(needs_sar("INVITE", BOB, "sip:127.0.0.50:5060;lr", ALICE, false));
}
END_TEST

START_TEST(temporary_gruu)
{
    int err = 0;
    alice.impus[0] = ALICE;
    ims_map_put(s.tgruus, "tgruu1", &alice, &err);
    ck_assert(!needs_sar("INVITE", "sip:tgruu1@ims.example.org;gr", "", "", false));
    ck_assert(needs_sar("INVITE", "sip:tgruu2@ims.example.org;gr", "", "", false));
    alice.impus[0] = NULL;
}
END_TEST

int main(void)
{
    Suite *su = suite_create("scscf_session");
    TCase *tc = tcase_create("sar");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, terminating);
    tcase_add_test(tc, originating);
    tcase_add_test(tc, temporary_gruu);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
