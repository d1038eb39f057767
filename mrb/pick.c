/*
 * pick.c - which MRF holds a conference, and what was sent where since the last status
 *
 * A conference is where an MRF's status says it is; one just created (its first party sent
 * a moment ago, no status names it yet) is where that party went, for mrb.affinity seconds.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "mrb.h"

#include <stdlib.h>
#include <string.h>

struct mrb_pin {
    size_t mrf;
    time_t at;
};

int mrb_pinned(struct mrb *b, const char *conf)
{
    if (!conf)
        return -1;
    int found = -1;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n && found < 0; i++)
        if (mrb_holds(&b->mrfs[i], conf))
            found = (int)i;
    struct mrb_pin *p = found < 0 ? ims_map_get(b->affinity, conf) : NULL;
    if (p && time(NULL) - p->at <= (time_t)b->affinity_s)
        found = (int)p->mrf;
    pthread_mutex_unlock(&b->lock);
    return found;
}

/* Forget the pins older than mrb.affinity (under the lock) */
static void expire(void *arg, const char *key, void *value)
{
    struct mrb *b = arg;
    struct mrb_pin *p = value;
    if (time(NULL) - p->at > (time_t)b->affinity_s) {
        ims_map_remove(b->affinity, key);
        free(p);
    }
}

void mrb_note_sent(struct mrb *b, size_t i, const char *conf)
{
    pthread_mutex_lock(&b->lock);
    b->mrfs[i].sent++;
    if (conf) {
        struct mrb_pin *p = ims_map_get(b->affinity, conf);
        if (!p && ims_map_size(b->affinity) < 100000 && (p = calloc(1, sizeof(*p)))) {
            int err = 0;
            ims_map_put(b->affinity, conf, p, &err);
            if (err) {
                free(p);
                p = NULL;
            }
        }
        if (p) {
            p->mrf = i;
            p->at = time(NULL);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

void mrb_pins_expire(struct mrb *b)
{
    pthread_mutex_lock(&b->lock);
    ims_map_foreach(b->affinity, expire, b);
    pthread_mutex_unlock(&b->lock);
}
