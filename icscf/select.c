/*
 * select.c - choosing an S-CSCF by capabilities (TS 29.228 6.1.1.1, TS 24.229 5.3.1.2)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "icscf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_cap(const struct icscf_scscf *s, unsigned cap)
{
    for (int i = 0; i < s->ncaps; i++)
        if (s->caps[i] == cap)
            return true;
    return false;
}

static bool excluded_uri(const char *uri, const char *const *excluded, int n)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(uri, excluded[i]) == 0)
            return true;
    return false;
}

bool icscf_select(const struct icscf_scscf *list, int n, const struct icscf_caps *caps,
                  const char *const *excluded, int nexcluded, char *name, size_t len)
{
    name[0] = '\0';
    for (int i = 0; caps && i < caps->nnames; i++) {
        if (!excluded_uri(caps->names[i], excluded, nexcluded)) {
            snprintf(name, len, "%s", caps->names[i]);
            return true;
        }
    }
    int best = -1, best_score = -1;
    for (int i = 0; i < n; i++) {
        if (excluded_uri(list[i].uri, excluded, nexcluded))
            continue;
        bool ok = true;
        for (int m = 0; caps && ok && m < caps->nmandatory; m++)
            ok = has_cap(&list[i], caps->mandatory[m]);
        if (!ok)
            continue;
        int score = 0;
        for (int o = 0; caps && o < caps->noptional; o++)
            score += has_cap(&list[i], caps->optional[o]);
        if (score > best_score) {
            best = i;
            best_score = score;
        }
    }
    if (best < 0)
        return false;
    snprintf(name, len, "%s", list[best].uri);
    return true;
}

int icscf_scscf_parse(const char *item, struct icscf_scscf *out)
{
    memset(out, 0, sizeof(*out));
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", item);
    char *save = NULL, *tok = strtok_r(buf, " \t", &save);
    if (!tok || (strncasecmp(tok, "sip:", 4) != 0 && strncasecmp(tok, "sips:", 5) != 0) ||
        strlen(tok) >= sizeof(out->uri))
        return -EINVAL;
    snprintf(out->uri, sizeof(out->uri), "%s", tok);
    while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char *end;
        unsigned long cap = strtoul(tok, &end, 10);
        if (*end || out->ncaps == ICSCF_MAX_CAPS)
            return -EINVAL;
        out->caps[out->ncaps++] = (unsigned)cap;
    }
    return 0;
}

int icscf_check_scscf(const char *value, char *err, size_t errlen)
{
    struct icscf_scscf s;
    if (icscf_scscf_parse(value, &s) != 0) {
        snprintf(err, errlen, "'%s' is not 'sip:uri [capability ...]' (at most %d numbers)",
                 value, ICSCF_MAX_CAPS);
        return -1;
    }
    return 0;
}
