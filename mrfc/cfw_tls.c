/*
 * cfw_tls.c - TLS for the Cr control channel (RFC 6230 section 12) and the a=fingerprint
 * of SDP (RFC 8122); see cfw_tls.h
 *
 * OpenSSL, as the rest of the project's own TLS code. The server asks for the client's
 * certificate and accepts any that is well formed (self-signed included, RFC 8122 6): the
 * decision is the fingerprint's, made by cfw.c once it knows which channel the connection
 * claims. No session resumption, no tickets: every connection shows its certificate.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cfw_tls.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct mrfc_tls {
    SSL_CTX *ctx;
    char fp[MRFC_FP_TEXT_MAX];
};

struct mrfc_tls_conn {
    SSL *ssl;
    int last;                     /* SSL_get_error() of the last call that returned -EAGAIN */
    bool handshaken;
};

/* The hash functions of RFC 8122's registry we take, with their OpenSSL names */
static const struct {
    const char *sdp, *ossl;
    unsigned len;
} hashes[] = {
    { "sha-1", "SHA1", 20 },     { "sha-224", "SHA224", 28 }, { "sha-256", "SHA256", 32 },
    { "sha-384", "SHA384", 48 }, { "sha-512", "SHA512", 64 },
};
#define NHASHES (sizeof(hashes) / sizeof(hashes[0]))

static int hash_index(const char *sdp_name)
{
    for (size_t i = 0; i < NHASHES; i++)
        if (strcasecmp(hashes[i].sdp, sdp_name) == 0)
            return (int)i;
    return -1;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

int mrfc_fp_parse(const char *value, struct mrfc_fp *out)
{
    memset(out, 0, sizeof(*out));
    size_t k = strcspn(value, " \t");
    if (k == 0 || k >= sizeof(out->hash) || !value[k])
        return -EINVAL;
    memcpy(out->hash, value, k);
    for (size_t i = 0; i < k; i++)
        out->hash[i] = (char)tolower((unsigned char)out->hash[i]);
    const char *p = value + k + strspn(value + k, " \t");
    for (;;) {
        int hi = hexval((unsigned char)p[0]), lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
        if (lo < 0 || out->len == MRFC_FP_MAX)
            return -EINVAL;
        out->md[out->len++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p != ':')
            break;
        p++;
    }
    if (*p)
        return -EINVAL;
    int h = hash_index(out->hash);
    if (h < 0)
        return -ENOTSUP;
    return out->len == hashes[h].len ? 0 : -EINVAL;
}

int mrfc_fp_text(const struct mrfc_fp *fp, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s ", fp->hash);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    size_t off = (size_t)n;
    for (unsigned i = 0; i < fp->len; i++) {
        if (off + 4 > cap)
            return -ENOSPC;
        off += (size_t)snprintf(buf + off, cap - off, "%s%02X", i ? ":" : "", fp->md[i]);
    }
    return (int)off;
}

static bool fp_equal(const struct mrfc_fp *a, const struct mrfc_fp *b)
{
    return strcmp(a->hash, b->hash) == 0 && a->len == b->len &&
           memcmp(a->md, b->md, a->len) == 0;
}

/* Whether each of the @na of @a is among the @nb of @b */
static bool fp_subset(const struct mrfc_fp *a, unsigned na, const struct mrfc_fp *b,
                      unsigned nb)
{
    for (unsigned i = 0; i < na; i++) {
        unsigned j = 0;
        while (j < nb && !fp_equal(&a[i], &b[j]))
            j++;
        if (j == nb)
            return false;
    }
    return true;
}

bool mrfc_fp_same_set(const struct mrfc_fp *a, unsigned na, const struct mrfc_fp *b,
                      unsigned nb)
{
    return fp_subset(a, na, b, nb) && fp_subset(b, nb, a, na);
}

/* The fingerprint of @x with hash @h (index in hashes[]); false when it cannot be made */
static bool cert_fp(X509 *x, int h, struct mrfc_fp *out)
{
    const EVP_MD *md = EVP_get_digestbyname(hashes[h].ossl);
    unsigned len = 0;
    memset(out, 0, sizeof(*out));
    snprintf(out->hash, sizeof(out->hash), "%s", hashes[h].sdp);
    if (!md || !X509_digest(x, md, out->md, &len) || len != hashes[h].len)
        return false;
    out->len = len;
    return true;
}

/* Any certificate the client shows is taken here: its fingerprint decides (cfw.c) */
static int accept_any(int preverify, X509_STORE_CTX *x)
{
    (void)preverify;
    (void)x;
    return 1;
}

static void ssl_error(char *err, size_t errlen, const char *what)
{
    char e[200] = "";
    unsigned long code = ERR_get_error();
    if (code)
        ERR_error_string_n(code, e, sizeof(e));
    snprintf(err, errlen, "%s%s%s", what, e[0] ? ": " : "", e);
    ERR_clear_error();
}

/* Load @cert and @key into @ctx and make our fingerprint; 0 or -EINVAL (@err) */
static int load_credentials(struct mrfc_tls *t, const char *cert, const char *key, char *err,
                            size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
        ssl_error(err, errlen, "cannot read the certificate (PEM)");
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
        bool other = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
        ssl_error(err, errlen, other ? "the key is not the certificate's"
                                     : "cannot read the private key (PEM)");
        return -EINVAL;
    }
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        ssl_error(err, errlen, "the key is not the certificate's");
        return -EINVAL;
    }
    struct mrfc_fp fp;
    if (!cert_fp(SSL_CTX_get0_certificate(t->ctx), hash_index("sha-256"), &fp) ||
        mrfc_fp_text(&fp, t->fp, sizeof(t->fp)) < 0) {
        ssl_error(err, errlen, "cannot make the certificate's fingerprint");
        return -EINVAL;
    }
    return 0;
}

int mrfc_cfw_tls_create(const char *cert, const char *key, struct mrfc_tls **out, char *err,
                        size_t errlen)
{
    struct mrfc_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx) {
        ssl_error(err, errlen, "cannot create the TLS context");
        free(t);
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(t->ctx, 0);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    int rc = load_credentials(t, cert, key, err, errlen);
    if (rc) {
        mrfc_cfw_tls_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

void mrfc_cfw_tls_destroy(struct mrfc_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

const char *mrfc_cfw_tls_fingerprint(const struct mrfc_tls *t)
{
    return t ? t->fp : "";
}

struct mrfc_tls_conn *mrfc_cfw_tls_conn(struct mrfc_tls *t, int fd)
{
    struct mrfc_tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ssl = SSL_new(t->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_accept_state(c->ssl);
    return c;
}

void mrfc_cfw_tls_free(struct mrfc_tls_conn *c)
{
    if (!c)
        return;
    if (c->handshaken)
        SSL_shutdown(c->ssl);         /* our close_notify, if the socket takes it now */
    SSL_free(c->ssl);
    ERR_clear_error();
    free(c);
}

/* -EAGAIN when @ret of the last call means "again", after remembering which way */
static int again(struct mrfc_tls_conn *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->last = e;
        return -EAGAIN;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -EIO;
}

int mrfc_cfw_tls_handshake(struct mrfc_tls_conn *c, char *err, size_t errlen)
{
    ERR_clear_error();
    int ret = SSL_do_handshake(c->ssl);
    if (ret == 1) {
        c->handshaken = true;
        c->last = 0;
        return 0;
    }
    if (again(c, ret) == -EAGAIN)
        return -EAGAIN;
    ssl_error(err, errlen, "TLS handshake failed");
    return -EPROTO;
}

ssize_t mrfc_cfw_tls_read(struct mrfc_tls_conn *c, void *buf, size_t len)
{
    size_t n = 0;
    ERR_clear_error();
    int ret = SSL_read_ex(c->ssl, buf, len, &n);
    if (ret == 1) {
        c->last = 0;
        return (ssize_t)n;
    }
    int rc = again(c, ret);
    ERR_clear_error();
    return rc;
}

ssize_t mrfc_cfw_tls_write(struct mrfc_tls_conn *c, const void *buf, size_t len)
{
    size_t n = 0;
    ERR_clear_error();
    int ret = SSL_write_ex(c->ssl, buf, len, &n);
    if (ret == 1) {
        c->last = 0;
        return (ssize_t)n;
    }
    int rc = again(c, ret);
    ERR_clear_error();
    return rc == 0 ? -EIO : rc;
}

bool mrfc_cfw_tls_wants_write(const struct mrfc_tls_conn *c)
{
    return c->last == SSL_ERROR_WANT_WRITE;
}

bool mrfc_cfw_tls_peer_matches(const struct mrfc_tls_conn *c, const struct mrfc_fp *fps,
                               unsigned n)
{
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    if (!peer || !c->handshaken)
        return false;
    for (unsigned i = 0; i < n; i++) {
        int h = hash_index(fps[i].hash);
        struct mrfc_fp mine;
        if (h >= 0 && cert_fp(peer, h, &mine) && mine.len == fps[i].len &&
            CRYPTO_memcmp(mine.md, fps[i].md, mine.len) == 0)
            return true;
    }
    return false;
}
