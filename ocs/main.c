/*
 * ocs - Online Charging System (Ro) and Charging Data Function (Rf to CDRs)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc ocs_desc = {
    .name = "ocs",
    .summary = "Online Charging System (Ro) and Charging Data Function (Rf to CDRs)",
    .flags = IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &ocs_desc);
}
