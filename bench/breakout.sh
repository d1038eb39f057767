#!/usr/bin/env bash
# bench/breakout.sh - PSTN breakout calls per second through the MGCF (issue 14), their
# set-up latency, the CPU of each daemon and test peer per call.
#
#   bench/breakout.sh [-c CALLERS] [-s SECONDS] [-H HOLD_MS] [-k CICS] [-N NUMBER] [-a] [-n]
#                     [RATE...]
#       default: 2 callers, 20 s per step, 300 ms hold, 256 circuits, number +19995550100,
#       rates 20 40 80 160 240 320 400 480; stops after the first step that does not
#       hold, unless -a. -n turns charging off (charging.cdf and charging.ocs empty).
#
# Every call: caller UE -> P-CSCF 127.0.0.10 -> S-CSCF (originating) -> BGCF -> MGCF
# 127.0.0.70 -> ISUP over M3UA to the lab's PSTN switch (tests/tools/pstn, 127.0.0.100),
# H.248 to the lab's media gateway (tests/tools/mgw, 127.0.0.101) for the circuit's TDM
# termination and an RTP one: INVITE (SDP) -> IAM, ACM -> 180, ANM (the switch answers
# 20 ms after its ACM) -> 200, ACK, then after HOLD_MS a BYE -> REL, RLC, Subtract. No RTP.
#
# The circuit pool bounds the calls up at once: each holds a circuit for HOLD_MS plus its
# set-up and release (about 20 ms answer delay + the latencies). The lab's trunk has 31
# circuits (deploy/lab/mgcf.conf); this bench gives the MGCF CICS circuits (1-CICS, at
# most 256, the PSTN switch's limit) through IMS_MGCF_TRUNKS and the switch the same range
# (IMS_LAB_PSTN_ARGS). The table shows the most circuits seen busy in each step (the MGCF's
# mgcf_calls gauge, sampled every 0.5 s); a step whose peak comes near CICS was bounded by
# the pool, which the output then says. The test MGW (tests/tools/mgw.c, TERMS_MAX 512)
# holds at most 512 terminations, two a call: 256 calls at once (it held 64, 32 calls,
# until 2026-12-07); past that it answers Add with 510 and the MGCF the INVITE with 503
# (500 at the caller, from the proxies). The pool is therefore min(CICS, 256).
#
# Starts its own lab (run/bench-breakout/lab, the lab configuration: log level info unless
# BENCH_LOG_LEVEL says otherwise) with CALLERS bulk users. Each caller (user00001...) is one
# sipp with one socket (127.0.0.110+k:5070) it registered from, calling NUMBER at
# RATE/CALLERS calls/s for SECONDS (bench/scenarios/breakout_uac.xml).
#
# Measured per step: calls completed, the rate reached, INVITE -> 180 latency (p50, p99,
# max; sipp measures whole milliseconds), 180 -> 200 (the switch's 20 ms taken out), failed
# calls, SIP retransmissions, H.248 retransmissions (mgcf_h248_retransmissions_total), IAMs
# refused by admission control (cause 42), the most circuits busy at once, CPU of each
# daemon on the path (% of one core, CPU time per call), of the test peers pstn and mgw and
# of the sipps. A step "holds" when no call failed and the rate reached is within 5 % of the
# target.
#
# Needs sipp, jq, curl, ss, flock. Runs in a network namespace of its own when it can
# (bench_netns), takes the lab lock (/tmp/ims-lab.lock) like the e2e tests, refuses to run
# when the lab addresses are in use, stops everything it started. Never run by make test
# or CI.
set -u
. "$(dirname "$0")/lib.sh"
bench_netns "$0" "$@"

CALLERS=2
SECS=20
HOLD=300
CICS=256
NUMBER=19995550100
ANSWER_MS=20
ALL=0
CHARGING=1
while getopts "c:s:H:k:N:anh" o; do
    case $o in
        c) CALLERS=$OPTARG ;;
        s) SECS=$OPTARG ;;
        H) HOLD=$OPTARG ;;
        k) CICS=$OPTARG ;;
        N) NUMBER=${OPTARG#+} ;;
        a) ALL=1 ;;
        n) CHARGING=0 ;;
        *) sed -n '2,44p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(20 40 80 160 240 320 400 480)
bench_need "test" sipp jq curl ss flock
[ "$CALLERS" -ge 1 ] && [ "$CALLERS" -le 80 ] || { echo "bench: 1..80 callers" >&2; exit 2; }
[ "$CICS" -ge 1 ] && [ "$CICS" -le 256 ] ||
    { echo "bench: 1..256 circuits (the PSTN switch's limit)" >&2; exit 2; }
[[ "$NUMBER" =~ ^[0-9]{4,15}$ ]] || { echo "bench: -N: an E.164 number" >&2; exit 2; }
for b in pstn mgw mgcf bgcf; do
    [ -x "$BENCH_BIN/$b" ] || { echo "bench: $BENCH_BIN/$b missing: run make" >&2; exit 1; }
done
MGW_CALLS=256     # tests/tools/mgw.c: TERMS_MAX 512 terminations, two a call
POOL=$((CICS < MGW_CALLS ? CICS : MGW_CALLS))
PCSCF=127.0.0.10:5060
CALLER_PORT=5070
MGCF_METRICS=http://127.0.0.70:8080/metrics

bench_init breakout
bench_refuse_busy 127.0.0.10 127.0.0.30 127.0.0.40 127.0.0.50 127.0.0.70 127.0.0.80
CHG_TEXT=off
[ "$CHARGING" = 1 ] && CHG_TEXT="on (Rf to the CDF, as the lab configures it)"
bench_log "$CALLERS callers -> tel:+$NUMBER, ${SECS}s per step, hold ${HOLD} ms, $CICS circuits," \
    "charging $CHG_TEXT, load $(loadavg)"

[ -n "${BENCH_LOG_LEVEL:-}" ] && export IMS_LOG_LEVEL=$BENCH_LOG_LEVEL
export IMS_MGCF_TRUNKS="pstn dpc=2002 cics=1-$CICS"
export IMS_LAB_PSTN_ARGS="--cics 1-$CICS --answer-ms $ANSWER_MS"
if [ "$CHARGING" = 0 ]; then
    export IMS_CHARGING_CDF="" IMS_CHARGING_OCS=""
fi
bench_lab_start "$CALLERS"
bench_log "lab started with $CALLERS bulk users (run/bench-breakout/lab)"
FUNCS=(pcscf scscf bgcf mgcf hss ocs pstn mgw)
declare -A PIDS=()
for d in "${FUNCS[@]}"; do
    PIDS[$d]=$(pid_of_daemon "$d")
    [ -n "${PIDS[$d]}" ] || { echo "bench: no pid for $d in $BENCH_RUN/lab" >&2; exit 1; }
done

any_alive() {   # $@ pids: is one of them still running?
    local p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

mgcf_metric() {   # NAME...: the sum of those MGCF metrics now (empty when /metrics fails)
    local t
    t=$(curl -s --max-time 2 "$MGCF_METRICS") || return 0
    printf '%s\n' "$t" | metric_sum "$@"
}

# all circuits reset (GRS/GRA) before the first call: the MGCF logs one line per group
wait_circuits() {
    local deadline=$((SECONDS + 30)) n
    while [ $SECONDS -lt $deadline ]; do
        n=$(grep -c 'rx ISUP GRA' "$BENCH_RUN/lab/mgcf/mgcf.log" 2>/dev/null)
        [ "${n:-0}" -ge $(( (CICS + 31) / 32 )) ] && return 0
        sleep 0.3
    done
    echo "bench: the MGCF did not get its circuits reset in 30 s:" >&2
    grep -i 'grs\|gra\|error' "$BENCH_RUN/lab/mgcf/mgcf.log" | tail -n 10 >&2
    return 1
}
wait_circuits || exit 1

for ((k = 0; k < CALLERS; k++)); do
    printf 'SEQUENTIAL\n%s\n' "$(bench_user $((k + 1)))" >"$BENCH_RUN/caller-$k.csv"
    bench_register_from "caller$k" "127.0.0.$((110 + k))" "$CALLER_PORT" \
        "$BENCH_RUN/caller-$k.csv" 3600 || exit 1
done
bench_log "registered $CALLERS callers"

RESULTS=()
POOL_NOTE=""
step=0
for rate in "${RATES[@]}"; do
    step=$((step + 1))
    m=$((rate * SECS / CALLERS))
    declare -A C0=() C1=()
    for f in "${FUNCS[@]}"; do C0[$f]=$(cpu_ticks "${PIDS[$f]}"); done
    h248r0=$(mgcf_metric mgcf_h248_retransmissions_total)
    ovl0=$(mgcf_metric mgcf_iam_overload_refused_total)
    t0=$(date +%s.%N)
    pids=()
    for ((k = 0; k < CALLERS; k++)); do
        dir=$BENCH_RUN/step$step/caller$k
        mkdir -p "$dir"
        (cd "$dir" && exec sipp -sf "$BENCH_SCEN/breakout_uac.xml" -t u1 \
            -i "127.0.0.$((110 + k))" -p "$CALLER_PORT" -key domain "$BENCH_REALM" \
            -key from "$(bench_user $((k + 1)))" -key target "tel:+$NUMBER" \
            -r "$rate" -rp $((CALLERS * 1000)) -m "$m" -l $((rate * 10 + 1000)) -d "$HOLD" \
            -recv_timeout 10000 -timeout $((SECS + 120))s -nostdin -trace_stat -fd 1 \
            -stf stat.csv -trace_rtt -rtt_freq 1 -trace_err -error_file errors.log \
            "$PCSCF" >sipp.out 2>&1) &
        pids+=($!)
    done
    # the last CPU sample before the callers end (their ticks vanish with them); the most
    # calls up at the MGCF at once
    declare -A UAC=()
    busy_max=0
    while any_alive "${pids[@]}"; do
        t1=$(date +%s.%N)
        for f in "${FUNCS[@]}"; do C1[$f]=$(cpu_ticks "${PIDS[$f]}"); done
        for p in "${pids[@]}"; do
            kill -0 "$p" 2>/dev/null && UAC[$p]=$(cpu_ticks "$p")
        done
        b=$(mgcf_metric mgcf_calls)
        [ "${b:-0}" -gt "$busy_max" ] && busy_max=$b
        sleep 0.5
    done
    C1[uac]=0
    for p in "${!UAC[@]}"; do C1[uac]=$((C1[uac] + UAC[$p])); done
    unset UAC
    rcs=0
    for p in "${pids[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
    h248r=$(( $(mgcf_metric mgcf_h248_retransmissions_total) - h248r0 ))
    ovl=$(( $(mgcf_metric mgcf_iam_overload_refused_total) - ovl0 ))
    bench_callers_sum "$BENCH_RUN/step$step" "$CALLERS" breakout_uac "$ANSWER_MS"
    total=$((m * CALLERS))
    held=no
    if [ "$rcs" = 0 ] && [ "$failed" = 0 ] && [ "$done1" = "$total" ] &&
        [ "$rate_sum" -ge $((rate * 95 / 100)) ]; then
        held=yes
    fi
    pool=""
    if [ "$busy_max" -ge $((POOL * 9 / 10)) ]; then
        pool="!"
        POOL_NOTE="steps marked ! had 90 % or more of the $POOL calls the circuits and the"
        POOL_NOTE+=" test MGW allow busy at once: the pool, not the MGCF, may have bounded them"
    fi
    cpu=""
    for f in "${FUNCS[@]}"; do
        cpu+=$(awk -v a="${C0[$f]}" -v b="${C1[$f]}" -v hz="$BENCH_HZ" -v t0="$t0" -v t1="$t1" \
            -v n="$total" -v f="$f" 'BEGIN { s = (b - a) / hz
                printf " %s=%.0f%%/%.0fus", f, 100 * s / (t1 - t0), s * 1e6 / n }')
    done
    cpu+=$(awk -v c="${C1[uac]}" -v hz="$BENCH_HZ" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf " sipp=%.0f%%", 100 * c / hz / (t1 - t0) }')
    line="$step $rate $done1 $rate_sum $p50_180 $p99_180 $max_180 $p50_200 $p99_200"
    RESULTS+=("$line $failed $retrans $h248r $ovl $busy_max$pool $held$cpu")
    bench_log "step $step: $rate/s: $done1 of $total calls at $rate_sum/s, INVITE->180" \
        "p50 $p50_180 p99 $p99_180 ms, failed $failed, retransmissions $retrans," \
        "circuits busy at most $busy_max, load $(loadavg)"
    [ "$failed" = 0 ] || { head -c 1000 "$BENCH_RUN"/step$step/caller0/errors.log; echo; } >&2
    unset C0 C1
    if [ "$held" = no ] && [ "$ALL" = 0 ]; then
        bench_log "step $step did not hold $rate/s: no higher rate tried (-a tries them all)"
        break
    fi
    # let the last calls and transactions end before the next step
    sleep 3
done

echo
echo "breakout benchmark: caller -> P-CSCF -> S-CSCF -> BGCF -> MGCF -> ISUP/M3UA -> PSTN switch,"
echo "H.248 to the MGW; UDP SIP, $CALLERS callers -> tel:+$NUMBER, ${SECS} s per step,"
echo "hold $HOLD ms, $CICS circuits, the switch answers $ANSWER_MS ms after its ACM,"
echo "charging $CHG_TEXT"
echo "date $(date -u +%FT%TZ), $(nproc) cores," \
    "commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null)," \
    "log level ${IMS_LOG_LEVEL:-info (lab configuration)}, load average at the end $(loadavg)," \
    "$(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
echo "latency: INVITE -> 180 at the caller; 180 -> 200 without the switch's $ANSWER_MS ms" \
    "(sipp: whole ms)"
printf '%-4s %-6s %-6s %-6s %-8s %-8s %-8s %-8s %-8s %-6s %-7s %-6s %-5s %-5s %-5s %s\n' step \
    target 'done' per_s 180_p50 180_p99 180_max 200_p50 200_p99 failed retrans h248_r iam42 \
    cics held "cpu (% of a core / CPU per call)"
for r in "${RESULTS[@]}"; do
    read -r a b c d e f g h i j k l m n o rest <<<"$r"
    printf '%-4s %-6s %-6s %-6s %-8s %-8s %-8s %-8s %-8s %-6s %-7s %-6s %-5s %-5s %-5s %s\n' \
        "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$m" "$n" "$o" "$rest"
done
echo "retrans: SIP retransmissions at the callers; h248_r: the MGCF's H.248 retransmissions;"
echo "iam42: IAMs refused by admission control; cics: most circuits busy at once (of $POOL:"
echo "$CICS circuits, the test MGW's $MGW_CALLS calls)"
[ -n "$POOL_NOTE" ] && echo "$POOL_NOTE"
echo
echo "sipp runs, rtt and stat files, the lab's logs: $BENCH_RUN/"
