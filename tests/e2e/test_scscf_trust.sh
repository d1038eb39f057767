#!/usr/bin/env bash
# tests/e2e/test_scscf_trust.sh - the S-CSCF's registrar and authentication as an attacker
# sees them, and the bounds of issue 12 (trust boundaries), end to end through the P-CSCF.
#
# The project's UE (tests/tools/ue.c) plays the attacker: an answer to a challenge issued
# for another public identity (403), an answer without qop though qop=auth was offered
# (403: no downgrade), a digest uri other than the Request-URI (400); a wrong password gets
# a new challenge twice, then 403, and the private identity gets no new challenge until
# the window ends. Bounds, each with its answer, Warning and /metrics counter: contacts per
# registration set (403; the same +sip.instance replaces its oldest binding instead),
# reg-event subscriptions per set and challenges pending per private identity (503 +
# Retry-After, stateless: before any transaction of the S-CSCF), online-charged calls (a
# prepaid call beyond charging.max_dialogs is refused 503, never let through uncharged; its
# place comes back once the call ends), P-CSCF bindings per source address (503 + Retry-After). The
# S-CSCF's 503s reach the UE through the P-CSCF as 500 with the same Warning (RFC 3261 16.7
# step 6); the capture shows the 503s with Retry-After on the S-CSCF's side. A
# reg-event SUBSCRIBE asserting the user's own identity but not coming through her Path is
# refused. A de-registration whose SAR fails (the HSS stopped between the challenge and
# the answer) leaves the registration as it was, the UE gets 480 with a Warning.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init scscf_trust
e2e_require sipp jq tshark curl

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
PCSCF=127.0.0.10:5060
SCSCF=127.0.0.30:5060
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)
# each user's UEs have an address of their own (the P-CSCF bounds bindings per address)
A=127.0.0.140 B=127.0.0.141 C=127.0.0.142 D=127.0.0.143 ATTACKER=127.0.0.149 CROWD=127.0.0.150

# small bounds, so that reaching them takes a few requests
export IMS_SCSCF_MAX_CONTACTS=2
export IMS_SCSCF_AUTH_FAILURE_WINDOW=12
export IMS_SCSCF_MAX_SUBSCRIPTIONS=3
export IMS_SCSCF_MAX_CHALLENGES_PER_IMPI=2
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=3
export IMS_CHARGING_MAX_DIALOGS=1

# ue NAME USER ADDR:PORT ARGS...: the project's UE registers USER with Digest (its own
# password unless ARGS say otherwise) through the P-CSCF (UE_PROXY to go elsewhere)
ue() {
    local name=$1 user=$2 bind=$3
    shift 3
    timeout 40 "$E2E_BIN/ue" --proxy "${UE_PROXY:-$PCSCF}" --bind "$bind" \
        --impu "sip:$user@$R" --impi "$user@$R" --password "$user-secret" --algorithm MD5 \
        "$@" >"$E2E_RUN/$name.out" 2>&1
}
out() { cat "$E2E_RUN/$1.out" 2>/dev/null; }

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 40s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}
logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }

metric_of() {   # ADDRESS SERIES -> value ("absent" when missing)
    http_get "http://$1:8080/metrics"
    printf '%s\n' "$HTTP_BODY" | awk -v s="$2" '$1 == s { print $2; f = 1; exit }
                                                END { if (!f) print "absent" }'
}
impu_state() {   # identity -> "reg_state scscf"
    "${CTL[@]}" impu "$1" 2>/dev/null | jq -r '"\(.reg_state) \(.scscf)"'
}
healthy() {   # ADDRESS: its /health says ok (10 s at most)
    local i
    for i in $(seq 50); do
        [ "$(curl -s http://"$1":8080/health | jq -r .status 2>/dev/null)" = ok ] && return 0
        sleep 0.2
    done
    return 1
}

cap_start scscf_trust
step "the lab (small bounds: see the exports above)"
check "deploy/lab.sh start" lab_start

step "P-CSCF: bindings per source address (pcscf.max_bindings_per_source)"
check "alice registers from $CROWD:5501" ue crowd-alice alice "$CROWD:5501"
check "bob registers from $CROWD:5502" ue crowd-bob bob "$CROWD:5502"
check "carol registers from $CROWD:5503" ue crowd-carol carol "$CROWD:5503"
ue crowd-4 alice "$CROWD:5504"
check_match "a fourth binding from that address: 503 with a Warning" \
    'warning: .*too many registrations from this address' "$(out crowd-4)"
check_match "... and Retry-After" '^retry-after: [0-9]+' "$(out crowd-4)"
check_match "... and it never reached the S-CSCF (no challenge)" '^got 503' "$(out crowd-4)"
check_eq "/metrics: pcscf_limit_total{limit=\"bindings_per_source\"}" 1 \
    "$(metric_of 127.0.0.10 'pcscf_limit_total{limit="bindings_per_source"}')"
check "alice de-registers from $CROWD:5501" ue crowd-alice-0 alice "$CROWD:5501" --expires 0
check "bob de-registers" ue crowd-bob-0 bob "$CROWD:5502" --expires 0
check "carol de-registers" ue crowd-carol-0 carol "$CROWD:5503" --expires 0
check "a new binding from that address is accepted again" ue crowd-5 alice "$CROWD:5504"
check "... and goes again" ue crowd-5-0 alice "$CROWD:5504" --expires 0

step "answers that do not fit their challenge"
ue other-impu alice "$A:5401" --answer-impu "tel:+15550100001"
check_match "alice's answer to a challenge for sip:alice, sent for tel:+15550100001: 403" \
    '^got 403' "$(out other-impu)"
check_match "... the Warning says the nonce was issued for another public identity" \
    'warning: .*another public identity' "$(out other-impu)"
ue no-qop bob "$B:5402" --no-qop
check_match "an answer without qop though qop=auth was offered (RFC 2069 downgrade): 403" \
    '^got 403' "$(out no-qop)"
check_match "... the Warning names qop" 'warning: .*qop=auth was offered' "$(out no-qop)"
ue bad-uri carol "$C:5403" --digest-uri "sip:evil.example.org"
check_match "a digest uri other than the Request-URI: 400 (RFC 2617 3.2.2.5)" \
    '^got 400' "$(out bad-uri)"
check_match "... the Warning names the uri" 'warning: .*digest uri is not the Request-URI' \
    "$(out bad-uri)"
check "alice registers with a right answer" ue reg-alice alice "$A:5401"
check "bob registers" ue reg-bob bob "$B:5402"
check "carol registers" ue reg-carol carol "$C:5403"

step "a wrong password: new challenges, then 403 and a lock-out (max_auth_failures 3)"
t_fail=$SECONDS
ue wrong alice "$A:5401" --password guess
check_match "the first wrong answer gets a new 401 with a Warning (attempt 1 of 3)" \
    'warning: .*wrong credentials \(attempt 1 of 3\)' "$(out wrong)"
check_match "the second one too (attempt 2 of 3)" \
    'warning: .*wrong credentials \(attempt 2 of 3\)' "$(out wrong)"
check_match "the third: 403, no new challenge for the window" \
    'warning: .*3 failed attempts: no new challenge for 12 s' "$(out wrong)"
check_match "... a 403" '^got 403' "$(out wrong)"
ue locked alice "$A:5401"
check_match "alice with the right password during the window: 403, try again later" \
    'warning: .*too many failed authentication attempts .*try again in [0-9]+ s' \
    "$(out locked)"
check_eq "HSS: alice stays registered (her bindings are not touched)" \
    "registered sip:scscf.$R:5060" "$(impu_state "sip:alice@$R")"
sleep $((t_fail + 14 - SECONDS > 0 ? t_fail + 14 - SECONDS : 0))
check "after the window alice registers again" ue unlocked alice "$A:5401"
check "/metrics: scscf_limit_total{limit=\"auth_failures\"} counts the 403s" \
    test "$(metric_of 127.0.0.30 'scscf_limit_total{limit="auth_failures"}')" -ge 2

step "contacts per registration set (scscf.max_contacts 2)"
ue three alice "$A:5411" --contacts 3
check_match "a REGISTER with three contacts: 403 with a Warning" \
    'warning: .*too many contacts: at most 2' "$(out three)"
DEV="urn:uuid:00000000-0000-1000-8000-00000000a11c"
check "a second device of alice (+sip.instance, reg-id 1) registers" \
    ue dev1 alice "$A:5412" --instance "<$DEV>" --reg-id 1
ue third alice "$A:5413"
check_match "a third contact without +sip.instance: 403" '^got 403' "$(out third)"
check "the device again from a new address (same +sip.instance, reg-id 2): 200" \
    ue dev2 alice "$A:5413" --instance "<$DEV>" --reg-id 2
check_eq "... it replaced the device's old binding: alice's contacts are :5401 and :5413" \
    "sip:ue@$A:5401 sip:ue@$A:5413" \
    "$(grep '^contact: ' "$E2E_RUN/dev2.out" | cut -d' ' -f2 | sort | tr '\n' ' ' | sed 's/ $//')"
check "/metrics: scscf_limit_total{limit=\"contacts\"} is 2" \
    test "$(metric_of 127.0.0.30 'scscf_limit_total{limit="contacts"}')" -eq 2

step "reg-event subscriptions: who, and how many (scscf.max_subscriptions 3)"
sipp_ue sub-forged "$ATTACKER" 5901 sub_reg_forbidden.xml -s bob -key pai "sip:bob@$R" "$SCSCF"
rc=$?
check_eq "a SUBSCRIBE asserting bob's identity, straight to the S-CSCF (not from his Path): 403" \
    0 "$rc"
refused=0 ok=0
for i in 1 2 3 4; do
    sipp_ue "sub-bob-$i" "$B" 5402 sub_reg_keep.xml -s bob "$PCSCF"
    if logline "sub-bob-$i" | grep -q '^refused: 50[03]'; then refused=$i; break; fi
    logline "sub-bob-$i" | grep -q '^subscribed' && ok=$((ok + 1))
done
check "bob's UE subscribes through the P-CSCF ($ok accepted beside the P-CSCF's own)" \
    test "$ok" -ge 2
check "beyond the bound: refused (attempt $refused)" test "$refused" -gt 0
check_match "... 503 from the S-CSCF, 500 through the P-CSCF, with a Warning" \
    '^refused: 500 .*too many reg-event subscriptions' "$(logline "sub-bob-$refused")"
check_eq "/metrics: scscf_limit_total{limit=\"subscriptions\"}" 1 \
    "$(metric_of 127.0.0.30 'scscf_limit_total{limit="subscriptions"}')"

step "pending challenges per private identity (scscf.max_challenges_per_impi 2)"
# alice's REGISTERs from an address of their own (A has its pcscf.max_bindings_per_source),
# their 401s left unanswered: her challenges stay pending (scscf.nonce_ttl); no later step
# registers alice
ue pend-1 alice "$D:5421" --rounds 0
check_match "a REGISTER of alice left unanswered: 401" '^got 401' "$(out pend-1)"
ue pend-2 alice "$D:5422" --rounds 0
check_match "... a second one: 401" '^got 401' "$(out pend-2)"
ue pend-3 alice "$D:5423" --rounds 0
check_match "a third while two are pending: 503 from the S-CSCF, 500 through the P-CSCF" \
    '^got 500' "$(out pend-3)"
check_match "... with the S-CSCF's Warning" \
    'warning: .*too many challenges pending for this private identity' "$(out pend-3)"
check_eq "/metrics: scscf_limit_total{limit=\"challenges_per_impi\"}" 1 \
    "$(metric_of 127.0.0.30 'scscf_limit_total{limit="challenges_per_impi"}')"

step "online-charged calls (charging.max_dialogs 1): refused when no place is left"
sipp_ue uas-bob "$B" 5402 call_uas.xml &
uas=$!
sleep 0.3
sipp_ue call1 "$A" 5401 call_uac.xml -key from alice -key target "sip:bob@$R" -d 4000 \
    "$PCSCF" &
call1=$!
for _ in $(seq 50); do logline call1 | grep -q '^answered' && break; sleep 0.1; done
sipp_ue call2 "$A" 5413 call_uac_fail.xml -key from alice -key target "sip:bob@$R" "$PCSCF"
check_match "alice's second call while her first holds the only place: refused with a Warning" \
    '^status: 50[03] warning: .*no room for another charged call' "$(logline call2)"
wait "$call1"
check_eq "the first call went on and ended normally" 0 $?
wait "$uas"
check_eq "bob's UE: INVITE, 200, ACK, BYE" 0 $?
check_eq "/metrics: scscf_limit_total{limit=\"charged_dialogs\"}" 1 \
    "$(metric_of 127.0.0.30 'scscf_limit_total{limit="charged_dialogs"}')"
sipp_ue uas-bob2 "$B" 5402 call_uas.xml &
uas=$!
sleep 0.3
check "once it ended, its place is free: alice calls again" \
    sipp_ue call3 "$A" 5401 call_uac.xml -key from alice -key target "sip:bob@$R" -d 200 \
    "$PCSCF"
wait "$uas"

step "de-registration whose SAR fails: the registration stays"
# straight to the S-CSCF (with the HSS stopped the I-CSCF could not route it: UAR), so from
# an address of its trust domain (the test AS's: it refuses any other source)
T=127.0.0.90
# the device of the steps above goes first: only the de-registration of the last binding
# needs the HSS (a binding that leaves others goes at once, TS 24.229 5.4.1.4)
check "carol de-registers her first device" ue dereg-first carol "$C:5403" --expires 0
UE_PROXY=$SCSCF ue reg-direct carol "$T:5403"
check_eq "carol registers a device straight at the S-CSCF from $T" 0 $?
b0=$(metric_of 127.0.0.30 scscf_bindings)
UE_PROXY=$SCSCF ue dereg-down carol "$T:5403" --expires 0 --answer-delay 3000 &
ue_pid=$!
for _ in $(seq 50); do out dereg-down | grep -q '^answer in' && break; sleep 0.1; done
check_match "carol's de-registration was challenged (the HSS answered the MAR)" \
    '^answer in' "$(out dereg-down)"
hpid=$(cat "$E2E_RUN/hss/hss.pid")
kill -TERM "$hpid"
for _ in $(seq 100); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
wait "$ue_pid"
check_match "the HSS stopped before the SAR: 480 for the UE" '^got 480' "$(out dereg-down)"
check_match "... with a Warning naming the HSS" 'warning: .*HSS' "$(out dereg-down)"
check_eq "the S-CSCF kept carol's binding (scscf_bindings unchanged)" "$b0" \
    "$(metric_of 127.0.0.30 scscf_bindings)"
lab_start_one hss
check "the HSS is back" healthy 127.0.0.40
ok=0
for _ in $(seq 60); do   # the clients reconnect within their tc_timer (5 s)
    healthy 127.0.0.20 && healthy 127.0.0.30 && { ok=1; break; }
    sleep 0.5
done
check_eq "the I-CSCF and the S-CSCF reconnected to the HSS" 1 "$ok"
check_eq "HSS: carol is still registered at our S-CSCF" "registered sip:scscf.$R:5060" \
    "$(impu_state "sip:carol@$R")"
check "carol de-registers that device through the P-CSCF" ue dereg carol "$T:5403" --expires 0
check_eq "HSS: now carol is not registered" "not_registered null" \
    "$(impu_state "sip:carol@$R")"

step "capture"
cap_stop
cap=$E2E_RUN/scscf_trust.pcapng
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$cap")"
check "the S-CSCF's 503s (subscriptions, challenges, charged calls) are on the wire" \
    test "$(cap_count "$cap" 'ip.src == 127.0.0.30 && sip.Status-Code == 503')" -ge 3
check_eq "... each with Retry-After" 0 \
    "$(cap_count "$cap" 'ip.src == 127.0.0.30 && sip.Status-Code == 503 && !sip.Retry-After')"
crowd503='ip.src == 127.0.0.10 && sip.Status-Code == 503 && sip.Warning contains "too many registrations"'
stateless_tag='sip.to.tag matches "^sl[0-9a-f]{16}$"'
for bound in "reg-event subscriptions" "challenges pending"; do
    s503="ip.src == 127.0.0.30 && sip.Status-Code == 503 && sip.Warning contains \"$bound\""
    check "the S-CSCF's 503 for too many $bound was stateless (sip.c's early refusal)" \
        test "$(cap_count "$cap" "$s503 && $stateless_tag")" -ge 1 -a \
        "$(cap_count "$cap" "$s503 && !($stateless_tag)")" -eq 0
done
check "the P-CSCF's 503 for one source's bound was stateless (sip.c's early refusal, its To tag)" \
    test "$(cap_count "$cap" "$crowd503 && $stateless_tag")" -ge 1 -a \
    "$(cap_count "$cap" "$crowd503 && !($stateless_tag)")" -eq 0

lab_stop
e2e_finish
