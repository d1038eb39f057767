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

# lines of the log $1 written at or after the epoch milliseconds $2 that match $3
log_since() {
    local from
    from=$(date -u -d "@$(($2 / 1000)).$(printf '%03d' $(($2 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
    awk -v f="ts=$from" -v re="$3" '$1 >= f && $0 ~ re' "$1"
}

# crash_reconnect NAME SERVER-ID@ADDR SCRIPT: a client under load is killed (SIGKILL: no DPR)
# and a new one with the same Origin-Host sends its first requests as soon as its side of
# the connection is open. Prints the second client's figures (one JSON line).
crash_reconnect() {
    local name=$1 peer=$2 script=$3 id="crash-$1.$R" pid
    "$E2E_BIN/diamcli" --peer "$peer" --identity "$id" --address 127.0.1.10 \
        --script "$script" --users 1000000 --concurrency 20 --quiet \
        >"$E2E_RUN/$name-first.out" 2>"$E2E_RUN/$name-first.err" &
    pid=$!
    e2e_at_cleanup "kill -KILL $pid 2>/dev/null"
    peer_open "${peer#*@}" "$id" || echo "diamcli $id did not connect to $peer" >&2
    sleep 1
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    ms_now >"$E2E_RUN/$name.reconnect-ms"
    timeout 60 "$E2E_BIN/diamcli" --peer "$peer" --identity "$id" --address 127.0.1.10 \
        --script "$script" --users 300 --concurrency 30 --open-poll-ms 1 --quiet \
        --timeout-ms 4000 2>"$E2E_RUN/$name-second.err" | tail -n 1
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
for t in "hss $HSS uar 300" "ocs $OCS acr 600"; do
    read -r d peer s n <<<"$t"
    out=$(crash_reconnect "$d-$s" "$peer" "$E2E_RUN/$s.script")
    check_eq "$d: the new client's ${s^^}s all answered (no failure)" "$n 0" \
        "$(jq -r '"\(.requests) \(.failures)"' <<<"$out" 2>/dev/null)"
    check_eq "$d: no answer dropped after the reconnection" "" \
        "$(log_since "$E2E_RUN/$d/$d.log" "$(cat "$E2E_RUN/$d-$s.reconnect-ms")" \
            'Unable to forward' | head -n 3)"
done

lab_stop
e2e_finish
