/*
 * log.h - one line per event, key=value or JSON, with the session identifiers
 *
 * Every line carries a timestamp, the level, the daemon name and the message; a line that
 * belongs to a SIP transaction or a Diameter session also carries its Call-ID, ICID or
 * Session-Id. Lines are written whole with one write(2) so threads never interleave.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_LOG_H
#define IMS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum ims_log_level {
    IMS_LOG_ERROR = 0,
    IMS_LOG_WARN,
    IMS_LOG_INFO,
    IMS_LOG_DEBUG,
};

enum ims_log_format {
    IMS_LOG_KV = 0,     /* ts=... level=info daemon=pcscf msg="..." callid=... */
    IMS_LOG_JSON,       /* {"ts":"...","level":"info",...} */
};

/* Identifiers a line may carry; any member may be NULL. */
struct ims_log_ids {
    const char *call_id;     /* SIP Call-ID */
    const char *icid;        /* IMS Charging Identifier (P-Charging-Vector icid-value) */
    const char *session_id;  /* Diameter Session-Id */
};

/*
 * ims_log_init - set the daemon name, level, format and destination.
 * @path: file to append to, or NULL / "-" for stderr.
 * Returns 0, or -errno when the file cannot be opened (logging then stays on stderr).
 */
int ims_log_init(const char *daemon, enum ims_log_level level, enum ims_log_format format,
                 const char *path);
void ims_log_fini(void);

/* Parse "error|warn|info|debug" and "kv|json"; return -1 when the word is unknown. */
int ims_log_level_parse(const char *word);
int ims_log_format_parse(const char *word);
const char *ims_log_level_name(enum ims_log_level level);

void ims_log_set_level(enum ims_log_level level);
bool ims_log_enabled(enum ims_log_level level);

/*
 * ims_log - write one event.
 * @ids: identifiers of the transaction or session, or NULL.
 * The message is free text (printf format); it is quoted or JSON-escaped as needed.
 */
void ims_log(enum ims_log_level level, const struct ims_log_ids *ids, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ims_logv(enum ims_log_level level, const struct ims_log_ids *ids, const char *fmt,
              va_list ap);

/*
 * ims_log_kv - write one event with extra key=value fields.
 * @kv: NULL-terminated array of alternating keys and values (values may be NULL: skipped).
 */
void ims_log_kv(enum ims_log_level level, const struct ims_log_ids *ids, const char *const *kv,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * A rate limit of one call site (ims_log_limited): at most one line every @interval seconds;
 * the lines held back in between are counted and the next line written says how many
 * ("... (1234 more since)"). Zero the rest; usually a static of the call site:
 *   static struct ims_log_limit lim = IMS_LOG_LIMIT(10);
 * ims_log_limited may be called for one limit from several threads (it takes a lock);
 * ims_log_limit_pass alone may not.
 */
struct ims_log_limit {
    unsigned interval;        /* seconds between two lines */
    long long last_ms;        /* CLOCK_MONOTONIC ms of the last line written; 0: none yet */
    unsigned long held;       /* lines held back since */
};
#define IMS_LOG_LIMIT(seconds) { .interval = (seconds), .last_ms = 0, .held = 0 }

/*
 * ims_log_limit_pass - whether a line of @lim may be written at @now_ms (monotonic ms): true
 * with the count of lines held back since the last one in @held (then reset), false when it
 * is held back (counted). The decision of ims_log_limited, exposed for the unit tests.
 */
bool ims_log_limit_pass(struct ims_log_limit *lim, long long now_ms, unsigned long *held);

/*
 * ims_log_limited - ims_log() at most once per @lim->interval seconds; a line written after
 * some were held back ends with " (N more since)". A level that is off counts nothing.
 */
void ims_log_limited(struct ims_log_limit *lim, enum ims_log_level level,
                     const struct ims_log_ids *ids, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ims_err(...)   ims_log(IMS_LOG_ERROR, NULL, __VA_ARGS__)
#define ims_warn(...)  ims_log(IMS_LOG_WARN, NULL, __VA_ARGS__)
#define ims_info(...)  ims_log(IMS_LOG_INFO, NULL, __VA_ARGS__)
#define ims_debug(...) ims_log(IMS_LOG_DEBUG, NULL, __VA_ARGS__)

/*
 * ims_log_format_line - format one line into @buf (no trailing newline added by callers).
 * Exposed for the unit tests; returns the length written (truncated lines end in "...").
 */
int ims_log_format_line(char *buf, int size, enum ims_log_format format, const char *ts,
                        enum ims_log_level level, const char *daemon,
                        const struct ims_log_ids *ids, const char *const *kv, const char *msg);

#endif
