/*
 * pcscf - Proxy-CSCF: the UE's first hop into the IMS (TS 24.229, TS 23.228)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc pcscf_desc = {
    .name = "pcscf",
    .summary = "Proxy-CSCF: first SIP hop of the UE (Gm, Mw), offline charging client (Rf)",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &pcscf_desc);
}
