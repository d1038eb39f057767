/*
 * status.c - what the MRF publishes of its resources, for a media resource broker (RFC 6917
 * in spirit: its mrb-publish package carries the same facts over a control channel):
 *
 *   GET /api/v1/mrf/status  ->  {"name": ..., "sip": "sip:<address>:<port>",
 *                                "sessions": N, "max_sessions": M, "legs": L,
 *                                "channels": C, "conferences": ["room-1", ...],
 *                                "state": "running"|"stopping"}
 *
 * Only from sip.trusted_peers (the broker is a SIP peer of the MRF anyway): anybody else
 * gets 403, for the conference identifiers are not for the world. The handler runs on the
 * HTTP thread and asks the loop thread for the figures (ims_loop_call).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "session.h"
#include "cfw.h"
#include "log.h"
#include "netlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define STATUS_PATH "/api/v1/mrf/status"
#define CONFS_LISTED 1000

struct mrfc_status {
    struct ims_netlist trusted;
};

struct snapshot {
    struct mrfc *mrfc;
    json_t *doc;
};

static void add_conf(void *arg, const char *key, void *value)
{
    json_t *list = arg;
    const struct mrfc_conf *c = value;
    if (!c->hidden && json_array_size(list) < CONFS_LISTED)
        json_array_append_new(list, json_string(key));
}

/* On the loop thread: the figures into a JSON document */
static void take_snapshot(void *arg)
{
    struct snapshot *sn = arg;
    struct mrfc *mrfc = sn->mrfc;
    json_t *confs = json_array();
    if (mrfc->confs && confs)
        ims_map_foreach(mrfc->confs, add_conf, confs);
    char sip[128];
    const char *addr = ims_sip_address(mrfc->d->sip);
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(sip, sizeof(sip), "sip:%s%s%s:%ld", v6 ? "[" : "", addr, v6 ? "]" : "",
             ims_cfg_int(mrfc->d->cfg, "sip.port"));
    size_t channels = 0;
    for (struct mrfc_session *s = mrfc->sessions; s; s = s->next)
        channels += s->chan != NULL;
    sn->doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:s}",
                        "name", ims_cfg_str(mrfc->d->cfg, "node.name"), "sip", sip,
                        "sessions", (json_int_t)mrfc->nsessions,
                        "max_sessions", (json_int_t)mrfc->max_sessions,
                        "legs", (json_int_t)(mrfc->media ? mrfc_media_legs(mrfc->media) : 0),
                        "channels", (json_int_t)channels,
                        "conferences", confs ? confs : json_array(),
                        "state", mrfc->running ? "running" : "stopping");
}

static bool from_trusted(const struct mrfc_status *st, const struct ims_http_request *req)
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
    return ims_netlist_match(&st->trusted, (struct sockaddr *)&sa);
}

static int on_status(void *arg, const struct ims_http_request *req,
                     struct ims_http_response *resp)
{
    struct mrfc *mrfc = arg;
    if (!mrfc->running)
        return ims_http_reply_error(resp, 503, NULL, "the MRF is not running");
    if (strcmp(req->method, "GET") != 0)
        return ims_http_reply_error(resp, 405, NULL, "GET only");
    if (!from_trusted(mrfc->status, req))
        return ims_http_reply_error(resp, 403, NULL, "the status is for the trusted peers of "
                                    "this MRF (sip.trusted_peers)");
    struct snapshot sn = { .mrfc = mrfc };
    if (ims_loop_call(mrfc->d->loop, take_snapshot, &sn, 2000) != 0 || !sn.doc)
        return ims_http_reply_error(resp, 503, NULL, "the MRF is too busy to answer");
    return ims_http_reply_json(resp, 200, sn.doc);
}

int mrfc_status_init(struct mrfc *mrfc)
{
    struct mrfc_status *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    mrfc->status = st;
    size_t n;
    char err[200];
    char **items = ims_cfg_list(mrfc->d->cfg, "sip.trusted_peers", &n);
    int rc = items ? ims_netlist_parse(items, &st->trusted, err, sizeof(err)) : -ENOMEM;
    ims_strv_free(items);
    if (rc == 0)
        rc = ims_http_route(mrfc->d->http, NULL, STATUS_PATH, false, on_status, mrfc);
    if (rc)
        ims_err("mrfc: the status API cannot start: %s", strerror(-rc));
    return rc;
}

void mrfc_status_fini(struct mrfc *mrfc)
{
    /* the HTTP server outlives the daemon's stop and may still read the trusted list: it
     * stays until the process ends */
    (void)mrfc;
}
