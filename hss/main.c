/*
 * hss - Home Subscriber Server: subscriber database, Cx/Dx and Sh server
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>

static const struct ims_cfg_key hss_keys[] = {
    { "hss", "database", IMS_CFG_PATH, "hss.db", 0, 0, 0, NULL, NULL,
      "SQLite subscriber database (relative to node.state_dir)" },
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
    int rc = ims_db_open(&h->db, h->db_path, hss_db_migrations, hss_db_nmigrations);
    if (rc)
        return rc;
    ims_info("hss: subscriber database %s (schema version %d)", h->db_path,
             ims_db_version(h->db));
    return 0;
}

static void hss_stop(struct ims_daemon *d)
{
    struct hss *h = d->priv;
    if (h) {
        ims_db_close(h->db);
        h->db = NULL;
    }
}

static const struct ims_daemon_desc hss_desc = {
    .name = "hss",
    .summary = "Home Subscriber Server: subscriber database, Cx/Dx and Sh server",
    .keys = hss_keys,
    .flags = IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_SH),
    .init = hss_init,
    .stop = hss_stop,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &hss_desc);
}
