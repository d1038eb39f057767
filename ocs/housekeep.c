/*
 * housekeep.c - the sweeps, on a thread of their own (never on the loop or a Diameter
 * thread): stale reservations, Rf sessions without STOP, CDR export and retention per
 * rotation period, and the gauges of /metrics, read from the counters the database keeps
 * (a primary-key lookup each, never a count over a table)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
    pthread_t thread;
    bool started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    time_t last_export;
    struct ims_gauge *open_reservations, *reserved_money, *open_cdrs, *cdrs, *accounts;
    struct ims_gauge *sessions;
    struct ims_counter *closed_by_timeout, *exported, *retired, *forgotten;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

#define FORGET_BATCH 1000        /* Ro history rows deleted per transaction */

void ocs_housekeep_metrics(struct ocs *o)
{
    const struct {
        const char *counter;
        struct ims_gauge *gauge;
    } map[] = {
        { "reservations_open", g.open_reservations }, { "reserved", g.reserved_money },
        { "cdrs_open", g.open_cdrs }, { "cdrs", g.cdrs }, { "accounts", g.accounts },
        { "ro_sessions", g.sessions },
    };
    ocs_lock();
    for (size_t i = 0; o->db && i < sizeof(map) / sizeof(map[0]); i++)
        ims_gauge_set(map[i].gauge, ocs_db_counter(o->db, map[i].counter));
    ocs_unlock();
}

/* The history kept past ocs.history_days goes, FORGET_BATCH rows per transaction. */
static void forget_history(struct ocs *o, time_t now)
{
    int n;
    do {
        ocs_lock();
        n = ocs_ro_forget(o, now, FORGET_BATCH);
        ocs_unlock();
        if (n > 0)
            ims_counter_add(g.forgotten, (uint64_t)n);
    } while (n >= FORGET_BATCH);
    if (n < 0)
        ims_err("ocs: removing the Ro history older than ocs.history_days failed "
                "(database error)");
}

/* Once per cdf.rotation: the export of the whole backlog, then the retention. */
static void rotate(struct ocs *o, time_t now)
{
    int n = ocs_cdr_export(o, now);
    if (n > 0)
        ims_counter_add(g.exported, (uint64_t)n);
    n = ocs_cdr_retire(o, now);
    if (n > 0)
        ims_counter_add(g.retired, (uint64_t)n);
    forget_history(o, now);
}

static void sweep(struct ocs *o, time_t now)
{
    ocs_lock();
    int expired = ocs_ro_expire(o, now);
    int closed = ocs_cdr_expire_overdue(o, now);
    ocs_unlock();
    if (expired < 0 || closed < 0)
        ims_err("ocs: housekeeping sweep failed (database error)");
    if (closed > 0)
        ims_counter_add(g.closed_by_timeout, (uint64_t)closed);
    if (now - g.last_export >= (time_t)o->cfg.rotation) {
        g.last_export = now;
        rotate(o, now);
    }
    ocs_housekeep_metrics(o);
}

static void *run(void *arg)
{
    struct ocs *o = arg;
    pthread_mutex_lock(&g.mu);
    while (!g.stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += o->cfg.sweep_interval;
        pthread_cond_timedwait(&g.cv, &g.mu, &deadline);
        if (g.stop)
            break;
        pthread_mutex_unlock(&g.mu);
        sweep(o, time(NULL));
        pthread_mutex_lock(&g.mu);
    }
    pthread_mutex_unlock(&g.mu);
    return NULL;
}

int ocs_housekeep_start(struct ocs *o)
{
    g.open_reservations = ims_gauge_new("ocs_reservations_open",
                                        "credit units with money reserved or open", NULL);
    g.reserved_money = ims_gauge_new("ocs_reserved_amount",
                                     "money reserved on all accounts (minor units)", NULL);
    g.open_cdrs = ims_gauge_new("ocs_cdrs_open", "session CDRs awaiting STOP", NULL);
    g.cdrs = ims_gauge_new("ocs_cdrs", "CDRs in the database", NULL);
    g.accounts = ims_gauge_new("ocs_accounts", "accounts in the database", NULL);
    g.sessions = ims_gauge_new("ocs_ro_sessions_open", "credit-control sessions open "
                               "(at most ocs.max_sessions)", NULL);
    g.closed_by_timeout = ims_counter_new("ocs_cdrs_closed_by_timeout_total",
                                          "session CDRs closed as incomplete after "
                                          "cdf.missed_interims silent intervals", NULL);
    g.exported = ims_counter_new("ocs_cdrs_exported_total",
                                 "CDRs written to the export files", NULL);
    g.retired = ims_counter_new("ocs_cdrs_retired_total", "exported CDRs purged or archived "
                                "after cdf.retention_days", NULL);
    g.forgotten = ims_counter_new("ocs_ro_history_removed_total", "closed reservations and "
                                  "charged events removed after ocs.history_days", NULL);
    g.last_export = time(NULL);
    ocs_housekeep_metrics(o);
    g.stop = false;
    int rc = pthread_create(&g.thread, NULL, run, o);
    if (rc) {
        ims_err("ocs: cannot start the housekeeping thread: %s", strerror(rc));
        return -rc;
    }
    g.started = true;
    return 0;
}

void ocs_housekeep_stop(void)
{
    if (!g.started)
        return;
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_signal(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(g.thread, NULL);
    g.started = false;
}
