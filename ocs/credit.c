/*
 * credit.c - reservation arithmetic: what may be granted, what is charged, when to stop
 *
 * A prepaid account's available credit is its balance less its open reservations; a grant
 * reserves granted units x price, and the usage reported later is charged within that
 * reservation, so the balance never goes below what is reserved. A postpaid account has
 * no limit: every request is granted in full and usage is charged as reported.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"

#include <stdint.h>

/* Units above this are clamped: CC-Time is 32 bits and the money must not overflow. */
#define UNITS_MAX 0x7fffffffULL

int64_t ocs_credit_available(const struct ocs_account *a)
{
    if (a->postpaid)
        return INT64_MAX;
    int64_t avail = a->balance - a->reserved;
    return avail > 0 ? avail : 0;
}

uint64_t ocs_credit_grantable(const struct ocs_account *a, int64_t price, uint64_t want)
{
    if (want > UNITS_MAX)
        want = UNITS_MAX;
    if (a->postpaid || price <= 0)
        return want;
    uint64_t can = (uint64_t)ocs_credit_available(a) / (uint64_t)price;
    return can < want ? can : want;
}

int64_t ocs_credit_charge(const struct ocs_account *a, int64_t price, uint64_t used,
                          uint64_t granted)
{
    if (price <= 0)
        return 0;
    if (used > UNITS_MAX)
        used = UNITS_MAX;
    if (!a->postpaid && used > granted)
        used = granted;   /* never past the reservation */
    return (int64_t)used * price;
}

bool ocs_credit_final(const struct ocs_account *a_after, int64_t price, uint64_t granted,
                      uint64_t want)
{
    if (a_after->postpaid || price <= 0)
        return false;
    return granted < want || ocs_credit_available(a_after) < price;
}
