/*
 * utf8.c - checking and repairing UTF-8 (see utf8.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t ims_utf8_seq(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t v;
    size_t k;
    if (n == 0)
        return 0;
    if (u[0] < 0x80) {
        k = 1;
        v = u[0];
    } else if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        k = 2;
        v = u[0] & 0x1fu;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        k = 3;
        v = u[0] & 0x0fu;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        k = 4;
        v = u[0] & 0x07u;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (u[i] & 0x3fu);
    }
    if ((k == 3 && v < 0x800) || (k == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    if (cp)
        *cp = v;
    return k;
}

bool ims_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = (unsigned char)s[i] < 0x80 ? 1 : ims_utf8_seq(s + i, n - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

char *ims_utf8_repair(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *b = malloc(3 * n + 1);
    if (!b)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = ims_utf8_seq(s + i, n - i, NULL);
        if (k) {
            memcpy(b + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(b + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    b[o] = '\0';
    return b;
}
