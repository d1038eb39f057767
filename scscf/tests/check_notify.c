/*
 * check_notify.c - who may subscribe to a user's reg event at the S-CSCF (scscf/notify.c,
 * TS 24.229 5.4.2.1.1): the user through the P-CSCF of its Path, the P-CSCF of the Path of
 * a binding, an AS of the user's iFCs or of the configuration; nobody else, and nobody
 * whose asserted identity comes from an untrusted source
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "scscf.h"

static struct scscf_aor aor;
static struct scscf_contact ct1, ct2;

static void setup(void)
{
    memset(&aor, 0, sizeof(aor));
    memset(&ct1, 0, sizeof(ct1));
    memset(&ct2, 0, sizeof(ct2));
    /* a registration set's identities are each their own allocation (string literals here:
     * the tests never free them) */
    aor.impus[0] = (char *)"sip:alice@ims.example.org";
    aor.impus[1] = (char *)"tel:+15550100001";
    aor.nimpus = 2;
    /* a kept binding's strings are never NULL ("" when absent) */
    struct scscf_contact *cts[2] = { &ct1, &ct2 };
    for (int i = 0; i < 2; i++)
        cts[i]->instance = cts[i]->call_id = cts[i]->impi = cts[i]->user_agent = "";
    ct1.uri = "sip:alice@127.0.0.131:5231";
    ct1.path = "<sip:term@127.0.1.11:5060;lr>";
    ct2.uri = "sip:alice@127.0.0.132:5232";
    ct2.path = "<sip:pcscf.visited.example.org;lr>, <sip:ibcf.visited.example.org;lr>";
    ct1.next = &ct2;
    aor.contacts = &ct1;
}

/* What @who is, asserted from a trusted source (@trusted) coming from the Path (@path) */
static enum scscf_watcher_kind kind_of(const char *who, bool trusted, bool path,
                                       const char *const *as, int nas)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    struct scscf_watcher w = { .asserted = who ? url_make(home, who) : NULL,
                               .trusted_source = trusted, .from_path = path };
    enum scscf_watcher_kind k = scscf_notify_authorise(&aor, &w, as, nas);
    su_home_deinit(home);
    return k;
}

/* May @who watch, asserted by a trusted peer from the user's Path? */
static bool may(const char *who, const char *const *as, int nas)
{
    return kind_of(who, true, true, as, nas) != SCSCF_WATCHER_NONE;
}

START_TEST(the_user)
{
    ck_assert(may("sip:alice@ims.example.org", NULL, 0));
    ck_assert(may("sip:alice@ims.example.org:5060;transport=udp", NULL, 0));   /* its IMPU */
    ck_assert(may("sip:alice@IMS.EXAMPLE.ORG", NULL, 0));   /* as the store compares them */
    ck_assert(may("tel:+15550100001", NULL, 0));
    ck_assert(!may("sip:bob@ims.example.org", NULL, 0));
    ck_assert(!may("tel:+15550100002", NULL, 0));
}
END_TEST

START_TEST(the_pcscf_of_the_path)
{
    ck_assert(may("sip:term@127.0.1.11:5060", NULL, 0));
    ck_assert(may("sip:term@127.0.1.11:5060;lr", NULL, 0));      /* parameters do not count */
    ck_assert(may("sip:term@127.0.1.11", NULL, 0));              /* 5060 is the default */
    ck_assert(may("sip:pcscf.visited.example.org", NULL, 0));    /* any entry of any binding */
    ck_assert(may("sip:ibcf.visited.example.org:5060", NULL, 0));
    ck_assert(!may("sip:term@127.0.1.11:5070", NULL, 0));        /* another port */
    ck_assert(!may("sip:orig@127.0.1.11:5060", NULL, 0));        /* another user part */
    ck_assert(!may("sip:127.0.1.11:5060", NULL, 0));
    ck_assert(!may("sips:term@127.0.1.11:5060", NULL, 0));       /* another scheme */
    ck_assert(!may("sip:pcscf.ims.example.org", NULL, 0));       /* not in any Path */
    aor.contacts = NULL;                                         /* no binding, no Path */
    ck_assert(!may("sip:term@127.0.1.11:5060", NULL, 0));
}
END_TEST

START_TEST(an_as_of_the_ifcs)
{
    const char *as[] = { "sip:as1.ims.example.org:5060", "sip:AS2.ims.example.org" };
    ck_assert(may("sip:as1.ims.example.org", as, 2));
    ck_assert(may("sip:presence@as2.ims.example.org:5070", as, 2));   /* the host decides */
    ck_assert(!may("sip:as3.ims.example.org", as, 2));
    ck_assert(!may("sip:as2.ims.example.org", as, 1));
    ck_assert(!may("tel:+15550100009", as, 2));
    ck_assert_int_eq(kind_of(NULL, true, true, as, 2), SCSCF_WATCHER_NONE);
    ck_assert_int_eq(kind_of("sip:as1.ims.example.org", true, false, as, 2), SCSCF_WATCHER_AS);
}
END_TEST

START_TEST(the_user_only_through_its_path)
{
    /* (a): the identity alone is not enough, the request must come from the Path */
    ck_assert_int_eq(kind_of("sip:alice@ims.example.org", true, true, NULL, 0),
                     SCSCF_WATCHER_UE);
    ck_assert_int_eq(kind_of("sip:alice@ims.example.org", true, false, NULL, 0),
                     SCSCF_WATCHER_NONE);
    ck_assert_int_eq(kind_of("tel:+15550100001", true, false, NULL, 0), SCSCF_WATCHER_NONE);
    /* (b): the P-CSCF asserts its Path URI; where it sends from is for the trust check */
    ck_assert_int_eq(kind_of("sip:term@127.0.1.11:5060", true, false, NULL, 0),
                     SCSCF_WATCHER_PCSCF);
}
END_TEST

START_TEST(nothing_from_an_untrusted_source)
{
    const char *as[] = { "sip:as1.ims.example.org" };
    ck_assert_int_eq(kind_of("sip:alice@ims.example.org", false, true, as, 1),
                     SCSCF_WATCHER_NONE);
    ck_assert_int_eq(kind_of("sip:term@127.0.1.11:5060", false, true, as, 1),
                     SCSCF_WATCHER_NONE);
    ck_assert_int_eq(kind_of("sip:as1.ims.example.org", false, true, as, 1),
                     SCSCF_WATCHER_NONE);
}
END_TEST

static bool lab_hosts(void *arg, const char *host, char *ip, size_t len)
{
    (void)arg;
    if (strcasecmp(host, "pcscf.visited.example.org") != 0)
        return false;
    snprintf(ip, len, "%s", "192.0.2.10");
    return true;
}

START_TEST(source_in_the_path)
{
    ck_assert(scscf_notify_in_path(&aor, "127.0.1.11", NULL, NULL));
    ck_assert(!scscf_notify_in_path(&aor, "127.0.1.12", NULL, NULL));
    ck_assert(!scscf_notify_in_path(&aor, "", NULL, NULL));
    ck_assert(!scscf_notify_in_path(&aor, NULL, NULL, NULL));
    /* a Path host that is a name: by the daemon's host table, never DNS */
    ck_assert(!scscf_notify_in_path(&aor, "192.0.2.10", NULL, NULL));
    ck_assert(scscf_notify_in_path(&aor, "192.0.2.10", lab_hosts, NULL));
    ck_assert(!scscf_notify_in_path(&aor, "192.0.2.11", lab_hosts, NULL));
    /* addresses compared as addresses */
    ct1.path = "<sip:term@[2001:db8::1]:5060;lr>";
    ck_assert(scscf_notify_in_path(&aor, "2001:db8:0:0::1", NULL, NULL));
    ck_assert(!scscf_notify_in_path(&aor, "2001:db8::2", NULL, NULL));
    aor.contacts = NULL;
    ck_assert(!scscf_notify_in_path(&aor, "127.0.1.11", NULL, NULL));
}
END_TEST

/* ---- scscf.max_subscriptions before the transaction (scscf_subscribe_early) ---- */

static struct scscf sc;
static msg_t *msg;

/* A SUBSCRIBE to @ruri with the header lines @headers, in @msg (freed by early()); @to_tag
 * (may be "") makes it one of a dialog */
static const sip_t *subscribe(const char *ruri, const char *to_tag, const char *headers)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "SUBSCRIBE %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.1.11:5060;branch=z9hG4bK1\r\n"
             "From: <sip:alice@ims.example.org>;tag=1\r\nTo: <%s>%s%s\r\n"
             "Call-ID: s1\r\nCSeq: 1 SUBSCRIBE\r\n%s"
             "Content-Length: 0\r\n\r\n", ruri, ruri,
             to_tag[0] ? ";tag=" : "", to_tag, headers);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

#define ALICE "sip:alice@ims.example.org"
#define EVENT "Event: reg\r\n"
#define CONTACT "Contact: <sip:term@127.0.1.11:5060>\r\n"
#define PAI "P-Asserted-Identity: <" ALICE ">\r\n"

/* scscf_subscribe_early on a SUBSCRIBE to @ruri (To tag @to_tag) with @headers from @src */
static bool early_tagged(const char *ruri, const char *to_tag, const char *headers,
                         const struct ims_sip_source *src, struct ims_sip_refusal *r)
{
    memset(r, 0, sizeof(*r));
    bool refused = scscf_subscribe_early(&sc, subscribe(ruri, to_tag, headers), src, r);
    msg_destroy(msg);
    return refused;
}

static bool early(const char *ruri, const char *headers, const struct ims_sip_source *src,
                  struct ims_sip_refusal *r)
{
    return early_tagged(ruri, "", headers, src, r);
}

START_TEST(subscription_bound_before_the_transaction)
{
    int err = 0;
    sip_update_default_mclass(sip_extend_mclass(NULL));   /* P-Asserted-Identity parsed */
    memset(&sc, 0, sizeof(sc));
    sc.aors = ims_map_create(true);
    ck_assert_ptr_nonnull(sc.aors);
    ims_map_put(sc.aors, ALICE, &aor, &err);
    ck_assert_int_eq(err, 0);
    ct1.next = NULL;              /* a Path of addresses; the source is its first entry */
    sc.retry_after = 30;
    sc.max_subscriptions = 1;
    struct ims_sip_source pcscf = { .ip = "127.0.1.11", .trusted = true };
    struct ims_sip_refusal r;
    ck_assert(!early(ALICE, EVENT CONTACT PAI, &pcscf, &r));      /* room */
    sc.max_subscriptions = 0;     /* the set is at its bound (0 here: no dialogs to make) */
    ck_assert(early(ALICE, EVENT CONTACT PAI, &pcscf, &r));
    ck_assert_int_eq(r.status, 503);
    ck_assert_uint_eq(r.retry_after, 30);                         /* scscf.retry_after */
    ck_assert_str_eq(r.why, "too many reg-event subscriptions to this registration (at most 0)");
    ck_assert(early(ALICE, EVENT CONTACT PAI "Expires: 600\r\n", &pcscf, &r));
    /* what scscf_subscribe answers first stays with the transaction */
    ck_assert(!early(ALICE, EVENT CONTACT PAI "Expires: 0\r\n", &pcscf, &r));   /* a fetch */
    ck_assert(!early(ALICE, EVENT PAI, &pcscf, &r));                 /* 400: no Contact */
    ck_assert(!early(ALICE, EVENT CONTACT, &pcscf, &r));             /* 403: no PAI */
    /* (the user from outside her Path, 403, would ask the daemon's resolver: see above) */
    struct ims_sip_source untrusted = { .ip = "127.0.1.11", .trusted = false };
    ck_assert(!early(ALICE, EVENT CONTACT PAI, &untrusted, &r));     /* 403 in main.c */
    ck_assert(!early(ALICE, "Event: presence\r\n" CONTACT PAI, &pcscf, &r));  /* routed */
    ck_assert(!early_tagged(ALICE, "2", EVENT CONTACT PAI, &pcscf, &r));    /* a dialog's */
    ck_assert(!early("sip:bob@ims.example.org", EVENT CONTACT PAI, &pcscf, &r));
    aor.contacts = NULL;
    ck_assert(!early(ALICE, EVENT CONTACT PAI, &pcscf, &r));      /* 403: not registered */
    ims_map_destroy(sc.aors);
}
END_TEST

/* ---- the dialog of a subscription (scscf_notify_in_dialog), as nta matched its leg ---- */

/* Whether a SUBSCRIBE with @call_id and From tag @from_tag (NULL: none) is in the dialog
 * of Call-ID "a84b4c76e66710" whose watcher's tag is @rtag */
static bool in_dialog(const char *call_id, const char *from_tag, const char *rtag)
{
    char text[512];
    snprintf(text, sizeof(text),
             "SUBSCRIBE sip:scscf.ims.example.org SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.1.11:5060;branch=z9hG4bK2\r\n"
             "From: <sip:pcscf.ims.example.org>%s%s\r\n"
             "To: <" "sip:alice@ims.example.org" ">;tag=ours\r\n"
             "Call-ID: %s\r\nCSeq: 2 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n",
             from_tag ? ";tag=" : "", from_tag ? from_tag : "", call_id);
    msg_t *m = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(m);
    bool in = scscf_notify_in_dialog("a84b4c76e66710", rtag, sip_object(m));
    msg_destroy(m);
    return in;
}

START_TEST(a_request_of_the_dialog)
{
    ck_assert(in_dialog("a84b4c76e66710", "w1", "w1"));
    ck_assert(in_dialog("a84b4c76e66710", "W1", "w1"));      /* tags: any case */
    ck_assert(!in_dialog("a84b4c76e66710", "w2", "w1"));     /* another watcher: 481 */
    ck_assert(!in_dialog("a84b4c76e66710", NULL, "w1"));     /* no From tag */
    ck_assert(!in_dialog("A84B4C76E66710", "w1", "w1"));     /* Call-ID: exact */
    ck_assert(!in_dialog("a84b4c76e66711", "w1", "w1"));
    ck_assert(in_dialog("a84b4c76e66710", "w2", ""));        /* a watcher without a tag */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_notify");
    TCase *tc = tcase_create("may_subscribe");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, the_user);
    tcase_add_test(tc, the_pcscf_of_the_path);
    tcase_add_test(tc, an_as_of_the_ifcs);
    tcase_add_test(tc, the_user_only_through_its_path);
    tcase_add_test(tc, nothing_from_an_untrusted_source);
    tcase_add_test(tc, source_in_the_path);
    tcase_add_test(tc, subscription_bound_before_the_transaction);
    tcase_add_test(tc, a_request_of_the_dialog);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
