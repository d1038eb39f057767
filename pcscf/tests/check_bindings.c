/*
 * check_bindings.c - the P-CSCF binding store and identity choice (pcscf/bindings.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcscf.h"

#define ALICE "sip:alice@ims.example.org"

static int removed;
static void on_remove(void *arg, struct pcscf_binding *b)
{
    (void)arg;
    (void)b;
    removed++;
}

/* A binding input: source ip:port, IMPU, one contact expiring at @exp */
static struct pcscf_draft *input(const char *ip, unsigned port, const char *impu, time_t exp)
{
    static struct pcscf_draft in;
    memset(&in, 0, sizeof(in));
    snprintf(in.src.ip, sizeof(in.src.ip), "%s", ip);
    in.src.port = port;
    snprintf(in.src.proto, sizeof(in.src.proto), "udp");
    snprintf(in.src.key, sizeof(in.src.key), "%s:%u", ip, port);   /* any key form will do */
    snprintf(in.impu, sizeof(in.impu), "%s", impu);
    snprintf(in.ids[0], sizeof(in.ids[0]), "%s", impu);
    snprintf(in.ids[1], sizeof(in.ids[1]), "tel:+15550100001");
    in.nids = 2;
    snprintf(in.routes[0], sizeof(in.routes[0]), "<sip:orig@scscf.ims.example.org;lr>");
    in.nroutes = 1;
    snprintf(in.contacts[0].uri, sizeof(in.contacts[0].uri), "sip:alice@%s:%u", ip, port);
    in.contacts[0].expires = exp;
    in.ncontacts = 1;
    return &in;
}

START_TEST(add_find_refresh_remove)
{
    removed = 0;
    struct pcscf_bindings *s = pcscf_bindings_create(10, on_remove, NULL);
    struct pcscf_binding *b = NULL;
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 700), 100, &b),
                     PCSCF_SAVE_NEW);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(b->expires, 700);
    ck_assert_int_eq(pcscf_bindings_count(s), 1);
    ck_assert_ptr_eq(pcscf_bindings_find(s, "10.0.0.1:5060", ALICE), b);
    ck_assert_ptr_eq(pcscf_bindings_by_source(s, "10.0.0.1:5060", 100), b);
    ck_assert_ptr_null(pcscf_bindings_by_source(s, "10.0.0.1:5061", 100));
    ck_assert_ptr_null(pcscf_bindings_next(b, 100));

    /* refresh: same source and IMPU, longer expiry, same binding object */
    b->sub_refused = true;
    struct pcscf_binding *b2 = NULL;
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 900), 200, &b2),
                     PCSCF_SAVE_REFRESH);
    ck_assert_ptr_eq(b2, b);
    ck_assert_int_eq(b->expires, 900);
    ck_assert(b->sub_refused);          /* kept across refreshes */
    ck_assert_int_eq(pcscf_bindings_count(s), 1);

    /* a de-registration (no contact left) removes it */
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 200), 200, &b2),
                     PCSCF_SAVE_REMOVED);
    ck_assert_ptr_null(b2);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(pcscf_bindings_count(s), 0);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 0), 200, &b2),
                     PCSCF_SAVE_NONE);
    pcscf_bindings_destroy(s);
}
END_TEST

START_TEST(expiry)
{
    removed = 0;
    struct pcscf_bindings *s = pcscf_bindings_create(10, on_remove, NULL);
    struct pcscf_binding *b = NULL;
    struct pcscf_draft *in = input("10.0.0.1", 5060, ALICE, 300);
    snprintf(in->contacts[1].uri, sizeof(in->contacts[1].uri), "sip:alice@10.0.0.1:5070");
    in->contacts[1].expires = 500;
    in->ncontacts = 2;
    pcscf_bindings_save(s, in, 100, &b);
    pcscf_bindings_save(s, input("10.0.0.2", 5060, "sip:bob@ims.example.org", 400), 100, &b);
    ck_assert_int_eq(pcscf_bindings_count(s), 2);

    ck_assert_int_eq(pcscf_bindings_expire(s, 299), 0);
    ck_assert_int_eq(pcscf_bindings_expire(s, 300), 0);   /* alice loses one contact */
    b = pcscf_bindings_find(s, "10.0.0.1:5060", ALICE);
    ck_assert_int_eq(b->ncontacts, 1);
    ck_assert_str_eq(b->contacts[0].uri, "sip:alice@10.0.0.1:5070");
    ck_assert_int_eq(b->expires, 500);
    /* a live binding is not found by source once past its expiry, before the timer runs */
    ck_assert_ptr_null(pcscf_bindings_by_source(s, "10.0.0.2:5060", 400));
    ck_assert_int_eq(pcscf_bindings_expire(s, 400), 1);   /* bob */
    ck_assert_int_eq(pcscf_bindings_expire(s, 600), 1);   /* alice */
    ck_assert_int_eq(pcscf_bindings_count(s), 0);
    ck_assert_int_eq(removed, 2);
    pcscf_bindings_destroy(s);
}
END_TEST

START_TEST(limit_and_same_source)
{
    removed = 0;
    struct pcscf_bindings *s = pcscf_bindings_create(2, on_remove, NULL);
    struct pcscf_binding *b = NULL, *a = NULL;
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 900), 0, &a),
                     PCSCF_SAVE_NEW);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, "sip:alice2@x", 900), 0,
                                         &b), PCSCF_SAVE_NEW);
    ck_assert(pcscf_bindings_full(s));
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.3", 5060, ALICE, 900), 0, &b),
                     -ENOSPC);
    ck_assert_ptr_null(b);
    /* a refresh still works when full */
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 950), 0, &b),
                     PCSCF_SAVE_REFRESH);
    /* both identities of one UE are found from its source */
    struct pcscf_binding *first = pcscf_bindings_by_source(s, "10.0.0.1:5060", 10);
    ck_assert_ptr_nonnull(first);
    struct pcscf_binding *second = pcscf_bindings_next(first, 10);
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_ne(first, second);
    ck_assert_ptr_null(pcscf_bindings_next(second, 10));
    /* another UE behind the same address (another port) is not the registered one */
    ck_assert_ptr_null(pcscf_bindings_by_source(s, "10.0.0.1:5099", 10));
    pcscf_bindings_remove(s, a);
    ck_assert_int_eq(removed, 1);
    ck_assert(!pcscf_bindings_full(s));
    struct pcscf_draft *nokey = input("10.0.0.4", 5060, ALICE, 900);
    nokey->src.key[0] = '\0';
    ck_assert_int_eq(pcscf_bindings_save(s, nokey, 0, &b), -EINVAL);
    pcscf_bindings_destroy(s);
    ck_assert_int_eq(removed, 2);
}
END_TEST

START_TEST(bound_per_source_address)
{
    /* pcscf.max_bindings_per_source: one IP address, whatever its ports */
    struct pcscf_bindings *s = pcscf_bindings_create(100, NULL, NULL);
    struct pcscf_binding *b = NULL;
    pcscf_bindings_set_max_per_source(s, 2);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 900), 0, &b),
                     PCSCF_SAVE_NEW);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5070, ALICE, 900), 0, &b),
                     PCSCF_SAVE_NEW);
    ck_assert(pcscf_bindings_source_full(s, "10.0.0.1"));
    ck_assert_uint_eq(pcscf_bindings_of_source(s, "10.0.0.1"), 2);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5080, "sip:x@y", 900), 0, &b),
                     -EDQUOT);
    ck_assert_ptr_null(b);
    /* a refresh still works, other addresses are not concerned */
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5070, ALICE, 950), 0, &b),
                     PCSCF_SAVE_REFRESH);
    ck_assert(!pcscf_bindings_source_full(s, "10.0.0.2"));
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.2", 5060, ALICE, 900), 0, &b),
                     PCSCF_SAVE_NEW);
    /* a binding that goes (de-registration, expiry) frees its place */
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 0), 10, &b),
                     PCSCF_SAVE_REMOVED);
    ck_assert_uint_eq(pcscf_bindings_of_source(s, "10.0.0.1"), 1);
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5080, "sip:x@y", 900), 0, &b),
                     PCSCF_SAVE_NEW);
    ck_assert_int_eq(pcscf_bindings_expire(s, 2000), 3);
    ck_assert_uint_eq(pcscf_bindings_of_source(s, "10.0.0.1"), 0);
    /* 0: no bound */
    pcscf_bindings_set_max_per_source(s, 0);
    for (unsigned p = 0; p < 5; p++)
        ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 6000 + p, ALICE, 900), 0,
                                             &b), PCSCF_SAVE_NEW);
    ck_assert(!pcscf_bindings_source_full(s, "10.0.0.1"));
    pcscf_bindings_destroy(s);
}
END_TEST

START_TEST(identity_choice)
{
    struct pcscf_bindings *s = pcscf_bindings_create(10, NULL, NULL);
    struct pcscf_binding *b = NULL;
    ck_assert_int_eq(pcscf_bindings_save(s, input("10.0.0.1", 5060, ALICE, 900), 0, &b),
                     PCSCF_SAVE_NEW);
    char id[PCSCF_URI_MAX];
    /* no preference: the default (first) identity */
    ck_assert_int_eq(pcscf_identity_choose(b, NULL, id, sizeof(id)), 0);
    ck_assert_str_eq(id, ALICE);
    /* a preference among the registered set, in any form */
    ck_assert_int_eq(pcscf_identity_choose(b, "tel:+15550100001", id, sizeof(id)), 1);
    ck_assert_str_eq(id, "tel:+15550100001");
    ck_assert_int_eq(pcscf_identity_choose(b, "\"Alice\" <sip:alice@ims.example.org:5060>",
                                           id, sizeof(id)), 1);
    ck_assert_str_eq(id, ALICE);
    /* an identity of somebody else, or garbage: the default */
    ck_assert_int_eq(pcscf_identity_choose(b, "sip:bob@ims.example.org", id, sizeof(id)), 0);
    ck_assert_str_eq(id, ALICE);
    ck_assert_int_eq(pcscf_identity_choose(b, "mailto:x@y", id, sizeof(id)), 0);
    ck_assert_str_eq(id, ALICE);
    b->nids = 0;
    ck_assert_int_eq(pcscf_identity_choose(b, NULL, id, sizeof(id)), -ENOENT);
    pcscf_bindings_destroy(s);
}
END_TEST

START_TEST(stored_strings_are_copies)
{
    struct pcscf_bindings *s = pcscf_bindings_create(10, NULL, NULL);
    struct pcscf_binding *b = NULL;
    struct pcscf_draft *in = input("10.0.0.1", 5060, ALICE, 900);
    snprintf(in->call_id, sizeof(in->call_id), "call-1");
    ck_assert_int_eq(pcscf_bindings_save(s, in, 0, &b), PCSCF_SAVE_NEW);
    memset(in, 'x', sizeof(*in));        /* the draft is gone: the binding keeps its own */
    ck_assert_str_eq(b->impu, ALICE);
    ck_assert_str_eq(b->ids[1], "tel:+15550100001");
    ck_assert_str_eq(b->routes[0], "<sip:orig@scscf.ims.example.org;lr>");
    ck_assert_str_eq(b->contacts[0].uri, "sip:alice@10.0.0.1:5060");
    ck_assert_str_eq(b->call_id, "call-1");
    /* a refresh replaces them all */
    in = input("10.0.0.1", 5060, ALICE, 950);
    snprintf(in->ids[0], sizeof(in->ids[0]), "%s", "sip:alice.new@ims.example.org");
    in->nroutes = 0;
    ck_assert_int_eq(pcscf_bindings_save(s, in, 0, &b), PCSCF_SAVE_REFRESH);
    ck_assert_str_eq(b->ids[0], "sip:alice.new@ims.example.org");
    ck_assert_int_eq(b->nroutes, 0);
    ck_assert_int_eq((int)b->expires, 950);
    pcscf_bindings_destroy(s);
}
END_TEST

START_TEST(uri_helpers)
{
    char n[PCSCF_URI_MAX];
    ck_assert_int_eq(pcscf_impu_norm("sips:Alice@ims.example.org:5061;transport=tcp", n,
                                     sizeof(n)), 0);
    ck_assert_str_eq(n, "sip:Alice@ims.example.org");
    ck_assert_int_eq(pcscf_impu_norm("<tel:+1555>", n, sizeof(n)), 0);
    ck_assert_str_eq(n, "tel:+1555");
    ck_assert_int_eq(pcscf_impu_norm("http://x", n, sizeof(n)), -EINVAL);
    ck_assert(pcscf_uri_same("sip:a@1.2.3.4:5060;transport=udp", "sip:a@1.2.3.4"));
    ck_assert(!pcscf_uri_same("sip:a@1.2.3.4:5061", "sip:a@1.2.3.4"));
    ck_assert(!pcscf_uri_same("sip:a@1.2.3.4", "sip:b@1.2.3.4"));
    ck_assert(!pcscf_uri_same("sip:1.2.3.4", "sip:b@1.2.3.4"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pcscf_bindings");
    TCase *tc = tcase_create("bindings");
    tcase_add_test(tc, add_find_refresh_remove);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, limit_and_same_source);
    tcase_add_test(tc, bound_per_source_address);
    tcase_add_test(tc, identity_choice);
    tcase_add_test(tc, stored_strings_are_copies);
    tcase_add_test(tc, uri_helpers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
