/*
 * interwork_tables.c - SIP <-> ISUP release mapping (TS 29.163 7.2.3, Q.1912.5) and the
 * Q.850 Reason header (RFC 3326, RFC 6432); pure tables
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "interwork_tables.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* Q.850 Table 1: the cause values and their names */
static const char *const cause_names[128] = {
    [1] = "Unallocated (unassigned) number",
    [2] = "No route to specified transit network",
    [3] = "No route to destination",
    [4] = "Send special information tone",
    [5] = "Misdialled trunk prefix",
    [6] = "Channel unacceptable",
    [7] = "Call awarded and being delivered in an established channel",
    [8] = "Preemption",
    [9] = "Preemption - circuit reserved for reuse",
    [14] = "QoR: ported number",
    [16] = "Normal call clearing",
    [17] = "User busy",
    [18] = "No user responding",
    [19] = "No answer from user (user alerted)",
    [20] = "Subscriber absent",
    [21] = "Call rejected",
    [22] = "Number changed",
    [23] = "Redirection to new destination",
    [24] = "Call rejected due to feature at the destination",
    [25] = "Exchange routing error",
    [26] = "Non-selected user clearing",
    [27] = "Destination out of order",
    [28] = "Invalid number format (address incomplete)",
    [29] = "Facility rejected",
    [30] = "Response to STATUS ENQUIRY",
    [31] = "Normal, unspecified",
    [34] = "No circuit/channel available",
    [38] = "Network out of order",
    [39] = "Permanent frame mode connection out of service",
    [40] = "Permanent frame mode connection operational",
    [41] = "Temporary failure",
    [42] = "Switching equipment congestion",
    [43] = "Access information discarded",
    [44] = "Requested circuit/channel not available",
    [46] = "Precedence call blocked",
    [47] = "Resource unavailable, unspecified",
    [49] = "Quality of Service not available",
    [50] = "Requested facility not subscribed",
    [53] = "Outgoing calls barred within CUG",
    [55] = "Incoming calls barred within CUG",
    [57] = "Bearer capability not authorized",
    [58] = "Bearer capability not presently available",
    [62] = "Inconsistency in designated outgoing access information and subscriber class",
    [63] = "Service or option not available, unspecified",
    [65] = "Bearer capability not implemented",
    [66] = "Channel type not implemented",
    [69] = "Requested facility not implemented",
    [70] = "Only restricted digital information bearer capability is available",
    [79] = "Service or option not implemented, unspecified",
    [81] = "Invalid call reference value",
    [82] = "Identified channel does not exist",
    [83] = "A suspended call exists, but this call identity does not",
    [84] = "Call identity in use",
    [85] = "No call suspended",
    [86] = "Call having the requested call identity has been cleared",
    [87] = "User not member of CUG",
    [88] = "Incompatible destination",
    [90] = "Non-existent CUG",
    [91] = "Invalid transit network selection",
    [95] = "Invalid message, unspecified",
    [96] = "Mandatory information element is missing",
    [97] = "Message type non-existent or not implemented",
    [98] = "Message not compatible with call state or message type non-existent or not "
           "implemented",
    [99] = "Information element / parameter non-existent or not implemented",
    [100] = "Invalid information element contents",
    [101] = "Message not compatible with call state",
    [102] = "Recovery on timer expiry",
    [103] = "Parameter non-existent or not implemented - passed on",
    [110] = "Message with unrecognized parameter discarded",
    [111] = "Protocol error, unspecified",
    [127] = "Interworking, unspecified",
};

struct cause_row {
    unsigned char cause;
    short status;
};

/*
 * ISUP cause -> SIP status (TS 29.163 7.2.3.2, O-MGCF receiving REL; Q.1912.5 profile A).
 * Causes not listed fall to the unspecified cause of their class first.
 */
static const struct cause_row cause_to_status[] = {
    {1, 404},   {2, 404},   {3, 404},   {5, 404},
    {17, 486},  {18, 480},  {19, 480},  {20, 480},
    {21, 403},              /* 603 when the location is the user: see below */
    {22, 410},  {23, 410},  {25, 483},  {26, 404},  {27, 502},  {28, 484},  {29, 501},
    {31, 480},
    {34, 503},  {38, 503},  {41, 503},  {42, 503},  {47, 503},
    {55, 403},  {57, 403},  {58, 503},
    {65, 488},  {70, 488},  {79, 501},
    {87, 403},  {88, 503},
    {102, 504}, {111, 500}, {127, 500},
};

struct status_row {
    short status;
    unsigned char cause;
};

/*
 * SIP status -> ISUP cause (TS 29.163 7.2.3.1, I-MGCF receiving a 4xx/5xx/6xx; Q.1912.5).
 * Statuses not listed give 127 interworking, unspecified.
 */
static const struct status_row status_to_cause[] = {
    {404, 1},   {410, 22},  {480, 20},  {482, 25},  {483, 25},  {484, 28},
    {485, 1},   {486, 17},  {600, 17},  {603, 21},  {604, 1},
};

static const struct {
    short status;
    const char *phrase;
} phrases[] = {
    {403, "Forbidden"},         {404, "Not Found"},          {410, "Gone"},
    {480, "Temporarily Unavailable"}, {483, "Too Many Hops"}, {484, "Address Incomplete"},
    {486, "Busy Here"},         {488, "Not Acceptable Here"}, {500, "Server Internal Error"},
    {501, "Not Implemented"},   {502, "Bad Gateway"},        {503, "Service Unavailable"},
    {504, "Server Time-out"},   {603, "Decline"},
};

const char *mgcf_iw_cause_text(unsigned cause)
{
    return cause < 128 ? cause_names[cause] : NULL;
}

static const char *phrase_of(int status)
{
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    return "Server Internal Error";     /* not reached: every status of the table is named */
}

static int lookup_status(unsigned cause)
{
    for (size_t i = 0; i < sizeof(cause_to_status) / sizeof(cause_to_status[0]); i++)
        if (cause_to_status[i].cause == cause)
            return cause_to_status[i].status;
    return 0;
}

/* Q.850 2.2.7.1: an unknown cause counts as the unspecified cause of its class */
static unsigned class_default(unsigned cause)
{
    static const unsigned char unspecified[8] = {31, 31, 47, 63, 79, 95, 111, 127};
    return unspecified[(cause >> 4) & 7];
}

int mgcf_iw_cause_to_status(unsigned cause, unsigned location, const char **phrase)
{
    int status;
    if (cause > 127)
        cause = Q850_INTERWORKING;
    if (cause == Q850_CALL_REJECTED && location == ISUP_LOC_USER)
        status = 603;
    else if ((status = lookup_status(cause)) == 0 &&
             (status = lookup_status(class_default(cause))) == 0)
        status = 500;                   /* classes 63, 95: no row of their own */
    *phrase = phrase_of(status);
    return status;
}

unsigned mgcf_iw_status_to_cause(int status, int reason_cause)
{
    if (reason_cause >= 1 && reason_cause <= 127)
        return (unsigned)reason_cause;
    for (size_t i = 0; i < sizeof(status_to_cause) / sizeof(status_to_cause[0]); i++)
        if (status_to_cause[i].status == status)
            return status_to_cause[i].cause;
    return Q850_INTERWORKING;
}

unsigned mgcf_iw_release_cause(bool cancel, int reason_cause)
{
    if (reason_cause >= 1 && reason_cause <= 127)
        return (unsigned)reason_cause;
    return cancel ? Q850_NORMAL_UNSPECIFIED : Q850_NORMAL_CLEARING;
}

int mgcf_iw_reason_cause(const sip_reason_t *reason)
{
    for (const sip_reason_t *r = reason; r; r = r->re_next) {
        if (!r->re_protocol || strcasecmp(r->re_protocol, "Q.850") != 0)
            continue;
        if (!r->re_cause || r->re_cause[0] < '0' || r->re_cause[0] > '9')
            return -1;
        char *end;
        unsigned long v = strtoul(r->re_cause, &end, 10);
        if (*end || v < 1 || v > 127)
            return -1;
        return (int)v;
    }
    return -1;
}

int mgcf_iw_reason_format(unsigned cause, char *buf, size_t size)
{
    if (cause < 1 || cause > 127)
        return -EINVAL;
    const char *text = cause_names[cause];
    int n = text ? snprintf(buf, size, "Q.850;cause=%u;text=\"%s\"", cause, text)
                 : snprintf(buf, size, "Q.850;cause=%u", cause);
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    return n;
}
