/*
 * http.h - the daemon's HTTP server: /health, /metrics and the daemon's own routes
 *
 * libmicrohttpd runs one internal polling thread; handlers run on it and must only touch
 * thread-safe state (atomics, locked stores, freeDiameter peer queries) or hand work to the
 * loop. Bodies are JSON (jansson).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_HTTP_H
#define IMS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct ims_http;
struct MHD_Connection;

struct ims_http_request {
    const char *method;
    const char *path;            /* URL path without the query */
    const char *body;            /* NUL-terminated; NULL when empty */
    size_t body_len;
    struct MHD_Connection *conn;
};

#define IMS_HTTP_MAX_HEADERS 4

struct ims_http_response {
    int status;
    char *body;                  /* malloc'd, freed by the server */
    size_t body_len;
    const char *content_type;    /* static string */
    struct {
        const char *name;        /* static string */
        char *value;             /* malloc'd, freed by the server */
    } headers[IMS_HTTP_MAX_HEADERS];
    int nheaders;
};

/* Return 0 after filling @resp; a negative value gives a 500 with a JSON error. */
typedef int (*ims_http_handler)(void *arg, const struct ims_http_request *req,
                                struct ims_http_response *resp);

enum ims_health {
    IMS_HEALTH_OK = 0,
    IMS_HEALTH_DEGRADED,
    IMS_HEALTH_DOWN,
};

/* A health source appends objects to @peers and returns its own verdict. */
typedef enum ims_health (*ims_health_fn)(void *arg, json_t *peers);

/*
 * ims_http_create - start listening on address:port with the built-in routes /health and
 * /metrics. @daemon and @version appear in /health.
 * Returns NULL when the socket cannot be bound (the reason is logged).
 */
struct ims_http *ims_http_create(const char *address, int port, const char *daemon,
                                 const char *version);
void ims_http_destroy(struct ims_http *http);

/*
 * ims_http_route - add a route; call before ims_http_start() (routes are not locked).
 * @method: "GET", "POST", ... or NULL for any method.
 * @path:   exact path, or a prefix when it ends in '/' and @prefix is true.
 */
int ims_http_route(struct ims_http *http, const char *method, const char *path, bool prefix,
                   ims_http_handler fn, void *arg);

int ims_http_health_add(struct ims_http *http, ims_health_fn fn, void *arg);

/* A standing warning of the configuration (a lab-only setting), listed in /health under
 * "warnings" (without changing the status). Before ims_http_start(); -ENOSPC past 8. */
int ims_http_health_warn(struct ims_http *http, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Top-level fields of the /health document ("overloaded": ...), set by one function. */
typedef void (*ims_health_field_fn)(void *arg, json_t *doc);
int ims_http_health_field(struct ims_http *http, ims_health_field_fn fn, void *arg);

/* Start serving; routes and health sources must all be added before. */
int ims_http_start(struct ims_http *http);

/* Build the /health document (also used by the tests). Caller decrefs. */
json_t *ims_http_health_json(struct ims_http *http, enum ims_health *status);

/* Response helpers; they take ownership of nothing but @json (stolen). */
int ims_http_reply_json(struct ims_http_response *resp, int status, json_t *json);
int ims_http_reply_error(struct ims_http_response *resp, int status, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int ims_http_reply_text(struct ims_http_response *resp, int status, const char *ctype,
                        const char *text);

/* Add a response header (e.g. Location, WWW-Authenticate); -ENOSPC past the limit. */
int ims_http_add_header(struct ims_http_response *resp, const char *name, const char *value);

/* Header and query lookups on a request; NULL when absent. */
const char *ims_http_header(const struct ims_http_request *req, const char *name);
const char *ims_http_query(const struct ims_http_request *req, const char *name);

/* The request's body as a JSON object (caller decrefs), or NULL after answering 400. */
json_t *ims_http_body_object(const struct ims_http_request *req,
                             struct ims_http_response *resp);
/* Query parameter @name as an integer in [lo, hi] (@dflt when absent); false after a 400
 * naming the parameter. */
bool ims_http_query_long(const struct ims_http_request *req, const char *name, long dflt,
                         long lo, long hi, long *out, struct ims_http_response *resp);
/*
 * A REST API's route table: the resource (a daemon's enum, 0 for "none") and method of each
 * handler. ims_http_api_dispatch runs the handler of (@resource, req->method) with @ctx, or
 * answers 404 (resource 0) or 405 naming the allowed methods.
 */
struct ims_http_api_route {
    int resource;
    const char *method;
    int (*fn)(void *ctx, struct ims_http_response *resp);
};
int ims_http_api_dispatch(const struct ims_http_api_route *routes, size_t n, int resource,
                          void *ctx, const struct ims_http_request *req,
                          struct ims_http_response *resp);

/* The client's numeric address ("?" when unknown), for logs. */
void ims_http_client_address(const struct ims_http_request *req, char *out, size_t len);

/* true when the request carries "Authorization: Bearer <token>" (constant-time compare). */
bool ims_http_bearer_ok(const struct ims_http_request *req, const char *token);

const char *ims_health_name(enum ims_health h);

#endif
