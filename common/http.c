/*
 * http.c - libmicrohttpd server with a route table, /health and /metrics
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "http.h"
#include "utf8.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#define MAX_ROUTES 32
#define MAX_HEALTH 8
#define MAX_WARNINGS 8
#define MAX_BODY (1024 * 1024)

struct route {
    const char *method;
    const char *path;
    bool prefix;
    ims_http_handler fn;
    void *arg;
};

struct health_src {
    ims_health_fn fn;
    void *arg;
};

struct ims_http {
    struct MHD_Daemon *mhd;
    struct sockaddr_storage addr;
    char daemon[32];
    char version[32];
    struct timespec started;
    struct route routes[MAX_ROUTES];
    size_t nroutes;
    struct health_src health[MAX_HEALTH];
    size_t nhealth;
    char warnings[MAX_WARNINGS][200];
    size_t nwarnings;
    ims_health_field_fn field;         /* top-level fields of /health, or NULL */
    void *field_arg;
    struct ims_counter *requests[6];   /* by status class 1xx..5xx, [0] other */
};

/* Per-connection upload buffer. */
struct upload {
    char *data;
    size_t len;
    bool too_large;
};

const char *ims_health_name(enum ims_health h)
{
    static const char *names[] = { "ok", "degraded", "down" };
    return (unsigned)h < 3 ? names[h] : "down";
}

static double uptime_s(const struct ims_http *http)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - http->started.tv_sec) +
           (double)(now.tv_nsec - http->started.tv_nsec) / 1e9;
}

json_t *ims_http_health_json(struct ims_http *http, enum ims_health *status)
{
    enum ims_health worst = IMS_HEALTH_OK;
    json_t *peers = json_array();
    for (size_t i = 0; i < http->nhealth; i++) {
        enum ims_health h = http->health[i].fn(http->health[i].arg, peers);
        if (h > worst)
            worst = h;
    }
    json_t *warnings = json_array();
    for (size_t i = 0; i < http->nwarnings; i++)
        json_array_append_new(warnings, json_string(http->warnings[i]));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "status", ims_health_name(worst),
                            "daemon", http->daemon, "version", http->version, "uptime_s",
                            (json_int_t)uptime_s(http), "peers", peers, "warnings",
                            warnings);
    if (doc && http->field)
        http->field(http->field_arg, doc);
    if (status)
        *status = worst;
    return doc;
}

static int health_handler(void *arg, const struct ims_http_request *req,
                          struct ims_http_response *resp)
{
    (void)req;
    enum ims_health h;
    json_t *doc = ims_http_health_json(arg, &h);
    if (!doc)
        return -1;
    return ims_http_reply_json(resp, h == IMS_HEALTH_DOWN ? 503 : 200, doc);
}

static int metrics_handler(void *arg, const struct ims_http_request *req,
                           struct ims_http_response *resp)
{
    (void)arg;
    (void)req;
    size_t len;
    char *text = ims_metrics_render(&len);
    if (!text)
        return -1;
    resp->status = 200;
    resp->body = text;
    resp->body_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}

int ims_http_reply_json(struct ims_http_response *resp, int status, json_t *json)
{
    if (!json)
        return -1;
    char *s = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(json);
    if (!s)
        return -1;
    free(resp->body);
    resp->status = status;
    resp->body = s;
    resp->body_len = strlen(s);
    resp->content_type = "application/json";
    return 0;
}

int ims_http_reply_error(struct ims_http_response *resp, int status, const char *field,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* the message may quote a %-decoded path or a cut character: any bytes (found by
     * tests/fuzz/hss_api: an error about a path that is not UTF-8 became a 500) */
    char *m = ims_utf8_repair(msg), *f = field ? ims_utf8_repair(field) : NULL;
    json_t *o = m ? json_pack("{s:s}", "error", m) : NULL;
    if (o && field)
        json_object_set_new(o, "field", f ? json_string(f) : NULL);
    free(m);
    free(f);
    return ims_http_reply_json(resp, status, o);
}

int ims_http_reply_text(struct ims_http_response *resp, int status, const char *ctype,
                        const char *text)
{
    char *s = strdup(text);
    if (!s)
        return -1;
    free(resp->body);
    resp->status = status;
    resp->body = s;
    resp->body_len = strlen(s);
    resp->content_type = ctype;
    return 0;
}

int ims_http_add_header(struct ims_http_response *resp, const char *name, const char *value)
{
    if (resp->nheaders == IMS_HTTP_MAX_HEADERS)
        return -ENOSPC;
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    resp->headers[resp->nheaders].name = name;
    resp->headers[resp->nheaders++].value = v;
    return 0;
}

static void free_headers(struct ims_http_response *resp)
{
    for (int i = 0; i < resp->nheaders; i++)
        free(resp->headers[i].value);
    resp->nheaders = 0;
}

const char *ims_http_header(const struct ims_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ims_http_query(const struct ims_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *ims_http_body_object(const struct ims_http_request *req,
                             struct ims_http_response *resp)
{
    json_error_t e;
    if (!req->body || !req->body_len) {
        ims_http_reply_error(resp, 400, NULL, "a JSON body is required");
        return NULL;
    }
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
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

bool ims_http_query_long(const struct ims_http_request *req, const char *name, long dflt,
                         long lo, long hi, long *out, struct ims_http_response *resp)
{
    const char *s = ims_http_query(req, name);
    char *end;
    *out = dflt;
    if (!s)
        return true;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        ims_http_reply_error(resp, 400, name, "must be an integer from %ld to %ld", lo, hi);
        return false;
    }
    *out = v;
    return true;
}

int ims_http_api_dispatch(const struct ims_http_api_route *routes, size_t n, int resource,
                          void *ctx, const struct ims_http_request *req,
                          struct ims_http_response *resp)
{
    char allowed[64] = "";
    if (resource == 0)
        return ims_http_reply_error(resp, 404, NULL, "no such resource: %s", req->path);
    for (size_t i = 0; i < n; i++) {
        if (routes[i].resource != resource)
            continue;
        if (strcmp(routes[i].method, req->method) == 0)
            return routes[i].fn(ctx, resp);
        size_t used = strlen(allowed);
        snprintf(allowed + used, sizeof(allowed) - used, "%s%s", used ? ", " : "",
                 routes[i].method);
    }
    return ims_http_reply_error(resp, 405, NULL, "method %s not allowed on %s (allowed: %s)",
                                req->method, req->path, allowed);
}

void ims_http_client_address(const struct ims_http_request *req, char *out, size_t len)
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

bool ims_http_bearer_ok(const struct ims_http_request *req, const char *token)
{
    const char *h = ims_http_header(req, "Authorization");
    if (!h || !token || !*token || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t gl = strlen(given), tl = strlen(token);
    if (gl != tl)
        return false;
    return CRYPTO_memcmp(given, token, tl) == 0;
}

static const struct route *find_route(const struct ims_http *http, const char *method,
                                      const char *path, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < http->nroutes; i++) {
        const struct route *r = &http->routes[i];
        bool match = r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                               : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (!r->method || strcmp(r->method, method) == 0)
            return r;
    }
    return NULL;
}

static enum MHD_Result send_response(struct ims_http *http, struct MHD_Connection *conn,
                                     struct ims_http_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(resp->body_len, resp->body,
                                                             MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(resp->body);
        free_headers(resp);
        return MHD_NO;
    }
    resp->body = NULL;
    MHD_add_response_header(r, "Content-Type", resp->content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    free_headers(resp);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    int cls = resp->status / 100;
    ims_counter_inc(http->requests[cls >= 1 && cls <= 5 ? cls : 0]);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct ims_http *http = cls;
    struct upload *up = *con_cls;
    (void)version;
    if (!up) {
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_size) {
        if (up->len + *upload_size > MAX_BODY) {
            up->too_large = true;
        } else if (!up->too_large) {
            char *d = realloc(up->data, up->len + *upload_size + 1);
            if (!d)
                return MHD_NO;
            memcpy(d + up->len, upload_data, *upload_size);
            up->data = d;
            up->len += *upload_size;
            up->data[up->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }

    struct ims_http_response resp = { .status = 500, .content_type = "application/json" };
    struct ims_http_request req = { method, url, up->data, up->len, conn };
    bool known;
    const struct route *r = find_route(http, method, url, &known);
    if (up->too_large)
        ims_http_reply_error(&resp, 413, NULL, "request body larger than %d bytes", MAX_BODY);
    else if (!r && known)
        ims_http_reply_error(&resp, 405, NULL, "method %s not allowed on %s", method, url);
    else if (!r)
        ims_http_reply_error(&resp, 404, NULL, "no such resource: %s", url);
    else if (r->fn(r->arg, &req, &resp) < 0 || !resp.body)
        ims_http_reply_error(&resp, 500, NULL, "internal error handling %s %s", method, url);
    if (!resp.body) {   /* even the error could not be built */
        resp.body = strdup("{\"error\":\"out of memory\"}");
        resp.body_len = resp.body ? strlen(resp.body) : 0;
    }
    return send_response(http, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct upload *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    ims_logv(IMS_LOG_WARN, NULL, fmt, ap);
}

struct ims_http *ims_http_create(const char *address, int port, const char *daemon,
                                 const char *version)
{
    struct ims_http *http = calloc(1, sizeof(*http));
    if (!http)
        return NULL;
    snprintf(http->daemon, sizeof(http->daemon), "%s", daemon);
    snprintf(http->version, sizeof(http->version), "%s", version);
    clock_gettime(CLOCK_MONOTONIC, &http->started);

    struct sockaddr_in *s4 = (struct sockaddr_in *)&http->addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&http->addr;
    if (inet_pton(AF_INET, address, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, address, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
    } else {
        ims_err("http: '%s' is not a numeric address", address);
        free(http);
        return NULL;
    }
    static const char *const classes[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    for (int i = 0; i < 6; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "class=\"%s\"", classes[i]);
        http->requests[i] = ims_counter_new("ims_http_requests_total",
                                            "HTTP requests served, by status class", labels);
    }
    ims_http_route(http, "GET", "/health", false, health_handler, http);
    ims_http_route(http, "GET", "/metrics", false, metrics_handler, http);
    return http;
}

int ims_http_start(struct ims_http *http)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (http->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = http->addr.ss_family == AF_INET
                        ? ntohs(((struct sockaddr_in *)&http->addr)->sin_port)
                        : ntohs(((struct sockaddr_in6 *)&http->addr)->sin6_port);
    http->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, http,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, http,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&http->addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_END);
    if (!http->mhd) {
        char a[INET6_ADDRSTRLEN] = "?";
        if (http->addr.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&http->addr)->sin_addr, a, sizeof(a));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&http->addr)->sin6_addr, a, sizeof(a));
        ims_err("http: cannot listen on %s:%u (address in use or not local?)", a, port);
        return -EADDRNOTAVAIL;
    }
    return 0;
}

void ims_http_destroy(struct ims_http *http)
{
    if (!http)
        return;
    if (http->mhd)
        MHD_stop_daemon(http->mhd);
    free(http);
}

int ims_http_route(struct ims_http *http, const char *method, const char *path, bool prefix,
                   ims_http_handler fn, void *arg)
{
    if (http->nroutes == MAX_ROUTES || http->mhd)
        return -ENOSPC;
    http->routes[http->nroutes++] = (struct route){ method, path, prefix, fn, arg };
    return 0;
}

int ims_http_health_warn(struct ims_http *http, const char *fmt, ...)
{
    if (http->nwarnings == MAX_WARNINGS || http->mhd)
        return -ENOSPC;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(http->warnings[http->nwarnings++], sizeof(http->warnings[0]), fmt, ap);
    va_end(ap);
    return 0;
}

int ims_http_health_field(struct ims_http *http, ims_health_field_fn fn, void *arg)
{
    if (http->mhd)
        return -EBUSY;
    http->field = fn;
    http->field_arg = arg;
    return 0;
}

int ims_http_health_add(struct ims_http *http, ims_health_fn fn, void *arg)
{
    if (http->nhealth == MAX_HEALTH || http->mhd)
        return -ENOSPC;
    http->health[http->nhealth++] = (struct health_src){ fn, arg };
    return 0;
}
