#!/usr/bin/env bash
# tests/e2e/test_register.sh - registration end to end: UE (sipp) -> P-CSCF -> I-CSCF ->
# S-CSCF, with the HSS behind (TS 24.229 5.2-5.4).
#
# alice registers with Digest and bob with AKAv1-MD5 (sipp's aka_K/aka_OP/aka_AMF; a refused
# answer is retried a few times because sipp hashes a RES with a zero byte wrongly, PEERS.md), and
# with AKAv2-MD5 by the project's test UE (tests/tools/ue.c);
# the HSS then says both are registered at our S-CSCF; a reg event subscription gets the
# reginfo with the contact; re-registration; a wrong password gets a new challenge with a
# Warning (403 only after scscf.max_auth_failures: test_scscf_trust.sh); an unknown user
# 403; an AKA UE whose SQN is ahead re-synchronises (AUTS, the HSS resets its SQN); a too
# short expiry 423; de-registration; the S-CSCF restarts and keeps the registrations; the
# HSS stopped gives 480 with Retry-After and registration works again once it is back.
# The capture decodes cleanly.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init register
e2e_require sipp jq tshark curl

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
ENTRY=${IMS_REG_ENTRY:-127.0.0.10:5060}     # the P-CSCF
UE=127.0.0.120
PORT=5100
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)

# each user's UE has its own port: the P-CSCF knows a registered UE by its address and port
declare -A UPORT=([alice]=5201 [bob]=5202 [carol]=5203 [nobody]=5209)

# sipp NAME SCENARIO ARGS... : one call from the UE (port $SIPP_PORT, else a new one), logs
# in the run folder; exit status
sipp_run() {
    local name=$1 scen=$2 port=${SIPP_PORT:-}
    shift 2
    if [ -z "$port" ]; then
        PORT=$((PORT + 1))
        port=$PORT
    fi
    (cd "$E2E_RUN" && timeout 30 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$UE" -p "$port" \
        -timeout 20s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        "$ENTRY" >"$name.out" 2>&1)
}

# register USER PASSWORD [EXPIRES]: Digest. The digest uri is the Request-URI (-auth_uri;
# sipp's own default, its next hop, is refused: RFC 2617 3.2.2.5). REG_ND=1: sipp's -nd, for
# a REGISTER expected to fail from a registered port: sipp then sends no BYE after the
# failure, which a CSCF would route by its domain through DNS, and in the test's network
# namespace no DNS server can be reached (see the report of issue 12); it waits for its
# timeout instead
reg_digest() {
    SIPP_PORT=${UPORT[$1]} sipp_run "reg-$1-$RANDOM" reg_digest.xml -s "$1" -au "$1@$R" -ap "$2" \
        -key impi "$1@$R" -auth_uri "$R" ${REG_ND:+-nd} -key expires "${3:-600}"
}

# register bob (or a bulk user) with AKA; retries the refusal of sipp's RES bug (-nd: sipp
# does not answer that new 401 with a BYE, it gives up after its timeout)
reg_aka() {
    local i
    for i in 1 2 3 4; do
        SIPP_PORT=${UPORT[$1]:-} sipp_run "reg-aka-$1-$i" reg_aka.xml -s "$1" -au "$1@$R" \
            -key impi "$1@$R" -auth_uri "$R" -nd -key expires "${2:-600}" && return 0
        # a wrong RES (sipp's bug): a new challenge with a Warning that sipp cannot answer
        grep -qE '^SIP/2.0 403|wrong credentials' "$E2E_RUN/reg-aka-$1-$i.msg" || return 1
    done
    return 1
}

# ue NAME ARGS...: the project's test UE (tests/tools/ue.c) registers through ENTRY
ue_run() {
    local name=$1
    shift
    PORT=$((PORT + 1))
    timeout 30 "$E2E_BIN/ue" --proxy "$ENTRY" --bind "$UE:$PORT" "$@" >"$E2E_RUN/$name.out" 2>&1
}
BOB_K=$(jq -r '.subscribers[] | select(.name=="bob") | .impis[0].k' \
    "$E2E_ROOT/deploy/lab/subscribers.json")
BOB_OP=$(jq -r '.subscribers[] | select(.name=="bob") | .impis[0].op' \
    "$E2E_ROOT/deploy/lab/subscribers.json")
bob_ue() {   # NAME ARGS...: bob's UE with his USIM
    local name=$1
    shift
    ue_run "$name" --impu "sip:bob@$R" --impi "bob@$R" --k "$BOB_K" --op "$BOB_OP" "$@"
}
bob_sqn() {
    "${CTL[@]}" get bob 2>/dev/null | jq -r '.impis[0].sqn'
}

sub_alice() {   # NAME: alice's UE subscribes to her reg event (from her registered port)
    SIPP_PORT=${UPORT[alice]} sipp_run "$1" sub_reg.xml -s alice
}
dereg_carol() {   # NAME ARGS: carol's UE de-registers
    local name=$1
    shift
    SIPP_PORT=${UPORT[carol]} sipp_run "$name" dereg_digest.xml -auth_uri "$R" "$@"
}

impu_state() {   # $1 identity -> "reg_state scscf"
    "${CTL[@]}" impu "$1" 2>/dev/null | jq -r '"\(.reg_state) \(.scscf)"'
}

cap_start register
step "the lab"
check "deploy/lab.sh start" lab_start

step "registration with Digest (alice) and IMS-AKA (bob)"
check "alice registers with Digest" reg_digest alice alice-secret
check_eq "HSS: alice registered at our S-CSCF" "registered sip:scscf.$R:5060" \
    "$(impu_state "sip:alice@$R")"
check_eq "HSS: alice's tel: URI is registered with her (implicit set)" \
    "registered sip:scscf.$R:5060" "$(impu_state "tel:+15550100001")"
check "bob registers with AKAv1-MD5" reg_aka bob
check_eq "HSS: bob registered" "registered sip:scscf.$R:5060" "$(impu_state "sip:bob@$R")"
log200=$(cat "$E2E_RUN"/reg-alice-*.log 2>/dev/null | grep '^registered' | tail -n 1)
check_match "200 OK: Service-Route of the S-CSCF with orig" '<sip:127\.0\.0\.30:5060;lr;orig>' \
    "$log200"
check_match "200 OK: P-Associated-URI starts with alice's sip: URI" \
    "registered: [^ ]+ <sip:alice@$R>" "$log200"

step "IMS-AKA: AKAv2-MD5, and re-synchronisation of a USIM that is ahead of the HSS"
check "bob registers with AKAv2-MD5 (project UE)" bob_ue ue-akav2 --algorithm AKAv2-MD5
check "bob's USIM is ahead (SQN 0x100000): AUTS, a fresh challenge, 200" \
    bob_ue ue-resync --algorithm AKAv1-MD5 --sqn 000000100000
check_match "the UE answered the first challenge with AUTS" \
    'synchronisation failure, auts=' "$(cat "$E2E_RUN/ue-resync.out")"
check_match "the second challenge carried a sequence number the USIM accepts" \
    'usim: sqn [0-9]+ accepted' "$(cat "$E2E_RUN/ue-resync.out")"
check "the HSS moved its SQN past the USIM's (0x100000)" \
    test "$((16#$(bob_sqn)))" -gt "$((16#100000))"

step "reg event (RFC 3680)"
check "SUBSCRIBE to alice's registration: 200, NOTIFY with reginfo, unsubscribe" \
    sub_alice sub-alice
check_match "the NOTIFY names alice's contact" "notify: active;expires=[0-9]+ <uri>sip:alice@$UE:" \
    "$(cat "$E2E_RUN/sub-alice.log" 2>/dev/null)"
check_match "the NOTIFY carries the S-CSCF's Contact" "notifier contact: sip:[^ ]*127\.0\.0\.30" \
    "$(cat "$E2E_RUN/sub-alice.log" 2>/dev/null)"
# TS 24.229 5.4.2.1.1: only the user, the P-CSCF of her Path or an AS of her iFCs may watch
# her registration; straight to the S-CSCF, as a P-CSCF would assert
ENTRY=127.0.0.30:5060 sipp_run sub-alice-bob sub_reg_forbidden.xml -s alice -key pai "sip:bob@$R"
check_eq "a reg-event SUBSCRIBE for alice asserting bob's identity: 403" 0 $?
ENTRY=127.0.0.30:5060 sipp_run sub-alice-p sub_reg_forbidden.xml -s alice \
    -key pai "sip:term@127.0.0.11:5060"
check_eq "... asserting a P-CSCF that is not in her Path: 403" 0 $?

step "re-registration, failures, expiry limits"
check "alice re-registers" reg_digest alice alice-secret
ue_run ue-wrong --impu "sip:alice@$R" --impi "alice@$R" --password wrong-password --rounds 1
check_match "a wrong password: a new 401 challenge with a Warning" \
    'warning: authentication failed: wrong credentials \(attempt 1 of 3\)' \
    "$(cat "$E2E_RUN/ue-wrong.out")"
reg_digest nobody x
check_match "an unknown user: 403 (HSS: user unknown)" 'Warning: 399 [0-9.]+ "HSS: user unknown"' \
    "$(cat "$E2E_RUN"/reg-nobody-*.msg)"
reg_digest carol carol-secret 10
check_match "an expiry below the minimum: 423 with Min-Expires" 'Min-Expires: 60' \
    "$(cat "$E2E_RUN"/reg-carol-*.msg)"

step "de-registration"
check "carol registers" reg_digest carol carol-secret
check_eq "HSS: carol registered" "registered sip:scscf.$R:5060" "$(impu_state "sip:carol@$R")"
check "carol de-registers (Expires 0)" dereg_carol dereg-carol -s carol \
    -au "carol@$R" -ap carol-secret -key impi "carol@$R"
check_eq "HSS: carol not registered, no S-CSCF" "not_registered null" \
    "$(impu_state "sip:carol@$R")"

step "the S-CSCF restarts and keeps its registrations"
pid=$(cat "$E2E_RUN/scscf/scscf.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
lab_start_one scscf
for _ in $(seq 100); do
    [ "$(curl -s http://127.0.0.30:8080/health | jq -r .status 2>/dev/null)" = ok ] && break
    sleep 0.2
done
check_match "the S-CSCF restored alice's and bob's registrations" \
    'restored from the database' "$(grep restored "$E2E_RUN/scscf/scscf.log" | tail -n 1)"
check "a reg event subscription for alice is accepted after the restart" \
    sub_alice sub-alice-2

step "the HSS stops: a clear error; back again: registration works"
hpid=$(cat "$E2E_RUN/hss/hss.pid")
kill -TERM "$hpid"
for _ in $(seq 100); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
REG_ND=1 reg_digest alice alice-secret
check_match "HSS down: 480 with Retry-After and a Warning" \
    'SIP/2.0 480.*' "$(cat "$E2E_RUN"/reg-alice-*.msg | tr '\r' ' ')"
check_match "HSS down: the Warning says the HSS cannot be reached" \
    'Warning: 399 [0-9.]+ "HSS (unreachable|did not answer in time)"' \
    "$(cat "$E2E_RUN"/reg-alice-*.msg)"
lab_start_one hss
ok=0
for _ in $(seq 60); do   # the clients reconnect within their tc_timer (5 s), each on its own
    st=$(curl -s http://127.0.0.20:8080/health | jq -r .status 2>/dev/null)
    st2=$(curl -s http://127.0.0.30:8080/health | jq -r .status 2>/dev/null)
    [ "$st $st2" = "ok ok" ] && { ok=1; break; }
    sleep 0.5
done
check_eq "the I-CSCF and the S-CSCF reconnected to the HSS" 1 "$ok"
check "alice registers again" reg_digest alice alice-secret

step "capture"
cap_stop
cap=$E2E_RUN/register.pcapng
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$cap")"
check_eq "REGISTER, 401, 200, UAR, MAR, SAR on the wire" "yes yes yes yes yes yes" \
    "$(for f in 'sip.Method == "REGISTER"' 'sip.Status-Code == 401' 'sip.Status-Code == 200' \
                'diameter.cmd.code == 300' 'diameter.cmd.code == 303' \
                'diameter.cmd.code == 301'; do
           [ "$(cap_count "$cap" "$f")" -gt 0 ] && printf 'yes ' || printf 'no ';
       done | sed 's/ $//')"

lab_stop
e2e_finish
