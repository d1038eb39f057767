#!/usr/bin/env bash
# tests/e2e/test_doic.sh - Diameter overload indication (RFC 7683, DOIC, loss algorithm)
# between the CSCFs (reacting nodes) and the HSS (reporting node):
#
# 1. The attacker: a Diameter client sends the HSS a UAR that carries an OC-OLR asking for
#    a reduction of 100 %: it is answered as any UAR, the HSS asks nobody for anything, the
#    CSCFs throttle nothing, and alice registers.
# 2. The HSS restarted with one handler thread and a queue of 40 (diameter.max_queue,
#    doic_threshold_pct 50 by default), flooded by a Diameter client (MAR, 400 at a time)
#    while UEs send a burst of registrations through the P-CSCF: the HSS's answers to the
#    CSCFs carry OC-Supported-Features and an OC-OLR (tshark decodes them, no malformed
#    field); the I-CSCF's /metrics shows the reduction in force for the HSS and the UARs it
#    throttled; every REGISTER of the burst gets an answer (an error with Retry-After for
#    those throttled, not silence; the I-CSCF's (UAR) and the S-CSCF's (MAR) are decided
#    before any SIP transaction). Meanwhile a trusted peer in the I-CSCF's place sends
#    the S-CSCF registrations with credentials: the SAR of a REGISTER with a right answer
#    is decided before the transaction too (its 503s carry the stateless path's To tag).
# 3. After the flood: the reduction ends (0 at the I-CSCF within the validity, 5 s, plus the
#    steps down) and registrations succeed again.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init doic
e2e_require sipp jq curl tshark

R=$E2E_REALM
HSS_ID=hss.$R
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
ALICE=(127.0.0.120 5301)
FLOOD_UE=127.0.0.130
AUTH_PEER=127.0.1.131        # sipp in the I-CSCF's place (trusted by the S-CSCF)
SCSCF=127.0.0.30:5060
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

# reg_again NAME USER ADDR PORT: reg, tried again (3 times, 2 s apart) only when the P-CSCF
# refused it for SIP overload (its own admission control, its queueing delay on a loaded
# 2-core machine, or its RFC 7339 throttle towards the I-CSCF): not what this test is about
reg_again() {
    local i
    for i in 1 2 3; do
        reg "$1-$i" "$2" "$3" "$4" && return 0
        # a 503 of the P-CSCF's own admission control, or of its RFC 7339 throttle towards an
        # I-CSCF still asking for fewer requests just after the burst: a UE tries again
        grep -qE 'overloaded: more new requests than this node|is overloaded \(RFC 7339\)' \
            "$E2E_RUN/$1-$i.err" 2>/dev/null || return 1
        log "$1: refused 503 by the P-CSCF (overload), tried again"
        sleep 2
    done
    return 1
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

# auth_burst CSV: registrations with credentials (overload_reg_auth.xml: a refused REGISTER
# is sent again, six tries) from AUTH_PEER straight to the S-CSCF, 20 users a second (past
# the I-CSCF, whose UARs the same report throttles, hardly any would reach it)
auth_burst() {
    mkdir -p "$E2E_RUN/auth"
    (cd "$E2E_RUN/auth" && timeout 60 sipp -sf "$SCEN/overload_reg_auth.xml" -t u1 \
        -i "$AUTH_PEER" -p 5330 -inf "$1" -key domain "$R" -key expires 600 -auth_uri "$R" \
        -r 20 -m "$(($(wc -l <"$1") - 1))" -nostdin -recv_timeout 10000 -timeout 50s \
        -trace_logs -log_file auth.log -trace_err -error_file auth.err "$SCSCF" >sipp.out 2>&1)
}

rtd_count() {   # DIR RTD: answers of that kind in the flood's rtt file
    awk -F';' -v r="$2" 'NR > 1 && $3 == r { n++ } END { print n + 0 }' "$1"/*_rtt.csv 2>/dev/null
}

metric() {   # ADDR SERIES: a value of that daemon's /metrics (0 when absent)
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk -v m="$2" '$1 == m { v = $2 } END { printf "%d\n", v + 0 }'
}


cscfs_back() {   # the I-CSCF and S-CSCF are connected to the HSS again
    local i
    for i in $(seq 150); do
        [ "$(curl -s --max-time 2 http://127.0.0.20:8080/health | jq -r .status)" = ok ] &&
            [ "$(curl -s --max-time 2 http://127.0.0.30:8080/health | jq -r .status)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

RED_I="ims_diameter_oc_reduction_percent{peer=\"$HSS_ID\"}"
THR_I="ims_diameter_oc_throttled_total{peer=\"$HSS_ID\"}"

step "the lab"
check "deploy/lab.sh start" lab_start
check "tshark captures" cap_start doic

step "the attacker: an OC-OLR in a request changes nothing"
uar='{"User-Name":"alice@'$R'","Public-Identity":"sip:alice@'$R'","Visited-Network-Identifier":"'$R'","OC-Supported-Features":{"OC-Feature-Vector":1},"OC-OLR":{"OC-Sequence-Number":99999999999,"OC-Report-Type":0,"OC-Reduction-Percentage":100,"OC-Validity-Duration":600}}'
out=$("$E2E_BIN/diamcli" --peer "$HSS_ID@127.0.0.40" --identity "attacker.$R" \
    --address 127.0.1.12 --cmd UAR --avps "$uar" --users 1 --concurrency 1 --quiet 2>>"$E2E_RUN/attacker.err" | tail -n 1)
log "diamcli: $out"
check_eq "the UAR carrying an OC-OLR is answered" 0 "$(jq -r .failures <<<"$out" 2>/dev/null)"
check_eq "the HSS asks no reduction of anybody" 0 \
    "$(metric 127.0.0.40 ims_diameter_oc_reduction_asked_percent)"
check "alice registers" reg_again reg-alice alice "${ALICE[@]}"
check_eq "the I-CSCF has no reduction in force for the HSS" 0 "$(metric 127.0.0.20 "$RED_I")"
check_eq "... and throttled nothing" 0 "$(metric 127.0.0.20 "$THR_I")"

step "the HSS with one handler thread and a queue of 40, flooded"
check "the HSS restarts (diameter.threads = 1, max_queue = 40)" \
    lab_restart hss IMS_DIAMETER_THREADS=1 IMS_DIAMETER_MAX_QUEUE=40
check "the I-CSCF and S-CSCF reconnected to the HSS" cscfs_back
mar='{"User-Name":"user%05n@'$R'","Public-Identity":"sip:user%05n@'$R'","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"SIP Digest"},"Server-Name":"sip:scscf.'$R':5060"}'
("$E2E_BIN/diamcli" --peer "$HSS_ID@127.0.0.40" --identity "loadgen.$R" --address 127.0.1.11 \
    --cmd MAR --avps "$mar" --users 100000 --concurrency 400 --quiet \
    >"$E2E_RUN/diamcli.out" 2>"$E2E_RUN/diamcli.err") &
diamcli_pid=$!
e2e_at_cleanup "kill $diamcli_pid 2>/dev/null"
mar_in() { metric 127.0.0.40 'ims_diameter_messages_total{command="MAR",direction="in"}'; }
for _ in $(seq 100); do [ "$(mar_in)" -gt 1000 ] && break; sleep 0.1; done
log "the Diameter client is sending ($(mar_in) MARs so far)"
# the highest reduction the I-CSCF and the S-CSCF had in force, sampled during the burst
(
    mi=0 ms=0 ma=0
    while :; do
        a=$(metric 127.0.0.20 "$RED_I") b=$(metric 127.0.0.30 "$RED_I")
        c=$(metric 127.0.0.40 ims_diameter_oc_reduction_asked_percent)
        [ "$a" -gt "$mi" ] && mi=$a
        [ "$b" -gt "$ms" ] && ms=$b
        [ "$c" -gt "$ma" ] && ma=$c
        echo "$mi $ms $ma" >"$E2E_RUN/reductions"
        sleep 0.2
    done
) &
sampler=$!
e2e_at_cleanup "kill $sampler 2>/dev/null"
{ echo SEQUENTIAL; seq -f 'user%05g' 1 300; } >"$E2E_RUN/burst.csv"
{ echo SEQUENTIAL; seq -f 'user%05g' 341 400; } >"$E2E_RUN/auth.csv"
auth_burst "$E2E_RUN/auth.csv" &
auth_pid=$!
flood burst 100 300 "$E2E_RUN/burst.csv"
wait "$auth_pid"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
read -r max_i max_s max_asked <"$E2E_RUN/reductions"
throttled=$(metric 127.0.0.20 "$THR_I")
throttled_s=$(metric 127.0.0.30 "$THR_I")
kill "$diamcli_pid" 2>/dev/null
wait "$diamcli_pid" 2>/dev/null
t_end=$SECONDS
D=$E2E_RUN/burst
log "highest reduction: asked by the HSS $max_asked %, in force at the I-CSCF $max_i %," \
    "at the S-CSCF $max_s %; throttled: I-CSCF $throttled, S-CSCF $throttled_s"
log "the burst's answers: $(grep -o '^[0-9]* retry-after=[0-9]*' "$D/flood.log" | sort |
    uniq -c | tr -s ' \n' ' '); refused by the P-CSCF: $(rtd_count "$D" 1), others: $(rtd_count "$D" 2)"
check "the HSS asked for a reduction" test "$max_asked" -gt 0
check "the I-CSCF had a reduction in force for the HSS" test "$max_i" -gt 0
check "the I-CSCF throttled UARs" test "$throttled" -gt 0
check "every REGISTER of the burst got an answer" \
    test $(($(rtd_count "$D" 1) + $(rtd_count "$D" 2))) -eq 300
check_match "the throttled ones got an error with a Retry-After at once (HSS too busy)" \
    '^50[03] retry-after=[1-9][0-9]* .*HSS too busy' "$(grep 'HSS too busy' "$D/flood.log")"

step "after the burst: the reduction ends and registrations succeed"
for _ in $(seq 60); do
    [ "$(metric 127.0.0.20 "$RED_I")" = 0 ] && [ "$(metric 127.0.0.30 "$RED_I")" = 0 ] && break
    sleep 0.5
done
log "the reductions ended $((SECONDS - t_end)) s after the flood"
check_eq "the I-CSCF: no reduction in force" 0 "$(metric 127.0.0.20 "$RED_I")"
check_eq "the S-CSCF: no reduction in force" 0 "$(metric 127.0.0.30 "$RED_I")"
sleep 6   # the HSS's own report of reduction 0 runs for its validity
check_eq "the HSS asks for nothing any more" 0 \
    "$(metric 127.0.0.40 ims_diameter_oc_reduction_asked_percent)"
check "alice registers again" reg_again reg-alice-2 alice "${ALICE[@]}"
thr0=$(metric 127.0.0.20 "$THR_I")
{ echo SEQUENTIAL; seq -f 'user%05g' 301 340; } >"$E2E_RUN/calm.csv"
flood calm 10 40 "$E2E_RUN/calm.csv"
# (a 503 of the P-CSCF's RFC 7339 control towards the I-CSCF, still fading after the
# burst, may come: that is SIP overload control, not this test's)
log "40 new registrations at 10/s: $(rtd_count "$E2E_RUN/calm" 2) challenged or answered," \
    "$(rtd_count "$E2E_RUN/calm" 1) refused by the P-CSCF: $(cut -c1-90 "$E2E_RUN/calm/flood.log" |
    sort | uniq -c | tr -s ' \n' ' ')"
check_eq "40 new registrations at 10/s: all answered" 40 \
    "$(($(rtd_count "$E2E_RUN/calm" 2) + $(rtd_count "$E2E_RUN/calm" 1)))"
check "... nearly all challenged, not refused (at least 36)" \
    test "$(rtd_count "$E2E_RUN/calm" 2)" -ge 36
check_eq "... none with an error saying the HSS is too busy" 0 \
    "$(grep -c 'HSS too busy' "$E2E_RUN/calm/flood.log")"
check_eq "... none throttled" "$thr0" "$(metric 127.0.0.20 "$THR_I")"

step "on the wire"
check "tshark stops" cap_stop
F=$E2E_CAP_FILE
olr=$(cap_count "$F" 'diameter.OC-OLR && diameter.flags.request == 0 && ip.src == 127.0.0.40 && (ip.dst == 127.0.0.20 || ip.dst == 127.0.0.30)')
log "answers of the HSS to the CSCFs with an OC-OLR: $olr"
check "the HSS's answers to the CSCFs carry OC-OLR" test "$olr" -gt 0
check "the CSCFs' requests carry OC-Supported-Features" test "$(cap_count "$F" \
    'diameter.OC-Supported-Features && diameter.flags.request == 1 && ip.dst == 127.0.0.40 && ip.src == 127.0.0.20')" -gt 0
throttled503='ip.src == 127.0.0.20 && sip.Status-Code == 503 && sip.Warning contains "overload report"'
stateless_tag='sip.to.tag matches "^sl[0-9a-f]{16}$"'
n_sl=$(cap_count "$F" "$throttled503 && $stateless_tag")
n_tx=$(cap_count "$F" "$throttled503 && !($stateless_tag)")
check "the I-CSCF's 503s for the HSS's reduction went before any transaction ($n_sl stateless, $n_tx not)" \
    test "$n_sl" -ge 1 -a "$n_tx" -eq 0
# the S-CSCF's MARs (a REGISTER to challenge) throttled the same way: before, each such 503
# ("HSS too busy") kept a transaction for 32 s
s503='ip.src == 127.0.0.30 && sip.Status-Code == 503 && sip.Warning contains "overload report"'
s_sl=$(cap_count "$F" "$s503 && $stateless_tag")
s_tx=$(cap_count "$F" "$s503 && !($stateless_tag)")
log "the S-CSCF throttled $throttled_s requests to the HSS; its 503s for that: $s_sl stateless, $s_tx not"
check "the S-CSCF's 503s for the HSS's reduction went before any transaction" \
    test "$s_tx" -eq 0 -a \( "$throttled_s" -eq 0 -o "$s_sl" -ge 1 \)
# ... and so did its SARs (a REGISTER with a right answer to its challenge): before, each
# such 503 ("HSS too busy") kept a transaction for 32 s
sar503='ip.src == 127.0.0.30 && sip.Status-Code == 503 && sip.Warning contains "fewer SARs"'
sar_sl=$(cap_count "$F" "$sar503 && $stateless_tag")
sar_tx=$(cap_count "$F" "$sar503 && !($stateless_tag)")
A=$E2E_RUN/auth/auth.log
log "the peer's registrations with credentials: $(grep -c '^registered' "$A"), refusals of" \
    "the REGISTER with credentials: $(grep '^2 ' "$A" | cut -c1-100 | sort | uniq -c |
    tr -s ' \n' ' '); the S-CSCF's 503s for SARs: $sar_sl stateless, $sar_tx not"
check "the S-CSCF refused SARs for the HSS's reduction before any transaction" \
    test "$sar_sl" -ge 1 -a "$sar_tx" -eq 0
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$F" | head -n 5)"

lab_stop
e2e_finish
