#!/usr/bin/env bash
# tests/e2e/test_pstn.sh - PSTN breakout and ingress through the MGCF (issue 14; TS 29.163):
# alice (sipp, registered through the P-CSCF) calls PSTN numbers: S-CSCF -> BGCF -> MGCF ->
# ISUP (M3UA over TCP) to the lab's PSTN switch (tests/tools/pstn, 127.0.0.100), media
# through the lab's MGW (tests/tools/mgw, 127.0.0.101, H.248). And the PSTN calls alice:
# IAM -> MGCF -> INVITE tel:+15550100001 -> I-CSCF -> S-CSCF -> alice.
#
# Checked: an answered call with RTP through the MGW (the Subtract's statistics count it),
# hung up by alice (REL 16, RLC) and by the PSTN (BYE with Reason Q.850 cause 16); busy ->
# 486, no answer -> 480 after T9 (REL 19), unallocated number (cause 1) -> 404, CANCEL ->
# 487 (REL 31); IAM/ACM/ANM/REL/RLC and H.248 Add/Modify/Subtract for the calls; the MGW
# restarting during a call (BYE with cause 41); a call suspended by the PSTN (SUS) released
# when T6 runs out (REL and BYE cause 102), one resumed (RES) in time; a call from the PSTN ringing alice, with
# P-Asserted-Identity of the calling number; a re-INVITE (Modify of the RTP termination); alice's
# reliable 180 (100rel), PRACK and UPDATE along the whole chain's route set; an
# MGW answering Pending; the circuit API (block, unblock); an INVITE
# from outside the trust domain (403, no IAM); ACRs of the S-CSCF, BGCF and MGCF sharing the
# call's ICID in the CDF's CDRs, the MGCF's naming the call's trunk and CIC both ways; IAMs
# past the admission control's rate released with cause 42 (overload.max_rate); a capture in which tshark finds SIP, ISUP (M3UA, with
# tests/lib/m3ua_tcp.lua), H.248 and Diameter with no malformed field and no expert error.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init pstn
e2e_require sipp jq tshark curl timeout

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
SEND=$E2E_BIN/sipsend
LUA=(-X "lua_script:$E2E_ROOT/tests/lib/m3ua_tcp.lua")
PCSCF=127.0.0.10:5060
MGCF=127.0.0.70:5060
ALICE=(127.0.0.160 5601)
ALICE_RTP=16000
EVIL=127.0.0.161                      # not in the MGCF's sip.trusted_peers
TOKEN=ims-lab-token
OCS_API=http://127.0.0.80:8080/api/v1
MGCF_API=http://127.0.0.70:8080/api/v1
PSTN_OUT=$E2E_RUN/pstn/pstn.out
MGW_OUT=$E2E_RUN/mgw/mgw.out
MGCF_LOG=$E2E_RUN/mgcf/mgcf.log
SCSCF_LOG=$E2E_RUN/scscf/scscf.log

# the PSTN's numbers (tests/tools/pstn): 0100 answers, 0111 answers and hangs up after
# 1.5 s, 0486 is busy, 0480 rings without answer, 0404 does not exist (cause 1), 0600
# answers and suspends (SUS, network) for good, 0601 suspends and resumes (RES) after 1 s,
# 0101 rings with in-band information (early media: the MGCF's 180 carries SDP)
export IMS_LAB_PSTN_ARGS="--number 19995550111=answer:1500 --number 19995550486=busy --number 19995550480=ring --number 19995550404=reject:1 --number 19995550600=suspend --number 19995550601=suspend:1000 --number 19995550101=early"
export IMS_MGCF_T9_MS=4000            # no answer: released after 4 s here (Q.764: 90 s+)
export IMS_MGCF_T6_MS=2500            # suspended, no RES: released after 2.5 s here
# capture ISUP (M3UA 2905), H.248 (2944) and the MGW's RTP besides the lab's usual ports
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 3868 or port 5868 or port 8080 or port 2905 or port 2944 or portrange 30000-30999)'

for b in sipsend pstn mgw mgcf; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

sipp_at() {   # ADDR PORT RTP_PORT NAME SCENARIO ARGS... : one sipp run as a UE there
    local addr=$1 port=$2 rtp=$3 name=$4 scen=$5
    shift 5
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" \
        -p "$port" -mp "$rtp" -timeout 50s -timeout_error -key domain "$R" \
        -trace_err -error_file "$name.err" -trace_logs -log_file "$name.log" \
        -trace_msg -message_file "$name.msg" "$@" >"$name.out" 2>&1)
}
sipp_ue() {   # NAME SCENARIO ARGS... : one sipp run as alice, logs in the run folder
    sipp_at "${ALICE[0]}" "${ALICE[1]}" "$ALICE_RTP" "$@"
}
evil_bye() {   # NAME PORT USER CSEQ: a BYE from $EVIL:PORT in the dialog $c_cid/$c_ftag/$c_ttag
    printf 'BYE sip:%s SIP/2.0\nVia: SIP/2.0/UDP %s:%s;branch=z9hG4bK-%s-%s\nMax-Forwards: 69\nFrom: <sip:%s@%s>;tag=%s\nTo: <tel:+19995550100>;tag=%s\nCall-ID: %s\nCSeq: %s BYE\n\n' \
        "$MGCF" "$EVIL" "$2" "$1" "$RANDOM" "$3" "$R" "$c_ftag" "$c_ttag" "$c_cid" "$4" \
        >"$E2E_RUN/$1.sip"
    "$SEND" --from "$EVIL:$2" --to "$MGCF" --wait 3000 "$E2E_RUN/$1.sip" >"$E2E_RUN/$1.out" 2>&1
}
call() {   # NAME SCENARIO NUMBER [args]: alice calls tel:+NUMBER through her P-CSCF
    local name=$1 scen=$2 number=$3
    shift 3
    sipp_ue "$name" "$scen" -key from alice -key ppi "tel:+15550100001" \
        -key target "tel:+$number" "$@" "$PCSCF"
}
logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }
ocs() { curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$OCS_API/$1"; }
wait_cdrs() {   # ICID JQ-SELECT N: until N CDRs of the ICID match (20 s at most)
    local i n
    for i in $(seq 1 100); do
        n=$(ocs "cdrs?icid=$1" | jq "[.items[] | select($2)] | length")
        [ "${n:-0}" -ge "$3" ] && return 0
        sleep 0.2
    done
    return 1
}
api() {   # METHOD PATH [TOKEN|none]: the MGCF's circuit API; sets API_CODE and API_BODY
    local out auth="Authorization: Bearer ${3:-$TOKEN}"
    [ "${3:-}" = none ] && auth="X-No-Token: 1"
    out=$(curl -s --max-time 10 -X "$1" -H "$auth" -w '\n%{http_code}' "$MGCF_API/$2")
    API_CODE=${out##*$'\n'}
    API_BODY=${out%$'\n'*}
}
wait_for_count() {   # FILE ERE N SECONDS: until N lines of FILE match
    local i
    for i in $(seq 1 $(($4 * 5))); do
        [ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.2
    done
    return 1
}
dialog_of() {   # NAME: "Call-ID From-tag To-tag" of the 2xx of the INVITE in NAME.msg (8 s)
    local d
    for _ in $(seq 40); do
        d=$(tr -d '\r' <"$E2E_RUN/$1.msg" 2>/dev/null |
            awk '/^SIP\/2\.0 200 /{m=1; cid=""; f=""; t=""} m && /^Call-ID:/{cid=$2}
                 m && /^From:/{sub(/.*tag=/, ""); f=$0} m && /^To:/{sub(/.*tag=/, ""); t=$0}
                 m && /^CSeq: .* INVITE$/{print cid, f, t; exit} m && /^$/{m=0}')
        [ -n "$d" ] && break
        sleep 0.2
    done
    echo "${d:-x x x}"
}
icid_of() {   # the ICID the MGCF logged for its call to NUMBER
    grep "INVITE tel:+$1" "$MGCF_LOG" | tail -n 1 | sed -n 's/.*icid=\([^ ]*\).*/\1/p'
}

cap_start pstn
step "the lab, with its PSTN switch and media gateway"
check "deploy/lab.sh start" lab_start
check "the MGCF's association with the PSTN is active and the MGW in service" \
    log_wait_for "$MGCF_LOG" 0 "MGW 127\.0\.0\.101:2944 in service" 30
check_match "the MGCF reset its circuits at start (GRS, GRA)" \
    'rx ISUP GRA pstn/1-31: 31 circuits idle' "$(cat "$MGCF_LOG")"
check_match "the PSTN switch got the GRS for circuits 1-31" '^rx GRS cic=1 range=30' \
    "$(cat "$PSTN_OUT")"
http_get http://127.0.0.70:8080/health
check_eq "the MGCF's /health is ok, naming the SGP and the MGW" "ok ASP-ACTIVE in service" \
    "$(json_get "$HTTP_BODY" '"\(.status) \(.peers[] | select(.kind == "m3ua-sgp") | .state) \(.peers[] | select(.kind == "h248-mgw") | .state)"')"
register() {   # alice, Digest; a second try on a loaded machine
    local try
    for try in 1 2; do
        sipp_ue reg-alice reg_digest.xml -s alice -au "alice@$R" -auth_uri "$R" -ap alice-secret \
            -key impi "alice@$R" -key expires 600 "$PCSCF" && return 0
        sleep 1
    done
    return 1
}
check "alice registers (Digest) from ${ALICE[0]}:${ALICE[1]}" register

# ---------------------------------------------------------------------------------------------
step "alice calls tel:+19995550100: the PSTN answers, they talk, alice hangs up"
p=$(log_mark "$PSTN_OUT") g=$(log_mark "$MGW_OUT") l=$(log_mark "$MGCF_LOG")
check "INVITE -> 180 -> 200 -> ACK, 2 s of RTP, BYE" \
    call call1 pstn_uac.xml 19995550100 -d 2000
check_match "the 200 carries the MGW's RTP address" '^answered: c=IN IP4 127\.0\.0\.101 m=audio 30[0-9]{3} ' \
    "$(logline call1)"
check "the PSTN switch: IAM (called and calling number international, network provided, ordinary subscriber)" \
    log_wait_for "$PSTN_OUT" "$p" '^rx IAM cic=[0-9]+ called=19995550100 nai=4 calling=15550100001 apri=0 si=3 cpc=10$'
check "... ACM, ANM, then REL cause 16 from the MGCF, RLC" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=16 location=10$'
check_match "... in that order" 'tx ACM.*tx ANM.*rx REL.*tx RLC' "$(log_since "$PSTN_OUT" "$p" | tr '\n' ' ')"
check_match "the MGW: Add of the circuit's TDM termination and an RTP one" \
    '^rx Transaction=[0-9]+ Add=tdm/pstn/[0-9]+ Add=\$$' "$(log_since "$MGW_OUT" "$g")"
check_match "... Modify on the answer, Subtract at the end" \
    'Modify=rtp/[0-9]+ .*Subtract=\*' "$(log_since "$MGW_OUT" "$g" | tr '\n' ' ')"
check "the Subtract's statistics: RTP from alice reached the MGW" \
    log_wait_for "$MGCF_LOG" "$l" 'subtracted, statistics:.*rtp/[0-9]+:rtp/pr=[1-9][0-9]*'
ICID1=$(icid_of 19995550100)
check_match "the MGCF knows the call's ICID (from the INVITE)" '.' "$ICID1"
CIC1=$(log_since "$PSTN_OUT" "$p" | sed -n 's/^rx IAM cic=\([0-9]*\) called=19995550100 .*/\1/p' | head -n 1)

step "the PSTN hangs up (tel:+19995550111)"
p=$(log_mark "$PSTN_OUT")
check "alice calls, the PSTN answers and releases after 1.5 s" \
    call call2 pstn_uac_wait.xml 19995550111
check_match "alice gets a BYE with Reason Q.850 cause 16" \
    '^bye: reason= *Q\.850;cause=16;text="Normal call clearing"' "$(logline call2)"
check "the PSTN switch got RLC for its REL" log_wait_for "$PSTN_OUT" "$p" '^rx RLC cic=[0-9]+$'

step "the PSTN suspends the call (SUS, network initiated; Q.764 2.5, T6)"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
t0=$SECONDS
check "alice calls tel:+19995550600: answered, suspended, never resumed" \
    call call2s pstn_uac_wait.xml 19995550600
check_match "alice gets a BYE with Reason Q.850 cause 102 (T6 over)" \
    '^bye: reason= *Q\.850;cause=102' "$(logline call2s)"
check "... not before T6 (2.5 s here; it took $((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 2
check "the PSTN got REL cause 102 after its SUS" \
    log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=102 '
check_match "... the MGCF logged the SUS and T6" 'rx ISUP SUS \(network initiated\).*timer T6 expired' \
    "$(log_since "$MGCF_LOG" "$l" | tr '\n' ' ')"
p=$(log_mark "$PSTN_OUT")
check "alice calls tel:+19995550601: suspended, resumed after 1 s, she hangs up after 4 s" \
    call call2r pstn_uac.xml 19995550601 -d 4000
check_match "the PSTN sent SUS then RES, then got alice's REL (cause 16, not 102)" \
    'tx SUS cic=[0-9]+ network.*tx RES cic=[0-9]+ network.*rx REL cic=[0-9]+ cause=16 ' \
    "$(log_since "$PSTN_OUT" "$p" | tr '\n' ' ')"

step "busy, no answer, unallocated number, cancelled"
p=$(log_mark "$PSTN_OUT")
check "alice calls tel:+19995550486 (busy)" call call3 pstn_uac_fail.xml 19995550486
check_match "486 Busy Here with Reason Q.850 cause 17" \
    '^status: 486 reason: *Q\.850;cause=17;text="User busy"' "$(logline call3)"
check "the MGCF answered the PSTN's REL with RLC" log_wait_for "$PSTN_OUT" "$p" '^rx RLC cic='
p=$(log_mark "$PSTN_OUT")
t0=$SECONDS
check "alice calls tel:+19995550480 (rings, nobody answers)" call call4 pstn_uac_fail.xml 19995550480
check_match "180, then 480 Temporarily Unavailable with Reason cause 19 (T9)" \
    '^status: 480 reason: *Q\.850;cause=19' "$(logline call4)"
check_match "... after ringing" '^provisional: 180' "$(logline call4)"
check "... not before T9 (4 s here; it took $((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 4
check "the PSTN got REL cause 19 (no answer)" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=19 '
check "alice calls tel:+19995550404 (unallocated)" call call5 pstn_uac_fail.xml 19995550404
check_match "404 Not Found with Reason Q.850 cause 1" '^status: 404 reason: *Q\.850;cause=1;' \
    "$(logline call5)"
p=$(log_mark "$PSTN_OUT")
check "alice calls tel:+19995550480 and cancels while it rings" \
    sipp_ue call6 call_uac_cancel.xml -key from alice -key target "tel:+19995550480" "$PCSCF"
check "the PSTN got REL cause 31 for the CANCEL" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=31 '

# ---------------------------------------------------------------------------------------------
step "the MGW restarts during a call"
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
call call7 pstn_uac_wait.xml 19995550100 &
CALL7=$!
if log_wait_for "$PSTN_OUT" "$p" '^tx ANM cic=' 20; then
    sleep 0.5
    mgw_pid=$(cat "$E2E_RUN/mgw/mgw.pid" 2>/dev/null)
    kill -TERM "$mgw_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$mgw_pid" 2>/dev/null || break; sleep 0.1; done
    # the new MGW answers each Add with Pending first (H.248.1 8.2.3)
    IMS_LAB_MGW_ARGS="--pending-ms 400" lab_start_one mgw >/dev/null 2>&1
fi
check "the call was up, then alice got the network's BYE" wait "$CALL7"
check_match "... with Reason Q.850 cause 41 (temporary failure)" \
    '^bye: reason= *Q\.850;cause=41' "$(logline call7)"
check "the PSTN got REL cause 41" log_wait_for "$PSTN_OUT" "$p" '^rx REL cic=[0-9]+ cause=41 '
check "the MGCF saw the MGW's ServiceChange Restart" \
    log_wait_for "$MGCF_LOG" "$l" 'MGW ServiceChange of ROOT: Restart'
g=$(log_mark "$MGW_OUT")
check "a call goes through the restarted MGW" call call8 pstn_uac.xml 19995550100 -d 500
check_match "... whose Add was answered Pending, then replied to" \
    'tx Pending=[0-9]+ .*tx Reply=[0-9]+ \(after Pending\)' "$(log_since "$MGW_OUT" "$g" | tr '\n' ' ')"

step "re-INVITE: the IMS side moves its media"
g=$(log_mark "$MGW_OUT") l=$(log_mark "$MGCF_LOG")
check "alice calls, then re-INVITEs with RTP on port 16100, PCMU" \
    call call9 pstn_uac_reinvite.xml 19995550100
check_match "the 200 to the re-INVITE: the MGCF's SDP in a new version" \
    '^reinvite: o=mgcf [0-9]+ 2 IN IP4 127\.0\.0\.70' "$(logline call9)"
check_match "the MGW's RTP termination got the new Remote (Modify)" \
    'Modify=rtp/[0-9]+ .*Modify=rtp/[0-9]+ ' "$(log_since "$MGW_OUT" "$g" | tr '\n' ' ')"
check_match "the MGCF logged the move" 're-INVITE: the IMS side.s media is now 127\.0\.0\.160:16100' \
    "$(log_since "$MGCF_LOG" "$l")"

# ---------------------------------------------------------------------------------------------
step "100rel and UPDATE through the whole chain (alice -> P-CSCF -> S-CSCF -> BGCF -> MGCF)"
g=$(log_mark "$MGW_OUT") l=$(log_mark "$MGCF_LOG")
check "alice (Supported: 100rel) calls tel:+19995550101 (early media), PRACKs the 180 1.2 s late" \
    call call10 pstn_uac_prack.xml 19995550101 -d 1200
check_match "the 180 reached her reliable (Require: 100rel, RSeq)" \
    '^reliable: 180 rseq=[0-9]+ require= *100rel' "$(logline call10)"
check_match "her PRACK, along the 180's route set, got 200; then the INVITE its 200 (the MGW's SDP)" \
    'pracked: 200 CSeq: 2 PRACK.*answered: c=IN IP4 127\.0\.0\.101 CSeq: 1 INVITE' \
    "$(logline call10 | tr '\n' ' ')"
check_match "a PRACK of an RSeq never sent: the MGCF's 481 reached her" '^unknown-rack: 481' \
    "$(logline call10)"
check_match "her UPDATE's 200 carries the MGCF's SDP, a new version" \
    '^update: o=[^ ]+ [0-9]+ ([2-9]|[1-9][0-9]+) IN IP4 127\.0\.0\.70 m=audio [0-9]+ RTP/AVP' \
    "$(logline call10)"
check_match "the MGCF: PRACK answered, UPDATE applied (H.248 Modify) and answered" \
    'PRACK RAck [0-9]+ answered 200.*UPDATE: the IMS side.*UPDATE answered 200' \
    "$(log_since "$MGCF_LOG" "$l" | tr '\n' ' ')"
check "the MGW got two Modifies of the call's RTP termination (the answer, the UPDATE)" \
    test "$(log_since "$MGW_OUT" "$g" | grep -c '^rx Transaction=[0-9]* Modify=rtp/')" -ge 2

# ---------------------------------------------------------------------------------------------
step "trust: the MGCF serves the trust domain only"
p=$(log_mark "$PSTN_OUT")
printf 'INVITE tel:+19995550100 SIP/2.0\nVia: SIP/2.0/UDP %s:5170;branch=z9hG4bK-evil1;rport\nMax-Forwards: 69\nFrom: <sip:mallory@example.net>;tag=e1\nTo: <tel:+19995550100>\nCall-ID: evil1@pstn-test\nCSeq: 1 INVITE\nContact: <sip:mallory@%s:5170>\nP-Asserted-Identity: <tel:+15550100001>\nContent-Type: application/sdp\n\nv=0\no=- 1 1 IN IP4 %s\ns=-\nc=IN IP4 %s\nt=0 0\nm=audio 4000 RTP/AVP 8\n' \
    "$EVIL" "$EVIL" "$EVIL" "$EVIL" >"$E2E_RUN/evil1.sip"
"$SEND" --from "$EVIL:5170" --to "$MGCF" --wait 4000 "$E2E_RUN/evil1.sip" >"$E2E_RUN/evil1.out" 2>&1
out=$(tr -d '\r' <"$E2E_RUN/evil1.out")
check_match "an INVITE from outside sip.trusted_peers: 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.70 "INVITE from 127\.0\.0\.161:5170/udp: not a trusted peer of this MGCF"' \
    "$out"
sleep 1
check_eq "... and no IAM went to the PSTN" "" "$(log_since "$PSTN_OUT" "$p" | grep '^rx IAM')"

# A BYE inside a call's dialog from outside the trust domain: the Call-ID and tags pass the
# CSCFs end to end, so the caller's UE knows them; ending the call at the MGCF past the
# CSCFs (and their charging) must not work. Its CSeq is far above the call's: sofia-sip's
# dialog takes a request's CSeq as the dialog's remote CSeq before the MGCF sees the
# request, refused or not, so alice's own BYE (CSeq 2) would then be out of order there
# (500) and the call would stay up; the MGCF puts the call's CSeq back (common/sip.c). The
# call goes on until alice hangs up, and her BYE ends it.
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$MGCF_LOG")
call call11 pstn_uac.xml 19995550100 -d 4000 &
call11=$!
read -r c_cid c_ftag c_ttag <<<"$(dialog_of call11)"
evil_bye evil2 5171 alice 2000000000
check_match "a BYE of a high CSeq in the dialog of alice's call from $EVIL: 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.70 "BYE from 127\.0\.0\.161:5171/udp: not a trusted peer of this node"' \
    "$(tr -d '\r' <"$E2E_RUN/evil2.out")"
check "the MGCF put the dialog's remote CSeq back" \
    log_wait_for "$MGCF_LOG" "$l" "the dialog's remote CSeq is [0-9]+ again \(the refused BYE had 2000000000\)" 5
wait "$call11"
check_eq "... the call went on: alice's own BYE later got 200" 0 $?
check_eq "... and the PSTN got one REL, after alice's BYE" 1 \
    "$(log_since "$PSTN_OUT" "$p" | grep -c '^rx REL')"

# The same attacker against a prepaid call: carol (online charged, 50 cents: 10 s at the
# lab's 5 cents a second to +1999) calls the PSTN, the attacker sends a BYE of a high CSeq,
# and the S-CSCF's release BYE for her credit must still end the call at the MGCF. (A UA
# that keeps a refused request's CSeq would answer that BYE 500: the S-CSCF then sends it
# once more with the highest CSeq there is, scscf/charging.c; the MGCF needs no retry.)
CAROL=(127.0.0.162 5602)
curl -s --max-time 10 -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"amount":50}' \
    "$OCS_API/accounts/carol/topup" >/dev/null
check_eq "carol (online charged) has 50 cents" 50 "$(ocs accounts/carol | jq -r .balance)"
carol() {   # NAME SCENARIO ARGS...: one sipp run as carol, through her P-CSCF
    sipp_at "${CAROL[0]}" "${CAROL[1]}" 16200 "$@" "$PCSCF"
}
check "carol registers (Digest)" carol reg-carol reg_digest.xml -s carol -au "carol@$R" \
    -auth_uri "$R" -ap carol-secret -key impi "carol@$R" -key expires 600
p=$(log_mark "$PSTN_OUT") l=$(log_mark "$SCSCF_LOG")
t0=$SECONDS
carol call12 pstn_uac_wait.xml -key from carol -key ppi "tel:+15550100003" \
    -key target "tel:+19995550100" &
call12=$!
read -r c_cid c_ftag c_ttag <<<"$(dialog_of call12)"
evil_bye evil3 5172 carol 2000000000
check_match "a BYE of a high CSeq in carol's call from $EVIL: 403" '^SIP/2.0 403 ' \
    "$(tr -d '\r' <"$E2E_RUN/evil3.out")"
wait "$call12"
check_eq "carol's call was released by the network" 0 $?
check_match "... for her credit (Reason cause 402)" 'bye: reason= *SIP *;cause=402' \
    "$(logline call12)"
check "... after about 10 s ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 20
check "the PSTN got the REL of the released call" log_wait_for "$PSTN_OUT" "$p" '^rx REL' 10
check_eq "the MGCF took the S-CSCF's release BYE at once (no 500, no second try)" 0 \
    "$(log_since "$SCSCF_LOG" "$l" | grep -c 'got 500 (out of order?)')"

# ---------------------------------------------------------------------------------------------
step "circuit maintenance API"
api GET circuits none
check_eq "no token: 401" 401 "$API_CODE"
api GET circuits
check_eq "GET circuits: trunk pstn, DPC 2002, 31 circuits" "200 pstn 2002 31" \
    "$API_CODE $(json_get "$API_BODY" '.trunks[0] | "\(.name) \(.dpc) \(.circuits | length)"')"
p=$(log_mark "$PSTN_OUT")
api POST circuits/pstn/31/block
check_eq "POST circuits/pstn/31/block: 202" 202 "$API_CODE"
check "the PSTN switch got BLO for CIC 31" log_wait_for "$PSTN_OUT" "$p" '^rx BLO cic=31$'
api GET circuits
check_eq "CIC 31 is blocked here" true \
    "$(json_get "$API_BODY" '.trunks[0].circuits[] | select(.cic == 31) | .local_blocked')"
api POST circuits/pstn/31/unblock
check_eq "POST circuits/pstn/31/unblock: 202" 202 "$API_CODE"
check "the PSTN switch got UBL" log_wait_for "$PSTN_OUT" "$p" '^rx UBL cic=31$'
api POST circuits/pstn/99/block
check_eq "a CIC the trunk does not have: 404 naming cic" "404 cic" \
    "$API_CODE $(json_get "$API_BODY" .field)"

# ---------------------------------------------------------------------------------------------
step "offline charging: the ACRs of the S-CSCF, BGCF and MGCF share the call's ICID"
check "the CDF closed CDRs of the S-CSCF (0), BGCF (5) and MGCF (4) for the first call" \
    wait_cdrs "$ICID1" '.status == "closed"' 3
cdrs=$(ocs "cdrs?icid=$ICID1")
check_match "node functionalities of its CDRs: S-CSCF, MGCF, BGCF (and the P-CSCF)" \
    '^0 (1 )?4 5$' "$(jq -r '[.items[].node_functionality] | unique | join(" ")' <<<"$cdrs")"
check_eq "the MGCF's CDR: a session, terminating, closed by BYE, alice to the PSTN number" \
    "session 1 BYE tel:+15550100001 tel:+19995550100" \
    "$(jq -r '.items[] | select(.node_functionality == 4) | "\(.record) \(.role_of_node) \(.method) \(.calling) \(.called)"' <<<"$cdrs")"
check_eq "... with the ISUP call's circuit: Outgoing-Trunk-Group-Id pstn/<the IAM's CIC>" \
    "pstn/$CIC1 -" \
    "$(jq -r '.items[] | select(.node_functionality == 4) | "\(.outgoing_trunk) \(.incoming_trunk | if . == "" then "-" else . end)"' <<<"$cdrs")"
check_eq "... and only the MGCF's CDR names a trunk" "1" \
    "$(jq '[.items[] | select(.outgoing_trunk != "" or .incoming_trunk != "")] | length' <<<"$cdrs")"
icid3=$(icid_of 19995550486)
check "the busy call: an EVENT CDR of the MGCF with Cause-Code 486" \
    wait_cdrs "$icid3" '.node_functionality == 4 and .record == "event" and .cause == 486' 1

# ---------------------------------------------------------------------------------------------
step "a call from the PSTN rings alice"
sipp_ue in1 call_uas.xml &
IN1=$!
sleep 0.5
pstn_restart "$E2E_RUN/pstn-in.out" --originate-delay 2000 \
    --originate 15550100001,19995550123,2000
check "alice's UE: INVITE, 180, 200, ACK, then the BYE when the PSTN hangs up" wait "$IN1"
check_match "the INVITE reached alice with the calling number asserted" \
    '^invited: INVITE sip:alice@127\.0\.0\.160:5601[^ ]* pai= *<tel:\+19995550123>' "$(logline in1)"
check_match "... for her number" 'called= *<tel:\+15550100001>' "$(logline in1)"
check_match "the PSTN switch: ACM, ANM, REL sent, RLC" \
    'rx ACM cic=[0-9]+ called_status=1.*rx ANM cic=.*tx REL cic=[0-9]+ cause=16.*rx RLC' \
    "$(tr '\n' ' ' <"$E2E_RUN/pstn-in.out")"
check_match "the MGCF sent the INVITE to the I-CSCF" \
    'INVITE tel:\+15550100001 from <tel:\+19995550123> sent to sip:icscf' "$(cat "$MGCF_LOG")"
ICID_IN=$(grep 'INVITE tel:+15550100001 from' "$MGCF_LOG" | tail -n 1 | sed -n 's/.*icid=\([^ ]*\).*/\1/p')
check "the CDF: the MGCF's CDR (originating) and the S-CSCF's share the MGCF's ICID" \
    wait_cdrs "$ICID_IN" '(.node_functionality == 4 and .role_of_node == 0) or .node_functionality == 0' 2
CIC_IN=$(sed -n 's/^rx ACM cic=\([0-9]*\) .*/\1/p' "$E2E_RUN/pstn-in.out" | head -n 1)
check_eq "... its Incoming-Trunk-Group-Id is the PSTN's circuit: pstn/<the IAM's CIC>" \
    "pstn/$CIC_IN -" \
    "$(ocs "cdrs?icid=$ICID_IN" | jq -r '.items[] | select(.node_functionality == 4) | "\(.incoming_trunk) \(.outgoing_trunk | if . == "" then "-" else . end)"')"
kill "$PSTN_PID" 2>/dev/null
wait "$PSTN_PID" 2>/dev/null

# ---------------------------------------------------------------------------------------------
step "overload: IAMs past the admission control's rate are released with cause 42"
# the MGCF again with overload.max_rate = 1 new call/s (its bucket holds a few); a PSTN
# switch sends 12 IAMs at once, to a number nobody has: an IAM let in goes to the IMS and gets
# its REL from the IMS's 404 (cause 1), one refused REL cause 42 at once
mgcf_pid=$(cat "$E2E_RUN/mgcf/mgcf.pid" 2>/dev/null)
kill -TERM "$mgcf_pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$mgcf_pid" 2>/dev/null || break; sleep 0.1; done
orders=()
for _ in $(seq 12); do orders+=(--originate 15550109999,19995550123,1000); done
"$E2E_BIN/pstn" --listen 127.0.0.100:2905 --peer 127.0.0.70 --originate-delay 3000 \
    "${orders[@]}" >"$E2E_RUN/pstn-overload.out" 2>&1 &
PSTN3=$!
e2e_at_cleanup "kill $PSTN3 2>/dev/null; wait $PSTN3 2>/dev/null"
l=$(log_mark "$MGCF_LOG")
mgcf_overloaded() {   # the MGCF started again with overload.max_rate = 1
    IMS_OVERLOAD_MAX_RATE=1 lab_start_one mgcf &&
        wait_for_count "$E2E_RUN/pstn-overload.out" '^m3ua ASP-ACTIVE' 1 30
}
check "the MGCF restarts with overload.max_rate = 1; the PSTN switch's association is active" \
    mgcf_overloaded
check "the PSTN switch: a REL for each of its 12 IAMs (RLC sent)" \
    wait_for_count "$E2E_RUN/pstn-overload.out" '^rx REL cic=' 12 30
n42=$(grep -c '^rx REL cic=[0-9]* cause=42 ' "$E2E_RUN/pstn-overload.out")
n1=$(grep -c '^rx REL cic=[0-9]* cause=1 ' "$E2E_RUN/pstn-overload.out")
check "... some with cause 42 (switching equipment congestion), the others let in (cause 1)" \
    test "$n42" -ge 3 -a "$n1" -ge 1 -a "$((n42 + n1))" -eq 12
check_eq "the MGCF logged and counted each refusal" "$n42 $n42" \
    "$(log_since "$MGCF_LOG" "$l" | grep -c 'refused (cause 42): overloaded') $(curl -s "http://127.0.0.70:8080/metrics" | sed -n 's/^mgcf_iam_overload_refused_total \([0-9]*\).*/\1/p')"
kill "$PSTN3" 2>/dev/null
wait "$PSTN3" 2>/dev/null

# ---------------------------------------------------------------------------------------------
step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error (SIP, ISUP over M3UA, H.248, Diameter)" "" \
    "$(cap_tshark "$cap" "${LUA[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null)"
isup_types=$(cap_tshark "$cap" "${LUA[@]}" -Y isup -T fields -e isup.message_type 2>/dev/null |
    sort -n | uniq | tr '\n' ' ')
check_match "ISUP dissected: IAM 1, ACM 6, ANM 9, REL 12, SUS 13, RES 14, RLC 16, BLO 19, UBL 20, BLA 21, UBA 22, GRS 23, CPG 44" \
    '^1 6 9 12 13 14 16 19 20 21 22 23 (41 )?44 $' "$isup_types"
check "H.248 Add, Modify and Subtract dissected as MEGACO" test \
    "$(cap_tshark "$cap" -Y 'megaco' 2>/dev/null | grep -c -E 'Add|Modify|Subtract')" -ge 3
check "RTP from alice to the MGW on the wire" test \
    "$(cap_count "$cap" "ip.src == ${ALICE[0]} && ip.dst == 127.0.0.101 && udp.dstport >= 30000")" -ge 20
check "INVITEs went BGCF -> MGCF and MGCF -> I-CSCF" test \
    "$(cap_count "$cap" 'ip.src == 127.0.0.50 && ip.dst == 127.0.0.70 && sip.Method == "INVITE"')" -ge 1 -a \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.20 && sip.Method == "INVITE"')" -ge 1
check "the MGCF's INVITE to the I-CSCF offered 100rel (RFC 3262), and it reached alice so" test \
    "$(cap_count "$cap" 'ip.src == 127.0.0.70 && ip.dst == 127.0.0.20 && sip.Method == "INVITE" && sip.Supported contains "100rel"')" -ge 1 -a \
    "$(cap_count "$cap" "ip.dst == ${ALICE[0]} && sip.Method == \"INVITE\" && sip.Supported contains \"100rel\"")" -ge 1
prack_cid=$(grep -m1 -o 'Call-ID: [^ ]*' "$E2E_RUN/call10.msg" | tr -d '\r' | cut -d' ' -f2)
rel180=$(cap_tshark "$cap" -Y "ip.src == 127.0.0.10 && ip.dst == ${ALICE[0]} && sip.Status-Code == 180 && sip.RSeq && sip.Call-ID == \"$prack_cid\"" \
    -T fields -e sip.RSeq 2>/dev/null)
check "the MGCF's reliable 180 reached alice again while her PRACK waited ($(grep -c . <<<"$rel180") times in 1.2 s), one RSeq" \
    test "$(grep -c . <<<"$rel180")" -ge 2 -a "$(sort -u <<<"$rel180" | grep -c .)" -eq 1
for hop in "${ALICE[0]} 127.0.0.10" "127.0.0.10 127.0.0.30" "127.0.0.30 127.0.0.50"; do
    set -- $hop
    check "her PRACK and UPDATE went $1 -> $2 (the 180's route set)" test \
        "$(cap_count "$cap" "ip.src == $1 && ip.dst == $2 && sip.Call-ID == \"$prack_cid\" && (sip.Method == \"PRACK\" || sip.Method == \"UPDATE\")")" -ge 3
done
check "... and reached the MGCF" test \
    "$(cap_count "$cap" "ip.dst == 127.0.0.70 && sip.Call-ID == \"$prack_cid\" && (sip.Method == \"PRACK\" || sip.Method == \"UPDATE\")")" -ge 3
acrs=$(cap_tshark "$cap" -Y 'diameter.cmd.code == 271 && diameter.flags.request == 1 && diameter.Node-Functionality == 4' \
    -T fields -e diameter.Accounting-Record-Type -e diameter.IMS-Charging-Identifier 2>/dev/null)
check_match "ACR START (2) of the MGCF with the first call's ICID" "^2[[:space:]]+$ICID1\$" "$acrs"
check_match "ACR STOP (4) of the MGCF with the first call's ICID" "^4[[:space:]]+$ICID1\$" "$acrs"

lab_stop
e2e_finish
