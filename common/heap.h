/*
 * heap.h - give freed heap back to the system after a load peak (glibc malloc_trim)
 *
 * SIP transactions on UDP linger 32 s after their answer (RFC 3261 timer J), each holding
 * its request and response: under load the heap grows to what 32 s of traffic holds, and
 * once the load falls glibc keeps the freed pages of its main arena resident (it returns
 * only the top of the heap by itself, and fragmentation leaves live blocks near the top).
 * A timer of the loop thread calls malloc_trim(0) when the resident size exceeds the heap
 * in use by a margin that grew since the last trim, so that a daemon's resident size
 * follows its live state again after a peak.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_HEAP_H
#define IMS_HEAP_H

#include <stdbool.h>

#include <sofia-sip/su_wait.h>

struct ims_heap_trim;

/*
 * ims_heap_trim_start - check every @interval_ms on @root's thread (the loop thread: a trim
 * holds the arena locks for a few milliseconds, a safe point between two events) and trim
 * when worth it (see heap.c). Returns the handle, or NULL (out of memory, or not glibc:
 * nothing to do; the caller goes on without).
 */
struct ims_heap_trim *ims_heap_trim_start(su_root_t *root, unsigned interval_ms);

/* ims_heap_trim_stop - stop the timer and free @t (NULL: nothing) */
void ims_heap_trim_stop(struct ims_heap_trim *t);

/*
 * ims_heap_trim_due - the rule, apart for tests: trim when the gap between the resident
 * size @rss and the heap in use @inuse is at least 16 MiB and a quarter of @inuse, and the
 * resident size grew at least 8 MiB past @rss_after_last (what a trim left, 0: none yet).
 * Bytes. Returns true to trim.
 */
bool ims_heap_trim_due(size_t rss, size_t inuse, size_t rss_after_last);

#endif
