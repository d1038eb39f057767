/*
 * mrb - Media Resource Broker: chooses an MRF by load, in-line (a SIP proxy in front of the
 * MRFs) and by query (HTTP/JSON)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

static const struct ims_cfg_key mrb_keys[] = {
    { "mrb", "mrfs", IMS_CFG_LIST, "", 0, 0, 0, NULL, mrb_check_mrf_item,
      "the MRFs, comma separated: 'address[:sip_port]=capacity' (capacity: the sessions the "
      "MRB sends it at most; its status may say fewer)" },
    { "mrb", "status_port", IMS_CFG_INT, "8080", 0, 1, 65535, NULL, NULL,
      "HTTP port of the MRFs' status (GET /api/v1/mrf/status)" },
    { "mrb", "poll_interval_ms", IMS_CFG_INT, "1000", 0, 100, 60000, NULL, NULL,
      "milliseconds between two status requests to each MRF" },
    { "mrb", "status_timeout_ms", IMS_CFG_INT, "1500", 0, 100, 60000, NULL, NULL,
      "an MRF whose status does not come within this is down; also how long an MRF may "
      "stay silent after an INVITE before the next one is tried" },
    { "mrb", "affinity", IMS_CFG_INT, "60", 0, 1, 86400, NULL, NULL,
      "seconds a conference stays with the MRF its first party was sent to, until a status "
      "of that MRF names it" },
    IMS_CFG_END
};

static struct mrb g_mrb = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct ims_netlist g_trusted;

static int read_mrfs(struct mrb *b)
{
    size_t n;
    char **items = ims_cfg_list(b->d->cfg, "mrb.mrfs", &n);
    if (!items)
        return -ENOMEM;
    int rc = 0;
    if (n == 0 || n > MRB_MRFS_MAX) {
        ims_err("%s: mrb.mrfs names %zu MRFs (1 to %d)", ims_cfg_path(b->d->cfg), n,
                MRB_MRFS_MAX);
        rc = -EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char err[200];
        if (mrb_mrf_parse(items[i], &b->mrfs[i], err, sizeof(err)) != 0) {
            ims_err("%s: mrb.mrfs: %s", ims_cfg_path(b->d->cfg), err);
            rc = -EINVAL;
        }
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (strcmp(b->mrfs[j].name, b->mrfs[i].name) == 0) {
                ims_err("%s: mrb.mrfs names %s twice", ims_cfg_path(b->d->cfg),
                        b->mrfs[i].name);
                rc = -EINVAL;
            }
    }
    b->n = rc == 0 ? n : 0;
    ims_strv_free(items);
    return rc;
}

static int read_trusted(struct mrb *b)
{
    size_t n;
    char err[200];
    char **items = ims_cfg_list(b->d->cfg, "sip.trusted_peers", &n);
    int rc = items ? ims_netlist_parse(items, &g_trusted, err, sizeof(err)) : -ENOMEM;
    ims_strv_free(items);
    b->trusted = &g_trusted;
    return rc;
}

static enum ims_health mrfs_health(void *arg, json_t *peers)
{
    struct mrb *b = arg;
    size_t up = 0;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n; i++) {
        char name[160];
        snprintf(name, sizeof(name), "MRF %s: %u of %u sessions", b->mrfs[i].name,
                 b->mrfs[i].sessions, mrb_capacity(&b->mrfs[i]));
        json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", name, "kind", "mrf",
                                               "state", b->mrfs[i].up ? "up" : "down"));
        up += b->mrfs[i].up;
    }
    pthread_mutex_unlock(&b->lock);
    return up == b->n ? IMS_HEALTH_OK : up ? IMS_HEALTH_DEGRADED : IMS_HEALTH_DOWN;
}

static void mrb_stop(struct ims_daemon *d);

static int mrb_init(struct ims_daemon *d)
{
    struct mrb *b = &g_mrb;
    const struct ims_cfg *c = d->cfg;
    b->d = d;
    d->priv = b;
    b->status_port = (unsigned)ims_cfg_int(c, "mrb.status_port");
    b->poll_ms = (unsigned)ims_cfg_int(c, "mrb.poll_interval_ms");
    b->timeout_ms = (unsigned)ims_cfg_int(c, "mrb.status_timeout_ms");
    b->affinity_s = (unsigned)ims_cfg_int(c, "mrb.affinity");
    b->affinity = ims_map_create(false);
    int rc = b->affinity ? read_mrfs(b) : -ENOMEM;
    if (rc == 0)
        rc = read_trusted(b);
    if (rc == 0)
        rc = mrb_query_init(b);
    if (rc) {
        mrb_stop(d);
        return rc;
    }
    mrb_inline_metrics(b);
    b->m_up = ims_gauge_new("mrb_mrfs_up", "MRFs whose status says they run", NULL);
    ims_http_health_add(d->http, mrfs_health, b);
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("mrb: sip.trusted_peers is empty: every INVITE and query will be refused");
    for (size_t i = 0; i < b->n; i++)
        ims_info("mrb: MRF %s, capacity %u", b->mrfs[i].name, b->mrfs[i].capacity);
    return 0;
}

static int mrb_start(struct ims_daemon *d)
{
    return mrb_poll_start(d->priv);
}

static void free_pin(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

static void mrb_stop(struct ims_daemon *d)
{
    struct mrb *b = d->priv;
    if (!b)
        return;
    mrb_poll_stop(b);
    pthread_mutex_lock(&b->lock);
    b->stopping = true;               /* queries get 503; the status stays for /health */
    if (b->affinity) {
        ims_map_foreach(b->affinity, free_pin, NULL);
        ims_map_destroy(b->affinity);
    }
    b->affinity = ims_map_create(false);
    pthread_mutex_unlock(&b->lock);
}

/*
 * The MRB serves the trust domain only (sip.trusted_peers: the ASs and S-CSCFs that use
 * the MRFs): an INVITE from anywhere else is refused 403, so that nobody outside can use
 * the MRFs through it. A request to the MRB itself (OPTIONS) is answered to anybody.
 */
static int mrb_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrb *b = d->priv;
    const url_t *ruri = sip->sip_request->rq_url;
    sip_method_t method = sip->sip_request->rq_method;
    if (method == sip_method_options && !sip->sip_route && ims_sip_is_own(d->sip, ruri) &&
        !ruri->url_user)
        return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (!src.trusted) {
        char why[200];
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        ims_counter_inc(b->m_untrusted);
        snprintf(why, sizeof(why), "%s from %s: not a trusted peer of this MRB",
                 sip->sip_request->rq_method_name, src.key[0] ? src.key : "?");
        ims_log(IMS_LOG_INFO, &ids, "mrb: %s (sip.trusted_peers): refused 403", why);
        return ims_sip_refuse(d->sip, irq, sip, 403, why);
    }
    return mrb_inline(b, irq, sip);
}

static const struct ims_daemon_desc mrb_desc = {
    .name = "mrb",
    .summary = "Media Resource Broker: chooses an MRF by load, in-line (SIP proxy) and by "
               "query (HTTP/JSON)",
    .keys = mrb_keys,
    .flags = IMS_D_SIP,
    .sip_allow = "INVITE, ACK, CANCEL, OPTIONS",
    .init = mrb_init,
    .start = mrb_start,
    .stop = mrb_stop,
    .on_request = mrb_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &mrb_desc);
}
