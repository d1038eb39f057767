/*
 * diam_avp.c - typed AVP helpers
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_avp.h"
#include "log.h"

#include <errno.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

/* Seconds between the NTP epoch (1900) and the Unix epoch (1970), RFC 6733 Time format */
#define NTP_OFFSET 2208988800ULL

static int add_value(void *parent, enum ims_avp a, union avp_value *val)
{
    struct avp *avp = NULL;
    int rc = fd_msg_avp_new(ims_dict_avp(a), 0, &avp);
    if (rc == 0)
        rc = fd_msg_avp_setvalue(avp, val);
    if (rc == 0)
        rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rc) {
        ims_err("diameter: cannot add AVP %s: %s", ims_avp_name(a), strerror(rc));
        if (avp)
            fd_msg_free(avp);
        return -rc;
    }
    return 0;
}

int ims_avp_add_octets(void *parent, enum ims_avp a, const uint8_t *p, size_t len)
{
    union avp_value v = { .os = { .data = (uint8_t *)p, .len = len } };
    return add_value(parent, a, &v);
}

int ims_avp_add_str(void *parent, enum ims_avp a, const char *s)
{
    return ims_avp_add_octets(parent, a, (const uint8_t *)s, strlen(s));
}

int ims_avp_add_u32(void *parent, enum ims_avp a, uint32_t u)
{
    union avp_value v = { .u32 = u };
    return add_value(parent, a, &v);
}

int ims_avp_add_i32(void *parent, enum ims_avp a, int32_t i)
{
    union avp_value v = { .i32 = i };
    return add_value(parent, a, &v);
}

int ims_avp_add_u64(void *parent, enum ims_avp a, uint64_t u)
{
    union avp_value v = { .u64 = u };
    return add_value(parent, a, &v);
}

int ims_avp_add_i64(void *parent, enum ims_avp a, int64_t i)
{
    union avp_value v = { .i64 = i };
    return add_value(parent, a, &v);
}

int ims_avp_add_time(void *parent, enum ims_avp a, time_t t)
{
    uint32_t ntp = (uint32_t)((uint64_t)t + NTP_OFFSET);
    uint8_t b[4] = { (uint8_t)(ntp >> 24), (uint8_t)(ntp >> 16), (uint8_t)(ntp >> 8),
                     (uint8_t)ntp };
    return ims_avp_add_octets(parent, a, b, sizeof(b));
}

struct avp *ims_avp_add_group(void *parent, enum ims_avp a)
{
    struct avp *avp = NULL;
    int rc = fd_msg_avp_new(ims_dict_avp(a), 0, &avp);
    if (rc == 0)
        rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rc) {
        ims_err("diameter: cannot add grouped AVP %s: %s", ims_avp_name(a), strerror(rc));
        if (avp)
            fd_msg_free(avp);
        return NULL;
    }
    return avp;
}

int ims_avp_add_vsai(void *parent, enum ims_app app)
{
    struct avp *g = ims_avp_add_group(parent, IMS_AVP_VENDOR_SPECIFIC_APPLICATION_ID);
    if (!g)
        return -ENOMEM;
    int rc = ims_avp_add_u32(g, IMS_AVP_VENDOR_ID, IMS_VENDOR_3GPP);
    if (rc == 0)
        rc = ims_avp_add_u32(g, app == IMS_APP_RF ? IMS_AVP_ACCT_APPLICATION_ID
                                                  : IMS_AVP_AUTH_APPLICATION_ID,
                             ims_app_id(app));
    return rc;
}

int ims_avp_add_experimental(void *parent, uint32_t code)
{
    struct avp *g = ims_avp_add_group(parent, IMS_AVP_EXPERIMENTAL_RESULT);
    if (!g)
        return -ENOMEM;
    int rc = ims_avp_add_u32(g, IMS_AVP_VENDOR_ID, IMS_VENDOR_3GPP);
    if (rc == 0)
        rc = ims_avp_add_u32(g, IMS_AVP_EXPERIMENTAL_RESULT_CODE, code);
    return rc;
}

static bool is_kind(struct avp *avp, enum ims_avp a)
{
    struct dict_object *model = NULL;
    if (fd_msg_model(avp, &model) == 0 && model)
        return model == ims_dict_avp(a);
    /* not resolved against the dictionary: compare code and vendor */
    struct avp_hdr *h;
    struct dict_avp_data d;
    if (fd_msg_avp_hdr(avp, &h) != 0 || fd_dict_getval(ims_dict_avp(a), &d) != 0)
        return false;
    return h->avp_code == d.avp_code && h->avp_vendor == d.avp_vendor;
}

static struct avp *scan(void *from, enum msg_brw_dir dir, enum ims_avp a)
{
    struct avp *avp = NULL;
    if (fd_msg_browse(from, dir, &avp, NULL) != 0)
        return NULL;
    while (avp && !is_kind(avp, a))
        if (fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL) != 0)
            return NULL;
    return avp;
}

struct avp *ims_avp_find(void *parent, enum ims_avp a)
{
    return parent ? scan(parent, MSG_BRW_FIRST_CHILD, a) : NULL;
}

struct avp *ims_avp_next(struct avp *prev, enum ims_avp a)
{
    return prev ? scan(prev, MSG_BRW_NEXT, a) : NULL;
}

size_t ims_avp_count(void *parent, enum ims_avp a)
{
    size_t n = 0;
    for (struct avp *avp = ims_avp_find(parent, a); avp; avp = ims_avp_next(avp, a))
        n++;
    return n;
}

bool ims_avp_octets(struct avp *avp, const uint8_t **p, size_t *len)
{
    struct avp_hdr *h;
    if (!avp || fd_msg_avp_hdr(avp, &h) != 0 || !h->avp_value)
        return false;
    *p = h->avp_value->os.data;
    *len = h->avp_value->os.len;
    return true;
}

int ims_avp_get_str(void *parent, enum ims_avp a, char *buf, size_t len)
{
    const uint8_t *p;
    size_t n;
    if (len)
        buf[0] = '\0';
    if (!ims_avp_octets(ims_avp_find(parent, a), &p, &n))
        return -ENOENT;
    if (!len)
        return -E2BIG;
    size_t c = n < len - 1 ? n : len - 1;
    memcpy(buf, p, c);
    buf[c] = '\0';
    return n < len ? 0 : -E2BIG;
}

static int get_value(void *parent, enum ims_avp a, union avp_value *out)
{
    struct avp_hdr *h;
    struct avp *avp = ims_avp_find(parent, a);
    if (!avp || fd_msg_avp_hdr(avp, &h) != 0 || !h->avp_value)
        return -ENOENT;
    *out = *h->avp_value;
    return 0;
}

int ims_avp_get_u32(void *parent, enum ims_avp a, uint32_t *v)
{
    union avp_value val;
    int rc = get_value(parent, a, &val);
    if (rc == 0)
        *v = val.u32;
    return rc;
}

int ims_avp_get_i32(void *parent, enum ims_avp a, int32_t *v)
{
    union avp_value val;
    int rc = get_value(parent, a, &val);
    if (rc == 0)
        *v = val.i32;
    return rc;
}

int ims_avp_get_u64(void *parent, enum ims_avp a, uint64_t *v)
{
    union avp_value val;
    int rc = get_value(parent, a, &val);
    if (rc == 0)
        *v = val.u64;
    return rc;
}

int ims_avp_get_i64(void *parent, enum ims_avp a, int64_t *v)
{
    union avp_value val;
    int rc = get_value(parent, a, &val);
    if (rc == 0)
        *v = val.i64;
    return rc;
}

int ims_avp_get_time(void *parent, enum ims_avp a, time_t *t)
{
    const uint8_t *p;
    size_t n;
    if (!ims_avp_octets(ims_avp_find(parent, a), &p, &n))
        return -ENOENT;
    if (n != 4)
        return -EINVAL;
    uint32_t ntp = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    /* RFC 6733 4.3.1: values below 2^31 are past 2036 (the NTP era rolls over) */
    uint64_t secs = ntp < 0x80000000u ? (uint64_t)ntp + 0x100000000ULL : ntp;
    *t = (time_t)(secs - NTP_OFFSET);
    return 0;
}
