/*
 * check_regevent.c - which requests belong to the dialog of a reg-event subscription
 * (pcscf/regevent.c): the match that replaced the subscription's own nta leg
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdlib.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "pcscf.h"

static su_home_t home[1];
static sip_t req[1];

/* A request whose From and To are @from and @to */
static const sip_t *request(const char *from, const char *to)
{
    su_home_deinit(home);
    su_home_init(home);
    *req = (sip_t){ 0 };
    req->sip_from = sip_from_make(home, from);
    req->sip_to = sip_to_make(home, to);
    ck_assert_ptr_nonnull(req->sip_from);
    ck_assert_ptr_nonnull(req->sip_to);
    return req;
}

START_TEST(our_tag_before_the_scscf_tag_is_known)
{
    /* a NOTIFY may come before the 2xx: any From tag then */
    ck_assert(pcscf_regevent_in_dialog("Ut3X", NULL,
                                       request("<sip:a@x>;tag=s1", "<sip:p@y>;tag=ut3x")));
    ck_assert(!pcscf_regevent_in_dialog("Ut3X", NULL,
                                        request("<sip:a@x>;tag=s1", "<sip:p@y>;tag=other")));
}
END_TEST

START_TEST(the_scscf_tag_once_known)
{
    ck_assert(pcscf_regevent_in_dialog("Ut3X", "regsub2",
                                       request("<sip:a@x>;tag=REGSUB2", "<sip:p@y>;tag=Ut3X")));
    /* another From tag: no dialog of ours (481 in pcscf_request) */
    ck_assert(!pcscf_regevent_in_dialog("Ut3X", "regsub2",
                                        request("<sip:a@x>;tag=stranger2",
                                                "<sip:p@y>;tag=Ut3X")));
    ck_assert(!pcscf_regevent_in_dialog("Ut3X", "regsub2",
                                        request("<sip:a@x>", "<sip:p@y>;tag=Ut3X")));
}
END_TEST

START_TEST(no_to_tag_matches_as_a_leg_tagged_after_creation)
{
    ck_assert(pcscf_regevent_in_dialog("Ut3X", "regsub2",
                                       request("<sip:a@x>;tag=regsub2", "<sip:p@y>")));
}
END_TEST

int main(void)
{
    su_home_init(home);
    Suite *s = suite_create("regevent");
    TCase *tc = tcase_create("dialog");
    tcase_add_test(tc, our_tag_before_the_scscf_tag_is_known);
    tcase_add_test(tc, the_scscf_tag_once_known);
    tcase_add_test(tc, no_to_tag_matches_as_a_leg_tagged_after_creation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_home_deinit(home);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
