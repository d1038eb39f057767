/*
 * check_ifc.c - initial filter criteria (scscf/ifc.c): profile selection, priority order,
 * trigger points (CNF/DNF, groups, negation), every SPT kind, shared iFC sets, errors and
 * hostile documents
 *
 * The documents are built in the shape hss/user_data.c and hss/ifc.c give them (every SPT
 * with ConditionNegated and Group, PublicIdentity with its IdentityType extension); the
 * requests are parsed from text by sofia-sip, as nta hands them to the S-CSCF.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>

#include "ifc.h"

/* ---- fixtures: strings, requests and sets freed after each test ---- */

#define POOL_MAX 1024

static char *pool[POOL_MAX];
static int npool;
static msg_t *msgs[POOL_MAX];
static int nmsgs;
static struct scscf_ifc_set *sets[POOL_MAX];
static int nsets;

static void teardown(void)
{
    while (npool)
        free(pool[--npool]);
    while (nmsgs)
        msg_destroy(msgs[--nmsgs]);
    while (nsets)
        scscf_ifc_free(sets[--nsets]);
}

/* printf into a string freed at teardown */
static const char *S(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    ck_assert_int_lt(npool, POOL_MAX);
    pool[npool++] = s;
    return s;
}

/* ---- documents, shaped as the HSS writes them ---- */

static const char *pub(const char *identity)
{
    return S("<PublicIdentity><Identity>%s</Identity><Extension><IdentityType>0</IdentityType>"
             "</Extension></PublicIdentity>", identity);
}

static const char *pub_wildcard_psi(const char *identity)
{
    return S("<PublicIdentity><Identity>%s</Identity><Extension><IdentityType>2</IdentityType>"
             "<WildcardedPSI>%s</WildcardedPSI></Extension></PublicIdentity>", identity,
             identity);
}

static const char *spt_in(int negated, const char *groups, const char *condition)
{
    return S("<SPT><ConditionNegated>%d</ConditionNegated>%s%s</SPT>", negated, groups,
             condition);
}

static const char *spt(int negated, int group, const char *condition)
{
    return spt_in(negated, S("<Group>%d</Group>", group), condition);
}

static const char *method(const char *m)
{
    return S("<Method>%s</Method>", m);
}

static const char *header(const char *name, const char *content)
{
    if (!content)
        return S("<SIPHeader><Header>%s</Header></SIPHeader>", name);
    return S("<SIPHeader><Header>%s</Header><Content>%s</Content></SIPHeader>", name, content);
}

static const char *sdp_line(const char *line, const char *content)
{
    if (!content)
        return S("<SessionDescription><Line>%s</Line></SessionDescription>", line);
    return S("<SessionDescription><Line>%s</Line><Content>%s</Content></SessionDescription>",
             line, content);
}

static const char *trigger(int cnf, const char *spts)
{
    return S("<TriggerPoint><ConditionTypeCNF>%d</ConditionTypeCNF>%s</TriggerPoint>", cnf,
             spts);
}

/* an iFC; @tp is a TriggerPoint or "", @tail what follows ApplicationServer */
static const char *ifc_full(int priority, const char *tp, const char *as, const char *tail)
{
    return S("<InitialFilterCriteria><Priority>%d</Priority>%s<ApplicationServer>"
             "<ServerName>%s</ServerName><DefaultHandling>0</DefaultHandling>"
             "</ApplicationServer>%s</InitialFilterCriteria>", priority, tp, as, tail);
}

static const char *ifc(int priority, const char *tp, const char *as)
{
    return ifc_full(priority, tp, as, "");
}

static const char *profile(const char *identities, const char *ifcs, const char *shared)
{
    return S("<ServiceProfile>%s%s%s</ServiceProfile>", identities, ifcs, shared);
}

static const char *subscription(const char *profiles)
{
    return S("<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription xmlns:xsi="
             "\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation="
             "\"CxDataType.xsd\"><PrivateID>alice@ims.example</PrivateID>%s</IMSSubscription>",
             profiles);
}

#define ALICE "sip:alice@ims.example"

/* the subscription of alice with one profile holding @ifcs */
static const char *alice(const char *ifcs)
{
    return subscription(profile(pub(ALICE), ifcs, ""));
}

static struct scscf_ifc_set *parse_for(const char *xml, const char *impu,
                                       const struct scscf_ifc_shared *shared)
{
    char err[256] = "x";
    struct scscf_ifc_set *set = scscf_ifc_parse(xml, strlen(xml), impu, shared, err,
                                                sizeof(err));
    ck_assert_msg(set != NULL, "parse failed: %s", err);
    ck_assert_int_lt(nsets, POOL_MAX);
    sets[nsets++] = set;
    return set;
}

static struct scscf_ifc_set *parse(const char *xml)
{
    return parse_for(xml, ALICE, NULL);
}

/* parse must fail; returns the error text */
static const char *parse_error(const char *xml)
{
    char err[256] = "";
    struct scscf_ifc_set *set = scscf_ifc_parse(xml, xml ? strlen(xml) : 0, ALICE, NULL, err,
                                                sizeof(err));
    ck_assert_msg(set == NULL, "parse of %.200s succeeded", xml);
    ck_assert_msg(err[0], "no error text for %.200s", xml);
    return S("%s", err);
}

/* ---- requests ---- */

static const sip_t *raw_request(const char *text)
{
    msg_t *m = msg_make(sip_default_mclass(), 0, text, strlen(text));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_lt(nmsgs, POOL_MAX);
    msgs[nmsgs++] = m;
    sip_t *sip = sip_object(m);
    ck_assert_ptr_nonnull(sip);
    ck_assert_ptr_nonnull(sip->sip_request);
    return sip;
}

/* a request with the usual headers, @headers ("Name: value\r\n"...), and a body */
static const sip_t *request(const char *meth, const char *ruri, const char *headers,
                            const char *ctype, const char *body)
{
    body = body ? body : "";
    return raw_request(S("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bK1\r\n"
                         "From: <" ALICE ">;tag=1\r\nTo: <%s>\r\nCall-ID: c1@ims.example\r\n"
                         "CSeq: 1 %s\r\nMax-Forwards: 70\r\n%s%s%s%sContent-Length: %zu\r\n"
                         "\r\n%s", meth, ruri, ruri, meth, headers, ctype ? "Content-Type: " : "",
                         ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body), body));
}

static const sip_t *invite(const char *headers)
{
    return request("INVITE", "sip:bob@ims.example", headers, NULL, NULL);
}

static const sip_t *invite_to(const char *ruri)
{
    return request("INVITE", ruri, "", NULL, NULL);
}

static const sip_t *invite_body(const char *ctype, const char *body)
{
    return request("INVITE", "sip:bob@ims.example", "", ctype, body);
}

static struct scscf_ifc_ctx ctx_of(const sip_t *sip)
{
    struct scscf_ifc_ctx c = { .sip = sip, .session_case = SCSCF_ORIG, .registered = true,
                               .reg_type = SCSCF_REG_UNKNOWN };
    return c;
}

/* does the (first) iFC of @set match @sip, originating and registered? */
static bool matches(const struct scscf_ifc_set *set, const sip_t *sip)
{
    struct scscf_ifc_ctx c = ctx_of(sip);
    return scscf_ifc_next(set, 0, &c) == 0;
}

/* a one-iFC set triggered by @spts */
static struct scscf_ifc_set *one(int cnf, const char *spts)
{
    return parse(alice(ifc(1, trigger(cnf, spts), "sip:as.ims.example")));
}

/* ---- tests ---- */

START_TEST(priority_order_and_fields)
{
    const char *ifcs = S("%s%s%s%s",
                         ifc(20, "", "sip:as20.ims.example"),
                         ifc_full(5, "", "sip:as5a.ims.example", "<ProfilePartIndicator>0"
                                  "</ProfilePartIndicator>"),
                         ifc(10, "", "sip:as10.ims.example"),
                         ifc(5, "", "sip:as5b.ims.example"));
    struct scscf_ifc_set *set = parse(alice(ifcs));
    ck_assert_int_eq(scscf_ifc_count(set), 4);
    ck_assert(scscf_ifc_profile_found(set));
    const char *order[] = { "sip:as5a.ims.example", "sip:as5b.ims.example",
                            "sip:as10.ims.example", "sip:as20.ims.example" };
    int prio[] = { 5, 5, 10, 20 };
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(scscf_ifc_get(set, i)->as, order[i]);
        ck_assert_int_eq(scscf_ifc_get(set, i)->priority, prio[i]);
        ck_assert(scscf_ifc_get(set, i)->unconditional);
    }
    ck_assert_int_eq(scscf_ifc_get(set, 0)->profile_part, SCSCF_PART_REGISTERED);
    ck_assert_int_eq(scscf_ifc_get(set, 1)->profile_part, SCSCF_PART_ANY);
    ck_assert_ptr_null(scscf_ifc_get(set, 4));
    ck_assert_ptr_null(scscf_ifc_get(set, -1));
    ck_assert_ptr_null(scscf_ifc_get(NULL, 0));
    ck_assert_int_eq(scscf_ifc_count(NULL), 0);

    /* the ApplicationServer fields, as hss/ifc.c writes them */
    const char *full = "<InitialFilterCriteria><Priority>3</Priority><ApplicationServer>"
                       "<ServerName>sip:voicemail.ims.example</ServerName>"
                       "<DefaultHandling>1</DefaultHandling><ServiceInfo>mailbox=7 &amp; "
                       "lang=en</ServiceInfo><Extension><IncludeRegisterRequest/>"
                       "<IncludeRegisterResponse/></Extension></ApplicationServer>"
                       "<ProfilePartIndicator>1</ProfilePartIndicator></InitialFilterCriteria>";
    set = parse(alice(full));
    const struct scscf_ifc *f = scscf_ifc_get(set, 0);
    ck_assert_str_eq(f->as, "sip:voicemail.ims.example");
    ck_assert_int_eq(f->default_handling, SCSCF_SESSION_TERMINATED);
    ck_assert_str_eq(f->service_info, "mailbox=7 & lang=en");
    ck_assert(f->include_register_request);
    ck_assert(f->include_register_response);
    ck_assert_int_eq(f->profile_part, SCSCF_PART_UNREGISTERED);
    f = scscf_ifc_get(parse(alice(ifc(1, "", "sip:as"))), 0);
    ck_assert_ptr_null(f->service_info);
    ck_assert(!f->include_register_request && !f->include_register_response);
    ck_assert_int_eq(f->default_handling, SCSCF_SESSION_CONTINUED);
}
END_TEST

/* headers X-A, X-B, X-C present per the bits of @mask */
static const sip_t *abc(int mask)
{
    return invite(S("%s%s%s", mask & 1 ? "X-A: 1\r\n" : "", mask & 2 ? "X-B: 1\r\n" : "",
                    mask & 4 ? "X-C: 1\r\n" : ""));
}

START_TEST(cnf_and_dnf_truth_tables)
{
    const char *a = header("X-A", NULL), *b = header("X-B", NULL), *c = header("X-C", NULL);
    /* groups {A, B} {C} */
    const char *spts = S("%s%s%s", spt(0, 0, a), spt(0, 0, b), spt(0, 1, c));
    struct scscf_ifc_set *dnf = one(0, spts), *cnf = one(1, spts);
    /* negated B, same groups */
    const char *neg = S("%s%s%s", spt(0, 0, a), spt(1, 0, b), spt(0, 1, c));
    struct scscf_ifc_set *dnf_neg = one(0, neg), *cnf_neg = one(1, neg);
    /* A in both groups: {A, B} {A, C} */
    const char *both = S("%s%s%s", spt_in(0, "<Group>0</Group><Group>1</Group>", a),
                         spt(0, 0, b), spt(0, 1, c));
    struct scscf_ifc_set *dnf_both = one(0, both), *cnf_both = one(1, both);
    for (int m = 0; m < 8; m++) {
        bool A = m & 1, B = m & 2, C = m & 4;
        const sip_t *sip = abc(m);
        ck_assert_msg(matches(dnf, sip) == ((A && B) || C), "dnf mask %d", m);
        ck_assert_msg(matches(cnf, sip) == ((A || B) && C), "cnf mask %d", m);
        ck_assert_msg(matches(dnf_neg, sip) == ((A && !B) || C), "dnf neg mask %d", m);
        ck_assert_msg(matches(cnf_neg, sip) == ((A || !B) && C), "cnf neg mask %d", m);
        ck_assert_msg(matches(dnf_both, sip) == ((A && B) || (A && C)), "dnf both %d", m);
        ck_assert_msg(matches(cnf_both, sip) == ((A || B) && (A || C)), "cnf both %d", m);
    }
    /* group numbers need not be consecutive or ordered */
    struct scscf_ifc_set *sparse = one(1, S("%s%s", spt(0, 7, a), spt(0, 3, c)));
    ck_assert(matches(sparse, abc(5)));
    ck_assert(!matches(sparse, abc(1)));
    ck_assert(!matches(sparse, abc(4)));
}
END_TEST

START_TEST(method_spt)
{
    struct scscf_ifc_set *inv = one(0, spt(0, 0, method("INVITE")));
    struct scscf_ifc_set *not_inv = one(0, spt(1, 0, method("INVITE")));
    struct scscf_ifc_set *lower = one(0, spt(0, 0, method("invite")));
    const sip_t *i = invite(""), *msg = request("MESSAGE", "sip:bob@ims.example", "", NULL, NULL);
    ck_assert(matches(inv, i));
    ck_assert(!matches(inv, msg));
    ck_assert(!matches(not_inv, i));
    ck_assert(matches(not_inv, msg));
    ck_assert(!matches(lower, i));                           /* methods are case-sensitive */
    /* no request at all: only negated conditions hold */
    ck_assert(!matches(inv, NULL));
    ck_assert(matches(not_inv, NULL));
}
END_TEST

START_TEST(register_registration_types)
{
    const char *initial_or_de = S("<Method>REGISTER</Method><Extension><RegistrationType>0"
                                  "</RegistrationType><RegistrationType>2</RegistrationType>"
                                  "</Extension>");
    struct scscf_ifc_set *some = one(0, spt(0, 0, initial_or_de));
    struct scscf_ifc_set *any = one(0, spt(0, 0, method("REGISTER")));
    struct scscf_ifc_set *not_some = one(0, spt(1, 0, initial_or_de));
    const sip_t *reg = request("REGISTER", "sip:ims.example", "", NULL, NULL);
    struct scscf_ifc_ctx c = ctx_of(reg);
    const bool want[] = { true, false, true };
    for (int t = SCSCF_REG_INITIAL; t <= SCSCF_REG_DE; t++) {
        c.reg_type = (enum scscf_reg_type)t;
        ck_assert_int_eq(scscf_ifc_next(some, 0, &c), want[t] ? 0 : -1);
        ck_assert_int_eq(scscf_ifc_next(not_some, 0, &c), want[t] ? -1 : 0);
        ck_assert_int_eq(scscf_ifc_next(any, 0, &c), 0);
    }
    c.reg_type = SCSCF_REG_UNKNOWN;                          /* unknown: listed types fail */
    ck_assert_int_eq(scscf_ifc_next(some, 0, &c), -1);
    ck_assert_int_eq(scscf_ifc_next(any, 0, &c), 0);
    c.sip = invite("");
    c.reg_type = SCSCF_REG_INITIAL;
    ck_assert_int_eq(scscf_ifc_next(some, 0, &c), -1);
    const char *bad = S("<Method>REGISTER</Method><Extension><RegistrationType>3"
                        "</RegistrationType></Extension>");
    const char *e = parse_error(alice(ifc(4, trigger(0, spt(0, 0, bad)), "sip:as")));
    ck_assert_msg(strstr(e, "priority 4") && strstr(e, "RegistrationType"), "%s", e);
}
END_TEST

START_TEST(request_uri_spt)
{
    struct scscf_ifc_set *set = one(0, spt(0, 0, "<RequestURI>^sip:[a-z]+@ims\\.example$"
                                                  "</RequestURI>"));
    struct scscf_ifc_set *neg = one(0, spt(1, 0, "<RequestURI>@ims\\.example</RequestURI>"));
    struct scscf_ifc_set *tel = one(0, spt(0, 0, "<RequestURI>^tel:\\+1</RequestURI>"));
    ck_assert(matches(set, invite("")));
    ck_assert(matches(set, invite_to("sip:bob@IMS.Example")));
    ck_assert(!matches(set, invite_to("sip:bob@ims.example;user=phone")));
    ck_assert(!matches(set, invite_to("sip:b0b@ims.example")));
    ck_assert(!matches(neg, invite("")));
    ck_assert(matches(neg, invite_to("sip:bob@other.example")));
    ck_assert(matches(tel, invite_to("tel:+15550100")));
    ck_assert(!matches(tel, invite_to("tel:+45550100")));
}
END_TEST

START_TEST(sip_header_spt)
{
    struct scscf_ifc_set *present = one(0, spt(0, 0, header("P-Asserted-Identity", NULL)));
    struct scscf_ifc_set *absent = one(0, spt(1, 0, header("p-asserted-identity", NULL)));
    struct scscf_ifc_set *video = one(0, spt(0, 0, header("Accept-Contact", "video")));
    struct scscf_ifc_set *foo_b = one(0, spt(0, 0, header("X-Foo", "^b$")));
    struct scscf_ifc_set *from_long = one(0, spt(0, 0, header("From", "^&lt;sip:carol@")));
    struct scscf_ifc_set *from_short = one(0, spt(0, 0, header("f", "alice")));
    struct scscf_ifc_set *identity = one(0, spt(0, 0, header("Identity", "sig")));
    struct scscf_ifc_set *via2 = one(0, spt(0, 0, header("v", "^SIP/2.0/TCP second")));

    const sip_t *pai = invite("P-Asserted-Identity: <" ALICE ">\r\n");
    ck_assert(matches(present, pai));
    ck_assert(!matches(absent, pai));
    ck_assert(!matches(present, invite("")));
    ck_assert(matches(absent, invite("")));
    /* compact form in the request ("a:"), several instances, case-insensitive content */
    ck_assert(matches(video, invite("a: *;audio\r\nAccept-Contact: *;VIDEO\r\n")));
    ck_assert(!matches(video, invite("a: *;audio\r\n")));
    /* an unknown header repeated: any instance */
    ck_assert(matches(foo_b, invite("X-Foo: a\r\nX-Foo: b\r\n")));
    ck_assert(!matches(foo_b, invite("X-Foo: a\r\nX-Foo: bb\r\n")));
    /* compact forms on both sides */
    const sip_t *compact = raw_request("INVITE sip:bob@ims.example SIP/2.0\r\n"
                                       "v: SIP/2.0/UDP 127.0.0.10;branch=z9hG4bK2\r\n"
                                       "v: SIP/2.0/TCP second;branch=z9hG4bK3\r\n"
                                       "f: <sip:carol@ims.example>;tag=2\r\nt: <sip:bob@x>\r\n"
                                       "i: c2\r\nCSeq: 2 INVITE\r\ny: sig-value\r\nl: 0\r\n\r\n");
    ck_assert(matches(from_long, compact));
    ck_assert(!matches(from_short, compact));                /* carol, not alice */
    ck_assert(matches(from_short, invite("")));
    ck_assert(matches(identity, compact));                   /* "y", unknown to sofia-sip */
    ck_assert(matches(via2, compact));                       /* the second Via */
    ck_assert(!matches(via2, invite("")));
}
END_TEST

/*
 * Found by tests/fuzz/scscf_ifc_match (corpus file event-header-128.sip): the value of a
 * known header of 128 bytes or more (here Event) came back from sip_header_as_string()
 * unterminated, and regexec() read past the end of it (ASan) or matched garbage.
 */
START_TEST(long_header_value_matched_whole)
{
    struct scscf_ifc_set *set = one(0, spt(0, 0, header("Event", "username=alice.*end$")));
    char value[400];
    int n = snprintf(value, sizeof(value), "Event: reg;username=alice");
    while (n < 300)
        n += snprintf(value + n, sizeof(value) - (size_t)n, "%s", ";p=xxxxxxxx");
    snprintf(value + n, sizeof(value) - (size_t)n, ";end\r\n");
    ck_assert(matches(set, invite(value)));
    ck_assert(!matches(set, invite("Event: reg;username=bob;end\r\n")));
    /* an Event value sofia-sip keeps whole though its type is no token */
    const sip_t *odd = invite(S("Event: ization: D\x97\x90st username=\"alice\"%0200d end\r\n", 0));
    ck_assert(matches(one(0, spt(0, 0, header("Event", "alice.*end$"))), odd));
}
END_TEST

START_TEST(session_case_spt)
{
    struct scscf_ifc_set *sets_by_case[5];
    for (int k = 0; k < 5; k++)
        sets_by_case[k] = one(0, spt(0, 0, S("<SessionCase>%d</SessionCase>", k)));
    struct scscf_ifc_set *not_cdiv = one(0, spt(1, 0, "<SessionCase>4</SessionCase>"));
    struct scscf_ifc_ctx c = ctx_of(invite(""));
    for (int actual = SCSCF_ORIG; actual <= SCSCF_ORIG_CDIV; actual++) {
        c.session_case = (enum scscf_session_case)actual;
        for (int k = 0; k < 5; k++)
            ck_assert_int_eq(scscf_ifc_next(sets_by_case[k], 0, &c), k == actual ? 0 : -1);
        ck_assert_int_eq(scscf_ifc_next(not_cdiv, 0, &c), actual == SCSCF_ORIG_CDIV ? -1 : 0);
    }
    /* terminating unregistered: not registered, case 2 */
    c.session_case = SCSCF_TERM_UNREG;
    c.registered = false;
    ck_assert_int_eq(scscf_ifc_next(sets_by_case[SCSCF_TERM_UNREG], 0, &c), 0);
    const char *e = parse_error(alice(ifc(9, trigger(0, spt(0, 0, "<SessionCase>5</SessionCase>")),
                                          "sip:as")));
    ck_assert_ptr_nonnull(strstr(e, "priority 9"));
}
END_TEST

static const char *const sdp_audio = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                                     "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                                     "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

START_TEST(sdp_plain)
{
    struct scscf_ifc_set *audio = one(0, spt(0, 0, sdp_line("m", "^audio ")));
    struct scscf_ifc_set *video = one(0, spt(0, 0, sdp_line("m", "video")));
    struct scscf_ifc_set *any_m = one(0, spt(0, 0, sdp_line("m", NULL)));
    struct scscf_ifc_set *bw = one(0, spt(0, 0, sdp_line("b", NULL)));
    struct scscf_ifc_set *pcmu = one(0, spt(0, 0, sdp_line("a", "rtpmap:0 PCMU")));
    const sip_t *with = invite_body("application/sdp", sdp_audio);
    ck_assert(matches(audio, with));
    ck_assert(!matches(video, with));
    ck_assert(matches(any_m, with));
    ck_assert(!matches(bw, with));
    ck_assert(matches(pcmu, with));
    ck_assert(!matches(any_m, invite("")));                  /* no body */
    /* the same text in a body that is not SDP */
    ck_assert(!matches(any_m, request("MESSAGE", "sip:bob@ims.example", "", "text/plain",
                                      sdp_audio)));
    /* LF-only lines and a last line without a line break */
    ck_assert(matches(video, invite_body("application/sdp",
                                         "v=0\nm=audio 1 RTP/AVP 0\nm=video 2 RTP/AVP 96")));
}
END_TEST

START_TEST(sdp_multipart)
{
    struct scscf_ifc_set *video = one(0, spt(0, 0, sdp_line("m", "^video")));
    const char *body = "preamble\r\n--b1\r\nContent-Type: application/ISUP;version=itu-t92+\r\n"
                       "\r\nm=video 1 2 3\r\n--b1\r\nContent-Type: application/sdp\r\n"
                       "\r\nv=0\r\nm=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n"
                       "--b1--\r\nm=video epilogue\r\n";
    ck_assert(matches(video, invite_body("multipart/mixed;boundary=\"b1\"", body)));
    /* the video line only outside the SDP part: no match */
    const char *isup_only = "--b1\r\nContent-Type: application/ISUP\r\n\r\nm=video 1\r\n"
                            "--b1\r\nContent-Type: application/sdp\r\n\r\nm=audio 4000\r\n"
                            "--b1--\r\n";
    ck_assert(!matches(video, invite_body("multipart/mixed;boundary=b1", isup_only)));
    /* multipart/alternative inside multipart/mixed */
    const char *nested = "--outer\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                         "--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
                         "--inner\r\ncontent-type: APPLICATION/SDP\r\n\r\nv=0\r\nm=video 5 RTP\r\n"
                         "--inner--\r\n--outer--\r\n";
    ck_assert(matches(video, invite_body("multipart/mixed;boundary=outer", nested)));
    /* broken bodies: no boundary, no close delimiter, no blank line in a part */
    ck_assert(!matches(video, invite_body("multipart/mixed", body)));
    ck_assert(matches(video, invite_body("multipart/mixed;boundary=b1",
                                         "--b1\r\nContent-Type: application/sdp\r\n\r\n"
                                         "m=video 1")));
    ck_assert(!matches(video, invite_body("multipart/mixed;boundary=b1",
                                          "--b1\r\nContent-Type: application/sdp\r\n"
                                          "m=video 1")));
}
END_TEST

START_TEST(profile_part_indicator)
{
    const char *ifcs = S("%s%s%s", ifc_full(1, "", "sip:reg", "<ProfilePartIndicator>0"
                                            "</ProfilePartIndicator>"),
                         ifc_full(2, "", "sip:unreg", "<ProfilePartIndicator>1"
                                  "</ProfilePartIndicator>"),
                         ifc(3, "", "sip:both"));
    struct scscf_ifc_set *set = parse(alice(ifcs));
    struct scscf_ifc_ctx c = ctx_of(invite(""));
    c.registered = true;
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 0);
    ck_assert_int_eq(scscf_ifc_next(set, 1, &c), 2);
    c.registered = false;
    c.session_case = SCSCF_TERM_UNREG;
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 1);
    ck_assert_int_eq(scscf_ifc_next(set, 2, &c), 2);
    const char *bad = ifc_full(1, "", "sip:x", "<ProfilePartIndicator>2</ProfilePartIndicator>");
    parse_error(alice(bad));
}
END_TEST

START_TEST(no_trigger_point_is_unconditional)
{
    struct scscf_ifc_set *set = parse(alice(ifc(1, "", "sip:always")));
    ck_assert(scscf_ifc_get(set, 0)->unconditional);
    struct scscf_ifc_ctx c = ctx_of(NULL);
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 0);
    c = ctx_of(request("OPTIONS", "sip:bob@ims.example", "", NULL, NULL));
    c.session_case = SCSCF_ORIG_CDIV;
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 0);
    ck_assert_int_eq(scscf_ifc_next(set, 1, &c), -1);
    ck_assert_int_eq(scscf_ifc_next(NULL, 0, &c), -1);
    ck_assert_int_eq(scscf_ifc_next(set, 0, NULL), -1);
    /* a TriggerPoint without SPTs is not "unconditional": it is refused */
    parse_error(alice(ifc(1, trigger(0, ""), "sip:x")));
}
END_TEST

static const char *shared_doc(void)
{
    return S("<?xml version=\"1.0\"?><SharedIFCSets>"
             "<SharedIFCSet><SetID>1</SetID>%s%s</SharedIFCSet>"
             "<SharedIFCSet><SetID>2</SetID>%s</SharedIFCSet>"
             "<SharedIFCSet><SetID>3</SetID></SharedIFCSet></SharedIFCSets>",
             ifc(3, "", "sip:s1-3"), ifc(30, trigger(0, spt(0, 0, method("MESSAGE"))),
                                          "sip:s1-30"),
             ifc(7, "", "sip:s2-7"));
}

START_TEST(shared_sets_merged_in_priority_order)
{
    char err[256];
    const char *doc = shared_doc();
    struct scscf_ifc_shared *sh = scscf_ifc_shared_parse(doc, strlen(doc), err, sizeof(err));
    ck_assert_msg(sh != NULL, "%s", err);
    ck_assert_int_eq(scscf_ifc_shared_count(sh), 3);
    const char *ext = "<Extension><SharedIFCSetID>2</SharedIFCSetID><SharedIFCSetID>9"
                      "</SharedIFCSetID><SharedIFCSetID>1</SharedIFCSetID><SharedIFCSetID>2"
                      "</SharedIFCSetID></Extension>";
    const char *xml = subscription(profile(pub(ALICE), S("%s%s", ifc(5, "", "sip:own-5"),
                                                         ifc(30, "", "sip:own-30")), ext));
    struct scscf_ifc_set *set = scscf_ifc_parse(xml, strlen(xml), ALICE, sh, err, sizeof(err));
    ck_assert_ptr_nonnull(set);
    sets[nsets++] = set;
    ck_assert_msg(strstr(err, "9") != NULL, "warning: %s", err);
    int ids[4] = { -1, -1, -1, -1 };
    ck_assert_int_eq(scscf_ifc_unknown_shared(set, ids, 4), 1);
    ck_assert_int_eq(ids[0], 9);
    const char *order[] = { "sip:s1-3", "sip:own-5", "sip:s2-7", "sip:own-30", "sip:s1-30" };
    ck_assert_int_eq(scscf_ifc_count(set), 5);               /* set 2 named twice: once */
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(scscf_ifc_get(set, i)->as, order[i]);
    /* the set keeps the shared iFCs alive */
    scscf_ifc_shared_free(sh);
    struct scscf_ifc_ctx c = ctx_of(request("MESSAGE", "sip:bob@ims.example", "", NULL, NULL));
    ck_assert_int_eq(scscf_ifc_next(set, 4, &c), 4);
    c.sip = invite("");
    ck_assert_int_eq(scscf_ifc_next(set, 4, &c), -1);
    /* without shared sets every id is unknown, the own iFCs stay */
    set = parse_for(xml, ALICE, NULL);
    ck_assert_int_eq(scscf_ifc_count(set), 2);
    ck_assert_int_eq(scscf_ifc_unknown_shared(set, NULL, 0), 3);
    /* a clean parse leaves no warning */
    set = scscf_ifc_parse(alice(""), strlen(alice("")), ALICE, NULL, err, sizeof(err));
    ck_assert_ptr_nonnull(set);
    sets[nsets++] = set;
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(scscf_ifc_count(set), 0);
}
END_TEST

static const char *write_temp(const char *content)
{
    char path[] = "/tmp/check_ifc_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return S("%s", path);
}

START_TEST(shared_sets_file_and_errors)
{
    char err[256];
    const char *path = write_temp(shared_doc());
    struct scscf_ifc_shared *sh = scscf_ifc_shared_load(path, err, sizeof(err));
    unlink(path);
    ck_assert_msg(sh != NULL, "%s", err);
    ck_assert_int_eq(scscf_ifc_shared_count(sh), 3);
    scscf_ifc_shared_free(sh);
    scscf_ifc_shared_free(NULL);

    ck_assert_ptr_null(scscf_ifc_shared_load("/nonexistent/shared.xml", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    const char *bad[] = {
        "<SharedIFCSets><SharedIFCSet><SetID>1</SetID></SharedIFCSet>",      /* truncated */
        "<IMSSubscription/>",                                                 /* other root */
        "<SharedIFCSets><SharedIFCSet><SetID>x</SetID></SharedIFCSet></SharedIFCSets>",
        "<SharedIFCSets><SharedIFCSet></SharedIFCSet></SharedIFCSets>",
        "<SharedIFCSets><SharedIFCSet><SetID>1</SetID></SharedIFCSet><SharedIFCSet><SetID>1"
        "</SetID></SharedIFCSet></SharedIFCSets>",                            /* twice */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_ptr_null(scscf_ifc_shared_parse(bad[i], strlen(bad[i]), err, sizeof(err)));
        ck_assert_msg(err[0], "no error for %s", bad[i]);
    }
    /* an iFC that does not compile names the set and the priority */
    const char *re = S("<SharedIFCSets><SharedIFCSet><SetID>4</SetID>%s</SharedIFCSet>"
                       "</SharedIFCSets>",
                       ifc(8, trigger(0, spt(0, 0, "<RequestURI>a[</RequestURI>")), "sip:x"));
    path = write_temp(re);
    ck_assert_ptr_null(scscf_ifc_shared_load(path, err, sizeof(err)));
    unlink(path);
    ck_assert_msg(strstr(err, "SharedIFCSet 4") && strstr(err, "priority 8") &&
                  strstr(err, "a["), "%s", err);
    /* an empty file of sets is valid */
    sh = scscf_ifc_shared_parse("<SharedIFCSets/>", 16, err, sizeof(err));
    ck_assert_ptr_nonnull(sh);
    ck_assert_int_eq(scscf_ifc_shared_count(sh), 0);
    scscf_ifc_shared_free(sh);
}
END_TEST

/* which profile the set came from: the AS of its only iFC */
static const char *profile_of(const char *xml, const char *impu)
{
    struct scscf_ifc_set *set = parse_for(xml, impu, NULL);
    return scscf_ifc_count(set) ? scscf_ifc_get(set, 0)->as : "none";
}

START_TEST(service_profile_selection)
{
    const char *wild_impu = "<PublicIdentity><Identity>sip:user-!.*!@ims.example</Identity>"
                            "<Extension><IdentityType>3</IdentityType></Extension>"
                            "</PublicIdentity>";
    const char *xml = subscription(S(
        "%s%s%s%s%s",
        profile(S("%s%s", pub(ALICE), pub("tel:+1-555-0100")), ifc(0, "", "sip:p1"), ""),
        profile(pub("sip:alice-work@ims.example"), ifc(0, "", "sip:p2"), ""),
        profile(pub_wildcard_psi("sip:chat-!.*!@ims.example"), ifc(0, "", "sip:p3"), ""),
        profile(pub("sip:chat-vip@ims.example"), ifc(0, "", "sip:p4"), ""),
        profile(wild_impu, ifc(0, "", "sip:p5"), "")));
    static const char *const cases[][2] = {
        { ALICE, "sip:p1" },
        { "SIP:alice@IMS.EXAMPLE", "sip:p1" },
        { "sip:alice@ims.example;user=phone", "sip:p1" },
        { "sip:alice@ims.example?subject=x", "sip:p1" },
        { "tel:+15550100", "sip:p1" },
        { "tel:+1.555.0100", "sip:p1" },
        { "sip:alice-work@ims.example", "sip:p2" },
        { "sip:chat-42@ims.example", "sip:p3" },
        { "sip:chat-42@ims.example;transport=tcp", "sip:p3" },
        { "sip:chat-!.*!@ims.example", "sip:p3" },
        { "sip:chat-vip@ims.example", "sip:p4" },             /* exact before wildcards */
        { "sip:user-7@ims.example", "sip:p5" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(strcmp(profile_of(xml, cases[i][0]), cases[i][1]) == 0, "%s: %s, not %s",
                      cases[i][0], profile_of(xml, cases[i][0]), cases[i][1]);
    /* no match: the user part is case-sensitive, another number, another host */
    const char *none[] = { "sip:Alice@ims.example", "tel:+15550101", "sip:alice@other.example",
                           "sip:chat-42@ims.example.org", "sip:alice@ims.example:5070" };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        char err[256] = "";
        struct scscf_ifc_set *set = scscf_ifc_parse(xml, strlen(xml), none[i], NULL, err,
                                                    sizeof(err));
        ck_assert_ptr_nonnull(set);
        sets[nsets++] = set;
        ck_assert_msg(!scscf_ifc_profile_found(set), "%s found", none[i]);
        ck_assert_int_eq(scscf_ifc_count(set), 0);
        ck_assert_msg(strstr(err, none[i]) != NULL, "err: %s", err);
    }
}
END_TEST

START_TEST(bad_regex_fails_parse)
{
    const char *bad = spt(0, 0, "<RequestURI>sip:(</RequestURI>");
    const char *e = parse_error(alice(S("%s%s", ifc(1, "", "sip:ok"),
                                        ifc(7, trigger(1, bad), "sip:bad"))));
    ck_assert_msg(strstr(e, "priority 7") && strstr(e, "sip:("), "%s", e);
    e = parse_error(alice(ifc(2, trigger(0, spt(0, 0, header("To", "x{2,1}"))), "sip:x")));
    ck_assert_msg(strstr(e, "priority 2") && strstr(e, "x{2,1}"), "%s", e);
    e = parse_error(alice(ifc(3, trigger(0, spt(0, 0, sdp_line("m", "(audio"))), "sip:x")));
    ck_assert_msg(strstr(e, "priority 3") && strstr(e, "(audio"), "%s", e);
}
END_TEST

START_TEST(malformed_documents_are_refused)
{
    const char *as = "<ApplicationServer><ServerName>sip:as</ServerName></ApplicationServer>";
    const char *bad[] = {
        "", "<", "<IMSSubscription>", "not xml at all", "<a></b>",
        "<!DOCTYPE x [<!ENTITY e \"e\">]><IMSSubscription/>",
        "<ServiceProfile/>",                                                  /* other root */
        S("<IMSSubscription>%s</IMSSubscription><x/>", profile(pub(ALICE), "", "")),
        alice(S("<InitialFilterCriteria>%s</InitialFilterCriteria>", as)),    /* no Priority */
        alice(S("<InitialFilterCriteria><Priority>-1</Priority>%s</InitialFilterCriteria>", as)),
        alice(S("<InitialFilterCriteria><Priority>99999999999</Priority>%s"
                "</InitialFilterCriteria>", as)),
        alice("<InitialFilterCriteria><Priority>1</Priority></InitialFilterCriteria>"),
        alice(ifc(1, "", "")),                                                /* no ServerName */
        alice(ifc(1, "<TriggerPoint><SPT><Group>0</Group><Method>INVITE</Method></SPT>"
                     "</TriggerPoint>", "sip:as")),                          /* no CNF */
        alice(ifc(1, trigger(0, "<SPT><Group>0</Group></SPT>"), "sip:as")),  /* no condition */
        alice(ifc(1, trigger(0, S("<SPT><Group>0</Group>%s%s</SPT>", method("INVITE"),
                                  "<SessionCase>0</SessionCase>")), "sip:as")),
        alice(ifc(1, trigger(0, spt_in(0, "<Group>g</Group>", method("A"))), "sip:as")),
        alice(ifc(1, trigger(0, spt_in(2, "<Group>0</Group>", method("A"))), "sip:as")),
        alice(ifc(1, trigger(0, spt(0, 0, method(""))), "sip:as")),
        alice(ifc(1, trigger(0, spt(0, 0, header("", NULL))), "sip:as")),
        alice(ifc(1, trigger(0, spt(0, 0, "<RequestURI></RequestURI>")), "sip:as")),
        alice(S("<InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>"
                "sip:as</ServerName><DefaultHandling>2</DefaultHandling></ApplicationServer>"
                "</InitialFilterCriteria>")),
        subscription(profile(pub(ALICE), "", "<Extension><SharedIFCSetID>one</SharedIFCSetID>"
                                             "</Extension>")),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_error(bad[i]);
    parse_error(NULL);
    char err[64];
    ck_assert_ptr_null(scscf_ifc_parse(alice(""), strlen(alice("")), NULL, NULL, err,
                                       sizeof(err)));
    /* a ServerName too long, 65 SPTs, a regex too long, a document too large */
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    parse_error(alice(ifc(1, "", S("sip:%s", big))));
    const char *spts = "";
    for (int i = 0; i < SCSCF_IFC_SPT_MAX + 1; i++)
        spts = S("%s%s", spts, spt(0, i, method("INVITE")));
    parse_error(alice(ifc(1, trigger(0, spts), "sip:as")));
    const char *long_re = S("%s%s%s%s", big, big, big, big);
    parse_error(alice(ifc(1, trigger(0, spt(0, 0, header("To", long_re))), "sip:as")));
    const char *ok = alice("");
    ck_assert_ptr_null(scscf_ifc_parse(ok, SCSCF_IFC_DOC_MAX + 1, ALICE, NULL, err,
                                       sizeof(err)));
}
END_TEST

/* every prefix and many mutations of a valid document: no crash, no leak, any outcome */
START_TEST(hostile_documents_do_not_crash)
{
    const char *shared_ext = "<Extension><SharedIFCSetID>1</SharedIFCSetID></Extension>";
    const char *spts = S("%s%s%s%s", spt(0, 0, method("INVITE")),
                         spt_in(1, "<Group>0</Group><Group>1</Group>",
                                header("Accept-Contact", "vid(eo)+")),
                         spt(0, 1, sdp_line("m", "audio")),
                         spt(0, 2, "<RequestURI>^sip:[^@]+@ims\\.example</RequestURI>"));
    const char *xml = subscription(S("%s%s", profile(S("%s%s", pub(ALICE),
                                                        pub_wildcard_psi("sip:x-!.*!@i")),
                                                     ifc(1, trigger(1, spts), "sip:as"),
                                                     shared_ext),
                                     profile(pub("tel:+1"), ifc(2, "", "sip:b"), "")));
    const char *doc = shared_doc();
    char err[256];
    struct scscf_ifc_shared *sh = scscf_ifc_shared_parse(doc, strlen(doc), err, sizeof(err));
    ck_assert_ptr_nonnull(sh);
    const sip_t *sip = request("INVITE", "sip:bob@ims.example", "Accept-Contact: *;video\r\n",
                               "application/sdp", sdp_audio);
    struct scscf_ifc_ctx c = ctx_of(sip);
    size_t len = strlen(xml);
    int ok = 0;
    for (size_t n = 0; n <= len; n++) {
        struct scscf_ifc_set *set = scscf_ifc_parse(xml, n, ALICE, sh, err, sizeof(err));
        if (set) {
            ok++;
            scscf_ifc_next(set, 0, &c);
        }
        scscf_ifc_free(set);
    }
    ck_assert_int_eq(ok, 1);                                 /* only the whole document */
    char *copy = malloc(len + 1);
    ck_assert_ptr_nonnull(copy);
    unsigned seed = 12345;
    const char junk[] = "<>/&;!\"'=\0x9 ";
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, xml, len + 1);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            copy[at] = junk[(seed >> 4) % (sizeof(junk) - 1)];
        }
        struct scscf_ifc_set *set = scscf_ifc_parse(copy, len, ALICE, sh, err, sizeof(err));
        for (int i = scscf_ifc_next(set, 0, &c); i >= 0; i = scscf_ifc_next(set, i + 1, &c))
            ck_assert_ptr_nonnull(scscf_ifc_get(set, i));
        scscf_ifc_free(set);
    }
    free(copy);
    scscf_ifc_shared_free(sh);
    /* deep nesting and a huge flat document */
    const char *deep = "";
    for (int i = 0; i < 100; i++)
        deep = S("<Extension>%s</Extension>", deep);
    parse_error(subscription(profile(pub(ALICE), "", deep)));
}
END_TEST

START_TEST(next_continues_from_an_index)
{
    const char *ifcs = S("%s%s%s%s%s",
                         ifc(1, trigger(0, spt(0, 0, method("INVITE"))), "sip:a"),
                         ifc(2, trigger(0, spt(0, 0, method("MESSAGE"))), "sip:b"),
                         ifc(3, "", "sip:c"),
                         ifc(4, trigger(0, spt(0, 0, header("To", "bob"))), "sip:d"),
                         ifc(5, trigger(0, spt(1, 0, "<SessionCase>0</SessionCase>")),
                             "sip:e"));
    struct scscf_ifc_set *set = parse(alice(ifcs));
    struct scscf_ifc_ctx c = ctx_of(invite(""));
    ck_assert_int_eq(scscf_ifc_next(set, -5, &c), 0);
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 0);
    ck_assert_int_eq(scscf_ifc_next(set, 1, &c), 2);
    ck_assert_int_eq(scscf_ifc_next(set, 3, &c), 3);
    ck_assert_int_eq(scscf_ifc_next(set, 4, &c), -1);
    ck_assert_int_eq(scscf_ifc_next(set, 99, &c), -1);
    /* the ISC loop */
    int seen[8], n = 0;
    for (int i = scscf_ifc_next(set, 0, &c); i >= 0; i = scscf_ifc_next(set, i + 1, &c))
        seen[n++] = i;
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(seen[0], 0);
    ck_assert_int_eq(seen[1], 2);
    ck_assert_int_eq(seen[2], 3);
    c.session_case = SCSCF_TERM_REG;
    c.sip = request("MESSAGE", "sip:carol@ims.example", "", NULL, NULL);
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), 1);
    ck_assert_int_eq(scscf_ifc_next(set, 2, &c), 2);
    ck_assert_int_eq(scscf_ifc_next(set, 3, &c), 4);
}
END_TEST

/* the iFC of the example at the top of hss/ifc.c, as hss_ifc_xml() writes it */
START_TEST(hss_example_ifc)
{
    const char *x =
        "<InitialFilterCriteria><Priority>0</Priority><TriggerPoint><ConditionTypeCNF>0"
        "</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group>"
        "<Method>INVITE</Method></SPT><SPT><ConditionNegated>0</ConditionNegated><Group>0"
        "</Group><SessionCase>0</SessionCase></SPT><SPT><ConditionNegated>0</ConditionNegated>"
        "<Group>1</Group><RequestURI>sip:.*@example.org</RequestURI></SPT><SPT>"
        "<ConditionNegated>0</ConditionNegated><Group>1</Group><SIPHeader><Header>"
        "Accept-Contact</Header><Content>video</Content></SIPHeader></SPT><SPT>"
        "<ConditionNegated>0</ConditionNegated><Group>2</Group><SessionDescription><Line>m"
        "</Line><Content>audio</Content></SessionDescription></SPT><SPT><ConditionNegated>0"
        "</ConditionNegated><Group>0</Group><Method>REGISTER</Method><Extension>"
        "<RegistrationType>0</RegistrationType><RegistrationType>1</RegistrationType>"
        "</Extension></SPT></TriggerPoint><ApplicationServer><ServerName>sip:as.example.org"
        "</ServerName><DefaultHandling>0</DefaultHandling><ServiceInfo>...</ServiceInfo>"
        "<Extension><IncludeRegisterRequest/></Extension></ApplicationServer>"
        "<ProfilePartIndicator>0</ProfilePartIndicator></InitialFilterCriteria>";
    struct scscf_ifc_set *set = parse(alice(x));
    const struct scscf_ifc *f = scscf_ifc_get(set, 0);
    ck_assert_str_eq(f->as, "sip:as.example.org");
    ck_assert(f->include_register_request && !f->include_register_response);
    /* group 1: Request-URI and Accept-Contact */
    ck_assert(matches(set, request("MESSAGE", "sip:bob@example.org", "Accept-Contact: *;video"
                                   "\r\n", NULL, NULL)));
    ck_assert(!matches(set, request("MESSAGE", "sip:bob@example.org", "", NULL, NULL)));
    /* group 2: audio in the SDP */
    ck_assert(matches(set, invite_body("application/sdp", sdp_audio)));
    /* group 0 never holds (INVITE and REGISTER at once) */
    ck_assert(!matches(set, invite("")));
    struct scscf_ifc_ctx c = ctx_of(request("MESSAGE", "sip:bob@example.org",
                                            "Accept-Contact: *;video\r\n", NULL, NULL));
    c.registered = false;                                    /* ProfilePartIndicator 0 */
    ck_assert_int_eq(scscf_ifc_next(set, 0, &c), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scscf_ifc");
    TCase *tc = tcase_create("ifc");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, priority_order_and_fields);
    tcase_add_test(tc, cnf_and_dnf_truth_tables);
    tcase_add_test(tc, method_spt);
    tcase_add_test(tc, register_registration_types);
    tcase_add_test(tc, request_uri_spt);
    tcase_add_test(tc, sip_header_spt);
    tcase_add_test(tc, session_case_spt);
    tcase_add_test(tc, sdp_plain);
    tcase_add_test(tc, sdp_multipart);
    tcase_add_test(tc, profile_part_indicator);
    tcase_add_test(tc, no_trigger_point_is_unconditional);
    tcase_add_test(tc, shared_sets_merged_in_priority_order);
    tcase_add_test(tc, shared_sets_file_and_errors);
    tcase_add_test(tc, service_profile_selection);
    tcase_add_test(tc, bad_regex_fails_parse);
    tcase_add_test(tc, malformed_documents_are_refused);
    tcase_add_test(tc, hostile_documents_do_not_crash);
    tcase_add_test(tc, next_continues_from_an_index);
    tcase_add_test(tc, hss_example_ifc);
    tcase_add_test(tc, long_header_value_matched_whole);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
