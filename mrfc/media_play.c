/*
 * media_play.c - what a leg plays (prompts and tones in a list, repeated, with delays and a
 * duration) and the digits it receives (RFC 4733 events, in-band DTMF), collected on
 * request (see media_int.h)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "media_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- play ---- */

void mrfc_play_end(struct mrfc_media *m, struct leg *l, int reason, bool report)
{
    struct play_state *ps = &l->play;
    if (!ps->active)
        return;
    ps->active = false;
    mrfc_tone_stop(ps->tone);
    ps->tone = NULL;
    if (report)
        mrfc_media_post_simple(m, l, MRFC_EV_PLAY_DONE, ps->req.cookie, reason);
    /* prompt and collect: the time for the first digit runs from now */
    struct collect_state *c = &l->col;
    if (c->active && c->wait_play) {
        c->wait_play = false;
        if (c->n == 0 && c->req.first_ms)
            c->deadline_us = mrfc_mono_ns() / 1000 + (uint64_t)c->req.first_ms * 1000;
    }
}

/* Start item ps->item (a tone gets its generator) */
static void play_item_start(struct play_state *ps)
{
    ps->pos = 0;
    mrfc_tone_stop(ps->tone);
    ps->tone = NULL;
    const struct mrfc_play_item *it = &ps->req.items[ps->item];
    if (!it->prompt)
        ps->tone = mrfc_tone_start(it->tone);
}

/* The current item is over: the next one, the next round, or the end */
static void play_next(struct mrfc_media *m, struct leg *l)
{
    struct play_state *ps = &l->play;
    if (++ps->item < ps->req.nitems) {
        play_item_start(ps);
        return;
    }
    ps->round++;
    if (ps->req.repeat && ps->round >= ps->req.repeat) {
        mrfc_play_end(m, l, MRFC_END_COMPLETE, true);
        return;
    }
    ps->item = 0;
    ps->delay_left = (uint32_t)((uint64_t)ps->req.delay_ms * MRFC_RATE / 1000);
    play_item_start(ps);
}

/* Up to @want samples of the current item into @out (counted as played); returns how many */
static size_t play_chunk(struct mrfc_media *m, struct leg *l, int16_t *out, size_t want)
{
    struct play_state *ps = &l->play;
    if (ps->delay_left) {
        size_t n = want < ps->delay_left ? want : ps->delay_left;
        memset(out, 0, n * sizeof(*out));
        ps->delay_left -= (uint32_t)n;
        ps->played += n;
        return n;
    }
    const struct mrfc_play_item *it = &ps->req.items[ps->item];
    size_t n = 0;
    if (it->prompt) {
        n = it->prompt->n - ps->pos;
        if (n > want)
            n = want;
        memcpy(out, it->prompt->samples + ps->pos, n * sizeof(*out));
        ps->pos += n;
        ps->played += n;              /* before an end is reported */
        if (ps->pos >= it->prompt->n)
            play_next(m, l);
    } else {
        int got = ps->tone ? tone_gen(ps->tone, out, (int)want) : 0;
        n = got > 0 ? (size_t)got : 0;
        ps->played += n;
        if (n < want)
            play_next(m, l);          /* a tone without repetition ended */
    }
    return n;
}

/* The next FRAME samples of the play of @l into @out (silence after its end) */
void mrfc_play_fill(struct mrfc_media *m, struct leg *l, int16_t *out)
{
    struct play_state *ps = &l->play;
    uint64_t limit = (uint64_t)ps->req.duration_ms * MRFC_RATE / 1000;
    size_t done = 0;
    int empty = 0;
    while (done < FRAME && ps->active) {
        size_t want = FRAME - done;
        if (limit) {
            if (ps->played >= limit) {
                mrfc_play_end(m, l, MRFC_END_DURATION, true);
                break;
            }
            if (want > limit - ps->played)
                want = (size_t)(limit - ps->played);
        }
        size_t n = play_chunk(m, l, out + done, want);
        done += n;
        /* items that give nothing (a failed tone generator) must not spin the thread */
        if (n == 0 && ++empty > 2 * MRFC_PLAY_MAX)
            mrfc_play_end(m, l, MRFC_END_COMPLETE, true);
    }
    memset(out + done, 0, (FRAME - done) * sizeof(*out));
}

void mrfc_play_start(struct mrfc_media *m, struct leg *l, const struct mrfc_play *p)
{
    mrfc_play_end(m, l, MRFC_END_STOPPED, true);
    if (p->nitems < 1 || p->nitems > MRFC_PLAY_MAX) {
        mrfc_media_post_simple(m, l, MRFC_EV_PLAY_DONE, p->cookie, MRFC_END_COMPLETE);
        return;
    }
    struct play_state *ps = &l->play;
    memset(ps, 0, sizeof(*ps));
    ps->req = *p;
    ps->active = true;
    play_item_start(ps);
}

/* ---- DTMF and collect ---- */

void mrfc_collect_end(struct mrfc_media *m, struct leg *l, int reason, bool report)
{
    if (!l->col.active)
        return;
    l->col.active = false;
    if (report)
        mrfc_media_post_simple(m, l, MRFC_EV_COLLECT_DONE, l->col.req.cookie, reason);
}

/* Add @d to the collection; ends it on a terminator or at max_digits */
static void collect_digit(struct mrfc_media *m, struct leg *l, char d, uint64_t now_us)
{
    struct collect_state *c = &l->col;
    if (d && strchr(c->req.terminators, d)) {
        mrfc_collect_end(m, l, MRFC_END_TERMINATOR, true);
        return;
    }
    c->digits[c->n++] = d;
    c->digits[c->n] = '\0';
    if (c->n >= c->req.max_digits) {
        mrfc_collect_end(m, l, MRFC_END_COMPLETE, true);
        return;
    }
    c->deadline_us = c->req.inter_ms ? now_us + (uint64_t)c->req.inter_ms * 1000 : 0;
}

static void on_digit(struct mrfc_media *m, struct leg *l, char d, int source)
{
    uint64_t now_us = mrfc_mono_ns() / 1000;
    ims_counter_inc(source == MRFC_DTMF_INBAND ? mrfc_mx.dtmf_inband : mrfc_mx.dtmf_4733);
    struct mrfc_media_event ev = { .kind = MRFC_EV_DTMF, .leg = l->id, .source = source };
    ev.digits[0] = d;
    mrfc_media_post(m, &ev);
    if (l->play.active && l->play.req.barge_in)
        mrfc_play_end(m, l, MRFC_END_BARGE_IN, true);
    if (l->rec.active && l->rec.req.dtmf_term) {
        mrfc_record_end(m, l, MRFC_END_TERMINATOR, true);
        return;                       /* the digit ended the recording: it is not collected */
    }
    if (l->col.active) {
        collect_digit(m, l, d, now_us);
        return;
    }
    size_t n = strlen(l->ahead);
    if (n < TYPEAHEAD) {
        l->ahead[n] = d;
        l->ahead[n + 1] = '\0';
    }
}

void mrfc_dtmf_inband(void *arg, const char *digits, int len)
{
    struct leg *l = arg;
    for (int i = 0; i < len; i++)
        on_digit(l->m, l, digits[i], MRFC_DTMF_INBAND);
}

void mrfc_collect_start(struct mrfc_media *m, struct leg *l, const struct mrfc_collect *c)
{
    mrfc_collect_end(m, l, MRFC_END_STOPPED, true);
    uint64_t now_us = mrfc_mono_ns() / 1000;
    struct collect_state *cs = &l->col;
    memset(cs, 0, sizeof(*cs));
    cs->req = *c;
    if (cs->req.max_digits < 1 || cs->req.max_digits > MRFC_DIGITS_MAX)
        cs->req.max_digits = MRFC_DIGITS_MAX;
    cs->active = true;
    cs->wait_play = c->after_play && l->play.active;
    cs->deadline_us = c->first_ms && !cs->wait_play ? now_us + (uint64_t)c->first_ms * 1000
                                                    : 0;
    char ahead[TYPEAHEAD + 1];
    memcpy(ahead, l->ahead, sizeof(ahead));
    l->ahead[0] = '\0';
    for (const char *d = c->clear ? "" : ahead; *d && cs->active; d++)
        collect_digit(m, l, *d, now_us);
}

/* A telephone event packet (RFC 4733): a new event (a new timestamp) is a digit */
void mrfc_dtmf_event(struct mrfc_media *m, struct leg *l, const struct mrfc_rtp_hdr *h)
{
    struct mrfc_te e;
    if (mrfc_te_parse(h->payload, h->len, &e) != 0) {
        ims_counter_inc(mrfc_mx.malformed);
        l->st.dropped++;
        return;
    }
    if (l->te_seen && h->ts == l->te_last_ts)
        return;                       /* the same event: an update or a retransmitted end */
    l->te_seen = true;
    l->te_last_ts = h->ts;
    char d = mrfc_te_digit(e.event);
    if (d)
        on_digit(m, l, d, MRFC_DTMF_RFC4733);
}

/* ---- record ---- */

void mrfc_record_end(struct mrfc_media *m, struct leg *l, int reason, bool report)
{
    struct record_state *r = &l->rec;
    if (!r->active)
        return;
    r->active = false;
    if (reason == MRFC_END_SILENCE && r->silence < r->n)
        r->n -= r->silence;           /* the final silence is not kept */
    if (report) {
        struct mrfc_media_event ev = { .kind = MRFC_EV_RECORD_DONE, .leg = l->id,
                                       .cookie = r->req.cookie, .reason = reason,
                                       .played_ms = (unsigned)(r->n * 1000 / MRFC_RATE),
                                       .samples = r->buf, .nsamples = r->n };
        r->buf = NULL;
        mrfc_media_post(m, &ev);
    }
    free(r->buf);
    r->buf = NULL;
}

void mrfc_record_start(struct mrfc_media *m, struct leg *l, const struct mrfc_record *req)
{
    mrfc_record_end(m, l, MRFC_END_STOPPED, true);
    struct record_state *r = &l->rec;
    memset(r, 0, sizeof(*r));
    r->req = *req;
    unsigned ms = req->max_ms && req->max_ms <= MRFC_RECORD_MAX_MS ? req->max_ms
                                                                    : MRFC_RECORD_MAX_MS;
    r->cap = (size_t)ms * MRFC_RATE / 1000;
    r->buf = malloc(r->cap * sizeof(*r->buf));
    r->active = true;
    if (!r->buf)
        mrfc_record_end(m, l, MRFC_END_STOPPED, true);
}

/* Whether 20 ms of @pcm are speech: their RMS above MRFC_VAD_LEVEL */
static bool is_speech(const int16_t *pcm)
{
    int64_t sum = 0;
    for (int i = 0; i < FRAME; i++)
        sum += (int64_t)pcm[i] * pcm[i];
    return sum > (int64_t)MRFC_VAD_LEVEL * MRFC_VAD_LEVEL * FRAME;
}

void mrfc_record_frame(struct mrfc_media *m, struct leg *l)
{
    struct record_state *r = &l->rec;
    bool speech = l->has_in && is_speech(l->in);
    if (!r->speech && !speech) {
        r->waited += FRAME;
        if (r->req.initial_ms && r->waited * 1000 >= (uint64_t)r->req.initial_ms * MRFC_RATE) {
            mrfc_record_end(m, l, MRFC_END_TIMEOUT, true);
            return;
        }
        if (r->req.vad_initial)
            return;                   /* nothing kept before the first speech */
    }
    r->speech |= speech;
    size_t n = r->cap - r->n < FRAME ? r->cap - r->n : FRAME;
    memcpy(r->buf + r->n, l->in, n * sizeof(*r->buf));
    r->n += n;
    r->silence = speech ? 0 : r->silence + n;
    if (r->n >= r->cap)
        mrfc_record_end(m, l, MRFC_END_DURATION, true);
    else if (r->speech && r->req.final_silence_ms &&
             r->silence * 1000 >= (uint64_t)r->req.final_silence_ms * MRFC_RATE)
        mrfc_record_end(m, l, MRFC_END_SILENCE, true);
}
