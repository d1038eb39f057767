/*
 * check_map.c - the string-keyed hash map (common/map.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

START_TEST(put_get_replace_remove)
{
    struct ims_map *m = ims_map_create(false);
    int a = 1, b = 2, err = -1;
    ck_assert_ptr_null(ims_map_put(m, "alice", &a, &err));
    ck_assert_int_eq(err, 0);
    ck_assert_ptr_eq(ims_map_get(m, "alice"), &a);
    ck_assert_ptr_null(ims_map_get(m, "Alice"));         /* case-sensitive map */
    ck_assert_ptr_eq(ims_map_put(m, "alice", &b, NULL), &a);
    ck_assert_ptr_eq(ims_map_get(m, "alice"), &b);
    ck_assert_uint_eq(ims_map_size(m), 1);
    ck_assert_ptr_eq(ims_map_remove(m, "alice"), &b);
    ck_assert_ptr_null(ims_map_remove(m, "alice"));
    ck_assert_uint_eq(ims_map_size(m), 0);
    ims_map_destroy(m);
}
END_TEST

START_TEST(nocase_keys)
{
    struct ims_map *m = ims_map_create(true);
    int a = 1;
    ims_map_put(m, "SIP:Alice@IMS.example", &a, NULL);
    ck_assert_ptr_eq(ims_map_get(m, "sip:alice@ims.example"), &a);
    ck_assert_ptr_eq(ims_map_remove(m, "sip:ALICE@ims.EXAMPLE"), &a);
    ims_map_destroy(m);
}
END_TEST

static void count_and_drop_odd(void *arg, const char *key, void *value)
{
    struct ims_map *m = arg;
    if ((long)(intptr_t)value % 2)
        ims_map_remove(m, key);
}

START_TEST(growth_and_foreach_with_removal)
{
    struct ims_map *m = ims_map_create(false);
    char key[32];
    for (long i = 1; i <= 10000; i++) {
        snprintf(key, sizeof(key), "user%05ld", i);
        ims_map_put(m, key, (void *)(intptr_t)i, NULL);
    }
    ck_assert_uint_eq(ims_map_size(m), 10000);
    for (long i = 1; i <= 10000; i += 997) {
        snprintf(key, sizeof(key), "user%05ld", i);
        ck_assert_int_eq((long)(intptr_t)ims_map_get(m, key), i);
    }
    ck_assert_uint_eq(ims_map_foreach(m, count_and_drop_odd, m), 10000);
    ck_assert_uint_eq(ims_map_size(m), 5000);
    ck_assert_ptr_null(ims_map_get(m, "user00001"));
    ck_assert_int_eq((long)(intptr_t)ims_map_get(m, "user00002"), 2);
    ims_map_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("map");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, put_get_replace_remove);
    tcase_add_test(tc, nocase_keys);
    tcase_add_test(tc, growth_and_foreach_with_removal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
