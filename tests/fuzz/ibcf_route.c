/*
 * ibcf_route.c - fuzz harness of the IBCF's topology hiding (ibcf/hide.c, ibcf/token.c,
 * ibcf/policy.c): the Route tokens a peer network sends back, and the Via, Record-Route and
 * Path edits around them
 *
 * Input: a SIP message (parsed by sofia-sip as nta does), as a peer network sends it. The
 * IBCF is 127.0.0.55:5060, the peer "mnc002", the key fixed; the dialog is the message's
 * Call-ID. Each input goes through:
 * 1. as a request from the peer: the tokens of its Route opened (ibcf_restore_routes), as
 *    border.c does before anything else; then the policy towards the home network;
 * 2. as a response from the peer to a request we hid: our Via, Record-Route and Path
 *    entries restored (ibcf_restore_vias, ibcf_restore_list) and the policy; the lists
 *    edited must parse again to the same entries;
 * 3. round trips with tokens this IBCF makes of the message's own lists: its Vias hidden
 *    then restored give the same Vias; its Record-Route sealed into our token entry
 *    (ibcf_hide_list, and ibcf_hide_response_rr when our plain entry is in it) and that
 *    entry, taken back as a Route, opens to exactly the entries sealed.
 * Properties besides ASan/UBSan: the results above, returns within each function's contract,
 * strings terminated within their buffers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include "fuzz.h"
#include "ibcf.h"

#define OUT_MAX 8192
#define HOST "127.0.0.55"

static const uint8_t key[IBCF_KEY_LEN] = { 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2,
                                           3, 5, 3, 6, 0, 2, 8, 7, 4, 7, 1, 3, 5, 2, 6, 6 };
static char out[OUT_MAX], saved[OUT_MAX], again[OUT_MAX];

#define PEER "mnc002"
#define DOMAIN "ims.mnc001.mcc001.3gppnetwork.org"
#define CALL_ID "fuzz-call-1@127.0.0.120"

/* IMS_FUZZ_SEEDS=<dir>: a request of the peer inside a dialog and one inside a
 * registration, with Route tokens of this key, written there */
static void write_seeds(const char *dir)
{
    const struct ibcf_th th = { .key = key, .peer = PEER, .call_id = CALL_ID, .host = HOST,
                                .port = 5060, .domain = DOMAIN };
    static const struct {
        const char *name, *method, *sealed;
        int kind;
    } s[] = {
        { "bye-in-dialog.sip", "BYE", "<sip:127.0.0.30:5060;lr>, <sip:127.0.0.10:5060;lr>",
          IBCF_TOKEN_DIALOG },
        { "invite-registered.sip", "INVITE", "<sip:127.0.0.10:5060;lr;ue=0123abcd>",
          IBCF_TOKEN_REGISTRATION },
        { "ack-no-hiding.sip", "ACK", "", IBCF_TOKEN_DIALOG },
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        char entry[OUT_MAX], path[4096];
        FUZZ_ASSERT(ibcf_th_entry(&th, s[i].kind, s[i].sealed, entry, sizeof(entry)) == 0,
                    "no entry");
        snprintf(path, sizeof(path), "%s/%s", dir, s[i].name);
        FILE *f = fopen(path, "w");
        if (!f)
            abort();
        fprintf(f, "%s sip:bob@127.0.0.120:5301 SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 10.2.0.5:5060;branch=z9hG4bKpeer%zu\r\n"
                "Route: %s, <sip:" HOST ";lr>\r\n"
                "Max-Forwards: 69\r\nFrom: <sip:carol@ims.mnc002.mcc001.3gppnetwork.org>"
                ";tag=c1\r\nTo: <sip:bob@" DOMAIN ">;tag=b1\r\nCall-ID: " CALL_ID "\r\n"
                "CSeq: 2 %s\r\nP-Asserted-Identity: <sip:carol@ims.mnc002.mcc001."
                "3gppnetwork.org>\r\nContent-Length: 0\r\n\r\n", s[i].method, i, entry,
                s[i].method);
        fclose(f);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("ibcf");
    sip_update_default_mclass(sip_extend_mclass(NULL));
    const char *seeds = getenv("IMS_FUZZ_SEEDS");
    if (seeds && *seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

static msg_t *parse(const uint8_t *data, size_t size, sip_t **sip)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, data, (ssize_t)size);
    *sip = msg ? sip_object(msg) : NULL;
    /* nta answers 400 to a message with errors (msg_has_error()): it never reaches us */
    if (*sip && ((*sip)->sip_request || (*sip)->sip_status) && !msg_has_error(msg) &&
        !(*sip)->sip_error)
        return msg;
    if (msg)
        msg_destroy(msg);
    return NULL;
}

/*
 * The entries of list @h printed as hide.c prints them, comma separated, into @buf; false
 * (and "(too long)") when the list is longer than hide.c takes (LIST_MAX; our own token
 * entry may be longer than the entries it takes of others, ENTRY_MAX)
 */
static bool printed(const void *list, char *buf, size_t len)
{
    const msg_header_t *h = list;
    char item[OUT_MAX];
    size_t off = 0;
    buf[0] = '\0';
    for (; h; h = h->sh_next) {
        issize_t n = msg_header_field_e(item, sizeof(item), h, 0);
        if (n <= 0 || (size_t)n >= sizeof(item) ||
            (off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", item)) >=
                len) {
            snprintf(buf, len, "(too long)");
            return false;
        }
    }
    return true;
}

static msg_hclass_t *const classes[] = { sip_via_class, sip_record_route_class,
                                         sip_path_class, sip_service_route_class };
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

/* The list of @hc in @msg printed into @buf ("" when none); false when what it prints
 * does not parse again to the same (sofia-sip reads some entries it cannot write back) */
static bool list_text(msg_t *msg, sip_t *sip, msg_hclass_t *hc, char *buf, size_t len)
{
    msg_header_t **slot = msg_hclass_offset(msg_mclass(msg), (msg_pub_t *)sip, hc);
    buf[0] = '\0';
    if (!slot || !*slot)
        return true;
    if (!printed(*slot, buf, len))
        return false;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    msg_header_t *h = msg_header_make(home, hc, buf);
    bool same = h && printed(h, again, sizeof(again)) && strcmp(buf, again) == 0;
    su_home_deinit(home);
    return same;
}

/* The lists the IBCF edits (Via, Record-Route, Path, Service-Route), as they would go on
 * the wire, parse again to the same entries; not checked for a list that came so (@came) */
static void wire_ok(msg_t *msg, sip_t *sip, const bool came[NCLASSES], const char *step)
{
    for (size_t i = 0; i < NCLASSES; i++)
        FUZZ_ASSERT(list_text(msg, sip, classes[i], out, sizeof(out)) || !came[i],
                    "%s: the %s we write does not read back the same: %s", step,
                    classes[i]->hc_name, out);
}

/* For each list, whether it reads back the same as it came */
static void lists_came(msg_t *msg, sip_t *sip, bool came[NCLASSES])
{
    for (size_t i = 0; i < NCLASSES; i++)
        came[i] = list_text(msg, sip, classes[i], out, sizeof(out));
}

/* An edit that failed left list @hc as it was (@before) */
static void unchanged(msg_t *msg, sip_t *sip, msg_hclass_t *hc, const char *before, int rc)
{
    char now[OUT_MAX];
    list_text(msg, sip, hc, now, sizeof(now));
    FUZZ_ASSERT(strcmp(now, before) == 0, "a failed edit (%d) changed the %s from\n%s\nto\n%s",
                rc, hc->hc_name, before, now);
}

/* 1. a request of the peer: its Route tokens opened */
static void from_peer(msg_t *msg, sip_t *sip, const struct ibcf_th *th)
{
    char why[300] = "";
    int tokens = -1;
    int rc = ibcf_restore_routes(sip, th, out, sizeof(out), &tokens, why, sizeof(why));
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOSPC, "restore_routes returned %d", rc);
    FUZZ_ASSERT(memchr(out, '\0', sizeof(out)) && tokens >= 0, "out or tokens not set");
    FUZZ_ASSERT(rc != -EINVAL || why[0], "a refusal without its reason");
    if (rc == 0 && out[0]) {            /* what tokens of ours seal is a Route list */
        su_home_t home[1] = { SU_HOME_INIT(home) };
        FUZZ_ASSERT(sip_route_make(home, out) != NULL, "restored Route does not parse: %s",
                    out);
        su_home_deinit(home);
    }
    ibcf_policy_apply(msg, sip, IBCF_IN, false, false, HOST);
}

/* 2. a response of the peer to a request we hid */
static void response_from_peer(msg_t *msg, sip_t *sip, const struct ibcf_th *th)
{
    bool came[NCLASSES];
    char before[OUT_MAX];
    lists_came(msg, sip, came);
    list_text(msg, sip, sip_record_route_class, before, sizeof(before));
    int rc = ibcf_restore_vias(msg, sip, "z9hG4bK-th-00", "SIP/2.0/UDP 127.0.0.30;branch=z1");
    FUZZ_ASSERT(rc == 0 || rc == -ENOENT || rc == -ENOSPC || rc == -EINVAL,
                "restore_vias %d", rc);
    rc = ibcf_restore_list(msg, sip, sip_record_route_class, th, "<sip:127.0.0.30;lr>");
    FUZZ_ASSERT(rc == 0 || rc == -ENOENT || rc == -ENOSPC || rc == -EINVAL,
                "restore_list %d", rc);
    if (rc != 0)
        unchanged(msg, sip, sip_record_route_class, before, rc);
    list_text(msg, sip, sip_path_class, before, sizeof(before));
    rc = ibcf_restore_list(msg, sip, sip_path_class, th, "");
    FUZZ_ASSERT(rc == 0 || rc == -ENOENT || rc == -ENOSPC || rc == -EINVAL,
                "restore_list (Path) %d", rc);
    if (rc != 0)
        unchanged(msg, sip, sip_path_class, before, rc);
    if (sip->sip_service_route)
        ibcf_push_plain(msg, sip, sip_service_route_class, th);
    ibcf_policy_apply(msg, sip, IBCF_IN, false, false, HOST);
    wire_ok(msg, sip, came, "response from the peer");
}

/* The Route made of our token entry at the top of @rr opens to @expect */
static void reopens(const sip_route_t *rr, const struct ibcf_th *th, const char *expect)
{
    FUZZ_ASSERT(rr && ibcf_th_token_of(th, rr->r_url), "our token entry is not on top");
    sip_t fake;
    memset(&fake, 0, sizeof(fake));
    fake.sip_route = (sip_route_t *)rr;
    char why[300] = "";
    int tokens = 0;
    int rc = ibcf_restore_routes(&fake, th, again, sizeof(again), &tokens, why, sizeof(why));
    FUZZ_ASSERT(rc == 0 && tokens == 1, "our own token does not open: %d %s", rc, why);
    FUZZ_ASSERT(strcmp(again, expect) == 0, "the token opened to\n%s\nnot\n%s", again, expect);
}

/* 3. round trips through tokens of ours */
static void round_trips(msg_t *msg, sip_t *sip, const struct ibcf_th *th)
{
    char before[OUT_MAX];
    bool came[NCLASSES];
    lists_came(msg, sip, came);
    bool vias_printed = printed(sip->sip_via, before, sizeof(before));
    int rc = ibcf_hide_vias(msg, sip, th, "z9hG4bK-th-fuzz", saved, sizeof(saved));
    if (rc == 0 && before[0] && vias_printed) {
        rc = ibcf_restore_vias(msg, sip, "z9hG4bK-th-fuzz", saved);
        FUZZ_ASSERT(rc == 0, "our Via is not found again: %d", rc);
        printed(sip->sip_via, again, sizeof(again));
        FUZZ_ASSERT(strcmp(before, again) == 0, "Vias restored as\n%s\nnot\n%s", again, before);
    }
    bool plain_in_rr = false;
    for (const sip_route_t *r = sip->sip_record_route; r; r = r->r_next)
        plain_in_rr |= ibcf_th_is_plain(th, r->r_url);
    if (sip->sip_status && plain_in_rr) {
        rc = ibcf_hide_response_rr(msg, sip, th, true);
        FUZZ_ASSERT(rc == 0 || rc == -ENOSPC || rc == -EINVAL, "hide_response_rr %d", rc);
        const sip_route_t *own = sip->sip_record_route;
        while (rc == 0 && own && !ibcf_th_token_of(th, own->r_url))
            own = own->r_next;
        FUZZ_ASSERT(rc != 0 || own, "no token entry in the Record-Route of the response");
        return;
    }
    rc = ibcf_hide_list(msg, sip, sip_record_route_class, th, IBCF_TOKEN_DIALOG, true, saved,
                        sizeof(saved));
    FUZZ_ASSERT(rc == 0 || rc == -ENOSPC || rc == -EINVAL, "hide_list %d", rc);
    if (rc == 0) {
        FUZZ_ASSERT(!sip->sip_record_route->r_next, "entries left beside our token");
        reopens(sip->sip_record_route, th, saved);
        wire_ok(msg, sip, came, "request to the peer");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sip_t *sip;
    msg_t *msg = parse(data, size, &sip);
    if (!msg)
        return 0;
    char call_id[256] = "";
    if (sip->sip_call_id)
        snprintf(call_id, sizeof(call_id), "%s", sip->sip_call_id->i_id);
    struct ibcf_th th = { .key = key, .peer = PEER, .call_id = call_id, .host = HOST,
                          .port = 5060, .domain = DOMAIN };
    if (sip->sip_request)
        from_peer(msg, sip, &th);
    else
        response_from_peer(msg, sip, &th);
    msg_destroy(msg);
    msg = parse(data, size, &sip);
    if (msg) {
        round_trips(msg, sip, &th);
        msg_destroy(msg);
    }
    return 0;
}
