/*
 * auth.c - challenges of the S-CSCF and their verification (TS 24.229 5.4.1.2, TS 33.203,
 * RFC 2617, RFC 3310, RFC 4169)
 *
 * A challenge is stored by its nonce with the vector it came from, bound to the private
 * identity and the Call-ID of the REGISTER, valid scscf.nonce_ttl seconds and used once.
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

struct scscf_challenge {
    char nonce[96];
    char impi[SCSCF_ID_MAX];
    char impu[SCSCF_ID_MAX];
    char call_id[128];
    time_t expires;
    struct scscf_vector v;
};

const char *scscf_scheme_name(enum scscf_scheme s)
{
    static const char *const names[] = { "SIP Digest", "Digest-AKAv1-MD5", "Digest-AKAv2-MD5" };
    return (unsigned)s < 3 ? names[s] : "Unknown";
}

static const char *algorithm_of(enum scscf_scheme s)
{
    static const char *const names[] = { "MD5", "AKAv1-MD5", "AKAv2-MD5" };
    return names[s];
}

int scscf_auth_challenge(struct scscf *s, const char *impi, const char *impu,
                         const char *call_id, const struct scscf_vector *v, char *hdr,
                         size_t len)
{
    struct scscf_challenge *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (v->scheme == SCSCF_DIGEST) {
        uint8_t r[16];
        if (ims_aka_random(r) != 0) {
            free(c);
            return -EIO;
        }
        ims_hex_encode(r, 16, c->nonce);
    } else {
        uint8_t both[32];
        memcpy(both, v->rand, 16);
        memcpy(both + 16, v->autn, 16);
        ims_base64_encode(both, 32, c->nonce, sizeof(c->nonce));
    }
    snprintf(c->impi, sizeof(c->impi), "%s", impi);
    snprintf(c->impu, sizeof(c->impu), "%s", impu);
    snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
    c->expires = time(NULL) + (time_t)s->nonce_ttl;
    c->v = *v;
    int err;
    struct scscf_challenge *old = ims_map_put(s->challenges, c->nonce, c, &err);
    free(old);
    if (err) {
        free(c);
        return err;
    }
    if (v->scheme == SCSCF_DIGEST) {
        snprintf(hdr, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=MD5",
                 s->realm, c->nonce);
    } else {
        /* ck and ik are for the P-CSCF (TS 24.229 5.4.1.2.1), which removes them */
        char ck[33], ik[33];
        ims_hex_encode(v->ck, 16, ck);
        ims_hex_encode(v->ik, 16, ik);
        snprintf(hdr, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=%s, "
                 "ck=\"%s\", ik=\"%s\"", s->realm, c->nonce, algorithm_of(v->scheme), ck, ik);
    }
    return 0;
}

void scscf_auth_expected(const struct scscf_vector *v, const char *user, const char *realm,
                         const char *nonce, const char *nc, const char *cnonce,
                         const char *qop, const char *method, const char *uri,
                         char out[33])
{
    char ha1[IMS_MD5_HEX];
    if (v->scheme == SCSCF_DIGEST) {
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

static void drop(struct scscf *s, struct scscf_challenge *c)
{
    ims_map_remove(s->challenges, c->nonce);
    free(c);
}

enum scscf_auth_result scscf_auth_check(struct scscf *s, const sip_t *sip, const char *impi,
                                        uint8_t resync[30])
{
    char nonce[128], response[64], auts[64];
    if (!sip->sip_authorization || ims_sip_auth_param(sip, "nonce", nonce, sizeof(nonce)) ||
        !nonce[0])
        return SCSCF_AUTH_NONE;
    struct scscf_challenge *c = ims_map_get(s->challenges, nonce);
    if (!c || c->expires < time(NULL) || strcasecmp(c->impi, impi) != 0) {
        if (c && c->expires < time(NULL))
            drop(s, c);
        return SCSCF_AUTH_STALE;
    }
    const char *call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "";
    if (strcmp(c->call_id, call_id) != 0)
        return SCSCF_AUTH_STALE;      /* a nonce of another registration: new challenge */
    if (c->v.scheme != SCSCF_DIGEST && ims_sip_auth_param(sip, "auts", auts, sizeof(auts)) == 0
        && auts[0]) {
        uint8_t a[32];
        int n = ims_base64_decode(auts, a, sizeof(a));
        memcpy(resync, c->v.rand, 16);
        bool ok = n == 14;
        if (ok)
            memcpy(resync + 16, a, 14);
        drop(s, c);
        return ok ? SCSCF_AUTH_RESYNC : SCSCF_AUTH_FAILED;
    }
    if (ims_sip_auth_param(sip, "response", response, sizeof(response)) != 0 || !response[0])
        return SCSCF_AUTH_NONE;       /* credentials without an answer: challenge */

    su_home_t home[1] = { SU_HOME_INIT(home) };
    auth_response_t ar[1];
    memset(ar, 0, sizeof(ar));
    ar->ar_size = (int)sizeof(ar[0]);
    auth_digest_response_get(home, ar, sip->sip_authorization->au_params);
    char expected[33];
    const char *qop = ar->ar_qop ? ar->ar_qop : NULL;
    scscf_auth_expected(&c->v, ar->ar_username ? ar->ar_username : impi,
                        ar->ar_realm ? ar->ar_realm : s->realm, nonce, ar->ar_nc, ar->ar_cnonce,
                        qop, sip->sip_request->rq_method_name, ar->ar_uri ? ar->ar_uri : "",
                        expected);
    bool ok = ims_digest_equal(expected, response);
    su_home_deinit(home);
    drop(s, c);
    return ok ? SCSCF_AUTH_OK : SCSCF_AUTH_FAILED;
}

static void expire_one(void *arg, const char *key, void *value)
{
    void **a = arg;
    struct scscf *s = a[0];
    time_t now = *(time_t *)a[1];
    struct scscf_challenge *c = value;
    if (c->expires < now) {
        ims_map_remove(s->challenges, key);
        free(c);
    }
}

void scscf_auth_expire(struct scscf *s, time_t now)
{
    void *arg[2] = { s, &now };
    ims_map_foreach(s->challenges, expire_one, arg);
}

static void free_one(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

void scscf_auth_fini(struct scscf *s)
{
    if (!s->challenges)
        return;
    ims_map_foreach(s->challenges, free_one, NULL);
    ims_map_destroy(s->challenges);
    s->challenges = NULL;
}
