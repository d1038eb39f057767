/*
 * diam_doic.c - RFC 7683 on the project's Diameter messages (see diam_doic.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_doic.h"
#include "deadline.h"
#include "diam.h"
#include "diam_avp.h"
#include "doic.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define METRIC_PEERS 32   /* peers with metrics of their own; more are counted as "other" */

struct peer_metrics {
    char host[256];
    struct ims_counter *throttled;
};

static struct {
    bool enabled, server;
    char only_peer[256];
    pthread_mutex_t mu;               /* client and server state below */
    struct ims_doic_client client;
    struct ims_doic_server srv;
    struct peer_metrics peers[METRIC_PEERS + 1];   /* the last: "other" */
    size_t npeers;
    struct ims_counter *ignored, *taken, *malformed;
    struct ims_log_limit ignored_log;   /* the "OC-OLR ignored" lines: one every 10 s */
    char app_host[IMS_APP_COUNT][256];   /* the peer that answered the last request of each
                                          * application (sent by realm, its likely host) */
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .ignored_log = IMS_LOG_LIMIT(10) };

/* ---- metrics ---- */

static double asked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    ims_doic_server_tick(&g.srv, ims_now_ms());
    uint32_t r = g.srv.reduction;
    pthread_mutex_unlock(&g.mu);
    return (double)r;
}

static double reduction_of(void *arg)
{
    const struct peer_metrics *p = arg;
    pthread_mutex_lock(&g.mu);
    uint32_t r = ims_doic_client_reduction(&g.client, p->host, ims_now_ms());
    pthread_mutex_unlock(&g.mu);
    return (double)r;
}

/* The metrics of @host, made the first time (g.mu held) */
static struct peer_metrics *metrics_of(const char *host)
{
    for (size_t i = 0; i < g.npeers; i++)
        if (strcmp(g.peers[i].host, host) == 0)
            return &g.peers[i];
    if (g.npeers == METRIC_PEERS)
        return &g.peers[METRIC_PEERS];
    struct peer_metrics *p = &g.peers[g.npeers];   /* the gauge's argument from now on */
    char labels[300];
    snprintf(p->host, sizeof(p->host), "%s", host);
    snprintf(labels, sizeof(labels), "peer=\"%s\"", p->host);
    p->throttled = ims_counter_new("ims_diameter_oc_throttled_total", "Requests not sent: "
                                   "their server asked for that reduction (RFC 7683, "
                                   "DOIC); each failed as if answered DIAMETER_TOO_BUSY",
                                   labels);
    ims_gauge_fn_new("ims_diameter_oc_reduction_percent", "Reduction (percent of the "
                     "requests to it) in force per Diameter peer, from its OC-OLR (RFC 7683)",
                     labels, reduction_of, p);
    g.npeers++;
    return p;
}

int ims_diam_doic_init(const struct ims_diam_doic_conf *c, bool server)
{
    g.enabled = c->enabled;
    g.server = server;
    snprintf(g.only_peer, sizeof(g.only_peer), "%s", c->only_peer ? c->only_peer : "");
    snprintf(g.peers[METRIC_PEERS].host, sizeof(g.peers[0].host), "other");
    g.peers[METRIC_PEERS].throttled = ims_counter_new(
        "ims_diameter_oc_throttled_total", "Requests not sent: their server asked for that "
        "reduction (RFC 7683, DOIC); each failed as if answered DIAMETER_TOO_BUSY",
        "peer=\"other\"");
    g.ignored = ims_counter_new("ims_diameter_oc_reports_total", "OC-OLR host reports "
                                "received, by outcome (RFC 7683)", "outcome=\"untrusted\"");
    g.malformed = ims_counter_new("ims_diameter_oc_reports_total", "OC-OLR host reports "
                                  "received, by outcome (RFC 7683)", "outcome=\"malformed\"");
    g.taken = ims_counter_new("ims_diameter_oc_reports_total", "OC-OLR host reports "
                              "received, by outcome (RFC 7683)", "outcome=\"taken\"");
    if (server && g.enabled) {
        uint64_t seq = (uint64_t)time(NULL);   /* above any sent before a restart */
        ims_doic_server_init(&g.srv, c->max_queue, c->busy_wait_ms, c->threshold_pct,
                             c->validity_s, seq, ims_now_ms());
        ims_gauge_fn_new("ims_diameter_oc_reduction_asked_percent", "Reduction this server "
                         "asks of its clients in its OC-OLR (RFC 7683)", NULL, asked, NULL);
    }
    return 0;
}

/* ---- reacting node ---- */

/* The host a request of @cmd sent by realm goes to: the peer that answered the last request
 * of its application, else the one configured peer, else "" */
static void realm_target(enum ims_cmd cmd, char *target, size_t len)
{
    pthread_mutex_lock(&g.mu);
    const char *h = g.app_host[ims_cmd_app(cmd)];
    snprintf(target, len, "%s", *h ? h : g.only_peer);
    pthread_mutex_unlock(&g.mu);
}

bool ims_diam_doic_offer(struct msg *req, enum ims_cmd cmd, char *target, size_t len,
                         bool *named)
{
    target[0] = '\0';
    *named = false;
    if (!g.enabled || cmd >= IMS_CMD_COUNT || ims_cmd_app(cmd) == IMS_APP_RF)
        return false;
    *named = ims_avp_get_str(req, IMS_AVP_DESTINATION_HOST, target, len) == 0;
    if (!*named)
        realm_target(cmd, target, len);
    struct avp *f = ims_avp_add_group(req, IMS_AVP_OC_SUPPORTED_FEATURES);
    return f && ims_avp_add_u64(f, IMS_AVP_OC_FEATURE_VECTOR, IMS_DOIC_ALGO_LOSS) == 0;
}

/* The command an early decision let through, for the next request of it (this thread) */
static __thread int decided_early = -1;

/* The loss algorithm's decision for one request to @target, counted when it drops */
static bool decide(const char *target)
{
    pthread_mutex_lock(&g.mu);
    bool drop = ims_doic_client_throttle(&g.client, target, ims_now_ms());
    if (drop)
        ims_counter_inc(metrics_of(target)->throttled);
    pthread_mutex_unlock(&g.mu);
    return drop;
}

bool ims_diam_doic_throttle(struct msg *req, const char *target, enum ims_cmd cmd)
{
    if (decided_early == (int)cmd) {
        decided_early = -1;
        return false;
    }
    if (!g.enabled || !*target || ims_diam_ends_session(req, cmd))
        return false;
    return decide(target);
}

bool ims_diam_doic_throttle_early(enum ims_cmd cmd, int32_t type)
{
    decided_early = -1;
    if (!g.enabled || cmd >= IMS_CMD_COUNT || ims_cmd_app(cmd) == IMS_APP_RF ||
        ims_diam_type_ends_session(cmd, type))
        return false;
    char target[256];
    realm_target(cmd, target, sizeof(target));
    if (*target && decide(target))
        return true;
    decided_early = (int)cmd;
    return false;
}

void ims_diam_doic_early_end(void)
{
    decided_early = -1;
}

/* The loss algorithm is in the OC-Feature-Vector of @parent's OC-Supported-Features */
static bool offers_loss(struct msg *m)
{
    uint64_t v = 0;
    struct avp *f = ims_avp_find(m, IMS_AVP_OC_SUPPORTED_FEATURES);
    if (!f)
        return false;
    if (ims_avp_get_u64(f, IMS_AVP_OC_FEATURE_VECTOR, &v) != 0)
        return true;   /* RFC 7683 7.2: absent, only the loss algorithm */
    return (v & IMS_DOIC_ALGO_LOSS) != 0;
}

/* The OC-OLR of @m into *o: 0, -ENOENT (none), -EINVAL (its fixed AVPs missing) */
static int read_olr(struct msg *m, struct ims_doic_olr *o)
{
    struct avp *olr = ims_avp_find(m, IMS_AVP_OC_OLR);
    if (!olr)
        return -ENOENT;
    *o = (struct ims_doic_olr){ 0 };
    if (ims_avp_get_u64(olr, IMS_AVP_OC_SEQUENCE_NUMBER, &o->seq) != 0 ||
        ims_avp_get_i32(olr, IMS_AVP_OC_REPORT_TYPE, &o->type) != 0)
        return -EINVAL;
    o->has_reduction = ims_avp_get_u32(olr, IMS_AVP_OC_REDUCTION_PERCENTAGE,
                                       &o->reduction) == 0;
    o->has_validity = ims_avp_get_u32(olr, IMS_AVP_OC_VALIDITY_DURATION,
                                      &o->validity_s) == 0;
    return 0;
}

static void log_untrusted(const char *peer, const char *origin, const char *target)
{
    ims_log_limited(&g.ignored_log, IMS_LOG_WARN, NULL, "diameter: OC-OLR ignored: the answer "
                    "came from peer %s with Origin-Host %s, request sent to %s "
                    "(ims_diameter_oc_reports_total{outcome=\"untrusted\"} counts them)",
                    *peer ? peer : "(none)", *origin ? origin : "(none)",
                    *target ? target : "the realm");
}

void ims_diam_doic_answered(struct msg *ans, const char *target, enum ims_cmd cmd)
{
    struct ims_doic_olr o;
    char peer[256], origin[256];
    if (!g.enabled || !ans || cmd >= IMS_CMD_COUNT)
        return;
    ims_diam_msg_peer(ans, peer, sizeof(peer));
    if (*peer) {
        pthread_mutex_lock(&g.mu);
        snprintf(g.app_host[ims_cmd_app(cmd)], sizeof(g.app_host[0]), "%s", peer);
        pthread_mutex_unlock(&g.mu);
    }
    int rc = read_olr(ans, &o);
    if (rc == -ENOENT)
        return;
    if (ims_avp_get_str(ans, IMS_AVP_ORIGIN_HOST, origin, sizeof(origin)) != 0)
        origin[0] = '\0';
    pthread_mutex_lock(&g.mu);
    if (!ims_doic_trusted(target, peer, origin) || !offers_loss(ans)) {
        ims_counter_inc(g.ignored);
        log_untrusted(peer, origin, target);
    } else {
        uint64_t now = ims_now_ms();
        uint32_t before = ims_doic_client_reduction(&g.client, peer, now);
        int taken = rc == 0 ? ims_doic_client_update(&g.client, peer, &o, now) : rc;
        uint32_t after = ims_doic_client_reduction(&g.client, peer, now);
        if (taken < 0) {
            ims_counter_inc(g.malformed);
        } else if (taken > 0) {
            metrics_of(peer);
            ims_counter_inc(g.taken);
        }
        if (before != after)
            ims_info("diameter: %s asks for a reduction of %u %% (RFC 7683 report %llu, "
                     "valid %u s): that share of requests to it fails here as "
                     "DIAMETER_TOO_BUSY", peer, after, (unsigned long long)o.seq,
                     o.has_validity ? o.validity_s : IMS_DOIC_DEFAULT_VALIDITY_S);
    }
    pthread_mutex_unlock(&g.mu);
}

/* ---- reporting node ---- */

static int add_report(struct msg *ans, const struct ims_doic_olr *o)
{
    struct avp *olr = ims_avp_add_group(ans, IMS_AVP_OC_OLR);
    if (!olr || ims_avp_add_u64(olr, IMS_AVP_OC_SEQUENCE_NUMBER, o->seq) ||
        ims_avp_add_i32(olr, IMS_AVP_OC_REPORT_TYPE, o->type) ||
        ims_avp_add_u32(olr, IMS_AVP_OC_REDUCTION_PERCENTAGE, o->reduction) ||
        ims_avp_add_u32(olr, IMS_AVP_OC_VALIDITY_DURATION, o->validity_s))
        return -ENOMEM;
    return 0;
}

void ims_diam_doic_answer(struct msg *ans, size_t depth, unsigned waited_ms)
{
    struct msg *req = NULL;
    struct ims_doic_olr o;
    if (!g.enabled || !g.server)
        return;
    uint64_t now = ims_now_ms();
    pthread_mutex_lock(&g.mu);
    ims_doic_server_observe(&g.srv, depth > UINT32_MAX ? UINT32_MAX : (unsigned)depth,
                            waited_ms, now);
    bool report = ims_doic_server_report(&g.srv, now, &o);
    pthread_mutex_unlock(&g.mu);
    if (fd_msg_answ_getq(ans, &req) != 0 || !req || !offers_loss(req))
        return;
    struct avp *f = ims_avp_add_group(ans, IMS_AVP_OC_SUPPORTED_FEATURES);
    if (!f || ims_avp_add_u64(f, IMS_AVP_OC_FEATURE_VECTOR, IMS_DOIC_ALGO_LOSS) != 0 ||
        (report && add_report(ans, &o) != 0))
        ims_warn("diameter: cannot add the overload report to an answer (no memory)");
}
