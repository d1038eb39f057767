/*
 * sh.c - the Sh server of the HSS (TS 29.328, TS 29.329): UDR, PUR, SNR, and PNR when
 * subscribed data change
 *
 * Data references served: RepositoryData (0), IMSPublicIdentity (10), IMSUserState (11),
 * S-CSCFName (12), InitialFilterCriteria (13), ChargingInformation (16), MSISDN (17).
 * Updates (PUR): RepositoryData with the sequence number rules of TS 29.328 6.1.2.1.
 * Subscriptions (SNR): RepositoryData, IMSUserState, S-CSCFName, InitialFilterCriteria.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"
#include "metrics.h"
#include "xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

/* Data-Reference values */
enum {
    DR_REPOSITORY_DATA = 0, DR_IMS_PUBLIC_IDENTITY = 10, DR_IMS_USER_STATE = 11,
    DR_SCSCF_NAME = 12, DR_IFC = 13, DR_CHARGING_INFORMATION = 16, DR_MSISDN = 17,
};

/* Sh experimental results (TS 29.329 6.2) */
enum {
    SH_USER_DATA_NOT_RECOGNIZED = 5100, SH_OPERATION_NOT_ALLOWED = 5101,
    SH_USER_DATA_CANNOT_BE_READ = 5102, SH_USER_DATA_CANNOT_BE_MODIFIED = 5103,
    SH_USER_DATA_CANNOT_BE_NOTIFIED = 5104, SH_TRANSPARENT_DATA_OUT_OF_SYNC = 5105,
};

#define MAX_REFS 16
#define MAX_SI 8
#define SERVICE_DATA_MAX (64 * 1024)

static struct hss *g_h;
static struct ims_counter *g_pnr_sent;

struct sh_request {
    char session[256];
    char peer[HSS_ID_MAX];          /* the peer whose connection delivered it */
    char origin[HSS_ID_MAX];
    char realm[HSS_ID_MAX];
    char identity[HSS_ID_MAX];      /* Public-Identity, or "" with msisdn */
    char msisdn[32];
    int refs[MAX_REFS];
    int nrefs;
    char si[MAX_SI][128];           /* Service-Indication values */
    int nsi;
    char server_name[HSS_ID_MAX];
    int32_t identity_set;
};

struct outcome {
    uint32_t code;
    bool experimental;
    const char *why;
};

/* ---- request parsing ---- */

/* MSISDN is TBCD: two digits per octet, low nibble first, 0xF pads an odd count */
static void tbcd_decode(const uint8_t *p, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        uint8_t lo = p[i] & 0x0f, hi = p[i] >> 4;
        if (lo > 9)
            break;
        out[o++] = (char)('0' + lo);
        if (hi > 9)
            break;
        out[o++] = (char)('0' + hi);
    }
    out[o] = '\0';
}

static void read_request(struct msg *m, struct sh_request *r)
{
    memset(r, 0, sizeof(*r));
    r->identity_set = 0;   /* ALL_IDENTITIES */
    ims_diam_session_id(m, r->session, sizeof(r->session));
    ims_diam_msg_peer(m, r->peer, sizeof(r->peer));
    ims_avp_get_str(m, IMS_AVP_ORIGIN_HOST, r->origin, sizeof(r->origin));
    ims_avp_get_str(m, IMS_AVP_ORIGIN_REALM, r->realm, sizeof(r->realm));
    struct avp *ui = ims_avp_find(m, IMS_AVP_USER_IDENTITY);
    if (ims_avp_get_str(ui, IMS_AVP_PUBLIC_IDENTITY, r->identity, sizeof(r->identity)) != 0) {
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(ims_avp_find(ui, IMS_AVP_MSISDN), &p, &n))
            tbcd_decode(p, n, r->msisdn, sizeof(r->msisdn));
    }
    for (struct avp *a = ims_avp_find(m, IMS_AVP_DATA_REFERENCE); a && r->nrefs < MAX_REFS;
         a = ims_avp_next(a, IMS_AVP_DATA_REFERENCE)) {
        int32_t v;
        struct avp_hdr *h;
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_value) {
            v = h->avp_value->i32;
            r->refs[r->nrefs++] = v;
        }
    }
    for (struct avp *a = ims_avp_find(m, IMS_AVP_SERVICE_INDICATION); a && r->nsi < MAX_SI;
         a = ims_avp_next(a, IMS_AVP_SERVICE_INDICATION)) {
        const uint8_t *p;
        size_t n;
        if (ims_avp_octets(a, &p, &n))
            snprintf(r->si[r->nsi++], sizeof(r->si[0]), "%.*s", (int)n, (const char *)p);
    }
    ims_avp_get_str(m, IMS_AVP_SERVER_NAME, r->server_name, sizeof(r->server_name));
    ims_avp_get_i32(m, IMS_AVP_IDENTITY_SET, &r->identity_set);
}

/* The AS is allowed on Sh: the peer that delivered the request (not its Origin-Host) is in
 * hss.sh_peers. */
static bool peer_allowed(const struct sh_request *r)
{
    return hss_trust_listed(g_h->sh_peers, r->peer);
}

/* The answer to an AS not in hss.sh_peers (@code: the command's "cannot" result), with a
 * warning: a peer asked for data it may not have. */
static struct outcome refuse_peer(const struct sh_request *r, const char *cmd, uint32_t code)
{
    struct ims_log_ids ids = { .session_id = r->session };
    ims_log(IMS_LOG_WARN, &ids, "sh: %s from peer %s (Origin-Host %s) refused: the peer is not "
            "in hss.sh_peers", cmd, r->peer[0] ? r->peer : "?", r->origin);
    return (struct outcome){ code, true, "the peer is not in hss.sh_peers" };
}

/* The public identity the request is about (by Public-Identity or MSISDN) */
static int find_user(struct ims_db *db, const struct sh_request *r, struct hss_impu *impu)
{
    if (r->identity[0])
        return hss_impu_find(db, r->identity, impu);
    if (!r->msisdn[0])
        return -ENOENT;
    char tel[48];
    snprintf(tel, sizeof(tel), "tel:+%s", r->msisdn);
    if (hss_impu_find(db, tel, impu) == 0)
        return 0;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT l.impu_id FROM impi i JOIN impi_impu l"
                                       " ON l.impi_id = i.id WHERE i.msisdn = ?1"
                                       " ORDER BY l.impu_id LIMIT 1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, r->msisdn, -1, SQLITE_STATIC);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return id ? hss_impu_by_id(db, id, impu) : -ENOENT;
}

/* ---- Sh-Data document ---- */

static bool wants(const int *refs, int n, int ref)
{
    for (int i = 0; i < n; i++)
        if (refs[i] == ref)
            return true;
    return false;
}

static void public_identifiers(struct ims_buf *b, struct ims_db *db, const struct hss_impu *u,
                               int32_t set, bool identities, bool msisdn)
{
    ims_buf_add(b, "<PublicIdentifiers>");
    if (identities) {
        int64_t ids[64];
        int n = 0;
        if (set == 2) {                                   /* IMPLICIT_IDENTITIES */
            n = hss_implicit_set(db, u, ids, 64);
        } else {
            sqlite3_stmt *st = ims_db_stmt(db, "SELECT id FROM impu WHERE subscription_id = ?1"
                                               " AND (?2 = 0 OR reg_state = 1) ORDER BY id");
            if (st && u->subscription_id) {
                sqlite3_bind_int64(st, 1, u->subscription_id);
                sqlite3_bind_int(st, 2, set == 1);   /* REGISTERED_IDENTITIES */
                while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
                    ids[n++] = sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
            }
            if (!u->subscription_id)
                ids[n++] = u->id;
        }
        for (int i = 0; i < n; i++) {
            struct hss_impu x;
            if (hss_impu_by_id(db, ids[i], &x) == 0)
                ims_buf_element(b, "IMSPublicIdentity", x.identity);
        }
    }
    if (msisdn) {
        sqlite3_stmt *st = ims_db_stmt(db, "SELECT DISTINCT i.msisdn FROM impi i JOIN impi_impu l"
                                           " ON l.impi_id = i.id WHERE l.impu_id = ?1"
                                           " AND i.msisdn IS NOT NULL AND i.msisdn <> ''");
        if (st) {
            sqlite3_bind_int64(st, 1, u->id);
            while (sqlite3_step(st) == SQLITE_ROW)
                ims_buf_element(b, "MSISDN", (const char *)sqlite3_column_text(st, 0));
            sqlite3_reset(st);
        }
    }
    ims_buf_add(b, "</PublicIdentifiers>");
}

static void repository_data(struct ims_buf *b, struct ims_db *db, int64_t impu_id,
                            const char *si)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT sequence, data FROM sh_data WHERE impu_id = ?1"
                                       " AND service_indication = ?2");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, impu_id);
    sqlite3_bind_text(st, 2, si, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        ims_buf_add(b, "<RepositoryData>");
        ims_buf_element(b, "ServiceIndication", si);
        ims_buf_addf(b, "<SequenceNumber>%d</SequenceNumber><ServiceData>",
                     sqlite3_column_int(st, 0));
        ims_buf_add(b, (const char *)sqlite3_column_text(st, 1));   /* the AS's own XML */
        ims_buf_add(b, "</ServiceData></RepositoryData>");
    }
    sqlite3_reset(st);
}

/* TS 29.328 IMSUserState: 0 NOT_REGISTERED, 1 REGISTERED, 2 REGISTERED_UNREG_SERVICES,
 * 3 AUTHENTICATION_PENDING */
static int user_state(struct ims_db *db, const struct hss_impu *u)
{
    if (u->reg_state == HSS_REGISTERED)
        return 1;
    if (u->reg_state == HSS_UNREGISTERED)
        return 2;
    struct hss_subscription s;
    if (u->subscription_id && hss_subscription_get(db, u->subscription_id, &s) == 0 &&
        s.scscf_name[0])
        return 3;     /* an S-CSCF is authenticating the user */
    return 0;
}

static void ims_data(struct ims_buf *b, struct ims_db *db, const struct hss_impu *u,
                     const int *refs, int nrefs, const char *server_name)
{
    struct hss_subscription s = { 0 };
    if (u->subscription_id)
        hss_subscription_get(db, u->subscription_id, &s);
    ims_buf_add(b, "<Sh-IMS-Data>");
    if (wants(refs, nrefs, DR_SCSCF_NAME) && s.scscf_name[0])
        ims_buf_element(b, "S-CSCFName", s.scscf_name);
    if (wants(refs, nrefs, DR_IFC) && u->profile_id) {
        ims_buf_add(b, "<IFCs>");
        sqlite3_stmt *st = ims_db_stmt(db, "SELECT xml FROM ifc WHERE profile_id = ?1"
                                           " ORDER BY priority, id");
        struct ims_buf want = { 0 };
        if (server_name[0]) {        /* only the iFCs that point at the requesting AS */
            ims_buf_add(&want, "<ServerName>");
            ims_buf_add_escaped(&want, server_name);
            ims_buf_add(&want, "</ServerName>");
        }
        char *needle = ims_buf_take(&want);
        if (st) {
            sqlite3_bind_int64(st, 1, u->profile_id);
            while (sqlite3_step(st) == SQLITE_ROW) {
                const char *x = (const char *)sqlite3_column_text(st, 0);
                if (!needle || !*needle || strstr(x, needle))
                    ims_buf_add(b, x);
            }
            sqlite3_reset(st);
        }
        free(needle);
        ims_buf_add(b, "</IFCs>");
    }
    if (wants(refs, nrefs, DR_IMS_USER_STATE))
        ims_buf_addf(b, "<IMSUserState>%d</IMSUserState>", user_state(db, u));
    if (wants(refs, nrefs, DR_CHARGING_INFORMATION)) {
        const char *ccf = s.ccf[0][0] ? s.ccf[0] : g_h->default_ccf;
        ims_buf_add(b, "<ChargingInformation>");
        if (s.ecf[0][0])
            ims_buf_element(b, "PrimaryEventChargingFunctionName", s.ecf[0]);
        if (s.ecf[1][0])
            ims_buf_element(b, "SecondaryEventChargingFunctionName", s.ecf[1]);
        if (*ccf)
            ims_buf_element(b, "PrimaryChargingCollectionFunctionName", ccf);
        if (s.ccf[1][0])
            ims_buf_element(b, "SecondaryChargingCollectionFunctionName", s.ccf[1]);
        ims_buf_add(b, "</ChargingInformation>");
    }
    ims_buf_add(b, "</Sh-IMS-Data>");
}

/* The Sh-Data document for the requested references (malloc'd, NULL on error). */
static char *sh_data_xml(struct ims_db *db, const struct hss_impu *u, const int *refs,
                         int nrefs, char si[][128], int nsi, const char *server_name,
                         int32_t identity_set)
{
    struct ims_buf b = { 0 };
    ims_buf_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                    "<Sh-Data xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
                    " xsi:noNamespaceSchemaLocation=\"ShDataType.xsd\">");
    bool ids = wants(refs, nrefs, DR_IMS_PUBLIC_IDENTITY);
    bool msisdn = wants(refs, nrefs, DR_MSISDN);
    if (ids || msisdn)
        public_identifiers(&b, db, u, identity_set, ids, msisdn);
    if (wants(refs, nrefs, DR_REPOSITORY_DATA))
        for (int i = 0; i < nsi; i++)
            repository_data(&b, db, u->id, si[i]);
    if (wants(refs, nrefs, DR_SCSCF_NAME) || wants(refs, nrefs, DR_IFC) ||
        wants(refs, nrefs, DR_IMS_USER_STATE) || wants(refs, nrefs, DR_CHARGING_INFORMATION))
        ims_data(&b, db, u, refs, nrefs, server_name);
    ims_buf_add(&b, "</Sh-Data>");
    return ims_buf_take(&b);
}

static struct outcome check_refs(const struct sh_request *r, const int *allowed, int nallowed,
                                 uint32_t refusal)
{
    if (r->nrefs == 0)
        return (struct outcome){ IMS_DIAM_MISSING_AVP, false, "no Data-Reference" };
    for (int i = 0; i < r->nrefs; i++) {
        if (!wants(allowed, nallowed, r->refs[i]))
            return (struct outcome){ refusal, true, "Data-Reference not supported" };
        if (r->refs[i] == DR_REPOSITORY_DATA && r->nsi == 0)
            return (struct outcome){ IMS_DIAM_MISSING_AVP, false,
                                     "RepositoryData needs Service-Indication" };
    }
    return (struct outcome){ IMS_DIAM_SUCCESS, false, NULL };
}

static int finish(struct msg **msg, struct outcome o, const char *user_data)
{
    int rc = ims_diam_answer_new(msg, IMS_APP_SH);
    if (rc == 0)
        rc = o.experimental ? ims_avp_add_experimental(*msg, o.code)
                            : ims_avp_add_u32(*msg, IMS_AVP_RESULT_CODE, o.code);
    if (rc == 0 && user_data)
        rc = ims_avp_add_str(*msg, IMS_AVP_SH_USER_DATA, user_data);
    return rc;
}

static void log_outcome(const char *cmd, const struct sh_request *r, struct outcome o)
{
    struct ims_log_ids ids = { .session_id = r->session };
    bool ok = o.code >= 2000 && o.code < 3000;
    ims_log(ok ? IMS_LOG_DEBUG : IMS_LOG_INFO, &ids, "sh: %s %s from %s -> %s%s%s", cmd,
            r->identity[0] ? r->identity : r->msisdn, r->peer[0] ? r->peer : r->origin,
            ims_diam_result_name(o.code, o.experimental), o.why ? ": " : "", o.why ? o.why : "");
}

/* ---- UDR ---- */

static int on_udr(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct sh_request r;
    struct hss_impu u;
    char *xml = NULL;
    static const int readable[] = { DR_REPOSITORY_DATA, DR_IMS_PUBLIC_IDENTITY, DR_IMS_USER_STATE,
                                    DR_SCSCF_NAME, DR_IFC, DR_CHARGING_INFORMATION, DR_MSISDN };
    read_request(*msg, &r);
    struct outcome o = check_refs(&r, readable, 7, SH_USER_DATA_CANNOT_BE_READ);
    if (o.code == IMS_DIAM_SUCCESS && !peer_allowed(&r))
        o = refuse_peer(&r, "UDR", SH_USER_DATA_CANNOT_BE_READ);
    int rc = o.code == IMS_DIAM_SUCCESS ? (db ? find_user(db, &r, &u) : -EIO) : 0;
    if (rc == -ENOENT)
        o = (struct outcome){ IMS_DIAM_ERROR_USER_UNKNOWN, true, "unknown user" };
    else if (rc)
        o = (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    if (o.code == IMS_DIAM_SUCCESS) {
        xml = sh_data_xml(db, &u, r.refs, r.nrefs, r.si, r.nsi, r.server_name, r.identity_set);
        if (!xml)
            o = (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "out of memory" };
    }
    rc = finish(msg, o, xml);
    free(xml);
    log_outcome("UDR", &r, o);
    return rc;
}

/* ---- notifications (PNR) ---- */

static void on_pna(void *arg, const struct ims_diam_result *res)
{
    char *as = arg;
    if (res->error || res->code != IMS_DIAM_SUCCESS)
        ims_warn("sh: PNR to %s: %s", as, res->error ? strerror(-res->error)
                                                      : ims_diam_result_name(res->code,
                                                                             res->experimental));
    free(as);
}

static void send_pnr(struct ims_db *db, const struct hss_impu *u, const char *host,
                     const char *realm, int ref, const char *si)
{
    char si_buf[1][128] = { "" };
    if (si)
        snprintf(si_buf[0], sizeof(si_buf[0]), "%s", si);
    int refs[1] = { ref };
    char *xml = sh_data_xml(db, u, refs, 1, si_buf, si ? 1 : 0, "", 0);
    struct msg *m = ims_diam_request_new(IMS_CMD_PNR, realm, host);
    struct avp *ui = m ? ims_avp_add_group(m, IMS_AVP_USER_IDENTITY) : NULL;
    char *as = strdup(host);
    if (!xml || !ui || !as || ims_avp_add_str(ui, IMS_AVP_PUBLIC_IDENTITY, u->identity) ||
        ims_avp_add_str(m, IMS_AVP_SH_USER_DATA, xml)) {
        ims_warn("sh: cannot build the PNR to %s for %s", host, u->identity);
        if (m)
            fd_msg_free(m);
        free(xml);
        free(as);
        return;
    }
    free(xml);
    ims_counter_inc(g_pnr_sent);
    if (ims_diam_send(&m, 0, on_pna, as) != 0) {
        ims_warn("sh: PNR to %s for %s not sent (too many pending)", host, u->identity);
        free(as);
    }
}

/* Notify every AS subscribed to @ref of @u (and @si for repository data), except @skip. */
static void notify(struct ims_db *db, const struct hss_impu *u, int ref, const char *si,
                   const char *skip)
{
    /* expired subscriptions are skipped here and deleted when an SNR comes */
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT as_host, as_realm FROM sh_subscription"
                                       " WHERE impu_id = ?1 AND data_reference = ?2"
                                       " AND (?3 IS NULL OR service_indication = ?3)"
                                       " AND (expiry IS NULL OR expiry >= ?4)");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_int(st, 2, ref);
    if (si)
        sqlite3_bind_text(st, 3, si, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    char hosts[16][HSS_ID_MAX], realms[16][HSS_ID_MAX];
    int n = 0;
    while (n < 16 && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(hosts[n], sizeof(hosts[n]), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(realms[n], sizeof(realms[n]), "%s", (const char *)sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++)
        if (!skip || strcasecmp(hosts[i], skip) != 0)
            send_pnr(db, u, hosts[i], realms[i], ref, si);
}

void hss_sh_user_state_changed(struct hss *h, const struct hss_impu *impu)
{
    struct ims_db *db = hss_db(h);
    struct hss_impu fresh;
    if (!db || hss_impu_by_id(db, impu->id, &fresh) != 0)
        return;
    notify(db, &fresh, DR_IMS_USER_STATE, NULL, NULL);
    notify(db, &fresh, DR_SCSCF_NAME, NULL, NULL);
}

void hss_sh_ifc_changed(struct hss *h, int64_t profile_id)
{
    struct ims_db *db = hss_db(h);
    if (!db)
        return;
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT id FROM impu WHERE profile_id = ?1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, profile_id);
    int64_t ids[256];
    int n = 0;
    while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        struct hss_impu u;
        if (hss_impu_by_id(db, ids[i], &u) == 0)
            notify(db, &u, DR_IFC, NULL, NULL);
    }
}

/* ---- PUR ---- */

struct repo_update {
    char si[128];
    int seq;
    bool has_data;
    char *data;     /* raw ServiceData content, malloc'd */
};

/* Read the RepositoryData of a PUR's Sh-Data */
static struct outcome parse_update(const uint8_t *doc, size_t len, struct repo_update *up)
{
    char err[160];
    memset(up, 0, sizeof(*up));
    if (len > SERVICE_DATA_MAX)
        return (struct outcome){ IMS_DIAM_ERROR_TOO_MUCH_DATA, true, "User-Data too large" };
    struct ims_xml_node *root = ims_xml_parse((const char *)doc, len, err, sizeof(err));
    if (!root)
        return (struct outcome){ SH_USER_DATA_NOT_RECOGNIZED, true, "User-Data is not XML" };
    struct outcome o = { IMS_DIAM_SUCCESS, false, NULL };
    struct ims_xml_node *rd = ims_xml_child(root, "RepositoryData");
    const char *si = ims_xml_child_text(rd, "ServiceIndication");
    const char *seq = ims_xml_child_text(rd, "SequenceNumber");
    char *end = NULL;
    long n = seq ? strtol(seq, &end, 10) : -1;
    if (strcmp(root->name, "Sh-Data") != 0 || !rd || !si || !*si || !seq || *end || n < 0 ||
        n > 65535) {
        o = (struct outcome){ SH_USER_DATA_NOT_RECOGNIZED, true,
                              "no RepositoryData with ServiceIndication and SequenceNumber" };
        goto out;
    }
    snprintf(up->si, sizeof(up->si), "%s", si);
    up->seq = (int)n;
    struct ims_xml_node *sd = ims_xml_child(rd, "ServiceData");
    if (sd) {
        up->has_data = true;
        up->data = strndup((const char *)doc + sd->raw_off, sd->raw_len);
        if (!up->data)
            o = (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "out of memory" };
    }
out:
    ims_xml_free(root);
    return o;
}

/* TS 29.328 6.1.2.1: create with 0, then each update carries the stored number + 1 (after
 * 65535 comes 1); anything else is out of sync. */
static struct outcome apply_update(struct ims_db *db, int64_t impu_id,
                                   const struct repo_update *up)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT sequence FROM sh_data WHERE impu_id = ?1"
                                       " AND service_indication = ?2");
    if (!st)
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    sqlite3_bind_int64(st, 1, impu_id);
    sqlite3_bind_text(st, 2, up->si, -1, SQLITE_STATIC);
    int stored = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_reset(st);
    int expected = stored < 0 ? 0 : (stored == 65535 ? 1 : stored + 1);
    if (up->seq != expected || (stored < 0 && !up->has_data))
        return (struct outcome){ SH_TRANSPARENT_DATA_OUT_OF_SYNC, true,
                                 stored < 0 ? "no data stored: create with sequence 0"
                                            : "sequence number is not the stored one + 1" };
    if (up->has_data) {
        st = ims_db_stmt(db, "INSERT INTO sh_data (impu_id, service_indication, sequence, data)"
                             " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (impu_id, service_indication)"
                             " DO UPDATE SET sequence = ?3, data = ?4");
    } else {
        st = ims_db_stmt(db, "DELETE FROM sh_data WHERE impu_id = ?1 AND service_indication = ?2");
    }
    if (!st)
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    sqlite3_bind_int64(st, 1, impu_id);
    sqlite3_bind_text(st, 2, up->si, -1, SQLITE_STATIC);
    if (up->has_data) {
        sqlite3_bind_int(st, 3, up->seq);
        sqlite3_bind_text(st, 4, up->data, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    return (struct outcome){ IMS_DIAM_SUCCESS, false, NULL };
}

static int on_pur(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct sh_request r;
    struct hss_impu u;
    struct repo_update up = { .data = NULL };
    static const int writable[] = { DR_REPOSITORY_DATA };
    read_request(*msg, &r);
    r.nsi = r.nsi ? r.nsi : 1;    /* PUR carries the indication inside the User-Data */
    struct outcome o = check_refs(&r, writable, 1, SH_OPERATION_NOT_ALLOWED);
    if (o.code == IMS_DIAM_SUCCESS && !peer_allowed(&r))
        o = refuse_peer(&r, "PUR", SH_USER_DATA_CANNOT_BE_MODIFIED);
    if (o.code == IMS_DIAM_SUCCESS) {
        int rc = db ? find_user(db, &r, &u) : -EIO;
        if (rc)
            o = rc == -ENOENT ? (struct outcome){ IMS_DIAM_ERROR_USER_UNKNOWN, true, NULL }
                              : (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, NULL };
    }
    const uint8_t *doc;
    size_t len;
    if (o.code == IMS_DIAM_SUCCESS) {
        if (!ims_avp_octets(ims_avp_find(*msg, IMS_AVP_SH_USER_DATA), &doc, &len))
            o = (struct outcome){ IMS_DIAM_MISSING_AVP, false, "no User-Data" };
        else
            o = parse_update(doc, len, &up);
    }
    if (o.code == IMS_DIAM_SUCCESS)
        o = apply_update(db, u.id, &up);
    int rc = finish(msg, o, NULL);
    log_outcome("PUR", &r, o);
    if (o.code == IMS_DIAM_SUCCESS)
        notify(db, &u, DR_REPOSITORY_DATA, up.si, r.origin);
    free(up.data);
    return rc;
}

/* ---- SNR ---- */

static struct outcome subscribe(struct ims_db *db, const struct sh_request *r,
                                const struct hss_impu *u, bool on, time_t expiry)
{
    sqlite3_stmt *del = ims_db_stmt(db, "DELETE FROM sh_subscription WHERE impu_id = ?1"
                                        " AND as_host = ?2 AND data_reference = ?3"
                                        " AND service_indication IS ?4");
    sqlite3_stmt *ins = ims_db_stmt(db, "INSERT INTO sh_subscription (impu_id, as_host,"
                                        " as_realm, data_reference, service_indication,"
                                        " expiry) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    sqlite3_stmt *expired = ims_db_stmt(db, "DELETE FROM sh_subscription WHERE expiry IS NOT NULL"
                                            " AND expiry < ?1");
    if (!del || !ins || !expired || ims_db_begin(db) != 0)
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    sqlite3_bind_int64(expired, 1, (sqlite3_int64)time(NULL));
    bool ok = sqlite3_step(expired) == SQLITE_DONE;
    sqlite3_reset(expired);
    for (int i = 0; ok && i < r->nrefs; i++) {
        int nsi = r->refs[i] == DR_REPOSITORY_DATA ? r->nsi : 1;
        for (int j = 0; ok && j < nsi; j++) {
            const char *si = r->refs[i] == DR_REPOSITORY_DATA ? r->si[j] : NULL;
            sqlite3_bind_int64(del, 1, u->id);
            sqlite3_bind_text(del, 2, r->origin, -1, SQLITE_STATIC);
            sqlite3_bind_int(del, 3, r->refs[i]);
            si ? sqlite3_bind_text(del, 4, si, -1, SQLITE_STATIC) : sqlite3_bind_null(del, 4);
            ok = sqlite3_step(del) == SQLITE_DONE;
            sqlite3_reset(del);
            if (!ok || !on)
                continue;
            sqlite3_bind_int64(ins, 1, u->id);
            sqlite3_bind_text(ins, 2, r->origin, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, r->realm, -1, SQLITE_STATIC);
            sqlite3_bind_int(ins, 4, r->refs[i]);
            si ? sqlite3_bind_text(ins, 5, si, -1, SQLITE_STATIC) : sqlite3_bind_null(ins, 5);
            expiry ? sqlite3_bind_int64(ins, 6, (sqlite3_int64)expiry) : sqlite3_bind_null(ins, 6);
            ok = sqlite3_step(ins) == SQLITE_DONE;
            sqlite3_reset(ins);
        }
    }
    if (!ok) {
        ims_db_rollback(db);
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    }
    if (ims_db_commit(db) != 0)
        return (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, "database error" };
    return (struct outcome){ IMS_DIAM_SUCCESS, false, NULL };
}

/* Expiry-Time is a Diameter Time (NTP seconds) */
static time_t read_expiry(struct msg *m)
{
    const uint8_t *p;
    size_t n;
    if (!ims_avp_octets(ims_avp_find(m, IMS_AVP_EXPIRY_TIME), &p, &n) || n != 4)
        return 0;
    uint32_t ntp = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return ntp > 2208988800u ? (time_t)(ntp - 2208988800u) : 0;
}

static int on_snr(struct msg **msg, void *arg)
{
    struct hss *h = arg;
    struct ims_db *db = hss_db(h);
    struct sh_request r;
    struct hss_impu u;
    int32_t type = -1, send_data = 0;
    static const int notifiable[] = { DR_REPOSITORY_DATA, DR_IMS_USER_STATE, DR_SCSCF_NAME,
                                      DR_IFC };
    read_request(*msg, &r);
    ims_avp_get_i32(*msg, IMS_AVP_SUBS_REQ_TYPE, &type);
    ims_avp_get_i32(*msg, IMS_AVP_SEND_DATA_INDICATION, &send_data);
    time_t expiry = read_expiry(*msg);
    struct outcome o = check_refs(&r, notifiable, 4, SH_USER_DATA_CANNOT_BE_NOTIFIED);
    if (o.code == IMS_DIAM_SUCCESS && type != 0 && type != 1)
        o = (struct outcome){ IMS_DIAM_INVALID_AVP_VALUE, false, "Subs-Req-Type" };
    if (o.code == IMS_DIAM_SUCCESS && !peer_allowed(&r))
        o = refuse_peer(&r, "SNR", SH_USER_DATA_CANNOT_BE_NOTIFIED);
    if (o.code == IMS_DIAM_SUCCESS) {
        int rc = db ? find_user(db, &r, &u) : -EIO;
        if (rc)
            o = rc == -ENOENT ? (struct outcome){ IMS_DIAM_ERROR_USER_UNKNOWN, true, NULL }
                              : (struct outcome){ IMS_DIAM_UNABLE_TO_COMPLY, false, NULL };
    }
    if (o.code == IMS_DIAM_SUCCESS)
        o = subscribe(db, &r, &u, type == 0, expiry);
    char *xml = NULL;
    if (o.code == IMS_DIAM_SUCCESS && type == 0 && send_data == 1)
        xml = sh_data_xml(db, &u, r.refs, r.nrefs, r.si, r.nsi, r.server_name, 0);
    int rc = finish(msg, o, xml);
    if (rc == 0 && o.code == IMS_DIAM_SUCCESS && type == 0 && expiry)
        rc = ims_avp_add_time(*msg, IMS_AVP_EXPIRY_TIME, expiry);
    free(xml);
    log_outcome(type == 1 ? "SNR(unsubscribe)" : "SNR", &r, o);
    return rc;
}

int hss_sh_init(struct hss *h)
{
    g_h = h;
    g_pnr_sent = ims_counter_new("hss_sh_notifications_total", "PNR sent to subscribed ASs",
                                 NULL);
    if (hss_serve(h, IMS_CMD_UDR, on_udr) || hss_serve(h, IMS_CMD_PUR, on_pur) ||
        hss_serve(h, IMS_CMD_SNR, on_snr))
        return -EINVAL;
    return 0;
}
