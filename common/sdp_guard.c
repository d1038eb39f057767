/*
 * sdp_guard.c - sofia-sip's SDP parser behind a check of the lines it cannot take
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "sdp_guard.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>

/* token-char of RFC 4566 section 9 */
static bool token_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
           c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
           (c >= 0x5e && c <= 0x7e);
}

/* the token at *p (at least one character; '/' inside when @slash), *p past it */
static bool take_token(const char **p, const char *end, bool slash)
{
    const char *s = *p;
    while (*p < end && (token_char((unsigned char)**p) || (slash && **p == '/')))
        (*p)++;
    return *p > s;
}

/* An m= line (without its line end) as ims_sdp_parse() takes it */
static bool media_line_ok(const char *p, const char *end)
{
    p += 2;
    const char *t = p;
    if (!take_token(&p, end, false) || p - t > 15 || p == end || *p++ != ' ')
        return false;
    const char *d = p;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    if (p == d)
        return false;
    if (p < end && *p == '/') {
        d = ++p;
        while (p < end && isdigit((unsigned char)*p))
            p++;
        if (p == d)
            return false;
    }
    const char *proto = p + 1;
    if (p == end || *p++ != ' ' || !take_token(&p, end, true))
        return false;
    int fmts = 0;
    while (p < end) {
        t = p + 1;
        if (*p++ != ' ' || !take_token(&p, end, false))
            return false;
        if (fmts++ == 0 && (p - t > 15 || p - proto > 47))
            return false;
    }
    return fmts > 0;
}

sdp_parser_t *ims_sdp_parse(su_home_t *home, const char *body, size_t len, int flags,
                            char *why, size_t whylen)
{
    const char *end = body + len;
    for (const char *l = body; l < end;) {
        const char *e = l;
        while (e < end && *e != '\r' && *e != '\n')
            e++;
        if (e > l && (e - l < 2 || !islower((unsigned char)l[0]) || l[1] != '=')) {
            if (why && whylen)
                snprintf(why, whylen, "bad SDP: a line that is not <type>=<value>");
            return NULL;
        }
        if (e > l && l[0] == 'm' && !media_line_ok(l, e)) {
            if (why && whylen)
                snprintf(why, whylen, "bad SDP: a media line outside RFC 4566 or too long "
                         "(%.*s)", (int)(e - l < 40 ? e - l : 40), l);
            return NULL;
        }
        l = e;
        while (l < end && (*l == '\r' || *l == '\n'))
            l++;
    }
    return sdp_parse(home, body, (issize_t)len, flags);
}
