/*
 * pcscf.h - the P-CSCF daemon's context and cross-file functions
 *
 * bindings.c  the registration bindings of the UEs (pure: add/refresh/find/remove/expire)
 * register.c  REGISTER towards the I-CSCF, responses back to the UE, the binding kept
 * reginfo.c   reginfo documents (RFC 3680) read and applied to a binding (pure)
 * regevent.c  the reg-event subscription to the S-CSCF (SUBSCRIBE, NOTIFY, refresh)
 * originating.c  later requests: from a registered UE (checks, identity, Service-Route),
 *             from the core towards a UE, 403 for unregistered UEs
 * flow.c      the tokens the P-CSCF issues and verifies: flow (Path), dialog (Record-Route)
 * ipsec.c     ESP SAs and policies over netlink XFRM (builders pure), ESP probed at start
 * secagree.c  RFC 3329 sec-agree: Security-Client read, Security-Server made,
 *             Security-Verify checked (pure)
 * sas.c       the IPsec SAs of each UE: made at its 401, confirmed at its 200, removed
 *             with its last binding (the kernel behind an ops interface)
 * main.c      configuration and dispatch
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef PCSCF_H
#define PCSCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "proxy.h"

#define PCSCF_URI_MAX 256
#define PCSCF_MAX_IDS 8          /* P-Associated-URI entries kept per binding */
#define PCSCF_MAX_ROUTES 4       /* Service-Route entries kept per binding */
#define PCSCF_MAX_CONTACTS 4     /* contacts of one UE for one public identity */
#define PCSCF_TICK_MS 1000       /* expiry timer period */

struct pcscf_contact {
    const char *uri;             /* in the binding's text */
    time_t expires;              /* absolute (monotonic seconds) */
};

struct pcscf_sub;                /* regevent.c */
struct pcscf_regevent;
struct pcscf_ipsec;              /* ipsec.c */

enum pcscf_ipsec_mode { PCSCF_IPSEC_OFF, PCSCF_IPSEC_OPTIONAL, PCSCF_IPSEC_REQUIRED };
struct ims_chg;                  /* common/charging.h */

/*
 * One registration of a UE for one public identity (TS 24.229 5.2.2.4). Its strings live in
 * one allocation sized to them (@text), not in fixed arrays: a binding with two identities,
 * one route and one contact takes well under 1 KiB.
 */
struct pcscf_binding {
    struct pcscf_binding *next;  /* hash chain */
    struct ims_sip_source src;
    const char *impu;            /* the registered IMPU (To of the REGISTER) */
    const char *ids[PCSCF_MAX_IDS];       /* P-Associated-URI, first = default */
    int nids;
    const char *routes[PCSCF_MAX_ROUTES]; /* Service-Route values "<uri>" */
    int nroutes;
    struct pcscf_contact contacts[PCSCF_MAX_CONTACTS];
    int ncontacts;
    time_t expires;              /* latest contact expiry */
    const char *call_id;         /* of the REGISTER */
    struct pcscf_sub *sub;       /* reg-event subscription, NULL when none */
    bool sub_refused;            /* the S-CSCF refused it for good (e.g. 501): no retry */
    struct pcscf_saset *sas;     /* the IPsec SAs it was registered over, NULL when none */
    char *text;                  /* the strings above */
};

/* What a successful REGISTER says, read into fixed buffers before it is kept */
struct pcscf_draft_contact {
    char uri[PCSCF_URI_MAX];
    time_t expires;
};

struct pcscf_draft {
    struct ims_sip_source src;
    char impu[PCSCF_URI_MAX];
    char ids[PCSCF_MAX_IDS][PCSCF_URI_MAX];
    int nids;
    char routes[PCSCF_MAX_ROUTES][PCSCF_URI_MAX];
    int nroutes;
    struct pcscf_draft_contact contacts[PCSCF_MAX_CONTACTS];
    int ncontacts;
    char call_id[128];
};

/* ---- bindings.c: the binding store (no I/O) ---- */

struct pcscf_bindings;
typedef void (*pcscf_binding_fn)(void *arg, struct pcscf_binding *b);

enum pcscf_save {
    PCSCF_SAVE_NEW = 1,          /* a new binding */
    PCSCF_SAVE_REFRESH,          /* an existing binding updated */
    PCSCF_SAVE_REMOVED,          /* no contact left: the binding is gone */
    PCSCF_SAVE_NONE,             /* nothing to keep and nothing kept */
};

/*
 * pcscf_bindings_create - an empty store of at most @max bindings. @on_remove (may be NULL)
 * is called with every binding about to be freed (removed, expired, store destroyed).
 * Returns NULL on allocation failure.
 */
struct pcscf_bindings *pcscf_bindings_create(size_t max, pcscf_binding_fn on_remove,
                                             void *arg);
void pcscf_bindings_destroy(struct pcscf_bindings *s);
size_t pcscf_bindings_count(const struct pcscf_bindings *s);
bool pcscf_bindings_full(const struct pcscf_bindings *s);
/* At most @max bindings from one source IP address, whatever its ports (0: no bound;
 * pcscf.max_bindings_per_source). _of_source: how many @ip has; _source_full: it reached
 * the bound. */
void pcscf_bindings_set_max_per_source(struct pcscf_bindings *s, size_t max);
size_t pcscf_bindings_of_source(const struct pcscf_bindings *s, const char *ip);
bool pcscf_bindings_source_full(const struct pcscf_bindings *s, const char *ip);

/*
 * pcscf_bindings_save - store the outcome of a successful REGISTER: @in carries the source,
 * the IMPU, the identities, the routes and the contacts with absolute expiry (contacts whose
 * expiry is not after @now are dropped). Replaces the binding of (source, IMPU) if any.
 * Returns a pcscf_save value (*out is the binding for NEW and REFRESH, else NULL), or
 * -ENOSPC when the store is full, -EDQUOT when the source address has its bound of
 * bindings, -EINVAL when @in has no source or IMPU.
 */
int pcscf_bindings_save(struct pcscf_bindings *s, const struct pcscf_draft *in, time_t now,
                        struct pcscf_binding **out);

/* The binding of (flow key "ip:port/proto", IMPU), expired or not, or NULL. */
struct pcscf_binding *pcscf_bindings_find(struct pcscf_bindings *s, const char *key,
                                          const char *impu);
/* The first live binding of a source key, or NULL; _next gives the following ones. */
struct pcscf_binding *pcscf_bindings_by_source(struct pcscf_bindings *s, const char *key,
                                               time_t now);
struct pcscf_binding *pcscf_bindings_next(struct pcscf_binding *b, time_t now);
/* Remove one binding (on_remove is called, then it is freed). */
void pcscf_bindings_remove(struct pcscf_bindings *s, struct pcscf_binding *b);
/* Drop contacts expired at @now, and bindings left without any. Returns bindings removed. */
int pcscf_bindings_expire(struct pcscf_bindings *s, time_t now);
/* Remove contact @i of @b and recompute its expiry. */
void pcscf_binding_contact_remove(struct pcscf_binding *b, int i);

/* ---- identities (bindings.c, pure) ---- */

/* Normalised public identity of a URI string ("sip:user@host" / "tel:+n"); 0 or -EINVAL. */
int pcscf_impu_norm(const char *uri, char *buf, size_t len);
/* Do two contact URIs designate the same user@host:port (scheme sip/sips, no params)? */
bool pcscf_uri_same(const char *a, const char *b);

/*
 * pcscf_identity_choose - the identity to assert for a request of @b (TS 24.229 5.2.6.3.1):
 * @preferred (a P-Preferred-Identity URI, may be NULL) when it is one of the registered set,
 * else the default (first) identity. Writes the normalised URI to @out.
 * Returns 1 when the preferred identity was taken, 0 for the default, -ENOENT when @b has no
 * identity.
 */
int pcscf_identity_choose(const struct pcscf_binding *b, const char *preferred, char *out,
                          size_t len);

/* ---- reginfo.c: RFC 3680 documents (pure) ---- */

#define PCSCF_RI_MAX_REGS 8
#define PCSCF_RI_MAX_CONTACTS 8

struct pcscf_ri_contact {
    char uri[PCSCF_URI_MAX];
    char state[16];              /* active | terminated */
    char event[16];              /* registered, expired, deactivated, unregistered, ... */
};

struct pcscf_ri_reg {
    char aor[PCSCF_URI_MAX];
    char state[16];              /* init | active | terminated */
    struct pcscf_ri_contact contacts[PCSCF_RI_MAX_CONTACTS];
    int ncontacts;
};

struct pcscf_reginfo {
    char state[16];              /* full | partial */
    long version;
    struct pcscf_ri_reg regs[PCSCF_RI_MAX_REGS];
    int nregs;
};

/* Parse a reginfo document. Returns 0, or -EINVAL with the reason in @err. */
int pcscf_reginfo_parse(const char *doc, size_t len, struct pcscf_reginfo *out, char *err,
                        size_t errlen);
/* Is this contact (or registration) state the end of it? (terminated, or an ending event) */
bool pcscf_reginfo_contact_ended(const struct pcscf_ri_contact *c);
/*
 * pcscf_reginfo_apply - remove from @b the contacts the document reports ended: every contact
 * when a registration of one of @b's identities is terminated. Returns how many were
 * removed; the binding is over when b->ncontacts is then 0.
 */
int pcscf_reginfo_apply(const struct pcscf_reginfo *ri, struct pcscf_binding *b);

/* ---- the daemon ---- */

struct pcscf {
    struct ims_daemon *d;
    su_home_t home[1];
    url_t *icscf;                /* next hop of REGISTER */
    url_t *ecscf;                /* emergency requests, NULL when none */
    url_t *path;                 /* sip:term@<address>:<port>;lr */
    char self_uri[PCSCF_URI_MAX];   /* sip:<node.name>, From of the reg-event SUBSCRIBE */
    char path_id[PCSCF_URI_MAX];    /* the Path URI without parameters: the identity the
                                       reg-event SUBSCRIBE asserts (TS 24.229 5.2.3) */
    char contact[PCSCF_URI_MAX];    /* <sip:<address>:<port>> of our own requests */
    char pvni[256];              /* P-Visited-Network-ID value */
    char orig_ioi[128];
    unsigned sub_expires;        /* reg-event subscription expiry asked (0: no subscription) */
    unsigned retry_after;        /* of our 503 answers */
    struct pcscf_bindings *bindings;
    struct pcscf_regevent *regevent;   /* the reg-event subscriptions (regevent.c) */
    su_timer_t *tick;
    struct ims_chg *chg;         /* offline charging (charging.c) */
    enum pcscf_ipsec_mode ipsec_mode;   /* pcscf.ipsec */
    struct pcscf_ipsec *ipsec;   /* the XFRM socket, NULL when pcscf.ipsec = off */
    struct pcscf_sas *sas;       /* the UEs' SAs (sas.c), NULL when sec-agree cannot be done */
    uint8_t token_key[64];       /* HMAC key of the flow and dialog tokens (flow.c) */
    size_t token_key_len;
    struct pcscf_clf *clf;       /* access lines by address (clf.c), NULL when none */
};

/* Monotonic seconds, the binding expiry clock (bindings.c) */
time_t pcscf_now(void);
/* The count of bindings changed: update the gauge (register.c) */
void pcscf_bindings_changed(struct pcscf *p);

/* ---- clf.c: the access line of a UE (NASS-bundled authentication) ---- */
/* Load pcscf.clf_table (@path): 0, -EINVAL (a bad line, logged) or -errno */
int pcscf_clf_load(struct pcscf *p, const char *path);
void pcscf_clf_free(struct pcscf *p);
/* Pure: whether a P-Access-Network-Info value holds "network-provided" anywhere (any case,
 * quoted or not: a UE's value that any parser could read as network-provided) */
bool pcscf_pani_network_provided(const char *value);
/*
 * pcscf_clf_mark - a REGISTER from @src: every P-Access-Network-Info the UE marked
 * network-provided goes; when the table knows @src's address, ours is added
 * ("<access-type>;dsl-location=\"<line>\";network-provided"). 0 or -errno.
 */
int pcscf_clf_mark(struct pcscf *p, msg_t *msg, sip_t *sip, const struct ims_sip_source *src);

/* ---- register.c ---- */
int pcscf_register(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                   const struct ims_sip_source *src);
/* The bounds of the binding table checked before a REGISTER's transaction (an
 * ims_sip_early_refusal_fn, @arg the pcscf): 503 with pcscf.retry_after when one is hit */
bool pcscf_register_early(void *arg, const sip_t *req, const struct ims_sip_source *src,
                          struct ims_sip_refusal *out);
/* Remove the ck= and ik= parameters of every WWW-Authenticate (TS 24.229 5.2.2.1); returns
 * how many were removed. */
int pcscf_auth_strip_keys(msg_t *msg, sip_t *sip);
void pcscf_register_metrics(void);

/* ---- regevent.c ---- */
/* Subscribe to the reg event of @b's IMPU at the S-CSCF (via its Service-Route). 0 or -errno */
int pcscf_regevent_subscribe(struct pcscf *p, struct pcscf_binding *b);
/* End the subscription of @b (its binding is going away); nothing is sent. */
void pcscf_regevent_stop(struct pcscf_binding *b);
/* A request of a dialog of ours (the Call-ID and tags of a subscription) from @src, a
 * source of the core: answered as its dialog's leg did (a status for nta to answer, or 0);
 * -ENOENT when it is not ours, or comes from outside sip.trusted_peers. */
int pcscf_regevent_request(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                           const struct ims_sip_source *src);
/* Is @req (its Call-ID that of the subscription) a request of the subscription's dialog,
 * our tag @tag, the S-CSCF's @rtag (NULL while not known)? As nta matches a leg tagged
 * after creation (leg_find): our tag in To when it has one, the S-CSCF's in From once
 * known, case-insensitively. Pure. */
bool pcscf_regevent_in_dialog(const char *tag, const char *rtag, const sip_t *req);
/* The subscriptions' map and refresh timer (before the first binding) / freed (after the
 * last binding went). 0 or -ENOMEM */
int pcscf_regevent_init(struct pcscf *p);
void pcscf_regevent_fini(struct pcscf *p);
void pcscf_regevent_metrics(void);

/* ---- originating.c ---- */
/* A request other than REGISTER; returns a status for nta to answer, or 0 (handled). */
int pcscf_request(struct pcscf *p, nta_incoming_t *irq, const sip_t *sip,
                  const struct ims_sip_source *src);
/* Is the Request-URI an emergency service URN (urn:service:sos...)? */
bool pcscf_is_emergency(const url_t *ruri);
void pcscf_originating_metrics(void);

/* ---- flow.c: tokens of our own ---- */
/* The key from pcscf.token_key (hex, 16 to 64 bytes), or a random one when @hex is empty.
 * 0, -EINVAL (bad hex or too short), -EIO (no randomness) */
int pcscf_token_key_init(struct pcscf *p, const char *hex);
/* The flow token of @src (hex: the flow and its tag) for the ";ft=" of our Path. 0/-EINVAL */
int pcscf_flow_token(const struct pcscf *p, const struct ims_sip_source *src, char *out,
                     size_t len);
/* The flow a token of ours names into @out; -EINVAL when it is not one we made. */
int pcscf_flow_parse(const struct pcscf *p, const char *token, struct ims_sip_source *out);
/* The dialog token (16 hex digits) binding the dialog @call_id, and the route set after our
 * entry (@routes, pcscf_route_text()), to the flow @src, for the ";ue=" of our Record-Route.
 * 0 or -EINVAL. */
int pcscf_dialog_token(const struct pcscf *p, const struct ims_sip_source *src,
                       const char *call_id, const char *routes, char *out, size_t len);
bool pcscf_dialog_token_ok(const struct pcscf *p, const struct ims_sip_source *src,
                           const char *call_id, const char *routes, const char *token);

/* ---- ipsec.c: ESP over netlink XFRM (TS 33.203 7.1) ---- */

enum pcscf_ipsec_auth { PCSCF_IPSEC_HMAC_SHA1_96, PCSCF_IPSEC_HMAC_MD5_96 };
enum pcscf_ipsec_enc { PCSCF_IPSEC_ENC_NULL, PCSCF_IPSEC_AES_CBC };

/* One transport-mode ESP SA (and the policy that uses it): from @src:@sport to
 * @dst:@dport, any transport */
struct pcscf_xfrm_sa {
    int family;                  /* AF_INET or AF_INET6 */
    uint8_t src[16], dst[16];    /* addresses, network order (4 bytes used for IPv4) */
    uint16_t sport, dport;
    uint32_t spi;                /* >= 256 */
    uint32_t reqid;
    enum pcscf_ipsec_auth auth;
    enum pcscf_ipsec_enc enc;
    uint8_t ik[20];              /* IK_ESP (pcscf_ipsec_keys) */
    size_t ik_len;
    uint8_t ck[16];              /* CK_ESP, none for NULL encryption */
    size_t ck_len;
    uint32_t expires;            /* hard lifetime in seconds from now, 0: none */
};

/* IK_ESP and CK_ESP of @sa (its auth and enc set) from the CK and IK of the AKA vector
 * (TS 33.203 Annex I). 0. */
int pcscf_ipsec_keys(struct pcscf_xfrm_sa *sa, const uint8_t ck[16], const uint8_t ik[16]);
/*
 * The netlink messages (header included) of `ip xfrm state add|delete` and `ip xfrm policy
 * add|delete` for @sa (@in: the policy of an inbound SA), with sequence number @seq, written
 * to @buf (at least 1024 bytes). Return the message length, 0 when @sa is not valid or @buf
 * is too small.
 */
size_t pcscf_xfrm_newsa(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, uint32_t seq);
size_t pcscf_xfrm_delsa(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, uint32_t seq);
size_t pcscf_xfrm_newpolicy(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, bool in,
                            uint32_t seq);
size_t pcscf_xfrm_delpolicy(void *buf, size_t len, const struct pcscf_xfrm_sa *sa, bool in,
                            uint32_t seq);

struct pcscf_ipsec;
/* Open the XFRM netlink socket and probe ESP (*@out is set even on failure, with the
 * reason in pcscf_ipsec_state()). 0, -EPROTONOSUPPORT (no ESP in the kernel), -EPERM, ... */
int pcscf_ipsec_open(struct pcscf_ipsec **out);
void pcscf_ipsec_close(struct pcscf_ipsec *x);
bool pcscf_ipsec_available(const struct pcscf_ipsec *x);
/* "available" or "unavailable (<why>)"; "off" for NULL */
const char *pcscf_ipsec_state(const struct pcscf_ipsec *x);
/* Why sec-agree cannot be agreed with a UE here (pcscf.ipsec off, no ESP in the kernel, no
 * SA store), or "available" */
const char *pcscf_ipsec_secagree_reason(const struct pcscf *p);
/* Install @sa and its policy (inbound when @in) / remove both. 0 or the kernel's -errno */
int pcscf_ipsec_sa_add(struct pcscf_ipsec *x, const struct pcscf_xfrm_sa *sa, bool in);
int pcscf_ipsec_sa_remove(struct pcscf_ipsec *x, const struct pcscf_xfrm_sa *sa, bool in);

/* ---- secagree.c: RFC 3329 / TS 33.203 sec-agree (pure) ---- */

/* The ipsec-3gpp offer of a UE chosen from its Security-Client */
struct pcscf_sec_offer {
    enum pcscf_ipsec_auth alg;
    enum pcscf_ipsec_enc ealg;
    uint32_t spi_c, spi_s;       /* the UE's SPIs (its client and server SA) */
    uint16_t port_c, port_s;     /* the UE's protected ports */
};

/* 2 when the request requires sec-agree (Require or Proxy-Require), 1 when it offers it
 * (Security-Client, or Supported: sec-agree), 0 otherwise */
int pcscf_secagree_asked(const sip_t *sip);
/*
 * pcscf_secagree_choose - the best ipsec-3gpp offer of @sc (hmac-sha-1-96 over hmac-md5-96,
 * then aes-cbc over null; ealg absent means null) into @out. 0, or -ENOENT (no ipsec-3gpp),
 * -EINVAL (an offer without valid SPIs and ports), -ENOTSUP (no offer we support), with the
 * reason in @why.
 */
int pcscf_secagree_choose(const sip_security_client_t *sc, struct pcscf_sec_offer *out,
                          char *why, size_t len);
/* The Security-Server value for the chosen offer with our SPIs and protected ports.
 * 0 or -ENOSPC */
int pcscf_secagree_server(const struct pcscf_sec_offer *chosen, uint32_t spi_pc,
                          uint32_t spi_ps, uint16_t port_pc, uint16_t port_ps, char *buf,
                          size_t len);
/* Security-Server of a 494: every combination this P-CSCF supports */
const char *pcscf_secagree_supported(void);
/* Does Security-Verify repeat the Security-Server @server we sent (same mechanisms, same
 * parameters)? (RFC 3329 2.3.1) */
bool pcscf_secagree_verify_ok(const sip_security_verify_t *sv, const char *server);
/* sec-agree out of Require and Proxy-Require, Security-Client and Security-Verify removed:
 * they are for the P-CSCF only (TS 24.229 5.2.2.1) */
void pcscf_secagree_strip(msg_t *msg, sip_t *sip);
const char *pcscf_secagree_alg_name(enum pcscf_ipsec_auth a);
const char *pcscf_secagree_ealg_name(enum pcscf_ipsec_enc e);

/* ---- sas.c: the IPsec SAs of the UEs (TS 33.203 7.1, 7.4) ---- */

#define PCSCF_SAS_AWAIT_AUTH 240u   /* lifetime (s) of a set before its REGISTER is accepted:
                                     * reg-await-auth, TS 24.229 table 7.7.1 */
#define PCSCF_SAS_GRACE 30          /* a confirmed set lives for the registration + this */
#define PCSCF_SAS_SPI_MIN 0x10000u  /* the SPIs of ours (both inbound SAs of each set) */
#define PCSCF_SAS_SPI_MAX 0x7fffffffu

/* How SAs are installed and removed: the kernel (pcscf_ipsec_sa_add/_remove) in the daemon,
 * a recorder in the unit tests. Each returns 0 or -errno. */
struct pcscf_sa_ops {
    int (*add)(void *arg, const struct pcscf_xfrm_sa *sa, bool in);
    int (*remove)(void *arg, const struct pcscf_xfrm_sa *sa, bool in);
    void *arg;
};

/* The SAs of one UE (the four of sas.c's table) */
struct pcscf_saset {
    struct pcscf_saset *next;
    int family;
    uint8_t ue[16];              /* the UE's address, network order */
    char ue_ip[48];
    struct pcscf_sec_offer offer;   /* the UE's algorithms, SPIs (spi_uc, spi_us), ports */
    uint32_t spi_pc, spi_ps;     /* ours */
    uint8_t ck[16], ik[16];      /* of the AKA vector of its 401 */
    char server[256];            /* the Security-Server sent */
    time_t expires;              /* monotonic seconds */
    bool confirmed;              /* a REGISTER over it was accepted */
    unsigned installed;          /* bit i: SA i is in the kernel */
    int nbindings;               /* bindings registered over it */
    uint16_t replaces_port_uc;   /* started by a REGISTER over the UE's set with this
                                  * port_uc (re-registration): its binding goes at the 200 */
    bool doomed;                 /* to be removed at the next pcscf_sas_flush() */
};

struct pcscf_sas;
/* The store for the P-CSCF at @address (numeric) with protected client port @port_pc and
 * server port @port_ps, at most @max sets. NULL on a bad argument or no memory. */
struct pcscf_sas *pcscf_sas_create(const struct pcscf_sa_ops *ops, const char *address,
                                   uint16_t port_pc, uint16_t port_ps, size_t max);
/* Removes every SA still installed */
void pcscf_sas_destroy(struct pcscf_sas *s);
size_t pcscf_sas_count(const struct pcscf_sas *s);
uint16_t pcscf_sas_port_pc(const struct pcscf_sas *s);
uint16_t pcscf_sas_port_ps(const struct pcscf_sas *s);
/*
 * pcscf_sas_start - a temporary set for the UE at @ue_ip that chose @offer, keyed by the
 * @ck and @ik of its challenge: two SPIs of ours allocated, the Security-Server made, the four
 * SAs installed with lifetime PCSCF_SAS_AWAIT_AUTH (SAs of older sets with the same
 * selectors removed first). *@out is the set. 0, -ENOSPC (store full, no SPI left),
 * -EAFNOSUPPORT (not the P-CSCF's address family), or the ops' error (nothing left
 * installed).
 */
int pcscf_sas_start(struct pcscf_sas *s, const char *ue_ip, const struct pcscf_sec_offer *offer,
                    const uint8_t ck[16], const uint8_t ik[16], time_t now,
                    struct pcscf_saset **out);
/* The live set whose UE is @ue_ip with protected client port @port_uc, or NULL */
struct pcscf_saset *pcscf_sas_find(struct pcscf_sas *s, const char *ue_ip, unsigned port_uc);
/* The same for a flow (NULL for TLS, or when @s is NULL) */
struct pcscf_saset *pcscf_sas_of_flow(struct pcscf_sas *s, const struct ims_sip_source *src);
/* A REGISTER over @set was accepted until @reg_expires (monotonic): its SAs installed again
 * with lifetime registration + PCSCF_SAS_GRACE. 0 or the ops' error. */
int pcscf_sas_confirm(struct pcscf_sas *s, struct pcscf_saset *set, time_t now,
                      time_t reg_expires);
/* A binding holds @set / lets it go (the last one marks it for removal) */
void pcscf_sas_attach(struct pcscf_saset *set);
void pcscf_sas_detach(struct pcscf_saset *set);
/* Remove the SAs of the sets marked for removal (after the 200 of a de-REGISTER has left).
 * Returns how many sets went. */
int pcscf_sas_flush(struct pcscf_sas *s);
/* Mark the sets whose lifetime is over at @now (or that have no SA left), then flush; a set
 * a binding still holds only loses its SAs. Returns how many went. */
int pcscf_sas_expire(struct pcscf_sas *s, time_t now);
/* The CK and IK of the first WWW-Authenticate with both (ck="<32 hex>", ik=...). 0 or
 * -ENOENT */
int pcscf_auth_keys(const sip_t *resp, uint8_t ck[16], uint8_t ik[16]);
/*
 * pcscf_sas_challenge - the 401 @resp to a REGISTER from @ue_ip that chose @offer: its
 * CK/IK read, a set started (pcscf_sas_start) and its Security-Server added to @resp. 0,
 * -ENOENT (no ck/ik in the 401), or the error of pcscf_sas_start.
 */
int pcscf_sas_challenge(struct pcscf_sas *s, const char *ue_ip,
                        const struct pcscf_sec_offer *offer, msg_t *msg, sip_t *resp,
                        time_t now, struct pcscf_saset **out);
/*
 * pcscf_sas_arrival - may a request from @src (not trusted) be taken, given the port of
 * ours it arrived on? On the protected ports: only from a UE address and port_uc that has a
 * set (else it did not come over an SA), and requests only on the server port; a flow whose
 * set is confirmed sends its requests (other than REGISTER, which may start again
 * unprotected) over the SAs only. Returns 0 (*@set: the set it came over, NULL when it came
 * unprotected) or 403 with @why.
 */
int pcscf_sas_arrival(struct pcscf_sas *s, const struct ims_sip_source *src, bool is_register,
                      struct pcscf_saset **set, char *why, size_t len);
/* A REGISTER that came over @set: its Security-Verify must repeat the set's Security-Server
 * (RFC 3329 2.3.1). 0, or 494 with @why. */
int pcscf_sas_verify(const struct pcscf_saset *set, const sip_t *req, char *why, size_t len);
/* A REGISTER from @src: pcscf_sas_arrival(), then pcscf_sas_verify() when it came over a
 * set (*@set); one with Security-Verify that did not come over a set is refused 403 (the
 * protected REGISTER replayed around the SAs). 0 or the status, with @why. */
int pcscf_sas_check_register(struct pcscf_sas *s, const struct ims_sip_source *src,
                             const sip_t *req, struct pcscf_saset **set, char *why, size_t len);
const char *pcscf_sas_server(const struct pcscf_saset *set);

/* ---- charging.c: offline charging (Rf) ---- */
int pcscf_charging_init(struct pcscf *p);
/* Stops Diameter too (the Rf client goes after it) */
void pcscf_charging_stop(struct pcscf *p);
void pcscf_charging_tick(struct pcscf *p);
/* A final response to @req passed (towards the UE when @to_ue is false): START, EVENT;
 * @pcv: the request's P-Charging-Vector when it was removed (towards a UE), or NULL */
void pcscf_charging_response(struct pcscf *p, const sip_t *req, const sip_t *resp, bool to_ue,
                             time_t t0, const char *pcv);
/* A request inside a dialog: BYE ends its charged dialogs */
void pcscf_charging_in_dialog(struct pcscf *p, const sip_t *req);

#endif
