/*
 * utf8.h - checking and repairing UTF-8 text that came from the network
 *
 * Diameter UTF8String AVPs (freeDiameter does not check them), %-decoded URL paths and SIP
 * header values may hold any bytes; JSON (jansson) and XML need UTF-8.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_UTF8_H
#define IMS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ims_utf8_seq - the length (1 to 4) of the UTF-8 sequence at @s (at most @n bytes) when it
 * encodes a Unicode scalar value in its shortest form (no surrogate, nothing past U+10FFFF),
 * with the value in *cp (may be NULL); 0 when the bytes are not such a sequence.
 */
size_t ims_utf8_seq(const char *s, size_t n, uint32_t *cp);

/* Whether the @n bytes at @s are UTF-8 throughout. */
bool ims_utf8_valid(const char *s, size_t n);

/*
 * ims_utf8_repair - a malloc'd copy of the string @s where every byte that is not part of
 * a UTF-8 sequence is U+FFFD; NULL when out of memory.
 */
char *ims_utf8_repair(const char *s);

#endif
