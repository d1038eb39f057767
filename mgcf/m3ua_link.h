/*
 * m3ua_link.h - one M3UA association over TCP or SCTP on the daemon's su_root loop
 *
 * The transport of the M3UA state machine (m3ua.h): a TCP connection to port 2905 (RFC
 * 4666 1.3.1 allows TCP; this kernel has no SCTP), messages cut out of the byte stream by
 * the length of their common header; or an SCTP association (PPID 3, m3ua_link.c) where
 * the kernel has SCTP. The ASP role connects (and reconnects after a loss),
 * the SGP role listens and takes one peer at a time, from the configured address only.
 * Everything runs on the loop thread: no locks, no hand-off.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_M3UA_LINK_H
#define MGCF_M3UA_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_wait.h>

#include "m3ua.h"

#define MGCF_M3UA_OUT_MAX  (256 * 1024)   /* bytes queued for a slow peer before it is dropped */

struct mgcf_m3ua_link;

struct mgcf_m3ua_link_cfg {
    const char *transport;          /* "tcp" or "sctp" (refused without kernel SCTP) */
    const char *local_addr;         /* ASP: the source address; SGP: where to listen */
    unsigned local_port;            /* ASP: 0 for any */
    const char *remote_addr;        /* ASP: the peer to connect to; SGP: the only peer
                                       accepted (NULL: any) */
    unsigned remote_port;
    unsigned reconnect_ms;          /* ASP: wait before connecting again */
    struct mgcf_m3ua_asp_cfg asp;   /* role, routing context, timers */
};

struct mgcf_m3ua_link_ops {
    /* DATA received while active */
    void (*data)(void *arg, const struct mgcf_m3ua_msg *m);
    /* the ASP state changed (ACTIVE: DATA may be sent) */
    void (*state)(void *arg, enum mgcf_m3ua_state state);
};

/*
 * mgcf_m3ua_link_create - set up the association on @root: the ASP connects at once, the
 * SGP listens. Returns 0, -EINVAL for a bad configuration (the reason logged),
 * -EPROTONOSUPPORT for sctp on a kernel without it, or the socket error.
 */
int mgcf_m3ua_link_create(su_root_t *root, const struct mgcf_m3ua_link_cfg *cfg,
                          const struct mgcf_m3ua_link_ops *ops, void *arg,
                          struct mgcf_m3ua_link **out);

/* ASP Down when active (best effort), then the sockets and timers closed. NULL is fine. */
void mgcf_m3ua_link_destroy(struct mgcf_m3ua_link *link);

/* DATA with the given Protocol Data; 0, -ENOTCONN unless active, -EINVAL, -ENOBUFS */
int mgcf_m3ua_link_send(struct mgcf_m3ua_link *link, uint32_t opc, uint32_t dpc, uint8_t si,
                        uint8_t ni, uint8_t mp, uint8_t sls, const uint8_t *data, size_t len);

enum mgcf_m3ua_state mgcf_m3ua_link_state(const struct mgcf_m3ua_link *link);

/* SGP: the port listened on (the one chosen when local_port was 0); ASP: 0 */
unsigned mgcf_m3ua_link_port(const struct mgcf_m3ua_link *link);

/* Counters for /metrics and tests */
struct mgcf_m3ua_link_stats {
    uint64_t connects, drops, rx_msgs, tx_msgs, errors;
};
void mgcf_m3ua_link_stats(const struct mgcf_m3ua_link *link, struct mgcf_m3ua_link_stats *st);

#endif
