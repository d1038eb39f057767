/*
 * diam_bind.c - our Diameter connections leave from the node's own address
 *
 * A server trusts a peer by the address its connection comes from (diam_peer.h), so a
 * client must connect from its configured address (diameter.address), as a Diameter node on
 * its own host would. freeDiameter 1.2.1 connects to its peers without binding the socket,
 * and the kernel then picks the source address itself (127.0.0.1 for every loopback peer of
 * the lab; the host's primary address elsewhere). Its library calls connect(2) through the
 * dynamic linker, so this file gives the process its own connect(): a TCP connect to the
 * address and port of a configured Diameter peer, from a socket not bound yet, is bound to
 * diameter.address first (any port). Every other connect() of the process (SIP, HTTP) goes
 * to the C library's untouched.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_bind.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_DESTS 64

static struct {
    struct sockaddr_storage source;          /* port 0 */
    socklen_t source_len;
    struct sockaddr_storage dests[MAX_DESTS];
    atomic_size_t ndests;                    /* published after the entry is written */
} g_bind;

static pthread_mutex_t g_bind_lock = PTHREAD_MUTEX_INITIALIZER;

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static connect_fn libc_connect(void)
{
    static _Atomic(connect_fn) fn;
    connect_fn f = atomic_load(&fn);
    if (!f) {
        f = (connect_fn)dlsym(RTLD_NEXT, "connect");
        atomic_store(&fn, f);
    }
    return f;
}

int ims_diam_bind_source(const struct sockaddr *sa, socklen_t len)
{
    if (len > sizeof(g_bind.source))
        return -EINVAL;
    pthread_mutex_lock(&g_bind_lock);
    memset(&g_bind.source, 0, sizeof(g_bind.source));
    memcpy(&g_bind.source, sa, len);
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)&g_bind.source)->sin_port = 0;
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)&g_bind.source)->sin6_port = 0;
    g_bind.source_len = len;
    atomic_store(&g_bind.ndests, 0);
    pthread_mutex_unlock(&g_bind_lock);
    return 0;
}

int ims_diam_bind_dest(const struct sockaddr *sa, socklen_t len)
{
    int rc = 0;
    pthread_mutex_lock(&g_bind_lock);
    size_t n = atomic_load(&g_bind.ndests);
    if (n == MAX_DESTS || len > sizeof(g_bind.dests[0])) {
        rc = -ENOSPC;
    } else {
        memset(&g_bind.dests[n], 0, sizeof(g_bind.dests[n]));
        memcpy(&g_bind.dests[n], sa, len);
        atomic_store(&g_bind.ndests, n + 1);
    }
    pthread_mutex_unlock(&g_bind_lock);
    return rc;
}

void ims_diam_bind_clear(void)
{
    atomic_store(&g_bind.ndests, 0);
}

/* @sa is the address and port of a configured peer */
static bool is_dest(const struct sockaddr *sa)
{
    size_t n = atomic_load(&g_bind.ndests);
    for (size_t i = 0; i < n; i++) {
        const struct sockaddr *d = (const struct sockaddr *)&g_bind.dests[i];
        if (d->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const void *)sa, *b = (const void *)d;
            if (a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr)
                return true;
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const void *)sa, *b = (const void *)d;
            if (a->sin6_port == b->sin6_port &&
                memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0)
                return true;
        }
    }
    return false;
}

/* The socket has no local address yet (never bound). */
static bool unbound(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        return ((struct sockaddr_in *)&ss)->sin_port == 0;
    if (ss.ss_family == AF_INET6)
        return ((struct sockaddr_in6 *)&ss)->sin6_port == 0;
    return false;
}

/* The process's connect(): see the head of the file. */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    connect_fn real = libc_connect();
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (sa && atomic_load(&g_bind.ndests) && sa->sa_family == g_bind.source.ss_family &&
        is_dest(sa) && unbound(fd)) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)&g_bind.source, g_bind.source_len) != 0) {
            int e = errno;
            ims_err("diameter: cannot bind a connection to a peer to diameter.address: %s",
                    strerror(e));
            errno = e;
            return -1;
        }
    }
    return real(fd, sa, len);
}
