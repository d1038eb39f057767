/*
 * check_subscriber.c - the provisioning logic of subscriber*.c on a temporary database:
 * round trips, validation errors naming their field, OP -> OPc, replace keeping what the
 * network learned, conflicts, wildcards, bulk creation, seeds and rollbacks
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hss.h"
#include "log.h"
#include "milenage.h"

#define DOMAIN "ims.mnc001.mcc001.3gppnetwork.org"
#define ALICE_IMPI "alice@" DOMAIN
#define ALICE_SIP "sip:alice@" DOMAIN

/* LAB.md's alice, with OP instead of OPc (TS 35.208 test set 1) */
static const char alice_doc[] =
    "{\"name\": \"alice\","
    " \"impis\": [{\"identity\": \"" ALICE_IMPI "\", \"password\": \"alice-secret\","
    "   \"k\": \"465b5ce8b199b49faa5f0a2ee238a6bc\", \"op\": \"cdc202d5123e20f62b6d676ac72cb318\","
    "   \"amf\": \"8000\", \"sqn\": \"000000000020\", \"msisdn\": \"15550100001\"}],"
    " \"impus\": [{\"identity\": \"" ALICE_SIP "\", \"implicit_set\": 1, \"profile\": \"default\"},"
    "   {\"identity\": \"tel:+15550100001\", \"implicit_set\": 1, \"profile\": \"default\"}],"
    " \"profiles\": [{\"name\": \"default\", \"ifcs\": []}]}";

static const char bob_doc[] =
    "{\"name\": \"bob\","
    " \"impis\": [{\"identity\": \"bob@" DOMAIN "\", \"password\": \"bob-secret\"}],"
    " \"impus\": [{\"identity\": \"sip:bob@" DOMAIN "\"}]}";

static const char ifc_mmtel[] =
    "{\"priority\": 0, \"trigger\": {\"spt\": [{\"method\": \"INVITE\"}]},"
    " \"as\": {\"server_name\": \"sip:mmtel." DOMAIN "\"}}";

static char path[64];
static struct ims_db *db;

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/check_subscriber_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(ims_db_open(&db, path, hss_db_migrations, hss_db_nmigrations), 0);
}

static void teardown(void)
{
    char side[80];
    ims_db_close(db);
    db = NULL;
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "test JSON: %s at %d:%d", e.text, e.line, e.column);
    return j;
}

/* put a document given as text; returns the code, @res filled */
static int put_text(const char *text, bool replace, struct hss_put_result *res)
{
    json_t *doc = parse(text);
    int rc = hss_subscriber_put(db, doc, replace, res);
    json_decref(doc);
    return rc;
}

static int put_json(json_t *doc, bool replace, struct hss_put_result *res)
{
    return hss_subscriber_put(db, doc, replace, res);
}

static long long query_ll(const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(ims_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void exec_sql(const char *sql)
{
    ck_assert_int_eq(sqlite3_exec(ims_db_handle(db), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* every table that provisioning writes, summed: a cheap "nothing changed" check */
static long long all_rows(void)
{
    return query_ll("SELECT (SELECT count(*) FROM subscription) + (SELECT count(*) FROM impi)"
                    " + (SELECT count(*) FROM impu) + (SELECT count(*) FROM impi_impu)"
                    " + (SELECT count(*) FROM service_profile) + (SELECT count(*) FROM ifc)"
                    " + (SELECT count(*) FROM profile_shared_ifc)"
                    " + (SELECT count(*) FROM visited_network)");
}

/* Set (or with @value NULL delete) the member at @where ("impis/0/k") of @doc. */
static void patch(json_t *doc, const char *where, const char *value)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", where);
    json_t *parent = doc;
    char *tok = strtok_r(buf, "/", &save), *next;
    while ((next = strtok_r(NULL, "/", &save)) != NULL) {
        parent = json_is_array(parent) ? json_array_get(parent, strtoul(tok, NULL, 10))
                                       : json_object_get(parent, tok);
        ck_assert_msg(parent != NULL, "patch path %s", where);
        tok = next;
    }
    json_t *v = value ? parse(value) : NULL;
    if (json_is_array(parent)) {
        size_t i = strtoul(tok, NULL, 10);
        if (i == json_array_size(parent))
            json_array_append_new(parent, v);
        else
            json_array_set_new(parent, i, v);
    } else if (v) {
        json_object_set_new(parent, tok, v);
    } else {
        json_object_del(parent, tok);
    }
}

START_TEST(test_create_get_roundtrip)
{
    struct hss_put_result res;
    ck_assert_int_eq(put_text(alice_doc, false, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_CREATED);
    ck_assert_int_gt(res.subscription_id, 0);

    json_t *got;
    ck_assert_int_eq(hss_subscriber_get(db, "alice", &got), 0);
    ck_assert_str_eq(json_string_value(json_object_get(got, "name")), "alice");
    json_t *impi = json_array_get(json_object_get(got, "impis"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(impi, "identity")), ALICE_IMPI);
    ck_assert(json_is_true(json_object_get(impi, "has_password")));
    ck_assert(json_is_true(json_object_get(impi, "has_aka")));
    ck_assert_str_eq(json_string_value(json_object_get(impi, "sqn")), "000000000020");
    ck_assert_str_eq(json_string_value(json_object_get(impi, "default_scheme")), "digest");
    /* no list given: every scheme the credentials allow, the three Digest bodies and AKA */
    ck_assert_int_eq(json_array_size(json_object_get(impi, "schemes")), 5);
    /* no secret in any form */
    const char *secret_keys[] = { "password", "ha1", "k", "op", "opc" };
    for (size_t i = 0; i < 5; i++)
        ck_assert_ptr_null(json_object_get(impi, secret_keys[i]));
    char *text = json_dumps(got, 0);
    ck_assert_ptr_null(strstr(text, "alice-secret"));
    ck_assert_ptr_null(strstr(text, "465b5ce8"));
    ck_assert_ptr_null(strstr(text, "cd63cb71"));
    free(text);

    json_t *impus = json_object_get(got, "impus");
    ck_assert_int_eq(json_array_size(impus), 2);
    json_t *tel = json_array_get(impus, 1);
    ck_assert_str_eq(json_string_value(json_object_get(tel, "identity")), "tel:+15550100001");
    ck_assert_int_eq(json_integer_value(json_object_get(tel, "implicit_set")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(tel, "profile")), "default");
    ck_assert_str_eq(json_string_value(json_object_get(tel, "reg_state")), "not_registered");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(tel, "impis"), 0)),
                     ALICE_IMPI);
    ck_assert(json_is_null(json_object_get(got, "scscf")));
    json_decref(got);

    /* the Cx view of the same rows */
    struct hss_impu u, set;
    int64_t ids[4];
    ck_assert_int_eq(hss_impu_find(db, "tel:+15550100001", &u), 0);
    ck_assert_int_eq(hss_implicit_set(db, &u, ids, 4), 2);
    ck_assert_int_eq(hss_impu_by_id(db, ids[0], &set), 0);
    ck_assert_str_eq(set.identity, ALICE_SIP);
    ck_assert_int_eq(hss_subscriber_get(db, "nobody", &got), -ENOENT);
}
END_TEST

START_TEST(test_op_to_opc)
{
    struct hss_put_result res;
    struct hss_impi impi;
    uint8_t want[16];
    ck_assert_int_eq(put_text(alice_doc, false, &res), 0);
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    ck_assert(impi.has_aka);
    ck_assert_int_eq(ims_hex_decode("cd63cb71954a9f4e48a5994e37a02baf", want, 16), 0);
    ck_assert_mem_eq(impi.opc, want, 16);   /* LAB.md's OPc for alice */
    ck_assert_int_eq(impi.amf[0], 0x80);
    ck_assert_uint_eq(impi.sqn, 0x20);
    ck_assert_str_eq(impi.password, "alice-secret");
    ck_assert_uint_eq(impi.schemes, HSS_SCHEME_DIGEST | HSS_SCHEME_AKAV1 | HSS_SCHEME_AKAV2 |
                                        HSS_SCHEME_TISPAN | HSS_SCHEME_PACKETCABLE);
    ck_assert_int_eq(impi.default_scheme, HSS_SCHEME_DIGEST);
    ck_assert_str_eq(impi.msisdn, "15550100001");
}
END_TEST

START_TEST(test_list_paging)
{
    struct hss_put_result res;
    const char *names[] = { "carol", "alice", "bob" };
    for (int i = 0; i < 3; i++) {
        char doc[512];
        snprintf(doc, sizeof(doc), "{\"name\": \"%s\", \"impis\": [{\"identity\": \"%s@" DOMAIN
                 "\", \"ha1\": \"0123456789abcdef0123456789ABCDEF\"}], \"impus\":"
                 " [{\"identity\": \"sip:%s@" DOMAIN "\"}]}", names[i], names[i], names[i]);
        ck_assert_int_eq(put_text(doc, false, &res), 0);
    }
    json_t *page = hss_subscriber_list(db, 1, 1);
    ck_assert_ptr_nonnull(page);
    ck_assert_int_eq(json_integer_value(json_object_get(page, "total")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(page, "offset")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(page, "limit")), 1);
    json_t *items = json_object_get(page, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    ck_assert_str_eq(json_string_value(json_object_get(it, "name")), "bob");   /* by name */
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(it, "impus"), 0)),
                     "sip:bob@" DOMAIN);
    json_decref(page);
    page = hss_subscriber_list(db, 0, 100);
    items = json_object_get(page, "items");
    ck_assert_int_eq(json_array_size(items), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                     "alice");
    json_decref(page);
    page = hss_subscriber_list(db, 10, 100);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
    /* ha1 is stored in lower case */
    ck_assert_int_eq(query_ll("SELECT count(*) FROM impi WHERE ha1 ="
                              " '0123456789abcdef0123456789abcdef'"), 3);
}
END_TEST

START_TEST(test_delete)
{
    struct hss_put_result res;
    ck_assert_int_eq(put_text(alice_doc, false, &res), 0);
    ck_assert_int_eq(put_text(bob_doc, false, &res), 0);
    long long before = all_rows();
    ck_assert_int_eq(hss_subscriber_delete(db, "alice"), 0);
    ck_assert_int_eq(hss_subscriber_delete(db, "alice"), -ENOENT);
    json_t *got;
    ck_assert_int_eq(hss_subscriber_get(db, "alice", &got), -ENOENT);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM impu WHERE identity LIKE '%alice%'"
                              " OR identity = 'tel:+15550100001'"), 0);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM impi WHERE identity LIKE 'alice%'"), 0);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM service_profile"), 0);   /* bob has none */
    /* alice: subscription, impi, 2 impus, 2 links, 1 profile */
    ck_assert_int_eq(before - all_rows(), 7);
    ck_assert_int_eq(hss_subscriber_get(db, "bob", &got), 0);
    json_decref(got);
}
END_TEST

struct bad_case {
    const char *where;      /* member to set ("impis/0/k") */
    const char *value;      /* JSON, or NULL to delete it */
    const char *field;      /* the field the error must name */
};

static const struct bad_case bad_cases[] = {
    { "name", NULL, "name" },
    { "name", "5", "name" },
    { "name", "\"bad name\"", "name" },
    { "nmae", "\"x\"", "nmae" },
    { "impis/0/k", "\"zz\"", "impis[0].k" },
    { "impis/0/k", "\"465b5ce8b199b49faa5f0a2ee238a6b\"", "impis[0].k" },
    { "impis/0/identity", "\"alice\"", "impis[0].identity" },
    { "impis/0/identity", "\"\"", "impis[0].identity" },
    { "impis/0/identity", NULL, "impis[0].identity" },
    { "impis/0/identity", "\"alice@bad realm\"", "impis[0].identity" },
    { "impis/0/amf", NULL, "impis[0].amf" },
    { "impis/0/amf", "\"80\"", "impis[0].amf" },
    { "impis/0/opc", "\"cd63cb71954a9f4e48a5994e37a02baf\"", "impis[0].opc" },
    { "impis/0/ha1", "\"0123456789abcdef0123456789abcdef\"", "impis[0].ha1" },
    { "impis/0/sqn", "\"12\"", "impis[0].sqn" },
    { "impis/0/sqn", "32", "impis[0].sqn" },
    { "impis/0/schemes", "[\"digest\", \"foo\"]", "impis[0].schemes[1]" },
    { "impis/0/schemes", "[\"digest\", \"digest\"]", "impis[0].schemes[1]" },
    { "impis/0/schemes", "[]", "impis[0].schemes" },
    { "impis/0/default_scheme", "\"akav3\"", "impis[0].default_scheme" },
    { "impis/0/pasword", "\"x\"", "impis[0].pasword" },
    { "impis/0/imsi", "\"12ab\"", "impis[0].imsi" },
    { "impis/0/msisdn", "\"+1555\"", "impis[0].msisdn" },
    { "impis/0/barred", "\"yes\"", "impis[0].barred" },
    { "impis/0/password", "\"\"", "impis[0].password" },
    { "impis/0/password", "\"a\\u0001b\"", "impis[0].password" },
    { "impis/0", "\"x\"", "impis[0]" },
    { "impis", "{}", "impis" },
    { "impus/0/identity", "\"alice@" DOMAIN "\"", "impus[0].identity" },
    { "impus/0/identity", "\"sip:@" DOMAIN "\"", "impus[0].identity" },
    { "impus/0/identity", "\"sip:alice@bad_host\"", "impus[0].identity" },
    { "impus/0/identity", "\"sip:alice@" DOMAIN ":50x\"", "impus[0].identity" },
    { "impus/1/identity", "\"tel:abc\"", "impus[1].identity" },
    { "impus/1/identity", "\"tel:5550100\"", "impus[1].identity" },
    { "impus/1/identity", "\"" ALICE_SIP "\"", "impus[1].identity" },
    { "impus/0/type", "\"foo\"", "impus[0].type" },
    { "impus/0/type", "\"wildcard-psi\"", "impus[0].identity" },
    { "impus/0/profile", "\"nope\"", "impus[0].profile" },
    { "impus/0/impis", "[\"bob@" DOMAIN "\"]", "impus[0].impis[0]" },
    { "impus/0/impis", "[]", "impus[0].impis" },
    { "impus/0/psi_as", "\"sip:as@" DOMAIN "\"", "impus[0].psi_as" },
    { "impus/0/implicit_set", "0", "impus[0].implicit_set" },
    { "impus/0/implicit_set", "\"1\"", "impus[0].implicit_set" },
    { "impus/0/display_name", "7", "impus[0].display_name" },
    { "impus/0/colour", "\"red\"", "impus[0].colour" },
    { "impus", "[]", "impus" },
    { "impus", NULL, "impus" },
    { "profiles/0/name", NULL, "profiles[0].name" },
    { "profiles/1", "{\"name\": \"default\"}", "profiles[1].name" },
    { "profiles/0/ifcs", "[{\"priority\": -1}]", "profiles[0].ifcs[0].priority" },
    { "profiles/0/ifcs", "[5]", "profiles[0].ifcs[0]" },
    { "profiles/0/ifcs", "[{\"priority\": 0, \"as\": {\"server_name\": \"http://x\"}}]",
      "profiles[0].ifcs[0].as.server_name" },
    { "profiles/0/ifcs", "[{\"priority\": 0, \"trigger\": {\"spt\": [{\"method\": 5}]},"
                         " \"as\": {\"server_name\": \"sip:as.x.org\"}}]",
      "profiles[0].ifcs[0].trigger.spt[0].method" },
    { "profiles/0/ifcs", "[{\"priority\": 3, \"as\": {\"server_name\": \"sip:a.x.org\"}},"
                         " {\"priority\": 3, \"as\": {\"server_name\": \"sip:b.x.org\"}}]",
      "profiles[0].ifcs[1].priority" },
    { "profiles/0/shared_ifcs", "[1, 1]", "profiles[0].shared_ifcs[1]" },
    { "profiles/0/shared_ifcs", "[-1]", "profiles[0].shared_ifcs[0]" },
    { "capabilities", "{\"mandatory\": [\"x\"]}", "capabilities.mandatory[0]" },
    { "capabilities", "{\"mandatry\": [1]}", "capabilities.mandatry" },
    { "capabilities", "[]", "capabilities" },
    { "charging", "{\"ccf\": [\"aaa://a.x.org\", \"aaa://b.x.org\", \"aaa://c.x.org\"]}",
      "charging.ccf" },
    { "charging", "{\"ecf\": [\"http://ocs.x.org\"]}", "charging.ecf[0]" },
    { "visited_networks", "[\"bad net\"]", "visited_networks[0]" },
    { "visited_networks", "[\"a.org\", \"A.org\"]", "visited_networks[1]" },
    /* early IMS and NASS-bundled (issue 16) */
    { "impis/0/ip_address", "\"10.0.0.1/8\"", "impis[0].ip_address" },
    { "impis/0/ip_address", "\"2001:db8::1/64\"", "impis[0].ip_address" },
    { "impis/0/ip_address", "\"2001:db8::/129\"", "impis[0].ip_address" },
    { "impis/0/ip_address", "\"pcscf.example.org\"", "impis[0].ip_address" },
    { "impis/0/ip_address", "7", "impis[0].ip_address" },
    { "impis/0/line_identifiers", "[]", "impis[0].line_identifiers" },
    { "impis/0/line_identifiers", "\"line-1\"", "impis[0].line_identifiers" },
    { "impis/0/line_identifiers", "[\"a\\\"b\"]", "impis[0].line_identifiers[0]" },
    { "impis/0/line_identifiers", "[\"x\", \"x\"]", "impis[0].line_identifiers[1]" },
    { "impis/0/line_identifiers", "[\"1\", \"2\", \"3\", \"4\", \"5\"]",
      "impis[0].line_identifiers" },
    { "impis/0/schemes", "[\"early-ims\"]", "impis[0].schemes[0]" },
    { "impis/0/schemes", "[\"digest\", \"nass-bundled\"]", "impis[0].schemes[1]" },
    { "impis/0/schemes", "[\"tispan\"]", "impis[0].schemes[0]" },
    { "impis/0/default_scheme", "\"packetcable\"", "impis[0].default_scheme" },
};

START_TEST(test_validation_names_the_field)
{
    const struct bad_case *c = &bad_cases[_i];
    struct hss_put_result res;
    json_t *doc = parse(alice_doc);
    patch(doc, c->where, c->value);
    int rc = put_json(doc, false, &res);
    ck_assert_msg(rc == -EINVAL, "%s: rc %d (%s: %s)", c->where, rc, res.field, res.err);
    ck_assert_msg(strcmp(res.field, c->field) == 0, "%s: field '%s' (%s), expected '%s'",
                  c->where, res.field, res.err, c->field);
    ck_assert_msg(res.err[0] != '\0', "%s: no reason given", c->where);
    ck_assert_int_eq(all_rows(), 0);   /* nothing written */
    json_decref(doc);
}
END_TEST

START_TEST(test_validation_cross_checks)
{
    struct hss_put_result res;
    json_t *doc = parse(alice_doc);
    /* a second IMPI; impus[1] of the same implicit set linked to it only */
    patch(doc, "impis/1", "{\"identity\": \"alice2@" DOMAIN "\", \"password\": \"x\"}");
    patch(doc, "impus/1/impis", "[\"alice2@" DOMAIN "\"]");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impus[1].impis");
    /* the same IMPI twice (identities are case-insensitive) */
    patch(doc, "impus/1/impis", NULL);
    patch(doc, "impis/1/identity", "\"ALICE@" DOMAIN "\"");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impis[1].identity");
    json_decref(doc);
    /* several profiles: each IMPU names its own */
    doc = parse(alice_doc);
    patch(doc, "profiles/1", "{\"name\": \"other\"}");
    patch(doc, "impus/0/profile", NULL);
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impus[0].profile");
    /* no credential at all */
    json_decref(doc);
    doc = parse("{\"name\": \"x\", \"impis\": [{\"identity\": \"x@" DOMAIN "\"}],"
                " \"impus\": [{\"identity\": \"sip:x@" DOMAIN "\"}]}");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impis[0]");
    json_decref(doc);
    /* not an object at all */
    doc = json_array();
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    json_decref(doc);
    ck_assert_int_eq(all_rows(), 0);
}
END_TEST

/* Early IMS and NASS-bundled: the address or lines, stored, shown, read back for Cx */
START_TEST(test_access_bindings)
{
    static const char eric[] =
        "{\"name\": \"eric\", \"impis\": [{\"identity\": \"eric@" DOMAIN "\","
        " \"ip_address\": \"2001:DB8:1:2:0::/64\", \"line_identifiers\": [\"dslam-7/port-3\","
        " \"dslam-7/port-4\"], \"password\": \"x\"}],"
        " \"impus\": [{\"identity\": \"sip:eric@" DOMAIN "\"}]}";
    struct hss_put_result res;
    ck_assert_int_eq(put_text(eric, false, &res), 0);
    json_t *got;
    ck_assert_int_eq(hss_subscriber_get(db, "eric", &got), 0);
    json_t *impi = json_array_get(json_object_get(got, "impis"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(impi, "ip_address")),
                     "2001:db8:1:2::/64");
    ck_assert_int_eq(json_array_size(json_object_get(impi, "line_identifiers")), 2);
    /* no list: every scheme the credentials allow; digest stays the default */
    ck_assert_int_eq(json_array_size(json_object_get(impi, "schemes")), 5);
    ck_assert_str_eq(json_string_value(json_object_get(impi, "default_scheme")), "digest");
    json_decref(got);
    struct hss_impi i;
    ck_assert_int_eq(hss_impi_find(db, "eric@" DOMAIN, &i), 0);
    ck_assert_str_eq(i.ip_address, "2001:db8:1:2::/64");
    ck_assert_int_eq(i.nline_ids, 2);
    ck_assert_str_eq(i.line_ids[1], "dslam-7/port-4");
    ck_assert_uint_eq(i.schemes, HSS_SCHEME_DIGEST | HSS_SCHEME_TISPAN | HSS_SCHEME_PACKETCABLE |
                                     HSS_SCHEME_EARLY_IMS | HSS_SCHEME_NASS_BUNDLED);
    /* the same again changes nothing; another line is an update */
    ck_assert_int_eq(put_text(eric, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UNCHANGED);
    json_t *doc = parse(eric);
    patch(doc, "impis/0/line_identifiers/1", "\"dslam-7/port-5\"");
    patch(doc, "impis/0/schemes", "[\"early-ims\", \"nass-bundled\"]");
    patch(doc, "impis/0/default_scheme", "\"early-ims\"");
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UPDATED);
    ck_assert_int_eq(hss_impi_find(db, "eric@" DOMAIN, &i), 0);
    ck_assert_str_eq(i.line_ids[1], "dslam-7/port-5");
    ck_assert_uint_eq(i.schemes, HSS_SCHEME_EARLY_IMS | HSS_SCHEME_NASS_BUNDLED);
    ck_assert_uint_eq(i.default_scheme, HSS_SCHEME_EARLY_IMS);
    /* an address nobody would use: listed schemes without early-ims */
    patch(doc, "impis/0/schemes", "[\"digest\", \"nass-bundled\"]");
    ck_assert_int_eq(put_json(doc, true, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impis[0].ip_address");
    json_decref(doc);
}
END_TEST

START_TEST(test_ip_parse_and_scheme_text)
{
    struct hss_ip ip;
    char canon[64];
    ck_assert_int_eq(hss_ip_parse("192.0.2.7", &ip, canon), 0);
    ck_assert_int_eq(ip.family, AF_INET);
    ck_assert_uint_eq(ip.prefix, 32);
    ck_assert_str_eq(canon, "192.0.2.7");
    ck_assert_int_eq(hss_ip_parse("2001:db8::7", &ip, canon), 0);
    ck_assert_str_eq(canon, "2001:db8::7/128");
    ck_assert_int_eq(hss_ip_parse("2001:db8:1:20::/60", &ip, canon), 0);
    ck_assert_uint_eq(ip.prefix, 60);
    ck_assert_int_eq(hss_ip_parse("2001:db8:1:28::/60", &ip, NULL), -EINVAL);   /* host bit */
    ck_assert_int_eq(hss_ip_parse("192.0.2.7/32", &ip, NULL), -EINVAL);
    ck_assert_int_eq(hss_ip_parse("2001:db8::/", &ip, NULL), -EINVAL);
    ck_assert_int_eq(hss_ip_parse("2001:db8::/0", &ip, NULL), -EINVAL);
    ck_assert_int_eq(hss_ip_parse("", &ip, NULL), -EINVAL);
    ck_assert_uint_eq(hss_scheme_bits("digest,tispan-digest,early-ims"),
                      HSS_SCHEME_DIGEST | HSS_SCHEME_TISPAN | HSS_SCHEME_EARLY_IMS);
    /* names are whole words: "tispan-digest" alone is not "digest" */
    ck_assert_uint_eq(hss_scheme_bits("tispan-digest,packetcable-digest"),
                      HSS_SCHEME_TISPAN | HSS_SCHEME_PACKETCABLE);
    ck_assert_uint_eq(hss_scheme_bits("bogus,,akav2"), HSS_SCHEME_AKAV2);
    ck_assert_uint_eq(hss_scheme_of("nass-bundled"), HSS_SCHEME_NASS_BUNDLED);
    ck_assert_uint_eq(hss_scheme_of("NASS-Bundled"), 0);
}
END_TEST

START_TEST(test_replace_keeps_network_state)
{
    struct hss_put_result res;
    struct hss_impu sip, tel, again;
    struct hss_impi impi;
    struct hss_subscription s;
    ck_assert_int_eq(put_text(alice_doc, false, &res), 0);
    int64_t sub = res.subscription_id;
    ck_assert_int_eq(hss_impu_find(db, ALICE_SIP, &sip), 0);
    ck_assert_int_eq(hss_impu_find(db, "tel:+15550100001", &tel), 0);
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    /* what the network learned: registration, S-CSCF, SQNs used, Sh data */
    ck_assert_int_eq(hss_registration_set(db, &sip, impi.id, HSS_REGISTERED,
                                          "sip:scscf." DOMAIN, "scscf." DOMAIN), 0);
    ck_assert_int_eq(hss_sqn_set(db, impi.id, 0x1000), 0);
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO sh_data VALUES (%lld, 'svc', 1, '<x/>')",
             (long long)sip.id);
    exec_sql(sql);

    /* replace: a display name, a new IMPU, the seed's lower SQN */
    json_t *doc = parse(alice_doc);
    patch(doc, "impus/0/display_name", "\"Alice\"");
    patch(doc, "impus/2", "{\"identity\": \"sip:alice.work@" DOMAIN "\"}");
    ck_assert_int_eq(put_json(doc, false, &res), -EEXIST);
    ck_assert_str_eq(res.field, "name");
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UPDATED);
    ck_assert_int_eq(res.subscription_id, sub);
    ck_assert(res.profile_changed);
    ck_assert_int_eq(hss_impu_find(db, ALICE_SIP, &again), 0);
    ck_assert_int_eq(again.id, sip.id);
    ck_assert_int_eq(again.reg_state, HSS_REGISTERED);
    ck_assert_str_eq(again.display_name, "Alice");
    ck_assert_int_eq(hss_impu_find(db, "tel:+15550100001", &again), 0);
    ck_assert_int_eq(again.id, tel.id);
    ck_assert_int_eq(again.reg_state, HSS_REGISTERED);   /* registered with its set */
    ck_assert_int_eq(hss_subscription_get(db, sub, &s), 0);
    ck_assert_str_eq(s.scscf_name, "sip:scscf." DOMAIN);
    ck_assert_str_eq(s.scscf_host, "scscf." DOMAIN);
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    ck_assert_uint_eq(impi.sqn, 0x1000);                  /* never backwards */
    ck_assert_int_eq(query_ll("SELECT count(*) FROM sh_data"), 1);
    ck_assert_int_eq(query_ll("SELECT registered FROM impi_impu l JOIN impu u"
                              " ON u.id = l.impu_id WHERE u.identity = '" ALICE_SIP "'"), 1);

    /* the same document again: nothing to do */
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UNCHANGED);
    ck_assert(!res.profile_changed);

    /* a higher SQN is taken; a password change is not the S-CSCF's business */
    patch(doc, "impis/0/sqn", "\"000000002000\"");
    patch(doc, "impis/0/password", "\"new-secret\"");
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UPDATED);
    ck_assert(!res.profile_changed);
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    ck_assert_uint_eq(impi.sqn, 0x2000);
    ck_assert_str_eq(impi.password, "new-secret");

    /* an IMPU left out is deleted, with its Sh data */
    json_array_remove(json_object_get(doc, "impus"), 0);
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert(res.profile_changed);
    ck_assert_int_eq(hss_impu_find(db, ALICE_SIP, &again), -ENOENT);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM sh_data"), 0);
    json_decref(doc);

    /* replace of a missing subscriber */
    ck_assert_int_eq(put_text(bob_doc, true, &res), -ENOENT);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM subscription WHERE name = 'bob'"), 0);
}
END_TEST

START_TEST(test_ifc_changes_reported)
{
    struct hss_put_result res;
    json_t *doc = parse(alice_doc);
    char ifcs[512];
    snprintf(ifcs, sizeof(ifcs), "[%s]", ifc_mmtel);
    patch(doc, "profiles/0/ifcs", ifcs);
    ck_assert_int_eq(put_json(doc, false, &res), 0);
    ck_assert_int_eq(res.nifc_changed, 0);   /* new IMPUs: nobody subscribed yet */
    int64_t profile = query_ll("SELECT id FROM service_profile");
    ck_assert_int_eq(query_ll("SELECT count(*) FROM ifc WHERE xml LIKE"
                              " '%<Method>INVITE</Method>%'"), 1);
    /* the spec is kept in a canonical form: key order does not matter */
    patch(doc, "profiles/0/ifcs/0",
          "{\"as\": {\"server_name\": \"sip:mmtel." DOMAIN "\"}, \"priority\": 0,"
          " \"trigger\": {\"spt\": [{\"method\": \"INVITE\"}]}}");
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UNCHANGED);
    /* a changed trigger: PPR due, Sh told about the profile */
    patch(doc, "profiles/0/ifcs/0/trigger/spt/0/method", "\"MESSAGE\"");
    ck_assert_int_eq(put_json(doc, true, &res), 0);
    ck_assert(res.profile_changed);
    ck_assert_int_eq(res.nifc_changed, 1);
    ck_assert_int_eq(res.ifc_changed[0], profile);   /* profiles keep their id */
    json_t *got;
    ck_assert_int_eq(hss_subscriber_get(db, "alice", &got), 0);
    json_t *spec = json_array_get(json_object_get(json_array_get(json_object_get(got,
                                  "profiles"), 0), "ifcs"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "priority")), 0);
    ck_assert_ptr_nonnull(json_object_get(spec, "trigger"));
    json_decref(got);
    json_decref(doc);
}
END_TEST

START_TEST(test_conflicts)
{
    struct hss_put_result res;
    ck_assert_int_eq(put_text(alice_doc, false, &res), 0);
    ck_assert_int_eq(put_text(bob_doc, false, &res), 0);
    long long before = all_rows();
    json_t *doc = parse(bob_doc);
    patch(doc, "name", "\"mallory\"");
    patch(doc, "impis/0/identity", "\"mallory@" DOMAIN "\"");
    patch(doc, "impus/0/identity", "\"tel:+15550100001\"");   /* alice's */
    ck_assert_int_eq(put_json(doc, false, &res), -EEXIST);
    ck_assert_str_eq(res.field, "impus[0].identity");
    ck_assert_ptr_nonnull(strstr(res.err, "alice"));
    patch(doc, "impis/0/identity", "\"BOB@" DOMAIN "\"");     /* bob's, other case */
    ck_assert_int_eq(put_json(doc, false, &res), -EEXIST);
    ck_assert_str_eq(res.field, "impis[0].identity");
    ck_assert_ptr_nonnull(strstr(res.err, "bob"));
    /* bob cannot take alice's identity by a replace either */
    json_decref(doc);
    doc = parse(bob_doc);
    patch(doc, "impus/1", "{\"identity\": \"" ALICE_SIP "\"}");
    ck_assert_int_eq(put_json(doc, true, &res), -EEXIST);
    ck_assert_str_eq(res.field, "impus[1].identity");
    ck_assert_int_eq(all_rows(), before);
    json_decref(doc);
}
END_TEST

START_TEST(test_wildcard)
{
    struct hss_put_result res;
    struct hss_impu u;
    ck_assert_int_eq(put_text("{\"name\": \"chat\", \"impus\": [{\"identity\":"
                              " \"sip:chat-!.*!@ims.example.org\", \"type\": \"wildcard-psi\","
                              " \"psi_as\": \"sip:chat-as.ims.example.org\"},"
                              " {\"identity\": \"tel:+1555!9[0-9]*!\","
                              " \"type\": \"wildcard-psi\"}]}", false, &res), 0);
    ck_assert_int_eq(hss_impu_find(db, "sip:chat-room42@ims.example.org", &u), 0);
    ck_assert_int_eq(u.type, HSS_WILDCARD_PSI);
    ck_assert_str_eq(u.identity, "sip:chat-!.*!@ims.example.org");
    ck_assert_str_eq(u.wildcard, "sip:chat-.*@ims\\.example\\.org");
    ck_assert_str_eq(u.psi_as, "sip:chat-as.ims.example.org");
    ck_assert(u.psi_active);
    ck_assert_int_eq(hss_impu_find(db, "sip:chatroom@ims.example.org", &u), -ENOENT);
    ck_assert_int_eq(hss_impu_find(db, "sip:chat-x@imsXexample.org", &u), -ENOENT);
    ck_assert_int_eq(hss_impu_find(db, "tel:+155591234", &u), 0);
    ck_assert_str_eq(u.wildcard, "tel:\\+15559[0-9]*");
    ck_assert_int_eq(hss_impu_find(db, "tel:+155581234", &u), -ENOENT);

    json_t *doc = parse("{\"name\": \"w\", \"impus\": [{\"identity\": \"sip:a-!(!@x.org\","
                        " \"type\": \"wildcard-impu\"}]}");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impus[0].identity");
    ck_assert_ptr_nonnull(strstr(res.err, "regular expression"));
    patch(doc, "impus/0/identity", "\"sip:a-!x!-!y!@x.org\"");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impus[0].identity");
    json_decref(doc);
}
END_TEST

START_TEST(test_bulk)
{
    long created;
    struct hss_impi impi;
    struct hss_impu impu;
    uint8_t k[16], opc[16];
    ck_assert_int_eq(hss_subscriber_bulk(db, "user", 1, 2500, DOMAIN, &created), 0);
    ck_assert_int_eq(created, 2500);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM subscription"), 2500);
    ck_assert_int_eq(hss_impi_find(db, "user02500@" DOMAIN, &impi), 0);
    ck_assert_str_eq(impi.password, "user02500-secret");
    ck_assert(impi.has_aka);
    ck_assert_int_eq(ims_hex_decode("626f622d6c61622d6b65792d30303031", k, 16), 0);
    ck_assert_int_eq(ims_hex_decode("43323b985271beddb44cbf7214364a41", opc, 16), 0);
    ck_assert_mem_eq(impi.k, k, 16);
    ck_assert_mem_eq(impi.opc, opc, 16);      /* bob's OPc (LAB.md) */
    ck_assert_int_eq(impi.amf[0], 0x38);
    ck_assert_int_eq(impi.amf[1], 0x30);
    ck_assert_int_eq(impi.default_scheme, HSS_SCHEME_DIGEST);
    ck_assert_uint_eq(impi.schemes, HSS_SCHEME_DIGEST | HSS_SCHEME_AKAV1 | HSS_SCHEME_AKAV2 |
                                        HSS_SCHEME_TISPAN | HSS_SCHEME_PACKETCABLE);
    ck_assert_int_eq(hss_impu_find(db, "sip:user00001@" DOMAIN, &impu), 0);
    ck_assert_int_eq(hss_impi_find(db, "user00001@" DOMAIN, &impi), 0);
    ck_assert(hss_impi_has_impu(db, impi.id, impu.id));
    ck_assert_int_gt(impu.profile_id, 0);
    json_t *got;
    ck_assert_int_eq(hss_subscriber_get(db, "user00042", &got), 0);
    json_decref(got);
    /* existing names are skipped */
    ck_assert_int_eq(hss_subscriber_bulk(db, "user", 2001, 1000, DOMAIN, &created), 0);
    ck_assert_int_eq(created, 500);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM subscription"), 3000);
    ck_assert_int_eq(hss_subscriber_bulk(db, "", 1, 1, DOMAIN, &created), -EINVAL);
    ck_assert_int_eq(hss_subscriber_bulk(db, "user", 1, 0, DOMAIN, &created), -EINVAL);
    ck_assert_int_eq(hss_subscriber_bulk(db, "us/er", 1, 1, DOMAIN, &created), -EINVAL);
    ck_assert_int_eq(hss_subscriber_bulk(db, "user", 1, 1, "bad domain", &created), -EINVAL);
    ck_assert_int_eq(hss_subscriber_bulk(db, "user", 1, HSS_BULK_MAX + 1, DOMAIN, &created),
                     -EINVAL);
}
END_TEST

START_TEST(test_rollback_on_failure)
{
    struct hss_put_result res;
    /* a duplicate IMPU inside one document is refused before anything is written */
    json_t *doc = parse(alice_doc);
    patch(doc, "impus/2", "{\"identity\": \"tel:+15550100001\"}");
    ck_assert_int_eq(put_json(doc, false, &res), -EINVAL);
    ck_assert_str_eq(res.field, "impus[2].identity");
    ck_assert_int_eq(all_rows(), 0);
    json_decref(doc);

    /* a failure in the middle of the writes (the subscription, the profile and the IMPI
     * are written when the second IMPU fails): nothing of it remains */
    exec_sql("CREATE TEMP TRIGGER boom BEFORE INSERT ON impu WHEN NEW.identity LIKE"
             " 'sip:boom@%' BEGIN SELECT RAISE(ABORT, 'forced failure'); END");
    doc = parse(alice_doc);
    patch(doc, "impus/2", "{\"identity\": \"sip:boom@" DOMAIN "\"}");
    ck_assert_int_eq(put_json(doc, false, &res), -EIO);
    ck_assert_int_eq(all_rows(), 0);

    /* and a failing replace leaves the stored subscriber as it was */
    json_t *good = parse(alice_doc);
    ck_assert_int_eq(put_json(good, false, &res), 0);
    long long before = all_rows();
    patch(doc, "impis/0/password", "\"changed\"");
    patch(doc, "impus/0/display_name", "\"Changed\"");
    ck_assert_int_eq(put_json(doc, true, &res), -EIO);
    ck_assert_int_eq(all_rows(), before);
    struct hss_impi impi;
    struct hss_impu impu;
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    ck_assert_str_eq(impi.password, "alice-secret");
    ck_assert_int_eq(hss_impu_find(db, ALICE_SIP, &impu), 0);
    ck_assert_str_eq(impu.display_name, "");
    /* the connection is usable afterwards */
    ck_assert_int_eq(put_json(good, true, &res), 0);
    ck_assert_int_eq(res.outcome, HSS_PUT_UNCHANGED);
    json_decref(good);
    json_decref(doc);
}
END_TEST

START_TEST(test_seed_all_or_nothing)
{
    struct hss_put_result res[3];
    size_t failed;
    char text[4096];
    snprintf(text, sizeof(text), "[%s, %s]", alice_doc, bob_doc);
    json_t *docs = parse(text);
    ck_assert_int_eq(hss_subscriber_seed(db, docs, res, &failed), 0);
    ck_assert_int_eq(res[0].outcome, HSS_PUT_CREATED);
    ck_assert_int_eq(res[1].outcome, HSS_PUT_CREATED);
    ck_assert_int_eq(hss_subscriber_seed(db, docs, res, &failed), 0);   /* idempotent */
    ck_assert_int_eq(res[0].outcome, HSS_PUT_UNCHANGED);
    ck_assert_int_eq(res[1].outcome, HSS_PUT_UNCHANGED);
    long long before = all_rows();

    /* a valid change to alice and a bad bob: neither is written */
    patch(docs, "0/impis/0/password", "\"changed\"");
    patch(docs, "1/impis/0/k", "\"nothex\"");
    ck_assert_int_eq(hss_subscriber_seed(db, docs, res, &failed), -EINVAL);
    ck_assert_int_eq(failed, 1);
    ck_assert_str_eq(res[1].field, "impis[0].k");
    /* a conflict found while writing (after alice was written) undoes alice too */
    patch(docs, "1/impis/0/k", NULL);
    patch(docs, "2", "{\"name\": \"eve\", \"impis\": [{\"identity\": \"eve@" DOMAIN "\","
                     " \"password\": \"x\"}], \"impus\": [{\"identity\": \"" ALICE_SIP "\"}]}");
    ck_assert_int_eq(hss_subscriber_seed(db, docs, res, &failed), -EEXIST);
    ck_assert_int_eq(failed, 2);
    ck_assert_str_eq(res[2].field, "impus[0].identity");
    ck_assert_int_eq(all_rows(), before);
    struct hss_impi impi;
    ck_assert_int_eq(hss_impi_find(db, ALICE_IMPI, &impi), 0);
    ck_assert_str_eq(impi.password, "alice-secret");
    json_decref(docs);
}
END_TEST

static Suite *subscriber_suite(void)
{
    Suite *s = suite_create("subscriber");
    TCase *tc = tcase_create("documents");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_create_get_roundtrip);
    tcase_add_test(tc, test_op_to_opc);
    tcase_add_test(tc, test_list_paging);
    tcase_add_test(tc, test_delete);
    tcase_add_loop_test(tc, test_validation_names_the_field, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_validation_cross_checks);
    tcase_add_test(tc, test_access_bindings);
    tcase_add_test(tc, test_ip_parse_and_scheme_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("replace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_replace_keeps_network_state);
    tcase_add_test(tc, test_ifc_changes_reported);
    tcase_add_test(tc, test_conflicts);
    tcase_add_test(tc, test_wildcard);
    tcase_add_test(tc, test_rollback_on_failure);
    tcase_add_test(tc, test_seed_all_or_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("bulk");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* 3500 subscribers written: 15 s under ASan on a loaded 2-core machine (load 33), half
     * of run-unit.sh's 30 s */
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_bulk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ims_log_set_level(IMS_LOG_WARN);
    SRunner *sr = srunner_create(subscriber_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
