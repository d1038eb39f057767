/*
 * xml.h - a small, strict reader for the XML documents of the IMS interfaces
 *
 * The Cx User-Data (IMSSubscription, TS 29.228), the Sh-Data of Sh (TS 29.328) and
 * reginfo (RFC 3680) are plain element trees: no DTD, no entities beyond the predefined and
 * numeric ones. This reader builds such a tree with each element's attributes, refuses what
 * these documents never contain or what XML 1.0 does not allow (DOCTYPE, unbalanced tags,
 * a '<' or an unknown entity in an attribute value, an attribute given twice, characters
 * that are not XML characters, bytes that are not UTF-8, over-deep nesting, oversized
 * documents), and keeps for every element the offsets of its raw inner content (Sh
 * ServiceData carries an AS's own XML verbatim).
 *
 * Names: element lookups ignore the namespace prefix (the documents use their own at will).
 * Attribute lookups take the name as written: an unprefixed attribute is not the prefixed
 * one of another namespace (Namespaces in XML 1.0, section 6.2), so <e state="a" x:state="b">
 * has state "a". Attribute values are decoded and their blanks normalised (XML 1.0 3.3.3).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_XML_H
#define IMS_XML_H

#include <stdbool.h>
#include <stddef.h>

#define IMS_XML_DOC_MAX   (1 << 20)  /* bytes of a document */
#define IMS_XML_DEPTH_MAX 64         /* elements nested in the root element */
#define IMS_XML_ATTRS_MAX 64         /* attributes of one element */

struct ims_xml_attr {
    char *name;                  /* as written (with any prefix) */
    char *value;                 /* decoded */
    struct ims_xml_attr *next;   /* in document order */
};

struct ims_xml_node {
    char *name;                  /* element name as written (with any prefix) */
    char *text;                  /* decoded character data directly inside, trimmed */
    struct ims_xml_attr *attrs;  /* first attribute, or NULL */
    size_t raw_off, raw_len;     /* inner content span in the parsed document */
    struct ims_xml_node *child;  /* first child element */
    struct ims_xml_node *next;   /* next sibling element */
};

/*
 * ims_xml_parse - parse @len bytes of @doc into a tree (the root element).
 * Returns NULL with a reason in @err (with the byte offset) on malformed input, on a
 * document larger than IMS_XML_DOC_MAX or nested deeper than IMS_XML_DEPTH_MAX, and when
 * out of memory. Free the tree with ims_xml_free().
 */
struct ims_xml_node *ims_xml_parse(const char *doc, size_t len, char *err, size_t errlen);
void ims_xml_free(struct ims_xml_node *root);

/* First child / next sibling with the given local name (prefix ignored), or NULL. */
struct ims_xml_node *ims_xml_child(const struct ims_xml_node *n, const char *name);
struct ims_xml_node *ims_xml_next(const struct ims_xml_node *n, const char *name);
/* Text of the first child with that name, or NULL when there is no such child. */
const char *ims_xml_child_text(const struct ims_xml_node *n, const char *name);
/* Whether the local name of @n (prefix ignored) is @name. */
bool ims_xml_is(const struct ims_xml_node *n, const char *name);
/* Decoded value of the attribute called exactly @name, or NULL when @n has none. */
const char *ims_xml_attr(const struct ims_xml_node *n, const char *name);

#endif
