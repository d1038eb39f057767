/*
 * pcscf - Proxy-CSCF: the UE's first hop into the IMS (TS 24.229, TS 23.228)
 *
 * Configuration, the context, the binding expiry timer and the dispatch of requests:
 * REGISTER to register.c, everything else to originating.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "charging.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

static int check_token_key(const char *value, char *err, size_t errlen)
{
    size_t n = strlen(value);
    if (n == 0 || (n >= 32 && n <= 128 && n % 2 == 0 &&
                   strspn(value, "0123456789abcdefABCDEF") == n))
        return 0;
    snprintf(err, errlen, "must be 32 to 128 hex digits (an even count)");
    return -1;
}

static const struct ims_cfg_key pcscf_keys[] = {
    { "pcscf", "icscf", IMS_CFG_STR, NULL, 0, 0, 0, NULL, ims_cfg_check_sip_uri,
      "SIP URI of the I-CSCF that REGISTER requests go to; a name not in sip.hosts is "
      "resolved by DNS (NAPTR, SRV, then A/AAAA; without a port NAPTR/SRV are used); unset: "
      "sip:<node.domain>, the home network's own DNS records" },
    { "pcscf", "visited_network_id", IMS_CFG_STR, "@node.domain", 0, 0, 0, NULL, NULL,
      "P-Visited-Network-ID added to REGISTER (the network the P-CSCF is in)" },
    { "pcscf", "orig_ioi", IMS_CFG_STR, "@node.domain", 0, 0, 0, NULL, NULL,
      "orig-ioi of the P-Charging-Vector (this operator's inter-operator identifier)" },
    { "pcscf", "max_bindings", IMS_CFG_INT, "10000", 0, 1, 10000000, NULL, NULL,
      "registration bindings kept at most; new registrations get 503 when full" },
    { "pcscf", "max_bindings_per_source", IMS_CFG_INT, "16", 0, 0, 10000000, NULL, NULL,
      "registration bindings from one source IP address (any port) at most; a new "
      "registration beyond gets 503 with Retry-After (0: no bound)" },
    { "pcscf", "reg_subscribe_expires", IMS_CFG_INT, "600000", 0, 0, 4294967295L, NULL,
      NULL, "Expires of the reg-event SUBSCRIBE to the S-CSCF (0: do not subscribe)" },
    { "pcscf", "ecscf", IMS_CFG_STR, NULL, 0, 0, 0, NULL, ims_cfg_check_sip_uri,
      "SIP URI of the E-CSCF for emergency requests (urn:service:sos); unset: they are "
      "answered 380 Alternative Service" },
    { "pcscf", "token_key", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL,
      check_token_key,
      "key (32 to 128 hex digits) of the flow tokens in the Path and the dialog tokens in "
      "the Record-Route; empty: a random key made at start (then dialogs and registrations "
      "made before a restart are not recognised after it); P-CSCFs that share UEs share it" },
    { "pcscf", "ipsec", IMS_CFG_ENUM, "optional", 0, 0, 0, "off|optional|required", NULL,
      "IPsec sec-agree with the UEs (RFC 3329, TS 33.203): off (not supported: a UE that "
      "requires it gets 420), optional (agreed when the P-CSCF can: ESP in the kernel, "
      "CAP_NET_ADMIN; a UE that requires it is refused 420 otherwise, one that only offers "
      "it registers without), required (the start fails when it cannot be done)" },
    { "pcscf", "ipsec_port_c", IMS_CFG_INT, "5062", 0, 1, 65535, NULL, NULL,
      "the protected client port of IPsec sec-agree (port-c of the Security-Server): "
      "requests to UEs with SAs leave from it; bound (UDP and TCP) only when the kernel "
      "has ESP" },
    { "pcscf", "ipsec_port_s", IMS_CFG_INT, "5063", 0, 1, 65535, NULL, NULL,
      "the protected server port of IPsec sec-agree (port-s of the Security-Server): UEs "
      "with SAs send their requests to it; bound (UDP and TCP) only when the kernel has ESP" },
    { "pcscf", "retry_after", IMS_CFG_INT, "60", 0, 0, 3600, NULL, NULL,
      "Retry-After (seconds) of a 503 when the binding table is full, or the source address "
      "has its pcscf.max_bindings_per_source" },
    { "pcscf", "clf_table", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "NASS-bundled authentication: a file of 'network access-type line-identifier' lines "
      "standing in for the CLF; a REGISTER from such a network gets P-Access-Network-Info "
      "with that dsl-location, network-provided (README: NASS-bundled); empty: none" },
    IMS_CFG_END
};

static struct pcscf g_pcscf;

/* A binding goes away: its reg-event subscription with it, and its hold on its IPsec SAs
 * (removed at the next pcscf_sas_flush(): after the 200 of a de-registration has left) */
static void on_binding_removed(void *arg, struct pcscf_binding *b)
{
    (void)arg;
    pcscf_regevent_stop(b);
    if (b->sas)
        pcscf_sas_detach(b->sas);
    b->sas = NULL;
}

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct pcscf *p = (struct pcscf *)arg;
    (void)magic;
    (void)t;
    pcscf_charging_tick(p);
    int n = pcscf_bindings_expire(p->bindings, pcscf_now());
    if (n > 0) {
        ims_info("pcscf: %d binding(s) expired", n);
        pcscf_bindings_changed(p);
    }
    n = pcscf_sas_expire(p->sas, pcscf_now());
    if (n > 0)
        ims_info("pcscf: the IPsec SAs of %d UE(s) removed (registration over or expired)", n);
}

/* The next hop known before a transaction (ims_sip_set_next_hop()): every REGISTER goes
 * to pcscf.icscf (register.c), so one the I-CSCF asks to be spared (RFC 7339) is refused
 * statelessly; the other requests' next hops depend on the UE's registration */
static const url_t *register_next_hop(void *arg, const sip_t *req)
{
    const struct pcscf *p = arg;
    return req->sip_request->rq_method == sip_method_register ? p->icscf : NULL;
}

/* The URIs the P-CSCF uses: I-CSCF, E-CSCF, its Path, its own identity and contact */
static int make_uris(struct pcscf *p)
{
    const struct ims_cfg *cfg = p->d->cfg;
    const char *domain = ims_cfg_str(cfg, "node.domain");
    p->icscf = ims_cfg_is_set(cfg, "pcscf.icscf")
                   ? url_make(p->home, ims_cfg_str(cfg, "pcscf.icscf"))
                   : url_make(p->home, su_sprintf(p->home, "sip:%s", domain));
    p->ecscf = ims_cfg_is_set(cfg, "pcscf.ecscf")
                   ? url_make(p->home, ims_cfg_str(cfg, "pcscf.ecscf"))
                   : NULL;
    p->path = url_hdup(p->home, ims_sip_own_uri(p->d->sip));
    if (!p->icscf || !p->path || (ims_cfg_is_set(cfg, "pcscf.ecscf") && !p->ecscf))
        return -ENOMEM;
    p->path->url_user = "term";
    snprintf(p->self_uri, sizeof(p->self_uri), "sip:%s", ims_cfg_str(cfg, "node.name"));
    url_t id = *p->path;
    id.url_params = NULL;
    snprintf(p->path_id, sizeof(p->path_id), URL_PRINT_FORMAT, URL_PRINT_ARGS(&id));
    const char *a = ims_sip_address(p->d->sip);
    bool v6 = strchr(a, ':') != NULL;
    snprintf(p->contact, sizeof(p->contact), "<sip:%s%s%s:%ld>", v6 ? "[" : "", a,
             v6 ? "]" : "", ims_cfg_int(cfg, "sip.port"));
    return 0;
}

static void pcscf_stop(struct ims_daemon *d);

/* Health source: whether IPsec (sec-agree) can be used, and why not */
static enum ims_health ipsec_health(void *arg, json_t *peers)
{
    struct pcscf *p = arg;
    const char *state = p->ipsec_mode == PCSCF_IPSEC_OFF ? "off (pcscf.ipsec)"
                                                          : pcscf_ipsec_state(p->ipsec);
    json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", "ipsec", "kind",
                                           "sec-agree", "state", state));
    return IMS_HEALTH_OK;
}

/* The kernel's side of sas.c */
static int kernel_sa_add(void *arg, const struct pcscf_xfrm_sa *sa, bool in)
{
    return pcscf_ipsec_sa_add(arg, sa, in);
}

static int kernel_sa_remove(void *arg, const struct pcscf_xfrm_sa *sa, bool in)
{
    return pcscf_ipsec_sa_remove(arg, sa, in);
}

/*
 * With ESP in the kernel: the store of the UEs' SAs, and the protected client and server
 * ports bound (UDP and TCP) as transports of the agent. 0, or -EINVAL (logged): a port
 * that cannot be bound stops the start.
 */
static int sas_init(struct pcscf *p)
{
    const struct ims_cfg *cfg = p->d->cfg;
    int pc = (int)ims_cfg_int(cfg, "pcscf.ipsec_port_c");
    int ps = (int)ims_cfg_int(cfg, "pcscf.ipsec_port_s");
    int sipport = (int)ims_cfg_int(cfg, "sip.port");
    if (pc == ps || pc == sipport || ps == sipport) {
        ims_err("pcscf: pcscf.ipsec_port_c (%d), pcscf.ipsec_port_s (%d) and sip.port (%d) "
                "must differ", pc, ps, sipport);
        return -EINVAL;
    }
    struct pcscf_sa_ops ops = { kernel_sa_add, kernel_sa_remove, p->ipsec };
    p->sas = pcscf_sas_create(&ops, ims_sip_address(p->d->sip), (uint16_t)pc, (uint16_t)ps,
                              (size_t)ims_cfg_int(cfg, "pcscf.max_bindings"));
    if (!p->sas) {
        ims_err("pcscf: cannot set up the IPsec SA store (address %s)",
                ims_sip_address(p->d->sip));
        return -EINVAL;
    }
    static const char *const protos[] = { "udp", "tcp" };
    for (size_t i = 0; i < 2; i++)
        if (ims_sip_add_transport(p->d->sip, pc, protos[i]) != 0 ||
            ims_sip_add_transport(p->d->sip, ps, protos[i]) != 0) {
            ims_err("pcscf: cannot bind the protected IPsec ports %d and %d "
                    "(pcscf.ipsec_port_c, pcscf.ipsec_port_s)", pc, ps);
            return -EINVAL;
        }
    ims_info("pcscf: IPsec sec-agree: protected client port %d, server port %d", pc, ps);
    return 0;
}

/* pcscf.ipsec: the XFRM socket and the ESP probe; -EINVAL when required and impossible */
static int ipsec_init(struct pcscf *p)
{
    const char *mode = ims_cfg_str(p->d->cfg, "pcscf.ipsec");
    p->ipsec_mode = strcmp(mode, "off") == 0        ? PCSCF_IPSEC_OFF
                    : strcmp(mode, "required") == 0 ? PCSCF_IPSEC_REQUIRED
                                                    : PCSCF_IPSEC_OPTIONAL;
    if (p->ipsec_mode != PCSCF_IPSEC_OFF)
        pcscf_ipsec_open(&p->ipsec);
    if (pcscf_ipsec_available(p->ipsec) && sas_init(p) != 0)
        return -EINVAL;
    if (p->ipsec_mode == PCSCF_IPSEC_REQUIRED && !p->sas) {
        ims_err("pcscf: pcscf.ipsec = required, but sec-agree cannot be done: %s (set "
                "pcscf.ipsec = optional or off)", pcscf_ipsec_secagree_reason(p));
        return -EINVAL;
    }
    if (p->ipsec_mode == PCSCF_IPSEC_OPTIONAL && !p->sas)
        ims_info("pcscf: IPsec %s: sec-agree is not agreed (%s); UEs that require it are "
                 "refused 420, UEs that offer it register without", pcscf_ipsec_state(p->ipsec),
                 pcscf_ipsec_secagree_reason(p));
    ims_http_health_add(p->d->http, ipsec_health, p);
    return 0;
}

static int pcscf_init(struct ims_daemon *d)
{
    struct pcscf *p = &g_pcscf;
    p->d = d;
    d->priv = p;
    su_home_init(p->home);
    snprintf(p->pvni, sizeof(p->pvni), "%s", ims_cfg_str(d->cfg, "pcscf.visited_network_id"));
    snprintf(p->orig_ioi, sizeof(p->orig_ioi), "%s", ims_cfg_str(d->cfg, "pcscf.orig_ioi"));
    p->sub_expires = (unsigned)ims_cfg_int(d->cfg, "pcscf.reg_subscribe_expires");
    p->retry_after = (unsigned)ims_cfg_int(d->cfg, "pcscf.retry_after");
    if (make_uris(p) != 0)
        goto fail;
    if (*ims_cfg_str(d->cfg, "pcscf.clf_table")) {
        char table[1024];
        ims_daemon_conf_path(d, ims_cfg_str(d->cfg, "pcscf.clf_table"), table, sizeof(table));
        if (pcscf_clf_load(p, table) != 0) {
            pcscf_stop(d);
            return -EINVAL;
        }
    }
    if (pcscf_token_key_init(p, ims_cfg_str(d->cfg, "pcscf.token_key")) != 0) {
        ims_err("pcscf: cannot make the key of the flow and dialog tokens");
        pcscf_stop(d);
        return -EINVAL;
    }
    if (!ims_cfg_str(d->cfg, "pcscf.token_key")[0])
        ims_info("pcscf: flow and dialog tokens signed with a key made at start "
                 "(pcscf.token_key is not set)");
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("pcscf: sip.trusted_peers is empty: no request is taken as coming from the "
                 "core, so no request can reach a UE (set the CSCFs' addresses there)");
    p->bindings = pcscf_bindings_create((size_t)ims_cfg_int(d->cfg, "pcscf.max_bindings"),
                                        on_binding_removed, p);
    if (p->bindings)
        pcscf_bindings_set_max_per_source(
            p->bindings, (size_t)ims_cfg_int(d->cfg, "pcscf.max_bindings_per_source"));
    p->tick = su_timer_create(su_root_task(ims_loop_root(d->loop)), PCSCF_TICK_MS);
    if (!p->bindings || !p->tick || su_timer_run(p->tick, on_tick, (su_timer_arg_t *)p) < 0 ||
        pcscf_regevent_init(p) != 0)
        goto fail;
    if (ipsec_init(p) != 0) {
        pcscf_stop(d);
        return -EINVAL;
    }
    if (pcscf_charging_init(p) != 0) {
        pcscf_stop(d);
        return -EINVAL;
    }
    ims_sip_set_next_hop(d->sip, register_next_hop, p);
    ims_sip_set_early_refusal(d->sip, pcscf_register_early, p);
    pcscf_register_metrics();
    pcscf_regevent_metrics();
    pcscf_originating_metrics();
    ims_info("pcscf: REGISTER goes to " URL_PRINT_FORMAT "; Path <" URL_PRINT_FORMAT ">",
             URL_PRINT_ARGS(p->icscf), URL_PRINT_ARGS(p->path));
    return 0;
fail:
    ims_err("pcscf: cannot set up (out of memory)");
    pcscf_stop(d);
    return -ENOMEM;
}

/* Loop ended, SIP still up: nta objects go before the agent */
static void pcscf_stop(struct ims_daemon *d)
{
    struct pcscf *p = d->priv;
    if (!p)
        return;
    ims_sip_set_next_hop(d->sip, NULL, NULL);
    ims_sip_set_early_refusal(d->sip, NULL, NULL);
    if (p->tick)
        su_timer_destroy(p->tick);
    p->tick = NULL;
    pcscf_charging_stop(p);
    pcscf_bindings_destroy(p->bindings);   /* ends the subscriptions */
    p->bindings = NULL;
    pcscf_regevent_fini(p);
    pcscf_sas_destroy(p->sas);             /* removes the SAs still installed */
    p->sas = NULL;
    pcscf_clf_free(p);
    pcscf_ipsec_close(p->ipsec);
    p->ipsec = NULL;
    su_home_deinit(p->home);
    d->priv = NULL;
}

static int pcscf_on_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct pcscf *p = d->priv;
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (sip->sip_request->rq_method == sip_method_register)
        return pcscf_register(p, irq, sip, &src);
    return pcscf_request(p, irq, sip, &src);
}

static const struct ims_daemon_desc pcscf_desc = {
    .name = "pcscf",
    .summary = "Proxy-CSCF: first SIP hop of the UE (Gm, Mw), offline charging client (Rf)",
    .keys = pcscf_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "REGISTER, INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, "
                 "PRACK, UPDATE, INFO, REFER",
    .init = pcscf_init,
    .stop = pcscf_stop,
    .on_request = pcscf_on_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &pcscf_desc);
}
