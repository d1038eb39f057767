/*
 * config.c - configuration file reader, environment overrides and schema validation
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry {
    const struct ims_cfg_key *key;
    char full[96];      /* "section.name" */
    char *value;        /* NULL = unset */
    char source[128];   /* "file:line", "env IMS_X_Y", "default" */
    int line;           /* 0 when not from the file */
};

struct ims_cfg {
    char *path;
    struct entry *entries;
    size_t count;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static struct entry *find_entry(const struct ims_cfg *cfg, const char *section, const char *name)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct ims_cfg_key *k = cfg->entries[i].key;
        if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
            return &cfg->entries[i];
    }
    return NULL;
}

static struct entry *find_full(const struct ims_cfg *cfg, const char *full)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].full, full) == 0)
            return &cfg->entries[i];
    return NULL;
}

static bool section_known(const struct ims_cfg *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].key->section, section) == 0)
            return true;
    return false;
}

static int set_value(struct entry *e, const char *value, const char *source, int line)
{
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    free(e->value);
    e->value = v;
    e->line = line;
    snprintf(e->source, sizeof(e->source), "%s", source);
    return 0;
}

/* Unquote a value: "..." keeps '#' and blanks, \" and \\ escape. Otherwise strip a trailing
 * comment that starts with blank + '#' or ';'. Returns NULL on an unterminated quote. */
static char *parse_value(char *v)
{
    v = trim(v);
    if (*v == '"') {
        char *out = v, *in = v + 1;
        for (; *in && *in != '"'; in++) {
            if (*in == '\\' && (in[1] == '"' || in[1] == '\\'))
                in++;
            *out++ = *in;
        }
        if (*in != '"')
            return NULL;
        char *rest = trim(in + 1);
        if (*rest && *rest != '#' && *rest != ';')
            return NULL;
        *out = '\0';
        return v;
    }
    for (char *p = v; *p; p++) {
        if ((*p == '#' || *p == ';') && p > v && isspace((unsigned char)p[-1])) {
            *p = '\0';
            break;
        }
    }
    return trim(v);
}

static int read_file(struct ims_cfg *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], section[64] = "";
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line longer than %zu characters", path, lineno,
                     sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || *trim(end + 1)) {
                snprintf(err, errlen, "%s:%d: malformed section header '%s'", path, lineno, s);
                rc = -1;
                break;
            }
            *end = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            if (!section_known(cfg, section)) {
                snprintf(err, errlen, "%s:%d: unknown section [%s]", path, lineno, section);
                rc = -1;
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value', got '%s'", path, lineno, s);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(s);
        if (!*section) {
            snprintf(err, errlen, "%s:%d: key '%s' before any [section]", path, lineno, name);
            rc = -1;
            break;
        }
        struct entry *e = find_entry(cfg, section, name);
        if (!e) {
            snprintf(err, errlen, "%s:%d: unknown key '%s' in section [%s]", path, lineno, name,
                     section);
            rc = -1;
            break;
        }
        if (e->line) {
            snprintf(err, errlen, "%s:%d: %s: duplicate key (first set on line %d)", path,
                     lineno, e->full, e->line);
            rc = -1;
            break;
        }
        char *value = parse_value(eq + 1);
        if (!value) {
            snprintf(err, errlen, "%s:%d: %s: unterminated or malformed quoted value", path,
                     lineno, e->full);
            rc = -1;
            break;
        }
        char src[128];
        snprintf(src, sizeof(src), "%s:%d", path, lineno);
        if (set_value(e, value, src, lineno) < 0) {
            snprintf(err, errlen, "%s:%d: out of memory", path, lineno);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int apply_env(struct ims_cfg *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->count; i++) {
        struct entry *e = &cfg->entries[i];
        char var[128];
        int n = snprintf(var, sizeof(var), "IMS_%s_%s", e->key->section, e->key->name);
        if (n <= 0 || (size_t)n >= sizeof(var))
            continue;
        for (char *p = var; *p; p++)
            *p = (*p == '-' || *p == '.') ? '_' : (char)toupper((unsigned char)*p);
        const char *v = getenv(var);
        if (!v)
            continue;
        char src[160];
        snprintf(src, sizeof(src), "env %s", var);
        if (set_value(e, v, src, 0) < 0) {
            snprintf(err, errlen, "%s: out of memory", var);
            return -1;
        }
        e->line = -1; /* from the environment */
    }
    return 0;
}

static int apply_defaults(struct ims_cfg *cfg, char *err, size_t errlen)
{
    /* two passes so that "@other.key" may refer to a key that itself has a default */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cfg->count; i++) {
            struct entry *e = &cfg->entries[i];
            if (e->value || !e->key->def)
                continue;
            const char *def = e->key->def;
            char src[128] = "default";
            if (def[0] == '@') {
                const struct entry *ref = find_full(cfg, def + 1);
                if (!ref) {
                    snprintf(err, errlen, "%s: default refers to unknown key %s", e->full,
                             def + 1);
                    return -1;
                }
                if (!ref->value)
                    continue;
                snprintf(src, sizeof(src), "default (%s)", ref->full);
                def = ref->value;
            }
            if (set_value(e, def, src, 0) < 0) {
                snprintf(err, errlen, "%s: out of memory", e->full);
                return -1;
            }
        }
    }
    return 0;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return false;
    *out = n;
    return true;
}

static bool in_choices(const char *choices, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncasecmp(p, word, l) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static bool is_host(const char *v)
{
    if (!*v || strlen(v) > 253)
        return false;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != ':')
            return false;
    return true;
}

static bool is_addr(const char *v)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

/* Check one value (or one list item) against its key; writes why into why. */
static int check_value(const struct ims_cfg_key *k, const char *v, char *why, size_t wl)
{
    long n;
    bool b;
    switch (k->type) {
    case IMS_CFG_INT:
        if (!parse_long(v, &n)) {
            snprintf(why, wl, "'%s' is not an integer", v);
            return -1;
        }
        if (n < k->min || n > k->max) {
            snprintf(why, wl, "%ld is out of range %ld..%ld", n, k->min, k->max);
            return -1;
        }
        break;
    case IMS_CFG_BOOL:
        if (!parse_bool(v, &b)) {
            snprintf(why, wl, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", v);
            return -1;
        }
        break;
    case IMS_CFG_ADDR:
        if (!is_addr(v)) {
            snprintf(why, wl, "'%s' is not a numeric IPv4 or IPv6 address", v);
            return -1;
        }
        break;
    case IMS_CFG_HOST:
        if (!is_host(v)) {
            snprintf(why, wl, "'%s' is not a host name or address", v);
            return -1;
        }
        break;
    case IMS_CFG_ENUM:
        if (!in_choices(k->choices, v)) {
            snprintf(why, wl, "'%s' is not one of %s", v, k->choices);
            return -1;
        }
        break;
    case IMS_CFG_LIST:
        if (k->choices && !in_choices(k->choices, v)) {
            snprintf(why, wl, "list item '%s' is not one of %s", v, k->choices);
            return -1;
        }
        break;
    case IMS_CFG_STR:
    case IMS_CFG_PATH:
        break;
    }
    if (k->check && k->check(v, why, wl) != 0)
        return -1;
    return 0;
}

static void where(const struct ims_cfg *cfg, const struct entry *e, char *buf, size_t len)
{
    if (e->line > 0)
        snprintf(buf, len, "%s", e->source);
    else if (e->line < 0)
        snprintf(buf, len, "%s (%s)", cfg->path ? cfg->path : "(no file)", e->source);
    else
        snprintf(buf, len, "%s", cfg->path ? cfg->path : "(no file)");
}

static int validate(struct ims_cfg *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->count; i++) {
        struct entry *e = &cfg->entries[i];
        const struct ims_cfg_key *k = e->key;
        char at[200], why[256] = "";
        where(cfg, e, at, sizeof(at));
        if (!e->value || (!*e->value && !(k->flags & IMS_CFG_EMPTY_OK))) {
            if (k->flags & IMS_CFG_REQUIRED) {
                snprintf(err, errlen, "%s: %s: required key is missing (%s)", at, e->full,
                         k->help ? k->help : "no default");
                return -1;
            }
            if (e->value && !*e->value && k->type != IMS_CFG_STR && k->type != IMS_CFG_PATH) {
                snprintf(err, errlen, "%s: %s: empty value", at, e->full);
                return -1;
            }
            continue;
        }
        if (k->type == IMS_CFG_LIST) {
            size_t n;
            char **items = ims_strv_split(e->value, ',', &n);
            if (!items) {
                snprintf(err, errlen, "%s: %s: out of memory", at, e->full);
                return -1;
            }
            int rc = 0;
            for (size_t j = 0; j < n && rc == 0; j++) {
                if (!*items[j]) {
                    snprintf(why, sizeof(why), "empty list item");
                    rc = -1;
                } else {
                    rc = check_value(k, items[j], why, sizeof(why));
                }
            }
            ims_strv_free(items);
            if (rc) {
                snprintf(err, errlen, "%s: %s: %s", at, e->full, why);
                return -1;
            }
            continue;
        }
        if (*e->value && check_value(k, e->value, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s: %s", at, e->full, why);
            return -1;
        }
    }
    return 0;
}

struct ims_cfg *ims_cfg_load(const char *path, const struct ims_cfg_key *const *schemas,
                             char *err, size_t errlen)
{
    struct ims_cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        goto oom;
    size_t total = 0;
    for (const struct ims_cfg_key *const *s = schemas; *s; s++)
        for (const struct ims_cfg_key *k = *s; k->name; k++)
            total++;
    cfg->entries = calloc(total ? total : 1, sizeof(*cfg->entries));
    if (!cfg->entries)
        goto oom;
    for (const struct ims_cfg_key *const *s = schemas; *s; s++) {
        for (const struct ims_cfg_key *k = *s; k->name; k++) {
            struct entry *e = &cfg->entries[cfg->count++];
            e->key = k;
            snprintf(e->full, sizeof(e->full), "%s.%s", k->section, k->name);
        }
    }
    if (path) {
        cfg->path = strdup(path);
        if (!cfg->path)
            goto oom;
        if (read_file(cfg, path, err, errlen) != 0)
            goto fail;
    }
    if (apply_env(cfg, err, errlen) != 0 || apply_defaults(cfg, err, errlen) != 0)
        goto fail;
    if (validate(cfg, err, errlen) != 0)
        goto fail;
    return cfg;
oom:
    snprintf(err, errlen, "out of memory loading configuration");
fail:
    ims_cfg_free(cfg);
    return NULL;
}

void ims_cfg_free(struct ims_cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->count; i++)
        free(cfg->entries[i].value);
    free(cfg->entries);
    free(cfg->path);
    free(cfg);
}

static const struct entry *lookup(const struct ims_cfg *cfg, const char *key)
{
    const struct entry *e = find_full(cfg, key);
    if (!e)
        ims_err("configuration key %s is read but not declared in the schema", key);
    return e;
}

const char *ims_cfg_str(const struct ims_cfg *cfg, const char *key)
{
    const struct entry *e = lookup(cfg, key);
    return e && e->value ? e->value : "";
}

long ims_cfg_int(const struct ims_cfg *cfg, const char *key)
{
    long n = 0;
    const struct entry *e = lookup(cfg, key);
    if (e && e->value && parse_long(e->value, &n))
        return n;
    return 0;
}

bool ims_cfg_bool(const struct ims_cfg *cfg, const char *key)
{
    bool b = false;
    const struct entry *e = lookup(cfg, key);
    if (e && e->value)
        parse_bool(e->value, &b);
    return b;
}

bool ims_cfg_is_set(const struct ims_cfg *cfg, const char *key)
{
    const struct entry *e = lookup(cfg, key);
    return e && e->value && *e->value;
}

const char *ims_cfg_source(const struct ims_cfg *cfg, const char *key)
{
    const struct entry *e = lookup(cfg, key);
    return e && e->value ? e->source : "unset";
}

const char *ims_cfg_path(const struct ims_cfg *cfg)
{
    return cfg->path ? cfg->path : "(none)";
}

char **ims_strv_split(const char *s, char sep, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        if (*p == sep)
            cap++;
    char **v = calloc(cap + 1, sizeof(*v));
    if (!v)
        return NULL;
    size_t count = 0;
    const char *p = s;
    while (*s) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *item = strndup(p, len);
        if (!item) {
            ims_strv_free(v);
            return NULL;
        }
        char *t = trim(item);
        memmove(item, t, strlen(t) + 1);
        v[count++] = item;
        if (!end)
            break;
        p = end + 1;
    }
    if (n)
        *n = count;
    return v;
}

void ims_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char **ims_cfg_list(const struct ims_cfg *cfg, const char *key, size_t *n)
{
    return ims_strv_split(ims_cfg_str(cfg, key), ',', n);
}

void ims_cfg_dump(const struct ims_cfg *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct entry *e = &cfg->entries[i];
        const char *v = e->value ? e->value : "(unset)";
        if ((e->key->flags & IMS_CFG_SECRET) && e->value && *e->value)
            v = "(secret)";
        const char *kv[] = { "key", e->full, "value", v, "from", e->value ? e->source : NULL,
                             NULL };
        ims_log_kv(IMS_LOG_INFO, NULL, kv, "config");
    }
}

static const char *type_name(enum ims_cfg_type t)
{
    static const char *names[] = { "text", "integer", "boolean", "address", "choice", "list",
                                   "host", "path" };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void ims_cfg_print_schema(const struct ims_cfg_key *const *schemas, void *file)
{
    FILE *f = file;
    const char *section = "";
    for (const struct ims_cfg_key *const *s = schemas; *s; s++) {
        for (const struct ims_cfg_key *k = *s; k->name; k++) {
            if (strcmp(section, k->section) != 0) {
                fprintf(f, "\n  [%s]\n", k->section);
                section = k->section;
            }
            char detail[128] = "";
            if (k->type == IMS_CFG_INT)
                snprintf(detail, sizeof(detail), " %ld..%ld", k->min, k->max);
            else if (k->choices)
                snprintf(detail, sizeof(detail), " %s", k->choices);
            fprintf(f, "    %-22s %s%s%s%s%s\n", k->name, type_name(k->type), detail,
                    (k->flags & IMS_CFG_REQUIRED) ? ", required" : "",
                    k->def ? ", default " : "", k->def ? k->def : "");
            if (k->help)
                fprintf(f, "    %-22s   %s\n", "", k->help);
        }
    }
}

int ims_cfg_check_peer(const char *value, char *err, size_t errlen)
{
    /* identity@address[:port], e.g. hss.ims.mnc001.mcc001.3gppnetwork.org@127.0.0.40:3868 */
    const char *at = strchr(value, '@');
    if (!at || at == value) {
        snprintf(err, errlen, "'%s' is not identity@address[:port]", value);
        return -1;
    }
    char id[256], addr[64];
    snprintf(id, sizeof(id), "%.*s", (int)(at - value), value);
    snprintf(addr, sizeof(addr), "%s", at + 1);
    if (!is_host(id) || strchr(id, ':')) {
        snprintf(err, errlen, "'%s': '%s' is not a Diameter identity (FQDN)", value, id);
        return -1;
    }
    /* IPv4 takes addr:port, IPv6 takes [addr]:port (a bare IPv6 address has no port) */
    char *colon = strrchr(addr, ':');
    if (addr[0] == '[') {
        char *end = strchr(addr, ']');
        if (!end || (end[1] && end[1] != ':')) {
            snprintf(err, errlen, "'%s': unterminated or malformed [IPv6 address]", value);
            return -1;
        }
        colon = end[1] ? end + 1 : NULL;
        *end = '\0';
        memmove(addr, addr + 1, (size_t)(end - addr));
    } else if (!strchr(addr, '.')) {
        colon = NULL;
    }
    if (colon) {
        long port;
        *colon = '\0';
        if (!parse_long(colon + 1, &port) || port < 1 || port > 65535) {
            snprintf(err, errlen, "'%s': bad port '%s'", value, colon + 1);
            return -1;
        }
    }
    if (!is_addr(addr)) {
        snprintf(err, errlen, "'%s': '%s' is not a numeric address", value, addr);
        return -1;
    }
    return 0;
}

int ims_cfg_check_sip_uri(const char *value, char *err, size_t errlen)
{
    if (strncasecmp(value, "sip:", 4) != 0 && strncasecmp(value, "sips:", 5) != 0) {
        snprintf(err, errlen, "'%s' is not a sip: or sips: URI", value);
        return -1;
    }
    const char *host = strchr(value, ':') + 1;
    const char *at = strchr(host, '@');
    if (at)
        host = at + 1;
    if (!*host || *host == ';' || *host == ':') {
        snprintf(err, errlen, "'%s' has no host", value);
        return -1;
    }
    return 0;
}

int ims_cfg_check_host_entry(const char *value, char *err, size_t errlen)
{
    const char *eq = strchr(value, '=');
    char name[256];
    if (!eq || eq == value) {
        snprintf(err, errlen, "'%s' is not name=address", value);
        return -1;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(eq - value), value);
    if (!is_host(name)) {
        snprintf(err, errlen, "'%s': '%s' is not a host name", value, name);
        return -1;
    }
    if (!is_addr(eq + 1)) {
        snprintf(err, errlen, "'%s': '%s' is not a numeric address", value, eq + 1);
        return -1;
    }
    return 0;
}
