/*
 * diam_dest.h - a list of servers for one function (CDFs, OCSs), in order of preference
 *
 * charging.cdf and charging.ocs name one server or several ("ocs.a, ocs2.a"): servers of the
 * same realm that share nothing. A request goes to the first one whose connection is open
 * (its Destination-Host is set to it), so that the second takes over while the first is down
 * and the first takes its traffic back when it returns. Without Destination-Host,
 * freeDiameter would spread the requests of one session over the servers at random.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_DIAM_DEST_H
#define IMS_DIAM_DEST_H

#include <stdbool.h>
#include <stddef.h>

struct msg;

#define IMS_DEST_MAX 4
#define IMS_DEST_LEN 256

struct ims_dest_list {
    char host[IMS_DEST_MAX][IMS_DEST_LEN];
    size_t n;
};

/* "a, b" (commas and/or blanks) -> @l. 0, or -EINVAL (empty, more than IMS_DEST_MAX, or
 * a name too long). */
int ims_dest_parse(struct ims_dest_list *l, const char *s);

/* The list again as "a, b" (for logs), in @buf. */
const char *ims_dest_str(const struct ims_dest_list *l, char *buf, size_t len);

/*
 * ims_dest_pick - the first server of @l whose connection is open, other than @avoid
 * (NULL: none avoided); NULL when none is. ims_dest_pick_by asks @is_open (tests);
 * ims_dest_pick asks freeDiameter (any thread).
 */
const char *ims_dest_pick_by(const struct ims_dest_list *l, const char *avoid,
                             bool (*is_open)(const char *host));
const char *ims_dest_pick(const struct ims_dest_list *l, const char *avoid);

/* Whether @host is one of @l (case-insensitive, as Diameter identities compare). */
bool ims_dest_has(const struct ims_dest_list *l, const char *host);

/* Set the Destination-Host of request @m to @host, replacing the one it has. 0 or -errno. */
int ims_dest_set(struct msg *m, const char *host);

#endif
