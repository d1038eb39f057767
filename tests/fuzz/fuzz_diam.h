/*
 * fuzz_diam.h - Diameter requests from fuzz bytes through freeDiameter to the handlers a
 * daemon registers, for the Diameter harnesses
 *
 * A harness includes this once. freeDiameter is initialised as the daemons do it
 * (ims_diam_init(): core, configuration, the dictionary extensions, the IMS dictionary,
 * the application fallbacks) but not started: no peer, no socket, no thread of its own.
 * Each message of the input (Diameter messages one after the other, each as long as its
 * header says) goes the way freeDiameter takes a received request: fd_msg_parse_buffer(),
 * the daemon's HOOK_MESSAGE_RECEIVED hook (ims_diam_session_guard()), fd_msg_parse_dict(),
 * fd_msg_parse_rules() (a message failing them is answered by freeDiameter itself, never
 * seen by the daemon), fd_msg_sess_get() (whose failure would stop freeDiameter's core),
 * then fd_msg_dispatch() to the handler.
 *
 * Sending is cut off with link options: ims_diam_send() (-Wl,--wrap=ims_diam_send: the
 * HSS's own requests, e.g. PNR) encodes the request and fails it with -ENOTCONN;
 * ims_diam_answer_send() (-Wl,--wrap=ims_diam_answer_send: answers sent from another
 * thread, the CDF's) takes the answer as if sent.
 *
 * Properties: every answer and every request the daemon builds encodes, and reads back
 * with the dictionary and its rules (what a peer's freeDiameter would check); an answer
 * sent later by another thread comes within 10 s.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_DIAM_H
#define IMS_FUZZ_DIAM_H

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

#include "diam.h"
#include "fuzz.h"
#include "loop.h"

#define FUZZ_REALM "ims.mnc001.mcc001.3gppnetwork.org"
#define FUZZ_MSGS_MAX 4

/* the empty AVP fd_msg_parse_rules() makes for a missing one (for Failed-AVP) */
static void fuzz_pei_free(struct fd_pei *pei)
{
    if (pei->pei_avp_free && pei->pei_avp)
        fd_msg_free(pei->pei_avp);
    memset(pei, 0, sizeof(*pei));
}

/* Encode @m and read it back as a peer would; aborts when either fails. */
static void fuzz_diam_check(struct msg *m, const char *what)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct msg *back = NULL;
    struct fd_pei pei;
    int rc = fd_msg_bufferize(m, &buf, &len);
    FUZZ_ASSERT(rc == 0, "%s does not encode: %s", what, strerror(rc));
    rc = fd_msg_parse_buffer(&buf, len, &back);
    FUZZ_ASSERT(rc == 0, "%s does not parse back: %s", what, strerror(rc));
    memset(&pei, 0, sizeof(pei));
    rc = fd_msg_parse_dict(back, fd_g_config->cnf_dict, &pei);
    if (rc == 0)
        rc = fd_msg_parse_rules(back, fd_g_config->cnf_dict, &pei);
    if (rc != 0) {
        char *dump = NULL;
        size_t dlen = 0;
        fd_msg_dump_treeview(&dump, &dlen, NULL, back, fd_g_config->cnf_dict, 0, 1);
        fprintf(stderr, "fuzz: %s breaks the dictionary: %s (%s)\n%s\n", what,
                pei.pei_errcode ? pei.pei_errcode : "?", pei.pei_message ? pei.pei_message : "",
                dump ? dump : "");
        abort();
    }
    fd_msg_free(back);
    fuzz_pei_free(&pei);
}

/* ---- the cut-off senders ---- */

static pthread_mutex_t fuzz_sent_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fuzz_sent_cv = PTHREAD_COND_INITIALIZER;
static unsigned fuzz_sent;

int __wrap_ims_diam_send(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn,
                         void *arg);
int __wrap_ims_diam_send(struct msg **req, unsigned timeout_ms, ims_diam_answer_fn fn,
                         void *arg)
{
    (void)timeout_ms;
    (void)fn;
    (void)arg;
    fuzz_diam_check(*req, "a request of the daemon");
    fd_msg_free(*req);
    *req = NULL;
    return -ENOTCONN;
}

static int fuzz_diam_answer_sent(struct msg **ans)
{
    struct msg_hdr *hdr;
    FUZZ_ASSERT(fd_msg_hdr(*ans, &hdr) == 0 && !(hdr->msg_flags & CMD_FLAG_REQUEST),
                "a handler sent a request back");
    fuzz_diam_check(*ans, "an answer");
    fd_msg_free(*ans);
    *ans = NULL;
    pthread_mutex_lock(&fuzz_sent_mu);
    fuzz_sent++;
    pthread_cond_broadcast(&fuzz_sent_cv);
    pthread_mutex_unlock(&fuzz_sent_mu);
    return 0;
}

/* wait until @n answers have been sent by other threads */
static void fuzz_diam_wait_sent(unsigned n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&fuzz_sent_mu);
    while (fuzz_sent < n)
        FUZZ_ASSERT(pthread_cond_timedwait(&fuzz_sent_cv, &fuzz_sent_mu, &until) == 0,
                    "a request taken by the daemon was never answered");
    pthread_mutex_unlock(&fuzz_sent_mu);
}

static unsigned fuzz_diam_sent(void)
{
    pthread_mutex_lock(&fuzz_sent_mu);
    unsigned n = fuzz_sent;
    pthread_mutex_unlock(&fuzz_sent_mu);
    return n;
}

/* ---- set-up ---- */

/* freeDiameter as the daemons initialise it, advertising @apps (IMS_APP_BIT mask) */
static void fuzz_diam_init(const char *daemon, unsigned apps)
{
    static char *none[] = { NULL };
    /* freeDiameter dumps every message at debug: only when the logs are read */
    enum ims_log_level level = getenv("IMS_FUZZ_LOG") ? IMS_LOG_DEBUG : IMS_LOG_INFO;
    if (ims_log_init(daemon, level, IMS_LOG_KV, fuzz_log_path()) != 0 || su_init() != 0)
        abort();
    struct ims_loop *loop = ims_loop_create(64);
    struct ims_diam_conf c = {
        .identity = "fuzz." FUZZ_REALM, .realm = FUZZ_REALM, .address = "127.0.0.1",
        .port = 0, .peers = none, .accept = none, .tc_timer = 30, .tw_timer = 30,
        .threads = 1, .request_timeout_ms = 1000, .max_pending = 10, .apps = apps,
        .loop = loop,
    };
    if (!loop || ims_diam_init(&c) != 0) {
        fprintf(stderr, "fuzz: freeDiameter does not initialise\n");
        abort();
    }
    ims_diam_answer_sink(fuzz_diam_answer_sent);
}

/*
 * One message of @len bytes (a copy: freeDiameter takes the buffer) received from a peer.
 * Returns the number of answers to wait for (0/1): a request the dispatch took is answered
 * from another thread.
 */
static unsigned fuzz_diam_receive(const uint8_t *data, size_t len)
{
    struct msg *m = NULL;
    struct msg_hdr *hdr;
    struct fd_pei pei;
    enum disp_action action = DISP_ACT_CONT;
    char *ec = NULL, *drop_reason = NULL;
    struct msg *drop = NULL;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    memcpy(buf, data, len);
    if (fd_msg_parse_buffer(&buf, len, &m) != 0) {
        free(buf);
        return 0;
    }
    ims_diam_session_guard(m);   /* what the daemon's HOOK_MESSAGE_RECEIVED does */
    memset(&pei, 0, sizeof(pei));
    if (fd_msg_parse_dict(m, fd_g_config->cnf_dict, &pei) != 0 ||
        fd_msg_parse_rules(m, fd_g_config->cnf_dict, &pei) != 0 || fd_msg_hdr(m, &hdr) != 0 ||
        !(hdr->msg_flags & CMD_FLAG_REQUEST)) {
        fuzz_pei_free(&pei);
        fd_msg_free(m);
        return 0;
    }
    /* freeDiameter's dispatch thread does this first; its failure stops the whole core */
    struct session *sess = NULL;
    int rc = fd_msg_sess_get(fd_g_config->cnf_dict, m, &sess, NULL);
    FUZZ_ASSERT(rc == 0, "no session for the request (%s): freeDiameter would shut down",
                strerror(rc));
    FUZZ_ASSERT(fd_msg_dispatch(&m, sess, &action, &ec, &drop_reason, &drop) == 0,
                "dispatch failed");
    if (drop)
        fd_msg_free(drop);
    if (!m)
        return 1;   /* taken: answered later */
    if (action == DISP_ACT_SEND) {
        FUZZ_ASSERT(fd_msg_hdr(m, &hdr) == 0 && !(hdr->msg_flags & CMD_FLAG_REQUEST),
                    "a handler sent a request back");
        fuzz_diam_check(m, "an answer");
    }
    fd_msg_free(m);
    return 0;
}

/* Each message of the input, in order; then wait for the answers kept for later. */
static void fuzz_diam_run(const uint8_t *data, size_t size)
{
    unsigned later = 0, before = fuzz_diam_sent();
    for (int i = 0; i < FUZZ_MSGS_MAX && size >= 20; i++) {
        size_t len = (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
        if (len < 20 || len > size)
            len = size;
        later += fuzz_diam_receive(data, len);
        data += len;
        size -= len;
    }
    if (later)
        fuzz_diam_wait_sent(before + later);
}

/* ---- seeds: IMS_FUZZ_SEEDS=<dir> writes the requests a harness builds, then exits ---- */

static const char *fuzz_seed_dir(void)
{
    const char *dir = getenv("IMS_FUZZ_SEEDS");
    return dir && *dir ? dir : NULL;
}

/* append the encoding of @m (freed) to the seed file @name */
static void fuzz_seed_add(const char *name, struct msg *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char path[512];
    if (!m || fd_msg_bufferize(m, &buf, &len) != 0)
        abort();
    snprintf(path, sizeof(path), "%s/%s", fuzz_seed_dir(), name);
    FILE *f = fopen(path, "ab");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        abort();
    free(buf);
    fd_msg_free(m);
}

#endif
