/*
 * mgcf - Media Gateway Control Function: SIP to ISUP interworking, H.248 towards the MGW; Rf client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc mgcf_desc = {
    .name = "mgcf",
    .summary = "Media Gateway Control Function: SIP to ISUP interworking, H.248 towards the MGW; Rf client",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &mgcf_desc);
}
