/*
 * service.c - the service of a Request-URI: an RFC 4240 announcement or conference, or a
 * leg or control channel for an application server's Cr control (RFC 6230)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "service.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && len)
        vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

const char *mrfc_service_name(int kind)
{
    static const char *const names[MRFC_SVC_KINDS] = { "none", "annc", "conf", "media",
                                                       "cfw" };
    return kind > 0 && kind < MRFC_SVC_KINDS ? names[kind] : "none";
}

/*
 * Parameter @name of @params as an unsigned number of at most @max (or the word @word,
 * which gives @word_value) into @out; @out is left alone when the parameter is absent.
 * 0, or -EINVAL with @why.
 */
static int number_param(const char *params, const char *name, unsigned max, const char *word,
                        unsigned word_value, unsigned *out, char *why, size_t whylen)
{
    char v[32];
    isize_t n = ims_url_param(params, name, v, sizeof(v));
    if (n == 0)
        return 0;
    if ((size_t)n > sizeof(v)) {
        say(why, whylen, "%s= is too long", name);
        return -EINVAL;
    }
    if (word && strcasecmp(v, word) == 0) {
        *out = word_value;
        return 0;
    }
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (!v[0] || *end || v[0] == '-' || x > max) {
        say(why, whylen, "%s=%s is not a number from 0 to %u%s%s", name, v, max,
            word ? " or " : "", word ? word : "");
        return -EINVAL;
    }
    *out = (unsigned)x;
    return 0;
}

static int parse_annc(const url_t *uri, struct mrfc_service *out, char *why, size_t whylen)
{
    const char *params = uri->url_params;
    char raw[sizeof(out->play)];
    isize_t n = ims_url_param(params, "play", raw, sizeof(raw));
    if (n <= 1) {
        say(why, whylen, "annc without a play= parameter (RFC 4240 3)");
        return -EINVAL;
    }
    if ((size_t)n > sizeof(raw)) {
        say(why, whylen, "play= is longer than %zu characters", sizeof(raw) - 1);
        return -EINVAL;
    }
    url_unescape(out->play, raw);
    out->repeat = 1;
    if (number_param(params, "repeat", MRFC_REPEAT_MAX, "forever", 0, &out->repeat, why,
                     whylen) != 0 ||
        number_param(params, "delay", MRFC_MS_MAX, NULL, 0, &out->delay_ms, why, whylen) != 0 ||
        number_param(params, "duration", MRFC_MS_MAX, NULL, 0, &out->duration_ms, why,
                     whylen) != 0)
        return -EINVAL;
    if (ims_url_param(params, "repeat", raw, sizeof(raw)) && strcmp(raw, "0") == 0) {
        say(why, whylen, "repeat=0 plays nothing");
        return -EINVAL;
    }
    out->kind = MRFC_SVC_ANNC;
    return 0;
}

static int parse_conf(const char *user, struct mrfc_service *out, char *why, size_t whylen)
{
    char id[256];
    if (strlen(user) >= sizeof(id)) {
        say(why, whylen, "conference identifier longer than %zu", sizeof(out->conf) - 1);
        return -EINVAL;
    }
    url_unescape(id, user);
    size_t len = strlen(id);
    if (len == 0 || len >= sizeof(out->conf)) {
        say(why, whylen, "conference identifier of %zu characters (1 to %zu)", len,
            sizeof(out->conf) - 1);
        return -EINVAL;
    }
    if (strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+") !=
        len) {
        say(why, whylen, "conference identifier with characters other than letters, digits "
                         "and -._~+");
        return -EINVAL;
    }
    memcpy(out->conf, id, len + 1);
    out->kind = MRFC_SVC_CONF;
    return 0;
}

int mrfc_service_parse(const url_t *uri, struct mrfc_service *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    const char *user = uri ? uri->url_user : NULL;
    if (!user || (uri->url_type != url_sip && uri->url_type != url_sips)) {
        say(why, whylen, "no media service in a Request-URI without a SIP user part");
        return -ENOENT;
    }
    if (strcmp(user, "annc") == 0)
        return parse_annc(uri, out, why, whylen);
    if (strncmp(user, "conf=", 5) == 0)
        return parse_conf(user + 5, out, why, whylen);
    if (strcmp(user, MRFC_SVC_MEDIA_USER) == 0) {
        out->kind = MRFC_SVC_MEDIA;
        return 0;
    }
    say(why, whylen, "no media service '%.40s' here: annc and conf=<id> are (RFC 4240), "
        MRFC_SVC_MEDIA_USER " a leg or control channel of an AS (RFC 6230)", user);
    return -ENOENT;
}
