/*
 * xml.h - a small, strict reader for the XML documents of the IMS interfaces
 *
 * The Cx User-Data (IMSSubscription, TS 29.228), the Sh-Data of Sh (TS 29.328) and
 * reginfo (RFC 3680) are plain element trees: no DTD, no entities beyond the predefined and
 * numeric ones. This reader builds such a tree, refuses what these documents never
 * contain (DOCTYPE, unbalanced tags, over-deep nesting), and keeps for every element the
 * offsets of its raw inner content (Sh ServiceData carries an AS's own XML verbatim).
 * Attributes are checked for syntax and skipped. Namespace prefixes are ignored in lookups.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_XML_H
#define IMS_XML_H

#include <stddef.h>

struct ims_xml_node {
    char *name;                  /* element name as written (with any prefix) */
    char *text;                  /* decoded character data directly inside, trimmed */
    size_t raw_off, raw_len;     /* inner content span in the parsed document */
    struct ims_xml_node *child;  /* first child element */
    struct ims_xml_node *next;   /* next sibling element */
};

/*
 * ims_xml_parse - parse @len bytes of @doc into a tree (the root element).
 * Returns NULL with a reason in @err (with the byte offset) on malformed input.
 */
struct ims_xml_node *ims_xml_parse(const char *doc, size_t len, char *err, size_t errlen);
void ims_xml_free(struct ims_xml_node *root);

/* First child / next sibling with the given local name (prefix ignored), or NULL. */
struct ims_xml_node *ims_xml_child(const struct ims_xml_node *n, const char *name);
struct ims_xml_node *ims_xml_next(const struct ims_xml_node *n, const char *name);
/* Text of the first child with that name, or NULL when there is no such child. */
const char *ims_xml_child_text(const struct ims_xml_node *n, const char *name);

#endif
