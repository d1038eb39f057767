#!/usr/bin/env bash
# tests/e2e/test_charging_faults.sh - charging when the OCS (Ro server and Rf CDF) fails.
#
# One OCS, killed (SIGKILL) during calls and back 6 s later: Credit-Control-Failure-Handling
# CONTINUE (the lab's charging.ccfh) lets every call go on and end normally; the ACRs of the
# outage wait in the P-CSCF's and the S-CSCF's spools, which drain within seconds of the
# OCS's return; every call ends with its four CDRs (P-CSCF and S-CSCF, originating and
# terminating) closed; the CCR-TERMINATIONs of calls that ended during the outage go again
# until the OCS answers, so none of alice's credit stays reserved.
#
# Two OCSs that share nothing (the lab's, and a second one on 127.0.1.80 with its own
# database, seeded alike); the P-CSCF and the S-CSCF name both, in order (charging.cdf,
# charging.ocs, diameter.peers): calls are charged by the first; while it is killed, new
# calls are charged by the second (CCR-INITIAL and ACRs go there), a call whose session the
# first held goes on uncharged (CCFH CONTINUE; the first does not offer session failover),
# and ACRs waiting in the spools go to the second; once the first is back, new calls go to
# it again while a call the second holds stays with the second to its end. Every call ends
# with its CDRs closed at one CDF or the other. The first then hangs (SIGSTOP: connected,
# silent): a new call's CCR-INITIAL times out (Tx) and its one retry goes to the second
# (RFC 4006 5.7 failover), which charges the call.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init charging_faults
e2e_require sipp jq curl

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
TOKEN=ims-lab-token
OCS1=127.0.0.80
OCS2=127.0.1.80
ALICE=(127.0.0.130 5401) BOB=(127.0.0.131 5402)
# grants of 3 s: a call sends a CCR-UPDATE every 3 s
export IMS_CHARGING_REQUESTED_TIME=3

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 120 sipp -sf "$SCEN/$scen" -nostdin -i "$addr" -p "$port" \
        -timeout 100s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

reg() {   # USER ADDR PORT: Digest registration via the P-CSCF
    sipp_ue "reg-$1-$RANDOM" "$2" "$3" reg_digest.xml -m 1 -s "$1" -au "$1@$R" -auth_uri "$R" \
        -ap "$1-secret" -key impi "$1@$R" -key expires 3600 "$PCSCF"
}

# calls NAME N HOLD_MS: alice calls bob N times, one call a second, each HOLD_MS long (bob's
# UE answers them all); both sipps in the background, their pids in CALLS_PIDS
calls() {
    local name=$1 n=$2 hold=$3
    sipp_ue "$name-uas" "${BOB[@]}" call_uas.xml -m "$n" &
    CALLS_PIDS="$!"
    sleep 0.3
    sipp_ue "$name-uac" "${ALICE[@]}" call_uac.xml -m "$n" -l "$n" -r 1 -d "$hold" \
        -key from alice -key target "sip:bob@$R" -s bob "$PCSCF" &
    CALLS_PIDS+=" $!"
    e2e_at_cleanup "kill $CALLS_PIDS 2>/dev/null"
}
calls_ok() {   # both sipps of the last calls() ended with every call successful
    local p rc=0
    for p in $CALLS_PIDS; do
        wait "$p" || rc=1
    done
    return $rc
}
icids() {   # NAME -> the ICIDs of the calls of calls NAME (from the CSCFs' logs), one a line
    local cid
    for cid in $(sed -n 's/^Call-ID: //p' "$E2E_RUN/$1-uac.msg" | tr -d '\r' | sort -u); do
        grep -h "callid=$cid " "$E2E_RUN"/scscf/scscf.log "$E2E_RUN"/pcscf/pcscf.log |
            grep -o 'icid=[^ ]*' | head -n 1 | cut -d= -f2
    done | sort -u
}

api() {   # ADDR METHOD PATH [BODY] -> body
    curl -s --max-time 10 -X "$2" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "http://$1:8080/api/v1/$3"
}
cdr_states() {   # ADDR ICID -> "node/role:status" of each CDR of the call, sorted
    api "$1" GET "cdrs?icid=$2&limit=100" |
        jq -r '[.items[] | "\(.node_functionality)/\(.role_of_node):\(.status)"] | sort | join(" ")'
}
# ended ICID ADDR...: each of the call's four CDRs (node/role) ended at one of the CDFs
# (closed, or incomplete where the CDF got the STOP without the START)
ended() {
    local icid=$1 a
    shift
    for a in "$@"; do cdr_states "$a" "$icid"; done | tr ' ' '\n' |
        awk -F: '$2 == "closed" || $2 == "incomplete" { print $1 }' | sort -u | paste -sd' '
}
# wait_ended ADDR... : every call of $ICIDS ended (30 s at most); prints the calls that did not
wait_ended() {
    local i icid left
    for i in $(seq 60); do
        left=""
        for icid in $ICIDS; do
            [ "$(ended "$icid" "$@")" = "0/0 0/1 1/0 1/1" ] || left+="$icid "
        done
        [ -z "$left" ] && return 0
        sleep 0.5
    done
    echo "calls without their four ended CDRs: $left"
    for icid in $left; do
        for a in "$@"; do echo "  $icid at $a: $(cdr_states "$a" "$icid")"; done
    done
    return 1
}

metric() {   # ADDR NAME[{LABELS}] -> value (0 when absent); the whole name, not a prefix
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ { v = $NF }
                       END { print v + 0 }'
}
spools_empty() {   # the P-CSCF's and the S-CSCF's ACR spools are empty (30 s at most)
    local i
    for i in $(seq 150); do
        [ "$(metric 127.0.0.10 ims_rf_spool)" = 0 ] && [ "$(metric 127.0.0.30 ims_rf_spool)" = 0 ] &&
            return 0
        sleep 0.2
    done
    echo "spools: pcscf $(metric 127.0.0.10 ims_rf_spool), scscf $(metric 127.0.0.30 ims_rf_spool)"
    return 1
}

wait_health() {   # ADDR: until /health says ok (30 s at most)
    local i
    for i in $(seq 150); do
        [ "$(curl -s --max-time 2 "http://$1:8080/health" | jq -r .status 2>/dev/null)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

# start DAEMON [ENV=VALUE...]: (re)start a daemon of the lab as deploy/lab.sh starts it (its
# certificates of the lab PKI: Diameter runs over TLS), with extra environment
start() {
    local d=$1
    shift
    ( [ $# -gt 0 ] && export "$@"; lab_start_one "$d" ) >>"$E2E_RUN/$d.restart" 2>&1
}
kill9() {   # DAEMON: SIGKILL, and wait until it is gone
    local pid
    pid=$(cat "$E2E_RUN/$1/$1.pid")
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
stop() {   # DAEMON: SIGTERM, and wait until it is gone
    local pid
    pid=$(cat "$E2E_RUN/$1/$1.pid")
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid"
}

# the second OCS: the lab's configuration on its own address, identity and database, over
# TLS with its own certificate of the lab PKI (ocs2.<realm>); it accepts the P-CSCF and the
# S-CSCF as the first does (the peers of deploy/lab/ocs.conf, each from its address)
OCS2_ENV=(IMS_NODE_NAME="ocs2.$R" IMS_NODE_ADDRESS="$OCS2")
start_ocs2() {
    local pki=$E2E_RUN/pki
    mkdir -p "$E2E_RUN/ocs2"
    "$E2E_ROOT/deploy/pki.sh" "$pki" ocs2 >>"$E2E_RUN/ocs2/ocs.out" 2>&1 || return 1
    (cd "$E2E_ROOT" && env SSLKEYLOGFILE="$E2E_RUN/tls-keys.log" \
        IMS_NODE_STATE_DIR="$E2E_RUN/ocs2" IMS_LOG_FILE="$E2E_RUN/ocs2/ocs.log" \
        IMS_DIAMETER_TLS_CERT="$pki/ocs2.crt" IMS_DIAMETER_TLS_KEY="$pki/ocs2.key" \
        IMS_DIAMETER_TLS_CA="$pki/ca.crt" IMS_DIAMETER_TLS_DH="$pki/dh.pem" \
        "${OCS2_ENV[@]}" "$E2E_BIN/ocs" --config deploy/lab/ocs.conf \
        --pidfile "$E2E_RUN/ocs2/ocs2.pid" >>"$E2E_RUN/ocs2/ocs.out" 2>&1 </dev/null &)
}
e2e_at_cleanup 'kill -TERM $(cat "$E2E_RUN/ocs2/ocs2.pid" 2>/dev/null) 2>/dev/null'

step "the lab; alice (prepaid) and bob register"
check "deploy/lab.sh start" lab_start
check "alice registers" reg alice "${ALICE[@]}"
check "bob registers" reg bob "${BOB[@]}"

# ---------------------------------------------------------------------------------------------
step "one OCS, killed during 6 calls and back 6 s later"
calls one 6 6000
sleep 2.5
kill9 ocs
t_kill=$SECONDS
sleep 6
start ocs
check "the OCS is back" wait_health "$OCS1"
check "every call went on and ended normally (CCFH CONTINUE)" calls_ok
check_match "the S-CSCF let calls go on uncharged" '^[1-9]' \
    "$(metric 127.0.0.30 'scscf_ro_total{kind="uncharged"}')"
check "the ACR spools of the P-CSCF and the S-CSCF drain" spools_empty
ICIDS=$(icids one)
check_eq "6 calls answered" 6 "$(wc -w <<<"$ICIDS")"
check "every call has its four CDRs closed at the OCS" wait_ended "$OCS1"
nothing_reserved() {   # ADDR USER: no credit of USER stays reserved (20 s at most)
    local i
    for i in $(seq 100); do
        [ "$(api "$1" GET "accounts/$2" | jq -r .reserved)" = 0 ] && return 0
        sleep 0.2
    done
    echo "$2 at $1: $(api "$1" GET "accounts/$2" | jq -c '{balance, reserved}')"
    return 1
}
check "nothing of alice's credit stays reserved: the CCR-TERMINATIONs of the outage went again" \
    nothing_reserved "$OCS1" alice
retried=$(metric 127.0.0.30 'scscf_ro_total{kind="ccr_termination_retry"}')
lost=$(metric 127.0.0.30 'scscf_ro_total{kind="ccr_termination_lost"}')
check_match "... the S-CSCF sent CCR-TERMINATIONs again (after 1, 2, 4, 8 s), none lost" \
    '^[1-9][0-9]* 0$' "$retried $lost"
log "outage $((SECONDS - t_kill)) s in all; alice now: $(api "$OCS1" GET accounts/alice |
    jq -c '{balance, reserved}')"

# ---------------------------------------------------------------------------------------------
step "two OCSs sharing nothing: the second on $OCS2 with its own database"
check "the second OCS starts (its certificate for ocs2.$R)" start_ocs2
check "the second OCS is up" wait_health "$OCS2"
check "... and seeded with the lab's accounts and rates" \
    bash -c "curl -sf -X POST -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' \
        --data-binary @$E2E_ROOT/deploy/lab/charging.json http://$OCS2:8080/api/v1/seed >/dev/null"
TWO=(IMS_CHARGING_CDF="ocs.$R, ocs2.$R" IMS_CHARGING_OCS="ocs.$R, ocs2.$R")
stop pcscf
start pcscf "${TWO[@]}" \
    IMS_DIAMETER_PEERS="ocs.$R@$OCS1:5868, ocs2.$R@$OCS2:5868"
stop scscf
start scscf "${TWO[@]}" \
    IMS_DIAMETER_PEERS="hss.$R@127.0.0.40:5868, ocs.$R@$OCS1:5868, ocs2.$R@$OCS2:5868"
check "the P-CSCF is back with both OCSs open" wait_health 127.0.0.10
check "the S-CSCF is back with both OCSs open" wait_health 127.0.0.30
check "alice registers again (the restarted P-CSCF)" reg alice "${ALICE[@]}"
check "bob registers again" reg bob "${BOB[@]}"
balance2() { api "$OCS2" GET accounts/alice | jq -r '"\(.balance) \(.reserved)"'; }
b1=$(api "$OCS1" GET accounts/alice | jq -r .balance)
b2=$(balance2)

calls first 1 2000
check "a call" calls_ok
ICIDS=$(icids first)
check "... is charged and recorded by the first OCS" wait_ended "$OCS1"
check_eq "... and not by the second" "" "$(cdr_states "$OCS2" "$ICIDS")"
check "alice's balance at the first went down" \
    test "$(api "$OCS1" GET accounts/alice | jq -r .balance)" -lt "$b1"
check_eq "alice's account at the second untouched" "$b2" "$(balance2)"

calls held1 1 8000        # its Ro session is held by the first OCS
sleep 2.5
kill9 ocs
check "the first OCS killed during a call it charges: the call goes on (uncharged) and ends" \
    calls_ok
calls during 1 2000
check "while the first is down: a call" calls_ok
ICIDS=$(icids during)
check "... is recorded by the second" wait_ended "$OCS2"
check_match "... and charged there (alice's balance there went down, nothing reserved)" \
    "^$((${b2% *} - 2)) 0\$|^$((${b2% *} - 3)) 0\$" "$(balance2)"
b2=$(balance2)

calls held2 1 10000       # its Ro session is held by the second OCS
sleep 2.5
start ocs
check "the first OCS is back" wait_health "$OCS1"
check "a call held by the second when the first came back stays with it to its end" calls_ok
check_match "... charged there for its 10 s (no CCR of it went to the first)" \
    "^$((${b2% *} - 10)) 0\$|^$((${b2% *} - 11)) 0\$" "$(balance2)"
check_eq "the first OCS saw no unknown credit-control session" "" \
    "$(grep -h 'no open credit-control session' "$E2E_RUN/ocs/ocs.log" | tail -n 3)"
ICIDS="$(icids held1) $(icids held2)"
check "the ACR spools drain" spools_empty
check "these calls have their four CDRs ended at one CDF or the other" \
    wait_ended "$OCS1" "$OCS2"
calls back 1 2000
check "after the first's return, a new call" calls_ok
ICIDS=$(icids back)
check "... is recorded by the first again" wait_ended "$OCS1"
check_eq "... and not by the second" "" "$(cdr_states "$OCS2" "$ICIDS")"

step "the first OCS hangs (SIGSTOP): its connection stays open, it answers nothing"
b2=$(balance2)
pid=$(cat "$E2E_RUN/ocs/ocs.pid")
kill -STOP "$pid"
e2e_at_cleanup "kill -CONT $pid 2>/dev/null"
calls hang 1 2000
check "a new call: its CCR-INITIAL gets no answer within Tx and goes to the second" calls_ok
check_match "... (the S-CSCF says so)" 'the CCR goes again to ocs2' \
    "$(grep -h 'goes again to' "$E2E_RUN/scscf/scscf.log" | tail -n 1)"
check_match "... which charges it" "^$((${b2% *} - 2)) 0\$|^$((${b2% *} - 3)) 0\$" \
    "$(balance2)"
kill -CONT "$pid"
ICIDS=$(icids hang)
check "the ACR spools drain once the first answers again" spools_empty
check "the call's CDRs end at one CDF or the other" wait_ended "$OCS1" "$OCS2"

lab_stop
e2e_finish
