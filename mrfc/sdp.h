/*
 * sdp.h - the MRF's side of the SDP offer/answer model (RFC 3264) for one audio stream
 *
 * Reads an offer (or the answer to our own offer) with sofia-sip's SDP parser, picks the
 * first audio stream with a codec we have (G.711 mu-law PT 0, A-law PT 8; the offerer's
 * order wins), telephone-event (RFC 4733) when offered, the direction, and writes the
 * answer or an offer of ours as text. Pure functions: no sockets, no SIP.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_SDP_H
#define MRFC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MRFC_SDP_MAX_MEDIA 8      /* m= lines of an offer we answer */
#define MRFC_TE_PT_OFFER 101      /* telephone-event payload type of our own offers */
#define MRFC_PTIME 20             /* packetisation we send, in ms */

enum mrfc_codec {
    MRFC_CODEC_PCMU = 0,          /* the values are the static payload types (RFC 3551) */
    MRFC_CODEC_PCMA = 8,
};

/* Direction bits, from our point of view */
#define MRFC_DIR_SEND 0x1
#define MRFC_DIR_RECV 0x2
#define MRFC_DIR_SENDRECV (MRFC_DIR_SEND | MRFC_DIR_RECV)

/* What was agreed for the audio stream, and what the answer must repeat of the others */
struct mrfc_sdp_neg {
    int audio;                    /* index of the m= line used */
    int nmedia;                   /* m= lines of the offer */
    struct {
        char media[16];           /* "video" */
        char rest[48];            /* "RTP/AVP 96": proto and first format */
    } rejected[MRFC_SDP_MAX_MEDIA];                 /* the other m= lines, answered port 0 */
    bool ip6;
    char addr[64];                /* the peer's RTP address (numeric) */
    uint16_t port;                /* its RTP port (0: the stream is rejected) */
    uint16_t rtcp_port;           /* a=rtcp (RFC 3605) or port + 1 */
    int codec;                    /* enum mrfc_codec */
    uint8_t pt;                   /* its payload type (the static one, unless renumbered) */
    int te_pt;                    /* telephone-event payload type, -1 when not offered */
    unsigned dir;                 /* MRFC_DIR_* we use: what we want, as the peer allows */
    unsigned ptime;               /* the peer's a=ptime, 0 when absent */
};

/*
 * mrfc_sdp_negotiate - read the SDP @body (@len bytes) of the peer, offer or answer, and
 * choose what we use when we want directions @want (MRFC_DIR_*). @codecs: the codecs we
 * accept, in a bit set of (1 << enum mrfc_codec).
 * Returns 0 with @out filled; -EINVAL when the body is not valid SDP; -ENOTSUP when there
 * is no audio stream we can take (no common codec, not RTP/AVP, multicast, a port of 0 on
 * every audio line). @why receives the reason of a failure.
 */
int mrfc_sdp_negotiate(const char *body, size_t len, unsigned want, uint32_t codecs,
                       struct mrfc_sdp_neg *out, char *why, size_t whylen);

/* Our side of the session description */
struct mrfc_sdp_local {
    const char *addr;             /* numeric address of our RTP socket */
    bool ip6;
    uint16_t port;
    uint64_t id, version;         /* o= session id and version */
    const char *user;             /* o= user name ("-" when NULL) */
    const char *fingerprint;      /* a=fingerprint of a TCP/TLS cfw answer ("sha-256 AB:..") */
};

/*
 * mrfc_sdp_answer - write the answer to the offer read into @neg: the same m= lines in
 * the same order, the audio one with the chosen codec (and telephone-event when offered),
 * a=ptime and the direction, the others with port 0.
 * Returns the length written (without the NUL), or -ENOSPC.
 */
int mrfc_sdp_answer(char *buf, size_t cap, const struct mrfc_sdp_local *l,
                    const struct mrfc_sdp_neg *neg);

/*
 * mrfc_sdp_offer - write an offer of ours (for an INVITE that came without one): audio with
 * the codecs of @codecs (mu-law first), telephone-event MRFC_TE_PT_OFFER, directions @dir.
 * Returns the length, or -ENOSPC.
 */
int mrfc_sdp_offer(char *buf, size_t cap, const struct mrfc_sdp_local *l, uint32_t codecs,
                   unsigned dir);

/* ---- the Cr control channel (RFC 6230 section 5, COMEDIA of RFC 4145) ---- */

#define MRFC_SDP_FP_LINES 4       /* a=fingerprint lines kept */
#define MRFC_SDP_FP_TEXT 208      /* "sha-512 " and 64 hex pairs with colons */

/* An offer's m=application <port> TCP cfw (or TCP/TLS cfw) line */
struct mrfc_sdp_cfw {
    int index;                    /* of the m= line, -1: none */
    int nmedia;
    struct {
        char media[16];
        char rest[48];
    } rejected[MRFC_SDP_MAX_MEDIA];   /* the other lines, answered with port 0 */
    bool tls;                     /* TCP/TLS */
    char setup[16];               /* a=setup: active, passive, actpass, holdconn */
    char connection[16];          /* a=connection: new, existing */
    char cfw_id[128];             /* a=cfw-id */
    char packages[256];           /* every a=ctrl-package, comma-separated */
    char fingerprint[MRFC_SDP_FP_LINES][MRFC_SDP_FP_TEXT];   /* a=fingerprint values (RFC
                                     8122), of the m= line or else of the session */
    int nfp;
    bool ip6;
    char addr[64];                /* the c= address the AS connects from */
    uint16_t port;
};

/*
 * mrfc_sdp_cfw_read - look for a control channel line in SDP @body. Returns 0 with
 * @out->index >= 0 when there is one (its attributes read, not judged), or -1 when there is
 * none; -EINVAL when the body is no valid SDP; -ENOTSUP when the line is there but unusable
 * (no c= address, more than MRFC_SDP_MAX_MEDIA lines). @why says why.
 */
int mrfc_sdp_cfw_read(const char *body, size_t len, struct mrfc_sdp_cfw *out, char *why,
                      size_t whylen);

/*
 * mrfc_sdp_cfw_answer - the answer of the MRF to control channel offer @o: the same lines,
 * the cfw one with @port, a=setup:passive (the AS connects), a=connection:new, the cfw-id
 * and a=ctrl-package for each of comma-separated @packages (with TCP/TLS, also
 * a=fingerprint:@l->fingerprint, RFC 8122); the others with port 0.
 * Returns the length, or -ENOSPC.
 */
int mrfc_sdp_cfw_answer(char *buf, size_t cap, const struct mrfc_sdp_local *l,
                        const struct mrfc_sdp_cfw *o, uint16_t port, const char *packages);

/* "sendrecv", "sendonly", "recvonly" or "inactive" for MRFC_DIR_* @dir */
const char *mrfc_sdp_dir_name(unsigned dir);
/* "PCMU" or "PCMA" */
const char *mrfc_codec_name(int codec);

#endif
