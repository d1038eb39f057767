#!/usr/bin/env bash
# tests/e2e/test_diameter_faults.sh - Diameter faults: what a client and a server see when
# the other side crashes, restarts, or stops answering.
#
# A client killed without DPR (SIGKILL) that connects again at once with the same
# Origin-Host, and sends its first requests as soon as its side is open (as a restarted
# CSCF under load does), gets an answer to every request from the HSS (Cx) and the OCS
# (Rf): the servers log no "Unable to forward answer" (freeDiameter's REOPEN state, see
# common/diam_hold.h).
#
# Under a registration load (sipp, bulk users through the P-CSCF; every registration's
# outcome and timing read from sipp's message trace by tests/lib/sipp_outcomes.py):
# - the S-CSCF killed (SIGKILL) and restarted at once: every registration begun a second
#   after it is up again succeeds, and the new S-CSCF gets an answer to every Diameter
#   request it sends (none timed out, none pending);
# - the HSS killed for 6 s: each registration tried meanwhile gets an error answer (480 with
#   Retry-After and a Warning from the I-CSCF or the S-CSCF) within 1 s, none is left
#   without an answer, every registration begun 5 s after the HSS is back succeeds (the
#   CSCFs reconnect within diameter.tc_timer + 2 s), and no Diameter request is left
#   pending in the CSCFs;
# - a partition between the HSS and its clients (its Diameter packets dropped silently both
#   ways; the HSS keeps running): until the clients' watchdogs (diameter.tw_timer 6 s here)
#   notice, each registration gets an error answer when its request times out (within
#   request_timeout_ms 3 s); once they have, within 1 s; every registration begun 15 s after
#   the partition heals succeeds, and nothing is left pending.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init diameter_faults
e2e_require jq curl tshark sipp python3

R=$E2E_REALM
HSS=hss.$R@127.0.0.40
OCS=ocs.$R@127.0.0.80

metric() {   # $1 address $2 name[{labels}] -> value (0 when absent); the whole name
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ { v = $NF }
                       END { print v + 0 }'
}

restart() {   # $1 daemon: starts it again as deploy/lab.sh does (its lab certificates: TLS)
    lab_start_one "$1" >>"$E2E_RUN/$1.restart" 2>&1
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

# ---- registrations under load (sipp, bulk users of LAB.md through the P-CSCF) ----

REG_RATE=${FAULT_REG_RATE:-40}     # registrations per second
REG_USERS=$((REG_RATE * 30))      # 30 s of load per phase
NEXT_USER=1

# reg_load NAME: REG_USERS fresh bulk users register at REG_RATE/s (sipp in the background,
# its pid in REG_PID; each user its own UDP socket); the trace in NAME.msg
reg_load() {
    local name=$1
    { echo SEQUENTIAL; seq -f 'user%05g' "$NEXT_USER" $((NEXT_USER + REG_USERS - 1)); } \
        >"$E2E_RUN/$name.csv"
    NEXT_USER=$((NEXT_USER + REG_USERS))
    (cd "$E2E_RUN" && exec sipp -sf "$E2E_ROOT/bench/scenarios/reg_once.xml" -t un \
        -i 127.0.0.120 -p 5070 -inf "$name.csv" -r "$REG_RATE" -m "$REG_USERS" \
        -max_socket $((REG_USERS + 100)) -key domain "$R" -key expires 3600 -auth_uri "$R" \
        -recv_timeout 10000 -timeout 120s -nostdin -nd -trace_msg -message_file "$name.msg" \
        127.0.0.10:5060 >"$name.out" 2>&1) &
    REG_PID=$!
    e2e_at_cleanup "kill $REG_PID 2>/dev/null"
}

# reg_outcomes NAME: one line per registration (tests/lib/sipp_outcomes.py) in NAME.outcomes
reg_outcomes() {
    wait "$REG_PID" 2>/dev/null
    python3 "$E2E_ROOT/tests/lib/sipp_outcomes.py" "$E2E_RUN/$1.msg" >"$E2E_RUN/$1.outcomes"
}

# reg_count NAME AWK-CONDITION: registrations of NAME.outcomes where the condition holds
# ($1 first REGISTER sent, $2 last REGISTER sent, $3 its final answer or "-", $4 status)
reg_count() {
    awk "$2 { n++ } END { print n + 0 }" "$E2E_RUN/$1.outcomes"
}

now_s() { date +%s.%N; }

wait_health() {   # $1 address: waits (30 s) until /health says ok
    local i
    for i in $(seq 150); do
        [ "$(curl -s --max-time 2 "http://$1:8080/health" | jq -r .status 2>/dev/null)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

cap_start faults
step "the lab starts (with $((REG_USERS * 3)) bulk users)"
export IMS_LAB_BULK=$((REG_USERS * 3)) IMS_LAB_WAIT=90
# a watchdog interval of 6 s (the least diameter.tw_timer allows): a partition is noticed in
# about 12 s (a DWR after Tw of silence, SUSPECT after Tw more) instead of a minute
export IMS_DIAMETER_TW_TIMER=6
export IMS_PCSCF_MAX_BINDINGS=$((REG_USERS * 3 + 100)) IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
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

# ---------------------------------------------------------------------------------------------
step "the S-CSCF is killed (SIGKILL) under a registration load and restarted at once"
reg_load scscf-kill
sleep 8
pid=$(cat "$E2E_RUN/scscf/scscf.pid")
t_kill=$(now_s)
kill -KILL "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
check "the S-CSCF starts again" restart scscf
check "the new S-CSCF is up with its HSS and OCS connections open" wait_health 127.0.0.30
t_ready=$(now_s)
reg_outcomes scscf-kill
log "registrations: $(wc -l <"$E2E_RUN/scscf-kill.outcomes"); killed at $t_kill, ready" \
    "$(awk -v a="$t_kill" -v b="$t_ready" 'BEGIN { printf "%.1f", b - a }') s later"
check_eq "every registration begun 1 s after the restart succeeded" \
    "$(reg_count scscf-kill "\$1 >= $t_ready + 1")" \
    "$(reg_count scscf-kill "\$1 >= $t_ready + 1 && \$4 == 200")"
check_eq "the new S-CSCF got an answer to every Diameter request (no timeout)" 0 \
    "$(metric 127.0.0.30 ims_diameter_timeouts_total)"
check_eq "... and has none pending" 0 "$(metric 127.0.0.30 ims_diameter_pending_requests)"
log "the HSS held $(metric 127.0.0.40 'ims_diameter_held_answers_total{outcome="held"}')" \
    "answers in all until their peer was open"

# ---------------------------------------------------------------------------------------------
step "the HSS is killed (SIGKILL) under a registration load, and restarted 6 s later"
reg_load hss-kill
sleep 8
pid=$(cat "$E2E_RUN/hss/hss.pid")
t_kill=$(now_s)
kill -KILL "$pid"
sleep 6
check "the HSS starts again" restart hss
check "the HSS is back" wait_health 127.0.0.40
t_back=$(now_s)
reg_outcomes hss-kill
log "registrations: $(wc -l <"$E2E_RUN/hss-kill.outcomes"); HSS down" \
    "$(awk -v a="$t_kill" -v b="$t_back" 'BEGIN { printf "%.1f", b - a }') s"
down=$(reg_count hss-kill "\$2 >= $t_kill + 0.5 && \$2 < $t_back")
check_match "registrations tried while the HSS was down ($down)" '^[1-9]' "$down"
check_eq "... each got an error answer within 1 s (not silence)" "$down" \
    "$(reg_count hss-kill "\$2 >= $t_kill + 0.5 && \$2 < $t_back && \$3 != \"-\" && \$3 - \$2 <= 1 && \$4 >= 400")"
log "their answers: $(awk -v k="$t_kill" -v b="$t_back" '$2 >= k + 0.5 && $2 < b { print $4 }' \
    "$E2E_RUN/hss-kill.outcomes" | sort | uniq -c | tr -s ' \n' ' ')"
check_eq "every registration begun 5 s after the HSS's return succeeded" \
    "$(reg_count hss-kill "\$1 >= $t_back + 5")" \
    "$(reg_count hss-kill "\$1 >= $t_back + 5 && \$4 == 200")"
check_eq "every registration got a final answer" 0 "$(reg_count hss-kill '$3 == "-"')"
for d in icscf scscf; do
    check_eq "$d: no Diameter request left pending" 0 \
        "$(metric "${E2E_ADDR[$d]}" ims_diameter_pending_requests)"
done

# ---------------------------------------------------------------------------------------------
# A partition: the HSS's Diameter traffic is dropped silently in both directions (blackhole
# policy routes for its port, ahead of the local table; this test's network namespace is its
# own, see tests/e2e/run.sh), while the HSS itself and its HTTP port stay up.
partition() {   # on | off
    # the CSCFs talk to the HSS over TLS (5868); plain TCP (3868, test clients) is cut too
    if [ "$1" = on ]; then
        ip rule del pref 0 table local 2>/dev/null && ip rule add pref 10 table local &&
            ip rule add pref 5 to 127.0.0.40 ipproto tcp dport 5868 blackhole &&
            ip rule add pref 6 from 127.0.0.40 ipproto tcp sport 5868 blackhole &&
            ip rule add pref 7 to 127.0.0.40 ipproto tcp dport 3868 blackhole &&
            ip rule add pref 8 from 127.0.0.40 ipproto tcp sport 3868 blackhole
    else
        local p
        for p in 5 6 7 8; do ip rule del pref "$p" 2>/dev/null; done
        if ip rule show | grep -q '^10:.*lookup local'; then
            ip rule add pref 0 table local && ip rule del pref 10
        fi
    fi
}
peer_state() {   # ADDR PEER -> its state in that daemon's /health
    curl -s --max-time 2 "http://$1:8080/health" |
        jq -r --arg p "$2" '.peers[]? | select(.name == $p) | .state' 2>/dev/null
}

step "a partition between the HSS and its clients (the HSS stays up), healed 25 s later"
if [ "${IMS_E2E_IN_NETNS:-}" != 1 ] || ! partition on; then
    partition off
    log "SKIPPED: a partition needs the test's own network namespace and ip rules"
else
    partition off
    e2e_at_cleanup "partition off"
    REG_RATE=10
    REG_USERS=$((REG_RATE * 60))
    reg_load partition
    sleep 8
    t_part=$(now_s)
    partition on
    t_seen=
    for _ in $(seq 100); do   # the clients' watchdogs
        st1=$(peer_state 127.0.0.20 "hss.$R")
        st2=$(peer_state 127.0.0.30 "hss.$R")
        if [ "$st1" != open ] && [ "$st2" != open ]; then t_seen=$(now_s); break; fi
        sleep 0.2
    done
    check_match "the I-CSCF and the S-CSCF notice (watchdog): the HSS is no longer open" \
        '^[0-9]' "$t_seen"
    log "noticed $(awk -v a="$t_part" -v b="${t_seen:-$t_part}" 'BEGIN { printf "%.1f", b - a }')" \
        "s after the partition (I-CSCF: $st1, S-CSCF: $st2)"
    t_seen=${t_seen:-$(now_s)}
    sleep "$(awk -v a="$t_part" -v b="$(now_s)" 'BEGIN { w = 25 - (b - a); print (w > 0 ? w : 0) }')"
    t_heal=$(now_s)
    partition off
    reg_outcomes partition
    n1=$(reg_count partition "\$2 >= $t_part + 0.5 && \$2 < $t_seen")
    check_eq "before they notice, each registration gets an error answer within 4.5 s ($n1)" \
        "$n1" "$(reg_count partition "\$2 >= $t_part + 0.5 && \$2 < $t_seen && \$3 != \"-\" && \$3 - \$2 <= 4.5 && \$4 >= 400")"
    n2=$(reg_count partition "\$2 >= $t_seen + 0.5 && \$2 < $t_heal")
    check_match "registrations tried once the partition is known ($n2)" '^[1-9]' "$n2"
    check_eq "... each got an error answer within 1 s" "$n2" \
        "$(reg_count partition "\$2 >= $t_seen + 0.5 && \$2 < $t_heal && \$3 != \"-\" && \$3 - \$2 <= 1 && \$4 >= 400")"
    log "their answers: $(awk -v a="$t_part" -v b="$t_heal" '$2 >= a + 0.5 && $2 < b { print $4 }' \
        "$E2E_RUN/partition.outcomes" | sort | uniq -c | tr -s ' \n' ' ')"
    check_eq "every registration begun 15 s after the partition healed succeeded" \
        "$(reg_count partition "\$1 >= $t_heal + 15")" \
        "$(reg_count partition "\$1 >= $t_heal + 15 && \$4 == 200")"
    check_match "... and there were some" '^[1-9]' "$(reg_count partition "\$1 >= $t_heal + 15")"
    check_eq "every registration got a final answer" 0 "$(reg_count partition '$3 == "-"')"
    for d in icscf scscf; do
        check_eq "$d: the HSS is open again" open "$(peer_state "${E2E_ADDR[$d]}" "hss.$R")"
        check_eq "$d: no Diameter request left pending" 0 \
            "$(metric "${E2E_ADDR[$d]}" ims_diameter_pending_requests)"
    done
fi

lab_stop
e2e_finish
