/*
 * store.c - registrations of the S-CSCF in memory (every public identity of a set points at
 * its aor); every change is noted for store_db.c, which writes it to SQLite
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "milenage.h"                     /* ims_hex_encode */

struct scscf_aor *scscf_store_find(struct scscf *s, const char *impu)
{
    return ims_map_get(s->aors, impu);
}

static void link_aor(struct scscf *s, struct scscf_aor *aor)
{
    aor->next = s->all;
    if (s->all)
        s->all->prev = aor;
    s->all = aor;
    s->naors++;
}

/* Free a binding, forgetting its temporary GRUU */
static void contact_free(struct scscf *s, struct scscf_contact *c)
{
    if (c->tgruu[0] && s->tgruus)
        ims_map_remove(s->tgruus, c->tgruu);
    free(c->text);
    free(c);
}

static void free_contacts(struct scscf *s, struct scscf_contact *c)
{
    while (c) {
        struct scscf_contact *n = c->next;
        contact_free(s, c);
        c = n;
    }
}

void scscf_store_contact_free(struct scscf *s, struct scscf_contact *c)
{
    contact_free(s, c);
}

/* A new temporary GRUU user part for @c, known to the map (none when it cannot be kept) */
static void new_tgruu(struct scscf *s, struct scscf_aor *aor, struct scscf_contact *c)
{
    uint8_t r[10];
    if (!s->tgruus || RAND_bytes(r, sizeof(r)) != 1)
        return;
    char hex[21];
    ims_hex_encode(r, sizeof(r), hex);
    snprintf(c->tgruu, sizeof(c->tgruu), "tgruu.%s", hex);
    int err = 0;
    if (!ims_map_put(s->tgruus, c->tgruu, aor, &err) && err)
        c->tgruu[0] = '\0';
}

/* Free an aor that is no longer indexed (its identities, profile, the aor itself) */
static void aor_free(struct scscf_aor *aor)
{
    for (int i = 0; i < aor->nimpus; i++)
        free(aor->impus[i]);
    free(aor->profile);
    free(aor->ccf);
    free(aor->ecf);
    free(aor);
}

int scscf_store_set_name(char **name, const char *value)
{
    char *copy = NULL;
    if (value && *value && !(copy = strdup(value)))
        return -ENOMEM;
    free(*name);
    *name = copy;
    return 0;
}

/* A new aor for @impu with the identities of @profile (or @impu alone); indexed. NULL when
 * out of memory. */
static struct scscf_aor *create(struct scscf *s, const char *impu, const char *profile)
{
    struct scscf_aor *aor = calloc(1, sizeof(*aor));
    if (!aor)
        return NULL;
    aor->impus[0] = strndup(impu, SCSCF_ID_MAX - 1);
    if (!aor->impus[0]) {
        free(aor);
        return NULL;
    }
    aor->nimpus = 1;
    char ids[SCSCF_MAX_IMPUS][SCSCF_ID_MAX];
    bool barred[SCSCF_MAX_IMPUS];
    int n = profile ? scscf_profile_identities(profile, ids, barred, SCSCF_MAX_IMPUS) : 0;
    for (int i = 0; i < n; i++) {
        if (strcasecmp(ids[i], impu) == 0) {
            aor->barred[0] = barred[i];
            continue;
        }
        if (aor->nimpus < SCSCF_MAX_IMPUS) {
            aor->impus[aor->nimpus] = strdup(ids[i]);
            if (!aor->impus[aor->nimpus]) {
                aor_free(aor);
                return NULL;
            }
            aor->barred[aor->nimpus++] = barred[i];
        }
    }
    if (profile && !(aor->profile = strdup(profile))) {
        aor_free(aor);
        return NULL;
    }
    for (int i = 0; i < aor->nimpus; i++) {
        int err;
        struct scscf_aor *other = ims_map_put(s->aors, aor->impus[i], aor, &err);
        if (other && other != aor)
            ims_warn("scscf: %s moves to a new registration set", aor->impus[i]);
    }
    link_aor(s, aor);
    scscf_store_touch(s, aor);
    return aor;
}

struct scscf_aor *scscf_store_new(struct scscf *s, const char *impu, const char *profile)
{
    return create(s, impu, profile);
}

struct scscf_aor *scscf_store_upsert(struct scscf *s, const char *impu, const char *profile)
{
    struct scscf_aor *aor = scscf_store_find(s, impu);
    if (!aor)
        return create(s, impu, profile);
    if (profile && (!aor->profile || strcmp(aor->profile, profile) != 0)) {
        free(aor->profile);
        aor->profile = strdup(profile);
        scscf_store_ifcs_reset(aor);
        scscf_store_touch(s, aor);
    }
    return aor;
}

int scscf_store_count_contacts(const struct scscf_aor *aor)
{
    int n = 0;
    for (const struct scscf_contact *c = aor->contacts; c; c = c->next)
        n++;
    return n;
}

/* Copy @str to *@at, advancing it; returns the copy */
static const char *put(char **at, const char *str)
{
    size_t n = strlen(str) + 1;
    memcpy(*at, str, n);
    const char *copy = *at;
    *at += n;
    return copy;
}

/* @x is the binding @c refreshes: the same URI, or the same instance and reg-id (RFC 5626) */
static bool same_binding(const char *uri, const char *instance, int reg_id,
                         const struct scscf_contact_in *c)
{
    return strcasecmp(uri, c->uri) == 0 ||
           (c->instance[0] && strcmp(instance, c->instance) == 0 && reg_id == c->reg_id);
}

/* The oldest binding (earliest expiry) of @aor with the +sip.instance of @c, or NULL */
static struct scscf_contact *oldest_of_instance(struct scscf_aor *aor,
                                                const struct scscf_contact_in *c)
{
    struct scscf_contact *best = NULL;
    for (struct scscf_contact *x = aor->contacts; x && c->instance[0]; x = x->next)
        if (strcmp(x->instance, c->instance) == 0 && (!best || x->expires < best->expires))
            best = x;
    return best;
}

/* Where @c goes in @aor: the binding it refreshes or replaces, a new one (linked), or
 * NULL with -EDQUOT / -ENOMEM in *@err */
static struct scscf_contact *slot_for(struct scscf *s, struct scscf_aor *aor,
                                      const struct scscf_contact_in *c, unsigned max, int *err)
{
    struct scscf_contact *x = aor->contacts;
    while (x && !same_binding(x->uri, x->instance, x->reg_id, c))
        x = x->next;
    if (x)
        return x;
    if (max && (unsigned)scscf_store_count_contacts(aor) >= max) {
        x = oldest_of_instance(aor, c);   /* the same device with a new contact */
        *err = x ? 0 : -EDQUOT;
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        *err = -ENOMEM;
        return NULL;
    }
    x->next = aor->contacts;
    aor->contacts = x;
    s->ncontacts++;
    return x;
}

int scscf_store_bind(struct scscf *s, struct scscf_aor *aor, const struct scscf_contact_in *c,
                     unsigned max)
{
    size_t len = strlen(c->uri) + strlen(c->instance) + strlen(c->call_id) + strlen(c->path) +
                 strlen(c->impi) + strlen(c->user_agent) + 6;
    char *text = malloc(len), *at = text;
    if (!text)
        return -ENOMEM;
    int err = 0;
    struct scscf_contact *x = slot_for(s, aor, c, max, &err);
    if (!x) {
        free(text);
        return err;
    }
    char tgruu[sizeof(x->tgruu)];
    snprintf(tgruu, sizeof(tgruu), "%s", c->tgruu[0] ? c->tgruu : x->tgruu);
    if (x->tgruu[0] && strcmp(x->tgruu, tgruu) != 0)
        ims_map_remove(s->tgruus, x->tgruu);
    free(x->text);
    x->text = text;
    x->uri = put(&at, c->uri);
    x->instance = put(&at, c->instance);
    x->call_id = put(&at, c->call_id);
    x->path = put(&at, c->path);
    x->impi = put(&at, c->impi);
    x->user_agent = put(&at, c->user_agent);
    x->expires = c->expires;
    x->reg_id = c->reg_id;
    x->cseq = c->cseq;
    snprintf(x->tgruu, sizeof(x->tgruu), "%s", tgruu);
    if (x->tgruu[0])
        ims_map_put(s->tgruus, x->tgruu, aor, &err);
    else if (x->instance[0])
        new_tgruu(s, aor, x);
    scscf_store_touch(s, aor);
    return 0;
}

int scscf_store_fits(const struct scscf_aor *aor, const struct scscf_contact_in *in, int n,
                     unsigned max)
{
    int have = 0, total;
    for (const struct scscf_contact *x = aor ? aor->contacts : NULL; x; x = x->next)
        have++;
    /* the bindings as they would be: the existing ones (@gone: removed or replaced), then
     * the new ones of this REGISTER */
    const struct scscf_contact **cur = calloc((size_t)(have + 1), sizeof(*cur));
    const struct scscf_contact_in **added = calloc((size_t)(n + 1), sizeof(*added));
    bool *gone = calloc((size_t)(have + 1), sizeof(*gone));
    int rc = cur && added && gone ? 0 : -ENOMEM, nadded = 0;
    int i = 0;
    for (const struct scscf_contact *x = aor ? aor->contacts : NULL; x; x = x->next)
        cur[i++] = x;
    total = have;
    for (int k = 0; k < n && rc == 0; k++) {
        const struct scscf_contact_in *c = &in[k];
        int hit = -1;
        for (i = 0; i < have && hit < 0; i++)
            if (!gone[i] && same_binding(cur[i]->uri, cur[i]->instance, cur[i]->reg_id, c))
                hit = i;
        bool again = false;
        for (i = 0; i < nadded && hit < 0 && !again; i++)
            again = same_binding(added[i]->uri, added[i]->instance, added[i]->reg_id, c);
        if (c->expires == 0) {          /* a removal */
            if (hit >= 0) {
                gone[hit] = true;
                total--;
            }
            continue;
        }
        if (hit >= 0 || again)
            continue;                   /* a refresh */
        if (!max || (unsigned)total < max) {
            added[nadded++] = c;
            total++;
            continue;
        }
        int oldest = -1;                /* at the limit: the same instance's oldest goes */
        for (i = 0; i < have && c->instance[0]; i++)
            if (!gone[i] && strcmp(cur[i]->instance, c->instance) == 0 &&
                (oldest < 0 || cur[i]->expires < cur[oldest]->expires))
                oldest = i;
        if (oldest < 0) {
            rc = -EDQUOT;
        } else {
            gone[oldest] = true;
            added[nadded++] = c;
        }
    }
    free(cur);
    free(added);
    free(gone);
    return rc;
}

int scscf_store_unbind(struct scscf *s, struct scscf_aor *aor, const char *uri)
{
    int n = 0;
    struct scscf_contact **p = &aor->contacts;
    while (*p) {
        if (!uri || strcasecmp((*p)->uri, uri) == 0) {
            struct scscf_contact *gone = *p;
            *p = gone->next;
            contact_free(s, gone);
            s->ncontacts--;
            n++;
        } else {
            p = &(*p)->next;
        }
    }
    if (n)
        scscf_store_touch(s, aor);
    return n;
}

void scscf_store_ifcs_reset(struct scscf_aor *aor)
{
    for (int i = 0; i < SCSCF_MAX_IMPUS; i++) {
        scscf_ifc_free(aor->ifcs[i]);
        aor->ifcs[i] = NULL;
    }
}

struct scscf_ifc_set *scscf_store_ifcs(struct scscf *s, struct scscf_aor *aor,
                                       const char *impu)
{
    int i = 0;
    while (i < aor->nimpus && strcasecmp(aor->impus[i], impu) != 0)
        i++;
    if (i == aor->nimpus || !aor->profile)
        return NULL;
    if (!aor->ifcs[i]) {
        char err[256] = "";
        aor->ifcs[i] = scscf_ifc_parse(aor->profile, strlen(aor->profile), impu,
                                       s->shared_ifcs, err, sizeof(err));
        if (!aor->ifcs[i] || err[0])
            ims_warn("scscf: iFCs of %s: %s%s", impu, err,
                     aor->ifcs[i] ? "" : " (no services applied)");
    }
    return aor->ifcs[i];
}

void scscf_store_remove(struct scscf *s, struct scscf_aor *aor)
{
    scscf_notify_drop(s, aor);
    for (int i = 0; i < aor->nimpus; i++)
        if (ims_map_get(s->aors, aor->impus[i]) == aor)
            ims_map_remove(s->aors, aor->impus[i]);
    if (aor->prev)
        aor->prev->next = aor->next;
    else
        s->all = aor->next;
    if (aor->next)
        aor->next->prev = aor->prev;
    s->naors--;
    s->ncontacts -= (size_t)scscf_store_count_contacts(aor);
    scscf_store_forget(s, aor);
    free_contacts(s, aor->contacts);
    scscf_store_ifcs_reset(aor);
    aor_free(aor);
}

void scscf_store_clear(struct scscf *s)
{
    while (s->all) {
        struct scscf_aor *a = s->all;
        s->all = a->next;
        scscf_notify_drop(s, a);
        free_contacts(s, a->contacts);
        scscf_store_ifcs_reset(a);
        aor_free(a);
    }
    s->naors = 0;
    s->ncontacts = 0;
    ims_map_destroy(s->subs);         /* emptied by scscf_notify_drop() */
    s->subs = NULL;
    ims_map_destroy(s->aors);
    s->aors = NULL;
    ims_map_destroy(s->tgruus);
    s->tgruus = NULL;
}
