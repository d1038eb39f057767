/*
 * query.c - query mode: an AS asks which MRF to use (RFC 6917's consumer interface in
 * spirit, JSON over HTTP)
 *
 *   GET  /api/v1/mrb/query?service=annc|conf|media[&conference=<id>]
 *   POST /api/v1/mrb/query   {"service": "conf", "conference": "room-1"}
 *     -> 200 {"mrf": {"name": "127.0.0.60:5060", "uri": "sip:127.0.0.60:5060",
 *                     "load": 0.01, "sessions": 3, "capacity": 400},
 *             "service": "conf", "request_uri": "sip:conf=room-1@127.0.0.60:5060"}
 *     -> 503 when no MRF is up with room (or the one holding the conference is down),
 *        400 for a bad request, 403 from outside sip.trusted_peers
 *   GET  /api/v1/mrb/mrfs   every MRF with its status (for operators; trusted peers too)
 *
 * The choice is the in-line mode's; the MRF chosen counts the answer as a session sent to
 * it until its next status, so that queries in a burst spread as INVITEs would. For an
 * announcement the AS adds play= and the other parameters of RFC 4240 to the request_uri.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define QUERY_PATH "/api/v1/mrb/query"
#define MRFS_PATH "/api/v1/mrb/mrfs"

static bool from_trusted(struct mrb *b, const struct ims_http_request *req)
{
    char addr[64];
    ims_http_client_address(req, addr, sizeof(addr));
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof(sa));
    if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&sa)->sin_addr) == 1)
        sa.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1)
        sa.ss_family = AF_INET6;
    else
        return false;
    return ims_netlist_match(b->trusted, (struct sockaddr *)&sa);
}

/* The service and conference of the request (query string or JSON body); 0 or a reply */
static int read_request(const struct ims_http_request *req, struct ims_http_response *resp,
                        char *service, size_t slen, char *conf, size_t clen)
{
    const char *s = NULL, *c = NULL;
    json_t *doc = NULL;
    if (strcmp(req->method, "POST") == 0) {
        doc = ims_http_body_object(req, resp);
        if (!doc)
            return -1;                /* answered */
        s = json_string_value(json_object_get(doc, "service"));
        c = json_string_value(json_object_get(doc, "conference"));
    } else {
        s = ims_http_query(req, "service");
        c = ims_http_query(req, "conference");
    }
    int rc = 0;
    if (!s || (strcmp(s, "annc") && strcmp(s, "conf") && strcmp(s, "media"))) {
        ims_http_reply_error(resp, 400, "service", "annc, conf or media");
        rc = -1;
    } else if (strcmp(s, "conf") == 0 && (!c || !*c || strlen(c) > 64 ||
                                          strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                                 "OPQRSTUVWXYZ0123456789-._~+") != strlen(c))) {
        ims_http_reply_error(resp, 400, "conference", "1 to 64 letters, digits and -._~+");
        rc = -1;
    }
    if (rc == 0) {
        snprintf(service, slen, "%s", s);
        snprintf(conf, clen, "%s", strcmp(s, "conf") == 0 ? c : "");
    }
    json_decref(doc);
    return rc;
}

static json_t *mrf_json(const struct mrb_mrf *m)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "sip:%s", m->name);
    return json_pack("{s:s, s:s, s:f, s:I, s:I, s:b}", "name", m->name, "uri", uri, "load",
                     mrb_load(m), "sessions", (json_int_t)m->sessions, "capacity",
                     (json_int_t)mrb_capacity(m), "up", m->up);
}

static int on_query(void *arg, const struct ims_http_request *req,
                    struct ims_http_response *resp)
{
    struct mrb *b = arg;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        return ims_http_reply_error(resp, 405, NULL, "GET or POST");
    if (!from_trusted(b, req)) {
        ims_counter_inc(b->m_untrusted);
        return ims_http_reply_error(resp, 403, NULL, "queries are for the trusted peers of "
                                    "this MRB (sip.trusted_peers)");
    }
    char service[16], conf[80];
    if (read_request(req, resp, service, sizeof(service), conf, sizeof(conf)) != 0)
        return 0;
    ims_counter_inc(b->m_queries);
    int pinned = mrb_pinned(b, conf[0] ? conf : NULL);
    size_t order[1];
    pthread_mutex_lock(&b->lock);
    size_t n = b->stopping ? 0 : mrb_select(b->mrfs, b->n, pinned, order, 1);
    json_t *mrf = n ? mrf_json(&b->mrfs[order[0]]) : NULL;
    char ruri[256] = "";
    if (n) {
        const char *user = strcmp(service, "annc") == 0    ? "annc"
                           : strcmp(service, "media") == 0 ? "mrfc"
                                                           : "conf=";
        snprintf(ruri, sizeof(ruri), "sip:%s%s@%s", user, conf, b->mrfs[order[0]].name);
    }
    pthread_mutex_unlock(&b->lock);
    if (!n) {
        ims_counter_inc(b->m_none);
        return ims_http_reply_error(resp, 503, NULL, pinned >= 0 ? "the MRF that holds the "
                                    "conference is down" : "no MRF is up with room for a "
                                    "session");
    }
    mrb_note_sent(b, order[0], conf[0] ? conf : NULL);
    return ims_http_reply_json(resp, 200, json_pack("{s:o, s:s, s:s}", "mrf", mrf, "service",
                                                    service, "request_uri", ruri));
}

static int on_mrfs(void *arg, const struct ims_http_request *req,
                   struct ims_http_response *resp)
{
    struct mrb *b = arg;
    if (strcmp(req->method, "GET") != 0)
        return ims_http_reply_error(resp, 405, NULL, "GET only");
    if (!from_trusted(b, req)) {
        ims_counter_inc(b->m_untrusted);
        return ims_http_reply_error(resp, 403, NULL, "for the trusted peers of this MRB");
    }
    json_t *items = json_array();
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; items && i < b->n; i++) {
        json_t *m = mrf_json(&b->mrfs[i]);
        json_t *confs = json_array();
        for (char **c = b->mrfs[i].confs; c && *c && confs; c++)
            json_array_append_new(confs, json_string(*c));
        json_object_set_new(m, "conferences", confs ? confs : json_array());
        json_array_append_new(items, m);
    }
    pthread_mutex_unlock(&b->lock);
    return ims_http_reply_json(resp, 200, json_pack("{s:o}", "items", items));
}

int mrb_query_init(struct mrb *b)
{
    b->m_queries = ims_counter_new("mrb_queries_total", "queries of the query mode", NULL);
    b->m_untrusted = ims_counter_new("mrb_untrusted_refused_total", "requests refused because "
                                     "their source is not in sip.trusted_peers", NULL);
    int rc = ims_http_route(b->d->http, NULL, QUERY_PATH, false, on_query, b);
    if (rc == 0)
        rc = ims_http_route(b->d->http, NULL, MRFS_PATH, false, on_mrfs, b);
    return rc;
}
