/*
 * overlap.h - en-bloc conversion of incoming overlap signalling at the MGCF (TS 29.163
 * 7.2.3.2.1, ITU-T Q.764 2.1.2): the called number of an IAM completed by SAMs
 *
 * Pure: the digits collected so far and the configured bounds give a verdict; the caller
 * (isup_link.c) runs the timers and sends the INVITE once the number is complete. A number
 * is complete when it ends in ST (end of pulsing, address signal 15), or has max_digits.
 * Short of min_digits only Q.764's T35 runs (its expiry releases the call with cause 28,
 * address incomplete); from min_digits on the shorter digit timer runs, and its expiry
 * sends the number as it is. With overlap off every IAM's number is complete as received.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_OVERLAP_H
#define MGCF_OVERLAP_H

#include <stdbool.h>
#include <stddef.h>

struct mgcf_overlap_conf {
    bool enabled;           /* mgcf.overlap */
    unsigned min_digits;    /* mgcf.overlap_min_digits: fewer wait for more (T35) */
    unsigned max_digits;    /* mgcf.overlap_max_digits: complete at this many */
};

enum mgcf_overlap_verdict {
    MGCF_OVL_COMPLETE,      /* send the INVITE now */
    MGCF_OVL_SHORT,         /* fewer than min_digits: wait for a SAM (T35 runs) */
    MGCF_OVL_ENOUGH,        /* min_digits or more: a SAM may add some (the digit timer runs) */
};

/*
 * mgcf_overlap_append - append the address signals @more (a SAM's subsequent number, or
 * the IAM's called number to an empty @digits) to @digits (@cap octets, NUL-terminated).
 * An ST at the end of @more is not copied: *@st is set instead.
 * Returns 0; -EINVAL when @digits already ended (ST seen), when @more is empty, has an ST
 * before its end, or a signal other than 0-9 (codes 11 to 14 are not dialled digits here);
 * -E2BIG when the number would not fit in @cap (or MGCF_ISUP_DIGITS_MAX) digits.
 * @digits is left as it was on error.
 */
int mgcf_overlap_append(char *digits, size_t cap, const char *more, bool *st);

/* The verdict on @digits (no ST in them) collected so far; @st: an ST was received */
enum mgcf_overlap_verdict mgcf_overlap_judge(const struct mgcf_overlap_conf *c,
                                             const char *digits, bool st);

/* "complete", "short", "enough" */
const char *mgcf_overlap_verdict_name(enum mgcf_overlap_verdict v);

#endif
