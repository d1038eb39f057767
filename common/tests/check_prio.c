/*
 * check_prio.c - background threads below the SIP loop: a lowered thread's own threads
 * start at its priority, the caller's stays, nice 19 is as low as it goes
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "prio.h"

struct seen {
    int own, child;
    long tid;
};

static void *child(void *arg)
{
    struct seen *s = arg;
    s->child = ims_prio_of(0);
    return NULL;
}

static int body(void *arg)
{
    struct seen *s = arg;
    s->own = ims_prio_of(0);
    s->tid = (long)syscall(SYS_gettid);
    pthread_t t;
    if (pthread_create(&t, NULL, child, s) != 0)
        return -1;
    pthread_join(t, NULL);
    return 7;
}

START_TEST(threads_made_by_a_lowered_function_start_lowered)
{
    int base = ims_prio_of(0);
    ck_assert_int_ne(base, INT_MIN);
    ck_assert_int_le(base, 16);
    struct seen s = { INT_MIN, INT_MIN, 0 };
    ck_assert_int_eq(ims_prio_run_lowered(3, body, &s), 7);
    ck_assert_int_eq(s.own, base + 3);
    ck_assert_int_eq(s.child, base + 3);
    ck_assert_int_ne(s.tid, (long)syscall(SYS_gettid));
    ck_assert_int_eq(ims_prio_of(0), base);          /* the caller's is left as it was */
}
END_TEST

START_TEST(no_levels_runs_on_the_caller)
{
    int base = ims_prio_of(0);
    struct seen s = { INT_MIN, INT_MIN, 0 };
    ck_assert_int_eq(ims_prio_run_lowered(0, body, &s), 7);
    ck_assert_int_eq(s.own, base);
    ck_assert_int_eq(s.child, base);
    ck_assert_int_eq(s.tid, (long)syscall(SYS_gettid));
}
END_TEST

START_TEST(nineteen_is_the_lowest)
{
    ck_assert_int_eq(ims_prio_lower_self(40), 0);
    ck_assert_int_eq(ims_prio_of(0), 19);
    ck_assert_int_eq(ims_prio_lower_self(1), 0);
    ck_assert_int_eq(ims_prio_of(0), 19);
}
END_TEST

int main(void)
{
    ims_log_init("check_prio", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    Suite *s = suite_create("prio");
    TCase *tc = tcase_create("prio");
    tcase_add_test(tc, threads_made_by_a_lowered_function_start_lowered);
    tcase_add_test(tc, no_levels_runs_on_the_caller);
    tcase_add_test(tc, nineteen_is_the_lowest);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);    /* nineteen_is_the_lowest keeps its level */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
