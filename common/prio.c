/*
 * prio.c - background threads below the SIP loop (see prio.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "prio.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t own_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

int ims_prio_of(int tid)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)(tid ? tid : own_tid()));
    return n == -1 && errno ? INT_MIN : n;
}

int ims_prio_lower_self(int levels)
{
    if (levels <= 0)
        return 0;
    int now = ims_prio_of(0);
    if (now == INT_MIN)
        return -errno;
    int to = now + levels > 19 ? 19 : now + levels;
    if (setpriority(PRIO_PROCESS, (id_t)own_tid(), to) != 0) {
        int e = errno;
        ims_warn("cannot lower a thread's priority to nice %d: %s", to, strerror(e));
        return -e;
    }
    return 0;
}

struct lowered {
    int levels;
    int (*fn)(void *);
    void *arg;
    int rc;
};

static void *run(void *p)
{
    struct lowered *l = p;
    ims_prio_lower_self(l->levels);   /* on failure fn still runs, at the caller's level */
    l->rc = l->fn(l->arg);
    return NULL;
}

int ims_prio_run_lowered(int levels, int (*fn)(void *), void *arg)
{
    if (levels <= 0)
        return fn(arg);
    struct lowered l = { levels, fn, arg, 0 };
    pthread_t t;
    int rc = pthread_create(&t, NULL, run, &l);
    if (rc) {
        ims_warn("cannot make a thread to run at a lower priority (%s): running at the "
                 "caller's", strerror(rc));
        return fn(arg);
    }
    pthread_join(t, NULL);
    return l.rc;
}
