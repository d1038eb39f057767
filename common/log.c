/*
 * log.c - one line per event, key=value or JSON
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define LINE_MAX_LEN 4096

static struct {
    char daemon[32];
    enum ims_log_level level;
    enum ims_log_format format;
    int fd;
} g_log = { "ims", IMS_LOG_INFO, IMS_LOG_KV, STDERR_FILENO };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int ims_log_init(const char *daemon, enum ims_log_level level, enum ims_log_format format,
                 const char *path)
{
    snprintf(g_log.daemon, sizeof(g_log.daemon), "%s", daemon ? daemon : "ims");
    g_log.level = level;
    g_log.format = format;
    if (g_log.fd != STDERR_FILENO)
        close(g_log.fd);
    g_log.fd = STDERR_FILENO;
    if (!path || !*path || strcmp(path, "-") == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    g_log.fd = fd;
    return 0;
}

void ims_log_fini(void)
{
    if (g_log.fd != STDERR_FILENO)
        close(g_log.fd);
    g_log.fd = STDERR_FILENO;
}

int ims_log_level_parse(const char *word)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (word && strcasecmp(word, level_names[i]) == 0)
            return (int)i;
    return -1;
}

int ims_log_format_parse(const char *word)
{
    if (word && strcasecmp(word, "kv") == 0)
        return IMS_LOG_KV;
    if (word && strcasecmp(word, "json") == 0)
        return IMS_LOG_JSON;
    return -1;
}

const char *ims_log_level_name(enum ims_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void ims_log_set_level(enum ims_log_level level)
{
    g_log.level = level;
}

bool ims_log_enabled(enum ims_log_level level)
{
    return level <= g_log.level;
}

/* Does a key=value value need quotes? Empty values and values with blanks, quotes or '='. */
static bool kv_needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++)
        if (*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
            return true;
    return false;
}

/* Append "key=value" (quoted and escaped when needed) at buf+*len; stops at size-1.
 * Returns false when the buffer filled up before the whole field was written. */
static bool kv_append(char *buf, int size, int *len, const char *key, const char *val)
{
    int n = *len;
    n += snprintf(buf + n, n < size ? (size_t)(size - n) : 0, "%s%s=", n ? " " : "", key);
    bool q = kv_needs_quotes(val);
    if (q && n < size - 1)
        buf[n++] = '"';
    const char *p = val;
    for (; *p && n < size - 1; p++) {
        unsigned char c = (unsigned char)*p;
        const char *esc = NULL;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        if (esc) {
            n += snprintf(buf + n, (size_t)(size - n), "%s", esc);
        } else if (c < ' ' || c == 0x7f) {
            n += snprintf(buf + n, (size_t)(size - n), "\\x%02x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    bool whole = !*p;
    if (q && n < size - 1)
        buf[n++] = '"';
    else if (q)
        whole = false;
    if (n >= size) {
        n = size - 1;
        whole = false;
    }
    buf[n] = '\0';
    *len = n;
    return whole;
}

static int format_kv(char *buf, int size, const char *ts, enum ims_log_level level,
                     const char *daemon, const struct ims_log_ids *ids,
                     const char *const *kv, const char *msg)
{
    int len = 0;
    bool cut = false;
    buf[0] = '\0';
    cut |= !kv_append(buf, size, &len, "ts", ts);
    cut |= !kv_append(buf, size, &len, "level", ims_log_level_name(level));
    cut |= !kv_append(buf, size, &len, "daemon", daemon);
    cut |= !kv_append(buf, size, &len, "msg", msg);
    if (ids && ids->call_id)
        cut |= !kv_append(buf, size, &len, "callid", ids->call_id);
    if (ids && ids->icid)
        cut |= !kv_append(buf, size, &len, "icid", ids->icid);
    if (ids && ids->session_id)
        cut |= !kv_append(buf, size, &len, "session", ids->session_id);
    for (; kv && kv[0]; kv += 2)
        if (kv[1])
            cut |= !kv_append(buf, size, &len, kv[0], kv[1]);
    if (cut && len >= 3)   /* a truncated line says so */
        memcpy(buf + len - 3, "...", 3);
    return len;
}

static int format_json(char *buf, int size, const char *ts, enum ims_log_level level,
                       const char *daemon, const struct ims_log_ids *ids,
                       const char *const *kv, const char *msg)
{
    json_t *o = json_object();
    if (!o)
        return snprintf(buf, (size_t)size, "{\"msg\":\"out of memory\"}");
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(ims_log_level_name(level)));
    json_object_set_new(o, "daemon", json_string(daemon));
    /* json_stringn_nocheck would accept invalid UTF-8; keep the check, fall back below */
    json_t *m = json_string(msg);
    json_object_set_new(o, "msg", m ? m : json_string("(message is not UTF-8)"));
    if (ids && ids->call_id)
        json_object_set_new(o, "callid", json_string(ids->call_id));
    if (ids && ids->icid)
        json_object_set_new(o, "icid", json_string(ids->icid));
    if (ids && ids->session_id)
        json_object_set_new(o, "session", json_string(ids->session_id));
    for (; kv && kv[0]; kv += 2)
        if (kv[1])
            json_object_set_new(o, kv[0], json_string(kv[1]));
    size_t n = json_dumpb(o, buf, (size_t)size - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (n == 0 || n > (size_t)size - 1)
        return snprintf(buf, (size_t)size, "{\"ts\":\"%s\",\"msg\":\"(line too long)\"}", ts);
    buf[n] = '\0';
    return (int)n;
}

int ims_log_format_line(char *buf, int size, enum ims_log_format format, const char *ts,
                        enum ims_log_level level, const char *daemon,
                        const struct ims_log_ids *ids, const char *const *kv, const char *msg)
{
    if (format == IMS_LOG_JSON)
        return format_json(buf, size, ts, level, daemon, ids, kv, msg);
    return format_kv(buf, size, ts, level, daemon, ids, kv, msg);
}

static void timestamp(char *ts, size_t size)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, size - n, ".%03ldZ", now.tv_nsec / 1000000);
}

static void emit(enum ims_log_level level, const struct ims_log_ids *ids,
                 const char *const *kv, const char *fmt, va_list ap)
{
    char msg[2048], ts[40], line[LINE_MAX_LEN];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* trailing newlines from library messages would split the line */
    size_t ml = strlen(msg);
    while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r'))
        msg[--ml] = '\0';
    timestamp(ts, sizeof(ts));
    int n = ims_log_format_line(line, sizeof(line) - 1, g_log.format, ts, level, g_log.daemon,
                                ids, kv, msg);
    line[n++] = '\n';
    ssize_t w = write(g_log.fd, line, (size_t)n);
    (void)w; /* nowhere to report a failed log write */
}

void ims_logv(enum ims_log_level level, const struct ims_log_ids *ids, const char *fmt,
              va_list ap)
{
    if (level > g_log.level)
        return;
    emit(level, ids, NULL, fmt, ap);
}

void ims_log(enum ims_log_level level, const struct ims_log_ids *ids, const char *fmt, ...)
{
    if (level > g_log.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, ids, NULL, fmt, ap);
    va_end(ap);
}

void ims_log_kv(enum ims_log_level level, const struct ims_log_ids *ids, const char *const *kv,
                const char *fmt, ...)
{
    if (level > g_log.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, ids, kv, fmt, ap);
    va_end(ap);
}

bool ims_log_limit_pass(struct ims_log_limit *lim, long long now_ms, unsigned long *held)
{
    if (lim->last_ms && now_ms < lim->last_ms + (long long)lim->interval * 1000) {
        lim->held++;
        return false;
    }
    *held = lim->held;
    lim->held = 0;
    lim->last_ms = now_ms > 0 ? now_ms : 1;
    return true;
}

void ims_log_limited(struct ims_log_limit *lim, enum ims_log_level level,
                     const struct ims_log_ids *ids, const char *fmt, ...)
{
    if (level > g_log.level)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long held;
    /* one lock for every limit: a call site may be reached from several threads (the
     * CDF's refusals on freeDiameter's dispatch threads); taken only when a line is due */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    bool pass = ims_log_limit_pass(lim, (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
                                   &held);
    pthread_mutex_unlock(&mu);
    if (!pass)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (held)
        ims_log(level, ids, "%s (%lu more since)", msg, held);
    else
        ims_log(level, ids, "%s", msg);
}
