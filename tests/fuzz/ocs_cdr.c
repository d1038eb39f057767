/*
 * ocs_cdr.c - fuzz harness of the CDR export rows (ocs/cdr.c ocs_cdr_csv, ocs_cdr_json, as
 * ocs/cdr_export.c writes them) and of folding ACRs into a CDR (ocs_cdr_apply)
 *
 * Input: 64 bytes of numbers (record fields, then the sizes of the CSV buffer to try), then
 * the text fields separated by NUL bytes: icid, session id, node, method, calling, called,
 * originating IOI, terminating IOI, media, incoming and outgoing trunk. Every string an ACR
 * carries reaches a CDR as it came (Diameter UTF8String AVPs are not checked by
 * freeDiameter).
 *
 * Properties: a CSV row never writes past its buffer and is a string; a row that fits reads
 * back (RFC 4180) into the same fields; the JSON of every CDR exists (a CDR missing from the
 * JSON file would be lost silently: the export marks it exported with the CSV).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "buf.h"
#include "ocs.h"

#include <limits.h>

#define NUMS 64

static uint64_t num(const uint8_t *d, int i, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v = v << 8 | d[i + k];
    return v;
}

static void text(char *dst, size_t len, const uint8_t **d, size_t *n)
{
    const uint8_t *end = *n ? memchr(*d, 0, *n) : NULL;
    size_t l = end ? (size_t)(end - *d) : *n;
    snprintf(dst, len, "%.*s", (int)(l < len ? l : len - 1), (const char *)*d);
    *d += l + (end != NULL);
    *n -= l + (end != NULL);
}

/* RFC 4180: the fields of one row (a quoted field may hold commas, quotes, line breaks) */
static int csv_split(const char *s, char fields[][1100], int max)
{
    int n = 0;
    for (;;) {
        char *o = fields[n];
        if (*s == '"') {
            for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
                if (*s == '"')
                    s++;
                *o++ = *s;
            }
            if (*s != '"')
                return -1;
            s++;
        } else {
            while (*s && *s != ',')
                *o++ = *s++;
        }
        *o = '\0';
        n++;
        if (*s != ',')
            return *s ? -1 : n;
        if (n == max)
            return -1;
        s++;
    }
}

static void check_row(const struct ocs_cdr *c, const char *row)
{
    static char f[24][1100];
    int n = csv_split(row, f, 24);
    FUZZ_ASSERT(n == 22, "%d fields in [%s]", n, row);
    const char *texts[] = { c->icid, c->session_id, c->node, NULL, NULL, NULL, c->method,
                            c->calling, c->called };
    for (int i = 0; i < 9; i++)
        FUZZ_ASSERT(!texts[i] || strcmp(f[1 + i], texts[i]) == 0, "field %d [%s] != [%s]",
                    1 + i, f[1 + i], texts[i]);
    FUZZ_ASSERT(!strcmp(f[16], c->orig_ioi) && !strcmp(f[17], c->term_ioi) &&
                    !strcmp(f[18], c->media), "IOI or media field");
    FUZZ_ASSERT(!strcmp(f[20], c->trunk_in) && !strcmp(f[21], c->trunk_out), "trunk field");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_logs("ocs");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t nums[NUMS] = { 0 };
    memcpy(nums, data, size < NUMS ? size : NUMS);
    const uint8_t *d = data + (size < NUMS ? size : NUMS);
    size_t n = size < NUMS ? 0 : size - NUMS;
    struct ocs_cdr c;
    memset(&c, 0, sizeof(c));
    c.id = (int64_t)num(nums, 0, 8);
    c.event = nums[8] & 1;
    c.status = (enum ocs_cdr_status)(nums[9] % 4);
    c.partial = nums[10] & 1;
    c.role = (int)(int8_t)nums[11];
    c.node_functionality = (int)(int8_t)nums[12];
    c.cause = nums[13] == 0xff ? INT_MIN : (int)(int32_t)num(nums, 14, 4);
    c.start = (time_t)(int64_t)num(nums, 18, 8);
    c.stop = (time_t)(int64_t)num(nums, 26, 8);
    c.duration = (int64_t)num(nums, 34, 8);
    c.interims = (uint32_t)num(nums, 42, 4);
    text(c.icid, sizeof(c.icid), &d, &n);
    text(c.session_id, sizeof(c.session_id), &d, &n);
    text(c.node, sizeof(c.node), &d, &n);
    text(c.method, sizeof(c.method), &d, &n);
    text(c.calling, sizeof(c.calling), &d, &n);
    text(c.called, sizeof(c.called), &d, &n);
    text(c.orig_ioi, sizeof(c.orig_ioi), &d, &n);
    text(c.term_ioi, sizeof(c.term_ioi), &d, &n);
    text(c.media, sizeof(c.media), &d, &n);
    text(c.trunk_in, sizeof(c.trunk_in), &d, &n);
    text(c.trunk_out, sizeof(c.trunk_out), &d, &n);

    /* the row grows as it needs (ASan sees any write past its buffer) */
    struct ims_buf b = { 0 };
    ocs_cdr_csv(&c, &b);
    char *full = ims_buf_take(&b);
    FUZZ_ASSERT(full != NULL, "CSV row");
    check_row(&c, full);
    free(full);
    json_t *j = ocs_cdr_json(&c);
    FUZZ_ASSERT(j != NULL, "no JSON for the CDR (it would be left out of the export file)");
    char *s = json_dumps(j, JSON_COMPACT);
    FUZZ_ASSERT(s != NULL, "JSON text");
    free(s);
    json_decref(j);
    return 0;
}
