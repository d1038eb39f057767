/*
 * ivr.c - the IVR control package (msc-ivr/1.0, RFC 6231) over the media engine
 *
 *   <dialogstart connectionid="a~b" [dialogid]>          one dialog on a leg of the AS
 *     <dialog>
 *       <prompt [bargein] [iterations] [duration] [xml:base]> <media loc=.../>... </prompt>
 *       <collect [maxdigits] [termchar] [timeout] [interdigittimeout] [cleardigitbuffer]/>
 *       <record [maxtime] [timeout] [finalsilence] [vadinitial] [dtmfterm] [beep] [type]>
 *         [<media loc="file:///<record_dir>/<name>.wav"/>] </record>
 *     </dialog>
 *   </dialogstart>
 *   <dialogterminate dialogid [immediate]/>
 *
 * The prompt plays (a digit stops it when bargein), the collection runs from the start
 * (digits typed during the prompt count) with its first-digit timer from the end of the
 * prompt, a recording starts when the prompt (and the beep) are over. When every part is
 * done the dialog exits: a CONTROL to the channel that started it with <dialogexit> and
 * <promptinfo>, <collectinfo dtmf=...>, <recordinfo> (RFC 6231 4.2.5). Recordings are
 * written as 8 kHz 16-bit WAV files into mrfc.record_dir by a thread of their own (the
 * loop never waits for the disk); the dialog exits once the file is written.
 *
 * Not served (answered with the status RFC 6231 gives for it): dialogs on a conference,
 * dialogprepare, audit, VoiceXML (src=), grammars, variables, <dtmf> generation, <par>,
 * <control> (VCR keys), <subscribe>, repeatCount other than 1, collect and record in one
 * dialog, append, more than MRFC_PLAY_MAX media in a prompt.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "cfw.h"
#include "cfw_msg.h"
#include "session.h"
#include "log.h"
#include "xml.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sndfile.h>

#define NS "urn:ietf:params:xml:ns:msc-ivr"

enum part { P_PROMPT = 0, P_COLLECT, P_RECORD, P_BEEP };

struct mrfc_ivr {
    struct ims_map *dialogs;      /* dialogid -> struct mrfc_ivr_dialog */
    unsigned serial;
    atomic_int writers;           /* writer threads under way */
    char record_dir[PATH_MAX];
    struct ims_counter *m_started, *m_exited, *m_refused;
};

struct mrfc_ivr_dialog {
    char id[64];
    struct mrfc *mrfc;
    struct mrfc_chan *chan;
    struct mrfc_session *s;
    uint64_t cookie;              /* of its media requests: serial << 2 | part */
    bool has_prompt, has_collect, has_record, beep;
    struct mrfc_play play;
    struct mrfc_collect col;
    struct mrfc_record rec;
    char rec_path[PATH_MAX];
    /* progress */
    bool playing, collecting, recording, beeping, writing, terminated;
    int p_reason, c_reason, r_reason;
    unsigned p_ms, r_ms;
    char dtmf[MRFC_DIGITS_MAX + 1];
    long r_bytes;
    int r_error;
};

/* A request's outcome: status and reason of its <response> */
struct verdict {
    int status;
    char reason[200];
};

static int refuse(struct verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    v->status = status;
    return -1;
}

void mrfc_xml_escape(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; in && *in && o + 7 < len; in++) {
        const char *e = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;"
                        : *in == '"' ? "&quot;" : NULL;
        if (e) {
            memcpy(out + o, e, strlen(e));
            o += strlen(e);
        } else if ((unsigned char)*in >= 0x20) {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

/* ---- reading attributes ---- */

/* A time designation of RFC 6231 ("5s", "300ms") in ms into *@ms; absent: left alone */
static int time_attr(const struct ims_xml_node *n, const char *name, unsigned *ms,
                     struct verdict *v)
{
    const char *a = ims_xml_attr(n, name);
    if (!a)
        return 0;
    char *end;
    unsigned long x = strtoul(a, &end, 10);
    bool ok = end != a && a[0] != '-' && (strcmp(end, "s") == 0 || strcmp(end, "ms") == 0);
    unsigned long mult = strcmp(end, "s") == 0 ? 1000 : 1;
    if (!ok || x > 86400000UL / mult)
        return refuse(v, 400, "%s=\"%.40s\": a time such as 5s or 300ms is needed", name, a);
    *ms = (unsigned)(x * mult);
    return 0;
}

static int bool_attr(const struct ims_xml_node *n, const char *name, bool *b,
                     struct verdict *v)
{
    const char *a = ims_xml_attr(n, name);
    if (!a)
        return 0;
    if (strcmp(a, "true") != 0 && strcmp(a, "false") != 0)
        return refuse(v, 400, "%s=\"%.40s\": true or false", name, a);
    *b = strcmp(a, "true") == 0;
    return 0;
}

static int uint_attr(const struct ims_xml_node *n, const char *name, unsigned max,
                     unsigned *out, struct verdict *v)
{
    const char *a = ims_xml_attr(n, name);
    if (!a)
        return 0;
    char *end;
    unsigned long x = strtoul(a, &end, 10);
    if (end == a || *end || a[0] == '-' || x > max)
        return refuse(v, 400, "%s=\"%.40s\": a number from 0 to %u", name, a, max);
    *out = (unsigned)x;
    return 0;
}

/* The first child element that is none of the comma-separated @known, or NULL */
static const struct ims_xml_node *stranger(const struct ims_xml_node *n, const char *known)
{
    for (const struct ims_xml_node *c = n->child; c; c = c->next) {
        const char *name = strchr(c->name, ':') ? strchr(c->name, ':') + 1 : c->name;
        if (!mrfc_cfw_list_has(known, name))
            return c;
    }
    return NULL;
}

/* ---- the parts of a dialog ---- */

/* The play= of one <media>: a prompt or tone of the MRF */
static int read_media(struct mrfc *mrfc, const struct ims_xml_node *m, const char *base,
                      struct mrfc_play_item *item, struct verdict *v)
{
    const char *loc = ims_xml_attr(m, "loc");
    if (!loc || !*loc)
        return refuse(v, 400, "<media> without loc");
    char uri[1024];
    if (base && !strchr(loc, ':'))
        snprintf(uri, sizeof(uri), "%s%s", base, loc);
    else
        snprintf(uri, sizeof(uri), "%s", loc);
    int rc = mrfc_prompts_find(mrfc->prompts, uri, item);
    if (rc == -EPROTONOSUPPORT)
        return refuse(v, 420, "%.200s: only file: URIs of the prompts folder and tone: are "
                      "played, nothing is fetched", uri);
    if (rc)
        return refuse(v, 409, "no prompt %.200s here", uri);
    return 0;
}

static int read_prompt(struct mrfc *mrfc, const struct ims_xml_node *p,
                       struct mrfc_ivr_dialog *d, struct verdict *v)
{
    const struct ims_xml_node *odd = stranger(p, "media");
    if (odd) {
        const char *name = odd->name;
        int status = strstr(name, "variable") ? 425 : strstr(name, "dtmf") ? 426
                     : strstr(name, "par") ? 435 : 400;
        return refuse(v, status, "<%.40s> in a prompt is not served", name);
    }
    struct mrfc_play *pl = &d->play;
    pl->barge_in = true;
    pl->repeat = 1;
    const char *it = ims_xml_attr(p, "iterations");
    if (it && strcmp(it, "infinite") == 0)
        pl->repeat = 0;
    else if (uint_attr(p, "iterations", 1000, &pl->repeat, v) != 0)
        return -1;
    if (it && strcmp(it, "infinite") != 0 && pl->repeat == 0)
        return refuse(v, 400, "iterations=\"0\" plays nothing");
    if (bool_attr(p, "bargein", &pl->barge_in, v) || time_attr(p, "duration", &pl->duration_ms,
                                                               v))
        return -1;
    const char *base = ims_xml_attr(p, "xml:base");
    for (const struct ims_xml_node *m = ims_xml_child(p, "media"); m;
         m = ims_xml_next(m, "media")) {
        if (pl->nitems == MRFC_PLAY_MAX)
            return refuse(v, 429, "more than %d media in a prompt", MRFC_PLAY_MAX);
        if (read_media(mrfc, m, base, &pl->items[pl->nitems], v) != 0)
            return -1;
        pl->nitems++;
    }
    if (pl->nitems == 0)
        return refuse(v, 400, "a prompt without media");
    d->has_prompt = true;
    return 0;
}

static int read_collect(const struct ims_xml_node *c, struct mrfc_ivr_dialog *d,
                        struct verdict *v)
{
    if (c->child)
        return refuse(v, 424, "<%.40s> in collect: grammars are not served", c->child->name);
    if (ims_xml_attr(c, "escapekey") || ims_xml_attr(c, "termtimeout"))
        return refuse(v, 427, "escapekey and termtimeout are not served");
    struct mrfc_collect *col = &d->col;
    bool clear = true;
    col->max_digits = 5;
    col->first_ms = 5000;
    col->inter_ms = 2000;
    snprintf(col->terminators, sizeof(col->terminators), "#");
    if (uint_attr(c, "maxdigits", 1000, &col->max_digits, v) ||
        time_attr(c, "timeout", &col->first_ms, v) ||
        time_attr(c, "interdigittimeout", &col->inter_ms, v) ||
        bool_attr(c, "cleardigitbuffer", &clear, v))
        return -1;
    if (col->max_digits < 1 || col->max_digits > MRFC_DIGITS_MAX)
        return refuse(v, 427, "maxdigits from 1 to %d", MRFC_DIGITS_MAX);
    const char *term = ims_xml_attr(c, "termchar");
    if (term) {
        if (strlen(term) != 1 || !strchr("0123456789*#ABCD", term[0]))
            return refuse(v, 400, "termchar=\"%.20s\": one DTMF character", term);
        snprintf(col->terminators, sizeof(col->terminators), "%s", term);
    }
    col->clear = clear;
    col->after_play = true;
    d->has_collect = true;
    return 0;
}

/* The file of a <record>: the given file: URI in the folder, or a name of ours */
static int record_path(struct mrfc_ivr *ivr, const struct ims_xml_node *r,
                       struct mrfc_ivr_dialog *d, struct verdict *v)
{
    const struct ims_xml_node *m = ims_xml_child(r, "media");
    const char *loc = m ? ims_xml_attr(m, "loc") : NULL;
    const char *type = m ? ims_xml_attr(m, "type") : NULL;
    if (type && strcasecmp(type, "audio/x-wav") && strcasecmp(type, "audio/wav"))
        return refuse(v, 423, "type %.60s: recordings are audio/x-wav", type);
    if (!loc) {
        snprintf(d->rec_path, sizeof(d->rec_path), "%s/%s-%lx.wav", ivr->record_dir, d->id,
                 (unsigned long)time(NULL));
        return 0;
    }
    size_t n = strlen(ivr->record_dir);
    const char *path = strncmp(loc, "file://", 7) == 0 ? loc + 7 : NULL;
    if (!path)
        return refuse(v, 420, "%.200s: recordings go to file: URIs of %s", loc,
                      ivr->record_dir);
    const char *name = path + n + 1;
    if (strncmp(path, ivr->record_dir, n) != 0 || path[n] != '/' || !*name ||
        strchr(name, '/') || name[0] == '.' || strlen(name) > 200)
        return refuse(v, 430, "%.200s: recordings go to files of %s", loc, ivr->record_dir);
    snprintf(d->rec_path, sizeof(d->rec_path), "%s", path);
    return 0;
}

static int read_record(struct mrfc_ivr *ivr, const struct ims_xml_node *r,
                       struct mrfc_ivr_dialog *d, struct verdict *v)
{
    if (!ivr->record_dir[0])
        return refuse(v, 430, "this MRF records nothing (mrfc.record_dir is empty)");
    if (stranger(r, "media"))
        return refuse(v, 400, "only <media> goes in a record");
    bool append = false, vadfinal = true;
    const char *type = ims_xml_attr(r, "type");
    struct mrfc_record *rec = &d->rec;
    rec->max_ms = 15000;
    rec->initial_ms = 5000;
    rec->final_silence_ms = 5000;
    rec->vad_initial = rec->dtmf_term = true;
    if (type && strcasecmp(type, "audio/x-wav") && strcasecmp(type, "audio/wav"))
        return refuse(v, 423, "type %.60s: recordings are audio/x-wav", type);
    if (time_attr(r, "maxtime", &rec->max_ms, v) || time_attr(r, "timeout", &rec->initial_ms, v) ||
        time_attr(r, "finalsilence", &rec->final_silence_ms, v) ||
        bool_attr(r, "vadinitial", &rec->vad_initial, v) ||
        bool_attr(r, "vadfinal", &vadfinal, v) || bool_attr(r, "dtmfterm", &rec->dtmf_term, v) ||
        bool_attr(r, "beep", &d->beep, v) || bool_attr(r, "append", &append, v))
        return -1;
    if (append)
        return refuse(v, 430, "append is not served");
    if (rec->max_ms < 100 || rec->max_ms > MRFC_RECORD_MAX_MS)
        return refuse(v, 430, "maxtime from 100ms to %ds", MRFC_RECORD_MAX_MS / 1000);
    if (!vadfinal)
        rec->final_silence_ms = 0;
    if (record_path(ivr, r, d, v) != 0)
        return -1;
    d->has_record = true;
    return 0;
}

static int read_dialog(struct mrfc *mrfc, const struct ims_xml_node *dlg,
                       struct mrfc_ivr_dialog *d, struct verdict *v)
{
    const struct ims_xml_node *odd = stranger(dlg, "prompt,collect,record");
    if (odd)
        return refuse(v, strstr(odd->name, "control") ? 439 : 400, "<%.40s> in a dialog is "
                      "not served", odd->name);
    const char *rc = ims_xml_attr(dlg, "repeatCount");
    if ((rc && strcmp(rc, "1") != 0) || ims_xml_attr(dlg, "repeatDur") ||
        ims_xml_attr(dlg, "repeatUntilComplete"))
        return refuse(v, 427, "repeatCount other than 1, repeatDur and repeatUntilComplete "
                      "are not served");
    const struct ims_xml_node *p = ims_xml_child(dlg, "prompt");
    const struct ims_xml_node *c = ims_xml_child(dlg, "collect");
    const struct ims_xml_node *r = ims_xml_child(dlg, "record");
    if ((p && ims_xml_next(p, "prompt")) || (c && ims_xml_next(c, "collect")) ||
        (r && ims_xml_next(r, "record")))
        return refuse(v, 400, "one prompt, collect and record each at most");
    if (!p && !c && !r)
        return refuse(v, 400, "a dialog with nothing to do");
    if (c && r)
        return refuse(v, 433, "collect and record in one dialog are not served");
    if ((p && read_prompt(mrfc, p, d, v)) || (c && read_collect(c, d, v)) ||
        (r && read_record(mrfc->ivr, r, d, v)))
        return -1;
    return 0;
}

/* ---- life of a dialog ---- */

static void dialog_free(struct mrfc_ivr_dialog *d)
{
    struct mrfc_ivr *ivr = d->mrfc->ivr;
    if (ims_map_get(ivr->dialogs, d->id) == d)
        ims_map_remove(ivr->dialogs, d->id);
    if (d->s && d->s->ivr == d)
        d->s->ivr = NULL;
    free(d);
}

static const char *prompt_mode(int reason)
{
    return reason == MRFC_END_BARGE_IN ? "bargein" : reason == MRFC_END_STOPPED ? "stopped"
                                                                                : "completed";
}

static const char *collect_mode(int reason, const char *dtmf)
{
    if (reason == MRFC_END_STOPPED)
        return "stopped";
    return reason == MRFC_END_TIMEOUT && !dtmf[0] ? "noinput" : "match";
}

static const char *record_mode(int reason)
{
    switch (reason) {
    case MRFC_END_TIMEOUT: return "noinput";
    case MRFC_END_TERMINATOR: return "dtmf";
    case MRFC_END_DURATION: return "maxtime";
    case MRFC_END_SILENCE: return "finalsilence";
    default: return "stopped";
    }
}

/* The <recordinfo> of @d into @out */
static void recordinfo(const struct mrfc_ivr_dialog *d, char *out, size_t len)
{
    char loc[PATH_MAX + 16];
    mrfc_xml_escape(d->rec_path, loc, sizeof(loc));
    if (d->r_error || d->r_reason == MRFC_END_TIMEOUT || d->r_ms == 0)
        snprintf(out, len, "<recordinfo termmode=\"%s\" duration=\"%u\"/>",
                 record_mode(d->r_reason), d->r_ms);
    else
        snprintf(out, len, "<recordinfo termmode=\"%s\" duration=\"%u\"><mediainfo "
                 "loc=\"file://%s\" type=\"audio/x-wav\" size=\"%ld\"/></recordinfo>",
                 record_mode(d->r_reason), d->r_ms, loc, d->r_bytes);
}

/* Send <dialogexit> with @status and what each part did, then free @d */
static void dialog_exit(struct mrfc_ivr_dialog *d, int status, const char *reason)
{
    char pi[128] = "", ci[160] = "", ri[PATH_MAX + 200] = "", body[MRFC_PKG_BODY_MAX];
    if (d->has_prompt)
        snprintf(pi, sizeof(pi), "<promptinfo duration=\"%u\" termmode=\"%s\"/>", d->p_ms,
                 prompt_mode(d->p_reason));
    if (d->has_collect)
        snprintf(ci, sizeof(ci), "<collectinfo dtmf=\"%s\" termmode=\"%s\"/>", d->dtmf,
                 collect_mode(d->c_reason, d->dtmf));
    if (d->has_record)
        recordinfo(d, ri, sizeof(ri));
    char id[200];
    mrfc_xml_escape(d->id, id, sizeof(id));
    snprintf(body, sizeof(body), "<mscivr version=\"1.0\" xmlns=\"" NS "\"><event dialogid="
             "\"%s\"><dialogexit status=\"%d\" reason=\"%s\">%s%s%s</dialogexit></event>"
             "</mscivr>", id, status, reason, pi, ci, ri);
    if (d->s)
        mrfc_session_log(d->s, IMS_LOG_INFO, "mrfc: IVR dialog %s exits (%d, %s)%s%s%s%s",
                         d->id, status, reason, d->has_collect ? ": dtmf=" : "",
                         d->has_collect ? d->dtmf : "", d->has_record ? " record " : "",
                         d->has_record ? record_mode(d->r_reason) : "");
    ims_counter_inc(d->mrfc->ivr->m_exited);
    mrfc_cfw_event(d->chan, MRFC_PKG_IVR, body);
    dialog_free(d);
}

/* Exit when nothing of @d runs any more */
static void maybe_exit(struct mrfc_ivr_dialog *d)
{
    if (d->playing || d->collecting || d->recording || d->beeping || d->writing)
        return;
    if (d->terminated)
        dialog_exit(d, 0, "dialog terminated");
    else if (d->r_error)
        dialog_exit(d, 4, "the recording could not be written");
    else
        dialog_exit(d, 1, "dialog complete");
}

static void start_record(struct mrfc_ivr_dialog *d)
{
    d->rec.cookie = d->cookie | P_RECORD;
    if (mrfc_media_record(d->mrfc->media, d->s->leg, &d->rec) != 0) {
        d->r_reason = MRFC_END_STOPPED;
        d->r_error = EAGAIN;
        return;
    }
    d->recording = true;
}

/* The prompt is over: a beep, then the recording, when the dialog records */
static void after_prompt(struct mrfc_ivr_dialog *d)
{
    if (!d->has_record || d->terminated)
        return;
    if (!d->beep) {
        start_record(d);
        return;
    }
    struct mrfc_play beep = { .nitems = 1, .repeat = 1, .cookie = d->cookie | P_BEEP };
    beep.items[0].tone = MRFC_TONE_BEEP;
    if (mrfc_media_play(d->mrfc->media, d->s->leg, &beep) == 0)
        d->beeping = true;
    else
        start_record(d);
}

/* Queue the media requests of @d; -EAGAIN when the media queue is full */
static int dialog_run(struct mrfc_ivr_dialog *d)
{
    struct mrfc_media *m = d->mrfc->media;
    uint32_t leg = d->s->leg;
    if (d->has_prompt) {
        d->play.cookie = d->cookie | P_PROMPT;
        if (mrfc_media_play(m, leg, &d->play) != 0)
            return -EAGAIN;
        d->playing = true;
    }
    if (d->has_collect) {
        d->col.cookie = d->cookie | P_COLLECT;
        if (mrfc_media_collect(m, leg, &d->col) != 0) {
            mrfc_media_stop(m, leg);
            return -EAGAIN;
        }
        d->collecting = true;
    }
    if (!d->has_prompt)
        after_prompt(d);
    return 0;
}

/* ---- writing a recording (a thread of its own) ---- */

struct write_job {
    struct mrfc *mrfc;
    atomic_int *writers;
    char dialog[64];
    uint64_t cookie;
    char path[PATH_MAX];
    int16_t *samples;
    size_t n;
    int error;
    long bytes;
};

static void on_written(void *arg)
{
    struct write_job *j = arg;
    struct mrfc_ivr *ivr = j->mrfc->ivr;
    struct mrfc_ivr_dialog *d = ivr && j->mrfc->running ? ims_map_get(ivr->dialogs, j->dialog)
                                                        : NULL;
    if (j->error)
        ims_warn("mrfc: recording %s not written: %s", j->path, strerror(j->error));
    if (d && (d->cookie | P_RECORD) == j->cookie) {
        d->writing = false;
        d->r_error = j->error;
        d->r_bytes = j->bytes;
        maybe_exit(d);
    }
    free(j);
}

static void *write_thread(void *arg)
{
    struct write_job *j = arg;
    SF_INFO info = { .samplerate = MRFC_RATE, .channels = 1,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *f = sf_open(j->path, SFM_WRITE, &info);
    if (!f) {
        j->error = EIO;
    } else {
        if (sf_write_short(f, j->samples, (sf_count_t)j->n) != (sf_count_t)j->n)
            j->error = EIO;
        sf_close(f);
        struct stat st;
        j->bytes = stat(j->path, &st) == 0 ? (long)st.st_size : 0;
    }
    free(j->samples);
    j->samples = NULL;
    atomic_int *writers = j->writers;
    if (ims_loop_post(j->mrfc->d->loop, on_written, j) != 0)
        free(j);                      /* the daemon is stopping */
    atomic_fetch_sub(writers, 1);     /* mrfc_ivr_fini waits for this */
    return NULL;
}

/* Hand the samples of @ev to a writer thread; false when it could not start */
static bool write_recording(struct mrfc_ivr_dialog *d, struct mrfc_media_event *ev)
{
    struct write_job *j = calloc(1, sizeof(*j));
    if (!j)
        return false;
    j->mrfc = d->mrfc;
    snprintf(j->dialog, sizeof(j->dialog), "%s", d->id);
    snprintf(j->path, sizeof(j->path), "%s", d->rec_path);
    j->cookie = ev->cookie;
    j->samples = ev->samples;
    j->n = ev->nsamples;
    j->writers = &d->mrfc->ivr->writers;
    atomic_fetch_add(j->writers, 1);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, write_thread, j);
    pthread_attr_destroy(&a);
    if (rc != 0) {
        atomic_fetch_sub(j->writers, 1);
        free(j);
        return false;
    }
    ev->samples = NULL;               /* the thread's now */
    return true;
}

/* ---- media events ---- */

static void on_record_done(struct mrfc_ivr_dialog *d, struct mrfc_media_event *ev)
{
    d->recording = false;
    d->r_reason = ev->reason;
    d->r_ms = ev->played_ms;
    if (ev->nsamples && ev->reason != MRFC_END_TIMEOUT) {
        d->writing = write_recording(d, ev);
        if (!d->writing)
            d->r_error = ENOMEM;
    }
}

void mrfc_ivr_media_event(struct mrfc_session *s, struct mrfc_media_event *ev)
{
    struct mrfc_ivr_dialog *d = s->ivr;
    if (!d || ev->kind == MRFC_EV_DTMF || (ev->cookie & ~(uint64_t)3) != d->cookie)
        return;                       /* no dialog, or a late event of an earlier one */
    switch (ev->kind) {
    case MRFC_EV_PLAY_DONE:
        if ((ev->cookie & 3) == P_BEEP) {
            d->beeping = false;
            if (!d->terminated)
                start_record(d);
            break;
        }
        d->playing = false;
        d->p_reason = ev->reason;
        d->p_ms = ev->played_ms;
        after_prompt(d);
        break;
    case MRFC_EV_COLLECT_DONE:
        d->collecting = false;
        d->c_reason = ev->reason;
        snprintf(d->dtmf, sizeof(d->dtmf), "%s", ev->digits);
        break;
    case MRFC_EV_RECORD_DONE:
        on_record_done(d, ev);
        break;
    default:
        return;
    }
    maybe_exit(d);
}

void mrfc_ivr_leg_gone(struct mrfc_session *s)
{
    struct mrfc_ivr_dialog *d = s->ivr;
    if (!d)
        return;
    /* the leg's close ends what runs without events (a recording being written goes on and
     * is not reported) */
    if (d->playing)
        d->p_reason = MRFC_END_STOPPED;
    if (d->collecting)
        d->c_reason = MRFC_END_STOPPED;
    if (d->recording)
        d->r_reason = MRFC_END_STOPPED;
    dialog_exit(d, 2, "the connection ended");
}

/* ---- requests ---- */

static void response(char *out, size_t cap, const struct verdict *v, const char *dialogid)
{
    char id[200] = "", reason[400];
    if (dialogid)
        mrfc_xml_escape(dialogid, id, sizeof(id));
    mrfc_xml_escape(v->reason, reason, sizeof(reason));
    snprintf(out, cap, "<mscivr version=\"1.0\" xmlns=\"" NS "\"><response status=\"%d\" "
             "reason=\"%s\"%s%s%s/></mscivr>", v->status, reason, dialogid ? " dialogid=\"" : "",
             id, dialogid ? "\"" : "");
}

/* The leg a dialogstart names, checked; NULL with @v set */
static struct mrfc_session *target_leg(struct mrfc *mrfc, const struct ims_xml_node *ds,
                                       struct verdict *v)
{
    const char *conn = ims_xml_attr(ds, "connectionid");
    const char *conf = ims_xml_attr(ds, "conferenceid");
    if ((conn && conf) || (!conn && !conf)) {
        refuse(v, 400, "a dialogstart names a connectionid or a conferenceid");
        return NULL;
    }
    if (conf) {
        refuse(v, mrfc_conf_find(mrfc, conf) ? 439 : 408, "%s", mrfc_conf_find(mrfc, conf)
               ? "dialogs on a conference are not served" : "conferenceid does not exist");
        return NULL;
    }
    struct mrfc_session *s = mrfc_session_by_connid(mrfc, conn);
    if (!s || s->svc.kind != MRFC_SVC_MEDIA || !s->leg_open || s->state == MRFC_S_ENDING) {
        refuse(v, 407, "connectionid %.130s does not exist%s", conn,
               s && s->svc.kind != MRFC_SVC_MEDIA ? " as a leg of an AS (sip:mrfc@)" : "");
        return NULL;
    }
    if (s->ivr) {
        refuse(v, 432, "a dialog runs on that connection already");
        return NULL;
    }
    return s;
}

static struct mrfc_ivr_dialog *dialog_new(struct mrfc *mrfc, struct mrfc_chan *ch,
                                          const char *dialogid, struct verdict *v)
{
    struct mrfc_ivr *ivr = mrfc->ivr;
    if (dialogid && (!*dialogid || strlen(dialogid) >= 64)) {
        refuse(v, 400, "dialogid of 1 to 63 characters");
        return NULL;
    }
    if (dialogid && ims_map_get(ivr->dialogs, dialogid)) {
        refuse(v, 405, "dialogid already exists");
        return NULL;
    }
    struct mrfc_ivr_dialog *d = calloc(1, sizeof(*d));
    if (!d) {
        refuse(v, 419, "out of memory");
        return NULL;
    }
    d->mrfc = mrfc;
    d->chan = ch;
    d->cookie = (uint64_t)++ivr->serial << 2;
    if (dialogid)
        snprintf(d->id, sizeof(d->id), "%s", dialogid);
    else
        do
            snprintf(d->id, sizeof(d->id), "ivr%u-%lx", ivr->serial, (unsigned long)random());
        while (ims_map_get(ivr->dialogs, d->id));
    return d;
}

static void dialogstart(struct mrfc *mrfc, struct mrfc_chan *ch, const struct ims_xml_node *ds,
                        char *resp, size_t cap)
{
    struct verdict v = { 200, "dialog started" };
    struct mrfc_ivr_dialog *d = NULL;
    struct mrfc_session *s = NULL;
    if (ims_xml_attr(ds, "src"))
        refuse(&v, 421, "dialogs by reference (VoiceXML) are not served");
    else if (ims_xml_child(ds, "subscribe"))
        refuse(&v, 439, "subscriptions (dtmfsub) are not served");
    else if (!ims_xml_child(ds, "dialog") || stranger(ds, "dialog"))
        refuse(&v, 400, "a dialogstart holds one <dialog>");
    else if ((s = target_leg(mrfc, ds, &v)) != NULL)
        d = dialog_new(mrfc, ch, ims_xml_attr(ds, "dialogid"), &v);
    if (d && read_dialog(mrfc, ims_xml_child(ds, "dialog"), d, &v) == 0) {
        int err = 0;
        d->s = s;
        ims_map_put(mrfc->ivr->dialogs, d->id, d, &err);
        if (err || dialog_run(d) != 0) {
            refuse(&v, 419, "the media engine is overloaded");
            dialog_free(d);
        } else {
            s->ivr = d;
            ims_counter_inc(mrfc->ivr->m_started);
            mrfc_session_log(s, IMS_LOG_INFO, "mrfc: IVR dialog %s on %s by channel %s%s%s%s",
                             d->id, s->connid, mrfc_cfw_chan_id(ch),
                             d->has_prompt ? " prompt" : "", d->has_collect ? " collect" : "",
                             d->has_record ? " record" : "");
        }
        response(resp, cap, &v, v.status == 200 ? d->id : NULL);
        return;
    }
    free(d);
    ims_counter_inc(mrfc->ivr->m_refused);
    response(resp, cap, &v, ims_xml_attr(ds, "dialogid"));
}

static void dialogterminate(struct mrfc *mrfc, struct mrfc_chan *ch,
                            const struct ims_xml_node *dt, char *resp, size_t cap)
{
    struct verdict v = { 200, "dialog terminated" };
    const char *id = ims_xml_attr(dt, "dialogid");
    bool immediate = false;
    struct mrfc_ivr_dialog *d = id ? ims_map_get(mrfc->ivr->dialogs, id) : NULL;
    if (!id)
        refuse(&v, 400, "dialogterminate without dialogid");
    else if (bool_attr(dt, "immediate", &immediate, &v) == 0 && (!d || d->chan != ch))
        refuse(&v, 406, "dialogid does not exist");
    response(resp, cap, &v, id);
    if (v.status != 200)
        return;
    /* immediate or not, what runs stops now: its STOPPED events end the dialog (status 0) */
    d->terminated = true;
    if (d->playing || d->collecting || d->recording || d->beeping) {
        if (mrfc_media_stop(mrfc->media, d->s->leg) != 0) {
            d->playing = d->collecting = d->recording = d->beeping = false;
            maybe_exit(d);
        }
    }
}

void mrfc_ivr_control(struct mrfc *mrfc, struct mrfc_chan *ch, const char *body, size_t len,
                      char *resp, size_t cap)
{
    char err[160];
    struct verdict v = { 400, "" };
    struct ims_xml_node *root = ims_xml_parse(body, len, err, sizeof(err));
    const char *version = root ? ims_xml_attr(root, "version") : NULL;
    const struct ims_xml_node *req = root ? root->child : NULL;
    if (!root)
        refuse(&v, 400, "not XML: %s", err);
    else if (!ims_xml_is(root, "mscivr") || !version || strcmp(version, "1.0") != 0)
        refuse(&v, 400, "an <mscivr version=\"1.0\"> document is needed");
    else if (!req || req->next)
        refuse(&v, 400, "one request in an <mscivr>");
    else if (ims_xml_is(req, "dialogstart"))
        v.status = 0;
    else if (ims_xml_is(req, "dialogterminate"))
        v.status = 0;
    else if (ims_xml_is(req, "dialogprepare") || ims_xml_is(req, "audit"))
        refuse(&v, 439, "<%.40s> is not served", req->name);
    else
        refuse(&v, 400, "<%.40s> is no request of msc-ivr", req->name);
    if (v.status)
        response(resp, cap, &v, NULL);
    else if (ims_xml_is(req, "dialogstart"))
        dialogstart(mrfc, ch, req, resp, cap);
    else
        dialogterminate(mrfc, ch, req, resp, cap);
    ims_xml_free(root);
}

void mrfc_ivr_chan_gone(struct mrfc *mrfc, struct mrfc_chan *ch)
{
    for (struct mrfc_session *s = mrfc->sessions; s; s = s->next) {
        struct mrfc_ivr_dialog *d = s->ivr;
        if (!d || d->chan != ch)
            continue;
        if (s->leg_open)
            mrfc_media_stop(mrfc->media, s->leg);
        dialog_free(d);               /* nobody to tell */
    }
}

/* ---- start and stop ---- */

int mrfc_ivr_init(struct mrfc *mrfc)
{
    struct mrfc_ivr *ivr = calloc(1, sizeof(*ivr));
    if (!ivr)
        return -ENOMEM;
    mrfc->ivr = ivr;
    ivr->dialogs = ims_map_create(false);
    if (!ivr->dialogs)
        return -ENOMEM;
    const char *dir = ims_cfg_str(mrfc->d->cfg, "mrfc.record_dir");
    if (dir && *dir) {
        char path[PATH_MAX];
        ims_daemon_state_path(mrfc->d, dir, path, sizeof(path));
        if ((mkdir(path, 0750) != 0 && errno != EEXIST) || !realpath(path, ivr->record_dir)) {
            int e = errno;
            ims_err("mrfc: mrfc.record_dir %s: %s", path, strerror(e));
            return -e;
        }
        ims_info("mrfc: recordings go to %s", ivr->record_dir);
    }
    ivr->m_started = ims_counter_new("mrfc_ivr_dialogs_total", "IVR dialogs (RFC 6231)",
                                     "event=\"started\"");
    ivr->m_exited = ims_counter_new("mrfc_ivr_dialogs_total", "IVR dialogs (RFC 6231)",
                                    "event=\"exited\"");
    ivr->m_refused = ims_counter_new("mrfc_ivr_dialogs_total", "IVR dialogs (RFC 6231)",
                                     "event=\"refused\"");
    return 0;
}

static void free_dialog(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
}

void mrfc_ivr_fini(struct mrfc *mrfc)
{
    struct mrfc_ivr *ivr = mrfc->ivr;
    if (!ivr)
        return;
    /* a writer thread posts to the loop when it is done: wait for them (a few seconds) */
    for (int i = 0; i < 500 && atomic_load(&ivr->writers) > 0; i++)
        usleep(10000);
    if (ivr->dialogs) {
        ims_map_foreach(ivr->dialogs, free_dialog, NULL);
        ims_map_destroy(ivr->dialogs);
    }
    free(ivr);
    mrfc->ivr = NULL;
}
