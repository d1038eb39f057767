#!/usr/bin/env bash
# tests/e2e/test_prack.sh - reliable provisional responses (RFC 3262, 100rel/PRACK) and
# UPDATE (RFC 3311) at the MGCF (issue 14; TS 29.163 early media before the answer).
#
# IMS -> PSTN: a trusted peer (sipp on 127.0.1.73, in the BGCF's place) calls tel:+19995550101
# (the PSTN's ACM says in-band information: early media) with Supported: 100rel. Checked: the
# 180 with the MGW's SDP goes reliably (Require: 100rel, RSeq) and again and again while the
# peer holds its PRACK back (counted on the wire), the PRACK is answered 200 and only then the
# 200 to the INVITE goes, though the PSTN answered before (RFC 3262 3); a PRACK of an RSeq the
# MGCF never sent gets 481; an UPDATE with a new offer gets 200 with the MGCF's SDP (a new
# version) after an H.248 Modify with the new Remote. The same for tel:+19995550100 (no early
# media: a 180 without SDP, PRACKed at once). Preconditions (RFC 3312, segmented qos as a
# VoLTE UE offers them): the reliable 183 carries the MGCF's qos status, no IAM goes while
# the UE reserves its resources, its UPDATE saying they are reserved gets 200 (both
# segments met) and only then the IAM goes; a UE that never says so gets 580 after
# mgcf.precondition_timeout_ms (4 s here) and no IAM goes; an IAM from the PSTN on the circuit
# such a call holds (the PSTN cannot know: no IAM went) takes it, and the waiting call moves to
# another circuit (its TDM termination with it) and sends its IAM there once the UPDATE came.
# INVITEs the MGCF refuses for
# their extensions (Require: foo, precondition without an offer, preconditions without
# 100rel) get 420 or 421. A PRACK that never comes: the reliable 18x is sent again until
# 64*T1 (sip.t1x64_ms, 8 s here), then the INVITE fails 504 (cause 102) and the PSTN gets REL
# 102, also when the PSTN had answered (the 200 held back for the PRACK never goes, and no
# BYE goes on the early dialog). UPDATE: without SDP 200 at once, even while an offer
# waits; an offer crossing the peer's previous one (its answer waiting for the MGW) 500 with
# Retry-After (RFC 3311 5.2); an offer crossing the MGCF's own (in its 200 to an INVITE
# without SDP, before the ACK) 491. PSTN -> IMS: mgcf.icscf points at sipp on 127.0.1.74, whose
# reliable 183 the MGCF PRACKs (its INVITE offers 100rel), then the call is answered (ANM).
# A capture in which tshark decodes SIP, ISUP and H.248 with no malformed field.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init prack
e2e_require sipp tshark timeout

SCEN=$E2E_ROOT/tests/e2e/scenarios
LUA=(-X "lua_script:$E2E_ROOT/tests/lib/m3ua_tcp.lua")
MGCF=127.0.0.70:5060
PEER=127.0.1.73                       # trusted by the MGCF (sip.trusted_peers 127.0.1.0/24)
ICSCF=127.0.1.74                      # the MGCF's I-CSCF in this test
PSTN_OUT=$E2E_RUN/pstn/pstn.out
MGW_OUT=$E2E_RUN/mgw/mgw.out
MGCF_LOG=$E2E_RUN/mgcf/mgcf.log
PSTN_CTL=$E2E_RUN/pstn/control      # the PSTN switch's orders while it runs (its --control)
export IMS_LAB_PSTN_ARGS="--number 19995550101=early --number 19995550480=ring --control $PSTN_CTL"
export IMS_LAB_MGW_ARGS="--modify-ms 200"      # an UPDATE's answer waits 0.2 s: another can cross it
export IMS_SIP_T1X64_MS=8000                   # 64*T1: a reliable 18x never PRACKed fails after 8 s
export IMS_MGCF_ICSCF="sip:$ICSCF:5060"
export IMS_MGCF_PRECONDITION_TIMEOUT_MS=4000   # preconditions never met: 580 after 4 s
E2E_CAP_FILTER='net 127.0.0.0/16 and (port 5060 or port 2905 or port 2944)'

for b in pstn mgw mgcf; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

sipp_at() {   # NAME ADDRESS SCENARIO ARGS...: one sipp run, logs in the run folder
    local name=$1 addr=$2 scen=$3
    shift 3
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p 5060 \
        -mp 16000 -timeout 40s -timeout_error -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}
logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }

cap_start prack
step "the lab, with its PSTN switch and media gateway"
check "deploy/lab.sh start" lab_start
check "the MGCF's MGW is in service" log_wait_for "$MGCF_LOG" 0 "MGW 127\.0\.0\.101:2944 in service" 30

# ---------------------------------------------------------------------------------------------
step "IMS -> PSTN, early media: a reliable 180 with SDP, PRACKed 2.5 s late"
g=$(log_mark "$MGW_OUT") l=$(log_mark "$MGCF_LOG")
check "INVITE (Supported: 100rel) -> 180 (reliable) .. PRACK -> 200, 200 -> ACK, UPDATE, BYE" \
    sipp_at early "$PEER" prack_uac.xml -key target tel:+19995550101 -key pai tel:+15550100001 \
    -d 2500 "$MGCF"
check_match "the 180 requires 100rel and has an RSeq" '^reliable: 180 rseq=[0-9]+ require= *100rel' \
    "$(logline early)"
check_match "the PRACK got 200, then the INVITE its 200 with the MGW's SDP" \
    'pracked: 200 CSeq: 2 PRACK.*answered: c=IN IP4 127\.0\.0\.101 CSeq: 1 INVITE' \
    "$(logline early | tr '\n' ' ')"
check_match "a PRACK of an RSeq never sent: 481" '^unknown-rack: 481' "$(logline early)"
check_match "the UPDATE's 200 carries the MGCF's SDP, a new version" \
    '^update: o=[^ ]+ [0-9]+ ([2-9]|[1-9][0-9]+) IN IP4 127\.0\.0\.70 m=audio [0-9]+ RTP/AVP' \
    "$(logline early)"
check_match "... with the one format the UPDATE offered (PCMA 8; the INVITE offered 8 0: RFC 3264 6.1)" \
    '^update: .* m=audio [0-9]+ RTP/AVP 8 CSeq: 4 UPDATE$' "$(logline early)"
check "the MGW got two Modifies of the call's RTP termination (the answer, the UPDATE)" \
    test "$(log_since "$MGW_OUT" "$g" | grep -c '^rx Transaction=[0-9]* Modify=rtp/')" -ge 2
check_match "the MGCF logged the PRACK and the UPDATE" \
    'PRACK RAck [0-9]+ answered 200.*UPDATE: the IMS side.*UPDATE answered 200' \
    "$(log_since "$MGCF_LOG" "$l" | tr '\n' ' ')"

step "IMS -> PSTN, no early media: a reliable 180 without SDP, PRACKed at once"
check "the same call to tel:+19995550100" \
    sipp_at plain "$PEER" prack_uac.xml -key target tel:+19995550100 -key pai tel:+15550100001 \
    -d 10 "$MGCF"
check_match "its 180 is reliable too" '^reliable: 180 rseq=[0-9]+ require= *100rel' "$(logline plain)"

step "IMS -> PSTN with preconditions (RFC 3312): the IAM waits for the UE's resources"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
sipp_at pre "$PEER" precond_uac.xml -key target tel:+19995550100 -key pai tel:+15550100001 \
    -d 3000 "$MGCF" &
PRE=$!
check "the reliable 183 was PRACKed" \
    log_wait_for "$MGCF_LOG" "$l" 'PRACK RAck [0-9]+ answered 200' 10
sleep 1.5
check_eq "... and while the UE reserves its resources (3 s) no IAM reaches the PSTN" "" \
    "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"
check "INVITE (Require: precondition) -> 183 -> PRACK, UPDATE -> 200, 180 -> PRACK, 200, ACK, BYE" \
    wait "$PRE"
check_match "the 183 requires 100rel and precondition, with an RSeq" \
    '^reliable: 183 rseq=[0-9]+ require= *100rel, *precondition$' "$(logline pre)"
check_match "its SDP: the MGCF's segment met, the UE's none, both mandatory, confirmation asked" \
    '^qos183: a=curr:qos local sendrecv \| a=curr:qos remote none \| a=des:qos mandatory local sendrecv \| a=des:qos mandatory remote sendrecv \| a=conf:qos remote sendrecv$' \
    "$(logline pre)"
check_match "the UPDATE (the UE's segment reserved) got 200: both segments met" \
    '^updated: a=curr:qos local sendrecv \| a=curr:qos remote sendrecv CSeq: 3 UPDATE$' \
    "$(logline pre)"
check_match "then the PSTN rang (a reliable 180) and answered (200 with the MGW's SDP)" \
    'ringing: 180 rseq=[0-9]+ .*answered: c=IN IP4 127\.0\.0\.101' "$(logline pre | tr '\n' ' ')"
check_match "the IAM reached the PSTN switch once the UPDATE was answered" \
    '^rx IAM cic=[0-9]+ called=19995550100 ' "$(log_since "$PSTN_OUT" "$p")"
check_match "the MGCF logged the wait and the UPDATE that ended it" \
    'preconditions \(qos, segmented\): the IAM waits.*UPDATE: the IMS side.s qos segment has sendrecv of sendrecv: preconditions met' \
    "$(log_since "$MGCF_LOG" "$l" | tr '\n' ' ')"

step "preconditions: the PSTN's IAM on the circuit the waiting call chose wins, the call moves"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG") g=$(log_mark "$MGW_OUT")
sipp_at mvin "$ICSCF" prack_uas.xml &
MVIN=$!
sipp_at mv "$PEER" precond_uac.xml -key target tel:+19995550100 -key pai tel:+15550100001 \
    -d 3000 "$MGCF" &
MV=$!
check "the reliable 183 was PRACKed" \
    log_wait_for "$MGCF_LOG" "$l" 'PRACK RAck [0-9]+ answered 200' 10
cic=$(log_since "$MGCF_LOG" "$l" |
    sed -n 's/.*call [0-9]* pstn\/\([0-9]*\) (ims-to-pstn): preconditions .*/\1/p' | head -n 1)
check "the MGCF logged the circuit the waiting call holds (pstn/$cic)" test -n "$cic"
timeout 2 sh -c 'echo "originate 15550100001,19995550123,1500,$1" >"$2"' - "${cic:-1}" "$PSTN_CTL"
check "the PSTN switch sent its IAM on that circuit" \
    log_wait_for "$PSTN_OUT" "$p" "^tx IAM cic=$cic " 5
check "the MGCF moved the waiting call to another circuit" \
    log_wait_for "$MGCF_LOG" "$l" "pstn/$cic taken by the PSTN's IAM before our IAM went: the call moves to this circuit" 5
check "the MGW: Subtract of tdm/pstn/$cic and Add of the new circuit in the call's context" \
    log_wait_for "$MGW_OUT" "$g" "^rx Transaction=[0-9]+ Subtract=tdm/pstn/$cic Add=tdm/pstn/[0-9]+" 5
check "the PSTN's call got the circuit: INVITE, 183 (reliable), PRACK, 200, ACK, BYE" wait "$MVIN"
check "the waiting call went on: UPDATE -> 200, 180 -> PRACK, 200, ACK, BYE" wait "$MV"
moved=$(log_since "$PSTN_OUT" "$p" | sed -n 's/^rx IAM cic=\([0-9]*\) called=19995550100 .*/\1/p')
check "its IAM went once, on the new circuit ($moved, not $cic)" \
    test "$(wc -w <<<"$moved")" = 1 -a "$moved" != "$cic"
check_match "both calls were answered on their circuits" \
    "rx ACM cic=$cic .*rx ANM cic=$cic .*tx ACM cic=$moved .*tx ANM cic=$moved " \
    "$(log_since "$PSTN_OUT" "$p" | tr '\n' ' ')"
check "counted in mgcf_iam_on_unsignalled_circuit_total" test \
    "$(curl -s "http://127.0.0.70:8080/metrics" | sed -n 's/^mgcf_iam_on_unsignalled_circuit_total \([0-9]*\).*/\1/p')" -ge 1

step "preconditions never met: 580 after mgcf.precondition_timeout_ms, no IAM"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG") g=$(log_mark "$MGW_OUT")
check "INVITE (Require: precondition) -> 183 -> PRACK, no UPDATE -> 580" \
    sipp_at pto "$PEER" precond_timeout.xml -key target tel:+19995550100 "$MGCF"
check_match "the INVITE failed 580 Precondition Failure" \
    '^failed: SIP/2.0 580 Precondition Failure$' "$(logline pto)"
check_match "the MGCF said why, after 4 s" \
    'preconditions not met within 4000 ms \(mgcf.precondition_timeout_ms\): 580' \
    "$(log_since "$MGCF_LOG" "$l")"
check "the MGW's context was subtracted" \
    log_wait_for "$MGW_OUT" "$g" '^rx Transaction=[0-9]+ Subtract' 5
sleep 0.5
check_eq "no IAM went" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"
check_eq "no call is left at the MGCF (the circuit is free)" "0" \
    "$(curl -s "http://127.0.0.70:8080/metrics" | sed -n 's/^mgcf_calls \([0-9]*\).*/\1/p')"

step "INVITEs refused for their extensions, before any IAM"
p=$(log_mark "$PSTN_OUT")
check "Require: 100rel, foo -> 420" \
    sipp_at rfoo "$PEER" precond_refused.xml -key require "100rel, foo" -key supported timer "$MGCF"
check_match "... Unsupported names foo only" '^refused: SIP/2.0 420 unsupported= *foo$' \
    "$(logline rfoo)"
check "Require: 100rel, precondition without an SDP offer -> 420" \
    sipp_at r420 "$PEER" prack_require_420.xml "$MGCF"
check_match "... Unsupported names precondition" '^refused: 420 unsupported= *precondition$' \
    "$(logline r420)"
check "Require: precondition, qos offered, no 100rel -> 421" \
    sipp_at r421 "$PEER" precond_refused.xml -key require precondition -key supported timer \
    "$MGCF"
check_match "... Require names 100rel" '^refused: SIP/2.0 421 require= *100rel$' "$(logline r421)"
sleep 0.5
check_eq "... and no IAM went" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"

# ---------------------------------------------------------------------------------------------
step "IMS -> PSTN, no PRACK ever (RFC 3262 3): the INVITE fails after 64*T1 (8 s here)"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG") g=$(log_mark "$MGW_OUT")
check "INVITE (Supported: 100rel) to a number that rings -> reliable 180, again and again, never PRACKed -> 5xx" \
    sipp_at noprack "$PEER" prack_none_uac.xml -key target tel:+19995550480 "$MGCF"
check_match "the INVITE failed 504 with Reason: Q.850;cause=102" \
    '^failed: SIP/2.0 504 [^=]* reason= *Q\.850 *; *cause=102' "$(logline noprack)"
check_match "the MGCF logged it" 'no PRACK for our reliable provisional response' \
    "$(log_since "$MGCF_LOG" "$l")"
check "the PSTN got REL cause 102" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102' 5
check "the MGW's context was subtracted" log_wait_for "$MGW_OUT" "$g" '^rx Transaction=[0-9]+ Subtract' 5

step "... the PSTN answered meanwhile: the 200 held back for the PRACK never goes, nor a BYE"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG") g=$(log_mark "$MGW_OUT")
check "INVITE to a number with early media (180 with SDP, answered 0.2 s later) -> 180 never PRACKed -> 5xx, no BYE" \
    sipp_at noprack2 "$PEER" prack_none_uac.xml -key target tel:+19995550101 "$MGCF"
check_match "the INVITE failed 504 with Reason: Q.850;cause=102" \
    '^failed: SIP/2.0 504 [^=]* reason= *Q\.850 *; *cause=102' "$(logline noprack2)"
check "the PSTN answered, then got REL cause 102" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102' 5
check_eq "no 200 and no BYE reached the peer" "" \
    "$(grep -E '^(SIP/2.0 200|BYE) ' "$E2E_RUN/noprack2.msg")"
check "the MGW's context was subtracted" log_wait_for "$MGW_OUT" "$g" '^rx Transaction=[0-9]+ Subtract' 5
sleep 0.5
check_eq "no call is left at the MGCF" "0" \
    "$(curl -s "http://127.0.0.70:8080/metrics" | sed -n 's/^mgcf_calls \([0-9]*\).*/\1/p')"

step "UPDATE (RFC 3311): without SDP, and offers crossing others"
g=$(log_mark "$MGW_OUT")
check "INVITE -> 200 -> ACK, UPDATEs: none, two offers back to back, an offer and none -> BYE" \
    sipp_at upd "$PEER" update_cross_uac.xml -key target tel:+19995550100 "$MGCF"
check_match "an UPDATE without SDP: 200 at once, without SDP" '^nosdp: 200 body=0 CSeq: 2 UPDATE' \
    "$(logline upd)"
check_match "an offer crossing the peer's previous one (its answer waits for the MGW): 500 with Retry-After 0-10" \
    '^crossing: SIP/2.0 500 [^=]*retry-after= *([0-9]|10)( |;|$)' "$(logline upd)"
check_match "the first offer: 200 with the MGCF's answer" \
    '^first: 200 m=audio [0-9]+ RTP/AVP [0-9 ]+ CSeq: 3 UPDATE' "$(logline upd)"
check_match "an UPDATE without SDP while an offer waits: 200 (it offers nothing, crosses nothing)" \
    '^while: 200 CSeq: 6 UPDATE' "$(logline upd)"
check "an UPDATE with an offer crossing the MGCF's own (its 200 to an INVITE without SDP, before the ACK)" \
    sipp_at u491 "$PEER" update_491_uac.xml -key target tel:+19995550100 "$MGCF"
check_match "... got 491" '^crossing: SIP/2.0 491 ' "$(logline u491)"

# ---------------------------------------------------------------------------------------------
step "PSTN -> IMS: the MGCF PRACKs a reliable 183"
sipp_at in1 "$ICSCF" prack_uas.xml &
IN1=$!
sleep 0.5
pstn_restart "$E2E_RUN/pstn-in.out" --originate-delay 2000 \
    --originate 15550100001,19995550123,1500
check "the UAS: INVITE, 183 (reliable), PRACK, 200, 200, ACK, BYE" wait "$IN1"
check_match "the INVITE offered 100rel" '^invited: supported= *100rel' "$(logline in1)"
check_match "the PRACK acknowledged RSeq 1 of the INVITE" '^prack: rack= *1 [0-9]+ INVITE' \
    "$(logline in1)"
check_match "the PSTN switch: ACM (in-band), ANM, REL, RLC" \
    'rx ACM cic=[0-9]+ called_status=0 inband=1.*rx ANM cic=.*tx REL cic=[0-9]+ cause=16.*rx RLC' \
    "$(tr '\n' ' ' <"$E2E_RUN/pstn-in.out")"

step "PSTN -> IMS: an UPDATE crossing the MGCF's offer (RFC 3311 5.2)"
l=$(log_mark "$MGCF_LOG")
sipp_at in491 "$ICSCF" pstn_update_491_uas.xml &
IN491=$!
sleep 0.5
pstn_restart "$E2E_RUN/pstn-in491.out" --originate-delay 2000 \
    --originate 15550100001,19995550124,2500
check "the UAS: INVITE, 180, UPDATE (491), 200, ACK, UPDATE (200), BYE" wait "$IN491"
check_match "the UPDATE offering before the MGCF's offer was answered got 491" \
    '^crossing: SIP/2.0 491 ' "$(logline in491)"
check_match "the same UPDATE once answered: 200, the one format offered (PCMA 8)" \
    '^after: 200 m=audio [0-9]+ RTP/AVP 8$' "$(logline in491)"
check_eq "only the second UPDATE was taken (the MGW modified for port 16120 once)" "1" \
    "$(log_since "$MGCF_LOG" "$l" | grep -c 'UPDATE: the IMS side.s media is now [0-9.]*:16120')"

# ---------------------------------------------------------------------------------------------
step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error (SIP, ISUP over M3UA, H.248)" "" \
    "$(cap_tshark "$cap" "${LUA[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null)"
rel180=$(cap_tshark "$cap" -Y "ip.src == 127.0.0.70 && ip.dst == $PEER && sip.Status-Code == 180 && sip.RSeq" \
    -T fields -e sip.Call-ID -e sip.RSeq -e frame.time_relative 2>/dev/null)
early_cid=$(grep -m1 -o 'Call-ID: [^ ]*' "$E2E_RUN/early.msg" | tr -d '\r' | cut -d' ' -f2)
n=$(grep -c -- "^$early_cid" <<<"$rel180")
check "the early call's reliable 180 was sent again until the PRACK (it went $n times in 2.5 s)" \
    test "$n" -ge 3
check_eq "... always with the same RSeq" "1" \
    "$(grep -- "^$early_cid" <<<"$rel180" | cut -f2 | sort -u | wc -l)"
order=$(cap_tshark "$cap" -Y "ip.src == 127.0.0.70 && ip.dst == $PEER && sip.Status-Code == 200 && sip.Call-ID == \"$early_cid\"" \
    -T fields -e sip.CSeq.method 2>/dev/null | uniq | tr '\n' ' ')
check_match "the 200 of the PRACK went before the 200 of the INVITE" '^PRACK INVITE ' "$order"
t180=$(grep -m1 -- "^$early_cid" <<<"$rel180" | cut -f3)
t200=$(cap_tshark "$cap" -Y "ip.src == 127.0.0.70 && sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\" && sip.Call-ID == \"$early_cid\"" \
    -T fields -e frame.time_relative 2>/dev/null | head -n 1)
check "the PSTN answered 0.2 s after its ACM, the 200 waited for the PRACK (2.5 s; it went $(awk -v a="$t180" -v b="$t200" 'BEGIN { printf "%.1f", b - a }') s after the 180)" \
    awk -v a="$t180" -v b="$t200" 'BEGIN { exit !(b != "" && b - a >= 2.3) }'
check "the MGCF's INVITE to the I-CSCF had Supported: 100rel, its PRACK an RAck" test \
    "$(cap_count "$cap" "ip.src == 127.0.0.70 && ip.dst == $ICSCF && sip.Method == \"INVITE\" && sip.Supported contains \"100rel\"")" -ge 1 -a \
    "$(cap_count "$cap" "ip.src == 127.0.0.70 && ip.dst == $ICSCF && sip.Method == \"PRACK\" && sip.RAck")" -ge 1
pre_cid=$(grep -m1 -o 'Call-ID: [^ ]*' "$E2E_RUN/pre.msg" | tr -d '\r' | cut -d' ' -f2)
t_inv=$(cap_tshark "$cap" -Y "sip.Method == \"INVITE\" && sip.Call-ID == \"$pre_cid\"" \
    -T fields -e frame.time_relative 2>/dev/null | head -n 1)
t_upd=$(cap_tshark "$cap" -Y "ip.src == 127.0.0.70 && sip.Status-Code == 200 && sip.CSeq.method == \"UPDATE\" && sip.Call-ID == \"$pre_cid\"" \
    -T fields -e frame.time_relative 2>/dev/null | head -n 1)
iams=$(cap_tshark "$cap" "${LUA[@]}" -Y 'isup.message_type == 1' -T fields -e frame.time_relative \
    2>/dev/null)
check "preconditions: no IAM on the wire between the INVITE and the UPDATE's 200 ($t_inv .. $t_upd s), one within 1 s after" \
    awk -v a="$t_inv" -v b="$t_upd" -v iams="$(tr '\n' ' ' <<<"$iams")" 'BEGIN {
        if (a == "" || b == "") exit 1
        n = split(iams, t, " "); during = 0; after = 0
        for (i = 1; i <= n; i++) { if (t[i] > a && t[i] < b) during++; if (t[i] > b && t[i] < b + 1) after++ }
        exit !(during == 0 && after >= 1) }'
check_eq "... and the UPDATE's 200 asks no more confirmation (no a=conf)" "" \
    "$(cap_tshark "$cap" -Y "ip.src == 127.0.0.70 && sip.CSeq.method == \"UPDATE\" && sip.Call-ID == \"$pre_cid\" && sdp.media_attr contains \"conf:\"" 2>/dev/null)"
check "an H.248 Modify to the MGW carried the UPDATE's offer, PCMA alone as offered (Remote: port 16110, 8)" test \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.101 && megaco && frame matches "m=audio 16110 RTP/AVP 8\r?\n"')" -ge 1
check_eq "no H.248 Modify carried a refused offer (ports 16202, 16300)" "0" \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.101 && megaco && (frame contains "16202" || frame contains "16300")')"
check "... and the two taken were (16200, 16204)" test \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.101 && megaco && frame contains "16200"')" -ge 1 -a \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.101 && megaco && frame contains "16204"')" -ge 1
# the Call-ID of its own INVITE (a 420 of an earlier call, sent again, may have reached it first)
nr=$(grep -A10 -m1 '^INVITE ' "$E2E_RUN/noprack.msg" | grep -m1 -o 'Call-ID: [^ ]*' | tr -d '\r' |
    cut -d' ' -f2)
n=$(cap_count "$cap" "ip.src == 127.0.0.70 && sip.Status-Code == 180 && sip.RSeq && sip.Call-ID == \"$nr\"")
check "the reliable 180 never PRACKed went again and again until 64*T1 ($n times in 8 s: T1 doubling up to T2)" \
    test "$n" -ge 4
check "Allow of the MGCF's 200 lists PRACK and UPDATE" test \
    "$(cap_count "$cap" "ip.src == 127.0.0.70 && sip.Status-Code == 200 && sip.Allow contains \"PRACK\" && sip.Allow contains \"UPDATE\"")" -ge 1

lab_stop
e2e_finish
