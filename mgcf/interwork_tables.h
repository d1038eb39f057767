/*
 * interwork_tables.h - the SIP <-> ISUP release tables of the MGCF (3GPP TS 29.163 7.2.3,
 * ITU-T Q.1912.5 profile A/C): ISUP cause -> SIP final status, SIP status -> ISUP cause,
 * the cause of a REL for BYE and CANCEL, and the Reason header (RFC 3326, RFC 6432)
 * carrying a Q.850 cause in either direction
 *
 * Pure functions over constant tables; see mgcf/README.md for the tables themselves and
 * where they come from.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_INTERWORK_TABLES_H
#define MGCF_INTERWORK_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/sip.h>

#include "isup.h"

/* Location of a cause the MGCF derives from SIP: network beyond interworking point */
#define MGCF_IW_LOCATION ISUP_LOC_BI

/* Q.850 cause values the call control names */
enum {
    Q850_UNALLOCATED = 1,
    Q850_NO_ROUTE = 3,
    Q850_NORMAL_CLEARING = 16,
    Q850_USER_BUSY = 17,
    Q850_NO_USER_RESPONDING = 18,
    Q850_NO_ANSWER = 19,
    Q850_SUBSCRIBER_ABSENT = 20,
    Q850_CALL_REJECTED = 21,
    Q850_EXCHANGE_ROUTING_ERROR = 25,
    Q850_INVALID_NUMBER_FORMAT = 28,    /* address incomplete (Q.764 T35, overlap) */
    Q850_NORMAL_UNSPECIFIED = 31,
    Q850_NO_CIRCUIT = 34,
    Q850_TEMPORARY_FAILURE = 41,
    Q850_SWITCHING_CONGESTION = 42,
    Q850_RESOURCE_UNAVAILABLE = 47,
    Q850_RECOVERY_ON_TIMER_EXPIRY = 102,
    Q850_PROTOCOL_ERROR = 111,
    Q850_INTERWORKING = 127,
};

/*
 * mgcf_iw_cause_to_status - the SIP final status answering an INVITE whose ISUP side was
 * released (REL before ANM) with @cause from @location (ISUP_LOC_*). A cause this table
 * does not list is taken as the "unspecified" cause of its class (Q.850 2.2.7.1). Cause 16
 * normally ends the dialog with BYE or CANCEL; when a final response is still owed it
 * answers 480 (the class default). Sets *@phrase to the status's reason phrase.
 * Returns a status 400..699.
 */
int mgcf_iw_cause_to_status(unsigned cause, unsigned location, const char **phrase);

/*
 * mgcf_iw_status_to_cause - the cause of the REL sent when the INVITE of an incoming PSTN
 * call failed with SIP @status (400..699). @reason_cause: the Q.850 cause of the response's
 * Reason header, or -1; when present (1..127) it is used as it is (TS 29.163).
 * Returns a cause 1..127; 127 (interworking) for a status the table does not list.
 */
unsigned mgcf_iw_status_to_cause(int status, int reason_cause);

/*
 * mgcf_iw_release_cause - the cause of the REL sent for a BYE (@cancel false: 16 normal
 * call clearing) or a CANCEL (@cancel true: 31 normal, unspecified, Q.1912.5); a Q.850
 * @reason_cause (1..127) of the request's Reason header wins.
 */
unsigned mgcf_iw_release_cause(bool cancel, int reason_cause);

/* Q.850 name of @cause ("User busy"), or NULL for a value Q.850 does not define */
const char *mgcf_iw_cause_text(unsigned cause);

/*
 * mgcf_iw_reason_cause - the cause of the first Q.850 entry of a Reason header list (sofia
 * sip_reason_t, protocol compared without case). Returns 1..127, or -1 when there is none
 * or its cause is missing or out of range.
 */
int mgcf_iw_reason_cause(const sip_reason_t *reason);

/*
 * mgcf_iw_reason_format - write the Reason header value for @cause (1..127):
 * Q.850;cause=17;text="User busy" (the text left out for a value Q.850 does not name).
 * Returns the length, -EINVAL for a cause out of range, -ENOSPC when @size is too small.
 */
int mgcf_iw_reason_format(unsigned cause, char *buf, size_t size);

#endif
