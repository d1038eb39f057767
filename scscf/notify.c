/*
 * notify.c - the reg event package at the S-CSCF (RFC 3680, TS 24.229 5.4.2.1)
 *
 * A SUBSCRIBE (Event: reg) for a registered public identity creates a dialog: 200 OK,
 * then a NOTIFY with the full state (application/reginfo+xml). Every change of the
 * registration set NOTIFYs every subscriber; a refresh SUBSCRIBE renews the subscription,
 * Expires 0 or expiry ends it with a terminated NOTIFY.
 *
 * Who may subscribe (TS 24.229 5.4.2.1.1, scscf_notify_authorise): the identity asserted
 * (P-Asserted-Identity) counts only when the request comes from a trusted source, and then
 * (a) the UE itself: one of the set's public identities, and the request came from an
 * entity of the Path of one of its bindings (its P-CSCF: by source address); (b) the
 * P-CSCF: its Path URI is in a binding; (c) an AS of the set's iFCs or of
 * scscf.reg_watchers (by host). Anybody else: 403. At most scscf.max_subscriptions per
 * registration set: 503 with Retry-After beyond.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/url.h>

#define SUB_MAX_EXPIRES 86400

/*
 * A subscription keeps only what its dialog needs (RFC 3261 12.1.1): both tags, the
 * Call-ID, the From and To of our NOTIFYs, the route set, the remote target and both
 * CSeqs, as text in one allocation sized to it; no nta leg with its memory home (about
 * 2 KiB of heap each, issue 17). In-dialog requests reach it from scscf_request() through
 * the map of our tags (scscf_notify_request: matched as nta matches a leg); NOTIFYs go out
 * with the agent's own leg carrying the dialog's headers, routed as the leg routed them.
 */
enum sub_field { F_TAG, F_CALL_ID, F_RTAG, F_FROM, F_TO, F_ROUTE, F_TARGET, F_COUNT };

struct scscf_sub {
    struct scscf_sub *next;
    struct scscf *s;
    struct scscf_aor *aor;
    nta_outgoing_t *orq;          /* the NOTIFY waiting for its answer */
    time_t expires;
    unsigned version;             /* reginfo version of this subscription */
    uint32_t cseq;                /* of our last NOTIFY */
    uint32_t rseq;                /* of the watcher's last request in the dialog */
    char text[];                  /* the fields of enum sub_field, one after the other:
                                   * our tag, Call-ID, the watcher's tag ("" none), our
                                   * From (the SUBSCRIBE's To with our tag), our To (its
                                   * From), route set ("<uri>, ..." or ""), target */
};

static const char *field(const struct scscf_sub *sub, enum sub_field f)
{
    const char *t = sub->text;
    for (int i = 0; i < (int)f; i++)
        t += strlen(t) + 1;
    return t;
}

/* The watcher, for logs: the URI of our To */
static void watcher_of(const struct scscf_sub *sub, char *buf, size_t len)
{
    const char *to = field(sub, F_TO);
    const char *lt = strchr(to, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        snprintf(buf, len, "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        snprintf(buf, len, "%.*s", (int)strcspn(to, ";"), to);
}

static struct {
    struct ims_counter *subscribed, *notified, *refused, *limit;
    struct ims_gauge *active;
} m;

static void metrics(void)
{
    if (m.subscribed)
        return;
    m.subscribed = ims_counter_new("scscf_reg_subscriptions_total",
                                   "reg event SUBSCRIBEs accepted", NULL);
    m.refused = ims_counter_new("scscf_reg_subscriptions_refused_total",
                                "reg event SUBSCRIBEs refused", NULL);
    m.notified = ims_counter_new("scscf_reg_notify_total", "reg event NOTIFYs sent", NULL);
    m.active = ims_gauge_new("scscf_reg_subscriptions", "Active reg event subscriptions", NULL);
    m.limit = ims_counter_new("scscf_limit_total", "requests refused at a configured bound",
                              "limit=\"subscriptions\"");
}

/* ---- reginfo ---- */

static void registration(struct ims_buf *b, const struct scscf_aor *aor, int i, time_t now,
                         const char *event, bool terminated)
{
    ims_buf_add(b, "<registration aor=\"");
    ims_buf_add_escaped(b, aor->impus[i]);
    ims_buf_addf(b, "\" id=\"a%d\" state=\"%s\">", i, terminated ? "terminated" : "active");
    int n = 0;
    for (const struct scscf_contact *c = aor->contacts; c; c = c->next, n++) {
        ims_buf_addf(b, "<contact id=\"c%d.%d\" state=\"%s\" event=\"%s\" expires=\"%ld\">",
                     i, n, terminated ? "terminated" : "active", event,
                     terminated ? 0L : (long)(c->expires > now ? c->expires - now : 0));
        ims_buf_element(b, "uri", c->uri);
        ims_buf_add(b, "</contact>");
    }
    ims_buf_add(b, "</registration>");
}

/* The full state of @aor for one subscriber (malloc'd; NULL on allocation failure). */
static char *reginfo(const struct scscf_aor *aor, unsigned version, const char *event,
                     bool terminated)
{
    struct ims_buf b = { 0 };
    time_t now = time(NULL);
    ims_buf_addf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                     "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"%u\""
                     " state=\"full\">", version);
    for (int i = 0; i < aor->nimpus; i++)
        if (!aor->barred[i])
            registration(&b, aor, i, now, event, terminated);
    ims_buf_add(&b, "</reginfo>");
    return ims_buf_take(&b);
}

/* ---- NOTIFY ---- */

static void sub_free(struct scscf_sub *sub)
{
    if (sub->orq)
        nta_outgoing_destroy(sub->orq);   /* its answer no longer comes to us */
    if (sub->s->subs)
        ims_map_remove(sub->s->subs, field(sub, F_TAG));
    free(sub);
    ims_gauge_add(m.active, -1);
}

static void unlink_sub(struct scscf_sub *sub)
{
    if (!sub->aor)
        return;
    for (struct scscf_sub **p = &sub->aor->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    sub->aor = NULL;
}

static int on_notify_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                            sip_t const *sip)
{
    struct scscf_sub *sub = (struct scscf_sub *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    nta_outgoing_destroy(orq);
    if (sub->orq == orq)
        sub->orq = NULL;
    if (status >= 300) {
        /* the watcher is gone (481) or unreachable: end the subscription */
        struct ims_log_ids ids = { .call_id = field(sub, F_CALL_ID) };
        char who[SCSCF_ID_MAX];
        watcher_of(sub, who, sizeof(who));
        ims_log(IMS_LOG_INFO, &ids, "scscf: reg subscription of %s ended: NOTIFY got %d",
                who, status);
        unlink_sub(sub);
        sub_free(sub);
    }
    return 0;
}

/*
 * Where a NOTIFY of @sub goes, in @home: the Request-URI (*@ruri), the Route set (*@route,
 * NULL for none) and the next hop (*@hop, resolved through sip.hosts), as an nta leg makes
 * them (nta_msg_request_complete): to the target along the route set, loose or strict (the
 * first route as the Request-URI, the target last); no target: the watcher's URI.
 * 0 or -EINVAL.
 */
static int destination(struct scscf *s, const struct scscf_sub *sub, su_home_t *home,
                       url_t **ruri, sip_route_t **route, url_t **hop)
{
    const char *rs = field(sub, F_ROUTE), *target = field(sub, F_TARGET);
    sip_route_t *set = rs[0] ? ims_addr_list_parse(home, rs) : NULL;
    if (rs[0] && !set)
        return -EINVAL;
    url_t *remote = target[0] ? url_make(home, target) : NULL;
    *ruri = remote;
    if (!*ruri) {
        sip_to_t *to = sip_to_make(home, field(sub, F_TO));
        *ruri = to ? to->a_url : NULL;
    }
    *route = set;
    ims_sip_strict_route(home, set, remote, ruri, route);
    const url_t *next = set ? set->r_url : *ruri;
    if (!*ruri || !next)
        return -EINVAL;
    url_t *resolved = ims_sip_resolve(s->d->sip, home, next);
    *hop = resolved ? resolved : url_hdup(home, next);
    return *hop ? 0 : -EINVAL;
}

/* The NOTIFY of @sub with @state and @body (NULL: none), in its dialog; NULL on failure */
static nta_outgoing_t *send_notify(struct scscf_sub *sub, const char *state, const char *body,
                                   bool terminated)
{
    struct scscf *s = sub->s;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *ruri, *hop;
    sip_route_t *route;
    nta_outgoing_t *orq = NULL;
    char cseq[32], contact[300];
    snprintf(cseq, sizeof(cseq), "%u NOTIFY", sub->cseq + 1);
    /* a NOTIFY carries the notifier's Contact, the dialog's target (RFC 6665, RFC 3261
     * 12.2.1.1 for a request inside a dialog; it was missing) */
    snprintf(contact, sizeof(contact), "<" URL_PRINT_FORMAT ">",
             URL_PRINT_ARGS(ims_sip_own_uri(s->d->sip)));
    if (destination(s, sub, home, &ruri, &route, &hop) == 0)
        orq = nta_outgoing_tcreate(
            ims_sip_leg(s->d->sip), terminated ? NULL : on_notify_answer,
            terminated ? NULL : (void *)sub, (url_string_t const *)hop, SIP_METHOD_NOTIFY,
            (url_string_t const *)ruri, TAG_IF(route, SIPTAG_ROUTE(route)),
            SIPTAG_FROM_STR(field(sub, F_FROM)), SIPTAG_TO_STR(field(sub, F_TO)),
            SIPTAG_CALL_ID_STR(field(sub, F_CALL_ID)), SIPTAG_CSEQ_STR(cseq),
            SIPTAG_CONTACT_STR(contact), SIPTAG_EVENT_STR("reg"),
            SIPTAG_SUBSCRIPTION_STATE_STR(state),
            TAG_IF(body, SIPTAG_CONTENT_TYPE_STR("application/reginfo+xml")),
            TAG_IF(body, SIPTAG_PAYLOAD_STR(body)), TAG_END());
    su_home_deinit(home);
    if (orq)
        sub->cseq++;
    return orq;
}

/* Send one NOTIFY; with @terminated the subscription is over after it. */
static void notify_one(struct scscf_sub *sub, const char *event, bool terminated,
                       const char *reason)
{
    char state[64];
    time_t now = time(NULL);
    if (terminated)
        snprintf(state, sizeof(state), "terminated;reason=%s", reason);
    else
        snprintf(state, sizeof(state), "active;expires=%ld",
                 (long)(sub->expires > now ? sub->expires - now : 0));
    char *body = sub->aor ? reginfo(sub->aor, sub->version++, event, terminated) : NULL;
    nta_outgoing_t *orq = send_notify(sub, state, body, terminated);
    free(body);
    if (orq && !terminated) {
        if (sub->orq)
            nta_outgoing_destroy(sub->orq);   /* an older NOTIFY: its answer is moot */
        sub->orq = orq;
    }
    if (!orq) {
        struct ims_log_ids ids = { .call_id = field(sub, F_CALL_ID) };
        char who[SCSCF_ID_MAX];
        watcher_of(sub, who, sizeof(who));
        ims_log(IMS_LOG_WARN, &ids, "scscf: cannot send the reg NOTIFY to %s", who);
        return;
    }
    ims_counter_inc(m.notified);
}

void scscf_notify_all(struct scscf *s, struct scscf_aor *aor, const char *event,
                      bool terminated)
{
    (void)s;
    struct scscf_sub *sub = aor->subs;
    while (sub) {
        struct scscf_sub *next = sub->next;
        notify_one(sub, event, terminated, "deactivated");
        if (terminated) {
            unlink_sub(sub);
            sub_free(sub);
        }
        sub = next;
    }
}

void scscf_notify_drop(struct scscf *s, struct scscf_aor *aor)
{
    (void)s;
    while (aor->subs) {
        struct scscf_sub *sub = aor->subs;
        unlink_sub(sub);
        sub_free(sub);
    }
}

void scscf_notify_tick(struct scscf *s, time_t now)
{
    for (struct scscf_aor *a = s->all; a; a = a->next) {
        struct scscf_sub *sub = a->subs;
        while (sub) {
            struct scscf_sub *next = sub->next;
            if (sub->expires <= now) {
                notify_one(sub, "registered", true, "timeout");
                unlink_sub(sub);
                sub_free(sub);
            }
            sub = next;
        }
    }
}

/* ---- SUBSCRIBE ---- */

static unsigned sub_expires(const sip_t *sip)
{
    unsigned e = sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : 3600;
    return e > SUB_MAX_EXPIRES ? SUB_MAX_EXPIRES : e;
}

/* A request in the dialog of @sub: a refresh or the end of the subscription. A status for
 * the caller to answer, or 0 (answered) */
static int dialog_request(struct scscf_sub *sub, nta_incoming_t *irq, sip_t const *sip)
{
    /* RFC 3261 12.2.2, as nta checks a leg's requests: a lower CSeq is out of order */
    if (sub->rseq > sip->sip_cseq->cs_seq)
        return 500;
    sub->rseq = sip->sip_cseq->cs_seq;
    if (sip->sip_request->rq_method != sip_method_subscribe)
        return 405;
    unsigned e = sub_expires(sip);
    char ex[16];
    snprintf(ex, sizeof(ex), "%u", e);
    nta_incoming_treply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(ex), TAG_END());
    nta_incoming_destroy(irq);
    if (e == 0 || !sub->aor) {
        notify_one(sub, "registered", true, "timeout");
        unlink_sub(sub);
        sub_free(sub);
        return 0;
    }
    sub->expires = time(NULL) + (time_t)e;
    notify_one(sub, "registered", false, NULL);
    return 0;
}

bool scscf_notify_in_dialog(const char *call_id, const char *rtag, const sip_t *req)
{
    const char *from_tag = req->sip_from ? req->sip_from->a_tag : NULL;
    if (!req->sip_call_id || strcmp(req->sip_call_id->i_id, call_id) != 0)
        return false;
    if (!rtag[0])
        return true;
    return from_tag && (!from_tag[0] || su_casematch(from_tag, rtag));
}

int scscf_notify_request(struct scscf *s, nta_incoming_t *irq, const sip_t *sip)
{
    sip_method_t method = sip->sip_request->rq_method;
    const char *to_tag = sip->sip_to ? sip->sip_to->a_tag : NULL;
    if (!s->subs || !to_tag || !to_tag[0] || !sip->sip_cseq || method == sip_method_ack ||
        method == sip_method_cancel)
        return -ENOENT;
    struct scscf_sub *sub = ims_map_get(s->subs, to_tag);
    if (!sub || !scscf_notify_in_dialog(field(sub, F_CALL_ID), field(sub, F_RTAG), sip))
        return -ENOENT;
    return dialog_request(sub, irq, sip);
}

/* Answer a SUBSCRIBE @status with a Warning saying @why, not logged (refuse() logs) */
static int answer_refusal(struct scscf *s, nta_incoming_t *irq, int status, const char *why)
{
    char warning[256];
    ims_sip_warning(s->d->sip, warning, sizeof(warning), "%s", why);
    char ra[16];
    snprintf(ra, sizeof(ra), "%u", s->retry_after);
    nta_incoming_treply(irq, status, sip_status_phrase(status), SIPTAG_WARNING_STR(warning),
                        TAG_IF(status == 489, SIPTAG_ALLOW_EVENTS_STR("reg")),
                        TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR(ra)), TAG_END());
    nta_incoming_destroy(irq);
    ims_counter_inc(m.refused);
    return 0;
}

static int refuse(struct scscf *s, nta_incoming_t *irq, const sip_t *sip, int status,
                  const char *why)
{
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    ims_log(IMS_LOG_INFO, &ids, "scscf: reg SUBSCRIBE refused %d: %s", status, why);
    return answer_refusal(s, irq, status, why);
}

/* ---- who may subscribe (TS 24.229 5.4.2.1.1) ---- */

static bool str_eq0(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && strcmp(a, b) == 0);
}

static const char *port_of(const url_t *u)
{
    return u->url_port && *u->url_port ? u->url_port : url_port_default(u->url_type);
}

/* The same SIP entity: scheme, user, host (case-insensitive) and port (its default when
 * absent); parameters do not count */
static bool same_entity(const url_t *a, const url_t *b)
{
    return a->url_type == b->url_type && a->url_host && b->url_host &&
           strcasecmp(a->url_host, b->url_host) == 0 && str_eq0(port_of(a), port_of(b)) &&
           str_eq0(a->url_user, b->url_user);
}

static bool is_own_impu(const struct scscf_aor *aor, const url_t *who)
{
    char id[SCSCF_ID_MAX];
    if (ims_sip_impu_of(who, id, sizeof(id)) != 0)
        return false;
    for (int i = 0; i < aor->nimpus; i++)
        if (strcasecmp(aor->impus[i], id) == 0)
            return true;
    return false;
}

/* Whether an entry of the Path of one of @aor's bindings satisfies @match */
static bool any_path_entry(const struct scscf_aor *aor,
                           bool (*match)(const url_t *entry, const void *arg), const void *arg)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    bool found = false;
    for (const struct scscf_contact *c = aor->contacts; c && !found; c = c->next) {
        if (!c->path[0])
            continue;
        for (const sip_route_t *r = ims_addr_list_parse(home, c->path); r && !found;
             r = r->r_next)
            found = match(r->r_url, arg);
    }
    su_home_deinit(home);
    return found;
}

static bool entity_match(const url_t *entry, const void *who)
{
    return same_entity(entry, who);
}

static bool in_a_path(const struct scscf_aor *aor, const url_t *who)
{
    return any_path_entry(aor, entity_match, who);
}

static bool is_an_as(const url_t *who, const char *const *as, int nas)
{
    for (int i = 0; i < nas && who->url_host; i++) {
        char buf[SCSCF_IFC_AS_MAX];
        url_t u;
        snprintf(buf, sizeof(buf), "%s", as[i]);
        if (url_d(&u, buf) == 0 && u.url_host && strcasecmp(u.url_host, who->url_host) == 0)
            return true;
    }
    return false;
}

enum scscf_watcher_kind scscf_notify_authorise(const struct scscf_aor *aor,
                                               const struct scscf_watcher *w,
                                               const char *const *as, int nas)
{
    const url_t *who = w->asserted;
    if (!who || !w->trusted_source)
        return SCSCF_WATCHER_NONE;    /* an identity nobody we trust asserted */
    if (is_own_impu(aor, who))
        return w->from_path ? SCSCF_WATCHER_UE : SCSCF_WATCHER_NONE;
    if (in_a_path(aor, who))
        return SCSCF_WATCHER_PCSCF;
    if (is_an_as(who, as, nas))
        return SCSCF_WATCHER_AS;
    return SCSCF_WATCHER_NONE;
}

/* ---- where the request came from ---- */

/* @a and @b, numeric addresses, are the same address (v4 or v6, in any spelling) */
static bool same_address(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1)
        return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
    return false;
}

struct source_match {
    const char *ip;
    scscf_resolve_fn resolve;
    void *arg;
};

/* A Path entry whose host is the source address (a name mapped by the resolver) */
static bool host_is_source(const url_t *entry, const void *arg)
{
    const struct source_match *sm = arg;
    char host[64], ip[64];
    const char *h = entry->url_host;
    if (!h)
        return false;
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(n - 2), h + 1);
    else
        snprintf(host, sizeof(host), "%s", h);
    if (same_address(host, sm->ip))
        return true;
    return sm->resolve && sm->resolve(sm->arg, host, ip, sizeof(ip)) &&
           same_address(ip, sm->ip);
}

bool scscf_notify_in_path(const struct scscf_aor *aor, const char *ip,
                          scscf_resolve_fn resolve, void *arg)
{
    struct source_match sm = { .ip = ip, .resolve = resolve, .arg = arg };
    return ip && *ip && any_path_entry(aor, host_is_source, &sm);
}

/* The daemon's own host table (sip.hosts): name -> address, never DNS */
bool scscf_resolve_host(void *arg, const char *host, char *ip, size_t len)
{
    struct scscf *s = arg;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t u = { .url_type = url_sip, .url_host = host };
    url_t *r = ims_sip_resolve(s->d->sip, home, &u);
    bool ok = r && r->url_host;
    if (ok)
        snprintf(ip, len, "%s", r->url_host);
    su_home_deinit(home);
    return ok;
}

#define SUB_MAX_AS 32

/* The ApplicationServer names of every iFC of the set (pointers into its cached iFCs),
 * then those of scscf.reg_watchers */
static int set_as_names(struct scscf *s, struct scscf_aor *aor, const char **as, int max)
{
    int n = 0;
    for (int i = 0; i < aor->nimpus; i++) {
        const struct scscf_ifc_set *set = scscf_store_ifcs(s, aor, aor->impus[i]);
        for (int k = 0; k < scscf_ifc_count(set) && n < max; k++)
            as[n++] = scscf_ifc_get(set, k)->as;
    }
    for (char **w = s->reg_watchers; w && *w && n < max; w++)
        as[n++] = *w;
    return n;
}

/* Who, among the identities the request asserts, may watch @aor (the first that may) */
static enum scscf_watcher_kind authorised(struct scscf *s, struct scscf_aor *aor,
                                          const struct ims_sip_source *src, const sip_t *sip)
{
    const char *as[SUB_MAX_AS];
    int nas = set_as_names(s, aor, as, SUB_MAX_AS);
    /* whether the request comes from the trust domain (sip.trusted_peers): only then is its
     * P-Asserted-Identity an identity at all (scscf/main.c refuses the others already) */
    struct scscf_watcher w = {
        .trusted_source = src->trusted,
        .from_path = scscf_notify_in_path(aor, src->ip, scscf_resolve_host, s),
    };
    for (const sip_p_asserted_identity_t *p = sip_p_asserted_identity(sip); p;
         p = p->paid_next) {
        w.asserted = p->paid_url;
        enum scscf_watcher_kind k = scscf_notify_authorise(aor, &w, as, nas);
        if (k != SCSCF_WATCHER_NONE)
            return k;
    }
    return SCSCF_WATCHER_NONE;
}

static int count_subs(const struct scscf_aor *aor)
{
    int n = 0;
    for (const struct scscf_sub *sub = aor->subs; sub; sub = sub->next)
        n++;
    return n;
}

bool scscf_is_reg_subscribe(struct scscf *s, const sip_t *sip)
{
    char impu[SCSCF_ID_MAX];
    return sip->sip_event && strcasecmp(sip->sip_event->o_type, "reg") == 0 &&
           !(sip->sip_to && sip->sip_to->a_tag) &&
           ims_sip_impu_of(sip->sip_request->rq_url, impu, sizeof(impu)) == 0 &&
           scscf_store_find(s, impu) != NULL;
}

/* What scscf_subscribe() decides before it makes anything */
struct admission {
    struct scscf_aor *aor;
    enum scscf_watcher_kind kind;
    unsigned expires;
    char impu[SCSCF_ID_MAX];          /* the Request-URI's */
    char why[200];                    /* the Warning of a refusal */
};

/* Refuse with @status for @why (into @a->why); returns @status */
static int no(struct admission *a, int status, const char *why)
{
    snprintf(a->why, sizeof(a->why), "%s", why);
    return status;
}

/*
 * admit - the checks of a new reg-event SUBSCRIBE @sip from @src, in the order of their
 * answers: 0 with @a filled, or the status to refuse it with (@a->why). Reads only.
 */
static int admit(struct scscf *s, const sip_t *sip, const struct ims_sip_source *src,
                 struct admission *a)
{
    if (!sip->sip_event || strcasecmp(sip->sip_event->o_type, "reg") != 0)
        return no(a, 489, "only the reg event is served");
    if (ims_sip_impu_of(sip->sip_request->rq_url, a->impu, sizeof(a->impu)) != 0)
        return no(a, 400, "Request-URI is not a public identity");
    a->aor = scscf_store_find(s, a->impu);
    if (!a->aor || !a->aor->contacts)
        return no(a, 403, "the identity is not registered");
    if (!sip->sip_contact)
        return no(a, 400, "SUBSCRIBE without Contact");
    if (!sip_p_asserted_identity(sip))
        return no(a, 403, "no P-Asserted-Identity: subscribers come through a P-CSCF or are "
                  "ASs of the user");
    a->kind = authorised(s, a->aor, src, sip);
    if (a->kind == SCSCF_WATCHER_NONE)
        return no(a, 403, "the asserted identity is neither the user's (through the P-CSCF "
                  "of the registration), nor in the Path of the registration, nor an AS of "
                  "the user's");
    a->expires = sub_expires(sip);
    if (a->expires && (unsigned)count_subs(a->aor) >= s->max_subscriptions) {
        snprintf(a->why, sizeof(a->why), "too many reg-event subscriptions to this "
                 "registration (at most %u)", s->max_subscriptions);
        return 503;
    }
    return 0;
}

/* A refusal for scscf.max_subscriptions: counted, logged at most once per 10 s */
static void subscriptions_refused(const sip_t *sip, const char *why)
{
    static struct ims_log_limit lim = IMS_LOG_LIMIT(10);
    ims_counter_inc(m.limit);
    ims_log_limited(&lim, IMS_LOG_WARN, NULL, "scscf: reg SUBSCRIBE to " URL_PRINT_FORMAT
                    " refused 503: %s (scscf.max_subscriptions)",
                    URL_PRINT_ARGS(sip->sip_request->rq_url), why);
}

/*
 * The same checks as scscf_subscribe(), before the transaction: a trusted source (the
 * others get 403 from scscf/main.c), a SUBSCRIBE that scscf_is_reg_subscribe() routes
 * here. Only the bound is answered here; every other answer is left to the transaction,
 * which checks the bound again (a subscription may come or go meanwhile).
 */
bool scscf_subscribe_early(struct scscf *s, const sip_t *req, const struct ims_sip_source *src,
                           struct ims_sip_refusal *out)
{
    struct admission a = { 0 };
    if (req->sip_request->rq_method != sip_method_subscribe || !src->trusted ||
        !scscf_is_reg_subscribe(s, req) || admit(s, req, src, &a) != 503)
        return false;
    metrics();
    subscriptions_refused(req, a.why);
    ims_counter_inc(m.refused);
    out->status = 503;
    out->retry_after = s->retry_after;
    snprintf(out->why, sizeof(out->why), "%s", a.why);
    return true;
}

/* The dialog's target from the Contact of the SUBSCRIBE, as nta_leg_server_route() keeps
 * it: without headers, method and ttl (in @home; NULL without a Contact) */
static char *target_of(su_home_t *home, const sip_contact_t *contact)
{
    if (!contact)
        return NULL;
    url_t u = *contact->m_url;
    u.url_headers = NULL;
    if (u.url_params) {
        char *params = su_strdup(home, u.url_params);
        params = url_strip_param_string(params, "method");
        u.url_params = url_strip_param_string(params, "ttl");
    }
    return url_as_string(home, &u);
}

/*
 * new_sub - the subscription a new SUBSCRIBE @sip makes, with a tag of ours, in the map of
 * tags (the caller links it to its aor): the dialog of RFC 3261 12.1.1 as the UAS keeps it.
 * NULL when out of memory or the route set cannot be written.
 */
static struct scscf_sub *new_sub(struct scscf *s, const sip_t *sip)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char route[2048] = "";
    const char *f[F_COUNT] = { 0 };
    f[F_TAG] = nta_agent_newtag(home, "%s", ims_sip_agent(s->d->sip));
    f[F_CALL_ID] = sip->sip_call_id->i_id;
    f[F_RTAG] = sip->sip_from->a_tag ? sip->sip_from->a_tag : "";
    sip_to_t *from = sip_to_dup(home, sip->sip_to);
    if (from && f[F_TAG])
        sip_to_tag(home, from, f[F_TAG]);
    f[F_FROM] = from ? sip_header_as_string(home, (sip_header_t *)from) : NULL;
    f[F_TO] = sip_header_as_string(home, (sip_header_t *)sip->sip_from);
    f[F_ROUTE] = route;
    f[F_TARGET] = target_of(home, sip->sip_contact);
    bool ok = !sip->sip_record_route ||
              ims_addr_list_format((const sip_route_t *)sip->sip_record_route, route,
                                   sizeof(route)) >= 0;
    size_t len = 0;
    for (int i = 0; i < F_COUNT; i++) {
        ok = ok && f[i];
        len += ok ? strlen(f[i]) + 1 : 0;
    }
    struct scscf_sub *sub = ok ? calloc(1, sizeof(*sub) + len) : NULL;
    int err = sub ? 0 : -ENOMEM;
    if (sub) {
        char *at = sub->text;
        for (int i = 0; i < F_COUNT; i++)
            at = stpcpy(at, f[i]) + 1;
        sub->s = s;
        sub->rseq = sip->sip_cseq->cs_seq;
        /* the first CSeq as an nta leg picks it (nta_msg_request_complete) */
        sub->cseq = (uint32_t)((sip_now() >> 1) & 0x7ffffff) - 1;
        if (!s->subs && !(s->subs = ims_map_create(true)))
            err = -ENOMEM;
        else
            ims_map_put(s->subs, field(sub, F_TAG), sub, &err);
    }
    su_home_deinit(home);
    if (err) {
        free(sub);
        return NULL;
    }
    return sub;
}

int scscf_subscribe(struct scscf *s, nta_incoming_t *irq, const sip_t *sip)
{
    metrics();
    struct ims_sip_source src;
    ims_sip_source(s->d->sip, irq, &src);
    struct admission a = { 0 };
    int st = admit(s, sip, &src, &a);
    if (st == 503) {
        subscriptions_refused(sip, a.why);
        return answer_refusal(s, irq, st, a.why);
    }
    if (st)
        return refuse(s, irq, sip, st, a.why);
    struct scscf_aor *aor = a.aor;
    enum scscf_watcher_kind kind = a.kind;
    unsigned e = a.expires;
    const char *impu = a.impu;
    struct scscf_sub *sub = new_sub(s, sip);
    if (!sub)
        return 500;
    nta_incoming_tag(irq, field(sub, F_TAG));
    char ex[16], contact[300];
    snprintf(ex, sizeof(ex), "%u", e);
    snprintf(contact, sizeof(contact), "<" URL_PRINT_FORMAT ">",
             URL_PRINT_ARGS(ims_sip_own_uri(s->d->sip)));
    nta_incoming_treply(irq, SIP_200_OK, SIPTAG_EXPIRES_STR(ex), SIPTAG_CONTACT_STR(contact),
                        TAG_END());
    nta_incoming_destroy(irq);
    ims_counter_inc(m.subscribed);
    ims_gauge_add(m.active, 1);
    if (e == 0) {          /* a fetch: one NOTIFY, no subscription */
        sub->aor = aor;
        notify_one(sub, "registered", true, "timeout");
        sub->aor = NULL;
        sub_free(sub);
        return 0;
    }
    sub->expires = time(NULL) + (time_t)e;
    sub->aor = aor;
    sub->next = aor->subs;
    aor->subs = sub;
    struct ims_log_ids ids = { .call_id = field(sub, F_CALL_ID) };
    static const char *const kinds[] = { "?", "the user", "its P-CSCF", "an AS" };
    char who[SCSCF_ID_MAX];
    watcher_of(sub, who, sizeof(who));
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s (%s) subscribed to the registration of %s (%us)",
            who, kinds[kind], impu, e);
    notify_one(sub, "registered", false, NULL);
    return 0;
}
