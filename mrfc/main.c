/*
 * mrfc - Media Resource Function (controller and processor): announcements, conferences, the
 * Cr control channel (IVR and mixer packages); Rf and Ro client
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrfc.h"
#include "cfw.h"
#include "charging.h"
#include "log.h"
#include "sdp.h"
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/nta_tag.h>

#define ALLOW "INVITE, ACK, CANCEL, BYE, UPDATE, OPTIONS"

static const struct ims_cfg_key mrfc_keys[] = {
    { "mrfc", "rtp_address", IMS_CFG_ADDR, "@node.address", 0, 0, 0, NULL, NULL,
      "address of the RTP and RTCP sockets (and of the SDP c= line)" },
    { "mrfc", "rtp_port_min", IMS_CFG_INT, "20000", 0, 1024, 65534, NULL, NULL,
      "first port of the RTP range (RTP on even ports, RTCP on the odd port above)" },
    { "mrfc", "rtp_port_max", IMS_CFG_INT, "20999", 0, 1025, 65535, NULL, NULL,
      "last port of the RTP range" },
    { "mrfc", "max_sessions", IMS_CFG_INT, "400", 0, 1, 32768, NULL, NULL,
      "sessions at most (each takes a port pair); beyond, INVITEs get 503 with Retry-After" },
    { "mrfc", "retry_after", IMS_CFG_INT, "5", 0, 0, 3600, NULL, NULL,
      "Retry-After (seconds) of a 503 when the MRF is full (0: none)" },
    { "mrfc", "max_duration", IMS_CFG_INT, "7200", 0, 10, 86400, NULL, NULL,
      "seconds a session may last before the MRF ends it with a BYE" },
    { "mrfc", "rtp_timeout", IMS_CFG_INT, "60", 0, 0, 3600, NULL, NULL,
      "seconds without RTP or RTCP from a peer that should send (a conference party) before "
      "the MRF ends its session; 0: never" },
    { "mrfc", "jitter_ms", IMS_CFG_INT, "60", 0, 20, 500, NULL, NULL,
      "playout delay of the jitter buffer of each input (conference mixing, DTMF)" },
    { "mrfc", "rtcp_interval", IMS_CFG_INT, "5", 0, 1, 60, NULL, NULL,
      "seconds between RTCP reports of a leg (randomised 0.5-1.5 times, RFC 3550)" },
    { "mrfc", "codecs", IMS_CFG_LIST, "PCMU,PCMA", 0, 0, 0, "PCMU|PCMA", NULL,
      "codecs accepted in offers (the offerer's order wins) and put in our offers" },
    { "mrfc", "inband_dtmf", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL,
      "also detect DTMF tones in the received audio (RFC 4733 events are always read)" },
    { "mrfc", "prompts_dir", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "folder of the announcement files (WAV and other formats libsndfile reads; relative to "
      "this file's folder), read at start; empty: tones only" },
    { "mrfc", "prompts_max_mb", IMS_CFG_INT, "64", 0, 1, 4096, NULL, NULL,
      "memory the prompts may take (8 kHz 16-bit: 1 MB is about 65 s)" },
    { "mrfc", "media_queue", IMS_CFG_INT, "4096", 0, 64, 1000000, NULL, NULL,
      "commands waiting for the media thread before new sessions get 503" },
    { "mrfc", "rt_priority", IMS_CFG_INT, "0", 0, 0, 99, NULL, NULL,
      "real-time (SCHED_FIFO) priority of the media thread, so that other work on the same "
      "cores does not break the 20 ms pace (needs CAP_SYS_NICE); 0: normal scheduling" },
    { "mrfc", "cfw_port", IMS_CFG_INT, "7563", 0, 0, 65535, NULL, NULL,
      "TCP port of the Cr control channels (RFC 6230) on node.address; 0: none" },
    { "mrfc", "cfw_tls_port", IMS_CFG_INT, "0", 0, 0, 65535, NULL, NULL,
      "TLS port of the Cr control channels offered TCP/TLS (RFC 6230 12), with the client's "
      "certificate bound to the offer's a=fingerprint (RFC 8122); 0: none" },
    { "mrfc", "cfw_tls_cert", IMS_CFG_PATH, "@sip.tls_cert", IMS_CFG_EMPTY_OK, 0, 0, NULL,
      NULL, "PEM certificate (chain) of the MRF on the TLS control channels" },
    { "mrfc", "cfw_tls_key", IMS_CFG_PATH, "@sip.tls_key", IMS_CFG_EMPTY_OK, 0, 0, NULL,
      NULL, "PEM private key of that certificate" },
    { "mrfc", "record_dir", IMS_CFG_STR, "recordings", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "folder of the recordings of the IVR package (relative to node.state_dir); empty: "
      "no recording" },
    { "charging", "ocs", IMS_CFG_STR, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "Diameter identity of the OCS for online charging (Ro) of announcements (IEC) and "
      "conferences (ECUR); empty: no online charging" },
    { "charging", "ocs_realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Destination-Realm of the CCRs" },
    { "charging", "online", IMS_CFG_ENUM, "ecf", 0, 0, 0, "ecf|all", NULL,
      "which sessions are charged online: those whose INVITE names an ECF in "
      "P-Charging-Function-Addresses, or all" },
    { "charging", "ccfh", IMS_CFG_ENUM, "terminate", 0, 0, 0,
      "terminate|continue|retry_and_terminate", NULL,
      "Credit-Control-Failure-Handling when the OCS does not answer: refuse the service (503) "
      "or give it uncharged (RFC 4006 5.7); a CCA's own CCFH wins" },
    { "charging", "tx_ms", IMS_CFG_INT, "2000", 0, 100, 30000, NULL, NULL,
      "Tx: milliseconds a CCR may wait for its answer" },
    { "charging", "requested_time", IMS_CFG_INT, "60", 0, 1, 86400, NULL, NULL,
      "seconds of conference asked in each CCR-INITIAL and CCR-UPDATE" },
    IMS_CFG_END
};

static struct mrfc g_mrfc;

static int read_codecs(struct mrfc *mrfc, const struct ims_cfg *c)
{
    size_t n;
    char **v = ims_cfg_list(c, "mrfc.codecs", &n);
    if (!v)
        return -ENOMEM;
    mrfc->codecs = 0;
    for (size_t i = 0; i < n; i++)
        mrfc->codecs |= 1u << (strcmp(v[i], "PCMA") == 0 ? MRFC_CODEC_PCMA : MRFC_CODEC_PCMU);
    ims_strv_free(v);
    if (!mrfc->codecs) {
        ims_err("%s: mrfc.codecs names no codec", ims_cfg_path(c));
        return -EINVAL;
    }
    return 0;
}

static int load_prompts(struct mrfc *mrfc, struct ims_daemon *d)
{
    const struct ims_cfg *c = d->cfg;
    char dir[1024] = "", err[512];
    if (ims_cfg_is_set(c, "mrfc.prompts_dir"))
        ims_daemon_conf_path(d, ims_cfg_str(c, "mrfc.prompts_dir"), dir, sizeof(dir));
    size_t max = (size_t)ims_cfg_int(c, "mrfc.prompts_max_mb") * 1024 * 1024;
    mrfc->prompts = mrfc_prompts_load(dir, max, err, sizeof(err));
    if (!mrfc->prompts) {
        ims_err("%s: mrfc.prompts_dir: %s", ims_cfg_path(c), err);
        return -EINVAL;
    }
    ims_info("mrfc: %zu prompts (%zu KiB) from %s", mrfc_prompts_count(mrfc->prompts),
             mrfc_prompts_bytes(mrfc->prompts) / 1024, dir[0] ? dir : "(no folder: tones only)");
    return 0;
}

static int create_media(struct mrfc *mrfc, struct ims_daemon *d)
{
    const struct ims_cfg *c = d->cfg;
    long lo = ims_cfg_int(c, "mrfc.rtp_port_min"), hi = ims_cfg_int(c, "mrfc.rtp_port_max");
    if (hi < lo + 1) {
        ims_err("%s: mrfc.rtp_port_max (%ld) must be above mrfc.rtp_port_min (%ld)",
                ims_cfg_path(c), hi, lo);
        return -EINVAL;
    }
    struct mrfc_media_conf mc = {
        .address = mrfc->rtp_address,
        .port_min = (unsigned)lo,
        .port_max = (unsigned)hi,
        .jitter_ms = (unsigned)ims_cfg_int(c, "mrfc.jitter_ms"),
        .rtp_timeout_ms = (unsigned)ims_cfg_int(c, "mrfc.rtp_timeout") * 1000,
        .rtcp_interval_ms = (unsigned)ims_cfg_int(c, "mrfc.rtcp_interval") * 1000,
        .queue_max = (unsigned)ims_cfg_int(c, "mrfc.media_queue"),
        .cname = ims_cfg_str(c, "node.name"),
        .rt_priority = (int)ims_cfg_int(c, "mrfc.rt_priority"),
    };
    mrfc->media = mrfc_media_create(&mc, d->loop, mrfc_session_media_event, mrfc);
    if (!mrfc->media)
        return -EINVAL;
    unsigned cap = mrfc_media_capacity(mrfc->media);
    if (mrfc->max_sessions > cap) {
        ims_err("%s: mrfc.max_sessions (%u) is above the %u port pairs of %ld-%ld",
                ims_cfg_path(c), mrfc->max_sessions, cap, lo, hi);
        return -EINVAL;
    }
    return 0;
}

/* /health (HTTP thread): the sessions in use of the most there may be; reads no state of
 * the media engine, which may be going away at shutdown */
static enum ims_health media_health(void *arg, json_t *peers)
{
    struct mrfc *mrfc = arg;
    char name[96];
    snprintf(name, sizeof(name), "%s rtp: %u of %u sessions", mrfc->rtp_address,
             atomic_load(&mrfc->health_sessions), mrfc->max_sessions);
    json_array_append_new(peers, json_pack("{s:s, s:s, s:s}", "name", name, "kind",
                                           "media", "state", "running"));
    return IMS_HEALTH_OK;
}

static void mrfc_stop(struct ims_daemon *d);

static int mrfc_init(struct ims_daemon *d)
{
    struct mrfc *mrfc = &g_mrfc;
    const struct ims_cfg *c = d->cfg;
    mrfc->d = d;
    d->priv = mrfc;
    snprintf(mrfc->rtp_address, sizeof(mrfc->rtp_address), "%s",
             ims_cfg_str(c, "mrfc.rtp_address"));
    mrfc->rtp_ip6 = strchr(mrfc->rtp_address, ':') != NULL;
    mrfc->max_sessions = (unsigned)ims_cfg_int(c, "mrfc.max_sessions");
    mrfc->retry_after = (unsigned)ims_cfg_int(c, "mrfc.retry_after");
    mrfc->max_duration = (unsigned)ims_cfg_int(c, "mrfc.max_duration");
    mrfc->inband_dtmf = ims_cfg_bool(c, "mrfc.inband_dtmf");
    int rc = read_codecs(mrfc, c);
    if (rc == 0)
        rc = load_prompts(mrfc, d);
    if (rc == 0)
        rc = create_media(mrfc, d);
    if (rc == 0)
        rc = mrfc_session_init(mrfc);
    if (rc == 0)
        rc = mrfc_charging_init(mrfc);
    if (rc == 0)
        rc = mrfc_online_init(mrfc);
    if (rc == 0)
        rc = mrfc_ivr_init(mrfc);
    if (rc == 0)
        rc = mrfc_cfw_init(mrfc);
    if (rc == 0)
        rc = mrfc_status_init(mrfc);
    if (rc) {
        mrfc_stop(d);
        return rc;
    }
    /* a user agent server: nta retransmits our 2xx until the ACK (RFC 3261 13.3.1.4) */
    nta_agent_set_params(ims_sip_agent(d->sip), NTATAG_UA(1), TAG_END());
    ims_http_health_add(d->http, media_health, mrfc);
    if (ims_sip_trusted_count(d->sip) == 0)
        ims_warn("mrfc: sip.trusted_peers is empty: every INVITE will be refused (403)");
    return 0;
}

/*
 * mrfc.max_sessions decided before an INVITE's transaction (an ims_sip_early_refusal_fn,
 * @arg the mrfc), so that a flood of INVITEs to a full MRF is refused statelessly. For the
 * trust domain only: anybody else gets 403 from mrfc_request() first.
 */
static bool early_refusal(void *arg, const sip_t *req, const struct ims_sip_source *src,
                          struct ims_sip_refusal *out)
{
    return src->trusted && mrfc_session_early(arg, req, out);
}

static int mrfc_start(struct ims_daemon *d)
{
    struct mrfc *mrfc = d->priv;
    int rc = mrfc_media_start(mrfc->media);
    if (rc) {
        ims_err("mrfc: cannot start the media thread: %s", strerror(-rc));
        return rc;
    }
    mrfc->running = true;
    ims_sip_set_early_refusal(d->sip, early_refusal, mrfc);
    ims_info("mrfc: media on %s ports %ld-%ld (%u sessions at most)", mrfc->rtp_address,
             ims_cfg_int(d->cfg, "mrfc.rtp_port_min"), ims_cfg_int(d->cfg, "mrfc.rtp_port_max"),
             mrfc->max_sessions);
    return 0;
}

static void mrfc_stop(struct ims_daemon *d)
{
    struct mrfc *mrfc = d->priv;
    if (!mrfc)
        return;
    ims_sip_set_early_refusal(d->sip, NULL, NULL);
    mrfc->running = false;
    mrfc_session_fini(mrfc);
    mrfc_cfw_fini(mrfc);
    mrfc_charging_stop(mrfc);         /* Diameter stops here */
    mrfc_online_stop(mrfc);
    mrfc_ivr_fini(mrfc);
    mrfc_status_fini(mrfc);
    mrfc_media_destroy(mrfc->media);
    mrfc->media = NULL;
    mrfc_prompts_free(mrfc->prompts);
    mrfc->prompts = NULL;
}

/*
 * The MRF serves the trust domain only (sip.trusted_peers: the S-CSCFs and application
 * servers that control it): an INVITE from anywhere else is refused 403, so that nobody
 * outside can play prompts, join conferences or take ports. Requests that start nothing
 * (OPTIONS) are answered to anybody.
 */
static int mrfc_request(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip)
{
    struct mrfc *mrfc = d->priv;
    int method = sip->sip_request->rq_method;
    if (method != sip_method_invite) {
        if (method != sip_method_ack && method != sip_method_options && sip->sip_to &&
            sip->sip_to->a_tag)
            return ims_sip_refuse(d->sip, irq, sip, 481, "no such dialog here");
        return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
    }
    struct ims_sip_source src;
    ims_sip_source(d->sip, irq, &src);
    if (!src.trusted) {
        ims_counter_inc(mrfc->m_refused_untrusted);
        struct ims_log_ids ids = { .call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL };
        ims_log(IMS_LOG_INFO, &ids, "mrfc: INVITE from %s refused 403: not a trusted peer "
                "(sip.trusted_peers)", src.key[0] ? src.key : "an unknown source");
        char why[200];
        snprintf(why, sizeof(why), "INVITE from %s: not a trusted peer of this MRF",
                 src.key[0] ? src.key : "?");
        return ims_sip_refuse(d->sip, irq, sip, 403, why);
    }
    return mrfc_session_invite(mrfc, irq, sip, &src);
}

static const struct ims_daemon_desc mrfc_desc = {
    .name = "mrfc",
    .summary = "Media Resource Function (controller and processor): announcements, "
               "conferences, Cr control channel (RFC 6230, IVR, mixer); Rf and Ro client",
    .keys = mrfc_keys,
    .more_keys = ims_chg_keys,
    .flags = IMS_D_SIP | IMS_D_DIAMETER,
    .diam_apps = IMS_APP_BIT(IMS_APP_RF) | IMS_APP_BIT(IMS_APP_RO),
    .sip_allow = ALLOW,
    .init = mrfc_init,
    .start = mrfc_start,
    .stop = mrfc_stop,
    .on_request = mrfc_request,
};

int main(int argc, char **argv)
{
    return ims_daemon_main(argc, argv, &mrfc_desc);
}
