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
