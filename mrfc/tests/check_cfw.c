/*
 * check_cfw.c - the Media Control Channel Framework's messages (mrfc/cfw_msg.c: RFC 6230
 * section 9, read off a byte stream and written) and the control channel's SDP (mrfc/sdp.c:
 * the offer of an AS read, the MRF's answer written and read back)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfw.h"
#include "cfw_msg.h"
#include "sdp.h"

static long parse(const char *text, struct mrfc_cfw_msg *m)
{
    return mrfc_cfw_parse(text, strlen(text), m);
}

START_TEST(sync_request)
{
    const char *t = "CFW 8djae7khauj SYNC\r\nDialog-ID: fjdhaksjdfha\r\nKeep-Alive: 100\r\n"
                    "Packages: msc-ivr/1.0,msc-mixer/1.0\r\n\r\n";
    struct mrfc_cfw_msg m;
    ck_assert_int_eq(parse(t, &m), (long)strlen(t));
    ck_assert_str_eq(m.error, "");
    ck_assert_int_eq(m.method, MRFC_CFW_SYNC);
    ck_assert_str_eq(m.tid, "8djae7khauj");
    ck_assert_str_eq(m.dialog_id, "fjdhaksjdfha");
    ck_assert_int_eq(m.keep_alive, 100);
    ck_assert(mrfc_cfw_list_has(m.packages, "msc-mixer/1.0"));
    ck_assert(mrfc_cfw_list_has(m.packages, "MSC-IVR/1.0"));
    ck_assert(!mrfc_cfw_list_has(m.packages, "msc-ivr"));
    ck_assert_ptr_null(m.body);
}
END_TEST

START_TEST(control_with_body_streamed)
{
    const char *body = "<mscivr version=\"1.0\"><dialogterminate dialogid=\"d1\"/></mscivr>";
    char t[512];
    int n = snprintf(t, sizeof(t), "CFW 7dsbf2ud7k CONTROL\r\nControl-Package: msc-ivr/1.0\r\n"
                     "Content-Type: application/msc-ivr+xml; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n\r\n%sCFW k1 K-ALIVE\r\n\r\n", strlen(body), body);
    struct mrfc_cfw_msg m;
    /* byte by byte: nothing until the whole first message is there */
    size_t first = (size_t)n - strlen("CFW k1 K-ALIVE\r\n\r\n");
    for (size_t k = 0; k < first; k++)
        ck_assert_int_eq(mrfc_cfw_parse(t, k, &m), 0);
    ck_assert_int_eq(mrfc_cfw_parse(t, (size_t)n, &m), (long)first);
    ck_assert_str_eq(m.error, "");
    ck_assert_int_eq(m.method, MRFC_CFW_CONTROL);
    ck_assert_str_eq(m.package, "msc-ivr/1.0");
    ck_assert_str_eq(m.ctype, "application/msc-ivr+xml");
    ck_assert_uint_eq(m.body_len, strlen(body));
    ck_assert(memcmp(m.body, body, m.body_len) == 0);
    /* the next message follows */
    ck_assert_int_eq(mrfc_cfw_parse(t + first, (size_t)n - first, &m), (long)(n - first));
    ck_assert_int_eq(m.method, MRFC_CFW_KALIVE);
}
END_TEST

START_TEST(responses)
{
    struct mrfc_cfw_msg m;
    ck_assert_int_gt(parse("CFW 8djae7khauj 200\r\nKeep-Alive: 100\r\n\r\n", &m), 0);
    ck_assert_int_eq(m.method, MRFC_CFW_RESPONSE);
    ck_assert_int_eq(m.status, 200);
    ck_assert_int_gt(parse("CFW abc 481 no such channel\r\n\r\n", &m), 0);
    ck_assert_int_eq(m.status, 481);
    ck_assert_str_eq(m.error, "");
    /* LF alone ends lines too */
    ck_assert_int_gt(parse("CFW abc 202\nTimeout: 10\n\n", &m), 0);
    ck_assert_int_eq(m.timeout, 10);
}
END_TEST

START_TEST(unframeable)
{
    struct mrfc_cfw_msg m;
    ck_assert_int_eq(parse("HELLO\r\n\r\n", &m), -EINVAL);
    ck_assert_str_ne(m.error, "");
    ck_assert_int_eq(parse("CFW SYNC\r\n\r\n", &m), -EINVAL);
    ck_assert_int_eq(parse("CFW a/b SYNC\r\n\r\n", &m), -EINVAL);       /* bad tid */
    ck_assert_int_eq(parse("CFW t1 sync\r\n\r\n", &m), -EINVAL);        /* lower case */
    ck_assert_int_eq(parse("CFW t1 CONTROL\r\nContent-Length: x\r\n\r\n", &m), -EINVAL);
    ck_assert_int_eq(parse("CFW t1 CONTROL\r\nContent-Length: 99999999\r\n\r\n", &m),
                     -EINVAL);
    ck_assert_int_eq(parse("CFW t1 CONTROL\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
                           &m), -EINVAL);
    ck_assert_int_eq(parse("CFW t1 SY\x01NC\r\n\r\n", &m), -EINVAL);
    /* a head that never ends */
    char big[MRFC_CFW_HEAD_MAX + 10];
    memset(big, 'a', sizeof(big));
    memcpy(big, "CFW t1 SYNC\r\n", 13);
    ck_assert_int_eq(mrfc_cfw_parse(big, sizeof(big), &m), -EINVAL);
    ck_assert_int_eq(mrfc_cfw_parse(big, 100, &m), 0);                   /* not yet */
}
END_TEST

START_TEST(framed_but_bad)
{
    struct mrfc_cfw_msg m;
    const char *t = "CFW t9 CONTROL\r\nControl-Package msc-ivr/1.0\r\n\r\n";
    ck_assert_int_eq(parse(t, &m), (long)strlen(t));
    ck_assert_str_eq(m.tid, "t9");
    ck_assert_str_ne(m.error, "");               /* a header without a colon: 400 */
    t = "CFW t9 CONTROL\r\nKeep-Alive: soon\r\n\r\n";
    ck_assert_int_gt(parse(t, &m), 0);
    ck_assert_str_ne(m.error, "");
    t = "CFW t9 CONTROL\r\nContent-Length: 2\r\n\r\nab";
    ck_assert_int_eq(parse(t, &m), (long)strlen(t));
    ck_assert(strstr(m.error, "Content-Type"));
    t = "CFW t9 FETCH\r\n\r\n";
    ck_assert_int_gt(parse(t, &m), 0);
    ck_assert_int_eq(m.method, MRFC_CFW_OTHER);   /* well-formed, unknown: 405 */
    ck_assert_str_eq(m.method_name, "FETCH");
}
END_TEST

START_TEST(build_round_trip)
{
    char buf[1024];
    const char *body = "<mscmixer version=\"1.0\"><event/></mscmixer>";
    struct mrfc_cfw_out o = { .tid = "mrfe3", .method = "CONTROL", .package = MRFC_PKG_MIXER,
                              .ctype = MRFC_CT_MIXER, .keep_alive = -1, .timeout = -1,
                              .body = body, .body_len = strlen(body) };
    long n = mrfc_cfw_build(buf, sizeof(buf), &o);
    ck_assert_int_gt(n, 0);
    struct mrfc_cfw_msg m;
    ck_assert_int_eq(mrfc_cfw_parse(buf, (size_t)n, &m), n);
    ck_assert_str_eq(m.error, "");
    ck_assert_str_eq(m.tid, "mrfe3");
    ck_assert_str_eq(m.package, MRFC_PKG_MIXER);
    ck_assert_uint_eq(m.body_len, strlen(body));
    struct mrfc_cfw_out r = { .tid = "as1", .status = 200, .keep_alive = 30, .timeout = -1,
                              .packages = "msc-ivr/1.0", .supported = "msc-ivr/1.0" };
    n = mrfc_cfw_build(buf, sizeof(buf), &r);
    ck_assert_int_eq(mrfc_cfw_parse(buf, (size_t)n, &m), n);
    ck_assert_int_eq(m.status, 200);
    ck_assert_int_eq(m.keep_alive, 30);
    ck_assert_str_eq(m.packages, "msc-ivr/1.0");
    /* what would break the framing is not written */
    struct mrfc_cfw_out bad = { .tid = "a b", .status = 200, .keep_alive = -1, .timeout = -1 };
    ck_assert_int_eq(mrfc_cfw_build(buf, sizeof(buf), &bad), -EINVAL);
    bad.tid = "ok";
    bad.comment = "two\r\nlines";
    ck_assert_int_eq(mrfc_cfw_build(buf, sizeof(buf), &bad), -EINVAL);
    ck_assert_int_eq(mrfc_cfw_build(buf, 20, &o), -ENOSPC);
    ck_assert(mrfc_cfw_tid_ok("a-b.c!d%e*f_g+h`i'j~k"));
    ck_assert(!mrfc_cfw_tid_ok(""));
}
END_TEST

/* ---- the SDP of a control channel ---- */

static const char *offer =
    "v=0\r\no=Client 2890844526 2890842807 IN IP4 127.0.0.90\r\ns=-\r\n"
    "c=IN IP4 127.0.0.90\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\n"
    "m=application 9 TCP cfw\r\na=setup:active\r\na=connection:new\r\n"
    "a=cfw-id:H839quwhjdhegvdga\r\na=ctrl-package:msc-ivr/1.0\r\n"
    "a=ctrl-package:msc-mixer/1.0\r\n";

START_TEST(sdp_offer_and_answer)
{
    struct mrfc_sdp_cfw o;
    char why[160];
    ck_assert_int_eq(mrfc_sdp_cfw_read(offer, strlen(offer), &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.index, 1);
    ck_assert_int_eq(o.nmedia, 2);
    ck_assert(!o.tls);
    ck_assert_str_eq(o.setup, "active");
    ck_assert_str_eq(o.connection, "new");
    ck_assert_str_eq(o.cfw_id, "H839quwhjdhegvdga");
    ck_assert_str_eq(o.packages, "msc-ivr/1.0,msc-mixer/1.0");
    ck_assert_str_eq(o.addr, "127.0.0.90");
    char ans[1024];
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 0, .id = 7, .version = 1,
                                .user = "mrfc" };
    ck_assert_int_gt(mrfc_sdp_cfw_answer(ans, sizeof(ans), &l, &o, 7563, "msc-ivr/1.0"), 0);
    /* the audio line refused in its place, the channel line passive on our port */
    ck_assert_ptr_nonnull(strstr(ans, "m=audio 0 RTP/AVP 0\r\nm=application 7563 TCP cfw\r\n"
                                      "a=setup:passive\r\na=connection:new\r\n"
                                      "a=cfw-id:H839quwhjdhegvdga\r\n"
                                      "a=ctrl-package:msc-ivr/1.0\r\n"));
    ck_assert_ptr_null(strstr(ans, "msc-mixer"));
    struct mrfc_sdp_cfw back;
    ck_assert_int_eq(mrfc_sdp_cfw_read(ans, strlen(ans), &back, why, sizeof(why)), 0);
    ck_assert_int_eq(back.port, 7563);
    ck_assert_str_eq(back.setup, "passive");
    ck_assert_str_eq(back.addr, "127.0.0.60");
}
END_TEST

START_TEST(sdp_not_a_channel)
{
    struct mrfc_sdp_cfw o;
    char why[160];
    const char *audio = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                        "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    ck_assert_int_eq(mrfc_sdp_cfw_read(audio, strlen(audio), &o, why, sizeof(why)), -1);
    ck_assert_int_eq(mrfc_sdp_cfw_read("nonsense", 8, &o, why, sizeof(why)), -EINVAL);
    const char *tls = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                      "t=0 0\r\nm=application 9 TCP/TLS cfw\r\na=setup:passive\r\n";
    ck_assert_int_eq(mrfc_sdp_cfw_read(tls, strlen(tls), &o, why, sizeof(why)), 0);
    ck_assert(o.tls);
    ck_assert_str_eq(o.setup, "passive");
    ck_assert_str_eq(o.cfw_id, "");
    const char *noaddr = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                         "m=application 9 TCP cfw\r\n";
    /* (sofia-sip's parser refuses a media line without any c= already) */
    ck_assert_int_lt(mrfc_sdp_cfw_read(noaddr, strlen(noaddr), &o, why, sizeof(why)), -1);
}
END_TEST

START_TEST(xml_escape)
{
    char out[64];
    mrfc_xml_escape("a<b>&\"c\x01", out, sizeof(out));
    ck_assert_str_eq(out, "a&lt;b&gt;&amp;&quot;c");
    mrfc_xml_escape("&&&&&&&&&&&&&&&&&&&&", out, 16);
    ck_assert_uint_lt(strlen(out), 16);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mrfc_cfw");
    TCase *tc = tcase_create("messages");
    tcase_add_test(tc, sync_request);
    tcase_add_test(tc, control_with_body_streamed);
    tcase_add_test(tc, responses);
    tcase_add_test(tc, unframeable);
    tcase_add_test(tc, framed_but_bad);
    tcase_add_test(tc, build_round_trip);
    suite_add_tcase(s, tc);
    TCase *sdp = tcase_create("sdp");
    tcase_add_test(sdp, sdp_offer_and_answer);
    tcase_add_test(sdp, sdp_not_a_channel);
    tcase_add_test(sdp, xml_escape);
    suite_add_tcase(s, sdp);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
