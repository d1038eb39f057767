/*
 * tone.c - the call progress tones of ITU-T E.180 with spandsp's cadenced tone generator
 *
 * E.180 recommends a frequency of 425 Hz (range 400-450 Hz) at about -10 dBm0 for these
 * tones and gives ranges for their cadences; within those ranges this MRF uses the values
 * most of Europe uses (the CEPT / ETSI set):
 *
 *   tone        frequency   cadence
 *   dial        425 Hz      continuous
 *   ringing     425 Hz      1 s on, 4 s off
 *   busy        425 Hz      0.5 s on, 0.5 s off
 *   congestion  425 Hz      0.2 s on, 0.2 s off (faster than busy, as E.180 asks)
 *
 * and, not of E.180, the beep before a recording (RFC 6231 <record beep="true">): 1 kHz
 * for 250 ms, once.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "dsp.h"
#include "prompt.h"

#include <stdbool.h>
#include <string.h>

#define TONE_HZ 425
#define TONE_DBM0 (-10)

static const struct {
    const char *name;
    int hz;
    int on1, off1;                /* ms; off1 = 0 with repeat: continuous */
    bool repeat;
} tones[] = {
    [MRFC_TONE_DIAL] = { "dial", TONE_HZ, 1000, 0, true },
    [MRFC_TONE_RINGING] = { "ringing", TONE_HZ, 1000, 4000, true },
    [MRFC_TONE_BUSY] = { "busy", TONE_HZ, 500, 500, true },
    [MRFC_TONE_CONGESTION] = { "congestion", TONE_HZ, 200, 200, true },
    [MRFC_TONE_BEEP] = { "beep", 1000, 250, 0, false },
};

int mrfc_tone_by_name(const char *name)
{
    for (int t = MRFC_TONE_DIAL; t <= MRFC_TONE_BEEP; t++)
        if (strcmp(name, tones[t].name) == 0)
            return t;
    return MRFC_TONE_NONE;
}

const char *mrfc_tone_name(int tone)
{
    return tone >= MRFC_TONE_DIAL && tone <= MRFC_TONE_BEEP ? tones[tone].name : "none";
}

tone_gen_state_t *mrfc_tone_start(int tone)
{
    if (tone < MRFC_TONE_DIAL || tone > MRFC_TONE_BEEP)
        return NULL;
    tone_gen_descriptor_t *d = tone_gen_descriptor_init(NULL, tones[tone].hz, TONE_DBM0, 0, 0,
                                                        tones[tone].on1, tones[tone].off1, 0, 0,
                                                        tones[tone].repeat);
    if (!d)
        return NULL;
    tone_gen_state_t *s = tone_gen_init(NULL, d);   /* the state keeps a copy */
    tone_gen_descriptor_free(d);
    return s;
}

void mrfc_tone_stop(tone_gen_state_t *s)
{
    if (s)
        tone_gen_free(s);
}
