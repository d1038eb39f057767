/*
 * ocs_diam.c - fuzz harness of the OCS's Diameter servers: Ro (ocs/ro.c: CCR parsing, the
 * credit decisions of ocs/session.c against the accounts and rates) and Rf (ocs/rf.c: ACR
 * parsing, CDRs of ocs/cdr.c committed by the CDF's writer thread), fed freeDiameter-parsed
 * messages
 *
 * Input: up to four Diameter messages back to back (tests/fuzz/fuzz_diam.h), against an
 * in-memory database holding the lab's accounts and rates (deploy/lab/charging.json),
 * restored after each input. An ACR is answered by the writer thread: the harness waits for
 * that answer. IMS_FUZZ_SEEDS=<dir> writes the seed corpus and exits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_db.h"
#include "fuzz_diam.h"
#include "ocs.h"

#define ALICE "sip:alice@" FUZZ_REALM

static struct ims_daemon d;
static struct ocs o;

static void seed_db(void)
{
    char field[64], err[200];
    json_error_t e;
    json_t *doc = json_loads(fuzz_file("deploy/lab/charging.json"), 0, &e), *v;
    size_t i;
    if (!doc)
        abort();
    json_array_foreach(json_object_get(doc, "accounts"), i, v)
        if (ocs_account_put(o.db, v, true, json_string_value(json_object_get(v, "name")), field,
                            sizeof(field), err, sizeof(err)) != 0)
            abort();
    json_array_foreach(json_object_get(doc, "rates"), i, v) {
        struct ocs_rate r;
        if (ocs_rate_from_json(v, &r, field, sizeof(field), err, sizeof(err)) != 0 ||
            ocs_rate_put(o.db, &r) != 0)
            abort();
    }
    json_decref(doc);
}

/* a CCR of @type (1 initial .. 4 event) numbered @n in session @sid for @who */
static struct msg *ccr(const char *sid, int type, uint32_t n, const char *who, bool units)
{
    struct msg *m = ims_diam_request_in_session(IMS_CMD_CCR, FUZZ_REALM, NULL, sid);
    struct avp *sub = NULL, *mscc = NULL, *rsu = NULL, *usu = NULL, *si = NULL, *ims = NULL;
    if (!m || ims_avp_add_u32(m, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO) ||
        ims_avp_add_str(m, IMS_AVP_SERVICE_CONTEXT_ID, "32260@3gpp.org") ||
        ims_avp_add_i32(m, IMS_AVP_CC_REQUEST_TYPE, type) ||
        ims_avp_add_u32(m, IMS_AVP_CC_REQUEST_NUMBER, n) ||
        !(sub = ims_avp_add_group(m, IMS_AVP_SUBSCRIPTION_ID)) ||
        ims_avp_add_i32(sub, IMS_AVP_SUBSCRIPTION_ID_TYPE, 2) ||
        ims_avp_add_str(sub, IMS_AVP_SUBSCRIPTION_ID_DATA, who) ||
        (type == 4 && ims_avp_add_i32(m, IMS_AVP_REQUESTED_ACTION, 0)) ||
        ims_avp_add_i32(m, IMS_AVP_MULTIPLE_SERVICES_INDICATOR, 1) ||
        !(mscc = ims_avp_add_group(m, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL)) ||
        ims_avp_add_u32(mscc, IMS_AVP_RATING_GROUP, type == 4 ? 2 : 1))
        abort();
    if (units && type != 3) {
        rsu = ims_avp_add_group(mscc, IMS_AVP_REQUESTED_SERVICE_UNIT);
        if (!rsu || (type == 4 ? ims_avp_add_u64(rsu, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS, 1)
                               : ims_avp_add_u32(rsu, IMS_AVP_CC_TIME, 60)))
            abort();
    }
    if (type == 2 || type == 3) {
        if (!(usu = ims_avp_add_group(mscc, IMS_AVP_USED_SERVICE_UNIT)) ||
            ims_avp_add_u32(usu, IMS_AVP_CC_TIME, 42))
            abort();
    }
    if (!(si = ims_avp_add_group(m, IMS_AVP_SERVICE_INFORMATION)) ||
        !(ims = ims_avp_add_group(si, IMS_AVP_IMS_INFORMATION)) ||
        ims_avp_add_i32(ims, IMS_AVP_ROLE_OF_NODE, 0) ||
        ims_avp_add_i32(ims, IMS_AVP_NODE_FUNCTIONALITY, 0) ||
        ims_avp_add_str(ims, IMS_AVP_CALLED_PARTY_ADDRESS, type == 4 ? "sip:bob@" FUZZ_REALM
                                                                     : "tel:+19995550100") ||
        ims_avp_add_str(ims, IMS_AVP_IMS_CHARGING_IDENTIFIER, "icid-1"))
        abort();
    struct avp *et = type == 4 ? ims_avp_add_group(ims, IMS_AVP_EVENT_TYPE) : NULL;
    if (type == 4 && (!et || ims_avp_add_str(et, IMS_AVP_SIP_METHOD, "MESSAGE")))
        abort();
    return m;
}

/* an ACR of @type (1 event .. 4 stop) numbered @n in session @sid */
static struct msg *acr(const char *sid, int type, uint32_t n)
{
    struct msg *m = ims_diam_request_in_session(IMS_CMD_ACR, FUZZ_REALM, NULL, sid);
    struct avp *si = NULL, *ims = NULL, *et = NULL, *ts = NULL, *media = NULL, *ioi = NULL;
    if (!m || ims_avp_add_i32(m, IMS_AVP_ACCOUNTING_RECORD_TYPE, type) ||
        ims_avp_add_u32(m, IMS_AVP_ACCOUNTING_RECORD_NUMBER, n) ||
        ims_avp_add_u32(m, IMS_AVP_ACCT_APPLICATION_ID, IMS_APP_ID_RF) ||
        ims_avp_add_time(m, IMS_AVP_EVENT_TIMESTAMP, 1764000000 + n) ||
        !(si = ims_avp_add_group(m, IMS_AVP_SERVICE_INFORMATION)) ||
        !(ims = ims_avp_add_group(si, IMS_AVP_IMS_INFORMATION)) ||
        !(et = ims_avp_add_group(ims, IMS_AVP_EVENT_TYPE)) ||
        ims_avp_add_str(et, IMS_AVP_SIP_METHOD, type == 1 ? "MESSAGE" : "INVITE") ||
        ims_avp_add_i32(ims, IMS_AVP_ROLE_OF_NODE, 0) ||
        ims_avp_add_i32(ims, IMS_AVP_NODE_FUNCTIONALITY, 0) ||
        ims_avp_add_str(ims, IMS_AVP_CALLING_PARTY_ADDRESS, ALICE) ||
        ims_avp_add_str(ims, IMS_AVP_CALLED_PARTY_ADDRESS, "tel:+15550100002") ||
        ims_avp_add_str(ims, IMS_AVP_IMS_CHARGING_IDENTIFIER, "icid-2") ||
        !(ts = ims_avp_add_group(ims, IMS_AVP_TIME_STAMPS)) ||
        ims_avp_add_time(ts, IMS_AVP_SIP_REQUEST_TIMESTAMP, 1764000000) ||
        ims_avp_add_time(ts, IMS_AVP_SIP_RESPONSE_TIMESTAMP, 1764000001) ||
        !(ioi = ims_avp_add_group(ims, IMS_AVP_INTER_OPERATOR_IDENTIFIER)) ||
        ims_avp_add_str(ioi, IMS_AVP_ORIGINATING_IOI, FUZZ_REALM) ||
        !(media = ims_avp_add_group(ims, IMS_AVP_SDP_MEDIA_COMPONENT)) ||
        ims_avp_add_str(media, IMS_AVP_SDP_MEDIA_NAME, "audio"))
        abort();
    return m;
}

static void write_seeds(void)
{
    fuzz_seed_add("ccr_session.bin", ccr("s1", 1, 0, ALICE, true));
    fuzz_seed_add("ccr_session.bin", ccr("s1", 2, 1, ALICE, true));
    fuzz_seed_add("ccr_session.bin", ccr("s1", 3, 2, ALICE, false));
    fuzz_seed_add("ccr_event.bin", ccr("s2", 4, 0, ALICE, true));
    fuzz_seed_add("ccr_no_balance.bin", ccr("s3", 1, 0, "tel:+15550100003", true));
    fuzz_seed_add("ccr_unknown.bin", ccr("s4", 1, 0, "sip:nobody@" FUZZ_REALM, false));
    fuzz_seed_add("acr_session.bin", acr("r1", 2, 0));
    fuzz_seed_add("acr_session.bin", acr("r1", 3, 1));
    fuzz_seed_add("acr_session.bin", acr("r1", 4, 2));
    fuzz_seed_add("acr_session.bin", acr("r1", 4, 2));
    fuzz_seed_add("acr_event.bin", acr("r2", 1, 0));
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_diam_init("ocs", IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF));
    o.d = &d;
    o.cfg = (struct ocs_config){ .currency_code = 978, .quota_time = 60, .quota_units = 1,
                                 .validity_time = 600, .reservation_timeout = 120,
                                 .interim_interval = 60, .missed_interims = 3 };
    if (ims_db_open(&o.db, ":memory:", ocs_db_migrations, ocs_db_nmigrations) != 0)
        abort();
    seed_db();
    if (ocs_ro_init(&o) != 0 || ocs_rf_init(&o) != 0)
        abort();
    if (fuzz_seed_dir())
        write_seeds();
    fuzz_db_snapshot(o.db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_diam_run(data, size);
    ocs_lock();
    fuzz_db_restore(o.db);
    ocs_unlock();
    return 0;
}
