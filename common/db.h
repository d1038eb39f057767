/*
 * db.h - SQLite: open in WAL mode, schema migrations, a prepared-statement cache
 *
 * One struct ims_db is one connection; it is not shared between threads without the
 * caller's lock (the HSS and OCS open one per thread that needs it). Statements are
 * prepared once per connection and reused: ims_db_stmt() returns a reset statement with
 * cleared bindings.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DB_H
#define IMS_DB_H

#include <stddef.h>

#include <sqlite3.h>

struct ims_db;

/*
 * ims_db_open - open (creating) the database at @path and bring its schema up to date.
 * @migrations: SQL scripts; script i moves the schema from version i to i+1 (PRAGMA
 *              user_version). Each runs in its own transaction; a failure rolls it back.
 *              NULL opens without touching the schema (further connections of a process
 *              whose first connection migrated).
 * Returns 0 and *out, or a negative error with the reason logged.
 */
int ims_db_open(struct ims_db **out, const char *path, const char *const *migrations,
                size_t nmigrations);
void ims_db_close(struct ims_db *db);

sqlite3 *ims_db_handle(struct ims_db *db);
int ims_db_version(struct ims_db *db);

/*
 * ims_db_stmt - the cached prepared statement for @sql (prepared on first use).
 * @sql must be a string literal or otherwise outlive the connection.
 * Returns NULL when the SQL does not compile (logged).
 */
sqlite3_stmt *ims_db_stmt(struct ims_db *db, const char *sql);

/*
 * Transactions. The outermost ims_db_begin is BEGIN IMMEDIATE (writers queue on the busy
 * handler, not mid-way); a begin inside an open transaction is a savepoint, so functions
 * that need atomicity compose: an inner rollback undoes only the inner part.
 * ims_db_begin_read opens a deferred transaction (it becomes a write transaction at the
 * first write): one lock for a whole request instead of one per statement.
 */
int ims_db_begin(struct ims_db *db);
int ims_db_begin_read(struct ims_db *db);
int ims_db_commit(struct ims_db *db);
void ims_db_rollback(struct ims_db *db);

/* Run a parameterless statement to completion (DDL, PRAGMA). */
int ims_db_exec(struct ims_db *db, const char *sql);

const char *ims_db_errmsg(struct ims_db *db);

/*
 * ims_db_sync_wal - make every transaction committed on @db before the call durable against
 * a power loss, whatever PRAGMA synchronous says: an fdatasync of the WAL file (of the
 * database file when there is none). With synchronous = NORMAL a commit reaches the
 * operating system (it survives a crash of the process) but not the disk; this is the
 * write barrier synchronous = FULL puts in every commit, taken when an answer needs it.
 *
 * Group commit: safe from any thread without the connection's lock; the threads that
 * call while a sync runs share the next one (one fdatasync for all of them). 0, or a
 * negative errno when a sync that covers the call failed (logged).
 */
int ims_db_sync_wal(struct ims_db *db);

#endif
