/*
 * sync.c - answers that wait for the disk (hss.db_sync = full)
 *
 * The HSS commits with synchronous = NORMAL: a commit reaches the operating system, so it
 * survives a crash of the process, not a power loss. With hss.db_sync = full an answer
 * whose handler wrote to the database (an SQN reserved for AKA vectors, a registration
 * state, an S-CSCF assignment, Sh data) leaves only once the WAL is synced. The handler
 * gives its answer to this thread and returns; the thread takes every answer queued,
 * syncs once (ims_db_sync_wal) and sends them all: one fdatasync for all the answers of
 * the moment (group commit), and the freeDiameter threads never wait for the disk.
 *
 * When the sync fails the answers leave with DIAMETER_UNABLE_TO_COMPLY instead of
 * success: their change is committed but not known to be on disk.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define SYNC_QUEUE_MAX 16384

struct hss_sync {
    struct hss *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    struct msg **q;               /* answers waiting for the next sync */
    size_t n;
    struct msg **spare;           /* the array the thread works on */
};

static struct {
    struct ims_counter *rounds, *answers, *failures, *inline_syncs;
    struct ims_histogram *seconds;
} m;

static void register_metrics(void)
{
    m.rounds = ims_counter_new("hss_db_syncs_total", "fdatasync rounds of the WAL before "
                               "answers (hss.db_sync = full)", NULL);
    m.answers = ims_counter_new("hss_db_synced_answers_total", "answers that waited for the "
                                "WAL to be synced", NULL);
    m.failures = ims_counter_new("hss_db_sync_failures_total", "syncs that failed: their "
                                 "answers left with DIAMETER_UNABLE_TO_COMPLY", NULL);
    m.inline_syncs = ims_counter_new("hss_db_inline_syncs_total", "answers synced on their "
                                     "own thread (queue full or stopping)", NULL);
    m.seconds = ims_histogram_new("hss_db_sync_seconds", "time of one sync round", NULL,
                                  ims_latency_bounds, ims_latency_nbounds);
}

/* The sync failed: a success answer must not leave as one */
static void unable_to_comply(struct msg *ans)
{
    struct avp *rc = ims_avp_find(ans, IMS_AVP_RESULT_CODE);
    union avp_value v = { .u32 = IMS_DIAM_UNABLE_TO_COMPLY };
    if (rc && fd_msg_avp_setvalue(rc, &v) != 0)
        ims_err("hss: an answer could not be changed to DIAMETER_UNABLE_TO_COMPLY");
}

static void send_all(struct msg **ans, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        if (rc)
            unable_to_comply(ans[i]);
        if (ims_diam_answer_send(&ans[i]) != 0) {
            ims_err("hss: an answer could not be sent after the sync");
            if (ans[i])
                fd_msg_free(ans[i]);
        }
    }
    ims_counter_add(m.answers, n);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One round: sync what is committed now. The caller owns the database's life (it stays
 * open while the thread runs, or the caller holds the HSS lock). */
static int sync_round(struct hss *h)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = h->db ? ims_db_sync_wal(h->db) : -EPIPE;
    ims_counter_inc(m.rounds);
    ims_histogram_observe(m.seconds, since(&t0));
    if (rc) {
        ims_counter_inc(m.failures);
        ims_err("hss: the database could not be synced (%s): the answers waiting for it "
                "say DIAMETER_UNABLE_TO_COMPLY", strerror(-rc));
    }
    return rc;
}

static void *syncer(void *arg)
{
    struct hss_sync *sy = arg;
    pthread_mutex_lock(&sy->mu);
    while (!sy->stop || sy->n) {
        if (!sy->n) {
            pthread_cond_wait(&sy->cv, &sy->mu);
            continue;
        }
        struct msg **batch = sy->q;
        size_t n = sy->n;
        sy->q = sy->spare;
        sy->spare = batch;
        sy->n = 0;
        pthread_mutex_unlock(&sy->mu);
        send_all(batch, n, sync_round(sy->h));
        pthread_mutex_lock(&sy->mu);
    }
    pthread_mutex_unlock(&sy->mu);
    return NULL;
}

void hss_sync_answer(struct hss *h, struct msg **ans)
{
    struct hss_sync *sy = h->sync;
    if (!h->db_full || !*ans || !h->db)
        return;
    if (sy) {
        pthread_mutex_lock(&sy->mu);
        bool queued = sy->running && !sy->stop && sy->n < SYNC_QUEUE_MAX;
        if (queued) {
            sy->q[sy->n++] = *ans;
            *ans = NULL;
            pthread_cond_signal(&sy->cv);
        }
        pthread_mutex_unlock(&sy->mu);
        if (queued)
            return;
    }
    /* no room, or stopping: sync on this thread (the answer leaves when it returns) */
    ims_counter_inc(m.inline_syncs);
    if (sync_round(h) != 0)
        unable_to_comply(*ans);
}

int hss_sync_start(struct hss *h)
{
    register_metrics();
    if (!h->db_full)
        return 0;
    struct hss_sync *sy = calloc(1, sizeof(*sy));
    if (!sy || !(sy->q = calloc(SYNC_QUEUE_MAX, sizeof(*sy->q))) ||
        !(sy->spare = calloc(SYNC_QUEUE_MAX, sizeof(*sy->spare)))) {
        if (sy)
            free(sy->q);
        free(sy);
        return -ENOMEM;
    }
    sy->h = h;
    pthread_mutex_init(&sy->mu, NULL);
    pthread_cond_init(&sy->cv, NULL);
    int rc = pthread_create(&sy->thread, NULL, syncer, sy);
    if (rc) {
        ims_err("hss: cannot start the database sync thread: %s", strerror(rc));
        pthread_mutex_destroy(&sy->mu);
        pthread_cond_destroy(&sy->cv);
        free(sy->q);
        free(sy->spare);
        free(sy);
        return -rc;
    }
    sy->running = true;
    h->sync = sy;
    return 0;
}

void hss_sync_stop(struct hss *h)
{
    struct hss_sync *sy = h->sync;
    if (!sy)
        return;
    pthread_mutex_lock(&sy->mu);
    sy->stop = true;              /* the thread syncs and sends what is queued, then ends */
    pthread_cond_signal(&sy->cv);
    pthread_mutex_unlock(&sy->mu);
    pthread_join(sy->thread, NULL);
    h->sync = NULL;               /* under the HSS lock: handlers see it gone */
    pthread_mutex_destroy(&sy->mu);
    pthread_cond_destroy(&sy->cv);
    free(sy->q);
    free(sy->spare);
    free(sy);
}
