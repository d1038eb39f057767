/*
 * charging.c - the charged dialogs of a CSCF and their ACRs (see charging.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "charging.h"
#include "daemon.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/url.h>

const struct ims_cfg_key ims_chg_keys[] = {
    { "charging", "cdf", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Diameter identity of the CDF that ACRs (Rf) go to, or several in order of preference "
      "(\"cdf1, cdf2\": each ACR goes to the first one open); empty: no offline charging" },
    { "charging", "cdf_realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Destination-Realm of the ACRs" },
    { "charging", "spool", IMS_CFG_PATH, "rf-spool.db", 0, 0, 0, NULL, NULL,
      "SQLite file of the ACRs not yet answered (relative to node.state_dir)" },
    { "charging", "interim_interval", IMS_CFG_INT, "300", 0, 0, 86400, NULL, NULL,
      "seconds between ACR INTERIMs of a session (0: none)" },
    { "charging", "nice", IMS_CFG_INT, "0", 0, 0, 10, NULL, NULL,
      "the ACR spool's thread runs this many nice levels below the SIP loop (0: the same): "
      "its records wait in the spool, not the calls" },
    { "charging", "max_dialogs", IMS_CFG_INT, "10000", 0, 1, 10000000, NULL, NULL,
      "charged dialogs kept at most; a dialog beyond is not charged offline (logged), an "
      "online-charged call beyond is refused before it is set up (S-CSCF: 503)" },
    { "charging", "max_age", IMS_CFG_INT, "14400", 0, 60, 604800, NULL, NULL,
      "seconds after which a dialog without BYE is closed (ACR STOP)" },
    IMS_CFG_END
};

struct ims_chg {
    struct ims_rf_client *rf;     /* NULL: offline charging off */
    struct ims_map *dialogs;
    size_t max;
    size_t reserved;              /* places kept for dialogs to come (ims_chg_reserve) */
    unsigned max_age;
    ims_chg_end_fn on_end;
    void *arg;
    struct ims_gauge *gauge;
    struct ims_counter *refused;
};

/* ---- pure parts ---- */

int ims_chg_cause(int status)
{
    if (status == 200)
        return -1;
    if (status < 400)
        return -status;
    return status;
}

int ims_chg_key(const char *call_id, const char *tag1, const char *tag2, int role, char *buf,
                size_t len)
{
    const char *a = tag1 ? tag1 : "", *b = tag2 ? tag2 : "";
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    int n = snprintf(buf, len, "%d|%s|%s|%s", role, call_id ? call_id : "", a, b);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int ims_chg_sdp_media(const char *sdp, size_t len, char out[][64], int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        if (i + 2 < len && sdp[i] == 'm' && sdp[i + 1] == '=' &&
            (i == 0 || sdp[i - 1] == '\n')) {
            size_t j = i + 2, k = 0;
            while (j < len && sdp[j] != '\r' && sdp[j] != '\n' && k < 63)
                out[n][k++] = sdp[j++];
            out[n][k] = '\0';
            if (k)
                n++;
        }
        while (i < len && sdp[i] != '\n')
            i++;
        i++;
    }
    return n;
}

static void pcv_of(const sip_t *m, struct ims_pcv *pcv)
{
    const char *v = m ? ims_sip_header(m, "P-Charging-Vector") : NULL;
    memset(pcv, 0, sizeof(*pcv));
    if (v)
        ims_pcv_parse(v, pcv);
}

static void called_of(const sip_t *req, char *buf, size_t len)
{
    const char *pcpi = ims_sip_header(req, "P-Called-Party-ID");
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_route_t *l = pcpi ? ims_addr_list_parse(home, pcpi) : NULL;
    const url_t *u = l ? l->r_url : req->sip_request ? req->sip_request->rq_url : NULL;
    buf[0] = '\0';
    if (u && ims_sip_target_of(u, buf, len) != 0)
        url_e(buf, (isize_t)len, u);
    su_home_deinit(home);
}

void ims_chg_fields_of(const sip_t *req, const sip_t *resp, struct ims_chg_fields *f)
{
    memset(f, 0, sizeof(*f));
    if (req->sip_request)
        snprintf(f->method, sizeof(f->method), "%s", req->sip_request->rq_method_name);
    if (req->sip_call_id)
        snprintf(f->call_id, sizeof(f->call_id), "%s", req->sip_call_id->i_id);
    if (req->sip_from && req->sip_from->a_tag)
        snprintf(f->from_tag, sizeof(f->from_tag), "%s", req->sip_from->a_tag);
    const sip_t *to = resp && resp->sip_to && resp->sip_to->a_tag ? resp : req;
    if (to->sip_to && to->sip_to->a_tag)
        snprintf(f->to_tag, sizeof(f->to_tag), "%s", to->sip_to->a_tag);
    const sip_p_asserted_identity_t *pai = sip_p_asserted_identity(req);
    const url_t *caller = pai ? pai->paid_url : req->sip_from ? req->sip_from->a_url : NULL;
    if (caller && ims_sip_impu_of(caller, f->calling, sizeof(f->calling)) != 0)
        url_e(f->calling, sizeof(f->calling), caller);
    called_of(req, f->called, sizeof(f->called));
    struct ims_pcv pcv, rpcv;
    pcv_of(req, &pcv);
    pcv_of(resp, &rpcv);
    snprintf(f->icid, sizeof(f->icid), "%s", pcv.icid[0] ? pcv.icid : rpcv.icid);
    snprintf(f->orig_ioi, sizeof(f->orig_ioi), "%s", pcv.orig_ioi);
    snprintf(f->term_ioi, sizeof(f->term_ioi), "%s", rpcv.term_ioi[0] ? rpcv.term_ioi
                                                                        : pcv.term_ioi);
    const sip_payload_t *pl = req->sip_payload;
    if (pl && pl->pl_data && req->sip_content_type && req->sip_content_type->c_type &&
        strcasecmp(req->sip_content_type->c_type, "application/sdp") == 0)
        ims_chg_sdp_media(pl->pl_data, pl->pl_len, f->media, IMS_RF_MAX_MEDIA);
}

void ims_chg_fields_pcv(struct ims_chg_fields *f, const char *pcv)
{
    struct ims_pcv v;
    if (f->icid[0] || !pcv || ims_pcv_parse(pcv, &v) != 0)
        return;
    snprintf(f->icid, sizeof(f->icid), "%s", v.icid);
    snprintf(f->orig_ioi, sizeof(f->orig_ioi), "%s", v.orig_ioi);
    if (!f->term_ioi[0])
        snprintf(f->term_ioi, sizeof(f->term_ioi), "%s", v.term_ioi);
}

void ims_chg_info_of(const struct ims_chg_fields *f, int role, struct ims_rf_info *info)
{
    memset(info, 0, sizeof(*info));
    info->sip_method = f->method;
    info->role = role;
    info->user_session_id = f->call_id;
    info->calling = f->calling;
    info->called = f->called;
    info->icid = f->icid;
    info->orig_ioi = f->orig_ioi;
    info->term_ioi = f->term_ioi;
    for (int i = 0; i < IMS_RF_MAX_MEDIA; i++)
        info->media[i] = f->media[i][0] ? f->media[i] : NULL;
    info->trunk_in = f->trunk_in[0] ? f->trunk_in : NULL;
    info->trunk_out = f->trunk_out[0] ? f->trunk_out : NULL;
}

static void trunks_of(struct ims_chg_fields *f, const char *in, const char *out)
{
    snprintf(f->trunk_in, sizeof(f->trunk_in), "%s", in ? in : "");
    snprintf(f->trunk_out, sizeof(f->trunk_out), "%s", out ? out : "");
}

/* ---- the table ---- */

static struct ims_chg *chg_new(size_t max, unsigned max_age)
{
    struct ims_chg *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->dialogs = ims_map_create(false);
    if (!c->dialogs) {
        free(c);
        return NULL;
    }
    c->max = max;
    c->max_age = max_age;
    return c;
}

struct ims_chg *ims_chg_table_new(size_t max, unsigned max_age)
{
    return chg_new(max, max_age);
}

struct ims_chg *ims_chg_create(struct ims_daemon *d, int node)
{
    const struct ims_cfg *cfg = d->cfg;
    struct ims_chg *c = chg_new((size_t)ims_cfg_int(cfg, "charging.max_dialogs"),
                                (unsigned)ims_cfg_int(cfg, "charging.max_age"));
    if (!c)
        return NULL;
    c->gauge = ims_gauge_new("ims_charged_dialogs", "dialogs kept for charging", NULL);
    c->refused = ims_counter_new("ims_charged_dialogs_refused_total",
                                 "dialogs not charged because the table was full", NULL);
    if (!ims_cfg_is_set(cfg, "charging.cdf")) {
        ims_info("charging: no charging.cdf: offline charging (Rf) is off");
        return c;
    }
    char spool[512];
    ims_daemon_state_path(d, ims_cfg_str(cfg, "charging.spool"), spool, sizeof(spool));
    struct ims_rf_conf rc = {
        .dest_realm = ims_cfg_str(cfg, "charging.cdf_realm"),
        .dest_host = ims_cfg_str(cfg, "charging.cdf"),
        .spool_path = spool,
        .interim_interval = (unsigned)ims_cfg_int(cfg, "charging.interim_interval"),
        .node_functionality = node,
        .nice = (int)ims_cfg_int(cfg, "charging.nice"),
        .loop = d->loop,
    };
    c->rf = ims_rf_client_create(&rc);
    if (!c->rf) {
        ims_err("charging: cannot start the Rf client (spool %s)", spool);
        ims_map_destroy(c->dialogs);
        free(c);
        return NULL;
    }
    ims_info("charging: ACRs to %s (realm %s), spool %s", rc.dest_host, rc.dest_realm, spool);
    return c;
}

bool ims_chg_offline(const struct ims_chg *c)
{
    return c && c->rf;
}

void ims_chg_set_end_hook(struct ims_chg *c, ims_chg_end_fn fn, void *arg)
{
    c->on_end = fn;
    c->arg = arg;
}

size_t ims_chg_dialogs(const struct ims_chg *c)
{
    return c ? ims_map_size(c->dialogs) : 0;
}

int ims_chg_reserve(struct ims_chg *c)
{
    if (ims_map_size(c->dialogs) + c->reserved >= c->max) {
        if (c->refused)
            ims_counter_inc(c->refused);
        return -ENOSPC;
    }
    c->reserved++;
    return 0;
}

void ims_chg_unreserve(struct ims_chg *c)
{
    if (c && c->reserved)
        c->reserved--;
}

static void count(struct ims_chg *c)
{
    if (c->gauge)
        ims_gauge_set(c->gauge, (int64_t)ims_map_size(c->dialogs));
}

static void log_ids(const struct ims_chg_fields *f, struct ims_log_ids *ids)
{
    memset(ids, 0, sizeof(*ids));
    ids->call_id = f->call_id;
    ids->icid = f->icid[0] ? f->icid : NULL;
}

struct ims_chg_dialog *ims_chg_dialog_open(struct ims_chg *c, const sip_t *invite,
                                           const sip_t *ok, int role, time_t t0,
                                           const char *pcv)
{
    return ims_chg_dialog_open_trunk(c, invite, ok, role, t0, pcv, NULL, NULL);
}

struct ims_chg_dialog *ims_chg_dialog_open_trunk(struct ims_chg *c, const sip_t *invite,
                                                 const sip_t *ok, int role, time_t t0,
                                                 const char *pcv, const char *trunk_in,
                                                 const char *trunk_out)
{
    struct ims_chg_dialog *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    ims_chg_fields_of(invite, ok, &d->f);
    ims_chg_fields_pcv(&d->f, pcv);
    trunks_of(&d->f, trunk_in, trunk_out);
    struct ims_log_ids ids;
    log_ids(&d->f, &ids);
    if (!d->f.call_id[0] || !d->f.from_tag[0] || !d->f.to_tag[0] ||
        ims_chg_key(d->f.call_id, d->f.from_tag, d->f.to_tag, role, d->key,
                    sizeof(d->key)) != 0) {
        free(d);
        return NULL;
    }
    struct ims_chg_dialog *old = ims_map_get(c->dialogs, d->key);
    if (old) {                      /* a retransmitted 2xx */
        free(d);
        return old;
    }
    if (ims_map_size(c->dialogs) + c->reserved >= c->max) {
        ims_log(IMS_LOG_WARN, &ids, "charging: %zu dialogs already kept or reserved: this "
                "one is not charged", c->max);
        if (c->refused)
            ims_counter_inc(c->refused);
        free(d);
        return NULL;
    }
    int err = 0;
    ims_map_put(c->dialogs, d->key, d, &err);
    if (err) {
        free(d);
        return NULL;
    }
    d->role = role;
    d->created = time(NULL);
    d->cseq_caller = invite->sip_cseq ? invite->sip_cseq->cs_seq : 1;
    if (c->rf) {
        struct ims_rf_info info;
        ims_chg_info_of(&d->f, role, &info);
        info.request_ts = t0;
        info.response_ts = d->created;
        d->rf = ims_rf_start(c->rf, &info);
        if (!d->rf)
            ims_log(IMS_LOG_WARN, &ids, "charging: cannot start the Rf session");
    }
    ims_log(IMS_LOG_DEBUG, &ids, "charging: dialog %s opened (%s)", d->key,
            role == IMS_RF_ORIGINATING ? "originating" : "terminating");
    count(c);
    return d;
}

struct ims_chg_dialog *ims_chg_dialog_find(struct ims_chg *c, const char *call_id,
                                           const char *tag1, const char *tag2, int role)
{
    char key[400];
    if (ims_chg_key(call_id, tag1, tag2, role, key, sizeof(key)) != 0)
        return NULL;
    return ims_map_get(c->dialogs, key);
}

static struct ims_chg_dialog *find(struct ims_chg *c, const sip_t *req, int role)
{
    if (!req->sip_call_id || !req->sip_from || !req->sip_to)
        return NULL;
    return ims_chg_dialog_find(c, req->sip_call_id->i_id, req->sip_from->a_tag,
                               req->sip_to->a_tag, role);
}

struct ims_chg_dialog *ims_chg_dialog_of(struct ims_chg *c, const sip_t *req, int role)
{
    return find(c, req, role);
}

void ims_chg_dialog_note(struct ims_chg *c, const sip_t *req)
{
    if (!req->sip_cseq || !req->sip_from || !req->sip_from->a_tag)
        return;
    for (int role = IMS_RF_ORIGINATING; role <= IMS_RF_TERMINATING; role++) {
        struct ims_chg_dialog *d = find(c, req, role);
        if (!d)
            continue;
        uint32_t n = req->sip_cseq->cs_seq;
        bool from_caller = strcmp(req->sip_from->a_tag, d->f.from_tag) == 0;
        uint32_t *seen = from_caller ? &d->cseq_caller : &d->cseq_callee;
        if (n > *seen)
            *seen = n;
    }
}

void ims_chg_dialog_end(struct ims_chg *c, struct ims_chg_dialog *d, enum ims_chg_end why)
{
    if (c->on_end)
        c->on_end(c->arg, d, why);
    if (d->rf) {
        struct ims_rf_info info;
        ims_chg_info_of(&d->f, d->role, &info);
        info.sip_method = "BYE";      /* the end of a session is a BYE, ours or not */
        info.request_ts = time(NULL);
        info.has_cause = true;
        info.cause = why == IMS_CHG_END_BYE ? 0 : why == IMS_CHG_END_RELEASED ? 0 : 3;
        ims_rf_stop(d->rf, &info);
        d->rf = NULL;
    }
    struct ims_log_ids ids;
    log_ids(&d->f, &ids);
    static const char *const whys[] = { "BYE", "maximum age", "released", "shutdown" };
    ims_log(IMS_LOG_DEBUG, &ids, "charging: dialog %s closed (%s)", d->key, whys[why]);
    ims_map_remove(c->dialogs, d->key);
    free(d);
    count(c);
}

int ims_chg_dialog_end_all(struct ims_chg *c, const sip_t *bye)
{
    int n = 0;
    for (int role = IMS_RF_ORIGINATING; role <= IMS_RF_TERMINATING; role++) {
        struct ims_chg_dialog *d = find(c, bye, role);
        if (d) {
            ims_chg_dialog_end(c, d, IMS_CHG_END_BYE);
            n++;
        }
    }
    return n;
}

struct sweep {
    struct ims_chg *c;
    time_t before;                /* dialogs created before: end them (0: every one) */
    enum ims_chg_end why;
};

static void sweep_one(void *arg, const char *key, void *value)
{
    struct sweep *s = arg;
    struct ims_chg_dialog *d = value;
    (void)key;
    if (s->before && d->created >= s->before)
        return;
    ims_chg_dialog_end(s->c, d, s->why);
}

void ims_chg_tick(struct ims_chg *c, time_t now)
{
    if (!c)
        return;
    struct sweep s = { .c = c, .before = now - (time_t)c->max_age, .why = IMS_CHG_END_AGE };
    ims_map_foreach(c->dialogs, sweep_one, &s);
}

void ims_chg_close(struct ims_chg *c)
{
    if (!c)
        return;
    struct sweep s = { .c = c, .before = 0, .why = IMS_CHG_END_SHUTDOWN };
    ims_map_foreach(c->dialogs, sweep_one, &s);
}

void ims_chg_destroy(struct ims_chg *c)
{
    if (!c)
        return;
    ims_chg_close(c);
    ims_rf_client_destroy(c->rf);
    ims_map_destroy(c->dialogs);
    free(c);
}

void ims_chg_shutdown(struct ims_chg **c)
{
    if (!*c)
        return;
    ims_chg_close(*c);
    ims_diam_stop();              /* no ACA may arrive for the client being destroyed */
    ims_chg_destroy(*c);
    *c = NULL;
}

int ims_chg_event(struct ims_chg *c, const sip_t *req, int status, int role, time_t t0,
                  const char *pcv)
{
    return ims_chg_event_trunk(c, req, status, role, t0, pcv, NULL, NULL);
}

int ims_chg_event_trunk(struct ims_chg *c, const sip_t *req, int status, int role, time_t t0,
                        const char *pcv, const char *trunk_in, const char *trunk_out)
{
    if (!c || !c->rf)
        return 0;
    struct ims_chg_fields f;
    ims_chg_fields_of(req, NULL, &f);
    ims_chg_fields_pcv(&f, pcv);
    trunks_of(&f, trunk_in, trunk_out);
    struct ims_rf_info info;
    ims_chg_info_of(&f, role, &info);
    info.request_ts = t0;
    info.response_ts = time(NULL);
    info.has_cause = true;
    info.cause = ims_chg_cause(status);
    return ims_rf_event(c->rf, &info);
}
