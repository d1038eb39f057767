/*
 * scscf - Serving-CSCF: registrar, session control, iFC and ISC; Cx, Ro and Rf client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"

static const struct ims_daemon_desc scscf_desc = {
    .name = "scscf",
    .summary = "Serving-CSCF: registrar, session control, iFC and ISC; Cx, Ro and Rf client",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_RO) | IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "OPTIONS",
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &scscf_desc);
}
