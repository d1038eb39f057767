/*
 * check_heap.c - the heap reading shared by the admission control and /metrics (heap.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "heap.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BIG (8u << 20)

START_TEST(recent_only_after_a_reading)
{
    size_t bytes = 12345;
    /* nothing read yet: the scrape must walk itself */
    ck_assert(!ims_heap_recent(3600000000ULL, &bytes));
    ck_assert_uint_eq(bytes, 12345);
    size_t read = ims_heap_read();
    ck_assert(ims_heap_recent(60000000ULL, &bytes));
    ck_assert_uint_eq(bytes, read);
    /* too old for a reader that wants it younger than no time at all */
    ck_assert(!ims_heap_recent(0, &bytes));
}
END_TEST

START_TEST(reading_follows_malloc)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    size_t before = ims_heap_read();
    char *p = malloc(BIG);
    ck_assert_ptr_nonnull(p);
    memset(p, 1, BIG);
    size_t during = ims_heap_read();
    ck_assert_uint_ge(during, before + BIG);
    size_t cached;
    ck_assert(ims_heap_recent(60000000ULL, &cached));
    ck_assert_uint_eq(cached, during);
    free(p);
    ck_assert_uint_le(ims_heap_read(), during - BIG);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, recent_only_after_a_reading);
    tcase_add_test(tc, reading_follows_malloc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
