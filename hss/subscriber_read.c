/*
 * subscriber_read.c - provisioning reads: a subscriber document as stored (without
 * secrets) and the paged list of subscribers
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "subscriber.h"
#include "milenage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ---- */

static int set_str(json_t *o, const char *key, const unsigned char *s)
{
    return s && *s ? json_object_set_new(o, key, json_string((const char *)s)) : 0;
}

/* Column 0 of every row of @sql (parameter 1 = @id) as a JSON array of strings. */
static json_t *string_list(struct ims_db *db, const char *sql, int64_t id)
{
    sqlite3_stmt *st = ims_db_stmt(db, sql);
    json_t *a = json_array();
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_reset(st);
    if (s != SQLITE_DONE) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* the current row of get_impis() as the API shows an IMPI (no secrets) */
static json_t *read_impi(sqlite3_stmt *st)
{
    char sqn[13];
    uint8_t b[6];
    json_t *o = json_object(), *sch = json_array();
    char **names = ims_strv_split((const char *)sqlite3_column_text(st, 6), ',', NULL);
    ims_sqn_to_bytes((uint64_t)sqlite3_column_int64(st, 5), b);
    ims_hex_encode(b, 6, sqn);
    for (char **p = names; p && *p; p++)
        json_array_append_new(sch, json_string(*p));
    ims_strv_free(names);
    json_object_set_new(o, "identity", json_string((const char *)sqlite3_column_text(st, 0)));
    json_object_set_new(o, "has_password", json_boolean(sqlite3_column_int(st, 1)));
    json_object_set_new(o, "has_ha1", json_boolean(sqlite3_column_int(st, 2)));
    json_object_set_new(o, "has_aka", json_boolean(sqlite3_column_int(st, 3)));
    set_str(o, "amf", sqlite3_column_text(st, 4));
    json_object_set_new(o, "sqn", json_string(sqn));
    json_object_set_new(o, "schemes", sch);
    set_str(o, "default_scheme", sqlite3_column_text(st, 7));
    set_str(o, "imsi", sqlite3_column_text(st, 8));
    set_str(o, "msisdn", sqlite3_column_text(st, 9));
    json_object_set_new(o, "barred", json_boolean(sqlite3_column_int(st, 10)));
    set_str(o, "ip_address", sqlite3_column_text(st, 11));
    const unsigned char *lines = sqlite3_column_text(st, 12);
    if (lines && *lines) {
        json_t *a = json_array();
        char **v = ims_strv_split((const char *)lines, '\n', NULL);
        for (char **p = v; p && *p; p++)
            json_array_append_new(a, json_string(*p));
        ims_strv_free(v);
        json_object_set_new(o, "line_identifiers", a);
    }
    return o;
}

/* The subscription's IMPIs in provisioning order; NULL on error. */
static json_t *get_impis(struct ims_db *db, int64_t sub)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "SELECT identity, ifnull(password, '') <> '', ifnull(ha1, '') <> '',"
        " k IS NOT NULL AND opc IS NOT NULL AND amf IS NOT NULL, lower(hex(amf)), sqn,"
        " schemes, default_scheme, imsi, msisdn, barred, ip_address, line_ids FROM impi"
        " WHERE subscription_id = ?1 ORDER BY id");
    json_t *a = json_array();
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, sub);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, read_impi(st));
    sqlite3_reset(st);
    return a;
}

/* the current row of get_impus() as the API shows an IMPU */
static json_t *read_impu(struct ims_db *db, sqlite3_stmt *st)
{
    json_t *o = json_object();
    int type = sqlite3_column_int(st, 2), reg = sqlite3_column_int(st, 9);
    json_object_set_new(o, "identity", json_string((const char *)sqlite3_column_text(st, 1)));
    json_object_set_new(o, "type", json_string(hss_identity_type_names[type & 3]));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
        json_object_set_new(o, "implicit_set", json_integer(sqlite3_column_int64(st, 3)));
    set_str(o, "profile", sqlite3_column_text(st, 4));
    json_object_set_new(o, "barred", json_boolean(sqlite3_column_int(st, 5)));
    set_str(o, "display_name", sqlite3_column_text(st, 6));
    json_object_set_new(o, "impis", string_list(db, "SELECT i.identity FROM impi_impu l"
                                                    " JOIN impi i ON i.id = l.impi_id"
                                                    " WHERE l.impu_id = ?1 ORDER BY i.id",
                                                sqlite3_column_int64(st, 0)));
    if (hss_doc_is_psi((enum hss_identity_type)type)) {
        set_str(o, "psi_as", sqlite3_column_text(st, 7));
        json_object_set_new(o, "psi_active", json_boolean(sqlite3_column_int(st, 8)));
    }
    json_object_set_new(o, "reg_state",
                        json_string(hss_reg_state_names[reg >= 0 && reg < 3 ? reg : 0]));
    return o;
}

/* The subscription's IMPUs in provisioning order; NULL on error. */
static json_t *get_impus(struct ims_db *db, int64_t sub)
{
    sqlite3_stmt *st = ims_db_stmt(db,
        "SELECT u.id, u.identity, u.type, u.implicit_set, p.name, u.barred, u.display_name,"
        " u.psi_as, u.psi_active, u.reg_state FROM impu u"
        " LEFT JOIN service_profile p ON p.id = u.profile_id WHERE u.subscription_id = ?1"
        " ORDER BY u.id");
    json_t *a = json_array();
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, sub);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, read_impu(db, st));
    sqlite3_reset(st);
    return a;
}

/* A profile's iFCs as provisioned (their stored JSON), by priority; NULL on error. */
static json_t *get_ifcs(struct ims_db *db, int64_t profile_id)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT spec FROM ifc WHERE profile_id = ?1"
                                       " ORDER BY priority, id");
    json_t *a = json_array();
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, profile_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *spec = (const char *)sqlite3_column_text(st, 0);
        json_t *v = json_loads(spec ? spec : "null", 0, NULL);
        json_array_append_new(a, v ? v : json_string(spec));
    }
    sqlite3_reset(st);
    return a;
}

/* The subscription's profiles with iFCs and shared sets; NULL on error. */
static json_t *get_profiles(struct ims_db *db, int64_t sub)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT id, name FROM service_profile"
                                       " WHERE subscription_id = ?1 ORDER BY id");
    json_t *a = json_array();
    if (!st || !a) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, sub);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        json_t *p = json_object(), *shared = json_array();
        json_object_set_new(p, "name", json_string((const char *)sqlite3_column_text(st, 1)));
        json_object_set_new(p, "ifcs", get_ifcs(db, id));
        sqlite3_stmt *sh = ims_db_stmt(db, "SELECT shared_ifc FROM profile_shared_ifc"
                                           " WHERE profile_id = ?1 ORDER BY shared_ifc");
        if (sh) {
            sqlite3_bind_int64(sh, 1, id);
            while (sqlite3_step(sh) == SQLITE_ROW)
                json_array_append_new(shared, json_integer(sqlite3_column_int64(sh, 0)));
            sqlite3_reset(sh);
        }
        json_object_set_new(p, "shared_ifcs", shared);
        json_array_append_new(a, p);
    }
    sqlite3_reset(st);
    return a;
}

/* "1,2" -> [1, 2] */
static json_t *int_list(const char *csv)
{
    json_t *a = json_array();
    char **v = ims_strv_split(csv, ',', NULL);
    for (char **p = v; p && *p; p++)
        if (**p)
            json_array_append_new(a, json_integer(strtoll(*p, NULL, 10)));
    ims_strv_free(v);
    return a;
}

/* the non-empty ones of a primary/secondary pair */
static json_t *uri_list(const char (*uris)[HSS_ID_MAX])
{
    json_t *a = json_array();
    for (int i = 0; i < 2; i++)
        if (uris[i][0])
            json_array_append_new(a, json_string(uris[i]));
    return a;
}

int hss_subscriber_get(struct ims_db *db, const char *name, json_t **out)
{
    struct hss_subscription s;
    int64_t id;
    int rc = hss_subscriber_find(db, name, &id);
    if (rc == 0)
        rc = hss_subscription_get(db, id, &s);
    if (rc)
        return rc;
    json_t *o = json_object();
    json_t *caps = json_pack("{s:o, s:o}", "mandatory", int_list(s.mandatory_caps),
                             "optional", int_list(s.optional_caps));
    json_t *charging = json_pack("{s:o, s:o}", "ccf", uri_list(s.ccf), "ecf", uri_list(s.ecf));
    json_t *scscf = s.scscf_name[0] ? json_pack("{s:s, s:s}", "name", s.scscf_name, "host",
                                                s.scscf_host)
                                    : json_null();
    /* json_object_set_new() refuses a NULL value: any part that could not be built fails */
    int fails = !o;
    fails += o && json_object_set_new(o, "name", json_string(s.name)) != 0;
    fails += o && json_object_set_new(o, "impis", get_impis(db, id)) != 0;
    fails += o && json_object_set_new(o, "impus", get_impus(db, id)) != 0;
    fails += o && json_object_set_new(o, "profiles", get_profiles(db, id)) != 0;
    fails += o && json_object_set_new(o, "capabilities", caps) != 0;
    fails += o && json_object_set_new(o, "charging", charging) != 0;
    fails += o && json_object_set_new(o, "visited_networks",
                                      string_list(db, "SELECT network FROM visited_network"
                                                      " WHERE subscription_id = ?1"
                                                      " ORDER BY network", id)) != 0;
    fails += o && json_object_set_new(o, "scscf", scscf) != 0;
    if (fails) {
        json_decref(o);
        return -ENOMEM;
    }
    *out = o;
    return 0;
}

json_t *hss_subscriber_list(struct ims_db *db, long offset, long limit)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT count(*) FROM subscription");
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return NULL;
    json_int_t total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    st = ims_db_stmt(db, "SELECT id, name FROM subscription ORDER BY name LIMIT ?1 OFFSET ?2");
    json_t *items = json_array();
    if (!st || !items) {
        json_decref(items);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        json_t *it = json_pack("{s:s, s:o*, s:o*}", "name",
                               (const char *)sqlite3_column_text(st, 1),
            "impis", string_list(db, "SELECT identity FROM impi WHERE subscription_id = ?1"
                                     " ORDER BY id", id),
            "impus", string_list(db, "SELECT identity FROM impu WHERE subscription_id = ?1"
                                     " ORDER BY id", id));
        json_array_append_new(items, it);
    }
    sqlite3_reset(st);
    if (s != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "total", total, "offset", (json_int_t)offset,
                     "limit", (json_int_t)limit, "items", items);
}
