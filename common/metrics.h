/*
 * metrics.h - counters, gauges and histograms rendered in the Prometheus text format
 *
 * One registry per process. Registration takes a lock and returns a handle that stays valid
 * until ims_metrics_fini(); updating a handle is lock-free (atomics), so handles may be used
 * from any thread. Registering the same name and labels twice returns the same handle.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_METRICS_H
#define IMS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ims_counter;
struct ims_gauge;
struct ims_histogram;

/* @labels: Prometheus label set without braces, e.g. "method=\"INVITE\"", or NULL. */
struct ims_counter *ims_counter_new(const char *name, const char *help, const char *labels);
void ims_counter_add(struct ims_counter *c, uint64_t n);
static inline void ims_counter_inc(struct ims_counter *c)
{
    ims_counter_add(c, 1);
}
uint64_t ims_counter_value(const struct ims_counter *c);

struct ims_gauge *ims_gauge_new(const char *name, const char *help, const char *labels);
void ims_gauge_set(struct ims_gauge *g, int64_t v);
void ims_gauge_add(struct ims_gauge *g, int64_t delta);
int64_t ims_gauge_value(const struct ims_gauge *g);

/* A gauge computed at scrape time by fn(arg) (called on the HTTP thread: keep it thread-safe). */
int ims_gauge_fn_new(const char *name, const char *help, const char *labels,
                     double (*fn)(void *arg), void *arg);

/* @bounds: ascending upper bounds (seconds for latencies); +Inf is implicit. */
struct ims_histogram *ims_histogram_new(const char *name, const char *help, const char *labels,
                                        const double *bounds, size_t nbounds);
void ims_histogram_observe(struct ims_histogram *h, double value);
/* Default latency buckets, 0.5 ms .. 10 s */
extern const double ims_latency_bounds[];
extern const size_t ims_latency_nbounds;

/*
 * ims_metrics_render - the whole registry as Prometheus text (version 0.0.4).
 * Returns a malloc'd string (caller frees) or NULL on allocation failure.
 */
char *ims_metrics_render(size_t *len);

/* Drop every metric (tests, shutdown). Handles become invalid. */
void ims_metrics_fini(void);

#endif
