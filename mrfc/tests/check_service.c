/*
 * check_service.c - the RFC 4240 services of a Request-URI (mrfc/service.c), the session
 * bound decided before a transaction (mrfc/session.c) and the jitter buffer (mrfc/jbuf.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "jbuf.h"
#include "metrics.h"
#include "mrfc.h"
#include "service.h"

static int parse(const char *uri, struct mrfc_service *out)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char why[200];
    url_t *u = url_make(home, uri);
    int rc = u ? mrfc_service_parse(u, out, why, sizeof(why)) : -99;
    su_home_deinit(home);
    return rc;
}

START_TEST(announcements)
{
    struct mrfc_service s;
    ck_assert_int_eq(parse("sip:annc@mrfc.example.org;play=file:///p/welcome.wav", &s), 0);
    ck_assert_int_eq(s.kind, MRFC_SVC_ANNC);
    ck_assert_str_eq(s.play, "file:///p/welcome.wav");
    ck_assert_uint_eq(s.repeat, 1);
    ck_assert_uint_eq(s.delay_ms, 0);
    ck_assert_uint_eq(s.duration_ms, 0);
    ck_assert_int_eq(parse("sip:annc@10.0.0.1:5060;repeat=3;delay=500;play=busy;duration=9000"
                           ";locale=en_US;transport=udp", &s), 0);
    ck_assert_str_eq(s.play, "busy");
    ck_assert_uint_eq(s.repeat, 3);
    ck_assert_uint_eq(s.delay_ms, 500);
    ck_assert_uint_eq(s.duration_ms, 9000);
    ck_assert_int_eq(parse("sip:annc@x;play=tone:busy;repeat=forever", &s), 0);
    ck_assert_uint_eq(s.repeat, 0);
    /* %-escapes of the play URI are decoded */
    ck_assert_int_eq(parse("sip:annc@x;play=my%20prompt.wav", &s), 0);
    ck_assert_str_eq(s.play, "my prompt.wav");
}
END_TEST

START_TEST(announcement_errors)
{
    struct mrfc_service s;
    ck_assert_int_eq(parse("sip:annc@x", &s), -EINVAL);                 /* no play */
    ck_assert_int_eq(parse("sip:annc@x;play", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;repeat=abc", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;repeat=0", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;repeat=1001", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;repeat=-1", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;delay=3600001", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:annc@x;play=a;duration=1e6", &s), -EINVAL);
    char longer[800] = "sip:annc@x;play=";
    memset(longer + strlen(longer), 'a', 600);
    ck_assert_int_eq(parse(longer, &s), -EINVAL);
}
END_TEST

START_TEST(conferences)
{
    struct mrfc_service s;
    ck_assert_int_eq(parse("sip:conf=room-1.a_b~c+d@mrfc", &s), 0);
    ck_assert_int_eq(s.kind, MRFC_SVC_CONF);
    ck_assert_str_eq(s.conf, "room-1.a_b~c+d");
    ck_assert_int_eq(parse("sip:conf=@mrfc", &s), -EINVAL);
    ck_assert_int_eq(parse("sip:conf=a%2Fb@mrfc", &s), -EINVAL);        /* a slash */
    ck_assert_int_eq(parse("sip:conf=a%0Ab@mrfc", &s), -EINVAL);        /* a newline */
    ck_assert_int_eq(parse("sip:conf=0123456789012345678901234567890123456789012345678901234"
                           "567890123456789@mrfc", &s), -EINVAL);       /* 70 characters */
    /* no service */
    ck_assert_int_eq(parse("sip:bob@mrfc", &s), -ENOENT);
    ck_assert_int_eq(parse("sip:mrfc.example.org", &s), -ENOENT);
    ck_assert_int_eq(parse("sip:dialog@mrfc;voicexml=http://x/y.vxml", &s), -ENOENT);
    ck_assert_int_eq(parse("tel:+15550100001", &s), -ENOENT);
    ck_assert_str_eq(mrfc_service_name(MRFC_SVC_CONF), "conf");
}
END_TEST

static void fill(int16_t *s, size_t n, int16_t v)
{
    for (size_t i = 0; i < n; i++)
        s[i] = v;
}

/* mrfc_session_early on an INVITE to @ruri with the header lines @headers */
static bool early(struct mrfc *m, const char *ruri, const char *headers,
                  struct ims_sip_refusal *r)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "INVITE %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.30:5060;branch=z9hG4bK1\r\n"
             "From: <sip:as@ims.example.org>;tag=1\r\nCall-ID: i1\r\nCSeq: 1 INVITE\r\n"
             "%sContent-Length: 0\r\n\r\n", ruri, headers);
    msg_t *msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    memset(r, 0, sizeof(*r));
    bool refused = mrfc_session_early(m, sip_object(msg), r);
    msg_destroy(msg);
    return refused;
}

#define ANNC "sip:annc@mrfc.ims.example.org;play=file:///welcome.wav"
#define TO "To: <sip:annc@mrfc.ims.example.org>\r\n"

START_TEST(session_bound_before_the_transaction)
{
    struct mrfc m;
    memset(&m, 0, sizeof(m));
    m.max_sessions = 2;
    m.nsessions = 1;
    m.retry_after = 7;
    m.m_refused_busy = ims_counter_new("mrfc_test_refused_total", "test", NULL);
    struct ims_sip_refusal r;
    ck_assert(!early(&m, ANNC, TO, &r));                          /* room */
    m.nsessions = 2;
    ck_assert(early(&m, ANNC, TO, &r));
    ck_assert_int_eq(r.status, 503);
    ck_assert_uint_eq(r.retry_after, 7);                          /* mrfc.retry_after */
    ck_assert_str_eq(r.why, "all sessions of this MRF are in use");
    ck_assert_uint_eq(ims_counter_value(m.m_refused_busy), 1);
    /* what mrfc_session_invite answers first stays with the transaction */
    ck_assert(!early(&m, ANNC, "To: <sip:annc@mrfc.ims.example.org>;tag=9\r\n", &r)); /* 481 */
    ck_assert(!early(&m, ANNC, TO "Require: 100rel\r\n", &r));               /* 420 */
    ck_assert(!early(&m, "sip:nothing@mrfc.ims.example.org", TO, &r));       /* 404 */
    ck_assert(!early(&m, "sip:annc@mrfc.ims.example.org", TO, &r));          /* 400 */
    ck_assert_uint_eq(ims_counter_value(m.m_refused_busy), 1);
}
END_TEST

START_TEST(jitter_buffer_order)
{
    static struct mrfc_jbuf jb;
    int16_t f[160], out[160];
    mrfc_jbuf_init(&jb, 480);                 /* 60 ms */
    /* packets 0, 2, 1 (reordered) of 20 ms, values 1, 3, 2 */
    fill(f, 160, 1);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 1000, f, 160), MRFC_JB_STORED);
    fill(f, 160, 3);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 1320, f, 160), MRFC_JB_STORED);
    fill(f, 160, 2);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 1160, f, 160), MRFC_JB_STORED);
    ck_assert_uint_eq(mrfc_jbuf_depth(&jb), 480 + 480);
    /* 60 ms of silence first (the delay), then 1, 2, 3 */
    for (int k = 0; k < 3; k++) {
        ck_assert(!mrfc_jbuf_get(&jb, out, 160));
        ck_assert_int_eq(out[0], 0);
    }
    for (int v = 1; v <= 3; v++) {
        ck_assert(mrfc_jbuf_get(&jb, out, 160));
        ck_assert_int_eq(out[0], v);
        ck_assert_int_eq(out[159], v);
    }
    /* missing: silence */
    ck_assert(!mrfc_jbuf_get(&jb, out, 160));
    ck_assert_uint_eq(jb.missing, 3 * 160 + 160);
}
END_TEST

START_TEST(jitter_buffer_late_and_jumps)
{
    static struct mrfc_jbuf jb;
    int16_t f[160], out[160];
    mrfc_jbuf_init(&jb, 320);
    fill(f, 160, 5);
    mrfc_jbuf_put(&jb, 0, f, 160);
    for (int k = 0; k < 4; k++)
        mrfc_jbuf_get(&jb, out, 160);         /* play point now at 320 */
    /* a packet behind the play point is late */
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 0, f, 160), MRFC_JB_LATE);
    ck_assert_uint_eq(jb.late, 1);
    /* a packet half behind: its second half is kept */
    fill(f, 160, 7);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 240, f, 160), MRFC_JB_STORED);
    ck_assert(mrfc_jbuf_get(&jb, out, 160));
    ck_assert_int_eq(out[0], 7);
    ck_assert_int_eq(out[79], 7);
    ck_assert_int_eq(out[80], 0);
    /* late again and again (a sender whose clock went back): followed */
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 0, f, 160), MRFC_JB_LATE);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 0, f, 160), MRFC_JB_LATE);
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 0, f, 160), MRFC_JB_RESYNC);
    ck_assert_uint_eq(jb.play_ts, (uint32_t)-320);
    /* far ahead (a jump of the sender's clock): followed */
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 100000, f, 160), MRFC_JB_RESYNC);
    ck_assert_uint_eq(jb.play_ts, 100000 - 320);
    ck_assert_uint_eq(jb.resyncs, 2);
    /* a reset forgets the stream: the next packet starts it */
    mrfc_jbuf_reset(&jb);
    ck_assert(!mrfc_jbuf_get(&jb, out, 160));
    ck_assert_int_eq(mrfc_jbuf_put(&jb, 5, f, 160), MRFC_JB_STORED);
    ck_assert_uint_eq(jb.play_ts, (uint32_t)(5 - 320));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mrfc_service");
    TCase *tc = tcase_create("service");
    tcase_add_test(tc, announcements);
    tcase_add_test(tc, announcement_errors);
    tcase_add_test(tc, conferences);
    tcase_add_test(tc, session_bound_before_the_transaction);
    tcase_add_test(tc, jitter_buffer_order);
    tcase_add_test(tc, jitter_buffer_late_and_jumps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
