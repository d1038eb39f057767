/*
 * sslkeylog.so - TLS session keys of an OpenSSL program, for tshark (tests and debugging)
 *
 *   LD_PRELOAD=build/lib/sslkeylog.so SSLKEYLOGFILE=keys.log program ...
 *
 * OpenSSL 3.0 writes no key log by itself, and sofia-sip (the SIP stack) never shows its
 * SSL_CTX to the daemon; gnutls (freeDiameter) reads SSLKEYLOGFILE on its own. This library,
 * preloaded, stands in for OpenSSL's SSL_new: it gives the context of each new connection a
 * key-log callback that appends the NSS key log lines (CLIENT_RANDOM, the TLS 1.3 traffic
 * secrets) to $SSLKEYLOGFILE, then calls the real SSL_new. Without SSLKEYLOGFILE it does
 * nothing. deploy/lab.sh preloads it into the daemons when IMS_LAB_TLS_KEYLOG is set.
 *
 * Never preload it in production: whoever reads the file can decrypt the traffic.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

static int keylog_fd = -2;       /* -2: not opened yet, -1: no SSLKEYLOGFILE or failed */

/* One line (with its newline) in one write(): lines of several processes do not mix */
static void write_line(const SSL *ssl, const char *line)
{
    (void)ssl;
    if (keylog_fd == -2) {
        const char *path = getenv("SSLKEYLOGFILE");
        keylog_fd = path && *path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
                                  : -1;
    }
    if (keylog_fd < 0)
        return;
    size_t n = strlen(line);
    char buf[1024];
    if (n + 1 > sizeof(buf))
        return;
    memcpy(buf, line, n);
    buf[n] = '\n';
    if (write(keylog_fd, buf, n + 1) < 0)
        return;   /* nothing to do about it: the keys are a debugging aid */
}

SSL *SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real)(SSL_CTX *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_new");
    if (!real)
        return NULL;
    const char *path = getenv("SSLKEYLOGFILE");
    if (ctx && path && *path)
        SSL_CTX_set_keylog_callback(ctx, write_line);
    return real(ctx);
}
