/*
 * fuzz_loop.h - the daemon's event loop on a thread of its own, for the harnesses whose code
 * hands work to the loop thread (ims_loop_post(), ims_loop_call()) as in the daemon
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_LOOP_H
#define IMS_FUZZ_LOOP_H

#include <pthread.h>

#include "fuzz.h"
#include "loop.h"

static pthread_mutex_t fuzz_loop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fuzz_loop_cv = PTHREAD_COND_INITIALIZER;
static struct ims_loop *fuzz_loop;
static bool fuzz_loop_made;
static bool (*fuzz_loop_setup)(struct ims_loop *loop);

/* The loop thread: creates the loop (sofia-sip runs a root only on its creator's thread)
 * and what fuzz_loop_setup makes on it, hands the loop to fuzz_loop_start(), then runs it */
static void *fuzz_loop_thread(void *arg)
{
    (void)arg;
    struct ims_loop *loop = ims_loop_create(64);
    if (loop && fuzz_loop_setup && !fuzz_loop_setup(loop))
        loop = NULL;
    pthread_mutex_lock(&fuzz_loop_mu);
    fuzz_loop = loop;
    fuzz_loop_made = true;
    pthread_cond_signal(&fuzz_loop_cv);
    pthread_mutex_unlock(&fuzz_loop_mu);
    if (loop)
        ims_loop_run(loop);
    return NULL;
}

/*
 * Start the loop thread and wait for its loop. @setup (NULL: none) runs on that thread once
 * the loop is made, for what must be created there (a SIP agent on the loop's root); false
 * from it and the loop is not run. Returns the loop, or NULL when it could not be created or
 * @setup failed; aborts when the thread does not start.
 */
static inline struct ims_loop *fuzz_loop_start(bool (*setup)(struct ims_loop *loop))
{
    pthread_t t;
    fuzz_loop_setup = setup;
    if (pthread_create(&t, NULL, fuzz_loop_thread, NULL) != 0)
        abort();
    pthread_mutex_lock(&fuzz_loop_mu);
    while (!fuzz_loop_made)
        pthread_cond_wait(&fuzz_loop_cv, &fuzz_loop_mu);
    pthread_mutex_unlock(&fuzz_loop_mu);
    return fuzz_loop;
}

#endif
