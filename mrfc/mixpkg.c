/*
 * mixpkg.c - the mixer control package (msc-mixer/1.0, RFC 6505) over the conferences of
 * conf.c
 *
 *   <createconference [conferenceid] [reserved-talkers] [reserved-listeners]/>
 *   <destroyconference conferenceid/>           its legs leave (unjoin-notify to whoever
 *                                               joined them), then <conferenceexit>
 *   <join id1 id2> [<stream media="audio" direction="sendrecv"/>] </join>
 *   <unjoin id1 id2/>
 *
 * An id is a connection id ("<tag>~<tag>" of a leg of an AS, sip:mrfc@) or a conference
 * id. A connection joined to a conference hears the others of it and not itself; two
 * connections joined to each other hear each other (a mix of two). A leg is in one mix at
 * a time. When a leg's dialog ends, the channel that joined it gets <unjoin-notify
 * status="2">.
 *
 * Not served (with the status RFC 6505 gives for it): modifyconference, modifyjoin and
 * audit (439), video (422, 423), n-best or controller mixing (421), a stream other than
 * audio in both directions (422), joining two conferences (411), active talker
 * subscriptions (425).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cfw.h"
#include "session.h"
#include "log.h"
#include "xml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS "urn:ietf:params:xml:ns:msc-mixer"

struct verdict {
    int status;
    char reason[200];
    const char *confid;           /* the conferenceid of a createconference response */
};

static int refuse(struct verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->status = status;
    return -1;
}

static void response(char *out, size_t cap, const struct verdict *v)
{
    char reason[400], id[200] = "";
    mrfc_xml_escape(v->reason, reason, sizeof(reason));
    if (v->confid)
        mrfc_xml_escape(v->confid, id, sizeof(id));
    snprintf(out, cap, "<mscmixer version=\"1.0\" xmlns=\"" NS "\"><response status=\"%d\" "
             "reason=\"%s\"%s%s%s/></mscmixer>", v->status, reason,
             v->confid ? " conferenceid=\"" : "", id, v->confid ? "\"" : "");
}

static void event(struct mrfc_chan *ch, const char *inner)
{
    char body[MRFC_PKG_BODY_MAX];
    snprintf(body, sizeof(body), "<mscmixer version=\"1.0\" xmlns=\"" NS "\"><event>%s"
             "</event></mscmixer>", inner);
    mrfc_cfw_event(ch, MRFC_PKG_MIXER, body);
}

void mrfc_mixer_unjoined(struct mrfc_chan *ch, const char *id1, const char *id2)
{
    char a[300], b[300], inner[700];
    mrfc_xml_escape(id1, a, sizeof(a));
    mrfc_xml_escape(id2, b, sizeof(b));
    snprintf(inner, sizeof(inner), "<unjoin-notify status=\"2\" reason=\"a connection or "
             "conference ended\" id1=\"%s\" id2=\"%s\"/>", a, b);
    event(ch, inner);
}

void mrfc_mixer_conf_exit(struct mrfc_chan *ch, const char *confid, int status)
{
    char id[300], inner[500];
    mrfc_xml_escape(confid, id, sizeof(id));
    snprintf(inner, sizeof(inner), "<conferenceexit conferenceid=\"%s\" status=\"%d\" "
             "reason=\"%s\"/>", id, status, status == 0 ? "conference destroyed"
                                                        : "conference ended");
    event(ch, inner);
}

/* ---- requests ---- */

/* A number attribute of at most @max, or absent; -1 with @v set */
static int count_attr(const struct ims_xml_node *n, const char *name, long max,
                      struct verdict *v)
{
    const char *a = ims_xml_attr(n, name);
    if (!a)
        return 0;
    char *end;
    long x = strtol(a, &end, 10);
    if (end == a || *end || x < 0)
        return refuse(v, 400, "%s=\"%.40s\": a number", name, a);
    if (x > max)
        return refuse(v, 420, "%s=\"%ld\": this MRF has %ld sessions at most", name, x, max);
    return 0;
}

static int conf_options(struct mrfc *mrfc, const struct ims_xml_node *cc, struct verdict *v)
{
    if (count_attr(cc, "reserved-talkers", mrfc->max_sessions, v) ||
        count_attr(cc, "reserved-listeners", mrfc->max_sessions, v))
        return -1;
    for (const struct ims_xml_node *c = cc->child; c; c = c->next) {
        if (ims_xml_is(c, "audio-mixing")) {
            const char *type = ims_xml_attr(c, "type");
            if ((type && strcmp(type, "nbest") != 0) || ims_xml_attr(c, "n"))
                return refuse(v, 421, "the audio mix is of every participant (nbest without "
                              "n)");
        } else if (ims_xml_is(c, "video-layouts") || ims_xml_is(c, "video-switch")) {
            return refuse(v, 423, "no video");
        } else if (ims_xml_is(c, "subscribe")) {
            return refuse(v, 425, "active talker notifications are not served");
        } else {
            return refuse(v, 400, "<%.40s> in createconference", c->name);
        }
    }
    return 0;
}

static void createconference(struct mrfc *mrfc, struct mrfc_chan *ch,
                             const struct ims_xml_node *cc, struct verdict *v)
{
    const char *id = ims_xml_attr(cc, "conferenceid");
    if (conf_options(mrfc, cc, v) != 0)
        return;
    if (id && (!*id || strlen(id) > 64 || strchr(id, '~'))) {
        refuse(v, 400, "conferenceid of 1 to 64 characters without '~'");
        return;
    }
    struct mrfc_conf *c;
    int rc = mrfc_conf_create(mrfc, id, true, false, ch, &c);
    if (rc == -EEXIST) {
        refuse(v, 405, "conferenceid already exists");
        return;
    }
    if (rc) {
        refuse(v, 419, "the media engine is overloaded");
        return;
    }
    v->status = 200;
    snprintf(v->reason, sizeof(v->reason), "conference created");
    v->confid = c->id;
}

static void destroyconference(struct mrfc *mrfc, const struct ims_xml_node *dc,
                              struct verdict *v)
{
    const char *id = ims_xml_attr(dc, "conferenceid");
    struct mrfc_conf *c = mrfc_conf_find(mrfc, id);
    if (!id) {
        refuse(v, 400, "destroyconference without conferenceid");
        return;
    }
    if (!c || !c->controlled || c->hidden) {
        refuse(v, 406, "conferenceid does not exist (as a conference made over Cr)");
        return;
    }
    struct mrfc_chan *owner = c->owner;
    char confid[sizeof(c->id)];
    snprintf(confid, sizeof(confid), "%s", c->id);
    mrfc_conf_destroy(mrfc, c);
    v->status = 200;
    snprintf(v->reason, sizeof(v->reason), "conference destroyed");
    if (owner)
        mrfc_mixer_conf_exit(owner, confid, 0);
}

/* What one id of a join names: a leg of an AS, or a conference */
struct party {
    struct mrfc_session *s;
    struct mrfc_conf *c;
};

static int party_of(struct mrfc *mrfc, const char *id, struct party *p, struct verdict *v)
{
    p->s = NULL;
    p->c = NULL;
    if (!id || !*id)
        return refuse(v, 400, "id1 and id2 are required");
    struct mrfc_session *s = mrfc_session_by_connid(mrfc, id);
    if (s && s->svc.kind == MRFC_SVC_MEDIA && s->leg_open && s->state != MRFC_S_ENDING) {
        p->s = s;
        return 0;
    }
    struct mrfc_conf *c = mrfc_conf_find(mrfc, id);
    if (c && !c->hidden) {
        p->c = c;
        return 0;
    }
    if (s || strchr(id, '~'))
        return refuse(v, 412, "connection %.130s does not exist%s", id,
                      s ? " as a leg of an AS (sip:mrfc@)" : "");
    return refuse(v, 406, "conference %.64s does not exist", id);
}

static int stream_options(const struct ims_xml_node *j, struct verdict *v)
{
    for (const struct ims_xml_node *c = j->child; c; c = c->next) {
        if (!ims_xml_is(c, "stream"))
            return refuse(v, 400, "<%.40s> in a join", c->name);
        const char *media = ims_xml_attr(c, "media");
        const char *dir = ims_xml_attr(c, "direction");
        if (!media || strcmp(media, "audio") != 0 || (dir && strcmp(dir, "sendrecv") != 0) ||
            c->child)
            return refuse(v, 422, "streams are audio, both ways, without volume, clamp, "
                          "region or priority");
    }
    return 0;
}

/* The two parties of a join or unjoin (a connection first when there is one) */
static int parties(struct mrfc *mrfc, const struct ims_xml_node *j, struct party *a,
                   struct party *b, struct verdict *v)
{
    if (party_of(mrfc, ims_xml_attr(j, "id1"), a, v) ||
        party_of(mrfc, ims_xml_attr(j, "id2"), b, v))
        return -1;
    if (a->c && b->c)
        return refuse(v, 411, "joining two conferences is not served");
    if (!a->s) {
        struct party t = *a;
        *a = *b;
        *b = t;
    }
    if (a->s == b->s)
        return refuse(v, 411, "a connection is not joined to itself");
    return 0;
}

static void join(struct mrfc *mrfc, struct mrfc_chan *ch, const struct ims_xml_node *j,
                 struct verdict *v)
{
    struct party a, b;
    if (parties(mrfc, j, &a, &b, v) || stream_options(j, v))
        return;
    if ((b.c && a.s->conf == b.c) || (b.s && a.s->conf && a.s->conf == b.s->conf)) {
        refuse(v, 408, "joining entities already joined");
        return;
    }
    if (a.s->conf || (b.s && b.s->conf)) {
        refuse(v, 411, "a connection is in one mix at a time: unjoin it first");
        return;
    }
    struct mrfc_conf *c = b.c;
    int rc = 0;
    if (!c)
        rc = mrfc_conf_create(mrfc, NULL, false, true, ch, &c);
    if (rc == 0)
        rc = mrfc_conf_join(a.s, c, ch);
    if (rc == 0 && b.s && (rc = mrfc_conf_join(b.s, c, ch)) != 0)
        mrfc_conf_leave(a.s, false);
    else if (rc && !b.c && c)
        mrfc_conf_destroy(mrfc, c);
    if (rc) {
        refuse(v, 411, "the media engine is overloaded");
        return;
    }
    v->status = 200;
    snprintf(v->reason, sizeof(v->reason), "joined");
    mrfc_session_log(a.s, IMS_LOG_INFO, "mrfc: %s joined to %s by channel %s", a.s->connid,
                     b.c ? b.c->id : b.s->connid, mrfc_cfw_chan_id(ch));
}

static void unjoin(struct mrfc *mrfc, const struct ims_xml_node *j, struct verdict *v)
{
    struct party a, b;
    if (parties(mrfc, j, &a, &b, v))
        return;
    bool joined = a.s->conf && ((b.c && a.s->conf == b.c) || (b.s && a.s->conf == b.s->conf));
    if (!joined) {
        refuse(v, 409, "joining entities not joined");
        return;
    }
    mrfc_conf_leave(a.s, false);
    v->status = 200;
    snprintf(v->reason, sizeof(v->reason), "unjoined");
}

void mrfc_mixer_control(struct mrfc *mrfc, struct mrfc_chan *ch, const char *body, size_t len,
                        char *resp, size_t cap)
{
    char err[160];
    struct verdict v = { 400, "", NULL };
    struct ims_xml_node *root = ims_xml_parse(body, len, err, sizeof(err));
    const char *version = root ? ims_xml_attr(root, "version") : NULL;
    const struct ims_xml_node *req = root ? root->child : NULL;
    if (!root)
        refuse(&v, 400, "not XML: %s", err);
    else if (!ims_xml_is(root, "mscmixer") || !version || strcmp(version, "1.0") != 0)
        refuse(&v, 400, "an <mscmixer version=\"1.0\"> document is needed");
    else if (!req || req->next)
        refuse(&v, 400, "one request in an <mscmixer>");
    else if (ims_xml_is(req, "createconference"))
        createconference(mrfc, ch, req, &v);
    else if (ims_xml_is(req, "destroyconference"))
        destroyconference(mrfc, req, &v);
    else if (ims_xml_is(req, "join"))
        join(mrfc, ch, req, &v);
    else if (ims_xml_is(req, "unjoin"))
        unjoin(mrfc, req, &v);
    else if (ims_xml_is(req, "modifyconference") || ims_xml_is(req, "modifyjoin") ||
             ims_xml_is(req, "audit"))
        refuse(&v, 439, "<%.40s> is not served", req->name);
    else
        refuse(&v, 400, "<%.40s> is no request of msc-mixer", req->name);
    if (v.status != 200)
        ims_info("mrfc: channel %s: mixer request answered %d: %s", mrfc_cfw_chan_id(ch),
                 v.status, v.reason);
    response(resp, cap, &v);
    ims_xml_free(root);
}

/* ---- a channel goes ---- */

struct owned {
    struct mrfc_chan *ch;
    struct mrfc_conf **list;
    size_t n, cap;
};

static void collect_owned(void *arg, const char *key, void *value)
{
    (void)key;
    struct owned *o = arg;
    struct mrfc_conf *c = value;
    if (c->owner != o->ch || !c->controlled || c->hidden)
        return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        struct mrfc_conf **l = realloc(o->list, cap * sizeof(*l));
        if (!l)
            return;                   /* left to the end of the daemon */
        o->list = l;
        o->cap = cap;
    }
    o->list[o->n++] = c;
}

void mrfc_mixer_chan_gone(struct mrfc *mrfc, struct mrfc_chan *ch)
{
    /* the joins it made stay; nobody is told of their end */
    for (struct mrfc_session *s = mrfc->sessions; s; s = s->next)
        if (s->joined_by == ch)
            s->joined_by = NULL;
    /* the conferences it made go (the other channels that joined legs to them are told) */
    struct owned o = { .ch = ch };
    ims_map_foreach(mrfc->confs, collect_owned, &o);
    for (size_t i = 0; i < o.n; i++) {
        ims_info("mrfc: conference %s ends with the channel that made it", o.list[i]->id);
        mrfc_conf_destroy(mrfc, o.list[i]);
    }
    free(o.list);
    /* the hidden mixes it made keep no owner */
    for (struct mrfc_session *s = mrfc->sessions; s; s = s->next)
        if (s->conf && s->conf->owner == ch)
            s->conf->owner = NULL;
}
