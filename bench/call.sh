#!/usr/bin/env bash
# bench/call.sh - calls per second through the whole chain, their set-up latency, the CPU of
# each daemon per call.
#
#   bench/call.sh [-c CALLERS] [-e CALLEES] [-s SECONDS] [-H HOLD_MS] [-S SETTLE_S] [-a] [-n]
#                 [RATE...]
#       default: 4 callers, 2000 callees, 20 s per step, 500 ms hold,
#       rates 200 400 600 800 1000 1200 1600; stops after the first step that does not
#       hold, unless -a. The lab charges every call as configured (Rf from the P-CSCF and
#       S-CSCF to the OCS's CDF: 8 ACRs a call); -n turns charging off (charging.cdf and
#       charging.ocs empty), to measure the session path alone.
#
# Every call: caller UE -> P-CSCF 127.0.0.10 -> S-CSCF (originating) -> I-CSCF (LIR at the
# HSS) -> S-CSCF (terminating) -> P-CSCF -> callee UE: INVITE (SDP), 100, 180, 200, ACK,
# then after HOLD_MS a BYE and its 200 along the route set (P-CSCF and S-CSCF record-route).
#
# Starts its own lab (run/bench-call/lab, the lab configuration: log level info unless
# BENCH_LOG_LEVEL says otherwise) with CALLERS + CALLEES bulk users.
# The callees (user CALLERS+1...) register from the sockets of two answering sipps
# (127.0.0.150:5080 and 127.0.0.151:5080, half each), which then answer for all of them:
# INVITE -> 180, 20 ms, 200 (PEERS.md: 180 and 200 back to back can be reordered by a
# multi-worker proxy). Each caller (user00001...) is one sipp with one socket
# (127.0.0.110+k:5070) and one registered identity: the P-CSCF knows a UE by its source
# ip:port, so the caller must send from where it registered. Every caller calls the callees
# in turn (each from another starting point), at RATE/CALLERS calls/s, for SECONDS.
#
# Measured per step: calls completed, the rate reached, INVITE -> 180 latency (p50, p99,
# max; sipp measures whole milliseconds), 180 -> 200 (the callee's 20 ms taken out), failed
# calls, retransmissions, datagrams the kernel dropped at each CSCF's SIP socket, CPU of
# each daemon (% of one core, CPU time per call) and of the sipps. A step "holds" when no
# call failed and the rate reached is within 5 % of the target. Memory: resident size and
# malloc's bytes in use of each daemon before the first step and SETTLE_S (default 40)
# seconds after the last (INVITE transactions linger 64*T1 = 32 s after their 2xx), which
# shows what the calls left behind.
#
# BENCH_PERF=1 records a CPU profile of the daemons (perf record -g, 5 s, from
# BENCH_PERF_AT seconds into the step, default 2) in each step's folder.
#
# Needs sipp, jq, curl, ss, flock. Takes the lab lock (/tmp/ims-lab.lock) like the e2e
# tests, refuses to run when the lab addresses are in use, stops everything it started.
# Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"

CALLERS=4
CALLEES=2000
SECS=20
HOLD=500
ALL=0
SETTLE=40
CHARGING=1
while getopts "c:e:s:H:S:anh" o; do
    case $o in
        c) CALLERS=$OPTARG ;;
        e) CALLEES=$OPTARG ;;
        s) SECS=$OPTARG ;;
        H) HOLD=$OPTARG ;;
        a) ALL=1 ;;
        S) SETTLE=$OPTARG ;;
        n) CHARGING=0 ;;
        *) sed -n '2,40p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(200 400 600 800 1000 1200 1600)
bench_need "test" sipp jq curl ss flock
[ "$CALLERS" -ge 1 ] && [ "$CALLERS" -le 80 ] || { echo "bench: 1..80 callers" >&2; exit 2; }
TOTAL=$((CALLERS + CALLEES))
PCSCF=127.0.0.10:5060
UAS_ADDRS=(127.0.0.150 127.0.0.151)
UAS_PORT=5080
CALLER_PORT=5070

bench_init call
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80
CHG_TEXT=off
[ "$CHARGING" = 1 ] && CHG_TEXT="on (8 ACRs a call to the CDF)"
bench_log "$CALLERS callers, $CALLEES callees, ${SECS}s per step, hold ${HOLD} ms," \
    "charging $CHG_TEXT, load $(loadavg)"

[ -n "${BENCH_LOG_LEVEL:-}" ] && export IMS_LOG_LEVEL=$BENCH_LOG_LEVEL
export IMS_PCSCF_MAX_BINDINGS=$((TOTAL + 1000))
# the UEs of a step (or the callees behind one answering sipp) share one address: no bound
# per source address (pcscf.max_bindings_per_source)
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
if [ "$CHARGING" = 0 ]; then
    export IMS_CHARGING_CDF="" IMS_CHARGING_OCS=""
fi
bench_lab_start "$TOTAL"
bench_log "lab started with $TOTAL bulk users (run/bench-call/lab)"
FUNCS=(pcscf icscf scscf hss ocs)
declare -A PIDS=()
for d in "${FUNCS[@]}"; do PIDS[$d]=$(pid_of_daemon $d); done

any_alive() {   # $@ pids: is one of them still running?
    local p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

user() {   # $1 number -> userNNNNN (a line)
    printf 'user%05d\n' "$1"
}

register() {   # $1 name $2 address $3 port $4 csv (users): sipp registering them from one socket
    local dir=$BENCH_RUN/reg-$1 n
    mkdir -p "$dir"
    n=$(($(wc -l <"$4") - 1))
    (cd "$dir" && sipp -sf "$BENCH_SCEN/reg_once.xml" -t u1 -i "$2" -p "$3" -inf "$4" \
        -r 200 -m "$n" -key domain "$BENCH_REALM" -key expires 3600 -recv_timeout 10000 \
        -auth_uri "$BENCH_REALM" \
        -timeout 300s -nostdin -trace_err -error_file errors.log "$PCSCF" >sipp.out 2>&1)
}

# ---- registration of the callees (from the answering sockets) and of the callers ----
half=$(( (CALLEES + 1) / 2 ))
for i in 0 1; do
    {
        echo SEQUENTIAL
        for ((u = CALLERS + 1 + i * half; u <= CALLERS + (i + 1) * half && u <= TOTAL; u++)); do
            user "$u"
        done
    } >"$BENCH_RUN/callees-$i.csv"
    register "uas$i" "${UAS_ADDRS[i]}" "$UAS_PORT" "$BENCH_RUN/callees-$i.csv" ||
        { echo "bench: the callees of ${UAS_ADDRS[i]} did not all register:" >&2
          head -n 20 "$BENCH_RUN/reg-uas$i/errors.log" >&2; exit 1; }
done
for ((k = 0; k < CALLERS; k++)); do
    printf 'SEQUENTIAL\n%s\n' "$(user $((k + 1)))" >"$BENCH_RUN/caller-$k.csv"
    register "caller$k" "127.0.0.$((110 + k))" "$CALLER_PORT" "$BENCH_RUN/caller-$k.csv" ||
        { echo "bench: caller $k did not register" >&2; exit 1; }
    # the callees in turn, each caller from its own starting point
    {
        echo SEQUENTIAL
        seq $((CALLERS + 1)) "$TOTAL" | awk -v n="$CALLEES" -v k="$k" -v c="$CALLERS" \
            '{ a[NR - 1] = $1 } END { s = int(k * n / c); for (i = 0; i < n; i++) printf "user%05d\n", a[(s + i) % n] }'
    } >"$BENCH_RUN/targets-$k.csv"
done
bench_log "registered $CALLEES callees and $CALLERS callers"

# ---- the answering UEs ----
UAS_PIDS=()
for i in 0 1; do
    mkdir -p "$BENCH_RUN/uas$i"
    (cd "$BENCH_RUN/uas$i" && exec sipp -sf "$BENCH_SCEN/call_uas.xml" -t u1 -i "${UAS_ADDRS[i]}" \
        -p "$UAS_PORT" -nostdin -trace_stat -fd 1 -stf stat.csv -trace_err \
        -error_file errors.log >sipp.out 2>&1) &
    UAS_PIDS+=($!)
    bench_at_exit "kill ${UAS_PIDS[i]} 2>/dev/null; wait ${UAS_PIDS[i]} 2>/dev/null"
done
sleep 0.5

declare -A MEM0=() HEAP0=() ADDR=([pcscf]=127.0.0.10 [icscf]=127.0.0.20 [scscf]=127.0.0.30
                                    [hss]=127.0.0.40 [ocs]=127.0.0.80)
for f in "${FUNCS[@]}"; do MEM0[$f]=$(rss_kib "${PIDS[$f]}"); HEAP0[$f]=$(heap_kib "${ADDR[$f]}"); done
RESULTS=()
step=0
for rate in "${RATES[@]}"; do
    step=$((step + 1))
    m=$((rate * SECS / CALLERS))
    declare -A C0=() C1=() D0=()
    for f in pcscf icscf scscf; do D0[$f]=$(udp_drops "${ADDR[$f]}" 5060); done
    for f in "${FUNCS[@]}"; do C0[$f]=$(cpu_ticks "${PIDS[$f]}"); done
    C0[uas]=$(cpu_ticks "${UAS_PIDS[@]}")
    t0=$(date +%s.%N)
    pids=()
    for ((k = 0; k < CALLERS; k++)); do
        dir=$BENCH_RUN/step$step/caller$k
        mkdir -p "$dir"
        (cd "$dir" && exec sipp -sf "$BENCH_SCEN/call_uac.xml" -t u1 -i "127.0.0.$((110 + k))" \
            -p "$CALLER_PORT" -inf "$BENCH_RUN/targets-$k.csv" -key domain "$BENCH_REALM" \
            -key from "$(user $((k + 1)))" -r "$rate" -rp $((CALLERS * 1000)) -m "$m" \
            -l $((rate * 10 + 1000)) -d "$HOLD" -recv_timeout 10000 -timeout $((SECS + 120))s \
            -nostdin -trace_stat -fd 1 -stf stat.csv -trace_rtt -rtt_freq 1 -trace_err \
            -error_file errors.log "$PCSCF" >sipp.out 2>&1) &
        pids+=($!)
    done
    # BENCH_PERF=1: a CPU profile of the daemons (perf, call graphs) BENCH_PERF_AT (2) s into
    # the step, for 5 s
    if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
        (sleep "${BENCH_PERF_AT:-2}"; perf record -F 999 -g -p "$(IFS=,; echo "${PIDS[*]}")" \
            -o "$BENCH_RUN/step$step/perf.data" -- sleep 5 >/dev/null 2>&1) &
    fi
    # the last CPU sample before the callers end (their ticks vanish with them)
    declare -A UAC=()
    while any_alive "${pids[@]}"; do
        t1=$(date +%s.%N)
        for f in "${FUNCS[@]}"; do C1[$f]=$(cpu_ticks "${PIDS[$f]}"); done
        C1[uas]=$(cpu_ticks "${UAS_PIDS[@]}")
        for p in "${pids[@]}"; do
            kill -0 "$p" 2>/dev/null && UAC[$p]=$(cpu_ticks "$p")
        done
        sleep 0.5
    done
    C1[uac]=0
    for p in "${!UAC[@]}"; do C1[uac]=$((C1[uac] + UAC[$p])); done
    unset UAC
    rcs=0
    for p in "${pids[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
    drops=""
    for f in pcscf icscf scscf; do drops+="$f=$(($(udp_drops "${ADDR[$f]}" 5060) - D0[$f])),"; done
    bench_callers_sum "$BENCH_RUN/step$step" "$CALLERS" call_uac 20
    total=$((m * CALLERS))
    held=no
    if [ "$rcs" = 0 ] && [ "$failed" = 0 ] && [ "$done1" = "$total" ] &&
        [ "$rate_sum" -ge $((rate * 95 / 100)) ]; then
        held=yes
    fi
    cpu=""
    for f in "${FUNCS[@]}"; do
        cpu+=$(awk -v a="${C0[$f]}" -v b="${C1[$f]}" -v hz="$BENCH_HZ" -v t0="$t0" -v t1="$t1" \
            -v n="$total" -v f="$f" 'BEGIN { printf " %s=%.0f%%/%.0fus", f, 100 * (b - a) / hz / (t1 - t0), (b - a) / hz * 1e6 / n }')
    done
    cpu+=$(awk -v a="${C0[uas]}" -v b="${C1[uas]}" -v c="${C1[uac]}" -v hz="$BENCH_HZ" -v t0="$t0" \
        -v t1="$t1" 'BEGIN { printf " sipp=%.0f%%", 100 * (b - a + c) / hz / (t1 - t0) }')
    RESULTS+=("$step $rate $done1 $rate_sum $p50_180 $p99_180 $max_180 $p50_200 $p99_200 $failed $retrans ${drops%,} $held$cpu")
    bench_log "step $step: $rate/s: $done1 of $total calls at $rate_sum/s, INVITE->180 p50 $p50_180 p99 $p99_180 ms, failed $failed, retransmissions $retrans, drops ${drops%,}, load $(loadavg)"
    [ "$failed" = 0 ] || { head -c 1000 "$BENCH_RUN"/step$step/caller0/errors.log; echo; } >&2
    unset C0 C1 D0
    if [ "$held" = no ] && [ "$ALL" = 0 ]; then
        bench_log "step $step did not hold $rate/s: no higher rate tried (-a tries them all)"
        break
    fi
    # let the last dialogs and transactions end before the next step
    sleep 3
done
bench_log "waiting ${SETTLE}s for the last transactions to end before reading the memory"
sleep "$SETTLE"
declare -A MEM1=() HEAP1=()
for f in "${FUNCS[@]}"; do MEM1[$f]=$(rss_kib "${PIDS[$f]}"); HEAP1[$f]=$(heap_kib "${ADDR[$f]}"); done
uas_failed=0
for i in 0 1; do
    uas_failed=$((uas_failed + $(sipp_stat "$BENCH_RUN/uas$i/stat.csv" 'FailedCall(C)')))
done

echo
echo "call benchmark: caller -> P-CSCF -> S-CSCF -> I-CSCF -> S-CSCF -> P-CSCF -> callee, UDP,"
echo "$CALLERS callers, $CALLEES callees, ${SECS} s per step, hold $HOLD ms, charging $CHG_TEXT"
echo "date $(date -u +%FT%TZ), $(nproc) cores, commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null), log level ${IMS_LOG_LEVEL:-info (lab configuration)}, load average at the end $(loadavg), $(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
echo "latency: INVITE -> 180 at the caller; 180 -> 200 without the callee's 20 ms (sipp: whole ms)"
printf '%-4s %-6s %-6s %-6s %-8s %-8s %-8s %-8s %-8s %-6s %-7s %-22s %-5s %s\n' step target 'done' \
    per_s 180_p50 180_p99 180_max 200_p50 200_p99 failed retrans 'udp drops' held \
    "cpu (% of a core / CPU per call)"
for r in "${RESULTS[@]}"; do
    read -r a b c d e f g h i j k l m rest <<<"$r"
    printf '%-4s %-6s %-6s %-6s %-8s %-8s %-8s %-8s %-8s %-6s %-7s %-22s %-5s %s\n' "$a" "$b" \
        "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$m" "$rest"
done
echo "answering UEs: $uas_failed failed calls (counted when sipp stops them at the end)"
echo
echo "memory (KiB) before the first and ${SETTLE} s after the last step: resident (VmRSS), heap in use"
printf '%-8s %-10s %-10s %-11s %-11s\n' function rss_before rss_after heap_before heap_after
for f in "${FUNCS[@]}"; do
    printf '%-8s %-10s %-10s %-11s %-11s\n' "$f" "${MEM0[$f]}" "${MEM1[$f]}" "${HEAP0[$f]}" \
        "${HEAP1[$f]}"
done
echo
echo "sipp runs, rtt and stat files: $BENCH_RUN/"
