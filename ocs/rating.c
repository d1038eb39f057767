/*
 * rating.c - the rating table: a price per second or per event, by service and destination
 * prefix; the most specific entry wins (exact service before "*", then the longest prefix)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RATES_MAX 1024           /* candidates considered for one lookup */

void ocs_rating_destination(const char *address, char *out, size_t len)
{
    const char *p = address ? address : "";
    if (strncasecmp(p, "tel:", 4) == 0)
        p += 4;
    else if (strncasecmp(p, "sips:", 5) == 0)
        p += 5;
    else if (strncasecmp(p, "sip:", 4) == 0)
        p += 4;
    size_t n = strcspn(p, ";?>");
    const char *at = memchr(p, '@', n);
    /* a telephone number in a SIP URI (user=phone) is rated as the number */
    if (at && p[0] == '+')
        n = (size_t)(at - p);
    snprintf(out, len, "%.*s", (int)n, p);
}

void ocs_rating_service(const char *sip_method, bool session, char *out, size_t len)
{
    if (!sip_method || !*sip_method) {
        snprintf(out, len, "%s", session ? "voice" : "event");
        return;
    }
    if (strcasecmp(sip_method, "INVITE") == 0) {
        snprintf(out, len, "voice");
        return;
    }
    size_t i = 0;
    for (; sip_method[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)sip_method[i]);
    out[i] = '\0';
}

const struct ocs_rate *ocs_rating_pick(const struct ocs_rate *rates, size_t n,
                                       const char *service, const char *destination)
{
    const struct ocs_rate *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < n; i++) {
        const struct ocs_rate *r = &rates[i];
        bool exact = strcmp(r->service, service) == 0;
        if (!exact && strcmp(r->service, "*") != 0)
            continue;
        size_t plen = strlen(r->prefix);
        if (strncmp(destination, r->prefix, plen) != 0)
            continue;
        int score = (exact ? 100000 : 0) + (int)plen;
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

static void read_rate(sqlite3_stmt *st, struct ocs_rate *r)
{
    r->id = sqlite3_column_int64(st, 0);
    ocs_db_text(st, 1, r->service, sizeof(r->service));
    ocs_db_text(st, 2, r->prefix, sizeof(r->prefix));
    r->unit = sqlite3_column_int(st, 3) ? OCS_UNIT_EVENT : OCS_UNIT_SECOND;
    r->price = sqlite3_column_int64(st, 4);
    ocs_db_text(st, 5, r->description, sizeof(r->description));
}

#define RATE_COLS "id, service, prefix, unit, price, description"

int ocs_rating_find(struct ims_db *db, const char *service, const char *destination,
                    struct ocs_rate *out)
{
    /* candidates: the service or "*", and a prefix of the destination */
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " RATE_COLS " FROM rates WHERE service IN "
                                       "(?1, '*') AND substr(?2, 1, length(prefix)) = prefix "
                                       "ORDER BY (service = ?1) DESC, length(prefix) DESC "
                                       "LIMIT 1");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, destination, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_rate(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int bad(char *field, size_t flen, const char *f, char *err, size_t elen, const char *e)
{
    snprintf(field, flen, "%s", f);
    snprintf(err, elen, "%s", e);
    return -EINVAL;
}

static bool valid_service(const char *s)
{
    size_t n = strlen(s);
    if (strcmp(s, "*") == 0)
        return true;
    if (n == 0 || n >= OCS_SERVICE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

static int check_fields(json_t *doc, char *field, size_t flen, char *err, size_t elen)
{
    static const char *const known[] = { "service", "prefix", "unit", "price", "description",
                                         "id" };
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        size_t i = 0;
        while (i < 6 && strcmp(k, known[i]) != 0)
            i++;
        if (i == 6)
            return bad(field, flen, k, err, elen, "unknown field");
    }
    return 0;
}

int ocs_rate_from_json(json_t *doc, struct ocs_rate *out, char *field, size_t flen, char *err,
                       size_t elen)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return bad(field, flen, "", err, elen, "the body must be a JSON object");
    if (check_fields(doc, field, flen, err, elen) != 0)
        return -EINVAL;
    const char *service = json_string_value(json_object_get(doc, "service"));
    if (!service || !valid_service(service))
        return bad(field, flen, "service", err, elen, "required: \"*\" or 1 to 31 lower-case "
                   "letters, digits or '-' (voice, message, ...)");
    json_t *prefix = json_object_get(doc, "prefix");
    const char *p = prefix ? json_string_value(prefix) : "";
    if (!p || strlen(p) >= OCS_PREFIX_MAX || strpbrk(p, " \t\r\n"))
        return bad(field, flen, "prefix", err, elen, "must be a string of at most 63 "
                   "characters without spaces (\"\" matches every destination)");
    const char *unit = json_string_value(json_object_get(doc, "unit"));
    if (!unit || (strcmp(unit, "second") != 0 && strcmp(unit, "event") != 0))
        return bad(field, flen, "unit", err, elen, "required: \"second\" or \"event\"");
    json_t *price = json_object_get(doc, "price");
    if (!json_is_integer(price) || json_integer_value(price) < 0 ||
        json_integer_value(price) > OCS_PRICE_MAX)
        return bad(field, flen, "price", err, elen, "required: an integer from 0 to 10^8 "
                   "(minor currency units per unit)");
    json_t *desc = json_object_get(doc, "description");
    if (desc && (!json_is_string(desc) || strlen(json_string_value(desc)) >= 128))
        return bad(field, flen, "description", err, elen, "must be a string of at most 127 "
                   "characters");
    snprintf(out->service, sizeof(out->service), "%s", service);
    snprintf(out->prefix, sizeof(out->prefix), "%s", p);
    out->unit = strcmp(unit, "event") == 0 ? OCS_UNIT_EVENT : OCS_UNIT_SECOND;
    out->price = json_integer_value(price);
    snprintf(out->description, sizeof(out->description), "%s",
             desc ? json_string_value(desc) : "");
    return 0;
}

json_t *ocs_rate_json(const struct ocs_rate *r)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "id", (json_int_t)r->id, "service",
                     r->service, "prefix", r->prefix, "unit",
                     r->unit == OCS_UNIT_EVENT ? "event" : "second", "price",
                     (json_int_t)r->price, "description", r->description);
}

int ocs_rate_put(struct ims_db *db, struct ocs_rate *r)
{
    sqlite3_stmt *st = r->id
        ? ims_db_stmt(db, "UPDATE rates SET service = ?2, prefix = ?3, unit = ?4, price = ?5, "
                          "description = ?6 WHERE id = ?1")
        : ims_db_stmt(db, "INSERT INTO rates (service, prefix, unit, price, description) "
                          "VALUES (?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return -EIO;
    if (r->id)
        sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_text(st, 2, r->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)r->unit);
    sqlite3_bind_int64(st, 5, r->price);
    sqlite3_bind_text(st, 6, r->description, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EEXIST;
    if (rc != SQLITE_DONE)
        return -EIO;
    if (!r->id) {
        r->id = sqlite3_last_insert_rowid(ims_db_handle(db));
        return 0;
    }
    return sqlite3_changes(ims_db_handle(db)) == 1 ? 0 : -ENOENT;
}

int ocs_rate_get(struct ims_db *db, int64_t id, struct ocs_rate *out)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " RATE_COLS " FROM rates WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_rate(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int ocs_rate_delete(struct ims_db *db, int64_t id)
{
    sqlite3_stmt *st = ims_db_stmt(db, "DELETE FROM rates WHERE id = ?1");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    return sqlite3_changes(ims_db_handle(db)) == 1 ? 0 : -ENOENT;
}

json_t *ocs_rate_list(struct ims_db *db)
{
    json_t *items = json_array();
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT " RATE_COLS " FROM rates "
                                       "ORDER BY service, prefix LIMIT 1024");
    if (!st || !items) {
        json_decref(items);
        return NULL;
    }
    struct ocs_rate r;
    while (sqlite3_step(st) == SQLITE_ROW) {
        read_rate(st, &r);
        json_array_append_new(items, ocs_rate_json(&r));
    }
    sqlite3_reset(st);
    return json_pack("{s:o}", "items", items);
}
