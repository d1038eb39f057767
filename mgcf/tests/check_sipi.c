/*
 * check_sipi.c - SIP-I bodies (mgcf/sipi.c): the ISUP message without CIC, multipart/mixed
 * of SDP and application/ISUP made and read back, what a body may carry, the IAM merge
 *
 * The octets of the ISUP parts below were checked by hand against Q.763 and with tshark:
 * the SIP messages of make_message() written as a pcap decode with no malformed field
 * (mgcf/README.md, "SIP-I").
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include "sipi.h"

static su_home_t home[1];

static void setup(void)
{
    su_home_init(home);
}

static void teardown(void)
{
    su_home_deinit(home);
}

/* REL cause 16 (normal call clearing), location: public network serving the remote user:
 * type 0x0c, pointer 0x02 to the mandatory variable part, pointer 0x00 (no optional part),
 * length 2, octet 1 ext=1 coding 00 spare location 0100 (0x84), octet 2 ext=1 cause 0x10 */
static const uint8_t rel16[] = { 0x0c, 0x02, 0x00, 0x02, 0x84, 0x90 };

/* ACM: backward call indicators charge (BA=10), subscriber free (DC=01), ordinary
 * subscriber (FE=01), no end-to-end method, interworking (I=1), ISDN access (M=1): octet 1
 * 0b00010110 = 0x16, octet 2 0b00010001 = 0x11; optional part pointer 1, optional backward
 * call indicators (0x29) length 1 value 0x01 (in-band information), end 0x00 */
static const uint8_t acm_inband[] = { 0x06, 0x16, 0x11, 0x01, 0x29, 0x01, 0x01, 0x00 };

START_TEST(isup_without_cic)
{
    struct mgcf_isup_msg m, d;
    uint8_t buf[64];
    mgcf_isup_init(&m, ISUP_REL, 7);
    m.cause.location = ISUP_LOC_RLN;
    m.cause.value = 16;
    mgcf_isup_set(&m, ISUP_PAR_CAUSE);
    int n = mgcf_sipi_isup_encode(&m, buf, sizeof(buf));
    ck_assert_int_eq(n, (int)sizeof(rel16));
    ck_assert_mem_eq(buf, rel16, sizeof(rel16));
    ck_assert_int_eq(mgcf_sipi_isup_decode(rel16, sizeof(rel16), &d), 0);
    ck_assert_uint_eq(d.type, ISUP_REL);
    ck_assert_uint_eq(d.cic, 0);
    ck_assert_uint_eq(d.cause.value, 16);
    ck_assert_uint_eq(d.cause.location, ISUP_LOC_RLN);

    ck_assert_int_eq(mgcf_sipi_isup_decode(acm_inband, sizeof(acm_inband), &d), 0);
    ck_assert_uint_eq(d.type, ISUP_ACM);
    ck_assert_uint_eq(d.bci.called_status, ISUP_BCI_SUBSCRIBER_FREE);
    ck_assert(mgcf_isup_has(&d, ISUP_PAR_OBCI));
    ck_assert_uint_eq(d.obci, ISUP_OBCI_INBAND);
    n = mgcf_sipi_isup_encode(&d, buf, sizeof(buf));
    ck_assert_int_eq(n, (int)sizeof(acm_inband));
    ck_assert_mem_eq(buf, acm_inband, sizeof(acm_inband));

    ck_assert_int_eq(mgcf_sipi_isup_encode(&m, buf, 3), -ENOSPC);
    ck_assert_int_eq(mgcf_sipi_isup_decode(rel16, 0, &d), -EINVAL);
    ck_assert_int_eq(mgcf_sipi_isup_decode(rel16, 3, &d), -EINVAL);   /* cut short */
    static const uint8_t inr[] = { 0x03, 0x01, 0x02, 0x01, 0x10 };      /* INR: not known */
    ck_assert_int_eq(mgcf_sipi_isup_decode(inr, sizeof(inr), &d), -ENOTSUP);
}
END_TEST

static const char *SDP = "v=0\r\no=mgcf 1 1 IN IP4 127.0.0.70\r\ns=-\r\nc=IN IP4 127.0.0.101\r\n"
                         "t=0 0\r\nm=audio 30002 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

static struct mgcf_isup_msg rel_msg(uint8_t cause)
{
    struct mgcf_isup_msg m;
    mgcf_isup_init(&m, ISUP_REL, 0);
    m.cause.location = ISUP_LOC_RLN;
    m.cause.value = cause;
    mgcf_isup_set(&m, ISUP_PAR_CAUSE);
    return m;
}

START_TEST(body_round_trip)
{
    struct mgcf_isup_msg m = rel_msg(17);
    sip_content_type_t *ct;
    sip_payload_t *pl;
    struct mgcf_sipi_body b;
    ck_assert_int_eq(mgcf_sipi_body_make(home, SDP, &m, false, &ct, &pl), 0);
    ck_assert_str_eq(ct->c_type, "multipart/mixed");
    const char *boundary = msg_header_find_param(ct->c_common, "boundary=");
    ck_assert_ptr_nonnull(boundary);
    ck_assert_ptr_nonnull(strstr(pl->pl_data, "Content-Type: application/sdp\r\n"));
    ck_assert_ptr_nonnull(strstr(pl->pl_data, "Content-Type: application/ISUP;version=itu-t92+"
                                              "\r\n"));
    ck_assert_ptr_nonnull(strstr(pl->pl_data, "Content-Disposition: signal;handling=optional"));
    ck_assert_int_eq(mgcf_sipi_body_read(home, ct, pl, &b), 0);
    ck_assert(b.multipart);
    ck_assert_ptr_nonnull(b.sdp);
    ck_assert_uint_eq(b.sdp_len, strlen(SDP));
    ck_assert_mem_eq(b.sdp, SDP, strlen(SDP));
    ck_assert(b.has_isup);
    ck_assert(!b.isup_required);
    ck_assert_uint_eq(b.isup.type, ISUP_REL);
    ck_assert_uint_eq(b.isup.cause.value, 17);

    /* no SDP, handling required */
    ck_assert_int_eq(mgcf_sipi_body_make(home, NULL, &m, true, &ct, &pl), 0);
    ck_assert_ptr_null(strstr(pl->pl_data, "application/sdp"));
    ck_assert_int_eq(mgcf_sipi_body_read(home, ct, pl, &b), 0);
    ck_assert_ptr_null(b.sdp);
    ck_assert(b.has_isup && b.isup_required);

    /* a message that does not encode */
    struct mgcf_isup_msg bad;
    mgcf_isup_init(&bad, ISUP_REL, 0);     /* no cause: mandatory */
    ck_assert_int_eq(mgcf_sipi_body_make(home, SDP, &bad, false, &ct, &pl), -EINVAL);
}
END_TEST

/* A body of @ct_text whose parts are @parts (each: headers, CRLF, data) */
static sip_payload_t *multipart(const char *parts[], size_t n, const uint8_t *isup,
                                size_t isup_len)
{
    char buf[2048];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "--b1\r\n%s\r\n", parts[i]);
        if (strstr(parts[i], "application/ISUP") && isup) {
            memcpy(buf + k, isup, isup_len);
            k += isup_len;
        }
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\r\n");
    }
    k += (size_t)snprintf(buf + k, sizeof(buf) - k, "--b1--\r\n");
    return sip_payload_create(home, buf, (isize_t)k);
}

START_TEST(body_read_cases)
{
    struct mgcf_sipi_body b;
    sip_content_type_t *mixed = sip_content_type_make(home, "multipart/mixed;boundary=b1");
    sip_content_type_t *sdp_ct = sip_content_type_make(home, "application/sdp");
    sip_payload_t *sdp = sip_payload_create(home, SDP, (isize_t)strlen(SDP));

    ck_assert_int_eq(mgcf_sipi_body_read(home, sdp_ct, NULL, &b), 0);
    ck_assert_ptr_null(b.sdp);
    ck_assert_int_eq(mgcf_sipi_body_read(home, sdp_ct, sdp, &b), 0);
    ck_assert(!b.multipart && b.sdp && !b.has_isup);
    ck_assert_int_eq(mgcf_sipi_body_read(home, sip_content_type_make(home, "text/plain"), sdp,
                                         &b), -EMEDIUMTYPE);

    const char *ok[] = { "Content-Type: application/sdp\r\n",
                         "Content-Type: application/ISUP;version=itu-t92+\r\n"
                         "Content-Disposition: signal;handling=required\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(ok, 2, rel16, sizeof(rel16)),
                                         &b), 0);
    ck_assert(b.sdp && b.has_isup && b.isup_required);
    ck_assert_uint_eq(b.isup.cause.value, 16);

    /* another ISUP version: ignored when optional, refused when required (the default) */
    const char *ansi_opt[] = { "Content-Type: application/ISUP;version=ansi88\r\n"
                               "Content-Disposition: signal;handling=optional\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(ansi_opt, 1, rel16,
                                                                sizeof(rel16)), &b), 0);
    ck_assert(!b.has_isup);
    ck_assert_int_eq(b.isup_error, -ENOTSUP);
    const char *ansi_req[] = { "Content-Type: application/ISUP;version=ansi88\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(ansi_req, 1, rel16,
                                                                sizeof(rel16)), &b),
                     -EMEDIUMTYPE);
    /* malformed ISUP: ignored when optional, 400 when required */
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(ansi_opt + 0, 0, NULL, 0), &b),
                     -EINVAL);                                   /* no part at all */
    const char *isup_opt[] = { "Content-Type: application/ISUP;version=itu-t92+\r\n"
                               "Content-Disposition: signal;handling=optional\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(isup_opt, 1, rel16, 3), &b), 0);
    ck_assert_int_eq(b.isup_error, -EINVAL);
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(ok + 1, 1, rel16, 3), &b),
                     -EINVAL);
    /* an unknown part: ignored when optional, refused otherwise */
    const char *other_opt[] = { "Content-Type: text/plain\r\n"
                                "Content-Disposition: render;handling=optional\r\n",
                                "Content-Type: application/sdp\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(other_opt, 2, NULL, 0), &b), 0);
    ck_assert(b.sdp && !b.has_isup);
    const char *other[] = { "Content-Type: text/plain\r\n" };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(other, 1, NULL, 0), &b),
                     -EMEDIUMTYPE);
    /* twice the SDP, twice the ISUP */
    const char *two_sdp[] = { ok[0], ok[0] };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(two_sdp, 2, NULL, 0), &b),
                     -EINVAL);
    const char *two_isup[] = { ok[1], ok[1] };
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, multipart(two_isup, 2, rel16,
                                                                sizeof(rel16)), &b), -EINVAL);
    /* a NUL in a part's headers: sofia-sip's parser would abort on it (found by fuzz
     * mgcf_sipi); no boundary; a boundary too long */
    static const char nul[] = "--b1\r\nContent-Type: appli\0cation/sdp\r\n\r\nv=0\r\n--b1--\r\n";
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, sip_payload_create(home, nul,
                                                                         sizeof(nul) - 1), &b),
                     -EINVAL);
    ck_assert_int_eq(mgcf_sipi_body_read(home, sip_content_type_make(home, "multipart/mixed"),
                                         multipart(ok, 2, rel16, sizeof(rel16)), &b), -EINVAL);
    char longb[120];
    snprintf(longb, sizeof(longb), "multipart/mixed;boundary=%071d", 1);
    ck_assert_int_eq(mgcf_sipi_body_read(home, sip_content_type_make(home, longb),
                                         multipart(ok, 2, rel16, sizeof(rel16)), &b), -EINVAL);
    /* a quoted boundary */
    ck_assert_int_eq(mgcf_sipi_body_read(home, sip_content_type_make(home, "multipart/mixed;"
                                                                     "boundary=\"b1\""),
                                         multipart(ok, 2, rel16, sizeof(rel16)), &b), 0);
    ck_assert(b.has_isup && b.sdp);
    /* not a multipart at all */
    ck_assert_int_eq(mgcf_sipi_body_read(home, mixed, sdp, &b), -EINVAL);
}
END_TEST

START_TEST(iam_merge)
{
    struct mgcf_isup_msg iam, enc;
    mgcf_isup_init(&iam, ISUP_IAM, 0);
    snprintf(iam.called.digits, sizeof(iam.called.digits), "19995550100");
    snprintf(iam.calling.digits, sizeof(iam.calling.digits), "15550100001");
    iam.cpc = ISUP_CPC_ORDINARY;
    mgcf_isup_set(&iam, ISUP_PAR_CALLED);
    mgcf_isup_set(&iam, ISUP_PAR_CALLING);
    mgcf_isup_set(&iam, ISUP_PAR_CPC);
    mgcf_isup_init(&enc, ISUP_IAM, 0);
    snprintf(enc.called.digits, sizeof(enc.called.digits), "4455");     /* before translation */
    snprintf(enc.calling.digits, sizeof(enc.calling.digits), "4930123");
    enc.calling.apri = ISUP_APRI_RESTRICTED;
    enc.cpc = ISUP_CPC_PAYPHONE;
    enc.hop_counter = 20;
    mgcf_isup_set(&enc, ISUP_PAR_CALLED);
    mgcf_isup_set(&enc, ISUP_PAR_CALLING);
    mgcf_isup_set(&enc, ISUP_PAR_CPC);
    mgcf_isup_set(&enc, ISUP_PAR_HOP_COUNTER);
    ck_assert_int_eq(mgcf_sipi_iam_merge(&iam, &enc), 0);
    ck_assert_str_eq(iam.called.digits, "19995550100");
    ck_assert_str_eq(iam.calling.digits, "4930123");
    ck_assert_uint_eq(iam.calling.apri, ISUP_APRI_RESTRICTED);
    ck_assert_uint_eq(iam.cpc, ISUP_CPC_PAYPHONE);
    ck_assert(mgcf_isup_has(&iam, ISUP_PAR_HOP_COUNTER));
    ck_assert_uint_eq(iam.hop_counter, 19);
    ck_assert(!mgcf_isup_has(&iam, ISUP_PAR_GENERIC_NUMBER));
    enc.hop_counter = 1;
    ck_assert_int_eq(mgcf_sipi_iam_merge(&iam, &enc), 483);
    enc = rel_msg(16);                         /* not an IAM: nothing taken */
    ck_assert_int_eq(mgcf_sipi_iam_merge(&iam, &enc), 0);
}
END_TEST

START_TEST(what_fits_where)
{
    ck_assert(mgcf_sipi_fits(ISUP_IAM, sip_method_invite, 0));
    ck_assert(!mgcf_sipi_fits(ISUP_IAM, sip_method_invalid, 180));
    ck_assert(mgcf_sipi_fits(ISUP_ACM, sip_method_invalid, 180));
    ck_assert(mgcf_sipi_fits(ISUP_CPG, sip_method_invalid, 183));
    ck_assert(!mgcf_sipi_fits(ISUP_ACM, sip_method_invalid, 200));
    ck_assert(!mgcf_sipi_fits(ISUP_ACM, sip_method_invalid, 100));
    ck_assert(mgcf_sipi_fits(ISUP_ANM, sip_method_invalid, 200));
    ck_assert(mgcf_sipi_fits(ISUP_CON, sip_method_invalid, 200));
    ck_assert(!mgcf_sipi_fits(ISUP_ANM, sip_method_invalid, 486));
    ck_assert(mgcf_sipi_fits(ISUP_REL, sip_method_invalid, 486));
    ck_assert(mgcf_sipi_fits(ISUP_REL, sip_method_bye, 0));
    ck_assert(mgcf_sipi_fits(ISUP_REL, sip_method_cancel, 0));
    ck_assert(!mgcf_sipi_fits(ISUP_REL, sip_method_invalid, 200));
    ck_assert(!mgcf_sipi_fits(ISUP_RLC, sip_method_invalid, 200));
    ck_assert(!mgcf_sipi_fits(ISUP_GRS, sip_method_bye, 0));
    ck_assert(mgcf_sipi_fits(ISUP_SUS, sip_method_info, 0));
    ck_assert(mgcf_sipi_fits(ISUP_RES, sip_method_info, 0));
    ck_assert(!mgcf_sipi_fits(ISUP_SUS, sip_method_bye, 0));
    ck_assert(!mgcf_sipi_fits(ISUP_RES, sip_method_invalid, 200));
    ck_assert(!mgcf_sipi_fits(ISUP_REL, sip_method_info, 0));
}
END_TEST

/* What a release carries: the PSTN's REL when fresh, else ours when the MGCF releases */
START_TEST(release_carries)
{
    struct mgcf_isup_msg pstn = rel_msg(17), own, d;
    const struct mgcf_isup_msg *m;
    uint8_t buf[32];
    /* the PSTN's REL not carried yet: it goes, whatever our cause */
    ck_assert_ptr_eq(mgcf_sipi_to_carry(&pstn, true, sip_method_invalid, 486, 17, ISUP_LOC_BI,
                                        &own), &pstn);
    ck_assert_ptr_eq(mgcf_sipi_to_carry(&pstn, true, sip_method_bye, 0, 16, ISUP_LOC_BI, &own),
                     &pstn);
    /* T7 over (504, cause 102): no REL from the PSTN, ours */
    memset(&own, 0xa5, sizeof(own));
    m = mgcf_sipi_to_carry(&pstn, false, sip_method_invalid, 504, 102, ISUP_LOC_BI, &own);
    ck_assert_ptr_eq(m, &own);
    ck_assert_uint_eq(own.type, ISUP_REL);
    ck_assert_uint_eq(own.cic, 0);
    ck_assert_uint_eq(own.cause.value, 102);
    ck_assert_uint_eq(own.cause.location, ISUP_LOC_BI);
    ck_assert_uint_eq(own.cause.coding, ISUP_CODING_ITU);
    /* it encodes as Q.763 says: REL, pointers 2 and 0, length 2, 0x8a (ext, ITU, location
     * 1010 beyond interworking), 0xe6 (ext, cause 102) */
    static const uint8_t rel102[] = { 0x0c, 0x02, 0x00, 0x02, 0x8a, 0xe6 };
    ck_assert_int_eq(mgcf_sipi_isup_encode(&own, buf, sizeof(buf)), (int)sizeof(rel102));
    ck_assert_mem_eq(buf, rel102, sizeof(rel102));
    ck_assert_int_eq(mgcf_sipi_isup_decode(buf, sizeof(rel102), &d), 0);
    ck_assert_uint_eq(d.cause.value, 102);
    /* BYE after the MGW was lost (41), CANCEL (31): ours too */
    m = mgcf_sipi_to_carry(&pstn, false, sip_method_bye, 0, 41, ISUP_LOC_BI, &own);
    ck_assert_ptr_eq(m, &own);
    ck_assert_uint_eq(own.cause.value, 41);
    ck_assert_ptr_eq(mgcf_sipi_to_carry(&pstn, false, sip_method_cancel, 0, 31, ISUP_LOC_BI,
                                        &own), &own);
    /* a fresh message that does not fit (a SUS) does not stop our REL */
    struct mgcf_isup_msg sus;
    mgcf_isup_init(&sus, ISUP_SUS, 0);
    ck_assert_ptr_eq(mgcf_sipi_to_carry(&sus, true, sip_method_bye, 0, 102, ISUP_LOC_BI,
                                        &own), &own);
    /* no cause (the 487 answering the peer's CANCEL), a cause out of range, a 2xx or 18x:
     * nothing */
    ck_assert_ptr_null(mgcf_sipi_to_carry(&pstn, false, sip_method_invalid, 487, 0,
                                          ISUP_LOC_BI, &own));
    ck_assert_ptr_null(mgcf_sipi_to_carry(&pstn, false, sip_method_invalid, 503, 128,
                                          ISUP_LOC_BI, &own));
    ck_assert_ptr_null(mgcf_sipi_to_carry(&pstn, false, sip_method_invalid, 200, 16,
                                          ISUP_LOC_BI, &own));
    ck_assert_ptr_null(mgcf_sipi_to_carry(&pstn, true, sip_method_invalid, 180, 16,
                                          ISUP_LOC_BI, &own));
}
END_TEST

/* Our INFOs waiting for the answer to the one outstanding: in order, a few at most */
START_TEST(info_queue)
{
    struct mgcf_sipi_infoq q = { 0 };
    struct mgcf_isup_msg m, out;
    ck_assert(!mgcf_sipi_infoq_pop(&q, &out));
    for (unsigned round = 0; round < 3; round++) {      /* the ring wraps around */
        for (unsigned i = 0; i < MGCF_SIPI_INFOQ_MAX; i++) {
            mgcf_isup_init(&m, i % 2 ? ISUP_RES : ISUP_SUS, 0);
            m.sus_res = (uint8_t)(round * 10 + i);
            ck_assert_int_eq(mgcf_sipi_infoq_push(&q, &m), 0);
        }
        mgcf_isup_init(&m, ISUP_SUS, 0);
        ck_assert_int_eq(mgcf_sipi_infoq_push(&q, &m), -ENOBUFS);   /* full: unchanged */
        ck_assert_uint_eq(q.n, MGCF_SIPI_INFOQ_MAX);
        for (unsigned i = 0; i < MGCF_SIPI_INFOQ_MAX - 1; i++) {
            ck_assert(mgcf_sipi_infoq_pop(&q, &out));
            ck_assert_uint_eq(out.type, i % 2 ? ISUP_RES : ISUP_SUS);
            ck_assert_uint_eq(out.sus_res, round * 10 + i);
        }
        mgcf_isup_init(&m, ISUP_RES, 0);                /* one in while one is left */
        m.sus_res = 99;
        ck_assert_int_eq(mgcf_sipi_infoq_push(&q, &m), 0);
        ck_assert(mgcf_sipi_infoq_pop(&q, &out));
        ck_assert_uint_eq(out.sus_res, round * 10 + MGCF_SIPI_INFOQ_MAX - 1);
        ck_assert(mgcf_sipi_infoq_pop(&q, &out));
        ck_assert_uint_eq(out.sus_res, 99);
        ck_assert(!mgcf_sipi_infoq_pop(&q, &out));
        ck_assert_uint_eq(q.n, 0);
    }
}
END_TEST

/* The answer to our INFO: wait, the next one, or the dialog is gone (RFC 3261 12.2.1.2) */
START_TEST(info_answers)
{
    uint8_t cause = 0;
    ck_assert_int_eq(mgcf_sipi_info_answered(100, &cause), MGCF_SIPI_INFO_WAIT);
    ck_assert_int_eq(mgcf_sipi_info_answered(183, &cause), MGCF_SIPI_INFO_WAIT);
    ck_assert_int_eq(mgcf_sipi_info_answered(200, &cause), MGCF_SIPI_INFO_NEXT);
    ck_assert_int_eq(mgcf_sipi_info_answered(415, &cause), MGCF_SIPI_INFO_NEXT);
    ck_assert_int_eq(mgcf_sipi_info_answered(500, &cause), MGCF_SIPI_INFO_NEXT);
    ck_assert_int_eq(cause, 0);
    ck_assert_int_eq(mgcf_sipi_info_answered(481, &cause), MGCF_SIPI_INFO_END);
    ck_assert_int_eq(cause, 41);
    ck_assert_int_eq(mgcf_sipi_info_answered(408, &cause), MGCF_SIPI_INFO_END);
    ck_assert_int_eq(cause, 102);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mgcf_sipi");
    TCase *t = tcase_create("sipi");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, isup_without_cic);
    tcase_add_test(t, body_round_trip);
    tcase_add_test(t, body_read_cases);
    tcase_add_test(t, iam_merge);
    tcase_add_test(t, what_fits_where);
    tcase_add_test(t, release_carries);
    tcase_add_test(t, info_queue);
    tcase_add_test(t, info_answers);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
