#!/usr/bin/env bash
# tests/e2e/test_sipi.sh - SIP-I at the MGCF (ITU-T Q.1912.5 profile C, RFC 3204; issue 14):
# a SIP-I peer (tests/tools/sipi_peer.py on 127.0.1.71, one of mgcf.sip_i_peers here) calls
# the PSTN through the MGCF with an ISUP IAM beside the SDP in a multipart/mixed body.
#
# Checked: the IAM the PSTN switch gets takes the calling party number and category of the
# encapsulated IAM, not those of the P-Asserted-Identity; the 180 and the 200 carry the
# PSTN's ACM and ANM as application/ISUP; the BYE's encapsulated REL cause (31, no Reason
# header) reaches the PSTN. The attacker: a trusted peer that is not a SIP-I peer
# (127.0.1.72) sending the same body gets its P-Asserted-Identity mapped (the encapsulated
# IAM is not used), no ISUP in its responses, cause 16 for its BYE, and 415 when its ISUP
# part says handling=required. ISUP the MGCF makes itself goes to the SIP-I peer as its own
# REL: a 483 for a spent hop counter (cause 25), the 504 of T7 (102), the BYE of T6 after a
# SUS (102), the 404 of a number no trunk routes (3), the 503s of no free circuit (34), of
# max_calls (42), of the MGW gone (47) and of the PSTN's association down (41), the BYE of an
# MGW restart (41); not to the other peer. The SIP-I peer's own SUS without RES: the MGCF
# releases the call after T6 (network initiated) or T2 (subscriber), both sides cause 102.
# SUS and RES travel in INFO both ways (Q.1912.5 profile C), the MGCF's INFOs one at a time
# (the RES waits for the answer to the SUS's INFO), a 481 to its INFO releases the call (41);
# the other peer's INFO with a SUS gets 415 and no SUS reaches the PSTN. The other way:
# the I-CSCF (127.0.0.20) is a SIP-I peer too,
# so a call from the PSTN to alice goes there with the PSTN's IAM beside the SDP and reaches
# her UE (sipp) through the I-CSCF, S-CSCF and P-CSCF. A capture in which tshark decodes the
# ISUP in SIP with no malformed field.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init sipi
e2e_require python3 tshark sipp

PEER=$E2E_ROOT/tests/tools/sipi_peer.py
MGCF=127.0.0.70:5060
SIPI_PEER=127.0.1.71                  # in sip.trusted_peers (127.0.1.0/24) and sip_i_peers
PLAIN_PEER=127.0.1.72                 # trusted, not a SIP-I peer
PSTN_OUT=$E2E_RUN/pstn/pstn.out
MGCF_LOG=$E2E_RUN/mgcf/mgcf.log
export IMS_MGCF_SIP_I_PEERS="$SIPI_PEER, 127.0.0.20"
# the PSTN's numbers (tests/tools/pstn): 0100 answers; 0600 answers and suspends (SUS,
# network) for good, 0601 suspends and resumes (RES) after 1 s, 0602 sends nothing back
export IMS_LAB_PSTN_ARGS="--number 19995550486=busy --number 19995550480=ring --number 19995550404=reject:1 --number 19995550600=suspend --number 19995550601=suspend:1000 --number 19995550602=silent"
export IMS_MGCF_T7_MS=3000            # no ACM: released after 3 s here (Q.764: 20-30 s)
export IMS_MGCF_T6_MS=2500            # suspended, no RES: released after 2.5 s here
export IMS_MGCF_T2_MS=2000            # the SIP-I peer's SUS (subscriber), no RES: 2 s here
# the trunk takes +1999... only (a number elsewhere: 404, cause 3); two calls at most (the
# third: 503, cause 42)
export IMS_MGCF_TRUNKS="pstn dpc=2002 cics=1-31 prefix=+1999"
export IMS_MGCF_MAX_CALLS=2
# no periodic audit of the MGW in service: "the MGW gone" expects its Add's timeout (cause
# 47); an audit falling due between the kill and that Add timed out first (the MGW lost,
# cause 41) in one CI run
export IMS_MGCF_MGW_AUDIT_MS=0
MGCF_API=http://127.0.0.70:8080/api/v1
TOKEN=ims-lab-token
R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
ALICE=(127.0.0.160 5601)
E2E_CAP_FILTER='net 127.0.0.0/16 and (port 5060 or port 2905)'

for b in pstn mgw mgcf; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

wait_for_count() {   # FILE MARK ERE N [SECONDS]: until N lines since MARK match
    local i
    for i in $(seq 1 $((${5:-15} * 5))); do
        [ "$(log_since "$1" "$2" | grep -Ec -- "$3")" -ge "$4" ] && return 0
        sleep 0.2
    done
    return 1
}
sipp_ue() {   # NAME SCENARIO ARGS... : one sipp run as alice, logs in the run folder
    local name=$1 scen=$2
    shift 2
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "${ALICE[0]}" \
        -p "${ALICE[1]}" -mp 16000 -timeout 50s -timeout_error -key domain "$R" \
        -trace_err -error_file "$name.err" -trace_logs -log_file "$name.log" \
        -trace_msg -message_file "$name.msg" "$@" >"$name.out" 2>&1)
}
peer() {   # NAME ADDRESS ARGS...: one call of sipi_peer.py (port PEER_PORT, else 5071), its
           # output in the run folder
    local name=$1 addr=$2
    shift 2
    timeout 30 python3 "$PEER" --bind "$addr:${PEER_PORT:-5071}" --to "$MGCF" --number 19995550100 \
        --pai tel:+15550100001 "$@" >"$E2E_RUN/$name.out" 2>&1
}

cap_start sipi
step "the lab, the MGCF with SIP-I towards $SIPI_PEER"
check "deploy/lab.sh start" lab_start
check "the MGCF's association with the PSTN is active and the MGW in service" \
    log_wait_for "$MGCF_LOG" 0 "MGW 127\.0\.0\.101:2944 in service" 30
check_match "the MGCF logged its SIP-I peers" \
    'SIP-I \(application/ISUP, handling=optional\) with 2 peer network\(s\), the I-CSCF among them' \
    "$(cat "$MGCF_LOG")"

step "a call from the SIP-I peer"
p=$(log_mark "$PSTN_OUT")
check "the call is answered and the BYE answered 200" peer sipi "$SIPI_PEER" --calling 19995550199 \
    --cpc 15 --hop 10 --bye-cause 31 --hold 1
check_match "the PSTN got the encapsulated IAM's calling number and category (payphone 15)" \
    '^rx IAM cic=[0-9]+ called=19995550100 nai=4 calling=19995550199 apri=0 si=3 cpc=15$' \
    "$(log_since "$PSTN_OUT" "$p")"
check_match "the 180 carries the ACM (ISUP type 6)" '^rx 180 isup=6 ' "$(cat "$E2E_RUN/sipi.out")"
check_match "the 200 carries the ANM (9) beside the SDP" '^rx 200 isup=9 sdp=yes$' \
    "$(cat "$E2E_RUN/sipi.out")"
check "the PSTN got the REL with the encapsulated cause 31 (not 16 of a plain BYE)" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=31 '

step "the attacker: a trusted peer that is not a SIP-I peer"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "its call is answered too" peer plain "$PLAIN_PEER" --calling 19995550199 --cpc 15 \
    --bye-cause 31 --hold 1
check_match "... but its IAM is the P-Asserted-Identity's (calling 15550100001, ordinary 10)" \
    '^rx IAM cic=[0-9]+ called=19995550100 nai=4 calling=15550100001 apri=0 si=3 cpc=10$' \
    "$(log_since "$PSTN_OUT" "$p")"
check_match "... its responses carry no ISUP" '^rx 200 isup=- sdp=yes$' \
    "$(cat "$E2E_RUN/plain.out")"
check "... its BYE's REL is not used: cause 16" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=16 '
check_match "... and the MGCF said why" \
    'ISUP body part from a peer not in mgcf.sip_i_peers: not used' "$(log_since "$MGCF_LOG" "$l")"
p=$(log_mark "$PSTN_OUT")
peer plain-req "$PLAIN_PEER" --handling required
check_match "an ISUP part with handling=required from it: 415" '^rx 415 ' \
    "$(cat "$E2E_RUN/plain-req.out")"
sleep 1
check_eq "... and no IAM went to the PSTN" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"

step "ISUP the MGCF makes itself goes to the SIP-I peer as its own REL"
p=$(log_mark "$PSTN_OUT")
peer t7 "$SIPI_PEER" --number 19995550602
check_match "no ACM from the PSTN: T7 over, 504 with an encapsulated REL cause 102" \
    '^rx 504 rel isup=12 cause=102$' "$(cat "$E2E_RUN/t7.out")"
check "... and the PSTN got the REL cause 102 too" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102 '
p=$(log_mark "$PSTN_OUT")
peer hop "$SIPI_PEER" --hop 1
check_match "a spent hop counter: 483 with a REL cause 25 (exchange routing error)" \
    '^rx 483 rel isup=12 cause=25$' "$(cat "$E2E_RUN/hop.out")"
sleep 1
check_eq "... and no IAM went to the PSTN" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"
peer t7-plain "$PLAIN_PEER" --number 19995550602
check_match "the same call from the peer that is not SIP-I: 504 without ISUP" \
    '^rx 504 isup=- sdp=no$' "$(cat "$E2E_RUN/t7-plain.out")"
p=$(log_mark "$PSTN_OUT")
check "a call suspended by the PSTN for good ends with the MGCF's BYE, answered 200" \
    peer t6 "$SIPI_PEER" --number 19995550600 --hold 15
check_match "the SUS came in an INFO (ISUP 13, network initiated)" '^rx INFO isup=13 sus=1$' \
    "$(cat "$E2E_RUN/t6.out")"
check_match "T6 over: the MGCF's BYE carries its REL cause 102" '^rx BYE isup=12 cause=102$' \
    "$(cat "$E2E_RUN/t6.out")"
check "... and the PSTN got the REL cause 102" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102 '

step "the SIP-I peer's suspension, supervised by the MGCF (Q.764 T6, T2)"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "the SIP-I peer suspends (network) and never resumes: the MGCF's BYE, answered 200" \
    peer peer-t6 "$SIPI_PEER" --info sus --hold 15
check_match "... its INFO answered 200, then T6 over: the BYE carries a REL cause 102" \
    'info 200 rx BYE isup=12 cause=102 ' "$(tr '\n' ' ' <"$E2E_RUN/peer-t6.out")"
check "... the PSTN got the SUS, then the REL cause 102" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102 '
check_match "... SUS before the REL at the PSTN" 'rx SUS cic=[0-9]+ .*rx REL cic=[0-9]+ cause=102' \
    "$(log_since "$PSTN_OUT" "$p" | tr '\n' ' ')"
check_match "... the MGCF logged its T6 for the peer" 'timer T6-SIP-I expired' \
    "$(log_since "$MGCF_LOG" "$l")"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "the SIP-I peer suspends (subscriber) and never resumes: the MGCF's BYE after T2" \
    peer peer-t2 "$SIPI_PEER" --info sus-user --hold 15
check_match "... the BYE carries a REL cause 102" '^rx BYE isup=12 cause=102$' \
    "$(cat "$E2E_RUN/peer-t2.out")"
check "... the PSTN got the REL cause 102" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102 '
check_match "... after T2" 'timer T2 expired' "$(log_since "$MGCF_LOG" "$l")"
p=$(log_mark "$PSTN_OUT")
check "suspended and resumed by the SIP-I peer within T6: the call lasts past T6" \
    peer peer-res "$SIPI_PEER" --info sus --info res --hold 4
check_match "... its BYE is the peer's own (cause 31), not the MGCF's" '^bye 200$' \
    "$(cat "$E2E_RUN/peer-res.out")"
check "... and the PSTN got cause 31" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=31 '

step "SUS and RES in INFO (Q.1912.5 profile C)"
check "a call suspended and resumed by the PSTN" \
    peer sus-res "$SIPI_PEER" --number 19995550601 --hold 3
check_match "INFO with the SUS, then INFO with the RES" \
    'rx INFO isup=13 sus=1 rx INFO isup=14 sus=1 ' "$(tr '\n' ' ' <"$E2E_RUN/sus-res.out")"
l=$(log_mark "$MGCF_LOG")
check "suspended and resumed by the PSTN, the SIP-I peer answering each INFO after 1.5 s" \
    peer info-slow "$SIPI_PEER" --number 19995550601 --info-delay 1.5 --hold 8
check_match "... the RES waited for the final answer to the SUS's INFO (RFC 6086)" \
    'SIP-I: ISUP RES waits for the answer to our INFO before \(1 waiting\)' \
    "$(log_since "$MGCF_LOG" "$l")"
check_match "... then went: INFO with the SUS, then INFO with the RES" \
    'rx INFO isup=13 sus=1 .*rx INFO isup=14 sus=1 ' "$(tr '\n' ' ' <"$E2E_RUN/info-slow.out")"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "suspended by the PSTN, the SIP-I peer answers the INFO 481: the MGCF's BYE" \
    peer info-481 "$SIPI_PEER" --number 19995550600 --info-status 481 --hold 10
check_match "... the dialog is gone: the BYE carries a REL cause 41" '^rx BYE isup=12 cause=41$' \
    "$(cat "$E2E_RUN/info-481.out")"
check "... the PSTN got the REL cause 41" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=41 '
check_match "... the MGCF said why" 'our INFO answered 481: the dialog is gone' \
    "$(log_since "$MGCF_LOG" "$l")"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "the SIP-I peer suspends and resumes in INFOs, then sends an INFO with text" \
    peer info "$SIPI_PEER" --info sus --info res --info text --hold 1
check_match "INFO SUS 200, INFO RES 200, INFO text/plain 415" 'info 200 info 200 info 415 ' \
    "$(tr '\n' ' ' <"$E2E_RUN/info.out")"
check "the PSTN got the SUS (network) ..." log_wait_for "$PSTN_OUT" "$p" '^rx SUS cic=[0-9]+ network$'
check "... and the RES" log_wait_for "$PSTN_OUT" "$p" '^rx RES cic=[0-9]+ network$'
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
check "the attacker: the peer that is not SIP-I sends the same INFO" \
    peer info-plain "$PLAIN_PEER" --info sus --hold 1
check_match "... refused 415" '^info 415$' "$(cat "$E2E_RUN/info-plain.out")"
check_match "... the MGCF said why" \
    'INFO refused 415: an INFO body \(ISUP\) is taken from mgcf.sip_i_peers only' \
    "$(log_since "$MGCF_LOG" "$l")"
sleep 1
check_eq "... and no SUS went to the PSTN" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx SUS')"

step "the MGCF's own refusals to the SIP-I peer carry its REL"
p=$(log_mark "$PSTN_OUT")
peer r404 "$SIPI_PEER" --number 4930123456
check_match "a number no trunk routes: 404 with a REL cause 3 (no route to destination)" \
    '^rx 404 rel isup=12 cause=3$' "$(cat "$E2E_RUN/r404.out")"
blocked=0
for cic in $(seq 1 31); do
    code=$(curl -s -o /dev/null --max-time 10 -X POST -H "Authorization: Bearer $TOKEN" \
        -w '%{http_code}' "$MGCF_API/circuits/pstn/$cic/block")
    [ "$code" = 202 ] && blocked=$((blocked + 1))
done
check_eq "every circuit blocked through the API (31 times 202)" 31 "$blocked"
check "... and acknowledged by the PSTN (BLA)" \
    wait_for_count "$PSTN_OUT" "$p" '^tx BLA cic=' 31 15
peer r503-34 "$SIPI_PEER"
check_match "no free circuit: 503 with a REL cause 34 (no circuit available)" \
    '^rx 503 rel isup=12 cause=34$' "$(cat "$E2E_RUN/r503-34.out")"
unblocked=0
for cic in $(seq 1 31); do
    code=$(curl -s -o /dev/null --max-time 10 -X POST -H "Authorization: Bearer $TOKEN" \
        -w '%{http_code}' "$MGCF_API/circuits/pstn/$cic/unblock")
    [ "$code" = 202 ] && unblocked=$((unblocked + 1))
done
check_eq "... unblocked again (31 times 202)" 31 "$unblocked"
check "... and acknowledged by the PSTN (UBA)" \
    wait_for_count "$PSTN_OUT" "$p" '^tx UBA cic=' 31 15
p=$(log_mark "$PSTN_OUT")
peer busy1 "$SIPI_PEER" --hold 6 &
BUSY1=$!
PEER_PORT=5073 peer busy2 "$SIPI_PEER" --hold 6 &
BUSY2=$!
check "two calls answered (mgcf.max_calls is 2 here)" \
    wait_for_count "$PSTN_OUT" "$p" '^tx ANM cic=' 2 15
PEER_PORT=5075 peer r503-42 "$SIPI_PEER"
check_match "a third: 503 with a REL cause 42 (switching equipment congestion)" \
    '^rx 503 rel isup=12 cause=42$' "$(cat "$E2E_RUN/r503-42.out")"
check "... the two calls end as they should (1)" wait "$BUSY1"
check "... the two calls end as they should (2)" wait "$BUSY2"

step "the MGCF's REL to the SIP-I peer when the MGW or the PSTN is gone"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
peer mgw-lost "$SIPI_PEER" --hold 20 &
LOST=$!
if log_wait_for "$PSTN_OUT" "$p" '^tx ANM cic=' 15; then
    sleep 0.5
    mgw_pid=$(cat "$E2E_RUN/mgw/mgw.pid" 2>/dev/null)
    kill -TERM "$mgw_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$mgw_pid" 2>/dev/null || break; sleep 0.1; done
    lab_start_one mgw >/dev/null 2>&1
fi
check "a call answered, then the MGW restarts: the MGCF's BYE, answered 200" wait "$LOST"
check_match "... the BYE carries a REL cause 41 (temporary failure)" \
    '^rx BYE isup=12 cause=41$' "$(cat "$E2E_RUN/mgw-lost.out")"
check "... the PSTN got the REL cause 41" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=41 '
check "... the MGW is in service again" \
    log_wait_for "$MGCF_LOG" "$l" 'MGW ServiceChange of ROOT: Restart'
l=$(log_mark "$MGCF_LOG")
mgw_pid=$(cat "$E2E_RUN/mgw/mgw.pid" 2>/dev/null)
kill -TERM "$mgw_pid" 2>/dev/null
for _ in $(seq 50); do kill -0 "$mgw_pid" 2>/dev/null || break; sleep 0.1; done
peer r503-47 "$SIPI_PEER"
check_match "the MGW gone: its Add unanswered (mgcf.h248_timeout_ms), 503 with a REL cause 47" \
    '^rx 503 rel isup=12 cause=47$' "$(cat "$E2E_RUN/r503-47.out")"
check_match "... the MGCF said why" 'H\.248 Add \(transaction [0-9]+\) got no reply' \
    "$(log_since "$MGCF_LOG" "$l")"
lab_start_one mgw >/dev/null 2>&1
check "... the MGW back (its ServiceChange)" \
    log_wait_for "$MGCF_LOG" "$l" 'MGW ServiceChange of ROOT: Restart' 20
l=$(log_mark "$MGCF_LOG")
pstn_pid=$(cat "$E2E_RUN/pstn/pstn.pid" 2>/dev/null)
kill -TERM "$pstn_pid" 2>/dev/null
for _ in $(seq 50); do kill -0 "$pstn_pid" 2>/dev/null || break; sleep 0.1; done
check "the PSTN switch stops: the MGCF's association goes down" \
    log_wait_for "$MGCF_LOG" "$l" 'm3ua: ASP-DOWN' 10
peer r503-41 "$SIPI_PEER"
check_match "... a call then: 503 with a REL cause 41 (the ISUP link is down)" \
    '^rx 503 rel isup=12 cause=41$' "$(cat "$E2E_RUN/r503-41.out")"
l=$(log_mark "$MGCF_LOG")
# shellcheck disable=SC2086  # the lab's PSTN options, word by word
pstn_restart "$E2E_RUN/pstn-back.out" $IMS_LAB_PSTN_ARGS
check "... the PSTN switch back: the association active again" \
    log_wait_for "$MGCF_LOG" "$l" 'm3ua: ASP-ACTIVE' 20
kill "$PSTN_PID" 2>/dev/null
wait "$PSTN_PID" 2>/dev/null

step "a call from the PSTN to alice, the I-CSCF being a SIP-I peer"
check "alice registers (Digest)" sipp_ue reg-alice reg_digest.xml -s alice -au "alice@$R" \
    -auth_uri "$R" -ap alice-secret -key impi "alice@$R" -key expires 600 "$PCSCF"
sipp_ue in1 call_uas.xml &
IN1=$!
sleep 0.5
pstn_restart "$E2E_RUN/pstn-in.out" --originate-delay 2000 \
    --originate 15550100001,19995550123,2000
check "alice's UE: INVITE, 180, 200, ACK, then the BYE when the PSTN hangs up" wait "$IN1"
check_match "the MGCF sent its INVITE to the I-CSCF as SIP-I" \
    'INVITE tel:\+15550100001 from <tel:\+19995550123> sent to sip:icscf.* \(SIP-I\)' \
    "$(cat "$MGCF_LOG")"
check_match "alice's INVITE came with the application/ISUP part" \
    'Content-Type: application/ISUP;version=itu-t92\+' "$(cat "$E2E_RUN/in1.msg")"
check_match "the PSTN switch: ACM, ANM, REL sent, RLC" \
    'rx ACM cic=[0-9]+ called_status=1.*rx ANM cic=.*tx REL cic=[0-9]+ cause=16.*rx RLC' \
    "$(tr '\n' ' ' <"$E2E_RUN/pstn-in.out")"
kill "$PSTN_PID" 2>/dev/null
wait "$PSTN_PID" 2>/dev/null

step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error" "" \
    "$(cap_tshark "$cap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null)"
check_eq "ISUP in SIP from the SIP-I peer: IAM, REL (in the BYE), SUS and RES (in INFO)" \
    "1 12 13 14" \
    "$(cap_tshark "$cap" -Y "sip && isup && ip.src == $SIPI_PEER && !(ip.dst == $SIPI_PEER)" \
        -T fields -e isup.message_type 2>/dev/null | sort -n | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "ISUP in SIP from the MGCF to the SIP-I peer: ACM, ANM, REL (its own), SUS, RES" \
    "6 9 12 13 14" \
    "$(cap_tshark "$cap" -Y "sip && isup && ip.src == 127.0.0.70 && ip.dst == $SIPI_PEER" \
        -T fields -e isup.message_type 2>/dev/null | sort -n | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "the MGCF's own RELs to the SIP-I peer: 404/3, 483/25, 503/34,41,42,47, 504/102, BYE" \
    "404 3|483 25|503 34|503 41|503 42|503 47|504 102|BYE 102|BYE 41" \
    "$(cap_tshark "$cap" -Y "sip && isup.message_type == 12 && ip.src == 127.0.0.70 &&
        ip.dst == $SIPI_PEER" -T fields -e sip.Status-Code -e sip.Method -e isup.cause_indicator \
        2>/dev/null | tr -s '\t' ' ' | sed 's/^ //' | LC_ALL=C sort -u | tr '\n' '|' |
        sed 's/|$//')"
check_eq "none from the MGCF to the other peer" "0" \
    "$(cap_count "$cap" "sip && isup && ip.src == 127.0.0.70 && ip.dst == $PLAIN_PEER")"
check_eq "the INVITE to the I-CSCF carries the PSTN's IAM (calling 19995550123)" \
    "1 15550100001 19995550123" \
    "$(cap_tshark "$cap" -Y 'sip.Method == "INVITE" && ip.src == 127.0.0.70 && ip.dst == 127.0.0.20' \
        -T fields -e isup.message_type -e isup.called -e isup.calling 2>/dev/null | head -n 1 |
        tr '\t' ' ')"

lab_stop
e2e_finish
