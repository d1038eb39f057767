/*
 * check_interwork_tables.c - the SIP <-> ISUP release tables (mgcf/interwork_tables.c):
 * every row of both directions, class defaults, BYE/CANCEL, the Q.850 Reason header
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "interwork_tables.h"

/* TS 29.163 / Q.1912.5: ISUP cause in a REL before answer -> SIP final status */
static const struct {
    unsigned cause;
    int status;
    const char *phrase;
} to_status[] = {
    {1, 404, "Not Found"},          /* unallocated (unassigned) number */
    {2, 404, "Not Found"},          /* no route to network */
    {3, 404, "Not Found"},          /* no route to destination */
    {5, 404, "Not Found"},          /* misdialled trunk prefix */
    {17, 486, "Busy Here"},         /* user busy */
    {18, 480, "Temporarily Unavailable"}, /* no user responding */
    {19, 480, "Temporarily Unavailable"}, /* no answer from user */
    {20, 480, "Temporarily Unavailable"}, /* subscriber absent */
    {21, 403, "Forbidden"},         /* call rejected (location not the user) */
    {22, 410, "Gone"},              /* number changed */
    {23, 410, "Gone"},              /* redirection to new destination */
    {25, 483, "Too Many Hops"},     /* exchange routing error (hop counter) */
    {26, 404, "Not Found"},         /* non-selected user clearing */
    {27, 502, "Bad Gateway"},       /* destination out of order */
    {28, 484, "Address Incomplete"},/* invalid number format */
    {29, 501, "Not Implemented"},   /* facility rejected */
    {31, 480, "Temporarily Unavailable"}, /* normal, unspecified */
    {34, 503, "Service Unavailable"}, /* no circuit/channel available */
    {38, 503, "Service Unavailable"}, /* network out of order */
    {41, 503, "Service Unavailable"}, /* temporary failure */
    {42, 503, "Service Unavailable"}, /* switching equipment congestion */
    {47, 503, "Service Unavailable"}, /* resource unavailable, unspecified */
    {55, 403, "Forbidden"},         /* incoming calls barred within CUG */
    {57, 403, "Forbidden"},         /* bearer capability not authorized */
    {58, 503, "Service Unavailable"}, /* bearer capability not presently available */
    {65, 488, "Not Acceptable Here"}, /* bearer capability not implemented */
    {70, 488, "Not Acceptable Here"}, /* only restricted digital information */
    {79, 501, "Not Implemented"},   /* service or option not implemented */
    {87, 403, "Forbidden"},         /* user not member of CUG */
    {88, 503, "Service Unavailable"}, /* incompatible destination */
    {102, 504, "Server Time-out"},  /* recovery on timer expiry */
    {111, 500, "Server Internal Error"}, /* protocol error, unspecified */
    {127, 500, "Server Internal Error"}, /* interworking, unspecified */
    /* not listed: the unspecified cause of the class (Q.850 2.2.7.1) */
    {16, 480, "Temporarily Unavailable"}, /* normal clearing when a response is owed */
    {4, 480, "Temporarily Unavailable"},  /* class 0 -> 31 */
    {0, 480, "Temporarily Unavailable"},
    {44, 503, "Service Unavailable"},     /* class 2 -> 47 */
    {46, 503, "Service Unavailable"},
    {50, 500, "Server Internal Error"},   /* class 3 -> 63, which has no row */
    {63, 500, "Server Internal Error"},
    {69, 501, "Not Implemented"},         /* class 4 -> 79 */
    {91, 500, "Server Internal Error"},   /* class 5 -> 95 */
    {97, 500, "Server Internal Error"},   /* class 6 -> 111 */
    {120, 500, "Server Internal Error"},  /* class 7 -> 127 */
    {200, 500, "Server Internal Error"},  /* not a cause: interworking */
};

START_TEST(cause_to_status_rows)
{
    const char *phrase = NULL;
    int st = mgcf_iw_cause_to_status(to_status[_i].cause, 2, &phrase);
    ck_assert_msg(st == to_status[_i].status, "cause %u: %d, want %d", to_status[_i].cause, st,
                  to_status[_i].status);
    ck_assert_str_eq(phrase, to_status[_i].phrase);
}
END_TEST

START_TEST(call_rejected_by_the_user_is_decline)
{
    const char *phrase;
    ck_assert_int_eq(mgcf_iw_cause_to_status(21, 0, &phrase), 603);   /* location user */
    ck_assert_str_eq(phrase, "Decline");
    ck_assert_int_eq(mgcf_iw_cause_to_status(21, 1, &phrase), 403);   /* private network */
    ck_assert_int_eq(mgcf_iw_cause_to_status(17, 0, &phrase), 486);   /* only cause 21 */
}
END_TEST

/* TS 29.163 / Q.1912.5: SIP final status of the INVITE of an incoming call -> REL cause */
static const struct {
    int status;
    unsigned cause;
} to_cause[] = {
    {404, 1},   {410, 22},  {480, 20},  {482, 25},  {483, 25},  {484, 28},
    {485, 1},   {486, 17},  {600, 17},  {603, 21},  {604, 1},
    /* all others: 127 interworking, unspecified */
    {400, 127}, {401, 127}, {402, 127}, {403, 127}, {405, 127}, {406, 127}, {407, 127},
    {408, 127}, {413, 127}, {414, 127}, {415, 127}, {416, 127}, {420, 127}, {421, 127},
    {423, 127}, {481, 127}, {487, 127}, {488, 127}, {493, 127}, {500, 127}, {501, 127},
    {502, 127}, {503, 127}, {504, 127}, {505, 127}, {513, 127}, {580, 127}, {606, 127},
    {499, 127}, {699, 127},
};

START_TEST(status_to_cause_rows)
{
    unsigned c = mgcf_iw_status_to_cause(to_cause[_i].status, -1);
    ck_assert_msg(c == to_cause[_i].cause, "status %d: cause %u, want %u", to_cause[_i].status,
                  c, to_cause[_i].cause);
}
END_TEST

START_TEST(reason_cause_wins)
{
    ck_assert_uint_eq(mgcf_iw_status_to_cause(486, 34), 34);
    ck_assert_uint_eq(mgcf_iw_status_to_cause(500, 127), 127);
    ck_assert_uint_eq(mgcf_iw_status_to_cause(486, 0), 17);     /* 0 is no cause */
    ck_assert_uint_eq(mgcf_iw_status_to_cause(486, 128), 17);   /* out of range */
    ck_assert_uint_eq(mgcf_iw_release_cause(false, -1), 16);    /* BYE */
    ck_assert_uint_eq(mgcf_iw_release_cause(true, -1), 31);     /* CANCEL (Q.1912.5) */
    ck_assert_uint_eq(mgcf_iw_release_cause(true, 19), 19);
    ck_assert_uint_eq(mgcf_iw_release_cause(false, 200), 16);
}
END_TEST

/* The first Q.850 entry of a Reason header, as sofia-sip parses it */
static int reason_of(const char *value)
{
    su_home_t *home = su_home_new(sizeof(su_home_t));
    sip_reason_t *r = sip_reason_make(home, value);
    int c = r ? mgcf_iw_reason_cause(r) : -2;
    su_home_unref(home);
    return c;
}

START_TEST(reason_parse)
{
    ck_assert_int_eq(reason_of("Q.850;cause=16;text=\"Terminated\""), 16);
    ck_assert_int_eq(reason_of("q.850 ; cause=17"), 17);
    ck_assert_int_eq(reason_of("SIP;cause=200;text=\"Call completed elsewhere\", "
                               "Q.850;cause=26"), 26);
    ck_assert_int_eq(reason_of("SIP;cause=486"), -1);           /* no Q.850 entry */
    ck_assert_int_eq(reason_of("Q.850;text=\"no cause\""), -1);
    ck_assert_int_eq(reason_of("Q.850;cause=0"), -1);
    ck_assert_int_eq(reason_of("Q.850;cause=128"), -1);
    ck_assert_int_eq(reason_of("Q.850;cause=-1"), -1);
    ck_assert_int_eq(reason_of("Q.850;cause=17x"), -1);
    ck_assert_int_eq(reason_of("Q.850;cause=99999999999999999999"), -1);
    ck_assert_int_eq(mgcf_iw_reason_cause(NULL), -1);
}
END_TEST

START_TEST(reason_format)
{
    char buf[128];
    ck_assert_int_eq(mgcf_iw_reason_format(17, buf, sizeof(buf)),
                     (int)strlen("Q.850;cause=17;text=\"User busy\""));
    ck_assert_str_eq(buf, "Q.850;cause=17;text=\"User busy\"");
    ck_assert_int_gt(mgcf_iw_reason_format(12, buf, sizeof(buf)), 0);  /* unnamed value */
    ck_assert_str_eq(buf, "Q.850;cause=12");
    ck_assert_int_eq(mgcf_iw_reason_format(0, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(mgcf_iw_reason_format(128, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(mgcf_iw_reason_format(16, buf, 10), -ENOSPC);
    /* what we write, sofia-sip reads back to the same cause, for every value */
    for (unsigned c = 1; c <= 127; c++) {
        ck_assert_int_gt(mgcf_iw_reason_format(c, buf, sizeof(buf)), 0);
        ck_assert_int_eq(reason_of(buf), (int)c);
    }
}
END_TEST

START_TEST(cause_texts)
{
    ck_assert_str_eq(mgcf_iw_cause_text(16), "Normal call clearing");
    ck_assert_str_eq(mgcf_iw_cause_text(127), "Interworking, unspecified");
    ck_assert_ptr_null(mgcf_iw_cause_text(0));
    ck_assert_ptr_null(mgcf_iw_cause_text(10));
    ck_assert_ptr_null(mgcf_iw_cause_text(128));
    /* every cause the tables produce has a name */
    for (size_t i = 0; i < sizeof(to_cause) / sizeof(to_cause[0]); i++)
        ck_assert_ptr_nonnull(mgcf_iw_cause_text(mgcf_iw_status_to_cause(to_cause[i].status,
                                                                         -1)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("interwork_tables");
    TCase *tc = tcase_create("interwork_tables");
    tcase_add_loop_test(tc, cause_to_status_rows, 0,
                        (int)(sizeof(to_status) / sizeof(to_status[0])));
    tcase_add_loop_test(tc, status_to_cause_rows, 0,
                        (int)(sizeof(to_cause) / sizeof(to_cause[0])));
    tcase_add_test(tc, call_rejected_by_the_user_is_decline);
    tcase_add_test(tc, reason_cause_wins);
    tcase_add_test(tc, reason_parse);
    tcase_add_test(tc, reason_format);
    tcase_add_test(tc, cause_texts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
