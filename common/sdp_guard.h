/*
 * sdp_guard.h - sofia-sip's SDP parser behind a check of the lines it cannot take
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_SDP_GUARD_H
#define IMS_SDP_GUARD_H

#include <stddef.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

/*
 * ims_sdp_parse - sdp_parse(@home, @body, @len, @flags), for a body whose every line is
 * <type>=<value> and whose every m= line follows RFC 4566 (section 5.14):
 *   m=<media> SP <port>["/"<integer>] SP <proto> 1*(SP <fmt>)
 * with <media> and the first <fmt> of 15 characters at most and <proto> of 47 (room for the
 * MRF to repeat the line when it refuses the stream). sofia-sip's sdp_parse() (1.12.11)
 * never ends on some m= lines outside that grammar (a byte that is no token character in
 * the format list, a space before the line end): it allocates until the process runs out
 * of memory. Any SDP from the network goes through here.
 * Returns the parser as sdp_parse() does (to free with sdp_parser_free()), or NULL with
 * why said in @why when a line does not pass.
 */
sdp_parser_t *ims_sdp_parse(su_home_t *home, const char *body, size_t len, int flags,
                            char *why, size_t whylen);

#endif
