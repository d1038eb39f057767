/*
 * cic.c - trunks and circuits of the MGCF (see cic.h): pure state, no I/O
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cic.h"
#include "isup.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

/* A trunk's name goes into H.248 termination IDs (tdm/<name>/<cic>): an H.248 NAME */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MGCF_TRUNK_NAME_MAX || !isalpha((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_range(const char *s, struct mgcf_trunk *t)
{
    char a[16], b[16];
    unsigned long first, last;
    const char *dash = strchr(s, '-');
    if (!dash || (size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
        return -EINVAL;
    snprintf(a, sizeof(a), "%.*s", (int)(dash - s), s);
    snprintf(b, sizeof(b), "%s", dash + 1);
    if (parse_number(a, MGCF_ISUP_CIC_MAX, &first) || parse_number(b, MGCF_ISUP_CIC_MAX, &last) ||
        first > last)
        return -EINVAL;
    t->first = (uint16_t)first;
    t->last = (uint16_t)last;
    return 0;
}

static int parse_prefix(const char *s, struct mgcf_trunk *t)
{
    size_t n = strlen(s);
    if (s[0] != '+' || n < 2 || n > MGCF_TRUNK_PREFIX_MAX || strspn(s + 1, "0123456789") != n - 1 ||
        t->n_prefixes >= MGCF_TRUNK_PREFIXES)
        return -EINVAL;
    snprintf(t->prefixes[t->n_prefixes++], MGCF_TRUNK_PREFIX_MAX, "%s", s + 1);
    return 0;
}

/* One "key=value" word of a trunk item; @why names what is wrong */
static int parse_word(char *w, struct mgcf_trunk *t, bool *have_dpc, bool *have_cics,
                      const char **why)
{
    char *eq = strchr(w, '=');
    unsigned long v;
    if (!eq) {
        *why = "expected key=value (dpc=, cics=, prefix=)";
        return -EINVAL;
    }
    *eq = '\0';
    const char *val = eq + 1;
    if (strcmp(w, "dpc") == 0) {
        *why = "dpc: a point code 0-16777215";
        if (parse_number(val, 0xffffff, &v))
            return -EINVAL;
        t->dpc = (uint32_t)v;
        *have_dpc = true;
    } else if (strcmp(w, "cics") == 0) {
        *why = "cics: FIRST-LAST, circuit identification codes 0-4095";
        if (parse_range(val, t))
            return -EINVAL;
        *have_cics = true;
    } else if (strcmp(w, "prefix") == 0) {
        *why = "prefix: +digits (at most 15 digits, 8 prefixes)";
        return parse_prefix(val, t);
    } else {
        *why = "unknown key (dpc=, cics=, prefix=)";
        return -EINVAL;
    }
    return 0;
}

int mgcf_trunk_parse(const char *item, struct mgcf_trunk *t, char *err, size_t errlen)
{
    char buf[512], *save = NULL;
    const char *why = NULL;
    bool have_dpc = false, have_cics = false;
    memset(t, 0, sizeof(*t));
    snprintf(buf, sizeof(buf), "%s", item);
    char *w = strtok_r(buf, " \t", &save);
    if (!w || !name_ok(w)) {
        snprintf(err, errlen, "trunk '%s': the name must be a letter then letters, digits or "
                 "'_' (at most %d)", item, MGCF_TRUNK_NAME_MAX - 1);
        return -EINVAL;
    }
    snprintf(t->name, sizeof(t->name), "%s", w);
    while ((w = strtok_r(NULL, " \t", &save)) != NULL) {
        char word[128];
        snprintf(word, sizeof(word), "%s", w);
        if (parse_word(w, t, &have_dpc, &have_cics, &why) != 0) {
            snprintf(err, errlen, "trunk '%s': '%s': %s", t->name, word, why);
            return -EINVAL;
        }
    }
    if (!have_dpc || !have_cics) {
        snprintf(err, errlen, "trunk '%s': dpc= and cics= are required", t->name);
        return -EINVAL;
    }
    t->circuits = calloc(mgcf_trunk_size(t), sizeof(*t->circuits));
    if (!t->circuits) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < mgcf_trunk_size(t); i++)
        t->circuits[i].cic = (uint16_t)(t->first + i);
    return 0;
}

void mgcf_trunk_free(struct mgcf_trunk *t)
{
    free(t->circuits);
    t->circuits = NULL;
}

int mgcf_trunk_check_item(const char *value, char *err, size_t errlen)
{
    struct mgcf_trunk t;
    int rc = mgcf_trunk_parse(value, &t, err, errlen);
    mgcf_trunk_free(&t);
    return rc;
}

/* ---- lookups ---- */

struct mgcf_circuit *mgcf_trunk_circuit(struct mgcf_trunk *t, uint16_t cic)
{
    if (!t->circuits || cic < t->first || cic > t->last)
        return NULL;
    return &t->circuits[cic - t->first];
}

struct mgcf_trunk *mgcf_trunk_for(struct mgcf_trunk *trunks, size_t n, const char *digits)
{
    struct mgcf_trunk *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        struct mgcf_trunk *t = &trunks[i];
        if (t->n_prefixes == 0 && !best) {
            best = t;
            continue;
        }
        for (unsigned p = 0; p < t->n_prefixes; p++) {
            size_t len = strlen(t->prefixes[p]);
            if (strncmp(digits, t->prefixes[p], len) == 0 && (len > best_len || !best)) {
                best = t;
                best_len = len;
            }
        }
    }
    return best;
}

bool mgcf_cic_controlled(uint32_t own, uint32_t peer, uint16_t cic)
{
    return (own > peer) == (cic % 2 == 0);
}

bool mgcf_circuit_available(const struct mgcf_circuit *c)
{
    return c->state == MGCF_CIC_IDLE && !c->local_blocked && !c->remote_blocked &&
           !c->rsc_pending && !c->ubl_pending;
}

/* The next available circuit from t->next round, controlled by us or not (@controlled) */
static struct mgcf_circuit *search(struct mgcf_trunk *t, uint32_t own, bool controlled)
{
    size_t n = mgcf_trunk_size(t);
    for (size_t k = 0; k < n; k++) {
        size_t i = (t->next + k) % n;
        struct mgcf_circuit *c = &t->circuits[i];
        if (mgcf_circuit_available(c) && mgcf_cic_controlled(own, t->dpc, c->cic) == controlled) {
            t->next = (unsigned)((i + 1) % n);
            return c;
        }
    }
    return NULL;
}

struct mgcf_circuit *mgcf_trunk_select(struct mgcf_trunk *t, uint32_t own)
{
    if (!t->circuits)
        return NULL;
    struct mgcf_circuit *c = search(t, own, true);
    return c ? c : search(t, own, false);
}

void mgcf_circuit_take(struct mgcf_circuit *c, void *call)
{
    c->state = MGCF_CIC_BUSY;
    c->call = call;
}

void mgcf_circuit_release(struct mgcf_circuit *c, void *call)
{
    if (c->call != call)
        return;                 /* taken over meanwhile (reset, dual seizure) */
    c->call = NULL;
    if (c->state == MGCF_CIC_BUSY)
        c->state = MGCF_CIC_IDLE;
}

enum mgcf_seize mgcf_circuit_incoming(struct mgcf_circuit *c, uint32_t own, uint32_t peer,
                                      enum mgcf_cic_use use)
{
    if (c->local_blocked)
        return MGCF_SEIZE_BLOCKED;
    if (c->state == MGCF_CIC_BUSY) {
        if (use == MGCF_USE_UNSIGNALLED)
            return MGCF_SEIZE_MOVE;
        if (use != MGCF_USE_SEIZING)
            return MGCF_SEIZE_BUSY;
        return mgcf_cic_controlled(own, peer, c->cic) ? MGCF_SEIZE_DUAL_KEEP
                                                       : MGCF_SEIZE_DUAL_YIELD;
    }
    if (c->state == MGCF_CIC_RESET && c->rsc_pending)
        return MGCF_SEIZE_UNRESET;
    c->remote_blocked = false;          /* an IAM unblocks (Q.764 2.8.2.3 iv) */
    c->state = MGCF_CIC_IDLE;           /* the peer sees it idle: so it is */
    return MGCF_SEIZE_OK;
}

/* ---- reset ---- */

int mgcf_trunk_reset_plan(const struct mgcf_trunk *t, struct mgcf_reset_group *out, int max)
{
    int n = 0;
    for (unsigned cic = t->first; cic <= t->last; cic += MGCF_GROUP_MAX) {
        unsigned last = cic + MGCF_GROUP_MAX - 1 < t->last ? cic + MGCF_GROUP_MAX - 1 : t->last;
        if (n >= max)
            return -ENOSPC;
        out[n].first = (uint16_t)cic;
        out[n].range = (uint8_t)(last - cic);
        n++;
    }
    return n;
}

uint32_t mgcf_trunk_peer_reset(struct mgcf_trunk *t, uint16_t first, uint8_t range,
                               void **calls, unsigned *n_calls)
{
    uint32_t status = 0;
    *n_calls = 0;
    for (unsigned i = 0; i <= range && i < MGCF_GROUP_MAX; i++) {
        struct mgcf_circuit *c = mgcf_trunk_circuit(t, (uint16_t)(first + i));
        if (!c)
            continue;
        if (c->call)
            calls[(*n_calls)++] = c->call;
        c->call = NULL;
        c->state = MGCF_CIC_IDLE;
        c->remote_blocked = false;
        c->rsc_pending = false;
        if (c->local_blocked)
            status |= 1u << i;
    }
    return status;
}

unsigned mgcf_trunk_reset_done(struct mgcf_trunk *t, uint16_t first, uint8_t range,
                               uint32_t status)
{
    unsigned n = 0;
    for (unsigned i = 0; i <= range && i < MGCF_GROUP_MAX; i++) {
        struct mgcf_circuit *c = mgcf_trunk_circuit(t, (uint16_t)(first + i));
        if (!c)
            continue;
        c->rsc_pending = false;
        if (range > 0)
            c->remote_blocked = (status >> i) & 1;
        if (c->state == MGCF_CIC_RESET) {
            c->state = MGCF_CIC_IDLE;
            n++;
        }
    }
    return n;
}

void mgcf_trunk_count(const struct mgcf_trunk *t, struct mgcf_trunk_counts *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; t->circuits && i < mgcf_trunk_size(t); i++) {
        const struct mgcf_circuit *c = &t->circuits[i];
        if (c->state == MGCF_CIC_BUSY)
            out->busy++;
        else if (c->state == MGCF_CIC_RESET)
            out->reset++;
        else
            out->idle++;
        out->local_blocked += c->local_blocked;
        out->remote_blocked += c->remote_blocked;
    }
}

const char *mgcf_cic_state_name(enum mgcf_cic_state s)
{
    static const char *const names[] = { "reset", "idle", "busy" };
    return (unsigned)s < 3 ? names[s] : "?";
}
