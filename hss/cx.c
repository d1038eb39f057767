/*
 * cx.c - the Cx/Dx server of the HSS (TS 29.228 section 6, TS 29.229)
 *
 * One handler per command: parse -> decide (database) -> build the answer. Decisions follow
 * the HSS detailed behaviour of TS 29.228 6.1.1.1 (UAR), 6.1.2.1 (SAR), 6.1.4.1 (LIR) and
 * 6.3.1 (MAR). In SLF mode (hss.mode = slf) every Cx request is answered with a redirect to
 * the HSS that holds the user (TS 29.228 section 8, Dx).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "digest.h"
#include "log.h"
#include "metrics.h"
#include "milenage.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

/* User-Authorization-Type */
enum { UAT_REGISTRATION = 0, UAT_DE_REGISTRATION = 1, UAT_REGISTRATION_AND_CAPABILITIES = 2 };

/* Server-Assignment-Type */
enum {
    SAT_NO_ASSIGNMENT = 0, SAT_REGISTRATION, SAT_RE_REGISTRATION, SAT_UNREGISTERED_USER,
    SAT_TIMEOUT_DEREGISTRATION, SAT_USER_DEREGISTRATION,
    SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME, SAT_USER_DEREGISTRATION_STORE_SERVER_NAME,
    SAT_ADMINISTRATIVE_DEREGISTRATION, SAT_AUTHENTICATION_FAILURE, SAT_AUTHENTICATION_TIMEOUT,
    SAT_DEREGISTRATION_TOO_MUCH_DATA, SAT_AAA_USER_DATA_REQUEST, SAT_PGW_UPDATE,
    SAT_RESTORATION
};

/* The outcome of a decision: a Result-Code or an Experimental-Result-Code */
struct outcome {
    uint32_t code;
    bool experimental;
    const char *why;      /* for the log line */
};

#define OK_RESULT      ((struct outcome){ IMS_DIAM_SUCCESS, false, NULL })
#define EXP(c, w)      ((struct outcome){ (c), true, (w) })
#define RES(c, w)      ((struct outcome){ (c), false, (w) })

static struct ims_counter *g_answers[4][2];   /* [UAR, MAR, SAR, LIR][ok, error] */

/* ---- shared helpers ---- */

struct request {
    char session[256];
    char peer[HSS_ID_MAX];      /* the peer whose connection delivered it */
    char origin[HSS_ID_MAX];
    char impi[HSS_ID_MAX];
    char impu[HSS_ID_MAX];
    bool has_impi, has_impu;
};

static void read_common(struct msg *m, struct request *r)
{
    memset(r, 0, sizeof(*r));
    ims_diam_session_id(m, r->session, sizeof(r->session));
    ims_diam_msg_peer(m, r->peer, sizeof(r->peer));
    ims_avp_get_str(m, IMS_AVP_ORIGIN_HOST, r->origin, sizeof(r->origin));
    r->has_impi = ims_avp_get_str(m, IMS_AVP_USER_NAME, r->impi, sizeof(r->impi)) == 0;
    /* a wildcarded identity, when the peer sends it, is the key to look up */
    if (ims_avp_get_str(m, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, r->impu, sizeof(r->impu)) == 0 ||
        ims_avp_get_str(m, IMS_AVP_WILDCARDED_IMPU, r->impu, sizeof(r->impu)) == 0 ||
        ims_avp_get_str(m, IMS_AVP_PUBLIC_IDENTITY, r->impu, sizeof(r->impu)) == 0)
        r->has_impu = true;
}

static int set_outcome(struct msg *ans, struct outcome o)
{
    if (o.experimental)
        return ims_avp_add_experimental(ans, o.code);
    return ims_avp_add_u32(ans, IMS_AVP_RESULT_CODE, o.code);
}

static void log_outcome(const char *cmd, const struct request *r, struct outcome o)
{
    struct ims_log_ids ids = { .session_id = r->session };
    bool ok = o.code >= 2000 && o.code < 3000;
    ims_log(ok ? IMS_LOG_DEBUG : IMS_LOG_INFO, &ids, "cx: %s %s %s from %s -> %s%s%s", cmd,
            r->impi, r->impu, r->origin, ims_diam_result_name(o.code, o.experimental),
            o.why ? ": " : "", o.why ? o.why : "");
}

static void count(int cmd, struct outcome o)
{
    ims_counter_inc(g_answers[cmd][o.code >= 2000 && o.code < 3000 ? 0 : 1]);
}

/* identities checks shared by UAR and MAR: both must exist and belong together */
static struct outcome check_pair(struct ims_db *db, const struct request *r,
                                 struct hss_impi *impi, struct hss_impu *impu)
{
    int rc = hss_impi_find(db, r->impi, impi);
    if (rc == -ENOENT)
        return EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "unknown private identity");
    if (rc)
        return RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
    rc = hss_impu_find(db, r->impu, impu);
    if (rc == -ENOENT)
        return EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "unknown public identity");
    if (rc)
        return RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
    if (!hss_impi_has_impu(db, impi->id, impu->id))
        return EXP(IMS_DIAM_ERROR_IDENTITIES_DONT_MATCH,
                   "public identity does not belong to the private identity");
    return OK_RESULT;
}

/* Mandatory/Optional-Capability from the subscription's comma-separated lists */
/* Server-Capabilities, left out when the subscription names none: an empty group is legal
 * but some peers (Kamailio's cdp) drop the whole answer over an AVP without data. */
static int add_capabilities(struct msg *ans, const struct hss_subscription *s)
{
    if (!*s->mandatory_caps && !*s->optional_caps)
        return 0;
    struct avp *caps = ims_avp_add_group(ans, IMS_AVP_SERVER_CAPABILITIES);
    if (!caps)
        return -ENOMEM;
    const char *lists[2] = { s->mandatory_caps, s->optional_caps };
    enum ims_avp kinds[2] = { IMS_AVP_MANDATORY_CAPABILITY, IMS_AVP_OPTIONAL_CAPABILITY };
    for (int i = 0; i < 2; i++) {
        char **v = ims_strv_split(lists[i], ',', NULL);
        for (char **p = v; p && *p; p++)
            if (**p && ims_avp_add_u32(caps, kinds[i], (uint32_t)strtoul(*p, NULL, 10)) != 0) {
                ims_strv_free(v);
                return -ENOMEM;
            }
        ims_strv_free(v);
    }
    return 0;
}

static bool roaming_allowed(struct hss *h, struct ims_db *db, int64_t subscription_id,
                            const char *vn)
{
    if (!*vn || strcasecmp(vn, h->realm) == 0)
        return true;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT 1 FROM visited_network WHERE"
                                       " subscription_id = ?1 AND network = ?2");
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, subscription_id);
    sqlite3_bind_text(st, 2, vn, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return ok;
}

/* ---- UAR ---- */

struct uar_answer {
    struct outcome o;
    struct hss_subscription sub;
    bool server_name;        /* send sub.scscf_name */
    bool capabilities;       /* send Server-Capabilities */
};

static struct uar_answer uar_decide(struct hss *h, struct ims_db *db, const struct request *r,
                                    const char *vn, int32_t type)
{
    struct uar_answer a = { .o = OK_RESULT };
    struct hss_impi impi;
    struct hss_impu impu;
    a.o = check_pair(db, r, &impi, &impu);
    if (a.o.code != IMS_DIAM_SUCCESS)
        return a;
    if (hss_subscription_get(db, impi.subscription_id, &a.sub) != 0) {
        a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "subscription missing");
        return a;
    }
    if (!roaming_allowed(h, db, impi.subscription_id, vn)) {
        a.o = EXP(IMS_DIAM_ERROR_ROAMING_NOT_ALLOWED, "visited network not allowed");
        return a;
    }
    if (type != UAT_DE_REGISTRATION && (impu.barred || impi.barred)) {
        a.o = RES(IMS_DIAM_AUTHORIZATION_REJECTED, "identity barred");
        return a;
    }
    bool assigned = a.sub.scscf_name[0] != '\0';
    switch (type) {
    case UAT_DE_REGISTRATION:
        if (impu.reg_state == HSS_NOT_REGISTERED || !assigned) {
            a.o = EXP(IMS_DIAM_ERROR_IDENTITY_NOT_REGISTERED, "not registered");
            return a;
        }
        a.o = OK_RESULT;
        a.server_name = true;
        return a;
    case UAT_REGISTRATION_AND_CAPABILITIES:
        a.o = EXP(IMS_DIAM_FIRST_REGISTRATION, NULL);
        a.capabilities = true;
        return a;
    default:
        if (assigned) {
            a.o = EXP(IMS_DIAM_SUBSEQUENT_REGISTRATION, NULL);
            a.server_name = true;
        } else {
            a.o = EXP(IMS_DIAM_FIRST_REGISTRATION, NULL);
            a.capabilities = true;
        }
        return a;
    }
}

static int on_uar(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct request r;
    char vn[HSS_ID_MAX] = "";
    int32_t type = UAT_REGISTRATION;
    read_common(*msg, &r);
    ims_avp_get_str(*msg, IMS_AVP_VISITED_NETWORK_IDENTIFIER, vn, sizeof(vn));
    ims_avp_get_i32(*msg, IMS_AVP_USER_AUTHORIZATION_TYPE, &type);
    struct uar_answer a = { .o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database unavailable") };
    if (db)
        a = uar_decide(h, db, &r, vn, type);
    int rc = ims_diam_answer_new(msg, IMS_APP_CX);
    if (rc == 0)
        rc = set_outcome(*msg, a.o);
    if (rc == 0 && a.server_name)
        rc = ims_avp_add_str(*msg, IMS_AVP_SERVER_NAME, a.sub.scscf_name);
    if (rc == 0 && a.capabilities)
        rc = add_capabilities(*msg, &a.sub);
    log_outcome("UAR", &r, a.o);
    count(0, a.o);
    return rc;
}

/* ---- MAR ---- */

enum variant { V_SIP_DIGEST, V_DIGEST_MD5, V_AKAV1, V_AKAV2 };

static const char *variant_name(enum variant v)
{
    static const char *const names[] = { "SIP Digest", "Digest-MD5", "Digest-AKAv1-MD5",
                                         "Digest-AKAv2-MD5" };
    return names[v];
}

/* Map the requested SIP-Authentication-Scheme to what we deliver; "Unknown" (or none)
 * takes the identity's default scheme. Returns false when the scheme is not known. */
static bool pick_variant(const char *scheme, const struct hss_impi *impi, enum variant *v)
{
    if (!*scheme || strcasecmp(scheme, "Unknown") == 0) {
        *v = impi->default_scheme == HSS_SCHEME_AKAV1   ? V_AKAV1
             : impi->default_scheme == HSS_SCHEME_AKAV2 ? V_AKAV2
                                                        : V_SIP_DIGEST;
        return true;
    }
    if (strcasecmp(scheme, "Digest-AKAv1-MD5") == 0)
        *v = V_AKAV1;
    else if (strcasecmp(scheme, "Digest-AKAv2-MD5") == 0)
        *v = V_AKAV2;
    else if (strcasecmp(scheme, "SIP Digest") == 0 || strcasecmp(scheme, "Digest") == 0 ||
             strcasecmp(scheme, "HTTP_DIGEST_MD5") == 0)
        *v = V_SIP_DIGEST;
    else if (strcasecmp(scheme, "Digest-MD5") == 0)
        *v = V_DIGEST_MD5;
    else
        return false;
    return true;
}

static bool variant_allowed(enum variant v, const struct hss_impi *impi)
{
    switch (v) {
    case V_AKAV1:
        return (impi->schemes & HSS_SCHEME_AKAV1) && impi->has_aka;
    case V_AKAV2:
        return (impi->schemes & HSS_SCHEME_AKAV2) && impi->has_aka;
    case V_DIGEST_MD5:
        return (impi->schemes & HSS_SCHEME_DIGEST) && impi->password[0];
    default:
        return (impi->schemes & HSS_SCHEME_DIGEST) && (impi->password[0] || impi->ha1[0]);
    }
}

static int add_aka_items(struct msg *ans, struct ims_db *db, const struct hss_impi *impi,
                         enum variant v, unsigned n)
{
    uint64_t sqn;
    int rc = hss_sqn_reserve(db, impi->id, n, &sqn);
    if (rc)
        return rc;
    for (unsigned i = 0; i < n; i++, sqn = (sqn + 32) & IMS_AKA_SQN_MAX) {
        struct ims_aka_vector vec;
        uint8_t rand[16], sip_auth[32];
        if (ims_aka_random(rand) != 0 || ims_aka_vector(impi->k, impi->opc, impi->amf, sqn,
                                                        rand, &vec) != 0)
            return -EIO;
        memcpy(sip_auth, vec.rand, 16);
        memcpy(sip_auth + 16, vec.autn, 16);
        struct avp *item = ims_avp_add_group(ans, IMS_AVP_SIP_AUTH_DATA_ITEM);
        if (!item || ims_avp_add_u32(item, IMS_AVP_SIP_ITEM_NUMBER, i + 1) ||
            ims_avp_add_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, variant_name(v)) ||
            ims_avp_add_octets(item, IMS_AVP_SIP_AUTHENTICATE, sip_auth, 32) ||
            ims_avp_add_octets(item, IMS_AVP_SIP_AUTHORIZATION, vec.xres, 8) ||
            ims_avp_add_octets(item, IMS_AVP_CONFIDENTIALITY_KEY, vec.ck, 16) ||
            ims_avp_add_octets(item, IMS_AVP_INTEGRITY_KEY, vec.ik, 16))
            return -ENOMEM;
    }
    return 0;
}

static int add_digest_item(struct msg *ans, struct hss *h, const struct hss_impi *impi,
                           enum variant v)
{
    struct avp *item = ims_avp_add_group(ans, IMS_AVP_SIP_AUTH_DATA_ITEM);
    if (!item || ims_avp_add_u32(item, IMS_AVP_SIP_ITEM_NUMBER, 1) ||
        ims_avp_add_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, variant_name(v)))
        return -ENOMEM;
    if (v == V_DIGEST_MD5) {
        /* the older form: a nonce in SIP-Authenticate, the password in SIP-Authorization */
        uint8_t nonce[16];
        if (ims_aka_random(nonce) != 0)
            return -EIO;
        if (ims_avp_add_octets(item, IMS_AVP_SIP_AUTHENTICATE, nonce, 16) ||
            ims_avp_add_str(item, IMS_AVP_SIP_AUTHORIZATION, impi->password))
            return -ENOMEM;
        return 0;
    }
    char ha1[IMS_MD5_HEX];
    if (impi->ha1[0])
        snprintf(ha1, sizeof(ha1), "%s", impi->ha1);
    else
        ims_digest_ha1(impi->identity, h->realm, (const uint8_t *)impi->password,
                       strlen(impi->password), ha1);
    struct avp *d = ims_avp_add_group(item, IMS_AVP_SIP_DIGEST_AUTHENTICATE);
    if (!d || ims_avp_add_str(d, IMS_AVP_DIGEST_REALM, h->realm) ||
        ims_avp_add_str(d, IMS_AVP_DIGEST_QOP, "auth") ||
        ims_avp_add_str(d, IMS_AVP_DIGEST_HA1, ha1))
        return -ENOMEM;
    return 0;
}

/* Re-synchronisation: SIP-Authorization = RAND (16) | AUTS (14); TS 33.102 6.3.5 */
static struct outcome resync(struct ims_db *db, const struct hss_impi *impi,
                             const uint8_t *data, size_t len, const struct request *r)
{
    uint64_t sqn_ms;
    if (len != 30)
        return RES(IMS_DIAM_INVALID_AVP_VALUE, "re-sync SIP-Authorization is not RAND|AUTS");
    if (ims_aka_auts_verify(impi->k, impi->opc, data, data + 16, &sqn_ms) != 0)
        return RES(IMS_DIAM_AUTHORIZATION_REJECTED, "AUTS failed verification (MAC-S)");
    if (hss_sqn_set(db, impi->id, sqn_ms) != 0)
        return RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
    struct ims_log_ids ids = { .session_id = r->session };
    ims_log(IMS_LOG_INFO, &ids, "cx: %s re-synchronised: SQN %012llx -> %012llx", impi->identity,
            (unsigned long long)impi->sqn, (unsigned long long)sqn_ms);
    return OK_RESULT;
}

struct mar_request {
    struct request r;
    char scheme[64];
    const uint8_t *authorization;
    size_t authorization_len;
    uint32_t items;
    char server_name[HSS_ID_MAX];
};

static void read_mar(struct msg *m, struct mar_request *q)
{
    read_common(m, &q->r);
    q->scheme[0] = '\0';
    q->authorization = NULL;
    q->authorization_len = 0;
    q->items = 1;
    ims_avp_get_u32(m, IMS_AVP_SIP_NUMBER_AUTH_ITEMS, &q->items);
    ims_avp_get_str(m, IMS_AVP_SERVER_NAME, q->server_name, sizeof(q->server_name));
    struct avp *item = ims_avp_find(m, IMS_AVP_SIP_AUTH_DATA_ITEM);
    if (item) {
        ims_avp_get_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, q->scheme, sizeof(q->scheme));
        ims_avp_octets(ims_avp_find(item, IMS_AVP_SIP_AUTHORIZATION), &q->authorization,
                       &q->authorization_len);
    }
}

/*
 * Digest-MD5 (the older form) hands out the subscriber's password itself: only to the peers
 * of hss.password_peers. Any other peer gets DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED (TS
 * 29.228 6.3.1: a scheme the HSS will not serve to this requester) and the refusal is
 * logged as a warning.
 */
static struct outcome check_password_peer(const struct hss *h, const struct mar_request *q)
{
    if (hss_trust_listed(h->password_peers, q->r.peer))
        return OK_RESULT;
    struct ims_log_ids ids = { .session_id = q->r.session };
    ims_log(IMS_LOG_WARN, &ids, "cx: MAR for %s from peer %s (Origin-Host %s) asks for the "
            "plaintext password (Digest-MD5): refused, the peer is not in hss.password_peers",
            q->r.impi, q->r.peer[0] ? q->r.peer : "?", q->r.origin);
    return EXP(IMS_DIAM_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
               "Digest-MD5 (plaintext password) only for hss.password_peers");
}

static int on_mar(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct mar_request q;
    struct hss_impi impi;
    struct hss_impu impu;
    enum variant v = V_SIP_DIGEST;
    read_mar(*msg, &q);
    struct outcome o = db ? check_pair(db, &q.r, &impi, &impu)
                          : RES(IMS_DIAM_UNABLE_TO_COMPLY, "database unavailable");
    if (o.code == IMS_DIAM_SUCCESS && (!pick_variant(q.scheme, &impi, &v) ||
                                       !variant_allowed(v, &impi)))
        o = EXP(IMS_DIAM_ERROR_AUTH_SCHEME_NOT_SUPPORTED, "scheme not allowed for the user");
    if (o.code == IMS_DIAM_SUCCESS && v == V_DIGEST_MD5)
        o = check_password_peer(h, &q);
    bool aka = v == V_AKAV1 || v == V_AKAV2;
    if (o.code == IMS_DIAM_SUCCESS && aka && q.authorization_len)
        o = resync(db, &impi, q.authorization, q.authorization_len, &q.r);
    if (o.code == IMS_DIAM_SUCCESS && q.server_name[0]) {
        /* remember the S-CSCF that is authenticating the user (registration pending) */
        struct hss_subscription s;
        if (hss_subscription_get(db, impi.subscription_id, &s) == 0 &&
            (strcmp(s.scscf_name, q.server_name) != 0 || strcmp(s.scscf_host, q.r.origin)))
            hss_scscf_set(db, impi.subscription_id, q.server_name, q.r.origin);
    }
    unsigned n = q.items < 1 ? 1 : q.items;
    if (n > (unsigned)h->vectors_max)
        n = (unsigned)h->vectors_max;
    if (!aka)
        n = 1;

    int rc = ims_diam_answer_new(msg, IMS_APP_CX);
    if (rc == 0 && o.code == IMS_DIAM_SUCCESS) {
        rc = ims_avp_add_str(*msg, IMS_AVP_USER_NAME, impi.identity);
        if (rc == 0)
            rc = ims_avp_add_str(*msg, IMS_AVP_PUBLIC_IDENTITY, q.r.impu);
        if (rc == 0)
            rc = ims_avp_add_u32(*msg, IMS_AVP_SIP_NUMBER_AUTH_ITEMS, n);
        if (rc == 0)
            rc = aka ? add_aka_items(*msg, db, &impi, v, n) : add_digest_item(*msg, h, &impi, v);
        if (rc)
            o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "cannot build the vectors");
    }
    if (rc == 0 || o.code != IMS_DIAM_SUCCESS)
        rc = set_outcome(*msg, o);
    log_outcome("MAR", &q.r, o);
    count(1, o);
    return rc;
}

/* ---- SAR ---- */

struct sar_answer {
    struct outcome o;
    struct hss_impi impi;
    struct hss_impu impu;
    bool has_impi;
    bool user_data;          /* send User-Data and Charging-Information */
};

static bool is_dereg(int32_t t)
{
    return t == SAT_TIMEOUT_DEREGISTRATION || t == SAT_USER_DEREGISTRATION ||
           t == SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME ||
           t == SAT_USER_DEREGISTRATION_STORE_SERVER_NAME ||
           t == SAT_ADMINISTRATIVE_DEREGISTRATION || t == SAT_DEREGISTRATION_TOO_MUCH_DATA;
}

static struct outcome sar_dereg(struct ims_db *db, struct sar_answer *a, int32_t type)
{
    bool keep_name = type == SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME ||
                     type == SAT_USER_DEREGISTRATION_STORE_SERVER_NAME;
    struct hss_subscription s;
    if (hss_subscription_get(db, a->impu.subscription_id, &s) != 0)
        return RES(IMS_DIAM_UNABLE_TO_COMPLY, "subscription missing");
    int64_t impi_id = a->has_impi ? a->impi.id : 0;
    /* another private identity still registered keeps the public identity registered */
    if (impi_id && hss_impu_registered_elsewhere(db, a->impu.id, impi_id)) {
        if (hss_registration_set(db, &a->impu, impi_id, HSS_REGISTERED, s.scscf_name,
                                 s.scscf_host) != 0)
            return RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        return OK_RESULT;
    }
    /* unregistered services keep the S-CSCF for terminating requests */
    bool unreg = hss_impu_has_unreg_services(db, &a->impu);
    enum hss_reg_state st = unreg && keep_name ? HSS_UNREGISTERED : HSS_NOT_REGISTERED;
    if (hss_registration_set(db, &a->impu, impi_id, st, keep_name ? s.scscf_name : NULL,
                             keep_name ? s.scscf_host : NULL) != 0)
        return RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
    return OK_RESULT;
}

static struct sar_answer sar_decide(struct ims_db *db, const struct request *r, int32_t type,
                                    int32_t data_available, const char *server_name)
{
    struct sar_answer a = { .o = OK_RESULT };
    if (!r->has_impu && !r->has_impi) {
        a.o = RES(IMS_DIAM_MISSING_AVP, "no Public-Identity nor User-Name");
        return a;
    }
    int rc = hss_impu_find(db, r->impu, &a.impu);
    if (rc) {
        a.o = rc == -ENOENT ? EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "unknown public identity")
                            : RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        return a;
    }
    if (r->has_impi) {
        rc = hss_impi_find(db, r->impi, &a.impi);
        if (rc) {
            a.o = rc == -ENOENT ? EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "unknown private identity")
                                : RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
            return a;
        }
        if (!hss_impi_has_impu(db, a.impi.id, a.impu.id)) {
            a.o = EXP(IMS_DIAM_ERROR_IDENTITIES_DONT_MATCH, NULL);
            return a;
        }
        a.has_impi = true;
    }
    struct hss_subscription s = { 0 };
    if (a.impu.subscription_id)
        hss_subscription_get(db, a.impu.subscription_id, &s);
    int64_t impi_id = a.has_impi ? a.impi.id : 0;
    switch (type) {
    case SAT_REGISTRATION:
    case SAT_RE_REGISTRATION:
        if (hss_registration_set(db, &a.impu, impi_id, HSS_REGISTERED, server_name, r->origin))
            a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        a.user_data = data_available == 0;
        break;
    case SAT_UNREGISTERED_USER:
        if (a.impu.reg_state == HSS_REGISTERED) {
            a.user_data = data_available == 0;   /* already registered: just the profile */
            break;
        }
        if (hss_registration_set(db, &a.impu, 0, HSS_UNREGISTERED, server_name, r->origin))
            a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        a.user_data = data_available == 0;
        break;
    case SAT_NO_ASSIGNMENT:
    case SAT_AAA_USER_DATA_REQUEST:
        if (s.scscf_name[0] && strcmp(s.scscf_name, server_name) != 0) {
            a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "requesting S-CSCF is not the assigned one");
            break;
        }
        a.user_data = true;
        break;
    case SAT_AUTHENTICATION_FAILURE:
    case SAT_AUTHENTICATION_TIMEOUT:
        /* a failed first registration releases the pending S-CSCF assignment */
        if (a.impu.reg_state == HSS_NOT_REGISTERED && hss_scscf_set(db, s.id, NULL, NULL))
            a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        break;
    case SAT_PGW_UPDATE:
    case SAT_RESTORATION:
        break;
    default:
        if (is_dereg(type))
            a.o = sar_dereg(db, &a, type);
        else
            a.o = RES(IMS_DIAM_INVALID_AVP_VALUE, "unknown Server-Assignment-Type");
    }
    return a;
}

static int add_charging_info(struct msg *ans, struct ims_db *db, struct hss *h,
                             int64_t subscription_id)
{
    struct hss_subscription s = { 0 };
    if (subscription_id)
        hss_subscription_get(db, subscription_id, &s);
    const char *ccf1 = s.ccf[0][0] ? s.ccf[0] : h->default_ccf;
    if (!*ccf1 && !s.ecf[0][0])
        return 0;
    struct avp *ci = ims_avp_add_group(ans, IMS_AVP_CHARGING_INFORMATION);
    if (!ci)
        return -ENOMEM;
    struct {
        enum ims_avp avp;
        const char *v;
    } f[] = {
        { IMS_AVP_PRIMARY_EVENT_CHARGING_FUNCTION_NAME, s.ecf[0] },
        { IMS_AVP_SECONDARY_EVENT_CHARGING_FUNCTION_NAME, s.ecf[1] },
        { IMS_AVP_PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME, ccf1 },
        { IMS_AVP_SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME, s.ccf[1] },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (*f[i].v && ims_avp_add_str(ci, f[i].avp, f[i].v) != 0)
            return -ENOMEM;
    return 0;
}

static int on_sar(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct request r;
    int32_t type = -1, available = 0;
    char server_name[HSS_ID_MAX] = "";
    read_common(*msg, &r);
    ims_avp_get_i32(*msg, IMS_AVP_SERVER_ASSIGNMENT_TYPE, &type);
    ims_avp_get_i32(*msg, IMS_AVP_USER_DATA_ALREADY_AVAILABLE, &available);
    ims_avp_get_str(*msg, IMS_AVP_SERVER_NAME, server_name, sizeof(server_name));
    struct sar_answer a = { .o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database unavailable") };
    if (db)
        a = sar_decide(db, &r, type, available, server_name);
    char *xml = NULL;
    if (a.o.code == IMS_DIAM_SUCCESS && a.user_data) {
        xml = hss_user_data_xml(db, a.has_impi ? &a.impi : NULL, &a.impu);
        if (!xml)
            a.o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "cannot build the user profile");
    }
    int rc = ims_diam_answer_new(msg, IMS_APP_CX);
    if (rc == 0)
        rc = set_outcome(*msg, a.o);
    if (rc == 0 && a.o.code == IMS_DIAM_SUCCESS && a.has_impi)
        rc = ims_avp_add_str(*msg, IMS_AVP_USER_NAME, a.impi.identity);
    if (rc == 0 && xml)
        rc = ims_avp_add_str(*msg, IMS_AVP_USER_DATA, xml);
    if (rc == 0 && xml)
        rc = add_charging_info(*msg, db, h, a.impu.subscription_id);
    free(xml);
    log_outcome("SAR", &r, a.o);
    count(2, a.o);
    if (a.o.code == IMS_DIAM_SUCCESS && db)
        hss_sh_user_state_changed(h, &a.impu);
    return rc;
}

/* ---- LIR ---- */

struct lir_answer {
    struct outcome o;
    struct hss_impu impu;
    struct hss_subscription sub;
    /* which Server-Name to send: not a pointer, lir_decide() returns the answer by value
     * and a pointer into its own copy would dangle (found by tests/fuzz/hss_diam) */
    enum { LIR_NO_NAME, LIR_PSI_AS, LIR_SCSCF } server_name;
    bool capabilities;
};

static struct lir_answer lir_decide(struct ims_db *db, const struct request *r, int32_t type,
                                    bool originating)
{
    struct lir_answer a = { .o = OK_RESULT };
    int rc = hss_impu_find(db, r->impu, &a.impu);
    if (rc) {
        a.o = rc == -ENOENT ? EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "unknown public identity")
                            : RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
        return a;
    }
    bool psi = a.impu.type == HSS_PSI || a.impu.type == HSS_WILDCARD_PSI;
    if (psi && !a.impu.psi_active) {
        a.o = EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "PSI not activated");
        return a;
    }
    if (psi && a.impu.psi_as[0]) {    /* hosted by an AS: route straight to it */
        a.server_name = LIR_PSI_AS;
        return a;
    }
    if (a.impu.subscription_id)
        hss_subscription_get(db, a.impu.subscription_id, &a.sub);
    bool assigned = a.sub.scscf_name[0] != '\0';
    if (type == UAT_REGISTRATION_AND_CAPABILITIES) {
        a.capabilities = true;
        return a;
    }
    if (assigned && a.impu.reg_state != HSS_NOT_REGISTERED) {
        a.server_name = LIR_SCSCF;
        return a;
    }
    if (originating || hss_impu_has_unreg_services(db, &a.impu)) {
        a.o = EXP(IMS_DIAM_UNREGISTERED_SERVICE, NULL);
        if (assigned)
            a.server_name = LIR_SCSCF;
        else
            a.capabilities = true;
        return a;
    }
    a.o = EXP(IMS_DIAM_ERROR_IDENTITY_NOT_REGISTERED, "not registered, no unregistered services");
    return a;
}

static int on_lir(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct request r;
    int32_t type = UAT_REGISTRATION, originating = -1;
    read_common(*msg, &r);
    ims_avp_get_i32(*msg, IMS_AVP_USER_AUTHORIZATION_TYPE, &type);
    ims_avp_get_i32(*msg, IMS_AVP_ORIGINATING_REQUEST, &originating);
    struct lir_answer a = { .o = RES(IMS_DIAM_UNABLE_TO_COMPLY, "database unavailable") };
    if (db)
        a = lir_decide(db, &r, type, originating == 0 /* ORIGINATING */);
    int rc = ims_diam_answer_new(msg, IMS_APP_CX);
    if (rc == 0)
        rc = set_outcome(*msg, a.o);
    if (rc == 0 && a.server_name)
        rc = ims_avp_add_str(*msg, IMS_AVP_SERVER_NAME, a.server_name == LIR_PSI_AS
                                                            ? a.impu.psi_as : a.sub.scscf_name);
    if (rc == 0 && a.capabilities)
        rc = add_capabilities(*msg, &a.sub);
    if (rc == 0 && a.o.code < 3000 && a.impu.type == HSS_WILDCARD_PSI)
        rc = ims_avp_add_str(*msg, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, a.impu.identity);
    if (rc == 0 && a.o.code < 3000 && a.impu.type == HSS_WILDCARD_IMPU)
        rc = ims_avp_add_str(*msg, IMS_AVP_WILDCARDED_IMPU, a.impu.identity);
    log_outcome("LIR", &r, a.o);
    count(3, a.o);
    return rc;
}

/* ---- SLF (Dx): redirect to the HSS holding the identity ---- */

static int slf_lookup(struct ims_db *db, const char *identity, char *hss, size_t len)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT pattern, regex, hss FROM slf_route"
                                       " ORDER BY regex, length(pattern) DESC");
    if (!st)
        return -EIO;
    int rc = -ENOENT;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *pat = (const char *)sqlite3_column_text(st, 0);
        bool match;
        if (sqlite3_column_int(st, 1)) {
            regex_t re;
            char anchored[HSS_ID_MAX + 4];
            snprintf(anchored, sizeof(anchored), "^%s$", pat);
            if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
                continue;
            match = regexec(&re, identity, 0, NULL, 0) == 0;
            regfree(&re);
        } else {
            match = strcasecmp(pat, identity) == 0;
        }
        if (match) {
            snprintf(hss, len, "%s", (const char *)sqlite3_column_text(st, 2));
            rc = 0;
            break;
        }
    }
    sqlite3_reset(st);
    return rc;
}

static int on_slf(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct request r;
    char target[HSS_ID_MAX];
    read_common(*msg, &r);
    int rc = -ENOENT;
    if (db && r.has_impu)
        rc = slf_lookup(db, r.impu, target, sizeof(target));
    if (db && rc == -ENOENT && r.has_impi)
        rc = slf_lookup(db, r.impi, target, sizeof(target));
    struct outcome o = rc == 0    ? RES(IMS_DIAM_REDIRECT_INDICATION, NULL)
                       : rc == -ENOENT ? EXP(IMS_DIAM_ERROR_USER_UNKNOWN, "no HSS for the user")
                                       : RES(IMS_DIAM_UNABLE_TO_COMPLY, "database error");
    int arc = ims_diam_answer_new(msg, IMS_APP_CX);
    if (arc == 0)
        arc = set_outcome(*msg, o);
    if (arc == 0 && rc == 0) {
        char uri[HSS_ID_MAX + 16];
        snprintf(uri, sizeof(uri), "%s%s", strncmp(target, "aaa", 3) ? "aaa://" : "", target);
        arc = ims_avp_add_str(*msg, IMS_AVP_REDIRECT_HOST, uri);
        if (arc == 0)
            arc = ims_avp_add_i32(*msg, IMS_AVP_REDIRECT_HOST_USAGE, 0 /* DONT_CACHE */);
        struct msg_hdr *hdr;
        if (arc == 0 && fd_msg_hdr(*msg, &hdr) == 0)
            hdr->msg_flags |= CMD_FLAG_ERROR;     /* 3006 is a protocol error answer */
    }
    log_outcome("SLF", &r, o);
    return arc;
}

/* ---- HSS-initiated: RTR and PPR ---- */

struct push_ctx {
    struct hss *h;
    int64_t subscription_id;
    enum ims_cmd cmd;
};

static void on_push_answer(void *arg, const struct ims_diam_result *res)
{
    struct push_ctx *c = arg;
    if (res->error || res->code != IMS_DIAM_SUCCESS)
        ims_warn("cx: %s for subscription %lld: %s", ims_cmd_abbrev(c->cmd),
                 (long long)c->subscription_id,
                 res->error ? strerror(-res->error)
                            : ims_diam_result_name(res->code, res->experimental));
    else
        ims_info("cx: %s for subscription %lld accepted by the S-CSCF", ims_cmd_abbrev(c->cmd),
                 (long long)c->subscription_id);
    /* TS 29.228 6.1.3: once the S-CSCF confirms, the identities are not registered any more
     * and the S-CSCF name is released */
    hss_lock();
    struct ims_db *db = hss_db(c->h);
    if (c->cmd == IMS_CMD_RTR && !res->error && res->code == IMS_DIAM_SUCCESS && db &&
        hss_subscription_deregister(db, c->subscription_id) != 0)
        ims_warn("cx: subscription %lld: cannot clear its registration after the RTA",
                 (long long)c->subscription_id);
    hss_unlock();
    free(c);
}

/* A request to the S-CSCF of the subscription with its first private identity */
static struct msg *push_request(struct hss *h, struct ims_db *db, enum ims_cmd cmd,
                                int64_t subscription_id, char *impi, size_t len)
{
    struct hss_subscription s;
    if (hss_subscription_get(db, subscription_id, &s) != 0 || !s.scscf_host[0])
        return NULL;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT identity FROM impi WHERE subscription_id = ?1"
                                       " ORDER BY id LIMIT 1");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, subscription_id);
    impi[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(impi, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (!impi[0])
        return NULL;
    struct msg *m = ims_diam_request_new(cmd, h->realm, s.scscf_host);
    if (m && ims_avp_add_str(m, IMS_AVP_USER_NAME, impi) != 0) {
        fd_msg_free(m);
        return NULL;
    }
    return m;
}

static void push_send(struct hss *h, struct msg *m, enum ims_cmd cmd, int64_t sub)
{
    struct push_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        fd_msg_free(m);
        return;
    }
    *c = (struct push_ctx){ h, sub, cmd };
    int rc = ims_diam_send(&m, 0, on_push_answer, c);
    if (rc) {
        ims_warn("cx: cannot send %s for subscription %lld: %s", ims_cmd_abbrev(cmd),
                 (long long)sub, strerror(-rc));
        free(c);
    }
}

void hss_cx_rtr(struct hss *h, int64_t subscription_id, int reason, const char *info)
{
    struct ims_db *db = hss_db(h);
    char impi[HSS_ID_MAX];
    struct msg *m = db ? push_request(h, db, IMS_CMD_RTR, subscription_id, impi, sizeof(impi))
                       : NULL;
    if (!m)
        return;
    struct avp *dr = ims_avp_add_group(m, IMS_AVP_DEREGISTRATION_REASON);
    if (!dr || ims_avp_add_i32(dr, IMS_AVP_REASON_CODE, reason) ||
        (info && ims_avp_add_str(dr, IMS_AVP_REASON_INFO, info))) {
        fd_msg_free(m);
        return;
    }
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT identity FROM impu WHERE subscription_id = ?1"
                                       " AND reg_state <> 0 ORDER BY id");
    if (st) {
        sqlite3_bind_int64(st, 1, subscription_id);
        while (sqlite3_step(st) == SQLITE_ROW)
            ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    ims_info("cx: RTR for %s (reason %d%s%s)", impi, reason, info ? ", " : "", info ? info : "");
    push_send(h, m, IMS_CMD_RTR, subscription_id);
}

void hss_cx_ppr(struct hss *h, int64_t subscription_id)
{
    struct ims_db *db = hss_db(h);
    char impi_s[HSS_ID_MAX];
    struct msg *m = db ? push_request(h, db, IMS_CMD_PPR, subscription_id, impi_s,
                                      sizeof(impi_s))
                       : NULL;
    if (!m)
        return;
    /* the profile of the first registered public identity */
    struct hss_impi impi;
    struct hss_impu impu;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT id FROM impu WHERE subscription_id = ?1"
                                       " AND reg_state <> 0 ORDER BY id LIMIT 1");
    int64_t impu_id = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, subscription_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            impu_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    char *xml = NULL;
    if (impu_id && hss_impu_by_id(db, impu_id, &impu) == 0 &&
        hss_impi_find(db, impi_s, &impi) == 0)
        xml = hss_user_data_xml(db, &impi, &impu);
    if (!xml || ims_avp_add_str(m, IMS_AVP_USER_DATA, xml) != 0 ||
        add_charging_info(m, db, h, subscription_id) != 0) {
        free(xml);
        fd_msg_free(m);
        return;
    }
    free(xml);
    ims_info("cx: PPR for %s (profile changed)", impi_s);
    push_send(h, m, IMS_CMD_PPR, subscription_id);
}

int hss_cx_init(struct hss *h)
{
    static const char *const cmds[4] = { "UAR", "MAR", "SAR", "LIR" };
    for (int i = 0; i < 4; i++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "command=\"%s\",outcome=\"ok\"", cmds[i]);
        g_answers[i][0] = ims_counter_new("hss_cx_answers_total", "Cx answers by outcome",
                                          labels);
        snprintf(labels, sizeof(labels), "command=\"%s\",outcome=\"error\"", cmds[i]);
        g_answers[i][1] = ims_counter_new("hss_cx_answers_total", "Cx answers by outcome",
                                          labels);
    }
    if (h->slf) {
        enum ims_cmd all[] = { IMS_CMD_UAR, IMS_CMD_MAR, IMS_CMD_SAR, IMS_CMD_LIR };
        for (size_t i = 0; i < 4; i++)
            if (hss_serve(h, all[i], on_slf) != 0)
                return -EINVAL;
        return 0;
    }
    if (hss_serve(h, IMS_CMD_UAR, on_uar) || hss_serve(h, IMS_CMD_MAR, on_mar) ||
        hss_serve(h, IMS_CMD_SAR, on_sar) || hss_serve(h, IMS_CMD_LIR, on_lir))
        return -EINVAL;
    return 0;
}
