/*
 * poll.c - the MRFs' status: every mrb.poll_interval_ms an HTTP GET of
 * /api/v1/mrf/status on each MRF (its address, port mrb.status_port), made on the loop
 * thread with non-blocking sockets (the loop never waits). An MRF is up while its last
 * status came within mrb.status_timeout_ms with "state": "running"; its sessions, maximum
 * and conferences replace what the table had, and the count of requests sent to it since
 * goes back to 0.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"
#include "deadline.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>

#define RESP_MAX (256 * 1024)

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* The conference ids of @list (a JSON array of strings), NULL-terminated */
static char **confs_of(const json_t *list)
{
    size_t n = json_array_size(list);
    if (n > MRB_CONFS_MAX)
        n = MRB_CONFS_MAX;
    char **v = calloc(n + 1, sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        if (s && (v[k] = strdup(s)) != NULL)
            k++;
    }
    return v;
}

/* Mark MRF @i down (logged when it was up) */
static void mark_down(struct mrb *b, size_t i, const char *why)
{
    struct mrb_mrf *m = &b->mrfs[i];
    pthread_mutex_lock(&b->lock);
    bool was = m->up;
    m->up = false;
    strv_free(m->confs);
    m->confs = NULL;
    pthread_mutex_unlock(&b->lock);
    if (was) {
        ims_warn("mrb: MRF %s is down: %s", m->name, why);
        ims_gauge_add(b->m_up, -1);
    }
}

void mrb_status_take(struct mrb *b, size_t i, int status, const char *body, size_t len)
{
    struct mrb_mrf *m = &b->mrfs[i];
    json_error_t jerr;
    json_t *doc = status == 200 ? json_loadb(body, len, 0, &jerr) : NULL;
    const char *state = json_string_value(json_object_get(doc, "state"));
    json_t *sessions = json_object_get(doc, "sessions");
    json_t *max = json_object_get(doc, "max_sessions");
    if (!doc || !state || strcmp(state, "running") != 0 || !json_is_integer(sessions) ||
        !json_is_integer(max) || json_integer_value(sessions) < 0 ||
        json_integer_value(max) < 0) {
        char why[96];
        snprintf(why, sizeof(why), status == 200 ? "its status is not usable" : "HTTP %d",
                 status);
        if (status == 403 && !m->warned) {
            m->warned = true;
            ims_warn("mrb: MRF %s refuses to give its status (403): the MRB's address must be "
                     "one of its sip.trusted_peers", m->name);
        }
        json_decref(doc);
        mark_down(b, i, why);
        return;
    }
    char **confs = confs_of(json_object_get(doc, "conferences"));
    pthread_mutex_lock(&b->lock);
    bool was = m->up;
    m->up = true;
    m->sessions = (unsigned)json_integer_value(sessions);
    m->max_sessions = (unsigned)json_integer_value(max);
    m->sent = 0;
    m->seen = time(NULL);
    strv_free(m->confs);
    m->confs = confs;
    pthread_mutex_unlock(&b->lock);
    json_decref(doc);
    if (!was) {
        ims_info("mrb: MRF %s is up: %u of %u sessions in use", m->name, m->sessions,
                 m->max_sessions);
        ims_gauge_add(b->m_up, 1);
    }
}

/* ---- one request ---- */

static void poll_end(struct mrb *b, struct mrb_mrf *m)
{
    if (m->fd >= 0) {
        su_root_deregister(ims_loop_root(b->d->loop), m->index);
        close(m->fd);
    }
    m->fd = m->index = -1;
    free(m->buf);
    m->buf = NULL;
    m->len = 0;
    m->sent_req = false;
}

/* The whole response has come: status line, headers, body */
static void poll_done(struct mrb *b, size_t i)
{
    struct mrb_mrf *m = &b->mrfs[i];
    int status = 0;
    char *body = m->buf ? strstr(m->buf, "\r\n\r\n") : NULL;
    if (m->buf && sscanf(m->buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    if (!body || !status) {
        poll_end(b, m);
        mark_down(b, i, "no HTTP response");
        return;
    }
    body += 4;
    mrb_status_take(b, i, status, body, m->len - (size_t)(body - m->buf));
    poll_end(b, m);
}

static int on_poll(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    struct mrb_mrf *m = (struct mrb_mrf *)arg;
    struct mrb *b = m->owner;
    size_t i = (size_t)(m - b->mrfs);
    if (!m->sent_req) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        char req[256];
        int n = snprintf(req, sizeof(req), "GET /api/v1/mrf/status HTTP/1.1\r\nHost: %s:%u\r\n"
                         "Connection: close\r\nAccept: application/json\r\n\r\n", m->host,
                         b->status_port);
        if (err || send(m->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            poll_end(b, m);
            mark_down(b, i, err ? strerror(err) : "cannot send");
            return 0;
        }
        m->sent_req = true;
        su_root_eventmask(ims_loop_root(b->d->loop), m->index, m->fd, SU_WAIT_IN);
        return 0;
    }
    char *nb = m->len + 4096 + 1 <= RESP_MAX ? realloc(m->buf, m->len + 4096 + 1) : NULL;
    if (!nb) {
        poll_end(b, m);
        mark_down(b, i, "status too long");
        return 0;
    }
    m->buf = nb;
    ssize_t k = recv(m->fd, m->buf + m->len, 4096, 0);
    if (k > 0) {
        m->len += (size_t)k;
        m->buf[m->len] = '\0';
        return 0;
    }
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    poll_done(b, i);                  /* closed: the response is complete */
    return 0;
}

static void poll_begin(struct mrb *b, size_t i)
{
    struct mrb_mrf *m = &b->mrfs[i];
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)b->status_port) };
    inet_pton(AF_INET, m->host, &a.sin_addr);
    /* from the MRB's own address: the MRF answers its trusted peers only */
    struct sockaddr_in self = { .sin_family = AF_INET };
    inet_pton(AF_INET, ims_sip_address(b->d->sip), &self.sin_addr);
    m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&self, sizeof(self)) != 0 ||
        (connect(m->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)) {
        int e = errno;
        poll_end(b, m);
        mark_down(b, i, strerror(e));
        return;
    }
    su_wait_create(&m->wait, m->fd, SU_WAIT_OUT | SU_WAIT_IN);
    m->owner = b;
    m->index = su_root_register(ims_loop_root(b->d->loop), &m->wait, on_poll,
                                (su_wakeup_arg_t *)m, 0);
    m->started_ms = ims_now_ms();
    if (m->index < 0) {
        close(m->fd);
        m->fd = -1;
    }
}

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct mrb *b = (struct mrb *)arg;
    uint64_t now = ims_now_ms();
    for (size_t i = 0; i < b->n; i++) {
        struct mrb_mrf *m = &b->mrfs[i];
        if (m->fd >= 0 && now - m->started_ms > b->timeout_ms) {
            poll_end(b, m);
            mark_down(b, i, "no status within mrb.status_timeout_ms");
        }
        if (m->fd < 0)
            poll_begin(b, i);
    }
    mrb_pins_expire(b);
}

int mrb_poll_start(struct mrb *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->mrfs[i].fd = b->mrfs[i].index = -1;
    b->poll = su_timer_create(su_root_task(ims_loop_root(b->d->loop)), b->poll_ms);
    if (!b->poll || su_timer_run(b->poll, on_tick, (su_timer_arg_t *)b) < 0)
        return -ENOMEM;
    on_tick(NULL, NULL, (su_timer_arg_t *)b);     /* the first round at once */
    return 0;
}

void mrb_poll_stop(struct mrb *b)
{
    if (b->poll)
        su_timer_destroy(b->poll);
    b->poll = NULL;
    for (size_t i = 0; i < b->n; i++) {
        poll_end(b, &b->mrfs[i]);
        pthread_mutex_lock(&b->lock);
        strv_free(b->mrfs[i].confs);
        b->mrfs[i].confs = NULL;
        pthread_mutex_unlock(&b->lock);
    }
}
