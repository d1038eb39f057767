#!/usr/bin/env bash
# tests/e2e/test_session.sh - sessions end to end (TS 24.229 5.2.6, 5.3.2, 5.4.3): UEs (sipp)
# -> P-CSCF -> S-CSCF -> I-CSCF (LIR) -> S-CSCF -> P-CSCF -> UEs, with application servers
# on ISC (tests/tools/as) and the HSS behind.
#
# Calls alice -> bob (Digest and AKA): BYE from either side, an INVITE retransmitted after
# its 200, PRACK, re-INVITE, UPDATE and INFO within the call, a presence SUBSCRIBE/NOTIFY,
# CANCEL before the answer, a CANCEL matching nothing, busy,
# no answer (timer C), a callee that cannot be reached, forking to carol's two devices, her
# GRUUs (public and temporary), tel: numbers through ENUM, a number that is no home user
# (BGCF), an unknown user, MESSAGE. Then iFCs provisioned in the HSS: originating and
# terminating triggering, two iFCs in priority order with an AS acting as proxy and one as
# B2BUA, third-party REGISTER with the request and response included, an AS that is down
# (SESSION_CONTINUED) or silent (SESSION_TERMINATED), terminating unregistered services.
# The capture decodes cleanly and every message of a call carries one ICID on Mw.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init session
e2e_require sipp jq tshark curl

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)
AS_ADDR=127.0.0.90
# the UEs of LAB.md: address and port of each registered device
ALICE=(127.0.0.120 5301) BOB=(127.0.0.121 5302) CAROL1=(127.0.0.122 5303)
CAROL2=(127.0.0.123 5304) DAVE=(127.0.0.124 5305) ERIN=(127.0.0.125 5306)
GINA=(127.0.0.126 5307)
UUID=6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b
export IMS_SCSCF_TIMER_C=8          # "no answer" after 8 s in this test's lab

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 40 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 30s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

reg() {   # NAME USER ADDR PORT [SCENARIO [sipp args]]: Digest registration via the P-CSCF
    local name=$1 user=$2 addr=$3 port=$4 scen=${5:-reg_digest.xml}
    shift 4
    [ $# -gt 0 ] && shift
    sipp_ue "$name" "$addr" "$port" "$scen" -s "$user" -au "$user@$R" -auth_uri "$R" \
        -ap "$user-secret" -key impi "$user@$R" -key expires 600 "$@" "$PCSCF"
}

reg_aka() {   # bob with AKA (sipp's RES bug: a refused answer is retried, PEERS.md)
    local i
    for i in 1 2 3 4; do
        sipp_ue "reg-bob-$i" "${BOB[@]}" reg_aka.xml -s bob -au "bob@$R" -key impi "bob@$R" \
            -auth_uri "$R" -nd \
            -key expires 600 "$PCSCF" && return 0
        grep -qE '^SIP/2.0 403|wrong credentials' "$E2E_RUN/reg-bob-$i.msg" || return 1
    done
    return 1
}

# callee NAME ADDR PORT SCENARIO ARGS...: a UE answering in the background
callee() {
    local name=$1
    sipp_ue "$@" &
    eval "CALLEE_$name=$!"
    sleep 0.3
}
callee_ok() {   # NAME: the background UE ended its scenario well
    local pid
    eval "pid=\${CALLEE_$1}"
    wait "$pid"
}

caller() {   # NAME SCENARIO TARGET [ADDR PORT FROM] [args]: alice (default) calls
    local name=$1 scen=$2 target=$3
    shift 3
    local addr=${ALICE[0]} port=${ALICE[1]} from=alice
    if [ $# -ge 3 ] && [[ $1 =~ ^127\. ]]; then
        addr=$1 port=$2 from=$3
        shift 3
    fi
    sipp_ue "$name" "$addr" "$port" "$scen" -key from "$from" -key target "$target" "$@" \
        "$PCSCF"
}

logline() {   # NAME: what the scenario logged
    cat "$E2E_RUN/$1.log" 2>/dev/null
}

impu_state() {   # $1 identity -> "reg_state scscf"
    "${CTL[@]}" impu "$1" 2>/dev/null | jq -r '"\(.reg_state) \(.scscf)"'
}

AS_PIDS=()
as_start() {   # NAME PORT MODE: a test AS on 127.0.0.90
    "$E2E_BIN/as" --bind "$AS_ADDR:$2" --mode "$3" --name "$1" --record-route \
        >"$E2E_RUN/as-$1.out" 2>&1 &
    AS_PIDS+=($!)
}
as_stop() {
    local p
    for p in "${AS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${AS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    AS_PIDS=()
}
trap 'as_stop; e2e__on_exit $?' EXIT

# bob's UE's port too: a TCP connection tried towards it would show (it listens on UDP only)
E2E_CAP_FILTER="($E2E_CAP_FILTER) or host ${BOB[0]}"
cap_start session
step "the lab"
check "deploy/lab.sh start" lab_start

step "registration of the callers and callees"
check "alice registers (Digest)" reg reg-alice alice "${ALICE[@]}"
check "bob registers (AKAv1-MD5)" reg_aka
check "carol registers her phone with GRUU support" \
    reg reg-carol1 carol "${CAROL1[@]}" reg_gruu.xml -key uuid "$UUID"
check "carol registers a second device" reg reg-carol2 carol "${CAROL2[@]}"
gruus=$(logline reg-carol1 | sed -n 's/^gruu: //p')
PUB=$(printf '%s' "$gruus" | sed -n 's/.*pub-gruu="\([^"]*\)".*/\1/p')
TEMP=$(printf '%s' "$gruus" | sed -n 's/.*temp-gruu="\([^"]*\)".*/\1/p')
check_eq "carol's public GRUU names her instance" "sip:carol@$R;gr=urn:uuid:$UUID" "$PUB"
check_match "carol's temporary GRUU" "^sip:tgruu\.[0-9a-f]+@$R;gr$" "$TEMP"

step "calls alice -> bob"
callee bob1 "${BOB[@]}" call_uas.xml
check "alice calls bob, talks, hangs up (BYE from the caller)" \
    caller call1 call_uac.xml "sip:bob@$R" -d 500
check "bob's UE: INVITE, 180, 200, ACK, BYE" callee_ok bob1
check_match "bob was reached at his registered contact, alice asserted by her P-CSCF" \
    "invited: INVITE sip:bob@${BOB[0]}:${BOB[1]} pai= <sip:alice@$R> called= <sip:bob@$R>" \
    "$(logline bob1)"
check_match "no P-Charging-Vector reaches a UE (outside the trust domain)" \
    '^invited: .*called= <[^>]+> $' "$(logline bob1)"
CALL1=$(sed -n 's/^Call-ID: *//p' "$E2E_RUN/call1.msg" | head -n 1 | tr -d '\r')

callee bob2 "${BOB[@]}" call_uas_bye.xml -d 500
check "alice calls bob, bob hangs up (BYE from the callee)" \
    caller call2 call_uac_wait.xml "sip:bob@$R"
check "bob's UE sent the BYE along the route set" callee_ok bob2

callee bobr "${BOB[@]}" call_uas.xml
check "alice's UE sends its INVITE again after the 200 (a lost 2xx): the 200 comes again" \
    caller callr call_uac_retx.xml "sip:bob@$R" -nr
check "bob's UE answered" callee_ok bobr
check_eq "the P-CSCF absorbed the retransmission: bob's UE got one INVITE (RFC 6026)" 1 \
    "$(grep -c '^INVITE ' "$E2E_RUN/bobr.msg")"

callee bob2m "${BOB[@]}" call_uas_mid.xml
check "within the call: PRACK (100rel), re-INVITE, UPDATE, INFO, BYE along the route set" \
    caller call2m call_uac_mid.xml "sip:bob@$R"
check "bob's UE answered each of them" callee_ok bob2m
callee bobs "${BOB[@]}" subscribe_uas.xml
check "alice subscribes to bob's presence: SUBSCRIBE routed to his UE, its NOTIFY back" \
    caller sub1 subscribe_uac.xml "sip:bob@$R"
check "bob's UE notified along the dialog's route set" callee_ok bobs

callee bob3 "${BOB[@]}" call_uas_cancel.xml
check "alice hangs up while it rings: CANCEL, 487" caller call3 call_uac_cancel.xml "sip:bob@$R"
check "bob's UE: CANCEL, 487, ACK" callee_ok bob3

check "a CANCEL that matches no INVITE" caller cancel0 cancel_unknown.xml "sip:bob@$R"
check_match "... gets 481 with a Warning from the P-CSCF" \
    '^status: 481 warning: +399 127\.0\.0\.10 "no transaction to cancel"' "$(logline cancel0)"

callee bob4 "${BOB[@]}" call_uas_busy.xml
check "bob is busy" caller call4 call_uac_fail.xml "sip:bob@$R"
check_match "busy: 486 reaches alice" '^status: 486' "$(logline call4)"
callee_ok bob4

callee bob5 "${BOB[@]}" call_uas_cancel.xml
t0=$SECONDS
check "bob does not answer" caller call5 call_uac_fail.xml "sip:bob@$R"
check_match "no answer: 408 after timer C (scscf.timer_c = 8 s here)" '^status: 408' \
    "$(logline call5)"
check "... after about 8 s ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 7
check "bob's UE got the CANCEL of its S-CSCF" callee_ok bob5

check "bob's phone is off (nothing listens at his contact)" \
    caller call6 call_uac_fail.xml "sip:bob@$R"
check_match "unreachable: 480 with a Warning from his P-CSCF" \
    '^status: 480 warning: +399 127\.0\.0\.10 "the UE cannot be reached' "$(logline call6)"

step "forking, GRUU"
callee carol1 "${CAROL1[@]}" call_uas.xml -d 300
callee carol2 "${CAROL2[@]}" call_uas_cancel.xml
check "alice calls carol: both devices ring, the first answers" \
    caller call7 call_uac.xml "sip:carol@$R"
check "carol's phone answered" callee_ok carol1
check "carol's second device was cancelled" callee_ok carol2

callee carol3 "${CAROL1[@]}" call_uas.xml
check "alice calls carol's public GRUU" caller call8 call_uac.xml "$PUB"
check "only that instance rang" callee_ok carol3
callee carol4 "${CAROL1[@]}" call_uas.xml
check "alice calls carol's temporary GRUU" caller call9 call_uac.xml "$TEMP"
check "only that instance rang" callee_ok carol4

step "numbers, unknown users, breakout, MESSAGE"
callee bob6 "${BOB[@]}" call_uas.xml
check "alice calls tel:+15550100002 (ENUM: bob)" caller call10 call_uac.xml "tel:+15550100002"
check "bob's UE answered" callee_ok bob6
check_match "the INVITE reached bob's contact" "invited: INVITE sip:bob@${BOB[0]}" \
    "$(logline bob6)"
check "alice calls an unknown user" caller call11 call_uac_fail.xml "sip:nobody@$R"
check_match "unknown user: 404 from the I-CSCF (HSS: no such user)" \
    '^status: 404 warning: +399 127\.0\.0\.20 "HSS: no such user"' "$(logline call11)"
check "alice calls tel:+8885550100 (no home user; the BGCF has no route for it)" \
    caller call12 call_uac_fail.xml "tel:+8885550100"
check_match "breakout: the BGCF says it has no route" \
    '^status: 404 warning: +399 127\.0\.0\.50 "no breakout route for tel:\+8885550100"' \
    "$(logline call12)"
callee bobm "${BOB[@]}" message_uas.xml
check "alice sends bob a MESSAGE" caller msg1 message_uac.xml "sip:bob@$R"
check_match "MESSAGE: 200" '^status: 200' "$(logline msg1)"
check "bob's UE received it" callee_ok bobm

step "iFCs and application servers (ISC)"
ifc() {   # priority method session_case as default_handling [extra JSON]
    printf '{"priority":%s,"trigger":{"cnf":false,"spt":[{"group":0,"method":"%s"}%s]},' \
        "$1" "$2" "${3:+,{\"group\":0,\"session_case\":\"$3\"\}}"
    printf '"as":{"server_name":"sip:%s","default_handling":"%s"%s}}' "$4" "$5" "${6:-}"
}
subscriber() {   # name ifc-json...
    local name=$1 list
    shift
    list=$(IFS=,; echo "$*")
    printf '{"name":"%s","impis":[{"identity":"%s@%s","password":"%s-secret"}],' \
        "$name" "$name" "$R" "$name"
    printf '"impus":[{"identity":"sip:%s@%s"}],"profiles":[{"name":"default","ifcs":[%s]}]}' \
        "$name" "$R" "$list"
}
subscriber dave "$(ifc 0 REGISTER '' "$AS_ADDR:5080" continue \
                      ',"include_register_request":true,"include_register_response":true')" \
    "$(ifc 1 MESSAGE originating "$AS_ADDR:5080" continue)" \
    "$(ifc 2 MESSAGE originating "$AS_ADDR:5082" continue)" \
    "$(ifc 3 INVITE originating "$AS_ADDR:5080" continue)" >"$E2E_RUN/dave.json"
subscriber erin "$(ifc 1 INVITE terminating_registered "$AS_ADDR:5084" continue)" \
    "$(ifc 2 MESSAGE terminating_registered 127.0.0.91:5060 continue)" >"$E2E_RUN/erin.json"
subscriber frank "$(ifc 1 INVITE terminating_unregistered "$AS_ADDR:5086" continue)" \
    >"$E2E_RUN/frank.json"
subscriber gina "$(ifc 1 MESSAGE originating "$AS_ADDR:5088" terminate)" >"$E2E_RUN/gina.json"
for n in dave erin frank gina; do
    check "hssctl put $n (iFCs)" "${CTL[@]}" put "$E2E_RUN/$n.json"
done
as_start as1 5080 proxy
as_start as2 5082 b2bua
as_start as3 5084 proxy
as_start voicemail 5086 uas:200
as_start silent 5088 silent
sleep 0.3

check "dave registers (iFC for REGISTER)" reg reg-dave dave "${DAVE[@]}"
sleep 0.5
as1=$(cat "$E2E_RUN/as-as1.out")
check_match "third-party REGISTER to as1: From the S-CSCF, Expires, the UE's REGISTER and our 200" \
    "as=as1 method=REGISTER ruri=sip:$AS_ADDR:5080 .*from=sip:scscf\.$R:5060" "$as1"
check_match "... with a multipart body of both messages" \
    'register expires=600 content-type=multipart/mixed.*message/sip.*REGISTER sip:.*message/sip.*SIP/2.0 200 OK' \
    "$as1"
check "erin registers" reg reg-erin erin "${ERIN[@]}"
check "gina registers" reg reg-gina gina "${GINA[@]}"

callee erinm "${ERIN[@]}" message_uas.xml
check "dave sends erin a MESSAGE" caller msg2 message_uac.xml "sip:erin@$R" "${DAVE[@]}" dave
check_match "MESSAGE: 200 through as1, as2 and an AS that is down" '^status: 200' \
    "$(logline msg2)"
check "erin's UE received it" callee_ok erinm
check_match "as1 (priority 1, proxy) got it first, with the odi Route back" \
    "as=as1 method=MESSAGE ruri=sip:erin@$R route=sip:$AS_ADDR:5080;lr odi=yes from=sip:dave@" \
    "$(cat "$E2E_RUN/as-as1.out")"
check_match "as2 (priority 2, B2BUA) then, and sent a new dialog" \
    "as=as2 b2bua new-callid=b2b-" "$(cat "$E2E_RUN/as-as2.out")"
b2b=$(sed -n 's/^as=as2 b2bua new-callid=//p' "$E2E_RUN/as-as2.out" | head -n 1)
check_match "the B2BUA's new dialog reached erin (the odi matched it)" "callid= $b2b" \
    "$(logline erinm)"
check_match "the S-CSCF skipped the AS that is down (SESSION_CONTINUED)" \
    'application server sip:127\.0\.0\.91:5060 did not answer: session continued' \
    "$(cat "$E2E_RUN/scscf/scscf.log")"

callee erin1 "${ERIN[@]}" call_uas.xml
check "dave calls erin: originating iFC (as1) and terminating iFC (as3)" \
    caller call13 call_uac.xml "sip:erin@$R" "${DAVE[@]}" dave
check "erin's UE answered" callee_ok erin1
check_match "as1 saw dave's INVITE (originating)" "as=as1 method=INVITE ruri=sip:erin@$R" \
    "$(cat "$E2E_RUN/as-as1.out")"
check_match "as3 saw it for erin (terminating)" "as=as3 method=INVITE ruri=sip:erin@$R" \
    "$(cat "$E2E_RUN/as-as3.out")"
check_match "the ASs that record-routed saw the BYE too" "as=as1 method=BYE" \
    "$(cat "$E2E_RUN/as-as1.out")"

check "gina sends a MESSAGE: her AS is silent, DefaultHandling SESSION_TERMINATED" \
    caller msg3 message_uac.xml "sip:erin@$R" "${GINA[@]}" gina
check_match "... 504 with a Warning naming the AS" \
    "^status: 504 warning: +399 127\.0\.0\.30 \"application server sip:$AS_ADDR:5088 did not answer\"" \
    "$(logline msg3)"

check "alice calls frank, who is not registered (unregistered services)" \
    caller call14 call_uac.xml "sip:frank@$R"
check_match "the voicemail AS answered for him" "as=voicemail method=INVITE ruri=sip:frank@$R" \
    "$(cat "$E2E_RUN/as-voicemail.out")"
check_eq "HSS: frank unregistered, served by our S-CSCF" "unregistered sip:scscf.$R:5060" \
    "$(impu_state "sip:frank@$R")"
as_stop

step "capture"
cap_stop
cap=$E2E_RUN/session.pcapng
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$cap")"
mw='(ip.src == 127.0.0.10 || ip.src == 127.0.0.20 || ip.src == 127.0.0.30) && (ip.dst == 127.0.0.10 || ip.dst == 127.0.0.20 || ip.dst == 127.0.0.30)'
icids=$(tshark -r "$cap" -Y "sip.Call-ID == \"$CALL1\" && $mw" -T fields -e sip.P-Charging-Vector \
    2>/dev/null | sed 's/.*icid-value=\([^;]*\).*/\1/' | sort | uniq -c)
check_match "every message of alice's first call on Mw carries the same ICID" \
    '^ *[0-9]+ [0-9a-f]+$' "$icids"
check_eq "... and none lacks it" 0 \
    "$(cap_count "$cap" "sip.Call-ID == \"$CALL1\" && $mw && !sip.P-Charging-Vector")"
check "the calls' messages crossed P-CSCF, S-CSCF and I-CSCF" \
    test "$(cap_count "$cap" "sip.Call-ID == \"$CALL1\" && $mw")" -ge 20
# RFC 3261 18.1.1 would take a request past 1300 bytes to TCP; a UE is reached on the flow
# it registered (behind a NAT a connection to its address reaches nothing): sipp listens on
# UDP only, and the P-CSCF tried a connection for each such INVITE before falling back
check "the INVITE to bob's UE was past 1300 bytes and went over UDP" \
    test "$(cap_count "$cap" "ip.dst == ${BOB[0]} && udp.dstport == ${BOB[1]} && udp.length > 1308 && frame contains \"INVITE sip:\"")" -ge 1
check_eq "no TCP connection was tried towards bob's UE (it registered over UDP)" 0 \
    "$(cap_count "$cap" "ip.dst == ${BOB[0]} && tcp.flags.syn == 1 && tcp.flags.ack == 0")"

lab_stop
e2e_finish
