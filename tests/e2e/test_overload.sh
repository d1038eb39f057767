#!/usr/bin/env bash
# tests/e2e/test_overload.sh - overload control (the [overload] keys, common/admission.h):
#
# 1. The P-CSCF restarted with a low fixed ceiling (overload.max_rate = 20 new requests/s).
#    A call is set up, then a UE floods it with REGISTERs at 10 times that: the excess is
#    answered 503 at once, with Retry-After and a Warning, /health says overloaded and
#    /metrics counts the refusals; the call's re-INVITE and BYE, inside the flood, are not
#    refused; once the flood stops the node takes new work again.
# 2. RFC 7339 between our CSCFs: the S-CSCF restarted with a ceiling of 10/s, the P-CSCF
#    without one. A flood of registrations of known users reaches the S-CSCF through the
#    I-CSCF: the S-CSCF's 503s ask the I-CSCF (which offered oc in its Via) for a reduction,
#    the I-CSCF drops that share itself and asks the same of the P-CSCF, which answers UEs
#    503 itself ("next hop ... overloaded (RFC 7339)") instead of sending the requests on.
# 3. The HSS restarted with one handler thread and a 2 ms limit on the wait for it, flooded
#    by a Diameter client: requests that waited longer are answered DIAMETER_TOO_BUSY at
#    once; registrations then get a quick answer saying "HSS too busy" (the I-CSCF's 503,
#    relayed as 500 with its Retry-After) rather than a timeout, and the I-CSCF lowers its
#    admission rate.
# 4. The P-CSCF restarted with overload.max_heap_mb below its heap at rest: every new request
#    is answered 503 saying the memory is used up, counted with reason="memory"; with the
#    default bound, none is refused for memory.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init overload
e2e_require sipp jq curl tshark

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
ALICE=(127.0.0.120 5301) BOB=(127.0.0.121 5302)
FLOOD_UE=127.0.0.130
BULK=400
export IMS_LAB_BULK=$BULK

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 40 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 30s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

reg() {   # NAME USER ADDR PORT: Digest registration via the P-CSCF
    sipp_ue "$1" "$3" "$4" reg_digest.xml -s "$2" -au "$2@$R" -ap "$2-secret" \
        -auth_uri "$R" -key impi "$2@$R" -key expires 600 "$PCSCF"
}

# flood NAME RATE COUNT CSV: REGISTERs of new work from FLOOD_UE, no retransmissions
flood() {
    local name=$1 rate=$2 count=$3 csv=$4
    mkdir -p "$E2E_RUN/$name"
    (cd "$E2E_RUN/$name" && timeout 60 sipp -sf "$SCEN/overload_flood.xml" -t u1 -i "$FLOOD_UE" \
        -p 5320 -inf "$csv" -key domain "$R" -r "$rate" -m "$count" -nr -nostdin \
        -recv_timeout 5000 -timeout 40s -trace_rtt -rtt_freq 1 -trace_logs -log_file flood.log \
        "$PCSCF" >sipp.out 2>&1)
}

rtd_count() {   # DIR RTD: answers of that kind in the flood's rtt file
    awk -F';' -v r="$2" 'NR > 1 && $3 == r { n++ } END { print n + 0 }' "$1"/*_rtt.csv 2>/dev/null
}

rtd_pct() {   # DIR RTD PERCENTILE: that percentile of their latency (ms)
    awk -F';' -v r="$2" 'NR > 1 && $3 == r { print $2 }' "$1"/*_rtt.csv 2>/dev/null | sort -g |
        awk -v p="$3" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print v[i] + 0 }'
}

metric() {   # ADDR SERIES: a value of that daemon's /metrics (0 when absent)
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" '$1 == m { v = $2 } END { printf "%d\n", v + 0 }'
}

overloaded() {   # ADDR: the "overloaded" field of /health
    curl -s --max-time 5 "http://$1:8080/health" | jq -r '.overloaded'
}


step "the lab, then the P-CSCF with a ceiling of 20 new requests/s"
check "deploy/lab.sh start" lab_start
check "the P-CSCF restarts with overload.max_rate = 20, retry_after = 4" \
    lab_restart pcscf IMS_OVERLOAD_MAX_RATE=20 IMS_OVERLOAD_RETRY_AFTER=4
check "alice registers" reg reg-alice alice "${ALICE[@]}"
check "bob registers" reg reg-bob bob "${BOB[@]}"

step "a flood of 10 times the ceiling, with a call in progress"
sipp_ue callee "${BOB[@]}" overload_call_uas.xml &
callee_pid=$!
sleep 0.3
sipp_ue caller "${ALICE[@]}" overload_call_uac.xml -key from alice -key target "sip:bob@$R" \
    -d 1500 "$PCSCF" &
caller_pid=$!
sleep 0.8   # the call is up; its re-INVITE (1.5 s) and BYE (2.5 s) fall inside the flood
{ echo SEQUENTIAL; seq -f 'nobody%04g' 1 600; } >"$E2E_RUN/nobody.csv"
flood flood1 200 600 "$E2E_RUN/nobody.csv" &
flood_pid=$!
sleep 1.5
during=$(overloaded 127.0.0.10)
health_during=$(curl -s --max-time 5 http://127.0.0.10:8080/health | jq -r .status)
wait "$flood_pid"
check "the caller's re-INVITE and BYE inside the flood got their 200s" wait "$caller_pid"
check "the callee saw the whole call" wait "$callee_pid"
check_eq "/health: overloaded during the flood" true "$during"
check_eq "/health: degraded during the flood" degraded "$health_during"
D=$E2E_RUN/flood1
n503=$(rtd_count "$D" 1)
nother=$(rtd_count "$D" 2)
log "flood: $n503 answered 503, $nother otherwise (403), of 600"
check "every REGISTER got an answer" test $((n503 + nother)) -eq 600
check "most of the flood was refused (503 for more than 400 of 600)" test "$n503" -gt 400
check "what was taken stayed near the ceiling (at most 120 in 3 s at 20/s)" test "$nother" -le 120
p50=$(rtd_pct "$D" 1 50)
p99=$(rtd_pct "$D" 1 99)
log "503 latency: p50 $p50 ms, p99 $p99 ms"
check "the 503s came at once (p50 under 50 ms, p99 under 300 ms)" \
    test "$p50" -lt 50 -a "$p99" -lt 300
check "every 503 carried Retry-After: 4" \
    test "$(grep -c '^503 retry-after=4 ' "$D/flood.log")" -eq "$n503"
check_match "the 503s say why in a Warning of the P-CSCF" \
    '^503 retry-after=4 +399 127\.0\.0\.10 "overloaded: ' "$(head -n 3 "$D/flood.log")"
refused=$(metric 127.0.0.10 'ims_sip_overload_refused_total{class="normal",reason="rate"}')
check_eq "/metrics counts the refusals" "$n503" "$refused"
rate=$(metric 127.0.0.10 ims_sip_admission_rate)
check "/metrics gives the admission rate (at most the ceiling, lower when the delay grew)" \
    test "$rate" -gt 0 -a "$rate" -le 20

step "the P-CSCF recovers"
sleep 2.5
check_eq "/health: no longer overloaded" false "$(overloaded 127.0.0.10)"
check "alice registers again" reg reg-alice-2 alice "${ALICE[@]}"

step "RFC 7339: the S-CSCF with a ceiling of 10/s, the P-CSCF without one"
check "the S-CSCF restarts with overload.max_rate = 10" lab_restart scscf IMS_OVERLOAD_MAX_RATE=10
check "the P-CSCF restarts with no ceiling" lab_restart pcscf
{ echo SEQUENTIAL; seq -f 'user%05g' 1 "$BULK"; } >"$E2E_RUN/bulk.csv"
cap_start overload
flood flood2 100 "$BULK" "$E2E_RUN/bulk.csv"
cap_stop
D=$E2E_RUN/flood2
n503=$(rtd_count "$D" 1)
nother=$(rtd_count "$D" 2)
log "flood of registrations: $n503 answered 503, $nother otherwise, of $BULK"
check "every REGISTER got an answer" test $((n503 + nother)) -eq "$BULK"
s_refused=$(metric 127.0.0.30 'ims_sip_overload_refused_total{class="priority",reason="rate"}')
s_taken=$(metric 127.0.0.30 'ims_sip_admitted_total{class="priority"}')
i_down=$(metric 127.0.0.20 'ims_sip_overload_refused_total{class="priority",reason="downstream"}')
p_down=$(metric 127.0.0.10 'ims_sip_overload_refused_total{class="normal",reason="downstream"}')
log "S-CSCF took $s_taken and refused $s_refused; the I-CSCF dropped $i_down for the" \
    "S-CSCF, the P-CSCF $p_down for the I-CSCF"
check "the S-CSCF refused some (503 with oc parameters to the I-CSCF)" test "$s_refused" -gt 0
check "the I-CSCF sent fewer to the S-CSCF than the flood (RFC 7339 client)" test "$i_down" -gt 0
check "the P-CSCF sent fewer to the I-CSCF (the I-CSCF asked it too)" test "$p_down" -gt 0
check_match "UEs got the P-CSCF's own 503 naming the overloaded next hop" \
    '^503 retry-after=5 +399 127\.0\.0\.10 "next hop 127\.0\.0\.20:5060 is overloaded \(RFC 7339\)' \
    "$(grep '^503' "$D/flood.log" | head -n 3)"
down503='ip.src == 127.0.0.10 && sip.Status-Code == 503 && sip.Warning contains "RFC 7339"'
stateless_tag='sip.to.tag matches "^sl[0-9a-f]{16}$"'
# the P-CSCF knows a REGISTER's next hop: its 503s for it come before any transaction
check "the P-CSCF's 503s for the I-CSCF were stateless (the To tag of sip.c's stateless path)" \
    test "$(cap_count "$E2E_CAP_FILE" "$down503 && $stateless_tag")" -gt 0 -a \
    "$(cap_count "$E2E_CAP_FILE" "$down503 && !($stateless_tag)")" -eq 0
check "the S-CSCF took no more than its ceiling allows (10/s over the flood, and bursts)" \
    test "$s_taken" -le 120
check_eq "the capture decodes cleanly (oc parameters in Via are standard SIP)" "" \
    "$(cap_problems "$E2E_CAP_FILE" | head -n 5)"
check "the CSCFs offered oc to their next hops (Via ...;oc;oc-algo=\"loss\")" \
    test "$(cap_count "$E2E_CAP_FILE" 'sip.Method == "REGISTER" && sip.Via contains ";oc;oc-algo=\"loss\""')" -gt 0
check "a server's answers carried oc, oc-algo, oc-validity and oc-seq" \
    test "$(cap_count "$E2E_CAP_FILE" 'sip.Status-Code == 503 && sip.Via matches ";oc=[0-9]+;oc-algo=\"loss\"" && sip.Via contains ";oc-validity=1000" && sip.Via matches ";oc-seq=[0-9]+\\.[0-9]{5}"')" -gt 0

step "DIAMETER_TOO_BUSY: the HSS with one handler thread and a 2 ms limit on the wait"
check "the S-CSCF restarts with no ceiling" lab_restart scscf
check "the HSS restarts (diameter.threads = 1, busy_wait_ms = 2)" \
    lab_restart hss IMS_DIAMETER_THREADS=1 IMS_DIAMETER_BUSY_WAIT_MS=2
icscf_back() {   # the I-CSCF and S-CSCF are connected to the HSS again
    local i
    for i in $(seq 100); do
        [ "$(curl -s --max-time 2 http://127.0.0.20:8080/health | jq -r .status)" = ok ] &&
            [ "$(curl -s --max-time 2 http://127.0.0.30:8080/health | jq -r .status)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}
check "the I-CSCF and S-CSCF reconnected to the HSS" icscf_back
mar='{"User-Name":"user%05n@'$R'","Public-Identity":"sip:user%05n@'$R'","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"SIP Digest"},"Server-Name":"sip:scscf.'$R':5060"}'
("$E2E_BIN/diamcli" --peer "hss.$R@127.0.0.40" --identity "loadgen.$R" --address 127.0.1.11 \
    --cmd MAR --avps "$mar" --users 40000 --concurrency 400 --quiet \
    >"$E2E_RUN/diamcli.out" 2>"$E2E_RUN/diamcli.err") &
diamcli_pid=$!
mar_in() { metric 127.0.0.40 'ims_diameter_messages_total{command="MAR",direction="in"}'; }
for _ in $(seq 100); do [ "$(mar_in)" -gt 1000 ] && break; sleep 0.1; done
log "the Diameter client is sending ($(mar_in) MARs so far)"
flood flood3 100 200 "$E2E_RUN/bulk.csv"
kill "$diamcli_pid" 2>/dev/null
wait "$diamcli_pid" 2>/dev/null
D=$E2E_RUN/flood3
busy=$(metric 127.0.0.40 ims_diameter_busy_total)
log "the HSS answered $busy requests DIAMETER_TOO_BUSY"
check "the HSS answered TOO_BUSY under the flood" test "$busy" -gt 0
check "every REGISTER got an answer" test $(($(rtd_count "$D" 1) + $(rtd_count "$D" 2))) -eq 200
# by the I-CSCF (its UAR refused) or the S-CSCF (its MAR refused): whichever of the two
# the HSS turned away first (CI saw three of the S-CSCF's come first once)
check_match "UEs were told at once that the HSS is too busy, with a Retry-After" \
    '^500 retry-after=30 +399 127\.0\.0\.(20|30) "HSS too busy' \
    "$(grep 'HSS too busy' "$D/flood.log" | head -n 3)"
check "those answers came quickly (p99 of the flood's other answers under 1 s)" \
    test "$(rtd_pct "$D" 2 99)" -lt 1000
check "the I-CSCF lowered its admission rate (TOO_BUSY answers are penalties)" \
    test "$(metric 127.0.0.20 ims_sip_admission_rate)" -gt 0

step "memory: the P-CSCF with overload.max_heap_mb = 1, below its heap at rest"
check "the P-CSCF restarts with overload.max_heap_mb = 1" lab_restart pcscf IMS_OVERLOAD_MAX_HEAP_MB=1
flood flood4 20 20 "$E2E_RUN/nobody.csv"
D=$E2E_RUN/flood4
check_eq "every new REGISTER was answered 503 (the heap is past the bound)" 20 "$(rtd_count "$D" 1)"
check_match "the 503s say the memory is used up" \
    '^503 retry-after=5 +399 127\.0\.0\.10 "overloaded: the memory for work in flight is used up"' \
    "$(head -n 3 "$D/flood.log")"
check_eq "/metrics counts them with reason=\"memory\"" 20 \
    "$(metric 127.0.0.10 'ims_sip_overload_refused_total{class="normal",reason="memory"}')"
check "the P-CSCF restarts with the default bound (1,024 MB)" lab_restart pcscf
flood flood5 20 20 "$E2E_RUN/nobody.csv"
# (the I-CSCF may still ask for fewer after the HSS's flood: 503s for RFC 7339 are fine)
check_eq "then none is refused for memory" 0 \
    "$(metric 127.0.0.10 'ims_sip_overload_refused_total{class="normal",reason="memory"}')"
check_eq "and every REGISTER got an answer" 20 \
    "$(($(rtd_count "$E2E_RUN/flood5" 1) + $(rtd_count "$E2E_RUN/flood5" 2)))"

e2e_finish
