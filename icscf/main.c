/*
 * icscf - Interrogating-CSCF: entry point of the home domain (Mw), HSS client (Cx)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc icscf_desc = {
    .name = "icscf",
    .summary = "Interrogating-CSCF: entry point of the home domain (Mw), HSS client (Cx)",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &icscf_desc);
}
