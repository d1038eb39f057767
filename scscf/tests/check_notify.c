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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
