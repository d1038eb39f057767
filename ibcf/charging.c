/*
 * charging.c - the IBCF's offline charging (TS 32.260, Rf; TS 32.299 Node-Functionality
 * IBCF (7)): Role-Of-Node originating for what the home network sends out through the
 * border, terminating for what comes in
 *
 * The IBCF record-routes every dialog across the border (its token entries), so it charges
 * each call as a session: ACR START when the 2xx of an INVITE passes, STOP at the BYE of
 * either side, INTERIMs by charging.interim_interval. A session attempt that fails
 * (4xx-6xx) and the final answer of a MESSAGE are ACR EVENTs. Each record carries the
 * ICID of the request's P-Charging-Vector and the IOIs as the border set them (orig-ioi
 * and term-ioi of ibcf_ioi_apply()), which is what the operators settle by. The dialog
 * table and the records are common/charging.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"
#include "charging.h"

#include <errno.h>
#include <time.h>

#include <sofia-sip/sip_header.h>

int ibcf_charging_init(struct ibcf *b)
{
    b->chg = ims_chg_create(b->d, IMS_RF_IBCF);
    return b->chg ? 0 : -EINVAL;
}

void ibcf_charging_stop(struct ibcf *b)
{
    ims_chg_shutdown(&b->chg);
}

void ibcf_charging_tick(struct ibcf *b)
{
    if (b->chg)
        ims_chg_tick(b->chg, time(NULL));
}

void ibcf_charging_response(struct ibcf *b, const sip_t *req, const sip_t *resp, bool outbound,
                            time_t t0)
{
    int status = resp->sip_status ? resp->sip_status->st_status : 0;
    int role = outbound ? IMS_RF_ORIGINATING : IMS_RF_TERMINATING;
    if (!b->chg || !req || !req->sip_request || status < 200)
        return;
    switch (req->sip_request->rq_method) {
    case sip_method_invite:
        if (status < 300)
            ims_chg_dialog_open(b->chg, req, resp, role, t0, NULL);
        else
            ims_chg_event(b->chg, req, status, role, t0, NULL);
        break;
    case sip_method_message:
        ims_chg_event(b->chg, req, status, role, t0, NULL);
        break;
    default:
        break;
    }
}

void ibcf_charging_in_dialog(struct ibcf *b, const sip_t *req)
{
    if (!b->chg || !req || !req->sip_request || !req->sip_to || !req->sip_to->a_tag)
        return;
    if (req->sip_request->rq_method == sip_method_bye)
        ims_chg_dialog_end_all(b->chg, req);
    else
        ims_chg_dialog_note(b->chg, req);
}
