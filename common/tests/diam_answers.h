/*
 * diam_answers.h - a request through freeDiameter's dispatch to the daemon's handler, and
 * the answer it sends, for the unit tests of Diameter servers
 *
 * ims_diam_init() configured freeDiameter (not started: no peer). The handler runs on a
 * handler thread of common/diam.c and sends its answer; test_answers_catch() (in the setup)
 * turns that sending into a hand-over to test_dispatch().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_TEST_DIAM_ANSWERS_H
#define IMS_TEST_DIAM_ANSWERS_H

#include <check.h>
#include <pthread.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "diam.h"

static pthread_mutex_t test_ans_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t test_ans_cv = PTHREAD_COND_INITIALIZER;
static struct msg *test_ans;
static unsigned test_ans_count;  /* answers sent since the test began */

static int test_ans_take(struct msg **ans)
{
    pthread_mutex_lock(&test_ans_mu);
    if (test_ans)
        fd_msg_free(test_ans);   /* a second answer: the test sees the last one */
    test_ans = *ans;
    *ans = NULL;
    test_ans_count++;
    pthread_cond_broadcast(&test_ans_cv);
    pthread_mutex_unlock(&test_ans_mu);
    return 0;
}

static void test_answers_catch(void)
{
    ims_diam_answer_sink(test_ans_take);
}

/* @m as received from a peer, through freeDiameter's dispatch; the answer (within 5 s) */
static struct msg *test_dispatch(struct msg *m)
{
    enum disp_action action;
    char *ec = NULL, *reason = NULL;
    struct msg *drop = NULL;
    ck_assert_int_eq(fd_msg_dispatch(&m, NULL, &action, &ec, &reason, &drop), 0);
    ck_assert_ptr_null(drop);
    ck_assert_ptr_null(m);   /* taken by the handler threads */
    ck_assert_int_eq(action, DISP_ACT_CONT);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&test_ans_mu);
    while (!test_ans &&
           pthread_cond_timedwait(&test_ans_cv, &test_ans_mu, &until) == 0)
        ;
    struct msg *ans = test_ans;
    test_ans = NULL;
    pthread_mutex_unlock(&test_ans_mu);
    ck_assert_msg(ans != NULL, "no answer within 5 s");
    return ans;
}

#endif
