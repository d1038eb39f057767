/*
 * daemon.h - the main skeleton every IMS daemon shares
 *
 * ims_daemon_main() parses the command line (--config, --version, --help, --check,
 * --pidfile), loads and validates the configuration (common keys + the daemon's own),
 * starts logging, the loop, HTTP (/health, /metrics), Diameter and SIP as the daemon
 * declares, calls the daemon's hooks, runs until SIGTERM/SIGINT and stops everything in
 * reverse order.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DAEMON_H
#define IMS_DAEMON_H

#include "config.h"
#include "diam.h"
#include "http.h"
#include "loop.h"
#include "sip.h"

#define IMS_D_SIP      0x1   /* the daemon has a SIP stack */
#define IMS_D_DIAMETER 0x2   /* the daemon has a Diameter stack (client and/or server) */
#define IMS_D_DIAMETER_SERVER 0x4  /* ... and serves: listens, accepts diameter.peers */

struct ims_daemon;

struct ims_daemon_desc {
    const char *name;                 /* "pcscf" */
    const char *summary;              /* one line for --help */
    const struct ims_cfg_key *keys;   /* the daemon's own keys, or NULL */
    const struct ims_cfg_key *more_keys;  /* shared keys it also takes (charging), or NULL */
    unsigned flags;                   /* IMS_D_* */
    unsigned diam_apps;               /* IMS_APP_BIT() mask advertised in CER/CEA */
    const char *sip_allow;            /* Allow header of the default SIP answers */
    /* hooks, each may be NULL; a negative return stops the start */
    int (*init)(struct ims_daemon *d);    /* config loaded, stacks created, not started */
    int (*start)(struct ims_daemon *d);   /* stacks started, before the loop runs */
    void (*stop)(struct ims_daemon *d);   /* loop ended, stacks still up */
    /* SIP requests outside dialogs; NULL answers 501 (see ims_sip_reply_unhandled) */
    int (*on_request)(struct ims_daemon *d, nta_incoming_t *irq, const sip_t *sip);
};

struct ims_daemon {
    const struct ims_daemon_desc *desc;
    struct ims_cfg *cfg;
    struct ims_loop *loop;
    struct ims_sip *sip;          /* NULL without IMS_D_SIP */
    struct ims_http *http;
    void *priv;                   /* the daemon's own context */
};

int ims_daemon_main(int argc, char **argv, const struct ims_daemon_desc *desc);

/* The common configuration keys (for documentation tools and tests) */
extern const struct ims_cfg_key ims_daemon_node_keys[];
extern const struct ims_cfg_key ims_daemon_sip_keys[];
extern const struct ims_cfg_key ims_daemon_diameter_keys[];

/* Build the schema list of a daemon into @out (room for 6 entries). */
void ims_daemon_schemas(const struct ims_daemon_desc *desc, const struct ims_cfg_key **out);

/* Path of a file that goes with the configuration: absolute, or relative to the folder of
 * the configuration file (number tables, shared iFCs). */
const char *ims_daemon_conf_path(struct ims_daemon *d, const char *name, char *buf,
                                 size_t len);

/* Path under node.state_dir (buf receives "<state_dir>/<name>"). */
const char *ims_daemon_state_path(struct ims_daemon *d, const char *name, char *buf,
                                  size_t len);

#endif
