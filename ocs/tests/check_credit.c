/*
 * check_credit.c - reservation arithmetic, and sessions against a real database: ECUR
 * charges and releases, IEC, Final-Unit-Indication, and no overdraw under concurrency
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ro.h"

static struct ocs o;
static char dir[64];

static void setup(void)
{
    ims_log_init("check_credit", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    snprintf(dir, sizeof(dir), "/tmp/check-credit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&o, 0, sizeof(o));
    snprintf(o.db_path, sizeof(o.db_path), "%s/ocs.db", dir);
    ck_assert_int_eq(ims_db_open(&o.db, o.db_path, ocs_db_migrations, ocs_db_nmigrations), 0);
    o.cfg.quota_time = 60;
    o.cfg.quota_units = 1;
    o.cfg.validity_time = 300;
    o.cfg.reservation_timeout = 900;
    o.cfg.max_sessions = 100000;
    char field[64], err[200];
    json_t *acct = json_pack("{s:s, s:s, s:i, s:[s]}", "name", "alice", "type", "prepaid",
                             "balance", 100, "identities", "sip:alice@example.org");
    ck_assert_int_eq(ocs_account_put(o.db, acct, true, NULL, field, sizeof(field), err,
                                     sizeof(err)), 0);
    json_decref(acct);
    struct ocs_rate voice = { 0, "voice", "", OCS_UNIT_SECOND, 1, "" };
    struct ocs_rate msg = { 0, "message", "", OCS_UNIT_EVENT, 10, "" };
    ck_assert_int_eq(ocs_rate_put(o.db, &voice), 0);
    ck_assert_int_eq(ocs_rate_put(o.db, &msg), 0);
}

static void teardown(void)
{
    char cmd[128];
    ims_db_close(o.db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct ocs_account account(void)
{
    struct ocs_account a;
    ck_assert_int_eq(ocs_account_get(o.db, "alice", &a), 0);
    return a;
}

/* a request of @type in session @sid asking @want seconds and reporting @used */
static struct ro_request request(int type, const char *sid, uint64_t want, uint64_t used)
{
    struct ro_request q;
    memset(&q, 0, sizeof(q));
    q.type = type;
    snprintf(q.session_id, sizeof(q.session_id), "%s", sid);
    snprintf(q.origin, sizeof(q.origin), "scscf.example.org");
    snprintf(q.subscription[0], sizeof(q.subscription[0]), "sip:alice@example.org");
    q.nsubscriptions = 1;
    snprintf(q.method, sizeof(q.method), "INVITE");
    q.nunits = 1;
    q.units[0].key = -1;
    q.units[0].rsu_time_set = want > 0;
    q.units[0].rsu_time = want;
    q.units[0].usu_time_set = used > 0;
    q.units[0].usu_time = used;
    return q;
}

/* a MESSAGE request of @type asking @want events */
static struct ro_request message(int type, const char *sid, uint64_t want)
{
    struct ro_request q = request(type, sid, 0, 0);
    snprintf(q.method, sizeof(q.method), "MESSAGE");
    q.units[0].rsu_units_set = want > 0;
    q.units[0].rsu_units = want;
    return q;
}

START_TEST(arithmetic)
{
    struct ocs_account pre = { .balance = 100, .reserved = 30 };
    struct ocs_account post = { .postpaid = true, .balance = -50 };
    ck_assert_int_eq(ocs_credit_available(&pre), 70);
    ck_assert_uint_eq(ocs_credit_grantable(&pre, 1, 60), 60);
    ck_assert_uint_eq(ocs_credit_grantable(&pre, 1, 100), 70);
    ck_assert_uint_eq(ocs_credit_grantable(&pre, 3, 100), 23);    /* 69 of 70 */
    ck_assert_uint_eq(ocs_credit_grantable(&pre, 71, 1), 0);
    ck_assert_uint_eq(ocs_credit_grantable(&post, 5, 1000), 1000);
    /* a prepaid account is never charged past the grant; a postpaid one is */
    ck_assert_int_eq(ocs_credit_charge(&pre, 2, 50, 30), 60);
    ck_assert_int_eq(ocs_credit_charge(&pre, 2, 10, 30), 20);
    ck_assert_int_eq(ocs_credit_charge(&post, 2, 50, 30), 100);
    /* final: less than asked, or nothing left for one more unit */
    ck_assert(ocs_credit_final(&pre, 1, 10, 60));
    struct ocs_account after = { .balance = 100, .reserved = 100 };
    ck_assert(ocs_credit_final(&after, 1, 60, 60));
    ck_assert(!ocs_credit_final(&pre, 1, 60, 60));
    ck_assert(!ocs_credit_final(&post, 1, 10, 60));
    /* overdrawn prepaid (should not happen): nothing available, never negative */
    struct ocs_account bad = { .balance = 10, .reserved = 20 };
    ck_assert_int_eq(ocs_credit_available(&bad), 0);
}
END_TEST

START_TEST(ecur_reserve_charge_release)
{
    struct ro_request q = request(1, "s1", 40, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_uint_eq(q.units[0].granted, 40);
    ck_assert(!q.units[0].final);
    ck_assert_int_eq(account().reserved, 40);
    q = request(2, "s1", 40, 35);
    q.number = 1;
    struct ro_request again = q;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1010), 0);
    ck_assert_uint_eq(q.units[0].granted, 40);
    ck_assert_int_eq(account().balance, 65);
    ck_assert_int_eq(account().reserved, 40);
    /* the same CCR-UPDATE again (T flag): the same grant, not charged twice */
    ck_assert_int_eq(ocs_session_process(&o, &again, 1011), 0);
    ck_assert_uint_eq(again.result, 2001);
    ck_assert_uint_eq(again.units[0].granted, 40);
    ck_assert_int_eq(account().balance, 65);
    ck_assert_int_eq(account().reserved, 40);
    q = request(3, "s1", 0, 12);
    q.number = 2;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1020), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(account().balance, 53);
    ck_assert_int_eq(account().reserved, 0);
    /* the session is closed now */
    q = request(2, "s1", 40, 1);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1030), 0);
    ck_assert_uint_eq(q.result, 5002);
}
END_TEST

START_TEST(final_unit_and_credit_limit)
{
    struct ro_request q = request(1, "s2", 150, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.units[0].granted, 100);
    ck_assert(q.units[0].final);
    q = request(2, "s2", 60, 100);
    q.number = 1;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1010), 0);
    ck_assert_uint_eq(q.result, 4012);
    ck_assert_uint_eq(q.units[0].granted, 0);
    ck_assert_int_eq(account().balance, 0);
    q = request(1, "s3", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1010), 0);
    ck_assert_uint_eq(q.result, 4012);
    ck_assert_int_eq(account().reserved, 0);
}
END_TEST

START_TEST(iec_debits_once_and_refuses_when_short)
{
    struct ro_request q = message(4, "e1", 3);
    struct ro_request again = q;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(q.cost, 30);
    ck_assert_int_eq(account().balance, 70);
    ck_assert_int_eq(ocs_session_process(&o, &again, 1001), 0);
    ck_assert_uint_eq(again.result, 2001);
    ck_assert_uint_eq(again.units[0].granted, 3);
    ck_assert_int_eq(account().balance, 70);
    struct ro_request big = message(4, "e2", 8);
    ck_assert_int_eq(ocs_session_process(&o, &big, 1002), 0);
    ck_assert_uint_eq(big.result, 4012);
    ck_assert_int_eq(account().balance, 70);
}
END_TEST

START_TEST(ecur_event_units_and_refund)
{
    /* ECUR for a MESSAGE: reserve 3 events, one sent, the rest released */
    struct ro_request q = message(1, "m1", 3);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(q.units[0].unit, OCS_UNIT_EVENT);
    ck_assert_uint_eq(q.units[0].granted, 3);
    ck_assert_int_eq(account().reserved, 30);
    q = request(3, "m1", 0, 0);
    q.number = 1;
    q.units[0].usu_units_set = true;
    q.units[0].usu_units = 1;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
    ck_assert_int_eq(account().balance, 90);
    ck_assert_int_eq(account().reserved, 0);
    /* REFUND_ACCOUNT gives the price of the units back; CHECK_BALANCE changes nothing */
    q = message(4, "r1", 0);
    q.action = ACTION_REFUND_ACCOUNT;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1002), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(q.cost, 10);
    ck_assert_int_eq(account().balance, 100);
    q = message(4, "c1", 0);
    q.action = ACTION_CHECK_BALANCE;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1003), 0);
    ck_assert_int_eq(q.check_balance, 0);
    ck_assert_int_eq(account().balance, 100);
}
END_TEST

START_TEST(unknown_user_and_no_rate)
{
    struct ro_request q = request(1, "u1", 10, 0);
    snprintf(q.subscription[0], sizeof(q.subscription[0]), "sip:nobody@example.org");
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 5030);
    q = request(4, "u2", 0, 0);
    snprintf(q.method, sizeof(q.method), "OPTIONS");
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 5031);
}
END_TEST

START_TEST(stale_reservation_released)
{
    struct ro_request q = request(1, "lost", 30, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_int_eq(account().reserved, 30);
    ck_assert_int_eq(ocs_ro_expire(&o, 1000 + 900), 0);    /* not yet */
    ck_assert_int_eq(ocs_ro_expire(&o, 1000 + 901), 1);
    ck_assert_int_eq(account().reserved, 0);
    ck_assert_int_eq(account().balance, 100);
    o.cfg.stale_action = OCS_STALE_DEBIT;
    q = request(1, "lost2", 30, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 2000), 0);
    ck_assert_int_eq(ocs_ro_expire(&o, 3000), 1);
    ck_assert_int_eq(account().balance, 70);
    ck_assert_int_eq(account().reserved, 0);
}
END_TEST

/* threads reserving on one account at once, as freeDiameter's dispatch threads do */
static void *reserve_many(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 20; i++) {
        char sid[32];
        snprintf(sid, sizeof(sid), "t%ld-%d", id, i);
        struct ro_request q = request(1, sid, 7, 0);
        ocs_lock();
        ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
        ocs_unlock();
        ck_assert(q.result == 2001 || q.result == 4012);
    }
    return NULL;
}

START_TEST(concurrent_reservations_never_overdraw)
{
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, reserve_many, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct ocs_account a = account();
    ck_assert_int_eq(a.reserved, 100);     /* 14 x 7 + 1 x 2 */
    ck_assert_int_le(a.reserved, a.balance);
    sqlite3_stmt *st = ims_db_stmt(o.db, "SELECT SUM(granted), COUNT(*) FROM reservations");
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 100);
    ck_assert_int_eq(sqlite3_column_int(st, 1), 15);
    sqlite3_reset(st);
    /* the database refuses an overdraw even if the logic did not */
    ck_assert_int_eq(ocs_account_move(o.db, a.id, 0, 1), -ENOSPC);
}
END_TEST


/* ---- attacker's numbers: a CCR never raises a balance, nothing overflows ---- */

#define U64_MAX 18446744073709551615ULL

static const uint64_t huge[] = { U64_MAX, 1ULL << 63, (1ULL << 62) + 1, (1ULL << 32) + 1 };
#define NHUGE (sizeof(huge) / sizeof(huge[0]))

START_TEST(iec_huge_units_never_credit)
{
    static const int actions[] = { ACTION_DIRECT_DEBITING, ACTION_REFUND_ACCOUNT,
                                   ACTION_CHECK_BALANCE, ACTION_PRICE_ENQUIRY };
    for (size_t i = 0; i < NHUGE; i++) {
        for (size_t k = 0; k < 4; k++) {
            char sid[32];
            snprintf(sid, sizeof(sid), "huge-%zu-%zu", i, k);
            struct ro_request q = message(4, sid, huge[i]);
            q.action = actions[k];
            ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
            ck_assert_msg(q.result != IMS_DIAM_SUCCESS, "%llu units, action %d: %u",
                          (unsigned long long)huge[i], actions[k], q.result);
            ck_assert_uint_eq(q.units[0].granted, 0);
            ck_assert_int_eq(account().balance, 100);
            ck_assert_int_eq(account().reserved, 0);
        }
    }
}
END_TEST

START_TEST(iec_at_zero_and_the_maximum)
{
    /* 0 units: the configured quota (1 event) */
    struct ro_request q = message(4, "zero", 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(q.cost, 10);
    ck_assert_int_eq(account().balance, 90);
    /* the most units there are: priced without overflow, refused for want of credit */
    q = message(4, "max", OCS_UNITS_MAX);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 4012);
    ck_assert_int_eq(account().balance, 90);
    q = message(4, "max-price", OCS_UNITS_MAX);
    q.action = ACTION_PRICE_ENQUIRY;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(q.cost, (int64_t)OCS_UNITS_MAX * 10);
    q = message(4, "max-check", OCS_UNITS_MAX);
    q.action = ACTION_CHECK_BALANCE;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_int_eq(q.check_balance, 1);
    /* one more than the maximum is out of range */
    q = message(4, "max+1", (uint64_t)OCS_UNITS_MAX + 1);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, IMS_DIAM_INVALID_AVP_VALUE);
    ck_assert_int_eq(account().balance, 90);
}
END_TEST

START_TEST(refund_limited_to_what_ro_charged)
{
    /* nothing charged yet: a refund would create money */
    struct ro_request q = message(4, "ref0", 1);
    q.action = ACTION_REFUND_ACCOUNT;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_ne(q.result, 2001);
    ck_assert_int_eq(account().balance, 100);
    /* 3 messages debited, 2 refunded, then 2 more refused (only 1 left to give back) */
    q = message(4, "deb1", 3);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
    ck_assert_int_eq(account().balance, 70);
    q = message(4, "ref1", 2);
    q.action = ACTION_REFUND_ACCOUNT;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1002), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(account().balance, 90);
    q = message(4, "ref2", 2);
    q.action = ACTION_REFUND_ACCOUNT;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1003), 0);
    ck_assert_uint_ne(q.result, 2001);
    ck_assert_int_eq(account().balance, 90);
    /* session charges count too: 40 s used of a voice session, refundable */
    q = request(1, "v1", 50, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1004), 0);
    q = request(3, "v1", 0, 40);
    q.number = 1;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1005), 0);
    ck_assert_int_eq(account().balance, 50);
    q = message(4, "ref3", 4);
    q.action = ACTION_REFUND_ACCOUNT;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1006), 0);
    ck_assert_uint_eq(q.result, 2001);
    ck_assert_int_eq(account().balance, 90);
}
END_TEST

START_TEST(ecur_huge_requested_and_used_units)
{
    for (size_t i = 0; i < NHUGE; i++) {
        char sid[32];
        snprintf(sid, sizeof(sid), "ecur-%zu", i);
        struct ro_request q = request(1, sid, huge[i], 0);
        ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
        ck_assert_uint_eq(q.result, 2001);
        ck_assert_uint_eq(q.units[0].granted, 100);    /* what the credit covers */
        ck_assert_int_eq(account().reserved, 100);
        /* huge usage reported: charged the grant at most, never credited */
        q = request(2, sid, huge[i], huge[i]);
        q.number = 1;
        q.units[0].usu_units_set = true;
        q.units[0].usu_units = huge[i];
        ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
        ck_assert_int_eq(account().balance, 0);
        ck_assert_int_eq(account().reserved, 0);
        q = request(3, sid, 0, huge[i]);
        q.number = 2;
        ck_assert_int_eq(ocs_session_process(&o, &q, 1002), 0);
        ck_assert_uint_eq(q.result, 2001);
        ck_assert_int_eq(account().balance, 0);
        ck_assert_int_eq(account().reserved, 0);
        struct ocs_account a = account();
        ck_assert_int_eq(ocs_account_move(o.db, a.id, 100, 0), 0);   /* back to 100 */
    }
}
END_TEST

START_TEST(postpaid_huge_usage_stays_in_range)
{
    char field[64], err[200];
    json_t *acct = json_pack("{s:s, s:s, s:[s]}", "name", "bob", "type", "postpaid",
                             "identities", "sip:bob@example.org");
    ck_assert_int_eq(ocs_account_put(o.db, acct, true, NULL, field, sizeof(field), err,
                                     sizeof(err)), 0);
    json_decref(acct);
    struct ocs_rate dear = { 0, "voice", "+1900", OCS_UNIT_SECOND, 100000000, "" };
    ck_assert_int_eq(ocs_rate_put(o.db, &dear), 0);
    struct ocs_account b;
    for (int i = 0; i < 40; i++) {
        char sid[32];
        snprintf(sid, sizeof(sid), "post-%d", i);
        struct ro_request q = request(1, sid, U64_MAX, 0);
        snprintf(q.subscription[0], sizeof(q.subscription[0]), "sip:bob@example.org");
        snprintf(q.called, sizeof(q.called), "tel:+19001234");
        ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
        ck_assert_int_eq(ocs_account_get(o.db, "bob", &b), 0);
        ck_assert_int_ge(b.reserved, 0);
        ck_assert_int_le(b.reserved, OCS_MONEY_MAX);
        q = request(3, sid, 0, U64_MAX);
        q.number = 1;
        ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
        ck_assert_int_eq(ocs_account_get(o.db, "bob", &b), 0);
        ck_assert_int_le(b.balance, 0);
        ck_assert_int_ge(b.balance, -OCS_MONEY_MAX);
        ck_assert_int_eq(b.reserved, 0);
    }
}
END_TEST

START_TEST(arithmetic_at_the_edges)
{
    struct ocs_account pre = { .balance = 100 };
    struct ocs_account post = { .postpaid = true };
    const uint64_t units[] = { 0, 1, OCS_UNITS_MAX, (uint64_t)OCS_UNITS_MAX + 1, 1ULL << 62,
                               (1ULL << 62) + 1, 1ULL << 63, U64_MAX };
    const int64_t prices[] = { 0, 1, 10, OCS_PRICE_MAX };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        for (size_t k = 0; k < sizeof(prices) / sizeof(prices[0]); k++) {
            uint64_t g = ocs_credit_grantable(&pre, prices[k], units[i]);
            ck_assert_uint_le(g, OCS_UNITS_MAX);
            ck_assert_uint_le(g, units[i]);
            g = ocs_credit_grantable(&post, prices[k], units[i]);
            ck_assert_uint_le(g, OCS_UNITS_MAX);
            int64_t c = ocs_credit_charge(&pre, prices[k], units[i], 100);
            ck_assert_int_ge(c, 0);
            ck_assert_int_le(c, 100 * prices[k]);
            c = ocs_credit_charge(&post, prices[k], units[i], 0);
            ck_assert_int_ge(c, 0);
            ck_assert_int_le(c, OCS_MONEY_MAX);
            int64_t cost = -1;
            int rc = ocs_credit_price(units[i], prices[k], &cost);
            if (units[i] <= OCS_UNITS_MAX) {
                ck_assert_int_eq(rc, 0);
                ck_assert_int_eq(cost, (int64_t)units[i] * prices[k]);
            } else {
                ck_assert_int_eq(rc, -ERANGE);
            }
        }
    }
    int64_t cost;
    ck_assert_int_eq(ocs_credit_price(1, -1, &cost), -ERANGE);
    ck_assert_int_eq(ocs_credit_price(1, OCS_PRICE_MAX + 1, &cost), -ERANGE);
    ck_assert_int_eq(ocs_credit_price(1, INT64_MAX, &cost), -ERANGE);
    /* saturating sums of several Used-Service-Units */
    ck_assert_uint_eq(ocs_units_add(1ULL << 63, 1ULL << 63), U64_MAX);
    ck_assert_uint_eq(ocs_units_add(U64_MAX, 1), U64_MAX);
    ck_assert_uint_eq(ocs_units_add(2, 3), 5);
    /* odd stored values (a hand-edited database) never make credit appear */
    struct ocs_account odd = { .balance = INT64_MIN, .reserved = INT64_MAX };
    ck_assert_int_eq(ocs_credit_available(&odd), 0);
    odd.balance = INT64_MAX;
    odd.reserved = INT64_MIN;
    ck_assert_int_le(ocs_credit_available(&odd), OCS_MONEY_MAX);
}
END_TEST

START_TEST(balance_moves_stay_in_range)
{
    struct ocs_account a = account();
    ck_assert_int_eq(ocs_account_move(o.db, a.id, OCS_MONEY_MAX, 0), -ERANGE);
    ck_assert_int_eq(ocs_account_move(o.db, a.id, INT64_MAX, 0), -ERANGE);
    ck_assert_int_eq(ocs_account_move(o.db, a.id, INT64_MIN, 0), -ERANGE);
    ck_assert_int_eq(ocs_account_move(o.db, a.id, 0, INT64_MAX), -ERANGE);
    ck_assert_int_eq(account().balance, 100);
    ck_assert_int_eq(ocs_account_move(o.db, a.id, OCS_MONEY_MAX - 100, 0), 0);
    ck_assert_int_eq(account().balance, OCS_MONEY_MAX);
    ck_assert_int_eq(ocs_account_move(o.db, a.id, 1, 0), -ERANGE);
    ck_assert_int_eq(account().balance, OCS_MONEY_MAX);
}
END_TEST

START_TEST(too_many_sessions_too_busy)
{
    o.cfg.max_sessions = 2;
    struct ro_request q = request(1, "b1", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    q = request(1, "b2", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    q = request(1, "b3", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, IMS_DIAM_TOO_BUSY);
    ck_assert_int_eq(account().reserved, 20);
    /* events keep no session: still served */
    q = message(4, "b-ev", 1);
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    /* one ends (TERMINATION), one is lost (timeout): room for two again */
    q = request(3, "b1", 0, 5);
    q.number = 1;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
    ck_assert_int_eq(ocs_ro_sessions_open(o.db), 1);
    ck_assert_int_eq(ocs_ro_expire(&o, 1000 + 901), 1);
    ck_assert_int_eq(ocs_ro_sessions_open(o.db), 0);
    q = request(1, "b4", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 2000), 0);
    ck_assert_uint_eq(q.result, 2001);
    /* a refused INITIAL (no credit) opens nothing */
    q = request(1, "b5", 10, 0);
    snprintf(q.subscription[0], sizeof(q.subscription[0]), "sip:nobody@example.org");
    ck_assert_int_eq(ocs_session_process(&o, &q, 2000), 0);
    ck_assert_int_eq(ocs_ro_sessions_open(o.db), 1);
}
END_TEST

static int64_t count_sql(struct ims_db *db, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(counters_follow_the_tables)
{
    for (int i = 0; i < 6; i++) {
        char sid[16];
        snprintf(sid, sizeof(sid), "c%d", i);
        struct ro_request q = request(1, sid, 10, 0);
        q.nunits = 2;
        q.units[0].mscc = q.units[1].mscc = true;
        q.units[0].key = 1;
        q.units[1].key = 2;
        q.units[1].rsu_time_set = true;
        q.units[1].rsu_time = 5;
        ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    }
    struct ro_request q = request(3, "c0", 0, 3);
    q.number = 1;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1001), 0);
    ck_assert_int_eq(ocs_ro_expire(&o, 1000 + 901), 5);
    q = request(1, "c9", 10, 0);
    ck_assert_int_eq(ocs_session_process(&o, &q, 2000), 0);
    ck_assert_int_eq(ocs_db_counter(o.db, "ro_sessions"),
                     count_sql(o.db, "SELECT COUNT(DISTINCT session_id) FROM reservations "
                                     "WHERE open"));
    ck_assert_int_eq(ocs_db_counter(o.db, "ro_sessions"), 1);
    ck_assert_int_eq(ocs_db_counter(o.db, "reservations_open"),
                     count_sql(o.db, "SELECT COUNT(*) FROM reservations WHERE open"));
    ck_assert_int_eq(ocs_db_counter(o.db, "reserved"),
                     count_sql(o.db, "SELECT TOTAL(reserved) FROM accounts"));
    ck_assert_int_eq(ocs_db_counter(o.db, "reserved"), 10);
    ck_assert_int_eq(ocs_db_counter(o.db, "accounts"), 1);
    /* the history past ocs.history_days goes, the open session stays */
    o.cfg.history_days = 1;
    ck_assert_int_eq(ocs_ro_forget(&o, 1000 + 86400, 100), 0);
    /* 12 closed units and the one the TERMINATION of c0 named anew */
    ck_assert_int_eq(ocs_ro_forget(&o, 1902 + 86400, 4), 4);
    ck_assert_int_eq(ocs_ro_forget(&o, 1902 + 86400, 100), 9);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM reservations"), 1);
    ck_assert_int_eq(ocs_db_counter(o.db, "reservations_open"), 1);
}
END_TEST

START_TEST(migration_seeds_refundable_and_counters)
{
    /* a database of schema 1 with charges on record, then opened by this version */
    char path[96];
    struct ims_db *db;
    snprintf(path, sizeof(path), "%s/v1.db", dir);
    ck_assert_int_eq(ims_db_open(&db, path, ocs_db_migrations, 1), 0);
    ck_assert_int_eq(ims_db_exec(db,
        "INSERT INTO accounts (id, name, balance, reserved, created, updated) VALUES "
        "(1, 'a', 500, 20, 0, 0), (2, 'b', 0, 0, 0, 0);"
        "INSERT INTO reservations (session_id, unit_key, account_id, service, destination, "
        "rate_id, unit, price, granted, amount, charged_total, cc_number, origin_host, open, "
        "created, updated) VALUES ('s1', -1, 1, 'voice', '', 1, 0, 1, 20, 20, 30, 0, 'x', 1, "
        "0, 0), ('s2', -1, 1, 'voice', '', 1, 0, 1, 0, 0, 12, 1, 'x', 0, 0, 0);"
        "INSERT INTO ro_events (session_id, account_id, action, units, unit, amount, result, "
        "created) VALUES ('e1', 1, 0, 1, 1, 10, 2001, 0), ('e2', 1, 1, 1, 1, 4, 2001, 0), "
        "('e3', 1, 0, 1, 1, 99, 4012, 0), ('e4', 2, 1, 1, 1, 7, 2001, 0);"), 0);
    ims_db_close(db);
    ck_assert_int_eq(ims_db_open(&db, path, ocs_db_migrations, ocs_db_nmigrations), 0);
    struct ocs_account a;
    ck_assert_int_eq(ocs_account_get(db, "a", &a), 0);
    ck_assert_int_eq(a.refundable, 30 + 12 + 10 - 4);
    ck_assert_int_eq(ocs_account_get(db, "b", &a), 0);
    ck_assert_int_eq(a.refundable, 0);
    ck_assert_int_eq(ocs_db_counter(db, "accounts"), 2);
    ck_assert_int_eq(ocs_db_counter(db, "reserved"), 20);
    ck_assert_int_eq(ocs_db_counter(db, "reservations_open"), 1);
    ck_assert_int_eq(ocs_ro_sessions_open(db), 1);
    ims_db_close(db);
}
END_TEST

START_TEST(units_of_a_session_are_bounded)
{
    /* rating groups added 8 per CCR-UPDATE stop at OCS_MAX_SESSION_UNITS */
    struct ro_request q = request(1, "many", 1, 0);
    q.units[0].mscc = true;
    q.units[0].key = 0;
    ck_assert_int_eq(ocs_session_process(&o, &q, 1000), 0);
    ck_assert_uint_eq(q.result, 2001);
    int refused = 0;
    for (uint32_t n = 1; n <= 5; n++) {
        q = request(2, "many", 1, 0);
        q.number = n;
        q.nunits = OCS_MAX_UNITS;
        for (int i = 0; i < OCS_MAX_UNITS; i++) {
            q.units[i] = q.units[0];
            q.units[i].mscc = true;
            q.units[i].key = (int64_t)n * 100 + i;
        }
        ck_assert_int_eq(ocs_session_process(&o, &q, 1000 + n), 0);
        for (int i = 0; i < OCS_MAX_UNITS; i++)
            refused += q.units[i].result == IMS_DIAM_INVALID_AVP_VALUE;
    }
    ck_assert_int_eq(refused, 1 + 5 * OCS_MAX_UNITS - OCS_MAX_SESSION_UNITS);
    ck_assert_int_eq(count_sql(o.db, "SELECT COUNT(*) FROM reservations WHERE "
                                     "session_id = 'many'"), OCS_MAX_SESSION_UNITS);
}
END_TEST

static Suite *credit_suite(void)
{
    Suite *s = suite_create("credit");
    TCase *tc = tcase_create("credit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, arithmetic);
    tcase_add_test(tc, ecur_reserve_charge_release);
    tcase_add_test(tc, final_unit_and_credit_limit);
    tcase_add_test(tc, iec_debits_once_and_refuses_when_short);
    tcase_add_test(tc, ecur_event_units_and_refund);
    tcase_add_test(tc, unknown_user_and_no_rate);
    tcase_add_test(tc, stale_reservation_released);
    tcase_add_test(tc, concurrent_reservations_never_overdraw);
    tcase_add_test(tc, iec_huge_units_never_credit);
    tcase_add_test(tc, iec_at_zero_and_the_maximum);
    tcase_add_test(tc, refund_limited_to_what_ro_charged);
    tcase_add_test(tc, ecur_huge_requested_and_used_units);
    tcase_add_test(tc, postpaid_huge_usage_stays_in_range);
    tcase_add_test(tc, arithmetic_at_the_edges);
    tcase_add_test(tc, balance_moves_stay_in_range);
    tcase_add_test(tc, too_many_sessions_too_busy);
    tcase_add_test(tc, counters_follow_the_tables);
    tcase_add_test(tc, units_of_a_session_are_bounded);
    tcase_add_test(tc, migration_seeds_refundable_and_counters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(credit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
