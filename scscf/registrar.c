/*
 * registrar.c - the S-CSCF registrar (TS 24.229 5.4.1, RFC 3261 10.3, RFC 3327, RFC 3608)
 *
 * REGISTER: identities -> expiry check (423) -> authentication (MAR + 401 challenge, then
 * the answer is verified here) -> room for the contacts (403) -> SAR -> bindings -> 200 OK
 * with the Contacts, Path, Service-Route and P-Associated-URI. De-registration (expires 0)
 * removes bindings; the last one goes only once the HSS accepted the SAR
 * USER_DEREGISTRATION (a failed SAR leaves the registration as it was and the UE gets the
 * error). The tick expires bindings (SAR TIMEOUT_DEREGISTRATION) and writes the store.
 *
 * A wrong answer to a challenge gets a new challenge (401 with a Warning) until the IMPI
 * has scscf.max_auth_failures of them in scscf.auth_failure_window seconds: then 403, and
 * until that window ends no new challenge is issued for it (403 with a Warning saying when
 * to try again). An answer that does not fit its challenge (another identity or realm, no
 * qop) gets 403 at once, a digest uri other than the Request-URI 400 (RFC 2617 3.2.2.5);
 * both count as failures.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "diam_doic.h"
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

/* A REGISTER waiting for the HSS */
struct reg {
    struct scscf *s;
    nta_incoming_t *irq;
    msg_t *msg;
    const sip_t *sip;
    char impi[SCSCF_ID_MAX];
    char impu[SCSCF_ID_MAX];
    char call_id[128];
    unsigned expires;             /* asked: 0 is a de-registration */
    int sat;                      /* Server-Assignment-Type sent */
    bool stale;                   /* the UE answered an unknown or expired nonce */
    char warning[160];            /* why a new challenge is sent ("" none) */
    time_t t0;                    /* when the REGISTER arrived (charging) */
    msg_t *ok;                    /* the 200 OK, waiting for the store's commit */
};

static struct {
    struct ims_counter *challenged, *registered, *refreshed, *deregistered, *refused,
        *auth_failed, *expired;
    struct ims_counter *limit_contacts, *limit_challenges, *limit_challenges_impi,
        *limit_auth_failures;
    struct ims_gauge *sets, *contacts, *challenges;
} m;

void scscf_registrar_metrics(void)
{
    const char *name = "scscf_register_total", *help = "REGISTER outcomes";
    m.challenged = ims_counter_new(name, help, "outcome=\"challenged\"");
    m.registered = ims_counter_new(name, help, "outcome=\"registered\"");
    m.refreshed = ims_counter_new(name, help, "outcome=\"refreshed\"");
    m.deregistered = ims_counter_new(name, help, "outcome=\"deregistered\"");
    m.refused = ims_counter_new(name, help, "outcome=\"refused\"");
    m.auth_failed = ims_counter_new(name, help, "outcome=\"auth_failed\"");
    m.expired = ims_counter_new("scscf_bindings_expired_total", "Bindings that expired", NULL);
    m.sets = ims_gauge_new("scscf_registered_sets", "Registered implicit registration sets",
                           NULL);
    m.contacts = ims_gauge_new("scscf_bindings", "Registered contacts", NULL);
    m.challenges = ims_gauge_new("scscf_auth_challenges", "Challenges waiting for an answer",
                                 NULL);
    const char *lim = "scscf_limit_total", *lhelp = "requests refused at a configured bound";
    m.limit_contacts = ims_counter_new(lim, lhelp, "limit=\"contacts\"");
    m.limit_challenges = ims_counter_new(lim, lhelp, "limit=\"challenges\"");
    m.limit_challenges_impi = ims_counter_new(lim, lhelp, "limit=\"challenges_per_impi\"");
    m.limit_auth_failures = ims_counter_new(lim, lhelp, "limit=\"auth_failures\"");
}

/* After every registration change: O(1), the store keeps the counts */
static void count_state(struct scscf *s)
{
    ims_gauge_set(m.sets, (int64_t)s->naors);
    ims_gauge_set(m.contacts, (int64_t)s->ncontacts);
    ims_gauge_set(m.challenges, (int64_t)scscf_auth_pending(s));
}

static struct ims_log_ids ids_of(const struct reg *r)
{
    return (struct ims_log_ids){ .call_id = r->call_id };
}

static void reg_free(struct reg *r)
{
    if (r->irq)
        nta_incoming_destroy(r->irq);
    if (r->msg)
        msg_destroy(r->msg);
    if (r->ok)
        msg_destroy(r->ok);
    free(r);
}

/* Final answer with a Warning and, for 480 and 503, Retry-After @retry_after seconds, not
 * logged; the REGISTER is finished. */
static void answer_refusal(struct reg *r, int status, const char *phrase, const char *why,
                           unsigned retry_after)
{
    char warning[320], ra[16];
    ims_sip_warning(r->s->d->sip, warning, sizeof(warning), "%s", why);
    snprintf(ra, sizeof(ra), "%u", retry_after);
    nta_incoming_treply(r->irq, status, phrase ? phrase : sip_status_phrase(status),
                        SIPTAG_WARNING_STR(warning),
                        TAG_IF(status == 480 || status == 503, SIPTAG_RETRY_AFTER_STR(ra)),
                        TAG_END());
    ims_sip_count_response(r->s->d->sip, status);
    ims_counter_inc(m.refused);
    reg_free(r);
}

/* answer_refusal() with Retry-After scscf.retry_after, logged */
static void refuse(struct reg *r, int status, const char *phrase, const char *why)
{
    struct ims_log_ids ids = ids_of(r);
    ims_log(IMS_LOG_INFO, &ids, "scscf: REGISTER %s (%s) refused %d: %s", r->impu, r->impi,
            status, why);
    answer_refusal(r, status, phrase, why, r->s->retry_after);
}

static void refuse_cx(struct reg *r, const struct scscf_cx_answer *a)
{
    const char *phrase, *why;
    int st = scscf_cx_sip_status(a, &phrase, &why);
    refuse(r, st, phrase, why);
}

/* ---- the 200 OK ---- */

/* The instance ID without its angle brackets (the gr parameter's value) */
static void instance_id(const char *instance, char *buf, size_t len)
{
    size_t n = strlen(instance);
    if (n >= 2 && instance[0] == '<' && instance[n - 1] == '>')
        snprintf(buf, len, "%.*s", (int)(n - 2), instance + 1);
    else
        snprintf(buf, len, "%s", instance);
}

/* Contact list of the 200 OK; with @gruu (the UE supports it) the GRUUs of RFC 5627 */
static void contacts_value(const struct scscf *s, const struct scscf_aor *aor,
                           const char *impu, bool gruu, time_t now, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (const struct scscf_contact *c = aor ? aor->contacts : NULL; c && off < len; c = c->next) {
        off += (size_t)snprintf(buf + off, len - off, "%s<%s>;expires=%ld", off ? ", " : "",
                                c->uri, (long)(c->expires > now ? c->expires - now : 0));
        if (c->instance[0] && off < len)
            off += (size_t)snprintf(buf + off, len - off, ";+sip.instance=\"%s\"", c->instance);
        if (c->reg_id && off < len)
            off += (size_t)snprintf(buf + off, len - off, ";reg-id=%d", c->reg_id);
        if (gruu && c->instance[0] && off < len) {
            char id[128];
            instance_id(c->instance, id, sizeof(id));
            off += (size_t)snprintf(buf + off, len - off, ";pub-gruu=\"%s;gr=%s\"", impu, id);
            if (c->tgruu[0] && off < len)
                off += (size_t)snprintf(buf + off, len - off, ";temp-gruu=\"sip:%s@%s;gr\"",
                                        c->tgruu, s->realm);
        }
    }
}

/* P-Associated-URI: the registered identity first, then the other non-barred ones */
static void associated_value(const struct scscf_aor *aor, const char *impu, char *buf,
                             size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "<%s>", impu);
    for (int i = 0; aor && i < aor->nimpus && off < len; i++)
        if (!aor->barred[i] && strcasecmp(aor->impus[i], impu) != 0)
            off += (size_t)snprintf(buf + off, len - off, ", <%s>", aor->impus[i]);
}

/* The 200 OK (not sent yet: third-party registration may carry it) */
static msg_t *build_ok(struct reg *r, const struct scscf_aor *aor)
{
    char contacts[4096], assoc[2048], pau[2100];
    time_t now = time(NULL);
    bool gruu = sip_has_feature(r->sip->sip_supported, "gruu");
    contacts_value(r->s, aor, r->impu, gruu, now, contacts, sizeof(contacts));
    associated_value(aor, r->impu, assoc, sizeof(assoc));
    snprintf(pau, sizeof(pau), "P-Associated-URI: %s", assoc);
    char pcfa[300] = "";
    if (aor && aor->ccf) {
        struct ims_pcfa f = { .nccf = 1 };
        snprintf(f.ccf[0], sizeof(f.ccf[0]), "%s", aor->ccf);
        char v[280];
        if (ims_pcfa_format(&f, v, sizeof(v)) > 0)
            snprintf(pcfa, sizeof(pcfa), "P-Charging-Function-Addresses: %s", v);
    }
    msg_t *resp = nta_incoming_create_response(r->irq, 0, NULL);
    if (resp && nta_incoming_complete_response(
                    r->irq, resp, SIP_200_OK, TAG_IF(contacts[0], SIPTAG_CONTACT_STR(contacts)),
                    SIPTAG_PATH(r->sip->sip_path),
                    TAG_IF(aor, SIPTAG_SERVICE_ROUTE_STR(r->s->service_route)),
                    TAG_IF(aor, SIPTAG_HEADER_STR(pau)),
                    TAG_IF(pcfa[0], SIPTAG_HEADER_STR(pcfa)),
                    SIPTAG_SERVER_STR("scscf"), TAG_END()) < 0) {
        msg_destroy(resp);
        resp = NULL;
    }
    return resp;
}

/* The store committed (@rc 0) what the REGISTER changed, and all before it: the 200 OK
 * leaves. When the commit failed the UE gets 500 (asking again rewrites the binding). */
static void on_stored(void *arg, int rc)
{
    struct reg *r = arg;
    msg_t *resp = r->ok;
    r->ok = NULL;
    if (rc) {
        msg_destroy(resp);
        refuse(r, 500, NULL, "the registration could not be stored");
        return;
    }
    scscf_charging_register(r->s, r->sip, 200, r->t0);
    nta_incoming_mreply(r->irq, resp);
    ims_sip_count_response(r->s->d->sip, 200);
    reg_free(r);
}

/*
 * Send the 200 OK @resp once the registration it reports is on disk (scscf_store_commit:
 * group commit with the other REGISTERs of the moment), so that a restart after a crash
 * knows every binding a 200 OK confirmed. No @resp: 500 at once.
 */
static void send_ok(struct reg *r, msg_t *resp)
{
    if (!resp) {
        nta_incoming_treply(r->irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        ims_sip_count_response(r->s->d->sip, 500);
        reg_free(r);
        return;
    }
    r->ok = resp;
    if (scscf_store_commit(r->s, on_stored, r) != 0)
        on_stored(r, -ENOMEM);
}

static void reply_ok(struct reg *r, const struct scscf_aor *aor)
{
    send_ok(r, build_ok(r, aor));
}

/* ---- bindings from the REGISTER ---- */

static unsigned contact_expires(const struct scscf *s, const sip_t *sip, const sip_contact_t *c)
{
    unsigned e = c->m_expires ? (unsigned)strtoul(c->m_expires, NULL, 10)
                 : sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta
                                    : s->default_expires;
    return e > s->max_expires ? s->max_expires : e;
}

static void instance_of(const sip_contact_t *c, char *buf, size_t len, int *reg_id)
{
    const char *inst = msg_params_find(c->m_params, "+sip.instance=");
    const char *rid = msg_params_find(c->m_params, "reg-id=");
    buf[0] = '\0';
    if (inst) {
        size_t n = strlen(inst);
        if (n >= 2 && inst[0] == '"' && inst[n - 1] == '"')
            snprintf(buf, len, "%.*s", (int)(n - 2), inst + 1);
        else
            snprintf(buf, len, "%s", inst);
    }
    *reg_id = rid ? atoi(rid) : 0;
}

/* The Path of the REGISTER as one list ("" when none, or too long to keep: the UE is then
 * reached directly) */
static void path_of(const sip_t *sip, char *path, size_t len)
{
    size_t off = 0;
    path[0] = '\0';
    for (const sip_path_t *p = sip->sip_path; p && off + 3 < len; p = p->r_next) {
        if (off)
            off += (size_t)snprintf(path + off, len - off, ", ");
        issize_t n = msg_header_field_e(path + off, len - off, (msg_header_t *)p, 0);
        if (n < 0 || (size_t)n >= len - off) {
            path[0] = '\0';
            return;
        }
        off += (size_t)n;
    }
}

/*
 * The Contacts of the REGISTER as bindings in *@out (malloc'd, the caller frees; expires 0
 * marks one to remove). Returns their number, -E2BIG when there are more than
 * scscf.max_contacts (they could not all be kept), or -ENOMEM.
 */
static int read_contacts(const struct reg *r, struct scscf_contact_in **out)
{
    const sip_t *sip = r->sip;
    int n = 0;
    *out = NULL;
    for (const sip_contact_t *c = sip->sip_contact; c; c = c->m_next)
        n++;
    if ((unsigned)n > r->s->max_contacts)
        return -E2BIG;
    struct scscf_contact_in *in = n ? calloc((size_t)n, sizeof(*in)) : NULL;
    if (n && !in)
        return -ENOMEM;
    time_t now = time(NULL);
    int i = 0;
    for (const sip_contact_t *c = sip->sip_contact; c; c = c->m_next, i++) {
        struct scscf_contact_in *b = &in[i];
        url_e(b->uri, sizeof(b->uri), c->m_url);
        unsigned e = contact_expires(r->s, sip, c);
        b->expires = e ? now + (time_t)e : 0;
        b->cseq = sip->sip_cseq ? sip->sip_cseq->cs_seq : 0;
        instance_of(c, b->instance, sizeof(b->instance), &b->reg_id);
        snprintf(b->call_id, sizeof(b->call_id), "%s", r->call_id);
        path_of(sip, b->path, sizeof(b->path));
        snprintf(b->impi, sizeof(b->impi), "%s", r->impi);
        if (sip->sip_user_agent && sip->sip_user_agent->g_string)
            snprintf(b->user_agent, sizeof(b->user_agent), "%s", sip->sip_user_agent->g_string);
    }
    *out = in;
    return n;
}

/* Apply every Contact of the REGISTER to @aor (expires 0 removes one): 0, -EDQUOT (no room
 * left for one: those before it are applied) or -ENOMEM */
static int apply_contacts(struct reg *r, struct scscf_aor *aor)
{
    struct scscf_contact_in *in;
    int n = read_contacts(r, &in), rc = 0;
    if (n < 0)
        return n == -E2BIG ? -EDQUOT : n;
    for (int i = 0; i < n && rc == 0; i++) {
        if (in[i].expires == 0)
            scscf_store_unbind(r->s, aor, in[i].uri);
        else
            rc = scscf_store_bind(r->s, aor, &in[i], r->s->max_contacts);
    }
    free(in);
    return rc;
}

/* Whether the REGISTER's contacts fit the set: 0, -EDQUOT, -ENOMEM */
static int contacts_fit(const struct reg *r, const struct scscf_aor *aor)
{
    struct scscf_contact_in *in;
    int n = read_contacts(r, &in);
    if (n < 0)
        return n == -E2BIG ? -EDQUOT : n;
    int rc = scscf_store_fits(aor, in, n, r->s->max_contacts);
    free(in);
    return rc;
}

/* More bindings than scscf.max_contacts: 403 (TS 24.229 5.4.1.2.2 answers a UE beyond the
 * flows it may register so); asking again does not help until a binding goes */
static void refuse_contacts(struct reg *r)
{
    char why[160];
    snprintf(why, sizeof(why), "too many contacts: at most %u per registration",
             r->s->max_contacts);
    ims_counter_inc(m.limit_contacts);
    refuse(r, 403, "Forbidden", why);
}

/* ---- SAR ---- */

static bool is_star(const sip_t *sip)
{
    return sip->sip_contact && sip->sip_contact->m_url->url_type == url_any;
}

static bool names_contact(const sip_t *sip, const char *uri)
{
    for (const sip_contact_t *c = sip->sip_contact; c; c = c->m_next) {
        char u[SCSCF_ID_MAX];
        url_e(u, sizeof(u), c->m_url);
        if (strcasecmp(u, uri) == 0)
            return true;
    }
    return false;
}

/* The bindings a de-registration names go (all of them for Contact: *) */
static void remove_named(struct reg *r, struct scscf_aor *aor)
{
    if (is_star(r->sip)) {
        scscf_store_unbind(r->s, aor, NULL);
        return;
    }
    for (const sip_contact_t *c = r->sip->sip_contact; c; c = c->m_next) {
        char uri[SCSCF_ID_MAX];
        url_e(uri, sizeof(uri), c->m_url);
        scscf_store_unbind(r->s, aor, uri);
    }
}

static void sar_async(struct scscf *s, const char *impi, const char *impu, int type);

/* The HSS accepted the de-registration: now the bindings it names go */
static void deregistered(struct reg *r)
{
    struct ims_log_ids ids = ids_of(r);
    struct scscf_aor *aor = scscf_store_find(r->s, r->impu);
    if (aor)
        remove_named(r, aor);
    if (aor && aor->contacts) {
        /* bindings added while the SAR was under way: they stay, and the HSS hears of the
         * registration again */
        ims_log(IMS_LOG_WARN, &ids, "scscf: %s re-registered while it de-registered: %d "
                "binding(s) kept", r->impu, scscf_store_count_contacts(aor));
        sar_async(r->s, r->impi, r->impu, SCSCF_SAT_REGISTRATION);
        scscf_notify_all(r->s, aor, "unregistered", false);
        count_state(r->s);
        reply_ok(r, aor);
        return;
    }
    msg_t *resp = build_ok(r, NULL);
    if (aor) {
        scscf_thirdparty_register(r->s, aor, r->impu, SCSCF_REG_DE, 0, r->msg, resp);
        scscf_notify_all(r->s, aor, "unregistered", true);
        scscf_store_remove(r->s, aor);
    }
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s (%s) de-registered", r->impu, r->impi);
    ims_counter_inc(m.deregistered);
    count_state(r->s);
    send_ok(r, resp);
}

/* The HSS accepted the (re-)registration: bindings, charging functions, NOTIFY, 200 */
static void registered(struct reg *r, const struct scscf_cx_answer *a)
{
    struct ims_log_ids ids = ids_of(r);
    struct scscf_aor *aor = scscf_store_upsert(r->s, r->impu, a->user_data);
    if (aor)
        aor->unreg_until = 0;
    int rc = aor ? apply_contacts(r, aor) : -ENOMEM;
    if (rc == -EDQUOT) {
        /* bindings added while the SAR was under way took the room */
        if (!aor->contacts) {
            sar_async(r->s, r->impi, r->impu, SCSCF_SAT_USER_DEREGISTRATION);
            scscf_store_remove(r->s, aor);
            count_state(r->s);
        }
        refuse_contacts(r);
        return;
    }
    if (rc) {
        refuse(r, 500, NULL, "out of memory");
        return;
    }
    if ((a->ccf[0] && scscf_store_set_name(&aor->ccf, a->ccf) != 0) ||
        (a->charging && scscf_store_set_name(&aor->ecf, a->ecf) != 0))
        ims_log(IMS_LOG_WARN, &ids, "scscf: out of memory: the charging functions of %s "
                "not updated", r->impu);
    bool fresh = r->sat == SCSCF_SAT_REGISTRATION;
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s (%s) %s: %d binding(s)", r->impu, r->impi,
            fresh ? "registered" : "re-registered", scscf_store_count_contacts(aor));
    ims_counter_inc(fresh ? m.registered : m.refreshed);
    scscf_notify_all(r->s, aor, fresh ? "registered" : "refreshed", false);
    count_state(r->s);
    msg_t *resp = build_ok(r, aor);
    unsigned expires = r->expires > r->s->max_expires ? r->s->max_expires : r->expires;
    scscf_thirdparty_register(r->s, aor, r->impu, fresh ? SCSCF_REG_INITIAL : SCSCF_REG_RE,
                              expires, r->msg, resp);
    send_ok(r, resp);
}

/* A failed SAR changes nothing here: the registration stays as it was, the UE gets the
 * error (480/503 with Retry-After, 403, 500: one table, common/cx_status.c) */
static void on_saa(void *arg, struct scscf_cx_answer *a)
{
    struct reg *r = arg;
    if (a->error || a->code != IMS_DIAM_SUCCESS || a->experimental)
        refuse_cx(r, a);
    else if (r->sat == SCSCF_SAT_USER_DEREGISTRATION)
        deregistered(r);
    else
        registered(r, a);
}

static void send_sar(struct reg *r, int type, bool data_available)
{
    r->sat = type;
    int rc = scscf_cx_sar(r->s, r->impi, r->impu, type, data_available, on_saa, r);
    if (rc)
        refuse(r, rc == -EAGAIN ? 503 : 480, NULL, "HSS unreachable");
}

/* Fire and forget (expiry, authentication failure): the outcome is logged. */
static void on_saa_logged(void *arg, struct scscf_cx_answer *a)
{
    char *what = arg;
    if (a->error || a->code != IMS_DIAM_SUCCESS)
        ims_warn("scscf: SAR for %s: %s", what,
                 a->error ? strerror(-a->error) : ims_diam_result_name(a->code, a->experimental));
    free(what);
}

static void sar_async(struct scscf *s, const char *impi, const char *impu, int type)
{
    char *what = strdup(impu);
    if (what && scscf_cx_sar(s, impi, impu, type, true, on_saa_logged, what) != 0) {
        ims_warn("scscf: SAR type %d for %s could not be sent", type, impu);
        free(what);
    }
}

/* ---- authenticated: register, refresh, de-register or query ---- */

/* Whether bindings of @aor not named by the de-registration @r stay */
static bool others_remain(const struct reg *r, const struct scscf_aor *aor)
{
    if (is_star(r->sip))
        return false;
    for (const struct scscf_contact *c = aor->contacts; c; c = c->next)
        if (!names_contact(r->sip, c->uri))
            return true;
    return false;
}

/* What an authenticated REGISTER does */
enum step {
    STEP_QUERY,       /* no Contact: the current bindings */
    STEP_UNBIND,      /* expires 0 for some bindings, others stay: no SAR */
    STEP_TOO_MANY,    /* more bindings than fit: 403 */
    STEP_NO_MEMORY,
    STEP_SAR,         /* (re-)registration, or de-registration of the last bindings */
};

/*
 * The step of the authenticated REGISTER @r with @aor, the set stored for its IMPU (NULL:
 * none); for STEP_SAR its Server-Assignment-Type into *@sat. Reads only: the decision
 * before the transaction (scscf_register_sar) asks it too.
 */
static enum step next_step(const struct reg *r, const struct scscf_aor *aor, int *sat)
{
    bool registered = aor && aor->contacts;
    if (!r->sip->sip_contact)
        return STEP_QUERY;
    if (r->expires == 0) {
        *sat = SCSCF_SAT_USER_DEREGISTRATION;
        return registered && others_remain(r, aor) ? STEP_UNBIND : STEP_SAR;
    }
    int rc = contacts_fit(r, aor);
    if (rc)
        return rc == -EDQUOT ? STEP_TOO_MANY : STEP_NO_MEMORY;
    *sat = registered ? SCSCF_SAT_RE_REGISTRATION : SCSCF_SAT_REGISTRATION;
    return STEP_SAR;
}

/* The authenticated REGISTER's step. Expires 0: bindings that leave others go at once, the
 * last ones only after the SAR (deregistered()) */
static void after_auth(struct reg *r)
{
    struct scscf_aor *aor = scscf_store_find(r->s, r->impu);
    int sat = 0;
    switch (next_step(r, aor, &sat)) {
    case STEP_QUERY:
        reply_ok(r, aor && aor->contacts ? aor : NULL);
        break;
    case STEP_UNBIND:
        remove_named(r, aor);
        scscf_notify_all(r->s, aor, "unregistered", false);
        count_state(r->s);
        reply_ok(r, aor);
        break;
    case STEP_TOO_MANY:
        refuse_contacts(r);
        break;
    case STEP_NO_MEMORY:
        refuse(r, 500, NULL, "out of memory");
        break;
    case STEP_SAR:
        send_sar(r, sat, sat == SCSCF_SAT_USER_DEREGISTRATION ||
                             (sat == SCSCF_SAT_RE_REGISTRATION && aor->profile));
        break;
    }
}

/* ---- MAR and the challenge ---- */

/* No room for another challenge: 503, to be asked again once pending ones have expired */
/*
 * A bound of pending challenges (scscf_auth_room: @rc -ENOSPC or -EDQUOT) refuses a
 * REGISTER of @impi: counted, logged at most once per 10 s (a flood is one line); returns
 * the text of the Warning.
 */
static const char *challenges_refused(int rc, const char *impi)
{
    static struct ims_log_limit lim = IMS_LOG_LIMIT(10);
    const char *why = rc == -EDQUOT ? "too many challenges pending for this private identity"
                                    : "too many challenges pending";
    ims_counter_inc(rc == -EDQUOT ? m.limit_challenges_impi : m.limit_challenges);
    ims_log_limited(&lim, IMS_LOG_WARN, NULL, "scscf: REGISTER of %s refused 503: %s "
                    "(scscf.max_challenges, max_challenges_per_impi)", impi, why);
    return why;
}

static void refuse_challenges(struct reg *r, int rc)
{
    answer_refusal(r, 503, NULL, challenges_refused(rc, r->impi), r->s->nonce_ttl);
}

/*
 * Early IMS and NASS-bundled (bundled.c): no challenge, the access network vouches. What
 * the user's P-CSCF saw (the UE's address, its line) must be what the HSS binds the user
 * to: then the REGISTER goes on as authenticated, else 403. A mismatch is not counted
 * towards scscf.max_auth_failures: nothing is guessed, and the lock-out would let anybody
 * who sends REGISTERs keep the user out. A pending first registration is released.
 */
static void bundled_verdict(struct reg *r, const struct scscf_cx_answer *a)
{
    char seen[64] = "", why[300];
    bool early = a->vector.scheme == SCSCF_EARLY_IMS, ok;
    if (early) {
        int rc = scscf_bundled_address(r->sip, scscf_resolve_host, r->s, seen, sizeof(seen));
        ok = rc == 0 && scscf_bundled_address_match(&a->access, seen);
        snprintf(why, sizeof(why), rc ? "early IMS: no address of the UE vouched for by its "
                 "P-CSCF (received in the Via below the P-CSCF's)" : "early IMS: the UE's "
                 "address %s is not the one its access network bound the user to", seen);
    } else {
        char lines[SCSCF_LINE_IDS_MAX][SCSCF_LINE_ID_MAX];
        int n = scscf_bundled_lines(r->sip, lines, SCSCF_LINE_IDS_MAX);
        ok = scscf_bundled_line_match(&a->access, lines, n);
        if (n)
            snprintf(seen, sizeof(seen), "%.63s", lines[0]);
        snprintf(why, sizeof(why), n ? "NASS-bundled: the line the P-CSCF saw (%s) is not one "
                 "of the user's" : "NASS-bundled: no line of the UE vouched for by its P-CSCF "
                 "(P-Access-Network-Info with dsl-location, network-provided)", seen);
    }
    struct ims_log_ids ids = ids_of(r);
    if (!ok) {
        struct scscf_aor *aor = scscf_store_find(r->s, r->impu);
        if (!aor || !aor->contacts)
            sar_async(r->s, r->impi, r->impu, SCSCF_SAT_AUTHENTICATION_FAILURE);
        ims_counter_inc(m.auth_failed);
        refuse(r, 403, "Forbidden", why);
        return;
    }
    ims_log(IMS_LOG_INFO, &ids, "scscf: %s (%s) authenticated by its access network (%s, %s)",
            r->impu, r->impi, scscf_scheme_name(a->vector.scheme), seen);
    scscf_auth_succeeded(r->s, r->impi);
    after_auth(r);
}

static void on_maa(void *arg, struct scscf_cx_answer *a)
{
    struct reg *r = arg;
    if (a->error || a->code != IMS_DIAM_SUCCESS || a->experimental) {
        refuse_cx(r, a);
        return;
    }
    if (!a->has_vector) {
        char why[200];
        snprintf(why, sizeof(why), "HSS answered without a usable authentication vector%s%s",
                 a->vector_problem ? ": " : "", a->vector_problem ? a->vector_problem : "");
        ims_warn("scscf: MAA for %s: %s", r->impi, why);
        refuse(r, 500, NULL, why);
        return;
    }
    if (scscf_scheme_is_bundled(a->vector.scheme)) {
        bundled_verdict(r, a);
        return;
    }
    char www[512], warning[320] = "";
    int rc = scscf_auth_challenge(r->s, r->impi, r->impu, &a->vector, www, sizeof(www));
    if (rc) {
        if (rc == -ENOSPC || rc == -EDQUOT)
            refuse_challenges(r, rc);
        else
            refuse(r, 500, NULL, "cannot store the challenge");
        return;
    }
    if (r->stale && strlen(www) + 12 < sizeof(www))
        strcat(www, ", stale=TRUE");
    if (r->warning[0])
        ims_sip_warning(r->s->d->sip, warning, sizeof(warning), "%s", r->warning);
    struct ims_log_ids ids = ids_of(r);
    ims_log(IMS_LOG_DEBUG, &ids, "scscf: %s challenged (%s)", r->impi,
            scscf_scheme_name(a->vector.scheme));
    nta_incoming_treply(r->irq, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(www),
                        TAG_IF(r->warning[0], SIPTAG_WARNING_STR(warning)),
                        SIPTAG_SERVER_STR("scscf"), TAG_END());
    ims_sip_count_response(r->s->d->sip, 401);
    ims_counter_inc(m.challenged);
    reg_free(r);
}

/*
 * The scheme to ask the HSS for: IMS AKA when the UE's Authorization names it, else
 * scscf.default_scheme ("Unknown": the HSS chooses by subscriber). algorithm=MD5 names no
 * scheme: the three Digest bodies (3GPP, TISPAN, PacketCable) look the same to the UE,
 * which one a subscriber has is the HSS's business; so does a REGISTER without
 * Authorization, which early IMS and NASS-bundled users send (TS 24.229 5.4.1.1).
 */
static const char *scheme_asked(const struct scscf *s, const sip_t *sip)
{
    char alg[32];
    if (ims_sip_auth_param(sip, "algorithm", alg, sizeof(alg)) == 0) {
        if (strcasecmp(alg, "AKAv1-MD5") == 0)
            return "Digest-AKAv1-MD5";
        if (strcasecmp(alg, "AKAv2-MD5") == 0)
            return "Digest-AKAv2-MD5";
    }
    return s->default_scheme;
}

static void send_mar(struct reg *r, const uint8_t *resync)
{
    int rc = scscf_cx_mar(r->s, r->impi, r->impu, scheme_asked(r->s, r->sip), resync, on_maa, r);
    if (rc)
        refuse(r, rc == -EAGAIN ? 503 : 480, NULL, "HSS unreachable");
}

/* A new challenge (MAR first), unless the IMPI is locked out or there is no room for it */
static void challenge(struct reg *r, const uint8_t *resync)
{
    unsigned left;
    if (scscf_auth_locked(r->s, r->impi, time(NULL), &left)) {
        char why[200];
        snprintf(why, sizeof(why), "too many failed authentication attempts for this private "
                 "identity: try again in %u s", left);
        ims_counter_inc(m.limit_auth_failures);
        refuse(r, 403, "Forbidden", why);
        return;
    }
    int rc = scscf_auth_room(r->s, r->impi);
    if (rc) {
        refuse_challenges(r, rc);
        return;
    }
    send_mar(r, resync);
}

/*
 * An answer that was not accepted (@res, @why), counted for the IMPI. A wrong response gets
 * a new challenge until the IMPI reaches scscf.max_auth_failures in the window; then, or
 * for an answer that does not fit its challenge, the REGISTER is refused (400 for a wrong
 * digest uri, else 403), and a pending first registration is released at the HSS (SAR
 * AUTHENTICATION_FAILURE) once the limit is reached.
 */
static void auth_failed(struct reg *r, enum scscf_auth_result res, const char *why)
{
    int n = scscf_auth_failed(r->s, r->impi, time(NULL));
    unsigned max = r->s->max_auth_failures;
    bool last = n < 0 || (unsigned)n >= max;
    ims_counter_inc(m.auth_failed);
    if (res == SCSCF_AUTH_FAILED && !last) {
        snprintf(r->warning, sizeof(r->warning), "%s (attempt %d of %u)", why, n, max);
        challenge(r, NULL);
        return;
    }
    char text[240];
    snprintf(text, sizeof(text), "%s", why);
    if (last) {
        struct scscf_aor *aor = scscf_store_find(r->s, r->impu);
        if (!aor || !aor->contacts)
            sar_async(r->s, r->impi, r->impu, SCSCF_SAT_AUTHENTICATION_FAILURE);
        ims_counter_inc(m.limit_auth_failures);
        if (n < 0)
            snprintf(text, sizeof(text), "%s; failures cannot be counted now: no new "
                     "challenge", why);
        else
            snprintf(text, sizeof(text), "%s; %d failed attempts: no new challenge for %u s",
                     why, n, r->s->auth_failure_window);
    }
    refuse(r, res == SCSCF_AUTH_BAD_URI ? 400 : 403, NULL, text);
}

/* ---- entry ---- */

static struct reg *reg_new(struct scscf *s, nta_incoming_t *irq, const sip_t *sip)
{
    struct reg *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->s = s;
    r->irq = irq;
    r->t0 = time(NULL);
    r->msg = nta_incoming_getrequest(irq);
    r->sip = sip_object(r->msg);
    snprintf(r->call_id, sizeof(r->call_id), "%s", sip->sip_call_id ? sip->sip_call_id->i_id
                                                                     : "");
    return r;
}

/* 0 < expires < min: 423 with Min-Expires (RFC 3261 10.3 step 7) */
static bool too_brief(const struct scscf *s, const sip_t *sip)
{
    for (const sip_contact_t *c = sip->sip_contact; c; c = c->m_next) {
        unsigned e = c->m_expires ? (unsigned)strtoul(c->m_expires, NULL, 10)
                     : sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta
                                        : s->default_expires;
        if (e > 0 && e < s->min_expires)
            return true;
    }
    return false;
}

/* The expiry the REGISTER @sip asks for (0: a de-registration) */
static unsigned expires_asked(const struct scscf *s, const sip_t *sip)
{
    return is_star(sip) ? 0 : ims_sip_register_expires(sip, s->default_expires);
}

/* What the verdict on the credentials leads to */
static void authenticate(struct reg *r)
{
    uint8_t resync[30];
    const char *why = "";
    enum scscf_auth_result res = scscf_auth_check(r->s, r->sip, r->impi, r->impu, resync,
                                                  &why);
    switch (res) {
    case SCSCF_AUTH_OK:
        scscf_auth_succeeded(r->s, r->impi);
        after_auth(r);
        break;
    case SCSCF_AUTH_RESYNC:
        challenge(r, resync);
        break;
    case SCSCF_AUTH_STALE:
        r->stale = true;
        challenge(r, NULL);
        break;
    case SCSCF_AUTH_NONE:
        challenge(r, NULL);
        break;
    default:
        auth_failed(r, res, why);
        break;
    }
}

int scscf_register(struct scscf *s, nta_incoming_t *irq, const sip_t *sip)
{
    struct reg *r = reg_new(s, irq, sip);
    if (!r)
        return 500;
    if (ims_sip_impu_of(sip->sip_to ? sip->sip_to->a_url : NULL, r->impu, sizeof(r->impu))) {
        refuse(r, 400, "Bad Request", "To is not a SIP or tel URI");
        return 0;
    }
    if (ims_sip_impi_of(sip, r->impi, sizeof(r->impi)) != 0) {
        refuse(r, 403, "Forbidden", "no private identity (Authorization username)");
        return 0;
    }
    if (too_brief(s, sip)) {
        char me[16];
        snprintf(me, sizeof(me), "%u", s->min_expires);
        nta_incoming_treply(irq, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR(me),
                            TAG_END());
        ims_sip_count_response(s->d->sip, 423);
        ims_counter_inc(m.refused);
        reg_free(r);
        return 0;
    }
    r->expires = expires_asked(s, sip);
    authenticate(r);
    return 0;
}

int scscf_register_sar(struct scscf *s, const sip_t *req)
{
    struct reg r = { .s = s, .sip = req };
    int sat = 0;
    if (req->sip_request->rq_method != sip_method_register || !req->sip_to ||
        ims_sip_impu_of(req->sip_to->a_url, r.impu, sizeof(r.impu)) ||
        ims_sip_impi_of(req, r.impi, sizeof(r.impi)) != 0 || too_brief(s, req) ||
        !scscf_auth_would_pass(s, req, r.impi, r.impu))
        return 0;
    r.expires = expires_asked(s, req);
    return next_step(&r, scscf_store_find(s, r.impu), &sat) == STEP_SAR ? sat : 0;
}

/* The HSS's overload report (RFC 7683) drops the @cmd (of @type) the REGISTER needs first:
 * 503 with Retry-After scscf.retry_after, counted; false when it goes */
static bool hss_throttled(struct scscf *s, enum ims_cmd cmd, int type,
                          struct ims_sip_refusal *out)
{
    if (!ims_diam_doic_throttle_early(cmd, type))
        return false;
    ims_counter_inc(m.refused);
    out->status = 503;
    out->retry_after = s->retry_after;
    snprintf(out->why, sizeof(out->why), "HSS too busy: its overload report (RFC 7683) asks "
             "for fewer %s", cmd == IMS_CMD_SAR ? "SARs" : "MARs");
    return true;
}

/*
 * The same path as scscf_register() up to challenge() or send_sar(), reading only: the
 * request alone, the tables of auth.c and the store decide. The transaction checks the
 * room again (challenge(), then scscf_auth_challenge() when the MAA is back): what the hook
 * let through may meet a table that filled meanwhile, and a REGISTER whose nonce expired
 * only now is decided there. A challenge needs a MAR, a verified answer to one mostly a
 * SAR (scscf_register_sar): when the HSS's overload report (RFC 7683) drops it, the 503
 * goes here too, before the transaction (one let through is not decided again when its
 * MAR or SAR goes: ims_diam_doic_throttle_early()).
 */
bool scscf_register_early(struct scscf *s, const sip_t *req, struct ims_sip_refusal *out)
{
    char impu[SCSCF_ID_MAX], impi[SCSCF_ID_MAX];
    unsigned left;
    int sat = scscf_register_sar(s, req);
    if (sat)
        return hss_throttled(s, IMS_CMD_SAR, sat, out);
    if (req->sip_request->rq_method != sip_method_register || !req->sip_to ||
        ims_sip_impu_of(req->sip_to->a_url, impu, sizeof(impu)) ||
        ims_sip_impi_of(req, impi, sizeof(impi)) != 0 || too_brief(s, req) ||
        !scscf_auth_wants_challenge(s, req) || scscf_auth_locked(s, impi, time(NULL), &left))
        return false;
    int rc = scscf_auth_room(s, impi);
    if (rc == 0)
        return hss_throttled(s, IMS_CMD_MAR, 0, out);
    ims_counter_inc(m.refused);
    out->status = 503;
    out->retry_after = s->nonce_ttl;
    snprintf(out->why, sizeof(out->why), "%s", challenges_refused(rc, impi));
    return true;
}

/* ---- expiry and network-initiated de-registration ---- */

static void expire_aor(struct scscf *s, struct scscf_aor *aor, time_t now)
{
    if (!aor->contacts && aor->unreg_until) {
        /* a profile kept for unregistered services: released at the HSS when unused */
        if (aor->unreg_until <= now) {
            ims_info("scscf: profile of %s (unregistered services) released", aor->impus[0]);
            sar_async(s, "", aor->impus[0], SCSCF_SAT_TIMEOUT_DEREGISTRATION);
            scscf_notify_all(s, aor, "expired", true);
            scscf_store_remove(s, aor);
        }
        return;
    }
    char impi[SCSCF_ID_MAX] = "";
    struct scscf_contact **p = &aor->contacts;
    int n = 0;
    while (*p) {
        if ((*p)->expires <= now) {
            struct scscf_contact *gone = *p;
            snprintf(impi, sizeof(impi), "%s", gone->impi);
            *p = gone->next;
            scscf_store_contact_free(s, gone);
            s->ncontacts--;
            n++;
        } else {
            p = &(*p)->next;
        }
    }
    if (!n)
        return;
    ims_counter_add(m.expired, (uint64_t)n);
    scscf_store_touch(s, aor);
    if (aor->contacts) {
        scscf_notify_all(s, aor, "expired", false);
        return;
    }
    ims_info("scscf: registration of %s expired", aor->impus[0]);
    scscf_thirdparty_register(s, aor, aor->impus[0], SCSCF_REG_DE, 0, NULL, NULL);
    sar_async(s, impi, aor->impus[0], SCSCF_SAT_TIMEOUT_DEREGISTRATION);
    scscf_notify_all(s, aor, "expired", true);
    scscf_store_remove(s, aor);
}

void scscf_registrar_tick(struct scscf *s, time_t now)
{
    struct scscf_aor *a = s->all;
    while (a) {
        struct scscf_aor *next = a->next;
        expire_aor(s, a, now);
        a = next;
    }
    scscf_auth_expire(s, now);
    count_state(s);
}

static bool has_impi(const struct scscf_aor *aor, const char *impi)
{
    for (const struct scscf_contact *c = aor->contacts; c; c = c->next)
        if (strcasecmp(c->impi, impi) == 0)
            return true;
    return false;
}

int scscf_registrar_deregister(struct scscf *s, const char *impi, const char *impu,
                               const char *reason)
{
    int n = 0;
    struct scscf_aor *a = impu ? scscf_store_find(s, impu) : s->all;
    while (a) {
        struct scscf_aor *next = impu ? NULL : a->next;
        if (impu || (impi && has_impi(a, impi))) {
            ims_info("scscf: %s de-registered by the network (%s)", a->impus[0], reason);
            scscf_notify_all(s, a, "deactivated", true);
            scscf_store_remove(s, a);
            n++;
        }
        a = next;
    }
    count_state(s);
    return n;
}

void scscf_registrar_network_deregister(struct scscf *s, const char *impu, const char *why)
{
    struct scscf_aor *aor = scscf_store_find(s, impu);
    if (!aor)
        return;
    char first[SCSCF_ID_MAX], impi[SCSCF_ID_MAX] = "";
    snprintf(first, sizeof(first), "%s", aor->impus[0]);
    if (aor->contacts)
        snprintf(impi, sizeof(impi), "%s", aor->contacts->impi);
    ims_info("scscf: %s de-registered by the network: %s", first, why);
    scscf_thirdparty_register(s, aor, impu, SCSCF_REG_DE, 0, NULL, NULL);
    sar_async(s, impi, first, SCSCF_SAT_ADMINISTRATIVE_DEREGISTRATION);
    scscf_notify_all(s, aor, "deactivated", true);
    scscf_store_remove(s, aor);
    count_state(s);
}
