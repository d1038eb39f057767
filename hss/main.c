/*
 * hss - Home Subscriber Server: subscriber database, Cx/Dx and Sh server, provisioning API
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct ims_cfg_key hss_keys[] = {
    { "hss", "database", IMS_CFG_PATH, "hss.db", 0, 0, 0, NULL, NULL,
      "SQLite subscriber database (relative to node.state_dir)" },
    { "hss", "db_sync", IMS_CFG_ENUM, "normal", 0, 0, 0, "normal|full", NULL,
      "when an answer whose request changed the database may leave: normal: the change is "
      "committed (survives a crash of the process); full: also synced to disk (survives a "
      "power loss; one sync shared by the answers of the moment)" },
    { "hss", "mode", IMS_CFG_ENUM, "hss", 0, 0, 0, "hss|slf", NULL,
      "hss: serve Cx/Sh from the database; slf: redirect Cx requests to the HSS holding "
      "the user (slf routes in the database)" },
    { "hss", "api_token", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "bearer token of the provisioning API; empty refuses every API request" },
    { "hss", "vectors_max", IMS_CFG_INT, "5", 0, 1, 32, NULL, NULL,
      "most authentication vectors returned by one MAA" },
    { "hss", "default_ccf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "charging collection function (DiameterURI) sent when a subscription has none" },
    { "hss", "sh_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Diameter identities (patterns) of the application servers allowed on Sh; empty: "
      "none" },
    { "hss", "password_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Diameter identities (patterns) of the peers that may receive a subscriber's "
      "plaintext password (MAR for Digest-MD5, the older form); empty: none" },
    IMS_CFG_END
};

static struct hss g_hss;

static int hss_init(struct ims_daemon *d)
{
    struct hss *h = &g_hss;
    h->d = d;
    d->priv = h;
    ims_daemon_state_path(d, ims_cfg_str(d->cfg, "hss.database"), h->db_path,
                          sizeof(h->db_path));
    h->slf = strcmp(ims_cfg_str(d->cfg, "hss.mode"), "slf") == 0;
    h->vectors_max = (int)ims_cfg_int(d->cfg, "hss.vectors_max");
    snprintf(h->realm, sizeof(h->realm), "%s", ims_cfg_str(d->cfg, "diameter.realm"));
    snprintf(h->default_ccf, sizeof(h->default_ccf), "%s",
             ims_cfg_str(d->cfg, "hss.default_ccf"));
    snprintf(h->api_token, sizeof(h->api_token), "%s", ims_cfg_str(d->cfg, "hss.api_token"));
    h->db_full = strcmp(ims_cfg_str(d->cfg, "hss.db_sync"), "full") == 0;
    h->sh_peers = ims_cfg_list(d->cfg, "hss.sh_peers", NULL);
    h->password_peers = ims_cfg_list(d->cfg, "hss.password_peers", NULL);
    if (!h->sh_peers || !h->password_peers)
        return -ENOMEM;
    for (char **p = h->password_peers; *p; p++)
        ims_warn("hss: %s may receive plaintext passwords (hss.password_peers)", *p);
    int rc = ims_db_open(&h->db, h->db_path, hss_db_migrations, hss_db_nmigrations);
    if (rc)
        return rc;
    ims_info("hss: %s mode, subscriber database %s (schema version %d); answers that "
             "change it leave once it is %s", h->slf ? "SLF" : "HSS", h->db_path,
             ims_db_version(h->db), h->db_full ? "synced to disk (hss.db_sync = full)"
                                               : "committed (hss.db_sync = normal)");
    if ((rc = hss_sync_start(h)) != 0)
        return rc;
    if (!h->api_token[0])
        ims_warn("hss: hss.api_token is empty: the provisioning API refuses every request");
    if ((rc = hss_cx_init(h)) != 0)
        return rc;
    if (!h->slf && (rc = hss_sh_init(h)) != 0)
        return rc;
    return hss_provision_init(h);
}

static void hss_stop(struct ims_daemon *d)
{
    struct hss *h = d->priv;
    if (!h)
        return;
    hss_lock();
    hss_sync_stop(h);
    ims_db_close(h->db);
    h->db = NULL;
    ims_strv_free(h->sh_peers);
    ims_strv_free(h->password_peers);
    h->sh_peers = h->password_peers = NULL;
    hss_unlock();
}

static const struct ims_daemon_desc hss_desc = {
    .name = "hss",
    .summary = "Home Subscriber Server: subscriber database, Cx/Dx and Sh server, "
               "provisioning API",
    .keys = hss_keys,
    .flags = IMS_D_DIAMETER | IMS_D_DIAMETER_SERVER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_SH),
    .init = hss_init,
    .stop = hss_stop,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &hss_desc);
}
