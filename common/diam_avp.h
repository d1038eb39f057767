/*
 * diam_avp.h - typed AVP helpers over freeDiameter messages, by enum ims_avp
 *
 * Adders append the AVP as the last child of @parent (a struct msg * or a grouped
 * struct avp *) and return 0 or a negative error. Getters look at the direct children of
 * @parent only; grouped AVPs are searched by passing the group as parent.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_AVP_H
#define IMS_DIAM_AVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "diam_dict.h"

struct avp;

int ims_avp_add_str(void *parent, enum ims_avp a, const char *s);
int ims_avp_add_octets(void *parent, enum ims_avp a, const uint8_t *p, size_t len);
int ims_avp_add_u32(void *parent, enum ims_avp a, uint32_t v);
int ims_avp_add_i32(void *parent, enum ims_avp a, int32_t v);
int ims_avp_add_u64(void *parent, enum ims_avp a, uint64_t v);
int ims_avp_add_i64(void *parent, enum ims_avp a, int64_t v);
int ims_avp_add_time(void *parent, enum ims_avp a, time_t t);   /* NTP seconds on the wire */

/* Create a grouped AVP, append it to @parent and return it for filling (NULL on error). */
struct avp *ims_avp_add_group(void *parent, enum ims_avp a);

/* Vendor-Specific-Application-Id { Vendor-Id 10415, Auth-Application-Id app } */
int ims_avp_add_vsai(void *parent, enum ims_app app);
/* Experimental-Result { Vendor-Id 10415, Experimental-Result-Code code } */
int ims_avp_add_experimental(void *parent, uint32_t code);

struct avp *ims_avp_find(void *parent, enum ims_avp a);
struct avp *ims_avp_next(struct avp *prev, enum ims_avp a);   /* next sibling of that kind */

/* Raw value of an OctetString-based AVP; false when @avp is NULL or has no value. */
bool ims_avp_octets(struct avp *avp, const uint8_t **p, size_t *len);

/* Find + copy as a NUL-terminated string. Returns 0, -ENOENT, or -E2BIG (truncated). */
int ims_avp_get_str(void *parent, enum ims_avp a, char *buf, size_t len);
int ims_avp_get_u32(void *parent, enum ims_avp a, uint32_t *v);
int ims_avp_get_i32(void *parent, enum ims_avp a, int32_t *v);
int ims_avp_get_u64(void *parent, enum ims_avp a, uint64_t *v);
int ims_avp_get_i64(void *parent, enum ims_avp a, int64_t *v);
/* A Time AVP (NTP seconds) as Unix time: 0, -ENOENT, or -EINVAL (not 4 bytes). */
int ims_avp_get_time(void *parent, enum ims_avp a, time_t *t);

/* Number of direct children of kind @a */
size_t ims_avp_count(void *parent, enum ims_avp a);

#endif
