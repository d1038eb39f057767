/*
 * precondition.c - SIP preconditions (RFC 3312) at the MGCF: qos status lines (see
 * precondition.h); pure
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "precondition.h"
#include "sdp_guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>

/* ---- reading ---- */

static int dir_of(const char *s, enum mgcf_qos_dir *d)
{
    static const char *const names[] = { "none", "send", "recv", "sendrecv" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *d = (enum mgcf_qos_dir)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int strength_of(const char *s, enum mgcf_qos_strength *st)
{
    static const char *const names[] = { "none", "optional", "mandatory", "failure",
                                         "unknown" };
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *st = (enum mgcf_qos_strength)(MGCF_QOS_STRENGTH_NONE + i);
            return 0;
        }
    }
    return -EINVAL;
}

static struct mgcf_qos_seg *seg_of(struct mgcf_qos *q, const char *status_type)
{
    if (strcasecmp(status_type, "local") == 0)
        return &q->local;
    if (strcasecmp(status_type, "remote") == 0)
        return &q->remote;
    if (strcasecmp(status_type, "e2e") == 0)
        return &q->e2e;
    return NULL;
}

/*
 * One a=curr, a=des or a=conf line's value (@name the attribute) into @q: 1 when it was a
 * qos line taken, 0 when of another precondition type, -EINVAL when it cannot be read.
 */
static int status_line(struct mgcf_qos *q, const char *name, const char *value)
{
    char copy[128], *tok[5], *save = NULL;
    int n = 0;
    if (!value || strlen(value) >= sizeof(copy))
        return -EINVAL;
    snprintf(copy, sizeof(copy), "%s", value);
    for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 5)
            return -EINVAL;
        tok[n++] = t;
    }
    if (n == 0)
        return -EINVAL;
    if (strcasecmp(tok[0], "qos") != 0)
        return 0;
    bool des = strcasecmp(name, "des") == 0;
    if (n != (des ? 4 : 3))
        return -EINVAL;
    struct mgcf_qos_seg *seg = seg_of(q, tok[des ? 2 : 1]);
    enum mgcf_qos_dir d;
    if (!seg || dir_of(tok[n - 1], &d) < 0)
        return -EINVAL;
    if (des) {
        enum mgcf_qos_strength st;
        if (strength_of(tok[1], &st) < 0)
            return -EINVAL;
        seg->strength = st;
        seg->des = d;
    } else if (strcasecmp(name, "curr") == 0) {
        seg->has_curr = true;
        seg->curr = d;
    } else {
        seg->has_conf = true;
        seg->conf = d;
    }
    return 1;
}

static const sdp_media_t *first_audio(const sdp_session_t *s)
{
    for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next)
        if (m->m_type == sdp_media_audio)
            return m;
    return NULL;
}

int mgcf_qos_read(const char *sdp, size_t len, struct mgcf_qos *q)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    memset(q, 0, sizeof(*q));
    if (!sdp || len == 0 || len > 65536)
        return -EINVAL;
    /* not sdp_parse(): it never ends on some m= lines (see sdp_guard.h) */
    sdp_parser_t *p = ims_sdp_parse(home, sdp, len, 0, NULL, 0);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    const sdp_media_t *m = s ? first_audio(s) : NULL;
    int rc = m ? 0 : -EINVAL;
    for (const sdp_attribute_t *a = m ? m->m_attributes : NULL; a; a = a->a_next) {
        if (!a->a_name || (strcasecmp(a->a_name, "curr") != 0 &&
                           strcasecmp(a->a_name, "des") != 0 &&
                           strcasecmp(a->a_name, "conf") != 0))
            continue;
        int taken = status_line(q, a->a_name, a->a_value);
        if (taken < 0)
            q->bad++;
        else if (taken > 0)
            q->lines++;
    }
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

bool mgcf_qos_segmented_mandatory(const struct mgcf_qos *q)
{
    return q->local.strength == MGCF_QOS_MANDATORY || q->remote.strength == MGCF_QOS_MANDATORY;
}

enum mgcf_qos_dir mgcf_qos_mirror(enum mgcf_qos_dir d)
{
    unsigned send = d & MGCF_QOS_SEND, recv = d & MGCF_QOS_RECV;
    return (enum mgcf_qos_dir)((send ? MGCF_QOS_RECV : 0) | (recv ? MGCF_QOS_SEND : 0));
}

const char *mgcf_qos_dir_name(enum mgcf_qos_dir d)
{
    static const char *const names[] = { "none", "send", "recv", "sendrecv" };
    return (unsigned)d < 4 ? names[d] : "none";
}

/* ---- the call's state ---- */

void mgcf_precond_from_offer(struct mgcf_precond *p, const struct mgcf_qos *q, bool initial)
{
    /* the peer's local segment is our remote one, its send our recv */
    p->peer_curr = q->local.has_curr ? mgcf_qos_mirror(q->local.curr) : MGCF_QOS_NONE;
    if (!initial)
        return;
    p->peer_des = q->local.strength != MGCF_QOS_ABSENT ? mgcf_qos_mirror(q->local.des)
                                                        : MGCF_QOS_SENDRECV;
}

bool mgcf_precond_met(const struct mgcf_precond *p)
{
    return (p->peer_curr & p->peer_des) == p->peer_des;
}

int mgcf_precond_write(const struct mgcf_precond *p, char *buf, size_t size)
{
    const char *curr = mgcf_qos_dir_name(p->peer_curr), *des = mgcf_qos_dir_name(p->peer_des);
    int n = snprintf(buf, size,
                     "a=curr:qos local sendrecv\r\n"
                     "a=curr:qos remote %s\r\n"
                     "a=des:qos mandatory local sendrecv\r\n"
                     "a=des:qos mandatory remote %s\r\n", curr, des);
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    if (mgcf_precond_met(p))
        return n;
    int k = snprintf(buf + n, size - (size_t)n, "a=conf:qos remote %s\r\n", des);
    if (k < 0 || (size_t)k >= size - (size_t)n)
        return -ENOSPC;
    return n + k;
}

/* ---- the decision ---- */

enum mgcf_precond_use mgcf_precond_decide(const struct mgcf_precond_invite *in)
{
    if (!in->required && !in->supported)
        return MGCF_PRECOND_NO;
    const struct mgcf_qos *q = in->offer ? in->qos : NULL;
    if (q && q->e2e.strength == MGCF_QOS_MANDATORY)
        return MGCF_PRECOND_REFUSE_580;
    if (!q || !mgcf_qos_segmented_mandatory(q))
        return in->required ? MGCF_PRECOND_REFUSE_420 : MGCF_PRECOND_NO;
    if (!in->rel100)
        return MGCF_PRECOND_REFUSE_421;
    struct mgcf_precond p;
    mgcf_precond_from_offer(&p, q, true);
    return mgcf_precond_met(&p) ? MGCF_PRECOND_MET : MGCF_PRECOND_USE;
}
