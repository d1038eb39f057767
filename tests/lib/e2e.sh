# shellcheck shell=bash disable=SC2034
# tests/lib/e2e.sh - shared helpers of the end-to-end tests (source it, do not run it).
#
#   . "$(dirname "$0")/../lib/e2e.sh"
#   e2e_init foundation              run folder run/e2e-foundation, EXIT trap, timer, and the
#                                    machine-wide lab lock (one lab test at a time)
#   step "the lab starts"            a heading in the output
#   check "what" cmd args...         passes when the command exits 0 (its output is kept
#                                    and shown on failure)
#   check_eq "what" EXPECTED ACTUAL  exact string comparison
#   check_match "what" ERE ACTUAL    extended regular expression (grep -E) on ACTUAL
#   check_contains "what" LINE TEXT  TEXT has a line exactly equal to LINE
#   pass "what" / fail "what" [detail lines...]
#   e2e_finish                       summary, log tails on failure, exit status 0 or 1
#   e2e_skip "why"                   the test cannot run here: says why, cleans up, exit 77
#                                    (tests/e2e/run.sh reports SKIP)
#   e2e_at_cleanup CMD [ARGS...]     one more thing for e2e_cleanup to run (last added, first
#                                    run), for what a test starts besides the lab
#
#   lab_start / lab_stop / lab_status   deploy/lab.sh with IMS_LAB_RUN=run/e2e-<name>, so a
#                                    user's own lab in run/lab is never touched
#   lab_start_one NAME               start one daemon of that lab again (after the test
#                                    stopped it), as lab_start would (TLS credentials, ...)
#   lab_restart NAME [VAR=VALUE...]  stop one daemon of that lab and start it again with
#                                    these overrides, until its /health says ok
#   http_get URL                     sets HTTP_CODE, HTTP_TYPE (Content-Type), HTTP_BODY
#   json_get JSON JQ-FILTER          prints jq -r's answer (returns 1 on bad JSON)
#   cap_start NAME / cap_stop        tshark on lo, lab addresses and ports only, written to
#                                    run/e2e-<name>/NAME.pcapng
#   cap_problems FILE                prints malformed packets and expert errors (none = clean)
#   cap_count FILE DISPLAY-FILTER    prints how many packets match
#   cap_tshark FILE [ARGS...]        tshark -r FILE ARGS, with the lab's TLS session keys: the
#                                    Diameter over TLS (5868) of our daemons decodes too
#
# Written for bash with `set -u` (not -e: a failed check is counted, the test goes on). The
# addresses are those of LAB.md (the lab of deploy/lab.sh). The variables below are for
# the tests that source this file. Tools: mk/deps.sh test installs all of them.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_BIN=${IMS_LAB_BIN:-$E2E_ROOT/build/bin}
E2E_VERSION=$(cat "$E2E_ROOT/VERSION" 2>/dev/null)
E2E_REALM=ims.mnc001.mcc001.3gppnetwork.org

# the lab of LAB.md (and the IBCF of deploy/lab/ibcf.conf, the MRB of deploy/lab/mrb.conf):
# function -> address; SIP functions; Diameter clients -> configured peers
E2E_DAEMONS=(hss ocs scscf icscf pcscf bgcf ibcf mrfc mrb mgcf)
E2E_SIP_DAEMONS=(pcscf icscf scscf bgcf ibcf mrfc mrb mgcf)
declare -A E2E_ADDR=([pcscf]=127.0.0.10 [icscf]=127.0.0.20 [scscf]=127.0.0.30 [hss]=127.0.0.40
                     [bgcf]=127.0.0.50 [ibcf]=127.0.0.55 [mrfc]=127.0.0.60 [mrb]=127.0.0.65
                     [mgcf]=127.0.0.70 [ocs]=127.0.0.80)
declare -A E2E_DIAM_PEERS=([icscf]="hss" [scscf]="hss ocs" [pcscf]="ocs" [bgcf]="ocs"
                           [ibcf]="ocs" [mrfc]="ocs" [mgcf]="ocs")

# capture: loopback, lab addresses, the lab's SIP, Diameter (TCP and TLS) and HTTP ports
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 3868 or port 5868 or port 8080)'
# cap_stop knocks on this unused lab address (nothing listens: SYN and RST only) and waits
# until the knock is in the file, so every packet before it has been written.
E2E_CAP_MARK_ADDR=127.0.0.254

E2E_NAME=
E2E_RUN=
E2E_NPASS=0
E2E_NFAIL=0
E2E_FAILED=()
E2E_FINISHED=0
E2E_LAB_UP=0
E2E_CAP_PID=
E2E_CAP_FILE=
E2E_CAP_MARKS=0
E2E_T0=0
E2E_CLEANUP=()

if [ -t 1 ]; then
    E2E_C_OK=$'\e[32m' E2E_C_FAIL=$'\e[1;31m' E2E_C_STEP=$'\e[1m' E2E_C_OFF=$'\e[0m'
else
    E2E_C_OK='' E2E_C_FAIL='' E2E_C_STEP='' E2E_C_OFF=''
fi

# ---- output and accounting ----

log() {   # free text under the test's name
    printf '[%s] %s\n' "${E2E_NAME:-e2e}" "$*"
}

step() {   # a heading for the checks that follow
    printf '[%s] %s== %s%s\n' "${E2E_NAME:-e2e}" "$E2E_C_STEP" "$*" "$E2E_C_OFF"
}

pass() {
    E2E_NPASS=$((E2E_NPASS + 1))
    printf '[%s]   %sok%s   %s\n' "${E2E_NAME:-e2e}" "$E2E_C_OK" "$E2E_C_OFF" "$1"
}

fail() {   # $1 what failed; further arguments: detail lines, shown indented
    E2E_NFAIL=$((E2E_NFAIL + 1))
    E2E_FAILED+=("$1")
    printf '[%s]   %sFAIL%s %s\n' "${E2E_NAME:-e2e}" "$E2E_C_FAIL" "$E2E_C_OFF" "$1"
    shift
    local l
    for l in "$@"; do
        printf '%s\n' "$l" | head -n 40 | sed 's/^/         | /'
    done
}

check() {   # $1 what; the rest: a command that must exit 0
    # run in this shell (not a subshell) so that lab_start, cap_start and the like keep
    # their state; the output goes through a file
    local what=$1 out rc tmp=${E2E_RUN:-/tmp}/.check.out
    shift
    "$@" >"$tmp" 2>&1
    rc=$?
    out=$(cat "$tmp" 2>/dev/null)
    rm -f "$tmp"
    if [ $rc -eq 0 ]; then
        pass "$what"
        return 0
    fi
    fail "$what" "command: $* (exit status $rc)" "$(printf '%s\n' "$out" | tail -n 20)"
    return 1
}

check_eq() {   # $1 what $2 expected $3 actual
    if [ "$2" == "$3" ]; then
        pass "$1"
        return 0
    fi
    fail "$1" "expected: '$2'" "got:      '$3'"
    return 1
}

check_match() {   # $1 what $2 extended regular expression $3 text (any line may match)
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then
        pass "$1"
        return 0
    fi
    fail "$1" "expected a match for: $2" "got: $(printf '%s\n' "$3" | head -n 20)"
    return 1
}

check_contains() {   # $1 what $2 exact line $3 text
    if printf '%s\n' "$3" | grep -Fxq -- "$2"; then
        pass "$1"
        return 0
    fi
    fail "$1" "expected the line: $2" "in: $(printf '%s\n' "$3" | head -n 20)"
    return 1
}

# ---- life cycle ----

e2e_init() {   # $1 test name: prepares run/e2e-<name> and the EXIT trap
    E2E_NAME=$1
    E2E_RUN=$E2E_ROOT/run/e2e-$E2E_NAME
    E2E_T0=$(date +%s.%N)
    # The lab's addresses are fixed (LAB.md): one lab test at a time on this machine, even
    # from other checkouts. The lock is released when the test's shell exits.
    exec {E2E_LOCK_FD}>"${IMS_LAB_LOCK:-/tmp/ims-lab.lock}"
    if ! flock -n "$E2E_LOCK_FD"; then
        log "another lab test holds ${IMS_LAB_LOCK:-/tmp/ims-lab.lock}; waiting (up to 30 min)"
        flock -w 1800 "$E2E_LOCK_FD" || { echo "e2e: the lab lock was not released" >&2; exit 1; }
    fi
    # Runs of one test from one checkout share its run folder (pid files, logs, the lab's
    # state): a second run would stop the first's lab and delete its folder. One at a time.
    mkdir -p "$E2E_ROOT/run"
    exec {E2E_RUN_LOCK_FD}>"$E2E_RUN.lock"
    if ! flock -n "$E2E_RUN_LOCK_FD"; then
        log "another run of test_$E2E_NAME from this checkout uses $E2E_RUN; waiting (up to 30 min)"
        flock -w 1800 "$E2E_RUN_LOCK_FD" ||
            { echo "e2e: the other run of test_$E2E_NAME did not end" >&2; exit 1; }
    fi
    if [ -e "$E2E_RUN" ]; then
        # a lab left running by an interrupted run of this very test is ours to stop
        lab_stop >/dev/null 2>&1
        rm -rf "$E2E_RUN"
    fi
    mkdir -p "$E2E_RUN"
    trap 'e2e__on_exit $?' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    log "run folder $E2E_RUN"
}

e2e_require() {   # $@ commands the test needs; fails (and ends) the test when one is missing
    local c missing=()
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    fail "tools present: ${missing[*]} missing" "install them with: mk/deps.sh test (or make deps)"
    e2e_finish
}

e2e_elapsed() {   # seconds since e2e_init, one decimal
    awk -v a="$E2E_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

e2e_log_tails() {   # the end of every daemon log and non-empty stdout/stderr of this run
    local f
    for f in "$E2E_RUN"/*/*.log "$E2E_RUN"/*/*.out; do
        [ -s "$f" ] || continue
        printf -- '--- last lines of %s\n' "${f#"$E2E_ROOT"/}"
        tail -n 15 "$f" | cut -c1-400
    done
}

e2e_at_cleanup() {   # $@ a command (with its arguments, as one string) for e2e_cleanup
    E2E_CLEANUP+=("$*")
}

e2e_cleanup() {   # stops what the test started; safe to call more than once
    local i
    for ((i = ${#E2E_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${E2E_CLEANUP[i]}"
    done
    E2E_CLEANUP=()
    cap_stop_quietly
    if [ "$E2E_LAB_UP" = 1 ]; then
        lab_stop >/dev/null 2>&1
    fi
}

e2e_finish() {   # summary and exit status; never returns
    E2E_FINISHED=1
    e2e_cleanup
    if [ "$E2E_NFAIL" -gt 0 ]; then
        e2e_log_tails
        printf '[%s] %sFAILED%s: %d of %d checks failed (%ss):\n' "$E2E_NAME" "$E2E_C_FAIL" \
            "$E2E_C_OFF" "$E2E_NFAIL" $((E2E_NPASS + E2E_NFAIL)) "$(e2e_elapsed)"
        local f
        for f in "${E2E_FAILED[@]}"; do
            printf '[%s]   - %s\n' "$E2E_NAME" "$f"
        done
        trap - EXIT
        exit 1
    fi
    printf '[%s] %sPASSED%s: %d checks (%ss)\n' "$E2E_NAME" "$E2E_C_OK" "$E2E_C_OFF" \
        "$E2E_NPASS" "$(e2e_elapsed)"
    trap - EXIT
    exit 0
}

e2e_skip() {   # $1 why the test cannot run on this machine; never returns (exit 77)
    E2E_FINISHED=1
    e2e_cleanup
    printf '[%s] SKIPPED: %s (%d checks passed before; %ss)\n' "$E2E_NAME" "$1" "$E2E_NPASS" \
        "$(e2e_elapsed)"
    trap - EXIT
    exit 77
}

e2e__on_exit() {   # EXIT trap: the test ended without e2e_finish (error, signal, exit)
    local rc=$1
    [ "$E2E_FINISHED" = 1 ] && return
    fail "the test script ran to its end (it stopped early with exit status $rc)"
    e2e_finish
}

# ---- the lab ----

e2e_lab() {   # deploy/lab.sh with this test's run folder
    # without the lab lock's descriptor: a daemon left running by a killed test must not
    # hold the lock (the next test would wait for it 30 minutes)
    if [ -n "${E2E_LOCK_FD:-}" ]; then
        IMS_LAB_RUN=$E2E_RUN IMS_LAB_BIN=$E2E_BIN "$E2E_ROOT/deploy/lab.sh" "$@" {E2E_LOCK_FD}>&-
    else
        IMS_LAB_RUN=$E2E_RUN IMS_LAB_BIN=$E2E_BIN "$E2E_ROOT/deploy/lab.sh" "$@"
    fi
}

lab_start() {   # output in LAB_OUT (also in run folder lab-start.out); returns lab.sh's status
    E2E_LAB_UP=1
    # the daemons write their TLS session keys for cap_tshark (deploy/lab.sh)
    LAB_OUT=$(IMS_LAB_TLS_KEYLOG=$E2E_RUN/tls-keys.log e2e_lab start 2>&1)
    local rc=$?
    printf '%s\n' "$LAB_OUT" >"$E2E_RUN/lab-start.out"
    printf '%s\n' "$LAB_OUT" | sed "s/^/[$E2E_NAME]      /"
    return $rc
}

lab_start_one() {   # $1 daemon: started in the background, as lab_start starts it
    IMS_LAB_TLS_KEYLOG=$E2E_RUN/tls-keys.log e2e_lab start-one "$1"
}

lab_restart() {   # NAME [VAR=VALUE...]: the daemon stopped (SIGTERM) and started again with
    # these overrides in its environment; returns once its /health says ok (30 s at most)
    local name=$1 pid addr=${E2E_ADDR[$1]} i
    shift
    pid=$(cat "$E2E_RUN/$name/$name.pid")
    kill -TERM "$pid"
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ( [ $# -gt 0 ] && export "$@"; lab_start_one "$name" ) >>"$E2E_RUN/$name.restart" 2>&1 ||
        return 1
    for i in $(seq 150); do
        [ "$(curl -s --max-time 2 "http://$addr:8080/health" | jq -r .status 2>/dev/null)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

lab_stop() {   # output in LAB_OUT; returns lab.sh's status
    LAB_OUT=$(e2e_lab stop 2>&1)
    local rc=$?
    E2E_LAB_UP=0
    printf '%s\n' "$LAB_OUT" >"$E2E_RUN/lab-stop.out"
    return $rc
}

lab_status() {
    e2e_lab status
}

lab_pids() {   # pids of daemons of this run still alive (their --pidfile is in the run folder)
    pgrep -f -- "--pidfile $E2E_RUN/" 2>/dev/null
}

# $1 output file, the rest: options of tests/tools/pstn. The lab's PSTN switch (and the one a
# previous pstn_restart started) is stopped and one started again towards the MGCF with those
# options (e.g. --originate: it calls the IMS), its output to $1; its pid in PSTN_PID,
# stopped at cleanup
pstn_restart() {
    local out=$1 pid
    shift
    pid=$(cat "$E2E_RUN/pstn/pstn.pid" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if [ -n "${PSTN_PID:-}" ]; then   # the switch a previous pstn_restart started
        kill "$PSTN_PID" 2>/dev/null
        wait "$PSTN_PID" 2>/dev/null
    fi
    "$E2E_BIN/pstn" --listen 127.0.0.100:2905 --peer 127.0.0.70 "$@" >"$out" 2>&1 &
    PSTN_PID=$!
    e2e_at_cleanup "kill $PSTN_PID 2>/dev/null; wait $PSTN_PID 2>/dev/null"
}

# ---- log files grown by the daemons and peers while a test runs ----
log_mark() { wc -l <"$1" 2>/dev/null || echo 0; }          # FILE: its length now
log_since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }   # FILE MARK: what came after
# log_wait_for FILE MARK ERE [SECONDS]: until a line after MARK matches (default 15 s)
log_wait_for() {
    local i
    for i in $(seq 1 $((${4:-15} * 5))); do
        log_since "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.2
    done
    return 1
}

# ---- HTTP and JSON ----

http_get() {   # $1 URL -> HTTP_CODE (000 when unreachable), HTTP_TYPE, HTTP_BODY
    local tmp meta
    tmp=$(mktemp)
    meta=$(curl -s --max-time 5 -o "$tmp" -w '%{http_code} %{content_type}' "$1" 2>/dev/null)
    HTTP_CODE=${meta%% *}
    HTTP_TYPE=${meta#* }
    [ "$HTTP_TYPE" = "$meta" ] && HTTP_TYPE=
    HTTP_BODY=$(cat "$tmp")
    rm -f "$tmp"
    [ "$HTTP_CODE" != 000 ]
}

json_get() {   # $1 JSON text $2 jq filter -> jq -r output
    printf '%s' "$1" | jq -r "$2" 2>/dev/null
}

# ---- capture ----

cap_start() {   # $1 name: starts tshark and waits until it captures; E2E_CAP_FILE is the file
    E2E_CAP_FILE=$E2E_RUN/$1.pcapng
    E2E_CAP_MARKS=0
    local errlog=$E2E_RUN/$1.tshark.log
    tshark -i lo -f "$E2E_CAP_FILTER" -q -w "$E2E_CAP_FILE" >"$errlog" 2>&1 </dev/null &
    E2E_CAP_PID=$!
    # tshark loads every dissector first: past 15 s on a loaded 2-core machine (e2e mrfc,
    # "Capturing on" after 20 s); a wait on its line, so a quiet machine waits no longer
    local deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        if grep -q "^Capturing on" "$errlog" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$E2E_CAP_PID" 2>/dev/null; then
            wait "$E2E_CAP_PID" 2>/dev/null
            E2E_CAP_PID=
            echo "tshark exited before capturing:" >&2
            cat "$errlog" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "tshark did not report capturing within 60 s:" >&2
    cat "$errlog" >&2
    return 1
}

cap_stop() {   # writes out everything captured so far, stops tshark (SIGINT); tshark's status
    [ -n "$E2E_CAP_PID" ] || return 1
    # knock on the mark address and wait for the knock to reach the file (packets reach the
    # file in order, and SIGINT drops what dumpcap still buffers)
    E2E_CAP_MARKS=$((E2E_CAP_MARKS + 1))
    curl -s --max-time 1 "http://$E2E_CAP_MARK_ADDR:8080/" >/dev/null 2>&1
    local deadline=$((SECONDS + 10)) n
    while [ $SECONDS -lt $deadline ]; do
        n=$(tshark -r "$E2E_CAP_FILE" -Y "ip.dst == $E2E_CAP_MARK_ADDR && tcp.flags.syn == 1" \
            2>/dev/null | wc -l)
        [ "$n" -ge "$E2E_CAP_MARKS" ] && break
        sleep 0.1
    done
    kill -INT "$E2E_CAP_PID" 2>/dev/null
    wait "$E2E_CAP_PID"
    local rc=$?
    E2E_CAP_PID=
    return $rc
}

cap_stop_quietly() {   # for the EXIT trap: no marks, SIGKILL after 5 s
    [ -n "$E2E_CAP_PID" ] || return 0
    kill -INT "$E2E_CAP_PID" 2>/dev/null
    local deadline=$((SECONDS + 5))
    while kill -0 "$E2E_CAP_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
    kill -KILL "$E2E_CAP_PID" 2>/dev/null
    wait "$E2E_CAP_PID" 2>/dev/null
    E2E_CAP_PID=
}

cap_tshark() {   # $1 capture file, then tshark arguments: tshark -r with the TLS session keys
    # (Wireshark 4.0 hands the first application data of a TLS session, when it shares a
    # segment with the end of the handshake, to its RDP multi-transport heuristic rather than
    # to Diameter: that dissector is disabled)
    local f=$1
    shift
    tshark -r "$f" -o "tls.keylog_file:$E2E_RUN/tls-keys.log" --disable-protocol rdpmt "$@"
}

cap_problems() {   # $1 capture file: prints malformed packets and expert errors, if any
    cap_tshark "$1" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null
}

cap_count() {   # $1 capture file $2 display filter: prints the number of matching packets
    cap_tshark "$1" -Y "$2" 2>/dev/null | wc -l
}
