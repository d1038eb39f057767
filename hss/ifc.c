/*
 * ifc.c - initial filter criteria: the provisioning JSON form -> TS 29.228 XML
 *
 * The operator provisions iFCs as JSON (validated here, field by field); the HSS stores the
 * JSON for the API and the XML it sends in User-Data. Pure functions, no I/O.
 *
 *   { "priority": 0,
 *     "trigger": { "cnf": false,
 *                  "spt": [ { "group": 0, "negated": false, "method": "INVITE" },
 *                           { "group": 0, "session_case": "originating" },
 *                           { "group": 1, "request_uri": "sip:.*@example.org" },
 *                           { "group": 1, "header": "Accept-Contact", "content": "video" },
 *                           { "group": 2, "sdp_line": "m", "sdp_content": "audio" },
 *                           { "method": "REGISTER", "registration_type": [0, 1] } ] },
 *     "as": { "server_name": "sip:as.example.org", "default_handling": "continue",
 *             "service_info": "...", "include_register_request": true,
 *             "include_register_response": false },
 *     "profile_part": "registered" }
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static const char *const session_cases[] = { "originating", "terminating_registered",
                                             "terminating_unregistered",
                                             "originating_unregistered", "originating_cdiv" };

/* integer or one of @names (index); -1 when invalid */
static int enum_value(json_t *v, const char *const *names, int n)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && i < n ? (int)i : -1;
    }
    const char *s = json_string_value(v);
    for (int i = 0; s && i < n; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

static bool text_field(json_t *o, const char *key, const char **out, bool required,
                       char *err, size_t errlen, const char *where)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) {
        if (required)
            snprintf(err, errlen, "%s.%s: required", where, key);
        return !required;
    }
    if (!json_is_string(v) || !*json_string_value(v)) {
        snprintf(err, errlen, "%s.%s: must be a non-empty string", where, key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Typos must not pass silently: every key of @o must be one of @known (NULL-terminated). */
static bool known_keys(json_t *o, const char *const *known, const char *where, char *err,
                       size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(k, *p) == 0;
        if (!ok) {
            snprintf(err, errlen, "%s%s%s: unknown key", where, *where ? "." : "", k);
            return false;
        }
    }
    return true;
}

/* one SPT; *session_case receives its session case or -1 */
static bool spt_xml(struct ims_buf *b, json_t *spt, const char *where, int *session_case,
                    char *err, size_t errlen)
{
    static const char *const keys[] = { "group", "negated", "method", "request_uri", "header",
                                        "content", "session_case", "sdp_line", "sdp_content",
                                        "registration_type", NULL };
    if (!json_is_object(spt)) {
        snprintf(err, errlen, "%s: must be an object", where);
        return false;
    }
    if (!known_keys(spt, keys, where, err, errlen))
        return false;
    json_t *neg = json_object_get(spt, "negated"), *group = json_object_get(spt, "group");
    if (neg && !json_is_boolean(neg)) {
        snprintf(err, errlen, "%s.negated: must be true or false", where);
        return false;
    }
    ims_buf_addf(b, "<SPT><ConditionNegated>%d</ConditionNegated>", json_is_true(neg) ? 1 : 0);
    if (group && !json_is_integer(group) && !json_is_array(group)) {
        snprintf(err, errlen, "%s.group: must be an integer or a list of integers", where);
        return false;
    }
    if (json_is_array(group)) {
        size_t i;
        json_t *g;
        if (!json_array_size(group)) {
            snprintf(err, errlen, "%s.group: empty list", where);
            return false;
        }
        json_array_foreach(group, i, g) {
            if (!json_is_integer(g) || json_integer_value(g) < 0) {
                snprintf(err, errlen, "%s.group: must hold integers >= 0", where);
                return false;
            }
            ims_buf_addf(b, "<Group>%lld</Group>", (long long)json_integer_value(g));
        }
    } else {
        json_int_t g = group ? json_integer_value(group) : 0;
        if (g < 0) {
            snprintf(err, errlen, "%s.group: must be >= 0", where);
            return false;
        }
        ims_buf_addf(b, "<Group>%lld</Group>", (long long)g);
    }

    const char *method, *ruri, *header, *content, *line, *sdp_content;
    if (!text_field(spt, "method", &method, false, err, errlen, where) ||
        !text_field(spt, "request_uri", &ruri, false, err, errlen, where) ||
        !text_field(spt, "header", &header, false, err, errlen, where) ||
        !text_field(spt, "content", &content, false, err, errlen, where) ||
        !text_field(spt, "sdp_line", &line, false, err, errlen, where) ||
        !text_field(spt, "sdp_content", &sdp_content, false, err, errlen, where))
        return false;
    json_t *sc = json_object_get(spt, "session_case");
    int kinds = !!method + !!ruri + !!header + !!line + !!sc;
    if (kinds != 1) {
        snprintf(err, errlen, "%s: exactly one of method, request_uri, header, session_case, "
                              "sdp_line is needed", where);
        return false;
    }
    *session_case = -1;
    if (method) {
        ims_buf_element(b, "Method", method);
    } else if (ruri) {
        ims_buf_element(b, "RequestURI", ruri);
    } else if (header) {
        ims_buf_add(b, "<SIPHeader>");
        ims_buf_element(b, "Header", header);
        if (content)
            ims_buf_element(b, "Content", content);
        ims_buf_add(b, "</SIPHeader>");
    } else if (line) {
        ims_buf_add(b, "<SessionDescription>");
        ims_buf_element(b, "Line", line);
        if (sdp_content)
            ims_buf_element(b, "Content", sdp_content);
        ims_buf_add(b, "</SessionDescription>");
    } else {
        *session_case = enum_value(sc, session_cases, 5);
        if (*session_case < 0) {
            snprintf(err, errlen, "%s.session_case: one of originating, terminating_registered,"
                                  " terminating_unregistered, originating_unregistered, "
                                  "originating_cdiv (or 0-4)", where);
            return false;
        }
        ims_buf_addf(b, "<SessionCase>%d</SessionCase>", *session_case);
    }
    json_t *rt = json_object_get(spt, "registration_type");
    if (rt) {
        size_t i;
        json_t *t;
        if (!method || strcasecmp(method, "REGISTER") != 0 || !json_is_array(rt)) {
            snprintf(err, errlen, "%s.registration_type: a list, only with method REGISTER",
                     where);
            return false;
        }
        ims_buf_add(b, "<Extension>");
        json_array_foreach(rt, i, t) {
            if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 2) {
                snprintf(err, errlen, "%s.registration_type: values 0 (initial), 1 (re), 2 (de)",
                         where);
                return false;
            }
            ims_buf_addf(b, "<RegistrationType>%lld</RegistrationType>",
                         (long long)json_integer_value(t));
        }
        ims_buf_add(b, "</Extension>");
    }
    ims_buf_add(b, "</SPT>");
    return true;
}

static bool trigger_xml(struct ims_buf *b, json_t *trig, bool *has_case, bool *unreg_case,
                        char *err, size_t errlen)
{
    static const char *const keys[] = { "cnf", "spt", NULL };
    if (!json_is_object(trig)) {
        snprintf(err, errlen, "trigger: must be an object");
        return false;
    }
    if (!known_keys(trig, keys, "trigger", err, errlen))
        return false;
    json_t *cnf = json_object_get(trig, "cnf"), *spts = json_object_get(trig, "spt");
    if (cnf && !json_is_boolean(cnf)) {
        snprintf(err, errlen, "trigger.cnf: must be true or false");
        return false;
    }
    if (!json_is_array(spts) || !json_array_size(spts)) {
        snprintf(err, errlen, "trigger.spt: a non-empty list of SPTs is required");
        return false;
    }
    ims_buf_addf(b, "<TriggerPoint><ConditionTypeCNF>%d</ConditionTypeCNF>",
                 json_is_true(cnf) ? 1 : 0);
    size_t i;
    json_t *spt;
    json_array_foreach(spts, i, spt) {
        char where[32];
        int sc;
        snprintf(where, sizeof(where), "trigger.spt[%zu]", i);
        if (!spt_xml(b, spt, where, &sc, err, errlen))
            return false;
        if (sc >= 0)
            *has_case = true;
        if (sc == 2)
            *unreg_case = true;
    }
    ims_buf_add(b, "</TriggerPoint>");
    return true;
}

static bool as_xml(struct ims_buf *b, json_t *as, char *err, size_t errlen)
{
    static const char *const handling[] = { "continue", "terminate" };
    const char *name, *info;
    static const char *const keys[] = { "server_name", "default_handling", "service_info",
                                        "include_register_request",
                                        "include_register_response", NULL };
    if (!json_is_object(as)) {
        snprintf(err, errlen, "as: required object with server_name");
        return false;
    }
    if (!known_keys(as, keys, "as", err, errlen))
        return false;
    if (!text_field(as, "server_name", &name, true, err, errlen, "as") ||
        !text_field(as, "service_info", &info, false, err, errlen, "as"))
        return false;
    if (strncasecmp(name, "sip:", 4) != 0 && strncasecmp(name, "sips:", 5) != 0) {
        snprintf(err, errlen, "as.server_name: must be a sip: or sips: URI");
        return false;
    }
    json_t *dh = json_object_get(as, "default_handling");
    int h = dh ? enum_value(dh, handling, 2) : 0;
    if (h < 0) {
        snprintf(err, errlen, "as.default_handling: continue or terminate (or 0, 1)");
        return false;
    }
    ims_buf_add(b, "<ApplicationServer>");
    ims_buf_element(b, "ServerName", name);
    ims_buf_addf(b, "<DefaultHandling>%d</DefaultHandling>", h);
    if (info)
        ims_buf_element(b, "ServiceInfo", info);
    json_t *req = json_object_get(as, "include_register_request");
    json_t *resp = json_object_get(as, "include_register_response");
    if ((req && !json_is_boolean(req)) || (resp && !json_is_boolean(resp))) {
        snprintf(err, errlen, "as.include_register_request/response: true or false");
        return false;
    }
    if (json_is_true(req) || json_is_true(resp)) {
        ims_buf_add(b, "<Extension>");
        if (json_is_true(req))
            ims_buf_add(b, "<IncludeRegisterRequest/>");
        if (json_is_true(resp))
            ims_buf_add(b, "<IncludeRegisterResponse/>");
        ims_buf_add(b, "</Extension>");
    }
    ims_buf_add(b, "</ApplicationServer>");
    return true;
}

char *hss_ifc_xml(json_t *spec, int *priority, bool *unreg_services, char *err, size_t errlen)
{
    static const char *const parts[] = { "registered", "unregistered" };
    struct ims_buf b = { 0 };
    static const char *const keys[] = { "priority", "trigger", "as", "profile_part", NULL };
    if (!json_is_object(spec)) {
        snprintf(err, errlen, "ifc: must be an object");
        return NULL;
    }
    if (!known_keys(spec, keys, "", err, errlen))
        return NULL;
    json_t *prio = json_object_get(spec, "priority");
    if (!json_is_integer(prio) || json_integer_value(prio) < 0) {
        snprintf(err, errlen, "priority: required integer >= 0");
        return NULL;
    }
    *priority = (int)json_integer_value(prio);
    ims_buf_addf(&b, "<InitialFilterCriteria><Priority>%d</Priority>", *priority);
    bool has_case = false, unreg_case = false;
    json_t *trig = json_object_get(spec, "trigger");
    if (trig && !trigger_xml(&b, trig, &has_case, &unreg_case, err, errlen))
        goto fail;
    if (!as_xml(&b, json_object_get(spec, "as"), err, errlen))
        goto fail;
    json_t *pp = json_object_get(spec, "profile_part");
    int part = -1;
    if (pp) {
        part = enum_value(pp, parts, 2);
        if (part < 0) {
            snprintf(err, errlen, "profile_part: registered or unregistered (or 0, 1)");
            goto fail;
        }
        ims_buf_addf(&b, "<ProfilePartIndicator>%d</ProfilePartIndicator>", part);
    }
    ims_buf_add(&b, "</InitialFilterCriteria>");
    /* services for an unregistered user: an iFC for the terminating-unregistered case, or
     * one without any session case that is not restricted to the registered state */
    *unreg_services = unreg_case || (!has_case && part != 0) || part == 1;
    char *xml = ims_buf_take(&b);
    if (!xml)
        snprintf(err, errlen, "out of memory");
    return xml;
fail:
    free(ims_buf_take(&b));
    return NULL;
}
