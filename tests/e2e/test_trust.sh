#!/usr/bin/env bash
# tests/e2e/test_trust.sh - the SIP trust domain, tried as an attacker would (issue 12):
# raw SIP over UDP and TCP (tests/tools/sipsend) from an address that never registered,
# spoofed P-Asserted-Identity, Route and Record-Route, a second UE behind the address of a
# registered one, forged and replayed dialog tokens, requests straight to the I-CSCF and the
# S-CSCF. Each attack expects its refusal, and the victim (bob, a UE listening on the address
# he registered from) must receive nothing, or only what the network vouches for.
#
# Trust is decided by the source (sip.trusted_peers of deploy/lab/*.conf) and by tokens the
# P-CSCF issued itself (the flow token in its Path, the dialog token in its Record-Route):
# see the "Security model" sections of pcscf/, icscf/ and scscf/README.md.
#
# Needs `make` first (build/bin) and the tools of `mk/deps.sh test`.
set -u
shopt -s lastpipe   # `... | attack`: the answers stay in this shell (ATTACK_OUT)

# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init trust
e2e_require jq curl tshark sipp timeout

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
SEND=$E2E_BIN/sipsend
PCSCF=127.0.0.10:5060 ICSCF=127.0.0.20:5060 SCSCF=127.0.0.30:5060
EVIL=127.0.0.150                # never registers
BOB=(127.0.0.140 5140)          # the victim: registers, then listens where he registered from
ALICE=(127.0.0.141 5141)        # registered (prepaid, with credit), tries to pass for carol
NEIGHBOUR=127.0.0.141:5142      # another UE behind alice's address (same IP, other port)
E2E_CAP_FILTER='net 127.0.0.0/24 and port 5060'

if [ ! -x "$SEND" ]; then
    fail "binaries built: $SEND missing" "run: make"
    e2e_finish
fi

reg() {   # NAME USER ADDR PORT: Digest registration through the P-CSCF (sipp)
    local name=$1 user=$2 addr=$3 port=$4
    (cd "$E2E_RUN" && timeout 40 sipp -sf "$SCEN/reg_digest.xml" -m 1 -nostdin -i "$addr" \
        -p "$port" -timeout 30s -timeout_error -key domain "$R" -s "$user" -au "$user@$R" \
        -ap "$user-secret" -auth_uri "$R" -key impi "$user@$R" -key expires 600 -trace_err \
        -error_file "$name.err" -trace_msg -message_file "$name.msg" "$PCSCF" \
        >"$name.out" 2>&1)
}

BOB_PID=
bob_listen() {   # NAME [sipsend --listen options]: bob's phone, in the background, 4 s
    local name=$1
    shift
    "$SEND" --listen "${BOB[0]}:${BOB[1]}" --wait 4000 "$@" >"$E2E_RUN/bob-$name.out" 2>&1 &
    BOB_PID=$!
    sleep 0.3
}
bob_got() {   # NAME: waits for bob's phone; prints what it received ("" when nothing)
    wait "$BOB_PID" 2>/dev/null
    cat "$E2E_RUN/bob-$1.out"
}

attack() {   # NAME FROM TO [--tcp]: sends stdin as written; the answers in ATTACK_OUT
    local name=$1 from=$2 to=$3
    shift 3
    "$SEND" "$@" --from "$from" --to "$to" --wait 4000 - >"$E2E_RUN/$name.out" 2>&1
    ATTACK_OUT=$(cat "$E2E_RUN/$name.out")
}

final_of() {   # the status line of the last response in ATTACK_OUT
    printf '%s\n' "$ATTACK_OUT" | grep '^SIP/2.0 [2-6]' | tail -n 1 | tr -d '\r'
}

invite() {   # CALL-ID VIA-SENT-BY TRANSPORT [extra header lines...]: an INVITE for bob
    local id=$1 via=$2 tp=$3 h
    shift 3
    printf 'INVITE sip:bob@%s SIP/2.0\n' "$R"
    printf 'Via: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\n' "$tp" "$via" "$id"
    printf 'Max-Forwards: 70\nFrom: <sip:alice@%s>;tag=atk-%s\nTo: <sip:bob@%s>\n' "$R" "$id" "$R"
    printf 'Call-ID: %s@attack\nCSeq: 1 INVITE\nContact: <sip:alice@%s>\n' "$id" "$via"
    for h in "$@"; do printf '%s\n' "$h"; done
    printf '\n'
}

SPOOF="P-Asserted-Identity: <sip:alice@$R>"        # an unregistered UE poses as alice
SPOOF_CAROL="P-Asserted-Identity: <sip:carol@$R>"  # alice, registered, poses as carol

cap_start trust
step "the lab, bob and alice registered"
check "deploy/lab.sh start" lab_start
check "bob registers from ${BOB[0]}:${BOB[1]}" reg reg-bob bob "${BOB[@]}"
check "alice registers from ${ALICE[0]}:${ALICE[1]}" reg reg-alice alice "${ALICE[@]}"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: a UE that never registered"
bob_listen a1
invite a1 "$EVIL:5150" UDP "Route: <sip:term@127.0.0.10:5060;lr>" \
    "Route: <sip:127.0.0.30:5060;lr;orig>" "$SPOOF" | attack a1 "$EVIL:5150" "$PCSCF"
check_match "INVITE as alice with the P-CSCF's and the S-CSCF's Routes (UDP): 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.10 .*not registered' "$(printf '%s\n' "$ATTACK_OUT" | tr -d '\r')"
check_eq "... bob's phone did not ring" "" "$(bob_got a1)"

bob_listen a2
invite a2 "$EVIL:5151" TCP "Route: <sip:term@127.0.0.10:5060;lr>" \
    "Route: <sip:127.0.0.30:5060;lr;orig>" "$SPOOF" | attack a2 "$EVIL:5151" "$PCSCF" --tcp
check_eq "the same over TCP: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone did not ring" "" "$(bob_got a2)"

bob_listen a3
invite a3 "$EVIL:5152" UDP "Route: <sip:term@127.0.0.10:5060;lr;ft=0123456789abcdef0123456789abcdef>" \
    "$SPOOF" | attack a3 "$EVIL:5152" "$PCSCF"
check_eq "as the core would send it (Path Route with a forged flow token): 403" \
    "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone did not ring" "" "$(bob_got a3)"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: a second UE behind alice's address"
bob_listen b1
invite b1 "${ALICE[0]}:${ALICE[1]}" UDP "$SPOOF" | attack b1 "$NEIGHBOUR" "$PCSCF"
check_eq "from alice's IP, another port, Via naming alice's contact (UDP): 403" \
    "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone did not ring" "" "$(bob_got b1)"

bob_listen b2
invite b2 "${ALICE[0]}:${ALICE[1]}" TCP "$SPOOF" | attack b2 "$NEIGHBOUR" "$PCSCF" --tcp
check_eq "the same over a TCP connection of its own: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone did not ring" "" "$(bob_got b2)"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: alice, registered, asserts carol's identity"
bob_listen c1 --answer 180,486 --header "P-Asserted-Identity: <sip:carol@$R>" \
    --header "Record-Route: <sip:127.0.0.152:5099;lr>"
invite c1 "${ALICE[0]}:${ALICE[1]}" UDP "$SPOOF_CAROL" "P-Preferred-Identity: <sip:carol@$R>" \
    "Record-Route: <sip:127.0.0.152:5099;lr>" "Route: <sip:127.0.0.30:5060;lr;orig>" |
    attack c1 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
BOB_C1=$(bob_got c1 | tr -d '\r')
bob_invite=$(printf '%s\n' "$BOB_C1" | awk '/^INVITE /,/^--$/')
check_contains "bob's phone rang as alice (P-Asserted-Identity from her registered set)" \
    "P-Asserted-Identity: <sip:alice@$R>" "$bob_invite"
check_eq "... and not as carol" "" "$(printf '%s\n' "$bob_invite" | grep -i "carol@$R>$" |
    grep -i '^P-\(Asserted\|Preferred\)-Identity')"
check_eq "... alice's own Record-Route entry is gone" "" \
    "$(printf '%s\n' "$bob_invite" | grep -i '^Record-Route:.*127\.0\.0\.152')"
check_match "... the P-CSCF's Record-Route carries a dialog token (and alice's flow token)" \
    '^Record-Route: .*<sip:127\.0\.0\.10:5060;lr;icid=[0-9a-f]+;ue=[0-9a-f]{16};ft=[0-9a-f]+>' \
    "$bob_invite"
resp=$(printf '%s\n' "$ATTACK_OUT" | tr -d '\r')
ringing=$(printf '%s\n' "$resp" | awk '/^SIP\/2.0 180/,/^--$/')
check_contains "bob's 180 reached alice asserting bob, not the carol his phone claimed" \
    "P-Asserted-Identity: <sip:bob@$R>" "$ringing"
check_eq "... without the Record-Route entry bob's phone added" "" \
    "$(printf '%s\n' "$ringing" | grep -i '^Record-Route:.*127\.0\.0\.152')"
check_eq "the call ended with bob's 486" "SIP/2.0 486 Refused" "$(final_of)"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: requests inside a dialog"
# alice's dialog token (her Record-Route entry, as bob's phone received it), replayed by
# another address: the token binds the dialog to alice's flow
alice_rr=$(printf '%s\n' "$bob_invite" | grep -o '<sip:127\.0\.0\.10:5060;lr;icid=[0-9a-f]*;ue=[0-9a-f]*>' |
    tail -n 1)
bye() {   # CALL-ID VIA TRANSPORT ROUTE
    printf 'BYE sip:bob@%s:%s SIP/2.0\n' "${BOB[0]}" "${BOB[1]}"
    printf 'Via: SIP/2.0/%s %s;branch=z9hG4bK-bye-%s;rport\n' "$3" "$2" "$RANDOM"
    printf 'Max-Forwards: 70\nFrom: <sip:alice@%s>;tag=atk-c1\nTo: <sip:bob@%s>;tag=sipsend\n' "$R" "$R"
    printf 'Call-ID: %s@attack\nCSeq: 2 BYE\nRoute: %s\n' "$1" "$4"
    printf 'Route: <sip:127.0.0.30:5060;lr>\n\n'
}
bob_listen d1
bye c1 "$EVIL:5153" UDP "$alice_rr" | attack d1 "$EVIL:5153" "$PCSCF"
check_match "a BYE in alice's dialog from another address, with her token: 403" \
    "^Warning: 399 127\.0\.0\.10 .*not a dialog of this UE's flow" "$(printf '%s\n' "$ATTACK_OUT" | tr -d '\r')"
check_eq "... bob's phone got nothing" "" "$(bob_got d1)"
bob_listen d2
bye c1 "${ALICE[0]}:${ALICE[1]}" UDP "<sip:127.0.0.10:5060;lr;ue=0123456789abcdef>" |
    attack d2 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "a BYE from alice with a forged dialog token: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone got nothing" "" "$(bob_got d2)"
bob_listen d3
bye other "${ALICE[0]}:${ALICE[1]}" UDP "$alice_rr" | attack d3 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "alice's token for another Call-ID: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone got nothing" "" "$(bob_got d3)"

# the route set alice learnt from bob's 180: its Record-Route entries, last first
alice_routes=$(printf '%s\n' "$ringing" | grep -i '^Record-Route:' | grep -o '<[^>]*>' | tac)
route_lines() {   # the entries of $1 (one per line) as Route header lines
    printf '%s\n' "$1" | sed 's/^/Route: /'
}
in_dialog_bye() {   # ROUTE-ENTRIES: a BYE of alice in the early dialog of c1
    printf 'BYE sip:bob@%s:%s SIP/2.0\n' "${BOB[0]}" "${BOB[1]}"
    printf 'Via: SIP/2.0/UDP %s:%s;branch=z9hG4bK-bye-%s;rport\n' "${ALICE[0]}" "${ALICE[1]}" "$RANDOM"
    printf 'Max-Forwards: 70\nFrom: <sip:alice@%s>;tag=atk-c1\nTo: <sip:bob@%s>;tag=sipsend\n' "$R" "$R"
    printf 'Call-ID: c1@attack\nCSeq: 2 BYE\n'
    route_lines "$1"
    printf '\n'
}
check_match "alice's first route is the P-CSCF's entry with the dialog token of her route set" \
    '^<sip:127\.0\.0\.10:5060;lr;icid=[0-9a-f]+;ue=[0-9a-f]{16};ft=[0-9a-f]+>$' \
    "$(printf '%s\n' "$alice_routes" | head -n 1)"
bob_listen d4
in_dialog_bye "$(printf '%s\n' "$alice_routes" | head -n 1; echo '<sip:127.0.0.152:5099;lr>')" |
    attack d4 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "alice's BYE with her token but a route set of her own after it: 403" \
    "SIP/2.0 403 Forbidden" "$(final_of)"
check_eq "... bob's phone got nothing" "" "$(bob_got d4)"
bob_listen d5 --answer 200
in_dialog_bye "$alice_routes" | attack d5 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "alice's BYE along the route set she learnt: bob's phone answers 200" \
    "SIP/2.0 200 OK" "$(final_of)"
check_match "... bob's phone got it" '^BYE sip:bob@' "$(bob_got d5)"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: what a UE writes in its REGISTER"
{
    printf 'REGISTER sip:%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reg-evil;rport\n' "$R" "$EVIL:5154"
    printf 'Max-Forwards: 70\nFrom: <sip:carol@%s>;tag=reg-evil\nTo: <sip:carol@%s>\n' "$R" "$R"
    printf 'Call-ID: reg-evil@attack\nCSeq: 1 REGISTER\nContact: <sip:carol@%s>\n' "$EVIL:5154"
    printf 'Path: <sip:127.0.0.152:5099;lr>\nRoute: <sip:127.0.0.30:5060;lr>\n'
    printf '%s\n' "$SPOOF"
    printf 'Authorization: Digest username="carol@%s", realm="%s", uri="sip:%s", nonce="", response=""\n\n' "$R" "$R" "$R"
} | attack r1 "$EVIL:5154" "$PCSCF"
check_eq "a REGISTER with its own Path and Route: challenged by the home network (401)" \
    "SIP/2.0 401 Unauthorized" "$(final_of)"

# ---------------------------------------------------------------------------------------------
step "P-CSCF: a Route naming its Path, from a UE"
bob_listen e1 --answer 200
{
    printf 'MESSAGE sip:bob@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-msg-e1;rport\n' "$R" "${ALICE[0]}:${ALICE[1]}"
    printf 'Max-Forwards: 70\nFrom: <sip:carol@%s>;tag=e1\nTo: <sip:bob@%s>\n' "$R" "$R"
    printf 'Call-ID: e1@attack\nCSeq: 1 MESSAGE\nRoute: <sip:term@127.0.0.10:5060;lr;ft=deadbeef>\n'
    printf '%s\nContent-Type: text/plain\n\nhello\n' "$SPOOF_CAROL"
} | attack e1 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "alice's MESSAGE with a terminating Route, as carol: handled as hers (200 from bob)" \
    "SIP/2.0 200 OK" "$(final_of)"
check_contains "... bob got it as from alice" "P-Asserted-Identity: <sip:alice@$R>" \
    "$(bob_got e1 | tr -d '\r' | awk '/^MESSAGE /,/^--$/')"

# ---------------------------------------------------------------------------------------------
step "S-CSCF: straight from an untrusted address"
bob_listen s1
invite s1 "$EVIL:5155" UDP "Route: <sip:127.0.0.30:5060;lr;orig>" "$SPOOF" |
    attack s1 "$EVIL:5155" "$SCSCF"
check_match "INVITE as alice with Route ;orig: 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.30 .*not a trusted peer' "$(printf '%s\n' "$ATTACK_OUT" | tr -d '\r')"
check_eq "... bob's phone did not ring" "" "$(bob_got s1)"
invite s2 "$EVIL:5156" TCP "$SPOOF" | attack s2 "$EVIL:5156" "$SCSCF" --tcp
check_eq "a terminating INVITE over TCP: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
{
    printf 'REGISTER sip:%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reg-s3;rport\n' "$R" "$EVIL:5157"
    printf 'Max-Forwards: 70\nFrom: <sip:carol@%s>;tag=s3\nTo: <sip:carol@%s>\n' "$R" "$R"
    printf 'Call-ID: s3@attack\nCSeq: 1 REGISTER\nContact: <sip:carol@%s>\n\n' "$EVIL:5157"
} | attack s3 "$EVIL:5157" "$SCSCF"
check_eq "a REGISTER: 403" "SIP/2.0 403 Forbidden" "$(final_of)"
printf 'OPTIONS sip:127.0.0.30:5060 SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-opt\nMax-Forwards: 70\nFrom: <sip:x@%s>;tag=o\nTo: <sip:127.0.0.30:5060>\nCall-ID: opt@attack\nCSeq: 1 OPTIONS\n\n' \
    "$EVIL:5158" "$R" | attack s4 "$EVIL:5158" "$SCSCF"
check_eq "an OPTIONS to the node itself is still answered" "SIP/2.0 200 OK" "$(final_of)"

# ---------------------------------------------------------------------------------------------
step "I-CSCF: the network's entry point"
bob_listen i1 --answer 486
invite i1 "$EVIL:5160" UDP "$SPOOF" "P-Served-User: <sip:alice@$R>" |
    attack i1 "$EVIL:5160" "$ICSCF"
check_eq "INVITE for bob asserting alice: routed to bob (486 from his phone)" \
    "SIP/2.0 486 Refused" "$(final_of)"
bob_i1=$(bob_got i1 | tr -d '\r' | awk '/^INVITE /,/^--$/')
check_match "... bob's phone got the INVITE" '^INVITE sip:bob@' "$bob_i1"
check_eq "... without the identity the sender asserted" "" \
    "$(printf '%s\n' "$bob_i1" | grep -i '^P-Asserted-Identity\|^P-Served-User')"
bob_listen i2
invite i2 "$EVIL:5161" UDP "Route: <sip:127.0.0.30:5060;lr;orig>" "$SPOOF" |
    attack i2 "$EVIL:5161" "$ICSCF"
check_match "INVITE with a Route beyond the I-CSCF (to the S-CSCF, ;orig): 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.20 .*Route beyond' "$(printf '%s\n' "$ATTACK_OUT" | tr -d '\r')"
check_eq "... bob's phone did not ring" "" "$(bob_got i2)"
{
    printf 'REGISTER sip:%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reg-i3;rport\n' "$R" "$EVIL:5162"
    printf 'Max-Forwards: 70\nFrom: <sip:carol@%s>;tag=i3\nTo: <sip:carol@%s>\n' "$R" "$R"
    printf 'Call-ID: i3@attack\nCSeq: 1 REGISTER\nContact: <sip:carol@%s>\n' "$EVIL:5162"
    printf 'Path: <sip:%s;lr>\n' "$EVIL:5162"
    printf 'Authorization: Digest username="carol@%s", realm="%s", uri="sip:%s", nonce="", response=""\n\n' "$R" "$R" "$R"
} | attack i3 "$EVIL:5162" "$ICSCF"
check_eq "a REGISTER that bypasses the P-CSCF (its own Path): 403" "SIP/2.0 403 Forbidden" \
    "$(final_of)"

# ---------------------------------------------------------------------------------------------
step "normal calls still work"
bob_listen n1 --answer 486
invite n1 "${ALICE[0]}:${ALICE[1]}" UDP | attack n1 "${ALICE[0]}:${ALICE[1]}" "$PCSCF"
check_eq "alice calls bob through the P-CSCF: bob's phone answers (486)" "SIP/2.0 486 Refused" \
    "$(final_of)"
check_match "... bob's phone got the INVITE" '^INVITE sip:bob@' "$(bob_got n1)"

# ---------------------------------------------------------------------------------------------
step "the capture"
if cap_stop; then
    F=$E2E_CAP_FILE
    n() { cap_count "$F" "$1"; }
    check_eq "no malformed SIP" "" "$(cap_problems "$F")"
    check_eq "the REGISTER with its own Path left the P-CSCF with the P-CSCF's Path alone" \
        "<sip:term@127.0.0.10:5060;lr;ft=FLOW>|" \
        "$(tshark -r "$F" -Y 'ip.src == 127.0.0.10 && ip.dst == 127.0.0.20 && sip.Call-ID == "reg-evil@attack"' \
            -T fields -E separator='|' -e sip.Path -e sip.Route 2>/dev/null | head -n 1 |
           sed 's/;ft=[0-9a-f]*>/;ft=FLOW>/')"
    check_eq "... without the identity it asserted" "0" \
        "$(n 'ip.src == 127.0.0.10 && sip.Call-ID == "reg-evil@attack" && sip.P-Asserted-Identity')"
    check_eq "no request for bob left the network from the attacks that were refused" "0" \
        "$(n "ip.dst == ${BOB[0]} && sip.Method == \"INVITE\" && (sip.Call-ID == \"a1@attack\" || sip.Call-ID == \"a2@attack\" || sip.Call-ID == \"a3@attack\" || sip.Call-ID == \"b1@attack\" || sip.Call-ID == \"b2@attack\" || sip.Call-ID == \"s1@attack\" || sip.Call-ID == \"i2@attack\")")"
else
    fail "the capture ran"
fi

step "the lab stops"
lab_stop
check_eq "deploy/lab.sh stop exits 0" 0 "$?"
for d in pcscf icscf scscf; do
    check_eq "$d: no level=error line" "" "$(grep 'level=error' "$E2E_RUN/$d/$d.log" 2>/dev/null | head -n 3)"
done
e2e_finish
