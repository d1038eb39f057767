/*
 * milenage.c - MILENAGE f1..f5* and AKA vectors on OpenSSL AES-128
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "milenage.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* One AES-128 block: out = E_K(in) */
static int aes(const uint8_t k[16], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, rc = -EIO;
    if (!ctx)
        return -ENOMEM;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &len, in, 16) == 1 && len == 16)
        rc = 0;
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static void xor16(uint8_t out[16], const uint8_t a[16], const uint8_t b[16])
{
    for (int i = 0; i < 16; i++)
        out[i] = a[i] ^ b[i];
}

/* rot(x, r): rotate the 128-bit value left by r bits (r a multiple of 8 here) */
static void rot(uint8_t out[16], const uint8_t in[16], int r_bits)
{
    int r = r_bits / 8;
    for (int i = 0; i < 16; i++)
        out[i] = in[(i + r) % 16];
}

int ims_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
    uint8_t e[16];
    int rc = aes(k, op, e);
    if (rc == 0)
        xor16(opc, e, op);
    OPENSSL_cleanse(e, sizeof(e));
    return rc;
}

/* TEMP = E_K(RAND xor OPc) */
static int temp_of(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   uint8_t temp[16])
{
    uint8_t x[16];
    xor16(x, rand, opc);
    return aes(k, x, temp);
}

int ims_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8],
                    uint8_t mac_s[8])
{
    uint8_t temp[16], in1[16], x[16], r[16], out[16];
    int rc = temp_of(k, opc, rand, temp);
    if (rc)
        return rc;
    memcpy(in1, sqn, 6);
    memcpy(in1 + 6, amf, 2);
    memcpy(in1 + 8, sqn, 6);
    memcpy(in1 + 14, amf, 2);
    xor16(x, in1, opc);
    rot(r, x, 64);                  /* r1 = 64, c1 = 0 */
    xor16(x, r, temp);
    if ((rc = aes(k, x, out)) != 0)
        return rc;
    xor16(out, out, opc);
    if (mac_a)
        memcpy(mac_a, out, 8);
    if (mac_s)
        memcpy(mac_s, out + 8, 8);
    OPENSSL_cleanse(temp, sizeof(temp));
    return 0;
}

/* OUTn = E_K(rot(TEMP xor OPc, r) xor c) xor OPc, with c having @c in its last byte */
static int out_n(const uint8_t k[16], const uint8_t opc[16], const uint8_t temp[16],
                 int r_bits, uint8_t c, uint8_t out[16])
{
    uint8_t x[16], r[16];
    xor16(x, temp, opc);
    rot(r, x, r_bits);
    r[15] ^= c;
    int rc = aes(k, r, out);
    if (rc == 0)
        xor16(out, out, opc);
    return rc;
}

int ims_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                       uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                       uint8_t ak_star[6])
{
    uint8_t temp[16], out[16];
    int rc = temp_of(k, opc, rand, temp);
    if (rc == 0 && (res || ak)) {            /* f2, f5: r2 = 0, c2 = 1 */
        rc = out_n(k, opc, temp, 0, 1, out);
        if (rc == 0 && res)
            memcpy(res, out + 8, 8);
        if (rc == 0 && ak)
            memcpy(ak, out, 6);
    }
    if (rc == 0 && ck && (rc = out_n(k, opc, temp, 32, 2, out)) == 0)    /* f3 */
        memcpy(ck, out, 16);
    if (rc == 0 && ik && (rc = out_n(k, opc, temp, 64, 4, out)) == 0)    /* f4 */
        memcpy(ik, out, 16);
    if (rc == 0 && ak_star && (rc = out_n(k, opc, temp, 96, 8, out)) == 0)   /* f5* */
        memcpy(ak_star, out, 6);
    OPENSSL_cleanse(temp, sizeof(temp));
    OPENSSL_cleanse(out, sizeof(out));
    return rc;
}

void ims_sqn_to_bytes(uint64_t sqn, uint8_t out[6])
{
    for (int i = 5; i >= 0; i--) {
        out[i] = (uint8_t)(sqn & 0xff);
        sqn >>= 8;
    }
}

uint64_t ims_sqn_from_bytes(const uint8_t in[6])
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | in[i];
    return v;
}

int ims_aka_random(uint8_t rand[16])
{
    return RAND_bytes(rand, 16) == 1 ? 0 : -EIO;
}

int ims_aka_vector(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2],
                   uint64_t sqn, const uint8_t rand[16], struct ims_aka_vector *v)
{
    uint8_t sqn_b[6], ak[6], mac_a[8];
    ims_sqn_to_bytes(sqn & IMS_AKA_SQN_MAX, sqn_b);
    memcpy(v->rand, rand, 16);
    int rc = ims_milenage_f1(k, opc, rand, sqn_b, amf, mac_a, NULL);
    if (rc == 0)
        rc = ims_milenage_f2345(k, opc, rand, v->xres, v->ck, v->ik, ak, NULL);
    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        v->autn[i] = sqn_b[i] ^ ak[i];
    memcpy(v->autn + 6, amf, 2);
    memcpy(v->autn + 8, mac_a, 8);
    return 0;
}

int ims_aka_auts_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                        const uint8_t auts[14], uint64_t *sqn_ms)
{
    static const uint8_t amf0[2] = { 0, 0 };
    uint8_t ak_star[6], sqn[6], mac_s[8];
    int rc = ims_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, ak_star);
    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        sqn[i] = auts[i] ^ ak_star[i];
    if ((rc = ims_milenage_f1(k, opc, rand, sqn, amf0, NULL, mac_s)) != 0)
        return rc;
    if (CRYPTO_memcmp(mac_s, auts + 6, 8) != 0)
        return -EBADMSG;
    *sqn_ms = ims_sqn_from_bytes(sqn);
    return 0;
}

int ims_aka_auts_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                      uint64_t sqn_ms, uint8_t auts[14])
{
    static const uint8_t amf0[2] = { 0, 0 };
    uint8_t ak_star[6], sqn[6];
    ims_sqn_to_bytes(sqn_ms, sqn);
    int rc = ims_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, ak_star);
    if (rc == 0)
        rc = ims_milenage_f1(k, opc, rand, sqn, amf0, NULL, auts + 6);
    for (int i = 0; rc == 0 && i < 6; i++)
        auts[i] = sqn[i] ^ ak_star[i];
    return rc;
}

int ims_aka_ue_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                     const uint8_t autn[16], uint64_t *sqn, uint8_t res[8], uint8_t ck[16],
                     uint8_t ik[16])
{
    uint8_t ak[6], sqn_b[6], mac_a[8];
    int rc = ims_milenage_f2345(k, opc, rand, res, ck, ik, ak, NULL);
    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        sqn_b[i] = autn[i] ^ ak[i];
    if ((rc = ims_milenage_f1(k, opc, rand, sqn_b, autn + 6, mac_a, NULL)) != 0)
        return rc;
    if (CRYPTO_memcmp(mac_a, autn + 8, 8) != 0)
        return -EBADMSG;
    *sqn = ims_sqn_from_bytes(sqn_b);
    return 0;
}

int ims_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex || strlen(hex) != len * 2)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = (unsigned char)hex[2 * i], lo = (unsigned char)hex[2 * i + 1];
        if (!isxdigit(hi) || !isxdigit(lo))
            return -EINVAL;
        hi = isdigit(hi) ? hi - '0' : tolower(hi) - 'a' + 10;
        lo = isdigit(lo) ? lo - '0' : tolower(lo) - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void ims_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}
