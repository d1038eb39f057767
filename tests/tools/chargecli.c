/*
 * chargecli - drives the charging clients of common/ (rf_client, ro_client) against an OCS,
 * as a charging node would, for the end-to-end tests
 *
 *   chargecli --peer ID@ADDR[:PORT] [--identity ID] [--address A] rf --spool FILE
 *             [--sessions N] [--wait-s S] [--icid PREFIX]
 *       N sessions of START, INTERIM, STOP (answered 3 s after the start, released 45 s
 *       after it, by the SIP time stamps) and one EVENT (MESSAGE), through the spool; waits
 *       until every record is delivered (or S seconds) and prints
 *       {"sessions":N,"pending":P,"spooled":Q} (P = 0: all delivered).
 *   chargecli ... ro --subscriber URI [--ccfh terminate|continue|retry_and_terminate]
 *             [--tx-ms T] [--used S]
 *       CCR-INITIAL for 60 s then, when granted, CCR-TERMINATION with S seconds used; one
 *       JSON line per answer: {"request":"initial","decision":"granted",...}.
 *
 * The OCS may be down when it starts: the peer is retried every second; ro waits up to 5 s
 * for the connection before its CCR-INITIAL.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam.h"
#include "log.h"
#include "loop.h"
#include "rf_client.h"
#include "ro_client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/su.h>

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"

static struct {
    struct ims_loop *loop;
    struct ims_rf_client *rf;
    struct ims_ro_session *ro;
    struct ims_ro_request q;
    long sessions, wait_s, used;
    const char *spool, *icid, *subscriber;
    char peer_id[256];
    struct timespec t0;
    su_timer_t *timer;
    int exit_code;
} g = { .sessions = 3, .wait_s = 60, .used = 20, .icid = "chargecli" };

static const char *const decisions[] = { "granted", "denied", "continue", "terminate" };

static void stop(void)
{
    ims_loop_stop(g.loop);
}

/* ---- rf ---- */

static void rf_poll(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *a)
{
    (void)m;
    (void)a;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ims_rf_pending(g.rf) > 0 && now.tv_sec - g.t0.tv_sec < g.wait_s) {
        su_timer_set(t, rf_poll, NULL);
        return;
    }
    stop();
}

static void rf_run(void)
{
    time_t now = time(NULL);
    for (long i = 1; i <= g.sessions; i++) {
        char icid[96];
        snprintf(icid, sizeof(icid), "%s-%ld", g.icid, i);
        struct ims_rf_info info = {
            .sip_method = "INVITE", .role = IMS_RF_ORIGINATING, .user_session_id = icid,
            .calling = "sip:alice@" REALM, .called = "sip:bob@" REALM, .icid = icid,
            .orig_ioi = REALM, .request_ts = now, .response_ts = now + 3,
            .media = { "audio 49170 RTP/AVP 0" },
        };
        struct ims_rf_session *s = ims_rf_start(g.rf, &info);
        if (!s || ims_rf_interim(s, NULL) != 0) {
            g.exit_code = 1;
            return;
        }
        info.request_ts = now + 45;
        info.response_ts = 0;
        info.has_cause = true;
        info.cause = -1;
        if (ims_rf_stop(s, &info) != 0)
            g.exit_code = 1;
    }
    struct ims_rf_info msg = { .sip_method = "MESSAGE", .calling = "sip:alice@" REALM,
                               .called = "sip:bob@" REALM, .icid = g.icid };
    if (ims_rf_event(g.rf, &msg) != 0)
        g.exit_code = 1;
    su_timer_set(g.timer, rf_poll, NULL);
}

/* ---- ro ---- */

static void print_result(const char *request, const struct ims_ro_result *r)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:b, s:s}", "request", request,
                          "decision", decisions[r->decision], "result", (int)r->result_code,
                          "granted_time", (int)r->granted_time, "validity_time",
                          (int)r->validity_time, "final_unit", r->final_unit, "reason",
                          r->reason ? r->reason : "");
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

static void on_terminate(void *arg, const struct ims_ro_result *r)
{
    (void)arg;
    print_result("termination", r);
    stop();
}

static void on_initial(void *arg, const struct ims_ro_result *r)
{
    (void)arg;
    print_result("initial", r);
    if (r->decision != IMS_RO_GRANTED) {
        stop();
        return;
    }
    g.q.used_time = (uint32_t)g.used;
    if (ims_ro_terminate(g.ro, &g.q, on_terminate, NULL) != 0) {
        g.exit_code = 1;
        stop();
    }
}

/* Sends the CCR-INITIAL once the OCS connection is open, or after 5 s without one (the
 * test of the failure handling). */
static void ro_start(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *a)
{
    (void)m;
    (void)a;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (strcmp(ims_diam_peer_state(g.peer_id), "open") != 0 && now.tv_sec - g.t0.tv_sec < 5) {
        su_timer_set(t, ro_start, NULL);
        return;
    }
    if (ims_ro_initial(g.ro, &g.q, on_initial, NULL) != 0) {
        g.exit_code = 1;
        stop();
    }
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: chargecli --peer ID@ADDR[:PORT] [--identity ID] [--address A]\n"
                    "         rf --spool FILE [--sessions N] [--wait-s S] [--icid PREFIX]\n"
                    "       | ro --subscriber URI [--ccfh terminate|continue|"
                    "retry_and_terminate]\n"
                    "            [--tx-ms T] [--used S]\n");
    exit(2);
}

static enum ims_ro_ccfh ccfh_of(const char *s)
{
    if (strcmp(s, "continue") == 0)
        return IMS_RO_CCFH_CONTINUE;
    if (strcmp(s, "retry_and_terminate") == 0)
        return IMS_RO_CCFH_RETRY_AND_TERMINATE;
    if (strcmp(s, "terminate") != 0)
        usage();
    return IMS_RO_CCFH_TERMINATE;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "peer", required_argument, NULL, 'p' }, { "identity", required_argument, NULL, 'i' },
        { "address", required_argument, NULL, 'A' }, { "spool", required_argument, NULL, 's' },
        { "sessions", required_argument, NULL, 'n' }, { "wait-s", required_argument, NULL, 'w' },
        { "icid", required_argument, NULL, 'c' }, { "subscriber", required_argument, NULL, 'u' },
        { "ccfh", required_argument, NULL, 'f' }, { "tx-ms", required_argument, NULL, 't' },
        { "used", required_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *peer = NULL, *identity = "chargecli." REALM, *address = "127.0.1.12";
    struct ims_ro_conf roc = { .tx_ms = 2000, .node_functionality = IMS_RF_SCSCF };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': peer = optarg; break;
        case 'i': identity = optarg; break;
        case 'A': address = optarg; break;
        case 's': g.spool = optarg; break;
        case 'n': g.sessions = atol(optarg); break;
        case 'w': g.wait_s = atol(optarg); break;
        case 'c': g.icid = optarg; break;
        case 'u': g.subscriber = optarg; break;
        case 'f': roc.ccfh = ccfh_of(optarg); break;
        case 't': roc.tx_ms = (unsigned)atoi(optarg); break;
        case 'U': g.used = atol(optarg); break;
        default: usage();
        }
    }
    const char *mode = optind < argc ? argv[optind] : "";
    bool rf = strcmp(mode, "rf") == 0, ro = strcmp(mode, "ro") == 0;
    if (!peer || (!rf && !ro) || (rf && !g.spool) || (ro && !g.subscriber))
        usage();
    snprintf(g.peer_id, sizeof(g.peer_id), "%.*s", (int)strcspn(peer, "@"), peer);
    ims_log_init("chargecli", IMS_LOG_WARN, IMS_LOG_KV, NULL);
    su_init();
    g.loop = ims_loop_create(10000);
    char *peers[] = { (char *)peer, NULL };
    char *accept[] = { NULL };
    struct ims_diam_conf dc = {
        .identity = identity, .realm = REALM, .address = address, .port = 0, .peers = peers,
        .accept = accept, .tc_timer = 1, .tw_timer = 30, .threads = 2,
        .request_timeout_ms = 2000, .max_pending = 1000,
        .apps = IMS_APP_BIT(rf ? IMS_APP_RF : IMS_APP_RO), .loop = g.loop,
    };
    if (ims_diam_init(&dc) != 0 || ims_diam_start() != 0)
        return 1;
    g.timer = su_timer_create(su_root_task(ims_loop_root(g.loop)), 200);
    clock_gettime(CLOCK_MONOTONIC, &g.t0);
    if (rf) {
        struct ims_rf_conf rc = { .spool_path = g.spool, .retry_min_ms = 500,
                                  .retry_max_ms = 2000, .timeout_ms = 2000,
                                  .node_functionality = IMS_RF_SCSCF, .loop = g.loop };
        g.rf = ims_rf_client_create(&rc);
        if (!g.rf)
            return 1;
        rf_run();
    } else {
        g.ro = ims_ro_session_new(&roc);
        g.q = (struct ims_ro_request){
            .subscription = g.subscriber, .subscription_type = IMS_RO_SUB_SIP_URI,
            .info = { .sip_method = "INVITE", .calling = g.subscriber,
                      .called = "sip:bob@" REALM, .icid = g.icid },
            .rating_group = 1, .requested_time = 60,
        };
        su_timer_set(g.timer, ro_start, NULL);
    }
    ims_loop_run(g.loop);
    long pending = rf ? ims_rf_pending(g.rf) : 0, spooled = rf ? ims_rf_spooled(g.rf) : 0;
    su_timer_destroy(g.timer);
    ims_diam_stop();
    if (rf) {
        ims_rf_client_destroy(g.rf);
        printf("{\"sessions\":%ld,\"pending\":%ld,\"spooled\":%ld}\n", g.sessions, pending,
               spooled);
    }
    ims_ro_session_free(g.ro);
    ims_loop_destroy(g.loop);
    return g.exit_code ? g.exit_code : (rf && pending ? 1 : 0);
}
