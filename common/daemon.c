/*
 * daemon.c - shared main(): arguments, configuration, start and stop ordering
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "daemon.h"
#include "diam_peer.h"
#include "heap.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/su.h>

#ifndef IMS_VERSION
#define IMS_VERSION "0.0.0-dev"
#endif

const struct ims_cfg_key ims_daemon_node_keys[] = {
    { "node", "name", IMS_CFG_HOST, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, NULL,
      "this node's host name (FQDN), e.g. pcscf.ims.mnc001.mcc001.3gppnetwork.org" },
    { "node", "address", IMS_CFG_ADDR, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, NULL,
      "this node's IP address; SIP, Diameter and HTTP listen on it unless told otherwise" },
    { "node", "domain", IMS_CFG_HOST, NULL, IMS_CFG_REQUIRED, 0, 0, NULL, NULL,
      "home network domain, also the Diameter realm" },
    { "node", "state_dir", IMS_CFG_PATH, ".", 0, 0, 0, NULL, NULL,
      "folder for databases and other state" },
    { "log", "level", IMS_CFG_ENUM, "info", 0, 0, 0, "error|warn|info|debug", NULL,
      "least important level written" },
    { "log", "format", IMS_CFG_ENUM, "kv", 0, 0, 0, "kv|json", NULL,
      "kv: key=value lines; json: one JSON object per line" },
    { "log", "file", IMS_CFG_PATH, "-", 0, 0, 0, NULL, NULL, "log file, '-' for stderr" },
    { "http", "address", IMS_CFG_ADDR, "@node.address", 0, 0, 0, NULL, NULL,
      "address of /health, /metrics and the daemon's API" },
    { "http", "port", IMS_CFG_INT, "8080", 0, 1, 65535, NULL, NULL, "HTTP port" },
    IMS_CFG_END
};

const struct ims_cfg_key ims_daemon_sip_keys[] = {
    { "sip", "address", IMS_CFG_ADDR, "@node.address", 0, 0, 0, NULL, NULL,
      "SIP listen address" },
    { "sip", "port", IMS_CFG_INT, "5060", 0, 1, 65535, NULL, NULL, "SIP port" },
    { "sip", "transports", IMS_CFG_LIST, "udp,tcp", 0, 0, 0, "udp|tcp|tls", NULL,
      "transports to listen on (tls on sip.tls_port, with tls_cert, tls_key and tls_ca)" },
    { "sip", "tls_port", IMS_CFG_INT, "5061", 0, 1, 65535, NULL, NULL,
      "SIP over TLS port (when sip.transports lists tls)" },
    { "sip", "tls_cert", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM certificate of this node for SIP over TLS" },
    { "sip", "tls_key", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM private key of that certificate" },
    { "sip", "tls_ca", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM CA certificate(s) that sign the certificates of the SIP peers we connect to" },
    { "sip", "tls_verify_clients", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL,
      "mutual TLS (Mw between the CSCFs): a peer that connects to sip.tls_port must present "
      "a certificate signed by tls_ca, else the handshake fails; no for a P-CSCF whose UEs "
      "use TLS without certificates (Gm)" },
    { "sip", "own_uri_tls", IMS_CFG_BOOL, "no", 0, 0, 0, NULL, NULL,
      "the node names itself by its TLS URI (sip:<address>:<tls_port>;transport=tls;lr) in "
      "Path, Service-Route and Record-Route, so that the other nodes reach it over TLS (Mw); "
      "needs tls in sip.transports" },
    { "sip", "hosts", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ims_cfg_check_host_entry,
      "static name resolution: name=address, comma separated (where there is no DNS)" },
    { "sip", "trusted_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ims_cfg_check_net,
      "the trust domain: addresses or networks (address/prefix) of the SIP peers whose "
      "asserted identities and routes are believed (the other CSCFs, application servers, "
      "gateways); a request from any other source is handled as from outside the domain. "
      "An item ending in ;tls (127.0.0.10;tls) is trusted only over a TLS connection whose "
      "certificate was verified against sip.tls_ca, never by its address alone" },
    { "sip", "t1x64_ms", IMS_CFG_INT, "32000", 0, 2000, 120000, NULL, NULL,
      "how long a transaction lives (RFC 3261 64 x T1): a request without any answer is "
      "given up after it (timers B, F: 408), an answered one is kept as long on UDP to "
      "answer retransmissions again (timers H, J). Shorter holds less memory under load "
      "(each kept transaction holds its request and response, 10-20 KiB) but a client "
      "retransmission that comes later, after a lost answer, is served as a new request" },
    { "overload", "enabled", IMS_CFG_BOOL, "yes", 0, 0, 0, NULL, NULL,
      "admission control of new requests (outside dialogs): what the node cannot take now "
      "is answered 503 at once; requests in dialogs, ACK and CANCEL are never refused" },
    { "overload", "target_delay_ms", IMS_CFG_INT, "20", 0, 1, 10000, NULL, NULL,
      "the mean time messages may wait in the SIP sockets before the node reads them; "
      "above it the admission rate is lowered, below it raised while work is refused" },
    { "overload", "max_wait_ms", IMS_CFG_INT, "0", 0, 0, 60000, NULL, NULL,
      "a new request (not from the core, not an emergency) that waited longer than this in "
      "the SIP socket is answered 503 at once, whatever the admission rate; 0: no bound" },
    { "overload", "max_rate", IMS_CFG_INT, "0", 0, 0, 10000000, NULL, NULL,
      "new requests per second never exceeded (a fixed ceiling); 0: none, the rate only "
      "follows the measured delay" },
    { "overload", "min_rate", IMS_CFG_INT, "20", 0, 1, 10000000, NULL, NULL,
      "the adapted admission rate never goes below this many new requests per second" },
    { "overload", "retry_after", IMS_CFG_INT, "5", 0, 0, 3600, NULL, NULL,
      "Retry-After (seconds) of the 503 answers for overload (0: none)" },
    { "overload", "max_transactions", IMS_CFG_INT, "50000", 0, 0, 10000000, NULL, NULL,
      "proxy transactions in flight at most (each holds its request and responses; INVITEs "
      "stay 32 s); past it new requests get 503 (priority ones 10 % later); 0: no bound" },
    { "overload", "max_heap_mb", IMS_CFG_INT, "1024", 0, 0, 1048576, NULL, NULL,
      "heap in use (malloc, MB) at most: past it new requests get 503 (priority ones 10 % "
      "later); it bounds what transactions in flight hold, sofia-sip's own included (they "
      "stay 32 s after they end); 0: no bound" },
    { "overload", "rfc7339", IMS_CFG_BOOL, "yes", 0, 0, 0, NULL, NULL,
      "SIP overload control (RFC 7339, loss algorithm) with the next hops: offer it in our "
      "Via, send fewer requests to a next hop that asks for it, and ask clients that offer "
      "it to send fewer while this node refuses work" },
    { "overload", "oc_validity_ms", IMS_CFG_INT, "1000", 0, 100, 3600000, NULL, NULL,
      "oc-validity of the reductions this node asks of its clients (RFC 7339)" },
    IMS_CFG_END
};

const struct ims_cfg_key ims_daemon_diameter_keys[] = {
    { "diameter", "identity", IMS_CFG_HOST, "@node.name", 0, 0, 0, NULL, NULL,
      "Diameter identity (Origin-Host)" },
    { "diameter", "realm", IMS_CFG_HOST, "@node.domain", 0, 0, 0, NULL, NULL,
      "Diameter realm (Origin-Realm)" },
    { "diameter", "address", IMS_CFG_ADDR, "@node.address", 0, 0, 0, NULL, NULL,
      "Diameter listen address" },
    { "diameter", "port", IMS_CFG_INT, "3868", 0, 1, 65535, NULL, NULL,
      "Diameter listen port for plain TCP (servers: hss, ocs; only when plain_peers or "
      "tls = no)" },
    { "diameter", "transport", IMS_CFG_ENUM, "tcp", 0, 0, 0, "tcp|sctp", NULL,
      "transport to peers (this lab's kernel has no SCTP)" },
    { "diameter", "peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, ims_cfg_check_peer,
      "the trusted peers, identity@address[:port], comma separated: a client connects to "
      "them; a server (hss, ocs) accepts each only from its address" },
    { "diameter", "accept_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL,
      ims_diam_check_pattern,
      "LAB ONLY: also accept peers not listed whose identity matches a pattern, optionally "
      "only from an address or network: *.ims.example.org@127.0.1.0/24" },
    { "diameter", "tls", IMS_CFG_BOOL, "yes", 0, 0, 0, NULL, NULL,
      "TLS with every peer not in plain_peers (needs tls_cert, tls_key, tls_ca)" },
    { "diameter", "plain_peers", IMS_CFG_LIST, "", IMS_CFG_EMPTY_OK, 0, 0, NULL,
      ims_diam_check_pattern,
      "peers that use plain TCP although tls = yes: identity patterns, optionally "
      "@address[/prefix]" },
    { "diameter", "tls_port", IMS_CFG_INT, "5868", 0, 1, 65535, NULL, NULL,
      "Diameter/TLS listen port (servers)" },
    { "diameter", "tls_cert", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM certificate" },
    { "diameter", "tls_key", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM private key" },
    { "diameter", "tls_ca", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM CA certificate that signs the peers' certificates (one file, one certificate)" },
    { "diameter", "tls_dh", IMS_CFG_PATH, "", IMS_CFG_EMPTY_OK, 0, 0, NULL, NULL,
      "PEM Diffie-Hellman parameters (empty: freeDiameter makes new ones at start)" },
    { "diameter", "tc_timer", IMS_CFG_INT, "30", 0, 1, 3600, NULL, NULL,
      "seconds between reconnection attempts" },
    { "diameter", "tw_timer", IMS_CFG_INT, "30", 0, 6, 3600, NULL, NULL,
      "watchdog interval in seconds" },
    { "diameter", "threads", IMS_CFG_INT, "4", 0, 1, 64, NULL, NULL,
      "freeDiameter dispatch threads, and as many threads running the server's handlers" },
    { "diameter", "nice", IMS_CFG_INT, "0", 0, 0, 10, NULL, NULL,
      "freeDiameter's threads run this many nice levels below the SIP loop (0: the same): "
      "for a node whose Diameter is background work, such as a P-CSCF's Rf" },
    { "diameter", "max_queue", IMS_CFG_INT, "5000", 0, 1, 1000000, NULL, NULL,
      "received requests waiting for a handler thread at most; more are answered "
      "DIAMETER_TOO_BUSY at once" },
    { "diameter", "busy_wait_ms", IMS_CFG_INT, "500", 0, 1, 60000, NULL, NULL,
      "a received request that waited longer than this for a handler thread is answered "
      "DIAMETER_TOO_BUSY instead of being handled" },
    { "diameter", "doic", IMS_CFG_BOOL, "yes", 0, 0, 0, NULL, NULL,
      "Diameter overload indication (RFC 7683, loss algorithm): a client offers it in its "
      "requests (not Rf) and sends fewer requests to a server that reports overload; a "
      "server reports overload to the clients that offer it" },
    { "diameter", "doic_threshold_pct", IMS_CFG_INT, "50", 0, 1, 99, NULL, NULL,
      "server: an overload report starts when the request queue holds more than this "
      "percentage of max_queue, or the requests taken in a second waited on average more "
      "than this percentage of busy_wait_ms; the reduction grows to 90 % at the limit" },
    { "diameter", "doic_validity_s", IMS_CFG_INT, "5", 0, 1, 86400, NULL, NULL,
      "server: OC-Validity-Duration of its overload reports (renewed at half of it)" },
    { "diameter", "request_timeout_ms", IMS_CFG_INT, "3000", 0, 100, 60000, NULL, NULL,
      "how long to wait for an answer" },
    { "diameter", "max_pending", IMS_CFG_INT, "10000", 0, 10, 1000000, NULL, NULL,
      "requests awaiting answers before new ones are refused" },
    { "diameter", "extensions_dir", IMS_CFG_PATH, "/usr/lib/freeDiameter", 0, 0, 0, NULL,
      NULL, "folder of freeDiameter's dictionary extensions" },
    IMS_CFG_END
};

void ims_daemon_schemas(const struct ims_daemon_desc *desc, const struct ims_cfg_key **out)
{
    int n = 0;
    out[n++] = ims_daemon_node_keys;
    if (desc->flags & IMS_D_SIP)
        out[n++] = ims_daemon_sip_keys;
    if (desc->flags & IMS_D_DIAMETER)
        out[n++] = ims_daemon_diameter_keys;
    if (desc->keys)
        out[n++] = desc->keys;
    if (desc->more_keys)
        out[n++] = desc->more_keys;
    out[n] = NULL;
}

const char *ims_daemon_state_path(struct ims_daemon *d, const char *name, char *buf,
                                  size_t len)
{
    if (name[0] == '/')
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s/%s", ims_cfg_str(d->cfg, "node.state_dir"), name);
    return buf;
}

const char *ims_daemon_conf_path(struct ims_daemon *d, const char *name, char *buf, size_t len)
{
    const char *conf = ims_cfg_path(d->cfg);
    const char *slash = conf ? strrchr(conf, '/') : NULL;
    if (name[0] == '/' || !conf)
        snprintf(buf, len, "%s", name);
    else if (!slash)
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%.*s/%s", (int)(slash - conf), conf, name);
    return buf;
}

static void usage(FILE *f, const struct ims_daemon_desc *desc)
{
    const struct ims_cfg_key *schemas[6];
    ims_daemon_schemas(desc, schemas);
    fprintf(f, "%s - %s\n\n", desc->name, desc->summary);
    fprintf(f, "usage: %s --config FILE [--pidfile FILE]\n"
               "       %s --check --config FILE   validate the configuration and exit\n"
               "       %s --version | --help\n\n",
            desc->name, desc->name, desc->name);
    fprintf(f, "Configuration keys (file sections and keys; IMS_<SECTION>_<KEY> in the\n"
               "environment overrides the file):\n");
    ims_cfg_print_schema(schemas, f);
    fprintf(f, "\nSIGTERM or SIGINT stops the daemon cleanly.\n");
}

/* ---- process metrics ---- */

static double rss_bytes(void *arg)
{
    (void)arg;
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Bytes malloc hands out at the moment (every arena, and blocks of their own mapping). The
 * resident size keeps the peak of short-lived objects (SIP transactions linger for 32 s
 * after their answer on UDP) as freed but fragmented heap; this gauge tells live state
 * (registrations, dialogs) apart from that. The reading of the SIP admission (heap.h) is
 * taken while under HEAP_SCRAPE_AGE_US old: walking the heap from the HTTP thread held the
 * arena lock the loop's malloc needs, up to 180 ms a scrape under a call flood. */
#define HEAP_SCRAPE_AGE_US 15000000ULL
static double heap_bytes(void *arg)
{
    (void)arg;
    size_t bytes;
    if (!ims_heap_recent(HEAP_SCRAPE_AGE_US, &bytes))
        bytes = ims_heap_read();
    return (double)bytes;
}

static double g_start_time;
static double start_time(void *arg)
{
    (void)arg;
    return g_start_time;
}

static double queue_depth(void *arg)
{
    return (double)ims_loop_queue_depth(arg);
}

static double queue_rejected(void *arg)
{
    return (double)ims_loop_rejected(arg);
}

static void register_process_metrics(struct ims_daemon *d)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "daemon=\"%s\",version=\"%s\"", d->desc->name,
             IMS_VERSION);
    ims_gauge_set(ims_gauge_new("ims_build_info", "Daemon name and version", labels), 1);
    ims_gauge_fn_new("process_resident_memory_bytes", "Resident memory size in bytes", NULL,
                     rss_bytes, NULL);
    ims_gauge_fn_new("process_heap_inuse_bytes", "Heap memory in use (malloc), in bytes", NULL,
                     heap_bytes, NULL);
    g_start_time = (double)time(NULL);
    ims_gauge_fn_new("process_start_time_seconds", "Start time since the Unix epoch", NULL,
                     start_time, NULL);
    ims_gauge_fn_new("ims_loop_queue_depth", "Jobs waiting for the event loop", NULL,
                     queue_depth, d->loop);
    ims_gauge_fn_new("ims_loop_queue_rejected", "Jobs refused because the loop queue was full",
                     NULL, queue_rejected, d->loop);
}

/* ---- start / stop ---- */

static int on_sip_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
    struct ims_daemon *d = arg;
    if (d->desc->on_request)
        return d->desc->on_request(d, irq, sip);
    return ims_sip_reply_unhandled(d->sip, irq, sip, d->desc->sip_allow);
}

/* Diameter from the diameter.* keys; the lab patterns of accept_peers become warnings of
 * /health. The peer lists are copied by ims_diam_init() and freed here. */
static int start_diameter(struct ims_daemon *d)
{
    const struct ims_cfg *c = d->cfg;
    static const char *const keys[3] = { "diameter.peers", "diameter.accept_peers",
                                         "diameter.plain_peers" };
    char **lists[3] = { NULL, NULL, NULL };
    int rc = -ENOMEM;
    for (int i = 0; i < 3; i++)
        if (!(lists[i] = ims_cfg_list(c, keys[i], NULL)))
            goto out_lists;
    struct ims_diam_conf dc = {
        .identity = ims_cfg_str(c, "diameter.identity"),
        .realm = ims_cfg_str(c, "diameter.realm"),
        .address = ims_cfg_str(c, "diameter.address"),
        .port = (int)ims_cfg_int(c, "diameter.port"),
        .sctp = strcmp(ims_cfg_str(c, "diameter.transport"), "sctp") == 0,
        .server = (d->desc->flags & IMS_D_DIAMETER_SERVER) != 0,
        .peers = lists[0],
        .accept = lists[1],
        .plain = lists[2],
        .tls = ims_cfg_bool(c, "diameter.tls"),
        .tls_port = (int)ims_cfg_int(c, "diameter.tls_port"),
        .tls_cert = ims_cfg_str(c, "diameter.tls_cert"),
        .tls_key = ims_cfg_str(c, "diameter.tls_key"),
        .tls_ca = ims_cfg_str(c, "diameter.tls_ca"),
        .tls_dh = ims_cfg_str(c, "diameter.tls_dh"),
        .tc_timer = (int)ims_cfg_int(c, "diameter.tc_timer"),
        .tw_timer = (int)ims_cfg_int(c, "diameter.tw_timer"),
        .threads = (int)ims_cfg_int(c, "diameter.threads"),
        .nice = (int)ims_cfg_int(c, "diameter.nice"),
        .request_timeout_ms = (unsigned)ims_cfg_int(c, "diameter.request_timeout_ms"),
        .max_pending = (unsigned)ims_cfg_int(c, "diameter.max_pending"),
        .max_queue = (unsigned)ims_cfg_int(c, "diameter.max_queue"),
        .busy_wait_ms = (unsigned)ims_cfg_int(c, "diameter.busy_wait_ms"),
        .doic = ims_cfg_bool(c, "diameter.doic"),
        .doic_threshold_pct = (unsigned)ims_cfg_int(c, "diameter.doic_threshold_pct"),
        .doic_validity_s = (unsigned)ims_cfg_int(c, "diameter.doic_validity_s"),
        .apps = d->desc->diam_apps,
        .ext_dir = ims_cfg_str(c, "diameter.extensions_dir"),
        .loop = d->loop,
    };
    rc = ims_diam_init(&dc);
    if (rc == -ENOKEY)
        ims_err("%s: diameter.tls = yes (the default) needs diameter.tls_cert, tls_key and "
                "tls_ca (readable files); or list the peers that use plain TCP in "
                "diameter.plain_peers, or set diameter.tls = no", ims_cfg_path(c));
    for (char **p = lists[1]; rc == 0 && p && *p; p++)
        ims_http_health_warn(d->http, "diameter: accepts any peer matching %s "
                             "(diameter.accept_peers): lab only", *p);
out_lists:
    for (int i = 0; i < 3; i++)
        ims_strv_free(lists[i]);
    return rc;
}

/* Diameter outcomes of our requests (loop thread): a server too busy, or silent, is a sign
 * of overload downstream that lowers the SIP admission rate. Accounting (Rf) is not: its
 * records wait in the spool and do not hold SIP work up. Nor is a request throttled here
 * for a server's overload report (RFC 7683): that reduction is already the server's ask,
 * and cutting the SIP rate for it as well would cut twice. */
static void on_diam_outcome(void *arg, enum ims_cmd cmd, const struct ims_diam_result *res)
{
    struct ims_daemon *d = arg;
    if (!d->sip || cmd == IMS_CMD_ACR || res->throttled)
        return;
    if ((!res->error && !res->experimental && res->code == IMS_DIAM_TOO_BUSY) ||
        res->error == -ETIMEDOUT)
        ims_admission_penalty(ims_sip_admission(d->sip));
}

static void admission_conf(const struct ims_cfg *c, struct ims_admission_conf *a)
{
    *a = (struct ims_admission_conf){
        .enabled = ims_cfg_bool(c, "overload.enabled"),
        .target_delay_ms = (double)ims_cfg_int(c, "overload.target_delay_ms"),
        .max_rate = (double)ims_cfg_int(c, "overload.max_rate"),
        .min_rate = (double)ims_cfg_int(c, "overload.min_rate"),
        .retry_after = (unsigned)ims_cfg_int(c, "overload.retry_after"),
        .max_transactions = (unsigned)ims_cfg_int(c, "overload.max_transactions"),
        .max_heap_mb = (unsigned)ims_cfg_int(c, "overload.max_heap_mb"),
        .max_wait_ms = (unsigned)ims_cfg_int(c, "overload.max_wait_ms"),
        .oc = ims_cfg_bool(c, "overload.rfc7339"),
        .oc_validity_ms = (unsigned)ims_cfg_int(c, "overload.oc_validity_ms"),
    };
}

/*
 * check_sip_tls - the TLS keys of @sc taken together: tls in sip.transports needs readable
 * tls_cert, tls_key and tls_ca; sip.tls_verify_clients, own_uri_tls and the ";tls" items of
 * sip.trusted_peers need tls (without a verified incoming connection such an item could
 * never be trusted). Logs what is wrong; 0 or -EINVAL.
 */
static int check_sip_tls(const struct ims_cfg *cfg, const struct ims_sip_conf *sc)
{
    bool tls = false;
    const char *tls_item = NULL;
    for (char **t = sc->transports; *t; t++)
        tls = tls || strcmp(*t, "tls") == 0;
    for (char **t = sc->trusted; *t && !tls_item; t++)
        if (strlen(*t) > 4 && strcmp(*t + strlen(*t) - 4, ";tls") == 0)
            tls_item = *t;
    if (tls && (!*sc->tls_cert || !*sc->tls_key || !*sc->tls_ca ||
                access(sc->tls_cert, R_OK) != 0 || access(sc->tls_key, R_OK) != 0 ||
                access(sc->tls_ca, R_OK) != 0)) {
        ims_err("%s: sip.transports lists tls: sip.tls_cert, tls_key and tls_ca must name "
                "readable PEM files (now: '%s', '%s', '%s')", ims_cfg_path(cfg),
                sc->tls_cert, sc->tls_key, sc->tls_ca);
        return -EINVAL;
    }
    if ((sc->tls_verify_clients || sc->own_uri_tls) && !tls) {
        ims_err("%s: sip.%s = yes needs tls in sip.transports", ims_cfg_path(cfg),
                sc->tls_verify_clients ? "tls_verify_clients" : "own_uri_tls");
        return -EINVAL;
    }
    if (tls_item && !sc->tls_verify_clients) {
        ims_err("%s: sip.trusted_peers item '%s' is trusted over verified TLS only: it needs "
                "tls in sip.transports and sip.tls_verify_clients = yes (peers that connect "
                "present their certificate)", ims_cfg_path(cfg), tls_item);
        return -EINVAL;
    }
    return 0;
}

static int start_sip(struct ims_daemon *d)
{
    char **tps = ims_cfg_list(d->cfg, "sip.transports", NULL);
    char **hosts = ims_cfg_list(d->cfg, "sip.hosts", NULL);
    char **trusted = ims_cfg_list(d->cfg, "sip.trusted_peers", NULL);
    if (!tps || !hosts || !trusted) {
        ims_strv_free(tps);
        ims_strv_free(hosts);
        ims_strv_free(trusted);
        return -ENOMEM;
    }
    struct ims_admission_conf adm;
    admission_conf(d->cfg, &adm);
    struct ims_sip_conf sc = {
        .admission = &adm,
        .address = ims_cfg_str(d->cfg, "sip.address"),
        .port = (int)ims_cfg_int(d->cfg, "sip.port"),
        .transports = tps,
        .tls_port = (int)ims_cfg_int(d->cfg, "sip.tls_port"),
        .tls_cert = ims_cfg_str(d->cfg, "sip.tls_cert"),
        .tls_key = ims_cfg_str(d->cfg, "sip.tls_key"),
        .tls_ca = ims_cfg_str(d->cfg, "sip.tls_ca"),
        .tls_verify_clients = ims_cfg_bool(d->cfg, "sip.tls_verify_clients"),
        .own_uri_tls = ims_cfg_bool(d->cfg, "sip.own_uri_tls"),
        .t1x64_ms = (unsigned)ims_cfg_int(d->cfg, "sip.t1x64_ms"),
        .host = ims_cfg_str(d->cfg, "node.name"),
        .node = d->desc->name,
        .hosts = hosts,
        .trusted = trusted,
    };
    if (check_sip_tls(d->cfg, &sc) != 0) {
        ims_strv_free(tps);
        ims_strv_free(hosts);
        ims_strv_free(trusted);
        return -ENOKEY;
    }
    d->sip = ims_sip_create(ims_loop_root(d->loop), &sc, on_sip_request, d);
    ims_strv_free(tps);
    ims_strv_free(hosts);
    ims_strv_free(trusted);
    if (!d->sip)
        return -EADDRNOTAVAIL;
    ims_http_health_add(d->http, ims_sip_health, d->sip);
    ims_http_health_add(d->http, ims_admission_health, ims_sip_admission(d->sip));
    ims_http_health_field(d->http, ims_admission_health_fields, ims_sip_admission(d->sip));
    if (d->desc->flags & IMS_D_DIAMETER)
        ims_diam_set_observer(on_diam_outcome, d);
    return 0;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        ims_err("cannot write pid file %s: %s", path, strerror(errno));
        return -errno;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    return 0;
}

static int load_config(const struct ims_daemon_desc *desc, const char *path,
                       struct ims_cfg **out)
{
    const struct ims_cfg_key *schemas[6];
    char err[512];
    ims_daemon_schemas(desc, schemas);
    *out = ims_cfg_load(path, schemas, err, sizeof(err));
    if (!*out) {
        fprintf(stderr, "%s: configuration error: %s\n", desc->name, err);
        return -EINVAL;
    }
    return 0;
}

static int init_logging(struct ims_daemon *d)
{
    const struct ims_cfg *c = d->cfg;
    int rc = ims_log_init(d->desc->name, ims_log_level_parse(ims_cfg_str(c, "log.level")),
                          ims_log_format_parse(ims_cfg_str(c, "log.format")),
                          ims_cfg_str(c, "log.file"));
    if (rc) {
        fprintf(stderr, "%s: cannot open log file %s: %s\n", d->desc->name,
                ims_cfg_str(c, "log.file"), strerror(-rc));
        return rc;
    }
    return 0;
}

static int check_state_dir(struct ims_daemon *d)
{
    const char *dir = ims_cfg_str(d->cfg, "node.state_dir");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        ims_err("%s: node.state_dir %s is not a writable folder", ims_cfg_path(d->cfg), dir);
        return -ENOTDIR;
    }
    return 0;
}

int ims_daemon_main(int argc, char **argv, const struct ims_daemon_desc *desc)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "pidfile", required_argument, NULL, 'p' },
        { "check", no_argument, NULL, 't' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *pidfile = NULL;
    bool check = false;
    int o;
    ims_heap_tune();
    while ((o = getopt_long(argc, argv, "c:p:tVh", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            config = optarg;
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 't':
            check = true;
            break;
        case 'V':
            printf("%s (ims-core) %s\n", desc->name, IMS_VERSION);
            return 0;
        case 'h':
            usage(stdout, desc);
            return 0;
        default:
            usage(stderr, desc);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", desc->name, argv[optind]);
        return 2;
    }
    if (!config) {
        fprintf(stderr, "%s: --config FILE is required (see --help)\n", desc->name);
        return 2;
    }

    struct ims_daemon d = { .desc = desc };
    int rc = load_config(desc, config, &d.cfg);
    if (rc)
        return 2;
    if (check) {
        printf("%s: configuration %s is valid\n", desc->name, config);
        ims_cfg_free(d.cfg);
        return 0;
    }
    if ((rc = init_logging(&d)) != 0)
        goto out_cfg;
    ims_info("%s %s starting with %s", desc->name, IMS_VERSION, config);
    ims_cfg_dump(d.cfg);
    if ((rc = check_state_dir(&d)) != 0)
        goto out_log;

    su_init();
    /* the queue carries at most one Diameter outcome per pending request, plus HTTP work */
    size_t queue = 4096;
    if (desc->flags & IMS_D_DIAMETER)
        queue += (size_t)ims_cfg_int(d.cfg, "diameter.max_pending");
    d.loop = ims_loop_create(queue);
    if (!d.loop) {
        rc = -ENOMEM;
        goto out_su;
    }
    register_process_metrics(&d);
    d.http = ims_http_create(ims_cfg_str(d.cfg, "http.address"),
                             (int)ims_cfg_int(d.cfg, "http.port"), desc->name, IMS_VERSION);
    if (!d.http) {
        rc = -ENOMEM;
        goto out_loop;
    }
    if (desc->flags & IMS_D_DIAMETER) {
        if ((rc = start_diameter(&d)) != 0)
            goto out_diam;
        ims_http_health_add(d.http, ims_diam_health, NULL);
    }
    if ((desc->flags & IMS_D_SIP) && (rc = start_sip(&d)) != 0)
        goto out_diam;
    if (desc->init && (rc = desc->init(&d)) != 0)
        goto out_sip;
    if ((desc->flags & IMS_D_DIAMETER) && (rc = ims_diam_start()) != 0)
        goto out_init;
    if ((rc = ims_http_start(d.http)) != 0)
        goto out_init;
    if (desc->start && (rc = desc->start(&d)) != 0)
        goto out_init;
    if (pidfile && (rc = write_pidfile(pidfile)) != 0)
        goto out_started;

    ims_info("%s started (http %s:%ld)", desc->name, ims_cfg_str(d.cfg, "http.address"),
             ims_cfg_int(d.cfg, "http.port"));
    int sig = ims_loop_run(d.loop);
    ims_info("%s stopping%s", desc->name, sig ? " on signal" : "");
    rc = 0;

out_started:
    if (pidfile)
        unlink(pidfile);
out_init:
    if (desc->stop)
        desc->stop(&d);
out_sip:
    ims_sip_destroy(d.sip);
out_diam:
    if (desc->flags & IMS_D_DIAMETER)
        ims_diam_stop();
    ims_http_destroy(d.http);
out_loop:
    ims_loop_destroy(d.loop);
out_su:
    su_deinit();
out_log:
    if (rc)
        ims_err("%s did not start: %s", desc->name, strerror(rc < 0 ? -rc : rc));
    else
        ims_info("%s stopped", desc->name);
    ims_log_fini();
out_cfg:
    ims_cfg_free(d.cfg);
    ims_metrics_fini();
    return rc ? 1 : 0;
}
