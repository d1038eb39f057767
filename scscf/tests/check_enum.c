/*
 * check_enum.c - ENUM of the S-CSCF (scscf/enum.c): the NAPTR regexp (RFC 3402 3.2,
 * RFC 6116) and the local number table, and the user=phone targets (common/sip_hdr.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/url.h>

#include "scscf.h"
#include "sip_hdr.h"

START_TEST(naptr_regexp)
{
    char out[128];
    ck_assert_int_eq(scscf_enum_apply("!^.*$!sip:alice@example.org!", "+15550100001", out,
                                      sizeof(out)), 0);
    ck_assert_str_eq(out, "sip:alice@example.org");
    /* back-references, another delimiter */
    ck_assert_int_eq(scscf_enum_apply("/^\\+1(555)(.*)$/sip:\\2@\\1.example.org;user=phone/",
                                      "+15550100001", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "sip:0100001@555.example.org;user=phone");
    /* no match, malformed fields, too small a buffer */
    ck_assert_int_eq(scscf_enum_apply("!^\\+44.*$!sip:x@y!", "+15550100001", out, sizeof(out)),
                     -ENOENT);
    ck_assert_int_lt(scscf_enum_apply("!^.*$sip:x@y", "+1", out, sizeof(out)), 0);
    ck_assert_int_lt(scscf_enum_apply("", "+1", out, sizeof(out)), 0);
    ck_assert_int_lt(scscf_enum_apply("!(!x!", "+1", out, sizeof(out)), 0);
    ck_assert_int_eq(scscf_enum_apply("!^.*$!sip:a-long-user@example.org!", "+1", out, 8),
                     -ENOSPC);
}
END_TEST

START_TEST(local_table)
{
    char path[] = "/tmp/check_enum_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "# comment\n+15550100001 sip:alice@example.org\n\n"
                       "+15550100002   sip:bob@example.org  # bob\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct scscf s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(scscf_enum_init(&s, path, NULL, NULL), 0);
    char uri[128];
    ck_assert_int_eq(scscf_enum_lookup(&s, "+15550100002", uri, sizeof(uri), NULL, NULL), 1);
    ck_assert_str_eq(uri, "sip:bob@example.org");
    /* not in the table and no DNS: no mapping (the caller goes to the BGCF) */
    ck_assert_int_eq(scscf_enum_lookup(&s, "+19995550100", uri, sizeof(uri), NULL, NULL),
                     -ENOENT);
    scscf_enum_fini(&s);

    /* a bad line stops the daemon with the line number */
    fd = open(path, O_WRONLY | O_TRUNC);
    const char *bad = "+15550100001 sip:alice@example.org\n15550100002 sip:bob@x\n";
    ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(scscf_enum_init(&s, path, NULL, NULL), -EINVAL);
    scscf_enum_fini(&s);
    unlink(path);
}
END_TEST

START_TEST(phone_targets)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char id[128];
    url_t *u = url_make(home, "sip:+1-555-010-0001@example.org;user=phone");
    ck_assert_int_eq(ims_sip_target_of(u, id, sizeof(id)), 0);
    ck_assert_str_eq(id, "tel:+15550100001");
    u = url_make(home, "tel:+15550100002");
    ck_assert_int_eq(ims_sip_target_of(u, id, sizeof(id)), 0);
    ck_assert_str_eq(id, "tel:+15550100002");
    u = url_make(home, "sip:carol@example.org;gr=urn:uuid:1234");
    ck_assert_int_eq(ims_sip_target_of(u, id, sizeof(id)), 0);
    ck_assert_str_eq(id, "sip:carol@example.org");      /* a GRUU's AOR */
    u = url_make(home, "mailto:x@y");
    ck_assert_int_lt(ims_sip_target_of(u, id, sizeof(id)), 0);
    su_home_deinit(home);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_enum");
    TCase *tc = tcase_create("enum");
    tcase_add_test(tc, naptr_regexp);
    tcase_add_test(tc, local_table);
    tcase_add_test(tc, phone_targets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
