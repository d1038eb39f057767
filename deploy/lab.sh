#!/usr/bin/env bash
# The loopback lab: the eight daemons on their ../shared/LAB.md addresses, the IBCF (ibcf,
# on 127.0.0.55, proposed for LAB.md) and the MRB (mrb, on 127.0.0.65 beside the MRF: it is
# not one of the eight functions of LAB.md).
#
#   deploy/lab.sh start    start every daemon, wait for /health ok, print the table
#   deploy/lab.sh stop     stop them (SIGTERM, then SIGKILL after a grace period)
#   deploy/lab.sh status   print the table again
#   deploy/lab.sh start-one NAME   start that one daemon (or test peer: pstn, mgw) again (a
#                          test that stopped it), with the same environment as `start`; no
#                          waiting, no seeding
#
# Environment:
#   IMS_LAB_RUN   run folder (default run/lab): one sub-folder per daemon with its log,
#                 pid file and state (databases). `stop` leaves it for inspection.
#   IMS_LAB_BIN   folder of the binaries (default build/bin)
#   IMS_LAB_WAIT  seconds to wait for every /health to say ok (default 40)
#   IMS_LAB_BULK  also create this many benchmark subscribers user00001.. (default 0)
#   IMS_LAB_CONF  folder of the daemons' configurations (default deploy/lab; a test gives a
#                 modified copy, e.g. tests/e2e/test_mw_tls.sh)
#   IMS_LAB_TLS_KEYLOG  a file: the daemons write their TLS session keys there (gnutls'
#                 SSLKEYLOGFILE; for OpenSSL, i.e. SIP over TLS, the build's lib/sslkeylog.so
#                 is preloaded), so that tshark can decode the lab's Diameter and SIP over TLS
#                 (tshark -o tls.keylog_file:FILE). For debugging and the tests only.
#   IMS_LAB_PSTN_ARGS  arguments of the test PSTN switch (default: the numbers below)
#   IMS_LAB_MGW_ARGS   more arguments of the test media gateway (default: none)
#
# Beside the daemons, `start` runs the two test peers of LAB.md the mgcf works with (they
# are tests/tools, not part of the product): the PSTN switch tests/tools/pstn (ISUP over
# M3UA, 127.0.0.100:2905) and the media gateway tests/tools/mgw (H.248, 127.0.0.101:2944,
# RTP 30000-30999). They start first and stop last; their output is in $RUN/pstn/pstn.out
# and $RUN/mgw/mgw.out. The PSTN's numbers: +19995550486 is busy, +19995550480 rings and is
# never answered, +19995550404 does not exist (cause 1); every other number answers.
#
# Diameter between our daemons runs over TLS: `start` first makes the lab PKI in
# $RUN/pki (deploy/pki.sh: a lab CA, one certificate per function and one for the test AS;
# kept while still good) and gives every daemon its certificate, key, the CA and the DH
# parameters through IMS_DIAMETER_TLS_CERT, _KEY, _CA and _DH; the same certificate serves
# SIP over TLS (the P-CSCF's 5061) through IMS_SIP_TLS_CERT, _KEY and _CA.
#
# Once the hss is healthy, `start` seeds it with the demo subscribers of LAB.md
# (deploy/lab/subscribers.json, through hss/hssctl; idempotent, SQNs never go back), and
# the ocs with their charging accounts and the rating table (deploy/lab/charging.json;
# idempotent, the balance of an existing account is kept).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
RUN=${IMS_LAB_RUN:-run/lab}
BIN=${IMS_LAB_BIN:-build/bin}
WAIT=${IMS_LAB_WAIT:-40}
CONF=${IMS_LAB_CONF:-deploy/lab}
BULK=${IMS_LAB_BULK:-0}
HSS_API=http://127.0.0.40:8080
HSS_TOKEN=ims-lab-token   # api_token of deploy/lab/hss.conf (the lab only)
OCS_API=http://127.0.0.80:8080
OCS_TOKEN=ims-lab-token   # api_token of deploy/lab/ocs.conf (the lab only)

# function, address, ports (for the table); start order: servers first
LAB=(
    "hss   127.0.0.40 diameter:5868/tls+3868/tcp"
    "ocs   127.0.0.80 diameter:5868/tls+3868/tcp"
    "scscf 127.0.0.30 sip:5060/udp+tcp"
    "icscf 127.0.0.20 sip:5060/udp+tcp"
    "pcscf 127.0.0.10 sip:5060/udp+tcp+5061/tls"
    "bgcf  127.0.0.50 sip:5060/udp+tcp"
    "ibcf  127.0.0.55 sip:5060/udp+tcp"
    "mrfc  127.0.0.60 sip:5060/udp+tcp"
    "mrb   127.0.0.65 sip:5060/udp+tcp"
    "mgcf  127.0.0.70 sip:5060/udp+tcp"
)

# test peers (tests/tools): name, address, ports; started before the daemons
PEERS=(
    "pstn  127.0.0.100 m3ua:2905/tcp"
    "mgw   127.0.0.101 h248:2944/udp"
)
PSTN_ARGS=${IMS_LAB_PSTN_ARGS:---number 19995550486=busy --number 19995550480=ring --number 19995550404=reject:1}
MGW_ARGS=${IMS_LAB_MGW_ARGS:-}

health() {   # $1 address -> prints the /health body, empty when unreachable
    curl -s --max-time 2 "http://$1:8080/health" 2>/dev/null
}

status_of() {   # $1 health JSON -> ok | degraded | down | unreachable
    local s
    s=$(printf '%s' "$1" | sed -n 's/^{"status":"\([a-z]*\)".*/\1/p')
    echo "${s:-unreachable}"
}

pid_of() {   # $1 daemon -> pid when running
    local f="$RUN/$1/$1.pid" p
    [ -f "$f" ] || return 1
    p=$(cat "$f" 2>/dev/null)
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

table() {
    printf '%-6s %-11s %-36s %-10s %s\n' FUNCTION ADDRESS PORTS HEALTH PID
    local line name addr ports h
    for line in "${LAB[@]}"; do
        read -r name addr ports <<<"$line"
        h=$(status_of "$(health "$addr")")
        printf '%-6s %-11s %-36s %-10s %s\n' "$name" "$addr" "$ports http:8080" "$h" \
            "$(pid_of "$name" || echo -)"
    done
    for line in "${PEERS[@]}"; do
        read -r name addr ports <<<"$line"
        h=down
        pid_of "$name" >/dev/null && h="test peer"
        printf '%-6s %-11s %-36s %-10s %s\n' "$name" "$addr" "$ports" "$h" \
            "$(pid_of "$name" || echo -)"
    done
}

start_peer() {   # $1 test peer (pstn, mgw): started in the background
    local name=$1 dir="$RUN/$1" args
    if pid_of "$name" >/dev/null; then
        echo "lab: $name already running (pid $(pid_of "$name"))"
        return 0
    fi
    mkdir -p "$dir"
    case "$name" in
        pstn) read -ra args <<<"--listen 127.0.0.100:2905 --peer 127.0.0.70 $PSTN_ARGS" ;;
        mgw) read -ra args <<<"--listen 127.0.0.101:2944 --mgc 127.0.0.70:2944 $MGW_ARGS" ;;
        *) return 2 ;;
    esac
    "$BIN/$name" "${args[@]}" >>"$dir/$name.out" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
    sleep 0.2
    if ! pid_of "$name" >/dev/null; then
        echo "lab: the test peer $name did not start; its output ($dir/$name.out):" >&2
        tail -n 5 "$dir/$name.out" >&2
        return 1
    fi
}

port_users() {   # $1 address -> listeners already bound on it (other than ours)
    ss -Hlntup 2>/dev/null | awk -v a="$1" '$5 ~ "^"a":" || $5 ~ "^0.0.0.0:(5060|3868|5868|8080)$" {print $1, $5, $7}'
}

start_one() {   # $1 daemon $2 address
    local name=$1 dir="$RUN/$1"
    if pid_of "$name" >/dev/null; then
        echo "lab: $name already running (pid $(pid_of "$name"))"
        return 0
    fi
    local busy
    busy=$(port_users "$2")
    if [ -n "$busy" ]; then
        echo "lab: cannot start $name: its address $2 already has listeners:" >&2
        echo "$busy" | sed 's/^/lab:   /' >&2
        echo "lab: stop them (a distribution kamailio service? another lab?) and retry" >&2
        return 1
    fi
    mkdir -p "$dir"
    local pki=$RUN/pki keylog=()
    [ -n "${IMS_LAB_TLS_KEYLOG:-}" ] && keylog=(SSLKEYLOGFILE="$IMS_LAB_TLS_KEYLOG")
    if [ -n "${IMS_LAB_TLS_KEYLOG:-}" ] && [ -f "$BIN/../lib/sslkeylog.so" ]; then
        keylog+=(LD_PRELOAD="$(cd "$BIN/../lib" && pwd)/sslkeylog.so")
    fi
    # the MRF plays the prompts built with its binary (build/prompts beside build/bin)
    env "${keylog[@]}" IMS_NODE_STATE_DIR="$dir" IMS_LOG_FILE="$dir/$name.log" \
        IMS_MRFC_PROMPTS_DIR="${IMS_MRFC_PROMPTS_DIR:-$(cd "$BIN/.." && pwd)/prompts}" \
        IMS_DIAMETER_TLS_CERT="$pki/$name.crt" IMS_DIAMETER_TLS_KEY="$pki/$name.key" \
        IMS_DIAMETER_TLS_CA="$pki/ca.crt" IMS_DIAMETER_TLS_DH="$pki/dh.pem" \
        IMS_SIP_TLS_CERT="$pki/$name.crt" IMS_SIP_TLS_KEY="$pki/$name.key" \
        IMS_SIP_TLS_CA="$pki/ca.crt" \
        "$BIN/$name" --config "$CONF/$name.conf" --pidfile "$dir/$name.pid" \
        >>"$dir/$name.out" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
}

wait_ok() {   # $1 daemon $2 address; waits for status ok
    local deadline=$((SECONDS + WAIT)) h s
    while [ $SECONDS -lt $deadline ]; do
        if ! pid_of "$1" >/dev/null; then
            echo "lab: $1 exited during start; its log ($RUN/$1):" >&2
            tail -n 20 "$RUN/$1/$1.out" "$RUN/$1/$1.log" 2>/dev/null >&2
            return 1
        fi
        h=$(health "$2")
        s=$(status_of "$h")
        [ "$s" = ok ] && return 0
        sleep 0.2
    done
    echo "lab: $1 is not healthy after ${WAIT}s (status: $s)" >&2
    [ -n "$h" ] && echo "lab: /health says: $h" >&2
    echo "lab: last lines of $RUN/$1/$1.log:" >&2
    tail -n 15 "$RUN/$1/$1.log" 2>/dev/null >&2
    return 1
}

seed_hss() {   # the LAB.md subscribers, then IMS_LAB_BULK benchmark subscribers
    local ctl=(hss/hssctl --url "$HSS_API" --token "$HSS_TOKEN")
    if ! "${ctl[@]}" seed "$CONF/subscribers.json" >/dev/null; then
        echo "lab: seeding the hss with $CONF/subscribers.json failed (above);" \
            "the hss is left running, 'make lab-stop' stops it" >&2
        return 1
    fi
    echo "lab: hss seeded with the subscribers of $CONF/subscribers.json"
    [ "$BULK" -gt 0 ] || return 0
    if ! "${ctl[@]}" bulk "$BULK" >/dev/null; then
        echo "lab: bulk creation of $BULK benchmark subscribers failed (above)" >&2
        return 1
    fi
    echo "lab: hss holds the benchmark subscribers user00001..$(printf 'user%05d' "$BULK")"
}

seed_ocs() {   # LAB.md charging accounts and rates (the balance of a live account is kept)
    local out
    if ! out=$(curl -sS --max-time 10 -X POST -H "Authorization: Bearer $OCS_TOKEN" \
        -H 'Content-Type: application/json' --data-binary "@$CONF/charging.json" \
        -w '\n%{http_code}' "$OCS_API/api/v1/seed" 2>&1) || [ "${out##*$'\n'}" != 200 ]; then
        echo "lab: seeding the ocs with $CONF/charging.json failed: ${out%$'\n'*}" >&2
        return 1
    fi
    echo "lab: ocs seeded with the accounts and rates of $CONF/charging.json"
}

cmd_start() {
    local line name addr ports
    if ! [[ $BULK =~ ^[0-9]+$ ]]; then
        echo "lab: IMS_LAB_BULK must be a number of subscribers, not '$BULK'" >&2
        return 1
    fi
    BULK=$((10#$BULK))
    for line in "${LAB[@]}" "${PEERS[@]}"; do
        read -r name addr ports <<<"$line"
        if [ ! -x "$BIN/$name" ]; then
            echo "lab: $BIN/$name is missing: run 'make' first" >&2
            return 1
        fi
    done
    mkdir -p "$RUN"
    if ! deploy/pki.sh "$RUN/pki"; then
        echo "lab: cannot make the lab PKI in $RUN/pki (above)" >&2
        return 1
    fi
    # the mgcf's PSTN switch and media gateway first: the mgcf is healthy once it has both
    for line in "${PEERS[@]}"; do
        read -r name addr ports <<<"$line"
        start_peer "$name" || { cmd_stop; return 1; }
    done
    # the servers first, so that the clients' first connection attempt succeeds
    for line in "${LAB[@]}"; do
        read -r name addr ports <<<"$line"
        start_one "$name" "$addr" || { cmd_stop; return 1; }
        if [ "$name" = hss ] || [ "$name" = ocs ]; then
            wait_ok "$name" "$addr" || return 1
        fi
        if [ "$name" = hss ]; then
            seed_hss || return 1
        fi
        if [ "$name" = ocs ]; then
            seed_ocs || return 1
        fi
    done
    for line in "${LAB[@]}"; do
        read -r name addr ports <<<"$line"
        wait_ok "$name" "$addr" || {
            echo "lab: the other daemons are left running; 'make lab-stop' stops them" >&2
            return 1
        }
    done
    echo "lab: all daemons healthy; logs and state in $RUN/"
    table
}

stop_group() {   # $@ daemon names: SIGTERM them together, wait, SIGKILL the stubborn
    local name pid left=() item
    for name in "$@"; do
        pid=$(pid_of "$name") || continue
        kill -TERM "$pid" 2>/dev/null
        left+=("$name:$pid")
    done
    local deadline=$((SECONDS + 10))
    for item in "${left[@]}"; do
        name=${item%%:*}
        pid=${item##*:}
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "lab: $name (pid $pid) ignored SIGTERM for 10s: killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$RUN/$name/$name.pid"
        STOPPED=$((STOPPED + 1))
    done
}

cmd_stop() {
    # the Diameter clients first, so that their disconnect (DPR) still finds the servers
    local line name addr ports clients=() servers=()
    for line in "${LAB[@]}"; do
        read -r name addr ports <<<"$line"
        case "$name" in
            hss | ocs) servers+=("$name") ;;
            *) clients+=("$name") ;;
        esac
    done
    local peers=()
    for line in "${PEERS[@]}"; do
        read -r name addr ports <<<"$line"
        peers+=("$name")
    done
    STOPPED=0
    stop_group "${clients[@]}"
    stop_group "${servers[@]}"
    local daemons=$STOPPED
    stop_group "${peers[@]}"
    echo "lab: stopped $daemons daemon(s) and $((STOPPED - daemons)) test peer(s); logs and" \
        "state left in $RUN/"
}

cmd_start_one() {   # $1 daemon name
    local line name addr ports
    for line in "${LAB[@]}"; do
        read -r name addr ports <<<"$line"
        if [ "$name" = "${1:-}" ]; then
            deploy/pki.sh "$RUN/pki" || return 1
            start_one "$name" "$addr"
            return
        fi
    done
    for line in "${PEERS[@]}"; do
        read -r name addr ports <<<"$line"
        if [ "$name" = "${1:-}" ]; then
            start_peer "$name"
            return
        fi
    done
    echo "lab: no daemon '${1:-}' in the lab" >&2
    return 2
}

case "${1:-}" in
    start) cmd_start ;;
    start-one) cmd_start_one "${2:-}" ;;
    stop) cmd_stop ;;
    status) table ;;
    *) echo "usage: $0 start|stop|status|start-one NAME" >&2; exit 2 ;;
esac
