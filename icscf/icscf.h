/*
 * icscf.h - the I-CSCF daemon's context and cross-file functions
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef ICSCF_H
#define ICSCF_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "proxy.h"

#define ICSCF_MAX_CAPS 16
#define ICSCF_MAX_SCSCF 16

/* An S-CSCF the I-CSCF may choose for a first registration */
struct icscf_scscf {
    char uri[256];
    unsigned caps[ICSCF_MAX_CAPS];
    int ncaps;
};

struct icscf {
    struct ims_daemon *d;
    char realm[256];                    /* Destination-Realm of UAR/LIR */
    char home[256];                     /* home network (Visited-Network-Identifier default) */
    struct icscf_scscf scscfs[ICSCF_MAX_SCSCF];
    int nscscfs;
    unsigned retry_after;               /* Retry-After of 480 when the HSS cannot answer */
};

/* ---- select.c: pure S-CSCF selection ---- */

/* Capabilities asked by the HSS (Server-Capabilities) */
struct icscf_caps {
    unsigned mandatory[ICSCF_MAX_CAPS], optional[ICSCF_MAX_CAPS];
    int nmandatory, noptional;
    char names[4][256];                 /* preferred S-CSCFs (Server-Name inside) */
    int nnames;
};

/*
 * icscf_select - the S-CSCF to use, into @name: the first name the HSS prefers that is not
 * excluded, else the configured S-CSCF having every mandatory capability and most optional
 * ones (the first of equals), skipping those in @excluded (URIs). false when none fits.
 */
bool icscf_select(const struct icscf_scscf *list, int n, const struct icscf_caps *caps,
                  const char *const *excluded, int nexcluded, char *name, size_t len);

/* Parse "sip:uri 1 2 3" (an icscf.scscfs item); 0 or -EINVAL */
int icscf_scscf_parse(const char *item, struct icscf_scscf *out);
int icscf_check_scscf(const char *value, char *err, size_t errlen);

/* ---- cx.c: UAR and LIR towards the HSS ---- */

enum { ICSCF_UAT_REGISTRATION = 0, ICSCF_UAT_DE_REGISTRATION = 1,
       ICSCF_UAT_REGISTRATION_AND_CAPABILITIES = 2 };

struct icscf_answer {
    int error;                  /* 0, or -ETIMEDOUT / -ENOTCONN ... (no answer) */
    uint32_t code;
    bool experimental;
    char server_name[256];
    bool has_caps;
    struct icscf_caps caps;
};

typedef void (*icscf_answer_fn)(void *arg, const struct icscf_answer *a);

int icscf_cx_uar(struct icscf *c, const char *impi, const char *impu, const char *vn,
                 int type, icscf_answer_fn fn, void *arg);

/* LIR for a request to @impu (TS 29.229 6.1.4) */
int icscf_cx_lir(struct icscf *c, const char *impu, icscf_answer_fn fn, void *arg);

/*
 * icscf_sip_status - the SIP answer for a Diameter outcome that is not a success (one
 * table, TS 29.228 results -> TS 24.229 behaviour). Fills @phrase and @why (for the Warning).
 */
int icscf_sip_status(const struct icscf_answer *a, const char **phrase, const char **why);
/* The same for a LIA: user unknown is 404, not registered 480 (TS 24.229 5.3.2.1) */
int icscf_sip_status_lir(const struct icscf_answer *a, const char **phrase, const char **why);

/* ---- register.c ---- */
/* A REGISTER; only from trusted peers (P-CSCFs): from anybody else 403 */
int icscf_register(struct icscf *c, nta_incoming_t *irq, const sip_t *sip,
                   const struct ims_sip_source *src);
void icscf_register_metrics(void);
void icscf_register_refused(void);   /* a REGISTER refused before its transaction */

/* ---- location.c: requests other than REGISTER, routed by LIR ---- */
/* From an untrusted source, the identities it asserts go and a Route beyond us is refused */
int icscf_route(struct icscf *c, nta_incoming_t *irq, const sip_t *sip,
                const struct ims_sip_source *src);
void icscf_route_metrics(void);
void icscf_route_refused(void);      /* a request refused before its transaction */
/* Whether icscf_route() asks the HSS where request @req goes (LIR): no Route, not an ACK,
 * not for this node, an identity of this network. Also asked before the transaction (the
 * early refusal of main.c): keep the two in step. */
bool icscf_route_needs_lir(struct icscf *c, const sip_t *req);

#endif
