/*
 * precondition.h - SIP preconditions (RFC 3312, updated by RFC 4032) at the MGCF: the qos
 * status lines of SDP, read and written (pure)
 *
 * Only what an I-MGCF answering a VoLTE UE needs: the "qos" precondition type with segmented
 * status (local and remote segments; e2e is read to be refused). The UE offers its own
 * segment (its radio bearer) not yet reserved and asks for it mandatorily; the MGCF's own
 * segment (the MGW and the circuit) is ready as soon as the MGW has the context. The MGCF
 * answers with both segments' status, asks the UE to confirm its segment (a=conf), and holds
 * the IAM until an offer of the UE (UPDATE) says its segment is reserved (TS 29.163 lets the
 * I-MGCF delay the IAM so, instead of the continuity procedure).
 *
 * Status lines (RFC 3312 section 5), at media level:
 *   a=curr:qos <local|remote|e2e> <none|send|recv|sendrecv>
 *   a=des:qos <none|optional|mandatory|failure|unknown> <local|remote|e2e> <direction>
 *   a=conf:qos <local|remote|e2e> <direction>
 * "local", "remote", "send" and "recv" are from the point of view of the SDP's sender, so an
 * answer mirrors an offer: the offerer's local segment is the answerer's remote one, and the
 * offerer's send direction is the answerer's recv (RFC 3312 sections 5 and 6).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_PRECONDITION_H
#define MGCF_PRECONDITION_H

#include <stdbool.h>
#include <stddef.h>

/* Directions as bits: sendrecv is both */
enum mgcf_qos_dir {
    MGCF_QOS_NONE = 0,
    MGCF_QOS_SEND = 1,
    MGCF_QOS_RECV = 2,
    MGCF_QOS_SENDRECV = 3,
};

enum mgcf_qos_strength {
    MGCF_QOS_ABSENT = 0,        /* no a=des line for the segment */
    MGCF_QOS_STRENGTH_NONE,
    MGCF_QOS_OPTIONAL,
    MGCF_QOS_MANDATORY,
    MGCF_QOS_FAILURE,
    MGCF_QOS_UNKNOWN,
};

/* One segment (or e2e) as an SDP body's lines say it */
struct mgcf_qos_seg {
    bool has_curr;
    enum mgcf_qos_dir curr;
    enum mgcf_qos_strength strength;
    enum mgcf_qos_dir des;
    bool has_conf;
    enum mgcf_qos_dir conf;
};

/* The qos lines of the first audio stream of an SDP body, its sender's point of view */
struct mgcf_qos {
    struct mgcf_qos_seg local, remote, e2e;
    unsigned lines;             /* qos lines read */
    unsigned bad;               /* qos lines that could not be read (ignored) */
};

/*
 * mgcf_qos_read - the qos status lines of the first audio stream of @sdp (@len bytes) into
 * @q (zeroed first; other precondition types are skipped, a line that cannot be read is
 * counted in bad and skipped). 0; -EINVAL when @sdp is not SDP or has no audio stream.
 */
int mgcf_qos_read(const char *sdp, size_t len, struct mgcf_qos *q);

/* Does @q ask for a segment (local or remote) with strength mandatory? */
bool mgcf_qos_segmented_mandatory(const struct mgcf_qos *q);

/* @d seen from the other end: send and recv swapped */
enum mgcf_qos_dir mgcf_qos_mirror(enum mgcf_qos_dir d);

/* "none", "send", "recv", "sendrecv" */
const char *mgcf_qos_dir_name(enum mgcf_qos_dir d);

/*
 * A call's preconditions as the MGCF keeps them, in its own point of view: its own segment
 * is always met (sendrecv); the peer's (the UE's) is what the peer's offers said.
 */
struct mgcf_precond {
    enum mgcf_qos_dir peer_curr;    /* directions reserved in the peer's segment */
    enum mgcf_qos_dir peer_des;     /* directions it needs (mandatory in our answers) */
};

/*
 * mgcf_precond_from_offer - the peer's segment from its offer @q (its local segment,
 * mirrored): the current status always (none when there is no line); the desired
 * directions only from the @initial offer (sendrecv when it has no a=des for its segment),
 * later offers report progress, the wait is for what the first one asked.
 */
void mgcf_precond_from_offer(struct mgcf_precond *p, const struct mgcf_qos *q, bool initial);

/* Are the preconditions met: the peer's segment has every direction it needs? */
bool mgcf_precond_met(const struct mgcf_precond *p);

/*
 * mgcf_precond_write - the status lines of our answer into @buf: our segment met
 * (a=curr:qos local sendrecv), the peer's as known, both desired mandatory, and while the
 * preconditions are not met a=conf:qos remote asking the peer to tell us when its segment
 * is reserved (RFC 3312 section 6). Each line ends in CRLF. The length, or -ENOSPC.
 */
int mgcf_precond_write(const struct mgcf_precond *p, char *buf, size_t size);

/* What to do with an INVITE as to preconditions */
enum mgcf_precond_use {
    MGCF_PRECOND_NO = 0,        /* none: the call goes as without the extension */
    MGCF_PRECOND_USE,           /* the IAM waits until the peer's segment is met */
    MGCF_PRECOND_MET,           /* used, but met in the offer already: the IAM goes now */
    MGCF_PRECOND_REFUSE_420,    /* Require: precondition, nothing to apply it to */
    MGCF_PRECOND_REFUSE_421,    /* preconditions offered, 100rel not supported */
    MGCF_PRECOND_REFUSE_580,    /* mandatory e2e status: the MGCF cannot know it */
};

/* The INVITE as far as preconditions go */
struct mgcf_precond_invite {
    bool required;              /* "precondition" in Require */
    bool supported;             /* ... in Supported */
    bool rel100;                /* 100rel in Supported or Require */
    bool offer;                 /* an SDP offer */
    const struct mgcf_qos *qos; /* its qos lines (ignored without an offer) */
};

/*
 * mgcf_precond_decide - whether the MGCF applies preconditions to an INVITE (see the
 * enum). Without the option tag the qos lines are not looked at (RFC 3312 section 11: the
 * offerer uses preconditions only with the tag); with it only in Supported and no
 * mandatory segment, nothing changes.
 */
enum mgcf_precond_use mgcf_precond_decide(const struct mgcf_precond_invite *in);

#endif
