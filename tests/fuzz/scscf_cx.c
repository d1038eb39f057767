/*
 * scscf_cx.c - fuzz harness of the S-CSCF's Cx server (scscf/cx.c: RTR and PPR from the
 * HSS), with what they reach: the network-initiated de-registration of scscf/registrar.c,
 * the profile's identities (scscf/profile.c) and the store (scscf/store.c, store_db.c on an
 * in-memory database, its writer thread running)
 *
 * Input: up to 4 Diameter messages back to back (tests/fuzz/fuzz_diam.h), as the HSS sends
 * them. Before each input two registration sets are stored, alice's (IMPI alice@, IMPUs
 * sip:alice@ and tel:+15550100001) and bob's, with one binding each; after it, every set
 * left is removed. The handlers run on freeDiameter's side and hand their work to the
 * loop thread, as in the daemon. Properties, besides ASan/UBSan and those of fuzz_diam.h
 * (every answer encodes and reads back with the dictionary, within 10 s): after the input
 * each set left is found again by each of its identities, and its bindings are its own.
 *
 * Seeds: IMS_FUZZ_SEEDS=<dir> build-fuzz/fuzz/scscf_cx writes RTRs and PPRs built as an
 * HSS builds them (TS 29.229), then exits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_diam.h"
#include "fuzz_loop.h"
#include "scscf.h"

#define ALICE_IMPI "alice@" FUZZ_REALM
#define ALICE "sip:alice@" FUZZ_REALM
#define ALICE_TEL "tel:+15550100001"
#define BOB_IMPI "bob@" FUZZ_REALM
#define BOB "sip:bob@" FUZZ_REALM

static struct ims_daemon d;
static struct scscf s;

static const char profile_fmt[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription><PrivateID>%s</PrivateID>"
    "<ServiceProfile><PublicIdentity><Identity>%s</Identity></PublicIdentity>"
    "%s%s%s</ServiceProfile></IMSSubscription>";

static char *profile(const char *impi, const char *impu, const char *tel)
{
    char *p = NULL;
    if (asprintf(&p, profile_fmt, impi, impu, tel ? "<PublicIdentity><BarringIndication>0"
                 "</BarringIndication><Identity>" : "", tel ? tel : "",
                 tel ? "</Identity></PublicIdentity>" : "") < 0)
        abort();
    return p;
}

/* ---- registrations before and after each input (on the loop thread) ---- */

static void store_one(const char *impi, const char *impu, const char *tel, int port)
{
    char *p = profile(impi, impu, tel);
    struct scscf_aor *aor = scscf_store_upsert(&s, impu, p);
    free(p);
    if (!aor)
        abort();
    struct scscf_contact_in c;
    memset(&c, 0, sizeof(c));
    snprintf(c.uri, sizeof(c.uri), "sip:%.20s@127.0.0.120:%d", impi, port);
    snprintf(c.impi, sizeof(c.impi), "%s", impi);
    c.expires = time(NULL) + 3600;
    if (scscf_store_bind(&s, aor, &c, 0) != 0)
        abort();
    scscf_store_touch(&s, aor);
}

static void populate(void *arg)
{
    (void)arg;
    store_one(ALICE_IMPI, ALICE, ALICE_TEL, 5301);
    store_one(BOB_IMPI, BOB, NULL, 5302);
}

/* Each set left is found by each of its identities; its bindings are of it */
static void check_and_clear(void *arg)
{
    (void)arg;
    while (s.all) {
        struct scscf_aor *a = s.all;
        for (int i = 0; i < a->nimpus; i++)
            FUZZ_ASSERT(scscf_store_find(&s, a->impus[i]) == a,
                        "identity %s of a set does not find it", a->impus[i]);
        for (const struct scscf_contact *c = a->contacts; c; c = c->next)
            FUZZ_ASSERT(c->impi[0], "a binding without its IMPI");
        scscf_store_remove(&s, a);
    }
}

static void nothing(void *arg)
{
    (void)arg;
}

/* @fn on the loop thread, waited for */
static void on_loop(void (*fn)(void *), void *arg)
{
    if (ims_loop_call(d.loop, fn, arg, 10000) != 0)
        abort();
}

/* ---- seeds ---- */

static struct msg *cx(enum ims_cmd cmd, const char *impi)
{
    struct msg *m = ims_diam_request_new(cmd, FUZZ_REALM, "scscf." FUZZ_REALM);
    if (!m || ims_avp_add_str(m, IMS_AVP_USER_NAME, impi))
        abort();
    return m;
}

static struct msg *rtr(const char *impi, const char *const *impus, int n, int code,
                       const char *info)
{
    struct msg *m = cx(IMS_CMD_RTR, impi);
    struct avp *dr = ims_avp_add_group(m, IMS_AVP_DEREGISTRATION_REASON);
    if (!dr || ims_avp_add_i32(dr, IMS_AVP_REASON_CODE, code) ||
        (info && ims_avp_add_str(dr, IMS_AVP_REASON_INFO, info)))
        abort();
    for (int i = 0; i < n; i++)
        if (ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impus[i]))
            abort();
    return m;
}

static struct msg *ppr(const char *impi, const char *impu, const char *tel)
{
    struct msg *m = cx(IMS_CMD_PPR, impi);
    char *p = profile(impi, impu, tel);
    if (ims_avp_add_str(m, IMS_AVP_USER_DATA, p))
        abort();
    free(p);
    return m;
}

static void write_seeds(void)
{
    static const char *const alice_tel[] = { ALICE_TEL };
    static const char *const both[] = { BOB, ALICE };
    fuzz_seed_add("rtr_impi.bin", rtr(ALICE_IMPI, NULL, 0, 0, "PERMANENT_TERMINATION"));
    fuzz_seed_add("rtr_impu.bin", rtr(ALICE_IMPI, alice_tel, 1, 2, NULL));
    fuzz_seed_add("rtr_two.bin", rtr(BOB_IMPI, both, 2, 1, "NEW_SERVER_ASSIGNED"));
    fuzz_seed_add("ppr.bin", ppr(ALICE_IMPI, ALICE, ALICE_TEL));
    fuzz_seed_add("ppr_rtr.bin", ppr(BOB_IMPI, BOB, "tel:+15550100002"));
    fuzz_seed_add("ppr_rtr.bin", rtr(BOB_IMPI, NULL, 0, 3, "SERVER_CHANGE"));
    fuzz_seed_add("ppr_unknown.bin", ppr("carol@" FUZZ_REALM, "sip:carol@" FUZZ_REALM, NULL));
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_diam_init("scscf", IMS_APP_BIT(IMS_APP_CX));
    if (fuzz_seed_dir())
        write_seeds();
    d.loop = fuzz_loop_start(NULL);
    s.d = &d;
    snprintf(s.name, sizeof(s.name), "sip:scscf.%s:5060", FUZZ_REALM);
    if (!d.loop || scscf_store_init(&s, ":memory:", false) != 0 ||
        scscf_store_start(&s) != 0 || scscf_cx_init(&s) != 0)
        abort();
    scscf_registrar_metrics();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    on_loop(populate, NULL);
    fuzz_diam_run(data, size);
    on_loop(check_and_clear, NULL);
    /* the store's writer frees its batches once committed: wait for it, so that what an
     * input allocates is freed within it (else libFuzzer looks for leaks after each) */
    FUZZ_ASSERT(scscf_store_sync(&s, 10000) == 0, "the store does not commit");
    on_loop(nothing, NULL);
    return 0;
}
