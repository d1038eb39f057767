/*
 * originating.c - requests other than REGISTER (TS 24.229 5.2.6, 5.2.7, 5.2.10)
 *
 * Where a request comes from decides what it may do, never what its headers claim:
 * - from the core (its source is one of sip.trusted_peers):
 *   - towards a UE (Route naming our Path URI, sip:term@...;ft=<flow token>): forwarded to
 *     the registration the flow token names (480 when it is gone), record-routed with a
 *     dialog token of that UE's flow; the UE's responses lose any identity it asserted and
 *     get the one of its registered set (P-Preferred-Identity honoured inside it), and the
 *     Record-Route set the request carried;
 *   - inside a dialog we record-routed: forwarded along the route set;
 *   - anything else: 403;
 * - from a UE (any other source), found by its flow (source address, port and transport),
 *   never by a Via or a Contact it wrote:
 *   - inside a dialog: only when our Route entry carries the dialog token of this very flow
 *     and Call-ID (else 403), forwarded without any identity of the UE's own;
 *   - outside a dialog, from a registered flow: the identity asserted from the registered
 *     set, a P-Charging-Vector of ours, the UE's Route and Record-Route entries replaced by
 *     the Service-Route and our Record-Route;
 *   - from a flow that is not registered: 403, except emergency requests
 *     (urn:service:sos...), sent to the E-CSCF when one is configured.
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

static struct {
    struct ims_counter *originating, *terminating, *in_dialog, *refused, *emergency;
} m;

void pcscf_originating_metrics(void)
{
    static const char *name = "pcscf_requests_total";
    static const char *help = "requests other than REGISTER, by how they were handled";
    m.originating = ims_counter_new(name, help, "path=\"originating\"");
    m.terminating = ims_counter_new(name, help, "path=\"terminating\"");
    m.in_dialog = ims_counter_new(name, help, "path=\"in_dialog\"");
    m.refused = ims_counter_new(name, help, "path=\"refused\"");
    m.emergency = ims_counter_new(name, help, "path=\"emergency\"");
}

bool pcscf_is_emergency(const url_t *ruri)
{
    char buf[64];
    if (!ruri || !ruri->url_scheme || strcasecmp(ruri->url_scheme, "urn") != 0 ||
        url_e(buf, sizeof(buf), ruri) <= 0)
        return false;
    return strncasecmp(buf, "urn:service:sos", 15) == 0 &&
           (buf[15] == '\0' || buf[15] == '.');
}

/* Answer with a Warning and end the transaction (the request function then returns 0) */
static int answer(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip, int status,
                  const char *why)
{
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    ims_log(IMS_LOG_INFO, &ids, "pcscf: %s answered %d: %s", sip->sip_request->rq_method_name,
            status, why);
    return ims_sip_refuse(p->d->sip, irq, sip, status, why);
}

/* Take the transaction over and validate it; NULL when answered already */
static struct ims_ptx *take(struct pcscf *p, nta_incoming_t *irq, int *status)
{
    struct ims_ptx *tx = ims_ptx_create(p->d->sip, irq);
    *status = 0;
    if (!tx) {
        *status = 500;
        return NULL;
    }
    int st = ims_ptx_validate(tx);
    if (st) {
        ims_ptx_reply(tx, st, NULL, NULL);
        return NULL;
    }
    return tx;
}

static bool dialog_forming(sip_method_t m0)
{
    return m0 == sip_method_invite || m0 == sip_method_subscribe || m0 == sip_method_refer;
}

/*
 * The charging correlation of one forwarded request. The ICID travels on Mw in the
 * P-Charging-Vector of every request and response, never on Gm (the UE is outside the trust
 * domain, TS 24.229 5.2.7): towards a UE it is removed (and the UE's responses get it back),
 * from a UE it is set (and the responses towards the UE lose it). Within a dialog it comes
 * from our own Record-Route entry, which carries it as a parameter: the P-CSCF keeps no
 * dialog state.
 */
struct fwd {
    struct pcscf *p;
    char icid[128];
    bool to_ue;
    time_t t0;                   /* when the request arrived (charging) */
    char pcv[512];               /* the P-Charging-Vector removed towards a UE */
    struct ims_sip_source ue;    /* the UE's flow: the callee towards a UE, the caller from
                                  * one (key empty when not known) */
    char issued[20];             /* from a UE, a dialog-forming request: the dialog token of
                                  * our Record-Route, made before the route set was known */
    char *rr;                    /* towards a UE, dialog forming: the Record-Route set sent,
                                  * the only one its responses may carry (malloc'd) */
};

/* P-Asserted-Identity of a response from the UE of @f: from its registered set, whatever
 * it asserted itself (TS 24.229 5.2.6.4); none when its registration is gone */
static void screen_identity(struct fwd *f, msg_t *msg, sip_t *sip)
{
    char want[PCSCF_URI_MAX], id[PCSCF_URI_MAX];
    const struct pcscf_binding *b =
        f->ue.key[0] ? pcscf_bindings_by_source(f->p->bindings, f->ue.key, pcscf_now()) : NULL;
    int rc = -ENOENT;
    for (sip_p_preferred_identity_t *pp = sip_p_preferred_identity(sip); b && pp && rc != 1;
         pp = pp->ppid_next)
        if (url_e(want, sizeof(want), pp->ppid_url) > 0)
            rc = pcscf_identity_choose(b, want, id, sizeof(id));
    if (b && rc != 1)
        rc = pcscf_identity_choose(b, NULL, id, sizeof(id));
    sip_p_preferred_identity_t *pp;
    while ((pp = sip_p_preferred_identity(sip)) != NULL)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)pp);
    ims_sip_paid_remove(msg, sip);
    if (rc >= 0)
        ims_sip_paid_add(msg, sip, id);
}

/* A UE answering a dialog-forming request copies its Record-Route set (RFC 3261 12.1.1):
 * the set it sent is put back, so that a UE cannot steer the other side's route set */
static void restore_record_route(struct fwd *f, msg_t *msg, sip_t *sip)
{
    while (sip->sip_record_route)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_record_route);
    if (f->rr[0])
        sip_add_make(msg, sip, sip_record_route_class, f->rr);
}

/* Is @r our own entry without a dialog token: the core-facing half of a pair (RFC 5658)? */
static bool pair_half(struct pcscf *p, const sip_route_t *r)
{
    char token[40];
    return r && ims_sip_is_own(p->d->sip, r->r_url) &&
           (!r->r_url->url_params ||
            ims_url_param(r->r_url->url_params, "ue", token, sizeof(token)) <= 0);
}

/*
 * The route set a UE holds after our entry, as text for the dialog token: the URIs of the
 * entries from @first up to (not including) @stop, "," between them, in their order, or
 * reversed (a caller's route set is its response's Record-Route upside down). 0 or -ENOSPC.
 */
static int route_text(const sip_route_t *first, const sip_route_t *stop, bool reverse,
                      char *buf, size_t len)
{
    const sip_route_t *v[32];
    size_t n = 0, off = 0;
    for (const sip_route_t *r = first; r && r != stop; r = r->r_next)
        if (n == sizeof(v) / sizeof(v[0]))
            return -ENOSPC;
        else
            v[n++] = r;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const sip_route_t *r = v[reverse ? n - 1 - i : i];
        if (off + 2 >= len)
            return -ENOSPC;
        if (i)
            buf[off++] = ',';
        isize_t w = url_e(buf + off, len - off, r->r_url);
        if (w < 0 || (size_t)w >= len - off)
            return -ENOSPC;
        off += (size_t)w;
    }
    buf[off] = '\0';
    return 0;
}

/* Route text no real route set has: the dialog token of a request that has not seen its
 * response yet (see bind_route_set) */
#define ROUTES_PENDING "\n(pending)"

/*
 * A response towards the UE that sent a dialog-forming request: our Record-Route entry (the
 * one with the token we issued) gets a dialog token over the route set the UE now learns,
 * so that the UE's later requests may follow that route set only (RFC 3261 16.7 lets a
 * proxy rewrite its own Record-Route URI in responses).
 */
static void bind_route_set(struct fwd *f, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    sip_record_route_t *ours = NULL;
    char token[40];
    for (sip_record_route_t *rr = sip->sip_record_route; rr && !ours; rr = rr->r_next)
        if (ims_sip_is_own(f->p->d->sip, rr->r_url) && rr->r_url->url_params &&
            ims_url_param(rr->r_url->url_params, "ue", token, sizeof(token)) > 0 &&
            strcmp(token, f->issued) == 0)
            ours = rr;
    /* the route set after our entries: a core-facing half of ours just above goes too */
    const sip_route_t *stop = (const sip_route_t *)ours;
    for (sip_record_route_t *rr = sip->sip_record_route; ours && rr != ours; rr = rr->r_next)
        if (rr->r_next == ours && pair_half(f->p, (const sip_route_t *)rr))
            stop = (const sip_route_t *)rr;
    char routes[4096], tok[40];
    if (!ours ||
        route_text((const sip_route_t *)sip->sip_record_route, stop, true, routes,
                   sizeof(routes)) != 0 ||
        pcscf_dialog_token(f->p, &f->ue, ims_ptx_call_id(tx), routes, tok, sizeof(tok)) != 0)
        return;   /* the UE's requests in this dialog will be refused: logged when they come */
    const char *params = ours->r_url->url_params;
    const char *at = strstr(params, f->issued);
    char *fresh = su_sprintf(msg_home(msg), "%.*s%s%s", (int)(at - params), params, tok,
                             at + strlen(f->issued));
    if (fresh) {
        ours->r_url->url_params = fresh;
        msg_fragment_clear(ours->r_common);   /* re-encode the entry */
    }
}

static int on_response(void *arg, struct ims_ptx *tx, msg_t *msg, sip_t *sip)
{
    struct fwd *f = arg;
    int status = sip->sip_status->st_status;
    pcscf_charging_response(f->p, ims_ptx_sip(tx), sip, f->to_ue, f->t0,
                            f->pcv[0] ? f->pcv : NULL);
    if (!f->to_ue) {
        ims_sip_header_remove(msg, sip, "P-Charging-Vector");
        ims_sip_header_remove(msg, sip, "P-Charging-Function-Addresses");
        if (f->issued[0] && status > 100 && status < 300)
            bind_route_set(f, tx, msg, sip);
        return 0;
    }
    if (f->icid[0]) {
        char v[160];
        snprintf(v, sizeof(v), "icid-value=%s", f->icid);
        ims_sip_header_set(msg, sip, "P-Charging-Vector", v);
    }
    screen_identity(f, msg, sip);
    if (f->rr && status > 100 && status < 300)
        restore_record_route(f, msg, sip);
    return 0;
}

static void on_done(void *arg, struct ims_ptx *tx)
{
    struct fwd *f = arg;
    (void)tx;
    free(f->rr);
    free(f);
}

/* A UE that cannot be reached at all (transport error, no response): 480 rather than the
 * 500 of RFC 3261 16.9, so that the caller learns the callee is away */
static bool on_final(void *arg, struct ims_ptx *tx, int best, bool local)
{
    struct fwd *f = arg;
    if (!f->to_ue || !local || ims_ptx_cancelled(tx))
        return false;
    char warning[160];
    ims_sip_warning(ims_ptx_sip_stack(tx), warning, sizeof(warning),
                    "the UE cannot be reached (%d)", best);
    ims_ptx_reply(tx, 480, "Temporarily Unavailable", warning);
    return true;
}

/*
 * Our Record-Route, for a dialog of the UE flow @ue (NULL: no UE's flow known). The entry
 * the UE sees carries the ICID of the dialog and the dialog token that binds the dialog and
 * the route set after our entries (@routes) to the flow; the token is copied to @token
 * (room for 40). The entry the core sees carries the ICID and the flow token of the UE
 * (";ft="), so that requests of the core within the dialog go to the UE's flow (over TCP
 * and TLS its connection), whatever its Contact says. Over UDP and TCP one entry does both
 * (*@core is NULL); a TLS UE gets two (RFC 5658): *@ue_side on the TLS port, *@core on the
 * node's own. 0, or -EINVAL/-ENOMEM.
 */
static int record_route_pair(struct pcscf *p, su_home_t *home, const char *icid,
                             const struct ims_sip_source *ue, const char *call_id,
                             const char *routes, char *token, url_t **ue_side, url_t **core)
{
    const url_t *own = ims_sip_own_uri(p->d->sip), *tls = ims_sip_tls_uri(p->d->sip);
    bool pair = ue && strcmp(ue->proto, "tls") == 0 && tls;
    char ft[96] = "";
    token[0] = '\0';
    *ue_side = *core = NULL;
    if (ue && ue->key[0] && (pcscf_dialog_token(p, ue, call_id, routes, token, 40) != 0 ||
                             pcscf_flow_token(p, ue, ft, sizeof(ft)) != 0))
        return -EINVAL;
    const char *ic = icid[0] ? ";icid=" : "";
    const char *ftp = ft[0] ? ";ft=" : "";
    *ue_side = url_make(home, su_sprintf(home, URL_PRINT_FORMAT "%s%s%s%s%s%s",
                                         URL_PRINT_ARGS(pair ? tls : own), ic, icid,
                                         token[0] ? ";ue=" : "", token, pair ? "" : ftp,
                                         pair ? "" : ft));
    if (pair)
        *core = url_make(home, su_sprintf(home, URL_PRINT_FORMAT "%s%s%s%s",
                                          URL_PRINT_ARGS(own), ic, icid, ftp, ft));
    return *ue_side && (!pair || *core) ? 0 : -ENOMEM;
}

/* The Record-Route set a dialog-forming request leaves with (ours on top: @top, then
 * @inner when not NULL), kept for the responses of the UE it goes to; NULL when it cannot
 * be formatted */
static char *record_route_set(const sip_t *req, const url_t *top, const url_t *inner)
{
    char own[PCSCF_URI_MAX * 2], own2[PCSCF_URI_MAX * 2] = "", rest[4096] = "";
    if (url_e(own, sizeof(own), top) <= 0 ||
        (inner && url_e(own2, sizeof(own2), inner) <= 0) ||
        (req->sip_record_route &&
         ims_addr_list_format((const sip_route_t *)req->sip_record_route, rest,
                              sizeof(rest)) < 0))
        return NULL;
    char *set = NULL;
    if (asprintf(&set, "<%s>%s%s%s%s%s%s", own, inner ? ", <" : "", own2, inner ? ">" : "",
                 rest[0] ? ", " : "", rest, "") < 0)
        return NULL;
    return set;
}

/* Take the transaction with its charging hooks; NULL when answered already */
static struct ims_ptx *take_charged(struct pcscf *p, nta_incoming_t *irq, int *status,
                                    const char *icid, bool to_ue, struct fwd **out)
{
    struct ims_ptx *tx = take(p, irq, status);
    if (!tx)
        return NULL;
    struct fwd *f = calloc(1, sizeof(*f));
    if (!f) {
        ims_ptx_reply(tx, 500, NULL, NULL);
        return NULL;
    }
    snprintf(f->icid, sizeof(f->icid), "%s", icid ? icid : "");
    f->to_ue = to_ue;
    f->p = p;
    f->t0 = time(NULL);
    ims_ptx_set_hooks(tx, on_response, on_done, f);
    ims_ptx_set_final(tx, on_final);
    *out = f;
    return tx;
}

/* The address of a UE's flow as a next hop: sip:ip:port;transport=udp, tcp or tls. A
 * connection (tcp, tls) nta finds open among its connections (tport) by that remote address
 * and reuses; the UE listens on no such port, so a connection that is gone is not opened
 * again and the request fails (480). Over UDP the request goes over UDP whatever its size
 * (the hop's any_size): the flow is where the UE can be reached (RFC 5626 5.3.1), and a TCP
 * connection to the address of a UE behind a NAT reaches nothing. */
static url_t *flow_uri(su_home_t *home, const struct ims_sip_source *ue)
{
    bool v6 = strchr(ue->ip, ':') != NULL;
    return url_make(home, su_sprintf(home, "sip:%s%s%s:%u;transport=%s", v6 ? "[" : "",
                                     ue->ip, v6 ? "]" : "", ue->port, ue->proto));
}

/*
 * Where a request to the UE of flow @ue goes: a UE with IPsec SAs over UDP gets it from our
 * protected client port at its protected server port (TS 33.203 7.1: P-CSCF port_pc -> UE
 * port_us, *@tport set); a UE over TCP gets it on its connection to our protected server
 * port, which the SAs of that port pair protect both ways; any other at its flow.
 */
static url_t *protected_hop(struct pcscf *p, su_home_t *home, const struct ims_sip_source *ue,
                            tport_t **tport)
{
    struct pcscf_saset *set = pcscf_sas_of_flow(p->sas, ue);
    *tport = NULL;
    if (!set || !set->confirmed || strcmp(ue->proto, "udp") != 0)
        return flow_uri(home, ue);
    *tport = ims_sip_tport(p->d->sip, pcscf_sas_port_pc(p->sas), "udp");
    struct ims_sip_source to = *ue;
    to.port = set->offer.port_s;
    return flow_uri(home, &to);
}

/*
 * Towards a UE (@ue: its flow, when known) or along a dialog: forward as it is, the
 * charging headers set or removed. A UE never asserts its own identity: from a UE, its
 * P-Asserted-Identity goes.
 */
static int pass(struct pcscf *p, nta_incoming_t *irq, const char *icid, bool from_ue,
                bool record_route, const struct ims_sip_source *ue)
{
    int status;
    struct fwd *f;
    struct ims_ptx *tx = take_charged(p, irq, &status, icid, !from_ue, &f);
    if (!tx)
        return status;
    msg_t *msg = ims_ptx_msg(tx);
    sip_t *req = ims_ptx_sip(tx);
    if (ue)
        f->ue = *ue;
    if (from_ue) {
        ims_sip_paid_remove(msg, req);
        if (f->icid[0]) {
            char v[160];
            snprintf(v, sizeof(v), "icid-value=%s", f->icid);
            ims_sip_header_set(msg, req, "P-Charging-Vector", v);
        }
    } else {
        struct ims_pcv pcv;
        const char *v = ims_sip_header(req, "P-Charging-Vector");
        if (!f->icid[0] && v && ims_pcv_parse(v, &pcv) == 0)
            snprintf(f->icid, sizeof(f->icid), "%s", pcv.icid);
        if (v)
            snprintf(f->pcv, sizeof(f->pcv), "%s", v);
        ims_sip_header_remove(msg, req, "P-Charging-Vector");
        ims_sip_header_remove(msg, req, "P-Charging-Function-Addresses");
    }
    struct ims_ptx_hop hop = { .record_route = record_route };
    if (ue && !from_ue) {   /* to the UE's flow, whatever its Contact says (TS 24.229 5.2.6.4) */
        hop.next_hop = protected_hop(p, msg_home(msg), ue, &hop.tport);
        hop.any_size = true;
    }
    if (record_route) {
        /* the callee's route set after our entry: the Record-Route it gets below ours; the
         * entry it sees on top, the core's below (RFC 5658) */
        char routes[4096], token[40];
        url_t *ue_side = NULL, *core = NULL;
        if (route_text((const sip_route_t *)req->sip_record_route, NULL, false, routes,
                       sizeof(routes)) == 0 &&
            record_route_pair(p, msg_home(msg), f->icid, ue, ims_ptx_call_id(tx), routes, token,
                              &ue_side, &core) == 0) {
            hop.record_route_uri = ue_side;
            hop.record_route_inner = core;
        }
        if (hop.record_route_uri && !from_ue)
            f->rr = record_route_set(req, hop.record_route_uri, hop.record_route_inner);
        if (!hop.record_route_uri || (!from_ue && !f->rr)) {
            char warning[128];
            ims_sip_warning(p->d->sip, warning, sizeof(warning), "cannot build the request");
            ims_ptx_reply(tx, 500, NULL, warning);
            return 0;
        }
    }
    int st = ims_ptx_forward_ex(tx, &hop);
    if (st)
        ims_ptx_reply(tx, st, NULL, NULL);
    return 0;
}

/* P-Asserted-Identity from the registered set; P-Preferred-Identity removed */
static int assert_identity(msg_t *msg, sip_t *sip, const struct pcscf_binding *b, char *id,
                           size_t len)
{
    int rc = -ENOENT;
    char want[PCSCF_URI_MAX];
    for (sip_p_preferred_identity_t *pp = sip_p_preferred_identity(sip); pp && rc != 1;
         pp = pp->ppid_next) {
        if (url_e(want, sizeof(want), pp->ppid_url) > 0)
            rc = pcscf_identity_choose(b, want, id, len);
    }
    if (rc != 1)
        rc = pcscf_identity_choose(b, NULL, id, len);
    if (rc < 0)
        return rc;
    sip_p_preferred_identity_t *pp;
    while ((pp = sip_p_preferred_identity(sip)) != NULL)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)pp);
    ims_sip_paid_remove(msg, sip);
    return ims_sip_paid_add(msg, sip, id);
}

/* The route set of an originating request is the Service-Route (TS 24.229 5.2.6.3.2), never
 * the one the UE chose; none for a fixed next hop (@b NULL: the E-CSCF) or a registration
 * without Service-Route (the Request-URI decides then). A UE does not record-route either:
 * Record-Route entries it wrote go (ours is the first of the dialog). */
static int preload_routes(msg_t *msg, sip_t *sip, const struct pcscf_binding *b)
{
    while (sip->sip_route)
        sip_route_remove(msg, sip);
    while (sip->sip_record_route)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_record_route);
    for (int i = 0; b && i < b->nroutes; i++)
        if (sip_add_make(msg, sip, sip_route_class, b->routes[i]) != 0)
            return -EINVAL;
    return 0;
}

/* A P-Charging-Vector of ours: a UE is outside the trust domain (RFC 7315 section 4) */
static int charging_vector(struct pcscf *p, msg_t *msg, sip_t *sip, char *icid, size_t len)
{
    struct ims_pcv pcv = { 0 };
    char value[512];
    ims_icid_generate(pcv.icid, sizeof(pcv.icid), ims_sip_address(p->d->sip));
    snprintf(pcv.generated_at, sizeof(pcv.generated_at), "%s", ims_sip_address(p->d->sip));
    snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", p->orig_ioi);
    snprintf(icid, len, "%s", pcv.icid);
    if (ims_pcv_format(&pcv, value, sizeof(value)) < 0)
        return -EINVAL;
    return ims_sip_header_set(msg, sip, "P-Charging-Vector", value);
}

static int originating(struct pcscf *p, nta_incoming_t *irq, struct pcscf_binding *b,
                       const struct ims_sip_source *src, const url_t *next_hop)
{
    int status;
    struct fwd *f;
    struct ims_ptx *tx = take_charged(p, irq, &status, NULL, false, &f);
    if (!tx)
        return status;
    msg_t *msg = ims_ptx_msg(tx);
    sip_t *sip = ims_ptx_sip(tx);
    char id[PCSCF_URI_MAX] = "", icid[128] = "";
    struct ims_log_ids ids = { .call_id = ims_ptx_call_id(tx) };
    if ((b && assert_identity(msg, sip, b, id, sizeof(id)) != 0) ||
        (!b && ims_sip_paid_remove(msg, sip) < 0) ||
        charging_vector(p, msg, sip, icid, sizeof(icid)) != 0 ||
        preload_routes(msg, sip, next_hop ? NULL : b) != 0) {
        char warning[128];
        ims_sip_warning(p->d->sip, warning, sizeof(warning), "cannot build the request");
        ims_ptx_reply(tx, 500, NULL, warning);
        return 0;
    }
    ids.icid = icid;
    snprintf(f->icid, sizeof(f->icid), "%s", icid);
    ims_log(IMS_LOG_DEBUG, &ids, "pcscf: %s from %s as %s", sip->sip_request->rq_method_name,
            b ? b->src.key : "an unregistered UE", b ? id : "(no identity)");
    /* the caller's route set is known from the responses only: they get the real token.
     * The entry the core sees goes on top, the UE's below it (RFC 5658) */
    url_t *ue_side = NULL, *core = NULL;
    int st = record_route_pair(p, msg_home(msg), icid, src, ims_ptx_call_id(tx),
                               ROUTES_PENDING, f->issued, &ue_side, &core);
    struct ims_ptx_hop hop = { .next_hop = next_hop, .record_route = true,
                               .record_route_uri = core ? core : ue_side,
                               .record_route_inner = core ? ue_side : NULL };
    f->ue = *src;
    st = st == 0 ? ims_ptx_forward_ex(tx, &hop) : 500;
    if (st)
        ims_ptx_reply(tx, st, NULL, NULL);
    return 0;
}

static int emergency(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                     struct pcscf_binding *b, const struct ims_sip_source *src)
{
    ims_counter_inc(m.emergency);
    if (!p->ecscf) {
        char why[160];
        snprintf(why, sizeof(why), "%s to an emergency service: no E-CSCF is configured here",
                 sip->sip_request->rq_method_name);
        return answer(p, irq, sip, 380, why);
    }
    return originating(p, irq, b, src, p->ecscf);
}

/* The ICID our Route entry carries (Record-Route of the dialog), "" when none */
static void icid_of_route(const sip_route_t *r, char *icid, size_t len)
{
    icid[0] = '\0';
    if (r->r_url->url_params)
        ims_url_param(r->r_url->url_params, "icid", icid, len);
}

/* A terminating request from the core: for the registration its flow token names */
static int terminating(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                       const sip_route_t *r)
{
    char token[96] = "";
    struct ims_sip_source ue;
    if (!r->r_url->url_params ||
        ims_url_param(r->r_url->url_params, "ft", token, sizeof(token)) <= 0 ||
        pcscf_flow_parse(p, token, &ue) != 0) {
        ims_counter_inc(m.refused);
        return answer(p, irq, sip, 404, "the Route names no registration of this P-CSCF "
                      "(no valid flow token)");
    }
    if (!pcscf_bindings_by_source(p->bindings, ue.key, pcscf_now())) {
        ims_counter_inc(m.refused);
        char why[160];
        snprintf(why, sizeof(why), "the registration of the UE at %s is gone", ue.key);
        return answer(p, irq, sip, 480, why);
    }
    ims_counter_inc(m.terminating);
    return pass(p, irq, NULL, false, dialog_forming(sip->sip_request->rq_method), &ue);
}

/* A request from a trusted peer of the core: for a UE, or along a dialog */
static int from_core(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                     const struct ims_sip_source *src)
{
    const sip_route_t *r = sip->sip_route;
    bool own_route = r && ims_sip_is_own(p->d->sip, r->r_url);
    if (own_route && r->r_url->url_user && strcmp(r->r_url->url_user, "term") == 0)
        return terminating(p, irq, sip, r);
    if (own_route && sip->sip_to && sip->sip_to->a_tag) {
        char icid[128], token[96] = "";
        struct ims_sip_source ue;
        icid_of_route(r, icid, sizeof(icid));
        /* our Record-Route names the UE's flow: the request goes there (its connection) */
        bool flow = r->r_url->url_params &&
                    ims_url_param(r->r_url->url_params, "ft", token, sizeof(token)) > 0;
        if (flow && pcscf_flow_parse(p, token, &ue) != 0) {
            ims_counter_inc(m.refused);
            return answer(p, irq, sip, 404, "the Route names no UE flow of this P-CSCF (no "
                          "valid flow token)");
        }
        ims_counter_inc(m.in_dialog);
        pcscf_charging_in_dialog(p, sip);
        return pass(p, irq, icid, false, false, flow ? &ue : NULL);
    }
    if (sip->sip_request->rq_method == sip_method_ack)
        return 200;   /* not ours to relay: absorbed */
    ims_counter_inc(m.refused);
    char why[200];
    snprintf(why, sizeof(why), "%s from %s: not for a UE of this P-CSCF (no Route of its "
             "Path or Record-Route)", sip->sip_request->rq_method_name, src->key);
    return answer(p, irq, sip, 403, why);
}

/* A request of a UE inside a dialog: only along our Record-Route, and only from the flow
 * the dialog was made on (its token) */
static int ue_in_dialog(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                        const struct ims_sip_source *src)
{
    const sip_route_t *r = sip->sip_route;
    char token[40] = "", icid[128] = "";
    const char *call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "";
    if (r && ims_sip_is_own(p->d->sip, r->r_url) && r->r_url->url_params)
        ims_url_param(r->r_url->url_params, "ue", token, sizeof(token));
    char routes[4096] = "";
    const sip_route_t *after = r ? r->r_next : NULL;
    if (pair_half(p, after))   /* the core-facing half of our pair (a TLS UE) */
        after = after->r_next;
    if (!token[0] || route_text(after, NULL, false, routes, sizeof(routes)) != 0 ||
        !pcscf_dialog_token_ok(p, src, call_id, routes, token)) {
        ims_counter_inc(m.refused);
        char why[200];
        snprintf(why, sizeof(why), "%s from %s: not a dialog of this UE's flow (or not along "
                 "its route set)",
                 sip->sip_request->rq_method_name, src->key);
        return answer(p, irq, sip, 403, why);   /* an ACK: logged, not answered */
    }
    icid_of_route(r, icid, sizeof(icid));
    ims_counter_inc(m.in_dialog);
    pcscf_charging_in_dialog(p, sip);
    return pass(p, irq, icid, true, false, NULL);
}

int pcscf_request(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                  const struct ims_sip_source *src)
{
    sip_method_t method = sip->sip_request->rq_method;
    const url_t *ruri = sip->sip_request->rq_url;
    bool in_dialog = sip->sip_to && sip->sip_to->a_tag;
    int status = pcscf_regevent_request(p, irq, sip, src);   /* our reg-event dialogs */
    if (status != -ENOENT)
        return status;
    if (!sip->sip_route && ims_sip_is_own(p->d->sip, ruri)) {
        if (method == sip_method_options)
            return ims_sip_reply_unhandled(p->d->sip, irq, sip, p->d->desc->sip_allow);
        if (in_dialog && method != sip_method_ack)
            return answer(p, irq, sip, 481, "no such dialog here");
    }
    if (src->trusted)
        return from_core(p, irq, sip, src);
    struct pcscf_saset *over;
    char why_sa[200];
    if (pcscf_sas_arrival(p->sas, src, false, &over, why_sa, sizeof(why_sa)) != 0) {
        ims_counter_inc(m.refused);
        return answer(p, irq, sip, 403, why_sa);
    }
    if (in_dialog)
        return ue_in_dialog(p, irq, sip, src);
    if (method == sip_method_ack)
        return 200;   /* not ours to relay: absorbed */
    struct pcscf_binding *b = pcscf_bindings_by_source(p->bindings, src->key, pcscf_now());
    if (pcscf_is_emergency(ruri))
        return emergency(p, irq, sip, b, src);
    if (!b) {
        ims_counter_inc(m.refused);
        char why[160];
        snprintf(why, sizeof(why), "%s from %s: the UE is not registered here",
                 sip->sip_request->rq_method_name, src->key);
        return answer(p, irq, sip, 403, why);
    }
    ims_counter_inc(m.originating);
    return originating(p, irq, b, src, NULL);
}
