/*
 * map.c - string-keyed hash map
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "map.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry {
    struct entry *next;
    uint32_t hash;
    void *value;
    char key[];
};

struct ims_map {
    struct entry **buckets;
    size_t nbuckets, size;
    bool nocase;
};

static uint32_t hash_key(const char *k, bool nocase)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (uint8_t)(nocase ? tolower((unsigned char)*k) : *k)) * 16777619u;
    return h;
}

static bool same(const struct ims_map *m, const struct entry *e, const char *k, uint32_t h)
{
    return e->hash == h && (m->nocase ? strcasecmp(e->key, k) : strcmp(e->key, k)) == 0;
}

struct ims_map *ims_map_create(bool nocase)
{
    struct ims_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nocase = nocase;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void ims_map_destroy(struct ims_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry **slot(const struct ims_map *m, const char *key, uint32_t h)
{
    struct entry **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && !same(m, *p, key, h))
        p = &(*p)->next;
    return p;
}

void *ims_map_get(const struct ims_map *m, const char *key)
{
    struct entry *e = *slot(m, key, hash_key(key, m->nocase));
    return e ? e->value : NULL;
}

static void grow(struct ims_map *m)
{
    size_t n = m->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;   /* keep working with longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            struct entry **head = &b[e->hash & (n - 1)];
            e->next = *head;
            *head = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void *ims_map_put(struct ims_map *m, const char *key, void *value, int *err)
{
    uint32_t h = hash_key(key, m->nocase);
    struct entry **p = slot(m, key, h);
    if (err)
        *err = 0;
    if (*p) {
        void *old = (*p)->value;
        (*p)->value = value;
        return old;
    }
    size_t kl = strlen(key);
    struct entry *e = malloc(sizeof(*e) + kl + 1);
    if (!e) {
        if (err)
            *err = -ENOMEM;
        return NULL;
    }
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *p = e;
    if (++m->size > m->nbuckets)
        grow(m);
    return NULL;
}

void *ims_map_remove(struct ims_map *m, const char *key)
{
    struct entry **p = slot(m, key, hash_key(key, m->nocase));
    struct entry *e = *p;
    if (!e)
        return NULL;
    void *v = e->value;
    *p = e->next;
    free(e);
    m->size--;
    return v;
}

size_t ims_map_size(const struct ims_map *m)
{
    return m->size;
}

size_t ims_map_foreach(struct ims_map *m, void (*fn)(void *arg, const char *key, void *value),
                       void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;   /* fn may remove e */
            fn(arg, e->key, e->value);
            n++;
            e = next;
        }
    }
    return n;
}
