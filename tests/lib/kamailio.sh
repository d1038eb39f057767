# shellcheck shell=bash disable=SC2034
# tests/lib/kamailio.sh - Kamailio IMS peers beside the lab, for the interop tests (source it
# after tests/lib/e2e.sh and e2e_init; do not run it).
#
#   kam_hosts_add "ADDR NAME" ...    the names Kamailio resolves (cdp finds its Diameter peers
#                                    by host name only; the CSCFs send to names), written to
#                                    /etc/hosts between the markers below; removed again by
#                                    e2e_cleanup on every way out (kam_init arranges it)
#   kam_hosts_remove                 removes the block (also one left by a run killed with
#                                    SIGKILL: kam_init calls it first)
#   kam_check_cfg NAME               kamailio -c of tests/interop/kamailio/NAME.cfg
#   kam_start NAME [ARGS...]         Kamailio with NAME.cfg in the foreground (-DD -E), its own
#                                    runtime folder, log in run/e2e-<test>/kamailio-NAME/
#   kam_stop NAME / kam_stop_all     SIGTERM, SIGKILL of its process group after 10 s
#   kam_running NAME                 the main process is alive
#   kam_left                         pids of this run's Kamailio processes still alive
#   kam_wait_listen ADDR:PORT SECS   until something listens there on UDP
#   kam_peer_state IDENTITY          its state in the HSS's /health ("open", ...)
#   kam_wait_peers SECS IDENTITY...  until the HSS lists every one as open
#   kam_log_problems                 crash / memory / dropped Diameter lines of the logs
#   pcscf2_start ADDR ICSCF HOSTS TRUSTED
#                                    a P-CSCF of ours with a configuration of this test
#   pcscf2_stop                      SIGTERM (status in PCSCF2_RC), SIGKILL after 10 s
#
# Needs root (/etc/hosts). The Kamailio configurations read their own files from
# $KAM_IMS_DIR (tests/interop/kamailio).

KAM_DIR=$E2E_ROOT/tests/interop/kamailio
KAM_HOSTS_BEGIN="# ims-core e2e kamailio begin"
KAM_HOSTS_END="# ims-core e2e kamailio end"
KAM_HOSTS_ADDED=0
declare -A KAM_PID=()
PCSCF2_PID=
PCSCF2_DIR=
PCSCF2_RC=

kam_init() {   # call once after e2e_init: stale /etc/hosts block away, cleanup hooks
    kam_hosts_remove
    # e2e_cleanup runs these last added first: Kamailio stops, then /etc/hosts is restored,
    # then (e2e.sh) the capture and the lab stop
    e2e_at_cleanup kam_hosts_cleanup
    e2e_at_cleanup pcscf2_stop
    e2e_at_cleanup kam_stop_all
}

# ---- /etc/hosts ----

kam_hosts_remove() {   # rewritten in place: /etc/hosts may be a bind mount
    grep -qxF "$KAM_HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
    local tmp rc
    tmp=$(mktemp) || return 1
    awk -v b="$KAM_HOSTS_BEGIN" -v e="$KAM_HOSTS_END" \
        '$0 == b { skip = 1; next } skip && $0 == e { skip = 0; next } !skip' /etc/hosts >"$tmp" &&
        cat "$tmp" >/etc/hosts
    rc=$?
    rm -f "$tmp"
    return $rc
}

kam_hosts_cleanup() {
    [ "$KAM_HOSTS_ADDED" = 1 ] || return 0
    kam_hosts_remove
    KAM_HOSTS_ADDED=0
}

kam_hosts_add() {   # "ADDR NAME" ...
    kam_hosts_remove || return 1
    KAM_HOSTS_ADDED=1
    { printf '%s\n' "$KAM_HOSTS_BEGIN"; printf '%s\n' "$@"; printf '%s\n' "$KAM_HOSTS_END"; } \
        >>/etc/hosts
}

# ---- Kamailio ----

kam_check_cfg() {   # $1 name: the configuration loads (modules present, syntax)
    mkdir -p "$E2E_RUN/kamailio-$1/check"
    KAM_IMS_DIR=$KAM_DIR kamailio -c -f "$KAM_DIR/$1.cfg" -Y "$E2E_RUN/kamailio-$1/check" \
        -m 64 -M 8
}

kam_start() {   # $1 name, then more kamailio arguments (-A ...)
    local name=$1 dir=$E2E_RUN/kamailio-$1 dbg=()
    shift
    mkdir -p "$dir/runtime"
    [ "${IMS_KAM_DEBUG:-0}" = 1 ] && dbg=(-A WITH_DEBUG)
    # setsid: its own process group, so that the stop reaches every child it forked
    KAM_IMS_DIR=$KAM_DIR setsid kamailio -f "$KAM_DIR/$name.cfg" -DD -E -Y "$dir/runtime" \
        -w "$dir" -m 128 -M 16 "${dbg[@]}" "$@" >"$dir/$name.log" 2>&1 </dev/null &
    KAM_PID[$name]=$!
}

kam_running() {
    local pid=${KAM_PID[$1]:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

kam_stop() {   # $1 name
    local pid=${KAM_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "kamailio $1 (pid $pid) ignored SIGTERM for 10 s: killing it" \
            >>"$E2E_RUN/kamailio-$1/$1.log"
    fi
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "KAM_PID[$1]"
}

kam_left() {   # Kamailio processes of this run (their -Y folder is in the run folder)
    pgrep -f -- "-Y $E2E_RUN/kamailio-" 2>/dev/null
}

kam_stop_all() {
    local n p
    for n in "${!KAM_PID[@]}"; do
        kam_stop "$n"
    done
    for p in $(kam_left); do
        kill -KILL "$p" 2>/dev/null
    done
}

kam_wait_listen() {   # $1 addr:port $2 seconds
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt "$deadline" ]; do
        ss -Hlun 2>/dev/null | awk '{ print $4 }' | grep -qxF "$1" && return 0
        sleep 0.1
    done
    return 1
}

kam_peer_state() {   # $1 Diameter identity -> its state in the HSS's /health
    curl -s --max-time 2 "http://127.0.0.40:8080/health" 2>/dev/null |
        jq -r --arg n "$1" '.peers[]? | select(.name == $n) | .state' 2>/dev/null
}

kam_wait_peers() {   # $1 seconds, then identities
    local deadline=$((SECONDS + $1)) id ok
    shift
    while [ $SECONDS -lt "$deadline" ]; do
        ok=1
        for id in "$@"; do
            [ "$(kam_peer_state "$id")" = open ] || ok=0
        done
        [ $ok = 1 ] && return 0
        sleep 0.2
    done
    return 1
}

kam_log_problems() {   # crashes, lack of memory, Diameter messages cdp could not read
    # (cdp says "Bye Bye" at CRITICAL level on every stop: not a problem)
    grep -hE 'signal 11|SIGSEGV|segfault|core dumped|[Oo]ut of memory|no more (shm|pkg)|message conversion dropped' \
        "$E2E_RUN"/kamailio-*/*.log 2>/dev/null | cut -c1-240 | head -n 5
}

# ---- a P-CSCF of ours with a configuration of the test ----

# $1 address $2 I-CSCF URI $3 sip.hosts list $4 sip.trusted_peers (the core behind it): the
# daemon on $1 (SIP 5060 udp+tcp, HTTP 8080), without Diameter (no Rf), folder
# run/e2e-<test>/pcscf2; returns 0 once healthy
pcscf2_start() {
    PCSCF2_DIR=$E2E_RUN/pcscf2
    mkdir -p "$PCSCF2_DIR"
    cat >"$PCSCF2_DIR/pcscf.conf" <<EOF
# a P-CSCF of ims-core in front of Kamailio's I-CSCF and S-CSCF (interop test)
[node]
name = pcscf.$E2E_REALM
address = $1
domain = $E2E_REALM
state_dir = $PCSCF2_DIR

[log]
level = debug
file = $PCSCF2_DIR/pcscf.log

[sip]
transports = udp,tcp
hosts = $3
trusted_peers = $4

[pcscf]
icscf = $2
EOF
    # the lab's overrides (IMS_*) are not for this one
    env -u IMS_SIP_HOSTS "$E2E_BIN/pcscf" --config "$PCSCF2_DIR/pcscf.conf" \
        --pidfile "$PCSCF2_DIR/pcscf.pid" >"$PCSCF2_DIR/pcscf.out" 2>&1 </dev/null &
    PCSCF2_PID=$!
    local i
    for i in $(seq 50); do
        http_get "http://$1:8080/health" && [ "$(json_get "$HTTP_BODY" .status)" = ok ] &&
            return 0
        kill -0 "$PCSCF2_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

pcscf2_stop() {
    [ -n "$PCSCF2_PID" ] || return 0
    kill -TERM "$PCSCF2_PID" 2>/dev/null
    local deadline=$((SECONDS + 10))
    while kill -0 "$PCSCF2_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    kill -KILL "$PCSCF2_PID" 2>/dev/null
    wait "$PCSCF2_PID" 2>/dev/null
    PCSCF2_RC=$?
    PCSCF2_PID=
    return 0
}
