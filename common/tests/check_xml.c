/*
 * check_xml.c - the small XML reader (common/xml.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

static struct ims_xml_node *parse(const char *doc, char *err, size_t errlen)
{
    return ims_xml_parse(doc, strlen(doc), err, errlen);
}

START_TEST(tree_text_and_prefixes)
{
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- profile -->\n"
        "<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<PrivateID> alice@example.org </PrivateID>"
        "<ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity></PublicIdentity>"
        "<PublicIdentity><Identity>tel:+1</Identity></PublicIdentity>"
        "<x:InitialFilterCriteria><Priority>1</Priority></x:InitialFilterCriteria>"
        "</ServiceProfile></IMSSubscription>\n";
    char err[128] = "";
    struct ims_xml_node *root = parse(doc, err, sizeof(err));
    ck_assert_msg(root != NULL, "%s", err);
    ck_assert_str_eq(root->name, "IMSSubscription");
    ck_assert_str_eq(ims_xml_child_text(root, "PrivateID"), "alice@example.org");
    struct ims_xml_node *sp = ims_xml_child(root, "ServiceProfile");
    struct ims_xml_node *pi = ims_xml_child(sp, "PublicIdentity");
    ck_assert_str_eq(ims_xml_child_text(pi, "Identity"), "sip:a@x");
    pi = ims_xml_next(pi, "PublicIdentity");
    ck_assert_str_eq(ims_xml_child_text(pi, "Identity"), "tel:+1");
    ck_assert_ptr_null(ims_xml_next(pi, "PublicIdentity"));
    struct ims_xml_node *ifc = ims_xml_child(sp, "InitialFilterCriteria");   /* prefix ignored */
    ck_assert_ptr_nonnull(ifc);
    ck_assert_str_eq(ims_xml_child_text(ifc, "Priority"), "1");
    ck_assert_ptr_null(ims_xml_child_text(ifc, "TriggerPoint"));
    ims_xml_free(root);
}
END_TEST

START_TEST(entities_cdata_and_raw_content)
{
    const char *doc = "<a><t>x &lt;&gt;&amp;&quot;&apos; &#65;&#x42; &#233;</t>"
                      "<c><![CDATA[<not&parsed>]]></c>"
                      "<raw><mine a='1'>v</mine><e/></raw><empty/></a>";
    char err[128] = "";
    struct ims_xml_node *root = parse(doc, err, sizeof(err));
    ck_assert_msg(root != NULL, "%s", err);
    ck_assert_str_eq(ims_xml_child_text(root, "t"), "x <>&\"' AB \xc3\xa9");
    ck_assert_str_eq(ims_xml_child_text(root, "c"), "<not&parsed>");
    struct ims_xml_node *raw = ims_xml_child(root, "raw");
    ck_assert_int_eq((int)raw->raw_len, (int)strlen("<mine a='1'>v</mine><e/>"));
    ck_assert(strncmp(doc + raw->raw_off, "<mine a='1'>v</mine><e/>", raw->raw_len) == 0);
    ck_assert_str_eq(ims_xml_child_text(root, "empty"), "");
    ims_xml_free(root);
}
END_TEST

START_TEST(malformed_documents_refused)
{
    static const char *const bad[] = {
        "",
        "plain text",
        "<a>",
        "<a></b>",
        "<a><b></a></b>",
        "<a x=1></a>",
        "<a>&unknown;</a>",
        "<a>&#0;</a>",
        "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>",
        "<a/><b/>",
        "<a><!-- open </a>",
        "<a><![CDATA[open</a>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        struct ims_xml_node *n = parse(bad[i], err, sizeof(err));
        ck_assert_msg(n == NULL, "accepted: %s", bad[i]);
        ck_assert_msg(strncmp(err, "XML: ", 5) == 0, "no reason for: %s", bad[i]);
    }
    /* nesting beyond the limit */
    char deep[2000] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "<d>");
    for (int i = 0; i < 100; i++)
        strcat(deep, "</d>");
    char err[128];
    ck_assert_ptr_null(parse(deep, err, sizeof(err)));
}
END_TEST

START_TEST(attributes_kept_and_decoded)
{
    const char *doc = "\xef\xbb\xbf<r:a xmlns:r='urn:x' xmlns:x=\"urn:y\" id='1' "
                      "v=\"&lt;b&gt; &amp; "
                      "&#x41;&#66;\" t='a\tb\nc' x:id=\"2\" gt='a>b'>"
                      "<r:b k='&quot;q&apos;'/><c/></r:a><?pi after?>";
    char err[128] = "";
    struct ims_xml_node *root = parse(doc, err, sizeof(err));
    ck_assert_msg(root != NULL, "%s", err);
    ck_assert(ims_xml_is(root, "a"));
    ck_assert_str_eq(ims_xml_attr(root, "xmlns:r"), "urn:x");
    ck_assert_str_eq(ims_xml_attr(root, "id"), "1");
    ck_assert_str_eq(ims_xml_attr(root, "x:id"), "2");      /* another attribute */
    ck_assert_str_eq(ims_xml_attr(root, "v"), "<b> & AB");
    ck_assert_str_eq(ims_xml_attr(root, "t"), "a b c");     /* blanks normalised */
    ck_assert_str_eq(ims_xml_attr(root, "gt"), "a>b");
    ck_assert_ptr_null(ims_xml_attr(root, "k"));
    ck_assert_str_eq(ims_xml_attr(ims_xml_child(root, "b"), "k"), "\"q'");
    ck_assert_ptr_null(ims_xml_child(root, "c")->attrs);
    ck_assert_ptr_null(ims_xml_attr(NULL, "id"));
    ims_xml_free(root);
}
END_TEST

START_TEST(attribute_errors_and_limits)
{
    static const char *const bad[] = {
        "<a x='<'/>",
        "<a x='1' x='2'/>",
        "<a x='1'y='2'/>",
        "<a x='&bogus;'/>",
        "<a x='&#xD800;'/>",
        "<a x='&#x110000;'/>",
        "<a x='&#12a;'/>",
        "<a x='&#;'/>",
        "<a x='&'/>",
        "<a x=\"1'/>",
        "<a x/>",
        "<a \x01/>",
        "<a>\xc0\xaf</a>",            /* overlong '/' */
        "<a>\xed\xa0\x80</a>",        /* surrogate */
        "<a>\xef\xbf\xbe</a>",        /* U+FFFE */
        "<a>\xf4\x90\x80\x80</a>",    /* past U+10FFFF */
        "<a>\xe2\x82</a>",            /* cut short */
        "<a/><x/>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        struct ims_xml_node *n = parse(bad[i], err, sizeof(err));
        ck_assert_msg(n == NULL, "accepted: %s", bad[i]);
        ck_assert_msg(strncmp(err, "XML: ", 5) == 0, "no reason for: %s", bad[i]);
    }
    /* attributes per element */
    char many[2048];
    size_t o = (size_t)snprintf(many, sizeof(many), "<a");
    for (int i = 0; i < IMS_XML_ATTRS_MAX; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, " a%d='%d'", i, i);
    snprintf(many + o, sizeof(many) - o, "/>");
    char err[128];
    struct ims_xml_node *n = parse(many, err, sizeof(err));
    ck_assert_msg(n != NULL, "%s", err);
    ck_assert_str_eq(ims_xml_attr(n, "a63"), "63");
    ims_xml_free(n);
    snprintf(many + o, sizeof(many) - o, " b='x'/>");
    ck_assert_ptr_null(parse(many, err, sizeof(err)));
    ck_assert_msg(strstr(err, "too many attributes") != NULL, "%s", err);
    /* size */
    char *big = malloc(IMS_XML_DOC_MAX + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', IMS_XML_DOC_MAX + 1);
    memcpy(big, "<a>", 3);
    memcpy(big + IMS_XML_DOC_MAX - 4, "</a>", 4);
    n = ims_xml_parse(big, IMS_XML_DOC_MAX + 1, err, sizeof(err));
    ck_assert_ptr_null(n);
    ck_assert_msg(strstr(err, "larger than") != NULL, "%s", err);
    n = ims_xml_parse(big, IMS_XML_DOC_MAX, err, sizeof(err));   /* at the limit */
    ck_assert_msg(n != NULL, "%s", err);
    ims_xml_free(n);
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xml");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, tree_text_and_prefixes);
    tcase_add_test(tc, entities_cdata_and_raw_content);
    tcase_add_test(tc, malformed_documents_refused);
    tcase_add_test(tc, attributes_kept_and_decoded);
    tcase_add_test(tc, attribute_errors_and_limits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
