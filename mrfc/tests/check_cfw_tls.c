/*
 * check_cfw_tls.c - TLS of the Cr control channel (mrfc/cfw_tls.c, RFC 6230 12): the
 * a=fingerprint values of RFC 8122 read and written, the TCP/TLS offer and answer
 * (mrfc/sdp.c), and real handshakes over a socket pair: the client's certificate matched
 * against fingerprints (the right one, another one), a client without a certificate and a
 * client that speaks no TLS refused, bytes both ways, bad credentials refused at start
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cfw_tls.h"
#include "sdp.h"

/* ---- a=fingerprint values ---- */

START_TEST(fp_parse_and_write)
{
    struct mrfc_fp fp;
    const char *v = "SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";
    ck_assert_int_eq(mrfc_fp_parse(v, &fp), 0);
    ck_assert_str_eq(fp.hash, "sha-1");
    ck_assert_uint_eq(fp.len, 20);
    ck_assert_uint_eq(fp.md[0], 0x4a);
    ck_assert_uint_eq(fp.md[19], 0xab);
    char out[MRFC_FP_TEXT_MAX];
    ck_assert_int_gt(mrfc_fp_text(&fp, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
    ck_assert_int_eq(mrfc_fp_text(&fp, out, 20), -ENOSPC);
    /* lower-case hex is read too (UHEX in the grammar, lower case seen in the field) */
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:"
                                   "e5:7c:ab", &fp), 0);
    char sha256[200] = "sha-256 ";
    for (int i = 0; i < 32; i++)
        snprintf(sha256 + strlen(sha256), sizeof(sha256) - strlen(sha256), "%s%02X",
                 i ? ":" : "", i);
    ck_assert_int_eq(mrfc_fp_parse(sha256, &fp), 0);
    ck_assert_uint_eq(fp.len, 32);
}
END_TEST

START_TEST(fp_refused)
{
    struct mrfc_fp fp;
    /* md5 is a registered hash function RFC 8122 forbids; unknown ones are not ours */
    ck_assert_int_eq(mrfc_fp_parse("md5 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B", &fp),
                     -ENOTSUP);
    ck_assert_int_eq(mrfc_fp_parse("foo-1 4A:AD", &fp), -ENOTSUP);
    /* a length that is not the hash's, bad hex, separators, nothing */
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4A:AD:B9", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4A:AD:", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4AAD", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4G:AD", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4A:AD ", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("", &fp), -EINVAL);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 ", &fp), -EINVAL);
    char too_long[400] = "sha-512 ";
    for (int i = 0; i < 70; i++)
        strcat(too_long, i ? ":AB" : "AB");
    ck_assert_int_eq(mrfc_fp_parse(too_long, &fp), -EINVAL);
}
END_TEST

START_TEST(fp_sets)
{
    /* a re-INVITE keeps the channel's fingerprints: the same set, in any order */
    struct mrfc_fp a[3], b[3];
    ck_assert_int_eq(mrfc_fp_parse("sha-256 " "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:"
                                   "10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F", &a[0]), 0);
    ck_assert_int_eq(mrfc_fp_parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:"
                                   "E5:7C:AB", &a[1]), 0);
    b[0] = a[1];
    b[1] = a[0];
    ck_assert(mrfc_fp_same_set(a, 2, b, 2));
    ck_assert(mrfc_fp_same_set(a, 0, b, 0));
    ck_assert(!mrfc_fp_same_set(a, 2, b, 1));
    ck_assert(!mrfc_fp_same_set(a, 1, b, 2));
    b[1].md[5] ^= 0x10;
    ck_assert(!mrfc_fp_same_set(a, 2, b, 2));
    b[1] = a[0];
    snprintf(b[1].hash, sizeof(b[1].hash), "sha-384");
    ck_assert(!mrfc_fp_same_set(a, 2, b, 2));
}
END_TEST

/* ---- the TCP/TLS offer and answer ---- */

static const char *tls_offer =
    "v=0\r\no=as 1 1 IN IP4 127.0.0.90\r\ns=-\r\nc=IN IP4 127.0.0.90\r\nt=0 0\r\n"
    "m=application 9 TCP/TLS cfw\r\na=setup:active\r\na=connection:new\r\n"
    "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n"
    "a=fingerprint:sha-256 00:01:02:03\r\n"
    "a=cfw-id:tls1\r\na=ctrl-package:msc-ivr/1.0\r\n";

START_TEST(sdp_tls_offer_and_answer)
{
    struct mrfc_sdp_cfw o;
    char why[160];
    ck_assert_int_eq(mrfc_sdp_cfw_read(tls_offer, strlen(tls_offer), &o, why, sizeof(why)), 0);
    ck_assert(o.tls);
    ck_assert_int_eq(o.nfp, 2);
    ck_assert_str_eq(o.fingerprint[0],
                     "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
    ck_assert_str_eq(o.fingerprint[1], "sha-256 00:01:02:03");
    char ans[1024];
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .id = 7, .version = 1, .user = "mrfc",
                                .fingerprint = "sha-256 AA:BB" };
    ck_assert_int_gt(mrfc_sdp_cfw_answer(ans, sizeof(ans), &l, &o, 7564, "msc-ivr/1.0"), 0);
    ck_assert_ptr_nonnull(strstr(ans, "m=application 7564 TCP/TLS cfw\r\na=setup:passive\r\n"
                                      "a=connection:new\r\na=cfw-id:tls1\r\n"
                                      "a=fingerprint:sha-256 AA:BB\r\n"));
    struct mrfc_sdp_cfw back;
    ck_assert_int_eq(mrfc_sdp_cfw_read(ans, strlen(ans), &back, why, sizeof(why)), 0);
    ck_assert(back.tls);
    ck_assert_int_eq(back.nfp, 1);
    ck_assert_str_eq(back.fingerprint[0], "sha-256 AA:BB");
    /* a TCP answer carries no fingerprint */
    o.tls = false;
    ck_assert_int_gt(mrfc_sdp_cfw_answer(ans, sizeof(ans), &l, &o, 7563, "msc-ivr/1.0"), 0);
    ck_assert_ptr_null(strstr(ans, "fingerprint"));
}
END_TEST

START_TEST(sdp_session_fingerprint)
{
    /* RFC 8122 5: at session level it applies to every line that has none of its own */
    const char *s = "v=0\r\no=as 1 1 IN IP4 127.0.0.90\r\ns=-\r\nc=IN IP4 127.0.0.90\r\n"
                    "t=0 0\r\na=fingerprint:sha-256 01:02\r\n"
                    "m=application 9 TCP/TLS cfw\r\na=setup:active\r\na=cfw-id:x\r\n";
    struct mrfc_sdp_cfw o;
    char why[160];
    ck_assert_int_eq(mrfc_sdp_cfw_read(s, strlen(s), &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.nfp, 1);
    ck_assert_str_eq(o.fingerprint[0], "sha-256 01:02");
    const char *both = "v=0\r\no=as 1 1 IN IP4 127.0.0.90\r\ns=-\r\nc=IN IP4 127.0.0.90\r\n"
                       "t=0 0\r\na=fingerprint:sha-256 01:02\r\n"
                       "m=application 9 TCP/TLS cfw\r\na=fingerprint:sha-1 03:04\r\n";
    ck_assert_int_eq(mrfc_sdp_cfw_read(both, strlen(both), &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.nfp, 1);
    ck_assert_str_eq(o.fingerprint[0], "sha-1 03:04");
}
END_TEST

/* ---- handshakes over a socket pair ---- */

struct cred {
    EVP_PKEY *key;
    X509 *cert;
    char cert_path[64], key_path[64];
};

/* A self-signed P-256 certificate named @cn, also written to two temporary PEM files */
static void cred_make(struct cred *c, const char *cn)
{
    c->key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(c->key);
    c->cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(c->cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(c->cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(c->cert), 3600);
    X509_set_pubkey(c->cert, c->key);
    X509_NAME *n = X509_get_subject_name(c->cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c->cert, n);
    ck_assert_int_gt(X509_sign(c->cert, c->key, EVP_sha256()), 0);
    snprintf(c->cert_path, sizeof(c->cert_path), "/tmp/check_cfw_tls.crt.XXXXXX");
    snprintf(c->key_path, sizeof(c->key_path), "/tmp/check_cfw_tls.key.XXXXXX");
    int fc = mkstemp(c->cert_path), fk = mkstemp(c->key_path);
    FILE *f = fdopen(fc, "w"), *g = fdopen(fk, "w");
    ck_assert(f && g);
    ck_assert(PEM_write_X509(f, c->cert));
    ck_assert(PEM_write_PrivateKey(g, c->key, NULL, NULL, 0, NULL, NULL));
    fclose(f);
    fclose(g);
}

static void cred_free(struct cred *c)
{
    unlink(c->cert_path);
    unlink(c->key_path);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
}

/* The fingerprint of @c's certificate with @hash, as the offer would carry it */
static struct mrfc_fp fp_of(const struct cred *c, const char *hash, const EVP_MD *md)
{
    struct mrfc_fp fp;
    memset(&fp, 0, sizeof(fp));
    snprintf(fp.hash, sizeof(fp.hash), "%s", hash);
    X509_digest(c->cert, md, fp.md, &fp.len);
    return fp;
}

struct pair {
    int sfd, cfd;
    struct mrfc_tls *srv;
    struct mrfc_tls_conn *sc;
    SSL_CTX *cctx;
    SSL *cli;
};

static void pair_open(struct pair *p, const struct cred *server, const struct cred *client)
{
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    p->sfd = fds[0];
    p->cfd = fds[1];
    char err[256];
    ck_assert_int_eq(mrfc_cfw_tls_create(server->cert_path, server->key_path, &p->srv, err,
                                         sizeof(err)), 0);
    p->sc = mrfc_cfw_tls_conn(p->srv, p->sfd);
    ck_assert_ptr_nonnull(p->sc);
    p->cctx = SSL_CTX_new(TLS_client_method());
    if (client) {
        SSL_CTX_use_certificate(p->cctx, client->cert);
        SSL_CTX_use_PrivateKey(p->cctx, client->key);
    }
    p->cli = SSL_new(p->cctx);
    SSL_set_fd(p->cli, p->cfd);
    SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
    mrfc_cfw_tls_free(p->sc);
    mrfc_cfw_tls_destroy(p->srv);
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    close(p->sfd);
    close(p->cfd);
}

/* Step both sides until the server's handshake ends; its result */
static int handshake(struct pair *p)
{
    char err[256];
    for (int i = 0; i < 100; i++) {
        SSL_do_handshake(p->cli);
        int rc = mrfc_cfw_tls_handshake(p->sc, err, sizeof(err));
        if (rc != -EAGAIN)
            return rc;
    }
    return -ETIMEDOUT;
}

START_TEST(handshake_and_fingerprints)
{
    struct cred mrf, as, other;
    cred_make(&mrf, "mrfc");
    cred_make(&as, "as");
    cred_make(&other, "other");
    struct pair p;
    pair_open(&p, &mrf, &as);
    ck_assert_int_eq(handshake(&p), 0);
    /* the client's certificate against the offer's fingerprints */
    struct mrfc_fp good[2] = { fp_of(&other, "sha-256", EVP_sha256()),
                               fp_of(&as, "sha-1", EVP_sha1()) };
    ck_assert(mrfc_cfw_tls_peer_matches(p.sc, good, 2));
    struct mrfc_fp s512 = fp_of(&as, "sha-512", EVP_sha512());
    ck_assert(mrfc_cfw_tls_peer_matches(p.sc, &s512, 1));
    struct mrfc_fp bad = fp_of(&other, "sha-256", EVP_sha256());
    ck_assert(!mrfc_cfw_tls_peer_matches(p.sc, &bad, 1));
    struct mrfc_fp flipped = fp_of(&as, "sha-256", EVP_sha256());
    flipped.md[31] ^= 1;
    ck_assert(!mrfc_cfw_tls_peer_matches(p.sc, &flipped, 1));
    ck_assert(!mrfc_cfw_tls_peer_matches(p.sc, NULL, 0));
    /* our own fingerprint is the sha-256 of our certificate, as the answer says */
    char mine[MRFC_FP_TEXT_MAX];
    struct mrfc_fp m = fp_of(&mrf, "sha-256", EVP_sha256());
    mrfc_fp_text(&m, mine, sizeof(mine));
    ck_assert_str_eq(mrfc_cfw_tls_fingerprint(p.srv), mine);
    /* bytes both ways */
    char buf[64];
    ck_assert_int_eq(mrfc_cfw_tls_read(p.sc, buf, sizeof(buf)), -EAGAIN);
    ck_assert(!mrfc_cfw_tls_wants_write(p.sc));
    ck_assert_int_eq(SSL_write(p.cli, "CFW a1 SYNC\r\n", 13), 13);
    ck_assert_int_eq(mrfc_cfw_tls_read(p.sc, buf, sizeof(buf)), 13);
    ck_assert_int_eq(memcmp(buf, "CFW a1 SYNC\r\n", 13), 0);
    ck_assert_int_eq(mrfc_cfw_tls_write(p.sc, "CFW a1 200\r\n", 12), 12);
    ck_assert_int_eq(SSL_read(p.cli, buf, sizeof(buf)), 12);
    /* the client closes: read gives 0 */
    SSL_shutdown(p.cli);
    ck_assert_int_eq(mrfc_cfw_tls_read(p.sc, buf, sizeof(buf)), 0);
    pair_close(&p);
    cred_free(&mrf);
    cred_free(&as);
    cred_free(&other);
}
END_TEST

START_TEST(client_without_certificate)
{
    struct cred mrf;
    cred_make(&mrf, "mrfc");
    struct pair p;
    pair_open(&p, &mrf, NULL);
    /* a certificate is required: nothing else could be matched with the offer */
    ck_assert_int_eq(handshake(&p), -EPROTO);
    struct mrfc_fp any = fp_of(&mrf, "sha-256", EVP_sha256());
    ck_assert(!mrfc_cfw_tls_peer_matches(p.sc, &any, 1));
    pair_close(&p);
    cred_free(&mrf);
}
END_TEST

START_TEST(client_speaks_no_tls)
{
    struct cred mrf;
    cred_make(&mrf, "mrfc");
    struct pair p;
    pair_open(&p, &mrf, NULL);
    const char *plain = "CFW a1 SYNC\r\nDialog-ID: x\r\nKeep-Alive: 100\r\n\r\n";
    ck_assert_int_eq(write(p.cfd, plain, strlen(plain)), (ssize_t)strlen(plain));
    char err[256] = "";
    ck_assert_int_eq(mrfc_cfw_tls_handshake(p.sc, err, sizeof(err)), -EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "TLS handshake failed"));
    pair_close(&p);
    cred_free(&mrf);
}
END_TEST

START_TEST(bad_credentials)
{
    struct cred a, b;
    cred_make(&a, "a");
    cred_make(&b, "b");
    struct mrfc_tls *t = NULL;
    char err[256];
    ck_assert_int_eq(mrfc_cfw_tls_create("/nonexistent.crt", a.key_path, &t, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "certificate"));
    ck_assert_int_eq(mrfc_cfw_tls_create(a.cert_path, "/nonexistent.key", &t, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "private key"));
    ck_assert_int_eq(mrfc_cfw_tls_create(a.cert_path, b.key_path, &t, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not the certificate's"));
    ck_assert_int_eq(mrfc_cfw_tls_create(a.key_path, a.key_path, &t, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(t);
    cred_free(&a);
    cred_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mrfc_cfw_tls");
    TCase *tc = tcase_create("fingerprints");
    tcase_add_test(tc, fp_parse_and_write);
    tcase_add_test(tc, fp_refused);
    tcase_add_test(tc, fp_sets);
    tcase_add_test(tc, sdp_tls_offer_and_answer);
    tcase_add_test(tc, sdp_session_fingerprint);
    suite_add_tcase(s, tc);
    TCase *hs = tcase_create("handshakes");
    tcase_set_timeout(hs, 30);
    tcase_add_test(hs, handshake_and_fingerprints);
    tcase_add_test(hs, client_without_certificate);
    tcase_add_test(hs, client_speaks_no_tls);
    tcase_add_test(hs, bad_credentials);
    suite_add_tcase(s, hs);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
