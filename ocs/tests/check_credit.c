/*
 * check_credit.c - reservation arithmetic, and sessions against a real database: ECUR
 * charges and releases, IEC, Final-Unit-Indication, and no overdraw under concurrency
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
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
