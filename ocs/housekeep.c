/*
 * housekeep.c - the sweeps, on a thread of their own (never on the loop or a Diameter
 * thread): stale reservations, Rf sessions without STOP, CDR export per rotation period,
 * and the gauges of /metrics read from the database
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
    struct ims_counter *closed_by_timeout, *exported;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int64_t count(struct ims_db *db, const char *sql)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    int64_t n = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return n;
}

void ocs_housekeep_metrics(struct ocs *o)
{
    ocs_lock();
    ims_gauge_set(g.open_reservations,
                  count(o->db, "SELECT COUNT(*) FROM reservations WHERE open"));
    ims_gauge_set(g.reserved_money, count(o->db, "SELECT TOTAL(reserved) FROM accounts"));
    ims_gauge_set(g.open_cdrs, count(o->db, "SELECT COUNT(*) FROM cdrs WHERE status = 0"));
    ims_gauge_set(g.cdrs, count(o->db, "SELECT COUNT(*) FROM cdrs"));
    ims_gauge_set(g.accounts, count(o->db, "SELECT COUNT(*) FROM accounts"));
    ocs_unlock();
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
        int n = ocs_cdr_export(o, now);
        if (n > 0)
            ims_counter_add(g.exported, (uint64_t)n);
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
    g.closed_by_timeout = ims_counter_new("ocs_cdrs_closed_by_timeout_total",
                                          "session CDRs closed as incomplete after "
                                          "cdf.missed_interims silent intervals", NULL);
    g.exported = ims_counter_new("ocs_cdrs_exported_total",
                                 "CDRs written to the export files", NULL);
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
