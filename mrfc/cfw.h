/*
 * cfw.h - the Cr control channel of the MRF: the Media Control Channel Framework (RFC 6230)
 * and its two packages, IVR (msc-ivr/1.0, RFC 6231) and mixer (msc-mixer/1.0, RFC 6505)
 *
 * An application server sets a channel up with an INVITE to sip:mrfc@<MRF> whose SDP offers
 * "m=application 9 TCP cfw" with a=setup:active, a=connection:new, a=cfw-id:<id> and its
 * a=ctrl-package lines (session.c); the MRF answers a=setup:passive with the port it listens
 * on (mrfc.cfw_port), the AS connects from the address of its c= line and sends SYNC with
 * Dialog-ID <id>. An offer of "TCP/TLS cfw" with a=fingerprint gets mrfc.cfw_tls_port and
 * the MRF's own a=fingerprint; its connection is TLS with a certificate of the offer's
 * fingerprints (cfw_tls.h). Then CONTROL requests carry package requests (answered 200 with the
 * package's response at once), and the MRF sends CONTROL requests with the packages' events
 * (dialogexit, unjoin-notify, conferenceexit); K-ALIVE keeps the channel alive both ways.
 * The channel ends with its SIP dialog (a BYE either way); when its TCP connection goes or
 * stays silent past Keep-Alive, the MRF ends the SIP dialog.
 *
 * Media legs are other INVITEs to sip:mrfc@<MRF> (audio SDP); a package names one by its
 * connection id, "<from tag>~<to tag>" of its dialog (RFC 6230 16.1; either order).
 *
 * Everything runs on the loop thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_CFW_H
#define MRFC_CFW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "sdp.h"

#define MRFC_PKG_IVR "msc-ivr/1.0"
#define MRFC_PKG_MIXER "msc-mixer/1.0"
#define MRFC_CT_IVR "application/msc-ivr+xml"
#define MRFC_CT_MIXER "application/msc-mixer+xml"
#define MRFC_PKG_BODY_MAX 4096    /* a package response or event we write */

struct mrfc;
struct mrfc_session;
struct mrfc_chan;

/* ---- cfw.c: the framework ---- */

/* Listen on mrfc.cfw_port (0: no control channels). 0 or -errno (logged). */
int mrfc_cfw_init(struct mrfc *mrfc);
/* Every channel goes (no BYE: session.c ends the dialogs), the listener closes */
void mrfc_cfw_fini(struct mrfc *mrfc);
/* The port the channels use (0: none) */
uint16_t mrfc_cfw_port(const struct mrfc *mrfc);
/* The port of the channels over TLS (0: none), and our certificate's a=fingerprint value */
uint16_t mrfc_cfw_tls_port(const struct mrfc *mrfc);
const char *mrfc_cfw_fingerprint(const struct mrfc *mrfc);

struct mrfc_fp;
/* The a=fingerprint values of @o that can be used (RFC 8122 hash functions we have) into
 * @fps (MRFC_FP_LINES of room); how many */
unsigned mrfc_cfw_offer_fps(const struct mrfc_sdp_cfw *o, struct mrfc_fp *fps);
/* Whether offer @o (a re-INVITE's) keeps the cfw-id, transport and fingerprints of @ch */
bool mrfc_cfw_chan_same(const struct mrfc_chan *ch, const struct mrfc_sdp_cfw *o);

/*
 * mrfc_cfw_chan_new - a channel for control channel offer @o of session @s, waiting for
 * the AS to connect from o->addr (to the TLS port with a certificate of the offer's
 * a=fingerprint when o->tls) and SYNC with o->cfw_id. @packages receives the packages
 * of the offer the MRF serves (comma-separated). 0; -EEXIST when the cfw-id is in use;
 * -ENOTSUP when no package of the offer is served; -EPROTO for TCP/TLS without a TLS port
 * or without a usable a=fingerprint; -ENOMEM.
 */
int mrfc_cfw_chan_new(struct mrfc *mrfc, struct mrfc_session *s, const struct mrfc_sdp_cfw *o,
                      char *packages, size_t plen, struct mrfc_chan **out);
/* The channel's SIP dialog is over: its dialogs stop, its conferences go, TCP closes */
void mrfc_cfw_chan_close(struct mrfc_chan *ch);
/* The cfw-id of @ch (for logs) */
const char *mrfc_cfw_chan_id(const struct mrfc_chan *ch);

/*
 * mrfc_cfw_event - send a CONTROL request of package @pkg carrying event @body to the AS of
 * @ch (its 200 is awaited and logged). Nothing when the channel is not connected (logged).
 */
void mrfc_cfw_event(struct mrfc_chan *ch, const char *pkg, const char *body);

/* ---- ivr.c: msc-ivr/1.0 ---- */

/*
 * mrfc_ivr_control - run the <mscivr> request @body of channel @ch; its <mscivr> response
 * goes into @resp. Always a response (status 400 for what cannot be read).
 */
void mrfc_ivr_control(struct mrfc *mrfc, struct mrfc_chan *ch, const char *body, size_t len,
                      char *resp, size_t cap);
/* A media event of the leg of @s (PLAY_DONE, COLLECT_DONE, RECORD_DONE, DTMF) */
void mrfc_ivr_media_event(struct mrfc_session *s, struct mrfc_media_event *ev);
/* The leg of @s is going: its dialog exits (status 2: the connection ended) */
void mrfc_ivr_leg_gone(struct mrfc_session *s);
/* Channel @ch is going: its dialogs stop without events */
void mrfc_ivr_chan_gone(struct mrfc *mrfc, struct mrfc_chan *ch);
int mrfc_ivr_init(struct mrfc *mrfc);
void mrfc_ivr_fini(struct mrfc *mrfc);

/* ---- mixpkg.c: msc-mixer/1.0 ---- */

void mrfc_mixer_control(struct mrfc *mrfc, struct mrfc_chan *ch, const char *body, size_t len,
                        char *resp, size_t cap);
/* The join of @id1 and @id2 made by @ch ended otherwise than by its <unjoin> (a leg or a
 * conference went): <unjoin-notify status="2"> */
void mrfc_mixer_unjoined(struct mrfc_chan *ch, const char *id1, const char *id2);
/* Conference @confid of @ch ended: <conferenceexit> with @status (RFC 6505 4.2.3.2) */
void mrfc_mixer_conf_exit(struct mrfc_chan *ch, const char *confid, int status);
/* Channel @ch is going: the conferences it made are destroyed */
void mrfc_mixer_chan_gone(struct mrfc *mrfc, struct mrfc_chan *ch);

/* ---- pure parts (ivr.c, mixpkg.c), for tests ---- */

/* An XML-escaped copy of @in (attribute values) into @out */
void mrfc_xml_escape(const char *in, char *out, size_t len);

#endif
