/*
 * digest.c - Digest MD5, AKAv2 password and base64 on OpenSSL
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "digest.h"
#include "milenage.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* MD5 over parts joined by ':' -> lower-case hex */
static void md5_join(const void *const *parts, const size_t *lens, int n, char out[IMS_MD5_HEX])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        out[0] = '\0';
        return;
    }
    for (int i = 0; i < n; i++) {
        if (i)
            EVP_DigestUpdate(ctx, ":", 1);
        EVP_DigestUpdate(ctx, parts[i], lens[i]);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    ims_hex_encode(md, mdlen, out);
}

void ims_digest_ha1(const char *user, const char *realm, const uint8_t *pwd, size_t pwd_len,
                    char out[IMS_MD5_HEX])
{
    const void *parts[] = { user, realm, pwd };
    size_t lens[] = { strlen(user), strlen(realm), pwd_len };
    md5_join(parts, lens, 3, out);
}

void ims_digest_response(const char *ha1, const char *nonce, const char *nc,
                         const char *cnonce, const char *qop, const char *method,
                         const char *uri, const uint8_t *body, size_t body_len,
                         char out[IMS_MD5_HEX])
{
    char ha2[IMS_MD5_HEX], hbody[IMS_MD5_HEX];
    bool auth_int = qop && strcasecmp(qop, "auth-int") == 0;
    if (auth_int) {
        const void *bp[] = { body ? (const void *)body : "" };
        size_t bl[] = { body ? body_len : 0 };
        md5_join(bp, bl, 1, hbody);
        const void *p2[] = { method, uri, hbody };
        size_t l2[] = { strlen(method), strlen(uri), strlen(hbody) };
        md5_join(p2, l2, 3, ha2);
    } else {
        const void *p2[] = { method, uri };
        size_t l2[] = { strlen(method), strlen(uri) };
        md5_join(p2, l2, 2, ha2);
    }
    if (qop && *qop) {
        const void *p[] = { ha1, nonce, nc, cnonce, qop, ha2 };
        size_t l[] = { strlen(ha1), strlen(nonce), strlen(nc), strlen(cnonce), strlen(qop),
                       strlen(ha2) };
        md5_join(p, l, 6, out);
    } else {
        const void *p[] = { ha1, nonce, ha2 };
        size_t l[] = { strlen(ha1), strlen(nonce), strlen(ha2) };
        md5_join(p, l, 3, out);
    }
}

bool ims_digest_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned)(tolower((unsigned char)a[i]) ^ tolower((unsigned char)b[i]));
    return diff == 0 && la > 0;
}

int ims_aka_v2_password(const uint8_t *res, size_t res_len, const uint8_t ik[16],
                        const uint8_t ck[16], char *out, size_t out_len)
{
    static const char label[] = "http-digest-akav2-password";
    uint8_t key[16 + 16 + 16], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (res_len > 16)
        return -EINVAL;
    memcpy(key, res, res_len);
    memcpy(key + res_len, ik, 16);
    memcpy(key + res_len + 16, ck, 16);
    if (!HMAC(EVP_md5(), key, (int)(res_len + 32), (const uint8_t *)label, strlen(label), md,
              &mdlen))
        return -EIO;
    int n = ims_base64_encode(md, mdlen, out, out_len);
    return n < 0 ? n : 0;
}

int ims_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_len)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (out_len < need)
        return -ENOSPC;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int ims_base64_decode(const char *in, uint8_t *out, size_t out_len)
{
    size_t len = strlen(in);
    if (len % 4 || (len / 4) * 3 > out_len + 2)
        return -EINVAL;
    uint8_t tmp[1024];
    if ((len / 4) * 3 > sizeof(tmp))
        return -EINVAL;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -EINVAL;
    /* EVP_DecodeBlock keeps the padding bytes as zeros: drop them */
    if (len >= 1 && in[len - 1] == '=')
        n--;
    if (len >= 2 && in[len - 2] == '=')
        n--;
    if ((size_t)n > out_len)
        return -EINVAL;
    memcpy(out, tmp, (size_t)n);
    return n;
}

int ims_hmac_tag(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 size_t taglen, char *out)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (taglen == 0 || taglen > 32 ||
        !HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &mdlen) || mdlen < taglen)
        return -EINVAL;
    ims_hex_encode(md, taglen, out);
    return 0;
}

bool ims_token_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}
