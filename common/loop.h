/*
 * loop.h - the daemon's one event loop: sofia-sip su_root, cross-thread hand-off, signals
 *
 * All SIP state and every nta object belong to the loop thread. Other threads (freeDiameter
 * callbacks, the HTTP server) hand work to it with ims_loop_post(): a bounded queue drained
 * on the loop thread, woken through an eventfd registered with su_root. SIGTERM and SIGINT
 * arrive through a signalfd and stop the loop cleanly.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_LOOP_H
#define IMS_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_wait.h>

struct ims_loop;

typedef void (*ims_loop_fn)(void *arg);

/*
 * ims_loop_create - create the su_root and the hand-off queue of @queue_max entries.
 * Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call it before any other thread
 * starts, so that every thread inherits the mask) and ignores SIGPIPE.
 * Returns NULL on failure (the reason is logged).
 */
struct ims_loop *ims_loop_create(size_t queue_max);
void ims_loop_destroy(struct ims_loop *loop);

su_root_t *ims_loop_root(struct ims_loop *loop);

/*
 * ims_loop_post - run fn(arg) on the loop thread, soon. Safe from any thread.
 * Jobs still queued when the loop is destroyed run then (during shutdown): a job must
 * check its owner's state before touching it.
 * Returns 0, or -EAGAIN when the queue is full (the caller still owns arg and must fail the
 * work it stands for), -EPIPE after the loop has stopped.
 */
int ims_loop_post(struct ims_loop *loop, ims_loop_fn fn, void *arg);

/*
 * ims_loop_call - run fn(arg) on the loop thread and wait for it (from another thread:
 * freeDiameter handlers that need loop-owned state). When it has not started within
 * @timeout_ms it is cancelled and -ETIMEDOUT returned; once started it is waited for. On
 * return fn has run or never will, so @arg may live on the caller's stack.
 */
int ims_loop_call(struct ims_loop *loop, ims_loop_fn fn, void *arg, unsigned timeout_ms);

/* Run until ims_loop_stop() or SIGTERM/SIGINT. Returns the signal number, or 0. */
int ims_loop_run(struct ims_loop *loop);
void ims_loop_stop(struct ims_loop *loop);   /* safe from any thread */

/*
 * ims_loop_read_delays - the messages the loop thread read from its sockets since the last
 * call: how many, and the sum of their queueing delays (kernel arrival to the read) in
 * microseconds. Loop thread only (the values are the calling thread's).
 */
void ims_loop_read_delays(uint32_t *count, uint64_t *sum_us);

/* The queueing delay of the last read of the calling loop thread, in microseconds: for a
 * request being served, how long it waited in its socket (UDP: one datagram per read). */
uint64_t ims_loop_last_delay_us(void);

/* Statistics for /metrics */
size_t ims_loop_queue_depth(struct ims_loop *loop);
uint64_t ims_loop_rejected(struct ims_loop *loop);

#endif
