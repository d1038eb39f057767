/*
 * scscf_ifc_match.c - fuzz harness of iFC matching against SIP requests (scscf/ifc.c):
 * Request-URI and header regexes, SDP line matching, the multipart body parser
 *
 * Input: a SIP request as it arrives (parsed by sofia-sip like nta does). It is matched,
 * for every session case, registration state and registration type, against alice's iFCs of
 * tests/fuzz/ifc_doc.h, which hold an SPT of every kind.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "ifc.h"
#include "ifc_doc.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>

static struct scscf_ifc_set *set;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    fuzz_logs("scscf");
    sip_update_default_mclass(sip_extend_mclass(NULL));
    struct scscf_ifc_shared *shared = scscf_ifc_shared_parse(ifc_shared_doc,
                                                             strlen(ifc_shared_doc), err,
                                                             sizeof(err));
    set = shared ? scscf_ifc_parse(ifc_doc, strlen(ifc_doc), IFC_ALICE, shared, err,
                                   sizeof(err))
                 : NULL;
    if (!set || scscf_ifc_count(set) != 4) {
        fprintf(stderr, "the iFCs of ifc_doc.h do not compile: %s\n", err);
        abort();
    }
    scscf_ifc_shared_free(shared);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, data, (ssize_t)size);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    if (sip && sip->sip_request) {
        for (int sc = SCSCF_ORIG; sc <= SCSCF_ORIG_CDIV; sc++) {
            for (int rt = SCSCF_REG_UNKNOWN; rt <= SCSCF_REG_DE; rt++) {
                struct scscf_ifc_ctx ctx = { sip, sc, rt != SCSCF_REG_DE, rt };
                int last = -1;
                for (int i = scscf_ifc_next(set, 0, &ctx); i >= 0;
                     i = scscf_ifc_next(set, i + 1, &ctx)) {
                    FUZZ_ASSERT(i > last && i < scscf_ifc_count(set), "index %d", i);
                    last = i;
                }
            }
        }
    }
    if (msg)
        msg_destroy(msg);
    return 0;
}
