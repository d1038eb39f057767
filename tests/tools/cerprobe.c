/*
 * cerprobe - a raw Diameter peer for attacker tests: one CER, and what the server answers
 *
 *   cerprobe --peer ADDR[:PORT] --identity ID [--realm R] [--address SRC]
 *            [--tls [--cert PEM --key PEM]]
 *
 * Connects from SRC (plain TCP to 3868, or with --tls TLS from the start to 5868), sends a
 * Capabilities-Exchange-Request as ID (Cx, Sh, Ro and Rf advertised) and prints one JSON
 * line: {"result":3010,"origin_host":"hss..."} for a CEA, or {"error":"..."} when the
 * connection, the TLS handshake or the answer failed (5 s at most). Exit 0 when a CEA came
 * back.
 *
 * Unlike diamcli (freeDiameter), it checks nothing of its own credentials: it presents any
 * certificate and key given (one of another CA, one naming someone else) and does not
 * verify the server's. With SSLKEYLOGFILE set, it appends its TLS session keys there.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define AVP_HOST_IP_ADDRESS 257
#define AVP_AUTH_APPLICATION_ID 258
#define AVP_ACCT_APPLICATION_ID 259
#define AVP_ORIGIN_HOST 264
#define AVP_VENDOR_ID 266
#define AVP_RESULT_CODE 268
#define AVP_PRODUCT_NAME 269
#define AVP_ORIGIN_REALM 296
#define CMD_CER 257

struct buf {
    uint8_t data[2048];
    size_t len;
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One AVP without vendor (M flag set when @mandatory), padded to 4 bytes. */
static void add_avp(struct buf *b, uint32_t code, bool mandatory, const void *v, size_t n)
{
    size_t len = 8 + n, padded = (len + 3) & ~(size_t)3;
    if (b->len + padded > sizeof(b->data))
        return;
    uint8_t *p = b->data + b->len;
    memset(p, 0, padded);
    put32(p, code);
    put32(p + 4, (uint32_t)len);
    p[4] = mandatory ? 0x40 : 0;
    memcpy(p + 8, v, n);
    b->len += padded;
}

static void add_u32(struct buf *b, uint32_t code, uint32_t v)
{
    uint8_t x[4];
    put32(x, v);
    add_avp(b, code, true, x, 4);
}

static void build_cer(struct buf *b, const char *id, const char *realm,
                      const struct sockaddr_in *src)
{
    uint8_t addr[6] = { 0, 1 };   /* AddressType 1: IPv4 */
    memcpy(addr + 2, &src->sin_addr, 4);
    b->len = 20;
    add_avp(b, AVP_ORIGIN_HOST, true, id, strlen(id));
    add_avp(b, AVP_ORIGIN_REALM, true, realm, strlen(realm));
    add_avp(b, AVP_HOST_IP_ADDRESS, true, addr, sizeof(addr));
    add_u32(b, AVP_VENDOR_ID, 0);
    add_avp(b, AVP_PRODUCT_NAME, false, "cerprobe", 8);
    add_u32(b, AVP_AUTH_APPLICATION_ID, 16777216);
    add_u32(b, AVP_AUTH_APPLICATION_ID, 16777217);
    add_u32(b, AVP_AUTH_APPLICATION_ID, 4);
    add_u32(b, AVP_ACCT_APPLICATION_ID, 3);
    put32(b->data, (uint32_t)b->len);
    b->data[0] = 1;                     /* version */
    put32(b->data + 4, CMD_CER);
    b->data[4] = 0x80;                  /* R */
    put32(b->data + 8, 0);              /* application 0 */
    put32(b->data + 12, (uint32_t)getpid());
    put32(b->data + 16, (uint32_t)time(NULL));
}

/* The Result-Code and Origin-Host of an answer; -1 when the message is not a CEA. */
static long parse_cea(const uint8_t *m, size_t len, char *origin, size_t olen)
{
    long result = -1;
    if (len < 20 || m[0] != 1 || (get32(m + 4) & 0xffffff) != CMD_CER || (m[4] & 0x80))
        return -1;
    for (size_t off = 20; off + 8 <= len;) {
        uint32_t code = get32(m + off), alen = get32(m + off + 4) & 0xffffff;
        size_t hdr = (m[off + 4] & 0x80) ? 12 : 8;
        if (alen < hdr || off + alen > len)
            break;
        if (code == AVP_RESULT_CODE && alen == hdr + 4)
            result = get32(m + off + hdr);
        if (code == AVP_ORIGIN_HOST)
            snprintf(origin, olen, "%.*s", (int)(alen - hdr), (const char *)m + off + hdr);
        off += (alen + 3) & ~3u;
    }
    return result;
}

static void keylog(const SSL *ssl, const char *line)
{
    (void)ssl;
    const char *path = getenv("SSLKEYLOGFILE");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

/* The last OpenSSL error as text (never NULL). */
static const char *reason(void)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "failed";
}

static int fail(const char *what, const char *why)
{
    printf("{\"error\":\"%s: %s\"}\n", what, why);
    return 1;
}

/* Read exactly @n bytes (TLS or plain); 0 or -1. */
static int read_all(int fd, SSL *ssl, uint8_t *p, size_t n)
{
    while (n) {
        int r = ssl ? SSL_read(ssl, p, (int)n) : (int)read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int connect_from(const char *src, const char *peer, int port, struct sockaddr_in *sa_src)
{
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    memset(sa_src, 0, sizeof(*sa_src));
    sa_src->sin_family = AF_INET;
    if (inet_pton(AF_INET, peer, &dst.sin_addr) != 1 ||
        inet_pton(AF_INET, src, &sa_src->sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (bind(fd, (struct sockaddr *)sa_src, sizeof(*sa_src)) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "peer", required_argument, NULL, 'p' }, { "identity", required_argument, NULL, 'i' },
        { "realm", required_argument, NULL, 'r' }, { "address", required_argument, NULL, 'a' },
        { "tls", no_argument, NULL, 't' }, { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 },
    };
    const char *peer = NULL, *id = NULL, *realm = "ims.mnc001.mcc001.3gppnetwork.org";
    const char *src = "127.0.1.10", *cert = NULL, *key = NULL;
    bool tls = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': peer = optarg; break;
        case 'i': id = optarg; break;
        case 'r': realm = optarg; break;
        case 'a': src = optarg; break;
        case 't': tls = true; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        default: peer = NULL; id = NULL; break;
        }
    }
    if (!peer || !id || (cert && !key)) {
        fprintf(stderr, "usage: cerprobe --peer ADDR[:PORT] --identity ID [--realm R] "
                        "[--address SRC] [--tls [--cert PEM --key PEM]]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);   /* a server that hangs up is an answer, not a crash */
    char host[64];
    int port = tls ? 5868 : 3868;
    snprintf(host, sizeof(host), "%s", peer);
    char *colon = strchr(host, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    struct sockaddr_in sa_src;
    int fd = connect_from(src, host, port, &sa_src);
    if (fd < 0)
        return fail("connect", strerror(-fd));
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_keylog_callback(ctx, keylog);
        if (cert && (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
                     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))
            return fail("tls", "cannot load the certificate or key");
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
            return fail("tls handshake", reason());
    }
    struct buf cer;
    build_cer(&cer, id, realm, &sa_src);
    int w = ssl ? SSL_write(ssl, cer.data, (int)cer.len) : (int)write(fd, cer.data, cer.len);
    if (w != (int)cer.len) {
        unsigned long e = ERR_get_error();
        return fail("send", e && ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                             : "the CER could not be written");
    }
    uint8_t ans[8192];
    if (read_all(fd, ssl, ans, 20) != 0) {
        unsigned long e = ERR_get_error();
        return fail("answer", e && ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                               : "connection closed, no CEA");
    }
    size_t len = get32(ans) & 0xffffff;
    if (len < 20 || len > sizeof(ans) || read_all(fd, ssl, ans + 20, len - 20) != 0)
        return fail("answer", "truncated");
    char origin[256] = "";
    long rc = parse_cea(ans, len, origin, sizeof(origin));
    if (rc < 0)
        return fail("answer", "not a CEA with a Result-Code");
    printf("{\"result\":%ld,\"origin_host\":\"%s\"}\n", rc, origin);
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
    close(fd);
    return 0;
}
