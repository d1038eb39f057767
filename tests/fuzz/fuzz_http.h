/*
 * fuzz_http.h - REST requests without libmicrohttpd, for the API harnesses
 *
 * A harness includes this once. It defines MHD_lookup_connection_value() and
 * MHD_get_connection_info(), which take precedence over libmicrohttpd's for the code linked
 * into the harness (common/http.c and the daemons' API files call them for headers, query
 * arguments and the client address), and wraps ims_http_route() (link option
 * -Wl,--wrap=ims_http_route) to catch the handler a daemon registers.
 *
 * Input: one or more requests separated by FUZZ_SEP, each
 *     METHOD /path?name=value&...       (path and arguments %-decoded, as libmicrohttpd does)
 *     Header: value                     (any number)
 *                                       (blank line)
 *     body
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_HTTP_H
#define IMS_FUZZ_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <microhttpd.h>

#include "fuzz.h"
#include "fuzz_db.h"
#include "http.h"

#define FUZZ_HTTP_MAX 32

struct fuzz_conn {
    char *text;                       /* the request's copy, cut in place */
    const char *hdr[FUZZ_HTTP_MAX][2];
    int nhdr;
    const char *arg[FUZZ_HTTP_MAX][2];
    int narg;
    struct sockaddr_in addr;
};

/* the handlers registered, by path (a request goes to the first whose path it has, else
 * to the last registered: a daemon with one route gets every request) */
#define FUZZ_ROUTES_MAX 8
static struct {
    char path[128];
    bool prefix;
    ims_http_handler fn;
    void *arg;
} fuzz_routes[FUZZ_ROUTES_MAX];
static int fuzz_nroutes;
static ims_http_handler fuzz_route_fn;
static void *fuzz_route_arg;

int __wrap_ims_http_route(struct ims_http *http, const char *method, const char *path,
                          bool prefix, ims_http_handler fn, void *arg);
int __wrap_ims_http_route(struct ims_http *http, const char *method, const char *path,
                          bool prefix, ims_http_handler fn, void *arg)
{
    (void)http;
    (void)method;
    if (fuzz_nroutes < FUZZ_ROUTES_MAX) {
        snprintf(fuzz_routes[fuzz_nroutes].path, sizeof(fuzz_routes[0].path), "%s", path);
        fuzz_routes[fuzz_nroutes].prefix = prefix;
        fuzz_routes[fuzz_nroutes].fn = fn;
        fuzz_routes[fuzz_nroutes++].arg = arg;
    }
    fuzz_route_fn = fn;
    fuzz_route_arg = arg;
    return 0;
}

/* The handler of @path (see fuzz_routes), its argument into *@arg */
static ims_http_handler fuzz_route_of(const char *path, void **arg)
{
    for (int i = 0; i < fuzz_nroutes; i++) {
        size_t n = strlen(fuzz_routes[i].path);
        if (fuzz_routes[i].prefix ? strncmp(path, fuzz_routes[i].path, n) == 0
                                  : strcmp(path, fuzz_routes[i].path) == 0) {
            *arg = fuzz_routes[i].arg;
            return fuzz_routes[i].fn;
        }
    }
    *arg = fuzz_route_arg;
    return fuzz_route_fn;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
                                        enum MHD_ValueKind kind, const char *key)
{
    struct fuzz_conn *c = (struct fuzz_conn *)connection;
    if (!c || !key)
        return NULL;
    if (kind == MHD_HEADER_KIND) {
        for (int i = 0; i < c->nhdr; i++)
            if (strcasecmp(c->hdr[i][0], key) == 0)
                return c->hdr[i][1];
    } else if (kind == MHD_GET_ARGUMENT_KIND) {
        for (int i = 0; i < c->narg; i++)
            if (strcmp(c->arg[i][0], key) == 0)
                return c->arg[i][1];
    }
    return NULL;
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type,
                                                        ...)
{
    static union MHD_ConnectionInfo ci;
    struct fuzz_conn *c = (struct fuzz_conn *)connection;
    if (!c || info_type != MHD_CONNECTION_INFO_CLIENT_ADDRESS)
        return NULL;
    ci.client_addr = (struct sockaddr *)&c->addr;
    return &ci;
}

/* %XX decoding in place (what libmicrohttpd does to the path and the arguments) */
static void fuzz_unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        unsigned v;
        if (*s == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1 && v) {
            *o++ = (char)v;
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

/* Read one request of @len bytes at @d into @req and @c; false when it has no request line */
static bool fuzz_request(const uint8_t *d, size_t len, struct ims_http_request *req,
                         struct fuzz_conn *c)
{
    memset(c, 0, sizeof(*c));
    memset(req, 0, sizeof(*req));
    c->addr.sin_family = AF_INET;
    c->addr.sin_addr.s_addr = htonl(0x7f000001);
    c->text = fuzz_str(d, len);
    char *line = c->text, *nl = strchr(line, '\n');
    char *body = NULL;
    if (nl)
        *nl = '\0';
    char *sp = strchr(line, ' ');
    if (!sp || line[0] == '\0')
        return false;
    *sp = '\0';
    req->method = line;
    char *target = sp + 1, *q = strchr(target, '?');
    target[strcspn(target, " \r")] = '\0';
    if (q) {
        *q++ = '\0';
        for (char *a = strtok(q, "&"); a && c->narg < FUZZ_HTTP_MAX; a = strtok(NULL, "&")) {
            char *eq = strchr(a, '=');
            if (eq)
                *eq++ = '\0';
            fuzz_unescape(a);
            if (eq)
                fuzz_unescape(eq);
            c->arg[c->narg][0] = a;
            c->arg[c->narg++][1] = eq ? eq : "";
        }
    }
    fuzz_unescape(target);
    req->path = target;
    for (line = nl ? nl + 1 : NULL; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (!*line) {
            body = nl ? nl + 1 : NULL;
            break;
        }
        char *colon = strchr(line, ':');
        if (colon && c->nhdr < FUZZ_HTTP_MAX) {
            *colon = '\0';
            c->hdr[c->nhdr][0] = line;
            c->hdr[c->nhdr++][1] = colon + 1 + strspn(colon + 1, " ");
        }
    }
    if (body && *body) {
        req->body = body;
        req->body_len = len - (size_t)(body - c->text);
    }
    req->conn = (struct MHD_Connection *)c;
    return true;
}

static void fuzz_response_free(struct ims_http_response *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->nheaders; i++)
        free(resp->headers[i].value);
    memset(resp, 0, sizeof(*resp));
}

/*
 * One request (@len bytes at @d) through the handler of its path. Properties: the handler
 * does not fail (that is a 500), answers no 5xx but 503 when @allow_503, and its body is
 * JSON. The response goes to @resp (to free with fuzz_response_free()); false when @d is
 * no request.
 */
static bool fuzz_http_one(const uint8_t *d, size_t len, bool allow_503,
                          struct ims_http_response *resp)
{
    struct ims_http_request req;
    struct fuzz_conn c;
    memset(resp, 0, sizeof(*resp));
    bool ok = fuzz_request(d, len, &req, &c);
    if (ok) {
        void *arg;
        ims_http_handler fn = fuzz_route_of(req.path, &arg);
        int rc = fn(arg, &req, resp);
        FUZZ_ASSERT(rc == 0 && resp->status >= 200 &&
                    (resp->status < 500 || (allow_503 && resp->status == 503)),
                    "%s %s answered %d (handler returned %d): %.300s", req.method, req.path,
                    resp->status, rc, resp->body ? resp->body : "");
        json_error_t e;
        json_t *j = resp->body ? json_loadb(resp->body, resp->body_len, 0, &e) : NULL;
        FUZZ_ASSERT(j != NULL, "%s %s: body is not JSON", req.method, req.path);
        json_decref(j);
    }
    free(c.text);
    return ok;
}

/* Every request of the input through fuzz_http_one() (no 5xx) */
static inline void fuzz_http_run(const uint8_t *data, size_t size)
{
    const uint8_t *part;
    size_t plen;
    for (int i = 0; i < 8 && fuzz_part(&data, &size, &part, &plen); i++) {
        struct ims_http_response resp;
        fuzz_http_one(part, plen, false, &resp);
        fuzz_response_free(&resp);
    }
}

/* @method @body to @path through the handler (set-up); aborts unless it answers 2xx */
static inline void fuzz_http_send(const char *method, const char *path, const char *token,
                           const char *body)
{
    char *text = NULL;
    if (asprintf(&text, "%s %s\nAuthorization: Bearer %s\n\n%s", method, path, token,
                 body) < 0)
        abort();
    struct ims_http_request req;
    struct fuzz_conn c;
    struct ims_http_response resp = { 0 };
    void *arg = NULL;
    if (!fuzz_request((const uint8_t *)text, strlen(text), &req, &c) ||
        fuzz_route_of(req.path, &arg)(arg, &req, &resp) != 0 || resp.status >= 300) {
        fprintf(stderr, "fuzz: seeding %s failed: %d %s\n", path, resp.status,
                resp.body ? resp.body : "");
        abort();
    }
    fuzz_response_free(&resp);
    free(c.text);
    free(text);
}

#endif
