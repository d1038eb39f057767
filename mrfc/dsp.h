/*
 * dsp.h - spandsp (G.711, tone generation, DTMF detection) as the MRF uses it
 *
 * spandsp's headers need some of each other and of the C library included first; this
 * header includes them in an order that compiles.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_DSP_H
#define MRFC_DSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/tone_generate.h>
#include <spandsp/dtmf.h>

/* A generator of tone @tone (enum mrfc_tone), or NULL; free with mrfc_tone_stop() */
tone_gen_state_t *mrfc_tone_start(int tone);
void mrfc_tone_stop(tone_gen_state_t *s);

#endif
