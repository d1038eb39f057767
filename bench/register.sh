#!/usr/bin/env bash
# bench/register.sh - registrations per second with SIP Digest, their latency, re-registrations,
# CPU and memory per registration.
#
#   bench/register.sh [-t chain|is|kam-is] [-u USERS_PER_STEP] [-k KAM_CHILDREN] [RATE...]
#       default: -t chain -u 10000 -k 4, rates 600 900 1200 1500 1800 (registrations/s)
#
# Targets:
#   chain   UE -> our P-CSCF 127.0.0.10 -> I-CSCF (UAR) -> S-CSCF (MAR, SAR) with our HSS:
#           the full registration of TS 24.229 (plus the P-CSCF's reg-event SUBSCRIBE/NOTIFY)
#   is      UE -> our I-CSCF 127.0.0.20 -> S-CSCF (no P-CSCF: like for like with kam-is)
#   kam-is  UE -> Kamailio I-CSCF 127.0.1.20 -> Kamailio S-CSCF 127.0.1.30 (the interop
#           configurations of tests/interop/kamailio, log level warnings, KAM_CHILDREN UDP
#           workers each, 1 GiB shared memory for the S-CSCF) with our HSS
#
# Starts its own lab (run/bench-register/lab, log level warn, bulk users for every step),
# then for each RATE registers a fresh range of USERS_PER_STEP bulk users (user00001.. of
# LAB.md) with one sipp (-t un: one UDP socket per user, so every UE has its own source
# ip:port as the P-CSCF requires; each step from its own UE address 127.0.0.110+step). Each
# user: REGISTER -> 401 -> REGISTER -> 200 (the registration), a pause until the whole step
# has registered, then the same again from the same socket (the re-registration, at the
# same rate). Measures for each step and phase the rate reached, the latency from the first
# REGISTER to the 200 (p50, p99, max), failed registrations, retransmissions and the CPU
# of each daemon; at the end the resident memory of each daemon before and after, and per
# registered user. A step "holds" the rate when no registration failed and the rate reached
# is within 5 % of the target.
#
# Needs sipp, jq, curl, ss, flock (and kamailio for kam-is; root for /etc/hosts there).
# Takes the lab lock (/tmp/ims-lab.lock) like the end-to-end tests, refuses to run when the
# lab addresses are in use, stops everything it started. Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"

TARGET=chain
USERS=10000
KAM_CHILDREN=4
while getopts "t:u:k:h" o; do
    case $o in
        t) TARGET=$OPTARG ;;
        u) USERS=$OPTARG ;;
        k) KAM_CHILDREN=$OPTARG ;;
        *) sed -n '2,30p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(600 900 1200 1500 1800)
case $TARGET in
    chain) DEST=127.0.0.10:5060 ;;
    is) DEST=127.0.0.20:5060 ;;
    kam-is) DEST=127.0.1.20:5060 ;;
    *) echo "bench: unknown target $TARGET (chain, is, kam-is)" >&2; exit 2 ;;
esac
for c in sipp jq curl ss flock; do
    command -v $c >/dev/null || { echo "bench: $c is missing (mk/deps.sh test)" >&2; exit 1; }
done
[ "$TARGET" = kam-is ] && ! command -v kamailio >/dev/null &&
    { echo "bench: kamailio is missing" >&2; exit 1; }
NSTEPS=${#RATES[@]}
# sipp keeps each user's socket from its registration to its re-registration
if [ $(( $(ulimit -Hn) - 200 )) -lt "$USERS" ]; then
    echo "bench: $USERS users per step need as many sockets; open files are limited to $(ulimit -Hn) here" >&2
    exit 2
fi
MAXSOCK=$(( $(ulimit -Hn) - 100 ))
TOTAL=$((NSTEPS * USERS))

bench_init register
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80 127.0.1.20 127.0.1.30
bench_log "target $TARGET, $NSTEPS steps of $USERS users ($TOTAL bulk users), load $(loadavg)"

# the lab: warnings only (no log line per registration), room for every binding
export IMS_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
export IMS_PCSCF_MAX_BINDINGS=$((TOTAL + 1000))
bench_lab_start "$TOTAL"
bench_log "lab started with $TOTAL bulk users (run/bench-register/lab)"

declare -A PIDS=()   # measured function -> pids
case $TARGET in
    chain)
        for d in pcscf icscf scscf hss; do PIDS[$d]=$(pid_of_daemon $d); done
        FUNCS=(pcscf icscf scscf hss) ;;
    is)
        for d in icscf scscf hss; do PIDS[$d]=$(pid_of_daemon $d); done
        FUNCS=(icscf scscf hss) ;;
    kam-is)
        bench_hosts_add
        bench_kam_start scscf "$KAM_CHILDREN" 1024
        bench_kam_start icscf "$KAM_CHILDREN" 256
        bench_kam_wait_hss || exit 1
        sleep 1
        PIDS[kam-icscf]=$(bench_kam_pids icscf | paste -sd' ')
        PIDS[kam-scscf]=$(bench_kam_pids scscf | paste -sd' ')
        PIDS[hss]=$(pid_of_daemon hss)
        FUNCS=(kam-icscf kam-scscf hss) ;;
esac

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
declare -A MEM0=() MEM1=()
for f in "${FUNCS[@]}"; do MEM0[$f]=$(mem_of "$f"); done

RESULTS=()
for ((s = 0; s < NSTEPS; s++)); do
    rate=${RATES[s]}
    dir=$BENCH_RUN/step$((s + 1))
    mkdir -p "$dir"
    {
        echo SEQUENTIAL
        seq -f 'user%05g' $((s * USERS + 1)) $(((s + 1) * USERS))
    } >"$dir/users.csv"
    phase_ms=$((USERS * 1000 / rate))
    gap=$((phase_ms + 3000))
    ue=127.0.0.$((110 + s))
    declare -A C0=() C1=() C2=()
    for f in "${FUNCS[@]}"; do C0[$f]=$(cpu_of "$f"); done
    t0=$(date +%s.%N)
    (cd "$dir" && exec sipp -sf "$BENCH_SCEN/reg.xml" -t un -i "$ue" -p 5070 -inf users.csv \
        -r "$rate" -m "$USERS" -l $((USERS + 100)) -d "$gap" -max_socket "$MAXSOCK" \
        -key domain "$BENCH_REALM" -key expires 3600 -key alg ", algorithm=MD5" \
        -recv_timeout 10000 -timeout $((2 * gap / 1000 + 120))s -nostdin \
        -trace_stat -fd 1 -stf stat.csv -trace_rtt -rtt_freq 1 \
        -trace_err -error_file errors.log "$DEST" >sipp.out 2>&1) &
    sipp_pid=$!
    bench_at_exit "kill $sipp_pid 2>/dev/null"
    # the CPU of the registration phase: sampled once the step has registered
    sleep "$(awk -v ms=$((phase_ms + 1500)) 'BEGIN { print ms / 1000 }')"
    t1=$(date +%s.%N)
    for f in "${FUNCS[@]}"; do C1[$f]=$(cpu_of "$f"); done
    # the re-registration phase starts gap ms after the first registration
    sleep "$(awk -v t0="$t0" -v t1="$t1" -v g="$gap" 'BEGIN { w = t0 + g / 1000 - t1; print (w > 0 ? w : 0) }')"
    t2=$(date +%s.%N)
    for f in "${FUNCS[@]}"; do C2[$f]=$(cpu_of "$f"); done
    wait "$sipp_pid"
    rc=$?
    t3=$(date +%s.%N)
    declare -A C3=()
    for f in "${FUNCS[@]}"; do C3[$f]=$(cpu_of "$f"); done
    rtt=$(ls "$dir"/reg_*_rtt.csv 2>/dev/null | head -n 1)
    # latency: both round trips, without the UE's 20 ms think time between them
    read -r n1 r1 p50_1 p99_1 max1 <<<"$(rtt_stats "$rtt" 1 20)"
    read -r n2 r2 p50_2 p99_2 max2 <<<"$(rtt_stats "$rtt" 2 20)"
    failed=$(sipp_stat "$dir/stat.csv" 'FailedCall(C)')
    retrans=$(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')
    held=no
    if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$n1" = "$USERS" ] && [ "$n2" = "$USERS" ] &&
        [ "$r1" -ge $((rate * 95 / 100)) ] && [ "$r2" -ge $((rate * 95 / 100)) ]; then
        held=yes
    fi
    cpu1="" cpu2=""
    for f in "${FUNCS[@]}"; do
        # CPU % of one core during each phase, and CPU time per registration (µs)
        cpu1+=$(awk -v a="${C0[$f]}" -v b="${C1[$f]}" -v hz="$BENCH_HZ" -v t0="$t0" -v t1="$t1" \
            -v n="$USERS" 'BEGIN { printf " %s=%.0f%%/%.0fus", "'"$f"'", 100 * (b - a) / hz / (t1 - t0), (b - a) / hz * 1e6 / n }')
        cpu2+=$(awk -v a="${C2[$f]}" -v b="${C3[$f]}" -v hz="$BENCH_HZ" -v t0="$t2" -v t1="$t3" \
            -v n="$USERS" 'BEGIN { printf " %s=%.0f%%/%.0fus", "'"$f"'", 100 * (b - a) / hz / (t1 - t0), (b - a) / hz * 1e6 / n }')
    done
    RESULTS+=("$((s + 1)) $rate reg $n1 $r1 $p50_1 $p99_1 $max1 $failed $retrans $held$cpu1")
    RESULTS+=("$((s + 1)) $rate re-reg $n2 $r2 $p50_2 $p99_2 $max2 - - -$cpu2")
    bench_log "step $((s + 1)): $rate/s: registered $n1 at $r1/s (p99 $p99_1 ms), re-registered $n2 at $r2/s (p99 $p99_2 ms), failed $failed, retransmissions $retrans, sipp exit $rc, load $(loadavg)"
    [ "$failed" = 0 ] || sed -n '1,5p' "$dir/errors.log" >&2
    unset C0 C1 C2 C3
done
for f in "${FUNCS[@]}"; do MEM1[$f]=$(mem_of "$f"); done

echo
echo "registration benchmark: target $TARGET ($DEST), SIP Digest over UDP, $USERS new users per step"
echo "date $(date -u +%FT%TZ), $(nproc) cores, load average at the end $(loadavg), $(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
printf '%-4s %-6s %-7s %-7s %-7s %-8s %-8s %-9s %-7s %-8s %-5s %s\n' step target phase 'done' \
    per_s p50_ms p99_ms max_ms failed retrans held "cpu (% of a core / CPU per registration)"
for r in "${RESULTS[@]}"; do
    read -r a b c d e f g h i j k rest <<<"$r"
    printf '%-4s %-6s %-7s %-7s %-7s %-8s %-8s %-9s %-7s %-8s %-5s %s\n' "$a" "$b" "$c" "$d" "$e" \
        "$f" "$g" "$h" "$i" "$j" "$k" "$rest"
done
echo
echo "memory (KiB; RSS of our daemons, Pss summed over the processes of a Kamailio) for $TOTAL registered users:"
printf '%-10s %-10s %-10s %-12s\n' function before after per_user_B
for f in "${FUNCS[@]}"; do
    printf '%-10s %-10s %-10s %-12s\n' "$f" "${MEM0[$f]}" "${MEM1[$f]}" \
        "$(( (MEM1[$f] - MEM0[$f]) * 1024 / TOTAL ))"
done
echo
echo "sipp runs, rtt and stat files: $BENCH_RUN/step*/"
