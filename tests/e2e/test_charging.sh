#!/usr/bin/env bash
# tests/e2e/test_charging.sh - charging in the CSCFs end to end: UEs (sipp) -> P-CSCF ->
# S-CSCF -> I-CSCF -> S-CSCF -> P-CSCF -> UEs, with the OCS (Ro server and Rf CDF) behind.
#
# Offline: bob (postpaid) calls alice for 3 s: one CDR per node and role (P-CSCF
# originating, S-CSCF originating, S-CSCF terminating, P-CSCF terminating), all with the
# call's ICID and a duration of about 3 s; REGISTER and MESSAGE give event CDRs.
# Online (prepaid, an ECF in the subscriber's Charging-Information): alice's MESSAGE is
# charged with one IEC (10 cents); carol without credit gets 402 for a call and a MESSAGE;
# carol with 30 s of credit (granted 10 s at a time) is released by the S-CSCF after about
# 30 s (Final-Unit-Indication TERMINATE): a BYE with a Reason header to both UEs, her
# balance used up.
# The capture decodes every Ro and Rf message with no malformed AVP. With the OCS stopped, a
# prepaid call goes on uncharged (charging.ccfh = continue in the lab).
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init charging
e2e_require sipp jq tshark curl

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
API=http://127.0.0.80:8080/api/v1
TOKEN=ims-lab-token
ALICE=(127.0.0.130 5401) BOB=(127.0.0.131 5402) CAROL=(127.0.0.132 5403)
# grants of 10 s: carol's 30 s call goes through CCR-INITIAL, two CCR-UPDATEs (the second
# one's grant final) and the release
export IMS_CHARGING_REQUESTED_TIME=10

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 80 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 70s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

reg() {   # NAME USER ADDR PORT: Digest registration via the P-CSCF
    local name=$1 user=$2 addr=$3 port=$4
    sipp_ue "$name" "$addr" "$port" reg_digest.xml -s "$user" -au "$user@$R" -auth_uri "$R" \
        -ap "$user-secret" -key impi "$user@$R" -key expires 600 "$PCSCF"
}

callee() {   # NAME ADDR PORT SCENARIO ARGS...: a UE answering in the background
    local name=$1
    sipp_ue "$@" &
    eval "CALLEE_$name=$!"
    sleep 0.3
}
callee_ok() {
    local pid
    eval "pid=\${CALLEE_$1}"
    wait "$pid"
}

caller() {   # NAME SCENARIO TARGET ADDR PORT FROM [args]
    local name=$1 scen=$2 target=$3 addr=$4 port=$5 from=$6
    shift 6
    sipp_ue "$name" "$addr" "$port" "$scen" -key from "$from" -key target "$target" "$@" \
        "$PCSCF"
}

logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }

api() {   # METHOD PATH [BODY] -> body
    curl -s --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$API/$2"
}
balance() { api GET "accounts/$1" | jq -r '"\(.balance) \(.reserved)"'; }

# wait_cdrs ICID N: until N closed CDRs carry the ICID (10 s at most)
wait_cdrs() {
    local i n
    for i in $(seq 1 50); do
        n=$(api GET "cdrs?icid=$1" | jq '[.items[] | select(.status == "closed")] | length')
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

# wait_until COMMAND...: until the command succeeds (10 s at most); what a sleep of a second
# then one look assumed of a loaded machine. The check after it says what was seen.
wait_until() {
    local i
    for i in $(seq 1 50); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
register_cdrs() {   # SUBSCRIBER: its CDRs since the lab started, as "record method node"
    api GET "cdrs?subscriber=$1&from=$((t_start - 1))" |
        jq -r '.items[] | "\(.record) \(.method) \(.node)"'
}
has_register_cdr() { register_cdrs "$1" | grep -Eq '^event REGISTER (pcscf|scscf)'; }
settled() { [ "$(balance "$1")" = "$2" ]; }   # SUBSCRIBER "BALANCE RESERVED"

cap_start charging
step "the lab"
check "deploy/lab.sh start" lab_start
t_start=$(date +%s)

step "registration"
check "alice registers" reg reg-alice alice "${ALICE[@]}"
check "bob registers" reg reg-bob bob "${BOB[@]}"
check "carol registers" reg reg-carol carol "${CAROL[@]}"
check_eq "the lab seed: alice prepaid 800, bob postpaid, carol prepaid 0" \
    "prepaid 800 postpaid prepaid 0" \
    "$(api GET accounts/alice | jq -r '"\(.type) \(.balance)"') $(api GET accounts/bob | jq -r .type) $(api GET accounts/carol | jq -r '"\(.type) \(.balance)"')"
wait_until has_register_cdr bob
check_match "REGISTER: event CDRs of the P-CSCF and the S-CSCF for bob" \
    "^event REGISTER (pcscf|scscf)" "$(register_cdrs bob)"

step "offline charging: bob (postpaid) calls alice for 3 s"
callee alice1 "${ALICE[@]}" call_uas.xml
check "bob calls alice, talks 3 s, hangs up" \
    caller call1 call_uac.xml "sip:alice@$R" "${BOB[@]}" bob -d 3000
check "alice's UE: INVITE, 200, ACK, BYE" callee_ok alice1
icid=$(api GET "cdrs?subscriber=bob&from=$((t_start - 1))&limit=64" |
    jq -r '[.items[] | select(.record == "session")] | last | .icid')
check_match "the call has an ICID in the CDF" '^[0-9A-Fa-f.@:-]+' "$icid"
check "four CDRs are closed (STOP from every node and role)" wait_cdrs "$icid" 4
cdrs=$(api GET "cdrs?icid=$icid")
check_eq "one CDR per node and role: P-CSCF (1) and S-CSCF (0), originating (0) and terminating (1)" \
    "0/0 0/1 1/0 1/1" \
    "$(jq -r '[.items[] | "\(.node_functionality)/\(.role_of_node)"] | sort | join(" ")' <<<"$cdrs")"
check_eq "... from the P-CSCF and the S-CSCF" \
    "pcscf.$R pcscf.$R scscf.$R scscf.$R" \
    "$(jq -r '[.items[].node] | sort | join(" ")' <<<"$cdrs")"
check_eq "every CDR closed by a BYE, bob calling, alice called, audio" \
    "4" "$(jq "[.items[] | select(.status == \"closed\" and .method == \"BYE\" and .calling == \"sip:bob@$R\" and .called == \"sip:alice@$R\" and (.media | startswith(\"audio\")))] | length" <<<"$cdrs")"
durs=$(jq -r '[.items[].duration] | join(" ")' <<<"$cdrs")
check "durations of about 3 s ($durs)" \
    bash -c "for d in $durs; do [ \$d -ge 2 ] && [ \$d -le 5 ] || exit 1; done"
check_eq "the originating IOI of the P-CSCF is in every CDR" "$R $R $R $R" \
    "$(jq -r '[.items[].originating_ioi] | join(" ")' <<<"$cdrs")"
check_eq "bob is postpaid: no credit control for his call (balance unchanged)" "0 0" \
    "$(balance bob)"

step "online charging: MESSAGE (IEC)"
callee bobm "${BOB[@]}" message_uas.xml
check "alice (prepaid) sends bob a MESSAGE" \
    caller msg1 message_uac.xml "sip:bob@$R" "${ALICE[@]}" alice
check_match "... delivered" '^status: 200' "$(logline msg1)"
callee_ok bobm
check_eq "alice was debited 10 cents by a CCR-EVENT" "790 0" "$(balance alice)"
check "carol (no credit) sends bob a MESSAGE" \
    caller msg2 message_uac.xml "sip:bob@$R" "${CAROL[@]}" carol
check_match "... refused: 402 with a Warning from the S-CSCF" \
    '^status: 402 warning: +399 127\.0\.0\.30 "online charging' "$(logline msg2)"

step "online charging: no credit"
check "carol (no credit) calls bob" \
    caller call2 call_uac_fail.xml "sip:bob@$R" "${CAROL[@]}" carol
check_match "... 402 Payment Required with a Warning from the S-CSCF" \
    '^status: 402 warning: +399 127\.0\.0\.30 "online charging' "$(logline call2)"
check_eq "carol's balance untouched, nothing reserved" "0 0" "$(balance carol)"

step "online charging: 30 s of credit, released by the S-CSCF"
api POST accounts/carol/topup '{"amount":30}' >/dev/null
check_eq "carol topped up with 30 cents (30 s of voice)" "30 0" "$(balance carol)"
# bob's UE answers the release BYE 500 the first time, as a UA whose dialog holds a higher
# CSeq does (one planted by a party that knows the dialog, mgcf/README.md): the S-CSCF must
# send it once more with the highest CSeq there is, or the call would stay up on his side
callee bob3 "${BOB[@]}" charge_uas_cut_500.xml
t0=$SECONDS
check "carol calls bob and waits; the network hangs up" \
    caller call3 charge_uac_cut.xml "sip:bob@$R" "${CAROL[@]}" carol
took=$((SECONDS - t0))
check "... after about 30 s ($took s)" test "$took" -ge 28 -a "$took" -le 36
check "bob's UE got the BYE too" callee_ok bob3
check_match "carol's BYE has a Reason" '^bye: reason= *SIP *;cause=402;text="Credit limit reached"' \
    "$(logline call3)"
check_match "bob's BYE has a Reason" '^bye: reason= *SIP *;cause=402;text="Credit limit reached"' \
    "$(logline bob3)"
check_match "... refused 500, it came again with CSeq 2147483647, taken" \
    '^bye again: cseq=2147483647$' "$(logline bob3)"
wait_until settled carol "0 0"
check_eq "carol's 30 cents are used, nothing left reserved" "0 0" "$(balance carol)"
icid3=$(api GET "cdrs?subscriber=carol&from=$((t0 - 2))&limit=64" |
    jq -r '[.items[] | select(.record == "session")] | last | .icid')
check "the released call's CDRs are closed (4)" wait_cdrs "$icid3" 4
durs=$(api GET "cdrs?icid=$icid3" | jq -r '[.items[].duration] | join(" ")')
check "their durations are about 30 s ($durs)" \
    bash -c "for d in $durs; do [ \$d -ge 28 ] && [ \$d -le 33 ] || exit 1; done"

step "the wire"
cap_stop
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$E2E_CAP_FILE")"
ccr=$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 272 && diameter.flags.request == 1')
acr=$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 271 && diameter.flags.request == 1')
check "CCRs on the wire ($ccr: IEC, INITIALs, TERMINATION)" test "$ccr" -ge 4
check "ACRs on the wire ($acr)" test "$acr" -ge 12
check_eq "CCR-UPDATEs on the wire: two for carol's call (at 10 s and 20 s)" 2 \
    "$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 272 && diameter.flags.request == 1 && diameter.CC-Request-Type == 2')"
check_eq "every CCR carries IMS-Information with Node-Functionality S-CSCF" "$ccr" \
    "$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 272 && diameter.flags.request == 1 && diameter.Node-Functionality == 0')"
check_eq "every Ro/Rf answer is a success or the expected credit limit" "0" \
    "$(cap_count "$E2E_CAP_FILE" 'diameter.flags.request == 0 && (diameter.cmd.code == 271 || diameter.cmd.code == 272) && diameter.Result-Code != 2001 && diameter.Result-Code != 4012')"

step "the OCS is down: Credit-Control-Failure-Handling CONTINUE (the lab's charging.ccfh)"
pid=$(cat "$E2E_RUN/ocs/ocs.pid" 2>/dev/null)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the OCS stopped" bash -c "! kill -0 $pid 2>/dev/null"
callee bob4 "${BOB[@]}" call_uas.xml
check "alice (prepaid) calls bob while the OCS is down: the call goes on" \
    caller call5 call_uac.xml "sip:bob@$R" "${ALICE[@]}" alice -d 200
check "bob's UE answered" callee_ok bob4
http_get http://127.0.0.30:8080/metrics
check_match "the S-CSCF counted the uncharged call" '^scscf_ro_total\{kind="uncharged"\} [1-9]' \
    "$HTTP_BODY"

e2e_finish
