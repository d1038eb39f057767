/*
 * hss.h - the HSS daemon's context, its data model and cross-file functions
 *
 * Threads: Cx and Sh requests are served on freeDiameter's dispatch threads, the REST API
 * on the HTTP thread, answers to the HSS's own requests on the loop thread. They share one
 * SQLite connection under one lock (hss_lock); every write that must be atomic (SQN,
 * registration state, a provisioning change) is one statement or one transaction.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HSS_H
#define HSS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "daemon.h"
#include "db.h"

#define HSS_ID_MAX 256

/* authentication schemes (bit mask of those a private identity may use) */
enum hss_scheme {
    HSS_SCHEME_DIGEST = 1,     /* "SIP Digest", "Digest", "Digest-MD5" */
    HSS_SCHEME_AKAV1 = 2,      /* "Digest-AKAv1-MD5" */
    HSS_SCHEME_AKAV2 = 4,      /* "Digest-AKAv2-MD5" */
};

/* registration state of a public identity (TS 29.228) */
enum hss_reg_state {
    HSS_NOT_REGISTERED = 0,
    HSS_REGISTERED = 1,
    HSS_UNREGISTERED = 2,      /* S-CSCF assigned for unregistered services */
};

/* TS 29.228 IdentityType */
enum hss_identity_type {
    HSS_IMPU = 0,
    HSS_PSI = 1,
    HSS_WILDCARD_PSI = 2,
    HSS_WILDCARD_IMPU = 3,
};

struct hss_subscription {
    int64_t id;
    char name[64];
    char scscf_name[HSS_ID_MAX];
    char scscf_host[HSS_ID_MAX];
    char mandatory_caps[256];    /* comma-separated integers */
    char optional_caps[256];
    char ccf[2][HSS_ID_MAX];
    char ecf[2][HSS_ID_MAX];
};

struct hss_impi {
    int64_t id;
    int64_t subscription_id;
    char identity[HSS_ID_MAX];
    char password[128];          /* "" when only HA1 is stored */
    char ha1[33];                /* "" when not provisioned */
    bool has_aka;
    uint8_t k[16], opc[16], amf[2];
    uint64_t sqn;
    unsigned schemes;            /* enum hss_scheme bits */
    enum hss_scheme default_scheme;
    char imsi[16];
    char msisdn[16];
    bool barred;
};

struct hss_impu {
    int64_t id;
    char identity[HSS_ID_MAX];   /* as provisioned (for wildcards: the pattern's name) */
    enum hss_identity_type type;
    char wildcard[HSS_ID_MAX];   /* regex of the wildcarded types */
    int64_t subscription_id;     /* 0 for a PSI without subscription */
    int64_t profile_id;          /* 0 when none */
    int64_t implicit_set;        /* 0: alone in its set */
    bool barred;
    char display_name[128];
    char psi_as[HSS_ID_MAX];
    bool psi_active;
    enum hss_reg_state reg_state;
};

struct hss {
    struct ims_daemon *d;
    char db_path[512];
    struct ims_db *db;           /* the loop thread's connection (migrations, RTR/PPR) */
    bool slf;                    /* answering as SLF (Dx) */
    int vectors_max;             /* cap on SIP-Number-Auth-Items */
    char realm[HSS_ID_MAX];
    char default_ccf[HSS_ID_MAX];
    char **sh_peers;             /* peers allowed on Sh (identity patterns; none = nobody) */
    char **password_peers;       /* peers that may get a plaintext password (Digest-MD5) */
    char api_token[256];         /* bearer token of the provisioning API ("" = refuse) */
    bool db_full;                /* hss.db_sync = full: answers wait for the disk */
    struct hss_sync *sync;       /* the thread that syncs before answers (sync.c) */
};

/* db.c: schema migrations of the subscriber database */
extern const char *const hss_db_migrations[];
extern const size_t hss_db_nmigrations;

/*
 * store.c: the daemon's one database connection and its lock, and the queries.
 * Every use of hss_db() happens between hss_lock() and hss_unlock() (recursive);
 * hss_serve() registers a Diameter handler that runs under the lock.
 */
struct ims_db *hss_db(struct hss *h);
void hss_lock(void);
void hss_unlock(void);
/* A Diameter handler run under the lock; an answer whose handler wrote to the database
 * leaves after hss_sync_answer */
int hss_serve(struct hss *h, enum ims_cmd cmd, ims_diam_handler fn);

/*
 * sync.c: with hss.db_sync = full, answers wait until what their handler committed is
 * synced to disk (group commit on a thread of its own). hss_sync_answer takes *@ans
 * (*@ans = NULL: it is sent later, or with DIAMETER_UNABLE_TO_COMPLY when the sync fails),
 * or syncs at once on the calling thread when it cannot queue it; nothing with
 * hss.db_sync = normal. Called under the HSS lock; hss_sync_stop too (it sends what is
 * queued, then frees the thread).
 */
struct msg;
int hss_sync_start(struct hss *h);
void hss_sync_answer(struct hss *h, struct msg **ans);
void hss_sync_stop(struct hss *h);

int hss_impi_find(struct ims_db *db, const char *identity, struct hss_impi *out);
/* exact public identity first, then the wildcarded ones whose regex matches */
int hss_impu_find(struct ims_db *db, const char *identity, struct hss_impu *out);
int hss_impu_by_id(struct ims_db *db, int64_t id, struct hss_impu *out);
int hss_subscription_get(struct ims_db *db, int64_t id, struct hss_subscription *out);
bool hss_impi_has_impu(struct ims_db *db, int64_t impi_id, int64_t impu_id);
/* Reserve @count consecutive SQNs (step 32: SEQ+1, IND 0) atomically; *first is the first. */
int hss_sqn_reserve(struct ims_db *db, int64_t impi_id, unsigned count, uint64_t *first);
int hss_sqn_set(struct ims_db *db, int64_t impi_id, uint64_t sqn);

/* The implicit registration set of an IMPU: ids of the IMPUs registered together
 * (the IMPU alone when it has none). Returns the count (<= max) or a negative error. */
int hss_implicit_set(struct ims_db *db, const struct hss_impu *impu, int64_t *ids, int max);

/* Registration: set the state of the implicit set of @impu and the S-CSCF of the
 * subscription (scscf NULL clears it), marking @impi_id registered or not (0: none). */
int hss_registration_set(struct ims_db *db, const struct hss_impu *impu, int64_t impi_id,
                         enum hss_reg_state state, const char *scscf, const char *scscf_host);
/* Assign an S-CSCF (name and Diameter host) to the subscription without changing states. */
int hss_scscf_set(struct ims_db *db, int64_t subscription_id, const char *scscf,
                  const char *scscf_host);
/* Every identity of the subscription not registered, no S-CSCF (after an accepted RTR). */
int hss_subscription_deregister(struct ims_db *db, int64_t subscription_id);
/* Is another private identity still registered with this IMPU? */
bool hss_impu_registered_elsewhere(struct ims_db *db, int64_t impu_id, int64_t impi_id);
/* Does the IMPU's profile hold services for the unregistered state? */
bool hss_impu_has_unreg_services(struct ims_db *db, const struct hss_impu *impu);

/* user_data.c: TS 29.228 IMSSubscription XML for the SAA / PPR (malloc'd, NULL on error). */
char *hss_user_data_xml(struct ims_db *db, const struct hss_impi *impi,
                        const struct hss_impu *impu);


/*
 * ifc.c: validate an iFC in its provisioning JSON form and build its TS 29.228 XML.
 * Returns the malloc'd <InitialFilterCriteria> element, or NULL with @err naming the field.
 * *unreg_services tells whether it can apply to an unregistered user.
 */
char *hss_ifc_xml(json_t *spec, int *priority, bool *unreg_services, char *err, size_t errlen);

/* sh.c: the Sh server (UDR, PUR, SNR) and the notifications (PNR) */
int hss_sh_init(struct hss *h);

/*
 * trust.c: which peer may do what. @peer is the identity of the Diameter peer the request
 * came from (its connection, ims_diam_msg_peer), never an AVP the sender wrote.
 * hss_trust_listed - @peer matches one of the identity patterns of @list (NULL-terminated;
 * an empty list matches nobody).
 */
bool hss_trust_listed(char *const *list, const char *peer);
/* The registration state or S-CSCF of @impu changed: notify the subscribed ASs. */
void hss_sh_user_state_changed(struct hss *h, const struct hss_impu *impu);
/* The iFCs of a profile changed (provisioning): notify the subscribed ASs. */
void hss_sh_ifc_changed(struct hss *h, int64_t profile_id);

/*
 * subscriber.c: the subscriber document of the provisioning API and the seed file
 * (hss/README.md), validated field by field and written in one transaction. Pure database
 * logic; provision.c is its HTTP front.
 */
#define HSS_DOC_MAX_IMPIS 32
#define HSS_DOC_MAX_IMPUS 64
#define HSS_DOC_MAX_PROFILES 16
#define HSS_BULK_MAX 100000        /* subscribers per hss_subscriber_bulk() call */

/* API names of enum hss_identity_type ("impu", "psi", "wildcard-psi", "wildcard-impu") and
 * enum hss_reg_state ("not_registered", "registered", "unregistered") */
extern const char *const hss_identity_type_names[4];
extern const char *const hss_reg_state_names[3];

enum hss_put_outcome {
    HSS_PUT_CREATED,
    HSS_PUT_UPDATED,
    HSS_PUT_UNCHANGED,           /* the document matched the database: nothing written */
};

struct hss_put_result {
    int64_t subscription_id;
    enum hss_put_outcome outcome;
    bool profile_changed;        /* what the S-CSCF holds changed (User-Data, charging) */
    size_t nifc_changed;         /* profiles whose existing IMPUs saw their iFCs change */
    int64_t ifc_changed[HSS_DOC_MAX_PROFILES];
    char field[160];             /* -EINVAL, -EEXIST: JSON path of the culprit ("impis[0].k") */
    char err[256];               /* and the reason */
};

/*
 * hss_subscriber_put - validate @doc and write it in one transaction.
 * @replace: false creates (-EEXIST when the name exists); true replaces an existing
 *           subscription (-ENOENT when missing), keeping impu ids, registration states, the
 *           assigned S-CSCF and max(stored, given) SQN.
 * Returns 0 with @res filled; -EINVAL (bad document) or -EEXIST (name or identity taken)
 * with res->field and res->err; -ENOENT; -EIO or -ENOMEM. Nothing is written on error.
 */
int hss_subscriber_put(struct ims_db *db, json_t *doc, bool replace, struct hss_put_result *res);
/*
 * hss_subscriber_seed - create or replace each document of the JSON array @docs in ONE
 * transaction (all or nothing). @res has one entry per document. On error *failed is the
 * index of the document at fault and res[*failed] says why (same codes as _put).
 */
int hss_subscriber_seed(struct ims_db *db, json_t *docs, struct hss_put_result *res,
                        size_t *failed);
/* The stored document without secrets (caller decrefs): 0, -ENOENT, -EIO or -ENOMEM. */
int hss_subscriber_get(struct ims_db *db, const char *name, json_t **out);
/* {"total", "offset", "limit", "items": [{"name", "impis", "impus"}]} by name; NULL on error */
json_t *hss_subscriber_list(struct ims_db *db, long offset, long limit);
/* The subscription id of @name: 0, -ENOENT or -EIO. */
int hss_subscriber_find(struct ims_db *db, const char *name, int64_t *id);
/* Delete a subscription and everything that hangs on it: 0, -ENOENT or -EIO. */
int hss_subscriber_delete(struct ims_db *db, const char *name);
/*
 * hss_subscriber_bulk - create @count benchmark subscribers <prefix><NNNNN> from @from
 * (../shared/LAB.md: IMPI name@domain, IMPU sip:name@domain, password name-secret, bob's
 * K/OP/AMF), 1000 per transaction, skipping those whose name or identities exist.
 * Returns 0 or a negative error (-EINVAL for bad arguments); *created counts the
 * subscribers committed, also on error.
 */
int hss_subscriber_bulk(struct ims_db *db, const char *prefix, long from, long count,
                        const char *domain, long *created);

/* provision.c: the REST provisioning API under /api/v1 (routes on d->http) */
int hss_provision_init(struct hss *h);

/* cx.c: the Cx/Dx server (UAR, MAR, SAR, LIR) and the HSS-initiated RTR/PPR */
int hss_cx_init(struct hss *h);
/* Ask the S-CSCF serving @subscription_id to de-register it (RTR) or to refresh its
 * profile (PPR). No-op when no S-CSCF is assigned. */
void hss_cx_rtr(struct hss *h, int64_t subscription_id, int reason, const char *info);
void hss_cx_ppr(struct hss *h, int64_t subscription_id);

#endif
