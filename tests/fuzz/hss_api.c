/*
 * hss_api.c - fuzz harness of the HSS provisioning API (hss/provision.c and the subscriber
 * documents of hss/subscriber*.c, hss/ifc.c behind it), driven through the handler the HSS
 * registers, with the bearer token check
 *
 * Input: requests (tests/fuzz/fuzz_http.h), run against an in-memory database holding the
 * lab's subscribers (deploy/lab/subscribers.json); the database is restored after each
 * input. Properties: no request fails the handler or gets a 5xx, every body is JSON.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_http.h"
#include "hss.h"

#define TOKEN "fuzz-token"

static struct ims_daemon d;
static struct hss h;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const struct ims_cfg_key *const schemas[] = { ims_daemon_node_keys, NULL };
    char err[256];
    fuzz_logs("hss");
    setenv("IMS_NODE_NAME", "hss.ims.mnc001.mcc001.3gppnetwork.org", 1);
    setenv("IMS_NODE_ADDRESS", "127.0.0.40", 1);
    setenv("IMS_NODE_DOMAIN", "ims.mnc001.mcc001.3gppnetwork.org", 1);
    d.cfg = ims_cfg_load(NULL, schemas, err, sizeof(err));
    h.d = &d;
    h.vectors_max = 4;
    snprintf(h.realm, sizeof(h.realm), "ims.mnc001.mcc001.3gppnetwork.org");
    snprintf(h.api_token, sizeof(h.api_token), TOKEN);
    if (!d.cfg || ims_db_open(&h.db, ":memory:", hss_db_migrations, hss_db_nmigrations) != 0 ||
        hss_provision_init(&h) != 0 || !fuzz_route_fn)
        abort();
    fuzz_http_send("POST", "/api/v1/seed", TOKEN, fuzz_file("deploy/lab/subscribers.json"));
    fuzz_db_snapshot(h.db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_run(data, size);
    fuzz_db_restore(h.db);
    return 0;
}
