/*
 * megaco.h - H.248.1 / Megaco messages, text encoding (ITU-T H.248.1 Annex B, RFC 3525)
 *
 * One model for both directions, so the MGCF and the test media gateway share it: a
 * message holds transactions (requests, replies, pending, response acks), a transaction
 * its actions (one per context), an action its commands. The parts the MGCF uses are
 * modelled: Add, Move, Modify, Subtract, AuditValue, AuditCapabilities, Notify and
 * ServiceChange with the termination ID, one media stream (mode, Local and Remote SDP),
 * statistics, an audit request, observed events, the ServiceChange parameters, packages
 * and error descriptors. Descriptors outside that model (events, signals, digit maps,
 * context properties, further streams) are read past and not kept.
 *
 * mgcf_mg_decode() returns a message whose strings point into its own copy of the text;
 * mgcf_mg_encode() writes one from any strings. Pure: no I/O. Tokens are read without case
 * in their long and short forms; they are written in their long forms.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MGCF_MEGACO_H
#define MGCF_MEGACO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MGCF_MG_TRANS_MAX    8
#define MGCF_MG_ACTIONS_MAX  16
#define MGCF_MG_CMDS_MAX     32
#define MGCF_MG_STATS_MAX    16
#define MGCF_MG_EVENTS_MAX   4
#define MGCF_MG_EVPARMS_MAX  4
#define MGCF_MG_PKGS_MAX     16
#define MGCF_MG_TEXT_MAX     65000      /* a message: what one UDP datagram carries */

/* Context IDs: the binary encoding's values for - (null), $ (choose) and * (all) */
#define MGCF_MG_CTX_NULL     0u
#define MGCF_MG_CTX_CHOOSE   0xfffffffeu
#define MGCF_MG_CTX_ALL      0xffffffffu

enum mgcf_mg_trans_type { MGCF_MG_REQUEST, MGCF_MG_REPLY, MGCF_MG_PENDING, MGCF_MG_ACK };

enum mgcf_mg_cmd_type {
    MGCF_MG_ADD, MGCF_MG_MOVE, MGCF_MG_MODIFY, MGCF_MG_SUBTRACT, MGCF_MG_AUDIT_VALUE,
    MGCF_MG_AUDIT_CAP, MGCF_MG_NOTIFY, MGCF_MG_SERVICE_CHANGE,
};

enum mgcf_mg_mode {
    MGCF_MG_MODE_NONE, MGCF_MG_MODE_SENDONLY, MGCF_MG_MODE_RECVONLY, MGCF_MG_MODE_SENDRECV,
    MGCF_MG_MODE_INACTIVE, MGCF_MG_MODE_LOOPBACK,
};

enum mgcf_mg_sc_method {
    MGCF_MG_SC_NONE, MGCF_MG_SC_FAILOVER, MGCF_MG_SC_FORCED, MGCF_MG_SC_GRACEFUL,
    MGCF_MG_SC_RESTART, MGCF_MG_SC_DISCONNECTED, MGCF_MG_SC_HANDOFF,
};

/* Items of an audit descriptor (Audit { Media, Statistics, ... }) */
enum {
    MGCF_MG_AUDIT_MEDIA = 1 << 0,
    MGCF_MG_AUDIT_STATS = 1 << 1,
    MGCF_MG_AUDIT_PACKAGES = 1 << 2,
    MGCF_MG_AUDIT_EVENTS = 1 << 3,
    MGCF_MG_AUDIT_SIGNALS = 1 << 4,
    MGCF_MG_AUDIT_OBSERVED = 1 << 5,
    MGCF_MG_AUDIT_DIGITMAP = 1 << 6,
    MGCF_MG_AUDIT_MODEM = 1 << 7,
    MGCF_MG_AUDIT_MUX = 1 << 8,
    MGCF_MG_AUDIT_EVENTBUFFER = 1 << 9,
};

struct mgcf_mg_error {
    unsigned code;              /* 0: none; else 1..9999 (H.248.8 error codes) */
    const char *text;           /* may be NULL */
};

struct mgcf_mg_param {          /* name = value (value NULL: the name alone) */
    const char *name;
    const char *value;
};

struct mgcf_mg_event {          /* one observed event: [timestamp:]pkg/event { params } */
    const char *name;
    unsigned n_params;
    struct mgcf_mg_param params[MGCF_MG_EVPARMS_MAX];
};

struct mgcf_mg_cmd {
    enum mgcf_mg_cmd_type type;
    bool optional;              /* O- */
    bool wildcard_reply;        /* W- */
    const char *tid;            /* termination ID: ROOT, $, *, or a name */

    bool media;                 /* a Media descriptor is present */
    unsigned stream;            /* its Stream ID, 0 when the parameters stand alone */
    enum mgcf_mg_mode mode;     /* LocalControl Mode, NONE when absent */
    const char *local;          /* SDP text of Local / Remote, NULL when absent */
    const char *remote;

    unsigned n_stats;           /* Statistics descriptor (any command or reply) */
    struct mgcf_mg_param stats[MGCF_MG_STATS_MAX];

    bool audit;                 /* an Audit descriptor (requests) */
    unsigned audit_items;       /* MGCF_MG_AUDIT_* */

    uint32_t request_id;        /* Notify: ObservedEvents = request_id { events } */
    unsigned n_events;
    struct mgcf_mg_event events[MGCF_MG_EVENTS_MAX];

    bool services;              /* ServiceChange: a Services descriptor */
    enum mgcf_mg_sc_method method;
    const char *reason;         /* "901 Cold Boot" (written quoted) */
    bool has_delay;
    uint32_t delay;
    const char *address;        /* ServiceChangeAddress: an mId or a port */
    const char *profile;        /* "ResGW/1" */
    unsigned version;           /* 0: absent */
    const char *mgc_id;         /* MgcIdToTry */
    const char *timestamp;      /* 20260101T12000000 */

    unsigned n_pkgs;            /* Packages descriptor of an audit reply: "g-1"... */
    const char *pkgs[MGCF_MG_PKGS_MAX];

    struct mgcf_mg_error error; /* a command reply's error, or a Notify request's */
};

struct mgcf_mg_action {
    uint32_t context;           /* a number, or MGCF_MG_CTX_NULL / _CHOOSE / _ALL */
    struct mgcf_mg_error error; /* a reply's error for the whole context */
    unsigned first_cmd, n_cmds; /* into mgcf_mg_msg.cmds */
};

struct mgcf_mg_trans {
    enum mgcf_mg_trans_type type;
    uint32_t id;                /* 1..2^32-1 */
    uint32_t id_last;           /* ACK: the end of a range id-id_last, else == id */
    bool imm_ack;               /* reply: ImmAckRequired */
    struct mgcf_mg_error error; /* reply: the transaction failed as a whole */
    unsigned first_action, n_actions;
};

struct mgcf_mg_msg {
    unsigned version;           /* 1..3 */
    const char *mid;            /* the sender: [127.0.0.70]:2944 */
    struct mgcf_mg_error error; /* a message that is only an error descriptor */
    unsigned n_trans, n_actions, n_cmds;
    struct mgcf_mg_trans trans[MGCF_MG_TRANS_MAX];
    struct mgcf_mg_action actions[MGCF_MG_ACTIONS_MAX];
    struct mgcf_mg_cmd cmds[MGCF_MG_CMDS_MAX];
    char *text;                 /* decode: the copy the strings point into */
};

/* Zero @m and set its version and mId (not copied) */
void mgcf_mg_init(struct mgcf_mg_msg *m, unsigned version, const char *mid);

/*
 * Append a transaction / an action to the last transaction / a command to the last
 * action. Returns it zeroed with the given fields set, or NULL when the message is full
 * or there is nothing to append to.
 */
struct mgcf_mg_trans *mgcf_mg_add_trans(struct mgcf_mg_msg *m, enum mgcf_mg_trans_type type,
                                        uint32_t id);
struct mgcf_mg_action *mgcf_mg_add_action(struct mgcf_mg_msg *m, uint32_t context);
struct mgcf_mg_cmd *mgcf_mg_add_cmd(struct mgcf_mg_msg *m, enum mgcf_mg_cmd_type type,
                                    const char *tid);

/* The commands of action @a of @m */
static inline struct mgcf_mg_cmd *mgcf_mg_cmds(struct mgcf_mg_msg *m,
                                               const struct mgcf_mg_action *a)
{
    return &m->cmds[a->first_cmd];
}

/*
 * mgcf_mg_encode - write @m as text into @buf (@cap bytes, NUL-terminated).
 * Returns the length, -EINVAL when a field cannot be written (a name with characters a
 * token cannot hold, a quote in a quoted text, an ID of 0, a version out of 1..3, an
 * empty transaction request or reply), -ENOSPC when @cap is too small.
 */
int mgcf_mg_encode(const struct mgcf_mg_msg *m, char *buf, size_t cap);

/*
 * mgcf_mg_decode - read @len bytes of text into a new message (*@out; free it with
 * mgcf_mg_free()). Returns 0, -EINVAL for text that is not a well-formed message of the
 * supported forms (the reason in @err, @errlen bytes, when not NULL), -E2BIG when it holds
 * more transactions, actions or commands than the limits above, -ENOMEM.
 */
int mgcf_mg_decode(const char *text, size_t len, struct mgcf_mg_msg **out, char *err,
                   size_t errlen);
void mgcf_mg_free(struct mgcf_mg_msg *m);

/* "Add", "ServiceChange"...; "SendReceive"...; "Restart"... (long forms) */
const char *mgcf_mg_cmd_name(enum mgcf_mg_cmd_type type);
const char *mgcf_mg_mode_name(enum mgcf_mg_mode mode);
const char *mgcf_mg_method_name(enum mgcf_mg_sc_method method);

/* The value of statistic @name of @c ("rtp/ps"), or NULL */
const char *mgcf_mg_stat(const struct mgcf_mg_cmd *c, const char *name);

#endif
