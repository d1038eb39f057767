#!/usr/bin/env bash
# tests/e2e/test_interop_kamailio.sh - interop with Debian's kamailio-ims-modules 5.6.3
# (issues 4 and 5): Kamailio's IMS P-CSCF in front of our I-CSCF and S-CSCF, and our P-CSCF
# in front of Kamailio's I-CSCF and S-CSCF, all with our HSS; registration with SIP Digest
# and IMS-AKA, then a call in each mix.
#
#  (a) UE (sipp) -> Kamailio P-CSCF 127.0.1.10 -> our I-CSCF 127.0.0.20 -> our S-CSCF 127.0.0.30
#      alice (Digest) and bob (AKAv1-MD5) register; the HSS says they are registered at our
#      S-CSCF; the REGISTER reached our S-CSCF with Kamailio's Path and our 200 OK echoed it;
#      Kamailio took the ck/ik out of our 401. alice calls bob: Kamailio's P-CSCF sends the
#      INVITE along our Service-Route, our S-CSCF (orig, then term through our I-CSCF) sends
#      it to bob's contact along Kamailio's Path; 180, 200, ACK, BYE along the Record-Route.
#      Then a wrong password gets our new challenge (401 with a Warning) through Kamailio;
#      alice de-registers.
#  (b) UE (sipp) -> our P-CSCF 127.0.1.11 (a second instance with a configuration of this
#      test; its I-CSCF is Kamailio's) -> Kamailio I-CSCF 127.0.1.20 -> Kamailio S-CSCF
#      127.0.1.30; dave (Digest) and erin (AKAv1-MD5, bob's printable keys), provisioned by
#      the test, register; the HSS says they are registered at Kamailio's S-CSCF; our
#      P-CSCF keeps their bindings and subscribes to their reg event at Kamailio's S-CSCF
#      (which accepts: our SUBSCRIBE asserts our Path URI). dave calls erin: our P-CSCF ->
#      Kamailio S-CSCF (orig) -> Kamailio I-CSCF (LIR) -> Kamailio S-CSCF (term) -> our
#      P-CSCF (Path) -> erin, the whole dialog through.
#  (c), (d) across the mixes, with the Kamailio P-CSCF of (a) still up: bob calls erin (our
#      S-CSCF -> our I-CSCF, LIR: Kamailio's S-CSCF -> our P-CSCF), erin calls bob
#      (Kamailio's S-CSCF -> Kamailio's I-CSCF, LIR: our S-CSCF -> Kamailio's P-CSCF).
#  Checked by the sipp exit statuses, the HSS's provisioning API, our P-CSCF's /metrics and
#  the capture: no malformed packet; the hops and headers of each REGISTER; for each call
#  the INVITE and the BYE on every hop, one ICID in every INVITE between network nodes, the
#  Record-Route the caller got, the asserted identity.
#
# The Kamailio configurations are tests/interop/kamailio/ (README.md there): what the
# Kamailio P-CSCF leaves out on this machine, and why (tests/interop/kamailio/pcscf.cfg):
# - IPsec (sec-agree): no ESP transform in this kernel (PEERS.md); ims_ipsec_pcscf is only
#   loaded because ims_registrar_pcscf binds to it; UEs register without Security-Client.
# - Rx (ims_qos) / PCRF: none in the lab; the Kamailio P-CSCF has no Diameter at all.
# - Its reg event subscription (pua with a database): off; our S-CSCF's side of the reg
#   event is covered by test_register.sh, Kamailio's S-CSCF side by (b) here.
#
# cdp (Kamailio's Diameter stack) finds its peers by host name only and the Kamailio CSCFs
# send to names: the test adds them to /etc/hosts between markers and removes them on every
# way out (tests/lib/kamailio.sh). Needs root. sipp 3.6 computes a wrong AKA response when
# RES holds a zero byte (PEERS.md): an AKA registration is retried on 403.
#
# IMS_KAM_DEBUG=1 runs Kamailio with debug logs.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init interop_kamailio
. "$E2E_ROOT/tests/lib/kamailio.sh"
e2e_require kamailio sipp tshark curl jq ss pgrep setsid timeout getent

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)
KP=127.0.1.10                 # Kamailio P-CSCF
KI=127.0.1.20                 # Kamailio I-CSCF
KS=127.0.1.30                 # Kamailio S-CSCF
P2=127.0.1.11                 # our P-CSCF in front of Kamailio
OUR_SCSCF="sip:scscf.$R:5060"
KAM_SCSCF="sip:scscf-kam.$R:5060"
# UEs (LAB.md: 127.0.0.110-199): address and port of each user's device
declare -A UE_IP=([alice]=127.0.0.131 [bob]=127.0.0.132 [dave]=127.0.0.134 [erin]=127.0.0.135)
declare -A UE_PORT=([alice]=5231 [bob]=5232 [dave]=5234 [erin]=5235)
AKA_ATTEMPTS=5
T_START=$SECONDS

# the Kamailio peers and our second P-CSCF are on 127.0.1.0/24 (LAB.md): capture them too
E2E_CAP_FILTER='(net 127.0.0.0/24 or net 127.0.1.0/24) and (port 5060 or port 3868 or port 5868 or port 8080)'
kam_init

# sipp_ue NAME USER SCENARIO NEXT-HOP [sipp args]: one run from USER's device
sipp_ue() {
    local name=$1 user=$2 scen=$3 hop=$4
    shift 4
    (cd "$E2E_RUN" && timeout 40 sipp -sf "$SCEN/$scen" -m 1 -nostdin -t u1 \
        -i "${UE_IP[$user]}" -p "${UE_PORT[$user]}" -timeout 20s -timeout_error \
        -max_retrans 5 -key domain "$R" -s "$user" -au "$user@$R" -key impi "$user@$R" \
        -auth_uri "$R" \
        -trace_err -error_file "sipp-$name.err" -trace_logs -log_file "sipp-$name.log" \
        -trace_msg -message_file "sipp-$name.msg" "$@" "$hop" >"sipp-$name.out" 2>&1)
}

sipp_check() {   # $1 what $2 run name $3 exit status
    if [ "$3" -eq 0 ]; then
        pass "$1 (sipp exit status 0)"
        return 0
    fi
    fail "$1: sipp exit status $3 (0: every step of the scenario passed)" \
        "$(tail -n 12 "$E2E_RUN/sipp-$2.err" 2>/dev/null)" \
        "$(tail -n 5 "$E2E_RUN/sipp-$2.out" 2>/dev/null)"
    return 1
}

reg_digest() {   # NAME USER HOP [PASSWORD]: Digest registration, 600 s
    sipp_ue "$1" "$2" interop_reg_digest.xml "$3" -ap "${4:-$2-secret}" -key expires 600 -nd
}

AKA_LAST=
reg_aka() {   # NAME USER HOP: AKAv1-MD5 with bob's printable keys; a refusal is retried
    local i rc
    for i in $(seq 1 $AKA_ATTEMPTS); do
        AKA_LAST=$1-$i
        sipp_ue "$AKA_LAST" "$2" interop_reg_aka.xml "$3" -key aka_k bob-lab-key-0001 \
            -key aka_op ims-lab-op-00001 -key aka_amf 80 -key expires 600 -nd
        rc=$?
        [ $rc -eq 0 ] && return 0
        # a wrong RES: 403 (a Kamailio S-CSCF), or our new challenge with a Warning
        grep -qE '^SIP/2.0 403|wrong credentials' "$E2E_RUN/sipp-$AKA_LAST.msg" 2>/dev/null ||
            return $rc
        log "$2's AKA attempt $i was refused (sipp's RES-with-a-zero-byte bug?): retrying"
    done
    return 1
}

# call NAME CALLER CALLEE HOP: CALLEE answers in the background (call_uas.xml), CALLER calls
# sip:CALLEE@realm through HOP (call_uac.xml: INVITE, 180, 200, ACK, 500 ms, BYE, 200), both
# from the address and port they registered from; statuses in CALL_UAC_RC and CALL_UAS_RC
CALL_UAC_RC=
CALL_UAS_RC=
call() {
    local name=$1 from=$2 to=$3 hop=$4 pid
    sipp_ue "$name-uas" "$to" call_uas.xml "$hop" &
    pid=$!
    sleep 0.3
    sipp_ue "$name-uac" "$from" call_uac.xml "$hop" -key from "$from" -key target "sip:$to@$R" \
        -d 500
    CALL_UAC_RC=$?
    wait "$pid"
    CALL_UAS_RC=$?
}

reg_line() {   # run name -> what the scenario logged about the 200 OK
    sed -n 's/^registered: //p' "$E2E_RUN/sipp-$1.log" 2>/dev/null | head -n 1
}

impu_state() {   # $1 IMPU -> "reg_state scscf-name"
    "${CTL[@]}" impu "$1" 2>/dev/null |
        jq -r '"\(.reg_state) \(if (.scscf | type) == "object" then .scscf.name else .scscf end)"' \
        2>/dev/null
}

metric() {   # $1 address $2 series -> value (0 when absent)
    http_get "http://$1:8080/metrics"
    printf '%s\n' "$HTTP_BODY" | awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }'
}

subscriber() {   # NAME MSISDN [aka]: a subscriber document for hssctl put
    local aka=
    [ "${3:-}" = aka ] &&
        aka=',"k":"626f622d6c61622d6b65792d30303031","op":"696d732d6c61622d6f702d3030303031","amf":"3830","schemes":["digest","akav1"]'
    printf '{"name":"%s","impis":[{"identity":"%s@%s","password":"%s-secret"%s,"msisdn":"%s"}],' \
        "$1" "$1" "$R" "$1" "$aka" "$2"
    printf '"impus":[{"identity":"sip:%s@%s","implicit_set":1},{"identity":"tel:+%s","implicit_set":1}],' \
        "$1" "$R" "$2"
    printf '"profiles":[{"name":"default","ifcs":[]}]}\n'
}

fields() {   # display filter, then fields -> one line per packet, fields by '|'
    local filter=$1 args=() f
    shift
    for f in "$@"; do
        args+=(-e "$f")
    done
    cap_tshark "$E2E_CAP_FILE" -Y "$filter" -T fields -E separator='|' -E occurrence=a \
        -E aggregator=',' "${args[@]}" 2>/dev/null
}
n() { cap_count "$E2E_CAP_FILE" "$1"; }

# ---------------------------------------------------------------------------------------------
step "preconditions: root, binaries, the three Kamailio configurations load"
check_eq "running as root (the test edits /etc/hosts)" 0 "$(id -u)"
[ "$(id -u)" = 0 ] || e2e_finish
for b in hss icscf scscf pcscf; do
    check "binary $E2E_BIN/$b built (make)" test -x "$E2E_BIN/$b"
done
for c in pcscf icscf scscf; do
    check "kamailio -c accepts tests/interop/kamailio/$c.cfg" kam_check_cfg "$c" ||
        log "Kamailio needs kamailio-ims-modules and kamailio-presence-modules (mk/deps.sh test)"
done
busy=$(ss -Hlntu 2>/dev/null | awk '$5 ~ /^127\.0\.1\.(10|11|20|30):/ { print $1, $5 }')
check_eq "nothing listens on $KP, $P2, $KI or $KS yet" "" "$busy"
[ "$E2E_NFAIL" -eq 0 ] || e2e_finish

if cap_start interop_kamailio 2>"$E2E_RUN/cap-start.err"; then
    pass "capture started (lab and 127.0.1.0/24)"
else
    fail "capture started" "$(cat "$E2E_RUN/cap-start.err")"
    e2e_finish
fi

step "the lab starts; the names the Kamailio peers resolve go to /etc/hosts"
# our SIP daemons find each other by the names of their sip.hosts; the S-CSCF the HSS names
# for a user of Kamailio's S-CSCF (LIR) must resolve too
IMS_SIP_HOSTS="$(sed -n 's/^hosts = //p' "$E2E_ROOT/deploy/lab/icscf.conf"), scscf-kam.$R=$KS, icscf-kam.$R=$KI, pcscf-kam.$R=$KP"
export IMS_SIP_HOSTS
if lab_start; then
    pass "deploy/lab.sh start"
else
    fail "deploy/lab.sh start" "$(printf '%s\n' "$LAB_OUT" | tail -n 15)"
    e2e_finish
fi
if kam_hosts_add "127.0.0.40 hss.$R" "127.0.0.20 icscf.$R" "127.0.0.30 scscf.$R" \
    "$KP pcscf-kam.$R" "$KI icscf-kam.$R" "$KS scscf-kam.$R"; then
    pass "host names added to /etc/hosts between the e2e markers"
else
    fail "host names added to /etc/hosts between the e2e markers"
fi
check_eq "icscf.$R resolves to our I-CSCF" 127.0.0.20 \
    "$(getent hosts "icscf.$R" | awk '{ print $1; exit }')"

# =============================================================================================
step "(a) Kamailio P-CSCF ($KP) in front of our I-CSCF and S-CSCF"
kam_start pcscf
if kam_wait_listen "$KP:5060" 15; then
    pass "the Kamailio P-CSCF listens on $KP:5060/udp"
else
    fail "the Kamailio P-CSCF listens on $KP:5060/udp" \
        "$(tail -n 20 "$E2E_RUN/kamailio-pcscf/pcscf.log")"
    e2e_finish
fi
T_A=$SECONDS

reg_digest alice-reg alice "$KP:5060"
sipp_check "alice registers with Digest through Kamailio: REGISTER, 401, REGISTER, 200" \
    alice-reg $?
line=$(reg_line alice-reg)
check_match "200 OK to alice: our S-CSCF's Service-Route (;orig)" \
    'sr=<sip:127\.0\.0\.30:5060;lr;orig>' "$line"
check_match "200 OK to alice: P-Associated-URI with her implicit set" \
    "pau=<sip:alice@$R>, *<tel:\+15550100001>" "$line"
check_match "200 OK to alice: the Path of the Kamailio P-CSCF echoed (RFC 3327)" \
    "path=<sip:term@$KP:5060;lr>" "$line"
check_eq "HSS: alice registered at our S-CSCF" "registered $OUR_SCSCF" \
    "$(impu_state "sip:alice@$R")"
check_eq "HSS: tel:+15550100001 registered with her" "registered $OUR_SCSCF" \
    "$(impu_state "tel:+15550100001")"

if reg_aka bob-reg bob "$KP:5060"; then
    pass "bob registers with AKAv1-MD5 through Kamailio (${AKA_LAST##*-} attempt(s))"
else
    sipp_check "bob registers with AKAv1-MD5 through Kamailio" "$AKA_LAST" 1
fi
check_match "200 OK to bob: Service-Route, the Path echoed" \
    "sr=<sip:127\.0\.0\.30:5060;lr;orig>.*path=<sip:term@$KP:5060;lr>" "$(reg_line "$AKA_LAST")"
check_eq "HSS: bob registered at our S-CSCF" "registered $OUR_SCSCF" "$(impu_state "sip:bob@$R")"
check_match "the UE's 401 has the AKA nonce, without ck and ik (Kamailio removed them)" \
    '^WWW-Authenticate: Digest .*algorithm=AKAv1-MD5' \
    "$(grep -i '^WWW-Authenticate:' "$E2E_RUN/sipp-$AKA_LAST.msg" | grep -v -E '(ck|ik)=')"

call call-a alice bob "$KP:5060"
sipp_check "(a) alice calls bob, both behind Kamailio's P-CSCF: INVITE, 180, 200, ACK, BYE, 200" \
    call-a-uac "$CALL_UAC_RC"
sipp_check "(a) bob answers alice's call and her BYE" call-a-uas "$CALL_UAS_RC"

reg_digest alice-wrong alice "$KP:5060" not-her-password
check_match "a wrong password: our S-CSCF's new 401 with a Warning reaches the UE through Kamailio" \
    'authentication failed: wrong credentials \(attempt 1 of' \
    "$(grep '^Warning: ' "$E2E_RUN/sipp-alice-wrong.msg" 2>/dev/null | tail -n 1)"
check_eq "HSS: alice still registered at our S-CSCF" "registered $OUR_SCSCF" \
    "$(impu_state "sip:alice@$R")"

sipp_ue alice-dereg alice dereg_digest.xml "$KP:5060" -ap alice-secret
sipp_check "alice de-registers through Kamailio (Contact: *, Expires: 0): 200 without contact" \
    alice-dereg $?
check_eq "HSS: alice not registered any more" "not_registered" \
    "$(impu_state "sip:alice@$R" | cut -d' ' -f1)"
check_eq "HSS: bob still registered at our S-CSCF" "registered $OUR_SCSCF" \
    "$(impu_state "sip:bob@$R")"
check "Kamailio P-CSCF log: the 200 OKs were saved as bindings (pcscf_save)" \
    grep -q "P-CSCF: sip:alice@$R registered" "$E2E_RUN/kamailio-pcscf/pcscf.log"
log "(a) took $((SECONDS - T_A)) s"

# =============================================================================================
step "(b) our P-CSCF ($P2) in front of Kamailio's I-CSCF ($KI) and S-CSCF ($KS)"
kam_start icscf
kam_start scscf
if kam_wait_peers 30 "icscf-kam.$R" "scscf-kam.$R"; then
    pass "the HSS lists icscf-kam.$R and scscf-kam.$R as open Diameter peers"
else
    fail "the HSS lists icscf-kam.$R and scscf-kam.$R as open Diameter peers" \
        "icscf-kam: $(kam_peer_state "icscf-kam.$R"), scscf-kam: $(kam_peer_state "scscf-kam.$R")"
fi
for c in icscf scscf; do
    check "kamailio $c is running" kam_running "$c"
done
subscriber dave 15550100004 >"$E2E_RUN/dave.json"
subscriber erin 15550100005 aka >"$E2E_RUN/erin.json"
check "HSS: dave provisioned (Digest)" "${CTL[@]}" put "$E2E_RUN/dave.json"
check "HSS: erin provisioned (Digest, AKA with bob's printable K and OP)" \
    "${CTL[@]}" put "$E2E_RUN/erin.json"
if pcscf2_start "$P2" "sip:icscf-kam.$R:5060" \
    "icscf-kam.$R=$KI, scscf-kam.$R=$KS, pcscf-kam.$R=$KP" "$KI, $KS"; then
    pass "our second P-CSCF on $P2 is healthy (its I-CSCF: sip:icscf-kam.$R:5060)"
else
    fail "our second P-CSCF on $P2 is healthy" "$(tail -n 20 "$E2E_RUN/pcscf2/pcscf.log")"
    e2e_finish
fi
T_B=$SECONDS

reg_digest dave-reg dave "$P2:5060"
sipp_check "dave registers with Digest through our P-CSCF and Kamailio's I-CSCF and S-CSCF" \
    dave-reg $?
line=$(reg_line dave-reg)
check_match "200 OK to dave: Kamailio's Service-Route (orig@scscf-kam)" \
    "sr=<sip:orig@scscf-kam\.$R:5060;lr>" "$line"
check_match "200 OK to dave: P-Associated-URI with his implicit set" \
    "pau=.*sip:dave@$R.*tel:\+15550100004|pau=.*tel:\+15550100004.*sip:dave@$R" "$line"
check_match "200 OK to dave: our P-CSCF's Path (with its flow token) echoed by Kamailio" \
    "path=<sip:term@$P2:5060;lr;ft=[0-9a-f]+>" "$line"
check_eq "HSS: dave registered at Kamailio's S-CSCF" "registered $KAM_SCSCF" \
    "$(impu_state "sip:dave@$R")"

if reg_aka erin-reg erin "$P2:5060"; then
    pass "erin registers with AKAv1-MD5 through our P-CSCF and Kamailio (${AKA_LAST##*-} attempt(s))"
else
    sipp_check "erin registers with AKAv1-MD5 through our P-CSCF and Kamailio" "$AKA_LAST" 1
fi
check_eq "HSS: erin registered at Kamailio's S-CSCF" "registered $KAM_SCSCF" \
    "$(impu_state "sip:erin@$R")"
check_match "the UE's 401 has the AKA nonce, without ck and ik (our P-CSCF removed them)" \
    '^WWW-Authenticate: Digest .*algorithm=AKAv1-MD5' \
    "$(grep -i '^WWW-Authenticate:' "$E2E_RUN/sipp-$AKA_LAST.msg" | grep -v -E '(ck|ik)=')"

call call-b dave erin "$P2:5060"
sipp_check "(b) dave calls erin through our P-CSCF and Kamailio's S-CSCF: INVITE ... BYE, 200" \
    call-b-uac "$CALL_UAC_RC"
sipp_check "(b) erin answers dave's call and his BYE" call-b-uas "$CALL_UAS_RC"

# (c) and (d): across the mixes, S-CSCF to S-CSCF through the I-CSCF of the callee's home
call call-c bob erin "$KP:5060"
sipp_check "(c) bob (Kamailio P-CSCF, our S-CSCF) calls erin (our P-CSCF, Kamailio's S-CSCF)" \
    call-c-uac "$CALL_UAC_RC"
sipp_check "(c) erin answers bob's call and his BYE" call-c-uas "$CALL_UAS_RC"
call call-d erin bob "$P2:5060"
sipp_check "(d) erin (our P-CSCF, Kamailio's S-CSCF) calls bob (Kamailio P-CSCF, our S-CSCF)" \
    call-d-uac "$CALL_UAC_RC"
sipp_check "(d) bob answers erin's call and her BYE" call-d-uas "$CALL_UAS_RC"

check_eq "our P-CSCF /metrics: two bindings (dave, erin)" 2 "$(metric "$P2" pcscf_bindings)"
check_eq "our P-CSCF /metrics: REGISTERs accepted" 2 \
    "$(metric "$P2" 'pcscf_register_total{outcome="accepted"}')"
# TS 24.229 5.2.3: after the registration the P-CSCF subscribes to the reg event at the
# S-CSCF (the Service-Route); Kamailio's S-CSCF authorises the subscriber by its
# P-Asserted-Identity (5.4.2.1: the P-CSCF named in the Path of the registration)
deadline=$((SECONDS + 5))
while [ $SECONDS -lt $deadline ] &&
    [ $(($(metric "$P2" 'pcscf_reg_subscribe_answers_total{result="accepted"}') + \
         $(metric "$P2" 'pcscf_reg_subscribe_answers_total{result="refused"}'))) -lt 2 ]; do
    sleep 0.2
done
check_eq "our P-CSCF subscribed to both reg events at Kamailio's S-CSCF" 2 \
    "$(metric "$P2" pcscf_reg_subscribe_total)"
check_eq "Kamailio's S-CSCF accepted both subscriptions (our P-CSCF's /metrics)" 2 \
    "$(metric "$P2" 'pcscf_reg_subscribe_answers_total{result="accepted"}')"
log "(b) took $((SECONDS - T_B)) s"

# =============================================================================================
step "stop Kamailio and our second P-CSCF: nothing left behind"
pcscf2_stop
check_eq "our second P-CSCF: SIGTERM, exit status 0" 0 "$PCSCF2_RC"
check_eq "its log: no level=error line" "" \
    "$(grep 'level=error' "$E2E_RUN/pcscf2/pcscf.log" 2>/dev/null | head -n 5)"
check_eq "its stdout/stderr are empty (sanitizer reports land there)" "" \
    "$(head -c 2000 "$E2E_RUN/pcscf2/pcscf.out" 2>/dev/null)"
kam_stop_all
check_eq "no Kamailio process of this run left" "" "$(kam_left | tr '\n' ' ')"
check_eq "the Kamailio logs show no crash, no lack of memory, no dropped Diameter message" "" \
    "$(kam_log_problems)"
kam_hosts_cleanup
check_eq "/etc/hosts has no e2e kamailio entries any more" 0 \
    "$(grep -cF '# ims-core e2e kamailio' /etc/hosts)"

# =============================================================================================
step "capture: the REGISTERs on every hop"
cap_stop
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$E2E_CAP_FILE")"
REG='sip.Method == "REGISTER"'
OK='sip.Status-Code == 200 && sip.CSeq.method == "REGISTER"'
# (a)
check_eq "(a) Kamailio -> our I-CSCF: REGISTERs with Path, P-Visited-Network-ID, ICID" 0 \
    "$(n "ip.src == $KP && ip.dst == 127.0.0.20 && $REG && !(sip.Path == \"<sip:term@$KP:5060;lr>\" && sip.P-Visited-Network-ID && sip.icid_value)")"
check "(a) ... at least 8 of them (alice x2, bob x2, the wrong password x2, de-registration x2)" \
    test "$(n "ip.src == $KP && ip.dst == 127.0.0.20 && $REG")" -ge 8
check_eq "(a) our I-CSCF -> our S-CSCF: every REGISTER kept Kamailio's Path" 0 \
    "$(n "ip.src == 127.0.0.20 && ip.dst == 127.0.0.30 && $REG && !(sip.Path contains \"sip:term@$KP:5060\")")"
check "(a) our S-CSCF received Kamailio's Path in REGISTERs" \
    test "$(n "ip.dst == 127.0.0.30 && $REG && sip.Path contains \"sip:term@$KP:5060\"")" -ge 8
check_eq "(a) every 200 OK of our S-CSCF echoes Kamailio's Path" 0 \
    "$(n "ip.src == 127.0.0.30 && $OK && !(sip.Path contains \"sip:term@$KP\")")"
check "(a) ... and those of alice's and bob's registrations carry the Service-Route" \
    test "$(n "ip.src == 127.0.0.30 && $OK && sip.Service-Route")" -ge 2
check "(a) our S-CSCF's AKA 401 carried ck and ik towards Kamailio" \
    test "$(n "ip.src == 127.0.0.20 && ip.dst == $KP && sip.Status-Code == 401 && sip.auth.ck && sip.auth.ik")" -ge 1
check_eq "(a) Kamailio's 401s to the UEs carry neither" 0 \
    "$(n "ip.src == $KP && sip.Status-Code == 401 && (sip.auth.ck || sip.auth.ik)")"
# (b)
check_eq "(b) our P-CSCF -> Kamailio I-CSCF: every REGISTER with its Path and P-Visited-Network-ID" 0 \
    "$(n "ip.src == $P2 && ip.dst == $KI && $REG && !(sip.Path matches \"^<sip:term@$P2:5060;lr;ft=[0-9a-f]+>\$\" && sip.P-Visited-Network-ID == \"$R\")")"
check "(b) ... four of them at least (dave x2, erin x2)" \
    test "$(n "ip.src == $P2 && ip.dst == $KI && $REG")" -ge 4
check "(b) Kamailio I-CSCF -> Kamailio S-CSCF with our Path" \
    test "$(n "ip.src == $KI && ip.dst == $KS && $REG && sip.Path contains \"sip:term@$P2:5060\"")" -ge 4
check "(b) Kamailio's AKA 401 carried ck and ik to our P-CSCF" \
    test "$(n "ip.dst == $P2 && sip.Status-Code == 401 && sip.auth.ck && sip.auth.ik")" -ge 1
check_eq "(b) our P-CSCF's 401s to the UEs carry neither" 0 \
    "$(n "ip.src == $P2 && sip.Status-Code == 401 && (sip.auth.ck || sip.auth.ik)")"
check "(b) the reg-event SUBSCRIBEs went along Kamailio's Service-Route" \
    test "$(n "ip.src == $P2 && ip.dst == $KS && sip.Method == \"SUBSCRIBE\" && sip.Event == \"reg\" && sip.Route contains \"sip:orig@scscf-kam\"")" -ge 2
log "Kamailio's answers to our reg-event SUBSCRIBEs: $(fields "ip.src == $KS && ip.dst == $P2 && sip.CSeq.method == \"SUBSCRIBE\" && sip.Status-Code >= 200" sip.Status-Line | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
# by Origin-Host (our I-CSCF's go over TLS to 5868, Kamailio's over TCP to 3868)
ua=$(fields "ip.dst == 127.0.0.40 && diameter.cmd.code == 300 && diameter.flags.request == 1" \
    diameter.Origin-Host | LC_ALL=C sort -u | tr '\n' ' ')
check_eq "UARs reached the HSS from both I-CSCFs" "icscf-kam.$R icscf.$R " "$ua"

# ---------------------------------------------------------------------------------------------
step "capture: the calls on every hop"
# call_hops LABEL CALLER-UE CALLEE-UE "SRC>DST" ...: the INVITE of the call CALLER-UE made went
# over each hop SRC>DST, and so did its BYE; one ICID in every INVITE between network
# nodes (the UEs' P-CSCFs may leave it out towards the UE); the callee got the ACK and the
# BYE, the caller the 200 of the BYE. A hop "SRC>DST:invite" is for the INVITE only (an
# I-CSCF stays out of the dialog). Keeps the Call-ID in CALL_ID for further checks.
CALL_ID=
call_hops() {
    local label=$1 ua=$2 ub=$3 hop src dst c icids
    shift 3
    CALL_ID=$(fields "ip.src == $ua && sip.Method == \"INVITE\"" sip.Call-ID | head -n 1)
    if [ -z "$CALL_ID" ]; then
        fail "$label: the caller's INVITE is in the capture"
        return 1
    fi
    c="sip.Call-ID == \"$CALL_ID\""
    for hop in "$@"; do
        src=${hop%>*}
        dst=${hop#*>}
        dst=${dst%:invite}
        check "$label: INVITE $src -> $dst" \
            test "$(n "$c && sip.Method == \"INVITE\" && ip.src == $src && ip.dst == $dst")" -ge 1
        [ "${hop%:invite}" = "$hop" ] || continue
        check "$label: BYE $src -> $dst (along the Record-Route)" \
            test "$(n "$c && sip.Method == \"BYE\" && ip.src == $src && ip.dst == $dst")" -ge 1
    done
    icids=$(fields "$c && sip.Method == \"INVITE\" && sip.icid_value" sip.icid_value | sort -u)
    check_eq "$label: one ICID in all the INVITEs of the call" 1 \
        "$(printf '%s' "$icids" | grep -c .)"
    check_eq "$label: every INVITE between network nodes carries it" 0 \
        "$(n "$c && sip.Method == \"INVITE\" && ip.src != $ua && ip.dst != $ub && !sip.icid_value")"
    check "$label: the callee got the ACK and the BYE" \
        test "$(n "$c && ip.dst == $ub && (sip.Method == \"ACK\" || sip.Method == \"BYE\")")" -ge 2
    check "$label: the caller got the 200 of its BYE" \
        test "$(n "$c && ip.dst == $ua && sip.Status-Code == 200 && sip.CSeq.method == \"BYE\"")" -ge 1
    log "$label: ICID $icids"
}
rr_of_200() {   # $1 caller UE: the Record-Route of the 200 OK of its INVITE
    fields "sip.Call-ID == \"$CALL_ID\" && ip.dst == $1 && sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\"" \
        sip.Record-Route | head -n 1
}
A_UE=${UE_IP[alice]}
B_UE=${UE_IP[bob]}
call_hops "(a) alice -> bob" "$A_UE" "$B_UE" "$A_UE>$KP" "$KP>127.0.0.30" "127.0.0.30>$KP" "$KP>$B_UE"
rr=$(rr_of_200 "$A_UE")
check_match "(a) Record-Route: Kamailio's P-CSCF for bob (mt), our S-CSCF, Kamailio's P-CSCF for alice (mo)" \
    "sip:mt@$KP;.*sip:127\.0\.0\.30:5060;lr.*sip:mo@$KP;" "$rr"
check_eq "(a) bob was offered alice's identity, as Kamailio asserted it" 1 \
    "$(n "sip.Call-ID == \"$CALL_ID\" && ip.dst == $B_UE && sip.Method == \"INVITE\" && sip.P-Asserted-Identity contains \"sip:alice@$R\"")"
D_UE=${UE_IP[dave]}
E_UE=${UE_IP[erin]}
call_hops "(b) dave -> erin" "$D_UE" "$E_UE" "$D_UE>$P2" "$P2>$KS" "$KS>$KI:invite" "$KI>$KS:invite" "$KS>$P2" \
    "$P2>$E_UE"
rr=$(rr_of_200 "$D_UE")
check_match "(b) Record-Route: our P-CSCF (erin's side), Kamailio's S-CSCF (mt, mo), our P-CSCF (dave's side)" \
    "sip:$P2:5060;lr;.*sip:mt@$KS;.*sip:mo@$KS;.*sip:$P2:5060;lr" "$rr"
check_eq "(b) our P-CSCF asserted dave's identity towards Kamailio's S-CSCF" 1 \
    "$(n "sip.Call-ID == \"$CALL_ID\" && ip.src == $P2 && ip.dst == $KS && sip.Method == \"INVITE\" && sip.P-Asserted-Identity contains \"sip:dave@$R\"")"
check_eq "(b) our P-CSCF's INVITE to erin carries no P-Charging-Vector (TS 24.229 5.2.7.2)" 0 \
    "$(n "sip.Call-ID == \"$CALL_ID\" && ip.src == $P2 && ip.dst == $E_UE && sip.P-Charging-Vector")"
call_hops "(c) bob -> erin" "$B_UE" "$E_UE" "$B_UE>$KP" "$KP>127.0.0.30" \
    "127.0.0.30>127.0.0.20:invite" "127.0.0.20>$KS:invite" "$KS>$P2" "$P2>$E_UE"
check_match "(c) Record-Route: our P-CSCF, Kamailio's S-CSCF (mt), our S-CSCF, Kamailio's P-CSCF (mo)" \
    "sip:$P2:5060;lr;.*sip:mt@$KS;.*sip:127\.0\.0\.30:5060;lr.*sip:mo@$KP;" "$(rr_of_200 "$B_UE")"
call_hops "(d) erin -> bob" "$E_UE" "$B_UE" "$E_UE>$P2" "$P2>$KS" "$KS>$KI:invite" \
    "$KI>127.0.0.30:invite" "127.0.0.30>$KP" "$KP>$B_UE"
check_match "(d) Record-Route: Kamailio's P-CSCF (mt), our S-CSCF, Kamailio's S-CSCF (mo), our P-CSCF" \
    "sip:mt@$KP;.*sip:127\.0\.0\.30:5060;lr.*sip:mo@$KS;.*sip:$P2:5060;lr" "$(rr_of_200 "$E_UE")"

lab_stop
log "the whole test took $((SECONDS - T_START)) s"
e2e_finish
