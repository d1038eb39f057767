/*
 * diam_hold.c - answers held back while the peer they go to re-opens (see diam_hold.h)
 *
 * One thread, asleep while nothing is held. While answers are held it reads their peers'
 * states every HOLD_POLL_MS (freeDiameter tells no one when a peer becomes OPEN) and sends
 * each answer whose peer is OPEN; one whose peer is neither OPEN nor re-opening any more
 * (the new connection broke too), or that waited @max_ms, is given up: it is sent anyway, so
 * that freeDiameter drops and logs it as it would have, and logged here.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_hold.h"
#include "deadline.h"
#include "diam.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define HOLD_POLL_MS 2

struct held {
    struct msg *ans;
    struct timespec until;   /* CLOCK_MONOTONIC */
    struct held *next;
};

static int fd_state(const char *id, size_t len);
static int fd_send(struct msg **ans);

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running;
    struct held *head, **tail;
    size_t n, max;
    unsigned max_ms;
    struct ims_diam_hold_ops ops;
    struct ims_counter *held, *sent, *given_up, *full;
} h = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .tail = &h.head,
    .ops = { fd_state, fd_send },
};

/* ---- freeDiameter's side ---- */

static int fd_state(const char *id, size_t len)
{
    struct peer_hdr *p = NULL;
    /* exactly as freeDiameter's routing looks up the peer of an answer (case kept) */
    if (fd_peer_getbyid((DiamId_t)id, len, 0, &p) != 0 || !p)
        return -1;
    return fd_peer_get_state(p);
}

static int fd_send(struct msg **ans)
{
    return fd_msg_send(ans, NULL, NULL);
}

/* The identity of the peer the request of @ans came from; -ENOENT for a local request. */
static int answer_peer(struct msg *ans, const char **id, size_t *len)
{
    struct msg *q = NULL;
    DiamId_t src = NULL;
    if (fd_msg_answ_getq(ans, &q) != 0 || !q || fd_msg_source_get(q, &src, len) != 0 || !src)
        return -ENOENT;
    *id = (const char *)src;
    return 0;
}

static int state_of(struct msg *ans)
{
    const char *id;
    size_t len;
    return answer_peer(ans, &id, &len) == 0 ? h.ops.peer_state(id, len) : -1;
}

bool ims_diam_hold_wanted(int state)
{
    /* REOPEN: connected again after a failure, watchdogs under way; OPEN_NEW and
     * OPEN_HANDSHAKE: the moments between the CEA and OPEN (SCTP, TLS) */
    return state == STATE_REOPEN || state == STATE_OPEN_NEW || state == STATE_OPEN_HANDSHAKE;
}

/* ---- the held list ---- */

static bool expired(const struct held *e, const struct timespec *now)
{
    return now->tv_sec > e->until.tv_sec ||
           (now->tv_sec == e->until.tv_sec && now->tv_nsec >= e->until.tv_nsec);
}

/* Send one held answer (its peer is open, or no longer worth waiting for) and free the entry. */
static void release(struct held *e, int state)
{
    char sid[256], peer[256] = "?";
    const char *id;
    size_t len;
    if (answer_peer(e->ans, &id, &len) == 0)
        snprintf(peer, sizeof(peer), "%.*s", (int)len, id);
    struct ims_log_ids ids = { .session_id = ims_diam_session_id(e->ans, sid, sizeof(sid)) };
    if (state == STATE_OPEN || state == STATE_CLOSING_GRACE) {
        ims_counter_inc(h.sent);
        ims_log(IMS_LOG_DEBUG, &ids, "diameter: held answer to %s sent (peer open)", peer);
    } else {
        ims_counter_inc(h.given_up);
        ims_log(IMS_LOG_WARN, &ids, "diameter: answer to %s held in vain: the peer is %s, "
                "not open (its new connection was lost, or its watchdogs did not succeed)",
                peer, state < 0 ? "gone" : STATE_STR(state));
    }
    int rc = h.ops.send(&e->ans);
    if (rc) {
        ims_log(IMS_LOG_ERROR, &ids, "diameter: held answer to %s not sent: %s", peer,
                strerror(rc));
        if (e->ans)
            fd_msg_free(e->ans);
    }
    free(e);
}

/* Release what can go from @list; returns the entries still held, in their order. */
static struct held *release_ready(struct held *list, size_t *nkept)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct held *keep = NULL, **kt = &keep;
    *nkept = 0;
    while (list) {
        struct held *e = list;
        list = e->next;
        e->next = NULL;
        int st = state_of(e->ans);
        if (ims_diam_hold_wanted(st) && !expired(e, &now)) {
            *kt = e;
            kt = &e->next;
            (*nkept)++;
        } else {
            release(e, st);
        }
    }
    return keep;
}

/* Put @keep back in front of what arrived meanwhile; @taken entries were examined, @n of
 * them kept (h.lock held). h.n counted the examined ones all along: the bound holds while
 * the thread works without the lock. */
static void requeue_front(struct held *keep, size_t taken, size_t n)
{
    h.n -= taken - n;
    if (!keep)
        return;
    struct held *last = keep;
    while (last->next)
        last = last->next;
    last->next = h.head;
    if (!h.head)
        h.tail = &last->next;
    h.head = keep;
}

static void *hold_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&h.lock);
    while (h.running) {
        if (!h.head) {
            pthread_cond_wait(&h.cond, &h.lock);
            continue;
        }
        struct held *list = h.head;
        size_t taken = 0;
        for (struct held *e = list; e; e = e->next)
            taken++;
        h.head = NULL;
        h.tail = &h.head;
        pthread_mutex_unlock(&h.lock);
        size_t n;
        struct held *keep = release_ready(list, &n);
        pthread_mutex_lock(&h.lock);
        requeue_front(keep, taken, n);
        if (h.head && h.running) {
            struct timespec t = ims_deadline_ms(CLOCK_MONOTONIC, HOLD_POLL_MS);
            pthread_cond_timedwait(&h.cond, &h.lock, &t);
        }
    }
    pthread_mutex_unlock(&h.lock);
    return NULL;
}

/* Hold @ans; -ENOSPC when the module is stopped or full, -ENOMEM. */
static int hold(struct msg *ans)
{
    struct held *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->ans = ans;
    e->until = ims_deadline_ms(CLOCK_MONOTONIC, h.max_ms);
    pthread_mutex_lock(&h.lock);
    if (!h.running || h.n >= h.max) {
        bool full = h.running;
        pthread_mutex_unlock(&h.lock);
        free(e);
        if (full)
            ims_counter_inc(h.full);
        return -ENOSPC;
    }
    bool was_empty = h.n == 0;
    *h.tail = e;
    h.tail = &e->next;
    h.n++;
    if (was_empty)
        pthread_cond_signal(&h.cond);
    pthread_mutex_unlock(&h.lock);
    ims_counter_inc(h.held);
    const char *id;
    size_t len;
    if (was_empty && answer_peer(ans, &id, &len) == 0)
        ims_info("diameter: answers to %.*s held until its new connection is open (it "
                 "re-opens after a failure: RFC 3539 watchdogs under way)", (int)len, id);
    return 0;
}

int ims_diam_hold_send(struct msg **ans)
{
    if (!ans || !*ans)
        return -EINVAL;
    int st = state_of(*ans);
    if (ims_diam_hold_wanted(st) && hold(*ans) == 0) {
        char sid[256];
        struct ims_log_ids ids = { .session_id = ims_diam_session_id(*ans, sid, sizeof(sid)) };
        ims_log(IMS_LOG_DEBUG, &ids, "diameter: answer held: its peer is %s (re-opening after "
                "a failure, RFC 3539 watchdogs under way)", STATE_STR(st));
        *ans = NULL;
        return 0;
    }
    int rc = h.ops.send(ans);
    return -rc;
}

size_t ims_diam_hold_count(void)
{
    pthread_mutex_lock(&h.lock);
    size_t n = h.n;
    pthread_mutex_unlock(&h.lock);
    return n;
}

static void register_metrics(void)
{
    static const char *const help = "Answers held back while their peer re-opened its "
                                    "connection, by outcome";
    h.held = ims_counter_new("ims_diameter_held_answers_total", help, "outcome=\"held\"");
    h.sent = ims_counter_new("ims_diameter_held_answers_total", help, "outcome=\"sent\"");
    h.given_up = ims_counter_new("ims_diameter_held_answers_total", help,
                                 "outcome=\"given_up\"");
    h.full = ims_counter_new("ims_diameter_held_answers_total", help,
                             "outcome=\"not_held_full\"");
}

int ims_diam_hold_start(size_t max, unsigned max_ms, const struct ims_diam_hold_ops *ops)
{
    pthread_condattr_t ca;
    if (h.running)
        return -EALREADY;
    h.ops = ops ? *ops : (struct ims_diam_hold_ops){ fd_state, fd_send };
    h.max = max;
    h.max_ms = max_ms;
    register_metrics();
    if (pthread_condattr_init(&ca) != 0)
        return -ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&h.cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -rc;
    h.running = true;
    rc = pthread_create(&h.thread, NULL, hold_thread, NULL);
    if (rc) {
        h.running = false;
        pthread_cond_destroy(&h.cond);
        ims_err("diameter: cannot start the thread of held answers: %s", strerror(rc));
        return -rc;
    }
    return 0;
}

void ims_diam_hold_stop(void)
{
    pthread_mutex_lock(&h.lock);
    if (!h.running) {
        pthread_mutex_unlock(&h.lock);
        return;
    }
    h.running = false;
    pthread_cond_signal(&h.cond);
    pthread_mutex_unlock(&h.lock);
    pthread_join(h.thread, NULL);
    pthread_cond_destroy(&h.cond);
    size_t n = 0;
    while (h.head) {
        struct held *e = h.head;
        h.head = e->next;
        fd_msg_free(e->ans);
        free(e);
        n++;
    }
    h.tail = &h.head;
    h.n = 0;
    h.ops = (struct ims_diam_hold_ops){ fd_state, fd_send };
    if (n)
        ims_warn("diameter: %zu held answer(s) not sent: stopping", n);
}
