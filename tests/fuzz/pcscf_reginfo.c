/*
 * pcscf_reginfo.c - fuzz harness of reginfo reading and applying (pcscf/reginfo.c)
 *
 * Input: a reginfo document, as the body of a reg-event NOTIFY. A parsed document is applied
 * to a binding of alice with two contacts: contacts are only ever removed, and only when a
 * registration of one of alice's identities is in the document.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "pcscf.h"

#include <strings.h>

#define ALICE "sip:alice@ims.mnc001.mcc001.3gppnetwork.org"
#define ALICE_TEL "tel:+15550100001"

static void alice(struct pcscf_binding *b)
{
    memset(b, 0, sizeof(*b));
    b->impu = ALICE;
    b->ids[0] = ALICE;
    b->ids[1] = ALICE_TEL;
    b->nids = 2;
    b->contacts[0] = (struct pcscf_contact){ "sip:alice@127.0.0.110:5060", 1000 };
    b->contacts[1] = (struct pcscf_contact){ "sip:alice@127.0.0.110:5070", 2000 };
    b->ncontacts = 2;
    b->expires = 2000;
}

/* does @ri name one of alice's identities? */
static bool names_alice(const struct pcscf_reginfo *ri)
{
    for (int r = 0; r < ri->nregs; r++) {
        char n[PCSCF_URI_MAX];
        if (pcscf_impu_norm(ri->regs[r].aor, n, sizeof(n)) == 0 &&
            (strcasecmp(n, ALICE) == 0 || strcasecmp(n, ALICE_TEL) == 0))
            return true;
    }
    return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("pcscf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pcscf_reginfo ri;
    char err[160];
    if (pcscf_reginfo_parse((const char *)data, size, &ri, err, sizeof(err)) != 0) {
        FUZZ_ASSERT(err[0], "refused without a reason");
        return 0;
    }
    FUZZ_ASSERT(ri.nregs >= 0 && ri.nregs <= PCSCF_RI_MAX_REGS, "%d registrations", ri.nregs);
    for (int r = 0; r < ri.nregs; r++) {
        FUZZ_ASSERT(ri.regs[r].aor[0], "registration without aor kept");
        FUZZ_ASSERT(ri.regs[r].ncontacts <= PCSCF_RI_MAX_CONTACTS, "contacts");
        for (int c = 0; c < ri.regs[r].ncontacts; c++)
            pcscf_reginfo_contact_ended(&ri.regs[r].contacts[c]);
    }
    struct pcscf_binding b;
    alice(&b);
    int removed = pcscf_reginfo_apply(&ri, &b);
    FUZZ_ASSERT(removed >= 0 && removed <= 2 && b.ncontacts == 2 - removed, "removed %d, left %d",
                removed, b.ncontacts);
    FUZZ_ASSERT(removed == 0 || names_alice(&ri), "alice's contacts removed by another user's "
                "registration");
    return 0;
}
