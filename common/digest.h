/*
 * digest.h - HTTP Digest (RFC 2617, MD5) as SIP uses it, AKAv1/AKAv2 passwords
 * (RFC 3310, RFC 4169) and base64, on OpenSSL
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIGEST_H
#define IMS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMS_MD5_HEX 33   /* 32 hex digits and NUL */

/* HA1 = MD5(user ":" realm ":" password); the password may be binary (AKAv1 uses RES). */
void ims_digest_ha1(const char *user, const char *realm, const uint8_t *pwd, size_t pwd_len,
                    char out[IMS_MD5_HEX]);

/*
 * ims_digest_response - the request-digest of RFC 2617 section 3.2.2.1.
 * @qop: NULL (RFC 2069 form), "auth" or "auth-int" (@body, @body_len hashed into HA2).
 */
void ims_digest_response(const char *ha1, const char *nonce, const char *nc,
                         const char *cnonce, const char *qop, const char *method,
                         const char *uri, const uint8_t *body, size_t body_len,
                         char out[IMS_MD5_HEX]);

/* Constant-time comparison of two hex digests (case-insensitive) */
bool ims_digest_equal(const char *a, const char *b);

/* AKAv2-MD5 password: base64(HMAC-MD5(RES || IK || CK, "http-digest-akav2-password")) */
int ims_aka_v2_password(const uint8_t *res, size_t res_len, const uint8_t ik[16],
                        const uint8_t ck[16], char *out, size_t out_len);

/*
 * ims_hmac_tag - a short HMAC-SHA-256 tag of @data under @key, as @taglen bytes (at most 32)
 * in lower-case hex into @out (room for 2 * @taglen + 1): the tokens a node issues and
 * verifies itself. 0, or -EINVAL.
 */
int ims_hmac_tag(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 size_t taglen, char *out);

/* Constant-time equality of two strings of the same length (false when lengths differ) */
bool ims_token_equal(const char *a, const char *b);

/* base64 (RFC 4648, with padding). Encode returns the length written or -ENOSPC;
 * decode returns the number of bytes or -EINVAL. */
int ims_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_len);
int ims_base64_decode(const char *in, uint8_t *out, size_t out_len);

#endif
