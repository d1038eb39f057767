#!/usr/bin/env bash
# bench/mrfc.sh - how many announcement legs and conference legs the MRF paces at 20 ms.
#
#   bench/mrfc.sh [SECONDS] [ANNC_LEVELS] [CONF_LEVELS]
#       default: 10 s per level, announcement legs "50 100 200 300 400 500", conference
#       legs (3 parties a conference, each sending a tone) "30 60 120 240 360 480"
#
# Starts the mrfc daemon alone on its lab address with the lab configuration (500 port
# pairs, max_sessions 500, no charging), in a network namespace of its own when it can
# (root and unshare), else in the machine's with the lab lock. For each kind of leg it
# steps the number of legs up, each level with tests/tools/rtpload (one process, every leg
# on its own RTP port, kernel receive timestamps): the error of the interval between
# consecutive packets against 20 ms (p50, p99, p99.9, max), the loss, the MRF's CPU time
# (percent of one core) and its own view of the tick (late and skipped ticks, the work of
# one tick). The pacing holds while p99 <= 5 ms (a quarter of a packet, well within any
# receiver's jitter buffer), the loss <= 0.1 % and no tick is skipped;
# IMS_MRFC_RT_PRIORITY=N runs the media thread at SCHED_FIFO priority N (mrfc.rt_priority).
# The stepping stops at the first level where it breaks (IMS_BENCH_KEEP_GOING=1 runs every
# level; IMS_BENCH_P99_MS changes the 5 ms). legs/core: the legs one core would carry at the
# CPU time measured (legs / cpu share). rtpload runs on the same cores as the MRF: on a
# 2-core machine its own receiving is part of what is measured, and so is any other load.
# A benchmark, not a test: never run by make test.
set -u
cd "$(dirname "$0")/.." || exit 1
SECONDS_PER=${1:-10}
ANNC=${2:-50 100 200 300 400 500}
CONF=${3:-30 60 120 240 360 480}
BIN=${IMS_LAB_BIN:-build/bin}
RUN=run/bench-mrfc
MRF=127.0.0.60

if [ "${IMS_BENCH_IN_NETNS:-}" != 1 ] && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    exec unshare -n env IMS_BENCH_IN_NETNS=1 bash -c 'ip link set lo up && exec "$@"' \
        bench-mrfc "$0" "$@"
fi
if [ "${IMS_BENCH_IN_NETNS:-}" != 1 ]; then
    exec {LOCK_FD}>"${IMS_LAB_LOCK:-/tmp/ims-lab.lock}"
    flock -w 1800 "$LOCK_FD" || { echo "bench: the lab lock was not released" >&2; exit 1; }
    if ss -Hlnu 2>/dev/null | grep -q "$MRF:5060 "; then
        echo "bench: $MRF is in use (a lab running?): stop it first (make lab-stop)" >&2
        exit 1
    fi
fi
for t in mrfc rtpload; do
    [ -x "$BIN/$t" ] || { echo "bench: $BIN/$t missing: run make" >&2; exit 1; }
done
rm -rf "$RUN"
mkdir -p "$RUN"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

IMS_NODE_STATE_DIR=$RUN IMS_LOG_FILE=$RUN/mrfc.log IMS_LOG_LEVEL=warn \
    IMS_MRFC_MAX_SESSIONS=500 IMS_MRFC_RTP_TIMEOUT=0 IMS_CHARGING_CDF= IMS_CHARGING_OCS= \
    IMS_DIAMETER_TLS=no IMS_DIAMETER_PEERS= IMS_MRFC_CFW_TLS_PORT=0 \
    IMS_MRFC_RT_PRIORITY=${IMS_MRFC_RT_PRIORITY:-0} \
    IMS_MRFC_PROMPTS_DIR="$(cd "$BIN/.." && pwd)/prompts" \
    "$BIN/mrfc" --config deploy/lab/mrfc.conf >"$RUN/mrfc.out" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -sf "http://$MRF:8080/health" >/dev/null && break
    sleep 0.1
done
curl -sf "http://$MRF:8080/health" >/dev/null || { echo "bench: mrfc did not start" >&2;
    cat "$RUN/mrfc.out" "$RUN/mrfc.log" >&2; exit 1; }

metric() { curl -s --max-time 5 "http://$MRF:8080/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)

P99_MAX=${IMS_BENCH_P99_MS:-5}
printf '%-6s %5s %8s %7s %7s %7s %7s %7s %7s %9s %6s %6s %8s  %s\n' kind legs packets loss% \
    p50ms p99ms p999ms maxms cpu% legs/core late skip tick_us verdict
run_level() {   # KIND LEGS: one level; returns 1 when the pacing broke
    local kind=$1 n=$2 uri send=() k=() out
    if [ "$kind" = annc ]; then
        uri="sip:annc@$MRF;play=tone:dial"
    else
        uri="sip:conf=bench%d@$MRF"
        send=(--send tone:700)
        k=(--conf-size 3)
    fi
    local late0 skip0 work0 wcount0 cpu0 t0
    late0=$(metric mrfc_media_ticks_late_total)
    skip0=$(metric mrfc_media_ticks_skipped_total)
    work0=$(metric mrfc_media_tick_work_seconds_sum)
    wcount0=$(metric mrfc_media_tick_work_seconds_count)
    cpu0=$(cpu)
    t0=$(date +%s.%N)
    out=$("$BIN/rtpload" --sip 127.0.0.90:5070 --rtp 127.0.0.111:30000 --to "$uri" \
        --legs "$n" "${k[@]}" "${send[@]}" --seconds "$SECONDS_PER" --rate 200 2>&1)
    printf '%s\n' "$out" >>"$RUN/rtpload.out"
    local line
    line=$(printf '%s\n' "$out" | grep '^load ')
    [ -n "$line" ] || { echo "bench: rtpload failed: $out" >&2; return 1; }
    v() { printf '%s\n' "$line" | sed -n "s/.*\b$1=\([^ ]*\).*/\1/p"; }
    local secs late skip tick_us cpu_pct verdict=holds rc=0
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    cpu_pct=$(awk -v a="$cpu0" -v b="$(cpu)" -v hz="$HZ" -v s="$secs" \
        'BEGIN { printf "%.1f", 100 * (b - a) / hz / s }')
    late=$(awk -v a="$late0" -v b="$(metric mrfc_media_ticks_late_total)" 'BEGIN { print b - a }')
    skip=$(awk -v a="$skip0" -v b="$(metric mrfc_media_ticks_skipped_total)" 'BEGIN { print b - a }')
    tick_us=$(awk -v a="$work0" -v b="$(metric mrfc_media_tick_work_seconds_sum)" \
        -v c="$wcount0" -v d="$(metric mrfc_media_tick_work_seconds_count)" \
        'BEGIN { printf "%.0f", (d > c ? 1e6 * (b - a) / (d - c) : 0) }')
    if [ "$(v answered)" != "$n" ] ||
        ! awk -v p="$(v err_ms_p99)" -v l="$(v loss_pct)" -v s="$skip" -v m="$P99_MAX" \
            'BEGIN { exit !(p <= m && l <= 0.1 && s == 0) }'; then
        verdict=BROKEN
        rc=1
    fi
    local per_core
    per_core=$(awk -v n="$n" -v c="$cpu_pct" 'BEGIN { printf "%.0f", (c > 0 ? n * 100 / c : 0) }')
    printf '%-6s %5s %8s %7s %7s %7s %7s %7s %7s %9s %6s %6s %8s  %s\n' "$kind" "$n" \
        "$(v packets)" "$(v loss_pct)" "$(v err_ms_p50)" "$(v err_ms_p99)" "$(v err_ms_p999)" \
        "$(v err_ms_max)" "$cpu_pct" "$per_core" "$late" "$skip" "$tick_us" "$verdict"
    sleep 2                       # the BYEs, the legs closed, the ports free again
    return $rc
}
for n in $ANNC; do
    run_level annc "$n" || [ "${IMS_BENCH_KEEP_GOING:-0}" = 1 ] || break
done
for n in $CONF; do
    run_level conf "$n" || [ "${IMS_BENCH_KEEP_GOING:-0}" = 1 ] || break
done
echo "bench: $(nproc) cores; logs in $RUN"
