#!/usr/bin/env bash
# tests/e2e/test_doic_ocs.sh - Diameter overload indication (RFC 7683, DOIC, loss algorithm)
# between the S-CSCF's Ro client (reacting node) and the OCS (reporting node); test_doic.sh
# does the same for the HSS and the CSCFs' Cx.
#
# 1. The attacker: a Diameter client sends the OCS a CCR that carries an OC-OLR asking for a
#    reduction of 100 %: it is answered as any CCR (with OC-Supported-Features, no OC-OLR),
#    the OCS asks nobody for anything, and a prepaid call of alice is charged with nothing
#    throttled at the S-CSCF.
# 2. The OCS restarted with one handler thread and a queue of 200 (diameter.max_queue,
#    doic_threshold_pct 50 by default; busy_wait_ms 10 s), flooded by a Diameter client
#    (CCR-EVENT balance checks, 175 at a time: past the threshold, never full) while alice
#    (prepaid) calls bob 30 times, and 4 calls of 5 s charged before the flood end in it:
#    the OCS's CCAs to the S-CSCF carry OC-OLR (tshark decodes them, no malformed field);
#    the S-CSCF's /metrics shows the reduction in force for the OCS and the CCRs it
#    throttled; every INVITE is answered, and with the lab's charging.ccfh = continue a
#    call whose CCR-INITIAL was throttled (on its one retry too) goes on uncharged with a
#    200, neither silence nor an error; Rf is never throttled: no ACR offers DOIC and the
#    CDF gets every record of every call; a CCR-TERMINATION is never throttled: once the
#    calls are over no credit stays reserved, and the 4 calls of 5 s were charged.
# 3. After the flood: the reduction ends (0 at the S-CSCF within the validity, 5 s, plus the
#    steps down) and a prepaid call is charged again.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init doic_ocs
e2e_require sipp jq curl tshark

R=$E2E_REALM
OCS_ID=ocs.$R
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
API=http://127.0.0.80:8080/api/v1
TOKEN=ims-lab-token
ALICE=(127.0.0.120 5301) ALICE2=(127.0.0.122 5303) BOB=(127.0.0.121 5302)
NCALLS=30   # short calls during the flood
NLONG=4     # calls of 5 s charged before the flood, ending during it

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 120 sipp -sf "$SCEN/$scen" -nostdin -i "$addr" -p "$port" \
        -timeout 100s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

reg() {   # NAME USER ADDR PORT: Digest registration via the P-CSCF
    sipp_ue "$1" "$3" "$4" reg_digest.xml -m 1 -s "$2" -au "$2@$R" -ap "$2-secret" \
        -auth_uri "$R" -key impi "$2@$R" -key expires 600 "$PCSCF"
}

bob_answers() {   # NAME COUNT: bob's UE answers COUNT calls, in the background (BOB_PID)
    sipp_ue "$1" "${BOB[@]}" call_uas.xml -m "$2" &
    BOB_PID=$!
    sleep 0.3
}
# alice_calls NAME COUNT RATE HOLD_MS [UE]: alice calls bob COUNT times (RATE a second, each
# call held HOLD_MS) from her UE (ALICE, or ALICE2); each answered call logs "answered:"
alice_calls() {
    local ue=("${ALICE[@]}")
    [ "${5:-}" = 2 ] && ue=("${ALICE2[@]}")
    sipp_ue "$1" "${ue[@]}" call_uac.xml -m "$2" -r "$3" -l 10 -d "$4" \
        -key from alice -key target "sip:bob@$R" "$PCSCF"
}
calls() {   # NAME COUNT RATE HOLD_MS: alice_calls, bob answering; both must succeed
    bob_answers "$1-bob" "$2"
    alice_calls "$@"
    local rc=$?
    wait "$BOB_PID" || rc=1
    return $rc
}
answered() { grep -c '^answered:' "$E2E_RUN/$1.log" 2>/dev/null; }

metric() {   # ADDR SERIES: a value of that daemon's /metrics (0 when absent)
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" '$1 == m { v = $2 } END { printf "%d\n", v + 0 }'
}

api() {   # METHOD PATH [BODY] -> body
    curl -s --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$API/$2"
}
balance() { api GET "accounts/$1" | jq -r '"\(.balance) \(.reserved)"'; }
reserved() { api GET "accounts/$1" | jq -r '.reserved'; }

wait_until() {   # SECONDS COMMAND...: until the command succeeds
    local t=$1 i
    shift
    for i in $(seq 1 $((t * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
nothing_reserved() { [ "$(reserved alice)" = 0 ]; }
# all_cdrs FROM CALLS N: the CDF has CALLS calls of alice since FROM (Unix time), each
# with N closed CDRs; "calls, calls with N closed CDRs" in $E2E_RUN/cdrs
all_cdrs() {
    local icid calls=0 full=0
    for icid in $(api GET "cdrs?subscriber=alice&from=$1&limit=1000" |
                  jq -r '[.items[] | select(.record == "session") | .icid] | unique | .[]'); do
        calls=$((calls + 1))
        [ "$(api GET "cdrs?icid=$icid" |
             jq '[.items[] | select(.status == "closed")] | length')" -ge "$3" ] &&
            full=$((full + 1))
    done
    echo "$calls $full" >"$E2E_RUN/cdrs"
    [ "$calls" = "$2" ] && [ "$full" = "$2" ]
}


scscf_back() {   # the S-CSCF is connected to the OCS again
    local i
    for i in $(seq 150); do
        [ "$(curl -s --max-time 2 http://127.0.0.30:8080/health | jq -r .status)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

# acrs FILE: "ACRs sent to the CDF, those carrying OC-Supported-Features", counted per
# Diameter message (a TCP segment often holds several, of both applications)
acrs() {
    cap_tshark "$1" -Y 'diameter.cmd.code == 271 && ip.dst == 127.0.0.80' -O diameter -V \
        2>/dev/null | awk '
        function done() { if (in_d && cmd == 271 && req) { n++; if (oc) o++ } in_d = 0 }
        /^[^ ]/ { done() }
        /^Diameter Protocol/ { in_d = 1; cmd = 0; req = 0; oc = 0 }
        in_d && /^    Flags: / { req = $0 ~ /Request/ }
        in_d && /^    Command Code: .*\(271\)/ { cmd = 271 }
        in_d && /^    AVP: OC-Supported-Features/ { oc = 1 }
        END { done(); print n + 0, o + 0 }'
}

RED="ims_diameter_oc_reduction_percent{peer=\"$OCS_ID\"}"
THR="ims_diameter_oc_throttled_total{peer=\"$OCS_ID\"}"
ASKED=ims_diameter_oc_reduction_asked_percent
RO_I='scscf_ro_total{kind="ccr_initial"}'
RO_U='scscf_ro_total{kind="uncharged"}'
MSG='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"MESSAGE"},"Role-Of-Node":0,"Node-Functionality":6,"Called-Party-Address":"sip:bob@'$R'"}}'
# CCR-EVENT, CHECK_BALANCE of alice: the OCS reads her account and changes nothing
CHECK='"Auth-Application-Id":4,"Service-Context-Id":"32260@3gpp.org","Subscription-Id":{"Subscription-Id-Type":2,"Subscription-Id-Data":"sip:alice@'$R'"},"CC-Request-Type":4,"CC-Request-Number":0,"Requested-Action":2,'$MSG

step "the lab"
check "deploy/lab.sh start" lab_start
check "tshark captures" cap_start doic_ocs
check "alice (prepaid) registers" reg reg-alice alice "${ALICE[@]}"
check "alice registers a second UE" reg reg-alice2 alice "${ALICE2[@]}"
check "bob registers" reg reg-bob bob "${BOB[@]}"

step "the attacker: an OC-OLR in a CCR changes nothing"
ccr='{"cmd":"CCR","avps":{'$CHECK',"OC-Supported-Features":{"OC-Feature-Vector":1},"OC-OLR":{"OC-Sequence-Number":99999999999,"OC-Report-Type":0,"OC-Reduction-Percentage":100,"OC-Validity-Duration":600}}}'
out=$(timeout 60 "$E2E_BIN/diamcli" --peer "$OCS_ID@127.0.0.80" --identity "attacker.$R" \
    --address 127.0.1.12 --script - <<<"$ccr" 2>>"$E2E_RUN/attacker.err" | tail -n 1)
log "diamcli: $out"
check_eq "the CCR carrying an OC-OLR is answered: success, alice has credit" "2001 0" \
    "$(jq -r '"\(.result) \(.answer["Check-Balance-Result"])"' <<<"$out" 2>/dev/null)"
check_eq "... the CCA offers the loss algorithm back and carries no OC-OLR" "1 false" \
    "$(jq -r '"\(.answer["OC-Supported-Features"]["OC-Feature-Vector"]) \(.answer | has("OC-OLR"))"' <<<"$out" 2>/dev/null)"
check_eq "the OCS asks no reduction of anybody" 0 "$(metric 127.0.0.80 $ASKED)"
before=$(balance alice)
ini0=$(metric 127.0.0.30 "$RO_I")
check "alice calls bob (2 s)" calls call0 1 1 2000
check_eq "... answered" 1 "$(answered call0)"
check_eq "... with a CCR-INITIAL of the S-CSCF" $((ini0 + 1)) "$(metric 127.0.0.30 "$RO_I")"
wait_until 10 nothing_reserved
after=$(balance alice)
log "alice's balance and reservation: $before before the call, $after after it"
check "... charged: alice's balance went down, nothing left reserved" \
    test "${after% *}" -lt "${before% *}" -a "${after#* }" = 0
check_eq "the S-CSCF has no reduction in force for the OCS" 0 "$(metric 127.0.0.30 "$RED")"
check_eq "... and throttled nothing" 0 "$(metric 127.0.0.30 "$THR")"

step "the OCS with one handler thread and a queue of 200, flooded"
# 175 requests of the flood in flight at once: the queue stays past the threshold (100)
# but short of full (the CSCFs' ACRs and CCRs come on top; at 100 and 90 it overflowed),
# and no wait in it is too long (busy_wait_ms 10 s, not 0.5 s: on a loaded 2-core machine
# ACRs waited longer), so the OCS answers nothing DIAMETER_TOO_BUSY here: what the S-CSCF
# loses, it loses to its own throttling. Near full, the reduction asked is 70-80 %: past
# 50 %, some CCR-INITIALs are throttled twice running (the loss algorithm spreads its drops
# evenly, so at 50 % or less the immediate retry of a throttled one always goes)
check "the OCS restarts (diameter.threads = 1, max_queue = 200, busy_wait_ms = 10000)" \
    lab_restart ocs IMS_DIAMETER_THREADS=1 IMS_DIAMETER_MAX_QUEUE=200 \
    IMS_DIAMETER_BUSY_WAIT_MS=10000
check "the S-CSCF reconnected to the OCS" scscf_back
ini0=$(metric 127.0.0.30 "$RO_I")
unch0=$(metric 127.0.0.30 "$RO_U")
busy0=$(metric 127.0.0.80 ims_diameter_busy_total)
t_flood=$(date +%s)
b0=$(balance alice)
bob_answers flood-bob $((NLONG + NCALLS))
uas_pid=$BOB_PID
# calls charged before the flood, ending (BYE, CCR-TERMINATION) while it runs
alice_calls long "$NLONG" 20 5000 2 &
long_pid=$!
for _ in $(seq 50); do [ "$(answered long)" = "$NLONG" ] && break; sleep 0.1; done
check_eq "$NLONG calls of 5 s answered and charged before the flood" "$NLONG $NLONG" \
    "$(answered long) $(($(metric 127.0.0.30 "$RO_I") - ini0))"
("$E2E_BIN/diamcli" --peer "$OCS_ID@127.0.0.80" --identity "loadgen.$R" --address 127.0.1.11 \
    --cmd CCR --avps "{$CHECK}" --users 1000000 --concurrency 175 --quiet \
    >"$E2E_RUN/diamcli.out" 2>"$E2E_RUN/diamcli.err") &
diamcli_pid=$!
e2e_at_cleanup "kill $diamcli_pid 2>/dev/null"
ccr_in() { metric 127.0.0.80 'ims_diameter_messages_total{command="CCR",direction="in"}'; }
for _ in $(seq 100); do [ "$(ccr_in)" -gt 1000 ] && break; sleep 0.1; done
log "the Diameter client is sending ($(ccr_in) CCRs so far)"
# the highest reduction the S-CSCF had in force and the OCS asked, sampled during the calls
(
    ms=0 ma=0 mq=0
    while :; do
        b=$(metric 127.0.0.30 "$RED") c=$(metric 127.0.0.80 $ASKED)
        q=$(metric 127.0.0.80 ims_diameter_server_queue)
        [ "$b" -gt "$ms" ] && ms=$b
        [ "$c" -gt "$ma" ] && ma=$c
        [ "$q" -gt "$mq" ] && mq=$q
        echo "$ms $ma $mq" >"$E2E_RUN/reductions.new" &&
            mv "$E2E_RUN/reductions.new" "$E2E_RUN/reductions"
        sleep 0.2
    done
) &
sampler=$!
e2e_at_cleanup "kill $sampler 2>/dev/null"
alice_calls flood "$NCALLS" 5 300
flood_rc=$?
wait "$long_pid" || flood_rc=1
wait "$uas_pid" || flood_rc=1
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
read -r max_s max_asked max_q <"$E2E_RUN/reductions"
throttled=$(metric 127.0.0.30 "$THR")
kill "$diamcli_pid" 2>/dev/null
wait "$diamcli_pid" 2>/dev/null
t_end=$SECONDS
ini=$(($(metric 127.0.0.30 "$RO_I") - ini0))
unch=$(($(metric 127.0.0.30 "$RO_U") - unch0))
busy=$(($(metric 127.0.0.80 ims_diameter_busy_total) - busy0))
log "highest reduction: asked by the OCS $max_asked %, in force at the S-CSCF $max_s %;" \
    "CCRs throttled by the S-CSCF: $throttled; of $((NLONG + NCALLS)) calls $ini CCR-INITIALs," \
    "$unch uncharged; $(answered flood) + $(answered long) answered; the OCS's queue at most" \
    "$max_q (sampled), busy answers: $busy"
check "the OCS asked for a reduction" test "$max_asked" -gt 0
check "the S-CSCF had a reduction in force for the OCS" test "$max_s" -gt 0
check "the S-CSCF throttled CCRs" test "$throttled" -gt 0
check_eq "the OCS's queue never overflowed (no DIAMETER_TOO_BUSY)" 0 "$busy"
check "every call of alice went through (sipp: all successful)" test "$flood_rc" -eq 0
check_eq "... every INVITE answered 200" "$NCALLS $NLONG" "$(answered flood) $(answered long)"
check "... the calls whose CCR was throttled went on uncharged (ccfh = continue)" \
    test "$unch" -gt 0
check_match "... calls whose CCR the S-CSCF did not send (its log)" \
    'not sent: its overload report \(RFC 7683\) asks for fewer\): Credit-Control-Failure-Handling says CONTINUE' \
    "$(grep 'ro: no usable answer' "$E2E_RUN/scscf/scscf.log")"
check "Rf is not throttled: the CDF has every call, each with its 4 CDRs closed" \
    wait_until 60 all_cdrs "$t_flood" $((NLONG + NCALLS)) 4
log "calls of alice in the CDF, and those with 4 closed CDRs: $(cat "$E2E_RUN/cdrs")"
check "no credit of alice stays reserved (the CCR-TERMINATIONs got through)" \
    wait_until 10 nothing_reserved
b1=$(balance alice)
log "alice: $b0 before the flood, $b1 after it (balance reserved)"
check "... the $NLONG calls of 5 s were charged (at least 4 s each)" \
    test $((${b0% *} - ${b1% *})) -ge $((NLONG * 4))

step "after the flood: the reduction ends and a prepaid call is charged"
for _ in $(seq 60); do
    [ "$(metric 127.0.0.30 "$RED")" = 0 ] && break
    sleep 0.5
done
log "the reduction ended $((SECONDS - t_end)) s after the flood"
check_eq "the S-CSCF: no reduction in force" 0 "$(metric 127.0.0.30 "$RED")"
sleep 6   # the OCS's own report of reduction 0 runs for its validity
check_eq "the OCS asks for nothing any more" 0 "$(metric 127.0.0.80 $ASKED)"
thr0=$(metric 127.0.0.30 "$THR")
ini0=$(metric 127.0.0.30 "$RO_I")
unch0=$(metric 127.0.0.30 "$RO_U")
before=$(balance alice)
check "alice calls bob 5 times (2 s each)" calls calm 5 2 2000
check_eq "... all answered" 5 "$(answered calm)"
check_eq "... each with a CCR-INITIAL, none uncharged" "5 0" \
    "$(($(metric 127.0.0.30 "$RO_I") - ini0)) $(($(metric 127.0.0.30 "$RO_U") - unch0))"
check_eq "... none throttled" "$thr0" "$(metric 127.0.0.30 "$THR")"
wait_until 10 nothing_reserved
after=$(balance alice)
log "alice: $before before, $after after"
check "... charged: alice's balance went down, nothing left reserved" \
    test "${after% *}" -lt "${before% *}" -a "${after#* }" = 0

step "on the wire"
check "tshark stops" cap_stop
F=$E2E_CAP_FILE
olr=$(cap_count "$F" 'diameter.OC-OLR && diameter.cmd.code == 272 && diameter.flags.request == 0 && ip.src == 127.0.0.80 && ip.dst == 127.0.0.30')
log "CCAs of the OCS to the S-CSCF with an OC-OLR: $olr"
check "the OCS's CCAs to the S-CSCF carry OC-OLR" test "$olr" -gt 0
check "the S-CSCF's CCRs carry OC-Supported-Features" test "$(cap_count "$F" \
    'diameter.OC-Supported-Features && diameter.cmd.code == 272 && diameter.flags.request == 1 && ip.src == 127.0.0.30')" -gt 0
read -r acr acr_oc <<<"$(acrs "$F")"
log "ACRs to the CDF: $acr, offering DOIC: $acr_oc"
check "the CSCFs sent ACRs ($acr)" test "$acr" -gt 0
check_eq "... none offering DOIC (Rf is never throttled)" 0 "$acr_oc"
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$F" | head -n 5)"

lab_stop
e2e_finish
