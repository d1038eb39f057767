/*
 * scscf_ifc_xml.c - fuzz harness of the iFC and user-profile documents the S-CSCF reads
 * from the SAA / PPR User-Data (scscf/ifc.c, scscf/profile.c)
 *
 * Input: a first line naming the public identity to pick the profile for, then the
 * document. It is read as an IMSSubscription (iFCs of that identity, with the shared sets of
 * the same document read as SharedIFCSets), and for the identities of the registered set;
 * every compiled set is then matched against a few fixed requests.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "ifc.h"
#include "ifc_doc.h"
#include "scscf.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>

static msg_t *requests[3];

/* request head (without Content-Length) and body */
static const char *const texts[][2] = {
    { "INVITE sip:bob@ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bK1\r\nFrom: <" IFC_ALICE ">;tag=1\r\n"
      "To: <sip:bob@ims.mnc001.mcc001.3gppnetwork.org>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
      "Max-Forwards: 70\r\nAccept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7\"\r\n"
      "Content-Type: application/sdp\r\n",
      "v=0\r\nc=IN IP4 127.0.0.110\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n" },
    { "REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bK2\r\nFrom: <" IFC_ALICE ">;tag=2\r\n"
      "To: <" IFC_ALICE ">\r\nCall-ID: c2\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"
      "Event: registration\r\n", "" },
    { "MESSAGE tel:+15550100002 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bK3\r\nFrom: <tel:+15550100001>;tag=3\r\n"
      "To: <tel:+15550100002>\r\nCall-ID: c3\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
      "Content-Type: multipart/mixed;boundary=b1\r\n",
      "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\na=sendrecv\r\n--b1--\r\n" },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("scscf");
    sip_update_default_mclass(sip_extend_mclass(NULL));
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char text[1024];
        int n = snprintf(text, sizeof(text), "%sContent-Length: %zu\r\n\r\n%s", texts[i][0],
                         strlen(texts[i][1]), texts[i][1]);
        requests[i] = msg_make(sip_default_mclass(), 0, text, n);
        if (!requests[i] || !sip_object(requests[i])->sip_request)
            abort();
    }
    return 0;
}

static void match_all(const struct scscf_ifc_set *set)
{
    int n = scscf_ifc_count(set);
    for (size_t r = 0; r < sizeof(requests) / sizeof(requests[0]); r++) {
        for (int sc = SCSCF_ORIG; sc <= SCSCF_ORIG_CDIV; sc++) {
            struct scscf_ifc_ctx ctx = { sip_object(requests[r]), sc, sc != SCSCF_TERM_UNREG,
                                         r == 1 ? SCSCF_REG_INITIAL : SCSCF_REG_UNKNOWN };
            int hits = 0;
            for (int i = scscf_ifc_next(set, 0, &ctx); i >= 0;
                 i = scscf_ifc_next(set, i + 1, &ctx)) {
                FUZZ_ASSERT(i < n && ++hits <= n, "index %d of %d", i, n);
                const struct scscf_ifc *f = scscf_ifc_get(set, i);
                FUZZ_ASSERT(f && f->as[0], "iFC %d without AS", i);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char *impu = fuzz_str(data, nl ? (size_t)(nl - data) : 0);
    const char *doc = nl ? (const char *)nl + 1 : (const char *)data;
    size_t len = nl ? size - (size_t)(nl + 1 - data) : size;
    char err[256];
    struct scscf_ifc_shared *shared = scscf_ifc_shared_parse(doc, len, err, sizeof(err));
    FUZZ_ASSERT(shared || err[0], "shared sets refused without a reason");
    struct scscf_ifc_set *set = scscf_ifc_parse(doc, len, impu, shared, err, sizeof(err));
    FUZZ_ASSERT(set || err[0], "profile refused without a reason");
    scscf_ifc_shared_free(shared);   /* the set keeps what it uses */
    if (set) {
        int ids[4];
        FUZZ_ASSERT(scscf_ifc_count(set) <= SCSCF_IFC_MAX, "too many iFCs");
        scscf_ifc_unknown_shared(set, ids, 4);
        scscf_ifc_profile_found(set);
        match_all(set);
        scscf_ifc_free(set);
    }
    /* the registered set's identities and barring, from a C string */
    char *text = fuzz_str((const uint8_t *)doc, len);
    static char idv[16][SCSCF_ID_MAX];
    bool barred[16];
    int n = scscf_profile_identities(text, idv, barred, 16);
    FUZZ_ASSERT(n <= 16, "%d identities", n);
    for (int i = 0; i < n; i++)
        FUZZ_ASSERT(strlen(idv[i]) < SCSCF_ID_MAX, "identity");
    free(text);
    free(impu);
    return 0;
}
