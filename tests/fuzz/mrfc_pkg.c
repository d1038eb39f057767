/*
 * mrfc_pkg.c - fuzz harness of the MRF's control packages on the Cr channel (RFC 6230): the
 * IVR package's <mscivr> requests (mrfc/ivr.c, RFC 6231: dialogstart with prompt, collect
 * and record, dialogterminate) and the mixer package's <mscmixer> requests (mrfc/mixpkg.c,
 * RFC 6505: createconference, join, unjoin, destroyconference...), with the conferences of
 * mrfc/conf.c and the prompts of mrfc/prompt.c behind them
 *
 * Input: parts separated by "%%" (tests/fuzz/fuzz.h), each a first line then the rest:
 *     ivr A|B          the rest is the body of a CONTROL of package msc-ivr/1.0 from
 *                      channel A or B
 *     mixer A|B        the same for msc-mixer/1.0
 *     event <leg> <kind> <reason> <digits>
 *                      what the media engine reports of leg 0 to 2 (enum mrfc_media_event_kind,
 *                      enum mrfc_media_reason; digits mapped onto 0-9*#A-D, all the engine
 *                      reports), for the last request the leg was given
 * Three media legs of the AS are up (connection ids "a1~m1", "b1~m2", "c1~m3" and the
 * other order of their tags); one prompt, "file:///<prompts>/hello.wav" ("hello"). The
 * framing (cfw_msg.c: `mrfc_wire`) and the TCP channel (cfw.c) are left out: the link options
 * replace mrfc_cfw_event() and mrfc_cfw_chan_id() (events to the AS are checked, not sent)
 * and the media engine's commands (accepted, not run). After each input both channels go
 * (mrfc_ivr_chan_gone(), mrfc_mixer_chan_gone()) and the legs leave their conferences.
 * Properties, besides ASan/UBSan: every response is an <mscivr> or <mscmixer> document with
 * one <response> whose status is 200 to 499 (RFC 6231 / 6505 status codes); every event the
 * MRF sends is well-formed XML of its package; after the channels go, no dialog runs on a
 * leg and no conference is left.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "config.h"
#include "mrfc.h"
#include "cfw.h"
#include "session.h"
#include "xml.h"

#define NLEGS 3

static struct ims_daemon d;
static struct mrfc mrfc;
static struct mrfc_session legs[NLEGS];
static char chan_a[] = "chan-A", chan_b[] = "chan-B";   /* the channels, opaque to ivr.c */
static uint64_t cookies[NLEGS];
static unsigned mixers;

/* ---- the cut-offs (link options) ---- */

const char *__wrap_mrfc_cfw_chan_id(const struct mrfc_chan *ch);
const char *__wrap_mrfc_cfw_chan_id(const struct mrfc_chan *ch)
{
    return (const char *)ch;
}

/* An event of @pkg to the AS: well-formed XML of that package */
void __wrap_mrfc_cfw_event(struct mrfc_chan *ch, const char *pkg, const char *body);
void __wrap_mrfc_cfw_event(struct mrfc_chan *ch, const char *pkg, const char *body)
{
    char err[160];
    FUZZ_ASSERT(ch == (void *)chan_a || ch == (void *)chan_b, "an event to no channel");
    struct ims_xml_node *root = ims_xml_parse(body, strlen(body), err, sizeof(err));
    bool ivr = strcmp(pkg, MRFC_PKG_IVR) == 0;
    FUZZ_ASSERT(root && ims_xml_is(root, ivr ? "mscivr" : "mscmixer") &&
                ims_xml_child(root, "event"), "event of %s not well formed (%s): %s", pkg,
                root ? "" : err, body);
    ims_xml_free(root);
}

static int leg_index(uint32_t id)
{
    for (int i = 0; i < NLEGS; i++)
        if (legs[i].leg == id)
            return i;
    FUZZ_ASSERT(false, "a command for leg %u, no leg of ours", id);
    return -1;
}

int __wrap_mrfc_media_play(struct mrfc_media *m, uint32_t id, const struct mrfc_play *p);
int __wrap_mrfc_media_play(struct mrfc_media *m, uint32_t id, const struct mrfc_play *p)
{
    (void)m;
    FUZZ_ASSERT(p->nitems > 0 && p->nitems <= MRFC_PLAY_MAX, "a play of %u items", p->nitems);
    cookies[leg_index(id)] = p->cookie;
    return 0;
}

int __wrap_mrfc_media_collect(struct mrfc_media *m, uint32_t id, const struct mrfc_collect *c);
int __wrap_mrfc_media_collect(struct mrfc_media *m, uint32_t id, const struct mrfc_collect *c)
{
    (void)m;
    FUZZ_ASSERT(c->max_digits >= 1 && c->max_digits <= MRFC_DIGITS_MAX, "collect %u digits",
                c->max_digits);
    cookies[leg_index(id)] = c->cookie;
    return 0;
}

int __wrap_mrfc_media_record(struct mrfc_media *m, uint32_t id, const struct mrfc_record *r);
int __wrap_mrfc_media_record(struct mrfc_media *m, uint32_t id, const struct mrfc_record *r)
{
    (void)m;
    cookies[leg_index(id)] = r->cookie;
    return 0;
}

int __wrap_mrfc_media_stop(struct mrfc_media *m, uint32_t id);
int __wrap_mrfc_media_stop(struct mrfc_media *m, uint32_t id)
{
    (void)m;
    leg_index(id);
    return 0;
}

int __wrap_mrfc_media_mixer_create(struct mrfc_media *m, uint32_t *mixer);
int __wrap_mrfc_media_mixer_create(struct mrfc_media *m, uint32_t *mixer)
{
    (void)m;
    *mixer = ++mixers;
    return 0;
}

int __wrap_mrfc_media_mixer_destroy(struct mrfc_media *m, uint32_t mixer);
int __wrap_mrfc_media_mixer_destroy(struct mrfc_media *m, uint32_t mixer)
{
    (void)m;
    (void)mixer;
    return 0;
}

int __wrap_mrfc_media_join(struct mrfc_media *m, uint32_t id, uint32_t mixer);
int __wrap_mrfc_media_join(struct mrfc_media *m, uint32_t id, uint32_t mixer)
{
    (void)m;
    (void)mixer;
    leg_index(id);
    return 0;
}

int __wrap_mrfc_media_unjoin(struct mrfc_media *m, uint32_t id);
int __wrap_mrfc_media_unjoin(struct mrfc_media *m, uint32_t id)
{
    (void)m;
    leg_index(id);
    return 0;
}

/* ---- set-up ---- */

static char tmp_dir[64], tmp_wav[128], tmp_conf[128];

/* The harness's folder goes when it exits */
static void remove_tmp(void)
{
    unlink(tmp_wav);
    unlink(tmp_conf);
    rmdir(tmp_dir);
}

/* A folder of its own with one prompt of 100 ms of silence: hello.wav */
static void make_prompts(void)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/ims-fuzz-mrfc-pkg.XXXXXX");
    if (!mkdtemp(tmp_dir))
        abort();
    snprintf(tmp_wav, sizeof(tmp_wav), "%s/hello.wav", tmp_dir);
    snprintf(tmp_conf, sizeof(tmp_conf), "%s/mrfc.conf", tmp_dir);
    atexit(remove_tmp);
    SF_INFO info = { .samplerate = 8000, .channels = 1,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    short samples[800] = { 0 };
    SNDFILE *f = sf_open(tmp_wav, SFM_WRITE, &info);
    if (!f || sf_write_short(f, samples, 800) != 800 || sf_close(f) != 0)
        abort();
}

static const struct ims_cfg_key keys[] = {
    { "mrfc", "record_dir", IMS_CFG_STR, "", 0, 0, 0, NULL, NULL, "recordings" },
    IMS_CFG_END
};

static void add_conn(const char *id, struct mrfc_session *s)
{
    int err = 0;
    ims_map_put(mrfc.conns, id, s, &err);
    if (err)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[300];
    fuzz_logs("mrfc");
    make_prompts();
    FILE *f = fopen(tmp_conf, "w");
    if (!f || fclose(f) != 0)
        abort();
    const struct ims_cfg_key *const schemas[] = { keys, NULL };
    d.cfg = ims_cfg_load(tmp_conf, schemas, err, sizeof(err));
    FUZZ_ASSERT(d.cfg != NULL, "%s", err);
    mrfc.d = &d;
    mrfc.prompts = mrfc_prompts_load(tmp_dir, 1 << 20, err, sizeof(err));
    FUZZ_ASSERT(mrfc.prompts && mrfc_prompts_count(mrfc.prompts) == 1, "prompts: %s", err);
    mrfc.conns = ims_map_create(false);
    mrfc.m_confs = ims_gauge_new("mrfc_conferences", "conferences", NULL);
    if (!mrfc.conns || mrfc_conf_init(&mrfc) != 0 || mrfc_ivr_init(&mrfc) != 0)
        abort();
    static const char *const tags[NLEGS][2] = { { "a1", "m1" }, { "b1", "m2" },
                                                 { "c1", "m3" } };
    for (int i = 0; i < NLEGS; i++) {
        struct mrfc_session *s = &legs[i];
        s->mrfc = &mrfc;
        s->state = MRFC_S_CONFIRMED;
        s->leg = 0x100u + (uint32_t)i;
        s->leg_open = true;
        s->svc.kind = MRFC_SVC_MEDIA;
        snprintf(s->remote_tag, sizeof(s->remote_tag), "%s", tags[i][0]);
        snprintf(s->local_tag, sizeof(s->local_tag), "%s", tags[i][1]);
        snprintf(s->connid, sizeof(s->connid), "%s~%s", tags[i][0], tags[i][1]);
        snprintf(s->call_id, sizeof(s->call_id), "leg-%d@127.0.0.50", i);
        char other[MRFC_CONNID_MAX];
        snprintf(other, sizeof(other), "%s~%s", tags[i][1], tags[i][0]);
        add_conn(s->connid, s);
        add_conn(other, s);
        s->next = mrfc.sessions;
        s->prevp = &mrfc.sessions;
        if (mrfc.sessions)
            mrfc.sessions->prevp = &s->next;
        mrfc.sessions = s;
    }
    return 0;
}

/* ---- one input ---- */

/* The response to a request of @pkg: one <response> with a status of 200 to 499 */
static void check_response(const char *resp, const char *root_name)
{
    char err[160];
    struct ims_xml_node *root = ims_xml_parse(resp, strlen(resp), err, sizeof(err));
    const struct ims_xml_node *r = root ? ims_xml_child(root, "response") : NULL;
    const char *st = r ? ims_xml_attr(r, "status") : NULL;
    int status = st ? atoi(st) : 0;
    FUZZ_ASSERT(root && ims_xml_is(root, root_name) && r && status >= 200 && status < 500,
                "response not as RFC 6231/6505 (%s): %s", root ? "" : err, resp);
    ims_xml_free(root);
}

static void event_part(const char *line)
{
    unsigned leg = 0;
    int kind = 0, reason = 0;
    struct mrfc_media_event ev;
    memset(&ev, 0, sizeof(ev));
    if (sscanf(line, "event %u %d %d %16s", &leg, &kind, &reason, ev.digits) < 3 ||
        leg >= NLEGS)
        return;
    /* the engine reports DTMF digits only (RFC 4733 events 0-15, or in-band tones) */
    for (char *c = ev.digits; *c; c++)
        *c = "0123456789*#ABCD"[(unsigned char)*c % 16];
    ev.kind = kind;
    ev.reason = reason;
    ev.leg = legs[leg].leg;
    ev.cookie = cookies[leg];
    if (kind == MRFC_EV_RECORD_DONE) {
        ev.nsamples = 160;
        ev.samples = calloc(ev.nsamples, sizeof(int16_t));
    }
    mrfc_ivr_media_event(&legs[leg], &ev);
    free(ev.samples);
}

static void one_part(const uint8_t *p, size_t len)
{
    const uint8_t *nl = memchr(p, '\n', len);
    size_t llen = nl ? (size_t)(nl - p) : len;
    char line[128];
    snprintf(line, sizeof(line), "%.*s", (int)(llen < sizeof(line) ? llen : sizeof(line) - 1),
             (const char *)p);
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? len - llen - 1 : 0;
    char resp[MRFC_PKG_BODY_MAX];
    struct mrfc_chan *ch = (struct mrfc_chan *)(strstr(line, " B") ? chan_b : chan_a);
    resp[0] = '\0';
    if (strncmp(line, "ivr", 3) == 0) {
        mrfc_ivr_control(&mrfc, ch, body, blen, resp, sizeof(resp));
        check_response(resp, "mscivr");
    } else if (strncmp(line, "mixer", 5) == 0) {
        mrfc_mixer_control(&mrfc, ch, body, blen, resp, sizeof(resp));
        check_response(resp, "mscmixer");
    } else if (strncmp(line, "event", 5) == 0) {
        event_part(line);
    }
}

static void left(void *arg, const char *key, void *value)
{
    (void)value;
    (*(int *)arg)++;
    fprintf(stderr, "fuzz: conference %s left\n", key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part;
    size_t plen;
    for (int n = 0; n < 12 && fuzz_part(&data, &size, &part, &plen); n++)
        one_part(part, plen);
    /* both channels go; the legs leave what they were joined to */
    mrfc_ivr_chan_gone(&mrfc, (struct mrfc_chan *)chan_a);
    mrfc_ivr_chan_gone(&mrfc, (struct mrfc_chan *)chan_b);
    mrfc_mixer_chan_gone(&mrfc, (struct mrfc_chan *)chan_a);
    mrfc_mixer_chan_gone(&mrfc, (struct mrfc_chan *)chan_b);
    for (int i = 0; i < NLEGS; i++) {
        FUZZ_ASSERT(legs[i].ivr == NULL, "a dialog still runs on leg %d", i);
        if (legs[i].conf)
            mrfc_conf_leave(&legs[i], false);
        cookies[i] = 0;
    }
    int n = 0;
    ims_map_foreach(mrfc.confs, left, &n);
    FUZZ_ASSERT(n == 0, "%d conferences left after their channels went", n);
    return 0;
}
