/*
 * xml.c - strict element-tree reader (see xml.h for what it accepts)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "xml.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
    const char *doc;
    size_t len, pos;
    char *err;
    size_t errlen;
    bool failed;
};

static void fail(struct parser *p, const char *why)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "XML: %s at byte %zu", why, p->pos);
    p->failed = true;
}

static bool at(struct parser *p, const char *s)
{
    size_t n = strlen(s);
    return p->pos + n <= p->len && memcmp(p->doc + p->pos, s, n) == 0;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->doc[p->pos]))
        p->pos++;
}

/* skip up to and including @end; false when it never comes */
static bool skip_past(struct parser *p, const char *end)
{
    const char *hit = NULL;
    size_t n = strlen(end);
    for (size_t i = p->pos; i + n <= p->len; i++)
        if (memcmp(p->doc + i, end, n) == 0) {
            hit = p->doc + i;
            break;
        }
    if (!hit)
        return false;
    p->pos = (size_t)(hit - p->doc) + n;
    return true;
}

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' || (unsigned char)c >= 0x80 ||
           (!first && (isdigit((unsigned char)c) || c == '-' || c == '.'));
}

static char *read_name(struct parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && name_char(p->doc[p->pos], p->pos == start))
        p->pos++;
    if (p->pos == start) {
        fail(p, "element name expected");
        return NULL;
    }
    return strndup(p->doc + start, p->pos - start);
}

/* append decoded text of doc[from, to) to a growing string */
static void append_text(struct parser *p, char **buf, size_t *blen, const char *s, size_t n,
                        bool decode)
{
    char *b = realloc(*buf, *blen + n * 4 + 1);
    if (!b) {
        fail(p, "out of memory");
        return;
    }
    *buf = b;
    for (size_t i = 0; i < n; i++) {
        if (!decode || s[i] != '&') {
            b[(*blen)++] = s[i];
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (!semi) {
            fail(p, "unterminated entity");
            return;
        }
        size_t el = (size_t)(semi - (s + i)) + 1;
        unsigned long cp = 0;
        if (el == 4 && !memcmp(s + i, "&lt;", 4))
            cp = '<';
        else if (el == 4 && !memcmp(s + i, "&gt;", 4))
            cp = '>';
        else if (el == 5 && !memcmp(s + i, "&amp;", 5))
            cp = '&';
        else if (el == 6 && !memcmp(s + i, "&quot;", 6))
            cp = '"';
        else if (el == 6 && !memcmp(s + i, "&apos;", 6))
            cp = '\'';
        else if (el > 3 && s[i + 1] == '#') {
            char num[16];
            bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
            size_t off = hex ? 3 : 2;
            if (el - off - 1 >= sizeof(num) || el - off - 1 == 0) {
                fail(p, "bad character reference");
                return;
            }
            memcpy(num, s + i + off, el - off - 1);
            num[el - off - 1] = '\0';
            char *end;
            cp = strtoul(num, &end, hex ? 16 : 10);
            if (*end || cp == 0 || cp > 0x10ffff) {
                fail(p, "bad character reference");
                return;
            }
        } else {
            fail(p, "unknown entity (only the predefined and numeric ones are allowed)");
            return;
        }
        /* UTF-8 encode */
        if (cp < 0x80) {
            b[(*blen)++] = (char)cp;
        } else if (cp < 0x800) {
            b[(*blen)++] = (char)(0xc0 | cp >> 6);
            b[(*blen)++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            b[(*blen)++] = (char)(0xe0 | cp >> 12);
            b[(*blen)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            b[(*blen)++] = (char)(0x80 | (cp & 0x3f));
        } else {
            b[(*blen)++] = (char)(0xf0 | cp >> 18);
            b[(*blen)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            b[(*blen)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            b[(*blen)++] = (char)(0x80 | (cp & 0x3f));
        }
        i += el - 1;
    }
    b[*blen] = '\0';
}

static void skip_attributes(struct parser *p)
{
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->doc[p->pos] == '>' || p->doc[p->pos] == '/')
            return;
        char *n = read_name(p);
        if (!n)
            return;
        free(n);
        skip_ws(p);
        if (p->pos >= p->len || p->doc[p->pos] != '=') {
            fail(p, "'=' expected after attribute name");
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
        p->pos = (size_t)(end - p->doc) + 1;
    }
}

static void trim(char *s)
{
    if (!s)
        return;
    size_t n = strlen(s), a = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[a]))
        a++;
    memmove(s, s + a, n - a + 1);
}

static struct ims_xml_node *parse_element(struct parser *p, int depth);

/* content of an element up to its end tag */
static void parse_content(struct parser *p, struct ims_xml_node *n, int depth)
{
    size_t tlen = 0;
    struct ims_xml_node **tail = &n->child;
    n->raw_off = p->pos;
    while (!p->failed) {
        if (p->pos >= p->len) {
            fail(p, "unexpected end of document");
            return;
        }
        if (at(p, "</")) {
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
            trim(n->text);
            return;
        }
        if (at(p, "<!--")) {
            if (!skip_past(p, "-->"))
                fail(p, "unterminated comment");
        } else if (at(p, "<![CDATA[")) {
            size_t start = p->pos + 9;
            p->pos = start;
            if (!skip_past(p, "]]>"))
                fail(p, "unterminated CDATA");
            else
                append_text(p, &n->text, &tlen, p->doc + start, p->pos - 3 - start, false);
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
            while (p->pos < p->len && p->doc[p->pos] != '<')
                p->pos++;
            append_text(p, &n->text, &tlen, p->doc + start, p->pos - start, true);
        }
    }
}

static struct ims_xml_node *parse_element(struct parser *p, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(p, "nesting too deep");
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
        skip_attributes(p);
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

struct ims_xml_node *ims_xml_parse(const char *doc, size_t len, char *err, size_t errlen)
{
    struct parser p = { doc, len, 0, err, errlen, false };
    struct ims_xml_node *root = NULL;
    /* prolog: XML declaration, comments, processing instructions, blanks */
    for (;;) {
        skip_ws(&p);
        if (at(&p, "<?")) {
            if (!skip_past(&p, "?>"))
                fail(&p, "unterminated XML declaration");
        } else if (at(&p, "<!--")) {
            if (!skip_past(&p, "-->"))
                fail(&p, "unterminated comment");
        } else {
            break;
        }
        if (p.failed)
            return NULL;
    }
    if (p.pos >= p.len || doc[p.pos] != '<' || at(&p, "<!")) {
        fail(&p, at(&p, "<!") ? "DOCTYPE is not accepted" : "root element expected");
        return NULL;
    }
    root = parse_element(&p, 0);
    if (!root)
        return NULL;
    for (;;) {   /* only blanks and comments may follow */
        skip_ws(&p);
        if (p.pos >= p.len)
            break;
        if (at(&p, "<!--") && skip_past(&p, "-->"))
            continue;
        fail(&p, "content after the root element");
        ims_xml_free(root);
        return NULL;
    }
    return root;
}

void ims_xml_free(struct ims_xml_node *n)
{
    while (n) {
        struct ims_xml_node *next = n->next;
        ims_xml_free(n->child);
        free(n->name);
        free(n->text);
        free(n);
        n = next;
    }
}

static bool name_is(const struct ims_xml_node *n, const char *name)
{
    const char *colon = strchr(n->name, ':');
    return strcmp(colon ? colon + 1 : n->name, name) == 0;
}

struct ims_xml_node *ims_xml_child(const struct ims_xml_node *n, const char *name)
{
    for (struct ims_xml_node *c = n ? n->child : NULL; c; c = c->next)
        if (name_is(c, name))
            return c;
    return NULL;
}

struct ims_xml_node *ims_xml_next(const struct ims_xml_node *n, const char *name)
{
    for (struct ims_xml_node *c = n ? n->next : NULL; c; c = c->next)
        if (name_is(c, name))
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
