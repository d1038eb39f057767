/*
 * megaco.c - H.248.1 text encoding (Annex B): a reader that turns the text into a tree of
 * items (name [= value] [{ items }]) and then into the message model, and a writer
 *
 * Every construct of Annex B the MGCF meets has that one shape, except Local and Remote
 * whose braces hold an octet string (SDP, a '}' in it escaped as "\}"), the message header
 * (MEGACO/1 mId) and the transaction list (items without commas). Reading is network
 * input: depth, item count and lengths are bounded, nothing is read past @len.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "megaco.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEPTH_MAX  16
#define NODES_MAX  4096

/* ---------------------------------------------------------------- names */

/* Each keyword with its long and short form (Annex B.2 tokens) */
struct kw {
    const char *lng, *shrt;
};

static const struct kw cmd_kw[] = {
    [MGCF_MG_ADD] = {"Add", "A"},
    [MGCF_MG_MOVE] = {"Move", "MV"},
    [MGCF_MG_MODIFY] = {"Modify", "MF"},
    [MGCF_MG_SUBTRACT] = {"Subtract", "S"},
    [MGCF_MG_AUDIT_VALUE] = {"AuditValue", "AV"},
    [MGCF_MG_AUDIT_CAP] = {"AuditCapability", "AC"},
    [MGCF_MG_NOTIFY] = {"Notify", "N"},
    [MGCF_MG_SERVICE_CHANGE] = {"ServiceChange", "SC"},
};

static const struct kw mode_kw[] = {
    [MGCF_MG_MODE_NONE] = {NULL, NULL},
    [MGCF_MG_MODE_SENDONLY] = {"SendOnly", "SO"},
    [MGCF_MG_MODE_RECVONLY] = {"ReceiveOnly", "RC"},
    [MGCF_MG_MODE_SENDRECV] = {"SendReceive", "SR"},
    [MGCF_MG_MODE_INACTIVE] = {"Inactive", "IN"},
    [MGCF_MG_MODE_LOOPBACK] = {"Loopback", "LB"},
};

static const struct kw method_kw[] = {
    [MGCF_MG_SC_NONE] = {NULL, NULL},
    [MGCF_MG_SC_FAILOVER] = {"Failover", "FL"},
    [MGCF_MG_SC_FORCED] = {"Forced", "FO"},
    [MGCF_MG_SC_GRACEFUL] = {"Graceful", "GR"},
    [MGCF_MG_SC_RESTART] = {"Restart", "RS"},
    [MGCF_MG_SC_DISCONNECTED] = {"Disconnected", "DC"},
    [MGCF_MG_SC_HANDOFF] = {"HandOff", "HO"},
};

/* audit items in bit order of MGCF_MG_AUDIT_* */
static const struct kw audit_kw[] = {
    {"Media", "M"},       {"Statistics", "SA"},   {"Packages", "PG"},
    {"Events", "E"},      {"Signals", "SG"},      {"ObservedEvents", "OE"},
    {"DigitMap", "DM"},   {"Modem", "MD"},        {"Mux", "MX"},
    {"EventBuffer", "EB"},
};

static const struct kw KW_TRANSACTION = {"Transaction", "T"};
static const struct kw KW_REPLY = {"Reply", "P"};
static const struct kw KW_PENDING = {"Pending", "PN"};
static const struct kw KW_ACK = {"TransactionResponseAck", "K"};
static const struct kw KW_CONTEXT = {"Context", "C"};
static const struct kw KW_ERROR = {"Error", "ER"};
static const struct kw KW_IMMACK = {"ImmAckRequired", "IA"};
static const struct kw KW_MEDIA = {"Media", "M"};
static const struct kw KW_STREAM = {"Stream", "ST"};
static const struct kw KW_LOCALCONTROL = {"LocalControl", "O"};
static const struct kw KW_MODE = {"Mode", "MO"};
static const struct kw KW_LOCAL = {"Local", "L"};
static const struct kw KW_REMOTE = {"Remote", "R"};
static const struct kw KW_STATS = {"Statistics", "SA"};
static const struct kw KW_AUDIT = {"Audit", "AT"};
static const struct kw KW_OBSERVED = {"ObservedEvents", "OE"};
static const struct kw KW_SERVICES = {"Services", "SV"};
static const struct kw KW_METHOD = {"Method", "MT"};
static const struct kw KW_REASON = {"Reason", "RE"};
static const struct kw KW_DELAY = {"Delay", "DL"};
static const struct kw KW_ADDRESS = {"ServiceChangeAddress", "AD"};
static const struct kw KW_PROFILE = {"Profile", "PF"};
static const struct kw KW_VERSION = {"Version", "V"};
static const struct kw KW_MGCID = {"MgcIdToTry", "MG"};
static const struct kw KW_PACKAGES = {"Packages", "PG"};

static bool is_kw(const char *s, const struct kw *k)
{
    return s && k->lng && (strcasecmp(s, k->lng) == 0 || strcasecmp(s, k->shrt) == 0);
}

/* is the word of @len bytes at @s (not yet terminated) keyword @k? */
static bool word_is(const char *s, size_t len, const struct kw *k)
{
    return (strlen(k->lng) == len && strncasecmp(s, k->lng, len) == 0) ||
           (strlen(k->shrt) == len && strncasecmp(s, k->shrt, len) == 0);
}

/* index of @s in @table of @n keywords, or -1 */
static int kw_index(const char *s, const struct kw *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_kw(s, &table[i]))
            return (int)i;
    return -1;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *mgcf_mg_cmd_name(enum mgcf_mg_cmd_type type)
{
    return (size_t)type < COUNT(cmd_kw) ? cmd_kw[type].lng : NULL;
}

const char *mgcf_mg_mode_name(enum mgcf_mg_mode mode)
{
    return (size_t)mode < COUNT(mode_kw) ? mode_kw[mode].lng : NULL;
}

const char *mgcf_mg_method_name(enum mgcf_mg_sc_method method)
{
    return (size_t)method < COUNT(method_kw) ? method_kw[method].lng : NULL;
}

const char *mgcf_mg_stat(const struct mgcf_mg_cmd *c, const char *name)
{
    for (unsigned i = 0; i < c->n_stats; i++)
        if (strcasecmp(c->stats[i].name, name) == 0)
            return c->stats[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- model building */

void mgcf_mg_init(struct mgcf_mg_msg *m, unsigned version, const char *mid)
{
    memset(m, 0, sizeof(*m));
    m->version = version;
    m->mid = mid;
}

struct mgcf_mg_trans *mgcf_mg_add_trans(struct mgcf_mg_msg *m, enum mgcf_mg_trans_type type,
                                        uint32_t id)
{
    if (m->n_trans >= MGCF_MG_TRANS_MAX)
        return NULL;
    struct mgcf_mg_trans *t = &m->trans[m->n_trans++];
    memset(t, 0, sizeof(*t));
    t->type = type;
    t->id = t->id_last = id;
    t->first_action = m->n_actions;
    return t;
}

struct mgcf_mg_action *mgcf_mg_add_action(struct mgcf_mg_msg *m, uint32_t context)
{
    if (m->n_trans == 0 || m->n_actions >= MGCF_MG_ACTIONS_MAX)
        return NULL;
    struct mgcf_mg_trans *t = &m->trans[m->n_trans - 1];
    if (t->type != MGCF_MG_REQUEST && t->type != MGCF_MG_REPLY)
        return NULL;
    struct mgcf_mg_action *a = &m->actions[m->n_actions++];
    memset(a, 0, sizeof(*a));
    a->context = context;
    a->first_cmd = m->n_cmds;
    t->n_actions++;
    return a;
}

struct mgcf_mg_cmd *mgcf_mg_add_cmd(struct mgcf_mg_msg *m, enum mgcf_mg_cmd_type type,
                                    const char *tid)
{
    if (m->n_trans == 0 || m->trans[m->n_trans - 1].n_actions == 0 ||
        m->n_cmds >= MGCF_MG_CMDS_MAX)
        return NULL;
    struct mgcf_mg_action *a = &m->actions[m->n_actions - 1];
    struct mgcf_mg_cmd *c = &m->cmds[m->n_cmds++];
    memset(c, 0, sizeof(*c));
    c->type = type;
    c->tid = tid;
    a->n_cmds++;
    return c;
}

/* ---------------------------------------------------------------- reader: text -> items */

struct node {
    char *name;                 /* a token, or a quoted string without its quotes */
    char *value;                /* after '=', or the octet string of Local / Remote */
    size_t name_len, value_len; /* cut out in place once the whole text is read */
    bool name_quoted, value_quoted;
    bool octets;                /* value is an octet string, already terminated */
    bool braces;                /* had { } (possibly empty) */
    struct node *child, *next;
};

struct reader {
    char *s;                    /* the copy: tokens are cut out of it in place */
    size_t len, pos;
    struct node *nodes;
    size_t n_nodes, nodes_max;
    char *err;
    size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *r, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(r->err, r->errlen, "at %zu: ", r->pos);
        if (n >= 0 && (size_t)n < r->errlen)
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* SafeChar of Annex B plus the characters of an mId and of a timestamped event name */
static bool tok_char(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= 'A' && c <= 'Z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c && strchr("+-&!_/'?@^`~*$\\()%|.:[]<>#", c) != NULL;
}

/* LWSP: blanks, line ends and comments (';' to the end of the line) */
static void skip_lwsp(struct reader *r)
{
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            r->pos++;
        } else if (c == ';') {
            while (r->pos < r->len && r->s[r->pos] != '\n' && r->s[r->pos] != '\r')
                r->pos++;
        } else {
            break;
        }
    }
}

static bool peek(struct reader *r, char c)
{
    skip_lwsp(r);
    return r->pos < r->len && r->s[r->pos] == c;
}

/* A token or a quoted string: where it starts, its length, whether it was quoted */
static int read_word(struct reader *r, char **out, size_t *wlen, bool *quoted)
{
    skip_lwsp(r);
    if (r->pos >= r->len)
        return fail(r, "a name is missing");
    *quoted = r->s[r->pos] == '"';
    if (*quoted) {
        size_t start = ++r->pos;
        while (r->pos < r->len && r->s[r->pos] != '"') {
            unsigned char c = (unsigned char)r->s[r->pos];
            if (c < 0x20 && c != '\t')
                return fail(r, "control character in a quoted string");
            r->pos++;
        }
        if (r->pos >= r->len)
            return fail(r, "unterminated quoted string");
        *out = r->s + start;
        *wlen = r->pos - start;
        r->pos++;
        return 0;
    }
    size_t start = r->pos;
    while (r->pos < r->len && tok_char((unsigned char)r->s[r->pos]))
        r->pos++;
    if (r->pos == start)
        return fail(r, "unexpected character 0x%02x", (unsigned char)r->s[r->pos]);
    *out = r->s + start;
    *wlen = r->pos - start;
    return 0;
}

static bool lwsp_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The octet string of Local / Remote after its '{': up to the '}' not escaped; "\}" becomes
 * '}' in place. The line break after '{' and the indentation before '}' are not part of
 * it. Leaves pos after the '}'.
 */
static int read_octets(struct reader *r, char **out)
{
    while (r->pos < r->len && lwsp_char(r->s[r->pos]))
        r->pos++;
    size_t start = r->pos, w = r->pos;
    while (r->pos < r->len && r->s[r->pos] != '}') {
        if (r->s[r->pos] == '\\' && r->pos + 1 < r->len && r->s[r->pos + 1] == '}')
            r->pos++;
        if (r->s[r->pos] == '\0')
            return fail(r, "NUL in an octet string");
        r->s[w++] = r->s[r->pos++];
    }
    if (r->pos >= r->len)
        return fail(r, "unterminated octet string");
    r->pos++;
    while (w > start && (r->s[w - 1] == ' ' || r->s[w - 1] == '\t'))
        w--;
    r->s[w] = '\0';             /* w < pos: the terminator lands on a consumed byte */
    *out = r->s + start;
    return 0;
}

static int read_items(struct reader *r, int depth, bool commas, struct node **first);

/* One item: name [= value] [{ items }] */
static int read_item(struct reader *r, int depth, struct node **out)
{
    if (r->n_nodes >= r->nodes_max)
        return fail(r, "more than %zu items", r->nodes_max);
    struct node *n = &r->nodes[r->n_nodes++];
    memset(n, 0, sizeof(*n));
    *out = n;
    int rc = read_word(r, &n->name, &n->name_len, &n->name_quoted);
    if (rc)
        return rc;
    if (peek(r, '=')) {
        r->pos++;
        if ((rc = read_word(r, &n->value, &n->value_len, &n->value_quoted)))
            return rc;
    }
    if (!peek(r, '{'))
        return 0;
    r->pos++;
    n->braces = true;
    if (!n->name_quoted && (word_is(n->name, n->name_len, &KW_LOCAL) ||
                            word_is(n->name, n->name_len, &KW_REMOTE))) {
        if (n->value)
            return fail(r, "Local or Remote with a value");
        n->octets = true;
        return read_octets(r, &n->value);
    }
    if (depth >= DEPTH_MAX)
        return fail(r, "nested deeper than %d", DEPTH_MAX);
    if ((rc = read_items(r, depth + 1, true, &n->child)))
        return rc;
    if (!peek(r, '}'))
        return fail(r, "'}' expected");
    r->pos++;
    return 0;
}

/* Once everything is read, the words are cut out: their delimiters are no longer needed */
static void terminate_words(struct reader *r)
{
    for (size_t i = 0; i < r->n_nodes; i++) {
        struct node *n = &r->nodes[i];
        n->name[n->name_len] = '\0';
        if (n->value && !n->octets)
            n->value[n->value_len] = '\0';
    }
}

/* Items up to '}' (inside braces: separated by commas) or the end (top level) */
static int read_items(struct reader *r, int depth, bool commas, struct node **first)
{
    struct node **tail = first;
    *first = NULL;
    for (;;) {
        skip_lwsp(r);
        if (r->pos >= r->len || r->s[r->pos] == '}')
            return 0;
        if (commas && *first) {
            if (r->s[r->pos] != ',')
                return fail(r, "',' expected");
            r->pos++;
        }
        struct node *n = NULL;
        int rc = read_item(r, depth, &n);
        if (rc)
            return rc;
        *tail = n;
        tail = &n->next;
    }
}

/* MEGACO/v or !/v, a separator, the mId (its length in *@mid_len: cut out later) */
static int read_header(struct reader *r, struct mgcf_mg_msg *m, size_t *mid_len)
{
    char *w, *mid;
    size_t wlen;
    bool quoted;
    skip_lwsp(r);
    int rc = read_word(r, &w, &wlen, &quoted);
    if (rc)
        return rc;
    size_t plen = quoted                                          ? 0
                  : wlen > 7 && strncasecmp(w, "MEGACO/", 7) == 0 ? 7
                  : wlen > 2 && strncmp(w, "!/", 2) == 0          ? 2 : 0;
    if (plen == 0 || wlen - plen > 2)
        return fail(r, "not a MEGACO/<version> header");
    unsigned v = 0;
    for (size_t i = plen; i < wlen; i++) {
        if (w[i] < '0' || w[i] > '9')
            return fail(r, "bad version");
        v = v * 10 + (unsigned)(w[i] - '0');
    }
    if (v < 1 || v > 3)
        return fail(r, "version %u not supported", v);
    m->version = v;
    size_t before = r->pos;
    skip_lwsp(r);
    if (r->pos == before)
        return fail(r, "no separator after the version");
    if ((rc = read_word(r, &mid, mid_len, &quoted)))
        return rc;
    if (quoted)
        return fail(r, "quoted mId");
    before = r->pos;
    skip_lwsp(r);
    if (r->pos == before && r->pos < r->len)
        return fail(r, "no separator after the mId");
    m->mid = mid;
    return 0;
}

/* ---------------------------------------------------------------- items -> model */

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > 0xffffffffu)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static int read_error(struct reader *r, const struct node *n, struct mgcf_mg_error *e)
{
    uint32_t code;
    if (n->value_quoted || !parse_u32(n->value, &code) || code == 0 || code > 9999)
        return fail(r, "bad error code");
    e->code = code;
    e->text = n->child ? n->child->name : NULL;
    return 0;
}

static int read_stats(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    for (const struct node *s = n->child; s; s = s->next) {
        if (s->name_quoted || s->braces)
            return fail(r, "bad statistic");
        if (c->n_stats >= MGCF_MG_STATS_MAX)
            return -E2BIG;
        c->stats[c->n_stats++] = (struct mgcf_mg_param){s->name, s->value};
    }
    return 0;
}

/* LocalControl, Local, Remote, Statistics of one stream */
static int read_stream_parms(struct reader *r, const struct node *first, struct mgcf_mg_cmd *c)
{
    for (const struct node *p = first; p; p = p->next) {
        if (is_kw(p->name, &KW_LOCALCONTROL)) {
            for (const struct node *q = p->child; q; q = q->next) {
                if (!is_kw(q->name, &KW_MODE))
                    continue;   /* properties and reserve flags: not kept */
                int mode = kw_index(q->value, mode_kw, COUNT(mode_kw));
                if (mode <= 0)
                    return fail(r, "bad stream mode");
                c->mode = (enum mgcf_mg_mode)mode;
            }
        } else if (is_kw(p->name, &KW_LOCAL)) {
            c->local = p->value;
        } else if (is_kw(p->name, &KW_REMOTE)) {
            c->remote = p->value;
        } else if (is_kw(p->name, &KW_STATS)) {
            int rc = read_stats(r, p, c);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/*
 * A Media descriptor: its first stream kept (mode, Local, Remote), statistics anywhere in
 * it added to the command's. c->media is set when a mode, Local or Remote was found.
 */
static int read_media(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    int rc = read_stream_parms(r, n->child, c);
    if (rc)
        return rc;
    for (const struct node *p = n->child; p; p = p->next) {
        if (!is_kw(p->name, &KW_STREAM) || c->stream)
            continue;           /* the first stream is the one kept */
        uint32_t id;
        if (!parse_u32(p->value, &id) || id == 0 || id > 0xffff)
            return fail(r, "bad stream ID");
        c->stream = id;
        if ((rc = read_stream_parms(r, p->child, c)))
            return rc;
    }
    c->media = c->mode != MGCF_MG_MODE_NONE || c->local || c->remote;
    if (!c->media)
        c->stream = 0;
    return 0;
}

static int read_audit(const struct node *n, struct mgcf_mg_cmd *c)
{
    c->audit = true;
    for (const struct node *p = n->child; p; p = p->next) {
        int i = kw_index(p->name, audit_kw, COUNT(audit_kw));
        if (i >= 0)
            c->audit_items |= 1u << i;
    }
    return 0;
}

static int read_observed(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    if (n->value_quoted || !parse_u32(n->value, &c->request_id) || !n->child)
        return fail(r, "bad observed events descriptor");
    for (const struct node *e = n->child; e; e = e->next) {
        if (e->name_quoted || e->value)
            return fail(r, "bad observed event");
        if (c->n_events >= MGCF_MG_EVENTS_MAX)
            return -E2BIG;
        struct mgcf_mg_event *ev = &c->events[c->n_events++];
        ev->name = e->name;
        for (const struct node *p = e->child; p; p = p->next) {
            if (p->name_quoted || p->braces)
                return fail(r, "bad event parameter");
            if (ev->n_params >= MGCF_MG_EVPARMS_MAX)
                return -E2BIG;
            ev->params[ev->n_params++] = (struct mgcf_mg_param){p->name, p->value};
        }
    }
    return 0;
}

static bool is_timestamp(const char *s)
{
    size_t n = strlen(s);
    if (n != 17 || (s[8] != 'T' && s[8] != 't'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

/* A ServiceChange parameter whose value is a token (mId, port, profile) */
static int sc_token(struct reader *r, const struct node *p, const char **out)
{
    if (!p->value || p->value_quoted)
        return fail(r, "%s without a token value", p->name);
    *out = p->value;
    return 0;
}

/* A Services descriptor; c->services is set when a parameter of the model was in it */
static int read_services(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    for (const struct node *p = n->child; p; p = p->next) {
        int rc = 0;
        uint32_t v;
        if (p->name_quoted || p->braces)
            rc = fail(r, "bad ServiceChange parameter");
        else if (is_kw(p->name, &KW_METHOD)) {
            int i = kw_index(p->value, method_kw, COUNT(method_kw));
            if (i <= 0)
                return fail(r, "bad ServiceChange method");
            c->method = (enum mgcf_mg_sc_method)i;
        } else if (is_kw(p->name, &KW_REASON)) {
            if (!p->value)
                return fail(r, "Reason without a value");
            c->reason = p->value;
        } else if (is_kw(p->name, &KW_DELAY)) {
            if (p->value_quoted || !parse_u32(p->value, &c->delay))
                return fail(r, "bad delay");
            c->has_delay = true;
        } else if (is_kw(p->name, &KW_ADDRESS)) {
            rc = sc_token(r, p, &c->address);
        } else if (is_kw(p->name, &KW_PROFILE)) {
            rc = sc_token(r, p, &c->profile);
        } else if (is_kw(p->name, &KW_MGCID)) {
            rc = sc_token(r, p, &c->mgc_id);
        } else if (is_kw(p->name, &KW_VERSION)) {
            if (p->value_quoted || !parse_u32(p->value, &v) || v < 1 || v > 99)
                return fail(r, "bad version");
            c->version = v;
        } else if (!p->value && is_timestamp(p->name)) {
            c->timestamp = p->name;
        }                       /* extensions and the rest: not kept */
        if (rc)
            return rc;
    }
    c->services = c->method || c->reason || c->has_delay || c->address || c->profile ||
                  c->mgc_id || c->version || c->timestamp;
    return 0;
}

static int read_packages(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    for (const struct node *p = n->child; p; p = p->next) {
        if (p->name_quoted || p->value || p->braces)
            return fail(r, "bad package item");
        if (c->n_pkgs >= MGCF_MG_PKGS_MAX)
            return -E2BIG;
        c->pkgs[c->n_pkgs++] = p->name;
    }
    return 0;
}

/* The descriptors of a command (request or reply) */
static int read_descriptors(struct reader *r, const struct node *n, struct mgcf_mg_cmd *c)
{
    for (const struct node *d = n->child; d; d = d->next) {
        int rc = 0;
        if (is_kw(d->name, &KW_MEDIA))
            rc = read_media(r, d, c);
        else if (is_kw(d->name, &KW_STATS))
            rc = read_stats(r, d, c);
        else if (is_kw(d->name, &KW_AUDIT))
            rc = read_audit(d, c);
        else if (is_kw(d->name, &KW_OBSERVED))
            rc = read_observed(r, d, c);
        else if (is_kw(d->name, &KW_SERVICES))
            rc = read_services(r, d, c);
        else if (is_kw(d->name, &KW_PACKAGES))
            rc = read_packages(r, d, c);
        else if (is_kw(d->name, &KW_ERROR))
            rc = read_error(r, d, &c->error);
        if (rc)
            return rc;
    }
    return 0;
}

/* A command: [O-][W-]Name = TerminationID [{ descriptors }]; 1 if @n is not a command */
static int read_command(struct reader *r, struct mgcf_mg_msg *m, const struct node *n)
{
    const char *name = n->name;
    if (n->name_quoted)
        return fail(r, "quoted string in a context");
    bool opt = false, wild = false;
    for (;;) {
        if (strncasecmp(name, "O-", 2) == 0 && !opt)
            opt = true;
        else if (strncasecmp(name, "W-", 2) == 0 && !wild)
            wild = true;
        else
            break;
        name += 2;
    }
    int type = kw_index(name, cmd_kw, COUNT(cmd_kw));
    if (type < 0) {
        if (opt || wild)
            return fail(r, "unknown command %s", n->name);
        return 1;               /* a context property or another item: skipped */
    }
    if (!n->value || n->value_quoted)
        return fail(r, "%s without a termination ID", name);
    struct mgcf_mg_cmd *c = mgcf_mg_add_cmd(m, (enum mgcf_mg_cmd_type)type, n->value);
    if (!c)
        return -E2BIG;
    c->optional = opt;
    c->wildcard_reply = wild;
    return read_descriptors(r, n, c);
}

static int read_context_id(struct reader *r, const char *v, uint32_t *out)
{
    if (v && strcmp(v, "-") == 0)
        *out = MGCF_MG_CTX_NULL;
    else if (v && strcmp(v, "$") == 0)
        *out = MGCF_MG_CTX_CHOOSE;
    else if (v && strcmp(v, "*") == 0)
        *out = MGCF_MG_CTX_ALL;
    else if (!parse_u32(v, out) || *out == MGCF_MG_CTX_CHOOSE || *out == MGCF_MG_CTX_ALL)
        return fail(r, "bad context ID");
    return 0;
}

static int read_action(struct reader *r, struct mgcf_mg_msg *m, const struct node *n)
{
    uint32_t ctx = 0;
    int rc = n->value_quoted ? fail(r, "quoted context ID") : read_context_id(r, n->value, &ctx);
    if (rc)
        return rc;
    if (!n->braces)
        return fail(r, "context without braces");
    struct mgcf_mg_action *a = mgcf_mg_add_action(m, ctx);
    if (!a)
        return -E2BIG;
    for (const struct node *c = n->child; c; c = c->next) {
        if (is_kw(c->name, &KW_ERROR) && !c->name_quoted) {
            if ((rc = read_error(r, c, &a->error)))
                return rc;
            continue;
        }
        if ((rc = read_command(r, m, c)) < 0)
            return rc;
    }
    if (a->n_cmds == 0 && a->error.code == 0)
        return fail(r, "context without a command");
    return 0;
}

static int read_ack(struct reader *r, struct mgcf_mg_msg *m, const struct node *n)
{
    for (const struct node *a = n->child; a; a = a->next) {
        char *dash = strchr(a->name, '-');
        uint32_t first, last;
        if (dash)
            *dash = '\0';
        bool ok = parse_u32(a->name, &first) && (dash ? parse_u32(dash + 1, &last)
                                                      : (last = first, true));
        if (dash)
            *dash = '-';
        if (!ok || first == 0 || last < first || a->value || a->braces || a->name_quoted)
            return fail(r, "bad transaction ack");
        struct mgcf_mg_trans *t = mgcf_mg_add_trans(m, MGCF_MG_ACK, first);
        if (!t)
            return -E2BIG;
        t->id_last = last;
    }
    return n->child ? 0 : fail(r, "empty transaction ack");
}

static int read_transaction(struct reader *r, struct mgcf_mg_msg *m, const struct node *n)
{
    enum mgcf_mg_trans_type type;
    if (n->name_quoted)
        return fail(r, "quoted string for a transaction");
    if (is_kw(n->name, &KW_TRANSACTION))
        type = MGCF_MG_REQUEST;
    else if (is_kw(n->name, &KW_REPLY))
        type = MGCF_MG_REPLY;
    else if (is_kw(n->name, &KW_PENDING))
        type = MGCF_MG_PENDING;
    else if (is_kw(n->name, &KW_ACK))
        return read_ack(r, m, n);
    else
        return fail(r, "unknown transaction %s", n->name);
    uint32_t id;
    if (n->value_quoted || !parse_u32(n->value, &id) || id == 0)
        return fail(r, "bad transaction ID");
    if (!n->braces)
        return fail(r, "transaction without braces");
    struct mgcf_mg_trans *t = mgcf_mg_add_trans(m, type, id);
    if (!t)
        return -E2BIG;
    for (const struct node *c = n->child; c; c = c->next) {
        int rc = 0;
        if (type == MGCF_MG_PENDING)
            return fail(r, "pending with content");
        if (type == MGCF_MG_REPLY && is_kw(c->name, &KW_IMMACK) && !c->value && c == n->child)
            t->imm_ack = true;
        else if (type == MGCF_MG_REPLY && is_kw(c->name, &KW_ERROR))
            rc = read_error(r, c, &t->error);
        else if (is_kw(c->name, &KW_CONTEXT))
            rc = read_action(r, m, c);
        else
            rc = fail(r, "unexpected %s in a transaction", c->name);
        if (rc)
            return rc;
    }
    if (type != MGCF_MG_PENDING && t->n_actions == 0 && t->error.code == 0)
        return fail(r, "transaction without a context");
    return 0;
}

static int read_body(struct reader *r, struct mgcf_mg_msg *m, const struct node *first)
{
    if (!first)
        return fail(r, "no transaction");
    if (is_kw(first->name, &KW_ERROR) && !first->name_quoted) {
        if (first->next)
            return fail(r, "more after a message error");
        return read_error(r, first, &m->error);
    }
    for (const struct node *n = first; n; n = n->next) {
        int rc = read_transaction(r, m, n);
        if (rc)
            return rc;
    }
    return 0;
}

int mgcf_mg_decode(const char *text, size_t len, struct mgcf_mg_msg **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (len > MGCF_MG_TEXT_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "longer than %d bytes", MGCF_MG_TEXT_MAX);
        return -EINVAL;
    }
    struct mgcf_mg_msg *m = calloc(1, sizeof(*m));
    struct reader r = {.len = len, .err = err, .errlen = errlen};
    r.s = malloc(len + 1);
    r.nodes_max = len / 2 + 2;   /* an item takes a character and a delimiter at least */
    if (r.nodes_max > NODES_MAX)
        r.nodes_max = NODES_MAX;
    r.nodes = malloc(r.nodes_max * sizeof(*r.nodes));
    int rc = -ENOMEM;
    if (!m || !r.s || !r.nodes)
        goto out_free;
    memcpy(r.s, text, len);
    r.s[len] = '\0';
    m->text = r.s;
    struct node *first;
    size_t mid_len;
    if ((rc = read_header(&r, m, &mid_len)) || (rc = read_items(&r, 0, false, &first)))
        goto out_free;
    if (r.pos < r.len) {
        rc = fail(&r, "unbalanced '}'");
        goto out_free;
    }
    ((char *)m->mid)[mid_len] = '\0';
    terminate_words(&r);
    if ((rc = read_body(&r, m, first)))
        goto out_free;
    free(r.nodes);
    *out = m;
    return 0;
out_free:
    if (rc == -E2BIG && err && errlen)
        snprintf(err, errlen, "more transactions, actions, commands or parameters than kept");
    free(r.nodes);
    free(r.s);
    free(m);
    return rc;
}

void mgcf_mg_free(struct mgcf_mg_msg *m)
{
    if (!m)
        return;
    free(m->text);
    free(m);
}

/* ---------------------------------------------------------------- writer */

struct writer {
    char *buf;
    size_t cap, len;
    int rc;                     /* first failure */
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct writer *w, const char *fmt, ...)
{
    if (w->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->rc = -ENOSPC;
        return;
    }
    w->len += (size_t)n;
}

static void invalid(struct writer *w)
{
    if (!w->rc)
        w->rc = -EINVAL;
}

/* A token: non-empty, of token characters only */
static void put_token(struct writer *w, const char *s)
{
    if (!s || !*s) {
        invalid(w);
        return;
    }
    for (const char *p = s; *p; p++)
        if (!tok_char((unsigned char)*p)) {
            invalid(w);
            return;
        }
    put(w, "%s", s);
}

/* A quoted string: no quote and no control character inside */
static void put_quoted(struct writer *w, const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == '"' || ((unsigned char)*p < 0x20 && *p != '\t')) {
            invalid(w);
            return;
        }
    put(w, "\"%s\"", s);
}

/* A VALUE: a token when it is one, else quoted */
static void put_value(struct writer *w, const char *s)
{
    bool token = s && *s;
    for (const char *p = s; token && *p; p++)
        token = tok_char((unsigned char)*p);
    if (token)
        put(w, "%s", s);
    else if (s)
        put_quoted(w, s);
    else
        invalid(w);
}

/* An octet string: '}' escaped, no NUL (it is a C string) */
static void put_octets(struct writer *w, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '}')
            put(w, "\\}");
        else
            put(w, "%c", *p);
    }
}

static void put_error(struct writer *w, const struct mgcf_mg_error *e, const char *indent)
{
    if (e->code == 0 || e->code > 9999) {
        invalid(w);
        return;
    }
    put(w, "%sError = %u {", indent, e->code);
    if (e->text)
        put_quoted(w, e->text);
    put(w, "}");
}

static void put_params(struct writer *w, const char *desc, const struct mgcf_mg_param *p,
                       unsigned n)
{
    put(w, "%s%s{", desc, *desc ? " " : "");
    for (unsigned i = 0; i < n; i++) {
        put(w, i ? ", " : "");
        put_token(w, p[i].name);
        if (p[i].value) {
            put(w, "=");
            put_value(w, p[i].value);
        }
    }
    put(w, "}");
}

static void put_media(struct writer *w, const struct mgcf_mg_cmd *c)
{
    const char *in = c->stream ? "      " : "     ";
    put(w, "Media {");
    if (c->stream)
        put(w, "\n     Stream = %u {", c->stream);
    bool any = false;
    if (c->mode != MGCF_MG_MODE_NONE) {
        const char *mode = mgcf_mg_mode_name(c->mode);
        if (!mode)
            invalid(w);
        else
            put(w, "\n%sLocalControl { Mode = %s }", in, mode);
        any = true;
    }
    const char *sdp[2] = {c->local, c->remote};
    for (int i = 0; i < 2; i++) {
        if (!sdp[i])
            continue;
        size_t n = strlen(sdp[i]);
        put(w, "%s\n%s%s {\n", any ? "," : "", in, i ? "Remote" : "Local");
        put_octets(w, sdp[i]);
        put(w, "%s}", n && sdp[i][n - 1] == '\n' ? "" : "\n");   /* no blank before '}': it
                                                                   would be an SDP line */
        any = true;
    }
    if (!any)
        invalid(w);             /* Media {} is not in the grammar */
    if (c->stream)
        put(w, "\n     }");
    put(w, "\n    }");
}

static void put_audit(struct writer *w, const struct mgcf_mg_cmd *c)
{
    put(w, "Audit {");
    bool first = true;
    for (size_t i = 0; i < COUNT(audit_kw); i++) {
        if (!(c->audit_items & (1u << i)))
            continue;
        put(w, "%s%s", first ? "" : ", ", audit_kw[i].lng);
        first = false;
    }
    put(w, "}");
}

static void put_observed(struct writer *w, const struct mgcf_mg_cmd *c)
{
    put(w, "ObservedEvents = %u {", c->request_id);
    for (unsigned i = 0; i < c->n_events; i++) {
        const struct mgcf_mg_event *e = &c->events[i];
        put(w, "%s\n     ", i ? "," : "");
        put_token(w, e->name);
        if (e->n_params) {
            put(w, " ");
            put_params(w, "", e->params, e->n_params);
        }
    }
    if (c->n_events == 0)
        invalid(w);
    put(w, "}");
}

static void put_services(struct writer *w, const struct mgcf_mg_cmd *c)
{
    const char *sep = "";
    put(w, "Services {");
    if (c->method != MGCF_MG_SC_NONE) {
        const char *name = mgcf_mg_method_name(c->method);
        if (name)
            put(w, "Method = %s", name);
        else
            invalid(w);
        sep = ", ";
    }
    if (c->reason) {
        put(w, "%sReason = ", sep);
        put_quoted(w, c->reason);
        sep = ", ";
    }
    if (c->has_delay) {
        put(w, "%sDelay = %u", sep, c->delay);
        sep = ", ";
    }
    const struct { const char *key, *val; } tokens[] = {
        {"ServiceChangeAddress", c->address}, {"Profile", c->profile},
        {"MgcIdToTry", c->mgc_id},
    };
    for (size_t i = 0; i < COUNT(tokens); i++) {
        if (!tokens[i].val)
            continue;
        put(w, "%s%s = ", sep, tokens[i].key);
        put_token(w, tokens[i].val);
        sep = ", ";
    }
    if (c->version) {
        if (c->version > 99)
            invalid(w);
        put(w, "%sVersion = %u", sep, c->version);
        sep = ", ";
    }
    if (c->timestamp) {
        if (!is_timestamp(c->timestamp))
            invalid(w);
        put(w, "%s%s", sep, c->timestamp);
        sep = ", ";
    }
    if (!*sep)
        invalid(w);             /* Services {} is not in the grammar */
    put(w, "}");
}

/* The descriptors of one command, each on its own line */
static void put_descriptors(struct writer *w, const struct mgcf_mg_cmd *c)
{
    const char *sep = "";
#define NEXT() (put(w, "%s\n    ", sep), sep = ",")
    if (c->media) {
        NEXT();
        put_media(w, c);
    }
    if (c->n_stats) {
        NEXT();
        put_params(w, "Statistics", c->stats, c->n_stats);
    }
    if (c->audit) {
        NEXT();
        put_audit(w, c);
    }
    if (c->n_events) {
        NEXT();
        put_observed(w, c);
    }
    if (c->services) {
        NEXT();
        put_services(w, c);
    }
    if (c->n_pkgs) {
        NEXT();
        put(w, "Packages {");
        for (unsigned i = 0; i < c->n_pkgs; i++) {
            put(w, i ? ", " : "");
            put_token(w, c->pkgs[i]);
        }
        put(w, "}");
    }
    if (c->error.code) {
        NEXT();
        put_error(w, &c->error, "");
    }
#undef NEXT
}

static bool has_descriptors(const struct mgcf_mg_cmd *c)
{
    return c->media || c->n_stats || c->audit || c->n_events || c->services || c->n_pkgs ||
           c->error.code;
}

static void put_command(struct writer *w, const struct mgcf_mg_cmd *c)
{
    const char *name = mgcf_mg_cmd_name(c->type);
    if (!name) {
        invalid(w);
        return;
    }
    put(w, "  %s%s%s = ", c->optional ? "O-" : "", c->wildcard_reply ? "W-" : "", name);
    put_token(w, c->tid);
    if (has_descriptors(c)) {
        put(w, " {");
        put_descriptors(w, c);
        put(w, "\n  }");
    }
}

static void put_context_id(struct writer *w, uint32_t ctx)
{
    if (ctx == MGCF_MG_CTX_NULL)
        put(w, "-");
    else if (ctx == MGCF_MG_CTX_CHOOSE)
        put(w, "$");
    else if (ctx == MGCF_MG_CTX_ALL)
        put(w, "*");
    else
        put(w, "%u", ctx);
}

static void put_action(struct writer *w, const struct mgcf_mg_msg *m,
                       const struct mgcf_mg_action *a)
{
    put(w, " Context = ");
    put_context_id(w, a->context);
    put(w, " {");
    if (a->first_cmd + a->n_cmds > m->n_cmds || (a->n_cmds == 0 && a->error.code == 0))
        invalid(w);
    for (unsigned i = 0; i < a->n_cmds && !w->rc; i++) {
        put(w, "%s\n", i ? "," : "");
        put_command(w, &m->cmds[a->first_cmd + i]);
    }
    if (a->error.code)
        put_error(w, &a->error, a->n_cmds ? ",\n  " : "\n  ");
    put(w, "\n }");
}

static void put_transaction(struct writer *w, const struct mgcf_mg_msg *m,
                            const struct mgcf_mg_trans *t)
{
    static const char *const names[] = {"Transaction", "Reply", "Pending"};
    if (t->id == 0) {
        invalid(w);
        return;
    }
    if (t->type == MGCF_MG_ACK) {
        put(w, "TransactionResponseAck {%u", t->id);
        if (t->id_last > t->id)
            put(w, "-%u", t->id_last);
        else if (t->id_last < t->id)
            invalid(w);
        put(w, "}\n");
        return;
    }
    put(w, "%s = %u {", names[t->type], t->id);
    if (t->type == MGCF_MG_PENDING) {
        put(w, "}\n");
        return;
    }
    const char *sep = "\n";
    if (t->type == MGCF_MG_REPLY && t->imm_ack) {
        put(w, "\n ImmAckRequired");
        sep = ",\n";
    }
    if (t->type == MGCF_MG_REPLY && t->error.code) {
        put(w, "%s", sep);
        put_error(w, &t->error, " ");
    } else {
        if (t->n_actions == 0 || t->first_action + t->n_actions > m->n_actions)
            invalid(w);
        for (unsigned i = 0; i < t->n_actions && !w->rc; i++) {
            put(w, "%s", i ? ",\n" : sep);
            put_action(w, m, &m->actions[t->first_action + i]);
        }
    }
    put(w, "\n}\n");
}

int mgcf_mg_encode(const struct mgcf_mg_msg *m, char *buf, size_t cap)
{
    struct writer w = {.buf = buf, .cap = cap};
    if (cap == 0)
        return -ENOSPC;
    buf[0] = '\0';
    if (m->version < 1 || m->version > 3 || (m->n_trans == 0) == (m->error.code == 0))
        return -EINVAL;
    put(&w, "MEGACO/%u ", m->version);
    put_token(&w, m->mid);
    put(&w, "\n");
    if (m->error.code) {
        put_error(&w, &m->error, "");
        put(&w, "\n");
    }
    for (unsigned i = 0; i < m->n_trans && !w.rc; i++)
        put_transaction(&w, m, &m->trans[i]);
    return w.rc ? w.rc : (int)w.len;
}
