/*
 * cx_status.h - the SIP answer of a CSCF for a Cx outcome that is not a success
 *
 * One table for the I-CSCF and the S-CSCF: TS 29.228 results (experimental, vendor 10415)
 * and base Diameter results -> the SIP status, phrase and the text of the Warning
 * (TS 24.229 5.3.1.3, 5.4.1.2). A CSCF that answers some result differently (the I-CSCF for
 * a LIA) checks those first and falls back to this.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_CX_STATUS_H
#define IMS_CX_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * @error: 0 when an answer came, else the negative errno of its absence (-ETIMEDOUT: no
 * answer in time; any other: the HSS unreachable). @code, @experimental: its result.
 * Returns the SIP status; fills @phrase and @why (static strings).
 */
int ims_cx_sip_status(int error, uint32_t code, bool experimental, const char **phrase,
                      const char **why);

#endif
