/*
 * check_ifc.c - iFC provisioning JSON -> TS 29.228 XML (hss/ifc.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hss.h"
#include "xsd.h"

static char *build(const char *json, int *prio, bool *unreg, char *err, size_t errlen)
{
    json_error_t je;
    json_t *spec = json_loads(json, 0, &je);
    ck_assert_msg(spec != NULL, "test JSON: %s", je.text);
    char *xml = hss_ifc_xml(spec, prio, unreg, err, errlen);
    json_decref(spec);
    return xml;
}

START_TEST(full_ifc_is_schema_valid)
{
    int prio;
    bool unreg;
    char err[256] = "";
    char *xml = build("{\"priority\": 3,"
                      " \"trigger\": {\"cnf\": true, \"spt\": ["
                      "  {\"group\": 0, \"method\": \"INVITE\"},"
                      "  {\"group\": 0, \"negated\": true, \"session_case\": \"terminating_registered\"},"
                      "  {\"group\": [1, 2], \"header\": \"Accept-Contact\", \"content\": \"video\"},"
                      "  {\"group\": 1, \"request_uri\": \"sip:.*@ims.example.org\"},"
                      "  {\"group\": 2, \"sdp_line\": \"m\", \"sdp_content\": \"audio\"},"
                      "  {\"method\": \"REGISTER\", \"registration_type\": [0, 2]}]},"
                      " \"as\": {\"server_name\": \"sip:as.ims.example.org\","
                      "  \"default_handling\": \"terminate\", \"service_info\": \"a<b&c\","
                      "  \"include_register_request\": true, \"include_register_response\": true},"
                      " \"profile_part\": \"registered\"}",
                      &prio, &unreg, err, sizeof(err));
    ck_assert_msg(xml != NULL, "%s", err);
    ck_assert_int_eq(prio, 3);
    ck_assert(!unreg);   /* has session cases, none for unregistered users */
    ck_assert_ptr_nonnull(strstr(xml, "<ConditionTypeCNF>1</ConditionTypeCNF>"));
    ck_assert_ptr_nonnull(strstr(xml, "<ConditionNegated>1</ConditionNegated><Group>0</Group>"
                                      "<SessionCase>1</SessionCase>"));
    ck_assert_ptr_nonnull(strstr(xml, "<Group>1</Group><Group>2</Group><SIPHeader>"));
    ck_assert_ptr_nonnull(strstr(xml, "<ServiceInfo>a&lt;b&amp;c</ServiceInfo>"));
    ck_assert_ptr_nonnull(strstr(xml, "<DefaultHandling>1</DefaultHandling>"));
    ck_assert_ptr_nonnull(strstr(xml, "<RegistrationType>0</RegistrationType>"
                                      "<RegistrationType>2</RegistrationType>"));
    ck_assert_int_eq(xsd_validate(xml, "CxDataType.xsd"), 0);
    free(xml);
}
END_TEST

START_TEST(minimal_ifc_applies_to_unregistered)
{
    int prio;
    bool unreg;
    char err[256];
    char *xml = build("{\"priority\": 0, \"as\": {\"server_name\": \"sip:as.example.org\"}}",
                      &prio, &unreg, err, sizeof(err));
    ck_assert_ptr_nonnull(xml);
    ck_assert(unreg);    /* no trigger: every request of every case */
    ck_assert_int_eq(xsd_validate(xml, "CxDataType.xsd"), 0);
    free(xml);
    xml = build("{\"priority\": 1, \"trigger\": {\"spt\": [{\"session_case\": 2}]},"
                " \"as\": {\"server_name\": \"sip:vm.example.org\"}}",
                &prio, &unreg, err, sizeof(err));
    ck_assert_ptr_nonnull(xml);
    ck_assert(unreg);    /* terminating unregistered */
    free(xml);
    xml = build("{\"priority\": 1, \"trigger\": {\"spt\": [{\"method\": \"INVITE\"}]},"
                " \"as\": {\"server_name\": \"sip:as.example.org\"},"
                " \"profile_part\": \"registered\"}",
                &prio, &unreg, err, sizeof(err));
    ck_assert_ptr_nonnull(xml);
    ck_assert(!unreg);   /* only for the registered part of the profile */
    free(xml);
}
END_TEST

struct bad {
    const char *json;
    const char *field;   /* expected at the start of the error */
};

START_TEST(invalid_ifc_names_the_field)
{
    static const struct bad cases[] = {
        { "{\"as\": {\"server_name\": \"sip:a\"}}", "priority" },
        { "{\"priority\": -1, \"as\": {\"server_name\": \"sip:a\"}}", "priority" },
        { "{\"priority\": 0}", "as" },
        { "{\"priority\": 0, \"as\": {\"server_name\": \"http://a\"}}", "as.server_name" },
        { "{\"priority\": 0, \"as\": {\"server_name\": \"sip:a\", \"default_handling\": 7}}",
          "as.default_handling" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": []}, \"as\": {\"server_name\": \"sip:a\"}}",
          "trigger.spt" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": [{\"group\": 0}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.spt[0]" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": [{\"method\": \"INVITE\", \"request_uri\": \"x\"}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.spt[0]" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": [{\"method\": \"INVITE\"}, {\"session_case\": 9}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.spt[1].session_case" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": [{\"method\": \"INVITE\", \"registration_type\": [0]}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.spt[0].registration_type" },
        { "{\"priority\": 0, \"trigger\": {\"cnf\": 1, \"spt\": [{\"method\": \"INVITE\"}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.cnf" },
        { "{\"priority\": 0, \"as\": {\"server_name\": \"sip:a\"}, \"profile_part\": \"x\"}",
          "profile_part" },
        { "{\"priority\": 0, \"as\": {\"server_name\": \"sip:a\"}, \"prio\": 1}", "prio" },
        { "{\"priority\": 0, \"as\": {\"server_name\": \"sip:a\", \"defaut_handling\": 1}}",
          "as.defaut_handling" },
        { "{\"priority\": 0, \"trigger\": {\"spt\": [{\"methd\": \"INVITE\"}]},"
          " \"as\": {\"server_name\": \"sip:a\"}}", "trigger.spt[0].methd" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int prio;
        bool unreg;
        char err[256] = "";
        char *xml = build(cases[i].json, &prio, &unreg, err, sizeof(err));
        ck_assert_msg(xml == NULL, "case %zu accepted", i);
        ck_assert_msg(strncmp(err, cases[i].field, strlen(cases[i].field)) == 0,
                      "case %zu: error '%s' does not name %s", i, err, cases[i].field);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ifc");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, full_ifc_is_schema_valid);
    tcase_add_test(tc, minimal_ifc_applies_to_unregistered);
    tcase_add_test(tc, invalid_ifc_names_the_field);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
