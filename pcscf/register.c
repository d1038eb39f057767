/*
 * register.c - the P-CSCF's handling of REGISTER (TS 24.229 5.2.2, RFC 3327, RFC 7315)
 *
 * sec-agree -> validate -> strip P-Asserted-Identity and the sec-agree headers -> Path
 * (+ Require: path) -> P-Visited-Network-ID -> P-Charging-Vector -> forward to the I-CSCF.
 * Responses are relayed: a 401 loses its ck/ik parameters (after they keyed the UE's IPsec
 * SAs when it offered sec-agree: sas.c, Security-Server added), a 200 OK leaves the UE's
 * binding (contacts, identities, Service-Route, the SAs it came over) in the store and starts
 * the reg-event subscription of a new registration.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>

/* What sec-agree says of one REGISTER (check_secagree) */
struct sec {
    bool offer;                  /* a set is to be made at the 401 for ... */
    struct pcscf_sec_offer chosen;   /* ... this offer of the UE */
    bool over;                   /* it came over the set of (src.ip, src.port) ... */
    uint32_t over_spi_ps;        /* ... whose spi_ps was this (still the same set?) */
};

struct reg_ctx {
    struct pcscf *p;
    struct ims_sip_source src;
    char impu[PCSCF_URI_MAX];
    char icid[128];
    char call_id[128];
    time_t t0;                   /* when the REGISTER arrived (charging) */
    struct sec sec;              /* sec-agree of this REGISTER */
};

static struct {
    struct ims_counter *forwarded, *challenged, *accepted, *refused, *limit_source;
    struct ims_gauge *bindings;
} m;

void pcscf_bindings_changed(struct pcscf *p)
{
    ims_gauge_set(m.bindings, (int64_t)pcscf_bindings_count(p->bindings));
}

void pcscf_register_metrics(void)
{
    m.bindings = ims_gauge_new("pcscf_bindings", "UE registration bindings kept", NULL);
    static const char *name = "pcscf_register_total";
    static const char *help = "REGISTER requests handled, by outcome";
    m.forwarded = ims_counter_new(name, help, "outcome=\"forwarded\"");
    m.challenged = ims_counter_new(name, help, "outcome=\"challenged\"");
    m.accepted = ims_counter_new(name, help, "outcome=\"accepted\"");
    m.refused = ims_counter_new(name, help, "outcome=\"refused\"");
    m.limit_source = ims_counter_new("pcscf_limit_total", "requests refused at a configured "
                                     "bound", "limit=\"bindings_per_source\"");
}

int pcscf_auth_strip_keys(msg_t *msg, sip_t *sip)
{
    static const char *const keys[] = { "ck", "ik" };
    int n = 0;
    (void)msg;
    for (sip_www_authenticate_t *wa = sip->sip_www_authenticate; wa; wa = wa->au_next) {
        int here = 0;
        for (size_t k = 0; wa->au_params && k < 2; k++)
            while (msg_params_remove((msg_param_t *)wa->au_params, keys[k]) == 1)
                here++;
        if (here)
            msg_fragment_clear(wa->au_common);   /* re-encode the header */
        n += here;
    }
    return n;
}

/* ---- the IPsec SAs (sas.c) ---- */

/* The set this REGISTER came over, if it is still the same one */
static struct pcscf_saset *over_set(struct reg_ctx *ctx)
{
    struct pcscf_saset *set = ctx->sec.over ? pcscf_sas_of_flow(ctx->p->sas, &ctx->src) : NULL;
    return set && set->spi_ps == ctx->sec.over_spi_ps ? set : NULL;
}

/*
 * A 401 for a REGISTER that offered sec-agree: the SAs keyed by its CK/IK installed and the
 * Security-Server added (TS 33.203 7.1, TS 24.229 5.2.2.1), before the keys are removed.
 * When that cannot be done the 401 goes without Security-Server (the UE then gives up or
 * registers without): said in the log.
 */
static void challenge_sas(struct reg_ctx *ctx, msg_t *msg, sip_t *sip)
{
    struct pcscf_saset *set = NULL, *over = over_set(ctx);
    if (!ctx->sec.offer || !ctx->p->sas)
        return;
    int rc = pcscf_sas_challenge(ctx->p->sas, ctx->src.ip, &ctx->sec.chosen, msg, sip,
                                 pcscf_now(), &set);
    struct ims_log_ids ids = { .call_id = ctx->call_id, .icid = ctx->icid };
    if (rc) {
        ims_log(IMS_LOG_WARN, &ids, "pcscf: no IPsec SAs for %s at %s: %s; its 401 goes "
                "without Security-Server", ctx->impu, ctx->src.key,
                rc == -ENOENT ? "the 401 carries no ck and ik" : strerror(-rc));
        return;
    }
    if (over)
        set->replaces_port_uc = over->offer.port_c;
    ims_log(IMS_LOG_INFO, &ids, "pcscf: IPsec SAs for %s at %s: spi-c %u spi-s %u (ours), "
            "UE %u/%u, ports UE %u/%u, ours %u/%u, %s %s, %us until its REGISTER over them",
            ctx->impu, ctx->src.ip, set->spi_pc, set->spi_ps, set->offer.spi_c,
            set->offer.spi_s, set->offer.port_c, set->offer.port_s,
            pcscf_sas_port_pc(ctx->p->sas), pcscf_sas_port_ps(ctx->p->sas),
            pcscf_secagree_alg_name(set->offer.alg), pcscf_secagree_ealg_name(set->offer.ealg),
            PCSCF_SAS_AWAIT_AUTH);
}

/*
 * The binding @b of an accepted REGISTER: when it came over a set, the set is kept with the
 * registration (lifetime + 30 s) and held by @b; the binding of the same identity over the
 * set it replaces (re-registration) goes. An unprotected registration lets go of any set.
 * Returns 0, or -errno when the SAs could not be renewed (the binding must not stay: it
 * would be a flow without its protection).
 */
static int keep_sas(struct reg_ctx *ctx, struct pcscf_binding *b, time_t now)
{
    struct pcscf *p = ctx->p;
    struct pcscf_saset *set = over_set(ctx);
    if (b->sas && b->sas != set) {
        pcscf_sas_detach(b->sas);
        b->sas = NULL;
    }
    if (!set)
        return 0;
    struct ims_log_ids ids = { .call_id = ctx->call_id, .icid = ctx->icid };
    int rc = pcscf_sas_confirm(p->sas, set, now, b->expires);
    if (rc) {
        ims_log(IMS_LOG_ERROR, &ids, "pcscf: the IPsec SAs of %s at %s cannot be renewed: %s; "
                "its binding is removed (it registers again)", ctx->impu, ctx->src.key,
                strerror(-rc));
        return rc;
    }
    if (!b->sas) {
        b->sas = set;
        pcscf_sas_attach(set);
    }
    if (set->replaces_port_uc && set->replaces_port_uc != set->offer.port_c) {
        char key[64];
        bool v6 = strchr(ctx->src.ip, ':') != NULL;
        snprintf(key, sizeof(key), "%s%s%s:%u/%s", v6 ? "[" : "", ctx->src.ip, v6 ? "]" : "",
                 set->replaces_port_uc, ctx->src.proto);
        struct pcscf_binding *old = pcscf_bindings_find(p->bindings, key, ctx->impu);
        if (old) {
            ims_log(IMS_LOG_INFO, &ids, "pcscf: %s re-registered over new IPsec SAs: the "
                    "binding of %s goes", ctx->impu, key);
            pcscf_bindings_remove(p->bindings, old);
        }
        set->replaces_port_uc = 0;
    }
    return 0;
}

/* ---- the binding from a 200 OK ---- */

/* The identities of P-Associated-URI (every such header), normalised; the IMPU if none */
static void read_identities(const sip_t *resp, struct pcscf_draft *b)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    for (const sip_unknown_t *u = resp->sip_unknown; u; u = u->un_next) {
        if (!u->un_name || strcasecmp(u->un_name, "P-Associated-URI") != 0 || !u->un_value)
            continue;
        for (sip_route_t *r = ims_addr_list_parse(home, u->un_value); r; r = r->r_next)
            if (b->nids < PCSCF_MAX_IDS &&
                ims_sip_impu_of(r->r_url, b->ids[b->nids], sizeof(b->ids[0])) == 0)
                b->nids++;
    }
    su_home_deinit(home);
    if (b->nids == 0)
        snprintf(b->ids[b->nids++], sizeof(b->ids[0]), "%s", b->impu);
}

static void read_routes(const sip_t *resp, struct pcscf_draft *b)
{
    for (const sip_service_route_t *r = resp->sip_service_route;
         r && b->nroutes < PCSCF_MAX_ROUTES; r = r->r_next) {
        char uri[PCSCF_URI_MAX - 2];
        if (url_e(uri, sizeof(uri), r->r_url) > 0)
            snprintf(b->routes[b->nroutes++], sizeof(b->routes[0]), "<%s>", uri);
    }
}

static bool listed(const sip_contact_t *list, const char *uri)
{
    char c[PCSCF_URI_MAX];
    for (; list; list = list->m_next)
        if (url_e(c, sizeof(c), list->m_url) > 0 && pcscf_uri_same(c, uri))
            return true;
    return false;
}

/* The contacts of the UE in the response (those it registered, or already had), with
 * their expiry; the request's own contacts when the response lists none. */
static void read_contacts(const sip_t *req, const sip_t *resp, const struct pcscf_binding *old,
                          struct pcscf_draft *b, time_t now)
{
    bool from_resp = resp->sip_contact != NULL;
    const sip_contact_t *m0 = from_resp ? resp->sip_contact : req->sip_contact;
    unsigned def = resp->sip_expires ? (unsigned)resp->sip_expires->ex_delta
                                     : ims_sip_register_expires(req, 3600);
    for (const sip_contact_t *c = m0; c && b->ncontacts < PCSCF_MAX_CONTACTS; c = c->m_next) {
        struct pcscf_draft_contact *out = &b->contacts[b->ncontacts];
        if (c->m_url->url_type == url_any || url_e(out->uri, sizeof(out->uri), c->m_url) <= 0)
            continue;
        bool ours = !from_resp || listed(req->sip_contact, out->uri);
        for (int i = 0; old && !ours && i < old->ncontacts; i++)
            ours = pcscf_uri_same(old->contacts[i].uri, out->uri);
        if (!ours)
            continue;
        unsigned e = c->m_expires ? (unsigned)strtoul(c->m_expires, NULL, 10) : def;
        out->expires = now + (time_t)e;
        b->ncontacts++;
    }
}

static void log_saved(const struct reg_ctx *ctx, int rc, const struct pcscf_binding *b,
                      time_t now)
{
    struct ims_log_ids ids = { .call_id = ctx->call_id, .icid = ctx->icid };
    const char *what = rc == PCSCF_SAVE_NEW ? "registered" : "refreshed";
    if (rc == PCSCF_SAVE_NEW || rc == PCSCF_SAVE_REFRESH)
        ims_log(IMS_LOG_INFO, &ids, "pcscf: %s %s from %s: %d contact(s), %lds, default "
                "identity %s, %d Service-Route entr%s", ctx->impu, what, ctx->src.key,
                b->ncontacts, (long)(b->expires - now), b->ids[0], b->nroutes,
                b->nroutes == 1 ? "y" : "ies");
    else if (rc == PCSCF_SAVE_REMOVED)
        ims_log(IMS_LOG_INFO, &ids, "pcscf: %s de-registered from %s: binding removed",
                ctx->impu, ctx->src.key);
    else if (rc == -EDQUOT)
        ims_log(IMS_LOG_WARN, &ids, "pcscf: %s has its pcscf.max_bindings_per_source: the "
                "registration of %s is not kept", ctx->src.ip, ctx->impu);
    else if (rc == -ENOSPC)
        ims_log(IMS_LOG_ERROR, &ids, "pcscf: binding table full: the registration of %s from "
                "%s is not kept (raise pcscf.max_bindings)", ctx->impu, ctx->src.key);
    else if (rc < 0)
        ims_log(IMS_LOG_ERROR, &ids, "pcscf: cannot keep the binding of %s: %s", ctx->impu,
                strerror(-rc));
}

static void keep_binding(struct reg_ctx *ctx, const sip_t *req, const sip_t *resp)
{
    struct pcscf *p = ctx->p;
    struct pcscf_draft *in = calloc(1, sizeof(*in));
    struct pcscf_binding *b = NULL;
    if (!in) {
        log_saved(ctx, -ENOMEM, NULL, 0);
        return;
    }
    time_t now = pcscf_now();
    in->src = ctx->src;
    snprintf(in->impu, sizeof(in->impu), "%s", ctx->impu);
    snprintf(in->call_id, sizeof(in->call_id), "%s", ctx->call_id);
    read_identities(resp, in);
    read_routes(resp, in);
    read_contacts(req, resp, pcscf_bindings_find(p->bindings, ctx->src.key, ctx->impu), in,
                  now);
    int rc = pcscf_bindings_save(p->bindings, in, now, &b);
    free(in);
    log_saved(ctx, rc, b, now);
    if (b && keep_sas(ctx, b, now) != 0) {
        pcscf_bindings_remove(p->bindings, b);
        b = NULL;
    }
    pcscf_bindings_changed(p);
    if (b && (rc == PCSCF_SAVE_NEW || (!b->sub && !b->sub_refused)) && p->sub_expires)
        pcscf_regevent_subscribe(p, b);
}

/* ---- the transaction ---- */

static int on_response(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    struct reg_ctx *ctx = arg;
    int status = sip->sip_status->st_status;
    if (status < 200)
        return 0;
    if (status == 401) {
        challenge_sas(ctx, msg, sip);
        int n = pcscf_auth_strip_keys(msg, sip);
        struct ims_log_ids ids = { .call_id = ctx->call_id, .icid = ctx->icid };
        ims_log(IMS_LOG_DEBUG, &ids, "pcscf: 401 for %s: %d integrity/cipher key parameter(s) "
                "removed", ctx->impu, n);
        ims_counter_inc(m.challenged);
    } else if (status < 300) {
        ims_counter_inc(m.accepted);
        pcscf_charging_response(ctx->p, ims_ptx_sip(tx), sip, false, ctx->t0, NULL);
        keep_binding(ctx, ims_ptx_sip(tx), sip);
    } else {
        ims_counter_inc(m.refused);
    }
    return 0;
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    struct reg_ctx *ctx = arg;
    (void)tx;
    pcscf_sas_flush(ctx->p->sas);   /* the SAs of a de-registration: its 200 has left */
    free(ctx);
}

static void refuse(struct reg_ctx *ctx, struct ims_ptx *tx, int status, const char *why,
                   unsigned retry_after)
{
    struct ims_log_ids ids = { .call_id = ctx->call_id };
    ims_log(IMS_LOG_INFO, &ids, "pcscf: REGISTER of %s from %s refused %d: %s",
            ctx->impu[0] ? ctx->impu : "?", ctx->src.key, status, why);
    ims_counter_inc(m.refused);
    ims_ptx_refuse(tx, status, NULL, why, retry_after);
}

/* Our Path entry: the Path URI with the flow token of the UE's flow (flow.c) */
static url_t *path_uri(struct reg_ctx *ctx, su_home_t *home)
{
    char token[96];
    if (pcscf_flow_token(ctx->p, &ctx->src, token, sizeof(token)) != 0)
        return NULL;
    return url_make(home, su_sprintf(home, URL_PRINT_FORMAT ";ft=%s",
                                     URL_PRINT_ARGS(ctx->p->path), token));
}

/*
 * TS 24.229 5.2.2.1: the Via of the UE gets "received" with the address the REGISTER came
 * from, always (RFC 3261 18.2.1 asks for it only when the sent-by differs). Early IMS
 * (TR 33.978) authenticates the UE by that address at the S-CSCF; every received the UE
 * wrote goes first (in any case, however many: replacing only the first would leave a
 * second one, and a parser reads the last), then ours is the only one.
 */
static int mark_received(msg_t *msg, sip_t *sip, const struct ims_sip_source *src)
{
    if (!sip->sip_via || !src->ip[0])
        return -EINVAL;
    int k;
    while ((k = msg_header_remove_param(sip->sip_via->v_common, "received")) > 0)
        ;
    char *param = su_sprintf(msg_home(msg), "received=%s", src->ip);
    if (k < 0 || !param ||
        msg_header_add_param(msg_home(msg), sip->sip_via->v_common, param) < 0)
        return -ENOMEM;
    msg_fragment_clear(sip->sip_via->v_common);   /* re-encode the header */
    return 0;
}

/*
 * The headers the P-CSCF adds or removes (TS 24.229 5.2.2.1). What the UE wrote in Path,
 * Route (beyond our own entry) and P-Asserted-Identity is not believed: they go, and the
 * REGISTER leaves for the I-CSCF with our Path alone.
 */
static int prepare(struct reg_ctx *ctx, msg_t *msg, sip_t *sip)
{
    struct pcscf *p = ctx->p;
    struct ims_pcv pcv = { 0 };
    char value[512];
    if (mark_received(msg, sip, &ctx->src) != 0 || pcscf_clf_mark(p, msg, sip, &ctx->src))
        return -ENOMEM;
    ims_sip_paid_remove(msg, sip);
    pcscf_secagree_strip(msg, sip);
    while (sip->sip_path)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_path);
    while (sip->sip_route)
        sip_route_remove(msg, sip);
    url_t *path = path_uri(ctx, msg_home(msg));
    if (!path || ims_sip_path_push(msg, sip, path) != 0)
        return -ENOMEM;
    if (!sip_has_feature(sip->sip_supported, "path") &&
        !sip_has_feature(sip->sip_require, "path") &&
        sip_add_make(msg, sip, sip_require_class, "path") != 0)
        return -ENOMEM;
    if (ims_sip_header_set(msg, sip, "P-Visited-Network-ID", p->pvni) != 0)
        return -EINVAL;
    ims_icid_generate(pcv.icid, sizeof(pcv.icid), ims_sip_address(p->d->sip));
    snprintf(pcv.generated_at, sizeof(pcv.generated_at), "%s", ims_sip_address(p->d->sip));
    snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", p->orig_ioi);
    snprintf(ctx->icid, sizeof(ctx->icid), "%s", pcv.icid);
    if (ims_pcv_format(&pcv, value, sizeof(value)) < 0 ||
        ims_sip_header_set(msg, sip, "P-Charging-Vector", value) != 0)
        return -EINVAL;
    return 0;
}

/* The bounds of the binding table (pcscf.max_bindings, pcscf.max_bindings_per_source) for
 * a REGISTER of @impu from @src: 0, or 503 with @why; a binding that exists is never
 * refused. Counts a refusal for the source's bound; a full table is logged at most once
 * per 10 s (with the count of the refusals in between). */
static int bound(struct pcscf *p, const struct ims_sip_source *src, const char *impu,
                 const char **why)
{
    bool full = pcscf_bindings_full(p->bindings);
    if (!full && !pcscf_bindings_source_full(p->bindings, src->ip))
        return 0;
    if (pcscf_bindings_find(p->bindings, src->key, impu))
        return 0;
    if (full) {
        static struct ims_log_limit lim = IMS_LOG_LIMIT(10);   /* a flood is one line */
        ims_log_limited(&lim, IMS_LOG_ERROR, NULL, "pcscf: binding table full (%zu): new "
                        "registrations refused (raise pcscf.max_bindings)",
                        pcscf_bindings_count(p->bindings));
        *why = "binding table full";
        return 503;
    }
    ims_counter_inc(m.limit_source);
    *why = "too many registrations from this address";
    return 503;
}

bool pcscf_register_early(void *arg, const sip_t *req, const struct ims_sip_source *src,
                          struct ims_sip_refusal *out)
{
    struct pcscf *p = arg;
    char impu[PCSCF_URI_MAX];
    const char *why = NULL;
    /* what the transaction answers otherwise (483, 400) is left to it */
    if (req->sip_request->rq_method != sip_method_register || !p->bindings ||
        (req->sip_max_forwards && req->sip_max_forwards->mf_count == 0) || !req->sip_to ||
        ims_sip_impu_of(req->sip_to->a_url, impu, sizeof(impu)) || !bound(p, src, impu, &why))
        return false;
    out->status = 503;
    out->retry_after = p->retry_after;
    snprintf(out->why, sizeof(out->why), "%s", why);
    return true;
}

/* Validation of the REGISTER itself; 0 or the status to answer (with @why) */
static int check(struct reg_ctx *ctx, struct ims_ptx *tx, const char **why)
{
    const sip_t *req = ims_ptx_sip(tx);
    int st = ims_ptx_validate(tx);
    if (st) {
        *why = "too many hops";
        return st;
    }
    if (!req->sip_to || ims_sip_impu_of(req->sip_to->a_url, ctx->impu, sizeof(ctx->impu))) {
        *why = "To is not a SIP or tel URI";
        return 400;
    }
    return bound(ctx->p, &ctx->src, ctx->impu, why);
}

/* Answer a REGISTER before the proxy takes it: @status with a Warning saying @why,
 * Unsupported: sec-agree for a 420 (RFC 3261 8.2.2.3), the mechanisms we support in
 * Security-Server for a 494 (RFC 3329 2.3.1) */
static int refuse_now(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip, int status,
                      const char *why)
{
    char warning[320];
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    ims_log(IMS_LOG_INFO, &ids, "pcscf: REGISTER refused %d: %s", status, why);
    ims_counter_inc(m.refused);
    ims_sip_warning(p->d->sip, warning, sizeof(warning), "%s", why);
    nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                        SIPTAG_SERVER_STR(ims_sip_node(p->d->sip)),
                        TAG_IF(status == 420, SIPTAG_UNSUPPORTED_STR("sec-agree")),
                        TAG_IF(status == 494,
                               SIPTAG_SECURITY_SERVER_STR(pcscf_secagree_supported())),
                        TAG_END());
    ims_sip_count_response(p->d->sip, status);
    nta_incoming_destroy(irq);
    return 0;
}

/*
 * sec-agree when this P-CSCF cannot set up SAs (pcscf_ipsec_secagree_reason() says why: the
 * kernel, the configuration): a UE that requires it (Require or Proxy-Require: sec-agree)
 * gets 420 Bad Extension with Unsupported: sec-agree and the reason in a Warning, rather
 * than a registration without the protection it asked for; a UE that only offers it
 * registers without (its Security-Client is removed, the 401 carries no Security-Server).
 */
static int secagree_unavailable(struct pcscf *p, const sip_t *sip, char *why, size_t len)
{
    int asked = pcscf_secagree_asked(sip);
    if (asked == 2) {
        snprintf(why, len, "sec-agree (IPsec) is required by the UE but not available here: %s",
                 pcscf_ipsec_secagree_reason(p));
        return 420;
    }
    if (asked == 1) {
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id
                                                               : NULL };
        ims_log(IMS_LOG_DEBUG, &ids, "pcscf: sec-agree offered, registering without it: %s",
                pcscf_ipsec_secagree_reason(p));
    }
    return 0;
}

/*
 * sec-agree (RFC 3329, TS 33.203 7.2, TS 24.229 5.2.2.1) where the P-CSCF sets up SAs:
 * - a REGISTER on the protected ports must come over a set of this UE (its address and
 *   port_uc) and repeat that set's Security-Server as Security-Verify (403, 494 otherwise);
 * - a REGISTER with Security-Verify that did not come over a set is refused (403): the
 *   protected REGISTER replayed around the SAs;
 * - a Security-Client offer we support is kept for the 401 (@sec); a UE that requires
 *   sec-agree without one gets 420 (why in a Warning); one that only offers registers
 *   without.
 * Returns 0 to go on, or the status to answer with @why.
 */
static int check_secagree(struct pcscf *p, const sip_t *sip, const struct ims_sip_source *src,
                          struct sec *sec, char *why, size_t len)
{
    struct pcscf_saset *over = NULL;
    memset(sec, 0, sizeof(*sec));
    if (!p->sas)
        return secagree_unavailable(p, sip, why, len);
    int st = pcscf_sas_check_register(p->sas, src, sip, &over, why, len);
    if (st)
        return st;
    if (over) {
        sec->over = true;
        sec->over_spi_ps = over->spi_ps;
    }
    int asked = pcscf_secagree_asked(sip);
    char whynot[160] = "no Security-Client";
    if (sip->sip_security_client && strcmp(src->proto, "tls") != 0 &&
        pcscf_secagree_choose(sip->sip_security_client, &sec->chosen, whynot,
                              sizeof(whynot)) == 0) {
        sec->offer = true;
        return 0;
    }
    if (asked == 2 && !over) {
        snprintf(why, len, "sec-agree (IPsec) is required by the UE but cannot be agreed: %s",
                 strcmp(src->proto, "tls") == 0 ? "not over TLS" : whynot);
        return 420;
    }
    return 0;
}

int pcscf_register(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                   const struct ims_sip_source *src)
{
    char why_sa[256];
    struct sec sec;
    int sa = check_secagree(p, sip, src, &sec, why_sa, sizeof(why_sa));
    if (sa)
        return refuse_now(p, irq, sip, sa, why_sa);
    struct ims_ptx *tx = ims_ptx_create(p->d->sip, irq);
    if (!tx)
        return 500;
    struct reg_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return 0;
    }
    ctx->p = p;
    ctx->src = *src;
    ctx->sec = sec;
    ctx->t0 = time(NULL);
    snprintf(ctx->call_id, sizeof(ctx->call_id), "%s", ims_ptx_call_id(tx));
    ims_ptx_set_hooks(tx, on_response, on_done, ctx);
    const char *why = NULL;
    int st = check(ctx, tx, &why);
    if (st) {
        refuse(ctx, tx, st, why, st == 503 ? p->retry_after : 0);
        return 0;
    }
    if (prepare(ctx, ims_ptx_msg(tx), ims_ptx_sip(tx)) != 0) {
        refuse(ctx, tx, 500, "cannot build the REGISTER", 0);
        return 0;
    }
    struct ims_log_ids ids = { .call_id = ctx->call_id, .icid = ctx->icid };
    ims_log(IMS_LOG_DEBUG, &ids, "pcscf: REGISTER of %s from %s to " URL_PRINT_FORMAT,
            ctx->impu, src->key, URL_PRINT_ARGS(p->icscf));
    st = ims_ptx_forward(tx, NULL, p->icscf, false);
    if (st) {
        refuse(ctx, tx, st, "cannot forward to the I-CSCF", 0);
        return 0;
    }
    ims_counter_inc(m.forwarded);
    return 0;
}
