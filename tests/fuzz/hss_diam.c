/*
 * hss_diam.c - fuzz harness of the HSS's Diameter servers: Cx (hss/cx.c: UAR, MAR, SAR,
 * LIR, with the user profile of hss/user_data.c in the SAA) and Sh (hss/sh.c: UDR, PUR with
 * its Sh-Data XML, SNR, and the PNRs they cause), fed freeDiameter-parsed messages
 *
 * Input: up to four Diameter messages back to back (tests/fuzz/fuzz_diam.h), against an
 * in-memory database holding the lab's subscribers (deploy/lab/subscribers.json), restored
 * after each input. IMS_FUZZ_SEEDS=<dir> writes the seed corpus and exits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_diam.h"
#include "fuzz_db.h"
#include "hss.h"

#define ALICE_IMPI "alice@" FUZZ_REALM
#define ALICE "sip:alice@" FUZZ_REALM
#define SCSCF "sip:scscf." FUZZ_REALM ":5060"

static struct hss h;
static char *sh_peers[] = { "*." FUZZ_REALM, NULL };

static struct msg *cx(enum ims_cmd cmd, const char *impi, const char *impu)
{
    struct msg *m = ims_diam_request_new(cmd, FUZZ_REALM, NULL);
    if (!m || (impi && ims_avp_add_str(m, IMS_AVP_USER_NAME, impi)) ||
        (impu && ims_avp_add_str(m, IMS_AVP_PUBLIC_IDENTITY, impu)))
        abort();
    return m;
}

static struct msg *sar(int type)
{
    struct msg *m = cx(IMS_CMD_SAR, ALICE_IMPI, ALICE);
    if (ims_avp_add_str(m, IMS_AVP_SERVER_NAME, SCSCF) ||
        ims_avp_add_i32(m, IMS_AVP_SERVER_ASSIGNMENT_TYPE, type) ||
        ims_avp_add_i32(m, IMS_AVP_USER_DATA_ALREADY_AVAILABLE, 0))
        abort();
    return m;
}

static struct msg *mar(const char *scheme, const uint8_t *authorization, size_t len)
{
    struct msg *m = cx(IMS_CMD_MAR, ALICE_IMPI, ALICE);
    struct avp *item = ims_avp_add_group(m, IMS_AVP_SIP_AUTH_DATA_ITEM);
    if (!item || ims_avp_add_str(item, IMS_AVP_SIP_AUTHENTICATION_SCHEME, scheme) ||
        (len && ims_avp_add_octets(item, IMS_AVP_SIP_AUTHORIZATION, authorization, len)) ||
        ims_avp_add_u32(m, IMS_AVP_SIP_NUMBER_AUTH_ITEMS, 2) ||
        ims_avp_add_str(m, IMS_AVP_SERVER_NAME, SCSCF))
        abort();
    return m;
}

/* an Sh request about @impu for the data references @refs */
static struct msg *sh(enum ims_cmd cmd, const char *impu, const int *refs, int n,
                      const char *si)
{
    struct msg *m = ims_diam_request_new(cmd, FUZZ_REALM, NULL);
    struct avp *ui = m ? ims_avp_add_group(m, IMS_AVP_USER_IDENTITY) : NULL;
    if (!ui || ims_avp_add_str(ui, IMS_AVP_PUBLIC_IDENTITY, impu))
        abort();
    for (int i = 0; i < n; i++)
        if (ims_avp_add_i32(m, IMS_AVP_DATA_REFERENCE, refs[i]))
            abort();
    if (si && ims_avp_add_str(m, IMS_AVP_SERVICE_INDICATION, si))
        abort();
    return m;
}

static struct msg *pur(int seq, bool data)
{
    static const int repo[] = { 0 };
    char doc[512];
    snprintf(doc, sizeof(doc), "<?xml version=\"1.0\"?><Sh-Data><RepositoryData>"
             "<ServiceIndication>mmtel-settings</ServiceIndication><SequenceNumber>%d"
             "</SequenceNumber>%s</RepositoryData></Sh-Data>", seq,
             data ? "<ServiceData><cfu xmlns=\"urn:example\" active=\"true\">tel:+15550100002"
                    "</cfu></ServiceData>" : "");
    struct msg *m = sh(IMS_CMD_PUR, ALICE, repo, 1, NULL);
    if (ims_avp_add_str(m, IMS_AVP_SH_USER_DATA, doc))
        abort();
    return m;
}

static struct msg *snr(int type)
{
    static const int refs[] = { 0, 11, 12, 13 };
    struct msg *m = sh(IMS_CMD_SNR, ALICE, refs, 4, "mmtel-settings");
    if (ims_avp_add_i32(m, IMS_AVP_SUBS_REQ_TYPE, type) ||
        ims_avp_add_i32(m, IMS_AVP_SEND_DATA_INDICATION, 1) ||
        ims_avp_add_time(m, IMS_AVP_EXPIRY_TIME, time(NULL) + 3600))
        abort();
    return m;
}

static void write_seeds(void)
{
    static const uint8_t auts[30] = { 1, 2, 3 };
    static const int udr_refs[] = { 0, 10, 11, 12, 13 };
    struct msg *m = cx(IMS_CMD_UAR, ALICE_IMPI, ALICE);
    ims_avp_add_str(m, IMS_AVP_VISITED_NETWORK_IDENTIFIER, FUZZ_REALM);
    ims_avp_add_i32(m, IMS_AVP_USER_AUTHORIZATION_TYPE, 0);
    fuzz_seed_add("uar.bin", m);
    fuzz_seed_add("mar_digest.bin", mar("SIP Digest", NULL, 0));
    fuzz_seed_add("mar_aka.bin", mar("Digest-AKAv1-MD5", NULL, 0));
    fuzz_seed_add("mar_resync.bin", mar("Digest-AKAv1-MD5", auts, sizeof(auts)));
    fuzz_seed_add("sar_register_lir.bin", sar(1));
    m = cx(IMS_CMD_LIR, NULL, ALICE);
    ims_avp_add_i32(m, IMS_AVP_ORIGINATING_REQUEST, 0);
    fuzz_seed_add("sar_register_lir.bin", m);
    fuzz_seed_add("sar_register_dereg.bin", sar(1));
    fuzz_seed_add("sar_register_dereg.bin", sar(7));
    fuzz_seed_add("sar_register_dereg.bin", sar(9));
    fuzz_seed_add("udr.bin", sh(IMS_CMD_UDR, ALICE, udr_refs, 5, "mmtel-settings"));
    fuzz_seed_add("pur_snr.bin", snr(0));
    fuzz_seed_add("pur_snr.bin", pur(0, true));
    fuzz_seed_add("pur_snr.bin", pur(1, false));
    fuzz_seed_add("pur_snr.bin", snr(1));
    fuzz_seed_add("snr_sar.bin", snr(0));
    fuzz_seed_add("snr_sar.bin", sar(1));
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_diam_init("hss", IMS_APP_BIT(IMS_APP_CX) | IMS_APP_BIT(IMS_APP_SH));
    h.vectors_max = 4;
    h.sh_peers = sh_peers;
    snprintf(h.realm, sizeof(h.realm), FUZZ_REALM);
    snprintf(h.default_ccf, sizeof(h.default_ccf), "aaa://ocs." FUZZ_REALM);
    json_error_t e;
    json_t *doc = json_loads(fuzz_file("deploy/lab/subscribers.json"), 0, &e);
    json_t *docs = json_object_get(doc, "subscribers");
    struct hss_put_result res[8];
    size_t failed;
    if (!json_is_array(docs) || json_array_size(docs) > 8 ||
        ims_db_open(&h.db, ":memory:", hss_db_migrations, hss_db_nmigrations) != 0 ||
        hss_subscriber_seed(h.db, docs, res, &failed) != 0 || hss_cx_init(&h) != 0 ||
        hss_sh_init(&h) != 0)
        abort();
    json_decref(doc);
    if (fuzz_seed_dir())
        write_seeds();
    fuzz_db_snapshot(h.db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_diam_run(data, size);
    hss_lock();
    fuzz_db_restore(h.db);
    hss_unlock();
    return 0;
}
