/*
 * loop.c - su_root event loop with a bounded cross-thread queue and signal handling
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "loop.h"
#include "deadline.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/su.h>

struct job {
    ims_loop_fn fn;
    void *arg;
};

struct ims_loop {
    su_root_t *root;
    int efd;                /* eventfd: queue has jobs */
    int sfd;                /* signalfd: SIGTERM, SIGINT, SIGHUP */
    su_wait_t ewait, swait;
    int eindex, sindex;
    pthread_mutex_t lock;
    struct job *ring;
    size_t cap, head, count;
    bool stopped;
    bool stop_asked;        /* ims_loop_stop(): break once the queue is drained */
    int signal;
    atomic_uint_fast64_t rejected;
};

/*
 * epoll_wait - interposed (this definition comes before the C library's for every caller
 * in the process), changed for the loop thread only. sofia-sip computes the time to its
 * next timer in whole milliseconds rounded down, so a timer due in less than 1 ms gives a
 * timeout of 0 and the loop spins on epoll_wait(..., 0) until the timer is due. Under load
 * nta's timer is due every millisecond and the loop thread spun most of the time (some
 * 100,000 system calls a second, CPU taken from the other daemons on the same cores). On
 * the loop thread, a zero-timeout wait right after one that found nothing waits up to 1 ms
 * instead: the timer fires on time to the millisecond, an event still wakes the wait.
 */
static __thread bool t_loop_thread, t_found_nothing;
static int (*libc_epoll_wait)(int, struct epoll_event *, int, int);

/* looked up once at load, before any thread can call */
__attribute__((constructor)) static void find_libc_epoll_wait(void)
{
    libc_epoll_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT,
                                                                          "epoll_wait");
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    if (!libc_epoll_wait) {
        errno = ENOSYS;
        return -1;
    }
    if (!t_loop_thread)
        return libc_epoll_wait(epfd, events, maxevents, timeout);
    if (timeout == 0 && t_found_nothing)
        timeout = 1;
    int n = libc_epoll_wait(epfd, events, maxevents, timeout);
    t_found_nothing = n == 0 && timeout == 0;
    return n;
}

/*
 * recvmsg - interposed like epoll_wait, for the loop thread only: every socket the loop
 * reads (sofia-sip's SIP transports: UDP datagrams and TCP streams, through su_vrecv) gets
 * SO_TIMESTAMPNS, and the kernel's arrival time of what was read gives its queueing delay:
 * how long it waited in the socket's receive queue while the loop was busy. That delay is
 * what grows first when a daemon falls behind (the UDP queue fills, then overflows), so it
 * drives the admission control (common/overload.h). A call that brings its own control
 * buffer, peeks or reads the error queue is passed through untouched.
 */
static __thread uint64_t t_delay_sum_us;
static __thread uint32_t t_delay_count;
static __thread uint64_t t_last_delay_us;
static ssize_t (*libc_recvmsg)(int, struct msghdr *, int);

__attribute__((constructor)) static void find_libc_recvmsg(void)
{
    libc_recvmsg = (ssize_t (*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
}

/* The arrival time in @msg's control data, or false (then the socket is asked for it) */
static bool arrival_of(const struct msghdr *msg, struct timespec *ts)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS &&
            c->cmsg_len >= CMSG_LEN(sizeof(*ts))) {
            memcpy(ts, CMSG_DATA(c), sizeof(*ts));
            return ts->tv_sec != 0;
        }
    }
    return false;
}

static void note_delay(int fd, const struct msghdr *msg)
{
    struct timespec at, now;
    if (!arrival_of(msg, &at)) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t us = (int64_t)(now.tv_sec - at.tv_sec) * 1000000 +
                 (now.tv_nsec - at.tv_nsec) / 1000;
    if (us < 0)
        us = 0;          /* the clock stepped back */
    if (us > 60000000)
        us = 60000000;   /* ... or forward */
    t_delay_sum_us += (uint64_t)us;
    t_delay_count++;
    t_last_delay_us = (uint64_t)us;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!libc_recvmsg) {
        errno = ENOSYS;
        return -1;
    }
    if (!t_loop_thread || !msg || msg->msg_control || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
        return libc_recvmsg(fd, msg, flags);
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) * 2];
        struct cmsghdr align;
    } control;
    msg->msg_control = control.buf;
    msg->msg_controllen = sizeof(control.buf);
    ssize_t n = libc_recvmsg(fd, msg, flags);
    int saved = errno;
    if (n > 0)
        note_delay(fd, msg);
    msg->msg_control = NULL;
    msg->msg_controllen = 0;
    msg->msg_flags &= ~MSG_CTRUNC;
    errno = saved;
    return n;
}

void ims_loop_read_delays(uint32_t *count, uint64_t *sum_us)
{
    *count = t_delay_count;
    *sum_us = t_delay_sum_us;
    t_delay_count = 0;
    t_delay_sum_us = 0;
}

uint64_t ims_loop_last_delay_us(void)
{
    return t_last_delay_us;
}

static void drain(struct ims_loop *loop)
{
    for (;;) {
        struct job j;
        pthread_mutex_lock(&loop->lock);
        if (loop->count == 0) {
            pthread_mutex_unlock(&loop->lock);
            return;
        }
        j = loop->ring[loop->head];
        loop->head = (loop->head + 1) % loop->cap;
        loop->count--;
        pthread_mutex_unlock(&loop->lock);
        j.fn(j.arg);
    }
}

static int on_event(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct ims_loop *loop = (struct ims_loop *)arg;
    uint64_t n;
    (void)magic;
    (void)w;
    if (read(loop->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        ims_err("loop: eventfd read failed: %s", strerror(errno));
    drain(loop);
    pthread_mutex_lock(&loop->lock);
    bool stop = loop->stop_asked;
    loop->stop_asked = false;
    pthread_mutex_unlock(&loop->lock);
    if (stop)
        su_root_break(loop->root);
    return 0;
}

static int on_signal(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct ims_loop *loop = (struct ims_loop *)arg;
    struct signalfd_siginfo si;
    (void)magic;
    (void)w;
    while (read(loop->sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            ims_info("received SIGHUP: ignored (restart the daemon to apply a new config)");
            continue;
        }
        ims_info("received %s, stopping", strsignal((int)si.ssi_signo));
        loop->signal = (int)si.ssi_signo;
        su_root_break(loop->root);
    }
    return 0;
}

struct ims_loop *ims_loop_create(size_t queue_max)
{
    struct ims_loop *loop = calloc(1, sizeof(*loop));
    if (!loop) {
        ims_err("loop: out of memory");
        return NULL;
    }
    loop->efd = loop->sfd = -1;
    loop->eindex = loop->sindex = -1;
    loop->cap = queue_max ? queue_max : 1;
    pthread_mutex_init(&loop->lock, NULL);
    loop->ring = calloc(loop->cap, sizeof(*loop->ring));
    if (!loop->ring)
        goto fail;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    loop->root = su_root_create(NULL);
    if (!loop->root) {
        ims_err("loop: su_root_create failed");
        goto fail;
    }
    /* up to 4 events per wait instead of one: fewer turns of the loop under load */
    su_root_multishot(loop->root, 1);
    loop->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (loop->efd < 0 || loop->sfd < 0) {
        ims_err("loop: eventfd/signalfd failed: %s", strerror(errno));
        goto fail;
    }
    su_wait_create(&loop->ewait, loop->efd, SU_WAIT_IN);
    su_wait_create(&loop->swait, loop->sfd, SU_WAIT_IN);
    loop->eindex = su_root_register(loop->root, &loop->ewait, on_event, (void *)loop, 0);
    loop->sindex = su_root_register(loop->root, &loop->swait, on_signal, (void *)loop, 0);
    if (loop->eindex < 0 || loop->sindex < 0) {
        ims_err("loop: su_root_register failed");
        goto fail;
    }
    return loop;
fail:
    ims_loop_destroy(loop);
    return NULL;
}

void ims_loop_destroy(struct ims_loop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->lock);
    loop->stopped = true;
    pthread_mutex_unlock(&loop->lock);
    /* jobs posted before the stop still run, so that their owners release what they hold */
    drain(loop);
    if (loop->root) {
        if (loop->eindex >= 0)
            su_root_deregister(loop->root, loop->eindex);
        if (loop->sindex >= 0)
            su_root_deregister(loop->root, loop->sindex);
        su_root_destroy(loop->root);
    }
    if (loop->efd >= 0)
        close(loop->efd);
    if (loop->sfd >= 0)
        close(loop->sfd);
    free(loop->ring);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

su_root_t *ims_loop_root(struct ims_loop *loop)
{
    return loop->root;
}

int ims_loop_post(struct ims_loop *loop, ims_loop_fn fn, void *arg)
{
    pthread_mutex_lock(&loop->lock);
    if (loop->stopped) {
        pthread_mutex_unlock(&loop->lock);
        return -EPIPE;
    }
    if (loop->count == loop->cap) {
        pthread_mutex_unlock(&loop->lock);
        atomic_fetch_add(&loop->rejected, 1);
        return -EAGAIN;
    }
    loop->ring[(loop->head + loop->count) % loop->cap] = (struct job){ fn, arg };
    loop->count++;
    bool wake = loop->count == 1;
    pthread_mutex_unlock(&loop->lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t w = write(loop->efd, &one, sizeof(one));
        (void)w; /* the counter saturating still leaves the fd readable */
    }
    return 0;
}

enum { CALL_PENDING, CALL_RUNNING, CALL_DONE, CALL_CANCELLED };

struct call {
    pthread_mutex_t m;
    pthread_cond_t done;
    int state;
    int refs;
    ims_loop_fn fn;
    void *arg;
};

static void call_unref(struct call *c)
{
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->m);
    if (last) {
        pthread_mutex_destroy(&c->m);
        pthread_cond_destroy(&c->done);
        free(c);
    }
}

static void call_job(void *arg)
{
    struct call *c = arg;
    pthread_mutex_lock(&c->m);
    if (c->state == CALL_CANCELLED) {
        call_unref(c);
        return;
    }
    c->state = CALL_RUNNING;
    pthread_mutex_unlock(&c->m);
    c->fn(c->arg);
    pthread_mutex_lock(&c->m);
    c->state = CALL_DONE;
    pthread_cond_signal(&c->done);
    call_unref(c);
}

int ims_loop_call(struct ims_loop *loop, ims_loop_fn fn, void *arg, unsigned timeout_ms)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    c->refs = 2;
    c->fn = fn;
    c->arg = arg;
    int rc = ims_loop_post(loop, call_job, c);
    if (rc) {
        pthread_mutex_destroy(&c->m);
        pthread_cond_destroy(&c->done);
        free(c);
        return rc;
    }
    struct timespec deadline = ims_deadline_ms(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&c->m);
    while (c->state != CALL_DONE) {
        if (c->state == CALL_PENDING &&
            pthread_cond_timedwait(&c->done, &c->m, &deadline) == ETIMEDOUT &&
            c->state == CALL_PENDING) {
            c->state = CALL_CANCELLED;
            break;
        }
        if (c->state == CALL_RUNNING)
            pthread_cond_wait(&c->done, &c->m);
    }
    rc = c->state == CALL_DONE ? 0 : -ETIMEDOUT;
    call_unref(c);
    return rc;
}

int ims_loop_run(struct ims_loop *loop)
{
    t_loop_thread = true;
    su_root_run(loop->root);
    t_loop_thread = false;
    /* run what other threads posted before the stop, so no answer is lost half-way */
    drain(loop);
    return loop->signal;
}

/* A flag rather than a job: a stop must not be lost to a full queue (a daemon told to stop
 * while overloaded). The jobs queued before it still run. */
void ims_loop_stop(struct ims_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->stop_asked = true;
    pthread_mutex_unlock(&loop->lock);
    uint64_t one = 1;
    ssize_t w = write(loop->efd, &one, sizeof(one));
    (void)w; /* the counter saturating still leaves the fd readable */
}

size_t ims_loop_queue_depth(struct ims_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    size_t n = loop->count;
    pthread_mutex_unlock(&loop->lock);
    return n;
}

uint64_t ims_loop_rejected(struct ims_loop *loop)
{
    return atomic_load(&loop->rejected);
}
