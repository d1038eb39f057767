/*
 * diam_dest.c - servers in order of preference, Destination-Host (see diam_dest.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_dest.h"
#include "diam.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

int ims_dest_parse(struct ims_dest_list *l, const char *s)
{
    memset(l, 0, sizeof(*l));
    const char *p = s ? s : "";
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n == 0)
            break;
        if (l->n == IMS_DEST_MAX || n >= IMS_DEST_LEN)
            return -EINVAL;
        memcpy(l->host[l->n++], p, n);
        p += n;
    }
    return l->n ? 0 : -EINVAL;
}

const char *ims_dest_str(const struct ims_dest_list *l, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", l->host[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

bool ims_dest_has(const struct ims_dest_list *l, const char *host)
{
    for (size_t i = 0; host && i < l->n; i++)
        if (strcasecmp(l->host[i], host) == 0)
            return true;
    return false;
}

const char *ims_dest_pick_by(const struct ims_dest_list *l, const char *avoid,
                             bool (*is_open)(const char *host))
{
    for (size_t i = 0; i < l->n; i++) {
        if (avoid && strcasecmp(l->host[i], avoid) == 0)
            continue;
        if (is_open(l->host[i]))
            return l->host[i];
    }
    return NULL;
}

static bool peer_open(const char *host)
{
    return strcmp(ims_diam_peer_state(host), "open") == 0;
}

const char *ims_dest_pick(const struct ims_dest_list *l, const char *avoid)
{
    return ims_dest_pick_by(l, avoid, peer_open);
}

int ims_dest_set(struct msg *m, const char *host)
{
    struct avp *avp = ims_avp_find(m, IMS_AVP_DESTINATION_HOST);
    if (!avp)
        return ims_avp_add_str(m, IMS_AVP_DESTINATION_HOST, host);
    union avp_value v = { .os = { .data = (uint8_t *)host, .len = strlen(host) } };
    int rc = fd_msg_avp_setvalue(avp, &v);   /* copies the value */
    return -rc;
}
