/*
 * media_mix.c - conference mixers: each member hears the sum of the others, saturated,
 * never itself (see media_int.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "media_int.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mrfc_mix(const int16_t *const *in, int16_t *const *out, size_t n, size_t len)
{
    for (size_t s = 0; s < len; s++) {
        int32_t sum = 0;
        for (size_t i = 0; i < n; i++)
            if (in[i])
                sum += in[i][s];
        for (size_t i = 0; i < n; i++) {
            int32_t v = sum - (in[i] ? in[i][s] : 0);
            out[i][s] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
}

void mrfc_mixer_run(struct mixer *x)
{
    for (size_t i = 0; i < x->n; i++) {
        x->ins[i] = x->members[i]->has_in ? x->members[i]->in : NULL;
        x->outs[i] = x->members[i]->mixout;
    }
    mrfc_mix(x->ins, x->outs, x->n, FRAME);
}

struct mixer *mrfc_mixer_find(struct mrfc_media *m, uint32_t id)
{
    for (struct mixer *x = m->mixers; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

void mrfc_mixer_new(struct mrfc_media *m, uint32_t id)
{
    struct mixer *x = calloc(1, sizeof(*x));
    if (!x) {
        ims_err("mrfc: out of memory for mixer %u", id);
        return;
    }
    x->id = id;
    x->next = m->mixers;
    m->mixers = x;
    ims_gauge_add(mrfc_mx.mixers, 1);
}

void mrfc_mixer_remove_leg(struct mixer *x, struct leg *l)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->members[i] != l)
            continue;
        x->members[i] = x->members[--x->n];
        break;
    }
    l->mixer = NULL;
}

static int mixer_add_leg(struct mixer *x, struct leg *l)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        struct leg **mem = realloc(x->members, cap * sizeof(*mem));
        if (mem)
            x->members = mem;
        const int16_t **ins = realloc(x->ins, cap * sizeof(*ins));
        if (ins)
            x->ins = ins;
        int16_t **outs = realloc(x->outs, cap * sizeof(*outs));
        if (outs)
            x->outs = outs;
        if (!mem || !ins || !outs)
            return -ENOMEM;
        x->cap = cap;
    }
    x->members[x->n++] = l;
    l->mixer = x;
    memset(l->mixout, 0, sizeof(l->mixout));
    return 0;
}

void mrfc_mixer_free(struct mrfc_media *m, struct mixer *x)
{
    for (struct mixer **p = &m->mixers; *p; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    while (x->n)
        mrfc_mixer_remove_leg(x, x->members[0]);
    free(x->members);
    free(x->ins);
    free(x->outs);
    free(x);
    ims_gauge_add(mrfc_mx.mixers, -1);
}

void mrfc_mixer_join(struct mrfc_media *m, struct leg *l, uint32_t mixer)
{
    struct mixer *x = mrfc_mixer_find(m, mixer);
    if (!x) {
        ims_warn("mrfc: leg %08x cannot join mixer %u: no such mixer", l->id, mixer);
        return;
    }
    if (l->mixer == x)
        return;
    if (l->mixer)
        mrfc_mixer_remove_leg(l->mixer, l);
    if (mixer_add_leg(x, l) != 0)
        ims_err("mrfc: out of memory joining leg %08x to mixer %u", l->id, mixer);
}
