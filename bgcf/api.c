/*
 * api.c - the BGCF's REST API under /api/v1 (JSON; "Authorization: Bearer <bgcf.api_token>";
 * an empty token disables it)
 *
 *   GET    /routes                  every route: {"routes": [...]}, configuration and API
 *   GET    /routes/{id}             one route
 *   PUT    /routes/{id}             create (201) or replace (200) a route of the API:
 *                                   {"prefix": "+1999" | "domain": "example.net",
 *                                    "next_hop": "sip:...", "kind": "mgcf|bgcf|ibcf",
 *                                    "priority": 0..65535, "weight": 0..65535}
 *   DELETE /routes/{id}             remove a route of the API
 *   GET    /lookup?target=URI       the routes a request for URI would try, in order (one
 *                                   weighted draw)
 *
 * Routes of the configuration (bgcf.routes) are read-only here (409). A change is stored
 * (bgcf.database) and then swapped into the live table on the loop thread, in one
 * transaction: the next request already uses it, and a restart keeps it.
 * Errors are {"error": "...", "field": "..."} with 400, 401, 404, 405, 409, 500 or 503.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "db.h"
#include "log.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/url.h>

#define API_PREFIX "/api/v1/"
#define SWAP_WAIT_MS 2000

enum resource { RES_NONE, RES_ROUTES, RES_ROUTE, RES_LOOKUP };

struct api_req {
    struct bgcf *b;
    const struct ims_http_request *http;
    char arg[BGCF_ID_MAX + 1];
    char client[INET6_ADDRSTRLEN];
};

/* ---- replacing the live table ---- */

struct swap {
    struct bgcf *b;
    struct bgcf_table *t;         /* in: the new table; out: the old one */
};

static void do_swap(void *arg)
{
    struct swap *s = arg;
    struct bgcf_table *old = s->b->table;
    s->b->table = s->t;
    s->t = old;
}

/* Put @t live (on the loop thread); on success *t is the old table. 0 or -errno. */
static int swap_in(struct bgcf *b, struct bgcf_table **t)
{
    struct swap s = { .b = b, .t = *t };
    int rc = ims_loop_call(b->d->loop, do_swap, &s, SWAP_WAIT_MS);
    if (rc == 0)
        *t = s.t;
    return rc;
}

/*
 * The API's routes of the live table without @skip (an id), plus @add (may be NULL), into
 * a new table. NULL with a reply already made.
 */
static struct bgcf_table *next_table(struct bgcf *b, const char *skip,
                                     const struct bgcf_route *add,
                                     struct ims_http_response *resp)
{
    size_t n = bgcf_table_count(b->table), k = 0;
    struct bgcf_route *api = calloc(n + 1, sizeof(*api));
    if (!api) {
        ims_http_reply_error(resp, 500, NULL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct bgcf_route *r = bgcf_table_at(b->table, i);
        if (!r->from_config && strcmp(r->id, skip) != 0)
            api[k++] = *r;
    }
    if (add)
        api[k++] = *add;
    char err[300];
    struct bgcf_table *t = bgcf_tables_build(b, api, k, err, sizeof(err));
    free(api);
    if (!t)
        ims_http_reply_error(resp, strstr(err, "memory") ? 500 : 400, NULL, "%s", err);
    return t;
}

/*
 * Store the change (@put, or the removal of @del) and swap @t in, atomically: the
 * transaction is committed only once the table is live, and the table swapped back when
 * the commit fails. Takes @t. 0, or -1 with a reply made.
 */
static int commit_change(struct bgcf *b, const struct bgcf_route *put, const char *del,
                         struct bgcf_table *t, struct ims_http_response *resp)
{
    int rc = ims_db_begin(b->db);
    if (rc == 0) {
        rc = put ? bgcf_store_put(b, put) : bgcf_store_delete(b, del);
        if (rc == -ENOENT)
            rc = 0;                /* live but not stored: the removal is still right */
        if (rc)
            ims_db_rollback(b->db);
    }
    if (rc) {
        bgcf_table_free(t);
        ims_http_reply_error(resp, 500, NULL, "database error (%s)", strerror(-rc));
        return -1;
    }
    rc = swap_in(b, &t);
    if (rc) {
        ims_db_rollback(b->db);
        bgcf_table_free(t);
        ims_http_reply_error(resp, 503, NULL, "the routing table could not be replaced "
                             "(%s): nothing changed", strerror(-rc));
        return -1;
    }
    if (ims_db_commit(b->db) != 0) {
        ims_db_rollback(b->db);
        if (swap_in(b, &t) != 0)
            ims_err("bgcf: the live routes differ from bgcf.database until a restart");
        bgcf_table_free(t);
        ims_http_reply_error(resp, 500, NULL, "database error (commit): nothing changed");
        return -1;
    }
    bgcf_table_free(t);            /* the old one */
    return 0;
}

/* ---- handlers ---- */

static int reply_route(struct ims_http_response *resp, int status, const struct bgcf_route *r)
{
    json_t *doc = bgcf_route_json(r);
    return doc ? ims_http_reply_json(resp, status, doc)
               : ims_http_reply_error(resp, 500, NULL, "out of memory");
}

static int list_routes(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    json_t *list = json_array();
    for (size_t i = 0; list && i < bgcf_table_count(q->b->table); i++)
        json_array_append_new(list, bgcf_route_json(bgcf_table_at(q->b->table, i)));
    json_t *doc = list ? json_pack("{s:o}", "routes", list) : NULL;
    return doc ? ims_http_reply_json(resp, 200, doc)
               : ims_http_reply_error(resp, 500, NULL, "out of memory");
}

static int get_route(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    const struct bgcf_route *r = bgcf_table_find(q->b->table, q->arg);
    if (!r)
        return ims_http_reply_error(resp, 404, NULL, "no route %s", q->arg);
    return reply_route(resp, 200, r);
}

/* A route of bgcf.routes cannot be changed here: 409 naming it */
static bool refuse_config(struct api_req *q, struct ims_http_response *resp)
{
    const struct bgcf_route *old = bgcf_table_find(q->b->table, q->arg);
    if (!old || !old->from_config)
        return false;
    ims_http_reply_error(resp, 409, "id", "route %s comes from the configuration "
                         "(bgcf.routes): change it there, or add a route of the API with a "
                         "lower priority value", q->arg);
    return true;
}

static int put_route(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    struct bgcf *b = q->b;
    json_t *doc = ims_http_body_object(q->http, resp);
    if (!doc)
        return 0;
    struct bgcf_route r;
    char field[64] = "", why[300] = "";
    int rc = bgcf_route_from_json(doc, q->arg, &r, field, sizeof(field), why, sizeof(why));
    json_decref(doc);
    if (rc)
        return ims_http_reply_error(resp, 400, field, "%s: %s", field, why);
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *hop = url_make(home, r.next_hop);
    bool own = hop && ims_sip_is_own(b->d->sip, hop);
    su_home_deinit(home);
    if (own)
        return ims_http_reply_error(resp, 400, "next_hop", "next_hop: %s is this BGCF itself "
                                    "(a loop)", r.next_hop);
    if (refuse_config(q, resp))
        return 0;
    bool existed = bgcf_table_find(b->table, r.id) != NULL;
    struct bgcf_table *t = next_table(b, r.id, &r, resp);
    if (!t || commit_change(b, &r, NULL, t, resp) != 0)
        return 0;
    ims_info("api: route %s (%s %s -> %s, %s, priority %u, weight %u) %s by %s", r.id,
             r.domain ? "domain" : "prefix", r.match, r.next_hop, bgcf_kind_name(r.kind),
             r.priority, r.weight, existed ? "replaced" : "created", q->client);
    return reply_route(resp, existed ? 200 : 201, bgcf_table_find(b->table, r.id));
}

static int delete_route(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    if (!bgcf_table_find(q->b->table, q->arg))
        return ims_http_reply_error(resp, 404, NULL, "no route %s", q->arg);
    if (refuse_config(q, resp))
        return 0;
    struct bgcf_table *t = next_table(q->b, q->arg, NULL, resp);
    if (!t || commit_change(q->b, NULL, q->arg, t, resp) != 0)
        return 0;
    ims_info("api: route %s deleted by %s", q->arg, q->client);
    return ims_http_reply_json(resp, 200, json_pack("{s:s}", "deleted", q->arg));
}

static int lookup(void *arg, struct ims_http_response *resp)
{
    struct api_req *q = arg;
    static uint64_t state;       /* the HTTP thread's own draws */
    if (!state)
        state = (uint64_t)time(NULL) | 1;
    const char *target = ims_http_query(q->http, "target");
    if (!target)
        return ims_http_reply_error(resp, 400, "target", "target: required (a tel: or SIP "
                                    "URI)");
    if (!ims_utf8_valid(target, strlen(target)))
        return ims_http_reply_error(resp, 400, "target", "target: not UTF-8 text");
    su_home_t home[1] = { SU_HOME_INIT(home) };
    struct bgcf_key k;
    url_t *u = url_make(home, target);
    int rc = u ? bgcf_key_of(u, &k) : -EINVAL;
    su_home_deinit(home);
    if (rc)
        return ims_http_reply_error(resp, 400, "target", "target: %s is not a tel: or SIP "
                                    "URI this BGCF can route (%s)", target, strerror(-rc));
    struct bgcf_target out[BGCF_MAX_TRIES];
    int n = bgcf_table_select(q->b->table, &k, bgcf_rand, &state, out, BGCF_MAX_TRIES);
    json_t *list = json_array();
    for (int i = 0; list && i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", out[i].id, "next_hop",
                                              out[i].next_hop, "kind",
                                              bgcf_kind_name(out[i].kind)));
    json_t *doc = list ? json_pack("{s:s, s:o}", "target", target, "routes", list) : NULL;
    return doc ? ims_http_reply_json(resp, 200, doc)
               : ims_http_reply_error(resp, 500, NULL, "out of memory");
}

/* ---- dispatch ---- */

static const struct ims_http_api_route routes[] = {
    { RES_ROUTES, "GET", list_routes },
    { RES_ROUTE, "GET", get_route },
    { RES_ROUTE, "PUT", put_route },
    { RES_ROUTE, "DELETE", delete_route },
    { RES_LOOKUP, "GET", lookup },
};

static enum resource parse_path(const char *path, char *arg, size_t len)
{
    const char *p = path + strlen(API_PREFIX);
    arg[0] = '\0';
    if (strcmp(p, "routes") == 0)
        return RES_ROUTES;
    if (strcmp(p, "lookup") == 0)
        return RES_LOOKUP;
    if (strncmp(p, "routes/", 7) != 0 || !p[7] || strchr(p + 7, '/') || strlen(p + 7) >= len)
        return RES_NONE;
    snprintf(arg, len, "%s", p + 7);
    return RES_ROUTE;
}

static int on_api(void *arg, const struct ims_http_request *req, struct ims_http_response *resp)
{
    struct api_req q = { .b = arg, .http = req };
    ims_http_client_address(req, q.client, sizeof(q.client));
    if (!q.b->api_token[0] || !ims_http_bearer_ok(req, q.b->api_token)) {
        ims_http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"bgcf\"");
        if (q.b->api_token[0])
            ims_warn("api: %s %s from %s refused: missing or wrong bearer token",
                     req->method, req->path, q.client);
        return ims_http_reply_error(resp, 401, NULL, q.b->api_token[0]
                                    ? "missing or wrong bearer token (Authorization: Bearer "
                                      "<bgcf.api_token>)"
                                    : "the API is disabled: bgcf.api_token is not set");
    }
    enum resource res = parse_path(req->path, q.arg, sizeof(q.arg));
    if (res == RES_ROUTE && strlen(q.arg) >= BGCF_ID_MAX)
        return ims_http_reply_error(resp, 400, "id", "id: at most %d characters",
                                    BGCF_ID_MAX - 1);
    pthread_mutex_lock(&q.b->api_lock);
    int rc = q.b->stopping
                 ? ims_http_reply_error(resp, 503, NULL, "the BGCF is stopping")
                 : ims_http_api_dispatch(routes, sizeof(routes) / sizeof(routes[0]), (int)res,
                                         &q, req, resp);
    pthread_mutex_unlock(&q.b->api_lock);
    return rc;
}

int bgcf_api_init(struct bgcf *b)
{
    int rc = ims_http_route(b->d->http, NULL, API_PREFIX, true, on_api, b);
    if (rc)
        ims_err("api: cannot add the %s routes: %s", API_PREFIX, strerror(-rc));
    return rc;
}
