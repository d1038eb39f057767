/*
 * enum.c - E.164 numbers to URIs for the originating S-CSCF (TS 24.229 5.4.3.2, RFC 6116)
 *
 * First the local number table (scscf.enum_table: "+15550100001 sip:alice@example.org" per
 * line), then, when scscf.enum_domain is set, DNS: the NAPTR records of the reversed digits
 * under that domain ("1.0.0.0.0.1.0.5.5.5.1.e164.arpa"), the E2U+sip one of lowest order
 * and preference, its regexp applied to the number. Queries run on sofia-sip's resolver,
 * on the loop thread, never blocking.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define SRES_CONTEXT_T struct enum_query

#include "scscf.h"
#include "log.h"
#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-resolv/sres.h>
#include <sofia-resolv/sres_record.h>
#include <sofia-sip/sresolv.h>

struct scscf_enum {
    struct ims_map *table;            /* number -> URI (malloc'd) */
    char domain[128];
    sres_resolver_t *res;
    struct ims_counter *hits, *dns, *misses;
};

struct enum_query {
    struct scscf_enum *e;
    scscf_enum_fn fn;
    void *arg;
    char number[64];
};

/* ---- the NAPTR regexp (RFC 3402 section 3.2: delim-char ere delim-char repl ...) ---- */

int scscf_enum_apply(const char *regexp, const char *number, char *out, size_t len)
{
    if (!regexp || !regexp[0] || !regexp[1])
        return -EINVAL;
    char delim = regexp[0];
    const char *p1 = regexp + 1, *e1 = strchr(p1, delim);
    if (!e1)
        return -EINVAL;
    const char *p2 = e1 + 1, *e2 = strchr(p2, delim);
    if (!e2)
        return -EINVAL;
    char ere[256], repl[256];
    if ((size_t)(e1 - p1) >= sizeof(ere) || (size_t)(e2 - p2) >= sizeof(repl))
        return -ENOSPC;
    snprintf(ere, sizeof(ere), "%.*s", (int)(e1 - p1), p1);
    snprintf(repl, sizeof(repl), "%.*s", (int)(e2 - p2), p2);
    int flags = REG_EXTENDED | (strchr(e2 + 1, 'i') ? REG_ICASE : 0);
    regex_t re;
    if (regcomp(&re, ere, flags) != 0)
        return -EINVAL;
    regmatch_t mt[10];
    int rc = regexec(&re, number, 10, mt, 0) == 0 ? 0 : -ENOENT;
    regfree(&re);
    if (rc)
        return rc;
    size_t o = 0;
    for (const char *r = repl; *r; r++) {
        if (*r == '\\' && isdigit((unsigned char)r[1])) {
            int i = r[1] - '0';
            r++;
            if (mt[i].rm_so < 0)
                continue;
            size_t n = (size_t)(mt[i].rm_eo - mt[i].rm_so);
            if (o + n >= len)
                return -ENOSPC;
            memcpy(out + o, number + mt[i].rm_so, n);
            o += n;
            continue;
        }
        if (*r == '\\' && r[1])
            r++;
        if (o + 1 >= len)
            return -ENOSPC;
        out[o++] = *r;
    }
    out[o] = '\0';
    return 0;
}

/* ---- the local table ---- */

static int load_table(struct scscf_enum *e, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ims_err("scscf: scscf.enum_table %s: %s", path, strerror(errno));
        return -errno;
    }
    char line[512];
    int lineno = 0, n = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char number[64], uri[256], extra[8];
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        int k = sscanf(line, "%63s %255s %7s", number, uri, extra);
        if (k <= 0)
            continue;
        if (k != 2 || number[0] != '+' || strspn(number + 1, "0123456789") != strlen(number + 1)
            || (strncmp(uri, "sip:", 4) != 0 && strncmp(uri, "sips:", 5) != 0)) {
            ims_err("%s:%d: expected '+<digits> sip:uri'", path, lineno);
            rc = -EINVAL;
            break;
        }
        char *v = strdup(uri);
        int err = 0;
        void *old = v ? ims_map_put(e->table, number, v, &err) : NULL;
        if (!v || err) {
            free(v);
            rc = -ENOMEM;
            break;
        }
        free(old);
        n++;
    }
    fclose(f);
    if (rc == 0)
        ims_info("scscf: %d number(s) in the ENUM table %s", n, path);
    return rc;
}

int scscf_enum_init(struct scscf *s, const char *table, const char *domain,
                    const char *resolv_conf)
{
    struct scscf_enum *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    s->enums = e;
    e->table = ims_map_create(false);
    if (!e->table)
        return -ENOMEM;
    const char *name = "scscf_enum_total", *help = "ENUM lookups, by outcome";
    e->hits = ims_counter_new(name, help, "outcome=\"table\"");
    e->dns = ims_counter_new(name, help, "outcome=\"dns\"");
    e->misses = ims_counter_new(name, help, "outcome=\"none\"");
    if (table && *table) {
        int rc = load_table(e, table);
        if (rc)
            return rc;
    }
    if (domain && *domain) {
        snprintf(e->domain, sizeof(e->domain), "%s", domain);
        e->res = sres_resolver_create(ims_loop_root(s->d->loop),
                                      resolv_conf && *resolv_conf ? resolv_conf : NULL,
                                      TAG_END());
        if (!e->res) {
            ims_err("scscf: cannot create the DNS resolver for ENUM (%s)", strerror(errno));
            return -EIO;
        }
        ims_info("scscf: ENUM in DNS under %s", e->domain);
    }
    return 0;
}

static void free_value(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

void scscf_enum_fini(struct scscf *s)
{
    struct scscf_enum *e = s->enums;
    if (!e)
        return;
    if (e->res)
        sres_resolver_destroy(e->res);
    if (e->table) {
        ims_map_foreach(e->table, free_value, NULL);
        ims_map_destroy(e->table);
    }
    free(e);
    s->enums = NULL;
}

/* ---- DNS ---- */

static bool e2u_sip(const sres_naptr_record_t *na)
{
    const char *sv = na->na_services;
    return sv && (strcasecmp(sv, "E2U+sip") == 0 || strcasecmp(sv, "sip+E2U") == 0) &&
           na->na_flags && strcasecmp(na->na_flags, "u") == 0;
}

static void on_naptr(sres_context_t *q, sres_query_t *query, sres_record_t **answers)
{
    (void)query;
    const sres_naptr_record_t *best = NULL;
    for (int i = 0; answers && answers[i]; i++) {
        const sres_naptr_record_t *na = answers[i]->sr_naptr;
        if (answers[i]->sr_record->r_type != sres_type_naptr ||
            answers[i]->sr_record->r_status != 0 || !e2u_sip(na))
            continue;
        if (!best || na->na_order < best->na_order ||
            (na->na_order == best->na_order && na->na_prefer < best->na_prefer))
            best = na;
    }
    char uri[256];
    bool ok = best && scscf_enum_apply(best->na_regexp, q->number, uri, sizeof(uri)) == 0;
    if (best && !ok)
        ims_warn("scscf: ENUM NAPTR for %s: regexp '%s' does not apply", q->number,
                 best->na_regexp);
    ims_counter_inc(ok ? q->e->dns : q->e->misses);
    sres_free_answers(q->e->res, answers);
    q->fn(q->arg, ok ? uri : NULL);
    free(q);
}

int scscf_enum_lookup(struct scscf *s, const char *number, char *uri, size_t len,
                      scscf_enum_fn fn, void *arg)
{
    struct scscf_enum *e = s->enums;
    const char *v = ims_map_get(e->table, number);
    if (v) {
        snprintf(uri, len, "%s", v);
        ims_counter_inc(e->hits);
        return 1;
    }
    if (!e->res) {
        ims_counter_inc(e->misses);
        return -ENOENT;
    }
    char name[256];
    size_t o = 0;
    for (size_t i = strlen(number); i > 0 && o + 3 < sizeof(name); i--)
        if (isdigit((unsigned char)number[i - 1])) {
            name[o++] = number[i - 1];
            name[o++] = '.';
        }
    snprintf(name + o, sizeof(name) - o, "%s", e->domain);
    struct enum_query *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->e = e;
    q->fn = fn;
    q->arg = arg;
    snprintf(q->number, sizeof(q->number), "%s", number);
    if (!sres_query(e->res, on_naptr, q, sres_type_naptr, name)) {
        free(q);
        ims_counter_inc(e->misses);
        return -EIO;
    }
    return 0;
}
