/*
 * mgcf_iw.c - fuzz harness of what the MGCF takes from the IMS side of a call (mgcf/
 * interwork.c, interwork_tables.c): the IAM of an INVITE (Request-URI, P-Asserted-Identity,
 * Privacy, cpc), the SDP offer or answer of a SIP message, and its Reason header
 *
 * Input: a SIP message as the I-CSCF, BGCF or a peer sends it (parsed by sofia-sip as nta
 * does). Properties, besides ASan/UBSan: an IAM made of an INVITE encodes, decodes to the
 * same called and calling numbers, and maps back (mgcf_iw_invite_from_iam, as for a call
 * from the PSTN) to a Request-URI with the same number; a refusal has a SIP status and a
 * reason; an SDP body read gives a numeric IPv4 address, a port (1 to 65535) and G.711
 * formats only, and the SDP and MGW descriptors the MGCF writes of it read back to the
 * same stream; a Reason cause is a Q.850 cause (1 to 127) and formats back to the same.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <arpa/inet.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "fuzz.h"
#include "mgcf.h"
#include "interwork.h"
#include "interwork_tables.h"
#include "isup.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("mgcf");
    sip_update_default_mclass(sip_extend_mclass(NULL));
    return 0;
}

/* An INVITE's IAM: encodes, decodes the same, maps back to the same called number */
static void iam_of(const sip_t *sip)
{
    struct mgcf_isup_msg iam, back;
    char why[200] = "";
    mgcf_isup_init(&iam, ISUP_IAM, 7);
    int st = mgcf_iw_iam_from_invite(sip, &iam, why, sizeof(why));
    if (st != 0) {
        FUZZ_ASSERT(st >= 400 && st < 700 && why[0], "refused %d without a reason", st);
        return;
    }
    uint8_t buf[MGCF_ISUP_LEN_MAX];
    int n = mgcf_isup_encode(&iam, buf, sizeof(buf));
    FUZZ_ASSERT(n > 0, "the IAM of an INVITE does not encode: %d", n);
    FUZZ_ASSERT(mgcf_isup_decode(buf, (size_t)n, &back) == 0, "the IAM does not decode");
    FUZZ_ASSERT(strcmp(back.called.digits, iam.called.digits) == 0 &&
                strcmp(back.calling.digits, iam.calling.digits) == 0,
                "numbers %s/%s decode as %s/%s", iam.called.digits, iam.calling.digits,
                back.called.digits, back.calling.digits);
    const struct mgcf_iw_conf conf = { .country_code = "1" };
    struct mgcf_iw_origin o;
    int cause = mgcf_iw_invite_from_iam(&back, &conf, &o, why, sizeof(why));
    FUZZ_ASSERT(cause == 0, "our own IAM is refused back (cause %d): %s", cause, why);
    FUZZ_ASSERT(strncmp(o.request_uri, "tel:+", 5) == 0 &&
                strcmp(o.request_uri + 5, iam.called.digits) == 0,
                "called %s maps back to %s", iam.called.digits, o.request_uri);
}

/* The SDP body: what is read writes back the same */
static void sdp_of(const sip_t *sip)
{
    const sip_payload_t *pl = sip->sip_payload;
    if (!pl)
        return;
    struct mgcf_iw_media m, again;
    memset(&m, 0, sizeof(m));
    int rc = mgcf_iw_sdp_read(pl->pl_data, pl->pl_len, &m);
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOTSUP, "sdp_read %d", rc);
    if (rc)
        return;
    struct in_addr a;
    FUZZ_ASSERT(inet_pton(AF_INET, m.addr, &a) == 1 && m.port > 0 && m.port < 65536 &&
                m.fmts[0] &&
                strspn(m.fmts, "08 ") == strlen(m.fmts),
                "read %s:%u fmts '%s'", m.addr, m.port, m.fmts);
    char buf[2048];
    int n = mgcf_iw_sdp_write(&m, 1, 1, "127.0.0.80", buf, sizeof(buf));
    FUZZ_ASSERT(n > 0, "no SDP written for %s:%u %s", m.addr, m.port, m.fmts);
    memset(&again, 0, sizeof(again));
    FUZZ_ASSERT(mgcf_iw_sdp_read(buf, (size_t)n, &again) == 0 &&
                strcmp(again.addr, m.addr) == 0 && again.port == m.port &&
                strcmp(again.fmts, m.fmts) == 0, "what we write reads back otherwise:\n%s",
                buf);
    FUZZ_ASSERT(mgcf_iw_mg_remote(&m, buf, sizeof(buf)) > 0, "no Remote descriptor");
    FUZZ_ASSERT(mgcf_iw_mg_local(m.fmts, buf, sizeof(buf)) > 0, "no Local descriptor");
}

static void reason_of(const sip_t *sip)
{
    int cause = mgcf_iw_reason_cause(sip->sip_reason);
    if (cause < 0)
        return;
    FUZZ_ASSERT(cause >= 1 && cause <= 127, "cause %d", cause);
    char buf[256];
    FUZZ_ASSERT(mgcf_iw_reason_format((unsigned)cause, buf, sizeof(buf)) > 0, "no Reason");
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_reason_t *r = sip_reason_make(home, buf);
    FUZZ_ASSERT(r && mgcf_iw_reason_cause(r) == cause, "Reason %s does not read back", buf);
    su_home_deinit(home);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, data, (ssize_t)size);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    if (sip && (sip->sip_request || sip->sip_status) && !msg_has_error(msg)) {
        if (sip->sip_request && sip->sip_request->rq_method == sip_method_invite)
            iam_of(sip);
        mgcf_iw_privacy_restricted(sip);
        sdp_of(sip);
        reason_of(sip);
    }
    if (msg)
        msg_destroy(msg);
    return 0;
}
