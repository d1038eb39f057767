/*
 * mgcf_megaco.c - fuzz harness of the H.248.1 text codec (mgcf/megaco.c)
 *
 * Input: one message as a media gateway sends it. A refusal must be -EINVAL or -E2BIG
 * with a reason; a message read must be written again, and what is written must read back
 * and be written to the very same text (the writer's form is a fixpoint). Self-contained
 * (libFuzzer entry point only), named after the tests/fuzz convention (<daemon>_<name>.c,
 * seeds in tests/fuzz/corpus/<name>/).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include "fuzz.h"
#include "megaco.h"

static char one[1 << 20], two[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mgcf_mg_msg *m;
    char err[160];
    int rc = mgcf_mg_decode((const char *)data, size, &m, err, sizeof(err));
    if (rc) {
        FUZZ_CHECK(rc == -EINVAL || rc == -E2BIG);
        FUZZ_CHECK(m == NULL && err[0]);
        return 0;
    }
    FUZZ_CHECK(m->version >= 1 && m->version <= 3);
    FUZZ_CHECK(m->n_cmds <= MGCF_MG_CMDS_MAX && m->n_actions <= MGCF_MG_ACTIONS_MAX);
    int n1 = mgcf_mg_encode(m, one, sizeof(one));
    mgcf_mg_free(m);
    if (n1 < 0)
        fprintf(stderr, "encode %d\n", n1);
    FUZZ_CHECK(n1 > 0);
    rc = mgcf_mg_decode(one, (size_t)n1, &m, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n---\n%s\n", err, one);
    FUZZ_CHECK(rc == 0);
    int n2 = mgcf_mg_encode(m, two, sizeof(two));
    mgcf_mg_free(m);
    FUZZ_CHECK(n2 == n1 && memcmp(one, two, (size_t)n1) == 0);
    return 0;
}
