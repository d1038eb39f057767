/*
 * check_megaco.c - the H.248.1 text codec (mgcf/megaco.c): what the MGCF writes, checked by
 * hand against Annex B; what media gateways send (long and compact forms, comments),
 * errors, refusals of malformed text, and write -> read -> write fixpoints
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "megaco.h"

static struct mgcf_mg_msg *new_msg(unsigned version, const char *mid)
{
    struct mgcf_mg_msg *m = malloc(sizeof(*m));
    ck_assert_ptr_nonnull(m);
    mgcf_mg_init(m, version, mid);
    return m;
}

static void encode_is(const struct mgcf_mg_msg *m, const char *want)
{
    char buf[4096];
    int n = mgcf_mg_encode(m, buf, sizeof(buf));
    ck_assert_msg(n == (int)strlen(want), "length %d, want %zu:\n%s", n, strlen(want), buf);
    ck_assert_str_eq(buf, want);
    /* every shorter buffer is refused whole */
    for (size_t cap = 0; cap <= strlen(want); cap++)
        ck_assert_int_eq(mgcf_mg_encode(m, buf, cap), -ENOSPC);
}

static struct mgcf_mg_msg *decode_ok(const char *text)
{
    struct mgcf_mg_msg *m;
    char err[160];
    int rc = mgcf_mg_decode(text, strlen(text), &m, err, sizeof(err));
    ck_assert_msg(rc == 0, "decode %d: %s\n%s", rc, err, text);
    return m;
}

/* The MGCF's reply to a MGW's registration */
static const char sc_reply_text[] =
    "MEGACO/1 [127.0.0.70]:2944\n"            /* MegacopToken SLASH Version SEP mId */
    "Reply = 1 {\n"                           /* ReplyToken EQUAL TransactionID LBRKT */
    " Context = - {\n"                        /* the null context */
    "  ServiceChange = ROOT {\n"              /* serviceChangeReply on the root */
    "    Services {ServiceChangeAddress = 2944, Profile = ResGW/1}\n" /* servChgReplyParm */
    "  }\n"
    " }\n"
    "}\n";

START_TEST(encode_service_change_reply)
{
    struct mgcf_mg_msg *m = new_msg(1, "[127.0.0.70]:2944");
    ck_assert_ptr_nonnull(mgcf_mg_add_trans(m, MGCF_MG_REPLY, 1));
    ck_assert_ptr_nonnull(mgcf_mg_add_action(m, MGCF_MG_CTX_NULL));
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_SERVICE_CHANGE, "ROOT");
    c->services = true;
    c->address = "2944";
    c->profile = "ResGW/1";
    encode_is(m, sc_reply_text);
    free(m);
}
END_TEST

/* One call: the TDM circuit and an RTP termination of the MGW's choice in a new context */
static const char add_text[] =
    "MEGACO/1 [127.0.0.70]:2944\n"
    "Transaction = 7 {\n"
    " Context = $ {\n"                        /* CHOOSE: the MGW creates the context */
    "  Add = tdm/1 {\n"                       /* the circuit of the CIC */
    "    Media {\n"
    "     LocalControl { Mode = SendReceive }\n"
    "    }\n"
    "  },\n"
    "  Add = $ {\n"                           /* CHOOSE: an RTP termination */
    "    Media {\n"
    "     Stream = 1 {\n"
    "      LocalControl { Mode = SendReceive },\n"
    "      Local {\n"                         /* what the MGW is to fill in ($) */
    "v=0\r\n"
    "c=IN IP4 $\r\n"
    "m=audio $ RTP/AVP 0\r\n"
    "},\n"                                    /* '}' at the start of the line: not SDP */
    "      Remote {\n"                        /* the IMS side's offer */
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.110\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.110\r\n"
    "t=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\n"
    "}\n"
    "     }\n"
    "    }\n"
    "  }\n"
    " }\n"
    "}\n";

#define LOCAL_SDP "v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 0\r\n"
#define REMOTE_SDP "v=0\r\no=- 1 1 IN IP4 127.0.0.110\r\ns=-\r\nc=IN IP4 127.0.0.110\r\n" \
                   "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

START_TEST(encode_add)
{
    struct mgcf_mg_msg *m = new_msg(1, "[127.0.0.70]:2944");
    mgcf_mg_add_trans(m, MGCF_MG_REQUEST, 7);
    mgcf_mg_add_action(m, MGCF_MG_CTX_CHOOSE);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "tdm/1");
    c->media = true;
    c->mode = MGCF_MG_MODE_SENDRECV;
    c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "$");
    c->media = true;
    c->stream = 1;
    c->mode = MGCF_MG_MODE_SENDRECV;
    c->local = LOCAL_SDP;
    c->remote = REMOTE_SDP;
    encode_is(m, add_text);
    free(m);
}
END_TEST

/* re-INVITE: the new remote SDP; a '}' in it is escaped */
START_TEST(encode_modify)
{
    static const char want[] =
        "MEGACO/2 [127.0.0.70]:2944\n"
        "Transaction = 8 {\n"
        " Context = 3 {\n"
        "  Modify = rtp/5 {\n"
        "    Media {\n"
        "     Stream = 1 {\n"
        "      LocalControl { Mode = ReceiveOnly },\n"
        "      Remote {\n"
        "v=0\r\na=x:\\}\r\n"                   /* octetString: "\}" for '}' */
        "}\n"
        "     }\n"
        "    }\n"
        "  }\n"
        " }\n"
        "}\n";
    struct mgcf_mg_msg *m = new_msg(2, "[127.0.0.70]:2944");
    mgcf_mg_add_trans(m, MGCF_MG_REQUEST, 8);
    mgcf_mg_add_action(m, 3);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_MODIFY, "rtp/5");
    c->media = true;
    c->stream = 1;
    c->mode = MGCF_MG_MODE_RECVONLY;
    c->remote = "v=0\r\na=x:}\r\n";
    encode_is(m, want);
    struct mgcf_mg_msg *d = decode_ok(want);
    ck_assert_str_eq(mgcf_mg_cmds(d, &d->actions[0])[0].remote, "v=0\r\na=x:}\r\n");
    mgcf_mg_free(d);
    free(m);
}
END_TEST

/* End of the call: both terminations out, their statistics asked for */
START_TEST(encode_subtract_and_audit)
{
    static const char want[] =
        "MEGACO/1 [127.0.0.70]:2944\n"
        "Transaction = 9 {\n"
        " Context = 3 {\n"
        "  Subtract = tdm/1 {\n"
        "    Audit {Statistics}\n"
        "  },\n"
        "  Subtract = rtp/5 {\n"
        "    Audit {Statistics}\n"
        "  }\n"
        " }\n"
        "}\n"
        "Transaction = 10 {\n"                  /* a second transaction, no comma */
        " Context = - {\n"
        "  AuditValue = ROOT {\n"
        "    Audit {Media, Packages}\n"
        "  }\n"
        " }\n"
        "}\n";
    struct mgcf_mg_msg *m = new_msg(1, "[127.0.0.70]:2944");
    mgcf_mg_add_trans(m, MGCF_MG_REQUEST, 9);
    mgcf_mg_add_action(m, 3);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_SUBTRACT, "tdm/1");
    c->audit = true;
    c->audit_items = MGCF_MG_AUDIT_STATS;
    c = mgcf_mg_add_cmd(m, MGCF_MG_SUBTRACT, "rtp/5");
    c->audit = true;
    c->audit_items = MGCF_MG_AUDIT_STATS;
    mgcf_mg_add_trans(m, MGCF_MG_REQUEST, 10);
    mgcf_mg_add_action(m, MGCF_MG_CTX_NULL);
    c = mgcf_mg_add_cmd(m, MGCF_MG_AUDIT_VALUE, "ROOT");
    c->audit = true;
    c->audit_items = MGCF_MG_AUDIT_PACKAGES | MGCF_MG_AUDIT_MEDIA;
    encode_is(m, want);
    free(m);
}
END_TEST

/* Pending, a response ack, an error reply, a message error */
START_TEST(encode_pending_ack_errors)
{
    struct mgcf_mg_msg *m = new_msg(1, "[127.0.0.101]:2944");
    mgcf_mg_add_trans(m, MGCF_MG_PENDING, 7);
    struct mgcf_mg_trans *t = mgcf_mg_add_trans(m, MGCF_MG_ACK, 3);
    t->id_last = 5;
    t = mgcf_mg_add_trans(m, MGCF_MG_REPLY, 8);
    t->error = (struct mgcf_mg_error){504, "Command Unknown"};
    t = mgcf_mg_add_trans(m, MGCF_MG_REPLY, 9);
    t->imm_ack = true;
    mgcf_mg_add_action(m, 4);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "$");
    c->error = (struct mgcf_mg_error){510, "Insufficient resources"};
    encode_is(m,
              "MEGACO/1 [127.0.0.101]:2944\n"
              "Pending = 7 {}\n"                      /* PendingToken EQUAL id LBRKT RBRKT */
              "TransactionResponseAck {3-5}\n"                /* a range of acks */
              "Reply = 8 {\n"
              " Error = 504 {\"Command Unknown\"}\n"           /* the transaction failed */
              "}\n"
              "Reply = 9 {\n"
              " ImmAckRequired,\n"
              " Context = 4 {\n"
              "  Add = $ {\n"
              "    Error = 510 {\"Insufficient resources\"}\n" /* one command failed */
              "  }\n"
              " }\n"
              "}\n");
    mgcf_mg_init(m, 1, "[127.0.0.70]:2944");
    m->error = (struct mgcf_mg_error){400, NULL};
    encode_is(m, "MEGACO/1 [127.0.0.70]:2944\nError = 400 {}\n");
    free(m);
}
END_TEST

/* A MGW registers, in the compact form, with a comment and tabs */
START_TEST(decode_service_change_compact)
{
    struct mgcf_mg_msg *m = decode_ok(
        "!/1 [127.0.0.101]:2944 ; restart after power-up\n"
        "T=1{C=-{SC=ROOT{SV{MT=RS,RE=\"901 Cold Boot\",\tAD=2944,PF=ResGW/1,V=1,"
        "DL=0,MG=[127.0.0.70]:2944,20260101T12000000,X-Vendor=acme}}}}");
    ck_assert_uint_eq(m->version, 1);
    ck_assert_str_eq(m->mid, "[127.0.0.101]:2944");
    ck_assert_uint_eq(m->n_trans, 1);
    ck_assert_int_eq(m->trans[0].type, MGCF_MG_REQUEST);
    ck_assert_uint_eq(m->trans[0].id, 1);
    ck_assert_uint_eq(m->actions[0].context, MGCF_MG_CTX_NULL);
    struct mgcf_mg_cmd *c = mgcf_mg_cmds(m, &m->actions[0]);
    ck_assert_int_eq(c->type, MGCF_MG_SERVICE_CHANGE);
    ck_assert_str_eq(c->tid, "ROOT");
    ck_assert(c->services);
    ck_assert_int_eq(c->method, MGCF_MG_SC_RESTART);
    ck_assert_str_eq(c->reason, "901 Cold Boot");
    ck_assert_str_eq(c->address, "2944");
    ck_assert_str_eq(c->profile, "ResGW/1");
    ck_assert_uint_eq(c->version, 1);
    ck_assert(c->has_delay);
    ck_assert_uint_eq(c->delay, 0);
    ck_assert_str_eq(c->mgc_id, "[127.0.0.70]:2944");
    ck_assert_str_eq(c->timestamp, "20260101T12000000");
    mgcf_mg_free(m);
}
END_TEST

START_TEST(decode_notify)
{
    struct mgcf_mg_msg *m = decode_ok(
        "MEGACO/1 [127.0.0.101]:2944\n"
        "Transaction = 5 { Context = 3 { Notify = rtp/5 { ObservedEvents = 2 {\n"
        "  20260101T12000000:nt/netfail { cs = \"link down\" },\n"
        "  g/cause { Generalcause = NR, Failurecause = \"x\" } } } } }");
    struct mgcf_mg_cmd *c = mgcf_mg_cmds(m, &m->actions[0]);
    ck_assert_uint_eq(m->actions[0].context, 3);
    ck_assert_int_eq(c->type, MGCF_MG_NOTIFY);
    ck_assert_str_eq(c->tid, "rtp/5");
    ck_assert_uint_eq(c->request_id, 2);
    ck_assert_uint_eq(c->n_events, 2);
    ck_assert_str_eq(c->events[0].name, "20260101T12000000:nt/netfail");
    ck_assert_uint_eq(c->events[0].n_params, 1);
    ck_assert_str_eq(c->events[0].params[0].name, "cs");
    ck_assert_str_eq(c->events[0].params[0].value, "link down");
    ck_assert_str_eq(c->events[1].name, "g/cause");
    ck_assert_str_eq(c->events[1].params[1].name, "Failurecause");
    mgcf_mg_free(m);
}
END_TEST

/* The MGW's reply to the Add: the context and the RTP termination it chose, its SDP */
START_TEST(decode_add_reply)
{
    struct mgcf_mg_msg *m = decode_ok(
        "MEGACO/1 [127.0.0.101]:2944\n"
        "P=7{C=3{A=tdm/1,A=rtp/5{M{ST=1{L{\n"
        "v=0\r\nc=IN IP4 127.0.0.101\r\nm=audio 30000 RTP/AVP 0\r\n"
        "}}}},Events=1{g/cause},Signals{}}}");
    ck_assert_int_eq(m->trans[0].type, MGCF_MG_REPLY);
    ck_assert_uint_eq(m->trans[0].id, 7);
    ck_assert_uint_eq(m->actions[0].context, 3);
    ck_assert_uint_eq(m->actions[0].n_cmds, 2);
    struct mgcf_mg_cmd *c = mgcf_mg_cmds(m, &m->actions[0]);
    ck_assert_str_eq(c[0].tid, "tdm/1");
    ck_assert(!c[0].media);
    ck_assert_str_eq(c[1].tid, "rtp/5");
    ck_assert_uint_eq(c[1].stream, 1);
    ck_assert_str_eq(c[1].local, "v=0\r\nc=IN IP4 127.0.0.101\r\nm=audio 30000 RTP/AVP 0\r\n");
    ck_assert_ptr_null(c[1].remote);
    mgcf_mg_free(m);
}
END_TEST

/* The Subtract reply with the statistics of the call */
START_TEST(decode_subtract_statistics)
{
    struct mgcf_mg_msg *m = decode_ok(
        "MEGACO/1 [127.0.0.101]:2944\n"
        "Reply = 9 {\n"
        "  Context = 3 {\n"
        "    Subtract = tdm/1 { Statistics { nt/os = 45123, nt/dur = 40 } },\n"
        "    Subtract = rtp/5 { Media { Stream = 1 { Statistics { rtp/ps=1200, nt/os=62300,\n"
        "      rtp/pr=700, nt/or=45100, rtp/pl=0.2, rtp/jit=20, rtp/delay=40 } } } }\n"
        "  }\n"
        "}\n");
    struct mgcf_mg_cmd *c = mgcf_mg_cmds(m, &m->actions[0]);
    ck_assert_int_eq(c[0].type, MGCF_MG_SUBTRACT);
    ck_assert_uint_eq(c[0].n_stats, 2);
    ck_assert_str_eq(mgcf_mg_stat(&c[0], "nt/dur"), "40");
    ck_assert_uint_eq(c[1].n_stats, 7);
    ck_assert_str_eq(mgcf_mg_stat(&c[1], "rtp/ps"), "1200");
    ck_assert_str_eq(mgcf_mg_stat(&c[1], "RTP/PL"), "0.2");
    ck_assert_ptr_null(mgcf_mg_stat(&c[1], "rtp/xx"));
    mgcf_mg_free(m);
}
END_TEST

START_TEST(decode_errors_pending_ack)
{
    struct mgcf_mg_msg *m = decode_ok(
        "MEGACO/1 [127.0.0.101]:2944\n"
        "Pending = 7 { }\n"
        "PN=8{}\n"
        "K { 1, 3-5 }\n"
        "Reply = 10 { Context = - { Error = 422 { \"Syntax Error in Action\" } } }\n"
        "Reply = 11 { Error = 504 {\"Command Unknown\"} }\n"
        "Reply = 12 { Context = 3 { Add = $ { Error = 510 { \"Insufficient resources\" } } } }");
    ck_assert_uint_eq(m->n_trans, 7);
    ck_assert_int_eq(m->trans[0].type, MGCF_MG_PENDING);
    ck_assert_uint_eq(m->trans[1].id, 8);
    ck_assert_int_eq(m->trans[2].type, MGCF_MG_ACK);
    ck_assert_uint_eq(m->trans[2].id, 1);
    ck_assert_uint_eq(m->trans[2].id_last, 1);
    ck_assert_uint_eq(m->trans[3].id, 3);
    ck_assert_uint_eq(m->trans[3].id_last, 5);
    ck_assert_uint_eq(m->actions[m->trans[4].first_action].error.code, 422);
    ck_assert_str_eq(m->actions[m->trans[4].first_action].error.text, "Syntax Error in Action");
    ck_assert_uint_eq(m->trans[5].error.code, 504);
    ck_assert_uint_eq(m->trans[5].n_actions, 0);
    struct mgcf_mg_cmd *c = mgcf_mg_cmds(m, &m->actions[m->trans[6].first_action]);
    ck_assert_uint_eq(c->error.code, 510);
    mgcf_mg_free(m);

    m = decode_ok("MEGACO/1 <mgw.example>:2944 Error = 400 { \"Syntax error in message\" }");
    ck_assert_str_eq(m->mid, "<mgw.example>:2944");
    ck_assert_uint_eq(m->n_trans, 0);
    ck_assert_uint_eq(m->error.code, 400);
    ck_assert_str_eq(m->error.text, "Syntax error in message");
    mgcf_mg_free(m);
}
END_TEST

/* Each malformed text is refused with -EINVAL and a reason */
static const char *const malformed[] = {
    "",
    "MEGACO/1",                                                     /* no mId */
    "MEGACO/4 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=RS}}}}",         /* version 4 */
    "MEGACO/x [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=RS}}}}",
    "MEGACO/1[1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=RS}}}}",          /* no separator */
    "MEGACO/1 \"mid\" T=1{C=-{SC=ROOT{SV{MT=RS}}}}",                /* quoted mId */
    "MEGACO/1 [1.2.3.4]:2944",                                      /* no transaction */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=RS}}}",          /* a '}' missing */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=RS}}}}}",        /* one too many */
    "MEGACO/1 [1.2.3.4]:2944 T=0{C=-{SC=ROOT{SV{MT=RS}}}}",         /* transaction 0 */
    "MEGACO/1 [1.2.3.4]:2944 T=4294967296{C=-{SC=ROOT}}",           /* past 32 bits */
    "MEGACO/1 [1.2.3.4]:2944 T=1{}",                                /* no context */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{}}",                           /* no command */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A}}",                          /* no termination */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=\"x\"}}",                    /* quoted termination */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{O-Bogus=x}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=4294967295{A=x}}",               /* ALL as a number */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=x{A=x}}",
    "MEGACO/1 [1.2.3.4]:2944 X=1{C=1{A=x}}",                        /* unknown */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x{M{L{v=0}}}",               /* Local unterminated */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x{M{L=1{v=0}}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x{M{O{MO=Sideways}}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x{M{ST=0{O{MO=SR}}}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x{SA{\"q\"=1}}}}",           /* quoted statistic */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{N=x{OE=1{}}}}",                /* no event */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{MT=Sideways}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{AD}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{SC=ROOT{SV{V=100}}}}",
    "MEGACO/1 [1.2.3.4]:2944 P=1{C=-{ER=0{}}}",                     /* error code 0 */
    "MEGACO/1 [1.2.3.4]:2944 P=1{C=-{ER=10000{}}}",
    "MEGACO/1 [1.2.3.4]:2944 PN=1{C=-{A=x}}",                       /* pending with content */
    "MEGACO/1 [1.2.3.4]:2944 K{}",
    "MEGACO/1 [1.2.3.4]:2944 K{5-3}",
    "MEGACO/1 [1.2.3.4]:2944 ER=400{\"x\"} T=1{C=-{A=x}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=x{ER=400{\"a\nb\"}}}}",      /* control character */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=x{ER=400{\"open}}}}",
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=x,,A=y}}",                   /* empty item */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=x A=y}}",                    /* comma missing */
    "MEGACO/1 [1.2.3.4]:2944 T=1{C=-{A=x{=}}}",
};

START_TEST(malformed_refused)
{
    struct mgcf_mg_msg *m = (void *)1;
    char err[160];
    const char *t = malformed[_i];
    int rc = mgcf_mg_decode(t, strlen(t), &m, err, sizeof(err));
    ck_assert_msg(rc == -EINVAL, "accepted (%d): %s", rc, t);
    ck_assert_ptr_null(m);
    ck_assert_msg(err[0], "no reason for: %s", t);
}
END_TEST

START_TEST(depth_and_size_limits)
{
    char text[512];
    struct mgcf_mg_msg *m;
    /* 20 nested descriptors inside a command */
    int n = snprintf(text, sizeof(text), "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x");
    for (int i = 0; i < 20; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "{E");
    for (int i = 0; i < 20; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "}");
    snprintf(text + n, sizeof(text) - (size_t)n, "}}");
    ck_assert_int_eq(mgcf_mg_decode(text, strlen(text), &m, NULL, 0), -EINVAL);
    /* 40 commands: more than kept */
    n = snprintf(text, sizeof(text), "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x");
    for (int i = 0; i < 40; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, ",A=x");
    snprintf(text + n, sizeof(text) - (size_t)n, "}}");
    ck_assert_int_eq(mgcf_mg_decode(text, strlen(text), &m, NULL, 0), -E2BIG);
    /* a NUL inside the text, and a text longer than a datagram */
    static const char nul[] = "MEGACO/1 [1.2.3.4]:2944 T=1{C=1{A=x\0y}}";
    ck_assert_int_eq(mgcf_mg_decode(nul, sizeof(nul) - 1, &m, NULL, 0), -EINVAL);
    ck_assert_int_eq(mgcf_mg_decode(text, MGCF_MG_TEXT_MAX + 1, &m, NULL, 0), -EINVAL);
}
END_TEST

/* Cut anywhere before its last '}', a message is incomplete */
START_TEST(truncations_refused)
{
    const char *texts[] = {add_text, sc_reply_text};
    for (size_t t = 0; t < 2; t++) {
        const char *last = strrchr(texts[t], '}');
        for (size_t n = 0; n < (size_t)(last - texts[t]); n++) {
            struct mgcf_mg_msg *m;
            ck_assert_msg(mgcf_mg_decode(texts[t], n, &m, NULL, 0) == -EINVAL, "cut at %zu",
                          n);
        }
    }
}
END_TEST

START_TEST(encode_refusals)
{
    char buf[1024];
    struct mgcf_mg_msg *m = new_msg(1, "[127.0.0.70]:2944");
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* nothing in it */
    mgcf_mg_add_trans(m, MGCF_MG_REQUEST, 1);
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* no action */
    mgcf_mg_add_action(m, 5);
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* no command */
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, MGCF_MG_ADD, "tdm 1");
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* blank in a token */
    c->tid = "tdm/1";
    ck_assert_int_gt(mgcf_mg_encode(m, buf, sizeof(buf)), 0);
    c->media = true;
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* Media {} */
    c->media = false;
    c->error = (struct mgcf_mg_error){400, "say \"no\""};
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* quote in text */
    c->error = (struct mgcf_mg_error){10000, NULL};
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    c->error.code = 0;
    c->services = true;
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);    /* Services {} */
    c->timestamp = "2026";
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    c->services = false;
    c->n_stats = 1;
    c->stats[0] = (struct mgcf_mg_param){"a,b", "1"};
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    c->stats[0] = (struct mgcf_mg_param){"nt/os", "a b"};               /* value quoted */
    ck_assert_int_gt(mgcf_mg_encode(m, buf, sizeof(buf)), 0);
    ck_assert_ptr_nonnull(strstr(buf, "Statistics {nt/os=\"a b\"}"));
    m->trans[0].id = 0;
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    m->trans[0].id = 1;
    m->version = 4;
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    m->version = 1;
    m->mid = "[1.2.3.4]:2944\n";
    ck_assert_int_eq(mgcf_mg_encode(m, buf, sizeof(buf)), -EINVAL);
    free(m);

    m = new_msg(1, "x");                        /* limits of the builder */
    ck_assert_ptr_null(mgcf_mg_add_action(m, 1));
    ck_assert_ptr_null(mgcf_mg_add_cmd(m, MGCF_MG_ADD, "x"));
    for (int i = 0; i < MGCF_MG_TRANS_MAX; i++)
        ck_assert_ptr_nonnull(mgcf_mg_add_trans(m, MGCF_MG_PENDING, 1));
    ck_assert_ptr_null(mgcf_mg_add_trans(m, MGCF_MG_PENDING, 1));
    ck_assert_ptr_null(mgcf_mg_add_action(m, 1));                       /* to a pending */
    free(m);
}
END_TEST

/* Written, read and written again, each sample gives the same text the second time */
static const char *const samples[] = {
    add_text,
    sc_reply_text,
    "!/1 [127.0.0.101]:2944\nT=1{C=-{SC=ROOT{SV{MT=RS,RE=\"901 Cold Boot\",AD=2944,PF=ResGW/1,"
    "V=1,DL=0,MG=[127.0.0.70]:2944,20260101T12000000}}}}",
    "MEGACO/1 [127.0.0.101]:2944\nTransaction = 5 { Context = 3 { O-W-Notify = rtp/5 {"
    " ObservedEvents = 2 { 20260101T12000000:nt/netfail { cs = \"link down\" }, g/cause } } } }",
    "MEGACO/3 [127.0.0.101]:2944 P=9{C=3{S=tdm/1{SA{nt/os=45123,nt/dur=40}},"
    "S=rtp/5{M{ST=1{SA{rtp/ps=1200,rtp/pl=0.2}}}}}}",
    "MEGACO/1 [127.0.0.101]:2944 P=2{IA,C=-{AV=ROOT{PG{g-1,root-1,nt-1},M{O{MO=IN}}}}}",
    "MEGACO/1 [127.0.0.101]:2944 PN=7{} K{1,3-5} P=11{ER=504{\"Command Unknown\"}}",
    "MEGACO/1 [127.0.0.70]:2944 ER=400{}",
};

START_TEST(write_read_write_fixpoint)
{
    char one[4096], two[4096];
    struct mgcf_mg_msg *m = decode_ok(samples[_i]);
    int n1 = mgcf_mg_encode(m, one, sizeof(one));
    ck_assert_int_gt(n1, 0);
    mgcf_mg_free(m);
    m = decode_ok(one);
    int n2 = mgcf_mg_encode(m, two, sizeof(two));
    ck_assert_int_eq(n1, n2);
    ck_assert_str_eq(one, two);
    mgcf_mg_free(m);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(mgcf_mg_cmd_name(MGCF_MG_AUDIT_CAP), "AuditCapability");
    ck_assert_str_eq(mgcf_mg_mode_name(MGCF_MG_MODE_LOOPBACK), "Loopback");
    ck_assert_ptr_null(mgcf_mg_mode_name(MGCF_MG_MODE_NONE));
    ck_assert_str_eq(mgcf_mg_method_name(MGCF_MG_SC_HANDOFF), "HandOff");
    ck_assert_ptr_null(mgcf_mg_cmd_name((enum mgcf_mg_cmd_type)99));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("megaco");
    TCase *tc = tcase_create("megaco");
    tcase_add_test(tc, encode_service_change_reply);
    tcase_add_test(tc, encode_add);
    tcase_add_test(tc, encode_modify);
    tcase_add_test(tc, encode_subtract_and_audit);
    tcase_add_test(tc, encode_pending_ack_errors);
    tcase_add_test(tc, decode_service_change_compact);
    tcase_add_test(tc, decode_notify);
    tcase_add_test(tc, decode_add_reply);
    tcase_add_test(tc, decode_subtract_statistics);
    tcase_add_test(tc, decode_errors_pending_ack);
    tcase_add_loop_test(tc, malformed_refused, 0, (int)(sizeof(malformed) / sizeof(*malformed)));
    tcase_add_test(tc, depth_and_size_limits);
    tcase_add_test(tc, truncations_refused);
    tcase_add_test(tc, encode_refusals);
    tcase_add_loop_test(tc, write_read_write_fixpoint, 0,
                        (int)(sizeof(samples) / sizeof(*samples)));
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
