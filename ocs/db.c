/*
 * db.c - the OCS database: schema migrations, the one connection's lock
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"

#include "log.h"

#include <errno.h>
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
    /*
     * 2: charging integrity and bounds (issue 12). What Ro charged an account (the most a
     * REFUND_ACCOUNT may give back), seeded from the charges on record; counters kept by
     * triggers (and by the Ro code for sessions) so that /metrics never counts a table;
     * the CDRs awaiting export in a small partial index; events by age for the history
     * retention; a CDR deleted takes its duplicate-detection rows with it.
     */
    "ALTER TABLE accounts ADD COLUMN refundable INTEGER NOT NULL DEFAULT 0;"
    "UPDATE accounts SET refundable = MAX(0, MIN(1000000000000000, CAST("
    "  (SELECT TOTAL(charged_total) FROM reservations r WHERE r.account_id = accounts.id) + "
    "  (SELECT TOTAL(CASE action WHEN 0 THEN amount ELSE -amount END) FROM ro_events e "
    "   WHERE e.account_id = accounts.id AND e.result = 2001) AS INTEGER)));"
    "CREATE TABLE counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO counters (name, value) VALUES"
    "  ('cdrs', (SELECT COUNT(*) FROM cdrs)),"
    "  ('cdrs_open', (SELECT COUNT(*) FROM cdrs WHERE status = 0)),"
    "  ('accounts', (SELECT COUNT(*) FROM accounts)),"
    "  ('reserved', (SELECT TOTAL(reserved) FROM accounts)),"
    "  ('reservations_open', (SELECT COUNT(*) FROM reservations WHERE open)),"
    "  ('ro_sessions', (SELECT COUNT(DISTINCT session_id) FROM reservations WHERE open));"
    "CREATE TRIGGER cdrs_added AFTER INSERT ON cdrs BEGIN"
    "  UPDATE counters SET value = value + 1 WHERE name = 'cdrs';"
    "  UPDATE counters SET value = value + 1 WHERE name = 'cdrs_open' AND NEW.status = 0;"
    "END;"
    "CREATE TRIGGER cdrs_status AFTER UPDATE OF status ON cdrs "
    "  WHEN (OLD.status = 0) != (NEW.status = 0) BEGIN"
    "  UPDATE counters SET value = value + (NEW.status = 0) - (OLD.status = 0) "
    "    WHERE name = 'cdrs_open';"
    "END;"
    "CREATE TRIGGER cdrs_removed AFTER DELETE ON cdrs BEGIN"
    "  UPDATE counters SET value = value - 1 WHERE name = 'cdrs';"
    "  UPDATE counters SET value = value - 1 WHERE name = 'cdrs_open' AND OLD.status = 0;"
    "  DELETE FROM acr_seen WHERE session_id = OLD.session_id AND node = OLD.node;"
    "END;"
    "CREATE TRIGGER accounts_added AFTER INSERT ON accounts BEGIN"
    "  UPDATE counters SET value = value + 1 WHERE name = 'accounts';"
    "  UPDATE counters SET value = value + NEW.reserved WHERE name = 'reserved';"
    "END;"
    "CREATE TRIGGER accounts_reserved AFTER UPDATE OF reserved ON accounts "
    "  WHEN OLD.reserved != NEW.reserved BEGIN"
    "  UPDATE counters SET value = value + NEW.reserved - OLD.reserved WHERE name = 'reserved';"
    "END;"
    "CREATE TRIGGER accounts_removed AFTER DELETE ON accounts BEGIN"
    "  UPDATE counters SET value = value - 1 WHERE name = 'accounts';"
    "  UPDATE counters SET value = value - OLD.reserved WHERE name = 'reserved';"
    "END;"
    "CREATE TRIGGER reservations_added AFTER INSERT ON reservations WHEN NEW.open BEGIN"
    "  UPDATE counters SET value = value + 1 WHERE name = 'reservations_open';"
    "END;"
    "CREATE TRIGGER reservations_open AFTER UPDATE OF open ON reservations "
    "  WHEN OLD.open != NEW.open BEGIN"
    "  UPDATE counters SET value = value + NEW.open - OLD.open WHERE name = 'reservations_open';"
    "END;"
    "CREATE TRIGGER reservations_removed AFTER DELETE ON reservations WHEN OLD.open BEGIN"
    "  UPDATE counters SET value = value - 1 WHERE name = 'reservations_open';"
    "END;"
    "DROP INDEX cdrs_export;"
    "CREATE INDEX cdrs_pending ON cdrs(id) WHERE export_file IS NULL AND status != 0;"
    "CREATE INDEX ro_events_created ON ro_events(created);",
    /* 3: the MGCF's Trunk-Group-Id (the ISUP side of a call: "<trunk>/<CIC>"); one
     * element (the parentheses tell clang's -Wstring-concatenation so) */
    ("ALTER TABLE cdrs ADD COLUMN trunk_in TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE cdrs ADD COLUMN trunk_out TEXT NOT NULL DEFAULT '';"),
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

int64_t ocs_db_counter(struct ims_db *db, const char *name)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT value FROM counters WHERE name = ?1");
    int64_t v = -1;
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

int ocs_db_counter_add(struct ims_db *db, const char *name, int64_t delta)
{
    sqlite3_stmt *st = ims_db_stmt(db, "UPDATE counters SET value = value + ?2 "
                                       "WHERE name = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, delta);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE && sqlite3_changes(ims_db_handle(db)) == 1 ? 0 : -EIO;
}

/* An archive made before migration 3 gets the Trunk-Group-Id columns too. 0 or -EIO. */
static int archive_columns(struct ims_db *db)
{
    static const char *const cols[] = { "trunk_in", "trunk_out" };
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        sqlite3_stmt *st;
        bool found = false;
        if (sqlite3_prepare_v2(ims_db_handle(db), "SELECT 1 FROM pragma_table_info('cdrs', "
                               "'archive') WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
            return -EIO;
        sqlite3_bind_text(st, 1, cols[i], -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        char sql[128];
        snprintf(sql, sizeof(sql), "ALTER TABLE archive.cdrs ADD COLUMN %s TEXT NOT NULL "
                 "DEFAULT ''", cols[i]);
        if (!found && ims_db_exec(db, sql) != 0)
            return -EIO;
    }
    return 0;
}

/*
 * The archive holds the CDRs retired with cdf.retention_action = archive: the columns of
 * the cdrs table, with the original id as a plain column (ids may be given again once the
 * live table is emptied) and the file it was exported in.
 */
int ocs_db_attach_archive(struct ims_db *db, const char *path)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(ims_db_handle(db), "ATTACH DATABASE ?1 AS archive", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        ims_err("ocs: cannot open the CDR archive %s: %s", path, ims_db_errmsg(db));
        return -EIO;
    }
    rc = ims_db_exec(db, "PRAGMA archive.journal_mode = WAL;"
                       "PRAGMA archive.synchronous = FULL;"
                       "CREATE TABLE IF NOT EXISTS archive.cdrs ("
                       "  archive_id INTEGER PRIMARY KEY,"
                       "  id INTEGER NOT NULL, session_id TEXT NOT NULL,"
                       "  node TEXT NOT NULL, event INTEGER NOT NULL,"
                       "  status INTEGER NOT NULL, partial INTEGER NOT NULL,"
                       "  method TEXT NOT NULL, role INTEGER NOT NULL,"
                       "  node_functionality INTEGER NOT NULL, icid TEXT NOT NULL,"
                       "  calling TEXT NOT NULL, called TEXT NOT NULL,"
                       "  orig_ioi TEXT NOT NULL, term_ioi TEXT NOT NULL,"
                       "  media TEXT NOT NULL, cause INTEGER NOT NULL,"
                       "  start INTEGER NOT NULL, stop INTEGER NOT NULL,"
                       "  last_seen INTEGER NOT NULL, duration INTEGER NOT NULL,"
                       "  interims INTEGER NOT NULL, last_number INTEGER NOT NULL,"
                       "  interval INTEGER NOT NULL, export_file TEXT,"
                       "  archived INTEGER NOT NULL,"
                       "  trunk_in TEXT NOT NULL DEFAULT '',"
                       "  trunk_out TEXT NOT NULL DEFAULT '',"
                       "  UNIQUE (id, session_id, node, last_seen));"
                       "CREATE INDEX IF NOT EXISTS archive.cdrs_icid ON cdrs(icid);"
                       "CREATE INDEX IF NOT EXISTS archive.cdrs_start ON cdrs(start);");
    return rc ? rc : archive_columns(db);
}
