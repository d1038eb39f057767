/*
 * overlap.c - the called number of an overlap call, collected from IAM and SAMs (see
 * overlap.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "overlap.h"
#include "isup.h"

#include <errno.h>
#include <string.h>

int mgcf_overlap_append(char *digits, size_t cap, const char *more, bool *st)
{
    size_t have = strlen(digits);
    size_t n = strlen(more);
    if (*st || n == 0)
        return -EINVAL;
    bool ends = more[n - 1] == 'F' || more[n - 1] == 'f';
    size_t add = ends ? n - 1 : n;
    if (strspn(more, "0123456789") != add)
        return -EINVAL;             /* a non-digit, or an ST before the end */
    if (have + add >= cap || have + add > MGCF_ISUP_DIGITS_MAX)
        return -E2BIG;
    memcpy(digits + have, more, add);
    digits[have + add] = '\0';
    *st = ends;
    return 0;
}

enum mgcf_overlap_verdict mgcf_overlap_judge(const struct mgcf_overlap_conf *c,
                                             const char *digits, bool st)
{
    size_t n = strlen(digits);
    if (!c->enabled || st || n >= c->max_digits)
        return MGCF_OVL_COMPLETE;
    return n < c->min_digits ? MGCF_OVL_SHORT : MGCF_OVL_ENOUGH;
}

const char *mgcf_overlap_verdict_name(enum mgcf_overlap_verdict v)
{
    switch (v) {
    case MGCF_OVL_COMPLETE: return "complete";
    case MGCF_OVL_SHORT:    return "short";
    case MGCF_OVL_ENOUGH:   return "enough";
    }
    return "?";
}
