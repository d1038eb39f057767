/*
 * charging.c - the MGCF's offline charging (TS 32.260, Rf; TS 32.299 Node-Functionality
 * MGCF (4))
 *
 * An answered call is a session: ACR START when the 2xx passes (ours towards the IMS, or
 * the IMS side's to our INVITE), INTERIMs by charging.interim_interval, STOP when the call
 * ends, whichever side ends it. An attempt that fails is one ACR EVENT with its
 * Cause-Code (the SIP status). Role-Of-Node: terminating for a call from the IMS to the
 * PSTN (the IMS session ends here), originating for a call from the PSTN. The records of
 * a call from the IMS carry the ICID of its INVITE, as the S-CSCF's and the BGCF's do; a
 * call from the PSTN gets an ICID of ours, sent in the INVITE's P-Charging-Vector.
 *
 * The ISUP side of the call is in Trunk-Group-Id: Outgoing-Trunk-Group-Id (a call to the
 * PSTN) or Incoming-Trunk-Group-Id (from it) is "<trunk>/<CIC>", the trunk of mgcf.trunks
 * and the circuit's identification code: what the PSTN's own records of the call name.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mgcf.h"
#include "charging.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <sofia-sip/sip_header.h>

static int role_of(const struct mgcf_call *c)
{
    return c->sm.dir == MGCF_DIR_OUT ? IMS_RF_TERMINATING : IMS_RF_ORIGINATING;
}

/* "<trunk>/<cic>" into @buf; the incoming or outgoing one by the call's direction */
static void trunk_ids(const struct mgcf_call *c, char *buf, size_t len, const char **in,
                      const char **out)
{
    *in = *out = NULL;
    if (!c->trunk)
        return;
    snprintf(buf, len, "%s/%u", c->trunk->name, c->cic);
    if (c->sm.dir == MGCF_DIR_OUT)
        *out = buf;
    else
        *in = buf;
}

/* A dialog ended by the table itself (charging.max_age, shutdown): the call forgets it */
static void on_end(void *arg, struct ims_chg_dialog *d, enum ims_chg_end why)
{
    struct mgcf *m = arg;
    (void)why;
    for (struct mgcf_call *c = m->calls; c; c = c->next)
        if (c->chg == d)
            c->chg = NULL;
}

int mgcf_charging_init(struct mgcf *m)
{
    m->chg = ims_chg_create(m->d, IMS_RF_MGCF);
    if (!m->chg)
        return -EINVAL;
    ims_chg_set_end_hook(m->chg, on_end, m);
    return 0;
}

void mgcf_charging_stop(struct mgcf *m)
{
    ims_chg_shutdown(&m->chg);
}

void mgcf_charging_tick(struct mgcf *m)
{
    if (m->chg)
        ims_chg_tick(m->chg, time(NULL));
}

void mgcf_charging_start(struct mgcf_call *c)
{
    char trunk[80];
    const char *in, *out;
    if (!c->m->chg || !c->invite || !c->answer || c->chg)
        return;
    trunk_ids(c, trunk, sizeof(trunk), &in, &out);
    c->chg = ims_chg_dialog_open_trunk(c->m->chg, sip_object(c->invite), sip_object(c->answer),
                                       role_of(c), c->t0, c->pcv[0] ? c->pcv : NULL, in, out);
    if (!c->chg)
        mgcf_call_log(c, IMS_LOG_WARN, "the call is not charged (no dialog kept)");
}

void mgcf_charging_event(struct mgcf_call *c, int status)
{
    char trunk[80];
    const char *in, *out;
    if (!c->m->chg || !c->invite)
        return;
    trunk_ids(c, trunk, sizeof(trunk), &in, &out);
    ims_chg_event_trunk(c->m->chg, sip_object(c->invite), status, role_of(c), c->t0,
                        c->pcv[0] ? c->pcv : NULL, in, out);
}

void mgcf_charging_end(struct mgcf_call *c)
{
    struct ims_chg_dialog *d = c->chg;
    if (!d)
        return;
    c->chg = NULL;
    ims_chg_dialog_end(c->m->chg, d, IMS_CHG_END_BYE);
}
