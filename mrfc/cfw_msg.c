/*
 * cfw_msg.c - reading and writing Media Control Channel Framework messages (RFC 6230 9)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cfw_msg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void say(struct mrfc_cfw_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first reason found stays */
static void say(struct mrfc_cfw_msg *m, const char *fmt, ...)
{
    if (m->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof(m->error), fmt, ap);
    va_end(ap);
}

bool mrfc_cfw_tid_ok(const char *tid)
{
    size_t n = strlen(tid);
    if (n == 0 || n >= MRFC_CFW_TID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)tid[i]) && !strchr("-.!%*_+`'~", tid[i]))
            return false;
    return true;
}

bool mrfc_cfw_list_has(const char *list, const char *item)
{
    size_t want = strlen(item);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if (k == want && want && strncasecmp(p, item, k) == 0)
            return true;
        p += n;
    }
    return false;
}

static const struct { const char *name; int method; } methods[] = {
    { "SYNC", MRFC_CFW_SYNC }, { "CONTROL", MRFC_CFW_CONTROL },
    { "REPORT", MRFC_CFW_REPORT }, { "K-ALIVE", MRFC_CFW_KALIVE },
};

/* The end of the head (after its empty line): offset of the body, 0 when not there yet */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* One line of @buf from @*pos (without its CR LF) into @line; false at the head's end */
static bool next_line(const char *buf, size_t end, size_t *pos, char *line, size_t cap)
{
    size_t i = *pos;
    while (i < end && buf[i] != '\n')
        i++;
    size_t n = i - *pos;
    if (n && buf[*pos + n - 1] == '\r')
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(line, buf + *pos, n);
    line[n] = '\0';
    *pos = i + 1;
    return n > 0;
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return true;
    return false;
}

/* The start line into @m; 0 or -EINVAL */
static int start_line(char *line, struct mrfc_cfw_msg *m)
{
    char *save = NULL;
    char *pseudo = strtok_r(line, " ", &save);
    char *tid = strtok_r(NULL, " ", &save);
    char *what = strtok_r(NULL, " ", &save);
    if (!pseudo || strcmp(pseudo, "CFW") != 0 || !tid || !what) {
        say(m, "the start line is not \"CFW <transaction-id> <method or status>\"");
        return -EINVAL;
    }
    if (!mrfc_cfw_tid_ok(tid)) {
        say(m, "bad transaction id");
        return -EINVAL;
    }
    snprintf(m->tid, sizeof(m->tid), "%s", tid);
    if (strlen(what) == 3 && isdigit((unsigned char)what[0]) &&
        isdigit((unsigned char)what[1]) && isdigit((unsigned char)what[2])) {
        m->method = MRFC_CFW_RESPONSE;
        m->status = atoi(what);
        return 0;
    }
    if (strtok_r(NULL, " ", &save)) {
        say(m, "a request line has three fields");
        return -EINVAL;
    }
    for (const char *c = what; *c; c++)
        if (!isupper((unsigned char)*c) && *c != '-' && !isdigit((unsigned char)*c)) {
            say(m, "bad method name");
            return -EINVAL;
        }
    snprintf(m->method_name, sizeof(m->method_name), "%s", what);
    m->method = MRFC_CFW_OTHER;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(what, methods[i].name) == 0)
            m->method = methods[i].method;
    return 0;
}

/* A number header: 0 with its value, or -1 (and m->error) */
static int number(struct mrfc_cfw_msg *m, const char *name, const char *v, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end || errno || n > max) {
        say(m, "%s: not a number from 0 to %ld", name, max);
        return -1;
    }
    *out = n;
    return 0;
}

static void copy(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v);
}

/* Header @name: @v into @m; the Content-Length into *@clen (-2: unusable). -1 when it is
 * not valid. */
static int header(struct mrfc_cfw_msg *m, const char *name, const char *v, long *clen)
{
    long n;
    if (strcasecmp(name, "Content-Length") == 0) {
        if (*clen != -1 || number(m, name, v, MRFC_CFW_BODY_MAX, clen) != 0) {
            say(m, "Content-Length: given twice, or not a number up to %d",
                MRFC_CFW_BODY_MAX);
            *clen = -2;
            return -1;
        }
        return 0;
    }
    if (strcasecmp(name, "Keep-Alive") == 0 || strcasecmp(name, "Timeout") == 0) {
        if (number(m, name, v, 86400, &n) != 0)
            return -1;
        *(strcasecmp(name, "Timeout") == 0 ? &m->timeout : &m->keep_alive) = (int)n;
        return 0;
    }
    if (strcasecmp(name, "Seq") == 0)
        return number(m, name, v, 2147483647L, &m->seq);
    if (strcasecmp(name, "Content-Type") == 0) {
        size_t k = strcspn(v, "; \t");
        snprintf(m->ctype, sizeof(m->ctype), "%.*s", (int)k, v);
    } else if (strcasecmp(name, "Dialog-ID") == 0) {
        copy(m->dialog_id, sizeof(m->dialog_id), v);
    } else if (strcasecmp(name, "Control-Package") == 0) {
        copy(m->package, sizeof(m->package), v);
    } else if (strcasecmp(name, "Packages") == 0) {
        copy(m->packages, sizeof(m->packages), v);
    } else if (strcasecmp(name, "Supported") == 0) {
        copy(m->supported, sizeof(m->supported), v);
    } else if (strcasecmp(name, "Status") == 0) {
        copy(m->report_status, sizeof(m->report_status), v);
    }
    return 0;
}

/* The header lines from @pos to @end; *@clen the Content-Length (-1 when none) */
static void headers(const char *buf, size_t pos, size_t end, struct mrfc_cfw_msg *m,
                    long *clen)
{
    char line[MRFC_CFW_HEAD_MAX];
    while (pos < end && next_line(buf, end, &pos, line, sizeof(line))) {
        char *colon = strchr(line, ':');
        if (!colon || colon == line || has_ctl(line)) {
            say(m, "a header line without a name and a colon");
            continue;
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t k = strlen(v);
        while (k && (v[k - 1] == ' ' || v[k - 1] == '\t'))
            v[--k] = '\0';
        if (strpbrk(line, " \t")) {
            say(m, "a header name with blanks");
            continue;
        }
        header(m, line, v, clen);
    }
}

long mrfc_cfw_parse(const char *buf, size_t len, struct mrfc_cfw_msg *out)
{
    memset(out, 0, sizeof(*out));
    out->keep_alive = out->timeout = -1;
    out->seq = -1;
    size_t body = head_end(buf, len < MRFC_CFW_HEAD_MAX ? len : MRFC_CFW_HEAD_MAX);
    if (!body) {
        if (len >= MRFC_CFW_HEAD_MAX) {
            say(out, "no end of the head in %d bytes", MRFC_CFW_HEAD_MAX);
            return -EINVAL;
        }
        return 0;
    }
    size_t pos = 0;
    char line[MRFC_CFW_HEAD_MAX];
    next_line(buf, body, &pos, line, sizeof(line));
    if (has_ctl(line)) {
        say(out, "control characters in the start line");
        return -EINVAL;
    }
    if (start_line(line, out) != 0)
        return -EINVAL;
    long clen = -1;
    headers(buf, pos, body, out, &clen);
    if (clen == -2)
        return -EINVAL;               /* cannot be framed */
    if (clen < 0)
        clen = 0;
    if (len - body < (size_t)clen)
        return 0;
    if (clen > 0) {
        out->body = buf + body;
        out->body_len = (size_t)clen;
        if (!out->error[0] && !out->ctype[0])
            say(out, "a body without Content-Type");
    }
    return (long)(body + (size_t)clen);
}

/* Append to @buf at *@off; false when it does not fit */
static bool put(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool put(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *off)
        return false;
    *off += (size_t)n;
    return true;
}

static bool put_header(char *buf, size_t cap, size_t *off, const char *name, const char *v)
{
    return !v || !*v || put(buf, cap, off, "%s: %s\r\n", name, v);
}

long mrfc_cfw_build(char *buf, size_t cap, const struct mrfc_cfw_out *o)
{
    const char *vals[] = { o->dialog_id, o->package, o->ctype, o->packages, o->supported,
                           o->comment, o->method };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        if (vals[i] && has_ctl(vals[i]))
            return -EINVAL;
    if (!o->tid || !mrfc_cfw_tid_ok(o->tid) || (!o->method && (o->status < 100 ||
                                                               o->status > 999)))
        return -EINVAL;
    size_t off = 0;
    bool ok = o->method ? put(buf, cap, &off, "CFW %s %s\r\n", o->tid, o->method)
                        : put(buf, cap, &off, "CFW %s %03d%s%s\r\n", o->tid, o->status,
                              o->comment ? " " : "", o->comment ? o->comment : "");
    ok = ok && put_header(buf, cap, &off, "Dialog-ID", o->dialog_id) &&
         put_header(buf, cap, &off, "Control-Package", o->package) &&
         put_header(buf, cap, &off, "Packages", o->packages) &&
         put_header(buf, cap, &off, "Supported", o->supported);
    if (ok && o->keep_alive >= 0)
        ok = put(buf, cap, &off, "Keep-Alive: %d\r\n", o->keep_alive);
    if (ok && o->timeout >= 0)
        ok = put(buf, cap, &off, "Timeout: %d\r\n", o->timeout);
    if (ok && o->body) {
        ok = put_header(buf, cap, &off, "Content-Type", o->ctype) &&
             put(buf, cap, &off, "Content-Length: %zu\r\n", o->body_len);
    }
    ok = ok && put(buf, cap, &off, "\r\n");
    if (!ok || (o->body && o->body_len >= cap - off))
        return -ENOSPC;
    if (o->body) {
        memcpy(buf + off, o->body, o->body_len);
        off += o->body_len;
    }
    return (long)off;
}
