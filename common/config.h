/*
 * config.h - one configuration file per daemon, validated against a schema at start
 *
 * Format (documented in README.md "Configuration files"):
 *
 *     # comment            ; comment
 *     [section]
 *     key = value          # trailing comment after blank
 *     key = "quoted value # kept"
 *
 * Every key the daemon reads is declared in a schema table (section, name, type, default,
 * range, help). Loading fails on an unknown key, a duplicate, a value of the wrong type or a
 * missing required key, with a message naming the file, the line and the key. Environment
 * variables IMS_<SECTION>_<KEY> (upper case, '-' and '.' as '_') override the file.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_CONFIG_H
#define IMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum ims_cfg_type {
    IMS_CFG_STR = 0,    /* any non-empty text */
    IMS_CFG_INT,        /* decimal integer in [min, max] */
    IMS_CFG_BOOL,       /* yes/no, true/false, on/off, 1/0 */
    IMS_CFG_ADDR,       /* numeric IPv4 or IPv6 address */
    IMS_CFG_ENUM,       /* one word of choices "a|b|c" */
    IMS_CFG_LIST,       /* comma-separated items; each checked by ->check when set */
    IMS_CFG_HOST,       /* host name (FQDN) or numeric address */
    IMS_CFG_PATH,       /* file or folder path */
};

/* flags */
#define IMS_CFG_REQUIRED 0x1  /* must be set (file or environment); def ignored */
#define IMS_CFG_SECRET   0x2  /* value masked in the start-up dump */
#define IMS_CFG_EMPTY_OK 0x4  /* the empty string is a valid value (lists, optional paths) */

struct ims_cfg_key {
    const char *section;
    const char *name;
    enum ims_cfg_type type;
    /* default value as text; "@section.key" takes another key's value; NULL = unset */
    const char *def;
    unsigned flags;
    long min, max;            /* IMS_CFG_INT */
    const char *choices;      /* IMS_CFG_ENUM, and allowed items of IMS_CFG_LIST when set */
    /* extra check of a value (or of each list item); writes why into err; 0 = valid */
    int (*check)(const char *value, char *err, size_t errlen);
    const char *help;
};

#define IMS_CFG_END { NULL, NULL, IMS_CFG_STR, NULL, 0, 0, 0, NULL, NULL, NULL }

struct ims_cfg;

/*
 * ims_cfg_load - read, override from the environment and validate a configuration.
 * @path:    the file; NULL means environment and defaults only.
 * @schemas: NULL-terminated array of schema tables, each ended by IMS_CFG_END.
 * @err:     receives "file:line: section.key: why" on failure.
 * Returns the configuration (free with ims_cfg_free) or NULL.
 */
struct ims_cfg *ims_cfg_load(const char *path, const struct ims_cfg_key *const *schemas,
                             char *err, size_t errlen);
void ims_cfg_free(struct ims_cfg *cfg);

/* Lookups by "section.key". A key not declared in the schema is a programming error: the
 * getters log it and return "" / 0 / false. */
const char *ims_cfg_str(const struct ims_cfg *cfg, const char *key);
long ims_cfg_int(const struct ims_cfg *cfg, const char *key);
bool ims_cfg_bool(const struct ims_cfg *cfg, const char *key);
bool ims_cfg_is_set(const struct ims_cfg *cfg, const char *key);   /* non-empty value */
const char *ims_cfg_source(const struct ims_cfg *cfg, const char *key);
const char *ims_cfg_path(const struct ims_cfg *cfg);

/*
 * ims_cfg_list - split a list value into trimmed items.
 * Returns a NULL-terminated array (free with ims_strv_free) and its length in *n, or NULL
 * on allocation failure. An empty value gives an empty array.
 */
char **ims_cfg_list(const struct ims_cfg *cfg, const char *key, size_t *n);
char **ims_strv_split(const char *s, char sep, size_t *n);
void ims_strv_free(char **v);

/* Log every key with its value and where it came from (file:line, env, default). */
void ims_cfg_dump(const struct ims_cfg *cfg);

/* Print the schema as documentation (used by --help). */
void ims_cfg_print_schema(const struct ims_cfg_key *const *schemas, void *file);

/* Value checks usable as ->check */
int ims_cfg_check_peer(const char *value, char *err, size_t errlen);    /* host@addr[:port] */
int ims_cfg_check_sip_uri(const char *value, char *err, size_t errlen); /* sip:host[:port] */
int ims_cfg_check_host_entry(const char *value, char *err, size_t errlen); /* name=address */

#endif
