/*
 * charging.c - the MRF's offline charging (TS 32.260 5.2.2, Node-Functionality MRFC): an
 * ACR START when the MRF answers an INVITE 2xx, STOP when the session ends (a BYE from the
 * peer, or the MRF's own: announcement over, limits, shutdown). Role of node: terminating
 * (the MRF is the session's far end). The dialog table and the records are
 * common/charging.c; charging.cdf empty: no ACR.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrfc.h"
#include "charging.h"
#include "log.h"

#include <errno.h>
#include <time.h>

#define TICK_MS 1000

static void on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    ims_chg_tick(((struct mrfc *)arg)->chg, time(NULL));
}

int mrfc_charging_init(struct mrfc *mrfc)
{
    mrfc->chg = ims_chg_create(mrfc->d, IMS_RF_MRFC);
    if (!mrfc->chg)
        return -EINVAL;
    mrfc->chg_tick = su_timer_create(su_root_task(ims_loop_root(mrfc->d->loop)), TICK_MS);
    if (!mrfc->chg_tick ||
        su_timer_run(mrfc->chg_tick, on_tick, (su_timer_arg_t *)mrfc) < 0) {
        ims_err("mrfc: cannot start the charging timer");
        return -ENOMEM;
    }
    return 0;
}

void mrfc_charging_stop(struct mrfc *mrfc)
{
    if (mrfc->chg_tick)
        su_timer_destroy(mrfc->chg_tick);
    mrfc->chg_tick = NULL;
    ims_chg_shutdown(&mrfc->chg);
}

void mrfc_charging_open(struct mrfc *mrfc, const sip_t *invite, const sip_t *ok, time_t t0)
{
    if (mrfc->chg && invite && ok)
        ims_chg_dialog_open(mrfc->chg, invite, ok, IMS_RF_TERMINATING, t0, NULL);
}

void mrfc_charging_bye(struct mrfc *mrfc, const sip_t *bye)
{
    if (mrfc->chg)
        ims_chg_dialog_end_all(mrfc->chg, bye);
}

void mrfc_charging_end(struct mrfc *mrfc, const char *call_id, const char *tag1,
                       const char *tag2)
{
    if (!mrfc->chg || !call_id || !tag1 || !tag2)
        return;
    struct ims_chg_dialog *d = ims_chg_dialog_find(mrfc->chg, call_id, tag1, tag2,
                                                   IMS_RF_TERMINATING);
    if (d)
        ims_chg_dialog_end(mrfc->chg, d, IMS_CHG_END_RELEASED);
}
