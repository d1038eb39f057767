/*
 * store_db.c - the S-CSCF's registrations on disk: images of what changed, one writer
 * thread, group commit, and the registrations read back at start
 *
 * The registrations live on the loop thread (store.c). A change marks its aor dirty (the
 * dirty list) or notes the removed set's id. A batch is the image (a copy) of every dirty
 * aor and the removed ids: the writer thread writes it in one transaction and hands it back
 * to the loop thread, which then tells those waiting (scscf_store_commit: the 200 OK of a
 * REGISTER leaves only then). One batch is with the writer at a time: whatever changes
 * while it commits goes in the next one, as soon as it is back (group commit). The writer
 * owns the connection once started; the loop thread never waits for SQLite.
 *
 * A failed transaction changes nothing on disk: its aors are marked dirty again (those still
 * in memory) and its waiters hear -EIO (their REGISTERs get 500); the next try comes with
 * the next commit or the tick (scscf_store_flush), never in a busy loop.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char schema_v1[] =
    "CREATE TABLE aor ("
    " id TEXT PRIMARY KEY,"               /* the first public identity of the set */
    " impus TEXT NOT NULL,"               /* the identities, one per line */
    " barred TEXT NOT NULL,"              /* '0'/'1' per identity */
    " profile TEXT,"
    " ccf TEXT);"
    "CREATE TABLE contact ("
    " aor TEXT NOT NULL REFERENCES aor(id) ON DELETE CASCADE,"
    " uri TEXT NOT NULL,"
    " expires INTEGER NOT NULL,"
    " instance TEXT, reg_id INTEGER, call_id TEXT, cseq INTEGER, path TEXT, impi TEXT,"
    " user_agent TEXT,"
    " PRIMARY KEY (aor, uri));";

/* v2: the temporary GRUU of a binding (RFC 5627) */
static const char schema_v2[] = "ALTER TABLE contact ADD COLUMN tgruu TEXT;";

/* v3: the event charging function (online charging) of a set */
static const char schema_v3[] = "ALTER TABLE aor ADD COLUMN ecf TEXT;";

static const char *const migrations[] = { schema_v1, schema_v2, schema_v3 };

/* The copy of an aor as it is to be written */
struct image {
    struct image *next;
    char *id;                             /* impus[0] */
    char *impus;                          /* one per line */
    char barred[SCSCF_MAX_IMPUS + 1];
    char *profile;                        /* NULL: none */
    char ccf[SCSCF_ID_MAX];
    char ecf[SCSCF_ID_MAX];
    struct scscf_contact *contacts;       /* copies, each with its own text */
};

/* One transaction: the removed sets first, then the images */
struct batch {
    struct batch *next;
    struct image *images;
    char **removed;
    size_t nremoved;
    size_t naors;                         /* images + removed, for the log */
    bool partial;                         /* an image could not be made (no memory) */
    int rc;                               /* of the transaction */
};

struct waiter {
    struct waiter *next;
    scscf_store_done_fn fn;
    void *arg;
};

struct scscf_store {
    struct scscf *s;
    bool full;                            /* synchronous = FULL */
    /* loop thread */
    struct scscf_aor *dirty;              /* dirty aors (aor->dprev/dnext) */
    char **removed;                       /* ids of sets removed since the last batch */
    size_t nremoved, capremoved;
    struct waiter *waiting, **waiting_end;   /* for the next batch */
    struct waiter *riding;                /* for the batch with the writer */
    bool in_flight;                       /* a batch is with the writer */
    bool scheduled;                       /* a submit job is queued on the loop */
    /* shared with the writer, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running;                         /* the writer thread exists */
    bool stopping;                        /* the writer ends; nothing more is posted */
    bool closed;                          /* scscf_store_fini is done: queued jobs only
                                           * release the store */
    unsigned jobs;                        /* loop jobs queued that point at the store */
    bool wake_queued;                     /* a wake job is on the loop queue */
    struct batch *todo;                   /* for the writer */
    struct batch *done;                   /* back from the writer */
};

static struct {
    struct ims_counter *batches, *failures, *waiters;
    struct ims_histogram *seconds;
} m;

static void register_metrics(void)
{
    m.batches = ims_counter_new("scscf_store_commits_total", "registration batches committed "
                                "to the database", NULL);
    m.failures = ims_counter_new("scscf_store_failures_total", "registration batches whose "
                                 "transaction failed (kept in memory, written again)", NULL);
    m.waiters = ims_counter_new("scscf_store_waits_total", "answers that waited for their "
                                "registration to be committed", NULL);
    m.seconds = ims_histogram_new("scscf_store_commit_seconds", "time to write and commit one "
                                  "batch (the writer thread)", NULL, ims_latency_bounds,
                                  ims_latency_nbounds);
}

/* ---- the dirty list and the removed ids (loop thread) ---- */

void scscf_store_touch(struct scscf *s, struct scscf_aor *aor)
{
    struct scscf_store *st = s->store;
    if (aor->dirty)
        return;
    aor->dirty = true;
    if (!st)
        return;
    aor->dprev = NULL;
    aor->dnext = st->dirty;
    if (st->dirty)
        st->dirty->dprev = aor;
    st->dirty = aor;
}

static void untouch(struct scscf_store *st, struct scscf_aor *aor)
{
    if (!aor->dirty)
        return;
    aor->dirty = false;
    if (!st)
        return;
    if (aor->dprev)
        aor->dprev->dnext = aor->dnext;
    else
        st->dirty = aor->dnext;
    if (aor->dnext)
        aor->dnext->dprev = aor->dprev;
    aor->dprev = aor->dnext = NULL;
}

/* Note that the row of @id goes; when that cannot be noted, the row stays until the next
 * start drops it as expired (its bindings expire there as here). */
static void note_removed(struct scscf_store *st, const char *id)
{
    if (st->nremoved == st->capremoved) {
        size_t cap = st->capremoved ? st->capremoved * 2 : 64;
        char **r = realloc(st->removed, cap * sizeof(*r));
        if (!r)
            return;
        st->removed = r;
        st->capremoved = cap;
    }
    st->removed[st->nremoved] = strdup(id);
    if (st->removed[st->nremoved])
        st->nremoved++;
}

void scscf_store_forget(struct scscf *s, struct scscf_aor *aor)
{
    untouch(s->store, aor);
    if (s->store)
        note_removed(s->store, aor->impus[0]);
}

static bool pending(const struct scscf_store *st)
{
    return st->dirty || st->nremoved || st->waiting;
}

/* ---- images ---- */

static void image_free(struct image *im)
{
    while (im) {
        struct image *next = im->next;
        for (struct scscf_contact *c = im->contacts, *n; c; c = n) {
            n = c->next;
            free(c->text);
            free(c);
        }
        free(im->id);
        free(im->impus);
        free(im->profile);
        free(im);
        im = next;
    }
}

/* A copy of binding @c: its text block, the pointers moved into the copy */
static struct scscf_contact *contact_copy(const struct scscf_contact *c)
{
    const char *end = c->user_agent + strlen(c->user_agent) + 1;   /* the last string */
    size_t len = (size_t)(end - c->text);
    struct scscf_contact *x = malloc(sizeof(*x));
    char *text = malloc(len);
    if (!x || !text) {
        free(x);
        free(text);
        return NULL;
    }
    memcpy(text, c->text, len);
    *x = *c;
    x->next = NULL;
    x->text = text;
    x->uri = text + (c->uri - c->text);
    x->instance = text + (c->instance - c->text);
    x->call_id = text + (c->call_id - c->text);
    x->path = text + (c->path - c->text);
    x->impi = text + (c->impi - c->text);
    x->user_agent = text + (c->user_agent - c->text);
    return x;
}

static char *join_impus(const struct scscf_aor *aor)
{
    size_t len = 1;
    for (int i = 0; i < aor->nimpus; i++)
        len += strlen(aor->impus[i]) + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    size_t off = 0;
    for (int i = 0; i < aor->nimpus; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "\n" : "", aor->impus[i]);
    return out;
}

/* The image of @aor, NULL when out of memory */
static struct image *image_of(const struct scscf_aor *aor)
{
    struct image *im = calloc(1, sizeof(*im));
    if (!im)
        return NULL;
    im->id = strdup(aor->impus[0]);
    im->impus = join_impus(aor);
    im->profile = aor->profile ? strdup(aor->profile) : NULL;
    bool ok = im->id && im->impus && (!aor->profile || im->profile);
    for (int i = 0; i < aor->nimpus; i++)
        im->barred[i] = aor->barred[i] ? '1' : '0';
    snprintf(im->ccf, sizeof(im->ccf), "%s", aor->ccf ? aor->ccf : "");
    snprintf(im->ecf, sizeof(im->ecf), "%s", aor->ecf ? aor->ecf : "");
    struct scscf_contact **tail = &im->contacts;
    for (const struct scscf_contact *c = aor->contacts; ok && c; c = c->next) {
        *tail = contact_copy(c);
        ok = *tail != NULL;
        if (ok)
            tail = &(*tail)->next;
    }
    if (!ok) {
        image_free(im);
        return NULL;
    }
    return im;
}

static void batch_free(struct batch *b)
{
    image_free(b->images);
    for (size_t i = 0; i < b->nremoved; i++)
        free(b->removed[i]);
    free(b->removed);
    free(b);
}

/* Everything pending as one batch; the dirty list and the removed ids start empty again.
 * An aor whose image cannot be made stays dirty and the batch is marked partial. */
static struct batch *take_batch(struct scscf_store *st)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->removed = st->removed;
    b->nremoved = st->nremoved;
    st->removed = NULL;
    st->nremoved = st->capremoved = 0;
    struct scscf_aor *a = st->dirty;
    while (a) {
        struct scscf_aor *next = a->dnext;
        struct image *im = image_of(a);
        if (im) {
            im->next = b->images;
            b->images = im;
            untouch(st, a);
            b->naors++;
        } else {
            b->partial = true;
        }
        a = next;
    }
    b->naors += b->nremoved;
    return b;
}

/* ---- writing (the writer thread, or the caller's thread before start and at stop) ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    return rc;
}

static int write_contact(sqlite3_stmt *ins, const char *id, const struct scscf_contact *c)
{
    bind_text(ins, 1, id);
    bind_text(ins, 2, c->uri);
    sqlite3_bind_int64(ins, 3, (sqlite3_int64)c->expires);
    bind_text(ins, 4, c->instance);
    sqlite3_bind_int(ins, 5, c->reg_id);
    bind_text(ins, 6, c->call_id);
    sqlite3_bind_int64(ins, 7, c->cseq);
    bind_text(ins, 8, c->path);
    bind_text(ins, 9, c->impi);
    bind_text(ins, 10, c->user_agent);
    bind_text(ins, 11, c->tgruu);
    return step_done(ins);
}

/* The row of one set and its bindings, replacing what was there */
static int write_image(struct ims_db *db, const struct image *im)
{
    sqlite3_stmt *st = ims_db_stmt(db, "INSERT OR REPLACE INTO aor (id, impus, barred, profile,"
                                       " ccf, ecf) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    sqlite3_stmt *del = ims_db_stmt(db, "DELETE FROM contact WHERE aor = ?1");
    sqlite3_stmt *ins = ims_db_stmt(db, "INSERT INTO contact (aor, uri, expires, instance, reg_id,"
                                        " call_id, cseq, path, impi, user_agent, tgruu) VALUES"
                                        " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!st || !del || !ins)
        return -EIO;
    bind_text(st, 1, im->id);
    bind_text(st, 2, im->impus);
    bind_text(st, 3, im->barred);
    bind_text(st, 4, im->profile);
    bind_text(st, 5, im->ccf);
    bind_text(st, 6, im->ecf);
    int rc = step_done(st);
    bind_text(del, 1, im->id);
    if (rc == 0)
        rc = step_done(del);
    for (const struct scscf_contact *c = im->contacts; rc == 0 && c; c = c->next)
        rc = write_contact(ins, im->id, c);
    return rc;
}

/* The batch in one transaction: 0 or -EIO (then nothing of it is on disk) */
static int write_batch(struct ims_db *db, const struct batch *b)
{
    if (!b->naors)
        return 0;
    if (ims_db_begin(db) != 0)
        return -EIO;
    int rc = 0;
    sqlite3_stmt *del = ims_db_stmt(db, "DELETE FROM aor WHERE id = ?1");
    if (!del)
        rc = -EIO;
    for (size_t i = 0; rc == 0 && i < b->nremoved; i++) {
        bind_text(del, 1, b->removed[i]);
        rc = step_done(del);
    }
    for (const struct image *im = b->images; rc == 0 && im; im = im->next)
        rc = write_image(db, im);
    if (rc == 0 && ims_db_commit(db) == 0)
        return 0;
    ims_err("scscf: %zu registration set(s) not written to the database: %s (kept in memory, "
            "written again)", b->naors, ims_db_errmsg(db));
    ims_db_rollback(db);
    return -EIO;
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void write_timed(struct scscf_store *st, struct batch *b)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    b->rc = write_batch(st->s->db, b);
    if (b->naors)
        ims_histogram_observe(m.seconds, since(&t0));
}

/* ---- jobs on the loop queue ---- */

static void store_free(struct scscf_store *st)
{
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
}

/* Queue @fn(@st) on the loop (the caller holds mu): 0, -EAGAIN, -EPIPE */
static int post_locked(struct scscf_store *st, ims_loop_fn fn)
{
    int rc = ims_loop_post(st->s->d->loop, fn, st);
    if (rc == 0)
        st->jobs++;
    return rc;
}

/* A queued job starts: false when the store is closed (the job must stop; the last one
 * frees the store, which scscf_store_fini left to it) */
static bool job_start(struct scscf_store *st)
{
    pthread_mutex_lock(&st->mu);
    st->jobs--;
    bool closed = st->closed, last = closed && st->jobs == 0;
    pthread_mutex_unlock(&st->mu);
    if (last)
        store_free(st);
    return !closed;
}

/* ---- back on the loop thread ---- */

static void schedule(struct scscf_store *st);

/* The batch's changes are not on disk: mark what is still in memory to be written again */
static void redo(struct scscf_store *st, const struct batch *b)
{
    for (const struct image *im = b->images; im; im = im->next) {
        struct scscf_aor *aor = scscf_store_find(st->s, im->id);
        if (aor)
            scscf_store_touch(st->s, aor);
    }
    for (size_t i = 0; i < b->nremoved; i++)
        if (!scscf_store_find(st->s, b->removed[i]))
            note_removed(st, b->removed[i]);
}

static void call_waiters(struct waiter *w, int rc)
{
    while (w) {
        struct waiter *next = w->next;
        w->fn(w->arg, rc);
        free(w);
        w = next;
    }
}

/* A batch is back: tell those who rode it, send the next one if anything is pending */
static void complete(struct scscf_store *st, struct batch *b)
{
    int rc = b->rc ? b->rc : b->partial ? -ENOMEM : 0;
    if (b->rc) {
        ims_counter_inc(m.failures);
        redo(st, b);
    } else if (b->naors) {
        ims_counter_inc(m.batches);
    }
    batch_free(b);
    struct waiter *w = st->riding;
    st->riding = NULL;
    st->in_flight = false;
    call_waiters(w, rc);
    /* after a failure the next try waits for the tick or the next commit: no busy retry */
    if (!rc && pending(st))
        schedule(st);
}

/* Loop job posted by the writer: the batches it finished */
static void wake(void *arg)
{
    struct scscf_store *st = arg;
    if (!job_start(st))
        return;
    pthread_mutex_lock(&st->mu);
    st->wake_queued = false;
    struct batch *b = st->done;
    st->done = NULL;
    pthread_mutex_unlock(&st->mu);
    while (b) {
        struct batch *next = b->next;
        complete(st, b);
        b = next;
    }
}

/* ---- the writer thread ---- */

/* Hand @b back to the loop thread (the caller holds mu) */
static void hand_back(struct scscf_store *st, struct batch *b)
{
    b->next = st->done;
    st->done = b;
    while (!st->wake_queued && !st->stopping) {
        int rc = post_locked(st, wake);
        if (rc == 0) {
            st->wake_queued = true;
        } else if (rc == -EAGAIN) {   /* the loop's queue is full: it drains soon */
            pthread_mutex_unlock(&st->mu);
            usleep(1000);
            pthread_mutex_lock(&st->mu);
        } else {
            break;                    /* the loop is gone: scscf_store_fini takes it */
        }
    }
}

static void *writer(void *arg)
{
    struct scscf_store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->todo && !st->stopping)
            pthread_cond_wait(&st->cv, &st->mu);
        struct batch *b = st->todo;
        if (!b)
            break;
        st->todo = NULL;
        pthread_mutex_unlock(&st->mu);
        write_timed(st, b);
        pthread_mutex_lock(&st->mu);
        hand_back(st, b);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- submitting (loop thread) ---- */

/* What is pending goes to the writer as one batch (written here when there is no writer) */
static void submit(struct scscf_store *st)
{
    if (st->in_flight || !pending(st))
        return;
    struct batch *b = take_batch(st);
    if (!b) {
        struct waiter *w = st->waiting;
        st->waiting = NULL;
        st->waiting_end = &st->waiting;
        call_waiters(w, -ENOMEM);
        return;
    }
    st->riding = st->waiting;
    st->waiting = NULL;
    st->waiting_end = &st->waiting;
    st->in_flight = true;
    pthread_mutex_lock(&st->mu);
    bool running = st->running && !st->stopping;
    if (running) {
        st->todo = b;
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    if (!running) {
        write_timed(st, b);
        complete(st, b);
    }
}

static void submit_job(void *arg)
{
    struct scscf_store *st = arg;
    if (!job_start(st))
        return;
    st->scheduled = false;
    submit(st);
}

/* Submit soon: after what the loop has queued now (more changes ride the same batch) */
static void schedule(struct scscf_store *st)
{
    if (st->scheduled || st->in_flight)
        return;           /* the batch coming back submits the next */
    pthread_mutex_lock(&st->mu);
    bool async = st->running && !st->stopping && post_locked(st, submit_job) == 0;
    pthread_mutex_unlock(&st->mu);
    if (async)
        st->scheduled = true;
    else
        submit(st);
}

void scscf_store_flush(struct scscf *s)
{
    if (s->store && pending(s->store))
        schedule(s->store);
}

int scscf_store_commit(struct scscf *s, scscf_store_done_fn fn, void *arg)
{
    struct scscf_store *st = s->store;
    if (!st || (!pending(st) && !st->in_flight)) {
        fn(arg, 0);       /* everything is on disk already */
        return 0;
    }
    struct waiter *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct waiter){ NULL, fn, arg };
    ims_counter_inc(m.waiters);
    if (!pending(st)) {   /* its changes are in the batch with the writer */
        w->next = st->riding;
        st->riding = w;
        return 0;
    }
    *st->waiting_end = w;
    st->waiting_end = &w->next;
    schedule(st);
    return 0;
}

/* ---- waiting from another thread ---- */

struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                 /* the waiting thread and the commit callback */
    bool done;
    int rc;
    struct scscf *s;
};

static void sync_unref(struct sync_wait *w)
{
    bool last = --w->refs == 0;
    pthread_mutex_unlock(&w->mu);
    if (last) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
    }
}

static void sync_done(void *arg, int rc)
{
    struct sync_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    w->rc = rc;
    pthread_cond_signal(&w->cv);
    sync_unref(w);
}

static void sync_start(void *arg)
{
    struct sync_wait *w = arg;
    if (!w->s->store || scscf_store_commit(w->s, sync_done, w) != 0)
        sync_done(w, w->s->store ? -ENOMEM : -EPIPE);
}

int scscf_store_sync(struct scscf *s, unsigned timeout_ms)
{
    struct sync_wait *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->refs = 2;
    w->s = s;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000 + 1;
    int rc = ims_loop_call(s->d->loop, sync_start, w, timeout_ms);
    pthread_mutex_lock(&w->mu);
    if (rc) {
        w->refs--;        /* never started: no callback will come */
    } else {
        while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == 0)
            ;
        rc = w->done ? w->rc : -ETIMEDOUT;
    }
    sync_unref(w);
    return rc;
}

/* ---- reading back at start ---- */

static void column(sqlite3_stmt *st, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static void load_contacts(struct scscf *s, struct scscf_aor *aor, time_t now)
{
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT uri, expires, instance, reg_id, call_id,"
                                          " cseq, path, impi, user_agent, tgruu FROM contact"
                                          " WHERE aor = ?1 AND expires > ?2");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, aor->impus[0], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct scscf_contact_in c = { .expires = 0 };
        column(st, 0, c.uri, sizeof(c.uri));
        c.expires = (time_t)sqlite3_column_int64(st, 1);
        column(st, 2, c.instance, sizeof(c.instance));
        c.reg_id = sqlite3_column_int(st, 3);
        column(st, 4, c.call_id, sizeof(c.call_id));
        c.cseq = (uint32_t)sqlite3_column_int64(st, 5);
        column(st, 6, c.path, sizeof(c.path));
        column(st, 7, c.impi, sizeof(c.impi));
        column(st, 8, c.user_agent, sizeof(c.user_agent));
        column(st, 9, c.tgruu, sizeof(c.tgruu));
        scscf_store_bind(s, aor, &c, 0);   /* kept before: no bound now */
    }
    sqlite3_reset(st);
}

/* Registrations left by the previous run; a set whose bindings all expired meanwhile goes
 * (its row with the first batch). */
static int load(struct scscf *s)
{
    time_t now = time(NULL);
    sqlite3_stmt *st = ims_db_stmt(s->db, "SELECT id, impus, barred, profile, ccf, ecf FROM aor");
    if (!st)
        return -EIO;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *profile = (const char *)sqlite3_column_text(st, 3);
        struct scscf_aor *aor = scscf_store_new(s, id, profile);
        if (!aor)
            break;
        if (scscf_store_set_name(&aor->ccf, (const char *)sqlite3_column_text(st, 4)) ||
            scscf_store_set_name(&aor->ecf, (const char *)sqlite3_column_text(st, 5)))
            break;
        load_contacts(s, aor, now);
        untouch(s->store, aor);   /* as it is on disk */
        if (!aor->contacts)
            scscf_store_remove(s, aor);
        else
            n++;
    }
    sqlite3_reset(st);
    ims_info("scscf: %d registration set(s), %zu binding(s) restored from the database", n,
             s->ncontacts);
    return 0;
}

/* ---- life cycle ---- */

int scscf_store_init(struct scscf *s, const char *db_path, bool full)
{
    s->aors = ims_map_create(true);
    s->tgruus = ims_map_create(false);
    s->store = calloc(1, sizeof(*s->store));
    if (!s->aors || !s->tgruus || !s->store)
        return -ENOMEM;
    struct scscf_store *st = s->store;
    st->s = s;
    st->full = full;
    st->waiting_end = &st->waiting;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    register_metrics();
    int rc = ims_db_open(&s->db, db_path, migrations, sizeof(migrations) / sizeof(migrations[0]));
    if (rc == 0 && full)
        rc = ims_db_exec(s->db, "PRAGMA synchronous = FULL");
    if (rc)
        return rc;
    ims_info("scscf: registrations in %s (synchronous = %s: a 200 OK survives a %s)", db_path,
             full ? "FULL" : "NORMAL", full ? "power loss" : "crash of the process");
    return load(s);
}

int scscf_store_start(struct scscf *s)
{
    struct scscf_store *st = s->store;
    int rc = pthread_create(&st->thread, NULL, writer, st);
    if (rc) {
        ims_err("scscf: cannot start the registration writer thread: %s", strerror(rc));
        return -rc;
    }
    pthread_mutex_lock(&st->mu);
    st->running = true;
    pthread_mutex_unlock(&st->mu);
    scscf_store_flush(s);         /* the rows of sets that expired while we were down */
    return 0;
}

/* Stop the writer; the batches it finished and what is still pending are completed here */
static void stop_writer(struct scscf_store *st)
{
    pthread_mutex_lock(&st->mu);
    bool running = st->running;
    st->stopping = true;
    st->running = false;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (running)
        pthread_join(st->thread, NULL);
    pthread_mutex_lock(&st->mu);
    struct batch *b = st->done;
    st->done = NULL;
    pthread_mutex_unlock(&st->mu);
    while (b) {
        struct batch *next = b->next;
        complete(st, b);
        b = next;
    }
    submit(st);                   /* written on this thread now */
}

static void free_pending(struct scscf_store *st)
{
    for (size_t i = 0; i < st->nremoved; i++)
        free(st->removed[i]);
    free(st->removed);
    st->removed = NULL;
    st->nremoved = st->capremoved = 0;
    call_waiters(st->waiting, -EPIPE);
    st->waiting = NULL;
}

void scscf_store_fini(struct scscf *s)
{
    struct scscf_store *st = s->store;
    if (st) {
        stop_writer(st);
        if (s->db && !st->dirty && !st->nremoved)
            ims_info("scscf: %zu binding(s) written to the database", s->ncontacts);
    }
    scscf_store_clear(s);
    ims_db_close(s->db);
    s->db = NULL;
    if (!st)
        return;
    s->store = NULL;
    free_pending(st);
    pthread_mutex_lock(&st->mu);
    st->closed = true;
    bool queued = st->jobs > 0;
    pthread_mutex_unlock(&st->mu);
    if (!queued)
        store_free(st);           /* else the last queued job frees it */
}
