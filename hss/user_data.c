/*
 * user_data.c - the IMSSubscription document of TS 29.228 (Cx User-Data), built from the
 * subscriber database, and the small XML buffer the HSS writes all its documents with
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- IMSSubscription ---- */

static void public_identity(struct ims_buf *b, const struct hss_impu *u)
{
    ims_buf_add(b, "<PublicIdentity>");
    if (u->barred)
        ims_buf_add(b, "<BarringIndication>1</BarringIndication>");
    ims_buf_element(b, "Identity", u->identity);
    ims_buf_addf(b, "<Extension><IdentityType>%d</IdentityType>", (int)u->type);
    if (u->type == HSS_WILDCARD_PSI)
        ims_buf_element(b, "WildcardedPSI", u->identity);
    if (u->display_name[0]) {
        ims_buf_add(b, "<Extension>");
        ims_buf_element(b, "DisplayName", u->display_name);
        ims_buf_add(b, "</Extension>");
    }
    ims_buf_add(b, "</Extension></PublicIdentity>");
}

/* iFCs of a profile in priority order, then its shared iFC set numbers */
static int profile_services(struct ims_buf *b, struct ims_db *db, int64_t profile_id)
{
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT xml FROM ifc WHERE profile_id = ?1"
                                       " ORDER BY priority, id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, profile_id);
    while (sqlite3_step(st) == SQLITE_ROW)
        ims_buf_add(b, (const char *)sqlite3_column_text(st, 0));   /* built escaped */
    sqlite3_reset(st);
    st = ims_db_stmt(db, "SELECT shared_ifc FROM profile_shared_ifc WHERE profile_id = ?1"
                         " ORDER BY shared_ifc");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, profile_id);
    bool any = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!any)
            ims_buf_add(b, "<Extension>");
        any = true;
        ims_buf_addf(b, "<SharedIFCSetID>%d</SharedIFCSetID>", sqlite3_column_int(st, 0));
    }
    if (any)
        ims_buf_add(b, "</Extension>");
    sqlite3_reset(st);
    return 0;
}

/* The private identity to name in the document when the request gave none */
static void any_impi(struct ims_db *db, int64_t impu_id, char *out, size_t len)
{
    out[0] = '\0';
    sqlite3_stmt *st = ims_db_stmt(db, "SELECT i.identity FROM impi i JOIN impi_impu l"
                                       " ON l.impi_id = i.id WHERE l.impu_id = ?1"
                                       " ORDER BY i.id LIMIT 1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, impu_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
}

char *hss_user_data_xml(struct ims_db *db, const struct hss_impi *impi,
                        const struct hss_impu *impu)
{
    int64_t ids[64];
    struct hss_impu set[64];
    int n = hss_implicit_set(db, impu, ids, 64);
    if (n < 0)
        return NULL;
    for (int i = 0; i < n; i++)
        if (hss_impu_by_id(db, ids[i], &set[i]) != 0)
            return NULL;
    if (n == 1 && set[0].id != impu->id)
        set[0] = *impu;

    struct ims_buf b = { 0 };
    char private_id[HSS_ID_MAX];
    if (impi)
        snprintf(private_id, sizeof(private_id), "%s", impi->identity);
    else
        any_impi(db, impu->id, private_id, sizeof(private_id));
    ims_buf_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                    "<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
                    " xsi:noNamespaceSchemaLocation=\"CxDataType.xsd\">");
    ims_buf_element(&b, "PrivateID", private_id[0] ? private_id : impu->identity);
    /* one ServiceProfile per distinct profile, in the order the set lists them */
    bool done[64] = { false };
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        ims_buf_add(&b, "<ServiceProfile>");
        for (int j = i; j < n; j++) {
            if (!done[j] && set[j].profile_id == set[i].profile_id) {
                public_identity(&b, &set[j]);
                done[j] = true;
            }
        }
        if (set[i].profile_id && profile_services(&b, db, set[i].profile_id) != 0) {
            free(b.s);
            return NULL;
        }
        ims_buf_add(&b, "</ServiceProfile>");
    }
    ims_buf_add(&b, "</IMSSubscription>");
    return ims_buf_take(&b);
}
