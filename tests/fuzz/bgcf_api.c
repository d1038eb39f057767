/*
 * bgcf_api.c - fuzz harness of the BGCF's REST API (bgcf/api.c: /api/v1/routes and
 * /lookup, with the route validation of bgcf/route.c and the store of bgcf/store.c behind
 * it), driven through the handler the BGCF registers, with the bearer token check
 *
 * Input: requests (tests/fuzz/fuzz_http.h). The BGCF holds two routes of its configuration
 * (read-only to the API) and one of the API in an in-memory database; a change is swapped
 * into the live table on a loop thread, as in the daemon. After each input the database is
 * restored and the live table rebuilt from it. Properties: no request fails the handler or
 * gets a 5xx, every body is JSON.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>

#include "fuzz_http.h"
#include "fuzz_loop.h"
#include "bgcf.h"
#include "sip.h"

#define TOKEN "fuzz-token"

static struct ims_daemon d;
static struct bgcf b;

static const char *const config_routes[] = {
    "pstn-us +1 sip:mgcf.ims.mnc001.mcc001.3gppnetwork.org:5060",
    "partner example.net sip:ibcf.example.net:5060;transport=tcp",
};

static int no_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
    (void)arg;
    (void)irq;
    (void)sip;
    return 500;
}

/*
 * On the loop thread (sofia-sip runs a root only on the thread that created it): the SIP
 * agent the API asks whether a next hop is this BGCF (bound to 127.0.0.1, any port)
 */
static bool make_sip(struct ims_loop *loop)
{
    static char *udp[] = { "udp", NULL };
    const struct ims_sip_conf sc = {
        .address = "127.0.0.1", .port = 0, .transports = udp,
        .host = "bgcf.ims.mnc001.mcc001.3gppnetwork.org", .node = "bgcf",
    };
    d.sip = ims_sip_create(ims_loop_root(loop), &sc, no_request, NULL);
    return d.sip != NULL;
}

/* the live table as the daemon builds it at start: configuration + stored routes */
static void rebuild_table(void)
{
    struct bgcf_route *api = NULL;
    size_t napi = 0;
    char err[300];
    if (bgcf_store_load(&b, &api, &napi) != 0)
        abort();
    struct bgcf_table *t = bgcf_tables_build(&b, api, napi, err, sizeof(err));
    free(api);
    FUZZ_ASSERT(t != NULL, "the stored routes no longer build a table: %s", err);
    bgcf_table_free(b.table);   /* no request runs now: the loop thread is idle */
    b.table = t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[300];
    fuzz_logs("bgcf");
    b.d = &d;
    b.nconfig = sizeof(config_routes) / sizeof(config_routes[0]);
    b.config = calloc(b.nconfig, sizeof(*b.config));
    pthread_mutex_init(&b.api_lock, NULL);
    snprintf(b.api_token, sizeof(b.api_token), TOKEN);
    if (!b.config)
        abort();
    d.loop = fuzz_loop_start(make_sip);
    if (!d.loop)
        abort();
    for (size_t i = 0; i < b.nconfig; i++)
        FUZZ_ASSERT(bgcf_route_parse(config_routes[i], &b.config[i], err, sizeof(err)) == 0,
                    "route %zu: %s", i, err);
    if (bgcf_store_open(&b, ":memory:") != 0 || bgcf_api_init(&b) != 0 || !fuzz_route_fn)
        abort();
    b.table = bgcf_tables_build(&b, NULL, 0, err, sizeof(err));
    if (!b.table)
        abort();
    fuzz_http_send("PUT", "/api/v1/routes/uk", TOKEN, "{\"prefix\": \"+44\", \"next_hop\": "
                  "\"sip:bgcf.example.org:5060\", \"kind\": \"bgcf\", \"priority\": 1, "
                  "\"weight\": 10}");
    fuzz_db_snapshot(b.db);
    rebuild_table();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_run(data, size);
    fuzz_db_restore(b.db);
    rebuild_table();
    return 0;
}
