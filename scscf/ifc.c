/*
 * ifc.c - initial filter criteria: the IMSSubscription's iFCs compiled once (regular
 * expressions, SPT groups as bit masks) and matched against requests (see ifc.h)
 *
 * A compiled iFC is reference-counted: a profile's set and the shared sets it draws from
 * hold the same shared iFCs, so either may be freed first.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ifc.h"
#include "xml.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WHY_MAX 256
#define UNKNOWN_MAX 16          /* unknown SharedIFCSetIDs remembered per set */
#define SHARED_SETS_MAX 1024
#define MULTIPART_DEPTH 3       /* multipart nested in multipart */
#define EXT_DEPTH 8             /* Extension in Extension, for identity extensions */
#define RE_FLAGS (REG_EXTENDED | REG_NOSUB | REG_ICASE)   /* why: see ifc.h */

struct spt_kind;

/* One compiled service point trigger */
struct spt {
    const struct spt_kind *kind;
    bool negated;
    char *text;                 /* Method, Header (long form) or SDP Line */
    regex_t re;                 /* Content or RequestURI, when has_re */
    bool has_re;
    int session_case;
    unsigned reg_types;         /* bit per RegistrationType; 0: every REGISTER */
};

struct ifc {
    struct scscf_ifc pub;       /* what scscf_ifc_get() hands out */
    int refs;
    bool cnf;
    int nspt, ngroups;
    struct spt *spt;
    uint64_t *groups;           /* per group: bit i set when SPT i belongs to it */
};

struct scscf_ifc_set {
    int n;
    bool found;                 /* a ServiceProfile listed the identity */
    int nunknown;
    int unknown[UNKNOWN_MAX];
    struct ifc *ifcs[];         /* n of them once parsed (room for SCSCF_IFC_MAX while
                                 * parsing: 2 KiB, which every registered identity kept) */
};

struct shared_set {
    int id, n;
    struct ifc **ifcs;
};

struct scscf_ifc_shared {
    int n;
    struct shared_set *sets;
};

/* ---- small readers ---- */

/* decimal integer in [min, max], nothing else; false for NULL */
static bool parse_int(const char *s, int min, int max, int *out)
{
    if (!s || !isdigit((unsigned char)*s) || strlen(s) > 10)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

/* tBool: 0/1/false/true; -1 otherwise */
static int parse_bool(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
        return 0;
    return -1;
}

static int count_children(const struct ims_xml_node *n, const char *name)
{
    int k = 0;
    for (const struct ims_xml_node *c = ims_xml_child(n, name); c; c = ims_xml_next(c, name))
        k++;
    return k;
}

/* regexec over @n bytes that are not NUL-terminated */
static bool search_n(const regex_t *re, const char *s, size_t n)
{
    char small[512];
    char *b = n < sizeof(small) ? small : malloc(n + 1);
    if (!b)
        return false;
    memcpy(b, s, n);
    b[n] = '\0';
    bool hit = regexec(re, b, 0, NULL, 0) == 0;
    if (b != small)
        free(b);
    return hit;
}

/* ---- SPT kinds: compile from XML, match against a request ---- */

static int compile_regex(struct spt *s, const char *text, char *why, size_t wl)
{
    if (strlen(text) >= SCSCF_IFC_REGEX_MAX) {
        snprintf(why, wl, "regex '%.60s...' longer than %d bytes", text, SCSCF_IFC_REGEX_MAX);
        return -1;
    }
    int rc = regcomp(&s->re, text, RE_FLAGS);
    if (rc != 0) {
        char e[128];
        regerror(rc, &s->re, e, sizeof(e));
        snprintf(why, wl, "bad regex '%.100s': %s", text, e);
        return -1;
    }
    s->has_re = true;
    return 0;
}

/* the optional Content of SIPHeader and SessionDescription (empty = absent) */
static int compile_content(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    const char *content = ims_xml_child_text(n, "Content");
    return content && *content ? compile_regex(s, content, why, wl) : 0;
}

static int set_text(struct spt *s, const char *text, const char *what, char *why, size_t wl)
{
    if (!text || !*text) {
        snprintf(why, wl, "%s is empty", what);
        return -1;
    }
    s->text = strdup(text);
    if (!s->text) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    return 0;
}

static int method_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    return set_text(s, n->text, "Method", why, wl);
}

static bool method_match(const struct spt *s, const struct scscf_ifc_ctx *ctx)
{
    const sip_request_t *rq = ctx->sip ? ctx->sip->sip_request : NULL;
    if (!rq || !rq->rq_method_name || strcmp(rq->rq_method_name, s->text) != 0)
        return false;
    if (!s->reg_types || strcmp(s->text, "REGISTER") != 0)
        return true;
    return ctx->reg_type >= SCSCF_REG_INITIAL && ctx->reg_type <= SCSCF_REG_DE &&
           (s->reg_types & (1u << ctx->reg_type));
}

static int ruri_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    if (!n->text || !*n->text) {
        snprintf(why, wl, "RequestURI is empty");
        return -1;
    }
    return compile_regex(s, n->text, why, wl);
}

static bool ruri_match(const struct spt *s, const struct scscf_ifc_ctx *ctx)
{
    const sip_request_t *rq = ctx->sip ? ctx->sip->sip_request : NULL;
    if (!rq)
        return false;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char *uri = url_as_string(home, rq->rq_url);
    bool hit = uri && regexec(&s->re, uri, 0, NULL, 0) == 0;
    su_home_deinit(home);
    return hit;
}

/* compact header forms (RFC 3261 7.3.3 and the IANA SIP header registry) */
static const struct {
    char c;
    const char *name;
} compact_forms[] = {
    { 'a', "Accept-Contact" }, { 'b', "Referred-By" }, { 'c', "Content-Type" },
    { 'd', "Request-Disposition" }, { 'e', "Content-Encoding" }, { 'f', "From" },
    { 'i', "Call-ID" }, { 'j', "Reject-Contact" }, { 'k', "Supported" },
    { 'l', "Content-Length" }, { 'm', "Contact" }, { 'n', "Identity-Info" },
    { 'o', "Event" }, { 'r', "Refer-To" }, { 's', "Subject" }, { 't', "To" },
    { 'u', "Allow-Events" }, { 'v', "Via" }, { 'x', "Session-Expires" }, { 'y', "Identity" },
};

/* the long form of a header name */
static const char *header_long_name(const char *name)
{
    if (!name[0] || name[1])
        return name;
    for (size_t i = 0; i < ARRAY_SIZE(compact_forms); i++)
        if (compact_forms[i].c == tolower((unsigned char)name[0]))
            return compact_forms[i].name;
    return name;
}

static int header_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    const char *name = ims_xml_child_text(n, "Header");
    if (set_text(s, name ? header_long_name(name) : NULL, "SIPHeader/Header", why, wl))
        return -1;
    return compile_content(s, n, why, wl);
}

/* the name of a header field of the parsed request; NULL for the request line and body */
static const char *header_name(const msg_header_t *h)
{
    const msg_hclass_t *hc = h->sh_class;
    if (hc == sip_unknown_class)
        return h->sh_unknown->un_name;
    if (hc == sip_request_class || hc == sip_status_class || hc == sip_separator_class ||
        hc == sip_payload_class || hc == sip_error_class)
        return NULL;
    return hc->hc_name;
}

/*
 * The value of @h as a string: in @small when it fits, else malloc'd (the caller frees what
 * is not @small); NULL when it cannot be encoded. Not sip_header_as_string(): sofia-sip
 * 1.12.11 gives a buffer of exactly the encoded length + 1 to the encoder on its second
 * try, and the Event encoder writes nothing into such a buffer, so an Event value of 128
 * bytes or more came back unterminated (found by tests/fuzz/scscf_ifc_match).
 */
static char *header_value(const msg_header_t *h, char *small, size_t slen)
{
    ssize_t n = sip_header_field_e(small, slen, (const sip_header_t *)h, 0);
    if (n < 0)
        return NULL;
    char *b = small;
    if ((size_t)n + 2 > slen) {
        if (!(b = malloc((size_t)n + 2)))
            return NULL;
        memset(b, 0xff, (size_t)n + 2);
        if (sip_header_field_e(b, (size_t)n + 2, (const sip_header_t *)h, 0) != n ||
            memchr(b, '\0', (size_t)n + 1) != b + n) {
            free(b);
            return NULL;
        }
    }
    b[n] = '\0';
    return b;
}

static bool header_value_matches(const struct spt *s, const msg_header_t *h)
{
    if (h->sh_class == sip_unknown_class)
        return regexec(&s->re, h->sh_unknown->un_value ? h->sh_unknown->un_value : "", 0,
                       NULL, 0) == 0;
    char small[512];
    char *value = header_value(h, small, sizeof(small));
    bool hit = value && regexec(&s->re, value, 0, NULL, 0) == 0;
    if (value != small)
        free(value);
    return hit;
}

static bool header_match(const struct spt *s, const struct scscf_ifc_ctx *ctx)
{
    if (!ctx->sip || !ctx->sip->sip_request)
        return false;
    /* every field of the message in its fragment chain, from the request line on (fields
     * added after parsing count once msg_header_insert() or msg_serialize() chained them) */
    for (const msg_header_t *h = (const msg_header_t *)ctx->sip->sip_request; h;
         h = h->sh_succ) {
        const char *name = header_name(h);
        if (!name || strcasecmp(header_long_name(name), s->text) != 0)
            continue;
        if (!s->has_re || header_value_matches(s, h))
            return true;
    }
    return false;
}

static int case_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    if (!parse_int(n->text, SCSCF_ORIG, SCSCF_ORIG_CDIV, &s->session_case)) {
        snprintf(why, wl, "SessionCase '%.20s' is not 0 to 4", n->text ? n->text : "");
        return -1;
    }
    return 0;
}

static bool case_match(const struct spt *s, const struct scscf_ifc_ctx *ctx)
{
    return (int)ctx->session_case == s->session_case;
}

static int sdp_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    if (set_text(s, ims_xml_child_text(n, "Line"), "SessionDescription/Line", why, wl))
        return -1;
    return compile_content(s, n, why, wl);
}

/* an SDP line "<type>=<value>" of @len bytes of SDP with type Line (and value Content) */
static bool sdp_lines_match(const struct spt *s, const char *sdp, size_t len)
{
    size_t tl = strlen(s->text);
    const char *end = sdp + len;
    for (const char *line = sdp; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        const char *eq = memchr(line, '=', (size_t)(eol - line));
        if (eq && (size_t)(eq - line) == tl && memcmp(line, s->text, tl) == 0 &&
            (!s->has_re || search_n(&s->re, eq + 1, (size_t)(eol - eq - 1))))
            return true;
        line = next;
    }
    return false;
}

static bool body_match(const struct spt *s, const char *type, const char *boundary,
                       const char *body, size_t len, int depth);

/* @len bytes at @p begin with @prefix, case-insensitively */
static bool starts_with(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(p, prefix, n) == 0;
}

/* the parameter @name of a Content-Type value ("...; boundary=x"), unquoted, into @out */
static bool content_param(const char *value, const char *name, char *out, size_t olen)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(value, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, name, nl) != 0 || q[nl] != '=')
            continue;
        q += nl + 1;
        size_t n = *q == '"' ? strcspn(++q, "\"") : strcspn(q, "; \t");
        if (n == 0 || n >= olen)
            return false;
        memcpy(out, q, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

/* one body part: its headers (only Content-Type matters), a blank line, its content */
static bool part_match(const struct spt *s, const char *p, size_t len, int depth)
{
    char type[128] = "text/plain", boundary[128] = "";   /* RFC 2046 default */
    const char *end = p + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return false;                   /* no blank line: no content */
        size_t ll = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
        if (ll == 0)
            return body_match(s, type, boundary, eol + 1, (size_t)(end - eol - 1), depth);
        if (starts_with(p, ll, "Content-Type:")) {
            char value[256];
            snprintf(value, sizeof(value), "%.*s", (int)(ll - 13), p + 13);
            size_t skip = strspn(value, " \t");
            snprintf(type, sizeof(type), "%.*s", (int)strcspn(value + skip, "; \t"),
                     value + skip);
            if (!content_param(value, "boundary", boundary, sizeof(boundary)))
                boundary[0] = '\0';
        }
        p = eol + 1;
    }
    return false;
}

/* the next "--boundary" that starts a line, or NULL */
static const char *find_delimiter(const char *body, const char *p, const char *end,
                                  const char *delim, size_t dl)
{
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), delim, dl);
        if (!hit)
            return NULL;
        if (hit == body || hit[-1] == '\n')
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/* RFC 2046 5.1: parts between "--boundary" lines, up to "--boundary--" */
static bool multipart_match(const struct spt *s, const char *boundary, const char *body,
                            size_t len, int depth)
{
    char delim[160];
    int dl = snprintf(delim, sizeof(delim), "--%s", boundary);
    if (!*boundary || dl < 0 || (size_t)dl >= sizeof(delim))
        return false;
    const char *end = body + len;
    const char *p = find_delimiter(body, body, end, delim, (size_t)dl);
    while (p) {
        p += dl;
        if (starts_with(p, (size_t)(end - p), "--"))
            return false;                   /* close delimiter */
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return false;
        const char *part = eol + 1;
        const char *next = find_delimiter(body, part, end, delim, (size_t)dl);
        const char *part_end = next ? next : end;
        if (part_end > part && part_end[-1] == '\n')   /* the line break before "--" */
            part_end -= 1 + (part_end - 1 > part && part_end[-2] == '\r');
        if (part_match(s, part, (size_t)(part_end - part), depth + 1))
            return true;
        p = next;
    }
    return false;
}

static bool body_match(const struct spt *s, const char *type, const char *boundary,
                       const char *body, size_t len, int depth)
{
    if (strcasecmp(type, "application/sdp") == 0)
        return sdp_lines_match(s, body, len);
    if (strncasecmp(type, "multipart/", 10) == 0 && boundary && depth < MULTIPART_DEPTH)
        return multipart_match(s, boundary, body, len, depth);
    return false;
}

static bool sdp_match(const struct spt *s, const struct scscf_ifc_ctx *ctx)
{
    const sip_t *sip = ctx->sip;
    if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data || !sip->sip_content_type ||
        !sip->sip_content_type->c_type)
        return false;
    char boundary[128] = "";
    const char *b = msg_params_find(sip->sip_content_type->c_params, "boundary");
    if (b) {
        size_t n = *b == '"' ? strcspn(++b, "\"") : strlen(b);
        snprintf(boundary, sizeof(boundary), "%.*s", (int)n, b);
    }
    return body_match(s, sip->sip_content_type->c_type, boundary, sip->sip_payload->pl_data,
                      sip->sip_payload->pl_len, 0);
}

static const struct spt_kind {
    const char *element;
    int (*compile)(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl);
    bool (*match)(const struct spt *s, const struct scscf_ifc_ctx *ctx);
} spt_kinds[] = {
    { "Method", method_compile, method_match },
    { "RequestURI", ruri_compile, ruri_match },
    { "SIPHeader", header_compile, header_match },
    { "SessionCase", case_compile, case_match },
    { "SessionDescription", sdp_compile, sdp_match },
};

/* ---- compiling an InitialFilterCriteria ---- */

static void ifc_unref(struct ifc *f)
{
    if (!f || --f->refs > 0)
        return;
    for (int i = 0; i < f->nspt; i++) {
        if (f->spt[i].has_re)
            regfree(&f->spt[i].re);
        free(f->spt[i].text);
    }
    free(f->spt);
    free(f->groups);
    free(f->pub.service_info);
    free(f);
}

/* SPT/Extension/RegistrationType values */
static int reg_types_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    const struct ims_xml_node *ext = ims_xml_child(n, "Extension");
    for (const struct ims_xml_node *t = ims_xml_child(ext, "RegistrationType"); t;
         t = ims_xml_next(t, "RegistrationType")) {
        int v;
        if (!parse_int(t->text, SCSCF_REG_INITIAL, SCSCF_REG_DE, &v)) {
            snprintf(why, wl, "RegistrationType '%.20s' is not 0, 1 or 2",
                     t->text ? t->text : "");
            return -1;
        }
        s->reg_types |= 1u << v;
    }
    return 0;
}

static int spt_compile(struct spt *s, const struct ims_xml_node *n, char *why, size_t wl)
{
    const char *neg = ims_xml_child_text(n, "ConditionNegated");
    if (neg && parse_bool(neg) < 0) {
        snprintf(why, wl, "ConditionNegated '%.20s' is not 0 or 1", neg);
        return -1;
    }
    s->negated = neg && parse_bool(neg) == 1;
    const struct ims_xml_node *kn = NULL;
    for (size_t k = 0; k < ARRAY_SIZE(spt_kinds); k++) {
        const struct ims_xml_node *c = ims_xml_child(n, spt_kinds[k].element);
        if (!c)
            continue;
        if (kn || ims_xml_next(c, spt_kinds[k].element)) {
            snprintf(why, wl, "more than one condition (Method, RequestURI, SIPHeader,"
                              " SessionCase, SessionDescription)");
            return -1;
        }
        s->kind = &spt_kinds[k];
        kn = c;
    }
    if (!kn) {
        snprintf(why, wl, "no Method, RequestURI, SIPHeader, SessionCase or"
                          " SessionDescription");
        return -1;
    }
    if (reg_types_compile(s, n, why, wl))
        return -1;
    return s->kind->compile(s, kn, why, wl);
}

/* SPT number @bit joins group @id */
static int group_add(int id, int bit, int *ids, uint64_t *masks, int *ng, char *why,
                     size_t wl)
{
    int k = 0;
    while (k < *ng && ids[k] != id)
        k++;
    if (k == *ng) {
        if (*ng == SCSCF_IFC_SPT_MAX) {
            snprintf(why, wl, "more than %d groups", SCSCF_IFC_SPT_MAX);
            return -1;
        }
        ids[(*ng)++] = id;
    }
    masks[k] |= UINT64_C(1) << bit;
    return 0;
}

/* the Group elements of an SPT; without any (TS 29.228 requires one) it is in group 0 */
static int spt_groups(const struct ims_xml_node *n, int bit, int *ids, uint64_t *masks,
                      int *ng, char *why, size_t wl)
{
    const struct ims_xml_node *g = ims_xml_child(n, "Group");
    if (!g)
        return group_add(0, bit, ids, masks, ng, why, wl);
    for (; g; g = ims_xml_next(g, "Group")) {
        int id;
        if (!parse_int(g->text, 0, INT_MAX, &id)) {
            snprintf(why, wl, "Group '%.20s' is not a number >= 0", g->text ? g->text : "");
            return -1;
        }
        if (group_add(id, bit, ids, masks, ng, why, wl))
            return -1;
    }
    return 0;
}

static int trigger_compile(struct ifc *f, const struct ims_xml_node *tp, char *why, size_t wl)
{
    if (!tp) {
        f->pub.unconditional = true;
        return 0;
    }
    int cnf = parse_bool(ims_xml_child_text(tp, "ConditionTypeCNF"));
    int n = count_children(tp, "SPT");
    if (cnf < 0) {
        snprintf(why, wl, "ConditionTypeCNF missing or not 0 or 1");
        return -1;
    }
    if (n == 0 || n > SCSCF_IFC_SPT_MAX) {
        snprintf(why, wl, "a TriggerPoint holds 1 to %d SPTs", SCSCF_IFC_SPT_MAX);
        return -1;
    }
    f->cnf = cnf == 1;
    f->spt = calloc((size_t)n, sizeof(*f->spt));
    if (!f->spt) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    int ids[SCSCF_IFC_SPT_MAX];
    uint64_t masks[SCSCF_IFC_SPT_MAX] = { 0 };
    const struct ims_xml_node *c = ims_xml_child(tp, "SPT");
    for (int i = 0; i < n; i++, c = ims_xml_next(c, "SPT")) {
        char w[WHY_MAX];
        f->nspt = i + 1;
        if (spt_compile(&f->spt[i], c, w, sizeof(w)) ||
            spt_groups(c, i, ids, masks, &f->ngroups, w, sizeof(w))) {
            snprintf(why, wl, "SPT %d: %s", i + 1, w);
            return -1;
        }
    }
    f->groups = malloc((size_t)f->ngroups * sizeof(*f->groups));
    if (!f->groups) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    memcpy(f->groups, masks, (size_t)f->ngroups * sizeof(*f->groups));
    return 0;
}

static int as_compile(struct scscf_ifc *p, const struct ims_xml_node *as, char *why, size_t wl)
{
    const char *name = ims_xml_child_text(as, "ServerName");
    const char *dh = ims_xml_child_text(as, "DefaultHandling");
    const char *info = ims_xml_child_text(as, "ServiceInfo");
    int h = SCSCF_SESSION_CONTINUED;
    if (!name || !*name || strlen(name) >= sizeof(p->as)) {
        snprintf(why, wl, "ApplicationServer/ServerName missing or longer than %zu bytes",
                 sizeof(p->as) - 1);
        return -1;
    }
    if (dh && !parse_int(dh, SCSCF_SESSION_CONTINUED, SCSCF_SESSION_TERMINATED, &h)) {
        snprintf(why, wl, "DefaultHandling '%.20s' is not 0 or 1", dh);
        return -1;
    }
    memcpy(p->as, name, strlen(name) + 1);
    p->default_handling = (enum scscf_default_handling)h;
    if (info && !(p->service_info = strdup(info))) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    const struct ims_xml_node *ext = ims_xml_child(as, "Extension");
    p->include_register_request = ims_xml_child(ext, "IncludeRegisterRequest") != NULL;
    p->include_register_response = ims_xml_child(ext, "IncludeRegisterResponse") != NULL;
    return 0;
}

/* One InitialFilterCriteria (the @seq-th of its list, for messages); NULL with @why */
static struct ifc *ifc_compile(const struct ims_xml_node *n, int seq, char *why, size_t wl)
{
    struct ifc *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(why, wl, "out of memory");
        return NULL;
    }
    f->refs = 1;
    f->pub.profile_part = SCSCF_PART_ANY;
    if (!parse_int(ims_xml_child_text(n, "Priority"), 0, INT_MAX, &f->pub.priority)) {
        snprintf(why, wl, "iFC #%d: Priority missing or not a number >= 0", seq);
        goto out_free;
    }
    char w[WHY_MAX] = "";
    const char *part = ims_xml_child_text(n, "ProfilePartIndicator");
    int pp = SCSCF_PART_ANY;
    if (part && !parse_int(part, SCSCF_PART_REGISTERED, SCSCF_PART_UNREGISTERED, &pp))
        snprintf(w, sizeof(w), "ProfilePartIndicator '%.20s' is not 0 or 1", part);
    f->pub.profile_part = (enum scscf_profile_part)pp;
    if (w[0] || as_compile(&f->pub, ims_xml_child(n, "ApplicationServer"), w, sizeof(w)) ||
        trigger_compile(f, ims_xml_child(n, "TriggerPoint"), w, sizeof(w))) {
        snprintf(why, wl, "iFC priority %d: %s", f->pub.priority, w);
        goto out_free;
    }
    return f;
out_free:
    ifc_unref(f);
    return NULL;
}

/* Append the InitialFilterCriteria children of @parent to @out (at most @max in all). */
static int ifc_compile_list(const struct ims_xml_node *parent, struct ifc **out, int *n,
                            int max, char *why, size_t wl)
{
    int seq = 0;
    for (const struct ims_xml_node *c = ims_xml_child(parent, "InitialFilterCriteria"); c;
         c = ims_xml_next(c, "InitialFilterCriteria")) {
        if (*n >= max) {
            snprintf(why, wl, "more than %d iFCs", max);
            return -1;
        }
        struct ifc *f = ifc_compile(c, ++seq, why, wl);
        if (!f)
            return -1;
        out[(*n)++] = f;
    }
    return 0;
}

/* ---- matching ---- */

/* SPT @i with ConditionNegated applied; each SPT is evaluated at most once per request */
static bool spt_value(const struct ifc *f, int i, const struct scscf_ifc_ctx *ctx,
                      uint64_t *known, uint64_t *value)
{
    uint64_t bit = UINT64_C(1) << i;
    if (!(*known & bit)) {
        const struct spt *s = &f->spt[i];
        *known |= bit;
        if (s->kind->match(s, ctx) != s->negated)
            *value |= bit;
    }
    return *value & bit;
}

/*
 * CNF: every group must hold an SPT that is true. DNF: some group must have only true SPTs.
 * Both read as: a group is decided by its first SPT equal to @cnf, the trigger point by
 * its first group that differs from @cnf.
 */
static bool trigger_matches(const struct ifc *f, const struct scscf_ifc_ctx *ctx)
{
    uint64_t known = 0, value = 0;
    if (f->pub.unconditional)
        return true;
    for (int g = 0; g < f->ngroups; g++) {
        bool group = !f->cnf;
        for (int i = 0; i < f->nspt; i++) {
            if ((f->groups[g] >> i & 1) && spt_value(f, i, ctx, &known, &value) == f->cnf) {
                group = f->cnf;
                break;
            }
        }
        if (group != f->cnf)
            return !f->cnf;
    }
    return f->cnf;
}

static bool part_fits(const struct scscf_ifc *p, bool registered)
{
    return p->profile_part == SCSCF_PART_ANY ||
           (p->profile_part == SCSCF_PART_REGISTERED) == registered;
}

int scscf_ifc_next(const struct scscf_ifc_set *set, int from, const struct scscf_ifc_ctx *ctx)
{
    if (!set || !ctx)
        return -1;
    for (int i = from < 0 ? 0 : from; i < set->n; i++)
        if (part_fits(&set->ifcs[i]->pub, ctx->registered) && trigger_matches(set->ifcs[i], ctx))
            return i;
    return -1;
}

/* ---- public identities ---- */

/* length of @uri without its parameters and headers (";..." or "?..." after the host) */
static size_t uri_base_len(const char *uri)
{
    const char *at = strchr(uri, '@');
    const char *host = at ? at + 1 : uri;
    return (size_t)(host - uri) + strcspn(host, ";?");
}

/* the digits of a tel: number without visual separators (RFC 3966), into @out */
static bool tel_number(const char *t, char *out, size_t olen)
{
    size_t o = 0;
    for (; *t && *t != ';'; t++) {
        if (strchr("-.()", *t))
            continue;
        if (o + 1 >= olen)
            return false;
        out[o++] = (char)tolower((unsigned char)*t);
    }
    out[o] = '\0';
    return true;
}

static const char *tel_context(const char *t, size_t *n)
{
    const char *c = strcasestr(t, ";phone-context=");
    if (!c) {
        *n = 0;
        return "";
    }
    c += 15;
    *n = strcspn(c, ";");
    return c;
}

static bool tel_equal(const char *a, const char *b)
{
    char na[SCSCF_IFC_AS_MAX], nb[SCSCF_IFC_AS_MAX];
    size_t ca, cb;
    const char *xa = tel_context(a, &ca), *xb = tel_context(b, &cb);
    return tel_number(a, na, sizeof(na)) && tel_number(b, nb, sizeof(nb)) &&
           strcmp(na, nb) == 0 && ca == cb && strncasecmp(xa, xb, ca) == 0;
}

/*
 * Two public identities name the same user: tel: numbers equal without visual separators
 * (and the same phone-context); other URIs (sip:, sips:) with the scheme and host without
 * case, the user part exactly, URI parameters and headers ignored.
 */
static bool identity_equal(const char *a, const char *b)
{
    const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
    if (!ca || !cb || ca - a != cb - b || strncasecmp(a, b, (size_t)(ca - a)) != 0)
        return strcasecmp(a, b) == 0;
    if (strncasecmp(a, "tel:", 4) == 0)
        return tel_equal(a + 4, b + 4);
    size_t la = uri_base_len(a), lb = uri_base_len(b);
    const char *at_a = memchr(a, '@', la), *at_b = memchr(b, '@', lb);
    /* the host follows the '@', or the scheme when there is no user part */
    size_t ha = (size_t)((at_a ? at_a : ca) - a) + 1, hb = (size_t)((at_b ? at_b : cb) - b) + 1;
    return ha == hb && memcmp(ca, cb, ha - (size_t)(ca - a)) == 0 && la - ha == lb - hb &&
           strncasecmp(a + ha, b + hb, la - ha) == 0;
}

/* an identity extension: in @pi or its nested Extension elements */
static const char *extension_text(const struct ims_xml_node *pi, const char *name)
{
    const struct ims_xml_node *n = pi;
    for (int depth = 0; n && depth < EXT_DEPTH; depth++, n = ims_xml_child(n, "Extension")) {
        const char *t = ims_xml_child_text(n, name);
        if (t)
            return t;
    }
    return NULL;
}

/* the "!regex!" form of a wildcarded identity (TS 29.228 IdentityType 2, 3), or NULL */
static const char *wildcard_of(const struct ims_xml_node *pi)
{
    const char *w = extension_text(pi, "WildcardedPSI");
    if (!w || !*w)
        w = extension_text(pi, "WildcardedIMPU");
    if (w && *w)
        return w;
    int type;
    if (parse_int(extension_text(pi, "IdentityType"), 2, 3, &type))
        return ims_xml_child_text(pi, "Identity");
    return NULL;
}

/* TS 23.003 13.5: the part between two '!' is a regex, the rest literal; whole match */
static bool wildcard_matches(const char *pattern, const char *impu)
{
    const char *open = strchr(pattern, '!');
    const char *close = open ? strchr(open + 1, '!') : NULL;
    char re[2 * SCSCF_IFC_REGEX_MAX + 4];
    size_t o = 0;
    if (!close || strlen(pattern) >= SCSCF_IFC_REGEX_MAX)
        return false;
    re[o++] = '^';
    for (const char *p = pattern; *p; p++) {
        if (p == open || p == close)
            continue;
        if ((p < open || p > close) && strchr("\\.[]()*+?{}|^$", *p))
            re[o++] = '\\';
        re[o++] = *p;
    }
    re[o++] = '$';
    re[o] = '\0';
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool hit = regexec(&rx, impu, 0, NULL, 0) == 0;
    size_t base = uri_base_len(impu);
    if (!hit && base < strlen(impu)) {
        char *b = strndup(impu, base);
        hit = b && regexec(&rx, b, 0, NULL, 0) == 0;
        free(b);
    }
    regfree(&rx);
    return hit;
}

/* @impu names this PublicIdentity: in the exact pass, or the wildcard pass */
static bool identity_fits(const struct ims_xml_node *pi, const char *impu, bool wild)
{
    const char *id = ims_xml_child_text(pi, "Identity");
    const char *w = wildcard_of(pi);
    if (wild)
        return w && wildcard_matches(w, impu);
    return id && (strcmp(id, impu) == 0 || (!w && identity_equal(id, impu)));
}

static const struct ims_xml_node *find_profile(const struct ims_xml_node *root,
                                               const char *impu)
{
    for (int pass = 0; pass < 2; pass++)
        for (const struct ims_xml_node *sp = ims_xml_child(root, "ServiceProfile"); sp;
             sp = ims_xml_next(sp, "ServiceProfile"))
            for (const struct ims_xml_node *pi = ims_xml_child(sp, "PublicIdentity"); pi;
                 pi = ims_xml_next(pi, "PublicIdentity"))
                if (identity_fits(pi, impu, pass == 1))
                    return sp;
    return NULL;
}

/* ---- sets ---- */

static const struct shared_set *shared_find(const struct scscf_ifc_shared *sh, int id)
{
    for (int i = 0; sh && i < sh->n; i++)
        if (sh->sets[i].id == id)
            return &sh->sets[i];
    return NULL;
}

static void note_unknown(struct scscf_ifc_set *set, int id)
{
    for (int i = 0; i < set->nunknown && i < UNKNOWN_MAX; i++)
        if (set->unknown[i] == id)
            return;
    if (set->nunknown < UNKNOWN_MAX)
        set->unknown[set->nunknown] = id;
    set->nunknown++;
}

/* the shared sets the profile names (ServiceProfile/Extension/SharedIFCSetID) */
static int add_shared(struct scscf_ifc_set *set, const struct ims_xml_node *sp,
                      const struct scscf_ifc_shared *sh, char *why, size_t wl)
{
    const struct ims_xml_node *ext = ims_xml_child(sp, "Extension");
    int used[SCSCF_IFC_MAX], nused = 0;
    for (const struct ims_xml_node *c = ims_xml_child(ext, "SharedIFCSetID"); c;
         c = ims_xml_next(c, "SharedIFCSetID")) {
        int id, k = 0;
        if (!parse_int(c->text, 0, INT_MAX, &id)) {
            snprintf(why, wl, "SharedIFCSetID '%.20s' is not a number >= 0",
                     c->text ? c->text : "");
            return -1;
        }
        while (k < nused && used[k] != id)
            k++;
        if (k < nused)
            continue;                       /* named twice */
        const struct shared_set *ss = shared_find(sh, id);
        if (!ss) {
            note_unknown(set, id);
            continue;
        }
        if (set->n + ss->n > SCSCF_IFC_MAX || nused == SCSCF_IFC_MAX) {
            snprintf(why, wl, "more than %d iFCs with the shared sets", SCSCF_IFC_MAX);
            return -1;
        }
        used[nused++] = id;
        for (int i = 0; i < ss->n; i++) {
            ss->ifcs[i]->refs++;
            set->ifcs[set->n++] = ss->ifcs[i];
        }
    }
    return 0;
}

/* stable: equal priorities keep their order */
static void sort_by_priority(struct scscf_ifc_set *set)
{
    for (int i = 1; i < set->n; i++) {
        struct ifc *f = set->ifcs[i];
        int j = i;
        while (j > 0 && set->ifcs[j - 1]->pub.priority > f->pub.priority) {
            set->ifcs[j] = set->ifcs[j - 1];
            j--;
        }
        set->ifcs[j] = f;
    }
}

static void unknown_warning(const struct scscf_ifc_set *set, char *err, size_t errlen)
{
    size_t o = (size_t)snprintf(err, errlen, "unknown SharedIFCSetID");
    for (int i = 0; i < set->nunknown && i < UNKNOWN_MAX && o < errlen; i++)
        o += (size_t)snprintf(err + o, errlen - o, "%s %d", i ? "," : "", set->unknown[i]);
    if (o < errlen)
        snprintf(err + o, errlen - o, "%s (skipped)", set->nunknown > UNKNOWN_MAX ? " ..." : "");
}

/* parse @len bytes of XML whose root must be @root_name; @err is "" or why not */
static struct ims_xml_node *parse_doc(const char *xml, size_t len, const char *root_name,
                                      char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!xml || len > SCSCF_IFC_DOC_MAX) {
        snprintf(err, errlen, xml ? "document larger than %d bytes" : "no document",
                 SCSCF_IFC_DOC_MAX);
        return NULL;
    }
    struct ims_xml_node *root = ims_xml_parse(xml, len, err, errlen);
    if (root && !ims_xml_is(root, root_name)) {
        snprintf(err, errlen, "the root element is <%.40s>, not <%s>", root->name, root_name);
        ims_xml_free(root);
        root = NULL;
    }
    return root;
}

/* @set in an allocation sized to its iFCs (@set freed); @set itself when out of memory */
static struct scscf_ifc_set *fit(struct scscf_ifc_set *set)
{
    size_t size = sizeof(*set) + (size_t)set->n * sizeof(set->ifcs[0]);
    struct scscf_ifc_set *fitted = malloc(size);
    if (!fitted)
        return set;
    memcpy(fitted, set, size);
    free(set);
    return fitted;
}

struct scscf_ifc_set *scscf_ifc_parse(const char *xml, size_t len, const char *impu,
                                      const struct scscf_ifc_shared *shared, char *err,
                                      size_t errlen)
{
    char why[WHY_MAX];
    struct ims_xml_node *root = parse_doc(xml, len, "IMSSubscription", err, errlen);
    if (!root)
        return NULL;
    struct scscf_ifc_set *set =
        calloc(1, sizeof(*set) + SCSCF_IFC_MAX * sizeof(set->ifcs[0]));
    if (!set || !impu) {
        snprintf(err, errlen, set ? "no public identity given" : "out of memory");
        goto out_set;
    }
    const struct ims_xml_node *sp = find_profile(root, impu);
    if (!sp) {
        snprintf(err, errlen, "no ServiceProfile lists %s", impu);
        goto out_root;
    }
    set->found = true;
    if (ifc_compile_list(sp, set->ifcs, &set->n, SCSCF_IFC_MAX, why, sizeof(why)) ||
        add_shared(set, sp, shared, why, sizeof(why))) {
        snprintf(err, errlen, "%s", why);
        goto out_set;
    }
    sort_by_priority(set);
    if (set->nunknown)
        unknown_warning(set, err, errlen);
    set = fit(set);
    goto out_root;
out_set:
    scscf_ifc_free(set);
    set = NULL;
out_root:
    ims_xml_free(root);
    return set;
}

void scscf_ifc_free(struct scscf_ifc_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->n; i++)
        ifc_unref(set->ifcs[i]);
    free(set);
}

int scscf_ifc_count(const struct scscf_ifc_set *set)
{
    return set ? set->n : 0;
}

const struct scscf_ifc *scscf_ifc_get(const struct scscf_ifc_set *set, int i)
{
    return set && i >= 0 && i < set->n ? &set->ifcs[i]->pub : NULL;
}

bool scscf_ifc_profile_found(const struct scscf_ifc_set *set)
{
    return set && set->found;
}

int scscf_ifc_unknown_shared(const struct scscf_ifc_set *set, int *ids, int max)
{
    if (!set)
        return 0;
    for (int i = 0; i < max && i < set->nunknown && i < UNKNOWN_MAX; i++)
        ids[i] = set->unknown[i];
    return set->nunknown;
}

/* ---- shared iFC sets ---- */

static int shared_set_compile(struct shared_set *ss, const struct ims_xml_node *n,
                              const struct scscf_ifc_shared *sh, char *err, size_t errlen)
{
    char why[WHY_MAX];
    if (!parse_int(ims_xml_child_text(n, "SetID"), 0, INT_MAX, &ss->id)) {
        snprintf(err, errlen, "SharedIFCSet #%d: SetID missing or not a number >= 0",
                 sh->n + 1);
        return -1;
    }
    if (shared_find(sh, ss->id)) {
        snprintf(err, errlen, "SharedIFCSet %d: SetID given twice", ss->id);
        return -1;
    }
    int count = count_children(n, "InitialFilterCriteria");
    if (count > SCSCF_IFC_MAX) {
        snprintf(err, errlen, "SharedIFCSet %d: more than %d iFCs", ss->id, SCSCF_IFC_MAX);
        return -1;
    }
    ss->ifcs = calloc((size_t)count + 1, sizeof(*ss->ifcs));
    if (!ss->ifcs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ifc_compile_list(n, ss->ifcs, &ss->n, count, why, sizeof(why))) {
        snprintf(err, errlen, "SharedIFCSet %d: %s", ss->id, why);
        return -1;
    }
    return 0;
}

struct scscf_ifc_shared *scscf_ifc_shared_parse(const char *xml, size_t len, char *err,
                                                size_t errlen)
{
    struct ims_xml_node *root = parse_doc(xml, len, "SharedIFCSets", err, errlen);
    if (!root)
        return NULL;
    struct scscf_ifc_shared *sh = calloc(1, sizeof(*sh));
    int count = count_children(root, "SharedIFCSet");
    if (!sh || count > SHARED_SETS_MAX ||
        !(sh->sets = calloc((size_t)count + 1, sizeof(*sh->sets)))) {
        snprintf(err, errlen, count > SHARED_SETS_MAX ? "more than 1024 shared iFC sets"
                                                      : "out of memory");
        goto out_shared;
    }
    for (const struct ims_xml_node *c = ims_xml_child(root, "SharedIFCSet"); c;
         c = ims_xml_next(c, "SharedIFCSet")) {
        int rc = shared_set_compile(&sh->sets[sh->n], c, sh, err, errlen);
        sh->n++;                            /* freed with the others, even when failed */
        if (rc)
            goto out_shared;
    }
    goto out_root;
out_shared:
    scscf_ifc_shared_free(sh);
    sh = NULL;
out_root:
    ims_xml_free(root);
    return sh;
}

struct scscf_ifc_shared *scscf_ifc_shared_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct scscf_ifc_shared *sh = NULL;
    char *buf = malloc(SCSCF_IFC_DOC_MAX + 1);
    size_t n = buf ? fread(buf, 1, SCSCF_IFC_DOC_MAX + 1, f) : 0;
    if (!buf)
        snprintf(err, errlen, "out of memory");
    else if (ferror(f))
        snprintf(err, errlen, "read error");
    else if (n > SCSCF_IFC_DOC_MAX)
        snprintf(err, errlen, "larger than %d bytes", SCSCF_IFC_DOC_MAX);
    else
        sh = scscf_ifc_shared_parse(buf, n, err, errlen);
    free(buf);
    fclose(f);
    return sh;
}

void scscf_ifc_shared_free(struct scscf_ifc_shared *sh)
{
    if (!sh)
        return;
    for (int i = 0; i < sh->n; i++) {
        for (int j = 0; j < sh->sets[i].n; j++)
            ifc_unref(sh->sets[i].ifcs[j]);
        free(sh->sets[i].ifcs);
    }
    free(sh->sets);
    free(sh);
}

int scscf_ifc_shared_count(const struct scscf_ifc_shared *sh)
{
    return sh ? sh->n : 0;
}
