/*
 * scscf.h - the S-CSCF daemon's context, its registration state and cross-file functions
 *
 * All registration state belongs to the loop thread. Cx requests go out asynchronously and
 * their answers come back on the loop thread; HSS-initiated requests (RTR, PPR) arrive on
 * freeDiameter threads and are run on the loop thread with ims_loop_call().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SCSCF_H
#define SCSCF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "db.h"
#include "map.h"

#define SCSCF_ID_MAX 256
#define SCSCF_MAX_IMPUS 16

enum scscf_scheme {
    SCSCF_DIGEST = 0,     /* "SIP Digest": HA1 from the HSS */
    SCSCF_AKAV1,          /* "Digest-AKAv1-MD5" */
    SCSCF_AKAV2,          /* "Digest-AKAv2-MD5" */
};

/* One binding of a registered public identity set */
struct scscf_contact {
    struct scscf_contact *next;
    char uri[SCSCF_ID_MAX];
    time_t expires;                   /* absolute */
    char instance[128];               /* +sip.instance, "" when absent */
    int reg_id;                       /* reg-id, 0 when absent */
    char call_id[128];
    uint32_t cseq;
    char path[512];                   /* the Path the REGISTER came with ("" when none) */
    char impi[SCSCF_ID_MAX];          /* the private identity that registered it */
    char user_agent[128];
};

/* One implicit registration set: its identities, profile, bindings and subscribers */
struct scscf_aor {
    struct scscf_aor *prev, *next;    /* every aor of the store */
    char impus[SCSCF_MAX_IMPUS][SCSCF_ID_MAX];  /* [0] = the identity registered first */
    bool barred[SCSCF_MAX_IMPUS];
    int nimpus;
    char *profile;                    /* IMSSubscription XML from the SAA */
    char ccf[SCSCF_ID_MAX];           /* Primary-Charging-Collection-Function-Name */
    struct scscf_contact *contacts;
    bool dirty;                       /* to be written to the database */
    struct scscf_sub *subs;           /* reg-event subscriptions (notify.c) */
    unsigned version;                 /* reginfo version */
};

struct scscf_challenge;
struct scscf_ifc_shared;              /* ifc.h */

struct scscf {
    struct ims_daemon *d;
    char name[SCSCF_ID_MAX];          /* Server-Name, e.g. sip:scscf.ims.example:5060 */
    char realm[SCSCF_ID_MAX];         /* Digest realm (home domain) */
    char hss_realm[SCSCF_ID_MAX];
    char service_route[SCSCF_ID_MAX]; /* <own URI;lr;orig> */
    char default_scheme[32];          /* SIP-Authentication-Scheme when the UE names none */
    unsigned min_expires, max_expires, default_expires;
    unsigned nonce_ttl;
    unsigned retry_after;
    struct ims_map *aors;             /* IMPU -> aor (every identity of each set) */
    struct scscf_aor *all;            /* list of aors */
    size_t ncontacts;
    struct ims_map *challenges;       /* nonce -> challenge */
    struct ims_db *db;
    su_timer_t *tick;
    struct scscf_ifc_shared *shared_ifcs;   /* scscf.shared_ifcs, NULL when none */
};

/* ---- auth.c: challenges and their verification ---- */

struct scscf_vector {
    enum scscf_scheme scheme;
    uint8_t rand[16], autn[16];       /* AKA */
    uint8_t xres[16];
    size_t xres_len;
    uint8_t ck[16], ik[16];
    char ha1[33];                     /* Digest */
};

/* Store a challenge for @v and write the WWW-Authenticate value into @hdr. */
int scscf_auth_challenge(struct scscf *s, const char *impi, const char *impu,
                         const char *call_id, const struct scscf_vector *v, char *hdr,
                         size_t len);
enum scscf_auth_result {
    SCSCF_AUTH_OK = 0,
    SCSCF_AUTH_NONE,                  /* no credentials: challenge */
    SCSCF_AUTH_STALE,                 /* unknown or expired nonce: challenge again */
    SCSCF_AUTH_RESYNC,                /* AKA re-synchronisation asked (auts) */
    SCSCF_AUTH_FAILED,                /* wrong credentials */
};
/*
 * scscf_auth_check - verify the Authorization of a REGISTER against the stored challenge;
 * a used or failed challenge is removed (single use). For RESYNC, RAND | AUTS (30 bytes)
 * is written into @resync.
 */
enum scscf_auth_result scscf_auth_check(struct scscf *s, const sip_t *sip, const char *impi,
                                        uint8_t resync[30]);
void scscf_auth_expire(struct scscf *s, time_t now);
void scscf_auth_fini(struct scscf *s);
/* Pure: the expected response of a Digest/AKA answer (exposed for the unit tests) */
void scscf_auth_expected(const struct scscf_vector *v, const char *user, const char *realm,
                         const char *nonce, const char *nc, const char *cnonce,
                         const char *qop, const char *method, const char *uri,
                         char out[33]);
const char *scscf_scheme_name(enum scscf_scheme s);   /* "Digest-AKAv1-MD5", ... */

/* ---- cx.c: MAR and SAR to the HSS, RTR and PPR from it ---- */

struct scscf_cx_answer {
    int error;                        /* no answer: -ETIMEDOUT, -ENOTCONN, ... */
    uint32_t code;
    bool experimental;
    struct scscf_vector vector;       /* MAA: the first vector */
    bool has_vector;
    char *user_data;                  /* SAA: IMSSubscription (malloc'd, callee frees) */
    char ccf[SCSCF_ID_MAX];
};
typedef void (*scscf_cx_fn)(void *arg, struct scscf_cx_answer *a);

int scscf_cx_mar(struct scscf *s, const char *impi, const char *impu, const char *scheme,
                 const uint8_t *resync, scscf_cx_fn fn, void *arg);
/* Server-Assignment-Type values of TS 29.229 */
enum { SCSCF_SAT_REGISTRATION = 1, SCSCF_SAT_RE_REGISTRATION = 2,
       SCSCF_SAT_UNREGISTERED_USER = 3, SCSCF_SAT_TIMEOUT_DEREGISTRATION = 4,
       SCSCF_SAT_USER_DEREGISTRATION = 5, SCSCF_SAT_ADMINISTRATIVE_DEREGISTRATION = 8,
       SCSCF_SAT_AUTHENTICATION_FAILURE = 9 };
int scscf_cx_sar(struct scscf *s, const char *impi, const char *impu, int type,
                 bool data_available, scscf_cx_fn fn, void *arg);
int scscf_cx_init(struct scscf *s);
/* The SIP answer for a Cx outcome that is not a success (one table) */
int scscf_cx_sip_status(const struct scscf_cx_answer *a, const char **phrase,
                        const char **why);

/* ---- profile.c: the IMSSubscription document ---- */

/* Public identities of the profile (BarringIndication per identity), in document order. */
int scscf_profile_identities(const char *xml, char ids[][SCSCF_ID_MAX], bool *barred,
                             int max);

/* ---- store.c: registrations in memory, persisted in SQLite ---- */

int scscf_store_init(struct scscf *s, const char *db_path);
void scscf_store_fini(struct scscf *s);
struct scscf_aor *scscf_store_find(struct scscf *s, const char *impu);
/* The aor of @impu, created with the identities of @profile (or @impu alone). */
struct scscf_aor *scscf_store_upsert(struct scscf *s, const char *impu, const char *profile);
/* Add or refresh a binding; 0 or -ENOMEM. */
int scscf_store_bind(struct scscf *s, struct scscf_aor *aor, const struct scscf_contact *c);
/* Remove the binding with this URI (all when NULL); returns how many. */
int scscf_store_unbind(struct scscf *s, struct scscf_aor *aor, const char *uri);
/* Forget the aor and every identity of it. */
void scscf_store_remove(struct scscf *s, struct scscf_aor *aor);
/* Write changed aors to the database (called by the tick and at stop). */
int scscf_store_flush(struct scscf *s);
int scscf_store_count_contacts(const struct scscf_aor *aor);
void scscf_store_touch(struct scscf_aor *aor);

/* ---- registrar.c: REGISTER, expiry, de-registration ---- */
int scscf_register(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
void scscf_registrar_tick(struct scscf *s, time_t now);
/* Network-initiated de-registration (RTR): every binding of @impu (or of the sets of
 * @impi when impu is NULL) goes, subscribers are told. Returns the number of sets. */
int scscf_registrar_deregister(struct scscf *s, const char *impi, const char *impu,
                               const char *reason);
void scscf_registrar_metrics(void);

/* ---- notify.c: reg event package (RFC 3680) ---- */
int scscf_subscribe(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
/* The registration state of @aor changed: NOTIFY every subscriber. @event per contact is
 * computed from the contacts' state; @terminated when the whole set went away. */
void scscf_notify_all(struct scscf *s, struct scscf_aor *aor, const char *event,
                      bool terminated);
void scscf_notify_tick(struct scscf *s, time_t now);
void scscf_notify_drop(struct scscf *s, struct scscf_aor *aor);

#endif
