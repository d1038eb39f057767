/*
 * clf.c - the access line of a UE, for NASS-bundled authentication (ETSI ES 283 003, TS
 * 24.229 5.2.2.1, TS 33.203 annex R)
 *
 * In a TISPAN network the P-CSCF asks the CLF of the access network (e2, ES 283 035) where
 * the address a REGISTER comes from is attached, and writes the answer into the REGISTER as
 * P-Access-Network-Info with "network-provided": the S-CSCF compares its dsl-location with
 * the Line-Identifiers the HSS holds for the user. This P-CSCF has no e2 client: the
 * locations come from a table (pcscf.clf_table) that stands in for the CLF, one line per
 * access network:
 *
 *     # network            access-type   line identifier
 *     192.0.2.0/28         ADSL2+        dslam-7/port-3
 *
 * The most specific network that holds the source address wins. Whatever the table says,
 * a P-Access-Network-Info of the UE that holds "network-provided" anywhere (as a parameter,
 * inside quotes, after a quoted-pair: wherever any parser might find it) is removed
 * (TS 24.229 5.2.2.1): only the P-CSCF may say what the network saw.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "log.h"
#include "netlist.h"
#include "sip_hdr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>

#define CLF_LINE_MAX 128

struct clf_entry {
    struct ims_net net;
    char type[32];                     /* access-type of TS 24.229 7.2A.4 ("ADSL2+", ...) */
    char line[CLF_LINE_MAX];           /* the Line-Identifier (dsl-location) */
};

struct pcscf_clf {
    struct clf_entry *e;
    size_t n;
};

/* A line identifier fit for a quoted-string: printable, no quote or backslash */
static bool line_ok(const char *s)
{
    if (!*s || strlen(s) >= CLF_LINE_MAX)
        return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* One line of the table into @e: 1 parsed, 0 blank or comment, -EINVAL */
static int parse_line(char *text, struct clf_entry *e)
{
    char *hash = strchr(text, '#');
    if (hash)
        *hash = '\0';
    char net[64], type[32];
    int used = 0;
    if (sscanf(text, " %63s %31s %n", net, type, &used) != 2) {
        char *p = text + strspn(text, " \t\r\n");
        return *p ? -EINVAL : 0;
    }
    char *line = text + used;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
        line[--n] = '\0';
    if (ims_net_parse(net, &e->net) != 0 || !line_ok(line) ||
        strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-") !=
            strlen(type))
        return -EINVAL;
    snprintf(e->type, sizeof(e->type), "%s", type);
    snprintf(e->line, sizeof(e->line), "%s", line);
    return 1;
}

int pcscf_clf_load(struct pcscf *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ims_err("pcscf: pcscf.clf_table %s: %s", path, strerror(errno));
        return -errno;
    }
    struct pcscf_clf *clf = calloc(1, sizeof(*clf));
    char text[512];
    int lineno = 0, rc = clf ? 0 : -ENOMEM;
    while (rc == 0 && fgets(text, sizeof(text), f)) {
        struct clf_entry e;
        lineno++;
        int k = parse_line(text, &e);
        if (k < 0) {
            ims_err("%s:%d: expected 'network access-type line-identifier' (a line "
                    "identifier of printable characters without quotes)", path, lineno);
            rc = -EINVAL;
        } else if (k > 0) {
            struct clf_entry *grown = realloc(clf->e, (clf->n + 1) * sizeof(*grown));
            if (!grown)
                rc = -ENOMEM;
            else
                (clf->e = grown)[clf->n++] = e;
        }
    }
    fclose(f);
    if (rc) {
        if (clf)
            free(clf->e);
        free(clf);
        return rc;
    }
    p->clf = clf;
    ims_info("pcscf: %zu access network(s) in pcscf.clf_table %s (NASS-bundled)", clf->n,
             path);
    return 0;
}

void pcscf_clf_free(struct pcscf *p)
{
    if (p->clf)
        free(p->clf->e);
    free(p->clf);
    p->clf = NULL;
}

/* The most specific entry whose network holds @ip, NULL when none */
static const struct clf_entry *lookup(const struct pcscf_clf *clf, const char *ip)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        return NULL;
    const struct clf_entry *best = NULL;
    for (size_t i = 0; clf && i < clf->n; i++)
        if (ims_net_match(&clf->e[i].net, (struct sockaddr *)&ss) &&
            (!best || clf->e[i].net.prefix > best->net.prefix))
            best = &clf->e[i];
    return best;
}

bool pcscf_pani_network_provided(const char *value)
{
    return value && strcasestr(value, "network-provided") != NULL;
}

int pcscf_clf_mark(struct pcscf *p, msg_t *msg, sip_t *sip, const struct ims_sip_source *src)
{
    int removed = 0;
    for (bool again = true; again;) {
        again = false;
        for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
            if (u->un_name && strcasecmp(u->un_name, "P-Access-Network-Info") == 0 &&
                u->un_value && pcscf_pani_network_provided(u->un_value)) {
                msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)u);
                removed++;
                again = true;
                break;
            }
    }
    if (removed)
        ims_info("pcscf: REGISTER from %s: %d P-Access-Network-Info marked network-provided "
                 "by the UE removed", src->key, removed);
    const struct clf_entry *e = lookup(p->clf, src->ip);
    if (!e)
        return 0;
    char value[CLF_LINE_MAX + 64];
    snprintf(value, sizeof(value), "%s;dsl-location=\"%s\";network-provided", e->type, e->line);
    return ims_sip_header_add(msg, sip, "P-Access-Network-Info", value);
}
