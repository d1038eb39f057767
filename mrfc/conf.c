/*
 * conf.c - the conferences of the MRFC: a mixer of the media engine known by an identifier
 *
 * Three kinds share one table of identifiers: RFC 4240 conferences (sip:conf=<id>@...),
 * made by their first party and gone with their last; conferences an AS made over Cr
 * (createconference, RFC 6505), kept until destroyconference or the end of the channel that
 * made them; and the hidden mix of two connections an AS joined to each other. A leg is in
 * one mix at a time.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "session.h"
#include "cfw.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mrfc_conf *mrfc_conf_find(struct mrfc *mrfc, const char *id)
{
    return id && *id ? ims_map_get(mrfc->confs, id) : NULL;
}

/* A fresh identifier for a conference or a hidden mix */
static void fresh_id(struct mrfc *mrfc, const char *prefix, char *out, size_t len)
{
    do {
        snprintf(out, len, "%s%08lx%04lx", prefix, (unsigned long)random(),
                 (unsigned long)(random() & 0xffff));
    } while (ims_map_get(mrfc->confs, out));
}

int mrfc_conf_create(struct mrfc *mrfc, const char *id, bool controlled, bool hidden,
                     struct mrfc_chan *owner, struct mrfc_conf **out)
{
    if (id && *id && ims_map_get(mrfc->confs, id))
        return -EEXIST;
    struct mrfc_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (id && *id)
        snprintf(c->id, sizeof(c->id), "%s", id);
    else
        fresh_id(mrfc, hidden ? "join-" : "conf-", c->id, sizeof(c->id));
    c->controlled = controlled;
    c->hidden = hidden;
    c->owner = owner;
    int rc = mrfc_media_mixer_create(mrfc->media, &c->mixer);
    int err = 0;
    if (rc == 0)
        ims_map_put(mrfc->confs, c->id, c, &err);
    if (rc || err) {
        if (rc == 0)
            mrfc_media_mixer_destroy(mrfc->media, c->mixer);
        free(c);
        return rc ? rc : err;
    }
    if (!hidden)
        ims_gauge_add(mrfc->m_confs, 1);
    ims_info("mrfc: conference %s created (mixer %u%s)", c->id, c->mixer,
             controlled ? ", over Cr" : "");
    *out = c;
    return 0;
}

/* Free @c and its mixer (its legs have left it) */
static void conf_free(struct mrfc *mrfc, struct mrfc_conf *c)
{
    ims_info("mrfc: conference %s ended", c->id);
    if (mrfc_media_mixer_destroy(mrfc->media, c->mixer) != 0)
        ims_warn("mrfc: mixer %u of conference %s not destroyed: the media queue is full",
                 c->mixer, c->id);
    ims_map_remove(mrfc->confs, c->id);
    if (!c->hidden)
        ims_gauge_add(mrfc->m_confs, -1);
    free(c);
}

int mrfc_conf_join(struct mrfc_session *s, struct mrfc_conf *c, struct mrfc_chan *by)
{
    int rc = mrfc_media_join(s->mrfc->media, s->leg, c->mixer);
    if (rc)
        return rc;
    c->legs++;
    s->conf = c;
    s->joined_by = by;
    return 0;
}

/* The leg of @s leaves its mix (told to the channel that joined it when @notify) */
static void leave_one(struct mrfc_session *s, bool notify)
{
    struct mrfc_conf *c = s->conf;
    struct mrfc_chan *by = s->joined_by;
    s->conf = NULL;
    s->joined_by = NULL;
    if (s->leg_open)
        mrfc_media_unjoin(s->mrfc->media, s->leg);
    if (notify && by)
        mrfc_mixer_unjoined(by, s->connid, c->id);
    c->legs--;
}

void mrfc_conf_leave(struct mrfc_session *s, bool notify)
{
    struct mrfc_conf *c = s->conf;
    if (!c)
        return;
    if (!c->hidden) {
        leave_one(s, notify);
        if (c->legs == 0 && !c->controlled)
            conf_free(s->mrfc, c);
        return;
    }
    /* a hidden mix of two connections ends with either of them: one unjoin-notify */
    struct mrfc_session *o = s->mrfc->sessions;
    while (o && (o == s || o->conf != c))
        o = o->next;
    if (notify && s->joined_by)
        mrfc_mixer_unjoined(s->joined_by, s->connid, o ? o->connid : "");
    leave_one(s, false);
    if (o)
        leave_one(o, false);
    conf_free(s->mrfc, c);
}

void mrfc_conf_destroy(struct mrfc *mrfc, struct mrfc_conf *c)
{
    for (struct mrfc_session *s = mrfc->sessions; s; s = s->next) {
        if (s->conf != c)
            continue;
        struct mrfc_chan *by = s->joined_by;
        s->conf = NULL;
        s->joined_by = NULL;
        c->legs--;
        if (by)
            mrfc_mixer_unjoined(by, s->connid, c->id);
    }
    conf_free(mrfc, c);               /* the mixer's destruction unjoins the legs */
}

int mrfc_conf_init(struct mrfc *mrfc)
{
    mrfc->confs = ims_map_create(false);
    return mrfc->confs ? 0 : -ENOMEM;
}

static void free_conf(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

void mrfc_conf_fini(struct mrfc *mrfc)
{
    if (!mrfc->confs)
        return;
    ims_map_foreach(mrfc->confs, free_conf, NULL);
    ims_map_destroy(mrfc->confs);
    mrfc->confs = NULL;
}
