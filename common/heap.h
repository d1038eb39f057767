/*
 * heap.h - malloc's bytes in use, read once for every reader of a process
 *
 * glibc's mallinfo2() is the only count of the heap in use it gives, and it walks every
 * free chunk of every arena holding that arena's lock: on a heap fragmented by a flood of
 * SIP transactions a reading took 10 to 180 ms, during which the event loop's own malloc
 * calls wait. The admission control (admission.c) reads it as seldom as its bound allows;
 * the /metrics scrape, from the HTTP thread, takes that reading while it is recent rather
 * than walking the heap again under the loop's feet.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_HEAP_H
#define IMS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the heap in use now (mallinfo2: every arena and mapped blocks; 0 without glibc) and
 * keeps the reading for ims_heap_recent(). Any thread. */
size_t ims_heap_read(void);

/* The last reading of ims_heap_read() in *bytes, when it was taken less than @max_age_us
 * ago; false otherwise (no walk). Any thread. */
bool ims_heap_recent(uint64_t max_age_us, size_t *bytes);

/* Sets the allocator up for a daemon's load (called once, first thing in main): no glibc
 * fastbins, whose chunks are never merged until a later malloc sweeps them all. */
void ims_heap_tune(void);

#endif
