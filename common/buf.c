/*
 * buf.c - a growing text buffer for building documents (XML of the HSS and the S-CSCF)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void reserve(struct ims_buf *b, size_t more)
{
    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void ims_buf_add(struct ims_buf *b, const char *s)
{
    size_t n = strlen(s);
    reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void ims_buf_addf(struct ims_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ims_buf_add_escaped(struct ims_buf *b, const char *s)
{
    char one[2] = { 0, 0 };
    for (; *s; s++) {
        switch (*s) {
        case '&': ims_buf_add(b, "&amp;"); break;
        case '<': ims_buf_add(b, "&lt;"); break;
        case '>': ims_buf_add(b, "&gt;"); break;
        case '"': ims_buf_add(b, "&quot;"); break;
        case '\'': ims_buf_add(b, "&apos;"); break;
        default:
            one[0] = *s;
            ims_buf_add(b, one);
        }
    }
}

char *ims_buf_take(struct ims_buf *b)
{
    if (b->oom) {
        free(b->s);
        b->s = NULL;
        return NULL;
    }
    char *s = b->s ? b->s : strdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void ims_buf_element(struct ims_buf *b, const char *tag, const char *text)
{
    ims_buf_addf(b, "<%s>", tag);
    ims_buf_add_escaped(b, text);
    ims_buf_addf(b, "</%s>", tag);
}
