/*
 * credit.c - reservation arithmetic: what may be granted, what is charged, when to stop
 *
 * A prepaid account's available credit is its balance less its open reservations; a grant
 * reserves granted units x price, and the usage reported later is charged within that
 * reservation, so the balance never goes below what is reserved. A postpaid account has
 * no credit limit, only the ranges of ocs.h: requests are granted and usage is charged as
 * reported while its balance and reservations stay within them.
 *
 * Every input may come from a peer (units) or a hand-edited database (balances, prices):
 * units are clamped or refused past OCS_UNITS_MAX, stored amounts are clamped into their
 * ranges before use, and products are checked, so no result overflows or turns negative.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ocs.h"

#include <errno.h>
#include <stdint.h>

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int ocs_credit_price(uint64_t units, int64_t price, int64_t *cost)
{
    int64_t v;
    if (units > OCS_UNITS_MAX || price < 0 || price > OCS_PRICE_MAX)
        return -ERANGE;
    if (__builtin_mul_overflow((int64_t)units, price, &v))
        return -ERANGE;   /* cannot happen within the ranges; kept as the proof */
    *cost = v;
    return 0;
}

uint64_t ocs_units_add(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

/* The account's balance and reservations clamped into their ranges (ocs.h). */
static void in_range(const struct ocs_account *a, int64_t *balance, int64_t *reserved)
{
    *balance = clamp(a->balance, -OCS_MONEY_MAX, OCS_MONEY_MAX);
    *reserved = clamp(a->reserved, 0, OCS_MONEY_MAX);
}

int64_t ocs_credit_available(const struct ocs_account *a)
{
    int64_t balance, reserved, avail;
    in_range(a, &balance, &reserved);
    if (a->postpaid) {
        /* room before the reservations pass the maximum or the balance its floor */
        int64_t to_floor = balance + OCS_MONEY_MAX;
        avail = OCS_MONEY_MAX - reserved;
        if (to_floor < avail)
            avail = to_floor;
    } else {
        avail = balance - reserved;
    }
    return avail > 0 ? avail : 0;
}

uint64_t ocs_credit_grantable(const struct ocs_account *a, int64_t price, uint64_t want)
{
    want = min_u64(want, OCS_UNITS_MAX);
    if (price < 0 || price > OCS_PRICE_MAX)
        return 0;
    if (price == 0)
        return want;
    return min_u64(want, (uint64_t)ocs_credit_available(a) / (uint64_t)price);
}

int64_t ocs_credit_charge(const struct ocs_account *a, int64_t price, uint64_t used,
                          uint64_t granted)
{
    int64_t balance, reserved, money;
    used = min_u64(used, OCS_UNITS_MAX);
    if (!a->postpaid)
        used = min_u64(used, granted);   /* never past the reservation */
    if (ocs_credit_price(used, price, &money) != 0)
        return 0;
    if (a->postpaid) {
        in_range(a, &balance, &reserved);
        money = clamp(money, 0, balance + OCS_MONEY_MAX);
    }
    return money;
}

bool ocs_credit_final(const struct ocs_account *a_after, int64_t price, uint64_t granted,
                      uint64_t want)
{
    if (a_after->postpaid || price <= 0)
        return false;
    return granted < want || ocs_credit_available(a_after) < price;
}
