/*
 * api.c - the REST API of the OCS under /api/v1 (JSON; "Authorization: Bearer
 * <ocs.api_token>"; an empty token disables it)
 *
 *   GET    /accounts?offset=&limit=        accounts by name
 *   POST   /accounts                       create {"name","type","identities","balance"}
 *   GET    /accounts/{name}                balance, reserved, available, identities
 *   PUT    /accounts/{name}                replace type and identities (not the balance)
 *   DELETE /accounts/{name}                409 while it has open reservations
 *   POST   /accounts/{name}/topup          {"amount": N}: balance += N
 *   GET    /rates, POST /rates             the rating table; add an entry
 *   GET|PUT|DELETE /rates/{id}
 *   GET    /cdrs?icid=&subscriber=&from=&to=&offset=&limit=   CDRs by start time
 *   GET    /cdrs/{id}
 *   POST   /seed                           {"accounts": [...], "rates": [...]}: accounts
 *                                          created when missing (balance kept otherwise),
 *                                          rates added or updated by service and prefix
 *
 * Errors are {"error": "...", "field": "..."} with 400, 401, 404, 405, 409 or 500.
 * Handlers run on the HTTP thread under the database lock.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1/"

enum resource {
    RES_NONE,
    RES_ACCOUNTS, RES_ACCOUNT, RES_TOPUP,
    RES_RATES, RES_RATE,
    RES_CDRS, RES_CDR,
    RES_SEED,
};

struct api_req {
    struct ocs *o;
    struct ims_db *db;
    const struct ims_http_request *http;
    char arg[OCS_ID_MAX];
    char client[INET6_ADDRSTRLEN];
};

static int db_error(struct ims_http_response *resp, int rc)
{
    return ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
}

/* ---- accounts ---- */

static int reply_account(struct api_req *q, const char *name, int status,
                         struct ims_http_response *resp)
{
    struct ocs_account a;
    int rc = ocs_account_get(q->db, name, &a);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no account %s", name);
    json_t *doc = rc ? NULL : ocs_account_json(q->db, &a);
    if (!doc)
        return db_error(resp, rc ? rc : -ENOMEM);
    return ims_http_reply_json(resp, status, doc);
}

static int list_accounts(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    long offset, limit;
    if (!ims_http_query_long(q->http, "offset", 0, 0, LONG_MAX, &offset, resp) ||
        !ims_http_query_long(q->http, "limit", 64, 1, 64, &limit, resp))
        return 0;
    json_t *page = ocs_account_list(q->db, offset, limit);
    return page ? ims_http_reply_json(resp, 200, page) : db_error(resp, -EIO);
}

static int reply_put_error(struct ims_http_response *resp, int rc, const char *field,
                           const char *err)
{
    if (rc == -EINVAL)
        return ims_http_reply_error(resp, 400, field, "%s", err);
    if (rc == -EEXIST)
        return ims_http_reply_error(resp, 409, field, "%s", err);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no such account");
    return db_error(resp, rc);
}

static int write_account(struct api_req *q, struct ims_http_response *resp, bool create)
{
    char field[64] = "", err[200] = "", name[OCS_NAME_MAX];
    json_t *doc = ims_http_body_object(q->http, resp);
    if (!doc)
        return 0;
    if (!create) {
        json_t *n = json_object_get(doc, "name");
        if (n && (!json_is_string(n) || strcmp(json_string_value(n), q->arg) != 0)) {
            json_decref(doc);
            return ims_http_reply_error(resp, 400, "name", "must be the name in the path");
        }
        json_object_del(doc, "name");
    }
    const char *given = create ? json_string_value(json_object_get(doc, "name")) : q->arg;
    snprintf(name, sizeof(name), "%s", given ? given : "");
    int rc = ocs_account_put(q->db, doc, create, q->arg, field, sizeof(field), err,
                             sizeof(err));
    json_decref(doc);
    if (rc)
        return reply_put_error(resp, rc, field, err);
    ims_info("api: account %s %s by %s", name, create ? "created" : "updated", q->client);
    return reply_account(q, name, create ? 201 : 200, resp);
}

static int create_account(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    return write_account(q, resp, true);
}

static int put_account(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    return write_account(q, resp, false);
}

static int get_account(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    return reply_account(q, q->arg, 200, resp);
}

static int delete_account(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    int rc = ocs_account_delete(q->db, q->arg);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no account %s", q->arg);
    if (rc == -EBUSY)
        return ims_http_reply_error(resp, 409, NULL, "account %s has open reservations",
                                    q->arg);
    if (rc)
        return db_error(resp, rc);
    ims_info("api: account %s deleted by %s", q->arg, q->client);
    return ims_http_reply_json(resp, 200, json_pack("{s:s}", "deleted", q->arg));
}

static int topup(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    json_t *doc = ims_http_body_object(q->http, resp);
    if (!doc)
        return 0;
    json_t *amount = json_object_get(doc, "amount");
    json_int_t n = json_integer_value(amount);
    bool ok = json_is_integer(amount) && n > 0 && n <= OCS_AMOUNT_MAX &&
              json_object_size(doc) == 1;
    json_decref(doc);
    if (!ok)
        return ims_http_reply_error(resp, 400, "amount", "required alone: an integer from 1 "
                                    "to 10^12 (minor currency units)");
    struct ocs_account a;
    int rc = ocs_account_get(q->db, q->arg, &a);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no account %s", q->arg);
    if (rc == 0)
        rc = ocs_account_move(q->db, a.id, n, 0);
    if (rc == -ERANGE)
        return ims_http_reply_error(resp, 400, "amount", "the balance of %s would pass 10^15 "
                                    "minor currency units (it is %lld)", q->arg,
                                    (long long)a.balance);
    if (rc)
        return db_error(resp, rc);
    ims_info("api: account %s topped up by %lld by %s", q->arg, (long long)n, q->client);
    return reply_account(q, q->arg, 200, resp);
}

/* ---- rates ---- */

static int list_rates(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    json_t *list = ocs_rate_list(q->db);
    return list ? ims_http_reply_json(resp, 200, list) : db_error(resp, -EIO);
}

static bool rate_id(struct api_req *q, int64_t *id, struct ims_http_response *resp)
{
    char *end;
    long long v = strtoll(q->arg, &end, 10);
    if (*end || v <= 0) {
        ims_http_reply_error(resp, 404, NULL, "no rate %s (ids are positive integers)",
                             q->arg);
        return false;
    }
    *id = v;
    return true;
}

static int write_rate(struct api_req *q, struct ims_http_response *resp, int64_t id)
{
    char field[32] = "", err[200] = "";
    struct ocs_rate r;
    json_t *doc = ims_http_body_object(q->http, resp);
    if (!doc)
        return 0;
    int rc = ocs_rate_from_json(doc, &r, field, sizeof(field), err, sizeof(err));
    json_decref(doc);
    if (rc)
        return ims_http_reply_error(resp, 400, field, "%s", err);
    r.id = id;
    rc = ocs_rate_put(q->db, &r);
    if (rc == -EEXIST)
        return ims_http_reply_error(resp, 409, "prefix", "a rate for service %s and prefix "
                                    "'%s' exists", r.service, r.prefix);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no rate %lld", (long long)id);
    if (rc)
        return db_error(resp, rc);
    ims_info("api: rate %lld (%s '%s': %lld per %s) %s by %s", (long long)r.id, r.service,
             r.prefix, (long long)r.price, r.unit == OCS_UNIT_EVENT ? "event" : "second",
             id ? "updated" : "created", q->client);
    return ims_http_reply_json(resp, id ? 200 : 201, ocs_rate_json(&r));
}

static int create_rate(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    return write_rate(q, resp, 0);
}

static int put_rate(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    int64_t id;
    return rate_id(q, &id, resp) ? write_rate(q, resp, id) : 0;
}

static int get_rate(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    int64_t id;
    struct ocs_rate r;
    if (!rate_id(q, &id, resp))
        return 0;
    int rc = ocs_rate_get(q->db, id, &r);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no rate %lld", (long long)id);
    return rc ? db_error(resp, rc) : ims_http_reply_json(resp, 200, ocs_rate_json(&r));
}

static int delete_rate(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    int64_t id;
    if (!rate_id(q, &id, resp))
        return 0;
    int rc = ocs_rate_delete(q->db, id);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no rate %lld", (long long)id);
    if (rc)
        return db_error(resp, rc);
    ims_info("api: rate %lld deleted by %s", (long long)id, q->client);
    return ims_http_reply_json(resp, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/* ---- CDRs ---- */

/* A time parameter: Unix seconds or YYYY-MM-DDTHH:MM:SSZ; false after a 400. */
static bool query_time(struct api_req *q, const char *name, int64_t dflt, int64_t *out,
                       struct ims_http_response *resp)
{
    const char *s = ims_http_query(q->http, name);
    struct tm tm;
    char *end;
    *out = dflt;
    if (!s)
        return true;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && v >= 0) {
        *out = v;
        return true;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end && !*end) {
        *out = (int64_t)timegm(&tm);
        return true;
    }
    ims_http_reply_error(resp, 400, name, "must be Unix seconds or YYYY-MM-DDTHH:MM:SSZ");
    return false;
}

static int list_cdrs(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    long offset, limit;
    int64_t from, to;
    if (!ims_http_query_long(q->http, "offset", 0, 0, LONG_MAX, &offset, resp) ||
        !ims_http_query_long(q->http, "limit", 100, 1, 1000, &limit, resp) ||
        !query_time(q, "from", 0, &from, resp) || !query_time(q, "to", INT64_MAX, &to, resp))
        return 0;
    const char *icid = ims_http_query(q->http, "icid");
    const char *sub = ims_http_query(q->http, "subscriber");
    json_t *page = ocs_cdr_query(q->db, icid && *icid ? icid : NULL, sub && *sub ? sub : NULL,
                                 from, to, offset, limit);
    return page ? ims_http_reply_json(resp, 200, page) : db_error(resp, -EIO);
}

static int get_cdr(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    char *end;
    struct ocs_cdr c;
    long long id = strtoll(q->arg, &end, 10);
    int rc = *end || id <= 0 ? -ENOENT : ocs_cdr_get(q->db, id, &c);
    if (rc == -ENOENT)
        return ims_http_reply_error(resp, 404, NULL, "no CDR %s", q->arg);
    return rc ? db_error(resp, rc) : ims_http_reply_json(resp, 200, ocs_cdr_json(&c));
}

/* ---- seed ---- */

static int seed_account(struct api_req *q, json_t *doc, size_t i,
                        struct ims_http_response *resp)
{
    char field[64] = "", err[200] = "", path[96];
    struct ocs_account a;
    const char *name = json_string_value(json_object_get(doc, "name"));
    bool exists = name && ocs_account_get(q->db, name, &a) == 0;
    if (exists)
        json_object_del(doc, "balance");   /* the balance of a live account is kept */
    int rc = ocs_account_put(q->db, doc, !exists, name, field, sizeof(field), err,
                             sizeof(err));
    if (rc == 0)
        return 0;
    snprintf(path, sizeof(path), "accounts[%zu]%s%s", i, field[0] ? "." : "", field);
    reply_put_error(resp, rc, path, err);
    return -EINVAL;
}

static int seed_rate(struct api_req *q, json_t *doc, size_t i, struct ims_http_response *resp)
{
    char field[32] = "", err[200] = "", path[64];
    struct ocs_rate r, old;
    int rc = ocs_rate_from_json(doc, &r, field, sizeof(field), err, sizeof(err));
    if (rc == 0 && ocs_rating_find(q->db, r.service, r.prefix, &old) == 0 &&
        strcmp(old.service, r.service) == 0 && strcmp(old.prefix, r.prefix) == 0)
        r.id = old.id;
    if (rc == 0 && (rc = ocs_rate_put(q->db, &r)) == 0)
        return 0;
    snprintf(path, sizeof(path), "rates[%zu]%s%s", i, field[0] ? "." : "", field);
    if (rc == -EINVAL)
        ims_http_reply_error(resp, 400, path, "%s", err);
    else
        db_error(resp, rc);
    return -EINVAL;
}

static int seed(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    json_t *doc = ims_http_body_object(q->http, resp);
    if (!doc)
        return 0;
    json_t *accounts = json_object_get(doc, "accounts"), *rates = json_object_get(doc, "rates");
    json_t *v;
    size_t i;
    int rc = 0;
    if ((accounts && !json_is_array(accounts)) || (rates && !json_is_array(rates))) {
        json_decref(doc);
        return ims_http_reply_error(resp, 400, accounts && !json_is_array(accounts) ? "accounts"
                                    : "rates", "must be an array");
    }
    if (ims_db_begin(q->db) != 0) {
        json_decref(doc);
        return db_error(resp, -EIO);
    }
    json_array_foreach(accounts, i, v)
        if (rc == 0)
            rc = seed_account(q, v, i, resp);
    json_array_foreach(rates, i, v)
        if (rc == 0)
            rc = seed_rate(q, v, i, resp);
    if (rc == 0 && ims_db_commit(q->db) != 0) {
        db_error(resp, -EIO);
        rc = -EIO;
    }
    if (rc) {
        ims_db_rollback(q->db);
        json_decref(doc);
        return 0;
    }
    ims_info("api: seeded %zu accounts and %zu rates by %s", json_array_size(accounts),
             json_array_size(rates), q->client);
    rc = ims_http_reply_json(resp, 200, json_pack("{s:I, s:I}", "accounts",
                                                  (json_int_t)json_array_size(accounts),
                                                  "rates", (json_int_t)json_array_size(rates)));
    json_decref(doc);
    return rc;
}

/* ---- routing ---- */

static const struct ims_http_api_route routes[] = {
    { RES_ACCOUNTS, "GET", list_accounts },
    { RES_ACCOUNTS, "POST", create_account },
    { RES_ACCOUNT, "GET", get_account },
    { RES_ACCOUNT, "PUT", put_account },
    { RES_ACCOUNT, "DELETE", delete_account },
    { RES_TOPUP, "POST", topup },
    { RES_RATES, "GET", list_rates },
    { RES_RATES, "POST", create_rate },
    { RES_RATE, "GET", get_rate },
    { RES_RATE, "PUT", put_rate },
    { RES_RATE, "DELETE", delete_rate },
    { RES_CDRS, "GET", list_cdrs },
    { RES_CDR, "GET", get_cdr },
    { RES_SEED, "POST", seed },
};

/* "<collection>/<arg>[/<tail>]": the resource, with {arg} copied */
static enum resource parse_path(const char *path, char *arg, size_t len)
{
    static const struct {
        const char *name;
        enum resource all, one, tail_res;
        const char *tail;
    } cols[] = {
        { "accounts", RES_ACCOUNTS, RES_ACCOUNT, RES_TOPUP, "/topup" },
        { "rates", RES_RATES, RES_RATE, RES_NONE, NULL },
        { "cdrs", RES_CDRS, RES_CDR, RES_NONE, NULL },
        { "seed", RES_SEED, RES_NONE, RES_NONE, NULL },
    };
    const char *p = path + strlen(API_PREFIX);
    arg[0] = '\0';
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        size_t n = strlen(cols[i].name);
        if (strncmp(p, cols[i].name, n) != 0 || (p[n] && p[n] != '/'))
            continue;
        if (!p[n])
            return cols[i].all;
        const char *a = p + n + 1;
        size_t alen = strcspn(a, "/");
        if (alen == 0 || alen >= len)
            return RES_NONE;
        snprintf(arg, len, "%.*s", (int)alen, a);
        if (!a[alen])
            return cols[i].one;
        return cols[i].tail && strcmp(a + alen, cols[i].tail) == 0 ? cols[i].tail_res
                                                                   : RES_NONE;
    }
    return RES_NONE;
}

static int dispatch(struct api_req *q, struct ims_http_response *resp)
{
    enum resource res = parse_path(q->http->path, q->arg, sizeof(q->arg));
    return ims_http_api_dispatch(routes, sizeof(routes) / sizeof(routes[0]), (int)res, q,
                                 q->http, resp);
}

static int on_api(void *arg, const struct ims_http_request *req, struct ims_http_response *resp)
{
    struct api_req q = { .o = arg, .http = req };
    ims_http_client_address(req, q.client, sizeof(q.client));
    if (!q.o->api_token[0] || !ims_http_bearer_ok(req, q.o->api_token)) {
        ims_http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"ocs\"");
        if (q.o->api_token[0])
            ims_warn("api: %s %s from %s refused: missing or wrong bearer token",
                     req->method, req->path, q.client);
        return ims_http_reply_error(resp, 401, NULL, q.o->api_token[0]
                                    ? "missing or wrong bearer token (Authorization: Bearer "
                                      "<ocs.api_token>)"
                                    : "the API is disabled: ocs.api_token is not set");
    }
    ocs_lock();
    q.db = q.o->db;
    int rc = q.db ? dispatch(&q, resp)
                  : ims_http_reply_error(resp, 503, NULL, "the OCS is stopping");
    ocs_unlock();
    return rc;
}

int ocs_api_init(struct ocs *o)
{
    int rc = ims_http_route(o->d->http, NULL, API_PREFIX, true, on_api, o);
    if (rc)
        ims_err("api: cannot add the %s routes: %s", API_PREFIX, strerror(-rc));
    return rc;
}
