/*
 * ifc.h - initial filter criteria of the S-CSCF (TS 29.228 Annex B and C, TS 29.229):
 * the iFCs of the served identity's ServiceProfile, compiled once, matched per request
 *
 * Pure logic: no I/O except scscf_ifc_shared_load() reading its file. The ISC code asks
 * scscf_ifc_next() for the first matching iFC, contacts that AS, then asks again from the
 * next index. Not thread-safe: sets and shared sets belong to one thread (the loop thread).
 *
 * Regular expressions (RequestURI, SIPHeader/Content, SessionDescription/Content) are POSIX
 * extended, searched anywhere in the value (anchor with ^ and $) and case-insensitive:
 * TS 29.228 names no flavour; SIP compares schemes, hosts, header names and most tokens
 * without case, and other IMS cores (Kamailio's ims_isc) fold case too, so iFCs written for
 * them behave alike here. Method and SDP line types are compared exactly, header names
 * without case and in their compact forms ("f" = From).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SCSCF_IFC_H
#define SCSCF_IFC_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/sip.h>

#define SCSCF_IFC_MAX        256        /* iFCs of one set, its own and shared together */
#define SCSCF_IFC_SPT_MAX    64         /* SPTs of one TriggerPoint, and distinct groups */
#define SCSCF_IFC_REGEX_MAX  1024       /* bytes of one regular expression */
#define SCSCF_IFC_DOC_MAX    (1 << 20)  /* bytes of an IMSSubscription or shared sets file */
#define SCSCF_IFC_AS_MAX     256        /* bytes of ServerName, with its NUL */

enum scscf_session_case {               /* TS 29.228 SessionCase values */
    SCSCF_ORIG = 0,
    SCSCF_TERM_REG = 1,
    SCSCF_TERM_UNREG = 2,
    SCSCF_ORIG_UNREG = 3,
    SCSCF_ORIG_CDIV = 4,
};

enum scscf_default_handling {
    SCSCF_SESSION_CONTINUED = 0,
    SCSCF_SESSION_TERMINATED = 1,
};

enum scscf_profile_part {               /* ProfilePartIndicator */
    SCSCF_PART_ANY = -1,                /* absent: registered and unregistered */
    SCSCF_PART_REGISTERED = 0,
    SCSCF_PART_UNREGISTERED = 1,
};

enum scscf_reg_type {                   /* RegistrationType of a REGISTER */
    SCSCF_REG_UNKNOWN = -1,             /* not a REGISTER, or not known */
    SCSCF_REG_INITIAL = 0,
    SCSCF_REG_RE = 1,
    SCSCF_REG_DE = 2,
};

/* One InitialFilterCriteria; read-only for callers (the trigger point is private) */
struct scscf_ifc {
    int priority;
    char as[SCSCF_IFC_AS_MAX];          /* ApplicationServer/ServerName */
    enum scscf_default_handling default_handling;
    char *service_info;                 /* ServiceInfo or NULL */
    bool include_register_request, include_register_response;
    enum scscf_profile_part profile_part;
    bool unconditional;                 /* no TriggerPoint: matches every request */
};

struct scscf_ifc_set;                   /* the iFCs of one ServiceProfile, by priority */
struct scscf_ifc_shared;                /* the S-CSCF's shared iFC sets (SharedIFCSetID) */

/* What a request is matched with */
struct scscf_ifc_ctx {
    const sip_t *sip;                   /* the request (body in sip_payload); NULL: none */
    enum scscf_session_case session_case;
    bool registered;                    /* the served user is registered */
    enum scscf_reg_type reg_type;       /* for REGISTER */
};

/*
 * scscf_ifc_parse - the iFCs that apply to @impu in an IMSSubscription document.
 *
 * Picks the ServiceProfile listing @impu: first one listing it exactly (SIP URIs without
 * case in scheme and host, URI parameters ignored; tel URIs without visual separators),
 * else the first wildcarded identity (TS 23.003 "!regex!", WildcardedPSI/WildcardedIMPU)
 * matching it. Its InitialFilterCriteria and those of each SharedIFCSetID found in @shared
 * (may be NULL) are compiled and ordered by Priority, lowest value first; equal priorities
 * keep the order of the document, the profile's own before the shared ones.
 *
 * Returns the set (free with scscf_ifc_free), or NULL with the reason in @err: malformed
 * XML, an iFC that breaks TS 29.228 (missing Priority or ServerName, an SPT of no or two
 * kinds, a bad value) naming the iFC's priority, a regular expression that does not
 * compile (naming it), more than SCSCF_IFC_MAX iFCs, or no memory. A set returned may
 * still carry a warning in @err ("" when none):
 *   - no ServiceProfile lists @impu: the set is empty (scscf_ifc_profile_found() false);
 *     the caller decides what that means (e.g. no services);
 *   - SharedIFCSetIDs not in @shared: skipped, see scscf_ifc_unknown_shared().
 * The set holds references to the shared iFCs it uses: @shared may be freed before it.
 */
struct scscf_ifc_set *scscf_ifc_parse(const char *xml, size_t len, const char *impu,
                                      const struct scscf_ifc_shared *shared, char *err,
                                      size_t errlen);
void scscf_ifc_free(struct scscf_ifc_set *set);

/* Number of iFCs of @set (0 for NULL). */
int scscf_ifc_count(const struct scscf_ifc_set *set);
/* The @i-th iFC in priority order, or NULL when out of range. Valid while @set lives. */
const struct scscf_ifc *scscf_ifc_get(const struct scscf_ifc_set *set, int i);
/* Whether a ServiceProfile of the document lists the identity @set was parsed for. */
bool scscf_ifc_profile_found(const struct scscf_ifc_set *set);
/*
 * scscf_ifc_unknown_shared - the SharedIFCSetIDs of the profile that @shared did not have
 * (skipped at parse). Copies at most @max of them into @ids (may be NULL when @max is 0)
 * and returns how many there are.
 */
int scscf_ifc_unknown_shared(const struct scscf_ifc_set *set, int *ids, int max);

/*
 * scscf_ifc_next - the index of the first iFC at or after @from whose ProfilePartIndicator
 * fits @ctx->registered and whose trigger point matches the request (always, without a
 * trigger point), or -1 when none does. The ISC loop calls it again with from = last + 1.
 *
 * A trigger point is a Boolean formula over its SPTs: ConditionTypeCNF 1 is an AND of the
 * groups, each an OR of its SPTs; 0 is an OR of the groups, each an AND of its SPTs. An SPT
 * may belong to several groups; ConditionNegated inverts it. SPTs:
 *   Method              the request method, exactly; for REGISTER with RegistrationType
 *                       values, only those types (@ctx->reg_type; unknown matches none)
 *   RequestURI          regex over the Request-URI
 *   SIPHeader           Header present; with Content, regex over any one instance's value
 *                       (sofia-sip splits comma lists of the headers it knows)
 *   SessionCase         @ctx->session_case
 *   SessionDescription  an SDP line of type Line (e.g. "m"); with Content, regex over the
 *                       text after '='; SDP is the body (application/sdp) or an
 *                       application/sdp part of a multipart body
 */
int scscf_ifc_next(const struct scscf_ifc_set *set, int from, const struct scscf_ifc_ctx *ctx);

/*
 * scscf_ifc_shared_load - read the shared iFC sets of the S-CSCF from the XML file @path:
 *     <SharedIFCSets>
 *       <SharedIFCSet><SetID>1</SetID><InitialFilterCriteria>...</InitialFilterCriteria>...
 *       </SharedIFCSet>...
 *     </SharedIFCSets>
 * Returns them (free with scscf_ifc_shared_free) or NULL with "why" in @err: the file does
 * not open or exceeds SCSCF_IFC_DOC_MAX, the XML is malformed, a SetID is missing, not a
 * number or given twice, an iFC does not compile (see scscf_ifc_parse).
 * scscf_ifc_shared_parse does the same from @len bytes of @xml.
 */
struct scscf_ifc_shared *scscf_ifc_shared_load(const char *path, char *err, size_t errlen);
struct scscf_ifc_shared *scscf_ifc_shared_parse(const char *xml, size_t len, char *err,
                                                size_t errlen);
void scscf_ifc_shared_free(struct scscf_ifc_shared *shared);
/* Number of sets loaded (for the start-up log line). */
int scscf_ifc_shared_count(const struct scscf_ifc_shared *shared);

#endif
