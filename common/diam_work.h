/*
 * diam_work.h - the work queue of a Diameter server (used by common/diam.c only)
 *
 * freeDiameter hands each received request to a dispatch callback on one of its few
 * threads, through a queue of 25 that blocks when full: then its routing thread, the
 * peer's reader and at last the TCP connection stop, and every client's requests wait
 * unseen until they time out. So the dispatch callback only queues the request here, with
 * the time it arrived, and returns; worker threads run the handlers. A request that finds
 * the queue full, or that waited longer than the limit by the time a worker takes it, is
 * answered DIAMETER_TOO_BUSY at once (the client then backs off instead of timing out).
 *
 * A request that ends a session (a CCR-TERMINATION) frees what the server holds for it, and
 * refusing it under load keeps that held longer (a credit reservation until its timeout):
 * such requests queue apart, up to @max_queue of their own, and the workers take them
 * first.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_WORK_H
#define IMS_DIAM_WORK_H

#include <stdbool.h>
#include <stddef.h>

struct msg;

/* Runs on a worker thread with the request in *msg (the callee owns it from there). */
typedef void (*ims_diam_work_fn)(void *ctx, struct msg **msg);

/*
 * ims_diam_work_start - @threads workers; at most @max_queue requests waiting; @max_wait_ms
 * the longest a request may wait for a worker. @run handles a request, @busy answers it
 * TOO_BUSY. 0, or -errno (nothing started).
 */
int ims_diam_work_start(unsigned threads, unsigned max_queue, unsigned max_wait_ms,
                        ims_diam_work_fn run, ims_diam_work_fn busy);

/*
 * ims_diam_work_push - queue *msg for a worker (with @ctx for @run/@busy), among the
 * requests that end a session if @ends: 0 and *msg becomes NULL, or -EAGAIN (its queue
 * full, or not running) and *msg is still the caller's.
 */
int ims_diam_work_push(struct msg **msg, void *ctx, bool ends);

/* Stop the workers after the request each runs; the requests still queued are answered
 * TOO_BUSY. */
void ims_diam_work_stop(void);

/* How long the request the calling worker runs (or answers busy) waited in the queue, in
 * ms; 0 on any other thread */
unsigned ims_diam_work_waited_ms(void);

/* Requests waiting now, in both queues (for /metrics and the overload report) */
size_t ims_diam_work_depth(void);

#endif
