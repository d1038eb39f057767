/*
 * check_proxy.c - the stateful proxy transaction over real SIP on 127.0.0.1
 *
 * Three sofia-sip agents in one process share one su_root: a UAC, the proxy under test
 * (common/sip.c + common/proxy.c) and a UAS whose answer depends on the Request-URI user.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>

#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "sip.h"
#include "sip_hdr.h"

#define PROXY_PORT 25060
#define UAS_PORT 25070
#define UAC_PORT 25080
#define DEAD_PORT 25099    /* nothing listens there */
#define RAW_PORT 25090     /* a UDP socket of the test itself (hand-written requests) */
#define SECOND_PORT 25061  /* a second UDP port of the proxy */

static su_root_t *root;
static struct ims_sip *proxy;
static nta_agent_t *uac, *uas;
static nta_leg_t *uas_leg, *uac_leg;

/* what the UAS saw of the last request */
static struct {
    int max_forwards;
    bool had_route;
    bool had_record_route;
    char pcv[256];
    int cancels;
    int requests;
    struct ims_oc_via via;     /* RFC 7339 parameters of the proxy's Via */
    int src_port;              /* the port the last request came from */
} seen;

/* what the UAC got */
static struct {
    int final;
    int provisional;
    bool done;
    unsigned retry_after;
    char warning[256];
    struct ims_oc_via via;     /* RFC 7339 parameters of the UAC's Via in the answer */
} got;

static nta_incoming_t *pending_invite;
static int proxied;        /* requests the proxy's request function saw */
static int early_asked;    /* requests the test daemon's early refusal was asked about */

/* ---- the UAS ---- */

static int uas_cancel(nta_incoming_magic_t *m, nta_incoming_t *irq, sip_t const *sip)
{
    (void)m;
    if (sip && sip->sip_request->rq_method == sip_method_cancel) {
        seen.cancels++;
        if (pending_invite) {
            nta_incoming_treply(pending_invite, SIP_487_REQUEST_CANCELLED, TAG_END());
            nta_incoming_destroy(pending_invite);
            pending_invite = NULL;
        }
    }
    (void)irq;
    return 200;
}

/* A 200 whose top Via (the proxy's) asks for a reduction of @oc (its "oc=N" parameter)
 * for a minute (RFC 7339) */
static int answer_overloaded(nta_incoming_t *irq, const char *oc)
{
    msg_t *resp = nta_incoming_create_response(irq, 0, NULL);
    ck_assert_ptr_nonnull(resp);
    ck_assert_int_ge(nta_incoming_complete_response(irq, resp, SIP_200_OK, TAG_END()), 0);
    sip_t *rs = sip_object(resp);
    su_home_t *home = msg_home(resp);
    const char *const params[] = { oc, "oc-algo=\"loss\"", "oc-validity=60000",
                                   "oc-seq=1700000000.5" };
    for (size_t i = 0; i < 4; i++)
        msg_header_replace_param(home, rs->sip_via->v_common, su_strdup(home, params[i]));
    msg_fragment_clear(rs->sip_via->v_common);
    nta_incoming_mreply(irq, resp);
    return 0;
}

static int uas_request(nta_leg_magic_t *m, nta_leg_t *leg, nta_incoming_t *irq,
                       sip_t const *sip)
{
    (void)m;
    (void)leg;
    const char *user = sip->sip_request->rq_url->url_user;
    seen.max_forwards = sip->sip_max_forwards ? (int)sip->sip_max_forwards->mf_count : -1;
    seen.had_route = sip->sip_route != NULL;
    seen.had_record_route = sip->sip_record_route != NULL;
    const char *pcv = ims_sip_header(sip, "P-Charging-Vector");
    snprintf(seen.pcv, sizeof(seen.pcv), "%s", pcv ? pcv : "");
    seen.requests++;
    msg_t *rq = nta_incoming_getrequest(irq);
    su_addrinfo_t *ai = rq ? msg_addrinfo(rq) : NULL;
    seen.src_port = ai && ai->ai_addr ? ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port) : 0;
    msg_destroy(rq);
    ims_oc_via_parse(sip->sip_via ? sip->sip_via->v_params : NULL, &seen.via);
    if (sip->sip_request->rq_method == sip_method_ack)
        return 200;
    if (user && strcmp(user, "oc100") == 0)
        return answer_overloaded(irq, "oc=100");
    if (user && strcmp(user, "oc50") == 0)
        return answer_overloaded(irq, "oc=50");
    if (!user || strcmp(user, "ok") == 0)
        return 200;
    if (strcmp(user, "busy") == 0)
        return 486;
    if (strcmp(user, "missing") == 0)
        return 404;
    if (strcmp(user, "decline") == 0)
        return 603;
    if (strcmp(user, "unavailable") == 0)
        return 503;
    if (strcmp(user, "ring") == 0) {
        /* ring and wait for the CANCEL */
        nta_incoming_bind(irq, uas_cancel, NULL);
        nta_incoming_treply(irq, SIP_180_RINGING, TAG_END());
        pending_invite = irq;
        return 0;
    }
    return 500;
}

/* ---- the proxy under test ---- */

static url_t *target_url(su_home_t *home, const char *user, int port)
{
    return url_make(home, su_sprintf(home, "sip:%s@127.0.0.1:%d", user, port));
}

static int proxy_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
    (void)arg;
    (void)sip;
    proxied++;
    struct ims_ptx *tx = ims_ptx_create(proxy, irq);
    if (!tx)
        return 500;
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return 0;
    }
    sip_t *req = ims_ptx_sip(tx);
    msg_t *msg = ims_ptx_msg(tx);
    const char *user = req->sip_request->rq_url->url_user;
    su_home_t *home = msg_home(msg);
    ims_sip_header_add(msg, req, "P-Charging-Vector", "icid-value=test123");
    if (user && strncmp(user, "fork-", 5) == 0) {
        /* fork-<a>-<b>: two branches */
        char a[32], b[32];
        sscanf(user + 5, "%31[^-]-%31s", a, b);
        int pa = strcmp(a, "dead") == 0 ? DEAD_PORT : UAS_PORT;
        int pb = strcmp(b, "dead") == 0 ? DEAD_PORT : UAS_PORT;
        st = ims_ptx_forward(tx, target_url(home, a, pa), NULL, true);
        if (!st)
            st = ims_ptx_forward(tx, target_url(home, b, pb), NULL, true);
    } else if (user && strcmp(user, "named") == 0) {
        /* a host name only the static table knows */
        st = ims_ptx_forward(tx, url_make(home, "sip:ok@uas.test:25070"), NULL, true);
    } else if (user && strcmp(user, "second") == 0) {
        /* through the proxy's second UDP port (as the P-CSCF sends to a UE from its
         * protected client port) */
        url_t *ok = target_url(home, "ok", UAS_PORT);
        struct ims_ptx_hop hop = { .request_uri = ok, .next_hop = ok,
                                   .tport = ims_sip_tport(proxy, SECOND_PORT, "udp") };
        st = hop.tport ? ims_ptx_forward_ex(tx, &hop) : 500;
    } else if (user && strcmp(user, "dead") == 0) {
        st = ims_ptx_forward(tx, target_url(home, "dead", DEAD_PORT), NULL, true);
    } else {
        st = ims_ptx_forward(tx, target_url(home, user ? user : "ok", UAS_PORT), NULL, true);
    }
    if (st)
        ims_ptx_reply(tx, st, NULL, NULL);
    return 0;
}

/* ---- the UAC ---- */

static int uac_response(nta_outgoing_magic_t *m, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)m;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200) {
        got.provisional = status;
        return 0;
    }
    got.final = status;
    got.done = true;
    got.retry_after = sip && sip->sip_retry_after ? (unsigned)sip->sip_retry_after->af_delta : 0;
    got.warning[0] = '\0';
    if (sip && sip->sip_warning)
        sip_header_field_e(got.warning, sizeof(got.warning), (sip_header_t *)sip->sip_warning,
                           0);
    ims_oc_via_parse(sip && sip->sip_via ? sip->sip_via->v_params : NULL, &got.via);
    return 0;
}

static nta_outgoing_t *send_request_ex(sip_method_t method, const char *name,
                                       const char *user, int max_forwards, bool with_route,
                                       const char *to_tag, bool offer_oc);

static nta_outgoing_t *send_request(sip_method_t method, const char *name, const char *user,
                                    int max_forwards, bool with_route)
{
    return send_request_ex(method, name, user, max_forwards, with_route, NULL, false);
}

/* ... in a dialog when @to_tag is set, offering RFC 7339 in the Via when @offer_oc */
static nta_outgoing_t *send_request_ex(sip_method_t method, const char *name,
                                       const char *user, int max_forwards, bool with_route,
                                       const char *to_tag, bool offer_oc)
{
    char ruri[96], route[96];
    snprintf(ruri, sizeof(ruri), "sip:%s@127.0.0.1:%d", user, PROXY_PORT);
    snprintf(route, sizeof(route), "<sip:127.0.0.1:%d;lr>", PROXY_PORT);
    char mf[16];
    snprintf(mf, sizeof(mf), "%d", max_forwards);
    char to[128];
    snprintf(to, sizeof(to), "<%s>%s%s", ruri, to_tag ? ";tag=" : "", to_tag ? to_tag : "");
    const char *r = ruri;
    return nta_outgoing_tcreate(uac_leg, uac_response, NULL, URL_STRING_MAKE(r), method, name,
                                URL_STRING_MAKE(r), SIPTAG_FROM_STR("<sip:uac@127.0.0.1>;tag=a1"),
                                SIPTAG_TO_STR(to), SIPTAG_MAX_FORWARDS_STR(mf),
                                TAG_IF(with_route, SIPTAG_ROUTE_STR(route)),
                                TAG_IF(offer_oc, NTATAG_USER_VIA(1)),
                                TAG_IF(offer_oc, SIPTAG_VIA_STR("SIP/2.0/UDP 127.0.0.1:25080;oc;"
                                                                "oc-algo=\"loss\"")),
                                SIPTAG_CONTACT_STR("<sip:uac@127.0.0.1:25080>"), TAG_END());
}

static void run_until_done(int ms)
{
    for (int waited = 0; !got.done && waited < ms; waited += 10)
        su_root_step(root, 10);
}

/* The proxy under test, with admission control @adm (RFC 7339 on, no ceiling by default) */
static unsigned proxy_t1x64_ms;   /* sip.t1x64_ms of the next make_proxy() (0: 32 s) */

static void make_proxy(const struct ims_admission_conf *adm)
{
    static const struct ims_admission_conf dflt = {
        .enabled = true, .target_delay_ms = 20, .min_rate = 20, .retry_after = 7,
        .max_transactions = 1000, .oc = true, .oc_validity_ms = 1000,
    };
    char *tps[] = { "udp", NULL };
    char *hosts[] = { "uas.test=127.0.0.1", NULL };
    struct ims_sip_conf conf = { .address = "127.0.0.1", .port = PROXY_PORT, .transports = tps,
                                 .host = "proxy.test", .node = "proxy", .hosts = hosts,
                                 .admission = adm ? adm : &dflt,
                                 .t1x64_ms = proxy_t1x64_ms };
    if (proxy)
        ims_sip_destroy(proxy);
    proxy = ims_sip_create(root, &conf, proxy_request, NULL);
    ck_assert_ptr_nonnull(proxy);
}

static void setup(void)
{
    ims_log_init("check_proxy", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    proxy = NULL;
    proxy_t1x64_ms = 0;
    make_proxy(NULL);
    uas = nta_agent_create(root, URL_STRING_MAKE("sip:127.0.0.1:25070;transport=udp"), NULL,
                           NULL, TAG_END());
    ck_assert_ptr_nonnull(uas);
    uas_leg = nta_leg_tcreate(uas, uas_request, NULL, NTATAG_NO_DIALOG(1), TAG_END());
    uac = nta_agent_create(root, URL_STRING_MAKE("sip:127.0.0.1:25080;transport=udp"), NULL,
                           NULL, TAG_END());
    ck_assert_ptr_nonnull(uac);
    uac_leg = nta_leg_tcreate(uac, NULL, NULL, NTATAG_NO_DIALOG(1), TAG_END());
    ck_assert_ptr_nonnull(uac_leg);
    memset(&seen, 0, sizeof(seen));
    memset(&got, 0, sizeof(got));
    pending_invite = NULL;
    proxied = 0;
    early_asked = 0;
}

static void teardown(void)
{
    nta_leg_destroy(uas_leg);
    nta_agent_destroy(uas);
    nta_leg_destroy(uac_leg);
    nta_agent_destroy(uac);
    ims_sip_destroy(proxy);
    proxy = NULL;
    su_root_destroy(root);
    su_deinit();
}

START_TEST(warning_of_the_node)
{
    char w[64];
    ck_assert_str_eq(ims_sip_warning(proxy, w, sizeof(w), "no route for %s", "sip:x@y"),
                     "399 127.0.0.1 \"no route for sip:x@y\"");
    /* quotes and backslashes of the text are escaped (RFC 3261 quoted-string) */
    ck_assert_str_eq(ims_sip_warning(proxy, w, sizeof(w), "say \"hi\" \\ bye"),
                     "399 127.0.0.1 \"say \\\"hi\\\" \\\\ bye\"");
    /* cut to fit, still closed by its quote */
    char small[24];
    ck_assert_str_eq(ims_sip_warning(proxy, small, sizeof(small), "%s", "a long reason here"),
                     "399 127.0.0.1 \"a long\"");
}
END_TEST

START_TEST(forwards_and_relays_200)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "ok", 70, true);
    ck_assert_ptr_nonnull(orq);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.max_forwards, 69);       /* decremented by the proxy */
    ck_assert(!seen.had_route);                    /* our own Route was removed */
    ck_assert(seen.had_record_route);
    ck_assert_str_eq(seen.pcv, "icid-value=test123");
    nta_outgoing_destroy(orq);
}
END_TEST

/* A request forwarded through a given transport of ours leaves from its port: nta took only
 * the name of a primary transport, and with no transport named (TPTAG_IDENT) the first UDP
 * one, the proxy's main port (so a P-CSCF sent to an IPsec UE from outside its SAs) */
START_TEST(a_given_transport_is_the_one_used)
{
    ck_assert_int_eq(ims_sip_add_transport(proxy, SECOND_PORT, "udp"), 0);
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "second", 70, true);
    ck_assert_ptr_nonnull(orq);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.src_port, SECOND_PORT);
    nta_outgoing_destroy(orq);
    /* and without one, the main port */
    memset(&got, 0, sizeof(got));
    orq = send_request(sip_method_message, "MESSAGE", "ok", 70, true);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.src_port, PROXY_PORT);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(host_names_from_the_static_table)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "named", 70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.max_forwards, 69);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(max_forwards_zero_gives_483)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "ok", 0, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 483);
    ck_assert_int_eq(seen.max_forwards, 0);        /* the UAS never saw it */
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(relays_error_response)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "busy", 70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 486);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(fork_best_response_lowest_class)
{
    /* 503 and 404: the 4xx wins over the 5xx */
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "fork-unavailable-missing",
                                       70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 404);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(fork_6xx_wins)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "fork-missing-decline",
                                       70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 603);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(fork_2xx_wins)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "fork-busy-ok", 70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 200);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(only_503_becomes_500)
{
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "unavailable", 70, false);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 500);
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(unreachable_branch_is_answered)
{
    /* nothing listens on the target: the branch ends with a local error, and the UAC
     * still gets exactly one final answer (5xx or 408), never silence */
    nta_outgoing_t *orq = send_request(sip_method_message, "MESSAGE", "dead", 70, false);
    run_until_done(40000);
    ck_assert(got.done);
    ck_assert(got.final == 408 || (got.final >= 500 && got.final < 600));
    nta_outgoing_destroy(orq);
}
END_TEST

START_TEST(invite_cancel_gives_487)
{
    nta_outgoing_t *orq = send_request(sip_method_invite, "INVITE", "ring", 70, false);
    ck_assert_ptr_nonnull(orq);
    for (int i = 0; i < 300 && got.provisional != 180; i++)
        su_root_step(root, 10);
    ck_assert_int_eq(got.provisional, 180);
    nta_outgoing_t *cancel = nta_outgoing_tcancel(orq, NULL, NULL, TAG_END());
    ck_assert_ptr_nonnull(cancel);
    run_until_done(3000);
    ck_assert_int_eq(got.final, 487);
    ck_assert_int_eq(seen.cancels, 1);
    nta_outgoing_destroy(orq);
}
END_TEST

/* ---- overload control ---- */

static void run_one(nta_outgoing_t *orq)
{
    ck_assert_ptr_nonnull(orq);
    memset(&got, 0, sizeof(got));
    run_until_done(3000);
    nta_outgoing_destroy(orq);
}

START_TEST(offers_overload_control_in_its_via)
{
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 200);
    ck_assert(seen.via.oc && !seen.via.has_value && seen.via.loss && seen.via.has_algo);
    /* the UAC did not offer it: its Via comes back without oc values */
    ck_assert(!got.via.oc);
    /* within a dialog the proxy adds no offer (nta's own Via) */
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 200);
    ck_assert(!seen.via.oc);
}
END_TEST

START_TEST(a_next_hop_asking_for_less_gets_less)
{
    /* the next hop answers with oc=100 for a minute: every new request to it is answered
     * 503 by the proxy itself, with Retry-After and a Warning, and never sent */
    run_one(send_request(sip_method_message, "MESSAGE", "oc100", 70, false));
    ck_assert_int_eq(got.final, 200);
    int before = seen.requests;
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 503);
    ck_assert_uint_eq(got.retry_after, 7);
    ck_assert_ptr_nonnull(strstr(got.warning, "RFC 7339"));
    ck_assert_int_eq(seen.requests, before);
    /* a request within a dialog still goes */
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.requests, before + 1);
}
END_TEST

START_TEST(refuses_new_work_past_its_rate)
{
    /* one token in 10 s: at 1/s, eleven transactions slower than a second (ASan on a loaded
     * machine) found a new token and the eleventh was admitted */
    struct ims_admission_conf adm = { .enabled = true, .target_delay_ms = 20, .max_rate = 0.1,
                                      .min_rate = 0.1, .retry_after = 9, .oc = true,
                                      .oc_validity_ms = 2000 };
    make_proxy(&adm);
    /* the bucket holds 5, and the UAC, on the proxy's own address, is a trusted source:
     * priority work, which may overdraw by one bucket: the eleventh request in a row is
     * refused at once */
    for (int i = 0; i < 10; i++) {
        run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
        ck_assert_int_eq(got.final, 200);
    }
    int before = seen.requests;
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, NULL, true));
    ck_assert_int_eq(got.final, 503);
    ck_assert_uint_eq(got.retry_after, 9);
    ck_assert_ptr_nonnull(strstr(got.warning, "overloaded"));
    ck_assert_int_eq(seen.requests, before);
    /* the UAC offered RFC 7339: its Via comes back asking for a reduction */
    ck_assert(got.via.has_value);
    ck_assert_uint_gt(got.via.value, 0);
    ck_assert(got.via.loss && got.via.has_validity && got.via.has_seq);
    ck_assert_uint_eq(got.via.validity_ms, 2000);
    /* requests within a dialog are never refused */
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 200);
}
END_TEST

START_TEST(bounds_transactions_in_flight)
{
    struct ims_admission_conf adm = { .enabled = true, .target_delay_ms = 20, .min_rate = 20,
                                      .retry_after = 3, .max_transactions = 1, .oc = true,
                                      .oc_validity_ms = 1000 };
    make_proxy(&adm);
    /* an INVITE that rings holds its transaction: the next new request is refused */
    nta_outgoing_t *inv = send_request(sip_method_invite, "INVITE", "ring", 70, false);
    for (int i = 0; i < 300 && got.provisional != 180; i++)
        su_root_step(root, 10);
    ck_assert_int_eq(got.provisional, 180);
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 503);
    ck_assert_ptr_nonnull(strstr(got.warning, "transactions"));
    nta_outgoing_t *cancel = nta_outgoing_tcancel(inv, NULL, NULL, TAG_END());
    memset(&got, 0, sizeof(got));
    run_until_done(3000);
    ck_assert_int_eq(got.final, 487);
    nta_outgoing_destroy(cancel);
    nta_outgoing_destroy(inv);
}
END_TEST


/* ---- refusals without a transaction ---- */

/* A heap past overload.max_heap_mb (every request of new work is refused) until a test
 * sets heap_is_low */
static bool heap_is_low;

static size_t heap_past_any_bound(void)
{
    return heap_is_low ? 0 : (size_t)1 << 40;
}

static void make_refusing_proxy(void)
{
    static const struct ims_admission_conf adm = {
        .enabled = true, .target_delay_ms = 20, .min_rate = 20, .retry_after = 5,
        .max_heap_mb = 1, .heap_bytes = heap_past_any_bound, .oc = true,
        .oc_validity_ms = 1000,
    };
    heap_is_low = false;
    make_proxy(&adm);
}

/* The server transactions the proxy's nta ever made, and those alive now */
static void server_transactions(usize_t *made, usize_t *alive)
{
    nta_agent_get_stats(ims_sip_agent(proxy), NTATAG_S_SERVER_TR_REF(*made),
                        NTATAG_S_IRQ_HASH_USED_REF(*alive), TAG_END());
}

/*
 * refused_without_transaction - @n MESSAGEs to @user each answered 503 with Retry-After
 * @retry_after and a Warning containing @warning, then an INVITE to @user refused too (its
 * ACK absorbed); asserts that no server transaction was made or left and that nothing was
 * proxied or reached the UAS. Returns the transactions made so far (for what follows).
 */
static usize_t refused_without_transaction(int n, const char *user, unsigned retry_after,
                                           const char *warning)
{
    usize_t made0 = 0, alive0 = 0, made = 0, alive = 0;
    server_transactions(&made0, &alive0);
    int seen0 = seen.requests, proxied0 = proxied;
    for (int i = 0; i < n; i++) {
        run_one(send_request(sip_method_message, "MESSAGE", user, 70, false));
        ck_assert_int_eq(got.final, 503);
        ck_assert_uint_eq(got.retry_after, retry_after);
        ck_assert_ptr_nonnull(strstr(got.warning, warning));
    }
    run_one(send_request(sip_method_invite, "INVITE", user, 70, false));
    ck_assert_int_eq(got.final, 503);
    for (int i = 0; i < 20; i++)
        su_root_step(root, 10);
    server_transactions(&made, &alive);
    ck_assert_uint_eq(made, made0);
    ck_assert_uint_eq(alive, alive0);
    ck_assert_int_eq(proxied, proxied0);
    ck_assert_int_eq(seen.requests, seen0);
    return made;
}

START_TEST(a_refusal_holds_no_transaction)
{
    make_refusing_proxy();
    /* the INVITE too: nta's UAC ACKs the 503 itself; that ACK ends here, unanswered,
     * without a transaction, and never reaches the daemon or the next hop */
    usize_t made0 = refused_without_transaction(20, "ok", 5, "memory"), made = 0, alive = 0;
    ck_assert_int_eq(proxied, 0);
    ck_assert_int_eq(seen.requests, 0);
    /* requests within a dialog still go, in a transaction */
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 200);
    server_transactions(&made, &alive);
    ck_assert_uint_eq(made, made0 + 1);
    ck_assert_int_eq(proxied, 1);
}
END_TEST

/* the value of one metric of /metrics, -1 when absent */
static double metric(const char *name)
{
    char *text = ims_metrics_render(NULL);
    ck_assert_ptr_nonnull(text);
    double v = -1;
    size_t n = strlen(name);
    for (char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
    }
    free(text);
    return v;
}

/* /metrics tells the transactions nta holds (sampled each second on the loop thread) */
START_TEST(nta_transactions_in_metrics)
{
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 200);
    su_root_sleep(root, 1200);   /* the loop runs: the sample of each second is taken */
    usize_t made = 0, alive = 0;
    server_transactions(&made, &alive);
    ck_assert_uint_ge(alive, 1);   /* the MESSAGE's lingers (timer J, UDP) */
    ck_assert_double_eq(metric("ims_sip_nta_server_transactions"), (double)alive);
    ck_assert_double_ge(metric("ims_sip_nta_client_transactions"), 1);
}
END_TEST

/* sip.t1x64_ms: an answered server transaction is kept that long on UDP (timer J), not 32 s */
START_TEST(answered_transactions_live_t1x64)
{
    proxy_t1x64_ms = 2000;
    make_proxy(NULL);
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 200);
    usize_t made = 0, alive = 0;
    server_transactions(&made, &alive);
    ck_assert_uint_eq(alive, 1);   /* kept for the MESSAGE's retransmissions */
    su_root_sleep(root, 1000);
    server_transactions(&made, &alive);
    ck_assert_uint_eq(alive, 1);
    su_root_sleep(root, 1800);     /* past 2 s (nta's timers tick at most every 500 ms) */
    server_transactions(&made, &alive);
    ck_assert_uint_eq(alive, 0);
    ck_assert_uint_eq(ims_sip_t1x64_ms(proxy), 2000);
}
END_TEST

static int raw_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(RAW_PORT) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void raw_send(int fd, const char *text)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PROXY_PORT) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&a, sizeof(a)),
                     (ssize_t)strlen(text));
}

/* A datagram for the test's socket within @ms (the loop runs meanwhile), or "" */
static const char *raw_recv(int fd, int ms, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int waited = 0; waited < ms; waited += 10) {
        su_root_step(root, 10);
        ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
        if (n > 0) {
            buf[n] = '\0';
            break;
        }
    }
    return buf;
}

/* Request @text sent, its answer within 2 s in @buf, asserted a 503 */
static void raw_refused(int fd, const char *text, char *buf, size_t len)
{
    raw_send(fd, text);
    raw_recv(fd, 2000, buf, len);
    ck_assert_msg(strncmp(buf, "SIP/2.0 503 ", 12) == 0, "got: %s", buf);
}

/* The To tag of answer @resp ("" when none) */
static const char *to_tag(const char *resp, char *tag, size_t len)
{
    const char *to = strstr(resp, "\r\nTo:");
    const char *t = to ? strstr(to, ";tag=") : NULL;
    tag[0] = '\0';
    if (t && t < strstr(to + 2, "\r\n")) {
        size_t n = strcspn(t + 5, ";\r\n ");
        snprintf(tag, len, "%.*s", (int)n, t + 5);
    }
    return tag;
}

static int count_of(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

#define RAW_HEAD(method, cseq, to_tag)                                                  \
    method " sip:ok@127.0.0.1:25060 SIP/2.0\r\n"                                        \
    "Via: SIP/2.0/UDP 127.0.0.1:25090;branch=z9hG4bK-raw-1;rport\r\n"                   \
    "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-below\r\n"                          \
    "Max-Forwards: 70\r\n"                                                              \
    "From: <sip:raw@127.0.0.1>;tag=r1\r\n"                                              \
    "To: <sip:ok@127.0.0.1>" to_tag "\r\n"                                              \
    "Call-ID: raw-call-1@127.0.0.1\r\n"                                                 \
    "CSeq: " cseq "\r\n"                                                                \
    "Contact: <sip:raw@127.0.0.1:25090>\r\n"

START_TEST(a_retransmission_is_refused_again)
{
    make_refusing_proxy();
    int fd = raw_socket();
    char r1[2048], r2[2048], tag1[64], tag2[64], ack[1024], none[512];
    static const char invite[] = RAW_HEAD("INVITE", "1 INVITE", "") "Content-Length: 0\r\n\r\n";
    raw_refused(fd, invite, r1, sizeof(r1));
    ck_assert_ptr_nonnull(strstr(r1, "\r\nRetry-After: 5"));
    ck_assert_int_eq(count_of(r1, "\r\nVia:") + count_of(r1, "\r\nv:"), 2);
    ck_assert_ptr_nonnull(strstr(r1, "rport=25090"));
    /* the same INVITE again (a retransmission): refused again, with the same To tag */
    raw_refused(fd, invite, r2, sizeof(r2));
    ck_assert_str_ne(to_tag(r1, tag1, sizeof(tag1)), "");
    ck_assert_str_eq(to_tag(r2, tag2, sizeof(tag2)), tag1);
    /* its ACK: no answer, no transaction, not seen by the daemon */
    snprintf(ack, sizeof(ack), "%s", "ACK sip:ok@127.0.0.1:25060 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:25090;branch=z9hG4bK-raw-1;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\n");
    snprintf(ack + strlen(ack), sizeof(ack) - strlen(ack), "To: <sip:ok@127.0.0.1>;tag=%s\r\n"
             "Call-ID: raw-call-1@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n", tag1);
    usize_t made0 = 0, alive0 = 0, made = 0, alive = 0;
    server_transactions(&made0, &alive0);
    raw_send(fd, ack);
    ck_assert_str_eq(raw_recv(fd, 300, none, sizeof(none)), "");
    server_transactions(&made, &alive);
    ck_assert_uint_eq(made, made0);
    ck_assert_int_eq(proxied, 0);
    /* a CANCEL of it: nothing to cancel, 481 without a transaction */
    raw_send(fd, RAW_HEAD("CANCEL", "1 CANCEL", "") "Content-Length: 0\r\n\r\n");
    raw_recv(fd, 2000, r1, sizeof(r1));
    ck_assert_msg(strncmp(r1, "SIP/2.0 481 ", 12) == 0, "got: %s", r1);
    server_transactions(&made, &alive);
    ck_assert_uint_eq(made, made0);
    /* an ACK with a tag not of ours (a 2xx's ACK in some dialog) still reaches the
     * daemon */
    raw_send(fd, RAW_HEAD("ACK", "1 ACK", ";tag=theirs") "Content-Length: 0\r\n\r\n");
    for (int i = 0; i < 30 && !proxied; i++)
        su_root_step(root, 10);
    ck_assert_int_eq(proxied, 1);
    /* the node takes new work again: the refused INVITE's retransmission is still refused
     * (its client has its 503), a new request is taken */
    heap_is_low = true;
    for (int i = 0; i < 20; i++)
        su_root_step(root, 10);
    raw_refused(fd, invite, r2, sizeof(r2));
    ck_assert_str_eq(to_tag(r2, tag2, sizeof(tag2)), tag1);
    ck_assert_int_eq(proxied, 1);
    raw_send(fd, RAW_HEAD("OPTIONS", "2 OPTIONS", "") "Content-Length: 0\r\n\r\n");
    for (int i = 0; i < 30 && proxied < 2; i++)
        su_root_step(root, 10);
    ck_assert_int_eq(proxied, 2);
    /* its 200 (the proxy transaction ends before the teardown) */
    for (int i = 0; i < 5 && strncmp(r1, "SIP/2.0 200 ", 12) != 0; i++)
        raw_recv(fd, 1000, r1, sizeof(r1));
    ck_assert_msg(strncmp(r1, "SIP/2.0 200 ", 12) == 0, "got: %s", r1);
    close(fd);
}
END_TEST

/* ---- the next hop known before the transaction (ims_sip_set_next_hop) ---- */

/* The test daemon's next hop of every request: the UAS, where proxy_request() sends it */
static const url_t *uas_next_hop(void *arg, const sip_t *req)
{
    (void)arg;
    (void)req;
    static url_t *hop;
    static su_home_t home[1] = { SU_HOME_INIT(home) };
    if (!hop)
        hop = url_make(home, "sip:127.0.0.1:25070");
    return hop;
}

START_TEST(a_downstream_refusal_holds_no_transaction)
{
    ims_sip_set_next_hop(proxy, uas_next_hop, NULL);
    /* the UAS asks for a 100 % reduction for a minute */
    run_one(send_request(sip_method_message, "MESSAGE", "oc100", 70, false));
    ck_assert_int_eq(got.final, 200);
    int before = seen.requests;
    refused_without_transaction(10, "ok", 7, "next hop 127.0.0.1:25070 is overloaded");
    /* within a dialog it still goes */
    run_one(send_request_ex(sip_method_message, "MESSAGE", "ok", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 200);
    ck_assert_int_eq(seen.requests, before + 1);
}
END_TEST

START_TEST(a_downstream_retransmission_is_refused_again)
{
    ims_sip_set_next_hop(proxy, uas_next_hop, NULL);
    run_one(send_request(sip_method_message, "MESSAGE", "oc100", 70, false));
    ck_assert_int_eq(got.final, 200);
    int fd = raw_socket();
    char r1[2048], r2[2048], tag1[64], tag2[64];
    static const char invite[] = RAW_HEAD("INVITE", "1 INVITE", "") "Content-Length: 0\r\n\r\n";
    raw_refused(fd, invite, r1, sizeof(r1));
    ck_assert_ptr_nonnull(strstr(r1, "RFC 7339"));
    raw_refused(fd, invite, r2, sizeof(r2));
    ck_assert_str_ne(to_tag(r1, tag1, sizeof(tag1)), "");
    ck_assert_str_eq(to_tag(r2, tag2, sizeof(tag2)), tag1);
    ck_assert_int_eq(proxied, 1);
    close(fd);
}
END_TEST

START_TEST(a_request_checked_before_its_transaction_is_not_checked_again)
{
    /* a 50 % reduction: every second new request is refused, whether the check runs
     * before the transaction or in it, but not both (each request counted once) */
    ims_sip_set_next_hop(proxy, uas_next_hop, NULL);
    run_one(send_request(sip_method_message, "MESSAGE", "oc50", 70, false));
    ck_assert_int_eq(got.final, 200);
    usize_t made0 = 0, alive0 = 0, made = 0, alive = 0;
    server_transactions(&made0, &alive0);
    int ok = 0, refused = 0;
    for (int i = 0; i < 6; i++) {
        run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
        ok += got.final == 200;
        refused += got.final == 503;
    }
    ck_assert_int_eq(ok, 3);
    ck_assert_int_eq(refused, 3);
    server_transactions(&made, &alive);
    ck_assert_uint_eq(made, made0 + 3);
    (void)alive;
}
END_TEST

/* ---- the daemon's own refusal before the transaction (ims_sip_set_early_refusal) ---- */

/* The test daemon's bound: MESSAGE and INVITE to "full" are refused (its table is full) */
static bool full_table(void *arg, const sip_t *req, const struct ims_sip_source *src,
                       struct ims_sip_refusal *out)
{
    (void)arg;
    ck_assert_str_eq(src->ip, "127.0.0.1");
    early_asked++;
    const char *user = req->sip_request->rq_url->url_user;
    if (!user || strcmp(user, "full") != 0)
        return false;
    out->status = 503;
    out->retry_after = 11;
    snprintf(out->why, sizeof(out->why), "table full");
    return true;
}

START_TEST(an_early_refusal_holds_no_transaction)
{
    ims_sip_set_early_refusal(proxy, full_table, NULL);
    refused_without_transaction(10, "full", 11, "table full");
    ck_assert_int_eq(proxied, 0);
    ck_assert_int_eq(seen.requests, 0);
    ck_assert_int_eq(early_asked, 11);
    /* the rest goes on; within a dialog the daemon is not asked */
    run_one(send_request(sip_method_message, "MESSAGE", "ok", 70, false));
    ck_assert_int_eq(got.final, 200);
    run_one(send_request_ex(sip_method_message, "MESSAGE", "full", 70, false, "b2", false));
    ck_assert_int_eq(got.final, 500);      /* the UAS's answer to "full", relayed */
    ck_assert_int_eq(early_asked, 12);
    ck_assert_int_eq(proxied, 2);
}
END_TEST

static Suite *proxy_suite(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("transactions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, warning_of_the_node);
    tcase_add_test(tc, forwards_and_relays_200);
    tcase_add_test(tc, a_given_transport_is_the_one_used);
    tcase_add_test(tc, host_names_from_the_static_table);
    tcase_add_test(tc, max_forwards_zero_gives_483);
    tcase_add_test(tc, relays_error_response);
    tcase_add_test(tc, fork_best_response_lowest_class);
    tcase_add_test(tc, fork_6xx_wins);
    tcase_add_test(tc, fork_2xx_wins);
    tcase_add_test(tc, only_503_becomes_500);
    tcase_add_test(tc, unreachable_branch_is_answered);
    tcase_add_test(tc, invite_cancel_gives_487);
    tcase_add_test(tc, offers_overload_control_in_its_via);
    tcase_add_test(tc, a_next_hop_asking_for_less_gets_less);
    tcase_add_test(tc, refuses_new_work_past_its_rate);
    tcase_add_test(tc, bounds_transactions_in_flight);
    tcase_add_test(tc, a_refusal_holds_no_transaction);
    tcase_add_test(tc, nta_transactions_in_metrics);
    tcase_add_test(tc, answered_transactions_live_t1x64);
    tcase_add_test(tc, a_retransmission_is_refused_again);
    tcase_add_test(tc, a_downstream_refusal_holds_no_transaction);
    tcase_add_test(tc, a_downstream_retransmission_is_refused_again);
    tcase_add_test(tc, a_request_checked_before_its_transaction_is_not_checked_again);
    tcase_add_test(tc, an_early_refusal_holds_no_transaction);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proxy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
