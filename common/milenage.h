/*
 * milenage.h - 3GPP MILENAGE (TS 35.205/35.206) and the AKA vectors built from it
 * (TS 33.102): authentication vectors for the HSS, AUTS verification for re-sync, and the
 * UE side for test tools.
 *
 * AES-128 comes from OpenSSL. Functions return 0, or -EIO when the cipher fails.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_MILENAGE_H
#define IMS_MILENAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMS_AKA_SQN_MAX 0xffffffffffffULL   /* 48 bits */

/* OPc = AES_K(OP) xor OP */
int ims_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);

/* f1 and f1*: network and re-synchronisation authentication codes */
int ims_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8],
                    uint8_t mac_s[8]);

/* f2 (RES), f3 (CK), f4 (IK), f5 (AK), f5* (AK for re-sync); any output may be NULL */
int ims_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                       uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                       uint8_t ak_star[6]);

struct ims_aka_vector {
    uint8_t rand[16];
    uint8_t autn[16];     /* SQN xor AK (6) | AMF (2) | MAC-A (8) */
    uint8_t xres[8];
    uint8_t ck[16];
    uint8_t ik[16];
};

/*
 * ims_aka_vector - build a vector for @sqn with the given @rand (the caller draws it from
 * a CSPRNG; ims_aka_random() does).
 */
int ims_aka_vector(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2],
                   uint64_t sqn, const uint8_t rand[16], struct ims_aka_vector *v);
int ims_aka_random(uint8_t rand[16]);

/*
 * ims_aka_auts_verify - check AUTS = (SQN_MS xor AK*) | MAC-S sent by a UE that found the
 * network's SQN out of range (TS 33.102 section 6.3.5; MAC-S is computed with AMF 0000).
 * Returns 0 with the UE's SQN in *sqn_ms, or -EBADMSG when MAC-S does not match.
 */
int ims_aka_auts_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                        const uint8_t auts[14], uint64_t *sqn_ms);

/* UE side (test tools): AUTS for the UE's SQN */
int ims_aka_auts_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                      uint64_t sqn_ms, uint8_t auts[14]);

/*
 * ims_aka_ue_check - UE side: verify AUTN's MAC-A and recover the network's SQN.
 * Returns 0 (RES, CK, IK filled), or -EBADMSG on a MAC failure.
 */
int ims_aka_ue_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                     const uint8_t autn[16], uint64_t *sqn, uint8_t res[8], uint8_t ck[16],
                     uint8_t ik[16]);

/* 48-bit big-endian helpers */
void ims_sqn_to_bytes(uint64_t sqn, uint8_t out[6]);
uint64_t ims_sqn_from_bytes(const uint8_t in[6]);

/* Hex helpers: decode exactly @len bytes from @hex (returns 0 or -EINVAL); encode lower case. */
int ims_hex_decode(const char *hex, uint8_t *out, size_t len);
void ims_hex_encode(const uint8_t *in, size_t len, char *out);

#endif
