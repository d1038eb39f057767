#!/usr/bin/env bash
# bench/hss.sh - MAR + SAR pairs per second at the HSS, and their latency.
#
#   bench/hss.sh [USERS] [CONCURRENCY...]      default: 20000 users, concurrency 8 16 32 64
#
# Starts the HSS alone on its lab address with the lab configuration (state in
# run/bench-hss), bulk-creates USERS subscribers (user00001.. of LAB.md), then for each
# concurrency runs every user's MAR (SIP Digest) followed by its SAR (REGISTRATION, with
# User-Data) from diamcli, and prints the answers per second and the latency percentiles.
# The first run registers every user for the first time (the HSS stores the S-CSCF at MAR
# and the registration at SAR); the following runs are re-registrations. diamcli runs on
# the same 2 cores as the HSS. A benchmark, not a test: it asserts nothing but the absence
# of failed answers.
set -u
cd "$(dirname "$0")/.." || exit 1
USERS=${1:-20000}
shift
LEVELS=("$@")
[ ${#LEVELS[@]} -eq 0 ] && LEVELS=(8 16 32 64)
R=ims.mnc001.mcc001.3gppnetwork.org
RUN=run/bench-hss
BIN=${IMS_LAB_BIN:-build/bin}

# one lab user at a time on this machine: the tests take the same lock (tests/lib/e2e.sh)
exec {LOCK_FD}>"${IMS_LAB_LOCK:-/tmp/ims-lab.lock}"
flock -w 1800 "$LOCK_FD" || { echo "bench: the lab lock was not released" >&2; exit 1; }
if ss -Hlnt 2>/dev/null | grep -q '127\.0\.0\.40:\(3868\|8080\) '; then
    echo "bench: 127.0.0.40 is in use (a lab running?): stop it first (make lab-stop)" >&2
    exit 1
fi
rm -rf "$RUN"
mkdir -p "$RUN"
IMS_NODE_STATE_DIR=$RUN IMS_LOG_FILE=$RUN/hss.log IMS_LOG_LEVEL=warn \
    "$BIN/hss" --config deploy/lab/hss.conf >"$RUN/hss.out" 2>&1 &
HSS=$!
trap 'kill -TERM $HSS 2>/dev/null; wait $HSS 2>/dev/null' EXIT
for _ in $(seq 50); do
    curl -sf http://127.0.0.40:8080/health >/dev/null && break
    sleep 0.1
done
hss/hssctl --url http://127.0.0.40:8080 --token ims-lab-token bulk "$USERS" >/dev/null || exit 1

cat >"$RUN/pair.script" <<SCRIPT
{"cmd":"MAR","expect":2001,"avps":{"User-Name":"user%05n@$R","Public-Identity":"sip:user%05n@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"SIP Digest"},"Server-Name":"sip:scscf.$R:5060"}}
{"cmd":"SAR","expect":2001,"avps":{"User-Name":"user%05n@$R","Public-Identity":"sip:user%05n@$R","Server-Name":"sip:scscf.$R:5060","Server-Assignment-Type":1,"User-Data-Already-Available":0}}
SCRIPT

echo "hss benchmark: $USERS users, MAR (SIP Digest) + SAR (REGISTRATION, User-Data) each"
printf '%-8s %-12s %-10s %-12s %-8s %-8s %-8s %-8s %s\n' run concurrency answers answers/s \
    p50_ms p90_ms p99_ms max_ms failures
n=0
for c in "${LEVELS[@]}"; do
    n=$((n + 1))
    kind=$([ $n -eq 1 ] && echo initial || echo re-reg)
    out=$("$BIN/diamcli" --peer "hss.$R@127.0.0.40" --identity "bench.$R" --address 127.0.1.11 \
          --script "$RUN/pair.script" --users "$USERS" --concurrency "$c" --quiet \
          2>"$RUN/diamcli-$c.err" | tail -n 1)
    jq -r --arg c "$c" --arg k "$kind" '[$k, $c, .requests, (.per_second | floor),
                         .latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms.max,
                         .failures] | map(tostring) | .[] ' <<<"$out" | paste -sd' ' |
        awk '{printf "%-8s %-12s %-10s %-12s %-8.2f %-8.2f %-8.2f %-8.2f %s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9}'
done
echo "hss resident memory: $(curl -s http://127.0.0.40:8080/metrics | awk '/^process_resident_memory_bytes/ {printf "%.1f MiB", $2/1048576}')"
