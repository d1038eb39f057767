/*
 * sip_hdr.h - the IMS SIP headers every CSCF handles (TS 24.229, RFC 7315, RFC 3327, 3608,
 * 3325)
 *
 * Path, Service-Route, Route, Record-Route and the P-Asserted/P-Preferred-Identity headers
 * are parsed by sofia-sip itself (its extended message class); these helpers build them.
 * P-Charging-Vector, P-Charging-Function-Addresses, P-Associated-URI and
 * P-Visited-Network-ID are not known to sofia-sip: they arrive as unknown headers and are
 * parsed and formatted here.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_SIP_HDR_H
#define IMS_SIP_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/sip.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/msg.h>

/* ---- P-Charging-Vector (RFC 7315 section 4.6) ---- */
struct ims_pcv {
    char icid[128];           /* icid-value (required) */
    char generated_at[64];    /* icid-generated-at */
    char orig_ioi[128];
    char term_ioi[128];
};

/* Parse a header value; returns 0, or -EINVAL when icid-value is missing or malformed. */
int ims_pcv_parse(const char *value, struct ims_pcv *out);
/* Format into buf (no header name). Returns the length, or -ENOSPC. */
int ims_pcv_format(const struct ims_pcv *pcv, char *buf, size_t len);
/* A new globally unique icid-value: hex of time, node address and a counter. */
void ims_icid_generate(char *buf, size_t len, const char *node_addr);

/* ---- P-Charging-Function-Addresses (RFC 7315 section 4.5) ---- */
#define IMS_PCFA_MAX 2
struct ims_pcfa {
    char ccf[IMS_PCFA_MAX][128];
    char ecf[IMS_PCFA_MAX][128];
    int nccf, necf;
};
int ims_pcfa_parse(const char *value, struct ims_pcfa *out);
int ims_pcfa_format(const struct ims_pcfa *pcfa, char *buf, size_t len);

/* ---- P-Visited-Network-ID (RFC 7315 section 4.3): token or quoted string list ---- */
#define IMS_PVNI_MAX 4
struct ims_pvni {
    char id[IMS_PVNI_MAX][128];
    int n;
};
int ims_pvni_parse(const char *value, struct ims_pvni *out);
int ims_pvni_format(const struct ims_pvni *pvni, char *buf, size_t len);

/*
 * P-Associated-URI (RFC 7315 section 4.1) and any other name-addr list: parsed with
 * sofia-sip's Route grammar (name-addr *(;param), comma separated). Returns a list
 * allocated from @home, or NULL when the value is malformed.
 */
sip_route_t *ims_addr_list_parse(su_home_t *home, const char *value);
/* Format a name-addr list (Route, Record-Route, Path, Service-Route entries) as
 * "<uri>, <uri>" into buf; returns length or -ENOSPC. */
int ims_addr_list_format(const sip_route_t *list, char *buf, size_t len);

/* ---- access to headers sofia-sip keeps as unknown ---- */

/* Value of the first header called @name (case-insensitive), or NULL. */
const char *ims_sip_header(const sip_t *sip, const char *name);
/* Remove every header called @name; returns how many were removed. */
int ims_sip_header_remove(msg_t *msg, sip_t *sip, const char *name);
/* Append "name: value". Returns 0 or -ENOMEM / -EINVAL. */
int ims_sip_header_add(msg_t *msg, sip_t *sip, const char *name, const char *value);
/* Replace every header called @name by one "name: value". */
int ims_sip_header_set(msg_t *msg, sip_t *sip, const char *name, const char *value);

/* ---- Path, Service-Route, Record-Route, P-Asserted-Identity ---- */

/* Prepend (Path, Record-Route: topmost) or append a header with <uri> (";lr" kept if in uri). */
int ims_sip_path_push(msg_t *msg, sip_t *sip, const url_t *uri);
int ims_sip_record_route_push(msg_t *msg, sip_t *sip, const url_t *uri);
int ims_sip_service_route_add(msg_t *msg, sip_t *sip, const url_t *uri);
/* Put @routes ("<uri;lr>, <uri;lr>") in front of the Route set. 0, -EINVAL or -ENOSPC. */
int ims_sip_route_prepend(msg_t *msg, sip_t *sip, const char *routes);

/* Drop every P-Asserted-Identity (a UE must not assert its own identity) */
int ims_sip_paid_remove(msg_t *msg, sip_t *sip);
/* Add P-Asserted-Identity: "<uri>" (a SIP or tel URI string). */
int ims_sip_paid_add(msg_t *msg, sip_t *sip, const char *uri);

/* ---- identities (TS 24.229 5.4.1.2.1, TS 23.003 13.3) ---- */

/*
 * ims_sip_impu_of - the public identity designated by @url: "sip:user@host" (no port, no
 * parameters; sips becomes sip) or "tel:+number". Returns 0, or -EINVAL for other schemes.
 */
int ims_sip_impu_of(const url_t *url, char *buf, size_t len);

/*
 * ims_url_param - the value of URI parameter @name in @params (a url_params string, the
 * first ';' excluded), as sofia-sip's url_param(): the length of the value plus one when
 * the parameter is there (1 for a parameter without a value), 0 when it is not. The value
 * is copied into @value when it fits in @vlen bytes, else @value is set to "".
 * sofia-sip 1.12.11's url_param() reads past the end of @params when the last parameter
 * starts with @name but goes on with something else than '=' (";ftx" searched for "ft"):
 * every parameter read from a received URI goes through this one instead.
 */
isize_t ims_url_param(const char *params, const char *name, char *value, size_t vlen);

/*
 * ims_sip_target_of - the public identity a request for @url is for: ims_sip_impu_of(), but
 * a SIP URI with user=phone gives "tel:number" (visual separators dropped; TS 24.229
 * 5.3.2.1). Parameters such as gr (GRUU) are dropped: the identity is the AOR.
 */
int ims_sip_target_of(const url_t *url, char *buf, size_t len);

/*
 * ims_sip_impi_of - the private identity of a REGISTER: the username of the Authorization
 * header, else derived from the public identity of To ("user@host" of a sip: URI).
 * Returns 0, or -ENOENT when there is neither (a tel: To without Authorization).
 */
int ims_sip_impi_of(const sip_t *sip, char *buf, size_t len);

/* The value (unquoted) of parameter @name of the first Authorization header, or -ENOENT. */
int ims_sip_auth_param(const sip_t *sip, const char *name, char *buf, size_t len);

/* Registration expiry asked by a REGISTER: the largest Contact expires (or the Expires
 * header, or @def); 0 for a de-registration. "Contact: *" gives 0. */
unsigned ims_sip_register_expires(const sip_t *sip, unsigned def);

/* Does the URL point at this node (host is one of @hosts and port matches, default 5060)? */
bool ims_sip_url_is_local(const url_t *url, const char *const *hosts, int port);

#endif
