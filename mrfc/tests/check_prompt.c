/*
 * check_prompt.c - prompts (mrfc/prompt.c): files of any rate and channel count read as
 * 8 kHz mono, the resampler's pass and stop bands, the folder and the play= URIs that may
 * name its files (and no other file), the memory bound; the E.180 tones (mrfc/tone.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "dsp.h"
#include "log.h"
#include "prompt.h"

static char dir[64];

/* A sine of @hz, @seconds long, at @rate with @channels (same signal in each), into @name */
static void write_sine(const char *name, double hz, double seconds, int rate, int channels,
                       int format)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    SF_INFO info = { .samplerate = rate, .channels = channels, .format = format };
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    size_t frames = (size_t)(seconds * rate);
    float *s = calloc(frames * (size_t)channels, sizeof(float));
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            s[i * (size_t)channels + (size_t)c] =
                (float)(0.5 * sin(2 * M_PI * hz * (double)i / rate));
    sf_writef_float(f, s, (sf_count_t)frames);
    sf_close(f);
    free(s);
}

static void setup(void)
{
    ims_log_init("check_prompt", IMS_LOG_ERROR, IMS_LOG_KV, NULL);
    snprintf(dir, sizeof(dir), "/tmp/check_prompt.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* RMS of @s over @n samples, relative to full scale */
static double rms(const int16_t *s, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)s[i] * s[i];
    return sqrt(e / (double)n) / 32768.0;
}

START_TEST(resampler_bands)
{
    /* 1 kHz at 16, 44.1 and 48 kHz keeps its level (0.5 peak -> 0.354 RMS); 6 kHz at 16 kHz,
     * above the new Nyquist frequency, is filtered out instead of folding to 2 kHz */
    static const unsigned rates[] = { 11025, 16000, 22050, 44100, 48000 };
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        unsigned rate = rates[r];
        size_t n = rate;                      /* one second */
        float *in = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            in[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 * (double)i / rate));
        int16_t *out = malloc(mrfc_resample_len(n, rate) * sizeof(int16_t) + 2);
        size_t got = mrfc_resample(in, n, rate, out);
        ck_assert_uint_eq(got, 8000);
        double level = rms(out + 400, got - 800);
        ck_assert_msg(fabs(level - 0.3536) < 0.01, "%u Hz: 1 kHz at %.4f", rate, level);
        for (size_t i = 0; i < n; i++)
            in[i] = (float)(0.5 * sin(2 * M_PI * 6000.0 * (double)i / rate));
        got = mrfc_resample(in, n, rate, out);
        level = rms(out + 400, got - 800);
        if (rate == 16000)
            ck_assert_msg(level < 0.005, "16 kHz: 6 kHz left at %.4f", level);
        free(in);
        free(out);
    }
}
END_TEST

START_TEST(files_converted)
{
    write_sine("mono8k.wav", 1000, 1.0, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    write_sine("stereo44k.wav", 1000, 1.0, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    write_sine("float16k.wav", 1000, 0.5, 16000, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    static const struct { const char *name; size_t n; } want[] = {
        { "mono8k.wav", 8000 }, { "stereo44k.wav", 8000 }, { "float16k.wav", 4000 },
    };
    for (size_t i = 0; i < 3; i++) {
        char path[160], err[160];
        struct mrfc_prompt p;
        snprintf(path, sizeof(path), "%s/%s", dir, want[i].name);
        ck_assert_int_eq(mrfc_prompt_read(path, &p, 100000, err, sizeof(err)), 0);
        ck_assert_uint_eq(p.n, want[i].n);
        double level = rms(p.samples + 200, p.n - 400);
        ck_assert_msg(fabs(level - 0.3536) < 0.01, "%s: level %.4f", want[i].name, level);
        free(p.samples);
    }
    /* not sound, and too long */
    char path[160], err[160];
    struct mrfc_prompt p;
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    ck_assert_int_eq(mrfc_prompt_read(path, &p, 100000, err, sizeof(err)), -EINVAL);
    snprintf(path, sizeof(path), "%s/mono8k.wav", dir);
    ck_assert_int_eq(mrfc_prompt_read(path, &p, 7999, err, sizeof(err)), -EFBIG);
}
END_TEST

START_TEST(folder_and_uris)
{
    write_sine("welcome.wav", 500, 0.5, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    write_sine("busy.wav", 500, 0.5, 16000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    char path[160], err[256];
    snprintf(path, sizeof(path), "%s/readme.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("not a prompt\n", f);
    fclose(f);
    struct mrfc_prompts *p = mrfc_prompts_load(dir, 1 << 20, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(mrfc_prompts_count(p), 2);        /* the text file skipped */
    ck_assert_uint_eq(mrfc_prompts_bytes(p), 2 * 4000 * 2);
    struct mrfc_play_item it;
    ck_assert_int_eq(mrfc_prompts_find(p, "welcome.wav", &it), 0);
    ck_assert_str_eq(it.prompt->name, "welcome.wav");
    ck_assert_int_eq(mrfc_prompts_find(p, "busy", &it), 0);
    ck_assert_str_eq(it.prompt->name, "busy.wav");
    char uri[256];
    snprintf(uri, sizeof(uri), "file://%s/welcome.wav", dir);
    ck_assert_int_eq(mrfc_prompts_find(p, uri, &it), 0);
    snprintf(uri, sizeof(uri), "file://localhost%s/busy.wav", dir);
    ck_assert_int_eq(mrfc_prompts_find(p, uri, &it), 0);
    /* files that are not prompts of the folder are never named */
    snprintf(uri, sizeof(uri), "file://%s/../etc/passwd", dir);
    ck_assert_int_eq(mrfc_prompts_find(p, uri, &it), -ENOENT);
    ck_assert_int_eq(mrfc_prompts_find(p, "file:///etc/passwd", &it), -ENOENT);
    ck_assert_int_eq(mrfc_prompts_find(p, "../welcome.wav", &it), -ENOENT);
    ck_assert_int_eq(mrfc_prompts_find(p, "readme.txt", &it), -ENOENT);
    snprintf(uri, sizeof(uri), "file://otherhost%s/welcome.wav", dir);
    ck_assert_int_eq(mrfc_prompts_find(p, uri, &it), -ENOENT);
    ck_assert_int_eq(mrfc_prompts_find(p, "http://x/welcome.wav", &it), -EPROTONOSUPPORT);
    /* tones */
    ck_assert_int_eq(mrfc_prompts_find(p, "tone:busy", &it), 0);
    ck_assert_ptr_null(it.prompt);
    ck_assert_int_eq(it.tone, MRFC_TONE_BUSY);
    ck_assert_int_eq(mrfc_prompts_find(p, "tone:siren", &it), -ENOENT);
    mrfc_prompts_free(p);
    /* the memory bound, a folder that is not there, no folder at all */
    ck_assert_ptr_null(mrfc_prompts_load(dir, 10000, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "prompts_max_bytes"));
    ck_assert_ptr_null(mrfc_prompts_load("/nonexistent/prompts", 1 << 20, err, sizeof(err)));
    p = mrfc_prompts_load("", 1 << 20, err, sizeof(err));
    ck_assert_uint_eq(mrfc_prompts_count(p), 0);
    ck_assert_int_eq(mrfc_prompts_find(p, "tone:dial", &it), 0);
    mrfc_prompts_free(p);
}
END_TEST

/* Energy of each 100 ms of @seconds of tone @tone */
static void tone_profile(int tone, int seconds, double *energy)
{
    tone_gen_state_t *t = mrfc_tone_start(tone);
    ck_assert_ptr_nonnull(t);
    int16_t buf[800];
    for (int i = 0; i < seconds * 10; i++) {
        int n = tone_gen(t, buf, 800);
        ck_assert_int_eq(n, 800);            /* cadenced tones repeat for ever */
        energy[i] = rms(buf, 800);
    }
    mrfc_tone_stop(t);
}

START_TEST(e180_tones)
{
    double e[60];
    /* dial: continuous */
    tone_profile(MRFC_TONE_DIAL, 3, e);
    for (int i = 0; i < 30; i++)
        ck_assert_msg(e[i] > 0.05, "dial tone silent at %d00 ms", i);
    /* busy: 0.5 s on, 0.5 s off */
    tone_profile(MRFC_TONE_BUSY, 3, e);
    for (int i = 0; i < 30; i++)
        ck_assert_msg((i % 10 < 5) == (e[i] > 0.05), "busy tone at %d00 ms: %.3f", i, e[i]);
    /* congestion: 0.2 s on, 0.2 s off */
    tone_profile(MRFC_TONE_CONGESTION, 2, e);
    for (int i = 0; i < 20; i++)
        ck_assert_msg((i % 4 < 2) == (e[i] > 0.05), "congestion at %d00 ms: %.3f", i, e[i]);
    /* ringing: 1 s on, 4 s off */
    tone_profile(MRFC_TONE_RINGING, 6, e);
    for (int i = 0; i < 60; i++)
        ck_assert_msg((i % 50 < 10) == (e[i] > 0.05), "ringing at %d00 ms: %.3f", i, e[i]);
    /* 425 Hz: a Goertzel at 425 Hz holds nearly all of the dial tone's power */
    tone_gen_state_t *t = mrfc_tone_start(MRFC_TONE_DIAL);
    int16_t buf[8000];
    tone_gen(t, buf, 8000);
    mrfc_tone_stop(t);
    double k = 2 * cos(2 * M_PI * 425 / 8000.0), s1 = 0, s2 = 0, total = 0;
    for (int i = 0; i < 8000; i++) {
        double s0 = buf[i] + k * s1 - s2;
        s2 = s1;
        s1 = s0;
        total += (double)buf[i] * buf[i];
    }
    double share = 2 * (s1 * s1 + s2 * s2 - k * s1 * s2) / (8000 * total);
    ck_assert_msg(share > 0.95, "425 Hz share %.3f", share);
    ck_assert_int_eq(mrfc_tone_by_name("congestion"), MRFC_TONE_CONGESTION);
    ck_assert_str_eq(mrfc_tone_name(MRFC_TONE_RINGING), "ringing");
    ck_assert_ptr_null(mrfc_tone_start(MRFC_TONE_NONE));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mrfc_prompt");
    TCase *tc = tcase_create("prompt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, resampler_bands);
    tcase_add_test(tc, files_converted);
    tcase_add_test(tc, folder_and_uris);
    tcase_add_test(tc, e180_tones);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
