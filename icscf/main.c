/*
 * icscf - Interrogating-CSCF: entry point of the home domain (Mw), HSS client (Cx)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "icscf.h"
#include "diam_doic.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ims_cfg_key icscf_keys[] = {
    { "icscf", "scscfs", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, icscf_check_scscf,
      "S-CSCFs to choose from for a first registration: 'sip:uri capability...', comma "
      "separated, in order of preference" },
    { "icscf", "hss_realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Destination-Realm of the Cx requests" },
    { "icscf", "retry_after", IMS_CFG_INT, "30", 0, 0, 3600, NULL, NULL,
      "Retry-After (seconds) of a 480 when the HSS or the S-CSCFs cannot be reached" },
    IMS_CFG_END
};

static struct icscf g_icscf;

static int icscf_init(struct ims_daemon *d)
{
    struct icscf *c = &g_icscf;
    c->d = d;
    d->priv = c;
    snprintf(c->realm, sizeof(c->realm), "%s", ims_cfg_str(d->cfg, "icscf.hss_realm"));
    snprintf(c->home, sizeof(c->home), "%s", ims_cfg_str(d->cfg, "node.domain"));
    c->retry_after = (unsigned)ims_cfg_int(d->cfg, "icscf.retry_after");
    size_t n;
    char **list = ims_cfg_list(d->cfg, "icscf.scscfs", &n);
    if (!list)
        return -ENOMEM;
    if (n > ICSCF_MAX_SCSCF) {
        ims_err("%s: icscf.scscfs: more than %d S-CSCFs", ims_cfg_path(d->cfg), ICSCF_MAX_SCSCF);
        ims_strv_free(list);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        icscf_scscf_parse(list[i], &c->scscfs[c->nscscfs++]);
    ims_strv_free(list);
    if (!c->nscscfs)
        ims_warn("icscf: icscf.scscfs is empty: first registrations can only go to an S-CSCF "
                 "the HSS names");
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("icscf: sip.trusted_peers is empty: every REGISTER is refused (it must come "
                 "from a P-CSCF of the trust domain) and asserted identities are removed");
    icscf_register_metrics();
    icscf_route_metrics();
    return 0;
}

/*
 * The HSS's overload report (RFC 7683) decided before a request's transaction (an
 * ims_sip_early_refusal_fn, @arg the I-CSCF): a REGISTER from a P-CSCF of the trust domain
 * needs a UAR, a request icscf_route() locates an LIR; when the loss the HSS asks for
 * falls on it, the 503 goes statelessly, holding no memory while the HSS is overloaded
 * (a transaction kept its 503 for 32 s). One let through is not decided again for its
 * request (ims_diam_doic_throttle_early()).
 */
static bool early_refusal(void *arg, const sip_t *req, const struct ims_sip_source *src,
                          struct ims_sip_refusal *out)
{
    struct icscf *c = arg;
    enum ims_cmd cmd;
    if (req->sip_request->rq_method == sip_method_register && src->trusted)
        cmd = IMS_CMD_UAR;
    else if (req->sip_request->rq_method != sip_method_register &&
             icscf_route_needs_lir(c, req))
        cmd = IMS_CMD_LIR;
    else
        return false;
    if (!ims_diam_doic_throttle_early(cmd, 0))
        return false;
    out->status = 503;
    out->retry_after = c->retry_after;
    snprintf(out->why, sizeof(out->why), "HSS too busy: its overload report (RFC 7683) asks "
             "for fewer %s", cmd == IMS_CMD_UAR ? "UARs" : "LIRs");
    if (cmd == IMS_CMD_UAR)
        icscf_register_refused();
    else
        icscf_route_refused();
    return true;
}

static int icscf_start(struct ims_daemon *d)
{
    ims_sip_set_early_refusal(d->sip, early_refusal, d->priv);
    return 0;
}

static void icscf_stop(struct ims_daemon *d)
{
    ims_sip_set_early_refusal(d->sip, NULL, NULL);
}

static int icscf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct icscf *c = d->priv;
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (sip->sip_request->rq_method == sip_method_register)
        return icscf_register(c, irq, sip, &src);
    return icscf_route(c, irq, sip, &src);
}

static const struct ims_daemon_desc icscf_desc = {
    .name = "icscf",
    .summary = "Interrogating-CSCF: entry point of the home domain (Mw), HSS client (Cx)",
    .keys = icscf_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX),
    .sip_allow = "REGISTER, INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, SUBSCRIBE, "
                 "NOTIFY, REFER, INFO, PUBLISH, OPTIONS",
    .init = icscf_init,
    .start = icscf_start,
    .stop = icscf_stop,
    .on_request = icscf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &icscf_desc);
}
