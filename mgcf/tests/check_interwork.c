/*
 * check_interwork.c - the call set-up mappings of the MGCF (mgcf/interwork.c): the IAM of
 * an INVITE, the INVITE of an IAM (numbers, presentation, screening, category) and the SDP
 * exchanged with the IMS side and the MGW
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>

#include "interwork.h"

static msg_t *msg;

/* An INVITE for @ruri with extra header lines @headers */
static const sip_t *invite(const char *ruri, const char *headers)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.50:5060;branch=z9hG4bK-1\r\n"
             "Max-Forwards: 68\r\nFrom: <sip:alice@ims.example>;tag=a1\r\nTo: <%s>\r\n"
             "Call-ID: c1@test\r\nCSeq: 1 INVITE\r\n%sContent-Length: 0\r\n\r\n", ruri, ruri,
             headers);
    if (msg)
        msg_destroy(msg);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

static void teardown(void)
{
    if (msg)
        msg_destroy(msg);
    msg = NULL;
}

START_TEST(e164)
{
    char d[32];
    const sip_t *sip = invite("tel:+1-999-555-0100", "");
    ck_assert_int_eq(mgcf_iw_e164_of(sip->sip_request->rq_url, d, sizeof(d)), 0);
    ck_assert_str_eq(d, "19995550100");
    sip = invite("sip:+19995550100@ims.example;user=phone", "");
    ck_assert_int_eq(mgcf_iw_e164_of(sip->sip_request->rq_url, d, sizeof(d)), 0);
    ck_assert_str_eq(d, "19995550100");
    sip = invite("sip:alice@ims.example", "");
    ck_assert_int_eq(mgcf_iw_e164_of(sip->sip_request->rq_url, d, sizeof(d)), -EINVAL);
    sip = invite("tel:5550100;phone-context=ims.example", "");
    ck_assert_int_eq(mgcf_iw_e164_of(sip->sip_request->rq_url, d, sizeof(d)), -EINVAL);
    sip = invite("tel:+1234567890123456", "");
    ck_assert_int_eq(mgcf_iw_e164_of(sip->sip_request->rq_url, d, sizeof(d)), -E2BIG);
    ck_assert_int_eq(mgcf_iw_e164_of(NULL, d, sizeof(d)), -EINVAL);
}
END_TEST

START_TEST(iam_of_invite)
{
    struct mgcf_isup_msg iam = { .cic = 7 };
    char why[200];
    const sip_t *sip = invite("tel:+19995550100", "P-Asserted-Identity: <sip:alice@ims.example>"
                              "\r\nP-Asserted-Identity: <tel:+15550100001>\r\n");
    ck_assert_int_eq(mgcf_iw_iam_from_invite(sip, &iam, why, sizeof(why)), 0);
    ck_assert_uint_eq(iam.type, ISUP_IAM);
    ck_assert_uint_eq(iam.cic, 7);
    ck_assert_str_eq(iam.called.digits, "19995550100");
    ck_assert_uint_eq(iam.called.nai, ISUP_NAI_INTERNATIONAL);
    ck_assert_uint_eq(iam.called.npi, ISUP_NPI_ISDN);
    ck_assert_uint_eq(iam.called.inn_ni, ISUP_INN_NOT_ALLOWED);
    ck_assert_str_eq(iam.calling.digits, "15550100001");   /* the asserted number */
    ck_assert_uint_eq(iam.calling.nai, ISUP_NAI_INTERNATIONAL);
    ck_assert_uint_eq(iam.calling.apri, ISUP_APRI_ALLOWED);
    ck_assert_uint_eq(iam.calling.si, ISUP_SI_NETWORK);
    ck_assert_uint_eq(iam.cpc, ISUP_CPC_ORDINARY);
    ck_assert_uint_eq(iam.fci.interworking, 1);
    ck_assert_uint_eq(iam.fci.isup_all_the_way, 0);
    ck_assert_uint_eq(iam.tmr, ISUP_TMR_3_1KHZ);
    ck_assert(mgcf_isup_has(&iam, ISUP_PAR_NCI) && mgcf_isup_has(&iam, ISUP_PAR_FCI) &&
              mgcf_isup_has(&iam, ISUP_PAR_CPC) && mgcf_isup_has(&iam, ISUP_PAR_TMR) &&
              mgcf_isup_has(&iam, ISUP_PAR_CALLED) && mgcf_isup_has(&iam, ISUP_PAR_CALLING));
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    ck_assert_int_gt(mgcf_isup_encode(&iam, buf, sizeof(buf)), 0);   /* a valid IAM */
}
END_TEST

START_TEST(iam_presentation_and_category)
{
    struct mgcf_isup_msg iam = { 0 };
    char why[200];
    const sip_t *sip = invite("tel:+19995550100", "P-Asserted-Identity: <tel:+15550100001;"
                              "cpc=payphone>\r\nPrivacy: id\r\n");
    ck_assert_int_eq(mgcf_iw_iam_from_invite(sip, &iam, why, sizeof(why)), 0);
    ck_assert_uint_eq(iam.calling.apri, ISUP_APRI_RESTRICTED);
    ck_assert_uint_eq(iam.cpc, ISUP_CPC_PAYPHONE);
    sip = invite("tel:+19995550100", "P-Asserted-Identity: <tel:+15550100001>\r\n"
                 "Privacy: none\r\n");
    ck_assert_int_eq(mgcf_iw_iam_from_invite(sip, &iam, why, sizeof(why)), 0);
    ck_assert_uint_eq(iam.calling.apri, ISUP_APRI_ALLOWED);
    /* no number asserted: "address not available", and the IAM still encodes */
    sip = invite("tel:+19995550100", "P-Asserted-Identity: <sip:alice@ims.example>\r\n");
    ck_assert_int_eq(mgcf_iw_iam_from_invite(sip, &iam, why, sizeof(why)), 0);
    ck_assert_uint_eq(iam.calling.apri, ISUP_APRI_NOT_AVAILABLE);
    ck_assert_str_eq(iam.calling.digits, "");
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    ck_assert_int_gt(mgcf_isup_encode(&iam, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(iam_refused)
{
    struct mgcf_isup_msg iam = { 0 };
    char why[200];
    ck_assert_int_eq(mgcf_iw_iam_from_invite(invite("sip:bob@example.net", ""), &iam, why,
                                             sizeof(why)), 404);
    ck_assert_ptr_nonnull(strstr(why, "E.164"));
    ck_assert_int_eq(mgcf_iw_iam_from_invite(invite("tel:+1234567890123456", ""), &iam, why,
                                             sizeof(why)), 484);
}
END_TEST

static struct mgcf_isup_msg incoming(uint8_t called_nai, const char *called, bool has_calling,
                                     uint8_t apri, uint8_t si, const char *calling)
{
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, ISUP_IAM, 1);
    m.called.nai = called_nai;
    snprintf(m.called.digits, sizeof(m.called.digits), "%s", called);
    if (has_calling) {
        m.calling.nai = ISUP_NAI_INTERNATIONAL;
        m.calling.apri = apri;
        m.calling.si = si;
        snprintf(m.calling.digits, sizeof(m.calling.digits), "%s", calling);
        mgcf_isup_set(&m, ISUP_PAR_CALLING);
    }
    m.cpc = ISUP_CPC_ORDINARY;
    mgcf_isup_set(&m, ISUP_PAR_CPC);
    return m;
}

START_TEST(invite_of_iam)
{
    struct mgcf_iw_conf conf = { .country_code = "1" };
    struct mgcf_iw_origin o;
    char why[200];
    struct mgcf_isup_msg m = incoming(ISUP_NAI_INTERNATIONAL, "15550100001", true,
                                      ISUP_APRI_ALLOWED, ISUP_SI_NETWORK, "19995550123");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 0);
    ck_assert_str_eq(o.request_uri, "tel:+15550100001");
    ck_assert_str_eq(o.to, "<tel:+15550100001>");
    ck_assert_str_eq(o.from, "<tel:+19995550123>");
    ck_assert_str_eq(o.pai, "<tel:+19995550123>");
    ck_assert(!o.privacy);
    /* national called number, ST at the end; restricted, network provided: asserted with
     * Privacy, From anonymous */
    m = incoming(ISUP_NAI_NATIONAL, "5550100001F", true, ISUP_APRI_RESTRICTED,
                 ISUP_SI_NETWORK, "19995550123");
    m.cpc = ISUP_CPC_PAYPHONE;
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 0);
    ck_assert_str_eq(o.request_uri, "tel:+15550100001");
    ck_assert_str_eq(o.from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
    ck_assert_str_eq(o.pai, "<tel:+19995550123;cpc=payphone>");
    ck_assert(o.privacy);
    /* user provided, not verified: shown, not asserted */
    m = incoming(ISUP_NAI_INTERNATIONAL, "15550100001", true, ISUP_APRI_ALLOWED,
                 ISUP_SI_USER_UNVERIFIED, "19995550123");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 0);
    ck_assert_str_eq(o.from, "<tel:+19995550123>");
    ck_assert_str_eq(o.pai, "");
    /* no calling number, or not available: anonymous, nothing asserted */
    m = incoming(ISUP_NAI_INTERNATIONAL, "15550100001", false, 0, 0, "");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 0);
    ck_assert_str_eq(o.pai, "");
    ck_assert_ptr_nonnull(strstr(o.from, "anonymous.invalid"));
    m = incoming(ISUP_NAI_INTERNATIONAL, "15550100001", true, ISUP_APRI_NOT_AVAILABLE,
                 ISUP_SI_NETWORK, "");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 0);
    ck_assert_str_eq(o.pai, "");
}
END_TEST

START_TEST(invite_of_bad_iam)
{
    struct mgcf_iw_conf conf = { .country_code = "1" };
    struct mgcf_iw_origin o;
    char why[200];
    struct mgcf_isup_msg m = incoming(ISUP_NAI_INTERNATIONAL, "1555B0100", false, 0, 0, "");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 28);
    m = incoming(ISUP_NAI_INTERNATIONAL, "", false, 0, 0, "");
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 28);
    m = incoming(ISUP_NAI_NATIONAL, "555010000123456", false, 0, 0, "");   /* 16 with +1 */
    ck_assert_int_eq(mgcf_iw_invite_from_iam(&m, &conf, &o, why, sizeof(why)), 28);
}
END_TEST

#define OFFER "v=0\r\no=- 1 1 IN IP4 127.0.0.160\r\ns=-\r\nc=IN IP4 127.0.0.160\r\nt=0 0\r\n"

START_TEST(sdp_read)
{
    struct mgcf_iw_media m;
    const char *s = OFFER "m=audio 16000 RTP/AVP 8 0 18 101\r\na=rtpmap:101 "
                          "telephone-event/8000\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), 0);
    ck_assert_str_eq(m.addr, "127.0.0.160");
    ck_assert_uint_eq(m.port, 16000);
    ck_assert_str_eq(m.fmts, "8 0");                   /* G.711 only, the offer's order */
    s = OFFER "m=video 17000 RTP/AVP 96\r\nm=audio 16000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), 0);
    ck_assert_str_eq(m.addr, "10.0.0.1");              /* the stream's own c= wins */
    ck_assert_str_eq(m.fmts, "0");
    s = OFFER "m=audio 16000 RTP/AVP 18 96\r\na=rtpmap:96 AMR/8000\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -ENOTSUP);   /* no G.711: 488 */
    s = OFFER "m=audio 0 RTP/AVP 0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -ENOTSUP);   /* rejected stream */
    s = "v=0\r\no=- 1 1 IN IP4 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);    /* IPv4 only */
    ck_assert_int_eq(mgcf_iw_sdp_read("hello", 5, &m), -EINVAL);
    ck_assert_int_eq(mgcf_iw_sdp_read(NULL, 0, &m), -EINVAL);
}
END_TEST

/* Found by tests/fuzz/mgcf_iw: an m= line outside the grammar made sofia-sip's sdp_parse()
 * allocate without end (an INVITE could exhaust the MGCF's memory); refused before parsing
 * (this test would time out) */
START_TEST(sdp_media_line_outside_grammar)
{
    struct mgcf_iw_media m;
    const char *s = OFFER "m=audio 7000 RTP/AV\xff\xff" "0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
    s = OFFER "m=audio 40000 RTP/1;caus\xbd\xbd=16;text=\"x\", SIP;cause=20\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
    s = OFFER "m=audio 7000 RTP/AVP 0 \r\n";        /* a space before the line end */
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
}
END_TEST

/* Found by tests/fuzz/mgcf_iw: a port past 65535 (sofia-sip reads any unsigned) and a
 * connection address that is no IPv4 address went to the MGW's Remote descriptor */
START_TEST(sdp_port_and_address_checked)
{
    struct mgcf_iw_media m;
    const char *s = OFFER "m=audio 80000 RTP/AVP 8\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
    s = "v=0\r\no=- 1 1 IN IP4 127.0.0.160\r\ns=-\r\nc=IN IP4 $\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
    s = "v=0\r\no=- 1 1 IN IP4 127.0.0.160\r\ns=-\r\nc=IN IP4 mgw.example.net\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), -EINVAL);
    s = OFFER "m=audio 65535 RTP/AVP 0\r\n";
    ck_assert_int_eq(mgcf_iw_sdp_read(s, strlen(s), &m), 0);
}
END_TEST

/* RFC 3264 6.1: the answer's formats are among the offer's, in its order, and among those
 * the MGW took; none shared: -ENOTSUP (488) */
START_TEST(fmts_answer)
{
    char out[MGCF_IW_FMTS_MAX];
    ck_assert_int_eq(mgcf_iw_fmts_answer("8", "8 0", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "8");                         /* not "8 0" */
    ck_assert_int_eq(mgcf_iw_fmts_answer("0 8", "8 0", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 8");                       /* the offerer's order */
    ck_assert_int_eq(mgcf_iw_fmts_answer("0 8 0", "8 0", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "0 8");
    ck_assert_int_eq(mgcf_iw_fmts_answer("8", "18 0", out, sizeof(out)), -ENOTSUP);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(mgcf_iw_fmts_answer("0", "8", out, sizeof(out)), -ENOTSUP);
    ck_assert_int_eq(mgcf_iw_fmts_answer("", "8 0", out, sizeof(out)), -ENOTSUP);
}
END_TEST

START_TEST(sdp_write)
{
    char buf[512];
    struct mgcf_iw_media m = { .addr = "127.0.0.101", .port = 30000, .fmts = "8 0" };
    ck_assert_int_gt(mgcf_iw_mg_local("8 0", buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 8 0\r\n");
    ck_assert_int_gt(mgcf_iw_mg_remote(&m, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "v=0\r\nc=IN IP4 127.0.0.101\r\nm=audio 30000 RTP/AVP 8 0\r\n");
    int n = mgcf_iw_sdp_write(&m, 42, 2, "127.0.0.70", buf, sizeof(buf));
    ck_assert_int_eq(n, (int)strlen(buf));
    ck_assert_str_eq(buf, "v=0\r\no=mgcf 42 2 IN IP4 127.0.0.70\r\ns=-\r\n"
                          "c=IN IP4 127.0.0.101\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8 0\r\n"
                          "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n");
    struct mgcf_iw_media back;                       /* what we write, we read */
    ck_assert_int_eq(mgcf_iw_sdp_read(buf, (size_t)n, &back), 0);
    ck_assert_str_eq(back.fmts, "8 0");
    ck_assert_int_eq(mgcf_iw_sdp_write(&m, 42, 2, "127.0.0.70", buf, 40), -ENOSPC);
    ck_assert_int_eq(mgcf_iw_mg_local("8 0", buf, 10), -ENOSPC);
}
END_TEST

int main(void)
{
    sip_update_default_mclass(sip_extend_mclass(NULL));
    Suite *s = suite_create("interwork");
    TCase *tc = tcase_create("interwork");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, e164);
    tcase_add_test(tc, iam_of_invite);
    tcase_add_test(tc, iam_presentation_and_category);
    tcase_add_test(tc, iam_refused);
    tcase_add_test(tc, invite_of_iam);
    tcase_add_test(tc, invite_of_bad_iam);
    tcase_add_test(tc, sdp_read);
    tcase_add_test(tc, sdp_media_line_outside_grammar);
    tcase_add_test(tc, sdp_port_and_address_checked);
    tcase_add_test(tc, fmts_answer);
    tcase_add_test(tc, sdp_write);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
