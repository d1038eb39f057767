/*
 * heap.c - give freed heap back to the system after a load peak (see heap.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "heap.h"
#include "log.h"

#define MIB ((size_t)1 << 20)
#define GAP_MIN (16 * MIB)
#define GROWTH_MIN (8 * MIB)

struct ims_heap_trim {
    su_timer_t *timer;
    size_t rss_after;     /* resident size right after the last trim (0: none yet) */
};

bool ims_heap_trim_due(size_t rss, size_t inuse, size_t rss_after_last)
{
    if (rss < inuse + GAP_MIN || rss - inuse < inuse / 4)
        return false;
    return rss >= rss_after_last + GROWTH_MIN;
}

#ifdef __GLIBC__
/* resident size of this process in bytes (0 when unreadable) */
static size_t rss_now(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_tick(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
    (void)magic;
    (void)timer;
    struct ims_heap_trim *t = (struct ims_heap_trim *)arg;
    size_t rss = rss_now();
    struct mallinfo2 mi = mallinfo2();
    size_t inuse = mi.uordblks + mi.hblkhd;
    if (!rss || !ims_heap_trim_due(rss, inuse, t->rss_after))
        return;
    double start = now_ms();
    malloc_trim(0);
    t->rss_after = rss_now();
    ims_info("heap: trimmed: resident %zu -> %zu KiB (heap in use %zu KiB) in %.1f ms",
              rss / 1024, t->rss_after / 1024, inuse / 1024, now_ms() - start);
}

struct ims_heap_trim *ims_heap_trim_start(su_root_t *root, unsigned interval_ms)
{
    struct ims_heap_trim *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->timer = su_timer_create(su_root_task(root), interval_ms);
    if (!t->timer || su_timer_set_for_ever(t->timer, on_tick, (su_timer_arg_t *)t) < 0) {
        ims_heap_trim_stop(t);
        return NULL;
    }
    return t;
}
#else
struct ims_heap_trim *ims_heap_trim_start(su_root_t *root, unsigned interval_ms)
{
    (void)root;
    (void)interval_ms;
    return NULL;
}
#endif

void ims_heap_trim_stop(struct ims_heap_trim *t)
{
    if (!t)
        return;
    if (t->timer)
        su_timer_destroy(t->timer);
    free(t);
}
