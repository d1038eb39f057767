#!/usr/bin/env bash
# tests/e2e/test_mrfc.sh - the MRF (mrfc daemon: MRFC and MRFP) end to end, with real audio.
#
# A test UA of the project (tests/tools/rtpue) calls the MRF from the test application
# server's address (127.0.0.90, a trusted peer), sends and records RTP, and analyses what it
# heard:
#   - RFC 4240 announcements: the audio received correlates with the prompt's file; repeat
#     and delay; an E.180 tone cut by duration=; the MRF's BYE at the end; over TCP; an
#     INVITE without SDP (our offer in the 200, the answer in the ACK); hold and resume by
#     re-INVITE pause the announcement and nothing is sent while held;
#   - a 3-party conference (tones of 500, 700 and 1100 Hz): each party hears the two others
#     and not itself; one party holds and resumes, one changes codec (PCMU -> PCMA) and
#     sends an UPDATE, one sends RFC 4733 digits; RTP injected from another address is
#     dropped and heard by nobody; sequence and timestamp continuity of everything received;
#   - limits: a session beyond mrfc.max_sessions gets 503 with Retry-After and a Warning,
#     statelessly (before any transaction: its To tag is sip.c's);
#   - refusals: an INVITE from an untrusted source (a UE) gets 403, so do its BYE and
#     re-INVITE inside another party's session (its Call-ID and tags); unknown prompt, fetch
#     scheme, missing play=, bad SDP, no common codec, a non-SDP body, Require, a request
#     for an unknown dialog;
#   - /metrics (sessions, RTP packets, loss, jitter, DTMF, drops); tshark decodes the SIP,
#     RTP, RTP events and RTCP with no malformed packet;
#   - offline charging: a CDR of Node-Functionality MRFC for an announcement;
#   - SIGTERM with a session up: the MRF says BYE before it stops.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init mrfc
e2e_require tshark curl soxi awk jq

MRF=127.0.0.60
AS=127.0.0.90
UE=127.0.0.110                    # an untrusted UE address of LAB.md
MRFC_LOG=$E2E_RUN/mrfc/mrfc.log
RTPUE=$E2E_BIN/rtpue
SIPSEND=$E2E_BIN/sipsend
PROMPTS=$(cd "$E2E_BIN/.." && pwd)/prompts
# a small session limit for this lab: the conference's three parties fill it
export IMS_MRFC_MAX_SESSIONS=3
# SIP of the lab and the test UAs, RTP of the MRF and of the test UAs
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 8080 or portrange 5070-5099 or portrange 20000-20999 or portrange 30000-30099 or portrange 31000-31099)'
TSHARK_OPTS=(-o rtp.heuristic_rtp:TRUE -o rtcp.heuristic_rtcp:TRUE)

for t in rtpue sipsend mrfc; do
    [ -x "$E2E_BIN/$t" ] || { fail "$t built in $E2E_BIN" "run: make"; e2e_finish; }
done
[ -s "$PROMPTS/welcome.wav" ] || { fail "prompts built in $PROMPTS" "run: make"; e2e_finish; }

ue() {   # NAME ARGS...: rtpue call, output in NAME.out; returns its status
    local name=$1
    shift
    timeout 60 "$RTPUE" call "$@" >"$E2E_RUN/$name.out" 2>&1
}

out_of() { cat "$E2E_RUN/$1.out" 2>/dev/null; }

val() {   # NAME KEY: the value of key=value on the statistics lines of NAME.out
    sed -n 's/^rtp .*\b'"$2"'=\([^ ]*\).*/\1/p' "$E2E_RUN/$1.out" | head -n 1
}

metric() {   # SERIES: the value in the MRF's /metrics
    curl -s --max-time 5 "http://$MRF:8080/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

wait_metric() {   # SERIES VALUE SECONDS: until the series has the value, SECONDS at most
    # (a sleep then one look failed when the machine was slow; the check after says what)
    local i
    for i in $(seq 1 $(($3 * 5))); do
        [ "$(metric "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

mrf_port() {   # NAME: the MRF's RTP port from the answer line of NAME.out
    sed -n 's/^answer .* port=\([0-9]*\).*/\1/p' "$E2E_RUN/$1.out" | head -n 1
}

check_rtp_clean() {   # NAME: everything received in order, nothing lost
    local n=$1 out
    out=$(grep '^rtp received' "$E2E_RUN/$n.out")
    check_match "$n: RTP received with no loss, sequence and timestamps continuous" \
        'received=[1-9][0-9]* lost=0 seq_errors=0 ts_errors=0 ' "$out"
}

tcount() {   # FILTER: packets of the capture matching it (RTP decoded)
    tshark -r "$E2E_CAP_FILE" "${TSHARK_OPTS[@]}" -Y "$1" 2>/dev/null | wc -l
}

check "capture starts" cap_start mrfc
check "the lab starts" lab_start
DTMF0=$(metric 'mrfc_dtmf_digits_total{source="rfc4733"}')
FOREIGN0=$(metric 'mrfc_rtp_packets_dropped_total{reason="foreign"}')

# ---------------------------------------------------------------------------------------------
step "announcement (RFC 4240): the audio received is the prompt's, then the MRF says BYE"
ue annc --sip $AS:5070 --rtp 127.0.0.111:30000 \
    --to "sip:annc@$MRF;play=file://$PROMPTS/welcome.wav" --record "$E2E_RUN/annc.wav" --wait 30
check_eq "annc: answered and ended well" 0 $?
o=$(out_of annc)
check_match "annc: 200 with SDP: PCMU, sendonly, from the MRF's RTP range" \
    '^answer codec=PCMU pt=0 te=101 dir=sendonly addr=127\.0\.0\.60 port=20[0-9]{3}$' "$o"
check_match "annc: the MRF's BYE says the announcement is complete" \
    'reason text="announcement complete"' "$o"
check_rtp_clean annc
check "annc: the recording correlates with welcome.wav (>= 0.9)" \
    "$RTPUE" correlate "$E2E_RUN/annc.wav" "$PROMPTS/welcome.wav" --min 0.9
len=$(awk '/^recorded/ { print $2 }' "$E2E_RUN/annc.out")
ref=$(soxi -D "$PROMPTS/welcome.wav" 2>/dev/null || echo 0)
check "annc: as long as the prompt (${len}s for ${ref}s)" \
    awk -v a="$len" -v b="$ref" 'BEGIN { exit !(a >= b - 0.1 && a <= b + 0.3) }'

step "offline charging: the announcement's session is a CDR of the MRFC (Rf START, STOP)"
icid="mrfc-e2e-$RANDOM$RANDOM"
ue charged --sip $AS:5079 --rtp 127.0.0.111:30016 --to "sip:annc@$MRF;play=goodbye" \
    --header "P-Charging-Vector: icid-value=$icid;orig-ioi=ims.mnc001.mcc001.3gppnetwork.org" \
    --wait 20
check_eq "charged: answered and ended well" 0 $?
cdr_of() {   # ICID: the closed CDRs with it as "node_functionality/role_of_node method"
    curl -s --max-time 10 -H "Authorization: Bearer ims-lab-token" \
        "http://127.0.0.80:8080/api/v1/cdrs?icid=$1" |
        jq -r '.items[] | select(.status == "closed") | "\(.node_functionality)/\(.role_of_node) \(.method)"'
}
cdr=
for _ in $(seq 1 50); do
    cdr=$(cdr_of "$icid")
    [ -n "$cdr" ] && break
    sleep 0.2
done
check_eq "one closed CDR of Node-Functionality MRFC (3), terminating (1), ended by BYE" \
    "3/1 BYE" "$cdr"

step "announcement with repeat=2 and delay=700 ms, by name, over TCP"
ue annc2 --tcp --sip $AS:5071 --rtp 127.0.0.111:30002 \
    --to "sip:annc@$MRF;play=busy;repeat=2;delay=700" --record "$E2E_RUN/annc2.wav" --wait 30
check_eq "annc2: answered and ended well over TCP" 0 $?
check_rtp_clean annc2
len=$(awk '/^recorded/ { print $2 }' "$E2E_RUN/annc2.out")
ref=$(soxi -D "$PROMPTS/busy.wav" 2>/dev/null || echo 0)
check "annc2: twice the prompt and the delay (${len}s for 2 x ${ref}s + 0.7s)" \
    awk -v a="$len" -v b="$ref" 'BEGIN { exit !(a >= 2 * b + 0.6 && a <= 2 * b + 1.0) }'
check "annc2: the recording correlates with busy.wav" \
    "$RTPUE" correlate "$E2E_RUN/annc2.wav" "$PROMPTS/busy.wav" --min 0.9

step "an E.180 tone (busy, 425 Hz) cut at duration=2500 ms; an INVITE without SDP"
ue tone --sip $AS:5078 --rtp 127.0.0.111:30004 --no-offer \
    --to "sip:annc@$MRF;play=tone:busy;duration=2500" --record "$E2E_RUN/tone.wav" --wait 20
check_eq "tone: answered (offer in the 200, answer in the ACK) and ended well" 0 $?
o=$(out_of tone)
check_match "tone: the MRF offered PCMU and PCMA with telephone-event" \
    '^offer codec=PCMU pt=0 te=101 dir=sendonly' "$o"
check_match "tone: the ACK carried our answer" '^sent ACK with SDP$' "$o"
check_match "tone: BYE for the duration" 'reason text="announcement duration reached"' "$o"
check "tone: 425 Hz in what was heard" "$RTPUE" tones "$E2E_RUN/tone.wav" --skip 0 --expect 425
len=$(awk '/^recorded/ { print $2 }' "$E2E_RUN/tone.out")
check "tone: 2.5 s of it (${len}s)" awk -v a="$len" 'BEGIN { exit !(a >= 2.4 && a <= 2.6) }'

step "trust: requests inside an MRF dialog from outside the trust domain (the attacker)"
# A UE at the far end of a session knows its Call-ID and tags (proxies pass them end to
# end): its BYE, or a re-INVITE sending the MRF's media to another address, straight to the
# MRF must be refused; the session plays on until the AS hangs up. Their CSeq is far above
# the dialog's (a lower one would be refused 500 by sofia-sip's dialog, RFC 3261 12.2.2,
# before the MRF): sofia-sip keeps a request's CSeq as the dialog's even when the MRF
# refuses it, so the AS's own BYE would then be out of order (500) unless the MRF puts the
# dialog's CSeq back (common/sip.c).
l=$(log_mark "$MRFC_LOG")
ue dlg --sip $AS:5083 --rtp 127.0.0.111:30018 \
    --to "sip:annc@$MRF;play=tone:busy;duration=10000" --hangup 4 --wait 20 &
dlg_pid=$!
dialog_of() {   # NAME: waits until rtpue run NAME prints its dialog; sets d_cid, d_tags
    local _
    for _ in $(seq 25); do
        grep -q '^dialog ' "$E2E_RUN/$1.out" 2>/dev/null && break
        sleep 0.2
    done
    d_cid=$(sed -n 's/^dialog //p' "$E2E_RUN/$1.out")
    d_tags=$(sed -n 's/^connection //p' "$E2E_RUN/$1.out")
}
dialog_of dlg
in_dialog() {   # METHOD CSEQ [SDP]: from the UE's address, in the session's dialog
    {
        printf '%s sip:%s:5060 SIP/2.0\nVia: SIP/2.0/UDP %s:5091;branch=z9hG4bK%s%s\n' \
            "$1" "$MRF" "$UE" "${1,,}" "$RANDOM"
        printf 'Max-Forwards: 70\nFrom: <sip:rtpue@%s:5083>;tag=%s\nTo: <sip:annc@%s>;tag=%s\n' \
            "$AS" "${d_tags%%~*}" "$MRF" "${d_tags#*~}"
        printf 'Call-ID: %s\nCSeq: %s %s\nContact: <sip:ue@%s:5091>\n' "$d_cid" "$2" "$1" "$UE"
        [ -n "${3:-}" ] && printf 'Content-Type: application/sdp\n'
        printf '\n%s' "${3:-}"
    } >"$E2E_RUN/evil-${1,,}.req"
    "$SIPSEND" --from $UE:5091 --to $MRF:5060 "$E2E_RUN/evil-${1,,}.req" 2>&1 | tr -d '\r'
}
evil_sdp="v=0
o=- 9 9 IN IP4 $UE
s=-
c=IN IP4 $UE
t=0 0
m=audio 30090 RTP/AVP 0
"
check_match "a re-INVITE moving the media to $UE, from $UE: 403 with a Warning" \
    "^SIP/2.0 403 .*Warning: 399 $MRF \"INVITE from $UE:5091/udp: not a trusted peer of this node\"" \
    "$(in_dialog INVITE 2000000000 "$evil_sdp" | tr '\n' ' ')"
check_match "a BYE from $UE: 403" '^SIP/2.0 403 ' "$(in_dialog BYE 2000000001)"
check "the MRF put the dialog's remote CSeq back" \
    log_wait_for "$MRFC_LOG" "$l" "the dialog's remote CSeq is [0-9]+ again \\(the refused BYE had 2000000001\\)" 5
wait "$dlg_pid"
check_eq "the session played on until the AS hung up" 0 $?
check_match "... whose own BYE (CSeq below the attacker's) got 200" '^got 200 to BYE' \
    "$(out_of dlg)"
check_eq "/metrics: two requests in a dialog refused as untrusted" 2 \
    "$(metric ims_sip_dialog_untrusted_refused_total)"
# The dialog put back must still be the session's for what the MRF sends in it: after the
# same attack, the MRF's own BYE at the announcement's end reaches the AS and is answered
l=$(log_mark "$MRFC_LOG")
ue dlg2 --sip $AS:5083 --rtp 127.0.0.111:30018 \
    --to "sip:annc@$MRF;play=tone:busy;duration=3000" --wait 20 &
dlg_pid=$!
dialog_of dlg2
check_match "a BYE of CSeq 2000000002 from $UE in another session: 403" '^SIP/2.0 403 ' \
    "$(in_dialog BYE 2000000002)"
check "... the MRF put that dialog's remote CSeq back" \
    log_wait_for "$MRFC_LOG" "$l" "the dialog's remote CSeq is [0-9]+ again \\(the refused BYE had 2000000002\\)" 5
wait "$dlg_pid"
check_eq "the session played to its end" 0 $?
check_match "... ended by the MRF's BYE in the dialog put back, which the AS took" \
    '^got BYE at ' "$(out_of dlg2)"
check_match "... at the duration" 'reason text="announcement duration reached"' \
    "$(out_of dlg2)"

step "hold and resume of an announcement (re-INVITE): nothing sent while held, then the rest"
ue hold --sip $AS:5073 --rtp 127.0.0.111:30006 --to "sip:annc@$MRF;play=welcome" \
    --hold 1.5 --resume 3.5 --record "$E2E_RUN/hold.wav" --wait 30
check_eq "hold: answered and ended well" 0 $?
o=$(out_of hold)
check_match "hold: the re-INVITE with sendonly is answered inactive" \
    '^reinvite-answer codec=PCMU .* dir=inactive ' "$o"
check_match "hold: the resume is answered sendonly again" \
    '^reinvite-answer codec=PCMU .* dir=sendonly ' "$o"
check_eq "hold: no RTP received while held (from 100 ms after the hold's 200)" 0 \
    "$(val hold held_received)"
check_match "hold: sequence continuous; the pause marked (RTP marker bit)" \
    'seq_errors=0 ts_errors=0 markers=[2-9]' "$(grep '^rtp received' "$E2E_RUN/hold.out")"
bye_at=$(sed -n 's/^got BYE at \([0-9.]*\) s.*/\1/p' "$E2E_RUN/hold.out")
ref=$(soxi -D "$PROMPTS/welcome.wav" 2>/dev/null || echo 0)
# (the pause is 2 s from the UA's side; how much of it the MRF sees depends on when each
# re-INVITE is handled: a play that did not pause would end at the prompt's length)
check "hold: the whole prompt played around the pause (BYE at ${bye_at}s: ${ref}s + 2s)" \
    awk -v a="${bye_at:-0}" -v b="$ref" 'BEGIN { exit !(a >= b + 1.0 && a <= b + 3.0) }'

# ---------------------------------------------------------------------------------------------
step "3-party conference: each hears the two others and not itself; hold, codec change, DTMF"
conf="sip:conf=room-1@$MRF"
ue confa --sip $AS:5080 --rtp 127.0.0.112:31000 --to "$conf" --send tone:500 \
    --record "$E2E_RUN/confa.wav" --dtmf 2:159# --hangup 8 --wait 20 &
pa=$!
ue confb --sip $AS:5081 --rtp 127.0.0.113:31000 --to "$conf" --send tone:700 \
    --record "$E2E_RUN/confb.wav" --hold 3 --resume 4.5 --hangup 8 --wait 20 &
pb=$!
ue confc --sip $AS:5082 --rtp 127.0.0.114:31000 --to "$conf" --send tone:1100 \
    --record "$E2E_RUN/confc.wav" --recodec 2:PCMA --update 5:sendrecv --hangup 8 --wait 20 &
pc=$!
wait_metric 'mrfc_sessions_active{service="conf"}' 3 6   # they talk for 8 s
check_eq "mrfc_conferences_active while the parties talk" 1 "$(metric mrfc_conferences_active)"
check_eq "mrfc_sessions_active{service=\"conf\"}" 3 \
    "$(metric 'mrfc_sessions_active{service="conf"}')"

# the MRF is full (mrfc.max_sessions = 3): 503 with Retry-After and a Warning
ue full --sip $AS:5074 --rtp 127.0.0.111:30008 --to "sip:annc@$MRF;play=welcome" \
    --expect 503 --wait 10
check_eq "a fourth session: 503" 0 $?
o=$(out_of full)
check_match "503 with Retry-After" '^retry-after: 5$' "$o"
check_match "503 with a Warning of the MRF" '^warning: all sessions of this MRF are in use$' "$o"

# an attacker sends RTP (1500 Hz) to party A's port from another address
porta=$(mrf_port confa)
check "RTP from another address to the MRF's port $porta" \
    "$RTPUE" inject --from 127.0.0.150:31099 --to "$MRF:$porta" --count 100 --tone 1500
wait $pa
check_eq "party A: answered and hung up" 0 $?
wait $pb
check_eq "party B: answered, held, resumed, hung up" 0 $?
wait $pc
check_eq "party C: answered, changed codec, hung up" 0 $?
check "party A hears B and C, not itself, not the attacker" "$RTPUE" tones \
    "$E2E_RUN/confa.wav" --expect 700,1100 --absent 500,1500
check "party B hears A and C, not itself" "$RTPUE" tones "$E2E_RUN/confb.wav" \
    --expect 500,1100 --absent 700,1500
check "party C hears A and B, not itself" "$RTPUE" tones "$E2E_RUN/confc.wav" \
    --expect 500,700 --absent 1100,1500
for p in confa confb confc; do
    check_match "$p: received RTP, sequence and timestamps continuous" \
        'received=[1-9][0-9]* lost=[0-9]+ seq_errors=0 ts_errors=0 ' \
        "$(grep '^rtp received' "$E2E_RUN/$p.out")"
done
check_match "party B: the hold answered recvonly, the resume sendrecv" \
    'dir=recvonly.*dir=sendrecv' "$(grep '^reinvite-answer' "$E2E_RUN/confb.out" | tr '\n' ' ')"
check_eq "party B: no RTP received while holding" 0 "$(val confb held_received)"
check_eq "party C: PCMU, then PCMA" "PCMU,PCMA" "$(val confc codecs)"
check_match "party C: an UPDATE with an offer answered (RFC 3311), PCMA kept" \
    '^update-answer codec=PCMA pt=8 te=101 dir=sendrecv ' "$(out_of confc)"
check_eq "the MRF read party A's 4 digits (RFC 4733)" 4 \
    "$(awk -v a="$DTMF0" -v b="$(metric 'mrfc_dtmf_digits_total{source="rfc4733"}')" \
        'BEGIN { print b - a }')"
check "the attacker's packets were dropped (mrfc_rtp_packets_dropped_total{reason=\"foreign\"})" \
    awk -v a="$FOREIGN0" -v b="$(metric 'mrfc_rtp_packets_dropped_total{reason="foreign"}')" \
    'BEGIN { exit !(b - a >= 100) }'
wait_metric 'mrfc_sessions_active{service="conf"}' 0 10
wait_metric mrfc_conferences_active 0 10
check_eq "the conference ended with its last party" 0 "$(metric mrfc_conferences_active)"
check_eq "no session left" 0 "$(metric 'mrfc_sessions_active{service="conf"}')"

# ---------------------------------------------------------------------------------------------
step "refusals: the trust domain, the request, the SDP"
ue untrusted --sip $UE:5090 --rtp $UE:30090 --to "sip:annc@$MRF;play=welcome" --expect 403 \
    --wait 10
check_eq "an INVITE from a UE (not a trusted peer): 403" 0 $?
check_match "403 with the MRF's Warning" "^warning: INVITE from $UE:5090/udp: not a trusted peer" \
    "$(out_of untrusted)"
ue noprompt --sip $AS:5075 --rtp 127.0.0.111:30010 --to "sip:annc@$MRF;play=nothing.wav" \
    --expect 404 --wait 10
check_eq "an unknown prompt: 404" 0 $?
ue http --sip $AS:5075 --rtp 127.0.0.111:30010 \
    --to "sip:annc@$MRF;play=http://example.org/a.wav" --expect 404 --wait 10
check_eq "a prompt to fetch over HTTP (nothing is fetched): 404" 0 $?
ue outside --sip $AS:5075 --rtp 127.0.0.111:30010 \
    --to "sip:annc@$MRF;play=file:///etc/passwd" --expect 404 --wait 10
check_eq "a file outside the prompts folder: 404" 0 $?
ue noplay --sip $AS:5075 --rtp 127.0.0.111:30010 --to "sip:annc@$MRF" --expect 400 --wait 10
check_eq "annc without play=: 400" 0 $?
ue nosvc --sip $AS:5075 --rtp 127.0.0.111:30010 --to "sip:bob@$MRF" --expect 404 --wait 10
check_eq "a user part that is no service: 404" 0 $?

invite() {   # NAME CONTENT-TYPE BODY [EXTRA HEADER]: a raw INVITE from the AS, the answer
    local name=$1 type=$2 body=$3 extra=${4:-}
    {
        printf 'INVITE sip:conf=raw@%s SIP/2.0\n' "$MRF"
        printf 'Via: SIP/2.0/UDP %s:5076;branch=z9hG4bK%s%s\n' "$AS" "$name" "$RANDOM"
        printf 'Max-Forwards: 70\nFrom: <sip:as@%s>;tag=%s\nTo: <sip:conf=raw@%s>\n' \
            "$AS" "$name" "$MRF"
        printf 'Call-ID: %s-%s@test\nCSeq: 1 INVITE\nContact: <sip:as@%s:5076>\n' \
            "$name" "$RANDOM" "$AS"
        [ -n "$extra" ] && printf '%s\n' "$extra"
        printf 'Content-Type: %s\n\n%s' "$type" "$body"
    } >"$E2E_RUN/$name.req"
    "$SIPSEND" --from $AS:5076 --to $MRF:5060 "$E2E_RUN/$name.req" 2>&1 | tr -d '\r' \
        >"$E2E_RUN/$name.resp"
    sed -n '1p' "$E2E_RUN/$name.resp"
}
amr='v=0
o=- 1 1 IN IP4 127.0.0.111
s=-
c=IN IP4 127.0.0.111
t=0 0
m=audio 30012 RTP/AVP 96
a=rtpmap:96 AMR/8000
'
check_eq "an offer without G.711: 488" "SIP/2.0 488 Not Acceptable Here" \
    "$(invite amr application/sdp "$amr")"
check_match "488 says why" '^Warning: 399 127\.0\.0\.60 "no common codec' \
    "$(cat "$E2E_RUN/amr.resp")"
check_eq "a body that is no SDP: 400" "SIP/2.0 400 Bad Request" \
    "$(invite badsdp application/sdp 'this is not SDP')"
check_eq "a body that is not SDP at all: 415" "SIP/2.0 415 Unsupported Media Type" \
    "$(invite text text/plain 'hello')"
check_match "415 with Accept: application/sdp" '^Accept: application/sdp' \
    "$(cat "$E2E_RUN/text.resp")"
check_eq "Require: an extension the MRF lacks: 420" "SIP/2.0 420 Bad Extension" \
    "$(invite require application/sdp "$amr" 'Require: 100rel')"
check_match "420 with Unsupported" '^Unsupported: 100rel' "$(cat "$E2E_RUN/require.resp")"
printf 'BYE sip:mrfc@%s SIP/2.0\nVia: SIP/2.0/UDP %s:5076;branch=z9hG4bKbye%s\nMax-Forwards: 70\nFrom: <sip:as@%s>;tag=a\nTo: <sip:mrfc@%s>;tag=nosuch\nCall-ID: nosuch@test\nCSeq: 2 BYE\n\n' \
    "$MRF" "$AS" "$RANDOM" "$AS" "$MRF" >"$E2E_RUN/bye.req"
check_match "a BYE for no dialog: 481" '^SIP/2.0 481 ' \
    "$("$SIPSEND" --from $AS:5076 --to $MRF:5060 "$E2E_RUN/bye.req" 2>&1)"

# ---------------------------------------------------------------------------------------------
step "/metrics of the MRF"
m=$(curl -s --max-time 5 "http://$MRF:8080/metrics")
check_match "sessions counted by service" '^mrfc_sessions_total\{service="annc"\} ([4-9]|[1-9][0-9])' "$m"
check_match "conference sessions counted" '^mrfc_sessions_total\{service="conf"\} 3$' "$m"
check_match "refusals counted: busy" '^mrfc_sessions_refused_total\{reason="busy"\} 1$' "$m"
check_match "refusals counted: untrusted" '^mrfc_sessions_refused_total\{reason="untrusted"\} 1$' "$m"
check_match "RTP packets sent" '^mrfc_rtp_packets_sent_total [1-9][0-9]{3,}' "$m"
check_match "RTP packets received" '^mrfc_rtp_packets_received_total [1-9][0-9]{2,}' "$m"
check_match "RTP loss counted" '^mrfc_rtp_packets_lost_total [0-9]+' "$m"
check_match "late packets counted" '^mrfc_rtp_packets_late_total [0-9]+' "$m"
check_match "jitter observed" '^mrfc_rtp_jitter_seconds_count [1-9]' "$m"
check_match "RTCP sent" '^mrfc_rtcp_packets_sent_total [1-9]' "$m"
check_match "media ticks" '^mrfc_media_ticks_total [1-9][0-9]{2,}' "$m"
check_match "no leg left in the media thread" '^mrfc_media_legs 0$' "$m"

# ---------------------------------------------------------------------------------------------
step "SIGTERM with an announcement playing: the MRF says BYE before it stops"
ue forever --sip $AS:5077 --rtp 127.0.0.111:30014 \
    --to "sip:annc@$MRF;play=welcome;repeat=forever" --wait 20 &
pf=$!
sleep 2
kill -TERM "$(cat "$E2E_RUN/mrfc/mrfc.pid")"
wait $pf
check_eq "the call ended by the MRF's BYE" 0 $?
check_match "the BYE says the MRF is shutting down" 'reason text="MRF shutting down"' \
    "$(out_of forever)"

# ---------------------------------------------------------------------------------------------
step "the capture decodes: SIP, RTP, RTP events, RTCP, nothing malformed"
check "capture stops" cap_stop
# (but the test's own broken SDP, sent from port 5076 on purpose)
bad=$(tshark -r "$E2E_CAP_FILE" "${TSHARK_OPTS[@]}" \
    -Y '(_ws.malformed || _ws.expert.severity >= error) && !(udp.srcport == 5076)' 2>/dev/null)
check_eq "no malformed packet, no expert error" "" "$bad"
check "the MRF's RTP decoded (G.711 from 127.0.0.60)" \
    test "$(tcount 'rtp && ip.src == 127.0.0.60 && (rtp.p_type == 0 || rtp.p_type == 8)')" -gt 1000
check "PCMA in the capture (party C after its change)" test "$(tcount 'rtp.p_type == 8')" -gt 50
check "RTP events decoded (party A's digits)" test "$(tcount 'rtpevent')" -ge 8
check "RTCP decoded (the MRF's reports)" test "$(tcount 'rtcp && ip.src == 127.0.0.60')" -gt 3
check "SIP with SDP decoded" test "$(tcount 'sip.Status-Code == 200 && sdp')" -ge 8
full503='ip.src == 127.0.0.60 && sip.Status-Code == 503 && sip.Warning contains "all sessions"'
stateless_tag='sip.to.tag matches "^sl[0-9a-f]{16}$"'
check "the 503 of a full MRF was stateless (sip.c's early refusal: its To tag, no transaction)" \
    test "$(tcount "$full503 && $stateless_tag")" -ge 1 -a \
    "$(tcount "$full503 && !($stateless_tag)")" -eq 0

e2e_finish
