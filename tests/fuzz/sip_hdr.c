/*
 * sip_hdr.c - fuzz harness of the SIP header helpers (common/sip_hdr.c) and of the charging
 * fields read from a request (common/charging.c): Authorization parameters, the identities
 * of a request, P-Charging-Vector, P-Charging-Function-Addresses, P-Visited-Network-ID,
 * name-addr lists (P-Associated-URI, P-Called-Party-ID, Path)
 *
 * Input: a SIP message as it arrives. Its text (to the first NUL) is also given whole to
 * each header value parser. A value that parses and formats must parse again to the same.
 * Then the message is edited as the CSCFs do (P-Asserted-Identity, unknown headers, Route).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "charging.h"
#include "sip_hdr.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>

/* field-by-field: a parameter given twice leaves bytes of the first past the second's NUL */
static bool pcv_same(const struct ims_pcv *a, const struct ims_pcv *b)
{
    return !strcmp(a->icid, b->icid) && !strcmp(a->generated_at, b->generated_at) &&
           !strcmp(a->orig_ioi, b->orig_ioi) && !strcmp(a->term_ioi, b->term_ioi);
}

static bool pcfa_same(const struct ims_pcfa *a, const struct ims_pcfa *b)
{
    if (a->nccf != b->nccf || a->necf != b->necf)
        return false;
    for (int i = 0; i < a->nccf; i++)
        if (strcmp(a->ccf[i], b->ccf[i]))
            return false;
    for (int i = 0; i < a->necf; i++)
        if (strcmp(a->ecf[i], b->ecf[i]))
            return false;
    return true;
}

static bool pvni_same(const struct ims_pvni *a, const struct ims_pvni *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->id[i], b->id[i]))
            return false;
    return true;
}

static void pcv(const char *v)
{
    struct ims_pcv a, b;
    char buf[600];
    if (!v || ims_pcv_parse(v, &a) != 0)
        return;
    if (ims_pcv_format(&a, buf, sizeof(buf)) < 0)
        return;
    FUZZ_ASSERT(ims_pcv_parse(buf, &b) == 0 && pcv_same(&a, &b),
                "P-Charging-Vector [%s] formatted as [%s] reads back otherwise", v, buf);
}

static void pcfa(const char *v)
{
    struct ims_pcfa a, b;
    char buf[1200];
    if (!v || ims_pcfa_parse(v, &a) != 0)
        return;
    if (ims_pcfa_format(&a, buf, sizeof(buf)) < 0)
        return;
    FUZZ_ASSERT(ims_pcfa_parse(buf, &b) == 0 && pcfa_same(&a, &b),
                "P-Charging-Function-Addresses [%s] formatted as [%s] reads back otherwise",
                v, buf);
}

static void pvni(const char *v)
{
    struct ims_pvni a, b;
    char buf[1200];
    if (!v || ims_pvni_parse(v, &a) != 0)
        return;
    if (ims_pvni_format(&a, buf, sizeof(buf)) < 0)
        return;
    FUZZ_ASSERT(ims_pvni_parse(buf, &b) == 0 && pvni_same(&a, &b),
                "P-Visited-Network-ID [%s] formatted as [%s] reads back otherwise", v, buf);
}

static void addr_list(const char *v)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char buf[2048];
    sip_route_t *l = v ? ims_addr_list_parse(home, v) : NULL;
    if (l)
        ims_addr_list_format(l, buf, sizeof(buf));
    su_home_deinit(home);
}

static void values(const char *v)
{
    pcv(v);
    pcfa(v);
    pvni(v);
    addr_list(v);
}

static void identities(const sip_t *sip)
{
    static const char *const params[] = { "username", "realm", "nonce", "uri", "response",
                                          "algorithm", "auts", "qop", "nc", "cnonce" };
    static const char *const hosts[] = { "pcscf.ims.mnc001.mcc001.3gppnetwork.org",
                                         "127.0.0.10", NULL };
    char buf[256];
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        ims_sip_auth_param(sip, params[i], buf, sizeof(buf));
    ims_sip_impi_of(sip, buf, sizeof(buf));
    ims_sip_register_expires(sip, 3600);
    const url_t *urls[] = { sip->sip_request ? sip->sip_request->rq_url : NULL,
                            sip->sip_to ? sip->sip_to->a_url : NULL,
                            sip->sip_from ? sip->sip_from->a_url : NULL,
                            sip->sip_route ? sip->sip_route->r_url : NULL };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        if (ims_sip_impu_of(urls[i], buf, sizeof(buf)) == 0)
            FUZZ_ASSERT(strlen(buf) < sizeof(buf), "identity");
        ims_sip_target_of(urls[i], buf, sizeof(buf));
        ims_sip_url_is_local(urls[i], hosts, 5060);
    }
    if (sip->sip_request) {
        struct ims_chg_fields f;
        ims_chg_fields_of(sip, NULL, &f);
        ims_chg_fields_pcv(&f, ims_sip_header(sip, "P-Charging-Vector"));
    }
}

/* the edits of the P-CSCF and S-CSCF on a request */
static void edit(msg_t *msg, sip_t *sip)
{
    ims_sip_paid_remove(msg, sip);
    if (sip->sip_from) {
        char id[256];
        if (ims_sip_impu_of(sip->sip_from->a_url, id, sizeof(id)) == 0)
            ims_sip_paid_add(msg, sip, id);
        ims_sip_path_push(msg, sip, sip->sip_from->a_url);
        ims_sip_record_route_push(msg, sip, sip->sip_from->a_url);
    }
    const char *v = ims_sip_header(sip, "P-Charging-Vector");
    char *copy = v ? strdup(v) : NULL;
    ims_sip_header_set(msg, sip, "P-Charging-Vector", copy ? copy : "icid-value=1");
    free(copy);
    ims_sip_header_remove(msg, sip, "P-Visited-Network-ID");
    ims_sip_route_prepend(msg, sip, "<sip:scscf.ims.mnc001.mcc001.3gppnetwork.org;lr>");
    size_t len;
    char *text = msg_as_string(msg_home(msg), msg, NULL, 0, &len);
    FUZZ_ASSERT(!text || strlen(text) <= len, "message text");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("sip_hdr");
    sip_update_default_mclass(sip_extend_mclass(NULL));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    values(text);
    free(text);
    msg_t *msg = msg_make(sip_default_mclass(), 0, data, (ssize_t)size);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    if (sip && (sip->sip_request || sip->sip_status)) {
        static const char *const names[] = {
            "P-Charging-Vector", "P-Charging-Function-Addresses", "P-Visited-Network-ID",
            "P-Associated-URI", "P-Called-Party-ID",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            for (const sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
                if (u->un_name && u->un_value && strcasecmp(u->un_name, names[i]) == 0)
                    values(u->un_value);
        identities(sip);
        if (sip->sip_request)
            edit(msg, sip);
    }
    if (msg)
        msg_destroy(msg);
    return 0;
}
