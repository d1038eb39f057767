/*
 * ro.c - the Credit-Control server (RFC 4006, TS 32.299 Ro): CCR in, CCA out
 *
 * parse (ro_request) -> session.c decides against the database -> build the CCA. Requests
 * that cannot be read get DIAMETER_MISSING_AVP or DIAMETER_INVALID_AVP_VALUE with an
 * Error-Message naming the AVP; database trouble gets DIAMETER_UNABLE_TO_COMPLY.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ro.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define FINAL_UNIT_ACTION_TERMINATE 0

static const char *const type_names[] = { "unknown", "initial", "update", "termination",
                                          "event" };
static const uint32_t result_codes[] = { 2001, 3004, 4012, 5002, 5004, 5005, 5012, 5030,
                                         5031 };
#define NRESULTS (sizeof(result_codes) / sizeof(result_codes[0]))

static struct {
    struct ims_counter *requests[5];
    struct ims_counter *results[NRESULTS + 1];
    struct ims_counter *expired, *busy;
    struct ims_histogram *latency;
} m;

static void register_metrics(void)
{
    char labels[64];
    for (int i = 0; i < 5; i++) {
        snprintf(labels, sizeof(labels), "type=\"%s\"", type_names[i]);
        m.requests[i] = ims_counter_new("ocs_ro_requests_total",
                                        "Credit-Control-Requests received, by type", labels);
    }
    for (size_t i = 0; i <= NRESULTS; i++) {
        if (i < NRESULTS)
            snprintf(labels, sizeof(labels), "result=\"%u\"", result_codes[i]);
        else
            snprintf(labels, sizeof(labels), "result=\"other\"");
        m.results[i] = ims_counter_new("ocs_ro_answers_total",
                                       "Credit-Control-Answers sent, by Result-Code", labels);
    }
    m.expired = ims_counter_new("ocs_ro_reservations_expired_total",
                                "reservations closed by ocs.reservation_timeout", NULL);
    m.busy = ims_counter_new("ocs_ro_busy_total", "CCR-INITIALs answered DIAMETER_TOO_BUSY: "
                             "ocs.max_sessions credit-control sessions were open", NULL);
    m.latency = ims_histogram_new("ocs_ro_handling_seconds",
                                  "time from CCR to CCA, database commit included", NULL,
                                  ims_latency_bounds, ims_latency_nbounds);
}

static void count_result(uint32_t code)
{
    size_t i = 0;
    while (i < NRESULTS && result_codes[i] != code)
        i++;
    ims_counter_inc(m.results[i]);
}

/* ---- parse ---- */

static int missing(struct ro_request *q, const char *avp)
{
    q->result = IMS_DIAM_MISSING_AVP;
    snprintf(q->error, sizeof(q->error), "%s is required", avp);
    return -EINVAL;
}

static int invalid(struct ro_request *q, const char *what)
{
    q->result = IMS_DIAM_INVALID_AVP_VALUE;
    snprintf(q->error, sizeof(q->error), "%s", what);
    return -EINVAL;
}

static void read_amount(struct avp *group, bool *time_set, uint64_t *time, bool *units_set,
                        uint64_t *units)
{
    uint32_t t;
    *time_set = ims_avp_get_u32(group, IMS_AVP_CC_TIME, &t) == 0;
    *time = *time_set ? t : 0;
    *units_set = ims_avp_get_u64(group, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS, units) == 0;
    if (!*units_set)
        *units = 0;
}

/* RSU and USU of @parent (an MSCC or the message itself) into @u. */
static void read_unit(void *parent, struct ro_unit *u)
{
    struct avp *rsu = ims_avp_find(parent, IMS_AVP_REQUESTED_SERVICE_UNIT);
    u->rsu = rsu != NULL;
    if (rsu)
        read_amount(rsu, &u->rsu_time_set, &u->rsu_time, &u->rsu_units_set, &u->rsu_units);
    /* several USUs (per tariff period) add up, saturating: huge reports never wrap */
    for (struct avp *usu = ims_avp_find(parent, IMS_AVP_USED_SERVICE_UNIT); usu;
         usu = ims_avp_next(usu, IMS_AVP_USED_SERVICE_UNIT)) {
        bool ts, us;
        uint64_t t, n;
        read_amount(usu, &ts, &t, &us, &n);
        u->usu = true;
        u->usu_time_set |= ts;
        u->usu_units_set |= us;
        u->usu_time = ocs_units_add(u->usu_time, t);
        u->usu_units = ocs_units_add(u->usu_units, n);
    }
}

static int read_units(struct msg *msg, struct ro_request *q)
{
    for (struct avp *g = ims_avp_find(msg, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL); g;
         g = ims_avp_next(g, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL)) {
        if (q->nunits == OCS_MAX_UNITS)
            return invalid(q, "Multiple-Services-Credit-Control: at most 8 per request");
        struct ro_unit *u = &q->units[q->nunits++];
        u->mscc = true;
        u->has_rg = ims_avp_get_u32(g, IMS_AVP_RATING_GROUP, &u->rg) == 0;
        u->has_si = ims_avp_get_u32(g, IMS_AVP_SERVICE_IDENTIFIER, &u->si) == 0;
        u->key = u->has_rg ? (int64_t)u->rg : u->has_si ? (int64_t)u->si + (1LL << 32) : 0;
        for (int i = 0; i < q->nunits - 1; i++)
            if (q->units[i].key == u->key)
                return invalid(q, "Multiple-Services-Credit-Control: the same Rating-Group "
                               "(or Service-Identifier) twice");
        read_unit(g, u);
    }
    if (q->nunits == 0) {
        q->nunits = 1;
        q->units[0].key = -1;
        read_unit(msg, &q->units[0]);
    }
    return 0;
}

/* Service-Information / IMS-Information: SIP method, called party, ICID. */
static void read_ims_information(struct msg *msg, struct ro_request *q)
{
    struct avp *si = ims_avp_find(msg, IMS_AVP_SERVICE_INFORMATION);
    struct avp *ims = si ? ims_avp_find(si, IMS_AVP_IMS_INFORMATION) : NULL;
    if (!ims)
        return;
    struct avp *et = ims_avp_find(ims, IMS_AVP_EVENT_TYPE);
    if (et)
        ims_avp_get_str(et, IMS_AVP_SIP_METHOD, q->method, sizeof(q->method));
    ims_avp_get_str(ims, IMS_AVP_CALLED_PARTY_ADDRESS, q->called, sizeof(q->called));
    ims_avp_get_str(ims, IMS_AVP_IMS_CHARGING_IDENTIFIER, q->icid, sizeof(q->icid));
}

static void read_subscriptions(struct msg *msg, struct ro_request *q)
{
    for (struct avp *s = ims_avp_find(msg, IMS_AVP_SUBSCRIPTION_ID);
         s && q->nsubscriptions < 4; s = ims_avp_next(s, IMS_AVP_SUBSCRIPTION_ID)) {
        char *d = q->subscription[q->nsubscriptions];
        if (ims_avp_get_str(s, IMS_AVP_SUBSCRIPTION_ID_DATA, d, OCS_ID_MAX) == 0 && *d)
            q->nsubscriptions++;
    }
    if (q->nsubscriptions < 4 &&
        ims_avp_get_str(msg, IMS_AVP_USER_NAME, q->subscription[q->nsubscriptions],
                        OCS_ID_MAX) == 0)
        q->nsubscriptions++;
}

/* Returns 0, or -EINVAL with q->result and q->error set. */
static int parse_ccr(struct msg *msg, struct ro_request *q)
{
    int32_t type, action;
    ims_diam_session_id(msg, q->session_id, sizeof(q->session_id));
    ims_avp_get_str(msg, IMS_AVP_ORIGIN_HOST, q->origin, sizeof(q->origin));
    if (ims_avp_get_i32(msg, IMS_AVP_CC_REQUEST_TYPE, &type) != 0)
        return missing(q, "CC-Request-Type");
    q->has_type_sent = true;
    q->type_sent = type;
    if (type < CC_INITIAL || type > CC_EVENT)
        return invalid(q, "CC-Request-Type: must be 1 to 4");
    q->type = type;
    if (ims_avp_get_u32(msg, IMS_AVP_CC_REQUEST_NUMBER, &q->number) != 0)
        return missing(q, "CC-Request-Number");
    if (!q->session_id[0])
        return missing(q, "Session-Id");
    q->action = ACTION_DIRECT_DEBITING;
    if (ims_avp_get_i32(msg, IMS_AVP_REQUESTED_ACTION, &action) == 0) {
        if (action < ACTION_DIRECT_DEBITING || action > ACTION_PRICE_ENQUIRY)
            return invalid(q, "Requested-Action: must be 0 to 3");
        q->action = action;
    }
    read_subscriptions(msg, q);
    if ((type == CC_INITIAL || type == CC_EVENT) && q->nsubscriptions == 0)
        return missing(q, "Subscription-Id");
    read_ims_information(msg, q);
    return read_units(msg, q);
}

/* ---- answer ---- */

static int add_cost(struct msg *ans, int64_t cost, int currency)
{
    struct avp *ci = ims_avp_add_group(ans, IMS_AVP_COST_INFORMATION);
    struct avp *uv = ci ? ims_avp_add_group(ci, IMS_AVP_UNIT_VALUE) : NULL;
    if (!uv || ims_avp_add_i64(uv, IMS_AVP_VALUE_DIGITS, cost) ||
        ims_avp_add_i32(uv, IMS_AVP_EXPONENT, -2) ||
        ims_avp_add_u32(ci, IMS_AVP_CURRENCY_CODE, (uint32_t)currency))
        return -ENOMEM;
    return 0;
}

/* GSU, Validity-Time and FUI of one unit into @parent (its MSCC or the answer). */
static int add_grant(void *parent, const struct ro_unit *u, uint32_t validity)
{
    int rc = 0;
    if (u->granted) {
        struct avp *gsu = ims_avp_add_group(parent, IMS_AVP_GRANTED_SERVICE_UNIT);
        if (!gsu)
            return -ENOMEM;
        rc = u->unit == OCS_UNIT_SECOND
                 ? ims_avp_add_u32(gsu, IMS_AVP_CC_TIME, (uint32_t)u->granted)
                 : ims_avp_add_u64(gsu, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS, u->granted);
    }
    if (rc == 0 && u->granted && validity)
        rc = ims_avp_add_u32(parent, IMS_AVP_VALIDITY_TIME, validity);
    if (rc == 0 && u->final) {
        struct avp *fui = ims_avp_add_group(parent, IMS_AVP_FINAL_UNIT_INDICATION);
        rc = fui ? ims_avp_add_i32(fui, IMS_AVP_FINAL_UNIT_ACTION,
                                   FINAL_UNIT_ACTION_TERMINATE)
                 : -ENOMEM;
    }
    return rc;
}

static int add_mscc(struct msg *ans, const struct ro_unit *u, uint32_t validity)
{
    struct avp *g = ims_avp_add_group(ans, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL);
    if (!g || add_grant(g, u, validity))
        return -ENOMEM;
    if (u->has_si && ims_avp_add_u32(g, IMS_AVP_SERVICE_IDENTIFIER, u->si))
        return -ENOMEM;
    if (u->has_rg && ims_avp_add_u32(g, IMS_AVP_RATING_GROUP, u->rg))
        return -ENOMEM;
    return u->result ? ims_avp_add_u32(g, IMS_AVP_RESULT_CODE, u->result) : 0;
}

/* Whether the answer carries the request's credit units (not after a refusal of it all). */
static bool answers_units(uint32_t result)
{
    return result != IMS_DIAM_MISSING_AVP && result != IMS_DIAM_INVALID_AVP_VALUE &&
           result != IMS_DIAM_TOO_BUSY;
}

static int build_cca(struct ocs *o, struct msg **msg, const struct ro_request *q)
{
    int rc = ims_diam_answer_new(msg, IMS_APP_RO);
    struct msg *ans = *msg;
    struct msg_hdr *hdr;
    if (rc)
        return rc;
    /* a protocol error (3xxx) sets the E bit (RFC 6733 7.1.3) */
    if (q->result / 1000 == 3 && fd_msg_hdr(ans, &hdr) == 0)
        hdr->msg_flags |= CMD_FLAG_ERROR;
    if (ims_avp_add_u32(ans, IMS_AVP_RESULT_CODE, q->result) ||
        ims_avp_add_u32(ans, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO) ||
        (q->has_type_sent &&   /* RFC 4006 8.2: always in a CCA, even if not 1 to 4 */
         ims_avp_add_i32(ans, IMS_AVP_CC_REQUEST_TYPE, q->type_sent)) ||
        ims_avp_add_u32(ans, IMS_AVP_CC_REQUEST_NUMBER, q->number))
        return -ENOMEM;
    if (q->error[0] && q->result != IMS_DIAM_SUCCESS &&
        ims_avp_add_str(ans, IMS_AVP_ERROR_MESSAGE, q->error))
        return -ENOMEM;
    uint32_t validity = q->validity ? o->cfg.validity_time : 0;
    for (int i = 0; i < q->nunits && answers_units(q->result); i++) {
        const struct ro_unit *u = &q->units[i];
        rc = u->mscc ? add_mscc(ans, u, validity) : add_grant(ans, u, validity);
        if (rc)
            return rc;
    }
    if (q->cost_set && add_cost(ans, q->cost, o->cfg.currency_code))
        return -ENOMEM;
    if (q->check_balance >= 0 &&
        ims_avp_add_i32(ans, IMS_AVP_CHECK_BALANCE_RESULT, q->check_balance))
        return -ENOMEM;
    return 0;
}

static void log_outcome(const struct ro_request *q)
{
    struct ims_log_ids ids = { .session_id = q->session_id, .icid = q->icid[0] ? q->icid : NULL };
    enum ims_log_level l = q->result == IMS_DIAM_SUCCESS ? IMS_LOG_DEBUG : IMS_LOG_INFO;
    if (!ims_log_enabled(l))
        return;
    ims_log(l, &ids, "ro: CCR %s #%u from %s for %s: %s%s%s", type_names[q->type], q->number,
            q->origin, q->nsubscriptions ? q->subscription[0] : "-",
            ims_diam_result_name(q->result, false), q->error[0] ? ": " : "", q->error);
}

static int on_ccr(struct msg **msg, void *arg)
{
    struct ocs *o = arg;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ro_request *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->check_balance = -1;   /* a CCR refused before session.c gets no Check-Balance-Result */
    int rc = parse_ccr(*msg, q);
    ims_counter_inc(m.requests[q->type]);
    if (rc == 0 && (!o->db || ocs_session_process(o, q, time(NULL)) != 0)) {
        q->result = IMS_DIAM_UNABLE_TO_COMPLY;
        snprintf(q->error, sizeof(q->error), "the charging database failed");
        q->nunits = 0;
        q->cost_set = false;
        q->check_balance = -1;
    }
    log_outcome(q);
    rc = build_cca(o, msg, q);
    count_result(q->result);
    if (q->result == IMS_DIAM_TOO_BUSY)
        ims_counter_inc(m.busy);
    free(q);
    if (rc == 0)
        ims_histogram_observe(m.latency, ocs_elapsed(&t0));
    return rc;
}

int ocs_ro_expire(struct ocs *o, time_t now)
{
    char sids[64][OCS_ID_MAX];
    int n = 0;
    sqlite3_stmt *st = ims_db_stmt(o->db, "SELECT DISTINCT session_id FROM reservations "
                                          "WHERE open AND updated < ?1 LIMIT 64");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, (int64_t)now - o->cfg.reservation_timeout);
    while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ocs_db_text(st, 0, sids[n++], OCS_ID_MAX);
    sqlite3_reset(st);
    bool debit = o->cfg.stale_action == OCS_STALE_DEBIT;
    for (int i = 0; i < n; i++) {
        if (ims_db_begin(o->db) != 0)
            return -EIO;
        if (ocs_ro_close_session(o->db, sids[i], now, debit) != 0 ||
            ims_db_commit(o->db) != 0) {
            ims_db_rollback(o->db);
            return -EIO;
        }
        struct ims_log_ids ids = { .session_id = sids[i] };
        ims_log(IMS_LOG_WARN, &ids, "ro: no news of the session for %u s "
                "(ocs.reservation_timeout): its reservation is %s", o->cfg.reservation_timeout,
                debit ? "debited" : "released");
        if (m.expired)   /* NULL before ocs_ro_init() (unit tests) */
            ims_counter_inc(m.expired);
    }
    return n;
}

/*
 * ocs.relaxed_ccr_rules: drop the dictionary's CCR rules that Kamailio's ims_charging (5.6)
 * breaks (Auth-Application-Id only inside Vendor-Specific-Application-Id, Origin-Host and
 * Origin-Realm twice), so that freeDiameter hands such CCRs to the OCS instead of refusing
 * them with DIAMETER_MISSING_AVP. The OCS needs none of the three.
 */
static int relax_ccr_rules(void)
{
    static const enum ims_avp avps[] = { IMS_AVP_AUTH_APPLICATION_ID, IMS_AVP_ORIGIN_HOST,
                                         IMS_AVP_ORIGIN_REALM };
    for (size_t i = 0; i < sizeof(avps) / sizeof(avps[0]); i++) {
        struct dict_rule_request req = { ims_dict_cmd(IMS_CMD_CCR), ims_dict_avp(avps[i]) };
        struct dict_object *rule = NULL;
        if (fd_dict_search(fd_g_config->cnf_dict, DICT_RULE, RULE_BY_AVP_AND_PARENT, &req,
                           &rule, ENOENT) != 0)
            continue;
        int rc = fd_dict_delete(rule);
        if (rc) {
            ims_err("ro: cannot relax the CCR rule of %s: %s", ims_avp_name(avps[i]),
                    strerror(rc));
            return -rc;
        }
    }
    ims_warn("ro: ocs.relaxed_ccr_rules: CCRs without a top-level Auth-Application-Id or "
             "with a repeated Origin-Host/Origin-Realm are accepted");
    return 0;
}

int ocs_ro_init(struct ocs *o)
{
    register_metrics();
    if (o->cfg.relaxed_ccr_rules && relax_ccr_rules() != 0)
        return -EINVAL;
    return ocs_serve(o, IMS_CMD_CCR, on_ccr);
}
