#!/usr/bin/env bash
# tests/e2e/test_ibcf.sh - the IBCF at the border with another IMS network (issue 16):
# calls between the lab (ims.mnc001, its IBCF on 127.0.0.55) and a second network of our own
# daemons that the test starts on 127.0.2.0/24 (ims.mnc002: P-, I-, S-CSCF, HSS and its own
# IBCF on 127.0.2.55, with its own PKI and subscriber zoe), in both directions, hung up by
# either side. The capture between the two IBCFs shows no address or host name of the
# nodes behind either border in any SIP header (topology hiding: Via, Record-Route), only
# the IBCFs' own and the UEs' (their Contact and Call-ID, which are end to end), and
# decodes cleanly.
#
# Then the border as an attacker meets it (tests/tools/sipsend): a network without trust
# agreement (mnc003 of deploy/lab/ibcf.conf, 127.0.3.0/24) has the identity it asserts
# removed and gets the home topology hidden in its answers; a source that is no peer, a
# UE of our own, a Route beyond the IBCF, a forged token, a real token altered, replayed in
# another dialog or by another network, a REGISTER from a network that is no roaming partner
# are refused; a call to a network without agreement gets 404; what leaves towards mnc003 (its
# IBCF played by sipsend) carries no home address, no charging addresses, no
# icid-generated-at.
#
# Needs `make` first (build/bin) and the tools of `mk/deps.sh test`.
set -u
shopt -s lastpipe

# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init ibcf
e2e_require sipp jq tshark curl timeout openssl

R=$E2E_REALM
R2=ims.mnc002.mcc001.3gppnetwork.org
R3=ims.mnc003.mcc001.3gppnetwork.org
SCEN=$E2E_ROOT/tests/e2e/scenarios
SEND=$E2E_BIN/sipsend
IBCF=127.0.0.55 IBCF2=127.0.2.55
PCSCF=127.0.0.10:5060 PCSCF2=127.0.2.10:5060
ALICE=(127.0.0.130 5330)        # a home UE (LAB.md's UE range)
ZOE=(127.0.2.120 5420)          # a UE of the second network
EVIL_UE=127.0.0.151             # a home UE that talks to the IBCF directly
NO_PEER=127.0.2.99              # in the second network's range, but not its IBCF
MNC003=127.0.3.7                # a host of the untrusted network mnc003
# the second network's Diameter over TLS (5868) is in the capture too (its keys are logged)
E2E_CAP_FILTER='net 127.0.0.0/22 and (port 5060 or port 3868 or port 5868 or port 8080)'
BORDER="sip && ip.addr == $IBCF && ip.addr == $IBCF2"

for b in sipsend ibcf; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

# ---- the second network ----

declare -A A2=([pcscf]=127.0.2.10 [icscf]=127.0.2.20 [scscf]=127.0.2.30 [hss]=127.0.2.40
               [ibcf]=127.0.2.55)
NET2=(hss scscf icscf pcscf ibcf)            # start order: the server first
HOSTS2="pcscf.$R2=127.0.2.10, icscf.$R2=127.0.2.20, scscf.$R2=127.0.2.30, ibcf.$R2=127.0.2.55"
TOKEN2=net2-token

net2_conf() {   # $1 function: its configuration file in the second network, on stdout
    local n=$1
    printf '# %s of the second network of test_ibcf.sh\n[node]\nname = %s.%s\n' "$n" "$n" "$R2"
    printf 'address = %s\ndomain = %s\n\n[log]\nlevel = info\n\n' "${A2[$n]}" "$R2"
    case $n in
        hss) printf '[diameter]\ntls = yes\npeers = icscf.%s@127.0.2.20, scscf.%s@127.0.2.30\n' \
                 "$R2" "$R2"
             printf 'tc_timer = 5\n\n[hss]\ndatabase = hss.db\napi_token = %s\n' "$TOKEN2" ;;
        icscf | scscf)
             printf '[diameter]\ntls = yes\npeers = hss.%s@127.0.2.40:5868\ntc_timer = 2\n\n' \
                 "$R2" ;;
    esac
    case $n in
        pcscf) printf '[sip]\nhosts = %s\ntrusted_peers = 127.0.2.20, 127.0.2.30\n\n' "$HOSTS2"
               printf '[pcscf]\nicscf = sip:icscf.%s:5060\n' "$R2" ;;
        icscf) printf '[sip]\nhosts = %s\ntrusted_peers = 127.0.2.10, 127.0.2.30, 127.0.2.55\n\n' \
                   "$HOSTS2"
               printf '[icscf]\nscscfs = sip:scscf.%s:5060\n' "$R2" ;;
        scscf) printf '[sip]\nhosts = %s\ntrusted_peers = 127.0.2.10, 127.0.2.20, 127.0.2.55\n\n' \
                   "$HOSTS2"
               printf '[scscf]\nibcf = sip:ibcf.%s:5060\n' "$R2" ;;
        ibcf)  printf '[sip]\nhosts = %s\ntrusted_peers = 127.0.2.10, 127.0.2.20, 127.0.2.30\n\n' \
                   "$HOSTS2"
               printf '[diameter]\ntls = no\n\n'   # no CDF in this network: no Rf
               printf '[ibcf]\nkey = %s\n' "$(openssl rand -hex 32)"
               printf 'peers = mnc001 sip:%s:5060 net=%s domain=%s trusted=yes\n' "$IBCF" \
                   "$IBCF" "$R" ;;
    esac
}

net2_subscribers() {   # zoe, Digest
    cat <<EOF
{"subscribers": [{"name": "zoe",
  "impis": [{"identity": "zoe@$R2", "password": "zoe-secret",
             "k": "000102030405060708090a0b0c0d0e0f", "opc": "0f0e0d0c0b0a09080706050403020100",
             "amf": "8000", "sqn": "000000000020", "schemes": ["digest"],
             "default_scheme": "digest"}],
  "impus": [{"identity": "sip:zoe@$R2", "implicit_set": 1, "profile": "default"}],
  "profiles": [{"name": "default", "ifcs": []}]}]}
EOF
}

net2_health() {   # $1 function -> its /health status
    http_get "http://${A2[$1]}:8080/health" && json_get "$HTTP_BODY" .status
}

net2_wait() {   # $1 function: waits (60 s) for /health ok
    local i
    for i in $(seq 300); do
        [ "$(net2_health "$1")" = ok ] && return 0
        sleep 0.2
    done
    echo "$1 of the second network: /health says '$(net2_health "$1")'" >&2
    tail -n 20 "$E2E_RUN/net2-$1/$1.log" >&2
    return 1
}

net2_start_one() {   # $1 function
    local n=$1 dir=$E2E_RUN/net2-$1 pki=$E2E_RUN/net2-pki
    mkdir -p "$dir"
    net2_conf "$n" >"$dir/$n.conf"
    env SSLKEYLOGFILE="$E2E_RUN/tls-keys.log" IMS_NODE_STATE_DIR="$dir" \
        IMS_LOG_FILE="$dir/$n.log" IMS_DIAMETER_TLS_CERT="$pki/$n.crt" \
        IMS_DIAMETER_TLS_KEY="$pki/$n.key" IMS_DIAMETER_TLS_CA="$pki/ca.crt" \
        IMS_DIAMETER_TLS_DH="$pki/dh.pem" \
        "$E2E_BIN/$n" --config "$dir/$n.conf" --pidfile "$dir/$n.pid" >"$dir/$n.out" 2>&1 \
        </dev/null &
    echo $! >"$dir/$n.pid"
}

net2_start() {   # its own PKI (realm mnc002, its own CA), the daemons, zoe in its HSS
    IMS_PKI_REALM=$R2 IMS_PKI_CA_NAME="second network lab CA" \
        "$E2E_ROOT/deploy/pki.sh" "$E2E_RUN/net2-pki" pcscf icscf scscf hss || return 1
    net2_start_one hss
    net2_wait hss || return 1
    net2_subscribers >"$E2E_RUN/net2-subscribers.json"
    "$E2E_ROOT/hss/hssctl" --url "http://127.0.2.40:8080" --token "$TOKEN2" \
        seed "$E2E_RUN/net2-subscribers.json" || return 1
    local n
    for n in scscf icscf pcscf ibcf; do
        net2_start_one "$n"
    done
    for n in scscf icscf pcscf ibcf; do
        net2_wait "$n" || return 1
    done
}

net2_stop() {   # SIGTERM, then SIGKILL after 15 s
    local n p pids=()
    for n in "${NET2[@]}"; do
        p=$(cat "$E2E_RUN/net2-$n/$n.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null &&
            kill -TERM "$p" && pids+=("$p")
    done
    local deadline=$((SECONDS + 15))
    for p in "${pids[@]}"; do
        while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    return 0
}
e2e_at_cleanup net2_stop

# ---- UEs ----

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 45s -timeout_error -trace_err -error_file "$name.err" -trace_logs \
        -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" >"$name.out" 2>&1)
}

reg() {   # NAME USER DOMAIN ADDR PORT P-CSCF: Digest registration
    local name=$1 user=$2 dom=$3 addr=$4 port=$5 pcscf=$6
    sipp_ue "$name" "$addr" "$port" reg_digest.xml -key domain "$dom" -s "$user" \
        -au "$user@$dom" -auth_uri "$dom" -ap "$user-secret" -key impi "$user@$dom" \
        -key expires 600 "$pcscf"
}

callee() {   # NAME ADDR PORT SCENARIO ARGS...: a UE answering in the background
    local name=$1
    sipp_ue "$@" &
    eval "CALLEE_$name=$!"
    sleep 0.5
}
callee_ok() {
    local pid
    eval "pid=\${CALLEE_$1}"
    wait "$pid"
}

caller() {   # NAME SCENARIO FROM DOMAIN ADDR PORT P-CSCF TARGET [args]
    local name=$1 scen=$2 from=$3 dom=$4 addr=$5 port=$6 pcscf=$7 target=$8
    shift 8
    sipp_ue "$name" "$addr" "$port" "$scen" -key domain "$dom" -key from "$from" \
        -key target "$target" "$@" "$pcscf"
}

logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }

# ---- the border in the capture ----

# Every SIP header line of the packets of display filter $2 in capture $1 ("Name: value")
headers_of() {
    cap_tshark "$1" -Y "$2" -O sip -V 2>/dev/null | grep -E '^        [A-Za-z][A-Za-z-]*: ' |
        sed 's/^ *//'
}

# Header lines that show what a border must hide: an address of 127.0.0.0/24 or
# 127.0.2.0/24 other than the two IBCFs', unless it is a UE's in its Contact, Call-ID or the
# Request-URI of a request inside the call (the remote target: the UEs are end to end), and
# any host name of a node behind either border
UE_ADDR='127\.0\.(0\.1[1-9][0-9]|2\.1[1-9][0-9])([^0-9]|$)'   # the UEs of both networks
leaks() {   # stdin: header lines
    grep -E '127\.0\.[02]\.[0-9]+|(pcscf|icscf|scscf|hss|bgcf|mrfc|mgcf|ocs)\.ims\.mnc00[12]' |
        grep -vE "^(Contact|Call-ID|i|m|Request-URI): .*$UE_ADDR" |
        sed -E 's/127\.0\.(0|2)\.55([^0-9]|$)/IBCF\2/g' |
        grep -E '127\.0\.[02]\.[0-9]+|(pcscf|icscf|scscf|hss|bgcf|mrfc|mgcf|ocs)\.ims\.mnc00[12]'
}

# ---------------------------------------------------------------------------------------------
step "the lab (with its IBCF on $IBCF) and the second network ($R2 on 127.0.2.0/24)"
check "capture on lo: $E2E_CAP_FILTER" cap_start ibcf
check "deploy/lab.sh start" lab_start
check "the second network starts: its PKI, HSS (zoe), S-, I-, P-CSCF and IBCF" net2_start
http_get "http://$IBCF:8080/health"
check_eq "the home IBCF is healthy" ok "$(json_get "$HTTP_BODY" .status)"

step "registrations"
check "alice registers at home" reg reg-alice alice "$R" "${ALICE[@]}" "$PCSCF"
check "zoe registers in the second network" reg reg-zoe zoe "$R2" "${ZOE[@]}" "$PCSCF2"

step "calls across the border"
callee zoe1 "${ZOE[@]}" call_uas.xml
check "alice calls zoe@$R2, talks, hangs up" \
    caller call1 call_uac.xml alice "$R" "${ALICE[@]}" "$PCSCF" "sip:zoe@$R2" -d 500
check "zoe's UE: INVITE, 180, 200, ACK, BYE" callee_ok zoe1
check_match "zoe was reached at her contact; alice's identity kept (mnc001 is trusted by mnc002)" \
    "invited: INVITE sip:zoe@${ZOE[0]}:${ZOE[1]} pai= <sip:alice@$R>" "$(logline zoe1)"

callee alice1 "${ALICE[@]}" call_uas.xml
check "zoe calls alice@$R, talks, hangs up" \
    caller call2 call_uac.xml zoe "$R2" "${ZOE[@]}" "$PCSCF2" "sip:alice@$R" -d 500
check "alice's UE: INVITE, 180, 200, ACK, BYE" callee_ok alice1
check_match "alice was reached; zoe's identity kept (mnc002 is trusted by the lab's IBCF)" \
    "invited: INVITE sip:alice@${ALICE[0]}:${ALICE[1]} pai= <sip:zoe@$R2>" "$(logline alice1)"

callee zoe2 "${ZOE[@]}" call_uas_bye.xml -d 500
check "alice calls zoe, zoe hangs up (her BYE along the tokens of the lab's IBCF)" \
    caller call3 call_uac_wait.xml alice "$R" "${ALICE[@]}" "$PCSCF" "sip:zoe@$R2"
check "zoe's UE sent the BYE and got its 200" callee_ok zoe2

callee alice2 "${ALICE[@]}" call_uas_bye.xml -d 500
check "zoe calls alice, alice hangs up" \
    caller call4 call_uac_wait.xml zoe "$R2" "${ZOE[@]}" "$PCSCF2" "sip:alice@$R"
check "alice's UE sent the BYE and got its 200" callee_ok alice2

callee zoe3 "${ZOE[@]}" call_uas_mid.xml
check "alice calls zoe: PRACK, re-INVITE, UPDATE, INFO, BYE within the call" \
    caller call5 call_uac_mid.xml alice "$R" "${ALICE[@]}" "$PCSCF" "sip:zoe@$R2"
check "zoe's UE answered each of them" callee_ok zoe3

# the lab's IBCF token entry as zoe's UE saw it in its Record-Route (for the replays below)
TOKEN_RR=$(grep -m1 -oE "<sip:[A-Za-z0-9_-]+@$IBCF:5060;lr;tokenized-by=$R>" \
    "$E2E_RUN/zoe1.msg")
CALL1_ID=$(sed -n 's/^Call-ID: *//p' "$E2E_RUN/zoe1.msg" | head -n 1 | tr -d '\r')
check_match "zoe's UE saw the lab's part of the route as one token entry of its IBCF" \
    "^<sip:D[A-Za-z0-9_-]+@$IBCF:5060;lr;tokenized-by=$R>$" "$TOKEN_RR"

step "the border in the capture"
check "the capture is written out" cap_stop
problems=$(cap_problems "$E2E_CAP_FILE")
check_eq "tshark: no malformed packet, no expert error" "" "$problems"
n=$(cap_count "$E2E_CAP_FILE" "$BORDER")
check "SIP crossed the border between the IBCFs ($n packets)" test "$n" -ge 40
for m in INVITE ACK BYE PRACK UPDATE INFO; do
    check "... $m among them" test "$(cap_count "$E2E_CAP_FILE" \
        "$BORDER && sip.Method == \"$m\"")" -ge 1
done
HDRS=$(headers_of "$E2E_CAP_FILE" "$BORDER")
printf '%s\n' "$HDRS" >"$E2E_RUN/border-headers.txt"
check_eq "no address or host name of a node behind either border in any header there" "" \
    "$(printf '%s\n' "$HDRS" | leaks | sort -u | head -n 20)"
check_match "Record-Route at the border: token entries of the IBCFs" \
    "^Record-Route: <sip:D[A-Za-z0-9_-]+@127\.0\.(0|2)\.55:5060;lr;tokenized-by=" "$HDRS"
check_eq "no P-Charging-Function-Addresses crossed it" "" \
    "$(printf '%s\n' "$HDRS" | grep -i '^P-Charging-Function-Addresses' | head -n 3)"
check_eq "no icid-generated-at crossed it" "" \
    "$(printf '%s\n' "$HDRS" | grep -i 'icid-generated-at' | head -n 3)"
# the IOIs the border sets (TS 24.229 5.10): each IBCF names its own network in what leaves
ioi_of() {   # DISPLAY-FILTER: the P-Charging-Vector values of those packets, one per line
    headers_of "$E2E_CAP_FILE" "$1" | sed -n 's/^P-Charging-Vector: *//p' | sort -u
}
inv_out=$(ioi_of "ip.src == $IBCF && ip.dst == 127.0.2.55 && sip.Method == \"INVITE\"")
check_match "INVITEs leaving the lab carry orig-ioi=$R and no term-ioi" "orig-ioi=$R" "$inv_out"
check_eq "... none with another orig-ioi, none with a term-ioi" "" \
    "$(grep -v "orig-ioi=$R\(;\|\$\)" <<<"$inv_out"; grep 'term-ioi' <<<"$inv_out")"
ok_out=$(ioi_of "ip.src == $IBCF && ip.dst == 127.0.2.55 && sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\"")
check_match "the lab's 200s to zoe's INVITEs carry term-ioi=$R" "term-ioi=$R" "$ok_out"
check_match "the home side still sees its own route (alice's 200: the P-CSCF's entry back)" \
    "^Record-Route: .*<sip:127\.0\.0\.10:5060;lr" "$(grep -i '^Record-Route' "$E2E_RUN/call1.msg")"

# ---------------------------------------------------------------------------------------------
step "a network without trust agreement (mnc003 on 127.0.3.0/24) and other attackers"

attack() {   # NAME FROM TO [--tcp]: sends stdin as written; the answers in ATTACK_OUT
    local name=$1 from=$2 to=$3
    shift 3
    "$SEND" "$@" --from "$from" --to "$to" --wait 8000 - >"$E2E_RUN/$name.out" 2>&1
    ATTACK_OUT=$(cat "$E2E_RUN/$name.out")
}
final_of() {
    printf '%s\n' "$ATTACK_OUT" | grep '^SIP/2.0 [2-6]' | tail -n 1 | tr -d '\r'
}
request() {   # METHOD R-URI CALL-ID VIA [header lines...]: a request as a peer's IBCF sends it
    local method=$1 ruri=$2 id=$3 via=$4 h
    local tok=${id//[^A-Za-z0-9.-]/-}       # a Call-ID may hold '@': not in a branch or tag
    shift 4
    printf '%s %s SIP/2.0\n' "$method" "$ruri"
    printf 'Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\n' "$via" "$tok"
    printf 'Max-Forwards: 70\nFrom: <sip:mallory@%s>;tag=m-%s\nTo: <%s>\n' "$R3" "$tok" "$ruri"
    printf 'Call-ID: %s\nCSeq: 1 %s\nContact: <sip:mallory@%s>\n' "$id" "$method" "$via"
    for h in "$@"; do printf '%s\n' "$h"; done
    printf '\n'
}

ALICE_PID=
alice_phone() {   # NAME CODE: alice's phone (sipsend) answers with CODE, in the background
    "$SEND" --listen "${ALICE[0]}:${ALICE[1]}" --wait 4000 --answer "$2" \
        >"$E2E_RUN/alice-$1.out" 2>&1 &
    ALICE_PID=$!
    sleep 0.3
}

alice_phone paid 200
request INVITE "sip:alice@$R" mnc003-1 "$MNC003:5060" \
    "P-Asserted-Identity: <sip:bob@$R>" "P-Charging-Function-Addresses: ccf=10.0.0.1" |
    attack mnc003-invite "$MNC003:5060" "$IBCF:5060"
wait "$ALICE_PID" 2>/dev/null      # (not in a $(...): a subshell cannot wait for it)
got=$(cat "$E2E_RUN/alice-paid.out")
check_eq "mnc003 calls alice: the 200 comes back" "SIP/2.0 200 OK" "$(final_of)"
check_match "alice's phone got the INVITE" "^INVITE sip:alice@${ALICE[0]}" "$got"
check_eq "... without the identity mnc003 asserted (it is untrusted), nor its charging addresses" \
    "" "$(printf '%s\n' "$got" | grep -iE '^(P-Asserted-Identity|P-Charging-Function-Addresses):')"
check_eq "the 200 mnc003 got shows no home node" "" \
    "$(printf '%s\n' "$ATTACK_OUT" | grep -E '127\.0\.0\.(10|20|30|40|50)([^0-9]|$)')"
RR3=$(printf '%s\n' "$ATTACK_OUT" | sed -n 's/^Record-Route: *//p' | tr -d '\r' | head -n 1)
check_match "... its Record-Route: one token entry of the IBCF" \
    "^<sip:D[A-Za-z0-9_-]+@$IBCF:5060;lr;tokenized-by=$R>$" "$RR3"

tok=${RR3#<sip:}
tok=${tok%%@*}
flip=$([ "${tok:10:1}" = x ] && echo y || echo x)
request BYE "sip:alice@${ALICE[0]}:${ALICE[1]}" mnc003-1 "$MNC003:5060" \
    "Route: <sip:${tok:0:10}$flip${tok:11}@${RR3#*@}" | attack tampered "$MNC003:5060" "$IBCF:5060"
check_match "that token with one character changed, in its own dialog: 403" \
    '^Warning: 399 127\.0\.0\.55 "a Route token this IBCF did not make for network mnc003' \
    "$ATTACK_OUT"
request BYE "sip:alice@${ALICE[0]}:${ALICE[1]}" mnc003-other "$MNC003:5060" "Route: $RR3" |
    attack replay-dialog "$MNC003:5060" "$IBCF:5060"
check_match "that token replayed in another dialog: 403" '^SIP/2.0 403 ' "$(final_of)"
request BYE "sip:alice@${ALICE[0]}:${ALICE[1]}" mnc003-1 "$IBCF2:5999" "Route: $RR3" |
    attack replay-network "$IBCF2:5999" "$IBCF:5060"
check_match "that token replayed by another network (mnc002's address): 403" '^SIP/2.0 403 ' \
    "$(final_of)"
request BYE "sip:zoe@${ZOE[0]}:${ZOE[1]}" "$CALL1_ID" "$MNC003:5060" "Route: $TOKEN_RR" |
    attack replay-mnc002 "$MNC003:5060" "$IBCF:5060"
check_match "mnc002's token of call 1 used by mnc003: 403" '^SIP/2.0 403 ' "$(final_of)"
forged="<sip:DAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@$IBCF:5060;lr;tokenized-by=$R>"
request INVITE "sip:alice@${ALICE[0]}:${ALICE[1]}" forged-1 "$IBCF2:5999" "Route: $forged" |
    attack forged "$IBCF2:5999" "$IBCF:5060"
check_match "a forged token from mnc002: 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.55 "a Route token this IBCF did not make' "$ATTACK_OUT"
request INVITE "sip:alice@$R" route-1 "$IBCF2:5999" \
    "Route: <sip:$IBCF;lr>, <sip:127.0.0.30;lr;orig>" |
    attack route-beyond "$IBCF2:5999" "$IBCF:5060"
check_match "a Route beyond the IBCF (to the S-CSCF, as originating) from mnc002: 403" \
    '^Warning: 399 127\.0\.0\.55 "a Route beyond the IBCF from network mnc002' "$ATTACK_OUT"
request INVITE "sip:alice@$R" nopeer-1 "$NO_PEER:5060" | attack no-peer "$NO_PEER:5060" "$IBCF:5060"
check_match "a source that is no peer network: 403" \
    '^Warning: 399 127\.0\.0\.55 "INVITE from 127\.0\.2\.99:5060/udp: neither a peer network' \
    "$ATTACK_OUT"
request INVITE "sip:zoe@$R2" ue-1 "$EVIL_UE:5090" | attack own-ue "$EVIL_UE:5090" "$IBCF:5060"
check_match "a UE of the lab sending to the IBCF directly: 403" '^SIP/2.0 403 ' "$(final_of)"
request REGISTER "sip:$R" reg-1 "$MNC003:5060" "Path: <sip:$MNC003;lr>" |
    attack register "$MNC003:5060" "$IBCF:5060"
check_match "a REGISTER from mnc003 (no roaming partner): 403" \
    '^Warning: 399 127\.0\.0\.55 "network mnc003 is no roaming partner' "$ATTACK_OUT"
request INVITE "sip:bob@somewhere.example" other-1 "$IBCF2:5999" |
    attack transit "$IBCF2:5999" "$IBCF:5060"
check_match "mnc002 sends a request for a third domain through us: 404 (no transit)" \
    '^SIP/2.0 404 ' "$(final_of)"

step "the IBCF's offline charging (Rf, Node-Functionality IBCF 7)"
ocs_get() { curl -s --max-time 10 -H "Authorization: Bearer ims-lab-token" \
    "http://127.0.0.80:8080/api/v1/$1"; }
cdr_of() {   # ROLE CALLEE-USER: a closed session CDR of the lab's IBCF (10 s at most)
    local i hit
    for i in $(seq 1 50); do
        hit=$(ocs_get "cdrs?limit=64" | jq -c --argjson r "$1" --arg u "$2" \
            "[.items[] | select(.node == \"ibcf.$R\" and .role_of_node == \$r and .status == \"closed\" and .record == \"session\" and ((.called // \"\") | contains(\$u)))] | first // empty")
        [ -n "$hit" ] && { printf '%s\n' "$hit"; return 0; }
        sleep 0.2
    done
    return 1
}
cdr_fields='"\(.record) \(.node_functionality) \(.role_of_node) \(.method) \(.originating_ioi) \(.terminating_ioi)"'
cdr1=$(cdr_of 0 zoe)
check_eq "alice's calls to zoe: closed session CDRs of the IBCF, originating, with both IOIs" \
    "session 7 0 BYE $R $R2" "$(json_get "$cdr1" "$cdr_fields")"
cdr2=$(cdr_of 1 alice)
check_eq "zoe's calls to alice: terminating, orig-ioi of mnc002, term-ioi ours" \
    "session 7 1 BYE $R2 $R" "$(json_get "$cdr2" "$cdr_fields")"

step "towards mnc003 (untrusted): what leaves the lab"
"$SEND" --listen "127.0.3.55:5060" --wait 10000 --answer 486 >"$E2E_RUN/mnc003-ibcf.out" 2>&1 &
M3=$!
sleep 0.3
check "alice calls carl@$R3: 486 from its (sipsend) IBCF" \
    caller call6 call_uac_fail.xml alice "$R" "${ALICE[@]}" "$PCSCF" "sip:carl@$R3"
check_match "... reaches alice" '^status: 486' "$(logline call6)"
wait "$M3" 2>/dev/null
got=$(cat "$E2E_RUN/mnc003-ibcf.out")
inv=$(printf '%s\n' "$got" | awk '/^INVITE /{f=1} f&&/^--/{exit} f' | tr -d '\r')
check_match "mnc003's IBCF got the INVITE from the lab's IBCF" "^INVITE sip:carl@$R3 SIP/2.0" "$inv"
check_eq "... with no home node's address or name in it (only the IBCF's and alice's Contact)" "" \
    "$(printf '%s\n' "$inv" | sed '/^$/q' | leaks)"
check_eq "... two Vias, both the IBCF's" "2 2" \
    "$(grep -c '^Via:' <<<"$inv") $(grep -c "^Via: SIP/2.0/UDP $IBCF" <<<"$inv")"
check_match "... alice's identity kept (no Privacy: id asked)" \
    "^P-Asserted-Identity: <sip:alice@$R>" "$inv"
check_eq "... no charging addresses, no icid-generated-at, no P-Served-User" "" \
    "$(grep -iE '^P-Charging-Function-Addresses|icid-generated-at|^P-Served-User' <<<"$inv")"
check "alice calls sip:nobody@unknown.example (no agreement)" \
    caller call7 call_uac_fail.xml alice "$R" "${ALICE[@]}" "$PCSCF" "sip:nobody@unknown.example"
check_match "... 404 with the IBCF's Warning" \
    '^status: 404 warning: +399 127\.0\.0\.55 "no peer network for unknown\.example' \
    "$(logline call7)"

step "metrics of the lab's IBCF"
http_get "http://$IBCF:8080/metrics"
metric() {
    printf '%s\n' "$HTTP_BODY" | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'
}
# in: calls 2 and 4 (INVITE, ACK, BYE; INVITE, ACK), zoe's BYE of call 3, mnc003's INVITE
check "inbound requests forwarded" \
    test "$(metric 'ibcf_requests_total{direction="in",outcome="forwarded"}')" -ge 7
check "outbound requests forwarded" \
    test "$(metric 'ibcf_requests_total{direction="out",outcome="forwarded"}')" -ge 10
check_eq "inbound refusals counted (tampering, replays, forgery, Route, REGISTER, transit)" 8 \
    "$(metric 'ibcf_requests_total{direction="in",outcome="refused"}')"
check_eq "outbound refusals counted (the call to unknown.example)" 1 \
    "$(metric 'ibcf_requests_total{direction="out",outcome="refused"}')"
check_eq "tokens that did not open counted" 5 "$(metric ibcf_route_tokens_refused_total)"
check_eq "mnc003's asserted identity counted as removed" 1 \
    "$(metric ibcf_asserted_identities_removed_total)"

step "stop"
net2_stop
check "deploy/lab.sh stop" lab_stop
check_eq "no daemon of this run is left" "" "$(lab_pids)"

e2e_finish
