/*
 * ocs - Online Charging System (Ro) and Charging Data Function (Rf to CDRs)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ims_cfg_key ocs_keys[] = {
    { "ocs", "database", IMS_CFG_PATH, "ocs.db", 0, 0, 0, NULL, NULL,
      "SQLite database of accounts, rates, reservations and CDRs (relative to "
      "node.state_dir)" },
    { "ocs", "api_token", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "bearer token of the REST API; empty refuses every API request" },
    { "ocs", "currency_code", IMS_CFG_INT, "978", 0, 1, 999, NULL, NULL,
      "ISO 4217 numeric currency of the balances (Cost-Information); amounts are minor "
      "units (cents)" },
    { "ocs", "quota_time", IMS_CFG_INT, "60", 0, 1, 86400, NULL, NULL,
      "seconds granted when a CCR requests no CC-Time" },
    { "ocs", "quota_units", IMS_CFG_INT, "1", 0, 1, 1000000, NULL, NULL,
      "events granted when a CCR requests no CC-Service-Specific-Units" },
    { "ocs", "validity_time", IMS_CFG_INT, "300", 0, 0, 86400, NULL, NULL,
      "Validity-Time of a grant, seconds (the client re-authorises by then; 0: not sent)" },
    { "ocs", "reservation_timeout", IMS_CFG_INT, "900", 0, 1, 604800, NULL, NULL,
      "a reservation without CCR for this long is closed (the session was lost); must "
      "exceed ocs.validity_time" },
    { "ocs", "stale_reservation", IMS_CFG_ENUM, "release", 0, 0, 0, "release|debit", NULL,
      "what a reservation closed by ocs.reservation_timeout does: give the money back or "
      "charge all of it" },
    { "ocs", "sweep_interval", IMS_CFG_INT, "1", 0, 1, 60, NULL, NULL,
      "seconds between housekeeping sweeps (timeouts, exports, gauges)" },
    { "ocs", "relaxed_ccr_rules", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL,
      "accept CCRs that carry Auth-Application-Id only inside Vendor-Specific-Application-Id "
      "or repeat Origin-Host/Origin-Realm (Kamailio ims_charging 5.6 sends such CCRs)" },
    { "ocs", "max_sessions", IMS_CFG_INT, "100000", 0, 1, 10000000, NULL, NULL,
      "credit-control sessions open at once; a CCR-INITIAL past them is answered "
      "DIAMETER_TOO_BUSY (ocs_ro_busy_total)" },
    { "ocs", "history_days", IMS_CFG_INT, "90", 0, 0, 36500, NULL, NULL,
      "days closed reservations and charged events (CCR-EVENT replay detection) are kept; "
      "0 keeps them for ever" },
    { "cdf", "interim_interval", IMS_CFG_INT, "300", 0, 0, 86400, NULL, NULL,
      "Acct-Interim-Interval sent in the ACA of a START, and the interval assumed for "
      "clients that send none (0: not sent)" },
    { "cdf", "missed_interims", IMS_CFG_INT, "3", 0, 1, 100, NULL, NULL,
      "a session silent this many interim intervals is closed, its CDR incomplete" },
    { "cdf", "export_dir", IMS_CFG_PATH, "cdr", 0, 0, 0, NULL, NULL,
      "folder of the CDR export files (relative to node.state_dir)" },
    { "cdf", "rotation", IMS_CFG_INT, "3600", 0, 1, 86400, NULL, NULL,
      "seconds between CDR export files (cdr-<time>.csv and .json)" },
    { "cdf", "file_rows", IMS_CFG_INT, "100000", 0, 1000, 10000000, NULL, NULL,
      "CDRs per export file at most; a larger backlog goes to more files of the same "
      "period (cdr-<time>_002.csv, ...)" },
    { "cdf", "retention_days", IMS_CFG_INT, "90", 0, 0, 36500, NULL, NULL,
      "days an exported CDR stays in the database after its last record (then see "
      "cdf.retention_action); 0 keeps them for ever" },
    { "cdf", "retention_action", IMS_CFG_ENUM, "purge", 0, 0, 0, "purge|archive", NULL,
      "what becomes of exported CDRs past cdf.retention_days: deleted (the export files "
      "hold them) or moved to cdf.archive_database" },
    { "cdf", "archive_database", IMS_CFG_PATH, "cdr-archive.db", 0, 0, 0, NULL, NULL,
      "SQLite database of the archived CDRs (relative to node.state_dir)" },
    IMS_CFG_END
};

static struct ocs g_ocs;

static int read_config(struct ocs *o)
{
    const struct ims_cfg *c = o->d->cfg;
    struct ocs_config *k = &o->cfg;
    k->currency_code = (int)ims_cfg_int(c, "ocs.currency_code");
    k->quota_time = (uint32_t)ims_cfg_int(c, "ocs.quota_time");
    k->quota_units = (uint32_t)ims_cfg_int(c, "ocs.quota_units");
    k->validity_time = (uint32_t)ims_cfg_int(c, "ocs.validity_time");
    k->reservation_timeout = (uint32_t)ims_cfg_int(c, "ocs.reservation_timeout");
    k->stale_action = strcmp(ims_cfg_str(c, "ocs.stale_reservation"), "debit") == 0
                          ? OCS_STALE_DEBIT
                          : OCS_STALE_RELEASE;
    k->sweep_interval = (uint32_t)ims_cfg_int(c, "ocs.sweep_interval");
    k->relaxed_ccr_rules = ims_cfg_bool(c, "ocs.relaxed_ccr_rules");
    k->interim_interval = (uint32_t)ims_cfg_int(c, "cdf.interim_interval");
    k->missed_interims = (uint32_t)ims_cfg_int(c, "cdf.missed_interims");
    k->rotation = (uint32_t)ims_cfg_int(c, "cdf.rotation");
    k->file_rows = (uint32_t)ims_cfg_int(c, "cdf.file_rows");
    k->max_sessions = (uint32_t)ims_cfg_int(c, "ocs.max_sessions");
    k->history_days = (uint32_t)ims_cfg_int(c, "ocs.history_days");
    k->retention_days = (uint32_t)ims_cfg_int(c, "cdf.retention_days");
    k->retention_action = strcmp(ims_cfg_str(c, "cdf.retention_action"), "archive") == 0
                              ? OCS_RETAIN_ARCHIVE
                              : OCS_RETAIN_PURGE;
    ims_daemon_state_path(o->d, ims_cfg_str(c, "cdf.archive_database"), k->archive_path,
                          sizeof(k->archive_path));
    ims_daemon_state_path(o->d, ims_cfg_str(c, "cdf.export_dir"), k->export_dir,
                          sizeof(k->export_dir));
    ims_daemon_state_path(o->d, ims_cfg_str(c, "ocs.database"), o->db_path,
                          sizeof(o->db_path));
    snprintf(o->api_token, sizeof(o->api_token), "%s", ims_cfg_str(c, "ocs.api_token"));
    if (k->validity_time && k->reservation_timeout <= k->validity_time) {
        ims_err("ocs: ocs.reservation_timeout (%u s) must exceed ocs.validity_time (%u s): "
                "a live session re-authorises only once per Validity-Time",
                k->reservation_timeout, k->validity_time);
        return -EINVAL;
    }
    return 0;
}

static int ocs_init(struct ims_daemon *d)
{
    struct ocs *o = &g_ocs;
    o->d = d;
    d->priv = o;
    int rc = read_config(o);
    if (rc)
        return rc;
    rc = ims_db_open(&o->db, o->db_path, ocs_db_migrations, ocs_db_nmigrations);
    if (rc)
        return rc;
    /* an answered CCR or ACR must survive a power loss, not only a crash */
    if ((rc = ims_db_exec(o->db, "PRAGMA synchronous = FULL")) != 0)
        return rc;
    if (o->cfg.retention_action == OCS_RETAIN_ARCHIVE && o->cfg.retention_days &&
        (rc = ocs_db_attach_archive(o->db, o->cfg.archive_path)) != 0)
        return rc;
    ims_info("ocs: database %s (schema version %d), CDR exports in %s every %u s",
             o->db_path, ims_db_version(o->db), o->cfg.export_dir, o->cfg.rotation);
    if (!o->api_token[0])
        ims_warn("ocs: ocs.api_token is empty: the REST API refuses every request");
    if ((rc = ocs_ro_init(o)) != 0 || (rc = ocs_rf_init(o)) != 0)
        return rc;
    return ocs_api_init(o);
}

static int ocs_start(struct ims_daemon *d)
{
    return ocs_housekeep_start(d->priv);
}

static void ocs_stop(struct ims_daemon *d)
{
    struct ocs *o = d->priv;
    if (!o)
        return;
    ocs_housekeep_stop();
    ocs_rf_stop();
    ocs_lock();
    ims_db_close(o->db);
    o->db = NULL;
    ocs_unlock();
}

static const struct ims_daemon_desc ocs_desc = {
    .name = "ocs",
    .summary = "Online Charging System (Ro) and Charging Data Function (Rf to CDRs)",
    .keys = ocs_keys,
    .flags = IMS_D_DIAMETER | IMS_D_DIAMETER_SERVER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
    .init = ocs_init,
    .start = ocs_start,
    .stop = ocs_stop,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &ocs_desc);
}
