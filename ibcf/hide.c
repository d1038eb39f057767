/*
 * hide.c - the header edits of topology hiding (THIG, TS 24.229 5.10.4): the home network's
 * Via, Record-Route, Path and Service-Route entries leave as one entry of the IBCF, and come
 * back restored
 *
 * - Via: the entries of a request towards the peer become one Via of the IBCF; the proxy
 *   is stateful, so each response gets them back from the transaction (no token needed).
 * - Record-Route and Path of a request towards the peer: the entries become one entry of
 *   the IBCF whose user part is a token sealing them (<sip:TOKEN@ibcf;lr;tokenized-by=...>).
 *   The peer's requests come back with that entry in their Route and the token gives the
 *   entries back, in the order they are to be visited. The response to the request gets its
 *   entries back from the transaction, after our plain entry.
 * - A response going to the peer (to a request it sent): the Record-Route entries the home
 *   network added above ours, and ours, become one token entry; Service-Route of a 2xx to a
 *   REGISTER the same.
 * Our entry is a token even when there is nothing to hide (or hiding is off for the peer):
 * a request of the peer comes back inside a dialog or registration only with a token this
 * IBCF made for that peer, never along a route the peer wrote itself.
 *
 * Lists are edited as text: the entries are printed one by one, the new list is written
 * and parsed again by sofia-sip, and replaces the old one.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#define LIST_MAX 8192                   /* the text of one header list, at most */
#define ENTRY_MAX 2048

/* ---- text lists ---- */

/* Append @item to the comma-separated list in @buf */
static int list_add(char *buf, size_t len, const char *item)
{
    size_t off = strlen(buf);
    int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", item);
    return n < 0 || (size_t)n >= len - off ? -ENOSPC : 0;
}

/* One entry of a list header (no header name) into @buf */
static int entry_e(const void *h, char *buf, size_t len)
{
    issize_t n = msg_header_field_e(buf, (isize_t)len, (const msg_header_t *)h, 0);
    return n <= 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* The list of @hc in @sip, or NULL */
static msg_header_t *list_of(msg_t *msg, sip_t *sip, msg_hclass_t *hc)
{
    msg_header_t **slot = msg_hclass_offset(msg_mclass(msg), (msg_pub_t *)sip, hc);
    return slot ? *slot : NULL;
}

/*
 * Replace the whole list of @hc by @value ("" removes it). 0, -EINVAL (@value does not
 * parse: sofia-sip reads some entries it cannot write back, "host>;p" as <host>>;p) or
 * -ENOMEM; on failure the list stays as it was.
 */
static int list_set(msg_t *msg, sip_t *sip, msg_hclass_t *hc, const char *value)
{
    msg_header_t *old = list_of(msg, sip, hc);
    msg_header_t *h = *value ? msg_header_make(msg_home(msg), hc, value) : NULL;
    if (*value && !h)
        return -EINVAL;
    if (old && msg_header_remove_all(msg, (msg_pub_t *)sip, old) != 0)
        return -ENOMEM;
    if (!h)
        return 0;
    return msg_header_insert(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}

/* ---- our own entries ---- */

static void host_port(const struct ibcf_th *th, char *buf, size_t len)
{
    bool v6 = strchr(th->host, ':') != NULL;
    snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", th->host, v6 ? "]" : "", th->port);
}

/* Does @url name this IBCF (its address and port)? */
static bool ours(const struct ibcf_th *th, const url_t *url)
{
    if (!url || !url->url_host)
        return false;
    unsigned port = url->url_port && *url->url_port ? (unsigned)atoi(url->url_port) : 5060;
    const char *h = url->url_host;
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']')
        return port == th->port && strncasecmp(h + 1, th->host, hl - 2) == 0 &&
               th->host[hl - 2] == '\0';
    return port == th->port && strcasecmp(h, th->host) == 0;
}

bool ibcf_th_is_plain(const struct ibcf_th *th, const url_t *url)
{
    return ours(th, url) && !url->url_user;
}

const char *ibcf_th_token_of(const struct ibcf_th *th, const url_t *url)
{
    if (!ours(th, url) || !url->url_user || !*url->url_user ||
        !url_has_param(url, "tokenized-by"))
        return NULL;
    return url->url_user;
}

static void plain_entry(const struct ibcf_th *th, char *out, size_t len)
{
    char hp[160];
    host_port(th, hp, sizeof(hp));
    snprintf(out, len, "<sip:%s;lr>", hp);
}

int ibcf_th_entry(const struct ibcf_th *th, int kind, const char *hidden, char *out,
                  size_t len)
{
    size_t tlen = ibcf_token_size(strlen(hidden));
    char *token = malloc(tlen);
    if (!token)
        return -ENOMEM;
    int rc = ibcf_token_seal(th->key, kind, th->peer, th->call_id, hidden, token, tlen);
    if (rc >= 0) {
        char hp[160];
        host_port(th, hp, sizeof(hp));
        int n = snprintf(out, len, "<sip:%s@%s;lr;tokenized-by=%s>", token, hp, th->domain);
        rc = n < 0 || (size_t)n >= len ? -ENOSPC : 0;
    }
    free(token);
    return rc;
}

/* ---- Via ---- */

int ibcf_hide_vias(msg_t *msg, sip_t *sip, const struct ibcf_th *th, const char *branch,
                   char *saved, size_t len)
{
    char item[ENTRY_MAX], via[256], hp[160];
    saved[0] = '\0';
    for (sip_via_t *v = sip->sip_via; v; v = v->v_next)
        if (entry_e(v, item, sizeof(item)) != 0 || list_add(saved, len, item) != 0)
            return -ENOSPC;
    host_port(th, hp, sizeof(hp));
    snprintf(via, sizeof(via), "SIP/2.0/UDP %s;branch=%s", hp, branch);
    return list_set(msg, sip, sip_via_class, via);
}

int ibcf_restore_vias(msg_t *msg, sip_t *sip, const char *branch, const char *saved)
{
    char *list = malloc(LIST_MAX);
    char item[ENTRY_MAX];
    if (!list)
        return -ENOMEM;
    list[0] = '\0';
    int i = 0, rc = -ENOENT;
    for (sip_via_t *v = sip->sip_via; v; v = v->v_next, i++) {
        bool mine = i < 2 && rc == -ENOENT && v->v_branch && strcmp(v->v_branch, branch) == 0;
        if (mine)
            rc = list_add(list, LIST_MAX, saved);
        else if (entry_e(v, item, sizeof(item)) != 0 || list_add(list, LIST_MAX, item) != 0)
            rc = -ENOSPC;
        if (rc != 0 && rc != -ENOENT)
            break;
    }
    if (rc == 0)
        rc = list_set(msg, sip, sip_via_class, list);
    free(list);
    return rc;
}

/* ---- Record-Route and Path of requests towards the peer ---- */

int ibcf_hide_list(msg_t *msg, sip_t *sip, msg_hclass_t *list_class, const struct ibcf_th *th,
                   int kind, bool hide, char *saved, size_t len)
{
    char *list = malloc(LIST_MAX);
    char item[ENTRY_MAX];
    if (!list)
        return -ENOMEM;
    saved[0] = '\0';
    list[0] = '\0';
    int rc = 0;
    for (sip_route_t *r = (sip_route_t *)list_of(msg, sip, list_class); r && !rc; r = r->r_next)
        if (entry_e(r, item, sizeof(item)) != 0 || list_add(list, LIST_MAX, item) != 0)
            rc = -ENOSPC;
    if (!rc && hide && snprintf(saved, len, "%s", list) >= (int)len)
        rc = -ENOSPC;
    char *entry = rc ? NULL : malloc(LIST_MAX);
    if (!rc && !entry)
        rc = -ENOMEM;
    if (!rc)
        rc = ibcf_th_entry(th, kind, hide ? list : "", entry, LIST_MAX);
    if (!rc && !hide && list[0])
        rc = list_add(entry, LIST_MAX, list);
    if (!rc)
        rc = list_set(msg, sip, list_class, entry);
    free(entry);
    free(list);
    return rc;
}

int ibcf_restore_list(msg_t *msg, sip_t *sip, msg_hclass_t *list_class,
                      const struct ibcf_th *th, const char *saved)
{
    char *list = malloc(LIST_MAX);
    char item[ENTRY_MAX];
    if (!list)
        return -ENOMEM;
    list[0] = '\0';
    int rc = -ENOENT;
    for (sip_route_t *r = (sip_route_t *)list_of(msg, sip, list_class); r; r = r->r_next) {
        int e;
        if (rc == -ENOENT && ibcf_th_token_of(th, r->r_url)) {
            plain_entry(th, item, sizeof(item));
            e = list_add(list, LIST_MAX, item);
            if (!e && saved[0])
                e = list_add(list, LIST_MAX, saved);
            rc = e;
        } else {
            e = entry_e(r, item, sizeof(item)) == 0 ? list_add(list, LIST_MAX, item) : -ENOSPC;
        }
        if (e) {
            rc = e;
            break;
        }
    }
    if (rc == 0)
        rc = list_set(msg, sip, list_class, list);
    free(list);
    return rc;
}

/* ---- responses going to the peer ---- */

#define RR_MAX 64                       /* Record-Route entries above ours, at most */

/* The entries of @rr before @stop, in reverse order (the one nearest @stop first) */
static int reversed(const sip_route_t *rr, const sip_route_t *stop, char *out, size_t len)
{
    const sip_route_t *above[RR_MAX];
    int n = 0;
    char item[ENTRY_MAX];
    for (const sip_route_t *r = rr; r && r != stop; r = r->r_next) {
        if (n == RR_MAX)
            return -ENOSPC;
        above[n++] = r;
    }
    out[0] = '\0';
    while (n-- > 0)
        if (entry_e(above[n], item, sizeof(item)) != 0 || list_add(out, len, item) != 0)
            return -ENOSPC;
    return 0;
}

/* The Record-Route of a response to the peer: @token_entry in place of @own, and with
 * @hide without the entries above it */
static int rr_rebuilt(const sip_route_t *rr, const sip_route_t *own, const char *token_entry,
                      bool hide, char *out, size_t len)
{
    char item[ENTRY_MAX];
    bool above = true;
    out[0] = '\0';
    for (const sip_route_t *r = rr; r; r = r->r_next) {
        int rc = 0;
        if (r == own) {
            rc = list_add(out, len, token_entry);
            above = false;
        } else if (!(above && hide)) {
            rc = entry_e(r, item, sizeof(item)) == 0 ? list_add(out, len, item) : -ENOSPC;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int ibcf_hide_response_rr(msg_t *msg, sip_t *sip, const struct ibcf_th *th, bool hide)
{
    const sip_route_t *own = sip->sip_record_route;
    while (own && !ibcf_th_is_plain(th, own->r_url))
        own = own->r_next;
    if (!own)
        return -ENOENT;
    char *hidden = malloc(LIST_MAX), *entry = malloc(LIST_MAX), *list = malloc(LIST_MAX);
    int rc = hidden && entry && list ? 0 : -ENOMEM;
    if (!rc) {
        hidden[0] = '\0';
        if (hide)
            rc = reversed(sip->sip_record_route, own, hidden, LIST_MAX);
    }
    if (!rc)
        rc = ibcf_th_entry(th, IBCF_TOKEN_DIALOG, hidden, entry, LIST_MAX);
    if (!rc)
        rc = rr_rebuilt(sip->sip_record_route, own, entry, hide, list, LIST_MAX);
    if (!rc)
        rc = list_set(msg, sip, sip_record_route_class, list);
    free(list);
    free(entry);
    free(hidden);
    return rc;
}

int ibcf_hide_service_route(msg_t *msg, sip_t *sip, const struct ibcf_th *th, bool hide)
{
    if (!sip->sip_service_route)
        return 0;
    char *saved = malloc(LIST_MAX);
    if (!saved)
        return -ENOMEM;
    int rc = ibcf_hide_list(msg, sip, sip_service_route_class, th, IBCF_TOKEN_REGISTRATION,
                            hide, saved, LIST_MAX);
    free(saved);
    return rc;
}

int ibcf_push_plain(msg_t *msg, sip_t *sip, msg_hclass_t *list_class,
                    const struct ibcf_th *th)
{
    char *list = malloc(LIST_MAX);
    char item[ENTRY_MAX];
    if (!list)
        return -ENOMEM;
    plain_entry(th, list, LIST_MAX);
    int rc = 0;
    for (sip_route_t *r = (sip_route_t *)list_of(msg, sip, list_class); r && !rc; r = r->r_next)
        if (entry_e(r, item, sizeof(item)) != 0 || list_add(list, LIST_MAX, item) != 0)
            rc = -ENOSPC;
    if (!rc)
        rc = list_set(msg, sip, list_class, list);
    free(list);
    return rc;
}

/* ---- Route of requests from the peer ---- */

int ibcf_restore_routes(const sip_t *sip, const struct ibcf_th *th, char *out, size_t len,
                        int *tokens, char *why, size_t whylen)
{
    out[0] = '\0';
    *tokens = 0;
    char *plain = malloc(LIST_MAX);
    if (!plain)
        return -ENOMEM;
    int rc = 0;
    for (const sip_route_t *r = sip->sip_route; r && ours(th, r->r_url) && !rc;
         r = r->r_next) {
        const char *token = ibcf_th_token_of(th, r->r_url);
        if (!token)
            continue;                   /* our plain entry: nothing behind it */
        if (ibcf_token_open(th->key, token, th->peer, th->call_id, plain, LIST_MAX) < 0) {
            snprintf(why, whylen, "a Route token this IBCF did not make for network %s%s",
                     th->peer, token[0] == IBCF_TOKEN_DIALOG ? " and this dialog" : "");
            rc = -EINVAL;
        } else {
            (*tokens)++;
            if (plain[0] && list_add(out, len, plain) != 0)
                rc = -ENOSPC;
        }
    }
    free(plain);
    return rc;
}
