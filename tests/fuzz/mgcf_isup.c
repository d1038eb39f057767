/*
 * mgcf_isup.c - fuzz harness of the ISUP codec (mgcf/isup.c)
 *
 * Input: one ISUP message from the CIC on, as M3UA or a SIP-I body delivers it. A message
 * that decodes must encode (unknown optional parameters left out) and decode again to the
 * same fields; one refused as of an unknown type must be of a type the codec does not know.
 * Self-contained (libFuzzer entry point only), named after the tests/fuzz convention
 * (<daemon>_<name>.c, seeds in tests/fuzz/corpus/<name>/).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include "fuzz.h"
#include "isup.h"

/* The encoder refuses digits in a number marked "address not available"; the decoder
 * reads them (lenient with what peers send). */
static bool digits_not_available(const struct mgcf_isup_number *n)
{
    return n->apri == ISUP_APRI_NOT_AVAILABLE && n->digits[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mgcf_isup_msg m, back;
    uint8_t buf[2 * 256 + 300];
    int rc = mgcf_isup_decode(data, size, &m);
    if (rc == -ENOTSUP) {
        FUZZ_CHECK(mgcf_isup_type_name(m.type) == NULL);
        return 0;
    }
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc)
        return 0;
    FUZZ_CHECK(mgcf_isup_type_name(m.type) != NULL);
    FUZZ_CHECK(strlen(m.called.digits) <= MGCF_ISUP_DIGITS_MAX);
    int n = mgcf_isup_encode(&m, buf, sizeof(buf));
    if (n == -EINVAL) {
        FUZZ_CHECK((mgcf_isup_has(&m, ISUP_PAR_CALLING) && digits_not_available(&m.calling)) ||
              (mgcf_isup_has(&m, ISUP_PAR_CONNECTED) && digits_not_available(&m.connected)) ||
              (mgcf_isup_has(&m, ISUP_PAR_GENERIC_NUMBER) && digits_not_available(&m.generic)));
        return 0;
    }
    FUZZ_CHECK(n > 0 && (size_t)n <= sizeof(buf));
    FUZZ_CHECK(mgcf_isup_decode(buf, (size_t)n, &back) == 0);
    m.unknown = 0;
    m.unknown_first = 0;
    FUZZ_CHECK(memcmp(&m, &back, sizeof(m)) == 0);
    return 0;
}
