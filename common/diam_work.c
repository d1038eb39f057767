/*
 * diam_work.c - the work queue of a Diameter server (see diam_work.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_work.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 64

struct job {
    struct job *next;
    struct msg *msg;
    void *ctx;
    struct timespec arrived;
};

struct queue {
    struct job *head, *tail;
    size_t n;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queue q[2];        /* [1]: the requests that end a session, taken first */
    size_t max;               /* per queue */
    unsigned max_wait_ms;
    bool running, stop;
    pthread_t threads[MAX_WORKERS];
    unsigned nthreads;
    ims_diam_work_fn run, busy;
} w = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static __thread unsigned tl_waited_ms;   /* of the job this worker runs */

unsigned ims_diam_work_waited_ms(void)
{
    return tl_waited_ms;
}

static uint64_t waited_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
                 (now.tv_nsec - since->tv_nsec) / 1000000;
    return ms > 0 ? (uint64_t)ms : 0;
}

static struct job *dequeue(struct queue *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
    }
    return j;
}

/* The next job, or NULL once stopping */
static struct job *take(void)
{
    pthread_mutex_lock(&w.mu);
    while (!w.q[0].head && !w.q[1].head && !w.stop)
        pthread_cond_wait(&w.cv, &w.mu);
    struct job *j = NULL;
    if (!w.stop && !(j = dequeue(&w.q[1])))
        j = dequeue(&w.q[0]);
    pthread_mutex_unlock(&w.mu);
    return j;
}

static void *worker(void *arg)
{
    (void)arg;
    struct job *j;
    while ((j = take()) != NULL) {
        uint64_t waited = waited_ms(&j->arrived);
        tl_waited_ms = waited > UINT32_MAX ? UINT32_MAX : (unsigned)waited;
        if (waited > w.max_wait_ms)
            w.busy(j->ctx, &j->msg);     /* its client has waited long enough */
        else
            w.run(j->ctx, &j->msg);
        tl_waited_ms = 0;
        free(j);
    }
    return NULL;
}

int ims_diam_work_start(unsigned threads, unsigned max_queue, unsigned max_wait_ms,
                        ims_diam_work_fn run, ims_diam_work_fn busy)
{
    if (threads == 0 || threads > MAX_WORKERS || !run || !busy)
        return -EINVAL;
    w.max = max_queue ? max_queue : 1;
    w.max_wait_ms = max_wait_ms;
    w.run = run;
    w.busy = busy;
    w.stop = false;
    for (w.nthreads = 0; w.nthreads < threads; w.nthreads++) {
        if (pthread_create(&w.threads[w.nthreads], NULL, worker, NULL) != 0) {
            ims_err("diameter: cannot start a handler thread");
            ims_diam_work_stop();
            return -EAGAIN;
        }
    }
    pthread_mutex_lock(&w.mu);
    w.running = true;
    pthread_mutex_unlock(&w.mu);
    return 0;
}

int ims_diam_work_push(struct msg **msg, void *ctx, bool ends)
{
    struct queue *q = &w.q[ends ? 1 : 0];
    struct job *j = malloc(sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->next = NULL;
    j->msg = *msg;
    j->ctx = ctx;
    clock_gettime(CLOCK_MONOTONIC, &j->arrived);
    pthread_mutex_lock(&w.mu);
    if (!w.running || q->n >= w.max) {
        pthread_mutex_unlock(&w.mu);
        free(j);
        return -EAGAIN;
    }
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    *msg = NULL;
    return 0;
}

void ims_diam_work_stop(void)
{
    pthread_mutex_lock(&w.mu);
    w.running = false;
    w.stop = true;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    for (unsigned i = 0; i < w.nthreads; i++)
        pthread_join(w.threads[i], NULL);
    w.nthreads = 0;
    /* no worker left: what is still queued is answered here */
    for (int i = 1; i >= 0; i--) {
        struct job *j;
        while ((j = dequeue(&w.q[i])) != NULL) {
            w.busy(j->ctx, &j->msg);
            free(j);
        }
    }
}

size_t ims_diam_work_depth(void)
{
    pthread_mutex_lock(&w.mu);
    size_t n = w.q[0].n + w.q[1].n;
    pthread_mutex_unlock(&w.mu);
    return n;
}
