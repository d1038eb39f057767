/*
 * fuzz_db.h - an in-memory database that every input of a harness starts from, and the
 * lab's seed documents
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_DB_H
#define IMS_FUZZ_DB_H

#include <sqlite3.h>

#include "db.h"
#include "fuzz.h"

static sqlite3 *fuzz_pristine;
static int fuzz_db_changes;   /* sqlite3_total_changes() when the content was restored */

static void fuzz_db_copy(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    FUZZ_ASSERT(b != NULL, "backup: %s", sqlite3_errmsg(to));
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    FUZZ_ASSERT(rc == SQLITE_DONE, "database copy: %s (a statement left running?)",
                sqlite3_errstr(rc));
}

/* keep the content of @db as the start of every input */
static inline void fuzz_db_snapshot(struct ims_db *db)
{
    if (sqlite3_open(":memory:", &fuzz_pristine) != SQLITE_OK)
        abort();
    fuzz_db_copy(fuzz_pristine, ims_db_handle(db));
    fuzz_db_changes = sqlite3_total_changes(ims_db_handle(db));
}

/* back to the snapshot, unless nothing was written since */
static inline void fuzz_db_restore(struct ims_db *db)
{
    if (sqlite3_total_changes(ims_db_handle(db)) == fuzz_db_changes)
        return;
    fuzz_db_copy(ims_db_handle(db), fuzz_pristine);
    fuzz_db_changes = sqlite3_total_changes(ims_db_handle(db));
}

/* The body of a file of the repository (the lab's seed documents) */
static __attribute__((unused)) char *fuzz_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: cannot open %s (run from the top of the repository)\n", path);
        abort();
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

#endif
