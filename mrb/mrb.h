/*
 * mrb.h - the Media Resource Broker (TS 23.218, RFC 6917 in spirit): which MRF serves a
 * request, in its two modes
 *
 *   in-line  an AS (or S-CSCF) sends its INVITE to the MRB, which picks an MRF and relays
 *            the request to it (a stateful proxy that does not stay in the dialog), trying
 *            the next MRF on 503, 408 or no answer
 *   query    an AS asks over HTTP which MRF to use (GET or POST /api/v1/mrb/query) and sends
 *            its INVITE there itself
 *
 * The MRB learns each MRF's load by polling its status (GET /api/v1/mrf/status of the mrfc
 * daemon: sessions in use, its maximum, its conferences). An MRF is chosen by its load,
 * (sessions + sent to it since its last status) / capacity, the least loaded first; a
 * conference goes to the MRF that holds it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRB_MRB_H
#define MRB_MRB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "map.h"
#include "metrics.h"
#include "netlist.h"

#define MRB_MRFS_MAX 32
#define MRB_CONFS_MAX 1000         /* conference ids kept of one MRF's status */

/* One MRF as the configuration names it and as its status describes it */
struct mrb_mrf {
    char name[96];                 /* "host:port" */
    char host[64];
    unsigned sip_port;
    unsigned capacity;             /* sessions it may take (configured) */
    /* what its status said (under mrb.lock) */
    bool up;                       /* its last status came, "running" */
    unsigned sessions, max_sessions;
    unsigned sent;                 /* requests sent (or named in a query) since that status */
    char **confs;                  /* its conference ids, NULL-terminated (or NULL) */
    time_t seen;
    /* the poll under way (loop thread) */
    struct mrb *owner;
    int fd, index;
    su_wait_t wait;
    char *buf;
    size_t len;
    bool sent_req;
    uint64_t started_ms;
    bool warned;                   /* a refusal of the status was logged */
};

struct mrb {
    struct ims_daemon *d;
    pthread_mutex_t lock;          /* the MRFs' status, the affinities: loop and HTTP */
    struct mrb_mrf mrfs[MRB_MRFS_MAX];
    size_t n;
    unsigned status_port, poll_ms, timeout_ms, affinity_s;
    struct ims_map *affinity;      /* conference id -> struct mrb_pin */
    bool stopping;
    su_timer_t *poll;
    struct ims_netlist *trusted;   /* who may query (sip.trusted_peers) */
    struct ims_counter *m_routed, *m_failover, *m_none, *m_queries, *m_untrusted;
    struct ims_gauge *m_up;
};

/* ---- select.c (pure, callers hold the lock) ---- */

/* Sessions MRF @m may take: its configured capacity, or less when its status says so */
unsigned mrb_capacity(const struct mrb_mrf *m);
/* Its load: (sessions + sent) / capacity (1 and more: full) */
double mrb_load(const struct mrb_mrf *m);
/* Whether its status lists conference @conf */
bool mrb_holds(const struct mrb_mrf *m, const char *conf);
/*
 * mrb_select - the MRFs to try, best first, into @order (indexes, at most @max): when
 * @pinned >= 0 (the MRF that holds the conference asked for) that one only, if it is up;
 * else every MRF up and not full, the least loaded first (ties: the configuration's order).
 * Returns how many.
 */
size_t mrb_select(const struct mrb_mrf *mrfs, size_t n, int pinned, size_t *order, size_t max);
/* "host[:port]=capacity" into @m; 0 or -EINVAL with @err */
int mrb_mrf_parse(const char *item, struct mrb_mrf *m, char *err, size_t errlen);
int mrb_check_mrf_item(const char *value, char *err, size_t errlen);
/* The conference id of a Request-URI user part "conf=<id>" (NULL otherwise), into @out */
const char *mrb_conf_of(const char *user, char *out, size_t len);

/* ---- pick.c (takes the lock) ---- */

/* The MRF that holds conference @conf (a status names it, or it was sent there within
 * mrb.affinity), or -1 */
int mrb_pinned(struct mrb *b, const char *conf);
/* Note that a request for @conf (may be NULL) goes to MRF @i: counted in its load */
void mrb_note_sent(struct mrb *b, size_t i, const char *conf);
/* Forget the conferences sent somewhere longer than mrb.affinity ago */
void mrb_pins_expire(struct mrb *b);

/* ---- poll.c: the MRFs' status, polled from the loop ---- */
int mrb_poll_start(struct mrb *b);
void mrb_poll_stop(struct mrb *b);
/* Take status document @json of MRF @i (HTTP status @status) into the table (locks) */
void mrb_status_take(struct mrb *b, size_t i, int status, const char *json, size_t len);

/* ---- inline.c: in-line mode ---- */
int mrb_inline(struct mrb *b, nta_incoming_t *irq, const sip_t *sip);
void mrb_inline_metrics(struct mrb *b);

/* ---- query.c: query mode ---- */
int mrb_query_init(struct mrb *b);

#endif
