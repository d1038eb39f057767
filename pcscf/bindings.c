/*
 * bindings.c - the P-CSCF's registration bindings: one per (UE source address, IMPU)
 *
 * A chained hash table keyed by the source "ip:port" (so the lookup of a later request is
 * one bucket), bounded by a maximum count. Pure logic: the clock is a parameter; nothing is
 * sent from here. Identity helpers live here too (they only read a binding).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "map.h"
#include "sip_hdr.h"

struct pcscf_bindings {
    struct pcscf_binding **buckets;
    size_t nbuckets;             /* power of two */
    size_t count, max;
    size_t max_per_source;       /* bindings per source address (0: no bound) */
    struct ims_map *per_source;  /* source IP -> its number of bindings (as a pointer) */
    pcscf_binding_fn on_remove;
    void *arg;
};

time_t pcscf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static uint32_t hash(const char *key)
{
    uint32_t h = 2166136261u;    /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (uint8_t)*key) * 16777619u;
    return h;
}

static struct pcscf_binding **bucket(const struct pcscf_bindings *s, const char *key)
{
    return &s->buckets[hash(key) & (s->nbuckets - 1)];
}

struct pcscf_bindings *pcscf_bindings_create(size_t max, pcscf_binding_fn on_remove,
                                             void *arg)
{
    struct pcscf_bindings *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->nbuckets = 64;
    while (s->nbuckets < max && s->nbuckets < (1u << 20))
        s->nbuckets <<= 1;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (!s->buckets) {
        free(s);
        return NULL;
    }
    s->per_source = ims_map_create(true);
    if (!s->per_source) {
        free(s->buckets);
        free(s);
        return NULL;
    }
    s->max = max;
    s->on_remove = on_remove;
    s->arg = arg;
    return s;
}

void pcscf_bindings_set_max_per_source(struct pcscf_bindings *s, size_t max)
{
    s->max_per_source = max;
}

size_t pcscf_bindings_of_source(const struct pcscf_bindings *s, const char *ip)
{
    return (size_t)(uintptr_t)ims_map_get(s->per_source, ip);
}

bool pcscf_bindings_source_full(const struct pcscf_bindings *s, const char *ip)
{
    return s->max_per_source && pcscf_bindings_of_source(s, ip) >= s->max_per_source;
}

/* One binding more (@delta 1) or less (-1) from @ip; 0 or -ENOMEM */
static int count_source(struct pcscf_bindings *s, const char *ip, int delta)
{
    size_t n = pcscf_bindings_of_source(s, ip);
    n = delta > 0 ? n + 1 : n ? n - 1 : 0;
    int err = 0;
    if (n)
        ims_map_put(s->per_source, ip, (void *)(uintptr_t)n, &err);
    else
        ims_map_remove(s->per_source, ip);
    return err;
}

static void release(struct pcscf_bindings *s, struct pcscf_binding *b)
{
    if (s->on_remove)
        s->on_remove(s->arg, b);
    count_source(s, b->src.ip, -1);
    free(b->text);
    free(b);
    s->count--;
}

void pcscf_bindings_destroy(struct pcscf_bindings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        while (s->buckets[i]) {
            struct pcscf_binding *b = s->buckets[i];
            s->buckets[i] = b->next;
            release(s, b);
        }
    }
    free(s->buckets);
    ims_map_destroy(s->per_source);
    free(s);
}

size_t pcscf_bindings_count(const struct pcscf_bindings *s)
{
    return s->count;
}

bool pcscf_bindings_full(const struct pcscf_bindings *s)
{
    return s->count >= s->max;
}

struct pcscf_binding *pcscf_bindings_find(struct pcscf_bindings *s, const char *key,
                                          const char *impu)
{
    for (struct pcscf_binding *b = *bucket(s, key); b; b = b->next)
        if (strcmp(b->src.key, key) == 0 && strcasecmp(b->impu, impu) == 0)
            return b;
    return NULL;
}

static bool live(const struct pcscf_binding *b, time_t now)
{
    return b->ncontacts > 0 && b->expires > now;
}

struct pcscf_binding *pcscf_bindings_by_source(struct pcscf_bindings *s, const char *key,
                                               time_t now)
{
    for (struct pcscf_binding *b = *bucket(s, key); b; b = b->next)
        if (strcmp(b->src.key, key) == 0 && live(b, now))
            return b;
    return NULL;
}

struct pcscf_binding *pcscf_bindings_next(struct pcscf_binding *b, time_t now)
{
    for (struct pcscf_binding *n = b->next; n; n = n->next)
        if (strcmp(n->src.key, b->src.key) == 0 && live(n, now))
            return n;
    return NULL;
}

static void unlink_binding(struct pcscf_bindings *s, struct pcscf_binding *b)
{
    for (struct pcscf_binding **p = bucket(s, b->src.key); *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            return;
        }
}

void pcscf_bindings_remove(struct pcscf_bindings *s, struct pcscf_binding *b)
{
    unlink_binding(s, b);
    release(s, b);
}

static void recompute_expiry(struct pcscf_binding *b)
{
    b->expires = 0;
    for (int i = 0; i < b->ncontacts; i++)
        if (b->contacts[i].expires > b->expires)
            b->expires = b->contacts[i].expires;
}

void pcscf_binding_contact_remove(struct pcscf_binding *b, int i)
{
    if (i < 0 || i >= b->ncontacts)
        return;
    memmove(&b->contacts[i], &b->contacts[i + 1],
            (size_t)(b->ncontacts - i - 1) * sizeof(b->contacts[0]));
    b->ncontacts--;
    recompute_expiry(b);
}

/* Drop expired contacts of @b; true when none is left */
static bool expire_contacts(struct pcscf_binding *b, time_t now)
{
    for (int i = b->ncontacts - 1; i >= 0; i--)
        if (b->contacts[i].expires <= now)
            pcscf_binding_contact_remove(b, i);
    return b->ncontacts == 0;
}

int pcscf_bindings_expire(struct pcscf_bindings *s, time_t now)
{
    int n = 0;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct pcscf_binding **p = &s->buckets[i];
        while (*p) {
            struct pcscf_binding *b = *p;
            if (expire_contacts(b, now)) {
                *p = b->next;
                release(s, b);
                n++;
            } else {
                p = &b->next;
            }
        }
    }
    return n;
}

/* Copy what a REGISTER outcome carries into @b (the hash link and subscription stay) */
/* Copy @str to *@at, advancing it; returns the copy */
static const char *put(char **at, const char *str)
{
    size_t n = strlen(str) + 1;
    memcpy(*at, str, n);
    const char *copy = *at;
    *at += n;
    return copy;
}

/* @b takes the content of @in (contacts expired at @now left out), its strings in one new
 * allocation; the links, the subscription and the old text are kept until it succeeds. */
static int assign(struct pcscf_binding *b, const struct pcscf_draft *in, time_t now)
{
    int nids = in->nids < PCSCF_MAX_IDS ? in->nids : PCSCF_MAX_IDS;
    int nroutes = in->nroutes < PCSCF_MAX_ROUTES ? in->nroutes : PCSCF_MAX_ROUTES;
    int ncontacts = in->ncontacts < PCSCF_MAX_CONTACTS ? in->ncontacts : PCSCF_MAX_CONTACTS;
    size_t len = strlen(in->impu) + strlen(in->call_id) + 2;
    for (int i = 0; i < nids; i++)
        len += strlen(in->ids[i]) + 1;
    for (int i = 0; i < nroutes; i++)
        len += strlen(in->routes[i]) + 1;
    for (int i = 0; i < ncontacts; i++)
        len += strlen(in->contacts[i].uri) + 1;
    char *text = malloc(len), *at = text;
    if (!text)
        return -ENOMEM;
    free(b->text);
    b->text = text;
    b->src = in->src;
    b->impu = put(&at, in->impu);
    b->call_id = put(&at, in->call_id);
    b->nids = nids;
    for (int i = 0; i < nids; i++)
        b->ids[i] = put(&at, in->ids[i]);
    b->nroutes = nroutes;
    for (int i = 0; i < nroutes; i++)
        b->routes[i] = put(&at, in->routes[i]);
    b->ncontacts = 0;
    for (int i = 0; i < ncontacts; i++)
        if (in->contacts[i].expires > now)
            b->contacts[b->ncontacts++] = (struct pcscf_contact){
                put(&at, in->contacts[i].uri), in->contacts[i].expires };
    recompute_expiry(b);
    return 0;
}

int pcscf_bindings_save(struct pcscf_bindings *s, const struct pcscf_draft *in, time_t now,
                        struct pcscf_binding **out)
{
    *out = NULL;
    if (!in->src.key[0] || !in->impu[0])
        return -EINVAL;
    struct pcscf_binding *b = pcscf_bindings_find(s, in->src.key, in->impu);
    bool keeps = false;
    for (int i = 0; i < in->ncontacts; i++)
        keeps |= in->contacts[i].expires > now;
    if (!keeps) {
        if (!b)
            return PCSCF_SAVE_NONE;
        pcscf_bindings_remove(s, b);
        return PCSCF_SAVE_REMOVED;
    }
    if (b) {
        if (assign(b, in, now) != 0)
            return -ENOMEM;
        *out = b;
        return PCSCF_SAVE_REFRESH;
    }
    if (s->count >= s->max)
        return -ENOSPC;
    if (pcscf_bindings_source_full(s, in->src.ip))
        return -EDQUOT;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    if (assign(b, in, now) != 0 || count_source(s, b->src.ip, 1) != 0) {
        free(b->text);
        free(b);
        return -ENOMEM;
    }
    struct pcscf_binding **head = bucket(s, b->src.key);
    b->next = *head;
    *head = b;
    s->count++;
    *out = b;
    return PCSCF_SAVE_NEW;
}

/* ---- identities ---- */

int pcscf_impu_norm(const char *uri, char *buf, size_t len)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    const char *lt = strchr(uri, '<');
    char *plain = NULL;
    if (lt) {    /* a name-addr: take what is inside <> */
        const char *gt = strchr(lt, '>');
        plain = gt ? su_strndup(home, lt + 1, (size_t)(gt - lt - 1)) : NULL;
    }
    url_t *u = url_make(home, plain ? plain : uri);
    int rc = u ? ims_sip_impu_of(u, buf, len) : -EINVAL;
    su_home_deinit(home);
    return rc;
}

bool pcscf_uri_same(const char *a, const char *b)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *ua = url_make(home, a), *ub = url_make(home, b);
    bool same = false;
    if (ua && ub && ua->url_host && ub->url_host) {
        const char *pa = ua->url_port && *ua->url_port ? ua->url_port : "5060";
        const char *pb = ub->url_port && *ub->url_port ? ub->url_port : "5060";
        same = strcasecmp(ua->url_host, ub->url_host) == 0 && strcmp(pa, pb) == 0 &&
               !ua->url_user == !ub->url_user &&
               (!ua->url_user || strcmp(ua->url_user, ub->url_user) == 0);
    }
    su_home_deinit(home);
    return same;
}

int pcscf_identity_choose(const struct pcscf_binding *b, const char *preferred, char *out,
                          size_t len)
{
    char want[PCSCF_URI_MAX];
    if (b->nids == 0)
        return -ENOENT;
    if (preferred && pcscf_impu_norm(preferred, want, sizeof(want)) == 0) {
        for (int i = 0; i < b->nids; i++) {
            if (strcasecmp(b->ids[i], want) == 0) {
                snprintf(out, len, "%s", b->ids[i]);
                return 1;
            }
        }
    }
    snprintf(out, len, "%s", b->ids[0]);
    return 0;
}
