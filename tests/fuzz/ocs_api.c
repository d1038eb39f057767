/*
 * ocs_api.c - fuzz harness of the OCS REST API (ocs/api.c: accounts, rates, CDR queries,
 * seed; ocs/account.c and ocs/rating.c behind it), driven through the handler the OCS
 * registers, with the bearer token check
 *
 * Input: requests (tests/fuzz/fuzz_http.h), run against an in-memory database holding the
 * lab's accounts and rates (deploy/lab/charging.json) and a few CDRs; the database is
 * restored after each input. Properties: no request fails the handler or gets a 5xx, every
 * body is JSON.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_http.h"
#include "ocs.h"

#define TOKEN "fuzz-token"

static struct ims_daemon d;
static struct ocs o;

static void add_cdr(const char *sid, int type, uint32_t number, const char *calling)
{
    struct ocs_acr a;
    bool dup;
    memset(&a, 0, sizeof(a));
    snprintf(a.session_id, sizeof(a.session_id), "%s", sid);
    snprintf(a.node, sizeof(a.node), "scscf.ims.mnc001.mcc001.3gppnetwork.org");
    snprintf(a.icid, sizeof(a.icid), "icid-%s", sid);
    snprintf(a.calling, sizeof(a.calling), "%s", calling);
    snprintf(a.called, sizeof(a.called), "tel:+15550100002");
    snprintf(a.method, sizeof(a.method), "INVITE");
    a.type = (enum ocs_acr_type)type;
    a.number = number;
    a.role = 0;
    a.node_functionality = 0;
    a.cause = -1;
    a.event_ts = 1764000000 + number * 30;
    if (ocs_cdr_record(o.db, &a, a.event_ts, &dup) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("ocs");
    o.d = &d;
    snprintf(o.api_token, sizeof(o.api_token), TOKEN);
    if (ims_db_open(&o.db, ":memory:", ocs_db_migrations, ocs_db_nmigrations) != 0 ||
        ocs_api_init(&o) != 0 || !fuzz_route_fn)
        abort();
    fuzz_http_send("POST", "/api/v1/seed", TOKEN, fuzz_file("deploy/lab/charging.json"));
    add_cdr("s1", OCS_ACR_START, 0, "sip:alice@ims.mnc001.mcc001.3gppnetwork.org");
    add_cdr("s1", OCS_ACR_STOP, 1, "sip:alice@ims.mnc001.mcc001.3gppnetwork.org");
    add_cdr("s2", OCS_ACR_EVENT, 0, "tel:+15550100001");
    fuzz_db_snapshot(o.db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_run(data, size);
    fuzz_db_restore(o.db);
    return 0;
}
