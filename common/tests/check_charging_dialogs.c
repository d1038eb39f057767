/*
 * check_charging_dialogs.c - the charged dialogs of a CSCF (common/charging.c): the fields
 * read from SIP messages, dialog keys in either direction, Cause-Code, SDP media names,
 * the bounded table, CSeq tracking, the end hook and the maximum age, and the
 * IMS-Information AVPs an ACR gets from them (a freeDiameter core without peers)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "charging.h"
#include "diam.h"
#include "diam_avp.h"
#include "diam_dict.h"
#include "log.h"
#include "loop.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"

static const char invite_text[] =
    "INVITE sip:bob@ims.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:bob@ims.net>\r\n"
    "From: <sip:alice@ims.net>;tag=aaa\r\n"
    "Call-ID: call-1@10.0.0.1\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:alice@10.0.0.1:5060>\r\n"
    "P-Asserted-Identity: <sip:alice@ims.net>\r\n"
    "P-Charging-Vector: icid-value=icid-42;orig-ioi=home.net\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 85\r\n"
    "\r\n"
    "v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n";

static const char ok_text[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    "To: <sip:bob@ims.net>;tag=bbb\r\n"
    "From: <sip:alice@ims.net>;tag=aaa\r\n"
    "Call-ID: call-1@10.0.0.1\r\n"
    "CSeq: 7 INVITE\r\n"
    "P-Charging-Vector: icid-value=icid-42;orig-ioi=home.net;term-ioi=other.net\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* the callee hangs up: tags the other way round */
static const char bye_text[] =
    "BYE sip:alice@10.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1\r\n"
    "To: <sip:alice@ims.net>;tag=aaa\r\n"
    "From: <sip:bob@ims.net>;tag=bbb\r\n"
    "Call-ID: call-1@10.0.0.1\r\n"
    "CSeq: 3 BYE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static msg_t *invite, *ok, *bye;

static msg_t *parse(const char *text)
{
    msg_t *m = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(sip_object(m));
    return m;
}

static void setup(void)
{
    ims_log_init("check_charging_dialogs", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    sip_update_default_mclass(sip_extend_mclass(NULL));
    invite = parse(invite_text);
    ok = parse(ok_text);
    bye = parse(bye_text);
}

static void teardown(void)
{
    msg_destroy(invite);
    msg_destroy(ok);
    msg_destroy(bye);
    su_deinit();
    ims_log_fini();
}

START_TEST(fields_of_an_invite)
{
    struct ims_chg_fields f;
    ims_chg_fields_of(sip_object(invite), sip_object(ok), &f);
    ck_assert_str_eq(f.method, "INVITE");
    ck_assert_str_eq(f.call_id, "call-1@10.0.0.1");
    ck_assert_str_eq(f.from_tag, "aaa");
    ck_assert_str_eq(f.to_tag, "bbb");
    ck_assert_str_eq(f.calling, "sip:alice@ims.net");
    ck_assert_str_eq(f.called, "sip:bob@ims.net");
    ck_assert_str_eq(f.icid, "icid-42");
    ck_assert_str_eq(f.orig_ioi, "home.net");
    ck_assert_str_eq(f.term_ioi, "other.net");
    ck_assert_str_eq(f.media[0], "audio 4000 RTP/AVP 0");
    ck_assert_str_eq(f.media[1], "video 4002 RTP/AVP 96");
    ck_assert_str_eq(f.media[2], "");

    struct ims_rf_info info;
    ims_chg_info_of(&f, IMS_RF_TERMINATING, &info);
    ck_assert_int_eq(info.role, IMS_RF_TERMINATING);
    ck_assert_str_eq(info.user_session_id, "call-1@10.0.0.1");
    ck_assert_str_eq(info.icid, "icid-42");
    ck_assert_str_eq(info.media[1], "video 4002 RTP/AVP 96");
    ck_assert_ptr_null(info.media[2]);
    ck_assert(!info.has_cause);

    /* without a response: no To tag, the request's own term-ioi (none) */
    ims_chg_fields_of(sip_object(invite), NULL, &f);
    ck_assert_str_eq(f.to_tag, "");
    ck_assert_str_eq(f.term_ioi, "");
    /* a vector removed before forwarding (towards a UE) fills only what is missing */
    ims_chg_fields_pcv(&f, "icid-value=other;orig-ioi=x.net");
    ck_assert_str_eq(f.icid, "icid-42");
    f.icid[0] = '\0';
    ims_chg_fields_pcv(&f, "icid-value=other;orig-ioi=x.net;term-ioi=y.net");
    ck_assert_str_eq(f.icid, "other");
    ck_assert_str_eq(f.orig_ioi, "x.net");
    ck_assert_str_eq(f.term_ioi, "y.net");
    f.icid[0] = '\0';
    ims_chg_fields_pcv(&f, NULL);
    ck_assert_str_eq(f.icid, "");
}
END_TEST

START_TEST(keys_causes_media)
{
    char a[128], b[128];
    ck_assert_int_eq(ims_chg_key("c", "x", "y", 0, a, sizeof(a)), 0);
    ck_assert_int_eq(ims_chg_key("c", "y", "x", 0, b, sizeof(b)), 0);
    ck_assert_str_eq(a, b);                       /* either direction */
    ck_assert_int_eq(ims_chg_key("c", "y", "x", 1, b, sizeof(b)), 0);
    ck_assert_str_ne(a, b);                       /* per role */
    ck_assert_int_eq(ims_chg_key("a-long-call-id", "x", "y", 0, a, 8), -ENOSPC);

    ck_assert_int_eq(ims_chg_cause(200), -1);
    ck_assert_int_eq(ims_chg_cause(202), -202);
    ck_assert_int_eq(ims_chg_cause(302), -302);
    ck_assert_int_eq(ims_chg_cause(402), 402);
    ck_assert_int_eq(ims_chg_cause(603), 603);

    char media[2][64];
    const char sdp[] = "m=audio 1 RTP/AVP 0\nx=m=no\r\nm=video 2 RTP/AVP 9\r\nm=text 3 x\r\n";
    ck_assert_int_eq(ims_chg_sdp_media(sdp, strlen(sdp), media, 2), 2);
    ck_assert_str_eq(media[0], "audio 1 RTP/AVP 0");
    ck_assert_str_eq(media[1], "video 2 RTP/AVP 9");
    ck_assert_int_eq(ims_chg_sdp_media("v=0\r\n", 5, media, 2), 0);
}
END_TEST

static int ended[4];

static void on_end(void *arg, struct ims_chg_dialog *d, enum ims_chg_end why)
{
    (void)arg;
    ck_assert_ptr_eq(d->ext, (void *)&ended);
    ended[why]++;
}

START_TEST(table_open_bye_either_side)
{
    struct ims_chg *c = ims_chg_table_new(4, 3600);
    ck_assert(!ims_chg_offline(c));
    ims_chg_set_end_hook(c, on_end, NULL);
    memset(ended, 0, sizeof(ended));
    const sip_t *inv = sip_object(invite), *resp = sip_object(ok);
    struct ims_chg_dialog *o =
        ims_chg_dialog_open(c, inv, resp, IMS_RF_ORIGINATING, 0, NULL);
    ck_assert_ptr_nonnull(o);
    o->ext = &ended;
    /* a retransmitted 2xx: the same dialog */
    ck_assert_ptr_eq(ims_chg_dialog_open(c, inv, resp, IMS_RF_ORIGINATING, 0, NULL), o);
    /* the same node, the other role: a second dialog */
    struct ims_chg_dialog *t =
        ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_ne(t, o);
    t->ext = &ended;
    ck_assert_uint_eq(ims_chg_dialogs(c), 2);
    ck_assert_uint_eq(o->cseq_caller, 7);
    /* a request of the callee inside the dialog: its CSeq noted */
    ims_chg_dialog_note(c, sip_object(bye));
    ck_assert_uint_eq(o->cseq_callee, 3);
    ck_assert_uint_eq(o->cseq_caller, 7);
    ck_assert_ptr_eq(ims_chg_dialog_find(c, "call-1@10.0.0.1", "bbb", "aaa",
                                         IMS_RF_TERMINATING), t);
    /* the callee's BYE ends both */
    ck_assert_int_eq(ims_chg_dialog_end_all(c, sip_object(bye)), 2);
    ck_assert_int_eq(ended[IMS_CHG_END_BYE], 2);
    ck_assert_uint_eq(ims_chg_dialogs(c), 0);
    ck_assert_int_eq(ims_chg_dialog_end_all(c, sip_object(bye)), 0);
    /* an INVITE without To tag in its answer cannot be a dialog */
    ck_assert_ptr_null(ims_chg_dialog_open(c, inv, NULL, IMS_RF_ORIGINATING, 0, NULL));
    ims_chg_destroy(c);
}
END_TEST

START_TEST(table_bounded_and_aged)
{
    struct ims_chg *c = ims_chg_table_new(1, 60);
    ims_chg_set_end_hook(c, on_end, NULL);
    memset(ended, 0, sizeof(ended));
    const sip_t *inv = sip_object(invite), *resp = sip_object(ok);
    struct ims_chg_dialog *o =
        ims_chg_dialog_open(c, inv, resp, IMS_RF_ORIGINATING, 0, NULL);
    ck_assert_ptr_nonnull(o);
    o->ext = &ended;
    /* full: the next dialog is not kept */
    ck_assert_ptr_null(ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL));
    ck_assert_uint_eq(ims_chg_dialogs(c), 1);
    /* not old yet, then older than max_age */
    ims_chg_tick(c, o->created + 59);
    ck_assert_uint_eq(ims_chg_dialogs(c), 1);
    ims_chg_tick(c, o->created + 61);
    ck_assert_uint_eq(ims_chg_dialogs(c), 0);
    ck_assert_int_eq(ended[IMS_CHG_END_AGE], 1);
    /* what is left at the end is ended as a shutdown */
    o = ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL);
    ck_assert_ptr_nonnull(o);
    o->ext = &ended;
    ims_chg_destroy(c);
    ck_assert_int_eq(ended[IMS_CHG_END_SHUTDOWN], 1);
}
END_TEST

START_TEST(table_reservations)
{
    /* an online-charged call keeps its place before it is set up: no other dialog takes it,
     * and its own dialog, opened right after the reservation is given back, finds it */
    struct ims_chg *c = ims_chg_table_new(2, 3600);
    const sip_t *inv = sip_object(invite), *resp = sip_object(ok);
    ck_assert_int_eq(ims_chg_reserve(c), 0);
    ck_assert_int_eq(ims_chg_reserve(c), 0);
    ck_assert_int_eq(ims_chg_reserve(c), -ENOSPC);            /* two places, both kept */
    ck_assert_ptr_null(ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL));
    ims_chg_unreserve(c);
    ck_assert_ptr_nonnull(ims_chg_dialog_open(c, inv, resp, IMS_RF_ORIGINATING, 0, NULL));
    ck_assert_int_eq(ims_chg_reserve(c), -ENOSPC);            /* 1 dialog + 1 reserved */
    ck_assert_ptr_null(ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL));
    ims_chg_unreserve(c);                                     /* that call failed */
    ck_assert_int_eq(ims_chg_reserve(c), 0);
    ims_chg_unreserve(c);
    ims_chg_unreserve(c);                                     /* one too many: harmless */
    ck_assert_ptr_nonnull(ims_chg_dialog_open(c, inv, resp, IMS_RF_TERMINATING, 0, NULL));
    ck_assert_uint_eq(ims_chg_dialogs(c), 2);
    ck_assert_int_eq(ims_chg_reserve(c), -ENOSPC);
    ims_chg_destroy(c);
}
END_TEST

static struct ims_loop *loop;

static void setup_diam(void)
{
    setup();
    loop = ims_loop_create(64);
    ck_assert_ptr_nonnull(loop);
    char *none[] = { NULL };
    struct ims_diam_conf c = {
        .identity = "check." REALM, .realm = REALM, .address = "127.0.0.1", .port = 0,
        .peers = none, .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 100,
        .apps = IMS_APP_BIT(IMS_APP_RF), .loop = loop,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
    ck_assert_int_eq(ims_diam_start(), 0);
}

static void teardown_diam(void)
{
    ims_diam_stop();
    ims_loop_destroy(loop);
    teardown();
}

/* The fields of an INVITE and its 2xx, as the P-CSCF's terminating record says them */
START_TEST(acr_ims_information)
{
    struct ims_chg_fields f;
    ims_chg_fields_of(sip_object(invite), sip_object(ok), &f);
    struct ims_rf_info info;
    ims_chg_info_of(&f, IMS_RF_TERMINATING, &info);
    info.has_cause = true;
    info.cause = ims_chg_cause(200);
    struct msg *m = ims_diam_request_new(IMS_CMD_ACR, REALM, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ims_rf_add_ims_information(m, &info, IMS_RF_PCSCF), 0);
    struct avp *si = ims_avp_find(m, IMS_AVP_SERVICE_INFORMATION);
    struct avp *ims = si ? ims_avp_find(si, IMS_AVP_IMS_INFORMATION) : NULL;
    ck_assert_ptr_nonnull(ims);
    int32_t v;
    ck_assert_int_eq(ims_avp_get_i32(ims, IMS_AVP_NODE_FUNCTIONALITY, &v), 0);
    ck_assert_int_eq(v, 1);                       /* P-CSCF (TS 32.299) */
    ck_assert_int_eq(ims_avp_get_i32(ims, IMS_AVP_ROLE_OF_NODE, &v), 0);
    ck_assert_int_eq(v, 1);                       /* terminating */
    ck_assert_int_eq(ims_avp_get_i32(ims, IMS_AVP_CAUSE_CODE, &v), 0);
    ck_assert_int_eq(v, -1);
    char buf[128];
    struct { enum ims_avp avp; const char *want; } strs[] = {
        { IMS_AVP_IMS_CHARGING_IDENTIFIER, "icid-42" },
        { IMS_AVP_USER_SESSION_ID, "call-1@10.0.0.1" },
        { IMS_AVP_CALLING_PARTY_ADDRESS, "sip:alice@ims.net" },
        { IMS_AVP_CALLED_PARTY_ADDRESS, "sip:bob@ims.net" },
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        ck_assert_int_eq(ims_avp_get_str(ims, strs[i].avp, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, strs[i].want);
    }
    struct avp *et = ims_avp_find(ims, IMS_AVP_EVENT_TYPE);
    ck_assert_int_eq(ims_avp_get_str(et, IMS_AVP_SIP_METHOD, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "INVITE");
    struct avp *ioi = ims_avp_find(ims, IMS_AVP_INTER_OPERATOR_IDENTIFIER);
    ck_assert_int_eq(ims_avp_get_str(ioi, IMS_AVP_ORIGINATING_IOI, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "home.net");
    ck_assert_int_eq(ims_avp_get_str(ioi, IMS_AVP_TERMINATING_IOI, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "other.net");
    ck_assert_uint_eq(ims_avp_count(ims, IMS_AVP_SDP_MEDIA_COMPONENT), 2);
    struct avp *mc = ims_avp_find(ims, IMS_AVP_SDP_MEDIA_COMPONENT);
    ck_assert_int_eq(ims_avp_get_str(mc, IMS_AVP_SDP_MEDIA_NAME, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "audio 4000 RTP/AVP 0");
    ck_assert_ptr_null(ims_avp_find(ims, IMS_AVP_TRUNK_GROUP_ID));   /* not an MGCF's */
    fd_msg_free(m);
    /* an MGCF's record names the circuit: Trunk-Group-Id { Outgoing-Trunk-Group-Id } */
    info.trunk_out = "pstn/5";
    m = ims_diam_request_new(IMS_CMD_ACR, REALM, NULL);
    ck_assert_int_eq(ims_rf_add_ims_information(m, &info, IMS_RF_MGCF), 0);
    si = ims_avp_find(m, IMS_AVP_SERVICE_INFORMATION);
    ims = si ? ims_avp_find(si, IMS_AVP_IMS_INFORMATION) : NULL;
    struct avp *tg = ims ? ims_avp_find(ims, IMS_AVP_TRUNK_GROUP_ID) : NULL;
    ck_assert_ptr_nonnull(tg);
    ck_assert_int_eq(ims_avp_get_str(tg, IMS_AVP_OUTGOING_TRUNK_GROUP_ID, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "pstn/5");
    ck_assert_ptr_null(ims_avp_find(tg, IMS_AVP_INCOMING_TRUNK_GROUP_ID));
    fd_msg_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("charging_dialogs");
    TCase *tc = tcase_create("charging_dialogs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fields_of_an_invite);
    tcase_add_test(tc, keys_causes_media);
    tcase_add_test(tc, table_open_bye_either_side);
    tcase_add_test(tc, table_bounded_and_aged);
    tcase_add_test(tc, table_reservations);
    suite_add_tcase(s, tc);
    TCase *acr = tcase_create("acr");
    tcase_add_checked_fixture(acr, setup_diam, teardown_diam);
    tcase_set_timeout(acr, 30);
    tcase_add_test(acr, acr_ims_information);
    suite_add_tcase(s, acr);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
