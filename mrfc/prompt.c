/*
 * prompt.c - sound files read once with libsndfile, converted to 8 kHz mono 16-bit
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "prompt.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sndfile.h>

#define MAX_PROMPTS 1024
#define CUTOFF_HZ 3600.0          /* of the low-pass filter when resampling */
#define TAPS_HALF 16              /* filter half-width in output-rate samples */

struct mrfc_prompts {
    char dir[PATH_MAX];           /* as configured, without trailing '/' */
    char real[PATH_MAX];          /* its real path */
    struct mrfc_prompt *v;
    size_t n;
    size_t bytes;
};

static void say(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len)
        vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* ---- resampling: a windowed-sinc interpolator ---- */

size_t mrfc_resample_len(size_t n, unsigned rate_in)
{
    return rate_in ? (size_t)((uint64_t)n * MRFC_RATE / rate_in) : 0;
}

static int16_t to_s16(double v)
{
    v *= 32767.0;
    if (v > 32767.0)
        return 32767;
    if (v < -32768.0)
        return -32768;
    return (int16_t)lrint(v);
}

/* Blackman window at @u in [-1, 1] */
static double blackman(double u)
{
    return 0.42 + 0.5 * cos(M_PI * u) + 0.08 * cos(2.0 * M_PI * u);
}

size_t mrfc_resample(const float *in, size_t n, unsigned rate_in, int16_t *out)
{
    size_t nout = mrfc_resample_len(n, rate_in);
    if (rate_in == MRFC_RATE) {
        for (size_t j = 0; j < n; j++)
            out[j] = to_s16(in[j]);
        return n;
    }
    double step = (double)rate_in / MRFC_RATE;        /* input samples per output sample */
    double fc = fmin(CUTOFF_HZ, 0.45 * rate_in) / rate_in;   /* cycles per input sample */
    double half = TAPS_HALF * (step > 1.0 ? step : 1.0);     /* half-width in input samples */
    for (size_t j = 0; j < nout; j++) {
        double t = (double)j * step;
        long lo = (long)ceil(t - half), hi = (long)floor(t + half);
        double acc = 0.0;
        for (long i = lo; i <= hi; i++) {
            if (i < 0 || (size_t)i >= n)
                continue;
            double x = t - (double)i;
            double h = x == 0.0 ? 2.0 * fc : sin(2.0 * M_PI * fc * x) / (M_PI * x);
            acc += in[i] * h * blackman(x / half);
        }
        out[j] = to_s16(acc);
    }
    return nout;
}

/* ---- reading one file ---- */

/* Read all frames of @f as mono floats (channels averaged). NULL on failure. */
static float *read_mono(SNDFILE *f, const SF_INFO *info, size_t *n)
{
    size_t frames = (size_t)info->frames, ch = (size_t)info->channels;
    float *all = malloc(frames * ch * sizeof(float) + 1);
    float *mono = malloc(frames * sizeof(float) + 1);
    if (!all || !mono)
        goto fail;
    sf_count_t got = sf_readf_float(f, all, (sf_count_t)frames);
    if (got < 0)
        goto fail;
    for (size_t i = 0; i < (size_t)got; i++) {
        double sum = 0.0;
        for (size_t c = 0; c < ch; c++)
            sum += all[i * ch + c];
        mono[i] = (float)(sum / (double)ch);
    }
    free(all);
    *n = (size_t)got;
    return mono;
fail:
    free(all);
    free(mono);
    return NULL;
}

int mrfc_prompt_read(const char *path, struct mrfc_prompt *out, size_t max_samples, char *err,
                     size_t errlen)
{
    SF_INFO info;
    memset(&info, 0, sizeof(info));
    memset(out, 0, sizeof(*out));
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        say(err, errlen, "not a sound file libsndfile reads: %s", sf_strerror(NULL));
        return -EINVAL;
    }
    int rc = -EINVAL;
    if (info.channels < 1 || info.samplerate < 1000 || info.samplerate > 192000 ||
        info.frames < 0) {
        say(err, errlen, "%d channels at %d Hz: not playable", info.channels, info.samplerate);
        goto out_file;
    }
    if (mrfc_resample_len((size_t)info.frames, (unsigned)info.samplerate) > max_samples) {
        say(err, errlen, "longer than %zu s", max_samples / MRFC_RATE);
        rc = -EFBIG;
        goto out_file;
    }
    size_t n;
    float *mono = read_mono(f, &info, &n);
    if (!mono) {
        say(err, errlen, "read failed: %s", sf_strerror(f));
        rc = -EIO;
        goto out_file;
    }
    out->samples = malloc(mrfc_resample_len(n, (unsigned)info.samplerate) * sizeof(int16_t) + 2);
    if (out->samples) {
        out->n = mrfc_resample(mono, n, (unsigned)info.samplerate, out->samples);
        rc = 0;
    } else {
        say(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    free(mono);
out_file:
    sf_close(f);
    return rc;
}

/* ---- the set ---- */

static bool wanted(const struct dirent *e)
{
    return e->d_name[0] != '.' && (e->d_type == DT_REG || e->d_type == DT_LNK ||
                                   e->d_type == DT_UNKNOWN);
}

/* Read file @name of the set's folder into the next entry; failures are logged, not fatal */
static int add_file(struct mrfc_prompts *p, const char *name, size_t max_bytes, char *err,
                    size_t errlen)
{
    char path[PATH_MAX + 256], why[160];
    struct mrfc_prompt pr;
    snprintf(path, sizeof(path), "%s/%s", p->dir, name);
    if (strlen(name) >= sizeof(pr.name)) {
        ims_warn("mrfc: prompt %s skipped: its name is longer than %zu", path,
                 sizeof(pr.name) - 1);
        return 0;
    }
    size_t room = p->bytes < max_bytes ? (max_bytes - p->bytes) / sizeof(int16_t) : 0;
    int rc = mrfc_prompt_read(path, &pr, room, why, sizeof(why));
    if (rc == -EFBIG) {
        say(err, errlen, "prompts of %s take more than mrfc.prompts_max_bytes (%zu) with %s",
            p->dir, max_bytes, name);
        return rc;
    }
    if (rc) {
        ims_warn("mrfc: prompt %s skipped: %s", path, why);
        return 0;
    }
    snprintf(pr.name, sizeof(pr.name), "%s", name);
    p->v[p->n++] = pr;
    p->bytes += pr.n * sizeof(int16_t);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct mrfc_prompt *)a)->name, ((const struct mrfc_prompt *)b)->name);
}

struct mrfc_prompts *mrfc_prompts_load(const char *dir, size_t max_bytes, char *err,
                                       size_t errlen)
{
    struct mrfc_prompts *p = calloc(1, sizeof(*p));
    if (p)
        p->v = calloc(MAX_PROMPTS, sizeof(*p->v));
    if (!p || !p->v) {
        say(err, errlen, "out of memory");
        mrfc_prompts_free(p);
        return NULL;
    }
    if (!dir || !*dir)
        return p;
    snprintf(p->dir, sizeof(p->dir), "%s", dir);
    size_t l = strlen(p->dir);
    while (l > 1 && p->dir[l - 1] == '/')
        p->dir[--l] = '\0';
    DIR *d = opendir(p->dir);
    if (!d || !realpath(p->dir, p->real)) {
        say(err, errlen, "cannot read the prompts folder %s: %s", p->dir, strerror(errno));
        if (d)
            closedir(d);
        mrfc_prompts_free(p);
        return NULL;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!wanted(e))
            continue;
        if (p->n == MAX_PROMPTS) {
            ims_warn("mrfc: more than %d prompts in %s: the rest is skipped", MAX_PROMPTS, dir);
            break;
        }
        rc = add_file(p, e->d_name, max_bytes, err, errlen);
    }
    closedir(d);
    if (rc) {
        mrfc_prompts_free(p);
        return NULL;
    }
    qsort(p->v, p->n, sizeof(*p->v), by_name);
    return p;
}

void mrfc_prompts_free(struct mrfc_prompts *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->v && i < p->n; i++)
        free(p->v[i].samples);
    free(p->v);
    free(p);
}

size_t mrfc_prompts_count(const struct mrfc_prompts *p)
{
    return p->n;
}

size_t mrfc_prompts_bytes(const struct mrfc_prompts *p)
{
    return p->bytes;
}

static const struct mrfc_prompt *by_file_name(const struct mrfc_prompts *p, const char *name)
{
    struct mrfc_prompt key;
    if (strchr(name, '/') || strlen(name) >= sizeof(key.name))
        return NULL;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return bsearch(&key, p->v, p->n, sizeof(*p->v), by_name);
}

/* @path is "<folder>/<name>" for the folder as configured or as its real path: the name */
static const char *name_in_folder(const struct mrfc_prompts *p, const char *path)
{
    const char *dirs[2] = { p->dir, p->real };
    for (int i = 0; i < 2; i++) {
        size_t l = strlen(dirs[i]);
        if (l && strncmp(path, dirs[i], l) == 0 && path[l] == '/')
            return path + l + 1;
    }
    return NULL;
}

int mrfc_prompts_find(const struct mrfc_prompts *p, const char *uri, struct mrfc_play_item *out)
{
    memset(out, 0, sizeof(*out));
    if (strncasecmp(uri, "tone:", 5) == 0) {
        out->tone = mrfc_tone_by_name(uri + 5);
        return out->tone != MRFC_TONE_NONE ? 0 : -ENOENT;
    }
    const char *name = uri;
    if (strncasecmp(uri, "file:", 5) == 0) {
        const char *path = uri + 5;
        if (strncmp(path, "//", 2) == 0) {
            path += 2;                        /* file://[localhost]/path */
            if (strncasecmp(path, "localhost/", 10) == 0)
                path += 9;
            else if (*path != '/')
                return -ENOENT;               /* another host */
        }
        name = name_in_folder(p, path);
        if (!name)
            return -ENOENT;
    } else if (strchr(uri, ':')) {
        return -EPROTONOSUPPORT;
    }
    out->prompt = by_file_name(p, name);
    if (!out->prompt && !strchr(name, '.')) {
        char with[sizeof(out->prompt->name) + 8];
        snprintf(with, sizeof(with), "%s.wav", name);
        out->prompt = by_file_name(p, with);
    }
    return out->prompt ? 0 : -ENOENT;
}
