/*
 * mrfc_wire.c - fuzz harness of what the MRF reads from the network besides SIP itself:
 * the Cr control channel's framing (mrfc/cfw_msg.c, a TCP byte stream from an AS) and the
 * SDP of an INVITE (mrfc/sdp.c: the audio offer, and the control channel offer)
 *
 * Input: up to three parts separated by a line "%%": a CFW byte stream, an SDP body read
 * as an audio offer, an SDP body read as a control channel offer. Properties: the stream
 * is consumed message by message within its bounds; a valid message is written back by
 * mrfc_cfw_build() and reads again the same; a negotiated offer has an answer that is
 * itself valid SDP and negotiates to the same codec and port; the same for the control
 * channel's answer (with our a=fingerprint when TLS), and each a=fingerprint value of the
 * offer that mrfc_fp_parse() takes is written back by mrfc_fp_text() and reads the same.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include "fuzz.h"
#include "cfw_msg.h"
#include "cfw_tls.h"
#include "sdp.h"

#define ALL_CODECS ((1u << MRFC_CODEC_PCMU) | (1u << MRFC_CODEC_PCMA))

static const char *const method_names[] = { NULL, "SYNC", "CONTROL", "REPORT", "K-ALIVE" };

/* a valid message @m written back and read again: the same fields */
static void cfw_round_trip(const struct mrfc_cfw_msg *m)
{
    static char buf[MRFC_CFW_HEAD_MAX + MRFC_CFW_BODY_MAX + 64];
    if (m->method == MRFC_CFW_OTHER)
        return;
    struct mrfc_cfw_out o = {
        .tid = m->tid, .method = method_names[m->method], .status = m->status,
        .dialog_id = m->dialog_id[0] ? m->dialog_id : NULL,
        .package = m->package[0] ? m->package : NULL,
        .ctype = m->ctype[0] ? m->ctype : NULL, .keep_alive = m->keep_alive,
        .timeout = m->timeout, .body = m->body, .body_len = m->body_len,
    };
    long n = mrfc_cfw_build(buf, sizeof(buf), &o);
    if (n == -EINVAL || n == -ENOSPC)
        return;   /* a value that cannot be written back (a control character): refused */
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(buf), "build returned %ld", n);
    struct mrfc_cfw_msg back;
    long r = mrfc_cfw_parse(buf, (size_t)n, &back);
    FUZZ_ASSERT(r == n && !back.error[0], "a message written back reads %ld of %ld (%s)", r,
                n, back.error);
    FUZZ_ASSERT(strcmp(back.tid, m->tid) == 0 && back.method == m->method &&
                back.body_len == m->body_len &&
                (!m->body_len || memcmp(back.body, m->body, m->body_len) == 0),
                "a message written back reads differently");
}

static void cfw_stream(const uint8_t *d, size_t n)
{
    char *buf = fuzz_str(d, n);
    size_t off = 0;
    while (off < n) {
        struct mrfc_cfw_msg m;
        long r = mrfc_cfw_parse(buf + off, n - off, &m);
        if (r <= 0) {
            FUZZ_ASSERT(r == 0 || r == -EINVAL, "parse returned %ld", r);
            FUZZ_ASSERT(r == 0 || m.error[0], "a refusal without a reason");
            break;
        }
        FUZZ_ASSERT((size_t)r <= n - off, "parse took %ld of %zu bytes", r, n - off);
        if (!m.error[0]) {
            FUZZ_ASSERT(mrfc_cfw_tid_ok(m.tid), "valid message with a bad tid");
            FUZZ_ASSERT(!m.body || (m.body >= buf + off && m.body + m.body_len <= buf + off + r),
                        "body outside the message");
            cfw_round_trip(&m);
        }
        off += (size_t)r;
    }
    free(buf);
}

static void sdp_audio(const uint8_t *d, size_t n)
{
    char why[160], ans[4096];
    struct mrfc_sdp_neg neg, again;
    if (mrfc_sdp_negotiate((const char *)d, n, MRFC_DIR_SENDRECV, ALL_CODECS, &neg, why,
                           sizeof(why)) != 0)
        return;
    FUZZ_ASSERT(neg.audio >= 0 && neg.audio < neg.nmedia && neg.nmedia <= MRFC_SDP_MAX_MEDIA,
                "audio line %d of %d", neg.audio, neg.nmedia);
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 20000, .id = 1, .version = 1 };
    int len = mrfc_sdp_answer(ans, sizeof(ans), &l, &neg);
    if (len == -ENOSPC)
        return;
    FUZZ_ASSERT(len > 0, "no answer (%d)", len);
    int rc = mrfc_sdp_negotiate(ans, (size_t)len, MRFC_DIR_SENDRECV, ALL_CODECS, &again, why,
                                sizeof(why));
    FUZZ_ASSERT(rc == 0 || (rc == -ENOTSUP && neg.port == 0),
                "our answer does not negotiate (%d: %s):\n%s", rc, why, ans);
    FUZZ_ASSERT(rc != 0 || (again.codec == neg.codec && again.port == 20000),
                "our answer negotiates another codec or port:\n%s", ans);
}

/* each a=fingerprint value @o has that parses: written back, it reads the same */
static void fingerprints(const struct mrfc_sdp_cfw *o)
{
    for (int i = 0; i < o->nfp; i++) {
        struct mrfc_fp fp, back;
        char text[MRFC_FP_TEXT_MAX];
        if (mrfc_fp_parse(o->fingerprint[i], &fp) != 0)
            continue;
        int len = mrfc_fp_text(&fp, text, sizeof(text));
        FUZZ_ASSERT(len > 0, "a=fingerprint %s not written (%d)", o->fingerprint[i], len);
        FUZZ_ASSERT(mrfc_fp_parse(text, &back) == 0 && mrfc_fp_same_set(&fp, 1, &back, 1),
                    "a=fingerprint %s written as %s reads otherwise", o->fingerprint[i], text);
    }
}

static void sdp_cfw(const uint8_t *d, size_t n)
{
    char why[160], ans[4096];
    struct mrfc_sdp_cfw o, again;
    if (mrfc_sdp_cfw_read((const char *)d, n, &o, why, sizeof(why)) != 0 || o.index < 0)
        return;
    fingerprints(&o);
    struct mrfc_sdp_local l = { .addr = "127.0.0.60", .port = 0, .id = 1, .version = 1,
                                .fingerprint = "sha-256 0A:1B" };
    int len = mrfc_sdp_cfw_answer(ans, sizeof(ans), &l, &o, 7563,
                                  "msc-ivr/1.0,msc-mixer/1.0");
    if (len == -ENOSPC)
        return;
    FUZZ_ASSERT(len > 0, "no control channel answer (%d)", len);
    int rc = mrfc_sdp_cfw_read(ans, (size_t)len, &again, why, sizeof(why));
    FUZZ_ASSERT(rc == 0 && again.index == o.index && again.port == 7563,
                "our control channel answer reads back as %d (%s):\n%s", rc, why, ans);
    FUZZ_ASSERT(again.tls == o.tls && (!o.tls || (again.nfp == 1 &&
                                                  !strcmp(again.fingerprint[0], l.fingerprint))),
                "our TLS answer does not carry our a=fingerprint:\n%s", ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part;
    size_t len;
    if (fuzz_part(&data, &size, &part, &len))
        cfw_stream(part, len);
    if (fuzz_part(&data, &size, &part, &len))
        sdp_audio(part, len);
    if (fuzz_part(&data, &size, &part, &len))
        sdp_cfw(part, len);
    return 0;
}
