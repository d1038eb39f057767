/*
 * cx_status.c - Cx outcome -> SIP answer of a CSCF (see cx_status.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cx_status.h"

#include <errno.h>
#include <stddef.h>

#include "diam_dict.h"

static const struct {
    uint32_t code;
    bool experimental;
    int status;
    const char *phrase;
    const char *why;
} result_map[] = {
    { IMS_DIAM_ERROR_USER_UNKNOWN, true, 403, "Forbidden", "HSS: user unknown" },
    { IMS_DIAM_ERROR_IDENTITIES_DONT_MATCH, true, 403, "Forbidden",
      "HSS: private and public identities do not match" },
    { IMS_DIAM_ERROR_ROAMING_NOT_ALLOWED, true, 403, "Forbidden",
      "HSS: roaming not allowed in this network" },
    { IMS_DIAM_ERROR_IDENTITY_NOT_REGISTERED, true, 403, "Forbidden",
      "HSS: identity not registered" },
    { IMS_DIAM_ERROR_AUTH_SCHEME_NOT_SUPPORTED, true, 403, "Forbidden",
      "HSS: authentication scheme not allowed for the user" },
    { IMS_DIAM_ERROR_IN_ASSIGNMENT_TYPE, true, 500, "Server Internal Error",
      "HSS: error in assignment type" },
    { IMS_DIAM_AUTHORIZATION_REJECTED, false, 403, "Forbidden", "HSS: authorization rejected" },
    { IMS_DIAM_TOO_BUSY, false, 503, "Service Unavailable", "HSS too busy" },
    { IMS_DIAM_UNABLE_TO_DELIVER, false, 480, "Temporarily Unavailable", "HSS unreachable" },
    { IMS_DIAM_REALM_NOT_SERVED, false, 480, "Temporarily Unavailable", "HSS realm not served" },
    { IMS_DIAM_UNABLE_TO_COMPLY, false, 500, "Server Internal Error", "HSS unable to comply" },
};

int ims_cx_sip_status(int error, uint32_t code, bool experimental, const char **phrase,
                      const char **why)
{
    if (error) {
        *phrase = "Temporarily Unavailable";
        *why = error == -ETIMEDOUT ? "HSS did not answer in time" : "HSS unreachable";
        return 480;
    }
    for (size_t i = 0; i < sizeof(result_map) / sizeof(result_map[0]); i++) {
        if (result_map[i].code == code && result_map[i].experimental == experimental) {
            *phrase = result_map[i].phrase;
            *why = result_map[i].why;
            return result_map[i].status;
        }
    }
    *phrase = "Server Internal Error";
    *why = "unexpected answer from the HSS";
    return 500;
}
