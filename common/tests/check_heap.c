/*
 * check_heap.c - the heap trim after a load peak (common/heap.c): its rule, and that the
 * resident size falls once most of a fragmented heap is freed
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "heap.h"

#define MIB ((size_t)1 << 20)

START_TEST(rule_needs_a_gap_and_growth)
{
    /* a gap of 16 MiB and a quarter of the heap in use, growth of 8 MiB since the last */
    ck_assert(ims_heap_trim_due(100 * MIB, 20 * MIB, 0));
    ck_assert(!ims_heap_trim_due(30 * MIB, 20 * MIB, 0));          /* gap 10 MiB */
    ck_assert(!ims_heap_trim_due(400 * MIB, 380 * MIB, 0));        /* gap < in use / 4 */
    ck_assert(ims_heap_trim_due(500 * MIB, 380 * MIB, 0));
    ck_assert(!ims_heap_trim_due(100 * MIB, 20 * MIB, 95 * MIB));  /* trimmed already */
    ck_assert(ims_heap_trim_due(100 * MIB, 20 * MIB, 92 * MIB));
    ck_assert(!ims_heap_trim_due(10 * MIB, 40 * MIB, 0));          /* in use above rss */
}
END_TEST

static size_t rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#define NBLOCKS 4096
#define BLOCK (16 * 1024)

/* 64 MiB in 16 KiB blocks (below malloc's mmap threshold: the main arena), every 16th kept
 * so the heap cannot shrink from its top: the pages stay resident until a trim */
START_TEST(resident_size_falls_after_peak)
{
#if defined(__SANITIZE_ADDRESS__)
    return;   /* ASan's allocator is not glibc's: nothing to trim (the rule is tested) */
#endif
    static char *blocks[NBLOCKS];
    su_root_t *root = su_root_create(NULL);
    ck_assert_ptr_nonnull(root);
    for (int i = 0; i < NBLOCKS; i++) {
        blocks[i] = malloc(BLOCK);
        ck_assert_ptr_nonnull(blocks[i]);
        memset(blocks[i], 0x5a, BLOCK);
    }
    for (int i = 0; i < NBLOCKS; i++)
        if (i % 16 != 15) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    size_t peak = rss();
    struct ims_heap_trim *t = ims_heap_trim_start(root, 20);
    ck_assert_ptr_nonnull(t);
    su_root_sleep(root, 200);
    size_t after = rss();
    ims_heap_trim_stop(t);
    ck_assert_msg(after + 32 * MIB < peak, "resident %zu KiB -> %zu KiB", peak / 1024,
                  after / 1024);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
    su_root_destroy(root);
}
END_TEST

int main(void)
{
    su_init();
    Suite *s = suite_create("heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, rule_needs_a_gap_and_growth);
    tcase_add_test(tc, resident_size_falls_after_peak);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    su_deinit();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
