/*
 * charging.h - offline charging of a CSCF (TS 32.260, TS 32.299): the dialogs it charges
 * and the ACRs their SIP messages cause, on top of the Rf client (rf_client.h)
 *
 * A CSCF (P-CSCF, S-CSCF) calls, on its loop thread:
 *
 *     ims_chg_dialog_open(c, invite, ok, role, t0)   the 2xx of an INVITE passed: START
 *     ims_chg_dialog_note(c, req)                    any request inside a dialog (CSeq)
 *     ims_chg_dialog_end_all(c, bye, 0)              BYE (either side): STOP
 *     ims_chg_event(c, req, status, role, t0)        REGISTER 2xx, MESSAGE final: EVENT
 *     ims_chg_tick(c, now)                           dialogs older than max_age: STOP
 *
 * The dialog table is bounded (max_dialogs): a dialog that does not fit is not charged
 * and logged. A node that must never let a call go uncharged (online charging) reserves
 * its place before the call is set up (ims_chg_reserve) and gives the reservation back
 * just before it opens the dialog, or when the call fails (ims_chg_unreserve): reserved
 * places count as taken for every other dialog.
 * A dialog is keyed by Call-ID, both tags (in either order, so a BYE from either side finds
 * it) and the role of the node (a node that serves both ends of a call, as in the lab,
 * keeps two). INTERIMs come from the Rf client's own timer.
 * The daemon may attach its own state to a dialog (the S-CSCF's online charging); its end
 * hook runs before a dialog is freed, whatever ends it.
 *
 * Configuration keys (section [charging]) are shared: ims_chg_keys.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_CHARGING_H
#define IMS_CHARGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sofia-sip/sip.h>

#include "config.h"
#include "rf_client.h"

struct ims_daemon;
struct ims_chg;

/* The charging fields of one SIP transaction, copied out of the messages */
struct ims_chg_fields {
    char method[24];
    char call_id[128];
    char from_tag[64], to_tag[64];
    char calling[256];            /* P-Asserted-Identity, else From */
    char called[256];             /* the Request-URI's identity (P-Called-Party-ID first) */
    char icid[128], orig_ioi[128], term_ioi[128];
    char media[IMS_RF_MAX_MEDIA][64];   /* the SDP m= lines' values ("audio 4000 RTP/AVP 0") */
    char trunk_in[64], trunk_out[64];   /* MGCF: the circuit of the call (Trunk-Group-Id) */
};

enum ims_chg_end {
    IMS_CHG_END_BYE = 0,          /* a BYE passed */
    IMS_CHG_END_AGE,              /* older than charging.max_age */
    IMS_CHG_END_RELEASED,         /* the node released the call itself */
    IMS_CHG_END_SHUTDOWN,         /* the daemon stops */
};

struct ims_chg_dialog {
    char key[400];
    int role;                     /* enum ims_rf_role */
    time_t created;
    struct ims_chg_fields f;      /* of the INVITE and its 2xx */
    uint32_t cseq_caller;         /* highest CSeq seen from the caller (From tag side) */
    uint32_t cseq_callee;         /* ... from the callee (0: none) */
    struct ims_rf_session *rf;    /* NULL when offline charging is off */
    void *ext;                    /* the daemon's own state */
};

typedef void (*ims_chg_end_fn)(void *arg, struct ims_chg_dialog *d, enum ims_chg_end why);

/* The [charging] keys (charging.cdf, .spool, .interim_interval, .max_dialogs, .max_age) */
extern const struct ims_cfg_key ims_chg_keys[];

/*
 * ims_chg_create - the node's charging from its configuration. @node: enum ims_rf_node.
 * With charging.cdf empty no ACR is sent (ims_chg_offline() is false) but the dialog table
 * works (the S-CSCF's online charging uses it). Returns NULL (logged) on failure.
 */
struct ims_chg *ims_chg_create(struct ims_daemon *d, int node);
/* End every dialog (hook, STOP): at shutdown, before ims_diam_stop() */
void ims_chg_close(struct ims_chg *c);
/* Free everything; after ims_diam_stop() (no ACA can arrive then) */
void ims_chg_destroy(struct ims_chg *c);
/* The three in their order at a daemon's stop: close, stop Diameter, destroy; *@c NULL
 * after. Nothing when *@c is NULL (no charging: Diameter is the daemon's to stop). */
void ims_chg_shutdown(struct ims_chg **c);
bool ims_chg_offline(const struct ims_chg *c);
void ims_chg_set_end_hook(struct ims_chg *c, ims_chg_end_fn fn, void *arg);
size_t ims_chg_dialogs(const struct ims_chg *c);
/*
 * ims_chg_reserve - keep a place of the table for a dialog to come: 0, or -ENOSPC when the
 * dialogs kept and the places reserved fill charging.max_dialogs (counted in
 * ims_charged_dialogs_refused_total). ims_chg_unreserve gives one back; a dialog opened
 * right after it has its place.
 */
int ims_chg_reserve(struct ims_chg *c);
void ims_chg_unreserve(struct ims_chg *c);

/*
 * ims_chg_dialog_open - the 2xx @ok to INVITE @invite passed this node in @role: the dialog
 * is kept (START sent when offline charging is on). A 2xx retransmission finds the dialog
 * already open and returns it. @t0: when the INVITE arrived. @pcv: the P-Charging-Vector
 * value to use when @invite has none (it was removed towards a UE), or NULL. NULL when the
 * table is full or the messages lack Call-ID or tags.
 */
struct ims_chg_dialog *ims_chg_dialog_open(struct ims_chg *c, const sip_t *invite,
                                           const sip_t *ok, int role, time_t t0,
                                           const char *pcv);
/* ims_chg_dialog_open() of an MGCF: its records carry Trunk-Group-Id with @trunk_in
 * (Incoming-) and @trunk_out (Outgoing-Trunk-Group-Id), each NULL when not known */
struct ims_chg_dialog *ims_chg_dialog_open_trunk(struct ims_chg *c, const sip_t *invite,
                                                 const sip_t *ok, int role, time_t t0,
                                                 const char *pcv, const char *trunk_in,
                                                 const char *trunk_out);
/* The dialog of @req in @role, or NULL */
struct ims_chg_dialog *ims_chg_dialog_of(struct ims_chg *c, const sip_t *req, int role);
/* The dialog of Call-ID @call_id and tags @tag1, @tag2 (either order) in @role, or NULL */
struct ims_chg_dialog *ims_chg_dialog_find(struct ims_chg *c, const char *call_id,
                                           const char *tag1, const char *tag2, int role);
/* A request inside a dialog passed: its CSeq is noted (for requests the node makes) */
void ims_chg_dialog_note(struct ims_chg *c, const sip_t *req);
/* End one dialog: hook, STOP (SIP-Method BYE, Cause-Code by @why), free */
void ims_chg_dialog_end(struct ims_chg *c, struct ims_chg_dialog *d, enum ims_chg_end why);
/* A BYE passed: end the dialogs of its Call-ID and tags, in every role. Returns how many. */
int ims_chg_dialog_end_all(struct ims_chg *c, const sip_t *bye);
/* End the dialogs older than charging.max_age */
void ims_chg_tick(struct ims_chg *c, time_t now);

/* An EVENT record for @req answered @status (REGISTER, MESSAGE, ...); @pcv as for
 * ims_chg_dialog_open(). 0 or -errno. */
int ims_chg_event(struct ims_chg *c, const sip_t *req, int status, int role, time_t t0,
                  const char *pcv);

/* ims_chg_event() with Trunk-Group-Id (see ims_chg_dialog_open_trunk()) */
int ims_chg_event_trunk(struct ims_chg *c, const sip_t *req, int status, int role, time_t t0,
                        const char *pcv, const char *trunk_in, const char *trunk_out);

/* ---- the pure parts, for tests ---- */

/* Read @req (a request) into @f; @resp (may be NULL) adds the To tag and term-ioi. */
void ims_chg_fields_of(const sip_t *req, const sip_t *resp, struct ims_chg_fields *f);
/* When @f has no ICID: the ICID and IOIs of P-Charging-Vector value @pcv (may be NULL) */
void ims_chg_fields_pcv(struct ims_chg_fields *f, const char *pcv);
/* The record fields pointing into @f */
void ims_chg_info_of(const struct ims_chg_fields *f, int role, struct ims_rf_info *info);
/* Cause-Code of a final SIP status (TS 32.299 7.2.35): 200 -> -1, other 2xx and 3xx ->
 * -status, 4xx..6xx -> status */
int ims_chg_cause(int status);
/* "role|call-id|tag-a|tag-b" with the tags in a fixed order; -ENOSPC when too long */
int ims_chg_key(const char *call_id, const char *tag1, const char *tag2, int role, char *buf,
                size_t len);
/* SDP-Media-Name: the value of each m= line of @sdp (at most @max, each cut to 63
 * characters); returns the count */
int ims_chg_sdp_media(const char *sdp, size_t len, char out[][64], int max);

/* The table alone (no Rf), for tests */
struct ims_chg *ims_chg_table_new(size_t max, unsigned max_age);

#endif
