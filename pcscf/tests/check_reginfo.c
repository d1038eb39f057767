/*
 * check_reginfo.c - reading reginfo (RFC 3680) and applying it to a binding (pcscf/reginfo.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcscf.h"

static const char active[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"3\" state=\"full\">"
    "<registration aor=\"sip:alice@ims.example.org\" id=\"a0\" state=\"active\">"
    "<contact id=\"c0\" state=\"active\" event=\"registered\" expires=\"600\">"
    "<uri>sip:alice@10.0.0.1:5060</uri></contact>"
    "<contact id=\"c1\" state=\"active\" event=\"created\"><uri>sip:alice@10.0.0.1:5070</uri>"
    "</contact></registration>"
    "<registration aor='tel:+15550100001' id='a1' state='active'/>"
    "</reginfo>";

static struct pcscf_binding *binding(void)
{
    static struct pcscf_binding b;
    memset(&b, 0, sizeof(b));
    b.impu = "sip:alice@ims.example.org";
    b.ids[0] = "sip:alice@ims.example.org";
    b.ids[1] = "tel:+15550100001";
    b.nids = 2;
    b.contacts[0] = (struct pcscf_contact){ "sip:alice@10.0.0.1:5060", 1000 };
    b.contacts[1] = (struct pcscf_contact){ "sip:alice@10.0.0.1:5070", 2000 };
    b.ncontacts = 2;
    b.expires = 2000;
    return &b;
}

START_TEST(parse_full)
{
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_int_eq(pcscf_reginfo_parse(active, strlen(active), &ri, err, sizeof(err)), 0);
    ck_assert_str_eq(ri.state, "full");
    ck_assert_int_eq(ri.version, 3);
    ck_assert_int_eq(ri.nregs, 2);
    ck_assert_str_eq(ri.regs[0].aor, "sip:alice@ims.example.org");
    ck_assert_str_eq(ri.regs[0].state, "active");
    ck_assert_int_eq(ri.regs[0].ncontacts, 2);
    ck_assert_str_eq(ri.regs[0].contacts[0].uri, "sip:alice@10.0.0.1:5060");
    ck_assert_str_eq(ri.regs[0].contacts[0].state, "active");
    ck_assert_str_eq(ri.regs[0].contacts[0].event, "registered");
    ck_assert_str_eq(ri.regs[0].contacts[1].event, "created");
    ck_assert_str_eq(ri.regs[1].aor, "tel:+15550100001");   /* single quotes, empty element */
    ck_assert_int_eq(ri.regs[1].ncontacts, 0);
    /* nothing ended: the binding stays whole */
    struct pcscf_binding *b = binding();
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 0);
    ck_assert_int_eq(b->ncontacts, 2);
}
END_TEST

START_TEST(contact_ended)
{
    static const char doc[] =
        "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"4\" state=\"partial\">"
        "<registration aor=\"sip:alice@ims.example.org\" id=\"a0\" state=\"active\">"
        "<contact id=\"c1\" state=\"terminated\" event=\"expired\">"
        "<uri>sip:alice@10.0.0.1:5070;transport=udp</uri></contact>"
        "</registration></reginfo>";
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_int_eq(pcscf_reginfo_parse(doc, strlen(doc), &ri, err, sizeof(err)), 0);
    struct pcscf_binding *b = binding();
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 1);
    ck_assert_int_eq(b->ncontacts, 1);
    ck_assert_str_eq(b->contacts[0].uri, "sip:alice@10.0.0.1:5060");
    ck_assert_int_eq(b->expires, 1000);
}
END_TEST

START_TEST(registration_terminated)
{
    /* the de-registration NOTIFY of an S-CSCF: an associated identity, prefixed names */
    static const char doc[] =
        "<r:reginfo xmlns:r=\"urn:ietf:params:xml:ns:reginfo\" version=\"5\" state=\"full\">"
        "<r:registration aor=\"tel:+15550100001\" id=\"a1\" state=\"terminated\">"
        "<r:contact id=\"c0\" state=\"terminated\" event=\"deactivated\">"
        "<r:uri>sip:alice@10.0.0.1:5060</r:uri></r:contact>"
        "</r:registration></r:reginfo>";
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_int_eq(pcscf_reginfo_parse(doc, strlen(doc), &ri, err, sizeof(err)), 0);
    ck_assert_str_eq(ri.regs[0].state, "terminated");
    struct pcscf_binding *b = binding();
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 2);
    ck_assert_int_eq(b->ncontacts, 0);
}
END_TEST

START_TEST(other_user_and_events)
{
    static const char doc[] =
        "<reginfo version=\"1\" state=\"full\">"
        "<registration aor=\"sip:bob@ims.example.org\" id=\"b\" state=\"terminated\"/>"
        "<registration aor=\"sip:alice@ims.example.org\" id=\"a\" state=\"active\">"
        "<contact id=\"x\" state=\"active\" event=\"unregistered\">"
        "<uri>sip:alice@10.0.0.1</uri></contact></registration></reginfo>";
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_int_eq(pcscf_reginfo_parse(doc, strlen(doc), &ri, err, sizeof(err)), 0);
    struct pcscf_binding *b = binding();
    /* bob's end does not touch alice; an ending event ends a contact (port 5060 default) */
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 1);
    ck_assert_int_eq(b->ncontacts, 1);
    struct pcscf_ri_contact c = { .state = "active", .event = "refreshed" };
    ck_assert(!pcscf_reginfo_contact_ended(&c));
    snprintf(c.event, sizeof(c.event), "rejected");
    ck_assert(pcscf_reginfo_contact_ended(&c));
}
END_TEST

START_TEST(bad_documents)
{
    struct pcscf_reginfo ri;
    char err[160] = "";
    static const char *const bad[] = {
        "<reginfo><registration aor=\"x\"></reginfo>",      /* unbalanced */
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>",  /* another package */
        "",
        "<!DOCTYPE x><reginfo/>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_int_eq(pcscf_reginfo_parse(bad[i], strlen(bad[i]), &ri, err, sizeof(err)),
                         -EINVAL);
        ck_assert_msg(err[0] != '\0', "no reason for document %zu", i);
    }
    /* attributes with entities; a registration without aor is skipped */
    static const char ent[] =
        "<reginfo version='2' state='full'><registration id='q' state='active'/>"
        "<registration aor='sip:a&amp;b@x' state='active'/></reginfo>";
    ck_assert_int_eq(pcscf_reginfo_parse(ent, strlen(ent), &ri, err, sizeof(err)), 0);
    ck_assert_int_eq(ri.nregs, 1);
    ck_assert_str_eq(ri.regs[0].aor, "sip:a&b@x");
}
END_TEST

/*
 * Issue 12: the old reader found an element's attributes by scanning back from the end of
 * its start tag to the last '<': a '<' inside an attribute value (an S-CSCF that does not
 * escape, or a value a UE chose) made it read a forged start tag hidden in that value, here
 * a terminated registration of alice inside mallory's registration, and alice's binding
 * was removed. XML forbids '<' in attribute values: the document is refused now.
 */
START_TEST(raw_lt_in_attribute_refused)
{
    static const char *const forged[] = {
        "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"7\" state=\"partial\">"
        "<registration aor=\"sip:mallory@ims.example.org\" id=\"m\" state=\"active\""
        " x=\"<registration aor='sip:alice@ims.example.org' state='terminated'\">"
        "<contact id=\"c\" state=\"active\" event=\"registered\">"
        "<uri>sip:mallory@10.0.0.9</uri></contact></registration></reginfo>",
        /* the same trick one level down: a forged ended contact of alice */
        "<reginfo version=\"8\" state=\"partial\">"
        "<registration aor=\"sip:alice@ims.example.org\" id=\"a\" state=\"active\">"
        "<contact id=\"c\" state=\"active\" event=\"registered\""
        " display=\"<contact state='terminated' event='expired'\">"
        "<uri>sip:alice@10.0.0.1:5060</uri></contact></registration></reginfo>",
    };
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        struct pcscf_reginfo ri;
        char err[160] = "";
        int rc = pcscf_reginfo_parse(forged[i], strlen(forged[i]), &ri, err, sizeof(err));
        struct pcscf_binding *b = binding();
        if (rc == 0)
            pcscf_reginfo_apply(&ri, b);
        ck_assert_msg(b->ncontacts == 2, "document %zu ended alice's contacts", i);
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_msg(strstr(err, "'<'") != NULL, "reason: %s", err);
    }
}
END_TEST

/* Escaped '<' and a raw '>' in attribute values are data, read as written */
START_TEST(escaped_brackets_in_attributes)
{
    static const char doc[] =
        "<reginfo version=\"9\" state=\"partial\">"
        "<registration aor=\"sip:mallory@ims.example.org\" id=\"m&lt;registration aor="
        "'sip:alice@ims.example.org' state='terminated'>\" state=\"active\">"
        "<contact id=\"c\" display=\"&lt;contact state='terminated'>\" state=\"active\""
        " event=\"registered\"><uri>sip:mallory@10.0.0.9</uri></contact>"
        "</registration></reginfo>";
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_msg(pcscf_reginfo_parse(doc, strlen(doc), &ri, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(ri.nregs, 1);
    ck_assert_str_eq(ri.regs[0].aor, "sip:mallory@ims.example.org");
    ck_assert_str_eq(ri.regs[0].state, "active");
    ck_assert_int_eq(ri.regs[0].ncontacts, 1);
    ck_assert_str_eq(ri.regs[0].contacts[0].state, "active");
    struct pcscf_binding *b = binding();
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 0);
    ck_assert_int_eq(b->ncontacts, 2);
}
END_TEST

/*
 * Entities (numeric ones too) in attribute values, CDATA, comments, unknown elements nested
 * anywhere, namespace prefixes on elements and on attributes: a prefixed attribute is
 * another attribute than the unprefixed one (Namespaces in XML 6.2).
 */
START_TEST(entities_cdata_comments_unknown_elements)
{
    static const char doc[] =
        "<?xml version=\"1.0\"?><!-- from the S-CSCF -->"
        "<r:reginfo xmlns:r=\"urn:ietf:params:xml:ns:reginfo\" xmlns:x=\"urn:example:ext\""
        " version=\"10\" state=\"partial\">"
        "<x:note><x:deep><x:deeper state=\"terminated\"/></x:deep></x:note>"
        "<!-- <r:registration aor=\"sip:alice@ims.example.org\" state=\"terminated\"/> -->"
        "<r:registration aor=\"sip:alice&#64;ims.example.org\" id=\"a\" state=\"active\""
        " x:state=\"terminated\">"
        "<r:contact id=\"c\" state=\"terminated\" event=\"&#x65;xpired\">"
        "<x:unknown-param name=\"p\">v<x:more/></x:unknown-param>"
        "<r:uri><![CDATA[sip:alice@10.0.0.1:5070]]></r:uri></r:contact>"
        "</r:registration></r:reginfo>";
    struct pcscf_reginfo ri;
    char err[160] = "";
    ck_assert_msg(pcscf_reginfo_parse(doc, strlen(doc), &ri, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(ri.version, 10);
    ck_assert_int_eq(ri.nregs, 1);
    ck_assert_str_eq(ri.regs[0].aor, "sip:alice@ims.example.org");
    ck_assert_str_eq(ri.regs[0].state, "active");
    ck_assert_str_eq(ri.regs[0].contacts[0].event, "expired");
    ck_assert_str_eq(ri.regs[0].contacts[0].uri, "sip:alice@10.0.0.1:5070");
    struct pcscf_binding *b = binding();
    ck_assert_int_eq(pcscf_reginfo_apply(&ri, b), 1);   /* only the 5070 contact ended */
    ck_assert_int_eq(b->ncontacts, 1);
    ck_assert_str_eq(b->contacts[0].uri, "sip:alice@10.0.0.1:5060");
}
END_TEST

/* Malformed attributes, nesting past the limit and documents past the size limit */
START_TEST(limits_and_malformed_attributes)
{
    static const char *const bad[] = {
        "<reginfo state=\"full\" state=\"partial\"/>",            /* attribute twice */
        "<reginfo state=full/>",                                  /* unquoted */
        "<reginfo state=\"a&b\"/>",                               /* bare '&' */
        "<reginfo state=\"&#xD800;\"/>",                          /* not a character */
        "<reginfo state=\"&#1;\"/>",
        "<reginfo state=\"x\0y\"/>",
        "<reginfo state=\"\xff\"/>",                              /* not UTF-8 */
    };
    struct pcscf_reginfo ri;
    char err[160];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        size_t len = strlen(bad[i]);
        if (i == 5)
            len = sizeof("<reginfo state=\"x\0y\"/>") - 1;
        ck_assert_msg(pcscf_reginfo_parse(bad[i], len, &ri, err, sizeof(err)) == -EINVAL,
                      "accepted document %zu", i);
        ck_assert_msg(err[0] != '\0', "no reason for document %zu", i);
    }
    /* unknown elements nested 100 deep */
    char deep[4096];
    size_t o = (size_t)snprintf(deep, sizeof(deep), "<reginfo>");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<u>");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, "</u>");
    snprintf(deep + o, sizeof(deep) - o, "</reginfo>");
    ck_assert_int_eq(pcscf_reginfo_parse(deep, strlen(deep), &ri, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "deep") != NULL, "%s", err);
    /* a document past the reader's size limit is refused before it is read */
    size_t huge = 4u << 20;
    char *big = malloc(huge);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', huge);
    memcpy(big, "<reginfo>", 9);
    memcpy(big + huge - 10, "</reginfo>", 10);
    ck_assert_int_eq(pcscf_reginfo_parse(big, huge, &ri, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "larger") != NULL, "%s", err);
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pcscf_reginfo");
    TCase *tc = tcase_create("reginfo");
    tcase_add_test(tc, parse_full);
    tcase_add_test(tc, contact_ended);
    tcase_add_test(tc, registration_terminated);
    tcase_add_test(tc, other_user_and_events);
    tcase_add_test(tc, bad_documents);
    tcase_add_test(tc, raw_lt_in_attribute_refused);
    tcase_add_test(tc, escaped_brackets_in_attributes);
    tcase_add_test(tc, entities_cdata_comments_unknown_elements);
    tcase_add_test(tc, limits_and_malformed_attributes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
