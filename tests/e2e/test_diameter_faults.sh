#!/usr/bin/env bash
# tests/e2e/test_diameter_faults.sh - Diameter faults: what a client and a server see when
# the other side crashes, restarts, or stops answering.
#
# A client killed without DPR (SIGKILL) that connects again at once with the same
# Origin-Host, and sends its first requests as soon as its side is open (as a restarted
# CSCF under load does), gets an answer to every request from the HSS (Cx) and the OCS
# (Rf): the servers log no "Unable to forward answer" (freeDiameter's REOPEN state, see
# common/diam_hold.h).
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init diameter_faults
e2e_require jq curl tshark

R=$E2E_REALM
HSS=hss.$R@127.0.0.40
OCS=ocs.$R@127.0.0.80

metric() {   # $1 address $2 metric line prefix -> value (0 when absent)
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" 'index($0, m) == 1 { v = $NF } END { print v + 0 }'
}

restart() {   # $1 daemon: starts it again as deploy/lab.sh does
    local d=$1
    (cd "$E2E_ROOT" && IMS_NODE_STATE_DIR="$E2E_RUN/$d" IMS_LOG_FILE="$E2E_RUN/$d/$d.log" \
        "$E2E_BIN/$d" --config "deploy/lab/$d.conf" --pidfile "$E2E_RUN/$d/$d.pid" \
        >>"$E2E_RUN/$d/$d.out" 2>&1 &)
}

peer_open() {   # $1 address of a daemon $2 peer identity: waits (10 s) until it is open there
    local i
    for i in $(seq 100); do
        [ "$(curl -s --max-time 2 "http://$1:8080/health" |
            jq -r --arg p "$2" '.peers[]? | select(.name == $p) | .state' 2>/dev/null)" = open ] &&
            return 0
        sleep 0.1
    done
    return 1
}

ms_now() { date +%s%3N; }

# lines of the log $1 written between the epoch milliseconds $2 and $3 that match $4
log_between() {
    local from to
    from=$(date -u -d "@$(($2 / 1000)).$(printf '%03d' $(($2 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
    to=$(date -u -d "@$(($3 / 1000)).$(printf '%03d' $(($3 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
    awk -v f="ts=$from" -v t="ts=$to" -v re="$4" '$1 >= f && $1 <= t && $0 ~ re' "$1"
}

# crash_reconnect NAME SERVER-ID@ADDR SCRIPT: a client under load is killed (SIGKILL: no DPR)
# and a new one with the same Origin-Host sends its first requests as soon as its side of
# the connection is open. Appends to $E2E_RUN/NAME.results one line: the second client's
# requests and failures, and the answers the server dropped meanwhile.
crash_reconnect() {
    local name=$1 peer=$2 script=$3 id="crash-$1.$R" pid t0 t1 out
    "$E2E_BIN/diamcli" --peer "$peer" --identity "$id" --address 127.0.1.10 \
        --script "$script" --users 1000000 --concurrency 20 --quiet \
        >>"$E2E_RUN/$name-first.out" 2>>"$E2E_RUN/$name-first.err" &
    pid=$!
    e2e_at_cleanup "kill -KILL $pid 2>/dev/null"
    peer_open "${peer#*@}" "$id" || echo "diamcli $id did not connect to $peer" >&2
    sleep 0.5
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    # the answers to the killed client still in flight are dropped in the next milliseconds
    sleep 0.2
    t0=$(ms_now)
    out=$(timeout 60 "$E2E_BIN/diamcli" --peer "$peer" --identity "$id" \
        --address 127.0.1.10 --script "$script" --users 300 --concurrency 30 \
        --open-poll-ms 1 --quiet --timeout-ms 4000 2>>"$E2E_RUN/$name-second.err" | tail -n 1)
    t1=$(ms_now)
    echo "$(jq -r '"\(.requests) \(.failures)"' <<<"$out" 2>/dev/null || echo "no figures")" \
        "$(log_between "$E2E_RUN/${name%%-*}/${name%%-*}.log" "$t0" "$t1" \
            'Unable to forward' | wc -l)" >>"$E2E_RUN/$name.results"
}

# The window is a few milliseconds (three watchdog round trips): the crash and reconnection
# are repeated until the server says it held answers (it did in 1 or 2 tries here).
crash_test() {   # $1 daemon $2 its ID@ADDR $3 script $4 requests per client run
    local d=$1 peer=$2 s=$3 n=$4 i held=0 addr=${2#*@}
    for i in 1 2 3 4 5 6; do
        crash_reconnect "$d-$s" "$peer" "$E2E_RUN/$s.script"
        held=$(metric "$addr" 'ims_diameter_held_answers_total{outcome="held"}')
        [ "$held" -gt 0 ] && break
    done
    log "$d: $i crash(es) and reconnection(s); requests, failures, dropped answers of each:" \
        "$(paste -sd, "$E2E_RUN/$d-$s.results")"
    check_eq "$d: every request of the reconnected client answered, none dropped" \
        "$(for _ in $(seq "$i"); do echo "$n 0 0"; done)" "$(cat "$E2E_RUN/$d-$s.results")"
    check_match "$d: the reconnection hit the window (answers held until the peer was open)" \
        '^[1-9]' "$held"
    check_eq "$d: no held answer given up" 0 \
        "$(metric "$addr" 'ims_diameter_held_answers_total{outcome="given_up"}')"
}

cap_start faults
step "the lab starts"
check "deploy/lab.sh start" lab_start

step "a client crashes and reconnects at once with the same Origin-Host: every request answered"
cat >"$E2E_RUN/uar.script" <<EOF
{"cmd":"UAR","expect":2001,"avps":{"User-Name":"alice@$R","Public-Identity":"sip:alice@$R","Visited-Network-Identifier":"$R"}}
EOF
ACR='"Acct-Application-Id":3'
INFO='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"INVITE"},"Role-Of-Node":0,"Node-Functionality":6,"Calling-Party-Address":"sip:bob@'$R'","Called-Party-Address":"sip:alice@'$R'","IMS-Charging-Identifier":"crash-%n"}}'
cat >"$E2E_RUN/acr.script" <<EOF
{"cmd":"ACR","expect":2001,"avps":{$ACR,"Accounting-Record-Type":2,"Accounting-Record-Number":0,$INFO}}
{"cmd":"ACR","session":"keep","expect":2001,"avps":{$ACR,"Accounting-Record-Type":4,"Accounting-Record-Number":1,$INFO}}
EOF
crash_test hss "$HSS" uar 300
crash_test ocs "$OCS" acr 600

lab_stop
e2e_finish
