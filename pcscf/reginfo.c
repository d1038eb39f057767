/*
 * reginfo.c - reading reginfo documents (RFC 3680 section 5.3) and applying them to a binding
 *
 * The element tree comes from common/xml.c, which checks the syntax but skips attributes;
 * the attributes this package needs (aor, state, event, version) are read here from the
 * start tag of each element: the tag ends just before the element's raw content
 * (raw_off - 1 is its '>'), and '<' cannot occur inside it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml.h"

/* Decode the predefined entities of an attribute value into @out */
static void decode(const char *v, size_t n, char *out, size_t len)
{
    static const struct { const char *e; char c; } ents[] = {
        { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' }, { "&apos;", '\'' },
    };
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < len; i++) {
        char c = v[i];
        for (size_t k = 0; c == '&' && k < sizeof(ents) / sizeof(ents[0]); k++) {
            size_t el = strlen(ents[k].e);
            if (i + el <= n && memcmp(v + i, ents[k].e, el) == 0) {
                c = ents[k].c;
                i += el - 1;
                break;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* The start tag of @n in @doc: [*tag, *tag + *len), after the element name */
static bool start_tag(const char *doc, const struct ims_xml_node *n, const char **tag,
                      size_t *len)
{
    if (n->raw_off < 2 || doc[n->raw_off - 1] != '>')
        return false;
    size_t end = n->raw_off - 1, lt = end;
    while (lt > 0 && doc[lt] != '<')
        lt--;
    size_t nl = strlen(n->name);
    if (doc[lt] != '<' || lt + 1 + nl > end || memcmp(doc + lt + 1, n->name, nl) != 0)
        return false;
    *tag = doc + lt + 1 + nl;
    *len = end - (lt + 1 + nl);
    return true;
}

/* Value of attribute @name (local name, prefix ignored) of @n; false when absent */
static bool attr(const char *doc, const struct ims_xml_node *n, const char *name, char *out,
                 size_t len)
{
    const char *t;
    size_t tl;
    out[0] = '\0';
    if (!start_tag(doc, n, &t, &tl))
        return false;
    const char *p = t, *end = t + tl;
    while (p < end) {
        while (p < end && (isspace((unsigned char)*p) || *p == '/'))
            p++;
        const char *an = p;
        while (p < end && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t anl = (size_t)(p - an);
        while (p < end && (isspace((unsigned char)*p) || *p == '='))
            p++;
        if (p >= end || (*p != '"' && *p != '\''))
            return false;
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!q)
            return false;
        const char *colon = memchr(an, ':', anl);
        const char *local = colon ? colon + 1 : an;
        size_t ll = anl - (size_t)(local - an);
        if (ll == strlen(name) && memcmp(local, name, ll) == 0) {
            decode(p + 1, (size_t)(q - p - 1), out, len);
            return true;
        }
        p = q + 1;
    }
    return false;
}

static void read_contact(const char *doc, const struct ims_xml_node *c,
                         struct pcscf_ri_contact *out)
{
    memset(out, 0, sizeof(*out));
    attr(doc, c, "state", out->state, sizeof(out->state));
    attr(doc, c, "event", out->event, sizeof(out->event));
    const char *uri = ims_xml_child_text(c, "uri");
    if (uri)
        snprintf(out->uri, sizeof(out->uri), "%s", uri);
}

static void read_registration(const char *doc, const struct ims_xml_node *r,
                              struct pcscf_ri_reg *out)
{
    memset(out, 0, sizeof(*out));
    attr(doc, r, "aor", out->aor, sizeof(out->aor));
    attr(doc, r, "state", out->state, sizeof(out->state));
    for (const struct ims_xml_node *c = ims_xml_child(r, "contact");
         c && out->ncontacts < PCSCF_RI_MAX_CONTACTS; c = ims_xml_next(c, "contact"))
        read_contact(doc, c, &out->contacts[out->ncontacts++]);
}

int pcscf_reginfo_parse(const char *doc, size_t len, struct pcscf_reginfo *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct ims_xml_node *root = ims_xml_parse(doc, len, err, errlen);
    if (!root)
        return -EINVAL;
    const char *colon = strchr(root->name, ':');
    if (strcmp(colon ? colon + 1 : root->name, "reginfo") != 0) {
        snprintf(err, errlen, "the root element is <%s>, not <reginfo>", root->name);
        ims_xml_free(root);
        return -EINVAL;
    }
    char v[32];
    attr(doc, root, "state", out->state, sizeof(out->state));
    if (attr(doc, root, "version", v, sizeof(v)))
        out->version = strtol(v, NULL, 10);
    for (const struct ims_xml_node *r = ims_xml_child(root, "registration");
         r && out->nregs < PCSCF_RI_MAX_REGS; r = ims_xml_next(r, "registration")) {
        struct pcscf_ri_reg *reg = &out->regs[out->nregs];
        read_registration(doc, r, reg);
        if (reg->aor[0])
            out->nregs++;
    }
    ims_xml_free(root);
    return 0;
}

bool pcscf_reginfo_contact_ended(const struct pcscf_ri_contact *c)
{
    static const char *const ending[] = { "expired", "deactivated", "unregistered",
                                          "rejected", "probation" };
    if (strcasecmp(c->state, "terminated") == 0)
        return true;
    for (size_t i = 0; i < sizeof(ending) / sizeof(ending[0]); i++)
        if (strcasecmp(c->event, ending[i]) == 0)
            return true;
    return false;
}

static bool has_identity(const struct pcscf_binding *b, const char *aor)
{
    char n[PCSCF_URI_MAX];
    if (pcscf_impu_norm(aor, n, sizeof(n)) != 0)
        return false;
    if (strcasecmp(n, b->impu) == 0)
        return true;
    for (int i = 0; i < b->nids; i++)
        if (strcasecmp(n, b->ids[i]) == 0)
            return true;
    return false;
}

/* Remove the contacts of @b that @reg reports ended; returns how many */
static int apply_registration(const struct pcscf_ri_reg *reg, struct pcscf_binding *b)
{
    int n = 0;
    if (strcasecmp(reg->state, "terminated") == 0) {
        n = b->ncontacts;
        while (b->ncontacts)
            pcscf_binding_contact_remove(b, 0);
        return n;
    }
    for (int c = 0; c < reg->ncontacts; c++) {
        if (!pcscf_reginfo_contact_ended(&reg->contacts[c]))
            continue;
        for (int i = b->ncontacts - 1; i >= 0; i--) {
            if (pcscf_uri_same(b->contacts[i].uri, reg->contacts[c].uri)) {
                pcscf_binding_contact_remove(b, i);
                n++;
            }
        }
    }
    return n;
}

int pcscf_reginfo_apply(const struct pcscf_reginfo *ri, struct pcscf_binding *b)
{
    int n = 0;
    for (int r = 0; r < ri->nregs && b->ncontacts; r++)
        if (has_identity(b, ri->regs[r].aor))
            n += apply_registration(&ri->regs[r], b);
    return n;
}
