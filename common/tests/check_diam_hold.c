/*
 * check_diam_hold.c - answers held while their peer re-opens (common/diam_hold.c)
 *
 * The peer's state and the sending are fakes (struct ims_diam_hold_ops): a test plays
 * freeDiameter's peer state machine (REOPEN, then OPEN or a lost connection) and reads what
 * was sent, in which order. The answers are real freeDiameter messages, built from requests
 * whose source is the fake peer, in a core configured by ims_diam_init() (no network).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

#include "diam.h"
#include "diam_hold.h"
#include "log.h"
#include "loop.h"

#define REALM "ims.mnc001.mcc001.3gppnetwork.org"
#define PEER "scscf." REALM

static struct ims_loop *loop;
static atomic_int peer_state;              /* what the fake freeDiameter says of PEER */
static pthread_mutex_t sent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t sent[16];                  /* end-to-end ids of the answers sent, in order */
static int nsent;
static atomic_int state_when_sent[16];
static struct timespec time_when_sent[16];   /* CLOCK_MONOTONIC */

static int fake_state(const char *id, size_t len)
{
    if (len != strlen(PEER) || memcmp(id, PEER, len) != 0)
        return -1;
    return atomic_load(&peer_state);
}

static int fake_send(struct msg **ans)
{
    struct msg_hdr *h;
    ck_assert_int_eq(fd_msg_hdr(*ans, &h), 0);
    pthread_mutex_lock(&sent_lock);
    if (nsent < 16) {
        state_when_sent[nsent] = atomic_load(&peer_state);
        clock_gettime(CLOCK_MONOTONIC, &time_when_sent[nsent]);
        sent[nsent++] = h->msg_eteid;
    }
    pthread_mutex_unlock(&sent_lock);
    fd_msg_free(*ans);
    *ans = NULL;
    return 0;
}

static const struct ims_diam_hold_ops fake_ops = { fake_state, fake_send };

static int sent_count(void)
{
    pthread_mutex_lock(&sent_lock);
    int n = nsent;
    pthread_mutex_unlock(&sent_lock);
    return n;
}

/* waits up to 10 s for @n answers to have been sent (a wait on the condition: the bound only
 * matters when the code is wrong, and a loaded machine with ASan is slow) */
static void wait_sent(int n)
{
    for (int i = 0; i < 10000 && sent_count() < n; i++)
        usleep(1000);
    ck_assert_int_eq(sent_count(), n);
}

/* waits up to 10 s for the count of held answers to be @n: the hold thread counts the
 * answers it examines until it has the lock again, after it has sent them */
static void wait_held(size_t n)
{
    for (int i = 0; i < 10000 && ims_diam_hold_count() != n; i++)
        usleep(1000);
    ck_assert_uint_eq(ims_diam_hold_count(), n);
}

static long ms_since(const struct timespec *t0, const struct timespec *t)
{
    return (t->tv_sec - t0->tv_sec) * 1000L + (t->tv_nsec - t0->tv_nsec) / 1000000L;
}

static void setup(void)
{
    ims_log_init("check_diam_hold", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    su_init();
    loop = ims_loop_create(64);
    ck_assert_ptr_nonnull(loop);
    char *none[] = { NULL };
    struct ims_diam_conf c = {
        .identity = "check." REALM, .realm = REALM, .address = "127.0.0.1", .port = 0,
        .peers = none, .accept = none, .tc_timer = 30, .tw_timer = 30, .threads = 1,
        .request_timeout_ms = 1000, .max_pending = 10, .apps = IMS_APP_BIT(IMS_APP_CX),
        .loop = loop,
    };
    ck_assert_int_eq(ims_diam_init(&c), 0);
    atomic_store(&peer_state, STATE_OPEN);
    nsent = 0;
}

static void teardown(void)
{
    ims_diam_hold_stop();
    ims_diam_stop();
    ims_loop_destroy(loop);
}

/* An answer to a UAR received from @src (end-to-end id @eteid). */
static struct msg *answer_from(const char *src, uint32_t eteid)
{
    struct msg *m = ims_diam_request_new(IMS_CMD_UAR, REALM, NULL);
    ck_assert_ptr_nonnull(m);
    struct msg_hdr *h;
    ck_assert_int_eq(fd_msg_hdr(m, &h), 0);
    h->msg_eteid = eteid;
    ck_assert_int_eq(fd_msg_source_set(m, (DiamId_t)src, strlen(src)), 0);
    ck_assert_int_eq(ims_diam_answer_new(&m, IMS_APP_CX), 0);
    ck_assert_int_eq(fd_msg_rescode_set(m, "DIAMETER_SUCCESS", NULL, NULL, 1), 0);
    return m;
}

START_TEST(held_only_while_reopening)
{
    ck_assert(ims_diam_hold_wanted(STATE_REOPEN));
    ck_assert(ims_diam_hold_wanted(STATE_OPEN_NEW));
    ck_assert(!ims_diam_hold_wanted(STATE_OPEN));
    ck_assert(!ims_diam_hold_wanted(STATE_CLOSING_GRACE));
    ck_assert(!ims_diam_hold_wanted(STATE_SUSPECT));
    ck_assert(!ims_diam_hold_wanted(STATE_CLOSED));
    ck_assert(!ims_diam_hold_wanted(STATE_ZOMBIE));
    ck_assert(!ims_diam_hold_wanted(-1));
}
END_TEST

START_TEST(open_peer_answered_at_once)
{
    ck_assert_int_eq(ims_diam_hold_start(8, 1000, &fake_ops), 0);
    struct msg *a = answer_from(PEER, 1);
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(sent_count(), 1);
    ck_assert_uint_eq(ims_diam_hold_count(), 0);
}
END_TEST

START_TEST(reopening_peer_answered_once_open_in_order)
{
    ck_assert_int_eq(ims_diam_hold_start(8, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    for (uint32_t i = 1; i <= 3; i++) {
        struct msg *a = answer_from(PEER, i);
        ck_assert_int_eq(ims_diam_hold_send(&a), 0);
        ck_assert_ptr_null(a);
    }
    usleep(50 * 1000);   /* the watchdogs take their time: nothing leaves meanwhile */
    ck_assert_int_eq(sent_count(), 0);
    ck_assert_uint_eq(ims_diam_hold_count(), 3);
    atomic_store(&peer_state, STATE_OPEN);
    wait_sent(3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(sent[i], (uint32_t)i + 1);
        ck_assert_int_eq(state_when_sent[i], STATE_OPEN);
    }
    wait_held(0);
}
END_TEST

START_TEST(lost_connection_ends_the_hold)
{
    /* the new connection breaks too: the answer goes to freeDiameter, which drops it */
    ck_assert_int_eq(ims_diam_hold_start(8, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    struct msg *a = answer_from(PEER, 7);
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    atomic_store(&peer_state, STATE_CLOSED);
    wait_sent(1);
    ck_assert_int_eq(state_when_sent[0], STATE_CLOSED);
}
END_TEST

START_TEST(hold_is_bounded_in_time)
{
    ck_assert_int_eq(ims_diam_hold_start(8, 600, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    struct msg *a = answer_from(PEER, 9);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    wait_sent(1);   /* after 600 ms, given up although the peer still re-opens */
    ck_assert_int_eq(state_when_sent[0], STATE_REOPEN);
    /* held the 600 ms: the time of the sending, not a look after a short sleep (which a
     * loaded machine can stretch past the 600 ms) */
    long held = ms_since(&t0, &time_when_sent[0]);
    ck_assert_msg(held >= 600, "sent after %ld ms, not held 600 ms", held);
}
END_TEST

START_TEST(hold_is_bounded_in_number)
{
    ck_assert_int_eq(ims_diam_hold_start(2, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    for (uint32_t i = 1; i <= 3; i++) {
        struct msg *a = answer_from(PEER, i);
        ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    }
    /* the third found no room: sent at once, as without the hold. Also while the hold
     * thread examines the first two without the lock (it polls every 2 ms): a CI run
     * once found room there */
    ck_assert_int_eq(sent_count(), 1);
    ck_assert_uint_eq(sent[0], 3);
    ck_assert_uint_eq(ims_diam_hold_count(), 2);
}
END_TEST

START_TEST(other_peers_not_held)
{
    ck_assert_int_eq(ims_diam_hold_start(8, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    struct msg *a = answer_from("icscf." REALM, 4);   /* unknown to the fake: no state */
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    ck_assert_int_eq(sent_count(), 1);
}
END_TEST

START_TEST(stop_releases_what_is_held)
{
    /* run under ASan: the held answers are freed, not leaked */
    ck_assert_int_eq(ims_diam_hold_start(8, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_REOPEN);
    struct msg *a = answer_from(PEER, 5);
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    ims_diam_hold_stop();
    ck_assert_uint_eq(ims_diam_hold_count(), 0);
    ck_assert_int_eq(sent_count(), 0);
    /* stopped: answers go straight to the sender again (freeDiameter's own here) */
    ck_assert_int_eq(ims_diam_hold_start(8, 5000, &fake_ops), 0);
    atomic_store(&peer_state, STATE_OPEN);
    a = answer_from(PEER, 6);
    ck_assert_int_eq(ims_diam_hold_send(&a), 0);
    ck_assert_int_eq(sent_count(), 1);
}
END_TEST

static Suite *hold_suite(void)
{
    Suite *s = suite_create("diam_hold");
    TCase *tc = tcase_create("hold");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, held_only_while_reopening);
    tcase_add_test(tc, open_peer_answered_at_once);
    tcase_add_test(tc, reopening_peer_answered_once_open_in_order);
    tcase_add_test(tc, lost_connection_ends_the_hold);
    tcase_add_test(tc, hold_is_bounded_in_time);
    tcase_add_test(tc, hold_is_bounded_in_number);
    tcase_add_test(tc, other_peers_not_held);
    tcase_add_test(tc, stop_releases_what_is_held);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hold_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
