/*
 * charging.c - the P-CSCF's offline charging (TS 32.260 5.2.2, Node-Functionality P-CSCF):
 * ACR START when the 2xx of an INVITE passes (originating from a UE, or terminating towards
 * one), STOP at the BYE from either side, EVENT for a REGISTER's 2xx and for the final
 * answer of a MESSAGE. The dialog table and the records are common/charging.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"
#include "charging.h"
#include "log.h"

#include <errno.h>
#include <time.h>

#include <sofia-sip/sip_header.h>

int pcscf_charging_init(struct pcscf *p)
{
    p->chg = ims_chg_create(p->d, IMS_RF_PCSCF);
    return p->chg ? 0 : -EINVAL;
}

void pcscf_charging_stop(struct pcscf *p)
{
    ims_chg_shutdown(&p->chg);
    ims_diam_stop();              /* also without charging: the callers count on it */
}

void pcscf_charging_tick(struct pcscf *p)
{
    ims_chg_tick(p->chg, time(NULL));
}

void pcscf_charging_response(struct pcscf *p, const sip_t *req, const sip_t *resp, bool to_ue,
                             time_t t0, const char *pcv)
{
    int status = resp->sip_status->st_status;
    if (!p->chg || !req || !req->sip_request || status < 200)
        return;
    int role = to_ue ? IMS_RF_TERMINATING : IMS_RF_ORIGINATING;
    bool initial = !req->sip_to || !req->sip_to->a_tag;
    switch (req->sip_request->rq_method) {
    case sip_method_invite:
        if (initial && status < 300)
            ims_chg_dialog_open(p->chg, req, resp, role, t0, pcv);
        break;
    case sip_method_message:
        ims_chg_event(p->chg, req, status, role, t0, pcv);
        break;
    case sip_method_register:
        if (status < 300)
            ims_chg_event(p->chg, req, status, IMS_RF_ORIGINATING, t0, NULL);
        break;
    default:
        break;
    }
}

void pcscf_charging_in_dialog(struct pcscf *p, const sip_t *req)
{
    if (!p->chg)
        return;
    if (req->sip_request->rq_method == sip_method_bye)
        ims_chg_dialog_end_all(p->chg, req);
    else
        ims_chg_dialog_note(p->chg, req);
}
