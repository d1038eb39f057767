/*
 * api.c - the MGCF's circuit maintenance API under /api/v1 (JSON; "Authorization: Bearer
 * <mgcf.api_token>"; an empty token disables it)
 *
 *   GET  /circuits                          every trunk and circuit: state, blocking, call
 *   POST /circuits/{trunk}/{cic}/block      BLO (repeated until BLA); no new call on it
 *   POST /circuits/{trunk}/{cic}/unblock    UBL (repeated until UBA)
 *   POST /circuits/{trunk}/{cic}/reset      RSC: a call on it is released (repeated until RLC)
 *   POST /trunks/{trunk}/reset              GRS for every circuit of the trunk
 *
 * The work runs on the loop thread (ims_loop_call): the circuits are the loop's.
 * Errors are {"error": "...", "field": "..."} with 400, 401, 404, 405 or 503.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1/"
#define CALL_WAIT_MS 2000

struct api_job {
    struct mgcf *m;
    char trunk[MGCF_TRUNK_NAME_MAX + 1];
    long cic;                       /* -1: the whole trunk */
    char verb[16];                  /* "", "block", "unblock", "reset" */
    int status;                     /* the HTTP answer */
    char error[160], field[16];
    json_t *doc;
};

static json_t *circuit_json(const struct mgcf_circuit *cc)
{
    const struct mgcf_call *c = cc->call;
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:o}", "cic", cc->cic, "state",
                     mgcf_cic_state_name(cc->state), "local_blocked", cc->local_blocked,
                     "remote_blocked", cc->remote_blocked, "reset_pending", cc->rsc_pending,
                     "call", c ? json_integer(c->id) : json_null());
}

static json_t *trunk_json(const struct mgcf_trunk *t)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < mgcf_trunk_size(t); i++)
        json_array_append_new(list, circuit_json(&t->circuits[i]));
    struct mgcf_trunk_counts n;
    mgcf_trunk_count(t, &n);
    return json_pack("{s:s, s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i, s:i}, s:o}", "name", t->name,
                     "dpc", (int)t->dpc, "first", t->first, "last", t->last, "counts", "idle",
                     n.idle, "busy", n.busy, "reset", n.reset, "local_blocked",
                     n.local_blocked, "remote_blocked", n.remote_blocked, "circuits",
                     list ? list : json_array());
}

static void job_fail(struct api_job *j, int status, const char *field, const char *why)
{
    j->status = status;
    snprintf(j->field, sizeof(j->field), "%s", field ? field : "");
    snprintf(j->error, sizeof(j->error), "%s", why);
}

static void do_list(struct api_job *j)
{
    struct mgcf *m = j->m;
    json_t *trunks = json_array();
    for (size_t i = 0; trunks && i < m->n_trunks; i++)
        json_array_append_new(trunks, trunk_json(&m->trunks[i]));
    j->doc = json_pack("{s:s, s:s, s:i, s:o}", "isup", mgcf_isup_state(m), "mgw",
                       mgcf_mgw_state(m), "calls", (int)m->n_calls, "trunks",
                       trunks ? trunks : json_array());
    j->status = j->doc ? 200 : 500;
}

static struct mgcf_trunk *trunk_named(struct mgcf *m, const char *name)
{
    for (size_t i = 0; i < m->n_trunks; i++)
        if (strcmp(m->trunks[i].name, name) == 0)
            return &m->trunks[i];
    return NULL;
}

static void do_action(struct api_job *j)
{
    struct mgcf *m = j->m;
    struct mgcf_trunk *t = trunk_named(m, j->trunk);
    if (!t) {
        job_fail(j, 404, "trunk", "no such trunk");
        return;
    }
    if (!mgcf_isup_active(m)) {
        job_fail(j, 503, NULL, "the M3UA association is not active");
        return;
    }
    if (j->cic < 0) {
        mgcf_isup_reset_trunk(m, t);
        ims_info("api: trunk %s reset (GRS)", t->name);
        j->doc = trunk_json(t);
        j->status = 202;
        return;
    }
    struct mgcf_circuit *cc = mgcf_trunk_circuit(t, (uint16_t)j->cic);
    if (!cc) {
        job_fail(j, 404, "cic", "no such circuit in the trunk");
        return;
    }
    int rc = 0;
    if (strcmp(j->verb, "block") == 0)
        rc = mgcf_isup_block(m, t, cc, true);
    else if (strcmp(j->verb, "unblock") == 0)
        rc = mgcf_isup_block(m, t, cc, false);
    else
        rc = mgcf_isup_reset_circuit(m, t, cc);
    if (rc == -EALREADY) {
        job_fail(j, 409, "cic", "the circuit is not blocked here");
        return;
    }
    ims_info("api: circuit %s/%u: %s", t->name, cc->cic, j->verb);
    j->doc = circuit_json(cc);
    j->status = 202;
}

static void run_job(void *arg)
{
    struct api_job *j = arg;
    if (j->m->stopping) {
        job_fail(j, 503, NULL, "the MGCF is stopping");
        return;
    }
    if (!j->verb[0])
        do_list(j);
    else
        do_action(j);
}

/* The path after /api/v1/ into @j; false when it names nothing */
static bool parse_path(const char *p, struct api_job *j)
{
    char a[40], b[40], c[40], tail;
    int n = sscanf(p, "%39[^/]/%39[^/]/%39[^/]/%15[^/]%c", a, b, c, j->verb, &tail);
    if (strcmp(p, "circuits") == 0) {
        j->verb[0] = '\0';
        return true;
    }
    if (n == 3 && strcmp(a, "trunks") == 0 && strcmp(c, "reset") == 0 &&
        strlen(b) < sizeof(j->trunk)) {
        snprintf(j->trunk, sizeof(j->trunk), "%s", b);
        snprintf(j->verb, sizeof(j->verb), "reset");
        j->cic = -1;
        return true;
    }
    char *end;
    if (n != 4 || strcmp(a, "circuits") != 0 || strlen(b) >= sizeof(j->trunk))
        return false;
    j->cic = strtol(c, &end, 10);
    if (*end || j->cic < 0 || j->cic > MGCF_ISUP_CIC_MAX)
        return false;
    snprintf(j->trunk, sizeof(j->trunk), "%s", b);
    return strcmp(j->verb, "block") == 0 || strcmp(j->verb, "unblock") == 0 ||
           strcmp(j->verb, "reset") == 0;
}

static int on_api(void *arg, const struct ims_http_request *req, struct ims_http_response *resp)
{
    struct mgcf *m = arg;
    char client[INET6_ADDRSTRLEN];
    ims_http_client_address(req, client, sizeof(client));
    if (!m->conf.api_token[0] || !ims_http_bearer_ok(req, m->conf.api_token)) {
        ims_http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"mgcf\"");
        if (m->conf.api_token[0])
            ims_warn("api: %s %s from %s refused: missing or wrong bearer token", req->method,
                     req->path, client);
        return ims_http_reply_error(resp, 401, NULL, m->conf.api_token[0]
                                    ? "missing or wrong bearer token (Authorization: Bearer "
                                      "<mgcf.api_token>)"
                                    : "the API is disabled: mgcf.api_token is not set");
    }
    struct api_job j = { .m = m };
    if (!parse_path(req->path + strlen(API_PREFIX), &j))
        return ims_http_reply_error(resp, 404, NULL, "no such resource: %s", req->path);
    const char *want = j.verb[0] ? "POST" : "GET";
    if (strcmp(req->method, want) != 0) {
        ims_http_add_header(resp, "Allow", want);
        return ims_http_reply_error(resp, 405, NULL, "%s only", want);
    }
    int rc = ims_loop_call(m->d->loop, run_job, &j, CALL_WAIT_MS);
    if (rc < 0)
        return ims_http_reply_error(resp, 503, NULL, "the MGCF's loop is busy or stopping");
    if (j.doc)
        return ims_http_reply_json(resp, j.status, j.doc);
    if (j.status == 500 || !j.error[0])
        return ims_http_reply_error(resp, 500, NULL, "out of memory");
    return ims_http_reply_error(resp, j.status, j.field[0] ? j.field : NULL, "%s", j.error);
}

int mgcf_api_init(struct mgcf *m)
{
    int rc = ims_http_route(m->d->http, NULL, API_PREFIX, true, on_api, m);
    if (rc)
        ims_err("api: cannot add the %s routes: %s", API_PREFIX, strerror(-rc));
    return rc;
}
