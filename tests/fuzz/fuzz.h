/*
 * fuzz.h - helpers shared by the libFuzzer harnesses of tests/fuzz/ (see README.md there)
 *
 * Inputs made of several parts separate them with a line "%%" ("\n%%\n" between parts), so
 * the seed files of tests/fuzz/corpus/ stay readable text where the protocol is text.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_H
#define IMS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEP "\n%%\n"

/* A property of the code under test does not hold: report it as a finding (abort). */
#define FUZZ_ASSERT(cond, ...)                                                        \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz: %s:%d: %s does not hold: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* The same for a property that its condition says all of (the codec harnesses) */
#define FUZZ_CHECK(cond) FUZZ_ASSERT(cond, "%s", "")

/* A NUL-terminated copy of @n bytes (embedded NULs kept; C string users stop at them). */
static inline char *fuzz_str(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/*
 * The next part of the input: up to FUZZ_SEP or the end. Returns false when nothing is
 * left. *d and *n advance past the part and its separator.
 */
static inline bool fuzz_part(const uint8_t **d, size_t *n, const uint8_t **part, size_t *len)
{
    if (!*d)
        return false;
    const uint8_t *hit = memmem(*d, *n, FUZZ_SEP, sizeof(FUZZ_SEP) - 1);
    *part = *d;
    if (!hit) {
        *len = *n;
        *d = NULL;
        *n = 0;
        return true;
    }
    *len = (size_t)(hit - *d);
    *n -= *len + sizeof(FUZZ_SEP) - 1;
    *d = hit + sizeof(FUZZ_SEP) - 1;
    return true;
}

/* Where the logs go: IMS_FUZZ_LOG=<file> to read them, else nowhere */
static inline const char *fuzz_log_path(void)
{
    const char *p = getenv("IMS_FUZZ_LOG");
    return p && *p ? p : "/dev/null";
}

/* Every log line is formatted (attacker text goes through the escaping) and dropped. */
static inline void fuzz_logs(const char *name)
{
    if (ims_log_init(name, IMS_LOG_DEBUG, IMS_LOG_KV, fuzz_log_path()) != 0)
        abort();
}

#endif
