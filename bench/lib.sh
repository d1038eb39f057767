# shellcheck shell=bash disable=SC2034
# bench/lib.sh - shared helpers of bench/register.sh and bench/call.sh (source it).
#
#   bench_need SET CMD...    exits naming the first command missing (and mk/deps.sh SET)
#   bench_netns "$0" "$@"    runs the benchmark again in a network namespace of its own (as
#                            tests/e2e/run.sh does: root and unshare needed; otherwise, or
#                            with IMS_BENCH_NETNS=0, it stays in the machine's namespace)
#   bench_init NAME          run folder run/bench-NAME, the machine-wide lab lock (waits, as
#                            the e2e tests do), EXIT trap that cleans up everything started
#   bench_refuse_busy ADDR.. exits when one of the addresses has SIP/Diameter/HTTP listeners
#   bench_lab_start BULK     our lab (deploy/lab.sh) in the run folder, BULK bulk users
#   bench_kam_start NAME ..  a Kamailio P-, I- or S-CSCF of tests/interop/kamailio (bench copy)
#   bench_at_exit CMD        one more thing to undo at exit (last added, first run)
#   pid_of_daemon NAME       pid of a daemon of our lab
#   cpu_ticks PID...         utime+stime of the processes (clock ticks), summed
#   rss_kib PID              VmRSS of one process (KiB)
#   pss_kib PID...           Pss summed over processes (KiB; Kamailio forks children that
#                            share memory: RSS would count the shared pool once per child)
#   rtt_stats FILE RTD [MS]  "count rate p50 p99 max" from a sipp -trace_rtt file
#   sipp_stat FILE COLUMN    last value of a sipp -trace_stat column (e.g. FailedCall(C))
#   bench_callers_sum DIR N SCENARIO ANSWER_MS
#                            failed calls, retransmissions, calls, rate and INVITE->180/200
#                            percentiles of a step's N caller sipps, summed
#   bench_calls_setup C E   registers C callers and E callees, starts the answering sipps
#   bench_register_from ..  one sipp registering the users of a file from one socket
#   heap_kib ADDR            malloc's bytes in use of one of our daemons (its /metrics), KiB
#   udp_drops ADDR PORT      datagrams the kernel dropped on that UDP socket (full receive
#                            buffer), from /proc/net/udp
#   fd_count PID             open file descriptors of one process (/proc/PID/fd)
#   metric_sum NAME... <TEXT  the values of those metrics in a /metrics text, all their label
#                            sets summed (0 when none)
#
# Benchmarks are not tests: they are never run by `make test` or CI. They use the lab's
# fixed addresses (LAB.md), so they take the same lock as the end-to-end tests
# (/tmp/ims-lab.lock) and never run beside one.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BIN=${IMS_LAB_BIN:-$BENCH_ROOT/build/bin}
BENCH_REALM=ims.mnc001.mcc001.3gppnetwork.org
BENCH_SCEN=$BENCH_ROOT/bench/scenarios
BENCH_KAM_CONF=$BENCH_ROOT/tests/interop/kamailio
BENCH_PCSCF=127.0.0.10:5060
BENCH_RUN=
BENCH_AT_EXIT=()
BENCH_LAB_UP=0
BENCH_HOSTS_BEGIN="# ims-core bench kamailio begin"
BENCH_HOSTS_END="# ims-core bench kamailio end"
BENCH_HZ=$(getconf CLK_TCK)
declare -A BENCH_KAM_PID=()

bench_netns() {   # "$0" "$@": the script again, in a private network namespace
    [ "${IMS_BENCH_NETNS:-}" = 0 ] || [ "${IMS_BENCH_IN_NETNS:-}" = 1 ] && return 0
    { [ "$(id -u)" -eq 0 ] && unshare -n -m true 2>/dev/null; } || return 0
    local hosts lock rc
    hosts=$(mktemp /tmp/ims-bench-hosts.XXXXXX) && cp /etc/hosts "$hosts" || return 0
    lock=$(mktemp /tmp/ims-bench-lock.XXXXXX) || { rm -f "$hosts"; return 0; }
    echo "bench: running in a network namespace of its own (a lab in the machine's stays up)" >&2
    unshare -n -m --propagation private env IMS_BENCH_IN_NETNS=1 IMS_LAB_LOCK="$lock" bash -c '
        ip link set lo up || exit 1
        mount --bind "$1" /etc/hosts || exit 1
        shift
        exec "$@"' bench-netns "$hosts" "$@"
    rc=$?
    rm -f "$hosts" "$lock"
    exit $rc
}

bench_need() {   # $1 the mk/deps.sh set that installs them ("" if none), $2...: commands
    local set=$1 c
    shift
    for c in "$@"; do
        command -v "$c" >/dev/null && continue
        echo "bench: $c is missing${set:+ (mk/deps.sh $set)}" >&2
        exit 1
    done
}

bench_log() {
    printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2
}

bench_init() {   # $1 name
    BENCH_RUN=$BENCH_ROOT/run/bench-$1
    exec {BENCH_LOCK_FD}>"${IMS_LAB_LOCK:-/tmp/ims-lab.lock}"
    if ! flock -n "$BENCH_LOCK_FD"; then
        bench_log "a lab test or bench holds ${IMS_LAB_LOCK:-/tmp/ims-lab.lock}; waiting (up to 60 min)"
        flock -w 3600 "$BENCH_LOCK_FD" || { echo "bench: the lab lock was not released" >&2; exit 1; }
    fi
    rm -rf "$BENCH_RUN"
    mkdir -p "$BENCH_RUN"
    trap 'bench_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # sipp -t un opens one socket per call: as many files as allowed here
    ulimit -n "$(ulimit -Hn)" 2>/dev/null
}

bench_at_exit() {
    BENCH_AT_EXIT+=("$*")
}

bench_cleanup() {
    local i p
    for ((i = ${#BENCH_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${BENCH_AT_EXIT[i]}"
    done
    BENCH_AT_EXIT=()
    for p in "${!BENCH_KAM_PID[@]}"; do
        bench_kam_stop "$p"
    done
    bench_hosts_remove
    if [ "$BENCH_LAB_UP" = 1 ]; then
        IMS_LAB_RUN=$BENCH_RUN/lab IMS_LAB_BIN=$BENCH_BIN "$BENCH_ROOT/deploy/lab.sh" stop >/dev/null 2>&1
        BENCH_LAB_UP=0
    fi
}

bench_refuse_busy() {   # $@ addresses that must have no listener
    local a busy
    for a in "$@"; do
        busy=$(ss -Hlntu 2>/dev/null | awk -v a="$a" '$5 ~ "^"a":(5060|3868|8080)$"')
        if [ -n "$busy" ]; then
            echo "bench: $a is in use (a lab or a test running?): stop it first (make lab-stop)" >&2
            exit 1
        fi
    done
}

bench_lab_start() {   # $1 bulk users; the environment passes configuration overrides
    BENCH_LAB_UP=1
    if ! IMS_LAB_RUN=$BENCH_RUN/lab IMS_LAB_BIN=$BENCH_BIN IMS_LAB_BULK=$1 IMS_LAB_WAIT=60 \
        "$BENCH_ROOT/deploy/lab.sh" start >"$BENCH_RUN/lab-start.out" 2>&1; then
        echo "bench: the lab did not start:" >&2
        tail -n 30 "$BENCH_RUN/lab-start.out" >&2
        exit 1
    fi
}

pid_of_daemon() {   # $1 daemon of our lab
    cat "$BENCH_RUN/lab/$1/$1.pid" 2>/dev/null
}

# ---- Kamailio (the interop configurations, copied with bench settings) ----

bench_hosts_remove() {
    grep -qxF "$BENCH_HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
    local tmp
    tmp=$(mktemp) || return 1
    awk -v b="$BENCH_HOSTS_BEGIN" -v e="$BENCH_HOSTS_END" \
        '$0 == b { skip = 1; next } skip && $0 == e { skip = 0; next } !skip' /etc/hosts >"$tmp" &&
        cat "$tmp" >/etc/hosts
    rm -f "$tmp"
}

bench_hosts_add() {   # the names Kamailio's cdp and I-CSCF resolve (tests/interop/kamailio)
    bench_hosts_remove
    printf '%s\n%s\n%s\n%s\n%s\n' "$BENCH_HOSTS_BEGIN" "127.0.0.40 hss.$BENCH_REALM" \
        "127.0.1.20 icscf-kam.$BENCH_REALM" "127.0.1.30 scscf-kam.$BENCH_REALM" \
        "$BENCH_HOSTS_END" >>/etc/hosts
}

# $1 pcscf|icscf|scscf $2 children $3 shared memory MB [$4... more kamailio arguments, e.g.
# -A 'ICSCF_URI="sip:..."']: the interop configuration with the log level at warnings (no
# line per REGISTER) and the number of UDP workers set
bench_kam_start() {
    local name=$1 children=$2 shm=$3 dir=$BENCH_RUN/kamailio-$1
    shift 3
    mkdir -p "$dir/runtime" "$dir/conf"
    cp -r "$BENCH_KAM_CONF"/. "$dir/conf/"
    sed -i -e 's/^debug=2$/debug=1/' -e "s/^children=.*/children=$children/" "$dir/conf/$name.cfg"
    KAM_IMS_DIR=$dir/conf setsid kamailio -f "$dir/conf/$name.cfg" -DD -E -Y "$dir/runtime" \
        -w "$dir" -m "$shm" -M 32 "$@" >"$dir/$name.log" 2>&1 </dev/null &
    BENCH_KAM_PID[$name]=$!
}

bench_kam_stop() {   # $1 pcscf|icscf|scscf
    local pid=${BENCH_KAM_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "BENCH_KAM_PID[$1]"
}

bench_kam_pids() {   # $1 pcscf|icscf|scscf: the main process and its children
    local pid=${BENCH_KAM_PID[$1]:-}
    [ -n "$pid" ] || return 0
    echo "$pid"
    pgrep -P "$pid" 2>/dev/null
}

bench_kam_wait_hss() {   # waits until both Kamailio peers are open at our HSS
    local deadline=$((SECONDS + 30)) h
    while [ $SECONDS -lt $deadline ]; do
        h=$(curl -s --max-time 2 http://127.0.0.40:8080/health)
        if printf '%s' "$h" | jq -e '[.peers[]? | select((.name | test("-kam\\.")) and .state == "open")] | length == 2' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.3
    done
    echo "bench: the Kamailio CSCFs did not connect to the HSS in 30 s:" >&2
    tail -n 20 "$BENCH_RUN"/kamailio-*/*.log >&2
    return 1
}

# ---- the parties of the call benchmarks (bench/overload.sh -t call, bench/soak.sh) ----

bench_user() {   # $1 number -> userNNNNN (a line)
    printf 'user%05d\n' "$1"
}

# NAME ADDR PORT CSV [EXPIRES]: one sipp registering the users of CSV from one socket
# (run/bench-*/reg-NAME) at BENCH_SETUP_RATE registrations/s (100; lower it on a machine
# shared with other work); admission control may refuse some on a busy machine (503): all
# again, up to 3 times, the registered ones just refresh
bench_register_from() {
    local dir=$BENCH_RUN/reg-$1 n try
    mkdir -p "$dir"
    n=$(($(wc -l <"$4") - 1))
    for try in 1 2 3; do
        (cd "$dir" && sipp -sf "$BENCH_SCEN/reg_once.xml" -t u1 -i "$2" -p "$3" -inf "$4" \
            -r "${BENCH_SETUP_RATE:-100}" -m "$n" -key domain "$BENCH_REALM" \
            -key expires "${5:-3600}" \
            -recv_timeout 10000 -auth_uri "$BENCH_REALM" -timeout 300s -nostdin -trace_err \
            -error_file "errors-$try.log" "$BENCH_PCSCF" >"sipp-$try.out" 2>&1) && return 0
        sleep 3
    done
    echo "bench: the users of $4 did not all register:" >&2
    head -n 5 "$dir/errors-3.log" >&2
    return 1
}

# CALLERS CALLEES [EXPIRES] [STAT_SECONDS]: registers the callees (users CALLERS+1..., half
# from 127.0.0.150:5080, half from .151) and the callers (user00001... from 127.0.0.110+k:
# 5070), writes each caller's targets-K.csv (the callees in turn, each from its own starting
# point) and starts the two answering sipps (call_uas.xml, pids in BENCH_UAS_PIDS)
bench_calls_setup() {
    local callers=$1 callees=$2 total=$(($1 + $2)) half=$(( ($2 + 1) / 2 )) i k u
    for i in 0 1; do
        {
            echo SEQUENTIAL
            for ((u = callers + 1 + i * half; u <= callers + (i + 1) * half && u <= total; u++)); do
                bench_user "$u"
            done
        } >"$BENCH_RUN/callees-$i.csv"
        bench_register_from "uas$i" "127.0.0.$((150 + i))" 5080 "$BENCH_RUN/callees-$i.csv" \
            "${3:-3600}" || return 1
    done
    for ((k = 0; k < callers; k++)); do
        printf 'SEQUENTIAL\n%s\n' "$(bench_user $((k + 1)))" >"$BENCH_RUN/caller-$k.csv"
        bench_register_from "caller$k" "127.0.0.$((110 + k))" 5070 "$BENCH_RUN/caller-$k.csv" \
            "${3:-3600}" || return 1
        {
            echo SEQUENTIAL
            seq $((callers + 1)) "$total" | awk -v n="$callees" -v k="$k" -v c="$callers" '
                { a[NR - 1] = $1 }
                END { s = int(k * n / c); for (i = 0; i < n; i++) printf "user%05d\n", a[(s + i) % n] }'
        } >"$BENCH_RUN/targets-$k.csv"
    done
    BENCH_UAS_PIDS=()
    for i in 0 1; do
        mkdir -p "$BENCH_RUN/uas$i"
        (cd "$BENCH_RUN/uas$i" && exec sipp -sf "$BENCH_SCEN/call_uas.xml" -t u1 \
            -i "127.0.0.$((150 + i))" -p 5080 -nostdin -trace_stat -fd "${4:-1}" -stf stat.csv \
            -trace_err -error_file errors.log >sipp.out 2>&1) &
        BENCH_UAS_PIDS+=($!)
        bench_at_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
    done
    sleep 0.5
}

# ---- measurements ----

cpu_ticks() {   # $@ pids -> utime + stime summed (clock ticks)
    local p t=0 f a
    for p in "$@"; do
        # fields 14 and 15 of /proc/PID/stat (the command name may hold blanks: cut after ')')
        f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        read -ra a <<<"$f"
        t=$((t + a[11] + a[12]))
    done
    echo "$t"
}

rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

pss_kib() {
    local p t=0 v
    for p in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# $1 sipp rtt file $2 rtd number [$3 ms to subtract: pauses inside the measure] ->
# "count rate_per_s p50_ms p99_ms max_ms" (sipp measures in whole milliseconds)
rtt_stats() {
    awk -F';' -v rtd="$2" -v off="${3:-0}" 'NR > 1 && $3 == rtd { print $1, $2 - off }' "$1" 2>/dev/null |
        sort -k2,2g | awk '
        { t[NR] = $1; v[NR] = $2; if (NR == 1 || $1 < tmin) tmin = $1; if ($1 > tmax) tmax = $1 }
        END {
            if (NR == 0) { print "0 0 0 0 0"; exit }
            p50 = v[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]
            p99 = v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
            span = (tmax - tmin) / 1000.0
            rate = span > 0 ? (NR - 1) / span : 0
            printf "%d %.0f %.2f %.2f %.2f\n", NR, rate, p50, p99, v[NR]
        }'
}

sipp_stat() {   # $1 sipp -trace_stat file $2 column name -> its value on the last line
    awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
                         { last = $k } END { print last + 0 }' "$1" 2>/dev/null
}

# $1 a step's folder (caller0 ... caller<N-1> in it, each a sipp run with -trace_stat to
# stat.csv and -trace_rtt) $2 N $3 the scenario's name (its rtt file is <name>_*_rtt.csv)
# $4 the callee's delay of its 200 (ms): the callers' sums, failed retrans (stat.csv),
# done1 rate_sum (calls and calls/s of RTD 1); over all their calls (written to
# all_rtt.csv), p50_180 p99_180 max_180 (RTD 1) and p50_200 p99_200 (RTD 2, the delay out)
bench_callers_sum() {
    local k dir rtt n r
    failed=0 retrans=0 rate_sum=0 done1=0
    for ((k = 0; k < $2; k++)); do
        dir=$1/caller$k
        failed=$((failed + $(sipp_stat "$dir/stat.csv" 'FailedCall(C)')))
        retrans=$((retrans + $(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')))
        rtt=$(ls "$dir"/"$3"_*_rtt.csv 2>/dev/null | head -n 1)
        read -r n r _ <<<"$(rtt_stats "$rtt" 1)"
        rate_sum=$((rate_sum + r))
        done1=$((done1 + n))
    done
    cat "$1"/caller*/"$3"_*_rtt.csv >"$1/all_rtt.csv"
    read -r _ _ p50_180 p99_180 max_180 <<<"$(rtt_stats "$1/all_rtt.csv" 1)"
    read -r _ _ p50_200 p99_200 _ <<<"$(rtt_stats "$1/all_rtt.csv" 2 "$4")"
}

heap_kib() {   # $1 daemon address (HTTP on 8080)
    curl -s --max-time 5 "http://$1:8080/metrics" |
        awk '/^process_heap_inuse_bytes / { printf "%d\n", $2 / 1024; f = 1 } END { if (!f) print 0 }'
}

udp_drops() {   # $1 address $2 port -> drops of the socket bound there (0 if none)
    local hex
    hex=$(printf '%02X%02X%02X%02X:%04X' $(echo "$1" | awk -F. '{ print $4, $3, $2, $1 }') "$2")
    awk -v a="$hex" '$2 == a { d += $NF } END { print d + 0 }' /proc/net/udp
}

fd_count() {   # $1 pid -> its open file descriptors (0 when it has gone)
    ls -U "/proc/$1/fd" 2>/dev/null | wc -l
}

metric_sum() {   # NAME... on a /metrics text (stdin) -> the sum of their series
    awk -v names=" $* " '{ n = $1; sub(/\{.*/, "", n) }
        $0 !~ /^#/ && index(names, " " n " ") { s += $NF } END { printf "%.0f\n", s }'
}

loadavg() {
    cut -d' ' -f1-3 /proc/loadavg
}
