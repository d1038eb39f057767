/*
 * config.c - fuzz harness of the configuration reader (common/config.c)
 *
 * Input: a configuration file. It is loaded against the common schemas of the daemons
 * (node, log, http, sip, diameter) and a section with one key of every type and check;
 * a configuration that loads is read back through every getter and dumped.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "config.h"
#include "daemon.h"
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

static const struct ims_cfg_key test_keys[] = {
    { "test", "str", IMS_CFG_STR, "x", 0, 0, 0, NULL, NULL, "text" },
    { "test", "int", IMS_CFG_INT, "5", 0, -1000, 1000, NULL, NULL, "integer" },
    { "test", "bool", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL, "boolean" },
    { "test", "addr", IMS_CFG_ADDR, "@node.address", 0, 0, 0, NULL, NULL, "address" },
    { "test", "choice", IMS_CFG_ENUM, "a", 0, 0, 0, "a|bb|ccc", NULL, "choice" },
    { "test", "list", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, "udp|tcp|tls", NULL, "list" },
    { "test", "host", IMS_CFG_HOST, NULL, 0, 0, 0, NULL, NULL, "host" },
    { "test", "path", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL, "path" },
    { "test", "secret", IMS_CFG_STR, "", IMS_CFG_SECRET | IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "secret" },
    { "test", "uri", IMS_CFG_STR, NULL, 0, 0, 0, NULL, ims_cfg_check_sip_uri, "SIP URI" },
    { "test", "peer", IMS_CFG_STR, NULL, 0, 0, 0, NULL, ims_cfg_check_peer, "peer" },
    IMS_CFG_END,
};

static const struct ims_cfg_key *const schemas[] = {
    ims_daemon_node_keys, ims_daemon_sip_keys, ims_daemon_diameter_keys, test_keys, NULL,
};

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("config");
    fd = memfd_create("fuzz-config", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return 0;
}

static void read_back(const struct ims_cfg *cfg)
{
    for (const struct ims_cfg_key *const *s = schemas; *s; s++) {
        for (const struct ims_cfg_key *k = *s; k->name; k++) {
            char key[96];
            snprintf(key, sizeof(key), "%s.%s", k->section, k->name);
            const char *v = ims_cfg_str(cfg, key);
            FUZZ_ASSERT(v != NULL, "%s", key);
            ims_cfg_int(cfg, key);
            ims_cfg_bool(cfg, key);
            ims_cfg_is_set(cfg, key);
            ims_cfg_source(cfg, key);
            if (k->type == IMS_CFG_LIST) {
                size_t n;
                char **items = ims_cfg_list(cfg, key, &n);
                FUZZ_ASSERT(items != NULL, "list %s", key);
                for (size_t i = 0; i < n; i++)
                    FUZZ_ASSERT(items[i] != NULL, "list item");
                ims_strv_free(items);
            }
            if (k->type == IMS_CFG_INT && *v) {
                long x = ims_cfg_int(cfg, key);
                FUZZ_ASSERT(x >= k->min && x <= k->max, "%s = %ld out of range", key, x);
            }
        }
    }
    ims_cfg_dump(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char err[512] = "";
    struct ims_cfg *cfg = ims_cfg_load(path, schemas, err, sizeof(err));
    if (!cfg) {
        FUZZ_ASSERT(err[0], "refused without a reason");
        return 0;
    }
    read_back(cfg);
    ims_cfg_free(cfg);
    return 0;
}
