/*
 * deadline.h - absolute times for pthread_cond_timedwait() and the like: a clock's now or
 * a given time plus some milliseconds, and their order; the monotonic clock in milliseconds
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DEADLINE_H
#define IMS_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* @t plus @ms milliseconds */
static inline struct timespec ims_ts_add_ms(struct timespec t, unsigned long ms)
{
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Now on @clock plus @ms milliseconds */
static inline struct timespec ims_deadline_ms(clockid_t clock, unsigned long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return ims_ts_add_ms(t, ms);
}

/* Now on CLOCK_MONOTONIC in milliseconds (for durations and timeouts, not dates) */
static inline uint64_t ims_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Whether @a comes before @b */
static inline bool ims_ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif
