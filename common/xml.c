/*
 * xml.c - strict element-tree reader (see xml.h for what it accepts)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "xml.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *doc;
    size_t len, pos;
    char *err;
    size_t errlen;
    bool failed;
};

/* A growing string */
struct sbuf {
    char *s;
    size_t len, cap;
};

/* How decode() treats its input */
enum chars {
    CHARS_TEXT,      /* character data: references decoded */
    CHARS_CDATA,     /* a CDATA section: taken as is */
    CHARS_ATTR,      /* an attribute value: references decoded, no '<', blanks normalised */
};

static void fail_at(struct parser *p, size_t off, const char *why)
{
    if (!p->failed && p->errlen)
        snprintf(p->err, p->errlen, "XML: %s at byte %zu", why, off);
    p->failed = true;
}

static void fail(struct parser *p, const char *why)
{
    fail_at(p, p->pos, why);
}

static bool at(const struct parser *p, const char *s)
{
    size_t n = strlen(s);
    return p->pos + n <= p->len && memcmp(p->doc + p->pos, s, n) == 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && is_blank(p->doc[p->pos]))
        p->pos++;
}

/* skip up to and including @end; false when it never comes */
static bool skip_past(struct parser *p, const char *end)
{
    size_t n = strlen(end);
    const char *hit = memmem(p->doc + p->pos, p->len - p->pos, end, n);
    if (!hit)
        return false;
    p->pos = (size_t)(hit - p->doc) + n;
    return true;
}

/*
 * Length of the UTF-8 sequence at @s (at most @n bytes) that encodes an XML character
 * (XML 1.0 production Char: no C0 control but tab, LF and CR, no U+FFFE or U+FFFF), or 0.
 */
static size_t xml_char_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t k = ims_utf8_seq((const char *)s, n, &cp);
    if (!k || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
        cp == 0xffff)
        return 0;
    return k;
}

/* The whole document is UTF-8 made of XML characters; false after failing. */
static bool check_chars(struct parser *p)
{
    const unsigned char *s = (const unsigned char *)p->doc;
    for (size_t i = 0; i < p->len;) {
        if (s[i] >= 0x20 && s[i] < 0x80) {   /* the common case, quickly */
            i++;
            continue;
        }
        size_t k = xml_char_len(s + i, p->len - i);
        if (k == 0) {
            fail_at(p, i, s[i] < 0x80 ? "control character" : "not UTF-8 or not an XML "
                                                              "character");
            return false;
        }
        i += k;
    }
    return true;
}

static bool name_char(char c, bool first)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || c == '_' || c == ':' ||
           u >= 0x80 || (!first && ((u >= '0' && u <= '9') || c == '-' || c == '.'));
}

static char *read_name(struct parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && name_char(p->doc[p->pos], p->pos == start))
        p->pos++;
    if (p->pos == start) {
        fail(p, "name expected");
        return NULL;
    }
    char *n = strndup(p->doc + start, p->pos - start);
    if (!n)
        fail(p, "out of memory");
    return n;
}

/* Room for @n more bytes and a NUL in @b; false after failing. */
static bool sbuf_reserve(struct parser *p, struct sbuf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 32;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        fail(p, "out of memory");
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
    if (cp < 0x80) {
        b->s[b->len++] = (char)cp;
    } else if (cp < 0x800) {
        b->s[b->len++] = (char)(0xc0 | cp >> 6);
        b->s[b->len++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        b->s[b->len++] = (char)(0xe0 | cp >> 12);
        b->s[b->len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b->s[b->len++] = (char)(0x80 | (cp & 0x3f));
    } else {
        b->s[b->len++] = (char)(0xf0 | cp >> 18);
        b->s[b->len++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b->s[b->len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b->s[b->len++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* "&#65;" or "&#x41;" (@n bytes, ';' included): the code point, or 0 when not a Char */
static uint32_t char_ref(const char *s, size_t n)
{
    bool hex = n > 3 && s[2] == 'x';
    size_t i = hex ? 3 : 2;
    uint32_t cp = 0;
    if (i + 1 >= n)
        return 0;
    for (; i + 1 < n; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff)
            return 0;
    }
    bool ok = cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
              (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
    return ok ? cp : 0;
}

/* The character a reference "&...;" of @n bytes stands for, or 0 when it is not known */
static uint32_t reference(const char *s, size_t n)
{
    static const struct {
        const char *ref;
        char c;
    } predefined[] = {
        { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' }, { "&apos;", '\'' },
    };
    if (n > 3 && s[1] == '#')
        return char_ref(s, n);
    for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
        if (strlen(predefined[i].ref) == n && memcmp(predefined[i].ref, s, n) == 0)
            return (uint32_t)predefined[i].c;
    return 0;
}

/* Append doc[@off, @off + @n) to @b as @how says; false after failing. @b stays a string. */
static bool decode(struct parser *p, struct sbuf *b, size_t off, size_t n, enum chars how)
{
    const char *s = p->doc + off;
    bool ok = true;
    if (!sbuf_reserve(p, b, n))   /* a reference is never shorter than its UTF-8 */
        return false;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        if (how == CHARS_ATTR && c == '<') {
            fail_at(p, off + i, "'<' in an attribute value (write &lt;)");
            ok = false;
        } else if (how == CHARS_CDATA || c != '&') {
            b->s[b->len++] = how == CHARS_ATTR && is_blank(c) ? ' ' : c;
        } else {
            const char *semi = memchr(s + i, ';', n - i);
            size_t rl = semi ? (size_t)(semi - (s + i)) + 1 : 0;
            uint32_t cp = rl && rl <= 12 ? reference(s + i, rl) : 0;
            if (cp) {
                put_utf8(b, cp);
                i += rl - 1;
            } else {
                fail_at(p, off + i, "bad reference (only &lt; &gt; &amp; &quot; &apos; and "
                                    "numeric references of XML characters are allowed)");
                ok = false;
            }
        }
    }
    b->s[b->len] = '\0';
    return ok;
}

static const struct ims_xml_attr *find_attr(const struct ims_xml_node *n, const char *name)
{
    for (const struct ims_xml_attr *a = n ? n->attrs : NULL; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* name = "value" (or 'value'); appended to @n's attributes. */
static void parse_attribute(struct parser *p, struct ims_xml_node *n, struct ims_xml_attr ***tail)
{
    size_t start = p->pos;
    struct ims_xml_attr *a = calloc(1, sizeof(*a));
    if (!a) {
        fail(p, "out of memory");
        return;
    }
    **tail = a;
    *tail = &a->next;
    if (!(a->name = read_name(p)))
        return;
    skip_ws(p);
    if (p->pos >= p->len || p->doc[p->pos] != '=') {
        fail(p, "'=' expected after an attribute name");
        return;
    }
    p->pos++;
    skip_ws(p);
    char q = p->pos < p->len ? p->doc[p->pos] : 0;
    if (q != '"' && q != '\'') {
        fail(p, "quoted attribute value expected");
        return;
    }
    const char *end = memchr(p->doc + p->pos + 1, q, p->len - p->pos - 1);
    if (!end) {
        fail(p, "unterminated attribute value");
        return;
    }
    struct sbuf v = { 0 };
    size_t voff = p->pos + 1;
    p->pos = (size_t)(end - p->doc) + 1;
    bool ok = decode(p, &v, voff, (size_t)(end - p->doc) - voff, CHARS_ATTR);
    a->value = v.s ? v.s : strdup("");
    if (ok && !a->value)
        fail(p, "out of memory");
    for (const struct ims_xml_attr *o = n->attrs; ok && o != a; o = o->next)
        if (strcmp(o->name, a->name) == 0)
            fail_at(p, start, "attribute given twice");
}

/* The attributes of a start tag, up to its '>' or "/>". */
static void parse_attributes(struct parser *p, struct ims_xml_node *n)
{
    struct ims_xml_attr **tail = &n->attrs;
    for (int count = 0; !p->failed; count++) {
        size_t before = p->pos;
        skip_ws(p);
        if (p->pos >= p->len || p->doc[p->pos] == '>' || p->doc[p->pos] == '/')
            return;
        if (p->pos == before)
            fail(p, "blank expected before an attribute");
        else if (count == IMS_XML_ATTRS_MAX)
            fail(p, "too many attributes");
        else
            parse_attribute(p, n, &tail);
    }
}

/* trim blanks at both ends of @s in place */
static void trim(char *s)
{
    if (!s)
        return;
    size_t n = strlen(s), a = 0;
    while (n && is_blank(s[n - 1]))
        s[--n] = '\0';
    while (is_blank(s[a]))
        a++;
    memmove(s, s + a, n - a + 1);
}

static struct ims_xml_node *parse_element(struct parser *p, int depth);

/* The end tag of @n, at "</" */
static void parse_end_tag(struct parser *p, struct ims_xml_node *n)
{
    n->raw_len = p->pos - n->raw_off;
    p->pos += 2;
    char *end = read_name(p);
    if (end && strcmp(end, n->name) != 0)
        fail(p, "end tag does not match the start tag");
    free(end);
    skip_ws(p);
    if (!p->failed && (p->pos >= p->len || p->doc[p->pos] != '>'))
        fail(p, "'>' expected");
    p->pos++;
}

/* content of an element up to its end tag */
static void parse_content(struct parser *p, struct ims_xml_node *n, int depth)
{
    struct sbuf text = { 0 };
    struct ims_xml_node **tail = &n->child;
    n->raw_off = p->pos;
    while (!p->failed) {
        if (p->pos >= p->len) {
            fail(p, "unexpected end of document");
        } else if (at(p, "</")) {
            parse_end_tag(p, n);
            break;
        } else if (at(p, "<!--")) {
            if (!skip_past(p, "-->"))
                fail(p, "unterminated comment");
        } else if (at(p, "<![CDATA[")) {
            size_t start = p->pos + 9;
            p->pos = start;
            if (!skip_past(p, "]]>"))
                fail(p, "unterminated CDATA");
            else
                decode(p, &text, start, p->pos - 3 - start, CHARS_CDATA);
        } else if (at(p, "<?")) {
            if (!skip_past(p, "?>"))
                fail(p, "unterminated processing instruction");
        } else if (at(p, "<!")) {
            fail(p, "DOCTYPE and declarations are not accepted");
        } else if (p->doc[p->pos] == '<') {
            struct ims_xml_node *c = parse_element(p, depth + 1);
            if (c) {
                *tail = c;
                tail = &c->next;
            }
        } else {
            size_t start = p->pos;
            const char *lt = memchr(p->doc + start, '<', p->len - start);
            p->pos = lt ? (size_t)(lt - p->doc) : p->len;
            decode(p, &text, start, p->pos - start, CHARS_TEXT);
        }
    }
    n->text = text.s;
    trim(n->text);
}

static struct ims_xml_node *parse_element(struct parser *p, int depth)
{
    if (depth > IMS_XML_DEPTH_MAX) {
        fail(p, "elements nested too deep");
        return NULL;
    }
    p->pos++;   /* '<' */
    struct ims_xml_node *n = calloc(1, sizeof(*n));
    if (!n) {
        fail(p, "out of memory");
        return NULL;
    }
    n->name = read_name(p);
    if (n->name)
        parse_attributes(p, n);
    if (!p->failed && at(p, "/>")) {
        p->pos += 2;
        n->raw_off = p->pos;
        return n;
    }
    if (!p->failed && (p->pos >= p->len || p->doc[p->pos] != '>'))
        fail(p, "'>' expected");
    if (!p->failed) {
        p->pos++;
        parse_content(p, n, depth);
    }
    if (p->failed) {
        ims_xml_free(n);
        return NULL;
    }
    return n;
}

/* XML declaration, comments, processing instructions and blanks before the root */
static bool skip_prolog(struct parser *p)
{
    if (at(p, "\xef\xbb\xbf"))   /* a UTF-8 byte order mark */
        p->pos += 3;
    for (;;) {
        skip_ws(p);
        if (at(p, "<?")) {
            if (!skip_past(p, "?>"))
                fail(p, "unterminated XML declaration");
        } else if (at(p, "<!--")) {
            if (!skip_past(p, "-->"))
                fail(p, "unterminated comment");
        } else {
            break;
        }
        if (p->failed)
            return false;
    }
    if (p->pos >= p->len || p->doc[p->pos] != '<' || at(p, "<!")) {
        fail(p, at(p, "<!") ? "DOCTYPE is not accepted" : "root element expected");
        return false;
    }
    return true;
}

struct ims_xml_node *ims_xml_parse(const char *doc, size_t len, char *err, size_t errlen)
{
    struct parser p = { doc, len, 0, err, errlen, false };
    if (errlen)
        err[0] = '\0';
    if (len > IMS_XML_DOC_MAX) {
        if (errlen)
            snprintf(err, errlen, "XML: document larger than %d bytes", IMS_XML_DOC_MAX);
        return NULL;
    }
    if (!doc) {
        fail(&p, "no document");
        return NULL;
    }
    if (!check_chars(&p) || !skip_prolog(&p))
        return NULL;
    struct ims_xml_node *root = parse_element(&p, 0);
    if (!root)
        return NULL;
    for (;;) {   /* only blanks, comments and processing instructions may follow */
        skip_ws(&p);
        if (p.pos >= p.len)
            break;
        if ((at(&p, "<!--") && skip_past(&p, "-->")) || (at(&p, "<?") && skip_past(&p, "?>")))
            continue;
        fail(&p, "content after the root element");
        ims_xml_free(root);
        return NULL;
    }
    return root;
}

static void free_attrs(struct ims_xml_attr *a)
{
    while (a) {
        struct ims_xml_attr *next = a->next;
        free(a->name);
        free(a->value);
        free(a);
        a = next;
    }
}

void ims_xml_free(struct ims_xml_node *n)
{
    while (n) {
        struct ims_xml_node *next = n->next;
        ims_xml_free(n->child);
        free_attrs(n->attrs);
        free(n->name);
        free(n->text);
        free(n);
        n = next;
    }
}

bool ims_xml_is(const struct ims_xml_node *n, const char *name)
{
    if (!n)
        return false;
    const char *colon = strchr(n->name, ':');
    return strcmp(colon ? colon + 1 : n->name, name) == 0;
}

struct ims_xml_node *ims_xml_child(const struct ims_xml_node *n, const char *name)
{
    for (struct ims_xml_node *c = n ? n->child : NULL; c; c = c->next)
        if (ims_xml_is(c, name))
            return c;
    return NULL;
}

struct ims_xml_node *ims_xml_next(const struct ims_xml_node *n, const char *name)
{
    for (struct ims_xml_node *c = n ? n->next : NULL; c; c = c->next)
        if (ims_xml_is(c, name))
            return c;
    return NULL;
}

const char *ims_xml_child_text(const struct ims_xml_node *n, const char *name)
{
    struct ims_xml_node *c = ims_xml_child(n, name);
    if (!c)
        return NULL;
    return c->text ? c->text : "";
}

const char *ims_xml_attr(const struct ims_xml_node *n, const char *name)
{
    const struct ims_xml_attr *a = find_attr(n, name);
    return a ? a->value : NULL;
}
