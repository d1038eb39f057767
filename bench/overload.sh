#!/usr/bin/env bash
# bench/overload.sh - registrations or calls offered past the chain's capacity: does it
# degrade (complete about what it can, refuse the rest at once with 503) or collapse?
#
#   bench/overload.sh [-t reg|call] [-k KNEE] [-s SECONDS] [-x "2 4"] [-n] [-S SETTLE_S]
#                     [-c CALLERS] [-e CALLEES] [-H HOLD_MS] [RATE...]
#       -t     registrations (default) or calls, through the whole chain (as bench/register.sh
#              and bench/call.sh)
#       -k     the zero-failure rate, when known from this run's machine; without it the
#              benchmark finds it first: it steps up through RATE... (default reg: 200 300
#              400 500 600 800 1000 1200; call: 100 150 200 250 300 400 500 600) and keeps
#              the last step with no failure, no 503 and at least 95 % of the rate reached
#       -x     the multiples of that rate offered next (default "2 4")
#       -s     seconds per step (default 12), -S seconds between steps (default 10: the
#              transactions of the step before linger 32 s), -n charging off
#
# Goal (issue 13, overload control): offered 2x and 4x the zero-failure rate, the completed
# rate stays at least 90 % of that rate, the rest gets 503 quickly, and the completed
# requests' p99 latency stays under 500 ms. Each overload step prints PASS when
#   completed/s >= 0.9 x the zero-failure rate, p99 of the completed ones < 500 ms,
#   at least 95 % of the rest answered 503, their p99 < 500 ms;
# otherwise FAIL, with what missed.
#
# Registrations: each step registers fresh bulk users (REGISTER -> 401 -> REGISTER -> 200
# with Digest, one UDP socket per user, -t un); either REGISTER may get 503. Latency: first
# REGISTER to 200, the UE's 20 ms think time taken out. Calls: 4 callers, 2,000 callees (two
# answering sipps), INVITE -> 180 -> 200 -> ACK, HOLD_MS (500), BYE; the INVITE may get 503
# (then ACK). Latency: INVITE to 180; a call completes with its BYE's 200.
#
# Printed per step: offered rate and count, completed and completed/s, 503s and their p99,
# other failures (sipp's failed calls: 500, 480, timeouts), p50/p99 of the completed,
# sipp's retransmissions, datagrams the kernel dropped at each CSCF, the CPU of each daemon,
# held (search steps) or PASS/FAIL (overload steps), and the load average.
#
# Starts its own lab (run/bench-overload/lab, the lab configuration: admission control on
# with its defaults, log level info unless BENCH_LOG_LEVEL says otherwise); the [overload]
# keys can be overridden with IMS_OVERLOAD_* in the environment. Runs in a network namespace
# of its own when it can (bench_netns of bench/lib.sh: a lab in the machine's namespace is
# left alone; the CPU is still shared); otherwise takes the lab lock like the e2e tests and
# refuses to run when the lab addresses are in use. Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"
bench_netns "$0" "$@"

KIND=reg
KNEE=
SECS=12
SETTLE=10
MULTS="2 4"
CHARGING=1
CALLERS=4
CALLEES=2000
HOLD=500
while getopts "t:k:s:S:x:nc:e:H:h" o; do
    case $o in
        t) KIND=$OPTARG ;;
        k) KNEE=$OPTARG ;;
        s) SECS=$OPTARG ;;
        S) SETTLE=$OPTARG ;;
        x) MULTS=$OPTARG ;;
        n) CHARGING=0 ;;
        c) CALLERS=$OPTARG ;;
        e) CALLEES=$OPTARG ;;
        H) HOLD=$OPTARG ;;
        *) sed -n '2,40p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
SEARCH=("$@")
case $KIND in
    reg) [ ${#SEARCH[@]} -eq 0 ] && SEARCH=(200 300 400 500 600 800 1000 1200) ;;
    call) [ ${#SEARCH[@]} -eq 0 ] && SEARCH=(100 150 200 250 300 400 500 600) ;;
    *) echo "bench: -t reg or -t call" >&2; exit 2 ;;
esac
[ -n "$KNEE" ] && SEARCH=()
bench_need "test" sipp jq curl ss flock
PCSCF=127.0.0.10:5060
FUNCS=(pcscf icscf scscf hss ocs)
declare -A ADDR=([pcscf]=127.0.0.10 [icscf]=127.0.0.20 [scscf]=127.0.0.30 [hss]=127.0.0.40
                 [ocs]=127.0.0.80)

# bulk users: registrations take fresh ones at every step (the largest search rate bounds
# the zero-failure rate); calls take CALLERS + CALLEES
max_mult=$(printf '%s\n' $MULTS | sort -g | tail -n 1)
if [ "$KIND" = reg ]; then
    top=${KNEE:-$(printf '%s\n' "${SEARCH[@]}" | sort -g | tail -n 1)}
    BULK=0
    for r in "${SEARCH[@]}"; do BULK=$((BULK + r * SECS)); done
    for m in $MULTS; do BULK=$((BULK + ${m%.*} * top * SECS + top * SECS)); done
else
    BULK=$((CALLERS + CALLEES))
fi

bench_init overload
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80
CHG_TEXT=off
[ "$CHARGING" = 1 ] && CHG_TEXT=on
bench_log "overload benchmark: $KIND, ${SECS}s per step, multiples $MULTS, charging $CHG_TEXT," \
    "$BULK bulk users, load $(loadavg)"
[ -n "${BENCH_LOG_LEVEL:-}" ] && export IMS_LOG_LEVEL=$BENCH_LOG_LEVEL
export IMS_PCSCF_MAX_BINDINGS=$((BULK + 1000))
# the UEs of a step (or the callees behind one answering sipp) share one address: no bound
# per source address (pcscf.max_bindings_per_source)
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
[ "$CHARGING" = 0 ] && export IMS_CHARGING_CDF="" IMS_CHARGING_OCS=""
bench_lab_start "$BULK"
bench_log "lab started (run/bench-overload/lab)"
declare -A PIDS=()
for d in "${FUNCS[@]}"; do PIDS[$d]=$(pid_of_daemon $d); done

rtd_list() {   # FILE... RTD: the samples (ms) of that rtd, one a line
    local rtd=${!#}
    awk -F';' -v r="$rtd" 'FNR > 1 && $3 == r { print $2 }' "${@:1:$#-1}" 2>/dev/null
}

pct_of() {   # PERCENTILE [OFFSET_MS]: of numbers on stdin -> value (0 when none)
    sort -g | awk -v p="$1" -v o="${2:-0}" '{ v[NR] = $1 - o }
        END { if (!NR) { print 0; exit } i = int(NR * p / 100); if (i < 1) i = 1; printf "%.0f\n", v[i] }'
}

# ---- one step of registrations: sets S_* ----
next_user=1
reg_step() {   # RATE DIR
    local rate=$1 dir=$2 n=$(($1 * SECS)) ue
    mkdir -p "$dir"
    { echo SEQUENTIAL; seq -f 'user%05g' "$next_user" $((next_user + n - 1)); } >"$dir/users.csv"
    next_user=$((next_user + n))
    ue=127.0.0.$((110 + (STEP % 40)))
    (cd "$dir" && exec sipp -sf "$BENCH_SCEN/ovl_reg.xml" -t un -i "$ue" -p 5070 \
        -inf users.csv -r "$rate" -m "$n" -l $((rate * 10 + 1000)) -max_socket 15000 \
        -key domain "$BENCH_REALM" -key expires 3600 -recv_timeout 10000 \
        -auth_uri "$BENCH_REALM" -timeout $((SECS + 120))s -nostdin -trace_stat -fd 1 -stf stat.csv -trace_rtt \
        -rtt_freq 1 -trace_err -error_file errors.log "$PCSCF" >sipp.out 2>&1) &
    SIPP_PIDS=($!)
    S_OFFERED=$n
    wait_step
    local rtt=("$dir"/ovl_reg_*_rtt.csv)
    S_DONE=$(rtd_list "${rtt[@]}" 1 | wc -l)
    S_503=$(rtd_list "${rtt[@]}" 2 | wc -l)
    S_P50=$(rtd_list "${rtt[@]}" 1 | pct_of 50 20)
    S_P99=$(rtd_list "${rtt[@]}" 1 | pct_of 99 20)
    S_P99_503=$(rtd_list "${rtt[@]}" 2 | pct_of 99)
    S_FAILED=$(sipp_stat "$dir/stat.csv" 'FailedCall(C)')
    S_RETRANS=$(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')
}

# ---- calls ----
user() { bench_user "$1"; }

call_step() {   # RATE DIR
    local rate=$1 dir=$2 m=$(( $1 * SECS / CALLERS )) k
    SIPP_PIDS=()
    for ((k = 0; k < CALLERS; k++)); do
        mkdir -p "$dir/caller$k"
        (cd "$dir/caller$k" && exec sipp -sf "$BENCH_SCEN/ovl_call_uac.xml" -t u1 \
            -i "127.0.0.$((110 + k))" -p 5070 -inf "$BENCH_RUN/targets-$k.csv" \
            -key domain "$BENCH_REALM" -key from "$(user $((k + 1)))" -r "$rate" \
            -rp $((CALLERS * 1000)) -m "$m" -l $((rate * 10 + 1000)) -d "$HOLD" \
            -recv_timeout 10000 -timeout $((SECS + 120))s -nostdin -trace_stat -fd 1 \
            -stf stat.csv -trace_rtt -rtt_freq 1 -trace_err -error_file errors.log \
            "$PCSCF" >sipp.out 2>&1) &
        SIPP_PIDS+=($!)
    done
    S_OFFERED=$((m * CALLERS))
    wait_step
    local rtt=("$dir"/caller*/ovl_call_uac_*_rtt.csv)
    S_DONE=$(rtd_list "${rtt[@]}" 3 | wc -l)
    S_503=$(rtd_list "${rtt[@]}" 4 | wc -l)
    S_P50=$(rtd_list "${rtt[@]}" 1 | pct_of 50)
    S_P99=$(rtd_list "${rtt[@]}" 1 | pct_of 99)
    S_P99_503=$(rtd_list "${rtt[@]}" 4 | pct_of 99)
    S_FAILED=0 S_RETRANS=0
    for ((k = 0; k < CALLERS; k++)); do
        S_FAILED=$((S_FAILED + $(sipp_stat "$dir/caller$k/stat.csv" 'FailedCall(C)')))
        S_RETRANS=$((S_RETRANS + $(sipp_stat "$dir/caller$k/stat.csv" 'Retransmissions(C)')))
    done
}

# ---- measurements around a step ----
declare -A C0=() C1=() D0=()
# one line per CSCF and second into the step's metrics.txt: the admission rate (0: not
# limited), the smoothed queueing delay (ms), new requests refused so far, what it asks of
# its clients (RFC 7339 loss, the most asked of one) and what its next hops ask of it
sample_admission() {   # FILE SECONDS_INTO_STEP
    local f
    for f in pcscf icscf scscf; do
        curl -s --max-time 1 "http://${ADDR[$f]}:8080/metrics" | awk -v f="$f" -v t="$2" '
            /^ims_sip_admission_rate / { r = $2 } /^ims_sip_queue_delay_seconds / { d = $2 }
            /^ims_sip_overload_refused_total/ { n += $2 } /^ims_sip_oc_loss_percent / { l = $2 }
            /^ims_sip_oc_downstream_loss_percent / { o = $2 }
            END { printf "%s %s rate=%d delay_ms=%.1f refused=%d asks=%d%% asked=%d%%\n", t, f, r, d * 1000, n, l, o }'
    done >>"$1"
}

wait_step() {   # waits for SIPP_PIDS, sampling CPU before and (last) during them
    local p f alive next=$SECONDS
    for f in "${FUNCS[@]}"; do C1[$f]=${C0[$f]}; done
    T1=$T0
    while :; do
        alive=0
        for p in "${SIPP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 1 ] || break
        T1=$(date +%s.%N)
        for f in "${FUNCS[@]}"; do C1[$f]=$(cpu_ticks "${PIDS[$f]}"); done
        if [ $SECONDS -ge $next ]; then
            sample_admission "$STEP_DIR/metrics.txt" $((SECONDS - STEP_T0))
            next=$((SECONDS + 1))
        fi
        sleep 0.5
    done
    for p in "${SIPP_PIDS[@]}"; do wait "$p"; done
}

STEP=0
RESULTS=()
run_step() {   # RATE PHASE ("search" or "x<mult>"): one step, its line in RESULTS
    local rate=$1 phase=$2 dir f cpu drops verdict why
    STEP=$((STEP + 1))
    dir=$BENCH_RUN/step$STEP-$phase-$rate
    STEP_DIR=$dir STEP_T0=$SECONDS
    mkdir -p "$dir"
    for f in pcscf icscf scscf; do D0[$f]=$(udp_drops "${ADDR[$f]}" 5060); done
    for f in "${FUNCS[@]}"; do C0[$f]=$(cpu_ticks "${PIDS[$f]}"); done
    T0=$(date +%s.%N)
    if [ "$KIND" = reg ]; then reg_step "$rate" "$dir"; else call_step "$rate" "$dir"; fi
    drops=""
    for f in pcscf icscf scscf; do drops+="$f=$(($(udp_drops "${ADDR[$f]}" 5060) - D0[$f])),"; done
    cpu=""
    for f in "${FUNCS[@]}"; do
        cpu+=$(awk -v a="${C0[$f]}" -v b="${C1[$f]}" -v hz="$BENCH_HZ" -v t0="$T0" -v t1="$T1" \
            -v f="$f" 'BEGIN { printf " %s=%.0f%%", f, (t1 > t0 ? 100 * (b - a) / hz / (t1 - t0) : 0) }')
    done
    S_RATE=$((S_DONE / SECS))
    S_REST=$((S_OFFERED - S_DONE))
    if [ "$phase" = search ]; then
        verdict=no
        [ "$S_FAILED" = 0 ] && [ "$S_503" = 0 ] && [ "$S_DONE" -eq "$S_OFFERED" ] &&
            [ "$S_RATE" -ge $((rate * 95 / 100)) ] && verdict=held
        why=-
    else
        verdict=PASS why=""
        [ "$S_RATE" -lt $((KNEE * 90 / 100)) ] && why+="completed<90%,"
        [ "$S_P99" -ge 500 ] && why+="p99>=500ms,"
        [ $((S_503 * 100)) -lt $((S_REST * 95)) ] && why+="rest-not-503,"
        [ "$S_503" -gt 0 ] && [ "$S_P99_503" -ge 500 ] && why+="503-p99>=500ms,"
        [ -n "$why" ] && verdict=FAIL
        why=${why%,}
        [ -z "$why" ] && why=-
    fi
    RESULTS+=("$STEP $phase $rate $S_OFFERED $S_DONE $S_RATE $S_503 $S_P99_503 $S_FAILED $S_P50 $S_P99 $S_RETRANS ${drops%,} $verdict $why$cpu")
    bench_log "step $STEP ($phase): offered $rate/s ($S_OFFERED), completed $S_DONE ($S_RATE/s," \
        "p99 $S_P99 ms), 503 $S_503 (p99 $S_P99_503 ms), failed $S_FAILED, retransmissions" \
        "$S_RETRANS, drops ${drops%,}: $verdict $why, load $(loadavg)"
    [ "$S_FAILED" = 0 ] || head -c 600 "$dir"/errors.log "$dir"/caller0/errors.log 2>/dev/null >&2
    LAST_VERDICT=$verdict
}

if [ "$KIND" = call ]; then
    bench_calls_setup "$CALLERS" "$CALLEES" || exit 1
    bench_log "registered $CALLEES callees and $CALLERS callers"
fi

# ---- the zero-failure rate ----
if [ -z "$KNEE" ]; then
    KNEE=0
    for r in "${SEARCH[@]}"; do
        run_step "$r" search
        [ "$LAST_VERDICT" = held ] || break
        KNEE=$r
        sleep "$SETTLE"
    done
    if [ "$KNEE" = 0 ]; then
        echo "bench: not even the first rate (${SEARCH[0]}/s) held: no zero-failure rate" >&2
        KNEE=${SEARCH[0]}
    fi
    bench_log "zero-failure rate of this run: $KNEE/s"
    sleep "$SETTLE"
fi

# ---- 2x, 4x ----
for m in $MULTS; do
    run_step "$(awk -v k="$KNEE" -v m="$m" 'BEGIN { printf "%d", k * m }')" "x$m"
    sleep "$SETTLE"
done

echo
echo "overload benchmark: $KIND through P-CSCF, I-CSCF, S-CSCF (UDP, Digest), charging $CHG_TEXT"
echo "date $(date -u +%FT%TZ), $(nproc) cores, commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null), log level ${IMS_LOG_LEVEL:-info (lab configuration)}, load average at the end $(loadavg), $(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
echo "zero-failure rate: $KNEE/s; ${SECS} s per step; latency: $([ "$KIND" = reg ] && echo 'first REGISTER to 200 (think time out)' || echo 'INVITE to 180')"
echo "goal per overload step: completed/s >= $((KNEE * 90 / 100)), completed p99 < 500 ms, >= 95 % of the rest 503, 503 p99 < 500 ms"
printf '%-4s %-7s %-6s %-7s %-6s %-6s %-6s %-7s %-6s %-6s %-6s %-7s %-24s %-7s %-24s %s\n' step phase \
    rate offered done done/s 503 503p99 failed p50 p99 retrans 'udp drops' verdict why "cpu (% of a core)"
for r in "${RESULTS[@]}"; do
    read -r a b c d e f g h i j k l m n o rest <<<"$r"
    printf '%-4s %-7s %-6s %-7s %-6s %-6s %-6s %-7s %-6s %-6s %-6s %-7s %-24s %-7s %-24s %s\n' \
        "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$m" "$n" "$o" "$rest"
done
echo
echo "admission metrics at the end (refused for overload, by daemon and reason):"
for f in pcscf icscf scscf; do
    curl -s --max-time 5 "http://${ADDR[$f]}:8080/metrics" |
        awk -v f="$f" '/^ims_sip_overload_refused_total/ && $2 > 0 { printf "  %s %s %s\n", f, $1, $2 }'
done
echo "the CSCFs' admission state each second of each step: $BENCH_RUN/step*/metrics.txt"
echo "sipp runs, rtt and stat files: $BENCH_RUN/"
