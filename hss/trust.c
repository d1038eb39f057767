/*
 * trust.c - which Diameter peer may do what at the HSS (hss.sh_peers, hss.password_peers)
 *
 * The peer is the one whose connection delivered the request: the server accepted it by
 * its configured identity and address (common/diam_peer.h). Origin-Host is what the sender
 * wrote and decides nothing here.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"

#include <fnmatch.h>

bool hss_trust_listed(char *const *list, const char *peer)
{
    if (!peer || !*peer)
        return false;
    for (char *const *p = list; p && *p; p++)
        if (fnmatch(*p, peer, FNM_CASEFOLD) == 0)
            return true;
    return false;
}
