/*
 * bgcf - Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc bgcf_desc = {
    .name = "bgcf",
    .summary = "Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &bgcf_desc);
}
