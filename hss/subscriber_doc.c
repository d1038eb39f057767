/*
 * subscriber_doc.c - the subscriber document of the provisioning API and of the seed file
 * (hss/README.md): validated field by field into a struct hss_doc, with every error naming
 * its JSON path ("impis[0].k"). Pure functions, no database, no I/O.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "subscriber.h"
#include "milenage.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_IFCS 64          /* per profile */
#define MAX_CAPS 32          /* per capability list */
#define NAME_MAX_LEN 63

static const struct {
    const char *name;
    unsigned bit;
} schemes[] = {
    { "digest", HSS_SCHEME_DIGEST },
    { "akav1", HSS_SCHEME_AKAV1 },
    { "akav2", HSS_SCHEME_AKAV2 },
    { "tispan-digest", HSS_SCHEME_TISPAN },
    { "packetcable-digest", HSS_SCHEME_PACKETCABLE },
    { "early-ims", HSS_SCHEME_EARLY_IMS },
    { "nass-bundled", HSS_SCHEME_NASS_BUNDLED },
};

/* the schemes a Digest password or HA1 serves */
#define DIGEST_FAMILY (HSS_SCHEME_DIGEST | HSS_SCHEME_TISPAN | HSS_SCHEME_PACKETCABLE)

const char *const hss_identity_type_names[4] = { "impu", "psi", "wildcard-psi",
                                                 "wildcard-impu" };
const char *const hss_reg_state_names[3] = { "not_registered", "registered", "unregistered" };

/* ---- validation helpers ---- */

/*
 * Record a validation error and return -EINVAL. The field is "<where>.<key>", or whichever
 * of the two is given alone.
 */
__attribute__((format(printf, 4, 5)))
static int bad(struct hss_put_result *r, const char *where, const char *key, const char *fmt,
               ...)
{
    if (where && *where && key)
        snprintf(r->field, sizeof(r->field), "%s.%s", where, key);
    else
        snprintf(r->field, sizeof(r->field), "%s", where && *where ? where : key ? key : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Refuse members of @o not named in the NULL-terminated @keys (typos must not pass). */
static int check_keys(json_t *o, const char *const *keys, const char *where,
                      struct hss_put_result *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i])
            continue;
        char allowed[256] = "";
        for (i = 0; keys[i]; i++) {
            strncat(allowed, i ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
            strncat(allowed, keys[i], sizeof(allowed) - strlen(allowed) - 1);
        }
        return bad(r, where, k, "unknown key (allowed: %s)", allowed);
    }
    return 0;
}

/* does @s hold a control character (C0 or DEL)? */
static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/*
 * Optional string member @key of @o: 0 with *out (NULL when absent), or -EINVAL unless it
 * is a non-empty string of at most @max - 1 bytes without control characters.
 */
static int get_str(json_t *o, const char *key, size_t max, const char **out, const char *where,
                   struct hss_put_result *r)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(r, where, key, "must be a non-empty string");
    const char *s = json_string_value(v);
    if (json_string_length(v) >= max)
        return bad(r, where, key, "longer than %zu characters", max - 1);
    if (strlen(s) != json_string_length(v) || has_control(s))
        return bad(r, where, key, "must not contain control characters");
    *out = s;
    return 0;
}

/* Optional boolean member: *out = @dflt when absent; -EINVAL when not true/false. */
static int get_bool(json_t *o, const char *key, bool dflt, bool *out, const char *where,
                    struct hss_put_result *r)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_boolean(v))
        return bad(r, where, key, "must be true or false");
    *out = v ? json_is_true(v) : dflt;
    return 0;
}

/* Optional hex member of exactly @n bytes: *present tells whether it was given. */
static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n, bool *present,
                   const char *where, struct hss_put_result *r)
{
    json_t *v = json_object_get(o, key);
    *present = v != NULL;
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    bool ok = s && json_string_length(v) == 2 * n;
    for (size_t i = 0; ok && i < 2 * n; i++)
        ok = isxdigit((unsigned char)s[i]) != 0;
    if (!ok || ims_hex_decode(s, out, n) != 0)
        return bad(r, where, key, "must be a string of %zu hex digits", 2 * n);
    return 0;
}

/* Optional integer member in [lo, hi]: *out = @dflt when absent. */
static int get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t dflt,
                   json_int_t *out, const char *where, struct hss_put_result *r)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(r, where, key, "must be an integer from %lld to %lld", (long long)lo,
                   (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

/* Optional array member of at most @max entries; *out NULL when absent. */
static int get_array(json_t *o, const char *key, size_t max, json_t **out, const char *where,
                     struct hss_put_result *r)
{
    json_t *v = json_object_get(o, key);
    *out = v;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return bad(r, where, key, "must be a list");
    if (json_array_size(v) > max)
        return bad(r, where, key, "at most %zu entries", max);
    return 0;
}

/* non-empty and only ASCII digits */
static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* A domain name (labels of letters, digits and '-') or an IP literal; @n bytes of @s. */
bool hss_doc_is_host(const char *s, size_t n)
{
    if (n == 0)
        return false;
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']')
            return false;
        for (size_t i = 1; i < n - 1; i++)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return false;
        return true;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)s[i]) || (s[i] == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

/* IMPI (NAI, TS 23.003 13.3): user@realm. Returns NULL or why not. */
static const char *impi_problem(const char *s)
{
    const char *at = strrchr(s, '@');
    if (!at || at == s)
        return "must be user@realm";
    if (strpbrk(s, " \"<>") || strchr(s, '@') != at)
        return "must be user@realm without blanks, quotes, angle brackets or a second '@'";
    if (!hss_doc_is_host(at + 1, strlen(at + 1)))
        return "the realm after '@' must be a domain name";
    return NULL;
}

/* tel: URI (RFC 3966) without the scheme: a global number, or a local one with context */
static const char *tel_problem(const char *num)
{
    size_t end = strcspn(num, ";"), digits = 0;
    bool global = num[0] == '+';
    const char *allowed = global ? "0123456789-.()" : "0123456789ABCDEFabcdef*#-.()";
    for (size_t i = global ? 1 : 0; i < end; i++) {
        if (!strchr(allowed, num[i]))
            return "a tel: URI is tel:+<digits> (or a local number with ;phone-context=)";
        digits += isxdigit((unsigned char)num[i]) || num[i] == '*' || num[i] == '#';
    }
    if (digits == 0)
        return "a tel: URI needs digits";
    if (!global && !strstr(num + end, ";phone-context="))
        return "a local tel: number needs ;phone-context=";
    return NULL;
}

/* IMPU / PSI: sip:, sips: or tel: URI. Returns NULL or why not. */
static const char *uri_problem(const char *s, bool tel_ok)
{
    const char *rest;
    if (strncasecmp(s, "sip:", 4) == 0)
        rest = s + 4;
    else if (strncasecmp(s, "sips:", 5) == 0)
        rest = s + 5;
    else if (tel_ok && strncasecmp(s, "tel:", 4) == 0)
        return tel_problem(s + 4);
    else
        return tel_ok ? "must be a sip:, sips: or tel: URI" : "must be a sip: or sips: URI";
    if (strpbrk(s, " \"<>"))
        return "must not contain blanks, quotes or angle brackets";
    size_t end = strcspn(rest, ";?");
    const char *at = memrchr(rest, '@', end);
    if (at == rest)
        return "the user part before '@' is empty";
    const char *host = at ? at + 1 : rest, *stop = rest + end, *port = NULL;
    const char *hend = host[0] == '[' ? memchr(host, ']', (size_t)(stop - host)) : NULL;
    hend = hend ? hend + 1 : host[0] == '[' ? stop : memchr(host, ':', (size_t)(stop - host));
    if (!hend)
        hend = stop;
    if (hend < stop) {
        if (*hend != ':')
            return "the host part must be a domain name or an IP address";
        port = hend + 1;
    }
    if (!hss_doc_is_host(host, (size_t)(hend - host)))
        return "the host part must be a domain name or an IP address";
    if (port && (port == stop || strspn(port, "0123456789") != (size_t)(stop - port)))
        return "the port after the host must be a number";
    return NULL;
}

/*
 * Wildcarded identity (TS 23.003 13.5): the regex between two '!'. Builds in @re the
 * extended regex that matches the whole identity (literal parts escaped, the !...! part
 * as-is; hss_impu_find() anchors it) and in @plain the identity with the regex replaced by
 * "x" ("0" in a tel: URI) for the URI check. Returns NULL or why not.
 */
static const char *wildcard_build(const char *id, char *re, size_t relen, char *plain,
                                  size_t plen)
{
    const char *open = strchr(id, '!');
    const char *close = open ? strchr(open + 1, '!') : NULL;
    if (!close || strchr(close + 1, '!'))
        return "a wildcarded identity holds exactly one !regex! part";
    if (close == open + 1)
        return "the !regex! part is empty";
    size_t o = 0;
    for (const char *p = id; *p && o + 3 < relen; p++) {
        if (p > open && p < close) {
            re[o++] = *p;
        } else if (p != open && p != close) {
            if (strchr("\\.[]()*+?{}|^$", *p))
                re[o++] = '\\';
            re[o++] = *p;
        }
    }
    re[o] = '\0';
    if (o + 3 >= relen || strlen(id) + 2 >= plen)
        return "the wildcard regex is too long";
    /* something the URI check accepts in place of the regex */
    const char *stand_in = strncasecmp(id, "tel:", 4) == 0 ? "0" : "x";
    snprintf(plain, plen, "%.*s%s%s", (int)(open - id), id, stand_in, close + 1);
    char anchored[HSS_ID_MAX + 4];
    regex_t rx;
    snprintf(anchored, sizeof(anchored), "^%s$", re);
    if (regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB) != 0)
        return "the !regex! part is not a valid extended regular expression";
    regfree(&rx);
    return NULL;
}

/* ---- parsing the document ---- */

static int parse_credentials(json_t *o, const char *where, struct hss_doc_impi *p,
                             struct hss_put_result *r)
{
    uint8_t ha1[16], op[16], sqn[6];
    bool has_ha1, has_k, has_op, has_opc, has_amf;
    int rc;
    if ((rc = get_str(o, "password", sizeof(((struct hss_impi *)0)->password), &p->password,
                      where, r)) ||
        (rc = get_hex(o, "ha1", ha1, 16, &has_ha1, where, r)) ||
        (rc = get_hex(o, "k", p->k, 16, &has_k, where, r)) ||
        (rc = get_hex(o, "op", op, 16, &has_op, where, r)) ||
        (rc = get_hex(o, "opc", p->opc, 16, &has_opc, where, r)) ||
        (rc = get_hex(o, "amf", p->amf, 2, &has_amf, where, r)) ||
        (rc = get_hex(o, "sqn", sqn, 6, &p->has_sqn, where, r)))
        return rc;
    if (p->password && has_ha1)
        return bad(r, where, "ha1", "give password or ha1, not both");
    if (has_ha1)
        ims_hex_encode(ha1, 16, p->ha1);
    if (has_op && has_opc)
        return bad(r, where, "opc", "give op or opc, not both");
    if (has_k || has_op || has_opc || has_amf) {
        if (!has_k)
            return bad(r, where, "k", "required for AKA (with op or opc and amf)");
        if (!has_op && !has_opc)
            return bad(r, where, "op", "AKA needs op or opc");
        if (!has_amf)
            return bad(r, where, "amf", "required for AKA (4 hex digits, e.g. \"8000\")");
        if (has_op && ims_milenage_opc(p->k, op, p->opc) != 0)
            return -EIO;
        p->has_aka = true;
    }
    if (p->has_sqn)
        p->sqn = ims_sqn_from_bytes(sqn);
    return 0;
}

unsigned hss_scheme_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strcmp(name, schemes[i].name) == 0)
            return schemes[i].bit;
    return 0;
}

unsigned hss_scheme_bits(const char *list)
{
    unsigned bits = 0;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char name[32];
        if (n < sizeof(name)) {
            memcpy(name, list, n);
            name[n] = '\0';
            bits |= hss_scheme_of(name);
        }
        list += n + (list[n] == ',');
    }
    return bits;
}

/* What a scheme listed without its credentials lacks */
static const char *scheme_needs(unsigned bit)
{
    switch (bit) {
    case HSS_SCHEME_AKAV1:
    case HSS_SCHEME_AKAV2:
        return "AKA needs k, op or opc and amf";
    case HSS_SCHEME_EARLY_IMS:
        return "early-ims needs ip_address";
    case HSS_SCHEME_NASS_BUNDLED:
        return "nass-bundled needs line_identifiers";
    default:
        return "a Digest scheme needs a password or ha1";
    }
}

/* The schemes the credentials of @p allow */
static unsigned schemes_possible(const struct hss_doc_impi *p)
{
    return (p->password || p->ha1[0] ? DIGEST_FAMILY : 0) |
           (p->has_aka ? HSS_SCHEME_AKAV1 | HSS_SCHEME_AKAV2 : 0) |
           (p->ip_address[0] ? HSS_SCHEME_EARLY_IMS : 0) |
           (p->nline_ids ? HSS_SCHEME_NASS_BUNDLED : 0);
}

/* The list "schemes" into p->schemes: each known, once, with its credentials */
static int parse_scheme_list(json_t *list, unsigned have, const char *where,
                             struct hss_doc_impi *p, struct hss_put_result *r)
{
    json_t *v;
    size_t i;
    if (json_array_size(list) == 0)
        return bad(r, where, "schemes", "list at least one scheme");
    json_array_foreach(list, i, v) {
        char f[64];
        unsigned bit = hss_scheme_of(json_string_value(v));
        snprintf(f, sizeof(f), "%s.schemes[%zu]", where, i);
        if (!bit)
            return bad(r, f, NULL, "must be digest, akav1, akav2, tispan-digest, "
                                   "packetcable-digest, early-ims or nass-bundled");
        if (p->schemes & bit)
            return bad(r, f, NULL, "listed twice");
        if (!(have & bit))
            return bad(r, f, NULL, "%s", scheme_needs(bit));
        p->schemes |= bit;
    }
    /* an access binding nobody would use is a mistake, not a silent extra */
    if (p->ip_address[0] && !(p->schemes & HSS_SCHEME_EARLY_IMS))
        return bad(r, where, "ip_address", "only early-ims uses it: list early-ims in schemes");
    if (p->nline_ids && !(p->schemes & HSS_SCHEME_NASS_BUNDLED))
        return bad(r, where, "line_identifiers", "only nass-bundled uses them: list "
                                                 "nass-bundled in schemes");
    return 0;
}

/* schemes (default: all the credentials allow) and default_scheme */
static int parse_schemes(json_t *o, const char *where, struct hss_doc_impi *p,
                         struct hss_put_result *r)
{
    unsigned have = schemes_possible(p);
    json_t *list;
    int rc = get_array(o, "schemes", sizeof(schemes) / sizeof(schemes[0]), &list, where, r);
    if (rc)
        return rc;
    if (!have)
        return bad(r, where, NULL, "no credentials: give a password or ha1 (Digest), k, op "
                                   "or opc and amf (AKA), ip_address (early IMS) or "
                                   "line_identifiers (NASS-bundled)");
    p->schemes = list ? 0 : have;
    if (list && (rc = parse_scheme_list(list, have, where, p, r)))
        return rc;
    const char *def;
    if ((rc = get_str(o, "default_scheme", 32, &def, where, r)))
        return rc;
    if (def) {
        p->default_scheme = hss_scheme_of(def);
        if (!(p->default_scheme & p->schemes))
            return bad(r, where, "default_scheme", "must be one of the schemes allowed "
                                                   "(as in schemes)");
    } else {   /* digest when allowed, else the first allowed in the order of the table */
        p->default_scheme = HSS_SCHEME_DIGEST;
        while (!(p->default_scheme & p->schemes))
            p->default_scheme <<= 1;
    }
    return 0;
}

int hss_ip_parse(const char *text, struct hss_ip *out, char *canon)
{
    char buf[64];
    if (!text || strlen(text) >= sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", text);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    memset(out, 0, sizeof(*out));
    if (!slash && inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        char *end = NULL;
        long len = slash ? strtol(slash, &end, 10) : 128;
        if (slash && (!*slash || *end || len < 1 || len > 128))
            return -EINVAL;
        out->prefix = (unsigned)len;
        for (unsigned bit = out->prefix; bit < 128; bit++)   /* no host bits */
            if (out->addr[bit / 8] & (0x80u >> (bit % 8)))
                return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (canon) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(out->family, out->addr, a, sizeof(a));
        if (out->family == AF_INET)
            snprintf(canon, 64, "%s", a);
        else
            snprintf(canon, 64, "%s/%u", a, out->prefix);
    }
    return 0;
}

/* A Line-Identifier: 1 to 127 printable characters without quotes or backslashes (the
 * P-CSCF writes it as the quoted dsl-location of P-Access-Network-Info) */
static bool line_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= HSS_LINE_ID_MAX)
        return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* ip_address (early IMS) and line_identifiers (NASS-bundled) of an IMPI */
static int parse_access(json_t *o, const char *where, struct hss_doc_impi *p,
                        struct hss_put_result *r)
{
    const char *ip;
    json_t *lines, *v;
    size_t i;
    struct hss_ip addr;
    int rc;
    if ((rc = get_str(o, "ip_address", 64, &ip, where, r)) ||
        (rc = get_array(o, "line_identifiers", HSS_LINE_IDS_MAX, &lines, where, r)))
        return rc;
    if (ip && hss_ip_parse(ip, &addr, p->ip_address) != 0)
        return bad(r, where, "ip_address", "must be an IPv4 address, or an IPv6 address or "
                                           "prefix (\"2001:db8:1:2::/64\") without host bits");
    if (lines && json_array_size(lines) == 0)
        return bad(r, where, "line_identifiers", "list at least one line identifier");
    json_array_foreach(lines, i, v) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || !line_id_ok(s)) {
            char f[64];
            snprintf(f, sizeof(f), "%s.line_identifiers[%zu]", where, i);
            return bad(r, f, NULL, "must be 1 to 127 printable characters without quotes or "
                                   "backslashes");
        }
        for (size_t k = 0; k < p->nline_ids; k++)
            if (strcmp(p->line_ids[k], s) == 0) {
                char f[64];
                snprintf(f, sizeof(f), "%s.line_identifiers[%zu]", where, i);
                return bad(r, f, NULL, "listed twice");
            }
        p->line_ids[p->nline_ids++] = s;
    }
    return 0;
}

/* One element of impis[]: 0 or -EINVAL naming the field. */
static int parse_impi(json_t *o, const char *where, struct hss_doc_impi *p,
                      struct hss_put_result *r)
{
    static const char *const keys[] = { "identity", "password", "ha1", "k", "op", "opc", "amf",
                                         "sqn", "schemes", "default_scheme", "imsi", "msisdn",
                                         "barred", "ip_address", "line_identifiers", NULL };
    int rc;
    if (!json_is_object(o))
        return bad(r, where, NULL, "must be an object");
    if ((rc = check_keys(o, keys, where, r)) ||
        (rc = get_str(o, "identity", HSS_ID_MAX, &p->identity, where, r)))
        return rc;
    if (!p->identity)
        return bad(r, where, "identity", "required");
    const char *why = impi_problem(p->identity);
    if (why)
        return bad(r, where, "identity", "%s", why);
    if ((rc = parse_credentials(o, where, p, r)) || (rc = parse_access(o, where, p, r)) ||
        (rc = parse_schemes(o, where, p, r)) ||
        (rc = get_str(o, "imsi", 16, &p->imsi, where, r)) ||
        (rc = get_str(o, "msisdn", 16, &p->msisdn, where, r)) ||
        (rc = get_bool(o, "barred", false, &p->barred, where, r)))
        return rc;
    if (p->imsi && (!all_digits(p->imsi) || strlen(p->imsi) < 6))
        return bad(r, where, "imsi", "must be 6 to 15 digits");
    if (p->msisdn && !all_digits(p->msisdn))
        return bad(r, where, "msisdn", "must be 1 to 15 digits (E.164 without '+')");
    return 0;
}

/* index of the document IMPI @identity (case-insensitive), -1 when none */
static int find_impi(const struct hss_doc *d, const char *identity)
{
    for (size_t i = 0; identity && i < d->nimpis; i++)
        if (strcasecmp(d->impis[i].identity, identity) == 0)
            return (int)i;
    return -1;
}

/* index of the document profile @name, -1 when none */
static int find_profile(const struct hss_doc *d, const char *name)
{
    for (size_t i = 0; name && i < d->nprofiles; i++)
        if (strcmp(d->profiles[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* identity and type (with the wildcard regex of the wildcarded types) */
static int parse_impu_identity(json_t *o, const char *where, struct hss_doc_impu *u,
                               struct hss_put_result *r)
{
    const char *type, *why;
    int rc;
    if ((rc = get_str(o, "identity", HSS_ID_MAX, &u->identity, where, r)) ||
        (rc = get_str(o, "type", 32, &type, where, r)))
        return rc;
    if (!u->identity)
        return bad(r, where, "identity", "required");
    u->type = HSS_IMPU;
    for (size_t t = 0; type && t < 4; t++)
        if (strcmp(type, hss_identity_type_names[t]) == 0)
            u->type = (enum hss_identity_type)t;
    if (type && strcmp(type, hss_identity_type_names[u->type]) != 0)
        return bad(r, where, "type", "must be impu, psi, wildcard-psi or wildcard-impu");
    if (u->type == HSS_WILDCARD_PSI || u->type == HSS_WILDCARD_IMPU) {
        char plain[HSS_ID_MAX + 2];
        why = wildcard_build(u->identity, u->wildcard, sizeof(u->wildcard), plain,
                             sizeof(plain));
        if (!why)
            why = uri_problem(plain, true);
    } else {
        why = uri_problem(u->identity, true);
    }
    return why ? bad(r, where, "identity", "%s", why) : 0;
}

/* the IMPIs an IMPU is reachable with (default: every IMPI of the document) */
static int parse_impu_links(json_t *o, const char *where, const struct hss_doc *d,
                            struct hss_doc_impu *u, struct hss_put_result *r)
{
    json_t *list, *v;
    size_t i;
    int rc = get_array(o, "impis", HSS_DOC_MAX_IMPIS, &list, where, r);
    if (rc)
        return rc;
    u->impis = list ? 0 : (1ULL << d->nimpis) - 1;   /* nimpis <= 32 */
    json_array_foreach(list, i, v) {
        char f[64];
        int k = find_impi(d, json_string_value(v));
        snprintf(f, sizeof(f), "%s.impis[%zu]", where, i);
        if (k < 0)
            return bad(r, f, NULL, "must be the identity of one of this document's impis");
        u->impis |= 1ULL << k;
    }
    if (!u->impis && !hss_doc_is_psi(u->type))
        return bad(r, where, "impis", "a public user identity needs at least one private "
                                      "identity of the document");
    return 0;
}

/* One element of impus[] (after impis and profiles): 0 or -EINVAL naming the field. */
static int parse_impu(json_t *o, const char *where, const struct hss_doc *d,
                      struct hss_doc_impu *u, struct hss_put_result *r)
{
    static const char *const keys[] = { "identity", "type", "implicit_set", "profile",
                                        "barred", "display_name", "impis", "psi_as",
                                        "psi_active", NULL };
    const char *profile;
    json_int_t set;
    int rc;
    if (!json_is_object(o))
        return bad(r, where, NULL, "must be an object");
    if ((rc = check_keys(o, keys, where, r)) || (rc = parse_impu_identity(o, where, u, r)) ||
        (rc = get_int(o, "implicit_set", 1, INT32_MAX, 0, &set, where, r)) ||
        (rc = get_str(o, "profile", NAME_MAX_LEN + 1, &profile, where, r)) ||
        (rc = get_bool(o, "barred", false, &u->barred, where, r)) ||
        (rc = get_str(o, "display_name", sizeof(((struct hss_impu *)0)->display_name),
                      &u->display_name, where, r)) ||
        (rc = parse_impu_links(o, where, d, u, r)) ||
        (rc = get_str(o, "psi_as", HSS_ID_MAX, &u->psi_as, where, r)) ||
        (rc = get_bool(o, "psi_active", true, &u->psi_active, where, r)))
        return rc;
    u->implicit_set = set;
    u->profile = profile ? find_profile(d, profile) : d->nprofiles == 1 ? 0 : -1;
    if (profile && u->profile < 0)
        return bad(r, where, "profile", "no profile named \"%s\" in profiles", profile);
    if (!profile && d->nprofiles > 1)
        return bad(r, where, "profile", "required when the document has several profiles");
    if (!hss_doc_is_psi(u->type) && (u->psi_as || json_object_get(o, "psi_active")))
        return bad(r, where, u->psi_as ? "psi_as" : "psi_active",
                   "only for the types psi and wildcard-psi");
    const char *why = u->psi_as ? uri_problem(u->psi_as, false) : NULL;
    if (why)
        return bad(r, where, "psi_as", "%s", why);
    return 0;
}

/* hss_ifc_xml() says "<path>: <reason>"; make the path absolute in the document */
static int ifc_error(const char *where, const char *msg, struct hss_put_result *r)
{
    const char *sep = strstr(msg, ": ");
    if (!sep)
        return -ENOMEM;   /* its only message without a path is "out of memory" */
    if (strncmp(msg, "ifc: ", 5) == 0)
        return bad(r, where, NULL, "%s", sep + 2);
    snprintf(r->field, sizeof(r->field), "%s.%.*s", where, (int)(sep - msg), msg);
    snprintf(r->err, sizeof(r->err), "%s", sep + 2);
    return -EINVAL;
}

/* A profile's iFCs through hss_ifc_xml(): XML and canonical spec of each, or the error. */
static int parse_ifcs(json_t *list, const char *where, struct hss_doc_profile *p,
                      struct hss_put_result *r)
{
    json_t *spec;
    size_t j;
    if (!list || json_array_size(list) == 0)
        return 0;
    p->ifcs = calloc(json_array_size(list), sizeof(*p->ifcs));
    if (!p->ifcs)
        return -ENOMEM;
    json_array_foreach(list, j, spec) {
        char f[96], err[256];
        struct hss_doc_ifc *c = &p->ifcs[j];
        snprintf(f, sizeof(f), "%s.ifcs[%zu]", where, j);
        c->xml = hss_ifc_xml(spec, &c->priority, &c->unreg_services, err, sizeof(err));
        if (!c->xml)
            return ifc_error(f, err, r);
        p->nifcs = j + 1;
        c->spec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
        if (!c->spec)
            return -ENOMEM;
        for (size_t k = 0; k < j; k++)
            if (p->ifcs[k].priority == c->priority)
                return bad(r, f, "priority", "priority %d is already used by ifcs[%zu]",
                           c->priority, k);
    }
    return 0;
}

/* profiles[@idx]: 0 or -EINVAL naming the field (or -ENOMEM). */
static int parse_profile(json_t *o, const char *where, struct hss_doc *d, size_t idx,
                         struct hss_put_result *r)
{
    struct hss_doc_profile *p = &d->profiles[idx];
    static const char *const keys[] = { "name", "ifcs", "shared_ifcs", NULL };
    json_t *ifcs, *shared, *v;
    size_t i;
    int rc;
    if (!json_is_object(o))
        return bad(r, where, NULL, "must be an object");
    if ((rc = check_keys(o, keys, where, r)) ||
        (rc = get_str(o, "name", NAME_MAX_LEN + 1, &p->name, where, r)) ||
        (rc = get_array(o, "ifcs", MAX_IFCS, &ifcs, where, r)) ||
        (rc = get_array(o, "shared_ifcs", HSS_DOC_MAX_SHARED, &shared, where, r)))
        return rc;
    if (!p->name)
        return bad(r, where, "name", "required");
    for (size_t k = 0; k < idx; k++)
        if (strcmp(d->profiles[k].name, p->name) == 0)
            return bad(r, where, "name", "profile \"%s\" is already defined by profiles[%zu]",
                       p->name, k);
    json_array_foreach(shared, i, v) {
        char f[96];
        snprintf(f, sizeof(f), "%s.shared_ifcs[%zu]", where, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT32_MAX)
            return bad(r, f, NULL, "must be an integer from 0 to %d", INT32_MAX);
        for (size_t k = 0; k < i; k++)
            if (p->shared[k] == json_integer_value(v))
                return bad(r, f, NULL, "listed twice");
        p->shared[p->nshared++] = json_integer_value(v);
    }
    return parse_ifcs(ifcs, where, p, r);
}

/* capabilities: {"mandatory": [..], "optional": [..]} -> comma-separated lists */
static int parse_caps(json_t *o, struct hss_doc *d, struct hss_put_result *r)
{
    static const char *const keys[] = { "mandatory", "optional", NULL };
    json_t *list, *v;
    size_t i;
    int rc;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return bad(r, "capabilities", NULL, "must be an object");
    if ((rc = check_keys(o, keys, "capabilities", r)))
        return rc;
    for (int k = 0; k < 2; k++) {
        char where[32];
        snprintf(where, sizeof(where), "capabilities.%s", keys[k]);
        if ((rc = get_array(o, keys[k], MAX_CAPS, &list, "capabilities", r)))
            return rc;
        json_array_foreach(list, i, v) {
            char f[48], num[16];
            snprintf(f, sizeof(f), "%s[%zu]", where, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > UINT32_MAX)
                return bad(r, f, NULL, "must be an integer from 0 to %u", UINT32_MAX);
            snprintf(num, sizeof(num), "%s%lld", i ? "," : "", (long long)json_integer_value(v));
            strcat(d->caps[k], num);   /* 32 entries of <= 11 bytes fit in 256 */
        }
    }
    return 0;
}

/* charging: {"ccf": [DiameterURI x <= 2], "ecf": [...]} */
static int parse_charging(json_t *o, struct hss_doc *d, struct hss_put_result *r)
{
    static const char *const keys[] = { "ccf", "ecf", NULL };
    json_t *list, *v;
    size_t i;
    int rc;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return bad(r, "charging", NULL, "must be an object");
    if ((rc = check_keys(o, keys, "charging", r)))
        return rc;
    for (int k = 0; k < 2; k++) {
        const char **out = k == 0 ? d->ccf : d->ecf;
        if ((rc = get_array(o, keys[k], 2, &list, "charging", r)))
            return rc;
        json_array_foreach(list, i, v) {
            char f[32];
            const char *s = json_string_value(v);
            snprintf(f, sizeof(f), "charging.%s[%zu]", keys[k], i);
            if (!s || json_string_length(v) >= HSS_ID_MAX || has_control(s) ||
                (strncmp(s, "aaa://", 6) != 0 && strncmp(s, "aaas://", 7) != 0) ||
                !hss_doc_is_host(strchr(s, '/') + 2, strcspn(strchr(s, '/') + 2, ":;")))
                return bad(r, f, NULL, "must be a DiameterURI such as "
                                       "aaa://ocs.example.org:3868;transport=tcp");
            out[i] = s;
        }
    }
    return 0;
}

/* visited_networks: unique domain names */
static int parse_visited(json_t *list, struct hss_doc *d, struct hss_put_result *r)
{
    json_t *v;
    size_t i;
    json_array_foreach(list, i, v) {
        char f[40];
        const char *s = json_string_value(v);
        snprintf(f, sizeof(f), "visited_networks[%zu]", i);
        if (!s || json_string_length(v) >= HSS_ID_MAX || !hss_doc_is_host(s, strlen(s)))
            return bad(r, f, NULL, "must be a domain name");
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(d->visited[k], s) == 0)
                return bad(r, f, NULL, "listed twice");
        d->visited[d->nvisited++] = s;
    }
    return 0;
}

/* the required name: also a path segment of the API, hence the narrow alphabet */
static int parse_name(json_t *doc, struct hss_doc *d, struct hss_put_result *r)
{
    int rc = get_str(doc, "name", NAME_MAX_LEN + 1, &d->name, NULL, r);
    if (rc)
        return rc;
    if (!d->name)
        return bad(r, NULL, "name", "required");
    for (const char *p = d->name; *p; p++)
        if (!isalnum((unsigned char)*p) && !(p > d->name && strchr("._@+-", *p)))
            return bad(r, NULL, "name", "letters, digits and . _ @ + - (not first) only");
    return 0;
}

/* duplicates inside the document, and implicit sets sharing their IMPIs */
static int cross_check(const struct hss_doc *d, struct hss_put_result *r)
{
    char f[32];
    for (size_t i = 0; i < d->nimpis; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(d->impis[i].identity, d->impis[j].identity) == 0) {
                snprintf(f, sizeof(f), "impis[%zu]", i);
                return bad(r, f, "identity", "duplicate of impis[%zu]", j);
            }
    for (size_t i = 0; i < d->nimpus; i++) {
        const struct hss_doc_impu *u = &d->impus[i];
        snprintf(f, sizeof(f), "impus[%zu]", i);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(u->identity, d->impus[j].identity) == 0)
                return bad(r, f, "identity", "duplicate of impus[%zu]", j);
            if (u->implicit_set && u->implicit_set == d->impus[j].implicit_set &&
                u->impis != d->impus[j].impis)
                return bad(r, f, "impis", "differs from impus[%zu] of the same implicit_set "
                                          "(an implicit set shares its private identities)", j);
        }
    }
    return 0;
}

/* each element of the optional list @key through @fn */
static int parse_list(json_t *doc, const char *key, size_t max, struct hss_doc *d,
                      struct hss_put_result *r,
                      int (*fn)(json_t *, const char *, struct hss_doc *, size_t,
                                struct hss_put_result *))
{
    json_t *list, *v;
    size_t i;
    int rc = get_array(doc, key, max, &list, NULL, r);
    if (rc || !list)
        return rc;
    json_array_foreach(list, i, v) {
        char where[32];
        snprintf(where, sizeof(where), "%s[%zu]", key, i);
        if ((rc = fn(v, where, d, i, r)) != 0)
            return rc;
    }
    return 0;
}

/* parse_list() callbacks: count the element first so that hss_doc_free() sees it */
static int one_profile(json_t *v, const char *where, struct hss_doc *d, size_t i,
                       struct hss_put_result *r)
{
    d->nprofiles = i + 1;   /* counted before parsing so that hss_doc_free sees its iFCs */
    return parse_profile(v, where, d, i, r);
}

static int one_impi(json_t *v, const char *where, struct hss_doc *d, size_t i,
                    struct hss_put_result *r)
{
    d->nimpis = i + 1;
    return parse_impi(v, where, &d->impis[i], r);
}

static int one_impu(json_t *v, const char *where, struct hss_doc *d, size_t i,
                    struct hss_put_result *r)
{
    d->nimpus = i + 1;
    return parse_impu(v, where, d, &d->impus[i], r);
}

/* Free a document of hss_doc_parse() (NULL is fine); the json_t stays the caller's. */
void hss_doc_free(struct hss_doc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nprofiles; i++) {
        for (size_t j = 0; j < d->profiles[i].nifcs; j++) {
            free(d->profiles[i].ifcs[j].spec);
            free(d->profiles[i].ifcs[j].xml);
        }
        free(d->profiles[i].ifcs);
    }
    free(d);
}

int hss_doc_parse(json_t *doc, struct hss_doc **out, struct hss_put_result *r)
{
    static const char *const keys[] = { "name", "impis", "impus", "profiles", "capabilities",
                                        "charging", "visited_networks", NULL };
    json_t *visited;
    struct hss_doc *d = *out = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    if (!json_is_object(doc))
        return bad(r, NULL, NULL, "a subscriber document must be a JSON object");
    int rc = check_keys(doc, keys, NULL, r);
    if (rc || (rc = parse_name(doc, d, r)) ||
        (rc = parse_list(doc, "profiles", HSS_DOC_MAX_PROFILES, d, r, one_profile)) ||
        (rc = parse_list(doc, "impis", HSS_DOC_MAX_IMPIS, d, r, one_impi)) ||
        (rc = parse_list(doc, "impus", HSS_DOC_MAX_IMPUS, d, r, one_impu)))
        return rc;
    if (d->nimpus == 0)
        return bad(r, NULL, "impus", "required: a list of at least one public identity");
    if ((rc = parse_caps(json_object_get(doc, "capabilities"), d, r)) ||
        (rc = parse_charging(json_object_get(doc, "charging"), d, r)) ||
        (rc = get_array(doc, "visited_networks", HSS_DOC_MAX_VISITED, &visited, NULL, r)) ||
        (rc = parse_visited(visited, d, r)))
        return rc;
    return cross_check(d, r);
}

/* enum hss_scheme bits -> "digest,akav1" (the database form), in @out */
void hss_doc_scheme_text(unsigned bits, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (bits & schemes[i].bit) {
            strncat(out, out[0] ? "," : "", len - strlen(out) - 1);
            strncat(out, schemes[i].name, len - strlen(out) - 1);
        }
}
