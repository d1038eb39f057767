/*
 * select.c - the choice of an MRF: by load, a conference with the MRF that holds it
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

static void say(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len)
        vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

unsigned mrb_capacity(const struct mrb_mrf *m)
{
    if (m->max_sessions && m->max_sessions < m->capacity)
        return m->max_sessions;
    return m->capacity;
}

double mrb_load(const struct mrb_mrf *m)
{
    unsigned cap = mrb_capacity(m);
    if (cap == 0)
        return 1.0;
    return (double)(m->sessions + m->sent) / (double)cap;
}

bool mrb_holds(const struct mrb_mrf *m, const char *conf)
{
    for (char **c = m->confs; conf && c && *c; c++)
        if (strcmp(*c, conf) == 0)
            return true;
    return false;
}

size_t mrb_select(const struct mrb_mrf *mrfs, size_t n, int pinned, size_t *order, size_t max)
{
    if (max == 0)
        return 0;
    if (pinned >= 0) {
        if ((size_t)pinned >= n || !mrfs[pinned].up)
            return 0;
        order[0] = (size_t)pinned;
        return 1;
    }
    size_t cand[MRB_MRFS_MAX], k = 0;
    for (size_t i = 0; i < n && i < MRB_MRFS_MAX; i++) {
        double load = mrb_load(&mrfs[i]);
        if (!mrfs[i].up || load >= 1.0)
            continue;
        /* insertion by load; an equal load keeps the configuration's order */
        size_t j = k++;
        while (j > 0 && mrb_load(&mrfs[cand[j - 1]]) > load) {
            cand[j] = cand[j - 1];
            j--;
        }
        cand[j] = i;
    }
    if (k > max)
        k = max;
    memcpy(order, cand, k * sizeof(*order));
    return k;
}

int mrb_mrf_parse(const char *item, struct mrb_mrf *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->fd = m->index = -1;
    const char *eq = strchr(item, '=');
    if (!eq || eq == item) {
        say(err, errlen, "'%s': host[:port]=capacity is needed", item);
        return -EINVAL;
    }
    char *end;
    unsigned long cap = strtoul(eq + 1, &end, 10);
    if (!eq[1] || *end || eq[1] == '-' || cap < 1 || cap > 1000000) {
        say(err, errlen, "'%s': the capacity is a number of sessions from 1 to 1000000", item);
        return -EINVAL;
    }
    m->capacity = (unsigned)cap;
    size_t hlen = (size_t)(eq - item);
    const char *colon = memchr(item, ':', hlen);
    m->sip_port = 5060;
    if (colon) {
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (end != eq || port < 1 || port > 65535) {
            say(err, errlen, "'%s': bad port", item);
            return -EINVAL;
        }
        m->sip_port = (unsigned)port;
        hlen = (size_t)(colon - item);
    }
    if (hlen == 0 || hlen >= sizeof(m->host) ||
        strspn(item, "0123456789.") < hlen) {
        say(err, errlen, "'%s': the host is a numeric IPv4 address", item);
        return -EINVAL;
    }
    snprintf(m->host, sizeof(m->host), "%.*s", (int)hlen, item);
    snprintf(m->name, sizeof(m->name), "%s:%u", m->host, m->sip_port);
    return 0;
}

int mrb_check_mrf_item(const char *value, char *err, size_t errlen)
{
    struct mrb_mrf m;
    return mrb_mrf_parse(value, &m, err, errlen);
}

const char *mrb_conf_of(const char *user, char *out, size_t len)
{
    if (!user || strncmp(user, "conf=", 5) != 0 || !user[5] || strlen(user + 5) >= len)
        return NULL;
    url_unescape(out, user + 5);      /* as the MRF reads it (RFC 4240) */
    return out;
}
