/*
 * reginfo.c - reading reginfo documents (RFC 3680 section 5.3) and applying them to a binding
 *
 * The element tree and the attributes (aor, state, event, version) come from common/xml.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml.h"

/*
 * Copy attribute @name of @n into @out; a value that does not fit is left out as a whole
 * (a cut identity or state could name something else). False when absent or left out.
 */
static bool attr(const struct ims_xml_node *n, const char *name, char *out, size_t len)
{
    const char *v = ims_xml_attr(n, name);
    out[0] = '\0';
    if (!v || strlen(v) >= len)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

static void read_contact(const struct ims_xml_node *c, struct pcscf_ri_contact *out)
{
    memset(out, 0, sizeof(*out));
    attr(c, "state", out->state, sizeof(out->state));
    attr(c, "event", out->event, sizeof(out->event));
    const char *uri = ims_xml_child_text(c, "uri");
    if (uri && strlen(uri) < sizeof(out->uri))
        memcpy(out->uri, uri, strlen(uri) + 1);
}

static void read_registration(const struct ims_xml_node *r, struct pcscf_ri_reg *out)
{
    memset(out, 0, sizeof(*out));
    attr(r, "aor", out->aor, sizeof(out->aor));
    attr(r, "state", out->state, sizeof(out->state));
    for (const struct ims_xml_node *c = ims_xml_child(r, "contact");
         c && out->ncontacts < PCSCF_RI_MAX_CONTACTS; c = ims_xml_next(c, "contact"))
        read_contact(c, &out->contacts[out->ncontacts++]);
}

int pcscf_reginfo_parse(const char *doc, size_t len, struct pcscf_reginfo *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct ims_xml_node *root = ims_xml_parse(doc, len, err, errlen);
    if (!root)
        return -EINVAL;
    if (!ims_xml_is(root, "reginfo")) {
        snprintf(err, errlen, "the root element is <%.60s>, not <reginfo>", root->name);
        ims_xml_free(root);
        return -EINVAL;
    }
    char v[32];
    attr(root, "state", out->state, sizeof(out->state));
    if (attr(root, "version", v, sizeof(v)))
        out->version = strtol(v, NULL, 10);
    for (const struct ims_xml_node *r = ims_xml_child(root, "registration");
         r && out->nregs < PCSCF_RI_MAX_REGS; r = ims_xml_next(r, "registration")) {
        struct pcscf_ri_reg *reg = &out->regs[out->nregs];
        read_registration(r, reg);
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
