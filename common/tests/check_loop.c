/*
 * check_loop.c - the event loop: cross-thread posting, the queue bound, shutdown and signals
 *
 * Every test runs in its own process (CK_FORK): ims_loop_create blocks signals in the
 * calling thread and the SIGTERM test signals the whole process.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define NJOBS 200

static struct ims_loop *loop;
static pthread_t loop_thread;

/* what the jobs saw */
static int order[NJOBS];
static bool on_loop_thread[NJOBS];
static int ran;
static int post_rc_during_destroy = 1;

static void record(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (ran < NJOBS) {
        order[ran] = i;
        on_loop_thread[ran] = pthread_equal(pthread_self(), loop_thread);
    }
    ran++;
}

static void setup(void)
{
    loop = NULL;
    ran = 0;
    loop_thread = pthread_self();
}

/* Post jobs 0..NJOBS-1 in order (retrying while the queue is full), then stop the loop. */
static void *poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < NJOBS; i++) {
        int rc;
        while ((rc = ims_loop_post(loop, record, (void *)(intptr_t)i)) == -EAGAIN)
            usleep(100);
        if (rc != 0)
            return (void *)(intptr_t)rc;
    }
    ims_loop_stop(loop);
    return NULL;
}

START_TEST(test_posted_jobs_run_in_order_on_loop_thread)
{
    loop = ims_loop_create(16);   /* smaller than NJOBS: the poster meets -EAGAIN too */
    ck_assert_ptr_nonnull(loop);
    ck_assert_ptr_nonnull(ims_loop_root(loop));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, poster, NULL), 0);
    ck_assert_int_eq(ims_loop_run(loop), 0);
    void *res;
    pthread_join(t, &res);
    ck_assert_int_eq((int)(intptr_t)res, 0);
    ck_assert_int_eq(ran, NJOBS);
    for (int i = 0; i < NJOBS; i++) {
        ck_assert_int_eq(order[i], i);
        ck_assert_msg(on_loop_thread[i], "job %d ran on another thread", i);
    }
    ck_assert_uint_eq(ims_loop_queue_depth(loop), 0);
    ims_loop_destroy(loop);
}
END_TEST

/* A stop asked while the queue is full is not lost: the loop runs what was queued, then
 * returns (found by this suite's first test: a poster filling the queue lost its stop). */
START_TEST(test_stop_with_full_queue)
{
    loop = ims_loop_create(2);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)(intptr_t)0), 0);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)(intptr_t)1), 0);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)(intptr_t)2), -EAGAIN);
    ims_loop_stop(loop);
    ck_assert_int_eq(ims_loop_run(loop), 0);
    ck_assert_int_eq(ran, 2);
    ims_loop_destroy(loop);
}
END_TEST

struct fill {
    int posted;
    int last_rc;
};

static void *filler(void *arg)
{
    struct fill *f = arg;
    for (int i = 0; i < 5; i++) {
        f->last_rc = ims_loop_post(loop, record, (void *)(intptr_t)i);
        if (f->last_rc == 0)
            f->posted++;
    }
    return NULL;
}

START_TEST(test_queue_bound)
{
    loop = ims_loop_create(4);
    ck_assert_ptr_nonnull(loop);
    struct fill f = { 0, 0 };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, filler, &f), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(f.posted, 4);
    ck_assert_int_eq(f.last_rc, -EAGAIN);
    ck_assert_uint_eq(ims_loop_queue_depth(loop), 4);
    ck_assert_uint_eq(ims_loop_rejected(loop), 1);
    ck_assert_int_eq(ran, 0);   /* nothing runs while the loop is not running */

    /* a stop is not a job: a full queue does not refuse it */
    ims_loop_stop(loop);
    ck_assert_uint_eq(ims_loop_rejected(loop), 1);
    ims_loop_destroy(loop);
    ck_assert_int_eq(ran, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(order[i], i);
}
END_TEST

START_TEST(test_queued_jobs_run_at_destroy)
{
    loop = ims_loop_create(8);
    ck_assert_ptr_nonnull(loop);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ims_loop_post(loop, record, (void *)(intptr_t)(10 + i)), 0);
    ck_assert_int_eq(ran, 0);
    ims_loop_destroy(loop);
    ck_assert_int_eq(ran, 3);
    ck_assert_int_eq(order[0], 10);
    ck_assert_int_eq(order[2], 12);
}
END_TEST

static void post_again(void *arg)
{
    (void)arg;
    post_rc_during_destroy = ims_loop_post(loop, record, NULL);
}

START_TEST(test_post_refused_once_destroy_started)
{
    loop = ims_loop_create(8);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(ims_loop_post(loop, post_again, NULL), 0);
    ims_loop_destroy(loop);
    ck_assert_int_eq(post_rc_during_destroy, -EPIPE);
    ck_assert_int_eq(ran, 0);   /* the refused job never ran */
}
END_TEST

static void stop_job(void *arg)
{
    (void)arg;
    ims_loop_stop(loop);
}

START_TEST(test_stop_from_loop_thread_drains)
{
    loop = ims_loop_create(8);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)1), 0);
    ck_assert_int_eq(ims_loop_post(loop, stop_job, NULL), 0);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)2), 0);
    ck_assert_int_eq(ims_loop_run(loop), 0);
    /* the job queued after the stop request still ran before run returned */
    ck_assert_int_eq(ran, 2);
    ck_assert_int_eq(order[1], 2);
    ims_loop_destroy(loop);
}
END_TEST

START_TEST(test_sigterm_stops_loop)
{
    loop = ims_loop_create(8);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(ims_loop_post(loop, record, (void *)7), 0);
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);   /* blocked: waits on the signalfd */
    ck_assert_int_eq(ims_loop_run(loop), SIGTERM);
    ck_assert_int_eq(ran, 1);
    ims_loop_destroy(loop);
}
END_TEST

START_TEST(test_sigint_stops_loop_sighup_ignored)
{
    loop = ims_loop_create(8);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(kill(getpid(), SIGHUP), 0);
    ck_assert_int_eq(kill(getpid(), SIGINT), 0);
    ck_assert_int_eq(ims_loop_run(loop), SIGINT);
    ims_loop_destroy(loop);
}
END_TEST

START_TEST(test_create_blocks_signals)
{
    loop = ims_loop_create(1);
    ck_assert_ptr_nonnull(loop);
    sigset_t cur;
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    ck_assert(sigismember(&cur, SIGTERM));
    ck_assert(sigismember(&cur, SIGINT));
    ck_assert(sigismember(&cur, SIGHUP));
    ims_loop_destroy(loop);
}
END_TEST

/* a thread calling into the loop (as a freeDiameter handler does), then stopping it */
static int call_rc = 1;

static void *caller(void *arg)
{
    (void)arg;
    /* the deadline is for the job to start: 10 s, a thread start and the loop's first
     * turn may take seconds on a loaded machine under ASan */
    call_rc = ims_loop_call(loop, record, (void *)(intptr_t)7, 10000);
    ims_loop_stop(loop);
    return NULL;
}

START_TEST(test_call_runs_on_loop_thread_and_waits)
{
    loop = ims_loop_create(16);
    ck_assert_ptr_nonnull(loop);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, caller, NULL), 0);
    ims_loop_run(loop);
    pthread_join(t, NULL);
    ck_assert_int_eq(call_rc, 0);
    ck_assert_int_eq(ran, 1);
    ck_assert_int_eq(order[0], 7);
    ck_assert(on_loop_thread[0]);
    ims_loop_destroy(loop);
}
END_TEST

START_TEST(test_call_not_started_is_cancelled)
{
    /* nobody runs the loop: the call times out and its job never runs, even at destroy */
    loop = ims_loop_create(16);
    ck_assert_int_eq(ims_loop_call(loop, record, (void *)(intptr_t)1, 100), -ETIMEDOUT);
    ims_loop_destroy(loop);
    ck_assert_int_eq(ran, 0);
}
END_TEST

static Suite *loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_posted_jobs_run_in_order_on_loop_thread);
    tcase_add_test(tc, test_stop_with_full_queue);
    tcase_add_test(tc, test_queue_bound);
    tcase_add_test(tc, test_queued_jobs_run_at_destroy);
    tcase_add_test(tc, test_post_refused_once_destroy_started);
    tcase_add_test(tc, test_stop_from_loop_thread_drains);
    tcase_add_test(tc, test_call_runs_on_loop_thread_and_waits);
    tcase_add_test(tc, test_call_not_started_is_cancelled);
    suite_add_tcase(s, tc);

    tc = tcase_create("signals");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_sigterm_stops_loop);
    tcase_add_test(tc, test_sigint_stops_loop_sighup_ignored);
    tcase_add_test(tc, test_create_blocks_signals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ims_log_set_level(IMS_LOG_WARN);
    SRunner *sr = srunner_create(loop_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
