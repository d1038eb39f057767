/*
 * mgcf_api.c - fuzz harness of the MGCF's circuit maintenance API (mgcf/api.c: GET
 * /api/v1/circuits, POST .../circuits/{trunk}/{cic}/block|unblock|reset, POST
 * .../trunks/{trunk}/reset), driven through the handler the MGCF registers, bearer token
 * check included, with the circuit state of mgcf/cic.c and the maintenance messages of
 * mgcf/isup_link.c behind it
 *
 * Input: requests (tests/fuzz/fuzz_http.h). Two trunks of the lab's kind ("pstn" CICs 1-31,
 * "intl" CICs 100-163); the work runs on a loop thread as in the daemon. The M3UA
 * association counts as active (the ISUP messages the API makes are encoded, then not sent:
 * no link), except while a request's first header is "X-Fuzz-Link: down". The circuits are
 * made idle again after each input. Properties, besides ASan/UBSan: no request fails the
 * handler or gets a 5xx but 503 (link down), every body is JSON; a 202 to block leaves the
 * circuit blocked here, to unblock with an UBL pending, to reset with an RSC pending.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz_http.h"
#include "fuzz_loop.h"
#include "mgcf.h"
#include "m3ua.h"

#define TOKEN "fuzz-token"

static struct ims_daemon d;
static struct mgcf m;
static struct mgcf_trunk trunks[2];
static const char *const trunk_items[] = { "pstn dpc=2 cics=1-31 prefix=+1",
                                           "intl dpc=3 cics=100-163" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[200];
    fuzz_logs("mgcf");
    d.loop = fuzz_loop_start(NULL);
    for (size_t i = 0; i < 2; i++)
        FUZZ_ASSERT(mgcf_trunk_parse(trunk_items[i], &trunks[i], err, sizeof(err)) == 0, "%s",
                    err);
    m.d = &d;
    m.trunks = trunks;
    m.n_trunks = 2;
    m.conf.opc = 1;
    snprintf(m.conf.api_token, sizeof(m.conf.api_token), TOKEN);
    if (!d.loop || mgcf_api_init(&m) != 0 || !fuzz_route_fn)
        abort();
    return 0;
}

/* Every circuit idle, unblocked, nothing pending */
static void idle_all(void)
{
    for (size_t i = 0; i < m.n_trunks; i++)
        for (size_t k = 0; k < mgcf_trunk_size(&trunks[i]); k++) {
            struct mgcf_circuit *cc = &trunks[i].circuits[k];
            uint16_t cic = cc->cic;
            memset(cc, 0, sizeof(*cc));
            cc->cic = cic;
            cc->state = MGCF_CIC_IDLE;
        }
}

/* The circuit a path names ("/api/v1/circuits/<trunk>/<cic>/<verb>"), or NULL */
static const struct mgcf_circuit *circuit_of(const char *path, char *verb, size_t vlen)
{
    char trunk[64], v[32];
    unsigned cic;
    char tail;
    if (sscanf(path, "/api/v1/circuits/%63[^/]/%u/%31[^/]%c", trunk, &cic, v, &tail) != 3)
        return NULL;
    snprintf(verb, vlen, "%s", v);
    for (size_t i = 0; i < m.n_trunks; i++)
        if (strcmp(trunks[i].name, trunk) == 0 && cic >= trunks[i].first &&
            cic <= trunks[i].last)
            return &trunks[i].circuits[cic - trunks[i].first];
    return NULL;
}

/* A 202 to a circuit's action left it as the action says */
static void check_action(const uint8_t *part, size_t len, int status)
{
    char *text = fuzz_str(part, len), path[512], verb[32] = "";
    if (sscanf(text, "POST %511s", path) == 1 && strchr(path, '?') == NULL) {
        const struct mgcf_circuit *cc = circuit_of(path, verb, sizeof(verb));
        if (cc && status == 202) {
            FUZZ_ASSERT(strcmp(verb, "block") != 0 || cc->local_blocked, "not blocked");
            FUZZ_ASSERT(strcmp(verb, "unblock") != 0 || cc->ubl_pending, "no UBL pending");
            FUZZ_ASSERT(strcmp(verb, "reset") != 0 || cc->rsc_pending, "no RSC pending");
        }
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part;
    size_t plen;
    for (int n = 0; n < 8 && fuzz_part(&data, &size, &part, &plen); n++) {
        const uint8_t *nl = memchr(part, '\n', plen);
        bool down = nl && (size_t)(part + plen - nl) > 18 && memcmp(nl + 1, "X-Fuzz-Link: down",
                                                                   17) == 0;
        __atomic_store_n(&m.isup_state, down ? MGCF_M3UA_DOWN : MGCF_M3UA_ACTIVE,
                         __ATOMIC_RELAXED);
        struct ims_http_response resp;
        if (fuzz_http_one(part, plen, down, &resp))
            check_action(part, plen, resp.status);
        fuzz_response_free(&resp);
    }
    idle_all();
    return 0;
}
