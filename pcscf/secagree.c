/*
 * secagree.c - the security mechanism agreement of a UE's registration (RFC 3329, TS 33.203
 *              7.2 and Annex H, TS 24.229 5.2.2): pure functions, no I/O
 *
 * A UE that wants IPsec puts in its first REGISTER a Security-Client with one or more
 * "ipsec-3gpp" offers: the algorithms it accepts (alg: hmac-sha-1-96 | hmac-md5-96; ealg:
 * aes-cbc | null, none meaning null), its SPIs (spi-c, spi-s) and protected ports (port-c,
 * port-s), prot=esp and mod=trans; with "Require: sec-agree" and "Proxy-Require: sec-agree"
 * when it will not register without. The P-CSCF picks one offer, answers the 401 with a
 * Security-Server naming its own SPIs and ports, and the UE's protected REGISTER repeats
 * that Security-Server as its Security-Verify.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "pcscf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

static const struct {
    const char *name;
    enum pcscf_ipsec_auth alg;
    int score;
} algs[] = { { "hmac-sha-1-96", PCSCF_IPSEC_HMAC_SHA1_96, 2 },
             { "hmac-md5-96", PCSCF_IPSEC_HMAC_MD5_96, 1 } };

static const struct {
    const char *name;
    enum pcscf_ipsec_enc ealg;
    int score;
} ealgs[] = { { "aes-cbc", PCSCF_IPSEC_AES_CBC, 2 }, { "null", PCSCF_IPSEC_ENC_NULL, 1 } };

const char *pcscf_secagree_alg_name(enum pcscf_ipsec_auth a)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].alg == a)
            return algs[i].name;
    return "?";
}

const char *pcscf_secagree_ealg_name(enum pcscf_ipsec_enc e)
{
    for (size_t i = 0; i < sizeof(ealgs) / sizeof(ealgs[0]); i++)
        if (ealgs[i].ealg == e)
            return ealgs[i].name;
    return "?";
}

static bool has_tag(const msg_list_t *list, const char *tag)
{
    return sip_has_feature(list, tag) != 0;
}

int pcscf_secagree_asked(const sip_t *sip)
{
    if (has_tag((const msg_list_t *)sip->sip_require, "sec-agree") ||
        has_tag((const msg_list_t *)sip->sip_proxy_require, "sec-agree"))
        return 2;
    if (sip->sip_security_client || has_tag((const msg_list_t *)sip->sip_supported,
                                            "sec-agree"))
        return 1;
    return 0;
}

/* The number in parameter @name of @params (decimal) within [@min, @max]: 0, or -EINVAL */
static int number(msg_param_t const *params, const char *name, unsigned long min,
                  unsigned long max, unsigned long *out)
{
    const char *v = msg_params_find(params, name);
    char *end;
    if (!v || !*v)
        return -EINVAL;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n < min || n > max)
        return -EINVAL;
    *out = n;
    return 0;
}

/* One ipsec-3gpp offer read into @o with its score (higher is better): 0, -ENOTSUP (nothing
 * we can do), -EINVAL (a parameter missing or out of range) */
static int read_offer(const sip_security_client_t *sc, struct pcscf_sec_offer *o, int *score)
{
    msg_param_t const *p = sc->sa_params;
    const char *alg = msg_params_find(p, "alg="), *ealg = msg_params_find(p, "ealg=");
    const char *prot = msg_params_find(p, "prot="), *mod = msg_params_find(p, "mod=");
    int sa = -1, se = -1;
    if ((prot && strcasecmp(prot, "esp") != 0) || (mod && strcasecmp(mod, "trans") != 0))
        return -ENOTSUP;
    for (size_t i = 0; alg && i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcasecmp(alg, algs[i].name) == 0)
            sa = (int)i;
    for (size_t i = 0; i < sizeof(ealgs) / sizeof(ealgs[0]); i++)
        if (strcasecmp(ealg ? ealg : "null", ealgs[i].name) == 0)   /* none: null */
            se = (int)i;
    if (sa < 0 || se < 0)
        return -ENOTSUP;
    unsigned long spi_c, spi_s, port_c, port_s;
    if (number(p, "spi-c=", 256, 0xffffffffUL, &spi_c) || number(p, "spi-s=", 256,
                                                                  0xffffffffUL, &spi_s) ||
        number(p, "port-c=", 1, 65535, &port_c) || number(p, "port-s=", 1, 65535, &port_s) ||
        spi_c == spi_s)
        return -EINVAL;
    o->alg = algs[sa].alg;
    o->ealg = ealgs[se].ealg;
    o->spi_c = (uint32_t)spi_c;
    o->spi_s = (uint32_t)spi_s;
    o->port_c = (uint16_t)port_c;
    o->port_s = (uint16_t)port_s;
    *score = algs[sa].score * 10 + ealgs[se].score;
    return 0;
}

int pcscf_secagree_choose(const sip_security_client_t *sc, struct pcscf_sec_offer *out,
                          char *why, size_t len)
{
    int best = -1, malformed = 0, offers = 0;
    for (; sc; sc = sc->sa_next) {
        if (!sc->sa_mec || strcasecmp(sc->sa_mec, "ipsec-3gpp") != 0)
            continue;
        offers++;
        struct pcscf_sec_offer o;
        int score;
        int rc = read_offer(sc, &o, &score);
        if (rc == -EINVAL)
            malformed++;
        if (rc == 0 && score > best) {
            best = score;
            *out = o;
        }
    }
    if (best >= 0)
        return 0;
    if (!offers) {
        snprintf(why, len, "no ipsec-3gpp mechanism in Security-Client");
        return -ENOENT;
    }
    if (malformed) {
        snprintf(why, len, "an ipsec-3gpp offer without valid spi-c, spi-s, port-c and port-s");
        return -EINVAL;
    }
    snprintf(why, len, "no ipsec-3gpp offer with alg hmac-sha-1-96 or hmac-md5-96, ealg "
             "aes-cbc or null, prot esp, mod trans");
    return -ENOTSUP;
}

int pcscf_secagree_server(const struct pcscf_sec_offer *chosen, uint32_t spi_pc,
                          uint32_t spi_ps, uint16_t port_pc, uint16_t port_ps, char *buf,
                          size_t len)
{
    int n = snprintf(buf, len, "ipsec-3gpp;q=0.1;alg=%s;ealg=%s;spi-c=%u;spi-s=%u;port-c=%u;"
                     "port-s=%u;prot=esp;mod=trans", pcscf_secagree_alg_name(chosen->alg),
                     pcscf_secagree_ealg_name(chosen->ealg), (unsigned)spi_pc,
                     (unsigned)spi_ps, (unsigned)port_pc, (unsigned)port_ps);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

const char *pcscf_secagree_supported(void)
{
    return "ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=aes-cbc;prot=esp;mod=trans, "
           "ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;prot=esp;mod=trans, "
           "ipsec-3gpp;q=0.1;alg=hmac-md5-96;ealg=aes-cbc;prot=esp;mod=trans, "
           "ipsec-3gpp;q=0.1;alg=hmac-md5-96;ealg=null;prot=esp;mod=trans";
}

/* Are the parameter lists @a and @b the same set (names without case, values exact)? */
static bool same_params(msg_param_t const *a, msg_param_t const *b)
{
    size_t na = 0, nb = 0;
    for (; a && a[na]; na++) {
        const char *eq = strchr(a[na], '=');
        size_t k = eq ? (size_t)(eq - a[na]) + 1 : strlen(a[na]);
        bool found = false;
        for (size_t j = 0; b && b[j] && !found; j++)
            found = strncasecmp(a[na], b[j], k) == 0 && strcmp(a[na] + k, b[j] + k) == 0 &&
                    (eq || b[j][k] == '\0');
        if (!found)
            return false;
    }
    for (; b && b[nb]; nb++)
        ;
    return na == nb;
}

bool pcscf_secagree_verify_ok(const sip_security_verify_t *sv, const char *server)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sip_security_server_t *ss = sip_security_server_make(home, server);
    bool ok = ss && sv;
    const sip_security_server_t *s = ss;
    for (; ok && s && sv; s = s->sa_next, sv = sv->sa_next)
        ok = sv->sa_mec && s->sa_mec && strcasecmp(sv->sa_mec, s->sa_mec) == 0 &&
             same_params(sv->sa_params, s->sa_params);
    ok = ok && !s && !sv;   /* as many mechanisms on both sides */
    su_home_deinit(home);
    return ok;
}

/* Remove @tag from every header of the list @h points to (deleting a header left empty) */
static void remove_tag(msg_t *msg, sip_t *sip, msg_header_t **h, const char *tag)
{
    for (msg_header_t *x = *h, *next; x; x = next) {
        next = x->sh_next;
        msg_list_t *l = (msg_list_t *)x;
        if (!l->k_items || msg_params_remove((msg_param_t *)l->k_items, tag) <= 0)
            continue;
        msg_fragment_clear(x->sh_common);
        if (!l->k_items[0])
            msg_header_remove(msg, (msg_pub_t *)sip, x);
    }
}

void pcscf_secagree_strip(msg_t *msg, sip_t *sip)
{
    remove_tag(msg, sip, (msg_header_t **)&sip->sip_require, "sec-agree");
    remove_tag(msg, sip, (msg_header_t **)&sip->sip_proxy_require, "sec-agree");
    while (sip->sip_security_client)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_security_client);
    while (sip->sip_security_verify)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_security_verify);
}
