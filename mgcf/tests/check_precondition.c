/*
 * check_precondition.c - SIP preconditions at the MGCF (mgcf/precondition.c): qos lines of
 * a VoLTE offer read, mirrored into the MGCF's point of view, our answer's lines, the
 * "met" test and the decision on an INVITE
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "precondition.h"

/* A UE's initial offer (TS 24.229 style): its segment not reserved, mandatory */
static const char OFFER[] =
    "v=0\r\n"
    "o=- 1 1 IN IP4 10.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 16000 RTP/AVP 8 0\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=curr:qos local none\r\n"
    "a=curr:qos remote none\r\n"
    "a=des:qos mandatory local sendrecv\r\n"
    "a=des:qos none remote sendrecv\r\n";

/* Its UPDATE once its bearer is up */
static const char UPDATE[] =
    "v=0\r\n"
    "o=- 1 2 IN IP4 10.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 16000 RTP/AVP 8\r\n"
    "a=curr:qos local sendrecv\r\n"
    "a=curr:qos remote sendrecv\r\n"
    "a=des:qos mandatory local sendrecv\r\n"
    "a=des:qos mandatory remote sendrecv\r\n";

START_TEST(reads_a_segmented_offer)
{
    struct mgcf_qos q;
    ck_assert_int_eq(mgcf_qos_read(OFFER, strlen(OFFER), &q), 0);
    ck_assert_uint_eq(q.lines, 4);
    ck_assert_uint_eq(q.bad, 0);
    ck_assert(q.local.has_curr);
    ck_assert_int_eq(q.local.curr, MGCF_QOS_NONE);
    ck_assert_int_eq(q.local.strength, MGCF_QOS_MANDATORY);
    ck_assert_int_eq(q.local.des, MGCF_QOS_SENDRECV);
    ck_assert_int_eq(q.remote.strength, MGCF_QOS_STRENGTH_NONE);
    ck_assert_int_eq(q.remote.des, MGCF_QOS_SENDRECV);
    ck_assert_int_eq(q.e2e.strength, MGCF_QOS_ABSENT);
    ck_assert(!q.local.has_conf);
    ck_assert(mgcf_qos_segmented_mandatory(&q));
}
END_TEST

START_TEST(reads_other_types_and_bad_lines)
{
    static const char sdp[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 16000 RTP/AVP 0\r\n"
        "a=curr:sec local none\r\n"             /* another precondition type: skipped */
        "a=des:qos mandatory e2e send\r\n"
        "a=curr:qos e2e none\r\n"
        "a=conf:qos remote recv\r\n"
        "a=des:qos sometimes local sendrecv\r\n" /* unknown strength */
        "a=curr:qos local\r\n"                  /* too short */
        "a=curr:qos middle send\r\n";           /* unknown status type */
    struct mgcf_qos q;
    ck_assert_int_eq(mgcf_qos_read(sdp, strlen(sdp), &q), 0);
    ck_assert_uint_eq(q.lines, 3);
    ck_assert_uint_eq(q.bad, 3);
    ck_assert_int_eq(q.e2e.strength, MGCF_QOS_MANDATORY);
    ck_assert_int_eq(q.e2e.des, MGCF_QOS_SEND);
    ck_assert(q.e2e.has_curr);
    ck_assert(q.remote.has_conf);
    ck_assert_int_eq(q.remote.conf, MGCF_QOS_RECV);
    ck_assert_int_eq(q.local.strength, MGCF_QOS_ABSENT);
    ck_assert(!mgcf_qos_segmented_mandatory(&q));
    /* not SDP, no audio */
    ck_assert_int_eq(mgcf_qos_read("hello", 5, &q), -EINVAL);
    static const char video[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
                                "m=video 16000 RTP/AVP 96\r\na=des:qos mandatory local send\r\n";
    ck_assert_int_eq(mgcf_qos_read(video, strlen(video), &q), -EINVAL);
    ck_assert_int_eq(mgcf_qos_read(NULL, 0, &q), -EINVAL);
}
END_TEST

START_TEST(mirror_swaps_send_and_recv)
{
    ck_assert_int_eq(mgcf_qos_mirror(MGCF_QOS_SEND), MGCF_QOS_RECV);
    ck_assert_int_eq(mgcf_qos_mirror(MGCF_QOS_RECV), MGCF_QOS_SEND);
    ck_assert_int_eq(mgcf_qos_mirror(MGCF_QOS_SENDRECV), MGCF_QOS_SENDRECV);
    ck_assert_int_eq(mgcf_qos_mirror(MGCF_QOS_NONE), MGCF_QOS_NONE);
    ck_assert_str_eq(mgcf_qos_dir_name(MGCF_QOS_RECV), "recv");
    ck_assert_str_eq(mgcf_qos_dir_name(MGCF_QOS_SENDRECV), "sendrecv");
}
END_TEST

START_TEST(answer_then_met_after_update)
{
    struct mgcf_qos q;
    struct mgcf_precond p;
    char buf[512];
    ck_assert_int_eq(mgcf_qos_read(OFFER, strlen(OFFER), &q), 0);
    mgcf_precond_from_offer(&p, &q, true);
    ck_assert_int_eq(p.peer_curr, MGCF_QOS_NONE);
    ck_assert_int_eq(p.peer_des, MGCF_QOS_SENDRECV);
    ck_assert(!mgcf_precond_met(&p));
    int n = mgcf_precond_write(&p, buf, sizeof(buf));
    ck_assert_str_eq(buf, "a=curr:qos local sendrecv\r\n"
                          "a=curr:qos remote none\r\n"
                          "a=des:qos mandatory local sendrecv\r\n"
                          "a=des:qos mandatory remote sendrecv\r\n"
                          "a=conf:qos remote sendrecv\r\n");
    ck_assert_int_eq(n, (int)strlen(buf));
    ck_assert_int_eq(mgcf_qos_read(UPDATE, strlen(UPDATE), &q), 0);
    mgcf_precond_from_offer(&p, &q, false);
    ck_assert(mgcf_precond_met(&p));
    n = mgcf_precond_write(&p, buf, sizeof(buf));
    ck_assert_str_eq(buf, "a=curr:qos local sendrecv\r\n"
                          "a=curr:qos remote sendrecv\r\n"
                          "a=des:qos mandatory local sendrecv\r\n"
                          "a=des:qos mandatory remote sendrecv\r\n");
    ck_assert_int_eq(mgcf_precond_write(&p, buf, 40), -ENOSPC);
}
END_TEST

/* The UE reserves its send direction first: our recv; not enough for sendrecv */
START_TEST(half_a_segment_is_not_met)
{
    struct mgcf_qos q;
    memset(&q, 0, sizeof(q));
    q.local.strength = MGCF_QOS_MANDATORY;
    q.local.des = MGCF_QOS_SEND;             /* it only needs to send: we receive */
    struct mgcf_precond p;
    mgcf_precond_from_offer(&p, &q, true);
    ck_assert_int_eq(p.peer_des, MGCF_QOS_RECV);
    char buf[512];
    ck_assert_int_gt(mgcf_precond_write(&p, buf, sizeof(buf)), 0);
    ck_assert_ptr_nonnull(strstr(buf, "a=des:qos mandatory remote recv\r\n"));
    ck_assert_ptr_nonnull(strstr(buf, "a=conf:qos remote recv\r\n"));
    q.local.has_curr = true;
    q.local.curr = MGCF_QOS_RECV;            /* the wrong way round */
    mgcf_precond_from_offer(&p, &q, false);
    ck_assert_int_eq(p.peer_curr, MGCF_QOS_SEND);
    ck_assert(!mgcf_precond_met(&p));
    q.local.curr = MGCF_QOS_SEND;
    mgcf_precond_from_offer(&p, &q, false);
    ck_assert(mgcf_precond_met(&p));
    ck_assert_int_eq(p.peer_des, MGCF_QOS_RECV);    /* a later offer does not move it */
}
END_TEST

START_TEST(decisions)
{
    struct mgcf_qos q;
    ck_assert_int_eq(mgcf_qos_read(OFFER, strlen(OFFER), &q), 0);
    struct mgcf_precond_invite in = { .required = true, .rel100 = true, .offer = true,
                                      .qos = &q };
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_USE);
    in.required = false;
    in.supported = true;
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_USE);
    in.rel100 = false;
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_REFUSE_421);
    in.rel100 = true;
    in.supported = false;                    /* no tag: the lines are not looked at */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_NO);
    in.required = true;
    in.offer = false;                        /* nothing to apply it to */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_REFUSE_420);
    in.rel100 = false;                       /* no offer wins over no 100rel */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_REFUSE_420);
    in.rel100 = true;
    in.offer = true;
    struct mgcf_qos none;
    memset(&none, 0, sizeof(none));
    in.qos = &none;                          /* an offer without qos lines */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_REFUSE_420);
    in.required = false;
    in.supported = true;
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_NO);
    none.e2e.strength = MGCF_QOS_MANDATORY;  /* e2e: the MGCF cannot tell */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_REFUSE_580);
    ck_assert_int_eq(mgcf_qos_read(UPDATE, strlen(UPDATE), &q), 0);
    in.qos = &q;                             /* reserved already */
    ck_assert_int_eq(mgcf_precond_decide(&in), MGCF_PRECOND_MET);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mgcf_precondition");
    TCase *tc = tcase_create("precondition");
    tcase_add_test(tc, reads_a_segmented_offer);
    tcase_add_test(tc, reads_other_types_and_bad_lines);
    tcase_add_test(tc, mirror_swaps_send_and_recv);
    tcase_add_test(tc, answer_then_met_after_update);
    tcase_add_test(tc, half_a_segment_is_not_met);
    tcase_add_test(tc, decisions);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
