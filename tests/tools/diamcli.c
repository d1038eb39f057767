/*
 * diamcli - a Diameter test client on the project's own Diameter plumbing
 *
 * Connects to one peer, sends requests built from JSON and prints each answer as one JSON
 * line: {"result":2001,"experimental":true,"name":"...","latency_ms":1.2,"answer":{...}}.
 *
 *   diamcli --peer hss.ims.mnc001.mcc001.3gppnetwork.org@127.0.0.40 --cmd UAR \
 *           --avps '{"User-Name":"alice@ims...","Public-Identity":"sip:alice@ims...",
 *                    "Visited-Network-Identifier":"ims..."}'
 *
 * AVP values: strings for OctetString-based AVPs ("hex:..." for raw bytes), integers for
 * the integer types (or their digits as a string, for Unsigned64 values past 2^63 - 1:
 * "18446744073709551615"), objects for grouped AVPs, arrays for repeated AVPs. Answers use
 * the same form. Used by the end-to-end tests and the benchmarks.
 *
 * Load: --users N runs the script (or the one --cmd) once per user, users --from F on,
 * --concurrency C users at a time; "%n" or "%05n" in a string value is the user's number.
 * --quiet prints only failures and, at the end, one JSON line of figures: requests, rate,
 * latency percentiles and the count of each result.
 *
 * TLS: --tls-cert, --tls-key and --tls-ca (all three) make the connection Diameter over
 * TLS (RFC 6733: TLS from the start, port 5868 unless --peer names one); the peer's
 * certificate must name its identity and come from the CA. Without them: plain TCP (3868).
 * --identity and --address choose the Origin-Host and the source address (the end-to-end
 * tests play foreign peers with them); --origin-host writes another name in the requests'
 * Origin-Host than the identity of the connection. --open-timeout-ms (default 10000): how
 * long to wait for the peer to accept the connection (CER/CEA) before giving up (exit 3).
 *
 * Sessions: a step with "session": "keep" is sent in the Session-Id of the same user's
 * previous step (CCR-UPDATE/TERMINATION, ACR INTERIM/STOP); "session_id": "name-%n" gives
 * the Session-Id itself (to continue a session in a later run).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam.h"
#include "log.h"
#include "loop.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <sofia-sip/su.h>

struct worker {
    long user;               /* the user this worker runs the script for */
    size_t step;             /* next step of the script */
    char session[256];       /* Session-Id of its last request (for "session": "keep") */
};

static struct {
    struct ims_loop *loop;
    json_t *script;          /* array of {"cmd", "avps", "dest_host", "expect"} */
    const char *peer_id;
    const char *realm;
    const char *dest_host;   /* default Destination-Host */
    long users, from, next_user, done, failures, concurrency, requests;
    struct worker *workers;
    double *lat;             /* latency of every answer, ms */
    long nlat;
    json_t *results;         /* result name -> count */
    bool quiet;
    int expect;
    long linger_ms;          /* stay connected this long after the last answer */
    long open_timeout_ms;    /* give up when the peer is not open by then (exit 3) */
    const char *origin_host; /* written in Origin-Host instead of the identity (a lie) */
    long open_poll_ms;       /* how often the peer's state is read before the first request */
    su_timer_t *linger;
    struct timespec t0;
} g = { .users = 1, .from = 1, .concurrency = 1, .expect = -1, .open_timeout_ms = 10000,
        .open_poll_ms = 100 };

/* ---- JSON -> AVPs ---- */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
}

static int add_json(void *parent, const char *name, json_t *v);

/* "18446744073709551615": digits only, no sign, within 64 bits (JSON numbers stop at
 * 2^63 - 1 in jansson). 0 or -EINVAL. */
static int decimal(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

static long g_user;   /* the user whose request is being built (for %n) */

/* "%n" -> the user number, "%05n" -> zero-padded to 5 digits, "%%" -> "%" */
static void expand(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < len; p++) {
        if (p[0] == '%' && p[1] == '%') {
            out[o++] = '%';
            p++;
            continue;
        }
        int width = 0;
        const char *q = p + 1;
        if (p[0] == '%') {
            while (*q >= '0' && *q <= '9')
                width = width * 10 + (*q++ - '0');
        }
        if (p[0] == '%' && *q == 'n') {
            o += (size_t)snprintf(out + o, len - o, "%0*ld", width, g_user);
            if (o >= len)
                o = len - 1;
            p = q;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

static int add_one(void *parent, struct dict_object *model, const char *name, json_t *v)
{
    struct dict_avp_data d;
    struct avp *avp = NULL;
    union avp_value val;
    uint8_t buf[512];
    fd_dict_getval(model, &d);
    if (fd_msg_avp_new(model, 0, &avp) != 0)
        return -ENOMEM;
    if (d.avp_basetype == AVP_TYPE_GROUPED) {
        if (!json_is_object(v)) {
            fprintf(stderr, "diamcli: %s is grouped: give an object\n", name);
            return -EINVAL;
        }
        const char *k;
        json_t *sub;
        json_object_foreach(v, k, sub)
            if (add_json(avp, k, sub) != 0)
                return -EINVAL;
    } else if (d.avp_basetype == AVP_TYPE_OCTETSTRING) {
        const char *s = json_string_value(v);
        if (!s) {
            fprintf(stderr, "diamcli: %s takes a string\n", name);
            return -EINVAL;
        }
        char expanded[4096];
        if (strchr(s, '%')) {
            expand(s, expanded, sizeof(expanded));
            s = expanded;
        }
        size_t len = strlen(s);
        if (strncmp(s, "hex:", 4) == 0) {
            len = 0;
            for (const char *p = s + 4; p[0] && p[1] && len < sizeof(buf); p += 2)
                buf[len++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
            val.os.data = buf;
        } else {
            val.os.data = (uint8_t *)s;
        }
        val.os.len = len;
        fd_msg_avp_setvalue(avp, &val);
    } else {
        json_int_t n;
        uint64_t u;
        if (json_is_string(v) && decimal(json_string_value(v), &u) == 0) {
            n = (json_int_t)u;   /* wraps to the same bits; u64 keeps all of them */
        } else if (json_is_integer(v)) {
            n = json_integer_value(v);
            u = (uint64_t)n;
        } else {
            fprintf(stderr, "diamcli: %s takes an integer (or its decimal digits as a "
                    "string, up to 18446744073709551615)\n", name);
            return -EINVAL;
        }
        switch (d.avp_basetype) {
        case AVP_TYPE_INTEGER32: val.i32 = (int32_t)n; break;
        case AVP_TYPE_INTEGER64: val.i64 = (int64_t)n; break;
        case AVP_TYPE_UNSIGNED32: val.u32 = (uint32_t)n; break;
        default: val.u64 = u; break;
        }
        fd_msg_avp_setvalue(avp, &val);
    }
    return fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp) ? -ENOMEM : 0;
}

/* AVP_BY_NAME_ALL_VENDORS walks the whole dictionary: remember the models found */
static struct dict_object *model_by_name(const char *name)
{
    static struct {
        char *name;
        struct dict_object *model;
    } cache[64];
    static int n;
    for (int i = 0; i < n; i++)
        if (strcmp(cache[i].name, name) == 0)
            return cache[i].model;
    struct dict_object *model = NULL;
    if (fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME_ALL_VENDORS, name, &model,
                       ENOENT) != 0)
        return NULL;
    if (n < 64 && (cache[n].name = strdup(name)) != NULL)
        cache[n++].model = model;
    return model;
}

static int add_json(void *parent, const char *name, json_t *v)
{
    struct dict_object *model = model_by_name(name);
    if (!model) {
        fprintf(stderr, "diamcli: unknown AVP '%s'\n", name);
        return -ENOENT;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            if (add_one(parent, model, name, item) != 0)
                return -EINVAL;
        return 0;
    }
    return add_one(parent, model, name, v);
}

/* ---- AVPs -> JSON ---- */

static json_t *avp_value_json(struct avp *avp, struct avp_hdr *h, struct dict_object *model);

/* The children of a message or grouped AVP as an object; repeated AVPs become arrays. */
static json_t *children_json(void *parent)
{
    json_t *o = json_object();
    struct avp *child = NULL;
    fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &child, NULL);
    for (; child; fd_msg_browse(child, MSG_BRW_NEXT, &child, NULL)) {
        struct avp_hdr *ch;
        struct dict_object *cm = NULL;
        struct dict_avp_data cd;
        fd_msg_avp_hdr(child, &ch);
        fd_msg_model(child, &cm);
        char unknown[32];
        const char *key = unknown;
        if (cm && fd_dict_getval(cm, &cd) == 0)
            key = cd.avp_name;
        else
            snprintf(unknown, sizeof(unknown), "AVP-%u", ch->avp_code);
        json_t *cv = avp_value_json(child, ch, cm);
        json_t *prev = json_object_get(o, key);
        if (!prev) {
            json_object_set_new(o, key, cv);
        } else if (json_is_array(prev)) {
            json_array_append_new(prev, cv);
        } else {
            json_t *arr = json_array();
            json_array_append(arr, prev);
            json_array_append_new(arr, cv);
            json_object_set_new(o, key, arr);
        }
    }
    return o;
}

static json_t *avp_value_json(struct avp *avp, struct avp_hdr *h, struct dict_object *model)
{
    struct dict_avp_data d;
    if (!model || fd_dict_getval(model, &d) != 0)
        return json_string("(unknown AVP)");
    if (d.avp_basetype == AVP_TYPE_GROUPED)
        return children_json(avp);
    if (!h->avp_value)
        return json_null();
    switch (d.avp_basetype) {
    case AVP_TYPE_OCTETSTRING: {
        const uint8_t *p = h->avp_value->os.data;
        size_t n = h->avp_value->os.len;
        bool printable = true;
        for (size_t i = 0; i < n; i++)
            if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
                printable = false;
        json_t *s = printable ? json_stringn((const char *)p, n) : NULL;
        if (s)
            return s;
        char *hex = malloc(n * 2 + 5);
        strcpy(hex, "hex:");
        for (size_t i = 0; i < n; i++)
            sprintf(hex + 4 + i * 2, "%02x", p[i]);
        s = json_string(hex);
        free(hex);
        return s;
    }
    case AVP_TYPE_INTEGER32: return json_integer(h->avp_value->i32);
    case AVP_TYPE_INTEGER64: return json_integer(h->avp_value->i64);
    case AVP_TYPE_UNSIGNED32: return json_integer(h->avp_value->u32);
    case AVP_TYPE_UNSIGNED64:
        if (h->avp_value->u64 > INT64_MAX) {
            char digits[24];
            snprintf(digits, sizeof(digits), "%llu", (unsigned long long)h->avp_value->u64);
            return json_string(digits);
        }
        return json_integer((json_int_t)h->avp_value->u64);
    default: return json_null();
    }
}

/* ---- sending ---- */

static void send_step(struct worker *w);

static enum ims_cmd cmd_by_name(const char *name)
{
    for (int i = 0; name && i < IMS_CMD_COUNT; i++)
        if (ims_cmd_is_request(i) && strcasecmp(name, ims_cmd_abbrev(i)) == 0)
            return i;
    return IMS_CMD_COUNT;
}

static void linger_end(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    ims_loop_stop(g.loop);
}

static void print_answer(const struct ims_diam_result *res)
{
    json_t *o = json_pack("{s:i, s:b, s:s, s:f}", "result", (int)res->code, "experimental",
                          res->experimental, "name",
                          res->error ? strerror(-res->error)
                                     : ims_diam_result_name(res->code, res->experimental),
                          "latency_ms", res->latency_s * 1000.0);
    if (res->answer)
        json_object_set_new(o, "answer", children_json(res->answer));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

/* the worker's next user, or false when every user has been started */
static bool next_user(struct worker *w)
{
    if (g.next_user >= g.from + g.users)
        return false;
    w->user = g.next_user++;
    w->step = 0;
    return true;
}

static void on_result(void *arg, const struct ims_diam_result *res)
{
    struct worker *w = arg;
    json_t *st = json_array_get(g.script, w->step - 1);
    json_t *want = json_object_get(st, "expect");
    int expect = want ? (int)json_integer_value(want) : g.expect;
    bool ok = !res->error && (expect < 0 || (int)res->code == expect);
    const char *name = res->error ? strerror(-res->error)
                                  : ims_diam_result_name(res->code, res->experimental);
    g.done++;
    g.lat[g.nlat++] = res->latency_s * 1000.0;
    json_object_set_new(g.results, name,
                        json_integer(json_integer_value(json_object_get(g.results, name)) + 1));
    if (!ok)
        g.failures++;
    if (!g.quiet || !ok)
        print_answer(res);
    if (w->step < json_array_size(g.script) || next_user(w)) {
        send_step(w);
        return;
    }
    if (g.done < g.requests)
        return;    /* other workers are still busy */
    if (g.linger_ms > 0 && (g.linger = su_timer_create(su_root_task(ims_loop_root(g.loop)),
                                                        g.linger_ms)) != NULL)
        su_timer_set(g.linger, linger_end, NULL);
    else
        ims_loop_stop(g.loop);
}

/* Replace the value of the request's Origin-Host (--origin-host): what a peer writes about
 * itself, which a server must not take for the identity of its connection. */
static int set_origin_host(struct msg *m, const char *host)
{
    struct avp *avp = ims_avp_find(m, IMS_AVP_ORIGIN_HOST);
    union avp_value v = { .os = { .data = (uint8_t *)host, .len = strlen(host) } };
    if (!avp || fd_msg_avp_setvalue(avp, &v) != 0) {
        fprintf(stderr, "diamcli: cannot set Origin-Host\n");
        return -EINVAL;
    }
    return 0;
}

/* Build and send step w->step of the script for w->user. */
static void send_step(struct worker *w)
{
    json_t *st = json_array_get(g.script, w->step++);
    enum ims_cmd cmd = cmd_by_name(json_string_value(json_object_get(st, "cmd")));
    if (cmd == IMS_CMD_COUNT) {
        fprintf(stderr, "diamcli: script step %zu: unknown or missing \"cmd\"\n", w->step);
        exit(2);
    }
    const char *dest = json_string_value(json_object_get(st, "dest_host"));
    const char *keep = json_string_value(json_object_get(st, "session"));
    const char *sid = json_string_value(json_object_get(st, "session_id"));
    char named[256];
    g_user = w->user;
    if (sid) {
        expand(sid, named, sizeof(named));
        sid = named;
    } else if (keep && strcmp(keep, "keep") == 0 && w->step > 1) {
        sid = w->session;
    }
    struct msg *m = ims_diam_request_in_session(cmd, g.realm, dest ? dest : g.dest_host, sid);
    if (!m) {
        fprintf(stderr, "diamcli: cannot build the request\n");
        exit(1);
    }
    const char *k;
    json_t *v;
    ims_diam_session_id(m, w->session, sizeof(w->session));
    if (g.origin_host && set_origin_host(m, g.origin_host) != 0)
        exit(1);
    json_object_foreach(json_object_get(st, "avps"), k, v)
        if (add_json(m, k, v) != 0)
            exit(2);
    int rc = ims_diam_send(&m, 0, on_result, w);
    if (rc) {
        fprintf(stderr, "diamcli: send failed: %s\n", strerror(-rc));
        exit(1);
    }
}

static void check_open(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)arg;
    static int tries;
    if (strcmp(ims_diam_peer_state(g.peer_id), "open") != 0) {
        if (++tries > g.open_timeout_ms / g.open_poll_ms) {
            fprintf(stderr, "diamcli: peer %s not open after %ld ms (state %s)\n", g.peer_id,
                    g.open_timeout_ms, ims_diam_peer_state(g.peer_id));
            exit(3);
        }
        su_timer_set(t, check_open, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &g.t0);
    for (long i = 0; i < g.concurrency; i++)
        if (next_user(&g.workers[i]))
            send_step(&g.workers[i]);
}

/* the applications the commands of the run belong to (advertised in the CER) */
static unsigned script_apps(void)
{
    unsigned apps = 0;
    for (size_t i = 0; i < json_array_size(g.script); i++) {
        enum ims_cmd c = cmd_by_name(json_string_value(json_object_get(json_array_get(g.script, i),
                                                                      "cmd")));
        if (c == IMS_CMD_COUNT) {
            fprintf(stderr, "diamcli: script step %zu: unknown or missing \"cmd\"\n", i + 1);
            exit(2);
        }
        apps |= IMS_APP_BIT(ims_cmd_app(c));
    }
    return apps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* one JSON line of figures for benchmarks */
static void print_figures(double secs)
{
    qsort(g.lat, (size_t)g.nlat, sizeof(double), cmp_double);
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    if (g.nlat) {
        p50 = g.lat[(long)(0.50 * (double)(g.nlat - 1))];
        p90 = g.lat[(long)(0.90 * (double)(g.nlat - 1))];
        p99 = g.lat[(long)(0.99 * (double)(g.nlat - 1))];
        max = g.lat[g.nlat - 1];
    }
    json_t *o = json_pack("{s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f, s:f, s:f}, s:O}", "users",
                          (json_int_t)g.users, "requests", (json_int_t)g.done, "failures",
                          (json_int_t)g.failures, "seconds", secs, "per_second",
                          secs > 0 ? (double)g.done / secs : 0.0, "latency_ms", "p50", p50,
                          "p90", p90, "p99", p99, "max", max, "results", g.results);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(o);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: diamcli --peer ID@ADDR[:PORT]\n"
            "               --cmd UAR|MAR|SAR|LIR|RTR|PPR|UDR|PUR|SNR|PNR|CCR|ACR\n"
            "               [--avps JSON] [--dest-host ID] [--realm R] [--identity ID]\n"
            "               [--address A] [--users N] [--from F] [--concurrency C]\n"
            "               [--expect CODE]\n"
            "               [--quiet] [--timeout-ms MS] [--linger-ms MS]\n"
            "               [--tls-cert PEM --tls-key PEM --tls-ca PEM [--tls-dh PEM]]\n"
            "               [--open-timeout-ms MS] [--origin-host HOST]\n"
            "               [--open-poll-ms MS]   (the first requests leave within MS of\n"
            "               the peer's opening; 100 by default)\n"
            "       diamcli --peer ID@ADDR[:PORT] --script FILE|-   (one request per line:\n"
            "               {\"cmd\":\"UAR\",\"avps\":{...},\"dest_host\":\"...\",\n"
            "               \"expect\":2001}, sent in order for each user; %%n in a value\n"
            "               is the user number; \"session\":\"keep\" reuses the Session-Id\n"
            "               of the user's previous step, \"session_id\":\"...\" sets one)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "peer", required_argument, NULL, 'p' }, { "cmd", required_argument, NULL, 'c' },
        { "avps", required_argument, NULL, 'a' }, { "dest-host", required_argument, NULL, 'd' },
        { "realm", required_argument, NULL, 'r' }, { "identity", required_argument, NULL, 'i' },
        { "address", required_argument, NULL, 'A' }, { "users", required_argument, NULL, 'n' },
        { "count", required_argument, NULL, 'n' }, { "from", required_argument, NULL, 'f' },
        { "concurrency", required_argument, NULL, 'C' },
        { "expect", required_argument, NULL, 'e' }, { "quiet", no_argument, NULL, 'q' },
        { "timeout-ms", required_argument, NULL, 't' }, { "debug", no_argument, NULL, 'D' },
        { "script", required_argument, NULL, 's' },
        { "linger-ms", required_argument, NULL, 'L' },
        { "tls-cert", required_argument, NULL, 'T' }, { "tls-key", required_argument, NULL, 'K' },
        { "tls-ca", required_argument, NULL, 'Q' }, { "tls-dh", required_argument, NULL, 'H' },
        { "open-timeout-ms", required_argument, NULL, 'O' },
        { "origin-host", required_argument, NULL, 'o' },
        { "open-poll-ms", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *tls_cert = NULL, *tls_key = NULL, *tls_ca = NULL, *tls_dh = NULL;
    const char *peer = NULL, *cmd = NULL, *avps = "{}", *identity = NULL;
    const char *address = "127.0.1.10", *script = NULL;
    unsigned timeout_ms = 3000;
    bool debug = false;
    g.realm = "ims.mnc001.mcc001.3gppnetwork.org";
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': peer = optarg; break;
        case 'c': cmd = optarg; break;
        case 'a': avps = optarg; break;
        case 'd': g.dest_host = optarg; break;
        case 'r': g.realm = optarg; break;
        case 'i': identity = optarg; break;
        case 'A': address = optarg; break;
        case 'n': g.users = atol(optarg); break;
        case 'f': g.from = atol(optarg); break;
        case 'C': g.concurrency = atol(optarg); break;
        case 'e': g.expect = atoi(optarg); break;
        case 'q': g.quiet = true; break;
        case 't': timeout_ms = (unsigned)atoi(optarg); break;
        case 'D': debug = true; break;
        case 's': script = optarg; break;
        case 'L': g.linger_ms = atol(optarg); break;
        case 'T': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'Q': tls_ca = optarg; break;
        case 'H': tls_dh = optarg; break;
        case 'O': g.open_timeout_ms = atol(optarg); break;
        case 'o': g.origin_host = optarg; break;
        case 'P': g.open_poll_ms = atol(optarg); break;
        default: usage();
        }
    }
    json_error_t jerr;
    if (script) {
        /* one JSON object per line; blank lines and lines starting with # are skipped */
        FILE *f = strcmp(script, "-") == 0 ? stdin : fopen(script, "r");
        char line[65536];
        g.script = json_array();
        while (f && fgets(line, sizeof(line), f)) {
            if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
                continue;
            json_t *st = json_loads(line, 0, &jerr);
            if (!json_is_object(st)) {
                fprintf(stderr, "diamcli: script line is not a JSON object: %s\n", jerr.text);
                return 2;
            }
            json_array_append_new(g.script, st);
        }
        if (!f || !json_array_size(g.script)) {
            fprintf(stderr, "diamcli: cannot read the script %s\n", script);
            return 2;
        }
    } else {
        json_t *a = json_loads(avps, 0, &jerr);
        if (!json_is_object(a)) {
            fprintf(stderr, "diamcli: --avps is not a JSON object: %s\n", jerr.text);
            return 2;
        }
        if (!cmd || cmd_by_name(cmd) == IMS_CMD_COUNT)
            usage();
        g.script = json_pack("[{s:s, s:o}]", "cmd", cmd, "avps", a);
    }
    if (!peer || g.users < 1 || g.concurrency < 1 || g.open_poll_ms < 1 ||
        g.open_poll_ms > 10000)
        usage();
    bool tls = tls_cert || tls_key || tls_ca;
    if (tls && !(tls_cert && tls_key && tls_ca)) {
        fprintf(stderr, "diamcli: TLS needs --tls-cert, --tls-key and --tls-ca\n");
        return 2;
    }
    if (g.concurrency > g.users)
        g.concurrency = g.users;
    g.next_user = g.from;
    g.requests = g.users * (long)json_array_size(g.script);
    g.workers = calloc((size_t)g.concurrency, sizeof(*g.workers));
    g.lat = calloc((size_t)g.requests, sizeof(*g.lat));
    g.results = json_object();
    if (!g.workers || !g.lat || !g.results)
        return 1;
    char peer_id[256], ident[256];
    snprintf(peer_id, sizeof(peer_id), "%.*s", (int)strcspn(peer, "@"), peer);
    g.peer_id = peer_id;
    if (!identity) {
        snprintf(ident, sizeof(ident), "diamcli.%s", g.realm);
        identity = ident;
    }
    ims_log_init("diamcli", debug ? IMS_LOG_DEBUG : IMS_LOG_WARN, IMS_LOG_KV, NULL);
    su_init();
    g.loop = ims_loop_create(100000);
    char *peers[] = { (char *)peer, NULL };
    struct ims_diam_conf dc = {
        .identity = identity, .realm = g.realm, .address = address, .port = 0,
        .peers = peers, .tc_timer = 2, .tw_timer = 30, .threads = 2,
        .request_timeout_ms = timeout_ms, .max_pending = 50000,
        .apps = script_apps(), .loop = g.loop, .tls = tls, .tls_cert = tls_cert,
        .tls_key = tls_key, .tls_ca = tls_ca, .tls_dh = tls_dh,
    };
    if (ims_diam_init(&dc) != 0 || ims_diam_start() != 0)
        return 1;
    su_timer_t *t = su_timer_create(su_root_task(ims_loop_root(g.loop)),
                                    (su_duration_t)g.open_poll_ms);
    su_timer_set(t, check_open, NULL);
    ims_loop_run(g.loop);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - g.t0.tv_sec) + (double)(t1.tv_nsec - g.t0.tv_nsec) / 1e9;
    if (g.quiet)
        print_figures(secs);
    su_timer_destroy(t);
    if (g.linger)
        su_timer_destroy(g.linger);
    ims_diam_stop();
    ims_loop_destroy(g.loop);
    json_decref(g.script);
    json_decref(g.results);
    free(g.workers);
    free(g.lat);
    return g.failures ? 1 : 0;
}
