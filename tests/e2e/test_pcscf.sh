#!/usr/bin/env bash
# tests/e2e/test_pcscf.sh - the P-CSCF's registration handling, end to end (TS 24.229 5.2).
#
# Two P-CSCFs:
# - the lab's (127.0.0.10), with the lab behind it: a REGISTER goes P-CSCF -> I-CSCF -> HSS
#   (UAR) -> S-CSCF and the answer of the home network comes back to the UE; requests of
#   unregistered UEs get 403;
# - a second one of this test (127.0.1.161) whose I-CSCF is a sipp stand-in of the home
#   network (127.0.1.162, scenarios/pcscf_core.xml), so that the whole registration can be
#   driven whatever the lab's S-CSCF does yet: the forwarded REGISTER (Path, Require: path,
#   P-Visited-Network-ID, P-Charging-Vector, no P-Asserted-Identity of the UE), ck/ik removed
#   from the 401, the binding kept from the 200 (P-Associated-URI, Service-Route), the
#   reg-event SUBSCRIBE and its refresh in the dialog, 481 for a NOTIFY of another dialog,
#   481 for a NOTIFY of the subscription's own dialog from outside sip.trusted_peers,
#   MESSAGEs of the UE (identity asserted from the registered set,
#   Service-Route enforced, Record-Route), a MESSAGE of the home network to the UE, the
#   binding removed by a terminating NOTIFY, then 403; emergency requests answered 380.
# Checks are made by the sipp scenarios (their exit status) and again in the capture.
#
# Needs `make` first (build/bin) and the tools of `mk/deps.sh test`. Nothing else may listen
# on the lab addresses, 127.0.1.161-162 or UE ports 5161-5179 of 127.0.0.161-162.
set -u

# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init pcscf
e2e_require jq curl tshark sipp pgrep ss timeout awk

SCEN=$E2E_ROOT/tests/e2e/scenarios
P2=127.0.1.161                  # the P-CSCF of this test
CORE=127.0.1.162                # sipp: its I-CSCF, S-CSCF and Service-Route hop
UE=127.0.0.161                  # the registered UE (sipp), port UE_PORT
UE_PORT=5161
UE_CONTACT=sip:alice@$UE:$UE_PORT
OTHER=127.0.0.162               # a UE that never registers
LAB_UE_PORT=5171
E2E_CAP_FILTER='(net 127.0.0.0/24 or net 127.0.1.0/24) and (port 5060 or port 3868 or port 8080)'
P2_PID=
CORE_PID=

for b in pcscf icscf scscf hss; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

# sipp as a UE or a peer: $1 name $2 scenario $3 u1|t1 $4 local ip $5 local port $6 remote,
# then extra sipp arguments. One call; files run/e2e-pcscf/sipp-<name>.{log,err,out}.
sipp_run() {
    local name=$1 sf=$2 t=$3 ip=$4 port=$5 remote=$6
    shift 6
    local base=$E2E_RUN/sipp-$name
    (cd "$E2E_RUN" && timeout 30 sipp -sf "$SCEN/$sf" -m 1 -nostdin -t "$t" -i "$ip" \
        -p "$port" -timeout 10s -timeout_error -trace_err -error_file "$base.err" \
        -trace_logs -log_file "$base.log" "$@" "$remote" >"$base.out" 2>&1)
}

check_sipp() {   # $1 what $2 name (after sipp_run): passes when sipp exited 0
    local rc=$3
    if [ "$rc" -eq 0 ]; then
        pass "$1"
        return 0
    fi
    fail "$1" "sipp exit status $rc (0: the scenario passed)" \
        "$(tail -n 12 "$E2E_RUN/sipp-$2.err" 2>/dev/null)" \
        "$(tail -n 5 "$E2E_RUN/sipp-$2.log" 2>/dev/null)"
    return 1
}

metric_of() {   # $1 address $2 series -> value ("absent" when missing)
    http_get "http://$1:8080/metrics"
    printf '%s\n' "$HTTP_BODY" | awk -v s="$2" '$1 == s { print $2; f = 1; exit }
                                                END { if (!f) print "absent" }'
}

wait_metric() {   # $1 address $2 series $3 value $4 seconds -> 0 when reached
    local deadline=$((SECONDS + $4))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(metric_of "$1" "$2")" = "$3" ] && return 0
        sleep 0.2
    done
    return 1
}

fields() {   # $1 display filter, then tshark fields -> one line per packet, fields by '|'
    local filter=$1
    shift
    local args=() f
    for f in "$@"; do
        args+=(-e "$f")
    done
    tshark -r "$E2E_CAP_FILE" -Y "$filter" -T fields -E separator='|' -E occurrence=a \
        -E aggregator=',' "${args[@]}" 2>/dev/null
}

stop_p2() {
    [ -n "$P2_PID" ] || return 0
    kill -TERM "$P2_PID" 2>/dev/null
    local deadline=$((SECONDS + 10))
    while kill -0 "$P2_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    kill -KILL "$P2_PID" 2>/dev/null
    wait "$P2_PID" 2>/dev/null
    local rc=$?
    P2_PID=
    return $rc
}

cleanup_peers() {   # on any exit: what this test started besides the lab
    [ -n "$CORE_PID" ] && kill "$CORE_PID" 2>/dev/null
    stop_p2
}
trap 'cleanup_peers; e2e__on_exit $?' EXIT

# ---------------------------------------------------------------------------------------------
step "free addresses"
busy=$(ss -Hlntu 2>/dev/null |
       awk '$5 ~ /^127\.0\.1\.16[12]:/ || $5 ~ /^127\.0\.0\.16[12]:51[67][0-9]$/ {print $1, $5}')
if ! check_eq "nothing listens on $P2, $CORE or the UE ports of this test" "" "$busy"; then
    e2e_finish
fi

step "capture"
if cap_start pcscf 2>"$E2E_RUN/cap-start.err"; then
    pass "tshark captures on lo: $E2E_CAP_FILTER"
else
    fail "tshark captures on lo" "$(cat "$E2E_RUN/cap-start.err")"
fi

# ---------------------------------------------------------------------------------------------
step "the lab starts"
lab_start
if ! check_eq "deploy/lab.sh start exits 0" 0 "$?"; then
    e2e_finish
fi

step "the lab's P-CSCF: unregistered UEs, a REGISTER through the home network"
sipp_run lab-message message_403.xml u1 "$OTHER" 5170 127.0.0.10:5060
check_sipp "MESSAGE of an unregistered UE over udp: 403 with a Warning" lab-message $?
sipp_run lab-invite invite_403.xml t1 "$OTHER" 5172 127.0.0.10:5060
check_sipp "INVITE of an unregistered UE over tcp: 403 with a Warning" lab-invite $?
sipp_run lab-register pcscf_lab_register.xml u1 "$UE" "$LAB_UE_PORT" 127.0.0.10:5060
check_sipp "REGISTER through P-CSCF, I-CSCF, S-CSCF: a final answer comes back" lab-register $?
check_eq "lab P-CSCF /metrics: one REGISTER forwarded" 1 \
    "$(metric_of 127.0.0.10 'pcscf_register_total{outcome="forwarded"}')"
check_eq "lab P-CSCF /metrics: two requests refused" 2 \
    "$(metric_of 127.0.0.10 'pcscf_requests_total{path="refused"}')"

# ---------------------------------------------------------------------------------------------
step "a second P-CSCF ($P2) in front of a sipp stand-in of the home network ($CORE)"
mkdir -p "$E2E_RUN/pcscf2"
cat >"$E2E_RUN/pcscf2/pcscf.conf" <<EOF
# the P-CSCF of test_pcscf.sh: its I-CSCF is the sipp stand-in $CORE
[node]
name = pcscf.$E2E_REALM
address = $P2
domain = $E2E_REALM
state_dir = $E2E_RUN/pcscf2

[log]
level = debug
file = $E2E_RUN/pcscf2/pcscf.log

[sip]
transports = udp,tcp
# the home network stand-in: the only source whose requests may reach a UE
trusted_peers = $CORE

[pcscf]
icscf = sip:$CORE:5060
EOF
"$E2E_BIN/pcscf" --config "$E2E_RUN/pcscf2/pcscf.conf" --pidfile "$E2E_RUN/pcscf2/pcscf.pid" \
    >"$E2E_RUN/pcscf2/pcscf.out" 2>&1 </dev/null &
P2_PID=$!
ok=
for _ in $(seq 50); do
    http_get "http://$P2:8080/health" && [ "$(json_get "$HTTP_BODY" .status)" = ok ] && ok=1 && break
    sleep 0.2
done
check_eq "the second P-CSCF is healthy" 1 "${ok:-0}"

(cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/pcscf_core.xml" -m 4 -nostdin -t u1 -i "$CORE" \
    -p 5060 -key ue_contact "$UE_CONTACT" -trace_err -error_file "$E2E_RUN/sipp-core.err" \
    -trace_logs -log_file "$E2E_RUN/sipp-core.log" >"$E2E_RUN/sipp-core.out" 2>&1) &
CORE_PID=$!
sleep 0.5

step "registration"
sipp_run register pcscf_ue_register.xml u1 "$UE" "$UE_PORT" "$P2:5060"
check_sipp "REGISTER, 401 without ck/ik, REGISTER, 200 with P-Associated-URI and Service-Route" \
    register $?
check_eq "/metrics: one binding" 1 "$(metric_of "$P2" pcscf_bindings)"
check_eq "/metrics: REGISTERs forwarded, challenged, accepted" "2 1 1" \
    "$(for o in forwarded challenged accepted; do
           metric_of "$P2" "pcscf_register_total{outcome=\"$o\"}"
       done | tr '\n' ' ' | sed 's/ $//')"
if wait_metric "$P2" pcscf_reg_subscriptions 1 5; then
    pass "/metrics: the reg-event subscription is in place"
else
    fail "/metrics: the reg-event subscription is in place" \
        "pcscf_reg_subscriptions = $(metric_of "$P2" pcscf_reg_subscriptions)"
fi

step "a forged reg-event NOTIFY from outside the core (the attacker)"
# The subscription's Call-ID and both tags, as the stand-in logged them: all an attacker
# who read a trace would know. Its NOTIFY comes from $OTHER, not a trusted peer.
dialog=
for _ in $(seq 25); do
    dialog=$(sed -n 's/.*dialog: call-id=\([^ ]*\) p-tag=\([^ ]*\) s-tag=\([^ ]*\).*/\1 \2 \3/p' \
             "$E2E_RUN/sipp-core.log" 2>/dev/null | head -n 1)
    [ -n "$dialog" ] && wait_metric "$P2" pcscf_reg_notify_total 1 1 && break
    sleep 0.2
done
read -r d_cid d_ptag d_stag <<<"${dialog:-x x x}"
sipp_run forged-notify pcscf_forged_notify.xml u1 "$OTHER" 5175 "$P2:5060" \
    -cid_str "$d_cid" -key p_tag "$d_ptag" -key s_tag "$d_stag" \
    -key impu "sip:alice@$E2E_REALM" -key ue_contact "$UE_CONTACT"
check_sipp "a terminating NOTIFY in the subscription's dialog from $OTHER: 481 with a Warning" \
    forged-notify $?
check_eq "/metrics: the binding is still there, no NOTIFY taken from the attacker" "1 1 0" \
    "$(metric_of "$P2" pcscf_bindings) $(metric_of "$P2" pcscf_reg_subscriptions) $(
       metric_of "$P2" pcscf_reg_notify_terminated_total)"

step "requests of the registered UE"
sipp_run message-tel pcscf_ue_message.xml u1 "$UE" "$UE_PORT" "$P2:5060" \
    -key ppi "<tel:+15550100001>"
check_sipp "MESSAGE preferring tel:+15550100001 (registered): 200" message-tel $?
sipp_run message-bob pcscf_ue_message.xml u1 "$UE" "$UE_PORT" "$P2:5060" \
    -key ppi "<sip:bob@$E2E_REALM>"
check_sipp "MESSAGE preferring sip:bob (not registered): 200" message-bob $?

step "a request of the home network to the UE"
(cd "$E2E_RUN" && timeout 30 sipp -sf "$SCEN/pcscf_ue_uas.xml" -m 1 -nostdin -t u1 -i "$UE" \
    -p "$UE_PORT" -timeout 10s -timeout_error -trace_err -error_file "$E2E_RUN/sipp-ue-uas.err" \
    -trace_logs -log_file "$E2E_RUN/sipp-ue-uas.log" >"$E2E_RUN/sipp-ue-uas.out" 2>&1) &
uas=$!
sleep 0.3
# the Path the P-CSCF put in the REGISTER (with its flow token), as the S-CSCF keeps it
path=$(sed -n 's/.*REGISTER 1: Path *\(<[^>]*>\).*/\1/p' "$E2E_RUN/sipp-core.log" | head -n 1)
check_match "the Path of the registration carries a flow token" '^<sip:term@127\.0\.1\.161:5060;lr;ft=[0-9a-f]+>$' "$path"
sipp_run core-message pcscf_core_message.xml u1 "$CORE" 5070 "$P2:5060" \
    -key ue_contact "$UE_CONTACT" -key path "$path"
check_sipp "MESSAGE to the UE routed by its Path: 200 from the UE" core-message $?
wait "$uas"
check_sipp "the UE got it without the P-CSCF's Route, with the home network's identity" \
    ue-uas $?

step "the end of the registration (reg-event NOTIFY)"
if wait_metric "$P2" pcscf_bindings 0 10; then
    pass "the terminating NOTIFY removed the binding (pcscf_bindings 0)"
else
    fail "the terminating NOTIFY removed the binding" \
        "pcscf_bindings = $(metric_of "$P2" pcscf_bindings)"
fi
check_eq "/metrics: bindings removed by NOTIFY, subscriptions left" "1 0" \
    "$(metric_of "$P2" pcscf_reg_notify_terminated_total) $(metric_of "$P2" pcscf_reg_subscriptions)"
sipp_run message-after message_403.xml u1 "$UE" "$UE_PORT" "$P2:5060"
check_sipp "MESSAGE of the UE after its registration ended: 403" message-after $?
sipp_run message-other message_403.xml u1 "$OTHER" 5173 "$P2:5060"
check_sipp "MESSAGE of a UE that never registered: 403" message-other $?
sipp_run sos invite_sos_380.xml u1 "$OTHER" 5174 "$P2:5060"
check_sipp "emergency INVITE of an unregistered UE, no E-CSCF: 380" sos $?

wait "$CORE_PID"
rc=$?
CORE_PID=
check_sipp "the home network stand-in saw what it expected (REGISTER x2, SUBSCRIBE, MESSAGE x2)" \
    core $rc

step "the second P-CSCF stops"
stop_p2
check_eq "SIGTERM: exit status 0" 0 "$?"
check_eq "its log: no level=error line" "" \
    "$(grep 'level=error' "$E2E_RUN/pcscf2/pcscf.log" 2>/dev/null | head -n 5)"
check_match "its log: 'pcscf stopped'" 'msg="pcscf stopped"' \
    "$(cat "$E2E_RUN/pcscf2/pcscf.log" 2>/dev/null)"
check_eq "nothing on its stdout/stderr (sanitizer reports land there)" "" \
    "$(head -c 2000 "$E2E_RUN/pcscf2/pcscf.out" 2>/dev/null)"

# ---------------------------------------------------------------------------------------------
step "the capture"
if [ -n "$E2E_CAP_PID" ]; then
    cap_stop
    check_eq "tshark stops on SIGINT with status 0" 0 "$?"
    check_eq "no malformed packet, no expert error" "" "$(cap_problems "$E2E_CAP_FILE")"

    from_p2="ip.src == $P2 && ip.dst == $CORE"
    REG='sip.Method == "REGISTER"'
    n() { cap_count "$E2E_CAP_FILE" "$1"; }
    check_eq "the UE asserted an identity of its own in its first REGISTER" 1 \
        "$(n "ip.src == $UE && udp.srcport == $UE_PORT && $REG && sip.P-Asserted-Identity")"
    check_eq "REGISTER forwarded: Path with the flow token (the same twice), P-Visited-Network-ID" \
        "<sip:term@$P2:5060;lr;ft=FLOW>|$E2E_REALM
<sip:term@$P2:5060;lr;ft=FLOW>|$E2E_REALM" \
        "$(fields "$from_p2 && sip.Method == \"REGISTER\"" sip.Path sip.P-Visited-Network-ID |
           sed "s/;ft=${path##*;ft=}/;ft=FLOW>/")"
    check_eq "REGISTER forwarded: P-Charging-Vector with icid-value, icid-generated-at, orig-ioi" 2 \
        "$(n "$from_p2 && $REG && sip.icid_value &&
              sip.P-Charging-Vector contains \";icid-generated-at=$P2;orig-ioi=$E2E_REALM\"")"
    check_eq "REGISTER forwarded: a new icid-value each time" 2 \
        "$(fields "$from_p2 && sip.Method == \"REGISTER\"" sip.icid_value | sort -u | wc -l)"
    check_eq "REGISTER forwarded: no P-Asserted-Identity" 0 \
        "$(cap_count "$E2E_CAP_FILE" "$from_p2 && sip.Method == \"REGISTER\" && sip.P-Asserted-Identity")"
    check_eq "Require: path on the first REGISTER only (the second listed path in Supported)" \
        "path
(none)" "$(fields "$from_p2 && sip.Method == \"REGISTER\"" sip.Require | sed 's/^$/(none)/')"
    check_eq "the 401 of the home network carries ck and ik" 1 \
        "$(n "ip.src == $CORE && sip.Status-Code == 401 && sip.auth.ck && sip.auth.ik")"
    check_eq "the 401 relayed to the UE carries neither, and the same nonce" \
        "0 1" "$(n "ip.dst == $UE && sip.Status-Code == 401 && (sip.auth.ck || sip.auth.ik)") $(
                n "ip.dst == $UE && sip.Status-Code == 401 &&
                   sip.auth.nonce contains \"cGNzY2YtZTJlLW5vbmNlLTAwMDE=\"")"
    check_eq "reg-event SUBSCRIBE: to the IMPU, Event reg, via the Service-Route, as the P-CSCF" \
        "sip:alice@$E2E_REALM|reg|<sip:orig@$CORE:5060;lr>|<sip:term@$P2:5060>" \
        "$(fields "$from_p2 && sip.Method == \"SUBSCRIBE\" && !sip.to.tag" sip.r-uri sip.Event \
            sip.Route sip.P-Asserted-Identity)"
    check_eq "its refresh (3 s granted): in the dialog, to the 200's Contact, no Route, CSeq + 1" \
        "sip:$CORE:5060|reg||1|1" \
        "$(fields "$from_p2 && sip.Method == \"SUBSCRIBE\" && sip.to.tag" sip.r-uri sip.Event \
            sip.Route)|$(fields "$from_p2 && sip.Method == \"SUBSCRIBE\"" sip.Call-ID |
            sort -u | wc -l)|$(fields "$from_p2 && sip.Method == \"SUBSCRIBE\"" sip.CSeq.seq |
            awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }')"
    check_eq "NOTIFYs answered 200" 2 \
        "$(n "$from_p2 && sip.Status-Code == 200 && sip.CSeq.method == \"NOTIFY\"")"
    check_eq "a NOTIFY with another From tag (no dialog of the P-CSCF) answered 481" 1 \
        "$(n "$from_p2 && sip.Status-Code == 481 && sip.CSeq.method == \"NOTIFY\"")"
    check_eq "the forged NOTIFY answered 481 (the subscription's tags, from $OTHER)" 1 \
        "$(n "ip.src == $P2 && ip.dst == $OTHER && sip.Status-Code == 481 &&
              sip.CSeq.method == \"NOTIFY\"")"
    check_eq "MESSAGEs forwarded: PAI, Route = Service-Route, Record-Route with the ICID, no PPI" \
        "<tel:+15550100001>|<sip:orig@$CORE:5060;lr>|<sip:$P2:5060;lr;icid=ICID;ue=TOKEN;ft=FLOW>|
<sip:alice@$E2E_REALM>|<sip:orig@$CORE:5060;lr>|<sip:$P2:5060;lr;icid=ICID;ue=TOKEN;ft=FLOW>|" \
        "$(fields "$from_p2 && sip.Method == \"MESSAGE\"" sip.P-Asserted-Identity sip.Route \
            sip.Record-Route sip.P-Preferred-Identity |
           sed 's/;icid=[0-9a-f]*;ue=[0-9a-f]\{16\};ft=[0-9a-f]*>/;icid=ICID;ue=TOKEN;ft=FLOW>/')"
    check_eq "MESSAGEs forwarded with a P-Charging-Vector of the P-CSCF" 2 \
        "$(n "$from_p2 && sip.Method == \"MESSAGE\" && sip.icid_value &&
              sip.P-Charging-Vector contains \"icid-generated-at=$P2\"")"
    check_eq "MESSAGE to the UE: to its contact, the P-CSCF's Route removed" \
        "$UE_CONTACT|" "$(fields "ip.src == $P2 && ip.dst == $UE && sip.Method == \"MESSAGE\"" \
            sip.r-uri sip.Route)"
    check_eq "403 with a Warning to the UEs of the second P-CSCF" 2 \
        "$(cap_count "$E2E_CAP_FILE" "ip.src == $P2 && sip.Status-Code == 403 && sip.Warning")"

    # the lab
    lab_reg="ip.src == 127.0.0.10 && ip.dst == 127.0.0.20 && sip.Method == \"REGISTER\""
    check_eq "lab: REGISTER P-CSCF -> I-CSCF with Path, P-Visited-Network-ID, no UE identity" \
        "<sip:term@127.0.0.10:5060;lr;ft=FLOW>|$E2E_REALM|" \
        "$(fields "$lab_reg" sip.Path sip.P-Visited-Network-ID sip.P-Asserted-Identity |
           sed 's/;ft=[0-9a-f]*>/;ft=FLOW>/')"
    check_eq "lab: ... and a P-Charging-Vector of the P-CSCF" 1 \
        "$(n "$lab_reg && sip.icid_value &&
              sip.P-Charging-Vector contains \"icid-generated-at=127.0.0.10;orig-ioi=$E2E_REALM\"")"
    check_eq "lab: the I-CSCF forwarded it to the S-CSCF" 1 \
        "$(n "ip.src == 127.0.0.20 && ip.dst == 127.0.0.30 && $REG && sip.Path")"
    final='sip.Status-Code >= 200 && sip.CSeq.method == "REGISTER"'
    icscf_answer=$(fields "ip.src == 127.0.0.20 && ip.dst == 127.0.0.10 && $final" sip.Status-Code)
    ue_answer=$(fields "ip.src == 127.0.0.10 && ip.dst == $UE && $final" sip.Status-Code)
    log "lab: the home network answered the REGISTER with ${icscf_answer:-nothing}"
    check_match "lab: the UE got the home network's answer" '^[2-6][0-9][0-9]$' "$ue_answer"
    check_eq "lab: the answer relayed unchanged in status" "$icscf_answer" "$ue_answer"
    check_eq "lab: 403 with a Warning to the unregistered UEs" 2 \
        "$(cap_count "$E2E_CAP_FILE" "ip.src == 127.0.0.10 && sip.Status-Code == 403 && sip.Warning")"
else
    fail "the capture ran (see above)"
fi

# ---------------------------------------------------------------------------------------------
step "the lab stops"
lab_stop
check_eq "deploy/lab.sh stop exits 0" 0 "$?"
check_eq "no daemon of this run left" "" "$(lab_pids)"
check_eq "lab P-CSCF log: no level=error line" "" \
    "$(grep 'level=error' "$E2E_RUN/pcscf/pcscf.log" 2>/dev/null | head -n 5)"
check_eq "lab P-CSCF: nothing on stdout/stderr" "" \
    "$(head -c 2000 "$E2E_RUN/pcscf/pcscf.out" 2>/dev/null)"

trap - EXIT
trap 'e2e__on_exit $?' EXIT
e2e_finish
