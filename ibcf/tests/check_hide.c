/*
 * check_hide.c - topology hiding (ibcf/hide.c) and the border's policy (ibcf/policy.c) on
 * parsed messages: a call leaving the home network and its responses, the peer's requests
 * coming back along the tokens, a call arriving from the peer and its responses, a
 * registration's Path and Service-Route; no home address is left in what leaves, and what
 * comes back is what left
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "ibcf.h"
#include "sip_hdr.h"

#define HOME "ims.mnc001.mcc001.3gppnetwork.org"
#define CALL_ID "call-1@127.0.0.120"

static const uint8_t key[IBCF_KEY_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
                                           3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8 };
static const struct ibcf_th th = { .key = key, .peer = "mnc002", .call_id = CALL_ID,
                                   .host = "127.0.0.55", .port = 5060, .domain = HOME };

/* An INVITE from alice as the home S-CSCF sends it to the IBCF */
static const char invite_out[] =
    "INVITE sip:bob@ims.mnc002.mcc001.3gppnetwork.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.30;rport=5060;branch=z9hG4bKs1\r\n"
    "Via: SIP/2.0/UDP 127.0.0.10;rport=5060;branch=z9hG4bKp1\r\n"
    "Via: SIP/2.0/UDP 127.0.0.120:5301;received=127.0.0.120;rport=5301;branch=z9hG4bKu1\r\n"
    "Record-Route: <sip:127.0.0.30:5060;lr>\r\n"
    "Record-Route: <sip:127.0.0.10:5060;lr;ue=0123abcd>\r\n"
    "Max-Forwards: 68\r\n"
    "From: <sip:alice@" HOME ">;tag=a1\r\n"
    "To: <sip:bob@ims.mnc002.mcc001.3gppnetwork.org>\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.120:5301>\r\n"
    "P-Asserted-Identity: <sip:alice@" HOME ">\r\n"
    "P-Charging-Vector: icid-value=abc;icid-generated-at=127.0.0.10;orig-ioi=" HOME "\r\n"
    "P-Charging-Function-Addresses: ccf=aaa://ocs." HOME "\r\n"
    "P-Served-User: <sip:alice@" HOME ">;sescase=orig\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static su_home_t home[1];
static msg_t *msg;
static sip_t *sip;

static void setup(void)
{
    su_home_init(home);
}

static void teardown(void)
{
    if (msg)
        msg_destroy(msg);
    msg = NULL;
    sip = NULL;
    su_home_deinit(home);
}

static void parse(const char *text)
{
    if (msg)
        msg_destroy(msg);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    sip = sip_object(msg);
    ck_assert_ptr_nonnull(sip);
    ck_assert_ptr_nonnull(sip->sip_call_id);
}

/* The message as it would go on the wire, and parsed again from that (the edits must make
 * a message sofia-sip reads) */
static const char *wire(void)
{
    ck_assert_int_eq(msg_serialize(msg, (msg_pub_t *)sip), 0);
    char *text = msg_as_string(home, msg, NULL, 0, NULL);
    ck_assert_ptr_nonnull(text);
    msg_t *again = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(again);
    ck_assert_ptr_nonnull(sip_object(again)->sip_via);
    msg_destroy(again);
    return text;
}

/* The value of every header called @name in @text, one per line, for comparisons */
static const char *values(const char *text, const char *name)
{
    static char out[8192];
    size_t off = 0, nl = strlen(name);
    out[0] = '\0';
    for (const char *p = text; (p = strstr(p, "\r\n")) != NULL; p += 2) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 2 + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%.*s", off ? ", " : "",
                                    (int)(e - v), v);
        }
    }
    return out;
}

static char *entry_text(const void *h)
{
    static char buf[4096];
    ck_assert_int_gt(msg_header_field_e(buf, sizeof(buf), (const msg_header_t *)h, 0), 0);
    return buf;
}

/* ---- a call leaving: the request, then the responses coming back ---- */

static char vias[4096], rr[4096];

/* The outbound edits of border.c, in its order */
static void hide_outbound(void)
{
    parse(invite_out);
    ibcf_policy_apply(msg, sip, IBCF_OUT, false, true, th.host);
    ck_assert_int_eq(ibcf_hide_vias(msg, sip, &th, "z9hG4bK-th-1", vias, sizeof(vias)), 0);
    ck_assert_int_eq(ibcf_hide_list(msg, sip, sip_record_route_class, &th, IBCF_TOKEN_DIALOG,
                                    true, rr, sizeof(rr)), 0);
}

START_TEST(test_outbound_request_hidden)
{
    hide_outbound();
    const char *t = wire();
    /* no address or node name of the home network, but the IBCF's and the UE's Contact */
    ck_assert_ptr_null(strstr(t, "127.0.0.30"));
    ck_assert_ptr_null(strstr(t, "127.0.0.10"));
    ck_assert_ptr_null(strstr(t, "ocs." HOME));
    ck_assert_str_eq(values(t, "Via"), "SIP/2.0/UDP 127.0.0.55:5060;branch=z9hG4bK-th-1");
    ck_assert_str_eq(values(t, "Contact"), "<sip:alice@127.0.0.120:5301>");
    /* one Record-Route: ours, with the token of the two */
    ck_assert_ptr_nonnull(sip->sip_record_route);
    ck_assert_ptr_null(sip->sip_record_route->r_next);
    const char *tok = ibcf_th_token_of(&th, sip->sip_record_route->r_url);
    ck_assert_ptr_nonnull(tok);
    ck_assert(url_has_param(sip->sip_record_route->r_url, "lr"));
    char plain[4096];
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", CALL_ID, plain, sizeof(plain)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(plain, "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;ue=0123abcd>");
    ck_assert_str_eq(rr, plain);
    ck_assert_str_eq(vias, "SIP/2.0/UDP 127.0.0.30;rport=5060;branch=z9hG4bKs1, "
                           "SIP/2.0/UDP 127.0.0.10;rport=5060;branch=z9hG4bKp1, "
                           "SIP/2.0/UDP 127.0.0.120:5301;received=127.0.0.120;rport=5301;"
                           "branch=z9hG4bKu1");
    /* the policy towards an untrusted peer: no charging addresses, no P-Served-User, the
     * ICID without where it was made; the caller's identity stays (no Privacy: id) */
    ck_assert_str_eq(values(t, "P-Charging-Vector"), "icid-value=abc;orig-ioi=" HOME);
    ck_assert_str_eq(values(t, "P-Charging-Function-Addresses"), "");
    ck_assert_str_eq(values(t, "P-Served-User"), "");
    ck_assert_str_eq(values(t, "P-Asserted-Identity"), "<sip:alice@" HOME ">");
}
END_TEST

/* bob's 200 as the IBCF receives it (the peer's entries above our token) */
static void response_back(const char *our_rr, bool proxy_via)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "SIP/2.0 200 OK\r\n"
             "%s"
             "Via: SIP/2.0/UDP 127.0.0.55:5060;branch=z9hG4bK-th-1\r\n"
             "Record-Route: <sip:DXyz@127.0.2.55:5060;lr;tokenized-by=b.net>\r\n"
             "Record-Route: %s\r\n"
             "From: <sip:alice@" HOME ">;tag=a1\r\n"
             "To: <sip:bob@ims.mnc002.mcc001.3gppnetwork.org>;tag=b1\r\n"
             "Call-ID: " CALL_ID "\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@127.0.2.121:5302>\r\n"
             "P-Asserted-Identity: <sip:bob@ims.mnc002.mcc001.3gppnetwork.org>\r\n"
             "Content-Length: 0\r\n\r\n",
             proxy_via ? "Via: SIP/2.0/UDP 127.0.0.55:5060;branch=z9hG4bKnta\r\n" : "",
             our_rr);
    parse(text);
}

START_TEST(test_outbound_response_restored)
{
    hide_outbound();
    char ours[4096];
    snprintf(ours, sizeof(ours), "%s", entry_text(sip->sip_record_route));
    response_back(ours, false);
    ck_assert_int_eq(ibcf_restore_vias(msg, sip, "z9hG4bK-th-1", vias), 0);
    ck_assert_int_eq(ibcf_restore_list(msg, sip, sip_record_route_class, &th, rr), 0);
    const char *t = wire();
    ck_assert_str_eq(values(t, "Via"), vias);
    ck_assert_str_eq(values(t, "Record-Route"),
                     "<sip:DXyz@127.0.2.55:5060;lr;tokenized-by=b.net>, <sip:127.0.0.55:5060;lr>,"
                     " <sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;ue=0123abcd>");
    /* from an untrusted peer the callee's asserted identity goes */
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_IN, false, false, th.host), 1);
    ck_assert_ptr_null(sip_p_asserted_identity(sip));

    /* a 2xx relayed statelessly still has the proxy's own Via on top */
    response_back(ours, true);
    ck_assert_int_eq(ibcf_restore_vias(msg, sip, "z9hG4bK-th-1", vias), 0);
    t = wire();
    ck_assert_ptr_nonnull(strstr(values(t, "Via"), "branch=z9hG4bKnta, SIP/2.0/UDP 127.0.0.30"));
    /* not ours: left alone */
    ck_assert_int_eq(ibcf_restore_vias(msg, sip, "z9hG4bK-th-2", vias), -ENOENT);
    response_back("<sip:127.0.2.56;lr>", false);
    ck_assert_int_eq(ibcf_restore_list(msg, sip, sip_record_route_class, &th, rr), -ENOENT);
}
END_TEST

/*
 * The peer's response with an entry sofia-sip reads but cannot write back ("host>;p" is
 * read as a URL and written <host>>;p): the list cannot be rebuilt, the edit fails and the
 * Record-Route stays as it came (it was removed whole; found by fuzz ibcf_route)
 */
START_TEST(test_restore_unwritable_entry_keeps_list)
{
    hide_outbound();
    char ours[4096], rrs[8192];
    snprintf(ours, sizeof(ours), "%s, 1.b.net>;tag=b1", entry_text(sip->sip_record_route));
    response_back(ours, false);
    ck_assert_ptr_nonnull(sip->sip_record_route);
    snprintf(rrs, sizeof(rrs), "%s", values(wire(), "Record-Route"));
    ck_assert_int_eq(ibcf_restore_list(msg, sip, sip_record_route_class, &th, rr), -EINVAL);
    ck_assert_ptr_nonnull(sip->sip_record_route);
    ck_assert_str_eq(values(wire(), "Record-Route"), rrs);
}
END_TEST

/* A request of the peer in the dialog: Route [peer's, ours]; @th as the IBCF sees it (the
 * request's Call-ID) */
static struct ibcf_th rth;

static void peer_request(const char *route, const char *call_id)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "BYE sip:alice@127.0.0.120:5301 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.2.55:5060;branch=z9hG4bKb2\r\n"
             "Route: %s\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:bob@ims.mnc002.mcc001.3gppnetwork.org>;tag=b1\r\n"
             "To: <sip:alice@" HOME ">;tag=a1\r\n"
             "Call-ID: %s\r\n"
             "CSeq: 2 BYE\r\n"
             "Content-Length: 0\r\n\r\n", route, call_id);
    parse(text);
    rth = th;
    rth.call_id = sip->sip_call_id->i_id;
}

START_TEST(test_routes_restored)
{
    hide_outbound();
    char ours[4096], out[4096], why[300];
    int tokens = -1;
    snprintf(ours, sizeof(ours), "%s", entry_text(sip->sip_record_route));
    peer_request(ours, CALL_ID);
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_int_eq(tokens, 1);
    ck_assert_str_eq(out, "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;ue=0123abcd>");

    /* the same token in another dialog, from another network, altered: refused */
    peer_request(ours, "call-2@127.0.2.121");
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "network mnc002 and this dialog"));
    peer_request(ours, CALL_ID);
    struct ibcf_th other = rth;
    other.peer = "mnc003";
    ck_assert_int_eq(ibcf_restore_routes(sip, &other, out, sizeof(out), &tokens, why,
                                         sizeof(why)), -EINVAL);
    char *altered = strchr(ours, '@') - 3;
    *altered = *altered == 'x' ? 'y' : 'x';
    peer_request(ours, CALL_ID);
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), -EINVAL);

    /* our plain entry: no token (the caller decides what that may do) */
    peer_request("<sip:127.0.0.55:5060;lr>, <sip:127.0.0.30;lr>", CALL_ID);
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_int_eq(tokens, 0);
    ck_assert_str_eq(out, "");
    /* a token-like entry of another host or port is not ours */
    peer_request("<sip:DAAA@127.0.0.56:5060;lr;tokenized-by=" HOME ">", CALL_ID);
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_int_eq(tokens, 0);
    peer_request("<sip:DAAA@127.0.0.55:5070;lr;tokenized-by=" HOME ">", CALL_ID);
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_int_eq(tokens, 0);
}
END_TEST

START_TEST(test_outbound_no_hiding)
{
    /* hiding off: the entries stay and our entry, a token of none, goes on top */
    parse(invite_out);
    ck_assert_int_eq(ibcf_hide_list(msg, sip, sip_record_route_class, &th, IBCF_TOKEN_DIALOG,
                                    false, rr, sizeof(rr)), 0);
    ck_assert_str_eq(rr, "");
    const sip_route_t *r = sip->sip_record_route;
    const char *tok = ibcf_th_token_of(&th, r->r_url);
    char plain[256];
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", CALL_ID, plain, sizeof(plain)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(plain, "");
    ck_assert_str_eq(entry_text(r->r_next), "<sip:127.0.0.30:5060;lr>");
    ck_assert_str_eq(entry_text(r->r_next->r_next), "<sip:127.0.0.10:5060;lr;ue=0123abcd>");
    /* a request without any Record-Route gets ours */
    parse("OPTIONS sip:bob@b.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.30;branch=z9hG4bKo\r\n"
          "From: <sip:a@" HOME ">;tag=1\r\nTo: <sip:bob@b.net>\r\nCall-ID: o1\r\n"
          "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    struct ibcf_th o = th;
    o.call_id = "o1";
    ck_assert_int_eq(ibcf_hide_list(msg, sip, sip_record_route_class, &o, IBCF_TOKEN_DIALOG,
                                    true, rr, sizeof(rr)), 0);
    ck_assert_ptr_nonnull(ibcf_th_token_of(&o, sip->sip_record_route->r_url));
    ck_assert_str_eq(rr, "");
}
END_TEST

/* ---- a call arriving: the 200 going back to the peer ---- */

static void response_in(const char *rr_lines)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "SIP/2.0 180 Ringing\r\n"
             "Via: SIP/2.0/UDP 127.0.2.55:5060;branch=z9hG4bKb1\r\n"
             "%s"
             "From: <sip:bob@ims.mnc002.mcc001.3gppnetwork.org>;tag=b1\r\n"
             "To: <sip:alice@" HOME ">;tag=a1\r\n"
             "Call-ID: " CALL_ID "\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:alice@127.0.0.120:5301>\r\n"
             "P-Asserted-Identity: <sip:alice@" HOME ">\r\n"
             "Privacy: id\r\n"
             "P-Charging-Vector: icid-value=x1;icid-generated-at=127.0.2.10;term-ioi=" HOME "\r\n"
             "Warning: 399 127.0.0.10 \"the UE is far\"\r\n"
             "Content-Length: 0\r\n\r\n", rr_lines);
    parse(text);
}

START_TEST(test_inbound_response_hidden)
{
    response_in("Record-Route: <sip:127.0.0.10:5060;lr;ue=77>\r\n"
                "Record-Route: <sip:127.0.0.30:5060;lr>\r\n"
                "Record-Route: <sip:127.0.0.55:5060;lr>\r\n"
                "Record-Route: <sip:DAbc@127.0.2.55:5060;lr;tokenized-by=b.net>\r\n");
    ck_assert_int_eq(ibcf_hide_response_rr(msg, sip, &th, true), 0);
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_OUT, false, true, th.host), 1);
    const char *t = wire();
    ck_assert_ptr_null(strstr(t, "127.0.0.30"));
    ck_assert_ptr_null(strstr(t, "127.0.0.10"));
    ck_assert_ptr_null(sip_p_asserted_identity(sip));          /* Privacy: id, untrusted */
    ck_assert_str_eq(values(t, "Warning"), "399 127.0.0.55 \"the UE is far\"");
    ck_assert_str_eq(values(t, "P-Charging-Vector"), "icid-value=x1;term-ioi=" HOME);
    /* ours (with the token) then the peer's */
    const sip_route_t *r = sip->sip_record_route;
    const char *tok = ibcf_th_token_of(&th, r->r_url);
    ck_assert_ptr_nonnull(tok);
    ck_assert_str_eq(entry_text(r->r_next), "<sip:DAbc@127.0.2.55:5060;lr;tokenized-by=b.net>");
    ck_assert_ptr_null(r->r_next->r_next);
    /* the caller's requests take the entries nearest to us first */
    char plain[4096];
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", CALL_ID, plain, sizeof(plain)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(plain, "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr;ue=77>");

    /* hiding off: the home entries stay, ours becomes a token of none */
    response_in("Record-Route: <sip:127.0.0.30:5060;lr>\r\n"
                "Record-Route: <sip:127.0.0.55:5060;lr>\r\n");
    ck_assert_int_eq(ibcf_hide_response_rr(msg, sip, &th, false), 0);
    ck_assert_str_eq(entry_text(sip->sip_record_route), "<sip:127.0.0.30:5060;lr>");
    tok = ibcf_th_token_of(&th, sip->sip_record_route->r_next->r_url);
    ck_assert_int_eq(ibcf_token_open(key, tok, "mnc002", CALL_ID, plain, sizeof(plain)),
                     IBCF_TOKEN_DIALOG);
    ck_assert_str_eq(plain, "");
    /* without our entry nothing is done */
    response_in("Record-Route: <sip:127.0.0.30:5060;lr>\r\n");
    ck_assert_int_eq(ibcf_hide_response_rr(msg, sip, &th, true), -ENOENT);
    ck_assert_str_eq(entry_text(sip->sip_record_route), "<sip:127.0.0.30:5060;lr>");
}
END_TEST

START_TEST(test_policy)
{
    /* from an untrusted peer: every asserted identity and service goes, and the
     * charging addresses */
    parse(invite_out);
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_IN, false, false, th.host), 1);
    const char *t = wire();
    ck_assert_str_eq(values(t, "P-Asserted-Identity"), "");
    ck_assert_str_eq(values(t, "P-Served-User"), "");
    ck_assert_str_eq(values(t, "P-Charging-Function-Addresses"), "");
    ck_assert_str_eq(values(t, "P-Charging-Vector"),
                     "icid-value=abc;icid-generated-at=127.0.0.10;orig-ioi=" HOME);
    /* from a trusted one: they stay (its charging addresses do not) */
    parse(invite_out);
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_IN, true, false, th.host), 0);
    t = wire();
    ck_assert_str_eq(values(t, "P-Asserted-Identity"), "<sip:alice@" HOME ">");
    ck_assert_str_eq(values(t, "P-Served-User"), "<sip:alice@" HOME ">;sescase=orig");
    ck_assert_str_eq(values(t, "P-Charging-Function-Addresses"), "");
    /* towards a trusted one, even with Privacy: id */
    parse(invite_out);
    ck_assert_int_eq(ims_sip_header_add(msg, sip, "Privacy", "id"), 0);
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_OUT, true, false, th.host), 0);
    ck_assert_ptr_nonnull(sip_p_asserted_identity(sip));
    /* towards an untrusted one with Privacy: id (RFC 3325 section 5) */
    ck_assert_int_eq(ibcf_policy_apply(msg, sip, IBCF_OUT, false, false, th.host), 1);
    ck_assert_ptr_null(sip_p_asserted_identity(sip));
}
END_TEST

/* ---- the inter-operator identifiers (TS 24.229 5.10, RFC 7315 4.6) ---- */

#define PEER_IOI "ims.mnc002.mcc001.3gppnetwork.org"

/* The P-Charging-Vector of @text after ibcf_ioi_apply() */
static const char *ioi_after(const char *text, enum ibcf_dir dir, bool trusted)
{
    parse(text);
    ck_assert_int_eq(ibcf_ioi_apply(msg, sip, dir, NULL, HOME, PEER_IOI, trusted), 0);
    return values(wire(), "P-Charging-Vector");
}

/* @text with its P-Charging-Vector replaced by @pcv */
static const char *with_pcv(const char *text, const char *pcv)
{
    static char out[4096];
    const char *h = strstr(text, "P-Charging-Vector: "), *e = strstr(h, "\r\n");
    snprintf(out, sizeof(out), "%.*sP-Charging-Vector: %s%s", (int)(h - text), text, pcv, e);
    return out;
}

START_TEST(test_ioi)
{
    /* a request leaving: our IOI as orig-ioi, whatever was there, and no term-ioi */
    const char *forged = with_pcv(invite_out, "icid-value=abc;orig-ioi=other;term-ioi=x");
    ck_assert_str_eq(ioi_after(forged, IBCF_OUT, false),
                     "icid-value=abc;orig-ioi=" HOME);
    /* a request arriving from an untrusted peer: orig-ioi is what we know of the peer */
    const char *theirs = with_pcv(invite_out, "icid-value=def;orig-ioi=claimed;term-ioi=y");
    ck_assert_str_eq(ioi_after(theirs, IBCF_IN, false),
                     "icid-value=def;orig-ioi=" PEER_IOI);
    /* ... from a trusted one: what it wrote stays; none written: ours for it */
    ck_assert_str_eq(ioi_after(theirs, IBCF_IN, true), "icid-value=def;orig-ioi=claimed");
    ck_assert_str_eq(ioi_after(with_pcv(invite_out, "icid-value=def"), IBCF_IN, true),
                     "icid-value=def;orig-ioi=" PEER_IOI);
    /* a response coming back from an untrusted peer: term-ioi is the peer's */
    static const char ok[] = "SIP/2.0 200 OK\r\n"
                             "Via: SIP/2.0/UDP 127.0.0.55;branch=z9hG4bK-th-1\r\n"
                             "From: <sip:alice@" HOME ">;tag=a1\r\n"
                             "To: <sip:bob@" PEER_IOI ">;tag=b1\r\n"
                             "Call-ID: " CALL_ID "\r\nCSeq: 1 INVITE\r\n"
                             "P-Charging-Vector: icid-value=abc;orig-ioi=x;term-ioi=claimed\r\n"
                             "Content-Length: 0\r\n\r\n";
    ck_assert_str_eq(ioi_after(ok, IBCF_IN, false),
                     "icid-value=abc;orig-ioi=" HOME ";term-ioi=" PEER_IOI);
    ck_assert_str_eq(ioi_after(ok, IBCF_IN, true),
                     "icid-value=abc;orig-ioi=" HOME ";term-ioi=claimed");
    /* a response leaving for the peer: our IOI as term-ioi */
    ck_assert_str_eq(ioi_after(ok, IBCF_OUT, false),
                     "icid-value=abc;orig-ioi=x;term-ioi=" HOME);
    /* no P-Charging-Vector: nothing to edit, nothing added */
    static const char bare[] = "OPTIONS sip:" PEER_IOI " SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.30;branch=z9hG4bK1\r\n"
                               "From: <sip:alice@" HOME ">;tag=a1\r\nTo: <sip:" PEER_IOI ">\r\n"
                               "Call-ID: " CALL_ID "\r\nCSeq: 1 OPTIONS\r\n"
                               "Content-Length: 0\r\n\r\n";
    parse(bare);
    ck_assert_int_eq(ibcf_ioi_apply(msg, sip, IBCF_OUT, NULL, HOME, PEER_IOI, false), -EINVAL);
    ck_assert_str_eq(values(wire(), "P-Charging-Vector"), "");
    /* a response without one gets its request's ICID, and the IOIs */
    msg_t *inv = msg_make(sip_default_mclass(), 0, invite_out, (ssize_t)strlen(invite_out));
    ck_assert_ptr_nonnull(inv);
    static const char ok_bare[] = "SIP/2.0 200 OK\r\n"
                                  "Via: SIP/2.0/UDP 127.0.0.55;branch=z9hG4bK-th-1\r\n"
                                  "From: <sip:alice@" HOME ">;tag=a1\r\n"
                                  "To: <sip:bob@" PEER_IOI ">;tag=b1\r\n"
                                  "Call-ID: " CALL_ID "\r\nCSeq: 1 INVITE\r\n"
                                  "Content-Length: 0\r\n\r\n";
    parse(ok_bare);
    ck_assert_int_eq(ibcf_ioi_apply(msg, sip, IBCF_IN, sip_object(inv), HOME, PEER_IOI, false),
                     0);
    ck_assert_str_eq(values(wire(), "P-Charging-Vector"),
                     "icid-value=abc;orig-ioi=" HOME ";term-ioi=" PEER_IOI);
    msg_destroy(inv);
}
END_TEST

/* ---- a registration through the border ---- */

START_TEST(test_registration)
{
    static const char reg[] =
        "REGISTER sip:ims.mnc002.mcc001.3gppnetwork.org SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bKr1\r\n"
        "Path: <sip:ft01@127.0.0.10:5060;lr>\r\n"
        "From: <sip:dave@ims.mnc002.mcc001.3gppnetwork.org>;tag=d1\r\n"
        "To: <sip:dave@ims.mnc002.mcc001.3gppnetwork.org>\r\n"
        "Call-ID: reg-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:dave@127.0.0.130:5400>\r\n"
        "Content-Length: 0\r\n\r\n";
    char path[4096], out[4096], why[200];
    struct ibcf_th r = th;
    r.call_id = "reg-1";
    /* leaving (a roaming user of the peer registers here): the Path behind a token */
    parse(reg);
    ck_assert_int_eq(ibcf_hide_list(msg, sip, sip_path_class, &r, IBCF_TOKEN_REGISTRATION,
                                    true, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "<sip:ft01@127.0.0.10:5060;lr>");
    const char *t = wire();
    ck_assert_ptr_null(strstr(values(t, "Path"), "127.0.0.10"));
    char ours[4096];
    snprintf(ours, sizeof(ours), "%s", entry_text(sip->sip_path));
    /* a request of the peer for that user, any Call-ID: along the Path */
    peer_request(ours, "call-9");
    int tokens = 0;
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_int_eq(tokens, 1);
    ck_assert_str_eq(out, "<sip:ft01@127.0.0.10:5060;lr>");

    /* arriving (our user registers from the peer): its 200's Service-Route hidden */
    parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.2.55;branch=z9hG4bKr2\r\n"
          "Path: <sip:127.0.0.55:5060;lr>, <sip:RAbc@127.0.2.55;lr;tokenized-by=b.net>\r\n"
          "Service-Route: <sip:orig@127.0.0.30:5060;lr>\r\n"
          "From: <sip:alice@" HOME ">;tag=x\r\nTo: <sip:alice@" HOME ">;tag=y\r\n"
          "Call-ID: reg-2\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
    ck_assert_int_eq(ibcf_hide_service_route(msg, sip, &th, true), 0);
    t = wire();
    ck_assert_ptr_null(strstr(t, "127.0.0.30"));
    snprintf(ours, sizeof(ours), "%s", entry_text(sip->sip_service_route));
    peer_request(ours, "call-10");
    ck_assert_int_eq(ibcf_restore_routes(sip, &rth, out, sizeof(out), &tokens, why,
                                         sizeof(why)), 0);
    ck_assert_str_eq(out, "<sip:orig@127.0.0.30:5060;lr>");

    /* our plain entry on top of a Path */
    parse(reg);
    ck_assert_int_eq(ibcf_push_plain(msg, sip, sip_path_class, &th), 0);
    ck_assert_str_eq(values(wire(), "Path"),
                     "<sip:127.0.0.55:5060;lr>, <sip:ft01@127.0.0.10:5060;lr>");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ibcf_hide");
    TCase *tc = tcase_create("hide");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_outbound_request_hidden);
    tcase_add_test(tc, test_outbound_response_restored);
    tcase_add_test(tc, test_restore_unwritable_entry_keeps_list);
    tcase_add_test(tc, test_routes_restored);
    tcase_add_test(tc, test_outbound_no_hiding);
    tcase_add_test(tc, test_inbound_response_hidden);
    tcase_add_test(tc, test_policy);
    tcase_add_test(tc, test_registration);
    tcase_add_test(tc, test_ioi);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    su_init();
    sip_update_default_mclass(sip_extend_mclass(NULL));
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_deinit();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
