/*
 * bgcf - Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client
 *
 * The S-CSCF sends here what it cannot route itself (a number that is no home user); the
 * routing table (bgcf.routes and the REST API) names the local MGCF or another network's
 * BGCF or IBCF for each E.164 prefix or domain. Only the trust domain is served.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "charging.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

static const struct ims_cfg_key bgcf_keys[] = {
    { "bgcf", "routes", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, bgcf_check_route_item,
      "routes of the configuration, comma separated: '<id> <+prefix|domain> <next-hop SIP "
      "URI> [kind=mgcf|bgcf|ibcf] [priority=N] [weight=N]' (read-only in the API)" },
    { "bgcf", "database", IMS_CFG_PATH, "bgcf.db", 0, 0, 0, NULL, NULL,
      "SQLite file of the routes of the REST API (relative to node.state_dir)" },
    { "bgcf", "api_token", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL,
      NULL, "bearer token of the REST API (/api/v1/routes); empty refuses every API request" },
    { "bgcf", "record_route", IMS_CFG_BOOL, "yes", 0, 0, 0, NULL, NULL,
      "stay in the dialogs (Record-Route): sessions are charged START/STOP; no: one ACR "
      "EVENT per session attempt" },
    { "bgcf", "route_timeout_ms", IMS_CFG_INT, "4000", 0, 0, 60000, NULL, NULL,
      "a route that sends no response at all (not even 100) in this time is given up and "
      "the next one tried; 0: wait for the transaction timeout" },
    IMS_CFG_END
};

static struct bgcf g_bgcf = { .api_lock = PTHREAD_MUTEX_INITIALIZER };
static struct ims_counter *m_untrusted;

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    bgcf_charging_tick((struct bgcf *)arg);
}

static bool is_own(struct bgcf *b, su_home_t *home, const char *uri)
{
    url_t *u = url_make(home, uri);
    return u && ims_sip_is_own(b->d->sip, u);
}

/* bgcf.routes into b->config; a route naming this node itself is refused (a loop) */
static int read_config_routes(struct bgcf *b)
{
    size_t n;
    char **items = ims_cfg_list(b->d->cfg, "bgcf.routes", &n);
    if (!items)
        return -ENOMEM;
    b->config = calloc(n + 1, sizeof(*b->config));
    int rc = b->config ? 0 : -ENOMEM;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char err[300];
        struct bgcf_route *r = &b->config[b->nconfig];
        if (bgcf_route_parse(items[i], r, err, sizeof(err)) != 0) {
            ims_err("%s: bgcf.routes: %s", ims_cfg_path(b->d->cfg), err);
            rc = -EINVAL;
        } else if (is_own(b, home, r->next_hop)) {
            ims_err("%s: bgcf.routes: route '%s': next hop %s is this BGCF (a loop)",
                    ims_cfg_path(b->d->cfg), r->id, r->next_hop);
            rc = -EINVAL;
        } else {
            b->nconfig++;
        }
    }
    su_home_deinit(home);
    ims_strv_free(items);
    return rc;
}

/* The live table: bgcf.routes and the stored routes of the API */
static int load_table(struct bgcf *b)
{
    char path[512], err[300];
    ims_daemon_state_path(b->d, ims_cfg_str(b->d->cfg, "bgcf.database"), path, sizeof(path));
    int rc = bgcf_store_open(b, path);
    if (rc)
        return rc;
    struct bgcf_route *api = NULL;
    size_t napi = 0;
    if ((rc = bgcf_store_load(b, &api, &napi)) != 0) {
        ims_err("bgcf: cannot read the routes of %s", path);
        return rc;
    }
    b->table = bgcf_tables_build(b, api, napi, err, sizeof(err));
    free(api);
    if (!b->table) {
        ims_err("%s: bgcf.routes: %s", ims_cfg_path(b->d->cfg), err);
        return -EINVAL;
    }
    ims_info("bgcf: %zu routes (%zu of bgcf.routes, the others of the API in %s)",
             bgcf_table_count(b->table), b->nconfig, path);
    return 0;
}

static void bgcf_stop(struct ims_daemon *d);

static int bgcf_init(struct ims_daemon *d)
{
    struct bgcf *b = &g_bgcf;
    const struct ims_cfg *c = d->cfg;
    b->d = d;
    d->priv = b;
    snprintf(b->api_token, sizeof(b->api_token), "%s", ims_cfg_str(c, "bgcf.api_token"));
    b->record_route = ims_cfg_bool(c, "bgcf.record_route");
    b->route_timeout_ms = (unsigned)ims_cfg_int(c, "bgcf.route_timeout_ms");
    if (getrandom(&b->rnd, sizeof(b->rnd), 0) != (ssize_t)sizeof(b->rnd) || b->rnd == 0)
        b->rnd = (uint64_t)time(NULL) * 2654435761u + 1;
    int rc = read_config_routes(b);
    if (rc == 0)
        rc = load_table(b);
    if (rc == 0)
        rc = bgcf_charging_init(b);
    if (rc == 0)
        rc = bgcf_api_init(b);
    if (rc) {
        bgcf_stop(d);             /* the daemon calls it only after a good start */
        return rc;
    }
    if (!b->api_token[0])
        ims_warn("bgcf: bgcf.api_token is empty: the REST API refuses every request");
    bgcf_breakout_metrics();
    m_untrusted = ims_counter_new("bgcf_untrusted_refused_total", "requests refused because "
                                  "their source is not in sip.trusted_peers", NULL);
    return 0;
}

static int bgcf_start(struct ims_daemon *d)
{
    struct bgcf *b = d->priv;
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("bgcf: sip.trusted_peers is empty: every request from another address than "
                 "this node's is refused (403)");
    b->tick = su_timer_create(su_root_task(ims_loop_root(d->loop)), 1000);
    /* every second, for ever (su_timer_set_interval would fire once) */
    if (!b->tick || su_timer_set_for_ever(b->tick, on_tick, (su_timer_arg_t *)b) < 0)
        return -ENOMEM;
    return 0;
}

static void bgcf_stop(struct ims_daemon *d)
{
    struct bgcf *b = d->priv;
    if (!b)
        return;
    pthread_mutex_lock(&b->api_lock);
    b->stopping = true;            /* the API answers 503 from now on */
    pthread_mutex_unlock(&b->api_lock);
    if (b->tick)
        su_timer_destroy(b->tick);
    b->tick = NULL;
    bgcf_charging_stop(b);
    bgcf_store_close(b);
    bgcf_table_free(b->table);
    b->table = NULL;
    free(b->config);
    b->config = NULL;
    b->nconfig = 0;
}

/*
 * The BGCF serves the trust domain only (sip.trusted_peers: the S-CSCFs, the MGCFs and the
 * other networks' BGCFs and IBCFs it exchanges calls with): a breakout from anybody else
 * would be a free call to the PSTN on our account. Such requests are refused with 403. A
 * request to the node itself (no Route; OPTIONS 200, others 501) goes nowhere and is
 * answered to anybody.
 */
static int bgcf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct bgcf *b = d->priv;
    const url_t *ruri = sip->sip_request->rq_url;
    sip_method_t method = sip->sip_request->rq_method;
    if ((!sip->sip_route && ims_sip_is_own(d->sip, ruri)) || method == sip_method_register)
        return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (!src.trusted) {
        char why[200];
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        ims_counter_inc(m_untrusted);
        snprintf(why, sizeof(why), "%s from %s: not a trusted peer of this BGCF",
                 sip->sip_request->rq_method_name, src.key[0] ? src.key : "?");
        ims_log(IMS_LOG_INFO, &ids, "bgcf: %s (sip.trusted_peers): refused 403", why);
        return ims_sip_refuse(d->sip, irq, sip, 403, why);
    }
    return bgcf_breakout(b, irq, sip);
}

static const struct ims_daemon_desc bgcf_desc = {
    .name = "bgcf",
    .summary = "Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client",
    .keys = bgcf_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, SUBSCRIBE, NOTIFY, REFER, "
                 "INFO, PUBLISH, OPTIONS",
    .init = bgcf_init,
    .start = bgcf_start,
    .stop = bgcf_stop,
    .on_request = bgcf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &bgcf_desc);
}
