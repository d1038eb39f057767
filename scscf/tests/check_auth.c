/*
 * check_auth.c - the expected answers to the S-CSCF's challenges (scscf/auth.c), what an
 * answer must fit (IMPI and IMPU of the challenge, realm, qop, digest uri), the bounds on
 * pending challenges and failed answers, and the identities of a profile (scscf/profile.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_parser.h>

#include "digest.h"
#include "milenage.h"
#include "scscf.h"
#include "sip_hdr.h"

START_TEST(digest_answer_uses_the_hss_ha1)
{
    struct scscf_vector v = { .scheme = SCSCF_DIGEST };
    const char *pw = "Circle Of Life";
    ims_digest_ha1("Mufasa", "testrealm@host.com", (const uint8_t *)pw, strlen(pw), v.ha1);
    char out[33];
    scscf_auth_expected(&v, "Mufasa", "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                        "00000001", "0a4f113b", "auth", "GET", "/dir/index.html", out);
    ck_assert_str_eq(out, "6629fae49393a05397450978507c4ef1");   /* RFC 2617 3.5 */
}
END_TEST

START_TEST(aka_answers)
{
    /* TS 35.208 set 1: RES a54211d5e3ba50bf, CK/IK of the set */
    struct scscf_vector v = { .scheme = SCSCF_AKAV1, .xres_len = 8 };
    ck_assert_int_eq(ims_hex_decode("a54211d5e3ba50bf", v.xres, 8), 0);
    ck_assert_int_eq(ims_hex_decode("b40ba9a3c58b2a05bbf0d987b21bf8cb", v.ck, 16), 0);
    ck_assert_int_eq(ims_hex_decode("f769bcd751044604127672711c6d3441", v.ik, 16), 0);
    char expected[33], ha1[33], direct[33];
    const char *user = "alice@ims.mnc001.mcc001.3gppnetwork.org";
    const char *realm = "ims.mnc001.mcc001.3gppnetwork.org";
    scscf_auth_expected(&v, user, realm, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", expected);
    /* RFC 3310: the password is RES itself */
    ims_digest_ha1(user, realm, v.xres, 8, ha1);
    ims_digest_response(ha1, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", NULL, 0, direct);
    ck_assert_str_eq(expected, direct);
    /* RFC 4169: AKAv2 uses the base64 HMAC-MD5 password, so the answer differs */
    v.scheme = SCSCF_AKAV2;
    char v2[33], pw[64];
    scscf_auth_expected(&v, user, realm, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", v2);
    ck_assert_str_ne(v2, expected);
    ck_assert_int_eq(ims_aka_v2_password(v.xres, 8, v.ik, v.ck, pw, sizeof(pw)), 0);
    ims_digest_ha1(user, realm, (const uint8_t *)pw, strlen(pw), ha1);
    ims_digest_response(ha1, "nonce", "00000001", "c", "auth", "REGISTER",
                        "sip:ims.mnc001.mcc001.3gppnetwork.org", NULL, 0, direct);
    ck_assert_str_eq(v2, direct);
}
END_TEST

START_TEST(profile_identities_and_barring)
{
    const char *xml =
        "<?xml version=\"1.0\"?><IMSSubscription><PrivateID>a@x</PrivateID>"
        "<ServiceProfile><PublicIdentity><Identity>sip:a@x</Identity></PublicIdentity>"
        "<PublicIdentity><BarringIndication>1</BarringIndication><Identity>tel:+1</Identity>"
        "</PublicIdentity></ServiceProfile><ServiceProfile><PublicIdentity>"
        "<Identity>sip:a-work@x</Identity></PublicIdentity></ServiceProfile></IMSSubscription>";
    char ids[4][SCSCF_ID_MAX];
    bool barred[4];
    ck_assert_int_eq(scscf_profile_identities(xml, ids, barred, 4), 3);
    ck_assert_str_eq(ids[0], "sip:a@x");
    ck_assert(!barred[0]);
    ck_assert_str_eq(ids[1], "tel:+1");
    ck_assert(barred[1]);
    ck_assert_str_eq(ids[2], "sip:a-work@x");
    ck_assert_int_eq(scscf_profile_identities(xml, ids, barred, 2), 2);   /* bounded */
    ck_assert_int_lt(scscf_profile_identities("<broken", ids, barred, 4), 0);
}
END_TEST


/* ---- what an answer must fit ---- */

#define REALM "ims.example.org"
#define IMPI "alice@ims.example.org"
#define IMPU "sip:alice@ims.example.org"

static struct scscf_challenge ch;
static msg_t *msg;

static void challenge_setup(void)
{
    memset(&ch, 0, sizeof(ch));
    snprintf(ch.nonce, sizeof(ch.nonce), "0123456789abcdef0123456789abcdef");
    snprintf(ch.impi, sizeof(ch.impi), IMPI);
    snprintf(ch.impu, sizeof(ch.impu), IMPU);
    snprintf(ch.qop, sizeof(ch.qop), "auth");
    ch.v.scheme = SCSCF_DIGEST;
    const char *pw = "alice-secret";
    ims_digest_ha1(IMPI, REALM, (const uint8_t *)pw, strlen(pw), ch.v.ha1);
    msg = NULL;
}

static void challenge_teardown(void)
{
    if (msg)
        msg_destroy(msg);
    msg = NULL;
}

struct answer {
    const char *to;               /* To of the REGISTER (NULL: IMPU) */
    const char *ruri;             /* Request-URI (NULL: sip:REALM) */
    const char *username, *realm, *uri, *nonce;   /* NULL: what the challenge asks */
    const char *qop;              /* "-": left out */
    bool no_cnonce;
    const char *password;         /* NULL: the right one */
    const char *response;         /* NULL: computed from the above */
    const char *contact;          /* NULL: <sip:alice@127.0.0.120:5201>; "-": none */
    const char *expires;          /* Expires header (NULL: none) */
    const char *more;             /* more Authorization parameters (NULL: none) */
};

/* A REGISTER answering @ch as @a says (in @msg, freed by the teardown) */
static const sip_t *register_of(const struct answer *a)
{
    const char *user = a->username ? a->username : IMPI, *realm = a->realm ? a->realm : REALM;
    const char *uri = a->uri ? a->uri : "sip:" REALM, *nonce = a->nonce ? a->nonce : ch.nonce;
    const char *qop = a->qop ? a->qop : "auth", *pw = a->password ? a->password : "alice-secret";
    bool with_qop = strcmp(qop, "-") != 0;
    char ha1[33], resp[33], text[2048], q[128] = "", contact[128] = "", expires[64] = "";
    ims_digest_ha1(user, realm, (const uint8_t *)pw, strlen(pw), ha1);
    ims_digest_response(ha1, nonce, with_qop ? "00000001" : NULL,
                        with_qop ? (a->no_cnonce ? "" : "c0ffee") : NULL,
                        with_qop ? qop : NULL,
                        "REGISTER", uri, NULL, 0, resp);
    if (with_qop)
        snprintf(q, sizeof(q), ", qop=%s, nc=00000001%s", qop,
                 a->no_cnonce ? "" : ", cnonce=\"c0ffee\"");
    if (!a->contact || strcmp(a->contact, "-") != 0)
        snprintf(contact, sizeof(contact), "Contact: %s\r\n",
                 a->contact ? a->contact : "<sip:alice@127.0.0.120:5201>");
    if (a->expires)
        snprintf(expires, sizeof(expires), "Expires: %s\r\n", a->expires);
    snprintf(text, sizeof(text),
             "REGISTER %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bK1\r\n"
             "From: <%s>;tag=1\r\nTo: <%s>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n%s%s"
             "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
             "response=\"%s\", algorithm=MD5%s%s\r\n"
             "Content-Length: 0\r\n\r\n",
             a->ruri ? a->ruri : "sip:" REALM, a->to ? a->to : IMPU, a->to ? a->to : IMPU,
             contact, expires, user, realm, nonce, uri, a->response ? a->response : resp, q,
             a->more ? a->more : "");
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

static enum scscf_auth_result verdict(const struct answer *a, const char **why)
{
    const sip_t *sip = register_of(a);
    char impu[256];
    ck_assert_int_eq(ims_sip_impu_of(sip->sip_to->a_url, impu, sizeof(impu)), 0);
    return scscf_auth_verify(&ch, REALM, sip, impu, why);
}

START_TEST(right_answer)
{
    const char *why;
    struct answer a = { 0 };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_OK);
}
END_TEST

START_TEST(wrong_password)
{
    const char *why;
    struct answer a = { .password = "guess" };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_FAILED);
    ck_assert_ptr_nonnull(strstr(why, "wrong credentials"));
}
END_TEST

START_TEST(nonce_bound_to_impi_and_impu)
{
    const char *why;
    /* the same IMPI answering a challenge issued for another of its IMPUs */
    struct answer a = { .to = "sip:alice-work@ims.example.org" };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_MISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "another public identity"));
    challenge_teardown();
    /* another IMPI with its own right password */
    struct answer b = { .username = "bob@ims.example.org" };
    ck_assert_int_eq(verdict(&b, &why), SCSCF_AUTH_MISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "another private identity"));
}
END_TEST

START_TEST(qop_downgrade_refused)
{
    const char *why;
    struct answer a = { .qop = "-" };            /* RFC 2069: response without qop */
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_MISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "qop=auth was offered"));
    challenge_teardown();
    struct answer b = { .qop = "auth-int" };     /* not offered */
    ck_assert_int_eq(verdict(&b, &why), SCSCF_AUTH_MISMATCH);
    challenge_teardown();
    struct answer c = { .no_cnonce = true };     /* qop without cnonce */
    ck_assert_int_eq(verdict(&c, &why), SCSCF_AUTH_MISMATCH);
    challenge_teardown();
    ch.qop[0] = '\0';                            /* a challenge without qop */
    struct answer d = { .qop = "-" };
    ck_assert_int_eq(verdict(&d, &why), SCSCF_AUTH_OK);
}
END_TEST

START_TEST(uri_must_be_the_request_uri)
{
    const char *why;
    struct answer a = { .uri = "sip:other.example.org" };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_BAD_URI);
    ck_assert_ptr_nonnull(strstr(why, "Request-URI"));
    challenge_teardown();
    struct answer b = { .uri = "sip:IMS.EXAMPLE.ORG" };   /* the same SIP URI */
    ck_assert_int_eq(verdict(&b, &why), SCSCF_AUTH_OK);
    challenge_teardown();
    struct answer c = { .uri = "sips:ims.example.org" };
    ck_assert_int_eq(verdict(&c, &why), SCSCF_AUTH_BAD_URI);
    challenge_teardown();
    struct answer d = { .uri = "sip:ims.example.org:5070" };
    ck_assert_int_eq(verdict(&d, &why), SCSCF_AUTH_BAD_URI);
    challenge_teardown();
    struct answer e = { .uri = "not a uri" };
    ck_assert_int_eq(verdict(&e, &why), SCSCF_AUTH_BAD_URI);
}
END_TEST

START_TEST(realm_must_be_ours)
{
    const char *why;
    struct answer a = { .realm = "other.example.org" };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_MISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "realm"));
}
END_TEST

START_TEST(no_response_is_no_answer)
{
    const char *why;
    struct answer a = { .response = "" };
    ck_assert_int_eq(verdict(&a, &why), SCSCF_AUTH_NONE);
}
END_TEST

/* ---- the table of challenges: binding, single use, bounds, failures ---- */

static struct scscf sc;

static void table_setup(void)
{
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.realm, sizeof(sc.realm), REALM);
    sc.nonce_ttl = 60;
    sc.max_challenges = 6;
    sc.max_challenges_per_impi = 2;
    sc.max_auth_failures = 3;
    sc.auth_failure_window = 300;
    ck_assert_int_eq(scscf_auth_init(&sc), 0);
    sc.aors = ims_map_create(true);
    sc.tgruus = ims_map_create(false);
    ck_assert(sc.aors && sc.tgruus);
    challenge_setup();
}

static void table_teardown(void)
{
    challenge_teardown();
    scscf_auth_fini(&sc);
    ims_map_destroy(sc.aors);
    ims_map_destroy(sc.tgruus);
}

/* A challenge for @impi / @impu in the table; its nonce into ch.nonce (the answer uses it) */
static int issue(const char *impi, const char *impu)
{
    char hdr[512];
    int rc = scscf_auth_challenge(&sc, impi, impu, &ch.v, hdr, sizeof(hdr));
    if (rc == 0) {
        const char *n = strstr(hdr, "nonce=\"") + 7;
        snprintf(ch.nonce, (size_t)(strchr(n, '"') - n + 1), "%s", n);
        ck_assert_ptr_nonnull(strstr(hdr, "qop=\"auth\""));
    }
    return rc;
}

static enum scscf_auth_result check(const struct answer *a, const char *impi)
{
    const sip_t *sip = register_of(a);
    char impu[256];
    uint8_t resync[30];
    const char *why;
    ck_assert_int_eq(ims_sip_impu_of(sip->sip_to->a_url, impu, sizeof(impu)), 0);
    return scscf_auth_check(&sc, sip, impi, impu, resync, &why);
}

START_TEST(replay_for_another_impu)
{
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    struct answer a = { .to = "sip:alice-work@ims.example.org" };
    ck_assert_int_eq(check(&a, IMPI), SCSCF_AUTH_MISMATCH);
    ck_assert_uint_eq(scscf_auth_pending(&sc), 0);             /* used up */
    challenge_teardown();
    struct answer b = { 0 };
    ck_assert_int_eq(check(&b, IMPI), SCSCF_AUTH_STALE);       /* and gone */
}
END_TEST

START_TEST(another_impi_leaves_the_challenge)
{
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    struct answer a = { .username = "mallory@ims.example.org" };
    ck_assert_int_eq(check(&a, "mallory@ims.example.org"), SCSCF_AUTH_MISMATCH);
    ck_assert_uint_eq(scscf_auth_pending(&sc), 1);             /* still alice's */
    challenge_teardown();
    struct answer b = { 0 };
    ck_assert_int_eq(check(&b, IMPI), SCSCF_AUTH_OK);
    ck_assert_uint_eq(scscf_auth_pending(&sc), 0);
    challenge_teardown();
    ck_assert_int_eq(check(&b, IMPI), SCSCF_AUTH_STALE);       /* used once */
}
END_TEST

START_TEST(call_id_does_not_matter)
{
    /* bound to IMPI and IMPU, not to the Call-ID: register_of always says c1, but the
     * challenge records no Call-ID at all; a right answer passes */
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    struct answer a = { 0 };
    ck_assert_int_eq(check(&a, IMPI), SCSCF_AUTH_OK);
}
END_TEST

START_TEST(challenges_bounded)
{
    char alices[sizeof(ch.nonce)];
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    snprintf(alices, sizeof(alices), "%s", ch.nonce);
    ck_assert_int_eq(scscf_auth_room(&sc, IMPI), -EDQUOT);     /* 2 per IMPI */
    ck_assert_int_eq(issue(IMPI, IMPU), -EDQUOT);
    ck_assert_int_eq(scscf_auth_room(&sc, "bob@x"), 0);
    for (int i = 0; i < 4; i++) {
        char impi[32];
        snprintf(impi, sizeof(impi), "user%d@x", i);
        ck_assert_int_eq(issue(impi, "sip:u@x"), 0);
    }
    ck_assert_uint_eq(scscf_auth_pending(&sc), 6);
    ck_assert_int_eq(scscf_auth_room(&sc, "bob@x"), -ENOSPC);  /* 6 in all */
    ck_assert_int_eq(issue("bob@x", "sip:bob@x"), -ENOSPC);
    /* an answer frees its place */
    struct answer a = { .nonce = alices };
    ck_assert_int_eq(check(&a, IMPI), SCSCF_AUTH_OK);
    ck_assert_int_eq(scscf_auth_room(&sc, IMPI), 0);
    ck_assert_int_eq(scscf_auth_room(&sc, "bob@x"), 0);
    /* expiry frees the others */
    scscf_auth_expire(&sc, time(NULL) + 61);
    ck_assert_uint_eq(scscf_auth_pending(&sc), 0);
}
END_TEST

/* A first REGISTER of @to (no Authorization) with Expires @expires, in @msg */
static const sip_t *register_plain(const char *to, unsigned expires)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "REGISTER sip:" REALM " SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bK2\r\n"
             "From: <%s>;tag=1\r\nTo: <%s>\r\nCall-ID: c2\r\nCSeq: 1 REGISTER\r\n"
             "Contact: <sip:alice@127.0.0.120:5201>\r\nExpires: %u\r\n"
             "Content-Length: 0\r\n\r\n", to, to, expires);
    msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    ck_assert_ptr_nonnull(msg);
    return sip_object(msg);
}

/* scscf_register_early on @sip: whether it refused; the refusal into @r */
static bool early(const sip_t *sip, struct ims_sip_refusal *r)
{
    memset(r, 0, sizeof(*r));
    bool refused = scscf_register_early(&sc, sip, r);
    challenge_teardown();
    return refused;
}

START_TEST(challenge_bounds_before_the_transaction)
{
    struct ims_sip_refusal r;
    scscf_registrar_metrics();
    sc.min_expires = 60;
    sc.default_expires = 3600;
    ck_assert(!early(register_plain(IMPU, 600), &r));           /* room: the MAR goes */
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    char alices[sizeof(ch.nonce)];
    snprintf(alices, sizeof(alices), "%s", ch.nonce);
    /* alice has 2 pending (max_challenges_per_impi): 503, what challenge() answers */
    ck_assert(early(register_plain(IMPU, 600), &r));
    ck_assert_int_eq(r.status, 503);
    ck_assert_uint_eq(r.retry_after, 60);                       /* scscf.nonce_ttl */
    ck_assert_str_eq(r.why, "too many challenges pending for this private identity");
    struct answer stale = { .nonce = "feedfeedfeedfeedfeedfeedfeedfeed" };
    ck_assert(early(register_of(&stale), &r));                  /* an unknown nonce: too */
    /* answers that come first stay with the transaction */
    ck_assert(!early(register_plain(IMPU, 10), &r));            /* 423 */
    struct answer right = { .nonce = alices };
    ck_assert(!early(register_of(&right), &r));                 /* its SAR goes (no DOIC) */
    ck_assert_uint_eq(scscf_auth_pending(&sc), 2);              /* nothing used up */
    ck_assert(!early(register_plain("tel:+15550100001", 600), &r));   /* no IMPI: 403 */
    for (int i = 0; i < 3; i++)
        scscf_auth_failed(&sc, IMPI, time(NULL));
    ck_assert(!early(register_plain(IMPU, 600), &r));           /* locked out: 403 */
    /* the whole table (6) full: anybody's first REGISTER */
    for (int i = 0; i < 4; i++) {
        char impi[32];
        snprintf(impi, sizeof(impi), "user%d@x", i);
        ck_assert_int_eq(issue(impi, "sip:u@x"), 0);
    }
    ck_assert(early(register_plain("sip:bob@" REALM, 600), &r));
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.why, "too many challenges pending");
    scscf_auth_expire(&sc, time(NULL) + 61);
    ck_assert(!early(register_plain("sip:bob@" REALM, 600), &r));
}
END_TEST

/* scscf_register_sar on the REGISTER answering ch.nonce as @a says */
static int sar_of(const struct answer *a)
{
    int sat = scscf_register_sar(&sc, register_of(a));
    challenge_teardown();
    return sat;
}

/* A binding of alice's set @aor on port 520@n */
static void bind_alice(struct scscf_aor *aor, int n)
{
    struct scscf_contact_in c;
    memset(&c, 0, sizeof(c));
    snprintf(c.uri, sizeof(c.uri), "sip:alice@127.0.0.120:520%d", n);
    c.expires = time(NULL) + 600;
    ck_assert_int_eq(scscf_store_bind(&sc, aor, &c, 0), 0);
}

START_TEST(sar_known_before_the_transaction)
{
    sc.min_expires = 60;
    sc.default_expires = 3600;
    sc.max_expires = 7200;
    sc.max_contacts = 2;
    /* no answer to a pending challenge: a MAR or a refusal comes first */
    ck_assert_int_eq(scscf_register_sar(&sc, register_plain(IMPU, 600)), 0);
    challenge_teardown();
    struct answer right = { 0 };
    ck_assert_int_eq(sar_of(&right), 0);                        /* nonce unknown here */
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    ck_assert_int_eq(sar_of(&right), SCSCF_SAT_REGISTRATION);
    ck_assert_uint_eq(scscf_auth_pending(&sc), 1);              /* nothing used up */
    struct answer wrong = { .password = "guess" }, brief = { .expires = "10" },
                  mallory = { .username = "mallory@ims.example.org" };
    ck_assert_int_eq(sar_of(&wrong), 0);                        /* a new challenge: a MAR */
    ck_assert_int_eq(sar_of(&brief), 0);                        /* 423 */
    ck_assert_int_eq(sar_of(&mallory), 0);                      /* 403 */
    /* registered: a refresh, a de-registration of the last binding, of all (*) */
    struct scscf_aor aor;
    memset(&aor, 0, sizeof(aor));
    int err = 0;
    ims_map_put(sc.aors, IMPU, &aor, &err);
    ck_assert_int_eq(err, 0);
    bind_alice(&aor, 1);
    ck_assert_int_eq(sar_of(&right), SCSCF_SAT_RE_REGISTRATION);
    struct answer dereg = { .expires = "0" }, star = { .contact = "*", .expires = "0" };
    ck_assert_int_eq(sar_of(&dereg), SCSCF_SAT_USER_DEREGISTRATION);
    ck_assert_int_eq(sar_of(&star), SCSCF_SAT_USER_DEREGISTRATION);
    /* no SAR: a query, one binding of two going, more contacts than fit */
    bind_alice(&aor, 2);
    struct answer query = { .contact = "-" },
                  third = { .contact = "<sip:alice@127.0.0.120:5203>" };
    ck_assert_int_eq(sar_of(&query), 0);
    ck_assert_int_eq(sar_of(&dereg), 0);
    ck_assert_int_eq(sar_of(&third), 0);
    ck_assert_int_eq(sar_of(&star), SCSCF_SAT_USER_DEREGISTRATION);
    scscf_store_unbind(&sc, &aor, NULL);
    /* an expired challenge: a new one (MAR) */
    scscf_auth_expire(&sc, time(NULL) + 61);
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    ck_assert_int_eq(sar_of(&right), SCSCF_SAT_REGISTRATION);
}
END_TEST

START_TEST(aka_resync_is_no_sar)
{
    sc.default_expires = 3600;
    sc.max_expires = 7200;
    sc.max_contacts = 2;
    ch.v.scheme = SCSCF_AKAV1;
    memcpy(ch.v.xres, "abcdefgh", 8);                           /* RFC 3310: the password */
    ch.v.xres_len = 8;
    ck_assert_int_eq(issue(IMPI, IMPU), 0);
    struct answer right = { .password = "abcdefgh" },
                  resync = { .password = "abcdefgh", .more = ", auts=\"AAAAAAAAAAAAAAAAAAA=\"" };
    ck_assert_int_eq(sar_of(&right), SCSCF_SAT_REGISTRATION);
    ck_assert_int_eq(sar_of(&resync), 0);                       /* a MAR first */
    ck_assert_uint_eq(scscf_auth_pending(&sc), 1);
}
END_TEST

START_TEST(failures_lock_out_for_the_window)
{
    time_t t = 1000000;
    unsigned left;
    ck_assert(!scscf_auth_locked(&sc, IMPI, t, &left));
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t), 1);
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t + 10), 2);
    ck_assert(!scscf_auth_locked(&sc, IMPI, t + 10, &left));
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t + 20), 3);
    ck_assert(scscf_auth_locked(&sc, IMPI, t + 20, &left));
    ck_assert_uint_eq(left, 280);                             /* from the first failure */
    ck_assert(!scscf_auth_locked(&sc, "bob@x", t + 20, &left));
    ck_assert(!scscf_auth_locked(&sc, IMPI, t + 300, &left)); /* the window is over */
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t + 301), 1);   /* a new window */
    scscf_auth_succeeded(&sc, IMPI);
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t + 302), 1);
    scscf_auth_expire(&sc, t + 302 + 300);
    ck_assert_int_eq(scscf_auth_failed(&sc, IMPI, t + 700), 1);
}
END_TEST

START_TEST(failure_records_bounded)
{
    /* records per IMPI are at most twice max_challenges (12): beyond, a failure cannot be
     * noted and the caller refuses as if past the limit */
    for (int i = 0; i < 12; i++) {
        char impi[32];
        snprintf(impi, sizeof(impi), "user%d@x", i);
        ck_assert_int_eq(scscf_auth_failed(&sc, impi, 1000), 1);
    }
    ck_assert_int_eq(scscf_auth_failed(&sc, "more@x", 1000), -ENOSPC);
    ck_assert_int_eq(scscf_auth_failed(&sc, "user0@x", 1000), 2);   /* known ones still count */
    scscf_auth_expire(&sc, 1300);
    ck_assert_int_eq(scscf_auth_failed(&sc, "more@x", 1300), 1);
}
END_TEST

/* TISPAN and Digest-MD5: the HSS made the nonce, the challenge uses it; every Digest body
 * is an MD5 challenge for the UE and is checked with the HA1 */
START_TEST(digest_bodies_and_the_hss_nonce)
{
    static const enum scscf_scheme bodies[] = { SCSCF_DIGEST, SCSCF_DIGEST_TISPAN,
                                                SCSCF_DIGEST_PACKETCABLE, SCSCF_DIGEST_MD5 };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char hdr[512];
        ch.v.scheme = bodies[i];
        bool hss = bodies[i] == SCSCF_DIGEST_TISPAN || bodies[i] == SCSCF_DIGEST_MD5;
        snprintf(ch.v.nonce, sizeof(ch.v.nonce), "%s",
                 hss ? "a1b2c3d4e5f60718293a4b5c6d7e8f90" : "");
        ck_assert_int_eq(scscf_auth_challenge(&sc, IMPI, IMPU, &ch.v, hdr, sizeof(hdr)), 0);
        ck_assert_ptr_nonnull(strstr(hdr, "algorithm=MD5"));
        ck_assert_ptr_null(strstr(hdr, "ck="));
        const char *n = strstr(hdr, "nonce=\"") + 7;
        snprintf(ch.nonce, (size_t)(strchr(n, '"') - n + 1), "%s", n);
        if (hss)
            ck_assert_str_eq(ch.nonce, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
        else
            ck_assert_str_ne(ch.nonce, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
        struct answer a = { 0 };
        ck_assert_int_eq(check(&a, IMPI), SCSCF_AUTH_OK);
        challenge_teardown();
    }
}
END_TEST

START_TEST(scheme_names)
{
    for (int i = 0; i < SCSCF_SCHEME_COUNT; i++)
        ck_assert_int_eq(scscf_scheme_of(scscf_scheme_name((enum scscf_scheme)i)), i);
    ck_assert_int_eq(scscf_scheme_of("Digest"), SCSCF_DIGEST_PACKETCABLE);
    ck_assert_int_eq(scscf_scheme_of("http_digest_md5"), SCSCF_DIGEST_TISPAN);
    ck_assert_int_eq(scscf_scheme_of("Unknown"), SCSCF_SCHEME_COUNT);
    ck_assert_int_eq(scscf_scheme_of(NULL), SCSCF_SCHEME_COUNT);
    ck_assert(scscf_scheme_is_bundled(SCSCF_EARLY_IMS));
    ck_assert(scscf_scheme_is_bundled(SCSCF_NASS_BUNDLED));
    ck_assert(!scscf_scheme_is_digest(SCSCF_EARLY_IMS) && !scscf_scheme_is_digest(SCSCF_AKAV1));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, digest_answer_uses_the_hss_ha1);
    tcase_add_test(tc, aka_answers);
    tcase_add_test(tc, profile_identities_and_barring);
    tcase_add_test(tc, scheme_names);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("answers");
    tcase_add_checked_fixture(ta, challenge_setup, challenge_teardown);
    tcase_add_test(ta, right_answer);
    tcase_add_test(ta, wrong_password);
    tcase_add_test(ta, nonce_bound_to_impi_and_impu);
    tcase_add_test(ta, qop_downgrade_refused);
    tcase_add_test(ta, uri_must_be_the_request_uri);
    tcase_add_test(ta, realm_must_be_ours);
    tcase_add_test(ta, no_response_is_no_answer);
    suite_add_tcase(s, ta);
    TCase *tt = tcase_create("table");
    tcase_add_checked_fixture(tt, table_setup, table_teardown);
    tcase_add_test(tt, replay_for_another_impu);
    tcase_add_test(tt, another_impi_leaves_the_challenge);
    tcase_add_test(tt, call_id_does_not_matter);
    tcase_add_test(tt, challenges_bounded);
    tcase_add_test(tt, challenge_bounds_before_the_transaction);
    tcase_add_test(tt, sar_known_before_the_transaction);
    tcase_add_test(tt, aka_resync_is_no_sar);
    tcase_add_test(tt, failures_lock_out_for_the_window);
    tcase_add_test(tt, failure_records_bounded);
    tcase_add_test(tt, digest_bodies_and_the_hss_nonce);
    suite_add_tcase(s, tt);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
