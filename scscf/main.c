/*
 * scscf - Serving-CSCF: registrar, session control, iFC and ISC; Cx, Ro and Rf client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "charging.h"
#include "ifc.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ims_cfg_key scscf_keys[] = {
    { "scscf", "name", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Server-Name given to the HSS (SIP URI); default sip:<node.name>:<sip.port>" },
    { "scscf", "database", IMS_CFG_PATH, "scscf.db", 0, 0, 0, NULL, NULL,
      "SQLite file of the registrations (relative to node.state_dir)" },
    { "scscf", "db_sync", IMS_CFG_ENUM, "normal", 0, 0, 0, "normal|full", NULL,
      "when a REGISTER's 200 OK may leave: normal: its binding is committed (survives a "
      "crash of the process); full: also synced to disk (survives a power loss)" },
    { "scscf", "realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "realm of the Digest challenges" },
    { "scscf", "hss_realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Destination-Realm of the Cx requests" },
    { "scscf", "default_scheme", IMS_CFG_ENUM, "Unknown", 0, 0, 0,
      "Unknown|SIP Digest|Digest-AKAv1-MD5|Digest-AKAv2-MD5|HTTP_DIGEST_MD5|Digest|"
      "Digest-MD5|Early-IMS-Security|NASS-Bundled", NULL,
      "scheme asked in MAR when the UE names no AKA algorithm (Unknown: the HSS decides by "
      "subscriber; Digest-MD5, the older form, needs this S-CSCF in the HSS's "
      "hss.password_peers)" },
    { "scscf", "min_expires", IMS_CFG_INT, "60", 0, 1, 86400, NULL, NULL,
      "shortest registration accepted (423 Interval Too Brief below)" },
    { "scscf", "max_expires", IMS_CFG_INT, "3600", 0, 60, 604800, NULL, NULL,
      "longest registration granted (longer asks are shortened)" },
    { "scscf", "default_expires", IMS_CFG_INT, "3600", 0, 1, 604800, NULL, NULL,
      "registration time when the REGISTER gives none" },
    { "scscf", "nonce_ttl", IMS_CFG_INT, "60", 0, 5, 3600, NULL, NULL,
      "seconds a challenge may be answered" },
    { "scscf", "retry_after", IMS_CFG_INT, "30", 0, 0, 3600, NULL, NULL,
      "Retry-After (seconds) of a 480 when the HSS cannot answer" },
    { "scscf", "max_contacts", IMS_CFG_INT, "10", 0, 1, 1000, NULL, NULL,
      "bindings per registration set; a REGISTER beyond gets 403, unless its contact has the "
      "+sip.instance of a binding kept (that device's oldest binding is replaced)" },
    { "scscf", "max_challenges", IMS_CFG_INT, "20000", 0, 1, 10000000, NULL, NULL,
      "challenges waiting for an answer, in all; a REGISTER beyond gets 503 with Retry-After" },
    { "scscf", "max_challenges_per_impi", IMS_CFG_INT, "4", 0, 1, 100, NULL, NULL,
      "challenges waiting for an answer per private identity; beyond: 503 with Retry-After" },
    { "scscf", "max_auth_failures", IMS_CFG_INT, "3", 0, 1, 100, NULL, NULL,
      "wrong answers per private identity in auth_failure_window before 403 (a wrong answer "
      "below it gets a new 401 challenge); then no new challenge until the window ends" },
    { "scscf", "auth_failure_window", IMS_CFG_INT, "300", 0, 10, 86400, NULL, NULL,
      "seconds over which failed answers are counted, and the lock-out that follows" },
    { "scscf", "max_subscriptions", IMS_CFG_INT, "32", 0, 1, 1000, NULL, NULL,
      "reg-event subscriptions per registration set; a SUBSCRIBE beyond gets 503 with "
      "Retry-After" },
    { "scscf", "reg_watchers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL,
      ims_cfg_check_sip_uri,
      "application servers (sip:host[:port], compared by host) that may subscribe to the reg "
      "event of any user, besides the ASs of the user's iFCs" },
    { "scscf", "icscf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "where requests to home users go (SIP URI); default sip:icscf.<node.domain>:5060" },
    { "scscf", "bgcf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "where numbers that are no home user go (SIP URI); default "
      "sip:bgcf.<node.domain>:5060" },
    { "scscf", "ibcf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "the exit point to other networks (an IBCF, SIP URI): requests for another domain go "
      "there; empty: straight to the Request-URI's domain" },
    { "scscf", "as_timeout_ms", IMS_CFG_INT, "2000", 0, 100, 60000, NULL, NULL,
      "an application server that sends no response at all in this time is skipped or ends "
      "the request, as its iFC's DefaultHandling says" },
    { "scscf", "timer_c", IMS_CFG_INT, "180", 0, 5, 3600, NULL, NULL,
      "seconds an INVITE may ring without a final response before it is cancelled (408)" },
    { "scscf", "unreg_ttl", IMS_CFG_INT, "600", 0, 10, 86400, NULL, NULL,
      "seconds the profile of an unregistered user (unregistered services) is kept" },
    { "scscf", "shared_ifcs", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "shared iFC sets (SharedIFCSetID), XML, see README (relative to this file's folder)" },
    { "scscf", "enum_table", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "local number table: '+<E.164> sip:uri' per line (relative to this file's folder)" },
    { "scscf", "enum_domain", IMS_CFG_HOST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "ENUM in DNS (NAPTR) under this domain, e.g. e164.arpa; empty: table only" },
    { "scscf", "enum_resolv_conf", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "resolv.conf naming the DNS servers for ENUM; empty: the system's" },
    { "charging", "ocs", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Diameter identity of the OCS for online charging (Ro) of prepaid users (those whose "
      "Charging-Information names an event charging function), or several in order of "
      "preference (\"ocs1, ocs2\": failover, RFC 4006 5.7); empty: no online charging" },
    { "charging", "ocs_realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Destination-Realm of the CCRs" },
    { "charging", "ccfh", IMS_CFG_ENUM, "terminate", 0, 0, 0,
      "terminate|continue|retry_and_terminate", NULL,
      "Credit-Control-Failure-Handling when the OCS does not answer: refuse (or release) the "
      "call, or let it go on uncharged (RFC 4006 5.7); a CCA's own CCFH wins" },
    { "charging", "tx_ms", IMS_CFG_INT, "2000", 0, 100, 30000, NULL, NULL,
      "Tx: milliseconds a CCR may wait for its answer" },
    { "charging", "requested_time", IMS_CFG_INT, "60", 0, 1, 86400, NULL, NULL,
      "seconds of talk asked in each CCR-INITIAL and CCR-UPDATE" },
    IMS_CFG_END
};

static struct scscf g_scscf;

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct scscf *s = (struct scscf *)arg;
    time_t now = time(NULL);
    scscf_registrar_tick(s, now);
    scscf_notify_tick(s, now);
    scscf_store_flush(s);
    scscf_charging_tick(s, now);
}

static int scscf_init(struct ims_daemon *d)
{
    struct scscf *s = &g_scscf;
    const struct ims_cfg *c = d->cfg;
    s->d = d;
    d->priv = s;
    if (ims_cfg_is_set(c, "scscf.name"))
        snprintf(s->name, sizeof(s->name), "%s", ims_cfg_str(c, "scscf.name"));
    else
        snprintf(s->name, sizeof(s->name), "sip:%s:%ld", ims_cfg_str(c, "node.name"),
                 ims_cfg_int(c, "sip.port"));
    snprintf(s->realm, sizeof(s->realm), "%s", ims_cfg_str(c, "scscf.realm"));
    snprintf(s->hss_realm, sizeof(s->hss_realm), "%s", ims_cfg_str(c, "scscf.hss_realm"));
    snprintf(s->default_scheme, sizeof(s->default_scheme), "%s",
             ims_cfg_str(c, "scscf.default_scheme"));
    s->min_expires = (unsigned)ims_cfg_int(c, "scscf.min_expires");
    s->max_expires = (unsigned)ims_cfg_int(c, "scscf.max_expires");
    s->default_expires = (unsigned)ims_cfg_int(c, "scscf.default_expires");
    s->nonce_ttl = (unsigned)ims_cfg_int(c, "scscf.nonce_ttl");
    s->retry_after = (unsigned)ims_cfg_int(c, "scscf.retry_after");
    s->max_contacts = (unsigned)ims_cfg_int(c, "scscf.max_contacts");
    s->max_challenges = (unsigned)ims_cfg_int(c, "scscf.max_challenges");
    s->max_challenges_per_impi = (unsigned)ims_cfg_int(c, "scscf.max_challenges_per_impi");
    s->max_auth_failures = (unsigned)ims_cfg_int(c, "scscf.max_auth_failures");
    s->auth_failure_window = (unsigned)ims_cfg_int(c, "scscf.auth_failure_window");
    s->max_subscriptions = (unsigned)ims_cfg_int(c, "scscf.max_subscriptions");
    size_t nw;
    s->reg_watchers = ims_cfg_list(c, "scscf.reg_watchers", &nw);
    if (!s->reg_watchers || scscf_auth_init(s) != 0) {
        ims_err("scscf: out of memory");
        return -ENOMEM;
    }
    if (s->min_expires > s->max_expires) {
        ims_err("%s: scscf.min_expires is above scscf.max_expires", ims_cfg_path(c));
        return -EINVAL;
    }
    if (ims_cfg_is_set(c, "scscf.shared_ifcs") && *ims_cfg_str(c, "scscf.shared_ifcs")) {
        char err[256], file[512];
        ims_daemon_conf_path(d, ims_cfg_str(c, "scscf.shared_ifcs"), file, sizeof(file));
        s->shared_ifcs = scscf_ifc_shared_load(file, err, sizeof(err));
        if (!s->shared_ifcs) {
            ims_err("%s: scscf.shared_ifcs: %s: %s", ims_cfg_path(c), file, err);
            return -EINVAL;
        }
        ims_info("scscf: %d shared iFC sets from %s", scscf_ifc_shared_count(s->shared_ifcs),
                 file);
    }
    snprintf(s->service_route, sizeof(s->service_route), "<" URL_PRINT_FORMAT ";orig>",
             URL_PRINT_ARGS(ims_sip_own_uri(d->sip)));
    char path[512];
    ims_daemon_state_path(d, ims_cfg_str(c, "scscf.database"), path, sizeof(path));
    bool full = strcmp(ims_cfg_str(c, "scscf.db_sync"), "full") == 0;
    int rc = scscf_store_init(s, path, full);
    if (rc) {
        scscf_ifc_shared_free(s->shared_ifcs);
        s->shared_ifcs = NULL;
        return rc;
    }
    const char *domain = ims_cfg_str(c, "node.domain");
    if (ims_cfg_is_set(c, "scscf.icscf"))
        snprintf(s->icscf, sizeof(s->icscf), "%s", ims_cfg_str(c, "scscf.icscf"));
    else
        snprintf(s->icscf, sizeof(s->icscf), "sip:icscf.%s:5060", domain);
    if (ims_cfg_is_set(c, "scscf.bgcf"))
        snprintf(s->bgcf, sizeof(s->bgcf), "%s", ims_cfg_str(c, "scscf.bgcf"));
    else
        snprintf(s->bgcf, sizeof(s->bgcf), "sip:bgcf.%s:5060", domain);
    snprintf(s->ibcf, sizeof(s->ibcf), "%s", ims_cfg_str(c, "scscf.ibcf"));
    su_home_t home[1] = { SU_HOME_INIT(home) };
    const char *bad = !url_make(home, s->icscf) ? "scscf.icscf"
                      : !url_make(home, s->bgcf) ? "scscf.bgcf"
                      : s->ibcf[0] && !url_make(home, s->ibcf) ? "scscf.ibcf" : NULL;
    su_home_deinit(home);
    if (bad) {
        ims_err("%s: %s: not a SIP URI", ims_cfg_path(c), bad);
        return -EINVAL;
    }
    s->as_timeout_ms = (unsigned)ims_cfg_int(c, "scscf.as_timeout_ms");
    s->timer_c_ms = (unsigned)ims_cfg_int(c, "scscf.timer_c") * 1000u;
    s->unreg_ttl = (unsigned)ims_cfg_int(c, "scscf.unreg_ttl");
    char table[512] = "";
    if (*ims_cfg_str(c, "scscf.enum_table"))
        ims_daemon_conf_path(d, ims_cfg_str(c, "scscf.enum_table"), table, sizeof(table));
    rc = scscf_session_init(s);
    if (rc == 0)
        rc = scscf_thirdparty_init(s);
    if (rc == 0)
        rc = scscf_charging_init(s);
    if (rc == 0)
        rc = scscf_enum_init(s, table, ims_cfg_str(c, "scscf.enum_domain"),
                             ims_cfg_str(c, "scscf.enum_resolv_conf"));
    if (rc)
        return rc;
    scscf_registrar_metrics();
    ims_info("scscf: Server-Name %s, Service-Route %s", s->name, s->service_route);
    return scscf_cx_init(s);
}

static struct ims_counter *m_untrusted;   /* scscf_untrusted_refused_total */

/*
 * The bounds decided before a request's transaction (an ims_sip_early_refusal_fn, @arg the
 * scscf): pending challenges for a REGISTER, reg-event subscriptions for a SUBSCRIBE, so
 * that a flood of them is refused statelessly; and the HSS's overload report (RFC 7683) on
 * the MAR or SAR a REGISTER needs, or the SAR of another request for an unregistered user.
 * Only for the trust domain: anybody else gets 403 from scscf_request() first. The same
 * dispatch as scscf_request().
 */
static bool early_refusal(void *arg, const sip_t *req, const struct ims_sip_source *src,
                          struct ims_sip_refusal *out)
{
    struct scscf *s = arg;
    if (!src->trusted)
        return false;
    if (req->sip_request->rq_method == sip_method_register)
        return scscf_register_early(s, req, out);
    if (req->sip_request->rq_method == sip_method_subscribe && scscf_is_reg_subscribe(s, req))
        return scscf_subscribe_early(s, req, src, out);
    return scscf_session_early(s, req, out);
}

static int scscf_start(struct ims_daemon *d)
{
    struct scscf *s = d->priv;
    m_untrusted = ims_counter_new("scscf_untrusted_refused_total", "requests refused because "
                                  "their source is not in sip.trusted_peers", NULL);
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("scscf: sip.trusted_peers is empty: every request from another address "
                 "than this node's is refused (403)");
    /* every second, for ever: su_timer_set_interval would fire once (the tick then never
     * came again: no expiry, no retry of the store, no Ro timers after the first second) */
    s->tick = su_timer_create(su_root_task(ims_loop_root(d->loop)), 1000);
    if (!s->tick || su_timer_set_for_ever(s->tick, on_tick, (su_timer_arg_t *)s) < 0)
        return -ENOMEM;
    int rc = scscf_store_start(s);
    if (rc == 0)
        ims_sip_set_early_refusal(d->sip, early_refusal, s);
    return rc;
}

static void scscf_stop(struct ims_daemon *d)
{
    struct scscf *s = d->priv;
    if (!s)
        return;
    ims_sip_set_early_refusal(d->sip, NULL, NULL);
    if (s->tick)
        su_timer_destroy(s->tick);
    s->tick = NULL;
    scscf_store_fini(s);          /* the bindings are saved before anything else stops */
    scscf_charging_stop(s);       /* stops Diameter too */
    scscf_auth_fini(s);
    ims_strv_free(s->reg_watchers);
    s->reg_watchers = NULL;
    scscf_enum_fini(s);
    scscf_thirdparty_fini();
    scscf_session_fini(s);
    scscf_ifc_shared_free(s->shared_ifcs);
    s->shared_ifcs = NULL;
}

/*
 * The S-CSCF serves the requests of the trust domain only: the P-CSCFs, I-CSCFs,
 * application servers and gateways listed in sip.trusted_peers. Anything else (a UE that
 * bypasses its P-CSCF, another network that bypasses the I-CSCF) is refused with 403, so
 * that no identity it asserts and no Route it chose (";orig") is ever believed. A request
 * to the node itself (no Route; not REGISTER) is answered to anybody as it would be (OPTIONS
 * 200, others 501): it goes nowhere.
 */
static int refuse_untrusted(struct scscf *s, nta_incoming_t *irq, const sip_t *sip,
                            const struct ims_sip_source *src)
{
    ims_counter_inc(m_untrusted);
    const char *method = sip->sip_request->rq_method_name;
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s from %s refused 403: not a trusted peer "
            "(sip.trusted_peers)", method, src->key[0] ? src->key : "an unknown source");
    char why[200];
    snprintf(why, sizeof(why), "%s from %s: not a trusted peer of this S-CSCF", method,
             src->key[0] ? src->key : "?");
    return ims_sip_refuse(s->d->sip, irq, sip, 403, why);
}

static int scscf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct scscf *s = d->priv;
    /* a refresh or unsubscribe of a reg-event subscription: its dialog took it from any
     * source while it had an nta leg of its own */
    int st = scscf_notify_request(s, irq, sip);
    if (st != -ENOENT)
        return st;
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (!src.trusted) {
        /* a request for the node itself goes nowhere: answered as for anybody (OPTIONS 200,
         * others 501) */
        if (!sip->sip_route && ims_sip_is_own(d->sip, sip->sip_request->rq_url) &&
            sip->sip_request->rq_method != sip_method_register)
            return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
        return refuse_untrusted(s, irq, sip, &src);
    }
    switch (sip->sip_request->rq_method) {
    case sip_method_register:
        return scscf_register(s, irq, sip);
    case sip_method_subscribe:
        if (scscf_is_reg_subscribe(s, sip))
            return scscf_subscribe(s, irq, sip);
        return scscf_session(s, irq, sip);
    default:
        return scscf_session(s, irq, sip);
    }
}

static const struct ims_daemon_desc scscf_desc = {
    .name = "scscf",
    .summary = "Serving-CSCF: registrar, session control, iFC and ISC; Cx, Ro and Rf client",
    .keys = scscf_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "REGISTER, INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, SUBSCRIBE, "
                 "NOTIFY, REFER, INFO, PUBLISH, OPTIONS",
    .init = scscf_init,
    .start = scscf_start,
    .stop = scscf_stop,
    .on_request = scscf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &scscf_desc);
}
