/*
 * check_cdr.c - CDRs folded from ACRs: durations, partial sessions, timeouts, duplicates,
 * the CSV form
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "ocs.h"

static struct ocs_acr acr(enum ocs_acr_type type, uint32_t number, const char *node)
{
    struct ocs_acr a;
    memset(&a, 0, sizeof(a));
    snprintf(a.session_id, sizeof(a.session_id), "call-1");
    snprintf(a.node, sizeof(a.node), "%s", node);
    snprintf(a.icid, sizeof(a.icid), "icid-1");
    snprintf(a.method, sizeof(a.method), "INVITE");
    a.type = type;
    a.number = number;
    a.role = -1;
    a.node_functionality = -1;
    a.cause = INT_MIN;
    return a;
}

START_TEST(session_duration_from_answer_to_bye)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
    a.request_ts = 1000;     /* INVITE */
    a.response_ts = 1004;    /* 200 OK */
    a.event_ts = 1004;
    a.role = 0;
    a.node_functionality = 6;
    snprintf(a.calling, sizeof(a.calling), "sip:alice@x");
    ocs_cdr_apply(&c, &a, 1005);
    ck_assert_int_eq(c.status, OCS_CDR_OPEN);
    ck_assert_int_eq(c.start, 1004);
    ck_assert(!c.partial);
    a = acr(OCS_ACR_INTERIM, 1, "scscf");
    a.event_ts = 1034;
    ocs_cdr_apply(&c, &a, 1034);
    ck_assert_int_eq(c.interims, 1);
    ck_assert_int_eq(c.duration, 30);    /* so far */
    a = acr(OCS_ACR_STOP, 2, "scscf");
    a.request_ts = 1046;     /* BYE */
    a.event_ts = 1047;
    a.cause = -1;
    ocs_cdr_apply(&c, &a, 1047);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert_int_eq(c.duration, 42);
    ck_assert_int_eq(c.role, 0);
    ck_assert_int_eq(c.node_functionality, 6);
    ck_assert_int_eq(c.cause, -1);
    ck_assert_str_eq(c.calling, "sip:alice@x");   /* kept from START */
    ck_assert_uint_eq(c.last_number, 2);
}
END_TEST

START_TEST(event_and_partial_records)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_EVENT, 0, "pcscf");
    a.event_ts = 500;
    ocs_cdr_apply(&c, &a, 501);
    ck_assert(c.event);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert_int_eq(c.duration, 0);
    /* a session whose START was lost: partial, closed incomplete by its STOP */
    memset(&c, 0, sizeof(c));
    a = acr(OCS_ACR_INTERIM, 3, "pcscf");
    a.event_ts = 600;
    ocs_cdr_apply(&c, &a, 600);
    ck_assert(c.partial);
    a = acr(OCS_ACR_STOP, 4, "pcscf");
    a.event_ts = 650;
    ocs_cdr_apply(&c, &a, 650);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    ck_assert_int_eq(c.duration, 50);
}
END_TEST

START_TEST(records_out_of_order)
{
    /* STOP, then INTERIM, then START (a spool re-sent at once): closed, 42 s, not partial */
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_STOP, 2, "scscf");
    a.request_ts = 1045;
    ocs_cdr_apply(&c, &a, 2000);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    a = acr(OCS_ACR_INTERIM, 1, "scscf");
    ocs_cdr_apply(&c, &a, 2000);
    a = acr(OCS_ACR_START, 0, "scscf");
    a.response_ts = 1003;
    ocs_cdr_apply(&c, &a, 2000);
    ck_assert_int_eq(c.status, OCS_CDR_CLOSED);
    ck_assert(!c.partial);
    ck_assert_int_eq(c.duration, 42);
    ck_assert_int_eq(c.interims, 1);
    ck_assert_uint_eq(c.last_number, 2);
}
END_TEST

START_TEST(silent_sessions_expire)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
    a.response_ts = 100;
    a.interim = 10;
    ocs_cdr_apply(&c, &a, 100);
    ck_assert(!ocs_cdr_overdue(&c, 130, 3, 300));   /* 3 x 10 s, not more yet */
    ck_assert(ocs_cdr_overdue(&c, 131, 3, 300));
    ocs_cdr_expire(&c);
    ck_assert_int_eq(c.status, OCS_CDR_INCOMPLETE);
    ck_assert_int_eq(c.stop, 100);
    ck_assert(!ocs_cdr_overdue(&c, 10000, 3, 300));  /* closed: never again */
    /* without an interval of its own, the configured one */
    memset(&c, 0, sizeof(c));
    a.interim = 0;
    ocs_cdr_apply(&c, &a, 100);
    ck_assert(!ocs_cdr_overdue(&c, 1000, 3, 300));
    ck_assert(ocs_cdr_overdue(&c, 1001, 3, 300));
}
END_TEST

static int64_t count_cdrs(struct ims_db *db, const char *where)
{
    char sql[256];
    sqlite3_stmt *st;
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM cdrs WHERE %s", where);
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(stored_once_per_node_and_deduplicated)
{
    char path[] = "/tmp/check-cdr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    struct ims_db *db;
    bool dup;
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    const char *nodes[] = { "scscf", "mgcf" };
    for (int n = 0; n < 2; n++) {
        struct ocs_acr a = acr(OCS_ACR_START, 0, nodes[n]);
        a.response_ts = 1000;
        if (n == 1)                     /* the MGCF's circuit (Trunk-Group-Id) */
            snprintf(a.trunk_out, sizeof(a.trunk_out), "pstn/5");
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1000, &dup), 0);
        ck_assert(!dup);
        a = acr(OCS_ACR_INTERIM, 1, nodes[n]);
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1030, &dup), 0);
        /* the same INTERIM again (a retransmission) */
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1031, &dup), 0);
        ck_assert(dup);
        a = acr(OCS_ACR_STOP, 2, nodes[n]);
        a.request_ts = 1060;
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1060, &dup), 0);
        ck_assert_int_eq(ocs_cdr_record(db, &a, 1061, &dup), 0);
        ck_assert(dup);
    }
    ck_assert_int_eq(count_cdrs(db, "icid = 'icid-1'"), 2);
    ck_assert_int_eq(count_cdrs(db, "duration = 60 AND interims = 1 AND status = 1"), 2);
    ck_assert_int_eq(count_cdrs(db, "node = 'mgcf' AND trunk_out = 'pstn/5' AND "
                                    "trunk_in = ''"), 1);   /* kept through the STOP */
    json_t *page = ocs_cdr_query(db, "icid-1", NULL, 0, INT64_MAX, 0, 10);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 2);
    json_t *items = json_object_get(page, "items");
    int trunks = 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        trunks += strcmp(json_string_value(json_object_get(json_array_get(items, i),
                                                           "outgoing_trunk")), "pstn/5") == 0;
    ck_assert_int_eq(trunks, 1);
    json_decref(page);
    page = ocs_cdr_query(db, NULL, NULL, 1001, INT64_MAX, 0, 10);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
    ims_db_close(db);
    unlink(path);
}
END_TEST

START_TEST(overdue_sessions_closed_in_the_database)
{
    struct ocs o;
    memset(&o, 0, sizeof(o));
    char path[] = "/tmp/check-cdr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    bool dup;
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&o.db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    o.cfg.interim_interval = 300;
    o.cfg.missed_interims = 3;
    /* many sessions on the configured interval, and one that said 1 s */
    for (int i = 0; i < 40; i++) {
        struct ocs_acr a = acr(OCS_ACR_START, 0, "scscf");
        snprintf(a.session_id, sizeof(a.session_id), "long-%d", i);
        ck_assert_int_eq(ocs_cdr_record(o.db, &a, 900, &dup), 0);
    }
    struct ocs_acr a = acr(OCS_ACR_START, 0, "pcscf");
    a.interim = 1;
    a.response_ts = 1000;
    ck_assert_int_eq(ocs_cdr_record(o.db, &a, 1000, &dup), 0);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 1003), 0);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 1004), 1);
    ck_assert_int_eq(count_cdrs(o.db, "status = 2 AND node = 'pcscf' AND duration = 0"), 1);
    /* at most 32 a sweep */
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 900 + 901), 32);
    ck_assert_int_eq(ocs_cdr_expire_overdue(&o, 900 + 901), 8);
    ims_db_close(o.db);
    unlink(path);
}
END_TEST

START_TEST(csv_line)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    c.id = 7;
    snprintf(c.icid, sizeof(c.icid), "ab\"c");
    snprintf(c.node, sizeof(c.node), "scscf");
    c.status = OCS_CDR_CLOSED;
    c.start = 0;
    c.duration = 42;
    c.role = 1;
    c.node_functionality = 6;
    c.cause = INT_MIN;
    struct ims_buf b = { 0 };
    ocs_cdr_csv(&c, &b);
    char *line = ims_buf_take(&b);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(line, "7,\"ab\"\"c\",\"\",\"scscf\",\"session\",\"closed\",\"no\",\"\","
                           "\"\",\"\",\"\",\"\",42,0,1,6,\"\",\"\",\"\",,\"\",\"\"");
    /* as many fields as the header */
    size_t commas = 0, hc = 0;
    for (const char *p = ocs_cdr_csv_header; *p; p++)
        hc += *p == ',';
    bool quoted = false;
    for (const char *p = line; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            commas++;
    }
    ck_assert_uint_eq(commas, hc);
    free(line);
}
END_TEST

START_TEST(csv_field_of_any_length)
{
    /* 100 KiB of quotes: 200 KiB doubled, plus the two around */
    size_t n = 100 * 1024;
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, '"', n);
    s[n] = '\0';
    s[n / 2] = 'x';
    struct ims_buf b = { 0 };
    ocs_csv_field(&b, s);
    char *f = ims_buf_take(&b);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(strlen(f), 2 * (n - 1) + 1 + 2);
    ck_assert_int_eq(f[0], '"');
    ck_assert_int_eq(f[strlen(f) - 1], '"');
    ck_assert_int_eq(f[1 + 2 * (n / 2)], 'x');
    /* one check of the 200 000 characters, not one each: each ck_assert is a write to
     * Check's log (seconds under load, with strlen() each time) */
    size_t len = strlen(f), other = 0;
    for (size_t i = 1; i < len - 1; i++)
        other += f[i] != '"' && f[i] != 'x';
    ck_assert_uint_eq(other, 0);
    free(f);
    free(s);
    ocs_csv_field(&b, "");
    f = ims_buf_take(&b);
    ck_assert_str_eq(f, "\"\"");
    free(f);
    ocs_csv_field(&b, "a\"b,c");
    f = ims_buf_take(&b);
    ck_assert_str_eq(f, "\"a\"\"b,c\"");
    free(f);
}
END_TEST


/* An ACR whose every text field is full of quotes: the longest CSV row there is. */
static struct ocs_acr quoted_acr(int i, enum ocs_acr_type type)
{
    struct ocs_acr a = acr(type, 0, "scscf");
    char *texts[] = { a.icid, a.calling, a.called, a.user_session };
    size_t lens[] = { sizeof(a.icid), sizeof(a.calling), sizeof(a.called),
                      sizeof(a.user_session) };
    for (size_t k = 0; k < 4; k++) {
        memset(texts[k], '"', lens[k] - 1);
        texts[k][lens[k] - 1] = '\0';
    }
    memset(a.orig_ioi, '"', sizeof(a.orig_ioi) - 1);
    a.orig_ioi[sizeof(a.orig_ioi) - 1] = '\0';
    memset(a.term_ioi, '"', sizeof(a.term_ioi) - 1);
    a.term_ioi[sizeof(a.term_ioi) - 1] = '\0';
    memset(a.media, '"', sizeof(a.media) - 1);
    a.media[sizeof(a.media) - 1] = '\0';
    memset(a.method, '"', sizeof(a.method) - 1);
    a.method[sizeof(a.method) - 1] = '\0';
    /* the Session-Id keeps it apart, the node (Origin-Host) is long too */
    snprintf(a.session_id, sizeof(a.session_id), "%0200d\"\"", i);
    memset(a.node, '"', sizeof(a.node) - 1);
    a.node[sizeof(a.node) - 1] = '\0';
    return a;
}

/* Debian's python3 (mk/deps.sh) by its path: a python3 found first in PATH may be a shim
 * (pyenv: a shell script, 6 s a call on a loaded machine, where this test went past its
 * 30 s) */
#define PYTHON "/usr/bin/python3"

/* Lines of the CSV files of @dir (a quoted newline never occurs: one line per row). */
static long csv_rows(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cat %s/cdr-*.csv | grep -vc '^id,'", dir);
    FILE *p = popen(cmd, "r");
    long n = -1;
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fscanf(p, "%ld", &n), 1);
    pclose(p);
    return n;
}

START_TEST(export_drains_the_backlog_of_long_rows)
{
    struct ocs o;
    bool dup;
    memset(&o, 0, sizeof(o));
    char dir[] = "/tmp/check-cdr-export-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(o.db_path, sizeof(o.db_path), "%s/ocs.db", dir);
    snprintf(o.cfg.export_dir, sizeof(o.cfg.export_dir), "%s/cdr", dir);
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&o.db, o.db_path, ocs_db_migrations, ocs_db_nmigrations), 0);
    /* a backlog past one batch: event CDRs whose fields are all quotes */
    ck_assert_int_eq(ims_db_begin(o.db), 0);
    for (int i = 0; i < 1200; i++) {
        struct ocs_acr a = quoted_acr(i, OCS_ACR_EVENT);
        ck_assert_int_eq(ocs_cdr_record(o.db, &a, 1000, &dup), 0);
    }
    /* and one session still open: not exported */
    struct ocs_acr a = quoted_acr(99999, OCS_ACR_START);
    ck_assert_int_eq(ocs_cdr_record(o.db, &a, 1000, &dup), 0);
    ck_assert_int_eq(ims_db_commit(o.db), 0);
    o.cfg.file_rows = 500;
    ck_assert_int_eq(ocs_cdr_export(&o, 2000), 1200);
    ck_assert_int_eq(count_cdrs(o.db, "export_file IS NULL"), 1);
    ck_assert_int_eq(csv_rows(o.cfg.export_dir), 1200);
    /* three files of this period: 500, 500 and 200 rows, names in order */
    ck_assert_int_eq(count_cdrs(o.db, "export_file = 'cdr-19700101T003320Z'"), 500);
    ck_assert_int_eq(count_cdrs(o.db, "export_file = 'cdr-19700101T003320Z_002'"), 500);
    ck_assert_int_eq(count_cdrs(o.db, "export_file = 'cdr-19700101T003320Z_003'"), 200);
    /* every row has the header's field count and its quotes doubled */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), PYTHON " -c 'import csv,glob,sys; rows=[r for f in "
             "sorted(glob.glob(\"%s/cdr/cdr-*.csv\")) for r in csv.reader(open(f))]; "
             "h=[r for r in rows if r[0]==\"id\"]; d=[r for r in rows if r[0]!=\"id\"]; "
             "sys.exit(0 if len(d)==1200 and all(len(r)==len(h[0]) for r in d) and "
             "all(r[1]==\"\\\"\"*255 and r[18]==\"\\\"\"*511 for r in d) else 1)'", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* the JSON files hold the same rows */
    snprintf(cmd, sizeof(cmd), PYTHON " -c 'import json,glob,sys; n=sum(len(json.load(open(f)"
             ")) for f in glob.glob(\"%s/cdr/cdr-*.json\")); sys.exit(0 if n==1200 else 1)'",
             dir);
    ck_assert_int_eq(system(cmd), 0);
    /* no temporary file left behind */
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls %s/cdr | grep -v -e '.csv$' -e '.json$')\"",
             dir);
    ck_assert_int_eq(system(cmd), 0);
    /* nothing left: the next period writes no file */
    ck_assert_int_eq(ocs_cdr_export(&o, 3000), 0);
    /* the same second again: a name of its own, the first file is not overwritten */
    a = quoted_acr(99999, OCS_ACR_STOP);
    a.number = 1;
    ck_assert_int_eq(ocs_cdr_record(o.db, &a, 1001, &dup), 0);
    ck_assert_int_eq(ocs_cdr_export(&o, 2000), 1);
    ck_assert_int_eq(count_cdrs(o.db, "export_file = 'cdr-19700101T003320Z_004'"), 1);
    ck_assert_int_eq(csv_rows(o.cfg.export_dir), 1201);
    ims_db_close(o.db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST


/* A database of @n CDRs exported at @t (half of them) or closed and pending. */
static void retention_fixture(struct ocs *o, char *dir, int n, time_t t)
{
    bool dup;
    memset(o, 0, sizeof(*o));
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(o->db_path, sizeof(o->db_path), "%s/ocs.db", dir);
    snprintf(o->cfg.export_dir, sizeof(o->cfg.export_dir), "%s/cdr", dir);
    snprintf(o->cfg.archive_path, sizeof(o->cfg.archive_path), "%s/archive.db", dir);
    ims_log_init("check_cdr", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    ck_assert_int_eq(ims_db_open(&o->db, o->db_path, ocs_db_migrations, ocs_db_nmigrations), 0);
    ck_assert_int_eq(ims_db_begin(o->db), 0);
    for (int i = 0; i < n; i++) {
        struct ocs_acr a = acr(OCS_ACR_EVENT, 0, "pcscf");
        snprintf(a.session_id, sizeof(a.session_id), "old-%d", i);
        ck_assert_int_eq(ocs_cdr_record(o->db, &a, t, &dup), 0);
    }
    ck_assert_int_eq(ims_db_commit(o->db), 0);
    ck_assert_int_eq(ocs_cdr_export(o, t), n);
    /* a pending one as old, an open one as old, and a fresh exported one */
    struct ocs_acr a = acr(OCS_ACR_START, 0, "pcscf");
    snprintf(a.session_id, sizeof(a.session_id), "open");
    ck_assert_int_eq(ocs_cdr_record(o->db, &a, t, &dup), 0);
    a = acr(OCS_ACR_EVENT, 0, "pcscf");
    snprintf(a.session_id, sizeof(a.session_id), "fresh");
    ck_assert_int_eq(ocs_cdr_record(o->db, &a, t + 86400 * 10, &dup), 0);
    ck_assert_int_eq(ocs_cdr_export(o, t + 86400 * 10), 1);
    a = acr(OCS_ACR_EVENT, 0, "pcscf");
    snprintf(a.session_id, sizeof(a.session_id), "pending");
    ck_assert_int_eq(ocs_cdr_record(o->db, &a, t, &dup), 0);
}

static int64_t count_sql(struct ims_db *db, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The counters the triggers keep equal what a count would say. */
static void counters_match(struct ims_db *db)
{
    ck_assert_int_eq(ocs_db_counter(db, "cdrs"), count_sql(db, "SELECT COUNT(*) FROM cdrs"));
    ck_assert_int_eq(ocs_db_counter(db, "cdrs_open"),
                     count_sql(db, "SELECT COUNT(*) FROM cdrs WHERE status = 0"));
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(retention_purges_exported_cdrs)
{
    struct ocs o;
    char dir[] = "/tmp/check-cdr-retain-XXXXXX";
    retention_fixture(&o, dir, 1200, 1000000);
    counters_match(o.db);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM acr_seen"), 1203);
    o.cfg.retention_days = 30;
    ck_assert_int_eq(ocs_cdr_retire(&o, 1000000 + 86400 * 30), 0);   /* not older yet */
    o.cfg.retention_days = 5;
    ck_assert_int_eq(ocs_cdr_retire(&o, 1000000 + 86400 * 5 + 1), 1200);
    /* left: the open, the pending and the fresh one; their duplicate detection too */
    ck_assert_int_eq(count_cdrs(o.db, "1"), 3);
    ck_assert_int_eq(count_cdrs(o.db, "session_id IN ('open', 'pending', 'fresh')"), 3);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM acr_seen"), 3);
    counters_match(o.db);
    ck_assert_int_eq(ocs_cdr_retire(&o, 1000000 + 86400 * 5 + 1), 0);
    o.cfg.retention_days = 0;   /* kept for ever */
    ck_assert_int_eq(ocs_cdr_retire(&o, 1000000 + 86400 * 1000), 0);
    ck_assert_int_eq(count_cdrs(o.db, "1"), 3);
    ims_db_close(o.db);
    remove_dir(dir);
}
END_TEST

START_TEST(retention_archives_exported_cdrs)
{
    struct ocs o;
    char dir[] = "/tmp/check-cdr-archive-XXXXXX";
    retention_fixture(&o, dir, 1200, 1000000);
    o.cfg.retention_days = 5;
    o.cfg.retention_action = OCS_RETAIN_ARCHIVE;
    ck_assert_int_eq(ocs_db_attach_archive(o.db, o.cfg.archive_path), 0);
    ck_assert_int_eq(ocs_cdr_retire(&o, 1000000 + 86400 * 20), 1201);
    ck_assert_int_eq(count_cdrs(o.db, "1"), 2);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM archive.cdrs"), 1201);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM archive.cdrs WHERE export_file "
                                     "IS NULL OR archived != 1000000 + 86400 * 20"), 0);
    counters_match(o.db);
    ims_db_close(o.db);
    /* the archive is a database of its own, readable alone */
    struct ims_db *arch;
    ck_assert_int_eq(ims_db_open(&arch, o.cfg.archive_path, NULL, 0), 0);
    ck_assert_int_eq(count_sql(arch, "SELECT COUNT(*) FROM cdrs WHERE session_id LIKE 'old-%'"),
                     1200);
    ims_db_close(arch);
    remove_dir(dir);
}
END_TEST

/*
 * Found by tests/fuzz/ocs_cdr (corpus files csv-short-buffer.bin, json-not-utf8.bin): a row
 * cut by a small buffer was left without its NUL (a 3-byte buffer got "7," and garbage),
 * the last field could write one byte past the buffer, and a CDR whose text is not UTF-8
 * had no JSON (left out of the export file without a word).
 */
/* A CDR whose text is not UTF-8 (bytes from a peer) still has its CSV row and its JSON, the
 * bad bytes replaced (U+FFFD): it is never left out of the export file */
START_TEST(csv_row_and_json_for_any_bytes)
{
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    c.id = 7;
    c.role = -1;
    c.node_functionality = 2;
    c.cause = 16;
    snprintf(c.calling, sizeof(c.calling), "sip:\xff\"a\"@x");
    snprintf(c.media, sizeof(c.media), "audio");
    struct ims_buf b = { 0 };
    ocs_cdr_csv(&c, &b);
    char *row = ims_buf_take(&b);
    ck_assert_ptr_nonnull(row);
    ck_assert_ptr_nonnull(strstr(row, "\"sip:\xff\"\"a\"\"@x\""));
    free(row);
    json_t *j = ocs_cdr_json(&c);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "calling")),
                     "sip:\xef\xbf\xbd\"a\"@x");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "cause")), 16);
    ck_assert(json_is_null(json_object_get(j, "role_of_node")));
    json_decref(j);
}
END_TEST

static Suite *cdr_suite(void)
{
    Suite *s = suite_create("cdr");
    TCase *tc = tcase_create("cdr");
    /* the export and retention tests write, sync and read back 1200 CDRs: 42 s under ASan
     * on a loaded 2-core machine (load 37), past run-unit.sh's 30 s */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, session_duration_from_answer_to_bye);
    tcase_add_test(tc, event_and_partial_records);
    tcase_add_test(tc, records_out_of_order);
    tcase_add_test(tc, silent_sessions_expire);
    tcase_add_test(tc, stored_once_per_node_and_deduplicated);
    tcase_add_test(tc, overdue_sessions_closed_in_the_database);
    tcase_add_test(tc, csv_line);
    tcase_add_test(tc, csv_field_of_any_length);
    tcase_add_test(tc, export_drains_the_backlog_of_long_rows);
    tcase_add_test(tc, retention_purges_exported_cdrs);
    tcase_add_test(tc, retention_archives_exported_cdrs);
    tcase_add_test(tc, csv_row_and_json_for_any_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cdr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
