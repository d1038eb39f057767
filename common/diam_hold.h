/*
 * diam_hold.h - answers held back while the peer they go to re-opens its connection
 *
 * freeDiameter 1.2.1 puts a peer whose connection broke (a client killed without DPR) into
 * state REOPEN when it connects again with the same Diameter identity: RFC 3539 3.4.1 wants
 * three watchdog exchanges before the connection carries traffic. freeDiameter already
 * accepts and dispatches the peer's requests in that state, but its routing drops any answer
 * to a peer that is not OPEN ("Unable to forward answer to deleted / closed peer"): the
 * client, whose side is open as soon as it has our CEA, never gets an answer to the
 * requests it sent in those first milliseconds. Every answer of the daemon goes through
 * ims_diam_hold_send(): one to a re-opening peer waits here, and leaves as soon as the
 * watchdogs have made the peer OPEN (a few round trips). Used by diam.c only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_HOLD_H
#define IMS_DIAM_HOLD_H

#include <stdbool.h>
#include <stddef.h>

struct msg;

/* What the module reads and does through freeDiameter; tests give their own. */
struct ims_diam_hold_ops {
    /* state (freeDiameter's STATE_*) of the peer named @id, or -1 when there is none */
    int (*peer_state)(const char *id, size_t len);
    /* send the answer *ans (consumed on success); 0 or a positive errno */
    int (*send)(struct msg **ans);
};

/* The states in which an answer is held: the connection is up, not yet open for traffic. */
bool ims_diam_hold_wanted(int state);

/*
 * ims_diam_hold_start - start the holding thread. At most @max answers are held at once
 * (past that an answer is sent at once, as without this module), each for at most
 * @max_ms (a re-opening peer becomes OPEN or SUSPECT within its watchdog interval).
 * @ops NULL: freeDiameter's own. Returns 0 or -errno.
 */
int ims_diam_hold_start(size_t max, unsigned max_ms, const struct ims_diam_hold_ops *ops);

/*
 * ims_diam_hold_send - send the answer *ans now, or hold it while its peer re-opens.
 * *ans is NULL afterwards when the answer was sent or held; on error (-errno) it is left
 * to the caller, who frees it.
 */
int ims_diam_hold_send(struct msg **ans);

/* Answers held now. */
size_t ims_diam_hold_count(void);

/* Stop the thread; answers still held are released (logged): the daemon is stopping. */
void ims_diam_hold_stop(void);

#endif
