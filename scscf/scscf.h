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
#include "ifc.h"
#include "map.h"
#include "proxy.h"
#include "ro_client.h"

#define SCSCF_ID_MAX 256
#define SCSCF_MAX_IMPUS 16

/* What the HSS answered a MAR with (SIP-Authentication-Scheme; README: Authentication) */
enum scscf_scheme {
    SCSCF_DIGEST = 0,             /* "SIP Digest" (3GPP): HA1, our nonce */
    SCSCF_AKAV1,                  /* "Digest-AKAv1-MD5" */
    SCSCF_AKAV2,                  /* "Digest-AKAv2-MD5" */
    SCSCF_DIGEST_TISPAN,          /* "HTTP_DIGEST_MD5" (ETSI TS 183 033): HA1, the HSS's nonce */
    SCSCF_DIGEST_PACKETCABLE,     /* "Digest" (PacketCable 2.0): HA1, our nonce */
    SCSCF_DIGEST_MD5,             /* "Digest-MD5", the older form: the password, the HSS's
                                   * nonce (the HSS gives it to hss.password_peers only) */
    SCSCF_EARLY_IMS,              /* "Early-IMS-Security" (TR 33.978): the UE's address */
    SCSCF_NASS_BUNDLED,           /* "NASS-Bundled" (ES 283 003): the UE's access lines */
    SCSCF_SCHEME_COUNT
};

/* A Digest scheme: a challenge with algorithm=MD5 and an HA1 to check the answer with */
static inline bool scscf_scheme_is_digest(enum scscf_scheme s)
{
    return s == SCSCF_DIGEST || s == SCSCF_DIGEST_TISPAN || s == SCSCF_DIGEST_PACKETCABLE ||
           s == SCSCF_DIGEST_MD5;
}

/* Authenticated by the access network, no challenge: early IMS and NASS-bundled */
static inline bool scscf_scheme_is_bundled(enum scscf_scheme s)
{
    return s == SCSCF_EARLY_IMS || s == SCSCF_NASS_BUNDLED;
}

/* One binding of a registered public identity set */
/* A binding as a REGISTER (or the database) gives it, in fixed buffers */
struct scscf_contact_in {
    char uri[SCSCF_ID_MAX];
    time_t expires;                   /* absolute */
    char instance[128];               /* +sip.instance, "" when absent */
    int reg_id;                       /* reg-id, 0 when absent */
    char call_id[128];
    uint32_t cseq;
    char path[512];                   /* the Path the REGISTER came with ("" when none) */
    char impi[SCSCF_ID_MAX];          /* the private identity that registered it */
    char user_agent[128];
    char tgruu[64];                   /* user part of the temporary GRUU ("" none) */
};

/* A binding kept: its strings ("" when absent, never NULL) in one allocation sized to them
 * (@text), not in the 1.5 KiB of fixed buffers of struct scscf_contact_in */
struct scscf_contact {
    struct scscf_contact *next;
    const char *uri;
    time_t expires;                   /* absolute */
    const char *instance;
    int reg_id;
    const char *call_id;
    uint32_t cseq;
    const char *path;
    const char *impi;
    const char *user_agent;
    char tgruu[64];                   /* user part of the temporary GRUU ("" none) */
    char *text;
};

/* One implicit registration set: its identities, profile, bindings and subscribers */
struct scscf_aor {
    struct scscf_aor *prev, *next;    /* every aor of the store */
    char *impus[SCSCF_MAX_IMPUS];     /* [0] = the identity registered first; each its own
                                       * allocation (a fixed array of 16 x 256 bytes was
                                       * 4 KiB of a set's 11 KiB) */
    bool barred[SCSCF_MAX_IMPUS];
    int nimpus;
    char *profile;                    /* IMSSubscription XML from the SAA */
    char *ccf;                        /* Primary-Charging-Collection-Function-Name (NULL
                                       * none; scscf_store_set_name) */
    char *ecf;                        /* Primary-Event-Charging-Function-Name: the user is
                                       * online-charged (prepaid) when set (NULL none) */
    struct scscf_contact *contacts;
    bool dirty;                       /* changed since its last image went to the writer */
    struct scscf_aor *dprev, *dnext;  /* the list of dirty aors (store.c) */
    struct scscf_sub *subs;           /* reg-event subscriptions (notify.c) */
    unsigned version;                 /* reginfo version */
    time_t unreg_until;               /* no contacts: profile kept for unregistered services
                                       * until then (0: a registered set) */
    struct scscf_ifc_set *ifcs[SCSCF_MAX_IMPUS];  /* parsed iFCs per identity (lazily) */
};

struct scscf_ro;
struct ims_chg;
struct scscf_store;

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
    /* bounds (issue 12): each refuses with a clear SIP answer and counts in /metrics */
    unsigned max_contacts;            /* bindings per registration set */
    unsigned max_challenges;          /* pending challenges in all */
    unsigned max_challenges_per_impi; /* ... per private identity */
    unsigned max_auth_failures;       /* wrong answers per IMPI in a window: then 403 */
    unsigned auth_failure_window;     /* seconds of that window (and of the lock-out) */
    unsigned max_subscriptions;       /* reg-event subscriptions per registration set */
    char **reg_watchers;              /* ASs that may watch any user's reg event (config) */
    struct ims_map *aors;             /* IMPU -> aor (every identity of each set) */
    struct scscf_aor *all;            /* list of aors */
    size_t naors;                     /* length of that list */
    size_t ncontacts;
    struct ims_map *challenges;       /* nonce -> challenge */
    struct ims_map *auth_impis;       /* IMPI -> pending challenges and failures (auth.c) */
    struct ims_db *db;                /* the writer thread's once started (store.c) */
    struct scscf_store *store;        /* what waits to be written (store.c) */
    su_timer_t *tick;
    /* session routing */
    char icscf[SCSCF_ID_MAX];         /* where requests to home users go (LIR there) */
    char bgcf[SCSCF_ID_MAX];          /* breakout of numbers that are no home user */
    char ibcf[SCSCF_ID_MAX];          /* exit to other networks, or "" (by Request-URI) */
    unsigned as_timeout_ms;           /* an AS silent for this long: default handling */
    unsigned timer_c_ms;              /* INVITE without final response: CANCEL, 408 */
    unsigned unreg_ttl;               /* seconds a profile for unregistered services stays */
    struct ims_map *odis;             /* original dialog identifier -> struct scscf_call */
    struct ims_map *tgruus;           /* temporary GRUU user part -> struct scscf_aor */
    struct ims_map *subs;             /* our tag -> reg-event subscription (notify.c) */
    struct scscf_enum *enums;         /* number -> home URI (enum.c) */
    struct scscf_ifc_shared *shared_ifcs;
    /* charging (charging.c) */
    struct ims_chg *chg;              /* charged dialogs, offline charging (Rf) */
    bool online;                      /* charging.ocs set: Ro for users with an ECF */
    struct ims_ro_conf ro_conf;
    char ocs[SCSCF_ID_MAX], ocs_realm[SCSCF_ID_MAX];
    unsigned ro_requested_time;       /* CC-Time asked in each CCR */
};

/* One initial request routed by the S-CSCF (the proxy transaction's argument) */
struct scscf_call {
    struct scscf *s;
    struct ims_ptx *tx;               /* NULL once the transaction ended */
    int pending;                      /* Diameter or DNS answers still to come */
    enum scscf_session_case sc;
    char served[SCSCF_ID_MAX];        /* the served user's public identity */
    char target[SCSCF_ID_MAX];        /* terminating: identity of the Request-URI */
    char ruri[SCSCF_ID_MAX];          /* Request-URI when the chain started */
    bool registered;                  /* the served user has contacts here */
    int next_ifc;                     /* where the iFC evaluation goes on */
    char as[SCSCF_ID_MAX];            /* the AS of the branch in progress ("" none) */
    int as_dh;                        /* its DefaultHandling */
    char odi[24];                     /* our token while an AS holds the request */
    char icid[128];
    time_t t0;                        /* when the request arrived (charging timestamps) */
    struct scscf_ro *ro;              /* online charging of this INVITE, until answered */
    bool ro_checked;                  /* the online charging decision was taken */
};

/* ---- auth.c: challenges and their verification ---- */

struct scscf_vector {
    enum scscf_scheme scheme;
    uint8_t rand[16], autn[16];       /* AKA */
    uint8_t xres[16];
    size_t xres_len;
    uint8_t ck[16], ik[16];
    char ha1[33];                     /* Digest */
    char nonce[64];                   /* the nonce the HSS made (TISPAN, Digest-MD5), "" when
                                       * the S-CSCF makes it */
};

#define SCSCF_LINE_IDS_MAX 4
#define SCSCF_LINE_ID_MAX 128

/* What the access network bound the user to (early IMS, NASS-bundled), from the MAA */
struct scscf_access {
    int family;                       /* early IMS: AF_INET or AF_INET6; 0 none */
    uint8_t addr[16];
    unsigned prefix;                  /* bits of addr that count (32 for IPv4) */
    char lines[SCSCF_LINE_IDS_MAX][SCSCF_LINE_ID_MAX];   /* NASS-bundled Line-Identifiers */
    int nlines;
};

/* One challenge sent: bound to the private and the public identity it was issued for */
struct scscf_challenge {
    char nonce[96];
    char impi[SCSCF_ID_MAX];
    char impu[SCSCF_ID_MAX];
    char qop[8];                      /* the qop offered ("auth"); "" none */
    time_t expires;
    struct scscf_vector v;
};

int scscf_auth_init(struct scscf *s);
void scscf_auth_fini(struct scscf *s);
/*
 * scscf_auth_room - whether a new challenge may be stored for @impi: 0, -ENOSPC (the
 * table of pending challenges is full: scscf.max_challenges) or -EDQUOT (this IMPI has
 * scscf.max_challenges_per_impi pending). Asked before the MAR, so a refused REGISTER
 * costs the HSS nothing.
 */
int scscf_auth_room(struct scscf *s, const char *impi);
/*
 * scscf_auth_wants_challenge - whether REGISTER @sip can only get a new challenge: no
 * answer with a nonce, or a nonce not stored here (scscf_auth_check: NONE or STALE). Reads
 * only: an expired challenge still stored counts as an answer (scscf_auth_check decides).
 */
bool scscf_auth_wants_challenge(struct scscf *s, const sip_t *sip);
/*
 * scscf_auth_challenge - store a challenge for @v, bound to @impi and @impu, and write the
 * WWW-Authenticate value into @hdr. 0, -ENOSPC / -EDQUOT (as scscf_auth_room), -ENOMEM or
 * -EIO (no random bytes).
 */
int scscf_auth_challenge(struct scscf *s, const char *impi, const char *impu,
                         const struct scscf_vector *v, char *hdr, size_t len);
enum scscf_auth_result {
    SCSCF_AUTH_OK = 0,
    SCSCF_AUTH_NONE,                  /* no credentials: challenge */
    SCSCF_AUTH_STALE,                 /* unknown or expired nonce: challenge again */
    SCSCF_AUTH_RESYNC,                /* AKA re-synchronisation asked (auts) */
    SCSCF_AUTH_FAILED,                /* wrong response: a new challenge (403 past the
                                       * limit of failures) */
    SCSCF_AUTH_MISMATCH,              /* the answer does not fit its challenge: issued for
                                       * another identity, another realm, qop left out: 403 */
    SCSCF_AUTH_BAD_URI,               /* digest uri is not the Request-URI: 400 */
};
/*
 * scscf_auth_verify - pure: the verdict on the Digest answer of REGISTER @sip (for public
 * identity @impu) to challenge @c issued in @realm. In order: the username must be the
 * IMPI and @impu the IMPU the challenge was issued for, the realm ours, the qop the one
 * offered (with nc and cnonce), the uri the Request-URI (RFC 2617 3.2.2.5, compared as
 * SIP URIs), then the response (computed with the challenge's vector). *@why: a static
 * text for logs and the Warning. Never OK for a request without a response.
 */
enum scscf_auth_result scscf_auth_verify(const struct scscf_challenge *c, const char *realm,
                                         const sip_t *sip, const char *impu,
                                         const char **why);
/*
 * scscf_auth_would_pass - whether scscf_auth_check would accept the answer of REGISTER
 * @sip now (SCSCF_AUTH_OK): a pending, unexpired challenge issued to @impi, no
 * re-synchronisation asked, scscf_auth_verify OK. Reads only: the challenge stays.
 */
bool scscf_auth_would_pass(struct scscf *s, const sip_t *sip, const char *impi,
                           const char *impu);
/*
 * scscf_auth_check - find the challenge the Authorization of @sip answers and verify it
 * (scscf_auth_verify). A challenge is used once: it goes after any verdict on it, except
 * when the answer names another private identity than the one it was issued for (it stays
 * for its owner). For RESYNC, RAND | AUTS (30 bytes) is written into @resync.
 */
enum scscf_auth_result scscf_auth_check(struct scscf *s, const sip_t *sip, const char *impi,
                                        const char *impu, uint8_t resync[30],
                                        const char **why);
/*
 * Failed answers per IMPI (scscf.max_auth_failures in scscf.auth_failure_window s).
 * scscf_auth_failed notes one at @now and returns how many the window holds (>= 1), or
 * -ENOSPC when it cannot be noted (the caller then refuses as if past the limit).
 * scscf_auth_locked: the IMPI reached the limit; *@left the seconds until its window ends.
 * scscf_auth_succeeded forgets the failures of an IMPI.
 */
int scscf_auth_failed(struct scscf *s, const char *impi, time_t now);
bool scscf_auth_locked(struct scscf *s, const char *impi, time_t now, unsigned *left);
void scscf_auth_succeeded(struct scscf *s, const char *impi);
void scscf_auth_expire(struct scscf *s, time_t now);
size_t scscf_auth_pending(const struct scscf *s);
/* Pure: the expected response of a Digest/AKA answer (exposed for the unit tests) */
void scscf_auth_expected(const struct scscf_vector *v, const char *user, const char *realm,
                         const char *nonce, const char *nc, const char *cnonce,
                         const char *qop, const char *method, const char *uri,
                         char out[33]);
const char *scscf_scheme_name(enum scscf_scheme s);   /* "Digest-AKAv1-MD5", ... */
/* The scheme of a SIP-Authentication-Scheme value; SCSCF_SCHEME_COUNT when unknown */
enum scscf_scheme scscf_scheme_of(const char *name);

/*
 * bundled.c: authentication by the access network (early IMS, TR 33.978 and TS 24.229
 * 5.4.1.2.1B; NASS-bundled, ES 283 003 and TS 24.229 5.4.1.2.1D). What the S-CSCF believes
 * of the access is what the P-CSCF of the user's Path wrote, and only that: the "received"
 * parameter it put in the Via of the UE (the Via right below its own) and the
 * P-Access-Network-Info it marked "network-provided". Pure functions.
 *
 * scscf_bundled_address - the address the P-CSCF saw the REGISTER @sip come from: the
 *     "received" of the Via below the topmost Via of the P-CSCF (the host of the last Path
 *     entry, the first one added; names through @resolve, sip.hosts, never DNS). 0 with
 *     the address in @out, -ENOENT when there is none to believe (no Path, no Via of the
 *     P-CSCF, no Via below it, no received there), -EINVAL when it is not an IP address.
 * scscf_bundled_lines - the dsl-location of each P-Access-Network-Info of @sip marked
 *     network-provided: their number (at most @max) into @out.
 * scscf_bundled_address_match - @text (an IP address) is the address, or within the IPv6
 *     prefix, that @a binds.
 * scscf_bundled_line_match - one of @lines is a Line-Identifier of @a.
 */
typedef bool (*scscf_resolve_fn)(void *arg, const char *host, char *ip, size_t len);
/* A scscf_resolve_fn over the daemon's own host table (sip.hosts), never DNS: @arg is the
 * struct scscf */
bool scscf_resolve_host(void *arg, const char *host, char *ip, size_t len);
int scscf_bundled_address(const sip_t *sip, scscf_resolve_fn resolve, void *arg, char *out,
                          size_t len);
int scscf_bundled_lines(const sip_t *sip, char out[][SCSCF_LINE_ID_MAX], int max);
bool scscf_bundled_address_match(const struct scscf_access *a, const char *text);
bool scscf_bundled_line_match(const struct scscf_access *a, char lines[][SCSCF_LINE_ID_MAX],
                              int n);

/* ---- cx.c: MAR and SAR to the HSS, RTR and PPR from it ---- */

struct scscf_cx_answer {
    int error;                        /* no answer: -ETIMEDOUT, -ENOTCONN, ... */
    uint32_t code;
    bool experimental;
    struct scscf_vector vector;       /* MAA: the first vector */
    bool has_vector;
    struct scscf_access access;       /* MAA of early IMS, NASS-bundled */
    const char *vector_problem;       /* MAA: why the item was not usable (static text) */
    char *user_data;                  /* SAA: IMSSubscription (malloc'd, callee frees) */
    bool charging;                    /* SAA: Charging-Information present */
    char ccf[SCSCF_ID_MAX];
    char ecf[SCSCF_ID_MAX];           /* Primary-Event-Charging-Function-Name: online */
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

/*
 * The registrations live in memory on the loop thread; a writer thread of the store commits
 * what changed to SQLite. Every change goes through scscf_store_touch / _remove; a
 * REGISTER's 200 OK waits (scscf_store_commit) until the transaction holding its binding
 * has committed. Group commit: while the writer commits one batch, the changes of the next
 * accumulate and go as one transaction when it is done.
 */
/*
 * scscf_store_init - open (creating) the database, restore the registrations it holds.
 * @full: PRAGMA synchronous = FULL (a commit survives a power loss) instead of NORMAL (it
 * survives a crash of the process). The writer thread starts with scscf_store_start.
 */
int scscf_store_init(struct scscf *s, const char *db_path, bool full);
/* Start the writer thread (after scscf_store_init, before the loop runs). 0 or -errno. */
int scscf_store_start(struct scscf *s);
/* Write everything still pending (the writer stops first), answer every waiter, close. */
void scscf_store_fini(struct scscf *s);
struct scscf_aor *scscf_store_find(struct scscf *s, const char *impu);
/* The aor of @impu, created with the identities of @profile (or @impu alone). */
struct scscf_aor *scscf_store_upsert(struct scscf *s, const char *impu, const char *profile);
/*
 * scscf_store_bind - add or refresh a binding of @aor, which holds at most @max of them
 * (0: no bound). A binding with the same URI, or the same +sip.instance and reg-id
 * (RFC 5626), is refreshed. A new one beyond @max replaces the oldest binding (earliest
 * expiry) with the same +sip.instance (the same device, registering a new contact), if any.
 * 0, -EDQUOT (no room and nothing to replace) or -ENOMEM.
 */
int scscf_store_bind(struct scscf *s, struct scscf_aor *aor, const struct scscf_contact_in *c,
                     unsigned max);
/*
 * scscf_store_fits - pure: whether the contacts @in[0..@n) of one REGISTER (expires 0:
 * removed) fit @aor (NULL: none yet) under @max bindings by the rule of scscf_store_bind,
 * applied in order. 0 or -EDQUOT; -ENOMEM.
 */
int scscf_store_fits(const struct scscf_aor *aor, const struct scscf_contact_in *in, int n,
                     unsigned max);
/* Remove the binding with this URI (all when NULL); returns how many. */
int scscf_store_unbind(struct scscf *s, struct scscf_aor *aor, const char *uri);
/* Forget the aor and every identity of it. */
void scscf_store_remove(struct scscf *s, struct scscf_aor *aor);
/* Start writing what changed, without waiting (the tick) */
void scscf_store_flush(struct scscf *s);
/*
 * scscf_store_commit - call @fn(@arg, rc) on the loop thread once every change made to the
 * store before this call is committed: rc 0, or -EIO when the transaction failed (the
 * changes stay in memory and go again with the next batch). @fn runs before this returns
 * when nothing is pending. Returns 0, or -ENOMEM (then @fn is not called).
 */
typedef void (*scscf_store_done_fn)(void *arg, int rc);
int scscf_store_commit(struct scscf *s, scscf_store_done_fn fn, void *arg);
/*
 * scscf_store_sync - from a thread other than the loop's (Diameter handlers): wait until
 * every change made on the loop thread before the call is committed. 0, -EIO, or
 * -ETIMEDOUT after @timeout_ms.
 */
int scscf_store_sync(struct scscf *s, unsigned timeout_ms);
int scscf_store_count_contacts(const struct scscf_aor *aor);
/* A name kept by an aor (ccf, ecf) becomes a copy of @value, NULL for "" or NULL (none).
 * 0, or -ENOMEM with the old one kept. */
int scscf_store_set_name(char **name, const char *value);
/* Free one binding taken off a list (its temporary GRUU is forgotten) */
void scscf_store_contact_free(struct scscf *s, struct scscf_contact *c);
/* @aor changed: it goes with the next batch */
void scscf_store_touch(struct scscf *s, struct scscf_aor *aor);
/* Between store.c and store_db.c: a new aor as the database gives it; @aor goes (its row is
 * deleted with the next batch); every aor freed (at stop) */
struct scscf_aor *scscf_store_new(struct scscf *s, const char *impu, const char *profile);
void scscf_store_forget(struct scscf *s, struct scscf_aor *aor);
void scscf_store_clear(struct scscf *s);

/* ---- registrar.c: REGISTER, expiry, de-registration ---- */
int scscf_register(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
/*
 * scscf_register_early - the bounds of pending challenges (scscf.max_challenges,
 * max_challenges_per_impi) for REGISTER @req before its transaction: true with @out (503,
 * Retry-After scscf.nonce_ttl, the Warning scscf_register gives) when it would be refused
 * for them, false when anything else may answer it first (400, 403, 423, a verdict on its
 * credentials, the lock-out) or it has room. Counts and logs (rate-limited) a refusal.
 * Then the HSS's overload report (RFC 7683) on the Diameter request it needs first, the
 * MAR of a challenge or the SAR of scscf_register_sar: 503 with Retry-After
 * scscf.retry_after when the loss falls on it (counted).
 */
bool scscf_register_early(struct scscf *s, const sip_t *req, struct ims_sip_refusal *out);
/*
 * scscf_register_sar - the Server-Assignment-Type of the SAR REGISTER @req sends once its
 * credentials are verified (REGISTRATION, RE_REGISTRATION, USER_DEREGISTRATION for the
 * last bindings), or 0 when it sends none first: no answer to a pending challenge of ours
 * (a MAR or a refusal comes first), one that fails or asks for re-synchronisation, a query
 * (no Contact), a de-registration that leaves other bindings, more contacts than fit, or
 * anything scscf_register refuses before. Reads only (the challenge stays).
 */
int scscf_register_sar(struct scscf *s, const sip_t *req);
void scscf_registrar_tick(struct scscf *s, time_t now);
/* Network-initiated de-registration (RTR): every binding of @impu (or of the sets of
 * @impi when impu is NULL) goes, subscribers are told. Returns the number of sets. */
int scscf_registrar_deregister(struct scscf *s, const char *impi, const char *impu,
                               const char *reason);
void scscf_registrar_metrics(void);
/* The network ends the registration of @impu's set: reg event, SAR, third-party REGISTER */
void scscf_registrar_network_deregister(struct scscf *s, const char *impu, const char *why);

/* The iFCs of identity @impu of @aor (parsed once, cached); NULL when the profile has none */
struct scscf_ifc_set *scscf_store_ifcs(struct scscf *s, struct scscf_aor *aor,
                                       const char *impu);
/* Drop cached iFCs (the profile changed) */
void scscf_store_ifcs_reset(struct scscf_aor *aor);

/* ---- session.c: requests other than REGISTER (TS 24.229 5.4.3) ---- */
int scscf_session(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
/*
 * scscf_session_sar - whether request @req, served by scscf_session, needs a SAR
 * UNREGISTERED_USER first: an initial request (no To tag, not ACK, not back from an AS),
 * originating or terminating, for a served user who has no set here (neither registered
 * nor with a profile kept). Reads only.
 */
bool scscf_session_sar(struct scscf *s, const sip_t *req);
/*
 * scscf_session_early - when the HSS's overload report (RFC 7683) drops the SAR of
 * scscf_session_sar, true with @out (503, Retry-After scscf.retry_after, counted), before
 * any transaction. Anything else is answered by the transaction (also a Max-Forwards of 0,
 * whose 483 comes before the SAR there).
 */
bool scscf_session_early(struct scscf *s, const sip_t *req, struct ims_sip_refusal *out);
int scscf_session_init(struct scscf *s);
void scscf_session_fini(struct scscf *s);
/* The chain goes on: next iFC, or the final routing of route.c */
void scscf_session_continue(struct scscf_call *call);
/* Answer with a Warning saying why (logged) */
void scscf_call_refuse(struct scscf_call *call, int status, const char *phrase,
                       const char *why);
bool scscf_call_release(struct scscf_call *call);   /* true when freed */

/* ---- route.c: where the chain ends ---- */
/* Originating: to the I-CSCF for home users (after ENUM for numbers), the BGCF for numbers
 * that are no home user, elsewhere by the Request-URI. */
void scscf_route_originating(struct scscf_call *call);
/* Terminating: to every contact of the served user (parallel forking, GRUU: one instance),
 * 480 when there is none. */
void scscf_route_terminating(struct scscf_call *call);

/* ---- enum.c: E.164 number -> URI (local table, DNS NAPTR) ---- */
struct scscf_enum;
typedef void (*scscf_enum_fn)(void *arg, const char *uri);   /* uri NULL: no mapping */
int scscf_enum_init(struct scscf *s, const char *table, const char *domain,
                    const char *server);
void scscf_enum_fini(struct scscf *s);
/*
 * scscf_enum_lookup - the URI of @number ("+15550100001"). Returns 1 with the answer in @uri
 * at once (local table), 0 when a DNS query is under way (@fn is called later on the loop
 * thread), -ENOENT when there is no mapping and no DNS configured.
 */
int scscf_enum_lookup(struct scscf *s, const char *number, char *uri, size_t len,
                      scscf_enum_fn fn, void *arg);
/* Pure, for the tests: apply a NAPTR regexp field ("!^.*$!sip:x@y!") to @number */
int scscf_enum_apply(const char *regexp, const char *number, char *out, size_t len);

/* ---- thirdparty.c: REGISTER to application servers (TS 24.229 5.4.1.7) ---- */
int scscf_thirdparty_init(struct scscf *s);
void scscf_thirdparty_fini(void);
/* The iFCs of @impu that match this REGISTER (@request NULL: expiry or the network) send
 * their ASs a third-party REGISTER; @response is our 200 OK when there is one. */
void scscf_thirdparty_register(struct scscf *s, struct scscf_aor *aor, const char *impu,
                               enum scscf_reg_type type, unsigned expires, msg_t *request,
                               msg_t *response);

/* ---- charging.c: offline (Rf) and online (Ro) charging ---- */
int scscf_charging_init(struct scscf *s);
/* Stops Diameter too (the Rf client goes after it) */
void scscf_charging_stop(struct scscf *s);
void scscf_charging_tick(struct scscf *s, time_t now);
/*
 * scscf_charging_originating - before an originating request of @call leaves: online
 * charging of a prepaid user (CCR-INITIAL for INVITE, CCR-EVENT for MESSAGE). Returns true
 * when a CCR is under way (the routing goes on, or the request is refused, from its answer).
 */
bool scscf_charging_originating(struct scscf_call *call);
/* A response of @call's transaction goes upstream: START, EVENT, the Ro session's fate */
void scscf_charging_response(struct scscf_call *call, const sip_t *resp);
/* The transaction of @call ends */
void scscf_charging_call_done(struct scscf_call *call);
/* A request inside a dialog passes: BYE ends the charged dialogs (STOP, CCR-T) */
void scscf_charging_in_dialog(struct scscf *s, const sip_t *req);
/* The final answer to a REGISTER: EVENT */
void scscf_charging_register(struct scscf *s, const sip_t *req, int status, time_t t0);

/* Pure, for the tests: what a CCA means for a call (enum scscf_ro_action) */
enum scscf_ro_action {
    SCSCF_RO_PROCEED = 0,             /* granted: go on, timer for the grant */
    SCSCF_RO_UNCHARGED,               /* no answer, CCFH CONTINUE: go on without Ro */
    SCSCF_RO_REFUSE,                  /* initial / event: refuse the request */
    SCSCF_RO_RELEASE,                 /* update: end the call */
};
enum scscf_ro_action scscf_ro_action_of(const struct ims_ro_result *r, bool initial,
                                        int *status, const char **phrase);
/*
 * scscf_ro_route_sets - the Route sets of BYEs of ours towards the callee and the caller,
 * from the Record-Route list @rrs of the 2xx and the number of entries @rr_before the
 * INVITE came with (the caller's side; ours is just above them). Entries for which
 * @is_own is true are left out of the callee's set (our own terminating leg). Writes
 * "<uri>, <uri>" lists ("" none). 0, -EINVAL (inconsistent counts) or -ENOSPC.
 */
int scscf_ro_route_sets(const sip_record_route_t *rrs, int rr_before,
                        bool (*is_own)(void *arg, const url_t *u), void *arg,
                        char *callee, char *caller, size_t len);
/* Seconds until the next CCR-UPDATE (or release): the grant, or Validity-Time if sooner;
 * 0 for none */
unsigned scscf_ro_timer_of(const struct ims_ro_result *r);

/* ---- notify.c: reg event package (RFC 3680) ---- */
int scscf_subscribe(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
/*
 * scscf_subscribe_early - scscf.max_subscriptions for a new reg-event SUBSCRIBE @req from
 * @src before its transaction: true with @out (503, Retry-After scscf.retry_after, the
 * Warning scscf_subscribe gives) when scscf_subscribe would refuse it for the bound, false
 * otherwise (any other answer comes first and is left to the transaction). Counts and logs
 * (rate-limited) a refusal.
 */
bool scscf_subscribe_early(struct scscf *s, const sip_t *req, const struct ims_sip_source *src,
                           struct ims_sip_refusal *out);

/* Who sends a reg-event SUBSCRIBE, as the S-CSCF knows it */
struct scscf_watcher {
    const url_t *asserted;            /* its P-Asserted-Identity (NULL: none) */
    bool trusted_source;              /* it came from a peer trusted to assert identities,
                                       * so @asserted is believed */
    bool from_path;                   /* it came from an entity of the Path of one of the
                                       * set's bindings (its source address) */
};
enum scscf_watcher_kind {
    SCSCF_WATCHER_NONE = 0,           /* may not watch: 403 */
    SCSCF_WATCHER_UE,                 /* (a) the user: one of the set's public identities,
                                       * through a P-CSCF of the registration's Path */
    SCSCF_WATCHER_PCSCF,              /* (b) the P-CSCF: its Path URI is in a binding */
    SCSCF_WATCHER_AS,                 /* (c) an AS of the set's iFCs or of the
                                       * configuration (scscf.reg_watchers) */
};
/*
 * scscf_notify_authorise - pure: who @w is for the registration of @aor (TS 24.229
 * 5.4.2.1.1), or NONE. An asserted identity counts only from a trusted source. The UE must
 * also come through its Path (@w->from_path): its identity alone is not enough. The P-CSCF
 * is compared with the Path entries by user, host and port; an AS with the @nas names @as
 * (the set's iFCs, then the configured ones) by host.
 */
enum scscf_watcher_kind scscf_notify_authorise(const struct scscf_aor *aor,
                                               const struct scscf_watcher *w,
                                               const char *const *as, int nas);
/* Pure: whether the @ip (numeric) is the host of an entry of the Path of one of @aor's
 * bindings (addresses compared as addresses); a Path host that is a name is first mapped by
 * @resolve (may be NULL; the daemon's sip.hosts, never DNS on the loop thread) */
bool scscf_notify_in_path(const struct scscf_aor *aor, const char *ip,
                          scscf_resolve_fn resolve, void *arg);
/* A SUBSCRIBE to the reg event of a user served here (else it is routed like any request) */
bool scscf_is_reg_subscribe(struct scscf *s, const sip_t *sip);
/* The registration state of @aor changed: NOTIFY every subscriber. @event per contact is
 * computed from the contacts' state; @terminated when the whole set went away. */
void scscf_notify_all(struct scscf *s, struct scscf_aor *aor, const char *event,
                      bool terminated);
void scscf_notify_tick(struct scscf *s, time_t now);
void scscf_notify_drop(struct scscf *s, struct scscf_aor *aor);
/*
 * scscf_notify_request - a request in the dialog of one of our reg-event subscriptions
 * (found by the To tag, ours): a refresh or unsubscribe is answered here (0), another
 * method gets a status to answer (405; 500 for a CSeq lower than the last). -ENOENT when
 * it is in no dialog of ours (ACK and CANCEL never are).
 */
int scscf_notify_request(struct scscf *s, nta_incoming_t *irq, const sip_t *sip);
/*
 * scscf_notify_in_dialog - pure: request @req (whose To tag is ours) is in the dialog of
 * Call-ID @call_id with the watcher's tag @rtag ("" none), as nta matches a leg: the same
 * Call-ID (case-sensitive), and @rtag in From (case-insensitive) when there is one.
 */
bool scscf_notify_in_dialog(const char *call_id, const char *rtag, const sip_t *req);

#endif
