/*
 * db.c - the OCS database: schema migrations, the one connection's lock
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"

#include <pthread.h>
#include <stdio.h>

const char *const ocs_db_migrations[] = {
    /* 1: accounts, rating, reservations, events, CDRs */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  postpaid INTEGER NOT NULL DEFAULT 0,"
    "  balance INTEGER NOT NULL DEFAULT 0,"
    "  reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  CHECK (postpaid OR balance >= reserved));"
    "CREATE TABLE account_ids ("
    "  identity TEXT PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE);"
    "CREATE INDEX account_ids_account ON account_ids(account_id);"
    "CREATE TABLE rates ("
    "  id INTEGER PRIMARY KEY,"
    "  service TEXT NOT NULL,"
    "  prefix TEXT NOT NULL DEFAULT '',"
    "  unit INTEGER NOT NULL CHECK (unit IN (0, 1)),"
    "  price INTEGER NOT NULL CHECK (price >= 0),"
    "  description TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (service, prefix));"
    /* one row per Ro session and credit unit (rating group, -1 outside MSCC) */
    "CREATE TABLE reservations ("
    "  session_id TEXT NOT NULL,"
    "  unit_key INTEGER NOT NULL,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  service TEXT NOT NULL,"
    "  destination TEXT NOT NULL,"
    "  rate_id INTEGER NOT NULL,"
    "  unit INTEGER NOT NULL,"
    "  price INTEGER NOT NULL,"
    "  granted INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL CHECK (amount >= 0),"
    "  used_total INTEGER NOT NULL DEFAULT 0,"
    "  charged_total INTEGER NOT NULL DEFAULT 0,"
    "  cc_number INTEGER NOT NULL,"
    "  origin_host TEXT NOT NULL,"
    "  open INTEGER NOT NULL DEFAULT 1,"
    "  final INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, unit_key));"
    "CREATE INDEX reservations_open ON reservations(open, updated);"
    "CREATE TABLE ro_events ("
    "  session_id TEXT PRIMARY KEY,"
    "  account_id INTEGER NOT NULL,"
    "  action INTEGER NOT NULL,"
    "  units INTEGER NOT NULL,"
    "  unit INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  result INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE cdrs ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL,"
    "  node TEXT NOT NULL,"
    "  event INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  partial INTEGER NOT NULL,"
    "  method TEXT NOT NULL,"
    "  role INTEGER NOT NULL,"
    "  node_functionality INTEGER NOT NULL,"
    "  icid TEXT NOT NULL,"
    "  calling TEXT NOT NULL,"
    "  called TEXT NOT NULL,"
    "  orig_ioi TEXT NOT NULL,"
    "  term_ioi TEXT NOT NULL,"
    "  media TEXT NOT NULL,"
    "  cause INTEGER NOT NULL,"
    "  start INTEGER NOT NULL,"
    "  stop INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  duration INTEGER NOT NULL,"
    "  interims INTEGER NOT NULL,"
    "  last_number INTEGER NOT NULL,"
    "  interval INTEGER NOT NULL,"
    "  export_file TEXT,"
    "  UNIQUE (session_id, node));"
    "CREATE INDEX cdrs_icid ON cdrs(icid);"
    "CREATE INDEX cdrs_start ON cdrs(start);"
    "CREATE INDEX cdrs_open ON cdrs(status, last_seen);"
    "CREATE INDEX cdrs_export ON cdrs(export_file, status);"
    "CREATE TABLE acr_seen ("
    "  session_id TEXT NOT NULL,"
    "  node TEXT NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  seen INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, node, number)) WITHOUT ROWID;",
};
const size_t ocs_db_nmigrations = sizeof(ocs_db_migrations) / sizeof(ocs_db_migrations[0]);

/* One connection, one recursive lock (see ocs.h) */
static pthread_mutex_t g_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void ocs_lock(void)
{
    pthread_mutex_lock(&g_lock);
}

void ocs_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

int ocs_serve(struct ocs *o, enum ims_cmd cmd, ims_diam_handler fn)
{
    return ims_diam_serve_locked(cmd, fn, o, &g_lock);
}

void ocs_db_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}
