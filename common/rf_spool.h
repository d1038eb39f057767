/*
 * rf_spool.h - the durable store of ACRs not yet answered (used by rf_client.c only)
 *
 * One SQLite file, one connection, used by the Rf client's thread alone. A row is one
 * encoded ACR: pending (to send, or sent and awaiting its ACA) or rejected (kept for the
 * operator). Ids are positive; 0 stands for "not spooled" and every call ignores it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_RF_SPOOL_H
#define IMS_RF_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct ims_rf_spool;

struct ims_rf_spool_row {
    int64_t id;
    uint8_t *bytes;              /* malloc'd, the caller frees */
    size_t len;
};

/* Open (creating) the spool; rows marked in flight by a previous run become due. */
int ims_rf_spool_open(struct ims_rf_spool **out, const char *path);
void ims_rf_spool_close(struct ims_rf_spool *s);

/* Add a record (due now, in flight). -ENOSPC when @max pending rows are there already. */
int ims_rf_spool_add(struct ims_rf_spool *s, const char *session_id, int type, uint32_t number,
                     const uint8_t *bytes, size_t len, unsigned max, int64_t *id);
/* One transaction around several calls (the client thread's batch): one write to disk. */
int ims_rf_spool_begin(struct ims_rf_spool *s);
int ims_rf_spool_commit(struct ims_rf_spool *s);
void ims_rf_spool_sending(struct ims_rf_spool *s, int64_t id);    /* in flight */
void ims_rf_spool_done(struct ims_rf_spool *s, int64_t id);       /* answered: removed */
void ims_rf_spool_reject(struct ims_rf_spool *s, int64_t id, uint32_t code);
/* Not delivered: one more attempt, due again at @next_ms. */
void ims_rf_spool_retry(struct ims_rf_spool *s, int64_t id, uint32_t code, int64_t next_ms);
unsigned ims_rf_spool_attempts(struct ims_rf_spool *s, int64_t id);
/* Every pending row waiting for a later attempt is due at @now_ms (a CDF came back). */
void ims_rf_spool_due_all(struct ims_rf_spool *s, int64_t now_ms);
/* Pending rows due at @now_ms and not in flight, oldest first: their count (<= max). */
int ims_rf_spool_due(struct ims_rf_spool *s, int64_t now_ms, struct ims_rf_spool_row *out,
                     int max);
long ims_rf_spool_count(struct ims_rf_spool *s);           /* pending rows (kept counted) */
long ims_rf_spool_rejected(struct ims_rf_spool *s);        /* rejected rows */
int64_t ims_rf_spool_now_ms(void);

#endif
