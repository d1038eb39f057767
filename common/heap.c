/*
 * heap.c - malloc's bytes in use, read once for every reader of a process (heap.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "heap.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <time.h>

static atomic_size_t g_bytes;
static atomic_uint_fast64_t g_at_us;   /* 0: never read */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u + 1u;
}

size_t ims_heap_read(void)
{
    size_t bytes = 0;
#ifdef __GLIBC__
    struct mallinfo2 mi = mallinfo2();
    bytes = mi.uordblks + mi.hblkhd;
#endif
    atomic_store(&g_bytes, bytes);
    atomic_store(&g_at_us, mono_us());
    return bytes;
}

bool ims_heap_recent(uint64_t max_age_us, size_t *bytes)
{
    uint64_t at = atomic_load(&g_at_us);
    if (!at || mono_us() - at >= max_age_us)
        return false;
    *bytes = atomic_load(&g_bytes);
    return true;
}

/*
 * Fastbins keep freed chunks of up to 128 bytes unmerged. A SIP message is hundreds of such
 * chunks (sofia-sip allocates every header and parameter on its own), and a proxy frees
 * them 32 s after their transaction, tens of thousands a second under load, so the heap
 * became a great many small free chunks. The first larger malloc after that (a new load
 * step after a pause) swept them all (malloc_consolidate), and every mallinfo2() walked
 * them: the P-CSCF sent nothing for 500 ms at the onset of a call step (bench/overload.sh,
 * a capture), half of its profile in that second in int_mallinfo, _int_malloc,
 * unlink_chunk and malloc_consolidate. Without fastbins a freed chunk merges with its free
 * neighbours at once; the per-thread caches (tcache) still serve the hot sizes without a
 * lock. The CPU per call did not change (bench/call.sh, the two builds alternated).
 */
void ims_heap_tune(void)
{
#ifdef __GLIBC__
    mallopt(M_MXFAST, 0);
#endif
}
