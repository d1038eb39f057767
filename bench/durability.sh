#!/usr/bin/env bash
# bench/durability.sh - what a power loss could take from the S-CSCF and the HSS: how often
# each syncs its database to disk under a registration load, with db_sync = normal and full.
#
#   bench/durability.sh [-u USERS] [-r RATE]      default: 3000 users at 200 registrations/s
#
# A crash of the process (SIGKILL) loses nothing committed: a commit is in the operating
# system's page cache whatever PRAGMA synchronous says (tests/e2e/test_crash.sh checks
# that every answer follows its commit). A power loss (or a kernel crash) loses what was
# committed after the last sync of the WAL to disk. This benchmark counts those syncs:
# it starts the lab (run/bench-durability/lab), then for each mode restarts the S-CSCF and
# the HSS under strace (only fsync and fdatasync are traced, with seccomp: the daemons run
# at full speed), registers USERS new bulk users (UE -> P-CSCF, SIP Digest, one sipp) at
# RATE per second and reports, per daemon, the answers that changed its database (the
# registrations), the syncs of its database files, and the longest time without a sync
# during the load: the answers confirmed in that time (about RATE x gap) are what a power
# loss at the worst moment could take. With full every answer waits for a sync (0 exposed).
#
# Needs sipp, strace, jq, curl, ss, flock. Takes the lab lock like the other benchmarks.
set -u
. "$(dirname "$0")/lib.sh"

USERS=3000
RATE=200
while getopts "u:r:h" o; do
    case $o in
        u) USERS=$OPTARG ;;
        r) RATE=$OPTARG ;;
        *) sed -n '2,19p' "$0"; exit 2 ;;
    esac
done
bench_need "" sipp strace jq curl ss flock
MODES=(normal full)
TOTAL=$((USERS * ${#MODES[@]}))

bench_init durability
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80
export IMS_PCSCF_MAX_BINDINGS=$((TOTAL + 1000)) IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
bench_lab_start "$TOTAL"
bench_log "lab started with $TOTAL bulk users; load $(loadavg)"
LAB=$BENCH_RUN/lab

# $1 daemon $2 address $3 mode: stop it, start it again under strace with db_sync = mode
restart_traced() {
    local name=$1 dir=$LAB/$1 pid
    pid=$(pid_of_daemon "$name")
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    local var
    var=IMS_$(echo "$name" | tr a-z A-Z)_DB_SYNC
    env "$var=$3" IMS_NODE_STATE_DIR="$dir" IMS_LOG_FILE="$dir/$name.log" \
        strace -f --seccomp-bpf -qq -y -ttt -e trace=fsync,fdatasync -e signal=none \
        -o "$BENCH_RUN/$name-$3.strace" \
        "$BENCH_BIN/$name" --config "$BENCH_ROOT/deploy/lab/$name.conf" --pidfile "$dir/$name.pid" \
        >>"$dir/$name.out" 2>&1 </dev/null &
    bench_at_exit "kill $! 2>/dev/null"
    local deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(curl -s --max-time 2 "http://$2:8080/health" | jq -r .status 2>/dev/null)" = ok ] &&
            return 0
        sleep 0.3
    done
    echo "bench: $name did not come back under strace" >&2
    exit 1
}

# $1 strace file $2 database file name $3 $4 load start and end (epoch s) ->
# "syncs max_gap_s": syncs of that database's files during the load, longest time without
syncs_of() {
    awk -v db="$2" -v t0="$3" -v t1="$4" '
        $0 ~ ("<[^>]*/" db "(-wal)?>") && $2 + 0 >= t0 && $2 + 0 <= t1 && / = 0$/ {
            n++; t = $2 + 0; if (last == "") last = t0; if (t - last > gap) gap = t - last; last = t }
        END { if (last == "") last = t0; if (t1 - last > gap) gap = t1 - last
              printf "%d %.3f\n", n, gap }' "$1"
}

metric() {   # $1 address $2 metric line prefix -> value
    curl -s "http://$1:8080/metrics" | awk -v m="$2" 'index($0, m " ") == 1 { print $2 }'
}

RESULTS=()
for ((i = 0; i < ${#MODES[@]}; i++)); do
    mode=${MODES[i]}
    restart_traced hss 127.0.0.40 "$mode"
    restart_traced scscf 127.0.0.30 "$mode"
    sleep 2
    dir=$BENCH_RUN/$mode
    mkdir -p "$dir"
    { echo SEQUENTIAL; seq -f 'user%05g' $((i * USERS + 1)) $(((i + 1) * USERS)); } >"$dir/users.csv"
    t0=$(date +%s.%N)
    (cd "$dir" && exec sipp -sf "$BENCH_ROOT/tests/e2e/scenarios/crash_reg.xml" -t un \
        -i 127.0.0.$((110 + i)) -p 5070 -inf users.csv -r "$RATE" -m "$USERS" -l 1000 \
        -max_socket $((USERS + 100)) -key domain "$BENCH_REALM" -auth_uri "$BENCH_REALM" \
        -recv_timeout 10000 -timeout 300s -nostdin -trace_logs -trace_err \
        127.0.0.10:5060 >sipp.out 2>&1)
    t1=$(date +%s.%N)
    ok=$(grep -c '^registered ' "$dir"/*_logs.log 2>/dev/null)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    commits=$(metric 127.0.0.30 scscf_store_commits_total)
    read -r s_syncs s_gap <<<"$(syncs_of "$BENCH_RUN/scscf-$mode.strace" scscf.db "$t0" "$t1")"
    read -r h_syncs h_gap <<<"$(syncs_of "$BENCH_RUN/hss-$mode.strace" hss.db "$t0" "$t1")"
    h_rounds=$(metric 127.0.0.40 hss_db_syncs_total)
    RESULTS+=("$mode scscf $ok $secs ${commits:-0} $s_syncs $s_gap")
    RESULTS+=("$mode hss $ok $secs ${h_rounds:-0} $h_syncs $h_gap")
    bench_log "$mode: $ok registrations in ${secs}s; scscf: $commits batches, $s_syncs syncs, longest gap ${s_gap}s; hss: $h_syncs syncs, longest gap ${h_gap}s"
done

echo
echo "durability benchmark: $USERS registrations at $RATE/s per mode (UE -> P-CSCF, SIP Digest)"
echo "date $(date -u +%FT%TZ), $(nproc) cores, commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null), load $(loadavg)"
echo "syncs: fsync/fdatasync of the daemon's database or WAL during the load; exposed: the"
echo "answers confirmed in the longest stretch without a sync (rate x gap), what a power"
echo "loss at the worst moment could take (0 with full: every answer waits for its sync)"
printf '%-7s %-6s %-6s %-7s %-14s %-6s %-10s %s\n' mode daemon regs secs 'batches/rounds' syncs \
    max_gap_s exposed
for r in "${RESULTS[@]}"; do
    read -r mode d ok secs commits syncs gap <<<"$r"
    exposed=$(awk -v m="$mode" -v ok="$ok" -v s="$secs" -v g="$gap" \
        'BEGIN { if (m == "full") print 0; else printf "~%d\n", (s > 0 ? ok / s : 0) * g }')
    printf '%-7s %-6s %-6s %-7s %-14s %-6s %-10s %s\n' "$mode" "$d" "$ok" "$secs" "$commits" \
        "$syncs" "$gap" "$exposed"
done
echo "kernel writeback of dirty pages: vm.dirty_expire_centisecs=$(cat /proc/sys/vm/dirty_expire_centisecs)," \
    "vm.dirty_writeback_centisecs=$(cat /proc/sys/vm/dirty_writeback_centisecs) (writeback is no flush of the disk's cache)"
