/*
 * admission.h - admission control of a daemon's SIP stack (common/sip.c, common/proxy.c)
 *
 * Which requests are new work (outside a dialog, not ACK or CANCEL: INVITE, REGISTER,
 * MESSAGE, SUBSCRIBE, OPTIONS ...), and whether one is taken: the load monitor of
 * overload.h (a token bucket whose rate follows the queueing delay of the messages the loop
 * reads), a bound on the proxy transactions in flight, a bound on the heap in use (the
 * transactions sofia-sip keeps 32 s after they end hold most of it: counting ours does not
 * bound theirs), and the RFC 7339 loss asked for by the next hop. What is not taken is
 * answered at once with 503, a Retry-After and a Warning saying why. Requests inside
 * dialogs, ACK, CANCEL and responses are never refused. Emergency requests and requests from
 * trusted peers (the core: work another CSCF already admitted) are priority work, refused
 * last.
 *
 * RFC 7339 (loss algorithm): as a server, a response to a client whose Via offered "oc"
 * carries oc, oc-algo="loss", oc-validity and oc-seq while this node asks that client for
 * a reduction (and for one validity period after, with oc=0; see overload.h for what is
 * asked); as a client (the stateful proxy), every new request forwarded to a numeric next
 * hop carries "oc;oc-algo="loss"" in our Via, the values a trusted next hop answers are
 * kept per next hop, and that share of new requests to it (less what their own client
 * already drops for it) is answered 503 here instead of being sent.
 *
 * Loop thread only, except ims_admission_health*() and the metrics (HTTP thread: atomics).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_ADMISSION_H
#define IMS_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "http.h"
#include "overload.h"

struct ims_admission;

struct ims_admission_conf {
    bool enabled;                /* false: everything is taken (metrics still count) */
    double target_delay_ms;      /* overload.target_delay_ms */
    double max_rate;             /* overload.max_rate (0: adaptive only) */
    double min_rate;             /* overload.min_rate */
    unsigned retry_after;        /* overload.retry_after, seconds */
    unsigned max_transactions;   /* overload.max_transactions (0: no bound) */
    unsigned max_heap_mb;        /* overload.max_heap_mb (0: no bound) */
    size_t (*heap_bytes)(void);  /* malloc's bytes in use now (NULL: glibc's mallinfo2, or
                                  * no bound where there is none); tests give their own */
    unsigned max_wait_ms;        /* overload.max_wait_ms (0: no bound) */
    uint64_t (*waited_us)(void); /* how long the request being checked waited in its
                                  * socket (NULL: ims_loop_last_delay_us); tests give their
                                  * own */
    bool oc;                     /* overload.rfc7339 */
    unsigned oc_validity_ms;     /* overload.oc_validity_ms */
};

/* NULL on allocation failure. Registers the metrics (one admission per process). */
struct ims_admission *ims_admission_create(const struct ims_admission_conf *c);
void ims_admission_destroy(struct ims_admission *a);

/* true for a request that starts new work: no To tag, not ACK or CANCEL */
bool ims_admission_new_work(const sip_t *req);
/*
 * ims_admission_continues - true for a REGISTER that answers a challenge (an Authorization
 * with a response): the second half of a registration whose first REGISTER was taken, so
 * priority work (refused, it would waste the work done for the first).
 */
bool ims_admission_continues(const sip_t *req);
/* true for an emergency Request-URI (urn:service:sos and its sub-services) */
bool ims_admission_is_emergency(const url_t *ruri);

/*
 * ims_admission_check - take request @req of new work of class @k, from @client (its
 * source, "address:port/proto"; may be NULL), or not. Feeds the queueing delays the loop
 * measured since the last call first; counts the request for the loss asked of its client
 * when it offered RFC 7339. Returns NULL when it is taken, else why not (a static text for
 * the Warning of the 503).
 */
const char *ims_admission_check(struct ims_admission *a, enum ims_load_class k,
                                const sip_t *req, const char *client);
/* Retry-After of the 503 answers, seconds */
unsigned ims_admission_retry_after(const struct ims_admission *a);

/* A proxy transaction starts (+1) or ends (-1) */
void ims_admission_tx(struct ims_admission *a, int delta);
/* A downstream server said it is too busy, or did not answer in time (Diameter) */
void ims_admission_penalty(struct ims_admission *a);

/* ---- RFC 7339 server side ---- */

/*
 * ims_admission_stamp - when the top Via of response @sip (of @msg) is that of @client (the
 * request's source), which offered overload control, and this node asks it for a
 * reduction (or did within one validity period), add oc, oc-algo, oc-validity and oc-seq.
 */
void ims_admission_stamp(struct ims_admission *a, msg_t *msg, sip_t *sip, const char *client);
/* Does the top Via of @sip offer overload control (cheap pre-check before the class)? */
bool ims_admission_oc_offered(const struct ims_admission *a, const sip_t *sip);

/* ---- RFC 7339 client side ---- */

/*
 * ims_admission_hop_key - "host:port" of a next hop @hop into @buf, or false when its host
 * is not a numeric address (a name for DNS: no overload control towards it).
 */
bool ims_admission_hop_key(const url_t *hop, char *buf, size_t len);

/*
 * ims_admission_offer - put our own Via, offering overload control, on top of request
 * @msg to next hop @hop: "SIP/2.0/<transport of hop> <address>:<port>;oc;oc-algo="loss""
 * (nta completes it: pass NTATAG_USER_VIA(1)). false when RFC 7339 is off or the Via could
 * not be made (then nta adds its own Via as usual).
 */
bool ims_admission_offer(struct ims_admission *a, msg_t *msg, sip_t *sip, const url_t *hop,
                         const char *address, int port);

/*
 * ims_admission_throttle - whether a request of new work to next hop @key is to be dropped
 * for the loss that next hop asks for. @client is the request's source when its Via offered
 * overload control (else NULL): that loss is then passed on to it, and what it already
 * drops is not dropped here again. The caller counts a drop with ims_admission_throttled().
 */
bool ims_admission_throttle(struct ims_admission *a, const char *key, const char *client);
void ims_admission_throttled(struct ims_admission *a, enum ims_load_class k);

/* The oc values that next hop @key put in our Via of response @sip, kept. */
void ims_admission_learn(struct ims_admission *a, const char *key, const sip_t *sip);

/* ---- health (HTTP thread) ---- */

/* Health source: the admission state as a peer entry; degraded while refusing work. */
enum ims_health ims_admission_health(void *arg, json_t *peers);
/* Health field: "overloaded": true while refusing work */
void ims_admission_health_fields(void *arg, json_t *doc);

#endif
