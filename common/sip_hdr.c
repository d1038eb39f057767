/*
 * sip_hdr.c - IMS SIP header parse/format helpers
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "sip_hdr.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>

/* ---- small lexer for "a=b; c="d e"; f" parameter lists ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Copy the next item of s up to an unquoted @sep (or end) into buf, trimmed; returns the
 * position after the separator or NULL at the end. Inside a quoted-string a backslash
 * escapes the next character (RFC 3261 quoted-pair). -1 in *err on an unterminated quote. */
static const char *next_item(const char *s, char sep, char *buf, size_t len, int *err)
{
    bool q = false;
    size_t n = 0;
    const char *p = skip_ws(s);
    for (; *p; p++) {
        if (q && *p == '\\' && p[1]) {
            if (n + 1 < len)
                buf[n++] = *p;
            p++;
        } else if (*p == '"') {
            q = !q;
        } else if (*p == sep && !q) {
            break;
        }
        if (n + 1 < len)
            buf[n++] = *p;
    }
    while (n && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (q)
        *err = -1;
    return *p ? p + 1 : NULL;
}

/*
 * Undo an RFC 3261 quoted-string in place: the quotes go, quoted-pairs are undone. A value
 * that does not start with a quote stays as it is. False when the value holds a control
 * character, a quote anywhere but around it, or is cut short: formatting such a value again
 * would write a malformed header.
 */
static bool unquote(char *v)
{
    for (const char *p = v; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    if (*v != '"')
        return strchr(v, '"') == NULL;
    char *o = v;
    for (const char *p = v + 1; *p; p++) {
        if (*p == '\\' && p[1]) {
            *o++ = *++p;
        } else if (*p == '"') {
            *o = '\0';
            return p[1] == '\0';
        } else {
            *o++ = *p;
        }
    }
    return false;
}

/* Split "name=value" in place (value unquoted, "" when absent); false when the value is
 * malformed (see unquote()). */
static bool split_param(char *item, char **name, char **value)
{
    char *eq = strchr(item, '=');
    *name = item;
    *value = (char *)"";
    if (!eq)
        return true;
    *eq = '\0';
    char *v = (char *)skip_ws(eq + 1);
    char *e = *name + strlen(*name);
    while (e > *name && isspace((unsigned char)e[-1]))
        *--e = '\0';
    *value = v;
    return unquote(v);
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-.!%*_+`'~", *s))
            return false;
    return true;
}

/* host-like values (IPv4, names) are written bare, anything else quoted */
static bool is_gen_value(const char *s)
{
    if (is_token(s))
        return true;
    if (*s != '[')
        return false;
    for (s++; *s && *s != ']'; s++)
        if (!isxdigit((unsigned char)*s) && *s != ':' && *s != '.')
            return false;
    return *s == ']' && s[1] == '\0';
}

static int append(char *buf, size_t len, size_t *off, const char *fmt, const char *a,
                  const char *b)
{
    int n = snprintf(buf + *off, len > *off ? len - *off : 0, fmt, a, b);
    if (n < 0 || *off + (size_t)n >= len)
        return -ENOSPC;
    *off += (size_t)n;
    return 0;
}

/* "s" as an RFC 3261 quoted-string, '"' and '\\' escaped */
static int append_quoted(char *buf, size_t len, size_t *off, const char *prefix, const char *s)
{
    if (append(buf, len, off, "%s%s", prefix, "\"") != 0)
        return -ENOSPC;
    for (; *s; s++) {
        char c[3] = { '\\', *s, '\0' };
        if (append(buf, len, off, "%s%s", *s == '"' || *s == '\\' ? c : c + 1, "") != 0)
            return -ENOSPC;
    }
    return append(buf, len, off, "%s%s", "\"", "");
}

static int append_param(char *buf, size_t len, size_t *off, const char *name, const char *v)
{
    if (*off && append(buf, len, off, "%s%s", ";", "") != 0)
        return -ENOSPC;
    if (is_gen_value(v))
        return append(buf, len, off, "%s=%s", name, v);
    return append(buf, len, off, "%s%s", name, "=") ? -ENOSPC
                                                   : append_quoted(buf, len, off, "", v);
}

/* ---- P-Charging-Vector ---- */

int ims_pcv_parse(const char *value, struct ims_pcv *out)
{
    char item[256];
    int err = 0;
    memset(out, 0, sizeof(*out));
    for (const char *p = value; p;) {
        p = next_item(p, ';', item, sizeof(item), &err);
        char *name, *v;
        if (!split_param(item, &name, &v))
            err = -1;
        else if (strcasecmp(name, "icid-value") == 0)
            snprintf(out->icid, sizeof(out->icid), "%s", v);
        else if (strcasecmp(name, "icid-generated-at") == 0)
            snprintf(out->generated_at, sizeof(out->generated_at), "%s", v);
        else if (strcasecmp(name, "orig-ioi") == 0)
            snprintf(out->orig_ioi, sizeof(out->orig_ioi), "%s", v);
        else if (strcasecmp(name, "term-ioi") == 0)
            snprintf(out->term_ioi, sizeof(out->term_ioi), "%s", v);
    }
    return err || !out->icid[0] ? -EINVAL : 0;
}

int ims_pcv_format(const struct ims_pcv *pcv, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    if (!pcv->icid[0] || append_param(buf, len, &off, "icid-value", pcv->icid) != 0)
        return -ENOSPC;
    if (pcv->generated_at[0] &&
        append_param(buf, len, &off, "icid-generated-at", pcv->generated_at) != 0)
        return -ENOSPC;
    if (pcv->orig_ioi[0] && append_param(buf, len, &off, "orig-ioi", pcv->orig_ioi) != 0)
        return -ENOSPC;
    if (pcv->term_ioi[0] && append_param(buf, len, &off, "term-ioi", pcv->term_ioi) != 0)
        return -ENOSPC;
    return (int)off;
}

void ims_icid_generate(char *buf, size_t len, const char *node_addr)
{
    static atomic_uint counter;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint32_t h = 2166136261u;   /* FNV-1a of the node address keeps nodes apart */
    for (const char *p = node_addr ? node_addr : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    unsigned c = atomic_fetch_add(&counter, 1);
    snprintf(buf, len, "%08x%08lx%05lx%04x", h, (unsigned long)now.tv_sec,
             (unsigned long)(now.tv_nsec / 10000), c & 0xffff);
}

/* ---- P-Charging-Function-Addresses ---- */

int ims_pcfa_parse(const char *value, struct ims_pcfa *out)
{
    char item[256];
    int err = 0;
    memset(out, 0, sizeof(*out));
    for (const char *p = value; p;) {
        p = next_item(p, ';', item, sizeof(item), &err);
        char *name, *v;
        if (!split_param(item, &name, &v))
            err = -1;
        else if (strcasecmp(name, "ccf") == 0 && out->nccf < IMS_PCFA_MAX)
            snprintf(out->ccf[out->nccf++], sizeof(out->ccf[0]), "%s", v);
        else if (strcasecmp(name, "ecf") == 0 && out->necf < IMS_PCFA_MAX)
            snprintf(out->ecf[out->necf++], sizeof(out->ecf[0]), "%s", v);
    }
    return err || (!out->nccf && !out->necf) ? -EINVAL : 0;
}

int ims_pcfa_format(const struct ims_pcfa *pcfa, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < pcfa->nccf; i++)
        if (append_param(buf, len, &off, "ccf", pcfa->ccf[i]) != 0)
            return -ENOSPC;
    for (int i = 0; i < pcfa->necf; i++)
        if (append_param(buf, len, &off, "ecf", pcfa->ecf[i]) != 0)
            return -ENOSPC;
    return off ? (int)off : -EINVAL;
}

/* ---- P-Visited-Network-ID ---- */

int ims_pvni_parse(const char *value, struct ims_pvni *out)
{
    char item[256];
    int err = 0;
    memset(out, 0, sizeof(*out));
    for (const char *p = value; p && out->n < IMS_PVNI_MAX;) {
        p = next_item(p, ',', item, sizeof(item), &err);
        char spec[256];
        int e2 = 0;
        next_item(item, ';', spec, sizeof(spec), &e2);   /* drop vnetwork-params */
        if (spec[0] == '"' ? !unquote(spec) : !is_token(spec))
            return -EINVAL;
        if (!spec[0])
            return -EINVAL;
        snprintf(out->id[out->n++], sizeof(out->id[0]), "%s", spec);
    }
    return err || !out->n ? -EINVAL : 0;
}

int ims_pvni_format(const struct ims_pvni *pvni, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < pvni->n; i++) {
        const char *sep = i ? ", " : "";
        int rc = is_token(pvni->id[i]) ? append(buf, len, &off, "%s%s", sep, pvni->id[i])
                                       : append_quoted(buf, len, &off, sep, pvni->id[i]);
        if (rc)
            return rc;
    }
    return (int)off;
}

/* ---- name-addr lists ---- */

sip_route_t *ims_addr_list_parse(su_home_t *home, const char *value)
{
    return sip_route_make(home, value);
}

int ims_addr_list_format(const sip_route_t *list, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (const sip_route_t *r = list; r; r = r->r_next) {
        char tmp[512];
        /* the entry's own class prints it: Route, Record-Route, Path and Service-Route
         * share the structure, not the class */
        msg_header_t const *h = (msg_header_t const *)r;
        int n = (int)h->sh_class->hc_print(tmp, sizeof(tmp), (msg_header_t *)h, 0);
        if (n <= 0 || (size_t)n >= sizeof(tmp))
            return -ENOSPC;
        if (append(buf, len, &off, "%s%s", off ? ", " : "", tmp) != 0)
            return -ENOSPC;
    }
    return (int)off;
}

/* ---- unknown headers ---- */

const char *ims_sip_header(const sip_t *sip, const char *name)
{
    for (const sip_unknown_t *u = sip ? sip->sip_unknown : NULL; u; u = u->un_next)
        if (u->un_name && strcasecmp(u->un_name, name) == 0)
            return u->un_value ? u->un_value : "";
    return NULL;
}

int ims_sip_header_remove(msg_t *msg, sip_t *sip, const char *name)
{
    int n = 0;
    for (bool again = true; again;) {
        again = false;
        for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next) {
            if (u->un_name && strcasecmp(u->un_name, name) == 0) {
                msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)u);
                n++;
                again = true;
                break;
            }
        }
    }
    return n;
}

int ims_sip_header_add(msg_t *msg, sip_t *sip, const char *name, const char *value)
{
    if (strpbrk(name, ":\r\n") || strpbrk(value, "\r\n"))
        return -EINVAL;
    /* parse with the class the message knows for this name (unknown headers take the
     * whole "name: value" line) and insert before the end of the header block */
    msg_href_t const *hr = msg_find_hclass(msg_mclass(msg), name, NULL);
    if (!hr || !hr->hr_class)
        return -EINVAL;
    msg_header_t *h;
    if (hr->hr_class->hc_hash == msg_unknown_hash)
        h = msg_header_make(msg_home(msg), hr->hr_class,
                            su_sprintf(msg_home(msg), "%s: %s", name, value));
    else
        h = msg_header_make(msg_home(msg), hr->hr_class, value);
    if (!h)
        return -EINVAL;
    return msg_header_insert(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}

int ims_sip_header_set(msg_t *msg, sip_t *sip, const char *name, const char *value)
{
    ims_sip_header_remove(msg, sip, name);
    return ims_sip_header_add(msg, sip, name, value);
}

/* ---- routing headers ---- */

static int add_url_header(msg_t *msg, sip_t *sip, msg_hclass_t *hc, const url_t *uri)
{
    char *s = su_sprintf(msg_home(msg), "<" URL_PRINT_FORMAT ">", URL_PRINT_ARGS(uri));
    if (!s)
        return -ENOMEM;
    msg_header_t *h = msg_header_make(msg_home(msg), hc, s);
    if (!h)
        return -EINVAL;
    return msg_header_insert(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}

int ims_sip_path_push(msg_t *msg, sip_t *sip, const url_t *uri)
{
    return add_url_header(msg, sip, sip_path_class, uri);
}

int ims_sip_record_route_push(msg_t *msg, sip_t *sip, const url_t *uri)
{
    return add_url_header(msg, sip, sip_record_route_class, uri);
}

int ims_sip_route_prepend(msg_t *msg, sip_t *sip, const char *routes)
{
    char old[4096] = "";
    size_t off = 0;
    for (sip_route_t *r = sip->sip_route; r; r = r->r_next) {
        if (off + 4 >= sizeof(old))
            return -ENOSPC;
        off += (size_t)snprintf(old + off, sizeof(old) - off, "%s", off ? ", " : "");
        issize_t n = msg_header_field_e(old + off, sizeof(old) - off, (msg_header_t *)r, 0);
        if (n < 0 || (size_t)n >= sizeof(old) - off)
            return -ENOSPC;
        off += (size_t)n;
    }
    char *v = su_sprintf(msg_home(msg), "%s%s%s", routes, off ? ", " : "", old);
    msg_header_t *h = v ? msg_header_make(msg_home(msg), sip_route_class, v) : NULL;
    if (!h)
        return -EINVAL;
    while (sip->sip_route)
        sip_route_remove(msg, sip);
    return msg_header_insert(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}

int ims_sip_service_route_add(msg_t *msg, sip_t *sip, const url_t *uri)
{
    return add_url_header(msg, sip, sip_service_route_class, uri);
}

int ims_sip_paid_remove(msg_t *msg, sip_t *sip)
{
    int n = 0;
    sip_p_asserted_identity_t *paid;
    while ((paid = sip_p_asserted_identity(sip)) != NULL) {
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)paid);
        n++;
    }
    return n;
}

int ims_sip_paid_add(msg_t *msg, sip_t *sip, const char *uri)
{
    char *s = su_sprintf(msg_home(msg), "<%s>", uri);
    if (!s)
        return -ENOMEM;
    msg_header_t *h = msg_header_make(msg_home(msg), sip_p_asserted_identity_class, s);
    if (!h)
        return -EINVAL;
    return msg_header_insert(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}

bool ims_sip_url_is_local(const url_t *url, const char *const *hosts, int port)
{
    if (!url || !url->url_host)
        return false;
    int p = url->url_port && *url->url_port ? atoi(url->url_port)
                                            : (url->url_type == url_sips ? 5061 : 5060);
    if (p != port)
        return false;
    for (; hosts && *hosts; hosts++)
        if (strcasecmp(url->url_host, *hosts) == 0)
            return true;
    return false;
}

isize_t ims_url_param(const char *params, const char *name, char *value, size_t vlen)
{
    size_t tlen = strlen(name);
    for (const char *p = params; p && *p;) {
        size_t n = strcspn(p, ";");
        if (n >= tlen && strncasecmp(p, name, tlen) == 0 && (n == tlen || p[tlen] == '=')) {
            size_t flen = n == tlen ? 0 : n - tlen - 1;
            if (vlen > 0) {
                size_t k = flen < vlen ? flen : 0;
                memcpy(value, p + tlen + 1, k);
                value[k] = '\0';
            }
            return (isize_t)flen + 1;
        }
        if (!p[n])
            break;
        p += n + 1;
    }
    return 0;
}

/* ---- identities ---- */

int ims_sip_impu_of(const url_t *url, char *buf, size_t len)
{
    if (!url)
        return -EINVAL;
    if (url->url_type == url_tel) {
        /* sofia-sip keeps the number of a tel: URI as its user part */
        const char *number = url->url_user ? url->url_user : url->url_host;
        if (!number || !*number)
            return -EINVAL;
        snprintf(buf, len, "tel:%s", number);
        return 0;
    }
    if ((url->url_type != url_sip && url->url_type != url_sips) || !url->url_host)
        return -EINVAL;
    if (url->url_user)
        snprintf(buf, len, "sip:%s@%s", url->url_user, url->url_host);
    else
        snprintf(buf, len, "sip:%s", url->url_host);
    return 0;
}

int ims_sip_target_of(const url_t *url, char *buf, size_t len)
{
    char user[16] = "";
    if (url && url->url_params)
        ims_url_param(url->url_params, "user", user, sizeof(user));
    if (!url || url->url_type != url_sip || !url->url_user || strcasecmp(user, "phone") != 0)
        return ims_sip_impu_of(url, buf, len);
    /* a telephone number in a SIP URI: tel:number, without visual separators */
    size_t o = (size_t)snprintf(buf, len, "tel:");
    for (const char *p = url->url_user; *p && *p != ';' && o + 1 < len; p++)
        if (*p != '-' && *p != '.' && *p != '(' && *p != ')')
            buf[o++] = *p;
    buf[o < len ? o : len - 1] = '\0';
    return 0;
}

int ims_sip_auth_param(const sip_t *sip, const char *name, char *buf, size_t len)
{
    char key[64];
    snprintf(key, sizeof(key), "%s=", name);
    const char *v = sip->sip_authorization ? msg_params_find(sip->sip_authorization->au_params,
                                                            key)
                                           : NULL;
    if (!v)
        return -ENOENT;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    snprintf(buf, len, "%.*s", (int)n, v);
    return 0;
}

int ims_sip_impi_of(const sip_t *sip, char *buf, size_t len)
{
    if (ims_sip_auth_param(sip, "username", buf, len) == 0 && buf[0])
        return 0;
    const url_t *to = sip->sip_to ? sip->sip_to->a_url : NULL;
    if (!to || (to->url_type != url_sip && to->url_type != url_sips) || !to->url_user ||
        !to->url_host)
        return -ENOENT;
    snprintf(buf, len, "%s@%s", to->url_user, to->url_host);
    return 0;
}

unsigned ims_sip_register_expires(const sip_t *sip, unsigned def)
{
    if (sip->sip_contact && sip->sip_contact->m_url->url_type == url_any)
        return 0;   /* Contact: * */
    unsigned header = sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : def;
    unsigned max = 0;
    bool any = false;
    for (const sip_contact_t *m = sip->sip_contact; m; m = m->m_next) {
        unsigned e = m->m_expires ? (unsigned)strtoul(m->m_expires, NULL, 10) : header;
        if (!any || e > max)
            max = e;
        any = true;
    }
    return any ? max : header;
}
