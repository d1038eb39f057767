/*
 * proxy.c - stateful proxy transactions over sofia-sip nta
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "proxy.h"
#include "log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_wait.h>

#include "sip_hdr.h"

#define MAX_BRANCHES 8
/* The parser flag nta sets on the responses it makes itself (NTA_INTERNAL_MSG of sofia-sip's
 * private nta_internal.h, stable since 1.12) */
#define NTA_INTERNAL_FLAG (1 << 15)
/* How long an INVITE's server transaction is kept after its 2xx to absorb retransmitted
 * INVITEs (RFC 6026 "Accepted"): a UAC retransmits at 0.5, 1.5, 3.5 s when every response
 * was lost, so T4 covers them; see end_or_linger() for why not T1x64 */
#define ACCEPTED_MS 5000

struct branch {
    struct ims_ptx *tx;
    nta_outgoing_t *orq;
    char hop[64];         /* next hop "address:port" for RFC 7339 ("" none) */
    int status;           /* last status seen, 0 none */
    bool cancelled;       /* CANCEL sent */
    su_timer_t *timer;    /* no response at all within the branch's time: given up */
};

struct ims_ptx {
    struct ims_sip *sip;
    nta_incoming_t *irq;
    msg_t *msg;           /* our copy of the request, modified before forwarding */
    sip_t *req;
    sip_method_t method;
    struct branch branches[MAX_BRANCHES];
    int nbranches;
    msg_t *best;          /* best final response so far (non-2xx) */
    int best_status;
    bool answered;        /* a final response went upstream */
    bool cancelled;
    bool ending;
    su_timer_t *linger;   /* INVITE 2xx: keep for late 2xx from other branches */
    su_timer_t *timer_c;  /* INVITE: no final response in time (RFC 3261 16.8) */
    bool no_answer;       /* timer C fired */
    bool in_hook;         /* inside on_final: a reply must not free the transaction */
    int in_forward;       /* inside nta_outgoing_mcreate: a branch may end at once (a
                           * transport error on loopback), the outcome waits for the loop */
    su_timer_t *deferred; /* ... and runs from this timer */
    ims_ptx_response_fn on_response;
    ims_ptx_done_fn on_done;
    ims_ptx_final_fn on_final;
    void *arg;
    int klass;            /* admission class of the request (-1: not known yet) */
    char client[64];      /* ... and its source flow, the RFC 7339 client */
    char checked_hop[64]; /* the next hop whose RFC 7339 check it passed before the
                           * transaction (common/sip.c), "" when none or once used */
    char call_id[128];
};

static void ptx_destroy(struct ims_ptx *tx)
{
    if (tx->on_done)
        tx->on_done(tx->arg, tx);
    ims_admission_tx(ims_sip_admission(tx->sip), -1);
    for (int i = 0; i < tx->nbranches; i++) {
        if (tx->branches[i].orq)
            nta_outgoing_destroy(tx->branches[i].orq);
        if (tx->branches[i].timer)
            su_timer_destroy(tx->branches[i].timer);
    }
    if (tx->timer_c)
        su_timer_destroy(tx->timer_c);
    if (tx->deferred)
        su_timer_destroy(tx->deferred);
    if (tx->linger)
        su_timer_destroy(tx->linger);
    if (tx->best)
        msg_destroy(tx->best);
    if (tx->msg)
        msg_destroy(tx->msg);
    if (tx->irq)
        nta_incoming_destroy(tx->irq);
    free(tx);
}

/* "P-Charging-Vector: ..." of the request, for the messages the proxy makes itself (CANCEL,
 * its own responses): every message of a session carries the ICID (TS 24.229 5.x.7) */
static char *charging_line(struct ims_ptx *tx, char *buf, size_t len)
{
    const char *v = tx->req ? ims_sip_header(tx->req, "P-Charging-Vector") : NULL;
    if (!v)
        return NULL;
    snprintf(buf, len, "P-Charging-Vector: %s", v);
    return buf;
}

/* RFC 3261 16.7 step 6: 6xx wins, else the lowest class; first seen wins ties */
static bool better(int candidate, int current)
{
    if (!current)
        return true;
    if (current >= 600)
        return false;
    if (candidate >= 600)
        return true;
    return candidate / 100 < current / 100;
}

static void defer_conclude(struct ims_ptx *tx);

/*
 * sofia-sip's nta ends an INVITE client transaction on a reliable transport (TCP) as soon
 * as its CANCEL goes out (it completes the transaction the UA way), so the 487 that
 * follows is discarded: such a branch is counted as ended by a 487 at once.
 */
static bool ended_by_cancel(struct branch *b)
{
    if (!b->cancelled || b->tx->method != sip_method_invite || !b->status || !b->orq)
        return false;
    tport_t *tp = nta_outgoing_transport(b->orq);
    bool reliable = tp && tport_is_reliable(tp);
    tport_unref(tp);
    return reliable;
}

static void end_by_cancel(struct ims_ptx *tx, struct branch *b)
{
    b->status = 487;
    if (!tx->answered && !tx->no_answer && better(487, tx->best_status)) {
        if (tx->best)
            msg_destroy(tx->best);
        tx->best = NULL;
        tx->best_status = 487;
    }
    defer_conclude(tx);
}

static void cancel_pending(struct ims_ptx *tx)
{
    char pcv[300];
    const char *line = charging_line(tx, pcv, sizeof(pcv));
    for (int i = 0; i < tx->nbranches; i++) {
        struct branch *b = &tx->branches[i];
        if (b->orq && b->status < 200 && !b->cancelled) {
            b->cancelled = true;
            nta_outgoing_tcancel(b->orq, NULL, NULL, TAG_IF(line, SIPTAG_HEADER_STR(line)),
                                 TAG_END());
            if (ended_by_cancel(b))
                end_by_cancel(tx, b);
        }
    }
}

static bool all_final(const struct ims_ptx *tx)
{
    for (int i = 0; i < tx->nbranches; i++)
        if (tx->branches[i].status < 200)
            return false;
    return true;
}


/* The request's source flow (and class), found once, when first needed */
static const char *client_of(struct ims_ptx *tx)
{
    if (tx->klass < 0 && tx->irq)
        tx->klass = (int)ims_sip_incoming_client(tx->sip, tx->irq, tx->client,
                                                 sizeof(tx->client));
    return tx->client;
}

/* RFC 7339 server side: the overload control parameters for a client that asked for them
 * in its Via (admission.h) */
static void stamp(struct ims_ptx *tx, msg_t *resp, sip_t *rs)
{
    struct ims_admission *a = ims_sip_admission(tx->sip);
    if (!tx->irq || !ims_admission_oc_offered(a, rs))
        return;
    ims_admission_stamp(a, resp, rs, client_of(tx));
}

/*
 * relay - send a response of a branch upstream: through the server transaction, or, once
 * that is gone (an INVITE's later 2xx while the transaction lingers, end_or_linger()),
 * statelessly along the Via (RFC 6026 7.1: a proxy forwards such 2xx statelessly);
 * nta_msg_tsend() removes our Via itself. Takes @resp.
 */
static void relay(struct ims_ptx *tx, msg_t *resp)
{
    sip_t *rs = sip_object(resp);
    int status = rs->sip_status->st_status;
    if (tx->irq)
        sip_via_remove(resp, rs);
    if (tx->on_response && tx->on_response(tx->arg, tx, resp, rs) != 0) {
        msg_destroy(resp);
        return;
    }
    ims_sip_count_response(tx->sip, status);
    if (tx->irq) {
        stamp(tx, resp, rs);
        nta_incoming_mreply(tx->irq, resp);
    } else {
        nta_msg_tsend(ims_sip_agent(tx->sip), resp, NULL, TAG_END());
    }
    if (status >= 200)
        tx->answered = true;
}

/* A response of our own, through the same hook as relayed ones */
static void local_reply(struct ims_ptx *tx, int status, const char *phrase,
                        const char *warning, unsigned retry_after)
{
    char ra[16], pcv[300];
    snprintf(ra, sizeof(ra), "%u", retry_after);
    const char *line = charging_line(tx, pcv, sizeof(pcv));
    msg_t *resp = nta_incoming_create_response(tx->irq, 0, NULL);
    if (!resp || nta_incoming_complete_response(
                     tx->irq, resp, status, phrase ? phrase : sip_status_phrase(status),
                     TAG_IF(warning, SIPTAG_WARNING_STR(warning)),
                     TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(ra)),
                     TAG_IF(line, SIPTAG_HEADER_STR(line)), TAG_END()) < 0) {
        if (resp)
            msg_destroy(resp);
        nta_incoming_treply(tx->irq, status, phrase ? phrase : sip_status_phrase(status),
                            TAG_END());
        ims_sip_count_response(tx->sip, status);
    } else {
        sip_t *rs = sip_object(resp);
        if (tx->on_response && tx->on_response(tx->arg, tx, resp, rs) != 0)
            msg_destroy(resp);
        else {
            ims_sip_count_response(tx->sip, status);
            stamp(tx, resp, rs);
            nta_incoming_mreply(tx->irq, resp);
        }
    }
    if (status >= 200)
        tx->answered = true;
}

static void on_linger_end(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    struct ims_ptx *tx = (struct ims_ptx *)arg;
    if (!tx->irq) {
        ptx_destroy(tx);
        return;
    }
    /* the "Accepted" time is over: let the server transaction go, keep relaying late 2xx
     * statelessly until T1x64 */
    nta_incoming_destroy(tx->irq);
    tx->irq = NULL;
    unsigned t1x64 = ims_sip_t1x64_ms(tx->sip);
    if (t1x64 <= ACCEPTED_MS ||
        su_timer_set_interval(t, on_linger_end, arg, t1x64 - ACCEPTED_MS) < 0)
        ptx_destroy(tx);
}

static void end_or_linger(struct ims_ptx *tx)
{
    if (tx->method != sip_method_invite || tx->best_status >= 300 || tx->ending) {
        ptx_destroy(tx);
        return;
    }
    /* INVITE answered 2xx: retransmitted or forked 2xx may follow; relay them for T1x64.
     * The request copy is no longer needed (each branch holds a deep copy). The server
     * transaction is kept ACCEPTED_MS only, to absorb retransmitted INVITEs (nta answers
     * them with the 2xx again); later 2xx go statelessly (relay()). nta keeps a terminated
     * server transaction that is not destroyed in a queue it walks whole at every timer
     * tick: held for T1x64 they made each tick cost O(calls per second x 32 s), and a
     * sustained 250 calls/s collapsed. */
    tx->ending = true;
    msg_destroy(tx->msg);
    tx->msg = NULL;
    tx->req = NULL;
    tx->linger = su_timer_create(su_root_task(ims_sip_root(tx->sip)), ACCEPTED_MS);
    if (!tx->linger || su_timer_set(tx->linger, on_linger_end, (su_timer_arg_t *)tx) < 0)
        ptx_destroy(tx);
}

/* Every branch has a final status: answer upstream if not done yet, then end. */
static void conclude(struct ims_ptx *tx)
{
    if (!all_final(tx))
        return;
    if (!tx->answered && tx->best_status >= 300 && tx->on_final) {
        tx->in_hook = true;
        bool taken = tx->on_final(tx->arg, tx, tx->best_status, tx->best == NULL);
        tx->in_hook = false;
        if (taken) {
            /* the daemon took over (a new branch, or its own reply): forget the outcome
             * of the branches so far */
            if (tx->best)
                msg_destroy(tx->best);
            tx->best = NULL;
            tx->best_status = 0;
            if (tx->answered && all_final(tx))
                ptx_destroy(tx);
            return;
        }
    }
    if (!tx->answered) {
        if (tx->best && tx->best_status != 503) {
            msg_t *resp = tx->best;
            tx->best = NULL;
            relay(tx, resp);
        } else {
            /* a local outcome (timeout, unreachable) or a 503, which RFC 3261 16.7
             * step 6 turns into 500 (keeping the Warning that says why) */
            int st = (tx->best_status == 503 || !tx->best_status) ? 500 : tx->best_status;
            char warning[300] = "";
            sip_t *bs = tx->best ? sip_object(tx->best) : NULL;
            if (bs && bs->sip_warning)
                sip_header_field_e(warning, sizeof(warning), (sip_header_t *)bs->sip_warning,
                                   0);
            /* a 500 may say when to try again too (RFC 3261 21.5.1): the 503's delay */
            unsigned ra = bs && bs->sip_retry_after ? (unsigned)bs->sip_retry_after->af_delta
                                                   : 0;
            local_reply(tx, st, NULL, warning[0] ? warning : NULL, ra);
        }
    }
    end_or_linger(tx);
}

static void on_deferred(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct ims_ptx *tx = (struct ims_ptx *)arg;
    su_timer_destroy(tx->deferred);
    tx->deferred = NULL;
    conclude(tx);
}

/* conclude(), unless a branch is being created: then from the loop, once it is */
static void maybe_conclude(struct ims_ptx *tx)
{
    if (!tx->in_forward) {
        conclude(tx);
        return;
    }
    defer_conclude(tx);
}

/* conclude() from the loop, soon (the caller is inside a callback of nta) */
static void defer_conclude(struct ims_ptx *tx)
{
    if (tx->deferred)
        return;
    tx->deferred = su_timer_create(su_root_task(ims_sip_root(tx->sip)), 1);
    if (!tx->deferred || su_timer_set(tx->deferred, on_deferred, (su_timer_arg_t *)tx) < 0) {
        ims_err("proxy: cannot schedule the end of a transaction");   /* out of memory */
    }
}

static int on_branch_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                              sip_t const *sip)
{
    struct branch *b = (struct branch *)magic;
    struct ims_ptx *tx = b->tx;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    /* A response nta made itself (transport error, timeout), or one that lost our
     * upstream Via headers: a local outcome, nothing to relay (RFC 3261 16.7 step 3, 16.9) */
    if (sip && ((sip->sip_flags & NTA_INTERNAL_FLAG) || !sip->sip_via || !sip->sip_via->v_next))
        sip = NULL;
    msg_t *resp = sip ? nta_outgoing_getresponse(orq) : NULL;
    if (!sip && (status < 300 || status > 699))
        status = 500;
    if (resp && b->hop[0] && ims_sip_msg_trusted(tx->sip, resp))   /* RFC 7339 client */
        ims_admission_learn(ims_sip_admission(tx->sip), b->hop, sip);
    if (status >= 200 || b->status < status)
        b->status = status;
    if (b->timer) {                               /* the next hop is alive */
        su_timer_destroy(b->timer);
        b->timer = NULL;
    }

    if (status == 100) {                          /* hop by hop (RFC 3261 16.7 step 5) */
        if (resp)
            msg_destroy(resp);
        return 0;
    }
    if (status < 200 && ended_by_cancel(b)) {     /* a CANCEL that waited for this */
        if (resp)
            msg_destroy(resp);
        end_by_cancel(tx, b);
        return 0;
    }
    if (status < 200) {                           /* provisional */
        if (resp && !tx->answered)
            relay(tx, resp);
        else if (resp)
            msg_destroy(resp);
        return 0;
    }
    if (status < 300) {                           /* 2xx: relay every one */
        if (resp)
            relay(tx, resp);
        if (tx->ending)
            return 0;
        tx->best_status = status;
        cancel_pending(tx);
        maybe_conclude(tx);
        return 0;
    }
    /* 3xx-6xx, or a local timeout / transport error (no message) */
    if (tx->no_answer && !tx->best) {
        /* timer C fired: the 487s of our CANCELs do not replace its 408 */
        if (resp)
            msg_destroy(resp);
        maybe_conclude(tx);
        return 0;
    }
    if (!tx->answered && better(status, tx->best_status)) {
        if (tx->best)
            msg_destroy(tx->best);
        tx->best = resp;
        tx->best_status = status;
    } else if (resp) {
        msg_destroy(resp);
    }
    if (status >= 600)
        cancel_pending(tx);
    maybe_conclude(tx);
    return 0;
}

static int on_ack_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, sip_t const *sip)
{
    struct ims_ptx *tx = (struct ims_ptx *)magic;
    (void)irq;
    if (!sip)     /* server transaction timed out / terminated */
        return 0;
    if (sip->sip_request->rq_method != sip_method_cancel)
        return 200;
    tx->cancelled = true;
    if (tx->nbranches == 0 && !tx->answered) {
        /* still deciding where to go (e.g. waiting for Diameter): end it now */
        local_reply(tx, 487, NULL, NULL, 0);
        return 200;
    }
    cancel_pending(tx);
    return 200;
}

struct ims_ptx *ims_ptx_create(struct ims_sip *sip, nta_incoming_t *irq)
{
    struct ims_ptx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->sip = sip;
    tx->irq = irq;
    tx->klass = -1;
    msg_t *orig = nta_incoming_getrequest(irq);
    tx->msg = msg_copy(orig);
    msg_destroy(orig);
    if (!tx->msg) {
        free(tx);
        return NULL;
    }
    tx->req = sip_object(tx->msg);
    tx->method = tx->req->sip_request->rq_method;
    ims_admission_tx(ims_sip_admission(sip), +1);
    ims_sip_hop_checked(sip, irq, tx->checked_hop, sizeof(tx->checked_hop));
    if (tx->req->sip_call_id)
        snprintf(tx->call_id, sizeof(tx->call_id), "%s", tx->req->sip_call_id->i_id);
    nta_incoming_bind(irq, on_ack_cancel, (nta_incoming_magic_t *)tx);
    if (tx->method == sip_method_invite) {
        char pcv[300];
        const char *line = charging_line(tx, pcv, sizeof(pcv));
        nta_incoming_treply(irq, SIP_100_TRYING, TAG_IF(line, SIPTAG_HEADER_STR(line)),
                            TAG_END());
    }
    return tx;
}

msg_t *ims_ptx_msg(struct ims_ptx *tx)
{
    return tx->msg;
}

sip_t *ims_ptx_sip(struct ims_ptx *tx)
{
    return tx->req;
}

struct ims_sip *ims_ptx_sip_stack(struct ims_ptx *tx)
{
    return tx->sip;
}

const char *ims_ptx_call_id(struct ims_ptx *tx)
{
    return tx->call_id;
}

bool ims_ptx_cancelled(struct ims_ptx *tx)
{
    return tx->cancelled;
}

void ims_ptx_set_final(struct ims_ptx *tx, ims_ptx_final_fn on_final)
{
    tx->on_final = on_final;
}

void *ims_ptx_arg(struct ims_ptx *tx)
{
    return tx->arg;
}

void ims_ptx_set_hooks(struct ims_ptx *tx, ims_ptx_response_fn on_response,
                       ims_ptx_done_fn on_done, void *arg)
{
    tx->on_response = on_response;
    tx->on_done = on_done;
    tx->arg = arg;
}

int ims_ptx_validate(struct ims_ptx *tx)
{
    sip_t *req = tx->req;
    sip_max_forwards_t *mf = req->sip_max_forwards;
    if (mf && mf->mf_count == 0)
        return 483;
    if (mf) {
        mf->mf_count--;
        msg_fragment_clear(mf->mf_common);   /* re-encode the changed value */
    } else {
        sip_add_make(tx->msg, req, sip_max_forwards_class, "70");
    }
    while (req->sip_route && ims_sip_is_own(tx->sip, req->sip_route->r_url))
        sip_route_remove(tx->msg, req);
    return 0;
}

/* A branch whose next hop never answered: give it up as a local 408. */
static void on_branch_silent(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct branch *b = (struct branch *)arg;
    struct ims_ptx *tx = b->tx;
    su_timer_destroy(b->timer);
    b->timer = NULL;
    if (b->status)
        return;
    struct ims_log_ids ids = { .call_id = tx->call_id };
    ims_log(IMS_LOG_INFO, &ids, "proxy: no response from the next hop, branch given up");
    nta_outgoing_destroy(b->orq);   /* no CANCEL before a provisional (RFC 3261 9.1) */
    b->orq = NULL;
    b->status = 408;
    if (!tx->answered && better(408, tx->best_status)) {
        if (tx->best)
            msg_destroy(tx->best);
        tx->best = NULL;
        tx->best_status = 408;
    }
    conclude(tx);
}

static void on_timer_c(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct ims_ptx *tx = (struct ims_ptx *)arg;
    su_timer_destroy(tx->timer_c);
    tx->timer_c = NULL;
    if (tx->answered || all_final(tx))
        return;
    struct ims_log_ids ids = { .call_id = tx->call_id };
    ims_log(IMS_LOG_INFO, &ids, "proxy: no final response in time: cancelling (408)");
    tx->no_answer = true;
    if (tx->best)
        msg_destroy(tx->best);
    tx->best = NULL;
    tx->best_status = 408;
    for (int i = 0; i < tx->nbranches; i++) {
        struct branch *b = &tx->branches[i];
        if (b->orq && b->status == 0) {   /* never answered: nothing to cancel */
            nta_outgoing_destroy(b->orq);
            b->orq = NULL;
            b->status = 408;
        }
    }
    cancel_pending(tx);
    conclude(tx);
}

void ims_ptx_set_timer_c(struct ims_ptx *tx, unsigned ms)
{
    if (tx->method != sip_method_invite || !ms)
        return;
    if (tx->timer_c)
        su_timer_destroy(tx->timer_c);
    tx->timer_c = su_timer_create(su_root_task(ims_sip_root(tx->sip)), ms);
    if (tx->timer_c && su_timer_set(tx->timer_c, on_timer_c, (su_timer_arg_t *)tx) < 0) {
        su_timer_destroy(tx->timer_c);
        tx->timer_c = NULL;
    }
}

/*
 * offer_overload_control - RFC 7339 client side for a request of new work to next hop
 * @key (@hop): when that next hop asked for a reduction and this request falls in it, the
 * request is answered 503 here (when no branch went out yet) and that status returned;
 * otherwise our Via offering overload control is put on @msg (*user_via then true: nta
 * completes it) and 0 returned. A request that passed that check for @key before its
 * transaction (ims_sip_set_next_hop()) is not checked again on its first branch there.
 */
static int offer_overload_control(struct ims_ptx *tx, msg_t *msg, sip_t *sip, const url_t *hop,
                                  const char *key, bool *user_via)
{
    struct ims_admission *a = ims_sip_admission(tx->sip);
    const char *client = tx->req && ims_admission_oc_offered(a, tx->req) ? client_of(tx) : NULL;
    /* checked before the transaction: counted once, not dropped twice */
    bool checked = tx->checked_hop[0] && strcmp(tx->checked_hop, key) == 0;
    tx->checked_hop[0] = '\0';
    if (!checked && ims_admission_throttle(a, key, client)) {
        client_of(tx);
        ims_admission_throttled(a, tx->klass < 0 ? IMS_LOAD_NORMAL
                                                 : (enum ims_load_class)tx->klass);
        if (tx->nbranches == 0 && !tx->answered) {
            char why[160], warning[320];
            snprintf(why, sizeof(why), "next hop %s is overloaded (RFC 7339): request not sent",
                     key);
            ims_sip_warning(tx->sip, warning, sizeof(warning), "%s", why);
            local_reply(tx, 503, NULL, warning, ims_admission_retry_after(a));
        }
        return 503;
    }
    *user_via = ims_admission_offer(a, msg, sip, hop, ims_sip_address(tx->sip),
                                    ims_sip_port_for(tx->sip, hop));
    return 0;
}

int ims_ptx_forward(struct ims_ptx *tx, const url_t *request_uri, const url_t *next_hop,
                    bool record_route)
{
    struct ims_ptx_hop h = { .request_uri = request_uri, .next_hop = next_hop,
                             .record_route = record_route };
    return ims_ptx_forward_ex(tx, &h);
}

int ims_ptx_forward_ex(struct ims_ptx *tx, const struct ims_ptx_hop *h)
{
    const url_t *request_uri = h->request_uri, *next_hop = h->next_hop;
    bool record_route = h->record_route;
    unsigned silent_ms = h->silent_ms;
    if (tx->answered || tx->nbranches == MAX_BRANCHES)
        return 500;
    bool ack = tx->method == sip_method_ack;
    /* msg_copy() shares the strings of tx->msg and keeps a reference to it, and tx->msg one
     * to the received request: an INVITE's branch lingers 32 s after its 2xx
     * (end_or_linger()), and a shallow copy would keep all three messages that long. Its
     * own deep copy lets the other two go with the server transaction (5 s). */
    msg_t *msg = tx->method == sip_method_invite ? msg_dup(tx->msg) : msg_copy(tx->msg);
    if (!msg)
        return 500;
    sip_t *sip = sip_object(msg);
    if (request_uri) {
        sip_request_t *rq = sip_request_create(msg_home(msg), tx->method,
                                               sip->sip_request->rq_method_name,
                                               (url_string_t const *)request_uri, NULL);
        if (!rq || msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)rq) != 0) {
            msg_destroy(msg);
            return 500;
        }
    }
    if ((h->routes && ims_sip_route_prepend(msg, sip, h->routes) != 0) ||
        (h->record_route_inner && !ack &&
         ims_sip_record_route_push(msg, sip, h->record_route_inner) != 0) ||
        (h->record_route_uri && !ack &&
         ims_sip_record_route_push(msg, sip, h->record_route_uri) != 0) ||
        (record_route && !h->record_route_uri && !ack &&
         ims_sip_record_route_push(msg, sip, ims_sip_own_uri(tx->sip)) != 0)) {
        msg_destroy(msg);
        return 500;
    }
    /* names of sip.hosts are sent to their address; the headers keep the names */
    const url_t *hop = next_hop ? next_hop
                       : sip->sip_route ? sip->sip_route->r_url : sip->sip_request->rq_url;
    url_t *resolved = ims_sip_resolve(tx->sip, msg_home(msg), hop);
    char key[64] = "";
    bool user_via = false;
    /* through a given transport (a UE's protected port): nta writes the Via of that
     * transport; no RFC 7339 offer (a Via of ours with the main port) */
    if (!ack && !h->tport && ims_admission_new_work(sip) &&
        ims_admission_hop_key(resolved ? resolved : hop, key, sizeof(key))) {
        int st = offer_overload_control(tx, msg, sip, resolved ? resolved : hop, key,
                                        &user_via);
        if (st) {
            msg_destroy(msg);
            return st;
        }
    }
    struct branch *b = &tx->branches[tx->nbranches];
    memset(b, 0, sizeof(*b));
    b->tx = tx;
    snprintf(b->hop, sizeof(b->hop), "%s", key);
    tx->nbranches++;              /* counted before nta may report its end */
    tx->in_forward++;
    b->orq = nta_outgoing_mcreate(ims_sip_agent(tx->sip), on_branch_response,
                                  (nta_outgoing_magic_t *)b,
                                  (url_string_t const *)(resolved ? resolved : next_hop),
                                  msg, NTATAG_STATELESS(ack),
                                  TAG_IF(h->tport, NTATAG_TPORT(h->tport)),
                                  TAG_IF(h->any_size, TPTAG_MTU(INT_MAX)),
                                  TAG_IF(user_via, NTATAG_USER_VIA(1)), TAG_END());
    tx->in_forward--;
    if (!b->orq) {
        tx->nbranches--;
        struct ims_log_ids ids = { .call_id = tx->call_id };
        ims_log(IMS_LOG_WARN, &ids, "proxy: cannot forward %s", tx->req ?
                tx->req->sip_request->rq_method_name : "the request");
        return 500;   /* nta_outgoing_mcreate destroyed msg */
    }
    if (ack) {
        /* stateless: nothing comes back; the ACK transaction ends here */
        nta_outgoing_destroy(b->orq);
        b->orq = NULL;
        ptx_destroy(tx);
        return 0;
    }
    if (silent_ms && !b->status) {
        b->timer = su_timer_create(su_root_task(ims_sip_root(tx->sip)), silent_ms);
        if (b->timer && su_timer_set(b->timer, on_branch_silent, (su_timer_arg_t *)b) < 0) {
            su_timer_destroy(b->timer);
            b->timer = NULL;
        }
    }
    return 0;
}

void ims_ptx_reply(struct ims_ptx *tx, int status, const char *phrase, const char *warning)
{
    ims_ptx_reply_ex(tx, status, phrase, warning, 0);
}

void ims_ptx_reply_ex(struct ims_ptx *tx, int status, const char *phrase, const char *warning,
                      unsigned retry_after)
{
    if (tx->answered) {
        if (status >= 200 && all_final(tx) && !tx->in_hook)
            ptx_destroy(tx);
        return;
    }
    if (tx->method == sip_method_ack) {
        ptx_destroy(tx);
        return;
    }
    local_reply(tx, status, phrase, warning, retry_after);
    if (status < 200)
        return;
    cancel_pending(tx);
    if (all_final(tx) && !tx->in_hook)
        ptx_destroy(tx);
}

void ims_ptx_refuse(struct ims_ptx *tx, int status, const char *phrase, const char *why,
                    unsigned retry_after)
{
    char warning[320];
    ims_sip_warning(tx->sip, warning, sizeof(warning), "%s", why);
    ims_ptx_reply_ex(tx, status, phrase, warning,
                     status == 480 || status == 503 ? retry_after : 0);
}
