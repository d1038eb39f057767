/*
 * mrfc - Media Resource Function (controller and processor): announcements, conferences; Rf and Ro client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc mrfc_desc = {
    .name = "mrfc",
    .summary = "Media Resource Function (controller and processor): announcements, conferences; Rf and Ro client",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF) | IMS_APP_BIT(IMS_APP_RO),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &mrfc_desc);
}
