/*
 * prompt.h - the prompts of the MRF: WAV files loaded once into memory as 8 kHz 16-bit mono,
 * and the E.180 tones
 *
 * Every file of mrfc.prompts_dir that libsndfile reads (WAV, and whatever else it knows) is
 * read at start, mixed down to mono and resampled to 8 kHz; the media thread then plays from
 * memory and nothing touches the disk while calls run. A prompt is named by a play= URI:
 *
 *   file:///<prompts_dir>/<name>.wav   the file itself (the path must be inside the folder)
 *   <name>.wav, <name>                 a file of the folder by name
 *   tone:dial|ringing|busy|congestion  a tone of ITU-T E.180 (generated, no file)
 *   tone:beep                          1 kHz for 250 ms
 *
 * Other schemes (http:, https:) are not fetched.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_PROMPT_H
#define MRFC_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#define MRFC_RATE 8000            /* samples a second of everything the media thread handles */

struct mrfc_prompt {
    char name[128];               /* file name within the folder */
    int16_t *samples;             /* 8 kHz mono */
    size_t n;                     /* samples */
};

/* The tones of ITU-T E.180 (tone.c) */
enum mrfc_tone {
    MRFC_TONE_NONE = 0,
    MRFC_TONE_DIAL,
    MRFC_TONE_RINGING,
    MRFC_TONE_BUSY,
    MRFC_TONE_CONGESTION,
    MRFC_TONE_BEEP,               /* not E.180: 1 kHz, 250 ms, once (before a recording) */
};

struct mrfc_prompts;

/*
 * mrfc_prompts_load - read every sound file of folder @dir (not its sub-folders; files whose
 * names start with '.' are skipped); @dir NULL or "" gives an empty set. @max_bytes bounds
 * the memory of all samples. A file that cannot be read or converted is logged and skipped;
 * a folder that cannot be read, or prompts beyond @max_bytes, fail the load.
 * Returns the set, or NULL with @err filled.
 */
struct mrfc_prompts *mrfc_prompts_load(const char *dir, size_t max_bytes, char *err,
                                       size_t errlen);
void mrfc_prompts_free(struct mrfc_prompts *p);
size_t mrfc_prompts_count(const struct mrfc_prompts *p);
size_t mrfc_prompts_bytes(const struct mrfc_prompts *p);

/* What a play= URI names */
struct mrfc_play_item {
    const struct mrfc_prompt *prompt;   /* a file, or NULL */
    int tone;                     /* enum mrfc_tone when no prompt */
};

/*
 * mrfc_prompts_find - resolve play URI @uri into @out. 0; -ENOENT when no prompt has that
 * name (or a file: path is outside the folder); -EPROTONOSUPPORT for a scheme not served.
 */
int mrfc_prompts_find(const struct mrfc_prompts *p, const char *uri, struct mrfc_play_item *out);

/*
 * mrfc_prompt_read - read one sound file @path into @out (8 kHz mono 16-bit, converted);
 * @out->samples is malloc'd. 0, or -errno with @err ("unreadable", "too long", ...).
 */
int mrfc_prompt_read(const char *path, struct mrfc_prompt *out, size_t max_samples, char *err,
                     size_t errlen);

/*
 * mrfc_resample - convert @n samples of @in at @rate_in Hz to MRFC_RATE into @out (room for
 * mrfc_resample_len(n, rate_in) samples), low-pass filtered below 3.6 kHz when going down
 * (a windowed-sinc interpolator). Returns the samples written.
 */
size_t mrfc_resample(const float *in, size_t n, unsigned rate_in, int16_t *out);
size_t mrfc_resample_len(size_t n, unsigned rate_in);

/* Tone by name ("busy"), MRFC_TONE_NONE when unknown; its name */
int mrfc_tone_by_name(const char *name);
const char *mrfc_tone_name(int tone);

#endif
