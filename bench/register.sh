#!/usr/bin/env bash
# bench/register.sh - registrations per second with SIP Digest, their latency, re-registrations,
# CPU and memory per registration.
#
#   bench/register.sh [-t chain|is|kam-is] [-u USERS_PER_STEP] [-k KAM_CHILDREN] [-S SETTLE_S]
#                     [-a] [RATE...]
#       default: -t chain -u 10000 -k 4 -S 40, rates 400 600 800 1000 1200 1600
#       (registrations/s); stops after the first step that does not hold, unless -a
#
# Targets:
#   chain   UE -> our P-CSCF 127.0.0.10 -> I-CSCF (UAR) -> S-CSCF (MAR, SAR) with our HSS:
#           the full registration of TS 24.229 (plus the P-CSCF's reg-event SUBSCRIBE/NOTIFY)
#   is      UE -> our I-CSCF 127.0.0.20 -> S-CSCF (no P-CSCF: like for like with kam-is)
#   kam-is  UE -> Kamailio I-CSCF 127.0.1.20 -> Kamailio S-CSCF 127.0.1.30 (the interop
#           configurations of tests/interop/kamailio, log level warnings, KAM_CHILDREN UDP
#           workers each, 1 GiB shared memory for the S-CSCF) with our HSS
#
# Starts its own lab (run/bench-register/lab, the lab configuration: log level info unless
# BENCH_LOG_LEVEL says otherwise; bulk users for every step),
# then for each RATE registers a fresh range of USERS_PER_STEP bulk users (user00001.. of
# LAB.md) with one sipp (-t un: one UDP socket per user, so every UE has its own source
# ip:port as the P-CSCF requires; each step from its own UE address 127.0.0.110+step). Each
# user: REGISTER -> 401 -> REGISTER -> 200 (the registration), a pause until the whole step
# has registered, then the same again from the same socket (the re-registration, at the
# same rate). Measures for each step and phase the rate reached, the latency from the first
# REGISTER to the 200 (p50, p99, max; sipp counts whole milliseconds; the UE's 20 ms think
# time between 401 and the second REGISTER is taken out), failed registrations,
# retransmissions, datagrams the kernel dropped at each CSCF's SIP socket, and the CPU of
# each daemon and of sipp. A step "holds" the rate when no registration failed and the rate
# reached is within 5 % of the target.
#
# Memory: after the last step the benchmark waits SETTLE_S seconds (UDP server transactions
# of sofia-sip linger 64*T1 = 32 s after their answer), then reads each daemon's resident
# size (VmRSS) and malloc's bytes in use (process_heap_inuse_bytes of /metrics), and divides
# the growth since the start by the users registered. The resident size keeps the peak of
# the transactions in flight (freed heap that stays mapped); the heap in use is the state
# kept per registered contact.
#
# Needs sipp, jq, curl, ss, flock (and kamailio for kam-is; root for /etc/hosts there).
# Takes the lab lock (/tmp/ims-lab.lock) like the end-to-end tests, refuses to run when the
# lab addresses are in use, stops everything it started. Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"

TARGET=chain
USERS=10000
KAM_CHILDREN=4
SETTLE=40
ALL=0
while getopts "t:u:k:S:ah" o; do
    case $o in
        t) TARGET=$OPTARG ;;
        u) USERS=$OPTARG ;;
        k) KAM_CHILDREN=$OPTARG ;;
        S) SETTLE=$OPTARG ;;
        a) ALL=1 ;;
        *) sed -n '2,42p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(400 600 800 1000 1200 1600)
case $TARGET in
    chain) DEST=127.0.0.10:5060 ;;
    is) DEST=127.0.0.20:5060 ;;
    kam-is) DEST=127.0.1.20:5060 ;;
    *) echo "bench: unknown target $TARGET (chain, is, kam-is)" >&2; exit 2 ;;
esac
bench_need "test" sipp jq curl ss flock
[ "$TARGET" = kam-is ] && ! command -v kamailio >/dev/null &&
    { echo "bench: kamailio is missing" >&2; exit 1; }
NSTEPS=${#RATES[@]}
# sipp keeps each user's socket from its registration to its re-registration
if [ $(( $(ulimit -Hn) - 200 )) -lt "$USERS" ]; then
    echo "bench: $USERS users per step need as many sockets; open files are limited to $(ulimit -Hn) here" >&2
    exit 2
fi
MAXSOCK=$((USERS + 100))
TOTAL=$((NSTEPS * USERS))

bench_init register
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80 127.0.1.20 127.0.1.30
bench_log "target $TARGET, $NSTEPS steps of $USERS users ($TOTAL bulk users), load $(loadavg)"

# the lab as configured (log level info: a line or two per registration in each CSCF's log
# file) unless BENCH_LOG_LEVEL says otherwise; room for every binding
[ -n "${BENCH_LOG_LEVEL:-}" ] && export IMS_LOG_LEVEL=$BENCH_LOG_LEVEL
export IMS_PCSCF_MAX_BINDINGS=$((TOTAL + 1000))
# the UEs of a step (or the callees behind one answering sipp) share one address: no bound
# per source address (pcscf.max_bindings_per_source)
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
bench_lab_start "$TOTAL"
bench_log "lab started with $TOTAL bulk users (run/bench-register/lab)"

declare -A PIDS=() ADDR=()   # measured function -> pids, SIP/HTTP address
ADDR=([pcscf]=127.0.0.10 [icscf]=127.0.0.20 [scscf]=127.0.0.30 [hss]=127.0.0.40
      [kam-icscf]=127.0.1.20 [kam-scscf]=127.0.1.30)
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
SIPFUNCS=()   # the functions with a SIP socket (their drops are reported)
for f in "${FUNCS[@]}"; do [ "$f" != hss ] && SIPFUNCS+=("$f"); done

mem_of() {   # $1 function -> KiB (RSS of our single-process daemons, Pss sum for Kamailio)
    # shellcheck disable=SC2086
    case $1 in
        kam-*) pss_kib ${PIDS[$1]} ;;
        *) rss_kib "${PIDS[$1]}" ;;
    esac
}
heap_of() {   # $1 function -> KiB of malloc in use ("-" for Kamailio: its own allocator)
    case $1 in
        kam-*) echo - ;;
        *) heap_kib "${ADDR[$1]}" ;;
    esac
}
cpu_of() {   # $1 function -> clock ticks
    # shellcheck disable=SC2086
    cpu_ticks ${PIDS[$1]}
}
drops_of() {   # $1 function -> UDP datagrams dropped at its SIP socket so far
    udp_drops "${ADDR[$1]}" 5060
}
pct() {   # $1 $2 ticks before/after $3 $4 times -> "% of a core"
    awk -v a="$1" -v b="$2" -v hz="$BENCH_HZ" -v t0="$3" -v t1="$4" \
        'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }'
}
declare -A MEM0=() MEM1=() HEAP0=() HEAP1=()
for f in "${FUNCS[@]}"; do MEM0[$f]=$(mem_of "$f"); HEAP0[$f]=$(heap_of "$f"); done

RESULTS=()
REGISTERED=0
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
    declare -A C0=() C1=() C2=() C3=() D0=() D1=()
    for f in "${SIPFUNCS[@]}"; do D0[$f]=$(drops_of "$f"); done
    for f in "${FUNCS[@]}"; do C0[$f]=$(cpu_of "$f"); done
    C0[sipp]=0
    t0=$(date +%s.%N)
    (cd "$dir" && exec sipp -sf "$BENCH_SCEN/reg.xml" -t un -i "$ue" -p 5070 -inf users.csv \
        -r "$rate" -m "$USERS" -l $((USERS + 100)) -d "$gap" -max_socket "$MAXSOCK" \
        -key domain "$BENCH_REALM" -key expires 3600 -key alg ", algorithm=MD5" \
        -auth_uri "$BENCH_REALM" \
        -recv_timeout 10000 -timeout $((2 * gap / 1000 + 120))s -nostdin \
        -trace_stat -fd 1 -stf stat.csv -trace_rtt -rtt_freq 1 \
        -trace_err -error_file errors.log "$DEST" >sipp.out 2>&1) &
    sipp_pid=$!
    bench_at_exit "kill $sipp_pid 2>/dev/null"
    # the CPU of the registration phase: sampled once the step has registered
    sleep "$(awk -v ms=$((phase_ms + 1500)) 'BEGIN { print ms / 1000 }')"
    t1=$(date +%s.%N)
    for f in "${FUNCS[@]}"; do C1[$f]=$(cpu_of "$f"); done
    C1[sipp]=$(cpu_ticks "$sipp_pid")
    # the re-registration phase starts gap ms after the first registration
    sleep "$(awk -v t0="$t0" -v t1="$t1" -v g="$gap" 'BEGIN { w = t0 + g / 1000 - t1; print (w > 0 ? w : 0) }')"
    t2=$(date +%s.%N)
    for f in "${FUNCS[@]}"; do C2[$f]=$(cpu_of "$f"); done
    C2[sipp]=$(cpu_ticks "$sipp_pid")
    # the last sample before sipp ends (its ticks vanish with it)
    while kill -0 "$sipp_pid" 2>/dev/null; do
        t3=$(date +%s.%N)
        for f in "${FUNCS[@]}"; do C3[$f]=$(cpu_of "$f"); done
        v=$(cpu_ticks "$sipp_pid")   # 0 once sipp has gone
        [ "$v" -gt "${C3[sipp]:-0}" ] && C3[sipp]=$v
        sleep 0.5
    done
    wait "$sipp_pid"
    rc=$?
    for f in "${SIPFUNCS[@]}"; do D1[$f]=$(drops_of "$f"); done
    rtt=$(ls "$dir"/reg_*_rtt.csv 2>/dev/null | head -n 1)
    # latency: both round trips, without the UE's 20 ms think time between them
    read -r n1 r1 p50_1 p99_1 max1 <<<"$(rtt_stats "$rtt" 1 20)"
    read -r n2 r2 p50_2 p99_2 max2 <<<"$(rtt_stats "$rtt" 2 20)"
    failed=$(sipp_stat "$dir/stat.csv" 'FailedCall(C)')
    retrans=$(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')
    REGISTERED=$((REGISTERED + n1))
    held=no
    if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$n1" = "$USERS" ] && [ "$n2" = "$USERS" ] &&
        [ "$r1" -ge $((rate * 95 / 100)) ] && [ "$r2" -ge $((rate * 95 / 100)) ]; then
        held=yes
    fi
    cpu1="" cpu2="" drops=""
    for f in "${FUNCS[@]}" sipp; do
        # CPU % of one core during each phase
        cpu1+=" $f=$(pct "${C0[$f]}" "${C1[$f]}" "$t0" "$t1")%"
        cpu2+=" $f=$(pct "${C2[$f]}" "${C3[$f]}" "$t2" "$t3")%"
    done
    for f in "${SIPFUNCS[@]}"; do drops+="$f=$((D1[$f] - D0[$f])),"; done
    RESULTS+=("$((s + 1)) $rate reg $n1 $r1 $p50_1 $p99_1 $max1 $failed $retrans ${drops%,} $held$cpu1")
    RESULTS+=("$((s + 1)) $rate re-reg $n2 $r2 $p50_2 $p99_2 $max2 - - - -$cpu2")
    bench_log "step $((s + 1)): $rate/s: registered $n1 at $r1/s (p99 $p99_1 ms), re-registered $n2 at $r2/s (p99 $p99_2 ms), failed $failed, retransmissions $retrans, drops ${drops%,}, sipp exit $rc, load $(loadavg)"
    [ "$failed" = 0 ] || { head -c 1000 "$dir/errors.log"; echo; } >&2
    unset C0 C1 C2 C3 D0 D1
    if [ "$held" = no ] && [ "$ALL" = 0 ]; then
        bench_log "step $((s + 1)) did not hold $rate/s: no higher rate tried (-a tries them all)"
        break
    fi
done
bench_log "waiting ${SETTLE}s for the last transactions to end before reading the memory"
sleep "$SETTLE"
for f in "${FUNCS[@]}"; do MEM1[$f]=$(mem_of "$f"); HEAP1[$f]=$(heap_of "$f"); done
CONTACTS=$REGISTERED
case $TARGET in
    chain|is) CONTACTS=$(curl -s http://127.0.0.30:8080/metrics | awk '/^scscf_bindings / { print $2 }') ;;
esac

echo
echo "registration benchmark: target $TARGET ($DEST), SIP Digest over UDP, $USERS new users per step"
echo "date $(date -u +%FT%TZ), $(nproc) cores, commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null), log level ${IMS_LOG_LEVEL:-info (lab configuration)}, load average at the end $(loadavg), $(sipp -v 2>&1 | grep -o 'SIPp v[^-]*' | head -n 1)"
echo "latency: first REGISTER to 200 (two round trips, the UE's 20 ms think time taken out)"
printf '%-4s %-6s %-7s %-6s %-6s %-7s %-7s %-7s %-6s %-7s %-22s %-5s %s\n' step target phase 'done' \
    per_s p50_ms p99_ms max_ms failed retrans 'udp drops' held "cpu (% of a core)"
for r in "${RESULTS[@]}"; do
    read -r a b c d e f g h i j k l rest <<<"$r"
    printf '%-4s %-6s %-7s %-6s %-6s %-7s %-7s %-7s %-6s %-7s %-22s %-5s %s\n' "$a" "$b" "$c" \
        "$d" "$e" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$rest"
done
echo
echo "memory for $CONTACTS registered contacts, read ${SETTLE}s after the last step (KiB; RSS of our"
echo "daemons, Pss summed over the processes of a Kamailio; heap = malloc's bytes in use):"
printf '%-10s %-10s %-10s %-12s %-10s %-10s %-12s\n' function rss_before rss_after rss_B/contact \
    heap_before heap_after heap_B/contact
for f in "${FUNCS[@]}"; do
    hb="${HEAP0[$f]}" ha="${HEAP1[$f]}" hp=-
    [ "$hb" != - ] && [ "${CONTACTS:-0}" -gt 0 ] && hp=$(( (ha - hb) * 1024 / CONTACTS ))
    printf '%-10s %-10s %-10s %-12s %-10s %-10s %-12s\n' "$f" "${MEM0[$f]}" "${MEM1[$f]}" \
        "$(( (MEM1[$f] - MEM0[$f]) * 1024 / (CONTACTS > 0 ? CONTACTS : 1) ))" "$hb" "$ha" "$hp"
done
echo
echo "sipp runs, rtt and stat files: $BENCH_RUN/step*/"
