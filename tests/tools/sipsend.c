/*
 * sipsend - one SIP message as written, from a chosen address, and what comes back: the
 * attacker's tool of the trust tests (a UE that never registered, a header it should not
 * write, a second UE behind the same address). No SIP stack on purpose: the bytes are the
 * test's own.
 *
 *   sipsend [--tcp | --tls [--cert FILE --key FILE] [--ca FILE]] --from IP:PORT --to IP:PORT
 *           [--wait MS] FILE|-
 *       sends the message (line ends become CRLF, Content-Length is set to the body's
 *       length), then prints every message received, each followed by a line "--", until a
 *       final response (>= 200) or MS milliseconds (default 3000). Exit status 0 when a
 *       final response came, 1 when none did.
 *       --tls: over TLS (OpenSSL), presenting the certificate --cert (its key --key) when
 *       given, and verifying the server's against --ca when given. A handshake that fails,
 *       or a connection the server closes (a TLS 1.3 server refuses a client certificate
 *       after the client's handshake ended), prints one line "tls: ..." and counts as no
 *       final response.
 *
 *   sipsend --listen IP:PORT [--wait MS] [--answer CODE[,CODE...]] [--header "Name: value"]...
 *       a UE on UDP: prints every request received (followed by "--") for MS milliseconds
 *       and answers each but ACK with each CODE in turn (default 200), copying Via, From, To
 *       (with a tag), Call-ID, CSeq and, for 1xx/2xx, Record-Route, plus the --header lines.
 *       Exit status 0 when it received no request, 3 when it received some.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_MSG 65536
#define MAX_HEADERS 8

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
    char ip[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof(ip))
        return -1;
    memcpy(ip, text, (size_t)(colon - text));
    ip[colon - text] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The message of @in with CRLF line ends and a Content-Length equal to its body */
static size_t normalise(const char *in, char *out, size_t max)
{
    char head[MAX_MSG];
    size_t h = 0;
    const char *p = in;
    /* header lines up to the first empty line, each ended by CRLF */
    while (*p && h + 2 < sizeof(head)) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len && p[len - 1] == '\r')
            len--;
        if (len == 0) {
            p = eol ? eol + 1 : p + strlen(p);
            break;
        }
        if (strncasecmp(p, "Content-Length:", 15) != 0 && strncasecmp(p, "l:", 2) != 0 &&
            h + len + 2 < sizeof(head)) {
            memcpy(head + h, p, len);
            h += len;
            memcpy(head + h, "\r\n", 2);
            h += 2;
        }
        p = eol ? eol + 1 : p + strlen(p);
    }
    head[h] = '\0';
    size_t body = strlen(p);
    int n = snprintf(out, max, "%sContent-Length: %zu\r\n\r\n%s", head, body, p);
    return n < 0 || (size_t)n >= max ? 0 : (size_t)n;
}

/* The status of a response, 0 for a request */
static int status_of(const char *msg)
{
    return strncmp(msg, "SIP/2.0 ", 8) == 0 ? atoi(msg + 8) : 0;
}

struct tls_opts {
    bool on;
    const char *cert, *key, *ca;
};

/* The last OpenSSL error as text (or @dflt when there is none) */
static const char *tls_error(const char *dflt)
{
    static char text[256];
    unsigned long e = ERR_get_error();
    if (!e)
        return dflt;
    ERR_error_string_n(e, text, sizeof(text));
    return text;
}

/* A TLS client session on connected socket @s, or NULL (a "tls: ..." line printed) */
static SSL *tls_start(int s, const struct tls_opts *t)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    if (t->cert && (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1 ||
                    SSL_CTX_use_PrivateKey_file(ctx, t->key ? t->key : t->cert,
                                                SSL_FILETYPE_PEM) != 1)) {
        printf("tls: cannot load %s: %s\n", t->cert, tls_error("?"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t->ca) {
        SSL_CTX_load_verify_locations(ctx, t->ca, NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL *ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);   /* the session holds its own reference */
    if (!ssl || SSL_set_fd(ssl, s) != 1 || SSL_connect(ssl) != 1) {
        printf("tls: handshake failed: %s\n", tls_error("connection closed"));
        SSL_free(ssl);
        return NULL;
    }
    printf("tls: handshake done (%s, %s)\n", SSL_get_version(ssl),
           SSL_get_certificate(ssl) ? "our certificate sent" : "no certificate of ours");
    fflush(stdout);
    return ssl;
}

/* Read what came on @s (through @ssl when not NULL) into @buf; as recv() */
static ssize_t read_some(int s, SSL *ssl, char *buf, size_t len)
{
    if (!ssl)
        return recv(s, buf, len, 0);
    int r = SSL_read(ssl, buf, (int)len);
    if (r <= 0) {
        int e = SSL_get_error(ssl, r);
        printf("tls: closed by the peer: %s\n",
               e == SSL_ERROR_ZERO_RETURN ? "close_notify" : tls_error("connection closed"));
    }
    return r;
}

/* Send @msg (@n bytes) from @from to @to; the socket, or -1 (and *@ssl set for TLS) */
static int open_send(bool tcp, const struct tls_opts *t, struct sockaddr_in *src,
                     struct sockaddr_in *dst, const char *msg, size_t n, SSL **ssl)
{
    int s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    int one = 1;
    *ssl = NULL;
    if (s < 0)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)src, sizeof(*src)) != 0 ||
        (tcp && connect(s, (struct sockaddr *)dst, sizeof(*dst)) != 0))
        goto fail;
    if (t->on && !(*ssl = tls_start(s, t))) {
        close(s);
        errno = EPROTO;
        return -2;
    }
    ssize_t w = *ssl ? SSL_write(*ssl, msg, (int)n)
                : tcp ? send(s, msg, n, 0)
                      : sendto(s, msg, n, 0, (struct sockaddr *)dst, sizeof(*dst));
    if (w == (ssize_t)n)
        return s;
    if (*ssl) {
        /* TLS 1.3: the server's refusal of our certificate can arrive as we write */
        printf("tls: closed by the peer: %s\n", tls_error("connection closed"));
        SSL_free(*ssl);
        *ssl = NULL;
        close(s);
        return -2;
    }
fail:
    SSL_free(*ssl);
    *ssl = NULL;
    close(s);
    return -1;
}

static int do_send(bool tcp, const struct tls_opts *t, const char *from, const char *to,
                   long wait, FILE *in)
{
    static char text[MAX_MSG], msg[MAX_MSG], buf[MAX_MSG];
    struct sockaddr_in src, dst;
    if (parse_addr(from, &src) || parse_addr(to, &dst)) {
        fprintf(stderr, "sipsend: addresses are IPv4:port\n");
        return 2;
    }
    size_t len = fread(text, 1, sizeof(text) - 1, in);
    text[len] = '\0';
    size_t n = normalise(text, msg, sizeof(msg));
    SSL *ssl;
    int s = n ? open_send(tcp || t->on, t, &src, &dst, msg, n, &ssl) : -1;
    if (s == -2)
        return 1;   /* the TLS handshake failed: said above */
    if (s < 0) {
        fprintf(stderr, "sipsend: cannot send from %s to %s: %s\n", from, to, strerror(errno));
        return 2;
    }
    tcp = tcp || t->on;
    int rc = 1;
    long deadline = now_ms() + wait;
    size_t have = 0;
    for (long left; rc != 0 && (left = deadline - now_ms()) > 0;) {
        struct pollfd pfd = { s, POLLIN, 0 };
        if (!(ssl && SSL_pending(ssl)) && poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = read_some(s, ssl, buf + have, sizeof(buf) - 1 - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        /* over TCP, one read may hold several messages or a part of one: split at the end
         * of each header block (the tests' responses carry no body) */
        char *end;
        while ((end = strstr(buf, "\r\n\r\n")) != NULL || !tcp) {
            size_t mlen = end ? (size_t)(end - buf) + 4 : have;
            printf("%.*s--\n", (int)mlen, buf);
            fflush(stdout);
            int st = status_of(buf);
            memmove(buf, buf + mlen, have - mlen);
            have -= mlen;
            buf[have] = '\0';
            if (st >= 200) {
                rc = 0;
                break;
            }
            if (!tcp || !have)
                break;
        }
    }
    if (ssl)
        SSL_free(ssl);
    close(s);
    return rc;
}

static void copy_headers(const char *req, const char *name, const char *compact, char *out,
                         size_t max)
{
    size_t nlen = strlen(name), clen = compact ? strlen(compact) : 0;
    for (const char *p = req; *p && !(p[0] == '\r' && p[1] == '\n');) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        bool match = (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') ||
                     (compact && strncasecmp(p, compact, clen) == 0 && p[clen] == ':');
        if (match && strlen(out) + (size_t)(eol - p) + 3 < max) {
            strncat(out, p, (size_t)(eol - p));
            strcat(out, "\r\n");
        }
        p = eol + 2;
    }
}

/* Answer request @req with @code (headers copied as the usage says) */
static void respond(int s, const char *req, int code, const char *at, char **extra, int nextra,
                    const struct sockaddr_in *peer, socklen_t plen)
{
    static char resp[MAX_MSG];
    snprintf(resp, sizeof(resp), "SIP/2.0 %d %s\r\n", code, code < 300 ? "OK" : "Refused");
    copy_headers(req, "Via", "v", resp, sizeof(resp));
    copy_headers(req, "From", "f", resp, sizeof(resp));
    char to[1024] = "";
    copy_headers(req, "To", "t", to, sizeof(to));
    if (to[0] && !strstr(to, ";tag=")) {
        to[strlen(to) - 2] = '\0';
        strcat(to, ";tag=sipsend\r\n");
    }
    strncat(resp, to, sizeof(resp) - strlen(resp) - 1);
    copy_headers(req, "Call-ID", "i", resp, sizeof(resp));
    copy_headers(req, "CSeq", NULL, resp, sizeof(resp));
    if (code < 300)
        copy_headers(req, "Record-Route", NULL, resp, sizeof(resp));
    for (int i = 0; i < nextra; i++)
        snprintf(resp + strlen(resp), sizeof(resp) - strlen(resp), "%s\r\n", extra[i]);
    snprintf(resp + strlen(resp), sizeof(resp) - strlen(resp), "Contact: <sip:%s>\r\n"
             "Content-Length: 0\r\n\r\n", at);
    sendto(s, resp, strlen(resp), 0, (const struct sockaddr *)peer, plen);
}

static int do_listen(const char *at, long wait, const char *answers, char **extra, int nextra)
{
    static char buf[MAX_MSG];
    struct sockaddr_in me, peer;
    socklen_t plen = sizeof(peer);
    if (parse_addr(at, &me)) {
        fprintf(stderr, "sipsend: --listen takes IPv4:port\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1, got = 0;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)) != 0) {
        fprintf(stderr, "sipsend: cannot listen on %s: %s\n", at, strerror(errno));
        return 2;
    }
    long deadline = now_ms() + wait;
    for (long left; (left = deadline - now_ms()) > 0;) {
        struct pollfd pfd = { s, POLLIN, 0 };
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&peer, &plen);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        if (status_of(buf))
            continue;
        got++;
        printf("%s--\n", buf);
        fflush(stdout);
        if (strncmp(buf, "ACK ", 4) == 0)
            continue;
        for (const char *a = answers; a && *a; a = strchr(a, ',') ? strchr(a, ',') + 1 : NULL)
            respond(s, buf, atoi(a), at, extra, nextra, &peer, plen);
    }
    close(s);
    return got ? 3 : 0;
}


static void usage(void)
{
    fprintf(stderr, "usage: sipsend [--tcp | --tls [--cert FILE --key FILE] [--ca FILE]] "
                    "--from IP:PORT --to IP:PORT [--wait MS] FILE|-\n"
                    "       sipsend --listen IP:PORT [--wait MS] [--answer CODE[,CODE...]] "
                    "[--header 'Name: value']...\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tcp", no_argument, NULL, 't' },     { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 'o' }, { "wait", required_argument, NULL, 'w' },
        { "listen", required_argument, NULL, 'l' },
        { "answer", required_argument, NULL, 'a' },
        { "header", required_argument, NULL, 'H' }, { "tls", no_argument, NULL, 'T' },
        { "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
        { "ca", required_argument, NULL, 'C' },     { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *to = NULL, *listen_at = NULL;
    char *extra[MAX_HEADERS];
    int nextra = 0, c;
    const char *answers = "200";
    long wait = 3000;
    bool tcp = false;
    struct tls_opts t = { 0 };
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': tcp = true; break;
        case 'T': t.on = true; break;
        case 'c': t.cert = optarg; break;
        case 'k': t.key = optarg; break;
        case 'C': t.ca = optarg; break;
        case 'f': from = optarg; break;
        case 'o': to = optarg; break;
        case 'w': wait = atol(optarg); break;
        case 'l': listen_at = optarg; break;
        case 'a': answers = optarg; break;
        case 'H':
            if (nextra < MAX_HEADERS)
                extra[nextra++] = optarg;
            break;
        default: usage(); return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);   /* a peer that closes shows as an error, not a death */
    if (listen_at)
        return do_listen(listen_at, wait, answers, extra, nextra);
    if (!from || !to || optind != argc - 1) {
        usage();
        return 2;
    }
    FILE *in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "r");
    if (!in) {
        fprintf(stderr, "sipsend: cannot read %s: %s\n", argv[optind], strerror(errno));
        return 2;
    }
    int rc = do_send(tcp, &t, from, to, wait, in);
    if (in != stdin)
        fclose(in);
    return rc;
}
