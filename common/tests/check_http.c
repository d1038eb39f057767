/*
 * check_http.c - the HTTP server over a real socket on 127.0.0.1: /health, /metrics, the
 * route table, error statuses, request bodies and bearer tokens
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

#define TOKEN "s3cret-token"

static struct ims_http *http;
static int port;

/* one parsed response */
struct reply {
    int status;
    char *head;       /* status line and headers */
    char *body;
    size_t body_len;
};

static struct reply rep;

/* ---- handlers under test ---- */

static enum ims_health degraded_source(void *arg, json_t *peers)
{
    (void)arg;
    json_array_append_new(peers, json_pack("{s:s, s:s}", "name", "hss.ims.net", "state",
                                           "closed"));
    return IMS_HEALTH_DEGRADED;
}

static enum ims_health ok_source(void *arg, json_t *peers)
{
    (void)arg;
    (void)peers;
    return IMS_HEALTH_OK;
}

static enum ims_health down_source(void *arg, json_t *peers)
{
    (void)arg;
    (void)peers;
    return IMS_HEALTH_DOWN;
}

/* POST /echo: answer with what arrived, and its length in a header-free JSON wrapper */
static int echo_handler(void *arg, const struct ims_http_request *req,
                        struct ims_http_response *resp)
{
    (void)arg;
    json_t *o = json_pack("{s:s, s:s, s:I}", "method", req->method, "path", req->path,
                          "len", (json_int_t)req->body_len);
    if (req->body)
        json_object_set_new(o, "body", json_stringn(req->body, req->body_len));
    return ims_http_reply_json(resp, 201, o);
}

/* GET /auth: the bearer check against the right token, a wrong one and an empty one */
static int auth_handler(void *arg, const struct ims_http_request *req,
                        struct ims_http_response *resp)
{
    (void)arg;
    json_t *o = json_pack("{s:b, s:b, s:b}", "ok", ims_http_bearer_ok(req, TOKEN), "other",
                          ims_http_bearer_ok(req, "other-token"), "empty",
                          ims_http_bearer_ok(req, ""));
    return ims_http_reply_json(resp, 200, o);
}

/* GET /api/...: prefix route returning the query parameter "name" as text */
static int query_handler(void *arg, const struct ims_http_request *req,
                         struct ims_http_response *resp)
{
    (void)arg;
    const char *name = ims_http_query(req, "name");
    return ims_http_reply_text(resp, 200, "text/plain", name ? name : "(none)");
}

static int failing_handler(void *arg, const struct ims_http_request *req,
                           struct ims_http_response *resp)
{
    (void)arg;
    (void)req;
    (void)resp;
    return -1;
}

/* ---- server and client ---- */

static void setup(void)
{
    memset(&rep, 0, sizeof(rep));
    /* below the ephemeral range and away from the SIP test ports (25000-25100) */
    int base = 20000 + (int)(getpid() % 4800);
    for (int i = 0; i < 20 && !http; i++) {
        port = base + i * 7;
        http = ims_http_create("127.0.0.1", port, "pcscf", "1.2.3");
        ck_assert_ptr_nonnull(http);
        ck_assert_int_eq(ims_http_route(http, "POST", "/echo", false, echo_handler, NULL), 0);
        ck_assert_int_eq(ims_http_route(http, "GET", "/auth", false, auth_handler, NULL), 0);
        ck_assert_int_eq(ims_http_route(http, NULL, "/api/", true, query_handler, NULL), 0);
        ck_assert_int_eq(ims_http_route(http, "GET", "/fail", false, failing_handler, NULL),
                         0);
        ck_assert_int_eq(ims_http_health_add(http, ok_source, NULL), 0);
        ck_assert_int_eq(ims_http_health_add(http, degraded_source, NULL), 0);
        if (ims_http_start(http) != 0) {
            ims_http_destroy(http);
            http = NULL;
        }
    }
    ck_assert_msg(http != NULL, "no free port found near %d", base);
}

static void teardown(void)
{
    ims_http_destroy(http);
    http = NULL;
    free(rep.head);
    free(rep.body);
    ims_metrics_fini();
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        ck_assert_msg(n > 0, "write: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

/* Send @head (request line and headers, without the blank line) and @body; read the whole
 * response into rep. */
static void request(const char *head, const char *body, size_t body_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char hdr[512];
    if (body)
        snprintf(hdr, sizeof(hdr), "%s\r\nContent-Length: %zu\r\n\r\n", head, body_len);
    else
        snprintf(hdr, sizeof(hdr), "%s\r\n\r\n", head);
    send_all(fd, hdr, strlen(hdr));
    if (body)
        send_all(fd, body, body_len);

    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    buf[len] = '\0';

    char *sep = strstr(buf, "\r\n\r\n");
    ck_assert_msg(sep != NULL, "no header end in: %s", buf);
    *sep = '\0';
    ck_assert_int_eq(sscanf(buf, "HTTP/1.%*d %d", &rep.status), 1);
    free(rep.head);
    free(rep.body);
    rep.head = strdup(buf);
    rep.body_len = len - (size_t)(sep + 4 - buf);
    rep.body = malloc(rep.body_len + 1);
    memcpy(rep.body, sep + 4, rep.body_len);
    rep.body[rep.body_len] = '\0';
    free(buf);
}

static void get(const char *path)
{
    char head[256];
    snprintf(head, sizeof(head), "GET %s HTTP/1.0", path);
    request(head, NULL, 0);
}

/* The value of response header @name (case-insensitive), copied into a static buffer. */
static const char *header(const char *name)
{
    static char value[256];
    size_t nl = strlen(name);
    for (const char *p = strstr(rep.head, "\r\n"); p; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            v += strspn(v, " ");
            snprintf(value, sizeof(value), "%.*s", (int)strcspn(v, "\r\n"), v);
            return value;
        }
    }
    return NULL;
}

static json_t *body_json(void)
{
    const char *ct = header("Content-Type");
    ck_assert_msg(ct && strcmp(ct, "application/json") == 0, "content type %s",
                  ct ? ct : "(none)");
    json_error_t jerr;
    json_t *o = json_loadb(rep.body, rep.body_len, 0, &jerr);
    ck_assert_msg(o != NULL, "body is not JSON (%s): %s", jerr.text, rep.body);
    return o;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s missing or not a string", key);
    return json_string_value(v);
}

/* ---- tests ---- */

START_TEST(test_health)
{
    get("/health");
    ck_assert_int_eq(rep.status, 200);
    ck_assert_str_eq(header("Cache-Control"), "no-store");
    json_t *o = body_json();
    ck_assert_str_eq(jstr(o, "status"), "degraded");
    ck_assert_str_eq(jstr(o, "daemon"), "pcscf");
    ck_assert_str_eq(jstr(o, "version"), "1.2.3");
    json_t *up = json_object_get(o, "uptime_s");
    ck_assert(json_is_integer(up));
    ck_assert_int_ge(json_integer_value(up), 0);
    json_t *peers = json_object_get(o, "peers");
    ck_assert(json_is_array(peers));
    ck_assert_uint_eq(json_array_size(peers), 1);
    ck_assert_str_eq(jstr(json_array_get(peers, 0), "name"), "hss.ims.net");
    ck_assert_str_eq(jstr(json_array_get(peers, 0), "state"), "closed");
    json_decref(o);
}
END_TEST

START_TEST(test_health_warnings)
{
    /* not started: only the document builder is used */
    struct ims_http *h = ims_http_create("127.0.0.1", 1, "hss", "9");
    ck_assert_ptr_nonnull(h);
    json_t *doc = ims_http_health_json(h, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "warnings")), 0);
    json_decref(doc);
    ck_assert_int_eq(ims_http_health_warn(h, "accepts %s: lab only", "*.ims.net"), 0);
    enum ims_health st = IMS_HEALTH_DOWN;
    doc = ims_http_health_json(h, &st);
    ck_assert_int_eq(st, IMS_HEALTH_OK);   /* a warning does not change the status */
    json_t *w = json_object_get(doc, "warnings");
    ck_assert_uint_eq(json_array_size(w), 1);
    ck_assert_str_eq(json_string_value(json_array_get(w, 0)), "accepts *.ims.net: lab only");
    json_decref(doc);
    for (int i = 1; i < 8; i++)
        ck_assert_int_eq(ims_http_health_warn(h, "w%d", i), 0);
    ck_assert_int_eq(ims_http_health_warn(h, "one too many"), -ENOSPC);
    ims_http_destroy(h);
}
END_TEST

START_TEST(test_health_json_worst_wins)
{
    /* not started: only the document builder is used */
    struct ims_http *h = ims_http_create("127.0.0.1", 1, "hss", "9");
    ck_assert_ptr_nonnull(h);
    enum ims_health st = IMS_HEALTH_DOWN;
    json_t *doc = ims_http_health_json(h, &st);
    ck_assert_int_eq(st, IMS_HEALTH_OK);
    ck_assert_str_eq(jstr(doc, "status"), "ok");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "peers")), 0);
    json_decref(doc);

    ims_http_health_add(h, down_source, NULL);
    ims_http_health_add(h, degraded_source, NULL);
    doc = ims_http_health_json(h, &st);
    ck_assert_int_eq(st, IMS_HEALTH_DOWN);
    ck_assert_str_eq(jstr(doc, "status"), "down");
    json_decref(doc);
    ims_http_destroy(h);
    ck_assert_str_eq(ims_health_name(IMS_HEALTH_DEGRADED), "degraded");
}
END_TEST

START_TEST(test_create_bad_address)
{
    ck_assert_ptr_null(ims_http_create("localhost", 8080, "x", "1"));
}
END_TEST

START_TEST(test_metrics)
{
    struct ims_counter *c = ims_counter_new("test_events_total", "events seen", NULL);
    ims_counter_add(c, 17);
    get("/health");   /* one 2xx before the scrape */
    get("/metrics");
    ck_assert_int_eq(rep.status, 200);
    ck_assert_str_eq(header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_msg(strstr(rep.body, "# TYPE test_events_total counter\n") != NULL, "%s",
                  rep.body);
    ck_assert_msg(strstr(rep.body, "\ntest_events_total 17\n") != NULL, "%s", rep.body);
    ck_assert_msg(strstr(rep.body, "# TYPE ims_http_requests_total counter\n") != NULL, "%s",
                  rep.body);
    ck_assert_msg(strstr(rep.body, "\nims_http_requests_total{class=\"2xx\"} 1\n") != NULL,
                  "%s", rep.body);
}
END_TEST

START_TEST(test_not_found)
{
    get("/nosuch");
    ck_assert_int_eq(rep.status, 404);
    json_t *o = body_json();
    ck_assert_msg(strstr(jstr(o, "error"), "/nosuch") != NULL, "%s", rep.body);
    json_decref(o);
}
END_TEST

/*
 * Found by tests/fuzz/hss_api (corpus file path-not-utf8.txt): the error about a path that
 * %-decodes to bytes that are not UTF-8 could not be made JSON, and a 404 became a 500 "out
 * of memory". Such bytes are U+FFFD in the message now.
 */
START_TEST(test_not_found_path_not_utf8)
{
    get("/nosuch%FF%C3");
    ck_assert_int_eq(rep.status, 404);
    json_t *o = body_json();
    ck_assert_msg(strstr(jstr(o, "error"), "/nosuch\xef\xbf\xbd\xef\xbf\xbd") != NULL, "%s",
                  rep.body);
    json_decref(o);
}
END_TEST

START_TEST(test_method_not_allowed)
{
    request("POST /health HTTP/1.0", "{}", 2);
    ck_assert_int_eq(rep.status, 405);
    json_t *o = body_json();
    ck_assert_msg(strstr(jstr(o, "error"), "POST") != NULL, "%s", rep.body);
    json_decref(o);

    get("/echo");
    ck_assert_int_eq(rep.status, 405);
}
END_TEST

START_TEST(test_post_body_reaches_handler)
{
    const char *body = "{\"impu\":\"sip:alice@ims.net\"}";
    request("POST /echo HTTP/1.0\r\nContent-Type: application/json", body, strlen(body));
    ck_assert_int_eq(rep.status, 201);
    json_t *o = body_json();
    ck_assert_str_eq(jstr(o, "method"), "POST");
    ck_assert_str_eq(jstr(o, "path"), "/echo");
    ck_assert_str_eq(jstr(o, "body"), body);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "len")), (json_int_t)strlen(body));
    json_decref(o);

    request("POST /echo HTTP/1.0", "", 0);
    ck_assert_int_eq(rep.status, 201);
    o = body_json();
    ck_assert_ptr_null(json_object_get(o, "body"));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "len")), 0);
    json_decref(o);
}
END_TEST

START_TEST(test_large_body_accepted_up_to_limit)
{
    size_t len = 1024 * 1024;
    char *body = malloc(len);
    memset(body, 'a', len);
    request("POST /echo HTTP/1.0", body, len);
    free(body);
    ck_assert_int_eq(rep.status, 201);
    json_t *o = body_json();
    ck_assert_int_eq(json_integer_value(json_object_get(o, "len")), (json_int_t)len);
    json_decref(o);
}
END_TEST

START_TEST(test_body_too_large)
{
    size_t len = 1024 * 1024 + 1;
    char *body = malloc(len);
    memset(body, 'a', len);
    request("POST /echo HTTP/1.0", body, len);
    free(body);
    ck_assert_int_eq(rep.status, 413);
    json_t *o = body_json();
    ck_assert_msg(strstr(jstr(o, "error"), "larger than") != NULL, "%s", rep.body);
    json_decref(o);
}
END_TEST

START_TEST(test_handler_failure_is_500)
{
    get("/fail");
    ck_assert_int_eq(rep.status, 500);
    json_t *o = body_json();
    ck_assert_msg(strstr(jstr(o, "error"), "/fail") != NULL, "%s", rep.body);
    json_decref(o);
}
END_TEST

START_TEST(test_prefix_route_and_query)
{
    get("/api/v1/subscribers?name=alice&x=1");
    ck_assert_int_eq(rep.status, 200);
    ck_assert_str_eq(header("Content-Type"), "text/plain");
    ck_assert_str_eq(rep.body, "alice");
    request("DELETE /api/anything HTTP/1.0", NULL, 0);   /* any method */
    ck_assert_int_eq(rep.status, 200);
    ck_assert_str_eq(rep.body, "(none)");
    get("/api");   /* the prefix is "/api/" */
    ck_assert_int_eq(rep.status, 404);
}
END_TEST

static void expect_auth(const char *authorization, bool ok)
{
    char head[256];
    if (authorization)
        snprintf(head, sizeof(head), "GET /auth HTTP/1.0\r\nAuthorization: %s", authorization);
    else
        snprintf(head, sizeof(head), "GET /auth HTTP/1.0");
    request(head, NULL, 0);
    ck_assert_int_eq(rep.status, 200);
    json_t *o = body_json();
    ck_assert_msg(json_is_true(json_object_get(o, "ok")) == ok, "'%s': ok is %s",
                  authorization ? authorization : "(none)", ok ? "false" : "true");
    ck_assert(json_is_false(json_object_get(o, "other")));
    ck_assert(json_is_false(json_object_get(o, "empty")));
    json_decref(o);
}

START_TEST(test_bearer)
{
    expect_auth("Bearer " TOKEN, true);
    expect_auth("bearer " TOKEN, true);
    expect_auth(NULL, false);
    expect_auth("Bearer wrong-token!", false);
    expect_auth("Bearer " TOKEN "x", false);
    expect_auth("Bearer s3cret", false);
    expect_auth("Basic " TOKEN, false);
    expect_auth("Bearer", false);
    expect_auth(TOKEN, false);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_not_found_path_not_utf8);
    tcase_add_test(tc, test_method_not_allowed);
    tcase_add_test(tc, test_post_body_reaches_handler);
    tcase_add_test(tc, test_large_body_accepted_up_to_limit);
    tcase_add_test(tc, test_body_too_large);
    tcase_add_test(tc, test_handler_failure_is_500);
    tcase_add_test(tc, test_prefix_route_and_query);
    tcase_add_test(tc, test_bearer);
    suite_add_tcase(s, tc);

    tc = tcase_create("document");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_health_json_worst_wins);
    tcase_add_test(tc, test_health_warnings);
    tcase_add_test(tc, test_create_bad_address);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ims_log_set_level(IMS_LOG_WARN);
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
