/*
 * cfw_tls.h - TLS for the Cr control channel (RFC 6230 section 12) with OpenSSL, and the
 * certificate fingerprints of SDP (a=fingerprint, RFC 8122, formerly RFC 4572)
 *
 * The MRF is the TLS server (the AS is a=setup:active). Who may hold the connection is not
 * decided by a CA: the AS's certificate may be self-signed, and its fingerprint must be one
 * the a=fingerprint lines of the offer named, which binds the TLS connection to the SIP
 * dialog that set the channel up. The MRF's own fingerprint goes in its answer.
 *
 * Non-blocking: every call returns at once; -EAGAIN means "call again when the socket is
 * ready", with mrfc_cfw_tls_wants_write() telling which way.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_CFW_TLS_H
#define MRFC_CFW_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MRFC_FP_MAX 64            /* bytes of the longest digest (sha-512) */
#define MRFC_FP_TEXT_MAX 208      /* "sha-512 " and 64 hex pairs with colons */
#define MRFC_FP_LINES 4           /* a=fingerprint lines of an offer we keep */

/* One a=fingerprint: its hash function and digest */
struct mrfc_fp {
    char hash[16];                /* lower case: sha-1, sha-224, sha-256, sha-384, sha-512 */
    uint8_t md[MRFC_FP_MAX];
    unsigned len;
};

/*
 * mrfc_fp_parse - read the value of an a=fingerprint attribute ("sha-256 AB:CD:...",
 * RFC 8122 5). Only the SHA hash functions are taken (md2 and md5 are refused, RFC 8122
 * 5: they are not to be used). 0; -EINVAL when malformed; -ENOTSUP for another hash.
 */
int mrfc_fp_parse(const char *value, struct mrfc_fp *out);
/* Write @fp as the value of an a=fingerprint ("sha-256 AB:..."); its length or -ENOSPC */
int mrfc_fp_text(const struct mrfc_fp *fp, char *buf, size_t cap);
/* Whether the @na fingerprints @a are the @nb fingerprints @b, in any order */
bool mrfc_fp_same_set(const struct mrfc_fp *a, unsigned na, const struct mrfc_fp *b,
                      unsigned nb);

struct mrfc_tls;                  /* the server side: certificate, key, own fingerprint */
struct mrfc_tls_conn;             /* one connection */

/*
 * mrfc_cfw_tls_create - a TLS server with the PEM certificate @cert and key @key. 0 with
 * *@out; -EINVAL when they cannot be read or do not belong together (@err says which).
 */
int mrfc_cfw_tls_create(const char *cert, const char *key, struct mrfc_tls **out, char *err,
                        size_t errlen);
void mrfc_cfw_tls_destroy(struct mrfc_tls *t);
/* The sha-256 fingerprint of our certificate, as an a=fingerprint value */
const char *mrfc_cfw_tls_fingerprint(const struct mrfc_tls *t);

/* A connection on accepted socket @fd (left open by mrfc_cfw_tls_free); NULL without memory */
struct mrfc_tls_conn *mrfc_cfw_tls_conn(struct mrfc_tls *t, int fd);
void mrfc_cfw_tls_free(struct mrfc_tls_conn *c);
/* Carry the handshake on: 0 when done; -EAGAIN; -EPROTO (why in @err) */
int mrfc_cfw_tls_handshake(struct mrfc_tls_conn *c, char *err, size_t errlen);
/* Bytes read (0: the peer closed), -EAGAIN or -EIO */
ssize_t mrfc_cfw_tls_read(struct mrfc_tls_conn *c, void *buf, size_t len);
/* Bytes written (maybe fewer than @len), -EAGAIN or -EIO */
ssize_t mrfc_cfw_tls_write(struct mrfc_tls_conn *c, const void *buf, size_t len);
/* After -EAGAIN: whether the socket must become writable (else readable) */
bool mrfc_cfw_tls_wants_write(const struct mrfc_tls_conn *c);
/* Whether the peer's certificate has one of the @n fingerprints @fps (a hash we can make) */
bool mrfc_cfw_tls_peer_matches(const struct mrfc_tls_conn *c, const struct mrfc_fp *fps,
                               unsigned n);

#endif
