/*
 * flow.c - the tokens the P-CSCF issues and verifies itself (HMAC-SHA-256 under its own key)
 *
 * Which UE a request is for, or from, is decided by the flow it travels on (the source
 * address and port, per transport), never by a header the UE wrote. Two tokens carry that
 * decision through the network and back without state in the P-CSCF:
 * - the flow token, in the Path of a REGISTER (";ft="): a terminating request comes back
 *   with it in its Route and names the flow (the registration) it is for;
 * - the dialog token, in the Record-Route of a dialog (";ue="): it binds the dialog (its
 *   Call-ID, and the route set the UE holds after our entry) to the UE's flow, so a request
 *   in that dialog from any other flow, or along another route, is refused.
 * A token made under another key (another P-CSCF, an earlier run without a configured key)
 * does not verify.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "digest.h"
#include "log.h"
#include "milenage.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#define TAG_BYTES 8
#define FLOW_MAX 19              /* proto, IPv6 address, port */

static int hex_decode(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > max)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

int pcscf_token_key_init(struct pcscf *p, const char *hex)
{
    if (hex && *hex) {
        int n = hex_decode(hex, p->token_key, sizeof(p->token_key));
        if (n < 16)
            return -EINVAL;
        p->token_key_len = (size_t)n;
        return 0;
    }
    if (RAND_bytes(p->token_key, sizeof(p->token_key)) != 1)
        return -EIO;
    p->token_key_len = sizeof(p->token_key);
    return 0;
}

/* The transports of a flow and their byte in a flow token: a TLS flow is its connection */
static const struct {
    char byte;
    const char *proto;
} protos[] = { { 'u', "udp" }, { 't', "tcp" }, { 's', "tls" } };

static const char *proto_of(uint8_t byte)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].byte == (char)byte)
            return protos[i].proto;
    return NULL;
}

/* The bytes of a flow: proto ('u', 't' or 's'), address (4 or 16), port (2). 0 on failure. */
static size_t flow_bytes(const struct ims_sip_source *src, uint8_t *out)
{
    out[0] = 0;
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (strcmp(src->proto, protos[i].proto) == 0)
            out[0] = (uint8_t)protos[i].byte;
    if (!out[0])
        return 0;
    size_t n;
    if (inet_pton(AF_INET, src->ip, out + 1) == 1)
        n = 1 + 4;
    else if (inet_pton(AF_INET6, src->ip, out + 1) == 1)
        n = 1 + 16;
    else
        return 0;
    out[n] = (uint8_t)(src->port >> 8);
    out[n + 1] = (uint8_t)(src->port & 0xff);
    return n + 2;
}

int pcscf_flow_token(const struct pcscf *p, const struct ims_sip_source *src, char *out,
                     size_t len)
{
    uint8_t flow[FLOW_MAX];
    size_t n = flow_bytes(src, flow);
    if (!n || len < 2 * (n + TAG_BYTES) + 1)
        return -EINVAL;
    ims_hex_encode(flow, n, out);
    return ims_hmac_tag(p->token_key, p->token_key_len, flow, n, TAG_BYTES, out + 2 * n);
}

int pcscf_flow_parse(const struct pcscf *p, const char *token, struct ims_sip_source *out)
{
    uint8_t bytes[FLOW_MAX + TAG_BYTES];
    char want[2 * TAG_BYTES + 1];
    int n = hex_decode(token, bytes, sizeof(bytes));
    if (n != 1 + 4 + 2 + TAG_BYTES && n != 1 + 16 + 2 + TAG_BYTES)
        return -EINVAL;
    size_t flen = (size_t)n - TAG_BYTES;
    if (!proto_of(bytes[0]) ||
        ims_hmac_tag(p->token_key, p->token_key_len, bytes, flen, TAG_BYTES, want) != 0 ||
        !ims_token_equal(want, token + 2 * flen))
        return -EINVAL;
    struct sockaddr_storage ss = { 0 };
    unsigned port = (unsigned)bytes[flen - 2] << 8 | bytes[flen - 1];
    if (flen == 1 + 4 + 2) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, bytes + 1, 4);
        s4->sin_port = htons((uint16_t)port);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, bytes + 1, 16);
        s6->sin6_port = htons((uint16_t)port);
    }
    ims_sip_source_set_proto(out, (const struct sockaddr *)&ss, proto_of(bytes[0]));
    return 0;
}

int pcscf_dialog_token(const struct pcscf *p, const struct ims_sip_source *src,
                       const char *call_id, const char *routes, char *out, size_t len)
{
    char data[8192];
    int n = snprintf(data, sizeof(data), "dialog|%s|%s|%s", src->key, call_id ? call_id : "",
                     routes ? routes : "");
    if (n < 0 || (size_t)n >= sizeof(data) || len < 2 * TAG_BYTES + 1 || !src->key[0])
        return -EINVAL;
    return ims_hmac_tag(p->token_key, p->token_key_len, data, (size_t)n, TAG_BYTES, out);
}

bool pcscf_dialog_token_ok(const struct pcscf *p, const struct ims_sip_source *src,
                           const char *call_id, const char *routes, const char *token)
{
    char want[2 * TAG_BYTES + 1];
    return token && pcscf_dialog_token(p, src, call_id, routes, want, sizeof(want)) == 0 &&
           ims_token_equal(want, token);
}
