/*
 * rf.c - the Charging Data Function on Rf (TS 32.299, RFC 6733 accounting): ACR in, ACA out
 *
 * Each ACR is folded into its CDR and committed to the database before the ACA leaves, so
 * an answered record is never lost. A record seen before (same Session-Id, Origin-Host and
 * Accounting-Record-Number: a client's retransmission) is answered DIAMETER_SUCCESS again
 * and counted once.
 *
 * Group commit: the freeDiameter threads parse the ACRs and queue them; one writer thread
 * folds all that are queued (up to CDF_BATCH) into their CDRs in one transaction, each
 * record in a savepoint of its own, commits once (one fsync with synchronous = FULL) and
 * only then answers them. A full queue, or a CDF shutting down, answers DIAMETER_TOO_BUSY:
 * the client keeps the record and sends it again.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "deadline.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define CDF_BATCH 256
#define CDF_QUEUE_MAX 8192
#define CDF_LINGER_MS 5          /* a batch waits this long after its first ACR for more */

static const char *const type_names[] = { "unknown", "event", "start", "interim", "stop" };

struct cdf_job {
    struct cdf_job *next;
    struct msg *req;
    struct ocs_acr acr;
    struct timespec t0;
    int rc;                      /* of ocs_cdr_record() */
    bool dup;
};

/* The writer's queue: filled by the freeDiameter threads, emptied by the writer */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cdf_job *head, *tail;
    size_t n;
    struct timespec first_at;    /* when the head was queued (CLOCK_REALTIME) */
    bool running, stop;
    pthread_t thread;
} q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static struct {
    struct ims_counter *records[5];
    struct ims_counter *duplicates, *rejected, *failed, *busy, *commits;
    struct ims_histogram *latency;
} m;

static void register_metrics(void)
{
    char labels[32];
    for (int i = 0; i < 5; i++) {
        snprintf(labels, sizeof(labels), "type=\"%s\"", type_names[i]);
        m.records[i] = ims_counter_new("ocs_rf_records_total",
                                       "Accounting-Requests received, by record type", labels);
    }
    m.commits = ims_counter_new("ocs_rf_commits_total", "Transactions (each one fsync) that "
                                "stored a batch of ACRs in their CDRs", NULL);
    m.duplicates = ims_counter_new("ocs_rf_duplicates_total",
                                   "ACRs received again (same session, node and number)", NULL);
    m.rejected = ims_counter_new("ocs_rf_rejected_total",
                                 "ACRs refused as malformed (missing or invalid AVPs)", NULL);
    m.failed = ims_counter_new("ocs_rf_failed_total",
                               "ACRs not stored (database error): UNABLE_TO_COMPLY", NULL);
    m.busy = ims_counter_new("ocs_rf_busy_total",
                             "ACRs answered TOO_BUSY (queue full or shutting down)", NULL);
    m.latency = ims_histogram_new("ocs_rf_handling_seconds",
                                  "time from ACR to ACA, CDR commit included", NULL,
                                  ims_latency_bounds, ims_latency_nbounds);
}

static void read_media(struct avp *ims, struct ocs_acr *a)
{
    size_t o = 0;
    for (struct avp *c = ims_avp_find(ims, IMS_AVP_SDP_MEDIA_COMPONENT); c;
         c = ims_avp_next(c, IMS_AVP_SDP_MEDIA_COMPONENT)) {
        char name[128];
        if (ims_avp_get_str(c, IMS_AVP_SDP_MEDIA_NAME, name, sizeof(name)) != 0 || !name[0])
            continue;
        o += (size_t)snprintf(a->media + o, sizeof(a->media) - o, "%s%s", o ? ", " : "", name);
        if (o >= sizeof(a->media))
            break;
    }
}

static void read_ims_information(struct msg *msg, struct ocs_acr *a)
{
    struct avp *si = ims_avp_find(msg, IMS_AVP_SERVICE_INFORMATION);
    struct avp *ims = si ? ims_avp_find(si, IMS_AVP_IMS_INFORMATION) : NULL;
    int32_t v;
    if (!ims)
        return;
    struct avp *et = ims_avp_find(ims, IMS_AVP_EVENT_TYPE);
    if (et) {
        ims_avp_get_str(et, IMS_AVP_SIP_METHOD, a->method, sizeof(a->method));
        ims_avp_get_str(et, IMS_AVP_EVENT, a->event, sizeof(a->event));
    }
    if (ims_avp_get_i32(ims, IMS_AVP_ROLE_OF_NODE, &v) == 0)
        a->role = v;
    if (ims_avp_get_i32(ims, IMS_AVP_NODE_FUNCTIONALITY, &v) == 0)
        a->node_functionality = v;
    if (ims_avp_get_i32(ims, IMS_AVP_CAUSE_CODE, &v) == 0)
        a->cause = v;
    ims_avp_get_str(ims, IMS_AVP_USER_SESSION_ID, a->user_session, sizeof(a->user_session));
    ims_avp_get_str(ims, IMS_AVP_CALLING_PARTY_ADDRESS, a->calling, sizeof(a->calling));
    ims_avp_get_str(ims, IMS_AVP_CALLED_PARTY_ADDRESS, a->called, sizeof(a->called));
    ims_avp_get_str(ims, IMS_AVP_IMS_CHARGING_IDENTIFIER, a->icid, sizeof(a->icid));
    struct avp *ts = ims_avp_find(ims, IMS_AVP_TIME_STAMPS);
    if (ts) {
        ims_avp_get_time(ts, IMS_AVP_SIP_REQUEST_TIMESTAMP, &a->request_ts);
        ims_avp_get_time(ts, IMS_AVP_SIP_RESPONSE_TIMESTAMP, &a->response_ts);
    }
    struct avp *ioi = ims_avp_find(ims, IMS_AVP_INTER_OPERATOR_IDENTIFIER);
    if (ioi) {
        ims_avp_get_str(ioi, IMS_AVP_ORIGINATING_IOI, a->orig_ioi, sizeof(a->orig_ioi));
        ims_avp_get_str(ioi, IMS_AVP_TERMINATING_IOI, a->term_ioi, sizeof(a->term_ioi));
    }
    read_media(ims, a);
    struct avp *tg = ims_avp_find(ims, IMS_AVP_TRUNK_GROUP_ID);
    if (tg) {
        ims_avp_get_str(tg, IMS_AVP_INCOMING_TRUNK_GROUP_ID, a->trunk_in, sizeof(a->trunk_in));
        ims_avp_get_str(tg, IMS_AVP_OUTGOING_TRUNK_GROUP_ID, a->trunk_out, sizeof(a->trunk_out));
    }
}

/* 0, or the Result-Code to answer with @err saying why. */
static uint32_t parse_acr(struct msg *msg, struct ocs_acr *a, char *err, size_t len)
{
    int32_t type;
    a->role = -1;
    a->node_functionality = -1;
    a->cause = INT_MIN;
    ims_diam_session_id(msg, a->session_id, sizeof(a->session_id));
    ims_avp_get_str(msg, IMS_AVP_ORIGIN_HOST, a->node, sizeof(a->node));
    if (!a->session_id[0]) {
        snprintf(err, len, "Session-Id is required");
        return IMS_DIAM_MISSING_AVP;
    }
    if (ims_avp_get_i32(msg, IMS_AVP_ACCOUNTING_RECORD_TYPE, &type) != 0) {
        snprintf(err, len, "Accounting-Record-Type is required");
        return IMS_DIAM_MISSING_AVP;
    }
    if (type < OCS_ACR_EVENT || type > OCS_ACR_STOP) {
        snprintf(err, len, "Accounting-Record-Type: must be 1 to 4");
        return IMS_DIAM_INVALID_AVP_VALUE;
    }
    a->type = type;
    if (ims_avp_get_u32(msg, IMS_AVP_ACCOUNTING_RECORD_NUMBER, &a->number) != 0) {
        snprintf(err, len, "Accounting-Record-Number is required");
        return IMS_DIAM_MISSING_AVP;
    }
    ims_avp_get_u32(msg, IMS_AVP_ACCT_INTERIM_INTERVAL, &a->interim);
    ims_avp_get_time(msg, IMS_AVP_EVENT_TIMESTAMP, &a->event_ts);
    read_ims_information(msg, a);
    return 0;
}

/* The ACA of @a; @type is the Accounting-Record-Type to echo (INT64_MIN: none was read) */
static int build_aca(struct ocs *o, struct msg **msg, const struct ocs_acr *a, int64_t type,
                     uint32_t code, const char *err)
{
    int rc = ims_diam_answer_new(msg, IMS_APP_RF);
    struct msg *ans = *msg;
    if (rc)
        return rc;
    if (ims_avp_add_u32(ans, IMS_AVP_RESULT_CODE, code))
        return -ENOMEM;
    bool echo = type >= INT32_MIN;
    if (echo && (ims_avp_add_i32(ans, IMS_AVP_ACCOUNTING_RECORD_TYPE, (int32_t)type) ||
                 ims_avp_add_u32(ans, IMS_AVP_ACCOUNTING_RECORD_NUMBER, a->number)))
        return -ENOMEM;
    if (ims_avp_add_u32(ans, IMS_AVP_ACCT_APPLICATION_ID, IMS_APP_ID_RF))
        return -ENOMEM;
    if (err && *err && ims_avp_add_str(ans, IMS_AVP_ERROR_MESSAGE, err))
        return -ENOMEM;
    /* tell the client the interim interval the CDF expects */
    if (code == IMS_DIAM_SUCCESS && a->type == OCS_ACR_START && o->cfg.interim_interval &&
        ims_avp_add_u32(ans, IMS_AVP_ACCT_INTERIM_INTERVAL, o->cfg.interim_interval))
        return -ENOMEM;
    return ims_avp_add_time(ans, IMS_AVP_EVENT_TIMESTAMP, time(NULL));
}

static void answer(struct ocs *o, struct msg **req, const struct ocs_acr *a, uint32_t code,
                   const char *err, const struct timespec *t0)
{
    if (build_aca(o, req, a, a->type, code, err) != 0 || ims_diam_answer_send(req) != 0) {
        struct ims_log_ids ids = { .session_id = a->session_id };
        ims_log(IMS_LOG_ERROR, &ids, "cdf: the ACA for ACR #%u from %s could not be sent",
                a->number, a->node);
        if (*req)
            fd_msg_free(*req);
        *req = NULL;
        return;
    }
    ims_histogram_observe(m.latency, ocs_elapsed(t0));
}

/* One batch: every record in its savepoint, one commit, then the answers. */
static void commit_batch(struct ocs *o, struct cdf_job *list)
{
    time_t now = time(NULL);
    ocs_lock();
    int rc = o->db ? ims_db_begin(o->db) : -EIO;
    for (struct cdf_job *j = list; j; j = j->next)
        j->rc = rc == 0 ? ocs_cdr_record(o->db, &j->acr, now, &j->dup) : -EIO;
    if (rc == 0 && ims_db_commit(o->db) != 0) {
        ims_err("cdf: the commit of a batch of CDRs failed: its ACRs are answered "
                "UNABLE_TO_COMPLY");
        for (struct cdf_job *j = list; j; j = j->next)
            j->rc = -EIO;
    } else if (rc == 0) {
        ims_counter_inc(m.commits);
    }
    ocs_unlock();
    for (struct cdf_job *j = list, *next; j; j = next) {
        next = j->next;
        struct ims_log_ids ids = { .session_id = j->acr.session_id,
                                   .icid = j->acr.icid[0] ? j->acr.icid : NULL };
        if (j->rc != 0) {
            ims_counter_inc(m.failed);
            ims_log(IMS_LOG_ERROR, &ids, "cdf: ACR #%u from %s not stored", j->acr.number,
                    j->acr.node);
            answer(o, &j->req, &j->acr, IMS_DIAM_UNABLE_TO_COMPLY, "the CDR could not be stored",
                   &j->t0);
        } else {
            if (j->dup)
                ims_counter_inc(m.duplicates);
            if (ims_log_enabled(IMS_LOG_DEBUG))
                ims_log(IMS_LOG_DEBUG, &ids, "cdf: ACR %s #%u from %s%s",
                        type_names[j->acr.type], j->acr.number, j->acr.node,
                        j->dup ? " (duplicate, ignored)" : "");
            answer(o, &j->req, &j->acr, IMS_DIAM_SUCCESS, NULL, &j->t0);
        }
        free(j);
    }
}

/*
 * The writer: the ACRs queued within CDF_LINGER_MS of the first go in one transaction (one
 * fsync). Woken for each ACR, it committed about four at a time at 1,100 ACRs/s: 290 fsyncs
 * and 8,000 page writes a second, each fsync a VM exit on a virtual disk. An ACA waits at
 * most CDF_LINGER_MS longer.
 */
static void *writer(void *arg)
{
    struct ocs *o = arg;
    pthread_mutex_lock(&q.mu);
    while (!q.stop || q.head) {
        if (!q.head) {
            pthread_cond_wait(&q.cv, &q.mu);
            continue;
        }
        if (!q.stop && q.n < CDF_BATCH) {
            struct timespec now, until = ims_ts_add_ms(q.first_at, CDF_LINGER_MS);
            clock_gettime(CLOCK_REALTIME, &now);
            if (ims_ts_before(&now, &until)) {
                pthread_cond_timedwait(&q.cv, &q.mu, &until);
                continue;
            }
        }
        struct cdf_job *list = q.head, *last = q.head;
        size_t n = 1;
        while (last->next && n < CDF_BATCH) {
            last = last->next;
            n++;
        }
        q.head = last->next;
        if (!q.head)
            q.tail = NULL;
        else
            q.first_at = (struct timespec){ 0, 0 };    /* waited already: no lingering */
        last->next = NULL;
        q.n -= n;
        pthread_mutex_unlock(&q.mu);
        commit_batch(o, list);
        pthread_mutex_lock(&q.mu);
    }
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

/* freeDiameter's dispatch thread (ims_diam_serve_direct): parse, queue for the writer (which
 * answers), or answer at once; never waits for the database */
static int on_acr(struct msg **msg, void *arg)
{
    struct ocs *o = arg;
    char err[128] = "";
    struct cdf_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    uint32_t code = parse_acr(*msg, &j->acr, err, sizeof(err));
    ims_counter_inc(m.records[j->acr.type]);
    struct ims_log_ids ids = { .session_id = j->acr.session_id,
                               .icid = j->acr.icid[0] ? j->acr.icid : NULL };
    /* at most a line every 10 s: a flood of refused ACRs must not turn into a flood of log
     * writes on the threads that dispatch every request */
    static struct ims_log_limit refused_log = IMS_LOG_LIMIT(10), busy_log = IMS_LOG_LIMIT(10);
    if (code) {
        ims_counter_inc(m.rejected);
        ims_log_limited(&refused_log, IMS_LOG_WARN, &ids, "cdf: ACR from %s refused: %s",
                        j->acr.node, err);
    } else {
        pthread_mutex_lock(&q.mu);
        bool running = q.running;
        bool queued = running && q.n < CDF_QUEUE_MAX;
        if (queued) {
            j->req = *msg;
            *msg = NULL;
            if (q.tail)
                q.tail->next = j;
            else
                q.head = j;
            q.tail = j;
            if (q.n++ == 0)
                clock_gettime(CLOCK_REALTIME, &q.first_at);
            /* the writer wakes for the first ACR of a batch (and waits for more) or a full
             * batch */
            if (q.n == 1 || q.n == CDF_BATCH)
                pthread_cond_signal(&q.cv);
        }
        pthread_mutex_unlock(&q.mu);
        if (queued)
            return 0;
        ims_counter_inc(m.busy);
        ims_log_limited(&busy_log, IMS_LOG_WARN, &ids, "cdf: ACR #%u from %s not taken: %s",
                        j->acr.number, j->acr.node,
                        running ? "the queue is full" : "shutting down");
        code = IMS_DIAM_TOO_BUSY;
        snprintf(err, sizeof(err), "the CDF is %s", running ? "busy" : "shutting down");
    }
    /* RFC 6733 9.7.2: an ACA carries the Accounting-Record-Type and -Number of its ACR, also
     * when it refuses a type that is not 1 to 4 (found by tests/fuzz/ocs_diam) */
    int64_t type = j->acr.type ? (int64_t)j->acr.type : INT64_MIN;
    int32_t sent;
    if (!j->acr.type && ims_avp_get_i32(*msg, IMS_AVP_ACCOUNTING_RECORD_TYPE, &sent) == 0) {
        type = sent;
        ims_avp_get_u32(*msg, IMS_AVP_ACCOUNTING_RECORD_NUMBER, &j->acr.number);
    }
    int rc = build_aca(o, msg, &j->acr, type, code, err);
    if (rc == 0)
        ims_histogram_observe(m.latency, ocs_elapsed(&j->t0));
    free(j);
    return rc;
}

int ocs_rf_init(struct ocs *o)
{
    register_metrics();
    q.stop = false;
    if (pthread_create(&q.thread, NULL, writer, o) != 0) {
        ims_err("cdf: cannot start the CDR writer thread");
        return -EAGAIN;
    }
    q.running = true;
    /* not under the database lock (the writer takes it), and on the dispatch thread: on_acr
     * only parses and queues, so it runs as the ACR arrives rather than after a second queue */
    return ims_diam_serve_direct(IMS_CMD_ACR, on_acr, o);
}

void ocs_rf_stop(void)
{
    pthread_mutex_lock(&q.mu);
    bool running = q.running;
    q.running = false;
    q.stop = true;
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
    if (running)
        pthread_join(q.thread, NULL);
}
