/*
 * profile.c - what the S-CSCF reads from the IMSSubscription document (TS 29.228 Annex E):
 * the public identities of the registered set and their barring
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "scscf.h"
#include "xml.h"

#include <stdio.h>
#include <string.h>

int scscf_profile_identities(const char *xml, char ids[][SCSCF_ID_MAX], bool *barred, int max)
{
    char err[128];
    struct ims_xml_node *root = ims_xml_parse(xml, strlen(xml), err, sizeof(err));
    if (!root)
        return -1;
    int n = 0;
    for (struct ims_xml_node *sp = ims_xml_child(root, "ServiceProfile"); sp && n < max;
         sp = ims_xml_next(sp, "ServiceProfile")) {
        for (struct ims_xml_node *pi = ims_xml_child(sp, "PublicIdentity"); pi && n < max;
             pi = ims_xml_next(pi, "PublicIdentity")) {
            const char *id = ims_xml_child_text(pi, "Identity");
            const char *b = ims_xml_child_text(pi, "BarringIndication");
            if (!id || !*id)
                continue;
            snprintf(ids[n], SCSCF_ID_MAX, "%s", id);
            barred[n] = b && (strcmp(b, "1") == 0 || strcmp(b, "true") == 0);
            n++;
        }
    }
    ims_xml_free(root);
    return n;
}
