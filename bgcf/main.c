/*
 * bgcf - Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client
 *
 * Breakout routing by number is not configured in this version: every request that is not
 * for the BGCF itself is answered 404 Not Found with a Warning naming the target, so a
 * caller learns at once why a number outside the home network cannot be reached (a 404
 * passes the proxies unchanged, where a 503 would become 500).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"
#include "log.h"
#include "sip.h"

#include <stdio.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

static int bgcf_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    const url_t *ruri = sip->sip_request->rq_url;
    sip_method_t m = sip->sip_request->rq_method;
    if ((!sip->sip_route && ims_sip_is_own(d->sip, ruri)) || m == sip_method_register)
        return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
    if (m == sip_method_ack)
        return 0;
    char target[256], warning[400];
    url_e(target, sizeof(target), ruri);
    ims_sip_warning(d->sip, warning, sizeof(warning), "no breakout route for %s", target);
    struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
    ims_log(IMS_LOG_INFO, &ids, "bgcf: %s to %s: no breakout route (404)",
            sip->sip_request->rq_method_name, target);
    nta_incoming_treply(irq, SIP_404_NOT_FOUND, SIPTAG_WARNING_STR(warning), TAG_END());
    ims_sip_count_response(d->sip, 404);
    nta_incoming_destroy(irq);
    return 0;
}

static const struct ims_daemon_desc bgcf_desc = {
    .name = "bgcf",
    .summary = "Breakout Gateway Control Function: routes calls to the PSTN by number; Rf client",
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF),
    .sip_allow = "OPTIONS",
    .on_request = bgcf_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &bgcf_desc);
}
