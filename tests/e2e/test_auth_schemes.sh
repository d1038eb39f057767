#!/usr/bin/env bash
# tests/e2e/test_auth_schemes.sh - the authentication schemes of issue 16, end to end through
# the lab (P-CSCF, I-CSCF, S-CSCF, HSS) with the project's UE (tests/tools/ue.c):
#
# - the three Digest bodies on Cx, each served by the HSS by subscriber and handled by the
#   S-CSCF: 3GPP "SIP Digest" (sid), TISPAN "HTTP_DIGEST_MD5" with the HSS's nonce (tina),
#   PacketCable "Digest" (paco); a right password registers, a wrong one gets a new 401;
# - early IMS (TR 33.978): eric is bound to 127.0.0.161 at the HSS; from there he registers
#   without any challenge, from elsewhere he gets 403; an attacker elsewhere who writes
#   received=127.0.0.161 in his Via (once or twice), or a whole Via of the P-CSCF's address
#   above his own, or who goes to the S-CSCF directly, gets 403 too;
# - NASS-bundled (ES 283 003): the P-CSCF's CLF table (pcscf.clf_table) puts the line of
#   the source address into P-Access-Network-Info; nadia registers from her line, not from
#   another one, nor with her line written as the P-CSCF writes it straight to the S-CSCF;
#   a P-Access-Network-Info "network-provided" the UE wrote is removed (also one where
#   "network-provided" follows a quoted-pair that two parsers might read apart);
# - the older Digest-MD5 (the password on Cx): refused while the S-CSCF is not in
#   hss.password_peers, served once it is;
# - the wire: the MAAs carry ETSI-SIP-Authenticate, CableLabs-SIP-Digest-Authenticate,
#   SIP-Digest-Authenticate, Framed-IP-Address, Line-Identifier; the 401 of TISPAN carries
#   the HSS's nonce; the P-CSCF sets received on the UE's Via; no malformed packet.
#
# The test subscribers are created here, not in the demo set of LAB.md.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init auth_schemes
e2e_require jq tshark curl

R=$E2E_REALM
PCSCF=127.0.0.10:5060
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)
ERIC_IP=127.0.0.161 NADIA_IP=127.0.0.162 OTHER_LINE_IP=127.0.0.163 NO_LINE_IP=127.0.0.164
ATTACKER=127.0.0.165 DIGEST_UE=127.0.0.166

# the P-CSCF's stand-in for the CLF: two lines of an access network
cat >"$E2E_RUN/clf.txt" <<EOF
# network          access-type  line identifier
$NADIA_IP/32       ADSL2+       dslam-7/port-3
$OTHER_LINE_IP/32  ADSL2+       dslam-7/port-4
EOF
export IMS_PCSCF_CLF_TABLE=$E2E_RUN/clf.txt

# ue NAME USER ADDR:PORT ARGS...: the project's UE registers USER through the P-CSCF
ue() {
    local name=$1 user=$2 bind=$3
    shift 3
    timeout 40 "$E2E_BIN/ue" --proxy "$PCSCF" --bind "$bind" --impu "sip:$user@$R" \
        --impi "$user@$R" --password "$user-secret" --algorithm MD5 "$@" \
        >"$E2E_RUN/$name.out" 2>&1
}
out() { cat "$E2E_RUN/$1.out" 2>/dev/null; }
log_of() { cat "$E2E_RUN/$1/$1.log" 2>/dev/null; }
impu_state() { "${CTL[@]}" impu "$1" 2>/dev/null | jq -r '"\(.reg_state) \(.scscf)"'; }

# doc NAME IMPI-FIELDS: a subscriber document with one IMPI and one IMPU
doc() {
    cat >"$E2E_RUN/$1.json" <<EOF
{"name": "$1", "impis": [{"identity": "$1@$R", $2}],
 "impus": [{"identity": "sip:$1@$R"}], "profiles": [{"name": "default", "ifcs": []}]}
EOF
}

# send NAME FROM-ADDR:PORT TO-ADDR:PORT: the raw message in $NAME.sip (CRLF endings), the
# answers in NAME.out
send() {
    sed 's/$/\r/' "$E2E_RUN/$1.sip" >"$E2E_RUN/$1.crlf"
    timeout 20 "$E2E_BIN/sipsend" --from "$2" --to "$3" --wait 4000 "$E2E_RUN/$1.crlf" \
        >"$E2E_RUN/$1.out" 2>&1
}
# raw_register NAME ADDR:PORT EXTRA-HEADER-LINES [USER]: a REGISTER of USER (eric) without
# Authorization
raw_register() {
    local name=$1 hp=$2 extra=$3 user=${4:-eric}
    cat >"$E2E_RUN/$name.sip" <<EOF
REGISTER sip:$R SIP/2.0
${extra}Max-Forwards: 70
From: <sip:$user@$R>;tag=$name
To: <sip:$user@$R>
Call-ID: $name-$RANDOM@$ATTACKER
CSeq: 1 REGISTER
Contact: <sip:$user@$hp>;expires=600
Expires: 600
Supported: path
Content-Length: 0

EOF
}

cap_start auth_schemes
step "the lab, with the P-CSCF's CLF table (pcscf.clf_table)"
check "deploy/lab.sh start" lab_start
check_match "pcscf log: the CLF table loaded" \
    "pcscf: 2 access network\\(s\\) in pcscf.clf_table" "$(log_of pcscf)"

step "test subscribers, one per scheme (provisioning API)"
doc sid '"password": "sid-secret", "schemes": ["digest"]'
doc tina '"password": "tina-secret", "schemes": ["tispan-digest"]'
doc paco '"ha1": "'"$(printf '%s' "paco@$R:$R:paco-secret" | md5sum | cut -c1-32)"'", "schemes": ["packetcable-digest"]'
doc eric '"ip_address": "'$ERIC_IP'", "schemes": ["early-ims"]'
doc nadia '"line_identifiers": ["dslam-7/port-3"], "schemes": ["nass-bundled"]'
doc hana '"ha1": "'"$(printf '%s' "hana@$R:$R:hana-secret" | md5sum | cut -c1-32)"'", "schemes": ["digest"]'
for n in sid tina paco eric nadia hana; do
    check "hssctl put $n" "${CTL[@]}" put "$E2E_RUN/$n.json"
done
got=$("${CTL[@]}" get eric 2>/dev/null)
check_eq "eric's document shows his address and his one scheme" "$ERIC_IP early-ims early-ims" \
    "$(json_get "$got" '.impis[0] | "\(.ip_address) \(.schemes | join(",")) \(.default_scheme)"')"
got=$("${CTL[@]}" get nadia 2>/dev/null)
check_eq "nadia's document shows her line" "dslam-7/port-3" \
    "$(json_get "$got" '.impis[0].line_identifiers | join(",")')"
bad=$(printf '%s' '{"name":"x1","impis":[{"identity":"x1@'$R'","ip_address":"10.0.0.1/8","schemes":["early-ims"]}],"impus":[{"identity":"sip:x1@'$R'"}]}' |
      "${CTL[@]}" put - 2>&1)
check_match "an early-IMS address with a prefix length on IPv4 is refused, naming the field" \
    'impis\[0\]\.ip_address' "$bad"

step "the three Digest bodies (the UE sees the same MD5 challenge in each)"
for u in sid tina paco; do
    check "$u registers with the right password" ue "$u-ok" "$u" "$DIGEST_UE:5501"
    check_match "... after a 401 with algorithm=MD5" '^got 401 algorithm=MD5' "$(out "$u-ok")"
    check_match "... then 200" '^got 200' "$(out "$u-ok")"
    ue "$u-wrong" "$u" "$DIGEST_UE:5502" --password guess --rounds 1
    check_match "$u with a wrong password: a new 401 with a Warning (attempt 1 of 3)" \
        'warning: .*wrong credentials \(attempt 1 of 3\)' "$(out "$u-wrong")"
    check "$u de-registers" ue "$u-0" "$u" "$DIGEST_UE:5501" --expires 0
done
check_eq "sid (3GPP only) cannot be served a TISPAN body: the S-CSCF never asks by name, the HSS picks" \
    "" "$(log_of hss | grep -E 'cx: MAR (sid|tina|paco)@.* -> DIAMETER_ERROR_AUTH_SCHEME')"

step "early IMS: eric is bound to $ERIC_IP"
check "eric registers from $ERIC_IP without Authorization" \
    ue eric-ok eric "$ERIC_IP:5601" --no-authorization
check_match "... 200 OK" '^got 200' "$(out eric-ok)"
check_eq "... without any challenge" "" "$(grep '^got 401' "$E2E_RUN/eric-ok.out")"
check_eq "HSS: eric registered at the S-CSCF" "registered sip:scscf.$R:5060" \
    "$(impu_state "sip:eric@$R")"
check_match "scscf log: authenticated by the access network, with the address" \
    "eric@$R\\) authenticated by its access network \\(Early-IMS-Security, $ERIC_IP\\)" \
    "$(log_of scscf)"
check "eric refreshes with the Authorization of an IMS UE (no algorithm): still early IMS" \
    ue eric-auth eric "$ERIC_IP:5601"
check_eq "... no challenge either" "" "$(grep '^got 401' "$E2E_RUN/eric-auth.out")"
ue eric-elsewhere eric "$ATTACKER:5602" --no-authorization
check_match "eric's identity from $ATTACKER: 403" '^got 403' "$(out eric-elsewhere)"
check_match "... the Warning names the address" \
    "warning: .*early IMS: the UE's address $ATTACKER is not the one its access network bound" \
    "$(out eric-elsewhere)"

raw_register forged-received "$ATTACKER:5603" \
    "Via: SIP/2.0/UDP $ATTACKER:5603;branch=z9hG4bKforged1;rport;received=$ERIC_IP
"
send forged-received "$ATTACKER:5603" "$PCSCF"
check_match "the attacker writes received=$ERIC_IP in his own Via: 403" \
    '^SIP/2.0 403' "$(out forged-received)"
check_match "... the S-CSCF read the address the P-CSCF saw" \
    "^Warning: .*early IMS: the UE's address $ATTACKER is not" "$(out forged-received)"
raw_register forged-received2 "$ATTACKER:5606" \
    "Via: SIP/2.0/UDP $ATTACKER:5606;branch=z9hG4bKforged4;received=$ERIC_IP;rport;received=$ERIC_IP
"
send forged-received2 "$ATTACKER:5606" "$PCSCF"
check_match "the attacker writes received=$ERIC_IP twice in his own Via: 403" \
    '^SIP/2.0 403' "$(out forged-received2)"
check_match "... the S-CSCF read the address the P-CSCF saw (every received of the UE goes)" \
    "^Warning: .*early IMS: the UE's address $ATTACKER is not" "$(out forged-received2)"
raw_register forged-via "$ATTACKER:5604" \
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKforged2a;rport
Via: SIP/2.0/UDP $ERIC_IP:5060;branch=z9hG4bKforged2b;received=$ERIC_IP
"
send forged-via "$ATTACKER:5604" "$PCSCF"
check_match "the attacker adds a Via of the P-CSCF's address above one 'from' $ERIC_IP: 403" \
    '^SIP/2.0 403' "$(out forged-via)"
check_match "... the S-CSCF read the address the P-CSCF saw, not the forged one" \
    "^Warning: .*early IMS: the UE's address $ATTACKER is not" "$(out forged-via)"
raw_register direct "$ATTACKER:5605" \
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKforged3a;rport
Via: SIP/2.0/UDP $ERIC_IP:5605;branch=z9hG4bKforged3b;received=$ERIC_IP
Path: <sip:term@127.0.0.10:5060;lr>
"
send direct "$ATTACKER:5605" 127.0.0.30:5060
check_match "the same REGISTER sent to the S-CSCF directly: 403, not a trusted peer" \
    '^SIP/2.0 403' "$(out direct)"
check_match "... the Warning says so" \
    "^Warning: .*REGISTER from $ATTACKER:5605/udp: not a trusted peer" "$(out direct)"
check "eric de-registers from $ERIC_IP" \
    ue eric-0 eric "$ERIC_IP:5601" --no-authorization --expires 0
check_eq "HSS: eric not registered" "not_registered null" "$(impu_state "sip:eric@$R")"

step "NASS-bundled: nadia's line is dslam-7/port-3 ($NADIA_IP in the CLF table)"
check "nadia registers from her line" ue nadia-ok nadia "$NADIA_IP:5701" --no-authorization
check_eq "... without any challenge" "" "$(grep '^got 401' "$E2E_RUN/nadia-ok.out")"
check_match "scscf log: authenticated by the line" \
    "nadia@$R\\) authenticated by its access network \\(NASS-Bundled, dslam-7/port-3\\)" \
    "$(log_of scscf)"
ue nadia-other nadia "$OTHER_LINE_IP:5702" --no-authorization
check_match "nadia's identity from another line: 403 naming that line" \
    'warning: .*NASS-bundled: the line the P-CSCF saw \(dslam-7/port-4\) is not one of the user' \
    "$(out nadia-other)"
FORGED='P-Access-Network-Info: ADSL;dsl-location="dslam-7/port-3";network-provided'
ue nadia-forged nadia "$NO_LINE_IP:5703" --no-authorization --header "$FORGED"
check_match "from no known line, with her line written by the UE as network-provided: 403" \
    'warning: .*NASS-bundled: no line of the UE vouched for by its P-CSCF' "$(out nadia-forged)"
check_match "pcscf log: the UE's network-provided P-Access-Network-Info removed" \
    "REGISTER from $NO_LINE_IP:5703/udp: 1 P-Access-Network-Info marked network-provided by the UE removed" \
    "$(log_of pcscf)"
ESCAPED='P-Access-Network-Info: ADSL; x="\""; network-provided; dsl-location="dslam-7/port-3"'
ue nadia-escaped nadia "$NO_LINE_IP:5705" --no-authorization --header "$ESCAPED"
check_match "the same forgery behind a quoted-pair (x=\"\\\"\"): 403" \
    'warning: .*NASS-bundled: no line of the UE vouched for by its P-CSCF' "$(out nadia-escaped)"
check_match "pcscf log: that P-Access-Network-Info removed too" \
    "REGISTER from $NO_LINE_IP:5705/udp: 1 P-Access-Network-Info marked network-provided by the UE removed" \
    "$(log_of pcscf)"
raw_register nadia-direct "$NO_LINE_IP:5706" \
    "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKforged5a;rport
Via: SIP/2.0/UDP $NO_LINE_IP:5706;branch=z9hG4bKforged5b;received=$NO_LINE_IP
Path: <sip:term@127.0.0.10:5060;lr>
$FORGED
" nadia
send nadia-direct "$NO_LINE_IP:5706" 127.0.0.30:5060
check_match "her line as the P-CSCF writes it, sent to the S-CSCF directly: 403" \
    '^SIP/2.0 403' "$(out nadia-direct)"
check_match "... not a trusted peer of the S-CSCF" \
    "^Warning: .*REGISTER from $NO_LINE_IP:5706/udp: not a trusted peer" "$(out nadia-direct)"
ue nadia-forged2 nadia "$OTHER_LINE_IP:5704" --no-authorization --header "$FORGED"
check_match "from the other line with the same forgery: 403 (the P-CSCF's own line counts)" \
    'warning: .*the line the P-CSCF saw \(dslam-7/port-4\)' "$(out nadia-forged2)"
check "nadia de-registers" ue nadia-0 nadia "$NADIA_IP:5701" --no-authorization --expires 0

step "the older Digest-MD5 (the password on Cx) needs the S-CSCF in hss.password_peers"
stop_daemon() {
    local pid
    pid=$(cat "$E2E_RUN/$1/$1.pid" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}
check "the S-CSCF stops" stop_daemon scscf
restart=$(IMS_SCSCF_DEFAULT_SCHEME=Digest-MD5 IMS_LAB_TLS_KEYLOG=$E2E_RUN/tls-keys.log \
          e2e_lab start 2>&1)
check_eq "the S-CSCF restarts asking for Digest-MD5 (scscf.default_scheme)" 0 "$?"
printf '%s\n' "$restart" >"$E2E_RUN/lab-restart1.out"
ue md5-refused sid "$DIGEST_UE:5801"
check_match "sid: 403, the HSS does not give his password to this S-CSCF" \
    'warning: .*HSS: authentication scheme not allowed for the user' "$(out md5-refused)"
check_match "hss log: the refusal names the S-CSCF" \
    "level=warn .*MAR for sid@$R from peer scscf\\.$R .*plaintext password \\(Digest-MD5\\): refused" \
    "$(log_of hss)"
check "the HSS stops" stop_daemon hss
check "the S-CSCF stops" stop_daemon scscf
restart=$(IMS_SCSCF_DEFAULT_SCHEME=Digest-MD5 IMS_HSS_PASSWORD_PEERS="scscf.$R" \
          IMS_LAB_TLS_KEYLOG=$E2E_RUN/tls-keys.log e2e_lab start 2>&1)
check_eq "both restart, the S-CSCF in hss.password_peers" 0 "$?"
printf '%s\n' "$restart" >"$E2E_RUN/lab-restart2.out"
check_match "hss log: it warns who may receive passwords" \
    "level=warn .*scscf\\.$R may receive plaintext passwords" "$(log_of hss)"
check "sid registers (Digest-MD5: the HSS's nonce, the HA1 made at the S-CSCF)" \
    ue md5-ok sid "$DIGEST_UE:5801"
ue md5-wrong sid "$DIGEST_UE:5802" --password guess --rounds 1
check_match "... a wrong password: a new 401" 'warning: .*wrong credentials' "$(out md5-wrong)"
ue md5-ha1 hana "$DIGEST_UE:5803"
check_match "hana (digest with an HA1, no password): 403, Digest-MD5 needs the password" \
    '^got 403' "$(out md5-ha1)"

step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error (Cx over TLS decoded with the session keys)" "" \
    "$(cap_problems "$cap")"
maa() {   # $1 display filter on MAAs: how many
    cap_count "$cap" "diameter.cmd.code == 303 && diameter.flags.request == 0 && $1"
}
check "MAA for sid: SIP-Digest-Authenticate with Digest-HA1 and Digest-Algorithm MD5" \
    test "$(maa 'diameter.3GPP-SIP-Authentication-Scheme == "SIP Digest" && diameter.Digest-HA1 && diameter.Digest-Algorithm == "MD5"')" -ge 1
check "MAA for tina: HTTP_DIGEST_MD5 with ETSI-SIP-Authenticate (ETSI-Digest-Nonce, -HA1)" \
    test "$(maa 'diameter.3GPP-SIP-Authentication-Scheme == "HTTP_DIGEST_MD5" && diameter.ETSI-Digest-Nonce && diameter.ETSI-Digest-HA1')" -ge 1
nonce=$(cap_tshark "$cap" -Y 'diameter.3GPP-SIP-Authentication-Scheme == "HTTP_DIGEST_MD5" && diameter.flags.request == 0' \
        -T fields -e diameter.ETSI-Digest-Nonce 2>/dev/null | head -1)
check "... and the 401 to tina carries that nonce" \
    test -n "$nonce" -a "$(cap_count "$cap" "sip.Status-Code == 401 && sip.auth.nonce contains \"$nonce\"")" -ge 1
check "MAA for paco: Digest with CableLabs-SIP-Digest-Authenticate (vendor 4491, AVP 228)" \
    test "$(maa 'diameter.3GPP-SIP-Authentication-Scheme == "Digest" && diameter.avp.code == 228 && diameter.avp.vendorId == 4491')" -ge 1
check "MAA for eric: Early-IMS-Security with Framed-IP-Address $ERIC_IP" \
    test "$(maa "diameter.3GPP-SIP-Authentication-Scheme == \"Early-IMS-Security\" && diameter.Framed-IP-Address.IPv4 == $ERIC_IP")" -ge 1
check "MAA for nadia: NASS-Bundled with Line-Identifier" \
    test "$(maa 'diameter.3GPP-SIP-Authentication-Scheme == "NASS-Bundled" && diameter.Line-Identifier')" -ge 1
check "MAA Digest-MD5 to the password peer: the password in SIP-Authorization" \
    test "$(maa 'diameter.3GPP-SIP-Authentication-Scheme == "Digest-MD5" && diameter.3GPP-SIP-Authorization')" -ge 1
check "the P-CSCF's REGISTERs carry received=<source> on the UE's Via (even when equal to sent-by)" \
    test "$(cap_count "$cap" "sip.Method == \"REGISTER\" && ip.src == 127.0.0.10 && sip.Via.received == $ERIC_IP")" -ge 1
check "the P-CSCF adds P-Access-Network-Info with nadia's line, network-provided" \
    test "$(cap_count "$cap" 'sip.Method == "REGISTER" && ip.src == 127.0.0.10 && sip.P-Access-Network-Info contains "dsl-location=\"dslam-7/port-3\";network-provided"')" -ge 1

e2e_finish
