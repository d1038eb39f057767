#!/usr/bin/env bash
# bench/compare.sh - the project's P-, I- and S-CSCF against Kamailio's IMS P-, I- and
# S-CSCF, both with the project's HSS behind them (Cx over Diameter), in ONE run: the same
# sipp load on each chain in turn, step by step, and the ratio per workload.
#
#   bench/compare.sh [-w WORKLOADS] [-R "REG_RATES"] [-L "CALL_RATES"] [-s SECONDS]
#                    [-c CALLERS] [-e CALLEES] [-H HOLD_MS] [-k KAM_CHILDREN] [-T MS] [-C] [-O]
#                    [-a]
#       default: -w "reg aka call" -R "200 400 600 800" -L "100 200 300 400" -s 10 -c 4
#       -e 500 -H 500 -k 4; every rate of a workload until both chains have failed a step
#       (-a: every rate all the same). -C: our chain charges (Rf from the P- and S-CSCF to
#       the OCS's CDF, as the lab is configured); default off, as Kamailio's chain has no
#       charging here. -O: our admission control off (overload.enabled = no): Kamailio's
#       chain has none and queues where ours answers 503 once the queueing delay of its
#       loop passes overload.target_delay_ms (20 ms), which a machine shared with other
#       work reaches at low rates. -T: our sip.t1x64_ms, how long our transactions live
#       (default 5000: Kamailio's configurations here give up an unanswered request after
#       5 s, tm's fr_timer, and keep an answered one 5 s, its wait timer; 32000 is RFC 3261's
#       and our lab's)
#
# Workloads (each step offers RATE/s for SECONDS to one chain, then the same to the other;
# the chain that goes first alternates from step to step so that a drift of the shared
# machine weighs on both):
#   reg    registrations with SIP Digest (scenarios/cmp_reg.xml): REGISTER -> 401 -> 20 ms ->
#          REGISTER -> 200, fresh bulk users every step, one UDP socket per UE (-t un); a
#          second challenge (Kamailio's when the answer beats the stored vector) is answered
#   aka    the same with IMS-AKA (scenarios/cmp_reg_aka.xml; sipp's RES bug makes ~3 % of
#          the vectors fail with 403: those registrations start again, up to 3 tries)
#   call   calls (scenarios/cmp_call_uac.xml, call_uas.xml): CALLERS registered callers
#          call CALLEES registered callees in turn: INVITE, 180, 200, ACK, HOLD_MS, BYE, 200
#          (a 180 that comes after its 200 is taken, not a failure: UDP and proxies with
#          several workers may reorder them, and a UE takes the 200 all the same)
#
# Chains (LAB.md addresses; Kamailio's configurations are tests/interop/kamailio with the
# log level at warnings, KAM_CHILDREN UDP workers each):
#   ours  UE -> P-CSCF 127.0.0.10 -> I-CSCF 127.0.0.20 -> S-CSCF 127.0.0.30; HSS 127.0.0.40
#         (log level warn, like Kamailio's, unless BENCH_LOG_LEVEL says otherwise)
#   kam   UE -> P-CSCF 127.0.1.10 -> I-CSCF 127.0.1.20 -> S-CSCF 127.0.1.30; the same HSS
# Each chain has its own UE addresses and its own users (the HSS remembers which S-CSCF
# serves a user).
#
# Per step and chain: offered rate, attempts, completed, completed rate, failures,
# retransmissions, latency percentiles (registration: first REGISTER to 200 without the
# 20 ms think time; call: INVITE to 200 without the callee's 20 ms between 180 and 200), CPU (% of a core) and memory of every daemon
# (RSS of ours, Pss summed over a Kamailio's processes) at the end of the step, and the
# CPU of sipp. A step holds when nothing failed, every attempt completed and the completed
# rate is within 5 % of the offered one. The zero-failure rate of a chain for a workload is
# the highest completed rate of a step that held; the ratio is ours / Kamailio's.
#
# BENCH_PERF=DAEMON (e.g. pcscf): a CPU profile of that daemon of our chain (perf record
# from 2 s into each of our steps for SECONDS-3 s; call graphs by frame pointers, or by
# DWARF with BENCH_PERF_CG=dwarf) in each step's folder: perf.data and perf-top.txt (the
# top symbols, perf report --no-children); needs linux-perf (mk/deps.sh bench).
#
# Writes run/bench-compare/results.tsv, report.txt (printed) and report.html (inline SVG
# plots of latency and CPU against the offered load) via bench/compare_report.py.
# Runs in a network namespace of its own (bench_netns) so that it clashes neither with the
# lab nor with tests; takes the lab lock there. Needs sipp, kamailio (kamailio-ims-modules),
# jq, curl, python3, root. Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"
bench_netns "$0" "$@"

WORKLOADS="reg aka call"
REG_RATES="200 400 600 800"
CALL_RATES="100 200 300 400"
SECS=10
CALLERS=4
CALLEES=500
HOLD=500
KAM_CHILDREN=4
CHARGING=0
ADMISSION=1
ALL=0
T1X64=5000
while getopts "w:R:L:s:c:e:H:k:T:COah" o; do
    case $o in
        w) WORKLOADS=$OPTARG ;;
        R) REG_RATES=$OPTARG ;;
        L) CALL_RATES=$OPTARG ;;
        s) SECS=$OPTARG ;;
        c) CALLERS=$OPTARG ;;
        e) CALLEES=$OPTARG ;;
        H) HOLD=$OPTARG ;;
        k) KAM_CHILDREN=$OPTARG ;;
        T) T1X64=$OPTARG ;;
        C) CHARGING=1 ;;
        O) ADMISSION=0 ;;
        a) ALL=1 ;;
        *) sed -n '2,50p' "$0"; exit 2 ;;
    esac
done
for w in $WORKLOADS; do
    case $w in reg|aka|call) ;; *) echo "bench: unknown workload $w (reg, aka, call)" >&2; exit 2 ;; esac
done
[ "$CALLERS" -ge 1 ] && [ "$CALLERS" -le 8 ] || { echo "bench: 1..8 callers" >&2; exit 2; }
bench_need "bench" sipp kamailio jq curl ss flock python3
[ "$(id -u)" -eq 0 ] || { echo "bench: root needed (Kamailio's names in /etc/hosts)" >&2; exit 1; }

CHAINS=(ours kam)
declare -A P_CSCF=([ours]=127.0.0.10:5060 [kam]=127.0.1.10:5060)
declare -A UE_REG=([ours]=127.0.0.120 [kam]=127.0.0.170)   # registration UEs (-t un)
declare -A UE_AKA=([ours]=127.0.0.121 [kam]=127.0.0.171)
declare -A UE_CALLER=([ours]=110 [kam]=130)                 # 127.0.0.BASE+k:5070
declare -A UE_CALLEE=([ours]=150 [kam]=160)                 # 127.0.0.BASE+{0,1}:5080
declare -A FUNCS=([ours]="pcscf icscf scscf hss" [kam]="kam-pcscf kam-icscf kam-scscf hss")
[ "$CHARGING" = 1 ] && FUNCS[ours]+=" ocs"

# ---- users: each chain its own call parties, each step and chain its own fresh users ----
NEXT_USER=1
user_alloc() {   # $1 how many -> the first number (NEXT_USER moves on)
    ALLOC=$NEXT_USER
    NEXT_USER=$((NEXT_USER + $1))
}
steps_users=0
for w in $WORKLOADS; do
    [ "$w" = call ] && continue
    for r in $REG_RATES; do steps_users=$((steps_users + 2 * r * SECS)); done
done
TOTAL=$((2 * (CALLERS + CALLEES) + steps_users))
if [ $(( $(ulimit -Hn) - 200 )) -lt $((${REG_RATES##* } * SECS)) ]; then
    echo "bench: the largest registration step needs more sockets than open files allowed" >&2
    exit 2
fi

bench_init compare
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80 127.0.1.10 \
    127.0.1.20 127.0.1.30
CHG_TEXT=off
[ "$CHARGING" = 1 ] && CHG_TEXT="on (Rf from P- and S-CSCF)"
bench_log "workloads '$WORKLOADS', registrations '$REG_RATES'/s, calls '$CALL_RATES'/s," \
    "${SECS}s steps, charging of our chain $CHG_TEXT, $TOTAL bulk users, load $(loadavg)"

export IMS_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
export IMS_PCSCF_MAX_BINDINGS=$((TOTAL + 1000))
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
export IMS_SIP_T1X64_MS=$T1X64
[ "$CHARGING" = 0 ] && export IMS_CHARGING_CDF="" IMS_CHARGING_OCS=""
ADM_TEXT="on (503 past a 20 ms queueing delay)"
if [ "$ADMISSION" = 0 ]; then
    export IMS_OVERLOAD_ENABLED=no
    ADM_TEXT=off
fi
bench_lab_start "$TOTAL"
bench_log "our lab started with $TOTAL bulk users ($BENCH_RUN/lab)"
bench_hosts_add
bench_kam_start scscf "$KAM_CHILDREN" 2048
bench_kam_start icscf "$KAM_CHILDREN" 256
bench_kam_start pcscf "$KAM_CHILDREN" 1024 \
    -A "ICSCF_URI=\"sip:icscf-kam.$BENCH_REALM:5060\""
bench_kam_wait_hss || exit 1
sleep 1
declare -A PIDS=()
for d in pcscf icscf scscf hss ocs; do PIDS[$d]=$(pid_of_daemon $d); done
for d in pcscf icscf scscf; do PIDS[kam-$d]=$(bench_kam_pids $d | paste -sd' '); done
for d in "${!PIDS[@]}"; do
    [ -n "${PIDS[$d]}" ] || { echo "bench: $d is not running" >&2; exit 1; }
done
bench_log "Kamailio's P-, I- and S-CSCF up (pids ${PIDS[kam-pcscf]%% *}, ${PIDS[kam-icscf]%% *}, ${PIDS[kam-scscf]%% *})"

mem_of() {   # $1 function -> KiB (RSS of our single-process daemons, Pss sum for Kamailio)
    # shellcheck disable=SC2086
    case $1 in
        kam-*) pss_kib ${PIDS[$1]} ;;
        *) rss_kib "${PIDS[$1]}" ;;
    esac
}
cpu_of() {   # $1 function -> clock ticks
    # shellcheck disable=SC2086
    cpu_ticks ${PIDS[$1]}
}
any_alive() {   # $@ pids: is one of them still running?
    local p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

# $1 rtt files (a glob, quoted) $2 rtd $3 ms to subtract -> "count rate p50 p90 p99 max"
lat_stats() {
    # shellcheck disable=SC2086
    cat $1 2>/dev/null | awk -F';' -v rtd="$2" -v off="$3" '$3 == rtd { print $1, $2 - off }' |
        sort -k2,2g | awk '
        function at(q,  i) { i = int(NR * q); if (i < 1) i = 1; return v[i] }
        { t = $1; v[NR] = $2; if (NR == 1 || t < tmin) tmin = t; if (t > tmax) tmax = t }
        END {
            if (NR == 0) { print "0 0 0 0 0 0"; exit }
            span = (tmax - tmin) / 1000.0
            printf "%d %.0f %.1f %.1f %.1f %.1f\n", NR, (span > 0 ? (NR - 1) / span : 0),
                at(0.50), at(0.90), at(0.99), v[NR]
        }'
}

# ---- the call parties of each chain: callees behind two answering sipps, the callers ----
declare -A UAS_PIDS=() CALL_FIRST=()
calls_setup() {   # $1 chain
    local ch=$1 half=$(( (CALLEES + 1) / 2 )) i k u first
    user_alloc $((CALLERS + CALLEES))
    first=$ALLOC
    CALL_FIRST[$ch]=$first
    # shellcheck disable=SC2034 # read by bench_register_from (lib.sh)
    BENCH_PCSCF=${P_CSCF[$ch]}
    for i in 0 1; do
        {
            echo SEQUENTIAL
            for ((u = first + CALLERS + i * half; u < first + CALLERS + (i + 1) * half &&
                  u < first + CALLERS + CALLEES; u++)); do
                bench_user "$u"
            done
        } >"$BENCH_RUN/$ch-callees-$i.csv"
        bench_register_from "$ch-uas$i" "127.0.0.$((UE_CALLEE[$ch] + i))" 5080 \
            "$BENCH_RUN/$ch-callees-$i.csv" || return 1
    done
    for ((k = 0; k < CALLERS; k++)); do
        printf 'SEQUENTIAL\n%s\n' "$(bench_user $((first + k)))" >"$BENCH_RUN/$ch-caller-$k.csv"
        bench_register_from "$ch-caller$k" "127.0.0.$((UE_CALLER[$ch] + k))" 5070 \
            "$BENCH_RUN/$ch-caller-$k.csv" || return 1
        {
            echo SEQUENTIAL
            seq $((first + CALLERS)) $((first + CALLERS + CALLEES - 1)) |
                awk -v n="$CALLEES" -v k="$k" -v c="$CALLERS" '{ a[NR - 1] = $1 }
                    END { s = int(k * n / c); for (i = 0; i < n; i++) printf "user%05d\n", a[(s + i) % n] }'
        } >"$BENCH_RUN/$ch-targets-$k.csv"
    done
    local pids=()
    for i in 0 1; do
        mkdir -p "$BENCH_RUN/$ch-uas$i"
        (cd "$BENCH_RUN/$ch-uas$i" && exec sipp -sf "$BENCH_SCEN/call_uas.xml" -t u1 \
            -i "127.0.0.$((UE_CALLEE[$ch] + i))" -p 5080 -nostdin -trace_stat -fd 1 \
            -stf stat.csv -trace_err -error_file errors.log >sipp.out 2>&1) &
        pids+=($!)
        bench_at_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
    done
    UAS_PIDS[$ch]="${pids[*]}"
}

# ---- one step of one chain ----
# $1 workload $2 chain $3 rate $4 step: runs the load, appends a line to results.tsv, sets HELD
run_step() {
    local wl=$1 ch=$2 rate=$3 step=$4 dir=$BENCH_RUN/$1-step$4-$2 f k n m
    local -a sipps=()
    local -A C0=() C1=() SIPPC=()
    mkdir -p "$dir"
    for f in ${FUNCS[$ch]}; do C0[$f]=$(cpu_of "$f"); done
    C0[uas]=0
    [ "$wl" = call ] && C0[uas]=$(cpu_ticks ${UAS_PIDS[$ch]})
    case $wl in
        reg|aka)
            n=$((rate * SECS))
            user_alloc "$n"
            { echo SEQUENTIAL; seq -f 'user%05g' "$ALLOC" $((ALLOC + n - 1)); } >"$dir/users.csv"
            local scen=cmp_reg.xml ue=${UE_REG[$ch]}
            local -a extra=()
            if [ "$wl" = aka ]; then
                scen=cmp_reg_aka.xml ue=${UE_AKA[$ch]}
                extra=(-key aka_k bob-lab-key-0001 -key aka_op ims-lab-op-00001 -key aka_amf 80)
            fi
            (cd "$dir" && exec sipp -sf "$BENCH_SCEN/$scen" -t un -i "$ue" -p 5070 \
                -inf users.csv -r "$rate" -m "$n" -l $((rate * 10 + 1000)) \
                -max_socket $((n + 100)) -key domain "$BENCH_REALM" -key expires 3600 \
                "${extra[@]}" -auth_uri "$BENCH_REALM" -recv_timeout 10000 \
                -timeout $((SECS + 90))s -nostdin -trace_stat -fd 1 -stf stat.csv \
                -trace_rtt -rtt_freq 1 -trace_counts -trace_err -error_file errors.log \
                "${P_CSCF[$ch]}" >sipp.out 2>&1) &
            sipps=($!) ;;
        call)
            n=$((rate * SECS / CALLERS * CALLERS))
            m=$((rate * SECS / CALLERS))
            for ((k = 0; k < CALLERS; k++)); do
                mkdir -p "$dir/caller$k"
                (cd "$dir/caller$k" && exec sipp -sf "$BENCH_SCEN/cmp_call_uac.xml" -t u1 \
                    -i "127.0.0.$((UE_CALLER[$ch] + k))" -p 5070 \
                    -inf "$BENCH_RUN/$ch-targets-$k.csv" -key domain "$BENCH_REALM" \
                    -key from "$(bench_user $((CALL_FIRST[$ch] + k)))" -r "$rate" \
                    -rp $((CALLERS * 1000)) -m "$m" -l $((rate * 10 + 1000)) -d "$HOLD" \
                    -recv_timeout 10000 -timeout $((SECS + 90))s -nostdin -trace_stat -fd 1 -stf stat.csv \
                    -trace_rtt -rtt_freq 1 -trace_err -error_file errors.log \
                    "${P_CSCF[$ch]}" >sipp.out 2>&1) &
                sipps+=($!)
            done ;;
    esac
    local t0 t1 p rcs=0 perf_pid=
    if [ -n "${BENCH_PERF:-}" ] && [ "$ch" = ours ] && command -v perf >/dev/null; then
        (sleep 2; exec perf record -F 499 --call-graph "${BENCH_PERF_CG:-fp}" -p "${PIDS[$BENCH_PERF]}" -o "$dir/perf.data" \
            -- sleep $((SECS > 4 ? SECS - 3 : 1)) >"$dir/perf.out" 2>&1) &
        perf_pid=$!
    fi
    t0=$(date +%s.%N)
    t1=$t0
    # the last CPU sample before sipp ends (its ticks vanish with it)
    while any_alive "${sipps[@]}"; do
        t1=$(date +%s.%N)
        for f in ${FUNCS[$ch]}; do C1[$f]=$(cpu_of "$f"); done
        [ "$wl" = call ] && C1[uas]=$(cpu_ticks ${UAS_PIDS[$ch]})
        for p in "${sipps[@]}"; do
            kill -0 "$p" 2>/dev/null && SIPPC[$p]=$(cpu_ticks "$p")
        done
        sleep 0.5
    done
    for p in "${sipps[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        perf report -i "$dir/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 40 >"$dir/perf-top.txt"
    fi
    local failed=0 retrans=0 lat stat sippt=0 mem="" cpu=""
    for stat in "$dir"/stat.csv "$dir"/caller*/stat.csv; do
        [ -f "$stat" ] || continue
        failed=$((failed + $(sipp_stat "$stat" 'FailedCall(C)')))
        retrans=$((retrans + $(sipp_stat "$stat" 'Retransmissions(C)')))
    done
    if [ "$wl" = call ]; then
        lat=$(lat_stats "$dir/caller*/cmp_call_uac_*_rtt.csv" 1 20)
    else
        lat=$(lat_stats "$dir/cmp_reg*_rtt.csv" 1 20)
    fi
    local cnt crate p50 p90 p99 pmax
    read -r cnt crate p50 p90 p99 pmax <<<"$lat"
    if [ "$wl" = call ]; then   # whole calls (an answered INVITE whose BYE failed is not one)
        cnt=0
        for stat in "$dir"/caller*/stat.csv; do
            cnt=$((cnt + $(sipp_stat "$stat" 'SuccessfulCall(C)')))
        done
    fi
    for p in "${!SIPPC[@]}"; do sippt=$((sippt + SIPPC[$p])); done
    [ "$wl" = call ] && sippt=$((sippt + ${C1[uas]:-0} - C0[uas]))
    local dt
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; print (d > 0.1 ? d : 0.1) }')
    for f in ${FUNCS[$ch]}; do
        cpu+="$f=$(awk -v a="${C0[$f]}" -v b="${C1[$f]:-${C0[$f]}}" -v hz="$BENCH_HZ" -v dt="$dt" \
            'BEGIN { d = b - a; printf "%.0f", (d > 0 ? 100 * d / hz / dt : 0) }'),"
        mem+="$f=$(mem_of "$f"),"
    done
    local sippcpu retry=0
    sippcpu=$(awk -v t="$sippt" -v hz="$BENCH_HZ" -v dt="$dt" 'BEGIN { printf "%.0f", 100 * t / hz / dt }')
    if [ "$wl" != call ]; then   # the tries again: a second challenge, sipp's wrong RES
        # (sipp's counts are cumulative: the last line; every 403, every 401 but the first)
        retry=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) {
                                         if ($i ~ /^[0-9]+_403_Recv$/ || ($i ~ /^[0-9]+_401_Recv$/ && n401++))
                                             k[i] = 1 }
                                     next }
                           { s = 0; for (i in k) s += $i } END { print s + 0 }' "$dir"/*_counts.csv 2>/dev/null)
    fi
    HELD=no
    DIED=
    for f in ${FUNCS[$ch]}; do   # a daemon that crashed during the step (its main process)
        kill -0 "${PIDS[$f]%% *}" 2>/dev/null || DIED+="$f "
    done
    [ -n "$DIED" ] && bench_log "$ch: ${DIED% } no longer running (its log in $BENCH_RUN)"
    if [ -z "$DIED" ] && [ "$rcs" = 0 ] && [ "$failed" = 0 ] && [ "$cnt" = "$n" ] &&
        [ "$crate" -ge $((rate * 95 / 100)) ]; then
        HELD=yes
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$wl" "$ch" "$step" "$rate" "$n" "$cnt" "$crate" "$failed" "$retrans" "$p50" "$p90" \
        "$p99" "$pmax" "$HELD" "${cpu%,}" "${mem%,}" "$sippcpu" "${retry:-0}" >>"$BENCH_RUN/results.tsv"
    bench_log "$wl step $step $ch: offered $rate/s, $cnt of $n at $crate/s, failed $failed," \
        "retransmissions $retrans, p99 $p99 ms, held $HELD, cpu ${cpu%,} over ${dt}s, load $(loadavg)"
    [ "$failed" = 0 ] || head -c 600 "$dir"/errors.log "$dir"/caller0/errors.log 2>/dev/null >&2
}

printf 'workload\tchain\tstep\toffered\tattempts\tcompleted\tcompleted_per_s\tfailed\tretrans\tp50_ms\tp90_ms\tp99_ms\tmax_ms\theld\tcpu_pct\tmem_kib\tsipp_cpu_pct\ttolerated\n' \
    >"$BENCH_RUN/results.tsv"
declare -A GONE=()   # chain -> its daemons that crashed (no more steps for it)
START=$(date -u +%FT%TZ)
LOAD0=$(loadavg)
for w in $WORKLOADS; do
    rates=$REG_RATES
    if [ "$w" = call ]; then
        rates=$CALL_RATES
        for ch in "${CHAINS[@]}"; do
            calls_setup "$ch" || { echo "bench: the call parties of $ch did not register" >&2; exit 1; }
        done
        bench_log "call parties registered on both chains ($CALLERS callers, $CALLEES callees each)"
    fi
    declare -A FAILS=([ours]=0 [kam]=0)
    step=0
    for rate in $rates; do
        step=$((step + 1))
        order=(ours kam)
        [ $((step % 2)) = 0 ] && order=(kam ours)
        for ch in "${order[@]}"; do
            # a chain that failed two steps of this workload is not pushed further
            [ "$ALL" = 0 ] && [ "${FAILS[$ch]}" -ge 2 ] && continue
            [ -n "${GONE[$ch]:-}" ] && continue
            run_step "$w" "$ch" "$rate" "$step"
            [ "$HELD" = yes ] || FAILS[$ch]=$((FAILS[$ch] + 1))
            [ -n "$DIED" ] && GONE[$ch]="$DIED"
            sleep 3   # the last transactions of the step end before the other chain's
        done
        [ "$ALL" = 0 ] && [ "${FAILS[ours]}" -ge 2 ] && [ "${FAILS[kam]}" -ge 2 ] && break
    done
    unset FAILS
done

uas_failed=""
for ch in "${CHAINS[@]}"; do
    [ -n "${UAS_PIDS[$ch]:-}" ] || continue
    t=0
    for i in 0 1; do t=$((t + $(sipp_stat "$BENCH_RUN/$ch-uas$i/stat.csv" 'FailedCall(C)'))); done
    uas_failed+="$ch=$t "
done
{
    echo "start=$START"
    echo "end=$(date -u +%FT%TZ)"
    echo "cores=$(nproc)"
    echo "commit=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo "load_start=$LOAD0"
    echo "load_end=$(loadavg)"
    echo "charging=$CHG_TEXT"
    echo "admission=our admission control $ADM_TEXT"
    echo "transactions=ours live $T1X64 ms (sip.t1x64_ms), Kamailio's 5000 ms (fr_timer, wait timer)"
    echo "log_level=ours $IMS_LOG_LEVEL, Kamailio warnings (debug=1)"
    echo "kam_children=$KAM_CHILDREN"
    echo "seconds=$SECS"
    echo "calls=$CALLERS callers, $CALLEES callees per chain, hold $HOLD ms"
    echo "uas_failed=${uas_failed% }"
    gone=""
    for ch in "${!GONE[@]}"; do gone+="$ch: ${GONE[$ch]% }; "; done
    [ -n "$gone" ] && echo "crashed=${gone%; } (no steps after the crash)"
    echo "sipp=$(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
    echo "kamailio=$(kamailio -v 2>/dev/null | head -n 1)"
} >"$BENCH_RUN/meta.txt"
python3 "$BENCH_ROOT/bench/compare_report.py" "$BENCH_RUN" || exit 1
cat "$BENCH_RUN/report.txt"
echo "report: $BENCH_RUN/report.txt, $BENCH_RUN/report.html; raw sipp files in $BENCH_RUN/"
