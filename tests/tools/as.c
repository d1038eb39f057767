/*
 * as - a SIP application server for tests of the S-CSCF's ISC interface
 *
 *   as --bind ADDR:PORT --mode MODE [--name NAME] [--record-route]
 *
 * MODE:
 *   proxy        route the request on along its Route set (back to the S-CSCF), relay
 *                the responses (an AS acting as a SIP proxy); 404 without a Route
 *   b2bua        MESSAGE: send a new MESSAGE (new Call-ID and From tag, same Route set
 *                back to the S-CSCF) and answer the first with its final status (an AS
 *                acting as a B2BUA: a new dialog that still carries the odi)
 *   uas:CODE     answer every request with CODE (an AS acting as terminating UA)
 *   silent       never answer (an AS that is down but whose host is up)
 *
 * Every request is one line on stdout:
 *   as=NAME method=INVITE ruri=... route=<first Route> odi=yes|no from=... callid=...
 * and, for REGISTER (third-party registration, answered 200 unless uas:CODE or silent),
 * its Content-Type and body in one line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include "log.h"
#include "loop.h"
#include "proxy.h"
#include "sip.h"

static struct {
    const char *name, *mode;
    char contact[96];
    bool record_route;
    int code;
    struct ims_sip *sip;
    struct ims_loop *loop;
} g;

static void usage(void)
{
    fprintf(stderr, "usage: as --bind ADDR:PORT --mode proxy|b2bua|uas:CODE|silent "
                    "[--name NAME] [--record-route]\n");
    exit(2);
}

static void print_request(const sip_t *sip)
{
    char ruri[256] = "", route[256] = "", from[256] = "";
    url_e(ruri, sizeof(ruri), sip->sip_request->rq_url);
    if (sip->sip_route)
        url_e(route, sizeof(route), sip->sip_route->r_url);
    if (sip->sip_from)
        url_e(from, sizeof(from), sip->sip_from->a_url);
    bool odi = false;
    for (const sip_route_t *r = sip->sip_route; r; r = r->r_next)
        odi |= url_has_param(r->r_url, "odi");
    printf("as=%s method=%s ruri=%s route=%s odi=%s from=%s callid=%s\n", g.name,
           sip->sip_request->rq_method_name, ruri, route[0] ? route : "-", odi ? "yes" : "no",
           from, sip->sip_call_id ? sip->sip_call_id->i_id : "-");
    if (sip->sip_request->rq_method == sip_method_register) {
        printf("as=%s register expires=%ld content-type=%s body=", g.name,
               sip->sip_expires ? (long)sip->sip_expires->ex_delta : -1L,
               sip->sip_content_type ? sip->sip_content_type->c_type : "-");
        const char *b = sip->sip_payload ? sip->sip_payload->pl_data : "";
        size_t n = sip->sip_payload ? sip->sip_payload->pl_len : 0;
        for (size_t i = 0; i < n; i++)
            putchar(b[i] == '\r' || b[i] == '\n' ? ' ' : b[i]);
        putchar('\n');
    }
}

/* ---- b2bua: a new MESSAGE through the same Route set ---- */

struct b2b {
    nta_incoming_t *irq;
};

static int on_b2b_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
    struct b2b *b = (struct b2b *)magic;
    int status = sip ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200)
        return 0;
    nta_incoming_treply(b->irq, status, sip_status_phrase(status), TAG_END());
    nta_incoming_destroy(b->irq);
    nta_outgoing_destroy(orq);
    free(b);
    return 0;
}

static int b2bua(nta_incoming_t *irq, const sip_t *sip)
{
    if (sip->sip_request->rq_method != sip_method_message || !sip->sip_route)
        return 501;
    struct b2b *b = calloc(1, sizeof(*b));
    if (!b)
        return 500;
    b->irq = irq;
    char callid[64], from[300], ruri[256];
    snprintf(callid, sizeof(callid), "b2b-%08lx%08lx", random(), random());
    url_e(ruri, sizeof(ruri), sip->sip_request->rq_url);
    char furl[256];
    url_e(furl, sizeof(furl), sip->sip_from->a_url);
    snprintf(from, sizeof(from), "<%s>;tag=b2b%lx", furl, random());
    msg_t *orig = nta_incoming_getrequest(irq);
    sip_t *os = sip_object(orig);
    sip_route_t *routes = sip_route_dup(msg_home(orig), os->sip_route->r_next);
    nta_outgoing_t *orq = nta_outgoing_tcreate(
        ims_sip_leg(g.sip),
        on_b2b_answer, (nta_outgoing_magic_t *)b, NULL, SIP_METHOD_MESSAGE,
        (url_string_t *)ruri, SIPTAG_CALL_ID_STR(callid), SIPTAG_FROM_STR(from),
        SIPTAG_TO(sip->sip_to), SIPTAG_ROUTE(routes),
        TAG_IF(sip_p_asserted_identity(sip),
               SIPTAG_HEADER((sip_header_t const *)sip_p_asserted_identity(sip))),
        TAG_IF(sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
        TAG_IF(sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)), TAG_END());
    msg_destroy(orig);
    if (!orq) {
        free(b);
        return 500;
    }
    printf("as=%s b2bua new-callid=%s\n", g.name, callid);
    return 0;
}

static int on_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
    (void)arg;
    print_request(sip);
    if (strcmp(g.mode, "silent") == 0) {
        nta_incoming_bind(irq, NULL, NULL);
        return 0;                  /* kept, never answered */
    }
    if (g.code) {
        /* a terminating UA: its answer, with a Contact (2xx to INVITE opens a dialog); the
         * ACK is absorbed, a BYE answered 200 */
        if (sip->sip_request->rq_method == sip_method_ack)
            return 0;
        int code = sip->sip_request->rq_method == sip_method_bye ? 200 : g.code;
        nta_incoming_treply(irq, code, sip_status_phrase(code), SIPTAG_CONTACT_STR(g.contact),
                            TAG_END());
        nta_incoming_destroy(irq);
        return 0;
    }
    if (sip->sip_request->rq_method == sip_method_register)
        return 200;                /* a third-party registration: noted */
    if (strcmp(g.mode, "b2bua") == 0)
        return b2bua(irq, sip);
    struct ims_ptx *tx = ims_ptx_create(g.sip, irq);
    if (!tx)
        return 500;
    int st = ims_ptx_validate(tx);
    if (!st && !ims_ptx_sip(tx)->sip_route)
        st = 404;                  /* nothing to route back to: not from an S-CSCF */
    if (!st)
        st = ims_ptx_forward(tx, NULL, NULL, g.record_route);
    if (st)
        ims_ptx_reply(tx, st, NULL, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "bind", required_argument, NULL, 'b' }, { "mode", required_argument, NULL, 'm' },
        { "name", required_argument, NULL, 'n' }, { "record-route", no_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    const char *bind = NULL;
    int o;
    g.name = "as";
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': bind = optarg; break;
        case 'm': g.mode = optarg; break;
        case 'n': g.name = optarg; break;
        case 'r': g.record_route = true; break;
        default: usage();
        }
    }
    if (!bind || !g.mode)
        usage();
    if (strncmp(g.mode, "uas:", 4) == 0) {
        g.code = atoi(g.mode + 4);
        if (g.code < 200 || g.code > 699)
            usage();
    } else if (strcmp(g.mode, "proxy") && strcmp(g.mode, "b2bua") && strcmp(g.mode, "silent")) {
        usage();
    }
    char addr[64];
    const char *colon = strrchr(bind, ':');
    if (!colon || (size_t)(colon - bind) >= sizeof(addr))
        usage();
    snprintf(addr, sizeof(addr), "%.*s", (int)(colon - bind), bind);
    snprintf(g.contact, sizeof(g.contact), "<sip:%s>", bind);
    setvbuf(stdout, NULL, _IOLBF, 0);
    ims_log_init("as", IMS_LOG_WARN, IMS_LOG_KV, NULL);
    su_init();
    g.loop = ims_loop_create(64);
    char *tps[] = { "udp", "tcp", NULL };
    struct ims_sip_conf conf = { .address = addr, .port = atoi(colon + 1), .transports = tps,
                                 .node = g.name };
    g.sip = g.loop ? ims_sip_create(ims_loop_root(g.loop), &conf, on_request, NULL) : NULL;
    if (!g.sip) {
        fprintf(stderr, "as: cannot listen on %s\n", bind);
        return 1;
    }
    ims_loop_run(g.loop);              /* until SIGTERM or SIGINT */
    ims_sip_destroy(g.sip);
    su_deinit();
    return 0;
}
