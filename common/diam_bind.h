/*
 * diam_bind.h - our Diameter connections leave from the node's own address (diam_bind.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_BIND_H
#define IMS_DIAM_BIND_H

#include <sys/socket.h>

/* The address connections to configured peers leave from (the port is ignored); clears
 * the peers. 0 or -EINVAL. */
int ims_diam_bind_source(const struct sockaddr *sa, socklen_t len);
/* One configured peer (address and port) whose connections are bound. 0 or -ENOSPC. */
int ims_diam_bind_dest(const struct sockaddr *sa, socklen_t len);
/* Forget the peers (at stop). */
void ims_diam_bind_clear(void);

#endif
