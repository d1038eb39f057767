/*
 * token.c - what the IBCF hides, sealed under its own key: AES-256-GCM (OpenSSL EVP)
 *
 * A token is the kind letter, then base64url (RFC 4648 section 5, no padding) of
 * version (1) | nonce (12) | ciphertext | tag (16). The associated data binds the kind, the
 * peer network the token was given to and, for a dialog, its Call-ID: a token opens only
 * for the network and the dialog it was made for, and any change to it is detected. The
 * characters of base64url fit both a SIP URI's user part and a parameter value.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define OVERHEAD (1 + NONCE_LEN + TAG_LEN)
#define TOKEN_MAX 8192                  /* bytes sealed at most */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t ibcf_token_size(size_t plain_len)
{
    return 1 + ((plain_len + OVERHEAD) * 4 + 2) / 3 + 1;
}

/* base64url of @in into @out (room checked by the caller); returns the length */
static size_t encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int value_of(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* base64url @in into @out; the number of bytes, or -EINVAL (bad character or length, or
 * not the one encoding of its bytes) */
static int decode(const char *in, uint8_t *out, size_t max)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 == 1)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        size_t k;
        for (k = 0; k < 4 && i + k < n; k++) {
            int c = value_of(in[i + k]);
            if (c < 0)
                return -EINVAL;
            v |= (uint32_t)c << (18 - 6 * k);
        }
        size_t bytes = k - 1;                    /* 4 chars: 3 bytes, 3: 2, 2: 1 */
        if (o + bytes > max || (v & ((1u << (24 - 8 * bytes)) - 1)) != 0)
            return -EINVAL;                      /* ... and unused bits must be zero */
        for (size_t b = 0; b < bytes; b++)
            out[o++] = (uint8_t)(v >> (16 - 8 * b));
    }
    return (int)o;
}

/* The associated data: "ibcf-th|<kind>|<peer>|<call-id or empty>" */
static int aad_of(int kind, const char *peer, const char *call_id, char *out, size_t len)
{
    int n = snprintf(out, len, "ibcf-th|%c|%s|%s", kind, peer ? peer : "",
                     kind == IBCF_TOKEN_DIALOG && call_id ? call_id : "");
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* AES-256-GCM of @in (@len bytes) into @out, with @nonce and @aad; the tag into @tag */
static int gcm(bool seal, const uint8_t *key, const uint8_t *nonce, const char *aad,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c != NULL;
    ok = ok && (seal ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL)
                     : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL)) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && (seal ? EVP_EncryptInit_ex(c, NULL, NULL, key, nonce)
                     : EVP_DecryptInit_ex(c, NULL, NULL, key, nonce)) == 1;
    ok = ok && (seal ? EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad))
                     : EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)aad,
                                         (int)strlen(aad))) == 1;
    ok = ok && (len == 0 || (seal ? EVP_EncryptUpdate(c, out, &n, in, (int)len)
                                  : EVP_DecryptUpdate(c, out, &n, in, (int)len)) == 1);
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && (seal ? EVP_EncryptFinal_ex(c, out + len, &n)
                     : EVP_DecryptFinal_ex(c, out + len, &n)) == 1;
    if (ok && seal)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -EIO;
}

int ibcf_token_seal(const uint8_t key[IBCF_KEY_LEN], int kind, const char *peer,
                    const char *call_id, const char *plain, char *out, size_t len)
{
    uint8_t raw[OVERHEAD + TOKEN_MAX];
    char aad[512];
    size_t plen = strlen(plain);
    if (plen > TOKEN_MAX || len < ibcf_token_size(plen) ||
        aad_of(kind, peer, call_id, aad, sizeof(aad)) < 0)
        return -ENOSPC;
    raw[0] = VERSION;
    if (RAND_bytes(raw + 1, NONCE_LEN) != 1 ||
        gcm(true, key, raw + 1, aad, (const uint8_t *)plain, plen, raw + 1 + NONCE_LEN,
            raw + 1 + NONCE_LEN + plen) != 0)
        return -EIO;
    out[0] = (char)kind;
    return (int)(1 + encode(raw, OVERHEAD + plen, out + 1));
}

int ibcf_token_open(const uint8_t key[IBCF_KEY_LEN], const char *token, const char *peer,
                    const char *call_id, char *out, size_t len)
{
    uint8_t raw[OVERHEAD + TOKEN_MAX + 3];
    char aad[512];
    int kind = token ? (unsigned char)token[0] : 0;
    if (kind != IBCF_TOKEN_DIALOG && kind != IBCF_TOKEN_REGISTRATION)
        return -EINVAL;
    int n = decode(token + 1, raw, sizeof(raw));
    if (n < OVERHEAD || raw[0] != VERSION)
        return -EINVAL;
    size_t plen = (size_t)n - OVERHEAD;
    if (plen + 1 > len || aad_of(kind, peer, call_id, aad, sizeof(aad)) < 0)
        return -ENOSPC;
    uint8_t *ct = raw + 1 + NONCE_LEN;
    if (gcm(false, key, raw + 1, aad, ct, plen, (uint8_t *)out, ct + plen) != 0) {
        out[0] = '\0';
        return -EINVAL;
    }
    out[plen] = '\0';
    if (memchr(out, '\0', plen)) {        /* we never seal a NUL */
        out[0] = '\0';
        return -EINVAL;
    }
    return kind;
}
