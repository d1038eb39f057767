/*
 * check_sas.c - the IPsec SAs of the UEs (pcscf/sas.c) driven through a whole registration
 * with a recorder in place of the kernel: the REGISTER's Security-Client, the S-CSCF's 401
 * (its ck/ik: the SAs, the Security-Server), the protected REGISTER (where it arrived, its
 * Security-Verify), the 200 (the SAs again with the registration's lifetime), the
 * de-registration and expiry (the SAs removed); and the attacker who goes around the SAs.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>

#include "pcscf.h"

#define PC 5062
#define PS 5063
#define UE "127.0.0.161"
#define UE_UC 5160
#define UE_US 5161

/* ---- the recorder: what would be installed and removed ---- */

struct op {
    bool add, in;
    struct pcscf_xfrm_sa sa;
};

static struct {
    struct op ops[64];
    int n;
    int fail_at;                 /* the add of this index (1-based) fails with -EEXIST */
    int adds;
} rec;

static int rec_add(void *arg, const struct pcscf_xfrm_sa *sa, bool in)
{
    (void)arg;
    if (++rec.adds == rec.fail_at)
        return -EEXIST;
    ck_assert_int_lt(rec.n, 64);
    rec.ops[rec.n++] = (struct op){ true, in, *sa };
    return 0;
}

static int rec_remove(void *arg, const struct pcscf_xfrm_sa *sa, bool in)
{
    (void)arg;
    ck_assert_int_lt(rec.n, 64);
    rec.ops[rec.n++] = (struct op){ false, in, *sa };
    return 0;
}

static const struct pcscf_sa_ops rec_ops = { rec_add, rec_remove, NULL };

static void rec_reset(void)
{
    memset(&rec, 0, sizeof(rec));
}

/* The recorded operation that added/removed the SA with @spi, or NULL */
static const struct op *find_op(bool add, uint32_t spi)
{
    for (int i = 0; i < rec.n; i++)
        if (rec.ops[i].add == add && rec.ops[i].sa.spi == spi)
            return &rec.ops[i];
    return NULL;
}

static void assert_addr(const uint8_t *a, const char *text)
{
    uint8_t want[4];
    inet_pton(AF_INET, text, want);
    ck_assert_mem_eq(a, want, 4);
}

/* ---- messages ---- */

static msg_t *parse(const char *text)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return msg;
}

static const char register1[] =
    "REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.161:5160;branch=z9hG4bK1\r\n"
    "From: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>;tag=1\r\n"
    "To: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>\r\n"
    "Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n"
    "Contact: <sip:alice@127.0.0.161:5160>\r\n"
    "Require: sec-agree\r\nProxy-Require: sec-agree\r\n"
    "Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=1111;spi-s=2222;"
    "port-c=5160;port-s=5161, ipsec-3gpp;alg=hmac-md5-96;ealg=null;spi-c=1111;spi-s=2222;"
    "port-c=5160;port-s=5161\r\n"
    "Content-Length: 0\r\n\r\n";

static const char challenge[] =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/UDP 127.0.0.161:5160;branch=z9hG4bK1\r\n"
    "From: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>;tag=1\r\n"
    "To: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>;tag=2\r\n"
    "Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n"
    "WWW-Authenticate: Digest realm=\"ims.mnc001.mcc001.3gppnetwork.org\", "
    "nonce=\"MTIzNDU2Nzg5MDEy\", algorithm=AKAv1-MD5, qop=\"auth\", "
    "ck=\"00112233445566778899aabbccddeeff\", ik=\"ffeeddccbbaa99887766554433221100\"\r\n"
    "Content-Length: 0\r\n\r\n";

static const uint8_t CK[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const uint8_t IK[16] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
                                0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };

/* The protected REGISTER with this Security-Verify (NULL: none) */
static msg_t *register2(const char *verify)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.161:5160;branch=z9hG4bK2\r\n"
             "From: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>;tag=1\r\n"
             "To: <sip:alice@ims.mnc001.mcc001.3gppnetwork.org>\r\n"
             "Call-ID: reg1\r\nCSeq: 2 REGISTER\r\n"
             "Require: sec-agree\r\nProxy-Require: sec-agree\r\n"
             "%s%s%s"
             "Content-Length: 0\r\n\r\n",
             verify ? "Security-Verify: " : "", verify ? verify : "", verify ? "\r\n" : "");
    return parse(text);
}

static struct ims_sip_source flow(const char *ip, unsigned port, unsigned local_port,
                                  const char *proto)
{
    struct ims_sip_source s;
    memset(&s, 0, sizeof(s));
    snprintf(s.ip, sizeof(s.ip), "%s", ip);
    s.port = port;
    s.local_port = local_port;
    snprintf(s.proto, sizeof(s.proto), "%s", proto);
    snprintf(s.key, sizeof(s.key), "%s:%u/%s", ip, port, proto);
    return s;
}

/* The set of a UE that offered register1, after its 401: the recorder holds its 4 adds */
static struct pcscf_saset *challenged(struct pcscf_sas *s, time_t now, msg_t **resp_out)
{
    char why[160];
    struct pcscf_sec_offer offer;
    msg_t *req = parse(register1);
    ck_assert_int_eq(pcscf_secagree_choose(sip_object(req)->sip_security_client, &offer, why,
                                           sizeof(why)), 0);
    msg_destroy(req);
    msg_t *resp = parse(challenge);
    struct pcscf_saset *set = NULL;
    ck_assert_int_eq(pcscf_sas_challenge(s, UE, &offer, resp, sip_object(resp), now, &set), 0);
    ck_assert_ptr_nonnull(set);
    if (resp_out)
        *resp_out = resp;
    else
        msg_destroy(resp);
    return set;
}

/* A store of at most @max sets for the P-CSCF 127.0.0.10 (ports PC, PS), the recorder
 * emptied */
static struct pcscf_sas *store_new(size_t max)
{
    rec_reset();
    struct pcscf_sas *s = pcscf_sas_create(&rec_ops, "127.0.0.10", PC, PS, max);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* The set of a UE registered at 1000 for 600 s: challenged, its 200 confirmed, held by its
 * binding */
static struct pcscf_saset *registered(struct pcscf_sas *s)
{
    struct pcscf_saset *set = challenged(s, 1000, NULL);
    ck_assert_int_eq(pcscf_sas_confirm(s, set, 1000, 1600), 0);
    pcscf_sas_attach(set);
    return set;
}

/* The four SAs of TS 33.203 7.1 with the UE's and our SPIs, ports, keys and lifetime */
static void assert_four(const struct pcscf_saset *set, int lifetime)
{
    static const struct {
        bool in;
        const char *src;
        unsigned sport;
        const char *dst;
        unsigned dport;
    } want[4] = { { true, UE, UE_UC, "127.0.0.10", PS },
                  { false, "127.0.0.10", PS, UE, UE_UC },
                  { false, "127.0.0.10", PC, UE, UE_US },
                  { true, UE, UE_US, "127.0.0.10", PC } };
    const uint32_t spis[4] = { set->spi_ps, 1111, 2222, set->spi_pc };
    for (int i = 0; i < 4; i++) {
        const struct op *o = find_op(true, spis[i]);
        ck_assert_msg(o != NULL, "SA %d (spi %u) installed", i, spis[i]);
        ck_assert_int_eq(o->in, want[i].in);
        assert_addr(o->sa.src, want[i].src);
        assert_addr(o->sa.dst, want[i].dst);
        ck_assert_uint_eq(o->sa.sport, want[i].sport);
        ck_assert_uint_eq(o->sa.dport, want[i].dport);
        ck_assert_int_eq(o->sa.family, AF_INET);
        ck_assert_int_eq(o->sa.auth, PCSCF_IPSEC_HMAC_SHA1_96);
        ck_assert_int_eq(o->sa.enc, PCSCF_IPSEC_AES_CBC);
        /* TS 33.203 Annex I: IK_ESP = IK || 32 zero bits for HMAC-SHA-1-96; CK_ESP = CK */
        ck_assert_uint_eq(o->sa.ik_len, 20);
        ck_assert_mem_eq(o->sa.ik, IK, 16);
        static const uint8_t zero[4];
        ck_assert_mem_eq(o->sa.ik + 16, zero, 4);
        ck_assert_uint_eq(o->sa.ck_len, 16);
        ck_assert_mem_eq(o->sa.ck, CK, 16);
        ck_assert_uint_eq(o->sa.expires, (uint32_t)lifetime);
        ck_assert_uint_ne(o->sa.reqid, 0);
    }
}

/* ---- the flow ---- */

START_TEST(whole_registration)
{
    struct pcscf_sas *s = store_new(100);
    time_t now = 1000;
    msg_t *resp;
    struct pcscf_saset *set = challenged(s, now, &resp);

    /* the 401: four SAs of reg-await-auth, our two SPIs distinct and >= 256 */
    ck_assert_int_eq(rec.n, 4);
    ck_assert_uint_ge(set->spi_pc, 256);
    ck_assert_uint_ne(set->spi_pc, set->spi_ps);
    assert_four(set, PCSCF_SAS_AWAIT_AUTH);

    /* Security-Server in the 401, ck/ik out of it once the SAs have them */
    ck_assert_int_eq(pcscf_auth_strip_keys(resp, sip_object(resp)), 2);
    msg_serialize(resp, (msg_pub_t *)sip_object(resp));
    size_t len;
    char *text = msg_as_string(msg_home(resp), resp, NULL, 0, &len);
    char want[256];
    snprintf(want, sizeof(want), "Security-Server: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;"
             "ealg=aes-cbc;spi-c=%u;spi-s=%u;port-c=5062;port-s=5063;prot=esp;mod=trans",
             set->spi_pc, set->spi_ps);
    ck_assert_ptr_nonnull(strstr(text, want));
    ck_assert_ptr_null(strstr(text, "ck="));
    ck_assert_ptr_null(strstr(text, "ik="));

    /* the protected REGISTER: over the set (port_uc -> our port_s), Security-Verify = ours */
    struct ims_sip_source src = flow(UE, UE_UC, PS, "udp");
    struct pcscf_saset *over = NULL;
    char why[200];
    ck_assert_int_eq(pcscf_sas_arrival(s, &src, true, &over, why, sizeof(why)), 0);
    ck_assert_ptr_eq(over, set);
    msg_t *req = register2(set->server);
    ck_assert_int_eq(pcscf_sas_verify(over, sip_object(req), why, sizeof(why)), 0);
    msg_destroy(req);

    /* its 200 for 600 s: the same SAs again, lifetime 600 + 30 */
    rec_reset();
    ck_assert_int_eq(pcscf_sas_confirm(s, set, now + 1, now + 1 + 600), 0);
    ck_assert_int_eq(rec.n, 8);
    for (int i = 0; i < 4; i++)
        ck_assert(!rec.ops[i].add);
    assert_four(set, 630);
    ck_assert(set->confirmed);
    pcscf_sas_attach(set);

    /* requests of the UE now come over the SAs only */
    struct ims_sip_source plain = flow(UE, UE_UC, 5060, "udp");
    ck_assert_int_eq(pcscf_sas_arrival(s, &src, false, &over, why, sizeof(why)), 0);
    ck_assert_int_eq(pcscf_sas_arrival(s, &plain, false, &over, why, sizeof(why)), 403);

    /* nothing goes before the 200 of the de-registration has left (flush) */
    rec_reset();
    ck_assert_int_eq(pcscf_sas_expire(s, now + 100), 0);
    pcscf_sas_detach(set);
    ck_assert_int_eq(rec.n, 0);
    ck_assert_ptr_null(pcscf_sas_find(s, UE, UE_UC));
    ck_assert_int_eq(pcscf_sas_flush(s), 1);
    ck_assert_int_eq(rec.n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert(!rec.ops[i].add);
    ck_assert_uint_eq(pcscf_sas_count(s), 0);
    msg_destroy(resp);
    pcscf_sas_destroy(s);
}
END_TEST

/* A registration that is not renewed: its SAs end 30 s after it */
START_TEST(expiry_removes)
{
    struct pcscf_sas *s = store_new(100);
    struct pcscf_saset *set = registered(s);
    rec_reset();
    ck_assert_int_eq(pcscf_sas_expire(s, 1629), 0);
    ck_assert_int_eq(rec.n, 0);
    /* still held by its binding: the SAs go, the set waits for the binding */
    ck_assert_int_eq(pcscf_sas_expire(s, 1630), 0);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_uint_eq(pcscf_sas_count(s), 1);
    ck_assert_ptr_null(pcscf_sas_find(s, UE, UE_UC));
    pcscf_sas_detach(set);
    ck_assert_int_eq(pcscf_sas_expire(s, 1631), 1);
    ck_assert_int_eq(rec.n, 4);   /* nothing installed was left to remove */
    ck_assert_uint_eq(pcscf_sas_count(s), 0);
    pcscf_sas_destroy(s);
}
END_TEST

/* A challenge never answered: the temporary SAs go after reg-await-auth */
START_TEST(temporary_expires)
{
    struct pcscf_sas *s = store_new(100);
    challenged(s, 1000, NULL);
    ck_assert_int_eq(pcscf_sas_expire(s, 1000 + PCSCF_SAS_AWAIT_AUTH - 1), 0);
    rec_reset();
    ck_assert_int_eq(pcscf_sas_expire(s, 1000 + PCSCF_SAS_AWAIT_AUTH), 1);
    ck_assert_int_eq(rec.n, 4);
    pcscf_sas_destroy(s);
}
END_TEST

/* Re-registration: the new set takes over the selectors it shares with the old one; the old
 * one keeps the rest until its binding goes */
START_TEST(reregistration_takes_over)
{
    struct pcscf_sas *s = store_new(100);
    struct pcscf_saset *old = registered(s);
    struct pcscf_sec_offer offer = old->offer;
    offer.spi_c = 3333;
    offer.spi_s = 4444;
    offer.port_c = 5170;      /* new port_uc, same port_us */
    rec_reset();
    struct pcscf_saset *set = NULL;
    ck_assert_int_eq(pcscf_sas_start(s, UE, &offer, CK, IK, 1200, &set), 0);
    /* the old outbound pc->us and inbound us->pc removed first, then four new */
    ck_assert_int_eq(rec.n, 6);
    ck_assert(!rec.ops[0].add && !rec.ops[1].add);
    ck_assert_ptr_nonnull(find_op(false, old->spi_pc));
    ck_assert_ptr_nonnull(find_op(false, 2222));
    ck_assert_ptr_eq(pcscf_sas_find(s, UE, UE_UC), old);
    ck_assert_ptr_eq(pcscf_sas_find(s, UE, 5170), set);
    ck_assert_uint_ne(set->spi_pc, old->spi_pc);
    ck_assert_uint_ne(set->spi_ps, old->spi_ps);
    rec_reset();
    uint32_t old_ps = old->spi_ps;
    pcscf_sas_detach(old);
    ck_assert_int_eq(pcscf_sas_flush(s), 1);
    ck_assert_int_eq(rec.n, 2);   /* what it still had: SAs 0 and 1 */
    ck_assert_ptr_nonnull(find_op(false, old_ps));
    ck_assert_ptr_nonnull(find_op(false, 1111));
    /* one more with the same port_uc: the inbound uc->ps and outbound ps->uc go first */
    offer.port_s = 5180;
    rec_reset();
    struct pcscf_saset *third = NULL;
    ck_assert_int_eq(pcscf_sas_start(s, UE, &offer, CK, IK, 1300, &third), 0);
    ck_assert_int_eq(rec.n, 6);
    ck_assert_ptr_nonnull(find_op(false, set->spi_ps));
    ck_assert_ptr_nonnull(find_op(false, 3333));
    ck_assert_ptr_eq(pcscf_sas_find(s, UE, 5170), third);
    pcscf_sas_destroy(s);
}
END_TEST

/* Our SPIs are unique among the sets in store, and not reused while in use */
START_TEST(spis_unique)
{
    struct pcscf_sas *s = store_new(100);
    struct pcscf_saset *sets[10];
    uint32_t seen[20];
    for (int i = 0; i < 10; i++) {
        struct pcscf_sec_offer o = { .alg = PCSCF_IPSEC_HMAC_MD5_96,
                                     .ealg = PCSCF_IPSEC_ENC_NULL, .spi_c = 1000,
                                     .spi_s = 1001, .port_c = (uint16_t)(6000 + 2 * i),
                                     .port_s = (uint16_t)(6001 + 2 * i) };
        rec.n = 0;
        ck_assert_int_eq(pcscf_sas_start(s, UE, &o, CK, IK, 1000, &sets[i]), 0);
        seen[2 * i] = sets[i]->spi_pc;
        seen[2 * i + 1] = sets[i]->spi_ps;
    }
    for (int i = 0; i < 20; i++)
        for (int j = i + 1; j < 20; j++)
            ck_assert_uint_ne(seen[i], seen[j]);
    /* MD5 and null: a 16-byte IK_ESP, no CK */
    ck_assert_uint_eq(rec.ops[0].sa.ik_len, 16);
    ck_assert_uint_eq(rec.ops[0].sa.ck_len, 0);
    pcscf_sas_destroy(s);
}
END_TEST

/* An SA the kernel refuses: nothing left half installed, no set, no Security-Server */
START_TEST(install_failure_rolls_back)
{
    struct pcscf_sas *s = store_new(100);
    rec.fail_at = 3;
    struct pcscf_sec_offer o = { .alg = PCSCF_IPSEC_HMAC_SHA1_96, .ealg = PCSCF_IPSEC_AES_CBC,
                                 .spi_c = 1111, .spi_s = 2222, .port_c = UE_UC,
                                 .port_s = UE_US };
    msg_t *resp = parse(challenge);
    struct pcscf_saset *set = NULL;
    ck_assert_int_eq(pcscf_sas_challenge(s, UE, &o, resp, sip_object(resp), 1000, &set),
                     -EEXIST);
    ck_assert_ptr_null(set);
    ck_assert_ptr_null(sip_object(resp)->sip_security_server);
    ck_assert_int_eq(rec.n, 4);   /* two added, the same two removed */
    ck_assert(rec.ops[2].sa.spi == rec.ops[0].sa.spi || rec.ops[3].sa.spi == rec.ops[0].sa.spi);
    ck_assert(!rec.ops[2].add && !rec.ops[3].add);
    ck_assert_uint_eq(pcscf_sas_count(s), 0);
    msg_destroy(resp);
    pcscf_sas_destroy(s);
}
END_TEST

/* No ck/ik in the 401 (or not 32 hex digits): no SAs */
START_TEST(keys_read)
{
    uint8_t ck[16], ik[16];
    msg_t *m = parse(challenge);
    ck_assert_int_eq(pcscf_auth_keys(sip_object(m), ck, ik), 0);
    ck_assert_mem_eq(ck, CK, 16);
    ck_assert_mem_eq(ik, IK, 16);
    msg_destroy(m);
    static const char *bad[] = { "ck=\"0011\", ik=\"ffeeddccbbaa99887766554433221100\"",
                                 "ck=\"00112233445566778899aabbccddeefg\", "
                                 "ik=\"ffeeddccbbaa99887766554433221100\"",
                                 "ik=\"ffeeddccbbaa99887766554433221100\"",
                                 "ck=\"00112233445566778899aabbccddeeff00\", "
                                 "ik=\"ffeeddccbbaa99887766554433221100\"" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text), "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 1.2.3.4;"
                 "branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n"
                 "Call-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm=\"b\", "
                 "nonce=\"n\", %s\r\nContent-Length: 0\r\n\r\n", bad[i]);
        m = parse(text);
        ck_assert_int_eq(pcscf_auth_keys(sip_object(m), ck, ik), -ENOENT);
        msg_destroy(m);
    }
}
END_TEST

/* ---- the attacker ---- */

/* The protected REGISTER sent around the SAs: to the protected port from another port or
 * address (it did not come over an SA), or to the client port */
START_TEST(attacker_around_the_sas)
{
    struct pcscf_sas *s = store_new(100);
    challenged(s, 1000, NULL);
    struct pcscf_saset *over = (void *)1;
    char why[200];
    struct ims_sip_source other_port = flow(UE, 5999, PS, "udp");
    struct ims_sip_source other_ip = flow("127.0.0.162", UE_UC, PS, "udp");
    struct ims_sip_source client_port = flow(UE, UE_UC, PC, "udp");
    struct ims_sip_source tls = flow(UE, UE_UC, PS, "tls");
    ck_assert_int_eq(pcscf_sas_arrival(s, &other_port, true, &over, why, sizeof(why)), 403);
    ck_assert_ptr_nonnull(strstr(why, "over no security association"));
    ck_assert_int_eq(pcscf_sas_arrival(s, &other_ip, true, &over, why, sizeof(why)), 403);
    ck_assert_int_eq(pcscf_sas_arrival(s, &client_port, false, &over, why, sizeof(why)), 403);
    ck_assert_int_eq(pcscf_sas_arrival(s, &tls, true, &over, why, sizeof(why)), 403);
    /* unprotected, on the main port: an initial REGISTER, not over any set */
    struct ims_sip_source plain = flow(UE, UE_UC, 5060, "udp");
    ck_assert_int_eq(pcscf_sas_arrival(s, &plain, true, &over, why, sizeof(why)), 0);
    ck_assert_ptr_null(over);
    /* trusted peers are not UEs */
    struct ims_sip_source core = flow("127.0.0.30", 5060, 5060, "udp");
    core.trusted = true;
    ck_assert_int_eq(pcscf_sas_arrival(s, &core, false, &over, why, sizeof(why)), 0);
    /* no store (no ESP): nothing is judged here */
    ck_assert_int_eq(pcscf_sas_arrival(NULL, &other_port, true, &over, why, sizeof(why)), 0);
    pcscf_sas_destroy(s);
}
END_TEST

/* Over the SAs, but a Security-Verify that is not what we sent (a downgrade), or none */
START_TEST(attacker_security_verify)
{
    struct pcscf_sas *s = store_new(100);
    struct pcscf_saset *set = challenged(s, 1000, NULL);
    char why[200], verify[300];
    msg_t *m = register2(NULL);
    ck_assert_int_eq(pcscf_sas_verify(set, sip_object(m), why, sizeof(why)), 494);
    msg_destroy(m);
    snprintf(verify, sizeof(verify), "ipsec-3gpp;q=0.1;alg=hmac-md5-96;ealg=null;spi-c=%u;"
             "spi-s=%u;port-c=5062;port-s=5063;prot=esp;mod=trans", set->spi_pc, set->spi_ps);
    m = register2(verify);
    ck_assert_int_eq(pcscf_sas_verify(set, sip_object(m), why, sizeof(why)), 494);
    ck_assert_ptr_nonnull(strstr(why, "not the Security-Server"));
    msg_destroy(m);
    m = register2(set->server);
    ck_assert_int_eq(pcscf_sas_verify(set, sip_object(m), why, sizeof(why)), 0);
    msg_destroy(m);
    pcscf_sas_destroy(s);
}
END_TEST

/* The protected REGISTER replayed on the main port, around the SAs: refused; the same
 * REGISTER over the set passes */
START_TEST(attacker_replays_around)
{
    struct pcscf_sas *s = store_new(100);
    struct pcscf_saset *set = challenged(s, 1000, NULL), *over = NULL;
    char why[200];
    msg_t *m = register2(set->server);
    struct ims_sip_source plain = flow(UE, UE_UC, 5060, "udp");
    struct ims_sip_source other = flow("127.0.0.162", 5160, 5060, "udp");
    struct ims_sip_source sa = flow(UE, UE_UC, PS, "udp");
    ck_assert_int_eq(pcscf_sas_check_register(s, &plain, sip_object(m), &over, why,
                                              sizeof(why)), 403);
    ck_assert_ptr_nonnull(strstr(why, "did not come over a security association"));
    ck_assert_int_eq(pcscf_sas_check_register(s, &other, sip_object(m), &over, why,
                                              sizeof(why)), 403);
    ck_assert_int_eq(pcscf_sas_check_register(s, &sa, sip_object(m), &over, why,
                                              sizeof(why)), 0);
    ck_assert_ptr_eq(over, set);
    msg_destroy(m);
    /* an initial REGISTER (no Security-Verify) on the main port is not judged */
    m = parse(register1);
    ck_assert_int_eq(pcscf_sas_check_register(s, &plain, sip_object(m), &over, why,
                                              sizeof(why)), 0);
    ck_assert_ptr_null(over);
    msg_destroy(m);
    pcscf_sas_destroy(s);
}
END_TEST

/* Teardown removes what is still installed */
START_TEST(destroy_removes)
{
    struct pcscf_sas *s = store_new(1);
    challenged(s, 1000, NULL);
    struct pcscf_saset *set;
    struct pcscf_sec_offer o = { .spi_c = 1000, .spi_s = 1001, .port_c = 7000, .port_s = 7001 };
    ck_assert_int_eq(pcscf_sas_start(s, UE, &o, CK, IK, 1000, &set), -ENOSPC);
    ck_assert_int_eq(pcscf_sas_start(s, "::1", &o, CK, IK, 1000, &set), -ENOSPC);
    rec_reset();
    pcscf_sas_destroy(s);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_ptr_null(pcscf_sas_create(&rec_ops, "127.0.0.10", PC, PC, 1));
    ck_assert_ptr_null(pcscf_sas_create(&rec_ops, "not-an-address", PC, PS, 1));
}
END_TEST

int main(void)
{
    sip_update_default_mclass(sip_extend_mclass(NULL));
    Suite *s = suite_create("pcscf_sas");
    TCase *tc = tcase_create("sas");
    tcase_add_test(tc, whole_registration);
    tcase_add_test(tc, expiry_removes);
    tcase_add_test(tc, temporary_expires);
    tcase_add_test(tc, reregistration_takes_over);
    tcase_add_test(tc, spis_unique);
    tcase_add_test(tc, install_failure_rolls_back);
    tcase_add_test(tc, keys_read);
    tcase_add_test(tc, attacker_around_the_sas);
    tcase_add_test(tc, attacker_security_verify);
    tcase_add_test(tc, attacker_replays_around);
    tcase_add_test(tc, destroy_removes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
