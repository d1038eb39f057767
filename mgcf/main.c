/*
 * mgcf - Media Gateway Control Function: SIP <-> ISUP call control (TS 29.163, Q.1912.5),
 * H.248 towards the MGW; Rf client
 *
 * Calls from the IMS (the BGCF routes tel:+1999... here) go out as ISUP calls on a circuit
 * of a trunk; calls from the PSTN come in as INVITEs to the I-CSCF. The circuit's TDM side
 * and the IMS side's RTP meet in a context of the MGW. SIP is taken only from
 * sip.trusted_peers, ISUP only from the configured signalling peer, H.248 only from the
 * configured MGW.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "charging.h"
#include "log.h"
#include "metrics.h"
#include "m3ua.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS"

/* "address:port" (IPv4) */
static int check_addr_port(const char *value, char *err, size_t errlen)
{
    char addr[64];
    unsigned port;
    struct in_addr a;
    char tail;
    if (sscanf(value, "%63[^:]:%u%c", addr, &port, &tail) != 2 || port == 0 || port > 65535 ||
        inet_pton(AF_INET, addr, &a) != 1) {
        snprintf(err, errlen, "'%s' is not IPv4-address:port", value);
        return -1;
    }
    return 0;
}

static int check_digits(const char *value, char *err, size_t errlen)
{
    size_t n = strlen(value);
    if (n == 0 || n > 3 || strspn(value, "0123456789") != n || value[0] == '0') {
        snprintf(err, errlen, "'%s' is not a country code (1 to 3 digits)", value);
        return -1;
    }
    return 0;
}

/* one item of mgcf.sip_i_peers: an address or address/prefix */
static int check_net(const char *value, char *err, size_t errlen)
{
    struct ims_net n;
    if (ims_net_parse(value, &n) != 0) {
        snprintf(err, errlen, "'%s' is not an IP address or address/prefix", value);
        return -1;
    }
    return 0;
}

static const struct ims_cfg_key mgcf_keys[] = {
    { "mgcf", "isup_peer", IMS_CFG_STR, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, check_addr_port,
      "the PSTN's signalling gateway (M3UA SGP): address:port (M3UA over TCP, port 2905)" },
    { "mgcf", "isup_transport", IMS_CFG_ENUM, "tcp", 0, 0, 0, "tcp|sctp", NULL,
      "transport of M3UA: tcp (RFC 4666 1.3.1) or sctp (PPID 3; DATA on stream 1, the rest "
      "on 0); sctp on a kernel without it is refused at start" },
    { "mgcf", "opc", IMS_CFG_INT, NULL, IMS_CFG_REQUIRED, 0, 16777215, NULL, NULL,
      "this MGCF's signalling point code" },
    { "mgcf", "ni", IMS_CFG_ENUM, "national", 0, 0, 0, "international|national", NULL,
      "network indicator of the routing label" },
    { "mgcf", "routing_context", IMS_CFG_INT, "1", 0, 0, 2147483647, NULL, NULL,
      "M3UA routing context of the association (0: none sent)" },
    { "mgcf", "m3ua_ack_ms", IMS_CFG_INT, "2000", 0, 100, 60000, NULL, NULL,
      "ASPUP and ASPAC sent again after this when not acknowledged (5 tries)" },
    { "mgcf", "m3ua_beat_ms", IMS_CFG_INT, "30000", 0, 0, 600000, NULL, NULL,
      "M3UA heartbeat interval once active; a BEAT unanswered by the next one drops the "
      "association (0: no heartbeat)" },
    { "mgcf", "m3ua_reconnect_ms", IMS_CFG_INT, "2000", 0, 100, 600000, NULL, NULL,
      "wait before connecting again after the association was lost or refused" },
    { "mgcf", "trunks", IMS_CFG_LIST, NULL, IMS_CFG_REQUIRED, 0, 0, NULL,
      mgcf_trunk_check_item,
      "circuit groups, comma separated: '<name> dpc=<point code> cics=<first>-<last> "
      "[prefix=+<digits>]...' (a call goes out on the trunk with the longest matching "
      "prefix; a trunk without prefix takes any number)" },
    { "mgcf", "t7_ms", IMS_CFG_INT, "20000", 0, 100, 600000, NULL, NULL,
      "Q.764 T7: an IAM without ACM in this time is released (cause 102, SIP 504)" },
    { "mgcf", "t9_ms", IMS_CFG_INT, "90000", 0, 100, 600000, NULL, NULL,
      "Q.764 T9: an alerted call not answered in this time is released (cause 19, SIP 480)" },
    { "mgcf", "t1_ms", IMS_CFG_INT, "15000", 0, 100, 600000, NULL, NULL,
      "Q.764 T1: a REL without RLC is sent again after this" },
    { "mgcf", "t5_ms", IMS_CFG_INT, "300000", 0, 100, 3600000, NULL, NULL,
      "Q.764 T5: a REL still without RLC after this resets the circuit (RSC)" },
    { "mgcf", "t6_ms", IMS_CFG_INT, "120000", 0, 1000, 3600000, NULL, NULL,
      "Q.764 T6: an answered call suspended by the network (SUS) and not resumed (RES) in "
      "this time is released (cause 102); also for a SUS (network initiated) from a SIP-I "
      "peer in an INFO" },
    { "mgcf", "t2_ms", IMS_CFG_INT, "180000", 0, 1000, 3600000, NULL, NULL,
      "Q.764 T2: an answered SIP-I call its peer suspended (SUS in an INFO, subscriber "
      "initiated) and did not resume (RES) in this time is released (cause 102)" },
    { "mgcf", "precondition_timeout_ms", IMS_CFG_INT, "10000", 0, 100, 120000, NULL, NULL,
      "preconditions (RFC 3312), IMS -> PSTN: the IAM waits this long at most for the IMS "
      "side to report its resources reserved (an UPDATE); then the INVITE gets 580 and no "
      "IAM goes" },
    { "mgcf", "overlap", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL,
      "calls from the PSTN in overlap signalling (an IAM whose called number is completed by "
      "SAMs) are collected into one INVITE (en bloc, TS 29.163); no: every IAM's number is "
      "complete as received" },
    { "mgcf", "overlap_min_digits", IMS_CFG_INT, "7", 0, 1, 15, NULL, NULL,
      "overlap: a called number of fewer digits waits for SAMs under T35; from this many on, "
      "under the shorter digit timer" },
    { "mgcf", "overlap_max_digits", IMS_CFG_INT, "15", 0, 1, 15, NULL, NULL,
      "overlap: a called number of this many digits is complete (15: E.164's longest); at "
      "least overlap_min_digits" },
    { "mgcf", "t35_ms", IMS_CFG_INT, "15000", 0, 1000, 60000, NULL, NULL,
      "Q.764 T35 (15 to 20 s there): overlap, a called number shorter than "
      "overlap_min_digits and no SAM in this time is released (cause 28, address incomplete)" },
    { "mgcf", "overlap_digit_ms", IMS_CFG_INT, "4000", 0, 100, 60000, NULL, NULL,
      "overlap: a called number of overlap_min_digits or more and no SAM in this time goes "
      "to the IMS as it is; shorter than t35_ms" },
    { "mgcf", "t_maint_ms", IMS_CFG_INT, "15000", 0, 100, 600000, NULL, NULL,
      "Q.764 T16, T22, T12, T14: RSC, GRS, BLO and UBL not acknowledged are sent again after "
      "this" },
    { "mgcf", "mgw", IMS_CFG_STR, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, check_addr_port,
      "the media gateway: address:port of its H.248 (text, UDP, port 2944); H.248 from any "
      "other address is dropped" },
    { "mgcf", "h248_port", IMS_CFG_INT, "2944", 0, 1, 65535, NULL, NULL,
      "our H.248 port (UDP, on node.address)" },
    { "mgcf", "h248_retrans_ms", IMS_CFG_INT, "500", 0, 10, 10000, NULL, NULL,
      "an H.248 request without reply is sent again after this, then after twice as long "
      "(up to 4 s)" },
    { "mgcf", "h248_timeout_ms", IMS_CFG_INT, "5000", 0, 100, 120000, NULL, NULL,
      "an H.248 request without reply or Pending fails after this" },
    { "mgcf", "h248_pending_ms", IMS_CFG_INT, "30000", 0, 100, 600000, NULL, NULL,
      "an H.248 request answered Pending fails when its reply has not come after this" },
    { "mgcf", "mgw_audit_ms", IMS_CFG_INT, "30000", 0, 0, 3600000, NULL, NULL,
      "the MGW's ROOT is audited this often; no reply: the MGW is lost and its calls are "
      "released (0: no audit once in service; it is searched for every 2 s until then)" },
    { "mgcf", "icscf", IMS_CFG_STR, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, ims_cfg_check_sip_uri,
      "where calls from the PSTN go: the I-CSCF's SIP URI" },
    { "mgcf", "country_code", IMS_CFG_STR, "1", 0, 0, 0, NULL, check_digits,
      "the PSTN's country code: a national number N of an IAM becomes tel:+<code>N" },
    { "mgcf", "max_calls", IMS_CFG_INT, "1000", 0, 1, 100000, NULL, NULL,
      "calls at most; beyond, INVITEs get 503 and IAMs a REL (cause 42)" },
    { "mgcf", "sip_i_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, check_net,
      "SIP-I (ITU-T Q.1912.5 profile C): the SIP peers (addresses or address/prefix, comma "
      "separated) that get the ISUP message in an application/ISUP body part and whose "
      "own is used; the I-CSCF's address makes calls from the PSTN SIP-I (empty: none)" },
    { "mgcf", "sip_i_handling", IMS_CFG_ENUM, "optional", 0, 0, 0, "optional|required", NULL,
      "Content-Disposition handling of the ISUP part we send (RFC 3204)" },
    { "mgcf", "api_token", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL,
      NULL, "bearer token of the circuit maintenance API (/api/v1/circuits); empty refuses "
      "every API request" },
    IMS_CFG_END
};

static struct mgcf g_mgcf;
static struct ims_counter *m_untrusted;

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    mgcf_charging_tick((struct mgcf *)arg);
}

static void split_addr(const char *value, char *addr, size_t len, unsigned *port)
{
    char a[64];
    if (sscanf(value, "%63[^:]:%u", a, port) == 2)
        snprintf(addr, len, "%s", a);
}

static void read_conf(struct mgcf *m, const struct ims_cfg *c)
{
    struct mgcf_conf *f = &m->conf;
    split_addr(ims_cfg_str(c, "mgcf.isup_peer"), f->isup_addr, sizeof(f->isup_addr),
               &f->isup_port);
    snprintf(f->isup_transport, sizeof(f->isup_transport), "%s",
             ims_cfg_str(c, "mgcf.isup_transport"));
    split_addr(ims_cfg_str(c, "mgcf.mgw"), f->mgw_addr, sizeof(f->mgw_addr), &f->mgw_port);
    f->opc = (uint32_t)ims_cfg_int(c, "mgcf.opc");
    f->ni = strcmp(ims_cfg_str(c, "mgcf.ni"), "national") == 0 ? M3UA_NI_NATIONAL
                                                                : M3UA_NI_INTERNATIONAL;
    f->rc = (uint32_t)ims_cfg_int(c, "mgcf.routing_context");
    f->m3ua_ack_ms = (unsigned)ims_cfg_int(c, "mgcf.m3ua_ack_ms");
    f->m3ua_beat_ms = (unsigned)ims_cfg_int(c, "mgcf.m3ua_beat_ms");
    f->m3ua_reconnect_ms = (unsigned)ims_cfg_int(c, "mgcf.m3ua_reconnect_ms");
    f->timer_ms[MGCF_T7] = (unsigned)ims_cfg_int(c, "mgcf.t7_ms");
    f->timer_ms[MGCF_T9] = (unsigned)ims_cfg_int(c, "mgcf.t9_ms");
    f->timer_ms[MGCF_T1] = (unsigned)ims_cfg_int(c, "mgcf.t1_ms");
    f->timer_ms[MGCF_T5] = (unsigned)ims_cfg_int(c, "mgcf.t5_ms");
    f->timer_ms[MGCF_T6] = (unsigned)ims_cfg_int(c, "mgcf.t6_ms");
    f->timer_ms[MGCF_T6_SIPI] = f->timer_ms[MGCF_T6];
    f->timer_ms[MGCF_T2] = (unsigned)ims_cfg_int(c, "mgcf.t2_ms");
    f->timer_ms[MGCF_T35] = (unsigned)ims_cfg_int(c, "mgcf.t35_ms");
    f->timer_ms[MGCF_TDIGITS] = (unsigned)ims_cfg_int(c, "mgcf.overlap_digit_ms");
    f->timer_ms[MGCF_TPRECOND] = (unsigned)ims_cfg_int(c, "mgcf.precondition_timeout_ms");
    f->overlap.enabled = ims_cfg_bool(c, "mgcf.overlap");
    f->overlap.min_digits = (unsigned)ims_cfg_int(c, "mgcf.overlap_min_digits");
    f->overlap.max_digits = (unsigned)ims_cfg_int(c, "mgcf.overlap_max_digits");
    f->t_maint_ms = (unsigned)ims_cfg_int(c, "mgcf.t_maint_ms");
    f->h248_port = (unsigned)ims_cfg_int(c, "mgcf.h248_port");
    f->h248_retrans_ms = (unsigned)ims_cfg_int(c, "mgcf.h248_retrans_ms");
    f->h248_timeout_ms = (unsigned)ims_cfg_int(c, "mgcf.h248_timeout_ms");
    f->h248_pending_ms = (unsigned)ims_cfg_int(c, "mgcf.h248_pending_ms");
    f->mgw_audit_ms = (unsigned)ims_cfg_int(c, "mgcf.mgw_audit_ms");
    snprintf(f->icscf, sizeof(f->icscf), "%s", ims_cfg_str(c, "mgcf.icscf"));
    snprintf(f->country_code, sizeof(f->country_code), "%s", ims_cfg_str(c, "mgcf.country_code"));
    f->max_calls = (unsigned)ims_cfg_int(c, "mgcf.max_calls");
    snprintf(f->api_token, sizeof(f->api_token), "%s", ims_cfg_str(c, "mgcf.api_token"));
    f->sip_i_required = strcmp(ims_cfg_str(c, "mgcf.sip_i_handling"), "required") == 0;
    m->iw.country_code = f->country_code;
}

/* The overlap keys together: the bounds in order, the digit timer shorter than T35 */
static int check_overlap(const struct mgcf *m)
{
    const struct mgcf_conf *f = &m->conf;
    if (f->overlap.min_digits > f->overlap.max_digits) {
        ims_err("%s: mgcf.overlap_min_digits (%u) is more than mgcf.overlap_max_digits (%u)",
                ims_cfg_path(m->d->cfg), f->overlap.min_digits, f->overlap.max_digits);
        return -EINVAL;
    }
    if (f->timer_ms[MGCF_TDIGITS] >= f->timer_ms[MGCF_T35]) {
        ims_err("%s: mgcf.overlap_digit_ms (%u) must be shorter than mgcf.t35_ms (%u)",
                ims_cfg_path(m->d->cfg), f->timer_ms[MGCF_TDIGITS], f->timer_ms[MGCF_T35]);
        return -EINVAL;
    }
    if (f->overlap.enabled)
        ims_info("mgcf: overlap signalling from the PSTN: %u to %u digits, T35 %u ms, digit "
                 "timer %u ms", f->overlap.min_digits, f->overlap.max_digits,
                 f->timer_ms[MGCF_T35], f->timer_ms[MGCF_TDIGITS]);
    return 0;
}

/* mgcf.sip_i_peers; is the I-CSCF one of them? */
static int read_sip_i(struct mgcf *m)
{
    char err[200];
    size_t n;
    char **items = ims_cfg_list(m->d->cfg, "mgcf.sip_i_peers", &n);
    if (!items)
        return -ENOMEM;
    int rc = ims_netlist_parse(items, &m->conf.sip_i_peers, err, sizeof(err));
    ims_strv_free(items);
    if (rc) {
        ims_err("%s: mgcf.sip_i_peers: %s", ims_cfg_path(m->d->cfg), err);
        return rc;
    }
    struct sockaddr_in sin = { .sin_family = AF_INET };
    const char *host = m->icscf_url ? m->icscf_url->url_host : NULL;
    m->icscf_sip_i = host && inet_pton(AF_INET, host, &sin.sin_addr) == 1 &&
                     ims_netlist_match(&m->conf.sip_i_peers, (struct sockaddr *)&sin);
    if (n)
        ims_info("mgcf: SIP-I (application/ISUP, handling=%s) with %zu peer network(s)%s",
                 m->conf.sip_i_required ? "required" : "optional", n,
                 m->icscf_sip_i ? ", the I-CSCF among them" : "");
    return 0;
}

/* mgcf.trunks; a CIC in two trunks towards one point code is refused */
static int read_trunks(struct mgcf *m)
{
    size_t n;
    char err[300];
    char **items = ims_cfg_list(m->d->cfg, "mgcf.trunks", &n);
    if (!items)
        return -ENOMEM;
    m->trunks = calloc(n ? n : 1, sizeof(*m->trunks));
    int rc = m->trunks ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct mgcf_trunk *t = &m->trunks[i];
        rc = mgcf_trunk_parse(items[i], t, err, sizeof(err));
        if (rc) {
            ims_err("%s: mgcf.trunks: %s", ims_cfg_path(m->d->cfg), err);
            break;
        }
        m->n_trunks++;
        for (size_t k = 0; k < i; k++) {
            if (m->trunks[k].dpc == t->dpc) {
                ims_err("%s: mgcf.trunks: trunks %s and %s go to the same point code %u: one "
                        "trunk per exchange", ims_cfg_path(m->d->cfg), m->trunks[k].name,
                        t->name, t->dpc);
                rc = -EINVAL;
            } else if (strcmp(m->trunks[k].name, t->name) == 0) {
                ims_err("%s: mgcf.trunks: two trunks named %s", ims_cfg_path(m->d->cfg),
                        t->name);
                rc = -EINVAL;
            }
        }
        if (rc == 0 && t->dpc == m->conf.opc) {
            ims_err("%s: mgcf.trunks: trunk %s goes to our own point code %u",
                    ims_cfg_path(m->d->cfg), t->name, t->dpc);
            rc = -EINVAL;
        }
    }
    ims_strv_free(items);
    return rc;
}

static int set_up_sip(struct mgcf *m)
{
    /* a user agent: 2xx retransmitted until the ACK, the ACK and CANCEL given to the
     * INVITE's transaction (sip.c) */
    if (nta_agent_set_params(ims_sip_agent(m->d->sip), NTATAG_UA(1), TAG_END()) < 1) {
        ims_err("mgcf: cannot put the SIP stack in user agent mode");
        return -EINVAL;
    }
    url_t *u = url_make(m->home, m->conf.icscf);
    if (!u) {
        ims_err("%s: mgcf.icscf: '%s' is not a SIP URI", ims_cfg_path(m->d->cfg), m->conf.icscf);
        return -EINVAL;
    }
    url_t *r = ims_sip_resolve(m->d->sip, m->home, u);
    m->icscf_url = r ? r : u;
    return 0;
}

static void mgcf_stop(struct ims_daemon *d);

static int mgcf_init(struct ims_daemon *d)
{
    struct mgcf *m = &g_mgcf;
    m->d = d;
    d->priv = m;
    su_home_init(m->home);
    read_conf(m, d->cfg);
    int rc = check_overlap(m);
    if (rc == 0)
        rc = read_trunks(m);
    if (rc == 0)
        rc = set_up_sip(m);
    if (rc == 0)
        rc = read_sip_i(m);
    if (rc == 0)
        rc = mgcf_charging_init(m);
    if (rc == 0)
        rc = mgcf_api_init(m);
    if (rc) {
        mgcf_stop(d);              /* the daemon calls it only after a good start */
        return rc;
    }
    ims_http_health_add(d->http, mgcf_isup_health, m);
    ims_http_health_add(d->http, mgcf_mgw_health, m);
    mgcf_calls_metrics();
    mgcf_sip_metrics();
    m_untrusted = ims_counter_new("mgcf_untrusted_refused_total", "requests refused because "
                                  "their source is not in sip.trusted_peers", NULL);
    if (!m->conf.api_token[0])
        ims_warn("mgcf: mgcf.api_token is empty: the circuit API refuses every request");
    return 0;
}

static int mgcf_start(struct ims_daemon *d)
{
    struct mgcf *m = d->priv;
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("mgcf: sip.trusted_peers is empty: every INVITE from another address than "
                 "this node's is refused (403)");
    int rc = mgcf_mgw_start(m);
    if (rc == 0)
        rc = mgcf_isup_start(m);
    if (rc)
        return rc;
    m->tick = su_timer_create(su_root_task(mgcf_root(m)), 1000);
    /* every second for ever (su_timer_set_interval would fire once) */
    if (!m->tick || su_timer_set_for_ever(m->tick, on_tick, (su_timer_arg_t *)m) < 0)
        return -ENOMEM;
    return 0;
}

static void mgcf_stop(struct ims_daemon *d)
{
    struct mgcf *m = d->priv;
    if (!m)
        return;
    m->stopping = true;
    if (m->tick)
        su_timer_destroy(m->tick);
    m->tick = NULL;
    mgcf_calls_drop(m);
    mgcf_isup_stop(m);
    mgcf_mgw_stop(m);
    mgcf_charging_stop(m);
    for (size_t i = 0; i < m->n_trunks; i++)
        mgcf_trunk_free(&m->trunks[i]);
    free(m->trunks);
    m->trunks = NULL;
    m->n_trunks = 0;
    ims_netlist_clear(&m->conf.sip_i_peers);
    su_home_deinit(m->home);
}

/*
 * SIP outside a dialog: an INVITE from the trust domain (sip.trusted_peers: the BGCFs and
 * CSCFs) starts a call to the PSTN; from anybody else it is refused with 403 (a call to the
 * PSTN costs money). OPTIONS to the node itself is answered to anybody; a request that
 * belongs to a dialog we do not have gets 481, other methods 405.
 */
static int mgcf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct mgcf *m = d->priv;
    sip_method_t method = sip->sip_request->rq_method;
    if (method == sip_method_options || method == sip_method_ack)
        return ims_sip_reply_unhandled(d->sip, irq, sip, ALLOW);
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (!src.trusted) {
        char why[200];
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        ims_counter_inc(m_untrusted);
        snprintf(why, sizeof(why), "%s from %s: not a trusted peer of this MGCF",
                 sip->sip_request->rq_method_name, src.key[0] ? src.key : "?");
        ims_log(IMS_LOG_INFO, &ids, "mgcf: %s (sip.trusted_peers): refused 403", why);
        return ims_sip_refuse(d->sip, irq, sip, 403, why);
    }
    if (method == sip_method_invite && !(sip->sip_to && sip->sip_to->a_tag))
        return mgcf_sip_invite(m, irq, sip);
    if (sip->sip_to && sip->sip_to->a_tag)
        return ims_sip_refuse(d->sip, irq, sip, 481, "no such dialog here");
    nta_incoming_treply(irq, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR(ALLOW), TAG_END());
    nta_incoming_destroy(irq);
    return 0;
}

static const struct ims_daemon_desc mgcf_desc = {
    .name = "mgcf",
    .summary = "Media Gateway Control Function: SIP <-> ISUP call control, H.248 towards the "
               "MGW; Rf client",
    .keys = mgcf_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = ALLOW,
    .init = mgcf_init,
    .start = mgcf_start,
    .stop = mgcf_stop,
    .on_request = mgcf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &mgcf_desc);
}
