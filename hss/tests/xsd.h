/*
 * xsd.h - validate a document against one of the project's schemas with xmllint
 * (shared by the HSS tests; tests run from the repository root)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HSS_TESTS_XSD_H
#define HSS_TESTS_XSD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 when @doc validates against tests/data/@xsd; xmllint's verdict goes to stderr */
static inline int xsd_validate(const char *doc, const char *xsd)
{
    char path[] = "/tmp/ims-xsd-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t len = strlen(doc);
    if (write(fd, doc, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "xmllint --noout --schema tests/data/%s %s 2>&1 | grep -v validates"
             " >&2; exit ${PIPESTATUS[0]}", xsd, path);
    char full[640];
    snprintf(full, sizeof(full), "bash -c '%s'", cmd);
    int rc = system(full);
    unlink(path);
    return rc;
}

#endif
