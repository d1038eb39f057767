/*
 * mrb_query.c - fuzz harness of the MRB's query mode (mrb/query.c: GET and POST
 * /api/v1/mrb/query, GET /api/v1/mrb/mrfs), with the choice behind it (mrb/select.c,
 * mrb/pick.c) and the MRFs' status documents that feed it (mrb_status_take() of mrb/poll.c)
 *
 * Input: parts separated by "%%" (tests/fuzz/fuzz.h), each either a request
 * (tests/fuzz/fuzz_http.h; from 127.0.0.1, a trusted peer) or the status answer of an MRF:
 *     STATUS <index of the MRF> <HTTP status>
 *     <body>
 * Three MRFs are configured (capacities 2, 10, 400), all down until a status says
 * otherwise; the state is reset after each input. Properties, besides ASan/UBSan: no
 * request fails the handler or gets a 5xx but 503, every body is JSON; a 200 to a query
 * names an MRF that was up and, unless the conference asked for is held by it, had room
 * (its sessions and the queries sent to it since its status fewer than its capacity, in
 * exact arithmetic), and a request_uri at that MRF.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_http.h"
#include "mrb.h"

static struct ims_daemon d;
static struct mrb b = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct ims_netlist trusted;

static const char *const mrfs[] = { "127.0.0.60=2", "127.0.0.61:5070=10", "127.0.0.62=400" };
#define NMRF (sizeof(mrfs) / sizeof(mrfs[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[200];
    char *nets[] = { "127.0.0.1/32", NULL };
    fuzz_logs("mrb");
    b.d = &d;
    b.affinity_s = 60;
    b.affinity = ims_map_create(false);
    for (size_t i = 0; i < NMRF; i++)
        FUZZ_ASSERT(mrb_mrf_parse(mrfs[i], &b.mrfs[i], err, sizeof(err)) == 0, "%s", err);
    b.n = NMRF;
    FUZZ_ASSERT(ims_netlist_parse(nets, &trusted, err, sizeof(err)) == 0, "%s", err);
    b.trusted = &trusted;
    if (!b.affinity || mrb_query_init(&b) != 0 || fuzz_nroutes != 2)
        abort();
    mrb_inline_metrics(&b);
    b.m_up = ims_gauge_new("mrb_mrfs_up", "MRFs up", NULL);
    return 0;
}

static void free_pin(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

/* Every MRF down with no status, no conference pinned */
static void reset(void)
{
    for (size_t i = 0; i < b.n; i++) {
        struct mrb_mrf *m = &b.mrfs[i];
        for (char **c = m->confs; c && *c; c++)
            free(*c);
        free(m->confs);
        m->confs = NULL;
        m->up = false;
        m->sessions = m->max_sessions = m->sent = 0;
    }
    ims_map_foreach(b.affinity, free_pin, NULL);
    ims_map_destroy(b.affinity);
    b.affinity = ims_map_create(false);
    if (!b.affinity)
        abort();
}

/* "STATUS <i> <status>\n<body>": that MRF's status answer */
static void status_part(const uint8_t *p, size_t len)
{
    char *text = fuzz_str(p, len);
    char *body = strchr(text, '\n');
    unsigned i = 0;
    int status = 0;
    if (body && sscanf(text, "STATUS %u %d", &i, &status) == 2) {
        body++;
        mrb_status_take(&b, i % b.n, status, body, len - (size_t)(body - text));
    }
    free(text);
}

/* Whether MRF @m had room, counted exactly (no unsigned arithmetic) */
static bool had_room(const struct mrb_mrf *m)
{
    uint64_t cap = m->max_sessions && m->max_sessions < m->capacity ? m->max_sessions
                                                                    : m->capacity;
    return (uint64_t)m->sessions + m->sent < cap;
}

/* The answer @resp to a query, judged against the MRFs as they were (@before) */
static void check_answer(const struct ims_http_response *resp, const struct mrb_mrf *before)
{
    if (resp->status != 200)
        return;
    json_error_t e;
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, &e);
    if (json_object_get(doc, "items")) {    /* GET /api/v1/mrb/mrfs */
        json_decref(doc);
        return;
    }
    const char *name = json_string_value(json_object_get(json_object_get(doc, "mrf"), "name"));
    const char *ruri = json_string_value(json_object_get(doc, "request_uri"));
    const char *conf = NULL;
    size_t i = 0;
    while (name && i < b.n && strcmp(b.mrfs[i].name, name) != 0)
        i++;
    FUZZ_ASSERT(name && i < b.n, "a 200 naming no MRF of ours: %.300s", resp->body);
    FUZZ_ASSERT(before[i].up, "MRF %s chosen while down", name);
    FUZZ_ASSERT(ruri && strncmp(ruri, "sip:", 4) == 0 && strstr(ruri, name) &&
                strcmp(ruri + strlen(ruri) - strlen(name), name) == 0,
                "request_uri %s not at %s", ruri ? ruri : "(none)", name);
    if (strncmp(ruri, "sip:conf=", 9) == 0)
        conf = ruri + 9;
    bool pinned = false;
    for (char **c = before[i].confs; conf && c && *c; c++)
        pinned |= strncmp(conf, *c, strlen(*c)) == 0 && conf[strlen(*c)] == '@';
    pinned |= conf && ims_map_size(b.affinity) > 0;     /* sent there before (pick.c) */
    FUZZ_ASSERT(pinned || had_room(&before[i]), "MRF %s chosen with %u sessions and %u sent "
                "for a capacity of %u (max_sessions %u)", name, before[i].sessions,
                before[i].sent, before[i].capacity, before[i].max_sessions);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part;
    size_t plen;
    for (int n = 0; n < 12 && fuzz_part(&data, &size, &part, &plen); n++) {
        if (plen >= 7 && memcmp(part, "STATUS ", 7) == 0) {
            status_part(part, plen);
            continue;
        }
        struct mrb_mrf before[NMRF];
        memcpy(before, b.mrfs, sizeof(before));
        struct ims_http_response resp;
        if (fuzz_http_one(part, plen, true, &resp))
            check_answer(&resp, before);
        fuzz_response_free(&resp);
    }
    reset();
    return 0;
}
