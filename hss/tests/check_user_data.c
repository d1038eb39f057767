/*
 * check_user_data.c - the Cx User-Data document built from the database (hss/user_data.c)
 * and the queries it relies on (hss/store.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hss.h"
#include "log.h"
#include "xsd.h"

#define D "ims.mnc001.mcc001.3gppnetwork.org"

static struct ims_db *db;
static char path[64];

static void setup(void)
{
    ims_log_init("check_user_data", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    snprintf(path, sizeof(path), "/tmp/check-ud-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ims_db_open(&db, path, hss_db_migrations, hss_db_nmigrations), 0);
    const char *sql =
        "INSERT INTO subscription (id, name, scscf_name) VALUES (1, 'alice', NULL);"
        "INSERT INTO impi (id, subscription_id, identity, password, sqn) VALUES"
        " (1, 1, 'alice@" D "', 'alice-secret', 32), (2, 1, 'alice-tablet@" D "', 'x', 0);"
        "INSERT INTO service_profile (id, subscription_id, name) VALUES (1, 1, 'default'),"
        " (2, 1, 'work');"
        "INSERT INTO ifc (profile_id, priority, spec, xml, unreg_services) VALUES"
        " (1, 5, '{}', '<InitialFilterCriteria><Priority>5</Priority><ApplicationServer>"
        "<ServerName>sip:b.example</ServerName></ApplicationServer></InitialFilterCriteria>', 0),"
        " (1, 1, '{}', '<InitialFilterCriteria><Priority>1</Priority><ApplicationServer>"
        "<ServerName>sip:a.example</ServerName></ApplicationServer></InitialFilterCriteria>', 1);"
        "INSERT INTO profile_shared_ifc VALUES (1, 7), (1, 3);"
        "INSERT INTO impu (id, identity, type, subscription_id, profile_id, implicit_set, barred,"
        " display_name) VALUES"
        " (1, 'sip:alice@" D "', 0, 1, 1, 10, 0, 'Alice & Co'),"
        " (2, 'tel:+15550100001', 0, 1, 1, 10, 1, NULL),"
        " (3, 'sip:alice-work@" D "', 0, 1, 2, 10, 0, NULL),"
        " (4, 'sip:alice-other@" D "', 0, 1, 1, 11, 0, NULL);"
        "INSERT INTO impu (id, identity, type, wildcard, psi_as) VALUES"
        " (5, 'sip:conf-!.*!@" D "', 2, 'sip:conf-.*@ims\\.mnc001\\.mcc001\\.3gppnetwork\\.org',"
        " 'sip:conf.example');"
        "INSERT INTO impi_impu (impi_id, impu_id) VALUES (1,1),(1,2),(1,3),(1,4),(2,1);";
    ck_assert_int_eq(ims_db_exec(db, sql), 0);
}

static void teardown(void)
{
    ims_db_close(db);
    unlink(path);
}

START_TEST(implicit_set_by_profile)
{
    struct hss_impi impi;
    struct hss_impu impu;
    ck_assert_int_eq(hss_impi_find(db, "alice@" D, &impi), 0);
    ck_assert_int_eq(hss_impu_find(db, "tel:+15550100001", &impu), 0);
    char *xml = hss_user_data_xml(db, &impi, &impu);
    ck_assert_ptr_nonnull(xml);
    ck_assert_int_eq(xsd_validate(xml, "CxDataType.xsd"), 0);
    /* the implicit set 10: profile 1 holds two identities and the iFCs in priority order
     * then the shared sets; profile 2 the third; the other set (alice-other) is absent */
    const char *p1 = strstr(xml, "<Identity>sip:alice@" D "</Identity>");
    const char *p2 = strstr(xml, "<Identity>tel:+15550100001</Identity>");
    const char *a = strstr(xml, "<ServerName>sip:a.example</ServerName>");
    const char *b = strstr(xml, "<ServerName>sip:b.example</ServerName>");
    const char *shared = strstr(xml, "<Extension><SharedIFCSetID>3</SharedIFCSetID>"
                                     "<SharedIFCSetID>7</SharedIFCSetID></Extension>");
    const char *work = strstr(xml, "<Identity>sip:alice-work@" D "</Identity>");
    ck_assert(p1 && p2 && a && b && shared && work);
    ck_assert(p1 < p2 && p2 < a && a < b && b < shared && shared < work);
    ck_assert_ptr_null(strstr(xml, "alice-other"));
    ck_assert_ptr_nonnull(strstr(xml, "<BarringIndication>1</BarringIndication>"
                                      "<Identity>tel:+15550100001</Identity>"));
    ck_assert_ptr_nonnull(strstr(xml, "<DisplayName>Alice &amp; Co</DisplayName>"));
    ck_assert_ptr_nonnull(strstr(xml, "<PrivateID>alice@" D "</PrivateID>"));
    free(xml);
}
END_TEST

START_TEST(wildcarded_psi_found_and_described)
{
    struct hss_impu impu;
    ck_assert_int_eq(hss_impu_find(db, "sip:conf-1234@" D, &impu), 0);
    ck_assert_int_eq(impu.type, HSS_WILDCARD_PSI);
    ck_assert_str_eq(impu.psi_as, "sip:conf.example");
    ck_assert_int_eq(hss_impu_find(db, "sip:conf-1234@other.org", &impu), -ENOENT);
    ck_assert_int_eq(hss_impu_find(db, "sip:nobody@" D, &impu), -ENOENT);
    ck_assert_int_eq(hss_impu_find(db, "sip:conf-1234@" D, &impu), 0);
    char *xml = hss_user_data_xml(db, NULL, &impu);
    ck_assert_ptr_nonnull(xml);
    ck_assert_int_eq(xsd_validate(xml, "CxDataType.xsd"), 0);
    ck_assert_ptr_nonnull(strstr(xml, "<IdentityType>2</IdentityType><WildcardedPSI>"));
    free(xml);
}
END_TEST

START_TEST(registration_state_and_sqn)
{
    struct hss_impu impu;
    struct hss_subscription s;
    ck_assert_int_eq(hss_impu_find(db, "sip:alice@" D, &impu), 0);
    ck_assert_int_eq(hss_registration_set(db, &impu, 1, HSS_REGISTERED, "sip:scscf." D,
                                          "scscf." D), 0);
    ck_assert_int_eq(hss_impu_find(db, "sip:alice-work@" D, &impu), 0);
    ck_assert_int_eq(impu.reg_state, HSS_REGISTERED);        /* same implicit set */
    ck_assert_int_eq(hss_impu_find(db, "sip:alice-other@" D, &impu), 0);
    ck_assert_int_eq(impu.reg_state, HSS_NOT_REGISTERED);    /* another set */
    ck_assert_int_eq(hss_subscription_get(db, 1, &s), 0);
    ck_assert_str_eq(s.scscf_name, "sip:scscf." D);
    ck_assert_str_eq(s.scscf_host, "scscf." D);
    ck_assert(hss_impu_registered_elsewhere(db, 1, 2));   /* impi 1 holds impu 1 */
    ck_assert(!hss_impu_registered_elsewhere(db, 1, 1));
    ck_assert(hss_impu_has_unreg_services(db, &(struct hss_impu){ .profile_id = 1 }));
    ck_assert(!hss_impu_has_unreg_services(db, &(struct hss_impu){ .profile_id = 2 }));

    uint64_t first;
    ck_assert_int_eq(hss_sqn_reserve(db, 1, 3, &first), 0);
    ck_assert_uint_eq(first, 64);        /* 32 stored: the next three are 64, 96, 128 */
    ck_assert_int_eq(hss_sqn_reserve(db, 1, 1, &first), 0);
    ck_assert_uint_eq(first, 160);
    ck_assert_int_eq(hss_sqn_set(db, 1, 0xffffffffffe0ULL), 0);
    ck_assert_int_eq(hss_sqn_reserve(db, 1, 1, &first), 0);
    ck_assert_uint_eq(first, 0);         /* 48-bit wrap */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("user_data");
    TCase *tc = tcase_create("cx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, implicit_set_by_profile);
    tcase_add_test(tc, wildcarded_psi_found_and_described);
    tcase_add_test(tc, registration_state_and_sqn);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
