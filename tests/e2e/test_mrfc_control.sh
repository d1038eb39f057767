#!/usr/bin/env bash
# tests/e2e/test_mrfc_control.sh - the second half of the MRF: the Cr control channel
# (RFC 6230) with its IVR (RFC 6231) and mixer (RFC 6505) packages, online charging (Ro) of
# its services, and the media resource broker (in-line and query modes).
#
# A test AS of the project (tests/tools/cfwas) sets control channels up from the test AS's
# address (127.0.0.90) and drives legs that test UAs (tests/tools/rtpue) set up to
# sip:mrfc@MRF, with real RTP:
#   - IVR: prompt and collect (the UA's RFC 4733 digits reach the AS in <dialogexit>),
#     barge-in, a recording (the beep heard, the file holds what the UA sent);
#   - mixer: a conference made over Cr where each party hears the two others and not
#     itself, <unjoin-notify> when a party hangs up, <conferenceexit> when it is destroyed;
#     two connections joined to each other;
#   - the framework's refusals, as an attacker would meet them: a connection from another
#     address than the offer's, a SYNC naming no channel, requests before SYNC, a package
#     not negotiated, bytes that are no CFW, a channel whose AS falls silent (its SIP dialog
#     is ended by the MRF), a channel offered from an untrusted address (403);
#   - Ro: alice (prepaid, with credit) gets her announcement and the OCS debits it (IEC) and
#     charges her conference by its seconds (ECUR); carol (no credit) gets 402 and no audio;
#     a charged INVITE without a served user is refused; bob (no ECF) is not charged online;
#   - MRB: a second MRF (127.0.1.60) and the broker (127.0.0.65): in-line, an INVITE goes to
#     the less loaded MRF, a conference to the MRF that holds it, on to the next MRF when the
#     first one does not answer; query mode over HTTP names the same; untrusted INVITEs and
#     queries are refused;
#   - Cr over TLS: a channel offered TCP/TLS with the a=fingerprint of the AS's certificate
#     runs IVR and mixer requests over TLS; the attacker's refusals: a TLS client showing
#     another certificate (of the lab's own CA), plain CFW to the TLS port, plain TCP to the
#     TCP port for a TLS channel;
#   - tshark decodes SIP, RTP, RTP events, the control channel (tests/lib/cfw.lua) and the
#     Ro Diameter of the MRFC with no malformed field.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init mrfc_control
e2e_require tshark curl soxi awk jq

MRF=127.0.0.60
MRF2=127.0.1.60
MRB=127.0.0.65
AS=127.0.0.90
UE=127.0.0.110                    # an untrusted address of LAB.md
R=$E2E_REALM
RTPUE=$E2E_BIN/rtpue
CFWAS=$E2E_BIN/cfwas
PROMPTS=$(cd "$E2E_BIN/.." && pwd)/prompts
OCS_API=http://127.0.0.80:8080/api/v1
I='<mscivr version="1.0" xmlns="urn:ietf:params:xml:ns:msc-ivr">'
M='<mscmixer version="1.0" xmlns="urn:ietf:params:xml:ns:msc-mixer">'
# SIP, Diameter, HTTP of the lab, the MRB and the second MRF; the control channel; RTP
E2E_CAP_FILTER='(net 127.0.0.0/24 or host 127.0.1.60) and (port 5060 or port 5062 or port 3868 or port 5868 or port 8080 or port 7563 or port 7564 or portrange 20000-20999 or portrange 30000-30099 or portrange 31000-31099)'
LUA=(-X "lua_script:$E2E_ROOT/tests/lib/cfw.lua" -o rtp.heuristic_rtp:TRUE)

for t in rtpue cfwas mrfc mrb; do
    [ -x "$E2E_BIN/$t" ] || { fail "$t built in $E2E_BIN" "run: make"; e2e_finish; }
done
[ -s "$PROMPTS/welcome.wav" ] || { fail "prompts built in $PROMPTS" "run: make"; e2e_finish; }

# ---- helpers ----

ue_bg() {   # NAME ARGS...: rtpue call in the background, output in NAME.out; pid in UE_PID
    local name=$1
    shift
    timeout 120 "$RTPUE" call "$@" >"$E2E_RUN/$name.out" 2>&1 &
    UE_PID=$!
}

ue() {   # NAME ARGS...: rtpue call, waited for
    local name=$1
    shift
    timeout 120 "$RTPUE" call "$@" >"$E2E_RUN/$name.out" 2>&1
}

out_of() { cat "$E2E_RUN/$1.out" 2>/dev/null; }

connid() {   # NAME: the connection id the UA printed (waits up to 30 s for its 200)
    local _
    for _ in $(seq 150); do
        grep -q '^connection ' "$E2E_RUN/$1.out" 2>/dev/null && break
        sleep 0.2
    done
    sed -n 's/^connection //p' "$E2E_RUN/$1.out" | head -n 1
}

as_run() {   # NAME [CFWAS OPTIONS...]: runs the script on stdin; output in NAME.cfw
    local name=$1
    shift
    cat >"$E2E_RUN/$name.script"
    timeout 180 "$CFWAS" --sip "$AS:5090" --mrf "$MRF" "$@" "$E2E_RUN/$name.script" \
        >"$E2E_RUN/$name.cfw" 2>&1
}

cfw_of() { cat "$E2E_RUN/$1.cfw" 2>/dev/null; }

metric() {   # HOST SERIES: its value in HOST's /metrics
    curl -s --max-time 5 "http://$1:8080/metrics" | awk -v s="$2" '$1 == s { print $2 }'
}

ocs() { curl -s --max-time 10 -H "Authorization: Bearer ims-lab-token" "$OCS_API/$1"; }

balance() { ocs "accounts/$1" | jq -r '"\(.balance) \(.reserved)"'; }

check "capture starts" cap_start mrfc_control
check "the lab starts" lab_start

# ---------------------------------------------------------------------------------------------
step "IVR prompt and collect: the UA's RFC 4733 digits reach the AS in <dialogexit>"
wlen=$(soxi -D "$PROMPTS/welcome.wav")
digits_at=$(awk -v l="$wlen" 'BEGIN { printf "%d", l + 8 }')
ue_bg ivr --sip $AS:5070 --rtp 127.0.0.111:30000 --to "sip:mrfc@$MRF" \
    --dtmf "$digits_at:1234#" --hangup $((digits_at + 8)) --wait 90
pivr=$UE_PID
c=$(connid ivr)
check_match "the leg to sip:mrfc@ is answered sendrecv, its connection id printed" \
    '^answer codec=PCMU pt=0 te=101 dir=sendrecv addr=127\.0\.0\.60 ' "$(out_of ivr)"
as_run ivr <<EOF
invite
connect
sync
ivr $I<dialogstart connectionid="$c" dialogid="pc-1"><dialog><prompt><media loc="file://$PROMPTS/welcome.wav"/></prompt><collect maxdigits="8" timeout="40s" interdigittimeout="5s"/></dialog></dialogstart></mscivr>
expect-event dialogexit 90
bye
EOF
check_eq "the AS's script ran" 0 $?
o=$(cfw_of ivr)
check_match "the INVITE of the channel is answered 200 with a=setup:passive, port 7563" \
    '^channel 127\.0\.0\.60:7563 setup=passive cfw-id=as[0-9]+ packages=msc-ivr/1\.0,msc-mixer/1\.0' "$o"
check_match "SYNC answered 200 with Keep-Alive and Packages" '^recv CFW as0 200 keep-alive packages' "$o"
check_match "dialogstart answered 200 with the dialog id" \
    '^response 200 .*<response status="200" reason="dialog started" dialogid="pc-1"/>' "$o"
check_match "dialogexit: status 1, the prompt played to its end" \
    '^event .*<event dialogid="pc-1"><dialogexit status="1" reason="dialog complete"><promptinfo duration="[0-9]+" termmode="completed"/>' "$o"
check_match "dialogexit: the digits the UA sent (terminated by #)" \
    '<collectinfo dtmf="1234" termmode="match"/>' "$o"
pdur=$(sed -n 's/.*promptinfo duration="\([0-9]*\)".*/\1/p' "$E2E_RUN/ivr.cfw" | head -n 1)
check "the prompt's duration is welcome.wav's (${pdur} ms for ${wlen} s)" \
    awk -v a="${pdur:-0}" -v b="$wlen" 'BEGIN { exit !(a >= b * 1000 - 40 && a <= b * 1000 + 40) }'
check_match "the MRF's own CONTROL carries the event (Control-Package msc-ivr/1.0)" \
    '^recv CFW mrfe[0-9]+ CONTROL msc-ivr/1\.0' "$o"
wait $pivr
check_eq "the UA's call ended well" 0 $?
check_match "the UA received RTP, in order" 'received=[1-9][0-9]* lost=0 seq_errors=0 ts_errors=0 ' \
    "$(grep '^rtp received' "$E2E_RUN/ivr.out")"

step "IVR barge-in: a digit stops the prompt, the collection goes on"
ue_bg barge --sip $AS:5071 --rtp 127.0.0.111:30002 --to "sip:mrfc@$MRF" --dtmf 9:42 \
    --hangup 20 --wait 60
pb=$UE_PID
c=$(connid barge)
as_run barge <<EOF
invite
connect
sync
ivr $I<dialogstart connectionid="$c"><dialog><prompt iterations="4"><media loc="welcome"/></prompt><collect maxdigits="2" timeout="30s"/></dialog></dialogstart></mscivr>
expect-event dialogexit 60
ivr $I<dialogstart connectionid="$c"><dialog><prompt><media loc="http://example.org/p.wav"/></prompt></dialog></dialogstart></mscivr>
ivr $I<dialogstart connectionid="$c"><dialog><prompt><media loc="nothing-here.wav"/></prompt></dialog></dialogstart></mscivr>
ivr $I<dialogstart connectionid="$c"><dialog><collect/><record/></dialog></dialogstart></mscivr>
bye
EOF
o=$(cfw_of barge)
check_match "the prompt ended by barge-in" '<promptinfo duration="[0-9]+" termmode="bargein"/>' "$o"
check_match "both digits collected (maxdigits)" '<collectinfo dtmf="42" termmode="match"/>' "$o"
check_match "a prompt to fetch over HTTP (nothing is fetched): 420" '<response status="420" ' "$o"
check_match "a prompt the MRF does not have: 409" '<response status="409" ' "$o"
check_match "collect and record in one dialog: 433 (not served)" '<response status="433" ' "$o"
wait $pb

step "IVR record: the beep, then what the UA sends is written to a WAV file"
ue_bg rec --sip $AS:5072 --rtp 127.0.0.111:30004 --to "sip:mrfc@$MRF" --send tone:700 \
    --record "$E2E_RUN/rec.wav" --hangup 25 --wait 60
pr=$UE_PID
c=$(connid rec)
as_run rec <<EOF
invite
connect
sync
ivr $I<dialogstart connectionid="$c" dialogid="rec-1"><dialog><record maxtime="3s" beep="true" vadinitial="false" finalsilence="2s"/></dialog></dialogstart></mscivr>
expect-event dialogexit 60
bye
EOF
o=$(cfw_of rec)
check_match "recordinfo: maxtime, 3000 ms, a WAV file of the record folder" \
    "<recordinfo termmode=\"maxtime\" duration=\"3000\"><mediainfo loc=\"file://$E2E_RUN/mrfc/recordings/rec-1-[0-9a-f]+\\.wav\" type=\"audio/x-wav\" size=\"48044\"/>" "$o"
recfile=$(sed -n 's/.*mediainfo loc="file:\/\/\([^"]*\)".*/\1/p' "$E2E_RUN/rec.cfw" | head -n 1)
check "the recording holds the UA's 700 Hz" "$RTPUE" tones "${recfile:-/nonexistent}" --skip 0 \
    --expect 700 --absent 1000,500
check_eq "the recording lasts 3 s" 3.000000 "$(soxi -D "${recfile:-/nonexistent}" 2>/dev/null)"
wait $pr
check "the UA heard the beep (1 kHz) before the recording" "$RTPUE" tones "$E2E_RUN/rec.wav" \
    --skip 0 --expect 1000 --absent 700

# ---------------------------------------------------------------------------------------------
step "mixer: a conference made over Cr; each hears the two others; unjoin-notify; conferenceexit"
ue_bg md --sip $AS:5080 --rtp 127.0.0.112:31000 --to "sip:mrfc@$MRF" --send tone:500 \
    --record "$E2E_RUN/md.wav" --hangup 30 --wait 90
pd=$UE_PID
ue_bg me --sip $AS:5081 --rtp 127.0.0.113:31000 --to "sip:mrfc@$MRF" --send tone:700 \
    --record "$E2E_RUN/me.wav" --hangup 30 --wait 90
pe=$UE_PID
ue_bg mf --sip $AS:5082 --rtp 127.0.0.114:31000 --to "sip:mrfc@$MRF" --send tone:1100 \
    --record "$E2E_RUN/mf.wav" --hangup 16 --wait 90
pf=$UE_PID
cd_=$(connid md)
ce=$(connid me)
cf=$(connid mf)
as_run mix <<EOF
invite
connect
sync
mixer $M<createconference conferenceid="cr-1" reserved-talkers="3"/></mscmixer>
mixer $M<createconference conferenceid="cr-1"/></mscmixer>
mixer $M<join id1="$cd_" id2="cr-1"/></mscmixer>
mixer $M<join id1="cr-1" id2="$ce"><stream media="audio" direction="sendrecv"/></join></mscmixer>
mixer $M<join id1="$cf" id2="cr-1"/></mscmixer>
mixer $M<join id1="$cf" id2="cr-1"/></mscmixer>
mixer $M<join id1="$cf" id2="cr-1"><stream media="video"/></join></mscmixer>
mixer $M<join id1="nobody~nothing" id2="cr-1"/></mscmixer>
mixer $M<destroyconference conferenceid="no-such"/></mscmixer>
expect-event $cf 60
mixer $M<destroyconference conferenceid="cr-1"/></mscmixer>
expect-event $cd_ 20
expect-event $ce 20
expect-event conferenceexit 20
bye
EOF
check_eq "the AS's script ran" 0 $?
o=$(cfw_of mix)
check_match "createconference: 200 with its id" '<response status="200" reason="conference created" conferenceid="cr-1"/>' "$o"
check_match "the same id again: 405" '<response status="405" reason="conferenceid already exists"/>' "$o"
check_eq "three joins: 200" 3 "$(grep -c '^response 200 .*<response status="200" reason="joined"/>' "$E2E_RUN/mix.cfw")"
check_match "a join made already: 408" '<response status="408" reason="joining entities already joined"/>' "$o"
check_match "a video stream: 422" '<response status="422" ' "$o"
check_match "an unknown connection: 412" '<response status="412" reason="connection nobody~nothing does not exist"/>' "$o"
check_match "destroying an unknown conference: 406" '<response status="406" ' "$o"
check_match "the party that hung up: unjoin-notify status 2" \
    "<unjoin-notify status=\"2\" reason=\"[^\"]*\" id1=\"$cf\" id2=\"cr-1\"/>" "$o"
check_match "destroyconference: 200" '<response status="200" reason="conference destroyed"/>' "$o"
check_match "then conferenceexit status 0" '<conferenceexit conferenceid="cr-1" status="0" ' "$o"
check_match "the response to destroyconference came before its events" \
    'conference destroyed.*unjoin-notify' "$(tr -d '\n' <"$E2E_RUN/mix.cfw")"
wait $pd $pe $pf
check "party D hears E and F, not itself" "$RTPUE" tones "$E2E_RUN/md.wav" --expect 700,1100 --absent 500
check "party E hears D and F, not itself" "$RTPUE" tones "$E2E_RUN/me.wav" --expect 500,1100 --absent 700
check "party F hears D and E, not itself" "$RTPUE" tones "$E2E_RUN/mf.wav" --expect 500,700 --absent 1100

step "mixer: two connections joined to each other hear each other"
ue_bg mg --sip $AS:5083 --rtp 127.0.0.115:31000 --to "sip:mrfc@$MRF" --send tone:500 \
    --record "$E2E_RUN/mg.wav" --hangup 14 --wait 60
pg=$UE_PID
ue_bg mh --sip $AS:5084 --rtp 127.0.0.116:31000 --to "sip:mrfc@$MRF" --send tone:1100 \
    --record "$E2E_RUN/mh.wav" --hangup 14 --wait 60
ph=$UE_PID
cg=$(connid mg)
ch=$(connid mh)
as_run pair <<EOF
invite
connect
sync
mixer $M<join id1="$cg" id2="$ch"/></mscmixer>
sleep 6
mixer $M<unjoin id1="$ch" id2="$cg"/></mscmixer>
mixer $M<unjoin id1="$ch" id2="$cg"/></mscmixer>
bye
EOF
o=$(cfw_of pair)
check_match "join of two connections: 200" '<response status="200" reason="joined"/>' "$o"
check_match "unjoin: 200, then 409 (not joined any more)" \
    'reason="unjoined".*status="409" reason="joining entities not joined"' "$(tr -d '\n' <"$E2E_RUN/pair.cfw")"
wait $pg $ph
check "G hears H" "$RTPUE" tones "$E2E_RUN/mg.wav" --expect 1100 --absent 500
check "H hears G" "$RTPUE" tones "$E2E_RUN/mh.wav" --expect 500 --absent 1100

# ---------------------------------------------------------------------------------------------
step "the framework's refusals (the attacker's view)"
ue_bg annc --sip $AS:5073 --rtp 127.0.0.111:30006 --to "sip:annc@$MRF;play=welcome;repeat=3" \
    --hangup 25 --wait 60
pa=$UE_PID
ca=$(connid annc)
as_run refuse <<EOF
invite
connect 127.0.0.150
expect-close 10
connect
sync no-such-channel
expect-close 10
connect
raw CFW x1 CONTROL\r\nControl-Package: msc-ivr/1.0\r\nContent-Type: application/msc-ivr+xml\r\nContent-Length: 7\r\n\r\n<a></a>
sync
ivr $I<dialogstart connectionid="$ca"><dialog><prompt><media loc="welcome"/></prompt></dialog></dialogstart></mscivr>
ivr <mscivr version="1.0"><dialogprepare/></mscivr>
ivr this is not XML
raw HELLO\r\n\r\n
expect-close 10
bye
EOF
o=$(cfw_of refuse)
check_match "a connection from another address than the offer's is closed at once" \
    '^connected from 127\.0\.0\.150$' "$o"
check_match "... (closed)" '^closed$' "$o"
check_match "SYNC with a Dialog-ID of no channel: 481" '^response 481 ' "$o"
check_match "a CONTROL before SYNC: 403" '^response 403 ' "$o"
check_match "a dialog on an RFC 4240 session: 407" '<response status="407" ' "$o"
check_match "dialogprepare: 439 (not served)" '<response status="439" ' "$o"
check_match "a body that is not XML: 400" '<response status="400" reason="not XML' "$o"
check_eq "bytes that are no CFW message close the connection (the third close)" 3 \
    "$(grep -c '^closed$' "$E2E_RUN/refuse.cfw")"
check "the MRF ended the channel's SIP dialog when the connection was lost" \
    grep -q '^got BYE\|^bye 481\|^bye 200' "$E2E_RUN/refuse.cfw"
wait $pa
as_run pkg --packages msc-ivr/1.0 <<EOF
invite
connect
sync
mixer $M<createconference/></mscmixer>
bye
EOF
check_match "the channel offered msc-ivr only" 'packages=msc-ivr/1\.0$' "$(cfw_of pkg)"
check_match "a CONTROL of a package not negotiated: 420" '^response 420 ' "$(cfw_of pkg)"
as_run silent --keepalive 2 <<EOF
invite
connect
sync
quiet
expect-bye 30
EOF
check_match "an AS silent past Keep-Alive: the MRF ends the channel's SIP dialog" \
    '^got BYE text="control channel lost"' "$(cfw_of silent)"
timeout 60 "$CFWAS" --sip "$UE:5090" --mrf "$MRF" <(echo invite) >"$E2E_RUN/untrusted.cfw" 2>&1
check_match "a channel offered from an untrusted address: 403" '^invite 403$' "$(cfw_of untrusted)"
check_eq "every control channel is gone" 0 "$(metric $MRF mrfc_cfw_channels)"
check_match "IVR dialogs counted" '^[1-9]' "$(metric $MRF 'mrfc_ivr_dialogs_total{event="exited"}')"

# ---------------------------------------------------------------------------------------------
step "Cr over TLS (RFC 6230 12): the AS's certificate is bound to the offer's a=fingerprint"
PKI=$E2E_RUN/pki
TLS_AS=(--tls-cert "$PKI/as.crt" --tls-key "$PKI/as.key")
ue_bg tlsivr --sip $AS:5074 --rtp 127.0.0.111:30008 --to "sip:mrfc@$MRF" --dtmf 6:56# \
    --hangup 24 --wait 60
ptls=$UE_PID
ct=$(connid tlsivr)
as_run tls "${TLS_AS[@]}" <<EOF
invite
connect
sync
ivr $I<dialogstart connectionid="$ct" dialogid="tls-1"><dialog><collect maxdigits="8" timeout="20s" interdigittimeout="5s"/></dialog></dialogstart></mscivr>
mixer $M<createconference conferenceid="tls-c"/></mscmixer>
kalive
mixer $M<destroyconference conferenceid="tls-c"/></mscmixer>
expect-event conferenceexit 10
expect-event dialogexit 30
bye
EOF
check_eq "the AS's script over TLS ran" 0 $?
o=$(cfw_of tls)
check_match "TCP/TLS offered: the MRF answers on its TLS port 7564" \
    '^channel 127\.0\.0\.60:7564 setup=passive cfw-id=as[0-9]+ ' "$o"
check_match "TLS up; the MRF's certificate has the a=fingerprint of its answer" \
    "^tls up TLSv1\.[23], the MRF's certificate has the answer's a=fingerprint" "$o"
check_match "SYNC over TLS answered 200" '^recv CFW as0 200 keep-alive packages' "$o"
check_match "a collect over TLS: the UA's digits in <dialogexit>" \
    '<collectinfo dtmf="56" termmode="match"/>' "$o"
check_match "mixer requests and their event over TLS: <conferenceexit>" \
    '^event .*<conferenceexit conferenceid="tls-c"' "$o"
wait $ptls
# the attacker: a certificate of the lab's own CA, but not the one the offer named
as_run tlsbad --tls-cert "$PKI/pcscf.crt" --tls-key "$PKI/pcscf.key" \
    --offer-cert "$PKI/as.crt" <<EOF
invite
connect
expect-close 10
bye
EOF
o=$(cfw_of tlsbad)
check_match "another certificate than the offer's a=fingerprint: closed after the handshake" \
    '^closed$' "$o"
check "... before any CFW message" bash -c "! grep -q '^recv CFW' '$E2E_RUN/tlsbad.cfw'"
check_match "... the MRF says why" 'its certificate is none of the a=fingerprint' \
    "$(cat "$E2E_RUN/mrfc/mrfc.log")"
check_match "... and counts it" '^[1-9]' \
    "$(metric $MRF 'mrfc_cfw_refused_total{reason="fingerprint"}')"
# the attacker without TLS: plain CFW to the TLS port, and to the TCP port for a TLS channel
as_run tlsplain "${TLS_AS[@]}" <<EOF
invite tlsplain1
connect-plain
raw CFW p1 SYNC\r\nDialog-ID: tlsplain1\r\nKeep-Alive: 100\r\nPackages: msc-ivr/1.0\r\n\r\n
expect-close 10
connect-plain 7563
raw CFW p2 SYNC\r\nDialog-ID: tlsplain1\r\nKeep-Alive: 100\r\nPackages: msc-ivr/1.0\r\n\r\n
expect-close 10
connect
sync
bye
EOF
check_eq "the refused plain connections left the channel to its AS (TLS SYNC after them)" 0 $?
o=$(cfw_of tlsplain)
check_eq "plain CFW to the TLS port and plain TCP to the TCP port: both closed, no response" \
    2 "$(grep -c '^no response to the raw message (closed)$' "$E2E_RUN/tlsplain.cfw")"
check_match "... the TLS port says the handshake failed" \
    'control connection from 127\.0\.0\.90:[0-9]+ refused: TLS handshake failed' \
    "$(cat "$E2E_RUN/mrfc/mrfc.log")"
check_match "... the TCP port takes no connection for a TLS channel" \
    'to the TCP port refused: no TCP channel was offered from that address' \
    "$(cat "$E2E_RUN/mrfc/mrfc.log")"
check_match "then the AS's own TLS connection SYNCs: 200" '^recv CFW as0 200 keep-alive' "$o"
timeout 60 "$CFWAS" --sip "$AS:5090" --mrf "$MRF" "${TLS_AS[@]}" --offer-cert none \
    <(echo invite) >"$E2E_RUN/tlsnofp.cfw" 2>&1
check_match "a TCP/TLS offer without a=fingerprint: 488, the Warning says why" \
    '^warning: TCP/TLS needs a=fingerprint' "$(cfw_of tlsnofp)"
check_match "... (488)" '^invite 488$' "$(cfw_of tlsnofp)"
check_eq "every control channel is gone" 0 "$(metric $MRF mrfc_cfw_channels)"

# ---------------------------------------------------------------------------------------------
step "online charging (Ro): alice's announcement is debited (IEC), carol gets none (402)"
ECF="P-Charging-Function-Addresses: ccf=ocs.$R; ecf=ocs.$R"
before=$(balance alice)
events0=$(metric 127.0.0.80 'ocs_ro_requests_total{type="event"}')
ue alice --sip $AS:5074 --rtp 127.0.0.111:30008 --to "sip:annc@$MRF;play=goodbye" \
    --header "P-Asserted-Identity: <sip:alice@$R>" --header "$ECF" --wait 40
check_eq "alice: answered and ended well" 0 $?
check_match "alice heard the announcement to its end" 'reason text="announcement complete"' "$(out_of alice)"
check_eq "alice's balance: 5 cents less (one announcement), nothing reserved" \
    "$(( ${before% *} - 5 )) 0" "$(balance alice)"
check_eq "the OCS got one CCR-EVENT" 1 \
    "$(( $(metric 127.0.0.80 'ocs_ro_requests_total{type="event"}') - ${events0:-0} ))"
ue carol --sip $AS:5075 --rtp 127.0.0.111:30010 --to "sip:annc@$MRF;play=goodbye" \
    --header "P-Asserted-Identity: <sip:carol@$R>" --header "$ECF" --expect 402 --wait 40
check_eq "carol: 402" 0 $?
check_match "402 with the MRF's Warning" '^warning: online charging: credit limit reached$' "$(out_of carol)"
check_match "carol received no audio" '^rtp received=0 ' "$(out_of carol)"
ue nouser --sip $AS:5076 --rtp 127.0.0.111:30012 --to "sip:annc@$MRF;play=goodbye" \
    --header "$ECF" --expect 403 --wait 40
check_eq "a charged INVITE naming no served user: 403" 0 $?
events1=$(metric 127.0.0.80 'ocs_ro_requests_total{type="event"}')
ue bob --sip $AS:5077 --rtp 127.0.0.111:30014 --to "sip:annc@$MRF;play=goodbye" \
    --header "P-Asserted-Identity: <sip:bob@$R>" --wait 40
check_eq "bob (no ECF named: offline charged): served" 0 $?
check_eq "... and no CCR for him" "${events1:-0}" "$(metric 127.0.0.80 'ocs_ro_requests_total{type="event"}')"

step "online charging (Ro): alice's conference is charged by its seconds (ECUR)"
before=$(balance alice)
init0=$(metric 127.0.0.80 'ocs_ro_requests_total{type="initial"}')
term0=$(metric 127.0.0.80 'ocs_ro_requests_total{type="termination"}')
ue aconf --sip $AS:5078 --rtp 127.0.0.111:30016 --to "sip:conf=ro-room@$MRF" \
    --header "P-Asserted-Identity: <sip:alice@$R>" --header "$ECF" --hangup 4 --wait 40
check_eq "alice's conference: answered and hung up" 0 $?
after=
for _ in $(seq 50); do
    after=$(balance alice)
    [ "${after#* }" = 0 ] && [ "$(metric 127.0.0.80 'ocs_ro_requests_total{type="termination"}')" != "$term0" ] && break
    sleep 0.2
done
spent=$(( ${before% *} - ${after% *} ))
check "charged 2 cents a second for 3 to 6 s (${spent} cents), nothing left reserved" \
    test "$spent" -ge 6 -a "$spent" -le 12 -a "${after#* }" = 0
check_eq "CCR-INITIAL and CCR-TERMINATION" "1 1" \
    "$(( $(metric 127.0.0.80 'ocs_ro_requests_total{type="initial"}') - ${init0:-0} )) $(( $(metric 127.0.0.80 'ocs_ro_requests_total{type="termination"}') - ${term0:-0} ))"
check_match "the MRF counted its CCRs" '^[1-9]' "$(metric $MRF 'mrfc_ro_total{kind="ccr_initial"}')"

# ---------------------------------------------------------------------------------------------
step "MRB: a second MRF and the broker"
# the lab's broker knows only the lab's MRF: this test runs its own with both MRFs
lab_mrb=$(cat "$E2E_RUN/mrb/mrb.pid" 2>/dev/null)
if [ -n "$lab_mrb" ] && kill -TERM "$lab_mrb" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$lab_mrb" 2>/dev/null || break; sleep 0.1; done
    rm -f "$E2E_RUN/mrb/mrb.pid"
fi
mkdir -p "$E2E_RUN/mrfc2" "$E2E_RUN/mrb"
IMS_NODE_ADDRESS=$MRF2 IMS_NODE_NAME=mrfc2.$R IMS_NODE_STATE_DIR="$E2E_RUN/mrfc2" \
    IMS_LOG_FILE="$E2E_RUN/mrfc2/mrfc2.log" IMS_DIAMETER_TLS=no IMS_DIAMETER_PEERS= \
    IMS_CHARGING_CDF= IMS_CHARGING_OCS= IMS_MRFC_PROMPTS_DIR="$PROMPTS" \
    IMS_MRFC_CFW_TLS_PORT=0 \
    "$E2E_BIN/mrfc" --config "$E2E_ROOT/deploy/lab/mrfc.conf" >"$E2E_RUN/mrfc2/mrfc2.out" 2>&1 &
pm2=$!
e2e_at_cleanup "kill -TERM $pm2 2>/dev/null; wait $pm2 2>/dev/null"
start_mrb() {   # MRFS: the broker with that list, waits until every MRF is up
    IMS_NODE_STATE_DIR="$E2E_RUN/mrb" IMS_LOG_FILE="$E2E_RUN/mrb/mrb.log" IMS_MRB_MRFS="$1" \
        "$E2E_BIN/mrb" --config "$E2E_ROOT/deploy/lab/mrb.conf" >>"$E2E_RUN/mrb/mrb.out" 2>&1 &
    PMRB=$!
    e2e_at_cleanup "kill -TERM $PMRB 2>/dev/null; wait $PMRB 2>/dev/null"
    local _
    for _ in $(seq 100); do
        [ "$(curl -s --max-time 2 "http://$MRB:8080/health" | jq -r .status 2>/dev/null)" = ok ] && return 0
        sleep 0.3
    done
    return 1
}
check "the MRB sees both MRFs up" start_mrb "$MRF:5060=400, $MRF2:5060=400"
# two parties of a conference on the first MRF: it is the more loaded
ue_bg l1 --sip $AS:5085 --rtp 127.0.0.117:31000 --to "sip:conf=busy@$MRF" --hangup 25 --wait 60
pl1=$UE_PID
ue_bg l2 --sip $AS:5086 --rtp 127.0.0.118:31000 --to "sip:conf=busy@$MRF" --hangup 25 --wait 60
pl2=$UE_PID
connid l1 >/dev/null
connid l2 >/dev/null
loaded=
for _ in $(seq 60); do
    loaded=$(curl -s --max-time 2 --interface $AS "http://$MRB:8080/api/v1/mrb/mrfs" |
        jq -r '.items[] | "\(.name) \(.sessions) \(.conferences | join(","))"' | head -n 1)
    [ "$loaded" = "$MRF:5060 2 busy" ] && break
    sleep 0.3
done
check_eq "the MRB knows the first MRF's 2 sessions and its conference" "$MRF:5060 2 busy" "$loaded"
ue viambr --sip $AS:5087 --rtp 127.0.0.111:30018 --to "sip:annc@$MRB;play=goodbye" --wait 40
check_eq "in-line: an announcement through the MRB is served" 0 $?
check_match "... by the less loaded MRF ($MRF2)" '^answer codec=PCMU .* addr=127\.0\.1\.60 ' "$(out_of viambr)"
check_match "... to its end (the MRF's BYE: the dialog runs between the UA and the MRF)" \
    'reason text="announcement complete"' "$(out_of viambr)"
ue confmbr --sip $AS:5088 --rtp 127.0.0.111:30020 --to "sip:conf=busy@$MRB" --hangup 3 --wait 40
check_eq "in-line: a party of conference busy through the MRB" 0 $?
check_match "... joins it on the MRF that holds it ($MRF)" '^answer codec=PCMU .* addr=127\.0\.0\.60 ' \
    "$(out_of confmbr)"
q=$(curl -s --max-time 5 --interface $AS "http://$MRB:8080/api/v1/mrb/query?service=annc")
check_eq "query: an announcement goes to the less loaded MRF" "$MRF2:5060 sip:annc@$MRF2:5060" \
    "$(jq -r '"\(.mrf.name) \(.request_uri)"' <<<"$q")"
q=$(curl -s --max-time 5 --interface $AS -H 'Content-Type: application/json' \
    -d '{"service":"conf","conference":"busy"}' "http://$MRB:8080/api/v1/mrb/query")
check_eq "query (POST): conference busy is on the first MRF" "$MRF:5060 sip:conf=busy@$MRF:5060" \
    "$(jq -r '"\(.mrf.name) \(.request_uri)"' <<<"$q")"
http_get "http://$MRB:8080/api/v1/mrb/query?service=annc"
check_eq "a query from an untrusted address: 403" 403 "$HTTP_CODE"
ue mbruntrusted --sip $UE:5091 --rtp $UE:30092 --to "sip:annc@$MRB;play=goodbye" --expect 403 --wait 20
check_eq "an INVITE to the MRB from an untrusted address: 403" 0 $?
wait $pl1 $pl2

step "MRB: an MRF that does not answer SIP: the next one takes the INVITE"
kill -TERM "$PMRB"
wait "$PMRB" 2>/dev/null
# the second MRF's status says it is up, but its SIP is asked on a port where none listens
check "the MRB starts again with the broken entry first" start_mrb "$MRF2:5062=400, $MRF:5060=400"
ue failover --sip $AS:5089 --rtp 127.0.0.111:30022 --to "sip:annc@$MRB;play=goodbye" --wait 40
check_eq "the INVITE is served" 0 $?
check_match "... by the next MRF ($MRF)" '^answer codec=PCMU .* addr=127\.0\.0\.60 ' "$(out_of failover)"
check_eq "the MRB counted one failover" 1 "$(metric $MRB mrb_failover_total)"

# ---------------------------------------------------------------------------------------------
step "the capture decodes: SIP, RTP, RTP events, the control channel, Ro; nothing malformed"
check "capture stops" cap_stop
# (but the bytes that are no CFW message, sent on purpose)
bad=$(cap_tshark "$E2E_CAP_FILE" "${LUA[@]}" \
    -Y '(_ws.malformed || _ws.expert.severity >= error) && !(frame contains "HELLO")' 2>/dev/null)
check_eq "no malformed packet, no expert error" "" "$bad"
ccount() { cap_tshark "$E2E_CAP_FILE" "${LUA[@]}" -Y "$1" 2>/dev/null | wc -l; }
check "the control channel decoded: SYNCs" test "$(ccount 'cfw.method == "SYNC"')" -ge 8
check "CONTROLs with msc-ivr and msc-mixer XML" \
    test "$(ccount 'cfw.control_package == "msc-ivr/1.0" && xml')" -ge 8 -a \
    "$(ccount 'cfw.control_package == "msc-mixer/1.0" && xml')" -ge 10
check "K-ALIVE exchanged" test "$(ccount 'cfw.method == "K-ALIVE"')" -ge 1
check "the control channel over TLS decrypted (the MRF's session keys): SYNC and CONTROL" \
    test "$(ccount 'tls && tcp.port == 7564 && cfw.method == "SYNC"')" -ge 2 -a \
    "$(ccount 'tls && tcp.port == 7564 && cfw.method == "CONTROL"')" -ge 4
check "RTP events decoded (the digits)" test "$(ccount 'rtpevent')" -ge 6
check "RTP decoded from both MRFs" test "$(ccount 'rtp && ip.src == 127.0.0.60')" -gt 500 -a \
    "$(ccount 'rtp && ip.src == 127.0.1.60')" -gt 50
check "SIP with the control channel's SDP decoded" \
    test "$(ccount 'sip.Status-Code == 200 && sdp.media.media == "application"')" -ge 6
check "the MRFC's Ro decoded (CCR of Node-Functionality MRFC)" \
    test "$(ccount 'diameter.cmd.code == 272 && diameter.flags.request == 1 && diameter.Node-Functionality == 3')" -ge 3

e2e_finish
