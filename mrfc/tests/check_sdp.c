/*
 * check_sdp.c - the MRF's offer/answer (mrfc/sdp.c): codec choice, telephone-event,
 * directions (hold), rejected streams, refusals, and the SDP we write parsed back by
 * sofia-sip
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp.h"

#define BOTH ((1u << MRFC_CODEC_PCMU) | (1u << MRFC_CODEC_PCMA))

static const char offer_ue[] =
    "v=0\r\n"
    "o=ue 1 1 IN IP4 127.0.0.111\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.111\r\n"
    "t=0 0\r\n"
    "m=audio 30000 RTP/AVP 96 8 0 101\r\n"
    "a=rtpmap:96 AMR/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

static int negotiate(const char *sdp, unsigned want, uint32_t codecs, struct mrfc_sdp_neg *n)
{
    char why[160];
    return mrfc_sdp_negotiate(sdp, strlen(sdp), want, codecs, n, why, sizeof(why));
}

START_TEST(offerer_order_wins)
{
    struct mrfc_sdp_neg n;
    ck_assert_int_eq(negotiate(offer_ue, MRFC_DIR_SENDRECV, BOTH, &n), 0);
    ck_assert_int_eq(n.codec, MRFC_CODEC_PCMA);          /* AMR skipped, PCMA before PCMU */
    ck_assert_uint_eq(n.pt, 8);
    ck_assert_int_eq(n.te_pt, 101);
    ck_assert_str_eq(n.addr, "127.0.0.111");
    ck_assert_uint_eq(n.port, 30000);
    ck_assert_uint_eq(n.rtcp_port, 30001);
    ck_assert_uint_eq(n.dir, MRFC_DIR_SENDRECV);
    ck_assert_uint_eq(n.ptime, 20);
    ck_assert_int_eq(n.audio, 0);
    ck_assert_int_eq(n.nmedia, 1);
    /* PCMA not accepted by configuration: PCMU */
    ck_assert_int_eq(negotiate(offer_ue, MRFC_DIR_SENDRECV, 1u << MRFC_CODEC_PCMU, &n), 0);
    ck_assert_int_eq(n.codec, MRFC_CODEC_PCMU);
    ck_assert_uint_eq(n.pt, 0);
}
END_TEST

START_TEST(directions)
{
    struct mrfc_sdp_neg n;
    char sdp[1024];
    static const struct {
        const char *attr;
        unsigned want, got;
    } cases[] = {
        { "a=sendrecv", MRFC_DIR_SEND, MRFC_DIR_SEND },          /* announcement */
        { "a=sendonly", MRFC_DIR_SENDRECV, MRFC_DIR_RECV },      /* the peer holds us */
        { "a=recvonly", MRFC_DIR_SENDRECV, MRFC_DIR_SEND },
        { "a=inactive", MRFC_DIR_SENDRECV, 0 },
        { "a=sendonly", MRFC_DIR_SEND, 0 },                      /* announcement on hold */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(sdp, sizeof(sdp), "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1"
                 "\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n%s\r\n", cases[i].attr);
        ck_assert_int_eq(negotiate(sdp, cases[i].want, BOTH, &n), 0);
        ck_assert_msg(n.dir == cases[i].got, "%s: dir %u, expected %u", cases[i].attr, n.dir,
                      cases[i].got);
    }
    /* RFC 2543 hold: c=0.0.0.0 means "do not send to me" */
    ck_assert_int_eq(negotiate("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
                               "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", MRFC_DIR_SENDRECV, BOTH,
                               &n), 0);
    ck_assert_uint_eq(n.dir & MRFC_DIR_SEND, 0);
}
END_TEST

START_TEST(other_streams_rejected)
{
    const char *sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                      "m=audio 0 RTP/AVP 0\r\n"
                      "m=audio 4000 RTP/AVP 0\r\na=rtcp:4005\r\n";
    struct mrfc_sdp_neg n;
    ck_assert_int_eq(negotiate(sdp, MRFC_DIR_SENDRECV, BOTH, &n), 0);
    ck_assert_int_eq(n.nmedia, 3);
    ck_assert_int_eq(n.audio, 2);
    ck_assert_uint_eq(n.rtcp_port, 4005);
    char ans[2048];
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 20000, .id = 77, .version = 2,
                                .user = "mrfc" };
    int len = mrfc_sdp_answer(ans, sizeof(ans), &l, &n);
    ck_assert_int_gt(len, 0);
    /* sofia-sip reads our answer: three m= lines, the first two with port 0 */
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sdp_parser_t *p = sdp_parse(home, ans, len, 0);
    sdp_session_t *s = sdp_session(p);
    ck_assert_msg(s != NULL, "%s", sdp_parsing_error(p));
    sdp_media_t *m = s->sdp_media;
    ck_assert_int_eq(m->m_type, sdp_media_video);
    ck_assert_uint_eq(m->m_port, 0);
    m = m->m_next;
    ck_assert_uint_eq(m->m_port, 0);
    m = m->m_next;
    ck_assert_uint_eq(m->m_port, 20000);
    ck_assert_int_eq(m->m_mode, sdp_sendrecv);
    ck_assert_uint_eq(s->sdp_origin->o_id, 77);
    ck_assert_uint_eq(s->sdp_origin->o_version, 2);
    ck_assert_ptr_null(m->m_next);
    sdp_parser_free(p);
    su_home_deinit(home);
}
END_TEST

START_TEST(answer_text)
{
    struct mrfc_sdp_neg n;
    ck_assert_int_eq(negotiate(offer_ue, MRFC_DIR_SEND, 1u << MRFC_CODEC_PCMU, &n), 0);
    char ans[2048];
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 20002, .id = 5, .version = 1 };
    ck_assert_int_gt(mrfc_sdp_answer(ans, sizeof(ans), &l, &n), 0);
    ck_assert_str_eq(ans, "v=0\r\n"
                          "o=- 5 1 IN IP4 127.0.0.60\r\n"
                          "s=mrfc\r\n"
                          "c=IN IP4 127.0.0.60\r\n"
                          "t=0 0\r\n"
                          "m=audio 20002 RTP/AVP 0 101\r\n"
                          "a=rtpmap:0 PCMU/8000\r\n"
                          "a=rtpmap:101 telephone-event/8000\r\n"
                          "a=fmtp:101 0-15\r\n"
                          "a=ptime:20\r\n"
                          "a=sendonly\r\n");
    /* too small a buffer */
    ck_assert_int_eq(mrfc_sdp_answer(ans, 60, &l, &n), -ENOSPC);
}
END_TEST

START_TEST(our_offer_read_back)
{
    char offer[1024];
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 20004, .id = 9, .version = 1 };
    ck_assert_int_gt(mrfc_sdp_offer(offer, sizeof(offer), &l, BOTH, MRFC_DIR_SENDRECV), 0);
    ck_assert_ptr_nonnull(strstr(offer, "m=audio 20004 RTP/AVP 0 8 101\r\n"));
    /* the peer answering our offer with only PCMA */
    struct mrfc_sdp_neg n;
    ck_assert_int_eq(negotiate(offer, MRFC_DIR_SENDRECV, 1u << MRFC_CODEC_PCMA, &n), 0);
    ck_assert_int_eq(n.codec, MRFC_CODEC_PCMA);
    ck_assert_int_eq(n.te_pt, MRFC_TE_PT_OFFER);
    ck_assert_str_eq(n.addr, "127.0.0.60");
}
END_TEST

START_TEST(refusals)
{
    struct mrfc_sdp_neg n;
    char why[160];
    const char *bad = "this is not SDP";
    ck_assert_int_eq(mrfc_sdp_negotiate(bad, strlen(bad), 3, BOTH, &n, why, sizeof(why)),
                     -EINVAL);
    static const char *const unusable[] = {
        /* no common codec */
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n",
        /* SRTP only */
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/SAVP 0\r\n",
        /* multicast */
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 239.1.1.1/16\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n",
        /* video only */
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=video 4000 RTP/AVP 96\r\n",
        /* a host name, not an address */
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 ue.example.org\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n",
    };
    for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
        int rc = mrfc_sdp_negotiate(unusable[i], strlen(unusable[i]), 3, BOTH, &n, why,
                                    sizeof(why));
        ck_assert_msg(rc == -ENOTSUP, "case %zu: %d (%s)", i, rc, why);
        ck_assert_msg(why[0] != '\0', "case %zu: no reason", i);
    }
    /* the reason of the first: the codec */
    mrfc_sdp_negotiate(unusable[0], strlen(unusable[0]), 3, BOTH, &n, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "codec"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mrfc_sdp");
    TCase *tc = tcase_create("sdp");
    tcase_add_test(tc, offerer_order_wins);
    tcase_add_test(tc, directions);
    tcase_add_test(tc, other_streams_rejected);
    tcase_add_test(tc, answer_text);
    tcase_add_test(tc, our_offer_read_back);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
