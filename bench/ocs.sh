#!/usr/bin/env bash
# bench/ocs.sh - Ro CCR-I/U/T triples per second and Rf ACRs per second at the OCS, with
# their latency.
#
#   bench/ocs.sh [USERS] [CONCURRENCY...]      default: 5000 users, concurrency 8 32
#
# Starts the OCS alone on its lab address with the lab configuration (state in
# run/bench-ocs; it takes the machine's lab lock, so no lab test runs meanwhile), creates
# USERS prepaid accounts user00001.. with ample credit, then for each concurrency:
#   ro: every user's CCR-INITIAL (60 s), CCR-UPDATE (60 s used, 60 more), CCR-TERMINATION
#       (30 s used) in one session: reserve, charge and re-reserve, charge and release;
#   rf: every user's ACR START, INTERIM, STOP in one session (one CDR each).
# Every request is one SQLite transaction committed with synchronous = FULL before the
# answer leaves. diamcli runs on the same 2 cores as the OCS. A benchmark, not a test: it
# asserts nothing but the absence of failed answers.
set -u
cd "$(dirname "$0")/.." || exit 1
USERS=${1:-5000}
shift
LEVELS=("$@")
[ ${#LEVELS[@]} -eq 0 ] && LEVELS=(8 32)
R=ims.mnc001.mcc001.3gppnetwork.org
RUN=run/bench-ocs
BIN=${IMS_LAB_BIN:-build/bin}
API=http://127.0.0.80:8080/api/v1

exec {LOCK}>"${IMS_LAB_LOCK:-/tmp/ims-lab.lock}"
flock -w 1800 "$LOCK" || { echo "bench: the lab lock was not released" >&2; exit 1; }
if ss -Hlnt 2>/dev/null | grep -q '127\.0\.0\.80:\(3868\|8080\) '; then
    echo "bench: 127.0.0.80 is in use (a lab running?): stop it first (make lab-stop)" >&2
    exit 1
fi
rm -rf "$RUN"
mkdir -p "$RUN"
# plain TCP: diamcli has no TLS (the lab's peers use TLS: deploy/pki.sh)
IMS_DIAMETER_TLS=no IMS_NODE_STATE_DIR=$RUN IMS_LOG_FILE=$RUN/ocs.log IMS_LOG_LEVEL=warn \
    "$BIN/ocs" --config deploy/lab/ocs.conf >"$RUN/ocs.out" 2>&1 &
OCS=$!
trap 'kill -TERM $OCS 2>/dev/null; wait $OCS 2>/dev/null' EXIT
for _ in $(seq 50); do
    curl -sf http://127.0.0.80:8080/health >/dev/null && break
    sleep 0.1
done
jq -n --argjson n "$USERS" --arg r "$R" '{
    accounts: [range(1; $n + 1) | ("user" + ("0000" + tostring)[-5:]) as $u |
        {name: $u, type: "prepaid", balance: 100000000, identities: ["sip:\($u)@\($r)"]}],
    rates: [{service: "voice", prefix: "", unit: "second", price: 1}]}' >"$RUN/seed.json"
curl -sf -X POST -H 'Authorization: Bearer ims-lab-token' -H 'Content-Type: application/json' \
    --data-binary "@$RUN/seed.json" "$API/seed" >/dev/null || { echo "bench: seed failed" >&2; exit 1; }

INFO='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"INVITE"},"Node-Functionality":0,"Role-Of-Node":0,"Called-Party-Address":"sip:bob@'$R'","IMS-Charging-Identifier":"bench-%n"}}'
CCR='"Auth-Application-Id":4,"Service-Context-Id":"32260@3gpp.org"'
cat >"$RUN/ro.script" <<SCRIPT
{"cmd":"CCR","expect":2001,"avps":{$CCR,"CC-Request-Type":1,"CC-Request-Number":0,"Subscription-Id":{"Subscription-Id-Type":2,"Subscription-Id-Data":"sip:user%05n@$R"},"Multiple-Services-Credit-Control":{"Requested-Service-Unit":{"CC-Time":60},"Rating-Group":1},$INFO}}
{"cmd":"CCR","session":"keep","expect":2001,"avps":{$CCR,"CC-Request-Type":2,"CC-Request-Number":1,"Multiple-Services-Credit-Control":{"Requested-Service-Unit":{"CC-Time":60},"Used-Service-Unit":{"CC-Time":60},"Rating-Group":1}}}
{"cmd":"CCR","session":"keep","expect":2001,"avps":{$CCR,"CC-Request-Type":3,"CC-Request-Number":2,"Multiple-Services-Credit-Control":{"Used-Service-Unit":{"CC-Time":30},"Rating-Group":1}}}
SCRIPT
ACR='"Acct-Application-Id":3,"Service-Context-Id":"32260@3gpp.org"'
cat >"$RUN/rf.script" <<SCRIPT
{"cmd":"ACR","expect":2001,"avps":{$ACR,"Accounting-Record-Type":2,"Accounting-Record-Number":0,$INFO}}
{"cmd":"ACR","session":"keep","expect":2001,"avps":{$ACR,"Accounting-Record-Type":3,"Accounting-Record-Number":1,$INFO}}
{"cmd":"ACR","session":"keep","expect":2001,"avps":{$ACR,"Accounting-Record-Type":4,"Accounting-Record-Number":2,$INFO}}
SCRIPT

echo "ocs benchmark: $USERS users; ro = CCR I+U+T per user, rf = ACR START+INTERIM+STOP"
printf '%-6s %-12s %-10s %-12s %-12s %-8s %-8s %-8s %-8s %-9s %s\n' kind concurrency requests \
    requests/s per_user/s p50_ms p90_ms p99_ms max_ms failures ocs_cpu_us/request
# the OCS's CPU time (user + system, all threads) in clock ticks
ocs_ticks() { awk '{print $14 + $15}' "/proc/$OCS/stat"; }
HZ=$(getconf CLK_TCK)
n=0
for c in "${LEVELS[@]}"; do
    for kind in ro rf; do
        n=$((n + 1))   # a client identity per run: its Session-Ids are new
        t0=$(ocs_ticks)
        out=$("$BIN/diamcli" --peer "ocs.$R@127.0.0.80" --identity "bench$n.$R" \
              --address 127.0.1.11 --script "$RUN/$kind.script" --users "$USERS" \
              --concurrency "$c" --quiet 2>"$RUN/diamcli-$kind-$c.err" | tail -n 1)
        sleep 0.2   # the last commits and answers
        cpu=$(awk -v a="$t0" -v b="$(ocs_ticks)" -v hz="$HZ" -v n="$USERS" \
              'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / (3 * n) }')
        jq -r --arg c "$c" --arg k "$kind" '[$k, $c, .requests, (.per_second | floor),
                         ((.per_second / 3) | floor), .latency_ms.p50, .latency_ms.p90,
                         .latency_ms.p99, .latency_ms.max, .failures] | map(tostring) | .[]' \
            <<<"$out" | paste -sd' ' |
            awk -v cpu="$cpu" '{printf "%-6s %-12s %-10s %-12s %-12s %-8.2f %-8.2f %-8.2f %-8.2f %-9s %s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,cpu}'
    done
done
echo "ocs resident memory: $(curl -s http://127.0.0.80:8080/metrics | awk '/^process_resident_memory_bytes/ {printf "%.1f MiB", $2/1048576}')"
