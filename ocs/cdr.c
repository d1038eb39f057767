/*
 * cdr.c - one CDR per session per node, folded from the node's ACRs; durable in SQLite
 *
 * A session CDR opens at START (its start is the answer time: SIP-Response-Timestamp, else
 * the Event-Timestamp), counts INTERIMs and closes at STOP (stop: the BYE's
 * SIP-Request-Timestamp, else the Event-Timestamp). A record arriving without START still
 * builds the CDR, marked partial. An EVENT record is a closed CDR of its own. The CDRs of
 * one call share its IMS-Charging-Identifier.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "buf.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "open", "closed", "incomplete" };

const char *ocs_cdr_status_name(enum ocs_cdr_status s)
{
    return (unsigned)s < 3 ? status_names[s] : "?";
}

static void keep(char *dst, size_t len, const char *src)
{
    if (src[0])
        snprintf(dst, len, "%s", src);
}

/* The fields every record may carry: the latest non-empty value wins. */
static void apply_common(struct ocs_cdr *c, const struct ocs_acr *a)
{
    keep(c->method, sizeof(c->method), a->method);
    keep(c->icid, sizeof(c->icid), a->icid);
    keep(c->calling, sizeof(c->calling), a->calling);
    keep(c->called, sizeof(c->called), a->called);
    keep(c->orig_ioi, sizeof(c->orig_ioi), a->orig_ioi);
    keep(c->term_ioi, sizeof(c->term_ioi), a->term_ioi);
    keep(c->media, sizeof(c->media), a->media);
    keep(c->trunk_in, sizeof(c->trunk_in), a->trunk_in);
    keep(c->trunk_out, sizeof(c->trunk_out), a->trunk_out);
    if (a->role >= 0)
        c->role = a->role;
    if (a->node_functionality >= 0)
        c->node_functionality = a->node_functionality;
    if (a->cause != INT_MIN)
        c->cause = a->cause;
    if (a->interim)
        c->interval = a->interim;
}

static time_t first_of(time_t a, time_t b, time_t c)
{
    return a ? a : b ? b : c;
}

/* Records may arrive out of order (a client re-sending its spool, several dispatch threads):
 * every record only adds what it knows, and the status follows from what has come. */
void ocs_cdr_apply(struct ocs_cdr *c, const struct ocs_acr *a, time_t now)
{
    if (c->session_id[0] == '\0') {
        snprintf(c->session_id, sizeof(c->session_id), "%s", a->session_id);
        snprintf(c->node, sizeof(c->node), "%s", a->node);
        c->role = -1;
        c->node_functionality = -1;
        c->cause = INT_MIN;
        c->partial = true;       /* until the START is seen */
    }
    apply_common(c, a);
    c->last_seen = now;
    if (a->number > c->last_number)
        c->last_number = a->number;
    switch (a->type) {
    case OCS_ACR_EVENT:
        c->event = true;
        c->partial = false;
        c->start = c->stop = first_of(a->event_ts, a->request_ts, now);
        break;
    case OCS_ACR_START:
        c->start = first_of(a->response_ts, a->event_ts, now);
        c->partial = false;
        break;
    case OCS_ACR_INTERIM:
        c->interims++;
        if (!c->start)
            c->start = first_of(a->response_ts, a->event_ts, now);
        break;
    case OCS_ACR_STOP:
        c->stop = first_of(a->request_ts, a->event_ts, now);
        if (!c->start)
            c->start = c->stop;
        break;
    }
    if (c->event)
        c->status = OCS_CDR_CLOSED;
    else if (c->stop)
        c->status = c->partial ? OCS_CDR_INCOMPLETE : OCS_CDR_CLOSED;
    else
        c->status = OCS_CDR_OPEN;
    if (c->start && c->stop >= c->start)
        c->duration = (int64_t)(c->stop - c->start);
    else if (c->start && c->status == OCS_CDR_OPEN && now >= c->start)
        c->duration = (int64_t)(now - c->start);   /* so far */
}

void ocs_cdr_expire(struct ocs_cdr *c)
{
    c->status = OCS_CDR_INCOMPLETE;
    c->stop = c->last_seen;
    if (!c->start || c->start > c->stop)
        c->start = c->stop;
    c->duration = (int64_t)(c->stop - c->start);
}

bool ocs_cdr_overdue(const struct ocs_cdr *c, time_t now, uint32_t missed, uint32_t dflt)
{
    uint32_t interval = c->interval ? c->interval : dflt;
    if (c->status != OCS_CDR_OPEN || !interval)
        return false;
    return now - c->last_seen > (time_t)((uint64_t)interval * (missed ? missed : 1));
}

/* ---- storage ---- */

#define CDR_COLS OCS_CDR_COLS

void ocs_cdr_from_row(sqlite3_stmt *st, struct ocs_cdr *c)
{
    memset(c, 0, sizeof(*c));
    c->id = sqlite3_column_int64(st, 0);
    ocs_db_text(st, 1, c->session_id, sizeof(c->session_id));
    ocs_db_text(st, 2, c->node, sizeof(c->node));
    c->event = sqlite3_column_int(st, 3) != 0;
    c->status = (enum ocs_cdr_status)sqlite3_column_int(st, 4);
    c->partial = sqlite3_column_int(st, 5) != 0;
    ocs_db_text(st, 6, c->method, sizeof(c->method));
    c->role = sqlite3_column_int(st, 7);
    c->node_functionality = sqlite3_column_int(st, 8);
    ocs_db_text(st, 9, c->icid, sizeof(c->icid));
    ocs_db_text(st, 10, c->calling, sizeof(c->calling));
    ocs_db_text(st, 11, c->called, sizeof(c->called));
    ocs_db_text(st, 12, c->orig_ioi, sizeof(c->orig_ioi));
    ocs_db_text(st, 13, c->term_ioi, sizeof(c->term_ioi));
    ocs_db_text(st, 14, c->media, sizeof(c->media));
    c->cause = sqlite3_column_int(st, 15);
    c->start = (time_t)sqlite3_column_int64(st, 16);
    c->stop = (time_t)sqlite3_column_int64(st, 17);
    c->last_seen = (time_t)sqlite3_column_int64(st, 18);
    c->duration = sqlite3_column_int64(st, 19);
    c->interims = (uint32_t)sqlite3_column_int64(st, 20);
    c->last_number = (uint32_t)sqlite3_column_int64(st, 21);
    c->interval = (uint32_t)sqlite3_column_int64(st, 22);
    ocs_db_text(st, 23, c->trunk_in, sizeof(c->trunk_in));
    ocs_db_text(st, 24, c->trunk_out, sizeof(c->trunk_out));
}

static int load(struct ims_db *db, const char *sid, const char *node, struct ocs_cdr *c)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " CDR_COLS " FROM cdrs WHERE session_id = ?1 "
                                       "AND node = ?2");
    memset(c, 0, sizeof(*c));
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ocs_cdr_from_row(st, c);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int save(struct ims_db *db, const struct ocs_cdr *c)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "INSERT INTO cdrs (session_id, node, event, status, partial, method, role, "
        "node_functionality, icid, calling, called, orig_ioi, term_ioi, media, cause, start, "
        "stop, last_seen, duration, interims, last_number, interval, trunk_in, trunk_out) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22, ?23, ?24) "
        "ON CONFLICT (session_id, node) DO UPDATE SET event = ?3, status = ?4, partial = ?5, "
        "method = ?6, role = ?7, node_functionality = ?8, icid = ?9, calling = ?10, "
        "called = ?11, orig_ioi = ?12, term_ioi = ?13, media = ?14, cause = ?15, start = ?16, "
        "stop = ?17, last_seen = ?18, duration = ?19, interims = ?20, last_number = ?21, "
        "interval = ?22, trunk_in = ?23, trunk_out = ?24, export_file = NULL");
    if (!st)
        return -EIO;
    const char *texts[] = { c->session_id, c->node, NULL, NULL, NULL, c->method, NULL, NULL,
                            c->icid, c->calling, c->called, c->orig_ioi, c->term_ioi, c->media };
    for (int i = 0; i < 14; i++)
        if (texts[i])
            sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    const int64_t ints[] = { c->event, c->status, c->partial, 0, c->role, c->node_functionality,
                             c->cause, (int64_t)c->start, (int64_t)c->stop,
                             (int64_t)c->last_seen, c->duration, c->interims, c->last_number,
                             c->interval };
    const int cols[] = { 3, 4, 5, 0, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22 };
    for (int i = 0; i < 14; i++)
        if (cols[i])
            sqlite3_bind_int64(st, cols[i], ints[i]);
    sqlite3_bind_text(st, 23, c->trunk_in, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 24, c->trunk_out, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ims_err("cdf: cannot store the CDR of %s: %s", c->session_id, ims_db_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* Remember (session, node, number); false when it was there already. */
static int first_time(struct ims_db *db, const struct ocs_acr *a, time_t now, bool *first)
{
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT OR IGNORE INTO acr_seen (session_id, node, "
                                       "number, seen) VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, a->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, a->number);
    sqlite3_bind_int64(st, 4, (int64_t)now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    *first = sqlite3_changes(ims_db_handle(db)) == 1;
    return 0;
}

int ocs_cdr_record(struct ims_db *db, const struct ocs_acr *acr, time_t now, bool *duplicate)
{
    struct ocs_cdr c;
    bool first = false;
    if (ims_db_begin(db) != 0)
        return -EIO;
    int rc = first_time(db, acr, now, &first);
    if (rc == 0 && first) {
        rc = load(db, acr->session_id, acr->node, &c);
        if (rc == -ENOENT)
            rc = 0;
        if (rc == 0) {
            ocs_cdr_apply(&c, acr, now);
            rc = save(db, &c);
        }
    }
    if (rc == 0 && ims_db_commit(db) == 0) {
        *duplicate = !first;
        return 0;
    }
    ims_db_rollback(db);
    return -EIO;
}

int ocs_cdr_get(struct ims_db *db, int64_t id, struct ocs_cdr *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " CDR_COLS " FROM cdrs WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ocs_cdr_from_row(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int ocs_cdr_expire_overdue(struct ocs *o, time_t now)
{
    struct ocs_cdr c[32];
    int n = 0, closed = 0;
    /* the test of ocs_cdr_overdue() in SQL: CDRs not overdue never fill the batch */
    sqlite3_stmt *st = ims_db_stmt(o->db, "SELECT " CDR_COLS " FROM cdrs WHERE status = 0 "
                                          "AND (interval > 0 OR ?2 > 0) AND last_seen + (CASE WHEN interval > 0 THEN "
                                          "interval ELSE ?2 END) * ?3 < ?1 "
                                          "ORDER BY last_seen LIMIT 32");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, (int64_t)now);
    sqlite3_bind_int64(st, 2, o->cfg.interim_interval);
    sqlite3_bind_int64(st, 3, o->cfg.missed_interims ? o->cfg.missed_interims : 1);
    while (n < 32 && sqlite3_step(st) == SQLITE_ROW) {
        ocs_cdr_from_row(st, &c[n]);
        if (ocs_cdr_overdue(&c[n], now, o->cfg.missed_interims, o->cfg.interim_interval))
            n++;
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        ocs_cdr_expire(&c[i]);
        if (save(o->db, &c[i]) != 0)
            return -EIO;
        struct ims_log_ids ids = { .session_id = c[i].session_id, .icid = c[i].icid };
        ims_log(IMS_LOG_WARN, &ids, "cdf: no record from %s for %u interim intervals: CDR "
                "closed as incomplete after %lld s", c[i].node, o->cfg.missed_interims,
                (long long)c[i].duration);
        closed++;
    }
    return closed;
}

/* ---- JSON and CSV ---- */

static void iso_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm)) {
        snprintf(out, len, "%s", "");
        return;
    }
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * A JSON string of @s: its bytes that are not UTF-8 become U+FFFD. The text of a CDR comes
 * from the ACRs as the nodes sent it, and jansson refuses strings that are not UTF-8: the
 * CDR would be missing from the JSON export and from the API (found by tests/fuzz/ocs_cdr).
 */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *r = ims_utf8_repair(s);
    j = r ? json_string(r) : NULL;
    free(r);
    return j;
}

json_t *ocs_cdr_json(const struct ocs_cdr *c)
{
    char start[32], stop[32];
    iso_time(c->start, start, sizeof(start));
    iso_time(c->stop, stop, sizeof(stop));
    json_t *o = json_pack("{s:I}", "id", (json_int_t)c->id);
    if (!o)
        return NULL;
    json_object_set_new(o, "icid", text(c->icid));
    json_object_set_new(o, "session_id", text(c->session_id));
    json_object_set_new(o, "node", text(c->node));
    json_object_set_new(o, "record", json_string(c->event ? "event" : "session"));
    json_object_set_new(o, "partial", json_boolean(c->partial));
    json_object_set_new(o, "status", json_string(ocs_cdr_status_name(c->status)));
    json_object_set_new(o, "method", text(c->method));
    json_object_set_new(o, "calling", text(c->calling));
    json_object_set_new(o, "called", text(c->called));
    json_object_set_new(o, "start", json_string(start));
    json_object_set_new(o, "stop", json_string(stop));
    json_object_set_new(o, "duration", json_integer(c->duration));
    json_object_set_new(o, "interims", json_integer(c->interims));
    json_object_set_new(o, "role_of_node", c->role >= 0 ? json_integer(c->role) : json_null());
    json_object_set_new(o, "node_functionality", c->node_functionality >= 0
                                                     ? json_integer(c->node_functionality)
                                                     : json_null());
    json_object_set_new(o, "originating_ioi", text(c->orig_ioi));
    json_object_set_new(o, "terminating_ioi", text(c->term_ioi));
    json_object_set_new(o, "media", text(c->media));
    json_object_set_new(o, "cause", c->cause != INT_MIN ? json_integer(c->cause)
                                                        : json_null());
    json_object_set_new(o, "incoming_trunk", text(c->trunk_in));
    json_object_set_new(o, "outgoing_trunk", text(c->trunk_out));
    if (json_object_size(o) != 22) {   /* out of memory on the way */
        json_decref(o);
        return NULL;
    }
    return o;
}

const char ocs_cdr_csv_header[] = "id,icid,session_id,node,record,status,partial,method,"
                                  "calling,called,start,stop,duration,interims,role_of_node,"
                                  "node_functionality,originating_ioi,terminating_ioi,media,"
                                  "cause,incoming_trunk,outgoing_trunk";

void ocs_csv_field(struct ims_buf *b, const char *s)
{
    ims_buf_add(b, "\"");
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        ims_buf_addf(b, "%.*s\"\"", (int)(q - s), s);
    }
    ims_buf_add(b, s);
    ims_buf_add(b, "\"");
}

void ocs_cdr_csv(const struct ocs_cdr *c, struct ims_buf *b)
{
    char start[32], stop[32];
    iso_time(c->start, start, sizeof(start));
    iso_time(c->stop, stop, sizeof(stop));
    const char *texts[] = { c->icid, c->session_id, c->node, c->event ? "event" : "session",
                            ocs_cdr_status_name(c->status), c->partial ? "yes" : "no",
                            c->method, c->calling, c->called, start, stop };
    ims_buf_addf(b, "%lld", (long long)c->id);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ims_buf_add(b, ",");
        ocs_csv_field(b, texts[i]);
    }
    ims_buf_addf(b, ",%lld,%u,", (long long)c->duration, c->interims);
    if (c->role >= 0)
        ims_buf_addf(b, "%d", c->role);
    ims_buf_add(b, ",");
    if (c->node_functionality >= 0)
        ims_buf_addf(b, "%d", c->node_functionality);
    ims_buf_add(b, ",");
    const char *tail[] = { c->orig_ioi, c->term_ioi, c->media };
    for (size_t i = 0; i < 3; i++) {
        ocs_csv_field(b, tail[i]);
        ims_buf_add(b, ",");
    }
    if (c->cause != INT_MIN)
        ims_buf_addf(b, "%d", c->cause);
    ims_buf_add(b, ",");
    ocs_csv_field(b, c->trunk_in);
    ims_buf_add(b, ",");
    ocs_csv_field(b, c->trunk_out);
}
