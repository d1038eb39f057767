/*
 * sas.c - the IPsec security associations of the UEs (TS 33.203 7.1, 7.2, 7.4; TS 24.229
 *         5.2.2): one set of four ESP SAs per UE, from the 401 that challenges it to the end
 *         of its registration
 *
 * A set is made when the S-CSCF's 401 passes for a REGISTER that offered sec-agree: its CK
 * and IK are read from the WWW-Authenticate (before register.c removes them), two SPIs of
 * ours are allocated (unique among the sets in store, so never reused while in use), and
 * four transport-mode SAs with their policies go in through the ops (the kernel in the
 * daemon, a recorder in the unit tests):
 *
 *   0  UE port_uc -> P-CSCF port_ps   inbound,  SPI spi_ps (ours)
 *   1  P-CSCF port_ps -> UE port_uc   outbound, SPI spi_uc (the UE's): our responses
 *   2  P-CSCF port_pc -> UE port_us   outbound, SPI spi_us (the UE's): our requests
 *   3  UE port_us -> P-CSCF port_pc   inbound,  SPI spi_pc (ours): the UE's responses
 *
 * Such a set is temporary (lifetime: reg-await-auth, PCSCF_SAS_AWAIT_AUTH) until a REGISTER
 * that came over it is accepted (200): then its SAs are installed again with the lifetime of
 * the registration + 30 s (TS 33.203 7.4) and the bindings made over it hold it. It goes when
 * its last binding goes (de-registration, expiry: pcscf_sas_detach() marks it, and
 * pcscf_sas_flush() removes the SAs once the 200 has left), or at its own expiry
 * (pcscf_sas_expire()). A set that another replaces (re-registration: a new set from the
 * same UE) keeps the SAs the new one does not take over until its bindings go.
 *
 * One protected client port and one protected server port serve every UE: the SAs of two
 * UEs differ by the UE's address and ports (as in Kamailio's ims_ipsec_pcscf).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

#define ALL_SAS 0xfu

struct pcscf_sas {
    struct pcscf_sa_ops ops;
    int family;                  /* of the P-CSCF's address */
    uint8_t addr[16];
    uint16_t port_pc, port_ps;
    uint32_t spi_min, spi_max, spi_next;
    size_t count, max;
    struct pcscf_saset *head;
};

struct pcscf_sas *pcscf_sas_create(const struct pcscf_sa_ops *ops, const char *address,
                                   uint16_t port_pc, uint16_t port_ps, size_t max)
{
    struct pcscf_sas *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->family = strchr(address, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(s->family, address, s->addr) != 1 || !port_pc || !port_ps ||
        port_pc == port_ps) {
        free(s);
        return NULL;
    }
    s->ops = *ops;
    s->port_pc = port_pc;
    s->port_ps = port_ps;
    s->spi_min = PCSCF_SAS_SPI_MIN;
    s->spi_max = PCSCF_SAS_SPI_MAX;
    s->spi_next = s->spi_min;
    s->max = max;
    return s;
}

uint16_t pcscf_sas_port_pc(const struct pcscf_sas *s)
{
    return s->port_pc;
}

uint16_t pcscf_sas_port_ps(const struct pcscf_sas *s)
{
    return s->port_ps;
}

size_t pcscf_sas_count(const struct pcscf_sas *s)
{
    return s->count;
}

/* The SA @i (0-3, the table above) of @set, with lifetime @expires (seconds from now) */
static void sa_of(const struct pcscf_sas *s, const struct pcscf_saset *set, int i,
                  uint32_t expires, struct pcscf_xfrm_sa *sa, bool *in)
{
    memset(sa, 0, sizeof(*sa));
    sa->family = s->family;
    sa->auth = set->offer.alg;
    sa->enc = set->offer.ealg;
    sa->expires = expires;
    pcscf_ipsec_keys(sa, set->ck, set->ik);
    size_t n = s->family == AF_INET6 ? 16 : 4;
    *in = i == 0 || i == 3;
    memcpy(*in ? sa->src : sa->dst, set->ue, n);
    memcpy(*in ? sa->dst : sa->src, s->addr, n);
    static const int ue_is_c[4] = { 1, 1, 0, 0 };        /* the UE's port: port_uc or us */
    uint16_t ue_port = ue_is_c[i] ? set->offer.port_c : set->offer.port_s;
    uint16_t our_port = i < 2 ? s->port_ps : s->port_pc;
    sa->sport = *in ? ue_port : our_port;
    sa->dport = *in ? our_port : ue_port;
    const uint32_t spis[4] = { set->spi_ps, set->offer.spi_c, set->offer.spi_s, set->spi_pc };
    sa->spi = spis[i];
    sa->reqid = i < 2 ? set->spi_ps : set->spi_pc;   /* ours: unique to the set */
}

/* Remove the SAs of @set in @mask that are installed; returns the first error or 0 */
static int uninstall(struct pcscf_sas *s, struct pcscf_saset *set, unsigned mask)
{
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        if (!(set->installed & mask & (1u << i)))
            continue;
        struct pcscf_xfrm_sa sa;
        bool in;
        sa_of(s, set, i, 0, &sa, &in);
        int r = s->ops.remove(s->ops.arg, &sa, in);
        if (r && !rc)
            rc = r;
        set->installed &= ~(1u << i);
    }
    return rc;
}

/* Install the four SAs of @set with lifetime @expires: 0, or the error of the ops (what was
 * installed is removed again) */
static int install(struct pcscf_sas *s, struct pcscf_saset *set, uint32_t expires)
{
    for (int i = 0; i < 4; i++) {
        struct pcscf_xfrm_sa sa;
        bool in;
        sa_of(s, set, i, expires, &sa, &in);
        int rc = s->ops.add(s->ops.arg, &sa, in);
        if (rc) {
            uninstall(s, set, ALL_SAS);
            return rc;
        }
        set->installed |= 1u << i;
    }
    return 0;
}

static bool spi_used(const struct pcscf_sas *s, uint32_t spi)
{
    for (const struct pcscf_saset *x = s->head; x; x = x->next)
        if (x->spi_pc == spi || x->spi_ps == spi)
            return true;
    return false;
}

/* Two SPIs of ours not used by any set in store: 0, or -ENOSPC */
static int alloc_spis(struct pcscf_sas *s, uint32_t *a, uint32_t *b)
{
    uint32_t got[2];
    uint64_t range = (uint64_t)s->spi_max - s->spi_min + 1;
    int n = 0;
    for (uint64_t tries = 0; n < 2 && tries < range; tries++) {
        uint32_t spi = s->spi_next;
        s->spi_next = spi >= s->spi_max ? s->spi_min : spi + 1;
        if (!spi_used(s, spi) && (n == 0 || got[0] != spi))
            got[n++] = spi;
    }
    if (n < 2)
        return -ENOSPC;
    *a = got[0];
    *b = got[1];
    return 0;
}

/* Does an installed SA of @x have the selector of SA @i of @set? (same UE address, same
 * UE port in the same role: the new set takes it over) */
static unsigned overlaps(const struct pcscf_saset *x, const struct pcscf_saset *set)
{
    unsigned mask = 0;
    if (x->family != set->family || memcmp(x->ue, set->ue, sizeof(x->ue)) != 0)
        return 0;
    if (x->offer.port_c == set->offer.port_c)
        mask |= 0x3u;            /* SAs 0 and 1: UE port_uc <-> our port_ps */
    if (x->offer.port_s == set->offer.port_s)
        mask |= 0xcu;            /* SAs 2 and 3: our port_pc <-> UE port_us */
    return mask & x->installed;
}

/* A new set can go in: the SAs of other sets with its selectors are removed first */
static void take_over(struct pcscf_sas *s, struct pcscf_saset *set)
{
    for (struct pcscf_saset *x = s->head; x; x = x->next)
        if (x != set)
            uninstall(s, x, overlaps(x, set));
}

int pcscf_sas_start(struct pcscf_sas *s, const char *ue_ip, const struct pcscf_sec_offer *offer,
                    const uint8_t ck[16], const uint8_t ik[16], time_t now,
                    struct pcscf_saset **out)
{
    *out = NULL;
    if (s->count >= s->max)
        return -ENOSPC;
    struct pcscf_saset *set = calloc(1, sizeof(*set));
    if (!set)
        return -ENOMEM;
    set->family = strchr(ue_ip, ':') ? AF_INET6 : AF_INET;
    int rc = set->family == s->family && inet_pton(set->family, ue_ip, set->ue) == 1
                 ? 0 : -EAFNOSUPPORT;
    snprintf(set->ue_ip, sizeof(set->ue_ip), "%s", ue_ip);
    set->offer = *offer;
    memcpy(set->ck, ck, 16);
    memcpy(set->ik, ik, 16);
    if (rc == 0)
        rc = alloc_spis(s, &set->spi_pc, &set->spi_ps);
    if (rc == 0)
        rc = pcscf_secagree_server(offer, set->spi_pc, set->spi_ps, s->port_pc, s->port_ps,
                                   set->server, sizeof(set->server));
    if (rc == 0) {
        take_over(s, set);
        rc = install(s, set, PCSCF_SAS_AWAIT_AUTH);
    }
    if (rc) {
        free(set);
        return rc;
    }
    set->expires = now + PCSCF_SAS_AWAIT_AUTH;
    set->next = s->head;
    s->head = set;
    s->count++;
    *out = set;
    return 0;
}

struct pcscf_saset *pcscf_sas_find(struct pcscf_sas *s, const char *ue_ip, unsigned port_uc)
{
    for (struct pcscf_saset *x = s->head; x; x = x->next)
        if (!x->doomed && x->offer.port_c == port_uc && strcmp(x->ue_ip, ue_ip) == 0 &&
            (x->installed & 0x3u) == 0x3u)
            return x;
    return NULL;
}

struct pcscf_saset *pcscf_sas_of_flow(struct pcscf_sas *s, const struct ims_sip_source *src)
{
    if (!s || strcmp(src->proto, "tls") == 0)
        return NULL;
    return pcscf_sas_find(s, src->ip, src->port);
}

int pcscf_sas_confirm(struct pcscf_sas *s, struct pcscf_saset *set, time_t now,
                      time_t reg_expires)
{
    time_t life = reg_expires - now + PCSCF_SAS_GRACE;
    if (life <= PCSCF_SAS_GRACE)
        return 0;   /* a de-registration: nothing to keep */
    uninstall(s, set, ALL_SAS);
    take_over(s, set);
    int rc = install(s, set, (uint32_t)life);
    if (rc == 0) {
        set->confirmed = true;
        set->expires = now + life;
    }
    return rc;
}

void pcscf_sas_attach(struct pcscf_saset *set)
{
    set->nbindings++;
}

void pcscf_sas_detach(struct pcscf_saset *set)
{
    if (set->nbindings > 0)
        set->nbindings--;
    if (set->nbindings == 0)
        set->doomed = true;
}

static void unlink_free(struct pcscf_sas *s, struct pcscf_saset **at)
{
    struct pcscf_saset *x = *at;
    uninstall(s, x, ALL_SAS);
    *at = x->next;
    free(x);
    s->count--;
}

int pcscf_sas_flush(struct pcscf_sas *s)
{
    int n = 0;
    for (struct pcscf_saset **at = s ? &s->head : NULL; at && *at;) {
        if ((*at)->doomed) {
            unlink_free(s, at);
            n++;
        } else {
            at = &(*at)->next;
        }
    }
    return n;
}

int pcscf_sas_expire(struct pcscf_sas *s, time_t now)
{
    for (struct pcscf_saset *x = s ? s->head : NULL; x; x = x->next) {
        if (x->nbindings > 0) {
            if (x->expires <= now)   /* held by a binding: freed when it lets go */
                uninstall(s, x, ALL_SAS);
        } else if (x->expires <= now || !x->installed) {
            x->doomed = true;
        }
    }
    return pcscf_sas_flush(s);
}

void pcscf_sas_destroy(struct pcscf_sas *s)
{
    if (!s)
        return;
    while (s->head)
        unlink_free(s, &s->head);
    free(s);
}

/* ---- the REGISTER's side of it ---- */

/* 16 bytes from a quoted or bare hex value of 32 digits: 0 or -EINVAL */
static int hex16(const char *v, uint8_t out[16])
{
    if (!v)
        return -EINVAL;
    bool quoted = *v == '"';
    v += quoted;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)v[i]))
            return -EINVAL;
    if (strcmp(v + 32, quoted ? "\"" : "") != 0)
        return -EINVAL;
    for (int i = 0; i < 16; i++) {
        char two[3] = { v[2 * i], v[2 * i + 1], '\0' };
        out[i] = (uint8_t)strtoul(two, NULL, 16);
    }
    return 0;
}

int pcscf_auth_keys(const sip_t *resp, uint8_t ck[16], uint8_t ik[16])
{
    for (const sip_www_authenticate_t *wa = resp->sip_www_authenticate; wa; wa = wa->au_next)
        if (wa->au_params && hex16(msg_params_find(wa->au_params, "ck="), ck) == 0 &&
            hex16(msg_params_find(wa->au_params, "ik="), ik) == 0)
            return 0;
    return -ENOENT;
}

int pcscf_sas_arrival(struct pcscf_sas *s, const struct ims_sip_source *src, bool is_register,
                      struct pcscf_saset **set, char *why, size_t len)
{
    *set = NULL;
    if (!s || src->trusted)
        return 0;
    bool on_ps = src->local_port == s->port_ps, on_pc = src->local_port == s->port_pc;
    struct pcscf_saset *x = strcmp(src->proto, "tls") == 0 ? NULL
                            : pcscf_sas_find(s, src->ip, src->port);
    if ((on_ps || on_pc) && !x) {
        snprintf(why, len, "a request from %s on the protected port %u: over no security "
                 "association of this P-CSCF", src->key, src->local_port);
        return 403;
    }
    if (on_pc) {
        snprintf(why, len, "a request from %s on the protected client port %u (requests "
                 "come to the protected server port)", src->key, src->local_port);
        return 403;
    }
    if (x && !on_ps && x->confirmed && !is_register) {
        snprintf(why, len, "a request from %s, a flow protected by IPsec, outside its "
                 "security association (port %u)", src->key, src->local_port);
        return 403;
    }
    *set = on_ps ? x : NULL;
    return 0;
}

int pcscf_sas_verify(const struct pcscf_saset *set, const sip_t *req, char *why, size_t len)
{
    if (!req->sip_security_verify) {
        snprintf(why, len, "a REGISTER over the security association without "
                 "Security-Verify");
        return 494;
    }
    if (!pcscf_secagree_verify_ok(req->sip_security_verify, set->server)) {
        snprintf(why, len, "Security-Verify is not the Security-Server this P-CSCF sent");
        return 494;
    }
    return 0;
}

int pcscf_sas_check_register(struct pcscf_sas *s, const struct ims_sip_source *src,
                             const sip_t *req, struct pcscf_saset **set, char *why, size_t len)
{
    int st = pcscf_sas_arrival(s, src, true, set, why, len);
    if (st)
        return st;
    if (*set)
        return pcscf_sas_verify(*set, req, why, len);
    if (s && req->sip_security_verify && !src->trusted) {
        snprintf(why, len, "a REGISTER with Security-Verify from %s that did not come over a "
                 "security association of this P-CSCF", src->key);
        return 403;
    }
    return 0;
}

const char *pcscf_sas_server(const struct pcscf_saset *set)
{
    return set->server;
}

int pcscf_sas_challenge(struct pcscf_sas *s, const char *ue_ip,
                        const struct pcscf_sec_offer *offer, msg_t *msg, sip_t *resp,
                        time_t now, struct pcscf_saset **out)
{
    uint8_t ck[16], ik[16];
    *out = NULL;
    int rc = pcscf_auth_keys(resp, ck, ik);
    if (rc == 0)
        rc = pcscf_sas_start(s, ue_ip, offer, ck, ik, now, out);
    if (rc == 0 && sip_add_make(msg, resp, sip_security_server_class, (*out)->server) != 0) {
        (*out)->doomed = true;
        pcscf_sas_flush(s);
        *out = NULL;
        rc = -ENOMEM;
    }
    memset(ck, 0, sizeof(ck));
    memset(ik, 0, sizeof(ik));
    return rc;
}
