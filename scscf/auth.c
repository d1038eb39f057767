/*
 * auth.c - challenges of the S-CSCF and their verification (TS 24.229 5.4.1.2, TS 33.203,
 * RFC 2617, RFC 3310, RFC 4169)
 *
 * A challenge is stored by its nonce with the vector it came from, bound to the private
 * identity (Authorization username) and the public identity (To) of the REGISTER it
 * answers, valid scscf.nonce_ttl seconds and used once. An answer is accepted only when it
 * names that IMPI and that IMPU, our realm, the qop offered (qop=auth with nc and cnonce:
 * an answer without qop would be a downgrade to RFC 2069 and is refused) and, as digest
 * uri, the Request-URI of the REGISTER (RFC 2617 3.2.2.5).
 *
 * Bounds: scscf.max_challenges pending in all, scscf.max_challenges_per_impi per IMPI
 * (scscf_auth_room, asked before the MAR). Failed answers are counted per IMPI over
 * scscf.auth_failure_window seconds; registrar.c decides what they cost. The records per
 * IMPI (pending challenges, recent failures) are at most twice scscf.max_challenges.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "digest.h"
#include "log.h"
#include "milenage.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/auth_digest.h>
#include <sofia-sip/su_alloc.h>

/* What the S-CSCF keeps per private identity (auth_impis) */
struct impi_state {
    unsigned pending;                 /* challenges stored for it */
    unsigned failures;                /* failed answers since @since */
    time_t since;                     /* start of the failure window */
};

/* SIP-Authentication-Scheme of each enum scscf_scheme (TS 29.229 6.3.9 and the bodies of
 * README.md: Authentication schemes) */
static const char *const scheme_names[SCSCF_SCHEME_COUNT] = {
    [SCSCF_DIGEST] = "SIP Digest",
    [SCSCF_AKAV1] = "Digest-AKAv1-MD5",
    [SCSCF_AKAV2] = "Digest-AKAv2-MD5",
    [SCSCF_DIGEST_TISPAN] = "HTTP_DIGEST_MD5",
    [SCSCF_DIGEST_PACKETCABLE] = "Digest",
    [SCSCF_DIGEST_MD5] = "Digest-MD5",
    [SCSCF_EARLY_IMS] = "Early-IMS-Security",
    [SCSCF_NASS_BUNDLED] = "NASS-Bundled",
};

const char *scscf_scheme_name(enum scscf_scheme s)
{
    return (unsigned)s < SCSCF_SCHEME_COUNT ? scheme_names[s] : "Unknown";
}

enum scscf_scheme scscf_scheme_of(const char *name)
{
    for (int i = 0; name && i < SCSCF_SCHEME_COUNT; i++)
        if (strcasecmp(name, scheme_names[i]) == 0)
            return (enum scscf_scheme)i;
    return SCSCF_SCHEME_COUNT;
}

/* The algorithm of the challenge: MD5 for every Digest scheme (the UE cannot tell them
 * apart), AKAv1-MD5 and AKAv2-MD5 (RFC 3310, RFC 4169) */
static const char *algorithm_of(enum scscf_scheme s)
{
    return s == SCSCF_AKAV1 ? "AKAv1-MD5" : s == SCSCF_AKAV2 ? "AKAv2-MD5" : "MD5";
}

int scscf_auth_init(struct scscf *s)
{
    s->challenges = ims_map_create(false);
    s->auth_impis = ims_map_create(true);
    return s->challenges && s->auth_impis ? 0 : -ENOMEM;
}

size_t scscf_auth_pending(const struct scscf *s)
{
    return s->challenges ? ims_map_size(s->challenges) : 0;
}

/* ---- per IMPI ---- */

/* The record of @impi; created when @create and there is room (NULL: none, or no room) */
static struct impi_state *impi_get(struct scscf *s, const char *impi, bool create)
{
    struct impi_state *st = ims_map_get(s->auth_impis, impi);
    if (st || !create || ims_map_size(s->auth_impis) >= 2 * (size_t)s->max_challenges)
        return st;
    st = calloc(1, sizeof(*st));
    int err = 0;
    if (st)
        ims_map_put(s->auth_impis, impi, st, &err);
    if (st && err) {
        free(st);
        st = NULL;
    }
    return st;
}

/* Forget @impi's record when it holds nothing any more */
static void impi_tidy(struct scscf *s, const char *impi, struct impi_state *st)
{
    if (st && st->pending == 0 && st->failures == 0) {
        ims_map_remove(s->auth_impis, impi);
        free(st);
    }
}

int scscf_auth_room(struct scscf *s, const char *impi)
{
    if (ims_map_size(s->challenges) >= s->max_challenges)
        return -ENOSPC;
    struct impi_state *st = ims_map_get(s->auth_impis, impi);
    if (st && st->pending >= s->max_challenges_per_impi)
        return -EDQUOT;
    if (!st && ims_map_size(s->auth_impis) >= 2 * (size_t)s->max_challenges)
        return -ENOSPC;
    return 0;
}

int scscf_auth_failed(struct scscf *s, const char *impi, time_t now)
{
    struct impi_state *st = impi_get(s, impi, true);
    if (!st)
        return -ENOSPC;
    if (st->failures && st->since + (time_t)s->auth_failure_window <= now)
        st->failures = 0;             /* the last window is over: a new one */
    if (!st->failures)
        st->since = now;
    st->failures++;
    return (int)st->failures;
}

bool scscf_auth_locked(struct scscf *s, const char *impi, time_t now, unsigned *left)
{
    const struct impi_state *st = ims_map_get(s->auth_impis, impi);
    time_t end = st ? st->since + (time_t)s->auth_failure_window : 0;
    if (!st || st->failures < s->max_auth_failures || end <= now)
        return false;
    *left = (unsigned)(end - now);
    return true;
}

void scscf_auth_succeeded(struct scscf *s, const char *impi)
{
    struct impi_state *st = ims_map_get(s->auth_impis, impi);
    if (st) {
        st->failures = 0;
        impi_tidy(s, impi, st);
    }
}

/* ---- challenges ---- */

static void drop(struct scscf *s, struct scscf_challenge *c)
{
    struct impi_state *st = ims_map_get(s->auth_impis, c->impi);
    if (st && st->pending)
        st->pending--;
    impi_tidy(s, c->impi, st);
    ims_map_remove(s->challenges, c->nonce);
    free(c);
}

/* A fresh nonce for @v into @c->nonce: the HSS's when it made one (TISPAN, Digest-MD5),
 * random for Digest, base64(RAND|AUTN) for AKA */
static int make_nonce(const struct scscf_vector *v, struct scscf_challenge *c)
{
    if (v->nonce[0]) {
        snprintf(c->nonce, sizeof(c->nonce), "%s", v->nonce);
        return 0;
    }
    if (scscf_scheme_is_digest(v->scheme)) {
        uint8_t r[16];
        if (ims_aka_random(r) != 0)
            return -EIO;
        ims_hex_encode(r, 16, c->nonce);
        return 0;
    }
    uint8_t both[32];
    memcpy(both, v->rand, 16);
    memcpy(both + 16, v->autn, 16);
    ims_base64_encode(both, 32, c->nonce, sizeof(c->nonce));
    return 0;
}

static void www_authenticate(const struct scscf *s, const struct scscf_challenge *c, char *hdr,
                             size_t len)
{
    const struct scscf_vector *v = &c->v;
    if (scscf_scheme_is_digest(v->scheme)) {
        snprintf(hdr, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"%s\", algorithm=MD5",
                 s->realm, c->nonce, c->qop);
        return;
    }
    /* ck and ik are for the P-CSCF (TS 24.229 5.4.1.2.1), which removes them */
    char ck[33], ik[33];
    ims_hex_encode(v->ck, 16, ck);
    ims_hex_encode(v->ik, 16, ik);
    snprintf(hdr, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"%s\", algorithm=%s, "
             "ck=\"%s\", ik=\"%s\"", s->realm, c->nonce, c->qop, algorithm_of(v->scheme), ck,
             ik);
}

int scscf_auth_challenge(struct scscf *s, const char *impi, const char *impu,
                         const struct scscf_vector *v, char *hdr, size_t len)
{
    int rc = scscf_auth_room(s, impi);
    if (rc)
        return rc;
    struct scscf_challenge *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    rc = make_nonce(v, c);
    if (rc)
        goto out_free;
    snprintf(c->impi, sizeof(c->impi), "%s", impi);
    snprintf(c->impu, sizeof(c->impu), "%s", impu);
    snprintf(c->qop, sizeof(c->qop), "auth");
    c->expires = time(NULL) + (time_t)s->nonce_ttl;
    c->v = *v;
    struct scscf_challenge *old = ims_map_get(s->challenges, c->nonce);
    if (old)
        drop(s, old);                 /* the same vector again: the newest binding wins */
    struct impi_state *st = impi_get(s, impi, true);
    rc = -ENOMEM;
    if (!st)
        goto out_free;
    ims_map_put(s->challenges, c->nonce, c, &rc);
    if (rc) {
        impi_tidy(s, impi, st);
        goto out_free;
    }
    st->pending++;
    www_authenticate(s, c, hdr, len);
    return 0;
out_free:
    free(c);
    return rc;
}

void scscf_auth_expected(const struct scscf_vector *v, const char *user, const char *realm,
                         const char *nonce, const char *nc, const char *cnonce,
                         const char *qop, const char *method, const char *uri,
                         char out[33])
{
    char ha1[IMS_MD5_HEX];
    if (scscf_scheme_is_digest(v->scheme)) {
        snprintf(ha1, sizeof(ha1), "%s", v->ha1);
    } else if (v->scheme == SCSCF_AKAV1) {
        ims_digest_ha1(user, realm, v->xres, v->xres_len, ha1);   /* RFC 3310: RES */
    } else {
        char pw[64];
        ims_aka_v2_password(v->xres, v->xres_len, v->ik, v->ck, pw, sizeof(pw));
        ims_digest_ha1(user, realm, (const uint8_t *)pw, strlen(pw), ha1);
    }
    ims_digest_response(ha1, nonce, nc ? nc : "", cnonce ? cnonce : "", qop, method, uri,
                        NULL, 0, out);
}

/* ---- answers ---- */

/* Parameter @name of one Authorization header, unquoted; 0 or -ENOENT */
static int param_of(const sip_authorization_t *au, const char *name, char *buf, size_t len)
{
    char key[64];
    snprintf(key, sizeof(key), "%s=", name);
    const char *v = msg_params_find(au->au_params, key);
    if (!v)
        return -ENOENT;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    snprintf(buf, len, "%.*s", (int)n, v);
    return 0;
}

/* The Authorization meant for @realm (a UE may send one per realm), else the first */
static const sip_authorization_t *answer_of(const sip_t *sip, const char *realm)
{
    for (const sip_authorization_t *au = sip->sip_authorization; au; au = au->au_next) {
        char r[SCSCF_ID_MAX];
        if (param_of(au, "realm", r, sizeof(r)) == 0 && strcmp(r, realm) == 0)
            return au;
    }
    return sip->sip_authorization;
}

/* The digest uri designates the Request-URI (compared as SIP URIs, RFC 3261 19.1.4) */
static bool uri_is_request(const sip_t *sip, const char *uri)
{
    if (!uri || !sip->sip_request)
        return false;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = url_make(home, uri);
    bool same = u && u->url_type == sip->sip_request->rq_url->url_type &&
                url_cmp(u, sip->sip_request->rq_url) == 0;
    su_home_deinit(home);
    return same;
}

/* The checks of scscf_auth_verify on a parsed answer @ar */
static enum scscf_auth_result judge(const struct scscf_challenge *c, const char *realm,
                                    const sip_t *sip, const char *impu,
                                    const auth_response_t *ar, const char **why)
{
    if (!ar->ar_response || !*ar->ar_response) {
        *why = "credentials without a response";
        return SCSCF_AUTH_NONE;
    }
    *why = "the answer does not fit its challenge";
    if (!ar->ar_username || strcasecmp(ar->ar_username, c->impi) != 0) {
        *why = "the nonce was issued for another private identity";
        return SCSCF_AUTH_MISMATCH;
    }
    if (!impu || strcasecmp(c->impu, impu) != 0) {
        *why = "the nonce was issued for another public identity";
        return SCSCF_AUTH_MISMATCH;
    }
    if (!ar->ar_realm || strcmp(ar->ar_realm, realm) != 0) {
        *why = "the credentials are not for the realm of this S-CSCF";
        return SCSCF_AUTH_MISMATCH;
    }
    if (c->qop[0] && (!ar->ar_qop || strcasecmp(ar->ar_qop, c->qop) != 0 || !ar->ar_nc ||
                      !ar->ar_cnonce)) {
        *why = "qop=auth was offered: an answer without it (or without nc and cnonce) is "
               "refused";
        return SCSCF_AUTH_MISMATCH;
    }
    if (!uri_is_request(sip, ar->ar_uri)) {
        *why = "the digest uri is not the Request-URI";
        return SCSCF_AUTH_BAD_URI;
    }
    char expected[33], response[64];
    scscf_auth_expected(&c->v, ar->ar_username, realm, c->nonce, ar->ar_nc, ar->ar_cnonce,
                        c->qop[0] ? ar->ar_qop : NULL, sip->sip_request->rq_method_name,
                        ar->ar_uri, expected);
    snprintf(response, sizeof(response), "%s", ar->ar_response);
    if (!ims_digest_equal(expected, response)) {
        *why = "authentication failed: wrong credentials";
        return SCSCF_AUTH_FAILED;
    }
    *why = "authenticated";
    return SCSCF_AUTH_OK;
}

enum scscf_auth_result scscf_auth_verify(const struct scscf_challenge *c, const char *realm,
                                         const sip_t *sip, const char *impu,
                                         const char **why)
{
    const sip_authorization_t *au = answer_of(sip, realm);
    if (!au || !sip->sip_request) {
        *why = "no credentials";
        return SCSCF_AUTH_NONE;
    }
    su_home_t home[1] = { SU_HOME_INIT(home) };
    auth_response_t ar[1];
    memset(ar, 0, sizeof(ar));
    ar->ar_size = (int)sizeof(ar[0]);
    auth_digest_response_get(home, ar, au->au_params);
    enum scscf_auth_result r = judge(c, realm, sip, impu, ar, why);
    su_home_deinit(home);
    return r;
}

/* An AKA answer with auts (RFC 3310 3.4): RAND | AUTS into @resync; the challenge goes */
static enum scscf_auth_result resync_of(struct scscf *s, struct scscf_challenge *c,
                                        const char *auts, uint8_t resync[30], const char **why)
{
    uint8_t a[32];
    int n = ims_base64_decode(auts, a, sizeof(a));
    bool ok = n == 14;
    memcpy(resync, c->v.rand, 16);
    if (ok)
        memcpy(resync + 16, a, 14);
    *why = ok ? "re-synchronisation" : "auts is not 14 bytes of base64";
    drop(s, c);
    return ok ? SCSCF_AUTH_RESYNC : SCSCF_AUTH_FAILED;
}

enum scscf_auth_result scscf_auth_check(struct scscf *s, const sip_t *sip, const char *impi,
                                        const char *impu, uint8_t resync[30],
                                        const char **why)
{
    const sip_authorization_t *au = answer_of(sip, s->realm);
    char nonce[128], auts[64];
    *why = "no credentials";
    if (!au || param_of(au, "nonce", nonce, sizeof(nonce)) != 0 || !nonce[0])
        return SCSCF_AUTH_NONE;
    struct scscf_challenge *c = ims_map_get(s->challenges, nonce);
    if (!c || c->expires < time(NULL)) {
        if (c)
            drop(s, c);
        *why = "unknown or expired nonce";
        return SCSCF_AUTH_STALE;
    }
    if (strcasecmp(c->impi, impi) != 0) {
        *why = "the nonce was issued for another private identity";
        return SCSCF_AUTH_MISMATCH;   /* not this IMPI's to use up: it stays for its owner */
    }
    if (!scscf_scheme_is_digest(c->v.scheme) && param_of(au, "auts", auts, sizeof(auts)) == 0 &&
        auts[0])
        return resync_of(s, c, auts, resync, why);
    enum scscf_auth_result r = scscf_auth_verify(c, s->realm, sip, impu, why);
    if (r != SCSCF_AUTH_NONE)
        drop(s, c);                   /* used once, whatever the verdict */
    return r;
}

bool scscf_auth_would_pass(struct scscf *s, const sip_t *sip, const char *impi,
                           const char *impu)
{
    const sip_authorization_t *au = answer_of(sip, s->realm);
    char nonce[128], auts[64];
    const char *why;
    if (!au || param_of(au, "nonce", nonce, sizeof(nonce)) != 0 || !nonce[0])
        return false;
    const struct scscf_challenge *c = ims_map_get(s->challenges, nonce);
    if (!c || c->expires < time(NULL) || strcasecmp(c->impi, impi) != 0)
        return false;
    if (!scscf_scheme_is_digest(c->v.scheme) && param_of(au, "auts", auts, sizeof(auts)) == 0 &&
        auts[0])
        return false;
    return scscf_auth_verify(c, s->realm, sip, impu, &why) == SCSCF_AUTH_OK;
}

bool scscf_auth_wants_challenge(struct scscf *s, const sip_t *sip)
{
    const sip_authorization_t *au = answer_of(sip, s->realm);
    char nonce[128];
    if (!au || param_of(au, "nonce", nonce, sizeof(nonce)) != 0 || !nonce[0])
        return true;
    return ims_map_get(s->challenges, nonce) == NULL;
}

/* ---- expiry and the end ---- */

static void expire_challenge(void *arg, const char *key, void *value)
{
    void **a = arg;
    struct scscf *s = a[0];
    time_t now = *(time_t *)a[1];
    struct scscf_challenge *c = value;
    (void)key;
    if (c->expires < now)
        drop(s, c);
}

static void expire_failures(void *arg, const char *key, void *value)
{
    void **a = arg;
    struct scscf *s = a[0];
    time_t now = *(time_t *)a[1];
    struct impi_state *st = value;
    if (st->failures && st->since + (time_t)s->auth_failure_window <= now)
        st->failures = 0;
    impi_tidy(s, key, st);
}

void scscf_auth_expire(struct scscf *s, time_t now)
{
    void *arg[2] = { s, &now };
    ims_map_foreach(s->challenges, expire_challenge, arg);
    ims_map_foreach(s->auth_impis, expire_failures, arg);
}

static void free_one(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

void scscf_auth_fini(struct scscf *s)
{
    if (s->challenges) {
        ims_map_foreach(s->challenges, free_one, NULL);
        ims_map_destroy(s->challenges);
        s->challenges = NULL;
    }
    if (s->auth_impis) {
        ims_map_foreach(s->auth_impis, free_one, NULL);
        ims_map_destroy(s->auth_impis);
        s->auth_impis = NULL;
    }
}
