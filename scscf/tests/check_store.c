/*
 * check_store.c - the bound on the bindings of a registration set (scscf/store.c,
 * scscf.max_contacts): refreshes always fit, a new contact beyond the bound does not,
 * unless it carries the +sip.instance of a binding kept (that device's oldest binding is
 * replaced); scscf_store_fits says beforehand what scscf_store_bind then does
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scscf.h"

static struct scscf s;
static struct scscf_aor aor;

static void setup(void)
{
    memset(&s, 0, sizeof(s));
    memset(&aor, 0, sizeof(aor));
    s.tgruus = ims_map_create(false);
    ck_assert_ptr_nonnull(s.tgruus);
}

static void teardown(void)
{
    scscf_store_unbind(&s, &aor, NULL);
    ims_map_destroy(s.tgruus);
}

/* A binding of the REGISTER: @n gives its URI, @instance ("" none), @expires (0: removal) */
static struct scscf_contact_in contact(int n, const char *instance, int reg_id, time_t expires)
{
    struct scscf_contact_in c;
    memset(&c, 0, sizeof(c));
    snprintf(c.uri, sizeof(c.uri), "sip:alice@127.0.0.120:%d", 5200 + n);
    snprintf(c.instance, sizeof(c.instance), "%s", instance);
    c.reg_id = reg_id;
    c.expires = expires;
    return c;
}

static int bind_one(int n, const char *instance, int reg_id, time_t expires, unsigned max)
{
    struct scscf_contact_in c = contact(n, instance, reg_id, expires);
    return scscf_store_bind(&s, &aor, &c, max);
}

static bool bound(int n)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "sip:alice@127.0.0.120:%d", 5200 + n);
    for (const struct scscf_contact *c = aor.contacts; c; c = c->next)
        if (strcmp(c->uri, uri) == 0)
            return true;
    return false;
}

START_TEST(bound_reached)
{
    ck_assert_int_eq(bind_one(1, "", 0, 1000, 3), 0);
    ck_assert_int_eq(bind_one(2, "", 0, 1000, 3), 0);
    ck_assert_int_eq(bind_one(3, "", 0, 1000, 3), 0);
    struct scscf_contact_in more = contact(4, "", 0, 1000);
    ck_assert_int_eq(scscf_store_fits(&aor, &more, 1, 3), -EDQUOT);
    ck_assert_int_eq(bind_one(4, "", 0, 1000, 3), -EDQUOT);
    ck_assert_int_eq(scscf_store_count_contacts(&aor), 3);
    ck_assert(!bound(4));
    ck_assert_uint_eq(s.ncontacts, 3);
    /* a refresh fits, and so does a new contact once another goes in the same REGISTER */
    struct scscf_contact_in again = contact(2, "", 0, 2000);
    ck_assert_int_eq(scscf_store_fits(&aor, &again, 1, 3), 0);
    ck_assert_int_eq(bind_one(2, "", 0, 2000, 3), 0);
    struct scscf_contact_in swap[2] = { contact(1, "", 0, 0), contact(4, "", 0, 1000) };
    ck_assert_int_eq(scscf_store_fits(&aor, swap, 2, 3), 0);
    struct scscf_contact_in wrong_order[2] = { contact(4, "", 0, 1000), contact(1, "", 0, 0) };
    ck_assert_int_eq(scscf_store_fits(&aor, wrong_order, 2, 3), -EDQUOT);   /* in order */
    /* no bound at all */
    ck_assert_int_eq(scscf_store_fits(&aor, &more, 1, 0), 0);
    ck_assert_int_eq(bind_one(4, "", 0, 1000, 0), 0);
}
END_TEST

START_TEST(same_device_replaces_its_oldest)
{
    const char *dev = "<urn:uuid:00000000-0000-1000-8000-000000000001>";
    ck_assert_int_eq(bind_one(1, dev, 1, 1500, 3), 0);
    ck_assert_int_eq(bind_one(2, dev, 2, 1200, 3), 0);            /* the oldest of the device */
    ck_assert_int_eq(bind_one(3, "", 0, 1000, 3), 0);              /* another device, older still */
    struct scscf_contact_in moved = contact(4, dev, 3, 2000);
    ck_assert_int_eq(scscf_store_fits(&aor, &moved, 1, 3), 0);
    ck_assert_int_eq(bind_one(4, dev, 3, 2000, 3), 0);
    ck_assert_int_eq(scscf_store_count_contacts(&aor), 3);
    ck_assert(bound(1) && !bound(2) && bound(3) && bound(4));
    /* a device the set does not have cannot take anybody's place */
    struct scscf_contact_in other = contact(5, "<urn:uuid:other>", 1, 2000);
    ck_assert_int_eq(scscf_store_fits(&aor, &other, 1, 3), -EDQUOT);
    ck_assert_int_eq(bind_one(5, "<urn:uuid:other>", 1, 2000, 3), -EDQUOT);
    /* the same instance and reg-id is a refresh of that flow (RFC 5626), new URI or not */
    ck_assert_int_eq(bind_one(6, dev, 1, 2500, 3), 0);
    ck_assert(!bound(1) && bound(6));
    ck_assert_int_eq(scscf_store_count_contacts(&aor), 3);
}
END_TEST

START_TEST(several_contacts_in_one_register)
{
    const char *dev = "<urn:uuid:dev>";
    ck_assert_int_eq(bind_one(1, dev, 1, 1000, 2), 0);
    struct scscf_contact_in two[2] = { contact(2, "", 0, 1000), contact(3, "", 0, 1000) };
    ck_assert_int_eq(scscf_store_fits(&aor, two, 2, 2), -EDQUOT);
    struct scscf_contact_in dup[2] = { contact(2, "", 0, 1000), contact(2, "", 0, 1100) };
    ck_assert_int_eq(scscf_store_fits(&aor, dup, 2, 2), 0);   /* the same one twice */
    struct scscf_contact_in dev2[2] = { contact(2, "", 0, 1000), contact(3, dev, 2, 1000) };
    ck_assert_int_eq(scscf_store_fits(&aor, dev2, 2, 2), 0);  /* replaces its own */
    ck_assert_int_eq(scscf_store_fits(NULL, two, 2, 2), 0);   /* nothing registered yet */
    ck_assert_int_eq(scscf_store_fits(NULL, two, 2, 1), -EDQUOT);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("scscf_store");
    TCase *tc = tcase_create("max_contacts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bound_reached);
    tcase_add_test(tc, same_device_replaces_its_oldest);
    tcase_add_test(tc, several_contacts_in_one_register);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
