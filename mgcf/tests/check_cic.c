/*
 * check_cic.c - trunks and circuits (mgcf/cic.c): configuration items, the choice of a
 * circuit, dual seizure control (Q.764 2.10.1.4), blocking and reset bookkeeping
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "cic.h"

static struct mgcf_trunk t;

static void trunk(const char *item)
{
    char err[200];
    ck_assert_msg(mgcf_trunk_parse(item, &t, err, sizeof(err)) == 0, "%s: %s", item, err);
}

static void untrunk(void)
{
    mgcf_trunk_free(&t);
}

START_TEST(parse_items)
{
    trunk("pstn dpc=2002 cics=1-31");
    ck_assert_str_eq(t.name, "pstn");
    ck_assert_uint_eq(t.dpc, 2002);
    ck_assert_uint_eq(t.first, 1);
    ck_assert_uint_eq(t.last, 31);
    ck_assert_uint_eq(mgcf_trunk_size(&t), 31);
    ck_assert_uint_eq(t.n_prefixes, 0);
    for (unsigned i = 0; i < 31; i++) {
        ck_assert_uint_eq(t.circuits[i].cic, i + 1);
        ck_assert_int_eq(t.circuits[i].state, MGCF_CIC_RESET);   /* until reset */
    }
    untrunk();
    trunk("intl_1 cics=100-163 dpc=16383 prefix=+44 prefix=+33");
    ck_assert_uint_eq(t.n_prefixes, 2);
    ck_assert_str_eq(t.prefixes[0], "44");
    ck_assert_str_eq(t.prefixes[1], "33");
    untrunk();
}
END_TEST

START_TEST(parse_refusals)
{
    static const char *const bad[] = {
        "", "1pstn dpc=1 cics=1-2", "ps-tn dpc=1 cics=1-2", "pstn dpc=1", "pstn cics=1-2",
        "pstn dpc=x cics=1-2", "pstn dpc=16777216 cics=1-2", "pstn dpc=1 cics=5-4",
        "pstn dpc=1 cics=1-4096", "pstn dpc=1 cics=1", "pstn dpc=1 cics=1-2 prefix=44",
        "pstn dpc=1 cics=1-2 prefix=+4a", "pstn dpc=1 cics=1-2 colour=red",
        "pstn dpc=1 cics=1-2 junk",
    };
    char err[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mgcf_trunk x;
        ck_assert_msg(mgcf_trunk_parse(bad[i], &x, err, sizeof(err)) == -EINVAL, "%s", bad[i]);
        ck_assert_msg(strstr(err, "trunk") != NULL, "%s: %s", bad[i], err);
        mgcf_trunk_free(&x);
    }
    ck_assert_int_eq(mgcf_trunk_check_item("pstn dpc=1 cics=1-2", err, sizeof(err)), 0);
    ck_assert_int_eq(mgcf_trunk_check_item("pstn dpc=1 cics=2-1", err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(trunk_for_number)
{
    struct mgcf_trunk ts[3];
    char err[200];
    ck_assert_int_eq(mgcf_trunk_parse("any dpc=1 cics=1-2", &ts[0], err, sizeof(err)), 0);
    ck_assert_int_eq(mgcf_trunk_parse("uk dpc=2 cics=1-2 prefix=+44", &ts[1], err,
                                      sizeof(err)), 0);
    ck_assert_int_eq(mgcf_trunk_parse("london dpc=3 cics=1-2 prefix=+4420", &ts[2], err,
                                      sizeof(err)), 0);
    ck_assert_str_eq(mgcf_trunk_for(ts, 3, "442071234567")->name, "london");
    ck_assert_str_eq(mgcf_trunk_for(ts, 3, "441611234567")->name, "uk");
    ck_assert_str_eq(mgcf_trunk_for(ts, 3, "19995550100")->name, "any");
    ck_assert_ptr_null(mgcf_trunk_for(ts + 1, 2, "19995550100"));   /* no default trunk */
    for (int i = 0; i < 3; i++)
        mgcf_trunk_free(&ts[i]);
}
END_TEST

START_TEST(dual_seizure_control)
{
    /* the higher point code controls the even circuits */
    ck_assert(mgcf_cic_controlled(2002, 1001, 4));
    ck_assert(!mgcf_cic_controlled(2002, 1001, 5));
    ck_assert(!mgcf_cic_controlled(1001, 2002, 4));
    ck_assert(mgcf_cic_controlled(1001, 2002, 5));
}
END_TEST

static void all_idle(void)
{
    ck_assert_uint_eq(mgcf_trunk_reset_done(&t, t.first, (uint8_t)(t.last - t.first), 0),
                      mgcf_trunk_size(&t));
}

START_TEST(select_controlled_first)
{
    int call = 1;
    trunk("pstn dpc=2002 cics=1-6");
    ck_assert_ptr_null(mgcf_trunk_select(&t, 1001));   /* not reset yet: none usable */
    all_idle();
    /* point code 1001 < 2002: we control the odd circuits; they go first, round robin */
    struct mgcf_circuit *c = mgcf_trunk_select(&t, 1001);
    ck_assert_uint_eq(c->cic, 1);
    mgcf_circuit_take(c, &call);
    ck_assert_uint_eq(mgcf_trunk_select(&t, 1001)->cic, 3);
    mgcf_circuit_take(mgcf_trunk_circuit(&t, 3), &call);
    mgcf_circuit_take(mgcf_trunk_circuit(&t, 5), &call);
    ck_assert_uint_eq(mgcf_trunk_select(&t, 1001)->cic % 2, 0);   /* then the others */
    mgcf_trunk_circuit(&t, 2)->local_blocked = true;
    mgcf_trunk_circuit(&t, 4)->remote_blocked = true;
    mgcf_trunk_circuit(&t, 6)->rsc_pending = true;
    ck_assert_ptr_null(mgcf_trunk_select(&t, 1001));   /* blocked or resetting: none */
    mgcf_circuit_release(mgcf_trunk_circuit(&t, 3), &call);
    ck_assert_uint_eq(mgcf_trunk_select(&t, 1001)->cic, 3);
    int other = 2;
    mgcf_circuit_release(mgcf_trunk_circuit(&t, 5), &other);      /* not its call: kept */
    ck_assert_int_eq(mgcf_trunk_circuit(&t, 5)->state, MGCF_CIC_BUSY);
    untrunk();
}
END_TEST

START_TEST(incoming_iam)
{
    int call = 1;
    trunk("pstn dpc=2002 cics=1-8");
    all_idle();
    struct mgcf_circuit *c = mgcf_trunk_circuit(&t, 2);
    c->remote_blocked = true;
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_CALL), MGCF_SEIZE_OK);
    ck_assert(!c->remote_blocked);                     /* an IAM unblocks */
    mgcf_circuit_take(c, &call);
    /* our IAM out on 2 (even: the peer, 2002, controls it) and theirs crossing it */
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_SEIZING), MGCF_SEIZE_DUAL_YIELD);
    c = mgcf_trunk_circuit(&t, 3);
    mgcf_circuit_take(c, &call);
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_SEIZING), MGCF_SEIZE_DUAL_KEEP);
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_CALL), MGCF_SEIZE_BUSY);
    c = mgcf_trunk_circuit(&t, 4);
    c->local_blocked = true;
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_CALL), MGCF_SEIZE_BLOCKED);
    c = mgcf_trunk_circuit(&t, 5);
    c->state = MGCF_CIC_RESET;
    c->rsc_pending = true;
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_CALL), MGCF_SEIZE_UNRESET);
    c = mgcf_trunk_circuit(&t, 6);
    c->state = MGCF_CIC_RESET;                          /* our GRS crossing their IAM */
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_CALL), MGCF_SEIZE_OK);
    ck_assert_int_eq(c->state, MGCF_CIC_IDLE);
    untrunk();
}
END_TEST

/* A circuit our outgoing call chose but sent no IAM on: the peer saw it idle, its IAM wins
 * whichever exchange controls it (no dual seizure); blocked here, it is refused all the same */
START_TEST(incoming_iam_on_an_unsignalled_circuit)
{
    int call = 1;
    trunk("pstn dpc=2002 cics=1-8");
    all_idle();
    for (uint16_t cic = 3; cic <= 4; cic++) {           /* ours to control, then the peer's */
        struct mgcf_circuit *c = mgcf_trunk_circuit(&t, cic);
        mgcf_circuit_take(c, &call);
        ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_UNSIGNALLED),
                         MGCF_SEIZE_MOVE);
        ck_assert_int_eq(c->state, MGCF_CIC_BUSY);      /* ours until the call moves */
        ck_assert_ptr_eq(c->call, &call);
    }
    struct mgcf_circuit *c = mgcf_trunk_circuit(&t, 5);
    mgcf_circuit_take(c, &call);
    c->local_blocked = true;
    ck_assert_int_eq(mgcf_circuit_incoming(c, 1001, 2002, MGCF_USE_UNSIGNALLED),
                     MGCF_SEIZE_BLOCKED);
    untrunk();
}
END_TEST

START_TEST(reset_plan)
{
    struct mgcf_reset_group g[8];
    trunk("pstn dpc=2002 cics=1-31");
    ck_assert_int_eq(mgcf_trunk_reset_plan(&t, g, 8), 1);
    ck_assert_uint_eq(g[0].first, 1);
    ck_assert_uint_eq(g[0].range, 30);
    untrunk();
    trunk("big dpc=2002 cics=0-64");                   /* 65 circuits: 32 + 32 + 1 (RSC) */
    ck_assert_int_eq(mgcf_trunk_reset_plan(&t, g, 8), 3);
    ck_assert_uint_eq(g[0].first, 0);
    ck_assert_uint_eq(g[0].range, 31);
    ck_assert_uint_eq(g[1].first, 32);
    ck_assert_uint_eq(g[1].range, 31);
    ck_assert_uint_eq(g[2].first, 64);
    ck_assert_uint_eq(g[2].range, 0);
    ck_assert_int_eq(mgcf_trunk_reset_plan(&t, g, 2), -ENOSPC);
    untrunk();
}
END_TEST

START_TEST(peer_reset)
{
    int a = 1, b = 2;
    void *calls[MGCF_GROUP_MAX];
    unsigned n;
    trunk("pstn dpc=2002 cics=1-10");
    all_idle();
    mgcf_circuit_take(mgcf_trunk_circuit(&t, 2), &a);
    mgcf_circuit_take(mgcf_trunk_circuit(&t, 9), &b);
    mgcf_trunk_circuit(&t, 3)->local_blocked = true;
    mgcf_trunk_circuit(&t, 4)->remote_blocked = true;
    uint32_t status = mgcf_trunk_peer_reset(&t, 1, 4, calls, &n);   /* GRS 1-5 */
    ck_assert_uint_eq(status, 1u << 2);                /* CIC 3 is blocked here (GRA) */
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(calls[0], &a);
    ck_assert_int_eq(mgcf_trunk_circuit(&t, 2)->state, MGCF_CIC_IDLE);
    ck_assert_ptr_null(mgcf_trunk_circuit(&t, 2)->call);
    ck_assert(!mgcf_trunk_circuit(&t, 4)->remote_blocked);
    ck_assert_int_eq(mgcf_trunk_circuit(&t, 9)->state, MGCF_CIC_BUSY);   /* outside */
    /* a reset of circuits the trunk does not all have: only its own count */
    mgcf_trunk_peer_reset(&t, 9, 5, calls, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(calls[0], &b);
    untrunk();
}
END_TEST

START_TEST(our_reset_acknowledged)
{
    trunk("pstn dpc=2002 cics=1-4");
    ck_assert_uint_eq(mgcf_trunk_reset_done(&t, 1, 3, 1u << 1), 4);   /* GRA: CIC 2 blocked */
    ck_assert(mgcf_trunk_circuit(&t, 2)->remote_blocked);
    ck_assert(!mgcf_circuit_available(mgcf_trunk_circuit(&t, 2)));
    ck_assert(mgcf_circuit_available(mgcf_trunk_circuit(&t, 1)));
    struct mgcf_circuit *c = mgcf_trunk_circuit(&t, 4);
    c->state = MGCF_CIC_RESET;
    c->rsc_pending = true;
    ck_assert_uint_eq(mgcf_trunk_reset_done(&t, 4, 0, 0), 1);      /* the RLC of our RSC */
    ck_assert(mgcf_circuit_available(c));
    struct mgcf_trunk_counts k;
    mgcf_trunk_count(&t, &k);
    ck_assert_uint_eq(k.idle, 4);
    ck_assert_uint_eq(k.remote_blocked, 1);
    ck_assert_str_eq(mgcf_cic_state_name(MGCF_CIC_BUSY), "busy");
    untrunk();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cic");
    TCase *tc = tcase_create("cic");
    tcase_add_test(tc, parse_items);
    tcase_add_test(tc, parse_refusals);
    tcase_add_test(tc, trunk_for_number);
    tcase_add_test(tc, dual_seizure_control);
    tcase_add_test(tc, incoming_iam_on_an_unsignalled_circuit);
    tcase_add_test(tc, select_controlled_first);
    tcase_add_test(tc, incoming_iam);
    tcase_add_test(tc, reset_plan);
    tcase_add_test(tc, peer_reset);
    tcase_add_test(tc, our_reset_acknowledged);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
