/*
 * subscriber.h - the validated subscriber document, shared by subscriber_doc.c (which
 * builds it), subscriber.c (which writes it) and subscriber_read.c; internal to them
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HSS_SUBSCRIBER_H
#define HSS_SUBSCRIBER_H

#include "hss.h"

#define HSS_DOC_MAX_SHARED 32        /* shared iFC sets per profile */
#define HSS_DOC_MAX_VISITED 32

struct hss_doc_ifc {
    char *spec;                  /* compact JSON with sorted keys (malloc'd) */
    char *xml;                   /* <InitialFilterCriteria> (malloc'd) */
    int priority;
    bool unreg_services;
};

struct hss_doc_profile {
    const char *name;
    struct hss_doc_ifc *ifcs;    /* malloc'd, nifcs entries */
    size_t nifcs;
    int64_t shared[HSS_DOC_MAX_SHARED];
    size_t nshared;
    int64_t id;                  /* row id once written */
};

struct hss_doc_impi {
    const char *identity;
    const char *password;        /* NULL when absent */
    char ha1[33];                /* "" when absent */
    bool has_aka;
    uint8_t k[16], opc[16], amf[2];   /* OPc: given, or computed from OP */
    bool has_sqn;
    uint64_t sqn;
    unsigned schemes;            /* enum hss_scheme bits */
    unsigned default_scheme;
    const char *imsi, *msisdn;
    bool barred;
    char ip_address[64];         /* early IMS: canonical text, "" when absent */
    const char *line_ids[HSS_LINE_IDS_MAX];   /* NASS-bundled */
    size_t nline_ids;
    int64_t id;                  /* row id once written */
};

struct hss_doc_impu {
    const char *identity;
    enum hss_identity_type type;
    char wildcard[HSS_ID_MAX];   /* "" unless a wildcarded type */
    int64_t implicit_set;        /* 0: alone */
    int profile;                 /* index in profiles, -1 for none */
    bool barred;
    const char *display_name, *psi_as;
    bool psi_active;
    uint64_t impis;              /* bit i: linked to impis[i] */
    int64_t id;                  /* row id once written */
};

/* A validated document; its strings point into the json_t it was parsed from. */
struct hss_doc {
    const char *name;
    struct hss_doc_impi impis[HSS_DOC_MAX_IMPIS];
    size_t nimpis;
    struct hss_doc_impu impus[HSS_DOC_MAX_IMPUS];
    size_t nimpus;
    struct hss_doc_profile profiles[HSS_DOC_MAX_PROFILES];
    size_t nprofiles;
    char caps[2][256];           /* mandatory, optional: comma-separated integers */
    const char *ccf[2], *ecf[2];
    const char *visited[HSS_DOC_MAX_VISITED];
    size_t nvisited;
};

/*
 * hss_doc_parse - validate a whole document into *out (free it with hss_doc_free, also on
 * error). Returns 0, -EINVAL with r->field and r->err naming the problem, or -ENOMEM/-EIO.
 */
int hss_doc_parse(json_t *json, struct hss_doc **out, struct hss_put_result *r);
void hss_doc_free(struct hss_doc *d);

/* A domain name or an IP literal ("[...]"), @n bytes of @s. */
bool hss_doc_is_host(const char *s, size_t n);
/* enum hss_scheme bits -> "digest,akav1,akav2" (the database form; 128 bytes hold all) */
void hss_doc_scheme_text(unsigned bits, char *out, size_t len);

static inline bool hss_doc_is_psi(enum hss_identity_type t)
{
    return t == HSS_PSI || t == HSS_WILDCARD_PSI;
}

#endif
