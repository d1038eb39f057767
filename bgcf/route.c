/*
 * route.c - the BGCF's routing table (TS 23.228 5.19, TS 24.229 5.6): E.164 number prefixes
 * (longest match) and domains to next hops, several per match with priorities and weights
 *
 * Pure: no I/O, no SIP stack. A table is built once from a list of routes and never
 * changed; the routes of one match are kept next to each other, sorted by priority, and an
 * index maps each match to them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "map.h"
#include "sip_hdr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

struct group {
    size_t first, n;              /* routes[first .. first+n), by priority then id */
};

struct bgcf_table {
    struct bgcf_route *routes;
    size_t n;
    struct group *groups;
    size_t ngroups;
    struct ims_map *by_match;     /* index key -> struct group */
    struct ims_map *by_id;        /* id -> struct bgcf_route */
};

static const char *const kinds[] = { "mgcf", "bgcf", "ibcf" };

const char *bgcf_kind_name(int kind)
{
    return kind >= 0 && kind < (int)(sizeof(kinds) / sizeof(kinds[0])) ? kinds[kind] : "?";
}

int bgcf_kind_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (name && strcasecmp(name, kinds[i]) == 0)
            return (int)i;
    return -EINVAL;
}

/* ---- validation ---- */

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= BGCF_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    return true;
}

static bool valid_prefix(const char *m)
{
    if (m[0] != '+' || strlen(m + 1) > BGCF_PREFIX_DIGITS)
        return false;
    for (const char *p = m + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/*
 * "*", "*.example.net" or "example.net": labels of letters, digits and '-'; the last one
 * not all digits (no address, and "1999" is a prefix without its '+')
 */
static bool valid_domain(const char *m)
{
    if (strcmp(m, "*") == 0)
        return true;
    if (strncmp(m, "*.", 2) == 0)
        m += 2;
    size_t n = strlen(m), label = 0;
    bool digits = true;
    if (n == 0 || n > 253)
        return false;
    for (const char *p = m; ; p++) {
        if (*p == '.' || !*p) {
            if (label == 0 || label > 63 || p[-1] == '-' || *(p - label) == '-')
                return false;
            if (!*p)
                return !digits;
            label = 0;
            digits = true;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-')
            return false;
        digits &= isdigit((unsigned char)*p) != 0;
        label++;
    }
}

static bool valid_next_hop(const char *uri, char *why, size_t wlen)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = strlen(uri) < BGCF_URI_MAX ? url_make(home, uri) : NULL;
    bool ok = u && (u->url_type == url_sip || u->url_type == url_sips) && u->url_host &&
              u->url_host[0];
    if (!ok)
        snprintf(why, wlen, "'%s' is not a SIP URI with a host (sip:host[:port])", uri);
    su_home_deinit(home);
    return ok;
}

static int bad(char *field, size_t flen, const char *name, char *why, size_t wlen,
               const char *text)
{
    snprintf(field, flen, "%s", name);
    if (text)
        snprintf(why, wlen, "%s", text);
    return -EINVAL;
}

int bgcf_route_check(const struct bgcf_route *r, char *field, size_t flen, char *why,
                     size_t wlen)
{
    if (!valid_id(r->id))
        return bad(field, flen, "id", why, wlen, "1 to 63 letters, digits, '.', '_' or '-'");
    if (!r->domain && !valid_prefix(r->match))
        return bad(field, flen, "prefix", why, wlen, "'+' and 0 to 15 digits (an E.164 "
                   "number prefix; '+' alone matches every number)");
    if (r->domain && !valid_domain(r->match))
        return bad(field, flen, "domain", why, wlen, "a domain name, '*.' and a domain name "
                   "(its subdomains), or '*' (every domain); a number prefix starts with '+'");
    if (!valid_next_hop(r->next_hop, why, wlen))
        return bad(field, flen, "next_hop", why, wlen, NULL);
    if (r->kind < 0 || r->kind > BGCF_KIND_IBCF)
        return bad(field, flen, "kind", why, wlen, "one of mgcf, bgcf, ibcf");
    if (r->priority > 65535)
        return bad(field, flen, "priority", why, wlen, "an integer from 0 to 65535");
    if (r->weight > 65535)
        return bad(field, flen, "weight", why, wlen, "an integer from 0 to 65535");
    return 0;
}

/* ---- configuration items ---- */

static int parse_uint(const char *v, unsigned *out)
{
    char *end;
    if (!isdigit((unsigned char)v[0]))
        return -EINVAL;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n > 65535)
        return -EINVAL;
    *out = (unsigned)n;
    return 0;
}

/* "kind=...", "priority=...", "weight=..." */
static int parse_option(const char *opt, struct bgcf_route *r, char *err, size_t errlen)
{
    const char *eq = strchr(opt, '=');
    const char *v = eq ? eq + 1 : "";
    size_t n = eq ? (size_t)(eq - opt) : strlen(opt);
    int rc = -EINVAL;
    if (n == 4 && strncmp(opt, "kind", 4) == 0 && (rc = bgcf_kind_parse(v)) >= 0) {
        r->kind = rc;
        rc = 0;
    } else if (n == 8 && strncmp(opt, "priority", 8) == 0) {
        rc = parse_uint(v, &r->priority);
    } else if (n == 6 && strncmp(opt, "weight", 6) == 0) {
        rc = parse_uint(v, &r->weight);
    } else {
        snprintf(err, errlen, "'%s': options are kind=mgcf|bgcf|ibcf, priority=N, weight=N",
                 opt);
        return -EINVAL;
    }
    if (rc)
        snprintf(err, errlen, "'%s': %s", opt, n == 4 ? "kind is mgcf, bgcf or ibcf"
                                                    : "an integer from 0 to 65535");
    return rc;
}

int bgcf_route_parse(const char *item, struct bgcf_route *r, char *err, size_t errlen)
{
    char buf[1024], *save = NULL;
    memset(r, 0, sizeof(*r));
    r->priority = 1;
    r->weight = 1;
    r->from_config = true;
    if (snprintf(buf, sizeof(buf), "%s", item) >= (int)sizeof(buf)) {
        snprintf(err, errlen, "route too long");
        return -EINVAL;
    }
    const char *id = strtok_r(buf, " \t", &save);
    const char *match = id ? strtok_r(NULL, " \t", &save) : NULL;
    const char *hop = match ? strtok_r(NULL, " \t", &save) : NULL;
    if (!hop) {
        snprintf(err, errlen, "'%s': expected '<id> <+prefix|domain> <next-hop SIP URI> "
                 "[kind=..] [priority=..] [weight=..]'", item);
        return -EINVAL;
    }
    snprintf(r->id, sizeof(r->id), "%.*s", BGCF_ID_MAX - 1, id);
    r->domain = match[0] != '+';
    snprintf(r->match, sizeof(r->match), "%.*s", BGCF_MATCH_MAX - 1, match);
    snprintf(r->next_hop, sizeof(r->next_hop), "%.*s", BGCF_URI_MAX - 1, hop);
    for (const char *o; (o = strtok_r(NULL, " \t", &save)) != NULL;)
        if (parse_option(o, r, err, errlen) != 0)
            return -EINVAL;
    char field[32], why[300];
    if (strlen(id) >= BGCF_ID_MAX || strlen(match) >= BGCF_MATCH_MAX ||
        strlen(hop) >= BGCF_URI_MAX) {
        snprintf(err, errlen, "'%s': a field is too long", item);
        return -EINVAL;
    }
    if (bgcf_route_check(r, field, sizeof(field), why, sizeof(why)) != 0) {
        snprintf(err, errlen, "route '%s': %s: %s", r->id, field, why);
        return -EINVAL;
    }
    return 0;
}

int bgcf_check_route_item(const char *value, char *err, size_t errlen)
{
    struct bgcf_route r;
    return bgcf_route_parse(value, &r, err, errlen);
}

/* ---- the table ---- */

static int cmp_routes(const void *a, const void *b)
{
    const struct bgcf_route *x = a, *y = b;
    if (x->domain != y->domain)
        return x->domain ? 1 : -1;
    int c = strcasecmp(x->match, y->match);
    if (c)
        return c;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The index key of a match: "+1999" for numbers, "@example.net" for domains */
static void index_key(bool domain, const char *match, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", domain ? "@" : "", match);
}

void bgcf_table_free(struct bgcf_table *t)
{
    if (!t)
        return;
    ims_map_destroy(t->by_match);
    ims_map_destroy(t->by_id);
    free(t->groups);
    free(t->routes);
    free(t);
}

/* Index the sorted routes: one group per match, every id once. */
static int index_routes(struct bgcf_table *t, char *err, size_t errlen)
{
    int e = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct bgcf_route *r = &t->routes[i];
        if (ims_map_get(t->by_id, r->id)) {
            snprintf(err, errlen, "two routes are named '%s'", r->id);
            return -EINVAL;
        }
        ims_map_put(t->by_id, r->id, r, &e);
        char key[BGCF_MATCH_MAX + 2];
        index_key(r->domain, r->match, key, sizeof(key));
        struct group *g = ims_map_get(t->by_match, key);
        if (!g) {
            g = &t->groups[t->ngroups++];
            g->first = i;
            ims_map_put(t->by_match, key, g, &e);
        }
        g->n++;
        if (e) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    return 0;
}

struct bgcf_table *bgcf_table_new(const struct bgcf_route *routes, size_t n, char *err,
                                  size_t errlen)
{
    if (n > BGCF_MAX_ROUTES) {
        snprintf(err, errlen, "more than %d routes", BGCF_MAX_ROUTES);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char field[32], why[300];
        if (bgcf_route_check(&routes[i], field, sizeof(field), why, sizeof(why)) != 0) {
            snprintf(err, errlen, "route '%s': %s: %s", routes[i].id, field, why);
            return NULL;
        }
    }
    struct bgcf_table *t = calloc(1, sizeof(*t));
    if (t) {
        t->routes = calloc(n ? n : 1, sizeof(*t->routes));
        t->groups = calloc(n ? n : 1, sizeof(*t->groups));
        t->by_match = ims_map_create(true);
        t->by_id = ims_map_create(false);
    }
    if (!t || !t->routes || !t->groups || !t->by_match || !t->by_id) {
        snprintf(err, errlen, "out of memory");
        bgcf_table_free(t);
        return NULL;
    }
    if (n)
        memcpy(t->routes, routes, n * sizeof(*routes));
    t->n = n;
    qsort(t->routes, n, sizeof(*t->routes), cmp_routes);
    if (index_routes(t, err, errlen) != 0) {
        bgcf_table_free(t);
        return NULL;
    }
    return t;
}

size_t bgcf_table_count(const struct bgcf_table *t)
{
    return t ? t->n : 0;
}

const struct bgcf_route *bgcf_table_at(const struct bgcf_table *t, size_t i)
{
    return t && i < t->n ? &t->routes[i] : NULL;
}

const struct bgcf_route *bgcf_table_find(const struct bgcf_table *t, const char *id)
{
    return t && id ? ims_map_get(t->by_id, id) : NULL;
}

/* ---- what a request is routed on ---- */

static bool separator(char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')';
}

/* Append the digits of @s (@n characters; visual separators skipped) to k->digits. */
static int add_digits(struct bgcf_key *k, const char *s, size_t n)
{
    size_t o = strlen(k->digits);
    for (size_t i = 0; i < n; i++) {
        if (separator(s[i]))
            continue;
        if (!isdigit((unsigned char)s[i]) || o + 1 >= sizeof(k->digits))
            return -EINVAL;
        k->digits[o++] = s[i];
    }
    k->digits[o] = '\0';
    return 0;
}

/*
 * A telephone-subscriber (RFC 3966): @num (@n characters) is "+digits" or a local number;
 * @ctx the phone-context value or NULL. A local number is global when its context is.
 */
static int number_key(const char *num, size_t n, const char *ctx, struct bgcf_key *k)
{
    k->number = true;
    k->digits[0] = '\0';
    if (n > 0 && num[0] == '+')
        return add_digits(k, num + 1, n - 1) == 0 && k->digits[0] ? 0 : -EINVAL;
    if (!ctx || ctx[0] != '+')
        return -ENOENT;
    if (add_digits(k, ctx + 1, strlen(ctx + 1)) != 0 || add_digits(k, num, n) != 0)
        return -EINVAL;
    return k->digits[0] ? 0 : -EINVAL;
}

/* "number;param;phone-context=+1999;..." (the user part of a SIP URI, or a tel: number) */
static int user_number_key(const char *user, const char *params, struct bgcf_key *k)
{
    size_t n = strcspn(user, ";");
    char ctx[BGCF_NUMBER_MAX + 2] = "";
    const char *pc = strcasestr(user + n, ";phone-context=");
    if (pc)
        snprintf(ctx, sizeof(ctx), "%.*s", (int)strcspn(pc + 15, ";"), pc + 15);
    else if (params)
        ims_url_param(params, "phone-context", ctx, sizeof(ctx));
    return number_key(user, n, ctx[0] ? ctx : NULL, k);
}

int bgcf_key_of(const url_t *uri, struct bgcf_key *k)
{
    memset(k, 0, sizeof(*k));
    if (!uri)
        return -EINVAL;
    if (uri->url_type == url_tel) {
        const char *num = uri->url_user ? uri->url_user : uri->url_host;
        return num ? user_number_key(num, uri->url_params, k) : -EINVAL;
    }
    if (uri->url_type != url_sip && uri->url_type != url_sips)
        return -EPROTONOSUPPORT;
    char user[16] = "";
    if (uri->url_params)
        ims_url_param(uri->url_params, "user", user, sizeof(user));
    if (uri->url_user && strcasecmp(user, "phone") == 0)
        return user_number_key(uri->url_user, NULL, k);
    if (!uri->url_host || !uri->url_host[0] || strlen(uri->url_host) >= sizeof(k->domain))
        return -EINVAL;
    for (size_t i = 0; uri->url_host[i]; i++)
        k->domain[i] = (char)tolower((unsigned char)uri->url_host[i]);
    return 0;
}

/* ---- selection ---- */

static const struct group *find_number(const struct bgcf_table *t, const char *digits)
{
    char key[BGCF_PREFIX_DIGITS + 2] = "+";
    size_t n = strlen(digits);
    if (n > BGCF_PREFIX_DIGITS)
        n = BGCF_PREFIX_DIGITS;
    for (size_t l = n + 1; l-- > 0;) {
        memcpy(key + 1, digits, l);
        key[l + 1] = '\0';
        const struct group *g = ims_map_get(t->by_match, key);
        if (g)
            return g;
    }
    return NULL;
}

static const struct group *find_domain(const struct bgcf_table *t, const char *host)
{
    char key[BGCF_MATCH_MAX + 4];
    snprintf(key, sizeof(key), "@%s", host);
    const struct group *g = ims_map_get(t->by_match, key);
    for (const char *p = strchr(host, '.'); !g && p; p = strchr(p + 1, '.')) {
        snprintf(key, sizeof(key), "@*%s", p);
        g = ims_map_get(t->by_match, key);
    }
    return g ? g : ims_map_get(t->by_match, "@*");
}

static void take(const struct bgcf_route *r, struct bgcf_target *out)
{
    snprintf(out->id, sizeof(out->id), "%s", r->id);
    snprintf(out->next_hop, sizeof(out->next_hop), "%s", r->next_hop);
    out->kind = r->kind;
}

static bool picked(const size_t *idx, int n, size_t i)
{
    for (int k = 0; k < n; k++)
        if (idx[k] == i)
            return true;
    return false;
}

/*
 * One priority: the routes @r[0..n) into @out in a weighted random order (each next one
 * drawn with probability weight / remaining sum), weight 0 last in table order.
 * Returns how many were written (at most @max, itself at most BGCF_MAX_TRIES).
 */
static int order_priority(const struct bgcf_route *r, size_t n, bgcf_rand_fn rnd, void *arg,
                          struct bgcf_target *out, int max)
{
    size_t idx[BGCF_MAX_TRIES];
    int w = 0;
    while (w < max) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            if (!picked(idx, w, i))
                sum += r[i].weight;
        if (sum == 0)
            break;
        uint64_t pick = (((uint64_t)rnd(arg) << 32) | rnd(arg)) % sum;
        size_t i = 0;
        for (;; i++) {
            if (r[i].weight == 0 || picked(idx, w, i))
                continue;
            if (pick < r[i].weight)
                break;
            pick -= r[i].weight;
        }
        idx[w] = i;
        take(&r[i], &out[w++]);
    }
    for (size_t i = 0; i < n && w < max; i++)
        if (r[i].weight == 0)
            take(&r[i], &out[w++]);
    return w;
}

int bgcf_table_select(const struct bgcf_table *t, const struct bgcf_key *k, bgcf_rand_fn rnd,
                      void *rnd_arg, struct bgcf_target *out, int max)
{
    if (!t || !k || max <= 0)
        return 0;
    if (max > BGCF_MAX_TRIES)
        max = BGCF_MAX_TRIES;
    const struct group *g = k->number ? find_number(t, k->digits) : find_domain(t, k->domain);
    if (!g)
        return 0;
    int w = 0;
    for (size_t i = g->first; i < g->first + g->n && w < max;) {
        size_t j = i;
        while (j < g->first + g->n && t->routes[j].priority == t->routes[i].priority)
            j++;
        w += order_priority(&t->routes[i], j - i, rnd, rnd_arg, out + w, max - w);
        i = j;
    }
    return w;
}

uint32_t bgcf_rand(void *arg)
{
    uint64_t *s = arg;            /* xorshift64* (Vigna) */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

/* ---- JSON ---- */

json_t *bgcf_route_json(const struct bgcf_route *r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "id", r->id,
                     r->domain ? "domain" : "prefix", r->match, "next_hop", r->next_hop,
                     "kind", bgcf_kind_name(r->kind), "priority", (int)r->priority,
                     "weight", (int)r->weight, "source", r->from_config ? "config" : "api");
}

static int json_uint(const json_t *doc, const char *name, unsigned *out, char *field,
                     size_t flen, char *why, size_t wlen)
{
    json_t *v = json_object_get(doc, name);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
        return bad(field, flen, name, why, wlen, "an integer from 0 to 65535");
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int json_text(const json_t *doc, const char *name, char *out, size_t len,
                     char *field, size_t flen, char *why, size_t wlen)
{
    json_t *v = json_object_get(doc, name);
    if (!v)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
        return bad(field, flen, name, why, wlen, "a string (not too long)");
    snprintf(out, len, "%s", json_string_value(v));
    return 0;
}

/* Every member is one we know */
static int known_members(const json_t *doc, char *field, size_t flen, char *why, size_t wlen)
{
    static const char *const names[] = { "id", "prefix", "domain", "next_hop", "kind",
                                         "priority", "weight", "source" };
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(key, names[i]) != 0)
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            return bad(field, flen, key, why, wlen, "unknown member (a route has id, prefix "
                       "or domain, next_hop, kind, priority, weight)");
    }
    return 0;
}

int bgcf_route_from_json(const json_t *doc, const char *id, struct bgcf_route *r, char *field,
                         size_t flen, char *why, size_t wlen)
{
    memset(r, 0, sizeof(*r));
    r->priority = 1;
    r->weight = 1;
    snprintf(r->id, sizeof(r->id), "%s", id);
    json_t *jid = json_object_get(doc, "id");
    if (jid && (!json_is_string(jid) || strcmp(json_string_value(jid), id) != 0))
        return bad(field, flen, "id", why, wlen, "must be the id in the path");
    json_t *src = json_object_get(doc, "source");
    if (src && (!json_is_string(src) || strcmp(json_string_value(src), "api") != 0))
        return bad(field, flen, "source", why, wlen, "routes of the API have source \"api\"");
    bool has_prefix = json_object_get(doc, "prefix"), has_domain = json_object_get(doc, "domain");
    if (has_prefix == has_domain)
        return bad(field, flen, "prefix", why, wlen, "give either prefix (an E.164 number "
                   "prefix such as \"+1999\") or domain");
    r->domain = has_domain;
    char kind[16] = "mgcf";
    int rc = known_members(doc, field, flen, why, wlen);
    if (rc == 0)
        rc = json_text(doc, r->domain ? "domain" : "prefix", r->match, sizeof(r->match), field,
                       flen, why, wlen);
    if (rc == 0 && !json_object_get(doc, "next_hop"))
        rc = bad(field, flen, "next_hop", why, wlen, "required: the SIP URI of the MGCF, BGCF "
                 "or IBCF");
    if (rc == 0)
        rc = json_text(doc, "next_hop", r->next_hop, sizeof(r->next_hop), field, flen, why,
                       wlen);
    if (rc == 0)
        rc = json_text(doc, "kind", kind, sizeof(kind), field, flen, why, wlen);
    if (rc == 0 && (r->kind = bgcf_kind_parse(kind)) < 0)
        rc = bad(field, flen, "kind", why, wlen, "one of mgcf, bgcf, ibcf");
    if (rc == 0)
        rc = json_uint(doc, "priority", &r->priority, field, flen, why, wlen);
    if (rc == 0)
        rc = json_uint(doc, "weight", &r->weight, field, flen, why, wlen);
    if (rc == 0)
        rc = bgcf_route_check(r, field, flen, why, wlen);
    return rc;
}
