/*
 * buf.h - a growing text buffer for building documents
 *
 * Appends never fail visibly: an allocation failure is remembered and ims_buf_take() then
 * returns NULL, so builders check once at the end.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_BUF_H
#define IMS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct ims_buf {
    char *s;
    size_t len, cap;
    bool oom;
};

void ims_buf_add(struct ims_buf *b, const char *s);
void ims_buf_addf(struct ims_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* XML-escape (& < > " ') */
void ims_buf_add_escaped(struct ims_buf *b, const char *s);
/* <tag>escaped text</tag> */
void ims_buf_element(struct ims_buf *b, const char *tag, const char *text);
/* The text (malloc'd, caller frees), or NULL if an allocation failed; the buffer is reset. */
char *ims_buf_take(struct ims_buf *b);

#endif
