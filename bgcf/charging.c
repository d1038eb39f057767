/*
 * charging.c - the BGCF's offline charging (TS 32.260, Rf; TS 32.299 Node-Functionality
 * BGCF (5), Role-Of-Node originating: the BGCF routes the calling side out)
 *
 * With bgcf.record_route (the default) the BGCF stays in the dialog and charges it as a
 * session: ACR START when the 2xx of an INVITE passes, STOP at the BYE of either side,
 * INTERIMs by charging.interim_interval. A session attempt that fails (4xx-6xx, also the
 * BGCF's own 404 when no route exists) is an ACR EVENT with its Cause-Code, as is the final
 * answer of a MESSAGE. Without record-routing the BGCF sees no BYE, so every INVITE's final
 * answer (2xx included) is one EVENT. Each record carries the ICID of the request's
 * P-Charging-Vector. The dialog table and the records are common/charging.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bgcf.h"
#include "charging.h"

#include <errno.h>
#include <time.h>

#include <sofia-sip/sip_header.h>

int bgcf_charging_init(struct bgcf *b)
{
    b->chg = ims_chg_create(b->d, IMS_RF_BGCF);
    return b->chg ? 0 : -EINVAL;
}

void bgcf_charging_stop(struct bgcf *b)
{
    ims_chg_shutdown(&b->chg);
}

void bgcf_charging_tick(struct bgcf *b)
{
    if (b->chg)
        ims_chg_tick(b->chg, time(NULL));
}

void bgcf_charging_response(struct bgcf *b, const sip_t *req, const sip_t *resp, time_t t0)
{
    int status = resp->sip_status->st_status;
    if (!b->chg || !req->sip_request || status < 200)
        return;
    switch (req->sip_request->rq_method) {
    case sip_method_invite:
        if (status < 300 && b->record_route)
            ims_chg_dialog_open(b->chg, req, resp, IMS_RF_ORIGINATING, t0, NULL);
        else
            ims_chg_event(b->chg, req, status, IMS_RF_ORIGINATING, t0, NULL);
        break;
    case sip_method_message:
        ims_chg_event(b->chg, req, status, IMS_RF_ORIGINATING, t0, NULL);
        break;
    default:
        break;
    }
}

void bgcf_charging_in_dialog(struct bgcf *b, const sip_t *req)
{
    if (!b->chg)
        return;
    if (req->sip_request->rq_method == sip_method_bye)
        ims_chg_dialog_end_all(b->chg, req);
    else
        ims_chg_dialog_note(b->chg, req);
}
