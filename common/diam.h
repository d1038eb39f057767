/*
 * diam.h - freeDiameter embedded in the daemon: configuration, peers, handlers, requests
 *
 * freeDiameter is one instance per process. ims_diam_init() configures it from the
 * daemon's own configuration (no separate freeDiameter file to keep in step), defines the
 * IMS dictionary and advertises the daemon's applications; ims_diam_start() opens the
 * listener and connects the configured peers.
 *
 * Threads: server handlers run on freeDiameter's dispatch threads. Answers to our own
 * requests are delivered on the daemon's loop thread through ims_loop_post(), exactly once
 * per request (answer, timeout or send failure).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_H
#define IMS_DIAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "diam_avp.h"
#include "diam_dict.h"
#include "http.h"

struct ims_loop;
struct msg;

struct ims_diam_conf {
    const char *identity;        /* Origin-Host */
    const char *realm;           /* Origin-Realm */
    const char *address;         /* listen address (numeric) */
    int port;                    /* listen port for plain TCP, 3868 (servers only) */
    bool sctp;                   /* transport: SCTP instead of TCP */
    /*
     * server = false (a client): connects to @peers and listens nowhere.
     * server = true (hss, ocs): listens and accepts @peers, each only from its address,
     * without connecting to them; every other peer is refused unless @accept matches it.
     */
    bool server;
    char **peers;                /* "identity@address[:port]", NULL-terminated, may be NULL */
    char **accept;               /* lab: "pattern[@address[/prefix]]" accepted as well */
    char **plain;                /* with @tls: "pattern[@address[/prefix]]" allowed plain TCP */
    bool tls;                    /* TLS with every peer not in @plain (needs cert, key, ca) */
    int tls_port;                /* server: TLS listen port, 5868 */
    const char *tls_cert, *tls_key, *tls_ca;
    const char *tls_dh;          /* PEM Diffie-Hellman parameters, or NULL/"" */
    int tc_timer;                /* seconds between reconnection attempts */
    int tw_timer;                /* watchdog interval */
    int threads;                 /* dispatch threads */
    int nice;                    /* freeDiameter's threads run this many nice levels below
                                  * the thread calling ims_diam_init (0: same; see prio.h) */
    unsigned request_timeout_ms; /* default Tx for ims_diam_send() */
    unsigned max_pending;        /* bound on requests awaiting answers */
    unsigned max_queue;          /* server: received requests waiting for a handler thread
                                  * at most; more are answered DIAMETER_TOO_BUSY */
    unsigned busy_wait_ms;       /* server: a request that waited longer for a handler
                                  * thread is answered DIAMETER_TOO_BUSY */
    bool doic;                   /* RFC 7683 overload reports, loss algorithm (diam_doic.h) */
    unsigned doic_threshold_pct; /* server: report past this share of max_queue/busy_wait */
    unsigned doic_validity_s;    /* server: OC-Validity-Duration of its reports */
    unsigned apps;               /* IMS_APP_BIT() mask advertised in CER/CEA */
    const char *ext_dir;         /* freeDiameter extensions folder */
    struct ims_loop *loop;       /* where answers are delivered */
};

/* Configure freeDiameter from @conf (the peer rules are checked and copied). A server's
 * incoming peers are decided by ims_diam_peer_decide() (diam_peer.h). */
int ims_diam_init(const struct ims_diam_conf *conf);
int ims_diam_start(void);
void ims_diam_stop(void);
bool ims_diam_running(void);

/* Health source for ims_http_health_add(): every peer and its state; configured peers
 * not open make the daemon degraded. */
enum ims_health ims_diam_health(void *arg, json_t *peers);

/* Peer state of a configured or connected identity ("open", "closed", ...; "unknown"). */
const char *ims_diam_peer_state(const char *identity);

/*
 * Server side. A handler receives the request in *msg and either answers it (builds the
 * answer with ims_diam_answer_new, sends it with ims_diam_answer_send) or returns an
 * error code so that the core answers DIAMETER_UNABLE_TO_COMPLY.
 * Handlers run on the server's own handler threads (diameter.threads), fed by a queue of
 * received requests (diam_work.h); a request that finds it full (max_queue), or waited
 * longer than busy_wait_ms in it, is answered DIAMETER_TOO_BUSY without calling the handler
 * (the client backs off instead of waiting for its timeout).
 */
typedef int (*ims_diam_handler)(struct msg **msg, void *arg);
int ims_diam_serve(enum ims_cmd cmd, ims_diam_handler fn, void *arg);
/* The same, with @lock held around every call of @fn (a daemon's database lock). */
int ims_diam_serve_locked(enum ims_cmd cmd, ims_diam_handler fn, void *arg,
                          pthread_mutex_t *lock);
/*
 * The same, but @fn runs on freeDiameter's dispatch thread as the request arrives, not on a
 * handler thread after the queue: for a handler that never blocks, only checks the request
 * and hands it to a bounded queue of its own (answering DIAMETER_TOO_BUSY itself when that
 * is full), which saves a thread hand-off per request (the CDF's ACRs).
 */
int ims_diam_serve_direct(enum ims_cmd cmd, ims_diam_handler fn, void *arg);

/* New answer for the request *req (*req becomes the answer) with Origin-Host/Realm and, for
 * Cx/Sh, Vendor-Specific-Application-Id and Auth-Session-State NO_STATE_MAINTAINED. */
int ims_diam_answer_new(struct msg **req, enum ims_app app);
int ims_diam_answer_send(struct msg **ans);

/*
 * For unit tests and fuzz harnesses, which dispatch requests without a peer: every answer
 * (a handler's, TOO_BUSY, UNABLE_TO_COMPLY, ims_diam_answer_send) goes to @fn instead of
 * the network. @fn takes *ans (NULL after) and returns 0, or non-zero (the answer is freed).
 * NULL restores sending.
 */
typedef int (*ims_diam_sink_fn)(struct msg **ans);
void ims_diam_answer_sink(ims_diam_sink_fn fn);

/*
 * Client side.
 * ims_diam_request_new - a request with a new Session-Id, Origin-Host/Realm,
 * Destination-Realm (and -Host when not NULL), and for Cx/Sh the
 * Vendor-Specific-Application-Id and Auth-Session-State. NULL on failure.
 */
struct msg *ims_diam_request_new(enum ims_cmd cmd, const char *dest_realm,
                                 const char *dest_host);
/* The same in an existing session: Session-Id @session_id (a new one when NULL or ""), for
 * the later requests of a session (CCR-UPDATE/TERMINATION, ACR INTERIM/STOP). */
struct msg *ims_diam_request_in_session(enum ims_cmd cmd, const char *dest_realm,
                                        const char *dest_host, const char *session_id);

/* Outcome of a request, delivered on the loop thread. */
struct ims_diam_result {
    struct msg *answer;    /* NULL on timeout / send failure; freed after the callback */
    int error;             /* 0, -ETIMEDOUT, -ENOTCONN (no route), -EAGAIN (too many) */
    uint32_t code;         /* Result-Code or Experimental-Result-Code */
    bool experimental;     /* code came from Experimental-Result */
    double latency_s;
    bool throttled;        /* not sent: its server's overload report (RFC 7683) asked for
                            * that; code is DIAMETER_TOO_BUSY, answer NULL */
};
typedef void (*ims_diam_answer_fn)(void *arg, const struct ims_diam_result *res);

/*
 * ims_diam_set_observer - @fn sees the outcome of each request sent with ims_diam_send()
 * (not ims_diam_send_direct()) on the loop thread,
 * before the requester's callback (the daemon's admission control watches for servers too
 * busy). One observer per process; NULL removes it.
 */
typedef void (*ims_diam_observer_fn)(void *arg, enum ims_cmd cmd,
                                     const struct ims_diam_result *res);
void ims_diam_set_observer(ims_diam_observer_fn fn, void *arg);

/*
 * ims_diam_send - send *req (consumed in every case) and call fn(arg, result) on the loop
 * thread exactly once. @timeout_ms 0 takes the configured default.
 * Returns 0 when the callback will come; a negative error (and no callback) when the
 * request could not even be queued (too many pending: -EAGAIN).
 * RFC 7683: the request (not Rf's) offers the loss algorithm; when its host (its
 * Destination-Host, else the one configured peer) has an overload report in force, that
 * share of requests is not sent: the callback comes as for a DIAMETER_TOO_BUSY answer
 * (code 3004, answer NULL, throttled true).
 */
int ims_diam_send(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn, void *arg);

/*
 * ims_diam_send_direct - as ims_diam_send, but fn runs on the freeDiameter thread that has
 * the outcome (or on the caller's, for a throttled request), not on the loop thread, and
 * the observer is not told: for a client whose outcome needs nothing of the loop (the Rf
 * client's spool thread takes its ACAs), saving the loop a wake-up per answer. @fn must be
 * thread-safe, and what it uses must live until ims_diam_stop() has returned; from the
 * start of ims_diam_stop() on, outcomes are released without their callback (it waits for
 * those already running).
 */
int ims_diam_send_direct(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn,
                         void *arg);

/*
 * A request as bytes, and back (for spooling and re-sending it). _encode gives a malloc'd
 * buffer (caller frees). _decode parses with the dictionary and, when @retransmission, sets
 * the T flag (RFC 6733 3: a request sent again after a failure); NULL on error.
 */
int ims_diam_msg_encode(struct msg *m, uint8_t **buf, size_t *len);
struct msg *ims_diam_msg_decode(const uint8_t *buf, size_t len, bool retransmission);

/*
 * ims_diam_session_guard - called on every message received from a peer (the
 * HOOK_MESSAGE_RECEIVED hook), before freeDiameter routes it. freeDiameter 1.2.1 makes a
 * session of a message's Session-Id before dispatching it and refuses one that holds a NUL
 * byte (valid UTF-8); in its dispatch thread that failure is fatal and the whole Diameter
 * core shuts down: one request from any peer stopped the daemon's Diameter (found by
 * tests/fuzz/hss_diam; the same report as open5gs issue 4644). Such a message gets a
 * session of its own here, named after its Session-Id with '?' for each NUL (its answer
 * carries that name). Returns 0, or -EINVAL when @msg had such a Session-Id (-ENOMEM).
 */
int ims_diam_session_guard(struct msg *msg);

/* Read Result-Code, or Experimental-Result-Code (and say so). 0 when neither is present. */
uint32_t ims_diam_result_code(struct msg *m, bool *experimental);

/* The identity of the peer whose connection delivered a received message, in buf ("" for a
 * message not received from a peer). Unlike Origin-Host, the sender cannot choose it: the
 * server accepted that identity for that connection (diam_peer.h). */
const char *ims_diam_msg_peer(struct msg *m, char *buf, size_t len);

/* The Session-Id of a message as a NUL-terminated string in buf ("" when absent). */
const char *ims_diam_session_id(struct msg *m, char *buf, size_t len);

/*
 * ims_diam_type_ends_session - whether a request of @cmd whose type is @type (the value of
 * its CC-Request-Type for a CCR, of its Server-Assignment-Type for a SAR; 0 for other
 * commands) ends a session, freeing what its server holds: a CCR-TERMINATION (RFC 4006
 * 8.3), and a SAR ending a registration that the S-CSCF sends on its own (binding expired,
 * administrative de-registration, authentication failed or timed out: nobody would send it
 * again, and the HSS would keep the user registered there). Neither DOIC's throttle (early
 * or not) nor a busy server's queue refuses those first. A UE's own de-REGISTER
 * (USER_DEREGISTRATION) is not one: the S-CSCF keeps the binding of a de-REGISTER whose
 * SAR failed, and the UE asks again.
 */
bool ims_diam_type_ends_session(enum ims_cmd cmd, int32_t type);

/* The same for the request @req of @cmd (its type read from it) */
bool ims_diam_ends_session(struct msg *req, enum ims_cmd cmd);

/* Name of a result code for logs: "DIAMETER_SUCCESS", "DIAMETER_ERROR_USER_UNKNOWN", ... */
const char *ims_diam_result_name(uint32_t code, bool experimental);

#endif
