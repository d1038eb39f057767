/*
 * ro_client.c - CCR build, CCA parse, Tx and Credit-Control-Failure-Handling
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ro_client.h"
#include "diam.h"
#include "diam_dest.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define STR_MAX 256

enum { CC_INITIAL = 1, CC_UPDATE = 2, CC_TERMINATION = 3, CC_EVENT = 4 };

struct ims_ro_session {
    char realm[STR_MAX], context[64];
    struct ims_dest_list ocs;    /* conf.dest_host: the OCSs in order of preference */
    char server[STR_MAX];        /* the OCS that holds the session (answered it), or "" */
    bool failover;               /* it said CC-Session-Failover FAILOVER_SUPPORTED */
    struct ims_ro_conf conf;
    char session_id[STR_MAX];
    uint32_t next_number;
    enum ims_ro_ccfh ccfh;
    bool pending;                /* a request awaits its answer */
    bool freed;                  /* free once it is answered */
    bool in_callback;            /* its answer's callback runs: freeing waits for its end */
    bool one_shot;               /* an event's own session: freed after its answer */
};

struct ro_call {
    struct ims_ro_session *s;
    ims_ro_answer_fn fn;
    void *arg;
    uint8_t *bytes;              /* the request, for its one retry */
    size_t len;
    bool retried;
    char to[STR_MAX];            /* the OCS it was sent to ("": by realm) */
};

/* ---- the pure parts ---- */

static bool delivery_failure(int error, uint32_t code)
{
    return error != 0 || code == 0 || code == IMS_DIAM_UNABLE_TO_DELIVER ||
           code == IMS_DIAM_TOO_BUSY;
}

enum ims_ro_decision ims_ro_decide(int error, uint32_t code, enum ims_ro_ccfh ccfh,
                                   bool retried, bool *retry)
{
    *retry = false;
    if (!delivery_failure(error, code))
        return code >= 2000 && code < 3000 ? IMS_RO_GRANTED : IMS_RO_DENIED;
    if (ccfh != IMS_RO_CCFH_TERMINATE && !retried) {
        *retry = true;
        return IMS_RO_TERMINATE;
    }
    return ccfh == IMS_RO_CCFH_CONTINUE ? IMS_RO_CONTINUE : IMS_RO_TERMINATE;
}

static const char *reason_of(uint32_t code)
{
    static const struct {
        uint32_t code;
        const char *text;
    } reasons[] = {
        { 2001, "credit granted" },
        { 4010, "end user service denied" },
        { 4011, "credit control not applicable" },
        { 4012, "credit limit reached" },
        { 5002, "unknown charging session" },
        { 5003, "charging not authorized" },
        { 5030, "user unknown to the charging system" },
        { 5031, "rating failed" },
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return code >= 2000 && code < 3000 ? "credit granted" : "charging refused";
}

static void read_grant(void *parent, struct ims_ro_result *r)
{
    struct avp *gsu = ims_avp_find(parent, IMS_AVP_GRANTED_SERVICE_UNIT);
    if (gsu) {
        ims_avp_get_u32(gsu, IMS_AVP_CC_TIME, &r->granted_time);
        ims_avp_get_u64(gsu, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS, &r->granted_units);
    }
    ims_avp_get_u32(parent, IMS_AVP_VALIDITY_TIME, &r->validity_time);
    struct avp *fui = ims_avp_find(parent, IMS_AVP_FINAL_UNIT_INDICATION);
    if (fui) {
        int32_t a = 0;
        r->final_unit = true;
        ims_avp_get_i32(fui, IMS_AVP_FINAL_UNIT_ACTION, &a);
        r->final_unit_action = a;
    }
}

void ims_ro_parse_cca(struct msg *cca, struct ims_ro_result *r)
{
    int32_t v;
    r->result_code = ims_diam_result_code(cca, NULL);
    if (ims_avp_get_i32(cca, IMS_AVP_CC_FAILURE_HANDLING, &v) == 0 && v >= 0 && v <= 2) {
        r->has_ccfh = true;
        r->ccfh = (enum ims_ro_ccfh)v;
    }
    r->failover_supported = ims_avp_get_i32(cca, IMS_AVP_CC_SESSION_FAILOVER, &v) == 0 &&
                            v == 1;   /* FAILOVER_SUPPORTED (RFC 4006 8.4) */
    read_grant(cca, r);
    struct avp *mscc = ims_avp_find(cca, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL);
    uint32_t code;
    if (mscc) {
        read_grant(mscc, r);
        if (ims_avp_get_u32(mscc, IMS_AVP_RESULT_CODE, &code) == 0 &&
            r->result_code >= 2000 && r->result_code < 3000)
            r->result_code = code;   /* a refused unit refuses the (single-unit) session */
    }
    struct avp *ci = ims_avp_find(cca, IMS_AVP_COST_INFORMATION);
    struct avp *uv = ci ? ims_avp_find(ci, IMS_AVP_UNIT_VALUE) : NULL;
    if (uv && ims_avp_get_i64(uv, IMS_AVP_VALUE_DIGITS, &r->cost) == 0) {
        r->has_cost = true;
        if (ims_avp_get_i32(uv, IMS_AVP_EXPONENT, &v) == 0)
            r->cost_exponent = v;
    }
    bool ok = r->result_code >= 2000 && r->result_code < 3000;
    r->decision = ok ? IMS_RO_GRANTED : IMS_RO_DENIED;
    r->reason = reason_of(r->result_code);
}

/* ---- building ---- */

static int add_units(void *parent, enum ims_avp group, uint32_t time, uint64_t units)
{
    struct avp *g = ims_avp_add_group(parent, group);
    if (!g)
        return -ENOMEM;
    if (time && ims_avp_add_u32(g, IMS_AVP_CC_TIME, time))
        return -ENOMEM;
    if (units && ims_avp_add_u64(g, IMS_AVP_CC_SERVICE_SPECIFIC_UNITS, units))
        return -ENOMEM;
    return 0;
}

static int add_mscc(struct msg *m, int type, const struct ims_ro_request *q)
{
    struct avp *mscc = ims_avp_add_group(m, IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL);
    if (!mscc)
        return -ENOMEM;
    if (type != CC_TERMINATION &&
        add_units(mscc, IMS_AVP_REQUESTED_SERVICE_UNIT, q->requested_time, q->requested_units))
        return -ENOMEM;
    if ((type == CC_UPDATE || type == CC_TERMINATION) &&
        add_units(mscc, IMS_AVP_USED_SERVICE_UNIT, q->used_time, q->used_units))
        return -ENOMEM;
    if (q->rating_group && ims_avp_add_u32(mscc, IMS_AVP_RATING_GROUP, q->rating_group))
        return -ENOMEM;
    return 0;
}

static int add_subscription(struct msg *m, const struct ims_ro_request *q)
{
    if (!q->subscription || !*q->subscription)
        return 0;
    struct avp *sub = ims_avp_add_group(m, IMS_AVP_SUBSCRIPTION_ID);
    if (!sub || ims_avp_add_i32(sub, IMS_AVP_SUBSCRIPTION_ID_TYPE, q->subscription_type) ||
        ims_avp_add_str(sub, IMS_AVP_SUBSCRIPTION_ID_DATA, q->subscription))
        return -ENOMEM;
    return 0;
}

static struct msg *build_ccr(struct ims_ro_session *s, int type, const struct ims_ro_request *q,
                             const char *to)
{
    struct msg *m = ims_diam_request_in_session(IMS_CMD_CCR, s->conf.dest_realm, to,
                                                s->session_id);
    if (!m)
        return NULL;
    int rc = ims_avp_add_u32(m, IMS_AVP_AUTH_APPLICATION_ID, IMS_APP_ID_RO);
    if (rc == 0)
        rc = ims_avp_add_str(m, IMS_AVP_SERVICE_CONTEXT_ID, s->context);
    if (rc == 0)
        rc = ims_avp_add_i32(m, IMS_AVP_CC_REQUEST_TYPE, type);
    if (rc == 0)
        rc = ims_avp_add_u32(m, IMS_AVP_CC_REQUEST_NUMBER, s->next_number);
    if (rc == 0)
        rc = add_subscription(m, q);
    if (rc == 0 && type == CC_TERMINATION)
        rc = ims_avp_add_i32(m, IMS_AVP_TERMINATION_CAUSE,
                             q->termination_cause ? q->termination_cause : 1);
    if (rc == 0 && type == CC_EVENT)
        rc = ims_avp_add_i32(m, IMS_AVP_REQUESTED_ACTION, q->requested_action);
    if (rc == 0)
        rc = ims_avp_add_i32(m, IMS_AVP_MULTIPLE_SERVICES_INDICATOR, 1);
    if (rc == 0)
        rc = add_mscc(m, type, q);
    if (rc == 0)
        rc = ims_rf_add_ims_information(m, &q->info, s->conf.node_functionality);
    if (rc) {
        fd_msg_free(m);
        return NULL;
    }
    if (!s->session_id[0])
        ims_diam_session_id(m, s->session_id, sizeof(s->session_id));
    return m;
}

/* ---- where a CCR goes (RFC 4006 5.7) ---- */

/* The OCS that holds the session; before its first answer, the first OCS that is open. */
static const char *target(const struct ims_ro_session *s)
{
    if (s->server[0])
        return s->server;
    if (!s->ocs.n)
        return NULL;
    const char *open = ims_dest_pick(&s->ocs, NULL);
    return open ? open : s->ocs.host[0];
}

/* Where the one retry of a CCR that got no usable answer goes: another OCS that is open, as
 * long as no OCS holds the session yet (INITIAL, EVENT) or the one that does said it
 * supports failover; otherwise NULL (the same OCS again). */
static const char *alternative(const struct ro_call *call)
{
    const struct ims_ro_session *s = call->s;
    if (s->ocs.n < 2 || (s->server[0] && !s->failover))
        return NULL;
    return ims_dest_pick(&s->ocs, call->to[0] ? call->to : NULL);
}

/* A usable answer came from an OCS: the session's later requests go to it. */
static void bind_server(struct ims_ro_session *s, struct msg *cca, const struct ims_ro_result *r)
{
    char origin[STR_MAX];
    if (ims_avp_get_str(cca, IMS_AVP_ORIGIN_HOST, origin, sizeof(origin)) != 0 ||
        (s->ocs.n && !ims_dest_has(&s->ocs, origin)))
        return;   /* only configured OCSs are aimed at (a relay's server is not a peer) */
    if (strcasecmp(origin, s->server) != 0) {
        if (s->server[0]) {
            struct ims_log_ids ids = { .session_id = s->session_id };
            ims_log(IMS_LOG_INFO, &ids, "ro: the session moved from OCS %s to %s", s->server,
                    origin);
        }
        snprintf(s->server, sizeof(s->server), "%s", origin);
    }
    s->failover = r->failover_supported;
}

/* ---- sending and answers ---- */

static void on_cca(void *arg, const struct ims_diam_result *res);

static int send_call(struct ro_call *call, struct msg **m)
{
    return ims_diam_send(m, call->s->conf.tx_ms, on_cca, call);
}

static void finish(struct ro_call *call, const struct ims_ro_result *r)
{
    struct ims_ro_session *s = call->s;
    s->pending = false;
    if (r->has_ccfh)
        s->ccfh = r->ccfh;
    if (!s->freed) {
        s->in_callback = true;
        call->fn(call->arg, r);
        s->in_callback = false;
    }
    if ((s->freed && !s->pending) || s->one_shot)
        free(s);
    free(call->bytes);
    free(call);
}

static void on_cca(void *arg, const struct ims_diam_result *res)
{
    struct ro_call *call = arg;
    struct ims_ro_result r;
    bool retry;
    memset(&r, 0, sizeof(r));
    r.error = res->error;
    if (res->answer)
        ims_ro_parse_cca(res->answer, &r);
    else if (res->throttled)
        r.result_code = res->code;   /* not sent (RFC 7683): as if answered TOO_BUSY */
    if (res->answer && !delivery_failure(res->error, r.result_code))
        bind_server(call->s, res->answer, &r);
    enum ims_ro_decision d = ims_ro_decide(res->error, r.result_code, call->s->ccfh,
                                           call->retried, &retry);
    if (retry && !call->s->freed) {
        struct msg *m = ims_diam_msg_decode(call->bytes, call->len, true);
        const char *alt = alternative(call);
        call->retried = true;
        if (m && alt && ims_dest_set(m, alt) == 0) {
            struct ims_log_ids ids = { .session_id = call->s->session_id };
            ims_log(IMS_LOG_WARN, &ids, "ro: no usable answer from OCS %s: the CCR goes again "
                    "to %s (failover, RFC 4006 5.7)", call->to[0] ? call->to : "?", alt);
            snprintf(call->to, sizeof(call->to), "%s", alt);
        }
        if (m && send_call(call, &m) == 0)
            return;
        d = call->s->ccfh == IMS_RO_CCFH_CONTINUE ? IMS_RO_CONTINUE : IMS_RO_TERMINATE;
    }
    r.decision = d;
    if (d == IMS_RO_CONTINUE || d == IMS_RO_TERMINATE) {
        r.reason = "the charging system did not answer";
        struct ims_log_ids ids = { .session_id = call->s->session_id };
        ims_log(IMS_LOG_WARN, &ids, "ro: no usable answer from the OCS (%s%s): "
                "Credit-Control-Failure-Handling says %s",
                res->error ? strerror(-res->error) : ims_diam_result_name(r.result_code, false),
                res->throttled ? ", not sent: its overload report (RFC 7683) asks for fewer"
                               : "",
                d == IMS_RO_CONTINUE ? "CONTINUE" : "TERMINATE");
    }
    finish(call, &r);
}

static int request(struct ims_ro_session *s, int type, const struct ims_ro_request *q,
                   ims_ro_answer_fn fn, void *arg)
{
    if (s->pending)
        return -EBUSY;
    struct ro_call *call = calloc(1, sizeof(*call));
    const char *to = target(s);
    struct msg *m = call ? build_ccr(s, type, q, to) : NULL;
    int rc = m ? ims_diam_msg_encode(m, &call->bytes, &call->len) : -ENOMEM;
    if (rc) {
        if (m)
            fd_msg_free(m);
        free(call);
        return rc;
    }
    *call = (struct ro_call){ s, fn, arg, call->bytes, call->len, false, "" };
    snprintf(call->to, sizeof(call->to), "%s", to ? to : "");
    rc = send_call(call, &m);
    if (rc) {
        free(call->bytes);
        free(call);
        return rc;
    }
    s->next_number++;
    s->pending = true;
    return 0;
}

/* ---- sessions ---- */

struct ims_ro_session *ims_ro_session_new(const struct ims_ro_conf *conf)
{
    struct ims_ro_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->conf = *conf;
    snprintf(s->realm, sizeof(s->realm), "%s", conf->dest_realm ? conf->dest_realm : "");
    snprintf(s->context, sizeof(s->context), "%s",
             conf->service_context ? conf->service_context : "32260@3gpp.org");
    s->conf.dest_realm = s->realm[0] ? s->realm : NULL;
    s->conf.dest_host = NULL;
    if (conf->dest_host && *conf->dest_host && ims_dest_parse(&s->ocs, conf->dest_host) != 0) {
        ims_err("ro: '%s' is not a list of at most %d OCS identities", conf->dest_host,
                IMS_DEST_MAX);
        free(s);
        return NULL;
    }
    s->conf.tx_ms = conf->tx_ms ? conf->tx_ms : 2000;
    s->ccfh = conf->ccfh;
    return s;
}

void ims_ro_session_free(struct ims_ro_session *s)
{
    if (!s)
        return;
    if (s->pending || s->in_callback)
        s->freed = true;
    else
        free(s);
}

const char *ims_ro_session_id(const struct ims_ro_session *s)
{
    return s->session_id;
}

int ims_ro_initial(struct ims_ro_session *s, const struct ims_ro_request *q,
                   ims_ro_answer_fn fn, void *arg)
{
    return request(s, CC_INITIAL, q, fn, arg);
}

int ims_ro_update(struct ims_ro_session *s, const struct ims_ro_request *q,
                  ims_ro_answer_fn fn, void *arg)
{
    return s->session_id[0] ? request(s, CC_UPDATE, q, fn, arg) : -EINVAL;
}

int ims_ro_terminate(struct ims_ro_session *s, const struct ims_ro_request *q,
                     ims_ro_answer_fn fn, void *arg)
{
    return s->session_id[0] ? request(s, CC_TERMINATION, q, fn, arg) : -EINVAL;
}

int ims_ro_event(const struct ims_ro_conf *conf, const struct ims_ro_request *q,
                 ims_ro_answer_fn fn, void *arg)
{
    struct ims_ro_session *s = ims_ro_session_new(conf);
    if (!s)
        return -ENOMEM;
    s->one_shot = true;
    int rc = request(s, CC_EVENT, q, fn, arg);
    if (rc)
        free(s);
    return rc;
}
