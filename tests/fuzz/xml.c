/*
 * xml.c - fuzz harness of the XML reader (common/xml.c)
 *
 * Input: one document. Every tree returned is walked: names and texts are strings, the raw
 * content spans lie inside the input, each attribute is found again by its name.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "fuzz.h"
#include "xml.h"

static size_t walk(const struct ims_xml_node *n, size_t size, int depth)
{
    size_t count = 0;
    for (; n; n = n->next) {
        FUZZ_ASSERT(depth <= IMS_XML_DEPTH_MAX + 1, "depth %d", depth);
        FUZZ_ASSERT(n->name && *n->name, "element without a name");
        FUZZ_ASSERT(n->raw_off <= size && n->raw_len <= size - n->raw_off, "raw span");
        if (n->text)
            count += strlen(n->text);
        int nattrs = 0;
        for (const struct ims_xml_attr *a = n->attrs; a; a = a->next, nattrs++) {
            FUZZ_ASSERT(a->name && a->value, "attribute without name or value");
            FUZZ_ASSERT(ims_xml_attr(n, a->name) == a->value, "attribute %s twice", a->name);
        }
        FUZZ_ASSERT(nattrs <= IMS_XML_ATTRS_MAX, "%d attributes", nattrs);
        ims_xml_is(n, n->name);
        ims_xml_child_text(n, "x");
        count += walk(n->child, size, depth + 1);
    }
    return count;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    struct ims_xml_node *root = ims_xml_parse((const char *)data, size, err, sizeof(err));
    if (!root) {
        FUZZ_ASSERT(strncmp(err, "XML: ", 5) == 0, "refused without a reason");
        return 0;
    }
    FUZZ_ASSERT(root->next == NULL, "two roots");
    walk(root, size, 0);
    ims_xml_free(root);
    return 0;
}
