/*
 * metrics.c - Prometheus metrics registry
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "metrics.h"
#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_COUNTER, K_GAUGE, K_GAUGE_FN, K_HISTOGRAM };

struct series {
    struct series *next;
    char *labels;                   /* may be "" */
    atomic_uint_fast64_t u;         /* counter */
    atomic_int_fast64_t i;          /* gauge */
    double (*fn)(void *);           /* gauge fn */
    void *arg;
    /* histogram */
    const double *bounds;
    size_t nbounds;
    atomic_uint_fast64_t *buckets;  /* nbounds + 1 (last is +Inf), not cumulative */
    _Atomic double sum;
};

struct family {
    struct family *next;
    char *name;
    char *help;
    enum kind kind;
    struct series *series, **tail;
};

/* handles are series pointers */
struct ims_counter { struct series s; };
struct ims_gauge { struct series s; };
struct ims_histogram { struct series s; };

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *g_families, **g_tail = &g_families;

const double ims_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25, 0.5, 1, 2.5, 5, 10 };
const size_t ims_latency_nbounds = sizeof(ims_latency_bounds) / sizeof(ims_latency_bounds[0]);

static struct family *family_get(const char *name, const char *help, enum kind kind)
{
    struct family *f;
    for (f = g_families; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            bool gauge = kind == K_GAUGE || kind == K_GAUGE_FN;
            bool fgauge = f->kind == K_GAUGE || f->kind == K_GAUGE_FN;
            if (f->kind == kind || (gauge && fgauge))
                return f;
            ims_err("metrics: %s registered twice with different types", name);
            return NULL;
        }
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->kind = kind;
    f->tail = &f->series;
    *g_tail = f;
    g_tail = &f->next;
    return f;
}

/* Find or create the series; *created tells which. Called with g_lock held. */
static struct series *series_get(struct family *f, const char *labels, bool *created)
{
    const char *l = labels ? labels : "";
    *created = false;
    for (struct series *s = f->series; s; s = s->next)
        if (strcmp(s->labels, l) == 0)
            return s;
    struct series *s = calloc(1, sizeof(*s));
    if (!s || !(s->labels = strdup(l))) {
        free(s);
        return NULL;
    }
    *f->tail = s;
    f->tail = &s->next;
    *created = true;
    return s;
}

static struct series *register_series(const char *name, const char *help, const char *labels,
                                      enum kind kind, bool *created)
{
    pthread_mutex_lock(&g_lock);
    struct family *f = family_get(name, help, kind);
    struct series *s = f ? series_get(f, labels, created) : NULL;
    pthread_mutex_unlock(&g_lock);
    if (!s)
        ims_err("metrics: cannot register %s{%s}", name, labels ? labels : "");
    return s;
}

/* A dummy series absorbs updates when registration failed, so callers need no NULL checks. */
static struct series g_dummy;

struct ims_counter *ims_counter_new(const char *name, const char *help, const char *labels)
{
    bool created;
    struct series *s = register_series(name, help, labels, K_COUNTER, &created);
    return (struct ims_counter *)(s ? s : &g_dummy);
}

void ims_counter_add(struct ims_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->s.u, n, memory_order_relaxed);
}

uint64_t ims_counter_value(const struct ims_counter *c)
{
    return atomic_load(&((struct ims_counter *)c)->s.u);
}

struct ims_gauge *ims_gauge_new(const char *name, const char *help, const char *labels)
{
    bool created;
    struct series *s = register_series(name, help, labels, K_GAUGE, &created);
    return (struct ims_gauge *)(s ? s : &g_dummy);
}

void ims_gauge_set(struct ims_gauge *g, int64_t v)
{
    atomic_store_explicit(&g->s.i, v, memory_order_relaxed);
}

void ims_gauge_add(struct ims_gauge *g, int64_t delta)
{
    atomic_fetch_add_explicit(&g->s.i, delta, memory_order_relaxed);
}

int64_t ims_gauge_value(const struct ims_gauge *g)
{
    return atomic_load(&((struct ims_gauge *)g)->s.i);
}

int ims_gauge_fn_new(const char *name, const char *help, const char *labels,
                     double (*fn)(void *arg), void *arg)
{
    bool created;
    struct series *s = register_series(name, help, labels, K_GAUGE_FN, &created);
    if (!s)
        return -1;
    pthread_mutex_lock(&g_lock);
    s->fn = fn;
    s->arg = arg;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

struct ims_histogram *ims_histogram_new(const char *name, const char *help, const char *labels,
                                        const double *bounds, size_t nbounds)
{
    bool created;
    struct series *s = register_series(name, help, labels, K_HISTOGRAM, &created);
    if (!s)
        return (struct ims_histogram *)&g_dummy;
    if (created) {
        pthread_mutex_lock(&g_lock);
        s->bounds = bounds;
        s->nbounds = nbounds;
        s->buckets = calloc(nbounds + 1, sizeof(*s->buckets));
        if (!s->buckets)
            s->nbounds = 0;   /* observations then only count and sum */
        pthread_mutex_unlock(&g_lock);
    }
    return (struct ims_histogram *)s;
}

void ims_histogram_observe(struct ims_histogram *h, double value)
{
    struct series *s = &h->s;
    if (s->buckets) {
        size_t i = 0;
        while (i < s->nbounds && value > s->bounds[i])
            i++;
        atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&s->u, 1, memory_order_relaxed);   /* count */
    double old = atomic_load_explicit(&s->sum, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&s->sum, &old, old + value))
        ;
}

static const char *type_name(enum kind k)
{
    switch (k) {
    case K_COUNTER:
        return "counter";
    case K_HISTOGRAM:
        return "histogram";
    default:
        return "gauge";
    }
}

static void print_name(FILE *f, const char *name, const char *suffix, const char *labels,
                       const char *extra)
{
    bool any = (labels && *labels) || extra;
    fprintf(f, "%s%s", name, suffix);
    if (!any)
        return;
    fprintf(f, "{%s%s%s}", labels ? labels : "", (labels && *labels && extra) ? "," : "",
            extra ? extra : "");
}

static void print_double(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else
        fprintf(f, "%.17g", v);
}

static void render_histogram(FILE *f, const struct family *fam, struct series *s)
{
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; i <= s->nbounds && s->buckets; i++) {
        cum += atomic_load(&s->buckets[i]);
        if (i < s->nbounds)
            snprintf(le, sizeof(le), "le=\"%g\"", s->bounds[i]);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        print_name(f, fam->name, "_bucket", s->labels, le);
        fprintf(f, " %llu\n", (unsigned long long)cum);
    }
    print_name(f, fam->name, "_sum", s->labels, NULL);
    fputc(' ', f);
    print_double(f, atomic_load(&s->sum));
    fputc('\n', f);
    print_name(f, fam->name, "_count", s->labels, NULL);
    fprintf(f, " %llu\n", (unsigned long long)atomic_load(&s->u));
}

char *ims_metrics_render(size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    pthread_mutex_lock(&g_lock);
    for (struct family *fam = g_families; fam; fam = fam->next) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                type_name(fam->kind));
        for (struct series *s = fam->series; s; s = s->next) {
            if (fam->kind == K_HISTOGRAM) {
                render_histogram(f, fam, s);
                continue;
            }
            print_name(f, fam->name, "", s->labels, NULL);
            fputc(' ', f);
            if (fam->kind == K_COUNTER)
                fprintf(f, "%llu", (unsigned long long)atomic_load(&s->u));
            else if (s->fn)
                print_double(f, s->fn(s->arg));
            else
                fprintf(f, "%lld", (long long)atomic_load(&s->i));
            fputc('\n', f);
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = size;
    return buf;
}

void ims_metrics_fini(void)
{
    pthread_mutex_lock(&g_lock);
    struct family *fam = g_families;
    while (fam) {
        struct family *fn = fam->next;
        struct series *s = fam->series;
        while (s) {
            struct series *sn = s->next;
            free(s->labels);
            free(s->buckets);
            free(s);
            s = sn;
        }
        free(fam->name);
        free(fam->help);
        free(fam);
        fam = fn;
    }
    g_families = NULL;
    g_tail = &g_families;
    pthread_mutex_unlock(&g_lock);
}
