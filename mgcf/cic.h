/*
 * cic.h - the MGCF's circuits: trunks of ISUP circuits (CIC ranges towards one destination
 * point code) with their call, blocking and reset states, the choice of a circuit for an
 * outgoing call and the resolution of a dual seizure (ITU-T Q.764 2.8, 2.9.3, 2.10)
 *
 * Pure: no I/O. isup_link.c sends the supervision messages these functions decide on.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_CIC_H
#define MGCF_CIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MGCF_TRUNK_NAME_MAX   32
#define MGCF_TRUNK_PREFIXES   8
#define MGCF_TRUNK_PREFIX_MAX 16     /* digits of a prefix, with its NUL */
#define MGCF_TRUNK_CIRCUITS   4096   /* at most one trunk's worth of CICs */
#define MGCF_GROUP_MAX        32     /* circuits of one GRS (Q.763 3.43: range 1-31) */

enum mgcf_cic_state {
    MGCF_CIC_RESET = 0,     /* not known to be idle: after start, until the peer's GRA/RLC */
    MGCF_CIC_IDLE,
    MGCF_CIC_BUSY,          /* a call is on it */
};

struct mgcf_circuit {
    uint16_t cic;
    enum mgcf_cic_state state;
    bool local_blocked;     /* blocked for maintenance by this node (BLO sent) */
    bool blo_acked;         /* ... and the peer acknowledged it (BLA) */
    bool ubl_pending;       /* UBL sent, UBA awaited */
    bool remote_blocked;    /* blocked by the peer (BLO received) */
    bool rsc_pending;       /* RSC sent, RLC awaited */
    void *call;             /* the call on it when BUSY */
};

struct mgcf_trunk {
    char name[MGCF_TRUNK_NAME_MAX];
    uint32_t dpc;           /* the exchange at the other end */
    uint16_t first, last;   /* CIC range */
    unsigned n_prefixes;    /* numbers routed out on this trunk (no prefix: any number) */
    char prefixes[MGCF_TRUNK_PREFIXES][MGCF_TRUNK_PREFIX_MAX];
    struct mgcf_circuit *circuits;   /* last - first + 1 of them */
    unsigned next;          /* where the next search for an idle circuit starts */
};

/* A group of circuits reset together: GRS for first..first+range, RSC when range is 0 */
struct mgcf_reset_group {
    uint16_t first;
    uint8_t range;
};

/*
 * mgcf_trunk_parse - one item of mgcf.trunks: "<name> dpc=<point code> cics=<first>-<last>
 * [prefix=+<digits>]..." into @t, its circuits allocated and in state RESET. 0, or -EINVAL
 * with why in @err, -ENOMEM. Free with mgcf_trunk_free().
 */
int mgcf_trunk_parse(const char *item, struct mgcf_trunk *t, char *err, size_t errlen);
void mgcf_trunk_free(struct mgcf_trunk *t);
/* Configuration check of one mgcf.trunks item (ims_cfg_key.check) */
int mgcf_trunk_check_item(const char *value, char *err, size_t errlen);

static inline size_t mgcf_trunk_size(const struct mgcf_trunk *t)
{
    return (size_t)(t->last - t->first) + 1;
}

/* The circuit @cic of @t, or NULL when outside its range */
struct mgcf_circuit *mgcf_trunk_circuit(struct mgcf_trunk *t, uint16_t cic);

/*
 * mgcf_trunk_for - the trunk for an outgoing call to E.164 @digits (no '+'): the one with
 * the longest matching prefix, a trunk without prefixes matching any number (length 0);
 * the first in the list among equals. NULL when none matches.
 */
struct mgcf_trunk *mgcf_trunk_for(struct mgcf_trunk *trunks, size_t n, const char *digits);

/*
 * mgcf_cic_controlled - does the exchange @own (point code) control circuit @cic towards
 * @peer in a dual seizure? Q.764 2.10.1.4: the exchange with the higher signalling point
 * code controls the even-numbered circuits, the other one the odd-numbered.
 */
bool mgcf_cic_controlled(uint32_t own, uint32_t peer, uint16_t cic);

/* Idle, reset, and blocked by neither side */
bool mgcf_circuit_available(const struct mgcf_circuit *c);

/*
 * mgcf_trunk_select - a circuit of @t for an outgoing call, or NULL when none is available:
 * first the circuits this exchange (@own) controls, then the others (Q.764 2.10.1.3 method
 * 2: dual seizures become rarer), each search going round from where the last one ended.
 * The circuit is not taken: mgcf_circuit_take() does that.
 */
struct mgcf_circuit *mgcf_trunk_select(struct mgcf_trunk *t, uint32_t own);
void mgcf_circuit_take(struct mgcf_circuit *c, void *call);
/* The call is over: the circuit is idle again (a circuit reset since stays in RESET) */
void mgcf_circuit_release(struct mgcf_circuit *c, void *call);

/* What an IAM received on a circuit means (Q.764 2.9.3, 2.10.1.4, 2.8.2.3) */
enum mgcf_seize {
    MGCF_SEIZE_OK,          /* take it: a new incoming call */
    MGCF_SEIZE_DUAL_KEEP,   /* dual seizure, this exchange controls it: the IAM is ignored */
    MGCF_SEIZE_DUAL_YIELD,  /* dual seizure, the peer controls it: our call backs off */
    MGCF_SEIZE_MOVE,        /* our call chose it but sent no IAM: the peer's IAM wins, ours
                             * moves to another circuit (no dual seizure: the peer cannot
                             * know the circuit is taken) */
    MGCF_SEIZE_BUSY,        /* a call of ours is on it past its seizure: protocol error */
    MGCF_SEIZE_BLOCKED,     /* blocked for maintenance here: refused, BLO sent again */
    MGCF_SEIZE_UNRESET,     /* our reset of it is outstanding: the IAM is ignored */
};

/* What the peer knows of the call on a busy circuit */
enum mgcf_cic_use {
    MGCF_USE_CALL = 0,      /* a call it signalled or was told of, past its seizure */
    MGCF_USE_SEIZING,       /* ours going out: IAM sent, no backward message yet */
    MGCF_USE_UNSIGNALLED,   /* ours going out: chosen here, no IAM sent yet (the MGW's Add
                             * outstanding, preconditions awaited) */
};

/*
 * mgcf_circuit_incoming - classify an IAM on @c; @use: what the peer knows of the call on
 * it when it is busy. An IAM on a circuit the peer blocked removes that blocking (Q.764
 * 2.8.2.3): @c is updated for OK.
 */
enum mgcf_seize mgcf_circuit_incoming(struct mgcf_circuit *c, uint32_t own, uint32_t peer,
                                      enum mgcf_cic_use use);

/*
 * mgcf_trunk_reset_plan - the groups that reset every circuit of @t (GRS of up to 32
 * circuits; RSC for a group of one) into @out (room for @max). Returns how many, or
 * -ENOSPC.
 */
int mgcf_trunk_reset_plan(const struct mgcf_trunk *t, struct mgcf_reset_group *out, int max);

/*
 * The peer reset circuits (GRS @first + @range, or RSC: @range 0): each becomes idle and
 * loses the peer's blocking. @calls receives the calls that were on them (room for
 * MGCF_GROUP_MAX; their circuits are freed), *@n_calls their count. Returns the GRA status
 * bits (bit i: circuit first + i is blocked for maintenance here).
 */
uint32_t mgcf_trunk_peer_reset(struct mgcf_trunk *t, uint16_t first, uint8_t range,
                               void **calls, unsigned *n_calls);

/*
 * Our reset was acknowledged (GRA @first + @range with @status, or the RLC of an RSC:
 * @range 0, @status 0): circuits in RESET become idle; a status bit marks a circuit the
 * peer blocks for maintenance. Returns how many circuits became idle.
 */
unsigned mgcf_trunk_reset_done(struct mgcf_trunk *t, uint16_t first, uint8_t range,
                               uint32_t status);

/* Counts for /metrics and the API */
struct mgcf_trunk_counts {
    unsigned idle, busy, reset, local_blocked, remote_blocked;
};
void mgcf_trunk_count(const struct mgcf_trunk *t, struct mgcf_trunk_counts *out);

const char *mgcf_cic_state_name(enum mgcf_cic_state s);

#endif
