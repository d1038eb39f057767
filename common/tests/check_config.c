/*
 * check_config.c - the configuration reader: syntax, schema validation, error messages,
 * "@other.key" defaults, environment overrides and list splitting
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static int check_even(const char *value, char *err, size_t errlen)
{
    if (strlen(value) % 2) {
        snprintf(err, errlen, "'%s' has an odd length", value);
        return -1;
    }
    return 0;
}

static const struct ims_cfg_key core_keys[] = {
    { "core", "name", IMS_CFG_STR, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, NULL, "node name" },
    { "core", "workers", IMS_CFG_INT, "4", 0, 1, 64, NULL, NULL, "worker threads" },
    { "core", "debug", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL, NULL },
    { "core", "mode", IMS_CFG_ENUM, "fast", 0, 0, 0, "fast|safe|slow", NULL, NULL },
    { "core", "label", IMS_CFG_STR, NULL, 0, 0, 0, NULL, NULL, NULL },
    { "core", "pair", IMS_CFG_STR, NULL, 0, 0, 0, NULL, check_even, NULL },
    IMS_CFG_END
};

static const struct ims_cfg_key net_keys[] = {
    { "net", "address", IMS_CFG_ADDR, "127.0.0.1", 0, 0, 0, NULL, NULL, NULL },
    { "net", "http-address", IMS_CFG_ADDR, "@net.address", 0, 0, 0, NULL, NULL, NULL },
    { "net", "peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ims_cfg_check_peer,
      NULL },
    { "net", "methods", IMS_CFG_LIST, NULL, 0, 0, 0, "register|invite|message", NULL, NULL },
    IMS_CFG_END
};

static const struct ims_cfg_key *const schemas[] = { core_keys, net_keys, NULL };

static char path[64];
static char err[512];

/* Write @text to a fresh temporary file whose name is left in path. */
static void write_conf(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/check_config_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static struct ims_cfg *load(const char *text)
{
    write_conf(text);
    err[0] = '\0';
    return ims_cfg_load(path, schemas, err, sizeof(err));
}

/* Loading must fail and the message must contain each of the given fragments. */
static void expect_error(const char *text, const char *frag1, const char *frag2)
{
    struct ims_cfg *cfg = load(text);
    ck_assert_msg(cfg == NULL, "loaded although it should fail: %s", text);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "error does not name the file: %s",
                  err);
    ck_assert_msg(strstr(err, frag1) != NULL, "'%s' not in error: %s", frag1, err);
    if (frag2)
        ck_assert_msg(strstr(err, frag2) != NULL, "'%s' not in error: %s", frag2, err);
}

static void teardown(void)
{
    if (path[0])
        unlink(path);
    path[0] = '\0';
}

START_TEST(test_parse_basic)
{
    struct ims_cfg *cfg = load("# comment\n"
                               "; another comment\n"
                               "\n"
                               "[core]\n"
                               "  name = pcscf-1   # trailing comment\n"
                               "workers=8\n"
                               "debug = On\n"
                               "mode = SAFE\n"
                               "label = \"quoted # kept ; too\"  # comment\n"
                               "[ net ]\n"
                               "address = ::1\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "core.name"), "pcscf-1");
    ck_assert_int_eq(ims_cfg_int(cfg, "core.workers"), 8);
    ck_assert(ims_cfg_bool(cfg, "core.debug"));
    ck_assert_str_eq(ims_cfg_str(cfg, "core.mode"), "SAFE");
    ck_assert_str_eq(ims_cfg_str(cfg, "core.label"), "quoted # kept ; too");
    ck_assert_str_eq(ims_cfg_str(cfg, "net.address"), "::1");
    ck_assert_str_eq(ims_cfg_path(cfg), path);
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_quoted_escapes_and_hash_in_word)
{
    struct ims_cfg *cfg = load("[core]\n"
                               "name = a#b\n"
                               "label = \"say \\\"hi\\\" \\\\ bye\"\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "core.name"), "a#b");
    ck_assert_str_eq(ims_cfg_str(cfg, "core.label"), "say \"hi\" \\ bye");
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_defaults_and_sources)
{
    struct ims_cfg *cfg = load("[core]\nname = x\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(ims_cfg_int(cfg, "core.workers"), 4);
    ck_assert(!ims_cfg_bool(cfg, "core.debug"));
    ck_assert_str_eq(ims_cfg_str(cfg, "core.mode"), "fast");
    ck_assert_str_eq(ims_cfg_source(cfg, "core.workers"), "default");
    ck_assert(!ims_cfg_is_set(cfg, "core.label"));
    ck_assert_str_eq(ims_cfg_str(cfg, "core.label"), "");
    ck_assert_str_eq(ims_cfg_source(cfg, "core.label"), "unset");
    char want[96];
    snprintf(want, sizeof(want), "%s:2", path);
    ck_assert_str_eq(ims_cfg_source(cfg, "core.name"), want);
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_at_default_follows_other_key)
{
    struct ims_cfg *cfg = load("[core]\nname = x\n[net]\naddress = 10.1.2.3\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "net.http-address"), "10.1.2.3");
    ck_assert_str_eq(ims_cfg_source(cfg, "net.http-address"), "default (net.address)");
    ims_cfg_free(cfg);

    /* the referenced key's own default is followed too */
    cfg = load("[core]\nname = x\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "net.http-address"), "127.0.0.1");
    ims_cfg_free(cfg);

    /* an explicit value wins over the reference */
    cfg = load("[core]\nname = x\n[net]\naddress = 10.1.2.3\nhttp-address = 10.9.9.9\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "net.http-address"), "10.9.9.9");
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_err_unknown_key)
{
    expect_error("[core]\nname = x\ncolour = red\n", ":3:", "unknown key 'colour'");
}
END_TEST

START_TEST(test_err_unknown_section)
{
    expect_error("[core]\nname = x\n\n[nosuch]\n", ":4:", "unknown section [nosuch]");
}
END_TEST

START_TEST(test_err_key_before_section)
{
    expect_error("name = x\n", ":1:", "before any [section]");
}
END_TEST

START_TEST(test_err_malformed_lines)
{
    expect_error("[core\n", ":1:", "malformed section header");
    teardown();
    expect_error("[core]\njust words\n", ":2:", "expected 'key = value'");
    teardown();
    expect_error("[core]\nname = \"open\n", ":2: core.name", "quoted value");
    teardown();
    expect_error("[core]\nname = \"a\" b\n", ":2: core.name", "quoted value");
}
END_TEST

START_TEST(test_err_duplicate_key)
{
    expect_error("[core]\nname = x\n# gap\nname = y\n", ":4: core.name",
                 "duplicate key (first set on line 2)");
}
END_TEST

START_TEST(test_err_int_range)
{
    expect_error("[core]\nname = x\nworkers = 65\n", ":3: core.workers",
                 "65 is out of range 1..64");
    teardown();
    expect_error("[core]\nname = x\nworkers = 0\n", ":3: core.workers", "out of range");
    teardown();
    expect_error("[core]\nname = x\nworkers = 4x\n", ":3: core.workers", "not an integer");
}
END_TEST

START_TEST(test_err_bad_bool)
{
    expect_error("[core]\nname = x\ndebug = maybe\n", ":3: core.debug",
                 "'maybe' is not a boolean");
}
END_TEST

START_TEST(test_err_bad_address)
{
    expect_error("[core]\nname = x\n[net]\naddress = 10.0.0.300\n", ":4: net.address",
                 "not a numeric IPv4 or IPv6 address");
    teardown();
    expect_error("[core]\nname = x\n[net]\naddress = localhost\n", ":4: net.address",
                 "'localhost'");
}
END_TEST

START_TEST(test_err_bad_enum)
{
    expect_error("[core]\nname = x\nmode = turbo\n", ":3: core.mode",
                 "'turbo' is not one of fast|safe|slow");
    teardown();
    /* a prefix of a choice is not the choice */
    expect_error("[core]\nname = x\nmode = fas\n", ":3: core.mode", "'fas'");
}
END_TEST

START_TEST(test_err_missing_required)
{
    expect_error("[core]\nworkers = 2\n", "core.name", "required key is missing (node name)");
}
END_TEST

START_TEST(test_err_empty_value)
{
    expect_error("[core]\nname = x\nworkers =\n", "core.workers", "empty value");
}
END_TEST

START_TEST(test_err_check_callback)
{
    expect_error("[core]\nname = x\npair = abc\n", ":3: core.pair", "'abc' has an odd length");
    teardown();
    struct ims_cfg *cfg = load("[core]\nname = x\npair = abcd\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_list_items)
{
    struct ims_cfg *cfg = load("[core]\nname = x\n[net]\n"
                               "peers = hss.ims.net@127.0.0.40:3868 , ocs.ims.net@10.0.0.1\n"
                               "methods = REGISTER,invite\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    size_t n = 99;
    char **v = ims_cfg_list(cfg, "net.peers", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0], "hss.ims.net@127.0.0.40:3868");
    ck_assert_str_eq(v[1], "ocs.ims.net@10.0.0.1");
    ck_assert_ptr_null(v[2]);
    ims_strv_free(v);
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_err_list_items)
{
    expect_error("[core]\nname = x\n[net]\npeers = a.net@10.0.0.1,,b.net@10.0.0.2\n",
                 ":4: net.peers", "empty list item");
    teardown();
    expect_error("[core]\nname = x\n[net]\npeers = a.net@10.0.0.1, b.net\n", ":4: net.peers",
                 "'b.net' is not identity@address[:port]");
    teardown();
    expect_error("[core]\nname = x\n[net]\nmethods = register, bye\n", ":4: net.methods",
                 "list item 'bye' is not one of register|invite|message");
}
END_TEST

START_TEST(test_empty_list_allowed)
{
    struct ims_cfg *cfg = load("[core]\nname = x\n[net]\npeers =\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    size_t n = 99;
    char **v = ims_cfg_list(cfg, "net.peers", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(v[0]);
    ims_strv_free(v);
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_env_override)
{
    setenv("IMS_CORE_WORKERS", "16", 1);
    setenv("IMS_NET_HTTP_ADDRESS", "10.5.5.5", 1);
    struct ims_cfg *cfg = load("[core]\nname = x\nworkers = 2\n");
    unsetenv("IMS_CORE_WORKERS");
    unsetenv("IMS_NET_HTTP_ADDRESS");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(ims_cfg_int(cfg, "core.workers"), 16);
    ck_assert_str_eq(ims_cfg_source(cfg, "core.workers"), "env IMS_CORE_WORKERS");
    ck_assert_str_eq(ims_cfg_str(cfg, "net.http-address"), "10.5.5.5");
    ck_assert_str_eq(ims_cfg_source(cfg, "net.http-address"), "env IMS_NET_HTTP_ADDRESS");
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_env_supplies_required_key)
{
    setenv("IMS_CORE_NAME", "from-env", 1);
    err[0] = '\0';
    struct ims_cfg *cfg = ims_cfg_load(NULL, schemas, err, sizeof(err));
    unsetenv("IMS_CORE_NAME");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(ims_cfg_str(cfg, "core.name"), "from-env");
    ck_assert_str_eq(ims_cfg_path(cfg), "(none)");
    ims_cfg_free(cfg);
}
END_TEST

START_TEST(test_env_bad_value_named)
{
    setenv("IMS_CORE_WORKERS", "1000", 1);
    struct ims_cfg *cfg = load("[core]\nname = x\n");
    unsetenv("IMS_CORE_WORKERS");
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, "env IMS_CORE_WORKERS") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "core.workers") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "out of range") != NULL, "%s", err);
}
END_TEST

START_TEST(test_missing_file)
{
    err[0] = '\0';
    struct ims_cfg *cfg = ims_cfg_load("/nonexistent/ims.conf", schemas, err, sizeof(err));
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, "/nonexistent/ims.conf: cannot open") != NULL, "%s", err);
}
END_TEST

START_TEST(test_check_peer)
{
    static const char *const good[] = {
        "hss.ims.mnc001.mcc001.3gppnetwork.org@127.0.0.40:3868",
        "hss@127.0.0.1",
        "hss.ims.net@::1",
        "hss.ims.net@[::1]",
        "hss.ims.net@[::1]:3868",
        "hss@10.0.0.1:1",
        "hss@10.0.0.1:65535",
    };
    static const char *const bad[] = {
        "hss.ims.net",             /* no '@' */
        "@127.0.0.1",              /* no identity */
        "hss@",                    /* no address */
        "hss@hss.ims.net",         /* not numeric */
        "hss@127.0.0.1:0",         /* port 0 */
        "hss@127.0.0.1:65536",     /* port too large */
        "hss@127.0.0.1:",          /* empty port */
        "hss@127.0.0.1:38x",       /* not a number */
        "hs s@127.0.0.1",          /* blank in identity */
        "hss:1@127.0.0.1",         /* ':' in identity */
        "hss@[::1",                /* unterminated */
        "hss@[::1]:0",             /* IPv6 with bad port */
        "hss@[::1]:99999",
        "hss@[::1]x",              /* junk after ']' */
    };
    char why[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        why[0] = '\0';
        ck_assert_msg(ims_cfg_check_peer(good[i], why, sizeof(why)) == 0, "%s refused: %s",
                      good[i], why);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ck_assert_msg(ims_cfg_check_peer(bad[i], why, sizeof(why)) != 0, "%s accepted",
                      bad[i]);
        ck_assert_msg(why[0] != '\0', "no reason for %s", bad[i]);
    }
}
END_TEST

START_TEST(test_check_sip_uri)
{
    char why[256];
    ck_assert_int_eq(ims_cfg_check_sip_uri("sip:scscf.ims.net:6060", why, sizeof(why)), 0);
    ck_assert_int_eq(ims_cfg_check_sip_uri("sips:user@scscf.ims.net", why, sizeof(why)), 0);
    ck_assert_int_ne(ims_cfg_check_sip_uri("http://x", why, sizeof(why)), 0);
    ck_assert_int_ne(ims_cfg_check_sip_uri("sip:", why, sizeof(why)), 0);
    ck_assert_int_ne(ims_cfg_check_sip_uri("sip:user@", why, sizeof(why)), 0);
    ck_assert_int_ne(ims_cfg_check_sip_uri("sip::5060", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_strv_split)
{
    size_t n = 99;
    char **v = ims_strv_split("  a , b b,c  ,\td\t", ',', &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(v[0], "a");
    ck_assert_str_eq(v[1], "b b");
    ck_assert_str_eq(v[2], "c");
    ck_assert_str_eq(v[3], "d");
    ck_assert_ptr_null(v[4]);
    ims_strv_free(v);

    v = ims_strv_split("x;;y;", ';', &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(v[0], "x");
    ck_assert_str_eq(v[1], "");
    ck_assert_str_eq(v[2], "y");
    ck_assert_str_eq(v[3], "");
    ims_strv_free(v);

    v = ims_strv_split("", ',', &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(v[0]);
    ims_strv_free(v);

    v = ims_strv_split("single", ',', &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0], "single");
    ims_strv_free(v);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_parse_basic);
    tcase_add_test(tc, test_quoted_escapes_and_hash_in_word);
    tcase_add_test(tc, test_defaults_and_sources);
    tcase_add_test(tc, test_at_default_follows_other_key);
    tcase_add_test(tc, test_list_items);
    tcase_add_test(tc, test_empty_list_allowed);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_err_unknown_key);
    tcase_add_test(tc, test_err_unknown_section);
    tcase_add_test(tc, test_err_key_before_section);
    tcase_add_test(tc, test_err_malformed_lines);
    tcase_add_test(tc, test_err_duplicate_key);
    tcase_add_test(tc, test_err_int_range);
    tcase_add_test(tc, test_err_bad_bool);
    tcase_add_test(tc, test_err_bad_address);
    tcase_add_test(tc, test_err_bad_enum);
    tcase_add_test(tc, test_err_missing_required);
    tcase_add_test(tc, test_err_empty_value);
    tcase_add_test(tc, test_err_check_callback);
    tcase_add_test(tc, test_err_list_items);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("env");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_env_override);
    tcase_add_test(tc, test_env_supplies_required_key);
    tcase_add_test(tc, test_env_bad_value_named);
    suite_add_tcase(s, tc);

    tc = tcase_create("checks");
    tcase_add_test(tc, test_check_peer);
    tcase_add_test(tc, test_check_sip_uri);
    tcase_add_test(tc, test_strv_split);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
