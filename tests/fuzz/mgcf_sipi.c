/*
 * mgcf_sipi.c - fuzz harness of the SIP-I body reader (mgcf/sipi.c: sofia-sip's
 * msg_multipart_parse() and the ISUP part)
 *
 * Input: a Content-Type value, a newline, then the body, as a SIP-I peer sends them. The
 * reader must return one of its documented codes; an ISUP part it decoded must make a body
 * again that reads back to the same message type and SDP.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>

#include <sofia-sip/sip_header.h>

#include "fuzz.h"
#include "sipi.h"

static void round_trip(su_home_t *home, const struct mgcf_sipi_body *b)
{
    char *sdp = b->sdp ? su_strndup(home, b->sdp, (isize_t)b->sdp_len) : NULL;
    sip_content_type_t *ct;
    sip_payload_t *pl;
    struct mgcf_sipi_body back;
    if (sdp && strlen(sdp) != b->sdp_len)
        sdp = NULL;                       /* a NUL in the SDP: not ours to write */
    int rc = mgcf_sipi_body_make(home, sdp, &b->isup, true, &ct, &pl);
    if (rc == -EINVAL)                    /* decoded leniently, refused by the encoder */
        return;
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(mgcf_sipi_body_read(home, ct, pl, &back) == 0);
    FUZZ_CHECK(back.has_isup && back.isup.type == b->isup.type);
    FUZZ_CHECK(!sdp || (back.sdp_len == b->sdp_len && memcmp(back.sdp, sdp, b->sdp_len) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || nl - data > 200)
        return 0;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    char *ctext = su_strndup(home, (const char *)data, (isize_t)(nl - data));
    sip_content_type_t *ct = ctext ? sip_content_type_make(home, ctext) : NULL;
    size_t len = size - (size_t)(nl - data) - 1;
    sip_payload_t *pl = sip_payload_create(home, nl + 1, (isize_t)len);
    if (ct && pl) {
        struct mgcf_sipi_body b;
        int rc = mgcf_sipi_body_read(home, ct, pl, &b);
        FUZZ_CHECK(rc == 0 || rc == -EMEDIUMTYPE || rc == -EINVAL || rc == -ENOMEM);
        FUZZ_CHECK(pl->pl_len == len && memcmp(pl->pl_data, nl + 1, len) == 0);  /* not changed */
        if (rc == 0 && b.has_isup)
            round_trip(home, &b);
    }
    su_home_deinit(home);
    return 0;
}
