/*
 * ibcf - Interconnection Border Control Function: the home network's border with the
 * networks of ibcf.peers, with topology hiding (THIG) and the trust domain per peer
 *
 * Who sent a request decides its direction, by its transport source only: one of a peer's
 * networks (net= of ibcf.peers) -> inbound; the home network's nodes (sip.trusted_peers)
 * -> outbound; anybody else -> 403.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"
#include "charging.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

static int check_key(const char *value, char *err, size_t errlen)
{
    size_t n = strlen(value);
    bool hex = n == 2 * IBCF_KEY_LEN;
    for (size_t i = 0; hex && i < n; i++)
        hex = isxdigit((unsigned char)value[i]) != 0;
    if (n && !hex) {
        snprintf(err, errlen, "%d hexadecimal digits (an AES-256 key), or empty for a key "
                 "made at start", 2 * IBCF_KEY_LEN);
        return -EINVAL;
    }
    return 0;
}

static const struct ims_cfg_key ibcf_keys[] = {
    { "ibcf", "peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ibcf_check_peer_item,
      "the peer networks, comma separated: '<name> <next-hop SIP URI> net=<address[/prefix]>"
      "... domain=<domain|*.domain>... [prefix=+<digits>]... [trusted=yes|no] "
      "[hiding=yes|no] [roaming=yes|no] [ioi=<id>]' (trusted no, hiding yes, roaming no by "
      "default; ioi: the peer's inter-operator identifier, default its first domain)" },
    { "ibcf", "ioi", IMS_CFG_STR, "@node.domain", 0, 0, 0, NULL, NULL,
      "the home network's inter-operator identifier: orig-ioi of the requests leaving, "
      "term-ioi of the responses leaving (P-Charging-Vector)" },
    { "ibcf", "icscf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ims_cfg_check_sip_uri,
      "where the peers' initial requests go (the I-CSCF); default sip:icscf.<node.domain>:5060" },
    { "ibcf", "key", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL, check_key,
      "the key of the route tokens (64 hexadecimal digits, AES-256); empty: a new key at "
      "every start (the peers' dialogs and registrations through us then end with a restart)" },
    IMS_CFG_END
};

static struct ibcf g_ibcf;

static void ibcf_stop(struct ims_daemon *d);

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    ibcf_charging_tick((struct ibcf *)arg);
}

static int read_key(struct ibcf *b)
{
    const char *hex = ims_cfg_str(b->d->cfg, "ibcf.key");
    if (!*hex) {
        ims_warn("ibcf: ibcf.key is empty: a new key for this run; the route tokens the peers "
                 "hold (dialogs, registrations) do not survive a restart");
        return RAND_bytes(b->key, IBCF_KEY_LEN) == 1 ? 0 : -EIO;
    }
    for (int i = 0; i < IBCF_KEY_LEN; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        b->key[i] = (uint8_t)v;
    }
    return 0;
}

/* ibcf.peers, checked as a whole against each other and the home network's nodes */
static int read_peers(struct ibcf *b)
{
    const struct ims_cfg *cfg = b->d->cfg;
    size_t n, nh;
    char err[400];
    char **items = ims_cfg_list(cfg, "ibcf.peers", &n);
    char **home_items = ims_cfg_list(cfg, "sip.trusted_peers", &nh);
    struct ims_netlist home = { 0 };
    int rc = items && home_items ? 0 : -ENOMEM;
    if (!rc && n > IBCF_MAX_PEERS) {
        ims_err("%s: ibcf.peers: more than %d peers", ims_cfg_path(cfg), IBCF_MAX_PEERS);
        rc = -EINVAL;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (ibcf_peer_parse(items[i], &b->peers[b->npeers], err, sizeof(err)) != 0) {
            ims_err("%s: ibcf.peers: %s", ims_cfg_path(cfg), err);
            rc = -EINVAL;
        } else {
            b->npeers++;
        }
    }
    if (!rc && ims_netlist_parse(home_items, &home, err, sizeof(err)) != 0)
        rc = -EINVAL;
    if (!rc && ibcf_peers_check(b->peers, b->npeers, &home, err, sizeof(err)) != 0) {
        ims_err("%s: ibcf.peers: %s", ims_cfg_path(cfg), err);
        rc = -EINVAL;
    }
    ims_netlist_clear(&home);
    ims_strv_free(home_items);
    ims_strv_free(items);
    return rc;
}

static void log_peers(const struct ibcf *b)
{
    if (!b->npeers)
        ims_warn("ibcf: ibcf.peers is empty: every request is refused (no network to talk to)");
    for (size_t i = 0; i < b->npeers; i++) {
        const struct ibcf_peer *p = &b->peers[i];
        ims_info("ibcf: peer network %s at %s (IOI %s): %s, topology hiding %s%s", p->name,
                 p->next_hop, p->ioi,
                 p->trusted ? "trusted (its asserted identities are kept)"
                            : "untrusted (its asserted identities are removed)",
                 p->hiding ? "on" : "off", p->roaming ? ", roaming partner" : "");
    }
}

static int ibcf_init(struct ims_daemon *d)
{
    struct ibcf *b = &g_ibcf;
    const struct ims_cfg *cfg = d->cfg;
    b->d = d;
    d->priv = b;
    snprintf(b->domain, sizeof(b->domain), "%s", ims_cfg_str(cfg, "node.domain"));
    if (ims_cfg_is_set(cfg, "ibcf.icscf"))
        snprintf(b->icscf, sizeof(b->icscf), "%s", ims_cfg_str(cfg, "ibcf.icscf"));
    else
        snprintf(b->icscf, sizeof(b->icscf), "sip:icscf.%s:5060", b->domain);
    b->port = (unsigned)ims_cfg_int(cfg, "sip.port");
    snprintf(b->ioi, sizeof(b->ioi), "%s", ims_cfg_str(cfg, "ibcf.ioi"));
    int rc = read_key(b);
    if (rc == 0)
        rc = read_peers(b);
    if (rc)
        return rc;
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("ibcf: sip.trusted_peers is empty: no node of the home network can send "
                 "through the IBCF (403)");
    log_peers(b);
    ibcf_border_metrics();
    rc = ibcf_charging_init(b);
    if (rc == 0) {
        b->tick = su_timer_create(su_root_task(ims_loop_root(d->loop)), 1000);
        /* every second, for ever (su_timer_set_interval would fire once) */
        if (!b->tick || su_timer_set_for_ever(b->tick, on_tick, (su_timer_arg_t *)b) < 0)
            rc = -ENOMEM;
    }
    if (rc)
        ibcf_stop(d);             /* the daemon calls it only after a good start */
    return rc;
}

static void ibcf_stop(struct ims_daemon *d)
{
    struct ibcf *b = d->priv;
    if (!b)
        return;
    if (b->tick)
        su_timer_destroy(b->tick);
    b->tick = NULL;
    ibcf_charging_stop(b);
    OPENSSL_cleanse(b->key, sizeof(b->key));
}

/* The peer a source address belongs to, or NULL */
static const struct ibcf_peer *peer_of(const struct ibcf *b, const struct ims_sip_source *src)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, src->ip, &s4->sin_addr) == 1)
        s4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, src->ip, &s6->sin6_addr) == 1)
        s6->sin6_family = AF_INET6;
    else
        return NULL;
    return ibcf_peer_by_source(b->peers, b->npeers, (const struct sockaddr *)&ss);
}

static int ibcf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct ibcf *b = d->priv;
    if (!sip->sip_route && ims_sip_is_own(d->sip, sip->sip_request->rq_url))
        return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    const struct ibcf_peer *peer = peer_of(b, &src);
    if (peer)
        return ibcf_inbound(b, peer, irq, sip);
    if (src.trusted)
        return ibcf_outbound(b, irq, sip);
    char why[200];
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    snprintf(why, sizeof(why), "%s from %s: neither a peer network (ibcf.peers) nor a node "
             "of this network", sip->sip_request->rq_method_name,
             src.key[0] ? src.key : "?");
    ims_log(IMS_LOG_INFO, &ids, "ibcf: %s: refused 403", why);
    return ims_sip_refuse(d->sip, irq, sip, 403, why);
}

static const struct ims_daemon_desc ibcf_desc = {
    .name = "ibcf",
    .summary = "Interconnection Border Control Function: the border with the peer networks, "
               "topology hiding and the trust domain per peer",
    .keys = ibcf_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "REGISTER, INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, SUBSCRIBE, "
                 "NOTIFY, REFER, INFO, PUBLISH, OPTIONS",
    .init = ibcf_init,
    .stop = ibcf_stop,
    .on_request = ibcf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &ibcf_desc);
}
