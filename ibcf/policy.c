/*
 * policy.c - the trust domain at the border (RFC 3325 section 5, RFC 3323, RFC 7315,
 * TS 24.229 4.4 and 5.10): which headers a message loses when it crosses it
 *
 * Table-driven: one row per header, saying when it goes. An untrusted network's requests and
 * responses lose the identities it asserts (our nodes would otherwise believe them: the
 * I-CSCF and S-CSCF trust the IBCF, the IBCF decides for them), and ours towards it lose
 * what only the trust domain may see. P-Asserted-Identity towards an untrusted network goes
 * only when the user asked for privacy of the identity (RFC 3325 section 5, RFC 3323 'id').
 * With hiding on, what carries our addresses outside the lists of hide.c is rewritten.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "ibcf.h"
#include "sip_hdr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

enum when {
    ALWAYS = 1,                 /* in both directions, whatever the peer */
    UNTRUSTED = 2,              /* in both directions, with an untrusted peer */
};

static const struct {
    const char *name;
    enum when when;
} rules[] = {
    /* charging addresses are of one network only (RFC 7315 4.5, TS 24.229 5.10) */
    { "P-Charging-Function-Addresses", ALWAYS },
    /* identities and services the trust domain asserts (RFC 5502, TS 24.229 4.4) */
    { "P-Served-User", UNTRUSTED },
    { "P-Profile-Key", UNTRUSTED },
    { "P-Asserted-Service", UNTRUSTED },
    /* where the user is (RFC 7315 4.4: not passed outside the trust domain) */
    { "P-Access-Network-Info", UNTRUSTED },
};

/* Does Privacy ask for the identity to be withheld ('id', RFC 3325 9.3)? */
static bool privacy_id(const sip_t *sip)
{
    const sip_privacy_t *p = sip->sip_privacy;
    for (const msg_param_t *v = p ? p->priv_values : NULL; v && *v; v++)
        if (strcasecmp(*v, "id") == 0)
            return true;
    return false;
}

/* P-Charging-Vector without icid-generated-at (the address of the node that made it) */
static void pcv_hide(msg_t *msg, sip_t *sip)
{
    const char *v = ims_sip_header(sip, "P-Charging-Vector");
    struct ims_pcv pcv;
    char out[512];
    if (!v || ims_pcv_parse(v, &pcv) != 0 || !pcv.generated_at[0])
        return;
    pcv.generated_at[0] = '\0';
    if (ims_pcv_format(&pcv, out, sizeof(out)) > 0)
        ims_sip_header_set(msg, sip, "P-Charging-Vector", out);
}

/* Every warn-agent becomes @host (the warn-text stays: it says what went wrong) */
static void warnings_hide(msg_t *msg, sip_t *sip, const char *host)
{
    char list[4096] = "", item[1024];
    bool changed = false;
    for (const sip_warning_t *w = sip->sip_warning; w; w = w->w_next) {
        if (strcmp(w->w_host, host) != 0 || w->w_port)
            changed = true;
        /* the entry printed with our agent: code, agent, quoted text */
        msg_warning_t copy = *w;
        copy.w_host = host;
        copy.w_port = NULL;
        issize_t n = msg_header_field_e(item, sizeof(item), (msg_header_t *)&copy, 0);
        size_t off = strlen(list);
        if (n <= 0 || (size_t)n >= sizeof(item) ||
            snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", item) >=
                (int)(sizeof(list) - off))
            return;
    }
    if (!changed)
        return;
    msg_header_remove_all(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_warning);
    msg_header_t *h = msg_header_make(msg_home(msg), sip_warning_class, list);
    if (h)
        msg_header_insert(msg, (msg_pub_t *)sip, h);
}

int ibcf_policy_apply(msg_t *msg, sip_t *sip, enum ibcf_dir dir, bool trusted, bool hide,
                      const char *host)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].when == ALWAYS || (rules[i].when == UNTRUSTED && !trusted))
            ims_sip_header_remove(msg, sip, rules[i].name);
    int removed = 0;
    if (!trusted && (dir == IBCF_IN || privacy_id(sip)))
        removed = ims_sip_paid_remove(msg, sip);
    if (hide && dir == IBCF_OUT) {
        pcv_hide(msg, sip);
        if (sip->sip_warning)
            warnings_hide(msg, sip, host);
    }
    return removed;
}

/* The P-Charging-Vector of @sip into @pcv; else, for a response, the ICID (and orig-ioi) of
 * its request @req. 0, or -EINVAL when neither has one. */
static int pcv_of(const sip_t *sip, const sip_t *req, struct ims_pcv *pcv)
{
    const char *v = ims_sip_header(sip, "P-Charging-Vector");
    if (v)
        return ims_pcv_parse(v, pcv);
    v = req ? ims_sip_header(req, "P-Charging-Vector") : NULL;
    if (!v || ims_pcv_parse(v, pcv) != 0)
        return -EINVAL;
    pcv->generated_at[0] = pcv->term_ioi[0] = '\0';
    return 0;
}

int ibcf_ioi_apply(msg_t *msg, sip_t *sip, enum ibcf_dir dir, const sip_t *req,
                   const char *home, const char *peer_ioi, bool trusted)
{
    struct ims_pcv pcv;
    char out[512];
    bool request = sip->sip_request != NULL;
    if (pcv_of(sip, req, &pcv) != 0)
        return -EINVAL;
    /* the other network's identifier: what a trusted peer wrote, else what we know of it */
    if (request && dir == IBCF_OUT) {
        snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", home);
        pcv.term_ioi[0] = '\0';
    } else if (request) {
        if (!trusted || !pcv.orig_ioi[0])
            snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", peer_ioi);
        pcv.term_ioi[0] = '\0';
    } else if (dir == IBCF_IN) {
        snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", home);
        if (!trusted || !pcv.term_ioi[0])
            snprintf(pcv.term_ioi, sizeof(pcv.term_ioi), "%s", peer_ioi);
    } else {
        snprintf(pcv.term_ioi, sizeof(pcv.term_ioi), "%s", home);
        if (!pcv.orig_ioi[0])
            snprintf(pcv.orig_ioi, sizeof(pcv.orig_ioi), "%s", peer_ioi);
    }
    if (ims_pcv_format(&pcv, out, sizeof(out)) <= 0)
        return -EINVAL;
    ims_sip_header_set(msg, sip, "P-Charging-Vector", out);
    return 0;
}
