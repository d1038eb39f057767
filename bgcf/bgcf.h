/*
 * bgcf.h - the BGCF daemon's context and cross-file functions
 *
 * The routing table (route.c) is immutable once built: the HTTP thread builds a new one for
 * each change of the REST API and the loop thread swaps it in (ims_loop_call), so a lookup
 * on the loop thread never takes a lock and never sees half a change.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef BGCF_H
#define BGCF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "daemon.h"
#include "proxy.h"

#define BGCF_ID_MAX 64          /* a route's name, with its NUL */
#define BGCF_MATCH_MAX 256      /* "+1999" or a domain */
#define BGCF_URI_MAX 256        /* next hop */
#define BGCF_PREFIX_DIGITS 15   /* E.164: at most 15 digits */
#define BGCF_NUMBER_MAX 32      /* digits of a called number we route on */
#define BGCF_MAX_TRIES 8        /* routes tried for one request (the proxy's branches) */
#define BGCF_MAX_ROUTES 100000  /* routes in one table */

/* Where a route leads (TS 23.228 5.19): the local MGCF, or another network's BGCF or IBCF */
enum bgcf_kind { BGCF_KIND_MGCF = 0, BGCF_KIND_BGCF, BGCF_KIND_IBCF };

struct bgcf_route {
    char id[BGCF_ID_MAX];           /* its name in the API and the logs */
    bool domain;                    /* match is a domain (else an E.164 prefix) */
    char match[BGCF_MATCH_MAX];     /* "+1999", "+" (every number); "example.net",
                                     * "*.example.net", "*" (every domain) */
    char next_hop[BGCF_URI_MAX];    /* SIP URI the request is sent to */
    int kind;                       /* enum bgcf_kind */
    unsigned priority;              /* 0..65535: lower first */
    unsigned weight;                /* 0..65535: share among routes of equal priority */
    bool from_config;               /* bgcf.routes (read-only through the API) */
};

/* One route chosen for a request, in the order to try */
struct bgcf_target {
    char id[BGCF_ID_MAX];
    char next_hop[BGCF_URI_MAX];
    int kind;
};

/* What a request is routed on: the called number (digits, no '+') or the domain */
struct bgcf_key {
    bool number;
    char digits[BGCF_NUMBER_MAX];
    char domain[BGCF_MATCH_MAX];
};

struct bgcf_table;

/* Random numbers of the weighted choice (tests give their own) */
typedef uint32_t (*bgcf_rand_fn)(void *arg);

/* ---- route.c: the pure routing table ---- */

/*
 * bgcf_route_check - is @r a valid route? On failure 0 is not returned: -EINVAL with the
 * field at fault ("id", "prefix", "domain", "next_hop", "kind", "priority", "weight") in
 * @field and why in @why.
 */
int bgcf_route_check(const struct bgcf_route *r, char *field, size_t flen, char *why,
                     size_t wlen);

/*
 * bgcf_route_parse - one item of bgcf.routes: "<id> <prefix|domain> <next-hop>
 * [kind=mgcf|bgcf|ibcf] [priority=N] [weight=N]" (a prefix starts with '+'). 0, or -EINVAL
 * with why in @err. The route is checked (bgcf_route_check) and marked from_config.
 */
int bgcf_route_parse(const char *item, struct bgcf_route *r, char *err, size_t errlen);
/* Configuration check of one bgcf.routes item (ims_cfg_key.check) */
int bgcf_check_route_item(const char *value, char *err, size_t errlen);

const char *bgcf_kind_name(int kind);
int bgcf_kind_parse(const char *name);   /* enum bgcf_kind, or -EINVAL */

/*
 * bgcf_table_new - a table of @n routes (copied). Every route must be valid; ids must be
 * unique. NULL with why in @err (-EINVAL cases) or on allocation failure ("out of memory").
 * Free with bgcf_table_free.
 */
struct bgcf_table *bgcf_table_new(const struct bgcf_route *routes, size_t n, char *err,
                                  size_t errlen);
void bgcf_table_free(struct bgcf_table *t);
size_t bgcf_table_count(const struct bgcf_table *t);
/* The routes in a fixed order (match, priority, id); NULL past the end */
const struct bgcf_route *bgcf_table_at(const struct bgcf_table *t, size_t i);
const struct bgcf_route *bgcf_table_find(const struct bgcf_table *t, const char *id);

/*
 * bgcf_key_of - what a request for @uri is routed on: the number of a tel: URI or of a SIP
 * URI with user=phone (visual separators dropped; a local number counts when its
 * phone-context is a global number prefix), else the host of a SIP URI.
 * Returns 0, -EPROTONOSUPPORT for another scheme, -EINVAL for a number that is not one
 * (letters), -ENOENT for a local number without a global phone-context.
 */
int bgcf_key_of(const url_t *uri, struct bgcf_key *k);

/*
 * bgcf_table_select - the routes for @k, in the order to try, into @out (at most @max):
 * the routes of the longest matching prefix (numbers) or of the most specific domain
 * (exact, then the longest "*." suffix, then "*"); among them lower priority first and,
 * within one priority, a weighted random order (a route of weight w comes first with
 * probability w / sum; weight 0 routes only after the others of their priority).
 * Returns how many (0: no route).
 */
int bgcf_table_select(const struct bgcf_table *t, const struct bgcf_key *k, bgcf_rand_fn rnd,
                      void *rnd_arg, struct bgcf_target *out, int max);

/* The route as JSON (API answers); NULL on allocation failure */
json_t *bgcf_route_json(const struct bgcf_route *r);
/*
 * bgcf_route_from_json - a route named @id from an API body. 0, or -EINVAL with the field
 * at fault in @field (an unknown member is named too) and why in @why.
 */
int bgcf_route_from_json(const json_t *doc, const char *id, struct bgcf_route *r, char *field,
                         size_t flen, char *why, size_t wlen);

/* ---- the daemon ---- */

struct bgcf {
    struct ims_daemon *d;
    struct bgcf_table *table;       /* live table: read on the loop thread, replaced there */
    struct bgcf_route *config;      /* bgcf.routes */
    size_t nconfig;
    struct ims_db *db;              /* routes of the API; the HTTP thread's after start */
    pthread_mutex_t api_lock;       /* the API against the daemon's stop */
    bool stopping;                  /* under api_lock */
    char api_token[256];
    bool record_route;
    unsigned route_timeout_ms;
    struct ims_chg *chg;
    su_timer_t *tick;
    uint64_t rnd;                   /* xorshift state of the weighted choice (loop thread) */
};

uint32_t bgcf_rand(void *arg);      /* @arg: a uint64_t state, never 0 */

/* ---- store.c: the API's routes in SQLite ---- */
int bgcf_store_open(struct bgcf *b, const char *path);
void bgcf_store_close(struct bgcf *b);
/* Every stored route into *out (malloc'd, caller frees) and *n. 0 or -errno. */
int bgcf_store_load(struct bgcf *b, struct bgcf_route **out, size_t *n);
int bgcf_store_put(struct bgcf *b, const struct bgcf_route *r);
int bgcf_store_delete(struct bgcf *b, const char *id);

/*
 * bgcf_tables_build - the table of the configured routes and @api (routes of the API; one
 * whose id is taken by the configuration is left out with a warning). NULL with why in
 * @err.
 */
struct bgcf_table *bgcf_tables_build(const struct bgcf *b, const struct bgcf_route *api,
                                     size_t napi, char *err, size_t errlen);

/* ---- api.c: /api/v1/routes ---- */
int bgcf_api_init(struct bgcf *b);

/* ---- breakout.c: the requests ---- */
void bgcf_breakout_metrics(void);
/* A request from a trusted peer outside any dialog of ours or inside one (Record-Route) */
int bgcf_breakout(struct bgcf *b, nta_incoming_t *irq, const sip_t *sip);

/* ---- charging.c: Rf, Node-Functionality BGCF ---- */
int bgcf_charging_init(struct bgcf *b);
void bgcf_charging_stop(struct bgcf *b);
void bgcf_charging_tick(struct bgcf *b);
/* A final response to @req goes upstream (relayed or ours); @t0: when @req arrived */
void bgcf_charging_response(struct bgcf *b, const sip_t *req, const sip_t *resp, time_t t0);
/* A request inside a dialog passes (BYE ends its charging) */
void bgcf_charging_in_dialog(struct bgcf *b, const sip_t *req);

#endif
