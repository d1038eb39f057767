/*
 * m3ua_link.c - M3UA over TCP or SCTP on su_root: connect or listen, frame, queue, time
 *
 * The state machine of m3ua.c decides; this file moves bytes. Over SCTP (a one-to-one
 * socket, RFC 6458) each message goes in a sendmsg of its own with payload protocol
 * identifier 3 (RFC 4666 1.4.7): DATA on stream 1, everything else on stream 0 (a peer
 * that grants one stream gets it all on 0); received messages are framed as over TCP. Every entry into the state
 * machine (bytes read, a timer, a send from the owner) is followed by a check of
 * link->failed, set by a send that could not be done: the connection is then dropped
 * outside the state machine's call.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "m3ua_link.h"
#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/sctp.h>

#include <sofia-sip/su.h>

#define M3UA_PPID 3                 /* RFC 4666 1.4.7: the SCTP payload protocol identifier */

struct mgcf_m3ua_link {
    su_root_t *root;
    struct mgcf_m3ua_link_cfg cfg;
    char local[64], remote[64];     /* copies of the configured addresses */
    struct sockaddr_storage local_sa, remote_sa;
    socklen_t local_len, remote_len;
    const struct mgcf_m3ua_link_ops *ops;
    void *arg;
    struct mgcf_m3ua_asp asp;

    bool sctp;                      /* transport sctp, else tcp */
    uint16_t ostreams;              /* SCTP outbound streams the association has */
    int lfd, fd;                    /* listening socket (SGP), connection */
    su_wait_t lwait, wait;
    int lindex, index;
    bool connecting, failed;
    su_timer_t *asp_timer, *reconnect_timer;

    uint8_t in[2 * MGCF_M3UA_MSG_MAX];
    size_t in_len;
    uint8_t *out;
    size_t out_len;
    struct mgcf_m3ua_link_stats st;
};

/* ---- addresses ---- */

static int sockaddr_of(const char *addr, unsigned port, struct sockaddr_storage *sa,
                       socklen_t *len)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    char serv[8];
    if (port > 65535)
        return -EINVAL;
    snprintf(serv, sizeof(serv), "%u", port);
    if (getaddrinfo(addr, serv, &hints, &res) != 0)
        return -EINVAL;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Is @sa the configured peer's address (any port)? */
static bool is_peer(const struct mgcf_m3ua_link *link, const struct sockaddr_storage *sa)
{
    if (!link->remote[0])
        return true;
    const struct sockaddr_storage *want = &link->remote_sa;
    if (sa->ss_family != want->ss_family)
        return false;
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)want)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                  &((const struct sockaddr_in6 *)want)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* ---- connection ---- */

static void reconnect_later(struct mgcf_m3ua_link *link);

static void close_connection(struct mgcf_m3ua_link *link)
{
    if (link->index >= 0) {
        su_root_deregister(link->root, link->index);
        link->index = -1;
    }
    if (link->fd >= 0) {
        close(link->fd);
        link->fd = -1;
    }
    link->connecting = false;
    link->in_len = 0;
    link->out_len = 0;
}

/* Drop the connection (logged with @why); the ASP role connects again later */
static void drop(struct mgcf_m3ua_link *link, const char *why)
{
    bool was_up = link->fd >= 0;
    /* after ASP Down a closed connection is the normal end; before it, a failure */
    ims_log(link->asp.state == MGCF_M3UA_DOWN ? IMS_LOG_INFO : IMS_LOG_WARN, NULL,
            "m3ua: connection with %s dropped: %s", link->remote[0] ? link->remote : "peer",
            why);
    close_connection(link);
    link->failed = false;
    if (was_up)
        link->st.drops++;
    mgcf_m3ua_asp_disconnected(&link->asp);
    if (link->cfg.asp.role == MGCF_M3UA_ASP)
        reconnect_later(link);
}

/* After each call into the state machine: a send it made failed */
static void check_failed(struct mgcf_m3ua_link *link)
{
    if (link->failed)
        drop(link, "send failed");
}

static int events_of(const struct mgcf_m3ua_link *link)
{
    return SU_WAIT_IN | SU_WAIT_HUP | SU_WAIT_ERR | (link->out_len || link->connecting
                                                     ? SU_WAIT_OUT : 0);
}

/* The SCTP stream of message @buf: DATA on 1 when the association has two, else 0 */
static uint16_t stream_of(const struct mgcf_m3ua_link *link, const uint8_t *buf)
{
    return buf[2] == M3UA_CLASS_TRANSFER && link->ostreams > 1 ? 1 : 0;
}

/* One whole message over SCTP (PPID 3, its stream); what send() returns */
static ssize_t send_sctp(struct mgcf_m3ua_link *link, const uint8_t *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct sctp_sndrcvinfo))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {(void *)buf, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_SCTP;
    c->cmsg_type = SCTP_SNDRCV;
    c->cmsg_len = CMSG_LEN(sizeof(struct sctp_sndrcvinfo));
    struct sctp_sndrcvinfo info = {.sinfo_stream = stream_of(link, buf),
                                   .sinfo_ppid = htonl(M3UA_PPID)};
    memcpy(CMSG_DATA(c), &info, sizeof(info));
    return sendmsg(link->fd, &mh, MSG_NOSIGNAL);
}

/* Write what is queued; 0, or -errno when the connection failed. TCP takes any part of
 * the byte stream; SCTP a whole message a call (the queue holds whole messages only). */
static int flush(struct mgcf_m3ua_link *link)
{
    while (link->out_len) {
        long whole = link->sctp ? mgcf_m3ua_frame(link->out, link->out_len) : 0;
        if (link->sctp && (whole <= 0 || (size_t)whole > link->out_len))
            return -EBADMSG;   /* the queue holds whole messages: never here */
        ssize_t n = link->sctp ? send_sctp(link, link->out, (size_t)whole)
                               : send(link->fd, link->out, link->out_len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return -errno;
        memmove(link->out, link->out + n, link->out_len - (size_t)n);
        link->out_len -= (size_t)n;
    }
    su_root_eventmask(link->root, link->index, link->fd, events_of(link));
    return 0;
}

/* The state machine's send: queued behind what waits, else written at once */
static int asp_send(void *arg, const uint8_t *buf, size_t len)
{
    struct mgcf_m3ua_link *link = arg;
    if (link->fd < 0 || link->connecting)
        return -ENOTCONN;
    if (link->out_len + len > MGCF_M3UA_OUT_MAX) {
        link->failed = true;
        return -ENOBUFS;
    }
    memcpy(link->out + link->out_len, buf, len);
    link->out_len += len;
    link->st.tx_msgs++;
    int rc = flush(link);
    if (rc < 0)
        link->failed = true;
    return rc;
}

static void asp_deliver(void *arg, const struct mgcf_m3ua_msg *m)
{
    struct mgcf_m3ua_link *link = arg;
    link->ops->data(link->arg, m);
}

static void asp_state(void *arg, enum mgcf_m3ua_state state)
{
    struct mgcf_m3ua_link *link = arg;
    ims_info("m3ua: %s with %s", mgcf_m3ua_state_name(state),
             link->remote[0] ? link->remote : "peer");
    link->ops->state(link->arg, state);
}

static void on_asp_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct mgcf_m3ua_link *link = (struct mgcf_m3ua_link *)arg;
    (void)magic;
    (void)t;
    if (mgcf_m3ua_asp_timeout(&link->asp) == -ETIMEDOUT)
        drop(link, link->asp.waiting ? "no ASPUP_ACK or ASPAC_ACK" : "no BEAT_ACK");
    else
        check_failed(link);
}

static void asp_timer(void *arg, unsigned ms)
{
    struct mgcf_m3ua_link *link = arg;
    if (ms == 0)
        su_timer_reset(link->asp_timer);
    else
        su_timer_set_interval(link->asp_timer, on_asp_timer, (su_timer_arg_t *)link, ms);
}

static const struct mgcf_m3ua_asp_ops asp_ops = {asp_send, asp_deliver, asp_state, asp_timer};

/* Whole messages out of the input buffer, to the state machine */
static int read_messages(struct mgcf_m3ua_link *link)
{
    for (;;) {
        ssize_t n = recv(link->fd, link->in + link->in_len, sizeof(link->in) - link->in_len, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        link->in_len += (size_t)n;
        size_t off = 0;
        for (;;) {
            long len = mgcf_m3ua_frame(link->in + off, link->in_len - off);
            if (len < 0)
                return -EBADMSG;        /* out of step with the stream: nothing to resync on */
            if (len == 0 || (size_t)len > link->in_len - off)
                break;
            link->st.rx_msgs++;
            uint64_t errs = link->asp.rx_errors;
            mgcf_m3ua_asp_receive(&link->asp, link->in + off, (size_t)len);
            if (link->asp.rx_errors != errs) {
                link->st.errors++;
                ims_warn("m3ua: from %s: %s (class %u type %u) refused or an ERR",
                         link->remote[0] ? link->remote : "peer",
                         mgcf_m3ua_type_name(link->in[off + 2], link->in[off + 3]) ?: "?",
                         link->in[off + 2], link->in[off + 3]);
            }
            if (link->failed || link->fd < 0)
                return 0;
            off += (size_t)len;
        }
        memmove(link->in, link->in + off, link->in_len - off);
        link->in_len -= off;
    }
}

/* The outbound streams the SCTP association got (the peer may grant fewer than asked) */
static void learn_streams(struct mgcf_m3ua_link *link)
{
    struct sctp_status st;
    socklen_t len = sizeof(st);
    memset(&st, 0, sizeof(st));
    link->ostreams = getsockopt(link->fd, IPPROTO_SCTP, SCTP_STATUS, &st, &len) == 0
                     ? st.sstat_outstrms : 1;
}

static void connected(struct mgcf_m3ua_link *link)
{
    link->connecting = false;
    if (link->sctp)
        learn_streams(link);
    link->st.connects++;
    su_root_eventmask(link->root, link->index, link->fd, events_of(link));
    ims_info("m3ua: connected with %s", link->remote[0] ? link->remote : "peer");
    mgcf_m3ua_asp_connected(&link->asp);
    check_failed(link);
}

static int on_io(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct mgcf_m3ua_link *link = (struct mgcf_m3ua_link *)arg;
    (void)magic;
    int ev = su_wait_events(w, link->fd);
    if (link->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            drop(link, strerror(err));
            return 0;
        }
        if (ev & (SU_WAIT_OUT | SU_WAIT_IN))
            connected(link);
        return 0;
    }
    if (ev & SU_WAIT_IN) {
        int rc = read_messages(link);
        if (rc < 0) {
            drop(link, rc == -EBADMSG ? "not an M3UA stream (bad header)" : strerror(-rc));
            return 0;
        }
        check_failed(link);
        if (link->fd < 0)
            return 0;
    }
    if (ev & SU_WAIT_OUT) {
        int rc = flush(link);
        if (rc < 0) {
            drop(link, strerror(-rc));
            return 0;
        }
    }
    if ((ev & (SU_WAIT_HUP | SU_WAIT_ERR)) && !(ev & SU_WAIT_IN))
        drop(link, "closed by the peer");
    return 0;
}

static int new_socket(int family, bool sctp)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    sctp ? IPPROTO_SCTP : IPPROTO_TCP);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (sctp) {
        /* two streams each way: 0 for management, 1 for DATA */
        struct sctp_initmsg init = {.sinit_num_ostreams = 2, .sinit_max_instreams = 2};
        setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
        setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
    } else {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* Register @fd as the connection */
static int attach(struct mgcf_m3ua_link *link, int fd, bool connecting)
{
    link->fd = fd;
    link->connecting = connecting;
    if (su_wait_create(&link->wait, fd, events_of(link)) < 0)
        return -ENOMEM;
    link->index = su_root_register(link->root, &link->wait, on_io, (su_wakeup_arg_t *)link, 0);
    return link->index < 0 ? -ENOMEM : 0;
}

/* ASP role: a non-blocking connect from the local address */
static int start_connect(struct mgcf_m3ua_link *link)
{
    int fd = new_socket(link->remote_sa.ss_family, link->sctp);
    if (fd < 0)
        return fd;
    if (link->local[0] && bind(fd, (struct sockaddr *)&link->local_sa, link->local_len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (connect(fd, (struct sockaddr *)&link->remote_sa, link->remote_len) < 0 &&
        errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    int rc = attach(link, fd, true);
    if (rc < 0)
        close_connection(link);
    return rc;
}

static void on_reconnect(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    struct mgcf_m3ua_link *link = (struct mgcf_m3ua_link *)arg;
    (void)magic;
    (void)t;
    int rc = start_connect(link);
    if (rc < 0) {
        ims_warn("m3ua: connect to %s:%u: %s", link->remote, link->cfg.remote_port,
                 strerror(-rc));
        reconnect_later(link);
    }
}

static void reconnect_later(struct mgcf_m3ua_link *link)
{
    su_timer_set_interval(link->reconnect_timer, on_reconnect, (su_timer_arg_t *)link,
                          link->cfg.reconnect_ms ? link->cfg.reconnect_ms : 1000);
}

/* SGP role: a peer connects */
static int on_accept(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    struct mgcf_m3ua_link *link = (struct mgcf_m3ua_link *)arg;
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    char host[64] = "?";
    (void)magic;
    (void)w;
    int fd = accept4(link->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    getnameinfo((struct sockaddr *)&sa, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
    if (!is_peer(link, &sa)) {
        ims_warn("m3ua: connection from %s refused: not the configured peer %s", host,
                 link->remote);
        close(fd);
        return 0;
    }
    if (link->fd >= 0) {
        ims_warn("m3ua: connection from %s refused: one association at a time", host);
        close(fd);
        return 0;
    }
    int one = 1;
    if (!link->sctp)   /* an SCTP socket accepted keeps the listener's options */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (attach(link, fd, false) < 0) {
        close_connection(link);
        return 0;
    }
    connected(link);
    return 0;
}

static int start_listen(struct mgcf_m3ua_link *link)
{
    int fd = new_socket(link->local_sa.ss_family, link->sctp);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&link->local_sa, link->local_len) < 0 || listen(fd, 4) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    link->lfd = fd;
    if (su_wait_create(&link->lwait, fd, SU_WAIT_ACCEPT) < 0)
        return -ENOMEM;
    link->lindex = su_root_register(link->root, &link->lwait, on_accept,
                                    (su_wakeup_arg_t *)link, 0);
    return link->lindex < 0 ? -ENOMEM : 0;
}

/* ---- public ---- */

static int check_cfg(struct mgcf_m3ua_link *link, const struct mgcf_m3ua_link_cfg *cfg)
{
    const char *t = cfg->transport ? cfg->transport : "tcp";
    if (strcmp(t, "tcp") != 0 && strcmp(t, "sctp") != 0) {
        ims_err("m3ua: transport must be tcp or sctp, not \"%s\"", t);
        return -EINVAL;
    }
    link->sctp = strcmp(t, "sctp") == 0;
    if (link->sctp) {
        int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
        if (fd < 0) {
            int err = errno;
            if (err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT || err == EAFNOSUPPORT)
                ims_err("m3ua: transport sctp: this kernel has no SCTP (%s): load its "
                        "module (modprobe sctp) or use tcp", strerror(err));
            else
                ims_err("m3ua: transport sctp: cannot open an SCTP socket: %s",
                        strerror(err));
            return -EPROTONOSUPPORT;
        }
        close(fd);
    }
    bool asp = cfg->asp.role == MGCF_M3UA_ASP;
    const char *local = cfg->local_addr ? cfg->local_addr : "";
    const char *remote = cfg->remote_addr ? cfg->remote_addr : "";
    if (strlen(local) >= sizeof(link->local) || strlen(remote) >= sizeof(link->remote))
        return -EINVAL;
    strcpy(link->local, local);
    strcpy(link->remote, remote);
    if ((asp && !remote[0]) || (!asp && !local[0])) {
        ims_err("m3ua: the %s address is missing", asp ? "peer" : "listening");
        return -EINVAL;
    }
    if ((local[0] && sockaddr_of(local, cfg->local_port, &link->local_sa, &link->local_len) < 0) ||
        (remote[0] && sockaddr_of(remote, cfg->remote_port, &link->remote_sa,
                                  &link->remote_len) < 0)) {
        ims_err("m3ua: bad address %s or %s", local, remote);
        return -EINVAL;
    }
    if (asp && (cfg->remote_port == 0 || cfg->asp.ack_ms == 0 || cfg->asp.ack_tries == 0)) {
        ims_err("m3ua: peer port, ack time and ack tries must be set");
        return -EINVAL;
    }
    return 0;
}

int mgcf_m3ua_link_create(su_root_t *root, const struct mgcf_m3ua_link_cfg *cfg,
                          const struct mgcf_m3ua_link_ops *ops, void *arg,
                          struct mgcf_m3ua_link **out)
{
    struct mgcf_m3ua_link *link = calloc(1, sizeof(*link));
    *out = NULL;
    if (!link)
        return -ENOMEM;
    link->root = root;
    link->cfg = *cfg;
    link->ops = ops;
    link->arg = arg;
    link->fd = link->lfd = link->index = link->lindex = -1;
    int rc = check_cfg(link, cfg);
    if (rc < 0)
        goto out_free;
    link->cfg.local_addr = link->local;
    link->cfg.remote_addr = link->remote;
    rc = -ENOMEM;
    link->out = malloc(MGCF_M3UA_OUT_MAX);
    link->asp_timer = su_timer_create(su_root_task(root), 1000);
    link->reconnect_timer = su_timer_create(su_root_task(root), 1000);
    if (!link->out || !link->asp_timer || !link->reconnect_timer)
        goto out_free;
    mgcf_m3ua_asp_init(&link->asp, &cfg->asp, &asp_ops, link);
    if (cfg->asp.role == MGCF_M3UA_ASP) {
        if ((rc = start_connect(link)) < 0) {
            ims_warn("m3ua: connect to %s:%u: %s (trying again)", link->remote,
                     cfg->remote_port, strerror(-rc));
            reconnect_later(link);
        }
    } else if ((rc = start_listen(link)) < 0) {
        ims_err("m3ua: listen on %s:%u: %s", link->local, cfg->local_port, strerror(-rc));
        goto out_free;
    }
    *out = link;
    return 0;
out_free:
    mgcf_m3ua_link_destroy(link);
    return rc;
}

void mgcf_m3ua_link_destroy(struct mgcf_m3ua_link *link)
{
    if (!link)
        return;
    if (link->fd >= 0 && !link->connecting && link->asp.state != MGCF_M3UA_DOWN)
        mgcf_m3ua_asp_stop(&link->asp);             /* ASPDN, best effort */
    close_connection(link);
    if (link->lindex >= 0)
        su_root_deregister(link->root, link->lindex);
    if (link->lfd >= 0)
        close(link->lfd);
    su_timer_destroy(link->asp_timer);
    su_timer_destroy(link->reconnect_timer);
    free(link->out);
    free(link);
}

int mgcf_m3ua_link_send(struct mgcf_m3ua_link *link, uint32_t opc, uint32_t dpc, uint8_t si,
                        uint8_t ni, uint8_t mp, uint8_t sls, const uint8_t *data, size_t len)
{
    int rc = mgcf_m3ua_asp_send_data(&link->asp, opc, dpc, si, ni, mp, sls, data, len);
    check_failed(link);
    return rc;
}

enum mgcf_m3ua_state mgcf_m3ua_link_state(const struct mgcf_m3ua_link *link)
{
    return link->asp.state;
}

unsigned mgcf_m3ua_link_port(const struct mgcf_m3ua_link *link)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (link->lfd < 0 || getsockname(link->lfd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                         : ((struct sockaddr_in6 *)&sa)->sin6_port);
}

void mgcf_m3ua_link_stats(const struct mgcf_m3ua_link *link, struct mgcf_m3ua_link_stats *st)
{
    *st = link->st;
}
