/*
 * provision.c - the REST provisioning API of the HSS (JSON over HTTP on the daemon's
 * http.address:http.port), the HTTP front of subscriber.c
 *
 *   GET    /api/v1/subscribers?offset=&limit=      list by name (limit 1..1000, default 100)
 *   POST   /api/v1/subscribers                     create: 201, 409 when the name exists
 *   GET    /api/v1/subscribers/{name}              the document without secrets
 *   PUT    /api/v1/subscribers/{name}              create (201) or replace (200)
 *   DELETE /api/v1/subscribers/{name}              RTR PERMANENT_TERMINATION first if assigned
 *   POST   /api/v1/subscribers/{name}/deregister   administrative RTR: 202
 *   GET    /api/v1/impus/{identity}                owner, registration state, S-CSCF
 *   POST   /api/v1/seed                            {"subscribers": [doc, ...]}, all or nothing
 *   POST   /api/v1/bulk                            benchmark subscribers userNNNNN
 *
 * Every request needs "Authorization: Bearer <hss.api_token>"; an empty token disables the
 * API (401). Errors are {"error": "...", "field": "impis[0].k"}. Handlers run on the HTTP
 * thread under the database lock (hss_lock()); writes are logged at info
 * (client address, subscriber, what changed; never a secret).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define API_PREFIX "/api/v1/"
#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* TS 29.229 6.3.17 Reason-Code of the Deregistration-Reason of an RTR (indexed by code) */
static const struct {
    const char *name;
    int code;
} rtr_reasons[] = {
    { "permanent_termination", 0 },
    { "new_server_assigned", 1 },
    { "server_change", 2 },
    { "remove_scscf", 3 },
};
#define RTR_PERMANENT_TERMINATION 0
#define RTR_ADMIN_DEFAULT 2          /* SERVER_CHANGE: the UE is asked to register again */

enum resource {
    RES_NONE,
    RES_SUBSCRIBERS,     /* /subscribers */
    RES_SUBSCRIBER,      /* /subscribers/{name} */
    RES_DEREGISTER,      /* /subscribers/{name}/deregister */
    RES_IMPU,            /* /impus/{identity} */
    RES_SEED,            /* /seed */
    RES_BULK,            /* /bulk */
    RES_SLF_ROUTES,      /* /slf/routes */
    RES_SLF_ROUTE,       /* /slf/routes/{pattern} */
};

struct api_req {
    struct hss *h;
    struct ims_db *db;
    const struct ims_http_request *http;
    char arg[HSS_ID_MAX];        /* {name} or {identity}, as libmicrohttpd decoded it */
    char client[INET6_ADDRSTRLEN];
};

typedef int (*api_fn)(struct api_req *q, struct ims_http_response *resp);

/* ---- helpers ---- */

static void client_address(const struct ims_http_request *req, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

/* The request's JSON object body, or NULL after answering 400. */
static json_t *body_object(const struct api_req *q, struct ims_http_response *resp)
{
    json_error_t e;
    if (!q->http->body || !q->http->body_len) {
        ims_http_reply_error(resp, 400, NULL, "a JSON body is required");
        return NULL;
    }
    json_t *doc = json_loadb(q->http->body, q->http->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        ims_http_reply_error(resp, 400, NULL, "the body is not valid JSON: %s (line %d, "
                             "column %d)", e.text, e.line, e.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        ims_http_reply_error(resp, 400, NULL, "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* Answer a subscriber.c error: 400 / 409 naming the field, 404, or 500. */
static int reply_put_error(struct ims_http_response *resp, int rc, const char *prefix,
                           const struct hss_put_result *res)
{
    char field[200];
    if (prefix && res->field[0])
        snprintf(field, sizeof(field), "%s.%s", prefix, res->field);
    else
        snprintf(field, sizeof(field), "%s", prefix ? prefix : res->field);
    const char *f = field[0] ? field : NULL;
    if (rc == -EINVAL)
        return ims_http_reply_error(resp, 400, f, "%s", res->err);
    if (rc == -EEXIST)
        return ims_http_reply_error(resp, 409, f, "%s", res->err);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "%s", res->err);
    return ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
}

static const char *outcome_name(enum hss_put_outcome o)
{
    static const char *const names[] = { "created", "updated", "unchanged" };
    return names[o];
}

/*
 * After a committed write: PPR when what the S-CSCF holds changed and one is assigned,
 * Sh notifications for the profiles whose iFCs changed, and the log line.
 */
static void after_write(const struct api_req *q, const char *name,
                        const struct hss_put_result *res)
{
    struct hss_subscription s;
    bool ppr = res->profile_changed &&
               hss_subscription_get(q->db, res->subscription_id, &s) == 0 && s.scscf_host[0];
    const char *what = res->outcome != HSS_PUT_UPDATED ? ""
                       : res->profile_changed ? " (service data changed)"
                                              : " (credentials or subscription data changed)";
    ims_info("provision: subscriber %s %s by %s%s%s%s%s", name, outcome_name(res->outcome),
             q->client, what, ppr ? "; PPR to " : "", ppr ? s.scscf_host : "",
             res->nifc_changed && !q->h->slf ? "; iFCs changed: subscribed ASs notified (Sh)" : "");
    if (ppr)
        hss_cx_ppr(q->h, res->subscription_id);
    for (size_t i = 0; !q->h->slf && i < res->nifc_changed; i++)
        hss_sh_ifc_changed(q->h, res->ifc_changed[i]);
}

/* 200/201 with the stored document */
static int reply_stored(const struct api_req *q, const char *name, int status,
                        struct ims_http_response *resp)
{
    json_t *doc;
    int rc = hss_subscriber_get(q->db, name, &doc);
    if (rc)
        return ims_http_reply_error(resp, 500, NULL, "stored, but cannot read %s back (%s)",
                                    name, strerror(-rc));
    return ims_http_reply_json(resp, status, doc);
}

/* ---- handlers ---- */

static int list_subscribers(struct api_req *q, struct ims_http_response *resp)
{
    long offset, limit;
    if (!ims_http_query_long(q->http, "offset", 0, 0, LONG_MAX, &offset, resp) ||
        !ims_http_query_long(q->http, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit, resp))
        return 0;
    json_t *page = hss_subscriber_list(q->db, offset, limit);
    if (!page)
        return ims_http_reply_error(resp, 500, NULL, "database error while listing");
    return ims_http_reply_json(resp, 200, page);
}

/* POST /subscribers: create only (409 when the name exists) */
static int create_subscriber(struct api_req *q, struct ims_http_response *resp)
{
    struct hss_put_result res;
    json_t *doc = body_object(q, resp);
    if (!doc)
        return 0;
    int rc = hss_subscriber_put(q->db, doc, false, &res);
    char name[64];
    const char *given = json_string_value(json_object_get(doc, "name"));
    snprintf(name, sizeof(name), "%s", given ? given : "?");
    json_decref(doc);
    if (rc) {
        ims_info("provision: create of subscriber %s by %s refused: %s: %s", name, q->client,
                 res.field, res.err);
        return reply_put_error(resp, rc, NULL, &res);
    }
    after_write(q, name, &res);
    char location[512];
    snprintf(location, sizeof(location), "/api/v1/subscribers/%s", name);
    ims_http_add_header(resp, "Location", location);
    return reply_stored(q, name, 201, resp);
}

/* PUT: create or replace; the body's name must be the path's (it is taken from the path
 * when the body has none) */
static int put_subscriber(struct api_req *q, struct ims_http_response *resp)
{
    struct hss_put_result res;
    json_t *doc = body_object(q, resp);
    if (!doc)
        return 0;
    json_t *name = json_object_get(doc, "name");
    if (!name)
        json_object_set_new(doc, "name", json_string(q->arg));
    else if (!json_is_string(name) || strcmp(json_string_value(name), q->arg) != 0) {
        json_decref(doc);
        return ims_http_reply_error(resp, 400, "name", "must be the name in the path (%s)",
                                    q->arg);
    }
    int rc = hss_subscriber_put(q->db, doc, true, &res);
    if (rc == -ENOENT)
        rc = hss_subscriber_put(q->db, doc, false, &res);
    json_decref(doc);
    if (rc) {
        ims_info("provision: put of subscriber %s by %s refused: %s: %s", q->arg, q->client,
                 res.field, res.err);
        return reply_put_error(resp, rc, NULL, &res);
    }
    after_write(q, q->arg, &res);
    return reply_stored(q, q->arg, res.outcome == HSS_PUT_CREATED ? 201 : 200, resp);
}

/* GET /subscribers/{name} */
static int get_subscriber(struct api_req *q, struct ims_http_response *resp)
{
    json_t *doc;
    int rc = hss_subscriber_get(q->db, q->arg, &doc);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no subscriber %s", q->arg);
    if (rc)
        return ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
    return ims_http_reply_json(resp, 200, doc);
}

/* The subscription of {name} with its S-CSCF; false after answering 404/500. */
static bool load_subscription(struct api_req *q, struct hss_subscription *s,
                              struct ims_http_response *resp)
{
    int64_t id;
    int rc = hss_subscriber_find(q->db, q->arg, &id);
    if (rc == 0)
        rc = hss_subscription_get(q->db, id, s);
    if (rc == -ENOENT)
        ims_http_reply_error(resp, 404, NULL, "no subscriber %s", q->arg);
    else if (rc)
        ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
    return rc == 0;
}

/* DELETE: the S-CSCF is told first (the RTR needs the identities), then the rows go */
static int delete_subscriber(struct api_req *q, struct ims_http_response *resp)
{
    struct hss_subscription s;
    if (!load_subscription(q, &s, resp))
        return 0;
    bool rtr = s.scscf_host[0] != '\0';
    if (rtr)
        hss_cx_rtr(q->h, s.id, RTR_PERMANENT_TERMINATION, "subscription deleted");
    int rc = hss_subscriber_delete(q->db, q->arg);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no subscriber %s", q->arg);
    if (rc)
        return ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
    ims_info("provision: subscriber %s deleted by %s%s%s", q->arg, q->client,
             rtr ? "; RTR (PERMANENT_TERMINATION) to " : "", rtr ? s.scscf_host : "");
    return ims_http_reply_json(resp, 200, json_pack("{s:s, s:b}", "deleted", q->arg,
                                                    "rtr_sent", rtr));
}

/* the optional body {"reason": "server_change", "info": "..."} of /deregister */
static bool rtr_options(struct api_req *q, int *reason, char *info, size_t len,
                        struct ims_http_response *resp)
{
    *reason = RTR_ADMIN_DEFAULT;
    snprintf(info, len, "administrative de-registration");
    if (!q->http->body || !q->http->body_len)
        return true;
    json_t *o = body_object(q, resp), *v;
    const char *key;
    bool ok = o != NULL;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "reason") == 0) {
            size_t i = 0;
            while (i < 4 && (!json_is_string(v) ||
                             strcmp(json_string_value(v), rtr_reasons[i].name) != 0))
                i++;
            if (i == 4) {
                ims_http_reply_error(resp, 400, "reason", "must be permanent_termination, "
                                     "new_server_assigned, server_change or remove_scscf");
                ok = false;
                break;
            }
            *reason = rtr_reasons[i].code;
        } else if (strcmp(key, "info") == 0 && json_is_string(v)) {
            snprintf(info, len, "%s", json_string_value(v));
        } else {
            ims_http_reply_error(resp, 400, key, strcmp(key, "info") == 0
                                 ? "must be a string" : "unknown key (allowed: reason, info)");
            ok = false;
            break;
        }
    }
    json_decref(o);
    return ok;
}

/* POST /subscribers/{name}/deregister: RTR to the assigned S-CSCF, 202 */
static int deregister_subscriber(struct api_req *q, struct ims_http_response *resp)
{
    struct hss_subscription s;
    int reason;
    char info[128];
    if (!rtr_options(q, &reason, info, sizeof(info), resp) || !load_subscription(q, &s, resp))
        return 0;
    if (!s.scscf_host[0])
        return ims_http_reply_error(resp, 409, NULL, "subscriber %s has no S-CSCF assigned "
                                    "(not registered): nothing to de-register", q->arg);
    hss_cx_rtr(q->h, s.id, reason, info);
    ims_info("provision: de-registration of subscriber %s (reason %s) requested by %s; RTR "
             "to %s", q->arg, rtr_reasons[reason].name, q->client, s.scscf_host);
    return ims_http_reply_json(resp, 202, json_pack("{s:s, s:s, s:s}", "subscriber", q->arg,
                                                    "scscf", s.scscf_name, "reason",
                                                    rtr_reasons[reason].name));
}

/* GET /impus/{identity}: exact identity, else the wildcard that matches it */
static int get_impu(struct api_req *q, struct ims_http_response *resp)
{
    struct hss_impu u;
    struct hss_subscription s = { 0 };
    int rc = hss_impu_find(q->db, q->arg, &u);
    if (rc == 0 && u.subscription_id)
        rc = hss_subscription_get(q->db, u.subscription_id, &s);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no public identity %s", q->arg);
    if (rc)
        return ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
    unsigned reg = (unsigned)u.reg_state < 3 ? (unsigned)u.reg_state : 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "identity", q->arg, "impu", u.identity,
                          "type", hss_identity_type_names[u.type & 3], "reg_state",
                          hss_reg_state_names[reg], "barred", u.barred);
    if (o) {
        json_object_set_new(o, "subscriber", s.name[0] ? json_string(s.name) : json_null());
        json_object_set_new(o, "scscf", s.scscf_name[0] ? json_string(s.scscf_name)
                                                        : json_null());
    }
    return ims_http_reply_json(resp, 200, o);
}

/* ---- SLF routes (hss.mode = slf): identity or regex -> the HSS that holds it ---- */

/* GET /slf/routes */
static int list_slf_routes(struct api_req *q, struct ims_http_response *resp)
{
    sqlite3_stmt *st = ims_db_stmt(q->db, "SELECT pattern, regex, hss FROM slf_route"
                                          " ORDER BY regex, pattern");
    json_t *items = json_array();
    if (!st || !items) {
        json_decref(items);
        return ims_http_reply_error(resp, 500, NULL, "database error");
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(items, json_pack("{s:s, s:b, s:s}", "pattern",
                                               (const char *)sqlite3_column_text(st, 0),
                                               "regex", sqlite3_column_int(st, 1),
                                               "hss", (const char *)sqlite3_column_text(st, 2)));
    sqlite3_reset(st);
    return ims_http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
}

/* PUT /slf/routes {"pattern": "...", "regex": false, "hss": "hss1.example.org"} (upsert) */
static int put_slf_route(struct api_req *q, struct ims_http_response *resp)
{
    json_error_t je;
    json_t *body = q->http->body ? json_loads(q->http->body, 0, &je) : NULL;
    const char *pattern = json_string_value(json_object_get(body, "pattern"));
    const char *hss = json_string_value(json_object_get(body, "hss"));
    json_t *regex = json_object_get(body, "regex");
    int rc;
    if (!json_is_object(body))
        rc = ims_http_reply_error(resp, 400, NULL, "body: a JSON object is required");
    else if (!pattern || !*pattern || strlen(pattern) >= HSS_ID_MAX)
        rc = ims_http_reply_error(resp, 400, "pattern", "an identity or regex is required");
    else if (!hss || !*hss || strlen(hss) >= HSS_ID_MAX)
        rc = ims_http_reply_error(resp, 400, "hss", "the Diameter identity of the HSS");
    else if (regex && !json_is_boolean(regex))
        rc = ims_http_reply_error(resp, 400, "regex", "true or false");
    else {
        regex_t re;
        bool is_re = json_is_true(regex);
        if (is_re && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            rc = ims_http_reply_error(resp, 400, "pattern", "not an extended regex");
        } else {
            if (is_re)
                regfree(&re);
            sqlite3_stmt *st = ims_db_stmt(q->db, "INSERT INTO slf_route (pattern, regex, hss)"
                                                  " VALUES (?1, ?2, ?3) ON CONFLICT (pattern)"
                                                  " DO UPDATE SET regex = ?2, hss = ?3");
            bool ok = st != NULL;
            if (ok) {
                sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, is_re);
                sqlite3_bind_text(st, 3, hss, -1, SQLITE_STATIC);
                ok = sqlite3_step(st) == SQLITE_DONE;
                sqlite3_reset(st);
            }
            if (ok)
                ims_info("provision: SLF route %s -> %s set by %s", pattern, hss, q->client);
            rc = ok ? ims_http_reply_json(resp, 200, json_incref(body))
                    : ims_http_reply_error(resp, 500, NULL, "database error");
        }
    }
    json_decref(body);
    return rc;
}

/* DELETE /slf/routes/{pattern} */
static int delete_slf_route(struct api_req *q, struct ims_http_response *resp)
{
    sqlite3_stmt *st = ims_db_stmt(q->db, "DELETE FROM slf_route WHERE pattern = ?1");
    if (!st)
        return ims_http_reply_error(resp, 500, NULL, "database error");
    sqlite3_bind_text(st, 1, q->arg, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    if (!ok)
        return ims_http_reply_error(resp, 500, NULL, "database error");
    if (sqlite3_changes(ims_db_handle(q->db)) == 0)
        return ims_http_reply_error(resp, 404, NULL, "no SLF route %s", q->arg);
    ims_info("provision: SLF route %s deleted by %s", q->arg, q->client);
    return ims_http_reply_json(resp, 200, json_pack("{s:s}", "deleted", q->arg));
}

/* After a committed seed: the summary lists, notifications and log lines. */
static void seed_log(const struct api_req *q, json_t *docs, const struct hss_put_result *res,
                     json_t *summary)
{
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        const char *name = json_string_value(json_object_get(doc, "name"));
        json_array_append_new(json_object_get(summary, outcome_name(res[i].outcome)),
                              json_string(name));
        if (res[i].outcome != HSS_PUT_UNCHANGED)
            after_write(q, name, &res[i]);
    }
    ims_info("provision: seed of %zu subscriber(s) by %s: %zu created, %zu updated, "
             "%zu unchanged", json_array_size(docs), q->client,
             json_array_size(json_object_get(summary, "created")),
             json_array_size(json_object_get(summary, "updated")),
             json_array_size(json_object_get(summary, "unchanged")));
}

/* Refuse members of @o other than those of the NULL-terminated @keys; false after a 400. */
static bool only_keys(json_t *o, const char *const *keys, const char *allowed,
                      struct ims_http_response *resp)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (!keys[i]) {
            ims_http_reply_error(resp, 400, key, "unknown key (allowed: %s)", allowed);
            return false;
        }
    }
    return true;
}

/* POST /seed {"subscribers": [doc, ...]}: create or replace each, in one transaction */
static int seed(struct api_req *q, struct ims_http_response *resp)
{
    static const char *const keys[] = { "subscribers", NULL };
    json_t *body = body_object(q, resp), *docs = json_object_get(body, "subscribers");
    struct hss_put_result *res = NULL;
    size_t failed = 0;
    int rc = 0;
    if (!body || !only_keys(body, keys, "subscribers", resp))
        goto out;
    if (!json_is_array(docs)) {
        ims_http_reply_error(resp, 400, "subscribers", "required: a list of subscriber "
                             "documents");
        goto out;
    }
    res = calloc(json_array_size(docs) + 1, sizeof(*res));
    if (!res) {
        rc = -ENOMEM;
        goto out;
    }
    rc = hss_subscriber_seed(q->db, docs, res, &failed);
    if (rc) {
        char where[40];
        snprintf(where, sizeof(where), "subscribers[%zu]", failed);
        ims_info("provision: seed by %s refused (nothing written): %s.%s: %s", q->client,
                 where, res[failed].field, res[failed].err);
        rc = reply_put_error(resp, rc, where, &res[failed]);
        goto out;
    }
    json_t *summary = json_pack("{s:[], s:[], s:[]}", "created", "updated", "unchanged");
    if (summary)
        seed_log(q, docs, res, summary);
    rc = ims_http_reply_json(resp, 200, summary);
out:
    free(res);
    json_decref(body);
    return rc;
}

struct bulk_args {
    const char *prefix, *domain;
    json_int_t from, count;
};

/* the body of /bulk; false after a 400 */
static bool bulk_args(json_t *body, struct bulk_args *a, struct ims_http_response *resp)
{
    static const char *const keys[] = { "prefix", "from", "count", "domain", NULL };
    json_t *prefix = json_object_get(body, "prefix"), *domain = json_object_get(body, "domain");
    json_t *from = json_object_get(body, "from"), *count = json_object_get(body, "count");
    if (!only_keys(body, keys, "prefix, from, count, domain", resp))
        return false;
    if ((prefix && !json_is_string(prefix)) || (domain && !json_is_string(domain))) {
        ims_http_reply_error(resp, 400, prefix && !json_is_string(prefix) ? "prefix" : "domain",
                             "must be a string");
        return false;
    }
    a->prefix = prefix ? json_string_value(prefix) : "user";
    if (domain)
        a->domain = json_string_value(domain);
    a->from = from ? json_integer_value(from) : 1;
    a->count = count ? json_integer_value(count) : -1;
    if (!json_is_integer(count) || a->count < 1 || a->count > HSS_BULK_MAX) {
        ims_http_reply_error(resp, 400, "count", "required: an integer from 1 to %d",
                             HSS_BULK_MAX);
        return false;
    }
    if ((from && !json_is_integer(from)) || a->from < 0 || a->from + a->count - 1 > 99999999) {
        ims_http_reply_error(resp, 400, "from", "must be an integer >= 0 with "
                             "from + count - 1 <= 99999999");
        return false;
    }
    return true;
}

/* POST /bulk {"prefix": "user", "from": 1, "count": 1000, "domain": "..."} */
static int bulk(struct api_req *q, struct ims_http_response *resp)
{
    struct bulk_args a = { .domain = ims_cfg_str(q->h->d->cfg, "node.domain") };
    json_t *body = body_object(q, resp);
    long created = 0;
    if (!body || !bulk_args(body, &a, resp)) {
        json_decref(body);
        return 0;
    }
    int rc = hss_subscriber_bulk(q->db, a.prefix, (long)a.from, (long)a.count, a.domain,
                                 &created);
    if (created || (rc && rc != -EINVAL))
        ims_info("provision: bulk %s%05lld+%lld@%s by %s: %ld created%s", a.prefix,
                 (long long)a.from, (long long)a.count, a.domain, q->client, created,
                 rc ? ", then it failed" : "");
    if (rc == -EINVAL)
        rc = ims_http_reply_error(resp, 400, NULL, "prefix: 1 to 32 letters, digits, '.', '_' "
                                  "or '-' starting with a letter; domain: a domain name");
    else if (rc)
        rc = ims_http_reply_error(resp, 500, NULL, "database error after %ld created (%s)",
                                  created, strerror(-rc));
    else
        rc = ims_http_reply_json(resp, 200, json_pack("{s:I, s:I, s:s, s:I, s:s}", "created",
                                                      (json_int_t)created, "skipped",
                                                      a.count - (json_int_t)created, "prefix",
                                                      a.prefix, "from", a.from, "domain",
                                                      a.domain));
    json_decref(body);
    return rc;
}

/* ---- routing ---- */

static const struct {
    enum resource res;
    const char *method;
    api_fn fn;
} routes[] = {
    { RES_SUBSCRIBERS, "GET", list_subscribers },
    { RES_SUBSCRIBERS, "POST", create_subscriber },
    { RES_SUBSCRIBER, "GET", get_subscriber },
    { RES_SUBSCRIBER, "PUT", put_subscriber },
    { RES_SUBSCRIBER, "DELETE", delete_subscriber },
    { RES_DEREGISTER, "POST", deregister_subscriber },
    { RES_IMPU, "GET", get_impu },
    { RES_SEED, "POST", seed },
    { RES_BULK, "POST", bulk },
    { RES_SLF_ROUTES, "GET", list_slf_routes },
    { RES_SLF_ROUTES, "PUT", put_slf_route },
    { RES_SLF_ROUTE, "DELETE", delete_slf_route },
};

/* The resource of @path (under /api/v1/) and its {name} or {identity} into @arg. */
static enum resource parse_path(const char *path, char *arg, size_t len)
{
    const char *p = path + strlen(API_PREFIX);
    arg[0] = '\0';
    if (strcmp(p, "subscribers") == 0)
        return RES_SUBSCRIBERS;
    if (strcmp(p, "seed") == 0)
        return RES_SEED;
    if (strcmp(p, "bulk") == 0)
        return RES_BULK;
    if (strcmp(p, "slf/routes") == 0)
        return RES_SLF_ROUTES;
    if (strncmp(p, "slf/routes/", 11) == 0 && p[11] && strlen(p + 11) < len) {
        snprintf(arg, len, "%s", p + 11);
        return RES_SLF_ROUTE;
    }
    if (strncmp(p, "impus/", 6) == 0 && p[6] && strlen(p + 6) < len) {
        snprintf(arg, len, "%s", p + 6);
        return RES_IMPU;
    }
    if (strncmp(p, "subscribers/", 12) != 0)
        return RES_NONE;
    p += 12;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= len)
        return RES_NONE;
    snprintf(arg, len, "%.*s", (int)n, p);
    if (p[n] == '\0')
        return RES_SUBSCRIBER;
    return strcmp(p + n, "/deregister") == 0 ? RES_DEREGISTER : RES_NONE;
}

/* Route an authenticated request: 404 unknown path, 405 wrong method. */
static int dispatch(struct api_req *q, struct ims_http_response *resp)
{
    enum resource res = parse_path(q->http->path, q->arg, sizeof(q->arg));
    char allowed[64] = "";
    if (res == RES_NONE)
        return ims_http_reply_error(resp, 404, NULL, "no such resource: %s", q->http->path);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (routes[i].res != res)
            continue;
        if (strcmp(routes[i].method, q->http->method) == 0)
            return routes[i].fn(q, resp);
        strncat(allowed, allowed[0] ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
        strncat(allowed, routes[i].method, sizeof(allowed) - strlen(allowed) - 1);
    }
    return ims_http_reply_error(resp, 405, NULL, "method %s not allowed on %s (allowed: %s)",
                                q->http->method, q->http->path, allowed);
}

/* Every /api/v1/ request: authentication, then the route. */
static int on_api(void *arg, const struct ims_http_request *req, struct ims_http_response *resp)
{
    struct api_req q = { .h = arg, .http = req };
    client_address(req, q.client, sizeof(q.client));
    if (!q.h->api_token[0] || !ims_http_bearer_ok(req, q.h->api_token))
        ims_http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"hss provisioning\"");
    if (!q.h->api_token[0])
        return ims_http_reply_error(resp, 401, NULL, "the provisioning API is disabled: "
                                    "hss.api_token is not set in the configuration");
    if (!ims_http_bearer_ok(req, q.h->api_token)) {
        ims_warn("provision: %s %s from %s refused: missing or wrong bearer token",
                 req->method, req->path, q.client);
        return ims_http_reply_error(resp, 401, NULL, "missing or wrong bearer token "
                                    "(Authorization: Bearer <hss.api_token>)");
    }
    hss_lock();
    q.db = hss_db(q.h);
    sqlite3_int64 before = q.db ? sqlite3_total_changes64(ims_db_handle(q.db)) : 0;
    int rc = q.db ? dispatch(&q, resp)
                  : ims_http_reply_error(resp, 500, NULL, "no subscriber database");
    /* hss.db_sync = full: a change is on disk before the answer says it is done */
    if (q.db && q.h->db_full && sqlite3_total_changes64(ims_db_handle(q.db)) != before &&
        ims_db_sync_wal(q.db) != 0)
        rc = ims_http_reply_error(resp, 500, NULL, "the change is committed but the "
                                  "database could not be synced to disk");
    hss_unlock();
    return rc;
}

/* One prefix route for the whole API (hss_provision_init() in hss.h). */
int hss_provision_init(struct hss *h)
{
    int rc = ims_http_route(h->d->http, NULL, API_PREFIX, true, on_api, h);
    if (rc)
        ims_err("provision: cannot add the %s routes: %s", API_PREFIX, strerror(-rc));
    return rc;
}
